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
from kspec.layers.node import (Input, KerasTensor, Node, input_tensor, is_shape_list,  # noqa: F401
                               map_tensors, nodes_of, shape_text)
from kspec.models.model import Model, layer_entry


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
        return [(i, n) for i, n in enumerate(nodes_of(layer)) if id(n) in own]

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
            kwargs = {k: map_tensors(lambda t: values[id(t)], v) for k, v in node.kwargs.items()}
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
        raise ValueError(f"input {ref.name!r} expects shape {shape_text(ref.shape)}, received data of shape "
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
    if is_shape_list(shape):
        return [list(s) for s in shape]
    return list(shape)


def _build_config(layer):
    """Keras's ``build_config``: the input shape, or, for a layer first called with initial states, the
    shapes of both by its ``build`` argument names (``sequences_shape``, ``initial_state_shape``)."""
    first = nodes_of(layer)[0] if nodes_of(layer) else None
    states = first.kwargs.get("initial_state") if first is not None else None
    if states is None:
        return {"input_shape": _plain_shape(layer.input_shape)}
    return {"shapes_dict": {"sequences_shape": _plain_shape(layer.input_shape),
                            "initial_state_shape": map_tensors(lambda t: list(t.shape), states)}}


def _serialize_node(node, reindex):
    def tensor(t):
        layer, _, tensor_index = t.history
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(t.shape), "dtype": t.dtype,
                           "keras_history": [layer.name, reindex[id(t.node)], tensor_index]}}

    args = [tensor(t) for t in node.args] if isinstance(node.args, list) else tensor(node.args)
    kwargs = {k: map_tensors(tensor, v) for k, v in node.kwargs.items()}
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
