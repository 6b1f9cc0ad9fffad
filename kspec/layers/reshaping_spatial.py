"""Spatial reshaping layers (channels last): ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D.

None of them supports masking.

Args:
    padding: How many zeros are added at the start and end of each spatial axis: an int, a pair (start, end),
        or for 2D a pair of pairs ((top, bottom), (left, right)).
    cropping: How many entries are cut at the start and end of each spatial axis: an int, a pair, or for 2D a
        pair of pairs.
    size: The repeat factor along each spatial axis.
    interpolation: nearest (repeat values) or bilinear.
"""
from kspec import backend
from kspec.engine import ops
from kspec.layers.base import Layer
from kspec.layers.conv import channels_last_only, standardize_tuple
from kspec.registry import register


def _pairs_2d(value, name):
    """int -> ((v, v), (v, v)); (a, b) -> ((a, a), (b, b)); ((t, b), (l, r)) as is."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"`{name}` cannot be negative. Received: {name}={value}.")
        return ((value, value), (value, value))
    if hasattr(value, "__len__"):
        if len(value) != 2:
            raise ValueError(f"`{name}` should have two elements. Received: {name}={value}.")
        return (standardize_tuple(value[0], 2, f"1st entry of {name}", allow_zero=True),
                standardize_tuple(value[1], 2, f"2nd entry of {name}", allow_zero=True))
    raise ValueError(f"`{name}` should be either an int, a tuple of 2 ints, or a tuple of 2 tuples of 2 ints. "
                     f"Received: {name}={value}.")


def _check_rank(layer, input_shape, rank):
    if len(input_shape) != rank:
        raise ValueError(f"{type(layer).__name__} expects inputs of rank {rank}. "
                         f"Received: input_shape={tuple(input_shape)}")


@register("layer")
class ZeroPadding1D(Layer):
    """Pads the steps axis with zeros: (batch, steps, features) -> (batch, steps + left + right, features).
    ``padding``: an int or a (left, right) pair."""

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = channels_last_only(data_format, "ZeroPadding1D")
        self.padding = standardize_tuple(padding, 2, "padding", allow_zero=True)

    def build(self, input_shape):
        _check_rank(self, input_shape, 3)

    def call(self, inputs, training=False):
        return ops.pad(inputs, [(0, 0), self.padding, (0, 0)])

    def compute_output_shape(self, input_shape):
        steps = None if input_shape[1] is None else input_shape[1] + sum(self.padding)
        return (input_shape[0], steps, input_shape[2])


@register("layer")
class ZeroPadding2D(Layer):
    """Pads rows and cols with zeros: (batch, rows, cols, channels) -> (batch, rows + top + bottom,
    cols + left + right, channels). ``padding``: an int, (rows, cols), or ((top, bottom), (left, right))."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = channels_last_only(data_format, "ZeroPadding2D")
        self.padding = _pairs_2d(padding, "padding")

    def build(self, input_shape):
        _check_rank(self, input_shape, 4)

    def call(self, inputs, training=False):
        return ops.pad(inputs, [(0, 0), self.padding[0], self.padding[1], (0, 0)])

    def compute_output_shape(self, input_shape):
        dims = [None if n is None else n + sum(p) for n, p in zip(input_shape[1:3], self.padding)]
        return (input_shape[0], *dims, input_shape[3])


@register("layer")
class Cropping1D(Layer):
    """Crops the steps axis: (batch, steps, features) -> (batch, steps - start - end, features)."""

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = standardize_tuple(cropping, 2, "cropping", allow_zero=True)

    def build(self, input_shape):
        _check_rank(self, input_shape, 3)

    def call(self, inputs, training=False):
        start, end = self.cropping
        self.compute_output_shape(inputs.shape)
        return ops.getitem(inputs, (slice(None), slice(start, inputs.shape[1] - end)))

    def compute_output_shape(self, input_shape):
        length = None
        if input_shape[1] is not None:
            length = input_shape[1] - sum(self.cropping)
            if length <= 0:
                raise ValueError("`cropping` parameter of `Cropping1D` layer must be smaller than the input "
                                 f"length. Received: input_shape={tuple(input_shape)}, cropping={self.cropping}")
        return (input_shape[0], length, input_shape[2])


