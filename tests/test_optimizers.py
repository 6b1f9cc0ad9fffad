"""Optimizers: update rules against the reference §1.2 formulas (float64, hand-made gradients), slots,
clipping, weight decay, EMA, accumulation, Keras 2 arguments, and configs against Keras 3's."""
import json
from pathlib import Path

import numpy as np
import pytest

from kspec import optimizers, registry
from kspec.constraints import NonNeg
from kspec.engine import Variable
from kspec.optimizers.schedules import PiecewiseConstantDecay
from kspec.serialization import serialize

CONFIGS = json.loads((Path(__file__).parent / "fixtures" / "optimizer_configs.json").read_text())
GRADIENT_SCALES = (2.0, 0.3, 1.0, 0.7)  # varying sizes, so amsgrad's maximum and Adamax's norm matter


def make_variables():
    rng = np.random.default_rng(0)
    return [Variable(rng.normal(size=(3, 4)).astype(np.float32), name="kernel", path="dense/kernel"),
            Variable(rng.normal(size=(4,)).astype(np.float32), name="bias", path="dense/bias")]


def gradients(step):
    rng = np.random.default_rng(100 + step)
    scale = GRADIENT_SCALES[step % len(GRADIENT_SCALES)]
    return [(rng.normal(size=shape) * scale).astype(np.float32) for shape in ((3, 4), (4,))]


# -- float64 references, written from reference §1.2 ---------------------------------------------------
def ref_sgd(c, ws, gs, t, lr, st):
    mu = c.get("momentum", 0.0)
    out = []
    for i, (w, g) in enumerate(zip(ws, gs)):
        if mu == 0:
            out.append(w - lr * g)
            continue
        v = mu * st.get(("v", i), 0.0) - lr * g
        st[("v", i)] = v
        out.append(w + (mu * v - lr * g if c.get("nesterov") else v))
    return out


def ref_rmsprop(c, ws, gs, t, lr, st):
    rho, mu, eps = c.get("rho", 0.9), c.get("momentum", 0.0), c.get("epsilon", 1e-7)
    out = []
    for i, (w, g) in enumerate(zip(ws, gs)):
        s = st[("s", i)] = rho * st.get(("s", i), 0.0) + (1 - rho) * g ** 2
        if c.get("centered"):
            a = st[("a", i)] = rho * st.get(("a", i), 0.0) + (1 - rho) * g
            den = s - a ** 2 + eps
        else:
            den = s + eps
        inc = lr * g / np.sqrt(den)
        if mu > 0:
            inc = st[("m", i)] = mu * st.get(("m", i), 0.0) + inc
        out.append(w - inc)
    return out


def ref_adagrad(c, ws, gs, t, lr, st):
    eps, init = c.get("epsilon", 1e-7), c.get("initial_accumulator_value", 0.1)
    out = []
    for i, (w, g) in enumerate(zip(ws, gs)):
        acc = st[i] = st.get(i, init) + g ** 2
        out.append(w - lr * g / np.sqrt(acc + eps))
    return out


def ref_adadelta(c, ws, gs, t, lr, st):
    rho, eps = c.get("rho", 0.95), c.get("epsilon", 1e-7)
    out = []
    for i, (w, g) in enumerate(zip(ws, gs)):
        eg = st[("g", i)] = rho * st.get(("g", i), 0.0) + (1 - rho) * g ** 2
        ex = st.get(("x", i), 0.0)
        delta = -np.sqrt(ex + eps) * g / np.sqrt(eg + eps)
        st[("x", i)] = rho * ex + (1 - rho) * delta ** 2
        out.append(w + lr * delta)
    return out


