"""Batching rules of the losses, which read their targets' (or inputs') values before their
primitives run (class indices, masks of where the target is 1, range checks): each runs the
loss itself once on the physical tensors, unreduced, then reduces each example on its own.

Elementwise losses (smooth L1, Huber, binary cross-entropy, hinge embedding, Poisson and
Gaussian NLL) see the batch dim as one more leading dim of every operand (shared operands
expanded, so the examples' shape checks hold). The losses over samples (cross-entropy,
NLL, multi-margin, cosine embedding, CTC) fold the batch into their N: every example's N
samples become one batch of B * N samples, and 'mean' divides each example's sum by its own
count (or sum of class weights)."""
import numpy as np

from ..._core.tensor import Tensor
from . import public_rule
from ._layout import align, expand_batch


def _all_batched(args, batched, size):
    """Every tensor operand batched (shared ones as broadcast views); others as they are."""
    return [expand_batch(a, size) if isinstance(a, Tensor) and not b else a
            for a, b in zip(args, batched)]


def per_example(out, reduction):
    """The physical unreduced loss ``out`` (batch dim first) reduced within each example."""
    if reduction == "none" or out.ndim == 1:
        return out
    dims = tuple(range(1, out.ndim))
    return out.sum(dims) if reduction == "sum" else out.mean(dims)


def _fold(a):
    """(B, N, ...) as (B * N, ...)."""
    s = tuple(a.shape)
    return a.reshape((s[0] * s[1],) + s[2:])


# ---- elementwise losses -------------------------------------------------------------------------
# the tensor operands of each (as the hooks pass them), and whether they broadcast (trailing
# alignment: a lower-rank operand is padded after the batch dim); gaussian_nll_loss matches
# var's leading dims to the input's instead, as the expanded physical shapes still do.
ELEMENTWISE = {
    "smooth_l1_loss": (("input", "target"), True),
    "huber_loss": (("input", "target", "weight"), True),
    "binary_cross_entropy": (("input", "target", "weight"), True),
    "hinge_embedding_loss": (("input", "target"), True),
    "poisson_nll_loss": (("input", "target"), True),
    "gaussian_nll_loss": (("input", "target", "var"), False),
}


def _elementwise_rule(name):
    names, broadcasts = ELEMENTWISE[name]

    def elementwise_loss_batch(args, batched, kw, size):
        from ...nn import functional as F
        args = _all_batched(args, batched, size)
        if broadcasts:
            args = align(args, [isinstance(a, Tensor) for a in args])
        kw = dict(kw)
        reduction = kw.pop("reduction")
        out = getattr(F, name)(**dict(zip(names, args)), reduction="none", **kw)
        return per_example(out, reduction)
    elementwise_loss_batch.__name__ = f"{name}_batch"
    return elementwise_loss_batch


for _name in ELEMENTWISE:
    public_rule(_name)(_elementwise_rule(_name))


