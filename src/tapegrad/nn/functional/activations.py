"""tapegrad.nn.functional: activations.

The pointwise activations are here; softmax and its relatives, glu, normalize and the
distances live in activations_softmax.py and are re-exported from this module.

softplus, logsigmoid and elu/celu/selu are one-node primitives of tapegrad.ops.nn.activation
(Note [Smooth activations as primitives] there); gelu, silu and mish are composites; the
piecewise-linear ones are composites: a ``where`` over a mask taken from the data, so
their gradients at the kinks follow PyTorch's conventions exactly (relu'(0) = 0,
leaky_relu'(0) = slope, hardtanh' = 0 at its bounds, hardshrink' = softshrink' = 0 at +-lambd).
"""
import math

import numpy as np

from ..._core.errors import ArgumentError, DTypeError, ShapeError
from ..._core.state import STATE
from ..._core.tensor import Tensor, wrap
from ...ops import creation
from ...ops._pointwise_args import write_back
from ...ops.elementwise import abs as _abs
from ...ops.elementwise import relu as _relu
from ...ops.elementwise import sigmoid as _sigmoid
from ...ops.elementwise import tanh as _tanh
from ...ops.elementwise import where
from ...ops.nn.activation import ELU, LOGSIGMOID, SOFTPLUS
from ...ops.registry import apply_inplace, apply_unary
from ...ops.special import erf as _erf
from .activations_softmax import (cosine_similarity, glu, gumbel_softmax, log_softmax,
                                  normalize, pairwise_distance, softmax, softmin)

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu",
           "celu", "gelu", "silu", "mish", "softplus", "softsign", "hardtanh", "hardtanh_",
           "hardsigmoid", "hardswish", "hardshrink", "softshrink", "tanhshrink", "threshold",
           "threshold_", "logsigmoid", "sigmoid", "tanh", "prelu", "rrelu", "rrelu_", "glu",
           "softmax", "log_softmax", "softmin", "gumbel_softmax", "normalize",
           "cosine_similarity", "pairwise_distance"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_HALF = math.sqrt(0.5)
_GELU_K, _GELU_C = math.sqrt(2 / math.pi), 0.044715   # tanh(k (x + c x^3))
_SOFTPLUS_DEFAULTS = {"beta": 1.0, "threshold": 20.0}


# ---- helpers -------------------------------------------------------------------------------------
def _tensor(input, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    return input


def _floating(input, name):
    """input, which must be a floating tensor (PyTorch implements these for no integers)."""
    dtype = _tensor(input, name)._data.dtype
    if dtype.kind != "f":
        raise DTypeError(f"{name}: not implemented for dtype {dtype}, as in PyTorch; convert "
                         "the input first, e.g. x.float().")
    return input


def _smooth(op, input, params, inplace, name):
    """A one-node activation, out of place or (inplace=True) written into input."""
    _floating(input, name)
    if inplace:
        return apply_inplace(op, (input,), params, name=name + "_")
    return apply_unary(op, input, params)


def _in_place(fn, input, name, *args):
    """input <- fn(input, *args) for a composite: computed on a clone when recording, since
    the composite may keep input's values for its gradient, which the write would change."""
    recording = STATE.grad_enabled and input._requires_grad
    return write_back(input, fn(input.clone() if recording else input, *args), name)


def _select(mask, input, other):
    """where(mask, input, other) with ``other`` (an array of PyTorch's values outside the
    mask) in input's dtype: the gradient flows to input where mask holds, else it is 0."""
    return where(mask, input, np.asarray(other, dtype=input._data.dtype))


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
    _tensor(input, "relu")
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
    return _select(inside, input, np.clip(data, min_val, max_val))


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
    _tensor(input, "hardtanh")
    if min_val > max_val:
        raise ArgumentError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                            f"({max_val}); swap them.")
    if inplace:
        return _in_place(_hardtanh, input, "hardtanh_", min_val, max_val)
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
    _floating(input, "leaky_relu")
    if inplace:
        return _in_place(_leaky_relu, input, "leaky_relu_", negative_slope)
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
    return _select(data > threshold, input, value)


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
    _tensor(input, "threshold")
    if inplace:
        return _in_place(_threshold, input, "threshold_", threshold, value)
    return _threshold(input, threshold, value)


def threshold_(input, threshold, value):
    """In-place :func:`threshold`; returns input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.threshold_(tg.tensor([0.5, 2.0]), 1.0, 0.0)
        tensor([0., 2.])
    """
    _tensor(input, "threshold_")
    return _in_place(_threshold, input, "threshold_", threshold, value)


