"""Progress that fits where it goes: Keras's bar on a terminal, plain lines in files and pipes
(``--progress``/``$KSPEC_PROGRESS``), ``NO_COLOR``; and a whole Fashion-MNIST epoch logged to a file."""
import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from _golden_models import FakeClock
from kspec.models.progbar import LINE_INTERVAL, Progbar, progress_mode

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")  # every control character but the newline


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    monkeypatch.delenv("KSPEC_PROGRESS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


def _drive(bar, clock, steps, dt):
    for step in range(1, steps + 1):
        clock.t += dt
        bar.update(step, {"loss": 1.0 / step}, finalize=step == steps)


def test_auto_is_the_bar_on_a_terminal_and_lines_elsewhere(monkeypatch):
    assert progress_mode(Terminal()) == "bar"
    assert progress_mode(io.StringIO()) == "lines"
    monkeypatch.setenv("KSPEC_PROGRESS", "bar")
    assert progress_mode(io.StringIO()) == "bar"
    monkeypatch.setenv("KSPEC_PROGRESS", "none")
    assert progress_mode(Terminal()) == "none"


def test_lines_mode_writes_one_line_at_the_end_and_one_every_interval(monkeypatch):
    clock = FakeClock().install(monkeypatch)
    stream = io.StringIO()
    bar = Progbar(100, stream, verbose=1)
    assert bar.mode == "lines"
    _drive(bar, clock, 100, dt=LINE_INTERVAL / 20)  # 5 intervals in all
    lines = stream.getvalue().splitlines()
    assert not CONTROL.search(stream.getvalue())
    assert lines[-1] == f"100/100 - {5 * LINE_INTERVAL:.0f}s - {LINE_INTERVAL / 20 * 1000:.0f}ms/step - loss: 0.0100"
    assert [line.split("/")[0].strip() for line in lines] == ["20", "40", "60", "80", "100"]


def test_a_short_epoch_in_lines_mode_is_one_line(monkeypatch):
    clock = FakeClock().install(monkeypatch)
    stream = io.StringIO()
    _drive(Progbar(10, stream, verbose=1), clock, 10, dt=0.01)
    assert stream.getvalue().count("\n") == 1 and stream.getvalue().startswith("10/10 - 0s")


def test_bar_mode_redraws_in_place_and_no_color_drops_only_the_colours(monkeypatch):
    clock = FakeClock().install(monkeypatch)
    coloured, plain = Terminal(), Terminal()
    _drive(Progbar(30, coloured, verbose=1), clock, 30, dt=0.1)
    monkeypatch.setenv("NO_COLOR", "1")
    clock.t = 1000.0
    _drive(Progbar(30, plain, verbose=1), clock, 30, dt=0.1)
    assert "\x1b[" in coloured.getvalue() and "\x1b" not in plain.getvalue()
    assert "\r" in plain.getvalue() and "━" in plain.getvalue()
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured.getvalue()) == plain.getvalue()


def test_fit_follows_the_mode(monkeypatch):
    from kspec.layers import Dense, InputLayer
    from kspec.models import Sequential

    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")

    def fit_output(mode):
        if mode:
            monkeypatch.setenv("KSPEC_PROGRESS", mode)
        model = Sequential([InputLayer(shape=(3,)), Dense(1, activation="sigmoid")])
        model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
        stream = io.StringIO()
        model.fit(x, y, epochs=2, batch_size=8, verbose=1, stream=stream)
        return stream.getvalue()

    lines = fit_output(None)  # a StringIO is not a terminal: lines
    assert not CONTROL.search(lines)
    assert re.fullmatch(r"Epoch 1/2\n8/8 - \d+s - .*loss: .*\nEpoch 2/2\n8/8 - \d+s - .*loss: .*\n", lines)
    assert "\r" in fit_output("bar")
    assert fit_output("none") == ""


