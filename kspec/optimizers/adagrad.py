"""Adagrad: per-coordinate steps scaled by the accumulated squared gradients."""
from kspec import backend
from kspec.optimizers.base import Optimizer, as_float
from kspec.registry import register


@register("optimizer", "adagrad")
class Adagrad(Optimizer):
    """``acc += g**2; w -= lr*g / sqrt(acc + eps)`` (eps inside the sqrt). Slot: accumulator, starting at
    ``initial_accumulator_value``.

    Args:
        initial_accumulator_value: The starting value of the per-weight sums of squared gradients.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = as_float("initial_accumulator_value", initial_accumulator_value)
        self.epsilon = as_float("epsilon", epsilon)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.add_slots(variables, "accumulator", self.initial_accumulator_value)

    def update_step(self, g, w, lr):
        xp = backend.xp
        accumulator = self.slot(w, "accumulator")
        accumulator += xp.square(g)
        w.data -= lr * g / xp.sqrt(accumulator + backend.f32(self.epsilon))
