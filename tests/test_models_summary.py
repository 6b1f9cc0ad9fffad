"""model.summary() against Keras 3.15.1's tables (tests/fixtures/models_summary.json, written by
tools/make_golden_models.py), byte for byte."""
import io
import json
import os

import numpy as np
import pytest

from kspec import backend
from kspec.layers import Dense, Dropout, InputLayer, clear_session
from kspec.models import Sequential
from kspec.models.summary import format_summary, readable_memory_size
from kspec.optimizers import SGD

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "models_summary.json")


@pytest.fixture(scope="module")
def golden():
    with open(FIXTURE, encoding="utf-8") as f:
        return json.load(f)


def _mlp():
    clear_session()
    return Sequential([InputLayer(shape=(8,)), Dense(16, activation="relu"), Dense(3, activation="softmax")])


def _dropout():
    clear_session()
    return Sequential([InputLayer(shape=(4,)), Dense(4, name="hidden"), Dropout(0.5), Dense(3)],
                      name="with_dropout")


def _long_names():
    return Sequential([InputLayer(shape=(5, 8)), Dense(6, name="a_rather_long_layer_name_that_wraps"),
                       Dense(6, name="x" * 45), Dense(2, name="spaced name with many words in it")],
                      name="long_names")


def _big_frozen():
    model = Sequential([InputLayer(shape=(784,)), Dense(1000, name="wide"), Dense(1000, name="wide_2"),
                        Dense(10, name="out")], name="big")
    model.layers[1].set_trainable(False)
    return model


def _trained(fit):
    model = Sequential([InputLayer(shape=(4,)), Dense(5, activation="tanh", name="h"),
                        Dense(3, activation="softmax", name="p")], name="trained")
    model.compile(SGD(0.1, momentum=0.9), "categorical_crossentropy")
    if fit:
        rs = np.random.RandomState(0)
        x = rs.rand(8, 4).astype("float32")
        y = np.eye(3, dtype="float32")[rs.randint(0, 3, 8)]
        model.fit(x, y, epochs=1, verbose=0)
    return model


def _plain_sgd():
    model = Sequential([InputLayer(shape=(4,)), Dense(2, name="d")], name="plain_sgd")
    model.compile(SGD(0.1), "mse")
    model.fit(np.ones((8, 4), "float32"), np.zeros((8, 2), "float32"), epochs=1, verbose=0)
    return model


CASES = [
    ("mlp", _mlp, {}),
    ("mlp_line_length_60", _mlp, {"line_length": 60}),
    ("mlp_line_length_120", _mlp, {"line_length": 120}),
    ("mlp_positions", _mlp, {"line_length": 70, "positions": [0.3, 0.7, 1.0]}),
    ("dropout", _dropout, {}),
    ("long_names", _long_names, {}),
    ("big_frozen", _big_frozen, {}),
    ("compiled_unbuilt_optimizer", lambda: _trained(False), {}),
    ("trained_sgd_momentum", lambda: _trained(True), {}),
    ("trained_sgd_plain", _plain_sgd, {}),
    ("unbuilt", lambda: Sequential([Dense(3, name="d")], name="unbuilt"), {}),
    ("show_trainable_range_120", _big_frozen, {"show_trainable": True, "layer_range": ["wide_2", "out"]}),
]


@pytest.mark.parametrize("case, build, kwargs", CASES, ids=[c[0] for c in CASES])
def test_summary_matches_keras(golden, monkeypatch, case, build, kwargs):
    """Non-TTY at 80 columns: the default table is 76 wide, wider tables are cropped at 80."""
    monkeypatch.setenv("COLUMNS", str(golden[case].get("columns", 80)))
    backend.set_seed(0)
    model = build()
    captured = []
    model.summary(print_fn=captured.append, **kwargs)
    assert len(captured) == 1, "print_fn must be called once with the whole text, as in Keras"
    expected = golden[case]["text"]
    assert captured[0] == expected, f"summary {case!r} differs from Keras:\n{captured[0]}\nexpected:\n{expected}"


def test_summary_writes_to_stream_and_format_summary_agrees(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    model = _mlp()
    stream = io.StringIO()
    model.summary(stream=stream)
    assert stream.getvalue() == format_summary(model), "summary(stream=) and format_summary differ"
    assert stream.getvalue().splitlines()[1].startswith("┏") and len(stream.getvalue().splitlines()[1]) == 76, \
        "default table width at 80 columns should be 76"


def test_summary_default_width_follows_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    lines = format_summary(_mlp()).splitlines()
    assert len(lines[1]) == 56, f"table width at 60 columns should be 56, got {len(lines[1])}"
    assert len(format_summary(_mlp(), columns=200).splitlines()[1]) == 88, "width is capped at 88"


def test_summary_layer_range_errors():
    with pytest.raises(ValueError, match="do not match"):
        format_summary(_mlp(), layer_range=["nope", "dense"], columns=80)
    with pytest.raises(ValueError, match="length 2"):
        format_summary(_mlp(), layer_range=["dense"], columns=80)


def test_summary_too_narrow_raises():
    with pytest.raises(ValueError, match="Insufficient console width"):
        format_summary(_mlp(), line_length=8, columns=80)


@pytest.mark.parametrize("size, text", [(0, "0.00 B"), (1023, "1023.00 B"), (1024, "1.00 KB"),
                                        (3 * 1024 ** 2 + 1, "3.00 MB"), (5 * 1024 ** 3, "5.00 GB")],
                         ids=["zero", "bytes", "kb", "mb", "gb"])
def test_readable_memory_size(size, text):
    assert readable_memory_size(size) == text, f"size {size} should read {text!r}"
