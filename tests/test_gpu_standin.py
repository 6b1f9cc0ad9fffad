"""The GPU path on a CPU: kspec trains, evaluates and predicts through a strict CuPy stand-in
(tests/_strict_xp.py), installed through the same switch a GPU uses (``backend.use_device("gpu")``), with
the same numbers as NumPy and no device-to-host read inside a step."""
import os

import numpy as np
import pytest

from _strict_xp import StrictArray, strict, wrap_host_generator
from kspec import activations, backend, layers, run
from kspec.engine.ops import workspace
from kspec.models import Callback, Sequential
from kspec.optimizers import SGD, Adam, RMSprop
from kspec.optimizers.schedules import CosineDecay, ExponentialDecay

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def gpu_standin(monkeypatch):
    """Make ``use_device("gpu")`` find the stand-in instead of CuPy; NumPy again afterwards."""
    monkeypatch.setattr(backend, "_find_cupy", lambda: (strict, None))
    yield
    backend.set_array_module(np)


@pytest.fixture
def mirrored_rng(monkeypatch):
    """The stand-in draws its masks from the host streams NumPy uses, so the two runs can be compared."""
    monkeypatch.setattr(backend, "device_generator",
                        lambda rng=None: wrap_host_generator(backend.generator() if rng is None else rng))


class NoHostReads(Callback):
    """Fails the run if a training or test step reads anything back from the device."""

    lazy_batch_logs = True  # never asks for the batch logs (the progress bar would, and may)

    def on_train_batch_begin(self, batch, logs=None):
        strict.forbid_syncs = True

    def on_train_batch_end(self, batch, logs=None):
        strict.forbid_syncs = False

    on_test_batch_begin = on_train_batch_begin
    on_test_batch_end = on_train_batch_end


def _on(device, build):
    """Build, train, evaluate and predict on ``device``: (history, evaluation, predictions)."""
    backend.use_device(device)
    try:
        backend.set_seed(0)
        model, x, y, fit = build()
        # The NaN guard (terminate_on_nan, on by default) reads its finiteness check back each step, by
        # design: it must stop before a bad update. Off here, the rest of the step must read nothing back.
        history = model.fit(x, y, verbose=0, callbacks=[NoHostReads()] if device == "gpu" else None,
                            terminate_on_nan=False, **fit)
        evaluation = model.evaluate(x, y, verbose=0, return_dict=True)
        predictions = model.predict(x, verbose=0)
        weights = model.get_weights()
    finally:
        strict.forbid_syncs = False
        backend.set_array_module(np)
    return history.history, evaluation, predictions, weights


def _assert_same(numpy_run, device_run):
    (h0, e0, p0, w0), (h1, e1, p1, w1) = numpy_run, device_run
    assert type(p1) is np.ndarray and all(type(w) is np.ndarray for w in w1)
    assert h1 == h0
    assert e1 == e0
    np.testing.assert_array_equal(p1, p0)
    for a, b in zip(w0, w1):
        np.testing.assert_array_equal(b, a)


def _mlp():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(48, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 48)]
    model = Sequential([layers.InputLayer(shape=(6,)), layers.GaussianNoise(0.1), layers.Dense(16, activation="tanh"),
                        layers.Dropout(0.5), layers.Dense(8, activation="relu"), layers.Dropout(0.2, seed=3),
                        layers.Dense(3, activation="softmax")])
    model.compile(optimizer=SGD(ExponentialDecay(0.05, 4, 0.9), momentum=0.9, nesterov=True),
                  loss="categorical_crossentropy", metrics=["accuracy", "auc", "precision", "top_k_categorical_accuracy"])
    return model, x, y, {"batch_size": 12, "epochs": 2, "validation_split": 0.25}


