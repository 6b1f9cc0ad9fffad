"""Metrics that average a loss function (regression, probabilistic, hinge), plus RootMeanSquaredError.

The per-sample loss functions of :mod:`kspec.losses` run on the engine without a tape. Labels and
predictions are first rank-adjusted as a Loss does (Keras's metric wrappers skip that step for some
losses and then broadcast (N,) against (N, 1) into (N, N); kspec does not reproduce that).
"""
from kspec import backend, losses
from kspec.engine import Tensor, no_grad
from kspec.losses.loss import squeeze_or_expand_to_same_rank
from kspec.metrics.base import F32, Mean, MeanMetricWrapper, as_float32, register_metric, to_result


def loss_metric_fn(fn):
    """A metric function ``(y_true, y_pred, **kwargs) -> Tensor`` from a per-sample loss function
    (the Tensor carries the loss's Keras mask, e.g. for ignore_class)."""
    def metric_fn(y_true, y_pred, **kwargs):
        y_pred = Tensor(as_float32(y_pred))
        y_true = backend.xp.asarray(y_true, dtype=F32)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        with no_grad():
            return fn(y_true, y_pred, **kwargs)
    metric_fn.__name__ = getattr(fn, "__name__", "loss")
    return metric_fn


class _LossMetric(MeanMetricWrapper):
    """A MeanMetricWrapper over a loss function; config is name, dtype and ``config_keys``."""

    config_keys = ()

    def __init__(self, fn, name, dtype, **kwargs):
        super().__init__(loss_metric_fn(fn), name=name, dtype=dtype, **kwargs)
        for key, value in kwargs.items():
            setattr(self, key, value)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype or "float32",
                **{k: getattr(self, k) for k in self.config_keys}}


@register_metric("mse", "MSE")
class MeanSquaredError(_LossMetric):
    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(losses.mean_squared_error, name, dtype)


@register_metric("mae", "MAE")
class MeanAbsoluteError(_LossMetric):
    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(losses.mean_absolute_error, name, dtype)


@register_metric("mape", "MAPE")
class MeanAbsolutePercentageError(_LossMetric):
    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(losses.mean_absolute_percentage_error, name, dtype)


@register_metric("msle", "MSLE")
class MeanSquaredLogarithmicError(_LossMetric):
    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(losses.mean_squared_logarithmic_error, name, dtype)


@register_metric()
class CosineSimilarity(_LossMetric):
    """The mean cosine similarity (the similarity, not its negative). Keras drops ``axis`` from the
    config; kspec keeps it so it round-trips."""

    config_keys = ("axis",)

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(_cosine_similarity, name, dtype, axis=axis)


def _cosine_similarity(y_true, y_pred, axis=-1):
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


@register_metric()
class LogCoshError(_LossMetric):
    def __init__(self, name="logcosh", dtype=None):
        super().__init__(losses.log_cosh, name, dtype)


@register_metric()
class Hinge(_LossMetric):
    def __init__(self, name="hinge", dtype=None):
        super().__init__(losses.hinge, name, dtype)


@register_metric()
class SquaredHinge(_LossMetric):
    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(losses.squared_hinge, name, dtype)


@register_metric()
class CategoricalHinge(_LossMetric):
    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(losses.categorical_hinge, name, dtype)


@register_metric()
class KLDivergence(_LossMetric):
    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(losses.kl_divergence, name, dtype)


@register_metric()
class Poisson(_LossMetric):
    def __init__(self, name="poisson", dtype=None):
        super().__init__(losses.poisson, name, dtype)


@register_metric("bce", "BCE")
class BinaryCrossentropy(_LossMetric):
    config_keys = ("from_logits", "label_smoothing")

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(losses.binary_crossentropy, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


@register_metric()
class CategoricalCrossentropy(_LossMetric):
    config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0,
                 axis=-1):
        super().__init__(losses.categorical_crossentropy, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


@register_metric()
class SparseCategoricalCrossentropy(_LossMetric):
    config_keys = ("from_logits", "ignore_class", "axis")

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):
        super().__init__(losses.sparse_categorical_crossentropy, name, dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)


@register_metric()
class RootMeanSquaredError(Mean):
    """``sqrt`` of the running (weighted) mean of squared errors."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = squeeze_or_expand_to_same_rank(as_float32(y_true), as_float32(y_pred))
        return super().update_state((y_pred - y_true) ** 2, sample_weight)

    def result(self):
        return to_result(backend.xp.sqrt(F32(super().result())))
