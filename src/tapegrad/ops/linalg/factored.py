"""Solves that start from a factorization: lstsq (QR), lu_solve and lu_unpack (LU),
cholesky_inverse (Cholesky), lu_factor_ex; and the tensor forms tensorinv and tensorsolve.
All are composites of the primitives in solve.py and decomp.py, so their gradients (and
higher derivatives) come from those rules. Re-exported by decomp.py."""
from collections import namedtuple

import numpy as np

from ..._core.errors import ArgumentError, ShapeError
from ..._core.state import STATE
from ..._core.tensor import Tensor, array_of, wrap
from .. import reduction, shape
from ..indexing import getitem
from ._common import (LinAlgError, batch_prefix, batch_shape, check_float, check_matrix,
                      dtype_of, mm, mT, np_svd, shape_of, tri, unsqueeze)
from ..registry import batched_call
from .decomp import (_permutation, batched_zero_pivots, linalg_qr, lu_factor_unchecked,
                     zero_pivots)
from .solve import _solve_tri, cholesky_solve, inv, solve

lstsq_result = namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
lu_factor_ex_result = namedtuple("linalg_lu_factor_ex", ["LU", "pivots", "info"])
lu_unpack_result = namedtuple("lu_unpack", ["P", "L", "U"])


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def _full_rank_lstsq(A, B):
    """Least squares for full-rank A (..., m, n) from a QR factorization: R^{-1} Q^T B when
    m >= n, the minimum-norm Q R^{-T} B when m < n."""
    m, n = shape_of(A)[-2:]
    if m >= n:
        Q, R = linalg_qr(A)
        return _solve_tri(R, mm(mT(Q), B), True)
    Q, R = linalg_qr(mT(A))
    return mm(Q, _solve_tri(mT(R), B, False))


def _low_rank_lstsq(A, B, a, r):
    """The minimum-norm solution A_r^+ B for one matrix, A_r its rank-r truncated SVD.

    NOTE: written as A_r^+ = W^+ M F^+ with F = A_r V_r, W = U_r^T A_r, M = U_r^T A_r V_r
    (U_r, V_r held constant), all of full rank r, so the solves are well posed. Its
    derivative is the pseudo-inverse's along rank-r matrices and 0 across them (what
    PyTorch's pinv-based gradient gives), and A_r = A - (A - A_r) keeps the discarded
    singular directions constant; the SVD's own gradient would be nan at equal or zero
    discarded singular values."""
    U, s, Vh = np_svd("linalg.lstsq", a, full_matrices=False)
    Ur, Vr = U[:, :r], np.ascontiguousarray(Vh[:r].T)
    Ar = A - (a - (Ur * s[:r]) @ Vh[:r])
    F = mm(Ar, Vr)
    return _full_rank_lstsq(mm(mT(Ur), Ar), mm(mm(mT(Ur), F), _full_rank_lstsq(F, B)))


