"""``stages:`` in a spec: after the first fit, each stage sets ``trainable`` flags in order, recompiles with
a new optimizer (its compile keys replace the top-level ones) and fits again (its fit keys likewise);
history.csv lists every epoch of every stage with a ``stage`` column; every misuse is a spec error at its
line."""
import csv
import io
import os

import numpy as np
import pytest

from kspec import run
from kspec.spec import SpecError, load_text

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IRIS = os.path.join(REPO, "configs", "data", "iris_train.csv")
SPEC = f"""\
name: st
seed: 1
data:
  train: {{path: {IRIS}, label_column: species}}
model:
  input_shape: [4]
  layers:
    - Dense: {{units: 8, activation: relu, name: hidden}}
    - Dense: {{units: 3, activation: softmax, name: head}}
compile: {{optimizer: adam, loss: sparse_categorical_crossentropy, metrics: [accuracy]}}
fit: {{epochs: 2, verbose: 0, batch_size: 32}}
"""
STAGES = """\
stages:
  - trainable: {hidden: false}
    compile: {optimizer: {SGD: {learning_rate: 0.05}}}
    fit: {epochs: 3}
"""


def train(text, folder, overrides=()):
    return run.train(load_text(text, file=str(folder / "st.yaml"), base_dir=str(folder)),
                     run_dir=str(folder / f"run{len(os.listdir(folder))}"), overrides=overrides,
                     stream=io.StringIO())


def test_stage_freezes_recompiles_and_logs_every_epoch(tmp_path):
    staged = train(SPEC + STAGES, tmp_path)
    plain = train(SPEC, tmp_path)
    with open(os.path.join(staged.run_dir, "history.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [(r["epoch"], r["stage"]) for r in rows] == [("0", "0"), ("1", "0"), ("2", "1"), ("3", "1"), ("4", "1")]
    assert len(staged.history["loss"]) == 5, "the run's history runs through the stages"
    a, b = run.load_run(staged.run_dir).model, run.load_run(plain.run_dir).model
    np.testing.assert_array_equal(a.get_layer("hidden").get_weights()[0], b.get_layer("hidden").get_weights()[0],
                                  err_msg="a layer frozen in the stage keeps the weights of the first fit")
    assert not np.array_equal(a.get_layer("head").get_weights()[0], b.get_layer("head").get_weights()[0])
    assert type(a.optimizer).__name__ == "SGD", "the stage recompiled with its optimizer"
    with open(os.path.join(staged.run_dir, "config.yaml")) as f:
        config = f.read()
    assert "stages:" in config and "learning_rate: 0.05" in config


def test_set_overrides_a_stage(tmp_path):
    result = train(SPEC + STAGES, tmp_path, overrides=["stages.0.fit.epochs=1"])
    assert len(result.history["loss"]) == 3


@pytest.mark.parametrize("stages, line_col, words", [
    ("stages:\n  - trainable: {hiden: false}\n", (13, 17), "no layer 'hiden' in the model (did you mean 'hidden'?)"),
    ("stages: {trainable: {hidden: false}}\n", (12, 9), "stages must be a list"),
    ("stages:\n  - trainable: {hidden: no way}\n", (13, 25), "must be true or false"),
    ("stages:\n  - trainables: {hidden: false}\n", (13, 5), "unknown key 'trainables' (did you mean 'trainable'?)"),
    ("stages:\n  - fit: {epochs: 0}\n", (13, 19), "epochs"),
    ("stages:\n  - compile: {optimizer: adamm}\n", (13, 26), "optimizer"),
    ("stages:\n  - trainable: [hidden]\n", (13, 16), "maps layer paths to true or false"),
], ids=["path-typo", "not-a-list", "flag", "unknown-key", "epochs", "optimizer", "trainable-list"])
def test_stage_misuse_is_a_spec_error_at_its_line(tmp_path, stages, line_col, words):
    with pytest.raises(SpecError) as info:
        run.validate(load_text(SPEC + stages, file="st.yaml", base_dir=str(tmp_path)))
    found = [(d.line, d.col, d.message) for d in info.value.diagnostics]
    assert any((line, col) == line_col and words in message for line, col, message in found), found
