"""Sorting and counting: sort, argsort, msort, topk, kthvalue, unique, bincount, histc,
searchsorted, bucketize.

# Note [Values picked at indices]
The values that sort, topk and kthvalue return are the input's elements at indices chosen
once from the data: a gather with fixed indices, so a linear map. Its adjoint puts the
cotangent back at those indices, zero elsewhere. Because the indices of one row are distinct,
that adjoint is again a gather: with the inverse indices, reading a zero (a padding slot past
the end) where no index chose a position. So one primitive serves the values, their
gradient, and the gradient of that, at any order; its JVP is the same gather of the tangent.
Ties are broken by position (a stable sort), and the gradient goes to the returned index.
"""
import numpy as np

from .._core.errors import ArgumentError, DTypeError, IndexRangeError, ShapeError
from .._core.state import STATE
from .._core.tensor import Tensor, array_of, wrap
from .reduction import numpy_names, one_dim, values_indices
from .registry import OpDef, apply_unary, batched_call, register
from .shape import clone, reshape

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "unique", "bincount", "histc",
           "searchsorted", "bucketize"]


# ---- the gather primitive (Note [Values picked at indices]) ----------------------------------
def _gather_forward(x, idx, dim, n, pad, keepdim):
    """x's elements at ``idx`` along ``dim``; with ``pad``, index ``n`` reads a zero."""
    if pad:
        shape = list(x.shape)
        shape[dim] = 1
        x = np.concatenate([x, np.zeros(shape, dtype=x.dtype)], axis=dim)
    out = np.take_along_axis(x, idx, axis=dim)
    return out if keepdim else np.squeeze(out, axis=dim)


def _inverse(idx, dim, n, padded):
    """For each of the n input positions, the output position that picked it, or m (the
    adjoint's padding slot) where none did; and whether any position was left out."""
    m = idx.shape[dim]
    shape = list(idx.shape)
    shape[dim] = n + 1                    # one spare slot takes the writes of padding indices
    inv = np.full(shape, m, dtype=np.int64)
    iota = np.arange(m).reshape([-1 if i == dim else 1 for i in range(idx.ndim)])
    np.put_along_axis(inv, idx, iota, axis=dim)
    inv = inv[(slice(None),) * dim + (slice(0, n),)]
    return inv, m < n or (padded and bool((inv == m).any()))


def gather_vjp(ctx, g):
    """d (x at idx) = g put back at idx: the gather of g at the inverse indices."""
    idx, dim = ctx.idx, ctx.dim
    inv, pad = _inverse(idx, dim, ctx.n, ctx.pad)
    gk = g if ctx.keepdim else reshape(g, idx.shape)
    return (apply_unary(SORT_SCATTER, gk, {"idx": inv, "dim": dim, "n": idx.shape[dim],
                                           "pad": pad, "keepdim": True}),)


def _gather_op(name):
    def gather_jvp(ctx, t):
        """Linear: the tangent's values at the same indices."""
        return apply_unary(op, t, ctx.params)
    op = register(OpDef(name, _gather_forward, gather_vjp, gather_jvp))
    return op


# NOTE: one rule under four names, so grad_fn names say which op made a value (SortBackward0,
# TopkBackward0, KthvalueBackward0); sort_scatter is the gradient's own gather.
SORT, TOPK, KTHVALUE, SORT_SCATTER = (_gather_op(n) for n in
                                      ("sort", "topk", "kthvalue", "sort_scatter"))


def _pick(op, input, idx, dim, keepdim=True):
    """``input``'s values at ``idx`` along ``dim`` through ``op``; idx is kept by the node, so
    the indices handed to the user are a separate copy."""
    params = {"idx": idx, "dim": dim, "n": array_of(input).shape[dim], "pad": False,
              "keepdim": keepdim}
    return apply_unary(op, input, params)


