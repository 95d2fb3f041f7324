"""Activation modules: each wraps one function of tapegrad.nn.functional, as PyTorch's
torch.nn activation layers (same class names, constructor arguments, defaults and repr).

Only PReLU holds a parameter (``weight``); RReLU draws its slopes in training mode and uses
their mean in evaluation mode. MultiheadAttention lives in its own file.
"""
import warnings

from ..._core.errors import ArgumentError, ShapeError
from ...ops.creation import empty
from .. import functional as F, init
from ..parameter import Parameter
from .linear import _count
from .module import Module

__all__ = ["ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish",
           "Softplus", "Softsign", "Hardtanh", "Hardsigmoid", "Hardswish", "Hardshrink",
           "Softshrink", "Tanhshrink", "Threshold", "LogSigmoid", "Sigmoid", "Tanh", "PReLU",
           "RReLU", "GLU", "Softmax", "LogSoftmax", "Softmin", "Softmax2d"]


class _BoundsError(ArgumentError, AssertionError):
    """Hardtanh's max_val not above min_val (PyTorch asserts there, so AssertionError too)."""


def _with_inplace(text, inplace):
    """PyTorch's repr habit: ``inplace=True`` is shown, the default False is not."""
    if not inplace:
        return text
    return f"{text}, inplace=True" if text else "inplace=True"


class _Inplace(Module):
    """An activation whose only argument is ``inplace``."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self):
        return _with_inplace("", self.inplace)


# ---- piecewise-linear ----------------------------------------------------------------------------
class ReLU(_Inplace):
    """max(input, 0) elementwise: :func:`tapegrad.nn.functional.relu`.

    Args:
        inplace: overwrite the input with the result.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.ReLU()(tg.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    def forward(self, input):
        return F.relu(input, inplace=self.inplace)


class Hardtanh(Module):
    """input clamped to [min_val, max_val]: :func:`tapegrad.nn.functional.hardtanh`.

    Args:
        min_val, max_val: the bounds (min_val < max_val).
        inplace: overwrite the input with the result.
        min_value, max_value: deprecated spellings of min_val and max_val (with a warning).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> m = nn.Hardtanh(-2.0, 2.0); m
        Hardtanh(min_val=-2.0, max_val=2.0)
        >>> m(tg.tensor([-3.0, 1.0, 5.0]))
        tensor([-2.,  1.,  2.])
    """

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False, min_value=None,
                 max_value=None):
        super().__init__()
        if min_value is not None:
            warnings.warn("Hardtanh: keyword argument `min_value` is deprecated and renamed "
                          "to `min_val`", FutureWarning, stacklevel=2)
            min_val = min_value
        if max_value is not None:
            warnings.warn("Hardtanh: keyword argument `max_value` is deprecated and renamed "
                          "to `max_val`", FutureWarning, stacklevel=2)
            max_val = max_value
        if not max_val > min_val:
            raise _BoundsError(f"{type(self).__name__}: max_val ({max_val}) must be greater "
                                f"than min_val ({min_val}).")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        return _with_inplace(f"min_val={self.min_val}, max_val={self.max_val}", self.inplace)


class ReLU6(Hardtanh):
    """min(max(input, 0), 6) elementwise (a Hardtanh on [0, 6], as PyTorch's).

    Args:
        inplace: overwrite the input with the result.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.ReLU6()(tg.tensor([-1.0, 3.0, 8.0]))
        tensor([0., 3., 6.])
    """

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return _with_inplace("", self.inplace)


class LeakyReLU(Module):
    """input where positive, else negative_slope * input: :func:`~tapegrad.nn.functional.
    leaky_relu`.

    Args:
        negative_slope: the slope for input <= 0 (default 0.01).
        inplace: overwrite the input with the result.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.LeakyReLU(0.5)(tg.tensor([-2.0, 3.0]))
        tensor([-1.,  3.])
    """

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self):
        return _with_inplace(f"negative_slope={self.negative_slope}", self.inplace)


class Threshold(Module):
    """input where input > threshold, else value: :func:`tapegrad.nn.functional.threshold`.

    Args:
        threshold: the cut.
        value: what replaces input at or below the cut.
        inplace: overwrite the input with the result.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.Threshold(1.0, -3.0)(tg.tensor([0.5, 2.0]))
        tensor([-3.,  2.])
    """

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self):
        return _with_inplace(f"threshold={self.threshold}, value={self.value}", self.inplace)


