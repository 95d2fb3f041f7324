"""Op database rows for tapegrad.ops.linalg's solves and decompositions (see tests/opinfo.py).

Matrices are well conditioned (uniform in [-1, 1] plus n * I). Decompositions whose input is
read as symmetric (cholesky, eigh) get X X^T + n I or (X + X^T) / 2 built inside the row, so
finite differences see the function the gradient describes; eigenvectors and singular
vectors enter through sign-invariant functions (squares, u v^T), their signs being arbitrary.
"""
import numpy as np

import tapegrad as tg
from opinfo import F32, F64, I64, OpInfo, Sample, uniform

L = tg.linalg
BATCHES = [(), (2,), (2, 3)]


def _mat(rng, shape, dtype, shift=True):
    a = uniform(rng, shape, dtype, (-1.0, 1.0))
    if shift and shape[-1] == shape[-2]:
        a = a + shape[-1] * np.eye(shape[-1], dtype=dtype)
    return a.astype(dtype)


def square(sizes=(3, 3, 2), empty=True):
    """One matrix argument per batch shape (n from ``sizes``), plus an empty batch."""
    def gen(op, dtype, rng):
        out = [Sample((_mat(rng, b + (n, n), dtype),), desc=f"{b + (n, n)}")
               for b, n in zip(BATCHES, sizes)]
        if empty:
            out.append(Sample((_mat(rng, (0, 3, 3), dtype),), desc="empty batch"))
        return out
    return gen


def with_kwargs(gen, *kwargs_list):
    """Each sample of ``gen`` once per kwargs dict."""
    def wrapped(op, dtype, rng):
        return [Sample(s.args, dict(kw), desc=f"{s.desc} {kw}")
                for kw in kwargs_list for s in gen(op, dtype, rng)]
    return wrapped


def pairs(cases, shift=True):
    """(A shape, B shape, kwargs) cases; A shifted when square."""
    def gen(op, dtype, rng):
        return [Sample((_mat(rng, a, dtype, shift), uniform(rng, b, dtype, (-1.0, 1.0))),
                       dict(kw), desc=f"{a} with {b} {kw}") for a, b, kw in cases]
    return gen


def rect(shapes):
    def gen(op, dtype, rng):
        return [Sample((uniform(rng, s, dtype, (-1.0, 1.0)),), desc=f"{s}") for s in shapes]
    return gen


def with_mode(shapes_modes):
    def gen(op, dtype, rng):
        return [Sample((uniform(rng, s, dtype, (-1.0, 1.0)),), {"mode": m}, desc=f"{s} {m}")
                for s, m in shapes_modes]
    return gen


def _spd(x):
    n = x.shape[-1]
    eye = np.eye(n, dtype=x.dtype) if isinstance(x, np.ndarray) else tg.eye(n, dtype=x.dtype)
    return x @ x.mT + n * eye if not isinstance(x, np.ndarray) else \
        x @ np.swapaxes(x, -1, -2) + n * eye


def _sym(x):
    return (x + (x.mT if not isinstance(x, np.ndarray) else np.swapaxes(x, -1, -2))) / 2


def _np_tri_solve(A, B, upper, left=True, unitriangular=False):
    A = np.triu(A) if upper else np.tril(A)
    if unitriangular:
        n = A.shape[-1]
        A = A * (1 - np.eye(n, dtype=A.dtype)) + np.eye(n, dtype=A.dtype)
    if left:
        return np.linalg.solve(A, B)
    return np.swapaxes(np.linalg.solve(np.swapaxes(A, -1, -2), np.swapaxes(B, -1, -2)), -1, -2)


def _np_solve(A, B, left=True):
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if vector:
        A = A if left else np.swapaxes(A, -1, -2)
        return np.linalg.solve(A, B[..., None])[..., 0]
    if left:
        return np.linalg.solve(A, B)
    return np.swapaxes(np.linalg.solve(np.swapaxes(A, -1, -2), np.swapaxes(B, -1, -2)), -1, -2)


