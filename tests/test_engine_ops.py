"""Every engine op: a float64 gradient check (check_backward) and a float32 forward check against NumPy.

One table, ``CASES``, lists (op, case id, function of Tensors, float64 inputs, NumPy reference). A
coverage test fails when an op of an op module (OP_MODULES) has no case, so a new op cannot slip in untested.
"""
import inspect

import numpy as np
import pytest

from kspec.engine import Tensor, Variable, no_grad, ops
from kspec.engine.ops import conv as conv_ops
from kspec.engine.ops import embedding as embedding_ops
from kspec.engine.ops import losses as loss_ops
from kspec.engine.ops import math as math_ops
from kspec.engine.ops import nn as nn_ops
from kspec.engine.ops import normalization as normalization_ops
from kspec.engine.ops import pooling as pooling_ops
from kspec.engine.ops import recurrent as recurrent_ops
from kspec.engine.ops import reduce as reduce_ops
from kspec.engine.ops import shape as shape_ops
from kspec.testing import check_backward

EPS = 1e-7
# Keras clips probabilities to [eps, 1 - eps] computed in float32: 1 - eps rounds to 1 - 2**-23.
LOW32, HIGH32 = float(np.float32(EPS)), float(np.float32(1) - np.float32(EPS))
# Helpers that live next to the ops: shape arithmetic, and array-level pieces of forward/backward passes.
NOT_OPS = {"unbroadcast", "conv_output_length", "same_padding", "padding_pairs", "pad_input", "im2col", "col2im",
           "tap_products", "conv_transpose_padding", "pool_output_length", "scatter_rows"}
OP_MODULES = (math_ops, reduce_ops, shape_ops, nn_ops, conv_ops, pooling_ops, recurrent_ops, normalization_ops,
              loss_ops, embedding_ops)


def rand(*shape, seed=0, low=None, high=None):
    rng = np.random.default_rng(seed)
    if low is not None:
        return rng.uniform(low, high, shape)
    return rng.standard_normal(shape)


def away_from_zero(*shape, seed=0):
    """Values with |x| in [0.2, 2]: no kinks for relu/abs/sign, no ties, safe divisors."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def distinct(*shape, seed=0):
    """A random permutation of well-separated values: no ties for max/min."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (rng.permutation(n).astype(np.float64) * 0.37 - n * 0.15).reshape(shape)


def one_hot(labels, k):
    return np.eye(k)[labels]


class Case:
    """One op case; ``check`` holds extra check_backward arguments (a smaller step near clip bounds)."""

    def __init__(self, op, cid, fn, inputs, ref=None, float32_ok=True, check=None):
        self.op, self.id, self.fn, self.inputs, self.ref = op, cid, fn, inputs, ref
        self.float32_ok, self.check = float32_ok, check or {}


def cce_probs_ref(y, p):
    q = p / p.sum(-1, keepdims=True)
    return -(y * np.log(np.clip(q, LOW32, HIGH32))).sum(-1)


def softmax_ref(z, axis=-1):
    e = np.exp(z - z.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def log_softmax_ref(z, axis=-1):
    s = z - z.max(axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis, keepdims=True))


def sigmoid_ref(z):
    return 1 / (1 + np.exp(-z))


def bce_probs_ref(y, p):
    p = np.clip(p, LOW32, HIGH32)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def bce_logits_ref(y, z):
    return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))


Y4 = one_hot([0, 2, 1, 3, 3], 4)            # (5, 4) one-hot targets
Y_SMOOTH = Y4 * 0.8 + 0.05                   # label-smoothed targets
Y_BIN = (rand(5, 3, seed=7) > 0).astype(np.float64)
Z_SATURATED = np.array([[30.0, -30.0, 0.0, 1.0], [-40.0, 40.0, 2.0, -1.0], [0.5, -0.5, 25.0, -25.0],
                        [3.0, 1.0, -2.0, 0.0], [-20.0, 20.0, 0.1, 0.2]])
Z_BIN_SATURATED = np.array([[20.0, -20.0, 0.5], [-18.0, 3.0, 17.0], [0.1, -0.2, 30.0],
                            [-30.0, 2.0, -1.0], [16.5, -16.5, 0.0]])

A34, B4, B14, A31 = rand(3, 4, seed=1), rand(4, seed=2), rand(1, 4, seed=3), rand(3, 1, seed=4)
A234 = rand(2, 3, 4, seed=5)

