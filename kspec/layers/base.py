"""The Layer base class: configuration in ``__init__``, weights in ``build``, math in ``call``.

A layer states its arguments once, in its ``__init__`` signature (with Keras 3's names and defaults).
The base class records the bound arguments of the most-derived ``__init__``, so ``get_config``,
``from_config``, the spec validator and the Keras ``model_config`` all come from that one statement.
"""
import contextlib
import functools
import inspect
import warnings

from kspec import backend, initializers, regularizers, constraints
from kspec.backend import comm
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


def _record_init(init):
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        outermost = not hasattr(self, "_init_args")
        if outermost:
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            recorded = dict(bound.arguments)
            recorded.pop("self")
            extra = recorded.pop("kwargs", {})
            recorded.update(extra)
            self._init_args = recorded
            self._init_extra = frozenset(extra)  # passed through **kwargs, not the layer's own arguments
        init(self, *args, **kwargs)

    wrapper.__signature__ = signature
    return wrapper


class Layer:
    """Base class of every layer.

    Subclasses implement ``__init__`` (store config only), ``build(input_shape)`` (create weights with
    :meth:`add_weight`), ``call(inputs, training=False)`` and ``compute_output_shape(input_shape)``.
    Shapes exclude nothing: they are full tuples with ``None`` for the batch dimension.
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
        self.trainable = trainable
        self.dtype = dtype_name(dtype)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.built = False
        self.input_shape = None
        self.output_shape = None
        self._batch_input_shape = _legacy_input_shape(kwargs)
        self._weights = []
        self._activity_losses = []

    # -- weights ---------------------------------------------------------------------------------------
    def add_weight(self, name, shape, initializer="zeros", regularizer=None, constraint=None, trainable=True,
                   dtype=None):
        init = initializers.get(initializer)
        value = init(tuple(int(s) for s in shape), dtype=dtype or backend.floatx)
        var = Variable(value, name=name, trainable=trainable and self.trainable,
                       constraint=constraints.get(constraint), regularizer=regularizers.get(regularizer),
                       path=f"{self.name}/{name}")
        self._weights.append(var)
        return var

    @property
    def weights(self):
        """Trainable weights first, then non-trainable (Keras's order)."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_weights(self):
        return [w for w in self._all_weights() if w.trainable] if self.trainable else []

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return list(self._all_weights())
        return [w for w in self._all_weights() if not w.trainable]

    def _all_weights(self):
        """Own weights plus those of nested layers (wrappers override ``_sublayers``)."""
        out = list(self._weights)
        for sub in self._sublayers():
            out += sub._all_weights()
        return out

    def _sublayers(self):
        return []

    def set_trainable(self, value):
        self.trainable = value
        for w in self._all_weights():
            w.trainable = value
            w.requires_grad = value

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

    def call(self, inputs, training=False):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        """Default: run ``call`` on a batch of one and read the shape. Layers override it cheaply."""
        probe = _probe(input_shape)
        with no_grad(), _quiet_math():
            out = self.call(probe, training=False)
        if isinstance(out, (list, tuple)):
            return [(None,) + tuple(o.shape[1:]) for o in out]
        return (None,) + tuple(out.shape[1:])

    def check_call_kwargs(self, kwargs):
        """Rejects call arguments that ``call`` does not take; layers with extra ones check their values."""
        unknown = [k for k in kwargs if k not in _call_params(type(self))]
        if unknown:
            raise TypeError(f"{type(self).__name__}.call() got an unexpected keyword argument {unknown[0]!r}")

    def compute_mask(self, inputs, mask=None):
        """The mask of the output: passed through where the layer supports masking, else dropped."""
        return mask if self.supports_masking else None

    def ensure_built(self, input_shape):
        if not self.built:
            self.input_shape = _freeze(input_shape)
            self.build(self.input_shape)
            self.built = True
            self.output_shape = _freeze(self.compute_output_shape(self.input_shape))

    def __call__(self, inputs, training=False, mask=None, **kwargs):
        """``kwargs``: further arguments of ``call`` (e.g. a recurrent layer's ``initial_state``); the
        tensors among them are graph inputs too when building a graph."""
        self.check_call_kwargs(kwargs)
        symbolic = _first_symbolic([inputs] + list(kwargs.values()))
        if symbolic is not None:  # graph building: kspec.models.functional records a node instead
            return symbolic.apply_layer(self, inputs, kwargs)
        self.ensure_built(_shape_of(inputs))
        if mask is None:
            mask = _mask_of(inputs)
        if mask is not None and "mask" in _call_params(type(self)):
            kwargs["mask"] = mask
        outputs = self.call(inputs, training=training, **kwargs)
        if self.activity_regularizer is not None:
            self._add_activity_losses(outputs)
        out_mask = self.compute_mask(inputs, mask)
        if out_mask is not None and isinstance(outputs, Tensor):
            outputs.keras_mask = out_mask
        return outputs

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
    @property
    def losses(self):
        """Weight-regularization penalties (recomputed now) plus activity losses of the last call."""
        out = [w.regularizer(w) for w in self._all_weights() if w.regularizer is not None and w.trainable
               and comm.counts_replicated_terms()]  # data-parallel: counted once, on rank 0
        out += self._activity_losses
        for sub in self._sublayers():
            out += sub._activity_losses
        return out

    def clear_activity_losses(self):
        self._activity_losses = []
        for sub in self._sublayers():
            sub.clear_activity_losses()

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
    """The first symbolic tensor (``is_symbolic``, kspec.models.functional) among the (nested) values."""
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


def _probe(input_shape):
    xp = backend.xp
    if isinstance(input_shape, list):
        return [Tensor(xp.zeros((1,) + tuple(s[1:]), dtype=backend.floatx)) for s in input_shape]
    return Tensor(xp.zeros((1,) + tuple(input_shape[1:]), dtype=backend.floatx))


def _quiet_math():
    """Silence floating-point warnings while probing with zeros (e.g. log(0) in a Lambda)."""
    errstate = getattr(backend.xp, "errstate", None)
    return errstate(all="ignore") if errstate is not None else contextlib.nullcontext()


def warn_legacy(message):
    warnings.warn(message, DeprecationWarning, stacklevel=3)
