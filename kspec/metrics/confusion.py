"""Confusion-matrix metrics (``keras/src/metrics/confusion_metrics.py``): TruePositives & co.,
Precision, Recall, the sensitivity/specificity family and AUC.

Counts are float32 arrays with one entry per threshold (per threshold and label for multi-label AUC).
A prediction is positive when it is strictly above a threshold. Evenly spaced thresholds use Keras's
bucket method (``ceil(p * (n - 1)) - 1``, then a reversed cumulative sum); other thresholds compare every
prediction with every threshold at once. Both are vectorised, and tie with Keras at threshold values.
"""
from kspec import backend
from kspec.losses.loss import squeeze_or_expand_to_same_rank
from kspec.metrics.base import F32, Metric, as_float32, divide_no_nan, register_metric, to_result

NEG_INF = -1e10
CONDITIONS = ("tp", "fp", "tn", "fn")


def parse_thresholds(thresholds, default=0.5):
    """A list of thresholds (user thresholds must lie in [0, 1])."""
    if thresholds is None:
        return [default]
    if isinstance(thresholds, (list, tuple)) or getattr(thresholds, "ndim", 0):
        thresholds = [float(t) if t is not None else t for t in thresholds]
    else:
        thresholds = [thresholds]
    bad = [t for t in thresholds if t is None or t < 0 or t > 1]
    if bad:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
    return thresholds


def evenly_distributed(thresholds):
    """Whether there are >= 3 thresholds equal to ``i / (n - 1)`` (to within eps)."""
    xp = backend.xp
    n = len(thresholds)
    if n < 3:
        return False
    even = xp.arange(n, dtype=F32) / F32(n - 1)
    return bool(xp.allclose(xp.asarray(thresholds, dtype=xp.float64), even, atol=backend.EPSILON))


def filter_top_k(x, k):
    """Keep the k largest values of the last axis (ties: lower index first), others become NEG_INF."""
    xp = backend.xp
    flat = x.reshape(-1, x.shape[-1])
    top = xp.argsort(-flat, axis=-1, kind="stable")[:, :k]
    keep = xp.zeros(flat.shape, dtype=F32)
    keep[xp.arange(flat.shape[0])[:, None], top] = F32(1)
    keep = keep.reshape(x.shape)
    return x * keep + F32(NEG_INF) * (F32(1) - keep)


def update_confusion_matrix(counts, y_true, y_pred, thresholds, top_k=None, class_id=None, sample_weight=None,
                            multi_label=False, label_weights=None, evenly=False):
    """Add this batch's weighted counts into ``counts`` ({"tp"|"fp"|"tn"|"fn": float32 array}) in place.

    y_true, y_pred : (N,) or (N, L); sample_weight : broadcastable to them; thresholds : list of floats.
    """
    xp = backend.xp
    y_true, y_pred = as_float32(y_true), as_float32(y_pred)
    with_eps = evenly and (thresholds[0] < 0.0 or thresholds[-1] > 1.0)
    thresholds = xp.asarray(thresholds, dtype=F32)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = as_float32(sample_weight)[..., None]
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape: {y_pred.shape}")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    weights = None
    if sample_weight is not None:
        weights = xp.broadcast_to(sample_weight, y_pred.shape)
    if label_weights is not None and not multi_label:
        lw = xp.broadcast_to(xp.asarray(label_weights, dtype=F32)[None], y_pred.shape)
        weights = lw if weights is None else weights * lw
    if not multi_label:
        y_true, y_pred = y_true.reshape(-1), y_pred.reshape(-1)
        weights = None if weights is None else weights.reshape(-1)
    positive = y_true != 0
    if evenly:
        _add_bucketed(counts, positive, y_pred, weights, len(thresholds), with_eps)
    else:
        _add_compared(counts, positive, y_pred, weights, thresholds)


def _add_bucketed(counts, positive, y_pred, weights, n, with_eps):
    """Evenly spaced thresholds: bucket each prediction, count per bucket, reverse-cumsum (Keras's
    optimized path; buckets below 0 are dropped unless the thresholds carry the -eps endpoint)."""
    xp = backend.xp
    y_pred = xp.clip(y_pred, F32(0), F32(1))
    labels = positive.astype(F32)
    w = F32(1) if weights is None else weights
    true_w, false_w = labels * w, (F32(1) - labels) * w
    true_w, false_w = xp.broadcast_to(true_w, y_pred.shape), xp.broadcast_to(false_w, y_pred.shape)
    bucket = xp.ceil(y_pred * F32(n - 1)) - F32(1)
    if with_eps:
        bucket = xp.maximum(bucket, F32(0))
    bucket = bucket.astype(xp.int64)
    columns = 1 if y_pred.ndim == 1 else y_pred.shape[1]
    index = bucket * columns + (xp.arange(columns) if y_pred.ndim > 1 else 0)
    # Dropped entries add a zero weight to bucket 0 instead of being masked out: the sums are the same, and a
    # device never reads back the size of a masked selection.
    keep = (bucket >= 0).reshape(-1)
    index = xp.where(keep, index.reshape(-1), 0)

    def cumulative(values):
        per_bucket = xp.bincount(index, weights=xp.where(keep, values.reshape(-1), F32(0)), minlength=n * columns)
        per_bucket = per_bucket.astype(F32).reshape((n, columns) if y_pred.ndim > 1 else (n,))
        return xp.flip(xp.cumsum(xp.flip(per_bucket, axis=0), axis=0, dtype=F32), axis=0)

    tp, fp = cumulative(true_w), cumulative(false_w)
    results = {"tp": tp, "fp": fp}
    if "tn" in counts or "fn" in counts:
        results["tn"] = false_w.sum(axis=0, dtype=F32) - fp
        results["fn"] = true_w.sum(axis=0, dtype=F32) - tp
    for key in counts:
        counts[key] += results[key]


