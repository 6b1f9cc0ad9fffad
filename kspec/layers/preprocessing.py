"""Deterministic preprocessing layers (Keras 3): Rescaling, Resizing, CenterCrop and Normalization.

They sit inside the model, so a saved model takes raw inputs. Image layers take channels-last batches
(batch, height, width, channels). Normalization keeps its statistics as non-trainable weights (``mean``,
``variance`` and Keras's unused ``count``) unless ``mean``/``variance`` are given; :meth:`Normalization.adapt`
computes them from data (a kspec spec adapts it on the training split before fit).
"""
import numpy as np

from kspec import backend
from kspec.engine import as_tensor, ops
from kspec.engine.ops import image
from kspec.layers.base import Layer
from kspec.layers.conv import channels_last_only
from kspec.registry import register


def as_float(x):
    """Integer (e.g. uint8 image) inputs as float32; float inputs as they are (float64 in gradient checks)."""
    x = as_tensor(x)
    return x if x.dtype.kind == "f" else ops.cast(x, backend.floatx)


def check_image_rank(layer, input_shape):
    if len(input_shape) != 4:
        raise ValueError(f"{type(layer).__name__} expects batches of images of rank 4 (batch, height, width, "
                         f"channels). Received: input_shape={tuple(input_shape)}")


def center_crop(x, top, left, height, width):
    """``x[:, top:top + height, left:left + width, :]`` (with its gradient)."""
    return ops.getitem(x, (slice(None), slice(top, top + height), slice(left, left + width), slice(None)))


def smart_resize(x, height, width, interpolation="bilinear"):
    """Keras's ``smart_resize``: crop the centred box of the target aspect ratio, then resize."""
    top, left, crop_h, crop_w = image.crop_box(x.shape[1], x.shape[2], height, width)
    return image.resize(center_crop(x, top, left, crop_h, crop_w), height, width, interpolation)


