"""Pooling layers: max, max-unpool, average, adaptive average/max and power-average (LP)
pooling in 1, 2 and 3 spatial dims, storing their arguments as PyTorch's do (so their reprs
match) and calling tapegrad.nn.functional, which checks them."""
from .. import functional as F
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
           "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
           "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
           "LPPool1d", "LPPool2d", "LPPool3d"]


def _repeat(value, d):
    """An int as d copies of it; a sequence as a tuple (the functional checks its length)."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * d


# ---- max pooling and its inverse --------------------------------------------------------------
class _MaxPoolNd(Module):
    _fn = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return self._fn(input, self.kernel_size, self.stride, self.padding, self.dilation,
                        ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


_MAX_ARGS = """
    Args:
        kernel_size: the window size: an int or one per spatial dim.
        stride: the window step (default: kernel_size).
        padding: implicit -inf padding on both sides, at most half the kernel (default 0).
        dilation: spacing between a window's elements (default 1).
        return_indices: also return the argmax of each window, flat in its plane (for
            MaxUnpool).
        ceil_mode: round the output size up, keeping windows that start inside the input.
"""


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling over (N, C, L) or (C, L).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.MaxPool1d(2); m
        MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
        >>> m(tg.tensor([[1.0, 3.0, 2.0, 5.0, 4.0]]))
        tensor([[3., 5.]])
    """
    _fn = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling over (N, C, H, W) or (C, H, W).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.MaxPool2d(3, stride=2, padding=1)
        >>> m(tg.ones(1, 2, 8, 8)).shape
        tapegrad.Size([1, 2, 4, 4])
    """
    _fn = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling over (N, C, D, H, W) or (C, D, H, W).

    Example:
        >>> import tapegrad as tg
        >>> y, i = tg.nn.MaxPool3d(2, return_indices=True)(tg.ones(1, 2, 4, 4, 4))
        >>> y.shape, i.dtype
        (tapegrad.Size([1, 2, 2, 2, 2]), tapegrad.int64)
    """
    _fn = staticmethod(F.max_pool3d)


