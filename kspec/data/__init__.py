"""Data for kspec: file readers, the built-in datasets, preprocessing.

The spec's ``data`` section goes through two calls::

    x, y = split = load_split({"path": "data/iris.csv", "label_column": "species"}, spec_dir)
    pre = Preprocessor(x_steps=[{"scale": 255}], y_steps=[{"one_hot": 10}])
    x, y = pre.fit_transform(x, y, classes=split.classes)   # the training split
    json.dump(pre.state(), f)                                # kept in the run folder
    pre = Preprocessor.from_state(json.load(f))              # predict applies the same steps

Every failure to read raises :class:`DataError`. This floor imports only numpy, h5py and
``kspec.backend``. The names below load their modules on first use, so that the command line can read
:mod:`kspec.data.formats` (plain Python) without importing NumPy.
"""
_LAZY = {
    "DataError": "errors", "StepError": "errors",
    "load_split": "splits", "Split": "splits", "pick_array": "splits", "SOURCE_KEYS": "splits",
    "read_array_file": "readers", "read_stream": "readers", "detect_format": "readers",
    "FORMATS": "formats", "STREAM_FORMATS": "formats",
    "load_dataset": "datasets", "dataset_names": "datasets", "class_names": "datasets", "DATASETS": "datasets",
    "Preprocessor": "preprocessor",
    "Pipeline": "preprocessing", "Step": "preprocessing", "build_pipeline": "preprocessing",
    "STEPS": "preprocessing",
}

__all__ = list(_LAZY)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kspec.data' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f"kspec.data.{module}"), name)
    globals()[name] = value
    return value
