"""Convolution layers and ops: Keras 3 forward outputs (fixtures of tools/make_golden_cnn.py) including
'same' padding's extra pixel after, strides, dilation and groups; float64 gradient checks; configs; the
layer harness; the im2col/col2im engine against a direct reference; and workspace reuse safety."""
import numpy as np
import pytest

from _golden_cnn import (assert_config_matches_keras, assert_gradients, assert_matches_keras, config_cases,
                         forward_cases, ids)
from kspec.engine import Tensor, Variable, ops
from kspec.engine.ops import workspace
from kspec.engine.ops.conv import conv_transpose_padding, padding_pairs, same_padding
from kspec.layers import Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D
from kspec.testing import check_backward, run_layer_test

CONV = ("Conv1D", "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D")
FORWARD = forward_cases(*CONV)
CONFIGS = config_cases(*CONV)


@pytest.mark.parametrize("case", FORWARD, ids=ids(FORWARD))
def test_forward_matches_keras(case):
    assert_matches_keras(case)


@pytest.mark.parametrize("case", FORWARD, ids=ids(FORWARD))
def test_gradients(case):
    assert_gradients(case)


@pytest.mark.parametrize("case", CONFIGS, ids=ids(CONFIGS))
def test_config_matches_keras(case):
    assert_config_matches_keras(case)


@pytest.mark.parametrize("n, k, s, expected", [(5, 2, 1, (0, 1)), (6, 3, 2, (0, 1)), (5, 3, 2, (1, 1)),
                                               (7, 3, 1, (1, 1)), (4, 4, 1, (1, 2))],
                         ids=["k2", "n6-k3-s2", "n5-k3-s2", "n7-k3", "k4"])
def test_same_padding_puts_the_extra_pixel_after(n, k, s, expected):
    assert same_padding(n, k, s) == expected, f"same_padding({n}, {k}, {s})"


def _reference_conv(x, k, strides, pads, dilation, groups):
    """Direct float64 cross-correlation, one output pixel at a time."""
    x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    n, h, w, _ = x.shape
    kh, kw, cg, f = k.shape
    ho = (h - dilation[0] * (kh - 1) - 1) // strides[0] + 1
    wo = (w - dilation[1] * (kw - 1) - 1) // strides[1] + 1
    out = np.zeros((n, ho, wo, f))
    fg = f // groups
    for i in range(ho):
        for j in range(wo):
            r, c = i * strides[0], j * strides[1]
            patch = x[:, r:r + dilation[0] * (kh - 1) + 1:dilation[0], c:c + dilation[1] * (kw - 1) + 1:dilation[1]]
            for g in range(groups):
                out[:, i, j, g * fg:(g + 1) * fg] = np.einsum(
                    "nabc,abcf->nf", patch[..., g * cg:(g + 1) * cg], k[..., g * fg:(g + 1) * fg])
    return out


OP_CASES = [  # (channels, filters, kernel, strides, dilation, padding, groups)
    (1, 4, (3, 3), (1, 1), (1, 1), "valid", 1),
    (3, 4, (3, 2), (2, 2), (1, 1), "same", 1),
    (10, 4, (3, 3), (1, 1), (2, 2), "same", 1),
    (4, 6, (3, 3), (1, 2), (1, 1), "same", 2),
    (12, 8, (2, 2), (2, 2), (1, 1), "valid", 4),
]
OP_IDS = ["c1-valid", "same-s2", "c10-dilation2", "groups2", "groups4-s2"]


