"""compile() with several outputs: what Keras 3.15.1 rejects raises a clear ValueError in kspec (at compile
time), and what it accepts gives Keras's log keys and values (tests/fixtures/compile_checks.json, from
tools/make_golden_compile_checks.py)."""
import json
import os

import numpy as np
import pytest

from kspec.layers import Dense, InputLayer, clear_session
from kspec.models import Functional, Input, Sequential

with open(os.path.join(os.path.dirname(__file__), "fixtures", "compile_checks.json"), encoding="utf-8") as _f:
    GOLDEN = json.load(_f)
CASES = GOLDEN["cases"]
# What kspec's message says for each rejected case (Keras's wording where it has a clear one).
MESSAGES = {
    "metrics_flat_list_one": "Invalid `metrics`: the model has 2 outputs ['out_a', 'out_b']",
    "metrics_flat_list_three": "a list with one entry per output",
    "metrics_dict_unknown": "must be a dict by output name",
    "metrics_string": "Expected `metrics` argument to be a list, tuple, or dict",
    "weighted_metrics_flat_list_one": "Invalid `weighted_metrics`",
    "loss_dict_missing_output": "Expected keys ['out_a', 'out_b'] in loss dict, but found loss.keys()=['out_a']",
    "loss_dict_unknown_output": "Expected keys ['out_a', 'out_b'] in loss dict",
    "loss_list_long": "`loss` has 3 entries but the model has 2 outputs",
    "one_output_loss_dict_wrong_key": "Expected keys ['out'] in loss dict, but found loss.keys()=['other']",
    "single_loss_weight_list": "`loss_weights` must match the number of losses, got 1 losses and 2 weights",
    "single_loss_weight_dict": "`loss_weights` must match the number of losses, got 1 losses and 2 weights",
    "loss_list_weight_list_short": "got 2 losses and 1 weights",
    "loss_dict_weight_dict_missing": "`loss_weights` has no weight for output(s) ['out_b']",
}


def build(kind):
    """The fixture's models with Keras's (seeded) weights."""
    clear_session()
    x = Input((5,), name="x")
    if kind == "two_output":
        h = Dense(8, activation="relu", name="h")(x)
        model = Functional(x, [Dense(3, activation="softmax", name="out_a")(h), Dense(1, name="out_b")(h)])
    else:
        model = Functional(x, Dense(1, name="out")(x))
    model.set_weights([np.asarray(w, dtype="float32") for w in GOLDEN["data"][kind]["weights"]])
    return model


def data(kind):
    d = GOLDEN["data"][kind]
    y = [np.asarray(a, dtype="float32") for a in d["y"]]
    return np.asarray(d["x"], dtype="float32"), (y if len(y) > 1 else y[0])


# Where kspec deliberately rejects what Keras accepts: Keras applies both losses of a list to a model's one
# output, summing them, and logs a meaningless out_loss of 0.0.
DEVIATIONS = {"one_output_loss_list_two": "`loss` has 2 entries but the model has 1 output ['out']"}
REJECTED = sorted(name for name, case in CASES.items() if "error" in case or name in DEVIATIONS)
ACCEPTED = sorted(name for name, case in CASES.items() if "error" not in case and name not in DEVIATIONS)


def test_every_rejected_case_has_a_message():
    assert sorted({**MESSAGES, **DEVIATIONS}) == REJECTED, "MESSAGES and the fixture's rejected cases differ"


@pytest.mark.parametrize("name", REJECTED, ids=REJECTED)
def test_keras_rejects_so_compile_raises(name):
    case = CASES[name]
    model = build(case["model"])
    with pytest.raises(ValueError) as info:
        model.compile(optimizer="sgd", **case["compile"])
    assert {**MESSAGES, **DEVIATIONS}[name] in str(info.value), f"message: {info.value}"
    assert not model.compiled, "a rejected compile left the model compiled"


@pytest.mark.parametrize("name", ACCEPTED, ids=ACCEPTED)
def test_accepted_cases_log_like_keras(name):
    case = CASES[name]
    model = build(case["model"])
    model.compile(optimizer="sgd", **case["compile"])
    x, y = data(case["model"])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(logs) == sorted(case["logs"]), f"log keys {sorted(logs)} != Keras's {sorted(case['logs'])}"
    for key, want in case["logs"].items():
        assert np.isclose(logs[key], want, rtol=1e-5, atol=1e-6), f"{key}: {logs[key]} != Keras's {want}"


def test_output_without_loss_gets_no_loss_key_in_fit():
    """An output whose loss is None is not trained and not logged (no ``out_b_loss``)."""
    model = build("two_output")
    model.compile(optimizer="sgd", loss={"out_a": "categorical_crossentropy", "out_b": None})
    x, y = data("two_output")
    before = model.get_layer("out_b").get_weights()
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False).history
    assert sorted(history) == ["loss"], f"history keys {sorted(history)}"
    after = model.get_layer("out_b").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after)), "out_b has no loss but its weights moved"


def test_sequential_loss_dict_names_its_output():
    clear_session()
    model = Sequential([InputLayer(shape=(3,)), Dense(2, name="last")])
    model.compile(optimizer="sgd", loss={"last": "mse"})
    assert model._outputs_spec[0].loss is not None, "the loss dict's entry for the one output was dropped"
    with pytest.raises(ValueError, match=r"Expected keys \['last'\] in loss dict"):
        model.compile(optimizer="sgd", loss={"other": "mse"})


@pytest.mark.parametrize("loss", [{"CategoricalCrossentropy": {"from_logits": True}},
                                  {"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}}],
                         ids=["spec_form", "keras_form"])
def test_one_loss_object_as_a_dict_is_not_a_per_output_mapping(loss):
    model = build("two_output")
    model.compile(optimizer="sgd", loss=loss)
    assert [type(o.loss).__name__ for o in model._outputs_spec] == ["CategoricalCrossentropy"] * 2, \
        "a loss object given as a dict should apply to every output"
