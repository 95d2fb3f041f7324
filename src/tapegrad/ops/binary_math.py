"""Binary and ternary pointwise maths: atan2, fmod, hypot, lerp, addcmul, addcdiv, logaddexp,
logaddexp2, xlogy, copysign, heaviside, float_power, and the closeness tests isclose,
allclose, equal.

Each differentiable op here is one primitive, except float_power (a cast to float64, then
pow) and lerp with a tensor weight (sub, then addcmul). Types follow PyTorch: which
arguments may be Python numbers, which dtypes an op accepts, what it promotes to.
"""
import numpy as np

from .._core.errors import ArgumentError, DTypeError, ShapeError
from .._core.state import STATE
from .._core.tensor import wrap
from . import shape, ternary_math
from ._pointwise_args import (data_of, inplace, is_array, kind, require_number,
                              require_tensor, to_float, write_back)
from .elementwise import (POW, _float_scalar_promotion, _integer_division, sigmoid, sign,
                          where)
from .elementwise import pow as _pow
from .registry import (OpDef, apply_binary, batched_call, register,
                       reraise_as_shape_error)
from .ternary_math import addcdiv, addcmul, lerp  # noqa: F401  (exported here)

__all__ = ["atan2", "arctan2", "fmod", "hypot", "logaddexp", "logaddexp2", "xlogy", "copysign",
           "heaviside", "float_power", "isclose", "allclose", "equal"] + ternary_math.__all__

_ndarray = np.ndarray
_LN2 = float(np.log(2.0))


def _binary(op, prepare, doc):
    """The public function and the in-place method of a broadcasting binary primitive;
    ``prepare(input, other)`` checks the arguments and promotes them."""
    forward = op.forward

    def fn(input, other):
        if type(input) is _ndarray and type(other) is _ndarray:
            return forward(input, other)     # rules on plain arrays: straight to NumPy
        x, y = prepare(input, other)
        return apply_binary(op, x, y)

    def method_(self, other):
        x, other = prepare(self, other)
        if x is not self and not np.can_cast(x._data.dtype, self._data.dtype, "same_kind"):
            raise DTypeError(      # the result's dtype, which PyTorch refuses to write back
                f"{op.name}_: the result has dtype {x._data.dtype}, which can't be written "
                f"into a tensor of dtype {self._data.dtype} in place. Use the out-of-place "
                "form or convert first.")
        return inplace(op, (self, other), {}, op.name + "_")
    fn.__name__ = fn.__qualname__ = op.name
    method_.__name__ = method_.__qualname__ = op.name + "_"
    fn.__doc__ = doc.lstrip()         # the usual docstring shape: summary at column 0
    return fn, method_


def _tensors(name, integers="float32"):
    """prepare() for ops of two tensors (PyTorch takes no Python number on either side)."""
    def prepare(input, other):
        require_tensor(name, "input", input)
        require_tensor(name, "other", other)
        return to_float(name, input, other, integers)
    return prepare


def _tensor_and_number(name, integers=None):
    """prepare() for ops of a tensor and a tensor or Python number (``other`` only)."""
    def prepare(input, other):
        require_tensor(name, "input", input)
        if not is_array(other):
            require_number(name, "other", other)
        if integers is None:
            return _float_scalar_promotion(input, other)
        return to_float(name, input, other, integers)
    return prepare


def _either_number(name):
    """prepare() for ops that take a Python number on either side, but not on both."""
    def prepare(input, other):
        for arg, v in (("input", input), ("other", other)):
            if not is_array(v):
                require_number(name, arg, v)
        if not is_array(input) and not is_array(other):
            raise DTypeError(f"{name}: at least one of input and other must be a Tensor, got "
                             f"{input!r} and {other!r}, as in PyTorch.")
        return to_float(name, input, other)
    return prepare


# ---- atan2 -----------------------------------------------------------------------------------
def _atan2_norm(ctx):
    """x^2 + y^2, with 1 where it is 0: there x = y = 0, so both partials come out 0, which
    is PyTorch's gradient of atan2 at the origin."""
    x, y = ctx.x, ctx.y
    r = x * x + y * y
    return where(r == 0, 1.0, r)


