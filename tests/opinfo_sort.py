"""Op database rows for tapegrad.ops.sort (see tests/opinfo.py for what a row is).

Samples for the differentiable ops draw distinct values (no ties: the chosen indices would
jump under gradcheck's perturbations); ties are tested in tests/test_sort.py.
"""
import numpy as np

import tapegrad as tg
from opinfo import F64, FLOATS, I32, I64, OpInfo, Sample, distinct, uniform

INTS = (I32, I64)


def _order_ref(x, dim, descending):
    """Stable order along dim; descending ranks by -x, fine for the distinct samples."""
    return np.argsort(-x if descending else x, axis=dim, kind="stable")


def _sorted_ref(x, dim=-1, descending=False, k=None, stable=False):
    if x.ndim == 0:
        return x.copy(), np.asarray(0, dtype=np.int64)
    idx = _order_ref(x, dim, descending)
    if k is not None:
        idx = np.take(idx, np.arange(k), axis=dim)
    return np.take_along_axis(x, idx, axis=dim), idx.astype(np.int64)


SORT_CASES = [((), {}), ((5,), {}), ((5,), {"descending": True}), ((3, 4), {"dim": 0}),
              ((3, 4), {"dim": -1, "descending": True, "stable": True}),
              ((2, 3, 4), {"dim": 1}), ((0, 3), {"dim": 0}), ((2, 0), {})]


def _distinct_cases(cases):
    def gen(op, dtype, rng):
        return [Sample((distinct(rng, [s], dtype)[0],), dict(kw), desc=f"{s} {kw}")
                for s, kw in cases]
    return gen


TOPK_CASES = [((), {"k": 1}), ((6,), {"k": 3}), ((6,), {"k": 2, "largest": False}),
              ((3, 4), {"k": 2, "dim": 0}), ((3, 4), {"k": 4, "dim": 1, "largest": False}),
              ((2, 3, 4), {"k": 2, "dim": 1, "sorted": False}), ((3, 4), {"k": 0}),
              ((0, 3), {"k": 2})]
KTH_CASES = [((), {"k": 1}), ((6,), {"k": 3}), ((3, 4), {"k": 1, "dim": 0}),
             ((3, 4), {"k": 4, "dim": 1, "keepdim": True}), ((2, 3, 4), {"k": 2, "dim": 1}),
             ((0, 3), {"k": 2}), ((2, 3, 4), {"k": 3, "dim": -2, "keepdim": True})]


def _topk_ref(x, k, dim=-1, largest=True, sorted=True):
    return _sorted_ref(x, dim, largest, k)


def _kth_ref(x, k, dim=-1, keepdim=False):
    if x.ndim == 0:
        return x.copy(), np.asarray(0, dtype=np.int64)
    idx = np.take(_order_ref(x, dim, False), [k - 1], axis=dim)
    vals = np.take_along_axis(x, idx, axis=dim)
    if not keepdim:
        vals, idx = np.squeeze(vals, dim), np.squeeze(idx, dim)
    return vals, idx.astype(np.int64)


# ---- non-differentiable ops ------------------------------------------------------------------
def _unique_samples(op, dtype, rng):
    def ties(shape):          # few distinct values, so there are repeats
        return rng.integers(-2, 3, size=shape).astype(dtype)
    out = [Sample((ties((3, 4)),), {}, desc="(3, 4)"),
           Sample((ties((7,)),), {"return_inverse": True, "return_counts": True}, desc="(7,)"),
           Sample((ties((2, 3)),), {"return_inverse": True}, desc="(2, 3) inverse"),
           Sample((ties(()),), {"return_counts": True}, desc="0-d"),
           Sample((ties((0,)),), {"return_inverse": True, "return_counts": True}, desc="empty"),
           Sample((ties((4, 2))[[0, 1, 0, 2]],), {"dim": 0, "return_inverse": True,
                                                  "return_counts": True}, desc="rows dim=0"),
           Sample((ties((2, 5))[:, [0, 3, 3, 1, 0]],), {"dim": -1, "sorted": False},
                  desc="columns dim=-1")]
    return out


def _unique_ref(x, sorted=True, return_inverse=False, return_counts=False, dim=None):
    vals, inv, counts = np.unique(x, return_inverse=True, return_counts=True, axis=dim)
    out = (vals,)
    if return_inverse:
        out += (inv.reshape(x.shape if dim is None else (-1,)).astype(np.int64),)
    if return_counts:
        out += (counts.astype(np.int64),)
    return out if len(out) > 1 else out[0]


