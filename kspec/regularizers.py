"""Keras weight regularizers: ``reg(weight) -> scalar Tensor`` penalties added to the loss."""
from kspec.engine import ops
from kspec.registry import register
from kspec.serialization import deserialize


class Regularizer:
    registry_kind = "regularizer"

    def __call__(self, x):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@register("regularizer", "l1_l2")
class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        total = 0.0
        if self.l1:
            total = ops.sum(ops.abs(x)) * self.l1
        if self.l2:
            total = total + ops.sum(ops.square(x)) * self.l2
        return total if not isinstance(total, float) else ops.sum(x) * 0.0

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


@register("regularizer", "l1")
class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


@register("regularizer", "l2")
class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


def get(identifier):
    return deserialize("regularizer", identifier)
