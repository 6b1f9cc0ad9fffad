"""Recurrent layers called with ``initial_state`` (encoder-decoder models): the layers (the states change
the result, gradients reach them, Keras-style errors), graph models against Keras 3.15.1 (config, summary,
forward, one epoch of training, Keras's own file, kspec's file read back) and the spec's ``initial_state``.
Fixtures: tests/fixtures/seq2seq_golden.* (tools/make_golden_seq2seq.py)."""
import json
import os
import textwrap

import numpy as np
import pytest

from kspec import backend, io
from kspec.engine import Tensor
from kspec.layers import (GRU, LSTM, Add, Bidirectional, Concatenate, Dense, Embedding, Flatten, SimpleRNN,
                          clear_session)
from kspec.models import Functional, Input
from kspec.models.summary import format_summary
from kspec.spec import SpecError, build_model, load_text, resolve
from kspec.testing import check_backward, to_float64

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
with open(os.path.join(FIXTURES, "seq2seq_golden.json"), encoding="utf-8") as _f:
    GOLDEN = json.load(_f)
ARRAYS = np.load(os.path.join(FIXTURES, "seq2seq_golden.npz"))
CASES = sorted(GOLDEN)
RNNS = {"SimpleRNN": (SimpleRNN, 1), "LSTM": (LSTM, 2), "GRU": (GRU, 1)}


@pytest.fixture(autouse=True)
def fresh_names():
    clear_session()
    backend.set_seed(0)
    yield
    clear_session()


# -- kspec twins of the Keras graphs -------------------------------------------------------------------------

def lstm():
    enc_in, dec_in = Input((6,), dtype="int32", name="enc_in"), Input((5,), dtype="int32", name="dec_in")
    enc_emb = Embedding(7, 4, name="enc_emb")(enc_in)
    dec_emb = Embedding(7, 4, name="dec_emb")(dec_in)
    _, h, c = LSTM(5, return_state=True, name="encoder")(enc_emb)
    seq = LSTM(5, return_sequences=True, name="decoder")(dec_emb, initial_state=[h, c])
    return Functional([enc_in, dec_in], Dense(7, activation="softmax", name="out")(seq), name="seq2seq_lstm")


def gru():
    enc_in, dec_in = Input((6, 3), name="enc_in"), Input((4, 2), name="dec_in")
    _, fwd, bwd = Bidirectional(GRU(3, return_state=True), name="encoder")(enc_in)
    state = Concatenate(name="state")([fwd, bwd])
    seq = GRU(6, return_sequences=True, reset_after=False, name="decoder")(dec_in, initial_state=[state])
    h0 = Dense(4, activation="tanh", name="h0")(state)
    side = SimpleRNN(4, name="side")(dec_in, initial_state=[h0])
    out = Dense(1, name="out")(Flatten(name="flat")(seq))
    total = Add(name="total")([out, Dense(1, name="side_out")(side)])
    return Functional([enc_in, dec_in], total, name="seq2seq_gru")


def bidirectional():
    x = Input((5, 3), name="x")
    _, fh = SimpleRNN(4, return_state=True, name="enc_f")(x)
    _, bh = SimpleRNN(4, return_state=True, go_backwards=True, name="enc_b")(x)
    seq = Bidirectional(SimpleRNN(4, return_sequences=True), name="bi")(x, initial_state=[fh, bh])
    return Functional(x, Dense(2, activation="softmax", name="out")(seq), name="seq2seq_bidirectional")


def golden_model(name):
    model = globals()[name]()
    model.set_weights([ARRAYS[f"{name}/w{i}"] for i in range(GOLDEN[name]["n_weights"])])
    return model


def data(name):
    xs = [ARRAYS[f"{name}/x{i}"] for i in range(GOLDEN[name]["n_inputs"])]
    return (xs if len(xs) > 1 else xs[0]), ARRAYS[f"{name}/y"]


