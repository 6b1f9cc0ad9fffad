"""kspec init (starter specs that train as written) and the example configs shipped in the package,
checked from a package built the way a wheel is (setuptools build_py), outside the repository."""
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from kspec.cli.commands.init import TEMPLATES
from kspec.cli.main import cli
from kspec.workbench.starters import template_names

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _invoke(args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _has_fashion_mnist():
    from kspec.data import DataError
    from kspec.data.datasets import load_dataset
    try:
        load_dataset("fashion_mnist", "test")
        return True
    except DataError:
        return False


def test_the_cli_offers_every_template():
    assert sorted(TEMPLATES) == template_names()


@pytest.mark.parametrize("template", ["mlp", "graph"])
def test_an_iris_starter_trains_as_written(template, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    made = _invoke(["init", "--template", template, "my.yaml"])
    assert made.exit_code == 0, made.output
    assert made.stdout.strip() == "my.yaml" and "wrote data/" in made.stderr
    text = (tmp_path / "my.yaml").read_text()
    assert text.startswith("# A starter spec written by `kspec init`") and "kspec train my.yaml" in text
    trained = _invoke(["train", "my.yaml", "-q"])
    assert trained.exit_code == 0, trained.output
    result = json.loads(trained.stdout)
    assert result["metrics"]["accuracy"] >= 0.8, "the starter spec learns Iris as written"
    confusion = _invoke(["evaluate", result["run_dir"], "--confusion", "--json"])
    assert json.loads(confusion.stdout)["confusion_matrix"]["samples"] == 30


@pytest.mark.parametrize("template", ["cnn", "rnn"])
def test_a_fashion_mnist_starter_validates_with_its_data(template, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    made = _invoke(["init", "-t", template, "f.yaml"])
    assert made.exit_code == 0, made.output
    if not _has_fashion_mnist():
        assert "dataset fashion_mnist is not on this machine" in made.stderr
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    assert "warning" not in made.stderr
    checked = _invoke(["validate", "f.yaml", "--data"])
    assert checked.exit_code == 0, checked.output
    assert "data: ok (train 60,000 samples, test 10,000 samples)" in checked.stdout


def test_init_never_overwrites(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kspec.yaml").write_text("mine\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "iris_train.csv").write_text("my own data\n")
    refused = _invoke(["init"])
    assert refused.exit_code == 1 and "never overwrites" in refused.stderr
    assert (tmp_path / "kspec.yaml").read_text() == "mine\n"
    forced = _invoke(["init", "--force"])
    assert forced.exit_code == 0 and "kept data/iris_train.csv" in forced.stderr
    assert (tmp_path / "data" / "iris_train.csv").read_text() == "my own data\n", "data files are never replaced"
    assert "name: iris_mlp" in (tmp_path / "kspec.yaml").read_text()


def test_init_to_stdout_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = _invoke(["init", "-t", "graph", "-"])
    assert out.exit_code == 0 and "name: iris_graph" in out.stdout
    assert os.listdir(tmp_path) == []


def _build_package(destination):
    """The package as setuptools puts it into a wheel (build_py: modules and package data)."""
    done = subprocess.run([sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py",
                           "-d", str(destination)], cwd=REPO, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.skip(f"setuptools could not build the package here: {done.stderr.strip()[-300:]}")
    return destination


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return _build_package(tmp_path_factory.mktemp("built"))


def test_the_built_package_holds_the_examples_and_templates(built):
    examples = built / "kspec" / "examples"
    assert not examples.is_symlink() and (examples / "quickstart.yaml").is_file()
    repo_configs = sorted(n for n in os.listdir(os.path.join(REPO, "configs")) if n.endswith(".yaml"))
    assert sorted(n for n in os.listdir(examples) if n.endswith(".yaml")) == repo_configs
    assert (examples / "data" / "iris_train.csv").is_file()
    assert not any(n.startswith("fortunes_") for n in os.listdir(examples / "data")), "generated data stays out"
    assert sorted(p.stem for p in (built / "kspec" / "workbench" / "templates").glob("*.yaml")) == template_names()


def test_init_and_the_readme_examples_work_outside_the_repository(built, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(built), KSPEC_PROGRESS="none")
    work = tmp_path / "elsewhere"
    work.mkdir()

    def kspec(*args):
        done = subprocess.run([sys.executable, "-m", "kspec", *args], cwd=work, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, f"kspec {' '.join(args)}: {done.stderr}"
        return done.stdout

    probe = subprocess.run([sys.executable, "-c", "import kspec; print(kspec.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True)
    assert probe.stdout.startswith(str(built)), "the built package is the one imported"
    kspec("init", "starter.yaml")
    assert json.loads(kspec("train", "starter.yaml", "--set", "fit.epochs=2"))["run_dir"] == "runs/iris_mlp"
    assert kspec("init", "--examples").strip() == "configs"
    assert (work / "configs" / "data" / "iris_test.csv").is_file()
    kspec("train", "configs/quickstart.yaml", "--set", "fit.epochs=2")  # the README's first example
    assert set(json.loads(kspec("evaluate", "runs/iris"))) == {"accuracy", "loss"}
