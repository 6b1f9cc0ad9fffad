"""Sequence-level recurrent ops (SimpleRNN, LSTM, GRU) with hand-written backward passes.

One GEMM per timestep, all before the loop, projects the inputs (``kernel.T @ x_t + bias``); the loop does
only the recurrent part (the recurrent matmul and the gate math, in place on time-major buffers); the
backward loop carries only the state gradients, and the weight gradients are batched GEMMs after it
(engine-techniques A4). Weights come in and go out in Keras's layout (LSTM gates i, f, c, o; GRU z, r, h).

Inside, everything is feature-major: a step's gates are a (G*U, N) matrix whose gate blocks are contiguous
row blocks, and the states are (U, N) matrices. NumPy's elementwise calls run 2-4x faster on contiguous
blocks than on the column blocks of an (N, G*U) matrix, and the backward matmul ``U @ dz`` is faster too
(LSTM(128), batch 128, 28 steps: forward and backward 26 -> 22 ms here). The LSTM gates are reordered to
[i, f, o | c] so one in-place sigmoid covers a contiguous block.

Masks follow Keras 3 (``backend.rnn``): at a masked step the states are carried over
(``where(mask_t, new, old)``) and the output is the previous output (the carried h), or zeros with
``zero_output_for_mask``. ``go_backwards`` processes the sequence reversed; outputs stay in processing order.

Every op returns one packed time-major, feature-major Tensor ``Y`` of shape (R + 1 + S, U, N): row 0 the
initial h, rows 1..R the outputs in processing order (R = T, or R = 1, only the last, without
``return_sequences``), then the S final states (h; c for the LSTM). Slice it with :func:`sequence_outputs`,
:func:`last_output` and :func:`final_states`, which give the usual batch-major views.
"""

from kspec import backend
from kspec.engine.ops import fused, workspace
from kspec.engine.ops.shape import getitem, transpose
from kspec.engine.tensor import as_tensor, make


# -- activations applied in place, and their derivatives read from the outputs -------------------------------
def _sigmoid_(a):
    xp = backend.xp
    xp.negative(a, out=a)
    xp.exp(a, out=a)
    a += 1
    xp.divide(1, a, out=a)      # the same correctly rounded 1/x as reciprocal, which NumPy does not vectorize


def _sigmoid_negated_(a):
    """sigmoid(z) in place from a = -z (the LSTM's weights for the sigmoid gates come negated)."""
    xp = backend.xp
    xp.exp(a, out=a)
    a += 1
    xp.divide(1, a, out=a)


def _hard_sigmoid_(a):  # Keras 3: relu6(x + 3) / 6
    xp = backend.xp
    a += 3
    xp.clip(a, 0, 6, out=a)
    a /= 6


def _d_tanh(y, g, t):
    backend.xp.multiply(y, y, out=t)
    backend.xp.subtract(1, t, out=t)
    g *= t


def _d_sigmoid(y, g, t):
    backend.xp.subtract(1, y, out=t)
    t *= y
    g *= t


def _d_hard_sigmoid(y, g, t):
    g *= ((y > 0) & (y < 1)) * y.dtype.type(1.0 / 6.0)


def _d_relu(y, g, t):
    g *= y > 0


# name -> (in-place forward, in-place "g *= f'(x)" from y = f(x), with a scratch array t shaped like y)
ACTIVATIONS = {
    "tanh": (lambda a: backend.xp.tanh(a, out=a), _d_tanh),
    "sigmoid": (_sigmoid_, _d_sigmoid),
    "hard_sigmoid": (_hard_sigmoid_, _d_hard_sigmoid),
    "relu": (lambda a: backend.xp.maximum(a, 0, out=a), _d_relu),
    "linear": (lambda a: None, lambda y, g, t: None),
}


def _quiet():
    """exp(-x) of a very negative gate overflows to inf and the sigmoid correctly gives 0: no warning."""
    return backend.errstate(over="ignore")


