"""Golden fixtures for custom training (issue 12), from Keras 3.15.1 on JAX: Keras's built-in fit from known
initial weights, which kspec's guide-style custom ``train_step`` (with ``kspec.GradientTape``) and a
hand-written loop (``GradientTape`` + ``optimizer.apply_gradients``) must reproduce.

    KERAS_BACKEND=jax python tools/make_golden_custom_training.py

Writes tests/fixtures/custom_training_golden.npz (per case: x, y, initial and trained weights) and
custom_training_golden.json (per case: the layers, compile arguments, fit arguments and history).
Fit runs with shuffle=False, so every route sees the same batches in the same order.
"""
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
    np.savez(os.path.join(FIXTURES, "custom_training_golden.npz"), **arrays)
    with open(os.path.join(FIXTURES, "custom_training_golden.json"), "w") as f:
        json.dump({"keras_version": keras.__version__, "backend": keras.backend.backend(), "cases": pyify(meta)},
                  f, indent=1)


if __name__ == "__main__":
    main()
