"""Preprocessing steps, the Preprocessor's state, and load_split's entry forms."""
import json

import h5py
import numpy as np
import pytest

from kspec.data import (STEPS, DataError, Preprocessor, StepError, build_pipeline, load_split)


def images(n=6, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 4, 4), dtype=np.uint8)


def roundtrip(pre):
    return Preprocessor.from_state(json.loads(json.dumps(pre.state())))


# ---------------------------------------------------------------------------------------- steps

def test_scale_and_reshape_make_one_float32_array_and_leave_input_alone():
    x = images()
    before = x.copy()
    out = build_pipeline([{"scale": 255}, {"reshape": [16]}]).apply(x)
    assert out.dtype == np.float32 and out.shape == (6, 16)
    np.testing.assert_array_equal(out, (x.astype(np.float32) / np.float32(255)).reshape(6, 16))
    assert not np.shares_memory(out, x)
    assert out.base is None or out.base.base is None  # a view of one new array, no chain of copies
    np.testing.assert_array_equal(x, before)
    assert build_pipeline([{"scale": 2}]).apply(np.ones(3)).dtype == np.float32  # float64 in


def test_reshape_minus_one_and_bad_shapes():
    assert build_pipeline([{"reshape": [-1, 2]}]).apply(images()).shape == (6, 8, 2)
    with pytest.raises(StepError, match="cannot reshape samples of shape \\[4, 4\\]"):
        build_pipeline([{"reshape": [15]}]).apply(images())
    for bad in ([-1, -1], [0], "784", []):
        with pytest.raises(StepError, match="reshape"):
            build_pipeline([{"reshape": bad}])


def test_one_hot():
    out = build_pipeline([{"one_hot": 3}]).apply(np.array([0, 2, 1], np.uint8))
    assert out.dtype == np.float32 and out.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert build_pipeline([{"one_hot": 3}]).apply(np.array([[2.0], [0.0]])).shape == (2, 3)
    with pytest.raises(StepError, match="at least 5"):
        build_pipeline([{"one_hot": 3}]).apply(np.array([4]))
    with pytest.raises(StepError, match="whole-number"):
        build_pipeline([{"one_hot": 3}]).apply(np.array([0.5]))


def test_astype():
    assert build_pipeline([{"astype": "int32"}]).apply(np.ones(2)).dtype == np.int32
    with pytest.raises(StepError, match="unknown dtype 'float128'"):
        build_pipeline([{"astype": "float128"}])
    with pytest.raises(StepError, match="unknown dtype 'float64'.*engine computes in float32"):
        build_pipeline([{"astype": "float64"}])


def test_standardize_uses_the_fit_statistics():
    rng = np.random.default_rng(1)
    train = rng.normal(5, 3, (200, 3)).astype(np.float32)
    train[:, 2] = 7  # a constant feature: std 0 -> 1
    pipe = build_pipeline(["standardize"]).fit(train)
    step = pipe.steps[0]
    np.testing.assert_allclose(step.mean, train.mean(0), rtol=1e-6)
    np.testing.assert_allclose(step.std[:2], train.std(0)[:2], rtol=1e-5)
    assert step.std[2] == 1
    other = rng.normal(0, 1, (10, 3)).astype(np.float32)
    out = pipe.apply(other)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, (other - step.mean) / step.std, rtol=1e-6)
    assert not np.shares_memory(out, other)


def test_standardize_axis_and_unfitted():
    x = images(8).astype(np.float32)[..., None]  # (8, 4, 4, 1): one channel
    pipe = build_pipeline([{"standardize": {"axis": [0, 1, 2]}}]).fit(x)
    assert pipe.steps[0].mean.shape == (1, 1, 1)
    np.testing.assert_allclose(pipe.steps[0].mean.ravel(), [x.mean()], rtol=1e-6)
    with pytest.raises(StepError, match="fit it on the training split"):
        build_pipeline(["standardize"]).apply(x)
    with pytest.raises(StepError, match="includes 0"):
        build_pipeline([{"standardize": {"axis": 1}}])
    assert build_pipeline([{"standardize": False}]).apply(x) is x


def test_pipeline_steps_fit_on_the_output_of_earlier_steps():
    x = images(20)
    pipe = build_pipeline([{"scale": 255}, {"reshape": [16]}, "standardize"]).fit(x)
    assert pipe.steps[2].mean.shape == (16,)
    np.testing.assert_allclose(pipe.steps[2].mean, (x / 255).reshape(20, 16).mean(0), rtol=1e-5)


def test_limit_cuts_x_and_y_together():
    x, y = images(10), np.arange(10)
    pipe = build_pipeline([{"scale": 255}, {"limit": 4}])
    px, py = pipe.apply_xy(x, y)
    assert px.shape == (4, 4, 4) and py.tolist() == [0, 1, 2, 3]
    pre = Preprocessor([{"scale": 255}], [{"limit": 3}])
    tx, ty = pre.transform(x, y)
    assert len(tx) == len(ty) == 3
    assert len(pre.transform_x(x)) == 10  # predict input is never cut


