"""Scans along a dim: cumsum, cumprod, cummax/cummin, logcumsumexp.

Every scan runs along one dim ``dim`` of the input; a 0-d input is scanned as one element.
Rules are written so that they run on arrays (the fast backward path) and on Tensors
(create_graph=True). Where the fast formula divides by the input (cumprod) or would lose
precision (logcumsumexp), the recorded path uses an n x n "matrix" form along the dim:
exact and differentiable again, at O(n^2) cost, paid only when differentiating twice.
"""
from collections import namedtuple

import numpy as np

from .._core.dtypes import to_numpy_dtype
from .._core.errors import DTypeError
from .._core.state import STATE
from .._core.tensor import Tensor, array_of, wrap
from ._broadcast import cast_like
from .elementwise import exp, where
from .indexing import index_add
from .reduction import numpy_names, one_dim, sum
from .registry import OpDef, apply_inplace, apply_unary, batched_call, register
from .shape import clone, reshape

__all__ = ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"]

_ndarray = np.ndarray
cummax_result = namedtuple("cummax", ["values", "indices"])
cummin_result = namedtuple("cummin", ["values", "indices"])


def _dim(input, dim, name):
    """``dim`` made non-negative (a 0-d input accepts 0 and -1)."""
    return one_dim(dim, array_of(input).ndim, name)


_float16, _float32 = np.dtype(np.float16), np.dtype(np.float32)


def _scan_forward(np_fn):
    """A forward along ``dim`` that also takes 0-d input (as one element), and float16 and
    float32 input in float64, rounded once at the end.

    NOTE: PyTorch's CPU scans (cumsum, cumprod, logcumsumexp) accumulate in double: adding
    float32 0.1 a million times gives 100000.0 there, 100958.3 in float32 (the float32
    cumprod of 1e5 factors 1.0001 is off by 6 ulp). The scan runs in place in the float64
    copy: a second float64 array (page faults) made it 2-5x slower than float32; in place
    it costs 1.2-1.4x the float32 scan on a (1000, 1000) float32 cumsum.
    """
    def forward(x, dim, **params):
        if x.ndim == 0:
            return forward(x.reshape(1), 0, **params).reshape(())
        dt = x.dtype
        if dt is _float32 or dt is _float16:     # (identity: cheaper than ==)
            acc = x.astype(np.float64)
            return np_fn(acc, dim, out=acc, **params).astype(dt)
        return np_fn(x, dim, **params)
    forward.__name__ = np_fn.__name__
    return forward


def _is_array(x):
    return isinstance(x, (_ndarray, np.generic))


# ---- cumsum --------------------------------------------------------------------------------------
def _np_cumsum(x, dim, reverse, out=None):
    dtype = np.int64 if x.dtype.kind in "biu" else None   # PyTorch: integers sum in int64
    if reverse:
        out = None if out is None else np.flip(out, dim)
        return np.flip(np.cumsum(np.flip(x, dim), axis=dim, dtype=dtype, out=out), dim)
    return np.cumsum(x, axis=dim, dtype=dtype, out=out)


def _cumsum(x, dim, reverse=False):
    """cumsum (from the end when ``reverse``) on arrays or tensors; rules use it."""
    return apply_unary(CUMSUM, x, {"dim": dim, "reverse": reverse})


def cumsum_vjp(ctx, g):
    """d cumsum = the cumsum of g taken from the end."""
    return (_cumsum(g, ctx.dim, not ctx.reverse),)


# NOTE: one primitive for both directions: the adjoint of a cumsum is a reversed cumsum.
CUMSUM = register(OpDef("cumsum", _scan_forward(_np_cumsum), cumsum_vjp,
                        lambda ctx, t: _cumsum(t, ctx.dim, ctx.reverse)))


