"""kspec.GradientTape in TensorFlow's style, Variables' Keras API, and optimizer.apply/apply_gradients with
the tape's gradients."""
import numpy as np
import pytest

import kspec
from kspec import ops
from kspec.engine import Tensor, Variable
from kspec.testing import check_backward

RNG = np.random.default_rng(0)
X = RNG.standard_normal((5, 3)).astype(np.float32)


def _weights():
    return (Variable(RNG.standard_normal((3, 2)).astype(np.float32), name="w"),
            Variable(RNG.standard_normal(2).astype(np.float32), name="b"))


def test_tape_gradients_equal_backward_bit_for_bit():
    w, b = _weights()

    def loss_of():
        h = ops.tanh(ops.matmul(X, w) + b)
        return ops.mean(ops.square(h * h + h))  # fan-out: h is used three times

    with kspec.GradientTape() as tape:
        loss = loss_of()
    gw, gb = tape.gradient(loss, [w, b])
    loss_of().backward()
    np.testing.assert_array_equal(gw.numpy(), w.grad)
    np.testing.assert_array_equal(gb.numpy(), b.grad)
    assert isinstance(gw, Tensor) and gw.dtype == np.float32


def test_a_second_gradient_call_on_a_non_persistent_tape_is_an_error():
    w, b = _weights()
    with kspec.GradientTape() as tape:
        loss = ops.sum(ops.matmul(X, w))
    assert tape.gradient(loss, w) is not None
    with pytest.raises(RuntimeError, match="non-persistent GradientTape"):
        tape.gradient(loss, w)


def test_persistent_tape_answers_again_with_the_same_values():
    w, b = _weights()
    with kspec.GradientTape(persistent=True) as tape:
        y = ops.matmul(X, w) + b
        first = ops.sum(ops.square(y))
        second = ops.mean(ops.relu(y))
    a1 = tape.gradient(first, w).numpy()
    a2 = tape.gradient(first, w).numpy()
    np.testing.assert_array_equal(a1, a2)
    gb = tape.gradient(second, b).numpy()
    np.testing.assert_allclose(gb, (ops.matmul(X, w).numpy() + b.numpy() > 0).mean(0) / 2, rtol=1e-6)


def test_sources_keep_their_structure_and_unconnected_give_none_or_zero():
    w, b = _weights()
    other = Variable(np.ones((4,), np.float32), name="unused")
    with kspec.GradientTape(persistent=True) as tape:
        loss = ops.sum(ops.matmul(X, w))
    grads = tape.gradient(loss, {"kernel": w, "rest": [b, other]})
    assert set(grads) == {"kernel", "rest"} and isinstance(grads["rest"], list)
    assert grads["rest"][0] is None and grads["rest"][1] is None, "b and the unused variable are unconnected"
    np.testing.assert_allclose(grads["kernel"].numpy(), np.repeat(X.sum(0)[:, None], 2, 1), rtol=1e-6)
    zero = tape.gradient(loss, [other], unconnected_gradients="zero")[0]
    np.testing.assert_array_equal(zero.numpy(), np.zeros(4, np.float32))


def test_watch_a_constant_tensor_and_intermediates_as_sources():
    x = ops.convert_to_tensor(X)
    with kspec.GradientTape(persistent=True) as tape:
        tape.watch(x)
        h = ops.square(x)
        y = ops.sum(h * 3.0)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), 6 * X, rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(y, h).numpy(), np.full_like(X, 3.0))
    with pytest.raises(TypeError, match="convert_to_tensor"):
        kspec.GradientTape().watch(X)


def test_an_unwatched_constant_has_no_gradient():
    x = ops.convert_to_tensor(X)
    with kspec.GradientTape() as tape:
        y = ops.sum(ops.square(x))
    assert tape.gradient(y, x) is None


def test_only_what_runs_inside_the_block_is_recorded():
    """As in TensorFlow: a tensor computed before the block (or after it) is a constant to the tape."""
    w, b = _weights()
    before = ops.matmul(X, w)  # outside any tape
    with kspec.GradientTape(persistent=True) as tape:
        inside = ops.sum(ops.square(before + b))
        tape_w = ops.sum(ops.matmul(X, w))
    after = inside * ops.sum(w)
    assert tape.gradient(inside, w) is None, "w reaches the loss only through an op run before the block"
    np.testing.assert_allclose(tape.gradient(inside, b).numpy(), 2 * (before.numpy() + b.numpy()).sum(0),
                               rtol=1e-5)
    assert tape.gradient(after, [w, b]) == [None, None], "the target was computed after the block"
    assert tape.gradient(tape_w, w) is not None


def test_tape_records_even_inside_no_grad_and_stop_recording_stops_it():
    from kspec.engine import no_grad
    w, _ = _weights()
    with no_grad():
        with kspec.GradientTape(persistent=True) as tape:
            y = ops.sum(ops.matmul(X, w))
            with tape.stop_recording():
                z = ops.sum(ops.matmul(X, w))
    assert tape.gradient(y, w) is not None
    assert tape.gradient(z, w) is None


