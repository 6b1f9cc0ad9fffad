"""Transfer learning from a spec: a saved model as one layer (``load``, ``until``, ``trainable``, ``training``),
fine-tuning ``stages`` that unfreeze it (also ``base/inner`` paths), Keras's own nested model training as Keras
does (tools/make_golden_keras_zip.py), and every misuse a spec error at its line."""
import csv
import io
import json
import os
import zipfile

import numpy as np
import pytest

from kspec import run
from kspec import io as kio
from kspec.spec import SpecError, load_text

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IRIS = os.path.join(REPO, "configs", "data", "iris_train.csv")
FIXTURES = os.path.join(REPO, "tests", "fixtures")

BASE = f"""\
name: base
seed: 0
data:
  train: {{path: {IRIS}, label_column: species}}
model:
  input_shape: [4]
  layers:
    - Dense: {{units: 8, activation: relu, name: hidden}}
    - BatchNormalization: {{momentum: 0.5, name: bn}}
    - Dense: {{units: 3, activation: softmax, name: head}}
compile: {{optimizer: adam, loss: sparse_categorical_crossentropy}}
fit: {{epochs: 2, batch_size: 16, verbose: 0}}
"""

FINETUNE = f"""\
name: tuned
seed: 1
data:
  train: {{path: {IRIS}, label_column: species}}
model:
  layers:
    - {{load: base_run, name: base, until: bn, trainable: false}}
    - Dense: {{units: 3, activation: softmax, name: new_head}}
compile: {{optimizer: {{Adam: {{learning_rate: 0.01}}}}, loss: sparse_categorical_crossentropy, metrics: [accuracy]}}
fit: {{epochs: 2, batch_size: 16, verbose: 0}}
stages:
  - trainable: {{base: true, base/hidden: false}}
    compile: {{optimizer: {{Adam: {{learning_rate: 0.005}}}}}}
    fit: {{epochs: 2}}
"""


def train(text, folder, name, overrides=()):
    doc = load_text(text, file=str(folder / f"{name}.yaml"), base_dir=str(folder))
    return run.train(doc, run_dir=str(folder / name), overrides=overrides, stream=io.StringIO())


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("transfer")
    result = train(BASE, folder, "base_run")
    return folder, run.load_run(result.run_dir).model


def weights_of(model, path):
    from kspec.spec.transfer import find_layer
    return [np.array(w) for w in find_layer(model, path).get_weights()]


def test_frozen_base_keeps_every_weight_and_statistic(base):
    folder, trained = base
    result = train(FINETUNE, folder, "frozen", overrides=["stages=null"])
    model = run.load_run(result.run_dir).model
    assert [layer.name for layer in model.layers][-2:] == ["base", "new_head"]
    for inner in ("hidden", "bn"):
        for got, want in zip(weights_of(model, f"base/{inner}"), trained.get_layer(inner).get_weights()):
            np.testing.assert_array_equal(got, want, err_msg=f"frozen base/{inner} changed (BatchNormalization "
                                                             "frozen runs in inference mode)")
    assert [layer.name for layer in model.get_layer("base").layers][-1] == "bn", "until: bn cuts the head off"


def test_stage_unfreezes_base_but_keeps_inner_path_frozen(base):
    folder, trained = base
    result = train(FINETUNE, folder, "tuned")
    model = run.load_run(result.run_dir).model
    for got, want in zip(weights_of(model, "base/hidden"), trained.get_layer("hidden").get_weights()):
        np.testing.assert_array_equal(got, want, err_msg="base/hidden: false keeps that inner layer frozen")
    changed = [not np.array_equal(g, w) for g, w in zip(weights_of(model, "base/bn"), trained.get_layer("bn").get_weights())]
    assert all(changed), "the unfrozen BatchNormalization trains (gamma, beta, and its moving statistics)"
    with open(os.path.join(result.run_dir, "history.csv")) as f:
        stages = [row["stage"] for row in csv.DictReader(f)]
    assert stages == ["0", "0", "1", "1"]


def test_the_fine_tuned_run_exports_to_keras_files(base, tmp_path):
    folder, _ = base
    result = train(FINETUNE, folder, "exported", overrides=["stages.0.fit.epochs=1"])
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    want = run.predict(result.run_dir, x)
    for name in ("m.keras", "m.h5"):
        run.export(result.run_dir, tmp_path / name)
        np.testing.assert_allclose(kio.load_model(tmp_path / name).predict(x, verbose=0), want, atol=1e-6,
                                   err_msg=f"{name} predicts like the run")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        config = json.loads(zf.read("config.json"))
        names = zf.namelist()
        import h5py
        with h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as f:
            groups = []
            f.visit(groups.append)
    nested = [e for e in config["config"]["layers"] if e["class_name"] in ("Functional", "Sequential")]
    assert nested and nested[0]["config"]["name"] == "base", "the base is a nested model in config.json"
    assert any(g.startswith("layers/") and "/layers/" in g for g in groups), groups
    assert "metadata.json" in names


