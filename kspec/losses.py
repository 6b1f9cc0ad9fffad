"""Keras losses: per-sample functions, Loss classes with Keras's reduction, and ``get``.

A per-sample function maps ``(y_true array, y_pred Tensor)`` to a Tensor of shape ``y_pred.shape[:-1]``.
A :class:`Loss` adds Keras 3's rank adjustment, sample weights, masks and reduction.
"""
from kspec import backend
from kspec.engine import Tensor, as_tensor, ops
from kspec.registry import lookup, register
from kspec.serialization import deserialize

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def squeeze_or_expand_to_same_rank(a, b):
    """Keras's rule: if ranks differ by one and the larger's last dim is 1, squeeze it; if the smaller
    has rank 1, expand it instead. Works on arrays and Tensors alike."""
    ra, rb = len(a.shape), len(b.shape)
    if ra == rb:
        return a, b
    if ra == rb + 1 and a.shape[-1] == 1:
        return (ops.squeeze(a, -1) if isinstance(a, Tensor) else a.squeeze(-1)), b
    if rb == ra + 1 and b.shape[-1] == 1:
        return a, (ops.squeeze(b, -1) if isinstance(b, Tensor) else b.squeeze(-1))
    return a, b


class Loss:
    """Base class: subclasses implement ``call(y_true, y_pred) -> per-sample Tensor``."""

    registry_kind = "loss"

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"invalid reduction {reduction!r}; expected one of {REDUCTIONS}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = as_tensor(y_pred)
        y_true = y_true.data if isinstance(y_true, Tensor) else y_true
        y_true = backend.xp.asarray(y_true)
        if y_true.dtype.kind == "f" and y_true.dtype != y_pred.dtype:
            y_true = y_true.astype(y_pred.dtype)
        y_true, y_pred_adj = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if y_pred_adj is not y_pred:
            y_pred_adj.logits = None if y_pred.logits is None else ops.squeeze(y_pred.logits, -1)
        values = self.call(y_true, y_pred_adj)
        mask = getattr(y_pred, "keras_mask", None)
        return reduce_weighted_values(values, sample_weight, mask, self.reduction)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def reduce_weighted_values(values, sample_weight=None, mask=None, reduction="sum_over_batch_size"):
    """Keras's ``reduce_weighted_values``: weights multiply per-sample values; the mean divides by the
    element count (not the weight sum); a mask rescales so the mean is over valid entries."""
    xp = backend.xp
    weights = None
    if sample_weight is not None:
        weights = xp.asarray(sample_weight, dtype=values.dtype)
        weights = _match_rank(weights, values.ndim)
    if mask is not None:
        m = xp.asarray(mask).astype(values.dtype)
        m = _match_rank(m, values.ndim)
        if reduction in ("sum_over_batch_size", "mean"):
            valid = m.sum()
            m = m * (m.size / valid if valid > 0 else 0.0)
        weights = m if weights is None else weights * m
    if weights is not None:
        values = values * weights
    if reduction in (None, "none"):
        return values
    total = ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weights is not None:
        denom = float(xp.broadcast_to(weights, values.shape).sum())
    else:
        denom = float(values.size)
    return total / denom if denom else total * 0.0


def _match_rank(w, ndim):
    while w.ndim > ndim and w.shape[-1] == 1:
        w = w.squeeze(-1)
    while w.ndim < ndim:
        w = w[..., None]
    return w


def _snake(name):
    from kspec.registry import snake_case
    return snake_case(name)


class LossFunctionWrapper(Loss):
    """A Loss around a per-sample function ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name or fn.__name__, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


# -- per-sample functions -----------------------------------------------------------------------------

@register("loss")
def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """``-sum(y * log(p))`` over the class axis; probabilities are renormalised and clipped to
    [eps, 1-eps] as Keras does (the gradient goes straight to the logits of a softmax)."""
    y_true = backend.xp.asarray(y_true, dtype=y_pred.dtype)
    if label_smoothing:
        k = y_pred.shape[-1]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / k
    if from_logits:
        return ops.categorical_crossentropy_from_logits(y_true, y_pred)
    return ops.categorical_crossentropy_from_probs(y_true, y_pred)


@register("loss", "mse", "MSE")
def mean_squared_error(y_true, y_pred):
    """``mean((y - p)**2, axis=-1)``."""
    return ops.mean(ops.square(ops.subtract(y_pred, y_true)), axis=-1)


@register("loss")
class CategoricalCrossentropy(LossFunctionWrapper):
    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


@register("loss")
class MeanSquaredError(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, reduction=reduction, name=name, dtype=dtype)


def get(identifier):
    """A Loss instance from a name, a config, a Loss, or a per-sample function."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        obj = lookup("loss", identifier)
        if obj is None:
            raise ValueError(f"unknown loss {identifier!r}")
        identifier = obj
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    return deserialize("loss", identifier)
