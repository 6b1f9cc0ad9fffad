"""Random image augmentation layers (Keras 3): RandomFlip, RandomRotation, RandomZoom, RandomTranslation,
RandomContrast and RandomCrop.

Active only in training (``fit``); at inference they return their input (RandomCrop centre-crops to its
size). Each draws from its own generator when given a ``seed``, else from kspec's global one, which a spec's
``seed`` seeds, so a run is reproducible. The draws differ from Keras's random streams; the transformations
are Keras's: the same families, ranges and affine matrices (Keras's 8-number rows mapping output pixels to
input points), the same fill modes and interpolation. Images are channels-last (batch, H, W, C).
"""
import math

import numpy as np

from kspec import backend
from kspec.engine import ops
from kspec.engine.ops import image
from kspec.layers.base import Layer
from kspec.layers.conv import channels_last_only
from kspec.layers.preprocessing import as_float, center_crop, check_image_rank, smart_resize
from kspec.registry import register

_FACTOR_ERROR = ("The `factor` argument should be a number (or a list of two numbers) in the range "
                 "[{low}, {high}]. Received: factor={factor}")


class _RandomImageLayer(Layer):
    """Shared by the random layers: the generator, channels-last images, identity at inference."""

    def _init_random(self, seed, data_format):
        self.seed = seed
        self.data_format = channels_last_only(data_format, type(self).__name__)
        self._rng = None if seed is None else backend.generator(seed)

    @property
    def rng(self):
        return self._rng if self._rng is not None else backend.generator()

    def build(self, input_shape):
        check_image_rank(self, input_shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, inputs, training=False):
        x = as_float(inputs)
        return self.augment(x) if training else ops.reshape(x, x.shape)  # a new tensor: no mask carried over


def _factor_pair(factor, low, high, name="factor"):
    """Keras's ``_set_factor``: a number f -> (max(-|f|, low), |f|); a pair -> sorted."""
    message = _FACTOR_ERROR.format(low=low, high=high, factor=factor)
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or factor[0] > high or factor[1] < low:
            raise ValueError(message)
        return tuple(sorted(factor))
    if isinstance(factor, bool) or not isinstance(factor, (int, float)):
        raise ValueError(message.replace("factor=", f"{name}="))
    if factor < low or factor > high:
        raise ValueError(message)
    return (max(-abs(factor), low), abs(factor))


def _zoom_factor_pair(factor, name):
    """RandomZoom/RandomTranslation factors: a number f -> (-|f|, |f|), a pair sorted; each in (-1, 1]."""
    def check(value):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value > 1.0 or value <= -1.0:
            raise ValueError(f"The `{name}` argument should be a number (or a list of two numbers) in the range "
                             f"(-1.0, 1.0]. Received: {name}={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(f"The `{name}` argument should be a number or a list of two numbers. "
                             f"Received: {name}={factor}")
        check(factor[0])
        check(factor[1])
        return tuple(sorted(factor))
    check(factor)
    return (-abs(factor), abs(factor))


def _check_modes(fill_mode, interpolation):
    if fill_mode not in image.FILL_MODES:
        raise NotImplementedError(f"Unknown `fill_mode` {fill_mode}. Expected of one {image.FILL_MODES}.")
    if interpolation not in image.INTERPOLATIONS:
        raise NotImplementedError(f"Unknown `interpolation` {interpolation}. Expected of one "
                                  f"{image.INTERPOLATIONS}.")


@register("layer")
class RandomFlip(_RandomImageLayer):
    """Flips each image left-right ("horizontal"), top-bottom ("vertical") or both
    ("horizontal_and_vertical", the default), each with probability 0.5, in training.

    Args:
        mode: Which flips: horizontal, vertical or horizontal_and_vertical.
    """

    _MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if mode not in self._MODES:
            raise ValueError(f"RandomFlip layer {kwargs.get('name')} received an unknown mode argument {mode}")
        self.mode = mode
        self._init_random(seed, data_format)

    def augment(self, x):
        n = x.shape[0]
        for axis, used in ((2, "horizontal" in self.mode), (1, "vertical" in self.mode)):
            if not used:
                continue
            flip = self.rng.uniform(size=n) <= 0.5
            index = [slice(None)] * 4
            index[axis] = slice(None, None, -1)
            flipped = ops.getitem(x, tuple(index))
            x = ops.where(backend.xp.asarray(flip)[:, None, None, None], flipped, x)
        return x


