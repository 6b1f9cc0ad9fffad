"""The Layer base class: configuration in ``__init__``, weights in ``build``, math in ``call``.

A layer states its arguments once, in its ``__init__`` signature (with Keras 3's names and defaults).
The base class records the bound arguments of the most-derived ``__init__``, so ``get_config``,
``from_config``, the spec validator and the Keras ``model_config`` all come from that one statement.
"""
import contextlib
import functools
import inspect
import threading
import warnings

from kspec import backend, initializers, regularizers, constraints
from kspec.backend import comm, memory
from kspec.configurable import record_init as _record_init
from kspec.engine import Tensor, Variable, no_grad
from kspec.registry import snake_case
from kspec.serialization import serialize

_name_counts = {}

# Keras 2 / early Keras 3 keyword arguments every layer accepts (with a warning where Keras warns).
LEGACY_SHAPE_KWARGS = ("input_shape", "input_dim", "batch_input_shape", "batch_size")


def clear_session():
    """Reset default layer names, so the next model's layers are dense, dense_1, ... again."""
    _name_counts.clear()


def unique_name(base):
    count = _name_counts.get(base, 0)
    _name_counts[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


class Layer:
    """Base class of every layer.

    Subclasses implement ``__init__`` (store config only), ``build(input_shape)`` (create weights with
    :meth:`add_weight`), ``call(inputs, training=None)`` and, optionally, ``compute_output_shape(input_shape)``.
    Shapes are full tuples with ``None`` for the batch dimension.

    As in Keras, layers and weights assigned as attributes (also lists of layers) are tracked in assignment
    order: their weights are the layer's weights, and ``trainable`` reaches them.
    """

    supports_masking = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _record_init(cls.__dict__["__init__"])

    def __init__(self, name=None, trainable=True, dtype=None, activity_regularizer=None, **kwargs):
        if not hasattr(self, "_init_args"):
            self._init_args = {}
            self._init_extra = frozenset()
        for key in kwargs:
            if key not in LEGACY_SHAPE_KWARGS:
                raise TypeError(f"{type(self).__name__}: unrecognized keyword argument {key!r}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.dtype = dtype_name(dtype)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.built = False
        if not isinstance(getattr(type(self), "input_shape", None), property):  # models compute them
            self.input_shape = None
            self.output_shape = None
        self._batch_input_shape = _legacy_input_shape(kwargs)
        _tracking(self)
        self._trainable = bool(trainable)
        self._activity_losses = []

    # -- attribute tracking ----------------------------------------------------------------------------
    def __setattr__(self, name, value):
        if isinstance(value, (Layer, Variable)) or (type(value) is list and not name.startswith("_")):
            _track(self, name, value)
        elif name in self.__dict__.get("_tracked", ()):
            del self._tracked[name]
        elif getattr(type(value), "registry_kind", None) == "metric" and not name.startswith("_"):
            metrics = self.__dict__.setdefault("_metrics", [])  # Keras: metric trackers set as attributes
            if not any(m is value for m in metrics):
                metrics.append(value)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self.__dict__.get("_tracked", {}).pop(name, None)
        object.__delattr__(self, name)

    def _sublayers(self):
        """The layers this layer holds, in assignment order (wrappers and models override it)."""
        tracked = self.__dict__.get("_tracked")
        if not tracked:
            return []
        out = []
        for value in tracked.values():
            if isinstance(value, Layer):
                out.append(value)
            elif type(value) is list:
                out += [v for v in value if isinstance(v, Layer)]
        return _unique(out)

    def _flatten_layers(self, include_self=True, recursive=True):
        """Keras's walk: this layer (``include_self``), then every layer inside it, each once, depth first
        in order (only the direct ones unless ``recursive``)."""
        out, seen = ([self] if include_self else []), {id(self)}
        stack = list(reversed(self._sublayers()))
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            out.append(layer)
            if recursive:
                stack += reversed(layer._sublayers())
        return out

    # -- weights ---------------------------------------------------------------------------------------
    def add_weight(self, *args, **kwargs):
        """A new weight: Keras 3's ``add_weight(shape=None, initializer=None, dtype=None, trainable=True,
        regularizer=None, constraint=None, name=None)``; without an initializer a float weight starts
        "glorot_uniform", as in Keras. The older form with the name first, ``add_weight(name, shape,
        initializer="zeros", regularizer=None, constraint=None, trainable=True, dtype=None)``, still works."""
        if args and isinstance(args[0], str):
            bound = _LEGACY_ADD_WEIGHT.bind(*args, **kwargs)
        else:
            bound = _ADD_WEIGHT.bind(*args, **kwargs)
        bound.apply_defaults()
        args = dict(bound.arguments)
        for key in ("autocast", "aggregation", "overwrite_with_gradient"):
            args.pop(key, None)
        return self._add_weight(**args)

    def _add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, regularizer=None,
                    constraint=None, name=None):
        shape = () if shape is None else tuple(int(s) for s in shape)
        dtype = dtype_name(dtype if dtype is not None else backend.floatx)
        if initializer is None:
            initializer = "glorot_uniform" if "float" in dtype else "zeros"
        name = name or unique_name("variable")  # Keras: variable, variable_1, ... across the session
        memory.reserve(memory.nbytes(shape, backend.xp.dtype(dtype).itemsize),
                       f"layer {self.name!r} ({type(self).__name__}) weight {name!r} of shape {shape}")
        value = initializers.get(initializer)(shape, dtype=dtype)
        var = Variable(value, name=name, trainable=bool(trainable), constraint=constraints.get(constraint),
                       regularizer=regularizers.get(regularizer), path=_weight_path(name))
        if not self._trainable:  # Keras: a weight made by a frozen layer starts frozen
            var.trainable = var.requires_grad = False
        self._weights.append(var)
        if trainable:
            self._made_trainable.add(id(var))
        return var

    def _own_weights(self):
        """Own weights, Keras's order: those made trainable first, then the others."""
        own = self._weights
        made_trainable = self._made_trainable
        if len(made_trainable) == len(own) or not made_trainable:
            return list(own)
        return [w for w in own if id(w) in made_trainable] + [w for w in own if id(w) not in made_trainable]

    @property
    def weights(self):
        """Own weights (trainable-made first), then those of the tracked sublayers, each once."""
        out = self._own_weights()
        subs = self._sublayers()
        if not subs:
            return out
        for sub in subs:
            out += sub.weights
        return _unique(out)

    @property
    def trainable_weights(self):
        if not self._trainable:
            return []
        return [w for w in self.weights if w.trainable]

    @property
    def non_trainable_weights(self):
        if not self._trainable:
            return self.weights
        return [w for w in self.weights if not w.trainable]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights
    variables = weights

    def _all_weights(self):
        return self.weights

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """Keras's rule: the layer, its trainable-made weights and every layer inside it, recursively.
        Takes effect at the next ``compile``/``fit`` (frozen weights get no gradient)."""
        value = bool(value)
        self._trainable = value
        made_trainable = self._made_trainable
        for w in self._weights:
            if id(w) in made_trainable:
                w.trainable = value
                w.requires_grad = value
        for sub in self._sublayers():
            sub.trainable = value

    def set_trainable(self, value):
        self.trainable = value

    def count_params(self):
        return int(sum(w.size for w in self.weights))

    def get_weights(self):
        return [backend.to_numpy(w.data).copy() for w in self.weights]

    def set_weights(self, values):
        weights = self.weights
        if len(values) != len(weights):
            raise ValueError(f"layer {self.name!r} expects {len(weights)} weights, got {len(values)}")
        for w, v in zip(weights, values):
            w.assign(v)

    # -- calling -----------------------------------------------------------------------------------------
    def build(self, input_shape):
        """Create the weights for ``input_shape`` (batch dimension first, may be None)."""

    def call(self, inputs, training=None):
        raise NotImplementedError(f"layer {type(self).__name__} has no call() method")

    def compute_output_shape(self, input_shape):
        """Default: run ``call`` on zeros (free sizes tried as 2 and 3, to tell which output sizes follow
        them) and read the shape. Layers override it cheaply."""
        return _probe_output_shape(self, input_shape)

    def check_call_kwargs(self, kwargs):
        """Rejects call arguments that ``call`` does not take; layers with extra ones check their values."""
        params = _call_params(type(self))
        if _call_takes_var_kwargs(type(self)):
            return
        unknown = [k for k in kwargs if k not in params]
        if unknown:
            raise TypeError(f"{type(self).__name__}.call() got an unexpected keyword argument {unknown[0]!r}")

    def compute_mask(self, inputs, mask=None):
        """The mask of the output: passed through where the layer supports masking, else dropped."""
        return mask if self.supports_masking else None

    def ensure_built(self, input_shape):
        if not self.built:
            self.input_shape = _freeze(input_shape)
            with name_scope(self):  # sublayers first called by a probing call get this scope too
                self.build(self.input_shape)
                self.built = True
                self.output_shape = _freeze(self.compute_output_shape(self.input_shape))

    def __call__(self, inputs, training=None, mask=None, **kwargs):
        """``kwargs``: further arguments of ``call`` (e.g. a recurrent layer's ``initial_state``); the
        tensors among them are graph inputs too when building a graph.

        ``training`` is, in Keras's order: the value given here, else the one of the call this call is
        inside of, else ``call``'s own default."""
        self.check_call_kwargs(kwargs)
        symbolic = _first_symbolic([inputs] + list(kwargs.values()))
        if symbolic is not None:  # graph building: kspec.layers.node records a node instead
            if training is not None:
                kwargs["training"] = training
            return symbolic.apply_layer(self, inputs, kwargs)
        stack = _THREAD.call_stack
        if not stack:  # the outermost call
            self.clear_activity_losses()
        if training is None:
            training = stack[-1] if stack else _training_default(type(self))
        first_call = not self.built
        self._build_for_call(inputs)
        if mask is None:
            mask = _mask_of(inputs)
        params = _call_params(type(self))
        if mask is not None and "mask" in params:
            kwargs["mask"] = mask
        if "training" in params or _call_takes_var_kwargs(type(self)):
            kwargs["training"] = training
        stack.append(training)
        try:
            if first_call:  # sublayers built inside call get this layer's name in their weight paths
                with name_scope(self):
                    outputs = self.call(inputs, **kwargs)
                self._after_first_call(inputs, outputs)
            else:
                outputs = self.call(inputs, **kwargs)
        finally:
            stack.pop()
        if self.activity_regularizer is not None:
            self._add_activity_losses(outputs)
        out_mask = self.compute_mask(inputs, mask)
        if out_mask is not None:
            _set_masks(outputs, out_mask)
        return outputs

    def _build_for_call(self, inputs):
        self.ensure_built(_shape_of(inputs))

    def _after_first_call(self, inputs, outputs):
        """Hook for layers built by their first call (subclassed models)."""

    def _add_activity_losses(self, outputs):
        """Keras >= 3.14: the activity penalty of each output, divided by that output's batch size
        (a batch of 0 adds 0, as ``divide_no_nan`` does; a scalar output is not divided)."""
        for out in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
            penalty = self.activity_regularizer(out)
            if out.ndim:
                batch = comm.global_rows(out.shape[0])  # data-parallel: the global batch
                penalty = penalty / float(batch) if batch else penalty * 0.0
            self._activity_losses.append(penalty)

    # -- losses ------------------------------------------------------------------------------------------
    def add_loss(self, loss):
        """Add a scalar loss (a Tensor, or a number) to this call's losses, as Keras's ``add_loss``: the
        trainer adds it to the training loss. Cleared at the start of each outermost call."""
        from kspec.engine import as_tensor
        self._activity_losses.append(as_tensor(loss))

    @property
    def losses(self):
        """Keras's order: losses added in the last call (this layer's, then every layer's inside it),
        then the weight-regularization penalties of the trainable weights (recomputed now)."""
        out = list(self._activity_losses)
        for sub in self._flatten_layers(include_self=False):
            out += sub._activity_losses
        if comm.counts_replicated_terms():  # data-parallel: weight penalties counted once, on rank 0
            out += [w.regularizer(w) for w in self.trainable_weights if w.regularizer is not None]
        return out

    def clear_activity_losses(self):
        for layer in self._flatten_layers():
            if layer._activity_losses:
                layer._activity_losses = []

    # -- the graph (after a call on symbolic tensors) -------------------------------------------------------
    @property
    def input(self):
        """The symbolic input of this layer's one call in a graph (Keras's ``layer.input``)."""
        return self._only_node("input").args

    @property
    def output(self):
        """The symbolic output of this layer's one call in a graph (Keras's ``layer.output``)."""
        outputs = self._only_node("output").outputs
        return outputs[0] if len(outputs) == 1 else list(outputs)

    def _only_node(self, what):
        nodes = self.__dict__.get("_inbound_nodes") or []
        parent = self.__dict__.get("_sequential_parent")
        if not nodes and parent is not None and parent() is not None:
            parent()._symbolic()  # a Sequential model's layers get their graph when first asked, as in Keras
            nodes = self.__dict__.get("_inbound_nodes") or []
        if not nodes:
            raise AttributeError(f"Layer {self.name!r} has never been called and thus has no defined {what}.")
        if len(nodes) > 1:
            raise AttributeError(f"Layer {self.name!r} has multiple inbound nodes, hence the notion of "
                                 f"'layer {what}' is ill-defined. Use `get_{what}_at(node_index)` instead.")
        return nodes[0]

    # -- configuration -------------------------------------------------------------------------------------
    def get_config(self):
        """Keras 3's config: the base entries, then the layer's own arguments (serialized), in signature
        order. An attribute with an argument's name is serialized in place of the raw argument."""
        config = self._base_config()
        for key, value in self._init_args.items():
            if key in _BASE_KEYS or (key in LEGACY_SHAPE_KWARGS and key in self._init_extra):
                continue
            config[key] = serialize(getattr(self, key, value))
        return config

    def _base_config(self):
        """What Keras's ``Layer.get_config`` writes: name, trainable, the dtype policy, and the activity
        regularizer only when there is one. (Keras 3 writes no ``batch_input_shape``.)"""
        config = {"name": self.name, "trainable": self.trainable, "dtype": dtype_policy_config(self.dtype)}
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"





_BASE_KEYS = ("name", "trainable", "dtype", "activity_regularizer")

class _PerThread(threading.local):
    """Call state of one thread (data-parallel loopback ranks are threads, each calling its own model)."""

    def __init__(self):
        self.scope = []       # the layers being built or first called, outermost first (Keras's name scopes)
        self.call_stack = []  # the `training` value of each call in progress, outermost first


_THREAD = _PerThread()


def _add_weight_signature(shape=None, initializer=None, dtype=None, trainable=True, regularizer=None,
                          constraint=None, name=None, *, autocast=True, aggregation="none",
                          overwrite_with_gradient=False):
    """Keras 3's ``add_weight`` arguments (the last three are accepted and have no effect in kspec:
    float32 throughout, one device)."""


def _legacy_add_weight_signature(name, shape, initializer="zeros", regularizer=None, constraint=None,
                                 trainable=True, dtype=None):
    """kspec's first ``add_weight`` arguments (name first)."""


_ADD_WEIGHT = inspect.signature(_add_weight_signature)
_LEGACY_ADD_WEIGHT = inspect.signature(_legacy_add_weight_signature)
Layer.add_weight.__signature__ = inspect.Signature(
    [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)] + list(_ADD_WEIGHT.parameters.values()))


