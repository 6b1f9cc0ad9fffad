"""Shape ops: reshape, transpose, slicing, joining, broadcasting."""
from kspec import backend
from kspec.engine.ops.math import unbroadcast
from kspec.engine.tensor import as_tensor, make


def reshape(a, shape):
    a = as_tensor(a)
    return make(a.data.reshape(shape), (a,), lambda g: (g.reshape(a.shape),), "reshape")


def flatten(a):
    """(batch, ...) -> (batch, prod(...)) in C order."""
    a = as_tensor(a)
    return reshape(a, (a.shape[0], -1))


def transpose(a, axes=None):
    a = as_tensor(a)
    xp = backend.xp
    axes = tuple(reversed(range(a.ndim))) if axes is None else tuple(axes)
    inverse = tuple(int(i) for i in backend.host.argsort(axes))  # axis bookkeeping stays on the host
    return make(a.data.transpose(axes), (a,), lambda g: (g.transpose(inverse),), "transpose")


def expand_dims(a, axis):
    a = as_tensor(a)
    return make(backend.xp.expand_dims(a.data, axis), (a,), lambda g: (g.reshape(a.shape),), "expand_dims")


def squeeze(a, axis=None):
    a = as_tensor(a)
    return make(backend.xp.squeeze(a.data, axis), (a,), lambda g: (g.reshape(a.shape),), "squeeze")


def broadcast_to(a, shape):
    a = as_tensor(a)
    return make(backend.xp.broadcast_to(a.data, shape), (a,), lambda g: (unbroadcast(g, a.shape),),
                "broadcast_to")


def getitem(a, index):
    """Basic and advanced indexing; the backward scatters with a slice assignment (basic) or add.at."""
    a = as_tensor(a)
    xp = backend.xp
    index = index.data if hasattr(index, "data") and hasattr(index, "requires_grad") else index

    def backward(g):
        full = xp.zeros(a.shape, dtype=g.dtype)
        if _is_basic(index):
            full[index] += g
        else:
            xp.add.at(full, index, g)
        return (full,)

    return make(a.data[index], (a,), backward, "getitem")


def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (slice, int, type(None), type(Ellipsis))) for i in items)


def concatenate(tensors, axis=-1):
    tensors = [as_tensor(t) for t in tensors]
    xp = backend.xp
    out = xp.concatenate([t.data for t in tensors], axis=axis)
    bounds = backend.host.cumsum([t.shape[axis] for t in tensors])[:-1]

    def backward(g):
        return tuple(xp.split(g, [int(b) for b in bounds], axis=axis))

    return make(out, tuple(tensors), backward, "concatenate")


def stack(tensors, axis=0):
    tensors = [as_tensor(t) for t in tensors]
    xp = backend.xp
    out = xp.stack([t.data for t in tensors], axis=axis)

    def backward(g):
        return tuple(xp.squeeze(part, axis=axis) for part in xp.split(g, len(tensors), axis=axis))

    return make(out, tuple(tensors), backward, "stack")


def split(a, sections, axis=-1):
    """Split into ``sections`` equal parts (or at the given indices); each part is its own op output."""
    a = as_tensor(a)
    if isinstance(sections, int):
        if sections <= 0 or a.shape[axis] % sections:
            raise ValueError(f"split: axis {axis} of size {a.shape[axis]} does not divide into {sections} "
                             "equal sections")
        size = a.shape[axis] // sections
        bounds = [size * i for i in range(1, sections)]
    else:
        bounds = list(sections)
    starts = [0] + bounds
    stops = bounds + [a.shape[axis]]
    axis = axis % a.ndim
    parts = []
    for start, stop in zip(starts, stops):
        index = (slice(None),) * axis + (slice(start, stop),)
        parts.append(getitem(a, index))
    return parts


def repeat(a, repeats, axis):
    a = as_tensor(a)
    xp = backend.xp
    out = xp.repeat(a.data, repeats, axis=axis)

    def backward(g):
        shape = list(a.shape)
        shape.insert(axis % a.ndim + 1, repeats)
        return (g.reshape(shape).sum(axis=axis % a.ndim + 1),)

    return make(out, (a,), backward, "repeat")


def tile(a, reps):
    """``np.tile``: reps shorter than the rank repeat the trailing axes; longer reps add leading axes."""
    a = as_tensor(a)
    xp = backend.xp
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    ndim = max(len(reps), a.ndim)
    reps = (1,) * (ndim - len(reps)) + reps
    shape_in = (1,) * (ndim - a.ndim) + tuple(a.shape)
    out = xp.tile(a.data, reps)

    def backward(g):
        split = []
        for r, n in zip(reps, shape_in):
            split += [r, n]
        return (g.reshape(split).sum(axis=tuple(range(0, 2 * ndim, 2))).reshape(a.shape),)

    return make(out, (a,), backward, "tile")


def pad(a, pad_width, value=0.0):
    """Constant padding; ``pad_width`` as in ``np.pad``: an int, one (before, after) pair, or one per axis."""
    a = as_tensor(a)
    xp = backend.xp
    widths = _pad_pairs(pad_width, a.ndim)
    out = xp.pad(a.data, widths, constant_values=value)
    index = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, a.shape))
    return make(out, (a,), lambda g: (g[index],), "pad")


def _pad_pairs(pad_width, ndim):
    if isinstance(pad_width, int):
        return [(pad_width, pad_width)] * ndim
    pad_width = list(pad_width)
    if len(pad_width) == 2 and all(isinstance(w, int) for w in pad_width):
        return [tuple(pad_width)] * ndim
    if len(pad_width) != ndim:
        raise ValueError(f"pad: need one (before, after) pair per axis ({ndim}); received {pad_width!r}")
    return [(w, w) if isinstance(w, int) else tuple(w) for w in pad_width]
