"""The Model base: a Layer that trains. Keras 3's ``Model(Trainer, Layer)``; training is in
:mod:`kspec.models.trainer`, the layer side (weights, ``trainable``, calls, losses) in
:class:`kspec.layers.base.Layer`.

``Model(inputs, outputs)`` (or ``Model(inputs=..., outputs=...)``) makes a Functional model, and a subclass
of Model called that way becomes a Functional model with the subclass's methods (Keras's ``Model.__new__``
trick, used by the guides' ``CustomModel(inputs, outputs)``). A subclass with ``__init__`` and ``call``
tracks its layers through attributes and is built by its first call.
"""
from kspec.layers.base import Layer, unique_name
from kspec.models.trainer import Trainer
from kspec.serialization import class_entry

_FUNCTIONAL_SUBCLASSES = {}


def _functional_init_arguments(args, kwargs):
    return (len(args) == 2 or (len(args) == 1 and "outputs" in kwargs)
            or ("inputs" in kwargs and "outputs" in kwargs))


class Model(Trainer, Layer):
    """Keras's Model: a Layer with ``compile``/``fit``/``evaluate``/``predict``, files and a summary."""

    def __new__(cls, *args, **kwargs):
        from kspec.models.functional import Functional

        if _functional_init_arguments(args, kwargs) and not issubclass(cls, Functional):
            if cls is Model:
                cls = Functional
            else:
                cls = _FUNCTIONAL_SUBCLASSES.get(cls) or _FUNCTIONAL_SUBCLASSES.setdefault(
                    cls, type(cls.__name__, (cls, Functional), {"__module__": cls.__module__,
                                                                  "__qualname__": cls.__qualname__}))
        return object.__new__(cls)

    def __init__(self, *args, name=None, trainable=True, dtype=None, **kwargs):
        from kspec.models.functional import Functional

        if isinstance(self, Functional) and (args or "inputs" in kwargs):
            Functional.__init__(self, *args, name=name, trainable=trainable, **kwargs)
            return
        if args or kwargs:
            unknown = sorted(kwargs) or ["positional arguments"]
            raise TypeError(f"Model.__init__() got unexpected arguments: {unknown}")
        Layer.__init__(self, name=name or unique_name("model" if type(self) is Model else _snake(self)),
                       trainable=trainable, dtype=dtype)
        self._init_trainer()

    def _init_model(self, name, trainable=True):
        """What Sequential and Functional share: the Layer and the trainer."""
        Layer.__init__(self, name=name, trainable=trainable)
        self._init_trainer()

    # -- layers ----------------------------------------------------------------------------------------
    @property
    def layers(self):
        """The layers directly inside the model (a subclassed model's: its tracked attributes)."""
        return Layer._sublayers(self)

    def _sublayers(self):
        return list(self.layers)

    @property
    def output_names(self):
        names = self.__dict__.get("_output_names")
        return list(names) if names else ["output_1"]

    def call(self, inputs, training=None):
        raise NotImplementedError(f"model {type(self).__name__} has no call() method: subclass Model with "
                                  "__init__ and call, or use Model(inputs, outputs) / Sequential")

    def ensure_built(self, input_shape):
        """Subclassed models are built by their first call (:meth:`_after_first_call`)."""

    def _build_for_call(self, inputs):
        if not self.built:
            self.build_from_input(inputs)

    def build_from_input(self, inputs):
        """Build before the first call (Sequential builds for the input's shape; others on the call)."""

    def _after_first_call(self, inputs, outputs):
        if not self.built:
            self.built = True
            if "_output_names" not in self.__dict__ and isinstance(outputs, (list, tuple)):
                self._output_names = [f"output_{i + 1}" for i in range(len(outputs))]

    def build(self, input_shape=None):
        """A subclassed model builds by calling itself on zeros of ``input_shape`` (Keras does the same)."""
        if self.built or input_shape is None:
            return
        from kspec.layers.base import _probe
        from kspec.engine import no_grad
        with no_grad():
            self(_probe(_shape_list(input_shape), 1), training=False)

    def get_layer(self, name=None, index=None):
        """A layer of this model by ``name`` or ``index``; ``name`` may be a path into nested models,
        ``"base/conv1"``."""
        layers = self.layers
        if index is not None:
            if name is not None:
                raise ValueError("Provide only a layer name or a layer index. Received: "
                                 f"index={index}, name={name}.")
            if len(layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only has "
                                 f"{len(layers)} layers.")
            return layers[index]
        if name is None:
            raise ValueError("Provide either a layer name or layer index at `get_layer`.")
        for layer in layers:
            if layer.name == name:
                return layer
        head, _, rest = str(name).partition("/")
        if rest:
            for layer in layers:
                if layer.name == head and isinstance(layer, Model):
                    return layer.get_layer(rest)
        raise ValueError(f"No such layer: {name}. Existing layers are: {[layer.name for layer in layers]}.")

    # -- files and summary -------------------------------------------------------------------------------
    def save(self, filepath, overwrite=True):
        """Save the whole model (architecture, weights, optimizer state) with :mod:`kspec.io`."""
        from kspec import io
        _check_overwrite(filepath, overwrite)
        io.save_model(self, filepath)

    def save_weights(self, filepath, overwrite=True):
        """Save the weights (``.weights.h5`` or legacy ``.h5``) with :mod:`kspec.io`."""
        from kspec import io
        _check_overwrite(filepath, overwrite)
        io.save_weights(self, filepath)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Load weights saved by kspec or Keras into this (built) model."""
        from kspec import io
        io.load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None, stream=None):
        """Keras 3's summary table, to ``print_fn`` (called once with the whole text) or ``stream``."""
        from kspec.models.summary import print_summary
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range,
                      stream=stream)

    # -- configuration -----------------------------------------------------------------------------------
    def get_config(self):
        """A subclassed model's config: its ``__init__`` arguments (Keras's auto-config)."""
        return Layer.get_config(self)


def _snake(model):
    from kspec.registry import snake_case
    return snake_case(type(model).__name__)


def _shape_list(shape):
    if isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list)):
        return [tuple(s) for s in shape]
    return tuple(shape)


def _check_overwrite(filepath, overwrite):
    import os
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{os.fspath(filepath)} exists and overwrite=False")


def layer_entry(layer):
    """The Keras 3 serialization of a layer or nested model inside a model config: module, class_name,
    config, registered_name and, when built, build_config (models add compile_config, as Keras does)."""
    from kspec.models.functional import Functional
    from kspec.models.sequential import Sequential

    if isinstance(layer, Sequential):
        entry = {"module": "keras", "class_name": "Sequential", "config": layer.get_config(),
                 "registered_name": None}
        if layer.built and layer.input_shape is not None:
            entry["build_config"] = {"input_shape": _plain(layer.input_shape)}
        entry["compile_config"] = {}
        return entry
    if isinstance(layer, Functional) and type(layer).__name__ == "Functional":
        return {"module": "keras.src.models.functional", "class_name": "Functional",
                "config": layer.get_config(), "registered_name": "Functional",
                "build_config": {"input_shape": None}, "compile_config": {}}
    entry = {**class_entry(layer, "keras.layers"),  # a user's class keeps its own module (module:Name)
             "class_name": getattr(type(layer), "keras_class_name", type(layer).__name__),
             "config": layer.get_config()}
    return entry


def _plain(shape):
    if isinstance(shape, list):
        return [list(s) for s in shape]
    return list(shape)
