"""Graph models in the spec (kspec.spec.graph): named inputs, ``input:`` references, ``apply`` entries
for shared layers, several outputs, and every mistake reported at its line (issue 5)."""
import json
import textwrap

import numpy as np
import pytest

from kspec.layers import clear_session
from kspec.models import Functional
from kspec.spec import SpecError, build_model, compile_model, dump, from_dict, load_text, resolve

SIAMESE = """\
name: t
seed: 1
model:
  inputs:
    left: [5]
    right: {shape: [5], dtype: float32}
  layers:
    - Dense: {units: 4, activation: tanh, name: enc, input: left}
    - {apply: enc, input: right}
    - Subtract: {name: diff, input: [enc, enc_1]}
    - Dot: {axes: 1, normalize: true, name: cos, input: [enc, enc_1]}
    - Concatenate: {input: [diff, cos]}
    - Dense: {units: 1, activation: sigmoid, name: out}
  outputs: [out]
compile: {optimizer: adam, loss: binary_crossentropy, metrics: [accuracy]}
"""

TWO_OUTPUT = """\
name: t
model:
  inputs: {x: [5]}
  layers:
    - Dense: {units: 8, activation: relu, name: h}
    - Dense: {units: 3, activation: softmax, name: out_a, input: h}
    - Dense: {units: 1, name: out_b, input: h}
  outputs: [out_a, out_b]
compile:
  optimizer: {Adam: {learning_rate: 0.01}}
  loss: {out_a: categorical_crossentropy, out_b: mse}
  loss_weights: {out_a: 1.0, out_b: 0.5}
  metrics: {out_a: [accuracy], out_b: [mae]}
fit: {batch_size: 8, epochs: 2}
"""


def graph_spec(layers, inputs="{a: [3], b: [3]}", outputs=None):
    text = f"name: t\nmodel:\n  inputs: {inputs}\n  layers:\n{textwrap.indent(textwrap.dedent(layers), '    ')}"
    if outputs is not None:
        text += f"  outputs: {outputs}\n"
    return text + "compile: {optimizer: sgd, loss: mse}\n"


def errors(text):
    doc = load_text(text, file="config.yaml")
    with pytest.raises(SpecError) as info:
        build_model(resolve(doc), doc)
    return info.value.diagnostics


def test_siamese_builds_a_shared_layer_graph():
    doc = load_text(SIAMESE, file="config.yaml")
    spec = resolve(doc)
    layers = spec["model"]["layers"]
    assert layers[1] == {"apply": "enc", "input": "right", "name": "enc_1"}, "apply entry resolution"
    assert layers[4]["Concatenate"]["name"] == "concatenate", "Keras's default name for an unnamed layer"
    assert layers[5]["Dense"]["input"] == "concatenate", "the previous entry's output is written out"
    model = build_model(spec, doc)
    assert isinstance(model, Functional), f"built a {type(model).__name__}"
    assert [l.name for l in model.layers] == ["left", "right", "enc", "diff", "cos", "concatenate", "out"]
    assert model.get_layer("enc")._inbound_nodes.__len__() == 2, "enc is called twice (shared weights)"
    assert len(model.weights) == 4, "the shared encoder's weights are counted once"


def test_spec_graph_equals_python_api_graph():
    """The spec and the Python API give the same Keras config (same names, wiring and arguments)."""
    from kspec.layers import Concatenate, Dense, Dot, Subtract
    from kspec.models import Input

    doc = load_text(SIAMESE, file="config.yaml")
    from_spec = build_model(resolve(doc), doc).get_config()
    clear_session()
    left, right = Input((5,), name="left"), Input((5,), dtype="float32", name="right")
    enc = Dense(4, activation="tanh", name="enc")
    el, er = enc(left), enc(right)
    feats = Concatenate()([Subtract(name="diff")([el, er]), Dot(axes=1, normalize=True, name="cos")([el, er])])
    model = Functional([left, right], Dense(1, activation="sigmoid", name="out")(feats), name="functional")
    assert json.loads(json.dumps(from_spec)) == json.loads(json.dumps(model.get_config())), "configs differ"


