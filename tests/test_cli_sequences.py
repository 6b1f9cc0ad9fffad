"""Sequence data through the command line (issue 7): specs that read token ids and raw text, predict on raw
text lines and ragged id lines with the state the run keeps, and errors that name the file and line."""
import io
import json
import os
import re

import numpy as np
import pytest
from click.testing import CliRunner

from kspec import run
from kspec.cli.main import cli
from kspec.data.sequences import pad_sequences

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(REPO, "configs")
DATA = os.path.join(CONFIGS, "data")
SENTENCES = ["Heavy rain and a storm before the match", "The pasta was really spicy", "",
             "Our striker scored a late goal!", "fog and frost, then snow"]


def _invoke(args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sequences")
    out = {}
    for name, overrides in (("topics_text", []), ("ragged_sequences", ["fit.epochs=3"]),
                            ("masked_sequences", ["fit.epochs=3"])):
        args = ["train", os.path.join(CONFIGS, f"{name}.yaml"), "--run-dir", str(folder / name), "-q"]
        result = _invoke(args + [a for o in overrides for a in ("--set", o)])
        assert result.exit_code == 0, result.stderr
        out[name] = json.loads(result.stdout)
    out["folder"] = folder
    return out


def _floats(stdout):
    return np.array([[float(v) for v in line.split(",")] for line in stdout.splitlines()], dtype=np.float32)


def test_text_example_trains_from_jsonl_objects(runs):
    result = runs["topics_text"]
    assert result["metrics"]["accuracy"] >= 0.9, f"the topic words give the class away: {result['metrics']}"
    evaluated = _invoke(["evaluate", result["run_dir"]])
    assert evaluated.exit_code == 0, evaluated.stderr
    assert json.loads(evaluated.stdout) == pytest.approx(result["metrics"], rel=1e-6), \
        "evaluate == train's test metrics"


def test_predict_reads_raw_text_lines_like_the_padded_ids(runs):
    """stdin and a .txt file of raw text give the predictions of the model on ids made by hand from the stored
    vocabulary (lowercase, [a-z]+ words, unknown -> 1, post-padded to 16)."""
    folder = runs["topics_text"]["run_dir"]
    text = "\n".join(SENTENCES) + "\n"
    from_stdin = _invoke(["predict", folder, "-"], input=text)
    assert from_stdin.exit_code == 0, from_stdin.stderr
    (runs["folder"] / "lines.txt").write_text(text)
    from_file = _invoke(["predict", folder, str(runs["folder"] / "lines.txt")])
    assert from_file.stdout == from_stdin.stdout, "a .txt file reads like stdin"

    with open(os.path.join(folder, "preprocessing.json")) as f:
        vocabulary = json.load(f)["x"]["steps"][0]["vocabulary"]
    index = {t: i for i, t in enumerate(vocabulary)}
    samples = [s for s in SENTENCES if s.strip()]
    ids = pad_sequences([[index.get(w, 1) for w in re.findall("[a-z]+", s.lower())] for s in samples],
                        maxlen=16, padding="post", truncating="post")
    expected = run.load_run(folder, compile=False).model.predict(ids, verbose=0)
    np.testing.assert_array_equal(_floats(from_stdin.stdout), expected,
                                  err_msg="one row per non-blank line, the stored vocabulary and padding")
    classes = _invoke(["predict", folder, "-", "--classes"], input=text).stdout.split()
    assert classes == ["weather", "food", "sport", "weather"], f"class names kept in the run: {classes}"
    as_json = "".join(json.dumps({"text": s}) + "\n" for s in samples)
    from_jsonl = _invoke(["predict", folder, "-", "--input-format", "jsonl"], input=as_json)
    assert from_jsonl.stdout == from_stdin.stdout, "JSON lines objects name the text field like the spec's x"


def test_ragged_ids_train_like_the_padded_npz(runs):
    ragged, padded = runs["ragged_sequences"], runs["masked_sequences"]
    assert ragged["history"] == padded["history"] and ragged["metrics"] == padded["metrics"], \
        "token-id lines padded by pad_sequences == the same ids padded in the .npz"
    evaluated = _invoke(["evaluate", ragged["run_dir"]])
    assert evaluated.exit_code == 0, evaluated.stderr
    assert json.loads(evaluated.stdout) == pytest.approx(ragged["metrics"], rel=1e-6), \
        "evaluate reads the test split's id and label files again from the run folder's config"


def test_predict_reads_ragged_id_lines(runs):
    folder = runs["ragged_sequences"]["run_dir"]
    seqs = [[1, 2, 3], [9, 8, 7, 6, 5, 5], [5] * 20, [7]]
    as_text = _invoke(["predict", folder, "-"], input="".join(" ".join(map(str, s)) + "\n" for s in seqs))
    as_json = _invoke(["predict", folder, "-"], input="".join(json.dumps(s) + "\n" for s in seqs))
    assert as_text.exit_code == 0 and as_json.exit_code == 0, as_text.stderr + as_json.stderr
    expected = run.load_run(folder, compile=False).model.predict(pad_sequences(seqs, 12, padding="post"), verbose=0)
    np.testing.assert_array_equal(_floats(as_text.stdout), expected, err_msg="ids per line, padded like training")
    assert as_json.stdout == as_text.stdout, "JSON lists of any length read the same"
    test_file = _invoke(["predict", folder, os.path.join(DATA, "sequences_test.txt")])
    padded = _invoke(["predict", runs["masked_sequences"]["run_dir"], os.path.join(DATA, "sequences_test.npz")])
    assert test_file.stdout == padded.stdout and len(test_file.stdout.splitlines()) == 120, \
        "the test file of ragged ids == the padded .npz through the twin run"


def test_text_run_from_npz_predicts_raw_text_from_stdin(tmp_path):
    """A run trained on an .npz of strings (like configs/fortunes_gru.yaml) reads raw text lines in predict."""
    rng = np.random.default_rng(0)
    words = [["der", "die", "und", "nicht"], ["el", "la", "y", "no"]]
    np.savez(tmp_path / "text.npz", x=np.array([" ".join(rng.choice(words[i % 2], 4)) for i in range(60)]),
             y=np.arange(60) % 2)
    spec = {"name": "text", "seed": 0,
            "data": {"train": {"path": str(tmp_path / "text.npz")}, "x": ["text_vectorize", {"pad_sequences": 6}]},
            "model": {"input_shape": [6], "layers": [{"Embedding": {"input_dim": 12, "output_dim": 4}},
                                                     "GlobalAveragePooling1D",
                                                     {"Dense": {"units": 2, "activation": "softmax"}}]},
            "compile": {"optimizer": {"Adam": {"learning_rate": 0.05}}, "loss": "sparse_categorical_crossentropy"},
            "fit": {"batch_size": 16, "epochs": 20, "verbose": 0}}
    folder = run.train(spec, run_dir=str(tmp_path / "run"), verbose=0, stream=io.StringIO()).run_dir
    result = _invoke(["predict", folder, "-", "--classes"], input="und die der\nNO y la el\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == ["0", "1"], f"raw text lines through the stored vocabulary: {result.stdout!r}"


SPEC = """\
name: bad
data:
  train: {x: ids.txt, y: labels.txt, format: FORMAT}
  x: [{pad_sequences: 4}]
model:
  input_shape: [4]
  layers: [{Embedding: {input_dim: 10, output_dim: 2}}, GlobalAveragePooling1D, {Dense: 1}]
compile: {loss: mse}
"""


def test_validate_names_the_spec_line_and_the_data_line(tmp_path):
    (tmp_path / "ids.txt").write_text("1 2 3\n4 five 6\n")
    (tmp_path / "labels.txt").write_text("1\n0\n")
    bad_format = tmp_path / "format.yaml"
    bad_format.write_text(SPEC.replace("FORMAT", "sequence"))
    result = _invoke(["validate", str(bad_format)])
    assert result.exit_code == 2, result.output
    col = bad_format.read_text().splitlines()[2].index("sequence") + 1
    assert f"{bad_format}:3:{col}: error: data.train: unknown format 'sequence' (did you mean 'sequences'?)" \
        in result.stderr, result.stderr
    bad_line = tmp_path / "line.yaml"
    bad_line.write_text(SPEC.replace("FORMAT", "sequences"))
    assert _invoke(["validate", str(bad_line)]).exit_code == 0, "the spec itself is fine"
    result = _invoke(["validate", str(bad_line), "--data"])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert re.search(rf"^{re.escape(str(bad_line))}:3:10: error: .*ids\.txt: line 2: 'five' is not an integer id",
                     result.stderr, re.M), result.stderr
    table = tmp_path / "table.yaml"
    table.write_text(SPEC.replace("format: FORMAT", "format: text, label_column: 0"))
    result = _invoke(["validate", str(table)])
    col = table.read_text().splitlines()[2].index("label_column") + 1
    assert result.exit_code == 2 and f"{table}:3:{col}: error: data.train: label_column is an option of csv tables" \
        in result.stderr, result.stderr


def test_predict_errors_name_the_line(runs):
    folder = runs["ragged_sequences"]["run_dir"]
    result = _invoke(["predict", folder, "-"], input="1 2 3\n4 5 x\n")
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "<stdin>: line 2: 'x' is not an integer id" in result.stderr, result.stderr
    result = _invoke(["predict", runs["topics_text"]["run_dir"], "-"], input="\n \n")
    assert result.exit_code == 1 and "<stdin>: no text lines" in result.stderr, result.stderr
