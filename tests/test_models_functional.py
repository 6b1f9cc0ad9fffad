"""Graph (functional) models vs Keras 3.15.1: layer order, configs, forward, one epoch of training with
the full history, summary "Connected to" tables, model files both ways, gradients of shared layers.

Keras numbers come from tests/fixtures/functional_golden.* (tools/make_golden_functional.py).
"""
import json
import os

import numpy as np
import pytest

from kspec import backend, io
from kspec.engine import Tensor
from kspec.io.keras_config import model_config
from kspec.layers import Add, Concatenate, Dense, Dropout, Subtract, clear_session
from kspec.models import Functional, Input, KerasTensor
from kspec.models.summary import format_summary
from kspec.testing import check_backward, to_float64

import _functional_graphs as graphs

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
with open(os.path.join(FIXTURES, "functional_golden.json"), encoding="utf-8") as _f:
    GOLDEN = json.load(_f)["models"]
ARRAYS = np.load(os.path.join(FIXTURES, "functional_golden.npz"))
CASES = sorted(GOLDEN)
# Keras adds its mask computations (NotEqual, LogicalOr ops) to a masked graph's config and summary as
# extra operations; kspec's graph holds layers only, so those two comparisons skip the masked case.
KERAS_MASK_OPS = {"masked"}
# kspec's Embedding.get_config() lacks input_dim (Layer.get_config skips it as a legacy shape argument) and
# activity_regularizer, so the masked model's file cannot be read back yet (owner: the Embedding layer).
ROUND_TRIP_CASES = list(CASES)


@pytest.fixture(autouse=True)
def fresh_names():
    clear_session()
    backend.set_seed(0)
    yield
    clear_session()


def canon(value):
    return json.loads(json.dumps(value))


def data(name):
    case = GOLDEN[name]
    xs = [ARRAYS[f"{name}/x{i}"] for i in range(case["n_inputs"])]
    ys = [ARRAYS[f"{name}/y{i}"] for i in range(case["n_outputs"])]
    return (xs if len(xs) > 1 else xs[0]), (ys if len(ys) > 1 else ys[0])


def golden_model(name):
    model = getattr(graphs, name)()
    model.set_weights([ARRAYS[f"{name}/w{i}"] for i in range(GOLDEN[name]["n_weights"])])
    return model


def as_list(value):
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("name", CASES, ids=CASES)
def test_layer_order_and_output_names(name):
    model = getattr(graphs, name)()
    assert [layer.name for layer in model.layers] == GOLDEN[name]["layers"], "model.layers order differs"
    assert model.output_names == GOLDEN[name]["output_names"], "output_names differ"


@pytest.mark.parametrize("name", [c for c in CASES if c not in KERAS_MASK_OPS], ids=lambda c: c)
def test_config_equals_keras(name):
    model = golden_model(name)
    got, want = canon(model.get_config()), GOLDEN[name]["config"]
    for mine, theirs in zip(got["layers"], want["layers"]):
        assert mine == theirs, f"layer entry {theirs['name']!r} differs"
    assert got == want, "Functional get_config() differs from Keras's"


@pytest.mark.parametrize("name", CASES, ids=CASES)
def test_forward_matches_keras(name):
    model = golden_model(name)
    x, _ = data(name)
    for i, out in enumerate(as_list(model.predict(x, verbose=0))):
        assert out.dtype == np.float32, f"output {i} is {out.dtype}"
        np.testing.assert_allclose(out, ARRAYS[f"{name}/pred{i}"], rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name}: prediction of output {i} differs from Keras")


@pytest.mark.parametrize("name", CASES, ids=CASES)
def test_fit_matches_keras(name):
    case = GOLDEN[name]
    model = golden_model(name)
    x, y = data(name)
    model.compile(**case["compile"])
    history = model.fit(x, y, batch_size=case["batch"], epochs=case["epochs"], shuffle=False, verbose=0,
                        validation_split=case["validation_split"]).history
    assert sorted(history) == sorted(case["history"]), "history keys differ from Keras's"
    for key, values in case["history"].items():
        np.testing.assert_allclose(history[key], values, rtol=2e-5, atol=1e-6,
                                   err_msg=f"{name}: history[{key!r}] differs from Keras")
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, ARRAYS[f"{name}/trained{i}"], rtol=1e-5, atol=2e-6,
                                   err_msg=f"{name}: trained weight {i} differs from Keras")
    for i, out in enumerate(as_list(model.predict(x, verbose=0))):
        np.testing.assert_allclose(out, ARRAYS[f"{name}/after{i}"], rtol=1e-5, atol=2e-6,
                                   err_msg=f"{name}: prediction after fit (output {i}) differs")


@pytest.mark.parametrize("name", [c for c in CASES if c not in KERAS_MASK_OPS], ids=lambda c: c)
def test_summary_matches_keras(name):
    """The summary was taken after fit, so it includes the optimizer's parameters."""
    case = GOLDEN[name]
    model = golden_model(name)
    x, y = data(name)
    model.compile(**case["compile"])
    model.fit(x, y, batch_size=case["batch"], epochs=case["epochs"], shuffle=False, verbose=0,
              validation_split=case["validation_split"])
    assert format_summary(model, columns=80) == case["summary"].rstrip("\n") + "\n", "summary text differs"


