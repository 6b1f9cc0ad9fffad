"""The Keras Python surface: ``import kspec as keras`` namespaces load lazily, ``kspec.ops``, ``kspec.random``
and ``kspec.utils`` behave as Keras's."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import kspec as keras
from kspec import ops

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_import_kspec_loads_nothing_until_a_name_is_used():
    probe = ("import json, sys, kspec\nbefore = sorted(sys.modules)\nkspec.layers\n"
             "print(json.dumps([before, sorted(sys.modules)]))")
    env = dict(os.environ, PYTHONPATH=REPO)
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    before, after = json.loads(done.stdout)
    assert "numpy" not in before and not any(m.startswith("kspec.") for m in before), before
    assert "kspec.layers" in after and "kspec.optimizers" not in after, "one namespace loads only itself"


@pytest.mark.parametrize("name, kind", [
    ("layers", "module"), ("models", "module"), ("optimizers", "module"), ("losses", "module"),
    ("metrics", "module"), ("callbacks", "module"), ("initializers", "module"), ("regularizers", "module"),
    ("constraints", "module"), ("activations", "module"), ("ops", "module"), ("random", "module"),
    ("utils", "module"), ("datasets", "module"), ("Model", "class"), ("Sequential", "class"),
    ("Input", "function"), ("Layer", "class"), ("Loss", "class"), ("Metric", "class"), ("Optimizer", "class"),
    ("Variable", "class"), ("GradientTape", "class")])
def test_keras_names_resolve(name, kind):
    value = getattr(keras, name)
    assert type(value).__name__ == kind or (kind == "class" and isinstance(value, type)), (name, value)
    assert name in dir(keras)


def test_guide_names_are_there():
    for path in ("layers.Dense", "layers.Layer", "optimizers.Adam", "optimizers.SGD", "losses.MeanSquaredError",
                 "losses.BinaryCrossentropy", "losses.SparseCategoricalCrossentropy", "metrics.Mean",
                 "metrics.MeanAbsoluteError", "metrics.SparseCategoricalAccuracy", "callbacks.Callback",
                 "callbacks.EarlyStopping", "utils.set_random_seed", "utils.to_categorical", "utils.PyDataset",
                 "random.normal", "random.uniform", "random.SeedGenerator", "ops.matmul", "ops.convert_to_numpy"):
        value = keras
        for part in path.split("."):
            value = getattr(value, part)
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        keras.nonexistent


def test_ops_compute_with_keras_names_and_defaults():
    x = ops.convert_to_tensor(np.arange(6, dtype=np.float64).reshape(2, 3))
    assert x.dtype == np.float32, "float64 input becomes float32, the policy"
    np.testing.assert_array_equal(ops.convert_to_numpy(ops.concatenate([x, x])), np.vstack([x.numpy()] * 2))
    assert ops.shape(x) == (2, 3) and ops.ndim(x) == 2
    np.testing.assert_allclose(ops.convert_to_numpy(ops.softmax(x)).sum(-1), [1, 1], rtol=1e-6)
    np.testing.assert_array_equal(ops.convert_to_numpy(ops.argmax(x, axis=-1)), [2, 2])
    np.testing.assert_array_equal(ops.convert_to_numpy(ops.greater(x, 2.0)), x.numpy() > 2)
    np.testing.assert_array_equal(ops.one_hot(np.array([2, 0]), 3).numpy(), np.eye(3, dtype=np.float32)[[2, 0]])
    assert ops.zeros((2,)).dtype == np.float32 and ops.arange(3).dtype.kind == "i"
    np.testing.assert_allclose(float(ops.var(x)), np.var(x.numpy()), rtol=1e-6)
    np.testing.assert_allclose(ops.cast(x, "int32").numpy(), x.numpy().astype(np.int32))
    np.testing.assert_allclose(ops.binary_crossentropy(np.ones((2, 3)), ops.sigmoid(x)).numpy(),
                               -np.log(1 / (1 + np.exp(-x.numpy()))), rtol=1e-5, atol=1e-6)


def test_random_and_seed_generator_are_reproducible():
    a = keras.random.normal((3, 2), seed=keras.random.SeedGenerator(7))
    b = keras.random.normal((3, 2), seed=keras.random.SeedGenerator(7))
    assert a.dtype == np.float32 and a.shape == (3, 2)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    gen = keras.random.SeedGenerator(7)
    first, second = keras.random.uniform((4,), seed=gen), keras.random.uniform((4,), seed=gen)
    assert not np.array_equal(first.numpy(), second.numpy()), "a SeedGenerator advances"
    assert 0 <= float(ops.min(first)) and float(ops.max(first)) < 1
    np.testing.assert_array_equal(keras.random.normal((2,), seed=3).numpy(), keras.random.normal((2,), seed=3).numpy())


def test_utils():
    np.testing.assert_array_equal(keras.utils.to_categorical([[1], [0]], 3), [[0, 1, 0], [1, 0, 0]])
    assert keras.utils.to_categorical([2, 1]).dtype == np.float32
    keras.utils.set_random_seed(11)
    first = keras.layers.Dense(3)
    first.build((None, 4))
    keras.utils.set_random_seed(11)
    again = keras.layers.Dense(3)
    again.build((None, 4))
    np.testing.assert_array_equal(first.get_weights()[0], again.get_weights()[0])
    with pytest.raises(ValueError, match="integer"):
        keras.utils.set_random_seed("x")


def test_datasets_fashion_mnist_load_data():
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    except Exception as e:  # the data files are optional
        pytest.skip(f"Fashion-MNIST is not installed here: {e}")
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.max() == 9 and y_test.shape == (10000,)


def test_kspec_help_imports_no_engine_and_no_keras_namespace():
    probe = ("import json, sys\nfrom kspec.cli.main import cli\ntry:\n    cli.main(['--help'], prog_name='kspec')\n"
             "except SystemExit:\n    pass\nprint(json.dumps(sorted(sys.modules)))")
    env = dict(os.environ, PYTHONPATH=REPO)
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    modules = set(json.loads(done.stdout.splitlines()[-1]))
    heavy = sorted(m for m in modules if m in ("numpy", "h5py", "yaml") or m.split(".")[:2] in (
        ["kspec", "engine"], ["kspec", "models"], ["kspec", "layers"], ["kspec", "ops"], ["kspec", "utils"]))
    assert not heavy, f"kspec --help imported {heavy}"


def test_models_load_model_round_trip(tmp_path):
    model = keras.Sequential([keras.layers.InputLayer(shape=(3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    path = str(tmp_path / "m.h5")
    model.save(path)
    again = keras.models.load_model(path)
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
