"""Golden fixtures for optimizer parity: train a small MLP with Keras 3 and store the final weights.

Run with the reference venv (Keras 3.15.1, JAX backend):

    KERAS_BACKEND=jax python tools/make_golden_training.py

Writes to tests/fixtures/:
  training_parity.npz   x, y_cce, y_mse, the initial weights w0..w5; ``weights`` (cases, n): each case's
                        final weights flattened and concatenated in model order; ``loss`` and ``accuracy``
                        (cases, epochs; accuracy NaN for the mse model); ``optimizer``: for the cases that
                        keep them, the optimizer variables after training, flattened and concatenated in
                        Keras's order (the case's ``optimizer_offset`` in the json says where they start).
  training_parity.json  the cases: id, model ("cce" or "mse"), the optimizer in kspec's spec form, and the
                        optimizer variable names where stored.
  optimizer_configs.json  Keras's get_config / serialize output for optimizers and schedules, schedule
                        values per step (float32), and what each Keras string name resolves to.

Model: Dense(12, tanh) -> Dense(8, relu) -> Dense(3, softmax | linear), 64 samples, batch 16, 2 epochs,
shuffle=False, fixed initial weights. Keras 3 ignores the Keras 2 ``decay`` argument and rejects ``lr``, so
those cases are emulated here with a LearningRateSchedule computing ``lr / (1 + decay * step)`` (after an
inner schedule, when there is one): the Keras 2 formula that kspec implements (reference §1.4).
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
SCHEDULES = keras.optimizers.schedules

# (case id, model, optimizer spec in kspec form, store optimizer variables?)
CASES = [
    ("sgd", "cce", {"SGD": {}}, False),
    ("sgd_lr", "mse", {"SGD": {"learning_rate": 0.05}}, False),
    ("sgd_momentum", "cce", {"SGD": {"learning_rate": 0.05, "momentum": 0.9}}, False),
    ("sgd_nesterov", "cce", {"SGD": {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}}, True),
    ("sgd_keras2_seed", "cce", {"SGD": {"lr": 0.01, "decay": 1e-6, "momentum": 0.9, "nesterov": True}}, False),
    ("sgd_keras2_decay", "cce", {"SGD": {"lr": 0.2, "decay": 0.3}}, False),
    ("sgd_keras2_decay_schedule", "cce",
     {"SGD": {"learning_rate": {"ExponentialDecay": {"initial_learning_rate": 0.2, "decay_steps": 3,
                                                     "decay_rate": 0.5}}, "decay": 0.3}}, False),
    ("sgd_clipnorm", "cce", {"SGD": {"learning_rate": 0.2, "clipnorm": 0.1}}, False),
    ("sgd_global_clipnorm", "cce", {"SGD": {"learning_rate": 0.2, "global_clipnorm": 0.2}}, False),
    ("sgd_clipvalue", "cce", {"SGD": {"learning_rate": 0.2, "clipvalue": 0.02}}, False),
    ("sgd_weight_decay", "cce", {"SGD": {"learning_rate": 0.2, "weight_decay": 0.1}}, False),
    ("sgd_ema", "cce", {"SGD": {"learning_rate": 0.2, "use_ema": True, "ema_momentum": 0.8}}, False),
    ("sgd_ema_overwrite", "cce",
     {"SGD": {"learning_rate": 0.2, "momentum": 0.5, "use_ema": True, "ema_momentum": 0.7,
              "ema_overwrite_frequency": 3}}, False),
    ("rmsprop", "cce", {"RMSprop": {}}, False),
    ("rmsprop_lr", "mse", {"RMSprop": {"learning_rate": 0.01, "rho": 0.8}}, False),
    ("rmsprop_momentum", "cce", {"RMSprop": {"learning_rate": 0.01, "momentum": 0.5}}, False),
    ("rmsprop_centered", "cce", {"RMSprop": {"learning_rate": 0.01, "centered": True}}, False),
    ("rmsprop_centered_momentum", "cce",
     {"RMSprop": {"learning_rate": 0.01, "centered": True, "momentum": 0.9}}, True),
    ("rmsprop_clipnorm", "cce", {"RMSprop": {"learning_rate": 0.01, "clipnorm": 0.05}}, False),
    ("adagrad", "cce", {"Adagrad": {}}, False),
    ("adagrad_lr", "mse", {"Adagrad": {"learning_rate": 0.1, "initial_accumulator_value": 0.5}}, True),
    ("adadelta", "cce", {"Adadelta": {}}, False),
    ("adadelta_lr", "cce", {"Adadelta": {"learning_rate": 1.0, "rho": 0.9}}, True),
    ("adam", "cce", {"Adam": {}}, False),
    ("adam_lr", "mse", {"Adam": {"learning_rate": 0.01, "beta_1": 0.8}}, False),
    ("adam_amsgrad", "cce", {"Adam": {"learning_rate": 0.01, "amsgrad": True}}, True),
    ("adam_clipvalue", "cce", {"Adam": {"learning_rate": 0.01, "clipvalue": 0.005}}, False),
    ("adam_global_clipnorm", "cce", {"Adam": {"learning_rate": 0.01, "global_clipnorm": 0.05}}, False),
    ("adam_weight_decay", "cce", {"Adam": {"learning_rate": 0.01, "weight_decay": 0.5}}, False),
    ("adam_schedule", "cce",
     {"Adam": {"learning_rate": {"PolynomialDecay": {"initial_learning_rate": 0.02, "decay_steps": 5,
                                                     "end_learning_rate": 0.001, "power": 2.0}}}}, False),
    ("adam_loss_scale", "cce", {"Adam": {"learning_rate": 0.01, "loss_scale_factor": 64.0}}, False),
    ("adam_accumulation", "cce", {"Adam": {"learning_rate": 0.01, "gradient_accumulation_steps": 2}}, False),
    ("adamw", "cce", {"AdamW": {}}, False),
    ("adamw_lr", "cce", {"AdamW": {"learning_rate": 0.01, "weight_decay": 0.5}}, False),
    ("adamw_amsgrad_clipnorm", "mse",
     {"AdamW": {"learning_rate": 0.01, "amsgrad": True, "clipnorm": 0.1}}, False),
    ("adamax", "cce", {"Adamax": {}}, False),
    ("adamax_lr", "cce", {"Adamax": {"learning_rate": 0.02, "beta_2": 0.9}}, True),
    ("nadam", "cce", {"Nadam": {}}, False),
    ("nadam_lr", "mse", {"Nadam": {"learning_rate": 0.01}}, False),
    ("nadam_accumulation_ema", "cce",
     {"Nadam": {"learning_rate": 0.01, "gradient_accumulation_steps": 3, "use_ema": True}}, True),
    ("nadam_keras2_decay", "cce", {"Nadam": {"lr": 0.01, "decay": 0.2}}, False),
    # every schedule, on SGD with a large rate so that the schedule matters
    ("schedule_exponential", "cce",
     {"SGD": {"learning_rate": {"ExponentialDecay": {"initial_learning_rate": 0.2, "decay_steps": 3,
                                                     "decay_rate": 0.5}}}}, False),
    ("schedule_exponential_staircase", "cce",
     {"SGD": {"learning_rate": {"ExponentialDecay": {"initial_learning_rate": 0.2, "decay_steps": 3,
                                                     "decay_rate": 0.5, "staircase": True}}}}, False),
    ("schedule_piecewise", "cce",
     {"SGD": {"learning_rate": {"PiecewiseConstantDecay": {"boundaries": [1, 5],
                                                           "values": [0.3, 0.1, 0.02]}}}}, False),
    ("schedule_inverse_time", "cce",
     {"SGD": {"learning_rate": {"InverseTimeDecay": {"initial_learning_rate": 0.2, "decay_steps": 2,
                                                     "decay_rate": 0.7}}}}, False),
    ("schedule_inverse_time_staircase", "cce",
     {"SGD": {"learning_rate": {"InverseTimeDecay": {"initial_learning_rate": 0.2, "decay_steps": 3,
                                                     "decay_rate": 0.7, "staircase": True}}}}, False),
    ("schedule_polynomial", "cce",
     {"SGD": {"learning_rate": {"PolynomialDecay": {"initial_learning_rate": 0.2, "decay_steps": 10,
                                                    "end_learning_rate": 0.01, "power": 0.5}}}}, False),
    # (jit-compiled XLA gives pow(0, 0.5) = nan, so Keras-on-JAX trains to nan once the step reaches
    # decay_steps with a fractional power; the eager schedule and kspec give end_learning_rate)
    ("schedule_polynomial_end", "cce",
     {"SGD": {"learning_rate": {"PolynomialDecay": {"initial_learning_rate": 0.2, "decay_steps": 5,
                                                    "end_learning_rate": 0.01, "power": 2.0}}}}, False),
    ("schedule_polynomial_cycle", "cce",
     {"SGD": {"learning_rate": {"PolynomialDecay": {"initial_learning_rate": 0.2, "decay_steps": 3,
                                                    "cycle": True}}}}, False),
    ("schedule_cosine", "cce",
     {"SGD": {"learning_rate": {"CosineDecay": {"initial_learning_rate": 0.2, "decay_steps": 6,
                                                "alpha": 0.1}}}}, False),
    ("schedule_cosine_warmup", "cce",
     {"SGD": {"learning_rate": {"CosineDecay": {"initial_learning_rate": 0.01, "decay_steps": 4,
                                                "warmup_target": 0.3, "warmup_steps": 3}}}}, False),
    ("schedule_cosine_restarts", "cce",
     {"SGD": {"learning_rate": {"CosineDecayRestarts": {"initial_learning_rate": 0.2, "first_decay_steps": 2,
                                                        "t_mul": 1.5, "m_mul": 0.8, "alpha": 0.05}}}}, False),
    ("schedule_cosine_restarts_tmul1", "cce",
     {"SGD": {"learning_rate": {"CosineDecayRestarts": {"initial_learning_rate": 0.2, "first_decay_steps": 3,
                                                        "t_mul": 1.0}}}}, False),
]


class Keras2Decay(SCHEDULES.LearningRateSchedule):
    """Keras 2's ``lr / (1 + decay * iterations)`` (after ``inner`` when given), in float32."""

    def __init__(self, learning_rate, decay):
        self.learning_rate = learning_rate
        self.decay = decay

    def __call__(self, step):
        lr = self.learning_rate
        lr = lr(step) if callable(lr) else ops.convert_to_tensor(lr, "float32")
        return lr / (1.0 + self.decay * ops.cast(step, "float32"))

    def get_config(self):
        return {"learning_rate": self.learning_rate, "decay": self.decay}