def lstsq(input, b, rcond=None, *, driver=None):
    """Least-squares solution of A X = B for A = input (..., m, n) and B = b: ``(solution,
    residuals, rank, singular_values)`` as torch.linalg.lstsq gives them on CPU.

    ``driver`` (default 'gelsy') as PyTorch's: 'gels' assumes A has full rank; 'gelsy',
    'gelsd' and 'gelss' give the minimum-norm solution, singular values at or below
    ``rcond * s_max`` counting as zero (rcond defaults to eps * max(m, n)). Full-rank A is
    solved from a QR factorization; rank-deficient A through its truncated SVD, with the
    pseudo-inverse's gradient (as PyTorch). B is a batch of vectors when it has one dim
    fewer than A.

    Returns, as PyTorch: rank (int64, A's batch shape) unless driver='gels';
    singular_values (..., min(m, n)) for 'gelsd' and 'gelss'; residuals, the squared norms
    of the columns of A X - B (..., k), when m > n and, except for 'gels', every matrix has
    full rank, but never for 'gelsy'. Outputs not computed are empty.

    Example:
        >>> import tapegrad as tg
        >>> A = tg.tensor([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]])
        >>> tg.linalg.lstsq(A, tg.ones(3, 1)).solution
        tensor([[0.1200],
                [0.2400]])
    """
    name = "linalg.lstsq"
    if STATE.vmap_levels:       # Note [Batched tensors]: the singular values are read below
        out = batched_call("lstsq", (input, b), {"rcond": rcond, "driver": driver})
        if out is not None:
            return out
    if driver is None:
        driver = "gelsy"
    if rcond is not None and not isinstance(rcond, (int, float, np.integer, np.floating)):
        raise ArgumentError(f"{name}: rcond must be a float or None, got {rcond!r}")
    if driver not in _DRIVERS:
        raise ArgumentError(f"{name}: parameter `driver` should be one of (gels, gelsy, "
                            f"gelsd, gelss), got {driver!r}")
    sa = check_matrix(name, input, square=False)
    sb = tuple(shape_of(b))
    check_float(name, input, b)
    vector = len(sb) == len(sa) - 1
    if vector:
        b = unsqueeze(b, -1)
    rows = sb[-1] if vector else (sb[-2] if len(sb) >= 2 else None)
    if rows != sa[-2]:
        how = (" (b has one dim fewer than input, so it is a batch of vectors, as in PyTorch)"
               if vector else "")
        raise ShapeError(f"{name}: input {sa} and b {sb} must have the same number of rows"
                         f"{how}")
    if vector:
        sb = sb + (1,)
    batch = batch_shape(name, sa, sb)
    m, n = sa[-2:]
    a = array_of(input)
    dt = a.dtype
    empty = np.zeros(0, dtype=dt)
    rank, sv = wrap(np.zeros(0, dtype=np.int64)), wrap(empty)
    full = True
    if driver != "gels":
        s = np_svd(name, a, compute_uv=False) if a.size else np.zeros(
            sa[:-2] + (min(m, n),), dtype=dt)
        if rcond is None:
            rcond = np.finfo(dt).eps * max(m, n)
        tol = rcond * (s.max(-1, keepdims=True) if s.shape[-1] else 0)
        ranks = np.sum(s > tol, axis=-1).astype(np.int64)
        full = bool(np.all(ranks == min(m, n)))
        rank = wrap(np.asarray(ranks))
        if driver in ("gelsd", "gelss"):
            sv = wrap(s)
    if m == 0 or n == 0:
        # NOTE: A^T B is exactly zero (or empty) here, and unlike a constant it is recorded,
        # so X still takes a (zero) gradient to A and B, as in PyTorch.
        X = mm(mT(input), b)
    elif full:
        X = _full_rank_lstsq(input, b)
    else:
        X = _lstsq_by_rank(input, b, a, ranks, batch)
    residuals = wrap(empty.copy())
    if m > n and driver != "gelsy" and (driver == "gels" or full):
        E = mm(input, X) - b
        residuals = reduction.sum(E * E, -2)
    if vector:
        X = getitem(X, (Ellipsis, 0))
    return lstsq_result(X, residuals, rank, sv)


def _lstsq_by_rank(A, B, a, ranks, batch):
    """Each matrix of the broadcast batch solved on its own: rank 0 gives zeros, full rank
    the QR path, lower ranks _low_rank_lstsq."""
    m, n = a.shape[-2:]
    k = shape_of(B)[-1]

    def one(Ai, Bi, ai, r):
        if r == 0:    # zeros, still recorded (a zero gradient), as PyTorch's
            return mm(mT(Ai) * 0, Bi)
        return _full_rank_lstsq(Ai, Bi) if r == min(m, n) else _low_rank_lstsq(Ai, Bi, ai, r)

    if not batch:
        return one(A, B, a, int(ranks))
    zeros = np.zeros(batch + (1, 1), dtype=a.dtype)
    As = shape.reshape(A + zeros, (-1, m, n))
    Bs = shape.reshape(B + zeros, (-1, m, k))
    a_all = np.broadcast_to(a, batch + (m, n)).reshape(-1, m, n)
    r_all = np.broadcast_to(ranks, batch).reshape(-1)
    parts = [one(getitem(As, i), getitem(Bs, i), a_all[i], int(r)) for i, r in enumerate(r_all)]
    return shape.reshape(shape.stack(parts), batch + (n, k))