def _bincount_weighted(op, dtype, rng):
    out = []
    for n, ml in [(6, 0), (5, 8), (1, 0), (0, 3), (0, 0)]:
        idx = rng.integers(0, 5, size=n)
        out.append(Sample((idx, uniform(rng, (n,), dtype, op.domain)), {"minlength": ml},
                          desc=f"{n} indices, minlength={ml}"))
    return out


def _bincount_ref(input, weights=None, minlength=0):
    out = np.bincount(input, weights, minlength)
    if weights is not None and weights.dtype.kind == "f":
        return out.astype(weights.dtype)
    return out.astype(np.int64 if weights is None else np.float64)


def _bincount_counts(op, dtype, rng):
    """Plain counts (int64) with an index of ``dtype`` (int64 for float rows), and integer
    weights (float64 result, as in PyTorch)."""
    index_dtype = dtype if dtype.kind in "iu" else I64
    out = [Sample((rng.integers(0, 6, size=n).astype(index_dtype),), {"minlength": ml},
                  desc=f"{n} indices, minlength={ml}", out_dtype=I64)
           for n, ml in [(8, 0), (3, 10), (0, 0), (0, 2)]]
    out.append(Sample((rng.integers(0, 4, size=5).astype(index_dtype),
                       rng.integers(-3, 4, size=5)), desc="int weights", out_dtype=F64))
    return out


def _histc_samples(op, dtype, rng):
    return [Sample((uniform(rng, (20,), dtype, (-1, 3)),), {"bins": 6, "min": 0, "max": 2},
                   desc="(20,) 6 bins [0, 2]"),
            Sample((uniform(rng, (3, 5), dtype, (-1, 3)),), {"bins": 4}, desc="data range"),
            Sample((uniform(rng, (4,), dtype, (0, 1)),), {}, desc="100 bins"),
            Sample((np.full((3,), 0.5, dtype=dtype),), {"bins": 4}, desc="constant"),
            Sample((np.zeros((0,), dtype=dtype),), {"bins": 3}, desc="empty"),
            Sample((uniform(rng, (), dtype, (0, 1)),), {"bins": 2, "min": -1, "max": 1},
                   desc="0-d")]


def _histc_ref(x, bins=100, min=0, max=0):
    lo, hi = float(min), float(max)
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    return np.histogram(x, bins, range=(lo, hi))[0].astype(x.dtype)


def _search_samples(op, dtype, rng):
    def seq(shape):
        return np.sort(uniform(rng, shape, dtype, (-4, 4)), axis=-1)
    out = [Sample((seq((6,)), uniform(rng, (3, 4), dtype, (-5, 5))), desc="1-d seq"),
           Sample((seq((6,)), uniform(rng, (5,), dtype, (-5, 5))), {"right": True},
                  desc="right"),
           Sample((seq((2, 5)), uniform(rng, (2, 3), dtype, (-5, 5))), {"side": "right"},
                  desc="batched, side='right'"),
           Sample((seq((5,)), 1), {"out_int32": True}, desc="python scalar, int32",
                  out_dtype=I32),
           Sample((seq((4,)), np.zeros((0,), dtype)), desc="no values"),
           Sample((np.zeros((0,), dtype), uniform(rng, (3,), dtype, (-5, 5))), desc="empty seq")]
    perm = rng.permutation(6)
    unsorted = seq((6,))[np.argsort(perm)]
    out.append(Sample((unsorted, uniform(rng, (4,), dtype, (-5, 5))),
                      {"sorter": np.argsort(unsorted, kind="stable")}, desc="sorter"))
    # equal values in the sequence and the values: left and right differ
    ties = np.array([0, 1, 1, 1, 3], dtype=dtype)
    for side in ("left", "right"):
        out.append(Sample((ties, np.array([1, 0, 3, 2], dtype=dtype)), {"side": side},
                          desc=f"ties, {side}"))
    return out


def _search_ref(seq, values, out_int32=False, right=False, side=None, sorter=None):
    """Counting comparisons: the number of sequence elements < value (<= for right)."""
    if sorter is not None:
        seq = np.take_along_axis(seq, sorter, axis=-1)
    v = np.asarray(values)[..., None]
    s = seq[..., None, :] if seq.ndim > 1 else seq
    below = (s <= v) if right or side == "right" else (s < v)
    return below.sum(axis=-1).astype(np.int32 if out_int32 else np.int64)


