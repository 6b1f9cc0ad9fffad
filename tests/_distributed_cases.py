"""Tiny training cases run on one process and on R ranks (loopback threads or mpiexec processes).

``run_case(name, shuffle, dropout_seed)`` seeds the backend, builds and compiles the case's model, fits
it and returns ``{"weights": [...], "history": {...}, "evaluate": {...}}``; ranks must get what one
process gets. Also run as a script under mpiexec by tests/test_distributed.py (see ``main``).
"""
import json
import sys

import numpy as np

from kspec import backend
from kspec.layers import (BatchNormalization, Dense, Dropout, Embedding, GaussianNoise, InputLayer,
                          SimpleRNN)
from kspec.models import Functional, Input, Sequential

N = 23  # with batch 8: batches of 8, 8 and 7 rows; uneven shares on 2 and 3 ranks


def _data(seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, 5)).astype("float32")
    y = (x[:, :3] @ rng.normal(size=(3, 3))).argmax(-1)
    return x, y, rng


def mlp(dropout_seed):
    x, y, rng = _data()
    model = Sequential([InputLayer(shape=(5,)),
                        Dense(8, activation="relu", kernel_regularizer="l2", activity_regularizer="l1"),
                        Dropout(0.3, seed=dropout_seed), GaussianNoise(0.1, seed=dropout_seed),
                        Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    sw = rng.uniform(0.2, 2.0, size=N).astype("float32")
    return model, (x, y), {"batch_size": 8, "epochs": 2, "sample_weight": sw,
                           "validation_data": (x[:9], y[:9])}


def masked(dropout_seed):
    rng = np.random.default_rng(2)
    tokens = rng.integers(1, 9, size=(N, 6))
    lengths = rng.integers(1, 7, size=N)
    tokens[np.arange(6)[None, :] >= lengths[:, None]] = 0  # padding: a masked per-step loss
    y = (tokens % 3).astype("int64")
    model = Sequential([InputLayer(shape=(6,)), Embedding(10, 4, mask_zero=True),
                        SimpleRNN(5, return_sequences=True, dropout=0.2, seed=dropout_seed),
                        Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, (tokens, y), {"batch_size": 8, "epochs": 2}


def bn_sync(dropout_seed):
    x, y, _ = _data(3)
    model = Sequential([InputLayer(shape=(5,)), Dense(6), BatchNormalization(synchronized=True),
                        Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, (x, y), {"batch_size": 8, "epochs": 2}


def multi_output(dropout_seed):
    x, y, rng = _data(4)
    inp = Input((5,), name="x")
    h = Dense(6, activation="tanh", name="h")(inp)
    cls = Dense(3, activation="softmax", name="cls")(h)
    reg = Dense(1, name="reg")(Dropout(0.25, seed=dropout_seed)(h))
    model = Functional(inp, [cls, reg], name="two_heads")
    model.compile(optimizer="rmsprop", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5}, metrics={"cls": ["accuracy"], "reg": ["mae"]})
    target = (x[:, :1] * 2 + 0.1).astype("float32")
    return model, (x, {"cls": y, "reg": target}), {"batch_size": 8, "epochs": 2}


CASES = {"mlp": mlp, "masked": masked, "bn_sync": bn_sync, "multi_output": multi_output}


def run_case(name, shuffle=True, dropout_seed=None, seed=7):
    """Build (seeded), fit and evaluate one case; the arrays come back as lists."""
    backend.set_seed(seed)
    model, (x, y), fit_kwargs = CASES[name](dropout_seed)
    history = model.fit(x, y, shuffle=shuffle, verbose=0, **fit_kwargs)
    scores = model.evaluate(x, y, batch_size=fit_kwargs["batch_size"], verbose=0, return_dict=True)
    return {"weights": [w.tolist() for w in model.get_weights()],
            "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
            "evaluate": {k: float(v) for k, v in scores.items()}}


def loopback_fit(name, size, **fit_overrides):
    """One process, then ``size`` loopback ranks (threads), on the same case: the results, one per rank
    after the single process's. Threads share the engine's no_grad flag and the global RNGs, so the case
    runs fit only (no validation, no evaluate), unshuffled, with seeded random layers."""
    from kspec.backend import comm

    models = []
    for _ in range(size + 1):
        backend.set_seed(7)
        model, (x, y), kwargs = CASES[name](3)
        kwargs.update(fit_overrides)
        kwargs.pop("validation_data", None)
        models.append(model)

    def fit(model):
        history = model.fit(x, y, shuffle=False, verbose=0, **kwargs)
        return {"weights": model.get_weights(), "history": history.history, "evaluate": {}}

    one = fit(models[0])
    return [one] + comm.LoopbackGroup(size).run(lambda c: fit(models[1 + c.rank]))


def assert_same(a, b, rtol=2e-5, atol=2e-6):
    """Two results agree to float32 rounding."""
    assert sorted(a["history"]) == sorted(b["history"])
    for key in a["history"]:
        np.testing.assert_allclose(a["history"][key], b["history"][key], rtol=rtol, atol=atol, err_msg=key)
    for key in a["evaluate"]:
        np.testing.assert_allclose(a["evaluate"][key], b["evaluate"][key], rtol=rtol, atol=atol, err_msg=key)
    assert len(a["weights"]) == len(b["weights"])
    for i, (wa, wb) in enumerate(zip(a["weights"], b["weights"])):
        np.testing.assert_allclose(np.asarray(wa), np.asarray(wb), rtol=rtol, atol=atol, err_msg=f"weight {i}")


def main(argv):
    """``python -m mpi4py tests/_distributed_cases.py NAME OUT``: rank r writes OUT.r (JSON)."""
    from kspec.backend import comm

    name, out = argv[1], argv[2]
    if name == "raise":
        if comm.rank() == 1:
            raise RuntimeError("rank 1 failed on purpose")
        name = "mlp"
    result = run_case(name)
    with open(f"{out}.{comm.rank()}", "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv)
