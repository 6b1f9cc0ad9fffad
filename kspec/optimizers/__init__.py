"""Keras optimizers and learning-rate schedules; importing this package registers them."""
from kspec.optimizers import schedules  # noqa: F401
from kspec.optimizers.base import Optimizer
from kspec.optimizers.sgd import SGD
from kspec.serialization import deserialize


def get(identifier):
    """An Optimizer from a name (``"adam"``), a config dict or an instance."""
    return deserialize("optimizer", identifier)