def comparable(config):
    """Leaves out what kspec does not write yet, outside this feature: Keras also records non-tensor call
    arguments (``training: false, mask: null``) in some inbound nodes (kspec records the tensor ones, such
    as ``initial_state``, which rebuild the graph); the ``build_config`` of a Bidirectional's inner layers."""
    config = json.loads(json.dumps(config))
    for layer in config["layers"]:
        for node in layer["inbound_nodes"]:
            node["kwargs"] = {k: v for k, v in node["kwargs"].items() if k not in ("training", "mask")}
        inner = [layer["config"][k] for k in ("layer", "backward_layer") if k in layer["config"]]
        for entry in inner:
            entry.pop("build_config", None)
    return config


# -- layers ---------------------------------------------------------------------------------------------------

def _states(rng, n, units, count, dtype=np.float32):
    return [rng.standard_normal((n, units)).astype(dtype) for _ in range(count)]


@pytest.mark.parametrize("kind", sorted(RNNS))
@pytest.mark.parametrize("seqs", [True, False], ids=["sequences", "last"])
def test_initial_state_changes_the_output_and_matches_the_stepwise_loop(kind, seqs):
    cls, count = RNNS[kind]
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((3, 5, 2)).astype(np.float32))
    states = [Tensor(s) for s in _states(rng, 3, 4, count)]
    layer = cls(4, return_sequences=seqs, return_state=True)
    zero = layer(x)
    started = layer(x, initial_state=states)
    assert np.abs(started[0].data - zero[0].data).max() > 1e-3, "initial_state must change the output"
    given_zeros = layer(x, initial_state=[Tensor(np.zeros((3, 4), np.float32)) for _ in range(count)])
    np.testing.assert_allclose(given_zeros[0].data, zero[0].data, rtol=1e-6, atol=1e-7,
                               err_msg="zero initial states give the default result")
    seq, last, final = layer._stepwise(x, None, False, states)
    np.testing.assert_allclose((seq if seqs else last).data, started[0].data, rtol=1e-5, atol=1e-6,
                               err_msg="the per-step loop and the sequence op differ with initial_state")
    for a, b in zip(final, started[1:]):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-5, atol=1e-6, err_msg="final states differ")


@pytest.mark.parametrize("kind", sorted(RNNS))
@pytest.mark.parametrize("path", ["sequence_op", "stepwise"])
def test_gradients_reach_the_initial_states(kind, path):
    """float64 finite differences w.r.t. the inputs, the states and the weights; ``softsign`` (unknown to
    the sequence ops) runs the per-step loop."""
    cls, count = RNNS[kind]
    rng = np.random.default_rng(1)
    kwargs = {"activation": "softsign"} if path == "stepwise" else {}
    layer = cls(3, return_sequences=True, return_state=True, **kwargs)
    x = rng.standard_normal((2, 4, 2))
    layer(Tensor(x.astype(np.float32)))
    to_float64(layer)
    mask = np.array([[True, True, True, False], [True, True, True, True]])
    states = _states(rng, 2, 3, count, np.float64)
    check_backward(lambda t, *s: layer(t, initial_state=list(s)), [x] + states, layer.weights)
    check_backward(lambda t, *s: layer(t, mask=mask, initial_state=list(s))[0], [x] + states, layer.weights)


def test_bidirectional_splits_the_states_forward_then_backward():
    rng = np.random.default_rng(2)
    x = Tensor(rng.standard_normal((2, 4, 3)).astype(np.float32))
    fh, ch, bh, bc = (Tensor(s) for s in _states(rng, 2, 3, 4))
    layer = Bidirectional(LSTM(3, return_sequences=True), merge_mode=None)
    fwd, bwd = layer(x, initial_state=[fh, ch, bh, bc])
    np.testing.assert_allclose(fwd.data, layer.forward_layer(x, initial_state=[fh, ch]).data, rtol=1e-6)
    back = layer.backward_layer(x, initial_state=[bh, bc]).data[:, ::-1]
    np.testing.assert_allclose(bwd.data, back, rtol=1e-6)
    with pytest.raises(ValueError, match="even number of initial states"):
        layer(x, initial_state=[fh, ch, bh])


