"""Adadelta: steps scaled by the ratio of running RMS of updates to running RMS of gradients."""
from kspec import backend
from kspec.optimizers.base import Optimizer, as_float
from kspec.registry import register


@register("optimizer", "adadelta")
class Adadelta(Optimizer):
    """``Eg = rho*Eg + (1-rho)*g**2``; ``d = -sqrt(Ex + eps)*g / sqrt(Eg + eps)``;
    ``Ex = rho*Ex + (1-rho)*d**2``; ``w += lr*d``. Keras 3's default lr is 0.001 (Keras 2.2.4: 1.0).
    Slots, interleaved per variable: accumulated_grad, accumulated_delta_var."""

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = as_float("rho", rho)
        self.epsilon = as_float("epsilon", epsilon)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.add_slots(variables, ["accumulated_grad", "accumulated_delta_var"])

    def update_step(self, g, w, lr):
        xp = backend.xp
        rho, one_minus_rho = backend.f32(self.rho), backend.f32(1 - self.rho)
        eps = backend.f32(self.epsilon)
        grad_sq = self.slot(w, "accumulated_grad")
        delta_sq = self.slot(w, "accumulated_delta_var")
        grad_sq[...] = rho * grad_sq + one_minus_rho * xp.square(g)
        delta = -(xp.sqrt(delta_sq + eps) * g / xp.sqrt(grad_sq + eps))
        delta_sq[...] = rho * delta_sq + one_minus_rho * xp.square(delta)
        w.data += lr * delta
