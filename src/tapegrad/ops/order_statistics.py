"""Order statistics: median/nanmedian, mode, quantile/nanquantile (part of the statistics
family; tapegrad.ops.statistics exports them).

# Note [Selection rules]
Along one dim, each result is an element at a chosen index, or (quantile) the interpolation
``lo + w * (hi - lo)`` of two chosen elements. The indices and weights are found once, with
NumPy, when the op runs, and kept as params; the rules then are linear maps with fixed
weights W (W[..., j, ...] = the weight of element j): the VJP is ``g * W`` (summed over the
quantiles), the JVP ``sum(t * W)``. Being linear with constant W they are exact at any order
(the second derivative of a selection is 0 almost everywhere).
"""
from collections import namedtuple

import numpy as np

from .._core.errors import ArgumentError, DTypeError, ShapeError
from .._core.state import STATE
from .._core.tensor import Tensor, array_of, wrap
from ._broadcast import cast_like
from .elementwise import where
from .reduction import numpy_names, one_dim, sum
from .registry import OpDef, apply_unary, batched_call, register, tracked
from .shape import clone, reshape

_ndarray = np.ndarray
median_result = namedtuple("median", ["values", "indices"])
nanmedian_result = namedtuple("nanmedian", ["values", "indices"])
mode_result = namedtuple("mode", ["values", "indices"])


def _dtype_of(x):
    return x.dtype if isinstance(x, _ndarray) else x._data.dtype


# ---- the selection primitives (Note [Selection rules]) -------------------------------------------
def _select_forward(x, idx, w, dim, keepdim, nq, **_):
    if nq:
        x = x.reshape((1,) * nq + x.shape)
    axis = dim + nq
    out = np.take_along_axis(x, idx[0], axis=axis)
    if w is not None:
        hi = np.take_along_axis(x, idx[1], axis=axis)
        d = hi - out
        # PyTorch's lerp: exact at both ends (w = 0 gives lo, w = 1 gives hi)
        out = np.where(w < 0.5, out + w * d, hi - d * (1 - w))
    return out if keepdim else np.squeeze(out, axis=axis)


def _select_weights(ctx, dtype):
    """W, shaped (quantiles...) + input shape: the weight of each input element."""
    axis = ctx.dim + ctx.nq
    ndim = ctx.nq + len(ctx.in_shape)
    iota = np.arange(ctx.in_shape[ctx.dim]).reshape([-1 if i == axis else 1
                                                     for i in range(ndim)])
    if ctx.w is None:
        return (iota == ctx.idx[0]).astype(dtype)
    w = ctx.w.astype(dtype)
    return ((iota == ctx.idx[0]) * (1 - w) + (iota == ctx.idx[1]) * w).astype(dtype)


def select_vjp(ctx, g):
    """d (weighted selection) = g * W, summed over the quantile dims."""
    if not ctx.keepdim:
        g = reshape(g, ctx.idx[0].shape)
    gx = g * _select_weights(ctx, _dtype_of(g))
    return (sum(gx, tuple(range(ctx.nq))) if ctx.nq else gx,)


def select_jvp(ctx, t):
    """The tangent selected with the same weights: sum(t * W) over the dim."""
    return sum(t * _select_weights(ctx, _dtype_of(t)), ctx.dim + ctx.nq, ctx.keepdim)


# NOTE: three names for one rule, so grad_fn says which op made a tensor.
MEDIAN_DIM = register(OpDef("median_dim", _select_forward, select_vjp, select_jvp))
MODE = register(OpDef("mode", _select_forward, select_vjp, select_jvp))
QUANTILE = register(OpDef("quantile", _select_forward, select_vjp, select_jvp))


