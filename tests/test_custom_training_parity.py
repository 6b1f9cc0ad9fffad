"""Custom training against Keras 3's built-in fit (fixtures from tools/make_golden_custom_training.py):
from the same initial weights, kspec's built-in fit, the Keras guide's custom ``train_step`` with
``kspec.GradientTape``, and a hand-written loop with ``GradientTape`` + ``optimizer.apply_gradients`` all end
at Keras's trained weights (float32 rounding)."""
import json
import os

import numpy as np
import pytest

import kspec as keras

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
with open(os.path.join(FIXTURES, "custom_training_golden.json")) as f:
    GOLDEN = json.load(f)["cases"]
ARRAYS = np.load(os.path.join(FIXTURES, "custom_training_golden.npz"))


def _obj(module, spec):
    name, kwargs = (spec, {}) if isinstance(spec, str) else spec
    return getattr(module, name)(**kwargs)


def _case(key):
    case = GOLDEN[key]
    x, y = ARRAYS[f"{key}/x"], ARRAYS[f"{key}/y"]
    initial = [ARRAYS[f"{key}/initial_{i}"] for i in range(case["weights"])]
    trained = [ARRAYS[f"{key}/trained_{i}"] for i in range(case["weights"])]
    return case, x, y, initial, trained


def _model(case, initial, cls=keras.Sequential):
    if issubclass(cls, keras.Sequential):
        layers = [keras.layers.InputLayer(shape=(case["features"],))]
        model = cls(layers + [_obj(keras.layers, spec) for spec in case["layers"]])
    else:  # a Model subclass built as Model(inputs, outputs), as the guide builds it
        inputs = keras.Input(shape=(case["features"],))
        outputs = inputs
        for spec in case["layers"]:
            outputs = _obj(keras.layers, spec)(outputs)
        model = cls(inputs, outputs)
    model.set_weights(initial)
    return model


class GuideStep(keras.Sequential):
    def train_step(self, data):
        return guide_train_step(self, data)


class GuideFunctional(keras.Model):
    def train_step(self, data):
        return guide_train_step(self, data)


def guide_train_step(self, data):
    """The Keras guide's standard custom train_step (``tf.GradientTape`` -> ``keras.GradientTape``)."""
    x, y = data
    with keras.GradientTape() as tape:
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
    trainable_vars = self.trainable_weights
    gradients = tape.gradient(loss, trainable_vars)
    self.optimizer.apply(gradients, trainable_vars)
    for metric in self.metrics:
        if metric.name == "loss":
            metric.update_state(loss)
        else:
            metric.update_state(y, y_pred)
    return {m.name: m.result() for m in self.metrics}


def _assert_weights(got, want, route):
    for i, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-6, err_msg=f"{route}: weight {i}")


@pytest.mark.parametrize("key", sorted(GOLDEN))
@pytest.mark.parametrize("cls", [keras.Sequential, GuideStep, GuideFunctional],
                         ids=["builtin", "guide_train_step", "guide_train_step_functional"])
def test_fit_matches_keras_builtin_fit(key, cls):
    case, x, y, initial, trained = _case(key)
    model = _model(case, initial, cls)
    model.compile(optimizer=_obj(keras.optimizers, case["optimizer"]), loss=_obj(keras.losses, case["loss"]),
                  metrics=list(case["metrics"]))
    history = model.fit(x, y, shuffle=False, verbose=0, **case["fit"])
    _assert_weights(model.get_weights(), trained, cls.__name__)
    for name in case["metrics"]:
        np.testing.assert_allclose(history.history[name], case["history"][name], rtol=1e-5, err_msg=name)
    if cls is keras.Sequential:
        np.testing.assert_allclose(history.history["loss"], case["history"]["loss"], rtol=1e-5)


@pytest.mark.parametrize("key", sorted(GOLDEN))
def test_hand_written_loop_matches_keras_builtin_fit(key):
    """The "training loop from scratch" guide's loop: batches in order, GradientTape, apply_gradients."""
    case, x, y, initial, trained = _case(key)
    model = _model(case, initial)
    optimizer = _obj(keras.optimizers, case["optimizer"])
    loss_fn = _obj(keras.losses, case["loss"])
    batch_size = case["fit"]["batch_size"]
    for _ in range(case["fit"]["epochs"]):
        for start in range(0, len(x), batch_size):
            x_batch, y_batch = x[start:start + batch_size], y[start:start + batch_size]
            with keras.GradientTape() as tape:
                logits = model(x_batch, training=True)
                loss_value = loss_fn(y_batch, logits)
            grads = tape.gradient(loss_value, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
    _assert_weights(model.get_weights(), trained, "hand-written loop")


with open(os.path.join(FIXTURES, "custom_training_golden.json")) as f:
    SOURCES = json.load(f)["sources"]


def _source_model(key):
    model = keras.Sequential([keras.layers.InputLayer(shape=(6,)), keras.layers.Dense(1)])
    model.set_weights([ARRAYS[f"sources/{key}/initial_{i}"] for i in range(2)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse", metrics=["mae"])
    return model


@pytest.mark.parametrize("key", sorted(SOURCES))
def test_generators_and_pydatasets_match_keras(key):
    """Keras's rules for batch sources: a generator without steps runs until exhausted and then replays the
    two batches it peeked at; a validation generator is shared across epochs; a PyDataset is read in an order
    shuffled with Python's random, after the one batch the build step takes."""
    import random
    import warnings

    x, y = ARRAYS["sources/x"], ARRAYS["sources/y"]
    read = []

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            read.append(i)
            return x[i * 10:(i + 1) * 10], y[i * 10:(i + 1) * 10]

    def finite():
        for i in range(5):
            yield x[i * 10:(i + 1) * 10], y[i * 10:(i + 1) * 10]

    def endless():
        i = 0
        while True:
            yield x[(i % 5) * 10:(i % 5 + 1) * 10], y[(i % 5) * 10:(i % 5 + 1) * 10]
            i += 1

    model = _source_model(key)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Your input ran out of data")
        if key == "generator_no_steps":
            history = model.fit(finite(), epochs=2, verbose=0)
        elif key == "generator_steps":
            history = model.fit(endless(), steps_per_epoch=3, epochs=2, verbose=0, validation_data=finite())
        else:
            random.seed(4)
            history = model.fit(Batches(), epochs=2, verbose=0, validation_data=Batches())
        evaluated = model.evaluate(finite(), verbose=0)
    want = SOURCES[key]
    assert read == want["read"], "PyDataset batches are read in Keras's order"
    assert history.history.keys() == want["history"].keys()
    for name, values in want["history"].items():
        np.testing.assert_allclose(history.history[name], values, rtol=1e-5, err_msg=name)
    _assert_weights(model.get_weights(), [ARRAYS[f"sources/{key}/trained_{i}"] for i in range(2)], key)
    np.testing.assert_allclose(evaluated, want["evaluate"], rtol=1e-5)
