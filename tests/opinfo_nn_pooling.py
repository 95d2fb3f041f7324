"""Op database rows for tapegrad.nn.functional's pooling (see tests/opinfo.py for what a row
is; public functions are named 'F.<name>' in a row's api=).

The references loop over output positions and window taps (slow, plain, written apart from
the implementation); max-pool samples have distinct values, so no window holds a tie.
"""
import math

import numpy as np

import tapegrad.nn.functional as F
from nn_parity import Case, floats, ints
from opinfo import F32, F64, I64, OpInfo, Sample, distinct, uniform


# ---- references -------------------------------------------------------------------------------
def _tup(v, d):
    return tuple(v) * (d if len(tuple(v)) == 1 else 1) if isinstance(v, (tuple, list)) \
        else (v,) * d


def _n_out(L, k, s, p, dl, ceil_mode):
    n = (L + 2 * p - dl * (k - 1) - 1) / s + 1
    n = math.ceil(n - 1) + 1 if ceil_mode else math.floor(n - 1) + 1
    if ceil_mode and (n - 1) * s >= L + p:
        n -= 1
    return n


def _windows(x, d, kernel_size, stride, padding, dilation, ceil_mode):
    """(output shape, [(output index, [real input positions in window order])])."""
    S = x.shape[x.ndim - d:]
    k, p, dl = _tup(kernel_size, d), _tup(padding, d), _tup(dilation, d)
    s = k if stride is None else _tup(stride, d)
    outs = [_n_out(*a, ceil_mode) for a in zip(S, k, s, p, dl)]
    wins = []
    for o in np.ndindex(*outs):
        pos = []
        for t in np.ndindex(*k):
            c = tuple(oi * si - pi + ti * di for oi, si, pi, ti, di in zip(o, s, p, t, dl))
            if all(0 <= ci < Li for ci, Li in zip(c, S)):
                pos.append(c)
        wins.append((o, pos, [oi * si - pi for oi, si, pi in zip(o, s, p)], k, p, s))
    return tuple(outs), wins


def max_pool_ref(d):
    def ref(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
            return_indices=False):
        outs, wins = _windows(x, d, kernel_size, stride, padding, dilation, ceil_mode)
        lead, S = x.shape[:x.ndim - d], x.shape[x.ndim - d:]
        vals, idx = np.empty(lead + outs, x.dtype), np.empty(lead + outs, np.int64)
        for o, pos, *_ in wins:
            for li in np.ndindex(*lead):
                best = max(pos, key=lambda c: (x[li + c], -pos.index(c)))
                vals[li + o], idx[li + o] = x[li + best], np.ravel_multi_index(best, S)
        return (vals, idx) if return_indices else vals
    return ref


def avg_pool_ref(d):
    def ref(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
            divisor_override=None):
        outs, wins = _windows(x, d, kernel_size, stride, padding, 1, ceil_mode)
        S = x.shape[x.ndim - d:]
        out = np.empty(x.shape[:x.ndim - d] + outs, x.dtype)
        for o, pos, start, k, p, s in wins:
            total = sum(x[(Ellipsis,) + c] for c in pos)
            if divisor_override:
                div = divisor_override
            elif count_include_pad:
                div = math.prod(min(a + ki, L + pi) - a for a, ki, L, pi in zip(start, k, S, p))
            else:
                div = len(pos)
            out[(Ellipsis,) + o] = np.trunc(total / div) if x.dtype.kind == "i" else total / div
        return out
    return ref


def _adaptive_windows(x, d, output_size):
    S = x.shape[x.ndim - d:]
    outs = tuple(L if n is None else n for n, L in zip(_tup(output_size, d), S))
    for o in np.ndindex(*outs):
        ranges = [range(math.floor(i * L / n), math.ceil((i + 1) * L / n))
                  for i, L, n in zip(o, S, outs)]
        yield outs, o, [c for c in np.ndindex(*[len(r) for r in ranges])], ranges


def adaptive_avg_ref(d):
    def ref(x, output_size):
        out = None
        for outs, o, taps, ranges in _adaptive_windows(x, d, output_size):
            out = np.empty(x.shape[:x.ndim - d] + outs, x.dtype) if out is None else out
            vals = [x[(Ellipsis,) + tuple(r[t] for r, t in zip(ranges, tap))] for tap in taps]
            out[(Ellipsis,) + o] = sum(vals) / len(vals)
        return out
    return ref


