"""Regularizers (penalty values and gradients vs Keras, float64 gradient checks) and constraints (values vs
Keras, dtypes), with their configs and names."""
import json
import pathlib

import numpy as np
import pytest

from kspec import constraints, regularizers
from kspec.engine import Tensor, Variable
from kspec.testing import check_backward

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
GOLDEN = np.load(FIXTURES / "activations_golden.npz")
CONFIGS = json.loads((FIXTURES / "activations_configs.json").read_text())
W_DENSE, W_CONV = GOLDEN["w_dense"], GOLDEN["w_conv"]
REG_CASES = sorted(CONFIGS["regularizers"])
CONSTRAINT_CASES = sorted(CONFIGS["constraints"])


def _regularizer(case):
    return regularizers.get(CONFIGS["regularizers"][case])


# -- regularizers -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", REG_CASES, ids=REG_CASES)
def test_regularizer_value_and_gradient_match_keras(case):
    w = Variable(W_DENSE.copy(), name="kernel")
    penalty = _regularizer(case)(w)
    assert isinstance(penalty, Tensor) and penalty.shape == (), f"{case}: penalty is not a scalar Tensor"
    assert penalty.dtype == np.float32, f"{case}: penalty dtype {penalty.dtype}"
    np.testing.assert_allclose(penalty.data, GOLDEN[f"reg/{case}"], rtol=1e-6, err_msg=f"{case}: penalty value")
    penalty.backward()
    np.testing.assert_allclose(w.grad, GOLDEN[f"reg_grad/{case}"], rtol=1e-5, atol=1e-8,
                               err_msg=f"{case}: penalty gradient")


@pytest.mark.parametrize("case", REG_CASES, ids=REG_CASES)
def test_regularizer_backward_float64(case):
    reg = _regularizer(case)
    check_backward(lambda t: reg(t), [W_DENSE.astype(np.float64)])


@pytest.mark.parametrize("reg,expected", [
    (regularizers.L1(0.1), 0.1 * 6.0),
    (regularizers.L2(0.1), 0.1 * 14.0),
    (regularizers.L1L2(l1=0.1, l2=0.2), 0.1 * 6.0 + 0.2 * 14.0),
    (regularizers.L1L2(), 0.0),
], ids=["l1", "l2", "l1l2", "l1l2-zero"])
def test_regularizer_formulas(reg, expected):
    x = Tensor(np.array([[1.0, -2.0, 3.0]], np.float32), requires_grad=True)
    value = reg(x)
    assert abs(float(value.data) - expected) < 1e-5, f"{type(reg).__name__}: {float(value.data)} vs {expected}"


def test_orthogonal_regularizer_on_orthogonal_rows_is_zero():
    rows = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]], np.float32)
    assert float(regularizers.OrthogonalRegularizer(0.3)(rows).data) == 0.0, "orthogonal rows cost nothing"
    zero_row = np.array([[0.0, 0.0], [1.0, 1.0]], np.float32)
    value = regularizers.OrthogonalRegularizer(0.3)(Tensor(zero_row, requires_grad=True))
    value.backward()  # a zero row must not produce NaN gradients
    assert float(value.data) == 0.0, "a zero row is orthogonal to everything"
    with pytest.raises(ValueError, match="rank 2"):
        regularizers.OrthogonalRegularizer()(np.ones((2, 2, 2), np.float32))
    with pytest.raises(ValueError, match="mode"):
        regularizers.OrthogonalRegularizer(mode="diagonal")


@pytest.mark.parametrize("case", REG_CASES, ids=REG_CASES)
def test_regularizer_config_matches_keras(case):
    keras = CONFIGS["regularizers"][case]
    reg = _regularizer(case)
    assert type(reg).__name__ == keras["class_name"] and reg.get_config() == keras["config"], (
        f"{case}: {type(reg).__name__} {reg.get_config()} vs Keras {keras}")
    serialized = regularizers.serialize(reg)
    assert serialized["class_name"] == keras["class_name"] and serialized["config"] == keras["config"]
    assert regularizers.get(serialized).get_config() == reg.get_config(), f"{case}: round trip"


KERAS_REG_NAMES = sorted(n for n, v in CONFIGS["regularizer_names"].items() if v is not None)


@pytest.mark.parametrize("name", KERAS_REG_NAMES, ids=KERAS_REG_NAMES)
def test_regularizer_names_resolve_like_keras(name):
    keras = CONFIGS["regularizer_names"][name]
    reg = regularizers.get(name)
    assert type(reg).__name__ == keras["class_name"] and reg.get_config() == keras["config"], (
        f"{name!r}: {type(reg).__name__} {reg.get_config()} vs Keras {keras}")


def test_l1_l2_string_means_both_at_0_01():
    """Keras 3.15.1 rejects 'l1_l2' although its docstring gives l1=l2=0.01 (Keras 2's meaning); kspec
    follows the documented meaning. It serializes as a plain L1L2."""
    assert CONFIGS["regularizer_names"]["l1_l2"] is None, "fixture: Keras rejects 'l1_l2'"
    reg = regularizers.get("l1_l2")
    assert isinstance(reg, regularizers.L1L2) and reg.get_config() == {"l1": 0.01, "l2": 0.01}
    assert regularizers.serialize(reg)["class_name"] == "L1L2"
    assert type(regularizers.get(regularizers.serialize(reg))) is regularizers.L1L2


