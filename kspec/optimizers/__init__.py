"""Keras optimizers and learning-rate schedules; importing this package registers them.

Args:
    learning_rate: The step size: a number, or a learning-rate schedule such as {ExponentialDecay: {...}}.
    weight_decay: Decoupled weight decay: each weight shrinks by weight * weight_decay * learning_rate before
        its update (null: none).
    clipnorm: Clip each weight's gradient to this L2 norm (null: no clipping).
    clipvalue: Clip each gradient entry to [-clipvalue, clipvalue] (null: no clipping).
    global_clipnorm: Clip all gradients together to this global L2 norm (null: no clipping).
    use_ema: Whether to keep an exponential moving average of the weights.
    ema_momentum: The moving average's momentum: average = average * ema_momentum + weight * (1 -
        ema_momentum).
    ema_overwrite_frequency: Every how many steps the weights are replaced by their moving average (null:
        never during training).
    loss_scale_factor: The loss is multiplied by this factor before the gradients are taken, and the gradients
        divided by it after (null: 1).
    gradient_accumulation_steps: Update the weights only every this many steps, with the gradients averaged
        over them (null: every step).
    name: The optimizer's name.
    beta_1: The decay rate of the running mean of the gradients (first moment).
    beta_2: The decay rate of the running mean of the squared gradients (second moment).
    epsilon: A small constant added to the denominator for numerical stability.
    amsgrad: Whether to use the AMSGrad variant: divide by the largest second moment seen so far.
    rho: The decay rate of the running average of the squared gradients.
"""
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