CASES = [
    # -- elementwise binary ops, with broadcasting and Python scalars -----------------------------------
    Case("add", "add-same", ops.add, [A34, rand(3, 4, seed=9)], np.add),
    Case("add", "add-broadcast-row", ops.add, [A34, B4], np.add),
    Case("add", "add-broadcast-both", ops.add, [A31, B14], np.add),
    Case("add", "add-rank3-vs-col", ops.add, [A234, A31], np.add),
    Case("add", "add-python-scalar", lambda a: ops.add(a, 2.5), [A34], lambda a: a + 2.5),
    Case("add", "add-operator-radd", lambda a: 1.5 + a, [A34], lambda a: 1.5 + a),
    Case("subtract", "subtract-broadcast", ops.subtract, [A31, B14], np.subtract),
    Case("subtract", "subtract-scalar-first", lambda a: ops.subtract(2.0, a), [A34], lambda a: 2.0 - a),
    Case("multiply", "multiply-broadcast", ops.multiply, [A234, B4], np.multiply),
    Case("multiply", "multiply-same-tensor", lambda a: a * a, [A34], lambda a: a * a),
    Case("divide", "divide-broadcast", ops.divide, [A34, away_from_zero(1, 4, seed=2)], np.divide),
    Case("divide", "divide-scalar-numerator", lambda b: ops.divide(3.0, b), [away_from_zero(3, 4)],
         lambda b: 3.0 / b),
    Case("negative", "negative", ops.negative, [A34], np.negative),
    Case("power", "power-int", lambda a: ops.power(a, 3), [A34], lambda a: a ** 3),
    Case("power", "power-half", lambda a: ops.power(a, 0.5), [rand(3, 4, low=0.5, high=2.0)], np.sqrt),
    Case("power", "power-operator", lambda a: a ** 2.0, [A34], lambda a: a ** 2),
    Case("power", "power-tensor-exponent", lambda a, b: ops.power(a, b),
         [rand(3, 4, low=0.5, high=2.0), rand(3, 4)], lambda a, b: a ** b),
    Case("power", "power-scalar-base", lambda b: ops.power(2.0, b), [rand(3, 4)], lambda b: 2.0 ** b),
    Case("square", "square", ops.square, [A34], np.square),
    Case("sqrt", "sqrt", ops.sqrt, [rand(3, 4, low=0.3, high=3.0)], np.sqrt),
    Case("exp", "exp", ops.exp, [A34], np.exp),
    Case("log", "log", ops.log, [rand(3, 4, low=0.3, high=3.0)], np.log),
    Case("log1p", "log1p", ops.log1p, [rand(3, 4, low=-0.5, high=3.0)], np.log1p),
    Case("abs", "abs", ops.abs, [away_from_zero(3, 4)], np.abs),
    Case("sign", "sign-no-gradient", lambda a: ops.sign(a) * 1.0, [away_from_zero(3, 4)], np.sign),
    Case("tanh", "tanh", ops.tanh, [A34], np.tanh),
    Case("sigmoid", "sigmoid", ops.sigmoid, [A34 * 3], sigmoid_ref),
    Case("sigmoid", "sigmoid-saturated", ops.sigmoid, [np.array([-50.0, -20.0, 0.0, 20.0, 50.0])], sigmoid_ref),
    Case("maximum", "maximum-broadcast", ops.maximum, [A34, rand(4, seed=11)], np.maximum),
    Case("maximum", "maximum-scalar", lambda a: ops.maximum(a, 0.1), [away_from_zero(3, 4)],
         lambda a: np.maximum(a, 0.1)),
    Case("minimum", "minimum-broadcast", ops.minimum, [A31, B14], np.minimum),
    Case("where", "where-broadcast", lambda a, b: ops.where(A34 > 0, a, b), [rand(3, 4, seed=3), B4],
         lambda a, b: np.where(A34 > 0, a, b)),
    Case("where", "where-scalar-branch", lambda a: ops.where(A34 > 0, a, 0.0), [rand(3, 4, seed=3)],
         lambda a: np.where(A34 > 0, a, 0.0)),
    Case("clip", "clip", lambda a: ops.clip(a, -0.5, 0.7), [away_from_zero(3, 4) * 0.9],
         lambda a: np.clip(a, -0.5, 0.7)),
    Case("clip", "clip-numpy-float64-bounds", lambda a: ops.clip(a, np.float64(-0.5), np.float64(0.7)),
         [away_from_zero(3, 4) * 0.9], lambda a: np.clip(a, -0.5, 0.7)),
    Case("cast", "cast-same-kind", lambda a: ops.cast(a, "float64") * 2.0, [A34], lambda a: a * 2.0,
         float32_ok=False),
    # -- reductions ----------------------------------------------------------------------------------
    Case("sum", "sum-all", ops.sum, [A234], np.sum),
    Case("sum", "sum-axis0", lambda a: ops.sum(a, 0), [A234], lambda a: a.sum(0)),
    Case("sum", "sum-axes-keepdims", lambda a: ops.sum(a, (0, 2), True), [A234],
         lambda a: a.sum((0, 2), keepdims=True)),
    Case("sum", "sum-method-neg-axis", lambda a: a.sum(axis=-1), [A234], lambda a: a.sum(-1)),
    Case("mean", "mean-all", ops.mean, [A234], np.mean),
    Case("mean", "mean-axis-1", lambda a: ops.mean(a, -1), [A234], lambda a: a.mean(-1)),
    Case("mean", "mean-axes-keepdims", lambda a: ops.mean(a, (1, 2), keepdims=True), [A234],
         lambda a: a.mean((1, 2), keepdims=True)),
    Case("max", "max-all", ops.max, [distinct(2, 3, 4)], np.max),
    Case("max", "max-axis1", lambda a: ops.max(a, 1), [distinct(2, 3, 4)], lambda a: a.max(1)),
    Case("max", "max-axes-keepdims", lambda a: ops.max(a, (0, 2), True), [distinct(2, 3, 4)],
         lambda a: a.max((0, 2), keepdims=True)),
    Case("min", "min-axis-1", lambda a: ops.min(a, -1), [distinct(2, 3, 4, seed=1)], lambda a: a.min(-1)),
    Case("min", "min-all-keepdims", lambda a: ops.min(a, None, True), [distinct(3, 4, seed=2)],
         lambda a: a.min(keepdims=True)),
    Case("logsumexp", "logsumexp-last", ops.logsumexp, [A234 * 5],
         lambda a: np.log(np.exp(a).sum(-1))),
    Case("logsumexp", "logsumexp-axis0-keepdims", lambda a: ops.logsumexp(a, 0, True), [A234],
         lambda a: np.log(np.exp(a).sum(0, keepdims=True))),
    Case("logsumexp", "logsumexp-all", lambda a: ops.logsumexp(a, None), [A234],
         lambda a: np.log(np.exp(a).sum())),
    # -- shape ops -----------------------------------------------------------------------------------
    Case("reshape", "reshape-infer", lambda a: ops.reshape(a, (4, -1)), [A234], lambda a: a.reshape(4, -1)),
    Case("reshape", "reshape-method", lambda a: a.reshape(6, 4), [A234], lambda a: a.reshape(6, 4)),
    Case("flatten", "flatten", ops.flatten, [A234], lambda a: a.reshape(2, -1)),
    Case("transpose", "transpose-reverse", ops.transpose, [A234], np.transpose),
    Case("transpose", "transpose-axes", lambda a: ops.transpose(a, (1, 2, 0)), [A234],
         lambda a: a.transpose(1, 2, 0)),
    Case("transpose", "transpose-T", lambda a: a.T, [A34], lambda a: a.T),
    Case("expand_dims", "expand_dims-0", lambda a: ops.expand_dims(a, 0), [A34], lambda a: a[None]),
    Case("expand_dims", "expand_dims-neg", lambda a: ops.expand_dims(a, -1), [A34], lambda a: a[..., None]),
    Case("squeeze", "squeeze-axis", lambda a: ops.squeeze(a, 1), [rand(3, 1, 4)], lambda a: a[:, 0]),
    Case("squeeze", "squeeze-all", ops.squeeze, [rand(1, 3, 1)], np.squeeze),
    Case("broadcast_to", "broadcast_to", lambda a: ops.broadcast_to(a, (2, 3, 4)), [A31],
         lambda a: np.broadcast_to(a, (2, 3, 4))),
    Case("getitem", "getitem-slices", lambda a: a[1:, ::2], [A34], lambda a: a[1:, ::2]),
    Case("getitem", "getitem-int-none-ellipsis", lambda a: a[1, None, ..., -1], [A234],
         lambda a: a[1, None, ..., -1]),
    Case("getitem", "getitem-negative-step", lambda a: a[::-1, 1:3], [A34], lambda a: a[::-1, 1:3]),
    Case("getitem", "getitem-int-array-duplicates", lambda a: a[np.array([0, 2, 0, 2])], [A34],
         lambda a: a[[0, 2, 0, 2]]),
    Case("getitem", "getitem-bool-mask", lambda a: a[A34 > 0], [rand(3, 4, seed=8)], lambda a: a[A34 > 0]),
    Case("getitem", "getitem-mixed-advanced", lambda a: a[:, np.array([3, 0, 3])], [A34],
         lambda a: a[:, [3, 0, 3]]),
    Case("getitem", "getitem-pairs", lambda a: a[np.arange(3), np.array([1, 0, 1])], [A34],
         lambda a: a[np.arange(3), [1, 0, 1]]),
    Case("concatenate", "concatenate-axis0", lambda a, b: ops.concatenate([a, b], 0), [A34, rand(2, 4)],
         lambda a, b: np.concatenate([a, b], 0)),
    Case("concatenate", "concatenate-three-last", lambda a, b, c: ops.concatenate([a, b, c], -1),
         [A34, rand(3, 1), rand(3, 2, seed=3)], lambda a, b, c: np.concatenate([a, b, c], -1)),
    Case("stack", "stack-axis0", lambda a, b: ops.stack([a, b]), [A34, rand(3, 4, seed=5)],
         lambda a, b: np.stack([a, b])),
    Case("stack", "stack-axis-1", lambda a, b, c: ops.stack([a, b, c], -1), [A34, A34 * 2, rand(3, 4)],
         lambda a, b, c: np.stack([a, b, c], -1)),
    Case("split", "split-equal", lambda a: ops.split(a, 2, axis=-1), [A234],
         lambda a: np.split(a, 2, axis=-1)),
    Case("split", "split-indices-axis0", lambda a: ops.split(a, [1, 3], axis=0), [rand(5, 2)],
         lambda a: np.split(a, [1, 3], axis=0)),
    Case("repeat", "repeat-axis1", lambda a: ops.repeat(a, 3, axis=1), [A34], lambda a: np.repeat(a, 3, 1)),
    Case("repeat", "repeat-axis-1", lambda a: ops.repeat(a, 2, axis=-1), [A234],
         lambda a: np.repeat(a, 2, -1)),
    Case("tile", "tile-same-rank", lambda a: ops.tile(a, (2, 3)), [A34], lambda a: np.tile(a, (2, 3))),
    Case("tile", "tile-short-reps", lambda a: ops.tile(a, (2,)), [A34], lambda a: np.tile(a, (2,))),
    Case("tile", "tile-long-reps", lambda a: ops.tile(a, (2, 1, 3)), [A34], lambda a: np.tile(a, (2, 1, 3))),
    Case("pad", "pad-pairs", lambda a: ops.pad(a, ((1, 0), (2, 1))), [A34],
         lambda a: np.pad(a, ((1, 0), (2, 1)))),
    Case("pad", "pad-int", lambda a: ops.pad(a, 1), [A34], lambda a: np.pad(a, 1)),
    Case("pad", "pad-value-rank3", lambda a: ops.pad(a, ((0, 0), (1, 1), (0, 2)), 1.5), [A234],
         lambda a: np.pad(a, ((0, 0), (1, 1), (0, 2)), constant_values=1.5)),
    # -- nn ops --------------------------------------------------------------------------------------
    Case("matmul", "matmul-2d", ops.matmul, [A34, rand(4, 5)], np.matmul),
    Case("matmul", "matmul-3d-2d", ops.matmul, [A234, rand(4, 5)], np.matmul),
    Case("matmul", "matmul-batched", ops.matmul, [A234, rand(2, 4, 3)], np.matmul),
    Case("matmul", "matmul-2d-3d-broadcast", ops.matmul, [A34, rand(2, 4, 5)], np.matmul),
    Case("matmul", "matmul-broadcast-batch", ops.matmul, [rand(2, 1, 3, 4), rand(5, 4, 2)], np.matmul),
    Case("matmul", "matmul-1d-2d", ops.matmul, [B4, rand(4, 3)], np.matmul),
    Case("matmul", "matmul-2d-1d", ops.matmul, [A34, B4], np.matmul),
    Case("matmul", "matmul-1d-1d", ops.matmul, [B4, rand(4, seed=9)], np.matmul),
    Case("matmul", "matmul-3d-1d", ops.matmul, [A234, B4], np.matmul),
    Case("matmul", "matmul-operator", lambda a, b: a @ b, [A34, rand(4, 2)], np.matmul),
    Case("linear", "linear-bias", lambda x, k, b: ops.linear(x, k, b), [A34, rand(4, 5), rand(5)],
         lambda x, k, b: x @ k + b),
    Case("linear", "linear-rank3-no-bias", lambda x, k: ops.linear(x, k), [A234, rand(4, 5)],
         lambda x, k: x @ k),
    Case("softmax", "softmax-last", ops.softmax, [A234 * 3], softmax_ref),
    Case("softmax", "softmax-axis0", lambda z: ops.softmax(z, 0), [A234], lambda z: softmax_ref(z, 0)),
    Case("log_softmax", "log_softmax-last", ops.log_softmax, [A234 * 3], log_softmax_ref),
    Case("log_softmax", "log_softmax-axis1", lambda z: ops.log_softmax(z, 1), [A234],
         lambda z: log_softmax_ref(z, 1)),
    Case("relu", "relu", ops.relu, [away_from_zero(3, 4)], lambda a: np.maximum(a, 0)),
    Case("dropout", "dropout-seeded", lambda a: ops.dropout(a, 0.4, seed=3), [A34]),
    Case("dropout", "dropout-noise-shape", lambda a: ops.dropout(a, 0.5, (3, 1), seed=4), [A34]),
    Case("dropout", "dropout-rate0-identity", lambda a: ops.dropout(a, 0.0), [A34], lambda a: a),
    Case("dropout", "dropout-rate1-zeros", lambda a: ops.dropout(a, 1.0), [A34], np.zeros_like),
    # -- fused crossentropies ------------------------------------------------------------------------
    Case("categorical_crossentropy_from_probs", "cce-probs-softmax-random",
         lambda z: ops.categorical_crossentropy_from_probs(Y4, ops.softmax(z)), [rand(5, 4) * 2],
         lambda z: cce_probs_ref(Y4, softmax_ref(z))),
    Case("categorical_crossentropy_from_probs", "cce-probs-softmax-saturated",
         lambda z: ops.categorical_crossentropy_from_probs(Y_SMOOTH, ops.softmax(z)), [Z_SATURATED],
         lambda z: cce_probs_ref(Y_SMOOTH, softmax_ref(z))),
    Case("categorical_crossentropy_from_probs", "cce-probs-raw-unnormalized",
         lambda p: ops.categorical_crossentropy_from_probs(Y_SMOOTH, p), [rand(5, 4, low=0.05, high=2.0)],
         lambda p: cce_probs_ref(Y_SMOOTH, p)),
    Case("categorical_crossentropy_from_probs", "cce-probs-raw-near-saturated",
         lambda p: ops.categorical_crossentropy_from_probs(Y4, p),
         [np.array([[0.97, 1e-9, 0.02, 0.01], [1e-8, 0.5, 0.3, 0.2], [0.25, 0.25, 1e-6, 0.5],
                    [0.1, 0.2, 0.3, 0.4], [0.3, 0.3, 0.4, 5e-8]])],
         lambda p: cce_probs_ref(Y4, p), check={"eps": 1e-9, "trials": 4}),
    Case("categorical_crossentropy_from_logits", "cce-logits-random",
         lambda z: ops.categorical_crossentropy_from_logits(Y_SMOOTH, z), [rand(5, 4) * 2],
         lambda z: -(Y_SMOOTH * log_softmax_ref(z)).sum(-1)),
    Case("categorical_crossentropy_from_logits", "cce-logits-saturated",
         lambda z: ops.categorical_crossentropy_from_logits(Y4, z), [Z_SATURATED],
         lambda z: -(Y4 * log_softmax_ref(z)).sum(-1)),
    Case("binary_crossentropy_from_probs", "bce-probs-sigmoid-random",
         lambda z: ops.binary_crossentropy_from_probs(Y_BIN, ops.sigmoid(z)), [rand(5, 3) * 2],
         lambda z: bce_probs_ref(Y_BIN, sigmoid_ref(z))),
    Case("binary_crossentropy_from_probs", "bce-probs-sigmoid-saturated",
         lambda z: ops.binary_crossentropy_from_probs(Y_BIN, ops.sigmoid(z)), [Z_BIN_SATURATED],
         lambda z: bce_probs_ref(Y_BIN, sigmoid_ref(z))),
    Case("binary_crossentropy_from_probs", "bce-probs-raw",
         lambda p: ops.binary_crossentropy_from_probs(Y_BIN * 0.9 + 0.05, p), [rand(5, 3, low=0.02, high=0.98)],
         lambda p: bce_probs_ref(Y_BIN * 0.9 + 0.05, p)),
    Case("binary_crossentropy_from_probs", "bce-probs-raw-near-saturated",
         lambda p: ops.binary_crossentropy_from_probs(Y_BIN[:2], p),
         [np.array([[1e-9, 0.5, 1 - 1e-9], [0.999, 1e-6, 1 - 1e-6]])],
         lambda p: bce_probs_ref(Y_BIN[:2], p), check={"eps": 1e-9, "trials": 4}),
    Case("binary_crossentropy_from_logits", "bce-logits-random",
         lambda z: ops.binary_crossentropy_from_logits(Y_BIN, z), [rand(5, 3) * 2],
         lambda z: bce_logits_ref(Y_BIN, z)),
    Case("binary_crossentropy_from_logits", "bce-logits-saturated",
         lambda z: ops.binary_crossentropy_from_logits(Y_BIN, z), [Z_BIN_SATURATED],
         lambda z: bce_logits_ref(Y_BIN, z)),
]

