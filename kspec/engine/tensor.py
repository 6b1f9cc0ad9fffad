"""Tensors and the reverse-mode tape.

A :class:`Tensor` wraps one array. An op that has an input needing a gradient records its parents and a
``backward`` closure on its output: ``backward(g)`` returns one gradient per parent (None where that
parent needs none). :meth:`Tensor.backward` walks the graph in reverse topological order and accumulates
gradients with ``+`` so fan-out (shared layers, residual branches) adds up by construction.
"""
import contextlib

from kspec import backend

_grad_enabled = True
_recording = ()  # the ids of the GradientTapes recording now (kspec.engine.tape)


def is_grad_enabled():
    return _grad_enabled


@contextlib.contextmanager
def no_grad():
    """Run ops without recording the tape (inference)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


class Tensor:
    """An array with an optional gradient and the op that produced it.

    Attributes
    ----------
    data : ndarray
    grad : ndarray or None, filled by :meth:`backward` where ``requires_grad``.
    requires_grad : bool
    keras_mask : ndarray of bool or None, a Keras-style mask carried with the tensor.
    logits : Tensor or None, set by softmax/sigmoid so a crossentropy can use the pre-activation values.
    """

    __slots__ = ("data", "grad", "requires_grad", "_parents", "_backward", "op", "keras_mask", "logits", "tapes",
                 "__weakref__")
    __array_priority__ = 100

    def __init__(self, data, requires_grad=False, parents=(), backward=None, op=None):
        self.data = data
        self.grad = None
        self.requires_grad = requires_grad
        self._parents = parents
        self._backward = backward
        self.op = op
        self.keras_mask = None
        self.logits = None
        self.tapes = ()  # ids of the GradientTapes that recorded the op making this tensor

    # -- array-like facade ---------------------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        return self.data.size

    def __len__(self):
        return len(self.data)

    def numpy(self):
        return backend.to_numpy(self.data)

    def __array__(self, dtype=None, copy=None):
        arr = backend.to_numpy(self.data)
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def __float__(self):
        return float(self.data)

    def __int__(self):
        return int(self.data)

    def item(self):
        return self.data.item()

    def __repr__(self):
        flag = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor(shape={self.shape}, dtype={self.dtype}{flag})"

    # -- autodiff ------------------------------------------------------------------------------------
    def backward(self, grad=None):
        """Backpropagate from this tensor (a scalar unless ``grad`` is given)."""
        xp = backend.xp
        if grad is None:
            grad = xp.ones_like(self.data)
        order = topological_order([self])
        self.grad = grad if self.grad is None else self.grad + grad
        for node in reversed(order):
            g = node.grad
            if g is None or node._backward is None:
                continue
            grads = node._backward(g)
            for parent, pg in zip(node._parents, grads):
                if pg is None or not parent.requires_grad:
                    continue
                parent.grad = pg if parent.grad is None else parent.grad + pg
            if node._parents:  # an intermediate: its gradient is spent, free it
                node.grad = None
            node._backward = None
            node._parents = ()

    def detach(self):
        return Tensor(self.data)

    # Operator overloads are attached in kspec.engine.ops (they need the op functions).


def topological_order(roots, parents=None):
    """The nodes reachable from ``roots``, parents before children (the last root is walked first).
    ``parents(node)`` gives the nodes to walk into; by default the node's parents that need a gradient."""
    order, seen, stack = [], set(), [(root, False) for root in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for parent in (node._parents if parents is None else parents(node)):
            if (parents is not None or parent.requires_grad) and id(parent) not in seen:
                stack.append((parent, False))
    return order


class Variable(Tensor):
    """A trainable (or non-trainable) model weight: a leaf Tensor with a name and optional constraint."""

    __slots__ = ("name", "path", "trainable", "constraint", "regularizer")

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, name="variable", constraint=None,
                 regularizer=None, path=None, autocast=True, aggregation="none", synchronization="auto"):
        """Keras 3's signature: ``initializer`` is the value (array, Tensor or number) or a callable
        ``(shape, dtype)`` (an initializer object) with ``shape``. An array keeps its dtype (float64 ones serve the
        gradient checks); Python floats become float32."""
        xp = backend.xp
        if isinstance(initializer, str):
            raise TypeError(f"Variable: pass an initializer object, e.g. kspec.initializers.get({initializer!r}), "
                            "or a value")
        if callable(initializer) and not isinstance(initializer, Tensor):
            if shape is None:
                raise ValueError("a Variable made from an initializer needs `shape`")
            data = xp.asarray(initializer(tuple(shape), dtype or backend.floatx))
        else:
            data = initializer.data if isinstance(initializer, Tensor) else initializer
            if dtype is not None:
                data = xp.asarray(data, dtype=dtype)
            elif not hasattr(data, "dtype"):  # Python numbers and lists: floats become float32
                data = xp.asarray(data)
                if data.dtype == xp.float64:
                    data = data.astype(backend.floatx)
        super().__init__(data, requires_grad=trainable)
        self.name = name
        self.path = path or name
        self.trainable = trainable
        self.constraint = constraint
        self.regularizer = regularizer

    def assign(self, value):
        """Copy ``value`` (array, Tensor or number) into the variable in place, keeping its dtype and shape."""
        value = backend.xp.asarray(value.data if isinstance(value, Tensor) else value)
        if value.shape != self.data.shape and value.ndim:
            raise ValueError(f"cannot assign shape {value.shape} to variable {self.path!r} of shape "
                             f"{self.data.shape}")
        self.data[...] = value
        return self

    def assign_add(self, delta):
        """``variable += delta`` in place."""
        self.data += backend.xp.asarray(delta.data if isinstance(delta, Tensor) else delta, dtype=self.dtype)
        return self

    def assign_sub(self, delta):
        """``variable -= delta`` in place."""
        self.data -= backend.xp.asarray(delta.data if isinstance(delta, Tensor) else delta, dtype=self.dtype)
        return self

    @property
    def value(self):
        """The variable as a Tensor (gradients flow through it, as through the variable)."""
        return self

    def numpy(self):
        """A copy of the current value (later updates do not change it)."""
        return backend.to_numpy(self.data).copy()

    def __repr__(self):
        return f"Variable({self.path!r}, shape={self.shape}, dtype={self.dtype})"


def as_tensor(x):
    """Wrap arrays and Python numbers (as float32 unless already an array) in a constant Tensor."""
    if isinstance(x, Tensor):
        return x
    xp = backend.xp
    if isinstance(x, (int, float)):
        return Tensor(xp.asarray(x, dtype=backend.floatx))
    arr = xp.asarray(x)
    if arr.dtype == xp.float64:
        arr = arr.astype(backend.floatx)
    return Tensor(arr)


def make(data, parents, backward, op=None):
    """Create an op's output: it joins the tape only when grad mode is on and a parent needs a gradient."""
    if _grad_enabled:
        for p in parents:
            if p.requires_grad:
                out = Tensor(data, True, parents, backward, op)
                if _recording:
                    out.tapes = _recording
                return out
    return Tensor(data, op=op)
