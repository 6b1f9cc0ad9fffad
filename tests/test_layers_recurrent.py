"""SimpleRNN, LSTM, GRU, Bidirectional and TimeDistributed: Keras 3 goldens (forward with and without masks,
short training runs), the sequence ops against the per-step reference, float64 gradient checks and the
layer harness. Fixtures: tools/make_golden_rnn.py."""
import json
import os

import numpy as np
import pytest

from kspec.engine import Tensor, ops
from kspec.layers import (GRU, LSTM, Bidirectional, Dense, Embedding, InputLayer, SimpleRNN, TimeDistributed,
                          clear_session)
from kspec.models import Sequential
from kspec.optimizers import Adam
from kspec.testing import check_backward, run_layer_test, to_float64

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "rnn_golden.npz"))
CASES = json.loads(str(GOLDEN["cases"]))
CLASSES = {"SimpleRNN": SimpleRNN, "LSTM": LSTM, "GRU": GRU}
RTOL, ATOL = 1e-5, 1e-6


def _golden_layer(case):
    spec = CASES[case]
    if spec["layer"] == "Bidirectional":
        return Bidirectional(CLASSES[spec["inner"]](3, **spec["kwargs"]), merge_mode=spec["merge_mode"])
    return CLASSES[spec["layer"]](3, **spec["kwargs"])


@pytest.mark.parametrize("case", sorted(CASES), ids=str)
def test_forward_matches_keras(case):
    spec = CASES[case]
    layer = _golden_layer(case)
    x = GOLDEN["x"]
    layer(Tensor(x))
    layer.set_weights([GOLDEN[f"{case}/w{i}"] for i in range(spec["weights"])])
    outs = layer(Tensor(x), mask=GOLDEN["mask"] if spec["masked"] else None)
    outs = outs if isinstance(outs, list) else [outs]
    assert len(outs) == spec["outputs"], f"{case}: {len(outs)} outputs, Keras gives {spec['outputs']}"
    for i, out in enumerate(outs):
        assert out.dtype == np.float32, f"{case} output {i} is {out.dtype}"
        np.testing.assert_allclose(out.data, GOLDEN[f"{case}/out{i}"], rtol=RTOL, atol=ATOL,
                                   err_msg=f"{case}: output {i} differs from Keras")


def test_embedding_then_lstm_matches_keras():
    ids = GOLDEN["ids"]
    emb, lstm = Embedding(10, 4, mask_zero=True), LSTM(3, return_sequences=True)
    emb(Tensor(ids))
    emb.set_weights([GOLDEN["embed_lstm/emb"]])
    embedded = emb(Tensor(ids))
    np.testing.assert_array_equal(embedded.keras_mask, GOLDEN["embed_lstm/mask"], err_msg="Embedding mask")
    lstm(embedded)
    lstm.set_weights([GOLDEN[f"embed_lstm/w{i}"] for i in range(3)])
    out = lstm(embedded)
    np.testing.assert_allclose(out.data, GOLDEN["embed_lstm/out"], rtol=RTOL, atol=ATOL,
                               err_msg="Embedding(mask_zero) -> LSTM outputs differ from Keras")
    np.testing.assert_array_equal(out.keras_mask, GOLDEN["embed_lstm/mask"],
                                  err_msg="return_sequences must pass the mask on")


def test_time_distributed_matches_keras():
    x = GOLDEN["masking/x"]
    layer = TimeDistributed(Dense(2))
    layer(Tensor(x))
    layer.set_weights([GOLDEN["time_distributed/w0"], GOLDEN["time_distributed/w1"]])
    np.testing.assert_allclose(layer(Tensor(x)).data, GOLDEN["time_distributed/out"], rtol=RTOL, atol=ATOL,
                               err_msg="TimeDistributed(Dense) differs from Keras")


def _training_model(name):
    clear_session()
    if name == "train_lstm":
        layers = [InputLayer(shape=(7,)), Embedding(15, 4, mask_zero=True), LSTM(5), Dense(3, activation="softmax")]
    else:
        layers = [InputLayer(shape=(7,)), Embedding(15, 4, mask_zero=True),
                  Bidirectional(GRU(3, return_sequences=True)), TimeDistributed(Dense(3, activation="softmax"))]
    return Sequential(layers)


@pytest.mark.parametrize("name,target", [("train_lstm", "train/y"), ("train_bigru", "train/y_steps")],
                         ids=["embedding_lstm_dense", "embedding_bigru_timedistributed"])
