"""Primitives of the nn activation family (used by tapegrad.nn.functional): softmax and
log_softmax (stable: the max is subtracted), and the pointwise activations leaky_relu,
hardtanh, threshold, hardshrink, softshrink, hardsigmoid, hardswish, softplus, logsigmoid and
elu (which also gives celu and selu).

# Note [Pointwise activations as primitives]
Most pointwise activations are one node each, for speed and stability. np.where with a mask
that follows the signs of the data costs ~10x an exp here (branch mispredictions), so the
piecewise-linear ones (hardtanh and relu6, leaky_relu, threshold, hardshrink, softshrink,
hardsigmoid, hardswish) compute with min/max/clip and multiply g by bool masks: a fwd+bwd of
a (128, 512) float32 tensor went from 1.4-5 ms as where-composites to about relu's cost.
softplus, logsigmoid and elu never overflow (log(1 + e**z) as max(z, 0) + log1p(e**-|z|);
elu takes expm1 of min(x, 0)), so softplus(1e4) = 1e4 and logsigmoid(-1e4) = -1e4;
softplus and logsigmoid's rules read the saved output (softplus' = 1 - e**(-beta out),
logsigmoid' = 1 - e**out, both accurate through expm1). A composite of relu/abs would also
get softplus'(0) wrong (0 instead of 1/2: relu'(0) = abs'(0) = 0).
The rules are written in tapegrad ops, so they record themselves under create_graph=True
(their masks are constants there, as the derivatives of piecewise-linear maps are).
gelu (exact) is one node too, whose forward leaves Phi(x) for its rule (Note [gelu keeps
Phi]); silu, mish and the tanh gelu stay composites (tapegrad.nn.functional.
activations_smooth): measured, they are faster than one-node forms, whose backward must
recompute the sigmoid or tanh (figures in benchmarks/activation_bench.py).
float16 input computes in float32 and rounds once, as PyTorch does.
"""
import numpy as np

from ..._core.dtypes import to_numpy_dtype
from ..._core.errors import DTypeError
from ..._core.tensor import Tensor, array_of
from ..elementary import expm1
from ..elementwise import clamp, exp, relu, sign, where
from ..special import _erf, erf
from ..reduction import half_in_float32, sum
from ..registry import OpDef, apply_unary, register
from ..shape import normalize_dim

__all__ = ["softmax", "log_softmax"]   # exported as tapegrad.<name> (PyTorch's torch.<name>)


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


def softmax_args(input, dim, dtype, name):
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
    input, params = softmax_args(input, dim, dtype, "softmax")
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
    input, params = softmax_args(input, dim, dtype, "log_softmax")
    return apply_unary(LOG_SOFTMAX, input, params)


def _softmax_method(self, dim, dtype=None):
    """x.softmax(dim, dtype=None): :func:`softmax` along ``dim``."""
    return softmax(self, dim, dtype)


def _log_softmax_method(self, dim, dtype=None):
    """x.log_softmax(dim, dtype=None): :func:`log_softmax` along ``dim``."""
    return log_softmax(self, dim, dtype)


METHODS = {"softmax": _softmax_method, "log_softmax": _log_softmax_method}


# ---- pointwise activations (Note [Pointwise activations as primitives]) ----------------------
def _pointwise(name, np_fn, grad, save=("x",)):
    """One-node activation f(x, **params): ``grad(ctx, g)`` gives g * f'(x) from what ``save``
    keeps; it is both the vjp and (with the tangent for g) the jvp."""
    def forward(x, **params):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return np_fn(x, **params)

    def vjp(ctx, g):
        return (grad(ctx, g),)

    def jvp(ctx, t):
        return grad(ctx, t)
    forward.__name__ = f"_np_{name}"
    vjp.__name__, jvp.__name__ = f"{name}_vjp", f"{name}_jvp"   # readable tracebacks
    return register(OpDef(name, half_in_float32(forward), vjp, jvp, save=save))


# Piecewise-linear: NumPy's min/max/clip forwards, and rules that multiply g by bool masks (the
# kinks as PyTorch: strict comparisons give gradient 0 at the bounds of hardtanh, hardsigmoid,
# hardshrink, softshrink and threshold; leaky_relu takes the slope at 0).
def _np_leaky_relu(x, negative_slope):
    return np.maximum(x, 0) + negative_slope * np.minimum(x, 0)


def _leaky_relu_grad(ctx, g):
    """g for x > 0, negative_slope g for x <= 0."""
    x = ctx.x
    return g * (x > 0) + (g * (x <= 0)) * ctx.negative_slope


def _hardtanh_grad(ctx, g):
    """g strictly inside (min_val, max_val), 0 outside and at the bounds."""
    x = ctx.x
    return g * ((x > ctx.min_val) & (x < ctx.max_val))


def _np_threshold(x, threshold, value):
    return np.where(x > threshold, x, np.asarray(value, dtype=x.dtype))


def _threshold_grad(ctx, g):
    """g where x > threshold, else 0."""
    return g * (ctx.x > ctx.threshold)


def _np_hardshrink(x, lambd):
    return x * (np.abs(x) > lambd) + 0.0     # + 0.0: a zeroed -x is 0, not -0


def _shrink_grad(ctx, g):
    """g where |x| > lambd, else 0 (hardshrink and softshrink)."""
    return g * (abs(ctx.x) > ctx.lambd)


def _np_hardsigmoid(x):
    return np.clip(x + 3, 0, 6) / 6


def _hardsigmoid_grad(ctx, g):
    """g / 6 strictly inside (-3, 3), else 0."""
    x = ctx.x
    return (g * ((x > -3) & (x < 3))) / 6


def _np_hardswish(x):
    return x * np.clip(x + 3, 0, 6) / 6


