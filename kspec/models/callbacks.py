"""Callbacks: the hooks fit/evaluate/predict call, the CallbackList that fans them out, History, and the
simple callbacks (TerminateOnNaN, CSVLogger, LearningRateScheduler, LambdaCallback). The callbacks that
watch a metric (EarlyStopping, ModelCheckpoint, ReduceLROnPlateau) live in ``monitor_callbacks``.

Keras 3 semantics (keras/src/callbacks/*.py): logs reach the callbacks with sorted keys and float values
(float32-rounded, as Keras's are); one dict is shared by all callbacks of one hook call, so a callback
that adds a key (``learning_rate``) shows it to the callbacks after it, History included.
"""
import collections
import csv
import functools
import math
import os
import sys

from kspec import backend
from kspec.registry import register


class Callback:
    """Base class: every hook is a no-op. ``self.model`` and ``self.params`` are set by the CallbackList.

    Batch-end logs cost a little to compute, so they are only computed for callbacks that use them:
    those that override a batch-end hook (see :meth:`wants_batch_logs`), or, lazily, those with
    ``lazy_batch_logs = True``, which receive a zero-argument function returning the logs.
    Messages go to :meth:`print_msg`, i.e. the stream the model was given (stderr by default).

    Args:
        verbose: 1: print a message when the callback acts; 0: silent.
    """

    lazy_batch_logs = False
    model = None
    params = None

    def __init__(self):
        self.model = None
        self.params = None
        self._default_stream = None

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def set_stream(self, stream):
        self._default_stream = stream

    def _stream(self):
        return getattr(self, "stream", None) or getattr(self, "_default_stream", None) or sys.stderr

    def print_msg(self, message, line_break=True):
        stream = self._stream()
        stream.write(f"{message}\n" if line_break else message)
        stream.flush()

    def wants_batch_logs(self, batch):
        """Whether this callback needs the logs of batch-end hooks (default: it overrides one)."""
        return _overrides_batch_end(type(self))

    def get_state(self):
        """What a checkpoint must keep of this callback to resume exactly (None: nothing)."""
        return None

    def set_state(self, state):
        """Put back what :meth:`get_state` returned (called after ``on_train_begin`` on resume)."""

    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass
    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass


_BATCH_END_HOOKS = ("on_batch_end", "on_train_batch_end", "on_test_batch_end", "on_predict_batch_end")


@functools.lru_cache(maxsize=None)
def _overrides_batch_end(cls):
    return any(getattr(cls, hook) is not getattr(Callback, hook) for hook in _BATCH_END_HOOKS)


def pythonify_logs(logs):
    """A new dict with sorted keys (nested dicts flattened) and float32-rounded float values."""
    result = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            result.update(pythonify_logs(value))
            continue
        try:
            value = float(backend.f32(value))
        except (TypeError, ValueError):
            pass
        result[key] = value
    return result


class _LazyLogs:
    """The batch logs, computed (and pythonified) on the first call, then shared."""

    def __init__(self, compute):
        self._compute = compute
        self._logs = None

    def __call__(self):
        if self._logs is None:
            self._logs = pythonify_logs(self._compute())
        return self._logs


class History(Callback):
    """Records epoch logs: ``history.history[key]`` lists, ``history.epoch`` and ``history.params``."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def get_state(self):
        return {"history": {k: list(v) for k, v in self.history.items()}, "epoch": list(self.epoch)}

    def set_state(self, state):
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.epoch = list(state["epoch"])
        if self.model is not None:
            self.model.history = self

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self


class CallbackList:
    """Fans each hook out to the callbacks in order: the user's, then History, then the progress logger
    (each added only if asked for and not already given), as Keras's CallbackList does.

    ``params`` (``verbose``, ``epochs``, ``steps``) reach every callback through ``set_params``; batch
    logs may be given as a zero-argument function, computed only if a callback needs them.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, stream=None,
                 **params):
        from kspec.models.progbar import ProgbarLogger
        self.callbacks = list(callbacks or [])
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if self.history is None and add_history:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        self.model = model
        self.params = params
        for cb in self.callbacks:
            cb.set_stream(stream)
            if model is not None:
                cb.set_model(model)
            if params:
                cb.set_params(params)
        if model is not None and self.history is not None:
            model.history = self.history

    def __iter__(self):
        return iter(self.callbacks)

    def _call(self, hook, *args, logs=None):
        logs = pythonify_logs(logs)
        for cb in self.callbacks:
            getattr(cb, hook)(*args, logs)

    def _batch_end(self, hook, batch, logs):
        lazy = _LazyLogs(logs if callable(logs) else (lambda: logs))
        for cb in self.callbacks:
            if cb.lazy_batch_logs:
                getattr(cb, hook)(batch, lazy)
            elif cb.wants_batch_logs(batch):
                getattr(cb, hook)(batch, lazy())
            else:
                getattr(cb, hook)(batch, None)

    def on_train_begin(self, logs=None): self._call("on_train_begin", logs=logs)
    def on_train_end(self, logs=None): self._call("on_train_end", logs=logs)
    def on_epoch_begin(self, epoch, logs=None): self._call("on_epoch_begin", epoch, logs=logs)
    def on_epoch_end(self, epoch, logs=None): self._call("on_epoch_end", epoch, logs=logs)
    def on_test_begin(self, logs=None): self._call("on_test_begin", logs=logs)
    def on_test_end(self, logs=None): self._call("on_test_end", logs=logs)
    def on_predict_begin(self, logs=None): self._call("on_predict_begin", logs=logs)
    def on_predict_end(self, logs=None): self._call("on_predict_end", logs=logs)
    def on_train_batch_begin(self, batch, logs=None): self._call("on_train_batch_begin", batch, logs=logs)
    def on_test_batch_begin(self, batch, logs=None): self._call("on_test_batch_begin", batch, logs=logs)
    def on_predict_batch_begin(self, batch, logs=None): self._call("on_predict_batch_begin", batch, logs=logs)
    def on_train_batch_end(self, batch, logs=None): self._batch_end("on_train_batch_end", batch, logs)
    def on_test_batch_end(self, batch, logs=None): self._batch_end("on_test_batch_end", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        for cb in self.callbacks:  # {"outputs": arrays}: nothing to compute or round
            cb.on_predict_batch_end(batch, logs)


# -- learning-rate access shared by the schedulers --------------------------------------------------------

def get_learning_rate(optimizer):
    """The optimizer's current learning rate as Keras reads it: float32, schedules evaluated at
    ``iterations``."""
    lr = optimizer.learning_rate
    value = lr(optimizer.iterations) if callable(lr) else lr
    return float(backend.f32(value))


def set_learning_rate(optimizer, value):
    if callable(optimizer.learning_rate):
        raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its "
                        "`learning_rate` constructor argument, hence its learning rate is not settable.")
    optimizer.learning_rate = float(value)


