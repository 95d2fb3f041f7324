"""Pointwise primitives: unary maths, broadcasting binary arithmetic, where, clamp,
and the non-differentiable comparisons."""
import numpy as np

from .._core.batched import BATCHED
from .._core.cuts import op_cut
from .._core.errors import ArgumentError, DTypeError
from .._core.state import STATE
from .._core.tensor import Tensor, wrap
from . import creation
from .fused_backward import POW_BACKWARD, TANH_BACKWARD, _tanh_backward
from .registry import (OpDef, apply_binary, apply_unary, batched_call, register,
                       reraise_as_shape_error)

_ndarray = np.ndarray
_BOOL = np.dtype(bool)


def _elementwise(name, np_fn, deriv, save=("x",)):
    """Unary pointwise op: vjp = g * f'(x) and jvp = t * f'(x), from one derivative."""
    def vjp(ctx, g):
        d = deriv(ctx)
        if type(d) is _ndarray and d.dtype == _BOOL and type(g) is _ndarray:
            # NOTE: a bool mask (relu's) times g makes NumPy cast inside the product, about
            # 2.5x slower than converting the mask's bytes first and multiplying in place.
            m = d.view(np.uint8).astype(g.dtype)
            m *= g
            return (m,)
        return (g * d,)

    def jvp(ctx, t):
        return t * deriv(ctx)
    vjp.__name__, jvp.__name__ = f"{name}_vjp", f"{name}_jvp"  # readable tracebacks
    return register(OpDef(name, np_fn, vjp, jvp, save=save))


def _unary(op, doc, floating=False):
    forward = op.forward

    def fn(input):
        if type(input) is _ndarray:       # rules on plain arrays: straight to NumPy
            return forward(input)
        if floating and isinstance(input, Tensor) and input._data.dtype.kind in "biu":
            input = input.to(np.float32)   # NOTE: PyTorch gives float32 here, NumPy float64
        return apply_unary(op, input)
    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = doc
    return fn


# ---- unary maths -----------------------------------------------------------------------
EXP = _elementwise("exp", np.exp, lambda ctx: ctx.out, save=("out",))
LOG = _elementwise("log", np.log, lambda ctx: 1 / ctx.x)
SQRT = _elementwise("sqrt", np.sqrt, lambda ctx: 0.5 / ctx.out, save=("out",))
RSQRT = _elementwise("rsqrt", lambda x: 1 / np.sqrt(x),
                     lambda ctx: -0.5 * ctx.out * ctx.out * ctx.out, save=("out",))
SIN = _elementwise("sin", np.sin, lambda ctx: cos(ctx.x))
COS = _elementwise("cos", np.cos, lambda ctx: -sin(ctx.x))
TAN = _elementwise("tan", np.tan, lambda ctx: 1 + ctx.out * ctx.out, save=("out",))


def tanh_vjp(ctx, g):
    """d tanh = 1 - tanh^2 (uses out), as one op (Note [Fused backward rules])."""
    if type(g) is _ndarray:               # the fast path: straight to NumPy
        return (_tanh_backward(g, ctx.out),)
    return (apply_binary(TANH_BACKWARD, g, ctx.out),)


def tanh_jvp(ctx, t):
    return apply_binary(TANH_BACKWARD, t, ctx.out)


TANH = register(OpDef("tanh", np.tanh, tanh_vjp, tanh_jvp, save=("out",)))
SIGMOID = _elementwise("sigmoid", lambda x: 1 / (1 + np.exp(-x)),
                       lambda ctx: ctx.out * (1 - ctx.out), save=("out",))
# NOTE: relu and abs have derivative 0 at 0, as in PyTorch.
RELU = _elementwise("relu", lambda x: np.maximum(x, 0), lambda ctx: ctx.out > 0, save=("out",))
ABS = _elementwise("abs", np.abs, lambda ctx: sign(ctx.x))
SIGN = register(OpDef("sign", np.sign, lambda ctx, g: (g * 0,), lambda ctx, t: t * 0))


def _negative(x):
    try:
        return np.negative(x)
    except TypeError:
        if x.dtype.kind != "b":
            raise
        # NOTE: as PyTorch's, with its advice; NumPy's own TypeError names no alternative.
        raise DTypeError(
            "neg: negation, the `-` operator, on a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead.") from None


NEG = register(OpDef("neg", _negative, lambda ctx, g: (-g,), lambda ctx, t: -t))

