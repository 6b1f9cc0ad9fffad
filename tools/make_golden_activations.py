"""Golden fixtures for activations, activation layers, regularizers, constraints and their configs.

Run with the reference venv (Keras 3.15.1, JAX backend), never from the tests:

    KERAS_BACKEND=jax python tools/make_golden_activations.py

Writes to tests/fixtures/:

* ``activations_golden.npz``: a float32 input ``x`` (6, 16) with edge values (0, +-1e-7, kinks at +-1,
  +-3, 6, large magnitudes) and random values; for every case ``fwd/<case>`` = Keras's output and
  ``grad/<case>`` = d sum(f(x) * w) / dx for the fixed weights ``w`` (JAX autodiff). Cases are named
  ``<activation>`` or ``<activation>:<args>``; ``cases`` holds the ``ACTIVATIONS`` table as JSON. Also
  activation-layer outputs ``layer/<case>`` (with ``layer_x3`` (2, 3, 4), ``prelu_alpha`` and a Softmax
  ``softmax_mask``), constraint outputs ``constraint/<case>`` on ``w_dense`` (5, 4) and ``w_conv`` (3, 3, 2, 4), and
  regularizer values/gradients ``reg/<case>`` and ``reg_grad/<case>`` on ``w_dense``.
* ``activations_configs.json``: ``get_config()`` of initializers, regularizers, constraints and activation
  layers, and the names Keras's ``get`` accepts or rejects.
"""
import json
import os
import pathlib

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from keras import activations, constraints, initializers, layers, regularizers  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"

# case name -> (activation name, keyword arguments). The tests read the same table from the npz keys.
ACTIVATIONS = {
    "relu": ("relu", {}),
    "relu:slope": ("relu", {"negative_slope": 0.1}),
    "relu:max6": ("relu", {"max_value": 6.0}),
    "relu:slope_max6": ("relu", {"negative_slope": 0.1, "max_value": 6.0}),
    "relu:max": ("relu", {"max_value": 2.5}),
    "relu:threshold": ("relu", {"threshold": 0.5}),
    "relu:all": ("relu", {"negative_slope": 0.1, "max_value": 2.0, "threshold": 1.0}),
    "relu:slope_threshold": ("relu", {"negative_slope": 0.2, "threshold": 1.5}),
    "leaky_relu": ("leaky_relu", {}),
    "leaky_relu:0.3": ("leaky_relu", {"negative_slope": 0.3}),
    "relu6": ("relu6", {}),
    "elu": ("elu", {}),
    "elu:0.5": ("elu", {"alpha": 0.5}),
    "selu": ("selu", {}),
    "celu": ("celu", {}),
    "celu:2": ("celu", {"alpha": 2.0}),
    "softplus": ("softplus", {}),
    "softsign": ("softsign", {}),
    "squareplus": ("squareplus", {}),
    "squareplus:1": ("squareplus", {"b": 1}),
    "silu": ("silu", {}),
    "swish": ("swish", {}),
    "gelu": ("gelu", {}),
    "gelu:approximate": ("gelu", {"approximate": True}),
    "mish": ("mish", {}),
    "tanh": ("tanh", {}),
    "tanh_shrink": ("tanh_shrink", {}),
    "sigmoid": ("sigmoid", {}),
    "log_sigmoid": ("log_sigmoid", {}),
    "exponential": ("exponential", {}),
    "hard_sigmoid": ("hard_sigmoid", {}),
    "hard_silu": ("hard_silu", {}),
    "hard_swish": ("hard_swish", {}),
    "hard_tanh": ("hard_tanh", {}),
    "sparse_sigmoid": ("sparse_sigmoid", {}),
    "sparse_plus": ("sparse_plus", {}),
    "soft_shrink": ("soft_shrink", {}),
    "soft_shrink:1": ("soft_shrink", {"threshold": 1.0}),
    "hard_shrink": ("hard_shrink", {}),
    "hard_shrink:1": ("hard_shrink", {"threshold": 1.0}),
    "threshold": ("threshold", {"threshold": 0.5, "default_value": -2.0}),
    "linear": ("linear", {}),
    "softmax": ("softmax", {}),
    "softmax:axis0": ("softmax", {"axis": 0}),
    "log_softmax": ("log_softmax", {}),
    "log_softmax:axis0": ("log_softmax", {"axis": 0}),
    "glu": ("glu", {}),
    "glu:axis0": ("glu", {"axis": 0}),
    "sparsemax": ("sparsemax", {}),
}

