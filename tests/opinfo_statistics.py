"""Op database rows for tapegrad.ops.statistics (see tests/opinfo.py for what a row is)."""
import numpy as np

import tapegrad as tg
from opinfo import (F32, F64, I64, OpInfo, Sample, distinct, to_float32_if_int,
                    to_int64_if_int, uniform)

INTS = (F32, F64, I64)


def _axis(x, dim):
    """NumPy's axis for a tapegrad dim (a 0-d tensor's dim 0 / -1 reduces nothing)."""
    return () if np.ndim(x) == 0 and dim is not None else dim


# ---- var / std -----------------------------------------------------------------------------------
# (shape, positional args after x, kwargs): new and legacy spellings
VAR_CASES = [
    ((5,), (), {}), ((3, 4), (), {"dim": 1}), ((3, 4), (), {"dim": 0, "keepdim": True}),
    ((2, 3, 4), (), {"dim": (0, 2)}), ((2, 3, 4), (), {"dim": -1, "correction": 0}),
    ((3, 4), (), {"dim": 1, "correction": 2}), ((3, 4), (), {"correction": 0.5}),
    ((3, 4), (False,), {}), ((3, 4), (1, True, True), {}), ((2, 3, 4), (1, False), {}),
    ((3, 4), (), {"dim": 0, "unbiased": False}), ((), (), {"dim": 0, "correction": 0}),
    ((0, 3), (), {"dim": 1}),
]


def var_samples(op, dtype, rng):
    return [Sample((uniform(rng, s, dtype, op.domain),) + pos, kw, desc=f"{s} {pos} {kw}")
            for s, pos, kw in VAR_CASES]


def _correction(dim, unbiased, correction):
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if unbiased is not None:
        correction = 1 if unbiased else 0
    return dim, 1 if correction is None else correction


def var_ref(x, dim=None, unbiased=None, keepdim=False, correction=None):
    dim, c = _correction(dim, unbiased, correction)
    return np.var(x, axis=_axis(x, dim), ddof=c, keepdims=keepdim)


def std_ref(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return np.sqrt(var_ref(x, dim, unbiased, keepdim, correction))


def var_mean_ref(x, dim=None, unbiased=None, keepdim=False, correction=None):
    m_dim = None if isinstance(dim, bool) else dim
    return (var_ref(x, dim, unbiased, keepdim, correction),
            np.mean(x, axis=_axis(x, m_dim), keepdims=keepdim))


def std_mean_ref(x, dim=None, unbiased=None, keepdim=False, correction=None):
    v, m = var_mean_ref(x, dim, unbiased, keepdim, correction)
    return np.sqrt(v), m


# ---- reductions over dims ------------------------------------------------------------------------
DIM_CASES = [((), 0), ((5,), 0), ((3, 4), 1), ((3, 4), -2), ((3, 4), (0, 1)),
             ((2, 3, 4), (0, 2)), ((2, 3, 4), -1), ((0, 3), 1), ((0, 3), 0)]


def dim_samples(make=None, full=True):
    """(shape, dim, keepdim) sweeps; ``full`` adds dim=None."""
    def gen(op, dtype, rng):
        cases = DIM_CASES + ([((3, 4), None), ((2, 3, 2), None), ((), None)] if full else [])
        out = []
        for shape, dim in cases:
            for keepdim in (False, True):
                if dim is None and keepdim:
                    continue
                x = (make or uniform)(rng, shape, dtype, op.domain)
                kw = {"keepdim": keepdim} if dim is None else {"dim": dim, "keepdim": keepdim}
                out.append(Sample((x,), kw, desc=f"{shape} dim={dim} keepdim={keepdim}"))
        return out
    return gen


def logsumexp_ref(x, dim, keepdim=False):
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x.astype(np.float64)), axis=_axis(x, dim), keepdims=keepdim))
    return out.astype(to_float32_if_int(x.dtype))


