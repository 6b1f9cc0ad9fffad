"""The registry contract: every registered name of every kind is built from its spec form (bare and with
non-default arguments) through the spec compiler and trains one step; its config round-trips; every
layer goes through ``kspec.testing.run_layer_test`` (shapes, config, masking, a training step, a float64
gradient check).

``CASES`` is the one table: kind -> {canonical registered name: case(...)}. A registered name without a
case fails ``test_every_registered_name_has_a_case`` (its message says the line to add), and a case
whose name is not registered fails too. Add one entry per new name:

    "Dense": case({"units": 3, "activation": "tanh"}, input=(2, 4)),      # a layer: args, input shape
    "relu": case(),                                                        # a function: no arguments
"""
import inspect
import json

import numpy as np
import pytest

from kspec import registry
from kspec.serialization import deserialize
from kspec.spec import SpecError, build_model, compile_model, from_dict, resolve
from kspec.spec import signatures as sig
from kspec.spec.compiler import fit_arguments, make_callbacks
from kspec.testing import run_layer_test


def case(args=None, input=None, dtype="float32", labels="real", refused=None, harness=None, adapted=False):
    """One name's case. ``args``: spec-form arguments that differ from the defaults (required ones
    included). Layers: ``input``, the full input shape (batch first; a list of shapes for several
    inputs) and its ``dtype``. Losses and metrics: ``labels``, the kind of y they need (real,
    positive, binary, onehot or sparse). ``refused``: a regex of the spec error that its spec form
    gets where Keras cannot use it there either (an activation that needs arguments). ``harness``:
    extra arguments of ``run_layer_test``. ``adapted``: the layer's weights are statistics set by
    ``adapt()`` (Normalization), which training leaves alone."""
    return {"args": dict(args or {}), "input": input, "dtype": dtype, "labels": labels, "refused": refused,
            "harness": dict(harness or {}), "adapted": adapted}


SEQ, IMG = (2, 4, 3), (2, 4, 4, 2)
PAIR = [(2, 3), (2, 3)]
LR = {"learning_rate": 0.01}

