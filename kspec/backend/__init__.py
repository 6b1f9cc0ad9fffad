"""The array backend: the one place the engine gets its array module, dtype policy and RNG from.

Everything above this floor reads ``backend.xp`` (and the helpers below) at call time instead of importing
numpy for math, so that a GPU array library with NumPy's API (CuPy) stands in after :func:`use_device`
(``KSPEC_DEVICE=cpu|gpu|auto``, ``--device``). Host data enters the device through :func:`to_device` and
leaves through :func:`to_numpy`, at the edges of a step only; random masks are drawn on the device
(:func:`random_uniform`, :func:`random_normal`).
"""
import contextlib
import os

import numpy as _np

from kspec.errors import KspecError

xp = _np
host = _np  # NumPy, for host-side scalar bookkeeping (learning-rate schedules) whatever the array module
DEVICES = ("cpu", "gpu", "auto")
floatx = _np.float32
EPSILON = 1e-7  # keras.backend.epsilon()

_seed = None
_generator = _np.random.default_rng()
_shuffle_rng = _np.random.RandomState()


class DeviceError(KspecError, ValueError):
    """A device was asked for that this machine can't give (no CuPy, no GPU, an unknown name)."""


def set_array_module(module):
    """Swap the array module (numpy or a drop-in such as cupy) for every floor above."""
    global xp
    xp = module
    _device_rngs.clear()


def use_device(device=None):
    """Run the engine on ``device``: "cpu" (NumPy, the default), "gpu" (CuPy; a DeviceError when CuPy or a
    GPU is missing, never a silent fallback) or "auto" (the GPU when CuPy finds one, else the CPU).
    None reads ``KSPEC_DEVICE``. Returns "cpu" or "gpu". CuPy is imported only when a GPU is asked for."""
    name = device if device is not None else (os.environ.get("KSPEC_DEVICE") or "cpu")
    name = str(name).strip().lower()
    if name not in DEVICES:
        raise DeviceError(f"unknown device {name!r}: expected one of cpu, gpu, auto (--device / KSPEC_DEVICE)",
                          exit_code=2)
    if name == "cpu":
        set_array_module(_np)
        return "cpu"
    module, problem = _find_cupy()
    if module is None:
        if name == "auto":
            set_array_module(_np)
            return "cpu"
        raise DeviceError(f"--device gpu: {problem}; install the GPU extra (pip install 'kspec[gpu]', CuPy for "
                          "CUDA 12) on a machine with an NVIDIA GPU, or run with --device cpu")
    set_array_module(module)
    return "gpu"


def device():
    """"cpu" while NumPy is the array module, else "gpu"."""
    return "cpu" if xp is _np else "gpu"


def _find_cupy():
    """(cupy, None) when CuPy imports and sees a GPU, else (None, why not)."""
    try:
        import cupy
    except Exception as e:  # noqa: BLE001 - ImportError, or a broken CUDA install raising anything
        return None, f"CuPy is not installed ({type(e).__name__}: {e})"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # noqa: BLE001 - CUDARuntimeError without a driver
        return None, f"CuPy finds no usable GPU ({type(e).__name__}: {e})"
    if count < 1:
        return None, "CuPy finds no GPU"
    return cupy, None


def to_device(x):
    """A host array as an array of the current module (NumPy: ``x`` itself, no copy); device arrays pass."""
    if xp is _np or not isinstance(x, (_np.ndarray, _np.generic)):
        return x
    return xp.asarray(x)


def errstate(**kwargs):
    """NumPy's ``errstate`` where the module has one (CuPy has none: a null context there)."""
    state = getattr(xp, "errstate", None)
    return state(**kwargs) if state is not None else contextlib.nullcontext()


def f32(value):
    """A float32 scalar: cast hyperparameters once with this, never with np.float64 arithmetic. A 0-d
    device array stays on the device (``np.float32`` of it would be a host round trip; CuPy refuses it)."""
    if xp is _np or isinstance(value, (int, float, _np.ndarray, _np.generic)):
        return floatx(value)
    return value.astype(floatx)


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
    _device_rngs.clear()


def get_seed():
    return _seed


def generator(seed=None):
    """The global Generator, or a fresh one for an explicit per-object seed."""
    if seed is None:
        return _generator
    return _np.random.default_rng(seed)


_device_rngs = {}  # id(host generator or None) -> (host generator, device generator)


def device_generator(rng=None):
    """The device-side twin of a host generator (``rng``: a layer's seeded one, or None for the global
    one): seeded from the kspec seed, or from ``rng``'s own stream, made once per array module."""
    twin = _device_rngs.get(id(rng))
    if twin is None or twin[0] is not rng:
        seed = _seed if rng is None else int(rng.integers(2 ** 63))
        twin = _device_rngs[id(rng)] = (rng, xp.random.default_rng(seed))
    return twin[1]


def random_uniform(shape, rng=None):
    """float32 draws in [0, 1) of ``shape`` on the array module's device (NumPy: ``rng`` or the global
    generator itself, so CPU runs draw exactly what they always drew)."""
    if xp is _np:
        return (_generator if rng is None else rng).random(shape, dtype=floatx)
    return device_generator(rng).random(shape, dtype=floatx)


def random_normal(shape, rng=None):
    """float32 standard-normal draws of ``shape`` on the device (NumPy: as :func:`random_uniform`)."""
    if xp is _np:
        return (_generator if rng is None else rng).standard_normal(shape, dtype=floatx)
    return device_generator(rng).standard_normal(shape, dtype=floatx)


def shuffle_rng():
    """The RandomState that draws fit's per-epoch permutations."""
    return _shuffle_rng


def to_numpy(x):
    """A host NumPy array (a no-op for NumPy; ``.get()`` for CuPy)."""
    get = getattr(x, "get", None)
    return get() if callable(get) and not isinstance(x, _np.ndarray) else _np.asarray(x)


if os.environ.get("KSPEC_DEVICE", "cpu").strip().lower() != "cpu":
    use_device()