class _AffineLayer(_RandomImageLayer):
    """Warps each image by a random affine map (Keras's rows ``a0 a1 a2 b0 b1 b2 0 0``)."""

    def _init_affine(self, fill_mode, interpolation, fill_value):
        _check_modes(fill_mode, interpolation)
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value

    def augment(self, x):
        transforms = self.transforms(x.shape[0], x.shape[1], x.shape[2])
        return image.affine_transform(x, transforms, self.interpolation, self.fill_mode, self.fill_value)


def rotation_transforms(angles_degrees, height, width):
    """Keras's rotation about the image centre ((width - 1) / 2, (height - 1) / 2), one row per angle."""
    angle = np.asarray(angles_degrees, dtype=np.float64) * (math.pi / 180.0)
    cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
    cos, sin = np.cos(angle), np.sin(angle)
    a0, a1, b0, b1 = cos, -sin, sin, cos
    a2 = cx - cx * a0 - cy * a1
    b2 = cy - cx * b0 - cy * b1
    zeros = np.zeros_like(angle)
    return np.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def zoom_transforms(width_zoom, height_zoom, height, width):
    """Keras's zoom about the centre: ``x_in = zx x + (W - 1) / 2 (1 - zx)`` (zoom > 1 shows more)."""
    zx, zy = np.asarray(width_zoom, dtype=np.float64), np.asarray(height_zoom, dtype=np.float64)
    zeros = np.zeros_like(zx)
    return np.stack([zx, zeros, (width - 1) / 2.0 * (1.0 - zx), zeros, zy, (height - 1) / 2.0 * (1.0 - zy),
                     zeros, zeros], axis=1)


def translation_transforms(dx, dy):
    """Keras's shift by (dx, dy) pixels: ``x_in = x - dx``."""
    dx, dy = np.asarray(dx, dtype=np.float64), np.asarray(dy, dtype=np.float64)
    ones, zeros = np.ones_like(dx), np.zeros_like(dx)
    return np.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], axis=1)


@register("layer")
class RandomRotation(_AffineLayer):
    """Rotates each image by a random angle in ``factor`` * 360 degrees (a number f means [-f, f]) about
    its centre, in training. ``fill_mode``: reflect (default), constant, nearest, wrap, mirror.

    Args:
        factor: The range of angles as fractions of a full turn: f means [-f, f], or [low, high].
        fill_mode: How points outside the input are filled: reflect, constant, nearest, wrap or mirror.
        interpolation: How pixels are sampled: bilinear or nearest.
        fill_value: The value outside the input with fill_mode constant.
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = _factor_pair(factor, -1, 1)
        self._init_affine(fill_mode, interpolation, fill_value)
        self._init_random(seed, data_format)

    def transforms(self, n, height, width):
        angles = self.rng.uniform(self.factor[0] * 360.0, self.factor[1] * 360.0, size=n)
        return rotation_transforms(angles, height, width)


@register("layer")
class RandomZoom(_AffineLayer):
    """Zooms each image by a random factor: ``height_factor`` (a number f means [-f, f]) gives the vertical
    zoom 1 + U(lower, upper) (negative zooms in, positive out); ``width_factor`` likewise, or None to keep
    the aspect ratio.

    Args:
        height_factor: The vertical zoom range: f means [-f, f], or [low, high]; each in (-1, 1].
        width_factor: The horizontal zoom range likewise, or null to zoom both ways alike.
        fill_mode: How points outside the input are filled: reflect, constant, nearest, wrap or mirror.
        interpolation: How pixels are sampled: bilinear or nearest.
        fill_value: The value outside the input with fill_mode constant.
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear",
                 seed=None, fill_value=0.0, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._height = _zoom_factor_pair(height_factor, "height_factor")
        self._width = None if width_factor is None else _zoom_factor_pair(width_factor, "width_factor")
        self._init_affine(fill_mode, interpolation, fill_value)
        self._init_random(seed, data_format)

    def transforms(self, n, height, width):
        zy = self.rng.uniform(1.0 + self._height[0], 1.0 + self._height[1], size=n)
        zx = zy if self._width is None else self.rng.uniform(1.0 + self._width[0], 1.0 + self._width[1], size=n)
        return zoom_transforms(zx, zy, height, width)


