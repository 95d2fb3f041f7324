"""Primitives of the nn activation family (used by tapegrad.nn.functional): softmax and
log_softmax (stable: the max is subtracted), and the smooth pointwise activations whose
composites would take 4-6 nodes (gelu, silu, softplus, mish, logsigmoid, elu).

# Note [Smooth activations as primitives]
gelu, silu, softplus, mish, logsigmoid and elu (which also gives celu and selu) are one node
each, not composites: a composite records 4-6 nodes and walks as many NumPy passes back, and
the one-node forms run a fwd+bwd of a (128, 512) float32 tensor faster (figures in
benchmarks/activation_bench.py). They are also the stable forms: softplus, logsigmoid and
mish go through logaddexp, so e**x never overflows (softplus(1e4) = 1e4, logsigmoid(-1e4) =
-1e4), and every derivative stays finite for |x| up to 1e4. Each rule is g * f'(x), with f'
written in tapegrad ops, so the same rule records itself under create_graph=True and higher
derivatives come free. float16 input computes in float32 and rounds once, as PyTorch does.
"""
import math

import numpy as np

from ..._core.dtypes import to_numpy_dtype
from ..._core.errors import DTypeError
from ..._core.tensor import Tensor
from ..elementwise import exp, sigmoid, tanh, where
from ..reduction import half_in_float32, sum
from ..registry import OpDef, apply_unary, register
from ..shape import normalize_dim
from ..special import erf

__all__ = ["softmax", "log_softmax"]   # exported as tapegrad.<name> (PyTorch's torch.<name>)

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_TANH_K = math.sqrt(2 / math.pi)       # gelu's tanh approximation: tanh(k (x + c x^3))
_TANH_C = 0.044715


# ---- softmax and log_softmax ---------------------------------------------------------------------
def _shifted(x, dim):
    """x minus its max along ``dim`` (None for a 0-d x). An infinite max is subtracted too:
    all -inf, or a +inf, gives nan, as in PyTorch."""
    if dim is None or x.size == 0:
        return x - x          # 0-d: the one element is its own max; empty: nothing to do
    return x - np.amax(x, axis=dim, keepdims=True)


def _np_softmax(x, dim):
    with np.errstate(invalid="ignore"):
        e = np.exp(_shifted(x, dim))
        return e / np.sum(e, axis=dim, keepdims=True)


def _np_log_softmax(x, dim):
    with np.errstate(invalid="ignore", divide="ignore"):   # log(0): only an empty dim
        z = _shifted(x, dim)
        return z - np.log(np.sum(np.exp(z), axis=dim, keepdims=True))


def softmax_vjp(ctx, g):
    """d softmax = out * (g - sum(g * out)) along dim (uses out)."""
    out = ctx.out
    return (out * (g - sum(g * out, ctx.dim, True)),)


def softmax_jvp(ctx, t):
    out = ctx.out
    return out * (t - sum(t * out, ctx.dim, True))


def log_softmax_vjp(ctx, g):
    """d log_softmax = g - softmax * sum(g) along dim; softmax = exp(out) <= 1 (uses out)."""
    return (g - exp(ctx.out) * sum(g, ctx.dim, True),)


def log_softmax_jvp(ctx, t):
    return t - sum(exp(ctx.out) * t, ctx.dim, True)


# NOTE: primitives for stability and speed: the max is subtracted before exp (no overflow for
# |x| = 1e4), log_softmax never takes the log of a rounded-to-zero softmax, and each is one
# node whose rule is two NumPy passes. float16 accumulates in float32 (half_in_float32).
SOFTMAX = register(OpDef("softmax", half_in_float32(_np_softmax), softmax_vjp, softmax_jvp,
                         save=("out",)))
LOG_SOFTMAX = register(OpDef("log_softmax", half_in_float32(_np_log_softmax), log_softmax_vjp,
                             log_softmax_jvp, save=("out",)))