def keras_schedule(spec):
    (name, config), = spec.items()
    return getattr(SCHEDULES, name)(**config)


def keras_optimizer(spec):
    """A Keras optimizer from a kspec spec (lr/decay emulated with Keras2Decay)."""
    (name, config), = spec.items()
    config = dict(config)
    lr = config.pop("lr", None)
    if lr is not None:
        config["learning_rate"] = lr
    if isinstance(config.get("learning_rate"), dict):
        config["learning_rate"] = keras_schedule(config["learning_rate"])
    decay = config.pop("decay", None)
    if decay:
        config["learning_rate"] = Keras2Decay(config.get("learning_rate", 0.01 if name == "SGD" else 0.001),
                                              decay)
    return getattr(keras.optimizers, name)(**config)


def data():
    rng = np.random.default_rng(20240601)
    x = rng.normal(size=(64, 8)).astype("float32")
    y_cce = np.eye(3, dtype="float32")[rng.integers(0, 3, size=64)]
    y_mse = rng.normal(size=(64, 3)).astype("float32")
    sizes = [(8, 12), (12, 8), (8, 3)]
    weights = []
    for fan_in, fan_out in sizes:
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype("float32"))
        weights.append(rng.normal(scale=0.1, size=(fan_out,)).astype("float32"))
    return x, y_cce, y_mse, weights