def ref_adam(c, ws, gs, t, lr, st):
    b1, b2, eps = c.get("beta_1", 0.9), c.get("beta_2", 0.999), c.get("epsilon", 1e-7)
    wd = c.get("weight_decay")
    alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    out = []
    for i, (w, g) in enumerate(zip(ws, gs)):
        if wd is not None:
            w = w - w * wd * lr
        m = st[("m", i)] = st.get(("m", i), 0.0) + (g - st.get(("m", i), 0.0)) * (1 - b1)
        v = st[("v", i)] = st.get(("v", i), 0.0) + (g ** 2 - st.get(("v", i), 0.0)) * (1 - b2)
        if c.get("amsgrad"):
            v = st[("vhat", i)] = np.maximum(st.get(("vhat", i), 0.0), v)
        out.append(w - alpha * m / (np.sqrt(v) + eps))
    return out


def ref_adamw(c, ws, gs, t, lr, st):
    return ref_adam({"weight_decay": 0.004, **c}, ws, gs, t, lr, st)


def ref_adamax(c, ws, gs, t, lr, st):
    b1, b2, eps = c.get("beta_1", 0.9), c.get("beta_2", 0.999), c.get("epsilon", 1e-7)
    out = []
    for i, (w, g) in enumerate(zip(ws, gs)):
        m = st[("m", i)] = st.get(("m", i), 0.0) + (g - st.get(("m", i), 0.0)) * (1 - b1)
        u = st[("u", i)] = np.maximum(b2 * st.get(("u", i), 0.0), np.abs(g))
        out.append(w - lr * m / ((1 - b1 ** t) * (u + eps)))
    return out


def ref_nadam(c, ws, gs, t, lr, st):
    b1, b2, eps = c.get("beta_1", 0.9), c.get("beta_2", 0.999), c.get("epsilon", 1e-7)
    mu_t, mu_next = b1 * (1 - 0.5 * 0.96 ** t), b1 * (1 - 0.5 * 0.96 ** (t + 1))
    product = st["U"] = st.get("U", 1.0) * mu_t  # once per step, before the variables
    out = []
    for i, (w, g) in enumerate(zip(ws, gs)):
        m = st[("m", i)] = st.get(("m", i), 0.0) + (g - st.get(("m", i), 0.0)) * (1 - b1)
        v = st[("v", i)] = st.get(("v", i), 0.0) + (g ** 2 - st.get(("v", i), 0.0)) * (1 - b2)
        m_hat = mu_next * m / (1 - product * mu_next) + (1 - mu_t) * g / (1 - product)
        v_hat = v / (1 - b2 ** t)
        out.append(w - lr * m_hat / (np.sqrt(v_hat) + eps))
    return out


REFERENCES = {"SGD": (ref_sgd, 0.01), "RMSprop": (ref_rmsprop, 0.001), "Adagrad": (ref_adagrad, 0.001),
              "Adadelta": (ref_adadelta, 0.001), "Adam": (ref_adam, 0.001), "AdamW": (ref_adamw, 0.001),
              "Adamax": (ref_adamax, 0.001), "Nadam": (ref_nadam, 0.001)}

RULE_CASES = [
    ("SGD", {}), ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("RMSprop", {}), ("RMSprop", {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.5}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.9}),
    ("Adagrad", {}), ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "epsilon": 1e-3}),
    ("Adadelta", {}), ("Adadelta", {"learning_rate": 1.0, "rho": 0.9}),
    ("Adam", {}), ("Adam", {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.99}),
    ("Adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("AdamW", {}), ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("Adamax", {}), ("Adamax", {"learning_rate": 0.01, "beta_2": 0.9}),
    ("Nadam", {}), ("Nadam", {"learning_rate": 0.01, "beta_1": 0.8}),
]


def rule_id(case):
    name, config = case
    return name + "".join(f"-{k}={v}" for k, v in config.items())


