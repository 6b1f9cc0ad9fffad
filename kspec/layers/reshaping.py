"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector.

None of them supports masking: an incoming mask is dropped (Keras 3 drops it too; Keras 2 raised).
"""
import math

from kspec.engine import ops
from kspec.layers.base import Layer, standardize_data_format
from kspec.registry import register


@register("layer")
class Flatten(Layer):
    """Flattens each sample in C order: (batch, d1, ..., dk) -> (batch, d1*...*dk); (batch,) -> (batch, 1).

    With ``data_format="channels_first"`` the channel axis is first moved last, so that
    (batch, C, H, W) flattens in the same order as the channels-last (batch, H, W, C).
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)

    def build(self, input_shape):
        if len(input_shape) < 1:
            raise ValueError(f"Flatten needs inputs of rank >= 1. Received: input_shape={tuple(input_shape)}")

    def call(self, inputs, training=False):
        x = inputs
        if self.data_format == "channels_first" and x.ndim > 2:
            x = ops.transpose(x, (0, *range(2, x.ndim), 1))
        return ops.reshape(x, (x.shape[0], math.prod(x.shape[1:])))

    def compute_output_shape(self, input_shape):
        rest = tuple(input_shape[1:])
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)


@register("layer")
class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (batch dimension excluded; one -1 is inferred).

    Input shape: (batch, ...) with as many values per sample as ``target_shape`` holds.
    Output shape: (batch, *target_shape).

    Args:
        target_shape: The output shape without the batch axis; one entry may be -1 (inferred from the size).
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target_shape = tuple(target_shape)
        for d in target_shape:
            if not isinstance(d, int) or isinstance(d, bool) or d < -1:
                raise ValueError("Each dimension in `target_shape` must be a non-negative integer, or `-1` "
                                 f"for a single unknown dimension. Received: target_shape={target_shape}")
        if target_shape.count(-1) > 1:
            raise ValueError("There must be at most one unknown dimension (-1) in `target_shape`. "
                             f"Received: target_shape={target_shape}")
        self.target_shape = target_shape

    def call(self, inputs, training=False):
        target = _resolve_reshape(tuple(inputs.shape[1:]), self.target_shape)
        return ops.reshape(inputs, (inputs.shape[0],) + target)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + _resolve_reshape(tuple(input_shape[1:]), self.target_shape)


def _resolve_reshape(sample_shape, target):
    """The per-sample target with its -1 filled in (None when the input has unknown dimensions)."""
    if None in sample_shape:
        return tuple(None if d == -1 else d for d in target)
    size = math.prod(sample_shape)
    if -1 not in target:
        if math.prod(target) != size:
            raise ValueError(f"Reshape: cannot reshape samples of shape {sample_shape} ({size} values) into "
                             f"target_shape={target} ({math.prod(target)} values); the total size must be "
                             "unchanged")
        return target
    known = math.prod(d for d in target if d != -1)
    if known == 0 or size % known:
        raise ValueError(f"Reshape: cannot reshape samples of shape {sample_shape} ({size} values) into "
                         f"target_shape={target}: {size} is not a multiple of the known dimensions' "
                         f"product {known}")
    return tuple(size // known if d == -1 else d for d in target)


@register("layer")
class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` is 1-indexed, e.g. (2, 1) swaps the two axes of a sample.

    Input shape: (batch, d1, ..., dk) with k = len(dims). Output: (batch, d_dims[0], ..., d_dims[k-1]).

    Args:
        dims: The new order of the axes, without the batch axis and counted from 1 (e.g. [2, 1] swaps two
            axes).
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        dims = tuple(dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set of indices in "
                             f"`dims` must be consecutive and start from 1. Received dims={dims}")
        self.dims = dims

    def build(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(f"Permute(dims={self.dims}) expects inputs of rank {len(self.dims) + 1} (batch "
                             f"included). Received: input_shape={tuple(input_shape)}")

    def call(self, inputs, training=False):
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)


@register("layer")
class RepeatVector(Layer):
    """Repeats each sample ``n`` times along a new axis 1: (batch, features) -> (batch, n, features).

    Args:
        n: How many times the input is repeated: (batch, features) -> (batch, n, features).
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"Expected an integer value for `n`, got {type(n)}.")
        if n <= 0:
            raise ValueError(f"Argument `n` should be a positive integer. Received: n={n}")
        self.n = n

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError("RepeatVector expects inputs of rank 2, (batch, features). "
                             f"Received: input_shape={tuple(input_shape)}")

    def call(self, inputs, training=False):
        return ops.repeat(ops.expand_dims(inputs, 1), self.n, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])