CASES = {
    "layer": {
        "ReLU": case({"max_value": 2.0, "negative_slope": 0.1}, input=(2, 5)),
        "LeakyReLU": case({"negative_slope": 0.1}, input=(2, 5)),
        "ELU": case({"alpha": 0.5}, input=(2, 5)),
        # Softmax's mask has the input's own shape (as in Keras), not that of a time-step mask
        "Softmax": case({"axis": 1}, input=SEQ, harness={"run_mask_check": False}),
        "PReLU": case({"alpha_initializer": "ones", "shared_axes": [1]}, input=SEQ),
        "Dense": case({"units": 3, "activation": "tanh", "use_bias": False}, input=(2, 4)),
        "Activation": case({"activation": "sigmoid"}, input=(2, 4)),
        "Lambda": case({"function": "x * sigmoid(x)"}, input=(2, 4)),
        "InputLayer": case({"shape": [4]}, input=(2, 4)),
        "Dropout": case({"rate": 0.5, "seed": 1}, input=(2, 4)),
        "ActivityRegularization": case({"l1": 0.01, "l2": 0.05}, input=(2, 4)),
        "Flatten": case({"data_format": "channels_first"}, input=SEQ),
        "Reshape": case({"target_shape": [3, 4]}, input=SEQ),
        "Permute": case({"dims": [2, 1]}, input=SEQ),
        "RepeatVector": case({"n": 3}, input=(2, 4)),
        "Conv1D": case({"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"}, input=(2, 5, 3)),
        "Conv2D": case({"filters": 2, "kernel_size": [2, 2], "padding": "same", "activation": "tanh"}, input=IMG),
        "Conv2DTranspose": case({"filters": 2, "kernel_size": 2, "strides": 2}, input=(2, 3, 3, 2)),
        "DepthwiseConv2D": case({"kernel_size": 2, "depth_multiplier": 2}, input=IMG),
        "SeparableConv2D": case({"filters": 3, "kernel_size": 2, "depth_multiplier": 2}, input=IMG),
        "SpatialDropout1D": case({"rate": 0.5, "seed": 1}, input=SEQ),
        "SpatialDropout2D": case({"rate": 0.5, "seed": 1}, input=IMG),
        "GaussianNoise": case({"stddev": 0.1, "seed": 1}, input=(2, 4)),
        # preprocessing and augmentation (tests/test_layers_preprocessing.py has their Keras goldens)
        "Rescaling": case({"scale": 0.5, "offset": 1.0}, input=(2, 4)),
        "Resizing": case({"height": 3, "width": 5, "interpolation": "bicubic"}, input=IMG),
        "CenterCrop": case({"height": 3, "width": 2}, input=IMG),
        "Normalization": case({"mean": [1.0, 2.0], "variance": [4.0, 9.0], "invert": True}, input=IMG, adapted=True),
        "RandomFlip": case({"mode": "horizontal", "seed": 1}, input=IMG),
        "RandomRotation": case({"factor": 0.2, "fill_mode": "constant", "seed": 1}, input=IMG),
        "RandomZoom": case({"height_factor": 0.2, "width_factor": [-0.1, 0.3], "seed": 1}, input=IMG),
        "RandomTranslation": case({"height_factor": 0.2, "width_factor": 0.1, "fill_mode": "wrap", "seed": 1},
                                  input=IMG),
        "RandomContrast": case({"factor": [0.2, 0.3], "value_range": [-5, 5], "seed": 1}, input=IMG),
        "RandomCrop": case({"height": 3, "width": 3, "seed": 1}, input=IMG),
        "BatchNormalization": case({"momentum": 0.9, "epsilon": 0.01, "center": False}, input=(4, 3)),
        "LayerNormalization": case({"epsilon": 0.01, "scale": False}, input=SEQ),
        "MaxPooling1D": case({"pool_size": 2, "strides": 1}, input=(2, 5, 3)),
        "MaxPooling2D": case({"pool_size": [2, 2], "padding": "same"}, input=(2, 5, 5, 2)),
        "AveragePooling1D": case({"pool_size": 2, "padding": "same"}, input=(2, 5, 3)),
        "AveragePooling2D": case({"pool_size": 2, "strides": 1}, input=IMG),
        "GlobalAveragePooling1D": case({"keepdims": True}, input=SEQ),
        "GlobalAveragePooling2D": case({"keepdims": True}, input=IMG),
        "GlobalMaxPooling1D": case({"keepdims": True}, input=SEQ),
        "GlobalMaxPooling2D": case({"keepdims": True}, input=IMG),
        "ZeroPadding1D": case({"padding": [1, 2]}, input=SEQ),
        "ZeroPadding2D": case({"padding": [[1, 0], [0, 1]]}, input=IMG),
        "Cropping1D": case({"cropping": [1, 0]}, input=SEQ),
        "Cropping2D": case({"cropping": [[1, 0], [0, 1]]}, input=IMG),
        "UpSampling1D": case({"size": 3}, input=SEQ),
        "UpSampling2D": case({"size": [2, 1], "interpolation": "bilinear"}, input=IMG),
        "Embedding": case({"input_dim": 10, "output_dim": 3, "mask_zero": True}, input=(2, 5), dtype="int32"),
        "Masking": case({"mask_value": 0.5}, input=SEQ),
        "SimpleRNN": case({"units": 3, "return_sequences": True}, input=SEQ),
        "LSTM": case({"units": 3, "go_backwards": True}, input=SEQ),
        "GRU": case({"units": 3, "reset_after": False, "return_sequences": True}, input=SEQ),
        "Bidirectional": case({"layer": {"LSTM": {"units": 2}}, "merge_mode": "sum"}, input=SEQ),
        "TimeDistributed": case({"layer": {"Dense": {"units": 2}}}, input=SEQ),
        "Add": case({"name": "merged"}, input=PAIR),
        "Subtract": case({"name": "merged"}, input=PAIR),
        "Multiply": case({"name": "merged"}, input=PAIR),
        "Average": case({"name": "merged"}, input=PAIR),
        "Maximum": case({"name": "merged"}, input=PAIR),
        "Minimum": case({"name": "merged"}, input=PAIR),
        "Concatenate": case({"axis": 1}, input=[(2, 3, 2), (2, 3, 2)]),
        "Dot": case({"axes": 1, "normalize": True}, input=PAIR),
    },
    "activation": {name: case() for name in (
        "relu", "leaky_relu", "relu6", "softmax", "log_softmax", "sparsemax", "glu", "elu", "selu", "celu",
        "exponential", "softplus", "softsign", "squareplus", "silu", "gelu", "mish", "tanh", "tanh_shrink",
        "sigmoid", "log_sigmoid", "hard_sigmoid", "hard_silu", "hard_tanh", "sparse_sigmoid", "sparse_plus",
        "soft_shrink", "hard_shrink", "linear")} | {
        "threshold": case(refused="activation 'threshold' takes arguments")},
    "initializer": {
        "Zeros": case(), "Ones": case(),
        "Constant": case({"value": 0.5}),
        "Identity": case({"gain": 2.0}),
        "RandomNormal": case({"mean": 0.1, "stddev": 0.2, "seed": 1}),
        "TruncatedNormal": case({"mean": 0.1, "stddev": 0.2, "seed": 1}),
        "RandomUniform": case({"minval": -0.1, "maxval": 0.2, "seed": 1}),
        "VarianceScaling": case({"scale": 2.0, "mode": "fan_out", "distribution": "uniform", "seed": 1}),
        "GlorotUniform": case({"seed": 1}), "GlorotNormal": case({"seed": 1}),
        "HeUniform": case({"seed": 1}), "HeNormal": case({"seed": 1}),
        "LecunUniform": case({"seed": 1}), "LecunNormal": case({"seed": 1}),
        "Orthogonal": case({"gain": 0.5, "seed": 1}),
    },
    "regularizer": {
        "L1L2": case({"l1": 0.01, "l2": 0.02}), "l1_l2": case({"l1": 0.01, "l2": 0.02}),
        "L1": case({"l1": 0.02}), "L2": case({"l2": 0.02}),
        "OrthogonalRegularizer": case({"factor": 0.02, "mode": "columns"}),
    },
    "constraint": {
        "MaxNorm": case({"max_value": 1.5, "axis": 1}), "NonNeg": case(), "UnitNorm": case({"axis": 1}),
        "MinMaxNorm": case({"min_value": 0.5, "max_value": 1.5, "rate": 0.5}),
    },
    "loss": {
        "categorical_crossentropy": case(labels="onehot"),
        "sparse_categorical_crossentropy": case(labels="sparse"),
        "binary_crossentropy": case(labels="binary"),
        "binary_focal_crossentropy": case(labels="binary"),
        "categorical_focal_crossentropy": case(labels="onehot"),
        "kl_divergence": case(labels="onehot"),
        "poisson": case(labels="positive"),
        "mean_squared_error": case(), "mean_absolute_error": case(),
        "mean_absolute_percentage_error": case(labels="positive"),
        "mean_squared_logarithmic_error": case(labels="positive"),
        "cosine_similarity": case(), "huber": case(), "log_cosh": case(),
        "hinge": case(labels="binary"), "squared_hinge": case(labels="binary"),
        "categorical_hinge": case(labels="onehot"),
        "MeanSquaredError": case({"reduction": "sum"}),
        "MeanAbsoluteError": case({"reduction": "sum"}),
        "MeanAbsolutePercentageError": case({"reduction": "sum"}, labels="positive"),
        "MeanSquaredLogarithmicError": case({"reduction": "sum"}, labels="positive"),
        "CosineSimilarity": case({"axis": 0}),
        "Huber": case({"delta": 0.5}),
        "LogCosh": case({"reduction": "sum"}),
        "Hinge": case({"reduction": "sum"}, labels="binary"),
        "SquaredHinge": case({"reduction": "sum"}, labels="binary"),
        "CategoricalHinge": case({"reduction": "sum"}, labels="onehot"),
        "KLDivergence": case({"reduction": "sum"}, labels="onehot"),
        "Poisson": case({"reduction": "sum"}, labels="positive"),
        "BinaryCrossentropy": case({"from_logits": True, "label_smoothing": 0.1}, labels="binary"),
        "BinaryFocalCrossentropy": case({"apply_class_balancing": True, "gamma": 1.0}, labels="binary"),
        "CategoricalCrossentropy": case({"label_smoothing": 0.1}, labels="onehot"),
        "CategoricalFocalCrossentropy": case({"alpha": 0.5, "gamma": 1.0}, labels="onehot"),
        "SparseCategoricalCrossentropy": case({"from_logits": True}, labels="sparse"),
        "crossentropy": case({"reduction": "sum"}, labels="onehot"),
    },
    "metric": {
        "Sum": case({"name": "total"}, refused="cannot be a compile metric"),
        "Mean": case({"name": "average"}, refused="cannot be a compile metric"),
        "Accuracy": case({"name": "acc"}, labels="binary"),
        "BinaryAccuracy": case({"threshold": 0.3}, labels="binary"),
        "CategoricalAccuracy": case({"name": "cat_acc"}, labels="onehot"),
        "SparseCategoricalAccuracy": case({"name": "sparse_acc"}, labels="sparse"),
        "TopKCategoricalAccuracy": case({"k": 2}, labels="onehot"),
        "SparseTopKCategoricalAccuracy": case({"k": 2}, labels="sparse"),
        "TruePositives": case({"thresholds": 0.3}, labels="binary"),
        "FalsePositives": case({"thresholds": 0.3}, labels="binary"),
        "TrueNegatives": case({"thresholds": 0.3}, labels="binary"),
        "FalseNegatives": case({"thresholds": 0.3}, labels="binary"),
        "Precision": case({"thresholds": 0.3}, labels="binary"),
        "Recall": case({"thresholds": 0.3}, labels="binary"),
        "SensitivityAtSpecificity": case({"specificity": 0.5, "num_thresholds": 20}, labels="binary"),
        "SpecificityAtSensitivity": case({"sensitivity": 0.5, "num_thresholds": 20}, labels="binary"),
        "PrecisionAtRecall": case({"recall": 0.5, "num_thresholds": 20}, labels="binary"),
        "RecallAtPrecision": case({"precision": 0.5, "num_thresholds": 20}, labels="binary"),
        "AUC": case({"num_thresholds": 20, "curve": "PR"}, labels="binary"),
        "MeanSquaredError": case({"name": "mse_metric"}),
        "MeanAbsoluteError": case({"name": "mae_metric"}),
        "MeanAbsolutePercentageError": case({"name": "mape_metric"}, labels="positive"),
        "MeanSquaredLogarithmicError": case({"name": "msle_metric"}, labels="positive"),
        "CosineSimilarity": case({"axis": 0}),
        "LogCoshError": case({"name": "logcosh_metric"}),
        "Hinge": case({"name": "hinge_metric"}, labels="binary"),
        "SquaredHinge": case({"name": "sq_hinge_metric"}, labels="binary"),
        "CategoricalHinge": case({"name": "cat_hinge_metric"}, labels="onehot"),
        "KLDivergence": case({"name": "kl_metric"}, labels="onehot"),
        "Poisson": case({"name": "poisson_metric"}, labels="positive"),
        "BinaryCrossentropy": case({"label_smoothing": 0.1}, labels="binary"),
        "CategoricalCrossentropy": case({"label_smoothing": 0.1}, labels="onehot"),
        "SparseCategoricalCrossentropy": case({"from_logits": True}, labels="sparse"),
        "RootMeanSquaredError": case({"name": "rmse_metric"}),
    },
    "optimizer": {
        "Adadelta": case({**LR, "rho": 0.9}),
        "Adagrad": case({**LR, "initial_accumulator_value": 0.2}),
        "Adam": case({**LR, "beta_1": 0.8, "amsgrad": True}),
        "AdamW": case({**LR, "weight_decay": 0.01}),
        "Adamax": case({**LR, "beta_2": 0.99}),
        "Nadam": case({**LR, "beta_1": 0.8}),
        "RMSprop": case({**LR, "momentum": 0.5, "centered": True}),
        "SGD": case({**LR, "momentum": 0.9, "nesterov": True, "clipnorm": 1.0}),
    },
    "schedule": {
        "ExponentialDecay": case({"initial_learning_rate": 0.01, "decay_steps": 2, "decay_rate": 0.5,
                                  "staircase": True}),
        "PiecewiseConstantDecay": case({"boundaries": [1], "values": [0.01, 0.005]}),
        "PolynomialDecay": case({"initial_learning_rate": 0.01, "decay_steps": 2, "power": 2.0}),
        "InverseTimeDecay": case({"initial_learning_rate": 0.01, "decay_steps": 2, "decay_rate": 0.5,
                                  "staircase": True}),
        "CosineDecay": case({"initial_learning_rate": 0.01, "decay_steps": 2, "alpha": 0.1}),
        "CosineDecayRestarts": case({"initial_learning_rate": 0.01, "first_decay_steps": 2, "t_mul": 1.5}),
    },
    "callback": {
        "TerminateOnNaN": case({"raise_error": True}),
        "CSVLogger": case({"filename": "log.csv", "separator": ";"}),
        "LearningRateScheduler": case({"schedule": {"ExponentialDecay": {
            "initial_learning_rate": 0.01, "decay_steps": 1, "decay_rate": 0.5}}}),
        "EarlyStopping": case({"monitor": "loss", "patience": 2}),
        "ModelCheckpoint": case({"filepath": "best.weights.h5", "save_weights_only": True}),
        "ReduceLROnPlateau": case({"monitor": "loss", "factor": 0.5, "patience": 1}),
        "BackupAndRestore": case({"backup_dir": "backup", "save_freq": 1, "double_checkpoint": True}),
    },
}