Y_INT = np.array([0, 2, 1, 3, 2])
IDS = np.array([[0, 3, 3], [1, 0, 4]])
MEAN3, VAR3 = rand(3, seed=5), rand(3, seed=6, low=0.5, high=2.0)
R = recurrent_ops

CASES += [
    Case("conv2d", "conv2d-same-s2", lambda x, k, b: ops.conv2d(x, k, b, strides=2, padding="same"),
         [rand(2, 5, 5, 3), rand(3, 3, 3, 4, seed=1), rand(4, seed=2)]),
    Case("conv1d", "conv1d-dilated", lambda x, k, b: ops.conv1d(x, k, b, padding="causal", dilation_rate=2),
         [rand(2, 6, 3), rand(2, 3, 2, seed=1), rand(2, seed=2)]),
    Case("depthwise_conv2d", "depthwise-dm2", lambda x, k, b: ops.depthwise_conv2d(x, k, b),
         [rand(2, 4, 4, 2), rand(2, 2, 2, 2, seed=1), rand(4, seed=2)]),
    Case("conv2d_transpose", "conv2d-transpose-s2", lambda x, k, b: ops.conv2d_transpose(x, k, b, strides=2),
         [rand(2, 3, 3, 2), rand(2, 2, 3, 2, seed=1), rand(3, seed=2)]),
    Case("max_pool2d", "max-pool2d-same", lambda x: ops.max_pool2d(x, 2, 2, "same"), [distinct(2, 5, 5, 2)]),
    Case("average_pool2d", "avg-pool2d-s1", lambda x: ops.average_pool2d(x, 2, 1), [rand(2, 4, 4, 2)]),
    Case("max_pool1d", "max-pool1d", lambda x: ops.max_pool1d(x, 2, 1), [distinct(2, 5, 3)]),
    Case("average_pool1d", "avg-pool1d-same", lambda x: ops.average_pool1d(x, 2, 2, "same"), [rand(2, 5, 3)]),
    Case("simple_rnn", "simple-rnn", lambda x, k, r, b: R.sequence_outputs(ops.simple_rnn(x, k, r, b), 1),
         [rand(2, 4, 3), rand(3, 2, seed=1), rand(2, 2, seed=2), rand(2, seed=3)]),
    Case("lstm", "lstm-backwards", lambda x, k, r, b: R.sequence_outputs(
        ops.lstm(x, k, r, b, go_backwards=True), 2), [rand(2, 4, 3), rand(3, 8, seed=1), rand(2, 8, seed=2),
                                                     rand(8, seed=3)]),
    Case("gru", "gru-reset-after", lambda x, k, r, b: R.sequence_outputs(ops.gru(x, k, r, b), 1),
         [rand(2, 4, 3), rand(3, 6, seed=1), rand(2, 6, seed=2), rand(2, 6, seed=3)]),
    Case("sequence_outputs", "sequence-outputs", lambda x, k, r: R.sequence_outputs(ops.simple_rnn(x, k, r), 1),
         [rand(2, 3, 2), rand(2, 2, seed=1), rand(2, 2, seed=2)]),
    Case("last_output", "last-output", lambda x, k, r: R.last_output(
        ops.lstm(x, k, r, return_sequences=False), 2), [rand(2, 3, 2), rand(2, 8, seed=1), rand(2, 8, seed=2)]),
    Case("final_states", "final-states", lambda x, k, r: R.final_states(ops.lstm(x, k, r), 2),
         [rand(2, 3, 2), rand(2, 8, seed=1), rand(2, 8, seed=2)]),
    Case("normalize_batch", "normalize-batch", lambda x, g, b: ops.normalize_batch(x, (0, 1), g, b)[0],
         [rand(3, 2, 3), rand(3, seed=1), rand(3, seed=2)]),
    Case("normalize_fixed", "normalize-fixed", lambda x, g, b: ops.normalize_fixed(x, MEAN3, VAR3, g, b),
         [rand(4, 3), rand(3, seed=1), rand(3, seed=2)]),
    Case("sparse_categorical_crossentropy_from_probs", "scce-probs",
         lambda z: ops.sparse_categorical_crossentropy_from_probs(Y_INT, ops.softmax(z)), [rand(5, 4)]),
    Case("sparse_categorical_crossentropy_from_logits", "scce-logits",
         lambda z: ops.sparse_categorical_crossentropy_from_logits(Y_INT, z), [rand(5, 4) * 2]),
    Case("log_cosh", "log-cosh", lambda x: ops.log_cosh(x), [rand(3, 4) * 3]),
    Case("take_rows", "take-rows-repeated-ids", lambda t: ops.take_rows(t, IDS), [rand(5, 3)]),
]

