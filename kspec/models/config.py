"""Keras model configs -> kspec models: ``from_config`` of Sequential, Functional and the layers in them.

Reads Keras 3 and Keras 2 configs: ``batch_input_shape`` or ``batch_shape``, DTypePolicy dicts or plain
dtype strings, initializers with or without ``module``; nested models (a ``Sequential`` or ``Functional``
entry among the layers); Functional graphs with Keras 3 ``inbound_nodes`` (``{"args": [...], "kwargs":
{...}}`` with ``__keras_tensor__`` entries; kwargs holding tensors, such as a recurrent layer's
``initial_state``, and a call's ``training`` are passed on) or Keras 2 ones (``[[["dense", 0, 0, {}], ...]]``;
class names ``Functional`` or ``Model``). Arguments that only newer Keras has and that are switched off
(``null``, e.g. ``quantization_config``) are dropped when kspec's class does not take them; anything else
kspec does not know raises :class:`ConfigError` naming the layer. Layers of a graph are created in config
order, then each layer's calls are replayed as soon as their inputs exist, as Keras's
``functional_from_config`` does. (:mod:`kspec.io` reads the files and adds the path to the error.)
"""
import inspect

from kspec import registry
from kspec.layers.base import LEGACY_SHAPE_KWARGS, Layer
from kspec.serialization import lookup_entry
from kspec.user_code import UserCodeError

# Layer arguments holding a nested Keras object, by name suffix -> registry kind.
_NESTED_KINDS = {"_initializer": "initializer", "_regularizer": "regularizer", "_constraint": "constraint"}


class ConfigError(ValueError):
    """A model or layer config kspec cannot rebuild; ``hint`` is a likely fix (or None)."""

    def __init__(self, message, hint=None):
        super().__init__(message)
        self.message = message
        self.hint = hint


def model_from_config(config):
    """A kspec model (uncompiled, built when the config gives an input shape) from a Keras model_config."""
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ConfigError("model_config is not a Keras model config (no class_name/config)")
    class_name = config["class_name"]
    builder = _MODEL_BUILDERS.get(class_name)
    if builder is None and config.get("module"):  # the user's subclass: built as its kspec base class
        from kspec.models.sequential import Sequential
        cls = registry.lookup("model", f"{config['module']}:{class_name}")  # user code: only where allowed
        if cls is not None:
            builder = sequential_from_config if issubclass(cls, Sequential) else functional_from_config
    if builder is None:
        raise ConfigError(f"unknown model class {class_name!r}")
    return builder(config["config"])


def sequential_from_config(config):
    """A Sequential model from Keras's config (Keras 3, Keras 2, or Keras 2.0's bare list of layers)."""
    from kspec.models.sequential import Sequential

    if isinstance(config, list):  # Keras 2.0/2.1: the config is the layer list itself
        layer_configs, name, build_shape = config, None, None
    elif isinstance(config, dict):
        layer_configs, name = config.get("layers"), config.get("name")
        build_shape = config.get("build_input_shape")
    else:
        layer_configs = None
    if not isinstance(layer_configs, list):
        raise ConfigError("the Sequential model_config has no list of layers")
    model = Sequential(name=name)  # as Keras: the layers keep their own trainable flags, the model's is True
    for entry in layer_configs:
        layer = layer_from_config(entry)
        try:
            model.add(layer)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"cannot add layer {layer.name!r} to the model: {exc}") from None
    if not model.built and build_shape:
        try:
            model.build(tuple(build_shape))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"cannot build the model for input shape {build_shape}: {exc}") from None
    return model


def layer_from_config(entry):
    """One kspec layer from a Keras layer entry ``{"class_name": ..., "config": {...}}``."""
    if not isinstance(entry, dict) or "class_name" not in entry:
        raise ConfigError(f"a layer entry in model_config is not a Keras layer config: {entry!r:.80}")
    class_name = entry["class_name"]
    if class_name in _MODEL_BUILDERS:  # a nested model
        return model_from_config({"class_name": class_name, "config": entry.get("config")})
    config = dict(entry.get("config") or {})
    name = config.get("name")
    cls = lookup_entry("layer", entry)  # a user's class (its own module) loads only where code is allowed
    if cls is None:
        known = ", ".join(registry.names("layer", aliases=False))
        raise ConfigError(f"unknown layer class {class_name!r} (layer {name!r})",
                          hint=f"kspec has no such layer; it knows {known}")
    config = _layer_config(cls, config)
    try:
        return cls.from_config(config)
    except UserCodeError:
        raise  # user code the layer names (an activation, an initializer, ...): refused or failed as such
    except (TypeError, ValueError, KeyError, NotImplementedError) as exc:
        raise ConfigError(f"cannot rebuild layer {name!r} ({class_name}): {exc}") from None


def _layer_config(cls, config):
    """Keras 2/3 layer config -> kspec constructor arguments."""
    if isinstance(config.get("dtype"), dict):  # Keras 3 DTypePolicy / Keras 2 mixed-precision Policy
        config["dtype"] = (config["dtype"].get("config") or {}).get("name", "float32")
    for key, value in list(config.items()):
        kind = next((k for suffix, k in _NESTED_KINDS.items() if key.endswith(suffix)), None)
        if kind and isinstance(value, dict) and "class_name" in value:
            config[key] = _nested_object(kind, value)
    accepted = accepted_args(cls, Layer.__init__) | set(LEGACY_SHAPE_KWARGS)
    return drop_unknown_nulls(config, accepted)