def with_nans(rng, shape, dtype, domain):
    """Floats with about a quarter nan, never a whole row (results stay finite)."""
    x = uniform(rng, shape, dtype, domain)
    if dtype.kind == "f" and x.ndim and x.size:
        mask = rng.random(shape) < 0.25
        mask[(0,) * x.ndim] = False
        mask.reshape(-1, shape[-1])[:, 0] = False    # each last-dim row keeps an element
        if x.ndim > 1:
            mask[(slice(None),) * (x.ndim - 1) + (0,)] = False
        x[mask] = np.nan
    return x


def nanmean_samples(op, dtype, rng):
    """nan-containing inputs; every reduced slice keeps a number (no 0 / 0)."""
    out = []
    for shape, dim in [((5,), None), ((3, 4), 1), ((3, 4), None), ((2, 3, 4), -1),
                       ((), None), ((0, 3), 1)]:
        x = with_nans(rng, shape, dtype, op.domain)
        for keepdim in (False, True):
            kw = {"keepdim": keepdim} if dim is None else {"dim": dim, "keepdim": keepdim}
            out.append(Sample((x.copy(),), kw, desc=f"{shape} dim={dim} keepdim={keepdim}"))
    return out


def nan_reduce_ref(np_fn):
    def ref(x, dim=None, keepdim=False):
        out = np_fn(x, axis=_axis(x, dim), keepdims=keepdim)
        return np.asarray(out, dtype=to_int64_if_int(x.dtype))
    return ref


def logical_values(rng, shape, dtype, domain):
    """About half zeros, so all/any/count_nonzero see both outcomes."""
    x = uniform(rng, shape, dtype, (-2, 2))
    return np.where(rng.random(shape) < 0.4, np.zeros((), dtype), x).astype(dtype)


def logical_ref(np_fn):
    def ref(x, dim=None, keepdim=False):
        return np.asarray(np_fn(x, axis=_axis(x, dim), keepdims=keepdim))
    return ref


def count_nonzero_samples(op, dtype, rng):
    return [Sample((logical_values(rng, s, dtype, None),), {} if d is None else {"dim": d},
                   desc=f"{s} dim={d}")
            for s, d in [((5,), None), ((3, 4), 0), ((3, 4), (0, 1)), ((2, 3, 4), -1), ((), None),
                         ((0, 3), 1)]]


def count_nonzero_ref(x, dim=None):
    return np.asarray(np.count_nonzero(x, axis=_axis(x, dim)), dtype=np.int64)


# ---- order statistics ----------------------------------------------------------------------------
def distinct_values(rng, shape, dtype, domain):
    return distinct(rng, [shape], dtype)[0]


