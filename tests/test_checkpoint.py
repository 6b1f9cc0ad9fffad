"""Checkpoints and exact resume through the Python API (issue 15): BackupAndRestore, the non-finite
guard, and the callbacks' states."""
import os
import warnings

import numpy as np
import pytest

from kspec import backend
from kspec.layers import Dense, Dropout
from kspec.models import Sequential
from kspec.models.backup_callbacks import BackupAndRestore
from kspec.models.callbacks import (Callback, CSVLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint,
                                    ReduceLROnPlateau)
from kspec.models.checkpoint import CHECKPOINT_FILE, PREVIOUS_FILE, read_checkpoint, write_checkpoint
from kspec.models.nan_guard import NonFiniteError
from kspec.optimizers.schedules import ExponentialDecay

RNG = np.random.default_rng(0)
X = RNG.normal(size=(100, 4)).astype(np.float32)
Y = np.eye(3, dtype=np.float32)[RNG.integers(0, 3, 100)]


def _model(optimizer="adam", seed=1):
    backend.set_seed(seed)
    model = Sequential([Dense(16, activation="relu"), Dropout(0.3, seed=5), Dropout(0.2),
                        Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return model


class _Interrupt(Callback):
    """Raises KeyboardInterrupt before batch ``batch`` of epoch ``epoch``."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch = (epoch, batch), None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


def _callbacks(folder, save_freq):
    return [BackupAndRestore(folder, save_freq=save_freq),
            ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5),
            EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
            CSVLogger(os.path.join(folder, "log.csv"))]


def _fit(model, callbacks, **kwargs):
    args = dict(batch_size=16, epochs=6, validation_split=0.2, verbose=0)
    args.update(kwargs)
    return model.fit(X, Y, callbacks=callbacks, **args)


@pytest.mark.parametrize("save_freq, stop_at, fit_args", [
    ("epoch", (3, 2), {}),
    (2, (3, 3), {}),
    (3, (3, 1), {"steps_per_epoch": 5, "batch_size": 8}),  # a pass of 10 batches spans two epochs
    (1, (1, 2), {"shuffle": "batch"}),
], ids=["epoch-checkpoints", "step-checkpoints", "steps-per-epoch", "batch-shuffle"])
def test_an_interrupted_fit_resumes_bit_for_bit(tmp_path, save_freq, stop_at, fit_args):
    """Weights, history and the CSV log of interrupt + resume equal an uninterrupted fit's exactly."""
    ref_dir, dir_ = tmp_path / "ref", tmp_path / "run"
    ref_dir.mkdir(), dir_.mkdir()
    model = _model()
    ref = _fit(model, _callbacks(str(ref_dir), save_freq), **fit_args)
    ref_weights = model.get_weights()
    interrupted = _callbacks(str(dir_), save_freq)
    with pytest.raises(KeyboardInterrupt):
        _fit(_model(), interrupted + [_Interrupt(*stop_at)], **fit_args)
    interrupted[-1].csv_file.close()  # the interrupted fit never reached on_train_end
    assert os.path.exists(dir_ / CHECKPOINT_FILE), "a checkpoint was written before the interruption"
    model = _model()
    history = _fit(model, _callbacks(str(dir_), save_freq), **fit_args)
    for i, (a, b) in enumerate(zip(ref_weights, model.get_weights())):
        assert np.array_equal(a, b), f"weight {i} differs after resuming"
    assert history.history == ref.history, "the resumed history differs"
    assert history.epoch == ref.epoch
    assert (dir_ / "log.csv").read_text() == (ref_dir / "log.csv").read_text(), "CSVLogger rows differ"
    assert not os.path.exists(dir_ / CHECKPOINT_FILE), "delete_checkpoint removes the backup at the end"


def test_early_stopped_checkpoint_resumes_to_the_end(tmp_path):
    """A checkpoint of the epoch where EarlyStopping stopped: a new fit runs no epoch and restores the
    best weights, as the uninterrupted fit did."""
    early = dict(monitor="loss", patience=0, min_delta=10.0, restore_best_weights=True)
    model = _model()
    ref = _fit(model, [EarlyStopping(**early)], epochs=10)
    ref_weights = model.get_weights()
    assert len(ref.epoch) < 10, "the spec stops early"
    saver = BackupAndRestore(str(tmp_path), delete_checkpoint=False)
    model = _model()
    _fit(model, [saver, EarlyStopping(**early)], epochs=10)
    model = _model()
    history = _fit(model, [BackupAndRestore(str(tmp_path)), EarlyStopping(**early)], epochs=10)
    assert history.history == ref.history
    assert all(np.array_equal(a, b) for a, b in zip(ref_weights, model.get_weights()))


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    path = str(tmp_path / CHECKPOINT_FILE)
    write_checkpoint(path, {"format": "kspec-checkpoint/1", "n": 1}, {"a": np.arange(3)})

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError):
        write_checkpoint(path, {"format": "kspec-checkpoint/1", "n": 2}, {"a": np.arange(4)})
    meta, arrays = read_checkpoint(path)
    assert meta["n"] == 1 and arrays["a"].tolist() == [0, 1, 2], "the old checkpoint is intact"
    assert os.listdir(tmp_path) == [CHECKPOINT_FILE], "no temporary file is left"


def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path):
    saver = BackupAndRestore(str(tmp_path), double_checkpoint=True, delete_checkpoint=False)
    model = _model()
    _fit(model, [saver], epochs=3)
    assert os.path.exists(tmp_path / PREVIOUS_FILE)
    (tmp_path / CHECKPOINT_FILE).write_bytes(b"damaged")
    meta, _ = BackupAndRestore(str(tmp_path), double_checkpoint=True).load_latest()
    assert meta["epoch"] == 2, "the previous backup (after epoch 2) is used"


