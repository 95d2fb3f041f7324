"""Decompositions: cholesky, qr, lu, eigh, svd and what is built on them.

# Note [Packed outputs]
The registry records one output per node, but qr, lu_factor, eigh, svd (and slogdet, in
solve.py) have several differentiable outputs. Their primitive's forward returns one array
holding all of them (eigh: (..., n + 1, n), the eigenvalues in the first row and the
eigenvectors below), and the public function slices it into the named outputs with recorded
view ops (getitem). Each output's cotangent then arrives inside the packed cotangent, with
zeros where an output was not used (the getitem rule puts them there, and the engine adds up
the slices), and the VJP unpacks it; the JVP returns a packed tangent. Integer outputs (lu's
pivots) ride along as exact floats and come out detached.

Gradients of eigh and svd are undefined where eigen/singular values repeat: the rules then
return what the formula gives (inf or nan, as PyTorch does) with a one-time warning. Their
gradients treat the input as symmetric (eigh, cholesky): the cotangent returned is the
symmetric one, as PyTorch's.
"""
from collections import namedtuple

import numpy as np

from ..._core.errors import ArgumentError
from ..._core.state import STATE
from ..._core.tensor import Tensor, wrap
from .. import shape
from ..indexing import getitem
from ..registry import OpDef, apply_unary, batched_call, register
from ._common import (LinAlgError, batch_items, batch_prefix, check_float, check_matrix, diag,
                      diag_embed, dtype_of, mm, mT, shape_of, sym, tri)
from .solve import _solve_tri

qr_result = namedtuple("linalg_qr", ["Q", "R"])
lu_result = namedtuple("linalg_lu", ["P", "L", "U"])
lu_factor_result = namedtuple("linalg_lu_factor", ["LU", "pivots"])
cholesky_ex_result = namedtuple("linalg_cholesky_ex", ["L", "info"])


def _data(x):
    return x._data if isinstance(x, Tensor) else x


def _rows(x, start, stop):
    return getitem(x, (Ellipsis, slice(start, stop), slice(None)))


def _block(x, r0, r1, c0, c1):
    return getitem(x, (Ellipsis, slice(r0, r1), slice(c0, c1)))


def _pad_cols(x, width):
    """x (..., r, c) with zero columns appended up to ``width``."""
    c = shape_of(x)[-1]
    if c == width:
        return x
    zeros = np.zeros(tuple(shape_of(x)[:-1]) + (width - c,), dtype=dtype_of(x))
    return shape.cat([x, zeros], -1)


# ---- cholesky ------------------------------------------------------------------------------
def _cholesky_forward(a, check=True):
    try:
        return np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        from scipy.linalg import lapack
        potrf = lapack.get_lapack_funcs("potrf", (a,))
        out = np.zeros_like(a)
        flat = out.reshape((-1,) + a.shape[-2:])
        for b, m in batch_items(a):
            l, info = potrf(m, lower=True, clean=True)
            if info > 0:
                if check:
                    raise LinAlgError(
                        f"linalg.cholesky: {batch_prefix(a, b)}The factorization could not be "
                        "completed because the input is not positive-definite (the leading "
                        f"minor of order {info} is not positive-definite).") from None
                flat[b] = np.nan
            else:
                flat[b] = l
        return out


def _phi(x):
    """The lower triangle with half the diagonal."""
    return tri(x, lower=True) - diag_embed(diag(x)) * 0.5


def cholesky_vjp(ctx, g):
    """A = L L^T: gA = sym(L^{-T} phi(L^T g) L^{-1}), phi = lower triangle, half diagonal."""
    L = ctx.out
    Lt = mT(L)
    y = _solve_tri(Lt, _phi(mm(Lt, g)), True)          # L^{-T} phi(L^T g)
    return (sym(mT(_solve_tri(Lt, mT(y), True))),)     # ... L^{-1}


def cholesky_jvp(ctx, t):
    """dL = L phi(L^{-1} sym(dA) L^{-T})."""
    L = ctx.out
    y = _solve_tri(L, sym(t), False)                  # L^{-1} dA
    return mm(L, _phi(mT(_solve_tri(L, mT(y), False))))


CHOLESKY = register(OpDef("cholesky", _cholesky_forward, cholesky_vjp, cholesky_jvp,
                          save=("out",)))


