"""The engine: float32 tensors, the reverse-mode tape and the differentiable ops."""
from kspec.engine import ops
from kspec.engine.tape import GradientTape
from kspec.engine.tensor import Tensor, Variable, as_tensor, is_grad_enabled, make, no_grad

__all__ = ["Tensor", "Variable", "as_tensor", "make", "no_grad", "is_grad_enabled", "ops", "GradientTape"]
