"""Spectral decompositions: eigh and svd (and eigvalsh, svdvals on them). Packed outputs as
in Note [Packed outputs] (decomp.py); re-exported by decomp.py."""
from collections import namedtuple

import numpy as np

from ..._core.batched import physical
from ..._core.errors import ArgumentError
from ..._core.tensor import Tensor, wrap
from .. import shape
from ..indexing import getitem
from ..registry import OpDef, apply_unary, register
from ._common import (check_float, check_matrix, diag, diag_embed, dtype_of, mm, mT, shape_of,
                      np_svd, sym, unsqueeze, warn_once)

eigh_result = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
svd_result = namedtuple("linalg_svd", ["U", "S", "Vh"])
torch_svd_result = namedtuple("svd", ["U", "S", "V"])


def _data(x):
    return x._data if isinstance(x, Tensor) else x


def _block(x, r0, r1, c0, c1):
    return getitem(x, (Ellipsis, slice(r0, r1), slice(c0, c1)))


def _row(x, r, c1):
    return getitem(x, (Ellipsis, r, slice(0, c1)))


def _inverse_gaps(v, what, noun, zero_cotangent=False):
    """F[i, j] = 1 / (v[j] - v[i]) off the diagonal, 0 on it; warns once when two values
    are equal (the gradient of the vectors is then undefined: inf or nan).

    With ``zero_cotangent`` (see :func:`_vector_term`) F is 0 where two values are equal: the
    term is 0 in value either way, and eigvalsh/svdvals, whose vector cotangents are
    structurally zero, keep finite higher derivatives at repeated values."""
    gaps = unsqueeze(v, -2) - unsqueeze(v, -1)
    if zero_cotangent:
        return _safe_reciprocal(gaps)
    eye = np.eye(shape_of(v)[-1], dtype=dtype_of(v))
    if np.any((_data(gaps) == 0) & (eye == 0)):
        warn_once(what, f"{what}: repeated {noun}; the derivative of the vectors is "
                  "undefined there and comes out inf or nan (as in PyTorch). Use a function of "
                  "the vectors that doesn't depend on the choice of basis, or perturb the input.")
    with np.errstate(divide="ignore", invalid="ignore"):
        return (1 - eye) / (gaps + eye)


def _safe_reciprocal(x):
    """1 / x where x != 0, 0 where x == 0 (the derivative there is 0 too)."""
    keep = (_data(x) != 0).astype(dtype_of(x))
    return keep / (x + (1 - keep))


def _vector_term(g):
    """How a rule treats the cotangent g of eigen/singular vectors: "skip" where its term is
    exactly 0 and nothing differentiates it later (all zeros, and a plain array or a Tensor
    that doesn't require grad); "zero" for zeros that require grad or carry a tangent
    (create_graph=True and a later derivative varies g: the term must stay in the graph, or
    every higher derivative through the vectors is lost); "full" otherwise."""
    # (inside vmap: the whole batch's cotangents, so one example's nonzero ones count for all)
    if np.any(_data(physical(g)) != 0):
        return "full"
    return "zero" if isinstance(g, Tensor) and (g.requires_grad or g._fw is not None) \
        else "skip"


# ---- eigh ----------------------------------------------------------------------------------
def _eigh_forward(a, UPLO):
    w, v = np.linalg.eigh(a, UPLO=UPLO)
    return np.concatenate([w[..., None, :], v], axis=-2)


def eigh_vjp(ctx, g):
    """A = V diag(w) V^T: gA = V (diag(gw) + F * skew(V^T gV)) V^T, F_ij = 1 / (w_j - w_i)
    (symmetric, as PyTorch's)."""
    n = shape_of(ctx.out)[-1]
    w, V = getitem(ctx.out, (Ellipsis, 0, slice(None))), _block(ctx.out, 1, n + 1, 0, n)
    gw, gV = getitem(g, (Ellipsis, 0, slice(None))), _block(g, 1, n + 1, 0, n)
    X = diag_embed(gw)
    term = _vector_term(gV)
    if term != "skip":   # eigenvalues alone: no 1 / (w_j - w_i), defined at repeated values too
        M = mm(mT(V), gV)
        F = _inverse_gaps(w, "linalg.eigh backward", "eigenvalues", term == "zero")
        X = X + (M - mT(M)) * 0.5 * F
    return (mm(mm(V, X), mT(V)),)