def test_training_matches_keras(name, target):
    model = _training_model(name)
    count = len(model.weights)
    model.set_weights([GOLDEN[f"{name}/init{i}"] for i in range(count)])
    model.compile(optimizer=Adam(learning_rate=0.05), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(GOLDEN["train/ids"], GOLDEN[target], batch_size=4, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], GOLDEN[f"{name}/loss"], rtol=1e-4,
                               err_msg=f"{name}: per-epoch losses differ from Keras")
    for i, (w, value) in enumerate(zip(model.weights, model.get_weights())):
        np.testing.assert_allclose(value, GOLDEN[f"{name}/final{i}"], rtol=1e-4, atol=2e-5,
                                   err_msg=f"{name}: weight {w.path} after training differs from Keras")
    np.testing.assert_allclose(model.predict(GOLDEN["train/ids"], verbose=0), GOLDEN[f"{name}/predict"],
                               rtol=1e-4, atol=2e-5, err_msg=f"{name}: predictions after training differ")
    np.testing.assert_allclose(model.evaluate(GOLDEN["train/ids"], GOLDEN[target], batch_size=4, verbose=0),
                               GOLDEN[f"{name}/evaluate"], rtol=1e-4,
                               err_msg=f"{name}: evaluate's [loss, masked accuracy] differ from Keras")