def _template(kind, name):
    cls = registry.lookup(kind, name)
    if not inspect.isclass(cls):
        return f'"{name}": case(),'
    required = ", ".join(f'"{n}": ...' for n in sig.arguments(cls).required())
    args = "{" + required + (", " if required else "") + "...non-default arguments...}"
    return f'"{name}": case({args}' + (", input=(2, ...))," if kind == "layer" else "),")


def test_every_registered_name_has_a_case():
    missing, unknown = [], []
    for kind in CASES:
        registered = [name for name, _ in registry.items(kind)]
        missing += [f'CASES["{kind}"]: {_template(kind, n)}' for n in registered if n not in CASES[kind]]
        unknown += [f"{kind} {n!r}" for n in CASES[kind] if n not in registered]
    problems = []
    if missing:
        problems.append("registered names without a case; add to tests/test_registry_contract.py:\n  " +
                        "\n  ".join(missing))
    if unknown:
        problems.append(f"cases for names that are not registered (remove them or register the name): {unknown}")
    assert not problems, "\n".join(problems)
    assert set(CASES) == set(registry._PACKAGES), f"CASES must cover every kind: {sorted(registry._PACKAGES)}"


ALL = [(kind, name, form) for kind, table in CASES.items() for name in table for form in ("bare", "args")]


