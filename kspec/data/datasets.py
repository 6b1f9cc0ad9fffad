"""MNIST and Fashion-MNIST from local files (kspec never downloads).

Search order for a dataset NAME:

1. ``$KSPEC_DATA/NAME/`` (also ``NAME`` with ``-`` for ``_``): the four IDX files (gzipped or not),
   or an ``.npz`` in Keras's layout (``x_train, y_train, x_test, y_test``).
2. Keras's cache, ``$KERAS_HOME`` or ``~/.keras``: ``datasets/mnist.npz`` for mnist,
   ``datasets/fashion-mnist/`` (the four ``*-ubyte.gz`` files) for fashion_mnist.
3. ``/usr/share/datasets/NAME-with-dashes/`` (Debian's ``dataset-fashion-mnist`` package).

Loaded arrays are cached per process and handed out as read-only views.
"""
import os

import numpy as np

from kspec.data.errors import DataError
from kspec.data.readers import parse_idx, read_array_file, read_bytes

_KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
              "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_NPZ_KEYS = {"train": ("x_train", "y_train"), "test": ("x_test", "y_test")}
SPLITS = tuple(_IDX_FILES)

# name -> what the search and the messages need; the single list of datasets
DATASETS = {
    "mnist": {
        "classes": [str(d) for d in range(10)],
        "npz": ("mnist.npz",),
        "keras": ("npz", "mnist.npz"),
        "system": "/usr/share/datasets/mnist",
        "get": [f"download {_KERAS_URL}mnist.npz into ~/.keras/datasets/ (what "
                "keras.datasets.mnist.load_data() does)"],
    },
    "fashion_mnist": {
        "classes": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                    "Sneaker", "Bag", "Ankle boot"],
        "npz": ("fashion_mnist.npz", "fashion-mnist.npz"),
        "keras": ("idx", "fashion-mnist"),
        "system": "/usr/share/datasets/fashion-mnist",
        "get": ["apt-get install dataset-fashion-mnist (Debian/Ubuntu; installs "
                "/usr/share/datasets/fashion-mnist)",
                f"download the four *-ubyte.gz files from {_KERAS_URL} into "
                "~/.keras/datasets/fashion-mnist/ (what keras.datasets.fashion_mnist.load_data() "
                "does)"],
    },
}

_cache = {}  # (files, stamps, split) -> (x, y), both read-only


def dataset_names():
    """The dataset names a spec may use."""
    return list(DATASETS)


def class_names(name):
    """The class names of a dataset, index order."""
    return list(DATASETS[_canonical(name)]["classes"])


def load_dataset(name, split):
    """Load one split of a built-in dataset.

    Parameters
    ----------
    name : {"mnist", "fashion_mnist"}
    split : {"train", "test"}

    Returns
    -------
    x : ndarray of shape (n, 28, 28), uint8, read-only (n = 60000 train, 10000 test)
    y : ndarray of shape (n,), uint8, read-only
    """
    name = _canonical(name)
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r} for dataset {name}", hint="use train or test")
    searched = []
    for kind, where in _places(name):
        files = _find(kind, where, split)
        if files is None:
            searched.append(where)
            continue
        stamps = tuple((os.stat(f).st_mtime_ns, os.stat(f).st_size) for f in files)
        key = (files, stamps, split)
        if key not in _cache:
            _cache[key] = _load(kind, files, split)
        x, y = _cache[key]
        return x.view(), y.view()
    raise _not_found(name, split, searched)


def _canonical(name):
    key = str(name).replace("-", "_").lower()
    if key not in DATASETS:
        raise DataError(f"unknown dataset {name!r}", hint=f"use one of {', '.join(DATASETS)}, or "
                                                          "{path: FILE} for your own data")
    return key


def _places(name):
    """(kind, path) to try, in order: kind "idx" is a folder, "npz" a file."""
    info = DATASETS[name]
    places = []
    root = os.environ.get("KSPEC_DATA")
    if root:
        for folder in dict.fromkeys((name, name.replace("_", "-"))):
            d = os.path.join(root, folder)
            places.append(("idx", d))
            places.extend(("npz", os.path.join(d, f)) for f in info["npz"])
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    kind, rel = info["keras"]
    places.append((kind, os.path.join(keras_home, "datasets", rel)))
    places.append(("idx", info["system"]))
    return places


def _find(kind, where, split):
    """The files of ``split`` at ``where`` as a tuple, or None when they are not all there."""
    if kind == "npz":
        return (where,) if os.path.isfile(where) else None
    found = []
    for base in _IDX_FILES[split]:
        dotted = base.replace("-idx", ".idx")  # train-images.idx3-ubyte, as some mirrors name them
        names = (base + ".gz", base, dotted + ".gz", dotted)
        path = next((p for p in (os.path.join(where, n) for n in names) if os.path.isfile(p)), None)
        if path is None:
            return None
        found.append(path)
    return tuple(found)


def _load(kind, files, split):
    if kind == "npz":
        xkey, ykey = _NPZ_KEYS[split]
        x, y = (read_array_file(files[0], k) for k in (xkey, ykey))
    else:
        x, y = (parse_idx(read_bytes(f), f) for f in files)
    where = files[0]
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
        raise DataError(f"expected images of shape (n, 28, 28) and dtype uint8, found "
                        f"{x.shape} {x.dtype}", where)
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(f"expected {len(x)} labels, found shape {y.shape}", files[-1])
    y = y.astype(np.uint8, copy=False)
    for a in (x, y):
        a.flags.writeable = False
    return x, y


def _not_found(name, split, searched):
    info = DATASETS[name]
    x_file, y_file = _IDX_FILES[split]
    lines = [f"dataset {name} ({split} split) not found. Searched:"]
    if not os.environ.get("KSPEC_DATA"):
        lines.append("  $KSPEC_DATA/" + name + "/ (KSPEC_DATA is not set)")
    lines.extend(f"  {p}" + ("/" if not p.endswith(".npz") else "") for p in searched)
    lines.append("To get it:")
    lines.extend(f"  - {way}" for way in info["get"])
    lines.append(f"  - or put {x_file}.gz and {y_file}.gz (or {info['npz'][0]}) in DIR/{name}/ "
                 "and set KSPEC_DATA=DIR")
    return DataError("\n".join(lines))
