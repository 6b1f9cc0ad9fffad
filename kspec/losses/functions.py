"""Keras 3's per-sample loss functions (``keras/src/losses/losses.py``), written with kspec ops.

Each maps ``(y_true array, y_pred Tensor)`` to a Tensor of per-sample values, usually of shape
``y_pred.shape[:-1]`` (the last axis is reduced). Labels are constants; the gradient flows to y_pred.
Constants take the dtype of y_pred, so float32 stays float32 and float64 gradient checks stay float64.
"""
import warnings

from kspec import backend
from kspec.engine import Tensor, as_tensor, ops
from kspec.losses.loss import _as_labels, squeeze_or_expand_to_same_rank
from kspec.registry import register


def _prepare(y_true, y_pred, same_rank=False):
    """y_pred as a Tensor, y_true as an array of its dtype (optionally rank-adjusted, as Keras does)."""
    y_pred = as_tensor(y_pred)
    y_true = _as_labels(y_true, y_pred.dtype)
    if same_rank:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return y_true, y_pred


def _check_axis(axis):
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}")


def _class_axis_last(y_true, y_pred, axis):
    """Move the class axis to the end (the fused ops work on the last axis)."""
    if axis in (-1, y_pred.ndim - 1):
        return y_true, y_pred
    order = [i for i in range(y_pred.ndim) if i != axis % y_pred.ndim] + [axis % y_pred.ndim]
    return backend.xp.moveaxis(y_true, axis, -1), ops.transpose(y_pred, order)


def _warn_one_class(name, y_pred):
    if y_pred.shape[-1] == 1:
        warnings.warn(f"In loss {name}, expected y_pred.shape to be (batch_size, num_classes) with "
                      f"num_classes > 1. Received: y_pred.shape={y_pred.shape}. Consider using "
                      f"'binary_crossentropy' if you only have 2 classes.", SyntaxWarning, stacklevel=3)


def _smooth_categorical(y_true, label_smoothing):
    dt = y_true.dtype.type
    return y_true * dt(1.0 - label_smoothing) + dt(label_smoothing) / dt(y_true.shape[-1])


def _smooth_binary(y_true, label_smoothing):
    dt = y_true.dtype.type
    return y_true * dt(1.0 - label_smoothing) + dt(0.5 * label_smoothing)


# -- probabilistic ------------------------------------------------------------------------------------

@register("loss")
def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """``-sum(y * log(p))`` over the class axis. Probabilities are renormalised and clipped to
    [eps, 1-eps]; from a softmax output the gradient goes straight to its logits.
    y_true : (..., K) one-hot or soft labels, y_pred : (..., K) -> (...)"""
    _check_axis(axis)
    y_true, y_pred = _prepare(y_true, y_pred)
    _warn_one_class("categorical_crossentropy", y_pred)
    if label_smoothing:
        y_true = _smooth_categorical(y_true, label_smoothing)
    y_true, y_pred = _class_axis_last(y_true, y_pred, axis)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"Arguments `target` and `output` must have the same shape. "
                         f"Received: target.shape={y_true.shape}, output.shape={y_pred.shape}")
    if from_logits:
        return ops.categorical_crossentropy_from_logits(y_true, y_pred)
    return ops.categorical_crossentropy_from_probs(y_true, y_pred)


@register("loss")
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """CCE with integer class ids. A trailing label dim of 1 is squeezed. Entries equal to
    ``ignore_class`` get loss 0 and a Keras mask on the result (so means skip them).
    y_true : (...) or (..., 1) ids, y_pred : (..., K) -> (...)"""
    y_pred = as_tensor(y_pred)
    y_true = _as_labels(y_true, y_pred.dtype)
    if y_true.ndim == y_pred.ndim and y_true.shape[axis] == 1:
        y_true = y_true.squeeze(axis)
    valid = None
    if ignore_class is not None:
        valid = y_true != y_pred.dtype.type(ignore_class)
        y_true = backend.xp.where(valid, y_true, y_pred.dtype.type(-1))  # an invalid id: loss 0
    if axis not in (-1, y_pred.ndim - 1):
        y_pred = ops.transpose(y_pred, [i for i in range(y_pred.ndim) if i != axis % y_pred.ndim]
                               + [axis % y_pred.ndim])
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(f"Arguments `target` and `output` must have the same shape up until the last "
                         f"dimension: target.shape={y_true.shape}, output.shape={y_pred.shape}")
    if from_logits:
        result = ops.sparse_categorical_crossentropy_from_logits(y_true, y_pred)
    else:
        result = ops.sparse_categorical_crossentropy_from_probs(y_true, y_pred)
    if valid is not None:
        result.keras_mask = valid
    return result


