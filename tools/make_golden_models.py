"""Golden fixtures for the model floor: summary tables, fit/evaluate/predict numbers and progress output.

Run with the reference venv (Keras 3.15.1, JAX backend):

    KERAS_BACKEND=jax COLUMNS=80 python tools/make_golden_models.py

Writes tests/fixtures/models_summary.json, models_fit.json and models_progress.json. Progress output is
captured with a fake clock: a ``Tick`` callback advances it by scripted amounts at each batch start, so
the same script replays byte for byte in kspec.
"""
import contextlib
import io
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ["COLUMNS"] = "80"

import numpy as np  # noqa: E402
from _golden import pyify  # noqa: E402
import keras  # noqa: E402
from keras.src.utils import progbar as keras_progbar  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")


def _floats(a):
    return np.asarray(a, dtype=np.float32).astype(float).tolist()


# -- summaries -------------------------------------------------------------------------------------------

def _summary(model, **kwargs):
    out = []
    model.summary(print_fn=out.append, **kwargs)
    assert len(out) == 1
    return out[0]


def make_summaries():
    L = keras.layers
    cases = {}
    keras.backend.clear_session()
    mlp = keras.Sequential([keras.Input((8,)), L.Dense(16, activation="relu"), L.Dense(3, activation="softmax")])
    cases["mlp"] = {"text": _summary(mlp)}
    cases["mlp_line_length_60"] = {"text": _summary(mlp, line_length=60)}
    cases["mlp_line_length_120"] = {"text": _summary(mlp, line_length=120)}
    cases["mlp_positions"] = {"text": _summary(mlp, line_length=70, positions=[0.3, 0.7, 1.0])}

    keras.backend.clear_session()
    drop = keras.Sequential([keras.Input((4,)), L.Dense(4, name="hidden"), L.Dropout(0.5), L.Dense(3)],
                            name="with_dropout")
    cases["dropout"] = {"text": _summary(drop)}

    keras.backend.clear_session()
    long = keras.Sequential([
        keras.Input((5, 8)),
        L.Dense(6, name="a_rather_long_layer_name_that_wraps"),
        L.Dense(6, name="x" * 45),
        L.Dense(2, name="spaced name with many words in it"),
    ], name="long_names")
    cases["long_names"] = {"text": _summary(long)}

    keras.backend.clear_session()
    big = keras.Sequential([keras.Input((784,)), L.Dense(1000, name="wide"), L.Dense(1000, name="wide_2"),
                            L.Dense(10, name="out")], name="big")
    big.layers[1].trainable = False
    cases["big_frozen"] = {"text": _summary(big)}

    os.environ["COLUMNS"] = "120"
    cases["show_trainable_range_120"] = {"text": _summary(big, show_trainable=True, layer_range=["wide_2", "out"]),
                                         "columns": 120}
    os.environ["COLUMNS"] = "80"

    keras.backend.clear_session()
    unbuilt = keras.Sequential([L.Dense(3, name="d")], name="unbuilt")
    cases["unbuilt"] = {"text": _summary(unbuilt)}

    keras.backend.clear_session()
    trained = keras.Sequential([keras.Input((4,)), L.Dense(5, activation="tanh", name="h"),
                                L.Dense(3, activation="softmax", name="p")], name="trained")
    trained.compile(keras.optimizers.SGD(0.1, momentum=0.9), "categorical_crossentropy")
    cases["compiled_unbuilt_optimizer"] = {"text": _summary(trained)}
    rs = np.random.RandomState(0)
    x = rs.rand(8, 4).astype("float32")
    y = np.eye(3, dtype="float32")[rs.randint(0, 3, 8)]
    trained.fit(x, y, epochs=1, verbose=0)
    cases["trained_sgd_momentum"] = {"text": _summary(trained)}

    keras.backend.clear_session()
    plain = keras.Sequential([keras.Input((4,)), L.Dense(2, name="d")], name="plain_sgd")
    plain.compile(keras.optimizers.SGD(0.1), "mse")
    plain.fit(x, y[:, :2], epochs=1, verbose=0)
    cases["trained_sgd_plain"] = {"text": _summary(plain)}
    return cases


