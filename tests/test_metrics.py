"""Metrics: results vs Keras 3 fixtures accumulated over several weighted batches, accuracy resolution
(reference §4), ``metrics.get`` naming, reset_state and float32 state.

Fixtures come from ``tools/make_golden_losses_metrics.py`` (Keras 3.15.1, JAX backend).
"""
import json
from pathlib import Path

import numpy as np
import pytest

from kspec import metrics

GOLDEN = json.loads((Path(__file__).parent / "fixtures" / "metrics_golden.json").read_text())
CASES = GOLDEN["cases"]
EXTRA_CONFIG = {"CosineSimilarity": {"axis"}}  # Keras drops axis; kspec keeps it so it round-trips


def _batches(case):
    for batch in case["batches"]:
        y = np.asarray(batch["y"])
        y = y.astype(np.float32) if y.dtype.kind == "f" else y
        sw = None if batch["sw"] is None else np.asarray(batch["sw"], np.float32)
        yield y, np.asarray(batch["p"], np.float32), sw


def _update(metric, case, y, p, sw):
    if case["class_name"] in ("Mean", "Sum"):
        metric.update_state(p, sample_weight=sw)
    else:
        metric.update_state(y, p, sample_weight=sw)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_metric_matches_keras(case):
    metric = getattr(metrics, case["class_name"])(**case["config"])
    for i, ((y, p, sw), expected) in enumerate(zip(_batches(case), case["results"])):
        _update(metric, case, y, p, sw)
        np.testing.assert_allclose(metric.result(), np.asarray(expected, np.float32), rtol=1e-5, atol=1e-6,
                                   err_msg=f"result after batch {i + 1}")


@pytest.mark.parametrize("case", CASES[::2], ids=[c["id"] for c in CASES[::2]])
def test_metric_config_matches_keras(case):
    metric = getattr(metrics, case["class_name"])(**case["config"])
    config = json.loads(json.dumps(metric.get_config()))
    extra = EXTRA_CONFIG.get(case["class_name"], set())
    assert {k: v for k, v in config.items() if k not in extra} == case["keras_config"], "get_config"
    assert type(metric).from_config(metric.get_config()).get_config() == metric.get_config(), "round trip"


ONE_PER_CLASS = list({c["class_name"]: c for c in CASES}.values())


@pytest.mark.parametrize("case", ONE_PER_CLASS, ids=[c["class_name"] for c in ONE_PER_CLASS])
def test_reset_state(case):
    """After reset_state the metric starts over: the first batch alone gives Keras's first result."""
    metric = getattr(metrics, case["class_name"])(**case["config"])
    for y, p, sw in _batches(case):
        _update(metric, case, y, p, sw)
    metric.reset_state()
    np.testing.assert_array_equal(metric.result(), np.zeros_like(np.asarray(case["results"][0])),
                                  err_msg="result right after reset_state")
    y, p, sw = next(_batches(case))
    _update(metric, case, y, p, sw)
    np.testing.assert_allclose(metric.result(), np.asarray(case["results"][0], np.float32), rtol=1e-5, atol=1e-6,
                               err_msg="first batch after reset_state")


# -- accuracy resolution (reference §4) and naming ----------------------------------------------------------

@pytest.mark.parametrize("y_shape, p_shape, cls", [
    ((8, 1), (8, 1), metrics.BinaryAccuracy),
    ((8,), (8, 1), metrics.BinaryAccuracy),
    ((8, 3), (8, 1), metrics.BinaryAccuracy),
    ((8,), (8, 10), metrics.SparseCategoricalAccuracy),
    ((8, 1), (8, 10), metrics.SparseCategoricalAccuracy),
    ((8, 5), (8, 5, 10), metrics.SparseCategoricalAccuracy),
    ((8, 10), (8, 10), metrics.CategoricalAccuracy),
    ((8, 5, 10), (8, 5, 10), metrics.CategoricalAccuracy),
], ids=["binary", "binary-rank1", "binary-one-unit", "sparse", "sparse-trailing1", "sparse-seq", "categorical",
        "categorical-seq"])
@pytest.mark.parametrize("name", ["accuracy", "acc", "Accuracy"])
def test_accuracy_resolution(y_shape, p_shape, cls, name):
    metric = metrics.get(name, y_shape, p_shape)
    assert type(metric) is cls, f"{name} for y {y_shape}, y_pred {p_shape}"
    assert metric.name == name, "the history key is the string given"


def test_accuracy_without_shapes_resolves_on_first_update():
    metric = metrics.get("acc")
    metric.update_state(np.array([1, 0, 2, 2]), np.eye(3, dtype=np.float32)[[1, 0, 0, 2]])
    assert metric.result() == pytest.approx(0.75), "sparse accuracy resolved lazily"
    assert metric.name == "acc", "name"


