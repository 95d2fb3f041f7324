"""Gather and scatter along dims: index_select, gather, scatter, scatter_add, scatter_reduce,
index_add, index_copy, index_fill, index_put, masked_fill, masked_select, masked_scatter,
take, take_along_dim, nonzero, argwhere.

gather and the scatters address ``input`` through an index tensor of ``input``'s rank: the
element at position p of ``index`` stands for position p with its ``dim`` coordinate
replaced by ``index[p]``. That is one NumPy key (``_dim_key``), so gather is ``x[key]``,
scatter ``x[key] = src`` and scatter_add ``x[key] += src`` with repeats accumulating: the
key-based primitives of ops/indexing.py, whose rules give gradients at any order. Only
scatter_reduce's prod, amax and amin need a primitive of their own (``scatter_reduce``).
The index-wise and mask-wise ops live in ops/index_ops.py and are re-exported here.
"""
import numpy as np

from .._core.errors import ArgumentError, ShapeError
from .._core.state import STATE
from .._core.tensor import Tensor, array_of, wrap
from . import indexing
from .elementwise import _floor_divide, where
from .index_ops import (IndexRangeError, as_index, check_range, check_same_dtype,
                        index_add, index_copy, index_fill, index_put, index_select, masked_fill,
                        masked_scatter, masked_select, restore_0d, write_back)
from .registry import OpDef, apply_binary, batched_call, register
from .shape import clone, expand, normalize_dim, reshape

__all__ = ["index_select", "gather", "scatter", "scatter_add", "scatter_reduce", "index_add",
           "index_copy", "index_fill", "index_put", "masked_fill", "masked_select",
           "masked_scatter", "take", "take_along_dim", "nonzero", "argwhere"]


def _dim_key(idx, d):
    """The NumPy key that reads, for each position p of idx, the element at p with its
    d-th coordinate replaced by idx[p] (open ranges for the other dims: no big arrays)."""
    n = idx.ndim
    return tuple(idx if k == d else np.arange(s).reshape((s,) + (1,) * (n - 1 - k))
                 for k, s in enumerate(idx.shape))


def _checked(input, dim, index, src, name):
    """(key, input, src, in_shape) for gather and the scatters, PyTorch's checks done.

    ``input`` (and ``src``) of 0-d come back as shape (1,); ``src`` comes back cut to
    index's shape (PyTorch reads only that corner of a larger src)."""
    x = array_of(input)
    in_shape = x.shape
    idx = as_index(index, name)
    s = array_of(src) if isinstance(src, Tensor) else None
    if x.ndim <= 1 and idx.ndim <= 1 and (s is None or s.ndim <= 1):
        # PyTorch treats 0-d tensors here as vectors of one element
        if x.ndim == 0:
            input, x = reshape(input, (1,)), x.reshape(1)
        idx = idx.reshape(-1)
        if s is not None and s.ndim == 0:
            src, s = reshape(src, (1,)), s.reshape(1)
    d = normalize_dim(dim, x.ndim, name)
    if idx.ndim != x.ndim:
        raise ShapeError(f"{name}: index has {idx.ndim} dims (shape {idx.shape}) but input has "
                         f"{x.ndim} (shape {in_shape}); they must have the same number of dims")
    if s is not None and s.ndim != idx.ndim:
        raise ShapeError(f"{name}: index has {idx.ndim} dims (shape {idx.shape}) but src has "
                         f"{s.ndim} (shape {s.shape}); they must have the same number of dims")
    for k in range(idx.ndim):
        if k != d and idx.shape[k] > x.shape[k]:
            raise ShapeError(f"{name}: index of shape {idx.shape} is larger than input of shape "
                             f"{in_shape} in dim {k}; index can be no larger than input in "
                             f"every dim but dim {d}")
        if s is not None and idx.shape[k] > s.shape[k]:
            raise ShapeError(f"{name}: index of shape {idx.shape} is larger than src of shape "
                             f"{s.shape} in dim {k}; index can be no larger than src in any dim")
    idx = check_range(idx, x.shape[d], name, d)
    if s is not None and s.shape != idx.shape:
        src = src[tuple(slice(0, n) for n in idx.shape)]
    return _dim_key(idx, d), input, src, in_shape


