"""``model.weights`` in a spec: a path, or ``{path, by_name, skip_mismatch}`` as Keras's legacy
``load_weights`` takes them; a new head of another shape keeps its own weights; the run reports on stderr
what was loaded and skipped; every misuse is a spec error at its line."""
import io
import os
import textwrap

import numpy as np
import pytest

from kspec import run
from kspec.spec import SpecError, load_text, resolve

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IRIS = os.path.join(REPO, "configs", "data", "iris_train.csv")


def spec_text(weights, head_units=3, middle=False):
    return textwrap.dedent(f"""\
        name: t
        seed: 2
        data:
          train: {{path: {IRIS}, label_column: species}}
        model:
          input_shape: [4]
          weights: {weights}
          layers:
            - Dense: {{units: 8, activation: relu, name: hidden}}
        {"    - Dense: {units: 5, activation: relu, name: mid}" if middle else ""}
            - Dense: {{units: {head_units}, activation: softmax, name: head}}
        compile: {{optimizer: adam, loss: sparse_categorical_crossentropy}}
        fit: {{epochs: 1, verbose: 0, batch_size: 16}}
        """)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weights")
    text = spec_text("null").replace("  weights: null\n", "")
    result = run.train(load_text(text, file=str(folder / "base.yaml"), base_dir=str(folder)),
                       run_dir=str(folder / "base"), stream=io.StringIO())
    return folder, run.load_run(result.run_dir).model


def _errors(text, folder):
    with pytest.raises(SpecError) as info:
        resolve(load_text(text, file="spec.yaml", base_dir=str(folder)))
    return [(d.line, d.col, d.message) for d in info.value.diagnostics]


def test_plain_path_resolves_to_the_mapping(base):
    folder, _ = base
    spec = resolve(load_text(spec_text("base/model.h5"), file="spec.yaml", base_dir=str(folder)))
    assert spec["model"]["weights"] == {"path": str(folder / "base" / "model.h5"), "by_name": False,
                                        "skip_mismatch": False}


def test_partial_weights_by_name_keep_the_new_head_and_report(base):
    folder, trained = base
    text = spec_text("{path: base/model.h5, by_name: true, skip_mismatch: true}", middle=True)
    stream = io.StringIO()
    result = run.train(load_text(text, file=str(folder / "new.yaml"), base_dir=str(folder)),
                       run_dir=str(folder / "new"), overrides=["fit.epochs=1", "compile.optimizer={SGD: {learning_rate: 0}}"],
                       stream=stream)
    log = stream.getvalue()
    assert "loaded weights of 1 layer(s)" in log and ": hidden" in log, log
    assert "kept their initial weights: mid" in log, log
    assert "partly loaded (some weights skipped): head" in log, "Keras skips per weight: the bias fits"
    assert "skipped: layer 'head' weight 0 (kernel) has shape (5, 3) in the model but (8, 3) in the file" in log, log
    new = run.load_run(result.run_dir).model
    np.testing.assert_array_equal(new.get_layer("hidden").get_weights()[0],
                                  trained.get_layer("hidden").get_weights()[0],
                                  err_msg="the base layer's weights must come from the file (lr 0: unchanged)")
    assert new.get_layer("head").get_weights()[0].shape == (5, 3)


def test_without_skip_mismatch_a_new_head_is_an_error_at_the_weights_line(base):
    folder, _ = base
    text = spec_text("{path: base/model.h5, by_name: true}", middle=True)
    with pytest.raises(Exception) as info:
        run.train(load_text(text, file=str(folder / "bad.yaml"), base_dir=str(folder)),
                  run_dir=str(folder / "bad"), stream=io.StringIO())
    assert type(info.value).__name__ == "ModelFileError", info.value
    assert "has shape (5, 3) in the model but (8, 3) in the file" in str(info.value)
    assert info.value.spec_location[1] == 7, "the error points at the model.weights line"
    assert not os.path.exists(folder / "bad"), "no run folder for a run that never started"


@pytest.mark.parametrize("weights, line_col, words", [
    ("{path: base/model.h5, by_nam: true}", (7, 34), "unknown key 'by_nam' (did you mean 'by_name'?)"),
    ("{by_name: true}", (7, 3), "missing key 'path'"),
    ("{path: base/model.h5, skip_mismatch: 1}", (7, 49), "skip_mismatch must be true or false, found the number 1"),
    ("{path: base/missing.h5}", (7, 19), "file not found: base/missing.h5"),
    ("[base/model.h5]", (7, 12), "must be a file path or a mapping"),
    ("{path: base/x.keras, by_name: true}", (7, 33), "by_name needs a legacy .h5 file"),
], ids=["typo", "no-path", "flag-type", "missing-file", "list", "by-name-keras"])
def test_weights_misuse_is_a_spec_error_at_its_line(base, weights, line_col, words):
    folder, _ = base
    (folder / "base" / "x.keras").write_bytes(b"")
    errors = _errors(spec_text(weights), folder)
    assert any((line, col) == line_col and words in message for line, col, message in errors), errors
