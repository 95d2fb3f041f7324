"""Op database rows for tapegrad.ops.scatter (see tests/opinfo.py for what a row is).

The references are written independently of tapegrad's key-based implementation: loops over
the index (scatter family) and NumPy's own take/where/boolean indexing.
"""
from collections import defaultdict

import numpy as np

import tapegrad as tg
from opinfo import F32, F64, I64, OpInfo, Sample, away_from_zero, distinct, scalar_of, uniform

INTS = (F32, F64, I64)


def _u(rng, dtype, op):
    return lambda s: uniform(rng, s, dtype, op.domain)


def _ix(*rows):
    return np.array(rows, dtype=np.int64)


# ---- references ---------------------------------------------------------------------------
def _positions(index, dim):
    """(p, q) for each position p of index: q is p with its dim coordinate index[p]."""
    d = dim % max(index.ndim, 1)
    for p in np.ndindex(index.shape):
        q = list(p)
        if q:
            q[d] = int(index[p])
        yield p, tuple(q)


def _flat1(a):
    return a.reshape(1) if a.ndim == 0 else a


def _gather_ref(x, index, dim):
    x1, i1 = _flat1(x), (index.reshape(-1) if x.ndim <= 1 else index)
    out = np.array([x1[q] for _, q in _positions(i1, dim)], dtype=x.dtype)
    return out.reshape(index.shape)


def _scatter_ref(x, index, src, dim, reduce=None):
    out = _flat1(x.copy())
    i1 = index.reshape(-1) if x.ndim <= 1 else index
    s = np.broadcast_to(src, i1.shape) if np.ndim(src) == 0 else _flat1(src)
    for p, q in _positions(i1, dim):
        if reduce is None:
            out[q] = s[p]
        elif reduce == "add":
            out[q] += s[p]
        else:
            out[q] *= s[p]
    return out.reshape(x.shape)


def _scatter_reduce_ref(x, index, src, dim, reduce, include_self=True):
    out = _flat1(x.copy())
    i1 = index.reshape(-1) if x.ndim <= 1 else index
    s = _flat1(src)
    groups = defaultdict(list)
    for p, q in _positions(i1, dim):
        groups[q].append(s[p])
    for q, vals in groups.items():
        vals = ([out[q]] if include_self else []) + vals
        if reduce == "mean":
            total = np.sum(vals, dtype=out.dtype)
            out[q] = total // len(vals) if out.dtype.kind in "iu" else total / len(vals)
        else:
            out[q] = {"sum": np.sum, "prod": np.prod, "amax": np.max, "amin": np.min}[reduce](
                np.array(vals, dtype=out.dtype))
    return out.reshape(x.shape)


def _along(d, k):
    return (slice(None),) * d + (k,)


def _index_op_ref(kind):
    def ref(x, index, source, dim, alpha=1):
        out = _flat1(x.copy())
        src = _flat1(source)
        d = dim % out.ndim
        for k, i in enumerate(index.reshape(-1)):
            if kind == "add":
                out[_along(d, i)] += alpha * src[_along(d, k)]
            else:
                out[_along(d, i)] = src[_along(d, k)]
        return out.reshape(x.shape)
    return ref


# ---- samples --------------------------------------------------------------------------------
def gather_samples(op, dtype, rng):
    u = _u(rng, dtype, op)
    return [Sample((u((3, 4)), _ix([1, 1], [0, 3], [2, 1])), {"dim": 1}, desc="dim 1, repeats"),
            Sample((u((3, 4)), _ix([2, 0, 2, 1], [0, 0, 1, 2])), {"dim": 0}, desc="dim 0"),
            Sample((u((3, 4)), _ix([3, 0, 1], [2, 2, 2])), {"dim": -1},
                   desc="index smaller than input in dim 0"),
            Sample((u((2, 3, 4)), rng.integers(0, 3, (2, 2, 3))), {"dim": 1}, desc="3-d"),
            Sample((u((5,)), np.array(3)), {"dim": 0}, desc="1-d input, 0-d index"),
            Sample((u(()), _ix(0, 0)), {"dim": 0}, desc="0-d input"),
            Sample((u((3, 4)), np.zeros((0, 2), np.int64)), {"dim": 1}, desc="empty index")]


