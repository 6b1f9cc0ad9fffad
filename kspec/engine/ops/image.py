"""Image resampling for the preprocessing layers: resizing and affine warps of (N, H, W, C) batches.

Both follow Keras 3 on JAX, which calls ``jax.image.resize`` and ``jax.scipy.ndimage.map_coordinates``:

* :func:`resize` is separable: ``out[n, i, j, c] = sum_hw Wh[h, i] Ww[w, j] x[n, h, w, c]`` with
  :func:`resize_weights` per axis (half-pixel centres ``(i + 0.5) * in / out - 0.5``, the method's kernel,
  weights normalised per output pixel, outputs whose centre falls outside the input get 0; an axis whose
  size does not change is left alone). Nearest picks ``floor((i + 0.5) * in / out)``.
* :func:`affine_transform` samples each output pixel ``(y, x)`` at the input point
  ``x_in = a0 x + a1 y + a2``, ``y_in = b0 x + b1 y + b2`` (Keras's 8-number transform rows), with nearest
  (round half away from zero) or bilinear taps; points outside are filled by ``fill_mode``: constant
  (``fill_value`` for any tap outside), nearest (clamp), wrap (modulo), mirror, reflect.

Both are linear in ``x``; their gradients are the transposed maps (a matrix product, and a scatter-add of
the taps).
"""
import numpy as np

from kspec import backend
from kspec.engine.tensor import as_tensor, make

RESIZE_METHODS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")
FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
INTERPOLATIONS = ("nearest", "bilinear")


def _triangle(x):
    return np.maximum(0.0, 1.0 - np.abs(x))


def _keys_cubic(x):
    out = ((1.5 * x - 2.5) * x) * x + 1.0
    out = np.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
    return np.where(x >= 2.0, 0.0, out)


def _lanczos(radius):
    def kernel(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius) / (np.pi ** 2 * x ** 2)
        out = np.where(x > 1e-3, y, 1.0)
        return np.where(x > radius, 0.0, out)
    return kernel


_KERNELS = {"bilinear": _triangle, "bicubic": _keys_cubic, "lanczos3": _lanczos(3.0), "lanczos5": _lanczos(5.0)}


def resize_weights(in_size, out_size, method="bilinear", antialias=False):
    """The (in_size, out_size) float32 matrix that resamples one axis, as jax.image.resize builds it."""
    if method == "nearest":
        picks = np.floor((np.arange(out_size, dtype=np.float32) + 0.5) * np.float32(in_size / out_size))
        weights = np.zeros((in_size, out_size), dtype=np.float32)
        weights[picks.astype(np.int64), np.arange(out_size)] = 1.0
        return weights
    inv_scale = in_size / out_size
    kernel_scale = max(inv_scale, 1.0) if antialias else 1.0
    sample = (np.arange(out_size, dtype=np.float64) + 0.5) * inv_scale - 0.5
    distance = np.abs(sample[None, :] - np.arange(in_size, dtype=np.float64)[:, None]) / kernel_scale
    weights = _KERNELS[method](distance)
    total = weights.sum(axis=0, keepdims=True)
    weights = np.where(np.abs(total) > 1000.0 * float(np.finfo(np.float32).eps),
                       weights / np.where(total != 0, total, 1.0), 0.0)
    weights = np.where(((sample >= -0.5) & (sample <= in_size - 0.5))[None, :], weights, 0.0)
    return weights.astype(np.float32)


def resize(x, height, width, method="bilinear", antialias=False):
    """Resize a channels-last batch ``x`` (N, H, W, C) to (N, height, width, C)."""
    x = as_tensor(x)
    xp = backend.xp
    _, h, w, _ = x.shape
    wh = None if h == height else xp.asarray(resize_weights(h, height, method, antialias))
    ww = None if w == width else xp.asarray(resize_weights(w, width, method, antialias))

    def apply(a, mh, mw):  # contract H with mh (in, out) and W with mw
        if mh is not None:
            a = xp.einsum("nhwc,hi->niwc", a, mh)
        if mw is not None:
            a = xp.einsum("nhwc,wj->nhjc", a, mw)
        return a

    def backward(g):
        return (apply(g, None if wh is None else wh.T, None if ww is None else ww.T),)

    out = apply(x.data, wh, ww)
    return make(xp.ascontiguousarray(out, dtype=x.dtype), (x,), backward, "resize")


