"""Batching rules of the public functions that address a tensor along one dim through an
index tensor: gather, scatter (scatter_add), scatter_reduce, take, take_along_dim and the
index_* functions. They read the index's values before their primitive runs, so the rules
work on the public functions (Note [Batched tensors]).

Layout tricks: gather, the scatters and take_along_dim take an index of the input's rank,
so with every operand given the batch dim (an unbatched one expanded: a stride-0 view) the
function runs once along ``dim + 1``: each example's index addresses its own row. Examples
of rank 0 or 1 (which these functions treat as vectors) run as (batch, n) matrices along
dim 1. take reads the flattened example: a take_along_dim along dim 1 of (batch, numel).
The index_* functions take a vector index: with an unbatched index they run once along
``dim + 1``; a per-example index (batch, k) becomes gather's or scatter's index, shaped
(batch, 1, .., k, .., 1) and expanded over the other dims.
"""
import math

from .indexing import public_rule
from ._layout import expand_batch, ndim_of


def _all_batched(args, batched, size):
    """Tensor (and array) operands given the batch dim."""
    return [(a if b else expand_batch(a, size)) if _is_array(a) else a
            for a, b in zip(args, batched)]


def _is_array(a):
    import numpy as np
    from ..._core.tensor import Tensor
    return isinstance(a, (Tensor, np.ndarray))


def _dtype(t):
    import numpy as np
    from ..._core.tensor import Tensor
    return t._data.dtype if isinstance(t, Tensor) else np.asarray(t).dtype


def _values(t):
    """A physical index's values, or None when it is batched at an outer vmap too."""
    import numpy as np
    from ..._core.batched import Batched
    from ..._core.tensor import Tensor
    if type(t) is Batched:
        return None
    return t._data if isinstance(t, Tensor) else np.asarray(t)


def _in_range(idx, n, negative):
    """Whether a physical index's values all address one of n positions (else the rule
    answers None: the function's own per-example error). An index batched at an outer vmap
    too is checked there, when that level's rule runs the function."""
    v = _values(idx)
    if v is None:
        return True
    if v.dtype.kind not in "iu":
        return False
    return not v.size or (v.min() >= (-n if negative else 0) and v.max() < n)


def _dim_indexed(fn, args, batched, kw, size, out_like):
    """fn(x, dim, index, *rest) with every tensor batched, along dim + 1; ``out_like``: the
    argument whose example shape the result has (0: input, 1: index)."""
    dim = kw.pop("dim")
    tensors = [i for i, a in enumerate(args) if _is_array(a)]
    ranks = [ndim_of(args[i], batched[i]) for i in tensors]
    out_shape = tuple(args[out_like].shape[1:] if batched[out_like] else args[out_like].shape)
    phys = _all_batched(args, batched, size)
    if max(ranks) <= 1:                  # vectors (0-d ones as one element): (batch, n)
        if dim not in (0, -1):
            return None
        phys = [a.reshape(size, -1) if i in tensors else a for i, a in enumerate(phys)]
        out = fn(phys[0], 1, *phys[1:], **kw)
        return out.reshape((size,) + out_shape)
    nd = ranks[0]
    if any(r != nd for r in ranks) or not -nd <= dim < nd:
        return None                      # the function's own error, through the loop
    return fn(phys[0], dim % nd + 1, *phys[1:], **kw)


@public_rule("gather")
def gather(args, batched, kw, size):
    from ...ops.scatter import gather as gather_
    return _dim_indexed(gather_, args, batched, dict(kw), size, 1)


@public_rule("scatter")
def scatter(args, batched, kw, size):
    from ...ops.scatter import scatter as scatter_
    kw = dict(kw)
    if args[2] is None:
        args, batched = args[:2], batched[:2]
    return _dim_indexed(scatter_, args, batched, kw, size, 0)


@public_rule("scatter_reduce")
def scatter_reduce(args, batched, kw, size):
    from ...ops.scatter import scatter_reduce as scatter_reduce_
    return _dim_indexed(scatter_reduce_, args, batched, dict(kw), size, 0)


@public_rule("take_along_dim")
def take_along_dim(args, batched, kw, size):
    from ...ops.scatter import take_along_dim as take_along_dim_
    if kw["dim"] is None:
        return None                      # a take of the flattened input: take's rule
    return _dim_indexed(lambda x, d, i: take_along_dim_(x, i, d), args, batched, dict(kw),
                        size, 1)