def _scatter_cases(u):
    """(input, index with no repeated target, src): repeats are tested in test_scatter."""
    return [(u((3, 4)), _ix([3, 0], [1, 2], [0, 3]), u((3, 3)), 1, "dim 1, larger src"),
            (u((3, 4)), _ix([2, 0, 1, 1], [0, 1, 0, 2]), u((2, 4)), 0, "dim 0"),
            (u((2, 3, 4)), _ix([[1], [0]], [[2], [1]]), u((2, 2, 1)), -2, "3-d"),
            (u((5,)), _ix(4, 0, 2), u((3,)), 0, "1-d"),
            (u(()), _ix(0), u(()), 0, "0-d"),
            (u((3, 4)), np.zeros((0, 4), np.int64), u((2, 4)), 0, "empty index")]


def scatter_samples(op, dtype, rng):
    return [Sample((x, i, s), {"dim": d}, desc=desc) for x, i, s, d, desc in
            _scatter_cases(_u(rng, dtype, op))]


def scatter_value_samples(op, dtype, rng):
    v = scalar_of(dtype, -1.5)
    return [Sample((x, i), {"dim": d, "value": v}, desc=desc) for x, i, _, d, desc in
            _scatter_cases(_u(rng, dtype, op))]


def _repeat_cases(u):
    return [(u((3, 4)), _ix([3, 3, 0], [1, 2, 1]), u((2, 3)), 1, "dim 1, repeats"),
            (u((3, 4)), _ix([2, 2, 2, 1], [0, 2, 0, 2]), u((3, 4)), 0, "dim 0, repeats"),
            (u((2, 3)), _ix([2]), u((1, 1)), 1, "corner"),
            (u((5,)), _ix(1, 1, 4, 1), u((4,)), 0, "1-d, repeats"),
            (u(()), _ix(0, 0), u((2,)), 0, "0-d input, 1-d src")]


def scatter_add_samples(op, dtype, rng):
    return [Sample((x, i, s), {"dim": d}, desc=desc) for x, i, s, d, desc in
            _repeat_cases(_u(rng, dtype, op))]


def scatter_reduce_samples(reduces, make=None):
    """Every reduce in ``reduces`` with and without include_self, over the repeat cases;
    ``make`` draws values (distinct values for amax/amin: no ties)."""
    def gen(op, dtype, rng):
        out = []
        for reduce in reduces:
            for inc in (True, False):
                for x, i, s, d, desc in _repeat_cases(_u(rng, dtype, op)):
                    if make is not None:
                        x, s = make(rng, [x.shape, s.shape], dtype)
                    out.append(Sample((x, i, s), {"dim": d, "reduce": reduce,
                                                  "include_self": inc},
                                      desc=f"{reduce} include_self={inc} {desc}"))
        return out
    return gen


def _nonzero_values(rng, shapes, dtype):
    return [away_from_zero(rng, s, dtype, 0.5, 1.5) if dtype.kind == "f"
            else uniform(rng, s, dtype, (1, 3)) for s in shapes]


def multiply_samples(op, dtype, rng):
    """scatter(reduce='multiply') over the repeat cases, values away from zero."""
    out = []
    for x, i, s, d, desc in _repeat_cases(_u(rng, dtype, op)):
        x, s = _nonzero_values(rng, [x.shape, s.shape], dtype)
        out.append(Sample((x, i, s), {"dim": d}, desc=desc))
    return out


def prod_zero_samples(op, dtype, rng):
    """prod with zeros in a group: one zero (the others' product) and two (all 0)."""
    x = np.array([[0.0, 1.5, -2.0], [0.5, 0.0, 1.25]], dtype)
    s = np.array([[1.5, -0.5, 2.0, 0.75], [0.0, 1.5, 0.75, -1.25]], dtype)
    i = _ix([0, 0, 1, 2], [1, 0, 1, 2])
    return [Sample((x, i, s), {"dim": 1, "reduce": "prod", "include_self": inc},
                   desc=f"zeros, include_self={inc}") for inc in (True, False)]


def index_select_samples(op, dtype, rng):
    u = _u(rng, dtype, op)
    return [Sample((u((3, 4)), _ix(2, 0, 2)), {"dim": 1}, desc="dim 1, repeats"),
            Sample((u((3, 4)), _ix(1, 1)), {"dim": 0}, desc="dim 0"),
            Sample((u((2, 3, 4)), np.array(3)), {"dim": -1}, desc="0-d index"),
            Sample((u((3, 4)), np.zeros(0, np.int64)), {"dim": 0}, desc="empty index"),
            Sample((u((5,)), _ix(4, 0, 4, 4)), {"dim": 0}, desc="1-d"),
            Sample((u(()), _ix(0)), {"dim": 0}, desc="0-d input")]


