"""Batching rules of the primitives that work along dims: reductions, softmaxes, scans,
flips and rolls. Their public functions already turned the user's dims into non-negative
example dims and recorded the example shapes the backward needs, so each rule moves the dims
past the batch dim and puts the batch size in front of each recorded shape."""
from . import rule
from ._layout import align, expand_batch, shift


def _batch_shapes(params, size, *names):
    for n in names:
        if n in params:
            params[n] = (size,) + tuple(params[n])


@rule("sum", "mean", "amax", "amin", "prod", "logsumexp", "var", "std", "vector_norm")
def reduction(op, args, batched, params, size):
    p = dict(params)
    p["axes"] = shift(p["axes"])
    _batch_shapes(p, size, "in_shape", "kshape")
    return args, p, None


def _scalar_examples(args, params, size):
    """A 0-d example's op along "its" dim: run on (size, 1) along dim 1, and reshape back."""
    return [args[0].reshape(size, 1)], dict(params, dim=1), lambda out: out.reshape(size)


@rule("cumsum", "cumprod", "logcumsumexp")
def scan(op, args, batched, params, size):
    if args[0].ndim == 1:
        return _scalar_examples(args, params, size)
    return args, dict(params, dim=shift(params["dim"])), None


@rule("cross")
def cross(op, args, batched, params, size):
    # NumPy's cross takes the dim in both operands: both get the batch dim
    args = [a if b else expand_batch(a, size) for a, b in zip(args, batched)]
    return align(args, [True] * len(args)), dict(params, dim=shift(params["dim"])), None


@rule("softmax", "log_softmax")
def softmax(op, args, batched, params, size):
    if params["dim"] is None:     # one example is a 0-d tensor: its own softmax
        return _scalar_examples(args, params, size)
    return args, {"dim": params["dim"] + 1}, None


@rule("flip")
def flip(op, args, batched, params, size):
    return args, {"dims": shift(params["dims"])}, None


@rule("roll")
def roll(op, args, batched, params, size):
    if params["dims"] is None:    # a roll of the flattened example
        x = args[0]
        shape = tuple(x.shape)
        return ([x.reshape(size, -1)], dict(params, dims=(1,)),
                lambda out: out.reshape(shape))
    return args, dict(params, dims=shift(params["dims"])), None
