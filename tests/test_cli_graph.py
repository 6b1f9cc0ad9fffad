"""Graph models through the command line (issue 5): ``kspec train`` the graph configs, evaluate, predict
from .npz files and JSON lines with several named inputs, outputs named per output (csv header, jsonl
objects, npz keys, --classes per output); one real shell pipeline."""
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from kspec.cli.main import cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(REPO, "configs")
PARTS_TEST = os.path.join(CONFIGS, "data", "iris_parts_test.npz")
PAIRS_TEST = os.path.join(CONFIGS, "data", "iris_pairs_test.npz")
TWO_OUTPUT = """\
name: two_output
seed: 0
data:
  train: {path: parts_train.npz, x: {sepal: sepal, petal: petal}, y: {species: species, wide: wide}}
  test: {path: parts_test.npz, x: {sepal: sepal, petal: petal}, y: {species: species, wide: wide}}
  y: {species: [{one_hot: 3}]}
model:
  inputs: {sepal: [2], petal: [2]}
  layers:
    - Concatenate: {name: both, input: [sepal, petal]}
    - Dense: {units: 3, activation: softmax, name: species, input: both}
    - Dense: {units: 1, activation: sigmoid, name: wide, input: both}
  outputs: [species, wide]
compile:
  optimizer: {Adam: {learning_rate: 0.05}}
  loss: {species: categorical_crossentropy, wide: binary_crossentropy}
  metrics: {species: [accuracy], wide: []}
fit: {batch_size: 16, epochs: 5}
"""


def load_npz(source):
    """Every array of an .npz file (read and closed at once)."""
    with np.load(source) as data:
        return dict(data)


