"""Keras 3's native ``.weights.h5`` (reference §7c): the file follows the model's object tree, not names.

::

    /layers/<snake_case(ClassName)>[_N]/vars @name="dense_2"   datasets "0", "1", ... (trainable first)
    /optimizer/vars @name="adam"                               iteration (int32), learning_rate, slots
    /vars @name="sequential"                                   the model's own variables (none in kspec)

``_N`` counts repeats of a class within ``model.layers`` (dense, dense_1, ...), whatever the layers' names.
A nested model is ``/layers/sequential/layers/dense/vars`` ..., with its own empty ``/layers/sequential/vars``.
Every layer gets a ``vars`` group, also without weights. There are no root attributes.

A layer whose weights Keras keeps in nested objects (an LSTM's ``cell``) declares it with a
``keras_weight_groups()`` method returning ``[(relative path, object name, [weights]), ...]``, e.g.
``[("", "lstm", []), ("cell", "lstm_cell", [kernel, recurrent_kernel, bias])]``.
"""
import warnings

import h5py

from kspec import backend
from kspec.io import optimizer_state
from kspec.io.errors import ModelFileError, ModelFileWarning
from kspec.io.h5_legacy import require_built
from kspec.io.h5utils import atomic_h5, read_array, write_array
from kspec.io.keras_config import keras_class_name
from kspec.registry import snake_case


def save_weights(model, path):
    """Write ``model``'s weights (and optimizer state when compiled) as Keras 3 ``.weights.h5``."""
    require_built(model, path)
    with atomic_h5(path) as f:
        write_weights(model, f)


def write_weights(model, f, include_optimizer=True):
    """Write the ``.weights.h5`` layout into the open (empty) HDF5 file ``f``."""
    f.create_group("vars").attrs["name"] = model.name
    for group_path, name, weights in _entries(model):
        group = f.create_group(group_path)
        group.attrs["name"] = name
        for i, weight in enumerate(weights):
            write_array(group, str(i), backend.to_numpy(weight.data))
    if include_optimizer and _compiled(model):
        group = f.create_group("optimizer/vars")
        group.attrs["name"] = model.optimizer.name
        for i, (_, value) in enumerate(optimizer_state.keras_weights(model)):
            write_array(group, str(i), value)


def load_weights(model, f, path, skip_mismatch=False, optimizer=True):
    """Assign weights from an open Keras 3 ``.weights.h5``; the optimizer state too when compiled.

    A layer whose weight count or shapes do not fit raises (or, with ``skip_mismatch``, is skipped with a
    warning, as Keras does); nothing is assigned unless everything else fits. Returns the variables
    assigned.
    """
    require_built(model, path)
    plan = []
    for group_path, name, weights in _entries(model):
        group = f.get(group_path)
        stored = list(group.keys()) if isinstance(group, h5py.Group) else []
        problem = None
        if len(stored) != len(weights):
            problem = (f"layer {name!r} has {len(weights)} weights but the file has {len(stored)} at "
                       f"/{group_path}")
        else:
            values = [read_array(group, str(i), path) for i in range(len(weights))]
            for i, (weight, value) in enumerate(zip(weights, values)):
                if tuple(weight.shape) != tuple(value.shape):
                    problem = (f"layer {name!r} weight {i} ({weight.name}) has shape {tuple(weight.shape)} "
                               f"in the model but {tuple(value.shape)} in the file (/{group_path}/{i})")
                    break
        if problem is None:
            plan += list(zip(weights, values))
        elif skip_mismatch:
            warnings.warn(f"{path}: {problem}; skipped", ModelFileWarning, stacklevel=3)
        else:
            raise ModelFileError(problem, path, hint="the file was saved from a different architecture")
    for variable, value in plan:
        variable.assign(value)
    if optimizer:
        load_optimizer(model, f, path)
    return [variable for variable, _ in plan]


def load_optimizer(model, f, path):
    """Restore the optimizer state stored under ``optimizer/vars`` into a compiled ``model``."""
    group = f.get("optimizer/vars")
    if _compiled(model) and isinstance(group, h5py.Group):
        arrays = [read_array(group, str(i), path) for i in range(len(group.keys()))]
        optimizer_state.restore(model, None, arrays, path)


def is_native(f):
    """Whether an open HDF5 file has the ``.weights.h5`` layout."""
    return isinstance(f.get("layers"), h5py.Group) or isinstance(f.get("vars"), h5py.Group)


def _entries(model, prefix=""):
    """``(group path, object name, weights)`` per saved object, in the order Keras walks them; a nested
    model's layers go under ``<its key>/layers/...``, its own (empty) ``vars`` beside them."""
    used = {}
    for layer in model.layers:
        base = snake_case(keras_class_name(layer))
        count = used.get(base, -1) + 1
        used[base] = count
        key = f"{prefix}layers/{base}" if count == 0 else f"{prefix}layers/{base}_{count}"
        if isinstance(getattr(layer, "layers", None), list) and hasattr(layer, "compile"):  # a nested model
            yield from _entries(layer, key + "/")
            yield f"{key}/vars", layer.name, []
            continue
        groups = getattr(layer, "keras_weight_groups", None)
        for relative, name, weights in (groups() if groups else [("", layer.name, layer.weights)]):
            yield "/".join(p for p in (key, relative, "vars") if p), name, list(weights)


def _compiled(model):
    return getattr(model, "compiled", False) and model.optimizer is not None
