"""Normalization layers: BatchNormalization and LayerNormalization (Keras 3 semantics).

BatchNormalization: in training (``training=True`` and the layer trainable) it normalizes with the batch
mean and *biased* variance over every axis but ``axis`` and updates
``moving = moving * momentum + batch * (1 - momentum)``; otherwise it uses the moving statistics.
Weights, in order: gamma, beta (trainable), moving_mean, moving_variance (non-trainable, saved with the
model). A mask (rank one less than the input) gives masked moments.
"""
from kspec import backend, constraints, initializers, regularizers
from kspec.backend import comm
from kspec.engine import ops
from kspec.layers.base import Layer
from kspec.registry import register


def _broadcast_shape(ndim, axes, input_shape):
    shape = [1] * ndim
    for a in axes:
        shape[a] = input_shape[a]
    return tuple(shape)


@register("layer")
class BatchNormalization(Layer):
    """``y = (x - mean) / sqrt(var + epsilon) * gamma + beta`` over the feature axis ``axis``.

    Input shape: any, with ``input_shape[axis]`` defined. Output: the same. The mask passes through.

    Args:
        axis: The features axis, normalized per entry (-1: the last, for channels_last).
        momentum: The moving averages' momentum: moving = moving * momentum + batch * (1 - momentum).
        epsilon: A small number added to the variance so that it is never divided by zero.
        center: Whether to add the learned offset beta.
        scale: Whether to multiply by the learned scale gamma.
        beta_initializer: How the offset beta is initialized.
        gamma_initializer: How the scale gamma is initialized.
        moving_mean_initializer: How the moving mean is initialized.
        moving_variance_initializer: How the moving variance is initialized.
        beta_regularizer: A penalty on beta, added to the loss.
        gamma_regularizer: A penalty on gamma, added to the loss.
        beta_constraint: A constraint applied to beta after each step.
        gamma_constraint: A constraint applied to gamma after each step.
        renorm: Batch renormalization (kspec: false only).
        renorm_clipping: Batch renormalization's clipping (unused: renorm is false).
        renorm_momentum: Batch renormalization's momentum (unused: renorm is false).
        synchronized: In data-parallel training (MPI), compute the batch statistics over the global batch,
            forward and backward, so training matches one process; otherwise each rank normalizes with
            its own rows' statistics and the moving statistics are averaged. No effect on one process.
    """

    supports_masking = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 renorm=False, renorm_clipping=None, renorm_momentum=0.99, synchronized=False, **kwargs):
        if "fused" in kwargs:
            raise ValueError("Argument `fused` is no longer supported by BatchNormalization (Keras 3). "
                             f"Received: fused={kwargs['fused']!r}")
        super().__init__(**kwargs)
        if renorm:
            raise ValueError("BatchNormalization: kspec does not implement batch renormalization (renorm=True)")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.renorm = renorm
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.synchronized = synchronized

    def build(self, input_shape):
        ndim = len(input_shape)
        if not -ndim <= self.axis < ndim:
            raise ValueError(f"Axis {self.axis} is out of bounds for input shape {tuple(input_shape)}. "
                             f"Received: axis={self.axis}")
        self._axis = self.axis % ndim
        if input_shape[self._axis] is None:
            raise ValueError(f"BatchNormalization: axis {self.axis} of the input shape {tuple(input_shape)} "
                             "must be defined")
        shape = (input_shape[self._axis],)
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer, self.gamma_regularizer,
                                         self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", shape, self.beta_initializer, self.beta_regularizer,
                                        self.beta_constraint)
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape, self.moving_variance_initializer,
                                               trainable=False)
        self._reduction_axes = tuple(i for i in range(ndim) if i != self._axis)

    def _params(self, ndim):
        """gamma and beta reshaped to broadcast along the feature axis (reshape ops keep their gradient)."""
        shape = [1] * ndim
        shape[self._axis] = -1
        gamma = None if self.gamma is None else (self.gamma if self._axis == ndim - 1 else
                                                 ops.reshape(self.gamma, tuple(shape)))
        beta = None if self.beta is None else (self.beta if self._axis == ndim - 1 else
                                               ops.reshape(self.beta, tuple(shape)))
        return gamma, beta, tuple(shape)

    def call(self, inputs, training=False, mask=None):
        ndim = inputs.ndim
        gamma, beta, shape = self._params(ndim)
        if not (training and self.trainable):
            return ops.normalize_fixed(inputs, self.moving_mean.data.reshape(shape),
                                       self.moving_variance.data.reshape(shape), gamma, beta, self.epsilon)
        if mask is None:
            out, mean, var = ops.normalize_batch(inputs, self._reduction_axes, gamma, beta, self.epsilon,
                                                 comm.batch_allreduce() if self.synchronized else None)
            mean, var = mean.reshape(-1), var.reshape(-1)
        else:
            out, mean, var = self._masked(inputs, mask, gamma, beta)
        self._update_moving(mean, var)
        return out

    def _update_moving(self, mean, var):
        dtype = self.moving_mean.data.dtype
        momentum, rest = dtype.type(self.momentum), dtype.type(1.0 - self.momentum)
        self.moving_mean.assign(self.moving_mean.data * momentum + mean.astype(dtype, copy=False) * rest)
        self.moving_variance.assign(self.moving_variance.data * momentum + var.astype(dtype, copy=False) * rest)

    def _masked(self, inputs, mask, gamma, beta):
        """Masked moments (weights from the mask, as Keras), composed from differentiable ops."""
        if mask.ndim != inputs.ndim - 1:
            raise ValueError("The mask provided should be one dimension less than the inputs. Received: "
                             f"mask.shape={mask.shape}, inputs.shape={inputs.shape}")
        xp = backend.xp
        dtype = inputs.dtype
        weights = xp.broadcast_to(xp.asarray(mask, dtype=dtype)[..., None], inputs.shape)
        axes = self._reduction_axes
        eps = dtype.type(backend.EPSILON)
        total = weights.sum(axis=axes, keepdims=True) + eps
        mean = ops.sum(ops.multiply(inputs, weights), axis=axes, keepdims=True) / total
        diff = ops.multiply(ops.subtract(inputs, mean), weights)
        var = ops.sum(ops.square(diff), axis=axes, keepdims=True) / total
        inv = ops.divide(1.0, ops.sqrt(ops.add(var, dtype.type(self.epsilon))))
        if gamma is not None:
            inv = ops.multiply(inv, gamma)
        shift = ops.negative(ops.multiply(mean, inv))
        if beta is not None:
            shift = ops.add(shift, beta)
        out = ops.add(ops.multiply(inputs, inv), shift)
        return out, mean.data.reshape(-1), var.data.reshape(-1)

    def compute_output_shape(self, input_shape):
        if not -len(input_shape) <= self.axis < len(input_shape):
            raise ValueError(f"Axis {self.axis} is out of bounds for input shape {tuple(input_shape)}. "
                             f"Received: axis={self.axis}")
        return input_shape