exp = _unary(EXP, """Elementwise exponential e**x; integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 1.0], requires_grad=True)
        >>> tg.exp(x).sum().backward(); x.grad
        tensor([1.0000, 2.7183])
    """, floating=True)
log = _unary(LOG, """Elementwise natural logarithm; integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> tg.log(x).sum().backward(); x.grad
        tensor([1.0000, 0.5000])
    """, floating=True)
sqrt = _unary(SQRT, """Elementwise square root; integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 4.0], requires_grad=True)
        >>> tg.sqrt(x).sum().backward(); x.grad
        tensor([0.5000, 0.2500])
    """, floating=True)
rsqrt = _unary(RSQRT, """Elementwise 1 / sqrt(x); integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 4.0], requires_grad=True)
        >>> tg.rsqrt(x).sum().backward(); x.grad
        tensor([-0.5000, -0.0625])
    """, floating=True)
sin = _unary(SIN, """Elementwise sine (radians); integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 1.0], requires_grad=True)
        >>> tg.sin(x).sum().backward(); x.grad
        tensor([1.0000, 0.5403])
    """, floating=True)
cos = _unary(COS, """Elementwise cosine (radians); integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> tg.cos(x).sum().backward(); x.grad
        tensor([-0.8415, -0.9093])
    """, floating=True)
tan = _unary(TAN, """Elementwise tangent (radians); integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 1.0], requires_grad=True)
        >>> tg.tan(x).sum().backward(); x.grad
        tensor([1.0000, 3.4255])
    """, floating=True)
tanh = _unary(TANH, """Elementwise hyperbolic tangent; integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 1.0], requires_grad=True)
        >>> tg.tanh(x).sum().backward(); x.grad
        tensor([1.0000, 0.4200])
    """, floating=True)
sigmoid = _unary(SIGMOID, """Elementwise 1 / (1 + e**-x); integer input gives float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0], requires_grad=True); y = tg.sigmoid(x)
        >>> y.sum().backward(); y, x.grad
        (tensor([0.5000], grad_fn=<SigmoidBackward0>), tensor([0.2500]))
    """, floating=True)
relu = _unary(RELU, """Elementwise max(x, 0); its gradient at 0 is 0, as in PyTorch.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([-1.0, 0.0, 2.0], requires_grad=True)
        >>> tg.relu(x).sum().backward(); x.grad
        tensor([0., 0., 1.])
    """)
abs = _unary(ABS, """Elementwise absolute value; its gradient at 0 is 0, as in PyTorch.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([-1.0, 0.0, 2.0], requires_grad=True)
        >>> tg.abs(x).sum().backward(); x.grad
        tensor([-1.,  0.,  1.])
    """)
sign = _unary(SIGN, """Elementwise sign: -1, 0 or 1 in the input's dtype; its gradient is 0.

    Example:
        >>> import tapegrad as tg
        >>> tg.sign(tg.tensor([-3.0, 0.0, 2.0]))
        tensor([-1.,  0.,  1.])
    """)
neg = negative = _unary(NEG, """Elementwise -x (also ``negative`` and unary ``-``).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, -2.0], requires_grad=True)
        >>> tg.neg(x).sum().backward(); x.grad
        tensor([-1., -1.])
    """)


# ---- binary arithmetic (broadcasting) -----------------------------------------------------
def _kind(v):
    """dtype kind of an operand: 'f' for floats, 'i'/'u'/'b' for integers and bools."""
    if isinstance(v, Tensor):
        return v._data.dtype.kind
    if isinstance(v, (np.ndarray, np.generic)):
        return v.dtype.kind
    return "f" if isinstance(v, float) else "b" if isinstance(v, bool) else "i"


def _refuse_bools(name, x, y):
    """PyTorch implements pow, remainder, fmod and floor_divide for no pair of bools (a
    tensor and a Python bool included); NumPy would compute them in int8."""
    if _kind(x) == "b" and _kind(y) == "b":
        raise DTypeError(f"{name}: not implemented for two bool operands (got "
                         f"{_describe(x)} and {_describe(y)}), as in PyTorch; convert first, "
                         "e.g. x.int().")


def _describe(v):
    return f"dtype {v.dtype}" if isinstance(v, (Tensor, np.ndarray)) else repr(v)


