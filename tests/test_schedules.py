"""Learning-rate schedules (reference §1.3): float32 values against Keras 3, the formulas at chosen steps,
configs, and the step an optimizer evaluates them at."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

from kspec import optimizers
from kspec.engine import Variable
from kspec.optimizers import schedules
from kspec.serialization import deserialize, serialize

CONFIGS = json.loads((Path(__file__).parent / "fixtures" / "optimizer_configs.json").read_text())
CASES = CONFIGS["schedules"]
IDS = [c["class_name"] + "".join(f"-{k}={v}" for k, v in c["kwargs"].items() if k != "initial_learning_rate")
       for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_values_match_keras_in_float32(case):
    schedule = deserialize("schedule", {case["class_name"]: case["kwargs"]})
    got = [schedule(step) for step in range(len(case["values"]))]
    assert all(isinstance(v, np.float32) for v in got), f"not float32: {[type(v) for v in got][:3]}"
    # Bit-exact except the odd last-bit difference of cos/log between NumPy and XLA.
    np.testing.assert_allclose(np.array(got, np.float64), case["values"], rtol=1e-6, atol=1e-12,
                               err_msg="schedule values differ from Keras")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_config_and_serialize_equal_keras(case):
    schedule = deserialize("schedule", {case["class_name"]: case["kwargs"]})
    assert schedule.get_config() == case["config"], "get_config differs from Keras"
    assert serialize(schedule) == case["serialized"], "serialize differs from Keras"
    revived = deserialize("schedule", case["serialized"])
    assert type(revived) is type(schedule) and revived.get_config() == case["config"], "round trip"


# Formulas of reference §1.3 at hand-picked steps (float64 arithmetic; schedules compute in float32).
FORMULA_CASES = [
    (schedules.ExponentialDecay(0.1, 4, 0.5), 6, 0.1 * 0.5 ** 1.5),
    (schedules.ExponentialDecay(0.1, 4, 0.5, staircase=True), 7, 0.1 * 0.5),
    (schedules.PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1]), 2, 1.0),    # upper-inclusive
    (schedules.PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1]), 3, 0.5),
    (schedules.PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1]), 5, 0.5),
    (schedules.PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1]), 6, 0.1),
    (schedules.InverseTimeDecay(0.1, 2, 0.5), 3, 0.1 / (1 + 0.5 * 1.5)),
    (schedules.InverseTimeDecay(0.1, 2, 0.5, staircase=True), 3, 0.1 / 1.5),
    (schedules.PolynomialDecay(0.1, 4, 0.01, power=2.0), 1, 0.09 * 0.75 ** 2 + 0.01),
    (schedules.PolynomialDecay(0.1, 4, 0.01), 9, 0.01),
    (schedules.PolynomialDecay(0.1, 4, 0.01, cycle=True), 0, 0.1),          # multiplier 1 at step 0
    (schedules.PolynomialDecay(0.1, 4, 0.01, cycle=True), 6, 0.09 * (1 - 6 / 8) + 0.01),
    (schedules.CosineDecay(0.1, 10, alpha=0.2), 4, 0.1 * (0.8 * 0.5 * (1 + math.cos(math.pi * 0.4)) + 0.2)),
    (schedules.CosineDecay(0.1, 10), 50, 0.0),
    (schedules.CosineDecay(0.0, 10, warmup_target=1.0, warmup_steps=4), 1, 0.25),
    (schedules.CosineDecay(0.0, 10, warmup_target=1.0, warmup_steps=4), 9, 0.5 * (1 + math.cos(math.pi * 0.5))),
    (schedules.CosineDecayRestarts(0.1, 4, t_mul=1.0, m_mul=0.5), 5, 0.05 * 0.5 * (1 + math.cos(math.pi / 4))),
    (schedules.CosineDecayRestarts(0.1, 2, t_mul=2.0), 3, 0.1 * 0.5 * (1 + math.cos(math.pi * 0.25))),
]


@pytest.mark.parametrize("case", FORMULA_CASES,
                         ids=[f"{type(c[0]).__name__}-{i}" for i, c in enumerate(FORMULA_CASES)])
def test_formula_at_chosen_steps(case):
    schedule, step, expected = case
    np.testing.assert_allclose(float(schedule(step)), expected, rtol=1e-6, atol=1e-9,
                               err_msg=f"{schedule!r} at step {step}")


def test_optimizer_evaluates_schedule_before_the_increment():
    """Reference §1.1: PiecewiseConstantDecay([0], [1.0, 0.5]) gives the first step 1.0, the second 0.5."""
    optimizer = optimizers.SGD(learning_rate=schedules.PiecewiseConstantDecay([0], [1.0, 0.5]))
    w = Variable(np.zeros(1, np.float32), name="w")
    optimizer.apply([np.ones(1, np.float32)], [w])
    assert w.data[0] == np.float32(-1.0), f"first step used lr {-w.data[0]}"
    optimizer.apply([np.ones(1, np.float32)], [w])
    assert w.data[0] == np.float32(-1.5), f"second step used lr {-1.0 - w.data[0]}"


@pytest.mark.parametrize("build", [
    lambda: schedules.ExponentialDecay(0.1, 0, 0.5), lambda: schedules.InverseTimeDecay(0.1, -1, 0.5),
    lambda: schedules.PolynomialDecay(0.1, 0), lambda: schedules.CosineDecay(0.1, 0),
    lambda: schedules.CosineDecayRestarts(0.1, 0), lambda: schedules.PiecewiseConstantDecay([1, 2], [1.0]),
], ids=["exponential", "inverse-time", "polynomial", "cosine", "restarts", "piecewise-lengths"])
def test_invalid_arguments_raise(build):
    with pytest.raises(ValueError):
        build()
