"""fit/evaluate/predict semantics (reference §4 logs, §10 splitting and shuffling) against Keras 3.15.1
numbers in tests/fixtures/models_fit.json (written by tools/make_golden_models.py), plus self-checks."""
import warnings

import numpy as np
import pytest

from _golden_models import arrays, load, mlp
from kspec import backend
from kspec.models import Callback
from kspec.models.callbacks import LearningRateScheduler
from kspec.models.monitor_callbacks import EarlyStopping, ReduceLROnPlateau

FIT = load("models_fit.json")
DATA = arrays(FIT["data"])
CASES = FIT["cases"]

KSPEC_CALLBACKS = {  # the generator's FIT_CALLBACKS, built with kspec
    "lr_halving": lambda: LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr),
    "early_stop_restore": lambda: EarlyStopping(monitor="loss", min_delta=0.5, patience=1,
                                                restore_best_weights=True),
    "plateau": lambda: ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=0, min_delta=10.0),
}


class Recorder(Callback):
    """Records (hook, index, sorted log keys) like the generator's Recorder."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def wants_batch_logs(self, batch):
        return True

    def _rec(self, name, index=None, logs=None):
        self.calls.append([name, index, sorted(logs) if logs else []])

    def on_train_begin(self, logs=None): self._rec("on_train_begin", None, logs)
    def on_train_end(self, logs=None): self._rec("on_train_end", None, logs)
    def on_epoch_begin(self, epoch, logs=None): self._rec("on_epoch_begin", epoch, logs)
    def on_epoch_end(self, epoch, logs=None): self._rec("on_epoch_end", epoch, logs)
    def on_train_batch_begin(self, batch, logs=None): self._rec("on_train_batch_begin", batch, logs)
    def on_train_batch_end(self, batch, logs=None): self._rec("on_train_batch_end", batch, logs)
    def on_test_begin(self, logs=None): self._rec("on_test_begin", None, logs)
    def on_test_end(self, logs=None): self._rec("on_test_end", None, logs)
    def on_test_batch_begin(self, batch, logs=None): self._rec("on_test_batch_begin", batch, logs)
    def on_test_batch_end(self, batch, logs=None): self._rec("on_test_batch_end", batch, logs)
    def on_predict_begin(self, logs=None): self._rec("on_predict_begin", None, logs)
    def on_predict_end(self, logs=None): self._rec("on_predict_end", None, logs)
    def on_predict_batch_begin(self, batch, logs=None): self._rec("on_predict_batch_begin", batch, logs)
    def on_predict_batch_end(self, batch, logs=None): self._rec("on_predict_batch_end", batch, logs)


def _fit_kwargs(spec):
    kwargs = dict(spec["fit_kwargs"])
    if kwargs.get("sample_weight") == "sw":
        kwargs["sample_weight"] = DATA["sw"]
    if kwargs.get("validation_data") == "val2":
        kwargs["validation_data"] = (DATA["xv"], DATA["yv"])
    elif kwargs.get("validation_data") == "val3":
        kwargs["validation_data"] = (DATA["xv"], DATA["yv"], DATA["swv"])
    if "class_weight" in kwargs:
        kwargs["class_weight"] = {int(k): v for k, v in kwargs["class_weight"].items()}
    return kwargs


def _run_case(name):
    spec = CASES[name]
    model = mlp(DATA["weights"], metrics=spec["metrics"], weighted_metrics=spec["weighted_metrics"])
    if spec["seed"] is not None:
        backend.set_seed(spec["seed"])
    rec = Recorder()
    callbacks = [KSPEC_CALLBACKS[c]() for c in spec.get("callbacks", [])] + [rec]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        history = model.fit(DATA["x"], DATA["y"], verbose=0, callbacks=callbacks, **_fit_kwargs(spec))
    return spec, model, history, rec


def _close(got, want, what, rtol=2e-6, atol=1e-6):
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want, np.float64), rtol=rtol, atol=atol,
                               err_msg=f"{what} differs from Keras")


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
def test_fit_matches_keras(name):
    """History keys, order and values, params, epochs, hook order and final weights (float32 rounding)."""
    spec, model, history, rec = _run_case(name)
    assert list(history.history) == spec["history_keys"], f"history keys {list(history.history)}"
    for key, values in spec["history"].items():
        _close(history.history[key], values, f"history[{key!r}]")
    assert history.params == spec["params"], f"history.params {history.params} != {spec['params']}"
    assert history.epoch == spec["epochs"], f"history.epoch {history.epoch} != {spec['epochs']}"
    assert model.history is history, "model.history should be the returned History"
    assert rec.calls == spec["calls"], "callback hooks (order, indices or log keys) differ from Keras"
    for i, (got, want) in enumerate(zip(model.get_weights(), spec["weights"])):
        _close(got, want, f"final weight {i}", atol=2e-6)


def test_evaluate_predict_and_on_batch_match_keras():
    spec, model, _, _ = _run_case("split_sample_weight")
    x, y, sw = DATA["x"], DATA["y"], DATA["sw"]
    got = model.evaluate(x, y, batch_size=5, verbose=0)
    assert isinstance(got, list) and len(got) == 3, "evaluate returns [loss, *metrics] in compile order"
    _close(got, spec["evaluate_list"], "evaluate list")
    got = model.evaluate(x, y, batch_size=5, verbose=0, return_dict=True)
    assert list(got) == list(spec["evaluate_dict"]), f"evaluate dict keys {list(got)}"
    _close(list(got.values()), list(spec["evaluate_dict"].values()), "evaluate dict")
    got = model.evaluate(x, y, batch_size=5, verbose=0, sample_weight=sw, return_dict=True)
    _close(list(got.values()), list(spec["evaluate_sw"].values()), "weighted evaluate")
    got = model.evaluate(x[12:], y[12:], batch_size=5, verbose=0, return_dict=True)
    _close(list(got.values()), list(spec["evaluate_tail"].values()), "evaluate on the tail")
    _close(model.predict(x, batch_size=5, verbose=0), spec["predict"], "predict")
    _close(model.test_on_batch(x[:6], y[:6]), spec["test_on_batch"], "test_on_batch")
    got = model.train_on_batch(x[:6], y[:6], sample_weight=sw[:6], return_dict=True)
    _close(list(got.values()), list(spec["train_on_batch"].values()), "train_on_batch logs")
    for i, (w, want) in enumerate(zip(model.get_weights(), spec["weights_after_train_on_batch"])):
        _close(w, want, f"weight {i} after train_on_batch", atol=2e-6)
    rec = Recorder()
    model.evaluate(x, y, batch_size=7, verbose=0, callbacks=[rec])
    model.predict(x, batch_size=7, verbose=0, callbacks=[rec])
    assert rec.calls == spec["eval_predict_calls"], "evaluate/predict hook order differs from Keras"


def test_validation_split_takes_the_tail_before_shuffling():
    """val_* of the last epoch equal evaluate on the last 25% (with its sample weights), shuffle or not."""
    backend.set_seed(3)
    model = mlp(DATA["weights"], metrics=["accuracy"])
    history = model.fit(DATA["x"], DATA["y"], sample_weight=DATA["sw"], batch_size=5, epochs=2,
                        validation_split=0.25, shuffle=True, verbose=0)
    tail = model.evaluate(DATA["x"][12:], DATA["y"][12:], sample_weight=DATA["sw"][12:], verbose=0,
                          return_dict=True)
    for key, value in tail.items():
        assert history.history["val_" + key][-1] == value, f"val_{key} differs from evaluate on the tail"
    with pytest.raises(ValueError, match="validation_split"):
        mlp(None).fit(DATA["x"][:1], DATA["y"][:1], validation_split=0.5, verbose=0)


def _batches_seen(model):
    """Wrap train_step to record the first feature of every sample of every batch."""
    seen = []
    step = model.train_step

    def recording(data):
        seen.append(np.asarray(data[0])[:, 0].copy())
        return step(data)

    model.train_step = recording
    return seen


def test_shuffle_orders_follow_the_seeded_random_state():
    """shuffle=True: each epoch is a fresh RandomState(seed).permutation(N); the first fit after compile
    first draws (and drops) one permutation, as Keras's build step does; a second fit continues."""
    x = np.arange(10, dtype=np.float32)[:, None] * np.ones((1, 4), np.float32)
    y = np.eye(3, dtype=np.float32)[np.arange(10) % 3]
    model = mlp(DATA["weights"])
    backend.set_seed(5)
    seen = _batches_seen(model)
    model.fit(x, y, batch_size=4, epochs=2, shuffle=True, verbose=0)
    model.fit(x, y, batch_size=4, epochs=1, shuffle=True, verbose=0)
    rs = np.random.RandomState(5)
    perms = [rs.permutation(10) for _ in range(4)]
    expected = [p[i:i + 4] for p in perms[1:] for i in range(0, 10, 4)]
    assert [len(b) for b in seen] == [4, 4, 2] * 3, "the partial last batch must be kept"
    for i, (got, want) in enumerate(zip(seen, expected)):
        assert got.tolist() == want.tolist(), f"batch {i}: {got} != {want}"


