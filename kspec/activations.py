"""Keras activations as functions of Tensors, registered by name. ``get(None)`` is linear."""
from kspec.engine import ops
from kspec.registry import register, lookup


def _named(fn, name):
    fn.keras_name = name
    return fn


@register("activation")
def linear(x):
    return x


@register("activation")
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return ops.relu(x)
    raise NotImplementedError("relu with arguments")


@register("activation")
def tanh(x):
    return ops.tanh(x)


@register("activation")
def sigmoid(x):
    return ops.sigmoid(x)


@register("activation")
def softmax(x, axis=-1):
    return ops.softmax(x, axis)


def get(identifier):
    """An activation function from None, a name or a callable."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = lookup("activation", identifier)
        if fn is None:
            raise ValueError(f"unknown activation {identifier!r}")
        return fn
    if callable(identifier):
        return identifier
    raise ValueError(f"cannot use {identifier!r} as an activation")


def serialize(fn):
    return getattr(fn, "keras_name", None) or getattr(fn, "__name__", str(fn))