def _float_scalar_promotion(x, y):
    """PyTorch promotes (integer tensor) op (Python float) to float32, NumPy to float64:
    convert the tensor side to float32 first so both agree with PyTorch. Two tensors of
    different dtypes go through _promote_tensors."""
    tx, ty = type(x), type(y)
    if tx is Tensor:                                 # NOTE: add Tensor subclasses here
        if ty is Tensor:
            if x._data.dtype is not y._data.dtype:
                return _promote_tensors(x, y)
            return x, y
        if ty is int or (ty is float and x._data.dtype.kind == "f"):
            return x, y                              # the common case: nothing to do
    elif ty is Tensor and (tx is int or (tx is float and y._data.dtype.kind == "f")):
        return x, y                                  # the same, reflected (2 * t)
    # NOTE: PyTorch treats NumPy scalars like Python numbers: they don't widen a tensor.
    if isinstance(y, _np_generic):
        y = y.item()
    if isinstance(x, _np_generic):
        x = x.item()
    if type(y) is float and isinstance(x, Tensor) and x._data.dtype.kind in "biu":
        x = x.to(np.float32)
    if type(x) is float and isinstance(y, Tensor) and y._data.dtype.kind in "biu":
        y = y.to(np.float32)
    return x, y


_np_generic = np.generic


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def _promote_tensors(x, y):
    """Two tensors of different dtypes, converted where PyTorch's promotion differs from
    NumPy's: an integer/bool tensor meeting a floating one takes the floating dtype (NumPy
    gives float64 for int64 with float32), and a 0-d tensor does not widen a dimensioned
    tensor of the same category (float32 tensor + float64 0-d tensor is float32)."""
    dx, dy = x._data.dtype, y._data.dtype
    cx, cy = _CATEGORY.get(dx.kind, -1), _CATEGORY.get(dy.kind, -1)
    if cx < cy:
        x = x.to(dy)
    elif cy < cx:
        y = y.to(dx)
    elif dx != dy and (x._data.ndim == 0) != (y._data.ndim == 0):
        if x._data.ndim == 0:
            x = x.to(dy)
        else:
            y = y.to(dx)
    return x, y


def add_vjp(ctx, g):
    """d(x+y) = g for both; broadcasting is undone by the engine."""
    return g, g


def sub_vjp(ctx, g):
    """d(x-y) = g, -g."""
    return g, (-g if ctx.needs_input_grad[1] else None)


def mul_vjp(ctx, g):
    """d(x*y) = g*y, g*x."""
    need = ctx.needs_input_grad
    return (g * ctx.y if need[0] else None), (g * ctx.x if need[1] else None)


def mul_jvp(ctx, tx, ty):
    """t(x*y) = tx*y + x*ty; an input without gradient has no tangent (and maybe no save)."""
    need = ctx.needs_input_grad
    # (one term alone when only one input has a tangent: adding 0 would record an op)
    if not need[1]:
        return tx * ctx.y
    return tx * ctx.y + ctx.x * ty if need[0] else ctx.x * ty


def _true_divide(x, y):
    out = np.true_divide(x, y)
    if out.dtype == np.float64 and _kind(x) != "f" and _kind(y) != "f":
        out = out.astype(np.float32)   # integer / integer is float32 in PyTorch
    return out


def div_vjp(ctx, g):
    """d(x/y): g/y for x, -g*out/y for y."""
    need = ctx.needs_input_grad
    gx = g / ctx.y if need[0] else None
    gy = -g * ctx.out / ctx.y if need[1] else None
    return gx, gy


def div_jvp(ctx, tx, ty):
    """t(x/y) = (tx - out*ty) / y."""
    need = ctx.needs_input_grad
    return ((tx if need[0] else 0) - (ctx.out * ty if need[1] else 0)) / ctx.y


def pow_vjp(ctx, g):
    """d(x**y) = g*y*x**(y-1) for x; g*out*log(x) for y (0 where x == 0 and y >= 0)."""
    x, y = ctx.x, ctx.y
    need = ctx.needs_input_grad
    gx = gy = None
    if need[0]:
        if isinstance(y, (int, float)):
            gx = apply_binary(POW_BACKWARD, g, x, {"exponent": y})   # Note [Fused backward rules]
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                gx = g * where(y == 0, 0.0, y * x ** (y - 1))
    if need[1]:
        with np.errstate(divide="ignore", invalid="ignore"):
            gy = g * where((x == 0) & (y >= 0), 0.0, ctx.out * log(x))
    return gx, gy


