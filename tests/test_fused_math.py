"""The CuPy kernels' arithmetic checked on any machine: each kernel body (kspec/engine/ops/fused.py) is read
as NumPy statements and run in place of the kernel, through the same calls the LSTM, GRU and conv ops make on
CuPy; the results must match the NumPy ops to float32 rounding. (test_gpu_fused.py runs the compiled kernels
where CuPy and a GPU are present.)"""
import re

import numpy as np
import pytest

from kspec.engine import Tensor, ops
from kspec.engine.ops import fused


def _names(params):
    return [p.split()[-1] for p in params.split(",") if p.strip()]


def _as_python(body):
    lines = []
    for line in body.strip().splitlines():
        line = re.sub(r"\(T\)(\w+)", r"np.float32(\1)", line.strip().rstrip(";"))
        line = re.sub(r"^T (\w+) =", r"\1 =", line)
        line = re.sub(r"^(\w+) = (.+?) \? (.+?) : (.+)$", r"\1 = np.where(\2, \3, \4)", line)
        lines.append(line)
    return compile("\n".join(lines), "<kernel>", "exec")


def _emulated(name):
    """A stand-in for the compiled kernel ``name``: its body run by NumPy on the same arguments."""
    in_params, out_params, body = fused._SOURCES[name]
    ins, outs, code = _names(in_params), _names(out_params), _as_python(body)

    def run(*arrays):
        env = dict(zip(ins + outs, arrays), exp=np.exp, tanh=np.tanh, np=np)
        exec(code, env)
        for out_name, target in zip(outs, arrays[len(ins):]):
            target[...] = env[out_name]
    return run


@pytest.fixture
def emulated_kernels(monkeypatch):
    monkeypatch.setattr(fused, "available", lambda: True)
    monkeypatch.setattr(fused, "kernel", _emulated)


def _run(fn, arrays, seed_grad):
    tensors = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(*tensors)
    (out * Tensor(seed_grad)).sum().backward()
    return [out.data.copy()] + [None if t.grad is None else t.grad.copy() for t in tensors]


def _compare(fn, arrays, seed_grad, monkeypatch):
    plain = _run(fn, arrays, seed_grad)
    monkeypatch.setattr(fused, "available", lambda: True)
    monkeypatch.setattr(fused, "kernel", _emulated)
    kernels = _run(fn, arrays, seed_grad)
    assert [k is None for k in kernels] == [p is None for p in plain]
    for k, p in zip(kernels, plain):
        if p is not None:
            assert k.dtype == np.float32
            np.testing.assert_allclose(k, p, rtol=1e-5, atol=1e-6)


def _f32(*arrays):
    return [a.astype(np.float32) for a in arrays]


@pytest.mark.parametrize("with_state_and_mask", [False, True])
def test_lstm_kernels(with_state_and_mask, monkeypatch):
    rng = np.random.default_rng(0)
    n, t, d, u = 5, 7, 3, 6
    arrays = _f32(rng.normal(size=(n, t, d)), rng.normal(size=(d, 4 * u)) * 0.5,
                  rng.normal(size=(u, 4 * u)) * 0.5, rng.normal(size=(4 * u,)) * 0.1, rng.normal(size=(n, u)),
                  rng.normal(size=(n, u)))
    mask = np.arange(t)[None, :] < rng.integers(2, t + 1, n)[:, None]

    def fn(x, k, r, b, h0, c0):
        if with_state_and_mask:
            return ops.lstm(x, k, r, b, initial_state=[h0, c0], mask=mask)
        return ops.lstm(x, k, r, b)

    _compare(fn, arrays, rng.normal(size=(t + 3, u, n)).astype(np.float32), monkeypatch)


def test_gru_kernels(monkeypatch):
    rng = np.random.default_rng(1)
    n, t, d, u = 4, 6, 3, 5
    arrays = _f32(rng.normal(size=(n, t, d)), rng.normal(size=(d, 3 * u)) * 0.5,
                  rng.normal(size=(u, 3 * u)) * 0.5, rng.normal(size=(2, 3 * u)) * 0.1, rng.normal(size=(n, u)))

    def fn(x, k, r, b, h0):
        return ops.gru(x, k, r, b, initial_state=[h0], reset_after=True, go_backwards=True)

    _compare(fn, arrays, rng.normal(size=(t + 2, u, n)).astype(np.float32), monkeypatch)


def test_conv_relu_kernels(monkeypatch):
    rng = np.random.default_rng(2)
    arrays = _f32(rng.normal(size=(3, 9, 9, 2)), rng.normal(size=(3, 3, 2, 4)), rng.normal(size=(4,)))

    def fn(x, k, b):
        return ops.conv2d(x, k, b, padding="same", relu=True)

    _compare(fn, arrays, rng.normal(size=(3, 9, 9, 4)).astype(np.float32), monkeypatch)


def test_the_kernels_are_really_called(emulated_kernels, monkeypatch):
    calls = []
    monkeypatch.setattr(fused, "kernel", lambda name: calls.append(name) or _emulated(name))
    x = Tensor(np.ones((2, 3, 2), dtype=np.float32), requires_grad=True)
    k = Tensor(np.full((2, 8), 0.1, dtype=np.float32))
    r = Tensor(np.full((2, 8), 0.1, dtype=np.float32))
    ops.lstm(x, k, r).sum().backward()
    assert calls.count("lstm_step") == 3 and calls.count("lstm_back") == 3
