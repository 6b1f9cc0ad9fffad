"""Keras ``Functional`` (graph) model configs -> kspec :class:`~kspec.models.functional.Functional` models.

Reads Keras 3 configs (``inbound_nodes`` as ``[{"args": [...], "kwargs": {...}}]`` with ``__keras_tensor__``
entries; kwargs that hold tensors, such as a recurrent layer's ``initial_state``, are passed on) and Keras 2
configs (``inbound_nodes`` as ``[[["dense", 0, 0, {}], ...], ...]``; class names ``Functional`` or
``Model``). Layers are created in config order, then each layer's calls are replayed as soon as their inputs
exist, as Keras's ``functional_from_config`` does. Writing needs nothing here: the model's ``get_config()``
is already Keras's form, and :func:`kspec.io.keras_config.model_config` strips it to the legacy-.h5 layout.
"""
from kspec.io.errors import ModelFileError


def functional_from_config(config, path=None):
    """A built kspec Functional model from the ``config`` part of ``{"class_name": "Functional", ...}``."""
    from kspec.io.keras_config import layer_from_config
    from kspec.layers.input_layer import InputLayer
    from kspec.models.functional import Functional, input_tensor

    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ModelFileError("the Functional model_config has no list of layers", path)
    missing = [k for k in ("input_layers", "output_layers") if config.get(k) is None]
    if missing:
        raise ModelFileError(f"the Functional model_config has no {' or '.join(missing)} (the graph's inputs "
                             "and outputs)", path)
    layers, pending = {}, []
    for entry in config["layers"]:
        layer = layer_from_config(entry, path)
        name = entry.get("name") or layer.name
        layer.name = name
        layers[name] = layer
        if isinstance(layer, InputLayer):
            input_tensor(layer)
        nodes = entry.get("inbound_nodes") or []
        pending.append((layer, [_node_inputs(node, path, name) for node in nodes]))

    def tensor(ref):
        name, node_index, tensor_index = ref[0], ref[1], ref[2]
        layer = layers.get(name)
        if layer is None:
            raise ModelFileError(f"the graph refers to an unknown layer {name!r}", path)
        nodes = getattr(layer, "_inbound_nodes", [])
        if node_index >= len(nodes):
            return None
        return nodes[node_index].outputs[tensor_index]

    progress = True
    while progress and any(calls for _, calls in pending):
        progress = False
        for layer, calls in pending:
            while calls:
                args, kwargs = calls[0]
                if any(tensor(r) is None for r in _refs([args, list(kwargs.values())])):
                    break
                try:
                    layer(_resolve(args, tensor), **{k: _resolve(v, tensor) for k, v in kwargs.items()})
                except (TypeError, ValueError) as exc:
                    raise ModelFileError(f"cannot rebuild the call of layer {layer.name!r}: {exc}", path) from None
                calls.pop(0)
                progress = True
    stuck = [layer.name for layer, calls in pending if calls]
    if stuck:
        raise ModelFileError(f"the graph cannot be rebuilt: the inputs of layer(s) {stuck} never appear", path)
    try:
        inputs = _struct(config.get("input_layers"), tensor)
        outputs = _struct(config.get("output_layers"), tensor)
        # as Keras: the model's own flag (not passed on to its layers, which keep theirs)
        return Functional(inputs, outputs, name=config.get("name"), trainable=config.get("trainable", True) is not False)
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        raise ModelFileError(f"cannot rebuild the Functional model: {exc}", path) from None


def _is_ref(value):
    return isinstance(value, list) and len(value) in (3, 4) and isinstance(value[0], str)


def _struct(value, tensor):
    """``input_layers``/``output_layers``: one ``[name, node, tensor]``, a list or a dict of them."""
    if _is_ref(value):
        return tensor(value)
    if isinstance(value, dict):
        return {k: _struct(v, tensor) for k, v in value.items()}
    if isinstance(value, list):
        return [_struct(v, tensor) for v in value]
    raise ValueError(f"unreadable input/output reference {value!r}")


def _node_inputs(node, path, layer_name):
    """``(args, kwargs)`` of one serialized call, each tensor as a tuple ``(name, node_index, tensor_index)``:
    args is one tuple or a list of them; kwargs keeps the entries that hold tensors."""
    if isinstance(node, dict):  # Keras 3: {"args": [tensor or [tensors]], "kwargs": {...}}
        args = node.get("args") or []
        if len(args) != 1:
            raise ModelFileError(f"layer {layer_name!r}: kspec replays calls with one argument, found "
                                 f"{len(args)}", path)
        arg = args[0]
        if isinstance(arg, list):
            arg = [_history(t, path, layer_name) for t in arg]
        else:
            arg = _history(arg, path, layer_name)
        kwargs = {k: _tensors_in(v) for k, v in (node.get("kwargs") or {}).items()}
        return arg, {k: v for k, v in kwargs.items() if _refs(v) or (k == "training" and v is not None)}
    if isinstance(node, list):  # Keras 2: [[name, node_index, tensor_index, kwargs], ...]
        refs = [tuple(ref[:3]) for ref in node]
        return (refs if len(refs) > 1 else refs[0]), {}
    raise ModelFileError(f"layer {layer_name!r}: unreadable inbound node {node!r:.80}", path)


def _is_tensor(value):
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _history(value, path, layer_name):
    if _is_tensor(value):
        return tuple(value["config"]["keras_history"])
    raise ModelFileError(f"layer {layer_name!r}: a call argument is not a Keras tensor: {value!r:.80}", path)


def _tensors_in(value):
    """A kwargs value with its Keras tensors as reference tuples (lists kept, anything else as is)."""
    if isinstance(value, list):
        return [_tensors_in(v) for v in value]
    return tuple(value["config"]["keras_history"]) if _is_tensor(value) else value


def _refs(value):
    """The reference tuples in a nest of lists."""
    if isinstance(value, tuple):
        return [value]
    return [r for v in value for r in _refs(v)] if isinstance(value, list) else []


def _resolve(value, tensor):
    if isinstance(value, tuple):
        return tensor(value)
    return [_resolve(v, tensor) for v in value] if isinstance(value, list) else value
