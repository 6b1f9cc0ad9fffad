"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector.

Keras numbers come from tests/fixtures/layers_forward.npz (tools/make_golden_layers.py).
"""
import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kspec.engine import Tensor
from kspec.layers import Flatten, Permute, RepeatVector, Reshape
from kspec.testing import check_backward, run_layer_test

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "layers_forward.npz"))

HARNESS = [
    ("flatten-rank3", Flatten, {}, (2, 3, 4), (2, 12)),
    ("flatten-rank2", Flatten, {}, (3, 5), (3, 5)),
    ("flatten-rank1", Flatten, {}, (4,), (4, 1)),
    ("flatten-channels-first", Flatten, {"data_format": "channels_first"}, (2, 3, 4, 5), (2, 60)),
    ("reshape-infer", Reshape, {"target_shape": (-1, 2)}, (2, 3, 4), (2, 6, 2)),
    ("reshape-full", Reshape, {"target_shape": (2, 2, 3)}, (3, 12), (3, 2, 2, 3)),
    ("permute-swap", Permute, {"dims": (2, 1)}, (2, 3, 4), (2, 4, 3)),
    ("permute-rank4", Permute, {"dims": (3, 1, 2)}, (2, 3, 4, 5), (2, 5, 3, 4)),
    ("repeat-vector", RepeatVector, {"n": 3}, (2, 4), (2, 3, 4)),
]


@pytest.mark.parametrize("cid, cls, kwargs, shape, out_shape", HARNESS, ids=[h[0] for h in HARNESS])
def test_run_layer_test(cid, cls, kwargs, shape, out_shape):
    run_layer_test(cls, kwargs, shape, expected_output_shape=out_shape, expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, supports_masking=False)


# -- Keras numbers --------------------------------------------------------------------------------------

GOLDEN_CASES = [
    ("flatten_last", Flatten(), "x4"),
    ("flatten_first", Flatten(data_format="channels_first"), "x4"),
    ("reshape_infer", Reshape((-1, 2)), "x4"),
    ("reshape_full", Reshape((5, 3)), "x3"),
    ("permute_21", Permute((2, 1)), "x3"),
    ("permute_312", Permute((3, 1, 2)), "x4"),
    ("repeat_vector", RepeatVector(3), "x2"),
]


@pytest.mark.parametrize("key, layer, x", GOLDEN_CASES, ids=[c[0] for c in GOLDEN_CASES])
def test_matches_keras(key, layer, x):
    out = layer(Tensor(GOLDEN[x])).data
    expected = GOLDEN[key]
    assert out.shape == expected.shape, f"{key}: shape {out.shape} vs Keras {expected.shape}"
    assert out.dtype == np.float32, f"{key}: dtype {out.dtype}"
    np.testing.assert_array_equal(out, expected, err_msg=f"{key}: values differ from Keras")


def test_flatten_channels_first_moves_channels_last():
    x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)  # (batch, C, H, W)
    out = Flatten(data_format="channels_first")(Tensor(x)).data
    np.testing.assert_array_equal(out[0], x[0].transpose(1, 2, 0).ravel(),
                                  err_msg="channels_first Flatten should flatten in (H, W, C) order")


# -- float64 gradient checks -------------------------------------------------------------------------------

GRADIENT_CASES = [
    ("flatten", Flatten(), (2, 3, 4)),
    ("flatten-channels-first", Flatten(data_format="channels_first"), (2, 3, 4, 2)),
    ("reshape", Reshape((-1, 3)), (2, 3, 4)),
    ("permute", Permute((3, 1, 2)), (2, 3, 4, 2)),
    ("repeat-vector", RepeatVector(4), (3, 5)),
]


@pytest.mark.parametrize("cid, layer, shape", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_gradient(cid, layer, shape):
    check_backward(lambda t: layer(t), [np.random.default_rng(0).standard_normal(shape)])


# -- shapes and errors --------------------------------------------------------------------------------------

def test_unknown_dimensions_give_none():
    assert Flatten().compute_output_shape((None, 3, None)) == (None, None), "Flatten with an unknown dim"
    assert Reshape((-1, 2)).compute_output_shape((None, None, 4)) == (None, None, 2), "Reshape -1 unknown"
    assert Reshape((2, 3)).compute_output_shape((None, None)) == (None, 2, 3), "Reshape with full target"


def test_reshape_size_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match=r"\(3, 4\) \(12 values\) into target_shape=\(5, 2\)"):
        Reshape((5, 2))(Tensor(np.zeros((2, 3, 4), np.float32)))
    with pytest.raises(ValueError, match="not a multiple"):
        Reshape((-1, 5)).compute_output_shape((None, 3, 4))


@pytest.mark.parametrize("target", [(-1, -1), (2, -3), (2.0, 3)], ids=["two-unknown", "negative", "float"])
def test_reshape_rejects_bad_targets(target):
    with pytest.raises(ValueError, match="target_shape"):
        Reshape(target)


@pytest.mark.parametrize("dims", [(1, 3), (0, 1), (2, 2)], ids=["gap", "zero-based", "repeated"])
def test_permute_rejects_bad_dims(dims):
    with pytest.raises(ValueError, match="consecutive and start from 1"):
        Permute(dims)


def test_permute_and_repeat_vector_check_rank():
    with pytest.raises(ValueError, match="rank 3"):
        Permute((2, 1))(Tensor(np.zeros((2, 3, 4, 5), np.float32)))
    with pytest.raises(ValueError, match="rank 2"):
        RepeatVector(2)(Tensor(np.zeros((2, 3, 4), np.float32)))


def test_repeat_vector_rejects_bad_n():
    with pytest.raises(TypeError, match="integer"):
        RepeatVector(2.0)
    with pytest.raises(ValueError, match="positive"):
        RepeatVector(0)


def test_flatten_rejects_bad_data_format():
    with pytest.raises(ValueError, match="data_format"):
        Flatten(data_format="nchw")


def test_reshaping_layers_drop_masks():
    x = Tensor(np.ones((2, 3, 4), np.float32))
    x.keras_mask = np.ones((2, 3), bool)
    for layer in (Flatten(), Reshape((4, 3)), Permute((2, 1))):
        assert layer(x).keras_mask is None, f"{type(layer).__name__} should drop the mask"
    v = Tensor(np.ones((2, 4), np.float32))
    v.keras_mask = np.ones((2,), bool)
    assert RepeatVector(2)(v).keras_mask is None, "RepeatVector should drop the mask"


# -- property: compute_output_shape agrees with the call ------------------------------------------------------

SAMPLE_SHAPES = st.lists(st.integers(1, 4), min_size=1, max_size=4)


def _assert_shape_agrees(layer, sample_shape, batch=2):
    declared = layer.compute_output_shape((None,) + tuple(sample_shape))
    out = layer(Tensor(np.ones((batch,) + tuple(sample_shape), np.float32)))
    assert declared == (None,) + out.shape[1:], f"{layer}: compute_output_shape {declared} vs call {out.shape}"


@settings(max_examples=30, deadline=None)
@given(shape=SAMPLE_SHAPES, channels_first=st.booleans())
def test_flatten_shape_property(shape, channels_first):
    _assert_shape_agrees(Flatten(data_format="channels_first" if channels_first else None), shape)


@settings(max_examples=30, deadline=None)
@given(shape=SAMPLE_SHAPES, data=st.data())
def test_reshape_shape_property(shape, data):
    size = math.prod(shape)
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    first = data.draw(st.sampled_from(divisors))
    second = size // first
    unknown = data.draw(st.sampled_from([None, 0, 1]))
    target = [first, second]
    if unknown is not None:
        target[unknown] = -1
    _assert_shape_agrees(Reshape(target), shape)


@settings(max_examples=30, deadline=None)
@given(shape=SAMPLE_SHAPES, data=st.data())
def test_permute_shape_property(shape, data):
    dims = data.draw(st.permutations(list(range(1, len(shape) + 1))))
    _assert_shape_agrees(Permute(dims), shape)


@settings(max_examples=30, deadline=None)
@given(features=st.integers(1, 6), n=st.integers(1, 5), batch=st.integers(1, 3))
def test_repeat_vector_shape_property(features, n, batch):
    _assert_shape_agrees(RepeatVector(n), (features,), batch)
