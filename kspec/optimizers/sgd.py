"""Stochastic gradient descent with optional (Nesterov) momentum."""
from kspec import backend
from kspec.optimizers.base import Optimizer
from kspec.registry import register


@register("optimizer", "sgd")
class SGD(Optimizer):
    """momentum = 0: ``w -= lr * g``. Otherwise ``v = m * v - lr * g``; plain ``w += v``;
    nesterov ``w += m * v - lr * g`` (with the new v)."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = nesterov

    def build(self, variables):
        if self.momentum:
            for v in variables:
                self.add_slot(v, "momentum")
        super().build(variables)

    def update_step(self, g, w, lr):
        if not self.momentum:
            w.data -= lr * g
            return
        m = backend.f32(self.momentum)
        v = self.slot(w, "momentum")
        v *= m
        v -= lr * g
        if self.nesterov:
            w.data += m * v - lr * g
        else:
            w.data += v

    def _own_config(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}
