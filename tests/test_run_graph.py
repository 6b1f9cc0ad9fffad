"""Graph models end to end through :mod:`kspec.run` (issue 5): train the graph configs into a run folder,
evaluate, and predict from arrays, dicts, .npz/.h5 files and JSON lines with several named inputs;
several outputs through the spec (named y arrays, per-output losses); Fashion-MNIST's residual MLP on a
subset."""
import io
import json
import os

import h5py
import numpy as np
import pytest

from kspec import run
from kspec.data import DataError, load_dataset
from kspec.run_files import pick_inputs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(REPO, "configs")
PARTS_TEST = os.path.join(CONFIGS, "data", "iris_parts_test.npz")
PAIRS_TEST = os.path.join(CONFIGS, "data", "iris_pairs_test.npz")

TWO_OUTPUT = """\
name: iris_two_output
seed: 0
data:
  train: {path: parts_train.npz, x: {sepal: sepal_cm, petal: petal_cm}, y: {species: species, wide: wide}}
  test: {path: parts_test.npz, x: {sepal: sepal_cm, petal: petal_cm}, y: {species: species, wide: wide}}
  x: {sepal: [standardize], petal: [standardize]}
  y: {species: [{one_hot: 3}]}
model:
  inputs: {sepal: [2], petal: [2]}
  layers:
    - Concatenate: {name: both, input: [sepal, petal]}
    - Dense: {units: 8, activation: relu, name: h}
    - Dense: {units: 3, activation: softmax, name: species, input: h}
    - Dense: {units: 1, activation: sigmoid, name: wide, input: h}
  outputs: [species, wide]
compile:
  optimizer: {Adam: {learning_rate: 0.02}}
  loss: {species: categorical_crossentropy, wide: binary_crossentropy}
  loss_weights: {species: 1.0, wide: 0.5}
  metrics: {species: [accuracy], wide: [accuracy]}
fit: {batch_size: 16, epochs: 20, verbose: 0}
"""


def load_npz(source):
    """Every array of an .npz file (read and closed at once)."""
    with np.load(source) as data:
        return dict(data)


@pytest.fixture(scope="module")
def two_input_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("graph") / "two_input"
    return run.train(os.path.join(CONFIGS, "two_input.yaml"), run_dir=str(folder), verbose=0,
                     stream=io.StringIO())


@pytest.fixture(scope="module")
def siamese_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("graph") / "siamese"
    return run.train(os.path.join(CONFIGS, "siamese.yaml"), run_dir=str(folder), overrides=["fit.epochs=3"],
                     verbose=0, stream=io.StringIO())


@pytest.fixture(scope="module")
def two_output_run(tmp_path_factory):
    """A spec with two outputs whose npz keys differ from the input names (sepal_cm -> sepal)."""
    folder = tmp_path_factory.mktemp("two_output")
    for split in ("train", "test"):
        parts = load_npz(os.path.join(CONFIGS, "data", f"iris_parts_{split}.npz"))
        wide = (parts["petal"][:, 1] > 1.3).astype("float32")
        np.savez(folder / f"parts_{split}.npz", sepal_cm=parts["sepal"], petal_cm=parts["petal"],
                 species=parts["y"], wide=wide)
    (folder / "two_output.yaml").write_text(TWO_OUTPUT)
    return run.train(str(folder / "two_output.yaml"), run_dir=str(folder / "run"), verbose=0,
                     stream=io.StringIO())


def test_two_input_trains_and_evaluates(two_input_run):
    metrics = run.evaluate(two_input_run.run_dir)
    assert metrics == two_input_run.metrics, f"evaluate {metrics} != train's test metrics {two_input_run.metrics}"
    assert metrics["accuracy"] >= 0.8, f"two-input test accuracy {metrics['accuracy']}"


