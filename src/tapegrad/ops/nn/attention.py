"""Primitives of the nn attention family (used by tapegrad.nn.functional): the attention
weights softmax(scale * q k^T + bias) of scaled_dot_product_attention, as one primitive.

# Note [Attention weights primitive]
scaled_dot_product_attention is ``attention_softmax(q, k, bias) @ v``: this primitive, then
the matmul primitive (dropout, when asked for, is a multiply by a constant mask in between).
The weights are one primitive, not a composite of matmul, mul, add, amax, sub, exp, sum and
div, for speed: one node instead of eight, the scores made and normalized in place in one
buffer, and a backward of four array passes and two GEMMs instead of eight rules. Forward +
backward runs 1.2x to 1.6x faster than that composite at the issue's transformer block
(benchmarks/sdpa_bench.py times both; the forward alone matches hand-written NumPy).
The primitive takes q and k, not the scores, so its rule may keep them (a rule keeps inputs 0
and 1 and the output): the backward needs q, k and the weights P, never the scores. v stays
outside, in matmul, which keeps its own operands.

Fully masked rows (every score -inf) give weights 0, so the attention output 0 and gradient 0
there, as PyTorch 2.x's scaled_dot_product_attention (not softmax's nan).
"""
import numpy as np

from ..._core.tensor import array_of
from ..linalg.products import matmul
from ..reduction import sum as _sum
from ..registry import OpDef, apply, register
from ..shape import cast, mT

__all__ = []        # names exported as tapegrad.<name> (PyTorch's torch.<name>)
METHODS = {}        # Tensor methods this family binds

_F32, _F16 = np.dtype(np.float32), np.dtype(np.float16)
_ndarray = np.ndarray
_NEG_INF = -np.inf


def _attention_softmax_forward(q, k, bias, scale):
    """P = softmax(scale * q @ k^T + bias) over the last dim, made in one buffer; rows whose
    scores are all -inf give 0. float16 runs in float32 (result float16)."""
    dtype = q.dtype
    if dtype.char == "e":
        q, k = q.astype(_F32), k.astype(_F32)
    s = matmul(q, mT(k))
    if scale != 1.0:
        s *= s.dtype.type(scale)
    if bias is not None:
        s += bias                       # the caller made sure bias doesn't grow s's shape
    if s.shape[-1] == 0:                # no keys: weights of shape (..., L, 0)
        return s.astype(dtype)
    # NOTE: fmax, not max: NumPy's max along a short contiguous last dim is about twice as
    # slow (it checks for nan); a nan score still makes its row nan through exp and the sum.
    m = np.fmax.reduce(s, axis=-1, keepdims=True)
    if bias is not None:
        m[m == _NEG_INF] = 0.0          # a fully masked row: exp(-inf - 0) = 0, no nan
    s -= m
    np.exp(s, out=s)
    z = s.sum(axis=-1, keepdims=True)
    if bias is not None:
        z[z == 0] = 1.0                 # ... and 0 / 1 = 0 for its weights
    s /= z
    return s.astype(dtype) if dtype.char == "e" else s


def _softmax_backward(p, g):
    """The softmax's vjp: P * (g - sum(g * P)) over the last dim (also its jvp, with g the
    tangent of the scores)."""
    gp = g * p
    r = _sum(gp, -1, True)
    if type(gp) is _ndarray:        # the fast path: gp is ours, so reuse its buffer
        np.subtract(g, r, out=gp)
        gp *= p
        return gp
    return (g - r) * p


def attention_softmax_vjp(ctx, g):
    """dS = P (g - rowsum(g P)); dq = scale dS k, dk = scale dS^T q, dbias = dS. float16
    runs in float32 (as the forward): dS rounded to float16 before the GEMMs and its row sums
    accumulated in float16 cost about 3x the gradient error at S = 512."""
    need = ctx.needs_input_grad
    p = ctx.out
    q = ctx.x if need[1] else None      # saved only where a rule needs them
    k = ctx.y if need[0] else None
    half = array_of(p).dtype.char == "e"
    if half:
        p, g, q, k = (None if a is None else cast(a, _F32) for a in (p, g, q, k))
    ds = _softmax_backward(p, g)
    gb = ds if need[2] else None        # the bias of float16 scores is float32 (the caller's)
    gq = gk = None
    if need[0] or need[1]:
        if type(ds) is _ndarray and gb is None:
            ds *= ds.dtype.type(ctx.scale)      # the fast path owns ds: scale it in place
        else:
            ds = ds * ctx.scale
        gq = matmul(ds, k) if need[0] else None
        gk = matmul(mT(ds), q) if need[1] else None
        if half:
            gq = None if gq is None else cast(gq, _F16)
            gk = None if gk is None else cast(gk, _F16)
    return gq, gk, gb


def attention_softmax_jvp(ctx, tq, tk, tb):
    """tP = P (tS - rowsum(P tS)), tS = scale (tq k^T + q tk^T) + tbias."""
    need = ctx.needs_input_grad
    ts = 0
    if need[0]:
        ts = matmul(tq, mT(ctx.y))
    if need[1]:
        ts = ts + matmul(ctx.x, mT(tk))
    if need[0] or need[1]:
        ts = ts * ctx.scale
    if need[2]:
        ts = ts + tb
    return _softmax_backward(ctx.out, ts)


ATTENTION_SOFTMAX = register(OpDef(
    "attention_softmax", _attention_softmax_forward, attention_softmax_vjp,
    attention_softmax_jvp, save=("x", "y", "out"), broadcasts=True,
    save_for={"x": 1, "y": 0}))


def attention_softmax(q, k, bias, scale):
    """The attention weights softmax(scale * q @ k^T + bias) (Note [Attention weights
    primitive]). Arguments are checked by the caller: q (..., L, E) and k (..., S, E) of one
    floating dtype, bias None or a float array/tensor broadcasting onto (..., L, S) (-inf
    where a position takes no part), scale a Python float."""
    return apply(ATTENTION_SOFTMAX, (q, k, bias), {"scale": float(scale)})