@contextlib.contextmanager
def name_scope(layer):
    """Weights made inside get ``<outer>/<layer>/<weight>`` paths, as under Keras's name scopes (a layer
    already on top is not entered twice)."""
    if _THREAD.scope and _THREAD.scope[-1] is layer:
        yield
        return
    _THREAD.scope.append(layer)
    try:
        yield
    finally:
        _THREAD.scope.pop()


def current_path():
    """The names of the layers being built, outermost first, joined with ``/``."""
    return "/".join(layer.name for layer in _THREAD.scope)


def _weight_path(name):
    scope = current_path()
    return f"{scope}/{name}" if scope else name


def _tracking(layer):
    """The tracking state (made on first use, so attributes set before ``Layer.__init__`` are tracked)."""
    d = layer.__dict__
    if "_tracked" not in d:
        d["_tracked"] = {}
        d["_weights"] = []
        d["_made_trainable"] = set()


def _track(layer, name, value):
    _tracking(layer)
    d = layer.__dict__
    if isinstance(value, Variable):
        if not any(w is value for w in d["_weights"]):
            d["_weights"].append(value)
            if value.trainable:
                d["_made_trainable"].add(id(value))
                if not d.get("_trainable", True):
                    value.trainable = value.requires_grad = False
        d["_tracked"].pop(name, None)
        return
    d["_tracked"][name] = value


