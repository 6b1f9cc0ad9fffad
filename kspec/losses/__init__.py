"""Keras 3 losses: per-sample functions, Loss classes with Keras's reductions, and ``get``.

A per-sample function maps ``(y_true array, y_pred Tensor)`` to a Tensor of per-sample values.
A :class:`Loss` adds Keras 3's rank adjustment, sample weights, masks and reduction.

Args:
    reduction: How the per-sample losses become one number: sum_over_batch_size (their mean, the default),
        sum, mean, mean_with_sample_weight, or none.
    name: The loss's name.
    dtype: The dtype of the computation (default float32).
    from_logits: Whether y_pred holds logits (raw scores) rather than probabilities.
    label_smoothing: Smooth the labels toward uniform by this amount in [0, 1]: y * (1 - s) + s / classes
        (binary: s / 2).
    axis: The axis the loss reduces over (the classes; -1: the last).
    ignore_class: A label id whose samples add nothing to the loss (e.g. padding); null: none.
    alpha: The weight of the positive class (binary; with apply_class_balancing) or of every class
        (categorical).
    gamma: The focusing parameter: (1 - p) ** gamma down-weights well-classified samples (0: plain
        crossentropy).
    apply_class_balancing: Whether to weight positive samples by alpha and negative ones by 1 - alpha.
    delta: Where the Huber loss turns from quadratic to linear.
"""
import inspect

from kspec.losses.classes import (BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
                                  CategoricalFocalCrossentropy, CategoricalHinge, CosineSimilarity, Hinge,
                                  Huber, KLDivergence, LogCosh, MeanAbsoluteError,
                                  MeanAbsolutePercentageError, MeanSquaredError,
                                  MeanSquaredLogarithmicError, Poisson, SparseCategoricalCrossentropy,
                                  SquaredHinge)
from kspec.losses.functions import (binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
                                    categorical_focal_crossentropy, categorical_hinge, cosine_similarity,
                                    hinge, huber, kl_divergence, log_cosh, mean_absolute_error,
                                    mean_absolute_percentage_error, mean_squared_error,
                                    mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy,
                                    squared_hinge)
from kspec.losses.loss import (REDUCTIONS, Loss, LossFunctionWrapper, apply_mask, reduce_values,
                               reduce_weighted_values, squeeze_or_expand_to_same_rank)
from kspec.registry import lookup, register
from kspec.serialization import deserialize

__all__ = ["Loss", "LossFunctionWrapper", "get", "resolve_crossentropy", "reduce_weighted_values",
           "reduce_values", "apply_mask", "squeeze_or_expand_to_same_rank", "REDUCTIONS",
           "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
           "MeanSquaredLogarithmicError", "CosineSimilarity", "Huber", "LogCosh", "Hinge", "SquaredHinge",
           "CategoricalHinge", "KLDivergence", "Poisson", "BinaryCrossentropy", "BinaryFocalCrossentropy",
           "CategoricalCrossentropy", "CategoricalFocalCrossentropy", "SparseCategoricalCrossentropy",
           "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
           "mean_squared_logarithmic_error", "cosine_similarity", "huber", "log_cosh", "hinge",
           "squared_hinge", "categorical_hinge", "kl_divergence", "poisson", "binary_crossentropy",
           "binary_focal_crossentropy", "categorical_crossentropy", "categorical_focal_crossentropy",
           "sparse_categorical_crossentropy"]

CROSSENTROPY_NAMES = ("crossentropy", "ce")


def resolve_crossentropy(y_true_shape, y_pred_shape):
    """Keras's compile-time choice for ``loss="crossentropy"``/``"ce"``, by shapes (as for accuracy):
    binary if y_pred has one unit, sparse if the labels have lower rank (or a trailing 1 against several
    units), else categorical. Returns the per-sample function."""
    if y_pred_shape[-1] == 1:
        return binary_crossentropy
    if len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1):
        return sparse_categorical_crossentropy
    return categorical_crossentropy


@register("loss", "ce", name="crossentropy")
class AutoCrossentropy(LossFunctionWrapper):
    """``"crossentropy"``/``"ce"``: binary, sparse or categorical CCE, chosen on the first call from
    the shapes of y_true and y_pred with :func:`resolve_crossentropy`."""

    def __init__(self, reduction="sum_over_batch_size", name="crossentropy", dtype=None):
        super().__init__(None, reduction=reduction, name=name, dtype=dtype)

    def call(self, y_true, y_pred):
        if self.fn is None:
            self.fn = resolve_crossentropy(y_true.shape, y_pred.shape)
        return super().call(y_true, y_pred)

    def get_config(self):
        return Loss.get_config(self)

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def get(identifier):
    """A Loss from a name (functions get their name as the loss name, as Keras's compile does), a
    class name, a Keras config dict, the spec's one-key dict, a Loss, a Loss class or a callable
    ``fn(y_true, y_pred) -> per-sample Tensor``. None gives None; anything else raises ValueError."""
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    name = None
    if isinstance(identifier, str):
        name = identifier
        obj = lookup("loss", identifier)
        if obj is None:
            raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
    elif isinstance(identifier, dict):
        obj = _from_dict(identifier)
    else:
        obj = identifier
    if inspect.isclass(obj) and issubclass(obj, Loss):
        return obj()
    if isinstance(obj, Loss):
        return obj
    if callable(obj) and not inspect.isclass(obj):
        return LossFunctionWrapper(obj, name=name or getattr(obj, "__name__", None))
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")


def _from_dict(identifier):
    if identifier.get("class_name") == "function":  # Keras's form for a loss function
        obj = lookup("loss", str(identifier.get("config")))
        if obj is None:
            raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
        return obj
    return deserialize("loss", identifier)
