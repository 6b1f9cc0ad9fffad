"""Stochastic gradient descent with optional (Nesterov) momentum."""
from kspec import backend
from kspec.optimizers.base import Optimizer, as_float
from kspec.registry import register


@register("optimizer", "sgd")
class SGD(Optimizer):
    """momentum = 0: ``w -= lr * g``. Otherwise ``v = momentum * v - lr * g``; plain ``w += v``;
    nesterov ``w += momentum * v - lr * g`` (with the new v). Slot (only when momentum != 0): momentum.

    Args:
        momentum: The velocity factor in [0, 1): 0 is plain gradient descent.
        nesterov: Whether to use Nesterov momentum (look ahead along the velocity).
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        momentum = as_float("momentum", momentum)
        if not 0 <= momentum <= 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum!r}")
        self.momentum = momentum
        self.nesterov = bool(nesterov)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        if self.momentum != 0:
            self.add_slots(variables, "momentum")

    def update_step(self, g, w, lr):
        if self.momentum == 0:
            w.data -= g * lr
            return
        momentum = backend.f32(self.momentum)
        v = self.slot(w, "momentum")
        v *= momentum
        v -= g * lr
        if self.nesterov:
            w.data += v * momentum - g * lr
        else:
            w.data += v
