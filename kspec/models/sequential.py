"""Sequential: a plain stack of layers, each with one input and one output."""
from kspec.layers.base import Layer, unique_name
from kspec.layers.input_layer import InputLayer
from kspec.models.model import Model
from kspec.serialization import class_entry


class Sequential(Model):
    """``Sequential([InputLayer(shape=(784,)), Dense(10)])``, or ``add()`` layers one by one.

    The input shape comes from a leading InputLayer, from the first layer's ``input_shape`` argument, or
    from :meth:`build`.
    """

    def __init__(self, layers=None, name=None):
        super().__init__(name=name or unique_name("sequential"))
        self._layers = []
        self.input_layer = None
        self.built = False
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        return list(self._layers)

    @property
    def output_names(self):
        return [self._layers[-1].name] if self._layers else ["output"]

    def add(self, layer):
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
        self._layers.append(layer)
        if self.input_layer is not None:
            self.built = False
            self.build(self.input_layer.batch_shape)

    def pop(self):
        layer = self._layers.pop()
        self.built = False
        return layer

    @property
    def input_shape(self):
        return None if self.input_layer is None else self.input_layer.batch_shape

    def build(self, input_shape):
        """Build every layer in turn, inferring each output shape before any data is seen."""
        input_shape = tuple(input_shape)
        if self.input_layer is None:
            self.input_layer = InputLayer(batch_shape=input_shape)
        shape = input_shape
        for layer in self._layers:
            layer.ensure_built(shape)
            shape = layer.output_shape
        self.built = True

    @property
    def output_shape(self):
        return self._layers[-1].output_shape if self._layers else self.input_shape

    def call(self, inputs, training=False):
        from kspec.engine import as_tensor
        x = as_tensor(inputs)
        if not self.built:
            self.build((None,) + tuple(x.shape[1:]))
        for layer in self._layers:
            x = layer(x, training=training)
        return x

    def get_config(self):
        layers = []
        if self.input_layer is not None:
            layers.append({"module": "keras.layers", "class_name": "InputLayer",
                           "config": self.input_layer.get_config(), "registered_name": None})
        for layer in self._layers:
            config = layer.get_config()
            config.pop("batch_input_shape", None)
            entry = {**class_entry(layer, "keras.layers"), "config": config}
            if layer.built and layer.input_shape is not None:
                entry["build_config"] = {"input_shape": list(layer.input_shape)}
            layers.append(entry)
        config = {"name": self.name, "trainable": True, "dtype": "float32", "layers": layers}
        if self.input_shape is not None:
            config["build_input_shape"] = list(self.input_shape)
        return config