def _convnet():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(20, 8, 8, 2)).astype(np.float32)
    y = rng.integers(0, 4, 20)
    model = Sequential([layers.InputLayer(shape=(8, 8, 2)), layers.Conv2D(6, 3, padding="same", activation="relu"),
                        layers.BatchNormalization(), layers.MaxPooling2D(2), layers.SpatialDropout2D(0.3),
                        layers.SeparableConv2D(5, 3, padding="same", activation="relu"),
                        layers.DepthwiseConv2D(3, depth_multiplier=2, activation="relu"),
                        layers.Conv2DTranspose(4, 2, strides=2, activation="relu"), layers.AveragePooling2D(2),
                        layers.GlobalMaxPooling2D(), layers.Dense(4, activation="softmax")])
    model.compile(optimizer=Adam(CosineDecay(0.01, 10), clipnorm=1.0), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model, x, y, {"batch_size": 8, "epochs": 2}


def _conv1d():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(16, 10, 3)).astype(np.float32)
    y = rng.normal(size=(16, 2)).astype(np.float32)
    model = Sequential([layers.InputLayer(shape=(10, 3)), layers.Conv1D(4, 3, activation="relu"),
                        layers.LayerNormalization(), layers.SpatialDropout1D(0.25), layers.AveragePooling1D(2),
                        layers.Conv1D(4, 2, dilation_rate=2, padding="causal", activation="elu"),
                        layers.GlobalAveragePooling1D(), layers.Dense(2)])
    model.compile(optimizer=RMSprop(0.01), loss="mse", metrics=["mae", "root_mean_squared_error"])
    return model, x, y, {"batch_size": 5, "epochs": 2}


def _recurrent():
    rng = np.random.default_rng(4)
    lengths = rng.integers(2, 7, 18)
    x = np.zeros((18, 7, 3), dtype=np.float32)
    for i, n in enumerate(lengths):
        x[i, :n] = rng.normal(size=(n, 3))
    y = (lengths > 4).astype(np.float32)
    model = Sequential([layers.InputLayer(shape=(7, 3)), layers.Masking(0.0),
                        layers.LSTM(6, return_sequences=True, dropout=0.2, recurrent_dropout=0.2),
                        layers.GRU(5, return_sequences=True, dropout=0.1),
                        layers.Bidirectional(layers.SimpleRNN(4)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["binary_accuracy", "auc", "recall"])
    return model, x, y, {"batch_size": 6, "epochs": 2}


@pytest.mark.parametrize("build", [_mlp, _convnet, _conv1d, _recurrent], ids=lambda f: f.__name__.strip("_"))
def test_models_train_the_same_on_the_standin(build, gpu_standin, mirrored_rng):
    _assert_same(_on("cpu", build), _on("gpu", build))


def test_device_masks_come_from_the_device_generator(gpu_standin):
    """Without mirroring, dropout and noise draw from the device generator, seeded from the kspec seed."""
    def masks():
        backend.use_device("gpu")
        backend.set_seed(7)
        x = backend.to_device(np.ones((4, 50), dtype=np.float32))
        outs = [layers.Dropout(0.5)(x, training=True).data, layers.GaussianNoise(1.0)(x, training=True).data]
        backend.set_array_module(np)
        return outs

    first, second = masks(), masks()
    assert all(isinstance(a, StrictArray) for a in first)
    kept = first[0].get()
    assert set(np.unique(kept)) <= {0.0, 2.0} and 50 < (kept == 0).sum() < 150
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.get(), b.get())  # the same seed draws the same masks


def test_embedding_checks_its_ids_with_one_read(gpu_standin):
    backend.use_device("gpu")
    layer = layers.Embedding(9, 4)
    ids = backend.to_device(np.array([[1, 8], [0, 3]]))
    layer(ids)
    before = strict.syncs
    layer(ids)
    assert strict.syncs == before + 1
    with pytest.raises(ValueError, match="embedding ids must lie in \\[0, 9\\); got ids from 0 to 9"):
        layer(backend.to_device(np.array([[0, 9]])))


@pytest.mark.parametrize("name", ["quickstart", "two_input", "siamese", "masked_sequences", "topics_text"])
def test_shipped_specs_train_evaluate_and_predict_the_same(name, tmp_path, gpu_standin, mirrored_rng):
    config = os.path.join(REPO, "configs", f"{name}.yaml")
    results = []
    for device in ("cpu", "gpu"):
        backend.use_device(device)
        try:
            trained = run.train(config, run_dir=str(tmp_path / device), overrides=("fit.epochs=2",), verbose=0)
            evaluated = run.evaluate(trained.run_dir)
        finally:
            backend.set_array_module(np)
        results.append((trained.metrics, trained.last_epoch, evaluated))
    assert results[1] == results[0]
    from kspec.io import load_model
    for a, b in zip(load_model(str(tmp_path / "cpu" / "model.h5")).get_weights(),
                    load_model(str(tmp_path / "gpu" / "model.h5")).get_weights()):
        np.testing.assert_array_equal(b, a)


def test_predict_through_the_standin_returns_host_arrays(tmp_path, gpu_standin):
    config = os.path.join(REPO, "configs", "quickstart.yaml")
    trained = run.train(config, run_dir=str(tmp_path / "iris"), overrides=("fit.epochs=1",), verbose=0)
    x = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], dtype=np.float32)
    on_cpu = run.predict(trained.run_dir, x)
    backend.use_device("gpu")
    on_device = run.predict(trained.run_dir, x)
    backend.set_array_module(np)
    assert type(on_device) is type(on_cpu)
    np.testing.assert_array_equal(np.asarray(on_device), np.asarray(on_cpu))


