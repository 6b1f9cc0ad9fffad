"""A CPU stand-in for CuPy: a strict array module over NumPy that fails where CuPy would.

``strict`` (a :class:`StrictModule`) is installed as kspec's array module through the same switch a GPU
uses (``backend.set_array_module``). Its arrays (:class:`StrictArray`) behave like CuPy's where kspec could
go wrong unnoticed on a CPU-only machine:
- no implicit conversion to NumPy: ``__array__`` raises, so ``np.float32(a)`` or ``np.asarray(a)`` fails;
- reductions and scalar indexing return 0-d arrays, never NumPy scalars;
- functions, ufuncs and operators refuse host ``numpy.ndarray`` operands (NumPy scalars are fine);
- there is no ``errstate``;
- ``.get()`` copies to the host; ``asarray``/``array`` copy host data in (a transfer, never an alias).
Every read back to the host (``get``, ``item``, ``float``, ``int``, ``bool``, ``tolist``, and what CuPy reads
back implicitly: boolean-mask indexing, ``nonzero`` and other results sized by the data) is counted in
``strict.syncs``, or refused while ``strict.forbid_syncs`` is set, so a test can check that a training step
reads nothing back.
"""
import types

import numpy as np

_HOST_MESSAGE = "Unsupported type <class 'numpy.ndarray'>: a host array where a device array is needed"


class StrictArray:
    """A NumPy array behind a CuPy-like wall."""

    __slots__ = ("_a", "_base", "__weakref__")
    __array_priority__ = 50  # below kspec's Tensor (100), so Tensor operators win

    def __init__(self, a, base=None):
        self._a = a
        self._base = base  # the array owning the memory of this view, kept alive as CuPy's .base does

    # -- what CuPy refuses or counts ------------------------------------------------------------------
    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
                        "construct a NumPy array explicitly.")

    def get(self):
        _sync()
        return self._a.copy()

    def item(self):
        _sync()
        return self._a.item()

    def tolist(self):
        _sync()
        return self._a.tolist()

    def __float__(self):
        _sync()
        return float(self._a)

    def __int__(self):
        _sync()
        return int(self._a)

    def __bool__(self):
        _sync()
        return bool(self._a)

    def __index__(self):
        raise TypeError("a device array can't be used as a Python index")

    def __iter__(self):
        for i in range(len(self._a)):
            yield self[i]

    def __len__(self):
        return len(self._a)

    def __repr__(self):
        return "strict." + repr(self._a)

    __hash__ = None

    # -- attributes and methods: NumPy's, behind the wall -----------------------------------------------
    @property
    def shape(self):
        return self._a.shape

    @property
    def dtype(self):
        return self._a.dtype

    @property
    def ndim(self):
        return self._a.ndim

    @property
    def size(self):
        return self._a.size

    @property
    def base(self):
        return self._base

    @property
    def T(self):
        return _wrap(self._a.T, self)

    def __getattr__(self, name):
        if name.startswith("__"):  # __array_interface__, __array_struct__, ...: no back door to NumPy
            raise AttributeError(name)
        value = getattr(self._a, name)
        if not callable(value):
            return _wrap(value, self)

        def method(*args, **kwargs):
            _refuse_numpy_only_arguments(name, kwargs)
            return _wrap(value(*_unwrap(args), **_unwrap(kwargs)), self)
        return method

    def __getitem__(self, key):
        if any(isinstance(k, StrictArray) and k.dtype == bool for k in (key if isinstance(key, tuple) else (key,))):
            _sync()  # a boolean mask's result size lives on the device: CuPy reads it back
        return _wrap(self._a[_unwrap(key)], self)

    def __setitem__(self, key, value):
        self._a[_unwrap(key)] = _unwrap(value)

    # -- the NumPy protocols: NumPy functions on strict arrays run behind the wall, as CuPy's do --------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _call(getattr(ufunc, method) if method != "__call__" else ufunc, inputs, kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        return _call(func, args, kwargs)


def _sync():
    """A read back to the host: counted, or refused while ``strict.forbid_syncs`` is set."""
    if strict.forbid_syncs:
        raise AssertionError("a device-to-host read inside a training step")
    strict.syncs += 1


def _binary(name):
    op = getattr(np.ndarray, name)

    def method(self, other):
        if not isinstance(other, (StrictArray, int, float, bool, complex, np.generic)):
            if isinstance(other, np.ndarray):
                raise TypeError(_HOST_MESSAGE)
            return NotImplemented
        result = op(self._a, _unwrap(other))
        if result is NotImplemented:
            return result
        if name.startswith("__i"):
            return self
        return _wrap(result)
    method.__name__ = name
    return method


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor",
              "lshift", "rshift"):
    for _form in ("__%s__", "__r%s__", "__i%s__"):
        setattr(StrictArray, _form % _name, _binary(_form % _name))