@register("layer")
class Rescaling(Layer):
    """``inputs * scale + offset`` (e.g. ``scale=1/255`` maps [0, 255] to [0, 1]). Any input shape; a list
    ``scale`` or ``offset`` broadcasts over the last axis.

    Args:
        scale: The factor the inputs are multiplied by (a number, or one per channel).
        offset: The value added after scaling (a number, or one per channel).
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset

    def call(self, inputs, training=False):
        scale = backend.asarray(self.scale)
        offset = backend.asarray(self.offset)
        return ops.add(ops.multiply(as_float(inputs), scale), offset)

    def compute_output_shape(self, input_shape):
        return input_shape


@register("layer")
class Resizing(Layer):
    """Resizes images to (height, width) with jax.image.resize's numerics (Keras on JAX).

    ``interpolation``: bilinear, nearest, bicubic, lanczos3 or lanczos5; ``antialias`` widens the kernel
    when downsampling. ``crop_to_aspect_ratio`` first crops the centred box of the target's aspect ratio;
    ``pad_to_aspect_ratio`` first pads both sides with ``fill_value`` (Keras pads the same amount on each
    side). (batch, H, W, C) -> (batch, height, width, C).

    Args:
        height: The height of the output images.
        width: The width of the output images.
        interpolation: How pixels are resampled: bilinear, nearest, bicubic, lanczos3 or lanczos5.
        crop_to_aspect_ratio: Crop the centred box of the target's aspect ratio before resizing.
        pad_to_aspect_ratio: Pad both sides with fill_value to the target's aspect ratio before resizing.
        fill_mode: How padding is filled; only "constant" (with fill_value).
        fill_value: The value padding takes with pad_to_aspect_ratio.
        antialias: Widen the kernel when downsampling (an anti-aliasing filter).
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, antialias=False,
                 data_format=None, **kwargs):
        super().__init__(**kwargs)
        if interpolation not in image.RESIZE_METHODS:
            raise ValueError(f"Invalid value for argument `interpolation`. Expected of one {image.RESIZE_METHODS}. "
                             f"Received: interpolation={interpolation}")
        if fill_mode != "constant":
            raise ValueError("Invalid value for argument `fill_mode`. Only `'constant'` is supported. "
                             f"Received: fill_mode={fill_mode}")
        if pad_to_aspect_ratio and crop_to_aspect_ratio:
            raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`.")
        _check_size(height, width)
        self.height, self.width = height, width
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = antialias
        self.data_format = channels_last_only(data_format, "Resizing")

    def build(self, input_shape):
        check_image_rank(self, input_shape)

    def call(self, inputs, training=False):
        x = as_float(inputs)
        h, w = x.shape[1], x.shape[2]
        if self.crop_to_aspect_ratio:
            top, left, crop_h, crop_w = image.crop_box(h, w, self.height, self.width)
            x = center_crop(x, top, left, crop_h, crop_w)
        elif self.pad_to_aspect_ratio:
            pad_h = max(h, int(float(w * self.height) / self.width))
            pad_w = max(w, int(float(h * self.width) / self.height))
            top, left = int(float(pad_h - h) / 2), int(float(pad_w - w) / 2)
            if top > 0:
                x = ops.pad(x, [(0, 0), (top, top), (0, 0), (0, 0)], value=self.fill_value)
            elif left > 0:
                x = ops.pad(x, [(0, 0), (0, 0), (left, left), (0, 0)], value=self.fill_value)
        return image.resize(x, self.height, self.width, self.interpolation, self.antialias)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, input_shape[3])


@register("layer")
class CenterCrop(Layer):
    """Crops the centre (height, width) of each image; an image smaller than that is first cropped to the
    target's aspect ratio and resized (Keras's smart_resize). (batch, H, W, C) -> (batch, height, width, C).

    Args:
        height: The height of the crop.
        width: The width of the crop.
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        _check_size(height, width)
        self.height, self.width = height, width
        self.data_format = channels_last_only(data_format, "CenterCrop")

    def build(self, input_shape):
        check_image_rank(self, input_shape)

    def call(self, inputs, training=False):
        x = as_float(inputs)
        h, w = x.shape[1], x.shape[2]
        if h >= self.height and w >= self.width:
            return center_crop(x, (h - self.height) // 2, (w - self.width) // 2, self.height, self.width)
        return smart_resize(x, self.height, self.width)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, input_shape[3])


@register("layer")
class Normalization(Layer):
    """``(inputs - mean) / max(sqrt(variance), 1e-7)`` per position of ``axis`` (``invert`` undoes it).

    ``mean``/``variance`` given: constants. Otherwise the layer holds non-trainable weights ``mean`` and
    ``variance`` (and ``count``, which Keras keeps for old files), set by :meth:`adapt`.

    Args:
        axis: The axis (or axes) that keep their own statistics, e.g. -1 for one mean per feature or
            channel; null for one mean and variance over everything.
        mean: Fixed means (with variance), instead of adapting to data.
        variance: Fixed variances (with mean), instead of adapting to data.
        invert: Undo the normalization: ``inputs * sqrt(variance) + mean``.
    """

    def __init__(self, axis: "int | list | None" = -1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int):
            axis = (axis,)
        else:
            axis = tuple(axis)
        if (mean is None) != (variance is None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be set. "
                             f"Received: mean={mean} and variance={variance}")
        self.axis = axis
        self.input_mean, self.input_variance = mean, variance
        self.invert = invert
        self.adapted = False

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"All `axis` values must be in the range [-ndim, ndim). Received inputs with "
                             f"ndim={ndim}, while axis={self.axis}")
        self._keep = tuple(sorted(a % ndim for a in self.axis))
        for d in self._keep:
            if input_shape[d] is None:
                raise ValueError(f"All `axis` values to be kept must have a known shape. Received axis={self.axis}, "
                                 f"inputs.shape={tuple(input_shape)}, with unknown axis at index {d}")
        self._reduce = tuple(d for d in range(ndim) if d not in self._keep)
        self._broadcast = tuple(input_shape[d] if d in self._keep else 1 for d in range(ndim))
        shape = tuple(input_shape[d] for d in self._keep)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight("mean", shape, initializer="zeros", trainable=False)
            self.adapt_variance = self.add_weight("variance", shape, initializer="ones", trainable=False)
            self.count = self.add_weight("count", (), initializer="zeros", trainable=False, dtype="int32")
        else:
            self._constants = [self._broadcast_value(v, ndim) for v in (self.input_mean, self.input_variance)]

    def _broadcast_value(self, value, ndim):
        value = np.asarray(value, dtype=np.float32)
        expanded = [1] * ndim
        for i in range(1, value.ndim + 1):  # align the value's axes with the kept axes, from the right
            expanded[self._keep[-i]] = value.shape[-i]
        return backend.xp.asarray(np.broadcast_to(value.reshape(expanded), self._broadcast))

    def adapt(self, data):
        """Set ``mean`` and ``variance`` from an array of samples (batch first), over the reduced axes."""
        data = np.asarray(data, dtype=np.float32)
        self.ensure_built((None,) + data.shape[1:])
        if self.input_mean is not None:
            raise ValueError("adapt() is for a Normalization layer without fixed `mean` and `variance`")
        for d in self._keep:
            if data.shape[d] != self.input_shape[d]:
                raise ValueError(f"The layer was built with input_shape={self.input_shape}, but adapt() is being "
                                 f"called with data with an incompatible shape, data.shape={data.shape}")
        self.adapt_mean.assign(np.mean(data, axis=self._reduce, dtype=np.float64).astype(np.float32))
        self.adapt_variance.assign(np.var(data, axis=self._reduce, dtype=np.float64).astype(np.float32))
        self.adapted = True

    def call(self, inputs, training=False):
        x = as_float(inputs)
        if self.input_mean is None:
            mean = ops.reshape(self.adapt_mean, self._broadcast)
            variance = ops.reshape(self.adapt_variance, self._broadcast)
        else:
            mean, variance = self._constants
            mean, variance = as_tensor(mean), as_tensor(variance)
        scale = ops.maximum(ops.sqrt(variance), backend.EPSILON)
        if self.invert:
            return ops.add(mean, ops.multiply(x, scale))
        return ops.divide(ops.subtract(x, mean), scale)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = self._base_config()
        config.update({"axis": list(self.axis), "invert": self.invert,
                       "mean": _listed(self.input_mean), "variance": _listed(self.input_variance)})
        return config


def _listed(value):
    return None if value is None else np.asarray(value).tolist()


def _check_size(height, width):
    for name, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