@public_rule("take")
def take(args, batched, kw, size):
    from ...ops.scatter import take_along_dim as take_along_dim_
    x, idx = _all_batched(args, batched, size)
    shape = tuple(idx.shape)
    x, idx = x.reshape(size, -1), idx.reshape(size, -1)
    if _dtype(idx) != "int64" or not _in_range(idx, x.shape[1], True):
        return None
    return take_along_dim_(x, idx, dim=1).reshape(shape)


def _vector_layout(x, bx, idx, bidx, dim, size, negative):
    """(x physical with the batch dim (a 0-d example as one element), the example's dim
    d >= 0, the index as (batch, k) or None for an unbatched one, the example's rank), or
    None when the function's own checks should answer."""
    nd = ndim_of(x, bx)
    x = x if bx else expand_batch(x, size)
    if nd == 0:
        x = x.reshape(size, 1)
    n1 = max(nd, 1)
    if not isinstance(dim, int) or not -n1 <= dim < n1 or ndim_of(idx, bidx) > 1:
        return None
    d = dim % n1
    if not _in_range(idx, x.shape[d + 1], negative):
        return None
    if not bidx:
        return x, d, None, nd
    idx = idx.reshape(size, -1)
    if negative:
        idx = idx + (idx < 0).long() * x.shape[d + 1]
    return x, d, idx, nd


def _spread(idx, like, d):
    """A (batch, k) index shaped as ``like`` with k entries along dim d + 1."""
    view = [idx.shape[0]] + [1] * (like.ndim - 1)
    view[d + 1] = idx.shape[1]
    shape = list(like.shape)
    shape[d + 1] = idx.shape[1]
    return idx.reshape(view).expand(tuple(shape))


def _restore(out, nd, size):
    return out.reshape(size) if nd == 0 else out


@public_rule("index_select")
def index_select(args, batched, kw, size):
    from ...ops.index_ops import index_select as index_select_
    from ...ops.scatter import gather as gather_
    got = _vector_layout(args[0], batched[0], args[1], batched[1], kw["dim"], size, False)
    if got is None:
        return None
    x, d, idx, nd = got
    if idx is None:
        return _restore(index_select_(x, d + 1, args[1]), nd, size)
    return _restore(gather_(x, d + 1, _spread(idx, x, d)), nd, size)


def _source(src, bsrc, nd, size):
    src = src if bsrc else expand_batch(src, size)
    return src.reshape(size, 1) if nd == 0 else src


def _index_source_layout(args, batched, kw, size):
    """index_add's and index_copy's (x, d, idx_b, nd, src) in the layout of the vector rules
    (src a tensor of x's dtype and rank), or None for the per-example fallback."""
    from ..._core.tensor import Tensor
    x, idx, src = args
    if not isinstance(src, Tensor) or src.dtype != x.dtype:
        return None
    got = _vector_layout(x, batched[0], idx, batched[1], kw["dim"], size, False)
    if got is None or ndim_of(src, batched[2]) != ndim_of(x, batched[0]):
        return None
    x, d, idx_b, nd = got
    return x, d, idx_b, nd, _source(src, batched[2], nd, size)


@public_rule("index_add")
def index_add(args, batched, kw, size):
    from ...ops.index_ops import index_add as index_add_
    from ...ops.scatter import scatter_add
    got = _index_source_layout(args, batched, kw, size)
    if got is None:
        return None
    x, d, idx_b, nd, src = got
    idx = args[1]
    alpha = kw["alpha"]
    if idx_b is None:
        return _restore(index_add_(x, d + 1, idx, src, alpha=alpha), nd, size)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
        return None
    if x._data.dtype.kind in "biu":
        alpha = x._data.dtype.type(alpha).item()
    if alpha != 1:
        src = src * alpha
    return _restore(scatter_add(x, d + 1, _spread(idx_b, src, d), src), nd, size)


@public_rule("index_copy")
def index_copy(args, batched, kw, size):
    from ...ops.index_ops import index_copy as index_copy_
    from ...ops.scatter import scatter as scatter_
    idx = args[1]
    if _dtype(idx) != "int64":
        return None
    got = _index_source_layout(args, batched, kw, size)
    if got is None:
        return None
    x, d, idx_b, nd, src = got
    if idx_b is None:
        return _restore(index_copy_(x, d + 1, idx, src), nd, size)
    return _restore(scatter_(x, d + 1, _spread(idx_b, src, d), src), nd, size)


