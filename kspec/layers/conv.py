"""Convolution layers (channels last): Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D.

Keras 3's arguments, defaults and weight layouts: kernel (k, in/groups, filters) or (kh, kw, in/groups,
filters), bias (filters,); cross-correlation with TF-style 'same' padding (the extra pixel after). The math
is in :mod:`kspec.engine.ops.conv` (im2col + one GEMM). None of these layers supports masking.

Args:
    filters: The number of output channels (filters).
    kernel_size: The size of the convolution window: an int for every spatial axis, or one per axis.
    groups: The number of groups the input channels are split into, each convolved with its own filters; it
        must divide both the input channels and filters.
    depth_multiplier: The number of output channels of the depthwise step per input channel.
    depthwise_initializer: How the depthwise kernel is initialized.
    depthwise_regularizer: A penalty on the depthwise kernel, added to the loss.
    depthwise_constraint: A constraint applied to the depthwise kernel after each step.
    pointwise_initializer: How the pointwise (1x1) kernel is initialized.
    pointwise_regularizer: A penalty on the pointwise kernel, added to the loss.
    pointwise_constraint: A constraint applied to the pointwise kernel after each step.
"""
from kspec import activations, constraints, initializers, regularizers
from kspec.engine import ops
from kspec.engine.ops.conv import conv_output_length, conv_transpose_padding
from kspec.layers.base import Layer, standardize_data_format
from kspec.registry import register


def standardize_tuple(value, n, name, allow_zero=False):
    """An int or n ints -> a tuple of n non-negative (positive unless ``allow_zero``) ints."""
    message = f"The `{name}` argument must be a tuple of {n} integers. Received {name}={value!r}"
    if isinstance(value, int) and not isinstance(value, bool):
        values = (value,) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(message) from None
        if len(values) != n or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ValueError(message)
    low = 0 if allow_zero else 1
    if any(v < low for v in values):
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers >= {low}. "
                         f"Received {name}={value!r}")
    return values


def channels_last_only(data_format, layer_name):
    """Validate ``data_format``; kspec computes channels-last only, so channels_first is an error."""
    value = standardize_data_format(data_format)
    if value == "channels_first":
        raise ValueError(f"{layer_name}: kspec supports data_format='channels_last' only (inputs shaped "
                         "(batch, ..., channels)). Received: data_format='channels_first'")
    return value


def standardize_padding(value, allow_causal=False):
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    padding = str(value).lower()
    if padding not in allowed:
        raise ValueError(f"The `padding` argument must be one of {set(allowed)}. Received: {value!r}")
    return padding


