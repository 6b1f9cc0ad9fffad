"""``--set KEY=VALUE``: change any part of a loaded spec by its dotted path.

``fit.epochs=3``, ``compile.optimizer.SGD.learning_rate=0.1``, ``model.layers.0.Dense.units=64``.
Values are read as YAML (``3`` is an int, ``0.1`` a float, ``true`` a bool, ``[784]`` a list, ``null``
nothing). Missing mappings on the way are created. A short form on the way is expanded: a bare layer
or object name (``- Flatten``, ``optimizer: sgd``) becomes ``{Name: {}}``, and a layer's positional
argument (``- Dense: 500``) becomes ``{Dense: {units: 500}}``, so its other arguments can be set.
"""
from kspec.spec.errors import Diagnostic, SpecError
from kspec.spec.loader import load_value


def parse_override(text):
    """``"KEY=VALUE"`` -> (list of path steps, value). Raises SpecError for a malformed override."""
    origin = f"--set {text}"
    if not isinstance(text, str) or "=" not in text:
        raise SpecError(Diagnostic(origin, None, None, "expected KEY=VALUE",
                                   hint="e.g. --set fit.epochs=3"))
    key, raw = text.split("=", 1)
    key = key.strip()
    steps = key.split(".")
    if not key or any(not s for s in steps):
        raise SpecError(Diagnostic(origin, None, None, f"invalid key {key!r}",
                                   hint="a dotted path such as fit.epochs or model.layers.0.Dense.units"))
    return steps, load_value(raw, origin)


def apply_overrides(doc, overrides):
    """Apply ``--set`` overrides (strings ``KEY=VALUE`` or (key, value) pairs) to a SpecDocument in
    place. Each changed value's position becomes its ``--set`` origin. Raises SpecError listing
    every override that cannot be applied."""
    errors = []
    for item in overrides or ():
        if isinstance(item, (tuple, list)) and len(item) == 2:
            key, value = item
            text = f"{key}={value}"
            steps = str(key).split(".")
        else:
            text = item
            try:
                steps, value = parse_override(item)
            except SpecError as e:
                errors.extend(e.diagnostics)
                continue
        try:
            _set(doc, steps, value, f"--set {text}")
        except _Fail as e:
            errors.append(Diagnostic(f"--set {text}", None, None, e.message, hint=e.hint))
    if errors:
        raise SpecError(errors)
    return doc


class _Fail(Exception):
    def __init__(self, message, hint=None):
        super().__init__(message)
        self.message, self.hint = message, hint


def _set(doc, steps, value, origin):
    if doc.data is None:
        doc.data = {}
    node, path = doc.data, ()
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        key = _key(node, step, path)
        if last:
            if isinstance(node, dict):
                _drop_old_names(node, key)
            if isinstance(node, list) and key == len(node):
                node.append(value)
            else:
                node[key] = value
            path += (key,)
            doc.forget(path)
            doc.origins[path] = origin
            return
        child = _child(node, key)
        nxt = steps[i + 1]
        if child is None:
            child = {}
            _store(node, key, child)
        elif isinstance(child, str) and child.lower() == nxt.lower():
            child = {nxt: {}}  # optimizer: sgd -> {SGD: {}}; - Flatten -> {Flatten: {}}
            _store(node, key, child)
        elif not isinstance(child, (dict, list)):
            child = _expand_positional(path + (key,), child, nxt, steps[:i + 1])
            _store(node, key, child)
        node, path = child, path + (key,)


def _key(node, step, path):
    where = ".".join(map(str, path)) or "the spec"
    if isinstance(node, list):
        try:
            index = int(step)
        except ValueError:
            raise _Fail(f"{where} is a list; {step!r} is not an index",
                        hint=f"use a number from 0 to {len(node) - 1}") from None
        if index < 0:
            index += len(node)
        if not 0 <= index <= len(node):
            raise _Fail(f"{where} has {len(node)} entries; index {step} is out of range")
        return index
    if isinstance(node, dict):
        if step in node:
            return step
        if step.lstrip("-").isdigit() and int(step) in node:
            return int(step)
        folded = [k for k in node if isinstance(k, str) and k.lower() == step.lower()]
        if len(folded) == 1:
            return folded[0]
        if step.isdigit() and path[-1:] == ("class_weight",):
            return int(step)
        return step
    raise _Fail(f"{where} is {node!r}, not a mapping or list")


def _drop_old_names(node, key):
    """Setting ``learning_rate`` replaces a Keras 2 ``lr`` given in the file."""
    from kspec.spec.signatures import RENAMED

    for old, new in RENAMED.items():
        if key == new and old in node:
            del node[old]


def _child(node, key):
    if isinstance(node, list):
        return node[key] if key < len(node) else None
    return node.get(key)


def _store(node, key, value):
    if isinstance(node, list) and key == len(node):
        node.append(value)
    else:
        node[key] = value


def _expand_positional(path, value, next_step, steps):
    """``Dense: 500`` at ``model.layers.N.Dense`` -> ``{units: 500}`` so that ``units`` can be set."""
    if len(path) == 4 and path[:2] == ("model", "layers"):
        from kspec import registry
        from kspec.spec.signatures import first_positional

        cls = registry.lookup("layer", path[3])
        first = first_positional(cls) if cls is not None else None
        if first is not None:
            return {first: value}
    where = ".".join(map(str, steps))
    raise _Fail(f"{where} is {value!r}, not a mapping, so it has no {next_step!r}",
                hint=f"set the whole value instead: --set {where}=...")