def _add_compared(counts, positive, y_pred, weights, thresholds):
    """Any thresholds: compare every prediction with every threshold at once, (T, ...) booleans."""
    xp = backend.xp
    shape = (-1,) + (1,) * y_pred.ndim
    predicted = y_pred[None] > thresholds.reshape(shape)
    label = positive[None]
    conditions = {"tp": (label, predicted), "fp": (~label, predicted),
                  "tn": (~label, ~predicted), "fn": (label, ~predicted)}
    for key in counts:
        hit = conditions[key][0] & conditions[key][1]
        if weights is None:
            added = hit.sum(axis=1, dtype=F32)
        else:
            added = xp.where(hit, weights[None], F32(0)).sum(axis=1, dtype=F32)
        counts[key] += added


class _ConfusionMetric(Metric):
    """Holds float32 counts for the conditions in ``conditions`` over ``self.thresholds``."""

    conditions = ()

    def _count_shape(self):
        return (len(self.thresholds),)

    def reset_state(self):
        self.counts = {key: backend.zeros(self._count_shape()) for key in self.conditions}

    def _update(self, y_true, y_pred, sample_weight, **kwargs):
        update_confusion_matrix(self.counts, y_true, y_pred, self.thresholds, sample_weight=sample_weight,
                                evenly=self._evenly, **kwargs)

    def _scalar_or_array(self, value):
        return to_result(value[0] if len(self.thresholds) == 1 else value)

    @property
    def true_positives(self):
        return self.counts["tp"]

    @property
    def false_positives(self):
        return self.counts["fp"]

    @property
    def true_negatives(self):
        return self.counts["tn"]

    @property
    def false_negatives(self):
        return self.counts["fn"]


class _ConditionCount(_ConfusionMetric):
    """The weighted count of one condition at each threshold (default 0.5)."""

    def __init__(self, thresholds=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        self.thresholds = parse_thresholds(thresholds, 0.5)
        self._evenly = evenly_distributed(self.thresholds)
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._update(y_true, y_pred, sample_weight)

    def result(self):
        return self._scalar_or_array(self.counts[self.conditions[0]])

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


@register_metric()
class TruePositives(_ConditionCount):
    conditions = ("tp",)


@register_metric()
class FalsePositives(_ConditionCount):
    conditions = ("fp",)


@register_metric()
class TrueNegatives(_ConditionCount):
    conditions = ("tn",)


@register_metric()
class FalseNegatives(_ConditionCount):
    conditions = ("fn",)


class _PrecisionRecall(_ConfusionMetric):
    """``tp / (tp + other)`` accumulated over the epoch; thresholds default to 0.5 (or, with top_k,
    to NEG_INF so the top k predictions count as positive)."""

    other = ""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        self._evenly = evenly_distributed(self.thresholds)
        self.conditions = ("tp", self.other)
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._update(y_true, y_pred, sample_weight, top_k=self.top_k, class_id=self.class_id)

    def result(self):
        tp = self.counts["tp"]
        return self._scalar_or_array(divide_no_nan(tp, tp + self.counts[self.other]))

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


@register_metric()
class Precision(_PrecisionRecall):
    other = "fp"


@register_metric()
class Recall(_PrecisionRecall):
    other = "fn"


class _AtConstraint(_ConfusionMetric):
    """Best ``dependent`` rate among thresholds whose ``constrained`` rate is >= ``value``."""

    conditions = CONDITIONS
    value_name = ""

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        if value < 0 or value > 1:
            raise ValueError(f"Argument `{self.value_name}` must be in the range [0, 1]. "
                             f"Received: {self.value_name}={value}")
        if num_thresholds <= 0:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds}")
        self.value = value
        setattr(self, self.value_name, value)
        self.num_thresholds = num_thresholds
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds, self._evenly = [0.5], False
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds, self._evenly = [0.0] + inner + [1.0], True
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._update(y_true, y_pred, sample_weight, class_id=self.class_id)

    def _rates(self):
        c = self.counts
        return {"recall": divide_no_nan(c["tp"], c["tp"] + c["fn"]),
                "specificity": divide_no_nan(c["tn"], c["tn"] + c["fp"]),
                "precision": divide_no_nan(c["tp"], c["tp"] + c["fp"])}

    def _best(self, constrained, dependent):
        feasible = constrained >= F32(self.value)
        best = backend.xp.max(backend.xp.where(feasible, dependent, F32(0)))  # CuPy's max takes no initial=
        return to_result(backend.xp.maximum(best, F32(0)))

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id, "num_thresholds": self.num_thresholds,
                self.value_name: self.value}


@register_metric()
class SensitivityAtSpecificity(_AtConstraint):
    value_name = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def result(self):
        r = self._rates()
        return self._best(r["specificity"], r["recall"])


@register_metric()
class SpecificityAtSensitivity(_AtConstraint):
    value_name = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def result(self):
        r = self._rates()
        return self._best(r["recall"], r["specificity"])


@register_metric()
class PrecisionAtRecall(_AtConstraint):
    value_name = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def result(self):
        r = self._rates()
        return self._best(r["recall"], r["precision"])


@register_metric()
class RecallAtPrecision(_AtConstraint):
    value_name = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def result(self):
        r = self._rates()
        return self._best(r["precision"], r["recall"])