def pow_jvp(ctx, tx, ty):
    if isinstance(ctx.y, (int, float)):      # one op (Note [Fused backward rules])
        return apply_binary(POW_BACKWARD, tx, ctx.x, {"exponent": ctx.y})
    gx, gy = pow_vjp(ctx, 1.0)  # the vjp with g = 1 gives the partial derivatives
    return (tx * gx if gx is not None else 0) + (ty * gy if gy is not None else 0)


def _tie_split(ctx, g, first_wins, need=None):
    """Cotangents of max/min(x, y): g goes to the winner, split evenly at ties."""
    x, y = ctx.x, ctx.y
    need = ctx.needs_input_grad if need is None else need
    win = x > y if first_wins else x < y
    half = g * (x == y) * 0.5
    return (g * win + half if need[0] else None), (g * ~win - half if need[1] else None)


def _tie_split_jvp(first_wins):
    """Tangent of max/min(x, y): each input's tangent weighted by the vjp's split."""
    def jvp(ctx, tx, ty):
        tx = _tie_split(ctx, tx, first_wins, (True, False))[0]
        ty = _tie_split(ctx, ty, first_wins, (False, True))[1]
        return tx + ty
    return jvp


def maximum_vjp(ctx, g):
    """d max(x, y): g to the larger; ties split evenly, as in PyTorch."""
    return _tie_split(ctx, g, True)


def minimum_vjp(ctx, g):
    """d min(x, y): g to the smaller; ties split evenly, as in PyTorch."""
    return _tie_split(ctx, g, False)


def remainder_vjp(ctx, g):
    """d(x mod y) = g for x; -g * floor(x / y) for y (the floor is piecewise constant)."""
    need = ctx.needs_input_grad
    gy = -g * floor_divide(ctx.x, ctx.y) if need[1] else None
    return (g if need[0] else None), gy


def remainder_jvp(ctx, tx, ty):
    need = ctx.needs_input_grad
    return (tx if need[0] else 0) - (ty * floor_divide(ctx.x, ctx.y) if need[1] else 0)


ADD = register(OpDef("add", np.add, add_vjp, lambda ctx, tx, ty: tx + ty, broadcasts=True))
SUB = register(OpDef("sub", np.subtract, sub_vjp, lambda ctx, tx, ty: tx - ty,
                     broadcasts=True))
MUL = register(OpDef("mul", np.multiply, mul_vjp, mul_jvp, save=("x", "y"), broadcasts=True,
                     save_for={"x": 1, "y": 0}))
DIV = register(OpDef("div", _true_divide, div_vjp, div_jvp, save=("y", "out"),
                     broadcasts=True, save_for={"out": 1}))
# NOTE: out is kept only for the exponent's gradient, so x ** 2 followed by an in-place change
# of the result still differentiates (as in PyTorch).
POW = register(OpDef("pow", np.power, pow_vjp, pow_jvp, save=("x", "y", "out"),
                     broadcasts=True, save_for={"out": 1}))
def _integer_division(np_fn, name):
    """np_fn, refusing an integer division by zero as PyTorch does (NumPy returns 0)."""
    def forward(x, y):
        _refuse_bools(name, x, y)
        if _kind(x) in "biu" and _kind(y) in "biu" and not np.all(y):
            raise ArgumentError(f"{name}: integer division by zero")
        return np_fn(x, y)
    return forward


REMAINDER = register(OpDef("remainder", _integer_division(np.remainder, "remainder"),
                           remainder_vjp, remainder_jvp,
                           save=("x", "y"), broadcasts=True, save_for={"x": 1, "y": 1}))
MAXIMUM = register(OpDef("maximum", np.maximum, maximum_vjp, _tie_split_jvp(True),
                         save=("x", "y"), broadcasts=True))
MINIMUM = register(OpDef("minimum", np.minimum, minimum_vjp, _tie_split_jvp(False),
                         save=("x", "y"), broadcasts=True))


def _binary(op):
    def fn(input, other):
        x, y = _float_scalar_promotion(input, other)
        return apply_binary(op, x, y)
    fn.__name__ = fn.__qualname__ = op.name
    return fn