# -- fit / evaluate / predict ------------------------------------------------------------------------------

def _data():
    rs = np.random.RandomState(42)
    x = rs.randn(16, 4).astype("float32")
    labels = rs.randint(0, 3, 16)
    y = np.eye(3, dtype="float32")[labels]
    sw = rs.uniform(0.5, 1.5, 16).astype("float32")
    xv = rs.randn(6, 4).astype("float32")
    yv = np.eye(3, dtype="float32")[rs.randint(0, 3, 6)]
    swv = rs.uniform(0.5, 1.5, 6).astype("float32")
    w = [rs.uniform(-0.8, 0.8, (4, 5)).astype("float32"), rs.uniform(-0.1, 0.1, 5).astype("float32"),
         rs.uniform(-0.8, 0.8, (5, 3)).astype("float32"), rs.uniform(-0.1, 0.1, 3).astype("float32")]
    return {"x": x, "y": y, "sw": sw, "xv": xv, "yv": yv, "swv": swv, "weights": w}


def _mlp(weights, metrics=None, weighted_metrics=None, l2=0.01, dropout=None):
    keras.backend.clear_session()
    L = keras.layers
    layers = [keras.Input((4,)),
              L.Dense(5, activation="tanh", kernel_regularizer=keras.regularizers.L2(l2) if l2 else None)]
    if dropout:
        layers.append(L.Dropout(dropout))
    layers.append(L.Dense(3, activation="softmax"))
    model = keras.Sequential(layers)
    model.set_weights(weights)
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "categorical_crossentropy", metrics=metrics,
                  weighted_metrics=weighted_metrics)
    return model


class Recorder(keras.callbacks.Callback):
    """Records the hook calls (name, index, sorted log keys)."""

    def __init__(self):
        super().__init__()
        self.calls = []

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


FIT_CALLBACKS = {
    # name -> factory; tests/test_models_fit.py builds the same callbacks with kspec
    "lr_halving": lambda: keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr),
    "early_stop_restore": lambda: keras.callbacks.EarlyStopping(monitor="loss", min_delta=0.5, patience=1,
                                                                restore_best_weights=True),
    "plateau": lambda: keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=0,
                                                         min_delta=10.0),
}


def _fit_case(d, fit_kwargs, seed=None, metrics=("accuracy", "mae"), weighted_metrics=None, extra=False,
              callbacks=()):
    model = _mlp(d["weights"], metrics=list(metrics) if metrics else None,
                 weighted_metrics=list(weighted_metrics) if weighted_metrics else None)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    kwargs = dict(fit_kwargs)
    for key in ("sample_weight",):
        if kwargs.get(key) == "sw":
            kwargs[key] = d["sw"]
    if kwargs.get("validation_data") == "val2":
        kwargs["validation_data"] = (d["xv"], d["yv"])
    elif kwargs.get("validation_data") == "val3":
        kwargs["validation_data"] = (d["xv"], d["yv"], d["swv"])
    rec = Recorder()
    history = model.fit(d["x"], d["y"], verbose=0, callbacks=[FIT_CALLBACKS[c]() for c in callbacks] + [rec],
                        **kwargs)
    out = {"fit_kwargs": fit_kwargs, "seed": seed, "metrics": list(metrics) if metrics else None,
           "callbacks": list(callbacks),
           "weighted_metrics": list(weighted_metrics) if weighted_metrics else None,
           "history": pyify(history.history), "history_keys": list(history.history),
           "params": pyify(history.params), "epochs": list(history.epoch),
           "weights": [_floats(w) for w in model.get_weights()], "calls": rec.calls}
    if extra:
        out["evaluate_list"] = pyify(model.evaluate(d["x"], d["y"], batch_size=5, verbose=0))
        out["evaluate_dict"] = pyify(model.evaluate(d["x"], d["y"], batch_size=5, verbose=0,
                                                     return_dict=True))
        out["evaluate_sw"] = pyify(model.evaluate(d["x"], d["y"], batch_size=5, verbose=0,
                                                   sample_weight=d["sw"], return_dict=True))
        out["evaluate_tail"] = pyify(model.evaluate(d["x"][12:], d["y"][12:], batch_size=5, verbose=0,
                                                     return_dict=True))
        out["predict"] = _floats(model.predict(d["x"], batch_size=5, verbose=0))
        out["test_on_batch"] = pyify(model.test_on_batch(d["x"][:6], d["y"][:6]))
        out["train_on_batch"] = pyify(model.train_on_batch(d["x"][:6], d["y"][:6], sample_weight=d["sw"][:6],
                                                            return_dict=True))
        out["weights_after_train_on_batch"] = [_floats(w) for w in model.get_weights()]
        rec2 = Recorder()
        model.evaluate(d["x"], d["y"], batch_size=7, verbose=0, callbacks=[rec2])
        model.predict(d["x"], batch_size=7, verbose=0, callbacks=[rec2])
        out["eval_predict_calls"] = rec2.calls
    return out