def _index_select_ref(x, index, dim):
    return _flat1(x).take(index.reshape(-1), axis=dim).reshape(
        () if x.ndim == 0 else x.shape[:dim % x.ndim] + (index.size,) + x.shape[dim % x.ndim + 1:])


def index_source_samples(repeats):
    def gen(op, dtype, rng):
        u = _u(rng, dtype, op)
        i1 = _ix(3, 0, 3) if repeats else _ix(3, 0, 2)
        i0 = _ix(1, 1) if repeats else _ix(2, 0)
        return [Sample((u((3, 4)), i1, u((3, 3))), {"dim": 1}, desc="dim 1"),
                Sample((u((3, 4)), i0, u((2, 4))), {"dim": 0}, desc="dim 0"),
                Sample((u((2, 3, 2)), np.array(1), u((2, 1, 2))), {"dim": -2}, desc="0-d index"),
                Sample((u((5,)), _ix(4, 0), u((2,))), {"dim": 0}, desc="1-d"),
                Sample((u(()), _ix(0), u(())), {"dim": 0}, desc="0-d"),
                Sample((u((3, 4)), np.zeros(0, np.int64), u((0, 4))), {"dim": 0},
                       desc="empty index")]
    return gen


def index_fill_samples(op, dtype, rng):
    u = _u(rng, dtype, op)
    v = scalar_of(dtype, 0.75)
    return [Sample((u((3, 4)), _ix(3, 0, -4), v), {"dim": 1}, desc="negative, repeats"),
            Sample((u((3, 4)), np.array(-1), v), {"dim": 0}, desc="0-d index"),
            Sample((u((2, 3, 2)), _ix(2, 0), u(())), {"dim": 1}, desc="0-d tensor value"),
            Sample((u(()), _ix(0), u(())), {"dim": 0}, desc="0-d input, 0-d tensor value")]


def _index_fill_ref(x, index, value, dim):
    out = _flat1(x.copy())
    out[_along(dim % out.ndim, index.reshape(-1))] = value
    return out.reshape(x.shape)


def index_put_samples(op, dtype, rng):
    u = _u(rng, dtype, op)
    out = []
    for acc in (False, True):
        rows = _ix(2, 0, 2)       # repeated: the last write is kept (and gets the gradient)
        out += [Sample((u((3, 4)), u((rows.size, 4)), rows), {"accumulate": acc},
                       desc=f"repeated rows acc={acc}"),
                Sample((u((3, 4)), u(()), _ix(0, 1, 1) if acc else _ix(0, 1), _ix(3, 3, 0)
                        if acc else _ix(3, 0)), {"accumulate": acc}, desc=f"pairs acc={acc}"),
                Sample((u((3, 4)), u((4,)), np.array([True, False, True])), {"accumulate": acc},
                       desc=f"bool rows, broadcast value, acc={acc}"),
                Sample((u((2, 3, 2)), u((3, 1)), _ix(1, -1)), {"accumulate": acc},
                       desc=f"negative, acc={acc}")]
    return out


def _index_put_fn(x, values, *indices, accumulate):
    return tg.index_put(x, indices, values, accumulate=accumulate)


def _index_put_ref(x, values, *indices, accumulate):
    out = x.copy()
    if accumulate:
        np.add.at(out, indices, values)
    else:
        out[indices] = values
    return out


def masked_samples(value_kind):
    def gen(op, dtype, rng):
        u = _u(rng, dtype, op)
        m = lambda s: rng.random(s) < 0.5   # noqa: E731
        extra = {"scalar": lambda: (scalar_of(dtype, -0.5),), "tensor": lambda: (u(()),),
                 "source": lambda: (u((12,)),), "none": lambda: ()}[value_kind]
        return [Sample((u((3, 4)), m((3, 4))) + extra(), desc="same shape"),
                Sample((u((3, 4)), m((4,))) + extra(), desc="mask broadcast"),
                Sample((u((4,)), m((3, 4))) + extra(), desc="input broadcast"),
                Sample((u(()), np.array(True)) + extra(), desc="0-d"),
                Sample((u((2, 3)), np.zeros((2, 3), bool)) + extra(), desc="all False")]
    return gen


