"""Issue 20: closed, full and broken standard streams, full disks, damaged run files and Ctrl-C.

Stream cases run the real command line in a subprocess whose fds are set up before it starts (a closed
fd, /dev/full, a pipe whose reader is already gone), so nothing depends on timing.
"""
import errno
import json
import os
import resource
import signal
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from kspec import run
from kspec.cli.main import cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART = os.path.join(REPO, "configs", "quickstart.yaml")
IRIS_TEST = os.path.join(REPO, "configs", "data", "iris_test.csv")
ENV = dict(os.environ, PYTHONPATH=REPO)


def kspec(args, close=(), stdout=None, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, preexec=None):
    def setup():
        for fd in close:
            os.close(fd)
        if preexec:
            preexec()
    return subprocess.run([sys.executable, "-m", "kspec", *args], stdin=stdin, stdout=stdout, stderr=stderr,
                          env=ENV, preexec_fn=setup, timeout=120)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("streams")
    cwd = os.getcwd()
    os.chdir(os.path.join(REPO, "configs"))
    try:
        return run.train(QUICKSTART, run_dir=str(folder / "iris"), overrides=["fit.epochs=2"], verbose=0).run_dir
    finally:
        os.chdir(cwd)


RUN_FILES = ["config.yaml", "history.csv", "metrics.json", "model.h5", "preprocessing.json", "run.json"]


@pytest.mark.parametrize("how", ["closed", "full"])
def test_training_survives_a_closed_or_full_stderr(tmp_path, how):
    folder = tmp_path / "r"
    args = ["train", QUICKSTART, "--set", "fit.epochs=2", "--run-dir", str(folder)]
    if how == "closed":
        result = kspec(args, close=(2,), stdout=subprocess.PIPE, stderr=None)
    else:
        with open("/dev/full", "w") as full:
            result = kspec(args, stdout=subprocess.PIPE, stderr=full)
    assert result.returncode == 0
    assert json.loads(result.stdout)["run_dir"] == str(folder)
    assert sorted(os.listdir(folder)) == RUN_FILES


def test_closed_stdout_is_a_clear_error_and_keeps_the_run(tmp_path):
    folder = tmp_path / "r"
    result = kspec(["train", QUICKSTART, "-q", "--set", "fit.epochs=1", "--run-dir", str(folder)], close=(1,))
    assert result.returncode == 1
    assert result.stderr.decode().strip() == \
        "kspec: error: <stdout>: standard output is closed, so the results cannot be written"
    assert sorted(os.listdir(folder)) == RUN_FILES, "the finished run is kept"


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "npy", "npz"])
def test_full_stdout_is_a_clear_error(trained, fmt):
    with open("/dev/full", "w") as full:
        result = kspec(["predict", trained, IRIS_TEST, "--output-format", fmt], stdout=full)
    assert result.returncode == 1
    assert result.stderr.decode().strip() == \
        "kspec: error: <stdout>: cannot write the results (No space left on device)"


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "npy", "npz"])
def test_broken_pipe_on_every_output_format(trained, fmt):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before kspec writes a byte
    try:
        result = kspec(["predict", trained, IRIS_TEST, "--output-format", fmt], stdout=write_end)
    finally:
        os.close(write_end)
    assert result.returncode == 141
    text = result.stderr.decode()
    assert "broken pipe" in text and "Traceback" not in text and "requested" not in text


def test_closed_stdin_is_a_clear_error(trained):
    result = kspec(["predict", trained, "-"], close=(0,), stdin=None, stdout=subprocess.PIPE)
    assert result.returncode == 1
    assert "standard input is closed" in result.stderr.decode()


def test_full_disk_during_the_model_write_leaves_nothing_behind(tmp_path):
    folder = tmp_path / "r"

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, resource.RLIM_INFINITY))
    result = kspec(["train", QUICKSTART, "-q", "--set", "fit.epochs=1", "--run-dir", str(folder)],
                   preexec=small_files)
    assert result.returncode == 1
    assert result.stderr.decode().strip() == f"kspec: error: {folder}/model.h5: cannot write the file (File too large)"
    assert not folder.exists() and os.listdir(tmp_path) == [], "no run folder, no temporary file"


def test_a_failed_json_write_removes_its_temporary_file(tmp_path, monkeypatch):
    from kspec import run_files

    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(run_files.os, "replace", disk_full)
    with pytest.raises(OSError, match="cannot write the file .No space left on device.") as info:
        run_files.write_json(str(tmp_path / "metrics.json"), {"loss": 1.0})
    assert info.value.filename == str(tmp_path / "metrics.json")
    assert os.listdir(tmp_path) == [], "no metrics.json.tmp"