def test_linear_graph_summary_has_no_connected_to_column():
    x = Input((3,), name="x")
    model = Functional(x, Dense(2, name="d2")(Dense(4, name="d1")(x)))
    header = format_summary(model, columns=80).splitlines()[2]
    assert "Connected to" not in header, "a chain of single-input layers is sequential-like in Keras"
    assert "x (InputLayer)" in format_summary(model, columns=80), "the InputLayer row is missing"


# -- model files ---------------------------------------------------------------------------------------------

def test_h5_model_config_equals_keras(tmp_path):
    model = golden_model("two_output")
    assert canon(model_config(model)) == GOLDEN["two_output"]["h5_model_config"], \
        "legacy .h5 model_config of a Functional model differs from Keras's"


def test_loads_keras_functional_h5():
    model = io.load_model(os.path.join(FIXTURES, "functional_keras.h5"))
    assert isinstance(model, Functional), f"loaded a {type(model).__name__}"
    assert [layer.name for layer in model.layers] == GOLDEN["two_output"]["layers"], "layer order differs"
    x, _ = data("two_output")
    for i, out in enumerate(model.predict(x, verbose=0)):
        np.testing.assert_allclose(out, ARRAYS[f"two_output/after{i}"], rtol=1e-6, atol=1e-7,
                                   err_msg=f"predictions of Keras's saved model (output {i}) differ")
    assert model.compile_args["loss_weights"] == {"out_a": 1.0, "out_b": 0.5}, "loss_weights not restored"
    assert int(model.optimizer.iterations) == 6, "optimizer state not restored"


@pytest.mark.parametrize("name", ROUND_TRIP_CASES, ids=CASES)
def test_save_load_round_trip(tmp_path, name):
    case = GOLDEN[name]
    model = golden_model(name)
    x, y = data(name)
    model.compile(**case["compile"])
    model.fit(x, y, batch_size=case["batch"], epochs=1, shuffle=False, verbose=0)
    path = tmp_path / "m.h5"
    model.save(path)
    clear_session()
    again = io.load_model(path)
    assert canon(again.get_config()) == canon(model.get_config()), "config changed in the round trip"
    for i, (a, b) in enumerate(zip(as_list(again.predict(x, verbose=0)), as_list(model.predict(x, verbose=0)))):
        np.testing.assert_array_equal(a, b, err_msg=f"output {i} differs after save/load")
    weights = tmp_path / "m.weights.h5"
    model.save_weights(weights)
    fresh = getattr(graphs, name)()
    fresh.load_weights(weights)
    for i, (a, b) in enumerate(zip(fresh.get_weights(), model.get_weights())):
        np.testing.assert_array_equal(a, b, err_msg=f"weight {i} differs after .weights.h5 round trip")


# -- gradients ------------------------------------------------------------------------------------------------

def shared_graph():
    """A shared Dense on two inputs, a residual Add and a Concatenate."""
    a, b = Input((4,), name="a"), Input((4,), name="b")
    enc = Dense(4, activation="tanh", name="enc")
    ea, eb = enc(a), enc(b)
    res = Add(name="res")([ea, a])
    both = Concatenate(name="both")([res, Subtract(name="diff")([ea, eb])])
    return Functional([a, b], Dense(2, name="out")(both))


def test_shared_layer_gradient_check_float64():
    model = to_float64(shared_graph())
    rng = np.random.default_rng(1)
    xa, xb = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    check_backward(lambda a, b: model([a, b]), [xa, xb], params=model.trainable_weights)


def test_shared_layer_gradient_is_sum_of_its_uses():
    """The shared kernel's gradient equals the sum of the gradients of two unshared copies."""
    rng = np.random.default_rng(2)
    xa, xb = rng.standard_normal((5, 3)).astype("float32"), rng.standard_normal((5, 3)).astype("float32")

    def kernel_grads(shared):
        a, b = Input((3,), name="a"), Input((3,), name="b")
        d1 = Dense(2, name="d1")
        d2 = d1 if shared else Dense(2, name="d2")
        model = Functional([a, b], Add(name="s")([d1(a), d2(b)]))
        for layer in (d1, d2):
            layer.set_weights([np.full((3, 2), 0.5, "float32"), np.zeros(2, "float32")])
        out = model([xa, xb], training=True)
        (out * out).sum().backward()
        return d1.kernel.grad, d2.kernel.grad

    shared, _ = kernel_grads(True)
    g1, g2 = kernel_grads(False)
    np.testing.assert_allclose(shared, g1 + g2, rtol=1e-6, err_msg="shared kernel gradient is not the sum")


# -- the Python API ------------------------------------------------------------------------------------------