def eigh_jvp(ctx, t):
    """dw = diag(V^T sym(dA) V), dV = V (F * (V^T sym(dA) V))."""
    n = shape_of(ctx.out)[-1]
    w, V = getitem(ctx.out, (Ellipsis, 0, slice(None))), _block(ctx.out, 1, n + 1, 0, n)
    P = mm(mm(mT(V), sym(t)), V)
    dV = mm(V, P * _inverse_gaps(w, "linalg.eigh forward-mode", "eigenvalues"))
    return shape.cat([unsqueeze(diag(P), -2), dV], -2)


EIGH = register(OpDef("eigh", _eigh_forward, eigh_vjp, eigh_jvp, save=("out",)))


def eigh(input, UPLO="L"):
    """``(eigenvalues, eigenvectors)`` of symmetric matrices, eigenvalues ascending; only the
    UPLO ('L' or 'U') triangle is read. Eigenvectors are unique only up to sign, and their
    gradient is undefined at repeated eigenvalues.

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.eigh(tg.tensor([[2.0, 0.0], [0.0, 1.0]])).eigenvalues
        tensor([1., 2.])
    """
    check_matrix("linalg.eigh", input)
    check_float("linalg.eigh", input)
    if UPLO not in ("L", "U"):
        raise ArgumentError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    n = shape_of(input)[-1]
    packed = apply_unary(EIGH, input, {"UPLO": UPLO})
    return eigh_result(getitem(packed, (Ellipsis, 0, slice(None))),
                       _block(packed, 1, n + 1, 0, n))


def eigvalsh(input, UPLO="L"):
    """The eigenvalues of symmetric matrices, ascending (see :func:`eigh`).

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.eigvalsh(tg.tensor([[1.0, 1.0], [1.0, 1.0]]))
        tensor([0., 2.])
    """
    return eigh(input, UPLO).eigenvalues


# ---- svd -----------------------------------------------------------------------------------
def _svd_layout(m, n, full):
    k = min(m, n)
    cu, rv = (m, n) if full else (k, k)
    return k, cu, rv, max(cu, n)


def _svd_forward(a, full_matrices):
    m, n = a.shape[-2:]
    k, cu, rv, w = _svd_layout(m, n, full_matrices)
    out = np.zeros(a.shape[:-2] + (m + 1 + rv, w), dtype=a.dtype)
    if a.size:
        u, s, vh = np_svd("linalg.svd", a, full_matrices=full_matrices)
        out[..., :m, :cu], out[..., m, :k], out[..., m + 1:, :n] = u, s, vh
    elif full_matrices:            # empty matrices: identities, as LAPACK would give
        out[..., :m, :m], out[..., m + 1:, :n] = np.eye(m), np.eye(n)
    return out


def _svd_parts(ctx, x):
    m, n = shape_of(ctx.x)[-2:]
    k = min(m, n)
    return (m, n, k, _block(x, 0, m, 0, k), _row(x, m, k),
            mT(_block(x, m + 1, m + 1 + k, 0, n)))


def svd_vjp(ctx, g):
    """A = U S V^T (reduced; extra columns of full matrices get no gradient, as in PyTorch):
    gA = U [diag(gS) + (F * (U^T gU - gU^T U)) S + S (F * (V^T gV - gV^T V))] V^T
       + (I - U U^T) gU S^{-1} V^T + U S^{-1} gV^T (I - V V^T),  F_ij = 1 / (s_j^2 - s_i^2)."""
    m, n, k, U, S, V = _svd_parts(ctx, ctx.out)
    _, _, _, gU, gS, gV = _svd_parts(ctx, g)
    inner = diag_embed(gS)
    tU, tV = _vector_term(gU), _vector_term(gV)
    if tU == tV == "skip":    # singular values alone: defined at repeated values too
        return (mm(mm(U, inner), mT(V)),)
    zero = "full" not in (tU, tV)     # the vector terms are 0 in value: keep them finite
    F = _inverse_gaps(S * S, "linalg.svd backward", "singular values", zero)
    if tU != "skip":
        Ut_gU = mm(mT(U), gU)
        inner = inner + F * (Ut_gU - mT(Ut_gU)) * unsqueeze(S, -2)
    if tV != "skip":
        Vt_gV = mm(mT(V), gV)
        inner = inner + unsqueeze(S, -1) * (F * (Vt_gV - mT(Vt_gV)))
    gA = mm(mm(U, inner), mT(V))
    if (m > k and tU != "skip") or (n > k and tV != "skip"):
        if zero:
            inv_s = _safe_reciprocal(unsqueeze(S, -2))
        else:
            if np.any(_data(S) == 0):
                warn_once("linalg.svd0", "linalg.svd backward: a zero singular value of a "
                          "non-square matrix; the gradient of U or V is undefined there (inf or "
                          "nan)")
            with np.errstate(divide="ignore", invalid="ignore"):
                inv_s = 1 / unsqueeze(S, -2)
        if m > k and tU != "skip":
            gA = gA + mm((gU - mm(U, Ut_gU)) * inv_s, mT(V))
        if n > k and tV != "skip":
            gA = gA + mm(U * inv_s, mT(gV - mm(V, Vt_gV)))
    return (gA,)