def adaptive_max_ref(d):
    def ref(x, output_size, return_indices=False):
        lead, S = x.shape[:x.ndim - d], x.shape[x.ndim - d:]
        vals = idx = None
        for outs, o, taps, ranges in _adaptive_windows(x, d, output_size):
            if vals is None:
                vals, idx = np.empty(lead + outs, x.dtype), np.empty(lead + outs, np.int64)
            pos = [tuple(r[t] for r, t in zip(ranges, tap)) for tap in taps]
            for li in np.ndindex(*lead):
                best = max(pos, key=lambda c: (x[li + c], -pos.index(c)))
                vals[li + o], idx[li + o] = x[li + best], np.ravel_multi_index(best, S)
        return (vals, idx) if return_indices else vals
    return ref


def lp_ref(d):
    def ref(x, norm_type, kernel_size, stride=None, ceil_mode=False):
        outs, wins = _windows(x, d, kernel_size, stride, 0, 1, ceil_mode)
        out = np.empty(x.shape[:x.ndim - d] + outs, x.dtype)
        for o, pos, _, k, *_ in wins:   # PyTorch's: the window's mean of x^p times its size
            mean = sum(x[(Ellipsis,) + c] ** norm_type for c in pos) / len(pos)
            out[(Ellipsis,) + o] = (mean * math.prod(k)) ** (1.0 / norm_type)
        return out
    return ref


def unpool_ref(d):
    def ref(x, indices, kernel_size, stride=None, padding=0, output_size=None):
        S = x.shape[x.ndim - d:]
        k, p = _tup(kernel_size, d), _tup(padding, d)
        s = k if stride is None else _tup(stride, d)
        outs = tuple(output_size[-d:]) if output_size is not None else \
            tuple((L - 1) * si - 2 * pi + ki for L, si, pi, ki in zip(S, s, p, k))
        lead = x.shape[:x.ndim - d]
        out = np.zeros(lead + outs, x.dtype)
        for li in np.ndindex(*lead):
            for o in np.ndindex(*S):
                out[li + np.unravel_index(indices[li + o], outs)] = x[li + o]
        return out
    return ref


# ---- samples ----------------------------------------------------------------------------------
def distinct_cases(cases):
    """(shape, kwargs) cases with all-distinct values (no ties in any window)."""
    def gen(op, dtype, rng):
        return [Sample((distinct(rng, [s], dtype)[0],), dict(kw), desc=f"{s} {kw}")
                for s, kw in cases]
    return gen


def uniform_cases(cases, domain=None):
    def gen(op, dtype, rng):
        return [Sample((uniform(rng, s, dtype, domain or op.domain),), dict(kw),
                       desc=f"{s} {kw}") for s, kw in cases]
    return gen


def lp_cases(cases):
    """lp_pool samples: p = 2 on signed values, other p on positive ones (x^p stays real)."""
    def gen(op, dtype, rng):
        out = []
        for s, p, kw in cases:
            x = uniform(rng, s, dtype, (-2.0, 2.0) if p == 2 else (0.3, 2.0))
            out.append(Sample((x, p), dict(kw), desc=f"{s} p={p} {kw}"))
        return out
    return gen


def unpool_cases(d, cases):
    """max_unpool samples: pooled values and the indices a max pool gave (windows that don't
    overlap, so no index repeats: with repeats, PyTorch's gradient is not the derivative of
    its forward, which keeps one of the values)."""
    pool = max_pool_ref(d)

    def gen(op, dtype, rng):
        out = []
        for s, kw, pool_kw in cases:
            x = distinct(rng, [s], dtype)[0]
            vals, idx = pool(x, kw["kernel_size"], kw.get("stride"), kw.get("padding", 0),
                             return_indices=True, **pool_kw)
            out.append(Sample((vals, idx), dict(kw), desc=f"pooled {s} {kw}"))
        return out
    return gen


MAX1 = [((2, 3, 9), {"kernel_size": 3}), ((2, 3, 9), {"kernel_size": 3, "stride": 1}),
        ((3, 8), {"kernel_size": 2, "padding": 1, "return_indices": True}),
        ((2, 2, 10), {"kernel_size": 3, "stride": 2, "dilation": 2, "ceil_mode": True}),
        ((1, 2, 7), {"kernel_size": 2, "stride": 2, "ceil_mode": True,
                     "return_indices": True}),
        ((0, 2, 5), {"kernel_size": 2})]
