"""Batching rules of the public functions that order or count values along dims: sort,
argsort, topk, kthvalue, max/min along a dim, median, mode, quantile, cummax, cummin, and
the reductions that read values first (all, any, count_nonzero, nanmean). They compute
indices from the values before their primitives run, so the rules work on the public
functions (Note [Batched tensors]).

Layout trick: the function runs once on the physical tensor along the example's dim moved
past the batch dim (a negative dim names the same trailing dim in both). A 0-d example (which
these functions treat as one element along dim 0) runs as a (batch, 1) matrix along dim 1;
dim=None (every element of the example) runs along dim 1 of the (batch, numel) flattening.
quantile's 1-d ``q`` puts its dim before the batch dim; it is moved back behind it.
"""
import math

from . import decomposition, rule
from ._layout import check_no_batched_data
from .indexing import public_rule


def _example_ndim(x):
    return x.ndim - 1


def _each(out, fn):
    return type(out)(*map(fn, out)) if isinstance(out, tuple) else fn(out)


def _along(call, x, dim, size):
    """call(physical, physical dim) for the example's one ``dim``; None when ``dim`` is out
    of range (the function's own error, through the loop)."""
    nd = _example_ndim(x)
    if not isinstance(dim, int) or isinstance(dim, bool):
        return None
    if nd == 0:
        if dim not in (0, -1):
            return None
        return _each(call(x.reshape(size, 1), 1), lambda o: o.reshape(size))
    if not -nd <= dim < nd:
        return None
    return call(x, dim % nd + 1)


def _reduce(call, x, dim, keepdim, size, none_for_empty_dims=False):
    """call(physical, physical dims) for reductions over ``dim`` (None, an int or a tuple);
    ``call`` keeps the dims when asked. dim=None: over the flattened example."""
    nd = _example_ndim(x)
    if dim is None or (none_for_empty_dims and isinstance(dim, (tuple, list)) and not dim):
        out = call(x.reshape(size, math.prod(x.shape[1:])), 1, False)
        return out.reshape((size,) + (1,) * nd) if keepdim else out
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if not all(isinstance(d, int) and -max(nd, 1) <= d < max(nd, 1) for d in dims):
        return None
    if nd == 0:          # 0-d: reduces over nothing (one element along dim 0)
        return call(x.reshape(size, 1), (1,) * bool(dims), False).reshape(size)
    phys = tuple(d % nd + 1 for d in dims)
    return call(x, phys if isinstance(dim, (tuple, list)) else phys[0], keepdim)


@public_rule("sort")
def sort(args, batched, kw, size):
    from ...ops.sort import sort as sort_
    return _along(lambda x, d: sort_(x, d, kw["descending"], stable=kw["stable"]), args[0],
                  kw["dim"], size)


@public_rule("argsort")
def argsort(args, batched, kw, size):
    from ...ops.sort import argsort as argsort_
    return _along(lambda x, d: argsort_(x, d, kw["descending"], stable=kw["stable"]), args[0],
                  kw["dim"], size)


@public_rule("topk")
def topk(args, batched, kw, size):
    from ...ops.sort import topk as topk_
    if _example_ndim(args[0]) == 0 and kw["k"] != 1:
        return None        # a 0-d example's k=0 is the element itself
    return _along(lambda x, d: topk_(x, kw["k"], d, kw["largest"], kw["sorted"]), args[0],
                  kw["dim"], size)


@public_rule("kthvalue")
def kthvalue(args, batched, kw, size):
    from ...ops.sort import kthvalue as kthvalue_
    return _along(lambda x, d: kthvalue_(x, kw["k"], d, kw["keepdim"]), args[0], kw["dim"],
                  size)


def _extreme(name):
    def run(args, batched, kw, size):
        from ...ops import reduction
        fn = getattr(reduction, name)
        return _along(lambda x, d: fn(x, d, kw["keepdim"]), args[0], kw["dim"], size)
    return run


public_rule("max")(_extreme("max"))
public_rule("min")(_extreme("min"))


