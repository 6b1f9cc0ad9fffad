"""Issue 4's safety and convenience parts: Lambda expressions, Python references only with --allow-code,
model files that never run code, repeat blocks, anchors, and clean errors from bad model files."""
import os

import numpy as np
import pytest
from click.testing import CliRunner

from kspec.cli.main import cli
from kspec.engine import Tensor
from kspec.layers import Lambda, clear_session
from kspec.layers.expression import ExpressionError, parse, to_function
from kspec.models import Sequential
from kspec.spec import SpecError, build_model, load_text, resolve
from kspec.testing import check_backward

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = os.path.join(HERE, "spec_corpus", "files")
IRIS = os.path.join(os.path.dirname(HERE), "configs", "data", "iris_train.csv")


def _spec(layers, loss="mse", extra=""):
    body = "\n".join("    - " + line for line in layers)
    return f"name: t\nmodel:\n  input_shape: [4]\n  layers:\n{body}\ncompile: {{loss: {loss}}}\n{extra}"


def _build(text):
    doc = load_text(text, file="config.yaml")
    spec = resolve(doc)
    return doc, spec, build_model(spec, doc)


# -- expressions --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, fn", [
    ("x * sigmoid(x)", lambda x: x / (1 + np.exp(-x))),
    ("ops.mean(x, axis=1, keepdims=True)", lambda x: x.mean(axis=1, keepdims=True)),
    ("maximum(x, 0.5) - x ** 3 + 2 * x", lambda x: np.maximum(x, 0.5) - x ** 3 + 2 * x),
    ("x[:, 1:3] * x[:, 0:2]", lambda x: x[:, 1:3] * x[:, 0:2]),
    ("-relu(x) / (1 + abs(x)) + pi", lambda x: -np.maximum(x, 0) / (1 + np.abs(x)) + np.pi),
    ("sum(square(x), axis=-1)", lambda x: (x ** 2).sum(axis=-1)),
], ids=["swish", "ops-prefix", "power", "slice", "constants", "nested"])
def test_expressions_compute_and_differentiate(text, fn):
    f = to_function(text)
    x = np.random.default_rng(0).normal(size=(3, 4))
    got = f(Tensor(x.astype(np.float32))).data
    np.testing.assert_allclose(got, fn(x).astype(np.float32), rtol=1e-5, atol=1e-6,
                               err_msg=f"value of {text!r}")
    assert got.dtype == np.float32, f"{text!r} gives {got.dtype}"
    check_backward(f, [x])


@pytest.mark.parametrize("text, words, offset", [
    ("x.__class__", "attribute access", 0),
    ("__import__('os')", "unknown function '__import__'", 0),
    ("x + os.system('true')", "attribute access is not allowed", 4),
    ("[v for v in x]", "comprehensions", 0),
    ("(lambda v: v)(x)", "only functions called by name", 1),
    ("x if x else 1", "if-expressions", 0),
    ("x + y", "unknown name 'y'", 4),
    ("exec('1')", "unknown function 'exec'", 0),
    ("mean(x, axis='1')", "str constants", 13),
    ("mean(*x)", "*arguments", 5),
    ("x[x]", "an index is an integer constant", 2),
    ("x * (", "invalid expression", None),
    ("", "empty", None),
    ("getattr(x, 'data')", "unknown function 'getattr'", 0),
    ("mean(x, __class__=1)", "argument name", 18),
], ids=["dunder-attribute", "import", "module-attribute", "comprehension", "lambda", "ifexp", "name",
        "exec", "string", "starred", "tensor-index", "syntax", "empty", "getattr", "dunder-keyword"])
def test_expressions_outside_the_language_are_refused(text, words, offset):
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert words in info.value.message, f"{text!r}: {info.value.message!r}"
    if offset is not None:
        assert info.value.offset == offset, f"{text!r}: column offset {info.value.offset}"


def test_a_deeply_nested_expression_is_refused_cleanly():
    with pytest.raises(ExpressionError):
        parse("(" * 500 + "x" + ")" * 500)
    with pytest.raises(ExpressionError):
        parse("-" * 200 + "x")


def test_an_expression_lambda_trains_and_round_trips_through_a_model_file(tmp_path):
    from kspec.io import load_model, save_model

    doc, spec, model = _build(_spec(["Dense: 3", "Lambda: \"x * sigmoid(x)\"", "Dense: 1"]))
    assert model.layers[1].output_shape == (None, 3), "the Lambda's shape is inferred"
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(1).normal(size=(8, 4)).astype(np.float32)
    before = model.layers[0].kernel.data.copy()
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    assert not np.allclose(before, model.layers[0].kernel.data), "gradients flow through the expression"
    save_model(model, str(tmp_path / "m.h5"))
    loaded = load_model(str(tmp_path / "m.h5"))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6,
                               err_msg="the reloaded expression computes the same")


def test_a_python_lambda_in_a_model_file_is_refused(tmp_path):
    from kspec.io import ModelFileError, load_model, save_model

    from kspec.layers import InputLayer

    clear_session()
    model = Sequential()
    model.add(InputLayer(shape=(4,)))
    model.add(Lambda(lambda x: x * 2))
    save_model(model, str(tmp_path / "code.h5"), include_optimizer=False)
    with pytest.raises((ModelFileError, ValueError)) as info:
        load_model(str(tmp_path / "code.h5"))
    assert "arbitrary code" in str(info.value) or "safe_mode" in str(info.value), str(info.value)
    result = CliRunner().invoke(cli, ["summary", str(tmp_path / "code.h5")])
    assert result.exit_code == 1 and "arbitrary code" in result.output, result.output


