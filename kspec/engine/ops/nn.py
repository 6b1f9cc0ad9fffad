"""Coarse neural-network ops with hand-written backward passes: matmul, the dense (linear) op, softmax,
dropout and the fused crossentropies that start from logits but keep Keras's clipped-probability numbers.
"""
from kspec import backend
from kspec.backend import comm
from kspec.engine.ops.math import unbroadcast
from kspec.engine.tensor import Tensor, as_tensor, make


def _to_2d(a):
    return a.reshape(-1, a.shape[-1])


def matmul(a, b):
    """``a @ b`` with NumPy's rules: batch axes broadcast, a 1-D operand is a row (a) or column (b) vector."""
    a, b = as_tensor(a), as_tensor(b)
    out = a.data @ b.data

    def backward(g):
        # Promote 1-D operands to matrices (and g with them), then use the matrix formulas.
        a2 = a.data if a.ndim > 1 else a.data[None, :]
        b2 = b.data if b.ndim > 1 else b.data[:, None]
        if b.ndim == 1:
            g = g[..., None]
        if a.ndim == 1:
            g = g[..., None, :]
        ga = gb = None
        if a.requires_grad:
            ga = unbroadcast(g @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape)
        if b.requires_grad:
            if b2.ndim == 2:  # one matrix shared by every batch entry: a single GEMM
                gb = _to_2d(a2).T @ _to_2d(g)
            else:
                gb = unbroadcast(a2.swapaxes(-1, -2) @ g, b2.shape)
            gb = gb.reshape(b.shape)
        return ga, gb

    return make(out, (a, b), backward, "matmul")


def linear(x, kernel, bias=None):
    """The Dense op: ``x @ kernel + bias`` over the last axis of ``x`` of any rank.

    x : (..., in), kernel : (in, units), bias : (units,) or None -> (..., units)
    """
    x = as_tensor(x)
    out = x.data @ kernel.data
    if bias is not None:
        out += bias.data
    parents = (x, kernel) if bias is None else (x, kernel, bias)

    def backward(g):
        g2 = _to_2d(g)
        gx = (g @ kernel.data.T) if x.requires_grad else None
        gk = (_to_2d(x.data).T @ g2) if kernel.requires_grad else None
        if bias is None:
            return gx, gk
        gb = g2.sum(axis=0) if bias.requires_grad else None
        return gx, gk, gb

    return make(out, parents, backward, "linear")


def softmax(x, axis=-1):
    """exp(x - max) / sum; the output keeps its logits so a crossentropy can fuse with it."""
    x = as_tensor(x)
    xp = backend.xp
    e = xp.exp(x.data - x.data.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)

    def backward(g):
        return ((g - (g * e).sum(axis=axis, keepdims=True)) * e,)

    out = make(e, (x,), backward, "softmax")
    if axis in (-1, x.ndim - 1):
        out.logits = x
    return out


def log_softmax(x, axis=-1):
    """x - max - log(sum(exp(x - max)))."""
    x = as_tensor(x)
    xp = backend.xp
    shifted = x.data - x.data.max(axis=axis, keepdims=True)
    out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))

    def backward(g):
        return (g - xp.exp(out) * g.sum(axis=axis, keepdims=True),)

    return make(out, (x,), backward, "log_softmax")


def relu(x):
    x = as_tensor(x)
    out = backend.xp.maximum(x.data, 0)
    return make(out, (x,), lambda g: (g * (x.data > 0),), "relu")


def dropout(x, rate, noise_shape=None, seed=None):
    """Inverted dropout: keep with probability 1 - rate and scale the kept values by 1 / (1 - rate)."""
    x = as_tensor(x)
    if rate <= 0:
        return x
    xp = backend.xp
    if rate >= 1:
        return make(xp.zeros_like(x.data), (x,), lambda g: (xp.zeros_like(g),), "dropout")
    shape = x.shape if noise_shape is None else noise_shape
    rng = seed if seed is None or not isinstance(seed, int) else backend.generator(seed)
    keep = comm.draw_rows(backend.random_uniform, shape, rng=rng) >= x.dtype.type(rate)
    mask = keep * x.dtype.type(1.0 / (1.0 - rate))
    return make(x.data * mask, (x,), lambda g: (g * mask,), "dropout")


