"""Batching rules of the nn.functional primitives. Convolutions fold the batch into N when
only the input is per-example, and into the channels (as groups) when the weight is too, so
each is still one call."""
import math

from . import rule
from ._layout import align, expand_batch


@rule("conv", "conv_transpose")
def conv(op, args, batched, params, size):
    x, w, b = args
    bx, bw, bb = batched
    if not (bw or bb):             # the examples' N images side by side: one conv
        shape = tuple(x.shape)
        x = x.reshape((shape[0] * shape[1],) + shape[2:])
        return [x, w, b], params, lambda out: out.reshape(shape[:2] + tuple(out.shape[1:]))
    # a per-example weight: each example's channels are a group of their own
    if not bx:
        x = expand_batch(x, size)
    if not bw:
        w = expand_batch(w, size)
    xs, ws = tuple(x.shape), tuple(w.shape)       # (B, N, C, ...), (B, O, C/g, ...)
    x = x.movedim(0, 1).reshape((xs[1], size * xs[2]) + xs[3:])
    w = w.reshape((size * ws[1],) + ws[2:])
    if b is not None:
        b = (b if bb else expand_batch(b, size)).reshape(-1)

    def back(out):
        os_ = tuple(out.shape)                     # (N, B * O, ...)
        return out.reshape((os_[0], size, os_[1] // size) + os_[2:]).movedim(1, 0)
    return [x, w, b], dict(params, groups=params["groups"] * size), back


@rule("standardize", "rms_normalize")
def normalize(op, args, batched, params, size):
    """layer_norm's and rms_norm's layout (only trailing dims normalized, each row on its
    own): the batch joins the kept rows. A leading reduced block (batch_norm's N) would need
    per-example statistics over it: that runs example by example."""
    shape, axes = tuple(params["in_shape"]), tuple(params["axes"])
    n, k = len(shape), len(axes)
    if params["moments"].read or axes != tuple(range(n - k, n)):
        return None
    rows, row = math.prod(shape[:n - k]), math.prod(shape[n - k:])
    return args, dict(params, axes=tuple(d + 1 for d in axes), view=(1, size * rows, row),
                      in_shape=(size,) + shape), None


@rule("attention_softmax")
def attention_softmax(op, args, batched, params, size):
    """q (..., L, E), k (..., S, E), bias onto (..., L, S): the batch dim is one more leading
    dim of the scores (operands padded to one example rank). The scores are made from q and
    k and the bias added in place, so a batched bias needs batched scores: q is expanded."""
    q, k, bias = args
    batched = list(batched)
    if batched[2] and not (batched[0] or batched[1]):
        q, batched[0] = expand_batch(q, size), True
    return align([q, k, bias], batched), params, None
