"""Layer wrappers: Bidirectional (a recurrent layer run both ways) and TimeDistributed (a layer per step).

A wrapper takes its inner layer as a Layer, a Keras config (``{"class_name": "LSTM", "config": {...}}``) or a
spec layer entry (``{"LSTM": {"units": 64}}``, ``{"Dense": 10}``, ``"Flatten"``).
"""
import inspect

from kspec import registry
from kspec.engine import as_tensor, ops
from kspec.layers.base import Layer
from kspec.registry import register

MERGE_MODES = ("concat", "sum", "ave", "mul", None)


def as_layer(value):
    """A Layer from an instance, a Keras layer config, a spec entry or a class name."""
    if isinstance(value, Layer):
        return value
    if isinstance(value, str):
        return _layer_class(value)()
    if isinstance(value, dict) and "class_name" in value:
        return _layer_class(value["class_name"]).from_config(dict(value.get("config") or {}))
    if isinstance(value, dict) and len(value) == 1:
        (name, args), = value.items()
        cls = _layer_class(name)
        if args is None:
            return cls()
        if isinstance(args, dict):
            return cls(**args)
        first = next((p.name for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
                      if p.kind == p.POSITIONAL_OR_KEYWORD), None)
        if first is None:
            raise ValueError(f"{name} takes no positional argument")
        return cls(**{first: args})
    raise ValueError(f"expected a layer, a Keras layer config or a spec entry such as {{LSTM: {{units: 8}}}}; "
                     f"received {value!r}")


def _layer_class(name):
    cls = registry.lookup("layer", name)
    if cls is None:
        raise ValueError(f"unknown layer {name!r}")
    return cls


def serialize_layer(layer):
    return {"module": "keras.layers", "class_name": type(layer).__name__, "config": layer.get_config(),
            "registered_name": None}


def _copy(layer, **changes):
    config = layer.get_config()
    config.update(changes)
    return type(layer).from_config(config)


