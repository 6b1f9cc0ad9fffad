"""Graph (functional) models: several inputs and outputs, shared layers, residual branches.

Build a graph by calling layers on symbolic tensors, as with ``keras.Input`` and ``keras.Model``::

    image = Input((784,), name="image")
    meta = Input((3,), name="meta")
    h = Dense(64, activation="relu", name="h")(image)
    both = Concatenate(name="both")([h, meta])
    out = Dense(10, activation="softmax", name="out")(both)
    model = Functional([image, meta], out, name="two_input")

Calling a layer on a :class:`KerasTensor` records a :class:`Node` (the layer, its symbolic inputs and
outputs) instead of computing; a layer called twice has two nodes and one set of weights. The model runs
its nodes in Keras's order (deepest first) on real tensors, so the engine's tape adds up the gradients of
a shared layer's uses and of a residual branch by itself. Masks ride on the tensors, so they pass through
merges (OR-combined) as in Keras. ``get_config()`` gives Keras 3's Functional config (layers with
``inbound_nodes``, ``input_layers``, ``output_layers``), which Keras's ``load_model`` reads back.
"""
from kspec import backend
from kspec.engine import Tensor
from kspec.layers.input_layer import InputLayer
from kspec.layers.base import _call_params, unique_name
from kspec.models.model import Model, layer_entry


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


