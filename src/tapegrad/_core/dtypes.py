"""tapegrad dtypes: thin named wrappers over NumPy dtypes, printed as ``tapegrad.float32``.

NOTE: this module defines names ``float``, ``int`` and ``bool`` (PyTorch's aliases), so it
reaches Python's own types through ``builtins``.
"""
import builtins

import numpy as np

from .errors import DTypeError


class dtype:
    """A tensor element type, such as ``tapegrad.float32``; compares equal to its NumPy dtype.

    The instances are ``float16``/``half``, ``float32``/``float``, ``float64``/``double``,
    ``int8``, ``int16``/``short``, ``int32``/``int``, ``int64``/``long``, ``uint8`` and
    ``bool``, with PyTorch's aliases. Attributes: ``name``, ``np`` (the NumPy dtype),
    ``is_floating_point`` and ``itemsize`` (bytes per element).

    Example:
        >>> import tapegrad as tg
        >>> tg.float32, tg.float32.is_floating_point, tg.float32 == np.float32
        (tapegrad.float32, True, True)
        >>> tg.long is tg.int64, tg.double.itemsize
        (True, 8)
    """
    __slots__ = ("name", "np", "is_floating_point", "itemsize")

    def __init__(self, name, np_dtype):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.itemsize = self.np.itemsize

    def __repr__(self):
        return f"tapegrad.{self.name}"

    def __eq__(self, other):
        if type(other) is dtype:
            return self.np == other.np
        try:
            return self.np == np.dtype(other)
        except TypeError:
            return NotImplemented

    def __hash__(self):
        return hash(self.np)


float16 = half = dtype("float16", np.float16)
float32 = float = dtype("float32", np.float32)
float64 = double = dtype("float64", np.float64)
int8 = dtype("int8", np.int8)
int16 = short = dtype("int16", np.int16)
int32 = int = dtype("int32", np.int32)
int64 = long = dtype("int64", np.int64)
uint8 = dtype("uint8", np.uint8)
bool = dtype("bool", np.bool_)

ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool)
_BY_NP = {d.np: d for d in ALL}
# Python types as dtypes, as PyTorch accepts them.
_BY_PY = {builtins.float: float64, builtins.int: int64, builtins.bool: bool}


def from_numpy_dtype(np_dtype):
    """The tapegrad dtype for a NumPy dtype (raises for dtypes tapegrad lacks)."""
    d = _BY_NP.get(np_dtype)
    if d is None:
        raise DTypeError(f"tapegrad has no dtype for NumPy's {np.dtype(np_dtype)}; "
                         f"supported: {', '.join(x.name for x in ALL)}")
    return d


def to_numpy_dtype(d):
    """A NumPy dtype from a tapegrad dtype, a NumPy dtype/type or a Python type; None stays None."""
    if d is None or type(d) is np.dtype:
        return d
    if type(d) is dtype:
        return d.np
    if d in _BY_PY:
        return _BY_PY[d].np
    try:
        return from_numpy_dtype(np.dtype(d)).np
    except TypeError:
        raise DTypeError(f"not a dtype: {d!r}; use e.g. tapegrad.float32") from None
