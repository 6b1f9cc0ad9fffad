"""kspec save -> kspec load gives the same model, and kspec's files have Keras's layout (reference §7a-§7d),
compared object by object with the files real Keras 3 wrote for the same architecture."""
import json
import os

import h5py
import numpy as np
import pytest

from kspec import backend, io
from kspec.io.keras_config import compile_args, model_from_config, optimizer_from_config
from kspec.layers import Activation, Dense, Dropout, InputLayer, clear_session
from kspec.models import Sequential

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "io")
KSPEC_ONLY_ATTRS = {"/@kspec_version", "/@kspec_spec", "/@kspec_checksum"}


@pytest.fixture(autouse=True)
def fresh_names():
    clear_session()
    backend.set_seed(0)


def data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(8, 5)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[np.arange(8) % 3]
    return x, y


def mlp(optimizer=None, loss="categorical_crossentropy", metrics=("accuracy",), steps=2):
    """The Keras fixtures' architecture; compiled and trained ``steps`` steps when given an optimizer."""
    model = Sequential([InputLayer(shape=(5,)), Dense(4, activation="relu"), Dropout(0.5),
                        Dense(3, activation="softmax")])
    if optimizer is not None:
        model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics) if metrics else None)
        x, y = data()
        for _ in range(steps):
            model.train_on_batch(x, y)
    return model


def layout(path):
    """{"/path": description} for every group, dataset and attribute: kind, shape, dtype, string type."""
    out = {}

    def attrs(name, obj):
        for key in obj.attrs:
            out[f"{name}@{key}"] = _attr_type(obj, key)

    def visit(name, obj):
        full = "/" + name
        if isinstance(obj, h5py.Dataset):
            # kspec adds fletcher32 checksums (which need one chunk) to non-empty arrays; Keras reads both
            checked = obj.fletcher32 and obj.chunks == obj.shape
            out[full] = ("dataset", obj.shape, obj.dtype.str, None if checked else obj.chunks, obj.compression,
                         obj.fletcher32 or (obj.ndim > 0 and obj.size > 0))
        else:
            out[full] = ("group",)
        attrs(full, obj)

    with h5py.File(path, "r") as f:
        attrs("/", f)
        f.visititems(visit)
    return out


def _attr_type(obj, key):
    dtype = obj.attrs.get_id(key).dtype
    info = h5py.check_string_dtype(dtype)
    shape = obj.attrs.get_id(key).shape
    if info is not None:
        return ("string", info.encoding, "vlen" if info.length is None else "fixed", shape)
    return (dtype.str, shape)


def read_attrs(path, obj="/"):
    with h5py.File(path, "r") as f:
        return {k: f[obj].attrs[k] for k in f[obj].attrs}


# -- layout against Keras's own files ------------------------------------------------------------------------
@pytest.mark.parametrize("name, keras_file, save", [
    ("model.h5", "keras3_mlp.h5", lambda m, p: io.save_model(m, p, spec={"seed": 0})),
    ("m.weights.h5", "keras3_mlp.weights.h5", io.save_weights),
], ids=["model.h5", "weights.h5"])
def test_layout_matches_keras(tmp_path, name, keras_file, save):
    """Same groups, datasets (shape, dtype, contiguous), attributes and attribute string types."""
    path = tmp_path / name
    save(mlp("adam", steps=1), path)
    ours, keras = layout(path), layout(os.path.join(FIXTURES, keras_file))
    assert set(ours) - KSPEC_ONLY_ATTRS == set(keras), (
        f"only kspec: {sorted(set(ours) - set(keras) - KSPEC_ONLY_ATTRS)}; only Keras: "
        f"{sorted(set(keras) - set(ours))}")
    for key in keras:
        assert ours[key] == keras[key], f"{key}: kspec {ours[key]} vs Keras {keras[key]}"


def test_model_and_training_config_equal_keras(tmp_path):
    path = tmp_path / "m.h5"
    io.save_model(mlp({"Adam": {"learning_rate": 0.01}}, steps=1), path)
    ours, keras = read_attrs(path), read_attrs(os.path.join(FIXTURES, "keras3_mlp.h5"))
    for key in ("model_config", "training_config"):
        assert json.loads(ours[key]) == json.loads(keras[key]), f"{key} differs from Keras's"
    assert ours["keras_version"] == "3.15.1" and ours["backend"] == "numpy"
    assert ours["kspec_version"], "kspec_version attribute empty"


