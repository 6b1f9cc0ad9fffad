"""Argument checks derived from signatures (kspec.spec.checks): coercion, types, ranges, declarations."""
import inspect

import pytest

from kspec.spec import SpecError, load_text, resolve
from kspec.spec.checks import check


def _resolve(layers="    - Dense: {units: 3}", optimizer="adam", fit=""):
    text = (f"name: t\nmodel:\n  input_shape: [4]\n  layers:\n{layers}\n"
            f"compile:\n  optimizer: {optimizer}\n  loss: mse\n{fit}")
    return resolve(load_text(text, file="c.yaml"))


def _errors(**kwargs):
    with pytest.raises(SpecError) as info:
        _resolve(**kwargs)
    return [(d.line, d.message) for d in info.value.diagnostics]


def test_yaml_ints_become_floats_where_keras_takes_a_float():
    spec = _resolve(optimizer="{SGD: {momentum: 1, learning_rate: 1}}")
    sgd = spec["compile"]["optimizer"]["SGD"]
    assert sgd["momentum"] == 1.0 and isinstance(sgd["momentum"], float), f"momentum {sgd['momentum']!r}"
    assert isinstance(sgd["learning_rate"], float), f"learning_rate {sgd['learning_rate']!r}"


@pytest.mark.parametrize("layers, line, words", [
    ("    - Dense: {units: 10.5}", 5, "Dense: units must be a positive integer, found 10.5"),
    ("    - Dense: {units: true}", 5, "units must be a positive integer, found the boolean true"),
    ("    - Dense: {units: 3, use_bias: 1}", 5, "use_bias must be true or false, found 1"),
    ("    - Reshape: {target_shape: [2, 2.5]}", 5, "target_shape must be a list of positive sizes"),
    ("    - Dropout: -0.1\n    - Dense: 3", 5, "rate must be a number in [0, 1), found -0.1"),
    ("    - Reshape: [2, 2, 1]\n    - Conv2D: {filters: 2, kernel_size: [1, 1.5]}\n    - Flatten\n    - Dense: 3", 6,
     "kernel_size must be a positive integer or a list of them"),
    ("    - Dense: {units: 3, name: ''}", 5, "name must be a non-empty string or null"),
], ids=["float-units", "bool-units", "int-bool", "float-in-shape", "negative-rate", "float-in-list",
        "empty-name"])
def test_wrong_types_and_ranges(layers, line, words):
    errors = _errors(layers=layers)
    assert any(ln == line and words in msg for ln, msg in errors), f"{words!r} at line {line} not in {errors}"


def test_values_keras_accepts_are_accepted():
    spec = _resolve(layers="    - Reshape: [2, 2, 1]\n    - Conv2D: {filters: 2, kernel_size: [1, 1], strides: 1}\n"
                           "    - Flatten\n    - Dense: {units: 3, kernel_constraint: {MaxNorm: {max_value: 2.5}}}")
    conv = spec["model"]["layers"][1]["Conv2D"]
    assert conv["kernel_size"] == [1, 1] and conv["strides"] == 1, f"kept as written: {conv}"
    max_norm = spec["model"]["layers"][3]["Dense"]["kernel_constraint"]
    assert max_norm == {"MaxNorm": {"max_value": 2.5}}, f"a float where the default is an int: {max_norm}"


def test_conflicting_clip_options():
    errors = _errors(optimizer="{Adam: {clipnorm: 1.0, global_clipnorm: 1.0}}")
    assert errors == [(7, "Adam: 'clipnorm' and 'global_clipnorm' cannot be used together")], errors


def test_a_class_declares_its_own_checks():
    class Scaled:
        arg_checks = {"factor": "unit_interval"}

        def __init__(self, factor=0.5, units=2):
            pass

    params = inspect.signature(Scaled.__init__).parameters
    assert check(Scaled, "factor", 1, params["factor"]) == (1.0, None), "an int becomes a float in range"
    value, problem = check(Scaled, "factor", 1.5, params["factor"])
    assert problem == "must be a number in [0, 1], found 1.5", problem
    assert check(Scaled, "units", 0, params["units"])[1] == "must be a positive integer, found 0", \
        "Keras's naming convention applies where nothing is declared"
