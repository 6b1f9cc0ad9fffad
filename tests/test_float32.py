"""No float64 array appears anywhere in a training step: parameters, activations, gradients, optimizer
slots. Every Tensor an op creates and every gradient its backward returns is recorded while an MLP with
dropout trains for two steps with each optimizer."""
import warnings

import numpy as np
import pytest

from kspec import optimizers
from kspec.engine import Tensor
from kspec.layers import Dense, Dropout, clear_session
from kspec.models import Sequential

SPECS = [
    {"SGD": {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}},
    {"SGD": {"lr": 0.1, "decay": 0.01, "clipnorm": 0.5}},
    {"SGD": {"learning_rate": {"CosineDecayRestarts": {"initial_learning_rate": 0.1, "first_decay_steps": 1}},
             "use_ema": True, "ema_overwrite_frequency": 2}},
    {"RMSprop": {"centered": True, "momentum": 0.5, "global_clipnorm": 1.0}},
    {"Adagrad": {"clipvalue": 0.1}},
    {"Adadelta": {"learning_rate": 1.0}},
    {"Adam": {"amsgrad": True, "loss_scale_factor": 8.0}},
    {"AdamW": {"learning_rate": {"ExponentialDecay": {"initial_learning_rate": 0.01, "decay_steps": 1,
                                                      "decay_rate": 0.5}}}},
    {"Adamax": {"gradient_accumulation_steps": 2}},
    {"Nadam": {"use_ema": True}},
]

SPEC_IDS = [name + "".join(f"-{key}" for key in config) for spec in SPECS for name, config in spec.items()]


class DtypeRecorder:
    """Collects ``(what, op, dtype)`` for every floating array that is not float32."""

    def __init__(self):
        self.offenders = []
        self.tensors = 0
        self.gradients = 0

    def check(self, what, op, value):
        if value is None:
            return
        dtype = getattr(value, "dtype", None)
        if dtype is None:  # a Python scalar stands for float64 (or int64)
            dtype = np.asarray(value).dtype
        dtype = np.dtype(dtype)
        if dtype.kind in "fc" and dtype != np.float32:
            self.offenders.append((what, op, str(dtype)))

    def wrap_backward(self, backward, op):
        def checked(g):
            self.check("upstream gradient", op, g)
            grads = backward(g)
            for grad in grads:
                self.gradients += grad is not None
                self.check("gradient", op, grad)
            return grads
        return checked


@pytest.fixture
def recorder(monkeypatch):
    rec = DtypeRecorder()
    original = Tensor.__init__

    def recording_init(self, data, requires_grad=False, parents=(), backward=None, op=None):
        rec.tensors += 1
        rec.check("tensor", op, data)
        if backward is not None:
            backward = rec.wrap_backward(backward, op)
        original(self, data, requires_grad, parents, backward, op)

    monkeypatch.setattr(Tensor, "__init__", recording_init)
    return rec


def make_optimizer(spec):
    (config,) = spec.values()
    if "lr" in config or config.get("decay"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return optimizers.get(spec)
    return optimizers.get(spec)


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
@pytest.mark.parametrize("input_dtype", ["float32", "float64"])
def test_training_step_is_float32_throughout(recorder, spec, input_dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 8)).astype(input_dtype)
    y = np.eye(3, dtype=input_dtype)[rng.integers(0, 3, size=32)]
    clear_session()
    model = Sequential([Dense(16, activation="tanh", input_shape=(8,)), Dropout(0.5, seed=1),
                        Dense(16, activation="relu"), Dropout(0.2, seed=2), Dense(3, activation="softmax")])
    optimizer = make_optimizer(spec)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])

    seen = {"applies": 0}
    apply = optimizer.apply

    def checked_apply(grads, variables):
        seen["applies"] += 1
        for g, v in zip(grads, variables):
            recorder.check(f"gradient of {v.path}", "apply", g)
        apply(grads, variables)
        for name, value in optimizer.variables:
            recorder.check(f"optimizer variable {name}", "apply", value)
        for v in model.weights:
            recorder.check(f"weight {v.path}", "apply", v.data)

    optimizer.apply = checked_apply
    history = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)

    assert seen["applies"] == 2, f"optimizer applied {seen['applies']} times, expected 2"
    assert recorder.tensors > 20 and recorder.gradients > 10, "the recorder saw no ops; instrumentation broken"
    assert not recorder.offenders, f"non-float32 arrays in a training step: {sorted(set(recorder.offenders))}"
    assert isinstance(optimizer.learning_rate, np.float32), f"learning rate {type(optimizer.learning_rate)}"
    for v in model.weights:
        assert v.data.dtype == np.float32, f"{v.path} is {v.data.dtype} after training"
    assert np.isfinite(history.history["loss"][0]), history.history


class Float32Checked(np.ndarray):
    """An ndarray whose every ufunc result (temporaries included) must be float32 when floating."""

    offenders = []

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        plain = [a.view(np.ndarray) if isinstance(a, Float32Checked) else a for a in inputs]
        if out is not None:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, Float32Checked) else o for o in out)
        result = getattr(ufunc, method)(*plain, **kwargs)
        results = result if isinstance(result, tuple) else (result,)
        for r in results:
            dtype = np.asarray(r).dtype
            if dtype.kind == "f" and dtype != np.float32:
                Float32Checked.offenders.append(f"{ufunc.__name__}.{method} -> {dtype}")
        if out is not None:
            return out[0] if len(out) == 1 else out
        return tuple(self._wrap(r) for r in results) if isinstance(result, tuple) else self._wrap(result)

    @staticmethod
    def _wrap(r):
        return r.view(Float32Checked) if isinstance(r, np.ndarray) else r


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_optimizer_update_temporaries_are_float32(monkeypatch, spec):
    """Weights, gradients and slots are checked arrays, so every temporary of an update step is seen."""
    from kspec import backend
    from kspec.engine import Variable

    full = backend.full
    monkeypatch.setattr(backend, "full", lambda *a, **k: full(*a, **k).view(Float32Checked))
    Float32Checked.offenders = []
    rng = np.random.default_rng(0)
    variables = [Variable(rng.normal(size=shape).astype(np.float32).view(Float32Checked), name=name,
                          path=f"dense/{name}") for name, shape in (("kernel", (3, 4)), ("bias", (4,)))]
    optimizer = make_optimizer(spec)
    for step in range(3):
        grads = [rng.normal(size=v.shape).astype(np.float32).view(Float32Checked) for v in variables]
        optimizer.apply(grads, variables)
    slots = [value for name, value in optimizer.variables if name not in ("iteration", "learning_rate")]
    assert any(isinstance(s, Float32Checked) for s in slots) or not slots, "slots were not instrumented"
    offenders = sorted(set(Float32Checked.offenders))
    assert not offenders, f"float64 temporaries in the update: {offenders}"
    for name, value in optimizer.variables[1:]:
        assert np.asarray(value).dtype == np.float32, f"{name} is {np.asarray(value).dtype}"