def test_the_workspace_pool_never_hands_a_host_buffer_to_the_device(gpu_standin):
    host = workspace.take("standin-probe", (3, 4))
    backend.use_device("gpu")
    device = workspace.take("standin-probe", (3, 4))
    assert isinstance(device, StrictArray) and not isinstance(host, StrictArray)


def test_the_standin_is_as_strict_as_cupy():
    a = strict.asarray(np.arange(6, dtype=np.float32))
    with pytest.raises(TypeError):
        np.float32(a.sum())
    with pytest.raises(TypeError):
        a + np.ones(6, dtype=np.float32)
    with pytest.raises(TypeError):
        strict.maximum(a, np.zeros(6, dtype=np.float32))
    with pytest.raises(AttributeError):
        strict.errstate
    with pytest.raises(TypeError):
        strict.max(a, initial=0)
    assert isinstance(a.sum(), StrictArray) and a.sum().ndim == 0 and isinstance(a[0], StrictArray)
    before = strict.syncs
    a[a > 2]
    strict.flatnonzero(a)
    assert strict.syncs == before + 2  # CuPy reads a mask's or nonzero's size back
    host = a.get()
    host[0] = 99
    assert type(host) is np.ndarray and float(a[0]) == 0.0


def test_device_selection(monkeypatch):
    monkeypatch.setattr(backend, "_find_cupy", lambda: (None, "CuPy is not installed (ModuleNotFoundError)"))
    assert backend.use_device("cpu") == "cpu" and backend.xp is np
    assert backend.use_device("auto") == "cpu" and backend.xp is np
    with pytest.raises(backend.DeviceError, match="--device gpu: CuPy is not installed.*kspec\\[gpu\\]"):
        backend.use_device("gpu")
    assert backend.xp is np
    with pytest.raises(backend.DeviceError, match="unknown device 'tpu'"):
        backend.use_device("tpu")
    monkeypatch.setenv("KSPEC_DEVICE", "auto")
    assert backend.use_device() == "cpu"


def test_auto_picks_the_gpu_when_one_is_found(gpu_standin):
    assert backend.use_device("auto") == "gpu" and backend.xp is strict and backend.device() == "gpu"


_NEEDS_VALUE = {"SensitivityAtSpecificity": "specificity", "SpecificityAtSensitivity": "sensitivity",
                "PrecisionAtRecall": "recall", "RecallAtPrecision": "precision"}


def _labels_and_predictions(sparse):
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(12, 4)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    ids = rng.integers(0, 4, 12)
    y = ids if sparse else np.eye(4, dtype=np.float32)[ids]
    weights = rng.uniform(0.5, 2, 12).astype(np.float32)
    return y, probs.astype(np.float32), weights


def _metric_results(name, device):
    from kspec import registry
    backend.use_device(device)
    try:
        cls = registry.lookup("metric", name)
        metric = cls(**({_NEEDS_VALUE[name]: 0.5} if name in _NEEDS_VALUE else {}))
        y, p, w = _labels_and_predictions("sparse" in name.lower())
        y, p, w = backend.to_device(y), backend.to_device(p), backend.to_device(w)
        strict.forbid_syncs = device == "gpu"
        if name in ("Sum", "Mean"):
            metric.update_state(p, w[:, None])
            metric.update_state(p)
        else:
            metric.update_state(y, p, w)
            metric.update_state(y, p)
        strict.forbid_syncs = False
        return metric.result()
    finally:
        strict.forbid_syncs = False
        backend.set_array_module(np)