# Ops whose gradient is deliberately not the derivative of the forward value; each has its own test.
SPECIAL = {"stop_gradient": "test_stop_gradient_blocks_the_gradient"}


def _ops_defined_in(module):
    return {name for name, obj in vars(module).items()
            if inspect.isfunction(obj) and obj.__module__ == module.__name__ and not name.startswith("_")}


def test_every_op_has_a_gradient_case():
    ops_all = set()
    for module in OP_MODULES:
        ops_all |= _ops_defined_in(module)
    ops_all -= NOT_OPS
    covered = {c.op for c in CASES} | set(SPECIAL)
    missing = sorted(ops_all - covered)
    assert not missing, f"ops without a gradient-check case in tests/test_engine_ops.py: {missing}"
    unknown = sorted(covered - ops_all)
    assert not unknown, f"cases name ops that do not exist: {unknown}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_gradient(case):
    check_backward(case.fn, case.inputs, **case.check)


FORWARD = [c for c in CASES if c.ref is not None]


@pytest.mark.parametrize("case", FORWARD, ids=[c.id for c in FORWARD])
def test_forward_matches_numpy_in_float32(case):
    inputs = [Tensor(a.astype(np.float32), requires_grad=True) for a in case.inputs]
    out = case.fn(*inputs)
    outs = out if isinstance(out, (list, tuple)) else [out]
    expected = case.ref(*[a.astype(np.float32).astype(np.float64) for a in case.inputs])
    expected = expected if isinstance(expected, (list, tuple)) else [expected]
    assert len(outs) == len(expected), f"{case.id}: {len(outs)} outputs, NumPy gives {len(expected)}"
    for i, (o, e) in enumerate(zip(outs, expected)):
        assert o.shape == np.shape(e), f"{case.id} output {i}: shape {o.shape} vs NumPy {np.shape(e)}"
        if case.float32_ok:
            assert o.dtype == np.float32, f"{case.id} output {i}: dtype {o.dtype} leaked from float32 inputs"
        np.testing.assert_allclose(o.data, e, rtol=2e-5, atol=2e-6, err_msg=f"{case.id} output {i} values")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_backward_keeps_float32(case):
    """Gradients of float32 inputs come back float32 (no float64 leak in any backward)."""
    inputs = [Tensor(a.astype(np.float32), requires_grad=True) for a in case.inputs]
    out = case.fn(*inputs)
    outs = out if isinstance(out, (list, tuple)) else [out]
    total = None
    for o in outs:
        term = ops.sum(o * np.float32(0.5))
        total = term if total is None else total + term
    total.backward()
    for i, t in enumerate(inputs):
        if t.grad is not None:
            assert t.grad.dtype == np.float32, f"{case.id}: gradient of input {i} is {t.grad.dtype}"
            assert t.grad.shape == t.shape, f"{case.id}: gradient of input {i} has shape {t.grad.shape}"