def linalg_cholesky(input, *, upper=False):
    """The Cholesky factor L (lower; U = L^T when upper) of each symmetric positive-definite
    matrix, A = L L^T. Only the lower triangle of A is read (the upper one when upper, as in
    LAPACK and PyTorch); the gradient is symmetric.

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.cholesky(tg.tensor([[4.0, 2.0], [2.0, 2.0]]))
        tensor([[2., 0.],
                [1., 1.]])
    """
    check_matrix("linalg.cholesky", input)
    check_float("linalg.cholesky", input)
    # NOTE: upper factors A^T, so that A's upper triangle is the one read (U^T U = A).
    L = apply_unary(CHOLESKY, mT(input) if upper else input)
    return mT(L) if upper else L


def cholesky_ex(input, *, upper=False, check_errors=False):
    """``(L, info)``: info (int32, batch-shaped) is 0, or the order of the leading minor that is
    not positive-definite (L is then nan for that matrix). Raises like cholesky if
    check_errors.

    NOTE: the failed factor is all nan, where PyTorch returns LAPACK's partial factor (the
    columns before the failing minor, and what the failed step left).

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.cholesky_ex(tg.tensor([[1.0, 2.0], [2.0, 1.0]])).info
        tensor(2, dtype=tapegrad.int32)
    """
    check_matrix("linalg.cholesky_ex", input)
    check_float("linalg.cholesky_ex", input)
    source = mT(input) if upper else input       # as in linalg_cholesky
    L = apply_unary(CHOLESKY, source, {"check": bool(check_errors)})
    if STATE.vmap_levels:       # Note [Batched tensors]: the factor is read below
        info = batched_call("ex_info", (source, L), {"kind": "potrf"})
        if info is not None:
            return cholesky_ex_result(mT(L) if upper else L, info)
    a = np.asarray(_data(source))
    info = np.zeros(a.shape[:-2], dtype=np.int32)
    if np.isnan(_data(L)).any():
        from scipy.linalg import lapack
        potrf = lapack.get_lapack_funcs("potrf", (a,))
        flat = info.reshape(-1)
        for b, m in batch_items(a):
            flat[b] = max(int(potrf(m, lower=True)[1]), 0)
    return cholesky_ex_result(mT(L) if upper else L, wrap(info))


def cholesky(input, upper=False):
    """torch.cholesky's spelling (upper positional): see :func:`tapegrad.linalg.cholesky`.

    Example:
        >>> import tapegrad as tg
        >>> tg.cholesky(tg.tensor([[4.0]]))
        tensor([[2.]])
    """
    return linalg_cholesky(input, upper=upper)


# ---- qr ------------------------------------------------------------------------------------
def _qr_forward(a, mode):
    m, n = a.shape[-2:]
    q, r = np.linalg.qr(a, mode=mode)
    w = max(q.shape[-1], n)
    out = np.zeros(a.shape[:-2] + (m + r.shape[-2], w), dtype=a.dtype)
    out[..., :m, :q.shape[-1]] = q
    out[..., m:, :n] = r
    return out


def _rsolve_upper_t(Y, U):
    """Y U^{-T} for upper triangular U (a triangular solve)."""
    return mT(_solve_tri(U, mT(Y), True))


def _qr_tall_vjp(Q, R, gQ, gR):
    """A = QR with m >= n: gA = (gQ + Q copyltu(M)) R^{-T}, M = R gR^T - gQ^T Q."""
    M = mm(R, mT(gR)) - mm(mT(gQ), Q)
    copyltu = tri(M, lower=True) + mT(tri(M, lower=True, k=-1))
    return _rsolve_upper_t(gQ + mm(Q, copyltu), R)


def _qr_parts(ctx):
    m, n = shape_of(ctx.x)[-2:]
    if ctx.mode == "complete" and m > n:
        raise ArgumentError("linalg.qr: the QR decomposition is not differentiable when "
                            f"mode='complete' and nrows > ncols (got {m} x {n}); use "
                            "mode='reduced'")
    k = min(m, n)
    return m, n, k, _block(ctx.out, 0, m, 0, k), _block(ctx.out, m, m + k, 0, n)


def qr_vjp(ctx, g):
    """Tall: _qr_tall_vjp; wide (m < n): A = [X Y], R = [U Q^T Y], the square rule on X."""
    m, n, k, Q, R = _qr_parts(ctx)
    gQ, gR = _block(g, 0, m, 0, k), _block(g, m, m + k, 0, n)
    if m >= n:
        return (_qr_tall_vjp(Q, R, gQ, gR),)
    Y = _block(ctx.x, 0, m, m, n)
    gV = _block(gR, 0, m, m, n)
    gX = _qr_tall_vjp(Q, _block(R, 0, m, 0, m), gQ + mm(Y, mT(gV)), _block(gR, 0, m, 0, m))
    return (shape.cat([gX, mm(Q, gV)], -1),)


