"""The engine: float32 tensors, the reverse-mode tape and the differentiable ops."""
from kspec.engine import ops
from kspec.engine.tensor import Tensor, Variable, as_tensor, is_grad_enabled, make, no_grad

__all__ = ["Tensor", "Variable", "as_tensor", "make", "no_grad", "is_grad_enabled", "ops", "GradientTape"]


class GradientTape:
    """``with GradientTape() as tape: loss = ...; grads = tape.gradient(loss, variables)``."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def gradient(self, target, sources):
        for s in sources:
            s.grad = None
        target.backward()
        return [s.grad for s in sources]
