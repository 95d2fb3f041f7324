"""Padding layers: zero, constant, reflection, replication and circular padding of the last
1, 2 or 3 dims, as PyTorch's ZeroPad2d, ConstantPad*, ReflectionPad*, ReplicationPad* and
CircularPad*.

``padding`` is an int (the same on every side) or a tuple of (left, right) amounts, last dim
first: (left, right) in 1-d, (left, right, top, bottom) in 2-d, (left, right, top, bottom,
front, back) in 3-d. Negative amounts crop.
"""
from .. import functional as F
from .linear import _is_int
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d"]


class _PadNd(Module):
    """The padding layers' shared constructor and forward; subclasses set ``_d`` (the
    number of padded dims) and ``_mode`` (F.pad's mode)."""
    _d = 0
    _mode = "constant"

    def __init__(self, padding):
        super().__init__()
        name = type(self).__name__
        if _is_int(padding):
            padding = (int(padding),) * (2 * self._d)
        elif not isinstance(padding, (tuple, list)) or not all(_is_int(p) for p in padding):
            raise TypeError(f"{name}: padding must be an int or a tuple of {2 * self._d} ints, "
                            f"got {padding!r}.")
        self.padding = tuple(padding)

    def forward(self, input):
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}"


_PAD_ARGS = """
    Args:
        padding: an int (every side) or a tuple of (before, after) amounts, last dim first.
"""


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


_CONSTANT_ARGS = """
    Args:
        padding: an int (every side) or a tuple of (before, after) amounts, last dim first.
        value: the fill value.
"""


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with a constant ``value``.

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.ConstantPad1d((1, 2), 3.5); m
        ConstantPad1d(padding=(1, 2), value=3.5)
        >>> m(tg.tensor([[1.0, 2.0]]))
        tensor([[3.5000, 1.0000, 2.0000, 3.5000, 3.5000]])
    """
    _d = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last 2 dims with a constant ``value``.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.ConstantPad2d(1, -1.0)(tg.zeros(1, 1, 1))
        tensor([[[-1., -1., -1.],
                 [-1.,  0., -1.],
                 [-1., -1., -1.]]])
    """
    _d = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last 3 dims with a constant ``value``.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.ConstantPad3d((1, 1, 0, 0, 2, 0), 0.0)(tg.ones(1, 2, 3, 4)).shape
        tapegrad.Size([1, 4, 3, 6])
    """
    _d = 3


class ZeroPad1d(ConstantPad1d):
    """Pad the last dim with zeros.

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.ZeroPad1d(1); m
        ZeroPad1d((1, 1))
        >>> m(tg.tensor([[1.0, 2.0]]))
        tensor([[0., 1., 2., 0.]])
    """

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last 2 dims with zeros.

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.ZeroPad2d((1, 0, 0, 1)); m
        ZeroPad2d((1, 0, 0, 1))
        >>> m(tg.ones(1, 1, 2))
        tensor([[[0., 1., 1.],
                 [0., 0., 0.]]])
    """

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pad the last 3 dims with zeros.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.ZeroPad3d(1)(tg.ones(2, 1, 2, 3)).shape
        tapegrad.Size([2, 3, 4, 5])
    """

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Pad the last dim of (N, C, W) or (C, W) by mirroring it about its edge (the edge not
    repeated); each amount smaller than the dim.

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.ReflectionPad1d((1, 2)); m
        ReflectionPad1d((1, 2))
        >>> m(tg.tensor([[1.0, 2.0, 3.0]]))
        tensor([[2., 1., 2., 3., 2., 1.]])
    """
    _d, _mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """Pad the last 2 dims of (N, C, H, W) or (C, H, W) by mirroring about the edges.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.ReflectionPad2d((1, 0, 1, 0))(tg.tensor([[[1.0, 2.0], [3.0, 4.0]]]))
        tensor([[[4., 3., 4.],
                 [2., 1., 2.],
                 [4., 3., 4.]]])
    """
    _d, _mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """Pad the last 3 dims of (N, C, D, H, W) or (C, D, H, W) by mirroring about the edges.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.ReflectionPad3d(1)(tg.ones(1, 1, 2, 2, 2)).shape
        tapegrad.Size([1, 1, 4, 4, 4])
    """
    _d, _mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """Pad the last dim of (N, C, W) or (C, W) by repeating its edge values.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.ReplicationPad1d((2, 1))(tg.tensor([[1.0, 2.0]]))
        tensor([[1., 1., 1., 2., 2.]])
    """
    _d, _mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """Pad the last 2 dims of (N, C, H, W) or (C, H, W) by repeating the edge values.

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.ReplicationPad2d(1); m
        ReplicationPad2d((1, 1, 1, 1))
        >>> m(tg.tensor([[[1.0, 2.0]]]))
        tensor([[[1., 1., 2., 2.],
                 [1., 1., 2., 2.],
                 [1., 1., 2., 2.]]])
    """
    _d, _mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """Pad the last 3 dims of (N, C, D, H, W) or (C, D, H, W) by repeating the edge values.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.ReplicationPad3d((0, 0, 0, 0, 1, 1))(tg.ones(1, 1, 1, 2, 2)).shape
        tapegrad.Size([1, 1, 3, 2, 2])
    """
    _d, _mode = 3, "replicate"


class _CircularPadNd(_PadNd):
    """Circular padding; PyTorch's layers check the input's rank before F.pad does."""
    _mode = "circular"

    def forward(self, input):
        if input.ndim not in (self._d + 1, self._d + 2):
            raise ValueError(f"{type(self).__name__}: expected {self._d + 1}D or "
                             f"{self._d + 2}D input (got {input.ndim}D input of shape "
                             f"{tuple(input.shape)}).")
        return F.pad(input, self.padding, "circular")


class CircularPad1d(_CircularPadNd):
    """Pad the last dim of (N, C, W) or (C, W) by wrapping around (at most once).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.CircularPad1d((1, 2)); m
        CircularPad1d((1, 2))
        >>> m(tg.tensor([[1.0, 2.0, 3.0]]))
        tensor([[3., 1., 2., 3., 1., 2.]])
    """
    _d = 1


class CircularPad2d(_CircularPadNd):
    """Pad the last 2 dims of (N, C, H, W) or (C, H, W) by wrapping around.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.CircularPad2d((1, 0, 0, 1))(tg.tensor([[[1.0, 2.0], [3.0, 4.0]]]))
        tensor([[[2., 1., 2.],
                 [4., 3., 4.],
                 [2., 1., 2.]]])
    """
    _d = 2


class CircularPad3d(_CircularPadNd):
    """Pad the last 3 dims of (N, C, D, H, W) or (C, D, H, W) by wrapping around.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.CircularPad3d(1)(tg.ones(1, 2, 2, 2)).shape
        tapegrad.Size([1, 4, 4, 4])
    """
    _d = 3


# The shared Args sections go in before each Example (written once above).
for _cls in (ConstantPad1d, ConstantPad2d, ConstantPad3d, ZeroPad1d, ZeroPad2d, ZeroPad3d,
             ReflectionPad1d, ReflectionPad2d, ReflectionPad3d, ReplicationPad1d,
             ReplicationPad2d, ReplicationPad3d, CircularPad1d, CircularPad2d, CircularPad3d):
    _args = _CONSTANT_ARGS if _cls.__name__.startswith("Constant") else _PAD_ARGS
    _cls.__doc__ = _cls.__doc__.replace("\n\n    Example:", "\n" + _args + "\n    Example:", 1)
del _cls, _args
