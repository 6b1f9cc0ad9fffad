"""Keras initializers: each is a class registered under its class name and snake_case aliases.

Call an initializer with ``(shape, dtype)`` to get an array. Random ones draw from the backend RNG, or
from their own Generator when given a ``seed``.
"""
import math

from kspec import backend
from kspec.registry import register
from kspec.serialization import deserialize


class Initializer:
    registry_kind = "initializer"

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@register("initializer", "zeros", "zero")
class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return backend.zeros(shape, dtype)


@register("initializer", "ones", "one")
class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return backend.ones(shape, dtype)


@register("initializer", "constant")
class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return backend.full(shape, self.value, dtype)

    def get_config(self):
        return {"value": self.value}


def compute_fans(shape):
    """Keras's fan rule: rank 0 -> (1, 1); rank 1 -> (n, n); rank >= 3 multiplies the receptive field."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class _Random(Initializer):
    def __init__(self, seed=None):
        self.seed = seed

    def _rng(self):
        return backend.generator(self.seed)

    def get_config(self):
        return {"seed": self.seed}


@register("initializer", "variance_scaling")
class VarianceScaling(_Random):
    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, fan)
        rng = self._rng()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * scale)
            values = rng.uniform(-limit, limit, shape)
        elif self.distribution == "untruncated_normal":
            values = rng.normal(0.0, math.sqrt(scale), shape)
        else:
            values = truncated_normal(rng, shape, math.sqrt(scale) / 0.87962566103423978)
        return backend.asarray(values, dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def truncated_normal(rng, shape, stddev, mean=0.0):
    """Normal values resampled until they lie within two standard deviations."""
    values = rng.normal(0.0, 1.0, shape)
    bad = abs(values) > 2
    while bad.any():
        values[bad] = rng.normal(0.0, 1.0, int(bad.sum()))
        bad = abs(values) > 2
    return values * stddev + mean


@register("initializer", "glorot_uniform")
class GlorotUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


def get(identifier):
    """An initializer from a name, a config dict or an instance (None stays None)."""
    return deserialize("initializer", identifier)