def build_model(kind, weights):
    keras.utils.clear_session()
    model = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(12, activation="tanh", name="dense"),
        keras.layers.Dense(8, activation="relu", name="dense_1"),
        keras.layers.Dense(3, activation="softmax" if kind == "cce" else "linear", name="dense_2"),
    ], name="sequential")
    model.set_weights(weights)
    return model


def flat(arrays):
    return np.concatenate([np.asarray(a, dtype="float32").ravel() for a in arrays])


def train_cases(x, y_cce, y_mse, w0):
    weights, losses, accuracies, optimizer_values, cases = [], [], [], [], []
    for case, kind, spec, keep_slots in CASES:
        model = build_model(kind, w0)
        optimizer = keras_optimizer(spec)
        if kind == "cce":
            model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
            y = y_cce
        else:
            model.compile(optimizer=optimizer, loss="mse")
            y = y_mse
        history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        weights.append(flat(model.get_weights()))
        losses.append(history.history["loss"])
        accuracies.append(history.history.get("accuracy", [np.nan] * 2))
        entry = {"id": case, "model": kind, "optimizer": spec}
        if keep_slots:
            entry["optimizer_variables"] = [v.path for v in optimizer.variables]
            entry["optimizer_offset"] = sum(len(v) for v in optimizer_values)
            optimizer_values.append(flat([v.numpy() for v in optimizer.variables]))
        cases.append(entry)
        print(f"{case:34s} loss {history.history['loss']}")
    arrays = {"weights": np.stack(weights), "loss": np.asarray(losses, dtype="float32"),
              "accuracy": np.asarray(accuracies, dtype="float32"), "optimizer": flat(optimizer_values)}
    return arrays, cases