def _median(name):
    def run(args, batched, kw, size):
        from ...ops import order_statistics
        fn = getattr(order_statistics, name)
        if kw["dim"] is None:
            return None    # the all-elements median: its primitive's rule
        return _along(lambda x, d: fn(x, d, kw["keepdim"]), args[0], kw["dim"], size)
    return run


public_rule("median")(_median("median"))
public_rule("nanmedian")(_median("nanmedian"))


@public_rule("mode")
def mode(args, batched, kw, size):
    from ...ops.order_statistics import mode as mode_
    return _along(lambda x, d: mode_(x, d, kw["keepdim"]), args[0], kw["dim"], size)


def _running(name):
    def run(args, batched, kw, size):
        from ...ops import scan
        return _along(getattr(scan, name), args[0], kw["dim"], size)
    return run


public_rule("cummax")(_running("cummax"))
public_rule("cummin")(_running("cummin"))


def _quantile(name):
    def run(args, batched, kw, size):
        """quantile along the example's dim; a 1-d q's dim comes out in front of the batch
        dim and is moved behind it."""
        import numpy as np
        from ...ops import order_statistics
        fn = getattr(order_statistics, name)
        x, q = args
        if batched[1]:
            return None
        qdim = np.ndim(q) == 1 or (hasattr(q, "ndim") and q.ndim == 1)
        dim, keepdim, how = kw["dim"], kw["keepdim"], kw["interpolation"]
        nd = _example_ndim(x)

        def call(p, d, keep):
            out = fn(p, q, d, keep, interpolation=how)
            return out.movedim(1, 0) if qdim else out
        if dim is None:
            out = call(x.reshape(size, math.prod(x.shape[1:])), 1, False)
            if keepdim:
                out = out.reshape(tuple(out.shape) + (1,) * nd)
            return out
        return _along(lambda p, d: call(p, d, keepdim if nd else False), x, dim, size) \
            if not (nd == 0 and qdim) else call(x.reshape(size, 1), 1, False)
    return run


public_rule("quantile")(_quantile("quantile"))
public_rule("nanquantile")(_quantile("nanquantile"))


def _logical(name):
    def run(args, batched, kw, size):
        from ...ops import statistics
        fn = getattr(statistics, name)
        return _reduce(lambda x, d, keep: fn(x, d, keep), args[0], kw["dim"], kw["keepdim"],
                       size)
    return run


public_rule("all")(_logical("all"))
public_rule("any")(_logical("any"))


@public_rule("count_nonzero")
def count_nonzero(args, batched, kw, size):
    from ...ops.statistics import count_nonzero as count_nonzero_
    return _reduce(lambda x, d, keep: count_nonzero_(x, d), args[0], kw["dim"], False, size,
                   none_for_empty_dims=True)


@public_rule("nanmean")
def nanmean(args, batched, kw, size):
    from ...ops.statistics import nanmean as nanmean_
    return _reduce(lambda x, d, keep: nanmean_(x, d, keep), args[0], kw["dim"], kw["keepdim"],
                   size)


@decomposition("median")
def median_all(args, batched, params):
    """The median of all of an example's elements: its lower median along the flattened
    example picks the value; the result is that value's copies averaged, so the gradient
    is shared evenly among the elements equal to it (the primitive's rule at ties; exact
    value where it is unique, within rounding at ties)."""
    from ...ops.elementwise import isnan, where
    from ...ops.order_statistics import median, nanmedian
    x = args[0]
    if not batched[0] or math.prod(x.shape) == 0 or x._data.dtype.kind == "b":
        return None
    flat = x.reshape(-1)
    vals = (nanmedian if params["ignore_nan"] else median)(flat.detach(), 0).values
    if x._data.dtype.kind != "f":
        return vals
    plain = flat.detach()
    mask = (plain == vals) | (isnan(plain) & isnan(vals))
    return (where(mask, flat, 0.0) / mask.sum().to(flat.dtype)).sum()