@numpy_names
def cumsum(input, dim, *, dtype=None):
    """Cumulative sums along ``dim``: out[i] = input[0] + ... + input[i].

    Args:
        input: the tensor (integer and bool inputs give int64, as in PyTorch).
        dim: the dim to scan.
        dtype: convert ``input`` to this dtype first.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> y = tg.cumsum(x, 0); y.sum().backward(); y, x.grad
        (tensor([1., 3., 6.], grad_fn=<CumsumBackward0>), tensor([3., 2., 1.]))
    """
    input = _in_dtype(input, dtype, "cumsum")
    return _cumsum(input, _dim(input, dim, "cumsum"))


def _in_dtype(input, dtype, name):
    """``input`` converted to ``dtype`` (scans' ``dtype=``); as in PyTorch, a result that would
    need a gradient can't be integral."""
    if dtype is None:
        return input
    if isinstance(input, Tensor) and input.requires_grad and \
            np.dtype(to_numpy_dtype(dtype)).kind not in "fc":
        raise DTypeError(f"{name}: dtype={dtype} can't carry a gradient, and the input requires "
                         "grad; use a floating dtype, or detach() the input first.")
    return input.to(dtype)


def _scan_(self, dim, dtype, op, name, **params):
    """The in-place scan ``name``: primitive ``op`` run in place. ``dtype``, if given, must be
    this tensor's own (PyTorch refuses an in-place scan that would change the dtype)."""
    if dtype is not None and np.dtype(to_numpy_dtype(dtype)) != self._data.dtype:
        raise DTypeError(f"{name}: dtype={dtype} differs from this tensor's {self.dtype}; an "
                         "in-place scan can't change the dtype. Use the out-of-place form.")
    return apply_inplace(op, (self,), {"dim": _dim(self, dim, name), **params}, name)


@numpy_names
def cumsum_(self, dim, *, dtype=None):
    """In-place :func:`cumsum` (the result is written back in this tensor's dtype)."""
    return _scan_(self, dim, dtype, CUMSUM, "cumsum_", reverse=False)


# ---- cumprod -------------------------------------------------------------------------------------
def _np_cumprod(x, dim, out=None):
    return np.cumprod(x, axis=dim, dtype=np.int64 if x.dtype.kind in "biu" else None, out=out)


def _zeros_along(x, dim):
    """For each position: whether it comes before the first zero of its slice, and whether
    it is that first zero (arrays)."""
    n = x.shape[dim]
    shape = [1] * x.ndim
    shape[dim] = n
    pos = np.arange(n).reshape(shape)
    is_zero = x == 0
    first = np.where(is_zero.any(axis=dim, keepdims=True),
                     np.argmax(is_zero, axis=dim, keepdims=True), n)
    return pos < first, pos == first


def _cumprod_zero_terms(x, dim):
    """The factors of the exact first-order rules at zeros (arrays): before the first zero
    z of a slice, out / x is well defined; at and after z, the only surviving terms are
    those that skip x[z], i.e. P = the cumprod of x with x[z] replaced by 1."""
    before, at_zero = _zeros_along(x, dim)
    safe = np.where(before, x, np.ones((), dtype=x.dtype))
    P = np.cumprod(np.where(at_zero, np.ones((), dtype=x.dtype), x), axis=dim)
    return before, at_zero, safe, P


def _others_products(x, dim):
    """C[..., j, i, ...] = prod over k <= i, k != j of x[k], with (j, i) at (dim, dim + 1)
    (Tensors): the Jacobian of cumprod, exact at zeros and differentiable again; also the
    mask of i >= j, where it is nonzero."""
    shape = tuple(x.shape)
    n = shape[dim]
    trailing = (1,) * (len(shape) - dim - 1)
    eye = np.eye(n, dtype=bool).reshape((n, n) + trailing)
    rows = reshape(x, shape[:dim] + (1, n) + shape[dim + 1:])
    upper = np.triu(np.ones((n, n), dtype=bool)).reshape((n, n) + trailing)   # i >= j
    return _cumprod(where(eye, 1.0, rows), dim + 1), upper


