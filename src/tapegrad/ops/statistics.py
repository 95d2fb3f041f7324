"""Statistical reductions: var/std (and var_mean/std_mean), logsumexp, nansum, nanmean,
all/any, count_nonzero; and, from order_statistics.py, median/nanmedian, mode, quantile and
nanquantile.
"""
import numpy as np

from .._core.errors import DTypeError
from .._core.state import STATE
from .._core.tensor import Tensor, array_of, wrap
from .elementwise import exp, isnan, where
from .order_statistics import median, mode, nanmedian, nanquantile, quantile
from .reduction import (SUM, _reduce_params, _unreduce, half_in_float32, mean, normalize_dims,
                        numpy_names, sum)
from .registry import OpDef, apply_unary, batched_call, register

__all__ = ["var", "std", "var_mean", "std_mean", "logsumexp", "nansum", "nanmean", "all",
           "any", "count_nonzero", "median", "nanmedian", "mode", "quantile", "nanquantile"]

_ndarray = np.ndarray


# ---- var / std -----------------------------------------------------------------------------------
def _dof(count, correction):
    """PyTorch's divisor max(0, N - correction)."""
    return count - correction if count > correction else 0


def _np_var(x, axes, keepdim, count, correction, **_):
    dof = _dof(count, correction)
    if count == 0:            # NumPy would warn about the empty mean; PyTorch gives nan
        shape = np.sum(x, axis=axes, keepdims=keepdim).shape
        return np.full(shape, np.nan, dtype=x.dtype)
    # NOTE: two passes (subtract the mean, then square), never E[x^2] - E[x]^2: a constant
    # tensor at 1e4 gives exactly 0 in float32 too, and the rule below stays finite.
    d = x - np.mean(x, axis=axes, keepdims=True)
    s = np.sum(d * d, axis=axes, keepdims=keepdim)
    with np.errstate(divide="ignore", invalid="ignore"):
        return s / np.asarray(dof, dtype=x.dtype)


def _centered(ctx):
    return ctx.x - mean(ctx.x, ctx.axes, True)


def _scale(ctx, factor):
    """factor / dof as a Python float (inf where the divisor is 0, as in PyTorch)."""
    dof = _dof(ctx.count, ctx.correction)
    return factor / dof if dof > 0 else float("inf")


def var_vjp(ctx, g):
    """d var = g * 2 (x - mean) / (N - correction)."""
    return (_unreduce(ctx, g) * _centered(ctx) * _scale(ctx, 2.0),)


def var_jvp(ctx, t):
    return sum(t * _centered(ctx), ctx.axes, ctx.keepdim) * _scale(ctx, 2.0)


def _std_weight(ctx, g):
    """g / std, taken as 0 where std is 0 (a constant slice), as PyTorch does."""
    o = _unreduce(ctx, ctx.out)
    zero = o == 0
    return where(zero, 0.0, _unreduce(ctx, g) / where(zero, 1.0, o))


def std_vjp(ctx, g):
    """d std = g (x - mean) / ((N - correction) std); 0 for a constant slice."""
    return (_std_weight(ctx, g) * _centered(ctx) * _scale(ctx, 1.0),)


def std_jvp(ctx, t):
    w = _std_weight(ctx, _ones_like_out(ctx))
    return sum(t * _centered(ctx) * w, ctx.axes, ctx.keepdim) * _scale(ctx, 1.0)


def _ones_like_out(ctx):
    out = ctx.out
    return np.ones_like(out) if isinstance(out, _ndarray) else wrap(np.ones_like(out._data))


# NOTE: var and std are primitives, not composites of mean, sub, mul and sum: one node
# instead of five, and std's gradient needs PyTorch's 0 at a constant slice, where the
# composite sqrt(var) would give 0 * inf = nan.
VAR = register(OpDef("var", half_in_float32(_np_var), var_vjp, var_jvp, save=("x",)))
STD = register(OpDef("std", half_in_float32(lambda x, **p: np.sqrt(_np_var(x, **p))), std_vjp,
                     std_jvp, save=("x", "out")))