def test_unknown_step_names_the_valid_ones():
    with pytest.raises(ValueError) as e:
        build_pipeline([{"normalise": True}])
    assert isinstance(e.value, DataError) and "'normalise'" in str(e.value)
    for name in STEPS:
        assert name in str(e.value)
    with pytest.raises(StepError, match="one-key mapping"):
        build_pipeline([{"scale": 255, "reshape": [16]}])
    with pytest.raises(StepError, match="must be a list"):
        build_pipeline({"scale": 255})
    with pytest.raises(StepError, match="positive number"):
        build_pipeline(["scale"])


# --------------------------------------------------------------------------------- Preprocessor

def test_preprocessor_state_round_trips_through_json():
    rng = np.random.default_rng(2)
    train, y = rng.normal(3, 2, (50, 4)).astype(np.float32), rng.integers(0, 3, 50)
    pre = Preprocessor(["standardize"], [{"one_hot": 3}])
    tx, ty = pre.fit_transform(train, y, classes=["a", "b", "c"])
    assert tx.dtype == ty.dtype == np.float32 and ty.shape == (50, 3)
    again = roundtrip(pre)
    assert again.classes == ["a", "b", "c"] and again.fitted
    new = rng.normal(0, 1, (5, 4)).astype(np.float32)
    np.testing.assert_array_equal(again.transform_x(new), pre.transform_x(new))
    np.testing.assert_array_equal(again.transform_y(y[:5]), pre.transform_y(y[:5]))
    fit_only = Preprocessor(["standardize"]).fit(train)
    np.testing.assert_array_equal(fit_only.transform_x(new), pre.transform_x(new))


def test_preprocessor_multi_input():
    rng = np.random.default_rng(3)
    x = {"a": rng.normal(1, 2, (30, 2)), "b": rng.normal(-4, 1, (30, 3))}
    shared = Preprocessor(["standardize"]).fit(x)
    out = roundtrip(shared).transform_x(x)
    for k in x:  # each input got its own statistics
        np.testing.assert_allclose(out[k].mean(0), 0, atol=1e-5)
    named = Preprocessor({"b": [{"scale": 2}]})
    out = named.transform_x(x)
    assert out["a"] is x["a"] and np.allclose(out["b"], x["b"] / 2)
    with pytest.raises(StepError, match="lacks"):
        Preprocessor({"c": ["standardize"]}).fit(x)


def test_fit_on_float32_input_never_mutates_it():
    x = np.random.default_rng(4).normal(size=(20, 3)).astype(np.float32)
    before = x.copy()
    out, _ = Preprocessor([{"scale": 1}, "standardize"]).fit_transform(x)
    np.testing.assert_array_equal(x, before)
    assert not np.shares_memory(out, x)


# ---------------------------------------------------------------------------------- load_split

def test_load_split_npz_keys_and_multi_input(tmp_path):
    x, y = np.ones((4, 2)), np.arange(4)
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y, aux=np.zeros((4, 1)))
    got_x, got_y = load_split({"path": "d.npz", "x": "x_train", "y": "y_train"}, str(tmp_path))
    assert got_x.shape == (4, 2) and got_y.tolist() == [0, 1, 2, 3]
    multi, _ = load_split({"path": "d.npz", "x": {"main": "x_train", "side": "aux"},
                           "y": "y_train"}, str(tmp_path))
    assert sorted(multi) == ["main", "side"]
    with pytest.raises(DataError, match="several arrays"):
        load_split({"path": "d.npz"}, str(tmp_path))


def test_load_split_separate_files_string_labels_and_mismatch(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((3, 2)))
    np.save(tmp_path / "y.npy", np.array(["b", "a", "b"]))
    split = load_split({"x": "x.npy", "y": "y.npy"}, str(tmp_path))
    assert split.y.tolist() == [1, 0, 1] and split.classes == ["a", "b"]
    np.save(tmp_path / "y2.npy", np.arange(2))
    with pytest.raises(DataError, match="x 3, y 2"):
        load_split({"x": "x.npy", "y": "y2.npy"}, str(tmp_path))
    with pytest.raises(DataError, match="one array"):
        load_split({"path": "x.npy", "x": "k"}, str(tmp_path))
    with pytest.raises(DataError, match="unknown keys \\['colour'\\]"):
        load_split({"path": "x.npy", "colour": 1}, str(tmp_path))


def test_load_split_h5_and_csv_with_training_classes(tmp_path):
    with h5py.File(tmp_path / "d.h5", "w") as f:
        f["x"], f["y"] = np.ones((3, 2)), np.arange(3)
    x, y = load_split({"path": "d.h5"}, str(tmp_path))
    assert x.shape == (3, 2) and y.tolist() == [0, 1, 2]
    (tmp_path / "test.csv").write_text("f,label\n1,dog\n")
    split = load_split({"path": "test.csv", "label_column": "label"}, str(tmp_path),
                       classes=["cat", "dog"])
    assert split.y.tolist() == [1] and split.classes == ["cat", "dog"]
