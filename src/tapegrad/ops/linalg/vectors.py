"""Vector geometry: cross products (cross, linalg.cross) and pairwise distances (cdist).
Exported through contract.py, the family module that lists them.
"""
import warnings

import numpy as np

from ..._core.errors import ArgumentError, DTypeError, ShapeError
from ..._core.tensor import Tensor, shape_of
from ..elementwise import abs, sign, where
from ..reduction import sum as _sum
from ..registry import OpDef, apply_binary, register
from ..shape import mT, unsqueeze
from .products import _matmul_forward, matmul


# ---- cross ------------------------------------------------------------------------------
def cross_vjp(ctx, g):
    """<g, x × y> = <x, y × g> = <y, g × x>: gx = y × g, gy = g × x (broadcasting undone
    by the engine)."""
    need, dim = ctx.needs_input_grad, ctx.dim
    return (_cross(ctx.y, g, dim) if need[0] else None), (_cross(g, ctx.x, dim) if need[1]
                                                          else None)


def cross_jvp(ctx, tx, ty):
    """t(x × y) = tx × y + x × ty."""
    need, dim = ctx.needs_input_grad, ctx.dim
    return (_cross(tx, ctx.y, dim) if need[0] else 0) + (_cross(ctx.x, ty, dim) if need[1] else 0)


CROSS = register(OpDef("cross", lambda x, y, dim: np.cross(x, y, axis=dim), cross_vjp,
                       cross_jvp, save=("x", "y"), broadcasts=True, save_for={"x": 1, "y": 0}))


def _cross(x, y, dim):
    return apply_binary(CROSS, x, y, {"dim": dim})


def _cross_dim(name, input, other, dim):
    sa, sb = tuple(shape_of(input)), tuple(shape_of(other))
    if len(sa) != len(sb):
        raise ShapeError(f"{name}: inputs must have the same number of dims, got shapes {sa} "
                         f"and {sb}")
    try:
        shape = np.broadcast_shapes(sa, sb)
    except ValueError:
        raise ShapeError(f"{name}: shapes {sa} and {sb} don't broadcast") from None
    if dim is None:             # PyTorch's deprecated default: input's first dim of size 3
        found = [d for d, n in enumerate(sa) if n == 3]
        if not found:
            raise ShapeError(f"{name}: no dim of size 3 in input of shape {sa}; pass dim=")
        warnings.warn("tapegrad.cross without dim is deprecated, as in PyTorch: it uses the "
                      "first dim of size 3. Pass dim explicitly or use tapegrad.linalg.cross "
                      "(dim=-1).", UserWarning, stacklevel=3)
        dim = found[0]
    if not shape or not -len(shape) <= dim < len(shape):
        raise ShapeError(f"{name}: dim {dim} is out of range for shapes {sa} and {sb}")
    if sa[dim] != 3 or sb[dim] != 3:
        raise ShapeError(f"{name}: dim {dim} must have size 3 in both inputs, got shapes {sa} "
                         f"and {sb}")
    return dim % len(shape)


def cross(input, other, dim=None):
    """Cross product of 3-vectors along ``dim``, broadcasting the other dims. Without dim,
    the first dim of size 3, with a deprecation warning (as PyTorch).

    Example:
        >>> import tapegrad as tg
        >>> tg.cross(tg.tensor([1.0, 0.0, 0.0]), tg.tensor([0.0, 1.0, 0.0]), dim=0)
        tensor([0., 0., 1.])
    """
    return _cross(input, other, _cross_dim("cross", input, other, dim))


def linalg_cross(input, other, *, dim=-1):
    """Cross product of 3-vectors along ``dim`` (default the last), broadcasting the other
    dims (``tapegrad.linalg.cross``).

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.cross(tg.tensor([[0.0, 1.0, 0.0]]), tg.tensor([0.0, 0.0, 1.0])[None])
        tensor([[1., 0., 0.]])
    """
    return _cross(input, other, _cross_dim("linalg.cross", input, other, dim))


# ---- cdist --------------------------------------------------------------------------------
def _safe_div(a, d):
    """a / d where d > 0, else 0: PyTorch's subgradient at zero distance."""
    pos = d > 0
    return where(pos, a / where(pos, d, 1.0), 0.0)


def _pairwise(x1, x2):
    """x1[..., i, :] - x2[..., j, :] with i, j as dims -3, -2."""
    return unsqueeze(x1, -2) - unsqueeze(x2, -3)


def _cdist_unit(ctx, x1, x2):
    """d dist / d diff for p other than 2, with its diff: (sign(u) |u|^(p-1) / d^(p-1), u)."""
    p, d = ctx.p, unsqueeze(ctx.out, -1)
    u = _pairwise(x1, x2)
    if p == 1:
        return sign(u), u
    if p == float("inf"):
        return sign(u) * (abs(u) == d), u
    # |u|^(p-1) is infinite at u = 0 for p < 1: that coordinate gets 0, as in PyTorch
    au = abs(u)
    nonzero = au > 0
    power = where(nonzero, where(nonzero, au, 1.0) ** (p - 1), 0.0)
    return _safe_div(sign(u) * power, d ** (p - 1)), u


