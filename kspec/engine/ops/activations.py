"""Activation primitives with hand-written backward passes, and erf/erfc for the exact GELU.

Each op computes its forward in the input's dtype (Python constants are cast with it, so float32 stays
float32) the way JAX computes it in Keras 3, and its backward reuses the forward output where it can.
Shapes: every op here is elementwise, x : (...) -> (...), except :func:`sparsemax` (along ``axis``) and
:func:`prelu` (``alpha`` broadcasts against ``x``).
"""
import math

from kspec import backend
from kspec.engine.ops.math import unbroadcast
from kspec.engine.tensor import Tensor, as_tensor, make

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# Numerical Recipes' Chebyshev fit of erfc(z) = t * exp(-z^2 + P(t)), t = 1 / (1 + z/2), z >= 0:
# fractional error below 1.2e-7 everywhere, the float32 path (coefficients from t^0 to t^9).
_ERFC32 = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
           0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277)


def _input(x):
    """The input as a floating Tensor and its scalar type (ints become floatx constants)."""
    x = as_tensor(x)
    if x.data.dtype.kind != "f":
        x = Tensor(x.data.astype(backend.floatx))
    return x, x.data.dtype.type


def _sigmoid_from(a, e):
    """sigmoid(a) from e = exp(-|a|), without overflow and accurate in both tails."""
    r = a.dtype.type(1) / (a.dtype.type(1) + e)
    return backend.xp.where(a >= 0, r, e * r)


# -- erf / erfc ---------------------------------------------------------------------------------------
def _erf_series(z, terms):
    """erf(z) = 2/sqrt(pi) * z * exp(-z^2) * sum_n (2 z^2)^n / (2n+1)!!: positive terms, no cancellation."""
    t = z.dtype.type
    z2 = z * z
    two_z2 = t(2) * z2
    term = backend.xp.ones_like(z)
    total = term.copy()
    for n in range(1, terms):
        term *= two_z2 / t(2 * n + 1)
        total += term
    return t(_TWO_OVER_SQRT_PI) * z * backend.xp.exp(-z2) * total


def _erfc_fraction(z, terms=50):
    """erfc(z) for z >= 1.5 from the even form of Laplace's continued fraction (exact in float64 there)."""
    t = z.dtype.type
    z = backend.xp.minimum(z, t(30))  # erfc underflows to 0 long before; keeps z*z finite
    z2 = z * z
    base = t(2) * z2 + t(1)
    f = base + t(4 * terms)
    for k in range(terms, 0, -1):
        f = base + t(4 * (k - 1)) - t((2 * k - 1) * (2 * k)) / f
    return t(_TWO_OVER_SQRT_PI) * z * backend.xp.exp(-z2) / f


def _erfc_chebyshev(z):
    """erfc(z) for z >= 0 with fractional error below 1.2e-7 (the float32 path)."""
    t = z.dtype.type
    z = backend.xp.minimum(z, t(11))  # erfc(11) is below float32's smallest subnormal
    u = t(1) / (t(1) + t(0.5) * z)
    poly = t(_ERFC32[-1])
    for c in _ERFC32[-2::-1]:
        poly = t(c) + u * poly
    # exp(-z^2) as exp(-hi^2) * exp(-(z - hi)(z + hi)): hi keeps 12 bits, so hi^2 is exact in float32 and
    # the rounding of a large exponent does not cost ~1e-6 of relative accuracy.
    hi = (z.view(backend.xp.uint32) & backend.xp.uint32(0xFFFFF000)).view(z.dtype)
    return u * backend.xp.exp(-hi * hi) * backend.xp.exp(poly - (z - hi) * (z + hi))


def _erfc_positive(z):
    """erfc(z) for z >= 0 (float32: Chebyshev fit; wider floats: series below 1.5, fraction above)."""
    xp = backend.xp
    if z.dtype == xp.float32:
        return _erfc_chebyshev(z)
    out = xp.empty_like(z)
    small = z < 1.5
    out[small] = z.dtype.type(1) - _erf_series(z[small], 40)
    out[~small] = _erfc_fraction(z[~small])
    return out


def erfc_array(x):
    """Complementary error function of a float array, relative accuracy ~1e-7 (float32) / ~1e-14 (float64)."""
    xp = backend.xp
    r = _erfc_positive(xp.abs(x))
    return xp.where(x < 0, x.dtype.type(2) - r, r)


