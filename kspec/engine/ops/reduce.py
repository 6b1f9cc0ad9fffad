"""Reductions with their backward passes."""
import builtins

from kspec import backend
from kspec.engine.tensor import as_tensor, make


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(a % ndim for a in axis)


def _expand(g, shape, axes, keepdims):
    """Bring a reduced gradient back to a shape that broadcasts against the input."""
    if not keepdims:
        g = backend.xp.expand_dims(g, axes) if axes else g
    return g


def sum(a, axis=None, keepdims=False):  # noqa: A001 - mirrors keras.ops.sum
    a = as_tensor(a)
    axes = _axes(axis, a.ndim)
    out = a.data.sum(axis=axes, keepdims=keepdims)

    def backward(g):
        return (backend.xp.broadcast_to(_expand(g, a.shape, axes, keepdims), a.shape),)

    return make(out, (a,), backward, "sum")


def mean(a, axis=None, keepdims=False):
    a = as_tensor(a)
    axes = _axes(axis, a.ndim)
    count = 1
    for i in axes:
        count *= a.shape[i]
    out = a.data.mean(axis=axes, keepdims=keepdims)

    def backward(g):
        g = _expand(g, a.shape, axes, keepdims) / a.dtype.type(builtins.max(count, 1))
        return (backend.xp.broadcast_to(g, a.shape),)

    return make(out, (a,), backward, "mean")


def _extreme(a, axis, keepdims, pick, name):
    a = as_tensor(a)
    axes = _axes(axis, a.ndim)
    out = pick(a.data, axis=axes, keepdims=True)

    def backward(g):
        # The gradient goes to every tied extreme, split evenly between ties.
        hit = a.data == out
        share = hit / hit.sum(axis=axes, keepdims=True).astype(a.dtype)
        return (share * _expand(g, a.shape, axes, keepdims),)

    return make(out if keepdims else out.squeeze(axis=axes), (a,), backward, name)


def max(a, axis=None, keepdims=False):  # noqa: A001 - mirrors keras.ops.max
    return _extreme(a, axis, keepdims, backend.xp.max, "max")


def min(a, axis=None, keepdims=False):  # noqa: A001 - mirrors keras.ops.min
    return _extreme(a, axis, keepdims, backend.xp.min, "min")


def logsumexp(a, axis=-1, keepdims=False):
    a = as_tensor(a)
    xp = backend.xp
    axes = _axes(axis, a.ndim)
    m = a.data.max(axis=axes, keepdims=True)
    e = xp.exp(a.data - m)
    s = e.sum(axis=axes, keepdims=True)
    out = xp.log(s) + m

    def backward(g):
        return (_expand(g, a.shape, axes, keepdims) * (e / s),)

    return make(out if keepdims else out.squeeze(axis=axes), (a,), backward, "logsumexp")