def test_wrong_initial_states_give_keras_style_errors():
    x = Tensor(np.zeros((2, 4, 3), np.float32))
    h = Tensor(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match=r"expects 2 initial state tensor\(s\) \[h, c\].*Received: initial_state "
                                         r"with 1 tensor"):
        LSTM(5)(x, initial_state=[h])
    with pytest.raises(ValueError, match=r"of shape \(batch_size, 4\)\. Received: initial_state\[0\]\.shape=\(2, 5\)"):
        GRU(4)(x, initial_state=[h])
    with pytest.raises(ValueError, match="batch size"):
        SimpleRNN(5)(x, initial_state=[Tensor(np.zeros((3, 5), np.float32))])
    with pytest.raises(TypeError, match="unexpected keyword argument 'initial_state'"):
        Dense(5)(x, initial_state=[h])
    enc = Input((4, 3))
    with pytest.raises(ValueError, match="expects 2 initial state"):  # checked when the graph is built
        LSTM(5)(enc, initial_state=[LSTM(5, return_state=True)(enc)[1]])


# -- graph models against Keras --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", CASES)
def test_config_summary_and_forward_match_keras(name):
    model = golden_model(name)
    assert [layer.name for layer in model.layers] == GOLDEN[name]["layers"], "layer order differs"
    got, want = comparable(model.get_config()), comparable(GOLDEN[name]["config"])
    for mine, theirs in zip(got["layers"], want["layers"]):
        assert mine == theirs, f"layer entry {theirs['name']!r} differs"
    assert got == want, "Functional get_config() differs from Keras's"
    x, _ = data(name)
    np.testing.assert_allclose(model.predict(x, verbose=0), ARRAYS[f"{name}/pred"], rtol=1e-5, atol=1e-6,
                               err_msg=f"{name}: prediction differs from Keras")


@pytest.mark.parametrize("name", CASES)
def test_one_epoch_matches_keras(name):
    case = GOLDEN[name]
    model = golden_model(name)
    x, y = data(name)
    model.compile(optimizer=case["optimizer"], loss=case["loss"])
    history = model.fit(x, y, batch_size=case["batch"], epochs=1, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["loss"], case["history"]["loss"], rtol=2e-5, err_msg="loss differs")
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, ARRAYS[f"{name}/trained{i}"], rtol=1e-5, atol=2e-6,
                                   err_msg=f"{name}: trained weight {i} differs from Keras")
    np.testing.assert_allclose(model.predict(x, verbose=0), ARRAYS[f"{name}/after"], rtol=1e-5, atol=2e-6,
                               err_msg=f"{name}: prediction after fit differs")
    assert format_summary(model, columns=80) == case["summary"].rstrip("\n") + "\n", "summary text differs"


def test_reads_keras_saved_seq2seq_model():
    model = io.load_model(os.path.join(FIXTURES, "seq2seq_keras.h5"))
    assert [layer.name for layer in model.layers] == GOLDEN["lstm"]["layers"], "layer order differs"
    node = model.get_layer("decoder")._inbound_nodes[0]
    assert [t.history[0].name for t in node.input_tensors] == ["dec_emb", "encoder", "encoder"], \
        "the decoder's call must take the encoder's states"
    x, _ = data("lstm")
    np.testing.assert_allclose(model.predict(x, verbose=0), ARRAYS["lstm/after"], rtol=1e-6, atol=1e-7,
                               err_msg="predictions of Keras's saved model differ")


@pytest.mark.parametrize("name", CASES)
def test_save_load_round_trip(tmp_path, name):
    model = golden_model(name)
    x, y = data(name)
    model.compile(optimizer=GOLDEN[name]["optimizer"], loss=GOLDEN[name]["loss"])
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "m.h5")
    clear_session()
    again = io.load_model(tmp_path / "m.h5")
    assert again.get_config() == model.get_config(), "config changed in the round trip"
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


# -- the spec ----------------------------------------------------------------------------------------------------

