"""Activations: Keras golden values and gradients, reference formulas, float64 gradient checks, dtypes,
erf accuracy, and the get/serialize registry.

Golden values come from ``tools/make_golden_activations.py`` (Keras 3.15.1, JAX backend): outputs
``fwd/<case>`` and gradients ``grad/<case>`` of ``sum(f(x) * w)`` for the cases listed in ``cases``.
"""
import inspect
import json
import math
import pathlib

import numpy as np
import pytest

from kspec import activations, registry
from kspec.engine import Tensor, ops
from kspec.engine.ops import activations as act_ops
from kspec.testing import check_backward

GOLDEN = np.load(pathlib.Path(__file__).parent / "fixtures" / "activations_golden.npz")
CASES = json.loads(str(GOLDEN["cases"]))  # case -> [activation name, kwargs]
X, W = GOLDEN["x"], GOLDEN["w"]

# Where float32 results cancel catastrophically (tails of the tanh-GELU, x - tanh(x) near 0, x + sqrt(x^2 + b)
# for x << 0: ~|x| * 4e-8) rounding differs between implementations, so an absolute floor applies; all else is held
# to 1e-6 relative against Keras.
ATOL = {"gelu:approximate": 3e-7, "tanh_shrink": 2e-7, "squareplus": 2e-6, "squareplus:1": 2e-6}
# Gradients at exact kink points where JAX's clip halves the gradient but kspec's clip passes it whole.
KINK_MISMATCH = {"sparse_sigmoid": (-1.0, 1.0)}
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus(x):
    return np.logaddexp(x, 0.0)


def _gelu_exact(x):
    return 0.5 * x * np.vectorize(math.erfc)(-x / math.sqrt(2.0))


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _sparsemax(x):
    """Sparsemax by its definition: the threshold tau with sum(max(x - tau, 0)) = 1, by bisection."""
    lo, hi = x.min(-1, keepdims=True) - 1.0, x.max(-1, keepdims=True)
    for _ in range(200):
        tau = (lo + hi) / 2
        over = np.maximum(x - tau, 0).sum(-1, keepdims=True) > 1
        lo, hi = np.where(over, tau, lo), np.where(over, hi, tau)
    return np.maximum(x - (lo + hi) / 2, 0)


def _relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    y = np.where(x > threshold, x, 0.0)
    if max_value is not None:
        y = np.clip(y, 0.0, max_value)
    return y - negative_slope * np.maximum(threshold - x, 0.0)


def _glu(x, axis=-1):
    a, b = np.split(x, 2, axis)
    return a * _sigmoid(b)


# Independent float64 formulas (Keras 3 semantics, reference §2), keyed by activation name.
REFERENCE = {
    "relu": _relu,
    "leaky_relu": lambda x, negative_slope=0.2: np.where(x >= 0, x, negative_slope * x),
    "relu6": lambda x: np.clip(x, 0, 6),
    "elu": lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
    "celu": lambda x, alpha=1.0: np.maximum(x, 0) + alpha * np.expm1(np.minimum(x, 0) / alpha),
    "softplus": _softplus,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "squareplus": lambda x, b=4: (x + np.sqrt(x * x + b)) / 2,
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "gelu": lambda x, approximate=False: (
        0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))) if approximate
        else _gelu_exact(x)),
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "tanh": np.tanh,
    "tanh_shrink": lambda x: x - np.tanh(x),
    "sigmoid": _sigmoid,
    "log_sigmoid": lambda x: -_softplus(-x),
    "exponential": np.exp,
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "hard_silu": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "hard_swish": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "sparse_sigmoid": lambda x: np.clip((x + 1) / 2, 0, 1),
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "soft_shrink": lambda x, threshold=0.5: np.sign(x) * np.maximum(np.abs(x) - threshold, 0),
    "hard_shrink": lambda x, threshold=0.5: np.where(np.abs(x) > threshold, x, 0),
    "threshold": lambda x, threshold, default_value: np.where(x > threshold, x, default_value),
    "linear": lambda x: x,
    "softmax": lambda x, axis=-1: _softmax(x, axis),
    "log_softmax": lambda x, axis=-1: np.log(_softmax(x, axis)),
    "glu": _glu,
    "sparsemax": lambda x, axis=-1: _sparsemax(x),
}


