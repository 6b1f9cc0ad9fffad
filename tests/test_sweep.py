"""``kspec sweep``: a search over the Iris quickstart on Optuna, its files, resume, pruning, failures and
every bad ``--param`` (a clear error, exit 2, before any trial runs)."""
import csv
import io
import json
import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from kspec import run
from kspec.cli.main import cli
from kspec.spec.sweep_params import ParamError, parse_param

optuna = pytest.importorskip("optuna", reason="the sweep extra (optuna) is not installed")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART = os.path.join(REPO, "configs", "quickstart.yaml")
LR = "compile.optimizer.Adam.learning_rate"
UNITS = "model.layers.0.Dense.units"


def _env():
    return dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _sweep(args, cwd):
    """``kspec sweep ARGS`` in a real process: (exit status, stdout lines as JSON, stderr)."""
    done = subprocess.run([sys.executable, "-m", "kspec", "sweep", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=300)
    lines = [json.loads(line) for line in done.stdout.splitlines()] if done.returncode in (0, 1) else []
    return done.returncode, lines, done.stderr


def _sweep_here(args, cwd, monkeypatch):
    """The same in this process (faster: one worker needs no subprocess)."""
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(cli, ["sweep", *args])
    lines = [json.loads(line) for line in result.stdout.splitlines()] if result.exit_code in (0, 1) else []
    return result.exit_code, lines, result.stderr


def _quickstart_text():
    with open(QUICKSTART) as handle:
        return handle.read()


def _table(sweep_dir):
    with open(os.path.join(sweep_dir, "sweep.csv"), newline="") as handle:
        return list(csv.DictReader(handle))


def test_iris_sweep_with_two_jobs_and_pruning(tmp_path):
    """The issue's case: learning rate and width, 2 jobs, pruning; the files and lines a sweep leaves."""
    code, lines, err = _sweep([QUICKSTART, "--param", f"{LR}=loguniform:1e-3:1e-1", "--param", f"{UNITS}=int:4:32",
                               "--trials", "6", "--jobs", "2", "--prune", "--set", "fit.epochs=8"], tmp_path)
    assert code == 0, err
    *trials, summary = lines
    assert sorted(t["trial"] for t in trials) == list(range(6)), trials
    sweep_dir = summary["sweep_dir"]
    assert sweep_dir == str(tmp_path / "runs" / "iris-sweep")
    assert sorted(os.listdir(sweep_dir)) == ["sweep.csv", "sweep.json", "study.journal",
                                             *[f"trial-{k}" for k in range(6)]] or \
        {f"trial-{k}" for k in range(6)} <= set(os.listdir(sweep_dir))
    for t in trials:
        assert t["state"] in ("complete", "pruned"), t
        assert 1e-3 <= t["params"][LR] <= 1e-1 and 4 <= t["params"][UNITS] <= 32, t
        assert os.path.isfile(os.path.join(t["run_dir"], "model.h5")), t
        with open(os.path.join(t["run_dir"], "history.csv")) as handle:  # a header, then one row an epoch
            assert len(handle.read().splitlines()) - 1 == t["epochs"], t
    baseline = next(t for t in trials if t["trial"] == 0)
    assert baseline["params"] == {LR: 0.01, UNITS: 16}, "trial 0 is the spec's own setting"
    complete = [t for t in trials if t["state"] == "complete"]
    assert summary["best"]["value"] == min(t["value"] for t in complete)
    assert summary["best"]["value"] <= baseline["value"], "the sweep found nothing as good as the spec"
    best = next(t for t in trials if t["trial"] == summary["best"]["trial"])
    assert summary["best"]["params"] == best["params"] and summary["best"]["run_dir"] == best["run_dir"]
    rows = _table(sweep_dir)
    assert [int(r["trial"]) for r in sorted(rows, key=lambda r: int(r["trial"]))] == list(range(6))
    assert {r["state"] for r in rows} <= {"complete", "pruned"}
    assert sum(r["state"] == "complete" for r in rows) == summary["trials"]["complete"]
    # each trial is an ordinary run folder: evaluate reads it
    assert set(run.evaluate(best["run_dir"], verbose=0)) == {"accuracy", "loss"}


def test_resume_continues_the_study_and_keeps_its_settings(tmp_path, monkeypatch):
    first = [QUICKSTART, "--param", f"{UNITS}=int:4:32", "--trials", "2", "--set", "fit.epochs=3"]
    code, lines, err = _sweep_here(first, tmp_path, monkeypatch)
    assert code == 0, err
    sweep_dir = lines[-1]["sweep_dir"]
    code, lines, err = _sweep_here(["--resume", sweep_dir, "--trials", "3"], tmp_path, monkeypatch)
    assert code == 0, err
    assert [t["trial"] for t in lines[:-1]] == [2], "only the missing trial runs"
    assert lines[-1]["trials"] == {"complete": 3}
    assert [r["trial"] for r in _table(sweep_dir)] == ["0", "1", "2"]
    code, _, err = _sweep_here(["--resume", sweep_dir, "--param", f"{LR}=uniform:0.01:0.1"], tmp_path, monkeypatch)
    assert code == 2 and "can't change --param" in err, err


def test_a_failed_trial_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(os.path.join(REPO, "configs", "data", "iris_train.csv"), data / "good.csv")
    (data / "bad.csv").write_text("sepal_length,species\n1.0,setosa\nnot-a-number,setosa\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(_quickstart_text().replace("data/iris_train.csv", "data/good.csv")
                    .replace("path: data/iris_test.csv", f"path: {REPO}/configs/data/iris_test.csv"))
    code, lines, err = _sweep_here([str(spec), "--param", "data.train.path=choice:data/good.csv,data/bad.csv",
                                    "--sampler", "grid", "--set", "fit.epochs=2"], tmp_path, monkeypatch)
    assert code == 0, err
    by_path = {t["params"]["data.train.path"]: t for t in lines[:-1]}
    assert by_path["data/good.csv"]["state"] == "complete"
    assert by_path["data/bad.csv"]["state"] == "fail" and "bad.csv" in by_path["data/bad.csv"]["error"]
    rows = {r["data.train.path"]: r for r in _table(lines[-1]["sweep_dir"])}
    assert rows["data/bad.csv"]["state"] == "fail" and "bad.csv" in rows["data/bad.csv"]["error"]
    assert lines[-1]["trials"] == {"complete": 1, "fail": 1}


def test_pruning_reporter_stops_a_hopeless_trial(tmp_path):
    """A pruner that prunes every reported value: the run stops after its first epoch, and says so."""
    from kspec.sweep.study import PruningReporter

    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=-1.0))
    trial = study.ask()
    reporter = PruningReporter(trial, "val_loss")
    result = run.train(QUICKSTART, run_dir=str(tmp_path / "r"), overrides=["fit.epochs=5"], verbose=0,
                       stream=io.StringIO(), callbacks=[reporter])
    assert reporter.pruned and len(result.history["val_loss"]) == 1
    assert list(trial.storage.get_trial(trial._trial_id).intermediate_values) == [0]


