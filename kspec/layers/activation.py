"""Activation layers with Keras 3's arguments and defaults: ReLU, LeakyReLU, ELU, Softmax, PReLU.

Input shape: any, (batch, ...). Output shape: the same as the input.
"""
from kspec import activations, backend, constraints, initializers, regularizers
from kspec.engine import ops
from kspec.layers.base import Layer, warn_legacy
from kspec.registry import register


class _Elementwise(Layer):
    """An activation layer: shape-preserving, passes masks through."""

    supports_masking = True

    def compute_output_shape(self, input_shape):
        return input_shape


@register("layer")
class ReLU(_Elementwise):
    """``activations.relu(x, negative_slope, max_value, threshold)``: x above threshold (capped at max_value),
    ``negative_slope * (x - threshold)`` below.

    Args:
        max_value: The largest output value (null: unbounded).
        negative_slope: The slope applied to inputs below threshold (0: they become 0).
        threshold: Inputs below this value are scaled by negative_slope.
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0.0:
            raise ValueError(f"max_value of a ReLU layer cannot be a negative value. Received: "
                             f"max_value={max_value}")
        if negative_slope is None or negative_slope < 0.0:
            raise ValueError(f"negative_slope of a ReLU layer cannot be None or a negative value. Received: "
                             f"negative_slope={negative_slope}")
        if threshold is None or threshold < 0.0:
            raise ValueError(f"threshold of a ReLU layer cannot be None or a negative value. Received: "
                             f"threshold={threshold}")
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold

    def call(self, inputs, training=False):
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)


@register("layer")
class LeakyReLU(_Elementwise):
    """``x`` for x >= 0, ``negative_slope * x`` below (default 0.3; Keras 2's ``alpha=`` still works, with a
    DeprecationWarning).

    Args:
        negative_slope: The slope applied to negative inputs.
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            self._init_args.pop("alpha", None)
            warn_legacy("Argument `alpha` is deprecated. Use `negative_slope` instead.")
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError("The negative_slope value of a Leaky ReLU layer cannot be None or negative value. "
                             f"Expected a float. Received: negative_slope={negative_slope}")
        self.negative_slope = negative_slope

    def call(self, inputs, training=False):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)


@register("layer")
class ELU(_Elementwise):
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` below.

    Args:
        alpha: The scale of the negative part, alpha * (exp(x) - 1).
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs, training=False):
        return activations.elu(inputs, alpha=self.alpha)


@register("layer")
class Softmax(_Elementwise):
    """Softmax along ``axis`` (an int, or a list of ints normalized jointly).

    A mask (1 keep, 0 drop; broadcastable to the inputs) sets the dropped logits to -1e9 and their outputs
    to 0, as Keras does.

    Args:
        axis: The axis (or list of axes) the softmax normalizes over.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs, training=False, mask=None):
        if mask is not None:
            mask = _broadcastable_mask(mask, inputs.shape)
            inputs = ops.where(mask, inputs, -1e9)
        if isinstance(self.axis, (tuple, list)) and len(self.axis) > 1:
            axis = tuple(self.axis)
            outputs = ops.exp(inputs - ops.logsumexp(inputs, axis=axis, keepdims=True))
        else:
            axis = self.axis[0] if isinstance(self.axis, (tuple, list)) else self.axis
            outputs = activations.softmax(inputs, axis=axis)
        if mask is not None:
            outputs = ops.where(mask, outputs, 0.0)
        return outputs


def _broadcastable_mask(mask, shape):
    """The mask as booleans, after Keras's check that it broadcasts against inputs of ``shape``."""
    mask = backend.xp.asarray(getattr(mask, "data", mask))
    if mask.ndim > len(shape):
        raise ValueError("The `mask` must be broadcastable to `inputs` and must not have more dimensions. "
                         f"Received: inputs.shape={shape}, mask.shape={mask.shape}")
    for m_dim, i_dim in zip(mask.shape[::-1], shape[::-1]):
        if m_dim != 1 and m_dim != i_dim:
            raise ValueError("The `mask` must be broadcastable to `inputs`. Each mask dimension must be 1 or "
                             f"match the corresponding input dimension. Received: inputs.shape={shape}, "
                             f"mask.shape={mask.shape}")
    return mask if mask.dtype == bool else mask > 0.5


@register("layer")
class PReLU(_Elementwise):
    """Parametric ReLU: ``x`` for x >= 0, ``alpha * x`` below, with a learned ``alpha``.

    Weight alpha : input_shape[1:] with each axis in ``shared_axes`` (1-based, batch excluded) set to 1.

    Args:
        alpha_initializer: How the learned slopes of negative inputs are initialized.
        alpha_regularizer: A penalty on the learned slopes, added to the loss.
        alpha_constraint: A constraint applied to the learned slopes after each step.
        shared_axes: Axes along which one slope is shared, e.g. [1, 2] for one slope per channel of an image.
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif not isinstance(shared_axes, (list, tuple)):
            self.shared_axes = [shared_axes]
        else:
            self.shared_axes = list(shared_axes)

    def build(self, input_shape):
        param_shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            param_shape[axis - 1] = 1
        self.alpha = self.add_weight("alpha", tuple(param_shape), self.alpha_initializer,
                                     self.alpha_regularizer, self.alpha_constraint)

    def call(self, inputs, training=False):
        return ops.prelu(inputs, self.alpha)