def _call(case, x):
    name, kwargs = CASES[case]
    return activations.get(name)(x, **kwargs)


def _weights_for(y):
    return W[tuple(slice(0, n) for n in y.shape)]


def _sparsemax_rows_keras_gets_right():
    """Keras 3.15.1's sparsemax sums the cumulative sums over the whole support when computing tau, which is
    only right when the support has one element; the golden comparison is restricted to those rows."""
    return (_sparsemax(X.astype(np.float64)) > 0).sum(-1) == 1


@pytest.mark.parametrize("case", sorted(CASES), ids=sorted(CASES))
def test_forward_matches_keras_golden(case):
    y = _call(case, Tensor(X.copy()))
    ref = GOLDEN[f"fwd/{case}"]
    assert y.dtype == np.float32, f"{case}: output dtype {y.dtype} from float32 input"
    assert y.shape == ref.shape, f"{case}: shape {y.shape} vs Keras {ref.shape}"
    rows = _sparsemax_rows_keras_gets_right() if case == "sparsemax" else slice(None)
    np.testing.assert_allclose(y.data[rows], ref[rows], rtol=1e-6, atol=ATOL.get(case, 1e-30),
                               err_msg=f"{case}: values differ from Keras")


@pytest.mark.parametrize("case", sorted(c for c in CASES if c != "sparsemax"),
                         ids=sorted(c for c in CASES if c != "sparsemax"))
def test_gradient_matches_keras_golden(case):
    x = Tensor(X.copy(), requires_grad=True)
    y = _call(case, x)
    (y * Tensor(_weights_for(y))).sum().backward()
    ref = GOLDEN[f"grad/{case}"]
    keep = ~np.isin(X, KINK_MISMATCH.get(case.split(":")[0], ()))
    scale = np.maximum(np.abs(ref), 1.0)
    err = np.abs(x.grad - ref) / scale
    assert err[keep].max() <= 5e-6, (f"{case}: gradient differs from Keras's by {err[keep].max():.3g} "
                                      f"(relative) at x={X[keep][err[keep].argmax()]}")


def test_sparsemax_keras_rows_cover_both_kinds():
    """The golden input holds rows with a single-element support (compared) and wider ones (Keras bug)."""
    single = _sparsemax_rows_keras_gets_right()
    assert single.any() and not single.all(), f"support-size-1 rows: {single}"


@pytest.mark.parametrize("case", sorted(CASES), ids=sorted(CASES))
def test_forward_matches_reference_formula(case):
    name, kwargs = CASES[case]
    x64 = X.astype(np.float64)
    expected = REFERENCE[name](x64, **kwargs)
    y = _call(case, Tensor(X.copy()))
    # float32 rounding of O(1) intermediates (e.g. the row maximum in log_softmax) gives ~1e-7 absolute.
    np.testing.assert_allclose(y.data, expected, rtol=2e-6, atol=ATOL.get(case, 1e-7),
                               err_msg=f"{case}: values differ from the float64 reference formula")


def _off_kinks(shape, seed, spread=3.0):
    """Random float64 values at least 0.05 away from every kink of the activations tested here."""
    kinks = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.5, 2.0, 2.5, 3.0, -3.0, 6.0])
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, spread, shape)
    near = np.abs(x[..., None] - kinks).min(-1) < 0.05
    return np.where(near, x + 0.1, x)


@pytest.mark.parametrize("case", sorted(CASES), ids=sorted(CASES))
def test_backward_float64(case):
    x = _off_kinks((4, 6), seed=sorted(CASES).index(case))
    check_backward(lambda t: _call(case, t), [x])


