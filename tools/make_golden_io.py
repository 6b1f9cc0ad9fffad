"""Golden model files for the kspec.io tests, written by real Keras 3.15.1 and hand-built in Keras 2 layouts.

Run with the reference venv (never from the tests):

    KERAS_BACKEND=jax python tools/make_golden_io.py

Writes to tests/fixtures/io/:

* ``keras3_mlp.h5`` / ``keras3_mlp.weights.h5``: a Keras 3 Sequential MLP (Dense/Dropout/Dense), compiled with
  Adam(0.01), categorical crossentropy and ["accuracy"], trained one step, saved with ``model.save`` and
  ``model.save_weights``.
* ``keras2_mlp.h5``: the same architecture in the tf.keras 2 whole-model layout (reference §7a), built by hand
  with h5py: fixed-length byte strings, ``dense/kernel:0`` names, a ``batch_input_shape`` config and SGD
  momentum state under tf.keras 2 names (``SGD/iter:0``, ``SGD/dense/kernel/momentum:0``). Keras 3 opens it;
  its predictions are the golden values.
* ``keras2_mlp_weights.h5``: standalone Keras 2.2.4 weights-only layout (§7b): weights at the file root,
  layers named from 1 (``dense_1/kernel:0``).
* ``keras3_mlp.npz`` / ``keras2_mlp.npz``: the fixed input ``x``, Keras's predictions ``y_pred``, the weights
  ``w0..`` and the optimizer state ``opt0..`` (Keras 3 order: iteration, learning_rate, slots).
"""
import json
import os
import pathlib

os.environ.setdefault("KERAS_BACKEND", "jax")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "io"


def mlp(seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"),
                             keras.layers.Dropout(0.5), keras.layers.Dense(3, activation="softmax")])


def data(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(6, 5)).astype("float32")
    y = np.eye(3, dtype="float32")[np.arange(6) % 3]
    return x, y


def save_npz(name, model, x):
    arrays = {"x": x, "y_pred": model.predict(x, verbose=0)}
    for i, w in enumerate(model.get_weights()):
        arrays[f"w{i}"] = w
    if model.optimizer is not None and model.optimizer.built:
        for i, v in enumerate(model.optimizer.variables):
            arrays[f"opt{i}"] = np.asarray(v)
    np.savez(OUT / name, **arrays)


def keras3_files():
    keras.backend.clear_session()
    model = mlp(1)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = data(1)
    model.train_on_batch(x, y)
    model.save_weights(OUT / "keras3_mlp.weights.h5")
    model.save(OUT / "keras3_mlp.h5")
    save_npz("keras3_mlp.npz", model, x)


def fixed(strings):
    """A fixed-length byte-string array, as h5py 2.x wrote Keras 2's string lists."""
    return np.array([s.encode("utf8") for s in strings])


def glorot():
    return {"class_name": "GlorotUniform", "config": {"seed": None}}


def keras2_dense(name, units, activation):
    return {"class_name": "Dense", "config": {
        "name": name, "trainable": True, "dtype": "float32", "units": units, "activation": activation,
        "use_bias": True, "kernel_initializer": glorot(), "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "bias_constraint": None}}


KERAS2_CONFIG = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 5], "dtype": "float32", "sparse": False,
                                            "ragged": False, "name": "dense_input"}},
    keras2_dense("dense", 4, "relu"),
    {"class_name": "Dropout", "config": {"name": "dropout", "trainable": True, "dtype": "float32", "rate": 0.5,
                                         "noise_shape": None, "seed": None}},
    keras2_dense("dense_1", 3, "softmax")]}}

KERAS2_TRAINING = {
    "loss": "categorical_crossentropy",
    "metrics": [[{"class_name": "MeanMetricWrapper",
                  "config": {"name": "accuracy", "dtype": "float32", "fn": "categorical_accuracy"}}]],
    "weighted_metrics": None, "loss_weights": None,
    "optimizer_config": {"class_name": "SGD", "config": {
        "name": "SGD", "learning_rate": 0.009999999776482582, "decay": 0.0, "momentum": 0.8999999761581421,
        "nesterov": False}}}


def write_keras2_weights(group, layer_names, weights):
    """Keras 2 ``save_weights_to_hdf5_group``: layer_names, then one group per layer with ``<name>/kernel:0``."""
    group.attrs["layer_names"] = fixed(layer_names)
    group.attrs["backend"] = b"tensorflow"
    group.attrs["keras_version"] = b"2.4.0"
    for name in sorted(layer_names):
        layer_group = group.create_group(name)
        values = weights.get(name)
        if not values:
            layer_group.attrs["weight_names"] = np.zeros((0,), dtype="float64")
            continue
        names = [f"{name}/kernel:0", f"{name}/bias:0"]
        layer_group.attrs["weight_names"] = fixed(names)
        for wname, value in zip(names, values):
            layer_group.create_dataset(wname, data=value)


def keras2_files():
    keras.backend.clear_session()
    model = mlp(2)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = data(2)
    model.train_on_batch(x, y)
    model.train_on_batch(x, y)
    w = model.get_weights()
    opt = [np.asarray(v) for v in model.optimizer.variables]  # iteration, learning_rate, 4 momentums

    with h5py.File(OUT / "keras2_mlp.h5", "w") as f:
        f.attrs["keras_version"] = b"2.4.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(KERAS2_CONFIG).encode("utf8")
        f.attrs["training_config"] = json.dumps(KERAS2_TRAINING).encode("utf8")
        write_keras2_weights(f.create_group("model_weights"), ["dense", "dropout", "dense_1"],
                             {"dense": w[0:2], "dense_1": w[2:4]})
        names = ["SGD/iter:0", "SGD/dense/kernel/momentum:0", "SGD/dense/bias/momentum:0",
                 "SGD/dense_1/kernel/momentum:0", "SGD/dense_1/bias/momentum:0"]
        og = f.create_group("optimizer_weights")
        og.attrs["weight_names"] = fixed(names)
        og.create_dataset(names[0], data=np.int64(opt[0]))
        for name, value in zip(names[1:], opt[2:]):
            og.create_dataset(name, data=value)

    with h5py.File(OUT / "keras2_mlp_weights.h5", "w") as f:
        write_keras2_weights(f, ["dense_1", "dropout_1", "dense_2"], {"dense_1": w[0:2], "dense_2": w[2:4]})

    save_npz("keras2_mlp.npz", model, x)
    # The hand-built files must load in Keras 3 and predict what the source model predicts.
    expected = model.predict(x, verbose=0)
    loaded = keras.models.load_model(OUT / "keras2_mlp.h5")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)
    fresh = mlp(3)
    fresh.load_weights(OUT / "keras2_mlp_weights.h5")
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), expected)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    keras3_files()
    keras2_files()
    for path in sorted(OUT.iterdir()):
        print(f"{path.name:28s} {path.stat().st_size:7d} bytes")


if __name__ == "__main__":
    main()
