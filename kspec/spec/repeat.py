"""``repeat`` entries in ``model.layers``: N copies of a block of layers.

    layers:
      - repeat:
          times: 3
          layers:
            - Dense: {units: 64, activation: relu}
            - Dropout: 0.1
      - Dense: {units: 10, activation: softmax}

expands, before anything else is checked, into six layers and the last Dense. Repeats may nest. A
``name`` given inside the block is numbered in copies after the first (``block`` -> ``block``,
``block_1``, ``block_2``), and in a graph model an ``input`` or ``apply`` naming a layer of the same
block follows it into each copy, so names stay unique. Each copy keeps the line numbers of the block's
entries, so an error in a copy points at the line that wrote it.
"""
import copy

from kspec.spec.errors import did_you_mean
from kspec.spec.graph import REFERENCE_KEYS
from kspec.spec.values import describe

REPEAT_KEYS = ("times", "layers")
MAX_LAYERS = 10000


def expand_repeats(doc):
    """Expand the repeat entries of ``doc.data["model"]["layers"]`` in place; returns Diagnostics."""
    data = doc.data
    model = data.get("model") if isinstance(data, dict) else None
    layers = model.get("layers") if isinstance(model, dict) else None
    if not isinstance(layers, list) or not any(_is_repeat(e) for e in layers):
        return []
    errors = []
    base = ("model", "layers")
    entries = _expand(doc, layers, base, errors)  # [(entry, source path)]
    if len(entries) > MAX_LAYERS:
        errors.append(doc.diagnostic(base, f"repeat makes {len(entries)} layers (at most {MAX_LAYERS})"))
        return errors
    old_positions = {p: v for p, v in doc.positions.items() if p[:2] == base}
    old_keys = {p: v for p, v in doc.key_positions.items() if p[:2] == base}
    for table in (doc.positions, doc.key_positions):
        for p in [p for p in table if p[:2] == base and len(p) > 2]:
            del table[p]
    for i, (_, src) in enumerate(entries):
        n = len(src)
        for old, table in ((old_positions, doc.positions), (old_keys, doc.key_positions)):
            for p, v in old.items():
                if p[:n] == src:
                    table[base + (i,) + p[n:]] = v
    model["layers"] = [e for e, _ in entries]
    return errors


def _is_repeat(entry):
    return isinstance(entry, dict) and "repeat" in entry and len(entry) == 1


def _expand(doc, layers, path, errors):
    out = []
    for i, entry in enumerate(layers):
        epath = path + (i,)
        if not _is_repeat(entry):
            out.append((entry, epath))
            continue
        rpath = epath + ("repeat",)
        spec = entry["repeat"]
        if not isinstance(spec, dict):
            errors.append(doc.diagnostic(rpath, f"repeat takes {{times: N, layers: [...]}}, found "
                                                f"{describe(spec)}"))
            continue
        for key in spec:
            if key not in REPEAT_KEYS:
                errors.append(doc.diagnostic(rpath + (key,), f"repeat: unknown key {key!r}"
                                                             f"{did_you_mean(key, REPEAT_KEYS)}", key=True,
                                             hint="repeat takes times and layers"))
        times, block = spec.get("times"), spec.get("layers")
        bad = False
        if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= MAX_LAYERS:
            errors.append(doc.diagnostic(rpath + ("times",) if "times" in spec else rpath,
                                         f"repeat: times must be an integer from 1 to {MAX_LAYERS}, "
                                         f"found {describe(times)}", key="times" not in spec))
            bad = True
        if not isinstance(block, list) or not block:
            errors.append(doc.diagnostic(rpath + ("layers",) if "layers" in spec else rpath,
                                         f"repeat: layers must be a non-empty list of layers, found "
                                         f"{describe(block)}", key="layers" not in spec))
            bad = True
        if bad:
            continue
        inner = _expand(doc, block, rpath + ("layers",), errors)
        names = {n for n in (_name(e) for e, _ in inner) if n is not None}
        for k in range(times):
            for e, src in inner:
                out.append((_renamed(e, names, k), src))
    return out


def _name(entry):
    if isinstance(entry, dict) and len(entry) == 1:
        args = next(iter(entry.values()))
        if isinstance(args, dict) and isinstance(args.get("name"), str):
            return args["name"]
    if isinstance(entry, dict) and isinstance(entry.get("name"), str) and "apply" in entry:
        return entry["name"]
    return None


def _renamed(entry, names, k):
    """The k-th copy of an entry: names defined in the block (and references to them) get ``_k``."""
    entry = copy.deepcopy(entry)
    if k == 0 or not names:
        return entry

    def rename(value):
        if isinstance(value, str) and value in names:
            return f"{value}_{k}"
        if isinstance(value, list):
            return [rename(v) for v in value]
        return value
    if isinstance(entry, dict) and "apply" in entry:
        for key in ("apply", "name") + REFERENCE_KEYS:
            if key in entry:
                entry[key] = rename(entry[key])
        return entry
    if isinstance(entry, dict) and len(entry) == 1:
        args = next(iter(entry.values()))
        if isinstance(args, dict):
            for key in ("name",) + REFERENCE_KEYS:
                if key in args:
                    args[key] = rename(args[key])
    return entry