def _masked_fill_ref(x, mask, value):
    return np.where(mask, value, x).astype(x.dtype)


def _masked_select_ref(x, mask):
    xb, mb = np.broadcast_arrays(x, mask)
    return xb[mb]


def _masked_scatter_ref(x, mask, source):
    xb, mb = np.broadcast_arrays(x, mask)
    out = xb.copy()
    out[mb] = source.reshape(-1)[:mb.sum()]
    return out


def take_samples(op, dtype, rng):
    u = _u(rng, dtype, op)
    return [Sample((u((3, 4)), _ix([0, -1, 5], [5, 11, -12])), desc="2-d index, negatives"),
            Sample((u((2, 3, 2)), np.array(7)), desc="0-d index"),
            Sample((u(()), _ix(0, -1, 0)), desc="0-d input"),
            Sample((u((3,)), np.zeros((0,), np.int64)), desc="empty index")]


def take_along_samples(op, dtype, rng):
    u = _u(rng, dtype, op)
    return [Sample((u((3, 4)), _ix([0, 3], [1, 1], [-1, 2])), {"dim": 1}, desc="dim 1"),
            Sample((u((3, 4)), _ix([2, 0, 1, 2])), {"dim": 0}, desc="broadcast index"),
            Sample((u((3, 1)), _ix([0, 0, 0, 0])), {"dim": 1},
                   desc="broadcast input"),
            Sample((u((2, 3, 2)), rng.integers(-3, 3, (2, 4, 1))), {"dim": 1}, desc="3-d"),
            Sample((u((3, 4)), _ix([0, 11], [-1, 5])), {"dim": None}, desc="dim None")]


def _take_along_ref(x, indices, dim):
    if dim is None:
        return x.reshape(-1)[indices.reshape(-1)]
    return np.take_along_axis(x, indices, axis=dim)


def nonzero_samples(op, dtype, rng):
    return [Sample((uniform(rng, s, dtype, (-1, 1)) * (rng.random(s) < 0.5),), desc=f"{s}")
            for s in [(5,), (3, 4), (2, 3, 2), (0, 3)]]


def _nonzero_tuple_ref(x):
    return tuple(np.asarray(i, np.int64) for i in np.nonzero(x))


