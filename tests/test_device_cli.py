"""``--device`` / ``KSPEC_DEVICE`` on train, evaluate and predict: cpu by default, a GPU through the same
switch CuPy would use (here the strict stand-in), and a clear error, never a fallback, without one."""
import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from _strict_xp import strict
from kspec import backend
from kspec.cli.main import cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART = os.path.join(REPO, "configs", "quickstart.yaml")
IRIS_TEST = os.path.join(REPO, "configs", "data", "iris_test.csv")


def _invoke(*args, env=None):
    result = CliRunner().invoke(cli, list(args), env=env)
    backend.set_array_module(np)
    return result


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(backend, "_find_cupy", lambda: (None, "CuPy is not installed (ModuleNotFoundError)"))


@pytest.mark.parametrize("command", ["train", "evaluate", "predict"])
def test_asking_for_a_gpu_without_one_is_a_clear_error(command, no_gpu, tmp_path):
    target = QUICKSTART if command == "train" else str(tmp_path / "no-run")
    extra = ["--run-dir", str(tmp_path / "run")] if command == "train" else []
    result = _invoke(command, target, *extra, "--device", "gpu")
    assert result.exit_code == 1, result.output
    assert "--device gpu: CuPy is not installed" in result.stderr and "pip install 'kspec[gpu]'" in result.stderr
    assert "Traceback" not in result.output and result.stdout == ""
    assert not (tmp_path / "run").exists()


def test_the_environment_variable_asks_too(no_gpu, tmp_path):
    result = _invoke("train", QUICKSTART, "--run-dir", str(tmp_path / "run"), env={"KSPEC_DEVICE": "gpu"})
    assert result.exit_code == 1 and "--device gpu" in result.stderr
    bad = _invoke("evaluate", str(tmp_path), env={"KSPEC_DEVICE": "tpu"})
    assert bad.exit_code == 2 and "'tpu' is not one of 'cpu', 'gpu', 'auto'" in bad.stderr


def test_auto_without_a_gpu_runs_on_the_cpu(no_gpu, tmp_path):
    result = _invoke("train", QUICKSTART, "--run-dir", str(tmp_path / "run"), "--set", "fit.epochs=1", "-q",
                     "--device", "auto")
    assert result.exit_code == 0, result.output
    assert "GPU" not in result.stderr


def test_train_evaluate_predict_on_the_standin_match_the_cpu(monkeypatch, tmp_path):
    monkeypatch.setattr(backend, "_find_cupy", lambda: (strict, None))
    outputs = {}
    for device in ("cpu", "gpu"):
        run_dir = str(tmp_path / device)
        trained = _invoke("train", QUICKSTART, "--run-dir", run_dir, "--set", "fit.epochs=3", "-q",
                          "--device", device)
        assert trained.exit_code == 0, trained.output
        assert ("the engine runs on the GPU" in trained.stderr) == (device == "gpu")
        evaluated = _invoke("evaluate", run_dir, "--device", device)
        predicted = _invoke("predict", run_dir, IRIS_TEST, "--device", device)
        assert evaluated.exit_code == 0 and predicted.exit_code == 0, evaluated.output + predicted.output
        train_out = json.loads(trained.stdout)
        outputs[device] = (train_out["metrics"], train_out["history"], json.loads(evaluated.stdout),
                           predicted.stdout)
    assert outputs["gpu"] == outputs["cpu"]
