"""Models are layers: nested Sequential/Functional models against Keras 3.15.1 (tools/make_golden_nested.py),
their files both ways, ``trainable`` and ``training=`` reaching the layers inside."""
import json
import os
import warnings

import h5py
import numpy as np
import pytest

from kspec import optimizers
from kspec.engine import Tensor
from kspec.io import load_model
from kspec.io.errors import ModelFileWarning
from kspec.io.keras_config import model_config
from kspec.layers import BatchNormalization, Dense, Dropout, clear_session
from kspec.models import Functional, Input, Model, Sequential

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
with open(os.path.join(FIXTURES, "nested_golden.json"), encoding="utf-8") as _f:
    GOLDEN = json.load(_f)
ARRAYS = np.load(os.path.join(FIXTURES, "nested_golden.npz"))


def seq_base():
    return Sequential([Input((5,), name="base_in"), Dense(8, activation="relu", name="b_dense"),
                       BatchNormalization(name="b_bn"), Dense(6, activation="tanh", name="b_out")], name="base")


def seq_in_functional():
    base = seq_base()
    x = Input((5,), name="x")
    h = base(x, training=False)
    out = Dense(3, activation="softmax", name="head")(h)
    return Model(x, out, name="outer"), base


def functional_in_sequential():
    fx = Input((5,), name="fx")
    h = Dense(8, activation="relu", name="f_dense")(fx)
    h = BatchNormalization(name="f_bn")(h)
    fo = Dense(6, activation="tanh", name="f_out")(h)
    base = Model(fx, fo, name="fbase")
    model = Sequential([Input((5,), name="sx"), base, Dense(3, activation="softmax", name="head")],
                       name="outer_seq")
    return model, base


def seq_in_seq():
    base = seq_base()
    return Sequential([Input((5,)), base, Dense(3, activation="softmax", name="head")], name="outer_ss"), base


CASES = {"seq_in_functional": seq_in_functional, "functional_in_sequential": functional_in_sequential,
         "seq_in_seq": seq_in_seq}


def build(name):
    clear_session()
    model, base = CASES[name]()
    model.set_weights([ARRAYS[f"{name}/w{i}"] for i in range(GOLDEN[name]["n_weights"])])
    return model, base


def summary(model, **kwargs):
    out = []
    model.summary(print_fn=out.append, **kwargs)
    return out[0]


def canon(value):
    return json.loads(json.dumps(value))


@pytest.mark.parametrize("name", CASES)
def test_structure_config_and_forward_equal_keras(name):
    model, base = build(name)
    golden, x = GOLDEN[name], ARRAYS[f"{name}/x"]
    assert isinstance(base, Model) and base in model.layers, "the base model is one layer of the outer model"
    assert [layer.name for layer in model.layers] == golden["layers"]
    assert [layer.name for layer in base.layers] == golden["base_layers"]
    assert [w.path for w in model.weights] == golden["weight_paths"], "weight paths differ from Keras's"
    assert canon(model.get_config()) == golden["config"], "get_config() differs from Keras's"
    np.testing.assert_allclose(model.predict(x, verbose=0), ARRAYS[f"{name}/pred"], atol=2e-6)
    # Keras 3: the outer call's training=True reaches the base's BatchNormalization, even where the graph
    # recorded base(x, training=False)
    np.testing.assert_allclose(model(x, training=True).data, ARRAYS[f"{name}/train_pred"], atol=2e-6)


