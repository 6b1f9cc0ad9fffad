"""Keras metrics: stateful accumulators over NumPy arrays (no tape), registered by name.

``update_state(y_true, y_pred, sample_weight=None)`` takes plain arrays; ``result()`` returns a float.
"""
from kspec import backend
from kspec.registry import lookup, register
from kspec.serialization import deserialize


class Metric:
    registry_kind = "metric"

    def __init__(self, name=None, dtype=None):
        from kspec.registry import snake_case
        self.name = name or snake_case(type(self).__name__)
        self.reset_state()

    def reset_state(self):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Mean(Metric):
    """Weighted running mean of values: ``total / count``."""

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None):
        xp = backend.xp
        values = xp.asarray(values, dtype=backend.floatx)
        if sample_weight is None:
            self.total += float(values.sum(dtype=xp.float64))
            self.count += values.size
        else:
            w = xp.broadcast_to(xp.asarray(sample_weight, dtype=backend.floatx), values.shape)
            self.total += float((values * w).sum(dtype=xp.float64))
            self.count += float(w.sum(dtype=xp.float64))

    def result(self):
        return self.total / self.count if self.count else 0.0


class MeanMetricWrapper(Mean):
    """A running mean of a per-sample function ``fn(y_true, y_pred) -> array``."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self.fn = fn
        self._fn_kwargs = kwargs
        super().__init__(name=name or fn.__name__, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self.fn(y_true, y_pred, **self._fn_kwargs)
        if values.ndim > 1:  # average any extra axes per sample first
            values = values.reshape(values.shape[0], -1).mean(axis=1)
        if sample_weight is not None:
            sample_weight = backend.xp.asarray(sample_weight).reshape(values.shape[0], -1).mean(axis=1)
        super().update_state(values, sample_weight)

    def get_config(self):
        return {"name": self.name, **self._fn_kwargs}


@register("metric")
def categorical_accuracy(y_true, y_pred):
    return (y_true.argmax(-1) == y_pred.argmax(-1)).astype(backend.floatx)


@register("metric")
def sparse_categorical_accuracy(y_true, y_pred):
    y_true = backend.xp.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return (y_true.astype(backend.xp.int64) == y_pred.argmax(-1)).astype(backend.floatx)


@register("metric")
def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true = backend.xp.asarray(y_true)
    if y_true.ndim == y_pred.ndim - 1:
        y_true = y_true[..., None]
    return (y_true == (y_pred > threshold)).astype(backend.floatx).mean(axis=-1)


@register("metric")
class CategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


@register("metric")
class SparseCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


@register("metric")
class BinaryAccuracy(MeanMetricWrapper):
    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)


def resolve_accuracy(name, y_true_shape, y_pred_shape):
    """Keras 3's shape rule for "accuracy"/"acc": binary if the output has one unit, sparse if the labels
    have lower rank (or a trailing 1 against several units), else categorical. The name is kept."""
    if y_pred_shape[-1] == 1:
        return BinaryAccuracy(name=name)
    if len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1):
        return SparseCategoricalAccuracy(name=name)
    return CategoricalAccuracy(name=name)


def get(identifier, y_true_shape=None, y_pred_shape=None):
    """A Metric instance. "accuracy"/"acc" need the label and output shapes to resolve."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier in ("accuracy", "acc"):
            return resolve_accuracy(identifier, y_true_shape, y_pred_shape)
        obj = lookup("metric", identifier)
        if obj is None:
            from kspec import losses
            obj = lookup("loss", identifier)  # Keras accepts loss names as metrics (mse, mae, ...)
            if obj is None or isinstance(obj, type):
                raise ValueError(f"unknown metric {identifier!r}")
            return MeanMetricWrapper(_loss_as_metric(losses.get(identifier)), name=identifier)
        if isinstance(obj, type):
            return obj()
        return MeanMetricWrapper(obj, name=identifier)
    if callable(identifier) and not isinstance(identifier, dict):
        return MeanMetricWrapper(identifier)
    return deserialize("metric", identifier)


def _loss_as_metric(loss):
    from kspec.engine import Tensor, no_grad

    def fn(y_true, y_pred):
        with no_grad():
            return backend.to_numpy(loss.call(y_true, Tensor(y_pred)).data)
    fn.__name__ = loss.name
    return fn