# -- the cells: forward step, backward step and weight gradients on time-major, feature-major buffers -------
def _sum_outer(P, Q):
    """sum over t of P[t] @ Q[t].T for P (T, F, N) and Q (T, G, N): (F, G) (a transposed view). Computed as
    Q[t] @ P[t].T, the faster orientation for OpenBLAS here, into a reused buffer."""
    T, F, _ = P.shape
    out = workspace.take("rnn_outer", (T, Q.shape[1], F), P.dtype)
    return backend.xp.matmul(Q, P.transpose(0, 2, 1), out=out).sum(axis=0).T


class _Cell:
    """Shared parts. ``W`` (D, G*U) and ``U`` (U, G*U) are the weights in the internal gate order; the
    forward pass uses ``W_in``/``U_in`` (the LSTM's are sign-flipped for its sigmoid gates). ``A`` (T, G*U, N)
    holds the input projection, overwritten in place by the gate values; ``dA`` its gradient. ``zero_h0``:
    the initial state is zero, so step 0 skips the recurrent matmul; ``back_step(..., need_prev=False)``
    skips the gradient of the previous state (step 0 when the initial state needs none)."""

    num_states = 1

    def __init__(self, kernel, recurrent_kernel, activation, recurrent_activation):
        self.u = recurrent_kernel.shape[0]
        self.act, self.d_act = ACTIVATIONS[activation]
        self.ract, self.d_ract = ACTIVATIONS[recurrent_activation]
        self.W, self.U = kernel, recurrent_kernel
        self.W_in, self.U_in = kernel, recurrent_kernel
        self.b = None
        self.zero_h0 = False

    def allocate(self, T, n, dtype):
        xp = backend.xp
        width = self.A.shape[1]
        self.UT_in = xp.ascontiguousarray(self.U_in.T)       # gates = UT_in @ h
        self.dA = workspace.take("rnn_dA", self.A.shape, dtype)
        self.tmp = xp.empty((width, n), dtype=dtype)
        self.scratch = xp.empty((width, n), dtype=dtype)     # derivative temporaries

    def weight_grads(self, Z, H, dA, need):
        """(d kernel, d recurrent_kernel, d bias) in the Keras layout (None where not needed). ``Z`` (T, D + 1 + U,
        N) holds each step's input, a row of ones (the bias's input) and room for h_prev: one batched GEMM
        gives the kernel's, the bias's and the recurrent kernel's gradients."""
        T, width, _ = Z.shape
        d = width - 1 - self.u
        if not (need[0] or need[1] or need[2]):
            return None, None, None
        if need[1]:
            Z[:, d + 1:] = H[:T]
        grads = _sum_outer(Z if need[1] else Z[:, :d + 1], dA)
        return (grads[:d] if need[0] else None), (grads[d + 1:] if need[1] else None), \
            (grads[d] if need[2] else None)


class _SimpleRNN(_Cell):
    """h = act(W.T x + b + U.T h_prev)."""

    def step(self, t):
        H = self.H
        a = self.A[t]
        if t or not self.zero_h0:
            backend.xp.matmul(self.UT_in, H[t], out=self.tmp)
            a += self.tmp
        self.act(a)
        H[t + 1] = a

    def back_step(self, t, d, need_prev):
        da = self.dA[t]
        da[...] = d[0]
        self.d_act(self.A[t], da, self.scratch)
        return [self.U @ da if need_prev else None]


