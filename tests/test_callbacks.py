"""Callbacks against Keras 3.15.1, driven by the scripted logs of tests/fixtures/models_callbacks.json
(written by tools/make_golden_models.py), plus the CallbackList plumbing and the registry."""
import io
import math
import os

import numpy as np
import pytest

from _golden_models import arrays, load, mlp
from kspec.models.callbacks import (CallbackList, Callback, CSVLogger, History, LambdaCallback,
                                    LearningRateScheduler, TerminateOnNaN, get_learning_rate, pythonify_logs)
from kspec.models.monitor_callbacks import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from kspec.models.progbar import ProgbarLogger
from kspec.optimizers import SGD

GOLDEN = load("models_callbacks.json")
DATA = arrays(load("models_fit.json")["data"])


class FakeModel:
    """What the monitoring callbacks touch: stop_training, weights, an optimizer, save hooks."""

    def __init__(self, lr=0.1):
        self.stop_training = False
        self.optimizer = SGD(lr)
        self.weights = [np.zeros(1, "float32")]
        self.saved = []
        self.metrics = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]

    def save(self, path, overwrite=True):
        self.saved.append(["model", path])

    def save_weights(self, path, overwrite=True):
        self.saved.append(["weights", path])


def drive(callback, sequence, lr=0.1):
    """The generator's ``_drive``: epochs of scripted logs until the callback stops training."""
    model = FakeModel(lr)
    stream = io.StringIO()
    callback.set_model(model)
    callback.set_params({"verbose": 0, "epochs": len(sequence), "steps": 1})
    callback.set_stream(stream)
    epochs, lrs, logs_seen = [], [], []
    callback.on_train_begin()
    for epoch, logs in enumerate(sequence):
        callback.on_epoch_begin(epoch)
        model.weights = [np.full(1, epoch, "float32")]
        logs = dict(logs)
        callback.on_epoch_end(epoch, logs)
        epochs.append(epoch)
        lrs.append(get_learning_rate(model.optimizer))
        logs_seen.append(logs)
        if model.stop_training:
            break
    callback.on_train_end()
    state = {k: getattr(callback, k) for k in ("wait", "best", "stopped_epoch", "best_epoch", "cooldown_counter")
             if hasattr(callback, k)}
    return {"epochs": epochs, "lrs": lrs, "logs": logs_seen, "saved": model.saved,
            "final_weight": float(model.weights[0][0]), "state": state, "text": stream.getvalue()}


def check(got, want, keys=("epochs", "lrs", "saved", "final_weight", "state", "text")):
    for key in keys:
        assert got[key] == want[key], f"{key}: kspec {got[key]!r} != Keras {want[key]!r}"


@pytest.mark.parametrize("case", sorted(GOLDEN["early_stopping"]), ids=sorted(GOLDEN["early_stopping"]))
def test_early_stopping_matches_keras(case):
    spec = GOLDEN["early_stopping"][case]
    check(drive(EarlyStopping(**spec["kwargs"]), GOLDEN["sequence"]), spec)


@pytest.mark.parametrize("case", sorted(GOLDEN["reduce_lr"]), ids=sorted(GOLDEN["reduce_lr"]))
def test_reduce_lr_on_plateau_matches_keras(case):
    spec = GOLDEN["reduce_lr"][case]
    got = drive(ReduceLROnPlateau(**spec["kwargs"]), GOLDEN["sequence"])
    check(got, spec)
    assert [l["learning_rate"] for l in got["logs"]] == [l["learning_rate"] for l in spec["logs"]], \
        "learning_rate added to the epoch logs differs"


@pytest.mark.parametrize("case", sorted(GOLDEN["checkpoint"]), ids=sorted(GOLDEN["checkpoint"]))
def test_model_checkpoint_matches_keras(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the golden paths are relative ("ck/..."), created on save
    spec = GOLDEN["checkpoint"][case]
    check(drive(ModelCheckpoint(**spec["kwargs"]), GOLDEN["sequence"]), spec)


def test_learning_rate_scheduler_matches_keras():
    spec = GOLDEN["scheduler"]
    sched = LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch % 2 else lr, verbose=1)
    got = drive(sched, GOLDEN["sequence"][:5])
    check(got, spec, keys=("epochs", "lrs", "text"))
    assert got["logs"] == spec["logs"], "epoch logs (with learning_rate appended) differ"


