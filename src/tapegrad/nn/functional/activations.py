"""tapegrad.nn.functional: activations.

The pointwise activations are here; softmax and its relatives, glu, normalize and the
distances live in activations_softmax.py and are re-exported from this module.

The piecewise-linear ones are one-node primitives of tapegrad.ops.nn.activation (Note
[Pointwise activations as primitives] there) whose gradients at the kinks follow PyTorch's
conventions (relu'(0) = 0, leaky_relu'(0) = slope, hardtanh' = 0 at its bounds, hardshrink' =
softshrink' = 0 at +-lambd); prelu and rrelu's training mode (a slope per element) are
composites.
"""
import numpy as np

from ..._core.errors import ArgumentError, ShapeError
from ..._core.tensor import Tensor, wrap
from ...ops import creation
from ...ops.elementwise import clamp
from ...ops.elementwise import relu as _relu
from ...ops.nn.activation import (HARDSHRINK, HARDSIGMOID, HARDSWISH, HARDTANH, LEAKY_RELU,
                                  SOFTSHRINK, THRESHOLD)
from .activations_common import check_floating, check_not_bool, in_place, one_node
from .activations_smooth import (celu, elu, elu_, gelu, logsigmoid, mish, selu, sigmoid, silu,
                                 softplus, softsign, tanh, tanhshrink)
from .activations_softmax import (cosine_similarity, glu, gumbel_softmax, log_softmax,
                                  normalize, pairwise_distance, softmax, softmin)
from .dropout import per_example_draw

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu",
           "celu", "gelu", "silu", "mish", "softplus", "softsign", "hardtanh", "hardtanh_",
           "hardsigmoid", "hardswish", "hardshrink", "softshrink", "tanhshrink", "threshold",
           "threshold_", "logsigmoid", "sigmoid", "tanh", "prelu", "rrelu", "rrelu_", "glu",
           "softmax", "log_softmax", "softmin", "gumbel_softmax", "normalize",
           "cosine_similarity", "pairwise_distance"]


# ---- piecewise-linear activations ----------------------------------------------------------------
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
    check_not_bool(input, "relu")
    return input.relu_() if inplace else _relu(input)


def relu_(input):
    """In-place :func:`relu`; returns input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> x = tg.tensor([-1.0, 2.0]); _ = F.relu_(x); x
        tensor([0., 2.])
    """
    return relu(input, inplace=True)


def _integer(np_fn, input, inplace, name, *args):
    """np_fn(data, *args) for an integer input, which stays integer (no gradient), as PyTorch."""
    def fn(x):
        return wrap(np_fn(x._data, *args).astype(x._data.dtype))
    return in_place(fn, input, name + "_") if inplace else fn(input)


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
    check_not_bool(input, "hardtanh")
    if min_val > max_val:
        raise ArgumentError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                            f"({max_val}); swap them.")
    if input._data.dtype.kind != "f":
        return _integer(np.clip, input, inplace, "hardtanh", min_val, max_val)
    # NOTE: the gradient is 0 at the bounds themselves (PyTorch's hardtanh, unlike clamp).
    params = {"min_val": float(min_val), "max_val": float(max_val)}
    return one_node(HARDTANH, input, params, inplace, "hardtanh")


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
    params = {"negative_slope": float(negative_slope)}
    return one_node(LEAKY_RELU, input, params, inplace, "leaky_relu")


def leaky_relu_(input, negative_slope=0.01):
    """In-place :func:`leaky_relu`; returns input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.leaky_relu_(tg.tensor([-2.0, 3.0]), 0.5)
        tensor([-1.,  3.])
    """
    return leaky_relu(input, negative_slope, inplace=True)


def _threshold(input, threshold, value, inplace, name):
    if input._data.dtype.kind != "f":
        return _integer(lambda x: np.where(x > threshold, x, value), input, inplace, name)
    params = {"threshold": float(threshold), "value": float(value)}
    return one_node(THRESHOLD, input, params, inplace, name)


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
    check_not_bool(input, "threshold")
    return _threshold(input, threshold, value, inplace, "threshold")


def threshold_(input, threshold, value):
    """In-place :func:`threshold`; returns input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.threshold_(tg.tensor([0.5, 2.0]), 1.0, 0.0)
        tensor([0., 2.])
    """
    check_not_bool(input, "threshold_")
    return _threshold(input, threshold, value, True, "threshold")


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
    return one_node(HARDSHRINK, input, {"lambd": float(lambd)}, False, "hardshrink")


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
    if not lambd >= 0:
        raise ArgumentError(f"softshrink: lambd must be at least 0, got {lambd}")
    return one_node(SOFTSHRINK, input, {"lambd": float(lambd)}, False, "softshrink")


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
    return one_node(HARDSIGMOID, input, {}, inplace, "hardsigmoid")


def hardswish(input, inplace=False):
    """input * hardsigmoid(input): 0 for input <= -3, input for input >= 3.

    Args:
        input: a floating tensor.
        inplace: write the result into input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.hardswish(tg.tensor([-1.5, 1.5, 4.0]))
        tensor([-0.3750,  1.1250,  4.0000])
    """
    return one_node(HARDSWISH, input, {}, inplace, "hardswish")


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
    return _leaky(input, w)


def _rrelu_check(lower, upper):
    if lower > upper:
        raise ArgumentError(f"rrelu: lower ({lower}) should be less than or equal to upper "
                            f"({upper})")


def _leaky(input, slopes):
    """input where positive, else slopes * input, slopes a tensor or array that broadcasts:
    relu(x) + clamp(x, max=0) * slopes (no select; the gradient at 0 is the slope's, since
    relu'(0) = 0 and clamp's is 1 at its bound, as PyTorch's prelu and rrelu)."""
    return _relu(input) + clamp(input, max=0.0) * slopes


def _rrelu_train(input, lower, upper):
    # NOTE: one slope per element from tapegrad's generator (manual_seed reproduces them);
    # drawn for every element so the stream does not depend on the signs of input.
    dtype = input._data.dtype
    return _leaky(input, per_example_draw(
        input, lambda shape: creation._rng(None).uniform(lower, upper, shape).astype(dtype)))


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
    if not training:
        params = {"negative_slope": (lower + upper) / 2}
        return one_node(LEAKY_RELU, input, params, inplace, "rrelu")
    if inplace:
        return in_place(_rrelu_train, input, "rrelu_", lower, upper)
    return _rrelu_train(input, lower, upper)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """In-place :func:`rrelu`; returns input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.rrelu_(tg.tensor([-3.0, 2.0]), 0.1, 0.3)
        tensor([-0.6000,  2.0000])
    """
    return rrelu(input, lower, upper, training, inplace=True)
