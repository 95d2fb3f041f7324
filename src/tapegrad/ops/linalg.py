"""Linear algebra primitives: matmul in every case NumPy's ``@`` supports."""
import numpy as np

from .._core.errors import ShapeError
from .._core.tensor import Tensor
from .registry import OpDef, apply, register
from .shape import mT, unsqueeze, squeeze


def matmul_vjp(ctx, g):
    """d(x@y) = g@y^T for x, x^T@g for y; 1-d operands are treated as a row (x) or a column
    (y) and squeezed back; batch broadcasting is undone by the engine."""
    x, y = ctx.x, ctx.y
    need = ctx.needs_input_grad
    xd, yd = x.ndim, y.ndim
    gx = gy = None
    if xd == 1 and yd == 1:                  # dot product: g is a scalar
        return (g * y if need[0] else None), (g * x if need[1] else None)
    if xd == 1:                               # (n) @ (..., n, m) -> (..., m)
        g2 = unsqueeze(g, -2)
        if need[0]:
            gx = squeeze(matmul(g2, mT(y)), -2)
        if need[1]:
            gy = unsqueeze(x, -1) * g2
    elif yd == 1:                             # (..., n, k) @ (k) -> (..., n)
        g2 = unsqueeze(g, -1)
        if need[0]:
            gx = g2 * y
        if need[1]:
            gy = squeeze(matmul(mT(x), g2), -1)
    else:
        if need[0]:
            gx = matmul(g, mT(y))
        if need[1]:
            gy = matmul(mT(x), g)
    return gx, gy


def matmul_jvp(ctx, tx, ty):
    return matmul(tx, ctx.y) + matmul(ctx.x, ty)


MATMUL = register(OpDef("matmul", np.matmul, matmul_vjp, matmul_jvp, save=("x", "y"),
                        broadcasts=True))


def _check(xs, ys, name):
    if len(xs) == 0 or len(ys) == 0:
        raise ShapeError(f"{name}: both arguments need at least 1 dim, got shapes "
                         f"{tuple(xs)} and {tuple(ys)}")
    k_x = xs[-1]
    k_y = ys[-2] if len(ys) > 1 else ys[0]
    if k_x != k_y:
        which = "second-to-last" if len(ys) > 1 else "only"
        hint = " Try b.T?" if len(ys) > 1 and ys[-1] == k_x else ""
        raise ShapeError(
            f"{name}: cannot contract {tuple(xs)} with {tuple(ys)}: last dim of the first "
            f"({k_x}) must equal {which} dim of the second ({k_y}).{hint}")
    bx, by = xs[:-2], ys[:-2]
    try:
        np.broadcast_shapes(bx, by)
    except ValueError:
        raise ShapeError(f"{name}: batch dims {tuple(bx)} and {tuple(by)} of shapes {tuple(xs)} "
                         f"and {tuple(ys)} don't broadcast") from None


def matmul(input, other):
    """Matrix product with NumPy's ``@`` rules: 1-d dot, matrix-vector, batched, broadcast.

    Example:
        >>> import tapegrad as tg
        >>> tg.matmul(tg.ones(2, 3), tg.ones(3)).tolist()
        [3.0, 3.0]
    """
    xs = input._data.shape if isinstance(input, Tensor) else np.shape(input)
    ys = other._data.shape if isinstance(other, Tensor) else np.shape(other)
    _check(xs, ys, "matmul")
    return apply(MATMUL, (input, other))


def mm(input, mat2):
    """Product of two 2-d matrices."""
    for t in (input, mat2):
        if len(np.shape(t._data if isinstance(t, Tensor) else t)) != 2:
            raise ShapeError("mm: both arguments must be 2-d; use matmul for other shapes")
    return matmul(input, mat2)


def dot(input, other):
    """Dot product of two 1-d tensors."""
    return matmul(input, other)
