"""The one visible table that binds the ops onto Tensor: operators, methods, in-place forms."""

from .._core import dtypes
from .._core.device import device as Device   # to()'s parameter is named device
from .._core.errors import ArgumentError
from .._core.tensor import Tensor
from . import elementwise as ew
from . import creation, indexing, linalg, nn, reduction, shape
from . import (binary_math, diagonal, elementary, rearrange, rounding, scan, scatter, sort,
               special, statistics)
from .registry import apply_inplace, apply_unary

def _swap(fn):
    """Reflected operator: ``other <op> self``."""
    return lambda self, other: fn(other, self)

def _inplace(op, prepare=None):
    """In-place method ``x.op_(other)``: x <- op(x, other) (Note [Views and in-place ops])."""
    def method(self, *args, **params):
        if prepare is not None:
            args, params = prepare(self, *args, **params)
        return apply_inplace(op, (self,) + tuple(args), params)
    method.__name__ = op.name + "_"
    return method

def _scaled(self, other, alpha, name):
    """The arguments of ``x.add_(other, alpha=...)`` (or sub_): other scaled by alpha."""
    if alpha == 1:
        return (other,), {}
    return (ew.mul(other, ew.check_alpha(self, other, alpha, name)),), {}

def _alpha(name):
    def prepare(self, other, alpha=1):
        return _scaled(self, other, alpha, name)
    return prepare

def _sub_args(self, other, alpha=1):
    """``x.sub_(other, alpha=...)``: refuses bool operands as ``sub`` does."""
    ew.check_sub_operands(self, other, "sub_")
    return _scaled(self, other, alpha, "sub_")

def _clamp_params(self, min=None, max=None):
    if min is None and max is None:
        raise ArgumentError("clamp_: at least one of min and max must be given")
    return (), {"min": min, "max": max}

def _clamp_(self, min=None, max=None):
    """In-place clamp; tensor bounds go through the out-of-place form (they get gradients)."""
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _fill(self, ew.clamp(self, min, max), "clamp_")
    args, params = _clamp_params(self, min, max)
    return apply_inplace(ew.CLAMP, (self,) + args, params, "clamp_")


def _contiguous(self):
    """Self if its memory is C-contiguous, else a recorded copy that is (PyTorch's idiom
    before view())."""
    return self if self._data.flags.c_contiguous else apply_unary(shape.CLONE, self, {"order": "C"})


def _new(factory):
    """``x.new_zeros(size)`` and friends: a new tensor with x's dtype unless given."""
    def method(self, *args, dtype=None, device=None, requires_grad=False, **kwargs):
        return factory(*args, dtype=self.dtype if dtype is None else dtype,
                       requires_grad=requires_grad, **kwargs)
    method.__name__ = "new_" + factory.__name__
    method.__doc__ = f"Like tapegrad.{factory.__name__}, with this tensor's dtype by default."
    return method


def _to(self, *args, dtype=None, device=None, copy=False, **_):
    """``to(dtype)``, ``to(device)``, ``to(other_tensor)`` or ``to(device, dtype)``."""
    for a in list(args) + [device]:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, (str, Device)):
            Device(a)                       # refuses anything but the CPU, with a clear error
        elif a is not None:
            dtype = a
    out = self if dtype is None else shape.cast(self, dtype)
    return shape.clone(out) if copy and out is self else out

def _fill(self, value, name="fill_"):
    indexing.setitem(self, Ellipsis, value, name)
    return self

def _cast_to(dtype):
    def method(self):
        return shape.cast(self, dtype)
    method.__name__ = dtype.name
    method.__doc__ = (f"This tensor as {dtype!r} (itself if it already is); between floating "
                      "dtypes the gradient flows back.")
    return method

