"""Golden fixtures for the recurrent layers, from Keras 3 on JAX.

Run: KERAS_BACKEND=jax python tools/make_golden_rnn.py
Writes tests/fixtures/rnn_golden.npz with, per case ``<case>/...``: the inputs (and mask), the weights set
into the layer, and Keras's outputs; and two short training runs (shuffle off) with their initial and
final weights and per-epoch losses. Tests read the file and never import Keras.
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

L = keras.layers
OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures",
                   "rnn_golden.npz")
N, T, D, U = 3, 5, 4, 3
arrays, cases = {}, {}


def put(key, value):
    arrays[key] = np.asarray(value)


def random_weights(layer, rng):
    weights = [rng.uniform(-0.6, 0.6, w.shape).astype("float32") for w in layer.weights]
    layer.set_weights(weights)
    return weights


def make_layer(kind, kwargs):
    cls = {"SimpleRNN": L.SimpleRNN, "LSTM": L.LSTM, "GRU": L.GRU}[kind]
    return cls(U, **kwargs)


def forward_cases(rng):
    x = rng.standard_normal((N, T, D)).astype("float32")
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 1, 1, 0, 1]], dtype=bool)
    put("x", x)
    put("mask", mask)
    kinds = [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False})]
    for kind, extra in kinds:
        for seqs in (False, True):
            for back in (False, True):
                for masked in (False, True):
                    for state in ((False, True) if seqs and not back else (False,)):
                        kwargs = dict(extra, return_sequences=seqs, go_backwards=back, return_state=state)
                        name = f"{kind}{'_ra0' if extra else ''}_seq{int(seqs)}_back{int(back)}" \
                               f"_mask{int(masked)}_state{int(state)}"
                        layer = make_layer(kind, kwargs)
                        layer(x)
                        weights = random_weights(layer, rng)
                        outs = layer(x, mask=mask if masked else None)
                        outs = outs if isinstance(outs, (list, tuple)) else [outs]
                        cases[name] = {"layer": kind, "kwargs": kwargs, "masked": masked,
                                       "weights": len(weights), "outputs": len(outs)}
                        for i, w in enumerate(weights):
                            put(f"{name}/w{i}", w)
                        for i, o in enumerate(outs):
                            put(f"{name}/out{i}", np.asarray(o))
    for kind in ("LSTM", "GRU"):
        for mode in ("concat", "sum", "ave", "mul", None):
            for seqs in (False, True):
                for masked in (False, True):
                    name = f"Bidirectional_{kind}_{mode}_seq{int(seqs)}_mask{int(masked)}"
                    inner = make_layer(kind, {"return_sequences": seqs})
                    layer = L.Bidirectional(inner, merge_mode=mode)
                    layer(x)
                    weights = random_weights(layer, rng)
                    outs = layer(x, mask=mask if masked else None)
                    outs = outs if isinstance(outs, (list, tuple)) else [outs]
                    cases[name] = {"layer": "Bidirectional", "inner": kind, "kwargs": {"return_sequences": seqs},
                                   "merge_mode": mode, "masked": masked, "weights": len(weights),
                                   "outputs": len(outs)}
                    for i, w in enumerate(weights):
                        put(f"{name}/w{i}", w)
                    for i, o in enumerate(outs):
                        put(f"{name}/out{i}", np.asarray(o))
    name = "Bidirectional_LSTM_concat_state_mask1"
    layer = L.Bidirectional(make_layer("LSTM", {"return_sequences": True, "return_state": True}))
    layer(x)
    weights = random_weights(layer, rng)
    outs = layer(x, mask=mask)
    cases[name] = {"layer": "Bidirectional", "inner": "LSTM",
                   "kwargs": {"return_sequences": True, "return_state": True}, "merge_mode": "concat",
                   "masked": True, "weights": len(weights), "outputs": len(outs)}
    for i, w in enumerate(weights):
        put(f"{name}/w{i}", w)
    for i, o in enumerate(outs):
        put(f"{name}/out{i}", np.asarray(o))


def embedding_masking_cases(rng):
    ids = np.array([[3, 1, 4, 0, 0], [5, 9, 2, 6, 5], [0, 0, 3, 5, 8]], dtype="int32")
    put("ids", ids)
    emb = L.Embedding(10, D, mask_zero=True)
    lstm = L.LSTM(U, return_sequences=True)
    e = emb(ids)
    emb_w = random_weights(emb, rng)
    e = emb(ids)
    out = lstm(e)
    lstm_w = random_weights(lstm, rng)
    out = lstm(e)
    put("embed_lstm/emb", emb_w[0])
    for i, w in enumerate(lstm_w):
        put(f"embed_lstm/w{i}", w)
    put("embed_lstm/embedded", np.asarray(e))
    put("embed_lstm/mask", np.asarray(emb.compute_mask(ids)))
    put("embed_lstm/out", np.asarray(out))
    xm = rng.standard_normal((N, T, D)).astype("float32")
    xm[0, 3:] = 0.0
    xm[2, 1] = 0.0
    masking = L.Masking(0.0)
    put("masking/x", xm)
    put("masking/out", np.asarray(masking(xm)))
    put("masking/mask", np.asarray(masking.compute_mask(xm)))
    td = L.TimeDistributed(L.Dense(2))
    td(xm)
    td_w = random_weights(td, rng)
    put("time_distributed/out", np.asarray(td(xm)))
    for i, w in enumerate(td_w):
        put(f"time_distributed/w{i}", w)


def training_runs(rng):
    """Two short fits (shuffle off): Embedding(mask_zero) -> LSTM -> Dense softmax, and
    Embedding(mask_zero) -> Bidirectional(GRU, return_sequences) -> TimeDistributed(Dense softmax)
    with a per-timestep (masked) loss."""
    ids = np.zeros((12, 7), dtype="int32")
    for i in range(12):
        n = rng.integers(2, 8)
        ids[i, 7 - n:] = rng.integers(1, 15, n) if i % 2 else 0
        if i % 2 == 0:
            ids[i, :n] = rng.integers(1, 15, n)
    y_seq = rng.integers(0, 3, (12,))
    y_steps = rng.integers(0, 3, (12, 7))
    put("train/ids", ids)
    put("train/y", y_seq)
    put("train/y_steps", y_steps)
    runs = {
        "train_lstm": (lambda: keras.Sequential([keras.Input((7,), dtype="int32"), L.Embedding(15, 4, mask_zero=True),
                                                 L.LSTM(5), L.Dense(3, activation="softmax")]), y_seq),
        "train_bigru": (lambda: keras.Sequential([keras.Input((7,), dtype="int32"), L.Embedding(15, 4, mask_zero=True),
                                                  L.Bidirectional(L.GRU(3, return_sequences=True)),
                                                  L.TimeDistributed(L.Dense(3, activation="softmax"))]), y_steps),
    }
    for name, (build, y) in runs.items():
        model = build()
        weights = [rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in model.weights]
        model.set_weights(weights)
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        hist = model.fit(ids, y, batch_size=4, epochs=3, shuffle=False, verbose=0)
        for i, w in enumerate(weights):
            put(f"{name}/init{i}", w)
        for i, w in enumerate(model.get_weights()):
            put(f"{name}/final{i}", w)
        put(f"{name}/loss", np.array(hist.history["loss"], dtype="float64"))
        put(f"{name}/accuracy", np.array(hist.history["accuracy"], dtype="float64"))
        put(f"{name}/predict", model.predict(ids, verbose=0))
        # evaluate masks the metrics; fit's training metrics on JAX do not (the mask is lost in the grad step)
        put(f"{name}/evaluate", np.array(model.evaluate(ids, y, batch_size=4, verbose=0), dtype="float64"))


def weights_file(rng):
    """A Keras .weights.h5 of Embedding -> Bidirectional(LSTM) -> TimeDistributed(Dense) -> GRU, and its
    predictions, so kspec's reader of Keras's nested layer groups is checked."""
    model = keras.Sequential([keras.Input((5,), dtype="int32"), L.Embedding(10, 3, mask_zero=True),
                              L.Bidirectional(L.LSTM(2, return_sequences=True)), L.TimeDistributed(L.Dense(2)),
                              L.GRU(2)])
    model.set_weights([rng.uniform(-0.7, 0.7, w.shape).astype("float32") for w in model.weights])
    ids = np.array([[1, 2, 0, 0, 0], [3, 4, 5, 6, 7], [0, 0, 9, 8, 1]], dtype="int32")
    model.save_weights(os.path.join(os.path.dirname(OUT), "rnn_model.weights.h5"))
    put("weights_file/ids", ids)
    put("weights_file/predict", model.predict(ids, verbose=0))


def main():
    rng = np.random.default_rng(20261122)
    forward_cases(rng)
    embedding_masking_cases(rng)
    training_runs(rng)
    weights_file(rng)
    put("cases", np.array(json.dumps(cases)))
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT}: {len(cases)} forward cases, {os.path.getsize(OUT) // 1024} KB")


if __name__ == "__main__":
    main()
