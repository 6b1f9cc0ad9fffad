"""Model files in Keras's HDF5 layouts, both directions.

* :func:`save_model` / :func:`load_model` / :func:`load_model_and_spec`: Keras 3's native ``.keras`` zip
  (by name when saving, by content when loading) or the legacy whole-model ``.h5`` (``model.save("x.h5")``
  in Keras), readable by Keras 2 and 3 and written so Keras 3 loads it.
* :func:`save_weights` / :func:`load_weights`: ``.weights.h5`` (Keras 3 native) or ``.h5`` (the legacy
  weights layout); loading reads any of kspec's files and Keras 2/3 whole-model or weights-only files.

Every failure raises :class:`ModelFileError` with a one-line message; skipped content warns with
:class:`ModelFileWarning`.
"""
import importlib
import os

from kspec.io.errors import ModelFileError, ModelFileWarning

__all__ = ["save_model", "load_model", "load_model_and_spec", "save_weights", "load_weights", "LoadReport",
           "ModelFileError", "ModelFileWarning"]

_LEGACY_SUFFIXES = (".h5", ".hdf5", ".hdf", ".keras.h5")

# Loaded on first use (PEP 562): loading a model to predict needs neither the .weights.h5 layout nor
# anything for saving.
_LAZY = {"open_for_reading": "kspec.io.h5utils"}
_SUBMODULES = ("h5_legacy", "weights_h5", "h5utils", "keras_config", "optimizer_state", "keras_zip")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"kspec.io.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kspec.io' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))


def save_model(model, path, spec=None, include_optimizer=True):
    """``*.keras`` -> Keras 3's native zip; any other name -> the legacy whole-model HDF5 layout."""
    from kspec.io import h5_legacy, keras_zip

    if os.fspath(path).lower().endswith(".keras"):
        return keras_zip.save_model(model, path, spec=spec, include_optimizer=include_optimizer)
    return h5_legacy.save_model(model, path, spec=spec, include_optimizer=include_optimizer)


def load_model_and_spec(path, compile=True):
    """``(model, spec)`` from a ``.keras`` zip or a whole-model ``.h5`` (recognised by content)."""
    from kspec.io import h5_legacy, keras_zip

    if keras_zip.is_keras_zip(path):
        return keras_zip.load_model_and_spec(path, compile=compile)
    return h5_legacy.load_model_and_spec(path, compile=compile)


def load_model(path, compile=True, custom_objects=None, safe_mode=None):
    """A kspec model from a ``.keras`` or whole-model ``.h5`` file, compiled (with optimizer state) when
    the file says how. ``custom_objects`` maps class or function names to the user's objects (no import,
    as Keras's); ``safe_mode=False`` lets the file name user code as ``module:Name`` (imported then), True
    refuses it, None keeps the outer setting (:mod:`kspec.user_code`)."""
    from kspec.user_code import CustomObjectScope, SafeModeScope

    with CustomObjectScope(custom_objects), SafeModeScope(safe_mode):
        return load_model_and_spec(path, compile=compile)[0]


def save_weights(model, path):
    """``*.weights.h5`` -> Keras 3 native layout; ``*.h5``/``*.hdf5`` -> the legacy weights-only layout."""
    from kspec.io import h5_legacy, weights_h5

    name = os.fspath(path).lower()
    if name.endswith(".weights.h5"):
        weights_h5.save_weights(model, path)
    elif name.endswith(_LEGACY_SUFFIXES):
        h5_legacy.save_weights(model, path)
    else:
        raise ModelFileError("unknown weights file type", path,
                             hint="use a name ending in .weights.h5 (Keras 3) or .h5 (legacy Keras)")


def load_weights(model, path, by_name=False, skip_mismatch=False):
    """Load weights into a built ``model`` from any supported file, recognised by its content.

    Legacy files (``layer_names`` at the root, or a ``model_weights`` group) pair layers with weights in
    order, or by layer name with ``by_name``; ``.weights.h5`` and ``.keras`` files pair by position in the
    model's layer list. ``skip_mismatch`` skips (with a ModelFileWarning) weights whose shapes do not fit.
    Returns a :class:`LoadReport` (which layers got weights from the file, which kept their own).
    """
    from kspec.io import h5_legacy, h5utils, keras_zip, weights_h5
    from kspec.io.h5utils import open_for_reading

    h5_legacy.require_built(model, path)
    if keras_zip.is_keras_zip(path):
        if by_name:
            raise ModelFileError("by_name loading needs a legacy .h5 file; .keras files match by position",
                                 path)
        with keras_zip.open_archive(path) as zf, keras_zip.open_weights(zf, path) as f:
            return LoadReport(model, weights_h5.load_weights(model, f, path, skip_mismatch))
    with open_for_reading(path) as f:
        h5utils.verify_checksum(f, path)
        if "layer_names" in f.attrs:
            assigned = h5_legacy.load_weights_from_group(model, f, path, by_name, skip_mismatch)
        elif "model_weights" in f:
            assigned = h5_legacy.load_weights_from_group(model, f["model_weights"], path, by_name,
                                                         skip_mismatch)
        elif weights_h5.is_native(f):
            if by_name:
                raise ModelFileError("by_name loading needs a legacy .h5 file; .weights.h5 files match by "
                                     "position", path)
            assigned = weights_h5.load_weights(model, f, path, skip_mismatch)
        else:
            raise ModelFileError("no model weights in this HDF5 file", path,
                                 hint="expected a Keras/kspec .h5 or .weights.h5 file")
    return LoadReport(model, assigned)


class LoadReport:
    """What :func:`load_weights` did, per layer with weights: ``loaded`` (every weight from the file),
    ``partial`` (some weights, the others skipped) and ``kept`` (none: the layer keeps its own weights,
    skipped for a mismatch or absent from the file)."""

    def __init__(self, model, assigned):
        ids = {id(v) for v in assigned}
        self.loaded, self.partial, self.kept = [], [], []
        for layer in model.layers:
            weights = layer.weights
            if not weights:
                continue
            n = sum(id(w) in ids for w in weights)
            (self.loaded if n == len(weights) else self.partial if n else self.kept).append(layer.name)

    def lines(self, path):
        """Human-readable lines for a log."""
        out = [f"loaded weights of {len(self.loaded)} layer(s) from {path}: {', '.join(self.loaded) or 'none'}"]
        if self.partial:
            out.append(f"  partly loaded (some weights skipped): {', '.join(self.partial)}")
        if self.kept:
            out.append(f"  kept their initial weights: {', '.join(self.kept)}")
        return out