def svd_jvp(ctx, t):
    """dP = U^T dA V: dS = diag(dP), dU = U (F * (dP S + S dP^T)) + (I - U U^T) dA V S^{-1},
    dV = V (F * (S dP + dP^T S)) + (I - V V^T) dA^T U S^{-1}."""
    m, n, k, U, S, V = _svd_parts(ctx, ctx.out)
    F = _inverse_gaps(S * S, "linalg.svd forward-mode", "singular values")
    dP = mm(mm(mT(U), t), V)
    col, row = unsqueeze(S, -2), unsqueeze(S, -1)
    dU = mm(U, F * (dP * col + row * mT(dP)))
    dV = mm(V, F * (row * dP + mT(dP) * col))
    with np.errstate(divide="ignore", invalid="ignore"):
        if m > k:
            dU = dU + mm(t - mm(U, mm(mT(U), t)), V) / col
        if n > k:
            dV = dV + mm(mT(t) - mm(V, mm(mT(V), mT(t))), U) / col
    rows, w = shape_of(ctx.out)[-2:]
    batch = tuple(shape_of(t)[:-2])
    z = np.zeros(batch + (rows, w), dtype=dtype_of(t))
    top = shape.cat([dU, z[..., :m, :w - k]], -1)
    mid = unsqueeze(shape.cat([diag(dP), z[..., 0, :w - k]], -1), -2)
    bottom = shape.cat([mT(dV), z[..., :k, :w - n]], -1)
    return shape.cat([top, mid, bottom, z[..., :rows - m - 1 - k, :]], -2)


SVD = register(OpDef("svd", _svd_forward, svd_vjp, svd_jvp, save=("x", "out")))


def _check_driver(name, driver):
    if driver is not None:
        raise ArgumentError(f"{name}: keyword argument `driver=` is only supported on CUDA "
                            f"inputs with cuSOLVER backend (got {driver!r}); leave it None")


def linalg_svd(A, full_matrices=True, *, driver=None):
    """``(U, S, Vh)`` with A = U diag(S) Vh, S descending. With full_matrices, U and Vh are
    square and their extra columns (rows) get no gradient, as in PyTorch. Singular vectors are
    unique only up to sign; their gradient is undefined at repeated singular values.
    ``driver`` must be None, as PyTorch's on CPU.

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.svd(tg.tensor([[3.0, 0.0], [0.0, -2.0]])).S
        tensor([3., 2.])
    """
    check_matrix("linalg.svd", A, square=False)
    check_float("linalg.svd", A)
    _check_driver("linalg.svd", driver)
    m, n = shape_of(A)[-2:]
    k, cu, rv, _ = _svd_layout(m, n, bool(full_matrices))
    packed = apply_unary(SVD, A, {"full_matrices": bool(full_matrices)})
    return svd_result(_block(packed, 0, m, 0, cu), _row(packed, m, k),
                      _block(packed, m + 1, m + 1 + rv, 0, n))


def svdvals(A, *, driver=None):
    """The singular values of A, descending.

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.svdvals(tg.tensor([[0.0, 2.0], [1.0, 0.0]]))
        tensor([2., 1.])
    """
    _check_driver("linalg.svdvals", driver)
    return linalg_svd(A, full_matrices=False).S


def svd(input, some=True, compute_uv=True):
    """torch.svd's spelling: ``(U, S, V)`` with A = U diag(S) V^T (V, not Vh); reduced unless
    some=False. With compute_uv=False, U and V are zeros.

    Example:
        >>> import tapegrad as tg
        >>> U, S, V = tg.svd(tg.tensor([[0.0, 2.0], [1.0, 0.0]]))
        >>> S, (U * S) @ V.T
        (tensor([2., 1.]), tensor([[0., 2.],
                [1., 0.]]))
    """
    U, S, Vh = linalg_svd(input, full_matrices=not some)
    if not compute_uv:
        m, n = shape_of(input)[-2:]
        batch = tuple(shape_of(input)[:-2])
        dt = dtype_of(input)
        return torch_svd_result(wrap(np.zeros(batch + (m, m), dt)), S,
                                wrap(np.zeros(batch + (n, n), dt)))
    return torch_svd_result(U, S, mT(Vh))