def _nodes_of(layer):
    if "_inbound_nodes" not in layer.__dict__:
        layer._inbound_nodes = []
    return layer._inbound_nodes


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None):
    """A symbolic input ``(batch_size, *shape)``: the start of a graph (``keras.Input``)."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name, batch_shape=batch_shape)
    return input_tensor(layer)


def input_tensor(layer):
    """The symbolic output of an InputLayer (its one node, created on first use)."""
    nodes = _nodes_of(layer)
    if not nodes:
        layer.input_shape = layer.output_shape = tuple(layer.batch_shape)
        out = KerasTensor(layer.batch_shape, layer.input_dtype, (layer, 0, 0))
        nodes.append(Node(layer, None, [out]))
    return nodes[0].outputs[0]


def _is_shape_list(shape):
    return isinstance(shape, list) and bool(shape) and isinstance(shape[0], (tuple, list))


def _symbolic_leaves(value):
    """The KerasTensors in a nest of lists (None and other values skipped)."""
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _symbolic_leaves(v)]
    return [value] if getattr(value, "is_symbolic", False) else []


def _map_tensors(fn, value):
    """``value`` with each KerasTensor ``t`` in a nest of lists replaced by ``fn(t)``."""
    if isinstance(value, (list, tuple)):
        return [_map_tensors(fn, v) for v in value]
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
    nodes = _nodes_of(layer)
    index = len(nodes)
    shapes = out_shape if _is_shape_list(out_shape) else [out_shape]
    outputs = [KerasTensor(s, layer.dtype, (layer, index, i)) for i, s in enumerate(shapes)]
    nodes.append(Node(layer, args, outputs, kwargs))
    return outputs if _is_shape_list(out_shape) else outputs[0]


def _check_compatible(layer, shape):
    """A built layer called again (a shared layer) needs inputs shaped as on its first call (free
    sizes, None, match anything)."""
    expected = layer.input_shape
    want = [tuple(s) for s in expected] if _is_shape_list(expected) else [tuple(expected)]
    got = [tuple(s) for s in shape] if _is_shape_list(shape) else [tuple(shape)]
    clash = _is_shape_list(expected) != _is_shape_list(shape) or len(want) != len(got) or any(
        len(a) != len(b) or any(x is not None and y is not None and x != y for x, y in zip(a[1:], b[1:]))
        for a, b in zip(want, got))
    if clash:
        raise ValueError(f"layer {layer.name!r} is already built for input shape {_text(expected)} and cannot "
                         f"take an input of shape {_text(shape)}")


def _text(shape):
    if _is_shape_list(shape):
        return "[" + ", ".join(_text(s) for s in shape) + "]"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _flatten(struct):
    if isinstance(struct, dict):
        return list(struct.values())
    if isinstance(struct, (list, tuple)):
        return list(struct)
    return [struct]


class Functional(Model):
    """A model over a graph of layers, from its input and output KerasTensors.

    inputs : a KerasTensor (from :func:`Input`), a list of them, or a dict name -> KerasTensor.
    outputs : a KerasTensor or a list of them. The outputs are named after the layers producing them
    (``output_names``), which is how ``compile`` maps losses and metrics and how history keys read
    (``out_a_loss``, ``out_a_accuracy``).
    Data for ``fit``/``predict``: one array (one input), a list in input order, or a dict by input name.
    """

    keras_class_name = "Functional"

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        if kwargs:
            raise TypeError(f"Functional got unexpected arguments {sorted(kwargs)}")
        self._init_model(name=name or unique_name("functional"), trainable=trainable)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = _flatten(inputs)
        self.outputs = _flatten(outputs)
        for t in self.inputs + self.outputs:
            if not isinstance(t, KerasTensor):
                raise ValueError(f"Functional inputs and outputs must be KerasTensors; received {t!r}")
        for t in self.inputs:
            if not isinstance(t.layer, InputLayer):
                raise ValueError(f"input {t!r} does not come from an Input(); kspec graphs start at Input()")
        self._nodes, self._layers, self._depth = _map_graph(self.inputs, self.outputs)
        self.built = True

    # -- the graph ---------------------------------------------------------------------------------------
    @property
    def layers(self):
        return list(self._layers)

    def _sublayers(self):
        return self._layers

    @property
    def output_names(self):
        return [t.layer.name for t in self.outputs]

    @property
    def input_names(self):
        return [t.layer.name for t in self.inputs]

    @property
    def input(self):
        """The input KerasTensor(s), as given (Keras's ``model.input``)."""
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def _own_nodes(self, layer):
        """``(global node index, node)`` of the layer's calls that belong to this model."""
        own = {id(n) for n in self._nodes}
        return [(i, n) for i, n in enumerate(_nodes_of(layer)) if id(n) in own]

    # -- running -----------------------------------------------------------------------------------------
    def _input_arrays(self, inputs):
        """The model's inputs in order from one array, a list/tuple or a dict by input name."""
        if isinstance(inputs, dict):
            missing = [n for n in self.input_names if n not in inputs]
            if missing:
                raise ValueError(f"model {self.name!r}: no data for input(s) {missing}; "
                                 f"received keys {sorted(inputs)}")
            return [inputs[n] for n in self.input_names]
        arrays = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(arrays) != len(self.inputs):
            raise ValueError(f"model {self.name!r} has {len(self.inputs)} inputs ({self.input_names}) but "
                             f"received {len(arrays)} arrays")
        return arrays

    def compute_output_shape(self, input_shape):
        return self.output_shape

    def call(self, inputs, training=None, mask=None):
        """Run the nodes in order. The model's ``training`` reaches every layer; when it is None, a call's
        own ``training=`` (``base(x, training=False)`` while building the graph) applies, as in Keras."""
        values = {}
        for ref, x in zip(self.inputs, self._input_arrays(inputs)):
            values[id(ref)] = _standardize_input(ref, x)
        for node in self._nodes:
            if node.is_input:
                continue
            if isinstance(node.args, list):
                args = [values[id(t)] for t in node.args]
            else:
                args = values[id(node.args)]
            kwargs = {k: _map_tensors(lambda t: values[id(t)], v) for k, v in node.kwargs.items()}
            node_training = kwargs.pop("training", None)
            out = node.layer(args, training=node_training if training is None else training, **kwargs)
            for ref, value in zip(node.outputs, out if isinstance(out, (list, tuple)) else [out]):
                values[id(ref)] = value
        outputs = [values[id(t)] for t in self.outputs]
        return outputs[0] if len(outputs) == 1 else outputs

    def build(self, input_shape=None):
        self.built = True

    # -- configuration -----------------------------------------------------------------------------------
    def get_config(self):
        """Keras 3's Functional config: every layer with its ``inbound_nodes``, then ``input_layers`` and
        ``output_layers`` as ``[layer name, node index, tensor index]``."""
        reindex = {}  # id(node) -> index among the layer's nodes that belong to this model
        for layer in self._layers:
            for k, (_, node) in enumerate(self._own_nodes(layer)):
                reindex[id(node)] = k
        entries = []
        for layer in self._layers:
            entry = layer_entry(layer)
            if not isinstance(layer, (InputLayer, Model)) and layer.built and layer.input_shape is not None:
                entry["build_config"] = _build_config(layer)
            entry["name"] = layer.name
            entry["inbound_nodes"] = [_serialize_node(node, reindex) for _, node in self._own_nodes(layer)
                                      if not node.is_input]
            entries.append(entry)

        def ref(t):
            return [t.layer.name, reindex[id(t.node)], t.history[2]]

        return {"name": self.name, "trainable": self.trainable, "layers": entries,
                "input_layers": _map_struct(ref, self._inputs_struct),
                "output_layers": _map_struct(ref, self._outputs_struct)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A Functional model from Keras's config (Keras 3 or Keras 2 ``inbound_nodes``)."""
        from kspec.models.config import functional_from_config
        return functional_from_config(config)

    # -- summary (kspec.models.summary's hooks) --------------------------------------------------------------
    def _summary_connections(self, layer):
        """The "Connected to" cell: ``name[node][tensor]`` of every input of every call, or ``-``."""
        parts = []
        for _, node in self._own_nodes(layer):
            for t in node.input_tensors:
                layer_in, node_index, tensor_index = t.history
                parts.append(f"{layer_in.name}[{node_index}][{tensor_index}]")
        return ", ".join(parts) or "-"

    def _summary_sequential_like(self):
        """Keras's test: one node per depth, each with at most one input, and no layer called twice."""
        for depth in sorted(set(self._depth.values()), reverse=True):
            at_depth = [n for n in self._nodes if self._depth[id(n)] == depth]
            if len(at_depth) > 1 or (len(at_depth) == 1 and len(at_depth[0].input_tensors) > 1):
                return False
        return all(len(self._own_nodes(layer)) <= 1 for layer in self._layers)


def _standardize_input(ref, x):
    """A data array as the Input ``ref`` takes it: cast to its dtype; a trailing size-1 axis squeezed or
    added when that is the only difference in rank (as Keras does). Tensors pass as they are (they may
    carry a gradient or a mask)."""
    if isinstance(x, Tensor):
        _check_input_shape(ref, x.shape)
        return x
    data = backend.xp.asarray(x)
    if str(data.dtype) != ref.dtype:
        data = data.astype(ref.dtype)
    if data.ndim == len(ref.shape) + 1 and data.shape[-1] == 1:
        data = data[..., 0]
    elif data.ndim == len(ref.shape) - 1 and ref.shape[-1] == 1:
        data = data[..., None]
    _check_input_shape(ref, data.shape)
    return Tensor(data)


def _check_input_shape(ref, shape):
    if len(shape) != len(ref.shape) or any(r is not None and r != d for r, d in zip(ref.shape[1:], shape[1:])):
        raise ValueError(f"input {ref.name!r} expects shape {_text(ref.shape)}, received data of shape "
                         f"{tuple(shape)}")


def _map_graph(inputs, outputs):
    """Nodes in run order, layers in Keras's order, and each node's depth.

    Depth is the number of layer calls between a node and the outputs (Keras's ``map_graph``): layers are
    listed deepest first, ties broken by the order a depth-first walk from the outputs first meets them.
    """
    order, first_seen, finished, active = [], {}, set(), set()

    def visit(t):
        node = t.node
        if id(node) in finished:
            return
        if id(node) in active:
            raise ValueError(f"the graph has a cycle through layer {node.layer.name!r}")
        first_seen.setdefault(id(node.layer), (len(first_seen), node.layer))
        active.add(id(node))
        for parent in node.input_tensors:
            visit(parent)
        active.discard(id(node))
        finished.add(id(node))
        order.append(node)

    for out in outputs:
        visit(out)
    node_depth, layer_depth = {}, {}
    for node in reversed(order):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for t in inputs:  # inputs that no output needs still belong to the model
        if id(t.node) not in node_depth:
            order.insert(0, t.node)
            node_depth[id(t.node)] = layer_depth[id(t.layer)] = 0
            first_seen[id(t.layer)] = (-1, t.layer)
    known = {id(t) for t in inputs}
    for node in order:
        for t in node.input_tensors:
            if t.node.is_input and id(t) not in known:
                raise ValueError(f"Graph disconnected: layer {node.layer.name!r} needs input "
                                 f"{t.layer.name!r}, which is not among the model's inputs "
                                 f"{[i.layer.name for i in inputs]}")
    nodes = sorted(order, key=lambda n: -node_depth[id(n)])  # stable: ties keep the walk's order
    layers = [layer for _, layer in sorted(first_seen.values(), key=lambda p: (-layer_depth[id(p[1])], p[0]))]
    names = [layer.name for layer in layers]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f'The name "{name}" is used {names.count(name)} times in the model. All layer '
                             "names should be unique.")
    return nodes, layers, node_depth



def _plain_shape(shape):
    if _is_shape_list(shape):
        return [list(s) for s in shape]
    return list(shape)


def _build_config(layer):
    """Keras's ``build_config``: the input shape, or, for a layer first called with initial states, the
    shapes of both by its ``build`` argument names (``sequences_shape``, ``initial_state_shape``)."""
    first = _nodes_of(layer)[0] if _nodes_of(layer) else None
    states = first.kwargs.get("initial_state") if first is not None else None
    if states is None:
        return {"input_shape": _plain_shape(layer.input_shape)}
    return {"shapes_dict": {"sequences_shape": _plain_shape(layer.input_shape),
                            "initial_state_shape": _map_tensors(lambda t: list(t.shape), states)}}


def _serialize_node(node, reindex):
    def tensor(t):
        layer, _, tensor_index = t.history
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(t.shape), "dtype": t.dtype,
                           "keras_history": [layer.name, reindex[id(t.node)], tensor_index]}}

    args = [tensor(t) for t in node.args] if isinstance(node.args, list) else tensor(node.args)
    kwargs = {k: _map_tensors(tensor, v) for k, v in node.kwargs.items()}
    if "mask" not in kwargs and not isinstance(node.args, list) and not isinstance(node.layer, Model) \
            and "mask" in _call_params(type(node.layer)):
        kwargs["mask"] = None  # Keras records the (absent) mask of a one-tensor call that takes one
    return {"args": [args], "kwargs": kwargs}


def _map_struct(fn, struct):
    if isinstance(struct, dict):
        return {k: fn(v) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)):
        return [fn(v) for v in struct]
    return fn(struct)
