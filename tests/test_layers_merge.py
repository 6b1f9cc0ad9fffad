"""Merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot) vs Keras 3.15.1:
outputs, masks, configs, declared shapes, and float64 gradient checks.

Keras numbers come from tests/fixtures/functional_golden.* (tools/make_golden_functional.py).
``run_layer_test`` calls a layer on one tensor, so the merges get the same checks here on lists.
"""
import json
import os

import numpy as np
import pytest

from kspec import registry
from kspec.engine import Tensor
from kspec.layers import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract,
                          clear_session)
from kspec.testing import check_backward

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
with open(os.path.join(FIXTURES, "functional_golden.json"), encoding="utf-8") as _f:
    GOLDEN = json.load(_f)["merges"]
ARRAYS = np.load(os.path.join(FIXTURES, "functional_golden.npz"))
INPUTS = {k: ARRAYS[f"merge/{k}"] for k in "abcv"}
PLAIN = sorted(k for k in GOLDEN if not k.startswith("masked_"))
MASKED = sorted(k for k in GOLDEN if k.startswith("masked_"))


@pytest.fixture(autouse=True)
def fresh_names():
    clear_session()
    yield
    clear_session()


def layer_from_golden(case):
    cls = registry.lookup("layer", case["class_name"])
    return cls.from_config(json.loads(json.dumps(case["config"])))


@pytest.mark.parametrize("name", PLAIN, ids=PLAIN)
def test_output_matches_keras(name):
    case = GOLDEN[name]
    layer = layer_from_golden(case)
    inputs = [Tensor(INPUTS[k]) for k in case["inputs"]]
    out = layer(inputs)
    assert out.dtype == np.float32, f"{name}: output is {out.dtype}"
    np.testing.assert_allclose(out.data, ARRAYS[f"merge/{name}"], rtol=1e-5, atol=1e-6,
                               err_msg=f"{name}: output differs from Keras")
    declared = layer.compute_output_shape([(None,) + t.shape[1:] for t in inputs])
    assert tuple(declared[1:]) == out.shape[1:], f"{name}: compute_output_shape {declared} vs {out.shape}"


@pytest.mark.parametrize("name", PLAIN, ids=PLAIN)
def test_config_matches_keras_and_round_trips(name):
    case = GOLDEN[name]
    layer = layer_from_golden(case)
    config = json.loads(json.dumps(layer.get_config()))
    assert config == case["config"], f"{name}: get_config() differs from Keras's"
    again = type(layer).from_config(config).get_config()
    assert json.loads(json.dumps(again)) == config, f"{name}: from_config(get_config()) changed the config"


def test_dot_of_two_vectors_gives_batch_by_one():
    out = Dot(axes=1)([Tensor(INPUTS["a"][:, 0]), Tensor(INPUTS["b"][:, 0])])
    np.testing.assert_allclose(out.data, ARRAYS["merge/dot_rank2"], rtol=1e-5, err_msg="Dot of (b, k) inputs")
    assert out.shape == (3, 1), f"Dot of two (b, k) inputs gives {out.shape}, Keras gives (b, 1)"


@pytest.mark.parametrize("name", MASKED, ids=MASKED)
def test_masks_match_keras(name):
    case = GOLDEN[name]
    layer = layer_from_golden(case)
    a, b = Tensor(INPUTS["a"]), Tensor(INPUTS["b"])
    a.keras_mask = ARRAYS["merge/m1"]
    if name.endswith("_both"):
        b.keras_mask = ARRAYS["merge/m2"]
    out = layer([a, b])
    np.testing.assert_allclose(out.data, ARRAYS[f"merge/{name}"], rtol=1e-6, atol=1e-6,
                               err_msg=f"{name}: masked output differs from Keras")
    if case["has_mask"]:
        assert out.keras_mask is not None, f"{name}: Keras gives an output mask, kspec none"
        np.testing.assert_array_equal(out.keras_mask, ARRAYS[f"merge/{name}_mask"],
                                      err_msg=f"{name}: output mask differs from Keras")
    else:
        assert out.keras_mask is None, f"{name}: Keras drops the mask, kspec keeps one"


GRADIENT_CASES = [
    ("add3", Add, {}, ["a", "b", "c"]), ("subtract", Subtract, {}, ["a", "b"]),
    ("multiply3", Multiply, {}, ["a", "b", "c"]), ("average3", Average, {}, ["a", "b", "c"]),
    ("maximum3", Maximum, {}, ["a", "b", "c"]), ("minimum", Minimum, {}, ["a", "b"]),
    ("concat_axis1", Concatenate, {"axis": 1}, ["a", "c"]), ("concat_last", Concatenate, {}, ["a", "b"]),
    ("dot_2", Dot, {"axes": 2}, ["a", "b"]), ("dot_12", Dot, {"axes": (1, 1)}, ["a", "b"]),
    ("dot_normalize", Dot, {"axes": -1, "normalize": True}, ["a", "b"]),
    ("dot_mixed", Dot, {"axes": (2, 1)}, ["a", "v"]), ("add_broadcast_rank", Add, {}, ["a", "v"]),
]


@pytest.mark.parametrize("name, cls, kwargs, keys", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_gradient_check_float64(name, cls, kwargs, keys):
    layer = cls(**kwargs)
    arrays = [INPUTS[k].astype(np.float64) for k in keys]
    check_backward(lambda *xs: layer(list(xs)), arrays)


@pytest.mark.parametrize("cls", [Multiply, Maximum, Minimum], ids=lambda c: c.__name__)
def test_gradient_check_with_masks_float64(cls):
    layer = cls()
    m1, m2 = ARRAYS["merge/m1"], ARRAYS["merge/m2"]

    def fn(a, b):
        a.keras_mask, b.keras_mask = m1, m2
        return layer([a, b])

    check_backward(fn, [INPUTS["a"].astype(np.float64), INPUTS["b"].astype(np.float64)])


@pytest.mark.parametrize("cls, kwargs, shapes, message", [
    (Add, {}, [(None, 3), (None, 4)], "incompatible shapes"),
    (Subtract, {}, [(None, 3), (None, 3), (None, 3)], "exactly 2 inputs"),
    (Concatenate, {}, [(None, 3, 2), (None, 4, 2)], "matching shapes except for the concatenation axis"),
    (Concatenate, {}, [(None, 3), (None, 3, 1)], "matching shapes"),
    (Dot, {"axes": 1}, [(None, 3), (None, 4)], "Incompatible input shapes"),
    (Add, {}, [(2, 3), (5, 3)], "different batch sizes"),
], ids=["add", "subtract-3", "concat-inner", "concat-rank", "dot", "batch"])
def test_shape_errors(cls, kwargs, shapes, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs).ensure_built(shapes)


def test_merge_needs_a_list():
    with pytest.raises(ValueError, match="list"):
        Add().ensure_built((None, 3))


@pytest.mark.parametrize("axes", ["x", (1, 2, 3), (1.0, 1)], ids=["str", "three", "float"])
def test_dot_rejects_bad_axes(axes):
    with pytest.raises((TypeError, ValueError), match="axes"):
        Dot(axes=axes)


def test_dot_normalize_of_zero_vector_is_zero():
    zero = Tensor(np.zeros((2, 3), "float32"))
    out = Dot(axes=1, normalize=True)([zero, Tensor(np.ones((2, 3), "float32"))])
    np.testing.assert_array_equal(out.data, np.zeros((2, 1), "float32"), err_msg="cosine with a zero vector")
