"""Keras 3's progress output (reference §9): the in-place bar (verbose=1) and one line per epoch (2)."""
import time

from kspec.models.callbacks import Callback


def _format_value(v, use_abs):
    return f"{v:.4f}" if (abs(v) if use_abs else v) > 1e-3 else f"{v:.4e}"


def _format_time(seconds):
    if seconds >= 1:
        return f"{seconds:.0f}s"
    return f"{seconds * 1000:.0f}ms" if seconds >= 1e-3 else f"{seconds * 1e6:.0f}us"


def _format_tps(tps):
    if tps >= 1:
        return f"{tps:.0f}s/step"
    if tps >= 1e-3:
        return f"{tps * 1000:.0f}ms/step"
    return f"{tps * 1e6:.0f}us/step"


def _format_eta(eta):
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


class Progbar:
    """Draws progress to ``stream``. ``update(current, values, finalize)``; redraws are throttled."""

    def __init__(self, target, stream, verbose=1, interval=0.05):
        self.target, self.stream, self.verbose, self.interval = target, stream, verbose, interval
        self._start = time.perf_counter()
        self._after_first = None
        self._last_update = 0.0
        self._prev_width = 0

    def due(self, current):
        if self.verbose != 1:
            return current >= self.target
        return current >= self.target or time.perf_counter() - self._last_update >= self.interval

    def _tps(self, current, now):
        if current <= 1 or self._after_first is None:
            return (now - self._start) / max(current, 1)
        return (now - self._after_first) / (current - 1)

    def update(self, current, values=None, finalize=None):
        now = time.perf_counter()
        if current == 1 and self._after_first is None:
            self._after_first = now
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        values = values or {}
        if self.verbose == 1:
            if not finalize and now - self._last_update < self.interval:
                return
            self._last_update = now
            digits = len(str(self.target))
            head = f"\x1b[1m{current:>{digits}}/{self.target}\x1b[0m "
            done = int(20 * current / self.target) if self.target else 0
            bar = f"\x1b[32m{'━' * done}\x1b[0m\x1b[37m{'━' * (20 - done)}\x1b[0m"
            elapsed = now - self._start
            tps = self._tps(current, now)
            if finalize:
                when = f" \x1b[1m{_format_time(elapsed)}\x1b[0m"
            else:
                when = f" \x1b[1m{_format_eta(tps * (self.target - current))}\x1b[0m"
            line = head + bar + when + " " + _format_tps(tps)
            for k, v in values.items():
                line += f" - {k}: {_format_value(v, True)}"
            pad = max(self._prev_width - len(line), 0)
            self.stream.write("\b" * self._prev_width + "\r" + line + " " * pad + ("\n" if finalize else ""))
            self._prev_width = len(line)
            self.stream.flush()
        elif self.verbose == 2 and finalize:
            digits = len(str(self.target))
            elapsed = now - self._start
            line = f"{current:>{digits}}/{self.target} - {elapsed:.0f}s - {_format_tps(self._tps(current, now))}"
            for k, v in values.items():
                line += f" - {k}: {_format_value(v, False)}"
            self.stream.write(line + "\n")
            self.stream.flush()


class ProgbarLogger(Callback):
    """Prints "Epoch i/E" (when epochs > 1) and the bar or epoch line to the stream handed in."""

    def __init__(self, stream, verbose=1, mode="train"):
        self.stream, self.verbose, self.mode = stream, verbose, mode
        self.bar = None
        self._seen = 0

    def _begin(self):
        self.bar = Progbar(self.params["steps"], self.stream, self.verbose)
        self._seen = 0

    def wants_batch_logs(self, batch):
        return self.bar is not None and self.verbose == 1 and self.bar.due(batch + 1)

    def on_epoch_begin(self, epoch, logs=None):
        if self.params["epochs"] > 1:
            self.stream.write(f"Epoch {epoch + 1}/{self.params['epochs']}\n")
        self._begin()

    def on_train_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        if logs is not None and batch + 1 < self.params["steps"]:
            self.bar.update(batch + 1, logs, finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.update(self._seen, logs, finalize=True)

    def on_test_begin(self, logs=None):
        if self.mode == "test":
            self._begin()

    def on_test_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        if self.mode == "test" and logs is not None and batch + 1 < self.params["steps"]:
            self.bar.update(batch + 1, logs, finalize=False)

    def on_test_end(self, logs=None):
        if self.mode == "test":
            self.bar.update(self._seen, logs, finalize=True)

    def on_predict_begin(self, logs=None):
        self._begin()

    def on_predict_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        if self.bar.due(batch + 1) and batch + 1 < self.params["steps"]:
            self.bar.update(batch + 1, None, finalize=False)

    def on_predict_end(self, logs=None):
        self.bar.update(self._seen, None, finalize=True)
