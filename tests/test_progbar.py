"""Progress output byte for byte against Keras 3.15.1 (reference §9), replayed with a fake clock:
tests/fixtures/models_progress.json holds what Keras printed for the same scripts."""
import io

import numpy as np
import pytest

from _golden_models import FakeClock, Tick, arrays, load, mlp
from kspec.models.progbar import Progbar, format_eta, format_time_per_unit, format_value

PROGRESS = load("models_progress.json")


@pytest.fixture(autouse=True)
def keras_terminal_bar(monkeypatch):
    """The transcripts are Keras's terminal rendering: the bar mode, with colours (see test_progress_modes)."""
    monkeypatch.setenv("KSPEC_PROGRESS", "bar")
    monkeypatch.delenv("NO_COLOR", raising=False)

DATA = arrays(load("models_fit.json")["data"])


@pytest.mark.parametrize("case", sorted(PROGRESS["progbar"]), ids=sorted(PROGRESS["progbar"]))
def test_progbar_matches_keras(monkeypatch, case):
    """Progbar driven directly: throttling, ETA formats, value formats, right padding, unknown target."""
    spec = PROGRESS["progbar"][case]
    clock = FakeClock().install(monkeypatch)
    stream = io.StringIO()
    bar = Progbar(spec["target"], stream, verbose=spec["verbose"])
    for t, current, values, finalize in spec["script"]:
        clock.t = t
        bar.update(current, values, finalize=finalize)
    assert stream.getvalue() == spec["text"], f"progbar {case!r}:\n{stream.getvalue()!r}\nexpected\n{spec['text']!r}"


@pytest.mark.parametrize("case", sorted(PROGRESS["cases"]), ids=sorted(PROGRESS["cases"]))
def test_progress_output_matches_keras(monkeypatch, case):
    """fit/evaluate/predict at verbose 1, 2 and 'auto', with the clock advanced at each batch start."""
    spec = PROGRESS["cases"][case]
    clock = FakeClock().install(monkeypatch)
    model = mlp(DATA["weights"], metrics=spec["metrics"])
    stream = io.StringIO()
    tick = Tick(clock, spec["deltas"])
    kwargs = dict(spec["kwargs"], callbacks=[tick], stream=stream)
    if spec["method"] == "fit":
        model.fit(DATA["x"], DATA["y"], shuffle=False, **kwargs)
    elif spec["method"] == "evaluate":
        model.evaluate(DATA["x"], DATA["y"], **kwargs)
    else:
        model.predict(DATA["x"], **kwargs)
    got = stream.getvalue()
    assert got == spec["text"], f"{case}: output differs from Keras:\n{got!r}\nexpected\n{spec['text']!r}"


def test_lazy_values_are_computed_only_when_drawn(monkeypatch):
    """A redraw is throttled to 0.05 s: the logs function must not run for skipped updates."""
    clock = FakeClock().install(monkeypatch)
    calls = []

    def logs():
        calls.append(clock.t)
        return {"loss": 1.0}

    bar = Progbar(100, io.StringIO(), verbose=1)
    for step in range(1, 101):
        clock.t += 1 / 64
        bar.update(step, logs, finalize=step == 100)
    # drawn at step 1, then every 4th step (4/64 s >= 0.05 s): 1, 5, ..., 97, then the final step 100
    assert len(calls) == 26, f"logs computed {len(calls)} times, expected 26 (throttled)"


def test_verbose2_computes_values_once_per_epoch(monkeypatch):
    FakeClock().install(monkeypatch)
    calls = []
    bar = Progbar(10, io.StringIO(), verbose=2)
    for step in range(1, 11):
        bar.update(step, lambda: calls.append(1) or {"loss": 0.5}, finalize=step == 10)
    assert len(calls) == 1, f"verbose=2 should compute logs for the final line only, computed {len(calls)}"


def test_fit_progress_goes_to_the_stream_not_stdout(capsys):
    model = mlp(DATA["weights"], metrics=["accuracy"])
    stream = io.StringIO()
    model.fit(DATA["x"], DATA["y"], epochs=2, batch_size=8, verbose=1, stream=stream)
    out = capsys.readouterr()
    assert out.out == "" and out.err == "", "progress must only go to the given stream"
    assert "Epoch 2/2" in stream.getvalue(), "the stream should hold the progress output"


def test_fit_verbose0_prints_nothing():
    model = mlp(DATA["weights"])
    stream = io.StringIO()
    model.fit(DATA["x"], DATA["y"], epochs=3, verbose=0, stream=stream)
    model.evaluate(DATA["x"], DATA["y"], verbose=0, stream=stream)
    model.predict(DATA["x"], verbose=0, stream=stream)
    assert stream.getvalue() == "", f"verbose=0 printed {stream.getvalue()!r}"


@pytest.mark.parametrize("value, use_abs, text", [
    (0.5, True, "0.5000"), (-0.5, True, "-0.5000"), (-0.5, False, "-5.0000e-01"), (0.0, True, "0.0000e+00"),
    (0.001, True, "1.0000e-03"), (0.0011, False, "0.0011"), (12345.678, True, "12345.6780")],
    ids=["pos", "neg_abs", "neg_line", "zero", "threshold", "above", "large"])
def test_format_value(value, use_abs, text):
    assert format_value(value, use_abs) == text, f"format_value({value}, {use_abs})"


@pytest.mark.parametrize("seconds, text", [(0, " 0s/step"), (2.4, " 2s/step"), (0.0123, " 12ms/step"),
                                           (0.000123, " 123us/step")], ids=["zero", "s", "ms", "us"])
def test_format_time_per_unit(seconds, text):
    assert format_time_per_unit(seconds) == text, f"time per step {seconds}"


@pytest.mark.parametrize("eta, text", [(59.9, "59s"), (61, "1:01"), (3601, "1:00:01"), (7322.5, "2:02:02")],
                         ids=["s", "m", "h", "h2"])
def test_format_eta(eta, text):
    assert format_eta(eta) == text, f"eta {eta}"


def test_progbar_redraw_cost_is_small(monkeypatch):
    """The per-batch cost of the bar when no redraw is due stays tiny (a clock read and a compare)."""
    import time as real_time
    clock_now = real_time.perf_counter
    bar = Progbar(10 ** 6, io.StringIO(), verbose=1, interval=3600)
    bar.update(1, {"loss": 1.0})
    start = clock_now()
    for step in range(2, 20002):
        bar.update(step, lambda: {"loss": np.float32(1.0)})
    per_call = (clock_now() - start) / 20000
    assert per_call < 20e-6, f"a throttled update costs {per_call * 1e6:.1f} us"
