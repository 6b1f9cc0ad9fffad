"""AUC (``keras/src/metrics/confusion_metrics.py``): the area under the ROC or PR curve, from confusion
counts at ``num_thresholds`` thresholds accumulated over the epoch."""
from kspec import backend
from kspec.metrics.base import F32, Metric, as_float32, divide_no_nan, register_metric, to_result
from kspec.metrics.confusion import CONDITIONS, evenly_distributed, update_confusion_matrix

CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
SUMMATIONS = ("interpolation", "majoring", "minoring")


def _curve(value):
    key = str(getattr(value, "value", value))
    if key not in ("ROC", "roc", "PR", "pr", "PRGAIN", "prgain"):
        raise ValueError(f'Invalid AUC curve value: "{key}". Expected values are ["PR", "ROC", "PRGAIN"]')
    return CURVES[key.lower()]


def _summation(value):
    key = str(getattr(value, "value", value))
    if key.lower() not in SUMMATIONS or key not in (key.lower(), key.capitalize()):
        raise ValueError(f'Invalid AUC summation method value: "{key}". '
                         f'Expected values are ["interpolation", "majoring", "minoring"]')
    return key.lower()


@register_metric()
class AUC(Metric):
    """Area under the ROC (default) or PR curve.

    Thresholds are ``[-eps] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1 + eps]`` (or the given
    ``thresholds`` between the two endpoints). ROC sums ``(fpr_i - fpr_i+1) * height``; the height is
    the trapezoid mean (interpolation) or the min/max of the two tpr values. PR with interpolation uses
    Davis & Goadrich's interpolation. ``multi_label`` keeps one curve per label (y_pred (N, L)) and
    averages the AUCs (weighted by ``label_weights``); otherwise labels are flattened together and
    ``label_weights`` weigh the counts. ``from_logits`` applies a sigmoid first.
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None,
                 dtype=None, thresholds=None, multi_label=False, num_labels=None, label_weights=None,
                 from_logits=False):
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            self.num_thresholds = len(thresholds) + 2
            thresholds = sorted(thresholds)
            self._evenly = evenly_distributed([0.0] + thresholds + [1.0])
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self._thresholds = [0.0 - backend.EPSILON] + list(thresholds) + [1.0 + backend.EPSILON]
        self.curve = _curve(curve)
        self.summation_method = _summation(summation_method)
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else backend.asarray(label_weights)
        self._from_logits = from_logits
        if not multi_label and num_labels:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        self._num_labels = num_labels if multi_label else None
        super().__init__(name=name, dtype=dtype)

    @property
    def thresholds(self):
        return list(self._thresholds)

    def reset_state(self):
        if self.multi_label and self._num_labels is None:
            self.counts = None  # built on the first batch, when the number of labels is known
            return
        shape = (self.num_thresholds,) if not self.multi_label else (self.num_thresholds, self._num_labels)
        self.counts = {key: backend.zeros(shape) for key in CONDITIONS}

    def update_state(self, y_true, y_pred, sample_weight=None):
        xp = backend.xp
        y_pred = as_float32(y_pred)
        if self.counts is None:
            if y_pred.ndim != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found rank {y_pred.ndim}. "
                                 f"Full shape received for `y_pred`: {y_pred.shape}")
            self._num_labels = y_pred.shape[1]
            self.reset_state()
        if self._from_logits:
            y_pred = xp.exp(-xp.logaddexp(F32(0), -y_pred)).astype(F32)
        update_confusion_matrix(self.counts, y_true, y_pred, self._thresholds, sample_weight=sample_weight,
                                multi_label=self.multi_label,
                                label_weights=None if self.multi_label else self.label_weights,
                                evenly=self._evenly)

    def _average(self, per_threshold):
        """Sum the curve's pieces; multi-label: average the per-label AUCs (weighted by label_weights)."""
        xp = backend.xp
        if not self.multi_label:
            return to_result(per_threshold.sum(dtype=F32))
        by_label = per_threshold.sum(axis=0, dtype=F32)
        if self.label_weights is None:
            return to_result(by_label.mean(dtype=F32))
        return to_result(divide_no_nan((by_label * self.label_weights).sum(dtype=F32),
                                       xp.sum(self.label_weights, dtype=F32)))

    def interpolate_pr_auc(self):
        """Davis & Goadrich's PR-AUC: precision interpolated between thresholds."""
        xp = backend.xp
        tp, fp, fn = self.counts["tp"], self.counts["fp"], self.counts["fn"]
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, xp.maximum(dp, F32(0)))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = xp.where(both, divide_no_nan(p[:-1], xp.maximum(p[1:], F32(0))), F32(1))
        increment = divide_no_nan(slope * (dtp + intercept * xp.log(ratio)), xp.maximum(tp[1:] + fn[1:], F32(0)))
        return self._average(increment)

    def result(self):
        xp = backend.xp
        if self.counts is None:
            return 0.0
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc()
        tp, fp, tn, fn = (self.counts[k] for k in CONDITIONS)
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:  # PRGAIN
            scale = divide_no_nan(tp + fn, tn + fp)
            recall_gain = F32(1) - scale * divide_no_nan(fn, tp)
            precision_gain = F32(1) - scale * divide_no_nan(fp, tp)
            recall_gain = xp.maximum(xp.where(tp == 0, F32(0), recall_gain), F32(0))
            x, y = recall_gain, xp.where(tp == 0, F32(1), precision_gain)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / F32(2)
        elif self.summation_method == "minoring":
            heights = xp.minimum(y[:-1], y[1:])
        else:
            heights = xp.maximum(y[:-1], y[1:])
        return self._average((x[:-1] - x[1:]) * heights)

    def get_config(self):
        config = {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
