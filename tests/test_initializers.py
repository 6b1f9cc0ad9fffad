"""Initializers: shapes, dtypes, distributions (Keras's limits and standard deviations), orthogonality, seed
determinism, Keras configs and names."""
import json
import math
import pathlib

import numpy as np
import pytest

from kspec import backend, initializers, registry
from kspec.initializers import compute_fans

CONFIGS = json.loads((pathlib.Path(__file__).parent / "fixtures" / "activations_configs.json").read_text())
RANDOM_NAMES = ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
                "random_normal", "random_uniform", "truncated_normal", "orthogonal", "variance_scaling"]
ALL_NAMES = RANDOM_NAMES + ["zeros", "ones", "constant", "identity"]


@pytest.mark.parametrize("name", ALL_NAMES, ids=ALL_NAMES)
@pytest.mark.parametrize("dtype", [None, np.float64], ids=["default", "float64"])
def test_shape_and_dtype(name, dtype):
    init = initializers.get(name)
    shape = (6, 6) if name == "identity" else (4, 5)
    values = init(shape) if dtype is None else init(shape, dtype=dtype)
    assert values.shape == shape, f"{name}: shape {values.shape}"
    expected = np.float32 if dtype is None else dtype
    assert values.dtype == expected, f"{name}: dtype {values.dtype}, expected {np.dtype(expected)}"


@pytest.mark.parametrize("shape,fans", [((), (1, 1)), ((7,), (7, 7)), ((3, 5), (3, 5)),
                                        ((3, 3, 16, 32), (144, 288)), ((2, 4, 6), (8, 12))],
                         ids=["scalar", "vector", "matrix", "conv2d", "conv1d"])
def test_compute_fans(shape, fans):
    assert compute_fans(shape) == fans, f"fans of {shape}"


def test_compute_fans_with_explicit_axes():
    assert compute_fans((2, 3, 4, 5), input_axes=[0, 2], output_axes=[1, 3]) == (8, 15)


# name, shape, limit (uniform) or stddev (normal), by Keras's formulas (reference §5)
SHAPE = (200, 300)
FAN_IN, FAN_OUT = SHAPE
UNIFORM = {
    "glorot_uniform": math.sqrt(6 / (FAN_IN + FAN_OUT)),
    "he_uniform": math.sqrt(6 / FAN_IN),
    "lecun_uniform": math.sqrt(3 / FAN_IN),
    "random_uniform": 0.05,
}
TRUNCATED = {  # the stddev of the *truncated* values: sqrt(scale / fan) (Keras divides by 0.8796 first)
    "glorot_normal": math.sqrt(2 / (FAN_IN + FAN_OUT)),
    "he_normal": math.sqrt(2 / FAN_IN),
    "lecun_normal": math.sqrt(1 / FAN_IN),
}


@pytest.mark.parametrize("name", sorted(UNIFORM), ids=sorted(UNIFORM))
def test_uniform_limits(name):
    values = initializers.get(name)(SHAPE)
    limit = UNIFORM[name]
    assert np.abs(values).max() <= limit, f"{name}: |value| {np.abs(values).max()} above the limit {limit}"
    assert np.abs(values).max() > 0.99 * limit, f"{name}: values never approach the limit {limit}"
    assert abs(values.mean()) < 0.01 * limit, f"{name}: mean {values.mean()} not near 0"
    assert abs(values.std() - limit / math.sqrt(3)) < 0.02 * limit, f"{name}: std {values.std()}"


@pytest.mark.parametrize("name", sorted(TRUNCATED), ids=sorted(TRUNCATED))
def test_truncated_normal_scaling(name):
    values = initializers.get(name)(SHAPE)
    std = TRUNCATED[name]
    bound = 2 * std / 0.87962566103423978
    assert np.abs(values).max() <= bound * (1 + 1e-6), f"{name}: values beyond 2 stddev ({bound})"
    assert abs(values.std() - std) < 0.02 * std, f"{name}: std {values.std()}, expected {std}"
    assert abs(values.mean()) < 0.02 * std, f"{name}: mean {values.mean()}"


def test_random_normal_defaults_and_arguments():
    values = initializers.get("normal")((300, 300))
    assert abs(values.std() - 0.05) < 0.001 and abs(values.mean()) < 0.001, "normal: mean 0, stddev 0.05"
    values = initializers.RandomNormal(mean=2.0, stddev=0.5)((300, 300))
    assert abs(values.mean() - 2.0) < 0.01 and abs(values.std() - 0.5) < 0.01, "RandomNormal(2, 0.5)"
    assert np.abs(values - 2.0).max() > 3 * 0.5, "RandomNormal is not truncated"


