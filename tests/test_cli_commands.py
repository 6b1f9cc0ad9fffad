"""The ``kspec`` command line through click's CliRunner and real subprocesses: pure JSON on stdout,
progress on stderr, exit codes 0/1/2, no tracebacks, shell pipelines (issue 3)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from kspec.cli.main import cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART = os.path.join(REPO, "configs", "quickstart.yaml")
IRIS_TEST = os.path.join(REPO, "configs", "data", "iris_test.csv")
COMMANDS = ("train", "evaluate", "predict", "summary", "validate")


def _invoke(args, input=None, env=None):
    return CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)


def _features_csv(n=None):
    with open(IRIS_TEST) as f:
        lines = f.read().splitlines()[1:]
    lines = lines[:n] if n else lines
    return "".join(",".join(line.split(",")[:4]) + "\n" for line in lines), [l.split(",")[4] for l in lines]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("cli")
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = _invoke(["train", QUICKSTART, "--set", "fit.epochs=3"])
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.stderr
    return cwd, result


def test_train_prints_one_json_object_and_progress_on_stderr(run_dir):
    cwd, result = run_dir
    out = json.loads(result.stdout)  # the whole of stdout is one JSON object
    assert set(out) == {"run_dir", "metrics", "history"}, f"keys {sorted(out)}"
    assert out["run_dir"] == os.path.join("runs", "iris"), "default runs/<name>, relative to the cwd"
    assert (cwd / "runs" / "iris" / "model.h5").is_file(), "run folder written under the cwd"
    assert set(out["metrics"]) == {"accuracy", "loss"}, "test metrics"
    assert set(out["history"]) == {"accuracy", "loss", "val_accuracy", "val_loss"}, "last epoch values"
    assert "Epoch 3/3" in result.stderr and "val_loss" in result.stderr, "progress goes to stderr"


def test_quiet_train_prints_no_progress(tmp_path):
    result = _invoke(["train", QUICKSTART, "--set", "fit.epochs=1", "--run-dir", str(tmp_path / "q"), "-q"])
    assert result.exit_code == 0 and result.stderr == "", f"stderr {result.stderr!r}"
    assert json.loads(result.stdout)["run_dir"] == str(tmp_path / "q"), "--run-dir is used"


def test_evaluate_prints_json_metrics(run_dir):
    cwd, train = run_dir
    folder = str(cwd / "runs" / "iris")
    result = _invoke(["evaluate", folder])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == pytest.approx(json.loads(train.stdout)["metrics"], rel=1e-6), \
        "evaluate == train's test metrics"
    on_file = _invoke(["evaluate", os.path.join(folder, "model.h5"), "--data", IRIS_TEST])
    assert json.loads(on_file.stdout) == pytest.approx(json.loads(result.stdout), rel=1e-6), "--data FILE"
    overridden = _invoke(["evaluate", folder, "--set", "data.test.path=../../../../" + "x.csv"])
    assert overridden.exit_code == 1 and "file not found" in overridden.stderr, overridden.stderr


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "npy"])
def test_predict_output_formats(run_dir, fmt):
    cwd, _ = run_dir
    rows, _ = _features_csv(5)
    result = CliRunner().invoke(cli, ["predict", str(cwd / "runs" / "iris"), "-", "--output-format", fmt],
                                input=rows, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    if fmt == "npy":
        import io
        probs = np.load(io.BytesIO(result.stdout_bytes))
    elif fmt == "csv":
        probs = np.array([[float(v) for v in line.split(",")] for line in result.stdout.splitlines()])
    else:
        probs = np.array([json.loads(line) for line in result.stdout.splitlines()])
    assert probs.shape == (5, 3), f"{fmt}: shape {probs.shape}"
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5), f"{fmt}: probabilities"


def test_predict_classes_names_and_labelled_rows(run_dir):
    cwd, _ = run_dir
    folder = str(cwd / "runs" / "iris")
    rows, names = _features_csv()
    by_name = _invoke(["predict", folder, "-", "--classes"], input=rows)
    predicted = by_name.stdout.splitlines()
    assert len(predicted) == 30 and set(predicted) <= {"setosa", "versicolor", "virginica"}, predicted
    assert np.mean([p == n for p, n in zip(predicted, names)]) >= 0.7, "mostly right after 3 epochs"
    with open(IRIS_TEST) as f:
        labelled = _invoke(["predict", folder, "-", "--classes"], input=f.read())
    assert labelled.stdout.splitlines() == predicted, "a CSV with header and label column works too"
    from_file = _invoke(["predict", folder, IRIS_TEST, "--classes"])
    assert from_file.stdout.splitlines() == predicted, "INPUT as a file"


def test_summary_and_validate(run_dir):
    cwd, _ = run_dir
    for target in (QUICKSTART, str(cwd / "runs" / "iris")):
        result = _invoke(["summary", target])
        assert result.exit_code == 0 and "dense_1 (Dense)" in result.stdout, result.stdout
        assert "Total params: 131" in result.stdout, result.stdout
    valid = _invoke(["validate", QUICKSTART])
    assert valid.exit_code == 0 and "ok" in valid.stdout and "131" in valid.stdout, valid.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    result = _invoke([command, "--help"])
    assert result.exit_code == 0 and "Examples:" in result.stdout and f"kspec {command}" in result.stdout, \
        result.stdout


def test_spec_error_exits_2_with_positions_and_no_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.yaml"
    with open(QUICKSTART) as f:
        text = f.read().replace("units: 16", "unit: 16").replace("{Adam:", "{Adm:")
    bad.write_text(text)
    lines = text.splitlines()
    line = next(i for i, l in enumerate(lines, 1) if "unit: 16" in l)
    col = lines[line - 1].index("unit: 16") + 1
    result = _invoke(["train", str(bad)])
    assert result.exit_code == 2, f"exit {result.exit_code}: {result.stderr}"
    assert f"{bad}:{line}:{col}: error: Dense: unknown argument 'unit' (did you mean 'units'?)" in \
        result.stderr, result.stderr
    assert "unknown optimizer 'Adm'" in result.stderr and "2 errors" in result.stderr, result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr, "no traceback, nothing on stdout"
    assert not (tmp_path / "runs").exists(), "no partial run folder"
    assert _invoke(["validate", str(bad)]).exit_code == 2, "validate exits 2 too"


@pytest.mark.parametrize("args, code, words", [
    (["train", QUICKSTART, "--set", "data.train.path=absent.csv"], 1, "absent.csv: file not found"),
    (["train", "no-such.yaml"], 2, "no-such.yaml: error: no such file"),
    (["train", QUICKSTART, "--set", "fit.epochs"], 2, "expected KEY=VALUE"),
    (["evaluate", "no-such-run"], 1, "no such file"),
    (["predict", IRIS_TEST, "-"], 1, "not a readable HDF5 file"),
    (["train", QUICKSTART, "--bogus"], 2, "No such option"),
], ids=["data-error", "missing-spec", "bad-set", "missing-run", "not-a-model", "usage"])
def test_errors_are_one_clear_message(tmp_path, monkeypatch, args, code, words):
    monkeypatch.chdir(tmp_path)
    result = _invoke(args, input="")
    assert result.exit_code == code, f"exit {result.exit_code}: {result.stderr}"
    assert words in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "runs").exists(), "nothing written"


def test_unexpected_errors_suggest_kspec_debug(monkeypatch):
    from kspec import run

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(run, "train", broken)
    result = _invoke(["train", QUICKSTART])
    assert result.exit_code == 70, result.stderr
    assert "internal error: RuntimeError: boom" in result.stderr and "KSPEC_DEBUG=1" in result.stderr, result.stderr
    with pytest.raises(RuntimeError):
        _invoke(["train", QUICKSTART], env={"KSPEC_DEBUG": "1"})


def test_a_bug_that_raises_value_error_is_an_internal_error(monkeypatch):
    from kspec import run

    def broken(*args, **kwargs):
        raise ValueError("operands could not be broadcast together")

    monkeypatch.setattr(run, "train", broken)
    result = _invoke(["train", QUICKSTART])
    assert result.exit_code == 70 and "internal error: ValueError" in result.stderr, result.stderr


def test_errors_are_mapped_by_type_not_by_name(monkeypatch):
    from kspec import run
    from kspec.data import DataError
    from kspec.errors import KspecError

    class MyDataError(DataError):  # a subclass elsewhere: still a data error (exit 1)
        pass

    class Quota(KspecError):
        exit_code = 3

    for error, code, text in [(MyDataError("bad rows", "x.csv", hint="fix them"), 1, "x.csv: bad rows"),
                              (Quota("over quota", "runs/"), 3, "runs/: over quota")]:
        monkeypatch.setattr(run, "train", lambda *a, _e=error, **k: (_ for _ in ()).throw(_e))
        result = _invoke(["train", QUICKSTART])
        assert result.exit_code == code and f"kspec: error: {text}" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


# -- real processes ------------------------------------------------------------------------------------

def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_shell_pipeline_predict_classes(run_dir):
    """The issue's pipeline: cat rows.csv | kspec predict RUN - --classes | sort | uniq -c."""
    cwd, _ = run_dir
    rows, _ = _features_csv()
    (cwd / "rows.csv").write_text(rows)
    command = f"cat rows.csv | {sys.executable} -m kspec predict runs/iris - --classes | sort | uniq -c"
    done = subprocess.run(["bash", "-c", "set -o pipefail; " + command], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    counts = {line.split()[1]: int(line.split()[0]) for line in done.stdout.splitlines()}
    assert sum(counts.values()) == 30 and set(counts) <= {"setosa", "versicolor", "virginica"}, counts


def test_subprocess_train_stdout_is_pure_json(tmp_path):
    done = subprocess.run([sys.executable, "-m", "kspec", "train", QUICKSTART, "--set", "fit.epochs=2"],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["run_dir"] == os.path.join("runs", "iris"), done.stdout
    assert "Epoch 2/2" in done.stderr, "progress on stderr"


def test_subprocess_spec_error_has_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmodel:\n  input_shape: [4]\n  layers:\n    - Dense: {unit: 3}\n")
    done = subprocess.run([sys.executable, "-m", "kspec", "train", str(bad)], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"{bad}:5:15: error: Dense: unknown argument 'unit'" in done.stderr, done.stderr


def test_help_imports_nothing_heavy():
    """kspec --help must stay fast (< 0.3 s): the command modules import only click."""
    code = ("import sys; from kspec.cli.main import cli; cli.main(['--help'], standalone_mode=False); "
            "heavy = [m for m in ('numpy', 'h5py', 'yaml', 'kspec.engine', 'kspec.run') if m in sys.modules]; "
            "print(heavy, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "[]", f"imported by --help: {done.stderr}"


def test_evaluate_data_key_value_changes_the_test_source(run_dir):
    cwd, _ = run_dir
    folder = str(cwd / "runs" / "iris")
    train_csv = os.path.join(REPO, "configs", "data", "iris_train.csv")
    by_key = _invoke(["evaluate", folder, "--data", f"path={train_csv}"])
    by_set = _invoke(["evaluate", folder, "--set", f"data.test.path={train_csv}"])
    by_file = _invoke(["evaluate", folder, "--data", train_csv])
    assert by_key.exit_code == 0, by_key.stderr
    assert json.loads(by_key.stdout) == json.loads(by_set.stdout) == json.loads(by_file.stdout), \
        "--data KEY=VALUE, --set data.test.KEY=VALUE and --data FILE agree"
