"""The workbench around a run (issue 16), on real runs: plot, plot-model, compare, evaluate --confusion,
validate with several files, list/explain, and shell completion. init and the shipped examples are in
test_workbench_init.py."""
import csv
import json
import os
import shutil
import struct
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from kspec.cli.main import cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(REPO, "configs")
QUICKSTART = os.path.join(CONFIGS, "quickstart.yaml")
WORKBENCH = ("plot", "plot-model", "compare", "init", "list", "explain")


def _invoke(args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


@pytest.fixture(autouse=True)
def _progress_env(monkeypatch):
    monkeypatch.setenv("KSPEC_PROGRESS", "auto")  # restored afterwards, whatever --progress sets


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two Iris runs that differ in learning rate and epochs, and a sweep folder of two trials."""
    folder = tmp_path_factory.mktemp("workbench")
    made = {}
    for name, sets in (("fast", ["fit.epochs=4", "compile.optimizer.Adam.learning_rate=0.02"]),
                       ("slow", ["fit.epochs=3"]),
                       ("iris-sweep/trial-0", ["fit.epochs=2", "model.layers.0.Dense.units=8"]),
                       ("iris-sweep/trial-1", ["fit.epochs=2", "model.layers.0.Dense.units=4"])):
        args = ["train", QUICKSTART, "-q", "--run-dir", str(folder / name)]
        for s in sets:
            args += ["--set", s]
        result = _invoke(args)
        assert result.exit_code == 0, result.output
        made[name] = str(folder / name)
    with open(folder / "iris-sweep" / "sweep.csv", "w") as f:
        f.write("trial,value,state\n0,0.5,COMPLETE\n1,0.6,COMPLETE\n")
    made["sweep"] = str(folder / "iris-sweep")
    return made


def _png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


# ------------------------------------------------------------------------------------------------- plot

def test_plot_draws_one_curve_per_run_split_and_metric(runs, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "two.png"
    result = _invoke(["plot", runs["fast"], runs["slow"], "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    drawn = json.loads(result.stdout)
    assert list(drawn["panels"]) == ["loss", "accuracy"], "the loss first, then the metrics"
    for metric, curves in drawn["panels"].items():
        assert curves == ["fast", "fast (validation)", "slow", "slow (validation)"], metric
    assert _png_size(out) == (drawn["width"], drawn["height"]) == (1000, 400), "5 x 4 inches per panel, 100 dpi"
    assert drawn["stage_marks"] == 0


def test_plot_metrics_option_and_default_file(runs):
    pytest.importorskip("matplotlib")
    result = _invoke(["plot", runs["slow"], "--metrics", "accuracy", "--json"])
    assert result.exit_code == 0, result.output
    drawn = json.loads(result.stdout)
    assert drawn["file"] == os.path.join(runs["slow"], "history.png")
    assert drawn["panels"] == {"accuracy": ["slow", "slow (validation)"]}
    assert _png_size(drawn["file"]) == (500, 400)
    plain = _invoke(["plot", runs["slow"], "--metrics", "loss"])
    assert plain.stdout.strip() == drawn["file"], "without --json: the PNG's path"
    bad = _invoke(["plot", runs["slow"], "--metrics", "los"])
    assert bad.exit_code == 2 and "they have: loss, accuracy" in bad.stderr


def test_plot_of_a_sweep_folder_shows_its_trials(runs, tmp_path):
    pytest.importorskip("matplotlib")
    result = _invoke(["plot", runs["sweep"], "-o", str(tmp_path / "sweep.png"), "--json"])
    assert result.exit_code == 0, result.output
    curves = json.loads(result.stdout)["panels"]["loss"]
    assert curves == ["iris-sweep/trial-0", "iris-sweep/trial-0 (validation)",
                      "iris-sweep/trial-1", "iris-sweep/trial-1 (validation)"]


def test_plot_marks_the_stages_of_a_staged_history(runs, tmp_path):
    pytest.importorskip("matplotlib")
    staged = tmp_path / "staged"
    shutil.copytree(runs["fast"], staged)
    path = staged / "history.csv"
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    rows[0].append("stage")
    for i, row in enumerate(rows[1:]):
        row.append("0" if i < 2 else "1")  # 4 epochs: 2 in the first fit, 2 in stage 1
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    result = _invoke(["plot", str(staged), "-o", str(tmp_path / "s.png"), "--json"])
    drawn = json.loads(result.stdout)
    assert drawn["stage_marks"] == 2, "one mark per panel (loss, accuracy)"
    assert "stage" not in drawn["panels"], "the stage column is not a metric"


def test_plot_errors_are_clear(runs, tmp_path):
    missing = _invoke(["plot", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "no such run folder" in missing.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    not_run = _invoke(["plot", str(empty)])
    assert not_run.exit_code == 1 and "not a run folder" in not_run.stderr
    wrong = _invoke(["plot", runs["slow"], "-o", str(tmp_path / "x.jpg")])
    assert wrong.exit_code == 2 and "FILE.png" in wrong.stderr


def test_plot_without_matplotlib_says_how_to_get_it(runs, tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from kspec.cli.main import main; main(sys.argv[1:])")
    done = subprocess.run([sys.executable, "-c", code, "plot", runs["slow"], "-o", str(tmp_path / "p.png")],
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=REPO), timeout=120)
    assert done.returncode == 1, done.stderr
    assert "pip install 'kspec[plot]'" in done.stderr and "Traceback" not in done.stderr


# ------------------------------------------------------------------------------------------- plot-model

def test_plot_model_of_a_sequential_spec_is_a_chain(runs):
    result = _invoke(["plot-model", runs["fast"], "--show-shapes"])
    assert result.exit_code == 0, result.output
    dot = result.stdout
    assert dot.startswith("digraph G {") and dot.rstrip().endswith("}")
    assert "rankdir=TB, concentrate=true, dpi=200, splines=ortho" in dot
    assert dot.count("[label=<<table") == 2, "the Dense layers; no input box for a Sequential model"
    assert dot.count(" -> ") == 1 and '"dense" -> "dense_1";' in dot
    assert "Output shape: <b>(None, 3)</b>" in dot and "Input shape: <b>(None, 16)</b>" in dot
    assert "<b>Dense</b>" in dot, "Keras's default: class names without layer names"


def test_plot_model_of_a_graph_spec_draws_each_connection():
    result = _invoke(["plot-model", os.path.join(CONFIGS, "two_input.yaml"), "--show-layer-names",
                      "--show-trainable", "--show-layer-activations"])
    assert result.exit_code == 0, result.output
    dot = result.stdout
    for edge in ('"sepal" -> "sepal_h"', '"petal" -> "petal_h"', '"sepal_h" -> "both"', '"petal_h" -> "both"'):
        assert edge in dot
    assert dot.count(" -> ") == 6
    assert "<b>sepal</b> (InputLayer)" in dot and "Activation: <b>softmax</b>" in dot and "Trainable" in dot


def test_plot_model_renders_with_graphviz(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (apt-get install graphviz)")
    out = tmp_path / "model.png"
    result = _invoke(["plot-model", os.path.join(CONFIGS, "siamese.yaml"), "--show-shapes", "--dpi", "50",
                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    width, height = _png_size(out)
    assert width > 100 and height > 100


def test_plot_model_without_graphviz_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on the PATH
    result = _invoke(["plot-model", QUICKSTART, "-o", str(tmp_path / "m.png")])
    assert result.exit_code == 1 and "apt-get install graphviz" in result.stderr
    assert not (tmp_path / "m.png").exists()


# ---------------------------------------------------------------------------------------------- compare

def test_compare_shows_metrics_epochs_time_and_differing_keys(runs):
    result = _invoke(["compare", runs["fast"], runs["slow"], "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["differing_keys"] == ["compile.optimizer.Adam.learning_rate", "fit.epochs"]
    fast, slow = out["runs"]
    assert (fast["run"], fast["epochs"], slow["epochs"]) == ("fast", 4, 3)
    assert fast["spec"] == {"compile.optimizer.Adam.learning_rate": 0.02, "fit.epochs": 4}
    assert set(fast["test"]) == {"accuracy", "loss"} and set(fast["final"]) >= {"loss", "val_loss"}
    assert fast["wall_time"] is not None and fast["wall_time"] >= 0
    with open(os.path.join(runs["fast"], "metrics.json")) as f:
        assert fast["test"] == json.load(f)
    text = _invoke(["compare", runs["fast"], runs["slow"]]).stdout.splitlines()
    assert text[0].split()[:3] == ["run", "epochs", "time"] and "fit.epochs" in text[0]
    assert text[1].split()[:2] == ["fast", "4"] and text[2].split()[:2] == ["slow", "3"]


def test_compare_a_sweep_lists_its_trials(runs):
    out = json.loads(_invoke(["compare", runs["sweep"], "--json"]).stdout)
    assert [r["run"] for r in out["runs"]] == ["iris-sweep/trial-0", "iris-sweep/trial-1"]
    assert out["differing_keys"] == ["model.layers.0.Dense.units"]


def test_wall_time_comes_from_run_json_when_there_is_one(runs, tmp_path):
    from kspec.workbench.runs import wall_time

    copy = tmp_path / "timed"
    shutil.copytree(runs["slow"], copy)
    (copy / "run.json").write_text(json.dumps({"status": "interrupted", "epoch_wall_s": [1.5, 2.0, 2.5]}))
    assert wall_time(str(copy)) == 6.0, "the epochs' times"
    (copy / "run.json").write_text(json.dumps({"status": "interrupted", "epoch_wall_s": [1.5, 2.0, 2.5],
                                               "sessions": [{"wall_s": 4.0}, {"wall_s": 3.5}]}))
    assert wall_time(str(copy)) == 7.5, "the sessions' times (a resumed run has several)"
    out = json.loads(_invoke(["compare", str(copy), runs["slow"], "--json"]).stdout)
    assert [r["status"] for r in out["runs"]] == ["interrupted", "finished"]  # every run now writes run.json
    text = _invoke(["compare", str(copy), runs["slow"]]).stdout.splitlines()
    assert text[0].split()[3] == "status" and text[1].split()[2:4] == ["7.5s", "interrupted"]


# -------------------------------------------------------------------------------------- confusion matrix

def test_evaluate_confusion_on_a_real_run(runs):
    result = _invoke(["evaluate", runs["fast"], "--confusion", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    matrix = out["confusion_matrix"]
    assert matrix["classes"] == ["setosa", "versicolor", "virginica"], "the run's class names"
    assert matrix["samples"] == 30 == sum(map(sum, matrix["matrix"])), "every test flower once"
    assert [sum(row) for row in matrix["matrix"]] == [10, 10, 10], "10 test flowers per species"
    assert matrix["accuracy"] == pytest.approx(out["accuracy"], abs=1e-6), "the diagonal is the accuracy"
    text = _invoke(["evaluate", runs["fast"], "--confusion"]).stdout.splitlines()
    assert text[1].split()[-3:] == ["setosa", "versicolor", "virginica"]
    assert text[-1] == f"30 samples, accuracy {matrix['accuracy']:.4f}"


def test_the_confusion_matrix_counts_and_refuses_non_class_labels():
    import numpy as np

    from kspec.workbench import WorkbenchError
    from kspec.workbench.confusion import confusion_matrix

    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]], "float32")
    got = confusion_matrix(np.array([0, 1, 1, 1]), probs, ["no", "yes"])
    assert got["matrix"] == [[1, 0], [1, 2]] and got["classes"] == ["no", "yes"] and got["accuracy"] == 0.75
    binary = confusion_matrix(np.array([[1.0], [0.0]]), np.array([[0.7], [0.6]]))
    assert binary["matrix"] == [[0, 1], [0, 1]] and binary["classes"] == ["0", "1"]
    with pytest.raises(WorkbenchError, match="for classifiers"):
        confusion_matrix(np.array([0.5, 1.7, 2.2, 0.1]), probs)


# ------------------------------------------------------------------------------------------------ validate

def test_validate_takes_several_files_and_reports_errors_as_json(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmodel:\n  input_shape: [4]\n  layers:\n    - Dense: {unitz: 3}\ncompile: {loss: mse}\n")
    both = _invoke(["validate", QUICKSTART, str(bad)])
    assert both.exit_code == 2
    assert f"{QUICKSTART}: ok (iris)" in both.stdout
    assert f"{bad}:5:15: error: Dense: unknown argument 'unitz'" in both.stderr
    as_json = _invoke(["validate", str(bad), QUICKSTART, "--json"])
    assert as_json.exit_code == 2
    first, second = (json.loads(line) for line in as_json.stdout.splitlines())
    assert first["ok"] is False and first["file"] == str(bad) and first["exit_status"] == 2
    assert first["errors"][0]["line"] == 5 and first["errors"][0]["col"] == 15
    assert "did you mean 'units'" in first["errors"][0]["message"]
    assert second["ok"] is True and second["errors"] == [] and second["name"] == "iris"
    missing = _invoke(["validate", str(tmp_path / "none.yaml"), "--json"])
    assert missing.exit_code != 0 and json.loads(missing.stdout)["ok"] is False


# ------------------------------------------------------------------------------------------- list/explain

def test_list_every_kind():
    from kspec import registry

    counts = json.loads(_invoke(["list", "--json"]).stdout)
    assert set(counts) == {k + ("es" if k.endswith("s") else "s") for k in registry._PACKAGES}
    layers = json.loads(_invoke(["list", "layers", "--json"]).stdout)
    assert [e["name"] for e in layers] == [n for n, _ in registry.items("layer")]
    assert len(layers) == counts["layers"]
    text = _invoke(["list", "optimizers"]).stdout
    assert "Adam" in text and "(also adam)" in text
    bad = _invoke(["list", "layerz"])
    assert bad.exit_code == 1 and "the kinds are layers" in bad.stderr


def test_explain_shows_types_defaults_and_meanings():
    out = json.loads(_invoke(["explain", "Dense", "--json"]).stdout)
    (dense,) = out
    args = {a["name"]: a for a in dense["arguments"]}
    assert args["units"]["required"] and args["units"]["type"] == "int >= 1"
    assert args["units"]["description"].startswith("Positive integer")
    assert args["kernel_initializer"]["default"] == "glorot_uniform"
    assert args["kernel_initializer"]["type"] == "initializer"
    text = _invoke(["explain", "dense"]).stdout  # case-insensitive
    assert text.startswith("Dense (layer, kspec.layers.core)") and "glorot_uniform" in text
    shared = json.loads(_invoke(["explain", "mse", "--json"]).stdout)
    assert {e["kind"] for e in shared} == {"loss", "metric"}
    only = json.loads(_invoke(["explain", "mse", "--kind", "loss", "--json"]).stdout)
    assert [e["kind"] for e in only] == ["loss"]
    unknown = _invoke(["explain", "Dence"])
    assert unknown.exit_code == 1 and "did you mean Dense" in unknown.stderr


def test_every_registered_argument_has_a_meaning():
    from kspec import registry
    from kspec.workbench.catalog import arguments

    missing = [f"{kind}:{name}.{a['name']}" for kind in registry._PACKAGES for name, obj in registry.items(kind)
               for a in arguments(kind, obj) if not a["description"]]
    assert not missing, f"arguments without an Args: entry in a docstring: {missing}"


def test_the_schema_describes_arguments_with_the_same_text():
    from kspec.spec.schema import build_schema
    from kspec.workbench.catalog import explain

    schema = build_schema()
    for kind, name, arg in (("layer", "Dense", "units"), ("optimizer", "Adam", "beta_1"),
                            ("callback", "EarlyStopping", "patience"), ("loss", "CategoricalCrossentropy",
                                                                        "label_smoothing")):
        props = schema["$defs"][f"{kind}.{name}"]["anyOf"][0]["properties"]
        (entry,) = explain(name, kind)
        text = next(a["description"] for a in entry["arguments"] if a["name"] == arg)
        assert props[arg]["description"] == text, f"{kind} {name}.{arg}"


def test_args_sections_are_parsed_with_continuations():
    from kspec.docstrings import args_section

    doc = """Summary.

    Args:
        units: Positive integer,
            the size.
        activation (str): The activation.

    Returns:
        nothing: not an argument.
    """
    assert args_section(doc) == {"units": "Positive integer, the size.", "activation": "The activation."}


# ----------------------------------------------------------------------------------- help and completion

@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help_with_examples(name):
    result = _invoke([name, "--help"])
    assert result.exit_code == 0 and "Examples:" in result.stdout, name


def test_completion_offers_run_folders_and_specs(runs, tmp_path, monkeypatch):
    from kspec.cli.commands._complete import complete_runs, complete_specs

    base = os.path.dirname(runs["fast"])
    monkeypatch.chdir(base)
    assert [c.value for c in complete_runs(None, None, "")] == ["fast", "iris-sweep", "slow"]
    values = [c.value for c in complete_runs(None, None, "f")]
    assert values == ["fast"], "a run folder completes without a trailing /"
    assert [c.value for c in complete_runs(None, None, "iris")] == ["iris-sweep"], "a sweep folder is a run"
    (tmp_path / "runs" / "x").mkdir(parents=True)
    (tmp_path / "runs" / "x" / "model.h5").write_bytes(b"")
    (tmp_path / "runs" / "y").mkdir()
    monkeypatch.chdir(tmp_path)
    assert [c.value for c in complete_runs(None, None, "")] == [os.path.join("runs", "x"),
                                                                 os.path.join("runs", "y") + os.sep], \
        "with nothing typed, the runs under ./runs; a folder that is not a run ends in /"
    shutil.rmtree(tmp_path / "runs")
    (tmp_path / "a.yaml").write_text("x: 1")
    (tmp_path / "b.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    assert [c.value for c in complete_specs(None, None, "")] == ["a.yaml", "sub" + os.sep]


def test_shell_completion_through_click(runs, monkeypatch):
    monkeypatch.chdir(os.path.dirname(runs["fast"]))
    env = dict(os.environ, PYTHONPATH=REPO, _KSPEC_COMPLETE="bash_complete", COMP_WORDS="kspec plot s",
               COMP_CWORD="2")
    done = subprocess.run([sys.executable, "-c", "from kspec.cli.main import main; main()"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["plain,slow"], done.stdout + done.stderr


def test_commands_are_registered():
    assert set(WORKBENCH) <= set(cli.commands)
    assert isinstance(cli.commands["plot"], click.Command)