def _bare(kind, name, args):
    """The smallest spec form: the name alone, or the required arguments only."""
    obj = registry.lookup(kind, name)
    required = sig.arguments(obj).required() if inspect.isclass(obj) else []
    if not required:
        return name
    return {name: {k: args[k] for k in required}}


def _form(kind, name, form):
    args = CASES[kind][name]["args"]
    if form == "bare":
        return _bare(kind, name, args)
    return {name: args} if args else name


# -- building from the spec and training one step ----------------------------------------------------------

def _labels(kind, n, units, rng):
    if kind == "sparse":
        return rng.integers(0, units, size=(n,)).astype(np.int32), "softmax"
    if kind == "onehot":
        return np.eye(units, dtype=np.float32)[rng.integers(0, units, size=n)], "softmax"
    if kind == "binary":
        return (rng.random((n, units)) > 0.5).astype(np.float32), "sigmoid"
    if kind == "positive":
        return rng.random((n, units)).astype(np.float32) + 0.5, "softplus"
    return rng.standard_normal((n, units)).astype(np.float32), None


def _layer_model(name, entry, c):
    shapes = c["input"]
    if isinstance(shapes, list):  # several inputs: a graph model
        inputs = {f"in{i}": {"shape": list(s[1:]), "dtype": c["dtype"]} for i, s in enumerate(shapes)}
        (cls_name, args), = (entry if isinstance(entry, dict) else {entry: {}}).items()
        layer = {cls_name: {**(args or {}), "input": list(inputs)}}
        return {"inputs": inputs, "layers": [layer], "outputs": [layer[cls_name].get("name", _snake(cls_name))]}
    if name == "InputLayer":
        return {"layers": [entry if isinstance(entry, dict) else {"InputLayer": {"shape": list(shapes[1:])}}]}
    return {"input_shape": list(shapes[1:]), "layers": [entry]}


