"""kspec's side of the MLP benchmark: the seed MLP on Fashion-MNIST, same work as mlp_numpy_floor.py.

784-500-500-10, tanh, Dropout 0.5, softmax, SGD(lr 0.01, momentum 0.9, nesterov), batch 200, trained on
the first 42,000 images (what validation_split 0.3 leaves) with no validation pass. Prints lines in the
peers' format: ``epoch N train_s SECONDS test_acc ACC``.
Usage: python mlp_kspec.py [EPOCHS]
"""
import sys
import time

import numpy as np

from kspec import backend
from kspec.data.datasets import load_dataset
from kspec.layers import Dense, Dropout, InputLayer
from kspec.models import Callback, Sequential
from kspec.optimizers import SGD


class EpochTimer(Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.start
        acc = (self.model.predict(xt, batch_size=10000, verbose=0).argmax(1) == yt).mean()
        print(f"epoch {epoch + 1} train_s {seconds:.3f} test_acc {acc:.4f}", flush=True)


epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
backend.set_seed(0)
x, y = load_dataset("fashion_mnist", "train")
xt, yt = load_dataset("fashion_mnist", "test")
x = x.reshape(-1, 784) / np.float32(255)
xt = xt.reshape(-1, 784) / np.float32(255)
n = int(len(x) * 0.7)
x_train, y_train = x[:n], np.eye(10, dtype=np.float32)[y[:n]]
model = Sequential([InputLayer(shape=(784,)), Dense(500, activation="tanh"), Dropout(0.5),
                    Dense(500, activation="tanh"), Dropout(0.5), Dense(10, activation="softmax")])
model.compile(optimizer=SGD(learning_rate=0.01, momentum=0.9, nesterov=True), loss="categorical_crossentropy",
              metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=200, epochs=epochs, shuffle=True, verbose=0, callbacks=[EpochTimer()])
