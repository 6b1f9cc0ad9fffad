"""Adam and AdamW (Adam with decoupled weight decay)."""
from kspec import backend
from kspec.optimizers.base import Optimizer, as_float
from kspec.registry import register


@register("optimizer", "adam")
class Adam(Optimizer):
    """``m += (g - m)*(1 - b1)``; ``v += (g**2 - v)*(1 - b2)``; amsgrad: ``v_hat = max(v_hat, v)`` replaces
    v; ``alpha = lr*sqrt(1 - b2**t) / (1 - b1**t)``; ``w -= m*alpha / (sqrt(v) + eps)`` with t = step + 1
    (eps added to sqrt(v), not bias-corrected). Slots: momentum and velocity interleaved per variable,
    then a velocity_hat block when amsgrad."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = as_float("beta_1", beta_1)
        self.beta_2 = as_float("beta_2", beta_2)
        self.epsilon = as_float("epsilon", epsilon)
        self.amsgrad = bool(amsgrad)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.add_slots(variables, ["momentum", "velocity"])
        if self.amsgrad:
            self.add_slots(variables, "velocity_hat")

    def update_step(self, g, w, lr):
        xp, f32 = backend.xp, backend.f32
        one = f32(1.0)
        t = f32(self.iterations + 1)
        alpha = lr * xp.sqrt(one - f32(self.beta_2) ** t) / (one - f32(self.beta_1) ** t)
        m = self.slot(w, "momentum")
        v = self.slot(w, "velocity")
        m += (g - m) * f32(1 - self.beta_1)
        v += (xp.square(g) - v) * f32(1 - self.beta_2)
        if self.amsgrad:
            v_hat = self.slot(w, "velocity_hat")
            xp.maximum(v_hat, v, out=v_hat)
            v = v_hat
        w.data -= m * alpha / (xp.sqrt(v) + f32(self.epsilon))


@register("optimizer", "adamw")
class AdamW(Adam):
    """Adam after decoupled weight decay ``w -= w*weight_decay*lr`` (default 0.004; None is an error)."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