@pytest.mark.parametrize("case", OP_CASES, ids=OP_IDS)
def test_conv2d_op_matches_direct_reference_and_gradients(case):
    c, f, ks, s, d, pad, g = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 6, c))
    kernel = Variable(rng.standard_normal(ks + (c // g, f)))
    bias = Variable(rng.standard_normal(f))
    pads = padding_pairs(pad, (7, 6), ks, s, d)
    out = ops.conv2d(Tensor(x), kernel, bias, s, pad, d, g)
    expected = _reference_conv(x, kernel.data, s, pads, d, g) + bias.data
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12, err_msg="conv2d output")
    check_backward(lambda t: ops.conv2d(t, kernel, bias, s, pad, d, g), [x], params=[kernel, bias])
    check_backward(lambda t: ops.conv2d(t, kernel, bias, s, pad, d, g, relu=True), [x], params=[kernel, bias])


def test_fused_relu_equals_conv_then_relu():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    kernel = Variable(rng.standard_normal((3, 3, 3, 5)).astype(np.float32))
    fused = ops.conv2d(Tensor(x), kernel, relu=True).data.copy()
    plain = ops.relu(ops.conv2d(Tensor(x), kernel)).data
    np.testing.assert_array_equal(fused, plain, err_msg="fused ReLU differs from conv then relu")


@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
def test_conv1d_op_gradients(padding):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 9, 3))
    kernel = Variable(rng.standard_normal((3, 3, 4)))
    bias = Variable(rng.standard_normal(4))
    check_backward(lambda t: ops.conv1d(t, kernel, bias, 1, padding, 2), [x], params=[kernel, bias])


@pytest.mark.parametrize("kernel, strides, padding, output_padding",
                         [((3, 3), (2, 2), "same", None), ((3, 3), (2, 2), "valid", None),
                          ((2, 2), (1, 1), "same", None), ((4, 3), (3, 2), "valid", (1, 0))],
                         ids=["same-s2", "valid-s2", "same-k2", "valid-s32-outpad"])
def test_conv2d_transpose_op_gradients(kernel, strides, padding, output_padding):
    rng = np.random.default_rng(3)
    pads = [conv_transpose_padding(n, k, s, 1, padding, None if output_padding is None else op)[0]
            for n, k, s, op in zip((5, 4), kernel, strides, output_padding or (None, None))]
    weights = Variable(rng.standard_normal(kernel + (4, 3)))
    bias = Variable(rng.standard_normal(4))
    x = rng.standard_normal((2, 5, 4, 3))
    check_backward(lambda t: ops.conv2d_transpose(t, weights, bias, strides, pads), [x], params=[weights, bias])


def test_conv2d_transpose_is_the_adjoint_of_conv2d():
    """<conv(x), y> == <x, conv_transpose(y)> for the same kernel, strides and padding."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 6, 6, 3))
    kernel = rng.standard_normal((3, 3, 3, 4))
    y = ops.conv2d(Tensor(x), Variable(kernel), None, 2, "valid").data
    probe = rng.standard_normal(y.shape)
    # the transposed kernel layout (kh, kw, out=3, in=4) is the conv kernel's own layout
    back = ops.conv2d_transpose(Tensor(probe), Variable(kernel), None, 2, ((2, 3), (2, 3))).data
    assert back.shape == x.shape, f"transposed conv shape {back.shape}, expected {x.shape}"
    np.testing.assert_allclose((y * probe).sum(), (x * back).sum(), rtol=1e-10, err_msg="adjoint identity")


def test_pending_backward_keeps_its_workspace():
    """Two calls before one backward (a shared layer) must not overwrite each other's im2col columns."""
    rng = np.random.default_rng(5)
    kernel = Variable(rng.standard_normal((3, 3, 2, 4)).astype(np.float32))
    x1 = Tensor(rng.standard_normal((2, 6, 6, 2)).astype(np.float32))
    x2 = Tensor(rng.standard_normal((2, 6, 6, 2)).astype(np.float32))
    ops.conv2d(x1, kernel).sum().backward()
    expected = kernel.grad.copy()
    kernel.grad = None
    ops.conv2d(x2, kernel).sum().backward()
    expected += kernel.grad
    kernel.grad = None
    total = ops.conv2d(x1, kernel).sum() + ops.conv2d(x2, kernel).sum()
    total.backward()
    np.testing.assert_allclose(kernel.grad, expected, rtol=1e-5, err_msg="kernel gradient of a shared conv")


