"""Normalization ops with hand-written backward passes: batch statistics (BatchNormalization in training,
LayerNormalization) and normalization with fixed statistics (BatchNormalization in inference).

Both compute Keras's float32 form ``y = x * inv + (beta - mean * inv)`` with ``inv = gamma / sqrt(var + eps)``
and the biased variance ``mean((x - mean)**2)``.
"""
from kspec import backend
from kspec.engine.ops.math import unbroadcast
from kspec.engine.tensor import as_tensor, make


def normalize_batch(x, axes, gamma=None, beta=None, epsilon=1e-3, allreduce=None):
    """Normalize ``x`` with the mean and biased variance over ``axes``, then scale and shift.

    x : (...); gamma, beta : Tensors broadcastable to x (e.g. (C,) for the last axis) or None.
    Returns (y Tensor of x's shape, mean array, variance array); the statistics keep dims (no gradient:
    the gradient through them is part of y's backward). ``allreduce`` (a sum of a flat float64 array
    across ranks) makes the statistics, and the sums of the backward pass, those of the global batch.
    """
    xp = backend.xp
    x = as_tensor(x)
    axes = tuple(a % x.ndim for a in axes)
    count = 1
    for a in axes:
        count *= x.shape[a]
    if allreduce is None:
        mean = x.data.mean(axis=axes, keepdims=True)
        centered = x.data - mean
        var = xp.square(centered).mean(axis=axes, keepdims=True)
    else:
        mean, total = _global_mean(x.data, axes, count, allreduce)
        centered = x.data - mean
        var = _global_mean(xp.square(centered), axes, count, allreduce)[0]
        count = total
    rstd = 1 / xp.sqrt(var + x.dtype.type(epsilon))
    inv = rstd if gamma is None else rstd * gamma.data
    shift = -mean * inv
    if beta is not None:
        shift = shift + beta.data
    y = x.data * inv + shift
    parents = tuple(p for p in (x, gamma, beta) if p is not None)

    def backward(g):
        xhat = centered * rstd
        grads = []
        if x.requires_grad:
            dxhat = g if gamma is None else g * gamma.data
            if allreduce is None:
                mean_d = dxhat.mean(axis=axes, keepdims=True)
                mean_dx = (dxhat * xhat).mean(axis=axes, keepdims=True)
            else:  # both sums in one allreduce
                both = xp.concatenate([dxhat.sum(axis=axes, keepdims=True),
                                       (dxhat * xhat).sum(axis=axes, keepdims=True)])
                both = allreduce(both.reshape(-1)).astype(x.dtype).reshape(both.shape) / x.dtype.type(count)
                mean_d, mean_dx = both[:1], both[1:]
            grads.append(rstd * (dxhat - mean_d - xhat * mean_dx))
        else:
            grads.append(None)
        if gamma is not None:
            grads.append(unbroadcast(g * xhat, gamma.shape) if gamma.requires_grad else None)
        if beta is not None:
            grads.append(unbroadcast(g, beta.shape) if beta.requires_grad else None)
        return tuple(grads)

    return make(y, parents, backward, "normalize_batch"), mean, var


def _global_mean(data, axes, count, allreduce):
    """The mean over ``axes`` of the rows of every rank: one allreduce of the sums and the count."""
    sums = data.sum(axis=axes, keepdims=True, dtype=backend.xp.float64)
    total = allreduce(backend.xp.concatenate([sums.reshape(-1), [float(count)]]))
    count = total[-1]
    mean = (total[:-1] / count if count else total[:-1] * 0).reshape(sums.shape).astype(data.dtype)
    return mean, count


def normalize_fixed(x, mean, variance, gamma=None, beta=None, epsilon=1e-3):
    """``(x - mean) / sqrt(variance + eps) * gamma + beta`` with constant statistics (arrays broadcastable
    to x); gradients flow to x, gamma and beta."""
    xp = backend.xp
    x = as_tensor(x)
    dtype = x.dtype
    mean = xp.asarray(mean, dtype=dtype)
    rstd = 1 / xp.sqrt(xp.asarray(variance, dtype=dtype) + dtype.type(epsilon))
    inv = rstd if gamma is None else rstd * gamma.data
    shift = -mean * inv
    if beta is not None:
        shift = shift + beta.data
    y = x.data * inv + shift
    parents = tuple(p for p in (x, gamma, beta) if p is not None)

    def backward(g):
        grads = [g * inv if x.requires_grad else None]
        if gamma is not None:
            grads.append(unbroadcast(g * ((x.data - mean) * rstd), gamma.shape) if gamma.requires_grad else None)
        if beta is not None:
            grads.append(unbroadcast(g, beta.shape) if beta.requires_grad else None)
        return tuple(grads)

    return make(y, parents, backward, "normalize_fixed")
