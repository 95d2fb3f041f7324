"""tapegrad.nn.functional: the smooth activations (re-exported by activations.py).

softplus, logsigmoid, elu/celu/selu and the exact gelu are one-node primitives of
tapegrad.ops.nn.activation (Note [Pointwise activations as primitives] there); the tanh gelu,
silu and mish are composites.
"""
import math

import numpy as np

from ..._core.errors import ArgumentError
from ...ops.elementwise import abs as _abs
from ...ops.elementwise import sigmoid as _sigmoid
from ...ops.elementwise import tanh as _tanh
from ...ops.nn.activation import ELU, GELU, LOGSIGMOID, SOFTPLUS, GeluPhi
from ...ops.registry import apply_unary
from .activations_common import check_floating, check_not_bool, check_tensor, in_place, one_node

__all__ = ["elu", "elu_", "selu", "celu", "gelu", "silu", "mish", "softplus", "logsigmoid",
           "softsign", "tanhshrink", "sigmoid", "tanh"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_GELU_K, _GELU_C = math.sqrt(2 / math.pi), 0.044715   # tanh(k (x + c x^3))
_SOFTPLUS_DEFAULTS = {"beta": 1.0, "threshold": 20.0}


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
    return one_node(ELU, input, params, inplace, "elu")


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

    Args:
        input: a floating tensor.
        inplace: write the result into input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.selu(tg.tensor([-1.0, 2.0]))
        tensor([-1.1113,  2.1014])
    """
    params = {"alpha": _SELU_ALPHA, "scale": _SELU_SCALE, "input_scale": 1.0}
    return one_node(ELU, input, params, inplace, "selu")


def celu(input, alpha=1.0, inplace=False):
    """input where positive, else alpha * (exp(input / alpha) - 1).

    Args:
        input: a floating tensor.
        alpha: the negative saturation value (not 0).
        inplace: write the result into input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.celu(tg.tensor([-1.0, 2.0]), 2.0)
        tensor([-0.7869,  2.0000])
    """
    if alpha == 0:
        raise ArgumentError("celu: alpha cannot be 0 (it divides the input)")
    params = {"alpha": float(alpha), "scale": 1.0, "input_scale": 1.0 / alpha}
    return one_node(ELU, input, params, inplace, "celu")


def _in_float32_if_half(fn, input):
    """fn(input), computed in float32 for float16 input and rounded back once, as PyTorch
    computes its float16 activations (x**3 or e**x alone would overflow float16)."""
    if input._data.dtype == np.float16:
        return fn(input.float()).half()
    return fn(input)


def _composite(fn, input, inplace, name):
    """A composite activation fn of a floating input: float16 computed in float32, the result
    written into input when ``inplace``."""
    check_floating(input, name)
    if inplace:
        return in_place(lambda x: _in_float32_if_half(fn, x), input, name + "_")
    return _in_float32_if_half(fn, input)


def _gelu_erf(x):
    return apply_unary(GELU, x, {"keep": GeluPhi()})


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
    check_floating(input, "gelu")
    if approximate not in ("none", "tanh"):
        raise ArgumentError(f"gelu: approximate must be either 'none' or 'tanh', got "
                            f"{approximate!r}")
    # NOTE: the exact form is one node (Note [gelu keeps Phi] in tapegrad.ops.nn.activation);
    # the tanh form a composite, faster here than one node that recomputes tanh.
    return _in_float32_if_half(_gelu_erf if approximate == "none" else _gelu_tanh, input)


def _silu(x):
    return x * _sigmoid(x)


def silu(input, inplace=False):
    """input * sigmoid(input) (also called swish).

    Args:
        input: a floating tensor (float16 computes in float32).
        inplace: write the result into input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.silu(tg.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.2689,  0.0000,  0.7311])
    """
    return _composite(_silu, input, inplace, "silu")


def _mish(x):
    return x * _tanh(apply_unary(SOFTPLUS, x, _SOFTPLUS_DEFAULTS))


def mish(input, inplace=False):
    """input * tanh(softplus(input)), finite with finite gradients for any finite input.

    Args:
        input: a floating tensor (float16 computes in float32).
        inplace: write the result into input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.mish(tg.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.3034,  0.0000,  0.8651])
    """
    return _composite(_mish, input, inplace, "mish")


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
    return one_node(SOFTPLUS, input, params, False, "softplus")


def logsigmoid(input):
    """log(sigmoid(input)) = -softplus(-input), finite for any finite input.

    Args:
        input: a floating tensor.

    Returns:
        A tensor like input, at most 0 (logsigmoid(-1e4) = -1e4).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.logsigmoid(tg.tensor([-1e4, 0.0]))
        tensor([-10000.0000,     -0.6931])
    """
    return one_node(LOGSIGMOID, input, {}, False, "logsigmoid")


def softsign(input):
    """input / (1 + |input|).

    Args:
        input: a tensor (integer input gives float32).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.softsign(tg.tensor([-3.0, 1.0]))
        tensor([-0.7500,  0.5000])
    """
    check_not_bool(input, "softsign")
    if input._data.dtype.kind in "biu":
        input = input.to(np.float32)
    return input / (1 + _abs(input))


def tanhshrink(input):
    """input - tanh(input).

    Args:
        input: a tensor (integer input gives float32).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.tanhshrink(tg.tensor([0.0, 1.0]))
        tensor([0.0000, 0.2384])
    """
    check_not_bool(input, "tanhshrink")
    if input._data.dtype.kind in "biu":
        input = input.to(np.float32)
    return input - _tanh(input)


def sigmoid(input):
    """1 / (1 + exp(-input)), as ``tapegrad.sigmoid``.

    Args:
        input: a tensor (integer input gives float32).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.sigmoid(tg.tensor([0.0]))
        tensor([0.5000])
    """
    return _sigmoid(check_tensor(input, "sigmoid"))


def tanh(input):
    """Hyperbolic tangent, as ``tapegrad.tanh``.

    Args:
        input: a tensor (integer input gives float32).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.tanh(tg.tensor([0.0, 1.0]))
        tensor([0.0000, 0.7616])
    """
    return _tanh(check_tensor(input, "tanh"))