# -- simple callbacks --------------------------------------------------------------------------------------

@register("callback")
class TerminateOnNaN(Callback):
    """Stop training when a batch loss is NaN or infinite (``raise_error=True``: raise at once).

    Args:
        raise_error: Whether to stop with an error instead of ending training quietly.
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and (math.isnan(loss) or math.isinf(loss)):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                                   "Terminating training immediately.")
            self.print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


@register("callback")
class CSVLogger(Callback):
    """Write each epoch's logs as a CSV row: ``epoch`` then the log keys, sorted (val_* columns are
    added when the first epoch has none).

    Args:
        filename: The CSV file the epoch logs are written to (in the run folder when relative).
        separator: The column separator.
        append: Whether to append to an existing file instead of overwriting it.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        mode = "w"
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, "r", encoding="utf-8") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        if self.csv_file and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")
        self.writer = None
        self.keys = None

    def get_state(self):
        """The file's text so far: a resumed run rewrites it, so rows of epochs after the checkpoint
        (written before an interruption) are dropped and none is written twice."""
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.flush()
        text = None
        if os.path.exists(self.filename):
            with open(self.filename, encoding="utf-8", newline="") as f:
                text = f.read()
        return {"text": text, "keys": self.keys, "append_header": self.append_header}

    def set_state(self, state):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        with open(self.filename, "w", encoding="utf-8", newline="") as f:
            f.write(state["text"] or "")
        self.csv_file = open(self.filename, "a", newline="", encoding="utf-8")
        self.keys = state["keys"]
        self.append_header = state["append_header"] and not state["text"]
        self.writer = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys.extend([f"val_{k}" for k in self.keys])
        if not self.writer:
            class Dialect(csv.excel):
                delimiter = self.sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, dialect=Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, _csv_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


def _csv_value(value):
    if isinstance(value, str) or getattr(value, "ndim", None) == 0:
        return value
    if isinstance(value, collections.abc.Iterable):
        return f'"[{", ".join(map(str, value))}]"'
    return value


@register("callback")
class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch start to ``schedule(epoch, lr)`` (or ``schedule(epoch)``);
    adds ``learning_rate`` to the epoch logs. ``schedule`` may also name a registered schedule.

    Args:
        schedule: The learning rate per epoch: a learning-rate schedule evaluated at the epoch index.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if isinstance(schedule, (str, dict)):
            from kspec.serialization import deserialize
            schedule = deserialize("schedule", schedule)
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        try:
            lr = self.schedule(epoch, get_learning_rate(optimizer))
        except TypeError:  # the old one-argument API
            lr = self.schedule(epoch)
        if isinstance(lr, bool) or not isinstance(lr, (float, backend.xp.floating)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr}")
        set_learning_rate(optimizer, lr)
        if self.verbose > 0:
            self.print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = get_learning_rate(self.model.optimizer)


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        self._wants_batch_logs = any(k.endswith("batch_end") and v for k, v in hooks.items())
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)

    def wants_batch_logs(self, batch):
        return self._wants_batch_logs


# The monitoring callbacks register on import (the registry imports this module for kind "callback");
# importing them here also makes ``kspec.models.callbacks`` the one place to get any callback from.
from kspec.models.monitor_callbacks import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau  # noqa: E402,F401
import kspec.models.backup_callbacks  # noqa: E402,F401  (BackupAndRestore registers)