@public_rule("index_fill")
def index_fill(args, batched, kw, size):
    from ...ops.index_ops import index_fill as index_fill_
    from ...ops.scatter import scatter as scatter_
    from ...ops.shape import cast
    from ..._core.tensor import Tensor
    x, idx, value = args
    if _dtype(idx) != "int64":
        return None
    bv = len(batched) > 2 and batched[2]
    got = _vector_layout(x, batched[0], idx, batched[1], kw["dim"], size, True)
    if got is None or (isinstance(value, Tensor) and ndim_of(value, bv) != 0):
        return None
    x, d, idx_b, nd = got
    if idx_b is None and not bv:
        return _restore(index_fill_(x, d + 1, idx, value), nd, size)
    if idx_b is None:
        idx_b = expand_batch(idx, size).reshape(size, -1)
        idx_b = idx_b + (idx_b < 0).long() * x.shape[d + 1]
    where = _spread(idx_b, x, d)
    if not isinstance(value, Tensor):
        from ...ops.index_ops import _fill_value
        return _restore(scatter_(x, d + 1, where, value=_fill_value(x, value, "index_fill")),
                        nd, size)
    value = value if value.dtype == x.dtype else cast(value, x.dtype)
    value = value.reshape((value.shape[0] if bv else 1,) + (1,) * (x.ndim - 1))
    return _restore(scatter_(x, d + 1, where, value.expand(tuple(where.shape))), nd, size)


@public_rule("index_put")
def index_put(args, batched, kw, size):
    """Per-example index tensors: the key of indexing's rule (a batch arange in front)."""
    import numpy as np
    from ...ops import indexing
    from ..._core.tensor import Tensor
    from ._layout import pad
    from .indexing import _physical_key
    x, values, parts = args[0], args[1], list(args[2:])
    if not any(batched[2:]) or not isinstance(values, Tensor) or values.dtype != x.dtype:
        return None
    if not all(isinstance(p, Tensor) for p in parts):
        return None
    got = _physical_key(x if batched[0] else expand_batch(x, size), parts,
                        list(batched[2:]), size)
    if got is None:
        return None
    view, key, p0 = got
    region = np.broadcast_to(np.empty((), np.bool_), tuple(view.shape))[key].shape
    if batched[1]:
        values = pad(values, len(region) - 1)
    op = indexing.index_add if kw["accumulate"] else indexing.index_put
    try:
        np.broadcast_shapes(tuple(values.shape), region)
        return op(view, key, values)
    except (IndexError, ValueError):
        return None                      # the function's own error, through the loop


@public_rule("repeat_interleave")
def repeat_interleave(args, batched, kw, size):
    """Per-example counts: each example's repeated positions (np.repeat of its counts) as a
    gather index, when every example's counts add up to one total (else the results'
    shapes differ: the loop's error)."""
    import numpy as np
    from ...ops.scatter import gather
    from ..._core.tensor import wrap
    x, reps = args
    if not batched[1] or not _is_array(x):
        return None                       # an unbatched count: the ops' own rules
    counts = _values(reps)
    if counts is None or counts.dtype.kind not in "iu" or counts.ndim > 2:
        return None
    x = x if batched[0] else expand_batch(x, size)
    dim = kw["dim"]
    if dim is None:
        x, d = x.reshape(size, math.prod(x.shape[1:])), 0
    elif x.ndim == 1:
        return None                       # a 0-d example has no dim: the function's error
    else:
        nd = x.ndim - 1
        if not isinstance(dim, int) or not -nd <= dim < nd:
            return None
        d = dim % nd
    n = x.shape[d + 1]
    counts = counts.reshape(size, -1)
    if counts.shape[1] == 1:
        counts = np.broadcast_to(counts, (size, n))
    if counts.shape[1] != n or (counts < 0).any():
        return None
    totals = counts.sum(1)
    if size and ((totals != totals[0]).any() or kw["output_size"] not in (None, totals[0])):
        return None
    index = np.stack([np.repeat(np.arange(n), c) for c in counts]) if size else \
        np.zeros((0, 0), np.int64)
    return gather(x, d + 1, _spread(wrap(index.astype(np.int64)), x, d))
