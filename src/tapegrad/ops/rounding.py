"""Rounding and classification: floor, ceil, round, trunc, frac (zero or identity
gradients as PyTorch defines them), nan_to_num, signbit, isneginf, isposinf, isreal.
"""
import numbers

import numpy as np

from .._core.batched import BATCHED
from .._core.errors import DTypeError
from .._core.tensor import Tensor, wrap
from .elementary import in_place, public_unary
from .elementwise import isfinite
from .registry import OpDef, apply_inplace, apply_unary, batched_call, register

__all__ = ["floor", "ceil", "round", "trunc", "fix", "frac", "nan_to_num", "signbit",
           "isneginf", "isposinf", "isreal"]

_ndarray = np.ndarray


def zero_vjp(ctx, g):
    """d floor = d ceil = d trunc = d round = 0 (piecewise constant), as PyTorch defines it."""
    return (g * 0,)


def zero_jvp(ctx, t):
    return t * 0


def frac_vjp(ctx, g):
    """d frac = d (x - trunc(x)) = 1."""
    return (g,)


def _refuse_bool(x, name):
    if x.dtype.kind == "b":
        raise DTypeError(f"{name}: not defined for bool tensors (as in PyTorch); convert "
                         "first, e.g. x.int() or x.float()")


def _integral_kept(np_fn, name):
    """np_fn for floats; an integer tensor is already integral and stays integer (a copy),
    as in PyTorch (NumPy would return floats)."""
    def forward(x):
        kind = x.dtype.kind
        if kind in "iu":
            return x.copy()
        if kind == "b":
            _refuse_bool(x, name)
        return np_fn(x)
    forward.__name__ = f"_{name}"
    return forward


def _round(x, decimals):
    kind = x.dtype.kind
    if kind in "iub":
        _refuse_bool(x, "round")
        if decimals != 0:
            raise DTypeError(f"round: decimals={decimals} is not supported for integer tensors "
                             f"(dtype {x.dtype}), as in PyTorch; convert with x.float() first")
        return x.copy()
    # Half to even, as PyTorch; decimals scale by a power of ten (Python float: float32 stays
    # float32), dividing for negative decimals so that the scale itself is exact.
    if decimals == 0:
        return np.rint(x)
    if decimals > 0:
        scale = 10.0 ** decimals
        return np.rint(x * scale) / scale
    scale = 10.0 ** -decimals
    return np.rint(x / scale) * scale


def _frac(x):
    if x.dtype.kind in "iub":
        raise DTypeError(f"frac: not defined for {x.dtype} tensors (as in PyTorch); an integer "
                         "has no fractional part; convert with x.float() if you need zeros")
    return x - np.trunc(x)          # exact in floating point; inf gives nan, as in PyTorch


def _nan_to_num(x, nan, posinf, neginf):
    return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


def nan_to_num_vjp(ctx, g):
    """d nan_to_num = g where x is finite, 0 where a value was replaced (as PyTorch)."""
    return (g * isfinite(ctx.x),)


FLOOR = register(OpDef("floor", _integral_kept(np.floor, "floor"), zero_vjp, zero_jvp))
CEIL = register(OpDef("ceil", _integral_kept(np.ceil, "ceil"), zero_vjp, zero_jvp))
TRUNC = register(OpDef("trunc", _integral_kept(np.trunc, "trunc"), zero_vjp, zero_jvp))
ROUND = register(OpDef("round", _round, zero_vjp, zero_jvp))
# NOTE: a primitive rather than x - trunc(x): one node instead of two, and frac_ in place.
FRAC = register(OpDef("frac", _frac, frac_vjp, lambda ctx, t: t))
NAN_TO_NUM = register(OpDef("nan_to_num", _nan_to_num, nan_to_num_vjp,
                            lambda ctx, t: nan_to_num_vjp(ctx, t)[0], save=("x",)))


def _public(op, doc):
    return public_unary(op, __name__, doc, floating=False)   # integer input stays integer


floor = _public(FLOOR, """Elementwise largest integer <= x; integer input stays integer.

    The gradient is 0 (as in PyTorch); bool input raises.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([-1.5, 2.5], requires_grad=True)
        >>> tg.floor(x).sum().backward(); tg.floor(x), x.grad
        (tensor([-2.,  2.], grad_fn=<FloorBackward0>), tensor([0., 0.]))
    """)
ceil = _public(CEIL, """Elementwise smallest integer >= x; integer input stays integer.

    The gradient is 0 (as in PyTorch); bool input raises.

    Example:
        >>> import tapegrad as tg
        >>> tg.ceil(tg.tensor([-1.5, 2.5])), tg.ceil(tg.tensor([3]))
        (tensor([-1.,  3.]), tensor([3]))
    """)
trunc = fix = _public(TRUNC, """Elementwise rounding toward zero (also ``fix``).

    Integer input stays integer; the gradient is 0 (as in PyTorch); bool input raises.

    Example:
        >>> import tapegrad as tg
        >>> tg.trunc(tg.tensor([-1.5, 2.5]))
        tensor([-1.,  2.])
    """)
frac = _public(FRAC, """Elementwise fractional part x - trunc(x), with the sign of x.

    The gradient is 1 (as in PyTorch); integer and bool input raise, as in PyTorch.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([-1.25, 2.5], requires_grad=True)
        >>> tg.frac(x).sum().backward(); tg.frac(x), x.grad
        (tensor([-0.2500,  0.5000], grad_fn=<FracBackward0>), tensor([1., 1.]))
    """)


