"""train -> evaluate -> predict on the quickstart through the Python API, ``kspec.run`` (issue 3)."""
import csv
import io
import json
import os
import shutil

import numpy as np
import pytest

from kspec import run
from kspec.data import DataError
from kspec.spec import SpecError, load_file, resolve

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART = os.path.join(REPO, "configs", "quickstart.yaml")
IRIS_TEST = os.path.join(REPO, "configs", "data", "iris_test.csv")
FAST = ("fit.epochs=15",)


def _iris_test_rows():
    with open(IRIS_TEST, newline="") as f:
        rows = list(csv.reader(f))[1:]
    return np.array([r[:4] for r in rows], dtype=np.float32), [r[4] for r in rows]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "iris"
    progress = io.StringIO()
    result = run.train(QUICKSTART, run_dir=str(folder), overrides=FAST, stream=progress)
    return result, progress.getvalue()


def test_run_folder_holds_everything(trained):
    result, _ = trained
    names = sorted(os.listdir(result.run_dir))
    assert names == ["config.yaml", "history.csv", "metrics.json", "model.h5", "preprocessing.json",
                     "run.json"], names


def test_progress_goes_to_the_stream(trained):
    result, progress = trained
    assert "Epoch 15/15" in progress and "val_accuracy" in progress, f"progress: {progress[-300:]!r}"
    assert len(result.history["loss"]) == 15, "one history entry per epoch"


