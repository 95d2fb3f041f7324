"""Batching rules of matmul, linear and the matrix functions. NumPy's matrix functions already
map over leading dims, so the batch dim is one more of those; matmul needs its 1-D operands
made matrices first (NumPy's promotion of a 1-D operand would otherwise take the batch dim
for a matrix dim)."""
import math

from . import decomposition, rule
from ._layout import ndim_of, pad

MATRIX_UNARY = ("inv", "matrix_exp", "cholesky", "qr", "lu_factor", "eigh", "svd", "det",
                "slogdet")


@rule(*MATRIX_UNARY)
def matrix_unary(op, args, batched, params, size):
    return args, params, None


def _matmul_shape(xs, ys):
    """The example shape of matmul(x, y) for example shapes ``xs``, ``ys``."""
    import numpy as np
    if len(xs) == 1 and len(ys) == 1:
        return ()
    if len(xs) == 1:
        return tuple(ys[:-2]) + (ys[-1],)
    if len(ys) == 1:
        return tuple(xs[:-1])
    return tuple(np.broadcast_shapes(xs[:-2], ys[:-2])) + (xs[-2], ys[-1])


@rule("matmul")
def matmul(op, args, batched, params, size):
    (x, y), (bx, by) = args, batched
    xs = tuple(x.shape[1:] if bx else x.shape)
    ys = tuple(y.shape[1:] if by else y.shape)
    # One GEMM where NumPy's broadcasting matmul would run one small product per example:
    if not bx and len(xs) == 2 and len(ys) == 1:       # a matrix times each example's vector
        return [y, x.transpose(-1, -2)], params, None   # (jacfwd's columns, jacrev's rows)
    if bx and not by and len(ys) == 2 and len(xs) == 1:      # each example's vector times y
        return [x, y], params, None
    if bx and not by and len(ys) == 2 and len(xs) >= 2:      # each example's rows times y
        lead = tuple(x.shape[:-1])
        rows = x.reshape(math.prod(lead), xs[-1])
        return [rows, y], params, lambda out: out.reshape(lead + (ys[-1],))
    if bx and len(xs) == 1:
        x = x.unsqueeze(-2)          # a row vector per example
    if by and len(ys) == 1:
        y = y.unsqueeze(-1)          # a column vector per example
    rank = max(ndim_of(x, bx), ndim_of(y, by))
    if bx:
        x = pad(x, rank)
    if by:
        y = pad(y, rank)
    out_shape = (size,) + _matmul_shape(xs, ys)
    return [x, y], params, lambda out: out if tuple(out.shape) == out_shape \
        else out.reshape(out_shape)


@rule("linear")
def linear(op, args, batched, params, size):
    # only the input batched: the rows of every example go through one GEMM
    return args, params, None


@decomposition("linear")
def linear_batched_weight(args, batched, params):
    """A per-example weight or bias (as in per-example gradients: vmap(grad(f))): linear is
    matmul with the transposed weight, plus the bias."""
    if not any(batched[1:]):
        return None
    from ...ops.linalg import matmul as mm
    x, w = args[0], args[1]
    # w @ x as columns, not x @ w^T: the weight's per-example gradient g x^T then comes out
    # contiguous (no transposed copy), and a shared weight is one GEMM either way
    out = mm(w, x.unsqueeze(-1)).squeeze(-1)
    return out + args[2] if len(args) > 2 and args[2] is not None else out
