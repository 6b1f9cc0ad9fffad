"""Core layers: Dense, Activation, Lambda."""
import base64
import builtins
import inspect
import marshal
import types

from kspec import activations, constraints, initializers, regularizers
from kspec.engine import Tensor, as_tensor, ops
from kspec.backend.memory import MemoryBudgetError
from kspec.layers.base import Layer
from kspec.layers.expression import ExpressionError
from kspec.registry import register
from kspec.serialization import serialize


@register("layer")
class Dense(Layer):
    """Densely connected layer: ``output = activation(inputs @ kernel + bias)`` on the last axis.

    Weights: kernel (in, units), bias (units,) when ``use_bias``.
    Input shape: (batch, ..., in). Output shape: (batch, ..., units). The mask passes through.

    Args:
        units: Positive integer, the size of the output's last axis.
    """

    supports_masking = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 quantization_config=None, **kwargs):
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError("Received an invalid value for `units`, expected a positive integer. "
                             f"Received: units={units!r}")
        if quantization_config is not None:
            raise ValueError("Dense: kspec does not support quantization. "
                             f"Received: quantization_config={quantization_config!r}")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.quantization_config = None

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError("The last dimension of the inputs to a Dense layer should be defined. "
                             f"Received: input_shape={tuple(input_shape)}")
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer,
                                      self.kernel_regularizer, self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), self.bias_initializer, self.bias_regularizer,
                                        self.bias_constraint)

    def call(self, inputs, training=False):
        return self.activation(ops.linear(inputs, self.kernel, self.bias))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)


@register("layer")
class Activation(Layer):
    """Applies an activation function: ``output = activation(inputs)``. Shape and mask unchanged.

    Args:
        activation: The activation function to apply (a name such as relu).
    """

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs, training=False):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape


@register("layer")
class Lambda(Layer):
    """Wraps a Python callable written with ``kspec.engine.ops``: ``output = function(inputs, **arguments)``.

    ``output_shape``: None (inferred by running the function on a probe batch), a tuple without the batch
    dimension, or a callable mapping the full input shape to the full output shape.
    ``mask``: None (the mask is dropped), a callable ``(inputs, mask) -> mask``, or a fixed mask.
    The function receives ``mask=`` and ``training=`` when its signature names them.
    Serialization follows Keras: a named function is saved by name, a ``lambda`` as marshalled bytecode
    that :meth:`from_config` loads only with ``safe_mode=False``.
    ``function`` may also be a string: an expression of :mod:`kspec.layers.expression` (``"x * sigmoid(x)"``),
    or a ``module:function`` reference where code is allowed (``KSPEC_ALLOW_CODE=1``).

    Args:
        function: The function applied to the input: an expression of x, such as "x * sigmoid(x)", or
            module:function when code is allowed (--allow-code).
        output_shape: The output shape without the batch axis, when it cannot be inferred.
        mask: The mask of the output (null: none).
        arguments: Extra keyword arguments passed to the function.
    """

    takes_expression = True  # a spec's `function: "x * sigmoid(x)"` (kspec.layers.expression)

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(function, str):
            function = deserialize_function(function)
        if not callable(function):
            raise TypeError(f"Lambda: `function` must be callable. Received: function={function!r}")
        self.function = function
        self._output_shape = tuple(output_shape) if isinstance(output_shape, list) else output_shape
        self.mask = mask
        self.arguments = dict(arguments or {})
        self.supports_masking = mask is not None
        params = _parameter_names(function)
        self._fn_expects_mask = "mask" in params
        self._fn_expects_training = "training" in params

    def call(self, inputs, training=False, mask=None):
        kwargs = dict(self.arguments)
        if self._fn_expects_mask:
            kwargs["mask"] = mask
        if self._fn_expects_training:
            kwargs["training"] = training
        if not isinstance(inputs, (list, tuple)):
            inputs = as_tensor(inputs)
        out = self.function(inputs, **kwargs)
        if isinstance(out, (list, tuple)):
            return [o if isinstance(o, Tensor) else as_tensor(o) for o in out]
        return out if isinstance(out, Tensor) else as_tensor(out)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            try:
                return super().compute_output_shape(input_shape)
            except (ExpressionError, MemoryBudgetError):
                raise  # the expression's own error (too large an output), not a shape to specify
            except Exception as err:
                raise NotImplementedError("We could not automatically infer the shape of the Lambda's output. "
                                          "Please specify the `output_shape` argument for this Lambda layer. "
                                          f"({type(err).__name__}: {err})") from err
        if callable(self._output_shape):
            return tuple(self._output_shape(input_shape))
        first = input_shape[0] if isinstance(input_shape, list) else input_shape
        return (first[0],) + tuple(self._output_shape)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def get_config(self):
        config = self._base_config()
        config["function"] = serialize_function(self.function)
        if self._output_shape is not None:
            config["output_shape"] = (serialize_function(self._output_shape) if callable(self._output_shape)
                                      else list(self._output_shape))
        if self.mask is not None:
            config["mask"] = (serialize_function(self.mask) if callable(self.mask)
                              else serialize(getattr(self.mask, "tolist", lambda: self.mask)()))
        config["arguments"] = serialize(self.arguments)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=True):
        """Rebuild from :meth:`get_config`. Functions saved by name are looked up in ``custom_objects``,
        then among kspec's activations and ``kspec.engine.ops``. A ``lambda`` saved as bytecode loads only
        with ``safe_mode=False`` (it runs arbitrary code)."""
        config = dict(config)
        config["function"] = deserialize_function(config["function"], custom_objects, safe_mode)
        shape = config.get("output_shape")
        if isinstance(shape, (dict, str)):
            config["output_shape"] = deserialize_function(shape, custom_objects, safe_mode)
        elif isinstance(shape, list):
            config["output_shape"] = tuple(shape)
        mask = config.get("mask")
        if isinstance(mask, (dict, str)):
            config["mask"] = deserialize_function(mask, custom_objects, safe_mode)
        return cls(**config)


