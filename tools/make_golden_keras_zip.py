"""Keras 3 ``.keras`` files for the kspec.io tests, written by real Keras 3.15.1 (JAX backend).

Run with the reference venv (never from the tests):

    KERAS_BACKEND=jax python tools/make_golden_keras_zip.py

Writes to tests/fixtures/keras_zip/, per case ``<case>.keras`` (``model.save``) and ``<case>.npz`` with the
fixed input ``x``, Keras's predictions ``y_pred``, the weights ``w0..`` (``model.get_weights()`` order) and,
when compiled, the optimizer variables ``opt0..`` (iteration, learning_rate, slots):

* ``mlp``: Sequential Dense/Dropout/Dense, Adam, ``SparseCategoricalCrossentropy(from_logits=True)`` and
  ``["accuracy"]``, two training steps.
* ``functional``: a graph with two Dense branches joined by Concatenate, SGD with momentum, mse, ["mae"].
* ``cnn_bn``: Conv2D -> BatchNormalization -> ReLU -> MaxPooling2D -> Flatten -> Dense, RMSprop, three steps
  (the moving statistics have moved).
* ``rnn``: Embedding(mask_zero) -> LSTM(return_sequences) -> GRU, uncompiled.
* ``nested``: a Functional model holding a Sequential base (Dense, BatchNormalization) called with
  ``training=False`` and a Dense head, base frozen, Adam, one step; ``nested_steps.npz`` holds the weights
  after two more steps (base frozen), then after unfreezing the base, recompiling with Adam(0.005) and two
  steps.
"""
import os
import pathlib

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

L = keras.layers
OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "keras_zip"


def save(name, model, x, train=None, steps=1):
    if train is not None:
        for _ in range(steps):
            model.train_on_batch(x, train)
    model.save(OUT / f"{name}.keras")
    arrays = {"x": x, "y_pred": model.predict(x, verbose=0)}
    for i, w in enumerate(model.get_weights()):
        arrays[f"w{i}"] = w
    if getattr(model, "optimizer", None) is not None and model.optimizer.built:
        for i, v in enumerate(model.optimizer.variables):
            arrays[f"opt{i}"] = np.asarray(v)
    np.savez(OUT / f"{name}.npz", **arrays)


def mlp(rng):
    model = keras.Sequential([keras.Input((5,)), L.Dense(4, activation="relu"), L.Dropout(0.5), L.Dense(3)])
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    x = rng.normal(size=(6, 5)).astype("float32")
    save("mlp", model, x, np.arange(6) % 3, steps=2)


def functional(rng):
    inp = keras.Input((4,), name="features")
    a = L.Dense(3, activation="tanh", name="left")(inp)
    b = L.Dense(2, activation="relu", name="right")(inp)
    out = L.Dense(2, name="out")(L.Concatenate(name="join")([a, b]))
    model = keras.Model(inp, out, name="two_branches")
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="mse", metrics=["mae"])
    x = rng.normal(size=(5, 4)).astype("float32")
    save("functional", model, x, rng.normal(size=(5, 2)).astype("float32"))


def cnn_bn(rng):
    model = keras.Sequential([keras.Input((6, 6, 2)), L.Conv2D(3, 3, padding="same"), L.BatchNormalization(),
                              L.ReLU(), L.MaxPooling2D(), L.Flatten(), L.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.RMSprop(0.01), loss="categorical_crossentropy")
    x = rng.normal(size=(4, 6, 6, 2)).astype("float32")
    save("cnn_bn", model, x, np.eye(2, dtype="float32")[[0, 1, 1, 0]], steps=3)


def rnn(rng):
    model = keras.Sequential([keras.Input((5,), dtype="int32"), L.Embedding(7, 3, mask_zero=True),
                              L.LSTM(4, return_sequences=True), L.GRU(2)])
    x = rng.integers(0, 7, size=(3, 5)).astype("int32")
    x[1, 3:] = 0
    save("rnn", model, x)


def nested(rng):
    base = keras.Sequential([keras.Input((4,)), L.Dense(5, activation="relu", name="hidden"),
                             L.BatchNormalization(name="bn")], name="base")
    inp = keras.Input((4,), name="x")
    features = base(inp, training=False)
    out = L.Dense(2, activation="softmax", name="head")(features)
    model = keras.Model(inp, out, name="transfer")
    base.trainable = False
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy")
    x = rng.normal(size=(6, 4)).astype("float32")
    y = np.eye(2, dtype="float32")[np.arange(6) % 2]
    save("nested", model, x, y)
    # Fine-tuning from the saved state, for kspec to repeat: two more steps with the base frozen, then the
    # base unfrozen, recompiled (a new Adam) and two steps (its BatchNormalization now trains: Keras 3's
    # fit passes training=True through the recorded training=False call).
    steps = {}
    for _ in range(2):
        model.train_on_batch(x, y)
    steps["frozen"] = model.get_weights()
    base.trainable = True
    model.compile(optimizer=keras.optimizers.Adam(0.005), loss="categorical_crossentropy")
    for _ in range(2):
        model.train_on_batch(x, y)
    steps["unfrozen"] = model.get_weights()
    np.savez(OUT / "nested_steps.npz", **{f"{k}/w{i}": w for k, ws in steps.items() for i, w in enumerate(ws)})


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for make in (mlp, functional, cnn_bn, rnn, nested):
        keras.backend.clear_session()
        keras.utils.set_random_seed(1)
        make(np.random.default_rng(1))
        print("wrote", make.__name__)


if __name__ == "__main__":
    main()