def lu_factor_ex(A, *, pivot=True, check_errors=False):
    """``(LU, pivots, info)``: lu_factor plus info (int32, batch-shaped), the 1-based index of
    the first zero on U's diagonal (0 if none). Raises for a singular matrix if check_errors.

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.lu_factor_ex(tg.tensor([[1.0, 2.0], [2.0, 4.0]])).info
        tensor(2, dtype=tapegrad.int32)
    """
    LU, piv = lu_factor_unchecked(A, pivot, "linalg.lu_factor_ex")
    if STATE.vmap_levels:       # Note [Batched tensors]: U's diagonal is read below
        info = batched_zero_pivots(LU, "linalg.lu_factor_ex", check_errors)
        if info is not None:
            return lu_factor_ex_result(LU, piv, info)
    lu = array_of(LU)
    info = zero_pivots(lu)
    if check_errors and info.any():
        b = int(np.flatnonzero(info)[0])
        raise LinAlgError(f"linalg.lu_factor_ex: {batch_prefix(lu, b)}U[{info.flat[b]}, "
                          f"{info.flat[b]}] is zero: the matrix is singular.")
    return lu_factor_ex_result(LU, piv, wrap(info))


def _unpack(LU, pivots, name):
    """(P, L, U) of a packed LU factorization and its 1-based pivots."""
    sl = check_matrix(name, LU, square=False, arg="LU")
    m, n = sl[-2:]
    k = min(m, n)
    piv = array_of(pivots)
    if piv.dtype.kind not in "iu" or piv.shape != tuple(sl[:-2]) + (k,):
        raise ShapeError(f"{name}: pivots must be integers of shape {tuple(sl[:-2]) + (k,)} "
                         f"for LU of shape {tuple(sl)}, got {piv.dtype} {piv.shape}")
    if STATE.vmap_levels:       # Note [Batched tensors]: the pivots are read below
        P = batched_call("lu_permutation", (pivots,), {"m": m, "dtype": dtype_of(LU)})
        if P is not None:
            return (P,) + _unpack_LU(LU, m, k)
    if piv.size and (piv.min() < 1 or piv.max() > m):
        raise ArgumentError(f"{name}: pivots must be 1-based row indices in [1, {m}]")
    P = _permutation(piv, m, dtype_of(LU))
    return (P,) + _unpack_LU(LU, m, k)


def _unpack_LU(LU, m, k):
    L = getitem(tri(LU, lower=True, k=-1), (Ellipsis, slice(None), slice(0, k))) + np.eye(
        m, k, dtype=dtype_of(LU))
    U = getitem(tri(LU, lower=False), (Ellipsis, slice(0, k), slice(None)))
    return L, U


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    """``(P, L, U)`` from lu_factor's ``(LU, pivots)``; an output not asked for is empty.

    Example:
        >>> import tapegrad as tg
        >>> P, L, U = tg.lu_unpack(*tg.linalg.lu_factor(tg.tensor([[1.0, 2.0], [3.0, 4.0]])))
        >>> P @ L @ U
        tensor([[1., 2.],
                [3., 4.]])
    """
    P, L, U = _unpack(LU_data, LU_pivots, "lu_unpack")
    dt = dtype_of(LU_data)
    if not unpack_data:
        L, U = wrap(np.zeros(0, dtype=dt)), wrap(np.zeros(0, dtype=dt))
    P = P if isinstance(P, Tensor) else wrap(P)       # (a tensor already inside vmap)
    return lu_unpack_result(P if unpack_pivots else wrap(np.zeros(0, dtype=dt)), L, U)


def linalg_lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    """Solve A X = B (X A = B when left=False; with A^T when adjoint) from A's
    ``lu_factor``: two triangular solves and a permutation.

    Example:
        >>> import tapegrad as tg
        >>> LU, piv = tg.linalg.lu_factor(tg.tensor([[2.0, 0.0], [0.0, 4.0]]))
        >>> tg.linalg.lu_solve(LU, piv, tg.tensor([[2.0], [2.0]]))
        tensor([[1.0000],
                [0.5000]])
    """
    name = "linalg.lu_solve"
    sl = check_matrix(name, LU, arg="LU")
    sb = check_matrix(name, B, square=False, arg="B")
    check_float(name, LU, B)
    if (sb[-2] if left else sb[-1]) != sl[-1]:
        raise ShapeError(f"{name}: Incompatible shapes of A {tuple(sl)} and B {tuple(sb)} for "
                         f"the equation {'AX = B' if left else 'XA = B'}")
    batch_shape(name, sl, sb)
    P, L, U = _unpack(LU, pivots, name)
    if not left:                  # X A = B  <=>  A^T X^T = B^T
        B, adjoint = mT(B), not adjoint
    if adjoint:                   # A^T = U^T L^T P^T
        X = mm(P, _solve_tri(mT(L), _solve_tri(mT(U), B, False), True, True))
    else:
        X = _solve_tri(U, _solve_tri(L, mm(mT(P), B), False, True), True)
    return X if left else mT(X)


