"""Loss primitives with hand-written backward passes: sparse crossentropies that index the class axis
(no one-hot labels in the forward pass) and a stable ``log_cosh``.
"""
from kspec import backend
from kspec.engine.tensor import Tensor, as_tensor, make


def _sparse_targets(y, num_classes):
    """Class ids as an index array (..., 1) and a validity mask (...).

    Float ids are truncated toward zero (Keras casts labels to int32). Ids outside [0, K) are invalid:
    their loss and gradient are 0, as with JAX's ``one_hot``, which gives an all-zero row for them.
    """
    xp = backend.xp
    y = y.data if isinstance(y, Tensor) else xp.asarray(y)
    ids = y.astype(xp.int64) if y.dtype.kind != "i" else y
    valid = (ids >= 0) & (ids < num_classes)
    return xp.where(valid, ids, 0)[..., None], valid


def _is_target(ids, num_classes):
    """Boolean (..., K): True at each row's class id (built only in backward, by broadcasting)."""
    return backend.xp.arange(num_classes) == ids


def sparse_categorical_crossentropy_from_probs(y, p):
    """Keras's per-sample sparse CCE on probabilities: ``-log(clip(p[y] / sum(p), eps, 1 - eps))``.

    From a :func:`softmax` output the gradient goes straight to its logits, ``inside * (q - onehot(y))``,
    the exact gradient of the clipped formula. y : (...) int or float ids, p : Tensor (..., K) -> (...)
    """
    xp = backend.xp
    eps = p.dtype.type(backend.EPSILON)
    ids, valid = _sparse_targets(y, p.shape[-1])
    total = p.data.sum(axis=-1, keepdims=True)
    q = p.data / total
    q_y = xp.take_along_axis(q, ids, axis=-1)[..., 0]
    clipped = xp.clip(q_y, eps, 1 - eps)
    loss = xp.where(valid, -xp.log(clipped), p.dtype.type(0)).astype(p.dtype, copy=False)
    inside = (valid & (q_y > eps) & (q_y < 1 - eps)).astype(p.dtype)

    if p.logits is not None:
        def backward(g):
            gi = (g * inside)[..., None]
            return (q * gi - _is_target(ids, q.shape[-1]) * gi,)
        return make(loss, (p.logits,), backward, "sparse_categorical_crossentropy")

    def backward(g):
        # dL/dq is nonzero only at y: dq_y = -inside / clipped; then back through q = p / sum(p).
        dq_y = (g * -inside / clipped)[..., None]
        return ((_is_target(ids, q.shape[-1]) * dq_y - dq_y * q_y[..., None]) / total,)

    return make(loss, (p,), backward, "sparse_categorical_crossentropy")


def sparse_categorical_crossentropy_from_logits(y, z):
    """Per-sample ``logsumexp(z) - z[y]``. y : (...) ids, z : Tensor (..., K) -> (...)"""
    xp = backend.xp
    ids, valid = _sparse_targets(y, z.shape[-1])
    shifted = z.data - z.data.max(axis=-1, keepdims=True)
    e = xp.exp(shifted)
    total = e.sum(axis=-1, keepdims=True)
    z_y = xp.take_along_axis(shifted, ids, axis=-1)[..., 0]
    loss = xp.where(valid, xp.log(total)[..., 0] - z_y, z.dtype.type(0)).astype(z.dtype, copy=False)

    def backward(g):
        gv = (g * valid)[..., None].astype(z.dtype, copy=False)
        return ((e / total) * gv - _is_target(ids, z.shape[-1]) * gv,)

    return make(loss, (z,), backward, "sparse_categorical_crossentropy")


def log_cosh(x):
    """Elementwise ``log(cosh(x))`` as Keras computes it, ``x + softplus(-2x) - log 2``; gradient tanh(x)."""
    x = as_tensor(x)
    xp = backend.xp
    dt = x.dtype.type
    u = x.data * dt(-2.0)
    softplus = xp.maximum(u, dt(0)) + xp.log1p(xp.exp(-xp.abs(u)))
    out = (x.data + softplus) - dt(0.6931471805599453)
    return make(out, (x,), lambda g: (g * xp.tanh(x.data),), "log_cosh")
