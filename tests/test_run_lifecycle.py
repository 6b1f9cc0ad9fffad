"""A run survives interruption (issue 15): real ``kspec train`` processes stopped with SIGKILL, Ctrl-C
(SIGINT) and SIGTERM at chosen batches, then ``--resume``; NaN stops; run.json; the lock.

The trainer pauses where ``KSPEC_TEST_HOOK=pause@EPOCH:BATCH`` says and prints a marker on stderr; the
test sends the signal after reading that marker, so nothing races.
"""
import csv
import json
import os
import signal
import subprocess
import sys

import h5py
import numpy as np
import pytest

from kspec import run
from kspec.run_lifecycle import spec_differences

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(REPO, "configs", "data")
MARKER = "KSPEC_TEST_HOOK paused"

SPEC = f"""
name: lifecycle
seed: 3
data:
  train: {{path: {DATA}/iris_train.csv, label_column: species}}
  test: {{path: {DATA}/iris_test.csv, label_column: species}}
  x: [standardize]
  y: [{{one_hot: 3}}]
model:
  input_shape: [4]
  layers:
    - Dense: {{units: 16, activation: relu}}
    - Dropout: 0.3
    - Dense: {{units: 3, activation: softmax}}
compile:
  optimizer: {{Adam: {{learning_rate: 0.01}}}}
  loss: categorical_crossentropy
  metrics: [accuracy]
fit:
  batch_size: 16
  epochs: 6
  validation_split: 0.2
  callbacks:
    - ReduceLROnPlateau: {{monitor: loss, patience: 1, factor: 0.5}}
    - CSVLogger: {{filename: log.csv}}
"""


