"""kspec's side of the CNN benchmark: the mnist_convnet network on Fashion-MNIST, same work as zoo_torch.py cnn.

Conv2D 32 3x3 relu, MaxPool 2, Conv2D 64 3x3 relu, MaxPool 2, Flatten, Dropout 0.5, Dense 10 softmax; Adam
(lr 1e-3), batch 128, trained on the first 54,000 images (what validation_split 0.1 leaves) with no
validation pass. Prints lines in the peers' format: ``epoch N train_s SECONDS test_acc ACC``.
Usage: python cnn_kspec.py [EPOCHS]
"""
import sys
import time

import numpy as np

from kspec import backend
from kspec.data.datasets import load_dataset
from kspec.layers import Conv2D, Dense, Dropout, Flatten, InputLayer, MaxPooling2D
from kspec.models import Callback, Sequential
from kspec.optimizers import Adam


class EpochTimer(Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.start
        start = time.perf_counter()
        acc = (self.model.predict(xt, batch_size=500, verbose=0).argmax(1) == yt).mean()
        print(f"epoch {epoch + 1} train_s {seconds:.3f} test_acc {acc:.4f} eval_s {time.perf_counter() - start:.3f}",
              flush=True)


epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
backend.set_seed(0)
x, y = load_dataset("fashion_mnist", "train")
xt, yt = load_dataset("fashion_mnist", "test")
x = (x.reshape(-1, 28, 28, 1) / np.float32(255)).astype(np.float32)
xt = (xt.reshape(-1, 28, 28, 1) / np.float32(255)).astype(np.float32)
n = int(len(x) * 0.9)
x_train, y_train = x[:n], np.eye(10, dtype=np.float32)[y[:n]]
model = Sequential([InputLayer(shape=(28, 28, 1)), Conv2D(32, 3, activation="relu"), MaxPooling2D(2),
                    Conv2D(64, 3, activation="relu"), MaxPooling2D(2), Flatten(), Dropout(0.5),
                    Dense(10, activation="softmax")])
model.compile(optimizer=Adam(learning_rate=1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=128, epochs=epochs, shuffle=True, verbose=0, callbacks=[EpochTimer()])