def test_shuffle_false_and_batch():
    x = np.arange(10, dtype=np.float32)[:, None] * np.ones((1, 4), np.float32)
    y = np.eye(3, dtype=np.float32)[np.arange(10) % 3]
    model = mlp(DATA["weights"])
    seen = _batches_seen(model)
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert [b.tolist() for b in seen] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]], "shuffle=False keeps order"
    seen.clear()
    backend.set_seed(2)
    model.fit(x, y, batch_size=4, epochs=1, shuffle="batch", verbose=0)
    rs = np.random.RandomState(2)
    expected = [rs.permutation(4) + 0, rs.permutation(4) + 4, rs.permutation(2) + 8]
    assert [b.tolist() for b in seen] == [e.tolist() for e in expected], "shuffle='batch' permutes within batches"


def test_class_weight_equals_sample_weight_by_class():
    cw = {0: 1.0, 1: 2.0, 2: 0.5}
    a = mlp(DATA["weights"])
    ha = a.fit(DATA["x"], DATA["y"], class_weight=cw, batch_size=6, shuffle=False, verbose=0)
    b = mlp(DATA["weights"])
    sw = np.asarray([cw[int(c)] for c in DATA["y"].argmax(1)], np.float32)
    hb = b.fit(DATA["x"], DATA["y"], sample_weight=sw, batch_size=6, shuffle=False, verbose=0)
    assert ha.history == hb.history, "class_weight should act as per-class sample weights"
    with pytest.raises(ValueError, match="class_weight"):
        a.fit(DATA["x"], DATA["y"], class_weight=cw, sample_weight=sw, verbose=0)