def test_truncated_normal_within_two_stddev():
    values = initializers.TruncatedNormal(mean=1.0, stddev=0.2)((300, 300))
    assert np.abs(values - 1.0).max() <= 0.4 * (1 + 1e-6), "TruncatedNormal beyond mean +- 2 stddev"
    assert np.abs(values - 1.0).max() > 0.39, "TruncatedNormal never nears its bounds"
    # the std of a standard normal truncated at +-2 is 0.87962566
    assert abs(values.std() - 0.2 * 0.87962566) < 0.003, f"TruncatedNormal std {values.std()}"


def test_random_uniform_range():
    values = initializers.get("uniform")((300, 300))
    assert values.min() >= -0.05 and values.max() <= 0.05, "uniform stays within +-0.05"
    values = initializers.RandomUniform(minval=1.0, maxval=3.0)((100, 100))
    assert values.min() >= 1.0 and values.max() <= 3.0 and abs(values.mean() - 2.0) < 0.02, "U(1, 3)"


@pytest.mark.parametrize("mode,distribution,expected", [
    ("fan_in", "uniform", ("limit", math.sqrt(3 * 2.0 / 200))),
    ("fan_out", "uniform", ("limit", math.sqrt(3 * 2.0 / 300))),
    ("fan_avg", "untruncated_normal", ("std", math.sqrt(2.0 / 250))),
    ("fan_in", "normal", ("std", math.sqrt(2.0 / 200))),
], ids=["fan_in-uniform", "fan_out-uniform", "fan_avg-untruncated", "normal-is-truncated"])
def test_variance_scaling(mode, distribution, expected):
    init = initializers.VarianceScaling(scale=2.0, mode=mode, distribution=distribution)
    values = init(SHAPE)
    kind, target = expected
    if kind == "limit":
        assert np.abs(values).max() <= target and np.abs(values).max() > 0.99 * target, f"limit {target}"
    else:
        assert abs(values.std() - target) < 0.02 * target, f"std {values.std()} vs {target}"
    if distribution == "normal":
        assert init.distribution == "truncated_normal", "'normal' means truncated_normal"
        assert np.abs(values).max() <= 2 * target / 0.87962566103423978 * (1 + 1e-6), "truncated at 2 stddev"


@pytest.mark.parametrize("kwargs,match", [({"scale": 0.0}, "scale"), ({"mode": "fan_sum"}, "mode"),
                                          ({"distribution": "cauchy"}, "distribution")],
                         ids=["scale", "mode", "distribution"])
def test_variance_scaling_validates(kwargs, match):
    with pytest.raises(ValueError, match=match):
        initializers.VarianceScaling(**kwargs)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5), (3, 3, 2, 8)], ids=["tall", "wide", "square", "conv"])
def test_orthogonal(shape):
    q = initializers.Orthogonal(gain=1.0, seed=3)(shape, dtype=np.float64)
    flat = q.reshape(-1, shape[-1])
    rows, cols = flat.shape
    gram = flat.T @ flat if rows >= cols else flat @ flat.T
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-12, err_msg=f"orthogonality of {shape}")
    scaled = initializers.Orthogonal(gain=2.5, seed=3)(shape, dtype=np.float64)
    np.testing.assert_allclose(scaled, 2.5 * q, rtol=1e-12, err_msg="gain scales the matrix")


def test_orthogonal_needs_two_dimensions():
    with pytest.raises(ValueError, match="two-dimensional"):
        initializers.Orthogonal()((5,))


def test_constants_and_identity():
    assert np.all(initializers.get("zeros")((2, 3)) == 0) and np.all(initializers.get("one")((2, 3)) == 1)
    assert np.all(initializers.Constant(3.5)((2, 2)) == 3.5), "Constant(3.5)"
    np.testing.assert_array_equal(initializers.Identity(gain=2.0)((2, 3)), [[2, 0, 0], [0, 2, 0]],
                                  err_msg="Identity(gain=2) on a non-square shape")
    with pytest.raises(ValueError, match="2D"):
        initializers.Identity()((2, 2, 2))


# -- determinism -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", RANDOM_NAMES, ids=RANDOM_NAMES)
def test_integer_seed_is_repeatable(name):
    cls = registry.lookup("initializer", name)
    first = cls(seed=42)((8, 6))
    np.testing.assert_array_equal(cls(seed=42)((8, 6)), first, err_msg=f"{name}: same seed, new instance")
    np.testing.assert_array_equal(cls(seed=42)((8, 6)), cls(seed=42)((8, 6)), err_msg=f"{name}: repeat call")
    assert not np.array_equal(cls(seed=43)((8, 6)), first), f"{name}: seeds 42 and 43 give the same values"


