"""Ternary pointwise maths of the binary_math family: lerp, addcmul, addcdiv (exported
through binary_math, which lists them in its __all__ and METHODS)."""
import numpy as np

from .._core.errors import DTypeError, ShapeError
from .._core.tensor import Tensor
from . import shape
from ._pointwise_args import (cast, data_of, inplace, is_array, kind, require_number,
                              require_tensor, result_dtype, write_back)
from .registry import OpDef, apply, apply_binary, register, reraise_as_shape_error

__all__ = ["lerp", "addcmul", "addcdiv"]


def _lerp(x, y, weight):
    # PyTorch's two-sided form: exact at weight 0 and 1.
    if weight < 0.5:
        return x + weight * (y - x)
    return y - (y - x) * (1 - weight)


def lerp_vjp(ctx, g):
    """d lerp(x, y, w) = (1 - w) dx + w dy, for a number w."""
    w, need = ctx.weight, ctx.needs_input_grad
    return (g * (1 - w) if need[0] else None), (g * w if need[1] else None)


def lerp_jvp(ctx, tx, ty):
    return tx * (1 - ctx.weight) + ty * ctx.weight


# NOTE: the scalar weight is a parameter, so the rule saves nothing.
LERP = register(OpDef("lerp", _lerp, lerp_vjp, lerp_jvp, broadcasts=True))


def _addcmul(t1, t2, input, value):
    return input + value * t1 * t2


def addcmul_vjp(ctx, g):
    """d (input + v t1 t2) = v t2 dt1 + v t1 dt2 + dinput."""
    v, need = ctx.value, ctx.needs_input_grad
    return (g * v * ctx.y if need[0] else None), (g * v * ctx.x if need[1] else None), (
        g if need[2] else None)


def addcmul_jvp(ctx, t1, t2, t):
    need = ctx.needs_input_grad
    return ((t1 * ctx.y if need[0] else 0) + (ctx.x * t2 if need[1] else 0)) * ctx.value + t


def _addcdiv(t1, t2, input, value):
    with np.errstate(divide="ignore", invalid="ignore"):
        return input + value * t1 / t2


def addcdiv_vjp(ctx, g):
    """d (input + v t1 / t2) = v / t2 dt1 - v t1 / t2^2 dt2 + dinput."""
    v, need = ctx.value, ctx.needs_input_grad
    q = g * v / ctx.y
    return (q if need[0] else None), (-q * ctx.x / ctx.y if need[1] else None), (
        g if need[2] else None)


def addcdiv_jvp(ctx, t1, t2, t):
    need = ctx.needs_input_grad
    return ((t1 if need[0] else 0) - (ctx.x * t2 / ctx.y if need[1] else 0)) * (
        ctx.value / ctx.y) + t


# NOTE: primitives for speed (one node where the composite records three: optimizers call
# them per parameter per step). Their inputs are ordered (tensor1, tensor2, input) because
# a rule can keep only inputs 0 and 1; so the in-place forms write back (write_back).
ADDCMUL = register(OpDef("addcmul", _addcmul, addcmul_vjp, addcmul_jvp, save=("x", "y"),
                         broadcasts=True, save_for={"x": 1, "y": 0}))
ADDCDIV = register(OpDef("addcdiv", _addcdiv, addcdiv_vjp, addcdiv_jvp, save=("x", "y"),
                         broadcasts=True))


def _value(name, value, dtype):
    """addcmul/addcdiv's ``value`` as a number of the result's kind (PyTorch casts it)."""
    if isinstance(value, Tensor) and value._data.ndim == 0:
        if value.requires_grad:
            raise DTypeError(
                f"{name}: value is a tensor that requires grad, but value gets no gradient "
                "(PyTorch takes only a number here); pass value=v.item(), or write the "
                "expression out with v to differentiate in it.")
        value = value.item()
    require_number(name, "value", value)
    return float(value) if dtype.kind == "f" else int(value)


def _pointwise3(name, input, tensor1, tensor2):
    """The three tensors in their common dtype (PyTorch's promotion)."""
    for arg, v in (("input", input), ("tensor1", tensor1), ("tensor2", tensor2)):
        require_tensor(name, arg, v)
    dt = data_of(input).dtype
    if data_of(tensor1).dtype is dt and data_of(tensor2).dtype is dt and dt.kind != "b":
        return dt, input, tensor1, tensor2          # the common case: nothing to convert
    dt = result_dtype(input, tensor1, tensor2)
    if dt.kind == "b":
        raise DTypeError(f"{name}: not implemented for bool tensors, as in PyTorch; convert "
                         "first, e.g. x.int().")
    return dt, cast(input, dt), cast(tensor1, dt), cast(tensor2, dt)


def _apply3(op, name, args, value, shown):
    """apply(op, args); a broadcasting failure names ``name`` and the ``shown`` operands (the
    user's, in the user's order)."""
    try:
        return apply(op, args, {"value": value})
    except ShapeError:
        reraise_as_shape_error(name, [data_of(a) for a in shown])