@pytest.mark.parametrize("make", [lambda: regularizers.L1(-0.1), lambda: regularizers.L2(float("nan")),
                                  lambda: regularizers.L1L2(l1="x"),
                                  lambda: regularizers.OrthogonalRegularizer(-1)],
                         ids=["l1-negative", "l2-nan", "l1l2-string", "orthogonal-negative"])
def test_regularizer_factors_are_validated(make):
    with pytest.raises(ValueError, match="non-negative"):
        make()


def test_unknown_regularizer_raises():
    with pytest.raises(ValueError, match="unknown regularizer"):
        regularizers.get("l3")


# -- constraints -------------------------------------------------------------------------------------------
def _weights_for(case):
    return W_CONV if case.endswith("conv") else W_DENSE


@pytest.mark.parametrize("case", CONSTRAINT_CASES, ids=CONSTRAINT_CASES)
def test_constraint_values_match_keras(case):
    constraint = constraints.get(CONFIGS["constraints"][case])
    w = _weights_for(case).copy()
    out = constraint(w)
    assert out.dtype == np.float32 and out.shape == w.shape, f"{case}: {out.dtype} {out.shape}"
    np.testing.assert_allclose(out, GOLDEN[f"constraint/{case}"], rtol=2e-7, atol=1e-8,
                               err_msg=f"{case}: constrained weights differ from Keras")
    np.testing.assert_array_equal(w, _weights_for(case), err_msg=f"{case}: the input array was modified")


@pytest.mark.parametrize("case", CONSTRAINT_CASES, ids=CONSTRAINT_CASES)
def test_constraint_keeps_float64(case):
    constraint = constraints.get(CONFIGS["constraints"][case])
    out = constraint(_weights_for(case).astype(np.float64))
    assert out.dtype == np.float64, f"{case}: float64 weights came back {out.dtype}"


def test_constraint_properties():
    w = W_DENSE.astype(np.float64)
    norms = np.sqrt((w ** 2).sum(0))
    capped = constraints.MaxNorm(max_value=1.0)(w)
    np.testing.assert_allclose(np.sqrt((capped ** 2).sum(0)), np.minimum(norms, 1.0) * norms / (norms + 1e-7),
                               rtol=1e-12, err_msg="max_norm caps the column norms at max_value")
    assert norms[2] < 1.0, "fixture: column 2 is short"
    np.testing.assert_allclose(capped[:, 2], w[:, 2], rtol=1e-6, err_msg="max_norm leaves short columns")
    unit = constraints.UnitNorm(axis=1)(w)
    np.testing.assert_allclose(np.sqrt((unit ** 2).sum(1)), 1.0, rtol=1e-6, err_msg="unit_norm rows")
    bounded = constraints.MinMaxNorm(min_value=0.5, max_value=0.8)(w)
    out_norms = np.sqrt((bounded ** 2).sum(0))
    assert np.all(out_norms >= 0.5 - 1e-6) and np.all(out_norms <= 0.8 + 1e-6), f"min_max_norm: {out_norms}"
    positive = constraints.NonNeg()(w)
    assert positive.min() >= 0 and np.array_equal(positive[w > 0], w[w > 0]), "non_neg"


@pytest.mark.parametrize("case", CONSTRAINT_CASES, ids=CONSTRAINT_CASES)
def test_constraint_config_round_trip(case):
    keras = CONFIGS["constraints"][case]
    constraint = constraints.get(keras)
    assert type(constraint).__name__ == keras["class_name"] and constraint.get_config() == keras["config"]
    assert list(constraint.get_config()) == list(keras["config"]), f"{case}: config key order"
    serialized = constraints.serialize(constraint)
    assert serialized == {"module": "keras.constraints", **keras, "registered_name": None}, f"{case}: serialize"


CONSTRAINT_NAMES = sorted(CONFIGS["constraint_names"])


@pytest.mark.parametrize("name", CONSTRAINT_NAMES, ids=CONSTRAINT_NAMES)
def test_constraint_names_resolve_like_keras(name):
    keras_class = CONFIGS["constraint_names"][name]
    if keras_class is None:
        # Keras 3 rejects Keras 2's 'maxnorm'; kspec's case-insensitive registry resolves it to MaxNorm.
        assert name == "maxnorm" and isinstance(constraints.get(name), constraints.MaxNorm), f"{name!r}"
        return
    assert type(constraints.get(name)).__name__ == keras_class, f"{name!r}"


def test_unknown_constraint_raises():
    with pytest.raises(ValueError, match="unknown constraint"):
        constraints.get("max_norms")


def test_default_arguments_are_keras():
    assert constraints.MaxNorm().get_config() == {"max_value": 2, "axis": 0}
    assert constraints.MinMaxNorm().get_config() == {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}
    assert constraints.UnitNorm().get_config() == {"axis": 0}
    assert regularizers.L2().get_config() == {"l2": 0.01}
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