def median_all_ref(x):
    flat = np.sort(x.ravel())
    return np.asarray(flat[(flat.size - 1) // 2])


def median_dim_samples(op, dtype, rng):
    out = []
    for shape, dim in [((), 0), ((5,), 0), ((4,), -1), ((3, 4), 1), ((3, 4), 0),
                       ((2, 3, 4), 1), ((0, 3), 1)]:
        for keepdim in (False, True):
            out.append(Sample((distinct(rng, [shape], dtype)[0], dim), {"keepdim": keepdim},
                              desc=f"{shape} dim={dim} keepdim={keepdim}"))
    return out


def _lower_index(x, dim, nan_ok=False):
    order = np.argsort(x, axis=dim, kind="stable")
    n = x.shape[dim]
    valid = (~np.isnan(x)).sum(axis=dim, keepdims=True) if nan_ok else n
    pos = np.broadcast_to((np.maximum(valid, 1) - 1) // 2,
                          order.shape[:dim] + (1,) + order.shape[dim + 1:])
    return np.take_along_axis(order, pos, axis=dim)


def selected_ref(index_fn):
    """(values, indices) of the element index_fn picks along dim."""
    def ref(x, dim=-1, keepdim=False):
        if x.ndim == 0:
            return x.copy(), np.asarray(0, dtype=np.int64)
        d = dim % x.ndim
        idx = index_fn(x, d)
        vals = np.take_along_axis(x, idx, axis=d)
        if not keepdim:
            vals, idx = np.squeeze(vals, d), np.squeeze(idx, d)
        return vals, idx.astype(np.int64)
    return ref


def nanmedian_samples(op, dtype, rng):
    out = [Sample((with_nans(rng, s, dtype, (-3, 3)),), desc=f"{s} all")
           for s in [(5,), (3, 4)]]
    for shape, dim in [((3, 4), 1), ((2, 3, 4), -1), ((5,), 0)]:
        x = distinct(rng, [shape], dtype)[0]
        if dtype.kind == "f":
            x[..., 1] = np.nan
        out.append(Sample((x, dim), {"keepdim": False}, desc=f"{shape} dim={dim}"))
    return out


def nanmedian_ref(x, dim=None, keepdim=False):
    if dim is None:
        flat = np.sort(x[~np.isnan(x)] if x.dtype.kind == "f" else x.ravel())
        return np.asarray(flat[(flat.size - 1) // 2])
    return selected_ref(lambda a, d: _lower_index(a, d, a.dtype.kind == "f"))(x, dim, keepdim)


def mode_samples(op, dtype, rng):
    """Distinct values (the mode is then the smallest: ties are tested on their own)."""
    out = [Sample((distinct(rng, [(3, 4)], dtype)[0],), desc="(3, 4) default dim")]
    for shape, dim in [((), 0), ((5,), 0), ((3, 4), 0), ((2, 3, 4), 1), ((0, 3), 1)]:
        for keepdim in (False, True):
            out.append(Sample((distinct(rng, [shape], dtype)[0], dim), {"keepdim": keepdim},
                              desc=f"{shape} dim={dim} keepdim={keepdim}"))
    return out


# (shape, q, dim, keepdim, interpolation); q a float, or a tuple (made a 1-d tensor)
QUANTILE_CASES = [
    ((5,), 0.3, None, False, "linear"), ((3, 4), 0.7, 1, False, "linear"),
    ((3, 4), (0.1, 0.5, 0.9), 0, True, "linear"), ((2, 3, 4), 0.35, -1, False, "lower"),
    ((2, 3, 4), (0.2, 0.8), 1, False, "higher"), ((3, 4), 0.4, None, True, "midpoint"),
    ((3, 4), (0.3, 0.6), None, False, "nearest"), ((4,), 1.0, 0, False, "linear"),
    ((4,), 0.0, 0, True, "linear"), ((), 0.5, None, False, "linear"),
    ((), (0.25,), 0, True, "lower"), ((3, 4), 0.5, -1, False, "midpoint"),
]


def quantile_samples(op, dtype, rng):
    make = with_nans if op.name == "nanquantile" else distinct_values
    return [Sample((make(rng, s, dtype, (-3, 3)), q),
                   {"dim": d, "keepdim": k, "interpolation": i}, desc=f"{s} q={q} {d} {k} {i}")
            for s, q, d, k, i in QUANTILE_CASES]


def _q(q, x):
    return tg.tensor(list(q), dtype=x.dtype) if isinstance(q, tuple) else q


def quantile_fn(fn):
    return lambda x, q, **kw: fn(x, _q(q, x), **kw)


def quantile_ref(np_fn):
    def ref(x, q, dim=None, keepdim=False, interpolation="linear"):
        out = np_fn(x, np.asarray(q, dtype=x.dtype), axis=_axis(x, dim), keepdims=keepdim,
                    method=interpolation)
        return np.asarray(out, dtype=x.dtype)
    return ref


ROWS = [
    OpInfo("var", tg.var, var_ref, var_samples),
    OpInfo("std", tg.std, std_ref, var_samples),
    OpInfo("var_mean", tg.var_mean, var_mean_ref, var_samples, covers=("var", "mean")),
    OpInfo("std_mean", tg.std_mean, std_mean_ref, var_samples, covers=("std", "mean")),
    OpInfo("logsumexp", tg.logsumexp, logsumexp_ref, dim_samples(full=False), dtypes=INTS,
           result_dtype=to_float32_if_int),
    OpInfo("nansum", tg.nansum, nan_reduce_ref(np.nansum), nanmean_samples, dtypes=INTS,
           result_dtype=to_int64_if_int, covers=("where", "sum")),
    OpInfo("nanmean", tg.nanmean, nan_reduce_ref(np.nanmean), nanmean_samples,
           covers=("where", "sum", "div")),
    OpInfo("all", tg.all, logical_ref(np.all), dim_samples(logical_values), dtypes=INTS,
           differentiable=False, result_dtype=lambda d: np.bool_),
    OpInfo("any", tg.any, logical_ref(np.any), dim_samples(logical_values), dtypes=INTS,
           differentiable=False, result_dtype=lambda d: np.bool_),
    OpInfo("count_nonzero", tg.count_nonzero, count_nonzero_ref, count_nonzero_samples,
           dtypes=INTS, differentiable=False, result_dtype=lambda d: np.int64),
    OpInfo("median", tg.median, median_all_ref,
           lambda op, dtype, rng: [Sample((distinct(rng, [s], dtype)[0],), desc=f"{s}")
                                   for s in [(), (5,), (3, 4), (2, 3, 2)]], dtypes=INTS),
    OpInfo("median_dim", tg.median, selected_ref(_lower_index), median_dim_samples,
           dtypes=INTS, api=("median",), covers=("median_dim", "clone")),
    OpInfo("nanmedian", tg.nanmedian, nanmedian_ref, nanmedian_samples, dtypes=INTS,
           covers=("median", "median_dim")),
    OpInfo("mode", tg.mode, selected_ref(lambda a, d: np.expand_dims(np.argmin(a, d), d)),
           mode_samples, dtypes=INTS, covers=("mode", "clone")),
    OpInfo("quantile", quantile_fn(tg.quantile), quantile_ref(np.quantile), quantile_samples,
           covers=("quantile", "reshape")),
    OpInfo("nanquantile", quantile_fn(tg.nanquantile), quantile_ref(np.nanquantile),
           quantile_samples, covers=("quantile", "reshape")),
]

# Expressions for tests/test_torch_parity.py (lib is tapegrad or torch; x, y, z, m as there).
NANS = "lib.where(z > 0, z, float('nan'))"     # z with nan where it is not positive
PARITY = [e.replace("{n}", NANS) for e in [
    "x.var()", "x.var(1)", "lib.var(x, 0, False)", "lib.var(m, (0, 2), True, True)",
    "x.std(1, keepdim=True)", "lib.std(z, dim=(0, 1), correction=0)", "z.std(unbiased=False)",
    "lib.var_mean(m, 1)[0] * lib.var_mean(m, 1)[1]", "lib.std_mean(z, 0, correction=2)[0]",
    "lib.logsumexp(z, 1)", "lib.logsumexp(m, (0, 2), keepdim=True)", "z.logsumexp(0) * 1e4",
    "lib.nansum({n})", "lib.nanmean({n}, 1)", "{n}.nanmean()",
    "lib.median(z)", "lib.median(m, 1).values", "z.median(0, keepdim=True).values",
    "lib.nanmedian({n})", "lib.nanmedian({n}, 1).values",
    "lib.mode(z).values", "lib.mode(m, 0, True).values",
    "lib.quantile(z, 0.3, dim=1)", "x.quantile(lib.tensor([0.1, 0.5, 0.9]), dim=0, keepdim=True)",
    "lib.quantile(m, 0.7, interpolation='midpoint')", "lib.quantile(z, 0.4, 0, True, "
    "interpolation='nearest')", "lib.nanquantile({n}, 0.25, 1)",
    "lib.quantile(m, lib.tensor([0.2, 0.6]), 2, interpolation='lower')",
    "lib.quantile(m, 0.6, -1, interpolation='higher')",
    "lib.quantile(z, x[0, :2] / 3, 1)", "lib.nanquantile({n}, y[1] / 4)",   # q gets a grad
    # PyTorch's NumPy keyword names, keywords and float16 products
    "x.var(axis=0, keepdims=True)", "lib.std_mean(m, axis=(0, 2), keepdims=True)[0]",
    "lib.amax(z, axis=1, keepdims=True)", "lib.max(z, axis=0).values", "lib.max(x, other=z)",
    "lib.median(m, axis=2).values", "z.prod(axis=1)", "lib.logsumexp(z, axis=1, keepdims=True)",
    "lib.quantile(z, 0.3, axis=1, keepdims=True)", "y * lib.argmax(z, axis=0)",
    "x * lib.prod(lib.full((3, 4), 1.01, dtype=lib.float16), 0).float()",
]]