def _qr_tall_jvp(Q, R, t):
    W = mT(_solve_tri(mT(R), mT(t), False))            # t R^{-1}
    C = mm(mT(Q), W)
    low = tri(C, lower=True, k=-1)
    CO = C - (low - mT(low))                           # dR R^{-1}, upper triangular
    return W - mm(Q, CO), mm(CO, R)


def qr_jvp(ctx, t):
    m, n, k, Q, R = _qr_parts(ctx)
    if m >= n:
        dQ, dR = _qr_tall_jvp(Q, R, t)
    else:
        dQ, dU = _qr_tall_jvp(Q, _block(R, 0, m, 0, m), _block(t, 0, m, 0, m))
        dV = mm(mT(dQ), _block(ctx.x, 0, m, m, n)) + mm(mT(Q), _block(t, 0, m, m, n))
        dR = shape.cat([dU, dV], -1)
    w, rows = shape_of(ctx.out)[-1], shape_of(ctx.out)[-2]
    dR = shape.cat([dR, np.zeros(tuple(shape_of(dR)[:-2]) + (rows - m - k, n),
                                 dtype=dtype_of(t))], -2) if rows - m > k else dR
    return shape.cat([_pad_cols(dQ, w), _pad_cols(dR, w)], -2)


QR = register(OpDef("qr", _qr_forward, qr_vjp, qr_jvp, save=("x", "out")))


