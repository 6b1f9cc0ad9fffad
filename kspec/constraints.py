"""Keras weight constraints: ``constraint(array) -> array``, applied after each optimizer step."""
from kspec import backend
from kspec.registry import register
from kspec.serialization import deserialize


class Constraint:
    registry_kind = "constraint"

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@register("constraint", "non_neg")
class NonNeg(Constraint):
    def __call__(self, w):
        return w * (w >= 0).astype(w.dtype)


def get(identifier):
    return deserialize("constraint", identifier)