@pytest.mark.parametrize("case", RULE_CASES, ids=[rule_id(c) for c in RULE_CASES])
def test_update_rule_matches_reference_formula(case):
    name, config = case
    reference, default_lr = REFERENCES[name]
    optimizer = optimizers.get({name: config})
    variables = make_variables()
    expected = [v.data.astype(np.float64) for v in variables]
    state = {}
    for step in range(4):
        grads = gradients(step)
        optimizer.apply(grads, variables)
        expected = reference(config, expected, [g.astype(np.float64) for g in grads], step + 1,
                             config.get("learning_rate", default_lr), state)
        for v, e in zip(variables, expected):
            assert v.data.dtype == np.float32, f"{v.path} became {v.data.dtype}"
            np.testing.assert_allclose(v.data, e, rtol=2e-5, atol=1e-6,
                                       err_msg=f"{rule_id(case)}: {v.path} after step {step + 1}")
    assert optimizer.iterations == 4, f"iterations {optimizer.iterations} after 4 steps"


# -- names, defaults and configs -----------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CONFIGS["string_names"]), ids=str)
def test_keras_string_names_resolve_case_insensitively(name):
    expected = CONFIGS["string_names"][name]
    optimizer = optimizers.get(name)
    assert type(optimizer).__name__ == expected["class_name"], f"{name!r} resolved to {type(optimizer)}"
    assert optimizer.name == expected["name"], f"{name!r}: default name {optimizer.name!r}"
    assert registry.lookup("optimizer", name.lower()) is type(optimizer), f"{name.lower()!r} is not registered"


@pytest.mark.parametrize("case", CONFIGS["optimizers"],
                         ids=[rule_id((c["class_name"], c["kwargs"])) for c in CONFIGS["optimizers"]])
def test_get_config_and_serialize_equal_keras(case):
    optimizer = optimizers.get({case["class_name"]: case["kwargs"]})
    config = optimizer.get_config()
    assert list(config) == list(case["config"]), "config keys (or their order) differ from Keras"
    assert config == case["config"], "get_config differs from Keras"
    assert serialize(optimizer) == case["serialized"], "serialize(optimizer) differs from Keras"


@pytest.mark.parametrize("case", CONFIGS["optimizers"],
                         ids=[rule_id((c["class_name"], c["kwargs"])) for c in CONFIGS["optimizers"]])
def test_keras_config_round_trips(case):
    optimizer = optimizers.get({"class_name": case["class_name"], "config": case["config"]})
    assert optimizer.get_config() == case["config"], "from_config(keras config).get_config() changed"


# -- slots ----------------------------------------------------------------------------------------------
SLOT_CASES = [
    ({"SGD": {}}, ["iteration", "learning_rate"]),
    ({"SGD": {"momentum": 0.5}}, ["iteration", "learning_rate", "dense_kernel_momentum", "dense_bias_momentum"]),
    ({"RMSprop": {"momentum": 0.5, "centered": True}},
     ["iteration", "learning_rate", "dense_kernel_velocity", "dense_bias_velocity", "dense_kernel_momentum",
      "dense_bias_momentum", "dense_kernel_average_gradient", "dense_bias_average_gradient"]),
    ({"Adagrad": {}}, ["iteration", "learning_rate", "dense_kernel_accumulator", "dense_bias_accumulator"]),
    ({"Adadelta": {}}, ["iteration", "learning_rate", "dense_kernel_accumulated_grad",
                        "dense_kernel_accumulated_delta_var", "dense_bias_accumulated_grad",
                        "dense_bias_accumulated_delta_var"]),
    ({"Adam": {"amsgrad": True}},
     ["iteration", "learning_rate", "dense_kernel_momentum", "dense_kernel_velocity", "dense_bias_momentum",
      "dense_bias_velocity", "dense_kernel_velocity_hat", "dense_bias_velocity_hat"]),
    ({"Adamax": {}}, ["iteration", "learning_rate", "dense_kernel_momentum", "dense_kernel_norm",
                      "dense_bias_momentum", "dense_bias_norm"]),
    ({"Nadam": {}}, ["iteration", "learning_rate", "dense_kernel_momentum", "dense_kernel_velocity",
                     "dense_bias_momentum", "dense_bias_velocity", "variable"]),
    ({"Adam": {"learning_rate": {"ExponentialDecay": {"initial_learning_rate": 0.1, "decay_steps": 2,
                                                      "decay_rate": 0.5}}}},
     ["iteration", "dense_kernel_momentum", "dense_kernel_velocity", "dense_bias_momentum",
      "dense_bias_velocity"]),
    ({"SGD": {"momentum": 0.5, "use_ema": True, "gradient_accumulation_steps": 2}},
     ["iteration", "learning_rate", "dense_kernel_average", "dense_bias_average",
      "dense_kernel_gradient_accumulator", "dense_bias_gradient_accumulator", "dense_kernel_momentum",
      "dense_bias_momentum"]),
]