class _LSTM(_Cell):
    """Keras's LSTM step; gates stored as [i, f, o | c] inside."""

    num_states = 2

    def __init__(self, kernel, recurrent_kernel, bias, activation, recurrent_activation):
        xp = backend.xp
        u = recurrent_kernel.shape[0]
        super().__init__(_swap_c_o(kernel, u), _swap_c_o(recurrent_kernel, u), activation, recurrent_activation)
        self.b = None if bias is None else _swap_c_o(bias, u)
        self.act_name = activation
        if recurrent_activation == "sigmoid":
            # project -z for the sigmoid gates (an exact sign flip), so sigmoid = 1 / (1 + exp(a)): one call less
            sign = xp.ones(4 * u, dtype=kernel.dtype)
            sign[:3 * u] = -1
            self.W_in, self.U_in = self.W * sign, self.U * sign
            self.b = None if self.b is None else self.b * sign
            self.ract = _sigmoid_negated_
        self.fused = fused.available() and activation == "tanh" and recurrent_activation == "sigmoid"

    def allocate(self, T, n, dtype):
        super().allocate(T, n, dtype)
        self.TC = workspace.take("lstm_tc", (T, self.u, n), dtype)

    def step(self, t):
        xp, u = backend.xp, self.u
        H, C = self.H, self.C
        g, tmp = self.A[t], self.tmp
        if t or not self.zero_h0:
            xp.matmul(self.UT_in, H[t], out=tmp)
            g += tmp
        if self.fused:  # CuPy: the rest of the step in one kernel
            fused.lstm_step(g, u, C[t], C[t + 1], self.TC[t], H[t + 1])
            return
        self.ract(g[:3 * u])
        self.act(g[3 * u:])
        cn = C[t + 1]
        xp.multiply(g[u:2 * u], C[t], out=cn)
        xp.multiply(g[:u], g[3 * u:], out=tmp[:u])
        cn += tmp[:u]
        tc = self.TC[t]
        if self.act_name == "tanh":
            xp.tanh(cn, out=tc)
        else:
            xp.positive(cn, out=tc)
            self.act(tc)
        xp.multiply(g[2 * u:3 * u], tc, out=H[t + 1])

    def back_step(self, t, d, need_prev):
        xp, u = backend.xp, self.u
        dh, dc = d
        g, tc, dz, scr = self.A[t], self.TC[t], self.dA[t], self.scratch
        if self.fused:
            dc_prev = fused.lstm_back(dh, dc, g, u, tc, self.C[t], dz)
            return [self.U @ dz, dc_prev] if need_prev else [None, None]
        xp.multiply(dh, tc, out=dz[2 * u:3 * u])              # d o
        dct = xp.multiply(dh, g[2 * u:3 * u], out=self.tmp[:u])
        self.d_act(tc, dct, scr[:u])
        dct += dc                                              # total d c_t
        xp.multiply(dct, g[3 * u:], out=dz[:u])                # d i
        xp.multiply(dct, g[:u], out=dz[3 * u:])                # d candidate
        xp.multiply(dct, self.C[t], out=dz[u:2 * u])           # d f
        self.d_ract(g[:3 * u], dz[:3 * u], scr[:3 * u])
        self.d_act(g[3 * u:], dz[3 * u:], scr[:u])
        if not need_prev:
            return [None, None]
        return [self.U @ dz, dct * g[u:2 * u]]                 # d h_{t-1}, d c_{t-1}

    def weight_grads(self, Z, H, dA, need):
        return tuple(None if v is None else _swap_c_o(v, self.u) for v in super().weight_grads(Z, H, dA, need))


def _swap_c_o(v, u):
    """Keras's gate blocks [i, f, c, o] as [i, f, o, c] along the last axis, and back (slice copies)."""
    out = backend.xp.empty_like(v)
    out[..., :2 * u] = v[..., :2 * u]
    out[..., 2 * u:3 * u] = v[..., 3 * u:]
    out[..., 3 * u:] = v[..., 2 * u:3 * u]
    return out