def _order(data, dim, descending):
    """Indices that sort ``data`` along ``dim``, stably (equal elements keep their order);
    NaN counts as the largest value, as in PyTorch."""
    # Sorting the reversed row ascending and reversing back keeps equal elements in their
    # original order and puts NaN first; negating the values would do neither (nor for ints).
    src = np.flip(data, dim) if descending else data
    idx = _fast_order(src, dim) if data.dtype.kind == "f" else None
    if idx is None:
        idx = np.argsort(src, axis=dim, kind="stable")
    return (data.shape[dim] - 1) - np.flip(idx, dim) if descending else idx


def _fast_order(data, dim):
    """NumPy's unstable float argsort (about 4x faster than its stable one), or None when a
    row has equal values (or NaNs), where only a stable sort gives PyTorch's order."""
    idx = np.argsort(data, axis=dim)
    v = np.take_along_axis(data, idx, axis=dim)
    head = (slice(None),) * dim
    if np.all(v[head + (slice(1, None),)] > v[head + (slice(None, -1),)]):
        return idx
    return None


def _check_int(k, name, what="k"):
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise TypeError(f"{name}: {what} must be an int, got {k!r}")
    return int(k)


def _scalar_result(input):
    """sort/topk/kthvalue of a 0-d tensor: the value itself, at index 0."""
    return values_indices(clone(input), wrap(np.zeros((), dtype=np.int64)))


@numpy_names
def sort(input, dim=-1, descending=False, *, stable=False):
    """Sort the elements of ``input`` along ``dim``.

    Args:
        input: the tensor.
        dim: the dim to sort along (default: the last).
        descending: largest first.
        stable: accepted for PyTorch's signature; the sort is always stable (equal elements
            keep their order, also when descending). NaN counts as the largest value.

    Returns:
        A ``(values, indices)`` named tuple; ``values`` is differentiable (each element's
        gradient goes back to where it came from), ``indices`` is int64.

    Example:
        >>> import tapegrad as tg
        >>> tg.sort(tg.tensor([3.0, 1.0, 2.0, 1.0]), descending=True)
        values_indices(values=tensor([3., 2., 1., 1.]), indices=tensor([0, 2, 1, 3]))
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call("sort", (input,),
                           {"dim": dim, "descending": descending, "stable": stable})
        if out is not None:
            return out
    data = array_of(input)
    d = one_dim(dim, data.ndim, "sort")
    if data.ndim == 0:
        return _scalar_result(input)
    idx = _order(data, d, descending)
    return values_indices(_pick(SORT, input, idx, d), wrap(idx.copy()))


@numpy_names
def argsort(input, dim=-1, descending=False, *, stable=False):
    """Indices that sort ``input`` along ``dim`` (stably); the indices of :func:`sort`.

    Example:
        >>> import tapegrad as tg
        >>> tg.argsort(tg.tensor([[3, 1, 2], [0, 5, 4]]), dim=1, descending=True)
        tensor([[0, 2, 1],
                [1, 2, 0]])
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call("argsort", (input,),
                           {"dim": dim, "descending": descending, "stable": stable})
        if out is not None:
            return out
    data = array_of(input)
    d = one_dim(dim, data.ndim, "argsort")
    if data.ndim == 0:
        return wrap(np.zeros((), dtype=np.int64))
    return wrap(_order(data, d, descending))


def msort(input):
    """``input`` sorted along its first dim (values only, differentiable).

    Example:
        >>> import tapegrad as tg
        >>> tg.msort(tg.tensor([[3.0, 1.0], [2.0, 4.0]]))
        tensor([[2., 1.],
                [3., 4.]])
    """
    return sort(input, 0).values


def _check_not_bool(data, name):
    if data.dtype == np.bool_:
        raise DTypeError(f"{name}: bool tensors are not supported (as in PyTorch); convert "
                         "with .int() or .float() first.")