def test_training_accuracy_without_mask_matches_keras():
    model = _training_model("train_lstm")
    model.set_weights([GOLDEN[f"train_lstm/init{i}"] for i in range(len(model.weights))])
    model.compile(optimizer=Adam(learning_rate=0.05), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(GOLDEN["train/ids"], GOLDEN["train/y"], batch_size=4, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["accuracy"], GOLDEN["train_lstm/accuracy"], rtol=1e-6,
                               err_msg="per-epoch training accuracy differs from Keras")


@pytest.mark.xfail(strict=True, reason="Keras 3 on JAX drops the output mask from fit's training metrics (the "
                                       "loss and evaluate's metrics stay masked); kspec masks them in both")
def test_training_accuracy_with_sequence_mask_matches_keras():
    model = _training_model("train_bigru")
    model.set_weights([GOLDEN[f"train_bigru/init{i}"] for i in range(len(model.weights))])
    model.compile(optimizer=Adam(learning_rate=0.05), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(GOLDEN["train/ids"], GOLDEN["train/y_steps"], batch_size=4, epochs=3, shuffle=False,
                        verbose=0)
    np.testing.assert_allclose(history.history["accuracy"], GOLDEN["train_bigru/accuracy"], rtol=1e-6,
                               err_msg="per-epoch training accuracy differs from Keras")


# -- the sequence ops against the per-step reference of engine ops ---------------------------------------------
VARIANTS = [(SimpleRNN, {}), (LSTM, {}), (GRU, {}), (GRU, {"reset_after": False}),
            (SimpleRNN, {"activation": "relu"}), (LSTM, {"recurrent_activation": "hard_sigmoid"}),
            (GRU, {"use_bias": False}), (LSTM, {"activation": "relu", "use_bias": False})]
VARIANT_IDS = ["simple_rnn", "lstm", "gru", "gru_reset_before", "simple_rnn_relu", "lstm_hard_sigmoid",
               "gru_no_bias", "lstm_relu_no_bias"]
FLAGS = [(s, b, z) for s in (False, True) for b in (False, True) for z in (False, True)]
FLAG_IDS = [f"seq{int(s)}_back{int(b)}_zero{int(z)}" for s, b, z in FLAGS]


def _mask(rng, n=3, t=5):
    mask = rng.random((n, t)) > 0.4
    mask[0] = True
    mask[1, :] = False  # a fully masked sample: outputs and states stay at their initial zeros
    return mask


@pytest.mark.parametrize("cls,kwargs", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("seqs,back,zero", FLAGS, ids=FLAG_IDS)
def test_sequence_op_matches_stepwise_reference(cls, kwargs, seqs, back, zero):
    rng = np.random.default_rng(1)
    layer = cls(4, return_sequences=seqs, go_backwards=back, zero_output_for_mask=zero, return_state=True,
                **kwargs)
    x = Tensor(rng.standard_normal((3, 5, 2)).astype(np.float32))
    layer(x)
    if layer.bias is not None:
        layer.bias.data[...] = rng.standard_normal(layer.bias.shape)
    mask = _mask(rng)
    for m in (None, mask):
        fast = layer.call(x, mask=m)
        seq, last, states = layer._stepwise(x, m, training=False)
        ref = [seq if seqs else last] + states
        for i, (a, b) in enumerate(zip(fast, ref)):
            np.testing.assert_allclose(a.data, b.data, rtol=1e-5, atol=1e-6,
                                       err_msg=f"{cls.__name__} output {i} (mask={m is not None}): sequence op "
                                               f"differs from the per-step reference")


@pytest.mark.parametrize("cls,kwargs", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("seqs,back,zero", FLAGS, ids=FLAG_IDS)
def test_gradients(cls, kwargs, seqs, back, zero):
    rng = np.random.default_rng(2)
    layer = cls(3, return_sequences=seqs, go_backwards=back, zero_output_for_mask=zero, return_state=True,
                **kwargs)
    x = rng.standard_normal((3, 4, 2))
    layer(Tensor(x.astype(np.float32)))
    to_float64(layer)
    if layer.bias is not None:
        layer.bias.data[...] = rng.standard_normal(layer.bias.shape)
    mask = _mask(rng, 3, 4)
    check_backward(lambda t: layer(t), [x], layer.weights)
    check_backward(lambda t: layer(t, mask=mask), [x], layer.weights)


@pytest.mark.parametrize("op,gates,states,extra", [
    (ops.simple_rnn, 1, 1, {}), (ops.lstm, 4, 2, {}), (ops.gru, 3, 1, {}), (ops.gru, 3, 1, {"reset_after": False})],
    ids=["simple_rnn", "lstm", "gru", "gru_reset_before"])
@pytest.mark.parametrize("seqs", [True, False], ids=["sequences", "last"])
def test_op_initial_state_gradients(op, gates, states, extra, seqs):
    kernel, rec, bias, x, inits, mask = _op_case(op, gates, states, extra)
    check_backward(lambda t, *s: op(t, kernel, rec, bias, initial_state=list(s), mask=mask, return_sequences=seqs,
                                    **extra), [x] + inits, [kernel, rec, bias])


@pytest.mark.parametrize("op,gates,states,extra", [
    (ops.simple_rnn, 1, 1, {}), (ops.lstm, 4, 2, {}), (ops.gru, 3, 1, {}), (ops.gru, 3, 1, {"reset_after": False})],
    ids=["simple_rnn", "lstm", "gru", "gru_reset_before"])
@pytest.mark.parametrize("zero", [False, True], ids=["carry", "zero_output"])
def test_op_last_only_packing_matches_full(op, gates, states, extra, zero):
    """return_sequences=False packs [h0, last output, states]: the same values as the full packing's rows, and
    the same gradients; a constant initial state (no gradient) still enters step 0."""
    kernel, rec, bias, x, inits, mask = _op_case(op, gates, states, extra)
    kw = dict(initial_state=inits, mask=mask, zero_output_for_mask=zero, **extra)
    full = op(x, kernel, rec, bias, **kw).data
    last = op(x, kernel, rec, bias, return_sequences=False, **kw).data
    T = x.shape[1]
    np.testing.assert_allclose(last[1], full[T], rtol=1e-12, err_msg="last output")
    np.testing.assert_allclose(last[2:], full[T + 1:], rtol=1e-12, err_msg="final states")
    no_init = op(x, kernel, rec, bias, return_sequences=False, **dict(kw, initial_state=None)).data
    assert np.abs(no_init[1] - last[1]).max() > 1e-3, "the initial state must change the result"
    check_backward(lambda t: op(t, kernel, rec, bias, return_sequences=False, **kw), [x], [kernel, rec, bias])


def _op_case(op, gates, states, extra):
    from kspec.engine import Variable
    rng = np.random.default_rng(3)
    u = 3
    kernel = Variable(rng.standard_normal((2, gates * u)) * 0.5)
    rec = Variable(rng.standard_normal((u, gates * u)) * 0.5)
    bias_shape = (2, 3 * u) if op is ops.gru and extra.get("reset_after", True) else (gates * u,)
    bias = Variable(rng.standard_normal(bias_shape) * 0.5)
    x = rng.standard_normal((2, 4, 2))
    inits = [rng.standard_normal((2, u)) for _ in range(states)]
    mask = np.array([[True, False, True, True], [False, True, True, False]])
    return kernel, rec, bias, x, inits, mask


def test_bidirectional_gradients():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4, 2))
    mask = _mask(rng, 3, 4)
    for mode in ("concat", "sum", "ave", "mul", None):
        for inner in (LSTM(3, return_sequences=True), GRU(3, reset_after=False)):
            layer = Bidirectional(inner, merge_mode=mode)
            layer(Tensor(x.astype(np.float32)))
            to_float64(layer)
            check_backward(lambda t: layer(t, mask=mask), [x], layer.weights)


def test_time_distributed_gradients():
    rng = np.random.default_rng(5)
    layer = TimeDistributed(Dense(2, activation="tanh"))
    x = rng.standard_normal((2, 3, 4))
    layer(Tensor(x.astype(np.float32)))
    to_float64(layer)
    check_backward(lambda t: layer(t), [x], layer.weights)


# -- masks: propagation and where Keras stops them -------------------------------------------------------------
@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU], ids=["simple_rnn", "lstm", "gru"])
def test_mask_propagates_only_with_return_sequences(cls):
    rng = np.random.default_rng(6)
    x = Tensor(rng.standard_normal((3, 5, 2)).astype(np.float32))
    mask = _mask(rng)
    seq = cls(2, return_sequences=True)(x, mask=mask)
    np.testing.assert_array_equal(seq.keras_mask, mask, err_msg="return_sequences=True must pass the mask on")
    assert cls(2)(x, mask=mask).keras_mask is None, "return_sequences=False must drop the mask"
    outs = cls(2, return_sequences=True, return_state=True)(x, mask=mask)
    np.testing.assert_array_equal(outs[0].keras_mask, mask, err_msg="return_state: the output keeps the mask")
    assert all(s.keras_mask is None for s in outs[1:]), "states carry no mask"
    back = cls(2, return_sequences=True, go_backwards=True)(x, mask=mask)
    np.testing.assert_array_equal(back.keras_mask, mask, err_msg="go_backwards passes the mask on unchanged")


