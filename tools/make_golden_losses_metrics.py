"""Golden fixtures for kspec's losses and metrics, computed by Keras 3 (JAX backend).

Run with the reference venv (never from the tests):
    KERAS_BACKEND=jax python tools/make_golden_losses_metrics.py

Writes tests/fixtures/losses_golden.json and tests/fixtures/metrics_golden.json:
- losses: per case the inputs, the loss under every reduction (with sample weights), the default
  reduction without weights, the Keras config, and the gradient of the weighted default-reduction loss
  with respect to y_pred (or to the logits z when y_pred = softmax(z) / sigmoid(z));
- reduce: Keras's reduce_weighted_values on random values, weights and masks;
- metrics: results after each of 2-3 batches (with sample weights) and the Keras config.
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path = [p for p in sys.path if not p.endswith("/tools")]  # keep `random` etc. unshadowed

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras.src.backend.common.masking import set_keras_mask  # noqa: E402
from keras.src.losses.loss import reduce_weighted_values  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
REDUCTIONS = ["none", "sum_over_batch_size", "mean", "sum", "mean_with_sample_weight"]
rng = np.random.default_rng(1234)


def f32(x):
    return np.asarray(x, dtype=np.float32)


def tolist(x):
    """JSON-ready lists; float32 values are written in their shortest float32 form (exact on reload)."""
    if x is None:
        return None
    x = np.asarray(x)
    if x.dtype == np.float32:
        flat = [float(str(v)) if np.isfinite(v) else float(v) for v in x.ravel()]
        return np.array(flat, dtype=object).reshape(x.shape).tolist() if x.ndim else flat[0]
    return x.tolist()


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return f32(e / e.sum(-1, keepdims=True))


def onehot(ids, k):
    return f32(np.eye(k)[ids])


# -- losses ---------------------------------------------------------------------------------------------

def loss_case(cid, cls, config, y, p=None, z=None, activation=None, sw=None, mask=None, grad=True):
    """One loss case: p are the predictions, or z the logits fed through ``activation``."""
    loss_cls = getattr(keras.losses, cls)
    y = np.asarray(y)
    sw = None if sw is None else f32(sw)
    x = f32(p if z is None else z)

    def predictions(x):
        if activation == "softmax":
            return keras.activations.softmax(x)
        if activation == "sigmoid":
            return keras.activations.sigmoid(x)
        return x

    def run(reduction, weights, x=x):
        pred = jnp.asarray(predictions(x))
        if mask is not None:
            set_keras_mask(pred, jnp.asarray(mask))
        return loss_cls(**config, reduction=reduction)(y, pred, sample_weight=weights)

    case = {"id": cls + "/" + cid, "class_name": cls, "config": config, "y": tolist(y),
            "x": tolist(x), "activation": activation, "sw": tolist(sw), "mask": tolist(mask),
            "keras_config": loss_cls(**config).get_config(),
            "plain": tolist(run("sum_over_batch_size", None)),
            "reductions": {r: tolist(run(None if r == "none" else r, sw)) for r in REDUCTIONS}}
    if grad:
        g = np.asarray(jax.grad(lambda v: run("sum_over_batch_size", sw, v))(jnp.asarray(x)))
        if np.all(np.isfinite(g)):
            case["grad"] = tolist(g)
    return case


def loss_cases():
    n, k = 5, 4
    sw = f32(rng.uniform(0.2, 2.0, n))
    ids = rng.integers(0, k, n)
    y1h = onehot(ids, k)
    z = f32(rng.normal(size=(n, k)) * 2)
    p = softmax(z)
    p_raw = f32(rng.uniform(0.05, 1.0, (n, k)))  # not normalised
    soft = softmax(f32(rng.normal(size=(n, k))))
    p_sat = f32([[1, 0, 0, 0], [0, 1, 0, 0], [0.5, 0.5, 0, 0], [0, 0, 0, 1], [0.25, 0.25, 0.25, 0.25]])
    y_sat = onehot([1, 1, 2, 3, 0], k)
    z_big = f32([[60, 0, 0, 0], [0, 30, -30, 0], [1, 2, 3, 4], [-50, 50, 0, 0], [0, 0, 0, 0]])
    z3 = f32(rng.normal(size=(2, 3, k)) * 2)
    ids3 = rng.integers(0, k, (2, 3))
    sw3 = f32(rng.uniform(0.2, 2.0, (2, 3)))
    cases = []
    C = "CategoricalCrossentropy"
    cases += [loss_case("probs", C, {}, y1h, p, sw=sw),
              loss_case("unnormalised", C, {}, y1h, p_raw, sw=sw),
              loss_case("soft_labels", C, {}, soft, p, sw=sw),
              loss_case("saturated", C, {}, y_sat, p_sat, sw=sw),
              loss_case("logits", C, {"from_logits": True}, y1h, z=z, sw=sw),
              loss_case("smoothing", C, {"label_smoothing": 0.2}, y1h, p, sw=sw),
              loss_case("logits_smoothing", C, {"from_logits": True, "label_smoothing": 0.1}, y1h, z=z, sw=sw),
              loss_case("softmax", C, {}, y1h, z=z, activation="softmax", sw=sw),
              loss_case("softmax_saturated", C, {}, onehot([1, 0, 3, 1, 2], k), z=z_big, activation="softmax",
                        sw=sw),
              loss_case("sequence", C, {}, onehot(ids3, k), softmax(z3), sw=sw3),
              loss_case("axis1", C, {"axis": 1}, np.moveaxis(onehot(ids3, k), -1, 1),
                        np.moveaxis(softmax(z3), -1, 1), sw=f32([1.0, 0.5])[:, None])]
    S = "SparseCategoricalCrossentropy"
    cases += [loss_case("probs", S, {}, ids, p, sw=sw),
              loss_case("trailing1", S, {}, ids[:, None], p, sw=sw),
              loss_case("float_labels", S, {}, f32(ids) + 0.3, p, sw=sw),
              loss_case("saturated", S, {}, np.array([1, 1, 2, 3, 0]), p_sat, sw=sw),
              loss_case("logits", S, {"from_logits": True}, ids, z=z, sw=sw),
              loss_case("softmax", S, {}, ids, z=z, activation="softmax", sw=sw),
              loss_case("softmax_saturated", S, {}, np.array([1, 0, 3, 1, 2]), z=z_big, activation="softmax",
                        sw=sw),
              loss_case("ignore", S, {"ignore_class": 1}, np.array([1, 0, 1, 3, 2]), p, sw=sw),
              loss_case("ignore_neg", S, {"ignore_class": -1, "from_logits": True}, np.array([-1, 0, 2, -1, 3]),
                        z=z, sw=sw),
              loss_case("ignore_seq", S, {"ignore_class": 0}, ids3, softmax(z3), sw=sw3),
              loss_case("ignore_seq_unweighted", S, {"ignore_class": 0, "from_logits": True}, ids3, z=z3),
              loss_case("out_of_range", S, {"from_logits": True}, np.array([4, -1, 0, 1, 2]), z=z, sw=sw),
              loss_case("masked_seq", S, {}, ids3, softmax(z3), sw=sw3,
                        mask=np.array([[True, True, False], [True, False, False]]))]
    yb = f32(rng.integers(0, 2, (n, 3)))
    zb = f32(rng.normal(size=(n, 3)) * 3)
    pb = f32(1 / (1 + np.exp(-zb)))
    pb_sat = f32([[0, 1, 0.5], [1, 0, 1], [0.3, 1, 0], [0, 0, 0], [1, 1, 1]])
    zb_big = f32([[40, -40, 0], [20, 20, -20], [0.5, -0.5, 3], [-60, 60, 1], [17, -17, 2]])
    B = "BinaryCrossentropy"
    cases += [loss_case("probs", B, {}, yb, pb, sw=sw),
              loss_case("soft_labels", B, {}, f32(rng.uniform(0, 1, (n, 3))), pb, sw=sw),
              loss_case("saturated", B, {}, yb, pb_sat, sw=sw),
              loss_case("logits", B, {"from_logits": True}, yb, z=zb_big, sw=sw),
              loss_case("smoothing", B, {"label_smoothing": 0.1}, yb, pb, sw=sw),
              loss_case("logits_smoothing", B, {"from_logits": True, "label_smoothing": 0.2}, yb, z=zb, sw=sw),
              loss_case("sigmoid", B, {}, yb, z=zb, activation="sigmoid", sw=sw),
              loss_case("sigmoid_saturated", B, {}, yb, z=zb_big, activation="sigmoid", sw=sw),
              loss_case("rank1_labels", B, {}, yb[:, 0], pb[:, :1], sw=sw),
              loss_case("axis0", B, {"axis": 0}, yb, pb)]
    BF = "BinaryFocalCrossentropy"
    cases += [loss_case("probs", BF, {}, yb, pb, sw=sw),
              loss_case("saturated", BF, {}, yb, pb_sat, sw=sw),
              loss_case("logits", BF, {"from_logits": True, "gamma": 1.5}, yb, z=zb, sw=sw),
              loss_case("balanced", BF, {"apply_class_balancing": True, "alpha": 0.3, "label_smoothing": 0.1},
                        yb, pb, sw=sw),
              loss_case("sigmoid", BF, {}, yb, z=zb, activation="sigmoid", sw=sw)]
    CF = "CategoricalFocalCrossentropy"
    cases += [loss_case("probs", CF, {}, y1h, p, sw=sw),
              loss_case("logits", CF, {"from_logits": True, "alpha": 0.5, "gamma": 3.0}, y1h, z=z, sw=sw),
              loss_case("smoothing", CF, {"label_smoothing": 0.1}, y1h, p_raw, sw=sw),
              loss_case("softmax", CF, {}, y1h, z=z, activation="softmax", sw=sw)]
    yr = f32(rng.normal(size=(n, 3)) * 2)
    pr = f32(yr + rng.normal(size=(n, 3)))
    ypos, ppos = f32(np.abs(yr)), f32(np.abs(pr) + 0.1)
    for cls in ["MeanSquaredError", "MeanAbsoluteError", "LogCosh", "Huber"]:
        cases += [loss_case("random", cls, {}, yr, pr, sw=sw),
                  loss_case("rank1_labels", cls, {}, yr[:, 0], pr[:, :1], sw=sw),
                  loss_case("sequence", cls, {}, f32(rng.normal(size=(2, 3, 2))), f32(rng.normal(size=(2, 3, 2))),
                            sw=sw3)]
    cases += [loss_case("delta", "Huber", {"delta": 0.5}, yr, pr * 2, sw=sw),
              loss_case("large", "LogCosh", {}, yr * 30, pr * 50, sw=sw),
              loss_case("masked_seq", "MeanSquaredError", {}, f32(rng.normal(size=(2, 3, 2))),
                        f32(rng.normal(size=(2, 3, 2))), sw=sw3,
                        mask=np.array([[True, False, True], [False, False, True]])),
              loss_case("masked_seq_unweighted", "MeanAbsoluteError", {}, f32(rng.normal(size=(2, 3, 2))),
                        f32(rng.normal(size=(2, 3, 2))), mask=np.array([[True, False, True], [False, False, False]]))]
    yz = yr.copy()
    yz[0, 1] = 0
    cases += [loss_case("random", "MeanAbsolutePercentageError", {}, yr, pr, sw=sw),
              loss_case("zero_label", "MeanAbsolutePercentageError", {}, yz, pr, sw=sw),
              loss_case("random", "MeanSquaredLogarithmicError", {}, ypos, ppos, sw=sw),
              loss_case("negative", "MeanSquaredLogarithmicError", {}, yr, pr, sw=sw),
              loss_case("random", "CosineSimilarity", {}, yr, pr, sw=sw),
              loss_case("axis0", "CosineSimilarity", {"axis": 0}, yr, pr),
              loss_case("zero_vector", "CosineSimilarity", {}, yz * [[0], [1], [1], [1], [1]],
                        pr * [[1], [1], [0], [1], [1]], sw=sw)]
    ypm = f32(rng.integers(0, 2, (n, 3)) * 2 - 1)
    for cls in ["Hinge", "SquaredHinge"]:
        cases += [loss_case("binary01", cls, {}, yb, zb, sw=sw),
                  loss_case("plusminus", cls, {}, ypm, zb, sw=sw),
                  loss_case("soft", cls, {}, f32(rng.uniform(-1, 1, (n, 3))), zb, sw=sw)]
    cases += [loss_case("onehot", "CategoricalHinge", {}, y1h, z, sw=sw),
              loss_case("probs", "KLDivergence", {}, soft, p, sw=sw),
              loss_case("zeros", "KLDivergence", {}, y_sat, p_sat, sw=sw),
              loss_case("counts", "Poisson", {}, f32(rng.integers(0, 4, (n, 3))), ppos, sw=sw),
              loss_case("zero_rate", "Poisson", {}, f32(rng.integers(0, 4, (n, 3))), ppos * (pb_sat > 0), sw=sw)]
    return cases


def reduce_cases():
    values = f32(rng.uniform(0, 3, (4, 3)))
    masks = {"none": None, "partial": rng.uniform(size=(4, 3)) > 0.4, "empty": np.zeros((4, 3), bool)}
    weights = {"none": None, "per_sample": f32(rng.uniform(0, 2, 4)), "column": f32(rng.uniform(0, 2, (4, 1))),
               "full": f32(rng.uniform(0, 2, (4, 3))), "zeros": np.zeros((4, 1), np.float32)}
    cases = []
    for mname, mask in masks.items():
        for wname, w in weights.items():
            if wname == "per_sample":
                continue  # (4,) against (4, 3) does not broadcast in Keras
            for r in REDUCTIONS:
                out = reduce_weighted_values(values, sample_weight=w, mask=mask,
                                             reduction=None if r == "none" else r)
                cases.append({"id": f"{r}/w={wname}/mask={mname}", "values": tolist(values), "sw": tolist(w),
                              "mask": tolist(mask), "reduction": r, "expected": tolist(out)})
    col = f32(rng.uniform(0, 3, (4, 1)))
    for r in REDUCTIONS:
        out = reduce_weighted_values(col, sample_weight=weights["per_sample"], reduction=None if r == "none" else r)
        cases.append({"id": f"{r}/column_values", "values": tolist(col), "sw": tolist(weights["per_sample"]),
                      "mask": None, "reduction": r, "expected": tolist(out)})
    return cases


# -- metrics --------------------------------------------------------------------------------------------

def metric_case(cid, cls, config, batches, weighted=True):
    keras.backend.clear_session()  # default names without a _1, _2 suffix
    metric = getattr(keras.metrics, cls)(**config)
    results = []
    stored = []
    for y, p, sw in batches:
        sw = sw if weighted else None
        if cls in ("Mean", "Sum"):
            metric.update_state(p, sample_weight=sw)
        else:
            metric.update_state(y, p, sample_weight=sw)
        results.append(tolist(metric.result()))
        stored.append({"y": tolist(y), "p": tolist(p), "sw": tolist(sw)})
    config_out = metric.get_config()
    return {"id": cls + "/" + cid, "class_name": cls, "config": config, "batches": stored,
            "results": results, "keras_config": json.loads(json.dumps(config_out, default=tolist))}


def batches(make, count=3):
    return [make(i) for i in range(count)]


def metric_cases():
    k = 6

    def binary(i, n=8, cols=1):
        y = f32(rng.integers(0, 2, (n, cols)))
        return y, f32(rng.uniform(0, 1, (n, cols))), f32(rng.uniform(0.1, 2, n))

    def grid(i, n=10, cols=1, steps=6):
        """Predictions on the threshold grid j / steps: exercises ties with the AUC thresholds."""
        y = f32(rng.integers(0, 2, (n, cols)))
        return y, f32(rng.integers(0, steps + 1, (n, cols)) / steps), f32(rng.uniform(0.1, 2, n))

    def categorical(i, n=8):
        ids = rng.integers(0, k, n)
        p = softmax(f32(rng.normal(size=(n, k))))
        return onehot(ids, k), p, f32(rng.uniform(0.1, 2, n))

    def sparse(i, n=8, trailing=False):
        y, p, sw = categorical(i, n)
        ids = f32(y.argmax(-1))
        return (ids[:, None] if trailing else ids), p, sw

    def ties(i, n=8):
        """Rounded probabilities: many ties, including at the label."""
        y, p, sw = sparse(i, n)
        p = f32(np.round(p * 4) / 4)
        return y, p, sw

    def regression(i, n=6, cols=3):
        y = f32(rng.normal(size=(n, cols)))
        return y, f32(y + rng.normal(size=(n, cols)) * 0.5), f32(rng.uniform(0.1, 2, n))

    def positive(i):
        y, p, sw = regression(i)
        return f32(np.abs(y)), f32(np.abs(p) + 0.05), sw

    cases = []
    for cfg in ({}, {"threshold": 0.7}):
        cases.append(metric_case(f"threshold={cfg.get('threshold', 0.5)}", "BinaryAccuracy", cfg,
                                 batches(binary)))
    cases.append(metric_case("multi_column", "BinaryAccuracy", {}, batches(lambda i: binary(i, cols=3))))
    cases.append(metric_case("rank1_labels", "BinaryAccuracy", {},
                             batches(lambda i: (lambda y, p, sw: (y[:, 0], p, sw))(*binary(i)))))
    cases.append(metric_case("unweighted", "BinaryAccuracy", {}, batches(binary), weighted=False))
    cases.append(metric_case("default", "CategoricalAccuracy", {}, batches(categorical)))
    cases.append(metric_case("default", "SparseCategoricalAccuracy", {}, batches(sparse)))
    cases.append(metric_case("trailing1", "SparseCategoricalAccuracy", {},
                             batches(lambda i: sparse(i, trailing=True))))
    cases.append(metric_case("default", "Accuracy", {},
                             batches(lambda i: (f32(rng.integers(0, 3, (6, 2))), f32(rng.integers(0, 3, (6, 2))),
                                                f32(rng.uniform(0.1, 2, 6))))))
    cases.append(metric_case("k=5", "TopKCategoricalAccuracy", {}, batches(categorical)))
    cases.append(metric_case("k=2_ties", "TopKCategoricalAccuracy", {"k": 2},
                             batches(lambda i: (lambda y, p, sw: (onehot(np.int64(y), k), p, sw))(*ties(i)))))
    cases.append(metric_case("k=5", "SparseTopKCategoricalAccuracy", {}, batches(sparse)))
    cases.append(metric_case("k=2_ties", "SparseTopKCategoricalAccuracy", {"k": 2}, batches(ties)))
    cases.append(metric_case("k=1_ties_unweighted", "SparseTopKCategoricalAccuracy", {"k": 1}, batches(ties),
                             weighted=False))
    for cls in ["MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "RootMeanSquaredError",
                "CosineSimilarity", "LogCoshError", "Hinge", "SquaredHinge"]:
        cases.append(metric_case("default", cls, {}, batches(regression)))
    cases.append(metric_case("default", "MeanSquaredLogarithmicError", {}, batches(positive)))
    cases.append(metric_case("default", "Poisson", {}, batches(positive)))
    cases.append(metric_case("default", "KLDivergence", {},
                             batches(lambda i: (lambda y, p, sw: (softmax(f32(rng.normal(size=p.shape))), p, sw))(
                                 *categorical(i)))))
    cases.append(metric_case("default", "CategoricalHinge", {}, batches(categorical)))
    cases.append(metric_case("default", "CategoricalCrossentropy", {}, batches(categorical)))
    cases.append(metric_case("smoothing", "CategoricalCrossentropy", {"label_smoothing": 0.1},
                             batches(categorical)))
    cases.append(metric_case("default", "SparseCategoricalCrossentropy", {}, batches(sparse)))
    cases.append(metric_case("ignore", "SparseCategoricalCrossentropy", {"ignore_class": 0}, batches(sparse)))
    cases.append(metric_case("default", "BinaryCrossentropy", {}, batches(lambda i: binary(i, cols=2))))
    cases.append(metric_case("logits", "BinaryCrossentropy", {"from_logits": True},
                             batches(lambda i: (lambda y, p, sw: (y, f32((p - 0.5) * 8), sw))(*binary(i)))))
    cases.append(metric_case("values", "Mean", {}, batches(regression)))
    cases.append(metric_case("values", "Sum", {}, batches(regression)))
    # confusion-matrix metrics
    for cls in ["Precision", "Recall"]:
        cases.append(metric_case("default", cls, {}, batches(binary)))
        cases.append(metric_case("unweighted", cls, {}, batches(binary), weighted=False))
        cases.append(metric_case("thresholds", cls, {"thresholds": [0.3, 0.5, 0.7]}, batches(grid)))
        cases.append(metric_case("even_thresholds", cls, {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]},
                                 batches(lambda i: grid(i, steps=4))))
        cases.append(metric_case("top_k", cls, {"top_k": 2}, batches(categorical)))
        cases.append(metric_case("class_id", cls, {"class_id": 1}, batches(categorical)))
        cases.append(metric_case("top_k_class_id", cls, {"top_k": 2, "class_id": 3}, batches(categorical)))
        cases.append(metric_case("multi_column", cls, {"thresholds": 0.4}, batches(lambda i: binary(i, cols=3))))
    for cls in ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives"]:
        cases.append(metric_case("thresholds", cls, {"thresholds": [0.25, 0.5]}, batches(grid)))
    auc_configs = [("roc", {}), ("pr", {"curve": "PR"}), ("roc_minoring", {"summation_method": "minoring"}),
                   ("roc_majoring", {"summation_method": "majoring"}),
                   ("pr_minoring", {"curve": "PR", "summation_method": "minoring"}),
                   ("pr_majoring", {"curve": "PR", "summation_method": "majoring"}),
                   ("n7", {"num_thresholds": 7}), ("pr_n7", {"curve": "PR", "num_thresholds": 7}),
                   ("thresholds", {"thresholds": [0.1, 0.35, 0.5, 0.9]}),
                   ("even_thresholds", {"thresholds": [0.25, 0.5, 0.75]})]
    for cid, cfg in auc_configs:
        cases.append(metric_case(cid, "AUC", cfg, batches(lambda i: grid(i, n=12))))
    cases.append(metric_case("random", "AUC", {}, batches(lambda i: binary(i, n=20))))
    cases.append(metric_case("unweighted", "AUC", {}, batches(lambda i: binary(i, n=20)), weighted=False))
    cases.append(metric_case("from_logits", "AUC", {"from_logits": True},
                             batches(lambda i: (lambda y, p, sw: (y, f32((p - 0.5) * 6), sw))(*binary(i, n=20)))))
    cases.append(metric_case("multi_column", "AUC", {}, batches(lambda i: binary(i, n=10, cols=3))))
    cases.append(metric_case("multi_label", "AUC", {"multi_label": True},
                             batches(lambda i: binary(i, n=10, cols=3))))
    cases.append(metric_case("multi_label_pr", "AUC", {"multi_label": True, "curve": "PR", "num_thresholds": 9},
                             batches(lambda i: grid(i, n=10, cols=3, steps=8))))
    cases.append(metric_case("multi_label_weights", "AUC",
                             {"multi_label": True, "label_weights": [0.5, 1.0, 2.0], "thresholds": [0.3, 0.6]},
                             batches(lambda i: binary(i, n=10, cols=3))))
    cases.append(metric_case("label_weights", "AUC", {"label_weights": [0.5, 1.0, 2.0]},
                             batches(lambda i: binary(i, n=10, cols=3))))
    for cls, arg in [("SensitivityAtSpecificity", "specificity"), ("SpecificityAtSensitivity", "sensitivity"),
                     ("PrecisionAtRecall", "recall"), ("RecallAtPrecision", "precision")]:
        cases.append(metric_case("default", cls, {arg: 0.6}, batches(lambda i: binary(i, n=20))))
        cases.append(metric_case("n1_class_id", cls, {arg: 0.4, "num_thresholds": 1, "class_id": 2},
                                 batches(categorical)))
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    losses = {"keras_version": keras.__version__, "cases": loss_cases(), "reduce": reduce_cases()}
    with open(os.path.join(OUT, "losses_golden.json"), "w") as f:
        json.dump(losses, f, separators=(",", ":"))
    metrics = {"keras_version": keras.__version__, "cases": metric_cases()}
    with open(os.path.join(OUT, "metrics_golden.json"), "w") as f:
        json.dump(metrics, f, separators=(",", ":"))
    print(f"{len(losses['cases'])} loss cases, {len(losses['reduce'])} reduce cases, "
          f"{len(metrics['cases'])} metric cases -> {os.path.abspath(OUT)}")


if __name__ == "__main__":
    main()
