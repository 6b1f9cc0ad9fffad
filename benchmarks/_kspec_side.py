"""What kspec's side of each benchmark shares: Fashion-MNIST in float32 and an epoch timer that prints
lines in the peers' format (``epoch N train_s SECONDS test_acc ACC eval_s SECONDS``)."""
import time

import numpy as np

from kspec.data.datasets import load_dataset
from kspec.models import Callback


def fashion_mnist(sample_shape):
    """(x_train, y_train, x_test, y_test): images scaled to [0, 1] float32 of ``sample_shape``, uint8 labels."""
    x, y = load_dataset("fashion_mnist", "train")
    xt, yt = load_dataset("fashion_mnist", "test")
    x = x.reshape((-1,) + tuple(sample_shape)) / np.float32(255)
    xt = xt.reshape((-1,) + tuple(sample_shape)) / np.float32(255)
    return x, y, xt, yt


class EpochTimer(Callback):
    """Times each epoch's training, then the test accuracy (timed apart as eval_s)."""

    def __init__(self, x_test, y_test, batch_size):
        self.x_test, self.y_test, self.batch_size = x_test, y_test, batch_size

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.start
        start = time.perf_counter()
        acc = (self.model.predict(self.x_test, batch_size=self.batch_size, verbose=0).argmax(1) == self.y_test).mean()
        print(f"epoch {epoch + 1} train_s {seconds:.3f} test_acc {acc:.4f} eval_s {time.perf_counter() - start:.3f}",
              flush=True)
