"""Keras 3 initializers: classes registered under their class names and snake_case aliases.

Call one with ``(shape, dtype=None)`` to get an array of that shape (float32 unless another dtype is
asked for). Random initializers draw from the backend's global Generator (seeded by
``backend.set_seed``), or, given an integer ``seed``, from a fresh Generator of their own, so the same
seed always gives the same values. ``get_config`` matches Keras's (seed included).

Args:
    seed: An integer seed: the same seed always gives the same values (null: the global generator).
    value: The constant every entry is set to.
    gain: A multiplicative factor (Identity: the diagonal's value; Orthogonal: the matrix's scale).
    mean: The mean of the normal distribution.
    stddev: The standard deviation of the normal distribution (before truncation).
    minval: The lower bound of the uniform distribution.
    maxval: The upper bound of the uniform distribution.
    scale: The variance's scale factor: variance = scale / fan.
    mode: fan_in, fan_out or fan_avg: which fan the variance is divided by.
    distribution: truncated_normal, untruncated_normal or uniform.
    input_axes: The axes whose sizes multiply to the fan-in (null: from the shape's layout).
    output_axes: The axes whose sizes multiply to the fan-out (null: from the shape's layout).
"""
import math
import numbers

from kspec import backend
from kspec.configurable import Configurable
from kspec.registry import register
from kspec.serialization import deserialize, serialize  # noqa: F401  (serialize: Keras's config form)


class Initializer(Configurable):
    """Base class: ``__call__(shape, dtype)``; the config comes from the ``__init__`` signature."""

    registry_kind = "initializer"

    def __call__(self, shape, dtype=None):
        raise NotImplementedError


# -- constants -----------------------------------------------------------------------------------------
@register("initializer", "zeros", "zero")
class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None):
        return backend.zeros(shape, dtype)


@register("initializer", "ones", "one")
class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        return backend.ones(shape, dtype)


@register("initializer", "constant")
class Constant(Initializer):
    """Every value equal to ``value``."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return backend.full(shape, self.value, dtype)


@register("initializer", "identity", "IdentityInitializer")
class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only; non-square shapes get ones on the diagonal)."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError("Identity matrix initializer can only be used for 2D matrices. "
                             f"Received: shape={tuple(shape)} of rank {len(shape)}.")
        dtype = dtype or backend.floatx
        return backend.xp.eye(*shape, dtype=dtype) * backend.xp.asarray(self.gain, dtype=dtype)


# -- random --------------------------------------------------------------------------------------------
class RandomInitializer(Initializer):
    """Base of the random initializers: ``seed`` None (global RNG) or an int (own, repeatable RNG)."""

    def __init__(self, seed=None):
        if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
            raise ValueError(f"`seed` argument should be an integer or None. Received: seed={seed!r}")
        self.seed = seed

    def _rng(self):
        return backend.generator(self.seed)


@register("initializer", "random_normal", "normal")
class RandomNormal(RandomInitializer):
    """Normal values with ``mean`` and ``stddev``."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return backend.asarray(normal(self._rng(), shape, self.stddev, self.mean, dtype), dtype)


@register("initializer", "truncated_normal")
class TruncatedNormal(RandomInitializer):
    """Normal values with ``mean`` and ``stddev``, redrawn until within two standard deviations."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return backend.asarray(truncated_normal(self._rng(), shape, self.stddev, self.mean, dtype), dtype)


@register("initializer", "random_uniform", "uniform")
class RandomUniform(RandomInitializer):
    """Uniform values in [minval, maxval)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        return backend.asarray(uniform(self._rng(), shape, self.minval, self.maxval, dtype), dtype)


