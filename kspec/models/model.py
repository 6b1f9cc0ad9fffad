"""The Model base: layers, weights, model files and the summary; training is in :mod:`kspec.models.trainer`.

Subclasses (Sequential, Functional) provide ``layers``, ``output_names`` and
``call(inputs, training) -> Tensor or list of Tensors``.
"""
from kspec import backend
from kspec.models.trainer import Trainer


class Model(Trainer):
    """Keras's Model: layers and weights, files and summary; training comes from :class:`Trainer`."""

    def __init__(self, name=None):
        self.name = name or "model"
        self._init_trainer()

    # -- subclass interface ----------------------------------------------------------------------------
    layers = ()

    @property
    def output_names(self):
        raise NotImplementedError

    def call(self, inputs, training=False):
        raise NotImplementedError

    def __call__(self, inputs, training=False):
        for layer in self.layers:
            layer.clear_activity_losses()
        return self.call(inputs, training=training)

    # -- weights ---------------------------------------------------------------------------------------
    @property
    def weights(self):
        return _unique([w for layer in self.layers for w in layer.weights])

    @property
    def trainable_weights(self):
        return _unique([w for layer in self.layers for w in layer.trainable_weights])

    @property
    def non_trainable_weights(self):
        return _unique([w for layer in self.layers for w in layer.non_trainable_weights])

    def get_weights(self):
        return [backend.to_numpy(w.data).copy() for w in self.weights]

    def set_weights(self, values):
        weights = self.weights
        if len(values) != len(weights):
            raise ValueError(f"model {self.name!r} has {len(weights)} weights, got {len(values)}")
        for w, v in zip(weights, values):
            w.assign(v)

    def count_params(self):
        return int(sum(w.size for w in self.weights))

    @property
    def losses(self):
        out = []
        for layer in _unique_layers(self.layers):
            out += layer.losses
        return out

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r}; layers are {[l.name for l in self.layers]}")

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


def _check_overwrite(filepath, overwrite):
    import os
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{os.fspath(filepath)} exists and overwrite=False")


def _unique(items):
    seen, out = set(), []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out


def _unique_layers(layers):
    return _unique(list(layers))