def hardshrink(input, lambd=0.5):
    """input where |input| > lambd, else 0 (gradient 0 at +-lambd).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.hardshrink(tg.tensor([-1.0, 0.5, 0.7]))
        tensor([-1.0000,  0.0000,  0.7000])
    """
    data = _floating(input, "hardshrink")._data
    return _select((data > lambd) | (data < -lambd), input, 0)


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
    data = _floating(input, "softshrink")._data
    if not lambd >= 0:
        raise ArgumentError(f"softshrink: lambd must be at least 0, got {lambd}")
    shift = np.where(data > 0, -lambd, lambd).astype(data.dtype)
    return _select((data > lambd) | (data < -lambd), input + shift, 0)


def _hardsigmoid(input):
    data = input._data
    # NOTE: gradient 1/6 strictly inside (-3, 3), 0 at the ends, as PyTorch.
    return _select((data > -3) & (data < 3), input / 6 + 0.5, data >= 3)


def hardsigmoid(input, inplace=False):
    """0 for input <= -3, 1 for input >= 3, input / 6 + 1/2 between.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.hardsigmoid(tg.tensor([-4.0, 0.0, 1.5, 4.0]))
        tensor([0.0000, 0.5000, 0.7500, 1.0000])
    """
    _floating(input, "hardsigmoid")
    return _in_place(_hardsigmoid, input, "hardsigmoid_") if inplace else _hardsigmoid(input)


def _hardswish(input):
    data = input._data
    # NOTE: PyTorch's gradient is 0 at -3 and 1 at 3 (x >= 3 takes the linear branch).
    middle = _select(data > -3, input * (input + 3) / 6, 0)
    return where(data >= 3, input, middle)


def hardswish(input, inplace=False):
    """input * hardsigmoid(input): 0 for input <= -3, input for input >= 3.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.hardswish(tg.tensor([-4.0, 1.5, 4.0]))
        tensor([0.0000, 1.1250, 4.0000])
    """
    _floating(input, "hardswish")
    return _in_place(_hardswish, input, "hardswish_") if inplace else _hardswish(input)


def _prelu_weight(input, weight):
    """weight shaped to broadcast along input's dim 1 (the channels), with PyTorch's checks."""
    _floating(input, "prelu")
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
    _floating(input, "rrelu")
    _rrelu_check(lower, upper)
    if inplace:
        return _in_place(_rrelu, input, "rrelu_", lower, upper, training)
    return _rrelu(input, lower, upper, training)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """In-place :func:`rrelu`; returns input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.rrelu_(tg.tensor([-3.0, 2.0]), 0.1, 0.3)
        tensor([-0.6000,  2.0000])
    """
    return rrelu(input, lower, upper, training, inplace=True)


# ---- smooth activations ------------------------------------------------------------------------------
def elu(input, alpha=1.0, inplace=False):
    """input where positive, else alpha * (exp(input) - 1).

    Args:
        input: a floating tensor.
        alpha: the negative saturation value.
        inplace: write the result into input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.elu(tg.tensor([-1.0, 2.0]))
        tensor([-0.6321,  2.0000])
    """
    params = {"alpha": float(alpha), "scale": 1.0, "input_scale": 1.0}
    return _smooth(ELU, input, params, inplace, "elu")


def elu_(input, alpha=1.0):
    """In-place :func:`elu`; returns input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.elu_(tg.tensor([-1.0, 2.0]))
        tensor([-0.6321,  2.0000])
    """
    return elu(input, alpha, inplace=True)


def selu(input, inplace=False):
    """scale * elu(input, alpha) with SELU's fixed alpha ~ 1.6733 and scale ~ 1.0507.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.selu(tg.tensor([-1.0, 2.0]))
        tensor([-1.1113,  2.1014])
    """
    params = {"alpha": _SELU_ALPHA, "scale": _SELU_SCALE, "input_scale": 1.0}
    return _smooth(ELU, input, params, inplace, "selu")


def celu(input, alpha=1.0, inplace=False):
    """input where positive, else alpha * (exp(input / alpha) - 1); alpha must not be 0.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.celu(tg.tensor([-1.0, 2.0]), 2.0)
        tensor([-0.7869,  2.0000])
    """
    if alpha == 0:
        raise ArgumentError("celu: alpha cannot be 0 (it divides the input)")
    params = {"alpha": float(alpha), "scale": 1.0, "input_scale": 1.0 / alpha}
    return _smooth(ELU, input, params, inplace, "celu")