METHODS = {
    # arithmetic operators (Python scalars on either side)
    # NOTE: + and * commute exactly, so their reflected forms skip the swapping wrapper.
    "__add__": ew.add, "__radd__": ew.add,
    "__sub__": ew.sub, "__rsub__": _swap(ew.sub),
    "__mul__": ew.mul, "__rmul__": ew.mul,
    "__truediv__": ew.div, "__rtruediv__": _swap(ew.div),
    "__pow__": ew.pow, "__rpow__": _swap(ew.pow),
    "__floordiv__": ew.floor_divide, "__rfloordiv__": _swap(ew.floor_divide),
    "__mod__": ew.remainder, "__rmod__": _swap(ew.remainder),
    "__imod__": _inplace(ew.REMAINDER), "remainder_": _inplace(ew.REMAINDER),
    # floor division is not differentiable: written back like copy_ (gradient 0 to the old x)
    "__ifloordiv__": lambda self, other: _fill(self, ew.floor_divide(self, other),
                                               "floor_divide_"),
    "floor_divide_": lambda self, other: _fill(self, ew.floor_divide(self, other),
                                               "floor_divide_"),
    "__matmul__": linalg.matmul, "__rmatmul__": _swap(linalg.matmul),
    "__neg__": ew.neg, "__pos__": lambda self: self, "__abs__": ew.abs,
    "__getitem__": indexing.getitem, "__setitem__": indexing.setitem,
    # comparisons and logic (bool results, never recorded)
    # NOTE: t == None (or a string) is False, as in PyTorch, rather than an error.
    "__eq__": lambda self, other: False if other is None or isinstance(other, str)
    else ew.eq(self, other),
    "__ne__": lambda self, other: True if other is None or isinstance(other, str)
    else ew.ne(self, other),
    "__lt__": ew.lt, "__le__": ew.le,
    "__gt__": ew.gt, "__ge__": ew.ge,
    "__and__": ew.bitwise_and, "__rand__": _swap(ew.bitwise_and),
    "__or__": ew.bitwise_or, "__ror__": _swap(ew.bitwise_or),
    "__xor__": ew.bitwise_xor, "__rxor__": _swap(ew.bitwise_xor),
    "__invert__": ew.bitwise_not,
    # in-place operators and methods
    "__iadd__": _inplace(ew.ADD, _alpha("add_")), "add_": _inplace(ew.ADD, _alpha("add_")),
    "__isub__": _inplace(ew.SUB, _sub_args), "sub_": _inplace(ew.SUB, _sub_args),
    "__imul__": _inplace(ew.MUL), "mul_": _inplace(ew.MUL),
    "__itruediv__": _inplace(ew.DIV), "div_": _inplace(ew.DIV),
    "__ipow__": _inplace(ew.POW), "pow_": _inplace(ew.POW),
    "neg_": _inplace(ew.NEG), "exp_": _inplace(ew.EXP), "log_": _inplace(ew.LOG),
    "sqrt_": _inplace(ew.SQRT), "sin_": _inplace(ew.SIN), "cos_": _inplace(ew.COS),
    "tanh_": _inplace(ew.TANH), "sigmoid_": _inplace(ew.SIGMOID), "relu_": _inplace(ew.RELU),
    "abs_": _inplace(ew.ABS), "clamp_": lambda self, min=None, max=None: _clamp_(self, min, max),
    "zero_": lambda self: _fill(self, 0, "zero_"), "fill_": _fill,
    "copy_": lambda self, src, non_blocking=False: _fill(self, src, "copy_"),
    # elementwise
    "add": ew.add, "sub": ew.sub, "subtract": ew.sub, "mul": ew.mul, "multiply": ew.mul,
    "div": ew.div, "divide": ew.div, "true_divide": ew.div, "pow": ew.pow,
    "floor_divide": ew.floor_divide, "remainder": ew.remainder,
    "neg": ew.neg, "negative": ew.neg, "abs": ew.abs, "sign": ew.sign,
    "exp": ew.exp, "log": ew.log, "sqrt": ew.sqrt, "rsqrt": ew.rsqrt,
    "sin": ew.sin, "cos": ew.cos, "tan": ew.tan, "tanh": ew.tanh,
    "sigmoid": ew.sigmoid, "relu": ew.relu, "clamp": ew.clamp, "clip": ew.clamp,
    "maximum": ew.maximum, "minimum": ew.minimum,
    "where": lambda self, condition, other: ew.where(condition, self, other),
    "eq": ew.eq, "ne": ew.ne, "lt": ew.lt, "le": ew.le, "gt": ew.gt, "ge": ew.ge,
    "logical_and": ew.logical_and, "logical_or": ew.logical_or,
    "logical_xor": ew.logical_xor, "logical_not": ew.logical_not,
    "isnan": ew.isnan, "isinf": ew.isinf, "isfinite": ew.isfinite,
    # reductions
    "sum": reduction.sum, "mean": reduction.mean, "prod": reduction.prod,
    "amax": reduction.amax, "amin": reduction.amin, "max": reduction.max, "min": reduction.min,
    "argmax": reduction.argmax, "argmin": reduction.argmin,
    # shape
    "reshape": shape.reshape, "view": shape.view, "flatten": shape.flatten,
    "squeeze": shape.squeeze, "unsqueeze": shape.unsqueeze,
    "transpose": shape.transpose, "swapaxes": shape.swapaxes, "swapdims": shape.transpose,
    "permute": shape.permute, "t": shape.t, "expand": shape.expand,
    "expand_as": lambda self, other: shape.expand(self, tuple(other.shape)),
    "view_as": lambda self, other: shape.view(self, tuple(other.shape)),
    "reshape_as": lambda self, other: shape.reshape(self, tuple(other.shape)),
    "clone": shape.clone,
    "matmul": linalg.matmul, "mm": linalg.mm, "dot": linalg.dot,
    # dtype conversion
    "to": _to, "type_as": lambda self, other: shape.cast(self, other.dtype),
    "float": _cast_to(dtypes.float32), "double": _cast_to(dtypes.float64),
    "half": _cast_to(dtypes.float16), "long": _cast_to(dtypes.int64),
    "int": _cast_to(dtypes.int32), "bool": _cast_to(dtypes.bool),
    "cpu": lambda self: self,
    "contiguous": _contiguous,
    "is_contiguous": lambda self: bool(self._data.flags.c_contiguous),
    "new_zeros": _new(creation.zeros), "new_ones": _new(creation.ones),
    "new_empty": _new(creation.empty), "new_full": _new(creation.full),
    "new_tensor": _new(creation.tensor),
}

PROPERTIES = {
    "T": lambda self: shape.permute(self, tuple(range(self.ndim - 1, -1, -1))),
    "mT": shape.mT,
}

# The op families added after the foundation list their own methods beside their functions
# (each module's METHODS); they join this table here, so Tensor has one binding per name.
FAMILIES = (elementary, special, rounding, binary_math, statistics, scan, sort, rearrange,
            diagonal, scatter, linalg, nn)
for _family in FAMILIES:
    _clash = set(_family.METHODS) & set(METHODS)
    assert not _clash, f"{_family.__name__} rebinds Tensor methods {sorted(_clash)}"
    METHODS.update(_family.METHODS)

for _name, _fn in METHODS.items():
    setattr(Tensor, _name, _fn)
for _name, _fn in PROPERTIES.items():
    setattr(Tensor, _name, property(_fn))