def test_workspace_reuses_free_buffers_only():
    workspace.clear()
    a = workspace.take("test", (3, 4))
    b = workspace.take("test", (3, 4))
    assert a is not b, "a buffer still held was handed out again"
    del a
    c = workspace.take("test", (3, 4))
    assert c is not b and c.shape == (3, 4) and c.dtype == np.float32, "a freed buffer was not reused"
    workspace.clear()


LAYER_CASES = [
    (Conv2D, {"filters": 3, "kernel_size": 3, "padding": "same", "activation": "relu"}, (2, 5, 5, 2), (2, 5, 5, 3)),
    (Conv2D, {"filters": 4, "kernel_size": 2, "strides": 2, "groups": 2}, (2, 6, 5, 2), (2, 3, 2, 4)),
    (Conv1D, {"filters": 3, "kernel_size": 3, "padding": "causal"}, (2, 6, 2), (2, 6, 3)),
    (Conv2DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 3, 3, 2), (2, 6, 6, 2)),
    (DepthwiseConv2D, {"kernel_size": 3, "depth_multiplier": 2}, (2, 5, 5, 2), (2, 3, 3, 4)),
    (SeparableConv2D, {"filters": 3, "kernel_size": 3, "padding": "same"}, (2, 5, 5, 2), (2, 5, 5, 3)),
]


@pytest.mark.parametrize("cls, kwargs, shape, expected", LAYER_CASES,
                         ids=["conv2d", "conv2d-groups", "conv1d-causal", "conv2dt", "depthwise", "separable"])
def test_layer_harness(cls, kwargs, shape, expected):
    run_layer_test(cls, kwargs, shape, expected_output_shape=expected, supports_masking=False)


@pytest.mark.parametrize("cls, kwargs", [(Conv2D, {"filters": 2, "kernel_size": 3}),
                                         (Conv1D, {"filters": 2, "kernel_size": 3}),
                                         (Conv2DTranspose, {"filters": 2, "kernel_size": 3}),
                                         (DepthwiseConv2D, {"kernel_size": 3}),
                                         (SeparableConv2D, {"filters": 2, "kernel_size": 3})],
                         ids=["conv2d", "conv1d", "conv2dt", "depthwise", "separable"])
def test_channels_first_is_a_clear_error(cls, kwargs):
    with pytest.raises(ValueError, match="channels_last"):
        cls(data_format="channels_first", **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"filters": 0, "kernel_size": 3}, "filters"),
    ({"filters": 3, "kernel_size": 3, "groups": 2}, "divisible"),
    ({"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "dilation_rate"),
    ({"filters": 4, "kernel_size": 3, "padding": "causal"}, "padding"),
    ({"filters": 4, "kernel_size": [3]}, "kernel_size"),
], ids=["filters", "groups", "strides-dilation", "causal-2d", "kernel-size"])
def test_conv2d_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Conv2D(**kwargs)


def test_input_channels_must_divide_into_groups():
    layer = Conv2D(4, 3, groups=2)
    with pytest.raises(ValueError, match="groups"):
        layer(Tensor(np.zeros((1, 5, 5, 3), np.float32)))


def _small_cnn():
    """The fixture's CNN: Conv2D same relu, MaxPooling2D, Conv2D strided same relu, BN, Flatten, Dense softmax."""
    from kspec.layers import BatchNormalization, Dense, Flatten, InputLayer, MaxPooling2D, clear_session
    from kspec.models import Sequential
    clear_session()
    return Sequential([InputLayer(shape=(8, 7, 2)), Conv2D(4, 3, padding="same", activation="relu"), MaxPooling2D(2),
                       Conv2D(5, 2, strides=2, padding="same", activation="relu"), BatchNormalization(), Flatten(),
                       Dense(3, activation="softmax")])


