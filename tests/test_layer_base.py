"""The Layer base contract: Keras 3 configs (checked against Keras's own, from a fixture), dtype policies,
activity regularization, masks, names and weights."""
import json
import os

import numpy as np
import pytest

from kspec import registry
from kspec.engine import Tensor, ops
from kspec.layers import ActivityRegularization, Dense, Dropout, Flatten, Lambda, Layer, clear_session
from kspec.layers.base import dtype_name, standardize_data_format

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
with open(os.path.join(FIXTURES, "layers_configs.json")) as f:
    KERAS_CONFIGS = json.load(f)

POLICY = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}


def square(x):
    return x * x


def scale(x, factor=1.0):
    return x * factor


FUNCTIONS = {"square": square, "scale": scale}  # the named functions of the fixture's Lambda cases


def _kspec_layer(case):
    kwargs = dict(case["kwargs"])
    if case["class_name"] == "Lambda":
        kwargs["function"] = scale if "arguments" in kwargs else square
    layer = registry.lookup("layer", case["class_name"])(**kwargs)
    layer.ensure_built(tuple(case["input_shape"]))
    return layer


def _differences(ours, keras):
    return {k: (ours.get(k, "<missing>"), keras.get(k, "<missing>"))
            for k in set(ours) | set(keras) if ours.get(k, "<missing>") != keras.get(k, "<missing>")}


@pytest.mark.parametrize("case", KERAS_CONFIGS, ids=[c["id"] for c in KERAS_CONFIGS])
def test_get_config_equals_keras(case):
    """Same keys and values as Keras 3.15.1's get_config, so keras.models.load_model rebuilds our files."""
    ours = json.loads(json.dumps(_kspec_layer(case).get_config()))
    keras = case["config"]
    assert set(ours) == set(keras), f"config keys differ: only ours {set(ours) - set(keras)}, " \
                                    f"only Keras {set(keras) - set(ours)}"
    assert ours == keras, f"config values differ (ours, Keras): {_differences(ours, keras)}"


@pytest.mark.parametrize("case", KERAS_CONFIGS, ids=[c["id"] for c in KERAS_CONFIGS])
def test_from_keras_config(case):
    """A layer rebuilt from Keras's config (dtype as a DTypePolicy dict) writes the same config back."""
    cls = registry.lookup("layer", case["class_name"])
    config = json.loads(json.dumps(case["config"]))
    if cls is Lambda:
        layer = cls.from_config(config, custom_objects=FUNCTIONS)
    else:
        layer = cls.from_config(config)
    again = json.loads(json.dumps(layer.get_config()))
    assert again == case["config"], f"differences (ours, Keras): {_differences(again, case['config'])}"


def test_every_layer_of_this_issue_has_a_keras_config_case():
    covered = {c["class_name"] for c in KERAS_CONFIGS}
    wanted = {"Dense", "Activation", "Dropout", "Flatten", "Reshape", "Permute", "RepeatVector", "Lambda",
              "ActivityRegularization"}
    assert wanted <= covered, f"no Keras config fixture for {sorted(wanted - covered)}"


# -- dtype policy ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [None, "float32", POLICY, {"name": "float32"}, np.float32],
                         ids=["none", "string", "policy-dict", "name-dict", "numpy-type"])
def test_dtype_accepts_names_and_policy_dicts(dtype):
    layer = Dense(2, dtype=dtype)
    assert layer.dtype == "float32", f"dtype {dtype!r} read as {layer.dtype!r}"
    assert layer.get_config()["dtype"] == POLICY, "config dtype should be Keras's DTypePolicy dict"


def test_dtype_name_rejects_unreadable_dict():
    with pytest.raises(ValueError, match="dtype policy"):
        dtype_name({"foo": 1})


def test_keras2_style_config_with_string_dtype_loads():
    layer = Dense.from_config({"name": "old", "trainable": True, "dtype": "float32", "units": 3,
                               "activation": "relu", "batch_input_shape": [None, 4]})
    assert layer.units == 3 and layer.dtype == "float32", "Keras 2 config not read"
    assert layer._batch_input_shape == (None, 4), "batch_input_shape was not kept as the input shape"