def test_learning_rate_scheduler_one_argument_and_type_check():
    model = FakeModel(0.1)
    sched = LearningRateScheduler(lambda epoch: 0.5 ** epoch)
    sched.set_model(model)
    sched.on_epoch_begin(2)
    assert get_learning_rate(model.optimizer) == float(np.float32(0.25)), "one-argument schedule not applied"
    bad = LearningRateScheduler(lambda epoch, lr: 1)
    bad.set_model(model)
    with pytest.raises(ValueError, match="should be a float"):
        bad.on_epoch_begin(0)


def test_learning_rate_scheduler_accepts_a_registered_schedule():
    sched = LearningRateScheduler({"ExponentialDecay": {"initial_learning_rate": 0.1, "decay_steps": 1,
                                                        "decay_rate": 0.5}})
    model = FakeModel(0.1)
    sched.set_model(model)
    sched.on_epoch_begin(3)
    assert math.isclose(get_learning_rate(model.optimizer), 0.1 * 0.5 ** 3, rel_tol=1e-6), \
        "a schedule named in the spec should give schedule(epoch)"


def test_terminate_on_nan_matches_keras():
    spec = GOLDEN["terminate_on_nan"]
    model, stream = FakeModel(), io.StringIO()
    cb = TerminateOnNaN()
    cb.set_model(model)
    cb.set_stream(stream)
    cb.on_train_batch_end(0, {"loss": 1.0})
    assert model.stop_training == spec["stopped_after_finite"], "a finite loss must not stop training"
    cb.on_train_batch_end(1, {"loss": float("nan")})
    assert model.stop_training == spec["stopped"] and stream.getvalue() == spec["text"], "NaN loss handling"
    with pytest.raises(RuntimeError, match="NaN or Inf loss"):
        raising = TerminateOnNaN(raise_error=True)
        raising.set_model(model)
        raising.on_train_batch_end(2, {"loss": float("inf")})


@pytest.mark.parametrize("case", sorted(GOLDEN["csv"]), ids=sorted(GOLDEN["csv"]))
def test_csv_logger_matches_keras(case, tmp_path):
    spec = GOLDEN["csv"][case]
    path = tmp_path / "log.csv"
    logger = CSVLogger(path, **spec["kwargs"])
    logger.on_train_begin()
    for epoch, logs in enumerate(spec["logs"]):
        logger.on_epoch_end(epoch, dict(logs))
    logger.on_train_end()
    appender = CSVLogger(path, append=True, **spec["kwargs"])
    appender.on_train_begin()
    appender.on_epoch_end(0, dict(spec["logs"][0]))
    appender.on_train_end()
    with open(path, newline="") as f:
        text = f.read()
    assert text == spec["text"], f"CSV differs:\n{text!r}\nexpected\n{spec['text']!r}"


def test_monitor_auto_mode_uses_metric_direction():
    """'auto' minimises loss, maximises accuracy (a compiled metric), and refuses unknown names."""
    model = mlp(DATA["weights"], metrics=["accuracy", "mae"])
    model.fit(DATA["x"], DATA["y"], epochs=1, verbose=0)
    for monitor, op in (("val_loss", "less"), ("val_accuracy", "greater")):
        cb = EarlyStopping(monitor=monitor)
        cb.set_model(model)
        cb._set_monitor_op()
        assert cb.monitor_op.__name__ == f"_{op}", f"auto mode for {monitor} should be {op}"
    cb = EarlyStopping(monitor="val_mae")
    cb.set_model(model)
    with pytest.raises(ValueError, match="automatically determine"):
        cb._set_monitor_op()


def test_early_stopping_warns_on_missing_monitor():
    cb = EarlyStopping(monitor="val_nope", mode="min")
    cb.set_model(FakeModel())
    with pytest.warns(UserWarning, match="val_nope"):
        cb.on_epoch_end(0, {"loss": 1.0})


def test_model_checkpoint_validates_filepath():
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        ModelCheckpoint("x.h5", save_weights_only=True)
    with pytest.raises(ValueError, match=r"\.keras"):
        ModelCheckpoint("x.txt")
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("x.keras", save_freq="batch")


