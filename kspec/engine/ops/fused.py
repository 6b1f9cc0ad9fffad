"""Fused elementwise kernels for CuPy: one GPU kernel where the NumPy path makes a chain of array calls.

- the LSTM step (tanh cell, sigmoid gates) and its backward step;
- the GRU step with ``reset_after`` (tanh, sigmoid) and its backward step;
- the ReLU tail of conv layers (``max(y, 0)`` in place) and its gradient mask.

They are used only while the array module is CuPy (:func:`available`), so CPU runs never come here and stay
byte-identical. Each kernel computes what the NumPy calls compute, in the same order; on the GPU the results
agree with them to float32 rounding (CUDA's exp/tanh and fused multiply-adds round differently).
Kernels are compiled by CuPy on first use and cached.
"""
from kspec import backend

_SOURCES = {
    # gates arrive as the LSTM's negated sigmoid inputs (-z_i, -z_f, -z_o) and the candidate's z_c
    "lstm_step": ("T c_prev", "T i, T f, T o, T c, T c_new, T tc, T h", """
        i = (T)1 / ((T)1 + exp(i));
        f = (T)1 / ((T)1 + exp(f));
        o = (T)1 / ((T)1 + exp(o));
        c = tanh(c);
        c_new = f * c_prev + i * c;
        tc = tanh(c_new);
        h = o * tc;
    """),
    "lstm_back": ("T dh, T dc, T i, T f, T o, T c, T tc, T c_prev", "T di, T df, T d_o, T dcand, T dc_prev", """
        d_o = dh * tc * (((T)1 - o) * o);
        T dct = dh * o * ((T)1 - tc * tc) + dc;
        di = dct * c * (((T)1 - i) * i);
        dcand = dct * i * ((T)1 - c * c);
        df = dct * c_prev * (((T)1 - f) * f);
        dc_prev = dct * f;
    """),
    "gru_step": ("T hz_z, T hz_r, T hz_h, T h_prev", "T z, T r, T hh, T h", """
        z = (T)1 / ((T)1 + exp(-(z + hz_z)));
        r = (T)1 / ((T)1 + exp(-(r + hz_r)));
        hh = tanh(hh + r * hz_h);
        h = hh + z * (h_prev - hh);
    """),
    "gru_back": ("T dh, T z, T r, T hh, T h_prev, T hz_h", "T dz, T dr, T dah, T dhz_z, T dhz_r, T dhz_h", """
        dz = (h_prev - hh) * dh * (((T)1 - z) * z);
        T d_hh = ((T)1 - z) * dh * ((T)1 - hh * hh);
        dah = d_hh;
        dhz_h = d_hh * r;
        dr = d_hh * hz_h * (((T)1 - r) * r);
        dhz_z = dz;
        dhz_r = dr;
    """),
    "relu": ("T x", "T y", "y = x > (T)0 ? x : (T)0;"),
    "relu_grad": ("T g, T y", "T out", "out = y > (T)0 ? g * (T)1 : g * (T)0;"),
}
_kernels = {}


def available():
    """True while the array module is CuPy (the kernels need it)."""
    return getattr(backend.xp, "__name__", "") == "cupy"


def kernel(name):
    """The compiled ``cupy.ElementwiseKernel`` called ``name`` (see ``_SOURCES``)."""
    k = _kernels.get(name)
    if k is None:
        in_params, out_params, body = _SOURCES[name]
        k = _kernels[name] = backend.xp.ElementwiseKernel(in_params, out_params, body, "kspec_" + name)
    return k


def lstm_step(gates, u, c_prev, c_new, tc, h):
    """gates (4U, N) as [-z_i, -z_f, -z_o, z_c] -> [i, f, o, c] in place; c_new, tanh(c_new), h written."""
    kernel("lstm_step")(c_prev, gates[:u], gates[u:2 * u], gates[2 * u:3 * u], gates[3 * u:], c_new, tc, h)


def lstm_back(dh, dc, gates, u, tc, c_prev, dz):
    """The LSTM step's gradient: dz (4U, N) as [d i, d f, d o, d c] written; returns d c_prev."""
    dc_prev = backend.xp.empty_like(c_prev)
    kernel("lstm_back")(dh, dc, gates[:u], gates[u:2 * u], gates[2 * u:3 * u], gates[3 * u:], tc, c_prev,
                        dz[:u], dz[u:2 * u], dz[2 * u:3 * u], dz[3 * u:], dc_prev)
    return dc_prev


def gru_step(a, hz, u, h_prev, h):
    """a (3U, N) the input projection, hz (3U, N) the recurrent one (bias added): a becomes [z, r, hh]."""
    kernel("gru_step")(hz[:u], hz[u:2 * u], hz[2 * u:], h_prev, a[:u], a[u:2 * u], a[2 * u:], h)


def gru_back(dh, a, hz, u, h_prev, da, dhz):
    """The GRU step's gradient (reset_after): da (3U, N) and dhz (3U, N) written."""
    kernel("gru_back")(dh, a[:u], a[u:2 * u], a[2 * u:], h_prev, hz[2 * u:],
                       da[:u], da[u:2 * u], da[2 * u:], dhz[:u], dhz[u:2 * u], dhz[2 * u:])


def relu_(y):
    """``y = max(y, 0)`` in place."""
    kernel("relu")(y, y)


def relu_grad(g, y, out):
    """``out = g * (y > 0)``."""
    kernel("relu_grad")(g, y, out)