class _Conv(Layer):
    """Shared argument handling, weights and shapes of Conv1D / Conv2D (``rank`` spatial axes)."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        rank = self.rank
        _check_filters(filters)
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"The number of groups must be a positive integer. Received: groups={groups!r}.")
        if filters % groups:
            raise ValueError("The number of filters must be evenly divisible by the number of groups. "
                             f"Received: groups={groups}, filters={filters}.")
        self.filters = filters
        self.groups = groups
        _set_window(self, rank, kernel_size, strides, dilation_rate, padding, data_format,
                    allow_causal=rank == 1)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                             f"Received: strides={self.strides} and dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _check_rank(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} expects inputs of rank {self.rank + 2} "
                             f"(batch, {'steps' if self.rank == 1 else 'rows, cols'}, channels). "
                             f"Received: input_shape={tuple(input_shape)}")
        if input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__}: the channel dimension of the inputs should be defined. "
                             f"Received: input_shape={tuple(input_shape)}")

    def build(self, input_shape):
        self._check_rank(input_shape)
        channels = input_shape[-1]
        if channels % self.groups:
            raise ValueError("The number of input channels must be evenly divisible by the number of groups. "
                             f"Received groups={self.groups}, but the input has {channels} channels (full "
                             f"input shape is {tuple(input_shape)}).")
        self.kernel = self.add_weight("kernel", self.kernel_size + (channels // self.groups, self.filters),
                                      self.kernel_initializer, self.kernel_regularizer, self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer, self.bias_regularizer,
                                        self.bias_constraint)

    def call(self, inputs, training=False):
        fuse = self.activation is activations.relu
        conv = ops.conv1d if self.rank == 1 else ops.conv2d
        out = conv(inputs, self.kernel, self.bias, self.strides, self.padding, self.dilation_rate, self.groups,
                   relu=fuse)
        return out if fuse else self.activation(out)

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        spatial = tuple(conv_output_length(n, k, s, d, self.padding) for n, k, s, d in
                        zip(input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate))
        for n in spatial:
            if n is not None and n <= 0:
                raise ValueError(f"{type(self).__name__}: the input {tuple(input_shape)} is too small for "
                                 f"kernel_size={self.kernel_size} and dilation_rate={self.dilation_rate}; the "
                                 "output would be empty")
        return (input_shape[0],) + spatial + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.setdefault("activity_regularizer", None)  # Keras's conv layers always write it
        return config



def _check_filters(filters):
    if not isinstance(filters, int) or isinstance(filters, bool) or filters <= 0:
        raise ValueError("Invalid value for argument `filters`. Expected a strictly positive value. "
                         f"Received filters={filters!r}.")


def _check_depth_multiplier(depth_multiplier):
    if not isinstance(depth_multiplier, int) or depth_multiplier <= 0:
        raise ValueError("Invalid value for argument `depth_multiplier`. Expected a strictly positive "
                         f"value. Received depth_multiplier={depth_multiplier!r}.")


def _check_image_input(layer, input_shape):
    """2-D conv layers take (batch, rows, cols, channels) with a known channel count."""
    if len(input_shape) != 4 or input_shape[-1] is None:
        raise ValueError(f"{type(layer).__name__} expects inputs of rank 4 (batch, rows, cols, channels) with a "
                         f"defined channel dimension. Received: input_shape={tuple(input_shape)}")


def _set_window(layer, rank, kernel_size, strides, dilation_rate, padding, data_format, allow_causal=False):
    """Normalize and store a convolution's window arguments (kernel_size, strides, dilation_rate,
    padding, data_format) on ``layer``, as Keras's conv layers do."""
    layer.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
    layer.strides = standardize_tuple(strides, rank, "strides")
    layer.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate")
    layer.padding = standardize_padding(padding, allow_causal=allow_causal)
    layer.data_format = channels_last_only(data_format, type(layer).__name__)

@register("layer", "Convolution1D")
class Conv1D(_Conv):
    """1-D convolution: (batch, steps, channels) -> (batch, new_steps, filters).

    ``output = activation(conv1d(inputs, kernel) + bias)``; kernel (kernel_size, channels/groups, filters).
    padding: 'valid', 'same' or 'causal' (left-pads ``dilation_rate * (kernel_size - 1)``).
    """

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, groups=groups, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)


@register("layer", "Convolution2D")
class Conv2D(_Conv):
    """2-D convolution: (batch, rows, cols, channels) -> (batch, new_rows, new_cols, filters).

    ``output = activation(conv2d(inputs, kernel) + bias)``; kernel (kh, kw, channels/groups, filters).
    """

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, groups=groups, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)