def _snake(name):
    return registry.snake_case(name)


def _train(model_section, compile_section, x, y, callbacks=(), run_dir=None):
    fit = {"epochs": 2, "batch_size": 2, "callbacks": list(callbacks)}
    if callbacks:  # a callback's default monitor is val_loss
        fit["validation_split"] = 0.5
    data = {"name": "contract", "seed": 0, "model": model_section, "compile": compile_section, "fit": fit}
    doc = from_dict(data)
    spec = resolve(doc)
    model = compile_model(build_model(spec, doc), spec, doc)
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, callbacks=make_callbacks(spec, doc, run_dir=run_dir), **fit_arguments(spec, 0))
    losses = history.history["loss"]
    assert len(losses) == 2 and np.all(np.isfinite(losses)), f"losses {losses}"
    return model, before, history


def _inputs(c, rng):
    shapes = c["input"] if isinstance(c["input"], list) else [c["input"]]
    if np.dtype(c["dtype"]).kind in "iu":
        xs = [rng.integers(1, 10, size=s).astype(c["dtype"]) for s in shapes]
    else:
        xs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    return xs if isinstance(c["input"], list) else xs[0]


def _dense_model(kind, value, units=4, activation=None):
    """A one-Dense model whose ``activation``/``kernel_*`` argument is the object under test."""
    dense = {"units": units}
    if activation is not None:
        dense["activation"] = activation
    if kind != "activation" or value is not None:
        dense[{"activation": "activation", "initializer": "kernel_initializer",
               "regularizer": "kernel_regularizer", "constraint": "kernel_constraint"}.get(kind, "x")] = value
    return {"input_shape": [4], "layers": [{"Dense": dense}]}