MAX2 = [((2, 2, 5, 6), {"kernel_size": 2}),
        ((1, 2, 5, 5), {"kernel_size": 3, "stride": 1, "padding": 1, "return_indices": True}),
        ((2, 5, 6), {"kernel_size": (2, 3), "stride": (1, 2)}),
        ((1, 2, 7, 6), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
        ((1, 1, 7, 7), {"kernel_size": 2, "stride": 2, "dilation": (2, 1), "padding": 1,
                        "return_indices": True}),
        ((1, 2, 5, 5), {"kernel_size": 2, "stride": (2, 1), "ceil_mode": True}),
        ((2, 10, 10), {"kernel_size": 5, "return_indices": True})]     # > 16 taps: tiled
MAX3 = [((1, 2, 4, 4, 4), {"kernel_size": 2}),
        ((2, 3, 4, 5), {"kernel_size": (1, 2, 3), "stride": 1, "padding": (0, 1, 1),
                        "return_indices": True}),
        ((1, 1, 5, 4, 3), {"kernel_size": 2, "stride": 2, "ceil_mode": True,
                           "dilation": (1, 1, 1)})]
AVG1 = [((2, 3, 9), {"kernel_size": 3}), ((3, 8), {"kernel_size": 3, "stride": 2,
                                                   "padding": 1}),
        ((2, 2, 8), {"kernel_size": 4, "stride": 3, "padding": 2, "ceil_mode": True,
                     "count_include_pad": False}),
        ((1, 2, 7), {"kernel_size": 2, "ceil_mode": True})]
AVG2 = [((2, 2, 5, 6), {"kernel_size": 2}),
        ((1, 2, 5, 5), {"kernel_size": 3, "stride": 1, "padding": 1}),
        ((1, 2, 5, 5), {"kernel_size": 3, "stride": 1, "padding": 1,
                        "count_include_pad": False}),
        ((2, 5, 6), {"kernel_size": (2, 3), "stride": (1, 2), "divisor_override": 4}),
        ((1, 2, 6, 7), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
        ((1, 1, 6, 7), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                        "count_include_pad": False})]
AVG3 = [((1, 2, 4, 4, 4), {"kernel_size": 2}),
        ((2, 3, 4, 5), {"kernel_size": (1, 2, 3), "stride": 1, "padding": (0, 1, 1),
                        "count_include_pad": False}),
        ((1, 1, 5, 4, 3), {"kernel_size": 2, "ceil_mode": True, "divisor_override": 3})]
ADA1 = [((2, 3, 9), {"output_size": 3}), ((2, 3, 7), {"output_size": 3}),
        ((3, 5), {"output_size": 4}), ((2, 2, 6), {"output_size": 1})]
ADA2 = [((1, 2, 6, 6), {"output_size": 3}), ((2, 2, 7, 5), {"output_size": (3, 2)}),
        ((2, 5, 7), {"output_size": (None, 4)}), ((1, 2, 4, 5), {"output_size": (6, 7)})]
ADA3 = [((1, 2, 4, 4, 4), {"output_size": 2}), ((2, 5, 4, 3), {"output_size": (3, None, 2)})]
LP1 = [((2, 3, 8), 2, {"kernel_size": 2}), ((3, 7), 3, {"kernel_size": 3, "stride": 2,
                                                         "ceil_mode": True}),
       ((2, 2, 9), 1.5, {"kernel_size": 3, "stride": 1})]
LP2 = [((1, 2, 6, 6), 2, {"kernel_size": 2}), ((2, 5, 7), 1.5, {"kernel_size": (2, 3),
                                                                 "stride": 2}),
       ((1, 2, 5, 5), 3, {"kernel_size": 2, "stride": 2, "ceil_mode": True})]
LP3 = [((1, 2, 4, 4, 4), 2, {"kernel_size": 2}),
       ((2, 4, 5, 3), 1.5, {"kernel_size": (1, 2, 3), "stride": 1})]
UNPOOL1 = [((2, 3, 8), {"kernel_size": 2}, {}),
           ((2, 9), {"kernel_size": 2, "padding": 1, "output_size": (9,)}, {}),
           ((1, 2, 6), {"kernel_size": 2, "output_size": (7,)}, {})]
UNPOOL2 = [((1, 2, 6, 6), {"kernel_size": 2}, {}),
           ((2, 5, 7), {"kernel_size": (2, 3), "stride": (2, 3), "padding": 1,
                         "output_size": (5, 7)}, {}),
           ((1, 1, 5, 5), {"kernel_size": 2, "output_size": (1, 1, 5, 5)}, {})]
UNPOOL3 = [((1, 2, 4, 4, 4), {"kernel_size": 2}, {}),
           ((2, 4, 6, 3), {"kernel_size": (2, 3, 1), "stride": 2,
                           "output_size": (4, 6, 3)}, {})]

MAX_COVERS = ("max_pool", "max_unpool")
AVG_COVERS = ("avg_pool", "avg_pool_backward")
ROWS = [
    OpInfo("F.max_pool1d", F.max_pool1d, max_pool_ref(1), distinct_cases(MAX1),
           covers=MAX_COVERS),
    OpInfo("F.max_pool2d", F.max_pool2d, max_pool_ref(2), distinct_cases(MAX2),
           dtypes=(F32, F64, I64), covers=MAX_COVERS),
    OpInfo("F.max_pool3d", F.max_pool3d, max_pool_ref(3), distinct_cases(MAX3),
           covers=MAX_COVERS),
    OpInfo("F.max_unpool1d", F.max_unpool1d, unpool_ref(1), unpool_cases(1, UNPOOL1),
           covers=MAX_COVERS),
    OpInfo("F.max_unpool2d", F.max_unpool2d, unpool_ref(2), unpool_cases(2, UNPOOL2),
           covers=MAX_COVERS),
    OpInfo("F.max_unpool3d", F.max_unpool3d, unpool_ref(3), unpool_cases(3, UNPOOL3),
           covers=MAX_COVERS),
    OpInfo("F.avg_pool1d", F.avg_pool1d, avg_pool_ref(1), uniform_cases(AVG1),
           covers=AVG_COVERS),
    OpInfo("F.avg_pool2d", F.avg_pool2d, avg_pool_ref(2), uniform_cases(AVG2),
           dtypes=(F32, F64, I64), covers=AVG_COVERS),
    OpInfo("F.avg_pool3d", F.avg_pool3d, avg_pool_ref(3), uniform_cases(AVG3),
           covers=AVG_COVERS),
    OpInfo("F.adaptive_avg_pool1d", F.adaptive_avg_pool1d, adaptive_avg_ref(1),
           uniform_cases(ADA1), covers=AVG_COVERS),
    OpInfo("F.adaptive_avg_pool2d", F.adaptive_avg_pool2d, adaptive_avg_ref(2),
           uniform_cases(ADA2), covers=AVG_COVERS),
    OpInfo("F.adaptive_avg_pool3d", F.adaptive_avg_pool3d, adaptive_avg_ref(3),
           uniform_cases(ADA3), covers=AVG_COVERS),
    OpInfo("F.adaptive_max_pool1d", F.adaptive_max_pool1d, adaptive_max_ref(1),
           distinct_cases(ADA1 + [((2, 7), {"output_size": 3, "return_indices": True})]),
           covers=MAX_COVERS),
    OpInfo("F.adaptive_max_pool2d", F.adaptive_max_pool2d, adaptive_max_ref(2),
           distinct_cases(ADA2 + [((1, 2, 5, 6), {"output_size": (2, 4),
                                                  "return_indices": True}),
                                  ((1, 11, 10), {"output_size": (2, 3)})]),   # 24 taps
           covers=MAX_COVERS),
    OpInfo("F.adaptive_max_pool3d", F.adaptive_max_pool3d, adaptive_max_ref(3),
           distinct_cases(ADA3), covers=MAX_COVERS),
    OpInfo("F.lp_pool1d", F.lp_pool1d, lp_ref(1), lp_cases(LP1), covers=("avg_pool",)),
    OpInfo("F.lp_pool2d", F.lp_pool2d, lp_ref(2), lp_cases(LP2), covers=("avg_pool",)),
    OpInfo("F.lp_pool3d", F.lp_pool3d, lp_ref(3), lp_cases(LP3), covers=("avg_pool",)),
]

PARITY = []       # expressions over x, y, z, m (tests/test_torch_parity.py)


NN_PARITY = [     # nn_parity.Case entries with their own inputs (tests/test_torch_parity_nn.py)
    Case("F.max_pool1d(a, 3, 2, 1, ceil_mode=True, return_indices=True)", a=(2, 3, 10)),
    Case("F.max_pool1d(a, 2, dilation=2)", a=(3, 9)),
    Case("F.max_pool2d(a, 2)", a=(2, 3, 8, 8)),
    Case("F.max_pool2d(a, 3, 1, 1, return_indices=True)", a=(2, 3, 7, 6)),
    Case("F.max_pool2d(a, (3, 2), (2, 1), (1, 0), (1, 2), True, True)", a=(2, 2, 9, 8)),
    Case("F.max_pool2d(a, 2)", a=floats((2, 3, 6, 6), dtype="float64")),
    Case("F.max_pool2d(a, 2, 2, 1, return_indices=True)", a=floats((3, 5, 5), -1e4, 1e4)),
    Case("F.max_pool3d(a, 2, 1, 1, return_indices=True)", a=(1, 2, 4, 5, 4)),
    Case("F.max_pool3d(a, (1, 3, 2), ceil_mode=True)", a=(2, 5, 7, 5)),
    Case("F.avg_pool1d(a, 3, 2, 1, True, False)", a=(2, 3, 10)),
    Case("F.avg_pool2d(a, 3, 1, 1)", a=(2, 3, 7, 6)),
    Case("F.avg_pool2d(a, 3, 2, 1, ceil_mode=True)", a=(2, 3, 8, 8)),
    Case("F.avg_pool2d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False)", a=(2, 3, 8, 8)),
    Case("F.avg_pool2d(a, (2, 3), divisor_override=5)", a=floats((2, 5, 7), dtype="float64")),
    Case("F.avg_pool2d(a, 2, 1)", a=floats((2, 2, 5, 5), dtype="float16", grad=False),
         rtol=1e-3, atol=1e-3),
    Case("F.avg_pool2d(a, 2)", a=ints((2, 2, 4, 6), 50, -50)),
    Case("F.avg_pool3d(a, 2, 2, 1, True, False)", a=(1, 2, 5, 4, 5)),
    Case("F.avg_pool3d(a, (3, 1, 2), 1, divisor_override=2)", a=(2, 4, 5, 3)),
    Case("F.adaptive_avg_pool1d(a, 4)", a=(2, 3, 10)),
    Case("F.adaptive_avg_pool2d(a, (3, 5))", a=(2, 3, 7, 9)),
    Case("F.adaptive_avg_pool2d(a, 1)", a=(2, 3, 6, 6)),
    Case("F.adaptive_avg_pool2d(a, (None, 3))", a=(3, 5, 6)),
    Case("F.adaptive_avg_pool3d(a, (2, 3, 1))", a=(1, 2, 5, 7, 3)),
    Case("F.adaptive_max_pool1d(a, 3, True)", a=(2, 3, 10)),
    Case("F.adaptive_max_pool2d(a, (3, 4), True)", a=(2, 3, 7, 9)),
    Case("F.adaptive_max_pool2d(a, 2)", a=(2, 3, 6, 6)),
    Case("F.adaptive_max_pool3d(a, (2, 3, 2), True)", a=(1, 2, 5, 7, 3)),
    Case("F.lp_pool1d(a, 2, 3, 2, True)", a=(2, 3, 10)),
    Case("F.lp_pool2d(a, 2, 2)", a=(2, 3, 6, 6)),
    Case("F.lp_pool2d(a, 1.5, (2, 3), 1)", a=floats((2, 2, 5, 6), 0.1, 2.0)),
    Case("F.lp_pool3d(a, 3, 2, ceil_mode=True)", a=floats((1, 2, 5, 4, 5), 0.1, 2.0)),
    Case("F.max_unpool1d(*F.max_pool1d(a, 2, return_indices=True), 2)", a=(2, 3, 8)),
    Case("F.max_unpool2d(*F.max_pool2d(a, 3, 2, 1, return_indices=True), 3, 2, 1, (7, 6))",
         a=(2, 3, 7, 6)),
    Case("F.max_unpool3d(*F.max_pool3d(a, 2, return_indices=True), 2)", a=(1, 2, 4, 4, 4)),
]
