"""Keras 3 activations as functions of Tensors, registered under Keras's function names.

Each takes a Tensor x : (...) and returns a Tensor of the same shape and dtype (``glu`` halves ``axis``).
The common ones are engine primitives with hand-written backward passes; the rest are built from engine
ops so they differentiate automatically. ``softmax`` and ``sigmoid`` outputs carry ``.logits``.
Aliases as in Keras: ``swish`` -> silu, ``hard_swish`` -> hard_silu. ``get(None)`` is linear.

Args:
    negative_slope: The slope applied to inputs below threshold.
    max_value: The largest output value (null: unbounded).
    threshold: The value below which inputs are changed (relu: scaled by negative_slope; shrink functions:
        zeroed within +-threshold).
    axis: The axis the function normalizes (or, for glu, splits) over.
    alpha: The scale of the negative part.
    b: The smoothness of the curve near 0 (0: relu).
    approximate: Whether to use the tanh approximation of GELU.
    default_value: The value given to inputs below threshold.
"""
import warnings

from kspec import backend, registry
from kspec.engine import Tensor, as_tensor, ops
from kspec.registry import register


def _float_tensor(x):
    """x as a Tensor of a floating dtype (integer inputs become floatx)."""
    x = as_tensor(x)
    if x.data.dtype.kind != "f":
        x = Tensor(x.data.astype(backend.floatx))
    return x


# -- ReLU family ---------------------------------------------------------------------------------------
@register("activation")
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """``x`` above ``threshold`` (else 0), capped at ``max_value``; ``negative_slope * (x - threshold)`` below."""
    if negative_slope == 0.0 and threshold == 0.0:
        if max_value is None:
            return ops.relu(_float_tensor(x))
        if max_value == 6:
            return ops.relu6(x)
    return ops.relu_ext(x, negative_slope, max_value, threshold)


@register("activation")
def leaky_relu(x, negative_slope=0.2):
    """``x`` where x >= 0, else ``negative_slope * x`` (the LeakyReLU *layer* defaults to 0.3)."""
    return ops.leaky_relu(x, negative_slope)


@register("activation")
def relu6(x):
    """min(max(x, 0), 6)."""
    return ops.relu6(x)


# -- normalizing -----------------------------------------------------------------------------------------
@register("activation")
def softmax(x, axis=-1):
    """exp(x - max) / sum(exp(x - max)) along ``axis``; the output keeps ``.logits`` (axis -1)."""
    x = _float_tensor(x)
    if isinstance(axis, int) and x.shape[axis] == 1:
        warnings.warn(f"You are using a softmax over axis {axis} of a tensor of shape {x.shape}. This axis "
                      "has size 1. The softmax operation will always return the value 1, which is likely "
                      "not what you intended. Did you mean to use a sigmoid instead?", stacklevel=2)
    return ops.softmax(x, axis)


@register("activation")
def log_softmax(x, axis=-1):
    """x - max - log(sum(exp(x - max))) along ``axis``."""
    return ops.log_softmax(_float_tensor(x), axis)


@register("activation")
def sparsemax(x, axis=-1):
    """Projection of x onto the probability simplex along ``axis`` (sparse probabilities)."""
    return ops.sparsemax(x, axis)


@register("activation")
def glu(x, axis=-1):
    """Gated linear unit: ``a * sigmoid(b)`` where ``a, b`` are the two halves of x along ``axis``."""
    x = _float_tensor(x)
    if x.shape[axis] % 2 != 0:
        raise ValueError(f"axis size must be divisible by 2. Received: x.shape={x.shape} with axis={axis}")
    a, b = ops.split(x, 2, axis)
    return a * ops.sigmoid(b)


# -- exponential units -------------------------------------------------------------------------------------
@register("activation")
def elu(x, alpha=1.0):
    """``x`` where x > 0, else ``alpha * (exp(x) - 1)``."""
    return ops.elu(x, alpha)


@register("activation")
def selu(x):
    """``scale * elu(x, alpha)`` with alpha=1.67326324, scale=1.05070098."""
    return ops.selu(x)


@register("activation")
def celu(x, alpha=1.0):
    """``max(x, 0) + alpha * expm1(min(x, 0) / alpha)``; max and min split the tie at 0, so the slope is 1."""
    x = _float_tensor(x)
    return ops.maximum(x, 0.0) + ops.expm1(ops.minimum(x, 0.0) / alpha) * alpha


@register("activation")
def exponential(x):
    """exp(x)."""
    return ops.exp(_float_tensor(x))