def make_fit():
    d = _data()
    cases = {
        "split_sample_weight": _fit_case(d, {"batch_size": 5, "epochs": 2, "validation_split": 0.25,
                                             "shuffle": False, "sample_weight": "sw"}, extra=True),
        "shuffle_seed": _fit_case(d, {"batch_size": 4, "epochs": 3, "shuffle": True}, seed=7),
        "shuffle_batch": _fit_case(d, {"batch_size": 5, "epochs": 2, "shuffle": "batch"}, seed=11),
        "class_weight": _fit_case(d, {"batch_size": 6, "epochs": 2, "shuffle": False,
                                      "class_weight": {0: 1.0, 1: 2.0, 2: 0.5}, "validation_data": "val2"}),
        "validation_data_3": _fit_case(d, {"batch_size": 8, "epochs": 2, "shuffle": False,
                                           "validation_data": "val3", "validation_batch_size": 4}),
        "weighted_metrics": _fit_case(d, {"batch_size": 5, "epochs": 1, "shuffle": False, "sample_weight": "sw",
                                          "validation_split": 0.25},
                                      metrics=["accuracy"], weighted_metrics=["accuracy"]),
        "initial_epoch": _fit_case(d, {"batch_size": 8, "epochs": 3, "initial_epoch": 1, "shuffle": False},
                                   metrics=None),
        "steps_per_epoch": _fit_case(d, {"batch_size": 6, "epochs": 3, "steps_per_epoch": 2, "shuffle": False},
                                     metrics=None),
        "validation_freq": _fit_case(d, {"batch_size": 8, "epochs": 3, "shuffle": False, "validation_split": 0.25,
                                         "validation_freq": 2}, metrics=None),
        "lr_scheduler_and_plateau": _fit_case(d, {"batch_size": 8, "epochs": 3, "shuffle": False,
                                                  "validation_split": 0.25}, callbacks=["lr_halving", "plateau"]),
        "early_stopping_restore": _fit_case(d, {"batch_size": 4, "epochs": 6, "shuffle": False},
                                            metrics=None, callbacks=["early_stop_restore"]),
    }
    data = {k: (_floats(v) if k != "weights" else [_floats(w) for w in v]) for k, v in d.items()}
    return {"data": data, "cases": cases}


# -- progress output -----------------------------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.t = 1000.0

    def time(self):
        return self.t