def test_model_checkpoint_in_fit_calls_model_save(tmp_path, monkeypatch):
    """A real fit: ModelCheckpoint formats {epoch} and calls Model.save, which delegates to kspec.io."""
    import kspec.io
    saved = []
    monkeypatch.setattr(kspec.io, "save_model", lambda model, path: saved.append(os.fspath(path)))
    model = mlp(DATA["weights"])
    pattern = str(tmp_path / "sub" / "m-{epoch:02d}.h5")
    model.fit(DATA["x"], DATA["y"], epochs=2, batch_size=8, verbose=0, callbacks=[ModelCheckpoint(pattern)])
    assert saved == [pattern.format(epoch=1), pattern.format(epoch=2)], f"saved {saved}"
    assert (tmp_path / "sub").is_dir(), "the checkpoint folder should be created"


def test_model_checkpoint_save_freq_batches(monkeypatch):
    model = FakeModel()
    cb = ModelCheckpoint("b-{epoch}-{batch}.weights.h5", save_weights_only=True, save_freq=3)
    cb.set_model(model)
    cb.on_train_begin()
    for epoch in range(2):
        cb.on_epoch_begin(epoch)
        for batch in range(4):
            cb.on_train_batch_end(batch, {"loss": 1.0})
        cb.on_epoch_end(epoch, {"loss": 1.0})
    assert [p for _, p in model.saved] == ["b-1-3.weights.h5", "b-2-2.weights.h5"], f"saved {model.saved}"


def test_callbacks_read_the_spec_form():
    from kspec.serialization import deserialize
    cb = deserialize("callback", {"EarlyStopping": {"patience": 2, "monitor": "loss"}})
    assert isinstance(cb, EarlyStopping) and cb.patience == 2 and cb.monitor == "loss", "spec form"


def test_callback_list_order_and_params():
    """User callbacks first, then History, then the progress logger; params reach every callback."""
    user = Callback()
    cbs = CallbackList([user], add_history=True, add_progbar=True, model=None, verbose=1, epochs=3, steps=7)
    kinds = [type(cb) for cb in cbs]
    assert kinds == [Callback, History, ProgbarLogger], f"order {kinds}"
    assert user.params == {"verbose": 1, "epochs": 3, "steps": 7}, f"params {user.params}"
    given = History()
    cbs = CallbackList([given], add_history=True, add_progbar=False)
    assert list(cbs) == [given], "a History in the list must be reused, not doubled"


def test_batch_logs_are_lazy():
    """Batch-end logs are computed only for callbacks that want them, once per batch."""
    computed = []

    def logs():
        computed.append(1)
        return {"loss": np.float32(0.5), "b": 1.0}

    quiet = Callback()
    seen = []

    class Wants(Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(logs)

    CallbackList([quiet]).on_train_batch_end(0, logs)
    assert computed == [], "logs computed although no callback wants them"
    CallbackList([quiet, Wants(), Wants()]).on_train_batch_end(0, logs)
    assert computed == [1], f"logs computed {len(computed)} times for one batch"
    assert seen[0] is seen[1] and list(seen[0]) == ["b", "loss"], "callbacks share one sorted logs dict"
    assert type(seen[0]["loss"]) is float, "log values are Python floats"


def test_lambda_callback_receives_logs():
    got = []
    cb = LambdaCallback(on_epoch_end=lambda epoch, logs: got.append((epoch, sorted(logs))),
                        on_train_batch_end=lambda batch, logs: got.append(("batch", batch, sorted(logs))))
    model = mlp(DATA["weights"])
    model.fit(DATA["x"], DATA["y"], epochs=1, batch_size=16, verbose=0, callbacks=[cb])
    assert got == [("batch", 0, ["loss"]), (0, ["loss"])], f"lambda hooks got {got}"


def test_pythonify_logs_rounds_to_float32_and_sorts():
    logs = pythonify_logs({"b": 0.1, "a": np.float32(2.5), "nested": {"c": 1}, "s": "text"})
    assert list(logs) == ["a", "b", "c", "s"], f"keys {list(logs)}"
    assert logs["b"] == float(np.float32(0.1)) and logs["s"] == "text", "values are float32-rounded floats"


def test_messages_go_to_the_fit_stream(capsys):
    model = mlp(DATA["weights"])
    stream = io.StringIO()
    cb = EarlyStopping(monitor="loss", min_delta=10, patience=0, verbose=1)
    model.fit(DATA["x"], DATA["y"], epochs=5, batch_size=8, verbose=0, callbacks=[cb], stream=stream)
    assert stream.getvalue() == "Epoch 2: early stopping\n", f"stream got {stream.getvalue()!r}"
    assert capsys.readouterr().out == "", "nothing may go to stdout"