def test_python_references_need_allow_code(monkeypatch):
    monkeypatch.delenv("KSPEC_ALLOW_CODE", raising=False)
    text = _spec(["Lambda: {function: \"kspec.activations:relu\"}", "Dense: 1"])
    with pytest.raises(SpecError) as info:
        _build(text)
    (d,) = info.value.diagnostics
    assert d.line == 5 and "Python reference" in d.message and "--allow-code" in d.hint, d.format()
    monkeypatch.setenv("KSPEC_ALLOW_CODE", "1")
    _, _, model = _build(text)
    out = model.predict(np.array([[-1, 2, -3, 4]], np.float32), verbose=0)
    assert out.shape == (1, 1), f"built with the referenced function: {out.shape}"


def test_allow_code_flag_of_the_cli(tmp_path, monkeypatch):
    monkeypatch.delenv("KSPEC_ALLOW_CODE", raising=False)
    path = tmp_path / "c.yaml"
    path.write_text(_spec(["Lambda: {function: \"kspec.activations:relu\"}", "Dense: 1"]))
    refused = CliRunner().invoke(cli, ["validate", str(path)])
    assert refused.exit_code == 2 and "Python reference" in refused.output, refused.output
    allowed = CliRunner().invoke(cli, ["validate", "--allow-code", str(path)])
    assert allowed.exit_code == 0, allowed.output
    monkeypatch.delenv("KSPEC_ALLOW_CODE", raising=False)  # the flag sets it for the process


# -- repeat and anchors --------------------------------------------------------------------------------

def test_repeat_expands_blocks_with_unique_names_and_lines():
    text = ("name: t\nmodel:\n  input_shape: [4]\n  layers:\n    - repeat:\n        times: 3\n        layers:\n"
            "          - Dense: {units: 5, name: block}\n          - Dropout: 0.1\n    - Dense: 1\n"
            "compile: {loss: mse}\n")
    doc, spec, model = _build(text)
    names = [layer.name for layer in model.layers]
    assert names == ["block", "dropout", "block_1", "dropout_1", "block_2", "dropout_2", "dense"], names
    assert doc.where(("model", "layers", 4, "Dense", "units"))[1] == 8, "a copy keeps its block's line"
    assert doc.where(("model", "layers", 6))[1] == 10, "the entry after the block keeps its line"


def test_nested_repeat_and_anchors():
    text = "name: t\n" \
        "model:\n  input_shape: [4]\n  layers:\n    - &hidden {Dense: {units: 4, activation: relu}}\n" \
        "    - repeat: {times: 2, layers: [*hidden, {repeat: {times: 2, layers: [Dropout: 0.1]}}]}\n" \
        "    - Dense: 1\ncompile: {loss: mse}\n"
    _, spec, model = _build(text)
    classes = [type(layer).__name__ for layer in model.layers]
    assert classes == ["Dense", "Dense", "Dropout", "Dropout", "Dense", "Dropout", "Dropout", "Dense"], classes


# -- bad model files on every command ------------------------------------------------------------------

@pytest.mark.parametrize("command, name", [
    ("evaluate", "truncated.h5"), ("evaluate", "garbage.h5"), ("summary", "not_a_model.h5"),
    ("summary", "empty.h5"), ("predict", "truncated.h5"), ("evaluate", "not_a_model.h5"),
], ids=["evaluate-truncated", "evaluate-garbage", "summary-not-a-model", "summary-empty", "predict-truncated",
        "evaluate-not-a-model"])
def test_bad_model_files_give_one_clear_line(command, name):
    args = [command, os.path.join(FILES, name)] + (["-"] if command == "predict" else [])
    result = CliRunner().invoke(cli, args, input="1,2,3,4\n")
    assert result.exit_code == 1, f"exit {result.exit_code}: {result.output}"
    assert "Traceback" not in result.output and "unexpected" not in result.output, result.output
    assert name in result.output, f"the message names the file: {result.output}"


def test_a_failed_check_leaves_no_run_folder(tmp_path):
    spec = tmp_path / "c.yaml"
    spec.write_text(f"name: t\ndata:\n  train: {{path: {os.path.join(FILES, 'labels5.npz')}, x: x, y: y}}\n"
                    "model:\n  input_shape: [4]\n  layers: [{Dense: {units: 3, activation: softmax}}]\n"
                    "compile: {loss: sparse_categorical_crossentropy}\nfit: {epochs: 1}\n")
    result = CliRunner().invoke(cli, ["train", str(spec), "--run-dir", str(tmp_path / "run"), "-q"])
    assert result.exit_code == 2, result.output
    assert f"{spec}:3:10: error: data.train: the labels run from 0 to 4" in result.output, result.output
    assert not (tmp_path / "run").exists(), "no run folder after a failed check"


def test_validate_prints_shapes_and_params_and_checks_data():
    spec = os.path.join(os.path.dirname(HERE), "configs", "quickstart.yaml")
    result = CliRunner().invoke(cli, ["validate", spec, "--data"])
    assert result.exit_code == 0, result.output
    assert "(None, 16)" in result.output and "80" in result.output, result.output
    assert "total params: 131" in result.output, result.output
    assert "data: ok (train 120 samples, test 30 samples)" in result.output, result.output
