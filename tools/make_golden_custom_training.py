"""Golden fixtures for custom training (issue 12), from Keras 3.15.1 on JAX: Keras's built-in fit from known
initial weights, which kspec's guide-style custom ``train_step`` (with ``kspec.GradientTape``) and a
hand-written loop (``GradientTape`` + ``optimizer.apply_gradients``) must reproduce.

    KERAS_BACKEND=jax python tools/make_golden_custom_training.py

Writes tests/fixtures/custom_training_golden.npz (per case: x, y, initial and trained weights) and
custom_training_golden.json (per case: the layers, compile arguments, fit arguments and history).
Fit runs with shuffle=False, so every route sees the same batches in the same order.

The ``sources`` entries are fit/evaluate on a Python generator and on a PyDataset (Keras's batch order:
``random.seed(4)`` right before fit, whose build step takes one batch of a shuffled pass first): the
trained weights, the history, the order in which the PyDataset's batches were read, evaluate's result.
"""
import random
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
from _golden import pyify  # noqa: E402
import keras  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")

CASES = {
    "classifier_adam": {
        "n": 70, "features": 12, "classes": 4,
        "layers": [["Dense", {"units": 16, "activation": "relu"}], ["Dense", {"units": 4, "activation": "softmax"}]],
        "optimizer": ["Adam", {"learning_rate": 0.01}],
        "loss": "SparseCategoricalCrossentropy", "metrics": ["accuracy"],
        "fit": {"batch_size": 16, "epochs": 3},
    },
    "regression_sgd": {
        "n": 50, "features": 6, "classes": 0,
        "layers": [["Dense", {"units": 8, "activation": "tanh"}], ["Dense", {"units": 1}]],
        "optimizer": ["SGD", {"learning_rate": 0.05, "momentum": 0.9}],
        "loss": "MeanSquaredError", "metrics": ["mae"],
        "fit": {"batch_size": 8, "epochs": 4},
    },
    "logits_rmsprop": {
        "n": 40, "features": 5, "classes": 3,
        "layers": [["Dense", {"units": 7, "activation": "sigmoid"}], ["Dense", {"units": 3}]],
        "optimizer": ["RMSprop", {"learning_rate": 0.005}],
        "loss": ["SparseCategoricalCrossentropy", {"from_logits": True}], "metrics": [],
        "fit": {"batch_size": 12, "epochs": 2},
    },
}


def _make(spec):
    name, kwargs = (spec, {}) if isinstance(spec, str) else spec
    return name, kwargs


def build(case):
    layers = [keras.Input((case["features"],))]
    layers += [getattr(keras.layers, name)(**kwargs) for name, kwargs in case["layers"]]
    return keras.Sequential(layers)


def main():
    arrays, meta = {}, {}
    for key, case in CASES.items():
        keras.utils.set_random_seed(0)
        rng = np.random.RandomState(1)
        x = rng.standard_normal((case["n"], case["features"])).astype("float32")
        if case["classes"]:
            y = rng.randint(0, case["classes"], size=(case["n"],)).astype("int32")
        else:
            y = rng.standard_normal((case["n"], 1)).astype("float32")
        model = build(case)
        initial = model.get_weights()
        opt_name, opt_kwargs = _make(case["optimizer"])
        loss_name, loss_kwargs = _make(case["loss"])
        model.compile(optimizer=getattr(keras.optimizers, opt_name)(**opt_kwargs),
                      loss=getattr(keras.losses, loss_name)(**loss_kwargs), metrics=list(case["metrics"]))
        history = model.fit(x, y, shuffle=False, verbose=0, **case["fit"])
        arrays[f"{key}/x"], arrays[f"{key}/y"] = x, y
        for i, w in enumerate(initial):
            arrays[f"{key}/initial_{i}"] = w
        for i, w in enumerate(model.get_weights()):
            arrays[f"{key}/trained_{i}"] = w
        meta[key] = {**case, "weights": len(initial), "history": history.history}
    sources = batch_sources(arrays)
    np.savez(os.path.join(FIXTURES, "custom_training_golden.npz"), **arrays)
    with open(os.path.join(FIXTURES, "custom_training_golden.json"), "w") as f:
        json.dump({"keras_version": keras.__version__, "backend": keras.backend.backend(), "cases": pyify(meta),
                   "sources": pyify(sources)}, f, indent=1)


def batch_sources(arrays):
    """fit/evaluate on generators and a PyDataset: 5 batches of 10 samples of a Dense(1) regression."""
    rng = np.random.RandomState(2)
    x = rng.standard_normal((50, 6)).astype("float32")
    y = rng.standard_normal((50, 1)).astype("float32")
    arrays["sources/x"], arrays["sources/y"] = x, y
    read = []

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            read.append(i)
            return x[i * 10:(i + 1) * 10], y[i * 10:(i + 1) * 10]

    def finite():
        for i in range(5):
            yield x[i * 10:(i + 1) * 10], y[i * 10:(i + 1) * 10]

    def endless():
        i = 0
        while True:
            yield x[(i % 5) * 10:(i % 5 + 1) * 10], y[(i % 5) * 10:(i % 5 + 1) * 10]
            i += 1

    out = {}
    for key in ("generator_no_steps", "generator_steps", "pydataset_shuffled"):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])
        arrays[f"sources/{key}/initial_0"], arrays[f"sources/{key}/initial_1"] = model.get_weights()
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse", metrics=["mae"])
        read.clear()
        if key == "generator_no_steps":
            history = model.fit(finite(), epochs=2, verbose=0)
        elif key == "generator_steps":
            history = model.fit(endless(), steps_per_epoch=3, epochs=2, verbose=0, validation_data=finite())
        else:
            random.seed(4)
            history = model.fit(Batches(), epochs=2, verbose=0, validation_data=Batches())
        arrays[f"sources/{key}/trained_0"], arrays[f"sources/{key}/trained_1"] = model.get_weights()
        out[key] = {"history": history.history, "read": list(read),
                    "evaluate": model.evaluate(finite(), verbose=0)}
    return out


if __name__ == "__main__":
    main()
