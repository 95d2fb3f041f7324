"""Convolution layers: Conv1d/2d/3d and ConvTranspose1d/2d/3d.

Parameters ``weight`` ((out, in / groups, *kernel), transposed: (in, out / groups, *kernel))
and ``bias`` (out,), initialised as PyTorch's: kaiming_uniform_ with a = sqrt(5), which is
U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias from the same bound, fan_in being
``weight.shape[1] * prod(kernel)`` (for the transposed layers that is out / groups * kernel,
as PyTorch computes it).
"""
import math

from ..._core.errors import ShapeError
from ..._core.tensor import Tensor
from ...ops.nn.conv import _ints
from .. import functional as F
from .. import init
from .linear import _count, _is_int, _parameter, _uniform_bias
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What the convolutions and their transposes share: checked arguments, parameters,
    initialisation and the repr. Subclasses set ``_d`` (spatial dims) and ``_fn``."""
    _d = 0
    _fn = None

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 transposed, output_padding, groups, bias, padding_mode, device, dtype):
        super().__init__()
        name, d = type(self).__name__, self._d
        in_channels = _count(name, "in_channels", in_channels)
        out_channels = _count(name, "out_channels", out_channels)
        if not _is_int(groups) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}.")
        for what, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
            if channels % groups:
                raise ValueError(f"{name}: {what} must be divisible by groups, got {what}="
                                 f"{channels} and groups={groups}.")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _ints(kernel_size, d, "kernel_size", name, 1)
        self.stride = _ints(stride, d, "stride", name, 1)
        self.dilation = _ints(dilation, d, "dilation", name, 1)
        if isinstance(padding, str):
            if transposed:
                raise TypeError(f"{name}: padding must be an int or a tuple of {d} ints, got "
                                f"{padding!r} (transposed convolutions take no "
                                "'same'/'valid').")
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: Invalid padding string {padding!r}, should be one "
                                 "of 'same', 'valid' (or give an int or a tuple of ints).")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions (stride={self.stride}); pad explicitly.")
            self.padding = padding
        else:
            self.padding = _ints(padding, d, "padding", name, 0)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {list(_PADDING_MODES)}, but "
                             f"got padding_mode={padding_mode!r}.")
        self.transposed = transposed
        self.output_padding = _ints(output_padding, d, "output_padding", name, 0)
        self.groups = int(groups)
        self.padding_mode = padding_mode
        self._reversed_padding_repeated_twice = self._pad_amounts()
        per_group = (out_channels if transposed else in_channels) // groups
        lead = in_channels if transposed else out_channels
        self.weight = _parameter((lead, per_group) + self.kernel_size, device, dtype)
        if bias:
            self.bias = _parameter((out_channels,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _pad_amounts(self):
        """F.pad's amounts (last dim first, (before, after) each) for a padding_mode other
        than 'zeros', where the layer pads explicitly and convolves without padding.
        'same' puts the odd one after, as the functional convolution does."""
        if self.padding == "valid":
            return [0, 0] * self._d
        if self.padding == "same":
            amounts = []
            for k, di in zip(reversed(self.kernel_size), reversed(self.dilation)):
                total = di * (k - 1)
                amounts += [total // 2, total - total // 2]
            return amounts
        return tuple(p for p in reversed(self.padding) for _ in range(2))

    def reset_parameters(self):
        """Redraw weight and bias from their default distributions."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            _uniform_bias(self.bias, fan_in)

    def extra_repr(self):
        d = self._d
        parts = [f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                 f"stride={self.stride}"]
        if self.padding != (0,) * d:
            parts.append(f"padding={self.padding}")
        if self.dilation != (1,) * d:
            parts.append(f"dilation={self.dilation}")
        if self.output_padding != (0,) * d:
            parts.append(f"output_padding={self.output_padding}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if self.bias is None:
            parts.append("bias=False")
        if self.padding_mode != "zeros":
            parts.append(f"padding_mode={self.padding_mode}")
        return ", ".join(parts)


class _Conv(_ConvNd):
    """Conv1d/2d/3d: the constructor and forward they share."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, 0, groups, bias, padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        """The convolution with the given weight and bias (PyTorch's hook for layers that
        transform their weight first)."""
        if self.padding_mode != "zeros":
            return self._fn(self._pad(input), weight, bias, self.stride, 0, self.dilation,
                            self.groups)
        return self._fn(input, weight, bias, self.stride, self.padding, self.dilation,
                        self.groups)

    def _pad(self, input):
        """``input`` padded by padding_mode; F.pad's errors say which layer padded."""
        name, d = type(self).__name__, self._d
        if isinstance(input, Tensor) and input.ndim not in (d + 1, d + 2):
            raise ShapeError(f"{name}: expected a {d + 1}-D (unbatched) or {d + 2}-D (batched) "
                             f"input, got shape {tuple(input.shape)}.")
        try:
            return F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
        except ValueError as e:
            raise type(e)(f"{name}(padding_mode={self.padding_mode!r}, padding="
                          f"{self.padding!r}): {e}") from None

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


_CONV_ARGS = """
    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: an int or one per spatial dim.
        stride: an int or one per spatial dim (default 1).
        padding: an int, one per dim, 'valid' (none) or 'same' (output as large as the
            input; stride 1 only; an odd total pads the extra one after). Default 0.
        dilation: spacing between kernel taps: an int or one per dim (default 1).
        groups: split the channels into this many groups; both channel counts must be
            divisible by it (default 1).
        bias: whether to learn an additive bias (default True).
        padding_mode: 'zeros' (default), 'reflect', 'replicate' or 'circular': how the
            input is padded.
        device: None or "cpu".
        dtype: the parameters' dtype (default float32).
"""


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L) or unbatched (C_in, L): weight (C_out, C_in /
    groups, k), bias (C_out,).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.Conv1d(2, 4, 3, padding=1, padding_mode="circular"); m
        Conv1d(2, 4, kernel_size=(3,), stride=(1,), padding=(1,), padding_mode=circular)
        >>> m(tg.ones(5, 2, 7)).shape
        tapegrad.Size([5, 4, 7])
    """
    _d = 1
    _fn = staticmethod(F.conv1d)


class Conv2d(_Conv):
    """2-D convolution over (N, C_in, H, W) or unbatched (C_in, H, W): weight (C_out, C_in /
    groups, kh, kw), bias (C_out,).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.Conv2d(3, 8, 3, stride=2, padding=1); m
        Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
        >>> m(tg.ones(1, 3, 8, 8)).shape, m.weight.shape
        (tapegrad.Size([1, 8, 4, 4]), tapegrad.Size([8, 3, 3, 3]))
    """
    _d = 2
    _fn = staticmethod(F.conv2d)


class Conv3d(_Conv):
    """3-D convolution over (N, C_in, D, H, W) or unbatched (C_in, D, H, W): weight (C_out,
    C_in / groups, kd, kh, kw), bias (C_out,).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.Conv3d(2, 4, (1, 3, 3), padding="same", bias=False); m
        Conv3d(2, 4, kernel_size=(1, 3, 3), stride=(1, 1, 1), padding=same, bias=False)
        >>> m(tg.ones(1, 2, 3, 5, 5)).shape
        tapegrad.Size([1, 4, 3, 5, 5])
    """
    _d = 3
    _fn = staticmethod(F.conv3d)


class _ConvTranspose(_ConvNd):
    """ConvTranspose1d/2d/3d: the constructor, forward and output_size handling they share."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f"{type(self).__name__}, got padding_mode={padding_mode!r}.")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         True, output_padding, groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size, stride, padding, kernel_size,
                        num_spatial_dims, dilation=None):
        """The output_padding that makes the output's spatial size ``output_size`` (the
        stored output_padding when it is None)."""
        if output_size is None:
            return self.output_padding
        name, d = type(self).__name__, num_spatial_dims
        if not isinstance(output_size, (tuple, list)):
            raise TypeError(f"{name}: output_size must be a tuple or list of ints, got "
                            f"{output_size!r}.")
        lead = 2 if input.ndim == d + 2 else 1
        sizes = tuple(output_size)
        if len(sizes) == lead + d:
            sizes = sizes[lead:]
        if len(sizes) != d:
            raise ValueError(f"{name}: for {input.ndim}D input, output_size must have {d} or "
                             f"{lead + d} elements (got {len(output_size)}).")
        spatial = tuple(input.shape[lead:])
        dilation = (1,) * d if dilation is None else dilation
        smallest = [(n - 1) * s - 2 * p + di * (k - 1) + 1 for n, s, p, di, k in
                    zip(spatial, stride, padding, dilation, kernel_size)]
        largest = [lo + s - 1 for lo, s in zip(smallest, stride)]
        if any(not lo <= n <= hi for n, lo, hi in zip(sizes, smallest, largest)):
            raise ValueError(f"{name}: requested an output size of {list(sizes)}, but valid "
                             f"sizes range from {smallest} to {largest} (for an input of "
                             f"spatial size {spatial}).")
        return tuple(n - lo for n, lo in zip(sizes, smallest))

    def forward(self, input, output_size=None):
        extra = self._output_padding(input, output_size, self.stride, self.padding,
                                     self.kernel_size, self._d, self.dilation)
        return self._fn(input, self.weight, self.bias, self.stride, self.padding, extra,
                        self.groups, self.dilation)


