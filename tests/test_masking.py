"""Padding under ``mask_zero`` changes nothing: outputs, losses, metrics and gradients of a padded batch equal
those of the unpadded sequences (Keras's masking and padding guide)."""
import os

import numpy as np
import pytest

from kspec import backend
from kspec.engine import Tensor
from kspec.layers import GRU, LSTM, Bidirectional, Dense, Embedding, InputLayer, SimpleRNN, TimeDistributed
from kspec.models import Sequential

SEQS = [[5, 3], [7, 1, 2, 9], [4], [8, 8, 6]]


def _pad(seqs, length, where):
    out = np.zeros((len(seqs), length), np.int64)
    for i, s in enumerate(seqs):
        if where == "post":
            out[i, :len(s)] = s
        else:
            out[i, length - len(s):] = s
    return out


RNNS = [(SimpleRNN, {}), (LSTM, {}), (GRU, {}), (GRU, {"reset_after": False}), (LSTM, {"go_backwards": True})]
RNN_IDS = ["simple_rnn", "lstm", "gru", "gru_reset_before", "lstm_backwards"]


def _model(rnn, kwargs, length, seqs_out=False, bidirectional=False):
    backend.set_seed(3)
    layer = rnn(4, return_sequences=seqs_out, **kwargs)
    if bidirectional:
        layer = Bidirectional(layer)
    head = TimeDistributed(Dense(3, activation="softmax")) if seqs_out else Dense(3, activation="softmax")
    model = Sequential([InputLayer(shape=(length,)), Embedding(10, 5, mask_zero=True), layer, head])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _grads(model, x, y):
    loss = model.compute_loss(x, y, model(Tensor(x), training=True), track=False)
    for w in model.trainable_weights:
        w.grad = None
    loss.backward()
    return float(loss.data), [w.grad.copy() for w in model.trainable_weights]


@pytest.mark.parametrize("bidirectional", [False, True], ids=["single", "bidirectional"])
@pytest.mark.parametrize("rnn,kwargs", RNNS, ids=RNN_IDS)
@pytest.mark.parametrize("where", ["post", "pre"])
def test_padding_does_not_change_outputs_loss_or_gradients(rnn, kwargs, where, bidirectional):
    if bidirectional and kwargs.get("go_backwards"):
        with pytest.raises(ValueError, match="go_backwards"):  # as Keras: the copies must differ
            _model(rnn, kwargs, 4, bidirectional=True)
        return
    y = np.array([0, 2, 1, 2])
    short, long = _pad(SEQS, 4, where), _pad(SEQS, 9, where)
    model_short = _model(rnn, kwargs, 4, bidirectional=bidirectional)
    model_long = _model(rnn, kwargs, 9, bidirectional=bidirectional)
    model_long.set_weights(model_short.get_weights())
    np.testing.assert_allclose(model_long.predict(long, verbose=0), model_short.predict(short, verbose=0),
                               rtol=1e-5, atol=1e-6, err_msg="padding changed the predictions")
    for i, seq in enumerate(SEQS):  # each sequence alone, unpadded
        alone = model_short.predict(np.array([seq]), verbose=0) if len(seq) == 4 else \
            _alone(model_short, rnn, kwargs, seq, bidirectional)
        np.testing.assert_allclose(model_long.predict(long[i:i + 1], verbose=0), alone, rtol=1e-5, atol=1e-6,
                                   err_msg=f"sequence {seq}: the padded row differs from the sequence alone")
    loss_short, grads_short = _grads(model_short, short, y)
    loss_long, grads_long = _grads(model_long, long, y)
    np.testing.assert_allclose(loss_long, loss_short, rtol=1e-6, err_msg="padding changed the loss")
    for w, a, b in zip(model_short.trainable_weights, grads_long, grads_short):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7, err_msg=f"padding changed the gradient of {w.path}")


def _alone(model, rnn, kwargs, seq, bidirectional):
    other = _model(rnn, kwargs, len(seq), bidirectional=bidirectional)
    other.set_weights(model.get_weights())
    return other.predict(np.array([seq]), verbose=0)


@pytest.mark.parametrize("rnn,kwargs", RNNS[:4], ids=RNN_IDS[:4])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["single", "bidirectional"])
def test_padding_does_not_change_sequence_loss_or_metrics(rnn, kwargs, bidirectional):
    """return_sequences: the mask reaches the per-step loss and the metrics, so padded steps count for nothing."""
    rng = np.random.default_rng(0)
    short, long = _pad(SEQS, 4, "post"), _pad(SEQS, 9, "post")
    y_short = rng.integers(0, 3, short.shape)
    y_long = np.zeros(long.shape, np.int64)
    y_long[:, :4] = y_short
    y_long[:, 4:] = rng.integers(0, 3, (len(SEQS), 5))  # garbage labels on padding: must not matter
    model_short = _model(rnn, kwargs, 4, seqs_out=True, bidirectional=bidirectional)
    model_long = _model(rnn, kwargs, 9, seqs_out=True, bidirectional=bidirectional)
    model_long.set_weights(model_short.get_weights())
    out = model_long(Tensor(long))
    np.testing.assert_array_equal(out.keras_mask, long != 0, err_msg="the mask must reach the model output")
    np.testing.assert_allclose(out.data[:, :4][short != 0], model_short(Tensor(short)).data[short != 0],
                               rtol=1e-5, atol=1e-6, err_msg="padding changed the outputs at real steps")
    ev_short = model_short.evaluate(short, y_short, verbose=0)
    ev_long = model_long.evaluate(long, y_long, verbose=0)
    np.testing.assert_allclose(ev_long, ev_short, rtol=1e-5, err_msg="padding changed [loss, accuracy]")
    loss_short, grads_short = _grads(model_short, short, y_short)
    loss_long, grads_long = _grads(model_long, long, y_long)
    np.testing.assert_allclose(loss_long, loss_short, rtol=1e-6, err_msg="padding changed the training loss")
    for w, a, b in zip(model_short.trainable_weights, grads_long, grads_short):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7, err_msg=f"padding changed the gradient of {w.path}")


def test_fit_on_padded_batch_equals_fit_on_shorter_padding():
    y = np.array([0, 2, 1, 2] * 3)
    short, long = _pad(SEQS * 3, 4, "pre"), _pad(SEQS * 3, 12, "pre")
    model_short, model_long = _model(LSTM, {}, 4), _model(LSTM, {}, 12)
    model_long.set_weights(model_short.get_weights())
    h_short = model_short.fit(short, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    h_long = model_long.fit(long, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(h_long["loss"], h_short["loss"], rtol=1e-5, err_msg="padding changed fit's losses")
    for a, b in zip(model_long.get_weights(), model_short.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg="padding changed the trained weights")


def test_masked_sequences_config_padding_does_not_change_the_run(tmp_path):
    """configs/masked_sequences.yaml trained on its data padded to 12 steps (post) and to 24 (pre)."""
    from kspec import run
    config = os.path.join(os.path.dirname(os.path.dirname(__file__)), "configs", "masked_sequences.yaml")
    fast = ("fit.epochs=2",)
    short = run.train(config, run_dir=str(tmp_path / "short"), overrides=fast, verbose=0)
    long = run.train(config, run_dir=str(tmp_path / "long"), verbose=0,
                     overrides=fast + ("data.train.x=x_long", "data.test.x=x_long", "model.input_shape=[24]"))
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(long.history[key], short.history[key], rtol=1e-5,
                                   err_msg=f"padding to 24 steps changed the training {key}")
    np.testing.assert_allclose(long.metrics["loss"], short.metrics["loss"], rtol=1e-5,
                               err_msg="padding changed the test loss")