@public_rule("searchsorted")
def searchsorted(args, batched, kw, size):
    """A 1-d sequence per example becomes a (batch, n) sequence searched by the examples'
    flattened values, row by row; an N-d one already shares the values' leading dims."""
    import numpy as np
    from ...ops.sort import searchsorted as searchsorted_
    from ._layout import expand_batch, ndim_of
    seq, vals, sorter = args
    bs, bv, bo = batched
    if isinstance(vals, (int, float, np.number)):
        if not bs:
            return None
        vals, bv, scalar = np.full((size,), vals), True, True
    else:
        scalar = False
    if ndim_of(seq, bs) < 1:
        return None
    call = dict(out_int32=kw["out_int32"], side=kw["side"])
    if ndim_of(seq, bs) == 1 and not bs and not bo:
        return searchsorted_(seq, vals, sorter=sorter, **call)
    seq = seq if bs else expand_batch(seq, size)
    vals = vals if bv else expand_batch(vals, size)
    if sorter is not None and not bo:
        sorter = expand_batch(sorter, size)
    if seq.ndim > 2:
        return searchsorted_(seq, vals, sorter=sorter, **call)
    shape = tuple(vals.shape)
    out = searchsorted_(seq, vals.reshape(size, math.prod(shape[1:])), sorter=sorter, **call)
    return out.reshape(shape if not scalar else (size,))


@public_rule("histc")
def histc(args, batched, kw, size):
    """Each example's histogram (its own range when min == max) as one bincount of the
    bins offset by the example's index."""
    import numpy as np
    from ..._core.batched import Batched
    from ..._core.tensor import wrap
    x = args[0]
    if type(x) is Batched or x._data.dtype.kind != "f":
        return None
    bins, lo, hi = kw["bins"], kw["min"], kw["max"]
    if not isinstance(bins, int) or isinstance(bins, bool) or bins <= 0:
        return None
    data = x._data.reshape(size, -1)
    dtype = data.dtype.type
    lo = np.full((size, 1), dtype(lo))
    hi = np.full((size, 1), dtype(hi))
    if lo[0, 0] == hi[0, 0] and data.shape[1]:
        lo, hi = data.min(1, keepdims=True), data.max(1, keepdims=True)
    same = lo == hi
    lo, hi = np.where(same, lo - dtype(1), lo), np.where(same, hi + dtype(1), hi)
    if (lo > hi).any() or not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        return None                       # the function's own error, through the loop
    inside = (data >= lo) & (data <= hi)
    with np.errstate(invalid="ignore"):
        pos = ((data - lo) * dtype(bins) / (hi - lo)).astype(np.intp)
    np.clip(pos, 0, bins - 1, out=pos)
    pos = pos + bins * np.arange(size)[:, None]
    counts = np.bincount(pos[inside], minlength=size * bins)
    return wrap(counts.reshape(size, bins).astype(data.dtype))


# ---- the primitives that pick values at fixed indices ------------------------------------------
# Their indices come from the forward (computed by the public rules above on the physical
# tensors, or outside vmap): inside a vmap over tangents or cotangents (jacfwd's columns,
# jacrev's rows) every example picks at the same indices, so they are broadcast over the
# batch (a stride-0 view) and the pick runs along dim + 1.

def _over_batch(a, size):
    import numpy as np
    return None if a is None else np.broadcast_to(a, (size,) + np.shape(a))


@rule("sort", "topk", "kthvalue", "sort_scatter", "cummax", "cummin")
def picked(op, args, batched, params, size):
    check_no_batched_data(op.name, params)
    return args, dict(params, idx=_over_batch(params["idx"], size), dim=params["dim"] + 1), None


@rule("max", "min", "median_dim", "mode", "quantile")
def selected(op, args, batched, params, size):
    check_no_batched_data(op.name, params)
    if params.get("nq"):
        return None        # quantile's own leading dim: example by example
    p = dict(params, dim=params["dim"] + 1, in_shape=(size,) + tuple(params["in_shape"]))
    if isinstance(p["idx"], tuple):
        p["idx"] = tuple(_over_batch(i, size) for i in p["idx"])
        p["w"] = _over_batch(p["w"], size)
    else:
        p["idx"] = _over_batch(p["idx"], size)
    return args, p, None