def test_config_has_no_batch_input_shape():
    """Keras 3 writes none (and rejects one on load); the shape still reaches Sequential."""
    layer = Dense(3, input_shape=(4,))
    assert "batch_input_shape" not in layer.get_config(), "Keras 3 configs have no batch_input_shape"
    assert layer._batch_input_shape == (None, 4), "input_shape was lost"


def test_unknown_keyword_is_rejected():
    with pytest.raises(TypeError, match="unrecognized keyword argument 'unitz'"):
        Dense(3, unitz=4)


# -- the signature-driven config ---------------------------------------------------------------------------

class Scaled(Layer):
    """A user layer stating its arguments once, in its signature."""

    def __init__(self, factor, offset=0.5, tags=("a",), **kwargs):
        super().__init__(**kwargs)
        self.factor = float(factor)  # an attribute with the argument's name is what gets serialized
        self.offset = offset
        self.tags = tags

    def call(self, inputs, training=False):
        return inputs * self.factor + self.offset


def test_config_comes_from_the_signature():
    layer = Scaled(2, name="s")
    config = layer.get_config()
    assert config == {"name": "s", "trainable": True, "dtype": POLICY, "factor": 2.0, "offset": 0.5,
                      "tags": ["a"]}, f"unexpected config {config}"
    revived = Scaled.from_config(json.loads(json.dumps(config)))
    assert revived.get_config() == json.loads(json.dumps(config)), "round trip changed the config"


def test_activity_regularizer_appears_only_when_set():
    assert "activity_regularizer" not in Dense(2).get_config(), "Keras omits a None activity_regularizer"
    config = Dense(2, activity_regularizer="l2").get_config()
    assert config["activity_regularizer"]["class_name"] == "L2", f"got {config.get('activity_regularizer')}"
    assert list(config)[:4] == ["name", "trainable", "dtype", "activity_regularizer"], \
        f"Keras's base keys come first, in its order: {list(config)[:4]}"


# -- activity regularization ------------------------------------------------------------------------------

def test_activity_penalty_is_divided_by_batch_size():
    x = np.arange(12, dtype=np.float32).reshape(4, 3) - 5
    layer = ActivityRegularization(l1=0.1, l2=0.2)
    layer(Tensor(x))
    expected = (0.1 * np.abs(x).sum() + 0.2 * (x ** 2).sum()) / 4
    assert len(layer.losses) == 1, f"{len(layer.losses)} losses after one call"
    np.testing.assert_allclose(float(layer.losses[0].data), expected, rtol=1e-6,
                               err_msg="activity penalty should be divided by the batch size (Keras >= 3.14)")


def test_activity_penalty_of_empty_batch_is_zero():
    layer = ActivityRegularization(l1=1.0)
    layer(Tensor(np.zeros((0, 3), np.float32)))
    assert float(layer.losses[0].data) == 0.0, "a batch of 0 should add 0 (divide_no_nan)"


class TwoOutputs(Layer):
    def call(self, inputs, training=False):
        return [inputs, inputs[:1] * 2.0]

    def compute_output_shape(self, input_shape):
        return [input_shape, input_shape]


def test_activity_penalty_covers_every_output():
    x = np.ones((4, 2), np.float32)
    layer = TwoOutputs(activity_regularizer="l1")
    layer(Tensor(x))
    values = sorted(float(v.data) for v in layer.losses)
    # l1 = 0.01: output 0 has sum 8 over batch 4; output 1 has sum 4 over batch 1
    np.testing.assert_allclose(values, [0.02, 0.04], rtol=1e-6, err_msg="per-output activity penalties")


def test_activity_losses_clear():
    layer = Dense(2, activity_regularizer="l2")
    layer(Tensor(np.ones((3, 2), np.float32)))
    layer(Tensor(np.ones((3, 2), np.float32)))
    assert len(layer.losses) == 1, "as in Keras, each outermost call starts with no losses"
    layer.clear_activity_losses()
    assert layer.losses == [], f"losses after clear: {layer.losses}"


# -- masks, probing, names, weights ---------------------------------------------------------------------

def test_masks_pass_through_or_drop_by_support_flag():
    x = Tensor(np.ones((2, 3, 4), np.float32))
    x.keras_mask = np.array([[True, False, True], [True, True, False]])
    assert Dense(2)(x).keras_mask is x.keras_mask, "Dense supports masking: the mask passes through"
    assert Dropout(0.5)(x).keras_mask is x.keras_mask, "Dropout supports masking"
    assert Flatten()(x).keras_mask is None, "Flatten drops the mask"


