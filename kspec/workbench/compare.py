"""Runs side by side: final metrics, epochs, wall time and the spec keys in which they differ."""
import json
import math

_MISSING = object()


def flatten(value, prefix=""):
    """A nested spec as ``{dotted.key: leaf}`` (list items by index, as ``--set`` writes them)."""
    if isinstance(value, dict) and value:
        out = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}.{i}" if prefix else str(i)))
        return out
    return {prefix: value}


def differing_keys(specs):
    """The dotted keys whose values are not the same in every spec (absent counts as a value)."""
    flat = [flatten(s or {}) for s in specs]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    return [k for k in keys if len({json.dumps(f.get(k, "<absent>"), sort_keys=True, default=str)
                                    for f in flat}) > 1]


def compare_runs(runs):
    """A dict for ``--json``: ``differing_keys`` and one entry per run (``run``, ``folder``, ``epochs``,
    ``status`` (from run.json, or None), ``wall_time`` in seconds, ``test`` metrics, ``final`` epoch's history values, ``spec`` values of
    the differing keys)."""
    keys = differing_keys([r.spec for r in runs]) if len(runs) > 1 else []
    entries = []
    for r in runs:
        flat = flatten(r.spec or {})
        entries.append({"run": r.label, "folder": r.folder, "epochs": r.epochs, "status": r.status,
                        "wall_time": None if r.wall_time is None else round(r.wall_time, 3),
                        "test": {k: _finite(v) for k, v in r.metrics.items()},
                        "final": {k: _finite(v) for k, v in r.final().items()},
                        "spec": {k: flat.get(k) for k in keys}})
    return {"differing_keys": keys, "runs": entries}


def format_table(result):
    """The comparison as an aligned text table, one row per run."""
    entries = result["runs"]
    test_keys = list(dict.fromkeys(k for e in entries for k in e["test"]))
    final_keys = list(dict.fromkeys(k for e in entries for k in e["final"]))
    statuses = any(e["status"] for e in entries)
    header = ["run", "epochs", "time"] + ["status"] * statuses + [f"test {k}" for k in test_keys] + final_keys \
        + result["differing_keys"]
    rows = [header]
    for e in entries:
        rows.append([e["run"], str(e["epochs"]), _seconds(e["wall_time"])] + [e["status"] or "-"] * statuses
                    + [_number(e["test"].get(k, _MISSING)) for k in test_keys]
                    + [_number(e["final"].get(k, _MISSING)) for k in final_keys]
                    + [_value(e["spec"][k]) for k in result["differing_keys"]])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i < 1 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in rows]
    return "\n".join(lines)


def _finite(v):
    return v if isinstance(v, (int, float)) and math.isfinite(v) else None


def _number(v):
    if v is _MISSING:
        return "-"
    return "nan" if v is None else f"{v:.4f}"


def _seconds(v):
    return "-" if v is None else f"{v:.1f}s"


def _value(v):
    if v is None:
        return "null"
    if isinstance(v, float):
        return f"{v:.6g}"  # --json keeps every digit
    return v if isinstance(v, str) else json.dumps(v)