@pytest.mark.parametrize("case", SLOT_CASES, ids=[rule_id(next(iter(c[0].items()))) for c in SLOT_CASES])
def test_variables_follow_keras_order_names_and_dtypes(case):
    spec, names = case
    optimizer = optimizers.get(spec)
    variables = make_variables()
    optimizer.apply(gradients(0), variables)
    got = optimizer.variables
    assert [n for n, _ in got] == names, "optimizer variables differ from Keras's order/names"
    assert got[0][1].dtype == np.int32 and int(got[0][1]) == 1, f"iteration is {got[0][1]!r}"
    for name, value in got[1:]:
        assert value.dtype == np.float32, f"{name} is {value.dtype}"
    for name, value in got:
        if name.startswith("dense_kernel"):
            assert value.shape == (3, 4), f"{name} has shape {value.shape}"


def test_adagrad_accumulator_starts_at_initial_value():
    optimizer = optimizers.Adagrad(initial_accumulator_value=0.25)
    variables = make_variables()
    optimizer.build(variables)
    accumulator = optimizer.slot(variables[0], "accumulator")
    assert np.all(accumulator == np.float32(0.25)), "accumulator does not start at 0.25"


def test_nadam_momentum_product_advances_once_per_step():
    optimizer = optimizers.Nadam(beta_1=0.9)
    variables = make_variables()
    optimizer.apply(gradients(0), variables)
    optimizer.apply(gradients(1), variables)
    expected = 0.9 * (1 - 0.5 * 0.96) * 0.9 * (1 - 0.5 * 0.96 ** 2)
    product = dict(optimizer.variables)["variable"]
    np.testing.assert_allclose(product, expected, rtol=1e-6, err_msg="u_product after two steps")


@pytest.mark.parametrize("spec", [{"Adam": {"amsgrad": True}}, {"Nadam": {}}, {"RMSprop": {"centered": True}},
                                  {"SGD": {"momentum": 0.9, "use_ema": True}}], ids=lambda s: next(iter(s)))
def test_set_variables_resumes_training_exactly(spec):
    straight, resumed = optimizers.get(spec), optimizers.get(spec)
    run_a, run_b = make_variables(), make_variables()
    for step in range(2):
        straight.apply(gradients(step), run_a)
        resumed.apply(gradients(step), run_b)
    saved = [np.array(value) for _, value in resumed.variables]
    fresh = optimizers.get(spec)
    fresh.build(run_b)
    fresh.set_variables(saved)
    assert fresh.iterations == 2, f"restored iterations {fresh.iterations}"
    straight.apply(gradients(2), run_a)
    fresh.apply(gradients(2), run_b)
    for a, b in zip(run_a, run_b):
        np.testing.assert_array_equal(a.data, b.data, err_msg=f"{a.path} after resuming")


def test_set_variables_rejects_wrong_count_and_shape():
    optimizer = optimizers.Adam()
    optimizer.build(make_variables())
    values = [np.array(v) for _, v in optimizer.variables]
    with pytest.raises(ValueError, match="variables"):
        optimizer.set_variables(values[:-1])
    values[2] = np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError, match="shape"):
        optimizer.set_variables(values)