# -- configs -------------------------------------------------------------------------------------------
CONFIG_CASES = [
    ("SGD", {}), ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True, "clipnorm": 1.0}),
    ("RMSprop", {}), ("RMSprop", {"centered": True, "momentum": 0.5, "global_clipnorm": 2.0}),
    ("Adagrad", {}), ("Adadelta", {}), ("Adam", {}),
    ("Adam", {"amsgrad": True, "clipvalue": 0.5, "weight_decay": 0.01, "name": "my_adam"}),
    ("Adam", {"learning_rate": {"ExponentialDecay": {"initial_learning_rate": 0.1, "decay_steps": 10,
                                                     "decay_rate": 0.9}}}),
    ("AdamW", {}), ("AdamW", {"weight_decay": 0.1, "use_ema": True, "ema_momentum": 0.9,
                              "gradient_accumulation_steps": 4, "loss_scale_factor": 128.0}),
    ("Adamax", {}), ("Nadam", {}),
]

SCHEDULE_CASES = [
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.7}),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.7, "staircase": True}),
    ("PiecewiseConstantDecay", {"boundaries": [2, 5], "values": [1.0, 0.5, 0.1]}),
    ("PiecewiseConstantDecay", {"boundaries": [0], "values": [1.0, 0.5]}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.3}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.3, "staircase": True}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 5}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 4, "end_learning_rate": 0.01,
                         "power": 2.0, "cycle": True}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 7}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "alpha": 0.2}),
    ("CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 6, "warmup_target": 0.5, "warmup_steps": 4,
                     "alpha": 0.1}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 3}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 2, "t_mul": 1.0, "m_mul": 0.5,
                             "alpha": 0.1}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 3, "t_mul": 1.5, "m_mul": 0.9}),
]


def keras_config_cases():
    optimizers = []
    for name, kwargs in CONFIG_CASES:
        keras.utils.clear_session()  # default names without a _1 suffix
        optimizer = keras_optimizer({name: kwargs})
        optimizers.append({"class_name": name, "kwargs": kwargs, "config": optimizer.get_config(),
                           "serialized": keras.optimizers.serialize(optimizer)})
    schedules = []
    for name, kwargs in SCHEDULE_CASES:
        schedule = getattr(SCHEDULES, name)(**kwargs)
        values = [float(np.float32(schedule(np.int32(step)))) for step in range(30)]
        schedules.append({"class_name": name, "kwargs": kwargs, "config": schedule.get_config(),
                          "serialized": SCHEDULES.serialize(schedule), "values": values})
    names = {}
    for name in ("sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamw", "adamax", "nadam", "Adam", "SGD",
                 "RMSProp", "NADAM"):
        keras.utils.clear_session()
        optimizer = keras.optimizers.get(name)
        names[name] = {"class_name": type(optimizer).__name__, "name": optimizer.name}
    return {"optimizers": optimizers, "schedules": schedules, "string_names": names}


def main():
    os.makedirs(OUT, exist_ok=True)
    x, y_cce, y_mse, w0 = data()
    arrays, cases = train_cases(x, y_cce, y_mse, w0)
    arrays.update({"x": x, "y_cce": y_cce, "y_mse": y_mse})
    arrays.update({f"w{i}": w for i, w in enumerate(w0)})
    np.savez_compressed(os.path.join(OUT, "training_parity.npz"), **arrays)
    with open(os.path.join(OUT, "training_parity.json"), "w") as f:
        json.dump({"keras_version": keras.__version__, "backend": keras.backend.backend(), "batch_size": 16,
                   "epochs": 2, "cases": cases}, f, indent=1)
    with open(os.path.join(OUT, "optimizer_configs.json"), "w") as f:
        json.dump({"keras_version": keras.__version__, **keras_config_cases()}, f, indent=1)


if __name__ == "__main__":
    main()
