"""Golden fixture: which ``compile`` arguments Keras 3.15.1 rejects for a model with several outputs, and
which log keys the accepted ones give.

    KERAS_BACKEND=jax python tools/make_golden_compile_checks.py

Writes ``tests/fixtures/compile_checks.json``: per case, the compile arguments (optimizer left out), the
model (``two_output``: outputs out_a (3 units, softmax) and out_b (1 unit); ``one_output``: output out) and
either ``{"error": exception class name, "message": str}`` (Keras raises on the first ``evaluate``) or
``{"logs": evaluate()'s dict}``; and under ``"data"`` per model the inputs ``x``, targets ``y`` and the
weights (seeded; kspec sets the same ones). kspec raises a ValueError in compile() for every rejected case.
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers as L  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
CCE = "categorical_crossentropy"

CASES = {
    # metrics
    "metrics_flat_list_one": ("two_output", dict(loss="mse", metrics=["accuracy"])),
    "metrics_flat_list_three": ("two_output", dict(loss="mse", metrics=["mae", "mse", "accuracy"])),
    "metrics_list_per_output": ("two_output", dict(loss="mse", metrics=["accuracy", "mae"])),
    "metrics_nested_lists": ("two_output", dict(loss="mse", metrics=[["accuracy"], ["mae", "mse"]])),
    "metrics_dict_partial": ("two_output", dict(loss="mse", metrics={"out_a": ["accuracy"]})),
    "metrics_dict_unknown": ("two_output", dict(loss="mse", metrics={"out_c": ["mae"]})),
    "metrics_string": ("two_output", dict(loss="mse", metrics="mae")),
    "weighted_metrics_flat_list_one": ("two_output", dict(loss="mse", weighted_metrics=["mae"])),
    "one_output_metrics_dict": ("one_output", dict(loss="mse", metrics={"other": ["mae"]})),
    # losses
    "loss_dict_missing_output": ("two_output", dict(loss={"out_a": CCE})),
    "loss_dict_unknown_output": ("two_output", dict(loss={"out_a": CCE, "out_b": "mse", "out_c": "mse"})),
    "loss_dict_none_output": ("two_output", dict(loss={"out_a": CCE, "out_b": None},
                                                 metrics={"out_a": ["accuracy"], "out_b": ["mae"]})),
    "loss_dict_full": ("two_output", dict(loss={"out_a": CCE, "out_b": "mse"})),
    "loss_list_short": ("two_output", dict(loss=[CCE])),
    "loss_list_long": ("two_output", dict(loss=[CCE, "mse", "mse"])),
    "loss_list_none": ("two_output", dict(loss=[None, "mse"])),
    "one_output_loss_dict_wrong_key": ("one_output", dict(loss={"other": "mse"})),
    "one_output_loss_list_two": ("one_output", dict(loss=["mse", "mae"])),
    # loss weights
    "single_loss_weight_list": ("two_output", dict(loss="mse", loss_weights=[1.0, 0.5])),
    "single_loss_weight_dict": ("two_output", dict(loss="mse", loss_weights={"out_a": 1.0, "out_b": 0.5})),
    "single_loss_weight_float": ("two_output", dict(loss="mse", loss_weights=0.5)),
    "single_loss_weight_list_of_one": ("two_output", dict(loss="mse", loss_weights=[0.5])),
    "loss_list_weight_list_short": ("two_output", dict(loss=[CCE, "mse"], loss_weights=[1.0])),
    "loss_list_weight_list": ("two_output", dict(loss=[CCE, "mse"], loss_weights=[1.0, 0.5])),
    "loss_dict_weight_dict_missing": ("two_output", dict(loss={"out_a": CCE, "out_b": "mse"},
                                                         loss_weights={"out_a": 1.0})),
}


def two_output():
    x = keras.Input((5,), name="x")
    h = L.Dense(8, activation="relu", name="h")(x)
    out_a = L.Dense(3, activation="softmax", name="out_a")(h)
    out_b = L.Dense(1, name="out_b")(h)
    return keras.Model(x, [out_a, out_b], name="two_output")


def one_output():
    x = keras.Input((5,), name="x")
    return keras.Model(x, L.Dense(1, name="out")(x), name="one_output")


def make_data(kind):
    keras.utils.set_random_seed(0)
    model = two_output() if kind == "two_output" else one_output()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 5)).astype("float32")
    if kind == "two_output":
        y = [np.eye(3, dtype="float32")[rng.integers(0, 3, 8)], rng.standard_normal((8, 1)).astype("float32")]
    else:
        y = [rng.standard_normal((8, 1)).astype("float32")]
    return {"x": x.tolist(), "y": [a.tolist() for a in y], "weights": [w.tolist() for w in model.get_weights()]}


def run_case(kind, args, data):
    model = two_output() if kind == "two_output" else one_output()
    model.set_weights([np.asarray(w, dtype="float32") for w in data["weights"]])
    y = [np.asarray(a, dtype="float32") for a in data["y"]]
    try:
        model.compile(optimizer="sgd", **args)
        logs = model.evaluate(np.asarray(data["x"], dtype="float32"), y if len(y) > 1 else y[0], verbose=0,
                              return_dict=True)
    except Exception as e:  # noqa: BLE001 - recording what Keras raises is the point
        return {"error": type(e).__name__, "message": str(e)}
    return {"logs": {k: float(v) for k, v in sorted(logs.items())}}


def main():
    data = {kind: make_data(kind) for kind in ("two_output", "one_output")}
    out = {"data": data, "cases": {}}
    for name, (kind, args) in CASES.items():
        result = run_case(kind, args, data[kind])
        out["cases"][name] = {"model": kind, "compile": args, **result}
        print(f"{name:34s} {result.get('error') or sorted(result['logs'])}")
    with open(os.path.join(FIXTURES, "compile_checks.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