def _strip(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


@register("layer")
class Bidirectional(Layer):
    """Runs a recurrent layer forward and a ``go_backwards`` copy, then merges the two outputs.

    ``merge_mode``: 'concat' (default, last axis doubles), 'sum', 'ave', 'mul' or None (a list of both).
    The copies are named ``forward_<name>`` and ``backward_<name>``; their weights are all forward weights,
    then all backward weights. With return_sequences the backward outputs are flipped back in time before
    merging, and masked steps output zeros (Keras sets ``zero_output_for_mask = return_sequences``).

    Args:
        layer: The recurrent layer run in both directions, e.g. {LSTM: {units: 32}}.
        merge_mode: How the forward and backward outputs combine: concat, sum, mul, ave, or null (both, as a
            list).
        backward_layer: A layer for the backward direction (default: a copy of layer reading backwards).
    """

    supports_masking = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        layer = as_layer(layer)
        if backward_layer is not None:
            backward_layer = as_layer(backward_layer)
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should be one of "
                             '{"sum", "mul", "ave", "concat", None}')
        super().__init__(**kwargs)
        self.forward_layer = _copy(layer, name="forward_" + _strip(layer.name, "forward_"))
        if backward_layer is None:
            backward_layer = _copy(layer, name="backward_" + _strip(layer.name, "backward_"), go_backwards=True)
        self.backward_layer = backward_layer
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ValueError("Forward layer and backward layer should have different `go_backwards` value.")
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(self.forward_layer, attr) != getattr(self.backward_layer, attr):
                raise ValueError(f"Forward layer and backward layer are expected to have the same value for "
                                 f'attribute "{attr}"')
        for sub in (self.forward_layer, self.backward_layer):
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self._initial_weights = weights

    def _sublayers(self):
        return [self.forward_layer, self.backward_layer]

    def build(self, input_shape):
        for sub in self._sublayers():
            sub.ensure_built(input_shape)  # inside this layer's name scope: bidirectional/forward_lstm/...
        if self._initial_weights:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def keras_weight_groups(self):
        groups = [("", self.name, [])]
        for key, sub in (("forward_layer", self.forward_layer), ("backward_layer", self.backward_layer)):
            groups += [(f"{key}/{rel}".rstrip("/"), name, w) for rel, name, w in sub.keras_weight_groups()]
        return groups

    @classmethod
    def initial_state_count(cls, config):
        """Twice the wrapped layer's states, from the (spec or Keras) ``config``; None when not known."""
        inner = config.get("layer")
        if isinstance(inner, dict):
            inner = inner.get("class_name") if "class_name" in inner else next(iter(inner), None)
        inner_cls = registry.lookup("layer", inner) if isinstance(inner, str) else None
        count = getattr(inner_cls, "initial_state_count", None)
        return 2 * count(None) if count is not None else None

    def check_call_kwargs(self, kwargs):
        super().check_call_kwargs(kwargs)
        if kwargs.get("initial_state") is not None:
            self._split_states(kwargs["initial_state"])

    def _split_states(self, initial_state):
        """Keras's split: the first half of the list starts the forward layer, the second the backward."""
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        half = len(states) // 2
        if len(states) % 2:
            raise ValueError(f"Layer {self.name!r} (Bidirectional) expects an even number of initial states "
                             f"(the forward layer's, then the backward layer's). Received: {len(states)}")
        return (self.forward_layer.state_list(states[:half]), self.backward_layer.state_list(states[half:]))

    def call(self, inputs, training=False, mask=None, initial_state=None):
        fwd = bwd = {}
        if initial_state is not None:
            forward_state, backward_state = self._split_states(initial_state)
            fwd, bwd = {"initial_state": forward_state}, {"initial_state": backward_state}
        y = self.forward_layer(inputs, training=training, mask=mask, **fwd)
        y_rev = self.backward_layer(inputs, training=training, mask=mask, **bwd)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.getitem(y_rev, (slice(None), slice(None, None, -1)))
        if self.merge_mode == "concat":
            out = ops.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            out = y + y_rev
        elif self.merge_mode == "ave":
            out = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            out = y * y_rev
        else:
            out = [y, y_rev]
        if self.merge_mode is None:
            if mask is not None and self.return_sequences:
                for o in out:
                    o.keras_mask = mask
            return out + states
        if self.return_state:
            if mask is not None and self.return_sequences:
                out.keras_mask = mask
            return [out] + states
        return out

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        state_shapes = []
        if self.return_state:
            shape, state_shapes = shape[0], list(shape[1:])
        shape = tuple(shape)
        if self.merge_mode == "concat":
            out = [shape[:-1] + (shape[-1] * 2,)]
        elif self.merge_mode is None:
            out = [shape, shape]
        else:
            out = [shape]
        if self.return_state or self.merge_mode is None:
            return out + state_shapes * 2
        return out[0]

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, list):
            mask = mask[0]
        return mask if self.return_sequences and self.merge_mode else None

    def get_config(self):
        config = self._base_config()
        config["merge_mode"] = self.merge_mode
        config["layer"] = serialize_layer(self.forward_layer)
        config["backward_layer"] = serialize_layer(self.backward_layer)
        return config


@register("layer")
class TimeDistributed(Layer):
    """Applies ``layer`` to every timestep: (N, T, ...) -> (N, T, ...'), by folding time into the batch.
    The weights belong to the inner layer; the mask passes through.

    Args:
        layer: The layer applied to every time step (axis 1) separately.
    """

    supports_masking = True

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = as_layer(layer)

    def _sublayers(self):
        return [self.layer]

    def _inner_shape(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape` with at least 3 "
                             f"dimensions, received: {tuple(input_shape)}")
        return (None,) + tuple(input_shape[2:])

    def build(self, input_shape):
        self.layer.ensure_built(self._inner_shape(input_shape))  # paths time_distributed/dense/kernel

    def keras_weight_groups(self):
        return [("", self.name, []), ("layer", self.layer.name, self.layer.weights)]

    def call(self, inputs, training=False, mask=None):
        inputs = as_tensor(inputs)
        x = ops.reshape(inputs, (-1,) + tuple(inputs.shape[2:]))          # (N*T, ...)
        inner_mask = None if mask is None else mask.reshape((-1,) + tuple(mask.shape[2:]))
        out = self.layer(x, training=training, mask=inner_mask)
        out.keras_mask = None   # the wrapper's own mask (the input's) is set by the base class
        return ops.reshape(out, (inputs.shape[0], inputs.shape[1]) + tuple(out.shape[1:]))

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape(self._inner_shape(input_shape))
        return (input_shape[0], input_shape[1]) + tuple(inner[1:])

    def get_config(self):
        config = self._base_config()
        config["layer"] = serialize_layer(self.layer)
        return config