def atan2_vjp(ctx, g):
    """d atan2(x, y) = (y dx - x dy) / (x^2 + y^2)."""
    r = _atan2_norm(ctx)
    need = ctx.needs_input_grad
    return (g * ctx.y / r if need[0] else None), (-g * ctx.x / r if need[1] else None)


def atan2_jvp(ctx, tx, ty):
    return (tx * ctx.y - ty * ctx.x) / _atan2_norm(ctx)


# NOTE: a primitive: no composite of existing ones gets the quadrant right.
ATAN2 = register(OpDef("atan2", np.arctan2, atan2_vjp, atan2_jvp, save=("x", "y"),
                       broadcasts=True))
atan2, _atan2_ = _binary(ATAN2, _tensors("atan2"), """\
    Elementwise atan(input / other), in the quadrant of the point (other, input).

    Also ``arctan2``; radians in [-pi, pi]. Both arguments must be tensors (they broadcast);
    integer ones give float32. The gradient at ``input == other == 0`` is 0, as in PyTorch.

    Example:
        >>> import tapegrad as tg
        >>> y = tg.tensor([1.0, -1.0], requires_grad=True)
        >>> tg.atan2(y, tg.tensor([0.0, -1.0]))
        tensor([ 1.5708, -2.3562], grad_fn=<Atan2Backward0>)
    """)
arctan2 = atan2


