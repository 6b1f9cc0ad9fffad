"""Adamax: Adam with the infinity norm in place of the second moment."""
from kspec import backend
from kspec.optimizers.base import Optimizer, as_float
from kspec.registry import register


@register("optimizer", "adamax")
class Adamax(Optimizer):
    """``m += (g - m)*(1 - b1)``; ``u = max(b2*u, |g|)``; ``w -= lr*m / ((1 - b1**t)*(u + eps))`` with
    t = step + 1. Slots, interleaved per variable: momentum, norm."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = as_float("beta_1", beta_1)
        self.beta_2 = as_float("beta_2", beta_2)
        self.epsilon = as_float("epsilon", epsilon)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.add_slots(variables, ["momentum", "norm"])

    def update_step(self, g, w, lr):
        xp, f32 = backend.xp, backend.f32
        beta_1_power = f32(self.beta_1) ** f32(self.iterations + 1)
        m = self.slot(w, "momentum")
        u = self.slot(w, "norm")
        m += (g - m) * f32(1 - self.beta_1)
        xp.maximum(f32(self.beta_2) * u, xp.abs(g), out=u)
        w.data -= lr * m / ((f32(1.0) - beta_1_power) * (u + f32(self.epsilon)))