def test_stop_gradient_blocks_the_gradient():
    x = Tensor(A34.copy(), requires_grad=True)
    out = ops.stop_gradient(x) * x
    np.testing.assert_array_equal(out.data, A34 * A34, err_msg="stop_gradient forward value")
    out.sum().backward()
    np.testing.assert_allclose(x.grad, A34, err_msg="gradient should flow only through the second factor")


def test_cast_to_float32_returns_gradient_in_input_dtype():
    x = Tensor(A34.copy(), requires_grad=True)
    y = ops.cast(x, np.float32)
    assert y.dtype == np.float32, f"cast produced {y.dtype}"
    y.sum().backward()
    assert x.grad.dtype == np.float64, f"gradient dtype {x.grad.dtype}, expected the input's float64"


def test_dropout_keeps_or_scales_by_inverse_keep_rate():
    x = np.float32(1.0) + np.abs(A34.astype(np.float32))
    out = ops.dropout(Tensor(x), 0.25, seed=1).data
    kept = out != 0
    assert 0 < kept.sum() < x.size, f"dropout kept {kept.sum()} of {x.size} values"
    np.testing.assert_allclose(out[kept], x[kept] / np.float32(0.75), rtol=1e-6,
                               err_msg="kept values are not scaled by 1/(1-rate)")
    shared = ops.dropout(Tensor(x), 0.5, (3, 1), seed=2).data
    assert ((shared == 0).all(axis=1) | (shared != 0).all(axis=1)).all(), \
        "noise_shape (3, 1) should drop whole rows"


