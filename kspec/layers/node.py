"""Symbolic tensors and the calls that record a graph: ``keras.Input``, KerasTensor and Node.

Calling a layer on a :class:`KerasTensor` records a :class:`Node` (the layer, its symbolic inputs and
outputs) instead of computing; a layer called twice has two nodes and one set of weights.
:class:`kspec.models.functional.Functional` runs such a graph.
"""
from kspec.layers.input_layer import InputLayer


class KerasTensor:
    """A symbolic tensor: a shape (batch first, None where free), a dtype and where it comes from.

    ``history`` is ``(layer, node_index, tensor_index)``: the output ``tensor_index`` of the layer's
    ``node_index``-th call.
    """

    is_symbolic = True

    def __init__(self, shape, dtype="float32", history=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.history = history

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def layer(self):
        return self.history[0]

    @property
    def name(self):
        return self.history[0].name

    @property
    def node(self):
        layer, node_index, _ = self.history
        return layer._inbound_nodes[node_index]

    def apply_layer(self, layer, inputs, kwargs=None):
        """What ``layer(inputs, **kwargs)`` does when symbolic (called by ``Layer.__call__``)."""
        return _apply_layer(layer, inputs, kwargs or {})

    def __repr__(self):
        layer, node_index, tensor_index = self.history
        return f"<KerasTensor shape={self.shape} from {layer.name}[{node_index}][{tensor_index}]>"


class Node:
    """One call of a layer in a graph. ``args`` is what the layer was called on (one KerasTensor or a
    list); ``kwargs`` its further call arguments (``initial_state``: a list of KerasTensors);
    ``input_tensors`` the flat list of both (Keras's order: args, then kwargs); ``outputs`` the list of
    output KerasTensors."""

    def __init__(self, layer, args, outputs, kwargs=None):
        self.layer = layer
        self.args = args
        self.kwargs = dict(kwargs or {})
        self.input_tensors = _symbolic_leaves([args, list(self.kwargs.values())])
        self.outputs = outputs

    @property
    def is_input(self):
        return not self.input_tensors

    @property
    def parent_nodes(self):
        return [t.node for t in self.input_tensors]


def nodes_of(layer):
    if "_inbound_nodes" not in layer.__dict__:
        layer._inbound_nodes = []
    return layer._inbound_nodes


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None):
    """A symbolic input ``(batch_size, *shape)``: the start of a graph (``keras.Input``)."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name, batch_shape=batch_shape)
    return input_tensor(layer)


def input_tensor(layer):
    """The symbolic output of an InputLayer (its one node, created on first use)."""
    nodes = nodes_of(layer)
    if not nodes:
        layer.input_shape = layer.output_shape = tuple(layer.batch_shape)
        out = KerasTensor(layer.batch_shape, layer.input_dtype, (layer, 0, 0))
        nodes.append(Node(layer, None, [out]))
    return nodes[0].outputs[0]


def is_shape_list(shape):
    return isinstance(shape, list) and bool(shape) and isinstance(shape[0], (tuple, list))


def _symbolic_leaves(value):
    """The KerasTensors in a nest of lists (None and other values skipped)."""
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _symbolic_leaves(v)]
    return [value] if getattr(value, "is_symbolic", False) else []


def map_tensors(fn, value):
    """``value`` with each KerasTensor ``t`` in a nest of lists replaced by ``fn(t)``."""
    if isinstance(value, (list, tuple)):
        return [map_tensors(fn, v) for v in value]
    return fn(value) if getattr(value, "is_symbolic", False) else value


def _apply_layer(layer, inputs, kwargs):
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    flat = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    for key, value in kwargs.items():
        if key != "training":  # a plain value; the other call arguments are tensors
            flat += value if isinstance(value, (list, tuple)) else [value]
    for t in flat:
        if not getattr(t, "is_symbolic", False):
            raise TypeError(f"layer {layer.name!r} was called on a mix of symbolic tensors and "
                            f"{type(t).__name__}; a graph's layers take symbolic tensors only")
    if isinstance(inputs, (list, tuple)):
        shape = [tuple(t.shape) for t in inputs]
        args = list(inputs)
    else:
        shape = tuple(inputs.shape)
        args = inputs
    if layer.built and layer.input_shape is not None:
        _check_compatible(layer, shape)
        out_shape = layer.compute_output_shape(shape)
    else:
        layer.ensure_built(shape)
        out_shape = layer.output_shape
    nodes = nodes_of(layer)
    index = len(nodes)
    shapes = out_shape if is_shape_list(out_shape) else [out_shape]
    outputs = [KerasTensor(s, layer.dtype, (layer, index, i)) for i, s in enumerate(shapes)]
    nodes.append(Node(layer, args, outputs, kwargs))
    return outputs if is_shape_list(out_shape) else outputs[0]


def _check_compatible(layer, shape):
    """A built layer called again (a shared layer) needs inputs shaped as on its first call (free
    sizes, None, match anything)."""
    expected = layer.input_shape
    want = [tuple(s) for s in expected] if is_shape_list(expected) else [tuple(expected)]
    got = [tuple(s) for s in shape] if is_shape_list(shape) else [tuple(shape)]
    clash = is_shape_list(expected) != is_shape_list(shape) or len(want) != len(got) or any(
        len(a) != len(b) or any(x is not None and y is not None and x != y for x, y in zip(a[1:], b[1:]))
        for a, b in zip(want, got))
    if clash:
        raise ValueError(f"layer {layer.name!r} is already built for input shape {shape_text(expected)} and cannot "
                         f"take an input of shape {shape_text(shape)}")


def shape_text(shape):
    if is_shape_list(shape):
        return "[" + ", ".join(shape_text(s) for s in shape) + "]"
    return "(" + ", ".join(str(d) for d in shape) + ")"
