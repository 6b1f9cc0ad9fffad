"""Keras optimizers and learning-rate schedules; importing this package registers them."""
from kspec.optimizers import schedules  # noqa: F401
from kspec.optimizers.adadelta import Adadelta
from kspec.optimizers.adagrad import Adagrad
from kspec.optimizers.adam import Adam, AdamW
from kspec.optimizers.adamax import Adamax
from kspec.optimizers.base import Optimizer
from kspec.optimizers.nadam import Nadam
from kspec.optimizers.rmsprop import RMSprop
from kspec.optimizers.schedules import LearningRateSchedule
from kspec.optimizers.sgd import SGD
from kspec.serialization import deserialize

__all__ = ["Optimizer", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "AdamW", "Adamax", "Nadam",
           "LearningRateSchedule", "get"]


def get(identifier):
    """An Optimizer from a name (``"adam"``, any case), a config dict or an instance."""
    return deserialize("optimizer", identifier)
