"""Two epochs of a small MLP end with Keras 3's weights, for every optimizer and option.

Fixtures from ``tools/make_golden_training.py`` (Keras 3.15.1, JAX): same initial weights and data,
batch 16, shuffle off. Keras 2's ``lr``/``decay`` cases were trained in Keras with a schedule computing
``lr / (1 + decay * step)``, the Keras 2 rule kspec applies.
"""
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from kspec import optimizers
from kspec.layers import Dense, clear_session
from kspec.models import Sequential

FIXTURES = Path(__file__).parent / "fixtures"
META = json.loads((FIXTURES / "training_parity.json").read_text())
DATA = np.load(FIXTURES / "training_parity.npz")
CASES = META["cases"]
INITIAL = [DATA[f"w{i}"] for i in range(6)]


def flat(arrays):
    return np.concatenate([np.asarray(a).ravel() for a in arrays])


def build_model(kind):
    clear_session()
    model = Sequential([
        Dense(12, activation="tanh", input_shape=(8,)),
        Dense(8, activation="relu"),
        Dense(3, activation="softmax" if kind == "cce" else "linear"),
    ])
    model.set_weights(INITIAL)
    return model


def uses_keras2_arguments(spec):
    (config,) = spec.values()
    return "lr" in config or bool(config.get("decay"))


def train(case):
    """Fit the case's model as the generator did; returns (model, optimizer, history)."""
    if uses_keras2_arguments(case["optimizer"]):
        with pytest.warns(DeprecationWarning):
            optimizer = optimizers.get(case["optimizer"])
    else:
        optimizer = optimizers.get(case["optimizer"])
    model = build_model(case["model"])
    if case["model"] == "cce":
        model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
        y = DATA["y_cce"]
    else:
        model.compile(optimizer=optimizer, loss="mse")
        y = DATA["y_mse"]
    history = model.fit(DATA["x"], y, batch_size=META["batch_size"], epochs=META["epochs"], shuffle=False,
                        verbose=0)
    return model, optimizer, history


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c["id"] for c in CASES])
def test_final_weights_and_history_match_keras(index):
    case = CASES[index]
    model, _, history = train(case)
    got = flat(model.get_weights())
    expected = DATA["weights"][index]
    assert got.dtype == np.float32, f"final weights are {got.dtype}"
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6,
                               err_msg=f"{case['id']}: final weights differ from Keras")
    # The update itself (final - initial), so that small learning rates cannot hide a wrong rule.
    initial = flat(INITIAL)
    update_error = np.max(np.abs((got - initial) - (expected - initial)))
    assert update_error <= 1e-3 * np.max(np.abs(expected - initial)) + 1e-7, (
        f"{case['id']}: weight updates differ from Keras by {update_error:.3g}")
    np.testing.assert_allclose(history.history["loss"], DATA["loss"][index], rtol=1e-5,
                               err_msg=f"{case['id']}: history loss differs from Keras")
    if case["model"] == "cce":
        np.testing.assert_allclose(history.history["accuracy"], DATA["accuracy"][index], rtol=1e-6,
                                   err_msg=f"{case['id']}: history accuracy differs from Keras")


SLOT_CASES = [c for c in CASES if "optimizer_variables" in c]


@pytest.mark.parametrize("case", SLOT_CASES, ids=[c["id"] for c in SLOT_CASES])
def test_optimizer_variables_match_keras_order_names_and_values(case):
    _, optimizer, _ = train(case)
    names = [name for name, _ in optimizer.variables]
    # Keras paths are "<optimizer>/<model>_<layer>_<weight>_<slot>", kspec's names the part after the
    # optimizer's (a Sequential's layers get "sequential/dense/kernel" paths, as in Keras).
    expected_names = [p.split("/", 1)[-1] for p in case["optimizer_variables"]]
    assert names == expected_names, f"{case['id']}: optimizer variable names/order differ from Keras"
    got = flat([value for _, value in optimizer.variables]).astype(np.float32)
    start = case["optimizer_offset"]
    expected = DATA["optimizer"][start:start + got.size]
    assert got[0] == expected[0], f"{case['id']}: iteration {got[0]} != Keras {expected[0]}"
    scale = np.max(np.abs(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * scale,
                               err_msg=f"{case['id']}: optimizer variable values differ from Keras")


def test_seed_config_keras2_sgd_trains():
    """The seed's ``SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)`` works (with a warning)."""
    with pytest.warns(DeprecationWarning) as record:
        optimizer = optimizers.SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
    messages = " ".join(str(w.message) for w in record)
    assert "`lr`" in messages and "`decay`" in messages, f"expected lr and decay warnings, got {messages}"
    model = build_model("cce")
    model.compile(optimizer=optimizer, loss="categorical_crossentropy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model.fit(DATA["x"], DATA["y_cce"], batch_size=16, epochs=1, shuffle=False, verbose=0)
    assert optimizer.iterations == 4, f"iterations {optimizer.iterations} after 4 batches"
    assert history.history["loss"][0] < 1.2, f"loss {history.history['loss']}"