def _fix_index(index, size, mode):
    xp = backend.xp
    if mode == "nearest":
        return xp.clip(index, 0, size - 1)
    if mode == "wrap":
        return index % size
    if mode == "mirror":
        if size == 1:
            return xp.zeros_like(index)
        s = size - 1
        return xp.abs((index + s) % (2 * s) - s)
    if mode == "reflect":
        s = 2 * size  # mirror of 2 * index + 1 over a period of 2 * size + 1, halved
        return ((xp.abs((2 * index + 1 + s) % (2 * s) - s)) - 1) // 2
    return index  # constant: taps outside are masked


def _taps(coordinate, interpolation):
    """[(integer index, weight)] per 1-D coordinate array."""
    xp = backend.xp
    if interpolation == "nearest":
        index = xp.sign(coordinate) * xp.floor(xp.abs(coordinate) + 0.5)  # round half away from zero
        return [(index.astype(np.int64), None)]
    lower = xp.floor(coordinate)
    upper_weight = coordinate - lower
    lower = lower.astype(np.int64)
    return [(lower, 1.0 - upper_weight), (lower + 1, upper_weight)]


def affine_transform(x, transforms, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    """Warp each image of a channels-last batch ``x`` (N, H, W, C) by its row of ``transforms`` (N, 8)."""
    x = as_tensor(x)
    xp = backend.xp
    n, h, w, c = x.shape
    t = xp.asarray(transforms, dtype=np.float64).reshape(n, 8)
    ys, xs = xp.meshgrid(xp.arange(h, dtype=np.float64), xp.arange(w, dtype=np.float64), indexing="ij")
    x_in = t[:, 0, None, None] * xs + t[:, 1, None, None] * ys + t[:, 2, None, None]
    y_in = t[:, 3, None, None] * xs + t[:, 4, None, None] * ys + t[:, 5, None, None]
    x_in, y_in = x_in.astype(np.float32), y_in.astype(np.float32)
    batch = xp.arange(n)[:, None, None]
    taps = []  # (flat input row, weight (N, H, W) or None, valid (N, H, W) or None)
    for iy, wy in _taps(y_in, interpolation):
        for ix, wx in _taps(x_in, interpolation):
            valid = None
            if fill_mode == "constant":
                valid = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
            fy, fx = _fix_index(iy, h, fill_mode), _fix_index(ix, w, fill_mode)
            if valid is not None:
                fy, fx = xp.where(valid, fy, 0), xp.where(valid, fx, 0)
            weight = None if wy is None else (wy * wx).astype(x.dtype)
            taps.append(((batch * h + fy) * w + fx, weight, valid))
    flat = x.data.reshape(n * h * w, c)
    out = xp.zeros((n, h, w, c), dtype=x.dtype)
    fill = x.dtype.type(fill_value)
    for rows, weight, valid in taps:
        values = flat[rows]
        if valid is not None:
            values = xp.where(valid[..., None], values, fill)
        out += values if weight is None else values * weight[..., None]

    def backward(g):
        dx = xp.zeros((n * h * w, c), dtype=g.dtype)
        for rows, weight, valid in taps:
            contribution = g if weight is None else g * weight[..., None]
            if valid is not None:
                contribution = xp.where(valid[..., None], contribution, 0)
            xp.add.at(dx, rows.reshape(-1), contribution.reshape(-1, c))
        return (dx.reshape(n, h, w, c),)

    return make(out, (x,), backward, "affine_transform")


def crop_box(height, width, target_height, target_width):
    """``(top, left, crop_height, crop_width)``: the centred box of the target's aspect ratio, as Keras's
    ``crop_to_aspect_ratio`` and ``smart_resize`` take it."""
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    return int(float(height - crop_height) / 2), int(float(width - crop_width) / 2), crop_height, crop_width
