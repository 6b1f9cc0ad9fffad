"""Golden fixtures for graph (functional) models and merge layers, from Keras 3.15.1 on JAX.

    KERAS_BACKEND=jax COLUMNS=80 python tools/make_golden_functional.py

Writes to tests/fixtures/:
* ``functional_golden.json``: per model case, Keras's ``get_config()``, the legacy-.h5 ``model_config``,
  ``layers`` order, ``output_names``, the summary text, the fit history (shuffle off) and the arrays'
  names in the .npz; per merge case, the layer config.
* ``functional_golden.npz``: inputs, targets, initial weights, predictions before and after fit, the
  trained weights; merge-layer inputs, masks and outputs.
* ``functional_keras.h5``: Keras's own file of the trained two-output model (kspec must load it).

Every model is built with fixed names; initial weights are drawn from a seeded NumPy generator and set
with ``set_weights``, so kspec can start from the same numbers.
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ["COLUMNS"] = "80"

import numpy as np  # noqa: E402
from _golden import pyify  # noqa: E402
import keras  # noqa: E402
from keras import layers as L  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")


def _summary(model):
    out = []
    model.summary(print_fn=out.append)
    return out[0]


# -- the models (kspec's tests rebuild the same graphs) ----------------------------------------------------

def two_input():
    image = keras.Input((4, 4, 1), name="image")
    meta = keras.Input((3,), name="meta")
    flat = L.Flatten(name="flat")(image)
    h = L.Dense(8, activation="relu", name="h")(flat)
    both = L.Concatenate(name="both")([h, meta])
    out = L.Dense(3, activation="softmax", name="out")(both)
    return keras.Model([image, meta], out, name="two_input")


def residual_mlp():
    x = keras.Input((6,), name="x")
    d0 = L.Dense(8, activation="relu", name="d0")(x)
    d1 = L.Dense(8, activation="relu", name="d1")(d0)
    r1 = L.Add(name="r1")([d0, d1])
    d2 = L.Dense(8, activation="tanh", name="d2")(r1)
    r2 = L.Add(name="r2")([r1, d2])
    out = L.Dense(1, name="out")(r2)
    return keras.Model(x, out, name="residual_mlp")


def siamese():
    left = keras.Input((5,), name="left")
    right = keras.Input((5,), name="right")
    enc = L.Dense(4, activation="tanh", name="enc")
    el, er = enc(left), enc(right)
    diff = L.Subtract(name="diff")([el, er])
    cos = L.Dot(axes=1, normalize=True, name="cos")([el, er])
    prod = L.Multiply(name="prod")([el, er])
    feats = L.Concatenate(name="feats")([diff, cos, prod])
    out = L.Dense(1, activation="sigmoid", name="out")(feats)
    return keras.Model([left, right], out, name="siamese")


def two_output():
    x = keras.Input((5,), name="x")
    h = L.Dense(8, activation="relu", name="h")(x)
    avg = L.Average(name="avg")([h, L.Dense(8, name="h2")(x)])
    out_a = L.Dense(3, activation="softmax", name="out_a")(avg)
    out_b = L.Dense(1, name="out_b")(L.Maximum(name="mx")([h, avg]))
    return keras.Model(x, [out_a, out_b], name="two_output")


def masked():
    tokens = keras.Input((6,), dtype="int32", name="tokens")
    emb = L.Embedding(10, 4, mask_zero=True, name="emb")(tokens)
    proj = L.Dense(4, name="proj")(emb)
    summed = L.Add(name="sum")([emb, proj])
    mn = L.Minimum(name="mn")([summed, proj])
    pooled = L.GlobalAveragePooling1D(name="pool")(mn)
    out = L.Dense(2, activation="softmax", name="out")(pooled)
    return keras.Model(tokens, out, name="masked")


CASES = {
    "two_input": dict(build=two_input, n=20, batch=8, epochs=1,
                      compile=dict(optimizer={"class_name": "SGD", "config": {"learning_rate": 0.1,
                                                                             "momentum": 0.9}},
                                   loss="categorical_crossentropy", metrics=["accuracy"])),
    "residual_mlp": dict(build=residual_mlp, n=20, batch=8, epochs=1,
                         compile=dict(optimizer={"class_name": "Adam", "config": {"learning_rate": 0.01}},
                                      loss="mse", metrics=["mae"])),
    "siamese": dict(build=siamese, n=20, batch=8, epochs=1,
                    compile=dict(optimizer={"class_name": "RMSprop", "config": {"learning_rate": 0.01}},
                                 loss="binary_crossentropy", metrics=["accuracy"])),
    "two_output": dict(build=two_output, n=24, batch=8, epochs=2, validation_split=0.25,
                       compile=dict(optimizer={"class_name": "Adam", "config": {"learning_rate": 0.01}},
                                    loss={"out_a": "categorical_crossentropy", "out_b": "mse"},
                                    loss_weights={"out_a": 1.0, "out_b": 0.5},
                                    metrics={"out_a": ["accuracy"], "out_b": ["mae"]})),
    "masked": dict(build=masked, n=20, batch=8, epochs=1,
                   compile=dict(optimizer={"class_name": "SGD", "config": {"learning_rate": 0.5}},
                                loss="categorical_crossentropy", metrics=["accuracy"])),
}


def _data(name, model, n, rng):
    xs = []
    for t in model.inputs:
        shape = (n,) + tuple(t.shape[1:])
        if "int" in str(t.dtype):
            x = rng.integers(1, 10, size=shape).astype("int32")
            for i in range(n):  # trailing padding of varying length
                x[i, shape[1] - i % 4:] = 0
            xs.append(x)
        else:
            xs.append(rng.standard_normal(shape).astype("float32"))
    ys = []
    for t in model.outputs:
        k = t.shape[-1]
        if k == 1 and name != "siamese":
            ys.append(rng.standard_normal((n, 1)).astype("float32"))
        elif k == 1:
            ys.append(rng.integers(0, 2, size=(n, 1)).astype("float32"))
        else:
            ys.append(np.eye(k, dtype="float32")[rng.integers(0, k, size=n)])
    return xs, ys


def make_models(arrays, out):
    rng = np.random.default_rng(5)
    for name, case in CASES.items():
        keras.backend.clear_session()
        model = case["build"]()
        weights = [rng.uniform(-0.6, 0.6, size=w.shape).astype("float32") for w in model.get_weights()]
        model.set_weights(weights)
        xs, ys = _data(name, model, case["n"], rng)
        x = xs if len(xs) > 1 else xs[0]
        y = ys if len(ys) > 1 else ys[0]
        pred = model.predict(x, verbose=0)
        preds = pred if isinstance(pred, list) else [pred]
        model.compile(**case["compile"])
        history = model.fit(x, y, batch_size=case["batch"], epochs=case["epochs"], shuffle=False, verbose=0,
                            validation_split=case.get("validation_split", 0.0))
        after = model.predict(x, verbose=0)
        afters = after if isinstance(after, list) else [after]
        for i, a in enumerate(xs):
            arrays[f"{name}/x{i}"] = a
        for i, a in enumerate(ys):
            arrays[f"{name}/y{i}"] = a
        for i, a in enumerate(weights):
            arrays[f"{name}/w{i}"] = a
        for i, a in enumerate(model.get_weights()):
            arrays[f"{name}/trained{i}"] = a
        for i, a in enumerate(preds):
            arrays[f"{name}/pred{i}"] = a
        for i, a in enumerate(afters):
            arrays[f"{name}/after{i}"] = a
        h5_config = None
        if name == "two_output":
            path = os.path.join(FIXTURES, "functional_keras.h5")
            model.save(path)
            import h5py
            with h5py.File(path) as f:
                h5_config = json.loads(f.attrs["model_config"])
        out[name] = {
            "config": pyify(model.get_config()),
            "h5_model_config": h5_config,
            "layers": [l.name for l in model.layers],
            "output_names": list(model.output_names),
            "summary": _summary(model),
            "history": pyify(history.history),
            "n_inputs": len(xs), "n_outputs": len(ys), "n_weights": len(weights),
            "batch": case["batch"], "epochs": case["epochs"],
            "validation_split": case.get("validation_split", 0.0),
            "compile": case["compile"],
        }


def make_merges(arrays, out):
    """Each merge layer on random inputs, with and without masks."""
    rng = np.random.default_rng(7)
    a, b, c = (rng.standard_normal((3, 4, 5)).astype("float32") for _ in range(3))
    m1 = rng.random((3, 4)) > 0.4
    m2 = rng.random((3, 4)) > 0.4
    arrays["merge/a"], arrays["merge/b"], arrays["merge/c"] = a, b, c
    arrays["merge/m1"], arrays["merge/m2"] = m1, m2
    v = rng.standard_normal((3, 5)).astype("float32")
    arrays["merge/v"] = v
    named = {"a": a, "b": b, "c": c, "v": v}
    cases = {
        "add3": (L.Add(), "abc"), "subtract": (L.Subtract(), "ab"), "multiply3": (L.Multiply(), "abc"),
        "average3": (L.Average(), "abc"), "maximum3": (L.Maximum(), "abc"), "minimum": (L.Minimum(), "ab"),
        "concat_last": (L.Concatenate(), "ab"), "concat_axis1": (L.Concatenate(axis=1), "ac"),
        "dot_2": (L.Dot(axes=2), "ab"), "dot_12": (L.Dot(axes=(1, 1)), "ab"),
        "dot_norm": (L.Dot(axes=-1, normalize=True), "ab"), "add_broadcast_rank": (L.Add(), "av"),
        "dot_mixed": (L.Dot(axes=(2, 1)), "av"),
    }
    for name, (layer, keys) in cases.items():
        y = layer([keras.ops.convert_to_tensor(named[k]) for k in keys])
        arrays[f"merge/{name}"] = np.asarray(y)
        out[name] = {"class_name": type(layer).__name__, "config": pyify(layer.get_config()), "inputs": keys,
                     "shape": list(np.asarray(y).shape)}
    y = L.Dot(axes=1)([keras.ops.convert_to_tensor(a[:, 0]), keras.ops.convert_to_tensor(b[:, 0])])
    arrays["merge/dot_rank2"] = np.asarray(y)
    # masks: the layer sees keras masks on its inputs
    from keras.src import backend as kb
    for name, layer in (("add", L.Add()), ("multiply", L.Multiply()), ("maximum", L.Maximum()),
                        ("minimum", L.Minimum()), ("average", L.Average()), ("concat", L.Concatenate()),
                        ("concat_axis1", L.Concatenate(axis=1))):
        for variant, masks in (("both", (m1, m2)), ("first", (m1, None))):
            ta, tb = keras.ops.convert_to_tensor(a), keras.ops.convert_to_tensor(b)
            if masks[0] is not None:
                kb.set_keras_mask(ta, keras.ops.convert_to_tensor(masks[0]))
            if masks[1] is not None:
                kb.set_keras_mask(tb, keras.ops.convert_to_tensor(masks[1]))
            y = layer([ta, tb])
            key = f"masked_{name}_{variant}"
            arrays[f"merge/{key}"] = np.asarray(y)
            mask = kb.get_keras_mask(y)
            if mask is not None:
                arrays[f"merge/{key}_mask"] = np.asarray(mask)
            out[key] = {"class_name": type(layer).__name__, "config": pyify(layer.get_config()),
                        "has_mask": mask is not None}


def main():
    arrays, models, merges = {}, {}, {}
    make_models(arrays, models)
    make_merges(arrays, merges)
    with open(os.path.join(FIXTURES, "functional_golden.json"), "w", encoding="utf-8") as f:
        json.dump({"models": models, "merges": merges}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    np.savez_compressed(os.path.join(FIXTURES, "functional_golden.npz"), **arrays)
    print("wrote functional_golden.json, functional_golden.npz, functional_keras.h5")


if __name__ == "__main__":
    main()