@register("loss", "bce", "BCE")
def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Elementwise ``-(y log p + (1-y) log(1-p))`` (p clipped to [eps, 1-eps]), **averaged** over
    ``axis``. From a sigmoid output the gradient goes straight to its logits. (..., K) -> (...)"""
    y_true, y_pred = _prepare(y_true, y_pred)
    if label_smoothing:
        y_true = _smooth_binary(y_true, label_smoothing)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"Arguments `target` and `output` must have the same shape. "
                         f"Received: target.shape={y_true.shape}, output.shape={y_pred.shape}")
    if from_logits:
        values = ops.binary_crossentropy_from_logits(y_true, y_pred)
    else:
        values = ops.binary_crossentropy_from_probs(y_true, y_pred)
    return ops.mean(values, axis=axis)


@register("loss")
def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """``mean((1 - p_t)**gamma * bce)`` over ``axis``, p_t = p where y = 1 else 1 - p; with class
    balancing each term is also weighted by ``alpha`` (y = 1) or ``1 - alpha``. (..., K) -> (...)"""
    y_true, y_pred = _prepare(y_true, y_pred)
    if label_smoothing:
        y_true = _smooth_binary(y_true, label_smoothing)
    if from_logits:
        y_pred = ops.sigmoid(y_pred)
    bce = ops.binary_crossentropy_from_probs(y_true, y_pred)
    y = Tensor(y_true)
    p_t = y * y_pred + (1.0 - y) * (1.0 - y_pred)
    focal_bce = ops.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        weight = y_true * y_true.dtype.type(alpha) + (1 - y_true) * y_true.dtype.type(1 - alpha)
        focal_bce = Tensor(weight) * focal_bce
    return ops.mean(focal_bce, axis=axis)


@register("loss")
def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """``sum(alpha * (1 - p)**gamma * -y log p)`` over ``axis``, p renormalised and clipped to
    [eps, 1-eps] (softmax first when ``from_logits``). (..., K) -> (...)"""
    _check_axis(axis)
    y_true, y_pred = _prepare(y_true, y_pred)
    _warn_one_class("categorical_focal_crossentropy", y_pred)
    if label_smoothing:
        y_true = _smooth_categorical(y_true, label_smoothing)
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=axis)
    eps = backend.EPSILON
    output = ops.clip(y_pred / ops.sum(y_pred, axis=axis, keepdims=True), eps, 1.0 - eps)
    cce = Tensor(-y_true) * ops.log(output)
    weighting = ops.power(1.0 - output, gamma) * Tensor(backend.xp.asarray(alpha, dtype=y_true.dtype))
    return ops.sum(weighting * cce, axis=axis)


@register("loss", "kld", "KLD")
def kl_divergence(y_true, y_pred):
    """``sum(y * log(y / p))`` with y and p clipped to [eps, 1]. (..., K) -> (...)"""
    y_true, y_pred = _prepare(y_true, y_pred)
    eps = backend.EPSILON
    y_true = backend.xp.clip(y_true, eps, 1)
    return ops.sum(Tensor(y_true) * ops.log(Tensor(y_true) / ops.clip(y_pred, eps, 1.0)), axis=-1)


@register("loss")
def poisson(y_true, y_pred):
    """``mean(p - y * log(p + eps))``. (..., K) -> (...)"""
    y_true, y_pred = _prepare(y_true, y_pred)
    return ops.mean(y_pred - Tensor(y_true) * ops.log(y_pred + backend.EPSILON), axis=-1)


# -- regression ---------------------------------------------------------------------------------------

@register("loss", "mse", "MSE")
def mean_squared_error(y_true, y_pred):
    """``mean((y - p)**2)``. (..., K) -> (...)"""
    y_true, y_pred = _prepare(y_true, y_pred, same_rank=True)
    return ops.mean(ops.square(Tensor(y_true) - y_pred), axis=-1)


@register("loss", "mae", "MAE")
def mean_absolute_error(y_true, y_pred):
    """``mean(|y - p|)``. (..., K) -> (...)"""
    y_true, y_pred = _prepare(y_true, y_pred, same_rank=True)
    return ops.mean(ops.abs(Tensor(y_true) - y_pred), axis=-1)


@register("loss", "mape", "MAPE")
def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(|(y - p) / max(|y|, eps)|)``. (..., K) -> (...)"""
    y_true, y_pred = _prepare(y_true, y_pred, same_rank=True)
    scale = backend.xp.maximum(backend.xp.abs(y_true), y_true.dtype.type(backend.EPSILON))
    return 100.0 * ops.mean(ops.abs((Tensor(y_true) - y_pred) / Tensor(scale)), axis=-1)