def _loss_value_and_gradient(name, device):
    from kspec import losses
    from kspec.engine import Tensor
    backend.use_device(device)
    try:
        y, p, w = _labels_and_predictions("sparse" in str(name).lower())
        pred = Tensor(backend.to_device(p), requires_grad=True)
        strict.forbid_syncs = device == "gpu"
        loss = losses.get(name) if isinstance(name, str) else name()
        value = loss(backend.to_device(y), pred, backend.to_device(w))
        value.backward()
        strict.forbid_syncs = False
        return backend.to_numpy(value.data), backend.to_numpy(pred.grad)
    finally:
        strict.forbid_syncs = False
        backend.set_array_module(np)


def test_every_metric_updates_on_the_device_with_numpys_numbers(gpu_standin):
    from kspec import registry
    for name in registry.names("metric", aliases=False):
        on_cpu, on_device = _metric_results(name, "cpu"), _metric_results(name, "gpu")
        np.testing.assert_array_equal(np.asarray(on_device), np.asarray(on_cpu), err_msg=name)
        assert type(on_device) is type(on_cpu), name


def test_every_loss_and_its_gradient_on_the_device_with_numpys_numbers(gpu_standin):
    from kspec import registry
    from kspec import losses
    weighted_mean = [lambda: losses.MeanSquaredError(reduction="mean_with_sample_weight"),
                     lambda: losses.CategoricalCrossentropy(reduction="mean_with_sample_weight")]
    for name in registry.names("loss", aliases=False) + weighted_mean:
        (v0, g0), (v1, g1) = _loss_value_and_gradient(name, "cpu"), _loss_value_and_gradient(name, "gpu")
        np.testing.assert_array_equal(v1, v0, err_msg=str(name))
        np.testing.assert_array_equal(g1, g0, err_msg=str(name))


def test_class_and_sample_weights_reach_the_device(gpu_standin, mirrored_rng):
    def build():
        model, x, y, fit = _mlp()
        return model, x, y, dict(fit, class_weight={0: 1.0, 1: 2.0, 2: 0.5})

    _assert_same(_on("cpu", build), _on("gpu", build))


def _layer_cases():
    from kspec import registry
    L = layers
    cases = [(lambda name=name: L.Activation(name), (3, 6)) for name in registry.names("activation", aliases=False)
             if name != "threshold"]  # threshold needs its arguments
    cases.append((lambda: L.Activation(lambda x: activations.threshold(x, 0.2, -1.0)), (3, 6)))
    cases += [
        (lambda: L.Dense(4, kernel_regularizer="l1_l2", bias_regularizer="l2", activity_regularizer="l1",
                         kernel_constraint="max_norm", bias_constraint="non_neg"), (3, 5)),
        (lambda: L.Dense(4, kernel_constraint={"class_name": "MinMaxNorm", "config": {}},
                         kernel_regularizer={"class_name": "OrthogonalRegularizer", "config": {}}), (3, 5)),
        (lambda: L.Dense(4, kernel_constraint="unit_norm", kernel_initializer="orthogonal"), (3, 5)),
        (lambda: L.PReLU(), (3, 4, 2)), (lambda: L.LeakyReLU(0.2), (3, 4)), (lambda: L.ELU(), (3, 4)),
        (lambda: L.ReLU(max_value=1.0, threshold=0.1), (3, 4)), (lambda: L.Softmax(), (3, 4)),
        (lambda: L.Reshape((2, 6)), (3, 3, 4)), (lambda: L.Permute((2, 1)), (3, 4, 5)),
        (lambda: L.RepeatVector(3), (2, 4)), (lambda: L.Flatten(), (2, 3, 4)),
        (lambda: L.ZeroPadding1D(2), (2, 5, 3)), (lambda: L.ZeroPadding2D(((1, 0), (2, 1))), (2, 4, 4, 3)),
        (lambda: L.Cropping1D((1, 2)), (2, 6, 3)), (lambda: L.Cropping2D(((1, 1), (0, 2))), (2, 5, 6, 3)),
        (lambda: L.UpSampling1D(2), (2, 4, 3)), (lambda: L.UpSampling2D(2), (2, 3, 3, 2)),
        (lambda: L.MaxPooling1D(2), (2, 6, 3)), (lambda: L.GlobalMaxPooling1D(), (2, 6, 3)),
        (lambda: L.GlobalAveragePooling2D(), (2, 4, 4, 3)), (lambda: L.MaxPooling2D(2, strides=1), (2, 5, 5, 3)),
        (lambda: L.TimeDistributed(L.Dense(3)), (2, 4, 5)), (lambda: L.ActivityRegularization(0.1, 0.1), (3, 4)),
        (lambda: L.BatchNormalization(momentum=0.5), (6, 4)), (lambda: L.LayerNormalization(), (3, 4, 5)),
        (lambda: L.Conv2D(3, 2, strides=2, groups=1, activation="relu"), (2, 6, 6, 2)),
        (lambda: L.Conv2D(4, 3, groups=2, padding="same"), (2, 5, 5, 4)),
        (lambda: L.Conv1D(3, 3, padding="same", dilation_rate=2, activation="relu"), (2, 9, 2)),
        (lambda: L.SimpleRNN(4, return_sequences=True, go_backwards=True), (2, 5, 3)),
        (lambda: L.LSTM(4, activation="relu", use_bias=False, unit_forget_bias=False), (2, 5, 3)),
        (lambda: L.GRU(4, reset_after=False, return_state=True), (2, 5, 3)),
        (lambda: L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode="ave"), (2, 4, 3)),
    ]
    for merge in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"):
        cases.append((lambda merge=merge: getattr(L, merge)(), [(3, 4), (3, 4)]))
    cases.append((lambda: L.Dot(axes=1, normalize=True), [(3, 4), (3, 4)]))
    return cases


