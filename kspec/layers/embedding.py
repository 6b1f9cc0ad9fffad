"""Embedding (integer ids -> vectors, optional ``mask_zero``) and Masking (skip steps equal to a value)."""
import warnings

from kspec import backend, constraints, initializers, regularizers
from kspec.engine import Tensor, as_tensor, ops
from kspec.layers.base import Layer
from kspec.registry import register
from kspec.serialization import serialize


@register("layer")
class Embedding(Layer):
    """Turns ids into dense vectors: ``output = embeddings[inputs]``.

    Weight: embeddings (input_dim, output_dim). Input (N, ...) integer ids in [0, input_dim) (floats are cast);
    output (N, ..., output_dim). With ``mask_zero`` the output mask is ``inputs != 0`` (id 0 is padding).

    Args:
        input_dim: The vocabulary size: the largest token id + 1.
        output_dim: The length of each embedding vector.
        embeddings_initializer: How the embedding matrix is initialized.
        embeddings_regularizer: A penalty on the embedding matrix, added to the loss.
        embeddings_constraint: A constraint applied to the embedding matrix after each step.
        mask_zero: Whether token id 0 is padding, masked for the layers after (input_dim then counts it).
        lora_rank: LoRA fine-tuning rank (kspec: null only).
        lora_alpha: LoRA scaling (kspec: null only).
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        for name, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r} "
                                 f"(of type {type(value).__name__}).")
        if kwargs.pop("input_length", None) is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.", UserWarning, stacklevel=2)
        if lora_rank or quantization_config is not None:
            raise ValueError("Embedding: kspec supports neither LoRA nor quantization")
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        self.quantization_config = None
        self._initial_weights = weights

    def build(self, input_shape=None):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer, self.embeddings_regularizer,
                                          self.embeddings_constraint)
        if self._initial_weights is not None:
            values = self._initial_weights
            self.set_weights(values if isinstance(values, list) and len(values) == 1 else [values])
            self._initial_weights = None

    def call(self, inputs, training=False):
        ids = inputs.data if isinstance(inputs, Tensor) else backend.xp.asarray(inputs)
        return ops.take_rows(self.embeddings, ids)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        ids = inputs.data if isinstance(inputs, Tensor) else backend.xp.asarray(inputs)
        return ids != 0

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        # built by hand: the base skips ``input_dim`` (a legacy shape keyword of other layers)
        config = self._base_config()
        config.update(input_dim=self.input_dim, output_dim=self.output_dim,
                      embeddings_initializer=serialize(self.embeddings_initializer),
                      embeddings_regularizer=serialize(self.embeddings_regularizer),
                      activity_regularizer=serialize(self.activity_regularizer),
                      embeddings_constraint=serialize(self.embeddings_constraint), mask_zero=self.mask_zero,
                      quantization_config=None)
        return config


@register("layer")
class Masking(Layer):
    """Masks timesteps whose features all equal ``mask_value``: mask = any(x != mask_value, axis=-1), and
    the masked steps of the output are zeroed. Shape unchanged.

    Args:
        mask_value: Time steps whose features all equal this value are masked (skipped by the layers after).
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def _keep(self, x):
        return (x.data != x.dtype.type(self.mask_value)).any(axis=-1, keepdims=True)

    def call(self, inputs, training=False):
        x = as_tensor(inputs)
        return x * Tensor(self._keep(x).astype(x.dtype))

    def compute_mask(self, inputs, mask=None):
        return self._keep(as_tensor(inputs))[..., 0]

    def compute_output_shape(self, input_shape):
        return input_shape
