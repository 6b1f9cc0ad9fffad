"""kspec reads model files written by real Keras 3 and hand-built in Keras 2 layouts (tools/make_golden_io.py):
same predictions, optimizer state and compile configuration as the Keras model they came from."""
import os

import numpy as np
import pytest

from kspec import io
from kspec.layers import Dense, Dropout, InputLayer, clear_session
from kspec.models import Sequential

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "io")
ATOL = 1e-6


def fixture(name):
    return os.path.join(FIXTURES, name)


def golden(name):
    data = np.load(fixture(name))
    opt = [data[f"opt{i}"] for i in range(sum(k.startswith("opt") for k in data.files))]
    weights = [data[f"w{i}"] for i in range(sum(k.startswith("w") for k in data.files))]
    return data["x"], data["y_pred"], weights, opt


def mlp(names=None, units=4):
    """The fixtures' architecture, built by kspec (layer names differ unless given)."""
    names = names or (None, None, None)
    return Sequential([InputLayer(shape=(5,)), Dense(units, activation="relu", name=names[0]),
                       Dropout(0.5, name=names[1]), Dense(3, activation="softmax", name=names[2])])


def assert_close(got, want, what):
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    diff = float(np.max(np.abs(got.astype(np.float64) - want)))
    assert diff <= ATOL, f"{what}: max |diff| {diff:.3g} > {ATOL}"


@pytest.fixture(autouse=True)
def fresh_names():
    clear_session()


MODEL_FILES = [("keras3_mlp.h5", "keras3_mlp.npz"), ("keras2_mlp.h5", "keras2_mlp.npz")]


@pytest.mark.parametrize("h5, npz", MODEL_FILES, ids=["keras3", "keras2"])
def test_load_model_predicts_like_keras(h5, npz):
    x, y_pred, weights, _ = golden(npz)
    model = io.load_model(fixture(h5))
    assert_close(model.predict(x, verbose=0), y_pred, f"{h5} predictions")
    for i, (got, want) in enumerate(zip(model.get_weights(), weights)):
        np.testing.assert_array_equal(got, want, err_msg=f"{h5} weight {i}")
    assert model.predict(x, verbose=0).dtype == np.float32, "predictions are not float32"


def test_keras3_structure_and_compile_config():
    model = io.load_model(fixture("keras3_mlp.h5"))
    assert model.name == "sequential"
    assert [layer.name for layer in model.layers] == ["dense", "dropout", "dense_1"], "layer names"
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dropout", "Dense"]
    assert model.input_shape == (None, 5), "input shape"
    assert model.layers[0].activation.__name__ == "relu"
    assert model.layers[1].rate == 0.5
    assert model.compile_args["loss"] == "categorical_crossentropy"
    assert model.compile_args["metrics"] == ["accuracy"]
    assert model.compile_args["loss_weights"] is None
    config = model.optimizer.get_config()
    assert type(model.optimizer).__name__ == "Adam"
    assert (config["learning_rate"], config["beta_1"], config["beta_2"], config["epsilon"]) == (
        np.float32(0.01).item(), 0.9, 0.999, 1e-7), "Adam hyperparameters"


def test_keras3_optimizer_state_restored():
    _, _, _, opt = golden("keras3_mlp.npz")
    model = io.load_model(fixture("keras3_mlp.h5"))
    state = model.optimizer.variables
    assert len(state) == len(opt) == 10, "Adam state: iteration, learning_rate, 2 slots x 4 weights"
    assert int(state[0][1]) == 1, "iteration after one Keras step"
    for i, ((name, got), want) in enumerate(zip(state, opt)):
        np.testing.assert_array_equal(np.asarray(got), want, err_msg=f"optimizer variable {i} ({name})")


def test_keras2_config_and_sgd_state_restored_by_name():
    """tf.keras 2 names its state SGD/iter:0, SGD/dense/kernel/momentum:0 and has no learning_rate
    variable; kspec maps it by name onto its own (Keras 3 ordered) state."""
    _, _, _, opt = golden("keras2_mlp.npz")
    model = io.load_model(fixture("keras2_mlp.h5"))
    assert model.input_layer.name == "dense_input" and model.input_shape == (None, 5), "Keras 2 InputLayer"
    assert type(model.optimizer).__name__ == "SGD"
    assert model.optimizer.get_config()["momentum"] == pytest.approx(0.9, abs=1e-7)
    assert model.compile_args["metrics"] == ["accuracy"], "tf.keras's [[MeanMetricWrapper]] -> ['accuracy']"
    state = model.optimizer.variables
    assert [name for name, _ in state][:2] == ["iteration", "learning_rate"]
    assert int(state[0][1]) == 2, "iteration"
    for i, ((name, got), want) in enumerate(zip(state[2:], opt[2:])):
        np.testing.assert_array_equal(np.asarray(got), want, err_msg=f"momentum slot {i} ({name})")


@pytest.mark.parametrize("h5", ["keras3_mlp.h5", "keras2_mlp.h5"], ids=["keras3", "keras2"])
def test_load_model_without_compile(h5):
    model = io.load_model(fixture(h5), compile=False)
    assert not getattr(model, "compiled", False) and model.optimizer is None, "compile=False compiled"


@pytest.mark.parametrize("path, npz", [
    ("keras3_mlp.weights.h5", "keras3_mlp.npz"),   # Keras 3 native, by position
    ("keras3_mlp.h5", "keras3_mlp.npz"),           # whole-model file: the /model_weights group
    ("keras2_mlp.h5", "keras2_mlp.npz"),           # Keras 2 names dense/kernel:0, fixed-length strings
    ("keras2_mlp_weights.h5", "keras2_mlp.npz"),   # Keras 2.2.4 weights-only: layers dense_1, dropout_1, dense_2
], ids=["keras3-weights.h5", "keras3-model.h5", "keras2-model.h5", "keras2-weights-only"])
def test_load_weights_into_kspec_model(path, npz):
    x, y_pred, _, _ = golden(npz)
    model = mlp(names=("hidden", "drop", "out"))  # names match nothing in the files: pairing is by order
    io.load_weights(model, fixture(path))
    assert_close(model.predict(x, verbose=0), y_pred, f"{path} predictions")


def test_load_weights_restores_optimizer_from_weights_h5():
    x, _, _, opt = golden("keras3_mlp.npz")
    model = mlp()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    io.load_weights(model, fixture("keras3_mlp.weights.h5"))
    for i, ((name, got), want) in enumerate(zip(model.optimizer.variables, opt)):
        np.testing.assert_array_equal(np.asarray(got), want, err_msg=f"optimizer variable {i} ({name})")


def test_load_weights_by_name():
    """Keras 2.2.4 names (dense_1, dense_2): by_name loads matching layers and skips the rest."""
    x, y_pred, _, _ = golden("keras2_mlp.npz")
    model = mlp(names=("dense_1", "dropout_1", "dense_2"))
    io.load_weights(model, fixture("keras2_mlp_weights.h5"), by_name=True)
    assert_close(model.predict(x, verbose=0), y_pred, "by_name predictions")
    other = mlp(names=("dense_1", "dropout_1", "other"))
    before = other.layers[2].get_weights()
    io.load_weights(other, fixture("keras2_mlp_weights.h5"), by_name=True)
    for got, want in zip(other.layers[2].get_weights(), before):
        np.testing.assert_array_equal(got, want, err_msg="a layer with no namesake in the file changed")
    np.testing.assert_array_equal(other.layers[0].get_weights()[0], model.layers[0].get_weights()[0],
                                  err_msg="namesake layer dense_1 not loaded")
