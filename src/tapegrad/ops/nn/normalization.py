"""Primitives of the nn normalization family: ``standardize`` ((x - mean) / sqrt(var + eps)) and
``rms_normalize`` (x / sqrt(mean(x^2) + eps)) over some dims. nn.functional's layer_norm,
batch_norm (training), group_norm and instance_norm are standardize followed by their affine
map; rms_norm is rms_normalize times its weight.

# Note [Normalization statistics]
The forward computes the statistics once, in two passes (the mean, then the mean square of
x - mean; never E[x^2] - E[x]^2, which cancels for |x| = 1e4 in float32 and can go negative),
and leaves them in the ``Moments`` passed in the op's params. The rule reads rstd = 1 /
sqrt(var + eps) from there in the fast path (arrays), and batch_norm and instance_norm read
mean and var for their running statistics, so nothing is computed twice. When the backward
records itself (create_graph=True), the rule computes rstd again from the saved input with
tapegrad ops, so that higher derivatives see how rstd depends on x.

The dims reduced are a leading block and a trailing block (layer_norm and rms_norm: the last
k dims; batch_norm: dim 0 and dims 2...; instance_norm and group_norm: dims 2...), so the fast
path works on a (P, C, L) view of x, reducing over P and L, and contracts with ``np.einsum``:
a sum of products without the temporary array (2-4x faster than ``(a * b).sum(axes)`` here).
"""
import math

import numpy as np

from ..elementwise import rsqrt
from ..registry import OpDef, apply_unary, register
from ..statistics import var

__all__ = []        # names exported as tapegrad.<name> (PyTorch's torch.<name>)
METHODS = {}        # Tensor methods this family binds

_ndarray = np.ndarray


class Moments:
    """The statistics a normalization's forward computed, shaped (1, C, 1) over the (P, C, L)
    view of its input: ``mean`` (None for rms_normalize), ``var`` (the biased variance, or
    the mean square) and ``rstd`` = 1 / sqrt(var + eps) (Note [Normalization statistics]).
    ``read``: the caller reads them after the op (running statistics), so vmap can't merge
    the examples' statistics into one array."""
    __slots__ = ("mean", "var", "rstd", "read")

    def __init__(self, read=False):
        self.mean = self.var = self.rstd = None
        self.read = read


def _np_normalize(x, view, eps, center, moments, **_):
    x3 = x.reshape(view)
    n = view[0] * view[2]
    if n:
        out = _statistics(x3, n, eps, center, moments)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):   # empty groups: nan statistics
            out = _statistics(x3, n, eps, center, moments)
    return out.reshape(x.shape)


def _statistics(x3, n, eps, center, moments):
    """Fill ``moments`` from the (P, C, L) view ``x3``; return the normalized view."""
    if center:
        mean = np.einsum("pcl->c", x3).reshape(1, -1, 1) / n
        d = x3 - mean
    else:
        mean, d = None, x3
    v = np.einsum("pcl,pcl->c", d, d).reshape(1, -1, 1) / n
    rstd = 1.0 / np.sqrt(v + eps)
    moments.mean, moments.var, moments.rstd = mean, v, rstd
    if center:
        d *= rstd                   # d is this call's own array: scaled in place
        return d
    return x3 * rstd


def _einsum_sum(a, b=None):
    """sum(a * b) over dims 0 and 2 of (P, C, L) arrays, kept as (1, C, 1), without the
    temporary a * b (b None: the plain sum)."""
    s = np.einsum("pcl->c", a) if b is None else np.einsum("pcl,pcl->c", a, b)
    return s.reshape(1, -1, 1)


def _recorded_rstd(ctx):
    """1 / sqrt(var + eps) as a recorded function of the saved input, for a backward that
    records itself (Note [Normalization statistics])."""
    x = ctx.x
    v = (var(x, ctx.axes, keepdim=True, correction=0) if ctx.center
         else (x * x).mean(ctx.axes, keepdim=True))
    return rsqrt(v + ctx.eps)


