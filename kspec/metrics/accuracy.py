"""Accuracy metrics (``keras/src/metrics/accuracy_metrics.py``), vectorised over NumPy arrays.

Each function returns float32 matches per sample (or per element, averaged per sample by Mean).
"""
from kspec import backend
from kspec.losses.loss import squeeze_or_expand_to_same_rank
from kspec.metrics.base import F32, MeanMetricWrapper, as_float32, register_metric


def accuracy(y_true, y_pred):
    """``y_true == y_pred`` elementwise (exact match)."""
    y_pred = as_float32(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(as_float32(y_true), y_pred)
    return (y_true == y_pred).astype(F32)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """``y_true == (y_pred > threshold)`` elementwise; the threshold is compared in float32."""
    xp = backend.xp
    y_pred = as_float32(y_pred)
    y_true = xp.asarray(y_true)
    if y_true.dtype.kind == "f" and y_true.dtype != F32:
        y_true = y_true.astype(F32)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    predicted = (y_pred > F32(threshold)).astype(y_true.dtype)
    return (y_true == predicted).astype(F32)


def categorical_accuracy(y_true, y_pred):
    """``argmax(y_true) == argmax(y_pred)`` over the last axis."""
    xp = backend.xp
    return (xp.argmax(xp.asarray(y_true), axis=-1) == xp.argmax(as_float32(y_pred), axis=-1)).astype(F32)


def sparse_categorical_accuracy(y_true, y_pred):
    """``y_true == argmax(y_pred)`` (compared as floats); a trailing label dim of 1 is squeezed."""
    xp = backend.xp
    y_pred = as_float32(y_pred)
    y_true = as_float32(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return (y_true == xp.argmax(y_pred, axis=-1).astype(F32)).astype(F32)


def in_top_k(targets, predictions, k):
    """JAX's rule: the target is in the top k when fewer than k predictions are strictly greater than
    its own (ties favour the target). Negative ids count from the end; out-of-range ids are never in
    the top k (unless k exceeds the number of classes). targets : (N,), predictions : (N, K) -> (N,)"""
    xp = backend.xp
    num_classes = predictions.shape[-1]
    ids = xp.asarray(targets).astype(xp.int64)
    ids = xp.where(ids < 0, ids + num_classes, ids)
    valid = (ids >= 0) & (ids < num_classes)
    at_label = xp.take_along_axis(predictions, xp.where(valid, ids, 0)[:, None], axis=-1)
    at_label = xp.where(valid[:, None] & ~xp.isnan(at_label), at_label, -xp.inf)
    rank = 1 + (predictions > at_label).sum(axis=-1)
    return rank <= k


def _top_k_matches(ids, y_pred, k):
    """Flatten to (samples, classes), test in_top_k, and give the matches the label shape back."""
    y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    return in_top_k(ids.reshape(-1), y_pred, k).astype(F32).reshape(ids.shape)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Whether ``argmax(y_true)`` is among the k largest predictions (JAX tie rule)."""
    y_pred = as_float32(y_pred)
    return _top_k_matches(backend.xp.argmax(as_float32(y_true), axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """Whether the id ``y_true`` is among the k largest predictions; with ``from_sorted_ids`` y_pred
    holds class ids sorted by score and the first k are searched."""
    xp = backend.xp
    y_pred = as_float32(y_pred)
    if from_sorted_ids:
        ids = as_float32(y_true)
        flat = y_pred.reshape(-1, y_pred.shape[-1])
        matches = (ids.reshape(-1, 1) == flat[:, :k]).any(axis=1)
        return matches.astype(F32).reshape(ids.shape)
    ids = xp.asarray(y_true)
    ids = ids.astype(F32).astype(xp.int32) if ids.dtype.kind == "f" else ids
    return _top_k_matches(ids, y_pred, k)


@register_metric()
class Accuracy(MeanMetricWrapper):
    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


@register_metric()
class BinaryAccuracy(MeanMetricWrapper):
    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


@register_metric()
class CategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


@register_metric()
class SparseCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


@register_metric()
class TopKCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


@register_metric()
class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype or "float32", "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