def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2``, elementwise with broadcasting.

    Args:
        input, tensor1, tensor2: tensors; their dtypes promote as in PyTorch.
        value: a number (cast to the result's kind, as PyTorch does).

    Example:
        >>> import tapegrad as tg
        >>> a = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> tg.addcmul(tg.ones(2), a, a, value=0.5).sum().backward(); a.grad
        tensor([1., 2.])
    """
    dt, x, t1, t2 = _pointwise3("addcmul", input, tensor1, tensor2)
    return _apply3(ADDCMUL, "addcmul", (t1, t2, x), _value("addcmul", value, dt), (x, t1, t2))


def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2``, elementwise with broadcasting.

    Args:
        input, tensor1, tensor2: tensors; their dtypes promote as in PyTorch, but tensor1
            and tensor2 may not both be integer (PyTorch refuses integer division here).
        value: a number.

    Example:
        >>> import tapegrad as tg
        >>> b = tg.tensor([2.0, 4.0], requires_grad=True)
        >>> tg.addcdiv(tg.zeros(2), tg.ones(2), b, value=2).sum().backward(); b.grad
        tensor([-0.5000, -0.1250])
    """
    for arg, v in (("tensor1", tensor1), ("tensor2", tensor2)):
        require_tensor("addcdiv", arg, v)
    if kind(tensor1) in "biu" and kind(tensor2) in "biu":
        raise DTypeError(
            f"addcdiv: tensor1 and tensor2 are both integer or bool ({data_of(tensor1).dtype}, "
            f"{data_of(tensor2).dtype}); PyTorch no longer supports integer division here. "
            "Convert one to floating point, or write input + value * (t1 // t2).")
    dt, x, t1, t2 = _pointwise3("addcdiv", input, tensor1, tensor2)
    return _apply3(ADDCDIV, "addcdiv", (t1, t2, x), _value("addcdiv", value, dt), (x, t1, t2))


def _lerp_args(input, end, weight, name):
    """(input, end, weight) checked and, for a 0-d tensor weight, promoted to their common
    dtype (as PyTorch: all three 0-d, float32 and a float64 weight give float64)."""
    require_tensor(name, "input", input)
    require_tensor(name, "end", end)
    dt = data_of(input).dtype
    if dt.kind != "f":
        raise DTypeError(f"{name}: not implemented for dtype {dt}, as in PyTorch; lerp needs "
                         "floating tensors (convert with .float()).")
    if data_of(end).dtype != dt:
        raise DTypeError(f"{name}: end has dtype {data_of(end).dtype} but input has {dt}; "
                         "PyTorch requires them equal, so convert one with .to().")
    if is_array(weight):
        w = data_of(weight)
        if w.ndim == 0:           # a 0-d weight of any dtype; it may raise the result dtype
            common = result_dtype(input, end, weight)
            return cast(input, common), cast(end, common), shape.cast(weight, common)
        if w.dtype != dt:
            raise DTypeError(f"{name}: weight has dtype {w.dtype} but input has {dt}; PyTorch "
                             "requires them equal (or a 0-d weight), so convert with .to().")
        return input, end, weight
    require_number(name, "weight", weight)
    return input, end, float(weight)


def lerp(input, end, weight):
    """Linear interpolation ``input + weight * (end - input)``, with broadcasting.

    Args:
        input, end: floating tensors of one dtype.
        weight: a number, or a tensor of that dtype (or 0-d). All three get gradients:
            ``1 - weight``, ``weight`` and ``end - input``.

    Example:
        >>> import tapegrad as tg
        >>> w = tg.tensor([0.25, 1.0], requires_grad=True)
        >>> y = tg.lerp(tg.zeros(2), tg.tensor([4.0, 4.0]), w); y.sum().backward(); y, w.grad
        (tensor([1., 4.], grad_fn=<AddcmulBackward0>), tensor([4., 4.]))
    """
    input, end, weight = _lerp_args(input, end, weight, "lerp")
    if is_array(weight):
        # NOTE: input + w * (end - input) through addcmul: a primitive would have to keep
        # three inputs. Unlike PyTorch's two-sided form it may miss end by an ulp at w = 1.
        try:
            diff = end - input
        except ShapeError:
            reraise_as_shape_error("lerp", [data_of(input), data_of(end)])
        return _apply3(ADDCMUL, "lerp", (weight, diff, input), 1, (input, end, weight))
    return apply_binary(LERP, input, end, {"weight": weight})


def _lerp_(self, end, weight):
    _, _, w = _lerp_args(self, end, weight, "lerp_")
    if is_array(w):
        return write_back(self, lerp(self, end, weight), "lerp_")
    return inplace(LERP, (self, end), {"weight": w}, "lerp_")


def _addcmul_(self, tensor1, tensor2, *, value=1):
    return write_back(self, addcmul(self, tensor1, tensor2, value=value), "addcmul_")


def _addcdiv_(self, tensor1, tensor2, *, value=1):
    return write_back(self, addcdiv(self, tensor1, tensor2, value=value), "addcdiv_")


METHODS = {"lerp": lerp, "lerp_": _lerp_, "addcmul": addcmul, "addcmul_": _addcmul_,
           "addcdiv": addcdiv, "addcdiv_": _addcdiv_}