def gather(input, dim, index, *, sparse_grad=False):
    """Values of ``input`` along ``dim`` at ``index``: ``out[i][j] = input[i][index[i][j]]``
    for dim 1 (likewise for other dims and ranks).

    Args:
        input: the tensor.
        dim: the dim to gather along.
        index: an int64 (or int32) tensor of input's rank, no larger than input in the other
            dims; its values must be in [0, input.shape[dim]).
        sparse_grad: accepted for PyTorch compatibility; gradients are dense.

    Returns:
        A tensor of index's shape. In backward, repeated positions accumulate.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        >>> y = tg.gather(x, 1, tg.tensor([[1, 1], [0, 1]])); y.sum().backward(); y, x.grad
        (tensor([[2., 2.],
                [3., 4.]], grad_fn=<IndexBackward0>), tensor([[0., 2.],
                [1., 1.]]))
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the index is read below
        out = batched_call("gather", (input, index), {"dim": dim})
        if out is not None:
            return out
    shape = np.shape(array_of(index))
    key, input, _, _ = _checked(input, dim, index, None, "gather")
    out = indexing.take_key(input, key)
    return reshape(out, shape) if shape == () else out


def _src_or_value(src, value, name):
    if src is not None and value is not None:
        raise ArgumentError(f"{name}: pass either src or value, not both")
    src = value if src is None else src
    if src is None:
        raise ArgumentError(f"{name}: pass src (a tensor) or value (a number)")
    if isinstance(src, np.generic):
        src = src.item()
    if not isinstance(src, (Tensor, int, float, bool)):
        raise TypeError(f"{name}: src must be a tensor or a number, got {type(src).__name__}")
    return src


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """``input`` with the values of ``src`` (or the number ``value``) written at ``index``
    along ``dim``: ``out[i][index[i][j]] = src[i][j]`` for dim 1.

    Args:
        input: the tensor.
        dim: the dim to write along.
        index: an int64 (or int32) tensor of input's rank, no larger than input in the other
            dims and no larger than src in any; only that corner of src is used.
        src: a tensor of input's dtype, or a number (PyTorch's ``value``).
        reduce: None (write), ``'add'`` (as :func:`scatter_add`) or ``'multiply'`` (as
            ``scatter_reduce(..., 'prod')``). NOTE: PyTorch has no gradient with reduce;
            here the reduced forms are differentiable too.

    Returns:
        The new tensor. Where ``index`` repeats a position, one of the repeats is kept and
        only it gets the gradient (PyTorch gives it to every repeat; only one reaches the
        output).

    Example:
        >>> import tapegrad as tg
        >>> s = tg.tensor([[5.0, 6.0]], requires_grad=True)
        >>> y = tg.scatter(tg.zeros(2, 3), 1, tg.tensor([[2, 0]]), s); y
        tensor([[6., 0., 5.],
                [0., 0., 0.]], grad_fn=<IndexPutBackward0>)
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the index is read below
        out = batched_call("scatter", (input, index, src),
                           {"dim": dim, "value": value, "reduce": reduce})
        if out is not None:
            return out
    src = _src_or_value(src, value, "scatter")
    if reduce is not None and reduce not in ("add", "multiply"):
        raise ArgumentError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r} "
                            "(scatter_reduce has more reductions)")
    tensor_src = isinstance(src, Tensor)
    if tensor_src:
        check_same_dtype(input, src, "scatter", "src")
    key, x, s, shape = _checked(input, dim, index, src if tensor_src else None, "scatter")
    if reduce is None:
        out = indexing.index_put(x, key, s if tensor_src else src)
    elif reduce == "add":
        out = indexing.index_add(x, key, s if tensor_src else src)
    else:
        if not tensor_src:
            s = np.full(np.broadcast_shapes(*(k.shape for k in key)), src,
                        dtype=array_of(x).dtype)
        out = _scatter_reduce(x, key, s, "prod", True)   # keeps x: scatter_ clones first
    return restore_0d(out, shape)


