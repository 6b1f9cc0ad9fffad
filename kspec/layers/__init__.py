"""Layers, one module per family; importing this package registers them all."""
from kspec.layers.base import Layer, clear_session
from kspec.layers import core, input_layer, regularization  # noqa: F401  (registers the layers)
from kspec.layers.core import Activation, Dense
from kspec.layers.regularization import Dropout
from kspec.layers.input_layer import InputLayer