class _Shrink(Module):
    """Hardshrink and Softshrink: one argument, ``lambd``, shown bare in the repr."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def extra_repr(self):
        return f"{self.lambd}"


class Hardshrink(_Shrink):
    """input where |input| > lambd, else 0: :func:`tapegrad.nn.functional.hardshrink`.

    Args:
        lambd: the half-width of the zeroed band (default 0.5).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.Hardshrink()(tg.tensor([-1.0, 0.25, 2.0]))
        tensor([-1.,  0.,  2.])
    """

    def forward(self, input):
        return F.hardshrink(input, self.lambd)


class Softshrink(_Shrink):
    """input shrunk towards 0 by lambd (0 inside [-lambd, lambd]):
    :func:`tapegrad.nn.functional.softshrink`.

    Args:
        lambd: the shrinkage, at least 0 (default 0.5).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.Softshrink()(tg.tensor([-1.0, 0.25, 2.0]))
        tensor([-0.5000,  0.0000,  1.5000])
    """

    def forward(self, input):
        return F.softshrink(input, self.lambd)


class Hardsigmoid(_Inplace):
    """A piecewise-linear sigmoid, clamp(input / 6 + 1/2, 0, 1):
    :func:`tapegrad.nn.functional.hardsigmoid`.

    Args:
        inplace: overwrite the input with the result (not shown in the repr, as PyTorch's).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.Hardsigmoid()(tg.tensor([-4.0, 0.0, 1.5]))
        tensor([0.0000, 0.5000, 0.7500])
    """

    def forward(self, input):
        return F.hardsigmoid(input, self.inplace)

    def extra_repr(self):
        return ""


class Hardswish(_Inplace):
    """input * hardsigmoid(input): :func:`tapegrad.nn.functional.hardswish`.

    Args:
        inplace: overwrite the input with the result (not shown in the repr, as PyTorch's).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.Hardswish()(tg.tensor([-4.0, 1.5, 4.0]))
        tensor([-0.0000,  1.1250,  4.0000])
    """

    def forward(self, input):
        return F.hardswish(input, self.inplace)

    def extra_repr(self):
        return ""


class PReLU(Module):
    """input where positive, else weight * input, with a learned slope shared by all
    channels or one per channel (dim 1 of the input): :func:`~tapegrad.nn.functional.prelu`.

    Args:
        num_parameters: 1 (one shared slope) or the number of channels.
        init: the initial value of every slope (default 0.25).
        device, dtype: of the parameter (default float32 on the CPU).

    Attributes:
        weight: the slopes, shape (num_parameters,).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> m = nn.PReLU(2); m
        PReLU(num_parameters=2)
        >>> m(tg.tensor([[-4.0, 4.0]]))
        tensor([[-1.,  4.]], grad_fn=<AddBackward0>)
    """

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = _count("PReLU", "num_parameters", num_parameters)
        self.init = init
        self.weight = Parameter(empty(self.num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        """Set every slope to ``init``."""
        init.constant_(self.weight, self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """Randomized leaky ReLU: in training mode each negative element gets a slope drawn
    uniformly from [lower, upper] (tapegrad's generator); in evaluation mode the slope is
    (lower + upper) / 2. :func:`tapegrad.nn.functional.rrelu`.

    Args:
        lower, upper: the range of the slopes (default 1/8 and 1/3).
        inplace: overwrite the input with the result.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> m = nn.RReLU(0.1, 0.3).eval(); m
        RReLU(lower=0.1, upper=0.3)
        >>> m(tg.tensor([-2.0, 2.0]))
        tensor([-0.4000,  2.0000])
    """

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self):
        return _with_inplace(f"lower={self.lower}, upper={self.upper}", self.inplace)


# ---- smooth --------------------------------------------------------------------------------------
class _Alpha(Module):
    """ELU and CELU: ``alpha`` and ``inplace``."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def extra_repr(self):
        return _with_inplace(f"alpha={self.alpha}", self.inplace)


class ELU(_Alpha):
    """input where positive, else alpha * (exp(input) - 1): :func:`~tapegrad.nn.functional.elu`.

    Args:
        alpha: the negative saturation value (default 1.0).
        inplace: overwrite the input with the result.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.ELU(2.0)(tg.tensor([0.0, 3.0]))
        tensor([0., 3.])
    """

    def forward(self, input):
        return F.elu(input, self.alpha, self.inplace)


class CELU(_Alpha):
    """max(0, input) + min(0, alpha * (exp(input / alpha) - 1)):
    :func:`tapegrad.nn.functional.celu`.

    Args:
        alpha: the negative saturation value (default 1.0).
        inplace: overwrite the input with the result.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.CELU()(tg.tensor([0.0, 3.0]))
        tensor([0., 3.])
    """

    def forward(self, input):
        return F.celu(input, self.alpha, self.inplace)


class SELU(_Inplace):
    """Scaled ELU with the self-normalizing constants: :func:`tapegrad.nn.functional.selu`.

    Args:
        inplace: overwrite the input with the result.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.SELU()(tg.tensor([0.0, 1.0]))
        tensor([0.0000, 1.0507])
    """

    def forward(self, input):
        return F.selu(input, self.inplace)


class GELU(Module):
    """Gaussian error linear unit, input * Phi(input): :func:`tapegrad.nn.functional.gelu`.

    Args:
        approximate: 'none' (the exact erf form) or 'tanh' (the tanh approximation).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.GELU()(tg.tensor([0.0, 1.0]))
        tensor([0.0000, 0.8413])
    """

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(_Inplace):
    """input * sigmoid(input) (swish): :func:`tapegrad.nn.functional.silu`.

    Args:
        inplace: overwrite the input with the result.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.SiLU()(tg.tensor([0.0, 1.0]))
        tensor([0.0000, 0.7311])
    """

    def forward(self, input):
        return F.silu(input, inplace=self.inplace)


class Mish(_Inplace):
    """input * tanh(softplus(input)): :func:`tapegrad.nn.functional.mish`.

    Args:
        inplace: overwrite the input with the result.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.Mish()(tg.tensor([0.0, 1.0]))
        tensor([0.0000, 0.8651])
    """

    def forward(self, input):
        return F.mish(input, inplace=self.inplace)


class Softplus(Module):
    """log(1 + exp(beta * input)) / beta, linear where beta * input > threshold:
    :func:`tapegrad.nn.functional.softplus`.

    Args:
        beta: the sharpness (default 1.0).
        threshold: above it (in beta * input) the output is input (default 20.0).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.Softplus()(tg.tensor([0.0, 30.0]))
        tensor([ 0.6931, 30.0000])
    """

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softsign(Module):
    """input / (1 + |input|): :func:`tapegrad.nn.functional.softsign`.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.Softsign()(tg.tensor([-1.0, 3.0]))
        tensor([-0.5000,  0.7500])
    """

    def forward(self, input):
        return F.softsign(input)


class Tanhshrink(Module):
    """input - tanh(input): :func:`tapegrad.nn.functional.tanhshrink`.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.Tanhshrink()(tg.tensor([0.0, 1.0]))
        tensor([0.0000, 0.2384])
    """

    def forward(self, input):
        return F.tanhshrink(input)


class LogSigmoid(Module):
    """log(sigmoid(input)), finite for large negative input:
    :func:`tapegrad.nn.functional.logsigmoid`.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.LogSigmoid()(tg.tensor([0.0, -100.0]))
        tensor([  -0.6931, -100.0000])
    """

    def forward(self, input):
        return F.logsigmoid(input)


class Sigmoid(Module):
    """1 / (1 + exp(-input)): :func:`tapegrad.nn.functional.sigmoid`.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.Sigmoid()(tg.tensor([0.0]))
        tensor([0.5000])
    """

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """The hyperbolic tangent: :func:`tapegrad.nn.functional.tanh`.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.Tanh()(tg.tensor([0.0, 1.0]))
        tensor([0.0000, 0.7616])
    """

    def forward(self, input):
        return F.tanh(input)


# ---- along a dim ---------------------------------------------------------------------------------
class GLU(Module):
    """Gated linear unit, a * sigmoid(b) for the two halves a, b of the input along ``dim``:
    :func:`tapegrad.nn.functional.glu`.

    Args:
        dim: the dim that is halved (default -1; its size must be even).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.GLU()(tg.tensor([[1.0, 2.0, 0.0, 1e4]]))
        tensor([[0.5000, 2.0000]])
    """

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


# NOTE: _stacklevel=5 points F's implicit-dim warning (dim=None) at the caller of the module:
# warn <- F's dim helper <- F.softmax <- forward <- Module.__call__ <- the caller.
class _AlongDim(Module):
    """Softmax, LogSoftmax and Softmin: one argument, ``dim`` (None: PyTorch's implicit
    choice, with a deprecation warning)."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """exp(input) / sum(exp(input)) along ``dim``: :func:`tapegrad.nn.functional.softmax`.

    Args:
        dim: the dim whose slices sum to 1.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.Softmax(dim=1)(tg.tensor([[0.0, 0.0], [1e4, 0.0]]))
        tensor([[0.5000, 0.5000],
                [1.0000, 0.0000]])
    """

    def forward(self, input):
        return F.softmax(input, self.dim, _stacklevel=5)


class LogSoftmax(_AlongDim):
    """log(softmax(input)) along ``dim``: :func:`tapegrad.nn.functional.log_softmax`.

    Args:
        dim: the dim of the softmax.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.LogSoftmax(dim=0)(tg.tensor([0.0, 0.0]))
        tensor([-0.6931, -0.6931])
    """

    def forward(self, input):
        return F.log_softmax(input, self.dim, _stacklevel=5)


class Softmin(_AlongDim):
    """softmax(-input) along ``dim``: :func:`tapegrad.nn.functional.softmin`.

    Args:
        dim: the dim whose slices sum to 1.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.Softmin(dim=0)(tg.tensor([0.0, 1e4]))
        tensor([1., 0.])
    """

    def forward(self, input):
        return F.softmin(input, self.dim, _stacklevel=5)


class Softmax2d(Module):
    """Softmax over the channels (dim -3) at every location of a (C, H, W) or (N, C, H, W)
    input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.Softmax2d()(tg.zeros(1, 2, 1, 1)).flatten()
        tensor([0.5000, 0.5000])
    """

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ShapeError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D "
                             f"(shape {tuple(input.shape)}) instead; give (C, H, W) or "
                             "(N, C, H, W).")
        return F.softmax(input, -3, _stacklevel=5)