def cumprod_vjp(ctx, g):
    """d cumprod: g_j = sum over i >= j of g_i out_i / x_j (reversed cumsum), with the
    products of the other elements where the slice holds zeros (exact, no division)."""
    x, out, d = ctx.x, ctx.out, ctx.dim
    if x.ndim == 0 or x.shape[d] == 1:      # out is x: no division (x may be nan or inf)
        return (g,)
    if _is_array(x):
        if x.all():
            return (_cumsum(g * out, d, True) / x,)
        before, at_zero, safe, P = _cumprod_zero_terms(x, d)
        with np.errstate(invalid="ignore", divide="ignore"):
            a = _cumsum(g * out, d, True) / safe
        return (np.where(before, a, np.where(at_zero, _cumsum(g * P, d, True), 0)),)
    if x._data.all():
        return (_cumsum(g * out, d, True) / x,)
    others, upper = _others_products(x, d)     # [j, i]: i >= j
    n = x.shape[d]
    gi = reshape(g, tuple(g.shape[:d]) + (1, n) + tuple(g.shape[d + 1:]))
    return (sum(others * gi * cast_like(upper, g), d + 1),)


def cumprod_jvp(ctx, t):
    """t(cumprod)_i = sum over j <= i of t_j out_i / x_j, products of the others at zeros."""
    x, out, d = ctx.x, ctx.out, ctx.dim
    if x.ndim == 0 or x.shape[d] == 1:
        return t
    if _is_array(x) and _is_array(t):
        if x.all():
            return out * _cumsum(t / x, d)
        before, at_zero, safe, P = _cumprod_zero_terms(x, d)
        t_at_zero = np.sum(np.where(at_zero, t, 0), axis=d, keepdims=True)
        return np.where(before, out * _cumsum(t / safe, d), t_at_zero * P)
    if array_of(x).all():
        return out * _cumsum(t / x, d)
    others, upper = _others_products(x, d)
    n = x.shape[d]
    tj = reshape(t, tuple(t.shape[:d]) + (n, 1) + tuple(t.shape[d + 1:]))
    return sum(others * tj * cast_like(upper, others), d)


CUMPROD = register(OpDef("cumprod", _scan_forward(_np_cumprod), cumprod_vjp, cumprod_jvp,
                         save=("x", "out")))


def _cumprod(x, dim):
    return apply_unary(CUMPROD, x, {"dim": dim})


@numpy_names
def cumprod(input, dim, *, dtype=None):
    """Cumulative products along ``dim``: out[i] = input[0] * ... * input[i].

    Args:
        input: the tensor (integer and bool inputs give int64, as in PyTorch).
        dim: the dim to scan.
        dtype: convert ``input`` to this dtype first.

    Returns:
        The products. The gradient is exact with zeros in the input (any number of them),
        and so is differentiating it again (at O(n^2) cost along ``dim`` when zeros occur).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([2.0, 0.0, 3.0], requires_grad=True)
        >>> y = tg.cumprod(x, 0); y.sum().backward(); y, x.grad
        (tensor([2., 0., 0.], grad_fn=<CumprodBackward0>), tensor([1., 8., 0.]))
    """
    input = _in_dtype(input, dtype, "cumprod")
    return _cumprod(input, _dim(input, dim, "cumprod"))


@numpy_names
def cumprod_(self, dim, *, dtype=None):
    """In-place :func:`cumprod` (the result is written back in this tensor's dtype)."""
    return _scan_(self, dim, dtype, CUMPROD, "cumprod_")


# ---- cummax / cummin -----------------------------------------------------------------------------
def _take_forward(x, dim, idx):
    return np.take_along_axis(x, idx, axis=dim)


def _along_key(idx, dim):
    """An advanced-index key that picks, along ``dim``, the positions in ``idx``."""
    key = []
    for a, n in enumerate(idx.shape):
        if a == dim:
            key.append(idx)
        else:
            key.append(np.arange(n).reshape([-1 if b == a else 1 for b in range(idx.ndim)]))
    return tuple(key)