_T_ARGS = """
    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: an int or one per spatial dim.
        stride: an int or one per spatial dim (default 1).
        padding: an int or one per dim: crops dilation * (kernel - 1) - padding from each
            side of the full output (default 0).
        output_padding: added to one side of the output; smaller than stride or dilation
            (default 0). ``forward(input, output_size)`` picks it from a wanted size instead.
        groups: split the channels into this many groups (default 1).
        bias: whether to learn an additive bias (default True).
        dilation: spacing between kernel taps: an int or one per dim (default 1).
        padding_mode: only 'zeros'.
        device: None or "cpu".
        dtype: the parameters' dtype (default float32).
"""


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution (the gradient of Conv1d in its input) over (N, C_in, L):
    weight (C_in, C_out / groups, k), bias (C_out,).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.ConvTranspose1d(4, 2, 3, stride=2); m
        ConvTranspose1d(4, 2, kernel_size=(3,), stride=(2,))
        >>> m(tg.ones(1, 4, 5)).shape, m(tg.ones(1, 4, 5), output_size=[12]).shape
        (tapegrad.Size([1, 2, 11]), tapegrad.Size([1, 2, 12]))
    """
    _d = 1
    _fn = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution (the gradient of Conv2d in its input) over (N, C_in, H, W):
    weight (C_in, C_out / groups, kh, kw), bias (C_out,).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.ConvTranspose2d(8, 3, 3, stride=2, padding=1, output_padding=1)
        >>> m(tg.ones(1, 8, 4, 4)).shape, m(tg.ones(1, 8, 4, 4), output_size=(7, 8)).shape
        (tapegrad.Size([1, 3, 8, 8]), tapegrad.Size([1, 3, 7, 8]))
    """
    _d = 2
    _fn = staticmethod(F.conv_transpose2d)


class ConvTranspose3d(_ConvTranspose):
    """3-D transposed convolution (the gradient of Conv3d in its input) over (N, C_in, D, H,
    W): weight (C_in, C_out / groups, kd, kh, kw), bias (C_out,).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.ConvTranspose3d(2, 4, 2, stride=2, groups=2)
        >>> m(tg.ones(2, 3, 3, 3)).shape, m.weight.shape
        (tapegrad.Size([4, 6, 6, 6]), tapegrad.Size([2, 2, 2, 2, 2]))
    """
    _d = 3
    _fn = staticmethod(F.conv_transpose3d)


# The shared Args sections go in before each Example (written once above).
for _cls, _args in ((Conv1d, _CONV_ARGS), (Conv2d, _CONV_ARGS), (Conv3d, _CONV_ARGS),
                    (ConvTranspose1d, _T_ARGS), (ConvTranspose2d, _T_ARGS),
                    (ConvTranspose3d, _T_ARGS)):
    _cls.__doc__ = _cls.__doc__.replace("\n\n    Example:", "\n" + _args + "\n    Example:", 1)
del _cls, _args
