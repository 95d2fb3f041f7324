"""Special functions: erf, erfc, erfinv, lgamma, digamma, polygamma, sinc, logit.

SciPy computes the ones NumPy lacks; it is imported on first use so that
``import tapegrad`` stays fast. Integer and bool inputs compute in float32, as in PyTorch.
"""
import math
import numbers

import numpy as np

from .._core.errors import ArgumentError
from .._core.tensor import Tensor
from .elementary import in_place, public_unary, refuse_integer
from .elementwise import _elementwise, cos, exp, where
from .registry import apply_inplace, apply_unary

__all__ = ["erf", "erfc", "erfinv", "lgamma", "digamma", "polygamma", "sinc", "logit"]

_ndarray = np.ndarray
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)   # Python floats keep float32 rules float32
_HALF_SQRT_PI = math.sqrt(math.pi) / 2


def _sp():
    """scipy.special, imported on first use (SciPy's import would double tapegrad's)."""
    import scipy.special
    return scipy.special


def _special(name, x):
    """scipy.special.<name>(x), keeping float16 float16.

    NOTE: SciPy has no float16 loops (erf, erfc, gammaln and psi answer in float64, erfinv in
    float32); PyTorch keeps float16, computing in float32, and so do we."""
    fn = getattr(_sp(), name)
    if x.dtype != np.float16:
        return fn(x)
    return np.asarray(fn(x.astype(np.float32))).astype(np.float16)


def _erf(x):
    if x.dtype == np.float32 or x.dtype == np.float16:
        return _erf_single(x)
    return _special("erf", x)


# Note [erf in single precision]
# SciPy's erf costs about 60 ns an element (it has no vector loop); gelu calls it on every
# activation. For float32 and float16 inputs erf is x P(x^2) / Q(x^2), a rational function
# fitted for this project (relative error below 2e-9 on [0, 3.92], leading coefficient
# exactly 2/sqrt(pi)), evaluated in float64 and rounded once: within 0.54 ulp of the exact
# value in float32 (tests/test_special.py checks it against SciPy in float64), about 10x
# faster than SciPy. Beyond |x| = 3.92, erf rounds to +-1 in float32. float64 inputs keep
# SciPy's erf, whose accuracy a float64 rational of this size would not reach.
_ERF_P = (1.1283791670955126, 0.1852285950791022, 0.05423512155829416, 0.003839756986063996,
          0.0003759159464818836, 4.584190277413996e-06, -1.2675929002406465e-08)
_ERF_Q = (1.0, 0.4974879509175128, 0.11389354877249684, 0.015429236788180372,
          0.0013006370112136434, 6.216350832521986e-05)
_ERF_EDGE = 3.92


def _erf_single(x):
    """erf of a float32 or float16 array (Note [erf in single precision])."""
    flat = x.reshape(-1)
    if flat.size <= _ERF_BLOCK:
        return _erf_block(flat).astype(x.dtype).reshape(x.shape)
    out = np.empty(flat.shape, x.dtype)
    # NOTE: in blocks: the float64 temporaries of a block stay in cache and come from the
    # allocator's free lists; whole-array temporaries made this 2.5x slower (measured on
    # 262,144 elements).
    for start in range(0, flat.size, _ERF_BLOCK):
        out[start:start + _ERF_BLOCK] = _erf_block(flat[start:start + _ERF_BLOCK])
    return out.reshape(x.shape)


_ERF_BLOCK = 16384


def _erf_block(x):
    z = np.clip(x, -_ERF_EDGE, _ERF_EDGE, dtype=np.float64)
    t = z * z
    p = t * _ERF_P[-1]
    p += _ERF_P[-2]
    q = t * _ERF_Q[-1]
    q += _ERF_Q[-2]
    for c in _ERF_P[-3::-1]:       # Horner, in place: no temporary per coefficient
        p *= t
        p += c
    for c in _ERF_Q[-3::-1]:
        q *= t
        q += c
    p *= z
    p /= q
    return p


