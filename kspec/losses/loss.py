"""The Loss base: Keras 3's rank adjustment, masks, sample weights and reductions
(``keras/src/losses/loss.py``), and :class:`LossFunctionWrapper`.
"""
from kspec import backend
from kspec.backend import comm
from kspec.configurable import Configurable
from kspec.engine import Tensor, as_tensor, ops
from kspec.registry import lookup, snake_case

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`. Expected one of {REDUCTIONS}. "
                         f"Received: reduction={reduction!r}")
    return reduction


def _reshape(x, shape):
    """Reshape an array or a Tensor; a Tensor keeps its softmax/sigmoid logits reshaped alongside."""
    if not isinstance(x, Tensor):
        return x.reshape(shape)
    out = ops.reshape(x, shape)
    if x.logits is not None:
        out.logits = ops.reshape(x.logits, shape)
    out.keras_mask = x.keras_mask
    return out


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras's rule: if the ranks differ by one and the larger has a trailing 1, squeeze it, or, when
    the smaller has rank 1 (and ``expand_rank_1``), expand the smaller instead. Arrays or Tensors."""
    r1, r2 = len(x1.shape), len(x2.shape)
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = _reshape(x2, tuple(x2.shape) + (1,))
        else:
            x1 = _reshape(x1, x1.shape[:-1])
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = _reshape(x1, tuple(x1.shape) + (1,))
        else:
            x2 = _reshape(x2, x2.shape[:-1])
    return x1, x2


def _as_labels(y_true, dtype):
    """Labels as an array of the loss dtype (Keras converts ``y_true`` to the loss dtype)."""
    y_true = y_true.data if isinstance(y_true, Tensor) else y_true
    return backend.xp.asarray(y_true, dtype=dtype)


def _align(a, b):
    """``a`` and ``b`` ready to multiply: NumPy's trailing alignment when they broadcast (as Keras), else
    the lower-rank one gets trailing unit axes, so per-sample weights apply to every step of a sequence
    (where Keras raises)."""
    try:
        backend.host.broadcast_shapes(tuple(a.shape), tuple(b.shape))  # shape arithmetic, on the host
        return a, b
    except ValueError:
        while a.ndim < b.ndim:
            a = _reshape(a, tuple(a.shape) + (1,))
        while b.ndim < a.ndim:
            b = _reshape(b, tuple(b.shape) + (1,))
        return a, b


def apply_mask(sample_weight, mask, dtype, reduction):
    """Merge a boolean mask into the sample weights. Under the mean reductions each valid entry weighs
    ``total / valid`` so the mean runs over valid entries only."""
    if mask is None:
        return sample_weight
    xp = backend.xp
    mask = xp.asarray(mask).astype(bool)
    if reduction in ("mean", "sum_over_batch_size"):
        if comm.current() is None:
            # No branch on the count (a device round trip): with nothing valid the mask zeroes every entry.
            valid = mask.sum().astype(dtype)
            scale = dtype.type(mask.size) / xp.maximum(valid, dtype.type(1))
        else:  # data-parallel (CPU): the global batch's counts
            size, valid = comm.global_counts(mask.size, mask.sum())
            scale = dtype.type(size) / dtype.type(valid) if valid else dtype.type(0)
        float_mask = xp.where(mask, scale, dtype.type(0)).astype(dtype)
    else:
        float_mask = mask.astype(dtype)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = _align(*squeeze_or_expand_to_same_rank(float_mask, sample_weight))
    return sample_weight * float_mask


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Sum, then divide by the element count (or by ``sum(sample_weight)`` for mean_with_sample_weight);
    a zero divisor gives 0 (divide_no_nan)."""
    if reduction in (None, "none") or values.shape == () or (values.shape == (0,) and comm.current() is None):
        return values
    total = ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = sample_weight.sum(dtype=values.dtype)
        if backend.xp is not backend.host:  # divide_no_nan without reading the divisor back
            nonzero = divisor != 0
            quotient = ops.divide(total, Tensor(backend.xp.where(nonzero, divisor, values.dtype.type(1))))
            return ops.where(Tensor(nonzero), quotient, 0.0)
    else:
        divisor = values.dtype.type(values.size)
    if comm.current() is not None:  # data-parallel: the divisor of the global batch
        divisor = values.dtype.type(comm.global_counts(divisor)[0])
    if divisor == 0:
        return ops.where(backend.xp.asarray(False), total, 0.0)
    return ops.divide(total, Tensor(backend.xp.asarray(divisor, dtype=values.dtype)))


def reduce_weighted_values(values, sample_weight=None, mask=None, reduction="sum_over_batch_size",
                           dtype=None):
    """Keras's ``reduce_weighted_values``: the mask joins the weights, the weights (rank-adjusted)
    multiply the per-sample values, then :func:`reduce_values`.

    values : Tensor (...) per-sample losses; sample_weight, mask : arrays broadcastable to it.
    """
    reduction = standardize_reduction(reduction)
    values = as_tensor(values)
    dt = values.dtype if dtype is None else backend.xp.dtype(dtype)
    if values.dtype != dt:
        values = ops.cast(values, dt)
    if sample_weight is not None:
        sample_weight = _as_labels(sample_weight, dt)
    sample_weight = apply_mask(sample_weight, mask, dt, reduction)
    if sample_weight is not None:
        values, sample_weight = _align(*squeeze_or_expand_to_same_rank(values, sample_weight))
        values = ops.multiply(values, Tensor(sample_weight))
    return reduce_values(values, sample_weight, reduction)


class Loss(Configurable):
    """Base class: subclasses implement ``call(y_true, y_pred) -> per-sample Tensor``. Keras's loss
    configs start with name and reduction, drop dtype and list the function's arguments in their own
    order, so ``get_config`` keeps its override.

    ``__call__`` reads the Keras mask of ``y_pred`` (and of the per-sample values, e.g. ignore_class),
    converts the labels to the prediction dtype and reduces with :func:`reduce_weighted_values`.
    """

    registry_kind = "loss"

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self.dtype = dtype

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        in_mask = getattr(y_pred, "keras_mask", None)
        y_pred = as_tensor(y_pred)
        y_true = _as_labels(y_true, y_pred.dtype)
        values = as_tensor(self.call(y_true, y_pred))
        out_mask = values.keras_mask
        if in_mask is not None and out_mask is not None:
            mask = backend.xp.logical_and(in_mask, out_mask)
        else:
            mask = out_mask if in_mask is None else in_mask
        return reduce_weighted_values(values, sample_weight, mask, self.reduction)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}


class LossFunctionWrapper(Loss):
    """A Loss around a per-sample function ``fn(y_true, y_pred, **kwargs) -> Tensor (...)``; the
    ranks of y_true and y_pred are first adjusted with :func:`squeeze_or_expand_to_same_rank`."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {**super().get_config(), "fn": getattr(self.fn, "__name__", None), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        fn = config.pop("fn", None)
        if isinstance(fn, dict):  # Keras serializes a function as {"class_name": "function", "config": name}
            fn = fn.get("config")
        if isinstance(fn, str):
            fn = lookup("loss", fn)
        if not callable(fn) or isinstance(fn, type):
            raise ValueError(f"cannot rebuild a LossFunctionWrapper from fn={config.get('fn')!r}")
        return cls(fn, **config)

    def __repr__(self):
        return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, kwargs={self._fn_kwargs})>"
