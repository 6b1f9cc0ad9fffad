"""Convolutions on channels-last (NHWC) data with hand-written backward passes.

Forward: im2col into a reused column buffer ``(N, Ho, Wo, kh, kw, C)`` (the only copy), then one GEMM with
the kernel in Keras's layout ``(kh, kw, C/groups, F)``; the result is already NHWC. Backward:
``dK = cols.T @ dY``, the input gradient's columns tap-major ``(kh*kw, M, C)`` from one batched matmul,
and col2im as a ``kh*kw`` loop of slice-adds (engine-techniques A1-A2). Big temporaries come from
:mod:`kspec.engine.ops.workspace`; each op makes few BLAS calls (each multi-threaded call pays a thread
wake-up, which on a loaded machine costs milliseconds). 1-D convolutions run as 2-D ones with a height of 1.
Cross-correlation (no kernel flip) and TF-style 'same' padding (the extra pixel after), as Keras.
"""
from kspec import backend
from kspec.engine.ops import fused, workspace
from kspec.engine.ops.parallel import over_batch
from kspec.engine.tensor import as_tensor, make

SMALL_CHANNELS = 8   # below this, im2col copies kh*kw slices instead of transposing a window view


# -- sizes and padding -----------------------------------------------------------------------------------
def conv_output_length(n, kernel, stride, dilation, padding):
    """Keras's output length: 'valid' floor((n - d(k-1) - 1)/s) + 1, 'same' ceil(n/s), 'causal' ceil(n/s)."""
    if n is None:
        return None
    if padding in ("same", "causal"):
        return -(-n // stride)
    return max((n - dilation * (kernel - 1) - 1) // stride + 1, 0)


def same_padding(n, kernel, stride, dilation=1):
    """TF 'same' padding (before, after): the total ``max((ceil(n/s)-1)*s + d(k-1)+1 - n, 0)``, the extra
    pixel after."""
    total = max((-(-n // stride) - 1) * stride + dilation * (kernel - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def padding_pairs(padding, sizes, kernels, strides, dilations):
    """'valid' / 'same' / 'causal' (1-D style: all on the left) / explicit pairs -> one pair per axis."""
    if not isinstance(padding, str):
        return tuple((int(a), int(b)) for a, b in padding)
    if padding == "valid":
        return tuple((0, 0) for _ in sizes)
    if padding == "same":
        return tuple(same_padding(n, k, s, d) for n, k, s, d in zip(sizes, kernels, strides, dilations))
    if padding == "causal":
        return tuple((d * (k - 1), 0) for k, d in zip(kernels, dilations))
    raise ValueError(f"padding must be 'valid', 'same' or 'causal'. Received: padding={padding!r}")


# -- array helpers (no tape) -----------------------------------------------------------------------------
def _window_slices(a, b, ho, wo, strides, dilation):
    """The (rows, cols) slices of a padded input that kernel tap (a, b) reads for every output pixel."""
    (sh, sw), (dh, dw) = strides, dilation
    r0, c0 = a * dh, b * dw
    return slice(r0, r0 + sh * (ho - 1) + 1, sh), slice(c0, c0 + sw * (wo - 1) + 1, sw)


def pad_input(x, pads, tag, value=0.0):
    """x (N, H, W, C) padded on H and W into a reused buffer (x itself when there is no padding)."""
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return x
    n, h, w, c = x.shape
    out = workspace.take(tag, (n, h + pt + pb, w + pl + pr, c), x.dtype)
    fill = x.dtype.type(value)
    out[:, :pt] = fill
    out[:, h + pt:] = fill
    out[:, pt:h + pt, :pl] = fill
    out[:, pt:h + pt, w + pl:] = fill
    out[:, pt:h + pt, pl:w + pl] = x
    return out


def im2col(xpad, ksize, strides, dilation, out_hw, tag="conv_cols", ones_column=False):
    """xpad (N, Hp, Wp, C) -> columns (N, Ho, Wo, kh, kw, C) in a reused buffer (one copy).

    With ``ones_column`` the buffer is (N*Ho*Wo, kh*kw*C + 1) with a last column of ones (so one GEMM also
    adds the bias, and the weight-gradient GEMM also sums the bias gradient); the 6-D view of its first
    columns is returned, and the whole buffer is its ``.base``.
    """
    xp = backend.xp
    (kh, kw), (ho, wo) = ksize, out_hw
    n, _, _, c = xpad.shape
    if ones_column:
        full = workspace.take(tag + "+1", (n * ho * wo, kh * kw * c + 1), xpad.dtype)
        full[:, -1] = 1
        cols = full[:, :-1].reshape(n, ho, wo, kh, kw, c)     # a view: rows split, columns split
        if cols.base is not full:
            raise RuntimeError("im2col: the column view lost its ones-extended buffer")
    else:
        cols = workspace.take(tag, (n, ho, wo, kh, kw, c), xpad.dtype)
    (sh, sw), (dh, dw) = strides, dilation
    if c < SMALL_CHANNELS:
        def fill(lo, hi):
            for a in range(kh):
                for b in range(kw):
                    rows, cs = _window_slices(a, b, ho, wo, strides, dilation)
                    cols[lo:hi, :, :, a, b, :] = xpad[lo:hi, rows, cs, :]
    else:
        view = xp.lib.stride_tricks.sliding_window_view(xpad, (dh * (kh - 1) + 1, dw * (kw - 1) + 1),
                                                        axis=(1, 2))
        view = view[:, ::sh, ::sw, :, ::dh, ::dw][:, :ho, :wo].transpose(0, 1, 2, 4, 5, 3)  # (N,Ho,Wo,kh,kw,C)

        def fill(lo, hi):
            xp.copyto(cols[lo:hi], view[lo:hi])
    over_batch(fill, n, cols.size)
    return cols


def col2im(cols, padded_shape, strides, dilation, tag="conv_col2im"):
    """The adjoint of :func:`im2col`, from tap-major columns: cols (kh, kw, N, Ho, Wo, C) (or any view of
    that shape) summed into a zeroed (N, Hp, Wp, C) with one strided slice-add per tap."""
    kh, kw, n, ho, wo, c = cols.shape
    out = workspace.take(tag, padded_shape, cols.dtype)

    def add(lo, hi):
        out[lo:hi] = 0
        for a in range(kh):
            for b in range(kw):
                rows, cs = _window_slices(a, b, ho, wo, strides, dilation)
                out[lo:hi, rows, cs, :] += cols[a, b, lo:hi]

    over_batch(add, n, cols.size)
    return out


def tap_products(g2, weights):
    """Tap-major products ``g2 @ weights[t]`` for every kernel tap in one batched matmul.

    g2 : (M, F); weights : (taps, F, C) -> (taps, M, C) in a reused buffer. The col2im that follows then
    reads each tap's (M, C) block contiguously (10x faster than reading strided taps of (M, taps*C)).
    """
    taps, _, c = weights.shape
    out = workspace.take("conv_dcols", (taps, g2.shape[0], c), g2.dtype)
    return backend.xp.matmul(g2[None], weights, out=out)


def _crop(a, pads):
    (pt, pb), (pl, pr) = pads
    h, w = a.shape[1], a.shape[2]
    if not (pt or pb or pl or pr):
        return a
    return a[:, pt:h - pb, pl:w - pr, :]


def _grouped(cols2d, groups, taps):
    """(M, taps*C) columns -> (G, M, taps*C/G) per-group columns (a copy)."""
    m, k = cols2d.shape
    cg = k // taps // groups
    return cols2d.reshape(m, taps, groups, cg).transpose(2, 0, 1, 3).reshape(groups, m, taps * cg)


def _ungrouped(colsg, taps):
    """The inverse of :func:`_grouped`: (G, M, taps*Cg) -> (M, taps*G*Cg)."""
    g, m, k = colsg.shape
    cg = k // taps
    return colsg.reshape(g, m, taps, cg).transpose(1, 2, 0, 3).reshape(m, taps * g * cg)


def _relu_inplace(out, rows_per_sample):
    if fused.available():
        fused.relu_(out)
        return

    def relu(lo, hi):
        rows = slice(lo * rows_per_sample, hi * rows_per_sample)
        backend.xp.maximum(out[rows], 0, out=out[rows])
    over_batch(relu, out.shape[0] // rows_per_sample, out.size)


def _relu_grad(g2, out, rows_per_sample):
    """``g2 * (out > 0)`` into a reused buffer, split over the batch."""
    xp = backend.xp
    result = workspace.take("conv_grelu", g2.shape, g2.dtype)
    if fused.available():
        fused.relu_grad(g2, out, result)
        return result

    def mask(lo, hi):
        rows = slice(lo * rows_per_sample, hi * rows_per_sample)
        xp.multiply(g2[rows], out[rows] > 0, out=result[rows])
    over_batch(mask, out.shape[0] // rows_per_sample, out.size)
    return result


# -- the ops -----------------------------------------------------------------------------------------------
def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1, relu=False):
    """2-D cross-correlation, channels last.

    x : (N, H, W, C); kernel : (kh, kw, C/groups, F); bias : (F,) or None -> (N, Ho, Wo, F).
    padding : 'valid', 'same' (TF style) or ((top, bottom), (left, right)). ``relu=True`` fuses a ReLU.
    """
    xp = backend.xp
    x = as_tensor(x)
    strides, dilation = _pair(strides), _pair(dilation_rate)
    n, h, w, c = x.shape
    kh, kw, cg, f = kernel.shape
    if c != cg * groups:
        raise ValueError(f"conv2d: the input has {c} channels but the kernel expects {cg} x groups={groups}")
    pads = padding_pairs(padding, (h, w), (kh, kw), strides, dilation)
    hp, wp = h + sum(pads[0]), w + sum(pads[1])
    ho = max((hp - dilation[0] * (kh - 1) - 1) // strides[0] + 1, 0)
    wo = max((wp - dilation[1] * (kw - 1) - 1) // strides[1] + 1, 0)
    xpad = pad_input(x.data, pads, "conv_pad")
    m, taps = n * ho * wo, kh * kw
    fused_bias = bias is not None and groups == 1
    cols = im2col(xpad, (kh, kw), strides, dilation, (ho, wo), ones_column=fused_bias)
    out = workspace.take("conv_out", (m, f), x.dtype)
    if groups > 1:
        cols2d = cols.reshape(m, taps * c)
        colsg = _grouped(cols2d, groups, taps)
        kg = kernel.data.reshape(taps * cg, groups, f // groups).transpose(1, 0, 2)
        out[...] = (colsg @ kg).transpose(1, 0, 2).reshape(m, f)
        if bias is not None:
            out += bias.data
    elif fused_bias:  # [cols | 1] @ [[K], [b]]: the bias rides in the GEMM
        cols2d = cols.base                                   # (M, taps*C + 1), see im2col
        weights = xp.concatenate([kernel.data.reshape(taps * c, f), bias.data.reshape(1, f)])
        xp.matmul(cols2d, weights, out=out)
    else:
        cols2d = cols.reshape(m, taps * c)
        xp.matmul(cols2d, kernel.data.reshape(taps * c, f), out=out)
    if relu:
        _relu_inplace(out, max(ho * wo, 1))
    parents = (x, kernel) if bias is None else (x, kernel, bias)

    def backward(g):
        g2 = g.reshape(m, f)
        if relu:  # the ReLU's gradient mask, into a reused buffer
            g2 = _relu_grad(g2, out, max(ho * wo, 1))
        else:
            g2 = xp.ascontiguousarray(g2)
        gx = gk = gb = None
        if groups == 1:
            if fused_bias and (kernel.requires_grad or bias.requires_grad):
                both = cols2d.T @ g2                          # (taps*C + 1, F): last row is the bias's
                gk = both[:-1].reshape(kernel.shape) if kernel.requires_grad else None
                gb = both[-1] if bias.requires_grad else None
            elif kernel.requires_grad:
                gk = (cols2d.T @ g2).reshape(kernel.shape)
            if x.requires_grad:
                dcols = tap_products(g2, kernel.data.reshape(taps, c, f).transpose(0, 2, 1))
                dcols = dcols.reshape(kh, kw, n, ho, wo, c)
        else:
            gg = g2.reshape(m, groups, f // groups).transpose(1, 0, 2)
            if kernel.requires_grad:
                gk = (colsg.transpose(0, 2, 1) @ gg).transpose(1, 0, 2).reshape(kernel.shape)
            if x.requires_grad:
                dcols = _ungrouped(gg @ kg.transpose(0, 2, 1), taps)
                dcols = dcols.reshape(n, ho, wo, kh, kw, c).transpose(3, 4, 0, 1, 2, 5)
        if x.requires_grad:
            dpad = col2im(dcols, (n, hp, wp, c), strides, dilation)
            gx = _crop(dpad, pads)
        if bias is not None and bias.requires_grad and not fused_bias:
            gb = g2.sum(axis=0)
        return (gx, gk) if bias is None else (gx, gk, gb)

    return make(out.reshape(n, ho, wo, f), parents, backward, "conv2d")


def conv1d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1, relu=False):
    """1-D cross-correlation, channels last: x (N, L, C), kernel (k, C/groups, F) -> (N, Lo, F).
    padding : 'valid', 'same', 'causal' (left pad d*(k-1)) or one (before, after) pair."""
    from kspec.engine.ops.shape import reshape
    x = as_tensor(x)
    k = kernel.shape[0]
    s, d = _single(strides), _single(dilation_rate)
    if isinstance(padding, str):
        pad = padding_pairs(padding, (x.shape[1],), (k,), (s,), (d,))[0]
    else:
        pad = tuple(padding)
    x4 = reshape(x, (x.shape[0], 1, x.shape[1], x.shape[2]))
    k4 = reshape(kernel, (1,) + tuple(kernel.shape))
    out = conv2d(x4, k4, bias, (1, s), ((0, 0), pad), (1, d), groups, relu)
    return reshape(out, (out.shape[0], out.shape[2], out.shape[3]))


def depthwise_conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    """Depthwise 2-D convolution: kernel (kh, kw, C, depth_multiplier) -> (N, Ho, Wo, C*dm), output channel
    ``c*dm + m`` (Keras's order): a grouped conv with groups=C."""
    from kspec.engine.ops.shape import reshape
    kh, kw, c, dm = kernel.shape
    return conv2d(x, reshape(kernel, (kh, kw, 1, c * dm)), bias, strides, padding, dilation_rate, groups=c)


def conv2d_transpose(x, kernel, bias=None, strides=1, padding=((0, 0), (0, 0)), dilation_rate=1,
                     output_shape=None):
    """Transposed 2-D convolution (the gradient of conv2d w.r.t. its input), channels last.

    x : (N, H, W, Cin); kernel : (kh, kw, F, Cin) (Keras's layout); -> (N, Ho, Wo, F).
    padding : ((top, bottom), (left, right)) as lax.conv_transpose takes it: the output is the full
    transposed conv (length (n-1)*s + d*(k-1) + 1) cropped by ``d*(k-1) - before`` at the start, with
    length ``(n-1)*s + 1 + before + after - d*(k-1)``.
    """
    xp = backend.xp
    x = as_tensor(x)
    strides, dilation = _pair(strides), _pair(dilation_rate)
    n, h, w, cin = x.shape
    kh, kw, f, _ = kernel.shape
    effs = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    starts, sizes, full = [], [], []
    for (before, after), size, s, eff in zip(padding, (h, w), strides, effs):
        start = eff - 1 - before
        length = (size - 1) * s + 1 + before + after - eff + 1
        starts.append(start)
        sizes.append(length)
        full.append(max((size - 1) * s + eff, start + length))
    pads = ((starts[0], full[0] - starts[0] - sizes[0]), (starts[1], full[1] - starts[1] - sizes[1]))
    m, taps = n * h * w, kh * kw
    x2 = x.data.reshape(m, cin)
    k2 = kernel.data.reshape(taps * f, cin)
    cols = tap_products(x2, kernel.data.reshape(taps, f, cin).transpose(0, 2, 1))   # (taps, M, F)
    outfull = col2im(cols.reshape(kh, kw, n, h, w, f), (n, full[0], full[1], f), strides, dilation,
                     tag="convt_full")
    out = xp.ascontiguousarray(_crop(outfull, pads))
    if bias is not None:
        out += bias.data
    parents = (x, kernel) if bias is None else (x, kernel, bias)

    def backward(g):
        gpad = pad_input(g, pads, "convt_gpad")
        gcols = im2col(gpad, (kh, kw), strides, dilation, (h, w), tag="convt_gcols").reshape(m, taps * f)
        gx = (gcols @ k2).reshape(x.shape) if x.requires_grad else None
        gk = (gcols.T @ x2).reshape(kernel.shape) if kernel.requires_grad else None
        if bias is None:
            return gx, gk
        gb = g.reshape(-1, f).sum(axis=0) if bias.requires_grad else None
        return gx, gk, gb

    return make(out, parents, backward, "conv2d_transpose")


def conv_transpose_padding(n, kernel, stride, dilation, padding, output_padding=None):
    """Keras's (JAX backend's) (before, after) padding of a transposed conv, and the output length."""
    eff = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(eff, stride) - eff if output_padding is None else output_padding
        before, after = eff - 1, eff - 1 + extra
        length = (n - 1) * stride + eff + extra
    else:
        if output_padding is None:
            total = stride + eff - 2
            length = n * stride
        else:
            total = eff + eff % 2 - 2 + output_padding
            length = (n - 1) * stride + eff % 2 + output_padding
        before = min(total // 2 + total % 2, eff - 1)
        after = total - before
    return (before, after), length


def _pair(v):
    return (int(v), int(v)) if isinstance(v, int) else tuple(int(i) for i in v)


def _single(v):
    return int(v) if isinstance(v, int) else int(v[0])


__all__ = ["conv1d", "conv2d", "conv2d_transpose", "depthwise_conv2d", "conv_output_length", "same_padding",
           "padding_pairs", "conv_transpose_padding", "im2col", "col2im", "pad_input"]