def test_masked_steps_repeat_previous_output_and_keep_states():
    rng = np.random.default_rng(7)
    x = Tensor(rng.standard_normal((2, 4, 3)).astype(np.float32))
    mask = np.array([[True, False, True, False], [False, False, True, True]])
    outs = LSTM(2, return_sequences=True, return_state=True)(x, mask=mask)
    seq, h, c = (o.data for o in outs)
    np.testing.assert_array_equal(seq[0, 1], seq[0, 0], err_msg="a masked step repeats the previous output")
    np.testing.assert_array_equal(seq[0, 3], seq[0, 2], err_msg="a masked last step repeats the previous output")
    np.testing.assert_array_equal(seq[1, :2], 0, err_msg="leading masked steps output the initial zeros")
    np.testing.assert_array_equal(h[0], seq[0, 2], err_msg="the final state is the last unmasked step's")


def test_bidirectional_zero_output_for_masked_sequences():
    rng = np.random.default_rng(8)
    x = Tensor(rng.standard_normal((2, 4, 3)).astype(np.float32))
    mask = np.array([[True, True, False, False], [True, True, True, True]])
    layer = Bidirectional(GRU(2, return_sequences=True), merge_mode=None)
    fwd, bwd = layer(x, mask=mask)
    np.testing.assert_array_equal(fwd.data[0, 2:], 0, err_msg="Bidirectional: masked steps output zeros")
    np.testing.assert_array_equal(bwd.data[0, 2:], 0, err_msg="Bidirectional: masked backward steps are zeros")
    assert layer.forward_layer.zero_output_for_mask and layer.backward_layer.zero_output_for_mask
    assert not Bidirectional(GRU(2)).forward_layer.zero_output_for_mask, \
        "without return_sequences Keras keeps zero_output_for_mask off"


# -- dropout ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU], ids=["simple_rnn", "lstm", "gru"])
def test_dropout_only_in_training(cls):
    rng = np.random.default_rng(9)
    x = Tensor(rng.standard_normal((4, 5, 3)).astype(np.float32))
    for kwargs in ({"dropout": 0.5}, {"recurrent_dropout": 0.5}, {"dropout": 0.3, "recurrent_dropout": 0.3}):
        layer = cls(3, seed=1, **kwargs)
        clean = layer(x).data
        np.testing.assert_array_equal(layer(x, training=False).data, clean, err_msg=f"{kwargs}: inference")
        dropped = layer(x, training=True)
        assert not np.allclose(dropped.data, clean), f"{cls.__name__} {kwargs}: training output unchanged"
        dropped.sum().backward()
        assert all(w.grad is not None and np.isfinite(w.grad).all() for w in layer.weights), \
            f"{cls.__name__} {kwargs}: weights get no finite gradient in training"


# -- construction, config, weights -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kwargs,shape,expected", [
    (SimpleRNN, {"units": 3}, (2, 4, 5), (2, 3)),
    (LSTM, {"units": 3, "return_sequences": True}, (2, 4, 5), (2, 4, 3)),
    (GRU, {"units": 3, "go_backwards": True}, (2, 4, 5), (2, 3)),
    (GRU, {"units": 3, "reset_after": False, "return_sequences": True}, (2, 4, 5), (2, 4, 3)),
    (LSTM, {"units": 3, "dropout": 0.2, "recurrent_dropout": 0.2, "seed": 3}, (2, 4, 5), (2, 3)),
], ids=["simple_rnn", "lstm_seq", "gru_back", "gru_reset_before", "lstm_dropouts"])
def test_layer_harness(cls, kwargs, shape, expected):
    run_layer_test(cls, kwargs, shape, expected_output_shape=expected, expected_num_trainable_weights=3,
                   expected_num_non_trainable_weights=0, supports_masking=True)