# -- clipping ---------------------------------------------------------------------------------------------
def sgd_step(grads, **kwargs):
    """The gradients as SGD(lr=1) applies them (w0 - w1)."""
    optimizer = optimizers.SGD(learning_rate=1.0, **kwargs)
    variables = make_variables()
    before = [v.data.copy() for v in variables]
    optimizer.apply([np.asarray(g, np.float32) for g in grads], variables)
    return [b - v.data for b, v in zip(before, variables)]


def test_clipnorm_clips_each_variable_to_norm():
    big, small = np.full((3, 4), 1.0), np.full((4,), 0.01)
    applied = sgd_step([big, small], clipnorm=0.5)
    np.testing.assert_allclose(np.linalg.norm(applied[0]), 0.5, rtol=1e-5, err_msg="clipped kernel norm")
    np.testing.assert_allclose(applied[1], small, rtol=1e-5, err_msg="small bias gradient changed")


def test_global_clipnorm_scales_all_gradients_together():
    g0, g1 = np.full((3, 4), 1.0), np.full((4,), 2.0)
    applied = sgd_step([g0, g1], global_clipnorm=1.0)
    norm = np.sqrt(np.sum(applied[0] ** 2) + np.sum(applied[1] ** 2))
    np.testing.assert_allclose(norm, 1.0, rtol=1e-5, err_msg="global norm after clipping")
    np.testing.assert_allclose(applied[1] / applied[0][0, 0], 2.0, rtol=1e-5, err_msg="ratio not kept")
    zero = sgd_step([np.zeros((3, 4)), np.zeros(4)], global_clipnorm=1.0)
    assert all(np.all(z == 0) for z in zero), "zero gradients changed under global_clipnorm"


def test_global_clipnorm_of_infinite_gradient_is_nan():
    g0 = np.full((3, 4), 1.0)
    g0[0, 0] = np.inf
    applied = sgd_step([g0, np.zeros(4)], global_clipnorm=1.0)
    assert np.all(np.isnan(applied[0])) and np.all(np.isnan(applied[1])), "expected NaN updates (as Keras)"


def test_clipvalue_clips_elementwise():
    g = np.array([[-3.0, -0.1, 0.2, 5.0]] * 3)
    applied = sgd_step([g, np.zeros(4)], clipvalue=0.5)
    np.testing.assert_allclose(applied[0], np.clip(g, -0.5, 0.5), rtol=1e-6, err_msg="clipvalue")


def test_zero_clip_arguments_mean_no_clipping():
    g = np.full((3, 4), 10.0)
    for kwargs in ({"clipnorm": 0.0}, {"global_clipnorm": 0.0}, {"clipvalue": 0.0}):
        applied = sgd_step([g, np.zeros(4)], **kwargs)
        np.testing.assert_allclose(applied[0], g, rtol=1e-6, err_msg=f"{kwargs} clipped")


def test_only_one_clip_argument():
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)


# -- weight decay, EMA, accumulation, loss scaling, constraints ----------------------------------------
def test_weight_decay_uses_current_scheduled_rate_before_update():
    schedule = PiecewiseConstantDecay([0], [0.1, 0.05])
    optimizer = optimizers.SGD(learning_rate=schedule, weight_decay=0.5)
    variables = make_variables()
    w = [v.data.astype(np.float64) for v in variables]
    for step, lr in enumerate((0.1, 0.05)):
        g = gradients(step)
        optimizer.apply(g, variables)
        w = [wi - wi * 0.5 * lr - lr * gi for wi, gi in zip(w, g)]
        np.testing.assert_allclose(variables[0].data, w[0], rtol=1e-5, err_msg=f"step {step + 1}")