def test_loss_is_batch_weighted_mean_of_pre_update_losses_with_penalty():
    """The epoch loss is Σ(batch loss incl. L2 penalty, before the update) × batch size / N."""
    x, y = DATA["x"], DATA["y"]
    reference = mlp(DATA["weights"], l2=0.5)
    losses, sizes = [], []
    for start in range(0, 16, 6):
        xb, yb = x[start:start + 6], y[start:start + 6]
        losses.append(reference.test_on_batch(xb, yb))
        assert reference.losses, "the L2 penalty should be among model.losses"
        sizes.append(len(xb))
        reference.train_on_batch(xb, yb)
    model = mlp(DATA["weights"], l2=0.5)
    history = model.fit(x, y, batch_size=6, shuffle=False, verbose=0)
    expected = float(np.dot(losses, sizes) / sum(sizes))
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-6), "epoch loss is not the weighted mean"
    penalty_free = mlp(DATA["weights"], l2=0.0).evaluate(x[:6], y[:6], verbose=0)
    assert losses[0] > penalty_free + 0.01, "the logged loss should include the regularization penalty"


def test_steps_per_epoch_continues_the_pass_and_warns():
    spec = CASES["steps_per_epoch"]
    model = mlp(DATA["weights"])
    rec = Recorder()
    with pytest.warns(UserWarning, match="ran out of data"):
        model.fit(DATA["x"], DATA["y"], verbose=0, callbacks=[rec], **spec["fit_kwargs"])
    batches = [c[1] for c in rec.calls if c[0] == "on_train_batch_begin"]
    assert batches == [0, 1, 0, 0, 1], f"epochs of 2, 1 (pass ran out), 2 batches; got {batches}"


