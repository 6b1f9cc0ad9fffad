"""Bad model files and failed saves: every failure is a one-line ModelFileError naming the file; saves are
atomic, so a failed save never damages an existing file."""
import json
import os
import pickle
import shutil
import warnings

import h5py
import numpy as np
import pytest

from kspec import io
from kspec.io import h5_legacy, weights_h5
from kspec.io.errors import ModelFileError, ModelFileWarning
from kspec.layers import Dense, Dropout, InputLayer, clear_session
from kspec.models import Sequential

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "io")


@pytest.fixture(autouse=True)
def fresh_names():
    clear_session()


def mlp(units=4, extra_dense=False, outputs=3):
    layers = [InputLayer(shape=(5,)), Dense(units, activation="relu"), Dropout(0.5), Dense(outputs)]
    if extra_dense:
        layers.append(Dense(2))
    return Sequential(layers)


def copy_fixture(tmp_path, name):
    target = tmp_path / name.replace("/", "_")
    shutil.copy(os.path.join(FIXTURES, name), target)
    return target


def raises(fn, *args, match, **kwargs):
    """Call fn; it must raise a one-line ModelFileError whose text matches ``match``; return it."""
    with pytest.raises(ModelFileError, match=match) as info:
        fn(*args, **kwargs)
    text = str(info.value)
    assert "\n" not in text, f"message is not one line: {text!r}"
    assert "Traceback" not in text
    return info.value


def test_error_text_attributes_and_pickle():
    error = ModelFileError("layer 'dense' is wrong", "runs/x/model.h5", hint="retrain")
    assert str(error) == "runs/x/model.h5: layer 'dense' is wrong (hint: retrain)"
    assert (error.path, error.message, error.hint) == ("runs/x/model.h5", "layer 'dense' is wrong", "retrain")
    assert str(pickle.loads(pickle.dumps(error))) == str(error), "pickling lost the message"
    assert str(ModelFileError("no path")) == "no path"


# -- unreadable files ----------------------------------------------------------------------------------------
def truncated(tmp_path):
    with open(os.path.join(FIXTURES, "keras3_mlp.h5"), "rb") as f:
        data = f.read()
    path = tmp_path / "half.h5"
    path.write_bytes(data[: len(data) // 2])
    return path


def random_bytes(tmp_path):
    path = tmp_path / "noise.h5"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return path


def missing(tmp_path):
    return tmp_path / "nothing_here.h5"


def folder(tmp_path):
    return tmp_path


@pytest.mark.parametrize("make, match", [
    (truncated, "not a readable HDF5 file.*truncated"),
    (random_bytes, "not a readable HDF5 file"),
    (missing, "no such file"),
    (folder, "is a folder"),
], ids=["truncated", "random-bytes", "missing", "folder"])
@pytest.mark.parametrize("action", ["load_model", "load_weights"])
def test_unreadable_files(tmp_path, make, match, action):
    path = make(tmp_path)
    if action == "load_model":
        error = raises(io.load_model, path, match=match)
    else:
        error = raises(io.load_weights, mlp(), path, match=match)
    assert error.path == str(path), "error does not name the file"


def test_hdf5_that_is_not_a_model(tmp_path):
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros(3)
    raises(io.load_model, path, match="no model_config attribute")
    raises(io.load_weights, mlp(), path, match="no model weights in this HDF5 file")


@pytest.mark.parametrize("name", ["keras3_mlp.weights.h5", "keras2_mlp_weights.h5"], ids=["native", "legacy"])
def test_load_model_on_weights_only_file_hints_load_weights(name):
    error = raises(io.load_model, os.path.join(FIXTURES, name), match="no model_config")
    assert "load_weights" in error.hint


def edit_attr(path, key, change):
    """Rewrite a text attribute: ``change(str) -> str``, stored back as bytes."""
    with h5py.File(path, "r+") as f:
        value = f.attrs[key]
        text = value.decode() if isinstance(value, bytes) else str(value)
        f.attrs[key] = change(text).encode()


def test_unknown_layer_class(tmp_path):
    path = copy_fixture(tmp_path, "keras3_mlp.h5")
    edit_attr(path, "model_config", lambda text: text.replace('"Dropout"', '"FancyDropout"'))
    error = raises(io.load_model, path, match="unknown layer class 'FancyDropout' \\(layer 'dropout'\\)")
    assert "Dense" in error.hint, "hint should list the layers kspec knows"


def test_functional_config_without_graph(tmp_path):
    """A Functional model_config must say its inputs and outputs (input_layers, output_layers)."""
    path = copy_fixture(tmp_path, "keras3_mlp.h5")
    edit_attr(path, "model_config", lambda text: text.replace('"Sequential"', '"Functional"', 1))
    raises(io.load_model, path, match="the Functional model_config has no input_layers or output_layers")


def test_bad_json_and_unsupported_argument(tmp_path):
    path = copy_fixture(tmp_path, "keras3_mlp.h5")
    edit_attr(path, "model_config", lambda text: "{not json")
    raises(io.load_model, path, match="'model_config' is not valid JSON")
    path = copy_fixture(tmp_path, "keras2_mlp.h5")
    edit_attr(path, "model_config", lambda text: text.replace('"units": 4', '"units": 4, "lora_rank": 8'))
    raises(io.load_model, path, match="cannot rebuild layer 'dense' \\(Dense\\).*lora_rank")


def test_unknown_optimizer(tmp_path):
    path = copy_fixture(tmp_path, "keras3_mlp.h5")
    edit_attr(path, "training_config", lambda text: text.replace('"Adam"', '"Shampoo"'))
    raises(io.load_model, path, match="unknown optimizer 'Shampoo'")
    assert io.load_model(path, compile=False).optimizer is None, "compile=False must not read training_config"


def test_listed_weight_missing(tmp_path):
    path = copy_fixture(tmp_path, "keras3_mlp.h5")
    with h5py.File(path, "r+") as f:
        del f["model_weights/dense/sequential/dense/bias"]
    raises(io.load_model, path, match="weight 'sequential/dense/bias' listed in /model_weights/dense is missing")


# -- wrong shapes and counts ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["keras3_mlp.h5", "keras3_mlp.weights.h5", "keras2_mlp_weights.h5"],
                         ids=["model.h5", "weights.h5", "keras2-weights-only"])
def test_shape_mismatch_names_layer_and_shapes(name):
    model = mlp(units=6)
    before = model.get_weights()
    error = raises(io.load_weights, model, os.path.join(FIXTURES, name),
                   match=r"layer 'dense' weight 0 \(kernel\) has shape \(5, 6\) in the model but \(5, 4\)")
    assert error.hint
    for i, (a, b) in enumerate(zip(model.get_weights(), before)):
        np.testing.assert_array_equal(a, b, err_msg=f"weight {i} changed although loading failed")


@pytest.mark.parametrize("name, match", [
    ("keras3_mlp.h5", "the model has 3 layers with weights .* but the file has 2"),
    ("keras3_mlp.weights.h5", "layer 'dense_2' has 2 weights but the file has 0 at /layers/dense_2/vars"),
], ids=["legacy", "native"])
def test_layer_count_mismatch(name, match):
    raises(io.load_weights, mlp(extra_dense=True), os.path.join(FIXTURES, name), match=match)


@pytest.mark.parametrize("name", ["keras3_mlp.h5", "keras3_mlp.weights.h5"], ids=["legacy", "native"])
def test_skip_mismatch_warns_and_loads_the_rest(name):
    model = mlp(outputs=2)  # dense fits the file, dense_1 (4, 2) does not fit (4, 3)
    last_before = model.layers[2].get_weights()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        io.load_weights(model, os.path.join(FIXTURES, name), skip_mismatch=True)
    messages = [str(w.message) for w in caught]
    assert messages and all(issubclass(w.category, ModelFileWarning) for w in caught), messages
    assert all("layer 'dense_1'" in m and "skipped" in m for m in messages), messages
    for got, want in zip(model.layers[2].get_weights(), last_before):
        np.testing.assert_array_equal(got, want, err_msg="a mismatched weight was loaded")
    data = np.load(os.path.join(FIXTURES, "keras3_mlp.npz"))
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], data["w0"], err_msg="fitting layer skipped")