@pytest.mark.parametrize("name", RANDOM_NAMES, ids=RANDOM_NAMES)
def test_backend_seed_is_repeatable(name):
    init = initializers.get(name)
    backend.set_seed(7)
    a, b = init((8, 6)), init((8, 6))
    backend.set_seed(7)
    c, d = init((8, 6)), init((8, 6))
    np.testing.assert_array_equal(a, c, err_msg=f"{name}: set_seed(7) does not repeat the first draw")
    np.testing.assert_array_equal(b, d, err_msg=f"{name}: set_seed(7) does not repeat the second draw")
    assert not np.array_equal(a, b), f"{name}: unseeded draws repeat"


def test_seed_must_be_an_integer():
    with pytest.raises(ValueError, match="seed"):
        initializers.RandomNormal(seed="abc")


# -- configs and names --------------------------------------------------------------------------------------
CONFIG_CASES = {
    "GlorotUniform": lambda: initializers.GlorotUniform(),
    "GlorotNormal:seed": lambda: initializers.GlorotNormal(seed=3),
    "HeNormal": lambda: initializers.HeNormal(),
    "HeUniform": lambda: initializers.HeUniform(),
    "LecunNormal": lambda: initializers.LecunNormal(),
    "LecunUniform": lambda: initializers.LecunUniform(),
    "RandomNormal": lambda: initializers.RandomNormal(),
    "RandomNormal:args": lambda: initializers.RandomNormal(mean=1.0, stddev=2.0, seed=7),
    "RandomUniform": lambda: initializers.RandomUniform(),
    "TruncatedNormal": lambda: initializers.TruncatedNormal(),
    "VarianceScaling": lambda: initializers.VarianceScaling(),
    "VarianceScaling:args": lambda: initializers.VarianceScaling(scale=2.0, mode="fan_out",
                                                                 distribution="uniform", seed=1),
    "Orthogonal": lambda: initializers.Orthogonal(),
    "Orthogonal:gain": lambda: initializers.Orthogonal(gain=2.0, seed=5),
    "Zeros": lambda: initializers.Zeros(),
    "Ones": lambda: initializers.Ones(),
    "Constant": lambda: initializers.Constant(3.0),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES), ids=sorted(CONFIG_CASES))
def test_config_matches_keras_and_round_trips(case):
    init = CONFIG_CASES[case]()
    keras = CONFIGS["initializers"][case]
    assert type(init).__name__ == keras["class_name"]
    assert init.get_config() == keras["config"], f"{case}: {init.get_config()} vs Keras {keras['config']}"
    assert list(init.get_config()) == list(keras["config"]), f"{case}: key order differs from Keras"
    serialized = initializers.serialize(init)
    assert serialized == {"module": "keras.initializers", "class_name": keras["class_name"],
                          "config": keras["config"], "registered_name": None}, f"{case}: serialize"
    again = initializers.get(serialized)
    assert type(again) is type(init) and again.get_config() == init.get_config(), f"{case}: round trip"


def test_identity_config_keeps_gain():
    """Keras 3.15.1 reports Identity's config as {} (losing gain); kspec keeps it so it round-trips."""
    init = initializers.get({"class_name": "Identity", "config": {"gain": 3.0}})
    assert init.get_config() == {"gain": 3.0} and init((2, 2))[0, 0] == 3.0


@pytest.mark.parametrize("name", sorted(CONFIGS["initializer_names"]), ids=sorted(CONFIGS["initializer_names"]))
def test_names_resolve_like_keras(name):
    keras_class = CONFIGS["initializer_names"][name]
    init = initializers.get(name)
    if keras_class is None:  # Keras 3.15.1 fails on 'constant' (KeyError in from_config); kspec gives Constant()
        assert name == "constant" and isinstance(init, initializers.Constant), f"{name}"
        return
    assert type(init).__name__ == keras_class, f"{name!r} gives {type(init).__name__}, Keras {keras_class}"


def test_spec_form_and_unknown_names():
    init = initializers.get({"RandomUniform": {"minval": -1.0, "maxval": 1.0, "seed": 2}})
    assert isinstance(init, initializers.RandomUniform) and (init.minval, init.maxval, init.seed) == (-1.0, 1.0, 2)
    assert initializers.get(None) is None
    with pytest.raises(ValueError, match="unknown initializer"):
        initializers.get("glorot_uniformm")
    with pytest.raises(ValueError, match="unknown initializer"):
        initializers.get({"class_name": "Nope", "config": {}})
