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


def _class_reduce(ufunc, x, axis):
    """ufunc.reduce over the class dim, keepdims.
    # NOTE: NumPy reduces the last axis of a (N, C) array with a short C (say 10 logits) 4 to
    # 5 times slower than the first axis of the (C, N) transpose (no vector loop along short
    # rows); a transposed copy is cheap at that size and makes the reduction elementwise."""
    if axis == 1 and x.ndim == 2 and x.shape[1] <= 64:
        return ufunc.reduce(np.ascontiguousarray(x.T), axis=0)[:, None]
    return ufunc.reduce(x, axis=axis, keepdims=True)


def _ce_forward(x, *, target, axis, wt, wc, mask, eps, reduction, denom):
    dtype = x.dtype
    if dtype == _F16:
        x = x.astype(np.float32)       # float16 computes in float32, rounds once at the end
    z = x - _class_reduce(np.maximum, x, axis)
    lse = np.log(_class_reduce(np.add, np.exp(z), axis))
    if x.ndim == 2 and axis == 1:                        # -log_softmax at the target
        loss = lse[:, 0] - z[np.arange(x.shape[0]), target]
    else:
        loss = np.squeeze(lse - np.take_along_axis(z, np.expand_dims(target, axis), axis), axis)
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
        loss = loss.sum()
    elif reduction == "mean":
        if denom:
            loss = loss.sum() / denom
        else:                  # every target ignored (or none): 0 / 0 = nan, as PyTorch
            with np.errstate(invalid="ignore", divide="ignore"):
                loss = loss.sum() / np.asarray(denom, dtype=loss.dtype)
    return np.asarray(loss, dtype=dtype)


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
        if ctx.denom == 0 and ctx.mask is not None:
            # every weight is 0 (the loss is 0 / 0 = nan, as PyTorch): the gradient is 0 at
            # ignored targets and nan where a zero class weight meets 1 / 0, as PyTorch's
            scale = np.where(ctx.mask > 0, np.inf, 0.0).astype(ctx.mask.dtype)
            return g * np.expand_dims(scale, ctx.axis)
        return g / ctx.denom
    return g


def _dloss_dx(ctx):
    """s * softmax(x) - A: the gradient of each sample's loss with respect to its logits."""
    x = ctx.x
    if type(x) is np.ndarray and x.dtype != _F16:
        return _dloss_dx_array(ctx, x)
    soft = exp(x - logsumexp(x, ctx.axis, True))
    a, s = _coefficients(ctx, x.shape, array_of(x).dtype)
    return (soft - a) if s is None else (soft * s - a)


def _dloss_dx_array(ctx, x):
    """_dloss_dx on a float32/float64 array, in place in one fresh buffer.
    # NOTE: the same formula as _dloss_dx, spelled in NumPy for the fast path (it is the
    # MLP step's loss): no dense A and no wrapper calls; the one-hot part is a scatter."""
    axis = ctx.axis
    soft = x - _class_reduce(np.maximum, x, axis)
    np.exp(soft, out=soft)
    soft /= _class_reduce(np.add, soft, axis)
    if ctx.wt is None and not ctx.eps and x.ndim == 2 and axis == 1:
        soft[np.arange(x.shape[0]), ctx.target] -= 1      # the plain case: softmax - onehot
        return soft
    a, s = _coefficients(ctx, x.shape, x.dtype)
    if s is not None:
        soft *= s
    soft -= a
    return soft


