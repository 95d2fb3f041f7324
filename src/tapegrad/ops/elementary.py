"""Elementary functions beyond the foundation's: log1p, expm1, log2, log10, exp2, square,
reciprocal, the hyperbolic functions and the inverse trigonometric and hyperbolic functions.

Each is one primitive from one derivative (elementwise._elementwise); integer and bool inputs
compute in float32, as in PyTorch (elementwise._unary(floating=True)), except square, which
keeps integers integer.
"""
import math

import numpy as np

from .._core.errors import DTypeError
from .elementwise import NEG, POW, _elementwise, _unary, exp, pow, rsqrt
from .registry import apply_inplace

__all__ = ["log1p", "expm1", "log2", "log10", "exp2", "square", "reciprocal", "sinh", "cosh",
           "asin", "arcsin", "acos", "arccos", "atan", "arctan", "asinh", "arcsinh",
           "acosh", "arccosh", "atanh", "arctanh"]

# Python floats, not NumPy scalars: a float32 rule must stay float32 (NEP 50 weak scalars).
_LN2, _LN10 = math.log(2.0), math.log(10.0)

# ---- primitives --------------------------------------------------------------------------
# NOTE: expm1's derivative is exp(x), not out + 1: for x < -20 (float32) or -37 (float64)
# out + 1 rounds to 0 or loses all digits, while exp(x) stays exact.
LOG1P = _elementwise("log1p", np.log1p, lambda ctx: 1 / (1 + ctx.x))
EXPM1 = _elementwise("expm1", np.expm1, lambda ctx: exp(ctx.x))
LOG2 = _elementwise("log2", np.log2, lambda ctx: 1 / (ctx.x * _LN2))
LOG10 = _elementwise("log10", np.log10, lambda ctx: 1 / (ctx.x * _LN10))
EXP2 = _elementwise("exp2", np.exp2, lambda ctx: ctx.out * _LN2, save=("out",))
# NOTE: a primitive rather than 1 / x (div): one node saving only out, and reciprocal_ can
# run in place. 1.0 / x, not np.reciprocal, which divides integers as integers.
RECIPROCAL = _elementwise("reciprocal", lambda x: np.divide(1.0, x),
                          lambda ctx: -ctx.out * ctx.out, save=("out",))
SINH = _elementwise("sinh", np.sinh, lambda ctx: cosh(ctx.x))
COSH = _elementwise("cosh", np.cosh, lambda ctx: sinh(ctx.x))
# The inverse functions' derivatives use (1 - x)(1 + x) rather than 1 - x*x: no cancellation
# near |x| = 1, where the derivative is largest.
ASIN = _elementwise("asin", np.arcsin, lambda ctx: rsqrt((1 - ctx.x) * (1 + ctx.x)))
ACOS = _elementwise("acos", np.arccos, lambda ctx: -rsqrt((1 - ctx.x) * (1 + ctx.x)))
ATAN = _elementwise("atan", np.arctan, lambda ctx: 1 / (1 + ctx.x * ctx.x))
ASINH = _elementwise("asinh", np.arcsinh, lambda ctx: rsqrt(ctx.x * ctx.x + 1))
ACOSH = _elementwise("acosh", np.arccosh, lambda ctx: rsqrt((ctx.x - 1) * (ctx.x + 1)))
ATANH = _elementwise("atanh", np.arctanh, lambda ctx: 1 / ((1 - ctx.x) * (1 + ctx.x)))

# ---- public functions ----------------------------------------------------------------------
def public_unary(op, module, doc, floating=True):
    """The public function of a unary primitive, shown as defined in ``module`` (where users
    and doctest find it); with ``floating``, integer input computes in float32. Shared by
    the pointwise families (special.py, rounding.py)."""
    fn = _unary(op, doc, floating=floating)
    fn.__module__ = module
    return fn


def _float_unary(op, doc):
    return public_unary(op, __name__, doc)     # integer input computes in float32


log1p = _float_unary(LOG1P, """Elementwise log(1 + x), exact for tiny |x|; integers give float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1e-10, 1.0], dtype=tg.float64, requires_grad=True)
        >>> y = tg.log1p(x); y.sum().backward(); y.tolist(), x.grad.tolist()
        ([9.999999999500001e-11, 0.6931471805599453], [0.9999999999, 0.5])
    """)
expm1 = _float_unary(EXPM1, """Elementwise exp(x) - 1, exact for tiny |x|; integers give float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1e-10, 0.0], dtype=tg.float64, requires_grad=True)
        >>> y = tg.expm1(x); y.sum().backward(); y.tolist(), x.grad.tolist()
        ([1.00000000005e-10, 0.0], [1.0000000001, 1.0])
    """)
log2 = _float_unary(LOG2, """Elementwise base-2 logarithm; integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 8.0], requires_grad=True)
        >>> tg.log2(x).sum().backward(); tg.log2(x), x.grad
        (tensor([0., 3.], grad_fn=<Log2Backward0>), tensor([1.4427, 0.1803]))
    """)
log10 = _float_unary(LOG10, """Elementwise base-10 logarithm; integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 100.0], requires_grad=True)
        >>> tg.log10(x).sum().backward(); tg.log10(x), x.grad
        (tensor([0.0000, 2.0000], grad_fn=<Log10Backward0>), tensor([0.4343, 0.0043]))
    """)