@pytest.mark.parametrize("kind, name, form", ALL, ids=[f"{k}-{n}-{f}" for k, n, f in ALL])
def test_built_from_its_spec_form_and_trains(kind, name, form, tmp_path):
    c = CASES[kind][name]
    if c["refused"]:
        with pytest.raises(SpecError, match=c["refused"]):
            _spec_form_trains(kind, name, form, tmp_path)
    else:
        _spec_form_trains(kind, name, form, tmp_path)


def _spec_form_trains(kind, name, form, tmp_path):
    c = CASES[kind][name]
    entry = _form(kind, name, form)
    rng = np.random.default_rng(0)
    mse = {"optimizer": {"SGD": LR}, "loss": "mse"}
    x = rng.standard_normal((4, 4)).astype(np.float32)
    if kind == "layer":
        model_section = _layer_model(name, entry, c)
        x = _inputs(c, rng)
        doc = from_dict({"model": model_section, "compile": mse})
        spec = resolve(doc)
        out_shape = build_model(spec, doc).output_shape
        y = rng.standard_normal((len(x[0] if isinstance(x, list) else x),) + tuple(out_shape[1:]))
        model, before, _ = _train(model_section, mse, x, y.astype(np.float32))
        if name == "InputLayer":  # Keras lists no InputLayer among a model's layers
            assert model.input_shape == (None,) + tuple(c["input"][1:]), model.input_shape
        else:
            (layer,) = [lay for lay in model.layers if type(lay).__name__ != "InputLayer"]
            assert type(layer) is registry.lookup("layer", name), f"built {type(layer).__name__}"
        after = model.get_weights()
        if not c["adapted"]:
            assert all(not np.array_equal(b, a) for b, a in zip(before, after)), "every weight moves in training"
    elif kind in ("activation", "initializer", "regularizer", "constraint"):
        units = 4 if name != "glu" else 4
        _, before, _ = _train(_dense_model(kind, entry, units), mse, x, rng.standard_normal((4, units // (
            2 if name == "glu" else 1))).astype(np.float32))
    elif kind in ("loss", "metric"):
        y, activation = _labels(c["labels"], 4, 3, rng)
        compile_section = {"optimizer": {"SGD": LR}, "loss": entry if kind == "loss" else "mse"}
        if kind == "metric":
            compile_section["metrics"] = [entry]
            if c["labels"] == "sparse":
                compile_section["loss"] = "sparse_categorical_crossentropy"
        _, _, history = _train(_dense_model("activation", None, 3, activation), compile_section, x, y)
        if kind == "metric":
            assert len(history.history) >= 2, f"no metric logged: {list(history.history)}"
            assert all(len(v) == 2 for v in history.history.values()), history.history
    elif kind == "optimizer":
        _train(_dense_model("activation", None), {"optimizer": entry, "loss": "mse"}, x, x)
    elif kind == "schedule":
        _train(_dense_model("activation", None), {"optimizer": {"SGD": {"learning_rate": entry}},
                                                   "loss": "mse"}, x, x)
    elif kind == "callback":
        _, _, history = _train(_dense_model("activation", None), mse, x, x, callbacks=[entry],
                               run_dir=str(tmp_path))
    else:
        raise AssertionError(f"no rule for kind {kind!r}")


