"""Callbacks: the hooks fit/evaluate/predict call, History, and the progress-bar logger."""
import math

from kspec.registry import register


class Callback:
    """Base class. ``logs`` for batch hooks may be a zero-argument function: call :func:`resolve`."""

    model = None
    params = None

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def wants_batch_logs(self, batch):
        """Whether on_*_batch_end needs the logs this time (computing them costs a little)."""
        return False

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


class History(Callback):
    """Records epoch logs: ``history.history[key]`` lists, ``history.epoch`` and ``history.params``."""

    def __init__(self):
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


class CallbackList:
    """Fans each hook out to the callbacks, adding History and the progress logger as Keras does."""

    def __init__(self, callbacks=None, model=None, history=None, verbose=0, epochs=1, steps=None,
                 stream=None, mode="train"):
        self.callbacks = list(callbacks or [])
        if verbose:
            from kspec.models.progbar import ProgbarLogger
            self.callbacks.append(ProgbarLogger(stream=stream, verbose=verbose, mode=mode))
        if history is not None:
            self.callbacks.append(history)
        params = {"verbose": verbose, "epochs": epochs, "steps": steps}
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)

    def _batch(self, hook, batch, logs):
        resolved = None
        for cb in self.callbacks:
            if callable(logs) and cb.wants_batch_logs(batch):
                resolved = resolved if resolved is not None else logs()
                getattr(cb, hook)(batch, resolved)
            else:
                getattr(cb, hook)(batch, None if callable(logs) else logs)

    def on_train_begin(self, logs=None):
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs=None):
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        for cb in self.callbacks:
            cb.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._batch("on_train_batch_end", batch, logs)

    def on_test_begin(self, logs=None):
        for cb in self.callbacks:
            cb.on_test_begin(logs)

    def on_test_end(self, logs=None):
        for cb in self.callbacks:
            cb.on_test_end(logs)

    def on_test_batch_begin(self, batch, logs=None):
        for cb in self.callbacks:
            cb.on_test_batch_begin(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._batch("on_test_batch_end", batch, logs)

    def on_predict_begin(self, logs=None):
        for cb in self.callbacks:
            cb.on_predict_begin(logs)

    def on_predict_end(self, logs=None):
        for cb in self.callbacks:
            cb.on_predict_end(logs)

    def on_predict_batch_begin(self, batch, logs=None):
        for cb in self.callbacks:
            cb.on_predict_batch_begin(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._batch("on_predict_batch_end", batch, logs)


@register("callback")
class TerminateOnNaN(Callback):
    """Stop training when the loss becomes NaN or infinite."""

    def wants_batch_logs(self, batch):
        return True

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.model.stop_training = True
