"""Keras 3 weight constraints: ``constraint(w) -> array``, applied to the weight array after each optimizer
step. They keep w's shape and dtype. Names: the class names and their snake_case forms (``max_norm``,
``min_max_norm``, ``non_neg``, ``unit_norm``).

Norms are taken over ``axis`` (an int or a list of ints; e.g. 0 for a Dense kernel (in, out), [0, 1, 2]
for a Conv2D kernel (kh, kw, in, out)), and the rescaling divides by ``epsilon + norm`` as Keras does.

Args:
    max_value: The largest norm allowed.
    min_value: The smallest norm allowed.
    rate: How far norms outside [min_value, max_value] move into it at each step (1: all the way).
    axis: The axis (or axes) the norms are taken over, e.g. 0 for a Dense kernel, [0, 1, 2] for a Conv2D
        kernel.
"""
from kspec import backend
from kspec.configurable import Configurable
from kspec.registry import register
from kspec.serialization import deserialize, serialize  # noqa: F401  (serialize: Keras's config form)


class Constraint(Configurable):
    """Base class: ``__call__(w)``; the config comes from the ``__init__`` signature."""

    registry_kind = "constraint"

    def __call__(self, w):
        return w


def _norms(w, axis):
    """sqrt(sum(w**2)) over ``axis``, kept for broadcasting."""
    axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return backend.xp.sqrt((w * w).sum(axis=axis, keepdims=True))


def _array(w):
    w = backend.xp.asarray(getattr(w, "data", w))
    return w if w.dtype.kind == "f" else w.astype(backend.floatx)


@register("constraint", "max_norm")
class MaxNorm(Constraint):
    """Rescale each slice along ``axis`` whose L2 norm exceeds ``max_value``:
    ``w * clip(norm, 0, max_value) / (epsilon + norm)``."""

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        w = _array(w)
        t = w.dtype.type
        norms = _norms(w, self.axis)
        desired = backend.xp.clip(norms, t(0), t(self.max_value))
        return w * (desired / (t(backend.EPSILON) + norms))


@register("constraint", "non_neg")
class NonNeg(Constraint):
    """max(w, 0)."""

    def __call__(self, w):
        w = _array(w)
        return backend.xp.maximum(w, w.dtype.type(0))


@register("constraint", "unit_norm")
class UnitNorm(Constraint):
    """``w / (epsilon + norm)`` along ``axis``."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = _array(w)
        return w / (w.dtype.type(backend.EPSILON) + _norms(w, self.axis))


@register("constraint", "min_max_norm")
class MinMaxNorm(Constraint):
    """Rescale toward norms in [min_value, max_value] along ``axis``: ``w * desired / (epsilon + norm)`` with
    ``desired = rate * clip(norm, min_value, max_value) + (1 - rate) * norm``."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        w = _array(w)
        t = w.dtype.type
        norms = _norms(w, self.axis)
        clipped = backend.xp.clip(norms, t(self.min_value), t(self.max_value))
        desired = t(self.rate) * clipped + t(1 - self.rate) * norms
        return w * (desired / (t(backend.EPSILON) + norms))


def get(identifier):
    """A constraint from a name, a config dict or an instance (None stays None)."""
    return deserialize("constraint", identifier)
