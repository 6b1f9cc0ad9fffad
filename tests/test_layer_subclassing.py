"""Keras 3's layer and model surface for subclassing: add_weight, attribute tracking, add_loss, training=None,
Model(inputs, outputs), subclassed models, layer.input/output; and the bugs the guides ran into."""
import warnings

import numpy as np
import pytest

from kspec.engine import Tensor, Variable, ops
from kspec.io import load_model
from kspec.layers import Dense, Dropout, Embedding, Layer, clear_session
from kspec.models import Functional, Input, Model, Sequential
from kspec.testing import check_backward


class Linear(Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


class MLPBlock(Layer):
    def __init__(self):
        super().__init__()
        self.linear_1 = Linear(4)
        self.hidden = [Linear(3), Linear(2)]
        self.linear_3 = Linear(1)

    def call(self, inputs):
        x = self.linear_1(inputs)
        for layer in self.hidden:
            x = layer(x)
        return self.linear_3(x)


def test_add_weight_keras_signature_and_the_older_form():
    clear_session()
    layer = Layer(name="holder")
    w = layer.add_weight(shape=(2, 3))
    assert w.shape == (2, 3) and w.trainable and w.path == "variable", "no name: Keras's auto name"
    assert np.abs(w.data).max() > 0, "a float weight without initializer starts glorot_uniform"
    frozen = layer.add_weight((4,), "ones", trainable=False, name="count")
    assert frozen.name == "count" and not frozen.trainable and np.all(frozen.data == 1)
    old = layer.add_weight("legacy", (3,), "zeros", None, None, False)
    assert old.name == "legacy" and not old.trainable, "the name-first form still works"
    assert layer.weights == [w, old, frozen] or layer.weights[0] is w
    assert [v.name for v in layer.trainable_weights] == [w.name]


def test_sublayers_and_lists_are_tracked_in_assignment_order():
    clear_session()
    block = MLPBlock()
    y = block(np.ones((3, 5), np.float32))
    assert y.shape == (3, 1)
    assert [layer.name for layer in block._sublayers()] == ["linear", "linear_1", "linear_2", "linear_3"]
    assert len(block.weights) == 8 and len(block.trainable_weights) == 8
    assert block.weights[0].path == "mlp_block/linear/variable", "Keras's paths: built inside the call"
    block.trainable = False
    assert block.trainable_weights == [] and not block.hidden[1].trainable, "trainable reaches list members"
    block.trainable = True
    extra = Variable(np.zeros(2, np.float32), name="extra")
    block.extra = extra
    assert block.weights[0] is extra, "a Variable set as an attribute is one of the layer's own weights"


class ActivityRegularization(Layer):
    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.sum(inputs))
        return inputs


class Outer(Layer):
    def __init__(self):
        super().__init__()
        self.activity_reg = ActivityRegularization(1e-2)

    def call(self, inputs):
        return self.activity_reg(inputs)


def test_add_loss_is_reset_by_each_outermost_call_and_trains():
    layer = Outer()
    assert layer.losses == []
    layer(np.ones((1, 1), np.float32))
    layer(np.ones((1, 1), np.float32))
    assert len(layer.losses) == 1 and float(layer.losses[0].data) == pytest.approx(0.01)
    x = Input((2,))
    model = Model(x, Dense(1, kernel_initializer="ones", bias_initializer="zeros")(ActivityRegularization(1.0)(x)))
    model.compile(optimizer="sgd", loss="mse")
    logs = model.evaluate(np.ones((4, 2), np.float32), np.full((4, 1), 2.0, np.float32), verbose=0,
                          return_dict=True)
    assert logs["loss"] == pytest.approx(8.0), "the added loss (sum of inputs = 8) joins the loss (mse 0)"


def test_training_defaults_to_none_and_follows_the_outer_call():
    seen = []

    class Probe(Layer):
        def call(self, inputs, training=None):
            seen.append(training)
            return inputs

        def compute_output_shape(self, input_shape):
            return input_shape

    class Wrapper(Layer):
        def __init__(self):
            super().__init__()
            self.probe = Probe()

        def call(self, inputs):
            return self.probe(inputs)

        def compute_output_shape(self, input_shape):
            return input_shape

    Wrapper()(np.ones((1, 2), np.float32))
    Wrapper()(np.ones((1, 2), np.float32), training=True)
    assert seen == [None, True]


