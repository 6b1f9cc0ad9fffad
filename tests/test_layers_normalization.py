"""BatchNormalization and LayerNormalization: Keras 3 outputs in training and inference, moving statistics
(biased variance) after training calls and after two SGD steps of a model, masks, gradients, configs."""
import numpy as np
import pytest

from _golden_cnn import (TRAINING, assert_config_matches_keras, assert_gradients, assert_matches_keras,
                         config_cases, forward_cases, ids)
from kspec.engine import Tensor, Variable, ops
from kspec.layers import Activation, BatchNormalization, Dense, InputLayer, LayerNormalization, clear_session
from kspec.models import Sequential
from kspec.optimizers import SGD
from kspec.testing import check_backward, run_layer_test

NORM = ("BatchNormalization", "LayerNormalization")
FORWARD = forward_cases(*NORM)
CONFIGS = config_cases(*NORM)


@pytest.mark.parametrize("case", FORWARD, ids=ids(FORWARD))
def test_forward_matches_keras(case):
    assert_matches_keras(case)


@pytest.mark.parametrize("case", FORWARD, ids=ids(FORWARD))
def test_gradients(case):
    assert_gradients(case)


@pytest.mark.parametrize("case", CONFIGS, ids=ids(CONFIGS))
def test_config_matches_keras(case):
    assert_config_matches_keras(case)


def test_bn_moving_statistics_after_two_sgd_steps_match_keras():
    """Dense -> BatchNormalization(momentum=0.8) -> tanh -> Dense, two SGD steps under MSE (Keras 3)."""
    clear_session()
    model = Sequential([InputLayer(shape=(4,)), Dense(5), BatchNormalization(momentum=0.8), Activation("tanh"),
                        Dense(2)])
    count = len(model.weights)
    model.set_weights([TRAINING[f"bn_dense__w_before{i}"] for i in range(count)])
    model.compile(optimizer=SGD(0.05), loss="mse")
    x, y = TRAINING["bn_dense__x"], TRAINING["bn_dense__y"]
    losses = [model.train_on_batch(x, y) for _ in range(2)]
    np.testing.assert_allclose(losses, TRAINING["bn_dense__losses"], rtol=1e-5, err_msg="training losses")
    names = [w.path for w in model.weights]
    for i, (name, w) in enumerate(zip(names, model.get_weights())):
        np.testing.assert_allclose(w, TRAINING[f"bn_dense__w_after{i}"], rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name} after two steps")
    np.testing.assert_allclose(model.predict(x, verbose=0), TRAINING["bn_dense__predict"], rtol=1e-5, atol=1e-6,
                               err_msg="inference output after training (moving statistics)")


def test_bn_weights_order_and_trainability():
    layer = BatchNormalization()
    layer(Tensor(np.zeros((2, 3), np.float32)))
    assert [w.name for w in layer.weights] == ["gamma", "beta", "moving_mean", "moving_variance"], \
        f"weights {[w.name for w in layer.weights]}"
    assert [w.name for w in layer.non_trainable_weights] == ["moving_mean", "moving_variance"], \
        "moving statistics must be non-trainable"


def test_frozen_bn_uses_moving_statistics_in_training():
    """Keras 3: a non-trainable BatchNormalization runs in inference mode even when training."""
    layer = BatchNormalization(trainable=False)
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32) * 3 + 1
    out = layer(Tensor(x), training=True).data
    np.testing.assert_allclose(out, x / np.sqrt(1 + 1e-3), rtol=1e-6, err_msg="frozen BN output")
    np.testing.assert_array_equal(layer.moving_mean.data, np.zeros(3), err_msg="frozen BN moved its mean")


def test_bn_training_uses_biased_variance():
    layer = BatchNormalization(momentum=0.0, epsilon=0.0)
    x = np.array([[0.0], [2.0]], dtype=np.float32)
    out = layer(Tensor(x), training=True).data
    np.testing.assert_allclose(out.ravel(), [-1, 1], rtol=1e-6, err_msg="normalized batch")
    np.testing.assert_allclose(layer.moving_variance.data, [1.0], err_msg="biased variance of [0, 2] is 1")
    np.testing.assert_allclose(layer.moving_mean.data, [1.0], err_msg="batch mean")


@pytest.mark.parametrize("axes, shape", [((0, 1, 2), (1, 1, 1, 3)), ((2, 3), (1, 1, 5, 3)), ((1,), (1, 4, 1, 1))],
                         ids=["batch-axes", "layer-axes", "middle-axis"])
def test_normalize_batch_op_gradients(axes, shape):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 5, 3))
    gamma, beta = Variable(rng.standard_normal(shape)), Variable(rng.standard_normal(shape))
    check_backward(lambda t: ops.normalize_batch(t, axes, gamma, beta)[0], [x], params=[gamma, beta])
    check_backward(lambda t: ops.normalize_batch(t, axes)[0], [x])


def test_normalize_fixed_op_gradients():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3))
    gamma, beta = Variable(rng.standard_normal(3)), Variable(rng.standard_normal(3))
    check_backward(lambda t: ops.normalize_fixed(t, np.ones(3), np.full(3, 2.0), gamma, beta), [x],
                   params=[gamma, beta])


@pytest.mark.parametrize("cls, kwargs, shape", [
    (BatchNormalization, {}, (4, 3, 5)),
    (BatchNormalization, {"axis": 1, "center": False}, (4, 3, 2)),
    (LayerNormalization, {}, (2, 3, 4)),
    (LayerNormalization, {"axis": [1, 2], "scale": False}, (2, 3, 4)),
], ids=["bn", "bn-axis1-nocenter", "ln", "ln-axes12-noscale"])
def test_layer_harness(cls, kwargs, shape):
    non_trainable = 2 if cls is BatchNormalization else 0
    trainable = 2 - (kwargs.get("center") is False) - (kwargs.get("scale") is False)
    run_layer_test(cls, kwargs, shape, expected_output_shape=shape, supports_masking=True,
                   expected_num_trainable_weights=trainable, expected_num_non_trainable_weights=non_trainable)


def test_bn_rejects_fused_and_out_of_range_axis():
    with pytest.raises(ValueError, match="fused"):
        BatchNormalization(fused=True)
    with pytest.raises(ValueError, match="Axis"):
        BatchNormalization(axis=3)(Tensor(np.zeros((2, 3), np.float32)))
