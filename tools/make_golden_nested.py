"""Golden fixtures for nested models (a model used as a layer), from Keras 3.15.1 on JAX.

    KERAS_BACKEND=jax COLUMNS=80 python tools/make_golden_nested.py

Writes to tests/fixtures/:
* ``nested_golden.json``: per case, Keras's ``get_config()``, the legacy-.h5 ``model_config``, the layer
  names, the weight paths, the summary text (plain and ``expand_nested=True``), the ``weight_names`` of each
  layer group in the saved .h5, and the fit history (base frozen, shuffle off).
* ``nested_golden.npz``: inputs, targets, initial weights, predictions before and after fit, the trained
  weights.
* ``nested_<case>_keras.h5`` and ``.weights.h5``: Keras's own files of each trained model (kspec must load
  them).

Cases: a Sequential base inside a Functional model (called with ``training=False``), a Functional base inside
a Sequential model, and a Sequential inside a Sequential. Each base holds a BatchNormalization, frozen with
the base, so the moving statistics must not move and the layer must run in inference mode.
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ["COLUMNS"] = "80"

import h5py  # noqa: E402
import numpy as np  # noqa: E402
from _golden import pyify  # noqa: E402
import keras  # noqa: E402
from keras import layers as L  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")


def _summary(model, **kwargs):
    out = []
    model.summary(print_fn=out.append, **kwargs)
    return out[0]


# -- the models (kspec's tests rebuild the same graphs) ----------------------------------------------------

def seq_base():
    return keras.Sequential([keras.Input((5,), name="base_in"), L.Dense(8, activation="relu", name="b_dense"),
                             L.BatchNormalization(name="b_bn"), L.Dense(6, activation="tanh", name="b_out")],
                            name="base")


def seq_in_functional():
    base = seq_base()
    x = keras.Input((5,), name="x")
    h = base(x, training=False)
    out = L.Dense(3, activation="softmax", name="head")(h)
    return keras.Model(x, out, name="outer"), base


def functional_in_sequential():
    fx = keras.Input((5,), name="fx")
    h = L.Dense(8, activation="relu", name="f_dense")(fx)
    h = L.BatchNormalization(name="f_bn")(h)
    fo = L.Dense(6, activation="tanh", name="f_out")(h)
    base = keras.Model(fx, fo, name="fbase")
    model = keras.Sequential([keras.Input((5,), name="sx"), base, L.Dense(3, activation="softmax", name="head")],
                             name="outer_seq")
    return model, base


def seq_in_seq():
    base = seq_base()
    model = keras.Sequential([keras.Input((5,)), base, L.Dense(3, activation="softmax", name="head")],
                             name="outer_ss")
    return model, base


CASES = {"seq_in_functional": seq_in_functional, "functional_in_sequential": functional_in_sequential,
         "seq_in_seq": seq_in_seq}


def _h5_weight_names(path):
    out = {}
    with h5py.File(path) as f:
        group = f["model_weights"]
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["layer_names"]]
        for name in names:
            wn = group[name].attrs["weight_names"]
            out[name] = [n.decode() if isinstance(n, bytes) else str(n) for n in wn]
        config = json.loads(f.attrs["model_config"])
        opt = [n.decode() if isinstance(n, bytes) else n for n in f["optimizer_weights"].attrs["weight_names"]]
    return names, out, config, opt


def main():
    rng = np.random.default_rng(11)
    arrays, out = {}, {}
    for name, build in CASES.items():
        keras.backend.clear_session()
        model, base = build()
        weights = [rng.uniform(-0.6, 0.6, size=w.shape).astype("float32") for w in model.get_weights()]
        weights = [np.abs(w) + 0.5 if "moving_variance" in v.path else w
                   for w, v in zip(weights, model.weights)]
        model.set_weights(weights)
        x = rng.standard_normal((24, 5)).astype("float32")
        y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=24)]
        pred = model.predict(x, verbose=0)
        train_pred = np.asarray(model(x, training=True))
        base.trainable = False
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy",
                      metrics=["accuracy"])
        summary_frozen = _summary(model, show_trainable=True)
        history = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        after = model.predict(x, verbose=0)
        path = os.path.join(FIXTURES, f"nested_{name}_keras.h5")
        model.save(path)
        model.save_weights(os.path.join(FIXTURES, f"nested_{name}_keras.weights.h5"))
        layer_names, weight_names, h5_config, opt_names = _h5_weight_names(path)
        arrays[f"{name}/x"], arrays[f"{name}/y"] = x, y
        arrays[f"{name}/pred"], arrays[f"{name}/train_pred"], arrays[f"{name}/after"] = pred, train_pred, after
        for i, a in enumerate(weights):
            arrays[f"{name}/w{i}"] = a
        for i, a in enumerate(model.get_weights()):
            arrays[f"{name}/trained{i}"] = a
        base.trainable = True
        out[name] = {
            "config": pyify(model.get_config()),
            "h5_model_config": h5_config,
            "layers": [l.name for l in model.layers],
            "base_layers": [l.name for l in base.layers],
            "weight_paths": [w.path for w in model.weights],
            "summary": _summary(model),
            "summary_expanded": _summary(model, expand_nested=True),
            "summary_frozen": summary_frozen,
            "h5_layer_names": layer_names,
            "h5_weight_names": weight_names,
            "h5_optimizer_weight_names": opt_names,
            "history": pyify(history.history),
            "n_weights": len(weights),
        }
    with open(os.path.join(FIXTURES, "nested_golden.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    np.savez_compressed(os.path.join(FIXTURES, "nested_golden.npz"), **arrays)
    print("wrote nested_golden.json, nested_golden.npz, nested_*_keras.h5")


if __name__ == "__main__":
    main()