def lu_solve(input, LU_data, LU_pivots):
    """torch.lu_solve's spelling: ``linalg.lu_solve(LU_data, LU_pivots, b)``.

    Example:
        >>> import tapegrad as tg
        >>> tg.lu_solve(tg.tensor([[3.0]]), *tg.linalg.lu_factor(tg.tensor([[2.0]])))
        tensor([[1.5000]])
    """
    return linalg_lu_solve(LU_data, LU_pivots, input)


def cholesky_inverse(input, upper=False):
    """The inverse of A = L L^T (U^T U when upper) from its Cholesky factor.

    Example:
        >>> import tapegrad as tg
        >>> tg.cholesky_inverse(tg.tensor([[2.0, 0.0], [0.0, 1.0]]))
        tensor([[0.2500, 0.0000],
                [0.0000, 1.0000]])
    """
    sl = check_matrix("cholesky_inverse", input, arg="L")
    check_float("cholesky_inverse", input)
    return cholesky_solve(np.eye(sl[-1], dtype=dtype_of(input)), input, upper)


def tensorinv(input, ind=2):
    """The inverse of A seen as a linear map from its last dims to its first ``ind`` dims:
    result shape A.shape[ind:] + A.shape[:ind].

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.tensorinv(tg.eye(4).reshape(4, 2, 2), ind=1).shape
        tapegrad.Size([2, 2, 4])
    """
    s = tuple(shape_of(input))
    if not isinstance(ind, (int, np.integer)) or ind <= 0:
        raise ArgumentError(f"linalg.tensorinv: ind must be a positive int, got {ind!r}")
    rows, cols = int(np.prod(s[:ind])), int(np.prod(s[ind:]))
    if rows != cols:
        raise ShapeError(f"linalg.tensorinv: the product of the first ind={ind} dims of shape "
                         f"{s} ({rows}) must equal the product of the rest ({cols})")
    return shape.reshape(inv(shape.reshape(input, (rows, cols))), s[ind:] + s[:ind])


def tensorsolve(input, other, dims=None):
    """The X with tensordot(A, X, X.ndim) = B; ``dims`` of A are moved to the end first.

    Example:
        >>> import tapegrad as tg
        >>> A = tg.eye(6).reshape(2, 3, 6)
        >>> tg.linalg.tensorsolve(A, tg.ones(2, 3)).shape
        tapegrad.Size([6])
    """
    sa = tuple(shape_of(input))
    if dims is not None:
        from ..shape import normalize_dim
        moved = [normalize_dim(d, len(sa), "linalg.tensorsolve") for d in dims]
        rest = tuple(d for d in range(len(sa)) if d not in moved)
        input = shape.permute(input, rest + tuple(moved))
        sa = tuple(shape_of(input))
    sb = tuple(shape_of(other))
    rows, rest = int(np.prod(sb)), sa[len(sb):]
    if sa[:len(sb)] != sb or int(np.prod(rest)) != rows:
        raise ShapeError(f"linalg.tensorsolve: input of shape {sa} must start with other's "
                         f"shape {sb} "
                         f"and its remaining dims {rest} must hold {rows} elements")
    x = solve(shape.reshape(input, (rows, rows)), shape.reshape(other, (rows,)))
    return shape.reshape(x, rest)


__all__ = ["cholesky_inverse", "lu_unpack", "lu_solve"]   # tapegrad.<name>
# NOTE: tapegrad.lu_solve is torch.lu_solve(b, LU_data, LU_pivots), right-hand side first.
METHODS = {"cholesky_inverse": cholesky_inverse, "lu_solve": lu_solve}
LINALG = {"lstsq": lstsq, "lu_factor_ex": lu_factor_ex, "lu_solve": linalg_lu_solve,
          "tensorinv": tensorinv, "tensorsolve": tensorsolve}