def test_evaluate_return_forms():
    model = mlp(DATA["weights"])
    loss = model.evaluate(DATA["x"], DATA["y"], verbose=0)
    assert isinstance(loss, float), "evaluate with no metrics returns a scalar"
    model = mlp(DATA["weights"], metrics=["mae", "accuracy"])
    values = model.evaluate(DATA["x"], DATA["y"], verbose=0)
    logs = model.evaluate(DATA["x"], DATA["y"], verbose=0, return_dict=True)
    assert list(logs) == ["accuracy", "loss", "mae"], "dict keys are sorted"
    assert values == [logs["loss"], logs["mae"], logs["accuracy"]], "list is loss then metrics in compile order"
    assert model.metrics_names == ["loss", "compile_metrics"], f"Keras 3 metrics_names {model.metrics_names}"


def test_predict_batches_and_on_batch():
    model = mlp(DATA["weights"])
    outputs = []

    class Outputs(Callback):
        def on_predict_batch_end(self, batch, logs=None):
            outputs.append(logs["outputs"].shape)

    full = model.predict(DATA["x"], batch_size=7, verbose=0, callbacks=[Outputs()])
    assert outputs == [(7, 3), (7, 3), (2, 3)], f"predict batches {outputs}"
    assert full.dtype == np.float32 and full.shape == (16, 3), "predict output"
    np.testing.assert_array_equal(full, model.predict_on_batch(DATA["x"]), err_msg="predict vs predict_on_batch")


def test_get_set_weights_round_trip():
    model = mlp(DATA["weights"])
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(4, 5), (5,), (5, 3), (3,)], "weights in layer order, kernel then bias"
    weights[0][0, 0] = 42.0
    assert model.get_weights()[0][0, 0] != 42.0, "get_weights must return copies"
    model.set_weights(weights)
    assert model.get_weights()[0][0, 0] == 42.0, "set_weights did not assign"
    with pytest.raises(ValueError, match="weights"):
        model.set_weights(weights[:2])


def test_fit_is_deterministic_with_dropout_and_shuffle():
    def run():
        backend.set_seed(123)
        model = mlp(None, dropout=0.5)
        model.fit(DATA["x"], DATA["y"], batch_size=4, epochs=3, shuffle=True, verbose=0)
        return model.get_weights()

    for i, (a, b) in enumerate(zip(run(), run())):
        np.testing.assert_array_equal(a, b, err_msg=f"weight {i} differs between two seeded runs")


def test_history_params_keep_verbose_auto():
    model = mlp(DATA["weights"])
    import io
    history = model.fit(DATA["x"], DATA["y"], epochs=1, batch_size=16, stream=io.StringIO())
    assert history.params == {"verbose": "auto", "epochs": 1, "steps": 1}, f"params {history.params}"


def test_save_and_weights_delegate_to_kspec_io(tmp_path, monkeypatch):
    import kspec.io
    calls = []
    monkeypatch.setattr(kspec.io, "save_model", lambda model, path: calls.append(("save_model", path)))
    monkeypatch.setattr(kspec.io, "save_weights", lambda model, path: calls.append(("save_weights", path)))
    monkeypatch.setattr(kspec.io, "load_weights",
                        lambda model, path, **kw: calls.append(("load_weights", path, kw)))
    model = mlp(DATA["weights"])
    model.save(tmp_path / "m.h5")
    model.save_weights(tmp_path / "m.weights.h5")
    model.load_weights(tmp_path / "m.weights.h5")
    assert [c[0] for c in calls] == ["save_model", "save_weights", "load_weights"], f"calls {calls}"
    existing = tmp_path / "exists.h5"
    existing.write_text("x")
    with pytest.raises(FileExistsError):
        model.save(existing, overwrite=False)


def test_weights_file_round_trip(tmp_path):
    model = mlp(DATA["weights"])
    model.fit(DATA["x"], DATA["y"], epochs=1, verbose=0)
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    other = mlp(None)
    other.load_weights(path)
    for i, (a, b) in enumerate(zip(model.get_weights(), other.get_weights())):
        np.testing.assert_array_equal(a, b, err_msg=f"weight {i} after save_weights/load_weights")