class MaskUser(Layer):
    supports_masking = True

    def call(self, inputs, training=False, mask=None):
        self.seen = mask
        return inputs


def test_call_with_mask_parameter_receives_the_mask():
    x = Tensor(np.ones((2, 3, 1), np.float32))
    x.keras_mask = np.array([[True, False, True], [True, True, False]])
    layer = MaskUser()
    layer(x)
    assert layer.seen is x.keras_mask, "call(mask=...) did not receive the input's mask"


class LogLayer(Layer):
    def call(self, inputs, training=False):
        return ops.log(inputs)


def test_default_output_shape_probe_is_quiet():
    """The zeros probe of compute_output_shape must not raise numpy warnings (filterwarnings=error)."""
    assert LogLayer().compute_output_shape((None, 3, 2)) == (None, 3, 2), "probe shape"


def test_default_names_count_up_and_reset():
    clear_session()
    names = [Dense(1).name, Dense(1).name, Flatten().name]
    assert names == ["dense", "dense_1", "flatten"], f"default names {names}"
    clear_session()
    assert Dense(1).name == "dense", "clear_session() did not reset the names"


def test_weights_order_and_set_weights_count():
    layer = Dense(3)
    layer.ensure_built((None, 2))
    assert [w.name for w in layer.weights] == ["kernel", "bias"], "Keras's weight order"
    assert layer.kernel.path == f"{layer.name}/kernel", f"weight path {layer.kernel.path}"
    with pytest.raises(ValueError, match="expects 2 weights, got 1"):
        layer.set_weights([np.zeros((2, 3), np.float32)])
    layer.set_trainable(False)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2, "frozen layer weights"


@pytest.mark.parametrize("value, expected", [(None, "channels_last"), ("channels_last", "channels_last"),
                                             ("Channels_First", "channels_first")],
                         ids=["default", "last", "case-insensitive"])
def test_standardize_data_format(value, expected):
    assert standardize_data_format(value) == expected, f"{value!r} -> {standardize_data_format(value)!r}"


def test_standardize_data_format_rejects_others():
    with pytest.raises(ValueError, match="data_format"):
        standardize_data_format("nhwc")


# -- the harness itself catches broken layers ---------------------------------------------------------------

class LyingShape(Layer):
    def call(self, inputs, training=False):
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (1,)


class ForgetfulConfig(Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor * 2  # serialized in place of the argument: the round trip doubles it

    def call(self, inputs, training=False):
        return inputs * self.factor


class DeadWeight(Layer):
    def build(self, input_shape):
        self.unused = self.add_weight("unused", (input_shape[-1],))

    def call(self, inputs, training=False):
        return inputs * 1.0


class ZeroGradient(Layer):
    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],))

    def call(self, inputs, training=False):
        return inputs + self.w * 0.0


class BatchMixer(Layer):
    def call(self, inputs, training=False):
        return inputs - ops.mean(inputs, axis=0, keepdims=True)


@pytest.mark.parametrize("cls, message", [
    (LyingShape, "compute_output_shape"),
    (ForgetfulConfig, "changed the config"),
    (DeadWeight, "get no gradient|did not move"),
    (ZeroGradient, "did not move"),
    (BatchMixer, "sample 0 alone"),
], ids=["wrong-output-shape", "config-round-trip", "weight-without-gradient", "weight-not-moving",
        "batch-dependence"])
def test_run_layer_test_catches_broken_layers(cls, message):
    from kspec.testing import run_layer_test
    with pytest.raises(AssertionError, match=message):
        run_layer_test(cls, {}, (3, 4))


def test_run_layer_test_checks_expectations():
    from kspec.testing import run_layer_test
    with pytest.raises(AssertionError, match="output shape"):
        run_layer_test(Dense, {"units": 2}, (3, 4), expected_output_shape=(3, 3))
    with pytest.raises(AssertionError, match="trainable weights"):
        run_layer_test(Dense, {"units": 2}, (3, 4), expected_num_trainable_weights=1)
    with pytest.raises(AssertionError, match="supports_masking"):
        run_layer_test(Flatten, {}, (3, 4), supports_masking=True)