# -- configs ----------------------------------------------------------------------------------------------

CONFIGURED = [(k, n) for k, table in CASES.items() if k not in ("layer", "callback") for n in table]


@pytest.mark.parametrize("kind, name", CONFIGURED, ids=[f"{k}-{n}" for k, n in CONFIGURED])
def test_config_round_trips(kind, name):
    obj = deserialize(kind, {name: CASES[kind][name]["args"]} if CASES[kind][name]["args"] else name)
    if not hasattr(obj, "get_config"):  # a function: it serializes as its name
        from kspec.serialization import serialize
        assert deserialize(kind, serialize(obj)) is obj, f"{name} does not come back from {serialize(obj)!r}"
        return
    config = json.loads(json.dumps(obj.get_config()))
    for key, value in CASES[kind][name]["args"].items():
        if key in config and not isinstance(value, dict):
            got, want = np.ravel(config[key]), np.ravel(value)
            same = got.tolist() == want.tolist() or np.allclose(got.astype(float), want.astype(float), rtol=1e-6)
            assert same, f"{name}: config {key} = {config[key]!r}, built with {value!r}"
    again = type(obj).from_config(json.loads(json.dumps(config))).get_config()
    assert json.loads(json.dumps(again)) == config, f"{name}: from_config(get_config()) changed the config"


# -- layers through the harness -----------------------------------------------------------------------------

LAYERS = sorted(CASES["layer"])


@pytest.mark.parametrize("name", LAYERS)
def test_layer_harness(name):
    c = CASES["layer"][name]
    cls = registry.lookup("layer", name)
    run_layer_test(cls, c["args"], c["input"], input_dtype=c["dtype"], **c["harness"])