# -- smooth units ------------------------------------------------------------------------------------------
@register("activation")
def softplus(x):
    """log(1 + exp(x)), computed as logaddexp(x, 0)."""
    return ops.softplus(x)


@register("activation")
def softsign(x):
    """x / (1 + |x|)."""
    x = _float_tensor(x)
    return x / (ops.abs(x) + 1.0)


@register("activation")
def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2."""
    x = _float_tensor(x)
    return (x + ops.sqrt(ops.square(x) + float(b))) / 2.0


@register("activation", "swish")
def silu(x):
    """x * sigmoid(x) (alias ``swish``)."""
    return ops.silu(x)


@register("activation")
def gelu(x, approximate=False):
    """Gaussian error linear unit: exact ``x * Phi(x)`` by default, the tanh form with ``approximate=True``."""
    return ops.gelu(x, approximate)


@register("activation")
def mish(x):
    """x * tanh(softplus(x))."""
    return ops.mish(x)


@register("activation")
def tanh(x):
    """Hyperbolic tangent."""
    return ops.tanh(_float_tensor(x))


@register("activation")
def tanh_shrink(x):
    """x - tanh(x)."""
    x = _float_tensor(x)
    return x - ops.tanh(x)


@register("activation")
def sigmoid(x):
    """1 / (1 + exp(-x)); the output keeps ``.logits``."""
    return ops.sigmoid(_float_tensor(x))


@register("activation")
def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x)."""
    return -ops.softplus(-_float_tensor(x))


# -- piecewise-linear units --------------------------------------------------------------------------------
@register("activation")
def hard_sigmoid(x):
    """Keras 3's ``clip(x / 6 + 0.5, 0, 1)``, computed as relu6(x + 3) / 6 (Keras 2 used 0.2x + 0.5)."""
    return ops.hard_sigmoid(x)


@register("activation", "hard_swish")
def hard_silu(x):
    """x * hard_sigmoid(x) (alias ``hard_swish``)."""
    return ops.hard_silu(x)


@register("activation")
def hard_tanh(x):
    """clip(x, -1, 1), written as JAX does (a ``where``), so the slope at +-1 is 1."""
    x = _float_tensor(x)
    one = x.dtype.type(1)
    return ops.where(x.data > one, one, ops.where(x.data < -one, -one, x))


@register("activation")
def sparse_sigmoid(x):
    """0 below -1, 1 above 1, (x + 1) / 2 between."""
    x = _float_tensor(x)
    t = x.dtype.type
    return ops.clip(x + 1.0, t(0), t(2)) * 0.5


@register("activation")
def sparse_plus(x):
    """0 for x <= -1, x for x >= 1, (x + 1)^2 / 4 between."""
    x = _float_tensor(x)
    inner = ops.square(x + 1.0) / 4.0
    return ops.where(x.data <= -1, 0.0, ops.where(x.data >= 1, x, inner))


@register("activation")
def soft_shrink(x, threshold=0.5):
    """x - threshold above threshold, x + threshold below -threshold, 0 between."""
    x = _float_tensor(x)
    t = x.dtype.type(threshold)
    return ops.where(x.data > t, x - float(threshold),
                     ops.where(x.data < -t, x + float(threshold), 0.0))


@register("activation")
def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    x = _float_tensor(x)
    return ops.where(backend.xp.abs(x.data) > x.dtype.type(threshold), x, 0.0)


@register("activation")
def threshold(x, threshold, default_value):
    """x where x > threshold, else ``default_value``."""
    x = _float_tensor(x)
    return ops.where(x.data > x.dtype.type(threshold), x, float(default_value))


@register("activation")
def linear(x):
    """The identity (``get(None)`` gives this)."""
    return x


# -- lookup ----------------------------------------------------------------------------------------------
def get(identifier):
    """An activation function from None (linear), a registered name, a Keras config dict or a callable."""
    if identifier is None:
        return linear
    name = identifier
    if isinstance(identifier, dict):
        # Keras 3 writes functions as {"class_name": "function", "config": "relu", ...}.
        config = identifier.get("config")
        name = config if isinstance(config, str) else identifier.get("class_name")
    if isinstance(name, str):
        fn = registry.lookup("activation", name)
        if fn is None:
            raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")
        return fn
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")


def serialize(fn):
    """The name Keras writes for an activation: its registered name (``swish`` -> ``silu``)."""
    name = registry.name_of("activation", fn)
    if name is not None:
        return name
    return getattr(fn, "keras_name", None) or getattr(fn, "__name__", str(fn))
