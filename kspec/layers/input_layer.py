"""InputLayer: declares the model's input shape (``keras.Input``); it has no weights and no math."""
from kspec.layers.base import Layer
from kspec.registry import register


@register("layer")
class InputLayer(Layer):
    """The model's input: one sample's shape (``keras.Input(shape)``); no weights and no math.

    Args:
        shape: The shape of one sample, without the batch axis.
        batch_size: A fixed batch size (null: any).
        sparse: Whether the input is a sparse tensor (kspec: false only).
        batch_shape: The full shape with the batch axis first (instead of shape and batch_size).
        optional: Whether the input may be left out (None).
    """

    supports_masking = True  # an identity: a mask passes through

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
                 optional=False, **kwargs):
        if "batch_input_shape" in kwargs:  # Keras 2 config name
            batch_shape = kwargs.pop("batch_input_shape")
        kwargs.pop("ragged", None)
        super().__init__(name=name, dtype=dtype, **kwargs)
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer needs `shape` (without the batch dimension) or `batch_shape`")
            batch_shape = (batch_size,) + tuple(shape)
        self.batch_shape = tuple(batch_shape)
        self.input_dtype = dtype or "float32"
        self.built = True

    def call(self, inputs, training=False):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.input_dtype, "sparse": False,
                "ragged": False, "name": self.name, "optional": False}