exp2 = _float_unary(EXP2, """Elementwise 2**x; integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 3.0], requires_grad=True)
        >>> tg.exp2(x).sum().backward(); tg.exp2(x), x.grad
        (tensor([1., 8.], grad_fn=<Exp2Backward0>), tensor([0.6931, 5.5452]))
    """)
reciprocal = _float_unary(RECIPROCAL, """Elementwise 1 / x; integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([2.0, -4.0], requires_grad=True)
        >>> tg.reciprocal(x).sum().backward(); x.grad, tg.reciprocal(tg.tensor([2]))
        (tensor([-0.2500, -0.0625]), tensor([0.5000]))
    """)
sinh = _float_unary(SINH, """Elementwise hyperbolic sine; integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 1.0], requires_grad=True)
        >>> tg.sinh(x).sum().backward(); x.grad
        tensor([1.0000, 1.5431])
    """)
cosh = _float_unary(COSH, """Elementwise hyperbolic cosine; integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 1.0], requires_grad=True)
        >>> tg.cosh(x).sum().backward(); x.grad
        tensor([0.0000, 1.1752])
    """)
asin = arcsin = _float_unary(ASIN, """Elementwise arcsine (also ``arcsin``); integers give float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 0.6], requires_grad=True)
        >>> tg.asin(x).sum().backward(); x.grad
        tensor([1.0000, 1.2500])
    """)
acos = arccos = _float_unary(ACOS, """Elementwise arccosine (also ``arccos``); ints give float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 0.6], requires_grad=True)
        >>> tg.acos(x).sum().backward(); x.grad
        tensor([-1.0000, -1.2500])
    """)
atan = arctan = _float_unary(ATAN, """Elementwise arctangent (also ``arctan``); ints give float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 2.0], requires_grad=True)
        >>> tg.atan(x).sum().backward(); x.grad
        tensor([1.0000, 0.2000])
    """)
asinh = arcsinh = _float_unary(ASINH, """Elementwise inverse hyperbolic sine (also ``arcsinh``).

    Integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 0.75], requires_grad=True)
        >>> tg.asinh(x).sum().backward(); x.grad
        tensor([1.0000, 0.8000])
    """)
acosh = arccosh = _float_unary(ACOSH, """Elementwise inverse hyperbolic cosine (also ``arccosh``).

    Defined for x >= 1 (nan below); integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.25, 2.0], requires_grad=True)
        >>> tg.acosh(x).sum().backward(); x.grad
        tensor([1.3333, 0.5774])
    """)
atanh = arctanh = _float_unary(ATANH, """Elementwise inverse hyperbolic tangent (also ``arctanh``).

    Defined on (-1, 1) (+-inf at +-1); integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 0.5], requires_grad=True)
        >>> tg.atanh(x).sum().backward(); x.grad
        tensor([1.0000, 1.3333])
    """)


def square(input):
    """Elementwise x * x; integer input stays integer and bool gives int64, as in PyTorch.

    Recorded as ``input ** 2`` (as PyTorch does), whose gradient is 2 * x.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([-1.5, 2.0], requires_grad=True)
        >>> tg.square(x).sum().backward(); x.grad, tg.square(tg.tensor([3]))
        (tensor([-3.,  4.]), tensor([9]))
    """
    return pow(input, 2)


# ---- Tensor methods ---------------------------------------------------------------------------
def refuse_integer(x, name):
    """Refuse an in-place op with a floating result on an integer or bool tensor ``x``."""
    dtype = x._data.dtype
    if dtype.kind in "biu":
        raise DTypeError(
            f"{name}: the result is floating (float32 for {dtype} input), which can't be "
            f"written into a tensor of dtype {dtype} in place, as in PyTorch. Use the "
            f"out-of-place form, x.{name[:-1]}(...), or convert first: x = x.float().")


def in_place(op, name, floating=False):
    """``x.name()``: x <- op(x) in place; with ``floating`` (a float result), an integer or
    bool x is refused up front. Shared by the pointwise families (special.py, rounding.py)."""
    def method(self):
        if floating:
            refuse_integer(self, name)
        return apply_inplace(op, (self,), name=name)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place :func:`{name[:-1]}`; returns the tensor."
    return method


def _square_(self):
    """In-place :func:`square` (as ``self ** 2``); returns the tensor."""
    return apply_inplace(POW, (self, 2), name="square_")


# NOTE: negative_ (PyTorch's alias of neg_) is bound here, beside the other in-place forms of
# this family, because methods.py, which binds neg_, is shared.
METHODS = {"square": square, "square_": _square_, "negative_": in_place(NEG, "negative_")}
for _op, _names in [(LOG1P, ("log1p",)), (EXPM1, ("expm1",)), (LOG2, ("log2",)),
                    (LOG10, ("log10",)), (EXP2, ("exp2",)), (RECIPROCAL, ("reciprocal",)),
                    (SINH, ("sinh",)), (COSH, ("cosh",)), (ASIN, ("asin", "arcsin")),
                    (ACOS, ("acos", "arccos")), (ATAN, ("atan", "arctan")),
                    (ASINH, ("asinh", "arcsinh")), (ACOSH, ("acosh", "arccosh")),
                    (ATANH, ("atanh", "arctanh"))]:
    for _name in _names:
        METHODS[_name] = globals()[_names[0]]
        METHODS[_name + "_"] = in_place(_op, _name + "_", floating=True)
del _op, _names, _name