class _MaxUnpoolNd(Module):
    _d = 0
    _fn = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _repeat(kernel_size, self._d)
        self.stride = _repeat(stride if stride is not None else kernel_size, self._d)
        self.padding = _repeat(padding, self._d)

    def forward(self, input, indices, output_size=None):
        return self._fn(input, indices, self.kernel_size, self.stride, self.padding,
                        output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


_UNPOOL_ARGS = """
    Args:
        kernel_size: the pooling's window size: an int or one per spatial dim.
        stride: the pooling's step (default: kernel_size).
        padding: the pooling's padding (default 0).

    ``forward(input, indices, output_size=None)``: the pooled values, the indices the
    pooling returned, and optionally the size to restore (when the pooling rounded down).
"""


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of MaxPool1d: zeros, with each pooled value put back at its index.

    Example:
        >>> import tapegrad as tg
        >>> y, i = tg.nn.MaxPool1d(2, return_indices=True)(tg.tensor([[1.0, 3.0, 2.0, 5.0]]))
        >>> tg.nn.MaxUnpool1d(2)(y, i)
        tensor([[0., 3., 0., 5.]])
    """
    _d = 1
    _fn = staticmethod(F.max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of MaxPool2d: zeros, with each pooled value put back at its index.

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.MaxUnpool2d(2); m
        MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))
        >>> y, i = tg.nn.MaxPool2d(2, return_indices=True)(tg.ones(1, 1, 5, 5))
        >>> m(y, i).shape, m(y, i, output_size=(5, 5)).shape
        (tapegrad.Size([1, 1, 4, 4]), tapegrad.Size([1, 1, 5, 5]))
    """
    _d = 2
    _fn = staticmethod(F.max_unpool2d)


class MaxUnpool3d(_MaxUnpoolNd):
    """Partial inverse of MaxPool3d: zeros, with each pooled value put back at its index.

    Example:
        >>> import tapegrad as tg
        >>> y, i = tg.nn.MaxPool3d(2, return_indices=True)(tg.ones(2, 4, 4, 4))
        >>> tg.nn.MaxUnpool3d(2)(y, i).shape
        tapegrad.Size([2, 4, 4, 4])
    """
    _d = 3
    _fn = staticmethod(F.max_unpool3d)


# ---- average pooling --------------------------------------------------------------------------
class _AvgPoolNd(Module):
    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """1-D average pooling over (N, C, L) or (C, L).

    Args:
        kernel_size: the window size: an int or a 1-tuple.
        stride: the window step (default: kernel_size).
        padding: implicit zero padding on both sides, at most half the kernel (default 0).
        ceil_mode: round the output size up, keeping windows that start inside the input.
        count_include_pad: count the padding zeros in each window's divisor (default True).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.AvgPool1d(2); m
        AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))
        >>> m(tg.tensor([[1.0, 3.0, 2.0, 6.0]]))
        tensor([[2., 4.]])
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size = _repeat(kernel_size, 1)
        self.stride = _repeat(stride if stride is not None else kernel_size, 1)
        self.padding = _repeat(padding, 1)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class _AvgPool(_AvgPoolNd):
    """AvgPool2d/3d: arguments kept as given (PyTorch's 1-d layer alone makes tuples)."""
    _fn = None

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return self._fn(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                        self.count_include_pad, self.divisor_override)


_AVG_ARGS = """
    Args:
        kernel_size: the window size: an int or one per spatial dim.
        stride: the window step (default: kernel_size).
        padding: implicit zero padding on both sides, at most half the kernel (default 0).
        ceil_mode: round the output size up, keeping windows that start inside the input.
        count_include_pad: count the padding zeros in each window's divisor (default True).
        divisor_override: divide every window's sum by this instead (default None).
"""


class AvgPool2d(_AvgPool):
    """2-D average pooling over (N, C, H, W) or (C, H, W).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.AvgPool2d(2, divisor_override=1); m
        AvgPool2d(kernel_size=2, stride=2, padding=0)
        >>> m(tg.ones(1, 1, 4, 4))
        tensor([[[[4., 4.],
                  [4., 4.]]]])
    """
    _fn = staticmethod(F.avg_pool2d)


class AvgPool3d(_AvgPool):
    """3-D average pooling over (N, C, D, H, W) or (C, D, H, W).

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.AvgPool3d((1, 2, 2))(tg.ones(1, 2, 3, 4, 4)).shape
        tapegrad.Size([1, 2, 3, 2, 2])
    """
    _fn = staticmethod(F.avg_pool3d)


# ---- adaptive pooling -------------------------------------------------------------------------
class _AdaptiveAvgPoolNd(Module):
    _fn = None

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return self._fn(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


_ADAPTIVE_ARGS = """
    Args:
        output_size: the output's spatial size: an int or one per spatial dim, None
            keeping that dim's input size. Output o of a dim averages (or takes the max
            of) inputs floor(o * L / n) to ceil((o + 1) * L / n) - 1.
"""


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """1-D adaptive average pooling: (N, C, L) or (C, L) to the given length.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.AdaptiveAvgPool1d(2)(tg.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]]))
        tensor([[2., 4.]])
    """
    _fn = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """2-D adaptive average pooling: (N, C, H, W) or (C, H, W) to the given size.

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.AdaptiveAvgPool2d((None, 1)); m
        AdaptiveAvgPool2d(output_size=(None, 1))
        >>> m(tg.ones(2, 3, 5, 7)).shape
        tapegrad.Size([2, 3, 5, 1])
    """
    _fn = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """3-D adaptive average pooling: (N, C, D, H, W) or (C, D, H, W) to the given size.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.AdaptiveAvgPool3d(1)(tg.ones(2, 3, 4, 5, 6)).shape
        tapegrad.Size([2, 3, 1, 1, 1])
    """
    _fn = staticmethod(F.adaptive_avg_pool3d)


class _AdaptiveMaxPoolNd(Module):
    _fn = None

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input):
        return self._fn(input, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """1-D adaptive max pooling: (N, C, L) or (C, L) to the given length;
    ``return_indices=True`` also returns each window's argmax.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.AdaptiveMaxPool1d(2, return_indices=True)(tg.tensor([[1.0, 3.0, 2.0, 0.0]]))
        (tensor([[3., 2.]]), tensor([[1, 2]]))
    """
    _fn = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """2-D adaptive max pooling: (N, C, H, W) or (C, H, W) to the given size;
    ``return_indices=True`` also returns each window's argmax (flat in its plane).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.AdaptiveMaxPool2d((2, 3)); m
        AdaptiveMaxPool2d(output_size=(2, 3))
        >>> m(tg.ones(1, 4, 5, 7)).shape
        tapegrad.Size([1, 4, 2, 3])
    """
    _fn = staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """3-D adaptive max pooling: (N, C, D, H, W) or (C, D, H, W) to the given size;
    ``return_indices=True`` also returns each window's argmax (flat in its volume).

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.AdaptiveMaxPool3d((1, 2, 2))(tg.ones(3, 2, 4, 4)).shape
        tapegrad.Size([3, 1, 2, 2])
    """
    _fn = staticmethod(F.adaptive_max_pool3d)


# ---- power-average pooling --------------------------------------------------------------------
class _LPPoolNd(Module):
    _fn = None

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return self._fn(input, float(self.norm_type), self.kernel_size, self.stride,
                        self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


_LP_ARGS = """
    Args:
        norm_type: p: each window gives (sum of x^p)^(1/p); p = 1 is sum pooling, p = inf
            the max of |x|.
        kernel_size: the window size: an int or one per spatial dim.
        stride: the window step (default None: kernel_size).
        ceil_mode: round the output size up, keeping windows that start inside the input.
"""


class LPPool1d(_LPPoolNd):
    """1-D power-average pooling over (N, C, L) or (C, L).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.LPPool1d(2, 2); m
        LPPool1d(norm_type=2, kernel_size=2, stride=None, ceil_mode=False)
        >>> m(tg.tensor([[3.0, 4.0, 1.0, 1.0]]))
        tensor([[5.0000, 1.4142]])
    """
    _fn = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPoolNd):
    """2-D power-average pooling over (N, C, H, W) or (C, H, W).

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.LPPool2d(2, 2)(tg.tensor([[[3.0, 0.0], [0.0, 4.0]]]))
        tensor([[[5.]]])
    """
    _fn = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPoolNd):
    """3-D power-average pooling over (N, C, D, H, W) or (C, D, H, W).

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.LPPool3d(1, 2)(tg.ones(1, 1, 2, 2, 2))
        tensor([[[[[8.]]]]])
    """
    _fn = staticmethod(F.lp_pool3d)


# The shared Args sections go in before each Example (written once above).
for _cls, _args in ((MaxPool1d, _MAX_ARGS), (MaxPool2d, _MAX_ARGS), (MaxPool3d, _MAX_ARGS),
                    (MaxUnpool1d, _UNPOOL_ARGS), (MaxUnpool2d, _UNPOOL_ARGS),
                    (MaxUnpool3d, _UNPOOL_ARGS), (AvgPool2d, _AVG_ARGS), (AvgPool3d, _AVG_ARGS),
                    (AdaptiveAvgPool1d, _ADAPTIVE_ARGS), (AdaptiveAvgPool2d, _ADAPTIVE_ARGS),
                    (AdaptiveAvgPool3d, _ADAPTIVE_ARGS), (AdaptiveMaxPool1d, _ADAPTIVE_ARGS),
                    (AdaptiveMaxPool2d, _ADAPTIVE_ARGS), (AdaptiveMaxPool3d, _ADAPTIVE_ARGS),
                    (LPPool1d, _LP_ARGS), (LPPool2d, _LP_ARGS), (LPPool3d, _LP_ARGS)):
    _cls.__doc__ = _cls.__doc__.replace("\n\n    Example:", "\n" + _args + "\n    Example:", 1)
del _cls, _args
