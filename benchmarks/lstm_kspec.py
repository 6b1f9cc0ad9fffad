"""kspec's side of the LSTM benchmark: Fashion-MNIST images read as 28-step sequences, same work as
``zoo_torch.py lstm`` / ``zoo_keras.py lstm``.

LSTM(128) over the 28 rows of 28 pixels, Dense 10 softmax, Adam (lr 1e-3), sparse categorical crossentropy,
batch 128, trained on the first 54,000 images (what validation_split 0.1 leaves) with no validation pass.
Prints lines in the peers' format: ``epoch N train_s SECONDS test_acc ACC eval_s SECONDS``.
Usage: python lstm_kspec.py [EPOCHS]
"""
import sys

import numpy as np

from _kspec_side import EpochTimer, fashion_mnist
from kspec import backend
from kspec.layers import LSTM, Dense, InputLayer
from kspec.models import Sequential
from kspec.optimizers import Adam

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
backend.set_seed(0)
x, y, xt, yt = fashion_mnist((28, 28))
n = int(len(x) * 0.9)
x_train, y_train = x[:n], y[:n].astype(np.int64)
model = Sequential([InputLayer(shape=(28, 28)), LSTM(128), Dense(10, activation="softmax")])
model.compile(optimizer=Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=128, epochs=epochs, shuffle=True, verbose=0,
          callbacks=[EpochTimer(xt, yt, batch_size=500)])