def test_two_input_predict_takes_dict_list_and_files_alike(two_input_run, tmp_path):
    parts = load_npz(PARTS_TEST)
    x = {"sepal": parts["sepal"], "petal": parts["petal"]}
    by_dict = run.predict(two_input_run.run_dir, x)
    assert by_dict.shape == (30, 3), f"shape {by_dict.shape}"
    by_list = run.predict(two_input_run.run_dir, [parts["sepal"], parts["petal"]])
    np.testing.assert_array_equal(by_list, by_dict, err_msg="a list in input order vs a dict by name")

    loaded = run.load_run(two_input_run.run_dir, compile=False, with_spec=False)
    from_npz = run.read_input(loaded, PARTS_TEST)
    assert sorted(from_npz) == ["petal", "sepal"], f"npz arrays picked: {sorted(from_npz)} (y must be left out)"
    np.testing.assert_array_equal(run.predict(loaded, from_npz), by_dict, err_msg="from the .npz file")

    h5_path = tmp_path / "parts.h5"
    with h5py.File(h5_path, "w") as f:
        f["petal"], f["sepal"], f["y"] = parts["petal"], parts["sepal"], parts["y"]
    np.testing.assert_array_equal(run.predict(loaded, run.read_input(loaded, str(h5_path))), by_dict,
                                  err_msg="from an .h5 file with one dataset per input")

    lines = "".join(json.dumps({"petal": p.tolist(), "sepal": s.tolist()}) + "\n"
                    for s, p in zip(parts["sepal"], parts["petal"]))
    from_jsonl = run.read_input(loaded, "-", stdin=io.BytesIO(lines.encode()))
    np.testing.assert_allclose(run.predict(loaded, from_jsonl), by_dict, rtol=1e-6,
                               err_msg="from JSON lines of objects on stdin")


def test_predict_maps_npz_keys_through_the_spec(two_output_run):
    """The spec's ``x: {sepal: sepal_cm, ...}`` is kept in the run, so predict finds renamed arrays."""
    folder = os.path.dirname(two_output_run.run_dir)
    loaded = run.load_run(two_output_run.run_dir, compile=False, with_spec=False)
    x = run.read_input(loaded, os.path.join(folder, "parts_test.npz"))
    assert sorted(x) == ["petal", "sepal"], f"picked {sorted(x)}"
    parts = load_npz(os.path.join(folder, "parts_test.npz"))
    np.testing.assert_array_equal(x["sepal"], parts["sepal_cm"], err_msg="sepal is the sepal_cm array")


def test_two_outputs_train_evaluate_and_predict_in_output_order(two_output_run):
    metrics = two_output_run.metrics
    assert sorted(metrics) == ["loss", "species_accuracy", "species_loss", "wide_accuracy", "wide_loss"], \
        f"metric keys {sorted(metrics)}"
    assert np.isclose(metrics["loss"], metrics["species_loss"] + 0.5 * metrics["wide_loss"], rtol=1e-5), \
        f"loss is not species + 0.5 * wide: {metrics}"
    assert metrics["species_accuracy"] >= 0.7, f"species accuracy {metrics['species_accuracy']}"
    assert run.evaluate(two_output_run.run_dir) == metrics, "evaluate disagrees with train's test metrics"
    folder = os.path.dirname(two_output_run.run_dir)
    parts = load_npz(os.path.join(folder, "parts_test.npz"))
    species, wide = run.predict(two_output_run.run_dir, {"sepal": parts["sepal_cm"], "petal": parts["petal_cm"]})
    assert species.shape == (30, 3) and wide.shape == (30, 1), f"shapes {species.shape}, {wide.shape}"
    accuracy = float(np.mean(run.to_classes(species) == parts["species"]))
    assert abs(accuracy - metrics["species_accuracy"]) < 1e-6, "predict's species accuracy != evaluate's"


def test_siamese_shared_encoder_predicts_pairs(siamese_run):
    loaded = run.load_run(siamese_run.run_dir)
    model = loaded.model
    assert len(model.get_layer("enc_hidden")._inbound_nodes) == 2, "the encoder is shared by both inputs"
    pairs = load_npz(PAIRS_TEST)
    same = run.predict(loaded, run.read_input(loaded, PAIRS_TEST))
    assert same.shape == (300, 1), f"shape {same.shape}"
    # One encoder for both flowers: |l - r|^2 and cos(l, r) are symmetric, so swapping the (preprocessed)
    # inputs gives the same predictions
    z = loaded.preprocessor.transform_x({"left": pairs["left"], "right": pairs["right"]})
    forward = model.predict(z, verbose=0)
    swapped = model.predict({"left": z["right"], "right": z["left"]}, verbose=0)
    np.testing.assert_allclose(swapped, forward, rtol=1e-5, atol=1e-6, err_msg="siamese model not symmetric")
    np.testing.assert_array_equal(forward, same, err_msg="run.predict != model.predict on preprocessed input")
    accuracy = float(np.mean(run.to_classes(same) == pairs["same"]))
    assert accuracy >= 0.75, f"siamese test accuracy {accuracy}"


