"""Resolving a spec: every entry form, names looked up in the registry, arguments checked against the
code, defaults filled in, and every error reported at its line and column (issue 3)."""
import textwrap

import pytest

from kspec.spec import SpecError, build_model, compile_model, load_text, resolve

BASE = """\
name: t
seed: 1
model:
  input_shape: [4]
  layers:
{layers}
compile:
  optimizer: {optimizer}
  loss: categorical_crossentropy
  metrics: [accuracy]
fit: {{batch_size: 8, epochs: 2}}
"""


def _spec(layers="    - Dense: {units: 3, activation: softmax}", optimizer="adam"):
    return BASE.format(layers=layers, optimizer=optimizer)


def _resolve(text):
    doc = load_text(text, file="config.yaml")
    return doc, resolve(doc)


def _errors(text):
    with pytest.raises(SpecError) as info:
        _resolve(text)
    return info.value.diagnostics


@pytest.mark.parametrize("entry, cls, args", [
    ("- Flatten", "Flatten", {}),
    ("- Dropout: 0.5", "Dropout", {"rate": 0.5}),
    ("- Dense: 3", "Dense", {"units": 3}),
    ("- Activation: tanh", "Activation", {"activation": "tanh"}),
    ("- Dense: {units: 3, activation: softmax}", "Dense", {"units": 3, "activation": "softmax"}),
    ("- {class_name: Dense, config: {units: 3}}", "Dense", {"units": 3}),
    ("- Reshape: [2, 2]", "Reshape", {"target_shape": [2, 2]}),
], ids=["bare", "positional-float", "positional-int", "positional-str", "keywords",
        "keras-form", "positional-list"])
def test_layer_entry_forms(entry, cls, args):
    _, spec = _resolve(_spec(f"    {entry}"))
    (entry_out,) = spec["model"]["layers"]
    assert list(entry_out) == [cls], f"class of {entry!r}"
    for k, v in args.items():
        assert entry_out[cls][k] == v, f"{cls}.{k} of {entry!r}"


def test_a_class_name_is_spelled_as_keras_spells_it():
    (d,) = _errors(_spec("    - dense: {units: 3}"))
    assert "unknown layer 'dense' (did you mean 'Dense'?)" in d.message, d.message


def test_an_integral_float_size_is_an_integer_and_a_fraction_is_an_error():
    _, spec = _resolve(_spec("    - Dense: 3.0"))
    units = spec["model"]["layers"][0]["Dense"]["units"]
    assert units == 3 and isinstance(units, int), units
    (d,) = _errors(_spec("    - Dense: 3.5"))
    assert "units must be a positive integer, found 3.5" in d.message, d.message


def test_activity_regularization_builds_from_a_spec_and_adds_its_penalty():
    import numpy as np

    doc, spec = _resolve(_spec("    - Dense: 3\n    - ActivityRegularization: {l1: 0.01, l2: 0.05}"))
    model = compile_model(build_model(spec, doc), spec, doc)
    layer = model.layers[-1]
    assert layer.get_config()["l1"] == 0.01 and "activity_regularizer" not in layer.get_config()
    x = np.arange(8, dtype=np.float32).reshape(2, 4) / 8
    out = model(x).data
    model.fit(x, np.eye(3, dtype=np.float32)[[0, 1]], epochs=1, batch_size=2, verbose=0)
    (penalty,) = layer.losses
    expected = (0.01 * np.abs(out).sum() + 0.05 * np.square(out).sum()) / 2
    np.testing.assert_allclose(float(penalty.data), expected, rtol=1e-5)
    (d,) = _errors(_spec("    - ActivityRegularization: {l1: 0.01, activity_regularizer: l2}"))
    assert "unknown argument 'activity_regularizer'" in d.message, d.message


def test_defaults_are_filled_from_the_signature():
    _, spec = _resolve(_spec())
    dense = spec["model"]["layers"][0]["Dense"]
    assert dense["use_bias"] is True and dense["kernel_initializer"] == "glorot_uniform", dense
    adam = spec["compile"]["optimizer"]["Adam"]
    assert adam["learning_rate"] == 0.001 and adam["beta_2"] == 0.999, f"adam defaults {adam}"
    assert spec["fit"]["shuffle"] is True and spec["fit"]["validation_split"] == 0.0, spec["fit"]
    assert spec["fit"]["callbacks"] == [], "no callbacks"


