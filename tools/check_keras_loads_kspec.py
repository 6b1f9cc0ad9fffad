"""Check that real Keras 3 opens the model files kspec writes and computes the same numbers.

Two steps, two interpreters:

    python tools/check_keras_loads_kspec.py write DIR                              # kspec writes files
    KERAS_BACKEND=jax python tools/check_keras_loads_kspec.py check DIR   # Keras reads them

``write`` trains small kspec models a few steps and saves each as a whole-model ``.h5``, a ``.weights.h5``
and a legacy weights-only ``.h5``, plus ``<case>.npz`` (input, targets, kspec's predictions, optimizer
state, and kspec's predictions after one more training step) and ``manifest.json``.

``check`` loads every ``.h5`` with ``keras.models.load_model`` and compares predictions, the compile
configuration and the restored optimizer state; takes one more training step in Keras and compares it with
kspec's (models without dropout); and loads both weights files into a fresh Keras model built from the
config. It prints one line per check and exits with status 1 if any fails.

``tests/test_io_keras_reference.py`` runs the same two functions in-process when keras can be imported.
"""
import json
import os
import pathlib
import sys

import numpy as np

ATOL = 2e-6


# -- step 1: kspec writes --------------------------------------------------------------------------------
def cases():
    """(name, layers factory, optimizer, loss, metrics, train) for each model written."""
    from kspec import layers

    def mlp():
        return [layers.InputLayer(shape=(5,)), layers.Dense(4, activation="relu"), layers.Dropout(0.5),
                layers.Dense(3, activation="softmax")]

    def deep():
        return [layers.InputLayer(shape=(5,)), layers.Dense(6, activation="tanh"), layers.Dense(4),
                layers.Activation("sigmoid"), layers.Dense(3, activation="softmax")]

    return [
        ("mlp_adam", mlp, {"class_name": "Adam", "config": {"learning_rate": 0.01}},
         "categorical_crossentropy", ["accuracy"], True),
        ("deep_sgd", deep, {"class_name": "SGD", "config": {"learning_rate": 0.05, "momentum": 0.9,
                                                            "nesterov": True}},
         "categorical_crossentropy", ["accuracy", "mse"], True),
        ("deep_adam", deep, {"class_name": "Adam", "config": {"learning_rate": 0.02, "amsgrad": True}},
         "categorical_crossentropy", ["accuracy"], True),
        ("deep_rmsprop", deep, {"class_name": "RMSprop", "config": {"learning_rate": 0.01}}, "mse", None,
         True),
        ("plain", deep, None, None, None, False),
    ] + [(f"deep_{name.lower()}", deep, {"class_name": name, "config": {"learning_rate": 0.01}},
          "categorical_crossentropy", None, True)
         for name in ("Nadam", "Adamax", "Adagrad", "Adadelta", "AdamW")]


def write(folder):
    from kspec import backend, io
    from kspec.layers import clear_session
    from kspec.models import Sequential

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = []
    for name, make_layers, optimizer, loss, metrics, train in cases():
        clear_session()
        backend.set_seed(7)
        model = Sequential(make_layers())
        rng = np.random.default_rng(3)
        x = rng.normal(size=(8, 5)).astype("float32")
        y = np.eye(3, dtype="float32")[np.arange(8) % 3]
        if optimizer is not None:
            model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
            for _ in range(3):
                model.train_on_batch(x, y)
        io.save_model(model, folder / f"{name}.h5", spec={"name": name, "seed": 7})
        io.save_weights(model, folder / f"{name}.weights.h5")
        io.save_weights(model, folder / f"{name}_weights.h5")
        arrays = {"x": x, "y": y, "y_pred": model.predict(x, verbose=0)}
        has_dropout = any(type(layer).__name__ == "Dropout" for layer in model.layers)
        if optimizer is not None:
            for i, (_, value) in enumerate(model.optimizer.variables):
                arrays[f"opt{i}"] = np.array(value)  # a copy: the next step updates the slots in place
            if not has_dropout:
                model.train_on_batch(x, y)
                arrays["y_after_step"] = model.predict(x, verbose=0)
        np.savez(folder / f"{name}.npz", **arrays)
        manifest.append({"name": name, "optimizer": optimizer, "loss": loss, "metrics": metrics})
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


