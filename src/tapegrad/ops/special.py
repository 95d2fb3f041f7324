"""Special functions: erf, erfc, erfinv, lgamma, digamma, polygamma, sinc, logit.

SciPy computes the ones NumPy lacks; it is imported on first use so that
``import tapegrad`` stays fast. Integer and bool inputs compute in float32, as in PyTorch.
"""
import math
import numbers

import numpy as np

from .._core.errors import ArgumentError
from .._core.tensor import Tensor
from .elementary import in_place, public_unary
from .elementwise import _elementwise, clamp, cos, exp, where
from .registry import apply_inplace, apply_unary

__all__ = ["erf", "erfc", "erfinv", "lgamma", "digamma", "polygamma", "sinc", "logit"]

_ndarray = np.ndarray
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)   # Python floats keep float32 rules float32
_HALF_SQRT_PI = math.sqrt(math.pi) / 2


def _sp():
    """scipy.special, imported on first use (SciPy's import would double tapegrad's)."""
    import scipy.special
    return scipy.special


def _erf(x):
    return _sp().erf(x)


def _erfc(x):
    return _sp().erfc(x)


def _erfinv(x):
    return _sp().erfinv(x)


def _lgamma(x):
    return _sp().gammaln(x)


def _digamma(x):
    return _sp().psi(x)


def _polygamma(x, n):
    sp = _sp()
    # NOTE: scipy's polygamma computes in float64 whatever the input; cast back.
    out = sp.psi(x) if n == 0 else sp.polygamma(n, x)
    return np.asarray(out).astype(np.result_type(x), copy=False)


def _sinc_deriv(ctx):
    """d sinc = (cos(pi x) - sinc(x)) / x, and 0 at x = 0 (sinc is even), as in PyTorch."""
    x = ctx.x
    at_zero = x == 0
    # NOTE: the division sees 1 where x == 0, so no 0/0 reaches a gradient of this rule.
    return where(at_zero, 0.0, (cos(math.pi * x) - ctx.out) / where(at_zero, 1.0, x))


def _logit(x, eps):
    if eps is not None:
        x = np.clip(x, eps, 1 - eps)
    return np.log(x / (1 - x))


def _logit_deriv(ctx):
    """d logit = 1 / (x (1 - x)); with eps, 0 outside [eps, 1 - eps] (bounds included)."""
    x, eps = ctx.x, ctx.eps
    if eps is None:
        return 1 / (x * (1 - x))
    inside = (x >= eps) & (x <= 1 - eps)
    x = clamp(x, eps, 1 - eps)         # finite everywhere, so where() mixes no inf or nan in
    return where(inside, 1 / (x * (1 - x)), 0.0)


ERF = _elementwise("erf", _erf, lambda ctx: _TWO_OVER_SQRT_PI * exp(-ctx.x * ctx.x))
ERFC = _elementwise("erfc", _erfc, lambda ctx: -_TWO_OVER_SQRT_PI * exp(-ctx.x * ctx.x))
ERFINV = _elementwise("erfinv", _erfinv, lambda ctx: _HALF_SQRT_PI * exp(ctx.out * ctx.out),
                      save=("out",))
LGAMMA = _elementwise("lgamma", _lgamma, lambda ctx: digamma(ctx.x))
DIGAMMA = _elementwise("digamma", _digamma, lambda ctx: polygamma(1, ctx.x))
POLYGAMMA = _elementwise("polygamma", _polygamma, lambda ctx: polygamma(ctx.n + 1, ctx.x))
SINC = _elementwise("sinc", np.sinc, _sinc_deriv, save=("x", "out"))
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

    The gradient at 0 is 0; integer input gives float32.

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
        The values; the gradient is 1 / (x (1 - x)) (nan outside [0, 1], inf at 0 and 1
        without eps).

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
    return apply_inplace(POLYGAMMA, (self,), {"n": _check_n(n, "polygamma_")}, "polygamma_")


def _polygamma_method(self, n):
    """``x.polygamma(n)``: :func:`polygamma` with the tensor first, as PyTorch's method."""
    return polygamma(n, self)


def _logit_(self, eps=None):
    """In-place :func:`logit`; returns the tensor."""
    return apply_inplace(LOGIT, (self,), {"eps": _check_eps(eps, "logit_")}, "logit_")


METHODS = {
    "erf": erf, "erf_": in_place(ERF, "erf_"),
    "erfc": erfc, "erfc_": in_place(ERFC, "erfc_"),
    "erfinv": erfinv, "erfinv_": in_place(ERFINV, "erfinv_"),
    "lgamma": lgamma, "lgamma_": in_place(LGAMMA, "lgamma_"),
    "digamma": digamma, "digamma_": in_place(DIGAMMA, "digamma_"),
    "sinc": sinc, "sinc_": in_place(SINC, "sinc_"),
    "polygamma": _polygamma_method, "polygamma_": _polygamma_,
    "logit": logit, "logit_": _logit_,
}