def test_resolved_spec_resolves_to_itself():
    """A run folder's config.yaml (the resolved spec) must read back to the same spec."""
    doc = load_text(SIAMESE, file="config.yaml")
    spec = resolve(doc)
    again = resolve(load_text(dump(spec), file="config.yaml"))
    assert again["model"] == spec["model"], "resolving the resolved model section changed it"


def test_two_outputs_train_with_named_data():
    doc = load_text(TWO_OUTPUT, file="config.yaml")
    spec = resolve(doc)
    model = compile_model(build_model(spec, doc), spec, doc)
    rng = np.random.default_rng(0)
    x = {"x": rng.standard_normal((16, 5)).astype("float32")}
    y = {"out_a": np.eye(3, dtype="float32")[rng.integers(0, 3, 16)],
         "out_b": rng.standard_normal((16, 1)).astype("float32")}
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0).history
    assert sorted(history) == ["loss", "out_a_accuracy", "out_a_loss", "out_b_loss", "out_b_mae"], sorted(history)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    expected = logs["out_a_loss"] + 0.5 * logs["out_b_loss"]
    assert np.isclose(logs["loss"], expected, rtol=1e-5), f"loss {logs['loss']} is not out_a + 0.5 * out_b"


def test_dict_spec_without_positions():
    spec = resolve(from_dict({"model": {"inputs": {"x": [2]}, "layers": [{"Dense": 1}]},
                              "compile": {"loss": "mse"}}))
    assert spec["model"]["layers"][0]["Dense"]["input"] == "x", "the first entry takes the only input"
    assert spec["model"]["outputs"] == ["dense"], "outputs default to the last entry"


@pytest.mark.parametrize("layers, outputs, line, col, message", [
    ("- Dense: {units: 2, input: c}\n", None, 5, 32, "unknown input 'c'"),
    ("- Dense: {units: 2, name: h, input: g}\n- Dense: {units: 2, name: g, input: [a, b]}\n", None, 5, 41,
     "output of an entry further down"),
    ("- Dense: {units: 2, name: h, input: h}\n", None, 5, 41, "output of itself"),
    ("- Dense: {units: 2}\n", None, 5, 7, "missing input"),
    ("- Add: {name: s, input: [a, b]}\n- Dense: {units: 2, name: s}\n", None, 6, 31, "used twice"),
    ("- Dense: {units: 2, input: a}\n", None, 3, 20, "'b' is never used"),
    ("- Add: {input: [a, b], name: s}\n- Dense: {units: 1, name: d, input: s}\n- Dense: {units: 1, input: s}\n",
     "[d]", 7, 7, "'dense' is never used"),
    ("- Add: {input: [a, b], name: s}\n", "[nope]", 6, 13, "unknown name 'nope'"),
    ("- {apply: enc, input: a}\n", None, 5, 15, "no layer named 'enc'"),
    ("- Add: {input: [a, b]}\n- {apply: add, input: [a, b], nme: x}\n", None, 6, 35, "unknown key 'nme'"),
], ids=["unknown-name", "forward-reference", "self-cycle", "missing-input", "duplicate-name",
        "unused-input", "unused-branch", "unknown-output", "apply-unknown", "apply-bad-key"])
def test_reference_errors_have_positions(layers, outputs, line, col, message):
    diagnostics = errors(graph_spec(layers, outputs=outputs))
    hits = [d for d in diagnostics if message in d.message]
    assert hits, f"no diagnostic says {message!r}: {[str(d) for d in diagnostics]}"
    assert (hits[0].line, hits[0].col) == (line, col), f"{message!r} reported at {hits[0].location}"


def test_unknown_name_suggests_the_closest():
    diagnostics = errors(graph_spec("- Dense: {units: 2, name: hidden, input: a}\n"
                                    "- Add: {input: [hiden, b]}\n", inputs="{a: [3], b: [2]}"))
    assert any("did you mean 'hidden'" in d.message for d in diagnostics), [str(d) for d in diagnostics]


def test_shape_clash_at_a_merge_is_reported_at_its_line():
    diagnostics = errors(graph_spec("- Dense: {units: 4, name: h, input: a}\n- Add: {name: s, input: [h, b]}\n",
                                    inputs="{a: [3], b: [5]}"))
    assert len(diagnostics) == 1, [str(d) for d in diagnostics]
    d = diagnostics[0]
    assert d.line == 6, f"reported at line {d.line}, the Add entry is on line 6"
    assert "Add 's'" in d.message and "(None, 4), (None, 5)" in d.message and "incompatible" in d.message, d.message