def _var_params(input, dim, unbiased, keepdim, correction, name):
    if isinstance(dim, bool):            # var(x, unbiased): PyTorch's legacy overload
        dim, unbiased = None, dim
    if unbiased is not None:
        if correction is not None:
            # TypeError, as PyTorch (no signature takes both)
            raise TypeError(f"{name}: pass either correction or the legacy unbiased, "
                            "not both (unbiased=True is correction=1).")
        correction = 1 if unbiased else 0
    correction = 1 if correction is None else correction
    if not isinstance(correction, (int, float, np.integer, np.floating)):
        raise DTypeError(f"{name}: correction must be a number, got "
                         f"{type(correction).__name__} ({correction!r}).")
    data = array_of(input)
    if data.dtype.kind not in "fc":
        raise DTypeError(f"{name}: input dtype must be floating point, got {data.dtype}; "
                         "convert with .float() first.")
    params = _reduce_params(input, dim, keepdim, name)
    count = 1
    for a in params["axes"]:
        count *= params["in_shape"][a]
    params["count"], params["correction"] = count, correction
    return params


@numpy_names
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim``: sum((x - mean)^2) / max(0, N - correction).

    Args:
        input: a floating tensor.
        dim: an int, a tuple of ints, or None for all elements.
        unbiased: the legacy form: True is ``correction=1``, False ``correction=0``; also
            accepted positionally, as ``var(x, unbiased)`` or ``var(x, dim, unbiased)``.
        keepdim: keep reduced dims with size 1.
        correction: the difference between N and the divisor (default 1: Bessel's).

    Returns:
        The variances (nan where N - correction <= 0 and all values agree, as in PyTorch).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0, 4.0], requires_grad=True)
        >>> v = tg.var(x); v.backward(); v, x.grad
        (tensor(2.3333, grad_fn=<VarBackward0>), tensor([-1.3333, -0.3333,  1.6667]))
        >>> tg.var(x, correction=0), x.var(0, False)
        (tensor(1.5556, grad_fn=<VarBackward0>), tensor(1.5556, grad_fn=<VarBackward0>))
    """
    return apply_unary(VAR, input, _var_params(input, dim, unbiased, keepdim, correction, "var"))


@numpy_names
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation over ``dim``: the square root of :func:`var` (same arguments).

    The gradient of a constant slice (std 0) is 0, as in PyTorch.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([[1.0, 3.0], [2.0, 2.0]], requires_grad=True)
        >>> s = tg.std(x, dim=1); s.sum().backward(); s, x.grad
        (tensor([1.4142, 0.0000], grad_fn=<StdBackward0>), tensor([[-0.7071,  0.7071],
                [ 0.0000,  0.0000]]))
    """
    return apply_unary(STD, input, _var_params(input, dim, unbiased, keepdim, correction, "std"))


@numpy_names
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var(input, ...), mean(input, dim, keepdim))`` as a tuple; arguments as :func:`var`.

    Example:
        >>> import tapegrad as tg
        >>> tg.var_mean(tg.tensor([1.0, 2.0, 4.0]))
        (tensor(2.3333), tensor(2.3333))
    """
    params = _var_params(input, dim, unbiased, keepdim, correction, "var_mean")
    return apply_unary(VAR, input, params), mean(input, params["axes"], keepdim)


@numpy_names
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std(input, ...), mean(input, dim, keepdim))`` as a tuple; arguments as :func:`var`.

    Example:
        >>> import tapegrad as tg
        >>> tg.std_mean(tg.tensor([[1.0, 3.0]]), dim=1, keepdim=True)
        (tensor([[1.4142]]), tensor([[2.]]))
    """
    params = _var_params(input, dim, unbiased, keepdim, correction, "std_mean")
    return apply_unary(STD, input, params), mean(input, params["axes"], keepdim)


