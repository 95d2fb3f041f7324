"""Linear layers and reshaping: Identity, Linear, Bilinear, Flatten and Unflatten.

Parameter names, shapes and default initialisation follow PyTorch's, so state dicts move
between the two libraries unchanged.
"""
import math

import numpy as np

from ..._core.device import device as Device
from ..._core.errors import ArgumentError
from ...ops.creation import empty
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Identity", "Linear", "Bilinear", "Flatten", "Unflatten"]


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _count(layer, what, value):
    """A size argument (features, channels): a non-negative int, as an int."""
    if not _is_int(value):
        raise TypeError(f"{layer}: {what} must be an int, got {value!r} of type "
                        f"{type(value).__name__}.")
    if value < 0:
        raise ArgumentError(f"{layer}: {what} must be non-negative, got {value}.")
    return int(value)


def _parameter(shape, device, dtype):
    """An uninitialised Parameter of ``shape``: the layers fill it in reset_parameters()."""
    if device is not None:
        Device(device)      # refuses anything but the CPU with a clear error
    return Parameter(empty(shape, dtype=dtype))


def _uniform_bias(bias, fan_in):
    """PyTorch's bias initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    NOTE: with fan_in 0 the bound is 0 (zeros); PyTorch's Linear does the same, while its
    convolutions leave the bias uninitialised, which we don't copy.
    """
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    init.uniform_(bias, -bound, bound)


class Identity(Module):
    """Returns its input unchanged; takes (and ignores) any constructor arguments, so it can
    stand in for a layer with its arguments left as they are.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.Identity(54, unused="argument")(tg.tensor([1.0, 2.0]))
        tensor([1., 2.])
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """Fully connected layer: ``y = x @ weight.T + bias``.

    Parameters: ``weight`` (out_features, in_features) and ``bias`` (out_features,), both
    drawn from U(-1/sqrt(in_features), 1/sqrt(in_features)) (weight by kaiming_uniform_ with
    a = sqrt(5), as PyTorch).

    Args:
        in_features: the size of each input's last dim.
        out_features: the size of each output's last dim.
        bias: whether to learn an additive bias (default True).
        device: None or "cpu".
        dtype: the parameters' dtype (default float32).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.Linear(3, 2); m
        Linear(in_features=3, out_features=2, bias=True)
        >>> m(tg.ones(5, 3)).shape, [n for n, _ in m.named_parameters()]
        (tapegrad.Size([5, 2]), ['weight', 'bias'])
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = _count("Linear", "in_features", in_features)
        self.out_features = _count("Linear", "out_features", out_features)
        self.weight = _parameter((self.out_features, self.in_features), device, dtype)
        if bias:
            self.bias = _parameter((self.out_features,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Redraw weight and bias from their default distributions."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            _uniform_bias(self.bias, self.in_features)

    def forward(self, input):
        # NOTE: kept to the one call: a Sequential of small Linears pays this per layer.
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """Bilinear layer: ``y[..., k] = x1 @ weight[k] @ x2 + bias[k]``.

    Parameters: ``weight`` (out_features, in1_features, in2_features) and ``bias``
    (out_features,), both drawn from U(-1/sqrt(in1_features), 1/sqrt(in1_features)).

    Args:
        in1_features: the size of the first input's last dim (positive).
        in2_features: the size of the second input's last dim.
        out_features: the size of the output's last dim.
        bias: whether to learn an additive bias (default True).
        device: None or "cpu".
        dtype: the parameters' dtype (default float32).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.Bilinear(2, 3, 4); m
        Bilinear(in1_features=2, in2_features=3, out_features=4, bias=True)
        >>> m(tg.ones(5, 2), tg.ones(5, 3)).shape
        tapegrad.Size([5, 4])
    """

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__()
        self.in1_features = _count("Bilinear", "in1_features", in1_features)
        self.in2_features = _count("Bilinear", "in2_features", in2_features)
        self.out_features = _count("Bilinear", "out_features", out_features)
        self.weight = _parameter((self.out_features, self.in1_features, self.in2_features),
                                 device, dtype)
        if bias:
            self.bias = _parameter((self.out_features,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Redraw weight and bias from U(-1/sqrt(in1_features), 1/sqrt(in1_features))."""
        if self.in1_features <= 0:
            raise ValueError(f"Bilinear: in1_features must be > 0, but got (in1_features="
                             f"{self.in1_features}); the initial values are drawn with bound "
                             "1/sqrt(in1_features).")
        bound = 1 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Flatten(Module):
    """Merge the dims ``start_dim`` through ``end_dim`` into one (by default all but the
    batch dim).

    Args:
        start_dim: the first dim to merge (default 1).
        end_dim: the last dim to merge, inclusive (default -1).

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.Flatten()(tg.zeros(2, 3, 4)).shape, tg.nn.Flatten(0, 1)(tg.zeros(2, 3, 4)).shape
        (tapegrad.Size([2, 12]), tapegrad.Size([6, 4]))
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into the shape ``unflattened_size`` (one entry may be -1).

    Args:
        dim: the dim to split (an int; named dims are not supported).
        unflattened_size: a tuple, list or Size of ints whose product is the dim's size.

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.Unflatten(1, (2, 3)); m
        Unflatten(dim=1, unflattened_size=(2, 3))
        >>> m(tg.zeros(4, 6)).shape
        tapegrad.Size([4, 2, 3])
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if not _is_int(dim):
            raise TypeError(f"Unflatten: dim must be an int (named dims are not supported), "
                            f"got {dim!r}.")
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, but found "
                            f"type {type(unflattened_size).__name__}.")
        for pos, size in enumerate(unflattened_size):
            if not _is_int(size):
                raise TypeError(f"Unflatten: unflattened_size must be tuple of ints, but found "
                                f"element of type {type(size).__name__} at pos {pos}.")
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