def test_backward_float64_keeps_float64():
    """A float64 input stays float64 through every activation (the gradient check relies on it)."""
    x = Tensor(_off_kinks((2, 4), 1), requires_grad=True)
    for case in CASES:
        y = _call(case, x)
        assert y.dtype == np.float64, f"{case}: float64 input gave {y.dtype}"


ALL_NAMES = registry.names("activation")


@pytest.mark.parametrize("name", ALL_NAMES, ids=ALL_NAMES)
def test_every_registered_activation_keeps_float32_and_shape(name):
    fn = activations.get(name)
    x = Tensor(np.linspace(-4, 4, 24, dtype=np.float32).reshape(2, 12), requires_grad=True)
    y = fn(x, 0.5, -1.0) if name == "threshold" else fn(x)
    expected_shape = (2, 6) if name == "glu" else (2, 12)
    assert y.shape == expected_shape, f"{name}: output shape {y.shape}"
    assert y.dtype == np.float32, f"{name}: output dtype {y.dtype} from float32 input"
    y.sum().backward()
    grad_dtype = getattr(x.grad, "dtype", None)
    assert grad_dtype == np.float32, f"{name}: gradient dtype {grad_dtype}"


def test_every_keras_activation_is_registered():
    keras_names = {"relu", "leaky_relu", "relu6", "softmax", "celu", "elu", "selu", "softplus", "softsign",
                   "squareplus", "soft_shrink", "sparse_plus", "silu", "gelu", "glu", "tanh", "tanh_shrink",
                   "threshold", "sigmoid", "sparse_sigmoid", "exponential", "hard_sigmoid", "hard_silu",
                   "hard_tanh", "hard_shrink", "linear", "mish", "log_softmax", "log_sigmoid", "sparsemax",
                   "swish", "hard_swish"}
    missing = keras_names - set(ALL_NAMES)
    assert not missing, f"Keras activations not registered: {sorted(missing)}"
    assert set(CASES) >= {n for n in keras_names}, "every Keras activation has a golden case"


def _graph_ops(t):
    """The op names in the tape behind Tensor t."""
    names, stack, seen = set(), [t], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        names.add(node.op)
        stack.extend(node._parents)
    return names


def test_every_activation_op_has_a_gradient_case():
    """Each primitive in engine/ops/activations.py is reached by a gradient-checked case."""
    defined = {n for n, f in vars(act_ops).items()
               if inspect.isfunction(f) and f.__module__ == act_ops.__name__ and not n.startswith("_")}
    defined -= {"erf_array", "erfc_array"}  # array helpers, tested for accuracy below
    reached = set()
    for case in CASES:
        reached |= _graph_ops(_call(case, Tensor(_off_kinks((2, 4), 0), requires_grad=True)))
    for fn, inputs in OP_CASES.values():
        reached |= _graph_ops(fn(*[Tensor(a, requires_grad=True) for a in inputs]))
    missing = sorted(defined - reached)
    assert not missing, f"ops in engine/ops/activations.py without a gradient check: {missing}"


# Primitive ops not reached through an activation (or reached only with defaults): direct checks.
OP_CASES = {
    "erf": (lambda t: ops.erf(t), [np.linspace(-3.2, 3.2, 17)]),
    "prelu": (lambda t, a: ops.prelu(t, a), [_off_kinks((3, 4), 7), np.full((1, 4), 0.25)]),
    "relu_ext-negative-threshold": (lambda t: ops.relu_ext(t, 0.3, 2.0, -0.7), [_off_kinks((3, 4), 8)]),
    "expm1": (lambda t: ops.expm1(t), [np.linspace(-2, 2, 9)]),
}


@pytest.mark.parametrize("case", sorted(OP_CASES), ids=sorted(OP_CASES))
def test_primitive_op_backward_float64(case):
    fn, inputs = OP_CASES[case]
    check_backward(fn, inputs)