class Tick(keras.callbacks.Callback):
    """Advances the fake clock by the next scripted delta at each batch start."""

    def __init__(self, clock, deltas):
        super().__init__()
        self.clock, self.deltas, self.i = clock, list(deltas), 0

    def _tick(self):
        self.clock.t += self.deltas[self.i % len(self.deltas)]
        self.i += 1

    def on_train_batch_begin(self, batch, logs=None): self._tick()
    def on_test_batch_begin(self, batch, logs=None): self._tick()
    def on_predict_batch_begin(self, batch, logs=None): self._tick()

    # Overriding the batch-end hooks turns off Keras's asynchronous callback dispatch, so the progress
    # bar reads the clock right after each batch (as kspec does), not from a worker thread.
    def on_train_batch_end(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


@contextlib.contextmanager
def _captured(clock):
    buf = io.StringIO()
    real_time = keras_progbar.time
    keras_progbar.time = clock
    old = sys.stdout
    sys.stdout = buf
    try:
        yield buf
    finally:
        sys.stdout = old
        keras_progbar.time = real_time


DELTAS = [0.03125, 0.015625, 0.0625, 0.0078125, 0.03125, 0.25, 0.0009765625, 0.015625]


def _progress_case(d, method, kwargs, deltas=DELTAS, metrics=("accuracy", "mae")):
    model = _mlp(d["weights"], metrics=list(metrics) if metrics else None)
    clock = Clock()
    tick = Tick(clock, deltas)
    call = dict(kwargs)
    with _captured(clock) as buf:
        if method == "fit":
            model.fit(d["x"], d["y"], callbacks=[tick], shuffle=False, **call)
        elif method == "evaluate":
            model.evaluate(d["x"], d["y"], callbacks=[tick], **call)
        else:
            model.predict(d["x"], callbacks=[tick], **call)
    return {"method": method, "kwargs": kwargs, "deltas": list(deltas),
            "metrics": list(metrics) if metrics else None, "text": buf.getvalue()}


def _progbar_case(target, script, verbose=1, interval=0.05):
    """Drive keras.utils.Progbar directly: script = [(clock, current, values, finalize), ...]."""
    clock = Clock()
    with _captured(clock) as buf:
        bar = keras_progbar.Progbar(target, verbose=verbose, interval=interval, stateless_metrics=set())
        for t, current, values, finalize in script:
            clock.t = t
            bar.update(current, list(values.items()), finalize=finalize)
    return {"target": target, "verbose": verbose, "script": script, "text": buf.getvalue()}


def make_progress():
    d = _data()
    cases = {
        "fit_v1_two_epochs_split": _progress_case(d, "fit", {"batch_size": 2, "epochs": 2, "verbose": 1,
                                                               "validation_split": 0.25}),
        "fit_v1_one_epoch": _progress_case(d, "fit", {"batch_size": 1, "epochs": 1, "verbose": 1}),
        "fit_v1_slow": _progress_case(d, "fit", {"batch_size": 4, "epochs": 1, "verbose": 1},
                                      deltas=[5.0, 70.0, 4000.0, 2.0]),
        "fit_auto_no_metrics": _progress_case(d, "fit", {"batch_size": 8, "epochs": 2}, metrics=None),
        "fit_v2_two_epochs_split": _progress_case(d, "fit", {"batch_size": 2, "epochs": 2, "verbose": 2,
                                                               "validation_split": 0.25}),
        "fit_v2_slow": _progress_case(d, "fit", {"batch_size": 4, "epochs": 1, "verbose": 2},
                                      deltas=[1.5, 2.5]),
        "evaluate_v1": _progress_case(d, "evaluate", {"batch_size": 3, "verbose": 1}),
        "evaluate_v2": _progress_case(d, "evaluate", {"batch_size": 3, "verbose": 2}),
        "predict_v1": _progress_case(d, "predict", {"batch_size": 3, "verbose": 1}),
        "predict_v2": _progress_case(d, "predict", {"batch_size": 5, "verbose": 2}),
    }
    bars = {
        "values_formats": _progbar_case(5, [
            (1000.5, 1, {"loss": 0.5, "neg": -0.25, "tiny": 0.0001, "zero": 0.0}, False),
            (1000.52, 2, {"loss": 0.4, "neg": -0.0001, "tiny": 0.002, "zero": 0.0}, False),
            (1001.0, 3, {"loss": 0.3, "neg": -2.5, "tiny": 1e-9, "zero": 0.0}, False),
            (1003.0, 5, {"loss": 0.25, "neg": -1.5, "tiny": 12345.678, "zero": 0.0, "new": 3.0}, True),
        ]),
        "values_formats_v2": _progbar_case(5, [
            (1003.0, 5, {"loss": 0.25, "neg": -1.5, "tiny": 1e-9, "zero": 0.0, "neg_small": -0.0001}, True),
        ], verbose=2),
        "width_shrinks": _progbar_case(120, [
            (1000.1, 1, {"a_long_metric_name": 123456.789}, False),
            (1000.2, 2, {"a_long_metric_name": 1.0}, False),
            (1060.2, 60, {"a_long_metric_name": 0.5}, False),
            (4000.0, 100, {"a_long_metric_name": 0.5}, False),
            (4100.0, 120, {"a_long_metric_name": 0.25}, True),
        ]),
        "unknown_target": _progbar_case(None, [
            (1000.1, 1, {"loss": 1.0}, False),
            (1000.3, 7, {"loss": 0.5}, False),
            (1000.4, 9, {"loss": 0.25}, True),
        ]),
    }
    return {"cases": cases, "progbar": bars}


# -- callbacks driven by scripted logs -------------------------------------------------------------------------

class FakeModel:
    """What the monitoring callbacks touch: stop_training, weights, an optimizer, save hooks."""

    def __init__(self, lr=0.1):
        self.stop_training = False
        self.optimizer = keras.optimizers.SGD(lr)
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


def _drive(callback, sequence, lr=0.1):
    """Run epochs with the scripted logs until the callback stops training; the model's one weight holds
    the epoch number, so restored weights name the epoch they came from."""
    model = FakeModel(lr)
    callback.set_model(model)
    callback.set_params({"verbose": 0, "epochs": len(sequence), "steps": 1})
    buf = io.StringIO()
    old = sys.stdout
    sys.stdout = buf
    epochs, lrs, logs_seen = [], [], []
    try:
        callback.on_train_begin()
        for epoch, logs in enumerate(sequence):
            callback.on_epoch_begin(epoch)
            model.weights = [np.full(1, epoch, "float32")]
            logs = dict(logs)
            callback.on_epoch_end(epoch, logs)
            epochs.append(epoch)
            lrs.append(float(np.asarray(model.optimizer.learning_rate)))
            logs_seen.append(pyify(logs))
            if model.stop_training:
                break
        callback.on_train_end()
    finally:
        sys.stdout = old
    state = {k: pyify(getattr(callback, k)) for k in ("wait", "best", "stopped_epoch", "best_epoch",
                                                         "cooldown_counter") if hasattr(callback, k)}
    return {"epochs": epochs, "lrs": lrs, "logs": logs_seen, "saved": model.saved,
            "final_weight": float(model.weights[0][0]), "state": state, "text": buf.getvalue()}


def make_callbacks():
    C = keras.callbacks
    losses = [1.0, 0.9, 0.95, 0.89, 0.91, 0.92, 0.5, 0.6, 0.7, 0.8]
    accs = [0.5, 0.6, 0.55, 0.61, 0.65, 0.64, 0.7, 0.69, 0.68, 0.67]
    seq = [{"loss": l + 0.1, "val_loss": l, "accuracy": a, "val_accuracy": a - 0.05} for l, a in zip(losses, accs)]
    es = {
        "default": {},
        "patience2": {"patience": 2, "verbose": 1},
        "min_delta": {"patience": 1, "min_delta": 0.05, "verbose": 1},
        "max_mode": {"monitor": "val_accuracy", "mode": "max", "patience": 1},
        "restore": {"patience": 2, "restore_best_weights": True, "verbose": 1},
        "baseline": {"patience": 3, "baseline": 0.92, "verbose": 1},
        "baseline_unmet": {"patience": 2, "baseline": 0.3, "restore_best_weights": True},
        "start_from_epoch": {"patience": 1, "start_from_epoch": 3, "restore_best_weights": True},
    }
    rlrop = {
        "patience1": {"patience": 1, "factor": 0.5, "verbose": 1},
        "cooldown": {"patience": 1, "factor": 0.5, "cooldown": 2, "verbose": 1},
        "min_lr": {"patience": 0, "factor": 0.2, "min_lr": 0.01, "min_delta": 0.0},
        "max_mode": {"monitor": "val_accuracy", "mode": "max", "patience": 1, "factor": 0.1},
    }
    ckpt = {
        "every_epoch": {"filepath": "ck/m-{epoch:02d}-{val_loss:.2f}.keras", "verbose": 1},
        "best_only": {"filepath": "ck/best.keras", "save_best_only": True, "verbose": 1},
        "best_weights_max": {"filepath": "ck/e{epoch}.weights.h5", "save_best_only": True,
                             "save_weights_only": True, "monitor": "val_accuracy", "mode": "max"},
        "threshold": {"filepath": "ck/t.h5", "save_best_only": True, "initial_value_threshold": 0.9,
                      "verbose": 1},
    }
    out = {"sequence": seq, "early_stopping": {}, "reduce_lr": {}, "checkpoint": {}}
    for name, kwargs in es.items():
        out["early_stopping"][name] = {"kwargs": kwargs, **_drive(C.EarlyStopping(**kwargs), seq)}
    for name, kwargs in rlrop.items():
        out["reduce_lr"][name] = {"kwargs": kwargs, **_drive(C.ReduceLROnPlateau(**kwargs), seq)}
    for name, kwargs in ckpt.items():
        out["checkpoint"][name] = {"kwargs": kwargs, **_drive(C.ModelCheckpoint(**kwargs), seq)}
    sched = C.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch % 2 else lr, verbose=1)
    out["scheduler"] = _drive(sched, seq[:5])
    nan = C.TerminateOnNaN()
    buf = io.StringIO()
    old, sys.stdout = sys.stdout, buf
    model = FakeModel()
    nan.set_model(model)
    try:
        nan.on_train_batch_end(0, {"loss": 1.0})
        stopped_early = model.stop_training
        nan.on_train_batch_end(1, {"loss": float("nan")})
    finally:
        sys.stdout = old
    out["terminate_on_nan"] = {"stopped_after_finite": stopped_early, "stopped": model.stop_training,
                               "text": buf.getvalue()}
    out["csv"] = {}
    import tempfile
    for name, kwargs in {"plain": {}, "semicolon": {"separator": ";"}, "no_val": {}}.items():
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "log.csv")
            logger = C.CSVLogger(path, **kwargs)
            logs = [{k: v for k, v in l.items() if name != "no_val" or not k.startswith("val_")} for l in seq[:3]]
            logger.on_train_begin()
            for epoch, l in enumerate(logs):
                logger.on_epoch_end(epoch, dict(l))
            logger.on_train_end()
            appender = C.CSVLogger(path, append=True, **kwargs)
            appender.on_train_begin()
            appender.on_epoch_end(0, dict(logs[0]))
            appender.on_train_end()
            with open(path, newline="") as f:
                out["csv"][name] = {"kwargs": kwargs, "logs": logs, "text": f.read()}
    return out


def main():
    os.makedirs(FIXTURES, exist_ok=True)
    outputs = {"models_summary.json": make_summaries(), "models_fit.json": make_fit(),
               "models_progress.json": make_progress(), "models_callbacks.json": make_callbacks()}
    for name, payload in outputs.items():
        with open(os.path.join(FIXTURES, name), "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print("wrote", name)


if __name__ == "__main__":
    main()
