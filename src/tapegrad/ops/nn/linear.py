"""The linear layer's primitive: ``x @ w.T + b`` as one node (used by F.linear).

# NOTE: a primitive for speed. As a composite, linear records three nodes (the transpose
# view, matmul, the bias add); the transpose's backward hands the weight a transposed
# (F-ordered) gradient, and the add's backward reduces the bias gradient through the engine's
# broadcast path. One node runs three GEMMs on contiguous operands or their transposed views
# (BLAS reads a transposed view without a copy), writes the bias into the fresh product in
# place, and gives the weight a C-ordered gradient. It is the MLP step's hot path
# (benchmarks/mlp_step.py has the figures).
"""
import numpy as np

from ..linalg.products import matmul
from ..reduction import sum as _sum
from ..registry import OpDef, apply, apply_binary, register
from ..shape import mT, reshape

__all__ = []        # F.linear only; PyTorch has no torch.linear
METHODS = {}

_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)


def _linear_forward(x, w, b=None):
    if x.dtype == _F16 or w.dtype == _F16:
        dtype = np.result_type(x, w) if b is None else np.result_type(x, w, b)
        if dtype == _F16:     # accumulate in float32, round once (as PyTorch)
            out = np.matmul(x.astype(_F32), w.T.astype(_F32))
            if b is not None:
                out += b
            return out.astype(_F16)
    out = np.matmul(x, w.T)
    if b is not None:
        if out.dtype == np.result_type(out, b):
            out += b              # the product is fresh: add the bias in place
        else:
            out = out + b
    return out


def _flat(a, n):
    """``a`` as a matrix of rows of length n (a view for contiguous input)."""
    return a if a.ndim == 2 else reshape(a, (-1, n))


def linear_vjp(ctx, g):
    """d(x w^T + b): g @ w for x, g^T @ x (rows of every batch dim) for w, g summed over rows
    for b."""
    need = ctx.needs_input_grad
    gx = matmul(g, ctx.y) if need[0] else None
    gw = gb = None
    if need[1] or (len(need) > 2 and need[2]):
        n_out = g.shape[-1]
        g2 = _flat(g, n_out)
        if need[1]:
            x = ctx.x
            gw = matmul(mT(g2), _flat(x, x.shape[-1]))
        if len(need) > 2 and need[2]:
            gb = _sum(g2, 0)
    return (gx, gw) if len(need) == 2 else (gx, gw, gb)


def linear_jvp(ctx, tx, tw, tb=None):
    """t(x w^T + b) = tx w^T + x tw^T + tb."""
    need = ctx.needs_input_grad
    out = matmul(tx, mT(ctx.y)) if need[0] else 0
    if need[1]:
        out = out + matmul(ctx.x, mT(tw))
    if len(need) > 2 and need[2]:
        out = out + tb
    return out


LINEAR = register(OpDef("linear", _linear_forward, linear_vjp, linear_jvp, save=("x", "y"),
                        save_for={"x": 1, "y": 0}))


def linear_op(x, w, b=None):
    """The primitive on checked operands: x (..., in), w (out, in), b (out,) or None."""
    if b is None:
        return apply_binary(LINEAR, x, w)
    return apply(LINEAR, (x, w, b))