def _unique(items):
    if len({id(item) for item in items}) == len(items):
        return items
    seen, out = set(), []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out


@functools.lru_cache(maxsize=None)
def _training_default(cls):
    param = inspect.signature(cls.call).parameters.get("training")
    if param is None or param.default is inspect.Parameter.empty:
        return None
    return param.default


@functools.lru_cache(maxsize=None)
def _call_takes_var_kwargs(cls):
    return any(p.kind == p.VAR_KEYWORD for p in inspect.signature(cls.call).parameters.values())


def _set_masks(outputs, masks):
    """Keras's ``_set_mask_metadata``: outputs that already carry a mask keep it; the others get the
    computed masks, paired in order (a list of outputs with a list of masks)."""
    flat_outputs = _flat(outputs)
    if all(getattr(t, "keras_mask", None) is not None for t in flat_outputs):
        return
    for tensor, mask in zip(flat_outputs, _flat(masks)):
        if mask is not None and isinstance(tensor, Tensor) and tensor.keras_mask is None:
            tensor.keras_mask = mask


def _flat(value):
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _flat(v)]
    return [value]


def _probe_output_shape(layer, input_shape):
    """The output shape(s) found by calling ``layer.call`` on zeros: free sizes (None) are tried as 2 and
    as 3, and an output size that changes with them is free (None) too."""
    shapes = []
    with no_grad(), _quiet_math():
        for free in (2, 3):
            _THREAD.call_stack.append(False)
            try:
                kwargs = {"training": False} if "training" in _call_params(type(layer)) else {}
                out = layer.call(_probe(input_shape, free), **kwargs)
            finally:
                _THREAD.call_stack.pop()
            shapes.append([tuple(o.shape) for o in out] if isinstance(out, (list, tuple)) else tuple(out.shape))
            if not _has_free_dims(input_shape):
                break
    layer.clear_activity_losses()

    def merge(a, b):
        return (None,) + tuple(x if x == y else None for x, y in zip(a[1:], b[1:]))

    first, last = shapes[0], shapes[-1]
    if isinstance(first, list):
        return [merge(a, b) for a, b in zip(first, last)]
    return merge(first, last)


