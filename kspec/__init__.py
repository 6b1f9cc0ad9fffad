"""kspec: train Keras-style networks described in YAML, on a NumPy engine with Keras 3 semantics.

The Python API is Keras 3's: ``import kspec as keras`` gives ``keras.layers``, ``keras.Model``,
``keras.Sequential``, ``keras.Input``, ``keras.optimizers``, ``keras.losses``, ``keras.metrics``,
``keras.callbacks``, ``keras.ops``, ``keras.random``, ``keras.utils`` and ``keras.GradientTape`` (in
TensorFlow's style). A run from a YAML spec lives in :mod:`kspec.run` (``train``, ``evaluate``,
``predict``, ``summary``, ``validate``); the command line in :mod:`kspec.cli`. This module imports nothing
heavy, so that ``kspec --help`` stays fast: the names below load their modules on first use.
"""
__version__ = "0.1.0"

# name -> (module, attribute); attribute None means the module itself.
_LAZY = {
    **{name: ("kspec.run", name) for name in
       ("train", "evaluate", "predict", "summary", "validate", "load_run", "RunResult")},
    "SpecError": ("kspec.spec.errors", "SpecError"),
    # Keras's namespaces
    **{name: (f"kspec.{name}", None) for name in
       ("layers", "models", "optimizers", "losses", "metrics", "initializers", "regularizers", "constraints",
        "activations", "ops", "random", "utils", "datasets")},
    "callbacks": ("kspec.models.callbacks", None),
    # Keras's top-level classes
    "Model": ("kspec.models", "Model"),
    "Sequential": ("kspec.models", "Sequential"),
    "Input": ("kspec.models", "Input"),
    "Layer": ("kspec.layers", "Layer"),
    "Loss": ("kspec.losses", "Loss"),
    "Metric": ("kspec.metrics", "Metric"),
    "Optimizer": ("kspec.optimizers", "Optimizer"),
    "Variable": ("kspec.engine", "Variable"),
    "GradientTape": ("kspec.engine.tape", "GradientTape"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    entry = _LAZY.get(name)
    if entry is None:
        raise AttributeError(f"module 'kspec' has no attribute {name!r}")
    import importlib
    module, attribute = entry
    value = importlib.import_module(module)
    if attribute is not None:
        value = getattr(value, attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