def _np_svd_row(A, full_matrices=False):
    u, s, vh = np.linalg.svd(A, full_matrices=full_matrices)
    k = s.shape[-1]
    return s, u[..., :k] ** 2, vh[..., :k, :] ** 2, u[..., :, :1] * vh[..., :1, :]


def _svd_row(A, full_matrices=False):
    u, s, vh = L.svd(A, full_matrices=full_matrices)
    k = s.shape[-1]
    return s, u[..., :k] ** 2, vh[..., :k, :] ** 2, u[..., :, :1] * vh[..., :1, :]


def _np_lu(A):
    from scipy.linalg import lu
    _, lo, up = lu(A)
    return lo, up


def _np_lu_factor(A):
    from scipy.linalg import lu_factor
    lu, piv = lu_factor(A)
    return lu, (piv + 1).astype(np.int32)


def _np_lu_solve(A, B, left=True, adjoint=False):
    A = np.swapaxes(A, -1, -2) if adjoint else A
    return _np_solve(A, B, left)


def _qr_fn(A, mode):
    out = L.qr(A, mode)
    return out.R if mode == "r" else tuple(out)


def _np_qr(A, mode):
    q, r = np.linalg.qr(A, mode="reduced" if mode == "r" else mode)
    return r if mode == "r" else (q, r)


def _np_matrix_power(A, n):
    if n < 0:
        A, n = np.linalg.inv(A), -n
    return np.linalg.matrix_power(A, n)


def _matrix_power_samples(op, dtype, rng):
    """n = 3, -2, 0, 1 for floats; integer matrices (which PyTorch accepts) can't be inverted."""
    powers = [{"n": 3}, {"n": 0}, {"n": 1}] + ([] if dtype.kind in "iu" else [{"n": -2}])
    return with_kwargs(square((3, 2, 2), False), *powers)(op, dtype, rng)


def _np_expm(A):
    from scipy.linalg import expm
    return expm(A).astype(A.dtype) if A.size else A.copy()


def _np_lstsq(A, B):
    x = np.linalg.pinv(A)
    return (x @ B[..., None])[..., 0] if B.ndim == A.ndim - 1 else x @ B


def _vander_samples(op, dtype, rng):
    return [Sample((uniform(rng, s, dtype, (-2.0, 2.0)),), kw, desc=f"{s} {kw}")
            for s, kw in [((3,), {}), ((2, 4), {}), ((3,), {"N": 5}), ((2,), {"N": 2})]]


def _diagonal_samples(op, dtype, rng):
    cases = [((3, 4), {}), ((3, 4), {"offset": 1}), ((4, 3), {"offset": -2}),
             ((2, 3, 4), {"dim1": 0, "dim2": 2}), ((2, 3, 4), {"offset": 1, "dim1": -1,
                                                               "dim2": 0})]
    return [Sample((uniform(rng, s, dtype, (-2.0, 2.0)),), kw, desc=f"{s} {kw}")
            for s, kw in cases]


SOLVE_CASES = [((3, 3), (3, 2), {}), ((2, 3, 3), (2, 3, 2), {}), ((2, 3, 3), (3, 1), {}),
               ((3, 3), (2, 3, 2), {}), ((3, 3), (3,), {}), ((2, 3, 3), (2, 3), {}),
               ((2, 3, 3), (2, 2, 3), {"left": False}), ((0, 2, 2), (0, 2, 1), {})]
TRI_CASES = [((3, 3), (3, 2), {"upper": True}), ((2, 3, 3), (2, 3, 2), {"upper": False}),
             ((3, 3), (2, 3, 1), {"upper": False, "unitriangular": True}),
             ((2, 3, 3), (2, 3), {"upper": True, "left": False})]

