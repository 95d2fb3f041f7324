"""tapegrad.nn.functional: activations.

The pointwise activations are here; softmax and its relatives, glu, normalize and the
distances live in activations_softmax.py and are re-exported from this module.

softplus, logsigmoid and elu/celu/selu are one-node primitives of tapegrad.ops.nn.activation
(Note [Smooth activations as primitives] there); gelu, silu and mish are composites; the
piecewise-linear ones are composites: a ``where`` over a mask taken from the data, so
their gradients at the kinks follow PyTorch's conventions exactly (relu'(0) = 0,
leaky_relu'(0) = slope, hardtanh' = 0 at its bounds, hardshrink' = softshrink' = 0 at +-lambd).
"""
import numpy as np

from ..._core.errors import ArgumentError, ShapeError
from ..._core.tensor import Tensor, wrap
from ...ops import creation
from ...ops.elementwise import relu as _relu
from ...ops.elementwise import where
from .activations_common import check_floating, check_tensor, in_place, select
from .activations_smooth import (celu, elu, elu_, gelu, logsigmoid, mish, selu, sigmoid, silu,
                                 softplus, softsign, tanh, tanhshrink)
from .activations_softmax import (cosine_similarity, glu, gumbel_softmax, log_softmax,
                                  normalize, pairwise_distance, softmax, softmin)

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu",
           "celu", "gelu", "silu", "mish", "softplus", "softsign", "hardtanh", "hardtanh_",
           "hardsigmoid", "hardswish", "hardshrink", "softshrink", "tanhshrink", "threshold",
           "threshold_", "logsigmoid", "sigmoid", "tanh", "prelu", "rrelu", "rrelu_", "glu",
           "softmax", "log_softmax", "softmin", "gumbel_softmax", "normalize",
           "cosine_similarity", "pairwise_distance"]


# ---- piecewise-linear activations (composites) ---------------------------------------------------
def relu(input, inplace=False):
    """max(input, 0) elementwise; its gradient at 0 is 0, as in PyTorch.

    Args:
        input: a tensor (integer input stays integer).
        inplace: write the result into input.

    Returns:
        The rectified tensor (input itself when inplace).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.relu(tg.tensor([-1.0, 0.0, 2.0]))
        tensor([0., 0., 2.])
    """
    check_tensor(input, "relu")
    return input.relu_() if inplace else _relu(input)


def relu_(input):
    """In-place :func:`relu`; returns input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> x = tg.tensor([-1.0, 2.0]); _ = F.relu_(x); x
        tensor([0., 2.])
    """
    return relu(input, inplace=True)


def _hardtanh(input, min_val, max_val):
    data = input._data
    if data.dtype.kind != "f":      # integers stay integers, as in PyTorch (no gradient)
        return wrap(np.clip(data, min_val, max_val).astype(data.dtype))
    # NOTE: the gradient is 0 at the bounds themselves (PyTorch's hardtanh, unlike clamp).
    inside = (data > min_val) & (data < max_val)
    return select(inside, input, np.clip(data, min_val, max_val))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """input clamped to [min_val, max_val]; the gradient is 1 strictly inside, else 0.

    Args:
        input: a tensor (integer input stays integer).
        min_val, max_val: the bounds (min_val <= max_val).
        inplace: write the result into input.

    Returns:
        The clamped tensor.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.hardtanh(tg.tensor([-2.0, 0.5, 3.0]))
        tensor([-1.0000,  0.5000,  1.0000])
    """
    check_tensor(input, "hardtanh")
    if min_val > max_val:
        raise ArgumentError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                            f"({max_val}); swap them.")
    if inplace:
        return in_place(_hardtanh, input, "hardtanh_", min_val, max_val)
    return _hardtanh(input, min_val, max_val)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """In-place :func:`hardtanh`; returns input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.hardtanh_(tg.tensor([-2.0, 0.5]))
        tensor([-1.0000,  0.5000])
    """
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    """min(max(input, 0), 6) elementwise (hardtanh on [0, 6]: gradient 0 at 0 and 6).

    Args:
        input: a tensor (integer input stays integer).
        inplace: write the result into input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.relu6(tg.tensor([-1.0, 3.0, 8.0]))
        tensor([0., 3., 6.])
    """
    return hardtanh(input, 0.0, 6.0, inplace)