def _np_median_all(x, ignore_nan):
    flat = x.ravel()
    if ignore_nan and x.dtype.kind == "f":
        flat = flat[~np.isnan(flat)]
    elif x.dtype.kind == "f" and np.isnan(flat).any():
        return np.asarray(np.nan, dtype=x.dtype)
    if flat.size == 0:
        return np.asarray(np.nan if x.dtype.kind == "f" else 0, dtype=x.dtype)
    k = (flat.size - 1) // 2        # the lower median, as PyTorch
    return np.asarray(np.partition(flat, k)[k])


def median_all_vjp(ctx, g):
    """d median() = g shared evenly among the elements equal to the median (the nans, when
    it is nan), as PyTorch does at ties."""
    x, out = ctx.x, ctx.out
    tie = (x == out) | (_isnan(x) & _isnan(out))
    mask = cast_like(tie, g)
    return (g * mask / mask.sum(),)


def _isnan(x):
    return np.isnan(x) if isinstance(x, (_ndarray, np.generic)) else x.isnan()


def median_all_jvp(ctx, t):
    x, out = ctx.x, ctx.out
    mask = cast_like((x == out) | (_isnan(x) & _isnan(out)), t)
    return (t * mask).sum() / mask.sum()


MEDIAN = register(OpDef("median", _np_median_all, median_all_vjp, median_all_jvp,
                        save=("x", "out")))


# ---- median / nanmedian --------------------------------------------------------------------------
def _check_dim(data, dim, name):
    d = one_dim(dim, data.ndim, name)
    if data.ndim and data.shape[d] == 0:
        raise IndexError(f"{name}: can't reduce dim {dim} of size 0 (shape {data.shape}); "
                         "there is no element to pick.")
    return d


