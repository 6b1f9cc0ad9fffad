"""Check that real Keras 3 opens the ``.keras`` (and ``.h5``) files kspec writes, compiled, with the same numbers.

Two steps, two interpreters:

    python tools/check_keras_loads_keras_zip.py write DIR                             # kspec writes files
    KERAS_BACKEND=jax /work/venvs/keras/bin/python tools/check_keras_loads_keras_zip.py check DIR   # Keras reads

``write`` builds small kspec models (Sequential MLP with a loss and a metric given with arguments in the
spec's one-key form, a Functional graph, a CNN with BatchNormalization, a recurrent stack, a frozen nested
base called with training=False under a new head, an image model with
every preprocessing and augmentation layer but RandomCrop, whose inference output Keras 3.15.1 leaves
uncropped), trains the compiled
ones a few steps and saves each as ``<case>.keras`` and ``<case>.h5``, with ``<case>.npz`` (input, targets,
predictions, optimizer state, and predictions after one more step) and ``manifest.json``.

``check`` loads every file with ``keras.models.load_model`` (compile=True), compares predictions, the
optimizer's class and state (``.keras`` restores all of it), the compiled loss (class, and its value on the
data, which shows its arguments were kept: Keras's own Huber config drops ``delta``), then takes one more
training step in Keras and compares it with kspec's. One line per check; exit status 1 if any fails.
"""
import json
import os
import pathlib
import sys

import numpy as np

ATOL = 2e-6


# -- step 1: kspec writes --------------------------------------------------------------------------------
def cases():
    from kspec import layers
    from kspec.models import Functional, Input

    def mlp():
        from kspec.models import Sequential
        return Sequential([layers.InputLayer(shape=(5,)), layers.Dense(4, activation="relu"),
                           layers.Dense(3)]), (8, 5), "sparse3"

    def functional():
        inp = Input(shape=(4,), name="features")
        a = layers.Dense(3, activation="tanh", name="left")(inp)
        b = layers.Dense(2, activation="relu", name="right")(inp)
        out = layers.Dense(2, name="out")(layers.Concatenate(name="join")([a, b]))
        return Functional(inp, out, name="two_branches"), (6, 4), "regression2"

    def cnn_bn():
        from kspec.models import Sequential
        return Sequential([layers.InputLayer(shape=(6, 6, 2)), layers.Conv2D(3, 3, padding="same"),
                           layers.BatchNormalization(), layers.ReLU(), layers.MaxPooling2D(), layers.Flatten(),
                           layers.Dense(2, activation="softmax")]), (4, 6, 6, 2), "onehot2"

    def rnn():
        from kspec.models import Sequential
        return Sequential([layers.InputLayer(shape=(5, 3)), layers.LSTM(4, return_sequences=True),
                           layers.GRU(3), layers.Dense(2, activation="softmax")]), (4, 5, 3), "onehot2"

    def augmented():
        from kspec.models import Sequential
        norm = layers.Normalization()
        norm.adapt(np.random.default_rng(5).normal(1.0, 2.0, size=(20, 7, 9, 2)).astype("float32"))
        return Sequential([layers.InputLayer(shape=(7, 9, 2)), layers.Rescaling(0.5, offset=0.1), norm,
                           layers.Resizing(6, 6, interpolation="bicubic"), layers.CenterCrop(5, 5),
                           layers.RandomFlip(seed=1), layers.RandomRotation(0.1, seed=2),
                           layers.RandomZoom(0.1, seed=3), layers.RandomTranslation(0.1, 0.1, seed=4),
                           layers.RandomContrast(0.2, value_range=[-50, 50], seed=5),
                           layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(2, activation="softmax")]), \
            (4, 7, 9, 2), "onehot2"

    def nested(frozen=True):
        from kspec.models import Sequential
        base = Sequential([layers.InputLayer(shape=(4,)), layers.Dense(5, activation="relu", name="hidden"),
                           layers.BatchNormalization(name="bn")], name="base")
        inp = Input(shape=(4,), name="x")
        out = layers.Dense(2, activation="softmax", name="head")(base(inp, training=False))
        base.trainable = not frozen
        return Functional(inp, out, name="transfer"), (6, 4), "onehot2"

    return [
        ("nested", nested, {"Adam": {"learning_rate": 0.01}}, "categorical_crossentropy", ["accuracy"]),
        ("nested_unfrozen", lambda: nested(frozen=False), {"Adam": {"learning_rate": 0.01}},
         "categorical_crossentropy", None),
        ("augmented", augmented, {"Adam": {"learning_rate": 0.01}}, "categorical_crossentropy", None),
        ("mlp", mlp, {"Adam": {"learning_rate": 0.01}},
         {"SparseCategoricalCrossentropy": {"from_logits": True}},
         ["accuracy", {"SparseTopKCategoricalAccuracy": {"k": 2}}]),
        ("functional", functional, {"SGD": {"learning_rate": 0.05, "momentum": 0.9}}, {"Huber": {"delta": 0.5}},
         ["mae"]),
        ("cnn_bn", cnn_bn, {"RMSprop": {"learning_rate": 0.01}}, "categorical_crossentropy", None),
        ("rnn", rnn, {"Adam": {"learning_rate": 0.01}},
         {"CategoricalCrossentropy": {"label_smoothing": 0.1}}, ["accuracy"]),
        ("rnn_plain", rnn, None, None, None),
    ]