CONSTRAINTS = {
    "max_norm": ("dense", constraints.MaxNorm()),
    "max_norm:1.5_axis1": ("dense", constraints.MaxNorm(max_value=1.5, axis=1)),
    "max_norm:conv": ("conv", constraints.MaxNorm(max_value=1.0, axis=[0, 1, 2])),
    "unit_norm": ("dense", constraints.UnitNorm()),
    "unit_norm:axis1": ("dense", constraints.UnitNorm(axis=1)),
    "unit_norm:conv": ("conv", constraints.UnitNorm(axis=[0, 1, 2])),
    "min_max_norm": ("dense", constraints.MinMaxNorm()),
    "min_max_norm:args": ("dense", constraints.MinMaxNorm(min_value=0.5, max_value=1.5, rate=0.7, axis=1)),
    "min_max_norm:conv": ("conv", constraints.MinMaxNorm(min_value=1.0, max_value=2.0, axis=[0, 1, 2])),
    "non_neg": ("dense", constraints.NonNeg()),
}

REGULARIZERS = {
    "l1": regularizers.get("l1"),
    "l2": regularizers.get("l2"),
    "l1l2": regularizers.L1L2(l1=0.01, l2=0.02),
    "l1:0.3": regularizers.L1(0.3),
    "orthogonal_rows": regularizers.OrthogonalRegularizer(factor=0.05, mode="rows"),
    "orthogonal_columns": regularizers.OrthogonalRegularizer(factor=0.05, mode="columns"),
}


def inputs(rng):
    edges = [0.0, 1e-7, -1e-7, 1e-3, -1e-3, 0.25, -0.25, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 2.0, -2.0, 2.5,
             -2.5, 2.9, -2.9, 3.0, -3.0, 3.1, -3.1, 5.9, 6.0, 6.1, -6.0, 10.0, -10.0, 20.0, -20.0, 50.0]
    values = np.concatenate([edges, [-50.0], rng.normal(0.0, 2.0, 96 - len(edges) - 1)])
    return values.astype(np.float32).reshape(6, 16)


def activation_cases(x, w, out):
    for case, (name, kwargs) in ACTIVATIONS.items():
        fn = activations.get(name)
        y = np.asarray(fn(jnp.asarray(x), **kwargs))
        out[f"fwd/{case}"] = y

        def loss(v, fn=fn, kwargs=kwargs):
            y = fn(v, **kwargs)
            return jnp.sum(y * jnp.asarray(w[tuple(slice(0, n) for n in y.shape)]))

        out[f"grad/{case}"] = np.asarray(jax.grad(loss)(jnp.asarray(x)))


def layer_cases(x, rng, out):
    x3 = rng.normal(0.0, 2.0, (2, 3, 4)).astype(np.float32)
    out["layer_x3"] = x3
    cases = {
        "ReLU": (layers.ReLU(), x),
        "ReLU:args": (layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5), x),
        "LeakyReLU": (layers.LeakyReLU(), x),
        "LeakyReLU:0.1": (layers.LeakyReLU(negative_slope=0.1), x),
        "ELU": (layers.ELU(), x),
        "ELU:0.7": (layers.ELU(alpha=0.7), x),
        "Softmax": (layers.Softmax(), x3),
        "Softmax:axis1": (layers.Softmax(axis=1), x3),
        "Softmax:axes12": (layers.Softmax(axis=[1, 2]), x3),
    }
    for case, (layer, data) in cases.items():
        out[f"layer/{case}"] = np.asarray(layer(data))
    mask = np.array([[True, True, False, True], [False, True, True, True]])[:, None, :]
    out["softmax_mask"] = mask
    out["layer/Softmax:mask"] = np.asarray(layers.Softmax()(x3, mask=mask))
    prelu = layers.PReLU(shared_axes=[1])
    prelu.build((None, 3, 4))
    alpha = rng.uniform(0.05, 0.5, (1, 4)).astype(np.float32)
    prelu.set_weights([alpha])
    out["prelu_alpha"] = alpha
    out["layer/PReLU:shared1"] = np.asarray(prelu(x3))


def constraint_cases(rng, out):
    weights = {"dense": rng.normal(0.0, 1.0, (5, 4)).astype(np.float32),
               "conv": rng.normal(0.0, 0.4, (3, 3, 2, 4)).astype(np.float32)}
    weights["dense"][:, 2] *= 0.1  # one small column, left alone by max_norm
    out["w_dense"], out["w_conv"] = weights["dense"], weights["conv"]
    for case, (which, constraint) in CONSTRAINTS.items():
        out[f"constraint/{case}"] = np.asarray(constraint(jnp.asarray(weights[which])))


def regularizer_cases(out):
    w = jnp.asarray(out["w_dense"])
    for case, reg in REGULARIZERS.items():
        out[f"reg/{case}"] = np.asarray(reg(w))
        out[f"reg_grad/{case}"] = np.asarray(jax.grad(lambda v, reg=reg: reg(v))(w))


