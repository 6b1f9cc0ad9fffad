"""Stopping at the first non-finite loss or gradient, and finding where it came from.

During training the guard costs one finiteness check per step: the sum of each gradient (NaN or inf in any
element makes the sum non-finite) before the optimizer applies them, and the running loss after the step.
When one fails, the batch is run again with checks (each layer's output, then each op's output and
gradient on the tape) to name the first layer and op that produced a non-finite number, and a likely cause.
The weights are left as they were before the failing update.
"""
import math

import numpy as np

from kspec import backend
from kspec.engine.tensor import topological_order
from kspec.errors import KspecError


class NonFiniteError(KspecError, ArithmeticError):
    """Training met a NaN or inf. Attributes: ``epoch`` and ``batch`` (counted from 1), ``where`` (the
    first layer/op found, or None), ``cause`` (a likely cause), ``batch_data`` (``{"x", "y",
    "sample_weight"}`` of the failing batch) and ``message``."""

    def __init__(self, message, epoch, batch, where=None, cause=None, batch_data=None):
        super().__init__(message)
        self.epoch, self.batch = epoch, batch
        self.where, self.cause = where, cause
        self.batch_data = batch_data or {}


def is_finite_sum(arrays):
    """Whether every element of every array is finite, via one sum per array (cheap, BLAS-free)."""
    total = 0.0
    for a in arrays:
        if a is not None:
            total += float(a.sum())
    return math.isfinite(total)


class NanGuard:
    """Checks each step of one fit; installed on the optimizer's ``apply`` for the duration of the fit."""

    def __init__(self, model, loop):
        self.model, self.loop = model, loop
        self.batch = None  # (x, y, sample_weight) of the step being checked
        self._rng = None
        self._optimizer = self._restore = None

    def install(self):
        optimizer = self.model.optimizer
        original = optimizer.apply
        while getattr(original, "_nan_guard", None) is not None:  # left by a fit that raised
            original = original._original
        own = getattr(original, "__func__", None) is not type(optimizer).apply  # someone's own wrapper

        def apply(grads, variables):
            if self.batch is not None and not is_finite_sum(grads):
                self.fail("a gradient")
            return original(grads, variables)

        apply._nan_guard, apply._original = self, original
        optimizer.apply = apply
        self._optimizer, self._restore = optimizer, (original if own else None)

    def uninstall(self):
        optimizer, self._optimizer = self._optimizer, None
        if optimizer is None or getattr(vars(optimizer).get("apply"), "_nan_guard", None) is not self:
            return
        if self._restore is not None:
            optimizer.apply = self._restore
        else:
            del optimizer.apply

    def batch_begin(self, batch):
        self.batch = batch
        self._rng = backend.generator().bit_generator.state

    def batch_end(self):
        loss = self.model._loss_tracker.result()
        if not math.isfinite(float(loss)):
            self.fail("the loss")
        self.batch = None

    def fail(self, what):
        (x, y, sw), self.batch = self.batch, None
        self.uninstall()
        epoch, batch = self.loop.epoch + 1, self.loop.step + 1
        where, cause = diagnose(self.model, x, y, sw, self._rng)
        text = f"training stopped: {what} became NaN or inf in epoch {epoch}, batch {batch}"
        if where:
            text += f"; first non-finite value: {where}"
        text += f". Likely cause: {cause}"
        raise NonFiniteError(text, epoch, batch, where, cause,
                             {"x": x, "y": y, "sample_weight": sw})


# -- the re-run with checks ---------------------------------------------------------------------------------

def _finite(a):
    return a is None or bool(np.isfinite(backend.to_numpy(a)).all())


def _tensors(value):
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return [value] if hasattr(value, "_parents") else []


def _nodes(outputs, stop_ids):
    """The tape's nodes from ``outputs`` back to (not into) the tensors in ``stop_ids``, parents first."""
    return topological_order([t for t in outputs if id(t) not in stop_ids],
                             lambda node: [p for p in node._parents if id(p) not in stop_ids])


