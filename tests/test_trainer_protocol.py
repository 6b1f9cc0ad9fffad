"""Keras 3's trainer protocol: train_step/test_step/predict_step(data) and the logs they return,
compute_loss, the metrics property, and fit/evaluate/predict on generators and PyDataset-like objects."""
import numpy as np
import pytest

import kspec as keras
from kspec import ops
from kspec.models.callbacks import Callback

RS = np.random.RandomState(0)
X = RS.random_sample((50, 6)).astype(np.float32)
Y = RS.random_sample((50, 1)).astype(np.float32)


def _layers():
    return [keras.layers.InputLayer(shape=(6,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)]


def _model(cls=keras.Sequential, weights=None, **compile_kwargs):
    keras.utils.set_random_seed(3)
    model = cls(_layers())
    if weights is not None:
        model.set_weights(weights)
    compile_kwargs.setdefault("loss", "mse")
    model.compile(optimizer=compile_kwargs.pop("optimizer", "adam"), **compile_kwargs)
    return model


class GuideModel(keras.Sequential):
    """The Keras guide's standard custom train_step, with kspec.GradientTape standing in for TF's."""

    def train_step(self, data):
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


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.batch_logs, self.epoch_logs = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.batch_logs.append(dict(logs))

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_logs.append(dict(logs))


def test_guide_train_step_gives_builtin_weights_and_real_logs():
    builtin = _model(metrics=["mae"])
    custom = _model(GuideModel, weights=builtin.get_weights(), metrics=["mae"])
    rec = Recorder()
    h_custom = custom.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[rec])
    h_builtin = builtin.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    for a, b in zip(custom.get_weights(), builtin.get_weights()):
        np.testing.assert_array_equal(a, b, err_msg="the tape step must train exactly as the built-in step")
    assert set(h_custom.history) == {"loss", "mae"}
    assert h_custom.history["mae"] == h_builtin.history["mae"]
    # The guide's loss tracker is updated without a sample weight: a plain mean of the 7 batch losses.
    assert all(v > 0 for v in h_custom.history["loss"])
    assert rec.batch_logs[0].keys() == {"loss", "mae"} and len(rec.batch_logs) == 21
    assert rec.epoch_logs[-1]["mae"] == pytest.approx(h_custom.history["mae"][-1])


