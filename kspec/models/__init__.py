"""Models: Sequential (and graph models), the training loop, callbacks and summary.

The names below load their modules on first use (PEP 562), so that importing one model class (e.g. to
load a model file for predict) does not import callbacks, the summary table or the training machinery.
"""
import importlib

_LAZY = {
    "Model": "kspec.models.model",
    "Sequential": "kspec.models.sequential",
    "Functional": "kspec.models.functional", "Input": "kspec.models.functional",
    "KerasTensor": "kspec.models.functional",
    "format_summary": "kspec.models.summary",
    "load_model": "kspec.io",  # keras.models.load_model: the file layer reads it (loaded on use only)
    **{name: "kspec.models.callbacks" for name in (
        "Callback", "CSVLogger", "EarlyStopping", "History", "LambdaCallback", "LearningRateScheduler",
        "ModelCheckpoint", "ReduceLROnPlateau", "TerminateOnNaN")},
    "BackupAndRestore": "kspec.models.backup_callbacks",
}

__all__ = list(_LAZY)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kspec.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
