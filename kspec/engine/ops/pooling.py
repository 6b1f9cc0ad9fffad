"""Max and average pooling over the H, W axes of channels-last (N, H, W, C) data, hand-written backward.

When the stride equals the pool size and there is no padding, the forward is a reshape to
(N, Ho, ph, Wo, pw, C) and one reduction (engine-techniques A3); otherwise a strided window view.
The max backward routes each output's gradient to the *first* maximal element of its window in row-major
order, as XLA's select-and-scatter does for Keras on JAX (and PyTorch): exact ties do not split it.
Average pooling with 'same' divides by the number of real (unpadded) cells, as Keras does.
1-D pooling runs as 2-D with a height of 1.
"""
from kspec import backend
from kspec.engine.ops import workspace
from kspec.engine.ops.conv import pad_input, padding_pairs
from kspec.engine.ops.parallel import over_batch
from kspec.engine.tensor import as_tensor, make


def pool_output_length(n, pool, stride, padding):
    """'valid' floor((n - p)/s) + 1, 'same' ceil(n/s)."""
    if n is None:
        return None
    if padding == "same":
        return -(-n // stride)
    return max((n - pool) // stride + 1, 0)


def _geometry(x, pool_size, strides, padding):
    n, h, w, c = x.shape
    pool = _pair(pool_size)
    strides = pool if strides is None else _pair(strides)
    pads = padding_pairs(padding, (h, w), pool, strides, (1, 1))
    ho = pool_output_length(h + sum(pads[0]), pool[0], strides[0], "valid")
    wo = pool_output_length(w + sum(pads[1]), pool[1], strides[1], "valid")
    return pool, strides, pads, ho, wo


def _tiled(pool, strides, pads):
    """Whether windows tile the input exactly (no overlap, no padding): the reshape fast path."""
    return tuple(pool) == tuple(strides) and not any(a or b for a, b in pads)


def _windows(xpad, pool, strides, ho, wo):
    """(N, Ho, Wo, C, ph, pw) view of the windows."""
    xp = backend.xp
    view = xp.lib.stride_tricks.sliding_window_view(xpad, pool, axis=(1, 2))
    return view[:, ::strides[0], ::strides[1]][:, :ho, :wo]


def _tap(a, b, ho, wo, strides):
    return (slice(None), slice(a, a + strides[0] * (ho - 1) + 1, strides[0]),
            slice(b, b + strides[1] * (wo - 1) + 1, strides[1]))


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """x (N, H, W, C) -> (N, Ho, Wo, C), the max of each window (padding counts as -inf)."""
    xp = backend.xp
    x = as_tensor(x)
    pool, strides, pads, ho, wo = _geometry(x, pool_size, strides, padding)
    n, c = x.shape[0], x.shape[3]
    (ph, pw) = pool
    tiled = _tiled(pool, strides, pads)
    xpad = x.data if tiled else pad_input(x.data, pads, "pool_pad", value=-xp.inf)
    # a running maximum over the ph*pw taps (strided views): faster than a reduction over small axes
    out = xp.empty((n, ho, wo, c), dtype=x.dtype)

    def running_max(lo, hi):
        part = out[lo:hi]
        xp.copyto(part, xpad[lo:hi][_tap(0, 0, ho, wo, strides)])
        for a in range(ph):
            for b in range(pw):
                if a or b:
                    xp.maximum(part, xpad[lo:hi][_tap(a, b, ho, wo, strides)], out=part)
    over_batch(running_max, n, xpad.size)

    def backward(g):
        if tiled:
            return (_tiled_max_grad(xpad, out, g, pool),)
        dpad = workspace.take("maxpool_dx", xpad.shape, g.dtype, zero=True)
        taken = workspace.take("maxpool_taken", out.shape, bool)
        hit = workspace.take("maxpool_hit", out.shape, bool)
        for a in range(ph):
            for b in range(pw):
                tap = _tap(a, b, ho, wo, strides)
                xp.equal(xpad[tap], out, out=hit)
                if a == 0 and b == 0:
                    taken[...] = hit
                else:
                    xp.greater(hit, taken, out=hit)       # hit and not yet taken
                    xp.logical_or(taken, hit, out=taken)
                dpad[tap] += g * hit
        return (_crop(dpad, pads),)

    return make(out, (x,), backward, "max_pool2d")


def _tiled_max_grad(x, out, g, pool):
    """Gradient of non-overlapping, unpadded max pooling: one broadcast comparison against the windows'
    maxima, ties resolved to the first maximum with in-place boolean passes, one broadcast multiply."""
    xp = backend.xp
    n, h, w, c = x.shape
    _, ho, wo, _ = out.shape
    ph, pw = pool
    rows, cols = ho * ph, wo * pw
    windows = x[:, :rows, :cols].reshape(n, ho, ph, wo, pw, c)
    hit = workspace.take("maxpool_hit6", windows.shape, bool)
    dx = workspace.take("maxpool_dx", (n, h, w, c), g.dtype)
    dx6 = dx[:, :rows, :cols].reshape(n, ho, ph, wo, pw, c)

    def route(lo, hi):
        mask = hit[lo:hi]
        xp.equal(windows[lo:hi], out[lo:hi, :, None, :, None, :], out=mask)
        taken = mask[:, :, 0, :, 0].copy()
        for a in range(ph):
            for b in range(pw):
                if a or b:
                    tap = mask[:, :, a, :, b]
                    xp.greater(tap, taken, out=tap)             # hit and not yet taken
                    xp.logical_or(taken, tap, out=taken)
        if rows < h:
            dx[lo:hi, rows:] = 0
        if cols < w:
            dx[lo:hi, :rows, cols:] = 0
        xp.multiply(mask, g[lo:hi, :, None, :, None, :], out=dx6[lo:hi])

    over_batch(route, n, x.size)
    return dx


def average_pool2d(x, pool_size, strides=None, padding="valid"):
    """x (N, H, W, C) -> (N, Ho, Wo, C), the window sums over the count of real cells in each window."""
    xp = backend.xp
    x = as_tensor(x)
    pool, strides, pads, ho, wo = _geometry(x, pool_size, strides, padding)
    n, h, w, c = x.shape
    (ph, pw) = pool
    dtype = x.dtype
    if _tiled(pool, strides, pads):
        out = x.data[:, :ho * ph, :wo * pw].reshape(n, ho, ph, wo, pw, c).sum(axis=(2, 4))
        count = dtype.type(ph * pw)
        out /= count
    else:
        xpad = pad_input(x.data, pads, "pool_pad")
        out = _windows(xpad, pool, strides, ho, wo).sum(axis=(-2, -1))
        if any(a or b for a, b in pads):
            ones = pad_input(xp.ones((1, h, w, 1), dtype=dtype), pads, "pool_ones")
            count = _windows(ones, pool, strides, ho, wo).sum(axis=(-2, -1))
        else:
            count = dtype.type(ph * pw)
        out /= count
    padded_shape = (n, h + sum(pads[0]), w + sum(pads[1]), c)

    def backward(g):
        share = g / count
        dpad = workspace.take("avgpool_dx", padded_shape, g.dtype, zero=True)
        for a in range(ph):
            for b in range(pw):
                dpad[_tap(a, b, ho, wo, strides)] += share
        return (_crop(dpad, pads),)

    return make(out, (x,), backward, "average_pool2d")


def max_pool1d(x, pool_size=2, strides=None, padding="valid"):
    """x (N, L, C) -> (N, Lo, C)."""
    return _as_1d(max_pool2d, x, pool_size, strides, padding)


def average_pool1d(x, pool_size, strides=None, padding="valid"):
    """x (N, L, C) -> (N, Lo, C)."""
    return _as_1d(average_pool2d, x, pool_size, strides, padding)


def _as_1d(fn, x, pool_size, strides, padding):
    from kspec.engine.ops.shape import reshape
    x = as_tensor(x)
    p = _single(pool_size)
    s = p if strides is None else _single(strides)
    if not isinstance(padding, str):
        padding = ((0, 0), tuple(padding))
    out = fn(reshape(x, (x.shape[0], 1) + tuple(x.shape[1:])), (1, p), (1, s), padding)
    return reshape(out, (out.shape[0],) + tuple(out.shape[2:]))


def _crop(a, pads):
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return a
    return a[:, pt:a.shape[1] - pb, pl:a.shape[2] - pr]


def _pair(v):
    return (int(v), int(v)) if isinstance(v, int) else tuple(int(i) for i in v)


def _single(v):
    return int(v) if isinstance(v, int) else int(v[0])