@register("layer")
class LayerNormalization(Layer):
    """Per-sample ``(x - mean) / sqrt(var + epsilon) * gamma + beta`` over ``axis`` (an int or a list).

    Weights: gamma, beta of shape ``input_shape[axis]``. Biased variance. The mask passes through.

    Args:
        axis: The axis or axes normalized over (-1: the last).
        epsilon: A small number added to the variance so that it is never divided by zero.
        center: Whether to add the learned offset beta.
        scale: Whether to multiply by the learned scale gamma.
        rms_scaling: Whether to divide by the root mean square only, without subtracting the mean (RMS
            normalization).
        beta_initializer: How the offset beta is initialized.
        gamma_initializer: How the scale gamma is initialized.
        beta_regularizer: A penalty on beta, added to the loss.
        gamma_regularizer: A penalty on gamma, added to the loss.
        beta_constraint: A constraint applied to beta after each step.
        gamma_constraint: A constraint applied to gamma after each step.
    """

    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        if rms_scaling:
            raise ValueError("LayerNormalization: rms_scaling=True is deprecated in Keras 3 and not supported; "
                             "use RMSNormalization")
        if isinstance(axis, (list, tuple)):
            self.axis = [int(a) for a in axis]
        elif isinstance(axis, int):
            self.axis = axis
        else:
            raise TypeError(f"Expected an int or a list/tuple of ints for the argument 'axis', but received: "
                            f"{axis!r}")
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.rms_scaling = False
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape):
        ndim = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            if not -ndim <= a < ndim:
                raise ValueError(f"Axis {a} is out of bounds for input shape {tuple(input_shape)}. "
                                 f"Received: axis={self.axis}")
        if isinstance(self.axis, list):
            self.axis = sorted(self.axis)   # Keras sorts a list axis at build time (its config shows it)
        self._axes = tuple(sorted(a % ndim for a in axes))
        shape = tuple(input_shape[a] for a in self._axes)
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer, self.gamma_regularizer,
                                         self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", shape, self.beta_initializer, self.beta_regularizer,
                                        self.beta_constraint)

    def call(self, inputs, training=False):
        ndim = inputs.ndim
        shape = _broadcast_shape(ndim, self._axes, inputs.shape)
        trailing = self._axes == tuple(range(ndim - len(self._axes), ndim))
        gamma, beta = self.gamma, self.beta
        if not trailing:
            gamma = None if gamma is None else ops.reshape(gamma, shape)
            beta = None if beta is None else ops.reshape(beta, shape)
        out, _, _ = ops.normalize_batch(inputs, self._axes, gamma, beta, self.epsilon)
        return out

    def compute_output_shape(self, input_shape):
        return input_shape