def _nested_object(kind, value):
    """An initializer/regularizer/constraint config with Keras-only null arguments dropped."""
    target = registry.lookup(kind, value["class_name"])
    if not inspect.isclass(target):
        return value
    accepted = accepted_args(target)
    if accepted is None:
        return value
    return {**value, "config": drop_unknown_nulls(dict(value.get("config") or {}), accepted)}


def accepted_args(cls, base_init=None):
    """The keyword arguments ``cls`` takes; when it also takes ``**kwargs``, those of ``base_init`` are
    added (None, meaning anything goes, without a ``base_init``)."""
    names, open_ended = _params(cls.__init__)
    if open_ended:
        if base_init is None:
            return None
        names |= _params(base_init)[0]
    return names


def _params(fn):
    if fn is object.__init__:  # (self, /, *args, **kwargs); inspect would parse its text signature (slow)
        return set(), True
    params = inspect.signature(fn).parameters.values()
    names = {p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)} - {"self"}
    return names, any(p.kind == p.VAR_KEYWORD for p in params)


def drop_unknown_nulls(config, accepted):
    if accepted is None:
        return config
    return {k: v for k, v in config.items() if k in accepted or v is not None}


def functional_from_config(config):
    """A built Functional model from the ``config`` part of ``{"class_name": "Functional", ...}``: the
    layers in config order, then each layer's calls replayed as soon as their inputs exist."""
    from kspec.layers.input_layer import InputLayer
    from kspec.models.functional import Functional, input_tensor

    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ConfigError("the Functional model_config has no list of layers")
    missing = [k for k in ("input_layers", "output_layers") if config.get(k) is None]
    if missing:
        raise ConfigError(f"the Functional model_config has no {' or '.join(missing)} (the graph's inputs "
                          "and outputs)")
    layers, pending = {}, []
    for entry in config["layers"]:
        layer = layer_from_config(entry)
        name = entry.get("name") or layer.name
        layer.name = name
        layers[name] = layer
        if isinstance(layer, InputLayer):
            input_tensor(layer)
        nodes = entry.get("inbound_nodes") or []
        pending.append((layer, [_node_inputs(node, name) for node in nodes]))

    def tensor(ref):
        name, node_index, tensor_index = ref[0], ref[1], ref[2]
        layer = layers.get(name)
        if layer is None:
            raise ConfigError(f"the graph refers to an unknown layer {name!r}")
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
                    raise ConfigError(f"cannot rebuild the call of layer {layer.name!r}: {exc}") from None
                calls.pop(0)
                progress = True
    stuck = [layer.name for layer, calls in pending if calls]
    if stuck:
        raise ConfigError(f"the graph cannot be rebuilt: the inputs of layer(s) {stuck} never appear")
    try:
        inputs = _struct(config.get("input_layers"), tensor)
        outputs = _struct(config.get("output_layers"), tensor)
        # as Keras: the model's own flag (not passed on to its layers, which keep theirs)
        trainable = config.get("trainable", True) is not False
        return Functional(inputs, outputs, name=config.get("name"), trainable=trainable)
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        raise ConfigError(f"cannot rebuild the Functional model: {exc}") from None


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


def _node_inputs(node, layer_name):
    """``(args, kwargs)`` of one serialized call, each tensor as a tuple ``(name, node_index, tensor_index)``:
    args is one tuple or a list of them; kwargs keeps the entries that hold tensors."""
    if isinstance(node, dict):  # Keras 3: {"args": [tensor or [tensors]], "kwargs": {...}}
        args = node.get("args") or []
        if len(args) != 1:
            raise ConfigError(f"layer {layer_name!r}: kspec replays calls with one argument, found "
                              f"{len(args)}")
        arg = args[0]
        if isinstance(arg, list):
            arg = [_history(t, layer_name) for t in arg]
        else:
            arg = _history(arg, layer_name)
        kwargs = {k: _tensors_in(v) for k, v in (node.get("kwargs") or {}).items()}
        return arg, {k: v for k, v in kwargs.items() if _refs(v) or (k == "training" and v is not None)}
    if isinstance(node, list):  # Keras 2: [[name, node_index, tensor_index, kwargs], ...]
        refs = [tuple(ref[:3]) for ref in node]
        return (refs if len(refs) > 1 else refs[0]), {}
    raise ConfigError(f"layer {layer_name!r}: unreadable inbound node {node!r:.80}")


def _is_tensor(value):
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _history(value, layer_name):
    if _is_tensor(value):
        return tuple(value["config"]["keras_history"])
    raise ConfigError(f"layer {layer_name!r}: a call argument is not a Keras tensor: {value!r:.80}")


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


_MODEL_BUILDERS = {"Sequential": sequential_from_config, "Functional": functional_from_config,
                   "Model": functional_from_config}