def _bucketize_samples(op, dtype, rng):
    b = np.sort(uniform(rng, (5,), dtype, (-3, 3)))
    return [Sample((uniform(rng, (3, 4), dtype, (-4, 4)), b), desc="(3, 4)"),
            Sample((np.concatenate([b, b[:2]]), b), {"right": True}, desc="on boundaries, right"),
            Sample((np.concatenate([b, b[:2]]), b), desc="on boundaries"),
            Sample((2, b), {"out_int32": True}, desc="python scalar", out_dtype=I32),
            Sample((uniform(rng, (), dtype, (-4, 4)), b), desc="0-d")]


def _bucketize_ref(x, boundaries, out_int32=False, right=False):
    return _search_ref(boundaries, x, out_int32, right)


def _int64(dtype):
    return I64


ROWS = [
    OpInfo("sort", tg.sort, _sorted_ref, _distinct_cases(SORT_CASES), dtypes=FLOATS + INTS,
           covers=("sort", "sort_scatter")),
    OpInfo("Tensor.sort", lambda x, **kw: x.sort(**kw), _sorted_ref,
           _distinct_cases([((3, 4), {"dim": 0, "descending": True})]), covers=("sort",)),
    OpInfo("msort", tg.msort, lambda x: _sorted_ref(x, 0)[0],
           _distinct_cases([((), {}), ((5,), {}), ((3, 4), {}), ((4, 2, 3), {})]),
           dtypes=FLOATS + INTS, covers=("sort",), api=("msort", "Tensor.msort")),
    OpInfo("argsort", tg.argsort, lambda x, **kw: _sorted_ref(x, **kw)[1],
           _distinct_cases(SORT_CASES),
           dtypes=FLOATS + INTS, differentiable=False, result_dtype=_int64,
           api=("argsort", "Tensor.argsort")),
    OpInfo("topk", tg.topk, _topk_ref, _distinct_cases(TOPK_CASES), dtypes=FLOATS + INTS,
           covers=("topk", "sort_scatter"), api=("topk", "Tensor.topk")),
    OpInfo("kthvalue", tg.kthvalue, _kth_ref, _distinct_cases(KTH_CASES), dtypes=FLOATS + INTS,
           covers=("kthvalue", "sort_scatter"), api=("kthvalue", "Tensor.kthvalue")),
    OpInfo("unique", tg.unique, _unique_ref, _unique_samples, dtypes=FLOATS + INTS,
           differentiable=False, api=("unique", "Tensor.unique")),
    OpInfo("bincount", tg.bincount, _bincount_ref, _bincount_weighted,
           api=("bincount", "Tensor.bincount")),
    OpInfo("bincount_counts", tg.bincount, _bincount_ref, _bincount_counts,
           dtypes=FLOATS + INTS, differentiable=False, api=("bincount",)),
    OpInfo("histc", tg.histc, _histc_ref, _histc_samples, differentiable=False,
           api=("histc", "Tensor.histc")),
    OpInfo("searchsorted", tg.searchsorted, _search_ref, _search_samples, dtypes=FLOATS + INTS,
           differentiable=False, result_dtype=_int64),
    OpInfo("bucketize", tg.bucketize, _bucketize_ref, _bucketize_samples, dtypes=FLOATS + INTS,
           differentiable=False, result_dtype=_int64),
]

# Expressions for tests/test_torch_parity.py (lib is tapegrad or torch; x, y, z, m as there).
PARITY = [
    "lib.sort(z).values", "lib.sort(m, 1, descending=True).values", "z.sort(0)[0] * z",
    "lib.msort(z)", "lib.topk(z, 2).values", "m.topk(3, dim=1, largest=False).values",
    "lib.kthvalue(z, 2).values", "z.kthvalue(3, 0, keepdim=True).values",
    # integer results, times a float tensor so that the parity test can backpropagate
    "z * lib.sort(z, stable=True).indices", "m * lib.argsort(m, dim=2, descending=True)",
    "z[:, :3] * lib.topk(z, 3).indices", "y * lib.unique(lib.tensor([[3, 1, 3], [2, 0, 1]]))",
    "y * lib.histc(z.detach(), bins=4)", "m[0, 0] * lib.histc(m.detach(), 5, -0.5, 0.5)",
    "z * lib.searchsorted(lib.sort(y).values, z.detach())",
    "z * lib.bucketize(z.detach(), lib.sort(y).values, right=True)",
    "x * lib.bincount(lib.tensor([0, 3, 1, 3]), weights=y.detach())",
    "z * lib.searchsorted(lib.sort(y).values, input=z.detach())",
    "y * lib.bucketize(self=1.0, boundaries=lib.sort(y).values)",
    "lib.sort(z, axis=0).values", "m.argsort(axis=1) * m", "lib.topk(z, 2, axis=0).values",
]
