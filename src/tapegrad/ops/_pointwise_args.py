"""Argument checks and PyTorch's dtype promotion for the binary_math family (binary_math.py
and ternary_math.py): which arguments may be Python numbers, which dtypes an op takes."""
import numpy as np

from .._core.errors import DTypeError, ShapeError
from .._core.tensor import Tensor
from . import indexing, shape
from .elementwise import _CATEGORY, _float_scalar_promotion
from .registry import apply_inplace, reraise_as_shape_error

_ndarray = np.ndarray
_NUMBER = (int, float, bool, np.integer, np.floating, np.bool_)


def data_of(v):
    return v._data if isinstance(v, Tensor) else v


def is_array(v):
    """A Tensor, or a plain array (what rules pass)."""
    return isinstance(v, (Tensor, _ndarray))


def kind(v):
    """dtype kind of an operand; a Python float counts as floating, other numbers as 'i'."""
    if isinstance(v, (Tensor, _ndarray)):
        return data_of(v).dtype.kind
    return "f" if isinstance(v, (float, np.floating)) else "i"


def require_tensor(name, arg, v):
    if not isinstance(v, (Tensor, _ndarray)):
        raise DTypeError(f"{name}: {arg} must be a Tensor, got {type(v).__name__} ({v!r}), as "
                         f"in PyTorch; wrap a number first: tapegrad.tensor({v!r}).")


def require_number(name, arg, v):
    if not isinstance(v, _NUMBER):
        raise DTypeError(f"{name}: {arg} must be a Tensor or a real Python number, got "
                         f"{type(v).__name__} ({v!r}).")


def cast(v, dtype):
    """A tensor or array converted to ``dtype`` (recorded); a number as it is."""
    return shape.cast(v, dtype) if isinstance(v, (Tensor, _ndarray)) else v


def to_float(name, x, y, integers="float32"):
    """(x, y) after PyTorch's promotion; where that gives an integer or bool dtype, the
    tensors become float32 (``integers="float32"``: atan2, xlogy, copysign) or an error is
    raised (``integers="error"``: hypot, logaddexp), as in PyTorch."""
    x, y = _float_scalar_promotion(x, y)
    if kind(x) in "fc" or kind(y) in "fc":
        return x, y
    if integers == "error":
        dts = " and ".join(str(data_of(v).dtype) for v in (x, y) if is_array(v))
        raise DTypeError(f"{name}: not implemented for integer or bool tensors (got {dts}), as "
                         "in PyTorch; convert first, e.g. x.float().")
    return cast(x, np.float32), cast(y, np.float32)


def _promote(a, b):
    """PyTorch's promote_types for two NumPy dtypes: the higher category (bool < integer <
    floating) wins outright (int64 with float32 is float32, where NumPy says float64)."""
    ca, cb = _CATEGORY.get(a.kind, 3), _CATEGORY.get(b.kind, 3)
    return a if ca > cb else b if cb > ca else np.promote_types(a, b)


def result_dtype(*tensors):
    """PyTorch's result dtype for tensors: dimensioned ones decide within a category; a 0-d
    tensor changes the result only when its category is higher."""
    dim = zero = None
    for t in tensors:
        d = data_of(t)
        if d.ndim:
            dim = d.dtype if dim is None else _promote(dim, d.dtype)
        else:
            zero = d.dtype if zero is None else _promote(zero, d.dtype)
    if dim is None or zero is None:
        return dim if zero is None else zero
    if _CATEGORY.get(zero.kind, 3) > _CATEGORY.get(dim.kind, 3):
        return _promote(dim, zero)
    return dim


def write_back(self, value, name):
    """``self[...] = value``, recorded, for in-place forms whose primitive does not take
    ``self`` first (apply_inplace writes into its first input); checks as apply_inplace."""
    if value.shape != self.shape:
        raise ShapeError(
            f"{name}: the result has shape {tuple(value.shape)} but the tensor written to has "
            f"shape {tuple(self.shape)}; an in-place op can't change its tensor's shape. Use "
            "the out-of-place form.")
    if not np.can_cast(value._data.dtype, self._data.dtype, "same_kind"):
        raise DTypeError(
            f"{name}: the result has dtype {value._data.dtype}, which can't be written into a "
            f"tensor of dtype {self._data.dtype} in place. Use the out-of-place form or "
            "convert first.")
    indexing.setitem(self, Ellipsis, value, name)
    return self


def inplace(op, args, params, name):
    """``apply_inplace`` for a method ``name``: operands that don't broadcast raise a
    ShapeError naming the method (NumPy's ValueError would escape the unrecorded path)."""
    try:
        return apply_inplace(op, args, params, name=name)
    except ValueError:
        reraise_as_shape_error(name, [data_of(a) for a in args])