def test_yaml_ints_become_floats_where_keras_takes_floats():
    _, spec = _resolve(_spec(optimizer="{SGD: {learning_rate: 1, momentum: 1}}"))
    sgd = spec["compile"]["optimizer"]["SGD"]
    assert isinstance(sgd["learning_rate"], float) and isinstance(sgd["momentum"], float), sgd


def test_every_object_kind_by_name_or_class():
    layers = textwrap.indent(textwrap.dedent("""\
        - Dense:
            units: 3
            activation: softmax
            kernel_initializer: {GlorotUniform: {seed: 1}}
            kernel_regularizer: {L1L2: {l1: 0.01, l2: 0.01}}
            bias_regularizer: l2
            kernel_constraint: {MaxNorm: {max_value: 2}}
            bias_constraint: non_neg"""), "    ")
    schedule = "{SGD: {learning_rate: {ExponentialDecay: {initial_learning_rate: 0.1, decay_steps: 100, " \
               "decay_rate: 0.5}}}}"
    text = _spec(layers, schedule).replace("loss: categorical_crossentropy",
                                           "loss: {CategoricalCrossentropy: {from_logits: false}}")
    text = text.replace("fit: {batch_size: 8, epochs: 2}",
                        "fit: {epochs: 2, class_weight: {0: 1, 1: 2}, callbacks: [{EarlyStopping: "
                        "{patience: 2}}, TerminateOnNaN]}")
    doc, spec = _resolve(text)
    model = compile_model(build_model(spec, doc), spec, doc)
    dense = model.layers[0]
    assert type(dense.kernel_regularizer).__name__ == "L1L2", "regularizer class"
    assert type(dense.kernel_constraint).__name__ == "MaxNorm", "constraint class"
    lr = model.optimizer.get_config()["learning_rate"]
    assert lr["class_name"] == "ExponentialDecay", "a schedule stands where a learning rate goes"
    assert lr["config"]["decay_rate"] == 0.5, f"the schedule's arguments: {lr}"
    assert spec["fit"]["class_weight"] == {0: 1.0, 1: 2.0}, "class weights as floats"
    assert spec["compile"]["loss"] == {"CategoricalCrossentropy": {"from_logits": False}}, "loss object"


def test_layer_names_are_dense_and_seeded():
    doc, spec = _resolve(_spec("    - Dense: 5\n    - Dense: {units: 3, activation: softmax}"))
    first = build_model(spec, doc)
    again = build_model(spec, doc)
    assert [l.name for l in first.layers] == ["dense", "dense_1"], "names restart for each model"
    assert (first.get_weights()[0] == again.get_weights()[0]).all(), "same seed, same initial weights"


# -- errors, with positions ---------------------------------------------------------------------------

@pytest.mark.parametrize("layers, line, col, message", [
    ("    - Dense: {unit: 10}", 6, 15, "Dense: unknown argument 'unit' (did you mean 'units'?)"),
    ("    - Dens: {units: 10}", 6, 7, "unknown layer 'Dens' (did you mean 'Dense'?)"),
    ("    - Dense: {units: 3, activation: sofmax}", 6, 37, "unknown activation 'sofmax' (did you mean "
                                                          "'softmax'?)"),
    ("    - Dense: {units: 3, kernel_initializer: glorot_unifrom}", 6, 45,
     "unknown initializer 'glorot_unifrom' (did you mean 'glorot_uniform'?)"),
    ("    - Dense: {units: 3, kernel_regularizer: {L1L2: {l3: 1}}}", 6, 53, "L1L2: unknown argument 'l3'"),
    ("    - Dense:\n      units: 3", 6, 7, "a layer entry has one key, the class name; found 2"),
    ("    - Dense: {activation: relu}", 6, 14, "Dense: missing required argument 'units'"),
    ("    - Dropout: 1.5", 6, 16, "Dropout: rate must be a number in [0, 1)"),
], ids=["argument", "layer", "activation", "initializer", "nested-argument", "indentation", "required",
        "value"])
def test_layer_errors_point_at_the_line(layers, line, col, message):
    text = _spec(layers)
    try:
        doc, spec = _resolve(text)
        build_model(spec, doc)
    except SpecError as e:
        (d,) = e.diagnostics
    else:
        pytest.fail("no error")
    assert (d.file, d.line, d.col) == ("config.yaml", line, col), f"position of {d.format()!r}"
    assert message in d.message, f"message {d.message!r}"


