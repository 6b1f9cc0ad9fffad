"""``keras.ops`` over the engine: Keras's names for what kspec computes, differentiable where Keras's are.

Every function takes kspec Tensors, arrays or Python numbers (float64 arrays become float32, the policy)
and returns a Tensor; inside a :class:`kspec.GradientTape` the differentiable ones are recorded. Comparisons,
``argmax`` and the like return constant Tensors. :func:`convert_to_numpy` gives a NumPy array back.
"""
from kspec import backend
from kspec.engine import Tensor, as_tensor
from kspec.engine import ops as _e

# Differentiable ops that the engine has under Keras's names and signatures.
add = _e.add
subtract = _e.subtract
multiply = _e.multiply
divide = _e.divide
true_divide = _e.divide
negative = _e.negative
power = _e.power
square = _e.square
sqrt = _e.sqrt
exp = _e.exp
log = _e.log
log1p = _e.log1p
expm1 = _e.expm1
abs = _e.abs  # noqa: A001  (Keras's name)
absolute = _e.abs
sign = _e.sign
tanh = _e.tanh
sigmoid = _e.sigmoid
maximum = _e.maximum
minimum = _e.minimum
where = _e.where
clip = _e.clip
stop_gradient = _e.stop_gradient
matmul = _e.matmul
sum = _e.sum  # noqa: A001
mean = _e.mean
max = _e.max  # noqa: A001
min = _e.min  # noqa: A001
amax = _e.max
amin = _e.min
logsumexp = _e.logsumexp
reshape = _e.reshape
expand_dims = _e.expand_dims
squeeze = _e.squeeze
transpose = _e.transpose
broadcast_to = _e.broadcast_to
repeat = _e.repeat
tile = _e.tile
relu = _e.relu
relu6 = _e.relu6
elu = _e.elu
selu = _e.selu
gelu = _e.gelu
silu = _e.silu
swish = _e.silu
softplus = _e.softplus
leaky_relu = _e.leaky_relu
hard_sigmoid = _e.hard_sigmoid
hard_silu = _e.hard_silu
hard_swish = _e.hard_silu
mish = _e.mish
erf = _e.erf
softmax = _e.softmax
log_softmax = _e.log_softmax
sparsemax = _e.sparsemax


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """A Tensor holding ``x`` (float64 becomes float32 unless ``dtype`` says otherwise)."""
    if dtype is not None:
        return Tensor(backend.xp.asarray(x.data if isinstance(x, Tensor) else x, dtype=dtype))
    return as_tensor(x)


def convert_to_numpy(x):
    """A NumPy array copy of a Tensor, Variable or array."""
    import numpy as np
    return np.array(backend.to_numpy(x.data if isinstance(x, Tensor) else x))


def is_tensor(x):
    return isinstance(x, Tensor)


def cast(x, dtype):
    return _e.cast(x, backend.xp.dtype(dtype))


def _axis_tensors(xs):
    return [as_tensor(x) for x in xs]


def concatenate(xs, axis=0):
    """Join Tensors along ``axis`` (Keras's default: 0)."""
    return _e.concatenate(_axis_tensors(xs), axis=axis)


def stack(x, axis=0):
    return _e.stack(_axis_tensors(x), axis=axis)


def split(x, indices_or_sections, axis=0):
    return _e.split(x, indices_or_sections, axis=axis)


def pad(x, pad_width, mode="constant", constant_values=None):
    if mode != "constant":
        raise ValueError(f"kspec.ops.pad supports mode='constant' only, got {mode!r}")
    return _e.pad(x, pad_width, 0.0 if constant_values is None else constant_values)


def ravel(x):
    return _e.reshape(x, (-1,))


def dot(x1, x2):
    return _e.matmul(x1, x2)


def reciprocal(x):
    return _e.divide(1.0, x)


def rsqrt(x):
    return _e.divide(1.0, _e.sqrt(x))