def test_saturated_softmax_crossentropy_has_keras_clipped_gradient():
    """At a saturated wrong prediction, the clipped formula's gradient to the logits is 0 (Keras's value)."""
    z = Tensor(np.array([[40.0, -40.0, 0.0]], dtype=np.float32), requires_grad=True)
    loss = ops.categorical_crossentropy_from_probs(np.array([[0.0, 1.0, 0.0]], np.float32), ops.softmax(z))
    np.testing.assert_allclose(loss.data, [-np.log(np.float32(EPS))], rtol=1e-6, err_msg="clipped loss value")
    loss.sum().backward()
    np.testing.assert_array_equal(z.grad, np.zeros((1, 3), np.float32), err_msg="clipped gradient")


def test_split_rejects_unequal_sections():
    with pytest.raises(ValueError, match="equal sections"):
        ops.split(Tensor(A34), 3, axis=-1)


def test_no_grad_records_nothing():
    x = Variable(A34.astype(np.float32))
    with no_grad():
        y = ops.tanh(x) * 2.0
    assert not y.requires_grad and y._parents == (), "no_grad() still recorded the tape"


# -- custom losses and Lambda layers written with kspec ops train -----------------------------------------

def _regression_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + np.float32(0.3)).astype(np.float32)
    return x, y