for _name in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
    setattr(StrictArray, _name, _binary(_name))
for _name in ("__neg__", "__pos__", "__abs__", "__invert__"):
    setattr(StrictArray, _name, (lambda op: lambda self: _wrap(op(self._a)))(getattr(np.ndarray, _name)))


def _unwrap(obj, host_ok=False):
    """Strict arrays become their NumPy arrays (inside lists, tuples and dicts); host arrays raise."""
    if isinstance(obj, StrictArray):
        return obj._a
    if isinstance(obj, np.ndarray):
        if host_ok:
            return obj.copy()
        raise TypeError(_HOST_MESSAGE)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(o, host_ok) for o in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v, host_ok) for k, v in obj.items()}
    return obj


def _wrap(obj, parent=None):
    """NumPy results become strict arrays (NumPy scalars become 0-d arrays, as CuPy returns them)."""
    if isinstance(obj, np.ndarray):
        if parent is None or obj.base is None:
            return StrictArray(obj)
        return StrictArray(obj, parent if parent._base is None else parent._base)  # the memory's owner
    if isinstance(obj, np.generic):
        return StrictArray(np.asarray(obj))
    if isinstance(obj, tuple):
        return tuple(_wrap(o, parent) for o in obj)
    if isinstance(obj, list):
        return [_wrap(o, parent) for o in obj]
    return obj


def _call(func, args, kwargs, host_ok=False):
    out = kwargs.get("out")
    result = func(*_unwrap(args, host_ok), **_unwrap(kwargs, host_ok))
    if isinstance(out, StrictArray) and result is out._a:
        return out
    parent = next((a for a in args if isinstance(a, StrictArray)), None)
    if parent is not None and isinstance(result, np.ndarray) and not np.may_share_memory(result, parent._a):
        parent = None
    return _wrap(result, parent)


_SIZED_BY_DATA = {"nonzero", "flatnonzero", "argwhere", "unique", "extract", "compress"}
_REDUCTIONS = {"sum", "mean", "max", "min", "amax", "amin", "prod", "any", "all", "nansum", "nanmax", "nanmin"}


def _refuse_numpy_only_arguments(name, kwargs):
    """CuPy's reductions take no ``initial=`` or ``where=``."""
    if name in _REDUCTIONS and ("initial" in kwargs or "where" in kwargs):
        raise TypeError(f"{name}() got an unexpected keyword argument (CuPy has no initial=/where= there)")


class _StrictFunction:
    """A NumPy function or ufunc behind the wall (ufunc methods such as ``add.at`` too)."""

    def __init__(self, func, host_ok=False):
        self._func = func
        self._host_ok = host_ok
        self.__name__ = getattr(func, "__name__", "function")

    def __call__(self, *args, **kwargs):
        _refuse_numpy_only_arguments(self.__name__, kwargs)
        if self.__name__ in _SIZED_BY_DATA or (self.__name__ == "where" and len(args) == 1):
            _sync()  # the output's size depends on the data: CuPy reads it back
        return _call(self._func, args, kwargs, self._host_ok)

    def __getattr__(self, name):
        value = getattr(self._func, name)
        return _StrictFunction(value) if callable(value) else value


class _StrictGenerator:
    """A NumPy Generator whose draws land on the "device"."""

    def __init__(self, generator):
        self._generator = generator

    def __getattr__(self, name):
        return _StrictFunction(getattr(self._generator, name))


class StrictModule(types.ModuleType):
    """The array module: NumPy's names, strict; no ``errstate``; ``random.default_rng`` on the device."""

    _TRANSFERS = ("asarray", "array", "asanyarray", "ascontiguousarray")  # host data may come in here

    def __init__(self):
        super().__init__("strict_xp")
        self.syncs = 0
        self.forbid_syncs = False
        self.ndarray = StrictArray
        self.random = types.SimpleNamespace(default_rng=lambda seed=None: _StrictGenerator(
            np.random.default_rng(seed)))

    def __getattr__(self, name):
        if name == "errstate" or name.startswith("__"):
            raise AttributeError(f"module 'strict_xp' has no attribute {name!r}")
        value = getattr(np, name)
        if isinstance(value, type) or not callable(value):
            return value  # dtypes, scalar types, constants
        return _StrictFunction(value, host_ok=name in self._TRANSFERS)  # host arrays come in as copies


strict = StrictModule()


def wrap_host_generator(generator):
    """A device generator that draws exactly what ``generator`` (a host NumPy Generator) would."""
    return _StrictGenerator(generator)


def is_strict(x):
    return isinstance(x, StrictArray)


__all__ = ["strict", "StrictArray", "StrictModule", "wrap_host_generator", "is_strict"]