def _erfc(x):
    return _special("erfc", x)


def _erfinv(x):
    return _special("erfinv", x)


def _lgamma(x):
    out = np.asarray(_special("gammaln", x))
    # NOTE: SciPy gives -inf at -inf; log |Gamma| is +inf there (as PyTorch).
    at_neg_inf = np.isneginf(x)
    if at_neg_inf.any():
        out[at_neg_inf] = np.inf       # out is SciPy's fresh array: ours to change
    return out


def _digamma(x):
    return _special("psi", x)


def _polygamma(x, n):
    sp = _sp()
    # NOTE: scipy's polygamma computes in float64 whatever the input: floats are cast back.
    # Integer input (only polygamma_ passes one) stays float64, so that writing it into the
    # integer tensor is refused (as PyTorch) rather than truncated.
    out = np.asarray(sp.psi(x) if n == 0 else sp.polygamma(n, x))
    return out.astype(x.dtype, copy=False) if x.dtype.kind == "f" else out


def _sinc(x):
    if x.dtype != np.float16:
        return np.sinc(x)
    # NOTE: NumPy forms pi * x in float16, so that sinc(3) is 3e-4; in float32, as PyTorch.
    return np.sinc(x.astype(np.float32)).astype(np.float16)


# sinc'(x) = sum_k c_k x**(2k - 1), k >= 1, with c_k = (-1)**k 2k pi**(2k) / (2k + 1)!. Eight
# terms leave a relative error below 1e-16 for |x| < 0.25 (the next term's share at 0.25).
_SINC_D_SERIES = tuple((-1) ** k * 2 * k * math.pi ** (2 * k) / math.factorial(2 * k + 1)
                       for k in range(1, 9))
_SINC_SERIES_BELOW = 0.25


def _sinc_deriv(ctx):
    """d sinc = (cos(pi x) - sinc(x)) / x, and its Taylor series for |x| < 0.25 (0 at x = 0).

    NOTE: the series is exact at 0 to every order it has (the gradient of this rule at 0 is
    sinc''(0) = -pi**2 / 3, where PyTorch gives nan), and near 0 the quotient cancels: at
    x = 1e-9 it is 0 and its own derivative off by a factor 3. The quotient divides by 1
    where the series is used, so no 0/0 reaches a gradient of this rule."""
    x = ctx.x
    near = (x < _SINC_SERIES_BELOW) & (x > -_SINC_SERIES_BELOW)
    x2 = x * x
    series = _SINC_D_SERIES[-1] * x2
    for c in _SINC_D_SERIES[-2:0:-1]:
        series = (series + c) * x2
    series = (series + _SINC_D_SERIES[0]) * x + 0.0     # + 0.0: d sinc(+-0) = +0, as PyTorch
    safe = where(near, 1.0, x)
    return where(near, series, (cos(math.pi * safe) - ctx.out) / safe)


def _logit(x, eps):
    if eps is not None:
        x = np.clip(x, eps, 1 - eps)
    return np.log(x / (1 - x))


def _logit_deriv(ctx):
    """d logit = 1 / (x (1 - x)): without eps nan outside [0, 1]; with eps 0 outside
    [eps, 1 - eps] (bounds included). Where x is nan, so is the gradient (as PyTorch)."""
    x, eps = ctx.x, ctx.eps
    if eps is None:
        # NOTE: nan outside [0, 1], where logit itself is nan (as PyTorch; 1 / (x (1 - x))
        # alone is finite there). Through x, so that this rule's own gradient there is 0
        # (where() routes none to x), as PyTorch's.
        x = where((x < 0) | (x > 1), math.nan, x)
        return 1 / (x * (1 - x))
    outside = (x < eps) | (x > 1 - eps)        # nan is not outside: its gradient stays nan
    # NOTE: 0.5 outside, not the clamped x: 1 / (x (1 - x)) is then finite wherever where()
    # discards it (with eps = 0 a clamped x would give inf there, and its gradient 0 * inf).
    x = where(outside, 0.5, x)
    return where(outside, 0.0, 1 / (x * (1 - x)))


