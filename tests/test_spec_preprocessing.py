"""Preprocessing layers in a spec: Normalization is adapted on the training split before fit (and kept in
the model file, so predict takes raw inputs); the random layers train and leave predictions untouched."""
import io
import os
import textwrap

import numpy as np

from kspec import run
from kspec.spec import load_text

SPEC = """\
name: pre
seed: 3
data:
  train: {path: train.npz}
model:
  input_shape: [6, 6, 1]
  layers:
    - Rescaling: 0.00392156862745098
    - Normalization: {axis: null}
    - RandomFlip: horizontal
    - RandomRotation: {factor: 0.05, fill_mode: nearest}
    - Flatten
    - Dense: {units: 2, activation: softmax}
compile: {optimizer: adam, loss: sparse_categorical_crossentropy, metrics: [accuracy]}
fit: {epochs: 2, batch_size: 16, verbose: 0}
"""


def test_normalization_is_adapted_on_the_training_split_and_saved(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(40, 6, 6, 1)).astype("uint8")
    y = (x.reshape(40, -1).mean(axis=1) > 127).astype("int64")
    np.savez(tmp_path / "train.npz", x=x, y=y)
    doc = load_text(SPEC, file=str(tmp_path / "pre.yaml"), base_dir=str(tmp_path))
    result = run.train(doc, run_dir=str(tmp_path / "run"), stream=io.StringIO())
    loaded = run.load_run(result.run_dir)
    norm = loaded.model.get_layer("normalization")
    scaled = x.astype("float64") / 255.0
    np.testing.assert_allclose(norm.get_weights()[0], [scaled.mean()], rtol=1e-5,
                               err_msg="the mean is the training split's (after Rescaling)")
    np.testing.assert_allclose(norm.get_weights()[1], [scaled.var()], rtol=1e-4)
    first = run.predict(result.run_dir, x[:5])
    np.testing.assert_array_equal(first, run.predict(result.run_dir, x[:5]),
                                  err_msg="random layers are off at inference: predictions repeat")
    assert os.path.exists(os.path.join(result.run_dir, "model.h5"))
    again = run.train(load_text(SPEC, file=str(tmp_path / "pre.yaml"), base_dir=str(tmp_path)),
                      run_dir=str(tmp_path / "run2"), stream=io.StringIO())
    assert again.history == result.history, "the spec's seed makes augmented training reproducible"


def test_validate_knows_the_new_layers(tmp_path):
    text = SPEC.replace("RandomFlip: horizontal", "RandomFlip: {mode: diagonal}")
    np.savez(tmp_path / "train.npz", x=np.zeros((2, 6, 6, 1)), y=np.zeros(2))
    from kspec.spec import SpecError
    try:
        run.validate(load_text(text, file="pre.yaml", base_dir=str(tmp_path)))
    except SpecError as e:
        message = e.format()
    else:
        raise AssertionError("a bad RandomFlip mode must be a spec error")
    assert "pre.yaml:10:" in message and "unknown mode" in message, message
    assert textwrap  # noqa (kept for readable multi-line specs)
