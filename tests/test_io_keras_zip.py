"""Keras 3's native ``.keras`` zip both ways: files written by real Keras (tools/make_golden_keras_zip.py) load
with the same predictions, weights and optimizer state; kspec's own ``.keras`` files have Keras's layout and
compile configuration; ``kspec export`` writes them from a run; the legacy ``training_config`` holds losses
and metrics with arguments in Keras's ``{class_name, config}`` form."""
import json
import os
import zipfile

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from kspec import io
from kspec.cli.main import cli
from kspec.io import ModelFileError, keras_zip
from kspec.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, InputLayer, clear_session
from kspec.models import Sequential

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "keras_zip")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART = os.path.join(REPO, "configs", "quickstart.yaml")
ATOL = 1e-6


def fixture(name):
    return os.path.join(FIXTURES, name)


def golden(name):
    data = np.load(fixture(f"{name}.npz"))
    count = lambda prefix: sum(k.startswith(prefix) and k[len(prefix):].isdigit() for k in data.files)  # noqa: E731
    return (data["x"], data["y_pred"], [data[f"w{i}"] for i in range(count("w"))],
            [data[f"opt{i}"] for i in range(count("opt"))])


def assert_close(got, want, what, atol=ATOL):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    diff = float(np.max(np.abs(got.astype(np.float64) - want))) if got.size else 0.0
    assert diff <= atol, f"{what}: max |diff| {diff:.3g} > {atol}"


@pytest.fixture(autouse=True)
def fresh_names():
    clear_session()


# -- reading Keras's files -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["mlp", "functional", "cnn_bn", "rnn"])
def test_keras_files_predict_like_keras(name):
    x, y_pred, weights, opt = golden(name)
    model = io.load_model(fixture(f"{name}.keras"))
    assert_close(model.predict(x, verbose=0), y_pred, f"{name}.keras predictions")
    got = model.get_weights()
    assert len(got) == len(weights), f"{name}: {len(got)} weights, Keras had {len(weights)}"
    for i, (g, w) in enumerate(zip(got, weights)):
        np.testing.assert_array_equal(g, w, err_msg=f"{name}.keras weight {i}")
    assert model.compiled == bool(opt), f"{name}: compiled is {model.compiled}, Keras's model had an optimizer: {bool(opt)}"
    if opt:
        state = [v for _, v in io.optimizer_state.keras_weights(model)]
        assert len(state) == len(opt), f"{name}: {len(state)} optimizer variables, Keras had {len(opt)}"
        for i, (g, w) in enumerate(zip(state, opt)):
            assert_close(g, w, f"{name}.keras optimizer variable {i}")


def test_keras_compile_config_with_loss_arguments():
    model = io.load_model(fixture("mlp.keras"))
    loss = model.compile_args["loss"]
    assert loss["class_name"] == "SparseCategoricalCrossentropy" and loss["config"]["from_logits"] is True, loss
    assert type(model.optimizer).__name__ == "Adam" and abs(model.optimizer.learning_rate - 0.01) < 1e-7
    x, _, _, _ = golden("mlp")
    logs = model.evaluate(x, np.arange(6) % 3, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}, logs


def test_load_model_without_compile_and_load_weights_from_keras_file():
    x, y_pred, _, _ = golden("cnn_bn")
    assert not io.load_model(fixture("cnn_bn.keras"), compile=False).compiled
    fresh = Sequential([InputLayer(shape=(6, 6, 2)), Conv2D(3, 3, padding="same"), BatchNormalization(),
                        *[__import__("kspec").layers.ReLU(), __import__("kspec").layers.MaxPooling2D()],
                        Flatten(), Dense(2, activation="softmax")])
    fresh.load_weights(fixture("cnn_bn.keras"))
    assert_close(fresh.predict(x, verbose=0), y_pred, "load_weights from .keras")
    with pytest.raises(ModelFileError, match="by_name loading needs a legacy .h5"):
        io.load_weights(fresh, fixture("cnn_bn.keras"), by_name=True)


