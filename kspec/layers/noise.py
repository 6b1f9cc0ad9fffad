"""Noise layers active only in training: SpatialDropout1D/2D and GaussianNoise."""
from kspec import backend
from kspec.backend import comm
from kspec.engine import ops
from kspec.layers.base import Layer
from kspec.layers.conv import channels_last_only
from kspec.registry import register


class _SpatialDropout(Layer):
    """Dropout of whole feature maps: one keep/drop draw per (sample, channel), shared over the spatial axes
    (scaled by 1 / (1 - rate) like Dropout).

    Args:
        rate: The fraction of whole feature maps (channels) dropped during training, in [0, 1).
    """

    rank = 1
    supports_masking = True

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float value between 0 "
                             f"and 1. Received: rate={rate}")
        self.rate = rate
        self.seed = seed
        self._rng = None if seed is None else backend.generator(seed)

    def build(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} expects inputs of rank {self.rank + 2}. "
                             f"Received: input_shape={tuple(input_shape)}")

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        shape = (inputs.shape[0],) + (1,) * self.rank + (inputs.shape[-1],)
        return ops.dropout(inputs, self.rate, shape, self._rng)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        """Keras's exact config (its spatial dropouts take no ``trainable`` argument)."""
        config = {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self.dtype}
        if hasattr(self, "data_format"):
            config["data_format"] = self.data_format
        return config


@register("layer")
class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of (batch, steps, channels) inputs during training."""

    rank = 1

    def __init__(self, rate, seed=None, name=None, dtype=None):
        super().__init__(rate, seed, name=name, dtype=dtype)


@register("layer")
class SpatialDropout2D(_SpatialDropout):
    """Drops whole channels of (batch, rows, cols, channels) inputs during training."""

    rank = 2

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed, name=name, dtype=dtype)
        self.data_format = channels_last_only(data_format, "SpatialDropout2D")


@register("layer")
class GaussianNoise(Layer):
    """Adds zero-mean Gaussian noise of standard deviation ``stddev`` during training; identity otherwise.
    Shape and mask unchanged.

    Args:
        stddev: The standard deviation of the zero-mean noise added during training.
    """

    supports_masking = True

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= stddev <= 1:
            raise ValueError("Invalid value received for argument `stddev`. Expected a float value between 0 "
                             f"and 1. Received: stddev={stddev}")
        self.stddev = stddev
        self.seed = seed
        self._rng = None if seed is None else backend.generator(seed)

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        noise = comm.draw_rows(backend.random_normal, inputs.shape, rng=self._rng) * backend.f32(self.stddev)
        return ops.add(inputs, noise.astype(inputs.dtype, copy=False))

    def compute_output_shape(self, input_shape):
        return input_shape