def _check_decimals(decimals, name):
    if isinstance(decimals, bool) or not isinstance(decimals, numbers.Integral):
        raise TypeError(f"{name}: decimals must be an int, got {type(decimals).__name__} "
                        f"{decimals!r}")
    return int(decimals)


def round(input, *, decimals=0):
    """Elementwise rounding to ``decimals`` decimal places, halves to even (as PyTorch).

    Args:
        input: the tensor; integer input stays integer (only with decimals=0).
        decimals: digits after the point to keep (negative: round to tens, hundreds, ...).

    Returns:
        The rounded tensor; the gradient is 0 (as in PyTorch).

    Example:
        >>> import tapegrad as tg
        >>> tg.round(tg.tensor([0.5, 1.5, 2.5])), tg.round(tg.tensor([1.2345, 15.0]), decimals=1)
        (tensor([0., 2., 2.]), tensor([ 1.2000, 15.0000]))
    """
    decimals = _check_decimals(decimals, "round")
    if type(input) is _ndarray:
        return _round(input, decimals)
    return apply_unary(ROUND, input, {"decimals": decimals})


def _check_fill(value, what, name):
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
        raise TypeError(f"{name}: {what} must be a float or None, got {type(value).__name__} "
                        f"{value!r}")
    return None if value is None else float(value)


def _fills(nan, posinf, neginf, name):
    return {"nan": _check_fill(nan, "nan", name), "posinf": _check_fill(posinf, "posinf", name),
            "neginf": _check_fill(neginf, "neginf", name)}


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """Replace nan, +inf and -inf elementwise by finite numbers.

    Args:
        input: the tensor (integer and bool tensors are returned as a copy).
        nan: the value for nan (default 0).
        posinf, neginf: the values for +inf and -inf (default: the dtype's largest and
            smallest finite values).

    Returns:
        The tensor; the gradient passes where the input was finite and is 0 where a value
        was replaced (as in PyTorch).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, float('nan'), float('inf')], requires_grad=True)
        >>> y = tg.nan_to_num(x, posinf=9.0); y.sum().backward(); y, x.grad
        (tensor([1., 0., 9.], grad_fn=<NanToNumBackward0>), tensor([1., 0., 0.]))
    """
    params = _fills(nan, posinf, neginf, "nan_to_num")
    if type(input) is _ndarray:
        return _nan_to_num(input, **params)
    return apply_unary(NAN_TO_NUM, input, params)


# ---- classification: bool results, never recorded ---------------------------------------------
def _classify(np_fn, name, doc):
    def fn(input):
        if isinstance(input, Tensor):
            if input._view is BATCHED:     # vmap: Note [Batched tensors]
                return batched_call("pointwise", (input,), {"fn": fn})
            return wrap(np.asarray(np_fn(input._data)))
        return np_fn(input)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _isreal(x):
    return np.isreal(x) if x.dtype.kind == "c" else np.ones(np.shape(x), dtype=bool)


signbit = _classify(np.signbit, "signbit", """Elementwise test of the sign bit (bool result).

    True for negative numbers and -0.0 (and a nan with its sign bit set). Not differentiable.

    Example:
        >>> import tapegrad as tg
        >>> tg.signbit(tg.tensor([-1.0, -0.0, 0.0, 2.0]))
        tensor([ True,  True, False, False])
    """)
isneginf = _classify(np.isneginf, "isneginf", """Elementwise test for -inf (bool result).

    Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.isneginf(tg.tensor([-float('inf'), float('inf'), 1.0]))
        tensor([ True, False, False])
    """)
isposinf = _classify(np.isposinf, "isposinf", """Elementwise test for +inf (bool result).

    Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.isposinf(tg.tensor([-float('inf'), float('inf'), 1.0]))
        tensor([False,  True, False])
    """)
isreal = _classify(_isreal, "isreal", """Elementwise test for a zero imaginary part (bool).

    Every element of a real (float, integer or bool) tensor is real. Not differentiable.

    Example:
        >>> import tapegrad as tg
        >>> tg.isreal(tg.tensor([1.0, float('nan')]))
        tensor([ True,  True])
    """)


# ---- Tensor methods ---------------------------------------------------------------------------
def _round_(self, *, decimals=0):
    """In-place :func:`round`; returns the tensor."""
    return apply_inplace(ROUND, (self,), {"decimals": _check_decimals(decimals, "round_")},
                         "round_")


def _nan_to_num_(self, nan=0.0, posinf=None, neginf=None):
    """In-place :func:`nan_to_num`; returns the tensor."""
    return apply_inplace(NAN_TO_NUM, (self,), _fills(nan, posinf, neginf, "nan_to_num_"),
                         "nan_to_num_")


METHODS = {
    "floor": floor, "floor_": in_place(FLOOR, "floor_"),
    "ceil": ceil, "ceil_": in_place(CEIL, "ceil_"),
    "trunc": trunc, "trunc_": in_place(TRUNC, "trunc_"),
    "fix": fix, "fix_": in_place(TRUNC, "fix_"),
    "frac": frac, "frac_": in_place(FRAC, "frac_"),
    "round": round, "round_": _round_,
    "nan_to_num": nan_to_num, "nan_to_num_": _nan_to_num_,
    "signbit": signbit, "isneginf": isneginf, "isposinf": isposinf, "isreal": isreal,
}
