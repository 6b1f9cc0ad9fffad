"""Optimizer state in model files: Keras 3 names on the way out, Keras 3 order or Keras 2 names on the way in.

Keras 3 stores ``optimizer.variables`` in order: ``iteration`` (int32 on JAX), ``learning_rate`` (unless
it is a schedule), then the slots, each named ``<optimizer>/<variable path with _>_<slot>``, e.g.
``adam/sequential_dense_kernel_momentum``. Keras 3 restores them by position.

tf.keras 2 files name the state after TF variables in another order (``Adam/iter:0``,
``Adam/dense/kernel/m:0`` ... ``Adam/dense/kernel/v:0`` ...) and have no learning_rate variable. Keras 3
cannot restore those (the positions do not line up); kspec maps them by name instead.
"""
import warnings

import numpy as np

from kspec import backend
from kspec.io.errors import ModelFileWarning
from kspec.io.keras_config import keras_class_name, keras_weight_path

# tf.keras 2 slot names -> Keras 3 slot names; per-optimizer exceptions first.
_SLOT_NAMES = {"m": "momentum", "v": "velocity", "vhat": "velocity_hat", "rms": "velocity",
               "mg": "average_gradient", "accum_grad": "accumulated_grad", "accum_var": "accumulated_delta_var"}
_SLOT_NAMES_BY_OPTIMIZER = {"Adamax": {"v": "norm"}}
_ITERATION_NAMES = ("iter", "iterations", "iteration")
_LEARNING_RATE_NAMES = ("lr", "learning_rate")


def keras_weights(model):
    """``[(name, array)]`` of the model's optimizer state with Keras 3 names and dtypes."""
    optimizer = model.optimizer
    renames = sorted(((w.path.replace("/", "_") + "_", keras_weight_path(model, w).replace("/", "_") + "_")
                      for w in model.trainable_weights), key=lambda pair: -len(pair[0]))
    out = []
    for name, value in optimizer.variables:
        for old, new in renames:
            if name.startswith(old):
                name = new + name[len(old):]
                break
        value = np.asarray(backend.to_numpy(value))
        if name == "iteration":
            value = value.astype(np.int32)
        out.append((f"{optimizer.name}/{name}", value))
    return out


def restore(model, names, arrays, path):
    """Load saved optimizer state into ``model.optimizer`` (built first for the trainable weights).

    ``names`` may be None (``.weights.h5`` stores positions only). Returns True when restored; otherwise
    warns with a ModelFileWarning and leaves the optimizer fresh, as Keras does.
    """
    optimizer = model.optimizer
    arrays = [np.asarray(a) for a in arrays]
    if _never_built(names, arrays):
        return True  # saved after compile but before training: a fresh optimizer is the same
    if not optimizer.built:
        optimizer.build(model.trainable_weights)
    current = optimizer.variables
    keras2 = names is not None and any(n.endswith(":0") for n in names)
    attempts = (_by_keras2_names, _by_position) if keras2 else (_by_position, _by_keras2_names)
    for attempt in attempts:
        values = attempt(optimizer, names, arrays, current)
        if values is not None:
            optimizer.set_variables(values)
            return True
    warnings.warn(f"{path}: the saved optimizer state ({len(arrays)} variables) does not fit optimizer "
                  f"{optimizer.name!r} ({len(current)} variables); it starts fresh", ModelFileWarning,
                  stacklevel=3)
    return False


def _never_built(names, arrays):
    """Whether the saved state is that of an optimizer that never took a step: at most the iteration
    (zero) and the learning rate, no slots."""
    if not arrays or len(arrays) > 2 or arrays[0].shape != () or int(arrays[0]) != 0:
        return False
    if names is None:
        return True
    return all(n.split(":")[0].split("/")[-1] in _ITERATION_NAMES + _LEARNING_RATE_NAMES for n in names)


def _by_position(optimizer, names, arrays, current):
    if len(arrays) != len(current):
        return None
    if any(a.shape != np.shape(c) for a, (_, c) in zip(arrays, current)):
        return None
    return arrays


def _by_keras2_names(optimizer, names, arrays, current):
    """Values in ``current`` order from TF-style names; None unless iteration and every slot are found."""
    if names is None:
        return None
    index = {name: i for i, (name, _) in enumerate(current)}
    values = [np.array(backend.to_numpy(c)) for _, c in current]
    found = set()
    for name, value in zip(names, arrays):
        key = _current_name(optimizer, name, index)
        if key is None or value.shape != values[index[key]].shape:
            return None
        values[index[key]] = value
        found.add(key)
    missing = [n for n in index if n not in found and n != "learning_rate"]
    return None if missing else values


def _current_name(optimizer, name, index):
    """``SGD/dense/kernel/momentum:0`` -> ``dense_kernel_momentum`` (kspec's name), or None."""
    parts = name.split(":")[0].split("/")[1:]  # drop the optimizer's name scope
    if len(parts) == 1 and parts[0] in _ITERATION_NAMES:
        return "iteration"
    if len(parts) == 1 and parts[0] in _LEARNING_RATE_NAMES:
        return "learning_rate" if "learning_rate" in index else None
    if len(parts) < 2:
        return None
    # tf.keras <= 2.10 puts the slot last (dense/kernel/m); the 2.11+ optimizers put it first (m/dense/kernel).
    for variable, slot in (("/".join(parts[:-1]), parts[-1]), ("/".join(parts[1:]), parts[0])):
        candidate = f"{variable.replace('/', '_')}_{_slot_name(optimizer, slot)}"
        if candidate in index:
            return candidate
        # kspec's names carry the model's scope (sequential_dense_kernel_momentum); TF's are per layer
        scoped = [key for key in index if key.endswith("_" + candidate)]
        if len(scoped) == 1:
            return scoped[0]
    return None


def _slot_name(optimizer, slot):
    special = _SLOT_NAMES_BY_OPTIMIZER.get(keras_class_name(optimizer), {})
    return special.get(slot, _SLOT_NAMES.get(slot, slot))
