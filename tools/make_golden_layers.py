"""Golden fixtures for the core, regularization and reshaping layers, written by real Keras 3.15.1.

Run with the reference venv (never from the tests):

    KERAS_BACKEND=jax python tools/make_golden_layers.py

Writes to tests/fixtures/:

* ``layers_configs.json``: for each case, the layer class, the constructor arguments (JSON, valid for both
  Keras and kspec) and Keras's ``layer.get_config()`` after building on ``input_shape``.
* ``layers_forward.npz``: fixed inputs and weights and Keras's outputs:
  ``x2`` (4, 5) and ``x3`` (2, 3, 5) inputs, ``kernel`` (5, 4) and ``bias`` (4,);
  ``dense__<activation>__r2`` / ``__r3``: Dense(4, activation) on x2 / x3 with those weights, for every
  Keras activation usable by name; ``dense_nobias__r3``;
  ``x4`` (2, 3, 4, 5) and the reshaping outputs ``flatten_last``, ``flatten_first``, ``reshape_infer``,
  ``reshape_full``, ``permute_21``, ``permute_312``, ``repeat_vector``;
  ``activity_l1l2_loss`` (ActivityRegularization(0.1, 0.2) on x3), ``dense_activity_loss`` (Dense with
  activity_regularizer L1L2(0.01, 0.02) on x3) and ``dense_kernel_l2_loss``: the layers' ``losses``.
"""
import json
import os
import pathlib

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras.src.activations import ALL_OBJECTS_DICT  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"
L = keras.layers


def square(x):
    """A named function for the Lambda config cases (serialized by name)."""
    return x * x


def scale(x, factor=1.0):
    return x * factor


# (id, class name, constructor kwargs, build input shape). Lambda's function is filled in below.
CONFIG_CASES = [
    ("dense-default", "Dense", {"units": 3, "name": "d0"}, (None, 5)),
    ("dense-all-arguments", "Dense",
     {"units": 4, "activation": "relu", "use_bias": False, "kernel_initializer": "zeros",
      "bias_initializer": "ones", "kernel_regularizer": "l2", "bias_regularizer": "l1",
      "activity_regularizer": {"class_name": "L1L2", "config": {"l1": 0.01, "l2": 0.02}},
      "kernel_constraint": "non_neg", "bias_constraint": "non_neg", "trainable": False, "name": "d1"},
     (None, 2, 5)),
    ("dense-softmax-constant-init", "Dense",
     {"units": 10, "activation": "softmax", "kernel_initializer": {"class_name": "Constant",
                                                                   "config": {"value": 0.5}},
      "name": "d2"}, (None, 5)),
    ("activation-tanh", "Activation", {"activation": "tanh", "name": "a0"}, (None, 5)),
    ("activation-softmax", "Activation", {"activation": "softmax", "name": "a1"}, (None, 5)),
    ("dropout-default", "Dropout", {"rate": 0.5, "name": "dr0"}, (None, 5)),
    ("dropout-all-arguments", "Dropout", {"rate": 0.3, "noise_shape": [None, 1], "seed": 7, "name": "dr1"},
     (None, 5)),
    ("flatten-default", "Flatten", {"name": "f0"}, (None, 3, 4)),
    ("flatten-channels-first", "Flatten", {"data_format": "channels_first", "name": "f1"}, (None, 3, 4, 5)),
    ("reshape", "Reshape", {"target_shape": [2, -1], "name": "r0"}, (None, 12)),
    ("permute", "Permute", {"dims": [2, 3, 1], "name": "p0"}, (None, 3, 4, 5)),
    ("repeat-vector", "RepeatVector", {"n": 3, "name": "rv0"}, (None, 5)),
    ("lambda-named-function", "Lambda", {"output_shape": [5], "name": "l0"}, (None, 5)),
    ("lambda-arguments", "Lambda", {"arguments": {"factor": 2.0}, "name": "l1"}, (None, 5)),
    ("activity-regularization-default", "ActivityRegularization", {"name": "ar0"}, (None, 5)),
    ("activity-regularization", "ActivityRegularization", {"l1": 0.1, "l2": 0.2, "name": "ar1"}, (None, 5)),
]


def make_configs():
    cases = []
    for cid, cls_name, kwargs, shape in CONFIG_CASES:
        args = dict(kwargs)
        if cls_name == "Lambda":
            args["function"] = scale if "arguments" in args else square
        layer = getattr(L, cls_name)(**args)
        layer.build(shape)
        cases.append({"id": cid, "class_name": cls_name, "kwargs": kwargs, "input_shape": list(shape),
                      "config": layer.get_config()})
    return cases


def dense(x, activation, kernel, bias, use_bias=True):
    layer = L.Dense(kernel.shape[1], activation=activation, use_bias=use_bias)
    layer.build(x.shape)
    layer.set_weights([kernel, bias] if use_bias else [kernel])
    return np.asarray(layer(x))


def make_forward():
    rng = np.random.default_rng(0)
    out = {
        "x2": rng.standard_normal((4, 5)).astype("float32"),
        "x3": (3 * rng.standard_normal((2, 3, 5))).astype("float32"),
        "kernel": rng.uniform(-1, 1, (5, 4)).astype("float32"),
        "bias": rng.uniform(-0.5, 0.5, (4,)).astype("float32"),
        "x4": rng.standard_normal((2, 3, 4, 5)).astype("float32"),
    }
    for name in sorted(ALL_OBJECTS_DICT):
        if name == "threshold":  # needs threshold and default_value: not usable by name
            continue
        out[f"dense__{name}__r2"] = dense(out["x2"], name, out["kernel"], out["bias"])
        out[f"dense__{name}__r3"] = dense(out["x3"], name, out["kernel"], out["bias"])
    out["dense_nobias__r3"] = dense(out["x3"], None, out["kernel"], None, use_bias=False)

    x3, x4 = out["x3"], out["x4"]
    out["flatten_last"] = np.asarray(L.Flatten()(x4))
    out["flatten_first"] = np.asarray(L.Flatten(data_format="channels_first")(x4))
    out["reshape_infer"] = np.asarray(L.Reshape((-1, 2))(x4))
    out["reshape_full"] = np.asarray(L.Reshape((5, 3))(x3))
    out["permute_21"] = np.asarray(L.Permute((2, 1))(x3))
    out["permute_312"] = np.asarray(L.Permute((3, 1, 2))(x4))
    out["repeat_vector"] = np.asarray(L.RepeatVector(3)(out["x2"]))

    reg = L.ActivityRegularization(l1=0.1, l2=0.2)
    reg(x3)
    out["activity_l1l2_loss"] = np.asarray(sum(reg.losses), dtype="float32")
    act = L.Dense(4, activity_regularizer=keras.regularizers.L1L2(l1=0.01, l2=0.02))
    act.build(x3.shape)
    act.set_weights([out["kernel"], out["bias"]])
    act(x3)
    out["dense_activity_loss"] = np.asarray(sum(act.losses), dtype="float32")
    kreg = L.Dense(4, kernel_regularizer="l2")
    kreg.build(x3.shape)
    kreg.set_weights([out["kernel"], out["bias"]])
    out["dense_kernel_l2_loss"] = np.asarray(sum(kreg.losses), dtype="float32")
    return out


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "layers_configs.json").write_text(json.dumps(make_configs(), indent=1) + "\n")
    np.savez_compressed(OUT / "layers_forward.npz", **make_forward())
    print(f"wrote {OUT / 'layers_configs.json'} and {OUT / 'layers_forward.npz'}")


if __name__ == "__main__":
    main()
