"""Keras 3's progress output (reference §9): the in-place bar (verbose=1) and one line per epoch (2).

Byte for byte what ``keras.utils.Progbar`` and ``keras.callbacks.ProgbarLogger`` print, written to the
stream the caller hands in. The clock is ``time.perf_counter`` (read at call time, so tests can patch it).

Where verbose=1 draws depends on the progress mode (``$KSPEC_PROGRESS``, set by ``--progress``):
``bar`` is Keras's in-place bar; ``lines`` writes verbose=2's line at the end of each epoch, plus one every
``LINE_INTERVAL`` seconds during a long one, with no control codes (for log files and CI); ``none`` is
silent; ``auto`` (the default) is ``bar`` on a terminal or in a notebook and ``lines`` anywhere else.
``NO_COLOR`` (set and not empty) drops the bar's colour codes.
"""
import math
import os
import re
import sys
import time

from kspec.models.callbacks import Callback


def format_value(value, use_abs=True):
    """``.4f`` above 1e-3 (by absolute value in the bar, by signed value in the epoch line), else ``.4e``."""
    return f"{value:.4f}" if (abs(value) if use_abs else value) > 1e-3 else f"{value:.4e}"


def format_time_per_unit(seconds, unit_name="step"):
    """`` 12ms/step``: seconds (also for exactly 0), milliseconds or microseconds, with a leading space."""
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f" {seconds * 1000.0:.0f}ms/{unit_name}"
    return f" {seconds * 1000000.0:.0f}us/{unit_name}"


def format_eta(eta):
    """``h:mm:ss`` above an hour, ``m:ss`` above a minute, else ``Ns`` (truncated)."""
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


PROGRESS_ENV = "KSPEC_PROGRESS"
PROGRESS_MODES = ("auto", "bar", "lines", "none")
LINE_INTERVAL = 10.0  # seconds between two lines within one epoch, in lines mode
_ANSI = re.compile("\x1b\\[[0-9;]*m")


def progress_mode(stream):
    """``bar``, ``lines`` or ``none``: ``$KSPEC_PROGRESS``, or for ``auto`` what ``stream`` is."""
    mode = os.environ.get(PROGRESS_ENV, "auto").strip().lower()
    if mode in ("bar", "lines", "none"):
        return mode
    isatty = getattr(stream, "isatty", None)
    try:
        terminal = bool(callable(isatty) and isatty())
    except (OSError, ValueError):
        terminal = False
    return "bar" if terminal or "ipykernel" in sys.modules else "lines"


def colors_wanted():
    """False when ``NO_COLOR`` is set to a non-empty value (no-color.org)."""
    return not os.environ.get("NO_COLOR")


def _dynamic_display(stream):
    isatty = getattr(stream, "isatty", None)
    return bool((callable(isatty) and isatty()) or "ipykernel" in sys.modules or "posix" in sys.modules
                or "PYCHARM_HOSTED" in os.environ)


