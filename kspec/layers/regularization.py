"""Regularization layers: Dropout."""
from kspec import backend
from kspec.engine import ops
from kspec.layers.base import Layer
from kspec.registry import register


@register("layer")
class Dropout(Layer):
    """Inverted dropout during training: zero a fraction ``rate`` of inputs, scale the rest by 1/(1-rate).

    ``noise_shape`` entries that are None take the input's size (broadcast masks share one draw).
    """

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Dropout: rate must be in [0, 1]. Received: rate={rate!r}")
        self.rate = rate
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self._rng = None if seed is None else backend.generator(seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        shape = None
        if self.noise_shape is not None:
            shape = tuple(inputs.shape[i] if n is None else n for i, n in enumerate(self.noise_shape))
        return ops.dropout(inputs, self.rate, shape, self._rng)

    def compute_output_shape(self, input_shape):
        return input_shape