def _has_free_dims(shape):
    if isinstance(shape, list):
        return any(_has_free_dims(s) for s in shape)
    return any(d is None for d in shape[1:])


def dtype_name(dtype):
    """A layer dtype from None, a name, or Keras 3's DTypePolicy config dict -> a name ("float32")."""
    if dtype is None:
        return "float32"
    if isinstance(dtype, dict):
        if "config" in dtype:  # {"module": "keras", "class_name": "DTypePolicy", "config": {"name": ...}}
            return dtype_name(dtype["config"].get("name"))
        if "name" in dtype:
            return dtype_name(dtype["name"])
        raise ValueError(f"cannot read a dtype policy from {dtype!r}")
    if isinstance(dtype, str):
        return dtype
    return backend.xp.dtype(dtype).name  # np.float32, np.dtype("float32"), ...


def dtype_policy_config(name):
    """Keras 3's serialized DTypePolicy for a layer's ``dtype`` config entry."""
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name}, "registered_name": None}


def standardize_data_format(data_format):
    """None -> "channels_last" (Keras's default image_data_format); otherwise validated, lower case."""
    if data_format is None:
        return "channels_last"
    value = str(data_format).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError("The `data_format` argument must be one of \"channels_first\", \"channels_last\". "
                         f"Received: data_format={data_format!r}")
    return value