def test_two_tapes_share_one_graph_like_a_gan():
    """A generator and a discriminator tape over one forward pass each get their own gradients."""
    g, _ = _weights()
    d = Variable(RNG.standard_normal((2, 1)).astype(np.float32), name="d")
    with kspec.GradientTape() as gen_tape, kspec.GradientTape() as disc_tape:
        fake = ops.tanh(ops.matmul(X, g))
        score = ops.matmul(fake, d)
        gen_loss = ops.mean(ops.square(score - 1.0))
        disc_loss = ops.mean(ops.square(score))
    gg = gen_tape.gradient(gen_loss, g)
    gd = disc_tape.gradient(disc_loss, d)
    ref_g = Variable(g.numpy(), name="g2")
    ops.mean(ops.square(ops.matmul(ops.tanh(ops.matmul(X, ref_g)), d.numpy()) - 1.0)).backward()
    np.testing.assert_array_equal(gg.numpy(), ref_g.grad)
    fake_np = np.tanh(X @ g.numpy())
    np.testing.assert_allclose(gd.numpy(), 2 * fake_np.T @ (fake_np @ d.numpy()) / 5, rtol=1e-5)


def test_several_targets_add_up():
    w, _ = _weights()
    with kspec.GradientTape(persistent=True) as tape:
        a = ops.sum(ops.matmul(X, w))
        b = ops.sum(ops.square(w))
    both = tape.gradient([a, b], w).numpy()
    np.testing.assert_allclose(both, tape.gradient(a, w).numpy() + tape.gradient(b, w).numpy(), rtol=1e-6)


def test_layers_and_optimizer_apply_with_tape_gradients():
    layer = kspec.layers.Dense(2)
    layer(X)
    start = [v.numpy() for v in layer.trainable_weights]
    opt = kspec.optimizers.SGD(learning_rate=0.1)
    with kspec.GradientTape() as tape:
        loss = ops.mean(ops.square(layer(X)))
    grads = tape.gradient(loss, layer.trainable_weights)
    opt.apply_gradients(zip(grads, layer.trainable_weights))
    for v, s, g in zip(layer.trainable_weights, start, grads):
        np.testing.assert_allclose(v.numpy(), s - np.float32(0.1) * g.numpy(), rtol=1e-6)
    with kspec.GradientTape() as tape:
        loss = ops.mean(ops.square(layer(X)))
    grads = tape.gradient(loss, layer.trainable_weights)
    before = [v.numpy() for v in layer.trainable_weights]
    opt.apply(grads)  # the variables the optimizer was built for
    assert opt.iterations == 2
    assert not np.array_equal(before[0], layer.trainable_weights[0].numpy())


def test_variable_keras_api():
    v = Variable(np.zeros((2, 2), np.float32), name="v")
    snapshot = v.numpy()
    v.assign(np.ones((2, 2)))
    v.assign_add(ops.full((2, 2), 2.0))
    v.assign_sub(0.5)
    np.testing.assert_array_equal(v.numpy(), np.full((2, 2), 2.5, np.float32))
    assert snapshot.sum() == 0, "numpy() is a copy: later updates do not change it"
    assert v.value is v and v.shape == (2, 2) and v.dtype == np.float32 and v.name == "v" and v.trainable
    assert v.numpy().dtype == np.float32, "assign keeps the dtype"
    with pytest.raises(ValueError, match="shape"):
        v.assign(np.ones(3))
    assert float(ops.sum(v)) == 10.0 and np.asarray(v).shape == (2, 2)


@pytest.mark.parametrize("fn", [lambda x: kspec.ops.var(x, axis=0), lambda x: kspec.ops.std(x, axis=1),
                                lambda x: kspec.ops.rsqrt(kspec.ops.square(x) + 1.0),
                                lambda x: kspec.ops.reciprocal(x + 3.0), lambda x: kspec.ops.moments(x, 0)[1],
                                lambda x: kspec.ops.binary_crossentropy(np.full((4, 3), 0.3), x, True),
                                lambda x: kspec.ops.take(x, np.array([2, 0, 2]), axis=1),
                                lambda x: kspec.ops.take(x, np.array([5, 1])),
                                lambda x: kspec.ops.max_pool(kspec.ops.reshape(x, (1, 4, 3, 1)), 2, 1),
                                lambda x: kspec.ops.conv(kspec.ops.reshape(x, (1, 4, 3)), np.ones((2, 3, 2)))])
def test_composite_ops_have_correct_gradients(fn):
    check_backward(fn, [np.random.default_rng(1).standard_normal((4, 3))])


def test_variable_from_keras_arguments():
    v = kspec.Variable([0.0, 1.0, 2.0])
    assert v.dtype == np.float32 and v.trainable and v.requires_grad, "Python floats become float32"
    assert kspec.Variable(np.zeros(3, np.float32)).dtype == np.float32
    w = kspec.Variable(initializer=kspec.initializers.Ones(), shape=(2, 3), trainable=False, name="w")
    np.testing.assert_array_equal(w.numpy(), np.ones((2, 3), np.float32))
    assert w.name == "w" and not w.trainable and not w.requires_grad
    assert kspec.Variable(3, dtype="int32").dtype == np.int32
    with pytest.raises(ValueError, match="shape"):
        kspec.Variable(kspec.initializers.Ones())