def test_weight_and_optimizer_names_follow_keras(tmp_path):
    path = tmp_path / "m.h5"
    io.save_model(mlp("adam", steps=1), path)
    with h5py.File(path, "r") as ours, h5py.File(os.path.join(FIXTURES, "keras3_mlp.h5"), "r") as keras:
        for obj, key in [("model_weights", "layer_names"), ("model_weights/dense", "weight_names"),
                         ("model_weights/dense_1", "weight_names"), ("optimizer_weights", "weight_names")]:
            assert list(ours[obj].attrs[key]) == list(keras[obj].attrs[key]), f"{obj}@{key}"
        assert ours["optimizer_weights/adam/iteration"][()] == 1
        assert ours["optimizer_weights/adam/iteration"].dtype == np.int32, "iteration must be int32 like JAX"


def test_legacy_weights_only_layout(tmp_path):
    """Keras 2's save_weights('w.h5'): the /model_weights content at the root."""
    path = tmp_path / "w.h5"
    io.save_weights(mlp(), path)
    tree = layout(path)
    assert tree["/@layer_names"] == ("string", "ascii", "vlen", (3,))
    assert tree["/dense@weight_names"] == ("string", "ascii", "vlen", (2,))
    assert tree["/dropout@weight_names"] == ("<f8", (0,)), "empty weight_names must be float64[0]"
    assert tree["/dense/sequential/dense/kernel"][:3] == ("dataset", (5, 4), "<f4")
    assert "/model_weights" not in tree and "/@model_config" not in tree


# -- round trips ---------------------------------------------------------------------------------------------
OPTIMIZERS = [
    ("adam", {"Adam": {"learning_rate": 0.01}}),
    ("sgd-nesterov", {"SGD": {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}}),
    ("rmsprop-centered", {"RMSprop": {"learning_rate": 0.01, "centered": True, "momentum": 0.5}}),
]


@pytest.mark.parametrize("optimizer", [o for _, o in OPTIMIZERS], ids=[i for i, _ in OPTIMIZERS])
def test_save_load_model_round_trip(tmp_path, optimizer):
    model = mlp(optimizer, metrics=("accuracy", "mae"))
    path = tmp_path / "model.h5"
    io.save_model(model, path)
    loaded = io.load_model(path)
    x, y = data(1)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                                  err_msg="predictions")
    for i, (a, b) in enumerate(zip(loaded.get_weights(), model.get_weights())):
        np.testing.assert_array_equal(a, b, err_msg=f"weight {i}")
    assert [n for n, _ in loaded.optimizer.variables] == [n for n, _ in model.optimizer.variables]
    for (name, a), (_, b) in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=f"optimizer {name}")
    assert loaded.optimizer.get_config() == model.optimizer.get_config(), "optimizer config"
    for key in ("loss", "metrics", "loss_weights", "weighted_metrics"):
        assert loaded.compile_args[key] == model.compile_args[key], f"compile {key}"
    # Training continues identically: the next step (dropout off for determinism) gives the same weights.
    for m in (model, loaded):
        m.layers[1].rate = 0.0
        m.train_on_batch(x, y)
    for i, (a, b) in enumerate(zip(loaded.get_weights(), model.get_weights())):
        np.testing.assert_array_equal(a, b, err_msg=f"weight {i} after one more step")


@pytest.mark.parametrize("spec", [{"name": "run", "seed": 0, "model": {"layers": ["Dense"]}},
                                  "name: run\nseed: 0\n", None], ids=["dict", "yaml-text", "none"])
def test_spec_round_trip(tmp_path, spec):
    path = tmp_path / "m.h5"
    io.save_model(mlp(), path, spec=spec)
    _, loaded = io.load_model_and_spec(path)
    assert loaded == spec, "stored spec"
    assert ("kspec_spec" in read_attrs(path)) == (spec is not None)


def test_uncompiled_and_include_optimizer_false(tmp_path):
    plain, no_opt = tmp_path / "plain.h5", tmp_path / "no_opt.h5"
    io.save_model(mlp(), plain)
    io.save_model(mlp("adam"), no_opt, include_optimizer=False)
    for path in (plain, no_opt):
        with h5py.File(path, "r") as f:
            assert "training_config" not in f.attrs and "optimizer_weights" not in f, f"{path.name}"
        assert io.load_model(path).optimizer is None, f"{path.name} loaded compiled"


@pytest.mark.parametrize("name", ["w.weights.h5", "w.h5"], ids=["native", "legacy"])
def test_save_load_weights_round_trip(tmp_path, name):
    source = mlp("adam")
    path = tmp_path / name
    io.save_weights(source, path)
    clear_session()
    target = mlp("adam", steps=0)
    io.load_weights(target, path)
    for i, (a, b) in enumerate(zip(target.get_weights(), source.get_weights())):
        np.testing.assert_array_equal(a, b, err_msg=f"weight {i}")
    if name.endswith(".weights.h5"):  # only the native file carries optimizer state
        for (n, a), (_, b) in zip(target.optimizer.variables, source.optimizer.variables):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=f"optimizer {n}")