def test_exclude_from_weight_decay_by_list_and_name():
    optimizer = optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
    kernel, bias = make_variables()
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    zero = [np.zeros((3, 4), np.float32), np.zeros(4, np.float32)]
    before = [kernel.data.copy(), bias.data.copy()]
    optimizer.apply(zero, [kernel, bias])
    np.testing.assert_array_equal(bias.data, before[1], err_msg="excluded bias was decayed")
    np.testing.assert_allclose(kernel.data, before[0] * (1 - 0.05), rtol=1e-6, err_msg="kernel not decayed")
    with pytest.raises(ValueError, match="before the optimizer is built"):
        optimizer.exclude_from_weight_decay(var_names=["kernel"])
    other = optimizers.SGD(weight_decay=0.5)
    kernel, bias = make_variables()
    other.exclude_from_weight_decay(var_list=[kernel])
    before = kernel.data.copy()
    other.apply(zero, [kernel, bias])
    np.testing.assert_array_equal(kernel.data, before, err_msg="kernel in var_list was decayed")


def test_ema_averages_weights_and_finalize_copies_them():
    optimizer = optimizers.SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.8)
    variables = make_variables()
    optimizer.apply(gradients(0), variables)
    first = variables[0].data.copy()
    np.testing.assert_array_equal(optimizer.slot(variables[0], "average"), first,
                                  err_msg="first EMA value should be the weights (momentum 0 at step 0)")
    optimizer.apply(gradients(1), variables)
    expected = 0.8 * first + 0.2 * variables[0].data
    np.testing.assert_allclose(optimizer.slot(variables[0], "average"), expected, rtol=1e-6, err_msg="EMA")
    optimizer.finalize_variable_values(variables)
    np.testing.assert_array_equal(variables[0].data, optimizer.slot(variables[0], "average"),
                                  err_msg="finalize_variable_values did not copy the average")


def test_gradient_accumulation_updates_every_n_steps_with_the_mean():
    accumulating = optimizers.Adam(learning_rate=0.1, gradient_accumulation_steps=2)
    plain = optimizers.Adam(learning_rate=0.1)
    run_a, run_b = make_variables(), make_variables()
    before = run_a[0].data.copy()
    accumulating.apply(gradients(0), run_a)
    np.testing.assert_array_equal(run_a[0].data, before, err_msg="weights changed on an accumulation step")
    assert accumulating.iterations == 0, "iterations counts accumulation steps"
    accumulating.apply(gradients(1), run_a)
    mean = [(a + b) / np.float32(2) for a, b in zip(gradients(0), gradients(1))]
    plain.apply(mean, run_b)
    np.testing.assert_allclose(run_a[0].data, run_b[0].data, rtol=1e-6, err_msg="accumulated update")
    assert accumulating.iterations == 1 and accumulating.variables[0][1] == 2, "iteration counters"


def test_loss_scale_factor_divides_gradients():
    applied = sgd_step([np.full((3, 4), 8.0), np.zeros(4)], loss_scale_factor=4.0)
    np.testing.assert_allclose(applied[0], 2.0, rtol=1e-6, err_msg="gradients not unscaled")
    optimizer = optimizers.SGD(loss_scale_factor=4.0)
    assert optimizer.scale_loss(np.float32(1.5)) == np.float32(6.0), "scale_loss"


def test_constraints_apply_after_update():
    optimizer = optimizers.SGD(learning_rate=1.0)
    w = Variable(np.array([0.5, 0.5], np.float32), name="w", constraint=NonNeg())
    optimizer.apply([np.array([1.0, -1.0], np.float32)], [w])
    np.testing.assert_array_equal(w.data, [0.0, 1.5], err_msg="NonNeg after the SGD step")


def test_missing_gradients_warn_and_all_missing_raises():
    optimizer = optimizers.SGD()
    kernel, bias = make_variables()
    before = bias.data.copy()
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        optimizer.apply([gradients(0)[0], None], [kernel, bias])
    np.testing.assert_array_equal(bias.data, before, err_msg="variable without gradient changed")
    with pytest.raises(ValueError, match="No gradients"):
        optimizer.apply([None, None], [kernel, bias])