mul = multiply = _binary(MUL)
mul.__doc__ = """Elementwise ``input * other`` with broadcasting (also ``multiply`` and ``*``).

    Args:
        input, other: tensors or Python numbers. Types promote as in PyTorch: an integer
            tensor times a Python float is float32.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> tg.mul(x, 3).sum().backward(); x.grad, tg.mul(tg.tensor([1, 2]), 1.5)
        (tensor([3., 3.]), tensor([1.5000, 3.0000]))
    """
div = divide = true_divide = _binary(DIV)
div.__doc__ = """Elementwise true division ``input / other`` with broadcasting.

    Aliases: ``divide``, ``true_divide`` and ``/``. Integer / integer gives float32, as in
    PyTorch (NumPy would give float64); there is no ``rounding_mode``.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([3.0, 4.0], requires_grad=True)
        >>> y = tg.tensor([2.0, 2.0], requires_grad=True)
        >>> tg.div(x, y).sum().backward(); x.grad, y.grad
        (tensor([0.5000, 0.5000]), tensor([-0.7500, -1.0000]))
    """


def pow(input, exponent):
    x, y = _float_scalar_promotion(input, exponent)
    if type(y) is bool and _kind(x) == "b":
        # NOTE: PyTorch keeps a bool tensor ** a Python bool bool (NumPy's power gives int8)
        return apply_binary(POW, x, y).to(x._data.dtype)
    _refuse_bools("pow", x, y)
    return apply_binary(POW, x, y)


pow.__doc__ = """Elementwise ``input ** exponent`` with broadcasting (also ``**``).

    Either side may be a Python number. Two bool operands raise a DTypeError, as in PyTorch
    (except a bool tensor to a Python bool power, which stays bool). The gradient for the
    exponent is ``out * log(input)``, taken as 0 where ``input == 0`` and ``exponent >= 0``.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([-1.0, 2.0], requires_grad=True)
        >>> tg.pow(x, 3).sum().backward(); x.grad
        tensor([ 3., 12.])
    """
remainder = _binary(REMAINDER)
remainder.__doc__ = """Elementwise x mod y with the sign of y (Python's and PyTorch's ``%``).

    The gradient is 1 for x and -floor(x / y) for y.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([3.5, -2.5], requires_grad=True)
        >>> (x % 2).sum().backward(); x % 2, x.grad
        (tensor([1.5000, 1.5000], grad_fn=<RemainderBackward0>), tensor([1., 1.]))
    """
maximum = _binary(MAXIMUM)
maximum.__doc__ = """Elementwise maximum, broadcasting; at ties the gradient is split evenly.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> tg.maximum(x, tg.tensor(2.0)).sum().backward(); x.grad
        tensor([0.0000, 0.5000, 1.0000])
    """
minimum = _binary(MINIMUM)
minimum.__doc__ = """Elementwise minimum, broadcasting; at ties the gradient is split evenly.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> tg.minimum(x, tg.tensor(2.0)).sum().backward(); x.grad
        tensor([1.0000, 0.5000, 0.0000])
    """


def check_alpha(input, other, alpha, name):
    """``alpha``, refused when it is a float and both operands are integral: PyTorch would
    have to round it, and raises instead (so does tapegrad)."""
    if isinstance(alpha, (float, np.floating)) and _kind(input) in "biu" \
            and _kind(other) in "biu":
        raise DTypeError(f"{name}: for integral input tensors, alpha must not be a floating "
                         f"point number (got {alpha}); convert the tensors with .float() first.")
    return alpha


def add(input, other, *, alpha=1):
    """Elementwise ``input + alpha * other`` with broadcasting (also ``+``).

    Args:
        input, other: tensors or Python numbers; dtypes promote as in PyTorch (an integer
            tensor plus a Python float is float32).
        alpha: a number multiplying ``other``.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> tg.add(x, x, alpha=3).sum().backward(); x.grad, tg.add(tg.tensor([1, 2]), 1.5)
        (tensor([4., 4.]), tensor([2.5000, 3.5000]))
    """
    if alpha != 1:
        other = mul(other, check_alpha(input, other, alpha, "add"))
    x, y = _float_scalar_promotion(input, other)
    return apply_binary(ADD, x, y)


