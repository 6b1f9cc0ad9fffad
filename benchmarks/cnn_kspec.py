"""kspec's side of the CNN benchmark: the mnist_convnet network on Fashion-MNIST, same work as zoo_torch.py cnn.

Conv2D 32 3x3 relu, MaxPool 2, Conv2D 64 3x3 relu, MaxPool 2, Flatten, Dropout 0.5, Dense 10 softmax; Adam
(lr 1e-3), batch 128, trained on the first 54,000 images (what validation_split 0.1 leaves) with no
validation pass. Prints lines in the peers' format: ``epoch N train_s SECONDS test_acc ACC``.
Usage: python cnn_kspec.py [EPOCHS]
"""
import sys

import numpy as np

from _kspec_side import EpochTimer, fashion_mnist
from kspec import backend
from kspec.layers import Conv2D, Dense, Dropout, Flatten, InputLayer, MaxPooling2D
from kspec.models import Sequential
from kspec.optimizers import Adam

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
backend.set_seed(0)
x, y, xt, yt = fashion_mnist((28, 28, 1))
n = int(len(x) * 0.9)
x_train, y_train = x[:n], np.eye(10, dtype=np.float32)[y[:n]]
model = Sequential([InputLayer(shape=(28, 28, 1)), Conv2D(32, 3, activation="relu"), MaxPooling2D(2),
                    Conv2D(64, 3, activation="relu"), MaxPooling2D(2), Flatten(), Dropout(0.5),
                    Dense(10, activation="softmax")])
model.compile(optimizer=Adam(learning_rate=1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=128, epochs=epochs, shuffle=True, verbose=0,
          callbacks=[EpochTimer(xt, yt, batch_size=500)])
