"""Data for kspec: file readers, the built-in datasets, preprocessing.

The spec's ``data`` section goes through two calls::

    x, y = split = load_split({"path": "data/iris.csv", "label_column": "species"}, spec_dir)
    pre = Preprocessor(x_steps=[{"scale": 255}], y_steps=[{"one_hot": 10}])
    x, y = pre.fit_transform(x, y, classes=split.classes)   # the training split
    json.dump(pre.state(), f)                                # kept in the run folder
    pre = Preprocessor.from_state(json.load(f))              # predict applies the same steps

Every failure to read raises :class:`DataError`. This floor imports only numpy, h5py and
``kspec.backend``.
"""
from kspec.data.datasets import DATASETS, class_names, dataset_names, load_dataset
from kspec.data.errors import DataError, StepError
from kspec.data.preprocessing import STEPS, Pipeline, Step, build_pipeline
from kspec.data.preprocessor import Preprocessor
from kspec.data.readers import (FORMATS, STREAM_FORMATS, detect_format, read_array_file,
                                read_stream)
from kspec.data.splits import SOURCE_KEYS, Split, load_split, pick_array

__all__ = [
    "DataError", "StepError",
    "load_split", "Split", "pick_array", "SOURCE_KEYS",
    "read_array_file", "read_stream", "detect_format", "FORMATS", "STREAM_FORMATS",
    "load_dataset", "dataset_names", "class_names", "DATASETS",
    "Preprocessor", "Pipeline", "Step", "build_pipeline", "STEPS",
]
