"""Keras's legacy HDF5 layouts: the whole-model ``.h5`` (reference §7a) and the weights-only ``.h5`` (§7b).

Whole-model file::

    / @backend @keras_version (vlen UTF-8)  @model_config @training_config (vlen ASCII JSON)
      @kspec_version [@kspec_spec] (vlen UTF-8; kspec's own, ignored by Keras)
    /model_weights @layer_names @backend @keras_version
    /model_weights/<layer> @weight_names = ["sequential/dense/kernel", ...]
    /model_weights/<layer>/sequential/dense/kernel   (each weight name is a path relative to its layer)
    /model_weights/top_level_model_weights @weight_names = float64[0]
    /optimizer_weights @weight_names = ["adam/iteration", "adam/learning_rate", "adam/sequential_dense_...", ...]

A weights-only file holds the ``/model_weights`` content at its root. Loading pairs the model's layers that
have weights with the file's layers that have weights, in order (or by name with ``by_name``), and assigns
each layer's weights by position, as Keras 3 does; nothing is assigned unless everything fits.

``keras_version`` is "3.15.1": Keras 3 reads it but never uses it, while Keras 2 treats a weights group
without it as Keras 1 and rewrites convolution and recurrent kernels on load, so it must be present; it
names the Keras release whose layout and semantics the file follows (kspec's own version is in
``kspec_version``). ``backend`` is "numpy" (read, never used, by Keras 3; Keras 2 converts only "theano"
files).
"""
import json
import warnings

import h5py

from kspec import backend as kbackend
from kspec.backend import memory
from kspec.io import optimizer_state
from kspec.io.errors import ModelFileError, ModelFileWarning
from kspec.io.h5utils import (atomic_h5, json_bytes, json_default, kspec_version, open_for_reading,
                              read_array, read_json_attr, read_strings, read_text_attr, verify_checksum,
                              write_array, write_checksum, write_strings)
from kspec.io.keras_config import (compile_args, keras_weight_path, model_config, model_from_config,
                                   training_config)

KERAS_VERSION = "3.15.1"
BACKEND = "numpy"


# -- saving ------------------------------------------------------------------------------------------------
def save_model(model, path, spec=None, include_optimizer=True):
    """Write ``model`` as a Keras legacy whole-model ``.h5`` (atomically); ``spec`` (a dict, a text, or an
    object with ``to_dict()``) is stored as JSON in the root attribute ``kspec_spec``."""
    require_built(model, path)
    config = json_bytes(model_config(model), "model config", path)
    train = training_config(model) if include_optimizer else None
    train_bytes = None if train is None else json_bytes(train, "training config", path)
    spec_text = None if spec is None else _spec_text(spec, path)
    with atomic_h5(path) as f:
        f.attrs["keras_version"] = KERAS_VERSION
        f.attrs["backend"] = BACKEND
        f.attrs["model_config"] = config
        if train_bytes is not None:
            f.attrs["training_config"] = train_bytes
        f.attrs["kspec_version"] = kspec_version()
        if spec_text is not None:
            f.attrs["kspec_spec"] = spec_text
        save_weights_to_group(model, f.create_group("model_weights"), path)
        if train is not None:
            _save_optimizer_weights(model, f.create_group("optimizer_weights"))
        write_checksum(f)


def save_weights(model, path):
    """Write the Keras 2 weights-only layout (§7b): the ``/model_weights`` content at the file root."""
    require_built(model, path)
    with atomic_h5(path) as f:
        save_weights_to_group(model, f, path)
        f.attrs["kspec_version"] = kspec_version()
        write_checksum(f)