def test_wrapper_harness():
    run_layer_test(Bidirectional, {"layer": {"LSTM": {"units": 3, "return_sequences": True}}, "merge_mode": "sum"},
                   (2, 4, 5), expected_output_shape=(2, 4, 3), expected_num_trainable_weights=6,
                   supports_masking=True)
    run_layer_test(Bidirectional, {"layer": {"GRU": 2}}, (2, 4, 5), expected_output_shape=(2, 4),
                   expected_num_trainable_weights=6)
    run_layer_test(TimeDistributed, {"layer": {"Dense": 4}}, (2, 3, 5), expected_output_shape=(2, 3, 4),
                   expected_num_trainable_weights=2, supports_masking=True)


def test_return_state_shapes_and_harness():
    out = run_layer_test(LSTM, {"units": 3, "return_state": True}, (2, 4, 5),
                         expected_output_shape=[(2, 3), (2, 3), (2, 3)], run_training_check=False)
    np.testing.assert_array_equal(out[0], out[1], err_msg="LSTM: the output equals the final h")
    run_layer_test(Bidirectional, {"layer": LSTM(2, return_sequences=True, return_state=True)}, (2, 4, 5),
                   expected_output_shape=[(2, 4, 4), (2, 2), (2, 2), (2, 2), (2, 2)], run_training_check=False)


def test_keras_weight_layout_and_names():
    clear_session()
    lstm = LSTM(3)
    lstm(Tensor(np.zeros((1, 2, 4), np.float32)))
    assert [(w.name, w.shape) for w in lstm.weights] == [("kernel", (4, 12)), ("recurrent_kernel", (3, 12)),
                                                         ("bias", (12,))]
    assert [w.path for w in lstm.weights] == ["lstm/lstm_cell/kernel", "lstm/lstm_cell/recurrent_kernel",
                                              "lstm/lstm_cell/bias"]
    np.testing.assert_array_equal(lstm.bias.data, np.r_[np.zeros(3), np.ones(3), np.zeros(6)],
                                  err_msg="unit_forget_bias: the forget block starts at 1")
    assert GRU(3).get_config()["reset_after"] is True
    gru = GRU(3, reset_after=True)
    gru(Tensor(np.zeros((1, 2, 4), np.float32)))
    assert gru.bias.shape == (2, 9), "GRU reset_after bias is (2, 3U)"
    bi = Bidirectional(LSTM(2))
    bi(Tensor(np.zeros((1, 2, 4), np.float32)))
    paths = [w.path for w in bi.weights]
    assert paths[0] == f"{bi.name}/forward_lstm_1/lstm_cell/kernel" and "backward_lstm_1" in paths[3], paths
    config = bi.get_config()
    assert config["layer"]["config"]["name"] == "forward_lstm_1"
    assert config["backward_layer"]["config"]["go_backwards"] is True
    assert "use_cudnn" not in LSTM(2).get_config() and "zero_output_for_mask" in LSTM(2).get_config()


def test_bad_arguments():
    with pytest.raises(ValueError, match="units"):
        LSTM(0)
    with pytest.raises(ValueError, match="merge mode"):
        Bidirectional(LSTM(2), merge_mode="max")
    with pytest.raises(NotImplementedError, match="stateful"):
        GRU(2, stateful=True)
    with pytest.raises(ValueError, match="timesteps"):
        LSTM(2)(Tensor(np.zeros((2, 3), np.float32)))


def test_loads_keras_weights_file_with_nested_recurrent_layers():
    from kspec import io
    from kspec.layers import Embedding
    clear_session()
    model = Sequential([InputLayer(shape=(5,)), Embedding(10, 3, mask_zero=True),
                        Bidirectional(LSTM(2, return_sequences=True)), TimeDistributed(Dense(2)), GRU(2)])
    io.load_weights(model, os.path.join(os.path.dirname(__file__), "fixtures", "rnn_model.weights.h5"))
    np.testing.assert_allclose(model.predict(GOLDEN["weights_file/ids"], verbose=0), GOLDEN["weights_file/predict"],
                               rtol=1e-5, atol=1e-6,
                               err_msg="a Keras .weights.h5 loaded into kspec predicts differently")
