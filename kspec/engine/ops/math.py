"""Elementwise ops with their backward passes. Broadcasting is undone in backward by :func:`unbroadcast`."""
from kspec import backend
from kspec.engine.tensor import Tensor, as_tensor, make


def unbroadcast(g, shape):
    """Sum ``g`` down to ``shape`` (the reverse of NumPy broadcasting)."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def _const(x, like):
    """A Python number becomes a scalar of ``like``'s dtype (no float64 leak); tensors pass through."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float)):
        return Tensor(backend.xp.asarray(x, dtype=like.dtype if like.dtype.kind == "f" else backend.floatx))
    return as_tensor(x)


def _pair(a, b):
    a = as_tensor(a) if not isinstance(a, Tensor) and not isinstance(b, Tensor) else a
    if isinstance(a, Tensor):
        return a, _const(b, a)
    return _const(a, b), b


def add(a, b):
    a, b = _pair(a, b)

    def backward(g):
        return (unbroadcast(g, a.shape) if a.requires_grad else None,
                unbroadcast(g, b.shape) if b.requires_grad else None)

    return make(a.data + b.data, (a, b), backward, "add")


def subtract(a, b):
    a, b = _pair(a, b)

    def backward(g):
        return (unbroadcast(g, a.shape) if a.requires_grad else None,
                unbroadcast(-g, b.shape) if b.requires_grad else None)

    return make(a.data - b.data, (a, b), backward, "subtract")


def multiply(a, b):
    a, b = _pair(a, b)

    def backward(g):
        return (unbroadcast(g * b.data, a.shape) if a.requires_grad else None,
                unbroadcast(g * a.data, b.shape) if b.requires_grad else None)

    return make(a.data * b.data, (a, b), backward, "multiply")


def divide(a, b):
    a, b = _pair(a, b)

    def backward(g):
        ga = unbroadcast(g / b.data, a.shape) if a.requires_grad else None
        gb = unbroadcast(-g * a.data / (b.data * b.data), b.shape) if b.requires_grad else None
        return ga, gb

    return make(a.data / b.data, (a, b), backward, "divide")


def negative(a):
    a = as_tensor(a)
    return make(-a.data, (a,), lambda g: (-g,), "negative")


def power(a, exponent):
    """``a ** exponent``; a Tensor exponent gets its gradient ``a**b * log(a)`` too."""
    a, b = _pair(a, exponent)
    out = a.data ** b.data

    def backward(g):
        ga = unbroadcast(g * b.data * a.data ** (b.data - 1), a.shape) if a.requires_grad else None
        gb = None
        if b.requires_grad:
            with backend.errstate(divide="ignore", invalid="ignore"):
                log_a = backend.xp.where(a.data > 0, backend.xp.log(backend.xp.where(a.data > 0, a.data, 1)), 0)
            gb = unbroadcast(g * out * log_a, b.shape)
        return ga, gb

    return make(out, (a, b), backward, "power")


def square(a):
    a = as_tensor(a)
    return make(a.data * a.data, (a,), lambda g: (g * 2 * a.data,), "square")


def sqrt(a):
    a = as_tensor(a)
    out = backend.xp.sqrt(a.data)
    return make(out, (a,), lambda g: (g * 0.5 / out,), "sqrt")


def exp(a):
    a = as_tensor(a)
    out = backend.xp.exp(a.data)
    return make(out, (a,), lambda g: (g * out,), "exp")


def log(a):
    a = as_tensor(a)
    return make(backend.xp.log(a.data), (a,), lambda g: (g / a.data,), "log")


def log1p(a):
    a = as_tensor(a)
    return make(backend.xp.log1p(a.data), (a,), lambda g: (g / (1 + a.data),), "log1p")


def abs(a):  # noqa: A001 - mirrors keras.ops.abs
    a = as_tensor(a)
    return make(backend.xp.abs(a.data), (a,), lambda g: (g * backend.xp.sign(a.data),), "abs")


def sign(a):
    a = as_tensor(a)
    return Tensor(backend.xp.sign(a.data))


def tanh(a):
    a = as_tensor(a)
    out = backend.xp.tanh(a.data)
    return make(out, (a,), lambda g: (g * (1 - out * out),), "tanh")


def sigmoid(a):
    """1 / (1 + exp(-x)), computed without overflow; the output keeps its logits for crossentropy."""
    a = as_tensor(a)
    xp = backend.xp
    one = a.dtype.type(1)
    e = xp.exp(-xp.abs(a.data))
    r = one / (one + e)
    out = xp.where(a.data >= 0, r, e * r)
    result = make(out, (a,), lambda g: (g * out * (1 - out),), "sigmoid")
    result.logits = a
    return result


def _tie_split(a, b, pick_a):
    """Gradient shares of ``a`` and ``b`` for max/min: all to the winner, half each on a tie (as JAX)."""
    half = a.dtype.type(0.5) if a.dtype.kind == "f" else 0.5
    tie = a.data == b.data
    share_a = backend.xp.where(tie, half, pick_a.astype(a.dtype if a.dtype.kind == "f" else backend.floatx))
    return share_a, 1 - share_a


def maximum(a, b):
    a, b = _pair(a, b)
    share_a, share_b = _tie_split(a, b, a.data > b.data)

    def backward(g):
        return (unbroadcast(g * share_a, a.shape) if a.requires_grad else None,
                unbroadcast(g * share_b, b.shape) if b.requires_grad else None)

    return make(backend.xp.maximum(a.data, b.data), (a, b), backward, "maximum")


def minimum(a, b):
    a, b = _pair(a, b)
    share_a, share_b = _tie_split(a, b, a.data < b.data)

    def backward(g):
        return (unbroadcast(g * share_a, a.shape) if a.requires_grad else None,
                unbroadcast(g * share_b, b.shape) if b.requires_grad else None)

    return make(backend.xp.minimum(a.data, b.data), (a, b), backward, "minimum")


def where(condition, a, b):
    """``a`` where ``condition`` holds, else ``b`` (the condition is not differentiated)."""
    cond = condition.data if isinstance(condition, Tensor) else backend.xp.asarray(condition)
    a, b = _pair(a, b)

    def backward(g):
        return (unbroadcast(g * cond, a.shape) if a.requires_grad else None,
                unbroadcast(g * ~cond, b.shape) if b.requires_grad else None)

    return make(backend.xp.where(cond, a.data, b.data), (a, b), backward, "where")


def clip(a, low, high):
    """Clip to [low, high]. The gradient is 1 strictly inside, 0 outside and 1/2 exactly at a bound,
    as JAX's ``minimum(maximum(x, low), high)`` splits ties."""
    a = as_tensor(a)
    low, high = (_const(v, a).data for v in (low, high))  # scalars in a's dtype (np.float64 would leak)
    xp = backend.xp
    out = xp.clip(a.data, low, high)
    dtype = a.dtype if a.dtype.kind == "f" else backend.floatx
    share = ((a.data > low) & (a.data < high)).astype(dtype)
    at_bound = (a.data == low) | (a.data == high)
    half = dtype.type(0.5) if hasattr(dtype, "type") else 0.5
    if xp is not backend.host:
        share = xp.where(at_bound, half, share)  # a device never branches on its own values
    elif at_bound.any():
        share[at_bound] = half
    return make(out, (a,), lambda g: (g * share,), "clip")


def cast(a, dtype):
    a = as_tensor(a)
    out = a.data.astype(dtype)
    return make(out, (a,), lambda g: (g.astype(a.dtype),), "cast")


def stop_gradient(a):
    return Tensor(as_tensor(a).data)
