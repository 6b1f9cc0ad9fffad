"""Golden fixtures for encoder-decoder models (a recurrent layer called with ``initial_state``), from
Keras 3.15.1 on JAX. Run it with a python that has Keras:

    KERAS_BACKEND=jax COLUMNS=80 python tools/make_golden_seq2seq.py

Writes to tests/fixtures/:
* ``seq2seq_golden.json``: per case, Keras's ``get_config()``, ``layers`` order, the summary text, the
  fit history (one epoch, shuffle off) and the compile arguments.
* ``seq2seq_golden.npz``: inputs, targets, initial weights, predictions before and after fit, trained
  weights.
* ``seq2seq_keras.h5``: Keras's own file of the trained ``lstm`` case (kspec must load it).

The graphs are rebuilt in tests/test_seq2seq.py with the same names; weights come from a seeded NumPy
generator and are set with ``set_weights``.
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


def lstm():
    """Token encoder-decoder: the encoder LSTM's final [h, c] start the decoder LSTM."""
    enc_in = keras.Input((6,), dtype="int32", name="enc_in")
    dec_in = keras.Input((5,), dtype="int32", name="dec_in")
    enc_emb = L.Embedding(7, 4, name="enc_emb")(enc_in)
    dec_emb = L.Embedding(7, 4, name="dec_emb")(dec_in)
    _, h, c = L.LSTM(5, return_state=True, name="encoder")(enc_emb)
    seq = L.LSTM(5, return_sequences=True, name="decoder")(dec_emb, initial_state=[h, c])
    out = L.Dense(7, activation="softmax", name="out")(seq)
    return keras.Model([enc_in, dec_in], out, name="seq2seq_lstm")


def gru():
    """A Bidirectional GRU encoder whose two final states, concatenated, start a GRU decoder; a
    SimpleRNN on the same decoder inputs starts from a Dense projection of that state."""
    enc_in = keras.Input((6, 3), name="enc_in")
    dec_in = keras.Input((4, 2), name="dec_in")
    _, fwd, bwd = L.Bidirectional(L.GRU(3, return_state=True), name="encoder")(enc_in)
    state = L.Concatenate(name="state")([fwd, bwd])
    seq = L.GRU(6, return_sequences=True, reset_after=False, name="decoder")(dec_in, initial_state=[state])
    h0 = L.Dense(4, activation="tanh", name="h0")(state)
    side = L.SimpleRNN(4, name="side")(dec_in, initial_state=[h0])
    out = L.Dense(1, name="out")(L.Flatten(name="flat")(seq))
    side_out = L.Dense(1, name="side_out")(side)
    total = L.Add(name="total")([out, side_out])
    return keras.Model([enc_in, dec_in], total, name="seq2seq_gru")


def bidirectional():
    """Bidirectional with initial_state: two SimpleRNN encoders give the forward and backward states."""
    x = keras.Input((5, 3), name="x")
    _, fh = L.SimpleRNN(4, return_state=True, name="enc_f")(x)
    _, bh = L.SimpleRNN(4, return_state=True, go_backwards=True, name="enc_b")(x)
    seq = L.Bidirectional(L.SimpleRNN(4, return_sequences=True), name="bi")(x, initial_state=[fh, bh])
    out = L.Dense(2, activation="softmax", name="out")(seq)
    return keras.Model(x, out, name="seq2seq_bidirectional")


CASES = {
    "lstm": dict(build=lstm, n=16, batch=8, loss="sparse_categorical_crossentropy",
                 optimizer={"class_name": "Adam", "config": {"learning_rate": 0.05}}),
    "gru": dict(build=gru, n=16, batch=8, loss="mse",
                optimizer={"class_name": "SGD", "config": {"learning_rate": 0.1, "momentum": 0.9}}),
    "bidirectional": dict(build=bidirectional, n=16, batch=8, loss="categorical_crossentropy",
                          optimizer={"class_name": "RMSprop", "config": {"learning_rate": 0.01}}),
}


def _data(name, model, n, rng):
    xs = []
    for t in model.inputs:
        shape = (n,) + tuple(t.shape[1:])
        xs.append(rng.integers(1, 7, size=shape).astype("int32") if "int" in str(t.dtype)
                  else rng.standard_normal(shape).astype("float32"))
    shape = (n,) + tuple(model.outputs[0].shape[1:])
    if name == "lstm":
        y = rng.integers(0, 7, size=shape[:-1]).astype("int32")
    elif name == "bidirectional":
        y = np.eye(2, dtype="float32")[rng.integers(0, 2, size=shape[:-1])]
    else:
        y = rng.standard_normal(shape).astype("float32")
    return xs, y


def main():
    arrays, out = {}, {}
    rng = np.random.default_rng(11)
    for name, case in CASES.items():
        keras.backend.clear_session()
        model = case["build"]()
        weights = [rng.uniform(-0.6, 0.6, size=w.shape).astype("float32") for w in model.get_weights()]
        model.set_weights(weights)
        xs, y = _data(name, model, case["n"], rng)
        x = xs if len(xs) > 1 else xs[0]
        pred = model.predict(x, verbose=0)
        model.compile(optimizer=case["optimizer"], loss=case["loss"])
        history = model.fit(x, y, batch_size=case["batch"], epochs=1, shuffle=False, verbose=0)
        after = model.predict(x, verbose=0)
        for i, a in enumerate(xs):
            arrays[f"{name}/x{i}"] = a
        arrays[f"{name}/y"] = y
        arrays[f"{name}/pred"], arrays[f"{name}/after"] = pred, after
        for i, w in enumerate(weights):
            arrays[f"{name}/w{i}"] = w
        for i, w in enumerate(model.get_weights()):
            arrays[f"{name}/trained{i}"] = w
        if name == "lstm":
            model.save(os.path.join(FIXTURES, "seq2seq_keras.h5"))
        lines = []
        model.summary(print_fn=lines.append)
        out[name] = {"config": pyify(model.get_config()), "layers": [l.name for l in model.layers],
                     "summary": lines[0], "history": pyify(history.history), "n_inputs": len(xs),
                     "n_weights": len(weights), "batch": case["batch"], "loss": case["loss"],
                     "optimizer": case["optimizer"]}
    with open(os.path.join(FIXTURES, "seq2seq_golden.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    np.savez_compressed(os.path.join(FIXTURES, "seq2seq_golden.npz"), **arrays)
    print("wrote seq2seq_golden.json, seq2seq_golden.npz, seq2seq_keras.h5")


if __name__ == "__main__":
    main()