def _leaky_relu(input, negative_slope):
    data = input._data
    return where(data > 0, input, input * negative_slope)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """input where positive, else negative_slope * input (the gradient at 0 is the slope).

    Args:
        input: a floating tensor.
        negative_slope: the slope for input <= 0.
        inplace: write the result into input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.leaky_relu(tg.tensor([-2.0, 3.0]), 0.1)
        tensor([-0.2000,  3.0000])
    """
    check_floating(input, "leaky_relu")
    if inplace:
        return in_place(_leaky_relu, input, "leaky_relu_", negative_slope)
    return _leaky_relu(input, negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    """In-place :func:`leaky_relu`; returns input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.leaky_relu_(tg.tensor([-2.0, 3.0]), 0.5)
        tensor([-1.,  3.])
    """
    return leaky_relu(input, negative_slope, inplace=True)


def _threshold(input, threshold, value):
    data = input._data
    if data.dtype.kind != "f":
        return wrap(np.where(data > threshold, data, value).astype(data.dtype))
    return select(data > threshold, input, value)


def threshold(input, threshold, value, inplace=False):
    """input where input > threshold, else value (gradient 0 there, at the threshold too).

    Args:
        input: a tensor (integer input stays integer).
        threshold: the cut; value: what replaces input at or below it.
        inplace: write the result into input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.threshold(tg.tensor([0.5, 1.0, 2.0]), 1.0, -3.0)
        tensor([-3., -3.,  2.])
    """
    check_tensor(input, "threshold")
    if inplace:
        return in_place(_threshold, input, "threshold_", threshold, value)
    return _threshold(input, threshold, value)


def threshold_(input, threshold, value):
    """In-place :func:`threshold`; returns input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.threshold_(tg.tensor([0.5, 2.0]), 1.0, 0.0)
        tensor([0., 2.])
    """
    check_tensor(input, "threshold_")
    return in_place(_threshold, input, "threshold_", threshold, value)


def hardshrink(input, lambd=0.5):
    """input where |input| > lambd, else 0 (gradient 0 at +-lambd).

    Args:
        input: a floating tensor.
        lambd: the half-width of the zeroed band.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.hardshrink(tg.tensor([-1.0, 0.5, 0.7]))
        tensor([-1.0000,  0.0000,  0.7000])
    """
    data = check_floating(input, "hardshrink")._data
    return select((data > lambd) | (data < -lambd), input, 0)


def softshrink(input, lambd=0.5):
    """input - lambd above lambd, input + lambd below -lambd, else 0 (gradient 0 at +-lambd).

    Args:
        input: a floating tensor.
        lambd: the shrinkage, at least 0.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.softshrink(tg.tensor([-1.0, 0.2, 2.0]))
        tensor([-0.5000,  0.0000,  1.5000])
    """
    data = check_floating(input, "softshrink")._data
    if not lambd >= 0:
        raise ArgumentError(f"softshrink: lambd must be at least 0, got {lambd}")
    shift = np.where(data > 0, -lambd, lambd).astype(data.dtype)
    return select((data > lambd) | (data < -lambd), input + shift, 0)


def _hardsigmoid(input):
    data = input._data
    # NOTE: gradient 1/6 strictly inside (-3, 3), 0 at the ends, as PyTorch.
    return select((data > -3) & (data < 3), input / 6 + 0.5, data >= 3)


def hardsigmoid(input, inplace=False):
    """0 for input <= -3, 1 for input >= 3, input / 6 + 1/2 between.

    Args:
        input: a floating tensor.
        inplace: write the result into input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.hardsigmoid(tg.tensor([-4.0, 0.0, 1.5, 4.0]))
        tensor([0.0000, 0.5000, 0.7500, 1.0000])
    """
    check_floating(input, "hardsigmoid")
    return in_place(_hardsigmoid, input, "hardsigmoid_") if inplace else _hardsigmoid(input)


def _hardswish(input):
    data = input._data
    # NOTE: PyTorch's gradient is 0 at -3 and 1 at 3 (x >= 3 takes the linear branch).
    middle = select(data > -3, input * (input + 3) / 6, 0)
    return where(data >= 3, input, middle)


def hardswish(input, inplace=False):
    """input * hardsigmoid(input): 0 for input <= -3, input for input >= 3.

    Args:
        input: a floating tensor.
        inplace: write the result into input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.hardswish(tg.tensor([-4.0, 1.5, 4.0]))
        tensor([0.0000, 1.1250, 4.0000])
    """
    check_floating(input, "hardswish")
    return in_place(_hardswish, input, "hardswish_") if inplace else _hardswish(input)


def _prelu_weight(input, weight):
    """weight shaped to broadcast along input's dim 1 (the channels), with PyTorch's checks."""
    check_floating(input, "prelu")
    if not isinstance(weight, Tensor):
        raise TypeError(f"prelu: weight must be a Tensor, got {type(weight).__name__}")
    if weight.ndim > 1:
        raise ShapeError(f"prelu: expected weight to be a scalar or 1-d tensor, but got shape "
                         f"{tuple(weight.shape)} (ndim = {weight.ndim})")
    n = weight.numel()
    channels = input.shape[1] if input.ndim >= 2 else 1
    if n != 1 and n != channels:
        raise ShapeError(
            f"prelu: weight has {n} elements but input of shape {tuple(input.shape)} has "
            f"{channels} channel(s) (dim 1; 1 for input of fewer than 2 dims); give weight 1 "
            "element or one per channel.")
    if n == 1:
        return weight.reshape(())
    return weight.reshape((channels,) + (1,) * (input.ndim - 2))


def prelu(input, weight):
    """input where positive, else weight * input, weight per channel (dim 1) or shared.

    Args:
        input: a floating tensor; its dim 1 holds the channels.
        weight: a tensor of 1 element or one per channel (0-d or 1-d).

    Returns:
        A tensor like input; weight gets the gradient summed over the other dims.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.prelu(tg.tensor([[-1.0, -2.0], [3.0, -4.0]]), tg.tensor([0.1, 0.5]))
        tensor([[-0.1000, -1.0000],
                [ 3.0000, -2.0000]])
    """
    w = _prelu_weight(input, weight)
    return where(input._data > 0, input, w * input)


def _rrelu_check(lower, upper):
    if lower > upper:
        raise ArgumentError(f"rrelu: lower ({lower}) should be less than or equal to upper "
                            f"({upper})")


def _rrelu(input, lower, upper, training):
    data = input._data
    if not training:
        return _leaky_relu(input, (lower + upper) / 2)
    # NOTE: one slope per element from tapegrad's generator (manual_seed reproduces them);
    # drawn for every element so the stream does not depend on the signs of input.
    slopes = creation._rng(None).uniform(lower, upper, data.shape).astype(data.dtype)
    return where(data > 0, input, input * slopes)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky relu: input where positive, else a * input, with a uniform in
    [lower, upper] per element when training, and (lower + upper) / 2 in evaluation.

    Args:
        input: a floating tensor.
        lower, upper: the range of the slopes.
        training: draw the slopes from tapegrad's generator (``manual_seed`` reproduces them).
        inplace: write the result into input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.rrelu(tg.tensor([-3.0, 2.0]), 0.1, 0.3)
        tensor([-0.6000,  2.0000])
    """
    check_floating(input, "rrelu")
    _rrelu_check(lower, upper)
    if inplace:
        return in_place(_rrelu, input, "rrelu_", lower, upper, training)
    return _rrelu(input, lower, upper, training)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """In-place :func:`rrelu`; returns input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.rrelu_(tg.tensor([-3.0, 2.0]), 0.1, 0.3)
        tensor([-0.6000,  2.0000])
    """
    return rrelu(input, lower, upper, training, inplace=True)