def _added_at(g, idx, dim):
    """Zeros shaped like ``g`` with each g_i added at position idx_i along ``dim`` (arrays).

    NOTE: one np.bincount over flat positions, ~3x faster than np.add.at on a 256 x 256
    input; it adds in float64 in the same order as np.add.at, so float64 results are
    identical and float32 ones are rounded once, at the end.
    """
    shape = idx.shape
    stride = 1
    for n in shape[dim + 1:]:
        stride *= n
    pos = np.arange(shape[dim]).reshape([-1 if a == dim else 1 for a in range(len(shape))])
    target = np.arange(idx.size).reshape(shape) + (idx - pos) * stride
    out = np.bincount(target.ravel(), weights=g.ravel(), minlength=idx.size)
    return out.reshape(shape).astype(g.dtype, copy=False)


def running_extreme_vjp(ctx, g):
    """d cummax/cummin: each g_i added to the element at indices_i (the running extreme)."""
    if _is_array(g):
        return (_added_at(g, ctx.idx, ctx.dim),)
    zeros = np.zeros(ctx.idx.shape, dtype=g._data.dtype)      # recorded: differentiable again
    return (index_add(zeros, _along_key(ctx.idx, ctx.dim), g),)


# NOTE: two entries for one rule, so that grad_fn names say which.
CUMMAX = register(OpDef("cummax", _take_forward, running_extreme_vjp,
                        lambda ctx, t: apply_unary(CUMMAX, t, ctx.params)))
CUMMIN = register(OpDef("cummin", _take_forward, running_extreme_vjp,
                        lambda ctx, t: apply_unary(CUMMIN, t, ctx.params)))


def _running_extreme(input, dim, ufunc, op, result, name):
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call(name, (input,), {"dim": dim})
        if out is not None:
            return out
    data = array_of(input)
    d = _dim(input, dim, name)
    if data.ndim == 0:
        return result(clone(input), wrap(np.zeros((), dtype=np.int64)))
    values = ufunc.accumulate(data, axis=d)
    # The index moves to i whenever input[i] reaches the running extreme (a tie moves it
    # too, and so does a nan, which the extreme then stays), as in PyTorch.
    hit = data == values
    if data.dtype.kind == "f":
        hit |= np.isnan(data)
    shape = [1] * data.ndim
    shape[d] = data.shape[d]
    pos = np.arange(data.shape[d]).reshape(shape)
    idx = np.maximum.accumulate(np.where(hit, pos, 0), axis=d)
    return result(apply_unary(op, input, {"dim": d, "idx": idx}), wrap(idx.astype(np.int64)))


@numpy_names
def cummax(input, dim):
    """Running maxima along ``dim`` and the index where each was reached.

    Returns:
        A ``(values, indices)`` named tuple. At ties the index is the latest one, as in
        PyTorch; the gradient of each value goes to the element at its index.

    Example:
        >>> import tapegrad as tg
        >>> tg.cummax(tg.tensor([1.0, 3.0, 2.0, 3.0]), 0)
        cummax(values=tensor([1., 3., 3., 3.]), indices=tensor([0, 1, 1, 3]))
    """
    return _running_extreme(input, dim, np.maximum, CUMMAX, cummax_result, "cummax")


@numpy_names
def cummin(input, dim):
    """Running minima along ``dim`` and the index where each was reached (as :func:`cummax`).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([2.0, 1.0, 3.0], requires_grad=True)
        >>> tg.cummin(x, 0).values.sum().backward(); x.grad
        tensor([1., 2., 0.])
    """
    return _running_extreme(input, dim, np.minimum, CUMMIN, cummin_result, "cummin")


# ---- logcumsumexp --------------------------------------------------------------------------------
def _np_logcumsumexp(x, dim, reverse=False, out=None):
    if reverse:
        out = None if out is None else np.flip(out, dim)
        return np.flip(np.logaddexp.accumulate(np.flip(x, dim), axis=dim, out=out), dim)
    return np.logaddexp.accumulate(x, axis=dim, out=out)


