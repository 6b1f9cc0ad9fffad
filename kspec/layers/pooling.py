"""Pooling layers (channels last): Max/Average pooling 1D/2D and Global Average/Max pooling 1D/2D.

MaxPooling defaults to ``pool_size=2``; AveragePooling has no default (Keras 3). ``strides=None`` means
``pool_size``. Average pooling with 'same' excludes the padded cells from the divisor; max pooling pads
with -inf. Only GlobalAveragePooling1D supports masking (the mean over unmasked steps; the mask is then
dropped).
"""
from kspec import backend
from kspec.engine import ops
from kspec.engine.ops.pooling import pool_output_length
from kspec.layers.base import Layer
from kspec.layers.conv import channels_last_only, standardize_tuple
from kspec.registry import register


class _Pooling(Layer):
    """Shared handling of MaxPooling*/AveragePooling* (``rank`` spatial axes, ``mode`` 'max'/'average').

    Args:
        pool_size: The size of the pooling window: an int for every axis, or one per axis.
        strides: The window's step (null: pool_size, windows that do not overlap).
    """

    rank = 2
    mode = "max"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = standardize_tuple(pool_size, self.rank, "pool_size")
        self.strides = standardize_tuple(pool_size if strides is None else strides, self.rank, "strides")
        padding_value = str(padding).lower()
        if padding_value not in ("valid", "same"):
            raise ValueError(f"Invalid padding '{padding}', must be 'same' or 'valid'.")
        self.padding = padding_value
        self.data_format = channels_last_only(data_format, type(self).__name__)

    def _check_rank(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} expects inputs of rank {self.rank + 2}. "
                             f"Received: input_shape={tuple(input_shape)}")

    def build(self, input_shape):
        self._check_rank(input_shape)

    def call(self, inputs, training=False):
        if self.rank == 1:
            fn = ops.max_pool1d if self.mode == "max" else ops.average_pool1d
        else:
            fn = ops.max_pool2d if self.mode == "max" else ops.average_pool2d
        return fn(inputs, self.pool_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        spatial = tuple(pool_output_length(n, p, s, self.padding)
                        for n, p, s in zip(input_shape[1:-1], self.pool_size, self.strides))
        if any(n is not None and n <= 0 for n in spatial):
            raise ValueError(f"{type(self).__name__}: the input {tuple(input_shape)} is smaller than "
                             f"pool_size={self.pool_size}; the output would be empty")
        return (input_shape[0],) + spatial + (input_shape[-1],)


@register("layer", "MaxPool1D")
class MaxPooling1D(_Pooling):
    """Max over windows of ``pool_size`` steps: (batch, steps, features) -> (batch, new_steps, features)."""

    rank, mode = 1, "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


@register("layer", "MaxPool2D")
class MaxPooling2D(_Pooling):
    """Max over ``pool_size`` windows: (batch, rows, cols, channels) -> (batch, new_rows, new_cols, channels)."""

    rank, mode = 2, "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


@register("layer", "AvgPool1D")
class AveragePooling1D(_Pooling):
    """Mean over windows of ``pool_size`` steps (required): (batch, steps, features) -> (batch, new_steps,
    features)."""

    rank, mode = 1, "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


@register("layer", "AvgPool2D")
class AveragePooling2D(_Pooling):
    """Mean over ``pool_size`` windows (required): (batch, rows, cols, channels) -> (batch, new_rows,
    new_cols, channels)."""

    rank, mode = 2, "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class _GlobalPooling(Layer):
    """Mean or max over all spatial axes: (batch, ..., channels) -> (batch, channels), or
    (batch, 1, ..., 1, channels) with ``keepdims``.

    Args:
        keepdims: Whether to keep the pooled axes, with size 1.
    """

    rank = 2
    mode = "average"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = channels_last_only(data_format, type(self).__name__)
        self.keepdims = keepdims

    def build(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} expects inputs of rank {self.rank + 2}. "
                             f"Received: input_shape={tuple(input_shape)}")

    def call(self, inputs, training=False):
        axes = tuple(range(1, self.rank + 1))
        if self.mode == "max":
            return ops.max(inputs, axis=axes, keepdims=self.keepdims)
        return ops.mean(inputs, axis=axes, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0],) + (1,) * self.rank + (input_shape[-1],)
        return (input_shape[0], input_shape[-1])


@register("layer", "GlobalAvgPool1D")
class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over steps: (batch, steps, features) -> (batch, features). With a mask (batch, steps), the mean
    over the unmasked steps; the output carries no mask."""

    rank, mode = 1, "average"
    supports_masking = True

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)

    def call(self, inputs, training=False, mask=None):
        if mask is None:
            return super().call(inputs, training)
        xp = backend.xp
        weights = xp.asarray(mask, dtype=inputs.dtype)[:, :, None]
        total = ops.sum(ops.multiply(inputs, weights), axis=1, keepdims=self.keepdims)
        count = weights.sum(axis=1, keepdims=self.keepdims)
        return ops.divide(total, count)

    def compute_mask(self, inputs, mask=None):
        return None


@register("layer", "GlobalAvgPool2D")
class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over rows and cols: (batch, rows, cols, channels) -> (batch, channels)."""

    rank, mode = 2, "average"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)


@register("layer", "GlobalMaxPool1D")
class GlobalMaxPooling1D(_GlobalPooling):
    """Max over steps: (batch, steps, features) -> (batch, features). No masking."""

    rank, mode = 1, "max"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)


@register("layer", "GlobalMaxPool2D")
class GlobalMaxPooling2D(_GlobalPooling):
    """Max over rows and cols: (batch, rows, cols, channels) -> (batch, channels)."""

    rank, mode = 2, "max"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)
