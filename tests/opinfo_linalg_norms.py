"""Op database rows for tapegrad.ops.linalg.norms (see tests/opinfo.py for what a row is)."""
import numpy as np

import tapegrad as tg
from opinfo import OpInfo, Sample, away_from_zero, distinct, uniform

INF = float("inf")


def _vector_norm_ref(x, ord=2, dim=None, keepdim=False):
    axis = None if dim is None else (dim if isinstance(dim, tuple) else (dim,))
    if np.ndim(x) == 0 and axis is not None:
        axis = ()
    a = np.abs(x.astype(np.float64))
    if ord == INF:
        out = np.amax(a, axis=axis, keepdims=keepdim)
    elif ord == -INF:
        out = np.amin(a, axis=axis, keepdims=keepdim)
    elif ord == 0:
        out = np.sum(a != 0, axis=axis, keepdims=keepdim)
    else:
        out = np.sum(a ** ord, axis=axis, keepdims=keepdim) ** (1.0 / ord)
    return np.asarray(out).astype(x.dtype)


VECTOR_CASES = [((), None), ((5,), None), ((5,), 0), ((3, 4), 1), ((3, 4), (0, 1)),
                ((2, 3, 4), -1), ((2, 3, 4), (0, 2)), ((0, 3), 1), ((0, 3), None)]


def _vector_norm_samples(ords, empty=True):
    def gen(op, dtype, rng):
        out = []
        for ord in ords:
            for shape, dim in VECTOR_CASES:
                if 0 in shape and (not empty or ord < 0):
                    continue
                for keepdim in ((False, True) if dim is not None else (False,)):
                    # magnitudes away from 0 and distinct: no kinks of |x|, no ties of max |x|
                    x = distinct(rng, [shape], dtype, 0.3, 2.0)[0] if ord in (INF, -INF) \
                        else away_from_zero(rng, shape, dtype, 0.3, 2.0)
                    if ord in (INF, -INF):
                        x = np.asarray(x * rng.choice([-1, 1], size=shape), dtype=dtype)
                    kw = {"ord": ord, "keepdim": keepdim}
                    if dim is not None:
                        kw["dim"] = dim
                    out.append(Sample((x,), kw, desc=f"{shape} ord={ord} dim={dim} k={keepdim}"))
        return out
    return gen


def _matrix_norm_ref(A, ord="fro", dim=(-2, -1), keepdim=False):
    out = np.linalg.norm(A.astype(np.float64), ord=ord, axis=dim, keepdims=keepdim)
    return np.asarray(out).astype(A.dtype)


def _matrix_samples(ords):
    def gen(op, dtype, rng):
        out = []
        for ord in ords:
            for shape, dim in [((3, 4), (-2, -1)), ((2, 3, 3), (-2, -1)), ((3, 2, 4), (0, 2)),
                               ((4, 3), (1, 0))]:
                for keepdim in (False, True):
                    # distinct positive sums per row/column: no ties in max/min of the sums
                    x = distinct(rng, [shape], dtype, 0.3, 3.0)[0]
                    out.append(Sample((x,), {"ord": ord, "dim": dim, "keepdim": keepdim},
                                      desc=f"{shape} ord={ord} dim={dim} k={keepdim}"))
        return out
    return gen


def _norm_samples(op, dtype, rng):
    x = away_from_zero(rng, (3, 4), dtype, 0.3, 2.0)
    return [Sample((x,), {}, desc="fro, all"), Sample((x,), {"p": "fro", "dim": (0, 1)}),
            Sample((x,), {"p": 3, "dim": 1, "keepdim": True}), Sample((x,), {"p": 1}),
            Sample((away_from_zero(rng, (5,), dtype, 0.3, 2.0),), {"p": 2, "dim": 0})]


def _norm_ref(x, p="fro", dim=None, keepdim=False):
    return _vector_norm_ref(x, 2 if p == "fro" else p, dim, keepdim)


def _linalg_norm_samples(op, dtype, rng):
    m = distinct(rng, [(3, 4)], dtype, 0.3, 3.0)[0]
    v = away_from_zero(rng, (5,), dtype, 0.3, 2.0)
    b = away_from_zero(rng, (2, 3, 4), dtype, 0.3, 2.0)
    return [Sample((b,), {}, desc="all elements"), Sample((v,), {"ord": 3}),
            Sample((m,), {"ord": 1}), Sample((m,), {"ord": INF}),
            Sample((b,), {"dim": 1, "keepdim": True}), Sample((b,), {"ord": "fro", "dim": (0, 2)})]


def _linalg_norm_ref(A, ord=None, dim=None, keepdim=False):
    out = np.linalg.norm(A.astype(np.float64), ord=ord, axis=dim, keepdims=keepdim)
    if dim is None and ord is None:
        out = np.linalg.norm(A.astype(np.float64).ravel())
    return np.asarray(out).astype(A.dtype)


def _rank_samples(op, dtype, rng):
    full = uniform(rng, (3, 3), dtype, (-1, 1)) + 3 * np.eye(3, dtype=dtype)
    low = np.outer(np.arange(1.0, 4.0), np.arange(1.0, 5.0)).astype(dtype)    # rank 1
    batch = np.stack([full, np.zeros((3, 3), dtype), full[:, :1] * np.ones((1, 3), dtype)])
    return [Sample((full,)), Sample((low,)), Sample((batch,), desc="batch of ranks 3, 0, 1"),
            Sample((low,), {"atol": 1.0}), Sample((full,), {"hermitian": True}, desc="sym"),
            Sample((np.zeros((2, 0, 3), dtype),), desc="empty")]


