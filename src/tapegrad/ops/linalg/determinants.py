"""Determinants: det, slogdet, logdet, batched over (..., n, n). Their gradients solve with A
or A^T (never forming an inverse); at a singular A, where that solve does not exist, they use
the adjugate, built from the SVD (det also at ill-conditioned A under create_graph=True)."""
from collections import namedtuple

import numpy as np

from ..._core.tensor import Tensor
from .. import elementwise as ew
from .. import reduction, shape
from ..indexing import getitem
from ..registry import OpDef, apply_unary, register
from ._common import (check_float, check_matrix, diag_embed, dtype_of, mm, mT, shape_of, trace,
                      unsqueeze)
from .solve import _solve
from .spectral import linalg_svd

slogdet_result = namedtuple("linalg_slogdet", ["sign", "logabsdet"])


def _det_forward(a):
    return np.asarray(np.linalg.det(a))


def det_vjp(ctx, g):
    """d det(A) = g adj(A)^T = g det(A) A^{-T}, with A^{-1} from a solve with A; the adjugate
    from the SVD where :func:`_svd_cofactors` says so."""
    A, out = ctx.x, ctx.out
    mask = _svd_cofactors(A, out)
    if mask is None:
        n = shape_of(A)[-1]
        scale = diag_embed(unsqueeze(g * out, -1) * np.ones(n, dtype=dtype_of(A)))
        return (mT(_solve(A, scale)),)
    return (_cofactors(A, out, mask) * unsqueeze(unsqueeze(g, -1), -1),)


def _cofactors(A, out, mask):
    """adj(A)^T: from the SVD where mask, det(A) A^{-T} elsewhere. Each branch gets a stand-in
    where the other is taken, so neither puts inf or nan into the other's derivatives: I for
    the solve, a matrix of distinct singular values for the SVD."""
    n = shape_of(A)[-1]
    eye = np.eye(n, dtype=dtype_of(A))
    X = mT(_solve(ew.where(mask, eye, A), eye)) * unsqueeze(unsqueeze(out, -1), -1)
    adj = _adjugate_t(ew.where(mask, A, eye * np.arange(1, n + 1, dtype=dtype_of(A))))
    return ew.where(mask, adj, X)