@register("layer")
class RandomTranslation(_AffineLayer):
    """Shifts each image by random fractions of its height and width (``height_factor``/``width_factor``: a
    number f means [-f, f]).

    Args:
        height_factor: The vertical shift range as a fraction of the height: f means [-f, f], or [low, high].
        width_factor: The horizontal shift range as a fraction of the width, likewise.
        fill_mode: How points outside the input are filled: reflect, constant, nearest, wrap or mirror.
        interpolation: How pixels are sampled: bilinear or nearest.
        fill_value: The value outside the input with fill_mode constant.
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._height = _zoom_factor_pair(height_factor, "height_factor")
        self._width = _zoom_factor_pair(width_factor, "width_factor")
        self._init_affine(fill_mode, interpolation, fill_value)
        self._init_random(seed, data_format)

    def transforms(self, n, height, width):
        dy = self.rng.uniform(self._height[0], self._height[1], size=n) * height
        dx = self.rng.uniform(self._width[0], self._width[1], size=n) * width
        return translation_transforms(dx, dy)


@register("layer")
class RandomContrast(_RandomImageLayer):
    """``(x - mean) * c + mean`` per image and channel (mean over height and width) with c drawn from
    [1 - lower, 1 + upper], then clipped to ``value_range``, in training. As in Keras 3, a number f gives
    (lower, upper) = (0, f): contrast is only raised; give [f, f] for both directions.

    Args:
        factor: The contrast range: f gives [1, 1 + f] (as Keras 3), [a, b] gives [1 - a, 1 + b]; in [0, 1].
        value_range: The [low, high] range the outputs are clipped to.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = _factor_pair(factor, 0, 1)
        self.value_range = value_range
        self._init_random(seed, data_format)

    def augment(self, x):
        n = x.shape[0]
        c = self.rng.uniform(1.0 - self.factor[0], 1.0 + self.factor[1], size=(n, 1, 1, 1)).astype(np.float32)
        mean = ops.mean(ops.mean(x, axis=1, keepdims=True), axis=2, keepdims=True)
        out = ops.add(ops.multiply(ops.subtract(x, mean), backend.xp.asarray(c)), mean)
        return ops.clip(out, float(self.value_range[0]), float(self.value_range[1]))


@register("layer")
class RandomCrop(_RandomImageLayer):
    """Crops a random (height, width) window, one position per batch, in training; at inference (or when
    the input is not larger) crops the centred box of that aspect ratio and resizes it to (height, width).

    Args:
        height: The height of the crop.
        width: The width of the crop.
    """

    def __init__(self, height, width, seed=None, data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.height, self.width = height, width
        if seed is None:  # Keras draws a default seed, so the config always holds one
            seed = int(backend.generator().integers(0, 2 ** 30))
        self._init_random(seed, data_format)

    def call(self, inputs, training=False):
        x = as_float(inputs)
        h, w = x.shape[1], x.shape[2]
        if training and h > self.height and w > self.width:
            top = int(self.rng.uniform(0, h - self.height + 1))
            left = int(self.rng.uniform(0, w - self.width + 1))
            return center_crop(x, top, left, self.height, self.width)
        out = smart_resize(x, self.height, self.width)
        return out

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, input_shape[3])