class LowLevelModel(keras.Sequential):
    """The guide's lower-level recipe: own loss, own trackers listed by the metrics property."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
        self.loss_fn = keras.losses.MeanSquaredError()
        self.batch_losses = []

    def train_step(self, data):
        x, y = data
        with keras.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.loss_fn(y, y_pred)
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        self.batch_losses.append(float(loss))
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae_metric]


def test_lower_level_recipe_gives_real_numbers_and_resets_its_trackers_each_epoch():
    keras.utils.set_random_seed(3)
    model = LowLevelModel(_layers())
    model.compile(optimizer="adam")
    history = model.fit(X, Y, batch_size=10, epochs=2, shuffle=False, verbose=0)
    losses = history.history["loss"]
    assert losses[0] > 0 and losses != [0.0, 0.0]
    # Reset each epoch: epoch 2's value is the mean of epoch 2's five batch losses only.
    assert losses[1] == pytest.approx(np.mean(model.batch_losses[5:]), rel=1e-6)
    assert model.metrics_names == ["loss", "mae"]


def test_custom_test_step_and_predict_step():
    class Custom(keras.Sequential):
        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            return {"total": ops.sum(ops.abs(y_pred - y))}

        def predict_step(self, data):
            return {"doubled": self(data, training=False) * 2.0}

    model = _model(Custom)
    plain = _model()
    result = model.evaluate(X, Y, batch_size=50, verbose=0, return_dict=True)
    assert set(result) == {"total"}
    assert result["total"] == pytest.approx(float(np.abs(plain.predict(X, verbose=0) - Y).sum()), rel=1e-5)
    out = model.predict(X, batch_size=16, verbose=0)
    np.testing.assert_allclose(out["doubled"], 2 * plain.predict(X, verbose=0), rtol=1e-6)


def test_compute_loss_override_and_sample_weight_reach_the_builtin_step():
    calls = []

    class Weighted(keras.Sequential):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            calls.append((x.shape, sample_weight is not None, training))
            return super().compute_loss(x, y, y_pred, sample_weight) * 2.0

    model = _model(Weighted)
    sw = np.linspace(0.5, 1.5, 50).astype(np.float32)
    model.fit(X, Y, sample_weight=sw, batch_size=25, epochs=1, verbose=0)
    model.evaluate(X, Y, verbose=0)
    assert calls[:2] == [((25, 6), True, True)] * 2 and calls[2][2] is False

    class NoTrainingArgument(keras.Sequential):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
            return super().compute_loss(x, y, y_pred, sample_weight)

    model = _model(NoTrainingArgument)
    model.fit(X, Y, epochs=1, verbose=0)
    assert model.evaluate(X, Y, verbose=0) > 0, "an override without `training` works (Keras checks)"


def test_train_step_is_called_with_keras_data_packing():
    seen = []

    class Spy(keras.Sequential):
        def train_step(self, data):
            seen.append(type(data).__name__ + str(len(data) if isinstance(data, tuple) else ""))
            return super().train_step(data)

    model = _model(Spy)
    model.fit(X, Y, batch_size=50, verbose=0)
    model.fit(X, Y, sample_weight=np.ones(50, np.float32), batch_size=50, verbose=0)
    assert seen == ["tuple2", "tuple3"]
    x, y, sw = keras.utils.unpack_x_y_sample_weight((X,))
    assert x is X and y is None and sw is None


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, sw=None):
        super().__init__()
        self.x, self.y, self.sw, self.batch_size = x, y, sw, batch_size
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        if self.sw is not None:
            return self.x[s], self.y[s], self.sw[s]
        return self.x[s], self.y[s]

    def on_epoch_end(self):
        self.epochs_ended += 1


def _generator(batch_size=10, repeat=True):
    while True:
        for i in range(0, 50, batch_size):
            yield X[i:i + batch_size], Y[i:i + batch_size]
        if not repeat:
            return


def test_pydataset_and_generator_train_like_arrays():
    ref = _model(metrics=["mae"])
    weights = ref.get_weights()
    ref_h = ref.fit(X, Y, batch_size=10, epochs=2, shuffle=False, verbose=0, validation_data=(X, Y))
    ds = Batches(X, Y, 10)
    by_ds = _model(weights=weights, metrics=["mae"])
    h = by_ds.fit(ds, epochs=2, shuffle=False, verbose=0, validation_data=Batches(X, Y, 25))
    by_gen = _model(weights=weights, metrics=["mae"])
    h_gen = by_gen.fit(_generator(), steps_per_epoch=5, epochs=2, verbose=0,
                       validation_data=_generator(25), validation_steps=2)
    for other in (by_ds, by_gen):
        for a, b in zip(other.get_weights(), ref.get_weights()):
            np.testing.assert_array_equal(a, b)
    for hist in (h, h_gen):
        assert hist.history.keys() == ref_h.history.keys()
        for key in ref_h.history:
            np.testing.assert_allclose(hist.history[key], ref_h.history[key], rtol=1e-6, err_msg=key)
    assert ds.epochs_ended >= 2, "on_epoch_end runs after every epoch"
    np.testing.assert_allclose(by_ds.evaluate(Batches(X, Y, 7), verbose=0), ref.evaluate(X, Y, verbose=0),
                               rtol=1e-6)
    np.testing.assert_allclose(by_ds.predict(Batches(X, Y, 16), verbose=0), ref.predict(X, verbose=0), rtol=1e-6)
    with pytest.warns(UserWarning, match="ran out of data"):  # Keras warns at a generator's end
        by_generator = by_ds.predict(_generator(16, repeat=False), verbose=0)
    np.testing.assert_allclose(by_generator, ref.predict(X, verbose=0), rtol=1e-6)


def test_pydataset_with_sample_weights_and_shuffled_batch_order():
    sw = np.linspace(0, 2, 50).astype(np.float32)
    ref = _model()
    weights = ref.get_weights()
    ref.fit(X, Y, sample_weight=sw, batch_size=10, shuffle=False, verbose=0)
    model = _model(weights=weights)
    model.fit(Batches(X, Y, 10, sw), shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    import random
    shuffled = _model(weights=weights)
    random.seed(4)
    order = []

    class Spy(Batches):
        def __getitem__(self, i):
            order.append(i)
            return super().__getitem__(i)

    shuffled.fit(Spy(X, Y, 10), epochs=1, verbose=0)
    random.seed(4)
    first = list(range(5))
    random.shuffle(first)  # Keras's build step takes one batch of a shuffled pass first
    second = list(range(5))
    random.shuffle(second)
    assert order == [first[0]] + second, f"batch order {order}"


def test_generator_without_steps_runs_one_pass_and_warns():
    model = _model()
    rec = Recorder()
    with pytest.warns(UserWarning, match="ran out of data"):
        model.fit(_generator(repeat=False), epochs=1, verbose=0, callbacks=[rec])
    assert len(rec.batch_logs) == 5


def test_bad_data_gets_a_clear_error():
    model = _model()
    with pytest.raises(TypeError, match="Unrecognized data type"):
        model.fit(object(), verbose=0)
    with pytest.raises(ValueError, match="not supported when using a generator"):
        model.fit(_generator(), Y, steps_per_epoch=1, verbose=0)
    with pytest.raises(ValueError, match="must return a tuple"):
        model.fit((x for x in [X]), steps_per_epoch=1, verbose=0)
    no_loss = keras.Sequential(_layers())
    no_loss.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="No loss to compute"):
        no_loss.fit(X, Y, verbose=0)


def test_train_on_batch_uses_the_custom_step():
    model = _model(GuideModel, metrics=["mae"])
    logs = model.train_on_batch(X, Y, return_dict=True)
    assert set(logs) == {"loss", "mae"} and logs["loss"] > 0
    loss, mae = model.train_on_batch(X, Y)
    assert loss > 0 and mae > 0


def test_a_plain_sequence_like_object_works_without_subclassing():
    class Plain:  # only __len__ and __getitem__, as a keras.utils.Sequence user would write it
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return X[i * 10:(i + 1) * 10], Y[i * 10:(i + 1) * 10]

    ref = _model()
    weights = ref.get_weights()
    ref.fit(X, Y, batch_size=10, epochs=2, shuffle=False, verbose=0)
    model = _model(weights=weights)
    model.fit(Plain(), epochs=2, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert keras.utils.Sequence is keras.utils.PyDataset