def test_relu_ext_negative_threshold_values():
    """relu with a negative threshold keeps x in (threshold, 0) unless max_value clips it to [0, max]."""
    x = np.array([-2.0, -0.5, 0.5, 3.0], dtype=np.float32)
    got = ops.relu_ext(Tensor(x), negative_slope=0.3, max_value=2.0, threshold=-1.0).data
    np.testing.assert_allclose(got, _relu(x.astype(np.float64), 0.3, 2.0, -1.0), rtol=1e-6,
                               err_msg="relu(negative_slope=.3, max_value=2, threshold=-1)")
    np.testing.assert_array_equal(activations.relu(Tensor(x), threshold=-1.0).data, [0.0, -0.5, 0.5, 3.0],
                                  err_msg="relu(threshold=-1)")


def test_relu_documented_example():
    """Reference §2: slope .1, max 2, threshold 1 on [-1, .5, 1.5, 3] gives [-0.2, -0.05, 1.5, 2]."""
    got = activations.relu(Tensor(np.array([-1.0, 0.5, 1.5, 3.0], np.float32)), negative_slope=0.1,
                           max_value=2.0, threshold=1.0)
    np.testing.assert_allclose(got.data, [-0.2, -0.05, 1.5, 2.0], rtol=1e-6, err_msg="relu example")


def test_hard_sigmoid_is_keras3_not_keras2():
    got = float(activations.hard_sigmoid(Tensor(np.float32([1.0]))).data[0])
    assert abs(got - 2.0 / 3.0) < 1e-6, f"hard_sigmoid(1) = {got}, Keras 3 gives 0.6667 (Keras 2's 0.7)"


@pytest.mark.parametrize("dtype,cutoff", [(np.float64, 3e-14), (np.float32, 6e-7)], ids=["float64", "float32"])
def test_erf_and_erfc_accuracy(dtype, cutoff):
    x = np.linspace(-8, 8, 4001).astype(dtype)
    x64 = x.astype(np.float64)
    erf_ref = np.array([math.erf(v) for v in x64])
    erfc_ref = np.array([math.erfc(v) for v in x64])
    erf, erfc = act_ops.erf_array(x), act_ops.erfc_array(x)
    assert erf.dtype == dtype and erfc.dtype == dtype, f"erf/erfc dtypes {erf.dtype}, {erfc.dtype}"
    erf_rel = np.abs(erf - erf_ref) / np.maximum(np.abs(erf_ref), 1e-300)
    erfc_rel = np.abs(erfc - erfc_ref) / erfc_ref
    assert erf_rel.max() < cutoff, f"erf relative error {erf_rel.max():.3g} at x={x[erf_rel.argmax()]}"
    assert erfc_rel.max() < cutoff, f"erfc relative error {erfc_rel.max():.3g} at x={x[erfc_rel.argmax()]}"