@pytest.mark.parametrize("content, message", [
    ('{"x": ', "damaged: not valid JSON"), ("[1, 2]", "damaged: not a kspec preprocessing state"),
    ('{"x": {"steps": 5}}', "damaged: not a kspec preprocessing state"),
])
def test_damaged_preprocessing_json_is_a_clear_error(trained, tmp_path, content, message):
    import h5py
    import shutil
    folder = tmp_path / "run"
    shutil.copytree(trained, folder)
    with h5py.File(folder / "model.h5", "r+") as f:  # a model file without its own copy of the state
        stored = json.loads(f.attrs["kspec_spec"])
        stored["preprocessing"] = None
        f.attrs["kspec_spec"] = json.dumps(stored)
        del f.attrs["kspec_checksum"]
    (folder / "preprocessing.json").write_text(content)
    result = CliRunner().invoke(cli, ["predict", str(folder), IRIS_TEST])
    assert result.exit_code == 1 and message in result.stderr and "unexpected" not in result.stderr


def test_strict_predict_exits_1_on_overflowing_predictions(tmp_path):
    from kspec.io import save_model
    from kspec.layers import Dense, InputLayer
    from kspec.models import Sequential
    model = Sequential([InputLayer(shape=(2,)), Dense(2)])
    model.layers[0].weights[0].assign(np.full((2, 2), 1e38, np.float32))
    save_model(model, tmp_path / "m.h5")
    rows = "1,1\n1e10,1e10\n0,0\n"
    result = CliRunner().invoke(cli, ["predict", str(tmp_path / "m.h5"), "-"], input=rows)
    assert result.exit_code == 0
    assert "1 of 3 predictions are NaN or infinite (the model overflows): samples 1 (0-based)" in result.stderr
    assert len(result.stdout.splitlines()) == 3, "the predictions are still written"
    result = CliRunner().invoke(cli, ["predict", str(tmp_path / "m.h5"), "-", "--strict"], input=rows)
    assert result.exit_code == 1 and len(result.stdout.splitlines()) == 3


# -- Ctrl-C ----------------------------------------------------------------------------------------------
INTERRUPT_AT_IMPORT = """
import builtins, os, signal, sys
sys.argv = ["kspec", *sys.argv[2:]]
real_import, target = builtins.__import__, sys.argv.pop(1)
def interrupting_import(name, *args, **kwargs):
    if name == target:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C exactly when kspec starts importing this module
    return real_import(name, *args, **kwargs)
builtins.__import__ = interrupting_import
from kspec.cli.main import main
main()
"""


@pytest.mark.parametrize("module, args", [
    ("click", ["--help"]),                                   # while the command line loads
    ("numpy", ["validate", QUICKSTART]),                     # while a command loads the engine
])
def test_ctrl_c_at_start_up_exits_130_without_a_traceback(module, args):
    result = subprocess.run([sys.executable, "-c", INTERRUPT_AT_IMPORT, "-", module, *args], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
    assert result.returncode == 130
    assert result.stderr.decode().strip() == "kspec: interrupted"


def test_ctrl_c_during_a_model_save_is_honoured(tmp_path, monkeypatch):
    from kspec.io import h5utils, save_model
    from kspec.layers import Dense, InputLayer
    from kspec.models import Sequential
    model = Sequential([InputLayer(shape=(4,)), Dense(8), Dense(2)])
    path = tmp_path / "m.h5"
    save_model(model, path)
    before = path.read_bytes()
    calls = []
    original_write = h5utils.write_array

    def interrupted_write(group, name, value):
        if not calls:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C arrives in the middle of the save
        calls.append(name)
        return original_write(group, name, value)
    monkeypatch.setattr("kspec.io.h5_legacy.write_array", interrupted_write)
    with pytest.raises(KeyboardInterrupt):
        save_model(model, path)
    assert len(calls) < 4, "honoured at the next dataset, not after the whole file"
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.h5"], "old file kept, no temporary"


def test_ctrl_c_while_predict_writes_its_output_exits_130(trained, monkeypatch):
    from kspec.cli.commands import predict

    def interrupted(header, rows, stream):
        os.kill(os.getpid(), signal.SIGINT)
        stream.write("\n".join(",".join(map(str, row)) for row in rows))
    monkeypatch.setattr(predict, "_write_csv", interrupted)
    result = CliRunner().invoke(cli, ["predict", trained, IRIS_TEST])
    assert result.exit_code == 130 and "interrupted" in result.stderr