def test_shared_layer_shape_clash_is_reported():
    diagnostics = errors(graph_spec("- Dense: {units: 2, name: enc, input: a}\n- {apply: enc, input: b}\n"
                                    "- Concatenate: {input: [enc, enc_1]}\n", inputs="{a: [3], b: [4]}"))
    assert diagnostics[0].line == 6 and "already built for input shape (None, 3)" in diagnostics[0].message, \
        str(diagnostics[0])


@pytest.mark.parametrize("inputs, message", [
    ("{a: [0], b: [3]}", "positive sizes"),
    ("{a: {shape: [3], dtype: float33}, b: [3]}", "did you mean 'float32'"),
    ("{a: {shape: [3], size: 2}, b: [3]}", "unknown key 'size'"),
    ("[3]", "maps each input's name"),
], ids=["zero-size", "bad-dtype", "bad-key", "not-a-mapping"])
def test_input_errors(inputs, message):
    diagnostics = errors(graph_spec("- Add: {input: [a, b]}\n", inputs=inputs))
    assert any(message in d.message for d in diagnostics), [str(d) for d in diagnostics]


def test_sequential_keys_are_not_mixed_in():
    diagnostics = errors(graph_spec("- Add: {input: [a, b]}\n").replace("  inputs:", "  input_shape: [3]\n  inputs:"))
    assert any("unknown key 'input_shape'" in d.message for d in diagnostics), [str(d) for d in diagnostics]


CONFIGS = ["two_input", "residual_mlp", "siamese"]


@pytest.mark.parametrize("name", CONFIGS, ids=CONFIGS)
def test_shipped_graph_configs_build(name):
    import os

    from kspec.spec import load_file

    doc = load_file(os.path.join(os.path.dirname(__file__), "..", "configs", f"{name}.yaml"))
    spec = resolve(doc)
    model = compile_model(build_model(spec, doc), spec, doc)
    assert isinstance(model, Functional), f"{name}.yaml builds a {type(model).__name__}"
    assert not doc.warnings, [str(w) for w in doc.warnings]


def test_two_input_config_trains_and_evaluates(tmp_path):
    """Named inputs from npz keys, per-input preprocessing, a run folder that evaluates and predicts."""
    import os

    from kspec import run

    config = os.path.join(os.path.dirname(__file__), "..", "configs", "two_input.yaml")
    result = run.train(config, run_dir=str(tmp_path / "run"), overrides=["fit.epochs=3"], verbose=0)
    assert sorted(result.history) == ["accuracy", "loss", "val_accuracy", "val_loss"], sorted(result.history)
    logs = run.evaluate(str(tmp_path / "run"))
    assert set(logs) == {"accuracy", "loss"} and np.isfinite(logs["loss"]), logs
    data = np.load(os.path.join(os.path.dirname(config), "data", "iris_parts_test.npz"))
    probs = run.predict(str(tmp_path / "run"), {"sepal": data["sepal"], "petal": data["petal"]})
    assert probs.shape == (30, 3) and np.allclose(probs.sum(axis=1), 1, atol=1e-5), probs.shape


def test_pick_one_output_of_a_multi_output_layer():
    text = graph_spec("- LSTM: {units: 4, return_state: true, name: rnn, input: a}\n"
                      "- Dense: {units: 2, name: from_state, input: 'rnn[1]'}\n",
                      inputs="{a: [5, 3]}", outputs="['rnn[0]', from_state]")
    doc = load_text(text, file="config.yaml")
    model = build_model(resolve(doc), doc)
    assert model.output_names == ["rnn", "from_state"], model.output_names
    assert model.get_layer("from_state").input_shape == (None, 4), "rnn[1] is the (None, 4) state"
    diagnostics = errors(text.replace("input: 'rnn[1]'", "input: rnn"))
    assert "'rnn' has 3 outputs; pick one with rnn[0]" in diagnostics[0].message, str(diagnostics[0])
    diagnostics = errors(text.replace("input: 'rnn[1]'", "input: 'rnn[7]'"))
    assert diagnostics[0].line == 6 and "'rnn' has 3 outputs" in diagnostics[0].message, str(diagnostics[0])