def _in_float32_if_half(fn, input):
    """fn(input), computed in float32 for float16 input and rounded back once, as PyTorch
    computes its float16 activations (x**3 or e**x alone would overflow float16)."""
    if input._data.dtype == np.float16:
        return fn(input.float()).half()
    return fn(input)


def _gelu_erf(x):
    return x * (0.5 + 0.5 * _erf(x * _SQRT_HALF))


def _gelu_tanh(x):
    return x * (0.5 + 0.5 * _tanh(_GELU_K * (x + _GELU_C * (x * x * x))))


def gelu(input, approximate="none"):
    """input * Phi(input), Phi the standard normal CDF; ``approximate='tanh'`` uses
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    Args:
        input: a floating tensor.
        approximate: 'none' (exact, through erf) or 'tanh'.

    Returns:
        A tensor like input, with finite values and gradients for any finite input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.gelu(tg.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.1587,  0.0000,  0.8413])
    """
    _floating(input, "gelu")
    if approximate not in ("none", "tanh"):
        raise ArgumentError(f"gelu: approximate must be either 'none' or 'tanh', got "
                            f"{approximate!r}")
    # NOTE: a composite: faster here than a one-node form, whose backward recomputes erf
    # (Note [Smooth activations as primitives] in tapegrad.ops.nn.activation).
    return _in_float32_if_half(_gelu_erf if approximate == "none" else _gelu_tanh, input)


def _silu(x):
    return x * _sigmoid(x)


def silu(input, inplace=False):
    """input * sigmoid(input) (also called swish).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.silu(tg.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.2689,  0.0000,  0.7311])
    """
    _floating(input, "silu")
    if inplace:
        return _in_place(lambda x: _in_float32_if_half(_silu, x), input, "silu_")
    return _in_float32_if_half(_silu, input)


def _mish(x):
    return x * _tanh(apply_unary(SOFTPLUS, x, _SOFTPLUS_DEFAULTS))


def mish(input, inplace=False):
    """input * tanh(softplus(input)).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.mish(tg.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.3034,  0.0000,  0.8651])
    """
    _floating(input, "mish")
    if inplace:
        return _in_place(lambda x: _in_float32_if_half(_mish, x), input, "mish_")
    return _in_float32_if_half(_mish, input)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * input)) / beta, and input itself where beta * input > threshold.

    Args:
        input: a floating tensor.
        beta: the sharpness; threshold: where the linear branch starts (as PyTorch).

    Returns:
        A tensor like input, finite for any finite input (softplus(1e4) = 1e4).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.softplus(tg.tensor([-1e4, 0.0, 1e4]))
        tensor([    0.0000,     0.6931, 10000.0000])
    """
    params = {"beta": float(beta), "threshold": float(threshold)}
    return _smooth(SOFTPLUS, input, params, False, "softplus")


def logsigmoid(input):
    """log(sigmoid(input)) = -softplus(-input), finite for any finite input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.logsigmoid(tg.tensor([-1e4, 0.0]))
        tensor([-10000.0000,     -0.6931])
    """
    return _smooth(LOGSIGMOID, input, {}, False, "logsigmoid")


def softsign(input):
    """input / (1 + |input|); integer input gives float32.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.softsign(tg.tensor([-3.0, 1.0]))
        tensor([-0.7500,  0.5000])
    """
    _tensor(input, "softsign")
    if input._data.dtype.kind in "biu":
        input = input.to(np.float32)
    return input / (1 + _abs(input))


def tanhshrink(input):
    """input - tanh(input); integer input gives float32.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.tanhshrink(tg.tensor([0.0, 1.0]))
        tensor([0.0000, 0.2384])
    """
    _tensor(input, "tanhshrink")
    if input._data.dtype.kind in "biu":
        input = input.to(np.float32)
    return input - _tanh(input)


def sigmoid(input):
    """1 / (1 + exp(-input)) (``tapegrad.sigmoid``); integer input gives float32.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.sigmoid(tg.tensor([0.0]))
        tensor([0.5000])
    """
    return _sigmoid(_tensor(input, "sigmoid"))


def tanh(input):
    """Hyperbolic tangent (``tapegrad.tanh``); integer input gives float32.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.tanh(tg.tensor([0.0, 1.0]))
        tensor([0.0000, 0.7616])
    """
    return _tanh(_tensor(input, "tanh"))

