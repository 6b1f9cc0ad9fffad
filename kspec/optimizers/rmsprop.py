"""RMSprop: scale the step by a moving root-mean-square of the gradients."""
from kspec import backend
from kspec.optimizers.base import Optimizer, as_float
from kspec.registry import register


@register("optimizer", "rmsprop")
class RMSprop(Optimizer):
    """``s = rho*s + (1-rho)*g**2``; centered: ``a = rho*a + (1-rho)*g``, ``den = s - a**2 + eps``, else
    ``den = s + eps``; ``inc = lr*g / sqrt(den)`` (eps inside the sqrt); momentum > 0: ``m = momentum*m +
    inc; w -= m``, else ``w -= inc``. Slots, each a block over all variables: velocity, momentum (when
    momentum > 0), average_gradient (when centered).

    Args:
        momentum: The momentum factor of the update (0: none).
        centered: Whether to divide by the estimated variance of the gradients instead of their raw second
            moment.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = as_float("rho", rho)
        self.momentum = as_float("momentum", momentum)
        self.epsilon = as_float("epsilon", epsilon)
        self.centered = bool(centered)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.add_slots(variables, "velocity")
        if self.momentum > 0:
            self.add_slots(variables, "momentum")
        if self.centered:
            self.add_slots(variables, "average_gradient")

    def update_step(self, g, w, lr):
        xp = backend.xp
        rho, one_minus_rho = backend.f32(self.rho), backend.f32(1 - self.rho)
        eps = backend.f32(self.epsilon)
        velocity = self.slot(w, "velocity")
        velocity[...] = rho * velocity + one_minus_rho * xp.square(g)
        if self.centered:
            average = self.slot(w, "average_gradient")
            average[...] = rho * average + one_minus_rho * g
            denominator = velocity - xp.square(average) + eps
        else:
            denominator = velocity + eps
        increment = lr * g / xp.sqrt(denominator)
        if self.momentum > 0:
            m = self.slot(w, "momentum")
            m[...] = backend.f32(self.momentum) * m + increment
            w.data -= m
        else:
            w.data -= increment