def test_the_spec_sweep_section_drives_the_search(tmp_path, monkeypatch):
    spec = tmp_path / "spec.yaml"
    text = _quickstart_text().replace("path: data/", f"path: {REPO}/configs/data/")
    spec.write_text(text + "sweep:\n  params:\n    fit.batch_size: choice:8,32\n  sampler: grid\n"
                           "  metric: val_accuracy\n")
    code, lines, err = _sweep_here([str(spec), "--set", "fit.epochs=2"], tmp_path, monkeypatch)
    assert code == 0, err
    assert sorted(t["params"]["fit.batch_size"] for t in lines[:-1]) == [8, 32]
    assert lines[-1]["best"]["metric"] == "val_accuracy"
    assert "val_accuracy (maximize)" in err
    jsonschema = pytest.importorskip("jsonschema")
    import yaml
    from kspec.spec.schema import build_schema
    jsonschema.validate(yaml.safe_load(spec.read_text()), build_schema())  # editors accept the section too
    spec.write_text(text + "sweep:\n  params:\n    fit.batch_size: choise:8,32\n")
    result = CliRunner().invoke(cli, ["validate", str(spec)])
    assert result.exit_code == 2
    assert f"{spec}:{text.count(chr(10)) + 3}:" in result.output and "did you mean 'choice'" in result.output


@pytest.mark.parametrize("param, message", [
    (f"{UNITS[:-1]}z=int:4:8", "unknown argument 'unitz'"),
    ("fitt.epochs=int:1:3", "unknown section 'fitt'"),
    (f"{LR}=gauss:0.1:0.2", "unknown distribution 'gauss'"),
    ("fit.batch_size=choice:", "choice: needs at least one value"),
    ("fit.batch_size=choice:8,,16", "empty value"),
    (f"{LR}=uniform:0.5:0.1", "LOW 0.5 is above HIGH 0.1"),
    (f"{LR}=loguniform:0:0.1", "loguniform needs LOW > 0"),
    (f"{UNITS}=int:4.5:8", "bounds must be integers"),
    (f"{UNITS}=int:0:8", f"(at {UNITS}=0)"),
    ("fit.epochs", "expected KEY=DISTRIBUTION"),
])
def test_every_bad_param_is_a_clear_error_before_any_trial(tmp_path, monkeypatch, param, message):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["sweep", QUICKSTART, "--param", param, "--trials", "1"])
    assert result.exit_code == 2, result.output
    assert "--param" in result.output and message in result.output, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists(), "a bad --param must stop the sweep before it writes anything"


def test_a_spec_error_or_bad_option_stops_the_sweep_before_any_trial(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(_quickstart_text().replace("units: 16", "unit: 16"))
    result = CliRunner().invoke(cli, ["sweep", str(bad), "--param", "fit.batch_size=choice:8,16"])
    assert result.exit_code == 2 and "did you mean 'units'" in result.output, result.output
    result = CliRunner().invoke(cli, ["sweep", QUICKSTART, "--param", f"{LR}=uniform:0.01:0.1", "--sampler", "grid"])
    assert result.exit_code == 2 and "grid sampler needs choice: or int:" in result.output, result.output
    result = CliRunner().invoke(cli, ["sweep", QUICKSTART, "--param", f"{UNITS}=int:4:8", "--metric", "val_auc"])
    assert result.exit_code == 2 and "--direction" in result.output, result.output
    assert not (tmp_path / "runs").exists()


def test_a_metric_the_trials_do_not_log_stops_the_sweep(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["sweep", QUICKSTART, "--param", f"{UNITS}=int:4:8", "--metric", "val_auc",
                                      "--direction", "maximize", "--set", "fit.epochs=1"])
    assert result.exit_code == 2 and "do not log 'val_auc'" in result.output, result.output


@pytest.mark.parametrize("text", ["a.b=uniform:1:2", "a=int:-3:3", "k=choice:relu,tanh,1,true",
                                  "k=loguniform:1e-05:0.1"])
def test_param_text_round_trips(text):
    p = parse_param(text)
    assert parse_param(p.text) == p


def test_param_errors_name_the_key():
    with pytest.raises(ParamError, match="fit.epochs: int: bounds must be integers"):
        parse_param("fit.epochs=int:a:3")