def cdist_vjp(ctx, g):
    """p = 2: w = g / d (0 at d = 0), gx1 = x1 * rowsum(w) - w @ x2 and symmetrically, two
    BLAS products; other p: through the pairwise differences."""
    need, x1, x2 = ctx.needs_input_grad, ctx.x, ctx.y
    if ctx.p == 0:
        return (x1 * 0.0 if need[0] else None), (x2 * 0.0 if need[1] else None)
    if ctx.p == 2:
        w = _safe_div(g, ctx.out)
        g1 = x1 * unsqueeze(_sum(w, -1), -1) - matmul(w, x2) if need[0] else None
        g2 = x2 * unsqueeze(_sum(w, -2), -1) - matmul(mT(w), x1) if need[1] else None
        return g1, g2
    unit, _ = _cdist_unit(ctx, x1, x2)
    coef = unsqueeze(g, -1) * unit
    return (_sum(coef, -2) if need[0] else None), (-_sum(coef, -3) if need[1] else None)


def cdist_jvp(ctx, t1, t2):
    """t d = <d dist / d diff, t1_i - t2_j> (p = 2: through BLAS products)."""
    need, x1, x2 = ctx.needs_input_grad, ctx.x, ctx.y
    if ctx.p == 0:
        return ctx.out * 0.0
    if ctx.p == 2:
        num = 0
        if need[0]:
            num = unsqueeze(_sum(x1 * t1, -1), -1) - matmul(t1, mT(x2))
        if need[1]:
            num = num + unsqueeze(_sum(x2 * t2, -1), -2) - matmul(x1, mT(t2))
        return _safe_div(num, ctx.out)
    unit, _ = _cdist_unit(ctx, x1, x2)
    t = _pairwise(t1 if need[0] else x1 * 0.0, t2 if need[1] else x2 * 0.0)
    return _sum(unit * t, -1)


def _cdist_forward(x1, x2, p, use_mm):
    if use_mm:       # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b: BLAS, no pairwise tensor
        sq = (np.sum(x1 * x1, -1)[..., :, None] + np.sum(x2 * x2, -1)[..., None, :]
              - 2 * _matmul_forward(x1, np.swapaxes(x2, -1, -2)))
        return np.sqrt(np.maximum(sq, 0))
    u = np.abs(x1[..., :, None, :] - x2[..., None, :, :])
    if p == 0:
        return np.sum(u != 0, -1).astype(u.dtype)
    if p == float("inf"):
        return np.max(u, -1, initial=0)
    if p == 1:
        return np.sum(u, -1)
    if p == 2:
        return np.sqrt(np.sum(u * u, -1))
    return np.sum(u ** p, -1) ** (1 / p)


CDIST = register(OpDef("cdist", _cdist_forward, cdist_vjp, cdist_jvp, save=("x", "y", "out"),
                       broadcasts=True))
_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
          "donot_use_mm_for_euclid_dist")


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """p-norm distances between the rows of ``x1`` (..., P, M) and ``x2`` (..., R, M): shape
    (..., P, R), batch dims broadcasting.

    Args:
        x1, x2: floating tensors with at least 2 dims and the same last size.
        p: a value in [0, inf]. For p = 2 the gradient at zero distance is 0, PyTorch's
            subgradient.
        compute_mode: for p = 2, whether to use the faster, less exact
            |a|^2 + |b|^2 - 2 a.b form: always, never, or (default) when P or R exceeds 25.

    Example:
        >>> import tapegrad as tg
        >>> tg.cdist(tg.tensor([[0.0, 0.0], [1.0, 1.0]]), tg.tensor([[3.0, 4.0]]))
        tensor([[5.0000],
                [3.6056]])
    """
    sa, sb = tuple(shape_of(x1)), tuple(shape_of(x2))
    if len(sa) < 2 or len(sb) < 2:
        raise ShapeError(f"cdist: x1 and x2 need at least 2 dims, got shapes {sa} and {sb}")
    if sa[-1] != sb[-1]:
        raise ShapeError(f"cdist: x1 and x2 must have the same number of columns, got shapes "
                         f"{sa} and {sb}")
    try:
        np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        raise ShapeError(f"cdist: batch dims of shapes {sa} and {sb} don't broadcast") from None
    da, db = (np.result_type(t._data if isinstance(t, Tensor) else t) for t in (x1, x2))
    if da.kind != "f" or db.kind != "f" or da != db:
        raise DTypeError(f"cdist: x1 and x2 must be floating tensors of the same dtype, got "
                         f"{da} and {db}")
    if not isinstance(p, (int, float, np.integer, np.floating)):
        raise ArgumentError(f"cdist: p must be a number in [0, inf], got {p!r}")
    p = float(p)
    if not p >= 0:
        raise ArgumentError(f"cdist: p must be in [0, inf], got {p}")
    if compute_mode not in _MODES:
        raise ArgumentError(f"cdist: compute_mode must be one of {_MODES}, got {compute_mode!r}")
    use_mm = p == 2 and (compute_mode == _MODES[1] or compute_mode == _MODES[0]
                         and (sa[-2] > 25 or sb[-2] > 25))
    return apply_binary(CDIST, x1, x2, {"p": p, "use_mm": use_mm})