@pytest.mark.parametrize("name", CASES)
def test_frozen_base_trains_like_keras(name):
    model, base = build(name)
    golden = GOLDEN[name]
    x, y = ARRAYS[f"{name}/x"], ARRAYS[f"{name}/y"]
    model(x, training=True)  # as the generator did: a training call moves the moving statistics
    moving = [w.data.copy() for w in base.weights if "moving" in w.path]
    base.trainable = False
    assert all(not layer.trainable for layer in base.layers), "model.trainable = False reaches every layer"
    assert [w.path for w in model.trainable_weights] == [w for w in golden["weight_paths"] if w.split("/")[-2]
                                                         == "head"]
    model.compile(optimizer=optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    assert summary(model, show_trainable=True) == golden["summary_frozen"]
    history = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for key, values in golden["history"].items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-5, err_msg=key)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, ARRAYS[f"{name}/trained{i}"], atol=1e-6, err_msg=f"weight {i}")
    for before, w in zip(moving, [w for w in base.weights if "moving" in w.path]):
        np.testing.assert_array_equal(before, w.data, err_msg="a frozen BatchNormalization runs in inference mode")
    base.trainable = True
    assert summary(model) == golden["summary"]
    assert summary(model, expand_nested=True) == golden["summary_expanded"]


@pytest.mark.parametrize("name", CASES)
def test_loads_keras_file_of_a_nested_model(name):
    golden = GOLDEN[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelFileWarning)  # the optimizer state fits
        model = load_model(os.path.join(FIXTURES, f"nested_{name}_keras.h5"))
    assert [layer.name for layer in model.layers] == golden["layers"]
    base = model.layers[-2]
    assert isinstance(base, Model) and all(not layer.trainable for layer in base.layers if layer.weights), \
        "the base was saved frozen"
    # Keras reads a Sequential's own flag as True (its layers keep theirs), a Functional's as written
    assert base.trainable == isinstance(base, Sequential) and len(model.trainable_weights) == 2
    np.testing.assert_allclose(model.predict(ARRAYS[f"{name}/x"], verbose=0), ARRAYS[f"{name}/after"], atol=2e-6)


@pytest.mark.parametrize("name", CASES)
def test_loads_keras_weights_file_of_a_nested_model(name, tmp_path):
    model, _ = build(name)
    model.load_weights(os.path.join(FIXTURES, f"nested_{name}_keras.weights.h5"))
    x = ARRAYS[f"{name}/x"]
    np.testing.assert_allclose(model.predict(x, verbose=0), ARRAYS[f"{name}/after"], atol=2e-6)
    model.save_weights(tmp_path / "again.weights.h5")
    with h5py.File(tmp_path / "again.weights.h5") as mine, \
            h5py.File(os.path.join(FIXTURES, f"nested_{name}_keras.weights.h5")) as keras_file:
        ours, theirs = [], []
        mine.visit(ours.append)
        keras_file.visit(theirs.append)
        assert sorted(ours) == sorted(n for n in theirs if not n.startswith("optimizer"))


@pytest.mark.parametrize("name", CASES)
def test_writes_keras_layout_and_reads_it_back(name, tmp_path):
    model, base = build(name)
    model(ARRAYS[f"{name}/x"], training=True)
    base.trainable = False
    model.compile(optimizer=optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(ARRAYS[f"{name}/x"], ARRAYS[f"{name}/y"], batch_size=8, epochs=1, shuffle=False, verbose=0)
    path = tmp_path / "nested.h5"
    model.save(path)
    golden = GOLDEN[name]
    with h5py.File(path) as f:
        group = f["model_weights"]
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["layer_names"]]
        assert names == golden["h5_layer_names"]
        for layer_name, weight_names in golden["h5_weight_names"].items():
            got = [n.decode() if isinstance(n, bytes) else str(n) for n in group[layer_name].attrs["weight_names"]]
            assert got == weight_names, f"weight_names of {layer_name}"
        opt = [n.decode() if isinstance(n, bytes) else n for n in f["optimizer_weights"].attrs["weight_names"]]
        assert opt == golden["h5_optimizer_weight_names"]
        assert canon(json.loads(f.attrs["model_config"])) == golden["h5_model_config"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelFileWarning)
        again = load_model(path)
    x = ARRAYS[f"{name}/x"]
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert again.layers[-2].get_layer(index=-1).trainable is False and len(again.trainable_weights) == 2
    again.layers[-2].trainable = True  # loaded frozen, unfrozen: its weights train again
    again.compile(optimizer="sgd", loss="categorical_crossentropy")
    before = again.layers[-2].get_weights()
    again.fit(x, ARRAYS[f"{name}/y"], batch_size=8, epochs=1, verbose=0)
    moved = [not np.array_equal(a, b) for a, b in zip(before, again.layers[-2].get_weights())]
    assert all(moved), "every weight of the unfrozen base moves (BatchNormalization's moving stats too)"