def cross_entropy_vjp(ctx, g):
    """d loss = g * (s softmax(x) - A) (Note [Fused cross-entropy])."""
    grad = _dloss_dx(ctx)
    coef = _per_sample(ctx, g)
    if ctx.reduction == "mean" and ctx.denom == 0:
        with np.errstate(invalid="ignore"):        # 0 * inf: nan, as PyTorch
            return (grad * coef,)
    if type(grad) is np.ndarray and isinstance(coef, (np.ndarray, np.generic)) \
            and coef.dtype == grad.dtype:
        grad *= coef               # grad is a fresh buffer of the fast path
        return (grad,)
    return (grad * coef,)


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
    an array of C class weights or None; ignore_index None when no target can equal it."""
    dtype = array_of(input).dtype
    dtype = np.dtype(np.float32) if dtype == _F16 else dtype
    mask = wt = None
    if ignore_index is not None:
        ignored = target == ignore_index
        ignore_index = None if not ignored.any() else ignore_index
    if ignore_index is not None:
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


# ---- CTC ----------------------------------------------------------------------------------------
# Note [CTC recursions]
# Each target y (length S) is extended to y' = (blank, y1, blank, y2, ..., yS, blank) of length
# L = 2S + 1. alpha[t, s] is the log-probability of all paths through y'[:s+1] that end at
# position s at time t; beta[t, s] that of the paths from (t, s) to the end, both including
# log_probs[t, y'_s]. alpha[t, s] = logsumexp(alpha[t-1, s], alpha[t-1, s-1], alpha[t-1, s-2])
# + lp[t, y'_s], the s-2 term only where y'_s is not blank and differs from y'_{s-2}; beta runs
# the mirror image. The batch is padded to the longest target and input: both recursions are
# vectorized over (batch, position) and loop over time only. The loss is
# -logsumexp(alpha[T-1, L-1], alpha[T-1, L-2]).
# The gradient is PyTorch's: exp(lp[t, c]) - gamma[t, c] for t < T, where gamma[t, c] =
# sum_{s: y'_s = c} exp(alpha[t, s] + beta[t, s] - lp[t, y'_s] + loss) is the posterior of
# class c at time t. The exp(lp) term assumes log_probs come from a log_softmax (PyTorch's
# convention): along any direction that keeps them normalized it adds nothing, and through
# log_softmax it gives the exact gradient of the logits, softmax - gamma.
_NEG_INF = -np.inf


def _logsumexp3(a, b, c):
    m = np.maximum(np.maximum(a, b), c)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - m) + np.exp(b - m) + np.exp(c - m)) + m


def _shift(a, k, fill=_NEG_INF):
    """a moved k positions along its last axis (right for k > 0), filled with -inf."""
    out = np.full_like(a, fill)
    if k > 0:
        out[..., k:] = a[..., :-k]
    else:
        out[..., :k] = a[..., -k:]
    return out


def _ctc_setup(lp, targets, input_lengths, target_lengths, blank):
    """Extended targets (N, L), the log-probabilities along them (T, N, L), the skip mask and
    per-sample (T_n, L_n)."""
    n_batch = lp.shape[1]
    s_max = targets.shape[1]
    big_l = 2 * s_max + 1
    ext = np.full((n_batch, big_l), blank, dtype=np.int64)
    valid = np.arange(s_max) < target_lengths[:, None]
    ext[:, 1::2] = np.where(valid, targets, blank)       # padding reads as blank
    lp_ext = np.take_along_axis(lp, ext[None], axis=2)    # (T, N, L)
    skip = np.zeros((n_batch, big_l), dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    return ext, lp_ext, skip, input_lengths, 2 * target_lengths + 1


def _ctc_alpha(lp_ext, skip, t_len):
    big_t, n_batch, big_l = lp_ext.shape
    alpha = np.full(lp_ext.shape, _NEG_INF, dtype=lp_ext.dtype)
    alpha[0, :, :2] = lp_ext[0, :, :2]
    for t in range(1, big_t):                  # time only: batch and positions vectorized
        prev = alpha[t - 1]
        two = np.where(skip, _shift(prev, 2), _NEG_INF)
        new = _logsumexp3(prev, _shift(prev, 1), two) + lp_ext[t]
        alpha[t] = np.where((t < t_len)[:, None], new, _NEG_INF)
    return alpha


def _ctc_nll(alpha, t_len, l_len):
    n = np.arange(alpha.shape[1])
    end = np.maximum(t_len - 1, 0)
    last = alpha[end, n, l_len - 1]
    before = np.where(l_len > 1, alpha[end, n, np.maximum(l_len - 2, 0)], _NEG_INF)
    m = np.maximum(last, before)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        nll = -(np.log(np.exp(last - m) + np.exp(before - m)) + m)
    # an empty input aligns only with an empty target (loss 0; inf otherwise), as PyTorch
    return np.where(t_len == 0, np.where(l_len == 1, 0.0, np.inf), nll)


def _ctc_forward(lp, *, targets, input_lengths, target_lengths, blank, zero_infinity):
    dtype = lp.dtype
    if dtype == _F16:
        lp = lp.astype(np.float32)
    _, lp_ext, skip, t_len, l_len = _ctc_setup(lp, targets, input_lengths, target_lengths,
                                               blank)
    nll = _ctc_nll(_ctc_alpha(lp_ext, skip, t_len), t_len, l_len)
    if zero_infinity:
        nll = np.where(np.isinf(nll), 0.0, nll)
    return nll.astype(dtype)


def _ctc_grad(ctx):
    """exp(lp) - gamma (Note [CTC recursions]) as a constant array, zero for t >= T_n."""
    lp = array_of(ctx.x)
    dtype = lp.dtype
    lp = lp.astype(np.float32) if dtype == _F16 else lp
    ext, lp_ext, skip, t_len, l_len = _ctc_setup(lp, ctx.targets, ctx.input_lengths,
                                                 ctx.target_lengths, ctx.blank)
    alpha = _ctc_alpha(lp_ext, skip, t_len)
    nll = _ctc_nll(alpha, t_len, l_len)
    big_t, n_batch, big_l = lp_ext.shape
    positions = np.arange(big_l)
    ends = (positions == (l_len - 1)[:, None]) | (positions == (l_len - 2)[:, None])
    beta = np.full(lp_ext.shape, _NEG_INF, dtype=lp.dtype)
    skip_next = np.zeros_like(skip)
    skip_next[:, :-2] = skip[:, 2:]            # may s jump to s + 2
    for t in range(big_t - 1, -1, -1):
        if t + 1 < big_t:
            nxt = beta[t + 1]
            two = np.where(skip_next, _shift(nxt, -2), _NEG_INF)
            rec = _logsumexp3(nxt, _shift(nxt, -1), two) + lp_ext[t]
        else:
            rec = np.full((n_batch, big_l), _NEG_INF, dtype=lp.dtype)
        start = np.where(ends, lp_ext[t], _NEG_INF)
        is_last = (t == t_len - 1)[:, None]
        beta[t] = np.where(is_last, start, np.where((t < t_len - 1)[:, None], rec, _NEG_INF))
    with np.errstate(invalid="ignore", over="ignore"):
        post = np.exp(alpha + beta - lp_ext + nll[None, :, None])
    gamma = np.zeros(lp.shape, dtype=lp.dtype)
    n_idx = np.broadcast_to(np.arange(n_batch)[:, None], ext.shape)
    for t in range(big_t):                     # scatter-add per step: positions share classes
        np.add.at(gamma[t], (n_idx, ext), post[t])
    grad = np.exp(lp) - gamma
    # an impossible alignment: nan (as PyTorch), or 0 under zero_infinity
    grad[:, np.isinf(nll)] = 0 if ctx.zero_infinity else np.nan
    grad[np.arange(big_t)[:, None] >= t_len[None, :]] = 0
    return grad.astype(dtype, copy=False)


def ctc_loss_vjp(ctx, g):
    """d loss_n = g_n (exp(lp) - gamma) (Note [CTC recursions]); constant in lp."""
    return (_ctc_grad(ctx) * unsqueeze(unsqueeze(g, 0), -1),)


def ctc_loss_jvp(ctx, t):
    return _sum(_ctc_grad(ctx) * t, (0, 2))


# NOTE: a primitive for speed: the recursions run over padded (batch, position) arrays in
# log space, a Python loop over time only; as a composite they would record a node per
# step and position. Its rule is a constant computed from alpha and beta in NumPy, so it is
# not differentiable twice (as in PyTorch, whose CTC backward has no derivative either).
CTC_LOSS = register(OpDef("ctc_loss", _ctc_forward, ctc_loss_vjp, ctc_loss_jvp, save=("x",)))


def ctc_nll(log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
    """Per-sample CTC negative log-likelihood (N,) of checked (T, N, C) log_probs, padded
    int64 targets (N, S) and int64 length arrays."""
    params = {"targets": targets, "input_lengths": input_lengths,
              "target_lengths": target_lengths, "blank": blank, "zero_infinity": zero_infinity}
    return apply_unary(CTC_LOSS, log_probs, params)