def linalg_qr(A, mode="reduced"):
    """``(Q, R)`` with A = Q R, Q with orthonormal columns, R upper triangular. ``mode``:
    'reduced' (k = min(m, n) columns), 'complete' (Q square) or 'r' (Q empty).

    NOTE: mode='r' is differentiable here (Q is computed anyway), where PyTorch's backward
    raises and asks for mode='reduced'.

    Example:
        >>> import tapegrad as tg
        >>> Q, R = tg.linalg.qr(tg.tensor([[3.0, 1.0], [4.0, 2.0]])); R
        tensor([[-5.0000, -2.2000],
                [ 0.0000,  0.4000]])
    """
    s = check_matrix("linalg.qr", A, square=False)
    check_float("linalg.qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise ArgumentError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    m, n = s[-2:]
    kq = m if mode == "complete" else min(m, n)
    packed = apply_unary(QR, A, {"mode": "complete" if mode == "complete" else "reduced"})
    R = _block(packed, m, m + kq, 0, n)
    if mode == "r":
        return qr_result(wrap(np.zeros(0, dtype=dtype_of(A))), R)
    return qr_result(_block(packed, 0, m, 0, kq), R)


def qr(input, some=True):
    """torch.qr's spelling: ``linalg.qr(A, 'reduced' if some else 'complete')``.

    Example:
        >>> import tapegrad as tg
        >>> tg.qr(tg.tensor([[2.0]])).R
        tensor([[2.]])
    """
    return linalg_qr(input, "reduced" if some else "complete")


# ---- lu ------------------------------------------------------------------------------------
def _lu_forward(a):
    import warnings
    from scipy.linalg import lu_factor as scipy_lu_factor
    m, n = a.shape[-2:]
    k = min(m, n)
    out = np.zeros(a.shape[:-2] + (m + 1, n), dtype=a.dtype)
    if a.size:
        with warnings.catch_warnings():         # a singular U is not an error for lu
            warnings.simplefilter("ignore")
            lu, piv = scipy_lu_factor(a, check_finite=False)
        out[..., :m, :] = lu
        out[..., m, :k] = piv + 1                # 1-based, as PyTorch's pivots
    elif k:
        out[..., m, :k] = np.arange(1, k + 1)
    return out


def _permutation(pivots, m, dtype):
    """P (..., m, m) with A = P L U from 1-based LAPACK pivots (..., k)."""
    piv = np.asarray(pivots).astype(np.int64) - 1
    perm = np.broadcast_to(np.arange(m), piv.shape[:-1] + (m,)).copy()
    for i in range(piv.shape[-1]):
        j = piv[..., i:i + 1]
        pi, pj = perm[..., i:i + 1].copy(), np.take_along_axis(perm, j, -1)
        perm[..., i:i + 1] = pj
        np.put_along_axis(perm, j, pi, -1)
    return np.swapaxes(np.eye(m, dtype=dtype)[perm], -1, -2)


def _lu_parts(ctx):
    m, n = shape_of(ctx.x)[-2:]
    k = min(m, n)
    out = _data(ctx.out)
    P = _permutation(out[..., m, :k], m, out.dtype)
    LU = _rows(ctx.out, 0, m)
    L = _block(tri(LU, lower=True, k=-1), 0, m, 0, k) + np.eye(m, k, dtype=out.dtype)
    U = _block(tri(LU, lower=False), 0, k, 0, n)
    return m, n, k, P, L, U


def lu_vjp(ctx, g):
    """A = P L U: for square A, gA = P L^{-T} (tril(L^T gL, -1) + triu(gU U^T)) U^{-T};
    the extra rows of L (tall) or columns of U (wide) add their own terms first."""
    m, n, k, P, L, U = _lu_parts(ctx)
    gLU = _rows(g, 0, m)
    gL = _block(tri(gLU, lower=True, k=-1), 0, m, 0, k)
    gU = _block(tri(gLU, lower=False), 0, k, 0, n)
    L1, U1 = _block(L, 0, k, 0, k), _block(U, 0, k, 0, k)
    gL1, gU1, extra = _block(gL, 0, k, 0, k), _block(gU, 0, k, 0, k), None
    if m > n:
        extra = _rsolve_upper_t(_block(gL, k, m, 0, k), U1)     # gA2 = gL2 U^{-T}
        gU1 = gU1 - mm(mT(_block(L, k, m, 0, k)), extra)
    elif n > m:
        extra = _solve_tri(mT(L1), _block(gU, 0, k, k, n), True, True)   # L^{-T} gU2
        gL1 = gL1 - mm(extra, mT(_block(U, 0, k, k, n)))
    mid = tri(mm(mT(L1), gL1), lower=True, k=-1) + tri(mm(gU1, mT(U1)), lower=False)
    gA = _rsolve_upper_t(_solve_tri(mT(L1), mid, True, True), U1)
    if extra is not None:
        gA = shape.cat([gA, extra], -2 if m > n else -1)
    return (mm(P, gA),)


def lu_jvp(ctx, t):
    m, n, k, P, L, U = _lu_parts(ctx)
    t = mm(mT(P), t)
    L1, U1 = _block(L, 0, k, 0, k), _block(U, 0, k, 0, k)
    C = mT(_solve_tri(mT(U1), mT(_solve_tri(L1, _block(t, 0, k, 0, k), False, True)), False))
    dL, dU = mm(L1, tri(C, lower=True, k=-1)), mm(tri(C, lower=False), U1)
    if m > n:
        dL2 = mT(_solve_tri(mT(U1), mT(_block(t, k, m, 0, k) - mm(_block(L, k, m, 0, k), dU)),
                            False))
        dL = shape.cat([dL, dL2], -2)
    elif n > m:
        dU2 = _solve_tri(L1, _block(t, 0, k, k, n) - mm(dL, _block(U, 0, k, k, n)), False, True)
        dU = shape.cat([dU, dU2], -1)
    dLU = _pad_cols(dL, n) + shape.cat(
        [dU, np.zeros(tuple(shape_of(dU)[:-2]) + (m - k, n), dtype=dtype_of(t))], -2)
    return shape.cat([dLU, np.zeros(tuple(shape_of(dLU)[:-2]) + (1, n), dtype=dtype_of(t))], -2)


LU_FACTOR = register(OpDef("lu_factor", _lu_forward, lu_vjp, lu_jvp, save=("x", "out")))


def _lu_packed(A, name):
    check_matrix(name, A, square=False)
    check_float(name, A)
    return apply_unary(LU_FACTOR, A)


def zero_pivots(lu):
    """The 1-based index of the first zero on the diagonal of each U in packed LU (int32,
    batch-shaped; 0 where there is none)."""
    k = min(lu.shape[-2:])
    if k == 0:                    # empty matrices: nothing to pivot (argmax needs an entry)
        return np.zeros(lu.shape[:-2], dtype=np.int32)
    zero = np.diagonal(lu, axis1=-2, axis2=-1)[..., :k] == 0
    return np.where(zero.any(-1), zero.argmax(-1) + 1, 0).astype(np.int32)


def batched_zero_pivots(LU, name, check=True):
    """zero_pivots of a batched LU inside vmap (None when no vmap rule applies); with
    ``check``, raises LinAlgError when some example's U has a zero on its diagonal."""
    from ..._core.batched import physical
    info = batched_call("zero_pivots", (LU,), {})
    if info is not None and check and physical(info)._data.any():
        raise LinAlgError(f"{name}: some example's U has a zero on its diagonal: the matrix is "
                          "singular, and using it on lu_solve would divide by zero. Consider "
                          "linalg.lu_factor_ex(A), which returns the info instead.")
    return info


def lu_factor_unchecked(A, pivot, name):
    """``(LU, pivots)`` also for singular A (lu_factor_ex)."""
    if not pivot:
        raise ArgumentError(f"{name}: pivot=False is not supported (on CPU PyTorch doesn't "
                            "either)")
    packed = _lu_packed(A, name)
    m, n = shape_of(A)[-2:]
    if STATE.vmap_levels:       # Note [Batched tensors]: the pivots' row, by ops (no read)
        piv = getitem(packed.detach(), (Ellipsis, m, slice(0, min(m, n)))).to(np.int32)
        return lu_factor_result(_rows(packed, 0, m), piv)
    piv = _data(packed)[..., m, :min(m, n)].astype(np.int32)
    return lu_factor_result(_rows(packed, 0, m), wrap(piv))


def lu_factor(A, *, pivot=True):
    """``(LU, pivots)``: L (unit diagonal, not stored) and U packed in one matrix, and the
    1-based int32 row pivots, as LAPACK's getrf and PyTorch give them. Raises LinAlgError if
    a U has a zero on its diagonal, as PyTorch does (lu and lu_factor_ex don't).

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.lu_factor(tg.tensor([[1.0, 2.0], [3.0, 4.0]])).pivots
        tensor([2, 2], dtype=tapegrad.int32)
    """
    out = lu_factor_unchecked(A, pivot, "linalg.lu_factor")
    if STATE.vmap_levels:       # Note [Batched tensors]: U's diagonal is read below
        if batched_zero_pivots(out.LU, "linalg.lu_factor") is not None:
            return out
    lu = _data(out.LU)
    info = zero_pivots(lu)
    if info.any():
        b = int(np.flatnonzero(info)[0])
        i = info.flat[b]
        raise LinAlgError(f"linalg.lu_factor: {batch_prefix(lu, b)}U[{i},{i}] is zero and "
                          "using it on lu_solve would result in a division by zero. If you "
                          "still want to perform the factorization, consider calling "
                          "linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")
    return out


def lu(A, *, pivot=True):
    """``(P, L, U)`` with A = P L U: P a permutation, L unit lower trapezoidal (m, k), U upper
    trapezoidal (k, n), k = min(m, n).

    Example:
        >>> import tapegrad as tg
        >>> P, L, U = tg.linalg.lu(tg.tensor([[1.0, 2.0], [3.0, 4.0]])); U
        tensor([[3.0000, 4.0000],
                [0.0000, 0.6667]])
    """
    if not pivot:
        raise ArgumentError("linalg.lu: pivot=False is not supported (on CPU PyTorch doesn't "
                            "either)")
    packed = _lu_packed(A, "linalg.lu")
    m, n = shape_of(A)[-2:]
    k = min(m, n)
    data = _data(packed)
    P = _permutation(data[..., m, :k], m, data.dtype)
    LU = _rows(packed, 0, m)
    L = _block(tri(LU, lower=True, k=-1), 0, m, 0, k) + np.eye(m, k, dtype=data.dtype)
    return lu_result(wrap(P), L, _block(tri(LU, lower=False), 0, k, 0, n))


from . import factored  # noqa: E402  (solves from factorizations; imports this module)
from .factored import cholesky_inverse, lu_solve, lu_unpack  # noqa: E402,F401
from .spectral import eigh, eigvalsh, linalg_svd, svd, svdvals  # noqa: E402

# NOTE: tapegrad.cholesky, qr and svd keep torch.cholesky's, torch.qr's and torch.svd's older
# signatures (upper and some positional; svd returns V), unlike their torch.linalg namesakes.
__all__ = ["cholesky", "qr", "svd"] + factored.__all__   # exported as tapegrad.<name>
METHODS = {"cholesky": cholesky, "qr": qr, "svd": svd, **factored.METHODS}   # Tensor methods
LINALG = {   # tapegrad.linalg.<name> -> function
    "cholesky": linalg_cholesky, "cholesky_ex": cholesky_ex, "qr": linalg_qr, "lu": lu,
    "lu_factor": lu_factor, "eigh": eigh, "eigvalsh": eigvalsh, "svd": linalg_svd,
    "svdvals": svdvals, **factored.LINALG,
}
