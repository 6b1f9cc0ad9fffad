"""``--set KEY=VALUE`` overrides by dotted path (issue 3)."""
import pytest

from kspec.spec import SpecError, apply_overrides, load_text, resolve

SPEC = """\
name: t
model:
  input_shape: [4]
  layers:
    - Dense: 8
    - Flatten
    - Dense: {units: 3, activation: softmax}
compile:
  optimizer: {SGD: {lr: 0.01, momentum: 0.9}}
  loss: categorical_crossentropy
fit: {epochs: 50}
"""


def _doc(*overrides):
    doc = load_text(SPEC, file="config.yaml")
    apply_overrides(doc, overrides)
    return doc


@pytest.mark.parametrize("override, path, value", [
    ("fit.epochs=3", ("fit", "epochs"), 3),
    ("fit.batch_size=16", ("fit", "batch_size"), 16),
    ("fit.shuffle=false", ("fit", "shuffle"), False),
    ("fit.validation_split=0.25", ("fit", "validation_split"), 0.25),
    ("name=other", ("name",), "other"),
    ("seed=7", ("seed",), 7),
    ("model.input_shape=[2, 2]", ("model", "input_shape"), [2, 2]),
    ("model.layers.2.Dense.units=64", ("model", "layers", 2, "Dense", "units"), 64),
    ("model.layers.0.Dense.activation=relu", ("model", "layers", 0, "Dense"), {"units": 8, "activation": "relu"}),
    ("model.layers.-1.Dense.units=5", ("model", "layers", 2, "Dense", "units"), 5),
    ("model.layers.1.Flatten.data_format=channels_last", ("model", "layers", 1),
     {"Flatten": {"data_format": "channels_last"}}),
    ("compile.optimizer.SGD.momentum=0.5", ("compile", "optimizer", "SGD", "momentum"), 0.5),
    ("compile.optimizer={Adam: {learning_rate: 0.1}}", ("compile", "optimizer"), {"Adam": {"learning_rate": 0.1}}),
    ("fit.class_weight.1=5", ("fit", "class_weight"), {1: 5}),
    ("data.test=", ("data", "test"), None),
], ids=["int", "new-key", "bool", "float", "name", "seed", "list", "layer-arg", "positional-expands",
        "negative-index", "bare-layer-expands", "optimizer-arg", "flow-mapping", "int-keys", "null"])
def test_override_sets_the_value(override, path, value):
    doc = _doc(override)
    assert doc.get(path) == value, f"{'.'.join(map(str, path))} after --set {override}"


def test_overridden_value_reports_its_origin():
    doc = _doc("fit.epochs=3")
    assert doc.where(("fit", "epochs")) == ("--set fit.epochs=3", None, None), "errors name the --set"
    assert doc.where(("fit",))[1] == 11, "other positions are kept"


def test_setting_learning_rate_replaces_keras2_lr():
    doc = _doc("compile.optimizer.SGD.learning_rate=0.1")
    sgd = resolve(doc)["compile"]["optimizer"]["SGD"]
    assert sgd["learning_rate"] == 0.1, f"lr replaced: {sgd}"


def test_typo_in_override_is_reported_with_its_origin():
    doc = _doc("fit.epoch=3")
    with pytest.raises(SpecError) as info:
        resolve(doc)
    (d,) = info.value.diagnostics
    assert d.file == "--set fit.epoch=3" and "did you mean 'epochs'" in d.message, d.format()


@pytest.mark.parametrize("override, message", [
    ("fit.epochs", "expected KEY=VALUE"),
    ("a..b=1", "invalid key"),
    ("model.layers.9.Dense.units=3", "model.layers has 3 entries; index 9 is out of range"),
    ("model.layers.x=3", "model.layers is a list; 'x' is not an index"),
    ("name.x=1", "name is 't', not a mapping"),
    ("fit.epochs=[1", "invalid value"),
], ids=["no-equals", "empty-step", "index-range", "not-index", "scalar", "bad-yaml"])
def test_bad_overrides(override, message):
    with pytest.raises(SpecError) as info:
        _doc(override)
    (d,) = info.value.diagnostics
    assert d.file == f"--set {override}" and message in d.message, d.format()