class _GRU(_Cell):
    """Keras's GRU step, gates z, r, h; ``reset_after`` applies r after the recurrent matmul."""

    def __init__(self, kernel, recurrent_kernel, bias, activation, recurrent_activation, reset_after):
        xp = backend.xp
        super().__init__(kernel, recurrent_kernel, activation, recurrent_activation)
        u = self.u
        self.reset_after = reset_after
        self.b_rec = None
        if bias is not None:
            if reset_after:
                self.b, self.b_rec = bias[0], bias[1][:, None]
            else:
                self.b = bias
        self.fused = (fused.available() and reset_after and activation == "tanh"
                      and recurrent_activation == "sigmoid")
        if not reset_after:
            self.U_zr, self.U_h = xp.ascontiguousarray(self.U[:, :2 * u]), xp.ascontiguousarray(self.U[:, 2 * u:])
            self.U_zrT, self.U_hT = xp.ascontiguousarray(self.U_zr.T), xp.ascontiguousarray(self.U_h.T)

    def allocate(self, T, n, dtype):
        super().allocate(T, n, dtype)
        u = self.u
        self.tmp_u = backend.xp.empty((u, n), dtype=dtype)
        if self.reset_after:
            self.HZ = workspace.take("gru_hz", (T, 3 * u, n), dtype)
            self.dHZ = workspace.take("gru_dhz", (T, 3 * u, n), dtype)
        else:
            self.RH = workspace.take("gru_rh", (T, u, n), dtype)
            self.tmp_zr = backend.xp.empty((2 * u, n), dtype=dtype)

    def step(self, t):
        xp, u = backend.xp, self.u
        H = self.H
        a, tmp = self.A[t], self.tmp_u
        recurrent = t or not self.zero_h0
        if self.reset_after:
            hz = self.HZ[t]
            if recurrent:
                xp.matmul(self.UT_in, H[t], out=hz)
            else:
                hz[...] = 0
            if self.b_rec is not None:
                hz += self.b_rec
            if self.fused:  # CuPy: the rest of the step in one kernel
                fused.gru_step(a, hz, u, H[t], H[t + 1])
                return
            a[:2 * u] += hz[:2 * u]
            self.ract(a[:2 * u])
            xp.multiply(a[u:2 * u], hz[2 * u:], out=tmp)
        else:
            if recurrent:
                xp.matmul(self.U_zrT, H[t], out=self.tmp_zr)
                a[:2 * u] += self.tmp_zr
            self.ract(a[:2 * u])
            rh = self.RH[t]
            xp.multiply(a[u:2 * u], H[t], out=rh)
            if recurrent:
                xp.matmul(self.U_hT, rh, out=tmp)
            else:
                tmp[...] = 0
        hh = a[2 * u:]
        hh += tmp
        self.act(hh)
        xp.subtract(H[t], hh, out=tmp)     # h = hh + z * (h_prev - hh)
        tmp *= a[:u]
        xp.add(hh, tmp, out=H[t + 1])

    def back_step(self, t, d, need_prev):
        xp, u = backend.xp, self.u
        dh = d[0]
        a, da = self.A[t], self.dA[t]
        z, r, hh = a[:u], a[u:2 * u], a[2 * u:]
        h_prev = self.H[t]
        if self.fused:
            fused.gru_back(dh, a, self.HZ[t], u, h_prev, da, self.dHZ[t])
            if not need_prev:
                return [None]
            dh_prev = self.U @ self.dHZ[t]
            dh_prev += dh * z
            return [dh_prev]
        xp.subtract(h_prev, hh, out=da[:u])                    # d z
        da[:u] *= dh
        dah = da[2 * u:]
        xp.subtract(1, z, out=dah)                             # d hh = dh (1 - z)
        dah *= dh
        self.d_act(hh, dah, self.scratch[:u])
        if self.reset_after:
            hz, dhz = self.HZ[t], self.dHZ[t]
            xp.multiply(dah, r, out=dhz[2 * u:])
            xp.multiply(dah, hz[2 * u:], out=da[u:2 * u])      # d r
            self.d_ract(a[:2 * u], da[:2 * u], self.scratch[:2 * u])
            dhz[:2 * u] = da[:2 * u]
            if not need_prev:
                return [None]
            dh_prev = self.U @ dhz
        else:
            drh = self.U_h @ dah
            xp.multiply(drh, h_prev, out=da[u:2 * u])          # d r
            self.d_ract(a[:2 * u], da[:2 * u], self.scratch[:2 * u])
            if not need_prev:
                return [None]
            dh_prev = self.U_zr @ da[:2 * u]
            drh *= r
            dh_prev += drh
        dh_prev += dh * z
        return [dh_prev]

    def weight_grads(self, Z, H, dA, need):
        xp, u = backend.xp, self.u
        dk, _, db = super().weight_grads(Z, H, dA, (need[0], False, need[2]))
        du = None
        T = Z.shape[0]
        if self.reset_after:
            if need[1]:
                du = _sum_outer(H[:T], self.dHZ)
            if need[2]:
                db = xp.stack([db, self.dHZ.sum(axis=(0, 2))])
        elif need[1]:
            du = xp.empty(self.U.shape, dtype=dA.dtype)
            du[:, :2 * u] = _sum_outer(H[:T], dA[:, :2 * u])
            du[:, 2 * u:] = _sum_outer(self.RH, dA[:, 2 * u:])
        return dk, du, db