def _svd_cofactors(A, out):
    """Where det's rules take adj(A) from the SVD rather than det(A) A^{-1}: (..., 1, 1) bools,
    or None if nowhere.

    The solve with A reuses the LU np.linalg.det took, so in value their roundings cancel in
    det(A) A^{-1}, accurate up to a singular A (a solve with A^T, another LU, gave gradients
    off by O(1) there); only det(A) = 0 needs the SVD. Their derivatives (create_graph=True)
    don't cancel: there ill-conditioned A (rcond < sqrt(eps)) take the SVD too."""
    if isinstance(A, Tensor):
        a = A._data
        s = np.linalg.svd(a, compute_uv=False) if a.size else np.ones(a.shape[:-1], a.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            mask = ~(s[..., -1:] / s[..., :1] > np.sqrt(np.finfo(a.dtype).eps))
    else:
        mask = (out._data if isinstance(out, Tensor) else out)[..., None] == 0
    return mask[..., None] if mask.any() else None


def _adjugate_t(A):
    """adj(A)^T = det(U) det(V) U diag(prod_{j != i} s_j) V^T for A = U diag(s) V^T."""
    U, S, Vh = linalg_svd(A, full_matrices=False)
    eye = np.eye(shape_of(A)[-1], dtype=dtype_of(A))
    cof = reduction.prod(unsqueeze(S, -2) * (1 - eye) + eye, -1)   # no division by s_i = 0
    sign = np.linalg.det(U._data if isinstance(U, Tensor) else U) * np.linalg.det(
        Vh._data if isinstance(Vh, Tensor) else Vh)
    return mm(U * unsqueeze(cof, -2), Vh) * sign[..., None, None]


def det_jvp(ctx, t):
    """d det(A) = det(A) tr(A^{-1} t), or tr(adj(A) t) where :func:`_svd_cofactors` says."""
    mask = _svd_cofactors(ctx.x, ctx.out)
    if mask is None:
        return ctx.out * trace(_solve(ctx.x, t))
    return reduction.sum(reduction.sum(_cofactors(ctx.x, ctx.out, mask) * t, -1), -1)


DET = register(OpDef("det", _det_forward, det_vjp, det_jvp, save=("x", "out")))


def linalg_det(A):
    """Determinant of each square matrix in A (..., n, n). Also ``tapegrad.det``.

    Example:
        >>> import tapegrad as tg
        >>> A = tg.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
        >>> d = tg.linalg.det(A); d.backward(); d, A.grad
        (tensor(5., grad_fn=<DetBackward0>), tensor([[ 3., -1.],
                [-1.,  2.]]))
    """
    check_matrix("linalg.det", A)
    check_float("linalg.det", A)
    return apply_unary(DET, A)


# Note [Packed outputs] (in decomp.py) explains the (..., 2) output: sign, then logabsdet.
def _slogdet_forward(a):
    sign, logabs = np.linalg.slogdet(a)
    return np.stack([sign, logabs], axis=-1).astype(a.dtype, copy=False)


def _singular_mask(ctx):
    """Where log|det A| = -inf (A singular): (..., 1, 1) bools, or None if nowhere."""
    out = ctx.out._data if isinstance(ctx.out, Tensor) else ctx.out
    mask = out[..., 1] == -np.inf
    return mask[..., None, None] if mask.any() else None


def _over_zero(x):
    """x / 0: inf or nan, what log|det| of a singular matrix differentiates to."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return x / np.zeros((), dtype=dtype_of(x))


def slogdet_vjp(ctx, g):
    """d log|det A| = A^{-T} (a solve with A^T); the sign has gradient 0. A singular A gets
    adj(A)^T / 0 (inf and nan, as PyTorch; no error)."""
    A = ctx.x
    gl = getitem(g, (Ellipsis, 1))
    scale = diag_embed(unsqueeze(gl, -1) * np.ones(shape_of(A)[-1], dtype=dtype_of(A)))
    singular = _singular_mask(ctx)
    if singular is None:
        return (_solve(mT(A), scale),)
    X = _solve(mT(A), scale, check=False)
    adj = _over_zero(_adjugate_t(A) * unsqueeze(unsqueeze(gl, -1), -1))
    return (ew.where(singular, adj, X),)


def slogdet_jvp(ctx, t):
    singular = _singular_mask(ctx)
    if singular is None:
        dl = trace(_solve(ctx.x, t))
    else:
        X = trace(_solve(ctx.x, t, check=False))
        adj = _over_zero(reduction.sum(reduction.sum(_adjugate_t(ctx.x) * t, -1), -1))
        dl = ew.where(singular[..., 0, 0], adj, X)
    zero = np.zeros(tuple(shape_of(dl)) + (1,), dtype=dtype_of(ctx.x))   # the sign's
    return shape.cat([zero, unsqueeze(dl, -1)], -1)


SLOGDET = register(OpDef("slogdet", _slogdet_forward, slogdet_vjp, slogdet_jvp,
                         save=("x", "out")))


def linalg_slogdet(A):
    """``(sign, logabsdet)`` of each square matrix: det(A) = sign * exp(logabsdet), without
    overflow. Also ``tapegrad.slogdet``.

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.slogdet(tg.tensor([[-2.0, 0.0], [0.0, 3.0]]))
        linalg_slogdet(sign=tensor(-1.), logabsdet=tensor(1.7918))
    """
    check_matrix("linalg.slogdet", A)
    check_float("linalg.slogdet", A)
    packed = apply_unary(SLOGDET, A)
    sign = getitem(packed, (Ellipsis, 0))
    if isinstance(sign, Tensor):
        sign = sign.detach()
    return slogdet_result(sign, getitem(packed, (Ellipsis, 1)))


def logdet(input):
    """log det(A): nan where det(A) < 0 and -inf where it is 0, as in PyTorch.

    Example:
        >>> import tapegrad as tg
        >>> tg.logdet(tg.tensor([[2.0, 0.0], [0.0, 3.0]]))
        tensor(1.7918)
    """
    sign, logabs = linalg_slogdet(input)
    return ew.where(sign < 0, float("nan"), logabs)


def det(input):
    """torch.det's spelling (argument ``input``): see :func:`tapegrad.linalg.det`.

    Example:
        >>> import tapegrad as tg
        >>> tg.det(tg.tensor([[2.0, 1.0], [1.0, 3.0]]))
        tensor(5.)
    """
    return linalg_det(input)


def slogdet(input):
    """torch.slogdet's spelling (argument ``input``): see :func:`tapegrad.linalg.slogdet`.

    Example:
        >>> import tapegrad as tg
        >>> tg.slogdet(tg.tensor([[-2.0]])).sign
        tensor(-1.)
    """
    return linalg_slogdet(input)


__all__ = ["det", "logdet", "slogdet"]   # public functions, exported as tapegrad.<name>
METHODS = {"det": det, "logdet": logdet, "slogdet": slogdet}   # Tensor methods
LINALG = {"det": linalg_det, "slogdet": linalg_slogdet}        # tapegrad.linalg.<name>