def _median(input, dim, keepdim, ignore_nan, name, result):
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call(name, (input,), {"dim": dim, "keepdim": keepdim})
        if out is not None:
            return out
    data = array_of(input)
    if data.dtype.kind == "b":
        raise DTypeError(f"{name}: not implemented for bool tensors, as in PyTorch; convert "
                         "first, e.g. x.int().")
    if dim is None:
        if type(input) is _ndarray:
            return _np_median_all(input, ignore_nan)
        return apply_unary(MEDIAN, input, {"ignore_nan": ignore_nan})
    d = _check_dim(data, dim, name)
    if data.ndim == 0:           # a 0-d tensor is its own median along dim 0 (or -1)
        return result(clone(input), wrap(np.zeros((), dtype=np.int64)))
    order = np.argsort(data, axis=d, kind="stable")          # nans sort last
    n = data.shape[d]
    nan_count = (np.isnan(data).sum(axis=d, keepdims=True) if data.dtype.kind == "f"
                 else np.zeros((1,) * data.ndim, dtype=np.int64))
    valid = n - nan_count
    if ignore_nan:
        pos = np.maximum(valid - 1, 0) // 2      # all nan: the first, as PyTorch
    else:
        pos = np.where(nan_count > 0, valid, (n - 1) // 2)   # the first nan, if any
    idx = np.take_along_axis(order, np.broadcast_to(pos, order.shape[:d] + (1,)
                                                    + order.shape[d + 1:]), axis=d)
    values = apply_unary(MEDIAN_DIM, input, _select_params(data, idx, None, d, keepdim, 0))
    indices = idx if keepdim else np.squeeze(idx, axis=d)
    return result(values, wrap(np.asarray(indices, dtype=np.int64)))


def _select_params(data, idx, w, dim, keepdim, nq, *more):
    return {"idx": (idx,) + more, "w": w, "dim": dim, "keepdim": bool(keepdim), "nq": nq,
            "in_shape": data.shape}


@numpy_names
def median(input, dim=None, keepdim=False):
    """The median: of all elements, or along ``dim`` with the indices of the medians.

    For an even count this is the lower of the two middle values, as PyTorch's. Any nan
    makes the median nan (see :func:`nanmedian`).

    Args:
        input: the tensor.
        dim: None for the median of all elements (one value), or an int.
        keepdim: keep the reduced dim with size 1 (with ``dim``).

    Returns:
        ``median(x)``: a 0-d tensor; its gradient is shared evenly among the elements equal
        to it (PyTorch's rule at ties). ``median(x, dim)``: a ``(values, indices)`` named
        tuple; the gradient goes to the element at each returned index.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([3.0, 1.0, 2.0, 2.0], requires_grad=True)
        >>> tg.median(x).backward(); x.grad
        tensor([0.0000, 0.0000, 0.5000, 0.5000])
        >>> tg.median(tg.tensor([[3.0, 1.0, 2.0]]), dim=1)
        median(values=tensor([2.]), indices=tensor([2]))
    """
    return _median(input, dim, keepdim, False, "median", median_result)


@numpy_names
def nanmedian(input, dim=None, keepdim=False):
    """:func:`median` of the elements that are not nan (nan where all are nan).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([[1.0, float('nan'), 2.0, 4.0]])
        >>> tg.nanmedian(x), tg.nanmedian(x, dim=1)
        (tensor(2.), nanmedian(values=tensor([2.]), indices=tensor([2])))
    """
    return _median(input, dim, keepdim, True, "nanmedian", nanmedian_result)


# ---- mode ----------------------------------------------------------------------------------------
def _mode_indices(data, d):
    """Per slice along d: the index of the last occurrence of the most frequent value (the
    smallest such value at a tie in counts), as PyTorch's mode."""
    moved = np.moveaxis(data, d, -1)
    n = moved.shape[-1]
    order = np.argsort(moved, axis=-1, kind="stable")   # equal values keep their order
    s = np.take_along_axis(moved, order, axis=-1)
    pos = np.arange(n)
    starts = np.ones(s.shape, dtype=bool)
    starts[..., 1:] = s[..., 1:] != s[..., :-1]
    if s.dtype.kind == "f":     # nans (sorted last) are one value, so a run of them counts
        starts[..., 1:] &= ~(np.isnan(s[..., 1:]) & np.isnan(s[..., :-1]))
    ends = np.ones(s.shape, dtype=bool)
    ends[..., :-1] = starts[..., 1:]
    first = np.maximum.accumulate(np.where(starts, pos, 0), axis=-1)
    last = np.minimum.accumulate(np.where(ends, pos, n)[..., ::-1], axis=-1)[..., ::-1]
    best = np.argmax(last - first, axis=-1)[..., None]     # first of the longest runs
    at = np.take_along_axis(last, best, axis=-1)
    return np.moveaxis(np.take_along_axis(order, at, axis=-1), -1, d)


@numpy_names
def mode(input, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` and the index of its last occurrence.

    NOTE: PyTorch documents no rule for the index among equal values, and its CPU kernel's
    choice varies (the last of 3 equal values, but the first of 19); tapegrad always
    returns the last. NaNs count as one value, ordered after every number (as in
    :func:`sort`): ``mode([nan, nan, 1.])`` is ``(nan, 1)``. PyTorch's CPU kernel sorts
    with ``<``, which leaves nans where they fall and counts each as its own value, so
    its answer with nans depends on their positions (``(nan, 0)`` here, but ``1.`` for
    ``[1., nan, 1., nan, nan]``, where tapegrad gives nan).

    Args:
        input: the tensor.
        dim: the dim to reduce (default the last).
        keepdim: keep the reduced dim with size 1.

    Returns:
        A ``(values, indices)`` named tuple. Between values equally frequent the smallest
        wins, as in PyTorch; the gradient goes to the element at each index.

    Example:
        >>> import tapegrad as tg
        >>> tg.mode(tg.tensor([[1.0, 3.0, 3.0, 2.0, 2.0]]))
        mode(values=tensor([2.]), indices=tensor([4]))
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call("mode", (input,), {"dim": dim, "keepdim": keepdim})
        if out is not None:
            return out
    data = array_of(input)
    d = _check_dim(data, dim, "mode")
    if data.ndim == 0:
        return mode_result(clone(input), wrap(np.zeros((), dtype=np.int64)))
    idx = _mode_indices(data, d)
    values = apply_unary(MODE, input, _select_params(data, idx, None, d, keepdim, 0))
    indices = idx if keepdim else np.squeeze(idx, axis=d)
    return mode_result(values, wrap(np.asarray(indices, dtype=np.int64)))


# ---- quantile / nanquantile ----------------------------------------------------------------------
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _q_values(q, dtype, name):
    """q as a 1-d array of the input's dtype, and whether it had a dim."""
    if isinstance(q, Tensor):
        qd = q._data
        if qd.dtype != dtype:
            raise DTypeError(f"{name}: q tensor must have the input's dtype {dtype}, got "
                             f"{qd.dtype}; convert it with q.to(x.dtype).")
        if qd.ndim > 1:
            raise ShapeError(f"{name}: q must be a number or a 0-d or 1-d tensor, got shape "
                             f"{qd.shape}")
        has_dim = qd.ndim == 1
    elif isinstance(q, (float, int, np.floating, np.integer)) and not isinstance(q, bool):
        qd, has_dim = np.asarray(q, dtype=dtype), False
    else:
        raise TypeError(f"{name}: q must be a float or a tensor, got {type(q).__name__}")
    qd = qd.reshape(-1).astype(dtype)
    if qd.size and not ((qd >= 0) & (qd <= 1)).all():
        raise ArgumentError(f"{name}: q must be in the range [0, 1], got {qd.tolist()}")
    return qd, has_dim


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan, name):
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call(name, (input, q),
                           {"dim": dim, "keepdim": keepdim, "interpolation": interpolation})
        if out is not None:
            return out
    data = array_of(input)
    if data.dtype.kind != "f" or data.dtype == np.float16:
        raise DTypeError(f"{name}: input dtype must be float32 or float64, got {data.dtype}; "
                         "convert with .float() first.")
    if interpolation not in _INTERPOLATIONS:
        raise ArgumentError(f"{name}: interpolation must be one of {_INTERPOLATIONS}, got "
                            f"{interpolation!r}")
    if data.size == 0:
        raise ShapeError(f"{name}: input must be non-empty (shape {data.shape})")
    qd, has_dim = _q_values(q, data.dtype, name)
    out_ndim = data.ndim
    if dim is None:
        input, d = reshape(input, -1), 0
        data = data.reshape(-1)
    else:
        d = one_dim(dim, data.ndim, name)
        if data.ndim == 0:
            input, data = reshape(input, 1), data.reshape(1)
    nq = 1                          # the leading dim of quantiles
    kshape = data.shape[:d] + (1,) + data.shape[d + 1:]
    order = np.argsort(data, axis=d, kind="stable")          # nans sort last
    nan_count = np.isnan(data).sum(axis=d, keepdims=True)
    n = data.shape[d]
    qs = qd.reshape((-1,) + (1,) * data.ndim)
    if ignore_nan:
        ranks = qs * (n - nan_count - 1).astype(data.dtype)
        ranks = np.maximum(ranks, 0)     # all nan: the first (a nan), as PyTorch
    else:
        ranks = np.where(nan_count > 0, np.asarray(n - 1, dtype=data.dtype),
                         qs * np.asarray(n - 1, dtype=data.dtype))
    ranks = np.broadcast_to(ranks, qs.shape[:1] + kshape)
    lo, hi, w = np.floor(ranks), np.ceil(ranks), None
    if interpolation == "lower":
        hi = lo
    elif interpolation == "higher":
        lo = hi
    elif interpolation == "nearest":
        lo = hi = np.round(ranks)             # half to even, as PyTorch's round
    elif interpolation == "midpoint":
        w = np.full(ranks.shape, 0.5, dtype=data.dtype)
    else:
        w = (ranks - lo).astype(data.dtype)
    order = order.reshape((1,) + order.shape)
    idx_lo = np.take_along_axis(order, lo.astype(np.int64), axis=d + 1)
    idx_hi = np.take_along_axis(order, hi.astype(np.int64), axis=d + 1)
    if not has_dim:                 # one quantile: no leading dim
        nq, idx_lo, idx_hi, w = 0, idx_lo[0], idx_hi[0], None if w is None else w[0]
    keep = keepdim and dim is not None
    if w is not None and interpolation == "linear" and _records(q):
        slope = np.where(nan_count > 0, 0, n - 1) if not ignore_nan else np.maximum(
            n - nan_count - 1, 0)
        out = _interpolated_in_q(input, data, q, has_dim, (idx_lo, idx_hi, w),
                                 slope.astype(data.dtype), d, keep, nq)
    else:
        more = () if w is None else (idx_hi,)
        out = apply_unary(QUANTILE, input, _select_params(data, idx_lo, w, d, keep, nq, *more))
    lead = (len(qd),) if has_dim else ()
    if dim is None and keepdim:
        return reshape(out, lead + (1,) * out_ndim)
    if keep and out_ndim == 0:      # a 0-d input, seen as (1,)
        return reshape(out, lead)
    return out


def _records(q):
    if isinstance(q, Tensor) and q._view is not None:
        q._refresh()
    return tracked(q)


def _interpolated_in_q(input, data, q, has_dim, chosen, slope, d, keep, nq):
    """The 'linear' quantiles as a composite that also differentiates in ``q``: the weight
    w + (q - q.detach()) * slope has w's value and d rank / dq = slope (the count less 1 of
    the slice); QUANTILE's lerp, written out, gives the same values."""
    idx_lo, idx_hi, w = chosen
    lo = apply_unary(QUANTILE, input, _select_params(data, idx_lo, None, d, True, nq))
    hi = apply_unary(QUANTILE, input, _select_params(data, idx_hi, None, d, True, nq))
    qb = reshape(q, (-1,) + (1,) * len(slope.shape) if has_dim else ())
    wq = w + (qb - qb.detach()) * slope
    # NOTE: a slice whose rank doesn't move with q (slope 0: one valid element, or a nan
    # picked) has lo == hi; span 0 there keeps a nan span out of q's gradient.
    span = where(slope > 0, hi - lo, 0.0)
    out = where(w < 0.5, lo + wq * span, hi - span * (1 - wq))
    return out if keep else reshape(out, np.squeeze(w, axis=d + nq).shape)


@numpy_names
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The q-th quantiles of ``input`` (all elements, or along ``dim``).

    Args:
        input: a float32 or float64 tensor.
        q: a float in [0, 1], or a 0-d or 1-d tensor of them (with ``input``'s dtype); a 1-d
            ``q`` adds a leading dim to the result, one entry per quantile.
        dim: None for all elements, or an int.
        keepdim: keep the reduced dim (all dims when ``dim`` is None) with size 1.
        interpolation: between the two nearest sorted values: 'linear', 'lower', 'higher',
            'midpoint' or 'nearest' (ties round half to even).

    Returns:
        The quantiles; nan for a slice containing nan (see :func:`nanquantile`). The
        gradient goes to the one or two elements interpolated, with their weights, and (for
        'linear') to a ``q`` that requires grad.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([4.0, 1.0, 3.0, 2.0], requires_grad=True)
        >>> y = tg.quantile(x, 0.4); y.backward(); y, x.grad
        (tensor(2.2000, grad_fn=<QuantileBackward0>), tensor([0.0000, 0.0000, 0.2000, 0.8000]))
        >>> tg.quantile(x, tg.tensor([0.0, 1.0]), interpolation='lower')
        tensor([1., 4.], grad_fn=<QuantileBackward0>)
    """
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


@numpy_names
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """:func:`quantile` of the elements that are not nan (nan where all are nan).

    Example:
        >>> import tapegrad as tg
        >>> tg.nanquantile(tg.tensor([1.0, float('nan'), 3.0]), 0.5)
        tensor(2.)
    """
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")