def var(x, axis=None, keepdims=False):
    """The mean squared deviation from the mean (population variance, as Keras)."""
    x = as_tensor(x)
    centered = _e.subtract(x, _e.stop_gradient(_e.mean(x, axis=axis, keepdims=True)))
    return _e.mean(_e.square(centered), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return _e.sqrt(var(x, axis=axis, keepdims=keepdims))


def take(x, indices, axis=None):
    """Entries ``indices`` along ``axis`` (of the flattened ``x`` when None); differentiable in ``x``."""
    x = as_tensor(x)
    indices = _data(indices)
    if axis is None:
        return _e.getitem(_e.reshape(x, (-1,)), indices)
    axis = axis % x.ndim
    return _e.getitem(x, (slice(None),) * axis + (indices,))


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Channels-last 1-D or 2-D convolution (cross-correlation), by the rank of ``inputs``."""
    _channels_last(data_format)
    fn = {3: _e.conv1d, 4: _e.conv2d}.get(as_tensor(inputs).ndim)
    if fn is None:
        raise ValueError("kspec.ops.conv takes (N, L, C) or (N, H, W, C) inputs")
    return fn(inputs, kernel, None, strides, padding, dilation_rate)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    _channels_last(data_format)
    fn = _e.max_pool1d if as_tensor(inputs).ndim == 3 else _e.max_pool2d
    return fn(inputs, pool_size, strides, padding)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    _channels_last(data_format)
    fn = _e.average_pool1d if as_tensor(inputs).ndim == 3 else _e.average_pool2d
    return fn(inputs, pool_size, strides, padding)


def _channels_last(data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"kspec.ops supports data_format='channels_last' only, got {data_format!r}")


def moments(x, axes, keepdims=False):
    """``(mean, variance)`` over ``axes``."""
    return mean(x, axis=axes, keepdims=keepdims), var(x, axis=axes, keepdims=keepdims)


# -- constants and non-differentiable ops ---------------------------------------------------------------
def _const(value):
    return Tensor(value)


def _data(x):
    return x.data if isinstance(x, Tensor) else backend.xp.asarray(x)


def _dtype(dtype):
    return backend.floatx if dtype is None else backend.xp.dtype(dtype)


def zeros(shape, dtype=None):
    return _const(backend.xp.zeros(shape, dtype=_dtype(dtype)))


def ones(shape, dtype=None):
    return _const(backend.xp.ones(shape, dtype=_dtype(dtype)))


def full(shape, fill_value, dtype=None):
    return _const(backend.xp.full(shape, fill_value, dtype=_dtype(dtype)))


def zeros_like(x, dtype=None):
    return _const(backend.xp.zeros_like(_data(x), dtype=dtype))


def ones_like(x, dtype=None):
    return _const(backend.xp.ones_like(_data(x), dtype=dtype))


def full_like(x, fill_value, dtype=None):
    return _const(backend.xp.full_like(_data(x), fill_value, dtype=dtype))


def arange(start, stop=None, step=1, dtype=None):
    xp = backend.xp
    values = xp.arange(start, stop, step) if stop is not None else xp.arange(start)
    if dtype is None and values.dtype == xp.float64:
        dtype = backend.floatx
    return _const(values if dtype is None else values.astype(dtype))


def eye(n, m=None, k=0, dtype=None):
    return _const(backend.xp.eye(n, m, k, dtype=_dtype(dtype)))


def shape(x):
    return tuple(_data(x).shape)


def ndim(x):
    return _data(x).ndim


def size(x):
    return _data(x).size


def one_hot(x, num_classes, axis=-1, dtype=None):
    """One-hot rows for integer labels ``x`` (float32)."""
    xp = backend.xp
    ids = _data(x).astype(int)
    out = (ids[..., None] == xp.arange(num_classes)).astype(_dtype(dtype))
    return _const(xp.moveaxis(out, -1, axis) if axis != -1 else out)


def _compare(fn):
    def op(x1, x2):
        return _const(fn(_data(x1), _data(x2)))
    op.__name__ = fn.__name__
    return op


def _xp(name):
    def fn(*args):
        return getattr(backend.xp, name)(*args)
    fn.__name__ = name
    return fn


equal = _compare(_xp("equal"))
not_equal = _compare(_xp("not_equal"))
greater = _compare(_xp("greater"))
greater_equal = _compare(_xp("greater_equal"))
less = _compare(_xp("less"))
less_equal = _compare(_xp("less_equal"))
logical_and = _compare(_xp("logical_and"))
logical_or = _compare(_xp("logical_or"))


def logical_not(x):
    return _const(backend.xp.logical_not(_data(x)))


def any(x, axis=None, keepdims=False):  # noqa: A001
    return _const(backend.xp.any(_data(x), axis=axis, keepdims=keepdims))


def all(x, axis=None, keepdims=False):  # noqa: A001
    return _const(backend.xp.all(_data(x), axis=axis, keepdims=keepdims))


def argmax(x, axis=None, keepdims=False):
    return _const(backend.xp.argmax(_data(x), axis=axis, keepdims=keepdims))


def argmin(x, axis=None, keepdims=False):
    return _const(backend.xp.argmin(_data(x), axis=axis, keepdims=keepdims))


def argsort(x, axis=-1):
    return _const(backend.xp.argsort(_data(x), axis=axis))


def round(x, decimals=0):  # noqa: A001
    return _const(backend.xp.round(_data(x), decimals))


def floor(x):
    return _const(backend.xp.floor(_data(x)))


def ceil(x):
    return _const(backend.xp.ceil(_data(x)))


def isnan(x):
    return _const(backend.xp.isnan(_data(x)))


def isfinite(x):
    return _const(backend.xp.isfinite(_data(x)))


# -- losses (ops.nn in Keras) ---------------------------------------------------------------------------
def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary crossentropy (no reduction), as ``keras.ops.binary_crossentropy``."""
    if from_logits:
        return _e.binary_crossentropy_from_logits(_data(target), output)
    return _e.binary_crossentropy_from_probs(_data(target), output)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    from kspec.losses import functions
    return functions.categorical_crossentropy(target, output, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    from kspec.losses import functions
    return functions.sparse_categorical_crossentropy(target, output, from_logits=from_logits, axis=axis)