@register("loss", "msle", "MSLE")
def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean((log(max(p, eps) + 1) - log(max(y, eps) + 1))**2)``. (..., K) -> (...)"""
    y_true, y_pred = _prepare(y_true, y_pred, same_rank=True)
    xp, eps = backend.xp, y_true.dtype.type(backend.EPSILON)
    first = ops.log(ops.maximum(y_pred, backend.EPSILON) + 1.0)
    second = xp.log(xp.maximum(y_true, eps) + y_true.dtype.type(1))
    return ops.mean(ops.square(first - Tensor(second)), axis=-1)


def _l2_normalize(x, axis):
    """Keras's ``x * min(rsqrt(sum(x**2)), 1/eps)``, as ``x / sqrt(max(sum(x**2), eps**2))``."""
    eps2 = backend.EPSILON ** 2
    if isinstance(x, Tensor):
        square_sum = ops.sum(ops.square(x), axis=axis, keepdims=True)
        return x / ops.sqrt(ops.maximum(square_sum, eps2))
    xp = backend.xp
    square_sum = (x * x).sum(axis=axis, keepdims=True)
    return x / xp.sqrt(xp.maximum(square_sum, x.dtype.type(eps2)))


@register("loss")
def cosine_similarity(y_true, y_pred, axis=-1):
    """``-sum(l2_normalize(y) * l2_normalize(p))`` over ``axis``; -1 is best. (..., K) -> (...)"""
    y_true, y_pred = _prepare(y_true, y_pred, same_rank=True)
    return -ops.sum(Tensor(_l2_normalize(y_true, axis)) * _l2_normalize(y_pred, axis), axis=axis)


@register("loss")
def huber(y_true, y_pred, delta=1.0):
    """``mean(0.5 e**2 if |e| <= delta else delta |e| - 0.5 delta**2)``, e = p - y. (..., K) -> (...)"""
    y_true, y_pred = _prepare(y_true, y_pred, same_rank=True)
    dt = y_pred.dtype.type
    delta = dt(delta)
    error = y_pred - Tensor(y_true)
    abs_error = ops.abs(error)
    quadratic = ops.square(error) * dt(0.5)
    linear = abs_error * delta - dt(0.5) * delta * delta
    return ops.mean(ops.where(abs_error.data <= delta, quadratic, linear), axis=-1)


@register("loss")
def log_cosh(y_true, y_pred):
    """``mean(log(cosh(p - y)))``, computed stably as ``x + softplus(-2x) - log 2``. (..., K) -> (...)"""
    y_true, y_pred = _prepare(y_true, y_pred, same_rank=True)
    return ops.mean(ops.log_cosh(y_pred - Tensor(y_true)), axis=-1)


# -- hinge --------------------------------------------------------------------------------------------

def _hinge_labels(y_true):
    """Labels in {0, 1} (all of them) become {-1, 1}; others are used as given (chosen on the device)."""
    all_01 = ((y_true == 0) | (y_true == 1)).all()
    return backend.xp.where(all_01, y_true * y_true.dtype.type(2) - y_true.dtype.type(1), y_true)


@register("loss")
def hinge(y_true, y_pred):
    """``mean(max(1 - y * p, 0))`` with {0, 1} labels mapped to {-1, 1}. (..., K) -> (...)"""
    y_true, y_pred = _prepare(y_true, y_pred)
    return ops.mean(ops.maximum(1.0 - Tensor(_hinge_labels(y_true)) * y_pred, 0.0), axis=-1)


@register("loss")
def squared_hinge(y_true, y_pred):
    """``mean(max(1 - y * p, 0)**2)`` with {0, 1} labels mapped to {-1, 1}. (..., K) -> (...)"""
    y_true, y_pred = _prepare(y_true, y_pred)
    return ops.mean(ops.square(ops.maximum(1.0 - Tensor(_hinge_labels(y_true)) * y_pred, 0.0)), axis=-1)


@register("loss")
def categorical_hinge(y_true, y_pred):
    """``max(max((1 - y) * p) - sum(y * p) + 1, 0)`` for one-hot y. (..., K) -> (...)"""
    y_true, y_pred = _prepare(y_true, y_pred)
    pos = ops.sum(Tensor(y_true) * y_pred, axis=-1)
    neg = ops.max(Tensor(1 - y_true) * y_pred, axis=-1)
    return ops.maximum(neg - pos + 1.0, 0.0)
