"""The floors of the house, held by the import graph: a module never imports one on a higher floor.

Every ``import`` and ``from ... import`` statement of every module under ``kspec/`` is read with ``ast``
(those inside functions too: a lazy import is still a dependency). ``FLOORS`` gives each package or
module its floor (README, "How kspec is built"); ``ALLOWED`` lists the few upward imports the design
accepts, each with its reason. A module with no floor fails too, so a new package must be placed.
"""
import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "kspec")

# module or package -> floor; the longest matching prefix wins.
FLOORS = {
    "kspec": 0,                # the package root: a version and lazy names only
    "kspec.errors": 0,         # KspecError, the one error type
    "kspec.registry": 0,       # names -> classes (imports each kind's package by name, on lookup)
    "kspec.serialization": 0,  # configs <-> objects, through the registry
    "kspec.configurable": 0,   # get_config/from_config from __init__ signatures
    "kspec.docstrings": 0,     # argument meanings read from docstrings (kspec explain, the schema)
    "kspec.user_code": 0,      # module:Name references and the allow-code switch (kinds by name, on lookup)
    "kspec.backend": 1,
    "kspec.utils": 1,          # Keras's keras.utils names (set_random_seed, to_categorical, PyDataset)
    "kspec.random": 2,         # Keras's keras.random over the engine
    "kspec.ops": 3,            # Keras's keras.ops names over the engine (and the loss functions)
    "kspec.datasets": 6,       # Keras's keras.datasets over kspec.data
    "kspec.engine": 2,
    "kspec.activations": 3, "kspec.initializers": 3, "kspec.regularizers": 3, "kspec.constraints": 3,
    "kspec.losses": 3, "kspec.metrics": 3, "kspec.optimizers": 3,
    "kspec.layers": 4,
    "kspec.models": 5,
    "kspec.spec": 6, "kspec.data": 6, "kspec.io": 6,
    "kspec.testing": 6,        # the public test helpers build models (floor 5)
    "kspec.run": 7, "kspec.run_files": 7, "kspec.run_lifecycle": 7, "kspec.run_session": 7,
    "kspec.workbench": 7, "kspec.sweep": 7,
    "kspec.cli": 8, "kspec.__main__": 8,
}

# (importer, imported) -> why the design allows a lower floor to import a higher one. Keep it short.
ALLOWED = {
    ("kspec.models.model", "kspec.io"): "Model.save / load_weights write and read files, as Keras's do",
}


def floor_of(module):
    """(floor, the FLOORS key that placed it); ``kspec`` itself places only the package root."""
    parts = module.split(".")
    for n in range(len(parts), 1, -1):
        prefix = ".".join(parts[:n])
        if prefix in FLOORS:
            return FLOORS[prefix], prefix
    return (FLOORS["kspec"], "kspec") if module == "kspec" else (None, None)


def _module_name(path):
    rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
    return rel[:-len(".__init__")] if rel.endswith(".__init__") else rel


def _is_module(name):
    base = os.path.join(ROOT, *name.split("."))
    return os.path.isdir(base) or os.path.isfile(base + ".py")


def imports_of(path):
    """(line, imported kspec module) of every import statement in a file, nested ones included."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    me = _module_name(path)
    package = me if path.endswith("__init__.py") else me.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "kspec"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] != "kspec":
                continue
            for alias in node.names:  # from kspec import backend: the submodule, when it is one
                sub = f"{base}.{alias.name}"
                out.append((node.lineno, sub if _is_module(sub) else base))
    return out


def _modules():
    for folder, _, files in os.walk(PACKAGE):
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def violations():
    found = []
    for path in _modules():
        me = _module_name(path)
        mine, _ = floor_of(me)
        for line, target in imports_of(path):
            theirs, where = floor_of(target)
            if mine is None or theirs is None or theirs <= mine:
                continue
            if any(me.startswith(a) and (target + ".").startswith(b + ".") for a, b in ALLOWED):
                continue
            found.append(f"{os.path.relpath(path, ROOT)}:{line}: floor {mine} imports {target} (floor {theirs})")
    return found


def test_every_module_has_a_floor():
    unplaced = [_module_name(p) for p in _modules() if floor_of(_module_name(p))[0] is None]
    assert not unplaced, f"modules without a floor (add them to FLOORS in tests/test_floors.py and to the " \
                         f"README's table): {unplaced}"


def test_no_module_imports_a_higher_floor():
    found = violations()
    assert not found, "imports of a higher floor (move the code, or list an allowed exception with its " \
                      "reason in ALLOWED):\n  " + "\n  ".join(found)


def test_every_allowed_exception_is_still_used():
    used = set()
    for path in _modules():
        me = _module_name(path)
        for _, target in imports_of(path):
            used |= {(a, b) for a, b in ALLOWED if me.startswith(a) and (target + ".").startswith(b + ".")}
    assert used == set(ALLOWED), f"exceptions no longer needed (remove them): {sorted(set(ALLOWED) - used)}"


def test_the_check_sees_imports_inside_functions(tmp_path):
    """The parser itself: a nested and a relative import are both found."""
    folder = os.path.join(PACKAGE, "engine")
    path = os.path.join(folder, "tensor.py")
    lines = [t for _, t in imports_of(path)]
    assert any(t.startswith("kspec.backend") for t in lines), lines
    sample = tmp_path / "kspec" / "engine" / "probe.py"
    sample.parent.mkdir(parents=True)
    sample.write_text("def f():\n    from kspec.models import Sequential\n    from ..layers import core\n")
    global ROOT
    saved, ROOT = ROOT, str(tmp_path)
    try:
        found = imports_of(str(sample))
    finally:
        ROOT = saved
    assert [t for _, t in found] == ["kspec.models", "kspec.layers"], found