def test_custom_loss_written_with_ops_trains():
    from kspec.backend import set_seed
    from kspec.layers import Dense
    from kspec.models import Sequential
    from kspec.optimizers import SGD

    def log_cosh(y_true, y_pred):
        diff = ops.subtract(y_pred, y_true)
        return ops.mean(ops.log((ops.exp(diff) + ops.exp(-diff)) * 0.5), axis=-1)

    set_seed(0)
    x, y = _regression_data()
    model = Sequential([Dense(1, input_shape=(3,))])
    model.compile(optimizer=SGD(learning_rate=0.1), loss=log_cosh)
    history = model.fit(x, y, batch_size=16, epochs=5, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert np.isfinite(losses).all(), f"custom loss produced non-finite values {losses}"
    assert losses[-1] < 0.5 * losses[0], f"custom loss did not decrease enough: {losses}"


def test_lambda_written_with_ops_trains():
    from kspec.backend import set_seed
    from kspec.layers import Dense, Lambda
    from kspec.models import Sequential
    from kspec.optimizers import SGD

    set_seed(0)
    x, y = _regression_data(1)
    model = Sequential([Dense(4, input_shape=(3,)),
                        Lambda(lambda t, scale: ops.tanh(t) * scale + ops.square(t) * 0.1,
                               arguments={"scale": 2.0}),
                        Dense(1)])
    model.compile(optimizer=SGD(learning_rate=0.05), loss="mse")
    history = model.fit(x, y, batch_size=16, epochs=8, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert np.isfinite(losses).all(), f"Lambda model produced non-finite losses {losses}"
    assert losses[-1] < 0.5 * losses[0], f"Lambda model's loss did not decrease enough: {losses}"
