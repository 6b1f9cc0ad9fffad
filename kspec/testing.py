"""Public testing helpers: a float64 directional gradient check, float32 assertions and the layer harness.

``check_backward(fn, inputs, params=())`` compares the tape's gradient with central differences along a
random direction, in float64 (float32 finite differences are far too coarse, reference C1).
``run_layer_test(layer_cls, init_kwargs, input_shape, ...)`` is the Keras-style smoke test of a layer.
"""
import json
import warnings

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


# -- the layer test harness -------------------------------------------------------------------------------

def run_layer_test(layer_cls, init_kwargs, input_shape, expected_output_shape=None,
                   expected_num_trainable_weights=None, expected_num_non_trainable_weights=None,
                   supports_masking=None, input_dtype="float32", run_training_check=True, input_data=None,
                   seed=0, run_gradient_check=True, run_mask_check=True):
    """Keras-style smoke test of a layer class; returns the (first) output array of the first call.

    Checks, each failing with a message naming the layer and the quantity that differs:
    the config is JSON-serializable and ``from_config(get_config())`` gives the same config (before and
    after building); the ``supports_masking`` flag; the call's output shape against
    ``compute_output_shape`` (batch None) and ``expected_output_shape`` (full, batch included); float32
    outputs and weights; the weight counts; batch independence (sample 0 alone gives row 0); a mask is
    dropped by a layer that does not support masking; a layer revived from its config with
    ``set_weights`` reproduces the output; one SGD step of a Sequential([layer]) under MSE gives a
    finite loss and moves the trainable weights (one input only); and a float64 gradient check of the
    inference call with respect to the (float) inputs and the weights.

    input_shape : full shape, batch first, e.g. (2, 3, 4), or a list of them for a layer of several
    inputs. run_mask_check : False for a layer whose mask has its input's own shape (Softmax).
    input_data : optional array (or list) used instead of random data (random ints in [0, 10)
    for integer ``input_dtype``).
    Layers whose config needs unsafe loading (a Lambda of a Python ``lambda``) cannot take the config
    round trip: give such a Lambda a named function.
    """
    from kspec.models import Sequential
    from kspec.optimizers import SGD

    rng = np.random.default_rng(seed)
    several = isinstance(input_shape, list) or isinstance(input_data, list)
    if input_data is not None:
        x = [np.asarray(a) for a in input_data] if several else np.asarray(input_data)
    else:
        x = [_layer_test_input(rng, tuple(s), input_dtype) for s in input_shape] if several else \
            _layer_test_input(rng, input_shape, input_dtype)
    xs = x if several else [x]
    input_shape = tuple(xs[0].shape)
    name = layer_cls.__name__

    def tensors(arrays):
        return [Tensor(a) for a in arrays] if several else Tensor(arrays[0])

    layer = layer_cls(**init_kwargs)
    config = _check_config_round_trip(layer_cls, layer, "unbuilt")
    if supports_masking is not None:
        assert layer.supports_masking == supports_masking, \
            f"{name}.supports_masking is {layer.supports_masking}, expected {supports_masking}"

    outs = _as_list(layer(tensors(xs)))
    arrays = [o.data for o in outs]
    declared = layer.compute_output_shape([(None,) + a.shape[1:] for a in xs] if several else
                                          (None,) + input_shape[1:])
    declared = declared if isinstance(declared, list) else [declared]
    assert len(declared) == len(outs), f"{name}: compute_output_shape gives {len(declared)} shapes, " \
                                       f"call gives {len(outs)} outputs"
    for i, (o, d) in enumerate(zip(arrays, declared)):
        d = tuple(d)
        assert d[0] in (None, o.shape[0]) and d[1:] == o.shape[1:], \
            f"{name} output {i}: compute_output_shape {d} does not match the call's shape {o.shape}"
    if expected_output_shape is not None:
        expected = expected_output_shape if isinstance(expected_output_shape, list) else [expected_output_shape]
        got = [tuple(a.shape) for a in arrays]
        assert got == [tuple(e) for e in expected], f"{name}: output shape {got}, expected {expected}"
    if np.dtype(input_dtype).kind == "f":
        assert_float32(arrays, f"{name} output")
    assert_float32(layer.weights, f"{name} weight")
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights, \
            f"{name}: {len(layer.trainable_weights)} trainable weights, expected {expected_num_trainable_weights}"
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights, \
            f"{name}: {len(layer.non_trainable_weights)} non-trainable weights, expected " \
            f"{expected_num_non_trainable_weights}"

    if input_shape[0] >= 2:  # row 0 must not depend on the rest of the batch
        first = _as_list(layer(tensors([a[:1] for a in xs])))
        for i, (o, full) in enumerate(zip(first, arrays)):
            np.testing.assert_allclose(o.data, full[:1], rtol=1e-5, atol=1e-6,
                                       err_msg=f"{name} output {i}: sample 0 alone differs from row 0")

    if run_mask_check and xs[0].ndim >= 2 and not several:  # a time-step mask, (batch, ..., steps)
        masked = Tensor(x)
        masked.keras_mask = rng.random(input_shape[:-1]) > 0.3
        out_mask = _as_list(layer(masked))[0].keras_mask
        if not layer.supports_masking:
            assert out_mask is None, f"{name} does not support masking but its output kept a mask"

    built_config = _check_config_round_trip(layer_cls, layer, "built")
    assert built_config == config, f"{name}: building changed the config:\n{config}\n{built_config}"
    revived = layer_cls.from_config(json.loads(json.dumps(config)))
    revived(tensors(xs))
    revived.set_weights(layer.get_weights())
    for i, (o, a) in enumerate(zip(_as_list(revived(tensors(xs))), arrays)):
        np.testing.assert_allclose(o.data, a, rtol=1e-6, atol=1e-7,
                                   err_msg=f"{name} output {i}: revived layer with set_weights differs")
    layer.clear_activity_losses()

    if run_training_check and not several and len(outs) == 1 and arrays[0].dtype.kind == "f":
        _check_training_step(Sequential, SGD, layer_cls(**init_kwargs), x, rng.standard_normal(arrays[0].shape))
    if run_gradient_check and arrays[0].dtype.kind == "f":
        _check_layer_gradient(layer_cls.from_config(json.loads(json.dumps(config))), xs, several, rng)
    return arrays[0] if len(arrays) == 1 else arrays


