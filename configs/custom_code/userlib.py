"""Your own code, named from a spec as module:Name (configs/custom_code/iris_custom.yaml).

kspec imports this module only when told to: kspec train configs/custom_code/iris_custom.yaml --allow-code.
Each object is written against kspec's Keras API, as it would be against Keras.
"""
import numpy as np

import kspec as keras

from kspec.engine import ops
from kspec.layers import Layer
from kspec.models.callbacks import Callback
from kspec.optimizers.schedules import LearningRateSchedule


class Scale(Layer):
    """A learned per-feature gain times a fixed ``factor``: ``y = x * gain * factor``."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.gain = self.add_weight(name="gain", shape=(input_shape[-1],), initializer="ones")

    def call(self, inputs, training=False):
        return inputs * self.gain * self.factor

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def smooth_ce(y_true, y_pred):
    """Categorical crossentropy against labels smoothed by 0.1 (a loss function: one value per sample)."""
    classes = y_true.shape[-1]
    target = y_true * 0.9 + 0.1 / classes
    return -ops.sum(target * ops.log(ops.clip(y_pred, 1e-7, 1.0)), axis=-1)


def mean_top(y_true, y_pred):
    """The probability given to the predicted class (a metric function on arrays: one value per sample)."""
    return np.max(np.asarray(y_pred), axis=-1)


class EpochMarker(Callback):
    """Appends ``epoch N loss L`` to ``filename`` at the end of every epoch."""

    def __init__(self, filename="marks.txt"):
        super().__init__()
        self.filename = filename

    def on_epoch_end(self, epoch, logs=None):
        with open(self.filename, "a") as handle:
            handle.write(f"epoch {epoch + 1} loss {logs['loss']:.4f}\n")


def swish(x):
    """An activation of yours: x * sigmoid(x)."""
    return x * ops.sigmoid(x)


def small_uniform(shape, dtype=None):
    """An initializer function of yours: uniform in [-0.05, 0.05], from a fixed seed."""
    return np.random.RandomState(0).uniform(-0.05, 0.05, size=shape).astype(dtype or "float32")


def tiny_l2(weights):
    """A regularizer function of yours: 1e-4 times the sum of squares."""
    return 1e-4 * ops.sum(ops.square(weights))


def clip_unit(weights):
    """A constraint function of yours: weights clipped to [-1, 1] after each update (an array in, out)."""
    return np.clip(weights, -1.0, 1.0)


class HalvingSchedule(LearningRateSchedule):
    """A learning-rate schedule of yours: halves the rate every ``every`` steps."""

    def __init__(self, initial_learning_rate=0.01, every=100):
        self.initial_learning_rate, self.every = initial_learning_rate, every

    def __call__(self, step):
        return self.initial_learning_rate * 0.5 ** (step // self.every)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "every": self.every}



class CountingModel(keras.Sequential):
    """A Sequential model with its own train_step, written as Keras's "customizing fit" guide writes it,
    that also counts its batches; ``model.class: userlib:CountingModel`` builds a spec's layers as one."""

    def __init__(self, layers=None, name=None, **kwargs):
        super().__init__(layers, name=name, **kwargs)
        self.batches_seen = 0

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with keras.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply(grads, self.trainable_weights)
        self.batches_seen += 1
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {**{m.name: m.result() for m in self.metrics}, "batches_seen": float(self.batches_seen)}