def test_trainable_flips_either_way_and_takes_effect_at_compile():
    clear_session()
    layer = Dense(2, trainable=False)
    model = Sequential([Input((3,)), layer])
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 2, "built frozen"
    layer.trainable = True
    assert [w.path for w in model.trainable_weights] == ["sequential/dense/kernel", "sequential/dense/bias"]
    model.trainable = False
    assert not layer.trainable and model.trainable_weights == []
    model.trainable = True
    assert layer.trainable and len(model.trainable_weights) == 2
    model.compile(optimizer="sgd", loss="mse")
    before = layer.get_weights()
    model.fit(np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32), verbose=0)
    assert not np.array_equal(before[0], layer.get_weights()[0])


def test_training_argument_reaches_the_layers_of_a_nested_model():
    clear_session()
    inner = Sequential([Input((4,)), Dropout(0.5, seed=1)], name="inner")
    outer = Sequential([Input((4,)), inner], name="outer")
    x = np.ones((8, 4), np.float32)
    np.testing.assert_array_equal(outer(x).data, x, err_msg="inference by default")
    assert (outer(x, training=True).data == 0).any(), "training=True reaches the nested Dropout"
    np.testing.assert_array_equal(inner(x, training=False).data, x)


def test_nested_model_in_a_graph_has_input_and_output():
    clear_session()
    base = seq_base()
    x = Input((5,), name="x")
    h = base(x)
    assert base.output is h and base.input is x and h.shape == (None, 6), "a model called on a KerasTensor"
    assert base.inputs[0].layer.name == "base_in" and base.outputs[0].shape == (None, 6), "its own graph"
    model = Model(inputs=x, outputs=Dense(2, name="top")(h))
    assert isinstance(model, Functional) and model.inputs == [x] and model.get_layer("top").input is h
    assert model.get_layer("base/b_bn") is base.get_layer("b_bn"), "get_layer takes a path into nested models"
    np.testing.assert_allclose(model(np.ones((2, 5), np.float32)).data,
                               model.get_layer("top")(base(Tensor(np.ones((2, 5), np.float32)))).data, atol=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_a_loaded_base_is_cut_at_a_layer_as_in_keras(name):
    """``Model(base.inputs, base.get_layer(...).output)``: the layers of a loaded base (Sequential too) have
    their symbolic input and output, so the base can be cut for transfer learning."""
    model = load_model(os.path.join(FIXTURES, f"nested_{name}_keras.h5"), compile=False)
    base = model.layers[-2]
    last = GOLDEN[name]["base_layers"][-2]  # the BatchNormalization
    cut = Model(base.inputs, base.get_layer(last).output)
    assert [layer.name for layer in cut.layers][-2:] == GOLDEN[name]["base_layers"][-3:-1]
    x = ARRAYS[f"{name}/x"]
    dense = base.get_layer(GOLDEN[name]["base_layers"][-3])
    want = base.get_layer(last)(dense(x)).data
    np.testing.assert_allclose(cut.predict(x, verbose=0), want, atol=1e-6)
    assert cut.get_layer(last) is base.get_layer(last), "the cut shares the base's layers (and weights)"


def test_sequential_takes_its_input_from_a_base_model():
    clear_session()
    base = seq_base()
    model = Sequential([base, Dense(2, name="top")], name="outer")
    assert model.built and model.input_shape == (None, 5) and model.output_shape == (None, 2)
    x = ARRAYS["seq_in_seq/x"]
    np.testing.assert_allclose(model.predict(x, verbose=0), model.get_layer("top")(base(x)).data, atol=1e-6)