def _targets(kind, n, rng):
    if kind == "sparse3":
        return (np.arange(n) % 3).astype("int32")
    if kind == "onehot2":
        return np.eye(2, dtype="float32")[np.arange(n) % 2]
    return rng.normal(size=(n, 2)).astype("float32")


def write(folder):
    from kspec import backend, io
    from kspec.layers import clear_session

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = []
    for name, make, optimizer, loss, metrics in cases():
        clear_session()
        backend.set_seed(7)
        model, shape, target = make()
        rng = np.random.default_rng(3)
        x = rng.normal(size=shape).astype("float32")
        y = _targets(target, shape[0], rng)
        arrays = {"x": x, "y": y}
        if optimizer is not None:
            model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
            for _ in range(3):
                model.train_on_batch(x, y)
        arrays["y_pred"] = model.predict(x, verbose=0)
        if optimizer is not None:
            arrays["loss_value"] = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
        io.save_model(model, folder / f"{name}.keras", spec={"name": name})
        io.save_model(model, folder / f"{name}.h5")
        if optimizer is not None:
            for i, (_, value) in enumerate(io.optimizer_state.keras_weights(model)):
                arrays[f"opt{i}"] = np.array(value)
            model.train_on_batch(x, y)
            arrays["y_after_step"] = model.predict(x, verbose=0)
        np.savez(folder / f"{name}.npz", **arrays)
        random = any(type(layer).__name__.startswith("Random") for layer in model.layers)
        manifest.append({"name": name, "compiled": optimizer is not None, "loss": loss, "random": random})
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
        for suffix in (".keras", ".h5"):
            file = f"{name}{suffix}"
            try:
                model = keras.models.load_model(folder / file)
            except Exception as exc:  # noqa: BLE001 - a check script reports every failure
                verdict(f"{file} loads with compile", False, f"{type(exc).__name__}: {exc}")
                continue
            close(f"{file} predictions", model.predict(data["x"], verbose=0), data["y_pred"])
            if not case["compiled"]:
                verdict(f"{file} loads uncompiled", not model.compiled)
                continue
            loss = model.loss
            verdict(f"{file} compiled loss", loss is not None, type(loss).__name__ if not isinstance(loss, str)
                    else loss)
            if isinstance(case["loss"], dict):  # (Keras's Huber.get_config drops delta: compare values)
                (cls, args), = case["loss"].items()
                verdict(f"{file} loss class {cls}", type(loss).__name__ == cls, type(loss).__name__)
            value = model.evaluate(data["x"], data["y"], verbose=0, return_dict=True)["loss"]
            close(f"{file} evaluate loss (compiled from the file) vs kspec", value, data["loss_value"])
            if suffix == ".keras":  # a .keras file restores the whole optimizer state
                saved = [data[f"opt{i}"] for i in range(sum(k.startswith("opt") for k in data.files))]
                state = model.optimizer.variables
                verdict(f"{file} optimizer variable count", len(state) == len(saved), f"{len(state)}")
                for i, (variable, want) in enumerate(zip(state, saved)):
                    close(f"{file} optimizer variable {i} ({variable.path})", np.asarray(variable), want)
                if not case["random"]:  # augmentation draws differ between Keras and kspec
                    model.train_on_batch(data["x"], data["y"])
                    close(f"{file} one more training step, Keras vs kspec", model.predict(data["x"], verbose=0),
                          data["y_after_step"])
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
