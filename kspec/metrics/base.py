"""The Metric base and Keras's reduction metrics: Mean, Sum and MeanMetricWrapper.

Metrics are stateful accumulators over plain arrays (no tape). ``update_state(y_true, y_pred,
sample_weight=None)`` takes arrays, ``result()`` returns a Python float (an array for metrics with
several thresholds), ``reset_state()`` starts over. State is float32, as Keras's metric variables are.
"""
from kspec import backend
from kspec.configurable import Configurable
from kspec.engine import Tensor
from kspec.losses.loss import apply_mask, squeeze_or_expand_to_same_rank
from kspec.registry import register, snake_case

F32 = backend.floatx


def register_metric(*aliases):
    """Register a metric class under its class name and Keras's snake_case name (plus aliases)."""
    def deco(cls):
        snake = snake_case(cls.__name__)
        extra = (snake,) if snake != cls.__name__ else ()
        return register("metric", *extra, *aliases)(cls)
    return deco


def as_float32(x):
    """Any array-like (or Tensor) as a float32 array, as Keras converts metric inputs."""
    x = x.data if isinstance(x, Tensor) else x
    return backend.xp.asarray(x, dtype=F32)


def divide_no_nan(a, b):
    """``a / b`` with 0 where ``b == 0`` (no warnings)."""
    xp = backend.xp
    a, b = xp.asarray(a, dtype=F32), xp.asarray(b, dtype=F32)
    nonzero = b != 0
    return xp.where(nonzero, a / xp.where(nonzero, b, F32(1)), F32(0)).astype(F32, copy=False)


def to_result(value):
    """A scalar array becomes a Python float; arrays stay arrays."""
    value = backend.to_numpy(value)
    return float(value) if value.ndim == 0 else value


class Metric(Configurable):
    """Base class: subclasses implement ``reset_state``, ``update_state`` and ``result``. Keras's metric
    configs write ``dtype: float32`` for None and some keys only when set, so ``get_config`` is overridden."""

    registry_kind = "metric"

    def __init__(self, name=None, dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.dtype = dtype
        self.reset_state()

    def reset_state(self):
        raise NotImplementedError

    def update_state(self, *args, **kwargs):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype or "float32"}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, mask=None):
    """Keras's reduction of metric values to one value per sample, weights aligned with them.

    values : (N, ...) float32; sample_weight : None or broadcastable; mask : optional bool (joins the
    weights only when weights are given, as in Keras). Returns (values (N,) or (), weights or None).
    """
    xp = backend.xp
    values = as_float32(values)
    if sample_weight is not None:
        sample_weight = as_float32(sample_weight)
        if mask is not None:
            sample_weight = apply_mask(sample_weight, mask, xp.dtype(F32), "sum")
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        w_ndim, v_ndim = sample_weight.ndim, values.ndim
        if v_ndim > w_ndim:
            values = reduce_fn(values, axis=tuple(range(w_ndim, v_ndim)))
        sample_weight = xp.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if w_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, w_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


def _values_and_mask(values):
    if isinstance(values, Tensor):
        return values.data, values.keras_mask
    return values, None


@register_metric()
class Sum(Metric):
    """Weighted running sum of values."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.total = F32(0)

    def update_state(self, values, sample_weight=None):
        values, mask = _values_and_mask(values)
        values, _ = reduce_to_samplewise_values(values, sample_weight, backend.xp.sum, mask)
        self.total = F32(self.total + values.sum(dtype=F32))

    def result(self):
        return to_result(self.total)


@register_metric()
class Mean(Metric):
    """Weighted running mean of values: ``total / count``; count is the number of samples, or the sum
    of the sample weights."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.total = F32(0)
        self.count = F32(0)

    def update_state(self, values, sample_weight=None):
        values, mask = _values_and_mask(values)
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, backend.xp.mean, mask)
        self.total = F32(self.total + values.sum(dtype=F32))
        if sample_weight is not None:
            num_samples = sample_weight.sum(dtype=F32)
        else:
            num_samples = values.shape[0] if values.ndim >= 1 else 1
        self.count = F32(self.count + F32(num_samples))

    def result(self):
        return to_result(divide_no_nan(self.total, self.count))


class MeanMetricWrapper(Mean):
    """A running mean of ``fn(y_true, y_pred, **kwargs)``: per-sample values (an array, or a Tensor
    whose Keras mask then joins the sample weights)."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self.fn = fn
        self._fn_kwargs = kwargs
        super().__init__(name=name or getattr(fn, "__name__", None), dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = y_pred.data if isinstance(y_pred, Tensor) else y_pred
        y_true = y_true.data if isinstance(y_true, Tensor) else y_true
        return super().update_state(self.fn(y_true, y_pred, **self._fn_kwargs), sample_weight)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}