@numpy_names
def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) elements of ``input`` along ``dim``.

    Args:
        input: the tensor (not bool).
        k: how many, ``0 <= k <= input.shape[dim]``.
        dim: the dim to select along (default: the last).
        largest: the largest elements (else the smallest).
        sorted: accepted for PyTorch's signature; the result is always sorted (largest or
            smallest first). Among equal elements the one with the lower index comes first.

    Returns:
        A ``(values, indices)`` named tuple; the gradient of ``values`` goes to ``indices``.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 4.0, 2.0, 3.0], requires_grad=True)
        >>> values, indices = tg.topk(x, 2); values.sum().backward()
        >>> values, indices, x.grad
        (tensor([4., 3.], grad_fn=<TopkBackward0>), tensor([1, 3]), tensor([0., 1., 0., 1.]))
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call("topk", (input,),
                           {"k": k, "dim": dim, "largest": largest, "sorted": sorted})
        if out is not None:
            return out
    data = array_of(input)
    k = _check_int(k, "topk")
    d = one_dim(dim, data.ndim, "topk")
    _check_not_bool(data, "topk")
    n = data.shape[d] if data.ndim else 1
    if not 0 <= k <= n:
        raise ArgumentError(f"topk: selected index k={k} is out of range for dim {dim} of size "
                            f"{n} (shape {data.shape}); k must be in [0, {n}].")
    if data.ndim == 0:                 # PyTorch returns the element itself for k of 0 or 1
        return _scalar_result(input)
    idx = _order(data, d, largest)[(slice(None),) * d + (slice(0, k),)]
    idx = np.ascontiguousarray(idx)
    return values_indices(_pick(TOPK, input, idx, d), wrap(idx.copy()))


@numpy_names
def kthvalue(input, k, dim=-1, keepdim=False):
    """The ``k``-th smallest element of ``input`` along ``dim`` (k counts from 1).

    Args:
        input: the tensor (not bool).
        k: which one, ``1 <= k <= input.shape[dim]``.
        dim: the dim to select along (default: the last).
        keepdim: keep the reduced dim with size 1.

    Returns:
        A ``(values, indices)`` named tuple; the gradient of ``values`` goes to ``indices``.
        Among equal elements, the k-th in a stable sort is chosen; NaN counts as largest.

    Example:
        >>> import tapegrad as tg
        >>> tg.kthvalue(tg.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]]), 2)
        values_indices(values=tensor([2., 4.]), indices=tensor([2, 2]))
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call("kthvalue", (input,), {"k": k, "dim": dim, "keepdim": keepdim})
        if out is not None:
            return out
    data = array_of(input)
    k = _check_int(k, "kthvalue")
    d = one_dim(dim, data.ndim, "kthvalue")
    _check_not_bool(data, "kthvalue")
    n = data.shape[d] if data.ndim else 1
    if n == 0:
        raise ShapeError(f"kthvalue: can't select along dim {dim} of size 0 (shape "
                         f"{data.shape}).")
    if not 1 <= k <= n:
        raise ArgumentError(f"kthvalue: k={k} is out of range for dim {dim} of size {n} "
                            f"(shape {data.shape}); k must be in [1, {n}].")
    if data.ndim == 0:
        return _scalar_result(input)
    idx = np.ascontiguousarray(_order(data, d, False)[(slice(None),) * d + (slice(k - 1, k),)])
    indices = idx if keepdim else np.squeeze(idx, axis=d)
    return values_indices(_pick(KTHVALUE, input, idx, d, keepdim), wrap(indices.copy()))


# ---- counting ----------------------------------------------------------------------------------
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct elements of ``input`` (or distinct slices along ``dim``), in sorted order.

    Args:
        input: the tensor.
        sorted: accepted for PyTorch's signature; the result is always sorted.
        return_inverse: also return, for each element (slice), the index of its value in
            the result (shaped like ``input``, or ``(input.shape[dim],)`` with ``dim``).
        return_counts: also return how often each distinct value occurs.
        dim: find distinct slices along this dim instead of distinct elements.

    Returns:
        The distinct values, or a tuple of them and the inverse and/or the counts (int64).
        Not differentiable (a result does not require grad). NaNs are each distinct.

    Example:
        >>> import tapegrad as tg
        >>> tg.unique(tg.tensor([3, 1, 3, 2]), return_inverse=True, return_counts=True)
        (tensor([1, 2, 3]), tensor([2, 0, 2, 1]), tensor([1, 1, 2]))
    """
    data = array_of(input)
    if dim is None:
        axis = None
    elif data.ndim == 0:
        raise IndexRangeError(f"unique: dim {dim} was given but the tensor is 0-d; pass dim=None.")
    else:
        axis = one_dim(dim, data.ndim, "unique")
        if data.size == 0 and data.shape[axis] != 0:
            raise ShapeError(f"unique: the tensor of shape {data.shape} has a size-0 dim other "
                             f"than dim {dim}, so it has no slices to compare along dim {dim}.")
    # NOTE: equal_nan=False keeps each NaN distinct, as PyTorch does.
    vals, inverse, counts = np.unique(data, return_inverse=True, return_counts=True, axis=axis,
                                      equal_nan=False)
    out = (wrap(vals),)
    if return_inverse:
        shape = data.shape if axis is None else (data.shape[axis],)
        out += (wrap(inverse.astype(np.int64).reshape(shape)),)
    if return_counts:
        out += (wrap(counts.astype(np.int64)),)
    return out if len(out) > 1 else out[0]