ROWS = [
    OpInfo("index_select", lambda x, i, dim: tg.index_select(x, dim, i),
           lambda x, i, dim: _index_select_ref(x, i, dim), index_select_samples, dtypes=INTS,
           covers=("index", "index_add")),
    OpInfo("gather", lambda x, i, dim: tg.gather(x, dim, i), _gather_ref, gather_samples,
           dtypes=INTS, covers=("index", "index_add")),
    OpInfo("scatter", lambda x, i, s, dim: tg.scatter(x, dim, i, s),
           lambda x, i, s, dim: _scatter_ref(x, i, s, dim), scatter_samples, dtypes=INTS,
           covers=("index_put", "index")),
    OpInfo("scatter_value", lambda x, i, dim, value: tg.scatter(x, dim, i, value=value),
           lambda x, i, dim, value: _scatter_ref(x, i, value, dim), scatter_value_samples,
           dtypes=INTS, covers=("index_put",), api=("scatter",)),
    OpInfo("scatter_reduce_add", lambda x, i, s, dim: tg.scatter(x, dim, i, s, reduce="add"),
           lambda x, i, s, dim: _scatter_ref(x, i, s, dim, "add"), scatter_add_samples,
           dtypes=INTS, covers=("index_add", "index"), api=("scatter",)),
    OpInfo("scatter_reduce_multiply",
           lambda x, i, s, dim: tg.scatter(x, dim, i, s, reduce="multiply"),
           lambda x, i, s, dim: _scatter_ref(x, i, s, dim, "multiply"),
           multiply_samples, dtypes=INTS, covers=("scatter_reduce",), api=("scatter",)),
    OpInfo("scatter_add", lambda x, i, s, dim: tg.scatter_add(x, dim, i, s),
           lambda x, i, s, dim: _scatter_ref(x, i, s, dim, "add"), scatter_add_samples,
           dtypes=INTS, covers=("index_add", "index")),
    OpInfo("scatter_reduce", lambda x, i, s, **kw: tg.scatter_reduce(x, kw.pop("dim"), i, s,
                                                                     kw.pop("reduce"), **kw),
           lambda x, i, s, **kw: _scatter_reduce_ref(x, i, s, **kw),
           scatter_reduce_samples(["sum", "mean"]), covers=("index_add", "index_put", "index")),
    # forward only, every reduction in every dtype (integer means round down)
    OpInfo("scatter_reduce_dtypes", lambda x, i, s, **kw: tg.scatter_reduce(
               x, kw.pop("dim"), i, s, kw.pop("reduce"), **kw),
           lambda x, i, s, **kw: _scatter_reduce_ref(x, i, s, **kw),
           scatter_reduce_samples(["sum", "mean", "amax", "amin", "prod"]),
           dtypes=(F32, F64, I64), differentiable=False, api=("scatter_reduce",)),
    OpInfo("scatter_reduce_extremes", lambda x, i, s, **kw: tg.scatter_reduce(
               x, kw.pop("dim"), i, s, kw.pop("reduce"), **kw),
           lambda x, i, s, **kw: _scatter_reduce_ref(x, i, s, **kw),
           scatter_reduce_samples(["amax", "amin"], lambda r, shapes, d: distinct(r, shapes, d)),
           dtypes=INTS, covers=("scatter_reduce", "index"), api=("scatter_reduce",)),
    OpInfo("scatter_reduce_prod", lambda x, i, s, **kw: tg.scatter_reduce(
               x, kw.pop("dim"), i, s, kw.pop("reduce"), **kw),
           lambda x, i, s, **kw: _scatter_reduce_ref(x, i, s, **kw),
           scatter_reduce_samples(["prod"], _nonzero_values), dtypes=INTS,
           covers=("scatter_reduce", "index"), api=("scatter_reduce",)),
    OpInfo("scatter_reduce_prod_zeros", lambda x, i, s, **kw: tg.scatter_reduce(
               x, kw.pop("dim"), i, s, kw.pop("reduce"), **kw),
           lambda x, i, s, **kw: _scatter_reduce_ref(x, i, s, **kw), prod_zero_samples,
           covers=("scatter_reduce", "where", "index_add"), api=("scatter_reduce",)),
    OpInfo("index_add", lambda x, i, s, dim: tg.index_add(x, dim, i, s, alpha=-1.5),
           lambda x, i, s, dim: _index_op_ref("add")(x, i, s, dim, alpha=-1.5),
           index_source_samples(repeats=True), covers=("index_add", "index", "mul")),
    OpInfo("index_add_int", lambda x, i, s, dim: tg.index_add(x, dim, i, s),
           lambda x, i, s, dim: _index_op_ref("add")(x, i, s, dim),
           index_source_samples(repeats=True), dtypes=INTS, covers=("index_add", "index"),
           api=("index_add",)),
    OpInfo("index_copy", lambda x, i, s, dim: tg.index_copy(x, dim, i, s),
           lambda x, i, s, dim: _index_op_ref("copy")(x, i, s, dim),
           index_source_samples(repeats=False), dtypes=INTS, covers=("index_put", "index")),
    OpInfo("index_fill", lambda x, i, v, dim: tg.index_fill(x, dim, i, v),
           lambda x, i, v, dim: _index_fill_ref(x, i, v, dim), index_fill_samples,
           dtypes=INTS, covers=("index_put", "index")),
    OpInfo("index_put", _index_put_fn, _index_put_ref, index_put_samples, dtypes=INTS,
           covers=("index_put", "index_add", "index")),
    OpInfo("masked_fill", tg.masked_fill, _masked_fill_ref, masked_samples("scalar"),
           dtypes=INTS, covers=("where",)),
    OpInfo("masked_fill_tensor", tg.masked_fill, _masked_fill_ref, masked_samples("tensor"),
           dtypes=INTS, covers=("where",), api=("masked_fill",)),
    OpInfo("masked_select", tg.masked_select, _masked_select_ref, masked_samples("none"),
           dtypes=INTS, covers=("index", "index_add")),
    OpInfo("masked_scatter", tg.masked_scatter, _masked_scatter_ref, masked_samples("source"),
           dtypes=INTS, covers=("index_put", "index")),
    OpInfo("take", tg.take, lambda x, i: x.reshape(-1)[i], take_samples, dtypes=INTS,
           covers=("index", "index_add", "reshape")),
    OpInfo("take_along_dim", tg.take_along_dim, _take_along_ref, take_along_samples,
           dtypes=INTS, covers=("index", "index_add")),
    OpInfo("nonzero", tg.nonzero, np.argwhere, nonzero_samples, dtypes=INTS,
           differentiable=False, result_dtype=lambda d: I64),
    OpInfo("nonzero_tuple", lambda x: tg.nonzero(x, as_tuple=True), _nonzero_tuple_ref,
           nonzero_samples, dtypes=INTS, differentiable=False, result_dtype=lambda d: I64,
           api=("nonzero",)),
    OpInfo("argwhere", tg.argwhere, np.argwhere, nonzero_samples, dtypes=INTS,
           differentiable=False, result_dtype=lambda d: I64),
]