def test_inputs_as_dict_and_list_agree():
    model = golden_model("two_input")
    (image, meta), _ = data("two_input")
    by_list = model.predict([image, meta], verbose=0)
    by_dict = model.predict({"meta": meta, "image": image}, verbose=0)
    np.testing.assert_array_equal(by_list, by_dict, err_msg="dict inputs (by name) differ from list inputs")


def test_dict_targets_by_output_name():
    case = GOLDEN["two_output"]
    model = golden_model("two_output")
    x, (ya, yb) = data("two_output")
    model.compile(**case["compile"])
    logs = model.evaluate(x, {"out_b": yb, "out_a": ya}, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "out_a_loss", "out_b_loss", "out_a_accuracy", "out_b_mae"}, sorted(logs)


def test_symbolic_tensor_shapes():
    x = Input((5,), name="x")
    h = Dense(3, name="h")(x)
    both = Concatenate(name="c")([h, x])
    assert isinstance(both, KerasTensor) and both.shape == (None, 8), f"got {both!r}"
    assert both.history[1:] == (0, 0) and h.name == "h", "keras history of a symbolic tensor"


def test_training_flag_reaches_dropout():
    x = Input((50,), name="x")
    model = Functional(x, Dropout(0.5, name="drop")(x))
    ones = np.ones((4, 50), "float32")
    assert np.array_equal(model(ones).data, ones), "dropout is active at inference"
    assert not np.array_equal(model(ones, training=True).data, ones), "dropout is off in training"


def test_errors():
    a, b = Input((3,), name="a"), Input((4,), name="b")
    enc = Dense(2, name="enc")
    enc(a)
    with pytest.raises(ValueError, match="already built for input shape"):
        enc(b)
    with pytest.raises(ValueError, match="Graph disconnected"):
        Functional(a, Concatenate(name="c")([a, b]))
    with pytest.raises(ValueError, match="incompatible shapes"):
        Add(name="bad")([a, b])
    x = Input((3,), name="x")
    with pytest.raises(ValueError, match="used 2 times"):
        Functional(x, Dense(2, name="same")(Dense(3, name="same")(x)))
    model = Functional(a, Dense(1, name="o")(a))
    with pytest.raises(ValueError, match="expects shape"):
        model.predict(np.ones((2, 5), "float32"), verbose=0)


def test_masks_propagate_through_merges():
    """A mask on the inputs reaches the output through Add (OR) and is dropped by Flatten-free Dense."""
    a, b = Input((3, 2), name="a"), Input((3, 2), name="b")
    model = Functional([a, b], Add(name="s")([Dense(2, name="da")(a), b]))
    ta, tb = Tensor(np.ones((2, 3, 2), "float32")), Tensor(np.ones((2, 3, 2), "float32"))
    ta.keras_mask = np.array([[1, 0, 0], [1, 1, 0]], bool)
    tb.keras_mask = np.array([[0, 1, 0], [1, 0, 0]], bool)
    out = model([ta, tb])
    np.testing.assert_array_equal(out.keras_mask, [[1, 1, 0], [1, 1, 0]], err_msg="mask is not the OR")


def keras2_form(config):
    """The Keras 2 (tf.keras) form of a Functional config: inbound nodes as [[layer, node, tensor, {}]]."""
    config = json.loads(json.dumps(config))
    for entry in config["layers"]:
        nodes = []
        for node in entry["inbound_nodes"]:
            arg = node["args"][0]
            tensors = arg if isinstance(arg, list) else [arg]
            nodes.append([t["config"]["keras_history"] + [{}] for t in tensors])
        entry["inbound_nodes"] = nodes
        for key in ("module", "registered_name", "build_config"):
            entry.pop(key, None)
    return config


def test_reads_keras2_functional_config():
    config = keras2_form(GOLDEN["siamese"]["config"])
    model = Functional.from_config(config)
    assert [layer.name for layer in model.layers] == GOLDEN["siamese"]["layers"], "layer order"
    model.set_weights([ARRAYS[f"siamese/w{i}"] for i in range(GOLDEN["siamese"]["n_weights"])])
    x, _ = data("siamese")
    np.testing.assert_allclose(model.predict(x, verbose=0), ARRAYS["siamese/pred0"], rtol=1e-5, atol=1e-6,
                               err_msg="a model read from a Keras 2 config predicts differently")


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["layers"][2]["inbound_nodes"][0]["args"][0]["config"]["keras_history"].__setitem__(0, "nope"),
     "unknown layer 'nope'"),
    (lambda c: c["layers"][2]["inbound_nodes"][0]["args"][0]["config"]["keras_history"].__setitem__(1, 5),
     "never appear"),
    (lambda c: c.pop("output_layers"), "no output_layers"),
], ids=["unknown-layer", "missing-node", "no-outputs"])
def test_bad_functional_configs(edit, message):
    from kspec.models.config import ConfigError

    config = json.loads(json.dumps(GOLDEN["siamese"]["config"]))
    edit(config)
    with pytest.raises(ConfigError, match=message):
        Functional.from_config(config)