ERF = _elementwise("erf", _erf, lambda ctx: _TWO_OVER_SQRT_PI * exp(-ctx.x * ctx.x))
ERFC = _elementwise("erfc", _erfc, lambda ctx: -_TWO_OVER_SQRT_PI * exp(-ctx.x * ctx.x))
ERFINV = _elementwise("erfinv", _erfinv, lambda ctx: _HALF_SQRT_PI * exp(ctx.out * ctx.out),
                      save=("out",))
LGAMMA = _elementwise("lgamma", _lgamma, lambda ctx: digamma(ctx.x))
DIGAMMA = _elementwise("digamma", _digamma, lambda ctx: polygamma(1, ctx.x))
POLYGAMMA = _elementwise("polygamma", _polygamma, lambda ctx: polygamma(ctx.n + 1, ctx.x))
SINC = _elementwise("sinc", _sinc, _sinc_deriv, save=("x", "out"))
LOGIT = _elementwise("logit", _logit, _logit_deriv)


def _float_unary(op, doc):
    return public_unary(op, __name__, doc)     # integer input computes in float32


def _floating(input):
    """An integer or bool tensor as float32 (PyTorch's result dtype for float maths)."""
    if isinstance(input, Tensor) and input._data.dtype.kind in "biu":
        return input.to(np.float32)
    return input


erf = _float_unary(ERF, """Elementwise error function; integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 1.0], requires_grad=True)
        >>> tg.erf(x).sum().backward(); tg.erf(x), x.grad
        (tensor([0.0000, 0.8427], grad_fn=<ErfBackward0>), tensor([1.1284, 0.4151]))
    """)
erfc = _float_unary(ERFC, """Elementwise complementary error function 1 - erf(x).

    Accurate where erf(x) is near 1 (large x); integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 1.0], requires_grad=True)
        >>> tg.erfc(x).sum().backward(); tg.erfc(x), x.grad
        (tensor([1.0000, 0.1573], grad_fn=<ErfcBackward0>), tensor([-1.1284, -0.4151]))
    """)
erfinv = _float_unary(ERFINV, """Elementwise inverse error function.

    Defined on [-1, 1] (+-inf at +-1, nan outside); integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 0.5], requires_grad=True)
        >>> tg.erfinv(x).sum().backward(); tg.erfinv(x), x.grad
        (tensor([0.0000, 0.4769], grad_fn=<ErfinvBackward0>), tensor([0.8862, 1.1126]))
    """)
lgamma = _float_unary(LGAMMA, """Elementwise log |Gamma(x)|; its derivative is digamma(x).

    Integer input gives float32; at 0 and the negative integers the result is inf.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 3.0], requires_grad=True)
        >>> tg.lgamma(x).sum().backward(); tg.lgamma(x), x.grad
        (tensor([0.0000, 0.6931], grad_fn=<LgammaBackward0>), tensor([-0.5772,  0.9228]))
    """)
digamma = _float_unary(DIGAMMA, """Elementwise digamma psi(x) = d/dx log Gamma(x).

    Its derivative is polygamma(1, x); integer input gives float32; at 0 the result is -inf
    (inf at -0.0), as in PyTorch.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> tg.digamma(x).sum().backward(); tg.digamma(x), x.grad
        (tensor([-0.5772,  0.4228], grad_fn=<DigammaBackward0>), tensor([1.6449, 0.6449]))
    """)
sinc = _float_unary(SINC, """Elementwise normalized sinc: sin(pi x) / (pi x), and 1 at x = 0.

    The gradient at 0 is 0 and its derivative there -pi**2 / 3 (PyTorch gives nan); integer
    input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 0.5], requires_grad=True)
        >>> tg.sinc(x).sum().backward(); tg.sinc(x), x.grad
        (tensor([1.0000, 0.6366], grad_fn=<SincBackward0>), tensor([ 0.0000, -1.2732]))
    """)