@pytest.mark.parametrize("name, optimizer, steps", [("cnn_sgd", "sgd", 1), ("cnn_adam", "adam", 2)],
                         ids=["sgd-1-step", "adam-2-steps"])
def test_small_cnn_training_matches_keras(name, optimizer, steps):
    from _golden_cnn import TRAINING
    from kspec.optimizers import SGD, Adam
    model = _small_cnn()
    count = len(model.weights)
    model.set_weights([TRAINING[f"{name}__w_before{i}"] for i in range(count)])
    model.compile(optimizer=SGD(0.1) if optimizer == "sgd" else Adam(0.01), loss="categorical_crossentropy")
    x, y = TRAINING[f"{name}__x"], TRAINING[f"{name}__y"]
    losses = [model.train_on_batch(x, y) for _ in range(steps)]
    np.testing.assert_allclose(losses, TRAINING[f"{name}__losses"], rtol=1e-5, err_msg=f"{name}: losses")
    for i, w in enumerate(model.weights):
        np.testing.assert_allclose(w.data, TRAINING[f"{name}__w_after{i}"], rtol=1e-4, atol=1e-6,
                                   err_msg=f"{name}: {w.path} after {steps} step(s)")
    np.testing.assert_allclose(model.predict(x, verbose=0), TRAINING[f"{name}__predict"], rtol=1e-5, atol=1e-6,
                               err_msg=f"{name}: predictions after training")


@pytest.mark.parametrize("channels, pool", [(1, 2), (9, 3)], ids=["c1-loop-im2col", "c9-window-im2col"])
def test_batch_split_threads_give_the_same_numbers(monkeypatch, channels, pool):
    """Forcing every conv/pool op through the thread split (tiny arrays, 2 workers) changes nothing."""
    from kspec.engine.ops import parallel

    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 9, 8, channels)).astype(np.float32)
    kernel = Variable(rng.standard_normal((3, 3, channels, 4)).astype(np.float32))
    bias = Variable(rng.standard_normal(4).astype(np.float32))

    def run():
        t = Tensor(x, requires_grad=True)
        y = ops.max_pool2d(ops.conv2d(t, kernel, bias, 1, "same", relu=True), pool)
        (y * Tensor(np.arange(y.size, dtype=np.float32).reshape(y.shape))).sum().backward()
        grads = [y.data.copy(), t.grad.copy(), kernel.grad.copy(), bias.grad.copy()]
        kernel.grad = bias.grad = None
        return grads

    inline = run()
    monkeypatch.setattr(parallel, "THREADS", 2)
    monkeypatch.setattr(parallel, "MIN_ELEMENTS", 0)
    threaded = run()
    for name, a, b in zip(["output", "input grad", "kernel grad", "bias grad"], inline, threaded):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6, err_msg=f"threaded {name}")


def test_gradients_stay_float32():
    """No float64 leaks through conv, pooling, normalization and their backward passes."""
    from kspec.testing import assert_float32
    rng = np.random.default_rng(7)
    x = Tensor(rng.standard_normal((3, 8, 7, 2)).astype(np.float32), requires_grad=True)
    kernel = Variable(rng.standard_normal((3, 3, 2, 4)).astype(np.float32))
    bias = Variable(np.zeros(4, np.float32))
    gamma, beta = Variable(np.ones(4, np.float32)), Variable(np.zeros(4, np.float32))
    y = ops.conv2d(x, kernel, bias, 2, "same", relu=True)
    y = ops.max_pool2d(ops.average_pool2d(y, 2, 1, "same"), 2, 1, "same")
    y, mean, var = ops.normalize_batch(y, (0, 1, 2), gamma, beta)
    y = ops.conv2d_transpose(y, Variable(rng.standard_normal((2, 2, 3, 4)).astype(np.float32)), None, 2,
                             ((1, 1), (1, 1)))
    y.sum().backward()
    assert_float32([y, mean, var, x.grad, kernel.grad, bias.grad, gamma.grad, beta.grad], "conv chain array")