def _class_or_none(get, name):
    """The class name ``get(name)`` gives, or None where Keras rejects the name (any error)."""
    try:
        return type(get(name)).__name__
    except Exception:  # noqa: BLE001 - Keras raises ValueError or, for 'constant', KeyError
        return None


def configs():
    inits = {
        "GlorotUniform": initializers.GlorotUniform(),
        "GlorotNormal:seed": initializers.GlorotNormal(seed=3),
        "HeNormal": initializers.HeNormal(),
        "HeUniform": initializers.HeUniform(),
        "LecunNormal": initializers.LecunNormal(),
        "LecunUniform": initializers.LecunUniform(),
        "RandomNormal": initializers.RandomNormal(),
        "RandomNormal:args": initializers.RandomNormal(mean=1.0, stddev=2.0, seed=7),
        "RandomUniform": initializers.RandomUniform(),
        "TruncatedNormal": initializers.TruncatedNormal(),
        "VarianceScaling": initializers.VarianceScaling(),
        "VarianceScaling:args": initializers.VarianceScaling(scale=2.0, mode="fan_out", distribution="uniform",
                                                             seed=1),
        "Orthogonal": initializers.Orthogonal(),
        "Orthogonal:gain": initializers.Orthogonal(gain=2.0, seed=5),
        "Zeros": initializers.Zeros(),
        "Ones": initializers.Ones(),
        "Constant": initializers.Constant(3.0),
    }
    names = ["glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform",
             "random_normal", "random_uniform", "truncated_normal", "orthogonal", "zeros", "ones", "zero",
             "one", "normal", "uniform", "constant", "identity", "variance_scaling", "Identity",
             "IdentityInitializer", "OrthogonalInitializer"]
    result = {
        "initializers": {k: {"class_name": type(v).__name__, "config": v.get_config()} for k, v in inits.items()},
        "initializer_names": {n: _class_or_none(initializers.get, n) for n in names},
        "regularizers": {k: {"class_name": type(v).__name__, "config": v.get_config()}
                         for k, v in REGULARIZERS.items()},
        "regularizer_names": {},
        "constraints": {k: {"class_name": type(c).__name__, "config": c.get_config()}
                        for k, (_, c) in CONSTRAINTS.items()},
        "constraint_names": {},
        "layers": {},
        "activation_serialize": {n: activations.serialize(activations.get(n))
                                 for n in ["relu", "swish", "silu", "hard_swish", "gelu", "softmax"]},
    }
    for n in ["l1", "l2", "l1l2", "L1L2", "L1", "L2", "orthogonal_regularizer", "l1_l2"]:
        try:
            reg = regularizers.get(n)
            result["regularizer_names"][n] = {"class_name": type(reg).__name__, "config": reg.get_config()}
        except ValueError:
            result["regularizer_names"][n] = None
    for n in ["max_norm", "MaxNorm", "non_neg", "unit_norm", "min_max_norm", "NonNeg", "maxnorm"]:
        result["constraint_names"][n] = _class_or_none(constraints.get, n)
    base = {"name", "trainable", "dtype"}
    layer_objs = {
        "ReLU": layers.ReLU(), "ReLU:args": layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5),
        "LeakyReLU": layers.LeakyReLU(), "ELU": layers.ELU(alpha=0.5), "Softmax": layers.Softmax(),
        "Softmax:axes": layers.Softmax(axis=[1, 2]), "PReLU": layers.PReLU(),
        "PReLU:args": layers.PReLU(alpha_initializer="ones", alpha_regularizer="l2", alpha_constraint="non_neg",
                                   shared_axes=[1, 2]),
    }
    for k, layer in layer_objs.items():
        config = layer.get_config()
        result["layers"][k] = {"class_name": type(layer).__name__, "name": config["name"],
                               "config": {key: v for key, v in config.items() if key not in base}}
    return result


def main():
    rng = np.random.default_rng(20240611)
    x = inputs(rng)
    w = rng.normal(0.0, 1.0, x.shape).astype(np.float32)
    out = {"x": x, "w": w, "cases": np.array(json.dumps(ACTIVATIONS, sort_keys=True))}
    activation_cases(x, w, out)
    layer_cases(x, rng, out)
    constraint_cases(rng, out)
    regularizer_cases(out)
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT / "activations_golden.npz", **out)
    with open(OUT / "activations_configs.json", "w") as f:
        json.dump(configs(), f, indent=1)  # insertion order: Keras's config key order
        f.write("\n")
    print(f"wrote {len(out)} arrays and the configs to {OUT}")


if __name__ == "__main__":
    main()