@pytest.mark.parametrize("old, new, line, message", [
    ("name: t", "nme: t", 1, "unknown section 'nme' (did you mean 'name'?)"),
    ("  optimizer: adam", "  optimizer: adamm", 8, "unknown optimizer 'adamm' (did you mean 'adam'?)"),
    ("  optimizer: adam", "  optimizer: {Adam: {learnin_rate: 0.1}}", 8,
     "Adam: unknown argument 'learnin_rate' (did you mean 'learning_rate'?)"),
    ("  loss: categorical_crossentropy", "  loss: categorical_crosentropy", 9, "unknown loss"),
    ("  metrics: [accuracy]", "  metrics: [acuracy]", 10, "unknown metric 'acuracy' (did you mean "
                                                           "'accuracy'?)"),
    ("fit: {batch_size: 8, epochs: 2}", "fit: {batch_size: 8, epoch: 2}", 11,
     "fit: unknown key 'epoch' (did you mean 'epochs'?)"),
    ("fit: {batch_size: 8, epochs: 2}", "fit: {callbacks: [{EarlyStoping: {}}]}", 11,
     "unknown callback 'EarlyStoping' (did you mean 'EarlyStopping'?)"),
    ("  input_shape: [4]", "  input_shap: [4]", 4, "model: unknown key 'input_shap'"),
], ids=["section", "optimizer", "optimizer-argument", "loss", "metric", "fit-key", "callback",
        "model-key"])
def test_names_in_every_registry_get_did_you_mean(old, new, line, message):
    diagnostics = _errors(_spec().replace(old, new))
    found = [d for d in diagnostics if message in d.message]
    assert found, f"no {message!r} among {[d.message for d in diagnostics]}"
    assert found[0].line == line, f"line of {found[0].format()!r}"


def test_all_errors_are_reported_in_file_order():
    text = _spec("    - Dense: {unit: 10}\n    - Dropot: 0.5").replace("adam", "adamm")
    diagnostics = _errors(text.replace("name: t", "nme: t"))
    lines = [d.line for d in diagnostics]
    assert lines == sorted(lines) and len(lines) == 4, f"diagnostics {[d.format() for d in diagnostics]}"


def test_keras2_names_warn_with_their_position():
    doc, spec = _resolve(_spec(optimizer="{SGD: {lr: 0.1, decay: 1.0e-6}}"))
    sgd = spec["compile"]["optimizer"]["SGD"]
    assert sgd["learning_rate"] == 0.1 and "lr" not in sgd, f"lr is renamed: {sgd}"
    assert sgd["decay"] == 1e-6, "decay is kept (Keras 2 meaning)"
    assert [(w.line, "lr" in w.message) for w in doc.warnings][:1] == [(8, True)], "lr warning at line 8"
    model = compile_model(build_model(spec, doc), spec, doc)
    assert model.optimizer.decay == 1e-6, "the optimizer applies decay"


def test_missing_input_shape_and_loss():
    text = _spec().replace("  input_shape: [4]\n", "").replace("  loss: categorical_crossentropy\n", "")
    messages = [d.message for d in _errors(text)]
    assert any("missing key 'input_shape'" in m for m in messages), messages
    assert any("missing key 'loss'" in m for m in messages), messages


def test_shape_error_is_reported_at_the_layer():
    doc, spec = _resolve(_spec("    - Reshape: [3, 3]\n    - Dense: 2"))
    with pytest.raises(SpecError) as info:
        build_model(spec, doc)
    (d,) = info.value.diagnostics
    assert d.line == 6 and d.message.startswith("Reshape:"), d.format()


def test_data_section_keys_and_steps_are_checked():
    text = _spec() + "data:\n  train: {path: d.csv, label_colum: y}\n  x: [{scal: 2}]\n  tset: {}\n"
    messages = {d.line: d.message for d in _errors(text)}
    assert "unknown key 'label_colum' (did you mean 'label_column'?)" in messages.get(13, ""), messages
    assert "unknown preprocessing step 'scal' (did you mean 'scale'?)" in messages.get(14, ""), messages
    assert "unknown key 'tset' (did you mean 'test'?)" in messages.get(15, ""), messages
