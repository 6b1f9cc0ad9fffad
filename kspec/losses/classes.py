"""Keras 3's Loss classes: each wraps a per-sample function with Keras's constructor arguments and
defaults, and serializes the config keys Keras writes (plus ``delta``/``axis`` where Keras drops them).
"""
from kspec.losses import functions as F
from kspec.losses.loss import Loss, LossFunctionWrapper
from kspec.registry import register

SOBS = "sum_over_batch_size"


class _KerasLoss(LossFunctionWrapper):
    """A LossFunctionWrapper whose config is ``name``, ``reduction`` and the keys in ``config_keys``."""

    config_keys = ()

    def __init__(self, fn, reduction, name, dtype, **kwargs):
        super().__init__(fn, reduction=reduction, name=name, dtype=dtype, **kwargs)
        for key, value in kwargs.items():
            setattr(self, key, value)

    def get_config(self):
        return {**Loss.get_config(self), **{k: getattr(self, k) for k in self.config_keys}}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@register("loss")
class MeanSquaredError(_KerasLoss):
    def __init__(self, reduction=SOBS, name="mean_squared_error", dtype=None):
        super().__init__(F.mean_squared_error, reduction, name, dtype)


@register("loss")
class MeanAbsoluteError(_KerasLoss):
    def __init__(self, reduction=SOBS, name="mean_absolute_error", dtype=None):
        super().__init__(F.mean_absolute_error, reduction, name, dtype)


@register("loss")
class MeanAbsolutePercentageError(_KerasLoss):
    def __init__(self, reduction=SOBS, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(F.mean_absolute_percentage_error, reduction, name, dtype)


@register("loss")
class MeanSquaredLogarithmicError(_KerasLoss):
    def __init__(self, reduction=SOBS, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(F.mean_squared_logarithmic_error, reduction, name, dtype)


@register("loss")
class CosineSimilarity(_KerasLoss):
    config_keys = ("axis",)  # Keras drops axis from the config; kspec keeps it so it round-trips

    def __init__(self, axis=-1, reduction=SOBS, name="cosine_similarity", dtype=None):
        super().__init__(F.cosine_similarity, reduction, name, dtype, axis=axis)


@register("loss")
class Huber(_KerasLoss):
    config_keys = ("delta",)  # Keras drops delta from the config; kspec keeps it so it round-trips

    def __init__(self, delta=1.0, reduction=SOBS, name="huber_loss", dtype=None):
        super().__init__(F.huber, reduction, name, dtype, delta=delta)


@register("loss")
class LogCosh(_KerasLoss):
    def __init__(self, reduction=SOBS, name="log_cosh", dtype=None):
        super().__init__(F.log_cosh, reduction, name, dtype)


@register("loss")
class Hinge(_KerasLoss):
    def __init__(self, reduction=SOBS, name="hinge", dtype=None):
        super().__init__(F.hinge, reduction, name, dtype)


@register("loss")
class SquaredHinge(_KerasLoss):
    def __init__(self, reduction=SOBS, name="squared_hinge", dtype=None):
        super().__init__(F.squared_hinge, reduction, name, dtype)


@register("loss")
class CategoricalHinge(_KerasLoss):
    def __init__(self, reduction=SOBS, name="categorical_hinge", dtype=None):
        super().__init__(F.categorical_hinge, reduction, name, dtype)


@register("loss")
class KLDivergence(_KerasLoss):
    def __init__(self, reduction=SOBS, name="kl_divergence", dtype=None):
        super().__init__(F.kl_divergence, reduction, name, dtype)


@register("loss")
class Poisson(_KerasLoss):
    def __init__(self, reduction=SOBS, name="poisson", dtype=None):
        super().__init__(F.poisson, reduction, name, dtype)


@register("loss")
class BinaryCrossentropy(_KerasLoss):
    config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=SOBS,
                 name="binary_crossentropy", dtype=None):
        super().__init__(F.binary_crossentropy, reduction, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


@register("loss")
class BinaryFocalCrossentropy(_KerasLoss):
    config_keys = ("from_logits", "label_smoothing", "axis", "apply_class_balancing", "alpha", "gamma")

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction=SOBS, name="binary_focal_crossentropy",
                 dtype=None):
        super().__init__(F.binary_focal_crossentropy, reduction, name, dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


@register("loss")
class CategoricalCrossentropy(_KerasLoss):
    config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=SOBS,
                 name="categorical_crossentropy", dtype=None):
        super().__init__(F.categorical_crossentropy, reduction, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


@register("loss")
class CategoricalFocalCrossentropy(_KerasLoss):
    config_keys = ("from_logits", "label_smoothing", "axis", "alpha", "gamma")

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction=SOBS, name="categorical_focal_crossentropy", dtype=None):
        super().__init__(F.categorical_focal_crossentropy, reduction, name, dtype, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


@register("loss")
class SparseCategoricalCrossentropy(_KerasLoss):
    config_keys = ("from_logits", "ignore_class", "axis")  # Keras drops axis; kspec keeps it

    def __init__(self, from_logits=False, ignore_class=None, reduction=SOBS, axis=-1,
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(F.sparse_categorical_crossentropy, reduction, name, dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)