@pytest.mark.parametrize("data, message", [
    (np.zeros((3, 4), np.float32), "the model takes 2 inputs ['sepal', 'petal'], but this input is a single array"),
    ({"sepal": np.zeros((3, 2), np.float32)}, "no array for model input(s) petal; found ['sepal']"),
], ids=["single_array", "missing_input"])
def test_multi_input_errors_name_the_inputs(two_input_run, data, message):
    loaded = run.load_run(two_input_run.run_dir, compile=False, with_spec=False)
    with pytest.raises(DataError) as info:
        pick_inputs(loaded, data, "in.npz")
    assert message in str(info.value), str(info.value)
    assert '{"sepal": [...], "petal": [...]}' in str(info.value), f"no example in the hint: {info.value}"


def test_check_inputs_checks_each_input_shape(two_input_run):
    model = run.load_run(two_input_run.run_dir, compile=False, with_spec=False).model
    x = {"sepal": np.zeros((4, 2), np.float32), "petal": np.zeros((4, 3), np.float32)}
    with pytest.raises(DataError, match=r"^input 'petal': the samples have shape \[3\] after preprocessing, but "
                                        r"the model takes \[2\]"):
        run.check_inputs(model, {"input": (x, None)})
    with pytest.raises(DataError, match=r"^data.test input 'petal': the samples have shape \[3\]"):
        run.check_inputs(model, {"test": (x, None)})


def test_validate_lists_each_input():
    report = run.validate(os.path.join(CONFIGS, "two_input.yaml"))
    assert report["input_shape"] == [[2], [2]], f"input_shape {report['input_shape']}"
    assert [l["name"] for l in report["layers"] if l["class"] == "InputLayer"] == ["sepal", "petal"], \
        "the InputLayers are listed"


def _have_fashion_mnist():
    try:
        load_dataset("fashion_mnist", "test")
    except DataError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _have_fashion_mnist(), reason="Fashion-MNIST not installed")
def test_residual_mlp_on_a_fashion_mnist_subset(tmp_path):
    result = run.train(os.path.join(CONFIGS, "residual_mlp.yaml"), run_dir=str(tmp_path / "res"),
                       overrides=["data.x=[{scale: 255}, {reshape: [784]}, {limit: 1000}]", "fit.epochs=1"],
                       verbose=0, stream=io.StringIO())
    assert result.metrics["accuracy"] >= 0.5, f"residual MLP test accuracy on the subset: {result.metrics}"
    x, y = load_dataset("fashion_mnist", "test")
    probs = run.predict(result.run_dir, x[:100])  # raw uint8 images: the run scales and reshapes
    assert probs.shape == (100, 10), f"shape {probs.shape}"
    assert float(np.mean(run.to_classes(probs) == y[:100])) >= 0.45, "predict on raw test images"
    assert run.evaluate(result.run_dir) == result.metrics, "evaluate disagrees with train's test metrics"


def test_one_key_loss_and_metrics_dicts_name_an_output(tmp_path):
    """``loss: {species: ...}`` with the model's only output name is a per-output mapping, not a class."""
    with open(os.path.join(CONFIGS, "two_input.yaml")) as f:
        spec = f.read().replace("data/", os.path.join(CONFIGS, "data") + "/")
    spec = spec.replace("  loss: categorical_crossentropy", "  loss: {species: categorical_crossentropy}")
    spec = spec.replace("  metrics: [accuracy]", "  metrics: {species: [accuracy]}")
    assert "loss: {species:" in spec and "metrics: {species:" in spec, "the config's compile section changed"
    path = tmp_path / "one_key.yaml"
    path.write_text(spec)
    result = run.train(str(path), run_dir=str(tmp_path / "run"), overrides=["fit.epochs=2"], verbose=0,
                       stream=io.StringIO())
    assert set(result.metrics) == {"accuracy", "loss"}, f"metric keys {sorted(result.metrics)}"