# -- the driver: projection, masks, packing and the tape --------------------------------------------------------
def _run(cell, x, kernel, recurrent_kernel, bias, initial_state, mask, go_backwards, zero_output_for_mask,
         return_sequences, op):
    xp = backend.xp
    n, T, d = x.shape
    u, S, dtype = cell.u, cell.num_states, x.dtype
    # Z (T, D + 1 + U, N): each step's input, a row of ones for the bias, and room for h_prev (filled in
    # backward); the projection is one GEMM per step (batched), and so are the weight gradients in backward
    Z = workspace.take(op + "_Z", (T, d + 1 + u, n), dtype)
    Z[:, :d] = x.data.transpose(1, 2, 0)[::-1] if go_backwards else x.data.transpose(1, 2, 0)
    Z[:, d] = 1
    b = xp.zeros(cell.W_in.shape[1], dtype) if cell.b is None else cell.b
    cell.A = workspace.take(op + "_A", (T, cell.W.shape[1], n), dtype)
    xp.matmul(xp.concatenate([cell.W_in.T, b[:, None]], axis=1), Z[:, :d + 1], out=cell.A)
    cell.allocate(T, n, dtype)

    # Y: row 0 the initial h, then the outputs (all T, or only the last), then the S final states
    out_rows = T if return_sequences else 1
    Y = workspace.take(op + "_Y", (out_rows + 1 + S, u, n), dtype)   # handed out again once nothing holds it
    separate_outputs = mask is not None and zero_output_for_mask
    H = Y[:T + 1] if return_sequences and not separate_outputs else workspace.take(op + "_H", (T + 1, u, n), dtype)
    states = [H] + [workspace.take(f"{op}_state{k}", (T + 1, u, n), dtype) for k in range(1, S)]
    for k, buf in enumerate(states):
        init = None if initial_state is None else initial_state[k]
        buf[0] = 0 if init is None else init.data.T
    cell.zero_h0 = initial_state is None
    cell.H = H
    if S > 1:
        cell.C = states[1]
    M = notM = None
    if mask is not None:
        mask_tm = xp.asarray(mask, dtype=bool).T
        M = (mask_tm[::-1] if go_backwards else mask_tm)[:, None, :]   # (T, 1, N) in processing order
        notM = ~M
    with _quiet():
        for t in range(T):
            cell.step(t)
            if M is not None:
                for buf in states:
                    xp.copyto(buf[t + 1], buf[t], where=notM[t])
                if separate_outputs and return_sequences:
                    xp.multiply(H[t + 1], M[t], out=Y[t + 1])
    Y[0] = H[0]
    if not return_sequences:
        Y[1] = H[T] if not separate_outputs else H[T] * M[T - 1]
    for k, buf in enumerate(states):
        Y[out_rows + 1 + k] = buf[T]

    weights = (kernel, recurrent_kernel) + (() if bias is None else (bias,))
    inits = tuple(initial_state or ())
    parents = (x,) + weights + inits
    init_grad = any(s.requires_grad for s in inits)

    def backward(gY):
        carry = [gY[out_rows + 1 + k].copy() for k in range(S)]
        for t in range(T - 1, -1, -1):
            # without return_sequences only the last step's output has a gradient
            g_out = gY[t + 1] if return_sequences else (gY[1] if t == T - 1 else None)
            need_prev = t > 0 or init_grad
            if M is None:
                if g_out is not None:
                    carry[0] += g_out
                carry = cell.back_step(t, carry, need_prev)
                continue
            m, nm = M[t], notM[t]
            if separate_outputs:
                new = [c * m for c in carry]
                if g_out is not None:
                    new[0] += g_out * m
            else:
                if g_out is not None:
                    carry[0] += g_out
                new = [c * m for c in carry]
            passed = [c * nm for c in carry]
            stepped = cell.back_step(t, new, need_prev)
            carry = [None if s is None else s + q for s, q in zip(stepped, passed)]
        need = [w.requires_grad for w in weights] + [False] * (3 - len(weights))
        dk, du, db = cell.weight_grads(Z, H, cell.dA, need)
        dx = None
        if x.requires_grad:
            dxs = xp.matmul(cell.W, cell.dA)                      # (T, D, N)
            dx = (dxs[::-1] if go_backwards else dxs).transpose(2, 0, 1)
        grads = (dx, dk, du) + (() if bias is None else (db,))
        if not init_grad:
            return grads + (None,) * len(inits)
        carry[0] = carry[0] + gY[0]      # row 0 of Y is h0 itself
        return grads + tuple(c.T if s.requires_grad else None for c, s in zip(carry, inits))

    return make(Y, parents, backward, op)