def diagnose(model, x, y, sample_weight, rng_state=None):
    """``(where, cause)``: re-run one training batch with checks. ``where`` names the first layer (and op)
    whose output, or whose gradient, is non-finite ("layer 'dense_1' (Dense), op matmul, forward");
    ``cause`` a likely cause."""
    from kspec.models.data_adapter import flatten

    if rng_state is not None:
        backend.generator().bit_generator.state = rng_state
    if not all(_finite(a) for a in flatten(x)):
        return "the input batch", "the input data holds NaN or inf values (check the data files)"
    bad_weights = [w for w in model.weights if not _finite(w.data)]
    records = []
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    hooked = []
    for layer in layers:
        had_own = "call" in vars(layer)
        original = layer.call

        def call(inputs, *args, _layer=layer, _call=original, **kwargs):
            out = _call(inputs, *args, **kwargs)
            records.append((_layer, _tensors(inputs), _tensors(out)))
            return out

        layer.call = call
        hooked.append((layer, had_own, original))
    try:
        y_pred = model(x, training=True)
    finally:
        for layer, had_own, original in hooked:
            if had_own:
                layer.call = original
            else:
                del layer.call
    owner = {}
    for layer, inputs, outputs in records:
        for node in _nodes(outputs, {id(t) for t in inputs}):
            owner.setdefault(id(node), layer)
    lr = _learning_rate(model)
    for layer, inputs, outputs in records:
        if all(_finite(t.data) for t in outputs):
            continue
        nodes = _nodes(outputs, {id(t) for t in inputs})
        op = next((n.op for n in nodes if not _finite(n.data) and n.op), None)
        where = _name(layer, op, "forward pass")
        if bad_weights:
            return where, (f"weights are already NaN or inf: an earlier update overflowed; the learning rate "
                           f"({lr}) is likely too high (try a smaller one, or clipnorm: 1.0)")
        return where, _cause(op, layer, lr, model)
    loss = model.compute_loss(x, y, y_pred, sample_weight, track=False)
    if not _finite(loss.data):
        outputs = _tensors(y_pred)
        nodes = _nodes([loss], {id(t) for t in outputs})
        op = next((n.op for n in nodes if not _finite(n.data) and n.op), None)
        return f"the loss{f' (op {op})' if op else ''}", _cause(op or "log", None, lr, model)
    return _backward_check(model, loss, owner, lr)


def _backward_check(model, loss, owner, lr):
    """Backpropagate like ``Tensor.backward``, stopping at the first op whose input gradients are
    non-finite while its output gradient is finite."""
    xp = backend.xp
    order = _nodes([loss], set())
    loss.grad = xp.ones_like(loss.data)
    for node in reversed(order):
        g = node.grad
        if g is None or node._backward is None:
            continue
        grads = node._backward(g)
        for parent, pg in zip(node._parents, grads):
            if pg is None or not parent.requires_grad:
                continue
            if _finite(g) and not _finite(pg):
                layer = owner.get(id(node))
                where = _name(layer, node.op, "gradient") if layer is not None else \
                    f"the loss's gradient (op {node.op})"
                return where, _cause(node.op, layer, lr, model, backward=True)
            parent.grad = pg if parent.grad is None else parent.grad + pg
    return None, (f"the numbers overflowed only in the update; the learning rate ({lr}) is likely too "
                  "high (try a smaller one, or clipnorm: 1.0)")


def _name(layer, op, phase):
    text = f"layer {layer.name!r} ({type(layer).__name__})"
    if op:
        text += f", op {op}"
    return f"{text}, {phase}"


def _learning_rate(model):
    try:
        return f"{float(model.optimizer.current_learning_rate()):.3g}"
    except Exception:  # noqa: BLE001 - only for the message
        return "?"


def _cause(op, layer, lr, model, backward=False):
    biggest = max((float(np.abs(backend.to_numpy(w.data)).max()) for w in model.weights if w.size), default=0)
    high_lr = f"the learning rate ({lr}) is likely too high (try a smaller one, or clipnorm: 1.0)"
    if biggest > 1e6:
        return f"the weights grew large (max |w| = {biggest:.3g}): {high_lr}"
    if op in ("log", "categorical_crossentropy", "binary_crossentropy", "sparse_categorical_crossentropy",
              "log_softmax"):
        return ("log of 0 or of a negative number: an output the loss takes the log of reached 0 or 1, or "
                "went negative (use from_logits=True with a linear last layer, or a softmax/sigmoid/softplus "
                "output), or " + high_lr)
    if op in ("divide", "sqrt", "power"):
        return f"division by zero or the root of a negative number in {op}, or " + high_lr
    if op in ("exp", "softplus", "expm1", "softmax", "sigmoid"):
        return f"{op} overflowed on large inputs (normalize the inputs), or " + high_lr
    return high_lr
