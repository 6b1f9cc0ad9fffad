"""Pooling layers and ops: Keras 3 forward outputs (fixtures of tools/make_golden_cnn.py), 'same' average
pooling's divisor without the padded cells, first-maximum tie routing, gradients, configs, the harness."""
import numpy as np
import pytest

from _golden_cnn import (assert_config_matches_keras, assert_gradients, assert_matches_keras, config_cases,
                         forward_cases, ids)
from kspec.engine import Tensor, ops
from kspec.layers import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                          GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D)
from kspec.testing import check_backward, run_layer_test

POOL = ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D",
        "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D")
FORWARD = forward_cases(*POOL)
CONFIGS = config_cases(*POOL)


@pytest.mark.parametrize("case", FORWARD, ids=ids(FORWARD))
def test_forward_matches_keras(case):
    assert_matches_keras(case)


@pytest.mark.parametrize("case", FORWARD, ids=ids(FORWARD))
def test_gradients(case):
    assert_gradients(case)


@pytest.mark.parametrize("case", CONFIGS, ids=ids(CONFIGS))
def test_config_matches_keras(case):
    assert_config_matches_keras(case)


POOL_OPS = [((2, 2), None, "valid"), ((3, 3), (2, 2), "same"), ((2, 3), (1, 2), "valid"), ((3, 2), (1, 1), "same")]
POOL_IDS = ["tiled", "same-3s2", "overlap-23", "same-s1"]


@pytest.mark.parametrize("fn", [ops.max_pool2d, ops.average_pool2d], ids=["max", "average"])
@pytest.mark.parametrize("args", POOL_OPS, ids=POOL_IDS)
def test_pool2d_op_gradients(fn, args):
    x = np.random.default_rng(0).standard_normal((2, 7, 6, 3))
    check_backward(lambda t: fn(t, *args), [x])


@pytest.mark.parametrize("fn", [ops.max_pool1d, ops.average_pool1d], ids=["max", "average"])
def test_pool1d_op_gradients(fn):
    x = np.random.default_rng(1).standard_normal((2, 9, 3))
    check_backward(lambda t: fn(t, 3, 2, "same"), [x])


@pytest.mark.parametrize("args", POOL_OPS, ids=POOL_IDS)
def test_max_pool_matches_window_reference(args):
    pool, strides, padding = args
    x = np.random.default_rng(2).standard_normal((2, 7, 6, 3)).astype(np.float32)
    strides = strides or pool
    out = ops.max_pool2d(Tensor(x), pool, strides, padding).data
    pads = [(0, 0), (0, 0)]
    if padding == "same":
        for i, n in enumerate(x.shape[1:3]):
            total = max((-(-n // strides[i]) - 1) * strides[i] + pool[i] - n, 0)
            pads[i] = (total // 2, total - total // 2)
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=-np.inf)
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            r, c = i * strides[0], j * strides[1]
            window = xp[:, r:r + pool[0], c:c + pool[1]].max(axis=(1, 2))
            np.testing.assert_array_equal(out[:, i, j], window, err_msg=f"max_pool2d{args} at ({i}, {j})")


def test_max_pool_routes_ties_to_the_first_maximum():
    """Keras on JAX (select-and-scatter) and PyTorch give a tied window's gradient to its first maximum in
    row-major order; kspec does the same rather than splitting or duplicating it."""
    x = Tensor(np.array([[[[1.0], [1.0]], [[1.0], [0.0]]]], dtype=np.float32), requires_grad=True)
    ops.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.ravel(), [1, 0, 0, 0], err_msg="tie gradient routing")
    x = Tensor(np.array([[[[0.0], [2.0], [2.0]], [[2.0], [0.0], [1.0]]]], dtype=np.float32), requires_grad=True)
    ops.max_pool2d(x, 2, 1, "valid").sum().backward()
    np.testing.assert_array_equal(x.grad.reshape(2, 3), [[0, 2, 0], [0, 0, 0]],
                                  err_msg="overlapping windows: each window's first maximum gets its gradient")


def test_average_pool_same_excludes_padding_from_divisor():
    x = np.ones((1, 3, 3, 1), dtype=np.float32)
    out = ops.average_pool2d(Tensor(x), 2, 1, "same").data
    np.testing.assert_array_equal(out, np.ones_like(out), err_msg="average of ones with 'same' padding")


def test_global_average_pooling_1d_mask_means_over_unmasked_steps():
    x = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    mask = np.array([[True, True, False], [True, False, False]])
    t = Tensor(x)
    t.keras_mask = mask
    out = GlobalAveragePooling1D()(t)
    np.testing.assert_allclose(out.data, [[1, 2], [6, 7]], err_msg="masked mean over steps")
    assert out.keras_mask is None, "GlobalAveragePooling1D must drop the mask"


LAYER_CASES = [
    (MaxPooling2D, {}, (2, 5, 4, 3), (2, 2, 2, 3)),
    (MaxPooling1D, {"pool_size": 3, "strides": 1, "padding": "same"}, (2, 5, 3), (2, 5, 3)),
    (AveragePooling2D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 5, 4, 3), (2, 3, 2, 3)),
    (AveragePooling1D, {"pool_size": 2}, (2, 5, 3), (2, 2, 3)),
    (GlobalAveragePooling2D, {"keepdims": True}, (2, 5, 4, 3), (2, 1, 1, 3)),
    (GlobalMaxPooling2D, {}, (2, 5, 4, 3), (2, 3)),
    (GlobalMaxPooling1D, {}, (2, 5, 3), (2, 3)),
]


@pytest.mark.parametrize("cls, kwargs, shape, expected", LAYER_CASES,
                         ids=["max2d", "max1d-same", "avg2d-same", "avg1d", "gap2d-keepdims", "gmp2d", "gmp1d"])
def test_layer_harness(cls, kwargs, shape, expected):
    run_layer_test(cls, kwargs, shape, expected_output_shape=expected, supports_masking=False,
                   run_training_check=False)


def test_global_average_pooling_1d_harness_supports_masking():
    run_layer_test(GlobalAveragePooling1D, {}, (2, 5, 3), expected_output_shape=(2, 3), supports_masking=True,
                   run_training_check=False)


def test_average_pooling_requires_pool_size():
    with pytest.raises(TypeError):
        AveragePooling2D()


@pytest.mark.parametrize("cls", [MaxPooling2D, GlobalAveragePooling2D], ids=["max2d", "gap2d"])
def test_channels_first_is_a_clear_error(cls):
    with pytest.raises(ValueError, match="channels_last"):
        cls(data_format="channels_first")


def test_invalid_padding():
    with pytest.raises(ValueError, match="padding"):
        MaxPooling2D(padding="causal")