@pytest.mark.parametrize("identifier, cls, name", [
    ("auc", metrics.AUC, "auc"),
    ("AUC", metrics.AUC, "AUC"),
    ("precision", metrics.Precision, "precision"),
    ("recall", metrics.Recall, "recall"),
    ("mae", metrics.MeanAbsoluteError, "mae"),
    ("mse", metrics.MeanSquaredError, "mse"),
    ("top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy, "top_k_categorical_accuracy"),
    ("sparse_top_k_categorical_accuracy", metrics.SparseTopKCategoricalAccuracy,
     "sparse_top_k_categorical_accuracy"),
    ("RootMeanSquaredError", metrics.RootMeanSquaredError, "RootMeanSquaredError"),
    ("categorical_crossentropy", metrics.CategoricalCrossentropy, "categorical_crossentropy"),
    ({"AUC": {"curve": "PR"}}, metrics.AUC, "auc"),
    ({"class_name": "Precision", "config": {"thresholds": 0.3, "name": "p30"}}, metrics.Precision, "p30"),
    (metrics.Recall(name="my_recall"), metrics.Recall, "my_recall"),
    (metrics.Poisson, metrics.Poisson, "poisson"),
], ids=["auc", "AUC", "precision", "recall", "mae", "mse", "top_k", "sparse_top_k", "class-name", "cce",
        "spec-dict", "keras-config", "instance", "class"])
def test_get(identifier, cls, name):
    metric = metrics.get(identifier, (4, 3), (4, 3))
    assert type(metric) is cls, f"metrics.get({identifier!r}) type"
    assert metric.name == name, f"metrics.get({identifier!r}) name"


def test_get_callable_and_loss_names():
    def hits(y_true, y_pred):
        return (np.abs(y_true - y_pred) < 0.5).astype(np.float32)

    metric = metrics.get(hits)
    metric.update_state(np.array([1.0, 2.0]), np.array([1.2, 3.0]))
    assert (metric.name, metric.result()) == ("hits", 0.5), "custom metric function"
    huber = metrics.get("huber")  # a loss name Keras 3 does not list as a metric
    huber.update_state(np.array([[0.0, 0.0]]), np.array([[0.5, 3.0]], np.float32))
    assert (huber.name, huber.result()) == ("huber", pytest.approx((0.125 + 2.5) / 2)), "loss as metric"


@pytest.mark.parametrize("identifier", ["nope", "crossentropy", None, {"Nope": {}}])
def test_get_unknown_raises(identifier):
    with pytest.raises(ValueError):
        metrics.get(identifier)


# -- semantics ----------------------------------------------------------------------------------------------

def test_in_top_k_follows_jax():
    """Ties favour the target; negative ids count from the end; out-of-range ids are never in the top k."""
    p = np.array([[0.1, 0.5, 0.5, 0.2], [0.3, 0.3, 0.3, 0.3], [0.1, 0.2, 0.3, 0.4]], np.float32)
    np.testing.assert_array_equal(metrics.in_top_k(np.array([2, 3, -1]), p, 1), [True, True, True],
                                  err_msg="k=1 with ties and a negative id")
    np.testing.assert_array_equal(metrics.in_top_k(np.array([5, 0, -5]), p, 4), [False, True, False],
                                  err_msg="k=4 with out-of-range ids")


def test_mean_weighted_by_batch_size():
    """How fit tracks the loss: Mean of batch losses weighted by batch size, in float32 state."""
    tracker = metrics.Mean(name="loss")
    tracker.update_state(2.0, 32)
    tracker.update_state(1.0, 8)
    assert tracker.result() == pytest.approx((2 * 32 + 8) / 40), "batch-size weighted mean"
    assert tracker.total.dtype == np.float32 and tracker.count.dtype == np.float32, "float32 state"


def test_masked_sequence_weights():
    """(N, T) weights (e.g. a mask) against per-step accuracy: a weighted mean over the steps."""
    y = np.array([[1, 2, 0], [0, 1, 1]])
    p = np.eye(3, dtype=np.float32)[[[1, 0, 0], [0, 1, 2]]]
    w = np.array([[1, 1, 0], [1, 1, 1]], np.float32)
    metric = metrics.SparseCategoricalAccuracy()
    metric.update_state(y, p, sample_weight=w)
    assert metric.result() == pytest.approx(3 / 5), "accuracy over unmasked steps"


def test_multi_label_auc_needs_rank_2():
    with pytest.raises(ValueError, match="rank 2"):
        metrics.AUC(multi_label=True).update_state(np.zeros((2, 2, 2)), np.zeros((2, 2, 2), np.float32))


def test_auc_separable_and_reversed():
    y = np.array([0, 0, 1, 1])
    assert metrics.get("auc").result() == 0.0, "empty AUC"
    for p, expected in [([0.1, 0.2, 0.8, 0.9], 1.0), ([0.9, 0.8, 0.2, 0.1], 0.0), ([0.5] * 4, 0.5)]:
        metric = metrics.AUC()
        metric.update_state(y, np.array(p, np.float32))
        assert metric.result() == pytest.approx(expected, abs=1e-6), f"ROC AUC of {p}"


def test_large_batch_is_vectorised():
    """AUC and Precision over 200k predictions at 200 thresholds stay cheap (no per-sample loops)."""
    gen = np.random.default_rng(0)
    y = gen.integers(0, 2, 200_000)
    p = gen.uniform(size=200_000).astype(np.float32)
    auc = metrics.AUC()
    auc.update_state(y, p, sample_weight=gen.uniform(size=200_000))
    assert auc.result() == pytest.approx(0.5, abs=0.01), "AUC of random scores"
    precision = metrics.Precision(thresholds=[0.1 * i for i in range(1, 10)])
    precision.update_state(y, p)
    assert precision.result().shape == (9,), "one precision per threshold"