def _kspec(*args, hook=None):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("KSPEC_TEST_HOOK", None)
    if hook:
        env["KSPEC_TEST_HOOK"] = hook
    return subprocess.Popen([sys.executable, "-m", "kspec", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _finish(proc):
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def _stop_at(args, hook, signum):
    """Start ``kspec`` with a pause hook, send ``signum`` once the marker is printed, wait for the end."""
    proc = _kspec(*args, hook=hook)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if MARKER in line:
            break
    else:
        proc.wait()
        raise AssertionError(f"the hook {hook} was never reached: {''.join(seen)[-800:]}")
    proc.send_signal(signum)
    code, out, err = _finish(proc)
    return code, out, "".join(seen) + err


def _weights(folder):
    out = {}
    with h5py.File(os.path.join(folder, "model.h5"), "r") as f:
        f["model_weights"].visititems(
            lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def _read(folder, name):
    with open(os.path.join(folder, name), encoding="utf-8") as f:
        return f.read()


def _record(folder):
    return json.loads(_read(folder, "run.json"))


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "lifecycle.yaml"
    path.write_text(SPEC)
    return str(path)


@pytest.fixture(scope="module")
def reference(spec_file, tmp_path_factory):
    """The uninterrupted run, trained by the same command line."""
    folder = str(tmp_path_factory.mktemp("ref") / "run")
    code, out, err = _finish(_kspec("train", spec_file, "-q", "--run-dir", folder, "--checkpoint-every", "2"))
    assert code == 0, err
    return folder


def _assert_same_run(folder, reference):
    ref, got = _weights(reference), _weights(folder)
    assert ref.keys() == got.keys()
    for name in ref:
        assert np.array_equal(ref[name], got[name]), f"weight {name} differs from the uninterrupted run"
    for name in ("history.csv", "log.csv", "metrics.json"):
        assert _read(folder, name) == _read(reference, name), f"{name} differs from the uninterrupted run"


def test_the_reference_run_is_recorded(reference):
    record = _record(reference)
    assert record["status"] == "finished" and record["epochs_done"] == 6
    assert len(record["epoch_wall_s"]) == 6 and record["seeds"] == {"seed": 3}
    assert {"kspec", "numpy", "h5py", "PyYAML", "click", "python"} <= set(record["versions"])
    assert record["command"][1:3] == ["train", record["spec_file"]] and record["ended"]
    assert not os.path.exists(os.path.join(reference, "checkpoint.npz")), "a finished run drops its checkpoint"
    assert not os.path.exists(os.path.join(reference, "train.lock"))


def test_sigkill_mid_epoch_then_resume_is_bit_for_bit(spec_file, reference, tmp_path):
    folder = str(tmp_path / "run")
    code, _, err = _stop_at(["train", spec_file, "-q", "--run-dir", folder, "--checkpoint-every", "2"],
                            "pause@3:3", signal.SIGKILL)
    assert code == -signal.SIGKILL, err
    assert _record(folder)["status"] == "running", "a killed run is left as it was"
    evaluated = _finish(_kspec("evaluate", folder))
    assert evaluated[0] == 0 and "killed while training after 3 of 6 epochs" in evaluated[2], evaluated
    code, out, err = _finish(_kspec("train", "--resume", folder, "-q", "--checkpoint-every", "2"))
    assert code == 0, err
    assert json.loads(out)["run_dir"] == folder
    _assert_same_run(folder, reference)
    record = _record(folder)
    assert record["status"] == "finished" and len(record["sessions"]) == 2


def test_ctrl_c_keeps_a_usable_folder_and_resumes_bit_for_bit(spec_file, reference, tmp_path):
    folder = str(tmp_path / "run")
    code, _, err = _stop_at(["train", spec_file, "-q", "--run-dir", folder], "pause@2:2", signal.SIGINT)
    assert code == 130, err
    assert f"resume with: kspec train --resume {folder}" in err and "epoch 3, batch 3" in err, err
    record = _record(folder)
    assert record["status"] == "interrupted" and record["epochs_done"] == 2
    assert "log.csv" in os.listdir(folder), "the user's callback files stay"
    code, out, err = _finish(_kspec("evaluate", folder))
    assert code == 0 and "interrupted after 2 of 6 epochs" in err, err
    assert set(json.loads(out)) == {"accuracy", "loss"}
    proc = _kspec("predict", folder, os.path.join(DATA, "iris_test.csv"), "--classes")
    code, out, err = _finish(proc)
    assert code == 0 and len(out.split()) == 30 and "unfinished" in err, err
    code, out, err = _finish(_kspec("train", "--resume", folder, "-q"))
    assert code == 0, err
    _assert_same_run(folder, reference)


def test_a_second_ctrl_c_quits_without_writing_more(spec_file, tmp_path):
    folder = str(tmp_path / "run")
    proc = _kspec("train", spec_file, "-q", "--run-dir", folder, hook="pause@2:1+finishing")
    markers = 0
    for line in proc.stderr:
        if MARKER in line:
            markers += 1
            proc.send_signal(signal.SIGINT)
            if markers == 2:
                break
    code, _, err = _finish(proc)
    assert markers == 2 and code == 130, err
    assert _record(folder)["status"] == "running", "nothing more was written after the second Ctrl-C"
    assert "killed while training after 2 of 6 epochs" in _finish(_kspec("evaluate", folder))[2]


def test_sigterm_exits_143(spec_file, tmp_path):
    folder = str(tmp_path / "run")
    code, _, err = _stop_at(["train", spec_file, "-q", "--run-dir", folder], "pause@0:1", signal.SIGTERM)
    assert code == 143 and "SIGTERM" in err, err
    assert _record(folder)["status"] == "interrupted"
    code, _, err = _finish(_kspec("evaluate", folder))
    assert code == 1 and "no epoch has ended" in err and "--resume" in err, err


def test_a_second_training_into_a_running_folder_is_refused(spec_file, tmp_path):
    folder = str(tmp_path / "run")
    first = _kspec("train", spec_file, "-q", "--run-dir", folder, hook="pause@1:0")
    for line in first.stderr:
        if MARKER in line:
            break
    try:
        code, _, err = _finish(_kspec("train", "--resume", folder, "-q"))
        assert code == 1 and f"PID {first.pid}" in err, err
    finally:
        first.send_signal(signal.SIGINT)
        _finish(first)


def test_resuming_a_finished_run_says_so(reference):
    code, out, err = _finish(_kspec("train", "--resume", reference, "-q"))
    assert code == 0 and "finished" in err, err
    assert json.loads(out)["metrics"] == json.loads(_read(reference, "metrics.json"))


def test_resume_with_a_changed_spec_is_refused(reference):
    code, _, err = _finish(_kspec("train", "--resume", reference, "--set", "fit.epochs=9",
                                  "--set", "compile.optimizer.Adam.beta_1=0.8"))
    assert code == 2, err
    assert "fit.epochs" in err and "compile.optimizer.Adam.beta_1" in err, err


def test_a_huge_learning_rate_stops_with_the_layer_and_cause(spec_file, tmp_path):
    folder = str(tmp_path / "nan")
    code, _, err = _finish(_kspec(
        "train", spec_file, "-q", "--run-dir", folder, "--set", "compile.optimizer={SGD: {learning_rate: 1e6}}",
        "--set", "model.layers.0.Dense.activation=linear", "--set", "model.layers.2.Dense.activation=linear",
        "--set", "compile.loss=mse"))
    assert code == 1, err
    assert "epoch 1, batch" in err and "layer 'dense" in err and "learning rate" in err, err
    assert "nan_batch.npz" in err and "Traceback" not in err
    with np.load(os.path.join(folder, "nan_batch.npz")) as batch:
        assert batch["x"].shape[1] == 4 and int(batch["epoch"]) == 1
    assert all(np.isfinite(w).all() for w in _weights(folder).values()), "model.h5 holds finite weights"
    record = _record(folder)
    assert record["status"] == "stopped_on_nan" and "learning rate" in record["cause"]
    code, _, err = _finish(_kspec("train", "--resume", folder))
    assert code == 1 and "stopped on a NaN" in err, err


@pytest.mark.parametrize("hook", ["pause@0:0", "pause@1:4", "pause@4:0", "pause@5:5"])
def test_a_killed_run_is_always_readable_or_explained(spec_file, tmp_path, hook):
    folder = str(tmp_path / "run")
    _stop_at(["train", spec_file, "-q", "--run-dir", folder], hook, signal.SIGKILL)
    code, out, err = _finish(_kspec("evaluate", folder))
    if code == 0:
        assert "killed while training" in err and set(json.loads(out)) == {"accuracy", "loss"}
    else:
        assert code == 1 and "no epoch has ended" in err and "Traceback" not in err, err


def test_spec_differences_names_dotted_keys():
    old = {"fit": {"epochs": 3, "callbacks": [{"A": {"x": 1}}]}, "seed": 0}
    new = {"fit": {"epochs": 4, "callbacks": [{"A": {"x": 2}}]}, "seed": 0, "extra": 1}
    assert spec_differences(old, new) == ["fit.epochs", "fit.callbacks.0.A.x", "extra"]


def test_python_api_resume(spec_file, reference, tmp_path):
    """``run.train(folder, resume=True)`` continues a folder stopped before its end."""
    folder = str(tmp_path / "run")
    code, _, err = _stop_at(["train", spec_file, "-q", "--run-dir", folder], "pause@4:1", signal.SIGINT)
    assert code == 130, err
    result = run.train(folder, resume=True, verbose=0)
    assert result.run_dir == os.path.normpath(folder) and len(result.history["loss"]) == 6
    _assert_same_run(folder, reference)
    with open(os.path.join(folder, "history.csv"), newline="") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == list(range(6))


@pytest.mark.parametrize("user_file", [False, True], ids=["only-kspec-files", "user-files"])
def test_a_failure_before_the_first_epoch(spec_file, tmp_path, monkeypatch, user_file):
    """An error before the first epoch ends removes the folder, unless something else was written in it."""
    import functools

    from kspec.models.trainer import Trainer

    folder = tmp_path / "run"

    @functools.wraps(Trainer.fit)  # the spec's fit section is read from fit's signature
    def failing_fit(self, *args, **kwargs):
        if user_file:
            (folder / "notes.txt").write_text("written by a callback")
        raise RuntimeError("boom")

    monkeypatch.setattr(Trainer, "fit", failing_fit)
    with pytest.raises(RuntimeError, match="boom"):
        run.train(spec_file, run_dir=str(folder), verbose=0)
    if user_file:
        record = _record(str(folder))
        assert record["status"] == "failed" and "boom" in record["message"]
        assert not os.path.exists(folder / "train.lock"), "the lock is released"
    else:
        assert not folder.exists(), "a failed run with only kspec's files is removed"
