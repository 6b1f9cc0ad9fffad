"""``keras.random``: random tensors from the backend's generator, and ``SeedGenerator``.

Draws come from :func:`kspec.backend.generator` (seeded by ``kspec.utils.set_random_seed``), or from the
given ``seed``: an int (the same draw every call, as Keras) or a :class:`SeedGenerator` (a fresh draw each
call, reproducible from its seed). Results are constant float32 Tensors.
"""
from kspec import backend
from kspec.engine import Tensor


class SeedGenerator:
    """A reproducible stream of random draws for ``seed=`` arguments."""

    def __init__(self, seed=None, name=None, **kwargs):
        self.name = name or "seed_generator"
        self.seed = seed
        self._rng = backend.generator(seed) if seed is not None else None

    def generator(self):
        if self._rng is None:
            self._rng = backend.generator(int(backend.generator().integers(2 ** 31)))
        return self._rng

    def next(self):
        return self.generator()


def _rng(seed):
    if seed is None:
        return backend.generator()
    if isinstance(seed, SeedGenerator):
        return seed.generator()
    return backend.generator(int(seed))


def _dtype(dtype):
    return backend.floatx if dtype is None else backend.xp.dtype(dtype)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    values = _rng(seed).normal(mean, stddev, size=tuple(shape))
    return Tensor(backend.xp.asarray(values, dtype=_dtype(dtype)))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    values = _rng(seed).uniform(minval, maxval, size=tuple(shape))
    return Tensor(backend.xp.asarray(values, dtype=_dtype(dtype)))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    values = _rng(seed).integers(minval, maxval, size=tuple(shape))
    return Tensor(backend.xp.asarray(values, dtype=dtype))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal draws redrawn until within two standard deviations of the mean."""
    rng = _rng(seed)
    values = rng.normal(size=tuple(shape))
    bad = abs(values) > 2
    while bad.any():
        values[bad] = rng.normal(size=int(bad.sum()))
        bad = abs(values) > 2
    return Tensor(backend.xp.asarray(values * stddev + mean, dtype=_dtype(dtype)))


def shuffle(x, axis=0, seed=None):
    data = x.data if isinstance(x, Tensor) else backend.xp.asarray(x)
    order = _rng(seed).permutation(data.shape[axis])
    return Tensor(backend.xp.take(data, order, axis=axis))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero each entry with probability ``rate`` and scale the rest by ``1 / (1 - rate)`` (differentiable)."""
    from kspec.engine import ops
    rng = _rng(seed)
    data = inputs.data if isinstance(inputs, Tensor) else backend.xp.asarray(inputs)
    shape = data.shape if noise_shape is None else noise_shape
    keep = (rng.uniform(size=shape) >= rate).astype(data.dtype) / data.dtype.type(1.0 - rate)
    return ops.multiply(inputs, Tensor(keep))
