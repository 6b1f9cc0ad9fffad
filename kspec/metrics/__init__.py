"""Keras 3 metrics: stateful accumulators over NumPy arrays (no tape), registered by name.

``update_state(y_true, y_pred, sample_weight=None)`` takes arrays; ``result()`` returns a float (an
array for confusion metrics with several thresholds); ``reset_state()`` starts over.
:func:`get` turns compile's metric identifiers into Metric instances, named as Keras names them.

Args:
    name: The metric's name: the key in the logs and history.csv (val_<name> on validation data).
    dtype: The dtype of the computation (default float32).
    thresholds: A threshold, or a list of them, in [0, 1]: predictions above count as positive (default 0.5).
    class_id: Compute the metric for this class only (null: all).
    top_k: Count only the k highest-scored classes of each sample as predicted positive (null: all).
    num_thresholds: The number of thresholds at which the curve is evaluated.
    k: A prediction is correct when the true class is among the k highest scores.
    from_sorted_ids: Whether y_pred already holds class ids sorted by score rather than scores.
    threshold: Predictions above this value count as 1.
    specificity: The specificity at which the sensitivity is computed.
    sensitivity: The sensitivity at which the specificity is computed.
    recall: The recall at which the precision is computed.
    precision: The precision at which the recall is computed.
    curve: ROC (true positive rate against false positive rate) or PR (precision against recall).
    summation_method: How the area is summed: interpolation, minoring (lower bound) or majoring (upper bound).
    multi_label: Whether each label is a separate binary problem (the areas are averaged).
    num_labels: The number of labels, with multi_label.
    label_weights: The labels' weights in the average (null: equal).
    from_logits: Whether y_pred holds logits (raw scores) rather than probabilities.
    label_smoothing: Smooth the labels toward uniform by this amount in [0, 1].
    axis: The axis the metric reduces over (-1: the last).
    ignore_class: A label id whose samples are left out (null: none).
"""
import inspect

from kspec.metrics.accuracy import (Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
                                    SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy, accuracy,
                                    binary_accuracy, categorical_accuracy, in_top_k,
                                    sparse_categorical_accuracy, sparse_top_k_categorical_accuracy,
                                    top_k_categorical_accuracy)
from kspec.metrics.auc import AUC
from kspec.metrics.base import Mean, MeanMetricWrapper, Metric, Sum, reduce_to_samplewise_values
from kspec.metrics.confusion import (FalseNegatives, FalsePositives, Precision, PrecisionAtRecall, Recall,
                                     RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity,
                                     TrueNegatives, TruePositives)
from kspec.metrics.regression import (BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge,
                                      CosineSimilarity, Hinge, KLDivergence, LogCoshError, MeanAbsoluteError,
                                      MeanAbsolutePercentageError, MeanSquaredError,
                                      MeanSquaredLogarithmicError, Poisson, RootMeanSquaredError,
                                      SparseCategoricalCrossentropy, SquaredHinge, loss_metric_fn)
from kspec.registry import lookup
from kspec.user_code import is_reference
from kspec.serialization import deserialize

__all__ = ["Metric", "Mean", "Sum", "MeanMetricWrapper", "get", "resolve_accuracy", "reduce_to_samplewise_values",
           "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
           "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "AUC", "Precision", "Recall",
           "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "PrecisionAtRecall",
           "RecallAtPrecision", "SensitivityAtSpecificity", "SpecificityAtSensitivity", "MeanSquaredError",
           "RootMeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
           "MeanSquaredLogarithmicError", "CosineSimilarity", "LogCoshError", "Hinge", "SquaredHinge",
           "CategoricalHinge", "KLDivergence", "Poisson", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "accuracy", "binary_accuracy", "categorical_accuracy",
           "sparse_categorical_accuracy", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
           "in_top_k", "loss_metric_fn"]

ACCURACY_NAMES = ("accuracy", "acc")


def resolve_accuracy(name, y_true_shape, y_pred_shape):
    """Keras 3's shape rule for "accuracy"/"acc": binary if y_pred has one unit, sparse if the labels
    have lower rank (or a trailing 1 against several units), else categorical. The name is kept."""
    if y_pred_shape[-1] == 1:
        return BinaryAccuracy(name=name)
    if len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1):
        return SparseCategoricalAccuracy(name=name)
    return CategoricalAccuracy(name=name)


class _AutoAccuracy(MeanMetricWrapper):
    """"accuracy" requested before the shapes are known: resolved on the first update."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(None, name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.fn is None:
            resolved = resolve_accuracy(self.name, y_true.shape, y_pred.shape)
            self.fn, self._fn_kwargs = resolved.fn, resolved._fn_kwargs
        return super().update_state(y_true, y_pred, sample_weight)


def get(identifier, y_true_shape=None, y_pred_shape=None):
    """A Metric for a compile identifier. A string names the metric (the history key is the string);
    "accuracy"/"acc" resolve from the label and output shapes (lazily when they are not given); Keras
    configs and spec one-key dicts, Metric classes and instances, and callables ``fn(y_true, y_pred) ->
    per-sample values`` also work. Loss names that Keras does not list as metrics (e.g. "huber", "kld")
    give the mean of that loss."""
    if identifier is None:
        raise ValueError("Expected metric, received `None`")
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier.lower() in ACCURACY_NAMES:
            if y_true_shape is None or y_pred_shape is None:
                return _AutoAccuracy(name=identifier)
            return resolve_accuracy(identifier, y_true_shape, y_pred_shape)
        obj = lookup("metric", identifier)
        if obj is None:
            obj = _loss_function(identifier)
        metric = _instantiate(obj, identifier)
        if not is_reference(identifier):
            metric.name = identifier
        elif not inspect.isclass(obj):  # a user's function (module:name) is named as Keras names functions
            metric.name = getattr(obj, "__name__", identifier)
        return metric
    if isinstance(identifier, dict):
        return _instantiate(deserialize("metric", identifier), identifier)
    return _instantiate(identifier, identifier)


def _loss_function(name):
    obj = lookup("loss", name)
    if obj is None or inspect.isclass(obj):
        raise ValueError(f"Could not interpret metric identifier: {name!r}")
    return loss_metric_fn(obj)


def _instantiate(obj, identifier):
    if inspect.isclass(obj) and issubclass(obj, Metric):
        return obj()
    if isinstance(obj, Metric):
        return obj
    if callable(obj) and not inspect.isclass(obj):
        return MeanMetricWrapper(obj, name=getattr(obj, "__name__", None))
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")