# ---- class-index losses -------------------------------------------------------------------------
def _class_loss(name, args, batched, kw, size):
    """cross_entropy / nll_loss with class indices: input (C,), (N, C) or (N, C, d1, ...)
    per example; the examples' samples as one batch (a (C,) example is one sample). Class
    weights of each example weigh its samples' unweighted losses by w[t]."""
    from ...nn import functional as F
    from ...ops.creation import ones_like
    x, t, w = args
    if t.is_floating_point():
        return None      # probabilities: a composite, which batches op by op
    x, t = _all_batched((x, t), batched[:2], size)
    samples = x.ndim > 2                          # the examples have an N dim
    per_weight = batched[2]
    if per_weight and (w.requires_grad or kw.get("label_smoothing") or w.dtype != x.dtype
                       or tuple(w.shape[1:]) != (x.shape[1 + samples],)):
        return None      # (smoothing weighs every class; the others are the loop's errors)
    fn = getattr(F, name)
    kw = dict(kw)
    reduction, ignore = kw.pop("reduction"), kw["ignore_index"]
    xf, tf = (_fold(x), _fold(t)) if samples else (x, t)
    out = fn(xf, tf, weight=None if per_weight else w, reduction="none", **kw)
    if per_weight:       # w[t] of every sample, 0 where ignored: the NLL of -w laid out as x
        trail = (1,) * (x.ndim - 2 - samples)
        wx = w.reshape((size,) + (1,) * samples + (w.shape[1],) + trail).expand(x.shape)
        picked = -F.nll_loss(_fold(wx) if samples else wx, tf, ignore_index=ignore,
                             reduction="none")
        out = out * picked
    else:                # the same from the shared weights (1 each without weights)
        picked = -F.nll_loss(ones_like(xf), tf, weight=w, ignore_index=ignore,
                             reduction="none") if reduction == "mean" else None
    if samples:
        out = out.reshape(tuple(t.shape[:2]) + tuple(out.shape[1:]))
    if reduction == "none":
        return out
    total = per_example(out, "sum")
    if reduction == "sum":
        return total
    # 'mean': each example's sum over its weight total (w[t] of its kept targets)
    if samples:
        picked = picked.reshape(tuple(t.shape[:2]) + tuple(picked.shape[1:]))
    denom = per_example(picked, "sum")
    # no kept weight: the loss is 0 / 0 = nan with gradient 0 (as the function's own 'mean'),
    # not the nan gradient of dividing by 0: divide by 1 there and add nan
    empty = (denom == 0).to(denom.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        nan = (empty * 0) / (1 - empty)
    return total / (denom + empty) + nan


@public_rule("cross_entropy")
def cross_entropy(args, batched, kw, size):
    return _class_loss("cross_entropy", args, batched, kw, size)


@public_rule("nll_loss")
def nll_loss(args, batched, kw, size):
    return _class_loss("nll_loss", args, batched, kw, size)


# ---- losses over (N, D) samples -----------------------------------------------------------------
def _sample_rule(name, n_inputs):
    """multi_margin_loss (input, target; weight) and cosine_embedding_loss (input1, input2,
    target): (N, D) or (D,) inputs with one target per sample. Per-example class weights of
    multi_margin_loss weigh each sample's unweighted loss by w[y] (as its formula does; no
    gradient reaches them, as without vmap)."""
    def sample_loss_batch(args, batched, kw, size):
        from ...nn import functional as F
        lead = _all_batched(args[:n_inputs], batched[:n_inputs], size)
        samples = lead[0].ndim > 2
        w = args[n_inputs] if len(args) > n_inputs else None
        per_weight = w is not None and batched[n_inputs]
        wx = None
        if per_weight:      # w laid out as the input, to read w[y] as an NLL below
            if tuple(w.shape[1:]) != (lead[0].shape[-1],) or not w.is_floating_point():
                return None                        # (the function's own errors)
            w = w.detach()
            wx = w.unsqueeze(1).expand(lead[0].shape) if samples else w
        if samples:
            lead = [_fold(a) for a in lead]
            wx = None if wx is None else _fold(wx)
        kw = dict(kw)
        reduction = kw.pop("reduction")
        if w is not None and not per_weight:
            kw["weight"] = w
        out = getattr(F, name)(*lead, reduction="none", **kw)
        if per_weight:
            out = out * -F.nll_loss(wx.to(out.dtype), lead[1], reduction="none")
        if samples:
            out = out.reshape(size, -1)
        return per_example(out, reduction)
    sample_loss_batch.__name__ = f"{name}_batch"
    return sample_loss_batch


public_rule("multi_margin_loss")(_sample_rule("multi_margin_loss", 2))
public_rule("cosine_embedding_loss")(_sample_rule("cosine_embedding_loss", 3))


# ---- CTC ----------------------------------------------------------------------------------------
def _lengths(v, b, size):
    """A length argument of every example, folded: (B * N,) (a tensor stays a tensor)."""
    if isinstance(v, Tensor):
        return (v if b else expand_batch(v, size)).reshape(-1)
    return np.tile(np.asarray(v).reshape(-1), size)


@public_rule("ctc_loss")
def ctc_loss(args, batched, kw, size):
    """(T, N, C) examples as one (T, B * N, C) batch (a (T, C) example is one sequence);
    targets and lengths folded the same way (concatenated targets stay in order)."""
    from ...nn import functional as F
    from ...ops.creation import as_tensor
    lp, targets, in_len, tg_len = args
    lp = lp if batched[0] else expand_batch(lp, size)
    samples = lp.ndim == 4
    lp = lp.movedim(0, 1)                         # (T, B, N, C) or (T, B, C)
    if samples:
        s = tuple(lp.shape)
        lp = lp.reshape((s[0], s[1] * s[2], s[3]))
    if isinstance(targets, Tensor):
        targets = targets if batched[1] else expand_batch(targets, size)
        if samples and targets.ndim == 3:
            targets = _fold(targets)              # padded (B, N, S) -> (B * N, S)
        elif samples:
            targets = targets.reshape(-1)         # concatenated: the examples' in order
    else:
        t = np.asarray(targets)
        targets = np.tile(t, (size, 1)) if (t.ndim == 2 or not samples) else np.tile(t, size)
    il, tl = _lengths(in_len, batched[2], size), _lengths(tg_len, batched[3], size)
    kw = dict(kw)
    reduction = kw.pop("reduction")
    out = F.ctc_loss(lp, targets, il, tl, reduction="none", **kw).reshape(size, -1)
    if reduction == "mean":
        tl = tl if isinstance(tl, Tensor) else as_tensor(tl)
        out = out / tl.reshape(size, -1).clamp(min=1).to(out.dtype)
    if reduction == "none":
        return out if samples else out.reshape(size)
    return per_example(out, reduction)