def spec(layers):
    return (f"name: t\nmodel:\n  inputs: {{enc: [5, 3], dec: [4, 2]}}\n  layers:\n"
            f"{textwrap.indent(textwrap.dedent(layers), '    ')}compile: {{optimizer: sgd, loss: mse}}\n")


ENCODER = "- LSTM: {units: 6, return_state: true, name: encoder, input: enc}\n"


def errors(text):
    doc = load_text(text, file="config.yaml")
    with pytest.raises(SpecError) as info:
        build_model(resolve(doc), doc)
    return info.value.diagnostics


def test_spec_initial_state_builds_the_graph():
    text = spec(ENCODER + "- LSTM: {units: 6, return_sequences: true, input: dec, name: decoder,\n"
                          "         initial_state: ['encoder[1]', 'encoder[2]']}\n")
    doc = load_text(text, file="config.yaml")
    resolved = resolve(doc)
    assert resolved["model"]["layers"][1]["LSTM"]["initial_state"] == ["encoder[1]", "encoder[2]"]
    assert "initial_state" not in resolved["model"]["layers"][0]["LSTM"], "written only where given"
    model = build_model(resolved, doc)
    node = model.get_layer("decoder")._inbound_nodes[0]
    assert [t.history[2] for t in node.input_tensors] == [0, 1, 2], node.input_tensors
    again = resolve(load_text(json.dumps(resolved), file="resolved.json"))
    assert again["model"] == resolved["model"], "the resolved spec resolves to itself"


@pytest.mark.parametrize("decoder,line,col,message", [
    ("- LSTM: {units: 6, input: dec, initial_state: ['encodr[1]', 'encoder[2]']}",
     6, 52, "LSTM: unknown initial_state 'encodr' (did you mean 'encoder'?)"),
    ("- LSTM: {units: 6, input: dec, initial_state: ['encoder[1]']}",
     6, 51, "LSTM: initial_state takes 2 name(s) ([h, c]), found 1"),
    ("- Dense: {units: 6, input: dec, initial_state: ['encoder[1]']}",
     6, 37, "Dense: initial_state is only for recurrent layers"),
    ("- GRU: {units: 6, input: dec, initial_state: 'later'}\n- Dense: {units: 6, name: later}",
     6, 50, "GRU: initial_state 'later' is the output of an entry further down"),
    ("- Bidirectional: {layer: {GRU: 6}, input: dec, initial_state: ['encoder[1]']}",
     6, 67, "initial_state takes 2 name(s) (the forward layer's states, then the backward layer's)"),
    ("- GRU: {units: 4, input: dec, initial_state: 'encoder[1]'}",
     6, 7, "expects each initial state of shape (batch_size, 4). Received: initial_state[0].shape=(None, 6)"),
])
def test_spec_initial_state_errors(decoder, line, col, message):
    found = errors(spec(ENCODER + decoder + "\n"))
    first = found[0]
    assert message in first.message and (first.line, first.col) == (line, col), str(first)


def test_reverse_example_trains_and_its_run_predicts(tmp_path):
    """configs/seq2seq_reverse.yaml, shortened to 4 epochs; the full run reaches ~99.9% per digit."""
    import io as text_io

    from kspec import run

    root = os.path.join(os.path.dirname(__file__), "..", "configs")
    result = run.train(os.path.join(root, "seq2seq_reverse.yaml"), run_dir=str(tmp_path / "run"),
                       overrides=["fit.epochs=4"], verbose=0, stream=text_io.StringIO())
    assert result.metrics["accuracy"] > 0.8, result.metrics
    with np.load(os.path.join(root, "data", "reverse_test.npz")) as data:
        probs = run.predict(str(tmp_path / "run"), {"source": data["source"], "decoder_in": data["decoder_in"]})
        accuracy = float((probs.argmax(-1) == data["target"]).mean())
    assert abs(accuracy - result.metrics["accuracy"]) < 1e-6, "the saved run predicts what fit evaluated"