def _check_n(n, name):
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name}: n must be an int, got {type(n).__name__} {n!r}")
    if n < 0:
        raise ArgumentError(f"{name}: n must be >= 0 (n = 0 is digamma), got {n}")
    return int(n)


def polygamma(n, input):
    """Elementwise n-th derivative of digamma: polygamma(0, x) = digamma(x).

    Args:
        n: the order, an int >= 0.
        input: the tensor; integer input gives float32.

    Returns:
        The values; the gradient is polygamma(n + 1, x).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> tg.polygamma(1, x).sum().backward(); tg.polygamma(1, x), x.grad
        (tensor([1.6449, 0.6449], grad_fn=<PolygammaBackward0>), tensor([-2.4041, -0.4041]))
    """
    n = _check_n(n, "polygamma")
    if type(input) is _ndarray:           # rules on plain arrays: straight to SciPy
        return _polygamma(input, n)
    return apply_unary(POLYGAMMA, _floating(input), {"n": n})


def _check_eps(eps, name):
    """eps as a float, or None when no clamping is asked for (None or negative, as in
    PyTorch)."""
    if eps is None:
        return None
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"{name}: eps must be a float or None, got {type(eps).__name__} {eps!r}")
    return float(eps) if eps >= 0 else None


def logit(input, eps=None):
    """Elementwise log(x / (1 - x)), the inverse of sigmoid.

    Args:
        input: the tensor (values in [0, 1]); integer input gives float32.
        eps: if given (and >= 0), the input is first clamped to [eps, 1 - eps]; the
            gradient is then 0 outside that range (bounds included), as in PyTorch.

    Returns:
        The values; the gradient is 1 / (x (1 - x)) (without eps: nan outside [0, 1],
        where the value is nan, and inf at 0 and 1). A negative eps acts as None, also for
        the gradient (PyTorch's is finite outside [0, 1] then).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.5, 0.01], requires_grad=True)
        >>> tg.logit(x, eps=0.1).sum().backward(); tg.logit(x, eps=0.1), x.grad
        (tensor([ 0.0000, -2.1972], grad_fn=<LogitBackward0>), tensor([4., 0.]))
    """
    if type(input) is _ndarray:           # rules on plain arrays: straight to NumPy
        return _logit(input, _check_eps(eps, "logit"))
    return apply_unary(LOGIT, _floating(input), {"eps": _check_eps(eps, "logit")})


# ---- Tensor methods ---------------------------------------------------------------------------
def _polygamma_(self, n):
    """In-place :func:`polygamma`; returns the tensor."""
    refuse_integer(self, "polygamma_")
    return apply_inplace(POLYGAMMA, (self,), {"n": _check_n(n, "polygamma_")}, "polygamma_")


def _polygamma_method(self, n):
    """``x.polygamma(n)``: :func:`polygamma` with the tensor first, as PyTorch's method."""
    return polygamma(n, self)


def _logit_(self, eps=None):
    """In-place :func:`logit`; returns the tensor."""
    refuse_integer(self, "logit_")
    return apply_inplace(LOGIT, (self,), {"eps": _check_eps(eps, "logit_")}, "logit_")


METHODS = {
    "erf": erf, "erf_": in_place(ERF, "erf_", floating=True),
    "erfc": erfc, "erfc_": in_place(ERFC, "erfc_", floating=True),
    "erfinv": erfinv, "erfinv_": in_place(ERFINV, "erfinv_", floating=True),
    "lgamma": lgamma, "lgamma_": in_place(LGAMMA, "lgamma_", floating=True),
    "digamma": digamma, "digamma_": in_place(DIGAMMA, "digamma_", floating=True),
    "sinc": sinc, "sinc_": in_place(SINC, "sinc_", floating=True),
    "polygamma": _polygamma_method, "polygamma_": _polygamma_,
    "logit": logit, "logit_": _logit_,
}