def _hardswish_grad(ctx, g):
    """g (x / 3 + 1/2) inside (-3, 3), g for x >= 3, 0 for x <= -3 (as PyTorch)."""
    x = ctx.x
    # NOTE: x clamped: a mask of 0 times an infinite x / 3 would be nan.
    return g * (((x > -3) & (x < 3)) * (clamp(x, -3.0, 3.0) / 3 + 0.5) + (x >= 3))


LEAKY_RELU = _pointwise("leaky_relu", _np_leaky_relu, _leaky_relu_grad)
HARDTANH = _pointwise("hardtanh", lambda x, min_val, max_val: np.clip(x, min_val, max_val),
                      _hardtanh_grad)
THRESHOLD = _pointwise("threshold", _np_threshold, _threshold_grad)
HARDSHRINK = _pointwise("hardshrink", _np_hardshrink, _shrink_grad)
SOFTSHRINK = _pointwise("softshrink", lambda x, lambd: x - np.clip(x, -lambd, lambd),
                        _shrink_grad)
HARDSIGMOID = _pointwise("hardsigmoid", _np_hardsigmoid, _hardsigmoid_grad)
HARDSWISH = _pointwise("hardswish", _np_hardswish, _hardswish_grad)


# Smooth: forwards that never overflow, rules without np.where.
def _log1p_exp(z):
    """log(1 + e**z) for any finite z: max(z, 0) + log1p(e**-|z|), never overflowing."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _np_softplus(x, beta, threshold):
    z = x if beta == 1 else x * beta
    out = _log1p_exp(z)
    if beta != 1:
        out /= beta
    linear = z > threshold
    if linear.any():
        np.copyto(out, x, where=linear)
    return out


def _softplus_grad(ctx, g):
    """g sigmoid(beta x) = g (1 - e**(-beta out)), from out: one expm1, no overflow; g where
    beta x > threshold (the linear branch), as PyTorch."""
    x, beta = ctx.x, ctx.beta
    d = -expm1(ctx.out * -beta)
    linear = (x if beta == 1 else x * beta) > ctx.threshold
    if array_of(linear).any():      # NOTE: a select only where some x takes the linear branch
        d = where(linear, 1.0, d)
    return g * d


def _np_logsigmoid(x):
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


def _logsigmoid_grad(ctx, g):
    """g sigmoid(-x) = g (1 - e**out) (out <= 0: no overflow)."""
    return g * -expm1(ctx.out)


def _np_elu(x, alpha, scale, input_scale):
    # NOTE: expm1 of min(x, 0): the branch not taken never overflows (and is 0 for x > 0).
    return scale * np.maximum(x, 0) + (scale * alpha) * np.expm1(np.minimum(x, 0) * input_scale)


def _elu_grad(ctx, g):
    """g scale for x > 0, else g scale alpha input_scale e**(x input_scale) (at 0 too, as
    PyTorch). NOTE: from x, not from out + scale alpha, which cancels to 0 far below 0; and
    min(x, 0) as clamp(x, max=0), whose gradient at 0 is 1 (the negative branch's)."""
    x = ctx.x
    k = ctx.scale * ctx.alpha * ctx.input_scale
    return g * (k * exp(clamp(x, max=0.0) * ctx.input_scale) + sign(relu(x)) * (ctx.scale - k))


SOFTPLUS = _pointwise("softplus", _np_softplus, _softplus_grad, save=("x", "out"))
LOGSIGMOID = _pointwise("logsigmoid", _np_logsigmoid, _logsigmoid_grad, save=("out",))
ELU = _pointwise("elu", _np_elu, _elu_grad)


# Note [gelu keeps Phi]
# gelu(x) = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2; d gelu = Phi(x) + x phi(x). As a
# composite it records five nodes over activation-sized temporaries, and a one-node rule that
# recomputed Phi would pay for erf twice. So the forward leaves Phi in a ``GeluPhi`` passed in
# the op's params (as normalization's forward leaves its Moments), and the fast rule reads it:
# one erf per step, and about half the composite's time for a fwd+bwd of (512, 512) float32.
# A recorded rule (create_graph=True) computes Phi again with tapegrad ops, so that higher
# derivatives see how it depends on x.
_SQRT_HALF = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327


class GeluPhi:
    """Phi(x) as gelu's forward computed it (Note [gelu keeps Phi])."""
    __slots__ = ("phi",)

    def __init__(self):
        self.phi = None


def _np_gelu(x, keep):
    phi = _erf(x * _SQRT_HALF)
    phi += 1.0
    phi *= 0.5
    keep.phi = phi
    return x * phi


def _gelu_slope(ctx):
    """Phi(x) + x phi(x): in place on arrays from the forward's Phi; with tapegrad ops on
    Tensors."""
    x = ctx.x
    if type(x) is np.ndarray and x.ndim and ctx.keep.phi is not None:   # (0-d: scalars)
        d = x * x
        d *= -0.5
        np.exp(d, out=d)
        d *= x
        d *= _INV_SQRT_2PI
        d += ctx.keep.phi
        return d
    return 0.5 + 0.5 * erf(x * _SQRT_HALF) + x * exp(-0.5 * x * x) * _INV_SQRT_2PI


def gelu_vjp(ctx, g):
    """d gelu = g (Phi(x) + x phi(x))."""
    d = _gelu_slope(ctx)
    if type(d) is np.ndarray and type(g) is np.ndarray:
        d *= g          # d is this rule's own temporary, shaped like g
        return (d,)
    return (g * d,)


def gelu_jvp(ctx, t):
    return t * _gelu_slope(ctx)


GELU = register(OpDef("gelu", _np_gelu, gelu_vjp, gelu_jvp, save=("x",)))