@register("layer")
class Cropping2D(Layer):
    """Crops rows and cols: (batch, rows, cols, channels) -> (batch, rows - top - bottom,
    cols - left - right, channels). ``cropping``: an int, (rows, cols), or ((top, bottom), (left, right))."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = channels_last_only(data_format, "Cropping2D")
        self.cropping = _pairs_2d(cropping, "cropping")

    def build(self, input_shape):
        _check_rank(self, input_shape, 4)

    def call(self, inputs, training=False):
        self.compute_output_shape(inputs.shape)
        (top, bottom), (left, right) = self.cropping
        h, w = inputs.shape[1], inputs.shape[2]
        return ops.getitem(inputs, (slice(None), slice(top, h - bottom), slice(left, w - right)))

    def compute_output_shape(self, input_shape):
        dims = []
        for n, crop in zip(input_shape[1:3], self.cropping):
            if n is not None and sum(crop) >= n:
                raise ValueError("Values in `cropping` argument should be smaller than the corresponding spatial "
                                 f"dimension of the input. Received: input_shape={tuple(input_shape)}, "
                                 f"cropping={self.cropping}")
            dims.append(None if n is None else n - sum(crop))
        return (input_shape[0], *dims, input_shape[3])


@register("layer")
class UpSampling1D(Layer):
    """Repeats each step ``size`` times: (batch, steps, features) -> (batch, steps * size, features)."""

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(f"Expected an integer value for `size`, got {type(size)}.")
        if size <= 0:
            raise ValueError(f"Argument `size` should be a positive integer. Received: size={size}")
        self.size = size

    def build(self, input_shape):
        _check_rank(self, input_shape, 3)

    def call(self, inputs, training=False):
        return ops.repeat(inputs, self.size, axis=1)

    def compute_output_shape(self, input_shape):
        steps = None if input_shape[1] is None else input_shape[1] * self.size
        return (input_shape[0], steps, input_shape[2])


@register("layer")
class UpSampling2D(Layer):
    """Upsamples rows and cols by ``size``: (batch, rows, cols, channels) -> (batch, rows * size[0],
    cols * size[1], channels). ``interpolation``: 'nearest' (repeat) or 'bilinear' (half-pixel centers,
    edges clamped, as jax.image.resize)."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.data_format = channels_last_only(data_format, "UpSampling2D")
        self.size = standardize_tuple(size, 2, "size")
        self.interpolation = str(interpolation).lower()
        if self.interpolation not in ("nearest", "bilinear"):
            raise ValueError("UpSampling2D: kspec supports interpolation 'nearest' and 'bilinear'. "
                             f"Received: interpolation={interpolation!r}")

    def build(self, input_shape):
        _check_rank(self, input_shape, 4)

    def call(self, inputs, training=False):
        if self.interpolation == "nearest":
            return ops.repeat(ops.repeat(inputs, self.size[0], axis=1), self.size[1], axis=2)
        n, h, w, c = inputs.shape
        rows = _linear_weights(h, h * self.size[0], inputs.dtype)       # (H*s, H)
        cols = _linear_weights(w, w * self.size[1], inputs.dtype)       # (W*s, W)
        x = ops.transpose(inputs, (0, 3, 1, 2))                          # (N, C, H, W)
        x = ops.matmul(ops.matmul(rows, x), cols.T)                      # (N, C, H*s, W*s)
        return ops.transpose(x, (0, 2, 3, 1))

    def compute_output_shape(self, input_shape):
        dims = [None if n is None else n * s for n, s in zip(input_shape[1:3], self.size)]
        return (input_shape[0], *dims, input_shape[3])


def _linear_weights(n_in, n_out, dtype):
    """(n_out, n_in) linear-interpolation matrix with half-pixel centers, clamped at the edges."""
    xp = backend.xp
    scale = n_in / n_out
    centers = (xp.arange(n_out, dtype=xp.float64) + 0.5) * scale - 0.5
    centers = xp.clip(centers, 0, n_in - 1)
    low = xp.floor(centers).astype(int)
    high = xp.minimum(low + 1, n_in - 1)
    frac = centers - low
    weights = xp.zeros((n_out, n_in), dtype=xp.float64)
    weights[xp.arange(n_out), low] += 1 - frac
    weights[xp.arange(n_out), high] += frac
    return weights.astype(dtype)
