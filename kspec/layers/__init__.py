"""Layers, one module per family; importing this package registers them all.

Args:
    name: The layer's name, unique in a model (default: the snake_case class name, numbered: dense_1).
    dtype: The dtype of the layer's weights and computations (default float32).
    trainable: Whether training updates the layer's weights (false freezes them).
    activity_regularizer: A regularizer applied to the layer's output; its penalty is added to the loss.
    activation: The activation applied to the output: a name such as relu or softmax, or null for none
        (linear).
    use_bias: Whether the layer adds a learned bias vector.
    kernel_initializer: How the kernel (the main weight matrix) is initialized.
    bias_initializer: How the bias is initialized.
    kernel_regularizer: A penalty on the kernel weights, added to the loss.
    bias_regularizer: A penalty on the bias, added to the loss.
    kernel_constraint: A constraint applied to the kernel after each optimizer step (e.g. max_norm).
    bias_constraint: A constraint applied to the bias after each optimizer step.
    data_format: channels_last (batch, ..., channels) or channels_first (batch, channels, ...); null means
        channels_last.
    padding: valid (no padding: the output shrinks) or same (zeros added so that, with stride 1, the output
        keeps the input's size).
    strides: The window's step along each spatial axis: an int for every axis, or one per axis.
    dilation_rate: The spacing between the kernel's taps (dilated convolution); 1 is a plain convolution.
    seed: An integer seed for the layer's random draws (null: drawn from the global seed).
    weights: Initial weights as a list of arrays (Keras 2's weights argument).
    quantization_config: Keras's quantization settings; kspec supports only null.
"""
from kspec.layers.base import Layer, clear_session
from kspec.layers import activation, core, input_layer, regularization, reshaping  # noqa: F401  (registers the layers)
from kspec.layers.activation import ELU, LeakyReLU, PReLU, ReLU, Softmax
from kspec.layers.core import Activation, Dense, Lambda
from kspec.layers.regularization import ActivityRegularization, Dropout
from kspec.layers.reshaping import Flatten, Permute, RepeatVector, Reshape
from kspec.layers.input_layer import InputLayer
from kspec.layers import conv, noise, normalization, pooling, reshaping_spatial  # noqa: F401,E402  (registers)
from kspec.layers.conv import Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D  # noqa: E402
from kspec.layers.pooling import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D,  # noqa: E402
                                  GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
                                  MaxPooling1D, MaxPooling2D)
from kspec.layers.normalization import BatchNormalization, LayerNormalization  # noqa: E402
from kspec.layers.reshaping_spatial import (Cropping1D, Cropping2D, UpSampling1D, UpSampling2D,  # noqa: E402
                                            ZeroPadding1D, ZeroPadding2D)
from kspec.layers.noise import GaussianNoise, SpatialDropout1D, SpatialDropout2D  # noqa: E402
from kspec.layers import embedding, recurrent, wrappers  # noqa: F401,E402  (registers)
from kspec.layers.embedding import Embedding, Masking  # noqa: E402
from kspec.layers.recurrent import GRU, LSTM, SimpleRNN  # noqa: E402
from kspec.layers.wrappers import Bidirectional, TimeDistributed  # noqa: E402
from kspec.layers.merge import Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract  # noqa: E402
from kspec.layers import augmentation, preprocessing  # noqa: F401,E402  (registers)
from kspec.layers.preprocessing import CenterCrop, Normalization, Rescaling, Resizing  # noqa: E402
from kspec.layers.augmentation import (RandomContrast, RandomCrop, RandomFlip, RandomRotation,  # noqa: E402
                                       RandomTranslation, RandomZoom)


def __getattr__(name):
    """``Input`` and ``KerasTensor`` (keras.layers.Input), loaded on first use: loading a Sequential model to
    predict needs no graph machinery."""
    if name in ("Input", "KerasTensor"):
        from kspec.layers import node
        return getattr(node, name)
    raise AttributeError(f"module 'kspec.layers' has no attribute {name!r}")