def _softmax_input(input, dim, dtype, name):
    """(input cast to ``dtype`` when given, the params for the primitive); integer input
    without a floating ``dtype`` is a DTypeError, as PyTorch's."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    if dtype is not None:
        if to_numpy_dtype(dtype).kind != "f":
            raise DTypeError(f"{name}: dtype must be a floating dtype, got {dtype}, as in "
                             "PyTorch (which has no integer softmax).")
        input = input.to(dtype)
    kind = input._data.dtype.kind
    if kind != "f":
        raise DTypeError(
            f"{name}: not implemented for dtype {input._data.dtype}, as in PyTorch; pass "
            "dtype=tapegrad.float32 (it casts the input first) or convert with .float().")
    ndim = input._data.ndim
    d = normalize_dim(dim, ndim, name)
    return input, {"dim": d if ndim else None}


def softmax(input, dim, dtype=None):
    """Softmax along ``dim``: exp(x) / sum(exp(x)), computed without overflow.

    Args:
        input: a floating tensor (float16 accumulates in float32 and returns float16).
        dim: the dim that sums to 1 (an int; 0 or -1 for a 0-d tensor, which gives 1).
        dtype: if given, the input is cast to it first (e.g. integer input to float32).

    Returns:
        A tensor like input whose slices along ``dim`` are positive and sum to 1.

    Example:
        >>> import tapegrad as tg
        >>> tg.softmax(tg.tensor([1e4, 1e4, -1e4]), 0)
        tensor([0.5000, 0.5000, 0.0000])
    """
    input, params = _softmax_input(input, dim, dtype, "softmax")
    return apply_unary(SOFTMAX, input, params)


def log_softmax(input, dim, dtype=None):
    """log(softmax(x)) along ``dim``, as x - max - log(sum(exp(x - max))): finite where the
    softmax itself would round to 0.

    Args:
        input: a floating tensor (float16 accumulates in float32 and returns float16).
        dim: the dim normalized over (an int; 0 or -1 for a 0-d tensor, which gives 0).
        dtype: if given, the input is cast to it first.

    Returns:
        A tensor like input; its gradient is g - softmax * sum(g) along ``dim``.

    Example:
        >>> import tapegrad as tg
        >>> tg.log_softmax(tg.tensor([1e4, -1e4]), 0)
        tensor([     0., -20000.])
    """
    input, params = _softmax_input(input, dim, dtype, "log_softmax")
    return apply_unary(LOG_SOFTMAX, input, params)


def _softmax_method(self, dim, dtype=None):
    """x.softmax(dim, dtype=None): :func:`softmax` along ``dim``."""
    return softmax(self, dim, dtype)


def _log_softmax_method(self, dim, dtype=None):
    """x.log_softmax(dim, dtype=None): :func:`log_softmax` along ``dim``."""
    return log_softmax(self, dim, dtype)


METHODS = {"softmax": _softmax_method, "log_softmax": _log_softmax_method}


# ---- smooth pointwise activations (Note [Smooth activations as primitives]) ----------------------
def _pointwise(name, np_fn, deriv):
    """One-node activation f(x, **params): vjp = g * f'(x), jvp = t * f'(x) (saves x)."""
    def forward(x, **params):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return np_fn(x, **params)

    def vjp(ctx, g):
        return (g * deriv(ctx.x, ctx),)

    def jvp(ctx, t):
        return t * deriv(ctx.x, ctx)
    forward.__name__ = f"_np_{name}"
    vjp.__name__, jvp.__name__ = f"{name}_vjp", f"{name}_jvp"   # readable tracebacks
    return register(OpDef(name, half_in_float32(forward), vjp, jvp, save=("x",)))


def _np_softplus(x, beta, threshold):
    z = x * beta
    return np.where(z > threshold, x, np.logaddexp(0, z) / beta).astype(x.dtype, copy=False)


def _np_sigmoid(x):
    """1 / (1 + e**-x) without overflow: e**-x is taken of -|x| only."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


def _np_gelu(x, approximate):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(_TANH_K * (x + _TANH_C * x * x * x)))
    return 0.5 * x * (1 + erf(x * _SQRT_HALF))


def _np_mish(x):
    return x * np.tanh(np.logaddexp(0, x))


def _np_elu(x, alpha, scale, input_scale):
    # NOTE: expm1 of min(x, 0): the branch not taken never overflows.
    neg = (scale * alpha) * np.expm1(np.minimum(x, 0) * input_scale)
    return np.where(x > 0, x * scale, neg).astype(x.dtype, copy=False)


def _sigmoid_of(x):
    """sigmoid in tapegrad ops, without overflow warnings on plain arrays."""
    return _np_sigmoid(x) if isinstance(x, np.ndarray) else sigmoid(x)


def _softplus_deriv(x, ctx):
    """d softplus = sigmoid(beta x) below the threshold, 1 above (PyTorch's rule)."""
    z = x * ctx.beta
    return where(z > ctx.threshold, 1.0, _sigmoid_of(z))


def _gelu_deriv(x, ctx):
    """d gelu = Phi(x) + x phi(x); tanh form: its exact derivative."""
    if ctx.approximate == "tanh":
        t = tanh(_TANH_K * (x + _TANH_C * x * x * x))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (_TANH_K * (1 + 3 * _TANH_C * x * x))
    return 0.5 * (1 + erf(x * _SQRT_HALF)) + x * (_INV_SQRT_2PI * exp(-0.5 * x * x))


def _silu_deriv(x, ctx):
    """d silu = s (1 + x (1 - s)), s = sigmoid(x)."""
    s = _sigmoid_of(x)
    return s * (1 + x * (1 - s))


def _mish_deriv(x, ctx):
    """d mish = tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2), sp = softplus(x)."""
    t = tanh(softplus(x))
    return t + x * _sigmoid_of(x) * (1 - t * t)


def _logsigmoid_deriv(x, ctx):
    """d logsigmoid = sigmoid(-x)."""
    return _sigmoid_of(-x)


def _elu_deriv(x, ctx):
    """d elu = scale for x > 0, else scale alpha input_scale e**(x input_scale) (at 0 too,
    as PyTorch)."""
    k = ctx.scale * ctx.alpha * ctx.input_scale
    return where(x > 0, ctx.scale, k * exp(where(x > 0, 0.0, x) * ctx.input_scale))


SOFTPLUS = _pointwise("softplus", _np_softplus, _softplus_deriv)
GELU = _pointwise("gelu", _np_gelu, _gelu_deriv)
SILU = _pointwise("silu", lambda x: x * _np_sigmoid(x), _silu_deriv)
MISH = _pointwise("mish", _np_mish, _mish_deriv)
LOGSIGMOID = _pointwise("logsigmoid", lambda x: -np.logaddexp(0, -x), _logsigmoid_deriv)
ELU = _pointwise("elu", _np_elu, _elu_deriv)

# NOTE: the rules' own softplus: beta 1 and no linear branch (logaddexp never overflows).
_SOFTPLUS_PARAMS = {"beta": 1.0, "threshold": math.inf}


def softplus(x):
    """softplus(x) = log(1 + e**x) on arrays or Tensors (for mish's rule)."""
    if isinstance(x, np.ndarray):
        return SOFTPLUS.forward(x, **_SOFTPLUS_PARAMS)
    return apply_unary(SOFTPLUS, x, _SOFTPLUS_PARAMS)