def compute_fans(shape, input_axes=None, output_axes=None):
    """Keras's fans: rank 0 -> (1, 1); rank 1 -> (n, n); rank 2 -> (in, out); rank >= 3 multiplies both
    by the receptive field prod(shape[:-2]). Explicit ``input_axes``/``output_axes`` take products."""
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return (math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _dtype(dtype):
    return backend.xp.dtype(dtype or backend.floatx)


def normal(rng, shape, stddev, mean=0.0, dtype=None):
    """Normal values drawn directly in ``dtype`` (float32 by default: no float64 temporaries)."""
    dt = _dtype(dtype)
    values = rng.standard_normal(shape, dtype=dt)
    values *= dt.type(stddev)
    values += dt.type(mean)
    return values


def uniform(rng, shape, low, high, dtype=None):
    """Uniform values in [low, high) drawn directly in ``dtype``."""
    dt = _dtype(dtype)
    values = rng.random(shape, dtype=dt)
    values *= dt.type(high - low)
    values += dt.type(low)
    return values


def truncated_normal(rng, shape, stddev, mean=0.0, dtype=None):
    """Normal values redrawn until within two standard deviations of ``mean``, drawn in ``dtype``."""
    dt = _dtype(dtype)
    values = rng.standard_normal(shape, dtype=dt)
    bad = abs(values) > 2
    while bad.any():
        values[bad] = rng.standard_normal(int(bad.sum()), dtype=dt)
        bad = abs(values) > 2
    values *= dt.type(stddev)
    values += dt.type(mean)
    return values


@register("initializer", "variance_scaling")
class VarianceScaling(RandomInitializer):
    """Values scaled to the fans: ``s = scale / max(1, fan)``; 'truncated_normal' (alias 'normal') has
    stddev sqrt(s) / 0.8796 within +-2 stddev, 'untruncated_normal' stddev sqrt(s), 'uniform' limit
    sqrt(3 s)."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, input_axes=None,
                 output_axes=None):
        if scale <= 0.0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode}. Please use one of fan_in, fan_out, fan_avg")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(f"Invalid `distribution` argument: {distribution}. Please use one of uniform, "
                             "truncated_normal, untruncated_normal")
        super().__init__(seed)
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self.input_axes, self.output_axes = input_axes, output_axes

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, fan)
        rng = self._rng()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * scale)
            values = uniform(rng, shape, -limit, limit, dtype)
        elif self.distribution == "untruncated_normal":
            values = normal(rng, shape, math.sqrt(scale), dtype=dtype)
        else:
            values = truncated_normal(rng, shape, math.sqrt(scale) / 0.87962566103423978, dtype=dtype)
        return backend.asarray(values, dtype)


class _FixedScaling(VarianceScaling):
    """A named VarianceScaling: only ``seed`` and the fan axes are arguments."""

    SCALE, MODE, DISTRIBUTION = 1.0, "fan_in", "truncated_normal"

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(self.SCALE, self.MODE, self.DISTRIBUTION, seed, input_axes, output_axes)


@register("initializer", "glorot_uniform")
class GlorotUniform(_FixedScaling):
    """U(+-sqrt(6 / (fan_in + fan_out)))."""
    SCALE, MODE, DISTRIBUTION = 1.0, "fan_avg", "uniform"


@register("initializer", "glorot_normal")
class GlorotNormal(_FixedScaling):
    """Truncated normal, stddev sqrt(2 / (fan_in + fan_out)) / 0.8796."""
    SCALE, MODE, DISTRIBUTION = 1.0, "fan_avg", "truncated_normal"


@register("initializer", "he_uniform")
class HeUniform(_FixedScaling):
    """U(+-sqrt(6 / fan_in))."""
    SCALE, MODE, DISTRIBUTION = 2.0, "fan_in", "uniform"


@register("initializer", "he_normal")
class HeNormal(_FixedScaling):
    """Truncated normal, stddev sqrt(2 / fan_in) / 0.8796."""
    SCALE, MODE, DISTRIBUTION = 2.0, "fan_in", "truncated_normal"


@register("initializer", "lecun_uniform")
class LecunUniform(_FixedScaling):
    """U(+-sqrt(3 / fan_in))."""
    SCALE, MODE, DISTRIBUTION = 1.0, "fan_in", "uniform"


@register("initializer", "lecun_normal")
class LecunNormal(_FixedScaling):
    """Truncated normal, stddev sqrt(1 / fan_in) / 0.8796."""
    SCALE, MODE, DISTRIBUTION = 1.0, "fan_in", "truncated_normal"


@register("initializer", "orthogonal", "OrthogonalInitializer")
class Orthogonal(RandomInitializer):
    """An orthogonal matrix times ``gain``, for shapes of rank >= 2 flattened to (prod(shape[:-1]), shape[-1]).

    The QR of a normal (max, min) matrix, with Q's columns signed by diag(R), transposed when rows < cols.
    """

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional. Received: "
                             f"shape={tuple(shape)} of rank {len(shape)}.")
        xp = backend.xp
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = xp.asarray(self._rng().normal(0.0, 1.0, (max(rows, cols), min(rows, cols))))
        q, r = xp.linalg.qr(a)
        q = q * xp.sign(xp.diagonal(r))
        if rows < cols:
            q = q.T
        return backend.asarray(self.gain * q.reshape(shape), dtype)


def get(identifier):
    """An initializer from a name, a config dict or an instance (None stays None)."""
    return deserialize("initializer", identifier)