def save_weights_to_group(model, group, path=None):
    """``layer_names`` in model order, one group per layer (created in name order), weights in
    trainable + non-trainable order under their Keras 3 paths."""
    layers = list(model.layers)
    names = [layer.name for layer in layers]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ModelFileError(f"two layers share the name {duplicates[0]!r}; HDF5 needs unique layer names", path)
    write_strings(group, "layer_names", names)
    group.attrs["backend"] = BACKEND.encode("utf8")
    group.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
    for layer in sorted(layers, key=lambda layer: layer.name):
        layer_group = group.create_group(layer.name)
        weights = legacy_weights(layer)
        weight_names = [keras_weight_path(model, w) for w in weights]
        write_strings(layer_group, "weight_names", weight_names)
        for name, weight in zip(weight_names, weights):
            write_array(layer_group, name, kbackend.to_numpy(weight.data))
    write_strings(group.create_group("top_level_model_weights"), "weight_names", [])


def _save_optimizer_weights(model, group):
    entries = optimizer_state.keras_weights(model)
    write_strings(group, "weight_names", [name for name, _ in entries])
    for name, value in entries:
        write_array(group, name, value)


def _spec_text(spec, path):
    if hasattr(spec, "to_dict"):
        spec = spec.to_dict()
    try:
        return json.dumps(spec, ensure_ascii=False, default=json_default)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"cannot store the spec as JSON ({exc})", path) from None


def require_built(model, path):
    if not getattr(model, "built", False):
        raise ModelFileError(f"model {model.name!r} is not built, so it has no weights yet", path,
                             hint="give the model an input shape (an InputLayer or input_shape) or call build()")


# -- loading -----------------------------------------------------------------------------------------------
def load_model_and_spec(path, compile=True):
    """``(model, spec)`` from a whole-model ``.h5`` (Keras 2, Keras 3 or kspec); spec is None unless kspec
    stored one."""
    with open_for_reading(path) as f:
        verify_checksum(f, path)
        config = read_json_attr(f, "model_config", path)
        if config is None:
            raise ModelFileError("no model_config attribute: not a whole-model Keras file", path,
                                 hint=_no_config_hint(f))
        if not isinstance(f.get("model_weights"), h5py.Group):
            raise ModelFileError("no /model_weights group", path)
        # the weights a config describes must be in the file (16 MB of slack: a missing weight or two
        # gets its own, more precise error when the weights are read)
        with memory.limited(stored_bytes(f["model_weights"]) + 2**24, _more_than_stored(path)):
            model = model_from_config(config, path)
        load_weights_from_group(model, f["model_weights"], path)
        if compile:
            _compile(model, f, path)
        spec = read_text_attr(f, "kspec_spec")
    return model, None if spec is None else _spec_value(spec)


def stored_bytes(group):
    """The bytes of every dataset under ``group`` (as declared; :func:`read_array` checks them)."""
    sizes = []
    group.visititems(lambda _, obj: sizes.append(memory.nbytes(obj.shape, obj.dtype.itemsize))
                     if isinstance(obj, h5py.Dataset) and obj.shape is not None else None)
    return sum(sizes)


def _more_than_stored(path):
    def error(used, what):
        return ModelFileError(f"the model config describes at least {memory.format_size(used)} of weights "
                             f"(up to {what}), more than the file's weights hold: a damaged or crafted "
                             f"file", path)
    return error


def load_model(path, compile=True, custom_objects=None, safe_mode=None):
    """A kspec model from a whole-model ``.h5``, compiled (with optimizer state) when the file says how.

    ``custom_objects`` maps class or function names to the user's objects (no import, as Keras's);
    ``safe_mode=False`` lets the file name user code as ``module:Name`` (imported then), True refuses it,
    None keeps the outer setting (refused unless allowed: :mod:`kspec.user_code`)."""
    from kspec.user_code import CustomObjectScope, SafeModeScope

    with CustomObjectScope(custom_objects), SafeModeScope(safe_mode):
        return load_model_and_spec(path, compile=compile)[0]


def _no_config_hint(f):
    if "layer_names" in f.attrs or "layers" in f or "vars" in f:
        return "it holds weights only: build the model from its spec, then use load_weights"
    return "kspec reads .h5 files written by Keras model.save() or by kspec"