# ---- fmod ------------------------------------------------------------------------------------
def _trunc_quotient(ctx):
    """trunc(x / y), as an array also when recording: it is piecewise constant."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.trunc(data_of(ctx.x) / data_of(ctx.y))


def fmod_vjp(ctx, g):
    """d fmod(x, y) = dx - trunc(x / y) dy."""
    need = ctx.needs_input_grad
    return (g if need[0] else None), (-g * _trunc_quotient(ctx) if need[1] else None)


def fmod_jvp(ctx, tx, ty):
    return (tx if ctx.needs_input_grad[0] else 0) - (
        ty * _trunc_quotient(ctx) if ctx.needs_input_grad[1] else 0)


def _check_not_bool(name, fn):
    def forward(x, y):
        if kind(x) == "b" and kind(y) == "b":
            raise DTypeError(f"{name}: not implemented for bool tensors, as in PyTorch; "
                             "convert first, e.g. x.int().")
        return fn(x, y)
    return forward


FMOD = register(OpDef("fmod", _check_not_bool("fmod", _integer_division(np.fmod, "fmod")),
                      fmod_vjp, fmod_jvp, save=("x", "y"), broadcasts=True,
                      save_for={"x": 1, "y": 1}))
fmod, _fmod_ = _binary(FMOD, _tensor_and_number("fmod"), """\
    Elementwise C fmod: the remainder of input / other, with the sign of ``input``.

    (``remainder`` takes the sign of ``other``.) ``other`` may be a Python number. Integer
    inputs stay integer (dividing by an integer 0 raises). The gradient is 1 for ``input``
    and ``-trunc(input / other)`` for ``other``.

    Example:
        >>> import tapegrad as tg
        >>> tg.fmod(tg.tensor([-3.5, 3.5]), 2), tg.fmod(tg.tensor([-7, 7]), 3)
        (tensor([-1.5000,  1.5000]), tensor([-1,  1]))
    """)


# ---- hypot, logaddexp, logaddexp2 -------------------------------------------------------------
def hypot_vjp(ctx, g):
    """d hypot(x, y) = (x dx + y dy) / out."""
    need = ctx.needs_input_grad
    return (g * ctx.x / ctx.out if need[0] else None), (g * ctx.y / ctx.out if need[1] else None)


def hypot_jvp(ctx, tx, ty):
    need = ctx.needs_input_grad
    return ((tx * ctx.x if need[0] else 0) + (ty * ctx.y if need[1] else 0)) / ctx.out


def _logaddexp_rule(scale):
    """The rules of log_b(b^x + b^y) (scale = ln b / ln e): its partials are
    sigmoid(scale (x - y)) and sigmoid(scale (y - x)), finite and exact at x = y = 1e4
    (e^(x - out) would carry out's rounding error)."""
    def partials(ctx):
        d = ctx.x - ctx.y if scale == 1 else (ctx.x - ctx.y) * scale
        need = ctx.needs_input_grad
        return (sigmoid(d) if need[0] else None), (sigmoid(-d) if need[1] else None)

    def vjp(ctx, g):
        px, py = partials(ctx)
        return (None if px is None else g * px), (None if py is None else g * py)

    def jvp(ctx, tx, ty):
        px, py = partials(ctx)
        return (0 if px is None else tx * px) + (0 if py is None else ty * py)
    return vjp, jvp


_SAVE_BOTH = {"x": 0, "y": 1}
# NOTE: primitives for stability: sqrt(x*x + y*y) and log(exp(x) + exp(y)) overflow at
# |x| ~ 1e19 and 90 in float32 (NumPy's hypot and logaddexp scale first).
HYPOT = register(OpDef("hypot", np.hypot, hypot_vjp, hypot_jvp, save=("x", "y", "out"),
                       broadcasts=True, save_for=_SAVE_BOTH))
LOGADDEXP = register(OpDef("logaddexp", np.logaddexp, *_logaddexp_rule(1), save=("x", "y"),
                           broadcasts=True))
LOGADDEXP2 = register(OpDef("logaddexp2", np.logaddexp2, *_logaddexp_rule(_LN2),
                            save=("x", "y"), broadcasts=True))
hypot, _hypot_ = _binary(HYPOT, _tensors("hypot", "error"), """\
    Elementwise sqrt(input**2 + other**2), without overflow for large values.

    Both arguments must be floating tensors (they broadcast). The gradient is
    ``input / out`` and ``other / out`` (nan at 0, 0, as in PyTorch).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([3.0, 1e30], requires_grad=True)
        >>> tg.hypot(x, tg.tensor([4.0, 1e30]))
        tensor([5.0000000e+00, 1.4142135e+30], grad_fn=<HypotBackward0>)
    """)
logaddexp, _ = _binary(LOGADDEXP, _tensors("logaddexp", "error"), """\
    Elementwise log(exp(input) + exp(other)), computed stably.

    Values and gradients stay finite for inputs like 1e4. Both arguments must be floating
    tensors (they broadcast).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 1e4], requires_grad=True)
        >>> tg.logaddexp(x, tg.tensor([0.0, 1e4])).sum().backward(); x.grad
        tensor([0.5000, 0.5000])
    """)
logaddexp2, _ = _binary(LOGADDEXP2, _tensors("logaddexp2", "error"), """\
    Elementwise log2(2**input + 2**other), computed stably.

    Values and gradients stay finite for inputs like 1e4. Both arguments must be floating
    tensors (they broadcast).

    Example:
        >>> import tapegrad as tg
        >>> tg.logaddexp2(tg.tensor([1.0, 1e4]), tg.tensor([3.0, 1e4]))
        tensor([    3.3219, 10001.0000])
    """)


# ---- xlogy and copysign --------------------------------------------------------------------
def _xlogy(x, y):
    if type(y) is not _ndarray:       # a number: in the tensor's dtype (np.log gives float64)
        y = np.asarray(y, dtype=np.result_type(x, y))
    elif type(x) is _ndarray and x.dtype is not y.dtype:
        # NOTE: the log in the result's dtype (float32 x, float16 y: not a float16 log)
        y = y.astype(np.result_type(x, y))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x * np.log(y)
    zero = x == 0
    if np.count_nonzero(zero):         # (count_nonzero: a quicker test than .any())
        out = np.where(zero & ~np.isnan(y), 0, out)
    return out


def _xlogy_partial(ctx, t):
    """t * d xlogy / dx = xlogy(t, y), except 0 where x == 0 and y <= 0: there xlogy is not
    differentiable and PyTorch takes the derivative along x = 0 (log(y) is its value where
    x == 0 < y)."""
    y = ctx.y
    return where((ctx.x == 0) & (y <= 0), 0.0, xlogy(t, y))


def xlogy_vjp(ctx, g):
    """d xlogy(x, y) = log(y) dx + x / y dy, with PyTorch's convention at x = 0, y <= 0."""
    need = ctx.needs_input_grad
    return (_xlogy_partial(ctx, g) if need[0] else None), (
        g * ctx.x / ctx.y if need[1] else None)


def xlogy_jvp(ctx, tx, ty):
    need = ctx.needs_input_grad
    return (_xlogy_partial(ctx, tx) if need[0] else 0) + (
        ty * ctx.x / ctx.y if need[1] else 0)


# NOTE: a primitive: x * log(y) is nan at x = 0, y = 0 where xlogy is 0.
XLOGY = register(OpDef("xlogy", _xlogy, xlogy_vjp, xlogy_jvp, save=("x", "y"),
                       broadcasts=True))
xlogy, _xlogy_ = _binary(XLOGY, _either_number("xlogy"), """\
    Elementwise input * log(other), taken as 0 where input == 0 (unless other is nan).

    Either side may be a Python number; integer tensors give float32. Gradients follow
    PyTorch: ``log(other)`` for ``input`` (0 where ``input == 0`` and ``other <= 0``, where
    xlogy is not differentiable), ``input / other`` for ``other``.

    Example:
        >>> import tapegrad as tg
        >>> tg.xlogy(tg.tensor([0.0, 0.0, 2.0]), tg.tensor([0.0, float('nan'), 1.0]))
        tensor([0.0000,    nan, 0.0000])
    """)


def copysign_vjp(ctx, g):
    """d copysign(x, y) = sign(x) sign(out) dx (0 at x == 0), and 0 for y, as in PyTorch."""
    need = ctx.needs_input_grad
    return (g * (sign(ctx.x) * sign(ctx.out)) if need[0] else None), (g * 0 if need[1] else None)


def copysign_jvp(ctx, tx, ty):
    # x and out are kept only when input 0 needs grad; otherwise the tangent is 0
    return tx * (sign(ctx.x) * sign(ctx.out)) if ctx.needs_input_grad[0] else ty * 0


COPYSIGN = register(OpDef("copysign", np.copysign, copysign_vjp, copysign_jvp,
                          save=("x", "out"), broadcasts=True, save_for={"x": 0, "out": 0}))
copysign, _copysign_ = _binary(COPYSIGN, _tensor_and_number("copysign", "float32"), """\
    Elementwise: the magnitude of ``input`` with the sign of ``other``.

    ``other`` may be a Python number. Integer tensors give float32. The gradient is +-1 for
    ``input`` (0 where it is 0) and 0 for ``other``, as in PyTorch.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, -2.0], requires_grad=True)
        >>> tg.copysign(x, -1).sum().backward(); x.grad
        tensor([-1.,  1.])
    """)


# ---- float_power, heaviside -----------------------------------------------------------------
def _float64(name, arg, v):
    if is_array(v):
        return shape.cast(v, np.float64)
    require_number(name, arg, v)
    return float(v)


def float_power(input, exponent):
    """Elementwise ``input ** exponent`` computed in float64, whatever the inputs' dtypes.

    Either side may be a Python number, not both. The gradient flows back to each tensor in
    its own dtype.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([2.0, 3.0], requires_grad=True); y = tg.float_power(x, 2)
        >>> y.sum().backward(); y.dtype, x.grad
        (tapegrad.float64, tensor([4., 6.]))
    """
    if not is_array(input) and not is_array(exponent):
        raise DTypeError(f"float_power: at least one of input and exponent must be a Tensor, "
                         f"got {input!r} and {exponent!r}, as in PyTorch.")
    x, y = _float64("float_power", "input", input), _float64("float_power", "exponent", exponent)
    try:
        return _pow(x, y)
    except ShapeError:
        reraise_as_shape_error("float_power", (data_of(x), data_of(y)))


def _float_power_(self, exponent):
    if self._data.dtype != np.float64:
        raise DTypeError(f"float_power_: the base has dtype {self._data.dtype}, but the result "
                         "is float64, which can't be written back into it; use "
                         "float_power(x, e) (or convert with x.double() first).")
    return inplace(POW, (self, _float64("float_power_", "exponent", exponent)), {},
                   "float_power_")


def heaviside(input, values):
    """Heaviside step: 0 where ``input < 0``, ``values`` where it is 0, 1 where it is > 0.

    Both arguments must be tensors of one dtype (they broadcast); nan gives 0, as in
    PyTorch. Not differentiable: the result never requires grad (PyTorch raises when a
    gradient reaches it).

    Example:
        >>> import tapegrad as tg
        >>> tg.heaviside(tg.tensor([-1.5, 0.0, 2.0]), tg.tensor(0.5))
        tensor([0.0000, 0.5000, 1.0000])
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call("heaviside", (input, values), {})
        if out is not None:
            return out
    require_tensor("heaviside", "input", input)
    require_tensor("heaviside", "values", values)
    x, v = data_of(input), data_of(values)
    if x.dtype != v.dtype:
        raise DTypeError(f"heaviside: input has dtype {x.dtype} but values has {v.dtype}; "
                         "PyTorch requires one dtype, so convert one with .to().")
    try:
        out = np.where(x == 0, v, x > 0).astype(x.dtype, copy=False)
    except ValueError:
        reraise_as_shape_error("heaviside", (x, v))
    return out if type(input) is _ndarray else wrap(out)


# ---- closeness: not differentiable, never recorded --------------------------------------------
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise ``|input - other| <= atol + rtol * |other|`` (a bool tensor).

    Args:
        input, other: tensors of one dtype (as PyTorch requires); they broadcast.
        rtol, atol: non-negative tolerances.
        equal_nan: whether two nans count as close.

    Example:
        >>> import tapegrad as tg
        >>> nan = float('nan')
        >>> tg.isclose(tg.tensor([1.0, 1.1, nan]), tg.tensor([1.0 + 1e-6, 1.0, nan]))
        tensor([ True, False, False])
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call("isclose", (input, other),
                           {"rtol": rtol, "atol": atol, "equal_nan": equal_nan})
        if out is not None:
            return out
    out = _isclose("isclose", input, other, rtol, atol, equal_nan)
    return out if type(input) is _ndarray else wrap(out)


def _isclose(name, input, other, rtol, atol, equal_nan):
    require_tensor(name, "input", input)
    require_tensor(name, "other", other)
    x, y = data_of(input), data_of(other)
    if x.dtype != y.dtype:
        raise DTypeError(f"{name}: input has dtype {x.dtype} but other has {y.dtype}; PyTorch "
                         "requires one dtype, so convert one with .to().")
    for arg, v in (("rtol", rtol), ("atol", atol)):
        require_number(name, arg, v)
        if not v >= 0:
            raise ArgumentError(f"{name}: {arg} must be greater than or equal to zero, got {v}.")
    if not isinstance(equal_nan, (bool, np.bool_)):
        raise DTypeError(f"{name}: equal_nan must be a bool, got {type(equal_nan).__name__}.")
    if x.dtype == np.bool_:          # NumPy can't subtract bools; PyTorch compares them as 0/1
        x, y = x.astype(np.int8), y.astype(np.int8)
    try:
        return np.asarray(np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan))
    except ValueError:
        reraise_as_shape_error(name, (x, y))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every element of ``input`` is close to ``other`` (see isclose): a Python bool.

    Example:
        >>> import tapegrad as tg
        >>> tg.allclose(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 2.0 + 1e-6]))
        True
    """
    return bool(np.all(_isclose("allclose", input, other, rtol, atol, equal_nan)))


def equal(input, other):
    """True if the two tensors have the same shape and the same values (a Python bool).

    Dtypes may differ (values are compared); nan is never equal to itself.

    Example:
        >>> import tapegrad as tg
        >>> tg.equal(tg.tensor([1, 2]), tg.tensor([1.0, 2.0])), tg.equal(tg.ones(2), tg.ones(1))
        (True, False)
    """
    require_tensor("equal", "input", input)
    require_tensor("equal", "other", other)
    x, y = data_of(input), data_of(other)
    return x.shape == y.shape and bool(np.array_equal(x, y))


def _heaviside_(self, values):
    return write_back(self, heaviside(self, values), "heaviside_")


METHODS = {
    "atan2": atan2, "arctan2": atan2, "atan2_": _atan2_, "arctan2_": _atan2_,
    "fmod": fmod, "fmod_": _fmod_, "hypot": hypot, "hypot_": _hypot_,
    "logaddexp": logaddexp, "logaddexp2": logaddexp2,
    "xlogy": xlogy, "xlogy_": _xlogy_, "copysign": copysign, "copysign_": _copysign_,
    "float_power": float_power, "float_power_": _float_power_,
    "heaviside": heaviside, "heaviside_": _heaviside_,
    "isclose": isclose, "allclose": allclose, "equal": equal,
    **ternary_math.METHODS,
}