def _signed_logcumsumexp(v, base, outer, dim, reverse):
    """exp(outer) * the cumsum (forward or from the end) of v * exp(base), as
    exp(outer + logcumsumexp(log(v) + base)) for the positive and the negative parts of v
    separately, so that no term overflows (arrays)."""
    total = 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for sign in (1, -1):
            part = np.where(sign * v > 0, sign * v, 0)
            total = total + sign * np.exp(outer + _np_logcumsumexp(np.log(part) + base, dim,
                                                                     reverse))
    return total


def _softmax_weights(ctx):
    """W[..., j, i, ...] = exp(x_j - out_i) for j <= i, else 0, with (j, i) at (dim, dim + 1)
    (Tensors). Each weight is at most 1."""
    x, out, d = ctx.x, ctx.out, ctx.dim
    shape = tuple(x.shape)
    n = shape[d]
    upper = np.triu(np.ones((n, n), dtype=bool)).reshape((n, n) + (1,) * (len(shape) - d - 1))
    diff = reshape(x, shape[:d] + (n, 1) + shape[d + 1:]) \
        - reshape(out, shape[:d] + (1, n) + shape[d + 1:])
    return exp(where(upper, diff, -np.inf))


def logcumsumexp_vjp(ctx, g):
    """d logcumsumexp: g_j = sum over i >= j of g_i exp(x_j - out_i)."""
    x, out, d = ctx.x, ctx.out, ctx.dim
    if x.ndim == 0:
        return (g,)
    if _is_array(x) and _is_array(g):
        return (_signed_logcumsumexp(g, -out, x, d, True),)
    n = x.shape[d]
    gi = reshape(g, tuple(g.shape[:d]) + (1, n) + tuple(g.shape[d + 1:]))
    return (sum(_softmax_weights(ctx) * gi, d + 1),)


def logcumsumexp_jvp(ctx, t):
    """t_i = sum over j <= i of t_j exp(x_j - out_i)."""
    x, out, d = ctx.x, ctx.out, ctx.dim
    if x.ndim == 0:
        return t
    if _is_array(x) and _is_array(t):
        return _signed_logcumsumexp(t, x, -out, d, False)
    n = x.shape[d]
    tj = reshape(t, tuple(t.shape[:d]) + (n, 1) + tuple(t.shape[d + 1:]))
    return sum(_softmax_weights(ctx) * tj, d)


# NOTE: a primitive for stability: NumPy's logaddexp.accumulate never overflows, and the
# rules never form exp(x) or exp(-out) alone.
LOGCUMSUMEXP = register(OpDef("logcumsumexp", _scan_forward(_np_logcumsumexp),
                              logcumsumexp_vjp, logcumsumexp_jvp, save=("x", "out")))


@numpy_names
def logcumsumexp(input, dim):
    """log(cumsum(exp(input))) along ``dim``, computed without overflow.

    Args:
        input: a floating tensor.
        dim: the dim to scan.

    Returns:
        The scan; its gradient (finite at any magnitude) costs O(n) along ``dim``, and
        O(n^2) when recorded for a second derivative (create_graph=True).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1e4, 1e4], dtype=tg.float64, requires_grad=True)
        >>> y = tg.logcumsumexp(x, 0); y[1].backward(); x.grad
        tensor([0.5000, 0.5000], dtype=tapegrad.float64)
    """
    data = array_of(input)
    if data.dtype.kind != "f":
        raise DTypeError(f"logcumsumexp: input dtype must be floating point, got "
                         f"{data.dtype}; convert with .float() first.")
    return apply_unary(LOGCUMSUMEXP, input, {"dim": _dim(input, dim, "logcumsumexp")})


METHODS = {
    "cumsum": cumsum, "cumsum_": cumsum_, "cumprod": cumprod, "cumprod_": cumprod_,
    "cummax": cummax, "cummin": cummin, "logcumsumexp": logcumsumexp,
}
