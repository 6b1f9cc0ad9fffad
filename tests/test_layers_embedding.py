"""Embedding and Masking: values and masks against Keras 3 goldens, the scatter-add backward, gradient checks,
configs and the layer harness."""
import os

import numpy as np
import pytest

from kspec.engine import Tensor, Variable, ops
from kspec.engine.ops.embedding import scatter_rows
from kspec.layers import Embedding, Masking
from kspec.testing import check_backward, run_layer_test, to_float64

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "rnn_golden.npz"))


def test_embedding_gathers_rows_and_masks_zero_ids():
    ids = GOLDEN["ids"]
    layer = Embedding(10, 4, mask_zero=True)
    layer(Tensor(ids))
    layer.set_weights([GOLDEN["embed_lstm/emb"]])
    out = layer(Tensor(ids))
    np.testing.assert_array_equal(out.data, GOLDEN["embed_lstm/embedded"], err_msg="embedding values vs Keras")
    np.testing.assert_array_equal(out.keras_mask, GOLDEN["embed_lstm/mask"], err_msg="mask_zero mask vs Keras")
    float_ids = layer(Tensor(ids.astype(np.float32)))
    np.testing.assert_array_equal(float_ids.data, out.data, err_msg="float ids are cast to integers")
    assert Embedding(10, 4)(Tensor(ids)).keras_mask is None, "without mask_zero there is no mask"


@pytest.mark.parametrize("ids", [np.array([[1, 10]]), np.array([[-1, 2]])], ids=["too_large", "negative"])
def test_embedding_rejects_out_of_range_ids(ids):
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        Embedding(10, 3)(Tensor(ids))


@pytest.mark.parametrize("vocab,dim,shape", [(7, 3, (4, 5)), (50, 2, (3, 40)), (3, 4, (6,))],
                         ids=["small", "many_repeats", "rank1"])
def test_scatter_rows_matches_add_at(vocab, dim, shape):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, vocab, shape)
    rows = rng.standard_normal(shape + (dim,)).astype(np.float32)
    expected = np.zeros((vocab, dim), np.float32)
    np.add.at(expected, ids.reshape(-1), rows.reshape(-1, dim))
    got = scatter_rows(rows.reshape(-1, dim), ids.reshape(-1), vocab)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6, err_msg="sort + reduceat scatter vs add.at")
    assert got.dtype == np.float32


def test_embedding_gradient():
    rng = np.random.default_rng(1)
    table = Variable(rng.standard_normal((6, 3)))
    ids = rng.integers(0, 6, (4, 5))
    check_backward(lambda: ops.take_rows(table, ids), [], [table])
    layer = Embedding(6, 3)
    layer(Tensor(ids))
    to_float64(layer)
    check_backward(lambda: layer(Tensor(ids)), [], layer.weights)


def test_embedding_harness_and_config():
    run_layer_test(Embedding, {"input_dim": 10, "output_dim": 3}, (2, 5), input_dtype="int32",
                   expected_output_shape=(2, 5, 3), expected_num_trainable_weights=1, supports_masking=False)
    run_layer_test(Embedding, {"input_dim": 10, "output_dim": 3, "mask_zero": True}, (2, 5), input_dtype="int32",
                   expected_output_shape=(2, 5, 3), supports_masking=True)
    config = Embedding(10, 3).get_config()
    keras_keys = ["name", "trainable", "dtype", "input_dim", "output_dim", "embeddings_initializer",
                  "embeddings_regularizer", "activity_regularizer", "embeddings_constraint", "mask_zero",
                  "quantization_config"]
    assert sorted(config) == sorted(keras_keys), f"Embedding config keys {sorted(config)}"
    assert config["embeddings_initializer"]["class_name"] == "RandomUniform"
    assert config["embeddings_initializer"]["config"]["minval"] == -0.05


def test_embedding_arguments():
    with pytest.raises(ValueError, match="input_dim"):
        Embedding(0, 3)
    with pytest.warns(UserWarning, match="input_length"):
        layer = Embedding(5, 2, input_length=7)
    assert "input_length" not in layer.get_config()
    layer = Embedding(3, 2, weights=[np.arange(6, dtype=np.float32).reshape(3, 2)])
    np.testing.assert_array_equal(layer(Tensor(np.array([[2]]))).data, [[[4, 5]]], err_msg="weights= sets the table")


def test_masking_matches_keras():
    x = GOLDEN["masking/x"]
    out = Masking(0.0)(Tensor(x))
    np.testing.assert_array_equal(out.data, GOLDEN["masking/out"], err_msg="Masking output vs Keras")
    np.testing.assert_array_equal(out.keras_mask, GOLDEN["masking/mask"], err_msg="Masking mask vs Keras")


def test_masking_value_gradient_and_harness():
    x = np.array([[[1.0, 1.0], [2.0, 1.0], [1.0, 1.0]]], np.float32)
    out = Masking(mask_value=1.0)(Tensor(x))
    np.testing.assert_array_equal(out.keras_mask, [[False, True, False]], err_msg="steps equal to mask_value")
    np.testing.assert_array_equal(out.data, [[[0, 0], [2, 1], [0, 0]]], err_msg="masked steps are zeroed")
    rng = np.random.default_rng(2)
    check_backward(lambda t: Masking(mask_value=5.0)(t), [rng.standard_normal((2, 3, 2))])
    xd = rng.standard_normal((2, 3, 2))
    xd[0, 1] = 0.0   # a masked step: exactly at the mask value, where finite differences would jump
    t = Tensor(xd, requires_grad=True)
    Masking()(t).sum().backward()
    expected = np.ones_like(xd)
    expected[0, 1] = 0.0
    np.testing.assert_array_equal(t.grad, expected, err_msg="Masking passes no gradient to masked steps")
    run_layer_test(Masking, {"mask_value": 0.0}, (2, 3, 4), expected_output_shape=(2, 3, 4), supports_masking=True,
                   run_training_check=False)
