"""Shared pieces of the model-floor tests: the golden fixtures of tools/make_golden_models.py, the MLP they
were made with, and the fake clock that replays progress output."""
import json
import os
import time

import numpy as np

from kspec.layers import Dense, Dropout, InputLayer, clear_session
from kspec.models import Callback, Sequential
from kspec.optimizers import SGD
from kspec.regularizers import L2

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def load(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return json.load(f)


def arrays(data):
    """The fixture's data as float32 arrays (the weights as a list of arrays)."""
    out = {k: np.asarray(v, dtype=np.float32) for k, v in data.items() if k != "weights"}
    out["weights"] = [np.asarray(w, dtype=np.float32) for w in data["weights"]]
    return out


def mlp(weights, metrics=None, weighted_metrics=None, l2=0.01, dropout=None):
    """Dense(5, tanh, L2 kernel penalty) -> [Dropout] -> Dense(3, softmax), SGD(0.1, momentum 0.9), CCE."""
    clear_session()
    layers = [InputLayer(shape=(4,)), Dense(5, activation="tanh", kernel_regularizer=L2(l2) if l2 else None)]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(3, activation="softmax"))
    model = Sequential(layers)
    if weights is not None:
        model.set_weights(weights)
    model.compile(SGD(0.1, momentum=0.9), "categorical_crossentropy", metrics=metrics,
                  weighted_metrics=weighted_metrics)
    return model


class FakeClock:
    """Stands in for ``time.perf_counter``; starts at 1000 s like the generator's clock."""

    def __init__(self, start=1000.0):
        self.t = start

    def __call__(self):
        return self.t

    def install(self, monkeypatch):
        monkeypatch.setattr(time, "perf_counter", self)
        return self


class Tick(Callback):
    """Advances the fake clock by the next scripted delta at each batch start (as in the generator)."""

    def __init__(self, clock, deltas):
        super().__init__()
        self.clock, self.deltas, self.i = clock, list(deltas), 0

    def _tick(self):
        self.clock.t += self.deltas[self.i % len(self.deltas)]
        self.i += 1

    def on_train_batch_begin(self, batch, logs=None):
        self._tick()

    def on_test_batch_begin(self, batch, logs=None):
        self._tick()

    def on_predict_batch_begin(self, batch, logs=None):
        self._tick()