def erf_array(x):
    """Error function of a float array: a series near 0, 1 - erfc(|x|) beyond."""
    xp = backend.xp
    t = x.dtype.type
    cutoff, terms = (t(0.5), 8) if x.dtype == xp.float32 else (t(1.5), 40)
    z = xp.abs(x)
    small = z < cutoff
    out = xp.asarray(xp.sign(x) * (t(1) - _erfc_positive(xp.where(small, cutoff, z))))  # 0-d stays an array
    out[small] = _erf_series(x[small], terms)
    return out


def erf(x):
    """The error function; d/dx erf(x) = 2/sqrt(pi) * exp(-x^2)."""
    x, t = _input(x)
    out = erf_array(x.data)
    return make(out, (x,), lambda g: (g * t(_TWO_OVER_SQRT_PI) * backend.xp.exp(-x.data * x.data),), "erf")


def expm1(x):
    """exp(x) - 1, accurate near 0."""
    x, t = _input(x)
    out = backend.xp.expm1(x.data)
    return make(out, (x,), lambda g: (g * (out + t(1)),), "expm1")


# -- the ReLU family ------------------------------------------------------------------------------------
def relu_ext(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras's ``relu`` with arguments: ``x`` above ``threshold`` (0 below), clipped to [0, max_value] when
    set, minus ``negative_slope * relu(threshold - x)``."""
    if negative_slope != 0.0 and max_value is None and threshold == 0:
        return leaky_relu(x, negative_slope)
    x, t = _input(x)
    xp = backend.xp
    a = x.data
    zero = t(0)
    if threshold != 0:
        out = xp.where(a > t(threshold), a, zero)
        slope = (a > t(threshold)).astype(a.dtype)
    else:
        out = xp.maximum(a, zero)
        slope = (a > zero).astype(a.dtype)
    if max_value is not None:
        top = t(max_value)
        # On the cap exactly, Keras's clip halves the gradient; with no threshold and a cap of 6 Keras
        # uses relu6, whose gradient there is 0.
        on_cap = t(0) if threshold == 0 and max_value == 6 else t(0.5)
        slope *= xp.where(out < top, t(1), xp.where(out == top, on_cap, t(0))) * (out > zero)
        out = xp.clip(out, zero, top)
    if negative_slope != 0.0:
        s = t(negative_slope)
        below = a < t(threshold)
        out = out - s * xp.maximum(t(threshold) - a, zero)
        slope += s * below
    return make(out, (x,), lambda g: (g * slope,), "relu_ext")


def leaky_relu(x, negative_slope=0.2):
    """``x`` where x >= 0, else ``negative_slope * x``."""
    x, t = _input(x)
    s = t(negative_slope)
    positive = x.data >= 0
    out = backend.xp.where(positive, x.data, s * x.data)
    return make(out, (x,), lambda g: (backend.xp.where(positive, g, s * g),), "leaky_relu")


def relu6(x):
    """min(max(x, 0), 6)."""
    x, t = _input(x)
    xp = backend.xp
    out = xp.minimum(xp.maximum(x.data, t(0)), t(6))
    return make(out, (x,), lambda g: (g * ((x.data > 0) & (x.data < 6)),), "relu6")


def prelu(x, alpha):
    """``relu(x) - alpha * relu(-x)`` with a learned ``alpha`` that broadcasts against x."""
    x, t = _input(x)
    alpha = as_tensor(alpha)
    xp = backend.xp
    neg = xp.maximum(-x.data, t(0))
    out = xp.maximum(x.data, t(0)) - alpha.data * neg

    def backward(g):
        gx = g * xp.where(x.data > 0, t(1), xp.where(x.data < 0, alpha.data, t(0))) if x.requires_grad else None
        ga = unbroadcast(-g * neg, alpha.shape) if alpha.requires_grad else None
        return gx, ga

    return make(out, (x, alpha), backward, "prelu")


# -- exponential units ----------------------------------------------------------------------------------
def elu(x, alpha=1.0):
    """``x`` where x > 0, else ``alpha * expm1(x)``."""
    x, t = _input(x)
    xp = backend.xp
    a = t(alpha)
    positive = x.data > 0
    out = xp.where(positive, x.data, a * xp.expm1(xp.minimum(x.data, t(0))))
    return make(out, (x,), lambda g: (xp.where(positive, g, g * (out + a)),), "elu")


def selu(x):
    """``scale * elu(x, alpha)`` with the SELU constants."""
    x, t = _input(x)
    xp = backend.xp
    scale, a = t(SELU_SCALE), t(SELU_ALPHA)
    positive = x.data > 0
    out = scale * xp.where(positive, x.data, a * xp.expm1(xp.minimum(x.data, t(0))))
    return make(out, (x,), lambda g: (xp.where(positive, scale * g, g * (out + scale * a)),), "selu")


def softplus(x):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)) (logaddexp(x, 0)); its derivative is sigmoid(x)."""
    x, t = _input(x)
    xp = backend.xp
    e = xp.exp(-xp.abs(x.data))
    out = xp.maximum(x.data, t(0)) + xp.log1p(e)
    return make(out, (x,), lambda g: (g * _sigmoid_from(x.data, e),), "softplus")


def silu(x):
    """x * sigmoid(x) (swish)."""
    x, t = _input(x)
    xp = backend.xp
    s = _sigmoid_from(x.data, xp.exp(-xp.abs(x.data)))
    out = x.data * s
    return make(out, (x,), lambda g: (g * (s + out * (t(1) - s)),), "silu")


def mish(x):
    """x * tanh(softplus(x)), with tanh(softplus(x)) = m / (m + 2), m = n(n + 2), n = exp(x): one exp and
    no log; for x > 20 the factor is 1 to float precision (the cap keeps n*n finite)."""
    x, t = _input(x)
    xp = backend.xp
    n = xp.exp(xp.minimum(x.data, t(20)))
    m = n * (n + t(2))
    th = m / (m + t(2))
    out = x.data * th

    def backward(g):
        # d/dx tanh(softplus(x)) = (1 - th^2) * sigmoid(x), sigmoid(x) = n / (1 + n)
        return (g * (th + x.data * (t(1) - th * th) * (n / (t(1) + n))),)

    return make(out, (x,), backward, "mish")


def gelu(x, approximate=False):
    """Exact ``x/2 * erfc(-x/sqrt(2))`` or, approximately, ``x/2 * (1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))``."""
    x, t = _input(x)
    xp = backend.xp
    a = x.data
    if approximate:
        c = t(math.sqrt(2.0 / math.pi))
        k = t(0.044715)
        th = xp.tanh(c * (a + k * (a * a * a)))  # x**3 as JAX's integer_pow: repeated products
        cdf = t(0.5) * (t(1) + th)
        out = a * cdf

        def backward(g):
            return (g * (cdf + t(0.5) * a * (t(1) - th * th) * c * (t(1) + t(3) * k * a * a)),)
    else:
        half_cdf = erfc_array(-a * t(math.sqrt(0.5)))
        out = t(0.5) * a * half_cdf

        def backward(g):
            pdf = t(1 / math.sqrt(2 * math.pi)) * xp.exp(t(-0.5) * a * a)
            return (g * (t(0.5) * half_cdf + a * pdf),)

    return make(out, (x,), backward, "gelu")


# -- hard (piecewise-linear) units ----------------------------------------------------------------------
def hard_sigmoid(x):
    """relu6(x + 3) / 6 (Keras 3, breakpoints at +-3)."""
    x, t = _input(x)
    xp = backend.xp
    out = xp.minimum(xp.maximum(x.data + t(3), t(0)), t(6)) / t(6)
    inside = (x.data > -3) & (x.data < 3)
    return make(out, (x,), lambda g: (g * inside / t(6),), "hard_sigmoid")


def hard_silu(x):
    """x * hard_sigmoid(x) (hard swish)."""
    x, t = _input(x)
    xp = backend.xp
    hs = xp.minimum(xp.maximum(x.data + t(3), t(0)), t(6)) / t(6)
    out = x.data * hs
    inside = (x.data > -3) & (x.data < 3)
    return make(out, (x,), lambda g: (g * (hs + x.data * inside / t(6)),), "hard_silu")


# -- along an axis ---------------------------------------------------------------------------------------
def sparsemax(x, axis=-1):
    """Euclidean projection of x onto the probability simplex along ``axis`` (Martins & Astudillo, 2016)."""
    x, t = _input(x)
    xp = backend.xp
    a = x.data
    ordered = -xp.sort(-a, axis=axis)
    cumsum = xp.cumsum(ordered, axis=axis)
    shape = [1] * a.ndim
    shape[axis] = -1
    rank = xp.arange(1, a.shape[axis] + 1, dtype=a.dtype).reshape(shape)
    support = t(1) + rank * ordered > cumsum
    k = support.sum(axis=axis, keepdims=True)
    tau = (xp.take_along_axis(cumsum, k - 1, axis=axis) - t(1)) / k.astype(a.dtype)
    out = xp.maximum(a - tau, t(0))
    active = out > 0

    def backward(g):
        count = active.sum(axis=axis, keepdims=True).astype(g.dtype)
        mean = (g * active).sum(axis=axis, keepdims=True) / count
        return (active * (g - mean),)

    return make(out, (x,), backward, "sparsemax")
