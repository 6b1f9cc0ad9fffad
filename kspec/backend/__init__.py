"""The array backend: the one place the engine gets its array module, dtype policy and RNG from.

Everything above this floor writes ``from kspec.backend import xp`` (and the helpers below) instead of
importing numpy for math, so that a GPU array library with NumPy's API (CuPy) can stand in later via
:func:`set_array_module`.
"""
import numpy as _np

xp = _np
floatx = _np.float32
EPSILON = 1e-7  # keras.backend.epsilon()

_seed = None
_generator = _np.random.default_rng()
_shuffle_rng = _np.random.RandomState()


def set_array_module(module):
    """Swap the array module (numpy or a drop-in such as cupy) for every floor above."""
    global xp
    xp = module
    import kspec.backend as self
    self.xp = module


def f32(value):
    """A float32 scalar: cast hyperparameters once with this, never with np.float64 arithmetic."""
    return floatx(value)


def asarray(x, dtype=None):
    """An array of the policy dtype (float32) unless another dtype is asked for."""
    return xp.asarray(x, dtype=floatx if dtype is None else dtype)


def zeros(shape, dtype=None):
    return xp.zeros(shape, dtype=floatx if dtype is None else dtype)


def ones(shape, dtype=None):
    return xp.ones(shape, dtype=floatx if dtype is None else dtype)


def empty(shape, dtype=None):
    return xp.empty(shape, dtype=floatx if dtype is None else dtype)


def full(shape, value, dtype=None):
    return xp.full(shape, value, dtype=floatx if dtype is None else dtype)


def set_seed(seed):
    """Seed initialization, dropout and shuffling. Shuffling uses a legacy RandomState seeded the way
    ``keras.utils.set_random_seed`` seeds NumPy's global RNG, so shuffle orders match Keras (JAX)."""
    global _seed, _generator, _shuffle_rng
    _seed = seed
    _generator = _np.random.default_rng(seed)
    _shuffle_rng = _np.random.RandomState(seed)


def get_seed():
    return _seed


def generator(seed=None):
    """The global Generator, or a fresh one for an explicit per-object seed."""
    if seed is None:
        return _generator
    return _np.random.default_rng(seed)


def shuffle_rng():
    """The RandomState that draws fit's per-epoch permutations."""
    return _shuffle_rng


def to_numpy(x):
    """A host NumPy array (a no-op for NumPy; ``.get()`` for CuPy)."""
    get = getattr(x, "get", None)
    return get() if callable(get) and not isinstance(x, _np.ndarray) else _np.asarray(x)