# ---- logsumexp -----------------------------------------------------------------------------------
def _np_logsumexp(x, axes, keepdim, kshape, in_shape, **_):
    if x.size and all(in_shape[a] for a in axes):
        m = np.amax(x, axis=axes, keepdims=True)
        # NOTE: an infinite max is not subtracted: all -inf gives log(0) = -inf, as PyTorch.
        m = np.where(np.isfinite(m), m, np.zeros((), dtype=x.dtype))
    else:
        m = np.zeros(kshape, dtype=x.dtype)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    return out if keepdim else out.reshape([n for i, n in enumerate(in_shape) if i not in axes])


def logsumexp_vjp(ctx, g):
    """d logsumexp = g * softmax(x) = g * exp(x - out): every factor is at most 1."""
    return (_unreduce(ctx, g) * exp(ctx.x - _unreduce(ctx, ctx.out)),)


def logsumexp_jvp(ctx, t):
    return sum(t * exp(ctx.x - _unreduce(ctx, ctx.out)), ctx.axes, ctx.keepdim)


# NOTE: a primitive for stability: exp(x - max) never overflows, and the rule uses
# exp(x - out) <= 1, so |x| = 1e4 gives finite values and gradients.
LOGSUMEXP = register(OpDef("logsumexp", half_in_float32(_np_logsumexp), logsumexp_vjp,
                           logsumexp_jvp, save=("x", "out")))


@numpy_names
def logsumexp(input, dim, keepdim=False):
    """log(sum(exp(input))) over ``dim``, computed without overflow.

    Args:
        input: the tensor (integer input gives float32, as in PyTorch).
        dim: an int or a tuple of ints (required, as in PyTorch).
        keepdim: keep reduced dims with size 1.

    Returns:
        The reduced tensor; -inf where all inputs are -inf (and the gradient there is nan).
        The gradient is softmax(input) along ``dim``.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1e4, 1e4], requires_grad=True)   # float32: out is rounded
        >>> y = tg.logsumexp(x, 0); y.backward(); y, x.grad
        (tensor(10000.6934, grad_fn=<LogsumexpBackward0>), tensor([0.4999, 0.4999]))
    """
    if isinstance(input, Tensor) and input._data.dtype.kind in "biu":
        input = input.to(np.float32)
    return apply_unary(LOGSUMEXP, input, _reduce_params(input, dim, keepdim, "logsumexp"))


# ---- nan-ignoring sums ---------------------------------------------------------------------------
@numpy_names
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum over ``dim`` treating nan as 0; nan positions get gradient 0.

    Args:
        input: the tensor (integer and bool inputs sum to int64, as :func:`sum`).
        dim: an int, a tuple of ints, or None for all elements.
        keepdim: keep reduced dims with size 1.
        dtype: convert ``input`` to this dtype first.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, float('nan'), 2.0], requires_grad=True)
        >>> tg.nansum(x).backward(); x.grad
        tensor([1., 0., 1.])
    """
    if dtype is not None:
        input = input.to(dtype)
    params = _reduce_params(input, dim, keepdim, "nansum")     # errors name nansum
    if array_of(input).dtype.kind == "f":
        input = where(isnan(input), 0.0, input)
    return apply_unary(SUM, input, params)


@numpy_names
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean over ``dim`` of the elements that are not nan; nan positions get gradient 0.

    Args:
        input: a floating tensor (integer input raises, as in PyTorch).
        dim: an int, a tuple of ints, or None for all elements.
        keepdim: keep reduced dims with size 1.
        dtype: convert ``input`` to this dtype first.

    Returns:
        The means; nan where every element is nan.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, float('nan'), 3.0], requires_grad=True)
        >>> m = tg.nanmean(x); m.backward(); m, x.grad
        (tensor(2., grad_fn=<DivBackward0>), tensor([0.5000, 0.0000, 0.5000]))
    """
    if dtype is not None:
        input = input.to(dtype)
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call("nanmean", (input,), {"dim": dim, "keepdim": keepdim})
        if out is not None:
            return out
    data = array_of(input)
    if data.dtype.kind not in "fc":
        raise DTypeError(f"nanmean: input dtype must be floating point, got {data.dtype}; "
                         "convert with .float() first.")
    params = _reduce_params(input, dim, keepdim, "nanmean")
    count = np.sum(~np.isnan(data), axis=params["axes"], keepdims=keepdim).astype(data.dtype)
    with np.errstate(invalid="ignore"):       # an all-nan slice is 0 / 0 = nan, as in PyTorch
        return nansum(input, dim, keepdim) / count


