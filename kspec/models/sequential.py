"""Sequential: a plain stack of layers, each with one input and one output (a layer may be a model)."""
import weakref

from kspec.layers.base import Layer, name_scope, unique_name
from kspec.layers.input_layer import InputLayer
from kspec.models.model import Model, layer_entry


class Sequential(Model):
    """``Sequential([InputLayer(shape=(784,)), Dense(10)])``, or ``add()`` layers one by one.

    The input shape comes from a leading InputLayer, from the first layer's ``input_shape`` argument, or
    from :meth:`build` (also on the first call). Layers built here get Keras's weight paths
    ``<sequential name>/<layer>/<weight>``.
    """

    def __init__(self, layers=None, trainable=True, name=None):
        self._init_model(name=name or unique_name("sequential"), trainable=trainable)
        self._layers = []
        self.input_layer = None
        self._graph = None
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        return list(self._layers)

    def _sublayers(self):
        return self._layers

    @property
    def output_names(self):
        return [self._layers[-1].name] if self._layers else ["output"]

    def add(self, layer):
        history = getattr(layer, "history", None) if getattr(layer, "is_symbolic", False) else None
        if history is not None and isinstance(history[0], InputLayer):  # Sequential([Input((5,)), ...])
            layer = history[0]
        if isinstance(layer, InputLayer):
            if self._layers or self.input_layer is not None:
                raise ValueError("an InputLayer can only come first in a Sequential model")
            self.input_layer = layer
            self.build(layer.batch_shape)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add() takes a Layer; received {layer!r}")
        if not self._layers and self.input_layer is None and layer._batch_input_shape is not None:
            self.input_layer = InputLayer(batch_shape=layer._batch_input_shape)
        elif not self._layers and self.input_layer is None and _model_input_shape(layer) is not None:
            self.input_layer = InputLayer(batch_shape=_model_input_shape(layer))  # Sequential([base, ...])
        self._layers.append(layer)
        layer.__dict__["_sequential_parent"] = weakref.ref(self)  # for layer.input/output (Layer._only_node)
        self._graph = None
        if self.input_layer is not None:
            self.built = False
            self.build(self.input_layer.batch_shape)

    def pop(self):
        layer = self._layers.pop()
        self.built = False
        self._graph = None
        return layer

    @property
    def input_shape(self):
        return None if self.input_layer is None else self.input_layer.batch_shape

    def build(self, input_shape=None):
        """Build every layer in turn, inferring each output shape before any data is seen."""
        if input_shape is None:
            if self.input_layer is None:
                raise ValueError(f"Sequential model {self.name!r} cannot be built without an input shape")
            input_shape = self.input_layer.batch_shape
        input_shape = tuple(input_shape)
        if self.input_layer is None:
            self.input_layer = InputLayer(batch_shape=input_shape)
        shape = input_shape
        with name_scope(self):
            for layer in self._layers:
                layer.ensure_built(shape)
                shape = _output_shape(layer, shape)
        self.built = True

    def ensure_built(self, input_shape):
        if not self.built:
            self.build(input_shape)

    def build_from_input(self, inputs):
        from kspec.layers.base import _shape_of
        self.build(_shape_of(inputs))

    @property
    def output_shape(self):
        if not self._layers:
            return self.input_shape
        shape = self.input_shape
        for layer in self._layers:
            shape = _output_shape(layer, shape)
        return shape

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def call(self, inputs, training=None, mask=None):
        from kspec.engine import as_tensor
        x = as_tensor(inputs)
        if mask is not None and getattr(x, "keras_mask", None) is None:
            x.keras_mask = mask
        for layer in self._layers:
            x = layer(x, training=training)
        return x

    # -- the symbolic graph (Keras builds one: model.inputs, model.outputs; input/output are its calls') -----------------
    def _symbolic(self):
        if self._graph is None:
            from kspec.layers.node import input_tensor
            if self.input_layer is None:
                raise AttributeError(f"Sequential model {self.name!r} has no input yet: give it an Input or "
                                     "build it first")
            inputs = input_tensor(self.input_layer)
            x = inputs
            for layer in self._layers:
                x = layer(x)
            self._graph = ([inputs], [x])
        return self._graph

    @property
    def inputs(self):
        return list(self._symbolic()[0])

    @property
    def outputs(self):
        return list(self._symbolic()[1])

    # -- configuration -------------------------------------------------------------------------------------
    def get_config(self):
        layers = []
        if self.input_layer is not None:
            layers.append({"module": "keras.layers", "class_name": "InputLayer",
                           "config": self.input_layer.get_config(), "registered_name": None})
        for layer in self._layers:
            entry = layer_entry(layer)
            entry["config"].pop("batch_input_shape", None)
            if "build_config" not in entry and not isinstance(layer, Model) and layer.built \
                    and layer.input_shape is not None:
                entry["build_config"] = {"input_shape": list(layer.input_shape)}
            layers.append(entry)
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                            "registered_name": None},
                  "layers": layers}
        if self.input_shape is not None:
            config["build_input_shape"] = list(self.input_shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A Sequential model from Keras's config (Keras 3, Keras 2, or Keras 2.0's bare layer list)."""
        from kspec.models.config import sequential_from_config
        return sequential_from_config(config)


def _output_shape(layer, input_shape):
    shape = getattr(layer, "output_shape", None)
    if shape is None:
        shape = layer.compute_output_shape(input_shape)
    return shape


def _model_input_shape(layer):
    """A built model's one input shape (Keras builds ``Sequential([base_model, ...])`` from it), else None."""
    if not (isinstance(layer, Model) and layer.built):
        return None
    shape = layer.input_shape
    return tuple(shape) if isinstance(shape, tuple) else None