def test_weights_h5_paths_count_classes_not_names(tmp_path):
    """/layers/dense, /layers/dense_1 ... by class within the model, whatever the layer names."""
    model = Sequential([InputLayer(shape=(3,)), Dense(4, name="a"), Activation("tanh", name="b"),
                        Dense(2, name="c")])
    path = tmp_path / "m.weights.h5"
    io.save_weights(model, path)
    with h5py.File(path, "r") as f:
        assert sorted(f["layers"]) == ["activation", "dense", "dense_1"]
        assert [f[f"layers/{k}/vars"].attrs["name"] for k in ("dense", "activation", "dense_1")] == ["a", "b", "c"]
        assert len(f["layers/activation/vars"]) == 0 and f["vars"].attrs["name"] == model.name
        assert "optimizer" not in f, "uncompiled model wrote optimizer state"


# -- config translation (Keras 2 forms) ----------------------------------------------------------------------
def test_keras2_optimizer_config_lr_and_decay():
    opt = optimizer_from_config({"class_name": "SGD", "config": {"lr": 0.02, "momentum": 0.5, "decay": 0.0,
                                                                 "nesterov": False}})
    assert opt.get_config()["learning_rate"] == pytest.approx(0.02) and opt.decay == 0.0
    opt = optimizer_from_config({"class_name": "Adam", "config": {
        "name": "Adam", "learning_rate": 0.001, "jit_compile": True, "is_legacy_optimizer": False,
        "weight_decay": None, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}})
    assert type(opt).__name__ == "Adam" and opt.name == "Adam"


def test_keras20_list_config_and_batch_input_shape_on_first_layer():
    """Keras 2.0/2.1 Sequential config is the layer list; the first layer carries batch_input_shape."""
    config = {"class_name": "Sequential", "config": [
        {"class_name": "Dense", "config": {"name": "dense_1", "units": 3, "activation": "linear",
                                           "batch_input_shape": [None, 4], "dtype": "float32",
                                           "kernel_initializer": {"class_name": "VarianceScaling", "config": {
                                               "scale": 1.0, "mode": "fan_avg", "distribution": "uniform",
                                               "seed": None}}}}]}
    model = model_from_config(config)
    assert model.input_shape == (None, 4) and model.layers[0].name == "dense_1"
    assert model.layers[0].kernel.shape == (4, 3)


def test_compile_args_metrics_forms():
    base = {"optimizer_config": {"class_name": "SGD", "config": {}}, "loss": "mse", "loss_weights": None}
    nested = compile_args({**base, "metrics": [[{"class_name": "MeanMetricWrapper", "config": {
        "name": "mae", "dtype": "float32", "fn": "mean_absolute_error"}}, "accuracy"]]})
    assert nested["metrics"] == ["mae", "accuracy"]
    assert compile_args({**base, "metrics": None})["metrics"] is None
    assert compile_args({**base, "metrics": ["mae"]})["metrics"] == ["mae"]


def test_long_string_lists_split_like_keras(tmp_path):
    """Lists over 64512 bytes go to name0, name1, ... (Keras's HDF5_OBJECT_HEADER_LIMIT) and read back whole."""
    from kspec.io.h5utils import read_strings, write_strings
    names = [f"layer_with_a_rather_long_name_{i:05d}" for i in range(2000)]  # 36 bytes each, 72000 in all
    with h5py.File(tmp_path / "s.h5", "w") as f:
        write_strings(f, "layer_names", names)
        assert sorted(f.attrs) == ["layer_names0", "layer_names1"], sorted(f.attrs)
        assert read_strings(f, "layer_names") == names
        write_strings(f, "empty", [])
        assert f.attrs["empty"].dtype == np.float64 and read_strings(f, "empty") == []
        f.attrs["fixed"] = np.array([b"dense/kernel:0", b"dense/bias:0"])  # h5py 2 / Keras 2 style
        assert read_strings(f, "fixed") == ["dense/kernel:0", "dense/bias:0"]


def test_bfloat16_weights_are_widened(tmp_path):
    """Keras writes bfloat16 variables as raw 2-byte values with attribute dtype="bfloat16"."""
    from kspec.io.h5utils import read_array
    want = np.array([[1.5, -2.0], [0.15625, 3.0e-3]], dtype=np.float32)
    raw = (want.view(np.uint32) >> 16).astype(np.uint16)  # truncation: these values are exact in bfloat16
    with h5py.File(tmp_path / "b.h5", "w") as f:
        f.create_dataset("w", data=raw.view("V2"))
        f["w"].attrs["dtype"] = "bfloat16"
        got = read_array(f, "w", "b.h5")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, (raw.astype(np.uint32) << 16).view(np.float32), err_msg="bfloat16 bits")
    np.testing.assert_allclose(got, want, rtol=1e-2, err_msg="bfloat16 values")