def _targets(y, like):
    """Targets as an array of the prediction's dtype (float64 labels must not leak into float32 math)."""
    y = y.data if isinstance(y, Tensor) else y
    return backend.xp.asarray(y, dtype=like.dtype)


def categorical_crossentropy_from_probs(y, p):
    """Keras's per-sample CCE on a softmax output, computed from its logits.

    The value is Keras's: ``-sum(y * log(clip(p / sum(p), eps, 1 - eps)))``. When ``p`` came from
    :func:`softmax`, the gradient is taken straight to the logits: ``p * sum(a) - a`` with
    ``a = y * [eps < p < 1 - eps]``, which is exactly the gradient of Keras's clipped formula and skips
    the softmax backward. y : (..., K) float, p : Tensor (..., K) -> (...,)
    """
    xp = backend.xp
    eps = p.dtype.type(backend.EPSILON)
    y = _targets(y, p)
    q = p.data / p.data.sum(axis=-1, keepdims=True)
    clipped = xp.clip(q, eps, 1 - eps)
    loss = -(y * xp.log(clipped)).sum(axis=-1)
    logits = p.logits
    if logits is None:
        target = p

        def backward(g):
            inside = (q > eps) & (q < 1 - eps)
            dq = -(y / clipped) * inside
            s = p.data.sum(axis=-1, keepdims=True)
            dp = (dq - (dq * q).sum(axis=-1, keepdims=True)) / s
            return (g[..., None] * dp,)
    else:
        target = logits

        def backward(g):
            a = y * ((q > eps) & (q < 1 - eps))
            return (g[..., None] * (q * a.sum(axis=-1, keepdims=True) - a),)

    return make(loss.astype(p.dtype, copy=False), (target,), backward, "categorical_crossentropy")


def categorical_crossentropy_from_logits(y, z):
    """Per-sample ``-sum(y * log_softmax(z))``. y : (..., K), z : Tensor (..., K) -> (...,)"""
    xp = backend.xp
    y = _targets(y, z)
    shifted = z.data - z.data.max(axis=-1, keepdims=True)
    e = xp.exp(shifted)
    s = e.sum(axis=-1, keepdims=True)
    logp = shifted - xp.log(s)
    loss = -(y * logp).sum(axis=-1)

    def backward(g):
        return (g[..., None] * ((e / s) * y.sum(axis=-1, keepdims=True) - y),)

    return make(loss, (z,), backward, "categorical_crossentropy")


def binary_crossentropy_from_probs(y, p):
    """Keras's elementwise BCE on probabilities: ``-(y log p + (1-y) log(1-p))`` with p clipped to
    [eps, 1-eps]. From a sigmoid output the gradient goes straight to the logits: ``(p - y)`` inside the
    clip range, 0 outside. y, p : (...) -> (...)"""
    xp = backend.xp
    eps = p.dtype.type(backend.EPSILON)
    y = _targets(y, p)
    pc = xp.clip(p.data, eps, 1 - eps)
    loss = -(y * xp.log(pc) + (1 - y) * xp.log(1 - pc))
    inside = (p.data > eps) & (p.data < 1 - eps)
    if p.logits is None:
        def backward(g):
            return (g * inside * (pc - y) / (pc * (1 - pc)),)
        target = p
    else:
        def backward(g):
            return (g * inside * (p.data - y),)
        target = p.logits
    return make(loss.astype(p.dtype, copy=False), (target,), backward, "binary_crossentropy")


def binary_crossentropy_from_logits(y, z):
    """Elementwise ``max(z, 0) - z*y + log1p(exp(-|z|))``. y, z : (...) -> (...)"""
    xp = backend.xp
    y = _targets(y, z)
    loss = xp.maximum(z.data, 0) - z.data * y + xp.log1p(xp.exp(-xp.abs(z.data)))

    def backward(g):
        sig = xp.exp(-xp.logaddexp(z.dtype.type(0), -z.data))
        return (g * (sig - y),)

    return make(loss.astype(z.dtype, copy=False), (z,), backward, "binary_crossentropy")