def _jacobian(ctx, v):
    """J v = rstd * (v - mean(v) - y * mean(v * y)) over the dims, y = out (rms_normalize:
    without the mean(v) term). J is symmetric, so this is both the VJP and the JVP."""
    if not ctx.view[0] * ctx.view[2]:       # empty groups, so an empty input: nothing to do
        return v * 0                        # (and no NumPy warning for a mean of nothing)
    y = ctx.out
    if type(v) is _ndarray and type(y) is _ndarray:   # fast path: the (P, C, L) view
        t, y, rstd, total = v.reshape(ctx.view), y.reshape(ctx.view), ctx.moments.rstd, _einsum_sum
    else:
        t, rstd = v, _recorded_rstd(ctx)

        def total(a, b=None):
            return (a if b is None else a * b).sum(ctx.axes, keepdim=True)
    scale = rstd / (ctx.view[0] * ctx.view[2])
    w = t * rstd - y * (total(t, y) * scale)     # one expression: NumPy reuses temporaries
    if ctx.center:
        w -= total(t) * scale
    return w.reshape(ctx.in_shape) if type(w) is _ndarray else w


def normalize_vjp(ctx, g):
    """d standardize: rstd * (g - mean(g) - y * mean(g * y)), y = out (fused: one node)."""
    return (_jacobian(ctx, g),)


def normalize_jvp(ctx, t):
    return _jacobian(ctx, t)


# NOTE: primitives for speed and stability: one node and three passes in the backward instead
# of the dozen nodes of the composite (mean, sub, pow, mean, add, rsqrt, mul), whose gradient
# also goes through the derivative of rsqrt at var + eps; and the statistics are reused by
# batch_norm's running averages. Two entries share the rules so that grad_fn names say which.
STANDARDIZE = register(OpDef("standardize", _np_normalize, normalize_vjp, normalize_jvp,
                             save=("x", "out")))
RMS_NORMALIZE = register(OpDef("rms_normalize", _np_normalize, normalize_vjp, normalize_jvp,
                               save=("x", "out")))


def _params(input, dims, eps, center, moments):
    """The op's params; ``dims`` (sorted, non-negative) must be a leading block plus a
    trailing block of the input's dims (an internal invariant: callers build them)."""
    shape = tuple(input.shape)
    kept = [i for i in range(len(shape)) if i not in dims]
    lead = kept[0] if kept else len(shape)
    trail = kept[-1] + 1 if kept else len(shape)
    assert kept == list(range(lead, trail)), f"dims {dims} are not a leading and trailing block"
    view = (math.prod(shape[:lead]), math.prod(shape[lead:trail]), math.prod(shape[trail:]))
    return {"axes": tuple(dims), "view": view, "in_shape": shape, "eps": float(eps),
            "center": center, "moments": Moments() if moments is None else moments}


def standardize(input, dims, eps, moments=None):
    """(input - mean) / sqrt(var + eps) over ``dims`` (the biased variance), as one node.

    Args:
        input: a float32 or float64 tensor (callers compute float16 in float32).
        dims: the sorted dims to normalize over: a leading block and a trailing block.
        eps: added to the variance.
        moments: a ``Moments`` to receive the statistics (a fresh one if None).

    Returns:
        The standardized tensor, shaped like ``input``.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.ops.nn.normalization import standardize
        >>> standardize(tg.tensor([[1.0, 3.0], [2.0, 6.0]]), (1,), 0.0)
        tensor([[-1.,  1.],
                [-1.,  1.]])
    """
    return apply_unary(STANDARDIZE, input, _params(input, dims, eps, True, moments))


def rms_normalize(input, dims, eps):
    """input / sqrt(mean(input^2) + eps) over ``dims``, as one node (dims as in
    :func:`standardize`).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.ops.nn.normalization import rms_normalize
        >>> rms_normalize(tg.tensor([[3.0, 4.0]]), (1,), 0.0)
        tensor([[0.8485, 1.1314]])
    """
    return apply_unary(RMS_NORMALIZE, input, _params(input, dims, eps, False, None))