def _bincount_forward(w, index, minlength):
    return np.bincount(index, w, minlength).astype(w.dtype, copy=False)


def bincount_vjp(ctx, g):
    """d bincount(index, w) / d w: each weight gets the cotangent of its bin, g[index]."""
    return (g[ctx.index],)


# NOTE: PyTorch has no derivative for bincount's weights; the weighted count is linear in
# them, so tapegrad gives the exact gradient rather than none.
def bincount_jvp(ctx, t):
    """Linear in the weights: the weighted count of the tangent."""
    return apply_unary(BINCOUNT, t, ctx.params)


BINCOUNT = register(OpDef("bincount", _bincount_forward, bincount_vjp, bincount_jvp))


def bincount(input, weights=None, minlength=0):
    """How often each value 0, 1, ... occurs in the 1-d non-negative integer ``input``.

    Args:
        input: a 1-d tensor of non-negative integers.
        weights: a 1-d tensor of the same length: sum these instead of counting ones. Float
            weights keep their dtype, others give float64; the result is differentiable in
            float weights (PyTorch has no gradient there).
        minlength: the least number of bins.

    Returns:
        A 1-d tensor of ``max(input.max() + 1, minlength)`` bins (int64 without weights).

    Example:
        >>> import tapegrad as tg
        >>> tg.bincount(tg.tensor([0, 1, 1, 3])), tg.bincount(tg.tensor([0, 2]), minlength=4)
        (tensor([1, 2, 0, 1]), tensor([1, 0, 1, 0]))
        >>> tg.bincount(tg.tensor([0, 1, 1]), weights=tg.tensor([0.5, 1.0, 2.0]))
        tensor([0.5000, 3.0000])
    """
    data = array_of(input)
    if data.dtype.kind not in "iu":
        raise DTypeError(f"bincount: input must be an integer tensor, got {data.dtype}; "
                         "convert with .long() first.")
    if data.ndim != 1:
        raise ShapeError(f"bincount: input must be 1-d, got shape {data.shape}; flatten it "
                         "first.")
    if data.size and data.min() < 0:
        raise ArgumentError(f"bincount: input must be non-negative, got {data.min()}.")
    minlength = _check_int(minlength, "bincount", "minlength")
    if minlength < 0:
        raise ArgumentError(f"bincount: minlength must be >= 0, got {minlength}.")
    if weights is None:
        return wrap(np.bincount(data, minlength=minlength).astype(np.int64, copy=False))
    w = array_of(weights)
    if w.shape != data.shape:
        raise ShapeError(f"bincount: weights must be 1-d with the length of input {data.shape},"
                         f" got shape {w.shape}.")
    params = {"index": data.astype(np.intp), "minlength": minlength}
    if w.dtype.kind != "f":
        return wrap(_bincount_forward(w.astype(np.float64), **params))
    return apply_unary(BINCOUNT, weights, params)


