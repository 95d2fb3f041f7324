"""Batching rules of losses that read their targets' values (class indices) before their
primitive runs: the examples' samples become one batch of samples, with the loss reduced per
example afterwards."""
from . import public_rule
from ._layout import expand_batch


@public_rule("cross_entropy")
def cross_entropy(args, batched, kw, size):
    from ...nn.functional import cross_entropy as ce
    x, t = args
    if kw["weight"] is not None or t.is_floating_point():
        return None        # class weights, or probabilities (a composite: batches by itself)
    x = x if batched[0] else expand_batch(x, size)
    t = t if batched[1] else expand_batch(t, size)
    nd = x.ndim - 1                               # the example's input rank
    if nd not in (1, 2):
        return None                               # (N, C, d1, ...): example by example
    reduction, ignore = kw["reduction"], kw["ignore_index"]
    if nd == 2:                                   # every example's N samples as one batch
        n, c = x.shape[1], x.shape[2]
        losses = ce(x.reshape(size * n, c), t.reshape(size * n), ignore_index=ignore,
                    reduction="none", label_smoothing=kw["label_smoothing"]).reshape(size, n)
    else:
        losses = ce(x, t, ignore_index=ignore, reduction="none",
                    label_smoothing=kw["label_smoothing"])
    if reduction == "none":
        return losses
    total = losses.sum(-1) if nd == 2 else losses
    if reduction == "sum":
        return total
    kept = (t != ignore)
    return total / (kept.sum(-1) if nd == 2 else kept)