def test_graph_spec_with_training_false_records_the_call(base):
    folder, _ = base
    text = f"""\
name: g
seed: 2
data:
  train: {{path: {IRIS}, label_column: species}}
model:
  inputs: {{features: [4]}}
  layers:
    - {{load: base_run, name: base, until: bn, input: features, training: false}}
    - Dense: {{units: 3, activation: softmax, name: out}}
compile: {{optimizer: adam, loss: sparse_categorical_crossentropy}}
fit: {{epochs: 1, verbose: 0}}
"""
    result = train(text, folder, "graph")
    model = run.load_run(result.run_dir).model
    entry = next(e for e in model.get_config()["layers"] if e["name"] == "base")
    assert entry["inbound_nodes"][0]["kwargs"].get("training") is False, entry["inbound_nodes"]


def test_keras_files_as_bases(tmp_path):
    text = f"""\
name: k
model:
  layers:
    - {{load: {os.path.join(FIXTURES, "keras_zip", "cnn_bn.keras")}, name: base, until: flatten, trainable: false}}
    - Dense: {{units: 4, activation: softmax, name: head}}
compile: {{optimizer: adam, loss: sparse_categorical_crossentropy}}
"""
    report = run.validate(load_text(text, file=str(tmp_path / "k.yaml"), base_dir=str(tmp_path)))
    assert report["trainable_params"] == 27 * 4 + 4, "only the new head trains"
    h5 = text.replace(os.path.join(FIXTURES, "keras_zip", "cnn_bn.keras"), os.path.join(FIXTURES, "io", "keras3_mlp.h5"))
    h5 = h5.replace("until: flatten", "until: dropout")
    report = run.validate(load_text(h5, file=str(tmp_path / "k.yaml"), base_dir=str(tmp_path)))
    assert report["trainable_params"] == 4 * 4 + 4


def test_keras_nested_model_fine_tunes_like_keras():
    """Keras's own nested model (base called with training=False, frozen), then unfrozen and recompiled:
    kspec's steps give Keras's weights."""
    from kspec import optimizers
    data = np.load(os.path.join(FIXTURES, "keras_zip", "nested.npz"))
    steps = np.load(os.path.join(FIXTURES, "keras_zip", "nested_steps.npz"))
    model = kio.load_model(os.path.join(FIXTURES, "keras_zip", "nested.keras"))
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y_pred"], atol=1e-6)
    y = np.eye(2, dtype="float32")[np.arange(6) % 2]
    for _ in range(2):
        model.train_on_batch(data["x"], y)
    for i, got in enumerate(model.get_weights()):
        np.testing.assert_allclose(got, steps[f"frozen/w{i}"], atol=2e-6, err_msg=f"frozen step, weight {i}")
    model.get_layer("base").trainable = True
    model.compile(optimizer=optimizers.Adam(0.005), loss="categorical_crossentropy")
    for _ in range(2):
        model.train_on_batch(data["x"], y)
    for i, got in enumerate(model.get_weights()):
        np.testing.assert_allclose(got, steps[f"unfrozen/w{i}"], atol=2e-5, err_msg=f"unfrozen step, weight {i}")


@pytest.mark.parametrize("entry, line_col, words", [
    ("{load: missing_run, name: base}", (7, 14), "file not found: missing_run"),
    ("{load: base_run, name: base, until: hiden}", (7, 43), "no layer 'hiden' (did you mean 'hidden'?)"),
    ("{load: base_run}", (7, 5), "needs a name"),
    ("{load: base_run, name: base, trainable: maybe}", (7, 47), "trainable must be true or false"),
    ("{load: base_run, name: base, frozen: true}", (7, 36), "unknown key 'frozen'"),
    ("{load: base_run/history.csv, name: base}", (7, 14), "not a readable model file"),
], ids=["missing", "until-typo", "no-name", "trainable-type", "unknown-key", "not-a-model"])
def test_load_misuse_is_a_spec_error_at_its_line(base, entry, line_col, words):
    folder, _ = base
    text = FINETUNE.replace("{load: base_run, name: base, until: bn, trainable: false}", entry).split("stages:")[0]
    with pytest.raises(SpecError) as info:
        run.validate(load_text(text, file="t.yaml", base_dir=str(folder)))
    found = [(d.line, d.col, d.message) for d in info.value.diagnostics]
    assert any((line, col) == line_col and words in message for line, col, message in found), found


def test_stage_path_inside_the_loaded_model_is_checked(base):
    folder, _ = base
    text = FINETUNE.replace("base/hidden: false", "base/hiden: false")
    with pytest.raises(SpecError) as info:
        run.validate(load_text(text, file="t.yaml", base_dir=str(folder)))
    assert "no layer 'base/hiden' in the model (did you mean 'base/hidden'?)" in info.value.format()