def scatter_add(input, dim, index, src):
    """``input`` with ``src`` added at ``index`` along dim (repeats accumulate):
    ``out[i][index[i][j]] += src[i][j]`` for dim 1.

    Args:
        input: the tensor.
        dim: the dim to add along.
        index: an int64 (or int32) tensor of input's rank (see :func:`scatter`).
        src: a tensor of input's dtype, no smaller than index in any dim.

    Example:
        >>> import tapegrad as tg
        >>> s = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> y = tg.scatter_add(tg.zeros(2), 0, tg.tensor([1, 1, 0]), s); y.sum().backward()
        >>> y, s.grad
        (tensor([3., 3.], grad_fn=<IndexAddBackward0>), tensor([1., 1., 1.]))
    """
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add: src must be a tensor, got {type(src).__name__}")
    return scatter(input, dim, index, src, reduce="add")


# ---- scatter_reduce ------------------------------------------------------------------------
_UFUNCS = {"prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def _start(reduce, dtype):
    """The identity of a reduction: where include_self=False, a position starts from it."""
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    info = np.iinfo(dtype) if dtype.kind in "iu" else None
    if info is None:                                       # bool
        return reduce == "amin"
    return info.min if reduce == "amax" else info.max


def _scatter_reduce_forward(x, src, key, reduce, include_self):
    out = np.array(x, copy=True)
    if not include_self:
        out[key] = _start(reduce, out.dtype)
    _UFUNCS[reduce].at(out, key, src)
    return out


def _hit(shape, key):
    hit = np.zeros(shape, dtype=np.bool_)
    hit[key] = True
    return hit


def _weights(ctx):
    """(wx, ws): the derivative of each output element with respect to the input element at
    the same position, and of out[key] with respect to each src element. Any g's gradient is
    then g * wx for input and g[key] * ws for src; the JVP sums the same weights."""
    x, src, out, key = ctx.x, ctx.y, ctx.out, ctx.key
    xd, sd, od = array_of(x), array_of(src), array_of(out)
    hit = _hit(xd.shape, key)
    inside = hit if ctx.include_self else np.zeros_like(hit)   # x elements in a reduction
    if ctx.reduce != "prod":
        # amax/amin: shared evenly among the elements equal to the result (PyTorch's rule)
        on_x = ((xd == od) & inside) | ~hit          # out is x where nothing is scattered
        on_s = sd == od[key]
        count = on_x.astype(od.dtype)
        np.add.at(count, key, on_s)
        count = np.maximum(count, 1)                  # a nan result equals nothing: 0
        return on_x / count, on_s / count[key]
    zx, zs = inside & (xd == 0), sd == 0
    if zx.any() or zs.any():
        return _prod_weights_with_zeros(ctx, zx, zs, inside, hit)
    # no zeros: d out / d e = out / e (the divisor is 1 where x takes no part)
    x_safe = where(inside, x, 1.0)
    return (out / x_safe) * inside + ~hit, indexing.take_key(out, key) / src


def _prod_weights_with_zeros(ctx, zx, zs, inside, hit):
    """prod's (wx, ws) when some group holds zeros (zx, zs mark them). For each group, with
    P the product of its nonzero elements, Z the product of its zeros and S their sum (both 0
    in value, but not in their derivatives), the product of the others is P / e * Z for a
    nonzero e, P for a lone zero, P * (S - e) for one of two zeros, and 0 for one of three or
    more (whose derivatives past the first are taken as 0). Written with tapegrad ops on
    constant masks, so under create_graph it records and differentiates again."""
    x, src, key = ctx.x, ctx.y, ctx.key
    params = {"key": key, "reduce": "prod", "include_self": ctx.include_self}
    p = apply_binary(SCATTER_REDUCE, where(zx, 1.0, x), where(zs, 1.0, src), params)
    z = apply_binary(SCATTER_REDUCE, where(zx, x, 1.0), where(zs, src, 1.0), params)
    s = indexing.index_add(x * zx, key, src * zs)
    count = zx.astype(np.int64)
    np.add.at(count, key, zs)

    def others(e, e_zero, e_safe, p, z, s, n):
        lone_or_pair = where(n == 1, p, where(n == 2, p * (s - e), 0.0))
        return where(e_zero, lone_or_pair, p / e_safe * z)
    x_safe = where(inside & ~zx, x, 1.0)      # nonzero, so no branch has an inf or a nan
    wx = where(inside, others(x, zx, x_safe, p, z, s, count), ~hit)
    take = indexing.take_key
    ws = others(src, zs, where(zs, 1.0, src), take(p, key), take(z, key), take(s, key),
                count[key])
    return wx, ws


def scatter_reduce_vjp(ctx, g):
    """d scatter_reduce: g * wx for input, g[key] * ws for src (see _weights)."""
    wx, ws = _weights(ctx)
    need = ctx.needs_input_grad
    return ((g * wx if need[0] else None),
            (indexing.take_key(g, ctx.key) * ws if need[1] else None))


def scatter_reduce_jvp(ctx, tx, ts):
    """t out = tx * wx + the tangents of src times ws, added at key."""
    wx, ws = _weights(ctx)
    return indexing.index_add(tx * wx, ctx.key, ts * ws)


# NOTE: a primitive for prod, amax and amin: the result picks or multiplies elements, and
# the rule needs the result itself (ties, products of the others); sum and mean are exact
# composites of index_add.
SCATTER_REDUCE = register(OpDef("scatter_reduce", _scatter_reduce_forward, scatter_reduce_vjp,
                                scatter_reduce_jvp, save=("x", "y", "out")))


def _scatter_reduce(x, key, src, reduce, include_self):
    if reduce in _UFUNCS:
        return apply_binary(SCATTER_REDUCE, x, src,
                            {"key": key, "reduce": reduce, "include_self": bool(include_self)})
    base = x if include_self else indexing.index_put(x, key, 0)
    total = indexing.index_add(base, key, src)
    if reduce == "sum":
        return total
    xd = array_of(x)
    count = np.full(xd.shape, 1 if include_self else 0, dtype=np.int64)
    np.add.at(count, key, 1)
    count = np.maximum(count, 1).astype(xd.dtype)
    # NOTE: integer means round down, as in PyTorch
    return _floor_divide(total, count) if xd.dtype.kind in "biu" else total / count


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """``input`` with the values of ``src`` reduced into the positions ``index`` names along
    ``dim`` (``out[i][index[i][j]] = reduce(out[i][index[i][j]], src[i][j])`` for dim 1).

    Args:
        input: the tensor.
        dim: the dim to reduce along.
        index: an int64 (or int32) tensor of input's rank (see :func:`scatter`).
        src: a tensor of input's dtype, no smaller than index in any dim.
        reduce: ``'sum'``, ``'prod'``, ``'mean'``, ``'amax'`` or ``'amin'``.
        include_self: whether input's own values at the named positions take part;
            positions no index names keep input's value either way.

    Returns:
        The new tensor. Gradients as PyTorch defines them: amax/amin share it evenly among
        the elements equal to the result; prod gives each element the product of the others
        in its group, exact with zeros and differentiable again (at three or more zeros in
        one group, its derivatives past the first are taken as 0). Integer means round down.

    Example:
        >>> import tapegrad as tg
        >>> s = tg.tensor([1.0, 5.0, 5.0], requires_grad=True)
        >>> y = tg.scatter_reduce(tg.zeros(2), 0, tg.tensor([0, 0, 0]), s, "amax")
        >>> y.sum().backward(); y, s.grad
        (tensor([5., 0.], grad_fn=<ScatterReduceBackward0>), tensor([0.0000, 0.5000, 0.5000]))
    """
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise ArgumentError(f"scatter_reduce: reduce must be one of 'sum', 'prod', 'mean', "
                            f"'amax', 'amin'; got {reduce!r}")
    if STATE.vmap_levels:       # Note [Batched tensors]: the index is read below
        out = batched_call("scatter_reduce", (input, index, src),
                           {"dim": dim, "reduce": reduce, "include_self": include_self})
        if out is not None:
            return out
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_reduce: src must be a tensor, got {type(src).__name__}")
    check_same_dtype(input, src, "scatter_reduce", "src")
    key, x, s, shape = _checked(input, dim, index, src, "scatter_reduce")
    return restore_0d(_scatter_reduce(x, key, s, reduce, include_self), shape)


# ---- take, take_along_dim, nonzero -------------------------------------------------------------
def take(input, index):
    """The elements of ``input`` read as a flat vector, at ``index`` (any shape).

    Args:
        input: the tensor (read in row-major order).
        index: an int64 tensor; negative values count from the end.

    Returns:
        A tensor of index's shape.

    Example:
        >>> import tapegrad as tg
        >>> tg.take(tg.tensor([[1.0, 2.0], [3.0, 4.0]]), tg.tensor([[0, -1]]))
        tensor([[1., 4.]])
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the index is read below
        out = batched_call("take", (input, index),
                           {})
        if out is not None:
            return out
    idx = as_index(index, "take", int64_only=True)
    n = array_of(input).size
    bad = (idx < -n) | (idx >= n)
    if bad.any():
        raise IndexRangeError(
            f"take: index {int(idx[bad].flat[0])} is out of range for a tensor of {n} "
            f"elements (shape {array_of(input).shape}); allowed values: [{-n}, {n - 1}]")
    idx = np.where(idx < 0, idx + n, idx)
    return indexing.take_key(reshape(input, (-1,)), (idx,))


def take_along_dim(input, indices, dim=None):
    """Values of ``input`` at ``indices`` along ``dim``, input and indices broadcasting in
    the other dims (NumPy's take_along_axis); with ``dim=None``, of the flattened input.

    Args:
        input: the tensor.
        indices: an int64 tensor of input's rank (any shape when ``dim`` is None); negative
            values count from the end.
        dim: the dim, or None.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([[3.0, 1.0], [2.0, 4.0]])
        >>> tg.take_along_dim(x, tg.argmax(x, 1, keepdim=True), dim=1)
        tensor([[3.],
                [4.]])
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: indices are read below
        out = batched_call("take_along_dim", (input, indices),
                           {"dim": dim})
        if out is not None:
            return out
    name = "take_along_dim"
    if dim is None:
        return take(input, reshape(indices, (-1,)) if isinstance(indices, Tensor) else indices)
    idx = as_index(indices, name, int64_only=True, what="indices")
    x = array_of(input)
    if idx.ndim != x.ndim:
        raise ShapeError(f"{name}: input and indices must have the same number of dims, got "
                         f"shapes {x.shape} and {idx.shape}")
    d = normalize_dim(dim, x.ndim, name)
    rest = lambda s: s[:d] + (1,) + s[d + 1:]   # noqa: E731
    try:
        common = np.broadcast_shapes(rest(x.shape), rest(idx.shape))
    except ValueError:
        raise ShapeError(f"{name}: input of shape {x.shape} and indices of shape {idx.shape} "
                         f"can't be broadcast in the dims other than dim {d}") from None
    if x.ndim == 0:
        idx = check_range(idx.reshape(1), 1, name, d, negative=True)
        return reshape(indexing.take_key(reshape(input, (1,)), (idx,)), ())
    want = common[:d] + (x.shape[d],) + common[d + 1:]
    if x.shape != want:
        input = expand(input, want)
    idx = np.broadcast_to(idx, common[:d] + (idx.shape[d],) + common[d + 1:])
    idx = check_range(idx, x.shape[d], name, d, negative=True)
    return indexing.take_key(input, _dim_key(idx, d))


def nonzero(input, *, as_tuple=False):
    """The indices of the nonzero elements of ``input`` (not differentiable).

    Args:
        input: the tensor.
        as_tuple: return one 1-d tensor per dim instead of one (n, ndim) tensor.

    Returns:
        An int64 tensor of shape (n, input.ndim), or a tuple of int64 tensors; a 0-d input
        counts as one element (shape (n, 0), or a tuple of one tensor).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([[0.0, 2.0], [3.0, 0.0]])
        >>> tg.nonzero(x), tg.nonzero(x, as_tuple=True)
        (tensor([[0, 1],
                [1, 0]]), (tensor([0, 1]), tensor([1, 0])))
    """
    x = array_of(input)
    if as_tuple:
        return tuple(wrap(np.asarray(i, dtype=np.int64)) for i in np.nonzero(np.atleast_1d(x)))
    if x.ndim == 0:
        return wrap(np.zeros((int(x != 0), 0), dtype=np.int64))
    return wrap(np.asarray(np.argwhere(x), dtype=np.int64))


def argwhere(input):
    """The indices of the nonzero elements of ``input``, as an (n, ndim) int64 tensor
    (:func:`nonzero` with ``as_tuple=False``; not differentiable).

    Example:
        >>> import tapegrad as tg
        >>> tg.argwhere(tg.tensor([0, 5, 7]))
        tensor([[1],
                [2]])
    """
    return nonzero(input)


def _inplace(fn, name, saves_input=False):
    """The in-place form of ``fn``; ``saves_input``: its rule may keep input, which then
    must be a copy (the write-back changes input). It keeps input also when only src
    requires grad (src's gradient reads it), so any tensor requiring grad asks for the copy."""
    def method(self, *args, **kwargs):
        recorded = saves_input and any(isinstance(a, Tensor) and a.requires_grad
                                       for a in (self,) + args + tuple(kwargs.values()))
        src = clone(self) if recorded else self
        return write_back(self, fn(src, *args, **kwargs), name)
    method.__name__ = name
    method.__doc__ = f"In-place :func:`{fn.__name__}` (writes the result into this tensor)."
    return method


METHODS = {   # Tensor methods (bound in ops/methods.py), in-place forms included
    "index_select": index_select, "gather": gather, "take": take,
    "take_along_dim": take_along_dim, "masked_select": masked_select,
    "nonzero": nonzero, "argwhere": argwhere,
    "scatter": scatter, "scatter_": _inplace(scatter, "scatter_", saves_input=True),
    "scatter_add": scatter_add, "scatter_add_": _inplace(scatter_add, "scatter_add_"),
    "scatter_reduce": scatter_reduce,
    "scatter_reduce_": _inplace(scatter_reduce, "scatter_reduce_", saves_input=True),
    "index_add": index_add, "index_add_": _inplace(index_add, "index_add_"),
    "index_copy": index_copy, "index_copy_": _inplace(index_copy, "index_copy_"),
    "index_fill": index_fill, "index_fill_": _inplace(index_fill, "index_fill_"),
    "index_put": index_put, "index_put_": _inplace(index_put, "index_put_"),
    "masked_fill": masked_fill, "masked_fill_": _inplace(masked_fill, "masked_fill_"),
    "masked_scatter": masked_scatter,
    "masked_scatter_": _inplace(masked_scatter, "masked_scatter_"),
}