def test_history_csv_matches_the_history(trained):
    result, _ = trained
    with open(os.path.join(result.run_dir, "history.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == list(range(15)), "epochs 0..14"
    assert float(rows[-1]["val_loss"]) == result.history["val_loss"][-1], "last val_loss"


def test_config_yaml_is_the_resolved_spec(trained):
    result, _ = trained
    doc = load_file(os.path.join(result.run_dir, "config.yaml"))
    spec = resolve(doc)
    assert spec["fit"]["epochs"] == 15, "the override is recorded"
    assert spec["seed"] == 0 and spec["compile"]["optimizer"]["Adam"]["beta_1"] == 0.9, "defaults filled in"
    assert os.path.samefile(spec["data"]["train"]["path"], os.path.join(REPO, "configs", "data",
                                                                        "iris_train.csv")), \
        "data paths are rewritten relative to the run folder"


def test_metrics_json_equals_evaluate(trained):
    result, _ = trained
    with open(os.path.join(result.run_dir, "metrics.json")) as f:
        stored = json.load(f)
    again = run.evaluate(result.run_dir)
    assert set(stored) == {"accuracy", "loss"}, f"metric names {sorted(stored)}"
    assert again == pytest.approx(stored, rel=1e-6), "evaluate reproduces metrics.json"
    assert stored["accuracy"] >= 0.8, f"quickstart test accuracy {stored['accuracy']}"


def test_predict_applies_the_stored_preprocessing(trained):
    result, _ = trained
    x, names = _iris_test_rows()
    probs = run.predict(result.run_dir, x)
    assert probs.shape == (30, 3) and probs.dtype == np.float32, f"{probs.shape} {probs.dtype}"
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5), "softmax rows"
    loaded = run.load_run(result.run_dir)
    manual = loaded.model.predict(loaded.preprocessor.transform_x(x), verbose=0)
    np.testing.assert_array_equal(probs, manual, err_msg="predict == model(standardize(x))")
    accuracy = np.mean([loaded.classes[i] == n for i, n in zip(run.to_classes(probs), names)])
    assert accuracy == pytest.approx(result.metrics["accuracy"]), "predicted classes match evaluate"


def test_a_bare_model_file_is_enough(trained, tmp_path):
    result, _ = trained
    alone = tmp_path / "elsewhere.h5"
    shutil.copy(os.path.join(result.run_dir, "model.h5"), alone)
    x, _ = _iris_test_rows()
    np.testing.assert_array_equal(run.predict(str(alone), x), run.predict(result.run_dir, x),
                                  err_msg="the preprocessing state is inside model.h5")
    metrics = run.evaluate(str(alone), data=IRIS_TEST)
    assert metrics == pytest.approx(result.metrics, rel=1e-6), "evaluate on --data with the label column"


def test_same_seed_same_history(tmp_path):
    a = run.train(QUICKSTART, run_dir=str(tmp_path / "a"), overrides=("fit.epochs=2",), verbose=0)
    b = run.train(QUICKSTART, run_dir=str(tmp_path / "b"), overrides=("fit.epochs=2",), verbose=0)
    assert a.history == b.history, "seed 0 makes training reproducible"


def test_run_folders_are_never_overwritten(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dirs = [run.train(QUICKSTART, overrides=("fit.epochs=1",), verbose=0).run_dir for _ in range(3)]
    assert dirs == [os.path.join("runs", "iris"), os.path.join("runs", "iris-1"),
                    os.path.join("runs", "iris-2")], dirs
    explicit = run.train(QUICKSTART, run_dir="runs/iris", overrides=("fit.epochs=1",), verbose=0)
    assert explicit.run_dir == os.path.join("runs", "iris-3"), "an explicit --run-dir is not overwritten"


def test_failed_training_leaves_no_run_folder(tmp_path, monkeypatch):
    import functools

    from kspec.models import Model

    folder = tmp_path / "failed"

    @functools.wraps(Model.fit)  # the same signature: the spec's fit section is read from it
    def failing_fit(self, *args, **kwargs):
        assert folder.exists(), "fit runs after the run folder is made"
        raise RuntimeError("training failed")

    monkeypatch.setattr(Model, "fit", failing_fit)
    with pytest.raises(RuntimeError, match="training failed"):
        run.train(QUICKSTART, run_dir=str(folder), verbose=0)
    assert not folder.exists(), "the partial run folder is removed"


@pytest.mark.parametrize("override, error", [
    ("data.train.path=absent.csv", DataError),
    ("model.layers.0.Dense.unit=3", SpecError),
    ("fit.validation_split=0.999", SpecError),  # 120 * (1 - 0.999) rounds to no training sample
], ids=["data", "spec", "validation-split"])
def test_errors_before_training_create_nothing(tmp_path, override, error):
    folder = tmp_path / "runs" / "x"
    with pytest.raises(error):
        run.train(QUICKSTART, run_dir=str(folder), overrides=(override,), verbose=0)
    assert not (tmp_path / "runs").exists(), "no folder (not even the parent) before training starts"


@pytest.mark.parametrize("how", ["init_weights", "model.weights"])
def test_initial_weights_are_loaded(trained, tmp_path, how):
    result, _ = trained
    start = os.path.join(result.run_dir, "model.h5")
    # learning rate 0: one epoch leaves the weights as they were loaded
    overrides = ["fit.epochs=1", "compile.optimizer.Adam.learning_rate=0"]
    if how == "model.weights":
        overrides.append(f"model.weights={os.path.relpath(start, os.path.dirname(QUICKSTART))}")
    frozen = run.train(QUICKSTART, run_dir=str(tmp_path / "w"), verbose=0, overrides=overrides,
                       init_weights=start if how == "init_weights" else None)
    before = run.load_run(result.run_dir).model.get_weights()
    after = run.load_run(frozen.run_dir).model.get_weights()
    for i, (b, a) in enumerate(zip(before, after)):
        np.testing.assert_array_equal(a, b, err_msg=f"weight {i} comes from {how}")


def test_train_from_a_dict_resolves_paths_from_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(os.path.join(REPO, "configs"))
    spec = {"name": "d", "seed": 1,
            "data": {"train": {"path": "data/iris_train.csv", "label_column": "species"},
                     "x": ["standardize"], "y": [{"one_hot": 3}]},
            "model": {"input_shape": [4], "layers": [{"Dense": {"units": 3, "activation": "softmax"}}]},
            "compile": {"optimizer": "adam", "loss": "categorical_crossentropy"},
            "fit": {"epochs": 1, "verbose": 0}}
    result = run.train(spec, run_dir=str(tmp_path / "d"))
    assert result.metrics == {} and list(result.history) == ["loss"], "no test split, no metrics"


def test_validate_reports_shapes_and_params():
    report = run.validate(QUICKSTART)
    assert [(l["name"], l["output_shape"], l["params"]) for l in report["layers"]] == [
        ("dense", [None, 16], 80), ("dense_1", [None, 3], 51)], report["layers"]
    assert report["total_params"] == 131, "4*16+16 + 16*3+3"


def test_callback_files_go_in_the_run_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    callbacks = ("fit.callbacks=[{CSVLogger: {filename: log.csv}}, {EarlyStopping: {patience: 1}}, "
                 "{ModelCheckpoint: {filepath: best.weights.h5, save_weights_only: true}}]")
    result = run.train(QUICKSTART, run_dir="r", overrides=("fit.epochs=3", callbacks), verbose=0)
    assert os.path.isfile(os.path.join("r", "log.csv")), f"CSVLogger file: {os.listdir('r')}"
    assert os.path.isfile(os.path.join("r", "best.weights.h5")), f"ModelCheckpoint file: {os.listdir('r')}"
    assert not os.path.exists("log.csv"), "not in the current folder"
    assert 1 <= len(result.history["loss"]) <= 3, "EarlyStopping may end early"