ROWS = [
    OpInfo("linalg.inv", L.inv, np.linalg.inv, square(), api=("linalg.inv", "inverse"),
           covers=("inv",)),
    OpInfo("linalg.inv_ex", lambda A: tuple(L.inv_ex(A)),
           lambda A: (np.linalg.inv(A), np.zeros(A.shape[:-2], np.int32)), square(),
           api=("linalg.inv_ex",), covers=("inv",)),
    OpInfo("inverse_method", lambda A: A.inverse(), np.linalg.inv, square((3,), False),
           api=("inverse",), covers=("inv",)),
    OpInfo("linalg.solve", L.solve, _np_solve, pairs(SOLVE_CASES), covers=("solve",)),
    OpInfo("linalg.solve_ex", lambda A, B, **kw: tuple(L.solve_ex(A, B, **kw)),
           lambda A, B, **kw: (_np_solve(A, B, **kw), np.zeros(A.shape[:-2], np.int32)),
           pairs([((2, 3, 3), (2, 3, 2), {}), ((3, 3), (2, 3), {"left": False})]),
           covers=("solve",)),
    OpInfo("linalg.solve_triangular", L.solve_triangular, _np_tri_solve, pairs(TRI_CASES),
           covers=("solve_triangular",)),
    OpInfo("cholesky_solve", tg.cholesky_solve,
           lambda B, Lo, upper=False: np.linalg.solve(
               (np.swapaxes(np.triu(Lo), -1, -2) @ np.triu(Lo)) if upper else
               (np.tril(Lo) @ np.swapaxes(np.tril(Lo), -1, -2)), B),
           lambda op, dtype, rng: [
               Sample((uniform(rng, (3, 2), dtype, (-1, 1)), _mat(rng, (3, 3), dtype)), {}),
               Sample((uniform(rng, (2, 3, 2), dtype, (-1, 1)), _mat(rng, (3, 3), dtype)),
                      {"upper": True})], covers=("solve_triangular",)),
    OpInfo("triangular_solve", lambda b, A, **kw: tuple(tg.triangular_solve(b, A, **kw)),
           lambda b, A, upper=True, transpose=False: (
               _np_tri_solve(np.swapaxes(A, -1, -2) if transpose else A, b,
                             upper != transpose), A.copy()),
           lambda op, dtype, rng: [
               Sample((uniform(rng, (3, 2), dtype, (-1, 1)), _mat(rng, (3, 3), dtype)), {}),
               Sample((uniform(rng, (2, 3, 1), dtype, (-1, 1)), _mat(rng, (3, 3), dtype)),
                      {"upper": False, "transpose": True})],
           covers=("solve_triangular", "clone")),
    OpInfo("linalg.det", L.det, np.linalg.det, square(), api=("linalg.det", "det"),
           covers=("det",)),
    OpInfo("linalg.slogdet", lambda A: L.slogdet(A).logabsdet,
           lambda A: np.linalg.slogdet(A)[1].astype(A.dtype),
           lambda op, dtype, rng: square()(op, dtype, rng) + [
               Sample((-_mat(rng, (3, 3), dtype),), desc="negative determinant")],
           api=("linalg.slogdet", "slogdet"), covers=("slogdet",)),
    OpInfo("logdet", tg.logdet, lambda A: np.log(np.linalg.det(A)), square((3, 2, 2), False),
           covers=("slogdet", "where")),
    OpInfo("linalg.matrix_exp", L.matrix_exp, _np_expm,
           lambda op, dtype, rng: [Sample((0.5 * uniform(rng, s, dtype, (-1, 1)),), desc=f"{s}")
                                   for s in [(3, 3), (2, 2, 2), (0, 2, 2)]],
           api=("linalg.matrix_exp", "matrix_exp"), covers=("matrix_exp", "cat", "getitem")),
    OpInfo("linalg.matrix_power", L.matrix_power, _np_matrix_power,
           _matrix_power_samples, dtypes=(F32, F64, I64),
           api=("linalg.matrix_power", "matrix_power"), covers=("matmul", "inv")),
    OpInfo("linalg.vander", L.vander,
           lambda x, N=None: x[..., None] ** np.arange(x.shape[-1] if N is None else N).astype(
               x.dtype), _vander_samples, dtypes=(F32, F64, I64), covers=("pow",)),
    OpInfo("vander", tg.vander,
           lambda x, N=None, increasing=False: np.vander(x, N, increasing).astype(x.dtype),
           lambda op, dtype, rng: [
               Sample((uniform(rng, s, dtype, (-2.0, 2.0)),), kw, desc=f"{s} {kw}")
               for s, kw in [((3,), {}), ((4,), {"N": 2}), ((3,), {"N": 4, "increasing": True}),
                             ((2,), {"N": 0}), ((0,), {})]],
           dtypes=(F32, F64, I64), covers=("pow", "getitem")),
    OpInfo("linalg.diagonal", L.diagonal,
           lambda A, offset=0, dim1=-2, dim2=-1: np.diagonal(A, offset, dim1, dim2),
           _diagonal_samples, dtypes=(F32, F64, I64), covers=("strided",)),
    OpInfo("linalg.lstsq", lambda A, B, **kw: L.lstsq(A, B, **kw).solution,
           lambda A, B, **kw: _np_lstsq(A, B),
           pairs([((4, 3), (4, 2), {}), ((2, 3, 2), (2, 3, 1), {"driver": "gels"}),
                  ((2, 3), (2, 1), {"driver": "gelsd"}), ((3, 2), (3,), {"driver": "gelss"})],
                 shift=False),
           covers=("qr", "solve_triangular", "matmul")),
    # Rank-deficient A = X Y (rank 2): it stays rank 2 under finite differences, where the
    # solution is smooth; its gradient is the pseudo-inverse's (as PyTorch's).
    OpInfo("lstsq_rank_deficient", lambda X, Y, B, **kw: L.lstsq(X @ Y, B, **kw).solution,
           lambda X, Y, B, **kw: np.linalg.pinv(X @ Y, rcond=1e-4) @ B,
           lambda op, dtype, rng: [
               Sample(tuple(uniform(rng, s, dtype, (-1.0, 1.0)) for s in shapes), kw,
                      desc=f"{shapes} {kw}")
               for shapes, kw in [(((4, 2), (2, 3), (4, 2)), {"rcond": 1e-4}),
                                  (((3, 1), (1, 4), (3, 1)), {"rcond": 1e-4}),
                                  (((2, 3, 2), (2, 2, 3), (2, 3, 1)),
                                   {"rcond": 1e-4, "driver": "gelsd"})]],
           api=("linalg.lstsq",), covers=("qr", "solve_triangular", "matmul")),
        OpInfo("linalg.lu_solve", lambda A, B, **kw: L.lu_solve(*L.lu_factor(A), B, **kw),
           _np_lu_solve, pairs([((3, 3), (3, 2), {}), ((2, 3, 3), (3, 1), {"adjoint": True}),
                                ((3, 3), (2, 2, 3), {"left": False}),
                                ((3, 3), (1, 3), {"left": False, "adjoint": True})]),
           covers=("lu_factor", "solve_triangular", "matmul")),
    OpInfo("lu_solve", lambda A, B: tg.lu_solve(B, *L.lu_factor(A)), _np_lu_solve,
           pairs([((2, 3, 3), (2, 3, 1), {})]), covers=("lu_factor", "solve_triangular")),
    OpInfo("lu_unpack", lambda A: tuple(tg.lu_unpack(*L.lu_factor(A)))[1:], _np_lu,
           rect([(3, 3), (2, 3, 2)]), covers=("lu_factor",)),
    OpInfo("cholesky_inverse", lambda X, **kw: tg.cholesky_inverse(
               (lambda c: c.mT if kw else c)(L.cholesky(_spd(X))), **kw),
           lambda X, **kw: np.linalg.inv(_spd(X)),
           with_kwargs(square((3, 2), False), {}, {"upper": True}),
           covers=("cholesky", "solve_triangular")),
    OpInfo("linalg.tensorinv", L.tensorinv, np.linalg.tensorinv,
           lambda op, dtype, rng: [Sample((_mat(rng, (4, 4), dtype).reshape(4, 2, 2),),
                                          {"ind": 1}),
                                   Sample((_mat(rng, (4, 4), dtype).reshape(2, 2, 2, 2),), {})],
           covers=("inv", "reshape")),
    OpInfo("linalg.tensorsolve", L.tensorsolve,
           lambda A, B, dims=None: np.linalg.tensorsolve(A, B, dims),
           lambda op, dtype, rng: [
               Sample((_mat(rng, (6, 6), dtype).reshape(2, 3, 6),
                       uniform(rng, (2, 3), dtype, (-1, 1))), {}),
               Sample((_mat(rng, (6, 6), dtype).reshape(6, 2, 3),
                       uniform(rng, (2, 3), dtype, (-1, 1))), {"dims": (0,)})],
           covers=("solve", "reshape")),
    # ---- decompositions ------------------------------------------------------------------
    OpInfo("linalg.cholesky", lambda X, **kw: L.cholesky(_spd(X), **kw),
           lambda X, upper=False: (np.swapaxes if upper else lambda a, *_: a)(
               np.linalg.cholesky(_spd(X)), -1, -2),
           lambda op, dtype, rng: square((3, 2, 2))(op, dtype, rng) + [
               Sample((_mat(rng, (2, 2), dtype),), {"upper": True}, desc="upper")],
           covers=("cholesky",)),
    OpInfo("cholesky", lambda X: tg.cholesky(_spd(X), True),
           lambda X: np.swapaxes(np.linalg.cholesky(_spd(X)), -1, -2), square((3,), False),
           covers=("cholesky",)),
    OpInfo("linalg.cholesky_ex", lambda X: tuple(L.cholesky_ex(_spd(X))),
           lambda X: (np.linalg.cholesky(_spd(X)), np.zeros(X.shape[:-2], np.int32)),
           square((2, 2), False), covers=("cholesky",)),
    OpInfo("linalg.qr", _qr_fn, _np_qr,
           with_mode([((3, 2), "reduced"), ((2, 3, 3), "reduced"), ((2, 4), "reduced"),
                      ((2, 2, 3), "complete"), ((3, 2), "r"), ((0, 3, 2), "reduced")]),
           covers=("qr",)),
    OpInfo("qr", lambda A: tuple(tg.qr(A)), lambda A: np.linalg.qr(A), rect([(4, 3)])),
    OpInfo("linalg.lu", lambda A: tuple(L.lu(A))[1:], _np_lu,
           rect([(3, 3), (2, 2, 2), (3, 2), (2, 3)]), covers=("lu_factor",)),
    OpInfo("linalg.lu_factor_ex", lambda A: tuple(L.lu_factor_ex(A)),
           lambda A: _np_lu_factor(A) + (np.zeros(A.shape[:-2], np.int32),),
           rect([(3, 3), (2, 2, 3)]), covers=("lu_factor",)),
    OpInfo("linalg.lu_factor", lambda A: tuple(L.lu_factor(A)), _np_lu_factor,
           rect([(3, 3), (2, 3, 2, 2), (3, 2)]), covers=("lu_factor",)),
    OpInfo("linalg.eigh", lambda X, **kw: (lambda w, v: (w, v * v))(*L.eigh(_sym(X), **kw)),
           lambda X, UPLO="L": (lambda w, v: (w, v * v))(*np.linalg.eigh(_sym(X), UPLO)),
           with_kwargs(square((3, 3, 2), False), {}, {"UPLO": "U"}), covers=("eigh",)),
    OpInfo("linalg.eigvalsh", lambda X: L.eigvalsh(_sym(X)),
           lambda X: np.linalg.eigvalsh(_sym(X)), square((3, 2, 2)), covers=("eigh",)),
    OpInfo("linalg.svd", _svd_row, _np_svd_row,
           with_kwargs(rect([(4, 3), (2, 3, 4), (3, 3)]), {}, {"full_matrices": True}),
           covers=("svd",)),
    OpInfo("linalg.svdvals", L.svdvals, lambda A: np.linalg.svd(A, compute_uv=False),
           rect([(4, 3), (2, 3, 3, 4), (0, 2, 3)]), covers=("svd",)),
    OpInfo("svd", lambda A: (lambda u, s, v: (u * u, s, v * v))(*tg.svd(A)),
           lambda A: (lambda u, s, vh: (u * u, s, np.swapaxes(vh, -1, -2) ** 2))(
               *np.linalg.svd(A, full_matrices=False)), rect([(4, 3)])),
]

