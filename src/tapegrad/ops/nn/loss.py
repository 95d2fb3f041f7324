"""Primitives of the nn loss family (used by tapegrad.nn.functional): the fused
cross-entropy over class indices, and the CTC loss (ctc.py).

# Note [Fused cross-entropy]
cross_entropy(x, t) with class indices is log_softmax and nll_loss in one node. Per sample i
(every position but the class dim) the loss is -sum_c A[i, c] log_softmax(x)[i, c] with the
constant coefficients A[i, c] = (1 - eps) w[t_i] [c == t_i] + (eps / C) w[c], zero for an
ignored target (eps: label smoothing, w: class weights, 1 without). Its gradient is
s_i softmax(x)[i] - A[i] with s_i = sum_c A[i, c]: softmax minus the one-hot target in the
plain case. Nothing is exponentiated but x - max(x) (forward) and x - logsumexp(x) <= 0
(rules), so logits of magnitude 1e4 give finite values and gradients in float32.
'mean' divides the sum by the sum of w[t_i] over non-ignored targets, as PyTorch does.
"""
import numpy as np

from ..._core.tensor import array_of
from ..elementwise import exp
from ..registry import OpDef, apply_unary, register
from ..reduction import sum as _sum
from ..shape import unsqueeze
from ..statistics import logsumexp

__all__ = []        # names exported as tapegrad.<name> (PyTorch's torch.<name>)
METHODS = {}        # Tensor methods this family binds

_F16 = np.dtype(np.float16)


def _ce_forward(x, *, target, axis, wt, wc, mask, eps, reduction, denom):
    dtype = x.dtype
    if dtype == _F16:
        x = x.astype(np.float32)       # float16 computes in float32, rounds once at the end
    z = x - np.amax(x, axis=axis, keepdims=True)
    lse = np.log(np.sum(np.exp(z), axis=axis, keepdims=True))
    picked = np.take_along_axis(z, np.expand_dims(target, axis), axis)
    loss = np.squeeze(lse - picked, axis)              # -log_softmax at the target
    if wt is not None:
        loss *= wt
    if eps:
        n_classes = x.shape[axis]
        logp = z - lse
        if wc is not None:
            logp = logp * wc.reshape((-1,) + (1,) * (x.ndim - axis - 1))
        smooth = -np.sum(logp, axis=axis)
        if mask is not None:
            smooth *= mask
        loss = (1 - eps) * loss + (eps / n_classes) * smooth
    if reduction == "sum":
        loss = np.sum(loss)
    elif reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            loss = np.sum(loss) / np.asarray(denom, dtype=loss.dtype)
    return loss.astype(dtype, copy=False)


def _coefficients(ctx, shape, dtype):
    """A (Note [Fused cross-entropy]) as an array of the input's shape, and s = its sums over
    the class dim (keepdim; None when every s is 1: no weights, smoothing or ignored targets)."""
    axis, eps, wt, wc, mask = ctx.axis, ctx.eps, ctx.wt, ctx.wc, ctx.mask
    a = np.zeros(shape, dtype=dtype)
    hot = 1.0 - eps if wt is None else (1.0 - eps) * np.expand_dims(wt, axis)
    np.put_along_axis(a, np.expand_dims(ctx.target, axis), hot, axis)
    if wt is None and not eps:
        return a, None
    if eps:
        spread = np.full(shape[axis], eps / shape[axis], dtype=dtype)
        if wc is not None:
            spread = spread * wc
        spread = spread.reshape((-1,) + (1,) * (len(shape) - axis - 1))
        a += spread if mask is None else spread * np.expand_dims(mask, axis)
    return a, np.sum(a, axis=axis, keepdims=True)


def _per_sample(ctx, g):
    """The output cotangent as a factor per sample, shaped to broadcast against the input."""
    if ctx.reduction == "none":
        return unsqueeze(g, ctx.axis)
    if ctx.reduction == "mean":
        return g / ctx.denom
    return g


def _dloss_dx(ctx):
    """s * softmax(x) - A: the gradient of each sample's loss with respect to its logits."""
    x = ctx.x
    soft = exp(x - logsumexp(x, ctx.axis, True))
    a, s = _coefficients(ctx, x.shape, x.dtype)
    return (soft - a) if s is None else (soft * s - a)


def cross_entropy_vjp(ctx, g):
    """d loss = g * (s softmax(x) - A) (Note [Fused cross-entropy])."""
    return (_dloss_dx(ctx) * _per_sample(ctx, g),)


def cross_entropy_jvp(ctx, t):
    """t(loss)_i = sum_c (s_i softmax_ic - A_ic) t_ic, then the reduction."""
    per = _sum(_dloss_dx(ctx) * t, ctx.axis)
    if ctx.reduction == "none":
        return per
    total = _sum(per)
    return total / ctx.denom if ctx.reduction == "mean" else total


# NOTE: a primitive for speed and stability (Note [Fused cross-entropy]): one node instead
# of log_softmax, a gather, a product with the weights and a reduction; its rule is one
# elementwise expression.
CROSS_ENTROPY = register(OpDef("cross_entropy", _ce_forward, cross_entropy_vjp,
                               cross_entropy_jvp, save=("x",)))


def cross_entropy_indices(input, target, axis, weight, ignore_index, eps, reduction):
    """The fused cross-entropy of logits ``input`` (class dim ``axis``) against int64 class
    indices ``target`` (an array, checked by the caller: in range or ignore_index); ``weight``
    an array of C class weights or None."""
    dtype = array_of(input).dtype
    dtype = np.dtype(np.float32) if dtype == _F16 else dtype
    ignored = target == ignore_index
    any_ignored = bool(ignored.any())
    mask = wt = None
    if any_ignored:
        target = np.where(ignored, 0, target)
        mask = (~ignored).astype(dtype)
    if weight is not None:
        wt = weight[target]
        if mask is not None:
            wt = wt * mask
    elif mask is not None:
        wt = mask
    if reduction == "mean":
        denom = float(np.sum(wt)) if wt is not None else float(target.size)
    else:
        denom = None
    params = {"target": target, "axis": axis, "wt": wt, "wc": weight, "mask": mask,
              "eps": float(eps), "reduction": reduction, "denom": denom}
    return apply_unary(CROSS_ENTROPY, input, params)