def _parameter_names(fn):
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):  # some builtins have no signature
        return set()


def serialize_function(fn):
    """Keras's config for a function: a ``lambda`` as marshalled, base64 bytecode (``__lambda__``), a
    named function by its name."""
    if isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>":
        closure = None
        if fn.__closure__:
            closure = [serialize(cell.cell_contents) for cell in fn.__closure__]
        code = base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii")
        defaults = None if fn.__defaults__ is None else serialize(fn.__defaults__)
        return {"class_name": "__lambda__", "config": {"code": code, "defaults": defaults, "closure": closure}}
    if callable(fn):
        name = getattr(fn, "keras_name", None) or getattr(fn, "__name__", None)
        if name is None:
            raise ValueError(f"Lambda: cannot serialize {fn!r}; use a named function")
        return {"module": "builtins", "class_name": "function", "config": name, "registered_name": "function"}
    raise ValueError(f"Lambda: cannot serialize {fn!r} of type {type(fn).__name__}")


def deserialize_function(config, custom_objects=None, safe_mode=True):
    """The inverse of :func:`serialize_function` (callables pass through)."""
    if callable(config):
        return config
    if isinstance(config, dict) and config.get("class_name") == "__lambda__":
        if safe_mode:
            raise ValueError("Requested the deserialization of a Lambda layer whose function is a Python lambda "
                             "(saved as bytecode). Loading it runs arbitrary code, so it is refused by default; "
                             "pass safe_mode=False if you trust the source.")
        return _load_lambda(config["config"])
    name = config.get("config") if isinstance(config, dict) else config
    if not isinstance(name, str):
        raise ValueError(f"Lambda: cannot read a function from {config!r}")
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    from kspec.layers import expression
    from kspec.registry import lookup
    fn = lookup("activation", name) or (getattr(ops, name, None) if name in expression.FUNCTIONS else None)
    if fn is None:  # an expression ("x * sigmoid(x)"), or module:function where code is allowed
        try:
            fn = expression.to_function(name)
        except expression.ExpressionError as err:
            if expression.is_reference(name) or not name.isidentifier():
                raise ValueError(f"Lambda: {err.message}") from None
    if fn is None or not callable(fn):
        raise ValueError(f"Lambda: unknown function {name!r}; pass it in custom_objects={{{name!r}: fn}}")
    return fn


def _load_lambda(config):
    try:
        code = marshal.loads(base64.decodebytes(config["code"].encode("ascii")))
    except (ValueError, EOFError, TypeError) as err:
        raise ValueError("Lambda: the saved bytecode cannot be loaded by this Python version") from err
    closure = config.get("closure")
    cells = None if closure is None else tuple(types.CellType(v) for v in closure)
    defaults = config.get("defaults")
    defaults = None if defaults is None else tuple(defaults)
    scope = {"__builtins__": builtins, "ops": ops}
    return types.FunctionType(code, scope, code.co_name, defaults, cells)
