"""kspec's differentiable ops: the vocabulary for layers, losses, Lambda expressions and custom losses.

Every op takes Tensors (or arrays and Python numbers, wrapped as constants) and returns a Tensor that
records its backward pass when a gradient is needed.
"""
from kspec.engine.ops.math import (abs, add, cast, clip, divide, exp, log, log1p, maximum, minimum, multiply,
                                   negative, power, sigmoid, sign, sqrt, square, stop_gradient, subtract,
                                   tanh, unbroadcast, where)
from kspec.engine.ops.losses import (log_cosh, sparse_categorical_crossentropy_from_logits,
                                     sparse_categorical_crossentropy_from_probs)
from kspec.engine.ops.nn import (binary_crossentropy_from_logits, binary_crossentropy_from_probs,
                                 categorical_crossentropy_from_logits, categorical_crossentropy_from_probs,
                                 dropout, linear, log_softmax, matmul, relu, softmax)
from kspec.engine.ops.activations import (elu, erf, expm1, gelu, hard_sigmoid, hard_silu, leaky_relu, mish,
                                          prelu, relu6, relu_ext, selu, silu, softplus, sparsemax)
from kspec.engine.ops.reduce import logsumexp, max, mean, min, sum
from kspec.engine.ops.shape import (broadcast_to, concatenate, expand_dims, flatten, getitem, pad, repeat,
                                    reshape, split, squeeze, stack, tile, transpose)
from kspec.engine.ops.conv import conv1d, conv2d, conv2d_transpose, depthwise_conv2d
from kspec.engine.ops.pooling import average_pool1d, average_pool2d, max_pool1d, max_pool2d
from kspec.engine.ops.normalization import normalize_batch, normalize_fixed
from kspec.engine.ops.recurrent import gru, lstm, simple_rnn
from kspec.engine.ops.embedding import take_rows
from kspec.engine.tensor import Tensor


def _install_operators():
    def rev(fn):
        return lambda self, other: fn(other, self)

    Tensor.__add__ = add
    Tensor.__radd__ = rev(add)
    Tensor.__sub__ = subtract
    Tensor.__rsub__ = rev(subtract)
    Tensor.__mul__ = multiply
    Tensor.__rmul__ = rev(multiply)
    Tensor.__truediv__ = divide
    Tensor.__rtruediv__ = rev(divide)
    Tensor.__neg__ = negative
    Tensor.__pow__ = power
    Tensor.__matmul__ = matmul
    Tensor.__rmatmul__ = rev(matmul)
    Tensor.__getitem__ = getitem
    Tensor.reshape = lambda self, *shape: reshape(self, shape[0] if len(shape) == 1 else shape)
    Tensor.sum = lambda self, axis=None, keepdims=False: sum(self, axis, keepdims)
    Tensor.mean = lambda self, axis=None, keepdims=False: mean(self, axis, keepdims)
    Tensor.T = property(lambda self: transpose(self))


_install_operators()