def test_variables_unknown_to_a_built_optimizer_raise():
    optimizer = optimizers.Adam()
    kernel, bias = make_variables()
    optimizer.apply([gradients(0)[0]], [kernel])
    with pytest.raises(ValueError, match="Unknown variables"):
        optimizer.apply(gradients(1), [kernel, bias])


# -- learning rate, Keras 2 arguments, argument checks ---------------------------------------------------
def test_learning_rate_is_float32_and_settable():
    optimizer = optimizers.SGD(learning_rate=0.01)
    assert isinstance(optimizer.learning_rate, np.float32), f"{type(optimizer.learning_rate)}"
    optimizer.learning_rate = 0.5
    assert optimizer.learning_rate == np.float32(0.5), "setter"
    assert dict(optimizer.variables)["learning_rate"] == np.float32(0.5), "learning_rate variable"
    scheduled = optimizers.SGD(learning_rate=PiecewiseConstantDecay([0], [1.0, 0.5]))
    assert scheduled.learning_rate == np.float32(1.0), "schedule at step 0"
    with pytest.raises(TypeError, match="not settable"):
        scheduled.learning_rate = 0.1


def test_keras2_decay_divides_after_the_schedule():
    schedule = PiecewiseConstantDecay([1], [0.4, 0.2])
    with pytest.warns(DeprecationWarning, match="decay"):
        optimizer = optimizers.SGD(learning_rate=schedule, decay=0.5)
    w = Variable(np.zeros(1, np.float32), name="w")
    expected = 0.0
    for step in range(4):
        optimizer.apply([np.ones(1, np.float32)], [w])
        expected -= schedule(step) / (1 + 0.5 * step)
        np.testing.assert_allclose(w.data, [expected], rtol=1e-6, err_msg=f"step {step + 1}")


def test_keras2_lr_alias_and_decay_in_config():
    with pytest.warns(DeprecationWarning) as record:
        optimizer = optimizers.get({"SGD": {"lr": 0.5, "decay": 0.1}})
    assert len(record) == 2, [str(w.message) for w in record]
    config = optimizer.get_config()
    assert config["learning_rate"] == 0.5 and config["decay"] == 0.1, config
    w = Variable(np.zeros(1, np.float32), name="w")
    for _ in range(2):
        optimizer.apply([np.ones(1, np.float32)], [w])
    np.testing.assert_allclose(w.data, [-(0.5 + 0.5 / 1.1)], rtol=1e-6, err_msg="lr / (1 + decay * t)")


def test_zero_decay_is_silent():
    optimizer = optimizers.get({"SGD": {"learning_rate": 0.1, "decay": 0.0}})
    assert "decay" not in optimizer.get_config(), "decay 0 should not appear in the config"


def test_int_hyperparameters_are_converted_to_float():
    optimizer = optimizers.SGD(learning_rate=1, momentum=1)
    config = optimizer.get_config()
    assert config["learning_rate"] == 1.0 and isinstance(config["momentum"], float), config
    adam = optimizers.Adam(learning_rate=1, beta_1=0, epsilon=1)
    assert isinstance(adam.beta_1, float) and isinstance(adam.epsilon, float), adam.get_config()


@pytest.mark.parametrize("build", [
    lambda: optimizers.SGD(momentum=1.5), lambda: optimizers.SGD(momentum=True),
    lambda: optimizers.Adam(learning_rate="fast"), lambda: optimizers.AdamW(weight_decay=None),
    lambda: optimizers.Adam(foo=1), lambda: optimizers.Adam(gradient_accumulation_steps=1),
    lambda: optimizers.SGD(use_ema=True, ema_momentum=2.0),
], ids=["momentum>1", "bool-momentum", "str-lr", "adamw-no-decay", "unknown-kwarg", "accumulation-1", "ema>1"])
def test_invalid_arguments_raise(build):
    with pytest.raises(ValueError):
        build()