def _layer_step(factory, shape, device):
    from kspec.engine import Tensor
    backend.use_device(device)
    try:
        backend.set_seed(3)
        rng = np.random.default_rng(3)
        shapes = shape if isinstance(shape, list) else [shape]
        inputs = [Tensor(backend.to_device(rng.normal(size=s).astype(np.float32)), requires_grad=True)
                  for s in shapes]
        layer = factory()
        strict.forbid_syncs = device == "gpu"
        out = layer(inputs if isinstance(shape, list) else inputs[0], training=True)
        outs = out if isinstance(out, (list, tuple)) else [out]
        total = None
        for o in outs:
            term = (o * o).sum()
            total = term if total is None else total + term
        for penalty in layer.losses:
            total = total + penalty
        total.backward()
        strict.forbid_syncs = False
        for w in layer.trainable_weights:
            if w.constraint is not None:
                w.data[...] = w.constraint(w.data)
        arrays = [o.data for o in outs] + [t.grad for t in inputs] + [w.data for w in layer.weights]
        return [None if a is None else backend.to_numpy(a) for a in arrays]
    finally:
        strict.forbid_syncs = False
        backend.set_array_module(np)


@pytest.mark.parametrize("case", range(len(_layer_cases())))
def test_layers_forward_backward_on_the_device(case, gpu_standin):
    factory, shape = _layer_cases()[case]
    on_cpu, on_device = _layer_step(factory, shape, "cpu"), _layer_step(factory, shape, "gpu")
    assert len(on_cpu) == len(on_device)
    for a, b in zip(on_cpu, on_device):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(b, a)


_OPTIMIZERS = [
    ("SGD", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}), ("Adam", {"amsgrad": True, "clipvalue": 0.5}),
    ("Adam", {"global_clipnorm": 0.1, "use_ema": True, "ema_overwrite_frequency": 2}),
    ("AdamW", {}), ("Adamax", {"clipnorm": 0.1}), ("Nadam", {"loss_scale_factor": 4.0}),
    ("RMSprop", {"momentum": 0.5, "centered": True}), ("Adagrad", {"gradient_accumulation_steps": 2}),
    ("Adadelta", {"learning_rate": 1.0}),
]


@pytest.mark.parametrize("name,kwargs", _OPTIMIZERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(_OPTIMIZERS)])
def test_optimizers_step_on_the_device(name, kwargs, gpu_standin, mirrored_rng):
    from kspec import optimizers

    def build():
        rng = np.random.default_rng(6)
        x = rng.normal(size=(20, 5)).astype(np.float32)
        y = rng.normal(size=(20, 2)).astype(np.float32)
        model = Sequential([layers.InputLayer(shape=(5,)), layers.Dense(6, activation="tanh"), layers.Dense(2)])
        model.compile(optimizer=optimizers.get({"class_name": name, "config": dict(kwargs)}), loss="mse")
        return model, x, y, {"batch_size": 5, "epochs": 2}

    _assert_same(_on("cpu", build), _on("gpu", build))