def sub(input, other, *, alpha=1):
    """Elementwise ``input - alpha * other`` with broadcasting (also ``subtract`` and ``-``).

    Args:
        input, other: tensors or Python numbers; dtypes promote as in PyTorch.
        alpha: a number multiplying ``other``.

    Example:
        >>> import tapegrad as tg
        >>> y = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> tg.sub(10.0, y, alpha=2).sum().backward(); y.grad
        tensor([-2., -2.])
    """
    tx, ty = type(input), type(other)
    if tx is bool or ty is bool or (tx is Tensor and input._data.dtype.kind == "b") \
            or (ty is Tensor and other._data.dtype.kind == "b"):    # inline: - is a hot path
        check_sub_operands(input, other, "sub")
    if alpha != 1:
        other = mul(other, check_alpha(input, other, alpha, "sub"))
    x, y = _float_scalar_promotion(input, other)
    return apply_binary(SUB, x, y)


subtract = sub


def check_sub_operands(x, y, name):
    """PyTorch's refusal (and advice) for a bool operand of ``-`` (NumPy computes it)."""
    tx, ty = type(x), type(y)
    if not (tx is bool or ty is bool or (tx is Tensor and x._data.dtype.kind == "b")
            or (ty is Tensor and y._data.dtype.kind == "b")):
        return                                  # the common case: two type checks
    if _kind(x) == "b" and _kind(y) == "b":
        raise DTypeError(f"{name}: subtraction, the `-` operator, with two bool tensors is not "
                         "supported. Use the `^` or `logical_xor()` operator instead.")
    if isinstance(x, Tensor) or isinstance(y, Tensor):
        raise DTypeError(
            f"{name}: subtraction, the `-` operator, with a bool tensor is not supported. If "
            "you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")


# ---- selection ------------------------------------------------------------------------------
def _where_forward(x, y, cond):
    return np.where(cond, x, y)


def where_vjp(ctx, g):
    """d where(c, x, y) = g where c for x, g where not c for y."""
    need = ctx.needs_input_grad
    gx = where(ctx.cond, g, 0.0) if need[0] else None
    gy = where(ctx.cond, 0.0, g) if need[1] else None
    return gx, gy


WHERE = register(OpDef("where", _where_forward, where_vjp,
                       lambda ctx, tx, ty: where(ctx.cond, tx, ty), broadcasts=True))