class MyModel(Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.blocks = [Dense(8, activation="relu"), Dense(4)]
        self.drop = Dropout(0.5, seed=2)
        self.head = Dense(1)

    def call(self, x, training=None):
        for block in self.blocks:
            x = block(x)
        return self.head(self.drop(x, training=training))


def test_subclassed_model_trains_saves_and_loads_weights(tmp_path):
    clear_session()
    model = MyModel(name="mine")
    x, y = np.random.default_rng(0).standard_normal((16, 5)).astype("float32"), np.ones((16, 1), np.float32)
    model.build((None, 5))
    before = model.get_weights()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    assert len(before) == 6 and all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert [layer.name for layer in model.layers] == ["dense", "dense_1", "dropout", "dense_2"]
    assert model.weights[0].path == "mine/dense/kernel"
    for name in ("w.weights.h5", "w.h5"):
        model.save_weights(tmp_path / name)
        other = MyModel()
        other.build((None, 5))
        other.load_weights(tmp_path / name)
        np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))


def test_model_with_inputs_and_outputs_is_functional_also_for_subclasses():
    class CustomModel(Model):
        def train_step(self, data):
            self.steps_seen = getattr(self, "steps_seen", 0) + 1
            return super().train_step(data)

    import kspec.layers
    assert kspec.layers.Input is Input, "keras.layers.Input"
    inputs = kspec.layers.Input((3,), name="x")
    dense = Dense(1, name="d")
    outputs = dense(inputs)
    plain = Model(inputs=inputs, outputs=outputs)
    assert type(plain) is Functional and plain.inputs == [inputs] and plain.outputs == [outputs]
    assert dense.input is inputs and dense.output is outputs
    custom = CustomModel(inputs, outputs)
    assert isinstance(custom, Functional) and isinstance(custom, CustomModel)
    custom.compile(optimizer="sgd", loss="mse")
    custom.fit(np.ones((4, 3), np.float32), np.ones((4, 1), np.float32), batch_size=2, verbose=0)
    assert custom.steps_seen == 2, "the subclass's train_step runs"
    with pytest.raises(AttributeError, match="never been called"):
        Dense(2).output


# -- the bugs of the guides ------------------------------------------------------------------------------

class Doubler(Layer):  # no compute_output_shape
    def call(self, inputs):
        return ops.concatenate([inputs, inputs], axis=1)


def test_custom_layer_without_output_shape_takes_free_dimensions():
    assert Doubler()(Input((None,))).shape == (None, None)
    assert Doubler()(Input((None, 4))).shape == (None, None, 4)
    assert Doubler()(Input((3, 4))).shape == (None, 6, 4)


class Split(Layer):
    supports_masking = True

    def call(self, inputs):
        return [inputs * 1.0, inputs * 2.0]

    def compute_mask(self, inputs, mask=None):
        return [mask, None if mask is None else ~mask]


def test_custom_layer_returning_a_list_keeps_its_masks():
    tokens = Input((4,), dtype="int32")
    a, b = Split()(Embedding(5, 2, mask_zero=True)(tokens))
    model = Model(tokens, [a, b])
    out_a, out_b = model(np.array([[1, 2, 0, 0]]))
    np.testing.assert_array_equal(out_a.keras_mask, [[True, True, False, False]])
    np.testing.assert_array_equal(out_b.keras_mask, [[False, False, True, True]])


class WithKw(Layer):
    def __init__(self, units=3, **kw):
        super().__init__(**kw)
        self.units = units

    def call(self, inputs):
        return inputs


def test_custom_layer_with_any_kwargs_name_has_a_clean_config():
    layer = WithKw(units=4, name="kw", trainable=False)
    config = layer.get_config()
    assert config["units"] == 4 and config["name"] == "kw" and config["trainable"] is False
    assert "kw" not in config, f"the **kw dict leaked into the config: {config}"
    again = WithKw.from_config(config)
    assert again.units == 4 and again.name == "kw" and not again.trainable


def test_model_saved_after_compile_before_training_loads_without_warning(tmp_path):
    model = Sequential([Input((3,)), Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.save(tmp_path / "m.h5")
    model.save_weights(tmp_path / "m.weights.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = load_model(tmp_path / "m.h5")
        again.load_weights(tmp_path / "m.weights.h5")
    again.fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), verbose=0)


def test_custom_layer_gradient():
    layer = Linear(2)
    layer(Tensor(np.ones((1, 3), np.float32)))
    check_backward(lambda x: layer(x), [np.random.default_rng(1).standard_normal((2, 3))])
