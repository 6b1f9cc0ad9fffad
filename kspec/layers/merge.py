"""Merge layers: combine a list of tensors into one (Keras 3's ``keras/src/layers/merging``).

Add, Subtract, Multiply, Average, Maximum, Minimum work elementwise (with broadcasting; inputs of lower
rank get size-1 axes inserted after the batch axis). Concatenate joins along ``axis``; Dot takes batched
dot products along ``axes``. Masks: the elementwise merges OR the input masks (None when any input has
none); Concatenate ORs the masks of the joined parts; Dot drops the mask.
"""
from kspec import backend
from kspec.engine import ops
from kspec.layers.base import Layer
from kspec.registry import register


def _shape_text(shape):
    return "(" + ", ".join(str(d) for d in shape) + ")" if shape is not None else "None"


class Merge(Layer):
    """Base of the elementwise merges: ``call(inputs)`` with ``inputs`` a list of tensors
    (batch, ...); the output has the broadcast shape of the inputs."""

    supports_masking = True

    def build(self, input_shape):
        if not isinstance(input_shape, list) or not input_shape:
            raise ValueError("A merge layer should be called on a list of inputs. "
                             f"Received: input_shape={input_shape} (not a list of shapes)")
        batch_sizes = {s[0] for s in input_shape if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError("Cannot merge tensors with different batch sizes. "
                             f"Received tensors with shapes {[_shape_text(s) for s in input_shape]}")
        self.compute_output_shape(input_shape)  # validates the shapes
        self._reshape_required = len({len(s) for s in input_shape}) > 1

    def call(self, inputs, training=False, mask=None):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError("A merge layer should be called on a list of inputs. "
                             f"Received: inputs of type {type(inputs).__name__} (not a list of tensors)")
        inputs = list(inputs)
        if getattr(self, "_reshape_required", False):  # lift lower ranks: (b, d) -> (b, 1, d)
            rank = max(x.ndim for x in inputs)
            inputs = [_expand_to(x, rank) for x in inputs]
        return self._merge_function(inputs, mask)

    def _merge_function(self, inputs, masks):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        output = tuple(input_shape[0][1:])
        for shape in input_shape[1:]:
            output = _broadcast_shape(output, tuple(shape[1:]))
        batch_sizes = {s[0] for s in input_shape} - {None}
        return (batch_sizes.pop() if len(batch_sizes) == 1 else None,) + output

    def compute_mask(self, inputs, mask=None):
        """OR of the input masks; None when any input has no mask."""
        if mask is None or not isinstance(mask, (list, tuple)) or any(m is None for m in mask):
            return None
        out = mask[0]
        for m in mask[1:]:
            out = backend.xp.logical_or(out, m)
        return out


def _expand_to(x, rank):
    while x.ndim < rank:
        x = ops.expand_dims(x, 1)
    return x


def _broadcast_shape(shape1, shape2):
    """Keras's elementwise output shape of two shapes without batch axis (right-aligned)."""
    if len(shape1) < len(shape2):
        shape1, shape2 = shape2, shape1
    if not shape2:
        return shape1
    out = list(shape1[:-len(shape2)])
    for i, j in zip(shape1[-len(shape2):], shape2):
        if i is None or j is None:
            out.append(None)
        elif i == 1:
            out.append(j)
        elif j == 1 or i == j:
            out.append(i)
        else:
            raise ValueError(f"Inputs have incompatible shapes. Received shapes {_shape_text(shape1)} and "
                             f"{_shape_text(shape2)}")
    return tuple(out)


def _mask_like(mask, x):
    """A (batch, ...) mask broadcast to the shape of ``x`` (one more trailing axis)."""
    return backend.xp.broadcast_to(mask[..., None], x.shape)


def _masked_pairwise(op, inputs, masks):
    """Maximum/Minimum with masks: a masked entry takes the other operand's value (Keras's rule, as
    there is no identity element); the output mask is the OR of the masks."""
    masks = masks if masks is not None else [None] * len(inputs)
    output, output_mask = None, None
    for x, mask in zip(inputs, masks):
        if mask is not None:
            mask = _mask_like(mask, x)
        if output is None:
            output, output_mask = x, mask
            continue
        if mask is not None:
            x = ops.where(mask, x, output)
        if output_mask is not None:
            output = ops.where(output_mask, output, x)
        output_mask = (backend.xp.logical_or(output_mask, mask)
                       if mask is not None and output_mask is not None else None)
        output = op(output, x)
    if output_mask is not None:
        output.keras_mask = output_mask.any(axis=-1)
    return output


@register("layer")
class Add(Merge):
    """``inputs[0] + inputs[1] + ...`` elementwise."""

    def _merge_function(self, inputs, masks):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.add(output, x)
        return output


@register("layer")
class Subtract(Merge):
    """``inputs[0] - inputs[1]``; exactly two inputs."""

    def build(self, input_shape):
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError("A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: input_shape={[_shape_text(s) for s in input_shape]}")

    def _merge_function(self, inputs, masks):
        if len(inputs) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. Received {len(inputs)}")
        return ops.subtract(inputs[0], inputs[1])


@register("layer")
class Multiply(Merge):
    """``inputs[0] * inputs[1] * ...`` elementwise. With masks on every input, masked entries count as 1
    in the product and the output is 0 where no input is unmasked."""

    def _merge_function(self, inputs, masks):
        masks = masks if masks is not None else [None] * len(inputs)
        all_masked = all(m is not None for m in masks)
        output, output_mask = None, None
        for x, mask in zip(inputs, masks):
            if mask is not None:
                mask = _mask_like(mask, x)
                x = ops.where(mask, x, 1.0)
                if all_masked:
                    output_mask = mask if output_mask is None else backend.xp.logical_or(output_mask, mask)
            output = x if output is None else ops.multiply(output, x)
        if all_masked:
            output = ops.where(output_mask, output, 0.0)
            output.keras_mask = output_mask.any(axis=-1)
        return output


@register("layer")
class Average(Merge):
    """The mean of the inputs: their sum divided by their number."""

    def _merge_function(self, inputs, masks):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.add(output, x)
        return ops.divide(output, float(len(inputs)))


@register("layer")
class Maximum(Merge):
    """Elementwise maximum of the inputs."""

    def _merge_function(self, inputs, masks):
        return _masked_pairwise(ops.maximum, inputs, masks)


@register("layer")
class Minimum(Merge):
    """Elementwise minimum of the inputs."""

    def _merge_function(self, inputs, masks):
        return _masked_pairwise(ops.minimum, inputs, masks)


@register("layer")
class Concatenate(Merge):
    """Joins the inputs along ``axis``; all other sizes must match.

    Input shapes: (batch, ..., d_i, ...). Output shape: (batch, ..., sum d_i, ...).

    Args:
        axis: The axis the inputs are joined along (-1: the features).
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def build(self, input_shape):
        if not isinstance(input_shape, list) or not input_shape or not isinstance(input_shape[0], tuple):
            raise ValueError("A `Concatenate` layer should be called on a list of at least 1 input. "
                             f"Received: input_shape={input_shape}")
        ranks = {len(s) for s in input_shape}
        problem = len(ranks) != 1
        if not problem:
            rank = ranks.pop()
            axis = self.axis % rank
            for i in range(1, rank):
                sizes = {s[i] for s in input_shape} - {None}
                if i != axis and len(sizes) > 1:
                    problem = True
        if problem:
            raise ValueError("A `Concatenate` layer requires inputs with matching shapes except for the "
                             f"concatenation axis. Received: input_shape="
                             f"[{', '.join(_shape_text(s) for s in input_shape)}]")
        self._reshape_required = False

    def _merge_function(self, inputs, masks):
        return ops.concatenate(inputs, axis=self.axis)

    def compute_output_shape(self, input_shape):
        output = list(input_shape[0])
        for shape in input_shape[1:]:
            if output[self.axis] is None or shape[self.axis] is None:
                output[self.axis] = None
                break
            output[self.axis] += shape[self.axis]
        return tuple(output)

    def compute_mask(self, inputs, mask=None):
        """Masks broadcast to their inputs' shapes (all-true where an input has none), joined along
        ``axis``, then reduced with ``any`` over the last axis."""
        if mask is None or not isinstance(mask, (list, tuple)) or all(m is None for m in mask):
            return None
        xp = backend.xp
        parts = []
        for x, m in zip(inputs, mask):
            if m is None:
                parts.append(xp.ones(x.shape, dtype=bool))
            elif m.ndim < x.ndim:
                parts.append(xp.broadcast_to(m[..., None], x.shape))
            else:
                parts.append(m)
        return xp.concatenate(parts, axis=self.axis).any(axis=-1)


@register("layer")
class Dot(Merge):
    """Batched dot product of two inputs along ``axes`` (an int, or one axis per input; never 0).

    ``normalize=True`` L2-normalizes both inputs along their dot axes first (cosine similarity).
    Input shapes: (batch, ...) twice. Output: x's shape without its axis, then y's shape without the batch
    and its axis; (batch, 1) when that leaves only the batch axis.

    Args:
        axes: The axis, or one axis per input, along which the dot products are taken.
        normalize: Whether to L2-normalize the inputs first (the dot product is then the cosine similarity).
    """

    def __init__(self, axes, normalize=False, **kwargs):
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError("Invalid type for argument `axes`: it should be a list or an int. "
                                f"Received: axes={axes}")
            if len(axes) != 2:
                raise ValueError("Invalid format for argument `axes`: it should contain two elements. "
                                 f"Received: axes={axes}")
            if not all(isinstance(a, int) for a in axes):
                raise ValueError("Invalid format for argument `axes`: list elements should be integers. "
                                 f"Received: axes={axes}")
        super().__init__(**kwargs)
        self.axes = axes
        self.normalize = normalize

    def _axes_for(self, ranks):
        if isinstance(self.axes, int):
            return [self.axes % r for r in ranks] if self.axes < 0 else [self.axes] * 2
        return [a % r if a < 0 else a for a, r in zip(self.axes, ranks)]

    def build(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) != 2:
            raise ValueError(f"A `Dot` layer should be called on a list of 2 inputs. Received: "
                             f"input_shape={input_shape}")
        shape1, shape2 = input_shape
        a1, a2 = self._axes_for([len(shape1), len(shape2)])
        if 0 in (a1, a2):
            raise ValueError("Cannot perform batch_dot over axis 0 (the batch axis).")
        if shape1[a1] != shape2[a2]:
            raise ValueError(f"Incompatible input shapes: axis values {shape1[a1]} (at axis {a1}) != "
                             f"{shape2[a2]} (at axis {a2}). Full input shapes: {_shape_text(shape1)}, "
                             f"{_shape_text(shape2)}")
        self._reshape_required = False

    def _merge_function(self, inputs, masks):
        if len(inputs) != 2:
            raise ValueError(f"A `Dot` layer should be called on exactly 2 inputs. Received {len(inputs)}")
        x, y = inputs
        a1, a2 = self._axes_for([x.ndim, y.ndim])
        if self.normalize:
            x, y = _l2_normalize(x, a1), _l2_normalize(y, a2)
        return _batch_dot(x, y, a1, a2)

    def compute_output_shape(self, input_shape):
        shape1, shape2 = list(input_shape[0]), list(input_shape[1])
        a1, a2 = self._axes_for([len(shape1), len(shape2)])
        shape1.pop(a1)
        shape2.pop(a2)
        shape2.pop(0)
        out = shape1 + shape2
        return tuple(out + [1] if len(out) == 1 else out)

    def compute_mask(self, inputs, mask=None):
        return None


def _l2_normalize(x, axis):
    """``x * min(1/sqrt(sum x^2), 1/eps)`` along ``axis`` (Keras's ``ops.normalize``), written as
    ``x / sqrt(max(sum x^2, eps^2))`` so a zero vector gives 0 without a division warning."""
    square_sum = ops.sum(ops.square(x), axis=axis, keepdims=True)
    floor = backend.EPSILON * backend.EPSILON
    return ops.divide(x, ops.sqrt(ops.maximum(square_sum, floor)))


def _batch_dot(x, y, a1, a2):
    """Sum over x's axis ``a1`` and y's axis ``a2`` per sample.

    x: (b, *xs) with xs[a1-1] = k; y: (b, *ys) with ys[a2-1] = k -> (b, *xs without k, *ys without k),
    or (b, 1) when both inputs are (b, k).
    """
    x_rest = [d for i, d in enumerate(x.shape) if i not in (0, a1)]
    y_rest = [d for i, d in enumerate(y.shape) if i not in (0, a2)]
    batch, k = x.shape[0], x.shape[a1]
    x_perm = [0] + [i for i in range(1, x.ndim) if i != a1] + [a1]
    y_perm = [0, a2] + [i for i in range(1, y.ndim) if i != a2]
    x3 = ops.reshape(ops.transpose(x, x_perm), (batch, -1, k))   # (b, m, k)
    y3 = ops.reshape(ops.transpose(y, y_perm), (batch, k, -1))   # (b, k, n)
    out = ops.matmul(x3, y3)                                     # (b, m, n)
    shape = (batch,) + tuple(x_rest) + tuple(y_rest)
    return ops.reshape(out, shape if len(shape) > 1 else (batch, 1))