@register("layer", "Convolution2DTranspose", "Deconvolution2D")
class Conv2DTranspose(Layer):
    """Transposed 2-D convolution (the gradient of Conv2D w.r.t. its input).

    Kernel (kh, kw, filters, channels); bias (filters,). Output rows: 'valid' ``(n-1)*s + d*(k-1)+1``
    (at least ``(n-1)*s + s``) plus ``output_padding``; 'same' ``n*s`` (or ``(n-1)*s + k%2 +
    output_padding`` when ``output_padding`` is given), as Keras 3.

    Args:
        output_padding: Extra output size along each spatial axis (less than the stride); null infers it.
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        _check_filters(filters)
        self.filters = filters
        _set_window(self, 2, kernel_size, strides, dilation_rate, padding, data_format)
        self.output_padding = None if output_padding is None else \
            standardize_tuple(output_padding, 2, "output_padding", allow_zero=True)
        if self.output_padding is not None:
            for i, (op, s) in enumerate(zip(self.output_padding, self.strides)):
                if op >= s:
                    raise ValueError("`output_padding` must be strictly less than `strides` for all dimensions. "
                                     f"At dimension {i}, `output_padding` is {op} but `strides` is {s}.")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                             f"Received: strides={self.strides} and dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape):
        _check_image_input(self, input_shape)
        self.kernel = self.add_weight("kernel", self.kernel_size + (self.filters, input_shape[-1]),
                                      self.kernel_initializer, self.kernel_regularizer, self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer, self.bias_regularizer,
                                        self.bias_constraint)

    def _geometry(self, sizes):
        output_padding = self.output_padding or (None, None)
        return [conv_transpose_padding(n, k, s, d, self.padding, op) for n, k, s, d, op in
                zip(sizes, self.kernel_size, self.strides, self.dilation_rate, output_padding)]

    def call(self, inputs, training=False):
        pads = [p for p, _ in self._geometry(inputs.shape[1:3])]
        out = ops.conv2d_transpose(inputs, self.kernel, self.bias, self.strides, pads, self.dilation_rate)
        return self.activation(out)

    def compute_output_shape(self, input_shape):
        sizes = [None if n is None else length for n, (_, length) in
                 zip(input_shape[1:3], self._geometry([1 if n is None else n for n in input_shape[1:3]]))]
        return (input_shape[0],) + tuple(sizes) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.setdefault("activity_regularizer", None)
        return config


class _Depthwise(Layer):
    """Shared by DepthwiseConv2D and SeparableConv2D: the depthwise step's window, arguments, kernel,
    bias and output shape. Subclasses give ``_output_channels(channels)``."""

    def __init__(self, kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, activation,
                 use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                 activity_regularizer, depthwise_constraint, bias_constraint, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        _check_depth_multiplier(depth_multiplier)
        self.depth_multiplier = depth_multiplier
        _set_window(self, 2, kernel_size, strides, dilation_rate, padding, data_format)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _add_depthwise_kernel(self, name, channels):
        return self.add_weight(name, self.kernel_size + (channels, self.depth_multiplier),
                               self.depthwise_initializer, self.depthwise_regularizer, self.depthwise_constraint)

    def _add_bias(self, size):
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (size,), self.bias_initializer, self.bias_regularizer,
                                        self.bias_constraint)

    def _output_channels(self, channels):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        spatial = tuple(conv_output_length(n, k, s, d, self.padding) for n, k, s, d in
                        zip(input_shape[1:3], self.kernel_size, self.strides, self.dilation_rate))
        return (input_shape[0],) + spatial + (self._output_channels(input_shape[-1]),)

    def get_config(self):
        config = super().get_config()
        config.setdefault("activity_regularizer", None)  # Keras's conv layers always write it
        return config


@register("layer")
class DepthwiseConv2D(_Depthwise):
    """Depthwise 2-D convolution: each input channel is convolved with its own ``depth_multiplier`` filters.

    Weights: kernel (kh, kw, channels, depth_multiplier), bias (channels * depth_multiplier,).
    Output channel ``c * depth_multiplier + m`` (Keras's order).
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size=kernel_size, strides=strides, padding=padding,
                         depth_multiplier=depth_multiplier, data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint, **kwargs)

    def build(self, input_shape):
        _check_image_input(self, input_shape)
        channels = input_shape[-1]
        self.kernel = self._add_depthwise_kernel("kernel", channels)
        self._add_bias(channels * self.depth_multiplier)

    def call(self, inputs, training=False):
        out = ops.depthwise_conv2d(inputs, self.kernel, self.bias, self.strides, self.padding, self.dilation_rate)
        return self.activation(out)

    def _output_channels(self, channels):
        return channels * self.depth_multiplier


@register("layer", "SeparableConvolution2D")
class SeparableConv2D(_Depthwise):
    """Depthwise convolution followed by a pointwise (1x1) convolution to ``filters`` channels.

    Weights: depthwise_kernel (kh, kw, channels, depth_multiplier), pointwise_kernel
    (1, 1, channels * depth_multiplier, filters), bias (filters,). Strides, padding and dilation apply to
    the depthwise step.
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        _check_filters(filters)
        super().__init__(kernel_size=kernel_size, strides=strides, padding=padding,
                         depth_multiplier=depth_multiplier, data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint, **kwargs)
        self.filters = filters
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape):
        _check_image_input(self, input_shape)
        channels = input_shape[-1]
        self.depthwise_kernel = self._add_depthwise_kernel("depthwise_kernel", channels)
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", (1, 1, channels * self.depth_multiplier, self.filters),
            self.pointwise_initializer, self.pointwise_regularizer, self.pointwise_constraint)
        self._add_bias(self.filters)

    def call(self, inputs, training=False):
        depthwise = ops.depthwise_conv2d(inputs, self.depthwise_kernel, None, self.strides, self.padding,
                                         self.dilation_rate)
        out = ops.conv2d(depthwise, self.pointwise_kernel, self.bias)
        return self.activation(out)

    def _output_channels(self, channels):
        return self.filters