class Progbar:
    """A progress bar over ``target`` steps (None if unknown), drawn on ``stream``.

    ``update(current, values, finalize)`` takes the values as a dict or as a zero-argument function
    returning one; the function is only called when a redraw is due (verbose=1 redraws at most every
    ``interval`` seconds, plus the final one; verbose=2 draws only the final line). Values are shown as
    given (Keras's ProgbarLogger passes running means, so nothing is averaged here).
    """

    def __init__(self, target, stream, width=20, verbose=1, interval=0.05, unit_name="step"):
        self.target = target
        self.stream = stream
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self._dynamic = _dynamic_display(stream)
        self.mode = progress_mode(stream)
        self._colors = colors_wanted()
        self._values = {}  # name -> latest value, in order of first appearance
        self._start = time.perf_counter()
        self._last_update = -math.inf
        self._last_line = self._start
        self._time_after_first_step = None
        self._prev_total_width = 0

    def update(self, current, values=None, finalize=None):
        if finalize is None:
            finalize = False if self.target is None else current >= self.target
        now = time.perf_counter()
        time_per_unit = self._estimate_step_duration(current, now)
        if self.mode == "none":
            return
        if self.verbose == 1 and self.mode == "lines":
            if finalize and self.target or not finalize and now - self._last_line >= LINE_INTERVAL:
                self._record(values)
                self._write(self._line_message(current, now, time_per_unit))
                self._last_line = now
        elif self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._record(values)
            message = self._bar_message(current, now, time_per_unit, finalize)
            self._write(message if self._colors else _ANSI.sub("", message))
        elif self.verbose == 2 and finalize and self.target:
            self._record(values)
            self._write(self._line_message(current, now, time_per_unit))
        self._last_update = now

    def _record(self, values):
        if callable(values):
            values = values()
        for key, value in (values or {}).items():
            self._values[key] = value

    def _write(self, message):
        self.stream.write(message)
        self.stream.flush()

    def _bar_message(self, current, now, time_per_unit, finalize):
        message = ("\b" * self._prev_total_width + "\r") if self._dynamic else "\n"
        special = 0  # characters of ANSI codes, which take no room on screen
        if self.target:
            digits = int(math.log10(self.target)) + 1
            bar = f"\x1b[1m{current:>{digits}d}/{self.target}\x1b[0m "
            special += 8
            done = int(self.width * float(current) / self.target)
            if done > 0:
                bar += f"\x1b[32m{'━' * done}\x1b[0m"
                special += 9
            bar += f"\x1b[37m{'━' * (self.width - done)}\x1b[0m"
            special += 9
        else:
            bar = "%7d/Unknown" % current
        if self.target and not finalize:
            info = f" \x1b[1m{format_eta(time_per_unit * (self.target - current))}\x1b[0m"
        else:
            info = f" \x1b[1m{now - self._start:.0f}s\x1b[0m"
        special += 8
        info += format_time_per_unit(time_per_unit, self.unit_name)
        for key, value in self._values.items():
            info += f" - {key}: {format_value(float(value), use_abs=True)}"
        total_width = len(bar) + len(info) - special
        message += bar + info
        if self._prev_total_width > total_width:
            message += " " * (self._prev_total_width - total_width)
        if finalize:
            message += "\n"
        self._prev_total_width = total_width
        return message

    def _line_message(self, current, now, time_per_unit):
        if self.target:
            digits = int(math.log10(self.target)) + 1
            info = f"{current:>{digits}d}/{self.target} - {now - self._start:.0f}s"
        else:
            info = f"{current}/Unknown - {now - self._start:.0f}s"
        info += " -" + format_time_per_unit(time_per_unit, self.unit_name)
        for key, value in self._values.items():
            info += f" - {key}: {format_value(float(value), use_abs=False)}"
        return info + "\n"

    def _estimate_step_duration(self, current, now):
        """Seconds per step, leaving out the first step once a later one is known."""
        if not current:
            return 0
        if self._time_after_first_step is not None and current > 1:
            per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_unit


class ProgbarLogger(Callback):
    """Prints "Epoch i/E" (verbose != 0 and epochs > 1) and the bar or epoch line, as Keras does.

    Inside fit, the validation pass is silent. Batch logs arrive as a lazy function (see
    ``lazy_batch_logs``), resolved only when the bar redraws.
    """

    lazy_batch_logs = True

    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params["verbose"]
        self.verbose = 1 if verbose == "auto" else verbose
        if progress_mode(self.stream or self._stream()) == "none":
            self.verbose = 0
        self.epochs = params["epochs"]
        self.target = params["steps"]

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset_progbar()
            self._maybe_init_progbar()

    def on_predict_begin(self, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()
        if self.verbose and self.epochs > 1:
            self.print_msg(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._update_progbar(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update_progbar(batch, None)  # predictions are not shown

    def on_epoch_end(self, epoch, logs=None):
        self._finalize_progbar(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs=None):
        self._finalize_progbar(logs)

    def _reset_progbar(self):
        self.seen = 0
        self.progbar = None

    def _maybe_init_progbar(self):
        if self.progbar is None:
            self.progbar = Progbar(self.target, self.stream or self._stream(), verbose=self.verbose)

    def _update_progbar(self, batch, logs):
        self._maybe_init_progbar()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, logs, finalize=False)

    def _finalize_progbar(self, logs):
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, logs or {}, finalize=True)