# Expressions for tests/test_torch_parity.py (lib is tapegrad or torch; x, y, z, m as there).
# NOTE: src is never larger than index here, nor is an index negative where a tensor value
# needs a gradient: PyTorch 2.13's backward fails on both (tapegrad's doesn't).
PARITY = [
    "lib.index_select(x, 1, lib.tensor([3, 0, 3]))",
    "lib.gather(z, 1, lib.tensor([[0, 0], [3, 1], [2, 2]]))",
    "lib.scatter(x, 1, lib.tensor([[3, 0], [1, 2]]), z[:2, :2])",
    "lib.scatter(x, 0, lib.tensor([[2, 0, 1, 0]]), 0.5)",
    "lib.scatter_add(x, 1, lib.tensor([[3, 3, 0], [1, 2, 1]]), z[:2, :3])",
    "lib.scatter_reduce(x, 1, lib.tensor([[3, 3, 0], [1, 2, 1]]), z[:2, :3], 'mean')",
    "lib.scatter_reduce(x, 1, lib.tensor([[3, 3, 0], [1, 2, 1]]), z[:2, :3], 'prod', "
    "include_self=False)",
    "lib.scatter_reduce(x, 1, lib.tensor([[3, 3, 0], [1, 2, 1]]), z[:2, :3], 'amax')",
    "lib.scatter_reduce(z, 0, lib.tensor([[0, 0, 0, 2]]), x, 'amin', include_self=False)",
    "lib.index_add(x, 0, lib.tensor([2, 2]), z[:2], alpha=0.5)",
    "lib.index_copy(x, 1, lib.tensor([1, 3]), z[:, :2])",
    "lib.index_fill(x, 1, lib.tensor([1, 3]), y[0])",
    "lib.index_put(x, (lib.tensor([0, 0]), lib.tensor([1, 1])), y[:2], accumulate=True)",
    "lib.index_put(x, (lib.tensor([2, 0]),), y)",
    "lib.masked_fill(x, z > 0, y[1])",
    "lib.masked_select(x, z > 0)",
    "lib.masked_scatter(x, z > 0, m)",
    "lib.take(m, lib.tensor([[0, -1], [7, 7]]))",
    "lib.take_along_dim(x, lib.tensor([[1], [0], [3]]), dim=1)",
    "x.clone().scatter_(1, lib.tensor([[0], [2]]), z[:2, :1])",
    "x.clone().index_add_(1, lib.tensor([0, 0]), z[:, :2])",
    "x.clone().masked_fill_(z > 0, 2.0)",
    "(x * 1).index_put_((lib.tensor([1]),), y)",
    "lib.nonzero(z > 0).float() + x[0, 0]",
    # ties: the input and two src elements equal at position 0 of every row (amax and amin)
    "lib.scatter_reduce(x, 1, lib.tensor([[0, 0]] * 3), lib.cat([x[:, :1], x[:, :1]], 1), "
    "'amax')",
    "lib.scatter_reduce(x, 1, lib.tensor([[0, 0]] * 3), lib.cat([x[:, :1], x[:, :1]], 1), "
    "'amin')",
    # zeros in prod's groups (one and several)
    "lib.scatter_reduce(lib.where(z > 0, x, 0.0), 1, lib.tensor([[0, 0, 1], [2, 2, 2]]), "
    "lib.where(z < 1, x, 0.0)[:2, :3], 'prod')",
]
