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

from ..linalg.products import blas_ready, matmul
from ..reduction import sum as _sum
from ..registry import OpDef, apply, apply_binary, register

__all__ = []        # F.linear only; PyTorch has no torch.linear
METHODS = {}

_ndarray = np.ndarray
_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)


def _ready(a):
    """``a`` in a layout BLAS takes (a copy only for odd strides: a sliced or permuted view);
    Tensors pass through (their matmul does the same)."""
    if type(a) is _ndarray and not a.flags.c_contiguous:
        return blas_ready(a)
    return a


def _mm(a, b):
    """a @ b: NumPy's own on float32/float64 arrays (no wrapper), else tapegrad's matmul
    (Tensors record; float16 accumulates in float32)."""
    if type(a) is _ndarray and a.dtype != _F16:
        return a @ _ready(b)
    return matmul(a, b)


def _linear_forward(x, w, b=None):
    if x.dtype == _F16 or w.dtype == _F16:
        dtype = np.result_type(x, w) if b is None else np.result_type(x, w, b)
        if dtype == _F16:     # accumulate in float32, round once (as PyTorch)
            out = np.matmul(x.astype(_F32), w.T.astype(_F32))
            if b is not None:
                out += b
            return out.astype(_F16)
    x = _ready(x)
    if x.ndim > 2:      # one GEMM over every row (NumPy's matmul runs one per batch index)
        out = (_rows(x) @ _ready(w).T).reshape(x.shape[:-1] + (w.shape[0],))
    else:
        out = np.matmul(x, _ready(w).T)
    if b is not None:
        if out.dtype == np.result_type(out, b):
            out += b              # the product is fresh: add the bias in place
        else:
            out = out + b
    return out


def _rows(a):
    """a as a matrix of its last dim's rows (a row count, not -1: a zero-size array with no
    last dim has no -1 to infer)."""
    return a.reshape(int(np.prod(a.shape[:-1], dtype=np.int64)), a.shape[-1])


def linear_vjp(ctx, g):
    """d(x w^T + b): g @ w for x, g^T @ x (rows of every batch dim) for w, g summed over rows
    for b."""
    # NOTE: NumPy's matmul and sum on float32/float64 arrays (the fast path), with no wrapper
    # in between; tapegrad's on Tensors (which record) and float16.
    need = ctx.needs_input_grad
    gx = None
    if need[0]:
        if g.ndim > 2 and type(g) is _ndarray:      # one GEMM over every row, as forward
            gx = _mm(_rows(g), ctx.y).reshape(g.shape[:-1] + (ctx.y.shape[-1],))
        else:
            gx = _mm(g, ctx.y)
    gw = gb = None
    has_bias = len(need) > 2
    if need[1] or has_bias and need[2]:
        g2 = g if g.ndim == 2 else _rows(g)
        if need[1]:
            x = ctx.x
            gw = _mm(g2.T, x if x.ndim == 2 else _rows(x))
        if has_bias and need[2]:
            gb = g2.sum(0) if type(g2) is _ndarray and g2.dtype != _F16 else _sum(g2, 0)
    return (gx, gw, gb) if has_bias else (gx, gw)


def linear_jvp(ctx, tx, tw, tb=None):
    """t(x w^T + b) = tx w^T + x tw^T + tb."""
    need = ctx.needs_input_grad
    out = _mm(tx, ctx.y.T) if need[0] else 0
    if need[1]:
        out = out + _mm(ctx.x, tw.T)
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