def _compile(model, f, path):
    config = read_json_attr(f, "training_config", path)
    if config is None:
        return
    args = compile_args(config, path)
    try:
        model.compile(**args)
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelFileError(f"cannot compile the model from training_config: {exc}", path) from None
    if "optimizer_weights" in f:
        group = f["optimizer_weights"]
        names = read_strings(group, "weight_names")
        arrays = [read_array(group, name, path) for name in names]
        optimizer_state.restore(model, names, arrays, path)


def _spec_value(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def load_weights_from_group(model, group, path, by_name=False, skip_mismatch=False):
    """Assign weights from a legacy weights group (a ``/model_weights`` group or a weights-only root);
    returns the variables assigned."""
    saved = []  # (file layer name, [arrays]) for layers with weights
    for name in read_strings(group, "layer_names"):
        layer_group = group.get(name)
        if not isinstance(layer_group, h5py.Group):
            raise ModelFileError(f"layer {name!r} is listed in layer_names but has no group", path)
        weight_names = read_strings(layer_group, "weight_names")
        if weight_names:
            saved.append((name, [read_array(layer_group, n, path) for n in weight_names]))
    if by_name:
        plan = _plan_by_name(model, saved, path, skip_mismatch)
    else:
        plan = _plan_by_order(model, saved, path, skip_mismatch)
    top = group.get("top_level_model_weights")
    if isinstance(top, h5py.Group) and read_strings(top, "weight_names"):
        raise ModelFileError("the file has top-level model weights, which a kspec model does not have", path)
    for variable, value in plan:
        variable.assign(value)
    return [variable for variable, _ in plan]


def _plan_by_order(model, saved, path, skip_mismatch):
    layers = [layer for layer in model.layers if layer.weights]
    if len(layers) != len(saved):
        raise ModelFileError(
            f"the model has {len(layers)} layers with weights ({_names(l.name for l in layers)}) but the file "
            f"has {len(saved)} ({_names(n for n, _ in saved)})", path,
            hint="the file was saved from a different architecture")
    plan = []
    for layer, (file_name, values) in zip(layers, saved):
        if len(values) != len(layer.weights):
            raise ModelFileError(f"layer {layer.name!r} has {len(layer.weights)} weights but file layer "
                                 f"{file_name!r} has {len(values)}", path)
        plan += _match_shapes(layer, file_name, values, path, skip_mismatch)
    return plan


def _plan_by_name(model, saved, path, skip_mismatch):
    by_name = {}
    for layer in model.layers:
        by_name.setdefault(layer.name, []).append(layer)
    plan = []
    for file_name, values in saved:
        for layer in by_name.get(file_name, []):
            if len(values) != len(layer.weights):
                message = (f"layer {layer.name!r} has {len(layer.weights)} weights but the file has "
                           f"{len(values)}")
                if not skip_mismatch:
                    raise ModelFileError(message, path)
                warnings.warn(f"{path}: {message}; skipped", ModelFileWarning, stacklevel=4)
                continue
            plan += _match_shapes(layer, file_name, values, path, skip_mismatch)
    return plan


def _match_shapes(layer, file_name, values, path, skip_mismatch):
    plan = []
    for i, (weight, value) in enumerate(zip(legacy_weights(layer), values)):
        if tuple(weight.shape) == tuple(value.shape):
            plan.append((weight, value))
            continue
        message = (f"layer {layer.name!r} weight {i} ({weight.name}) has shape {tuple(weight.shape)} in the "
                   f"model but {tuple(value.shape)} in the file (layer {file_name!r})")
        if not skip_mismatch:
            raise ModelFileError(message, path, hint="the file was saved from a different architecture")
        warnings.warn(f"{path}: {message}; skipped", ModelFileWarning, stacklevel=5)
    return plan


def legacy_weights(layer):
    """A layer's weights in the legacy files' order, Keras's ``_legacy_weights``: trainable, then
    non-trainable (for a nested model: over all its layers, so an unfrozen base lists every kernel before
    any moving statistic)."""
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _names(names):
    names = list(names)
    return ", ".join(names) if names else "none"