def test_by_name_needs_legacy_file():
    raises(io.load_weights, mlp(), os.path.join(FIXTURES, "keras3_mlp.weights.h5"), by_name=True,
           match="by_name loading needs a legacy .h5 file")


def test_optimizer_state_that_does_not_fit_warns(tmp_path):
    path = copy_fixture(tmp_path, "keras3_mlp.h5")
    with h5py.File(path, "r+") as f:  # drop the last Adam slot from the list
        names = list(f["optimizer_weights"].attrs["weight_names"])
        f["optimizer_weights"].attrs["weight_names"] = [n.encode() for n in names[:-1]]
    with pytest.warns(ModelFileWarning, match="optimizer state \\(9 variables\\) does not fit"):
        model = io.load_model(path)
    assert model.optimizer.iterations == 0, "the optimizer should start fresh"


# -- saving --------------------------------------------------------------------------------------------------
def test_unbuilt_model_and_unknown_suffix(tmp_path):
    unbuilt = Sequential([Dense(3)])
    raises(io.save_model, unbuilt, tmp_path / "m.h5", match="not built")
    raises(io.save_weights, unbuilt, tmp_path / "m.weights.h5", match="not built")
    raises(io.save_weights, mlp(), tmp_path / "m.npz", match="unknown weights file type")
    assert os.listdir(tmp_path) == [], "a failed save left files behind"


def test_unwritable_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    raises(io.save_model, mlp(), blocker / "m.h5", match="cannot (create the folder|write the file)")


def boom(*args, **kwargs):
    raise RuntimeError("disk on fire")


@pytest.mark.parametrize("save, target, name", [
    (io.save_model, h5_legacy, "_save_optimizer_weights"),
    (io.save_weights, weights_h5, "write_array"),
], ids=["save_model", "save_weights"])
def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch, save, target, name):
    model = mlp()
    model.compile(optimizer="adam", loss="mse")
    path = tmp_path / ("m.h5" if save is io.save_model else "m.weights.h5")
    save(model, path)
    before = path.read_bytes()
    monkeypatch.setattr(target, name, boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        save(model, path)
    assert path.read_bytes() == before, "the existing file changed"
    assert os.listdir(tmp_path) == [path.name], f"temporary files left: {os.listdir(tmp_path)}"


def test_save_replaces_existing_file_and_keeps_folder_clean(tmp_path):
    path = tmp_path / "m.h5"
    path.write_bytes(b"old junk")
    io.save_model(mlp(), path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = io.load_model(path)
    assert [layer.name for layer in model.layers] == ["dense", "dropout", "dense_1"]
    assert os.listdir(tmp_path) == ["m.h5"]
    assert json.loads(h5py.File(path, "r").attrs["model_config"])["class_name"] == "Sequential"
