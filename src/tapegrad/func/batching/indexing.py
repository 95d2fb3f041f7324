"""Batching rules of the public functions that select by condition, mask or index tensor
(where, masked_fill, masked_scatter, gather and the scatters, index_*, take, advanced
indexing). They read the condition's or index's values before their primitive runs, so the
rules work on the public functions (Note [Batched tensors]).

Layout tricks: a condition or mask broadcasts like any operand, so it is padded as the
pointwise ops' operands are (its batch dim first, size-1 dims after it) and the function runs
once on the physical tensors. An index along ``dim`` becomes an index along ``dim + 1`` of
the physical tensors, with an unbatched operand expanded to the batch (a stride-0 view) where
the function needs every operand to have the batch dim. An index tensor that is itself
batched (a different index per example) becomes a gather or scatter along ``dim + 1``, whose
index already addresses each example's row.
"""
from . import public_rule
from ._layout import align, expand_batch, ndim_of, pad


def _batched_all(args, batched, size):
    return [a if b else expand_batch(a, size) for a, b in zip(args, batched)]


@public_rule("where")
def where(args, batched, kw, size):
    from ...ops.elementwise import where as where_
    return where_(*align(args, batched))


@public_rule("heaviside")
def heaviside(args, batched, kw, size):
    from ...ops.binary_math import heaviside as heaviside_
    return heaviside_(*align(args, batched))


@public_rule("isclose")
def isclose(args, batched, kw, size):
    from ...ops.binary_math import isclose as isclose_
    return isclose_(*align(args, batched), **kw)


@public_rule("masked_fill")
def masked_fill(args, batched, kw, size):
    from ...ops.elementwise import where as where_
    from ...ops.index_ops import as_mask, masked_fill as masked_fill_
    from ...ops.shape import cast
    (x, m, v), (bx, bm, bv) = args, batched
    rank = max(ndim_of(x, bx), ndim_of(m, bm))
    x = pad(x, rank) if bx else x
    m = pad(m, rank) if bm else m
    if not bv:
        return masked_fill_(x, m, v)
    if v.ndim != 1:
        return None           # not a 0-d value per example: the function's own error
    # a per-example 0-d value: it broadcasts like the mask, as where's operand
    as_mask(m, "masked_fill")
    dt = x.dtype
    v = pad(v, rank)
    out = where_(m, v if v.dtype == dt else cast(v, dt), x)
    return out if out.dtype == dt else cast(out, dt)


@public_rule("masked_scatter")
def masked_scatter(args, batched, kw, size):
    """Each example's True positions (in row-major order) take its source's first elements:
    the running count of True values along each example's flattened mask is the position in
    its source, read with one gather."""
    import numpy as np
    from ...ops.elementwise import where as where_
    from ...ops.index_ops import as_mask
    from ...ops.scatter import gather
    from ..._core.batched import Batched
    from ..._core.errors import ShapeError
    from ..._core.tensor import Tensor
    x, m, src = args
    if not isinstance(src, Tensor) or src.dtype != x.dtype:
        return None           # the function's own error
    as_mask(m, "masked_scatter")
    rank = max(ndim_of(x, batched[0]), ndim_of(m, batched[1]))
    x, m, src = _batched_all(args, batched, size)
    x, m = pad(x, rank), pad(m, rank)
    full = tuple(np.broadcast_shapes(tuple(x.shape), tuple(m.shape)))
    x, m = x.expand(full), m.expand(full)
    flat = m.reshape(size, -1)
    src = src.reshape(size, -1)
    n = src.shape[1]
    count = flat.long().sum(1)
    if type(count) is not Batched and flat.shape[1] and int(count.max()) > n:
        raise ShapeError(f"masked_scatter: source has {n} elements per example but the mask "
                         f"has {int(count.max())} True values in one; source needs at least "
                         "as many")
    if n == 0:
        return x.clone()
    pos = (flat.long().cumsum(1) - 1).clamp(0, n - 1)
    return where_(m, gather(src, 1, pos).reshape(full), x)