# Expressions for tests/test_torch_parity.py (lib is tapegrad or torch; x, y, z, m as there).
PARITY = [
    "lib.linalg.inv(x[:, :3] + 3 * lib.eye(3))", "(x[:, :3] + lib.eye(3)).inverse()",
    "lib.linalg.inv_ex(x[:, :3] + lib.eye(3)).inverse",
    "lib.linalg.solve(x[:, :3] + 3 * lib.eye(3), z)",
    "lib.linalg.solve(m[..., :4] + 4 * lib.eye(4), y)",
    "lib.linalg.solve(x[:, :3] + 3 * lib.eye(3), z.T, left=False)",
    "lib.linalg.solve_triangular(x[:, :3], z, upper=True)",
    "lib.linalg.solve_triangular(x[:, :3], z.T, upper=False, left=False, unitriangular=True)",
    "lib.cholesky_solve(z, lib.linalg.cholesky(x @ x.T + lib.eye(3)))",
    "lib.linalg.det(z[:, :3])", "lib.det(x[:, :3])", "lib.linalg.slogdet(z[:, :3]).logabsdet",
    "lib.logdet(x[:, :3] @ x[:, :3].T + lib.eye(3))",
    "lib.linalg.matrix_exp(z[:, :3] * 0.3)", "lib.linalg.matrix_power(x[:, :3], 3)",
    "lib.linalg.matrix_power(x[:, :3] + 2 * lib.eye(3), -2)", "lib.linalg.vander(y)",
    "lib.linalg.diagonal(m, offset=1)", "lib.linalg.lstsq(z.T, m[0, :, :2]).solution",
    "lib.linalg.cholesky(x @ x.T + lib.eye(3))",
    "lib.linalg.qr(z).R", "lib.linalg.qr(z.T).Q", "lib.linalg.qr(m).R",
    "lib.linalg.lu_factor(x[:, :3]).LU", "lib.linalg.lu(z).U", "lib.linalg.lu(z.T).L",
    "lib.linalg.eigh(x @ x.T).eigenvalues", "lib.linalg.eigh(z @ z.T).eigenvectors ** 2",
    "lib.linalg.eigvalsh(z.T @ z + lib.eye(4))",
    "lib.linalg.svd(z, full_matrices=False).S", "lib.linalg.svd(z, full_matrices=False).U ** 2",
    "lib.linalg.svdvals(m)", "lib.svd(z).V ** 2",
    "lib.linalg.lu_solve(*lib.linalg.lu_factor(x[:, :3]), z, adjoint=True)",
    "lib.lu_unpack(*lib.linalg.lu_factor(z[:, :3])).U", "lib.linalg.lu_factor_ex(z.T).LU",
    "lib.cholesky_inverse(lib.linalg.cholesky(x @ x.T + lib.eye(3)))",
    "lib.linalg.tensorinv(m[0, :, :4].reshape(2, 2, 4), ind=2)",
    "lib.linalg.tensorsolve(m[0, :, :4].reshape(2, 2, 4), z[:2, :2])",
]
