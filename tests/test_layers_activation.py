"""Activation layers (ReLU, LeakyReLU, ELU, Softmax, PReLU): Keras golden outputs and configs, float64
gradient checks, argument validation, masks and the PReLU weight."""
import json
import pathlib

import numpy as np
import pytest

from kspec import constraints, initializers, regularizers
from kspec.engine import Tensor
from kspec.layers import ELU, LeakyReLU, PReLU, ReLU, Softmax, clear_session
from kspec.testing import check_backward, to_float64

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
GOLDEN = np.load(FIXTURES / "activations_golden.npz")
CONFIGS = json.loads((FIXTURES / "activations_configs.json").read_text())
X, X3 = GOLDEN["x"], GOLDEN["layer_x3"]

LAYER_CASES = {
    "ReLU": (lambda: ReLU(), X),
    "ReLU:args": (lambda: ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5), X),
    "LeakyReLU": (lambda: LeakyReLU(), X),
    "LeakyReLU:0.1": (lambda: LeakyReLU(negative_slope=0.1), X),
    "ELU": (lambda: ELU(), X),
    "ELU:0.7": (lambda: ELU(alpha=0.7), X),
    "Softmax": (lambda: Softmax(), X3),
    "Softmax:axis1": (lambda: Softmax(axis=1), X3),
    "Softmax:axes12": (lambda: Softmax(axis=[1, 2]), X3),
}


def _prelu_with_golden_alpha():
    layer = PReLU(shared_axes=[1])
    layer.ensure_built((None,) + X3.shape[1:])
    layer.set_weights([GOLDEN["prelu_alpha"]])
    return layer


@pytest.mark.parametrize("case", sorted(LAYER_CASES), ids=sorted(LAYER_CASES))
def test_output_matches_keras_golden(case):
    make, data = LAYER_CASES[case]
    y = make()(Tensor(data.copy()))
    assert y.dtype == np.float32, f"{case}: output dtype {y.dtype}"
    np.testing.assert_allclose(y.data, GOLDEN[f"layer/{case}"], rtol=1e-6, atol=1e-7,
                               err_msg=f"{case}: output differs from Keras")


def test_prelu_matches_keras_golden():
    y = _prelu_with_golden_alpha()(Tensor(X3.copy()))
    np.testing.assert_allclose(y.data, GOLDEN["layer/PReLU:shared1"], rtol=1e-6,
                               err_msg="PReLU(shared_axes=[1]) output differs from Keras")


def test_softmax_mask_matches_keras_golden():
    mask = GOLDEN["softmax_mask"]
    y = Softmax()(Tensor(X3.copy()), mask=mask)
    np.testing.assert_allclose(y.data, GOLDEN["layer/Softmax:mask"], rtol=1e-6, atol=1e-8,
                               err_msg="masked Softmax differs from Keras")
    assert np.all(y.data[np.broadcast_to(~mask, y.shape)] == 0), "masked positions must be exactly 0"
    np.testing.assert_allclose(y.data.sum(-1), 1.0, rtol=1e-6, err_msg="each row still sums to 1")


def test_softmax_mask_must_broadcast():
    with pytest.raises(ValueError, match="broadcastable"):
        Softmax()(Tensor(X3.copy()), mask=np.ones((2, 5), bool))
    with pytest.raises(ValueError, match="more dimensions"):
        Softmax()(Tensor(X3.copy()), mask=np.ones((1, 2, 3, 4), bool))


def _off_kinks(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 2.0, shape)
    kinks = np.array([0.0, 0.5, 2.0])
    return np.where(np.abs(x[..., None] - kinks).min(-1) < 0.05, x + 0.1, x)


@pytest.mark.parametrize("case", sorted(LAYER_CASES), ids=sorted(LAYER_CASES))
def test_backward_float64(case):
    make, data = LAYER_CASES[case]
    layer = make()
    check_backward(lambda t: layer(t), [_off_kinks(data.shape, 3)])


@pytest.mark.parametrize("shared_axes", [None, [1], [1, 2]], ids=["unshared", "shared1", "shared12"])
def test_prelu_backward_float64_with_alpha(shared_axes):
    layer = PReLU(alpha_initializer=initializers.RandomUniform(0.1, 0.5, seed=1), shared_axes=shared_axes)
    x = _off_kinks((2, 3, 4), 5)
    layer(Tensor(x))
    to_float64(layer)
    check_backward(lambda t: layer(t), [x], params=layer.weights)


@pytest.mark.parametrize("shared_axes,shape", [(None, (3, 4)), ([1], (1, 4)), ([1, 2], (1, 1)), (2, (3, 1))],
                         ids=["none", "axis1", "axes12", "int"])