def _invoke(args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Run folders of configs/two_input.yaml and configs/siamese.yaml (few epochs) and a two-output spec."""
    folder = tmp_path_factory.mktemp("cli_graph")
    out = {}
    for name, epochs in (("two_input", 10), ("siamese", 2)):
        result = _invoke(["train", os.path.join(CONFIGS, f"{name}.yaml"), "--run-dir", str(folder / name),
                          "--set", f"fit.epochs={epochs}", "-q"])
        assert result.exit_code == 0, result.stderr
        out[name] = json.loads(result.stdout)
    for split in ("train", "test"):
        parts = load_npz(os.path.join(CONFIGS, "data", f"iris_parts_{split}.npz"))
        np.savez(folder / f"parts_{split}.npz", sepal=parts["sepal"], petal=parts["petal"], species=parts["y"],
                 wide=(parts["petal"][:, 1] > 1.3).astype("float32"))
    (folder / "two_output.yaml").write_text(TWO_OUTPUT)
    result = _invoke(["train", str(folder / "two_output.yaml"), "--run-dir", str(folder / "two_output"), "-q"])
    assert result.exit_code == 0, result.stderr
    out["two_output"] = json.loads(result.stdout)
    out["folder"] = folder
    return out


def test_train_and_evaluate_graph_configs(runs):
    for name in ("two_input", "siamese"):
        result = _invoke(["evaluate", runs[name]["run_dir"]])
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout) == pytest.approx(runs[name]["metrics"], rel=1e-6), \
            f"{name}: evaluate != train's test metrics"
    assert sorted(runs["two_output"]["metrics"]) == ["loss", "species_accuracy", "species_loss", "wide_loss"], \
        f"two_output metric keys {sorted(runs['two_output']['metrics'])}"


def test_summary_of_a_graph_run_has_connections(runs):
    result = _invoke(["summary", runs["siamese"]["run_dir"]])
    assert result.exit_code == 0, result.stderr
    assert "Connected to" in result.stdout and "enc_hidden" in result.stdout, result.stdout


def test_predict_npz_and_jsonl_objects_agree(runs):
    folder = runs["two_input"]["run_dir"]
    from_npz = _invoke(["predict", folder, PARTS_TEST])
    assert from_npz.exit_code == 0, from_npz.stderr
    probs = np.array([[float(v) for v in line.split(",")] for line in from_npz.stdout.splitlines()])
    assert probs.shape == (30, 3), f"shape {probs.shape}: one csv row of 3 probabilities per sample"
    parts = load_npz(PARTS_TEST)
    lines = "".join(json.dumps({"sepal": s.tolist(), "petal": p.tolist()}) + "\n"
                    for s, p in zip(parts["sepal"], parts["petal"]))
    from_jsonl = _invoke(["predict", folder, "-", "--output-format", "jsonl"], input=lines)
    assert from_jsonl.exit_code == 0, from_jsonl.stderr
    assert np.allclose([json.loads(line) for line in from_jsonl.stdout.splitlines()], probs, rtol=1e-6), \
        "JSON lines of objects on stdin give the .npz file's predictions"


def test_predict_siamese_pairs_classes(runs):
    result = _invoke(["predict", runs["siamese"]["run_dir"], PAIRS_TEST, "--classes"])
    assert result.exit_code == 0, result.stderr
    predicted = np.array([int(v) for v in result.stdout.split()])
    same = load_npz(PAIRS_TEST)["same"]
    assert predicted.shape == (300,), f"{predicted.shape}: one class per pair"
    assert np.mean(predicted == same) == pytest.approx(runs["siamese"]["metrics"]["accuracy"], abs=1e-6), \
        "--classes agrees with the evaluated accuracy"


def test_several_outputs_are_named_in_every_format(runs):
    folder = runs["two_output"]["run_dir"]
    data = str(runs["folder"] / "parts_test.npz")
    csv = _invoke(["predict", folder, data]).stdout.splitlines()
    assert csv[0] == "species_0,species_1,species_2,wide_0", f"csv header {csv[0]!r}"
    assert len(csv) == 31 and len(csv[1].split(",")) == 4, "a header and 30 rows of 4 columns"
    jsonl = [json.loads(line) for line in _invoke(["predict", folder, data, "--output-format", "jsonl"]).stdout
             .splitlines()]
    assert list(jsonl[0]) == ["species", "wide"] and len(jsonl[0]["species"]) == 3, f"jsonl object {jsonl[0]}"
    assert [float(v) for v in csv[1].split(",")] == jsonl[0]["species"] + jsonl[0]["wide"], "csv and jsonl agree"
    npz = load_npz(io.BytesIO(_invoke(["predict", folder, data, "--output-format", "npz"]).stdout_bytes))
    assert sorted(npz) == ["species", "wide"] and npz["species"].shape == (30, 3), f"npz arrays {sorted(npz)}"
    np.testing.assert_array_equal(npz["wide"][:, 0], np.float32([row["wide"][0] for row in jsonl]),
                                  err_msg="npz vs jsonl (text is the shortest form that reads back to the float32)")

    classes = _invoke(["predict", folder, data, "--classes"]).stdout.splitlines()
    assert classes[0] == "species,wide", f"--classes csv header {classes[0]!r}"
    rows = [tuple(int(v) for v in line.split(",")) for line in classes[1:]]
    assert rows == [(int(np.argmax(j["species"])), int(j["wide"][0] > 0.5)) for j in jsonl], \
        "per-output classes: argmax for species, p > 0.5 for wide"
    as_json = [json.loads(line) for line in
               _invoke(["predict", folder, data, "--classes", "--output-format", "jsonl"]).stdout.splitlines()]
    assert as_json[0] == {"species": rows[0][0], "wide": rows[0][1]}, f"--classes jsonl {as_json[0]}"


def test_npy_with_several_outputs_is_a_usage_error(runs):
    result = _invoke(["predict", runs["two_output"]["run_dir"], str(runs["folder"] / "parts_test.npz"),
                      "--output-format", "npy"])
    assert result.exit_code == 2 and "use --output-format npz" in result.stderr, result.stderr


@pytest.mark.parametrize("data, words", [
    ("5.1,3.5\n", "the model takes 2 inputs ['sepal', 'petal'], but this input is a single array"),
    ('{"sepal": [5.1, 3.5]}\n', "no array for model input(s) petal; found ['sepal']"),
], ids=["csv_rows", "missing_key"])
def test_multi_input_errors_exit_1_with_one_line(runs, data, words):
    result = _invoke(["predict", runs["two_input"]["run_dir"], "-"], input=data)
    assert result.exit_code == 1 and words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr


def test_shell_pipeline_jsonl_pairs_through_predict(runs):
    """A real pipeline: JSON lines of pairs | kspec predict RUN - --classes | sort | uniq -c."""
    pairs = load_npz(PAIRS_TEST)
    lines = "".join(json.dumps({"left": l.tolist(), "right": r.tolist()}) + "\n"
                    for l, r in zip(pairs["left"][:40], pairs["right"][:40]))
    (runs["folder"] / "pairs.jsonl").write_text(lines)
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    command = (f"cat pairs.jsonl | {sys.executable} -m kspec predict {runs['siamese']['run_dir']} - --classes "
               "| sort | uniq -c")
    done = subprocess.run(["bash", "-c", "set -o pipefail; " + command], cwd=runs["folder"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    counts = {line.split()[1]: int(line.split()[0]) for line in done.stdout.splitlines()}
    assert sum(counts.values()) == 40 and set(counts) <= {"0", "1"}, counts