def histc(input, bins=100, min=0, max=0):
    """Histogram of ``input``'s elements in ``bins`` equal bins over ``[min, max]``.

    Args:
        input: a floating tensor (any shape; its elements are counted).
        bins: the number of bins.
        min, max: the range; elements outside it (and NaN) are not counted. When they are
            equal, the data's smallest and largest elements are used (widened by 1 on each
            side when those are equal too).

    Returns:
        The counts as a 1-d tensor of ``input``'s dtype; not differentiable.

    Example:
        >>> import tapegrad as tg
        >>> tg.histc(tg.tensor([1.0, 2.0, 1.0, 5.0]), bins=4, min=0, max=4)
        tensor([0., 2., 1., 0.])
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call("histc", (input,), {"bins": bins, "min": min, "max": max})
        if out is not None:
            return out
    data = array_of(input)
    if data.dtype.kind != "f":
        raise DTypeError(f"histc: input must be a floating tensor, got {data.dtype}; convert "
                         "with .float() first.")
    bins = _check_int(bins, "histc", "bins")
    if bins <= 0:
        raise ArgumentError(f"histc: bins must be > 0, got {bins}.")
    dtype = data.dtype.type
    lo, hi = dtype(min), dtype(max)
    if lo == hi and data.size:
        lo, hi = data.min(), data.max()
    if lo == hi:
        lo, hi = lo - dtype(1), hi + dtype(1)
    if lo > hi:
        raise ArgumentError(f"histc: max must be larger than min, got min={min}, max={max}.")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ArgumentError(f"histc: the range [{lo}, {hi}] is not finite; pass finite min and "
                            "max, or remove infinities and NaNs from the data.")
    x = data[(data >= lo) & (data <= hi)]
    # NOTE: in this order of operations (in the input's dtype) a value next to a bin edge
    # lands in the same bin as in PyTorch; (x - min) / (max - min) * bins rounds differently.
    pos = ((x - lo) * dtype(bins) / (hi - lo)).astype(np.intp)
    np.clip(pos, 0, bins - 1, out=pos)     # x == max belongs to the last bin
    return wrap(np.bincount(pos, minlength=bins).astype(data.dtype))


# ---- searching ---------------------------------------------------------------------------------
def _scalar_value(v):
    return isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))


def _one_of(name, **given):
    """The one argument given under any of PyTorch's names for it (``input``, ``values``,
    ``self``)."""
    passed = [k for k, v in given.items() if v is not None]
    if len(passed) != 1:
        raise TypeError(f"{name}: pass the values to search once, as one of "
                        f"{', '.join(given)}; got {', '.join(passed) or 'none'}.")
    return given[passed[0]]


def searchsorted(sorted_sequence, input=None, *, out_int32=False, right=False, side=None,
                 sorter=None, values=None, self=None):
    """Where ``values`` would be inserted into ``sorted_sequence`` (along its last dim) to
    keep it sorted.

    Args:
        sorted_sequence: sorted along its last dim; 1-d, or with the leading dims of
            ``values``.
        input: the values to search: a tensor or a Python number (then ``sorted_sequence``
            must be 1-d). PyTorch's keyword names ``values=`` and ``self=`` work too.
        out_int32: int32 indices instead of int64.
        right: the last fitting position among equal elements (else the first).
        side: "left" or "right", the same as ``right`` (they must not disagree).
        sorter: int64 indices that sort ``sorted_sequence`` when it is not sorted itself.

    Returns:
        An integer tensor shaped like ``values``; not differentiable.

    Example:
        >>> import tapegrad as tg
        >>> seq = tg.tensor([1.0, 3.0, 5.0, 7.0])
        >>> tg.searchsorted(seq, tg.tensor([3.0, 6.0, 9.0])), tg.searchsorted(seq, 3.0, right=True)
        (tensor([1, 3, 4]), tensor(2))
    """
    name = "searchsorted"
    values = _one_of(name, input=input, values=values, self=self)
    seq = array_of(sorted_sequence)
    if seq.ndim == 0:
        raise ShapeError(f"{name}: sorted_sequence must have at least one dim, got a 0-d "
                         "tensor.")
    if side not in (None, "left", "right"):
        raise ArgumentError(f"{name}: side must be 'left' or 'right', got {side!r}.")
    if side == "left" and right:
        raise ArgumentError(f"{name}: side='left' and right=True disagree; pass one of them.")
    side = side or ("right" if right else "left")
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call(name, (sorted_sequence, values, sorter),
                           {"out_int32": out_int32, "side": side})
        if out is not None:
            return out
    scalar = _scalar_value(values)
    if not scalar and not isinstance(values, (Tensor, np.ndarray)):
        raise TypeError(f"{name}: values must be a tensor or a number, got "
                        f"{type(values).__name__}")
    vals = np.asarray(values) if scalar else array_of(values)
    if seq.dtype == np.bool_ or vals.dtype == np.bool_:
        raise DTypeError(f"{name}: bool tensors are not supported; convert with .int() first.")
    if seq.ndim > 1 and (vals.ndim != seq.ndim or vals.shape[:-1] != seq.shape[:-1]):
        raise ShapeError(
            f"{name}: sorted_sequence of shape {seq.shape} must be 1-d, or share all dims but "
            f"the last with values, got values of shape {vals.shape}.")
    if sorter is not None:
        order = array_of(sorter)
        if order.dtype != np.int64:
            raise DTypeError(f"{name}: sorter must be an int64 tensor, got {order.dtype}.")
        if order.shape != seq.shape:
            raise ShapeError(f"{name}: sorter must have the shape of sorted_sequence "
                             f"{seq.shape}, got {order.shape}.")
        n = seq.shape[-1]
        if order.size and (order.min() < 0 or order.max() >= n):
            raise ArgumentError(f"{name}: sorter has an index out of range [0, {n}).")
        seq = np.take_along_axis(seq, order, axis=-1)
    if seq.ndim == 1:
        out = np.searchsorted(seq, vals, side=side)
    else:
        out = np.empty(vals.shape, dtype=np.intp)
        for row in np.ndindex(seq.shape[:-1]):   # NOTE: NumPy searches one sequence per call
            out[row] = np.searchsorted(seq[row], vals[row], side=side)
    return wrap(np.asarray(out, dtype=np.int32 if out_int32 else np.int64))


def bucketize(input=None, boundaries=None, *, out_int32=False, right=False, self=None):
    """The index of the bucket of each element of ``input``, for 1-d sorted ``boundaries``:
    ``i`` with ``boundaries[i-1] < x <= boundaries[i]`` (``<= x <`` with ``right=True``).
    ``input`` may be a number, also passed as ``self=`` (PyTorch's name for it then).

    Example:
        >>> import tapegrad as tg
        >>> tg.bucketize(tg.tensor([3.0, 6.0, 9.0, 0.0]), tg.tensor([1.0, 3.0, 5.0, 7.0]))
        tensor([1, 3, 4, 0])
    """
    input = _one_of("bucketize", input=input, self=self)
    if boundaries is None:
        raise TypeError("bucketize: missing the boundaries (a 1-d sorted tensor)")
    b = array_of(boundaries)
    if b.ndim != 1:
        raise ShapeError(f"bucketize: boundaries must be 1-d, got shape {b.shape}; use "
                         "searchsorted for batched boundaries.")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


METHODS = {"sort": sort, "argsort": argsort, "msort": msort, "topk": topk,
           "kthvalue": kthvalue, "unique": unique, "bincount": bincount, "histc": histc}
