"""Regularization layers: Dropout, ActivityRegularization."""
from kspec import backend, regularizers
from kspec.engine import ops
from kspec.layers.base import Layer
from kspec.registry import register


@register("layer")
class Dropout(Layer):
    """Inverted dropout during training: zero a fraction ``rate`` of inputs, scale the rest by 1/(1-rate).

    ``noise_shape`` entries that are None take the input's size (broadcast masks share one draw).

    Args:
        rate: The fraction of the inputs to drop during training, in [0, 1).
        noise_shape: The shape of the dropout mask; null entries take the input's size (e.g. [null, 1, null]
            drops the same features at every time step).
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


@register("layer")
class ActivityRegularization(Layer):
    """Identity that adds ``(l1 * sum|x| + l2 * sum x**2) / batch_size`` to the model's losses.

    The penalty goes through the base layer's ``activity_regularizer`` (an ``L1L2``), so it is divided by
    the batch size exactly as every activity regularizer is (Keras >= 3.14). Shape and mask unchanged.

    Args:
        l1: The L1 penalty factor on the output: loss += l1 * sum(|output|).
        l2: The L2 penalty factor on the output: loss += l2 * sum(output**2).
    """

    supports_masking = True
    sets_base_arguments = ("activity_regularizer",)  # not an argument of this layer (as in Keras)

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = l1
        self.l2 = l2

    def call(self, inputs, training=False):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)  # Keras writes l1 and l2 instead
        return config