# ---- logical reductions and counts (not differentiable) ------------------------------------------
def _axis(data, dim, name):
    """NumPy's axis for ``dim`` (None, an int or a sequence), checked against the shape; a
    0-d tensor takes dim 0 or -1 and reduces over nothing."""
    if dim is None:
        return None
    axes = normalize_dims(dim, data.ndim or 1, name)
    return axes if data.ndim else ()


def _logical(np_fn, input, dim, keepdim, name):
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call(name, (input,), {"dim": dim, "keepdim": keepdim})
        if out is not None:
            return out
    data = array_of(input)
    # NOTE: dim=() reduces over no dim here, as PyTorch's all/any (unlike sum and
    # count_nonzero, where () means every dim).
    out = np.asarray(np_fn(data, axis=_axis(data, dim, name), keepdims=keepdim))
    # NOTE: uint8 in, uint8 out (PyTorch's legacy rule); everything else gives bool.
    return wrap(out.astype(np.uint8) if data.dtype == np.uint8 else out)


@numpy_names
def all(input, dim=None, keepdim=False):
    """Whether every element over ``dim`` is nonzero (a bool tensor; never recorded).

    Args:
        input: the tensor (uint8 input gives uint8, as in PyTorch).
        dim: an int, a tuple of ints, or None for all elements.
        keepdim: keep reduced dims with size 1.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([[1.0, 0.0], [2.0, 3.0]])
        >>> tg.all(x), x.all(dim=1)
        (tensor(False), tensor([False,  True]))
    """
    return _logical(np.all, input, dim, keepdim, "all")


@numpy_names
def any(input, dim=None, keepdim=False):
    """Whether some element over ``dim`` is nonzero (a bool tensor; never recorded).

    Arguments as :func:`all`.

    Example:
        >>> import tapegrad as tg
        >>> tg.tensor([[0, 0], [0, 5]]).any(0, keepdim=True)
        tensor([[False,  True]])
    """
    return _logical(np.any, input, dim, keepdim, "any")


@numpy_names
def count_nonzero(input, dim=None):
    """Number of nonzero elements over ``dim`` (an int64 tensor; never recorded).

    Args:
        input: the tensor.
        dim: an int, a tuple of ints, or None for all elements.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([[1.0, 0.0], [2.0, 3.0]])
        >>> tg.count_nonzero(x), x.count_nonzero(dim=0)
        (tensor(3), tensor([2, 1]))
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call("count_nonzero", (input,), {"dim": dim})
        if out is not None:
            return out
    data = array_of(input)
    axis = _axis(data, None if isinstance(dim, (tuple, list)) and not dim else dim,
                 "count_nonzero")
    return wrap(np.asarray(np.count_nonzero(data, axis=axis), dtype=np.int64))


METHODS = {
    "var": var, "std": std, "logsumexp": logsumexp, "nansum": nansum, "nanmean": nanmean,
    "all": all, "any": any, "count_nonzero": count_nonzero,
    "median": median, "nanmedian": nanmedian, "mode": mode, "quantile": quantile,
    "nanquantile": nanquantile,
}