def _rank_ref(A, atol=None, rtol=None, hermitian=False):
    if hermitian:
        A = (A + np.swapaxes(A, -1, -2)) / 2
    if A.size == 0:
        return np.zeros(A.shape[:-2], dtype=np.int64)
    return np.asarray(np.linalg.matrix_rank(A, tol=atol, hermitian=hermitian), dtype=np.int64)


def _well_conditioned(rng, shape, dtype):
    """Matrices with well-separated singular values (the SVD's gradient needs them distinct):
    a random orthogonal-ish mix of a fixed spread."""
    *batch, m, n = shape
    k = builtin_min(m, n)
    q1, _ = np.linalg.qr(rng.standard_normal(tuple(batch) + (m, m)))
    q2, _ = np.linalg.qr(rng.standard_normal(tuple(batch) + (n, n)))
    s = np.zeros(tuple(batch) + (m, n))
    idx = np.arange(k)
    s[..., idx, idx] = np.linspace(3.0, 1.0, k)
    return (q1 @ s @ q2).astype(dtype)


builtin_min = min


def _svd_samples(ords=None):
    def gen(op, dtype, rng):
        out = []
        for shape in [(3, 3), (4, 2), (2, 3, 3), (2, 4)]:
            A = _well_conditioned(rng, shape, dtype)
            for ord in (ords or [None]):
                kw = {} if ord is None else {"ord": ord}
                out.append(Sample((A,), kw, desc=f"{shape} {kw}"))
        return out
    return gen


def _cond_samples(op, dtype, rng):
    out = [Sample((_well_conditioned(rng, s, dtype),), desc=f"{s}") for s in [(3, 3), (2, 3, 3)]]
    out += [Sample((_well_conditioned(rng, (2, 4), dtype),), {"p": -2}, desc="(2, 4) p=-2")]
    out += [Sample((_well_conditioned(rng, (3, 3), dtype),), {"p": p}, desc=f"(3, 3) p={p}")
            for p in ("fro", "nuc", 1, INF)]
    return out


def _cond_ref(A, p=None):
    return np.asarray(np.linalg.cond(A.astype(np.float64), p)).astype(A.dtype)


def _pinv_ref(A):
    return np.linalg.pinv(A.astype(np.float64)).astype(A.dtype)


ROWS = [
    OpInfo("matrix_norm_svd", tg.linalg.matrix_norm, _matrix_norm_ref,
           _svd_samples(["nuc", 2, -2]), covers=("amax", "amin", "sum"),
           api=("linalg.matrix_norm",)),
    OpInfo("linalg.cond", tg.linalg.cond, _cond_ref, _cond_samples, covers=("div",)),
    OpInfo("linalg.pinv", tg.linalg.pinv, _pinv_ref, _svd_samples(), covers=("matmul",)),
    OpInfo("pinv_hermitian", lambda A: tg.linalg.pinv((A + A.mT) / 2, hermitian=True),
           lambda A: _pinv_ref((A + np.swapaxes(A, -1, -2)) / 2),
           lambda op, dtype, rng: [Sample((_well_conditioned(rng, s, dtype) + 4 * np.eye(
               s[-1], dtype=dtype),), desc=f"{s}") for s in [(3, 3), (2, 2, 2)]],
           covers=("matmul", "eigh"), api=("linalg.pinv",)),
    OpInfo("linalg.matrix_rank", lambda A, **kw: tg.linalg.matrix_rank(
        (A + A.mT) / 2 if kw.get("hermitian") else A, **kw), _rank_ref, _rank_samples,
        differentiable=False, result_dtype=lambda d: np.int64),
    OpInfo("linalg.vector_norm", tg.linalg.vector_norm, _vector_norm_ref,
           _vector_norm_samples((2, 1, 3, 0.5, -1.5)), covers=("vector_norm",)),
    OpInfo("vector_norm_inf", tg.linalg.vector_norm, _vector_norm_ref,
           _vector_norm_samples((INF, -INF), empty=False), covers=("amax", "amin"),
           api=("linalg.vector_norm",)),
    OpInfo("vector_norm_zero", tg.linalg.vector_norm, _vector_norm_ref,
           _vector_norm_samples((0,)), covers=("sum", "mul"), api=("linalg.vector_norm",)),
    OpInfo("linalg.matrix_norm", tg.linalg.matrix_norm, _matrix_norm_ref,
           _matrix_samples(("fro", 1, -1, INF, -INF)), covers=("vector_norm", "amax", "amin")),
    OpInfo("norm", tg.norm, _norm_ref, _norm_samples, covers=("vector_norm",)),
    OpInfo("tensor_norm", lambda x, **kw: x.norm(**kw), _norm_ref, _norm_samples,
           covers=("vector_norm",), api=("Tensor.norm",)),
    OpInfo("linalg.norm", tg.linalg.norm, _linalg_norm_ref, _linalg_norm_samples,
           covers=("vector_norm", "amax")),
]

# Expressions for tests/test_torch_parity.py (lib is tapegrad or torch; x, y, z, m as there).
PARITY = [
    "lib.linalg.vector_norm(z)", "lib.linalg.vector_norm(z, 3, dim=1)",
    "lib.linalg.vector_norm(z, float('inf'), dim=0)", "lib.linalg.vector_norm(m, 1, (0, 2))",
    "lib.linalg.matrix_norm(z, 1)", "lib.linalg.matrix_norm(m, float('-inf'), keepdim=True)",
    "lib.linalg.matrix_norm(m, 'fro', dim=(0, 2))", "lib.norm(z)", "z.norm(1, 1)",
    "lib.norm(m, dim=(1, 2))", "lib.linalg.norm(z, float('inf'))", "lib.linalg.norm(m, dim=2)",
]
