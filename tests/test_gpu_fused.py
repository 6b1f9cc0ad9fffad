"""The CuPy kernels (kspec/engine/ops/fused.py) against the NumPy ops, to float32 rounding: LSTM and GRU
steps forward and backward (with masks and initial states), and conv layers' ReLU tail. They need CuPy and
an NVIDIA GPU and are skipped without them; the strict stand-in (test_gpu_standin.py) covers the rest of the
GPU path on every machine."""
import numpy as np
import pytest

from kspec import backend
from kspec.engine import Tensor, ops
from kspec.engine.ops import fused

_cupy, _why = backend._find_cupy()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(_cupy is None, reason=f"needs CuPy and a GPU: {_why}")]


@pytest.fixture
def on_gpu():
    yield lambda: backend.use_device("gpu")
    backend.set_array_module(np)


def _grads(device_setup, fn, arrays, seed_grad):
    """fn's output and the gradients of sum(out * seed_grad) for every input, as host arrays."""
    if device_setup is not None:
        device_setup()
    tensors = [Tensor(backend.to_device(a), requires_grad=True) for a in arrays]
    out = fn(*tensors)
    (out * Tensor(backend.to_device(seed_grad))).sum().backward()
    result = [backend.to_numpy(out.data)] + [None if t.grad is None else backend.to_numpy(t.grad) for t in tensors]
    backend.set_array_module(np)
    return result


def _close(gpu, cpu):
    assert [g is None for g in gpu] == [c is None for c in cpu]  # unused initial states get no gradient
    for g, c in zip(gpu, cpu):
        if c is not None:
            np.testing.assert_allclose(g, c, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("with_state_and_mask", [False, True])
def test_lstm_kernels_match_numpy(on_gpu, with_state_and_mask):
    rng = np.random.default_rng(0)
    n, t, d, u = 5, 7, 3, 6
    arrays = [rng.normal(size=(n, t, d)), rng.normal(size=(d, 4 * u)) * 0.5, rng.normal(size=(u, 4 * u)) * 0.5,
              rng.normal(size=(4 * u,)) * 0.1, rng.normal(size=(n, u)), rng.normal(size=(n, u))]
    arrays = [a.astype(np.float32) for a in arrays]
    mask = np.arange(t)[None, :] < rng.integers(2, t + 1, n)[:, None]

    def fn(x, k, r, b, h0, c0):
        state = [h0, c0] if with_state_and_mask else None
        m = backend.to_device(mask) if with_state_and_mask else None
        return ops.lstm(x, k, r, b, initial_state=state, mask=m)

    seed = rng.normal(size=(t + 3, u, n)).astype(np.float32)
    cpu = _grads(None, fn, arrays, seed)
    gpu = _grads(on_gpu, fn, arrays, seed)
    _close(gpu, cpu)


def test_gru_kernels_match_numpy(on_gpu):
    rng = np.random.default_rng(1)
    n, t, d, u = 4, 6, 3, 5
    arrays = [rng.normal(size=(n, t, d)), rng.normal(size=(d, 3 * u)) * 0.5, rng.normal(size=(u, 3 * u)) * 0.5,
              rng.normal(size=(2, 3 * u)) * 0.1, rng.normal(size=(n, u))]
    arrays = [a.astype(np.float32) for a in arrays]
    seed = rng.normal(size=(t + 2, u, n)).astype(np.float32)

    def fn(x, k, r, b, h0):
        return ops.gru(x, k, r, b, initial_state=[h0], reset_after=True)

    _close(_grads(on_gpu, fn, arrays, seed), _grads(None, fn, arrays, seed))


def test_conv_relu_tail_matches_numpy(on_gpu):
    rng = np.random.default_rng(2)
    arrays = [rng.normal(size=(3, 9, 9, 2)), rng.normal(size=(3, 3, 2, 4)), rng.normal(size=(4,))]
    arrays = [a.astype(np.float32) for a in arrays]
    seed = rng.normal(size=(3, 9, 9, 4)).astype(np.float32)

    def fn(x, k, b):
        return ops.conv2d(x, k, b, padding="same", relu=True)

    _close(_grads(on_gpu, fn, arrays, seed), _grads(None, fn, arrays, seed))


def test_the_kernels_are_used_on_cupy_only(on_gpu):
    assert not fused.available()
    on_gpu()
    assert fused.available()
    y = backend.xp.asarray(np.array([-1.0, 0.0, 2.0], dtype=np.float32))
    fused.relu_(y)
    np.testing.assert_array_equal(backend.to_numpy(y), [0.0, 0.0, 2.0])
