"""kspec's side of the MLP benchmark: the seed MLP on Fashion-MNIST, same work as mlp_numpy_floor.py.

784-500-500-10, tanh, Dropout 0.5, softmax, SGD(lr 0.01, momentum 0.9, nesterov), batch 200, trained on
the first 42,000 images (what validation_split 0.3 leaves) with no validation pass. Prints lines in the
peers' format: ``epoch N train_s SECONDS test_acc ACC``.
Usage: python mlp_kspec.py [EPOCHS]
"""
import sys

import numpy as np

from _kspec_side import EpochTimer, fashion_mnist
from kspec import backend
from kspec.layers import Dense, Dropout, InputLayer
from kspec.models import Sequential
from kspec.optimizers import SGD

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
backend.set_seed(0)
x, y, xt, yt = fashion_mnist((784,))
n = int(len(x) * 0.7)
x_train, y_train = x[:n], np.eye(10, dtype=np.float32)[y[:n]]
model = Sequential([InputLayer(shape=(784,)), Dense(500, activation="tanh"), Dropout(0.5),
                    Dense(500, activation="tanh"), Dropout(0.5), Dense(10, activation="softmax")])
model.compile(optimizer=SGD(learning_rate=0.01, momentum=0.9, nesterov=True), loss="categorical_crossentropy",
              metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=200, epochs=epochs, shuffle=True, verbose=0,
          callbacks=[EpochTimer(xt, yt, batch_size=10000)])