def _legacy_input_shape(kwargs):
    if kwargs.get("batch_input_shape") is not None:
        return tuple(kwargs["batch_input_shape"])
    if kwargs.get("input_shape") is not None:
        return (kwargs.get("batch_size"),) + tuple(kwargs["input_shape"])
    if kwargs.get("input_dim") is not None:
        return (kwargs.get("batch_size"), kwargs["input_dim"])
    return None


@functools.lru_cache(maxsize=None)
def _call_params(cls):
    return tuple(inspect.signature(cls.call).parameters)


def _freeze(shape):
    if isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list)):
        return [tuple(s) for s in shape]
    return tuple(shape)


def _shape_of(inputs):
    if isinstance(inputs, (list, tuple)):
        return [(None,) + tuple(t.shape[1:]) for t in inputs]
    return (None,) + tuple(inputs.shape[1:])


def _first_symbolic(values):
    """The first symbolic tensor (``is_symbolic``, kspec.layers.node) among the (nested) values."""
    for t in values if isinstance(values, (list, tuple)) else (values,):
        found = _first_symbolic(t) if isinstance(t, (list, tuple)) else t
        if getattr(found, "is_symbolic", False):
            return found
    return None


def _mask_of(inputs):
    if isinstance(inputs, (list, tuple)):
        masks = [getattr(t, "keras_mask", None) for t in inputs]
        return None if all(m is None for m in masks) else masks
    return getattr(inputs, "keras_mask", None)


def _probe(input_shape, free=1):
    """Zeros shaped ``input_shape``: a batch of one, free (None) sizes set to ``free``."""
    xp = backend.xp
    if isinstance(input_shape, list):
        return [_probe(s, free) for s in input_shape]
    return Tensor(xp.zeros((1,) + tuple(free if d is None else d for d in input_shape[1:]),
                           dtype=backend.floatx))


def _quiet_math():
    """Silence floating-point warnings while probing with zeros (e.g. log(0) in a Lambda)."""
    return backend.errstate(all="ignore")


def warn_legacy(message):
    warnings.warn(message, DeprecationWarning, stacklevel=3)