def test_prelu_alpha_shape(shared_axes, shape):
    layer = PReLU(shared_axes=shared_axes)
    y = layer(Tensor(np.ones((2, 3, 4), np.float32)))
    assert layer.alpha.shape == shape, f"alpha shape {layer.alpha.shape}, expected {shape}"
    assert [w.name for w in layer.weights] == ["alpha"], "PReLU has one weight named alpha"
    assert np.all(layer.alpha.data == 0), "alpha defaults to zeros"
    assert y.shape == (2, 3, 4) and layer.compute_output_shape((None, 3, 4)) == (None, 3, 4)


def test_prelu_regularizer_and_constraint_reach_the_weight():
    layer = PReLU(alpha_initializer="ones", alpha_regularizer="l2", alpha_constraint="non_neg")
    layer(Tensor(np.ones((2, 3), np.float32)))
    assert isinstance(layer.alpha.constraint, constraints.NonNeg), "alpha constraint"
    losses = layer.losses
    assert len(losses) == 1, f"one penalty for alpha, got {len(losses)}"
    assert abs(float(losses[0].data) - 0.01 * 3) < 1e-7, f"l2 penalty {float(losses[0].data)} on ones(3)"


# -- configs ---------------------------------------------------------------------------------------------
CONFIG_CASES = {
    "ReLU": lambda: ReLU(), "ReLU:args": lambda: ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5),
    "LeakyReLU": lambda: LeakyReLU(), "ELU": lambda: ELU(alpha=0.5), "Softmax": lambda: Softmax(),
    "Softmax:axes": lambda: Softmax(axis=[1, 2]), "PReLU": lambda: PReLU(),
    "PReLU:args": lambda: PReLU(alpha_initializer="ones", alpha_regularizer="l2", alpha_constraint="non_neg",
                                shared_axes=[1, 2]),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES), ids=sorted(CONFIG_CASES))
def test_config_matches_keras(case):
    clear_session()
    layer = CONFIG_CASES[case]()
    keras = CONFIGS["layers"][case]
    config = layer.get_config()
    own = {k: v for k, v in config.items() if k not in ("name", "trainable", "dtype")}
    assert own == keras["config"], f"{case}: config {own} vs Keras {keras['config']}"
    keras_base_name = keras["name"].rsplit("_", 1)[0] if keras["name"][-1].isdigit() else keras["name"]
    assert config["name"] == keras_base_name, f"{case}: default name {config['name']!r}"
    assert type(layer).__name__ == keras["class_name"]


@pytest.mark.parametrize("case", sorted(CONFIG_CASES), ids=sorted(CONFIG_CASES))
def test_config_round_trip(case):
    layer = CONFIG_CASES[case]()
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config, f"{case}: from_config(get_config()) changes the config"


def test_leaky_relu_accepts_keras2_alpha_with_a_warning():
    with pytest.warns(DeprecationWarning, match="alpha"):
        layer = LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1, f"negative_slope {layer.negative_slope} from alpha=0.1"
    config = layer.get_config()
    assert "alpha" not in config and config["negative_slope"] == 0.1, f"config {config}"
    y = layer(Tensor(np.array([-2.0, 3.0], np.float32)))
    np.testing.assert_allclose(y.data, [-0.2, 3.0], rtol=1e-7, err_msg="LeakyReLU(alpha=0.1) output")


@pytest.mark.parametrize("make,match", [
    (lambda: ReLU(max_value=-1.0), "max_value"),
    (lambda: ReLU(negative_slope=-0.1), "negative_slope"),
    (lambda: ReLU(negative_slope=None), "negative_slope"),
    (lambda: ReLU(threshold=-1.0), "threshold"),
    (lambda: LeakyReLU(negative_slope=-0.3), "negative_slope"),
], ids=["relu-max", "relu-slope", "relu-slope-none", "relu-threshold", "leaky-slope"])
def test_invalid_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_layers_pass_masks_and_keep_shapes():
    mask = np.array([[True, False, True]])
    for make in (ReLU, LeakyReLU, ELU, PReLU):
        layer = make()
        x = Tensor(np.ones((1, 3, 2), np.float32))
        x.keras_mask = mask
        y = layer(x)
        assert y.keras_mask is mask, f"{type(layer).__name__} must pass the mask through"
        assert layer.compute_output_shape((None, 3, 2)) == (None, 3, 2)


def test_relu_layer_defaults_and_regularizer_objects():
    layer = ReLU()
    assert (layer.max_value, layer.negative_slope, layer.threshold) == (None, 0.0, 0.0), "Keras 3 defaults"
    assert LeakyReLU().negative_slope == 0.3, "the LeakyReLU layer defaults to 0.3 (the function to 0.2)"
    assert ELU().alpha == 1.0 and Softmax().axis == -1
    prelu = PReLU(alpha_regularizer=regularizers.L1(0.5))
    assert isinstance(prelu.alpha_regularizer, regularizers.L1) and prelu.alpha_constraint is None
