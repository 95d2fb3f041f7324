"""Batching rules of the rest of nn.functional: resampling (pad, interpolate, grid_sample,
affine_grid), attention with a per-example mask, unfold/fold and gumbel_softmax's hard step.

The ``resample`` primitive (a constant sparse map along one dim) sees the batch dim as one
more dim it maps over, so only the dim moves: interpolate, the non-constant pads and
affine_grid then batch op by op. Constant padding (an index_put into a new array) runs on the
physical tensor, whose padded dims are the same last dims; grid_sample reads the grid's values
to build its taps, and unfold/fold take (N, C, ...) images, so the batch folds into their N.
conv_weight (conv's weight adjoint, batched by vmap of a vjp) puts each example's gradient
in output channels of its own."""
from . import public_rule, rule
from ._layout import align, expand_batch, shift


@rule("resample")
def resample(op, args, batched, params, size):
    return args, dict(params, dim=shift(params["dim"])), None


@public_rule("pad")
def pad(args, batched, kw, size):
    if kw["mode"] != "constant":
        return None                  # gathers along the padded dims: resample's rule
    from ...nn.functional import pad as pad_
    return pad_(args[0], **kw)       # the last dims, which the batch dim leaves in place


@public_rule("grid_sample")
def grid_sample(args, batched, kw, size):
    """(N, C, H, W) images and (N, H_out, W_out, 2) grids: B * N of each."""
    from ...nn.functional import grid_sample as gs
    x, g = (a if b else expand_batch(a, size) for a, b in zip(args, batched))
    xs, gs_ = tuple(x.shape), tuple(g.shape)
    out = gs(x.reshape((xs[0] * xs[1],) + xs[2:]), g.reshape((gs_[0] * gs_[1],) + gs_[2:]),
             **kw)
    return out.reshape(xs[:2] + tuple(out.shape[1:]))


@public_rule("scaled_dot_product_attention")
def scaled_dot_product_attention(args, batched, kw, size):
    """A per-example attn_mask (a bool mask becomes the bias by value): the whole attention
    on the physical tensors, whose leading dims broadcast as the examples' do once padded to
    one example rank (q is expanded, so the scores carry the batch dim the mask has).
    Otherwise (or with dropout, whose mask follows vmap's randomness) it batches op by op."""
    if not batched[3] or kw["dropout_p"] > 0.0:
        return None
    from ...nn.functional import scaled_dot_product_attention as sdpa
    q, k, v, mask = args
    batched = list(batched)
    if not batched[0]:
        q, batched[0] = expand_batch(q, size), True
    q, k, v, mask = align([q, k, v, mask], batched)
    return sdpa(q, k, v, mask, **kw)


@rule("unfold", "fold")
def unfold(op, args, batched, params, size):
    """im2col (N, C, H, W) -> (N, C * K, L) and col2im back: the examples' N images (or
    block matrices) side by side, B * N of them in one call."""
    shape = tuple(args[0].shape)
    x = args[0].reshape((shape[0] * shape[1],) + shape[2:])
    return [x], params, lambda out: out.reshape(shape[:2] + tuple(out.shape[1:]))


@public_rule("gumbel_softmax_hard")
def gumbel_softmax_hard(args, batched, kw, size):
    """The argmax one-hot of each example's soft sample: the same along the shifted dim."""
    from ...nn.functional.activations_softmax import hard_sample
    d = kw["dim"]
    return hard_sample(args[0], None if d is None else d + 1)


@rule("conv_weight")
def conv_weight(op, args, batched, params, size):
    """conv's adjoint in its weight, conv_weight(x, g) -> (O, C / groups, *kernel) summed
    over the samples N (the weight gradient, batched by vmap of a vjp: jacrev's rows). Each
    example's gradient is one more block of output channels: with x shared, the examples'
    cotangents join each group's output channels (group-major, so groups stay contiguous);
    with x per example too, every example's channels are groups of their own."""
    x, g = args
    groups = params["groups"]
    if not batched[0]:
        gs = tuple(g.shape)                       # (B, N, O, *So)
        og = gs[2] // groups
        g = g.reshape((size, gs[1], groups, og) + gs[3:]).movedim(0, 2)
        g = g.reshape((gs[1], groups * size * og) + gs[3:])

        def back(out):                            # (groups * B * og, C / groups, *kernel)
            os_ = tuple(out.shape)
            out = out.reshape((groups, size, og) + os_[1:]).movedim(1, 0)
            return out.reshape((size, groups * og) + os_[1:])
        return [x, g], params, back
    if not batched[1]:
        g = expand_batch(g, size)
    xs, gs = tuple(x.shape), tuple(g.shape)       # (B, N, C, *S), (B, N, O, *So)
    x = x.movedim(0, 1).reshape((xs[1], size * xs[2]) + xs[3:])
    g = g.movedim(0, 1).reshape((gs[1], size * gs[2]) + gs[3:])
    return [x, g], dict(params, groups=groups * size), \
        lambda out: out.reshape((size, gs[2]) + tuple(out.shape[1:]))
