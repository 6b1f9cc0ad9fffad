"""User code named in a spec as ``module:Name``: it trains with the switch on, every command refuses it
(and imports nothing) with the switch off, a run keeps a copy of the code, and every way user code can
be wrong is a clear error at the spec's line."""
import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from kspec import run, user_code
from kspec.cli.main import cli
from kspec.spec import SpecError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(REPO, "configs", "custom_code")
SENTINEL = "KSPEC_TEST_SENTINEL"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder with a copy of the example spec and its module; importing the module leaves a mark."""
    folder = tmp_path / "project"
    folder.mkdir()
    with open(os.path.join(EXAMPLE, "userlib.py")) as handle:
        source = handle.read()
    module_name = f"userlib_{abs(hash(str(tmp_path))) % 10 ** 8}"  # one module name per test: no stale import
    (folder / f"{module_name}.py").write_text(
        f"import os\nwith open(os.environ['{SENTINEL}'], 'a') as _mark:\n    _mark.write('imported\\n')\n" + source)
    with open(os.path.join(EXAMPLE, "iris_custom.yaml")) as handle:
        spec = handle.read().replace("userlib:", f"{module_name}:").replace("../data/", f"{REPO}/configs/data/")
    (folder / "spec.yaml").write_text(spec.replace("epochs: 40", "epochs: 3"))
    sentinel = tmp_path / "imported.txt"
    monkeypatch.setenv(SENTINEL, str(sentinel))
    monkeypatch.delenv(user_code.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    return {"folder": folder, "spec": str(folder / "spec.yaml"), "module": module_name, "sentinel": sentinel}


def _read(path):
    with open(path) as handle:
        return handle.read()


def _env(project):
    return dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
                **{SENTINEL: str(project["sentinel"])})


def test_a_spec_with_a_user_layer_loss_metric_and_callback_trains_with_the_switch(project):
    result = run.train(project["spec"], run_dir="runs/custom", verbose=0, stream=io.StringIO(), allow_code=True)
    assert set(result.history) == {"accuracy", "loss", "mean_top", "val_accuracy", "val_loss", "val_mean_top"}
    assert all(0 < v <= 1 for v in result.history["mean_top"])
    marks = _read(os.path.join(result.run_dir, "marks.txt")).splitlines()
    assert marks[0].startswith("epoch 1 loss ") and len(marks) == 3, "the user's callback ran each epoch"
    assert os.listdir(os.path.join(result.run_dir, "code")) == [project["module"] + ".py"]
    config = _read(os.path.join(result.run_dir, "config.yaml"))
    for ref in ("Scale", "smooth_ce", "mean_top", "EpochMarker"):
        assert f"{project['module']}:{ref}" in config, f"config.yaml keeps the reference to {ref}"
    with user_code.allow_code(True):
        scale = run.load_run(result.run_dir, compile=False).model.layers[1]
    assert type(scale).__name__ == "Scale" and scale.factor == 0.5


@pytest.mark.parametrize("command", ["validate", "train", "summary"])
def test_without_the_switch_every_spec_command_refuses_and_imports_nothing(project, command):
    result = CliRunner().invoke(cli, [command, project["spec"]])
    assert result.exit_code == 2, result.output
    assert "--allow-code" in result.output and f"'{project['module']}:Scale'" in result.output, result.output
    assert not project["sentinel"].exists(), "the user's module was imported without the switch"
    assert not os.path.exists("runs"), "a refused train must leave no run folder"


def test_a_run_keeps_its_code_evaluate_and_predict_work_after_the_module_is_deleted(project):
    """Fresh processes, so nothing is left in sys.modules: the run's code/ copy is what loads."""
    env = _env(project)
    trained = subprocess.run([sys.executable, "-m", "kspec", "train", project["spec"], "--allow-code", "-q",
                              "--run-dir", "runs/custom"], env=env, capture_output=True, text=True, timeout=300)
    assert trained.returncode == 0, trained.stderr
    os.remove(project["folder"] / f"{project['module']}.py")
    project["sentinel"].unlink()
    for args in (["evaluate", "runs/custom"], ["summary", "runs/custom"]):
        refused = subprocess.run([sys.executable, "-m", "kspec", *args], env=env, capture_output=True, text=True,
                                 timeout=120)
        assert refused.returncode == 2 and "--allow-code" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    assert not project["sentinel"].exists(), "a refused evaluate imported the user's code"
    evaluated = subprocess.run([sys.executable, "-m", "kspec", "evaluate", "runs/custom", "--allow-code"], env=env,
                               capture_output=True, text=True, timeout=120)
    assert evaluated.returncode == 0, evaluated.stderr
    assert set(json.loads(evaluated.stdout)) == {"accuracy", "loss", "mean_top"}
    rows = "5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"
    predicted = subprocess.run([sys.executable, "-m", "kspec", "predict", "runs/custom", "-", "--allow-code",
                                "--classes"], input=rows, env=env, capture_output=True, text=True, timeout=120)
    assert predicted.returncode == 0, predicted.stderr
    assert len(predicted.stdout.split()) == 2
    refused = subprocess.run([sys.executable, "-m", "kspec", "predict", "runs/custom", "-"], input=rows, env=env,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "--allow-code" in refused.stderr, refused.stderr


def _spec_with(project, layer_line):
    text = _read(project["spec"])
    start = text.index("    - " + project["module"] + ":Scale")
    end = text.index("\n", start)
    path = project["folder"] / "broken.yaml"
    path.write_text(text[:start] + "    - " + layer_line + text[end:])
    return str(path), text[:start].count("\n") + 1


@pytest.mark.parametrize("entry, message", [
    ("nosuchmodule:Scale", "no module named 'nosuchmodule'"),
    ("{module}:Scal", "has no 'Scal' (did you mean 'Scale'?)"),
    ("{module}:smooth_ce", "is function, not a layer"),
    ("{module}:EpochMarker", "is a class but not a layer"),
])
def test_wrong_user_code_is_an_error_at_its_line(project, entry, message):
    path, line = _spec_with(project, entry.format(module=project["module"]))
    result = CliRunner().invoke(cli, ["validate", path, "--allow-code"])
    assert result.exit_code == 2, result.output
    assert f"broken.yaml:{line}:" in result.output and message in result.output, result.output
    assert "Traceback (most recent" not in result.output


def test_an_import_error_inside_the_module_shows_the_users_traceback(project):
    (project["folder"] / "badlib.py").write_text("import os\n\nVALUE = 1 / 0\n")
    path, line = _spec_with(project, "badlib:Scale")
    result = CliRunner().invoke(cli, ["validate", path, "--allow-code"])
    assert result.exit_code == 2, result.output
    assert f"broken.yaml:{line}:" in result.output and "importing 'badlib' failed: ZeroDivisionError" in result.output
    assert "badlib.py\", line 3" in result.output and "VALUE = 1 / 0" in result.output, result.output


def test_a_user_layer_failing_at_build_is_an_error_at_its_line_with_its_traceback(project):
    (project["folder"] / "buildfail.py").write_text(
        "from kspec.layers import Layer\n\n\nclass Broken(Layer):\n    def build(self, input_shape):\n"
        "        raise RuntimeError('no weights for you')\n\n    def call(self, x, training=False):\n"
        "        return x\n")
    path, line = _spec_with(project, "buildfail:Broken")
    result = CliRunner().invoke(cli, ["train", path, "--allow-code"])
    assert result.exit_code == 2, result.output
    assert f"broken.yaml:{line}:" in result.output and "no weights for you" in result.output, result.output
    assert "buildfail.py\", line 6, in build" in result.output, result.output


def test_a_failure_inside_user_code_during_fit_is_the_users_error(project):
    (project["folder"] / "fitfail.py").write_text(
        "from kspec.layers import Layer\n\n\nclass Flaky(Layer):\n    def call(self, x, training=False):\n"
        "        if training:\n            raise ArithmeticError('diverged')\n        return x\n\n"
        "    def compute_output_shape(self, shape):\n        return shape\n")
    path, _ = _spec_with(project, "fitfail:Flaky")
    result = CliRunner().invoke(cli, ["train", path, "--allow-code", "-q"])
    assert result.exit_code == 1, result.output
    assert "error in your code: ArithmeticError: diverged" in result.output
    assert "fitfail.py\", line 7, in call" in result.output and "unexpected" not in result.output, result.output


def test_the_switch_is_scoped_and_the_environment_only_sets_its_default(project, monkeypatch):
    run.validate(project["spec"], allow_code=True)
    with pytest.raises(SpecError, match="--allow-code"):
        run.validate(project["spec"])  # the previous call's switch did not leak
    with user_code.SafeModeScope(safe_mode=False):
        assert user_code.code_allowed()
        with user_code.SafeModeScope(safe_mode=True):
            assert not user_code.code_allowed()
        assert user_code.code_allowed()
    assert not user_code.code_allowed()
    monkeypatch.setenv(user_code.ENV, "1")
    assert user_code.code_allowed() and run.validate(project["spec"])["name"] == "iris_custom"
    with pytest.raises(SpecError, match="--allow-code"):
        run.validate(project["spec"], allow_code=False)


def test_a_model_file_with_a_user_layer_loads_with_custom_objects_or_the_switch(project, tmp_path):
    from kspec.io import load_model

    result = run.train(project["spec"], run_dir="runs/m", verbose=0, stream=io.StringIO(), allow_code=True)
    path = os.path.join(result.run_dir, "model.h5")
    fresh = tmp_path / "elsewhere.h5"
    shutil.copy(path, fresh)
    with pytest.raises(user_code.UserCodeError, match="allow"):
        load_model(str(fresh), compile=False)
    module = sys.modules[project["module"]]
    objects = {name: getattr(module, name) for name in ("Scale", "swish", "small_uniform", "tiny_l2", "clip_unit")}
    by_name = load_model(str(fresh), compile=False, custom_objects=objects)
    allowed = load_model(str(fresh), compile=False, safe_mode=False)
    x = np.random.RandomState(0).rand(5, 4).astype(np.float32)
    with user_code.allow_code(True):
        want = run.load_run(result.run_dir, compile=False).model.predict(x, verbose=0)
    np.testing.assert_array_equal(by_name.predict(x, verbose=0), want)
    np.testing.assert_array_equal(allowed.predict(x, verbose=0), want)


@pytest.fixture
def counting(tmp_path, monkeypatch):
    """The model.class example in a folder of its own, under a module name of its own."""
    module = f"countlib_{abs(hash(str(tmp_path))) % 10 ** 8}"
    (tmp_path / f"{module}.py").write_text(_read(os.path.join(EXAMPLE, "userlib.py")))
    spec = _read(os.path.join(EXAMPLE, "iris_counting.yaml")).replace("userlib:", f"{module}:").replace(
        "../data/", f"{REPO}/configs/data/").replace("epochs: 30", "epochs: 3")
    (tmp_path / "spec.yaml").write_text(spec)
    monkeypatch.delenv(user_code.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    return {"spec": str(tmp_path / "spec.yaml"), "module": module, "folder": tmp_path, "text": spec}


def test_model_class_builds_the_spec_as_the_users_model_and_its_train_step_drives_fit(counting):
    result = run.train(counting["spec"], run_dir="runs/c", verbose=0, stream=io.StringIO(), allow_code=True)
    steps = -(-96 // 16)  # 120 rows, the last 24 for validation, batch 16
    assert result.history["batches_seen"] == [float(steps), 2.0 * steps, 3.0 * steps], "the user's train_step ran"
    assert set(result.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    with user_code.allow_code(True):
        loaded = run.load_run(result.run_dir)
    assert type(loaded.model).__name__ == "CountingModel" and loaded.model.batches_seen == 0
    refused = CliRunner().invoke(cli, ["evaluate", result.run_dir])
    assert refused.exit_code == 2 and "--allow-code" in refused.output, refused.output
    os.remove(counting["folder"] / f"{counting['module']}.py")
    done = subprocess.run([sys.executable, "-m", "kspec", "evaluate", result.run_dir, "--allow-code"],
                          env=dict(os.environ, PYTHONPATH=REPO), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and set(json.loads(done.stdout)) == {"accuracy", "loss"}, done.stderr


@pytest.mark.parametrize("value, message", [
    ("CountingModel", "model.class names your own model class as module:Name"),
    ("{module}:Scale", "is a class but not a model"),
    ("{module}:smooth_ce", "is function, not a model"),
])
def test_a_wrong_model_class_is_an_error_at_its_line(counting, value, message):
    path = counting["folder"] / "bad.yaml"
    path.write_text(counting["text"].replace(f"class: {counting['module']}:CountingModel",
                                             "class: " + value.format(module=counting["module"])))
    result = CliRunner().invoke(cli, ["validate", str(path), "--allow-code"])
    line = counting["text"][:counting["text"].index("  class:")].count("\n") + 1
    assert result.exit_code == 2 and f"bad.yaml:{line}:" in result.output and message in result.output, \
        result.output