def _layer_test_input(rng, shape, dtype):
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 10, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _check_config_round_trip(layer_cls, layer, when):
    name = layer_cls.__name__
    config = layer.get_config()
    try:
        text = json.dumps(config)
    except TypeError as err:
        raise AssertionError(f"{name} ({when}): get_config() is not JSON-serializable: {err}") from err
    for key in ("name", "dtype"):  # (an InputLayer's or a SpatialDropout's Keras config has no "trainable")
        assert key in config, f"{name} ({when}): get_config() lacks the base key {key!r}"
    config = json.loads(text)
    again = layer_cls.from_config(json.loads(text)).get_config()
    assert json.loads(json.dumps(again)) == config, \
        f"{name} ({when}): from_config(get_config()) changed the config:\n{config}\n{again}"
    return config


def _check_layer_gradient(layer, xs, several, rng):
    """check_backward of the inference call in float64, with non-trivial weights."""
    layer.ensure_built([(None,) + a.shape[1:] for a in xs] if several else (None,) + xs[0].shape[1:])
    for w in layer.weights:
        w.assign(_host_copy(w) + rng.standard_normal(w.shape).astype(np.float32) * np.float32(0.1))
    to_float64(layer)
    inputs = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in xs]

    def call(*ts):
        return layer(list(ts) if several else ts[0], training=False)

    try:
        check_backward(call, inputs, params=layer.trainable_weights)
    except AssertionError as err:
        raise AssertionError(f"{type(layer).__name__}: float64 gradient check: {err}") from err


def _check_training_step(sequential_cls, sgd_cls, layer, x, y):
    name = type(layer).__name__
    model = sequential_cls([layer])
    model.build((None,) + tuple(x.shape[1:]))
    model.compile(optimizer=sgd_cls(learning_rate=0.01), loss="mse")
    before = [_host_copy(w) for w in layer.trainable_weights]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the optimizer warns about weights without a gradient
        try:
            loss = model.train_on_batch(x, y.astype(np.float32))
        except (ValueError, UserWarning) as err:
            if "radients" not in str(err):
                raise
            raise AssertionError(f"{name}: trainable weights get no gradient in a training step: {err}") from err
    assert np.isfinite(loss), f"{name}: the training step's loss is {loss}"
    assert_float32(layer.weights, f"{name} weight after a training step")
    moved = [not np.array_equal(b, _host_copy(w)) for b, w in zip(before, layer.trainable_weights)]
    assert all(moved), f"{name}: trainable weights that did not move in a training step: " \
                       f"{[w.path for w, m in zip(layer.trainable_weights, moved) if not m]}"


def _host_copy(weight):
    """A host NumPy copy of a weight's value."""
    from kspec import backend
    return backend.to_numpy(weight.data).copy()
