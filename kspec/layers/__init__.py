"""Layers, one module per family; importing this package registers them all."""
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
