"""``keras.utils``: seeding, label encoding and the batch-source classes fit takes (PyDataset/Sequence)."""
import importlib

_LAZY = {
    "PyDataset": "kspec.utils.py_dataset", "Sequence": "kspec.utils.py_dataset",
    "unpack_x_y_sample_weight": "kspec.models.data_adapter", "pack_x_y_sample_weight": "kspec.models.data_adapter",
}

__all__ = ["set_random_seed", "to_categorical", "normalize", *_LAZY]


def set_random_seed(seed):
    """Seed Python's ``random``, NumPy's global RNG and kspec's backend (initializers, dropout, shuffling),
    as ``keras.utils.set_random_seed`` seeds Python, NumPy and the backend."""
    import random

    import numpy as np

    from kspec import backend
    if not isinstance(seed, int):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed} (of type "
                         f"{type(seed)})")
    random.seed(seed)
    np.random.seed(seed)
    backend.set_seed(seed)


def to_categorical(x, num_classes=None):
    """One-hot float32 rows for integer class labels (a trailing axis of 1 is dropped, as Keras)."""
    import numpy as np
    x = np.asarray(x, dtype="int64")
    shape = x.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    x = x.reshape(-1)
    if num_classes is None:
        num_classes = int(x.max()) + 1
    out = np.zeros((x.shape[0], num_classes), dtype="float32")
    out[np.arange(x.shape[0]), x] = 1
    return out.reshape(shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """``x`` divided by its L-``order`` norm along ``axis`` (zeros stay zeros)."""
    import numpy as np
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kspec.utils' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