# -- step 2: Keras reads ---------------------------------------------------------------------------------
def check(folder, report=print):
    """Run every check; returns the number of failures."""
    import keras

    folder = pathlib.Path(folder)
    failures = 0

    def verdict(label, ok, detail=""):
        nonlocal failures
        failures += not ok
        report(f"{'PASS' if ok else 'FAIL'}  {label}{': ' + detail if detail else ''}")

    def close(label, got, want):
        got, want = np.asarray(got), np.asarray(want)
        if got.shape != want.shape:
            verdict(label, False, f"shape {got.shape} vs {want.shape}")
            return
        diff = float(np.max(np.abs(got.astype("float64") - want))) if got.size else 0.0
        verdict(label, diff <= ATOL, f"max |diff| {diff:.2e}")

    for case in json.loads((folder / "manifest.json").read_text()):
        name = case["name"]
        data = np.load(folder / f"{name}.npz")
        model = keras.models.load_model(folder / f"{name}.h5")
        close(f"{name}.h5 predictions", model.predict(data["x"], verbose=0), data["y_pred"])
        if case["optimizer"] is None:
            verdict(f"{name}.h5 loads uncompiled", not model.compiled)
        else:
            opt = model.optimizer
            verdict(f"{name}.h5 optimizer class", type(opt).__name__ == case["optimizer"]["class_name"],
                    type(opt).__name__)
            saved = [data[f"opt{i}"] for i in range(sum(k.startswith("opt") for k in data.files))]
            # Keras 3.15.1 builds the optimizer from `model._trainable_variables`, which is empty for a
            # Sequential model, so load_model restores only iteration and learning_rate from an .h5 (and
            # warns when its third variable, e.g. Nadam's u_product, does not fit the file's first slot).
            restored = [np.asarray(v) for v in opt.variables[:2]]
            for i, got in enumerate(restored):
                close(f"{name}.h5 optimizer variable {i} restored by load_model ({opt.variables[i].path})",
                      got, saved[i])
            # The full state, restored with Keras's own reader once the optimizer is built for the weights.
            from keras.src.legacy.saving import legacy_h5_format
            import h5py
            opt = keras.optimizers.deserialize({"class_name": type(opt).__name__, "config": opt.get_config()})
            model.compile(optimizer=opt, loss=case["loss"], metrics=case["metrics"])
            opt.build(model.trainable_variables)
            with h5py.File(folder / f"{name}.h5", "r") as f:
                opt.set_weights([np.asarray(v) for v in legacy_h5_format.load_optimizer_weights_from_hdf5_group(f)])
            verdict(f"{name}.h5 optimizer variable count", len(opt.variables) == len(saved), f"{len(saved)}")
            for i, (variable, want) in enumerate(zip(opt.variables, saved)):
                close(f"{name}.h5 optimizer variable {i} ({variable.path})", np.asarray(variable), want)
            if "y_after_step" in data.files:
                model.train_on_batch(data["x"], data["y"])
                close(f"{name}.h5 one more training step, Keras vs kspec", model.predict(data["x"], verbose=0),
                      data["y_after_step"])
        for weights_file in (f"{name}.weights.h5", f"{name}_weights.h5"):
            fresh = keras.Sequential.from_config(model.get_config())
            if case["optimizer"] is not None and weights_file.endswith(".weights.h5"):
                fresh.compile(optimizer=keras.optimizers.deserialize(case["optimizer"]), loss=case["loss"])
                fresh.optimizer.build(fresh.trainable_variables)
            fresh.load_weights(folder / weights_file)
            close(f"{weights_file} predictions", fresh.predict(data["x"], verbose=0), data["y_pred"])
            if getattr(fresh, "optimizer", None) is not None:
                state = [np.asarray(v) for v in fresh.optimizer.variables]
                ok = all(np.allclose(s, data[f"opt{i}"], atol=ATOL) for i, s in enumerate(state))
                verdict(f"{weights_file} optimizer state", ok)
    return failures


def main(argv):
    if len(argv) != 3 or argv[1] not in ("write", "check"):
        print(__doc__)
        return 2
    if argv[1] == "write":
        sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
        for case in write(argv[2]):
            print(f"wrote {case['name']}")
        return 0
    os.environ.setdefault("KERAS_BACKEND", "jax")
    failures = check(argv[2])
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
