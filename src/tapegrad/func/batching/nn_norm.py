"""Batching rules of batch_norm, instance_norm (with running statistics) and
local_response_norm: per-example statistics, each example an (N, C, *S) batch of its own.

batch_norm in training normalizes each channel of an example over its (N, *S): the physical
(B, N, C, *S) is moved to (B, C, N * S), whose last dim the standardize primitive normalizes
per (example, channel) in one call. instance_norm normalizes each (sample, channel) over *S:
the batch folds into N. Running statistics are updated as the loop over the examples would:
a statistic shared by the batch takes each example's update in turn, a per-example one its
own. In evaluation, per-example running statistics, weights or biases are (B, 1, C, 1, ...)
per-channel factors. local_response_norm (a window over channels, read through a strided
view) runs once with the batch folded into N."""
import math

from . import public_rule
from ._layout import expand_batch


def _channels(v, batched, size, nd):
    """A per-channel vector (C elements; (B, C) when batched) viewed to broadcast over the
    physical (B, N, C, *S) of examples with ``nd`` dims."""
    if v is None:
        return None
    from ...nn.functional.normalization import _compute
    v = _compute(v)
    trail = (1,) * (nd - 2)
    return v.reshape((size, 1, -1) + trail) if batched else v.reshape((-1,) + trail)


def _numel_ok(vs, batched, size, c):
    return all(v is None or v.numel() == c * (size if b else 1) for v, b in zip(vs, batched))


def _affine(y, w, b, bw, bb, size, nd):
    """y * weight + bias (as the functions' own affine step), per example where batched."""
    if w is not None:
        y = y * _channels(w, bw, size, nd)
    if b is not None:
        y = y + _channels(b, bb, size, nd)
    return y


def _update(stat, batched, values, momentum):
    """The running statistic ``stat`` updated with each example's ``values`` (B, C)."""
    from ...nn.functional.normalization import _update_running
    if stat is None:
        return
    if batched:
        _update_running(stat, values, momentum)
    else:                      # one statistic, the examples' updates in turn (as the loop)
        for v in values:
            _update_running(stat, v, momentum)


def _eval(x, rm, rv, w, b, batched, size, eps, dtype):
    """x * scale + shift with scale = weight / sqrt(running_var + eps) and shift = bias -
    running_mean * scale, per example (the functions' evaluation formula)."""
    from ...nn.functional.normalization import _compute, _finish
    nd = x.ndim - 1
    x = _compute(x)
    rv = _channels(rv, batched[2], size, nd).to(x.dtype)
    rm = _channels(rm, batched[1], size, nd).to(x.dtype)
    scale = 1.0 / (rv + eps).sqrt()
    if w is not None:
        scale = _channels(w, batched[3], size, nd) * scale
    shift = -rm * scale
    if b is not None:
        shift = _channels(b, batched[4], size, nd) + shift
    return _finish(x * scale + shift, dtype)


def _check(args, batched, size):
    """The physical input (batched), its example dtype and shape, or None for layouts the
    function's own checks should refuse (the loop then raises them)."""
    x = args[0]
    if size == 0 or not x.is_floating_point() or x.ndim < 3:
        return None
    x = x if batched[0] else expand_batch(x, size)
    c = x.shape[2]
    if not _numel_ok(args[1:], batched[1:], size, c) or any(
            a is not None and a.requires_grad for a, b in zip(args[1:3], batched[1:3])):
        return None
    return x


@public_rule("batch_norm")
def batch_norm(args, batched, kw, size):
    from ...nn.functional.normalization import _check_momentum, _compute, _finish
    from ...ops.nn.normalization import Moments, standardize
    x = _check(args, batched, size)
    if x is None:
        return None
    _, rm, rv, w, b = args
    dtype, eps = args[0]._data.dtype, kw["eps"]
    if not kw["training"]:
        if rm is None or rv is None or eps < 0 or not (batched[1] or batched[2]):
            return None          # (shared statistics: batch_norm batches op by op)
        return _eval(x, rm, rv, w, b, batched, size, eps, dtype)
    momentum = _check_momentum(kw["momentum"], "batch_norm")
    shape = tuple(x.shape)                        # (B, N, C, *S)
    n, c, spatial = shape[1], shape[2], shape[3:]
    count = n * math.prod(spatial)
    if count <= 1 or eps <= 0 or (rm is None) != (rv is None):
        return None
    moments = Moments(read=rm is not None)
    y = standardize(_compute(x).movedim(1, 2).reshape(size, c, count), (2,), eps, moments)
    y = y.reshape((size, c, n) + spatial).movedim(2, 1)
    if rm is not None:
        _update(rm, batched[1], moments.mean.reshape(size, c), momentum)
        _update(rv, batched[2], moments.var.reshape(size, c) * (count / (count - 1)),
                momentum)
    return _finish(_affine(y, w, b, batched[3], batched[4], size, x.ndim - 1), dtype)


@public_rule("instance_norm")
def instance_norm(args, batched, kw, size):
    from ...nn.functional.normalization import _check_momentum, _compute, _finish
    from ...ops.nn.normalization import Moments, standardize
    x = _check(args, batched, size)
    if x is None:
        return None
    _, rm, rv, w, b = args
    dtype, eps = args[0]._data.dtype, kw["eps"]
    if not kw["use_input_stats"]:
        if rm is None or rv is None or eps < 0 or not (batched[1] or batched[2]):
            return None
        return _eval(x, rm, rv, w, b, batched, size, eps, dtype)
    if rm is None and rv is None:
        return None              # no statistic to keep: standardize's own rule batches it
    momentum = _check_momentum(kw["momentum"], "instance_norm")
    shape = tuple(x.shape)                        # (B, N, C, *S): B * N instances
    n, c, spatial = shape[1], shape[2], math.prod(shape[3:])
    if spatial <= 1 or rm is None or rv is None:
        return None
    # (not the function on the folded batch: it would average all B * N instances at once)
    moments = Moments(read=True)
    folded = _compute(x).reshape((size * n,) + shape[2:])
    y = standardize(folded, tuple(range(2, folded.ndim)), eps, moments).reshape(shape)
    if n:
        _update(rm, batched[1], moments.mean.reshape(size, n, c).mean(1), momentum)
        unbiased = moments.var.reshape(size, n, c) * (spatial / (spatial - 1))
        _update(rv, batched[2], unbiased.mean(1), momentum)
    return _finish(_affine(y, w, b, batched[3], batched[4], size, x.ndim - 1), dtype)


@public_rule("local_response_norm")
def local_response_norm(args, batched, kw, size):
    from ...nn.functional import local_response_norm as lrn
    (x,) = args
    if x.ndim < 4:
        return None
    shape = tuple(x.shape)
    out = lrn(x.reshape((shape[0] * shape[1],) + shape[2:]), **kw)
    return out.reshape(shape)