# -- writing .keras --------------------------------------------------------------------------------------
def trained_mlp(loss=None, metrics=("accuracy",), train=True):
    from kspec import backend
    backend.set_seed(3)
    model = Sequential([InputLayer(shape=(5,)), Dense(4, activation="relu"), Dropout(0.5), Dense(3)])
    model.compile(optimizer={"Adam": {"learning_rate": 0.01}},
                  loss=loss or {"SparseCategoricalCrossentropy": {"from_logits": True}}, metrics=list(metrics))
    x = np.random.default_rng(0).normal(size=(6, 5)).astype("float32")
    y = np.arange(6) % 3
    if train:
        model.train_on_batch(x, y)
    return model, x, y


def test_save_keras_layout_and_round_trip(tmp_path):
    model, x, y = trained_mlp()
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == ["metadata.json", "config.json", "model.weights.h5"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos), "Keras stores members uncompressed"
        config = json.loads(zf.read("config.json"))
        metadata = json.loads(zf.read("metadata.json"))
        with h5py.File(__import__("io").BytesIO(zf.read("model.weights.h5")), "r") as f:
            assert sorted(f["layers"]) == ["dense", "dense_1", "dropout"]
            assert f["layers/dense_1/vars"].attrs["name"] == "dense_1" and len(f["optimizer/vars"]) == 10
    assert metadata["keras_version"] == "3.15.1" and "date_saved" in metadata
    assert {k: config[k] for k in ("module", "class_name", "registered_name")} == \
        {"module": "keras", "class_name": "Sequential", "registered_name": None}
    assert config["build_config"] == {"input_shape": [None, 5]}
    compiled = config["compile_config"]
    assert compiled["optimizer"]["class_name"] == "Adam" and compiled["optimizer"]["module"] == "keras.optimizers"
    assert compiled["loss"]["class_name"] == "SparseCategoricalCrossentropy"
    assert compiled["loss"]["config"]["from_logits"] is True and compiled["loss"]["module"] == "keras.losses"
    assert compiled["metrics"] == ["accuracy"]
    loaded = io.load_model(path)
    assert_close(loaded.predict(x, verbose=0), model.predict(x, verbose=0), "round trip predictions")
    for (n1, a), (n2, b) in zip(io.optimizer_state.keras_weights(loaded), io.optimizer_state.keras_weights(model)):
        assert_close(a, b, f"optimizer state {n1}")
    loaded.train_on_batch(x, y)
    model.train_on_batch(x, y)
    # Dropout draws differ between the two models; compare the steps' effect on the last layer's bias only
    # through the optimizer iteration, which must have continued from the file's.
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 2


def test_training_config_writes_keras_objects(tmp_path):
    model, _, _ = trained_mlp(metrics=["accuracy", {"SparseTopKCategoricalAccuracy": {"k": 2}}])
    path = tmp_path / "m.h5"
    model.save(path)
    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["training_config"])
    assert set(config["loss"]) == {"class_name", "config"}, "a legacy .h5 holds {class_name, config}"
    assert config["loss"]["class_name"] == "SparseCategoricalCrossentropy", config["loss"]
    assert {k: config["loss"]["config"][k] for k in ("name", "reduction", "from_logits")} == \
        {"name": "sparse_categorical_crossentropy", "reduction": "sum_over_batch_size", "from_logits": True}
    assert config["metrics"][0] == "accuracy"
    assert config["metrics"][1]["class_name"] == "SparseTopKCategoricalAccuracy" \
        and config["metrics"][1]["config"]["k"] == 2, config["metrics"]
    loaded = io.load_model(path)
    assert loaded.compile_args["loss"]["config"]["from_logits"] is True