@pytest.mark.parametrize("kwargs, message", [
    ({"backup_dir": ""}, "Empty `backup_dir`"),
    ({"backup_dir": "x", "save_freq": 0}, "save_freq"),
    ({"backup_dir": "x", "save_freq": "batch"}, "save_freq"),
], ids=["empty-dir", "zero-freq", "bad-freq"])
def test_backup_and_restore_checks_its_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BackupAndRestore(**kwargs)


def test_a_huge_learning_rate_stops_with_the_first_bad_layer():
    backend.set_seed(0)
    model = Sequential([Dense(16), Dense(3)])
    model.compile(optimizer={"SGD": {"learning_rate": 1e6}}, loss="mse")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(NonFiniteError) as info:
            model.fit(X, Y, batch_size=16, epochs=3, verbose=0)
    e = info.value
    assert e.epoch == 1 and e.batch >= 2, f"epoch {e.epoch} batch {e.batch}"
    assert "layer 'dense" in e.where and "learning rate" in e.cause, e.message
    assert f"epoch {e.epoch}, batch {e.batch}" in e.message
    assert e.batch_data["x"].shape == (16, 4), "the failing batch comes with the error"
    assert all(np.isfinite(w).all() for w in model.get_weights()), "the weights stay the last finite ones"


def test_terminate_on_nan_false_trains_on():
    backend.set_seed(0)
    model = Sequential([Dense(16), Dense(3)])
    model.compile(optimizer={"SGD": {"learning_rate": 1e6}}, loss="mse")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        history = model.fit(X, Y, batch_size=16, epochs=2, verbose=0, terminate_on_nan=False)
    assert len(history.epoch) == 2 and not np.isfinite(history.history["loss"][-1])


def test_non_finite_weights_are_named():
    """The re-run names the first layer whose output is non-finite, and that its weights already were."""
    from kspec.models.nan_guard import diagnose

    backend.set_seed(0)
    model = Sequential([Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="mse")
    model(X[:2])
    model.weights[0].assign(np.full((4, 1), np.inf, np.float32))
    with np.errstate(all="ignore"):
        where, cause = diagnose(model, X[:8], Y[:8, :1], None)
    assert "layer 'dense" in where and "forward" in where, where
    assert "already NaN or inf" in cause, cause


def test_learning_rate_scheduler_takes_a_schedule_object():
    model = _model(optimizer="sgd")
    schedule = ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    history = _fit(model, [LearningRateScheduler(schedule)], epochs=3)
    assert history.history["learning_rate"] == [float(np.float32(v)) for v in (0.1, 0.05, 0.025)]


def test_model_checkpoint_formats_epoch_and_logs(tmp_path):
    pattern = str(tmp_path / "m-{epoch:02d}-{val_loss:.2f}.weights.h5")
    model = _model()
    history = _fit(model, [ModelCheckpoint(pattern, save_weights_only=True, save_best_only=True,
                                           initial_value_threshold=100.0)], epochs=2)
    names = sorted(os.listdir(tmp_path))
    assert names[0] == f"m-01-{history.history['val_loss'][0]:.2f}.weights.h5", names


def test_a_log_of_a_negative_number_in_the_loss_is_named():
    """A linear output under the poisson loss: the forward pass is finite, the loss's log is not."""
    backend.set_seed(0)
    model = Sequential([Dense(1)])
    model.compile(optimizer="sgd", loss="poisson")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(NonFiniteError) as info:
            model.fit(X * 10, np.ones((100, 1), np.float32), batch_size=16, epochs=1, verbose=0)
    assert info.value.where == "the loss (op log)", info.value.message
    assert "log of 0 or of a negative number" in info.value.cause