@pytest.mark.slow
def test_a_fashion_mnist_epoch_logged_to_a_file_holds_no_control_characters(tmp_path):
    from kspec.data.datasets import DataError, load_dataset
    try:
        load_dataset("fashion_mnist", "test")
    except DataError:
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    log = tmp_path / "train.log"
    env = dict(os.environ, PYTHONPATH=REPO)
    env.pop("KSPEC_PROGRESS", None)
    with open(log, "w") as err:  # stderr is a file: verbose 1 must degrade to lines
        done = subprocess.run(
            [sys.executable, "-m", "kspec", "train", os.path.join(REPO, "configs", "fashion_mlp.yaml"),
             "--run-dir", str(tmp_path / "run"), "--set", "fit.epochs=1", "--set", "fit.verbose=1",
             "--set", "model.layers.0.Dense=64", "--set", "model.layers.3.Dense=64"],
            stdout=subprocess.PIPE, stderr=err, env=env, timeout=600, text=True)
    text = log.read_text(encoding="utf-8")
    assert done.returncode == 0, text
    assert not CONTROL.search(text), repr(CONTROL.search(text))
    assert re.search(r"^210/210 - \d+s - \d+m?s/step - accuracy: .* - val_loss: \d", text, re.M), text
    assert len(text) < 5000, f"{len(text)} bytes of progress for one epoch"


def test_the_progress_option_of_train_evaluate_and_predict(tmp_path):
    from click.testing import CliRunner

    from kspec.cli.main import cli

    quickstart = os.path.join(REPO, "configs", "quickstart.yaml")
    run_dir = str(tmp_path / "iris")

    def invoke(*args):
        # CliRunner restores the variables named in env afterwards, whatever --progress sets
        result = CliRunner().invoke(cli, list(args), env={"KSPEC_PROGRESS": None}, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    lines = invoke("train", quickstart, "--run-dir", run_dir, "--set", "fit.epochs=2", "--progress", "lines")
    assert re.fullmatch(r"Epoch 1/2\n6/6 - \d+s - .*\nEpoch 2/2\n6/6 - \d+s - .*val_loss: [0-9.]+\n", lines.stderr), \
        "verbose 2 in the spec, but --progress lines asks for lines"
    bar = invoke("train", quickstart, "--run-dir", run_dir, "--set", "fit.epochs=1", "--progress", "bar")
    assert "\r" in bar.stderr and "\x1b[" in bar.stderr
    assert invoke("train", quickstart, "--run-dir", run_dir, "--set", "fit.epochs=1", "--progress", "none").stderr == ""
    evaluated = invoke("evaluate", run_dir, "--progress", "lines")
    assert re.fullmatch(r"2/2 - \d+s - .*accuracy: .*\n", evaluated.stderr) and json.loads(evaluated.stdout)
    rows = "5.7,2.8,4.5,1.3\n6.3,3.3,6.0,2.5\n"
    quiet = CliRunner().invoke(cli, ["predict", run_dir, "-", "--classes"], input=rows, env={"KSPEC_PROGRESS": None})
    assert quiet.stderr == "" and len(quiet.stdout.split()) == 2, "predict is silent unless asked"
    shown = CliRunner().invoke(cli, ["predict", run_dir, "-", "--classes", "--progress", "lines"], input=rows,
                               env={"KSPEC_PROGRESS": None})
    assert re.fullmatch(r"1/1 - \d+s - .*\n", shown.stderr) and shown.stdout == quiet.stdout


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals here")
def test_on_a_terminal_auto_draws_the_bar(tmp_path):
    """stderr on a pseudo-terminal (as in tmux or an xterm): Keras's bar, redrawn in place, in colour."""
    master, slave = os.openpty()
    env = dict(os.environ, PYTHONPATH=REPO)
    env.pop("KSPEC_PROGRESS", None)
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "kspec", "train", os.path.join(REPO, "configs", "quickstart.yaml"),
                             "--run-dir", str(tmp_path / "tty"), "--set", "fit.epochs=2", "--set", "fit.verbose=1"],
                            stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:  # read until the process closes its end of the terminal
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=300) == 0
    text = b"".join(chunks).decode("utf-8")
    assert "Epoch 2/2" in text and "\x1b[32m" in text and "━" in text
    assert "\r" in text.replace("\r\n", ""), "the bar is redrawn in place"