def test_loss_aliases_in_training_config():
    from kspec.io.keras_config import training_config
    model, _, _ = trained_mlp(loss="mse", metrics=[], train=False)
    assert training_config(model)["loss"] == "mean_squared_error", "Keras's .h5 loader fails on the alias mse"


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(b"PK\x03\x04 truncated"), "not a readable .keras"),
    (lambda p: zipfile.ZipFile(p, "w").writestr("config.json", "{}"), "no model.weights.h5"),
    (lambda p: _zip(p, {"config.json": "{not json", "model.weights.h5": b""}), "config.json in the archive is not "
                                                                                "valid JSON"),
    (lambda p: _zip(p, {"config.json": "{}", "model.weights.npz": b""}), ".npz weights format is not supported"),
], ids=["truncated", "no-weights", "bad-json", "npz"])
def test_damaged_keras_files_raise_model_file_error(tmp_path, damage, message):
    path = tmp_path / "bad.keras"
    damage(path)
    with pytest.raises(ModelFileError, match=message):
        keras_zip.load_model(path)


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_failed_save_keeps_the_existing_file(tmp_path, monkeypatch):
    model, _, _ = trained_mlp()
    path = tmp_path / "m.keras"
    path.write_bytes(b"previous")

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(keras_zip.zipfile.ZipFile, "writestr", boom)
    with pytest.raises(ModelFileError, match="No space left"):
        io.save_model(model, path)
    assert path.read_bytes() == b"previous", "a failed save must not touch the existing file"
    assert os.listdir(tmp_path) == ["m.keras"], "no temporary file may be left behind"


# -- the command line ----------------------------------------------------------------------------------------
def _invoke(args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_export_then_predict_evaluate_summary_on_the_keras_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    trained = _invoke(["train", QUICKSTART, "--set", "fit.epochs=2", "--run-dir", "run", "-q"])
    assert trained.exit_code == 0, trained.stderr
    out = _invoke(["export", "run", "out/iris.keras"])
    assert out.exit_code == 0 and out.stdout.strip() == "out/iris.keras", out.stdout + out.stderr
    assert keras_zip.is_keras_zip("out/iris.keras")
    again = _invoke(["export", "run", "out/iris.keras"])
    assert again.exit_code == 1 and "exists already" in again.stderr and "--force" in again.stderr
    assert _invoke(["export", "run", "out/iris.h5", "--force"]).exit_code == 0
    bad = _invoke(["export", "run", "out/iris.onnx"])
    assert bad.exit_code == 1 and "unknown model file type" in bad.stderr, bad.stderr
    from_run = json.loads(_invoke(["evaluate", "run"]).stdout)
    for target in ("out/iris.keras", "out/iris.h5"):
        assert json.loads(_invoke(["evaluate", target]).stdout) == from_run, f"evaluate {target}"
        summary = _invoke(["summary", target])
        assert summary.exit_code == 0 and "Total params: 131" in summary.stdout, summary.stdout
    rows = "5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"
    assert _invoke(["predict", "out/iris.keras", "-"], input=rows).stdout == \
        _invoke(["predict", "run", "-"], input=rows).stdout


def test_init_weights_from_a_keras_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _invoke(["train", QUICKSTART, "--set", "fit.epochs=2", "--run-dir", "a", "-q"]).exit_code == 0
    assert _invoke(["export", "a", "a.keras"]).exit_code == 0
    result = _invoke(["train", QUICKSTART, "--set", "fit.epochs=1", "--run-dir", "b", "-q",
                      "--init-weights", "a.keras"])
    assert result.exit_code == 0, result.stderr
    from kspec.run import build, load_run
    model = build(QUICKSTART)[2]
    io.load_weights(model, "a.keras")
    for i, (got, want) in enumerate(zip(model.get_weights(), load_run("a").model.get_weights())):
        np.testing.assert_array_equal(got, want, err_msg=f"weight {i} read from a.keras")


@pytest.mark.reference
def test_keras_loads_kspec_keras_files(tmp_path):
    """Live check with real Keras (skipped when keras cannot be imported); the same check runs as
    ``tools/check_keras_loads_keras_zip.py write DIR`` then ``... check DIR`` with the reference venv."""
    import importlib.util
    import warnings
    os.environ.setdefault("KERAS_BACKEND", "jax")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pytest.importorskip("keras")
    spec = importlib.util.spec_from_file_location(
        "check_keras_loads_keras_zip", os.path.join(REPO, "tools", "check_keras_loads_keras_zip.py"))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.write(tmp_path)
    lines = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        failures = tool.check(tmp_path, report=lines.append)
    assert failures == 0, "\n".join(line for line in lines if line.startswith("FAIL"))
    assert len(lines) > 40, "too few checks ran"
