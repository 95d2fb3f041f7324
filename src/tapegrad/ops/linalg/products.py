"""Linear algebra primitives: matmul in every case NumPy's ``@`` supports."""
import numpy as np

from ..._core.errors import ShapeError
from ..._core.tensor import Tensor
from ..registry import OpDef, apply_binary, register
from ..shape import mT, unsqueeze, squeeze


def matmul_vjp(ctx, g):
    """d(x@y) = g@y^T for x, x^T@g for y; 1-d operands are treated as a row (x) or a column
    (y) and squeezed back; batch broadcasting is undone by the engine."""
    need = ctx.needs_input_grad
    # Only the operands some gradient needs were saved (save_for), so tell 1-d operands apart
    # from g's ndim: a 1-d operand is the only way g loses a dim against the other operand.
    gd = g.ndim
    if need[1]:
        x = ctx.x
        x_vec = x.ndim == 1
        y_vec = gd == 0 if x_vec else gd < x.ndim
    else:
        y_vec = ctx.y.ndim == 1
        x_vec = gd == 0 if y_vec else gd < ctx.y.ndim
    y = ctx.y if need[0] else None
    gx = gy = None
    if x_vec and y_vec:                       # dot product: g is a scalar
        return (g * y if need[0] else None), (g * x if need[1] else None)
    if x_vec:                                 # (n) @ (..., n, m) -> (..., m)
        g2 = unsqueeze(g, -2)
        if need[0]:
            gx = squeeze(matmul(g2, mT(y)), -2)
        if need[1]:
            gy = unsqueeze(x, -1) * g2
    elif y_vec:                               # (..., n, k) @ (k) -> (..., n)
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
    """t(x@y) = tx@y + x@ty; an input without gradient has no tangent (and maybe no save)."""
    need = ctx.needs_input_grad
    return (matmul(tx, ctx.y) if need[0] else 0) + (matmul(ctx.x, ty) if need[1] else 0)


MATMUL = register(OpDef("matmul", np.matmul, matmul_vjp, matmul_jvp, save=("x", "y"),
                        broadcasts=True, save_for={"x": 1, "y": 0}))


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
    """Matrix product with the rules of NumPy's ``@`` (also ``Tensor.__matmul__``).

    1-d @ 1-d is a dot product; a 1-d operand on the left (right) acts as a row (column)
    vector and its dim is removed from the result; dims before the last two are batch dims
    and broadcast.

    Args:
        input, other: tensors with at least one dim; the contracted sizes must match.

    Example:
        >>> import tapegrad as tg
        >>> a = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True); b = tg.ones(2)
        >>> tg.matmul(a, b).sum().backward(); tg.matmul(a, b), a.grad
        (tensor([3., 7.], grad_fn=<MatmulBackward0>), tensor([[1., 1.], [1., 1.]]))
    """
    xs = input._data.shape if isinstance(input, Tensor) else np.shape(input)
    ys = other._data.shape if isinstance(other, Tensor) else np.shape(other)
    _check(xs, ys, "matmul")
    return apply_binary(MATMUL, input, other)


def mm(input, mat2):
    """Product of two 2-d matrices (no broadcasting; use :func:`matmul` for other shapes).

    Example:
        >>> import tapegrad as tg
        >>> tg.mm(tg.tensor([[1.0, 2.0]]), tg.tensor([[3.0], [4.0]]))
        tensor([[11.]])
    """
    for t in (input, mat2):
        if len(np.shape(t._data if isinstance(t, Tensor) else t)) != 2:
            raise ShapeError("mm: both arguments must be 2-d; use matmul for other shapes")
    return matmul(input, mat2)


def dot(input, other):
    """Dot product of two 1-d tensors of the same length (other shapes raise, as in PyTorch).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> tg.dot(x, tg.tensor([3.0, 4.0])).backward(); x.grad
        tensor([3., 4.])
    """
    for t in (input, other):
        if len(np.shape(t._data if isinstance(t, Tensor) else t)) != 1:
            raise ShapeError("dot: both arguments must be 1-d; use matmul for other shapes")
    return matmul(input, other)


__all__ = ["matmul", "mm", "dot"]   # public functions, exported as tapegrad.<name>
METHODS = {}   # Tensor methods (bound in ops/methods.py), in-place forms included
LINALG = {}    # tapegrad.linalg.<name> -> function (its names may differ from tapegrad.<name>)
