"""Public testing helpers: a float64 directional gradient check and float32 assertions.

``check_backward(fn, inputs, params=())`` compares the tape's gradient with central differences along a
random direction, in float64 (float32 finite differences are far too coarse, reference C1).
"""
import numpy as np

from kspec.engine import Tensor, Variable


def check_backward(fn, inputs, params=(), eps=1e-6, rtol=1e-5, atol=1e-8, seed=0, trials=2):
    """Check d/dx of ``sum(fn(*inputs) * r)`` for every input and param along random directions.

    fn : callable taking Tensors and returning a Tensor (or a list of Tensors).
    inputs : list of float64 arrays (ints are passed through untouched, without gradient).
    params : Variables read inside ``fn`` (e.g. a layer's weights, cast to float64 with :func:`to_float64`).
    Raises AssertionError naming the analytic and numeric directional derivatives when they disagree.
    """
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a) for a in inputs]
    diff = [a.dtype.kind == "f" for a in arrays]
    for a, d in zip(arrays, diff):
        if d and a.dtype != np.float64:
            raise TypeError("check_backward needs float64 inputs")

    def evaluate(values, weights):
        tensors = [Tensor(v, requires_grad=d) for v, d in zip(values, diff)]
        out = fn(*tensors)
        outs = out if isinstance(out, (list, tuple)) else [out]
        return tensors, outs

    base = [p.data.copy() for p in params]
    for trial in range(trials):
        tensors, outs = evaluate(arrays, None)
        weights = [rng.standard_normal(o.shape) for o in outs]
        total = None
        for o, w in zip(outs, weights):
            term = (o * Tensor(w)).sum()
            total = term if total is None else total + term
        for p in params:
            p.grad = None
        total.backward()
        directions = [rng.standard_normal(a.shape) if d else None for a, d in zip(arrays, diff)]
        pdirs = [rng.standard_normal(p.shape) for p in params]
        analytic = 0.0
        for t, d in zip(tensors, directions):
            if d is not None and t.grad is not None:
                analytic += float((t.grad * d).sum())
        for p, d in zip(params, pdirs):
            if p.grad is not None:
                analytic += float((p.grad * d).sum())

        def f(sign):
            shifted = [a + sign * eps * d if d is not None else a for a, d in zip(arrays, directions)]
            for p, b, d in zip(params, base, pdirs):
                p.data[...] = b + sign * eps * d
            _, outs_ = evaluate(shifted, None)
            return sum(float((o.data * w).sum()) for o, w in zip(outs_, weights))

        numeric = (f(1) - f(-1)) / (2 * eps)
        for p, b in zip(params, base):
            p.data[...] = b
            p.grad = None
        if not np.isclose(analytic, numeric, rtol=rtol, atol=atol * max(1.0, abs(numeric))):
            raise AssertionError(f"gradient check failed (trial {trial}): analytic directional derivative "
                                 f"{analytic!r} vs numeric {numeric!r}")
    return True


def to_float64(obj):
    """Cast the weights of a layer or model to float64 in place, for gradient checks."""
    for w in obj.weights:
        w.data = w.data.astype(np.float64)
    return obj


def assert_float32(arrays, what="array"):
    """Assert every floating array in ``arrays`` (arrays, Tensors or Variables) is float32."""
    for i, a in enumerate(arrays):
        data = a.data if isinstance(a, (Tensor, Variable)) else a
        if data is None:
            continue
        dtype = np.asarray(data).dtype
        if dtype.kind == "f" and dtype != np.float32:
            raise AssertionError(f"{what} #{i} is {dtype}, expected float32")