def test_erf_edge_values():
    x = np.array([0.0, 1e-30, -1e-12, np.inf, -np.inf, 1e300, -1e300, np.nan])
    slope = 2 / math.sqrt(math.pi)
    np.testing.assert_allclose(act_ops.erf_array(x)[:7], [0.0, slope * 1e-30, -slope * 1e-12, 1, -1, 1, -1],
                               rtol=1e-15, atol=0, err_msg="erf near 0 and at infinities")
    np.testing.assert_array_equal(act_ops.erfc_array(x)[3:7], [0, 2, 0, 2], err_msg="erfc at infinities")
    assert np.isnan(act_ops.erf_array(x)[-1]) and np.isnan(act_ops.erfc_array(x)[-1]), "NaN must propagate"
    x32 = np.array([0.0, 1e-30, np.inf, -np.inf, 3e38, -3e38], dtype=np.float32)
    np.testing.assert_allclose(act_ops.erf_array(x32), [0, slope * 1e-30, 1, -1, 1, -1], rtol=1e-7, atol=0,
                               err_msg="float32 erf near 0 and at infinities")
    np.testing.assert_array_equal(act_ops.erfc_array(x32)[2:], [0, 2, 0, 2], err_msg="float32 erfc tails")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_zero_dimensional_inputs(dtype):
    for value in (0.3, -4.0):
        x = Tensor(np.array(value, dtype=dtype), requires_grad=True)
        y = ops.erf(x)
        y.backward()
        assert y.shape == () and y.dtype == dtype, f"erf({value}) gave shape {y.shape}, dtype {y.dtype}"
        assert abs(float(y.data) - math.erf(value)) < 1e-6, f"erf({value}) = {float(y.data)}"
        expected_grad = 2 / math.sqrt(math.pi) * math.exp(-value * value)
        assert abs(float(x.grad) - expected_grad) < 1e-6 * expected_grad, f"erf'({value}) = {float(x.grad)}"
        gelu = activations.gelu(Tensor(np.array(value, dtype=dtype)))
        assert gelu.shape == () and gelu.dtype == dtype, f"gelu of a 0-d {np.dtype(dtype)} input"


def test_softmax_and_sigmoid_keep_their_logits():
    x = Tensor(X.copy())
    assert activations.softmax(x).logits is x, "softmax output must carry .logits"
    assert activations.sigmoid(x).logits is x, "sigmoid output must carry .logits"


def test_softmax_over_a_size_one_axis_warns():
    with pytest.warns(UserWarning, match="has size 1"):
        out = activations.softmax(Tensor(np.zeros((3, 1), np.float32)))
    np.testing.assert_array_equal(out.data, np.ones((3, 1)), err_msg="softmax over one element is 1")


def test_glu_rejects_an_odd_axis():
    with pytest.raises(ValueError, match="divisible by 2"):
        activations.glu(Tensor(np.zeros((2, 3), np.float32)))


def test_integer_input_becomes_float32():
    y = activations.gelu(np.array([-1, 0, 2]))
    assert y.dtype == np.float32, f"gelu of ints gave {y.dtype}"


# -- get / serialize ------------------------------------------------------------------------------------
GOLDEN_CONFIGS = json.loads((pathlib.Path(__file__).parent / "fixtures" / "activations_configs.json").read_text())


@pytest.mark.parametrize("name", ALL_NAMES, ids=ALL_NAMES)
def test_get_serialize_round_trip(name):
    fn = activations.get(name)
    assert callable(fn), f"get({name!r}) is not callable"
    assert activations.get(activations.serialize(fn)) is fn, f"{name}: serialize/get do not round-trip"


@pytest.mark.parametrize("name,expected", sorted(GOLDEN_CONFIGS["activation_serialize"].items()),
                         ids=sorted(GOLDEN_CONFIGS["activation_serialize"]))
def test_serialize_names_like_keras(name, expected):
    assert activations.serialize(activations.get(name)) == expected, f"serialize(get({name!r}))"


def test_get_forms():
    assert activations.get(None) is activations.linear, "get(None) is linear"
    assert activations.get("swish") is activations.silu, "swish aliases silu"
    assert activations.get("hard_swish") is activations.hard_silu, "hard_swish aliases hard_silu"
    custom = lambda x: x  # noqa: E731
    assert activations.get(custom) is custom, "a callable is returned as is"
    keras_dict = {"module": "keras.activations", "class_name": "function", "config": "elu",
                  "registered_name": "elu"}
    assert activations.get(keras_dict) is activations.elu, "Keras's function config"


@pytest.mark.parametrize("bad", ["relux", "", 3, {"class_name": "function", "config": "nope"}],
                         ids=["unknown", "empty", "number", "dict"])
def test_get_rejects_unknown(bad):
    with pytest.raises(ValueError, match="Could not interpret activation"):
        activations.get(bad)
