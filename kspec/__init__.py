"""kspec: train Keras-style networks described in YAML, on a NumPy engine with Keras 3 semantics.

The Python API of a run lives in :mod:`kspec.run` (``train``, ``evaluate``, ``predict``, ``summary``,
``validate``); the command line in :mod:`kspec.cli`. This module imports nothing heavy, so that
``kspec --help`` stays fast: the names below load their modules on first use.
"""
__version__ = "0.1.0"

_LAZY = {
    "train": "kspec.run", "evaluate": "kspec.run", "predict": "kspec.run", "summary": "kspec.run",
    "validate": "kspec.run", "load_run": "kspec.run", "RunResult": "kspec.run",
    "SpecError": "kspec.spec.errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kspec' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
