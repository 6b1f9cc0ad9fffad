"""Keras 3 weight regularizers: ``regularizer(weight) -> scalar Tensor`` penalties added to the loss.

The penalty is built from engine ops, so it is differentiated with the rest of the loss. Names: the class
names and their snake_case forms (``l1``, ``l2``, ``l1l2``, ``orthogonal_regularizer``), plus ``l1_l2``,
which Keras 3 documents (and Keras 2 resolved) as ``L1L2(l1=0.01, l2=0.01)``.

Args:
    l1: The L1 factor: penalty += l1 * sum(|w|).
    l2: The L2 factor: penalty += l2 * sum(w ** 2).
    factor: The penalty factor.
    mode: rows or columns: which vectors of the weight matrix are pushed to be orthogonal.
"""
import math

from kspec import backend
from kspec.configurable import Configurable
from kspec.engine import Tensor, as_tensor, ops
from kspec.registry import register
from kspec.serialization import deserialize, serialize  # noqa: F401  (serialize: Keras's config form)


def _validate(value, name):
    """A non-negative finite float, as Keras's ``validate_float_arg`` demands."""
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or math.isinf(value)
            or math.isnan(value) or value < 0):
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float. "
                         f"Received: {name}={value}")
    return float(value)


def _float32(value):
    """The float a Keras regularizer reports after storing ``value`` as a float32 tensor."""
    return float(backend.f32(value))


class Regularizer(Configurable):
    """Base class: ``__call__(x)`` -> a scalar penalty; the config comes from the ``__init__`` signature."""

    registry_kind = "regularizer"

    def __call__(self, x):
        raise NotImplementedError


def _scaled(factor, total):
    """``factor * total`` with the factor cast to the penalty's dtype."""
    return total * total.dtype.type(factor)


@register("regularizer", "l1l2")
class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``. x : any shape -> scalar Tensor."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _validate(0.0 if l1 is None else l1, "l1")
        self.l2 = _validate(0.0 if l2 is None else l2, "l2")

    def __call__(self, x):
        x = as_tensor(x)
        total = Tensor(backend.xp.zeros((), dtype=x.dtype))
        if self.l1 != 0.0:
            total = total + _scaled(self.l1, ops.sum(ops.abs(x)))
        if self.l2 != 0.0:
            total = total + _scaled(self.l2, ops.sum(ops.square(x)))
        return total


class _L1L2Defaults(L1L2):
    """``'l1_l2'``: L1L2 with both factors 0.01 (Keras 3's documented meaning, Keras 2's behaviour)."""

    def __init__(self, l1=0.01, l2=0.01):
        super().__init__(l1, l2)


# It serializes as a plain L1L2 (its config carries both factors).
_L1L2Defaults.__name__ = _L1L2Defaults.__qualname__ = "L1L2"
register("regularizer", name="l1_l2")(_L1L2Defaults)


@register("regularizer", "l1")
class L1(Regularizer):
    """``l1 * sum(|x|)``. x : any shape -> scalar Tensor."""

    def __init__(self, l1=0.01):
        # Keras keeps l1 as a float32 tensor, so its config reads e.g. 0.009999999776482582.
        self.l1 = _float32(_validate(0.01 if l1 is None else l1, "l1"))

    def __call__(self, x):
        return _scaled(self.l1, ops.sum(ops.abs(as_tensor(x))))


@register("regularizer", "l2")
class L2(Regularizer):
    """``l2 * sum(x**2)``. x : any shape -> scalar Tensor."""

    def __init__(self, l2=0.01):
        self.l2 = _validate(0.01 if l2 is None else l2, "l2")

    def __call__(self, x):
        return _scaled(self.l2, ops.sum(ops.square(as_tensor(x))))


@register("regularizer", "orthogonal_regularizer")
class OrthogonalRegularizer(Regularizer):
    """``factor / 2 * mean |<u_i, u_j>|`` over pairs i < j of L2-normalized rows (or columns) of a 2-D x.

    x : (rows, cols) -> scalar Tensor. Normalization is ``x * min(1/||x||, 1/epsilon)`` as in Keras.
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _float32(_validate(factor, "factor"))
        if mode not in ("rows", "columns"):
            raise ValueError(f'Invalid value for argument `mode`. Expected one of {{"rows", "columns"}}. '
                             f"Received: mode={mode}")
        self.mode = mode

    def __call__(self, x):
        x = as_tensor(x)
        if x.ndim != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: inputs.shape={x.shape}")
        t = x.dtype.type
        axis = 1 if self.mode == "rows" else 0
        # min(1/||x||, 1/eps) written as 1/sqrt(max(||x||^2, eps^2)): finite gradients for zero rows.
        squares = ops.sum(ops.square(x), axis=axis, keepdims=True)
        unit = x / ops.sqrt(ops.maximum(squares, t(backend.EPSILON ** 2)))
        product = unit @ unit.T if self.mode == "rows" else unit.T @ unit
        size = product.shape[0]
        off_diagonal = t(1) - backend.xp.eye(size, dtype=x.dtype)
        pairs = size * (size - 1.0) / 2.0
        return ops.sum(ops.abs(product * off_diagonal)) * t(self.factor * 0.5) / t(pairs)


def get(identifier):
    """A regularizer from a name, a config dict or an instance (None stays None)."""
    return deserialize("regularizer", identifier)