def _prepare(x, initial_state):
    x = as_tensor(x)
    if x.ndim != 3:
        raise ValueError(f"a recurrent op takes inputs of shape (batch, time, features); got {x.shape}")
    states = None if initial_state is None else [as_tensor(s) for s in initial_state]
    return x, states


def simple_rnn(x, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None, go_backwards=False,
               zero_output_for_mask=False, activation="tanh", return_sequences=True):
    """SimpleRNN over a sequence. x (N, T, D), kernel (D, U), recurrent_kernel (U, U), bias (U,) or None,
    initial_state [h0 (N, U)] or None, mask (N, T) bool or None -> packed Y (T + 2, U, N), or (3, U, N)
    without ``return_sequences``."""
    x, states = _prepare(x, initial_state)
    cell = _SimpleRNN(kernel.data, recurrent_kernel.data, activation, "linear")
    cell.b = None if bias is None else bias.data
    return _run(cell, x, kernel, recurrent_kernel, bias, states, mask, go_backwards, zero_output_for_mask,
                return_sequences, "simple_rnn")


def lstm(x, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None, go_backwards=False,
         zero_output_for_mask=False, activation="tanh", recurrent_activation="sigmoid", return_sequences=True):
    """LSTM over a sequence (Keras gates i, f, c, o). x (N, T, D), kernel (D, 4U), recurrent_kernel (U, 4U),
    bias (4U,) or None, initial_state [h0, c0] or None, mask (N, T) -> packed Y (T + 3, U, N), or (4, U, N)
    without ``return_sequences``."""
    x, states = _prepare(x, initial_state)
    cell = _LSTM(kernel.data, recurrent_kernel.data, None if bias is None else bias.data, activation,
                 recurrent_activation)
    return _run(cell, x, kernel, recurrent_kernel, bias, states, mask, go_backwards, zero_output_for_mask,
                return_sequences, "lstm")


def gru(x, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None, go_backwards=False,
        zero_output_for_mask=False, activation="tanh", recurrent_activation="sigmoid", reset_after=True,
        return_sequences=True):
    """GRU over a sequence (Keras gates z, r, h). x (N, T, D), kernel (D, 3U), recurrent_kernel (U, 3U),
    bias (2, 3U) with ``reset_after`` else (3U,), or None; initial_state [h0] -> packed Y (T + 2, U, N), or
    (3, U, N) without ``return_sequences``."""
    x, states = _prepare(x, initial_state)
    cell = _GRU(kernel.data, recurrent_kernel.data, None if bias is None else bias.data, activation,
                recurrent_activation, reset_after)
    return _run(cell, x, kernel, recurrent_kernel, bias, states, mask, go_backwards, zero_output_for_mask,
                return_sequences, "gru")


# -- slicing the packed result ------------------------------------------------------------------------------------
def _output_rows(packed, num_states):
    return packed.shape[0] - 1 - num_states


def sequence_outputs(packed, num_states):
    """The outputs (N, T, U) in processing order (the op ran with ``return_sequences``)."""
    return transpose(getitem(packed, slice(1, _output_rows(packed, num_states) + 1)), (2, 0, 1))


def last_output(packed, num_states):
    """The output of the last processed step (N, U)."""
    return transpose(getitem(packed, _output_rows(packed, num_states)), (1, 0))


def final_states(packed, num_states):
    """The ``num_states`` final states, each (N, U)."""
    rows = _output_rows(packed, num_states)
    return [transpose(getitem(packed, rows + 1 + k), (1, 0)) for k in range(num_states)]