def where(condition, input, other):
    """Elements of ``input`` where ``condition`` is True, else of ``other`` (broadcasting).

    Args:
        condition: a bool tensor (compare first, e.g. ``x > 0``).
        input, other: tensors or Python numbers.

    Returns:
        The selection; each side gets the gradient only where it was selected.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, -2.0], requires_grad=True)
        >>> tg.where(x > 0, x, 0.0).sum().backward(); x.grad
        tensor([1., 0.])
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the condition is read below
        out = batched_call("where", (condition, input, other), {})
        if out is not None:
            return out
    # NOTE: a copy of a tensor condition: the rule reads it at backward time, after the
    # caller may have changed the mask in place.
    cond = condition._data.copy() if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise DTypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}; "
                         "compare first, e.g. tg.where(x > 0, ...)")
    if isinstance(condition, Tensor) and not isinstance(input, (Tensor, np.ndarray)) \
            and not isinstance(other, (Tensor, np.ndarray)):
        # Two Python scalars: as 0-d tensors, so the result is a tensor with PyTorch's dtype.
        input, other = (creation.tensor(v.item() if isinstance(v, _np_generic) else v)
                        for v in (input, other))
    x, y = _float_scalar_promotion(input, other)
    try:
        return apply_binary(WHERE, x, y, {"cond": cond})
    except ValueError:
        reraise_as_shape_error("where", [cond] + [a._data if isinstance(a, Tensor) else a
                                                  for a in (x, y)])


def clamp_vjp(ctx, g):
    """d clamp = g inside [min, max] (bounds included, as in PyTorch), 0 outside."""
    x, lo, hi = ctx.x, ctx.min, ctx.max
    if lo is None:
        return (g * (x <= hi),)
    if hi is None:
        return (g * (x >= lo),)
    return (g * ((x >= lo) & (x <= hi)),)


CLAMP = register(OpDef("clamp", lambda x, min, max: np.clip(x, min, max), clamp_vjp,
                       lambda ctx, t: clamp_vjp(ctx, t)[0], save=("x",)))


def _clamp_promotion(input, min, max):
    """input and tensor bounds converted to PyTorch's result dtype of all three at once
    (promoting pairwise, int64 with a float32 and a float64 0-d bound gave float32). With a
    number for the other bound, PyTorch takes a 0-d tensor bound as a number too."""
    from ._pointwise_args import result_dtype    # NOTE: lazy, _pointwise_args imports us
    bounds = [b.item() if isinstance(b, _np_generic) else b for b in (min, max)]
    as_number = any(b is not None and not isinstance(b, Tensor) for b in bounds)
    tensors, kinds = [input], ""
    for b in bounds:
        if isinstance(b, Tensor) and not (as_number and b._data.ndim == 0):
            tensors.append(b)
        elif b is not None:
            kinds += b._data.dtype.kind if isinstance(b, Tensor) else _kind(b)
    dtype = result_dtype(*tensors)
    if dtype.kind != "f" and "f" in kinds:
        dtype = np.dtype(np.float32)       # a float number makes integers PyTorch's float32
    elif dtype.kind == "b" and ("i" in kinds or "u" in kinds):
        dtype = np.dtype(np.int64)
    return [a.to(dtype) if isinstance(a, Tensor) and a._data.dtype != dtype else a
            for a in [input] + bounds]


def clamp(input, min=None, max=None):
    """Limit each element to [``min``, ``max``] (``clip`` is an alias).

    Args:
        input: the tensor.
        min, max: numbers or tensors (which broadcast, and get gradients too); at least one
            must be given.

    Returns:
        The clamped tensor; the gradient passes where ``min <= input <= max`` (bounds
        included, as in PyTorch) and is 0 elsewhere.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([-2.0, 0.5, 3.0], requires_grad=True); y = tg.clamp(x, min=-1, max=1)
        >>> y.sum().backward(); y, x.grad
        (tensor([-1.0000,  0.5000,  1.0000], grad_fn=<ClampBackward0>), tensor([0., 1., 0.]))
    """
    if min is None and max is None:
        raise ArgumentError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # NOTE: tensor bounds go through where() so the bounds get gradients too; at a tie
        # the input keeps it (bounds are inclusive), as in PyTorch.
        input, min, max = _clamp_promotion(input, min, max)
        out = input if min is None else where(input < min, min, input)
        return out if max is None else where(out > max, max, out)
    # NumPy scalar bounds are weak like Python numbers (np.log(1e-8) keeps float32 float32).
    min, max = (b.item() if isinstance(b, _np_generic) else b for b in (min, max))
    for bound in (min, max):
        input, _ = _float_scalar_promotion(input, bound)   # int tensor, float bound: float32
    return apply_unary(CLAMP, input, {"min": min, "max": max})


clip = clamp


# ---- comparisons and logic: not differentiable, never recorded ---------------------------------
def _nondiff(np_fn, name, doc):
    def fn(input, other=None):
        args = (input,) if other is None else (input, other)
        tensor_in = grad_in = False
        arrays = []
        for a in args:
            if isinstance(a, Tensor):
                if a._view is BATCHED:     # vmap: Note [Batched tensors]
                    return batched_call("pointwise", args, {"fn": fn})
                tensor_in = True
                grad_in = grad_in or a._requires_grad
                arrays.append(a._data)
            else:
                arrays.append(a)
        try:
            out = np_fn(*arrays)
        except ValueError:
            reraise_as_shape_error(name, arrays)
        if not tensor_in:
            return out
        result = wrap(out if type(out) is np.ndarray else np.asarray(out))
        if grad_in:          # a chain broken here, for explain() (Note [Cut events])
            op_cut(name, args, result, depth=2, exact=True)
        return result
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def floor_divide(input, other):
    """Elementwise floor(x / y), as Python's and PyTorch's ``//``; integer inputs stay integer.

    NOTE: not differentiable: the result never requires grad (PyTorch records a node whose
    backward raises; its derivative is 0 wherever it exists).

    Example:
        >>> import tapegrad as tg
        >>> tg.tensor([7, -7]) // 2, tg.tensor([3.5, -2.5]) // 2
        (tensor([ 3, -4]), tensor([ 1., -2.]))
    """
    x, y = _float_scalar_promotion(input, other)
    return _floor_divide(x, y)


eq = _nondiff(np.equal, "eq", """Elementwise ``input == other`` (bool).

    Broadcasts. Also ``==``. Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.eq(tg.tensor([1, 2]), 2), tg.tensor([1, 2]) == 1
        (tensor([False,  True]), tensor([ True, False]))
    """)
ne = _nondiff(np.not_equal, "ne", """Elementwise ``input != other`` (bool).

    Broadcasts. Also ``!=``. Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.ne(tg.tensor([1, 2]), 2)
        tensor([ True, False])
    """)
lt = less = _nondiff(np.less, "lt", """Elementwise ``input < other`` (bool).

    Broadcasts. Also ``less`` and ``<``. Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.lt(tg.tensor([1, 2]), tg.tensor([2, 2]))
        tensor([ True, False])
    """)
le = less_equal = _nondiff(np.less_equal, "le", """Elementwise ``input <= other`` (bool).

    Broadcasts. Also ``less_equal`` and ``<=``. Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.le(tg.tensor([1.0, 2.0]), 1.5)
        tensor([ True, False])
    """)
gt = greater = _nondiff(np.greater, "gt", """Elementwise ``input > other`` (bool).

    Broadcasts. Also ``greater`` and ``>``. Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.gt(tg.tensor([1, 2]), 1)
        tensor([False,  True])
    """)
ge = greater_equal = _nondiff(np.greater_equal, "ge", """Elementwise ``input >= other`` (bool).

    Broadcasts. Also ``greater_equal`` and ``>=``. Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.ge(tg.tensor([1, 2]), 2)
        tensor([False,  True])
    """)
logical_and = _nondiff(np.logical_and, "logical_and", """Elementwise logical and (bool result).

    Broadcasts; nonzero counts as True. Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.logical_and(tg.tensor([1, 1, 0]), tg.tensor([2, 0, 0]))
        tensor([ True, False, False])
    """)
logical_or = _nondiff(np.logical_or, "logical_or", """Elementwise logical or (bool result).

    Broadcasts; nonzero counts as True. Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.logical_or(tg.tensor([1, 0]), tg.tensor([0, 0]))
        tensor([ True, False])
    """)
logical_xor = _nondiff(np.logical_xor, "logical_xor", """Elementwise logical xor (bool result).

    Broadcasts; nonzero counts as True. Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.logical_xor(tg.tensor([True, False]), True)
        tensor([False,  True])
    """)
logical_not = _nondiff(np.logical_not, "logical_not", """Elementwise logical not (bool result).

    Nonzero counts as True. Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.logical_not(tg.tensor([0.0, 2.0]))
        tensor([ True, False])
    """)
bitwise_and = _nondiff(np.bitwise_and, "bitwise_and", """Elementwise ``&`` of bool/int tensors.

    Broadcasts. Also the ``&`` operator. Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.bitwise_and(tg.tensor([12]), 10), tg.tensor([True, False]) & True
        (tensor([8]), tensor([ True, False]))
    """)
bitwise_or = _nondiff(np.bitwise_or, "bitwise_or", """Elementwise ``|`` of bool/int tensors.

    Broadcasts. Also the ``|`` operator. Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.bitwise_or(tg.tensor([12]), 10)
        tensor([14])
    """)
bitwise_xor = _nondiff(np.bitwise_xor, "bitwise_xor", """Elementwise ``^`` of bool/int tensors.

    Broadcasts. Also the ``^`` operator. Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.bitwise_xor(tg.tensor([12]), 10)
        tensor([6])
    """)
bitwise_not = _nondiff(np.invert, "bitwise_not", """Elementwise ``~`` of a bool/int tensor.

    Also the ``~`` operator. Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.bitwise_not(tg.tensor([True, False])), ~tg.tensor([0, 5])
        (tensor([False,  True]), tensor([-1, -6]))
    """)
_floor_divide = _nondiff(_integer_division(np.floor_divide, "floor_divide"), "floor_divide",
                         "floor(x / y) on arrays or tensors.")
isnan = _nondiff(np.isnan, "isnan", """Elementwise test for nan (bool result).

    Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.isnan(tg.tensor([1.0, float('nan')]))
        tensor([False,  True])
    """)
isinf = _nondiff(np.isinf, "isinf", """Elementwise test for +-inf (bool).

    Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.isinf(tg.tensor([1.0, float('inf'), -float('inf')]))
        tensor([False,  True,  True])
    """)
isfinite = _nondiff(np.isfinite, "isfinite", """Elementwise test for finite values.

    Not differentiable (never recorded).

    Example:
        >>> import tapegrad as tg
        >>> tg.isfinite(tg.tensor([1.0, float('nan'), float('inf')]))
        tensor([ True, False, False])
    """)
