"""Batching rules of the pools. Every pool works on the last d (spatial) dims of an (N, C, *S)
or (C, *S) input, so the batch folds into N: a (C, *S) example's physical tensor (B, C, *S)
already is an (N, C, *S) input, and (N, C, *S) examples are reshaped to (B * N, C, *S) and
back. The primitives (max_pool's gather, max_unpool's scatter, avg_pool and its adjoint) work
on trailing dims too: the batch dim is one more leading dim, with the positions of a gather
or scatter shared by the batch broadcast over it.

The public functions read values before their primitives (max_pool's window search,
max_unpool's index check, lp_pool's select), so each has a public rule that runs the function
itself on the folded physical tensors."""
import numpy as np

from . import public_rule, rule
from ._layout import check_no_batched_data, expand_batch

_DIMS = {"1d": 1, "2d": 2, "3d": 3}
POOLS = tuple(f"{kind}_pool{n}" for kind in ("max", "adaptive_max", "avg", "adaptive_avg",
                                             "lp") for n in _DIMS)
UNPOOLS = tuple(f"max_unpool{n}" for n in _DIMS)


def fold(x, d):
    """``x`` physical (batch dim first) as one (N, C, *S) input with d spatial dims, and the
    function that unfolds a result of it (the examples' N samples side by side)."""
    shape = tuple(x.shape)
    if len(shape) != d + 3:                      # (C, *S) examples: the batch is N
        return x, lambda out: out
    x = x.reshape((shape[0] * shape[1],) + shape[2:])
    return x, lambda out: out.reshape(shape[:2] + tuple(out.shape[1:]))


def _pool_rule(name):
    def pool_batch(args, batched, kw, size):
        from ...nn.functional import pooling
        x, unfold = fold(args[0], _DIMS[name[-2:]])
        out = getattr(pooling, name)(x, **kw)
        return tuple(unfold(o) for o in out) if isinstance(out, tuple) else unfold(out)
    pool_batch.__name__ = f"{name}_batch"
    return pool_batch


def _unpool_rule(name):
    def unpool_batch(args, batched, kw, size):
        from ...nn.functional import pooling
        x, idx = (a if b else expand_batch(a, size) for a, b in zip(args, batched))
        d = _DIMS[name[-2:]]
        x, unfold = fold(x, d)
        idx, _ = fold(idx, d)
        return unfold(getattr(pooling, name)(x, idx, **kw))
    unpool_batch.__name__ = f"{name}_batch"
    return unpool_batch


for _name in POOLS:
    public_rule(_name)(_pool_rule(_name))
for _name in UNPOOLS:
    public_rule(_name)(_unpool_rule(_name))


@rule("avg_pool", "avg_pool_backward")
def avg_pool(op, args, batched, params, size):
    # the window sums and the divisor only see the last d dims
    return args, params, None


@rule("max_pool", "max_unpool")
def max_pool(op, args, batched, params, size):
    """A gather (scatter) at positions fixed when the op was recorded (its backward inside
    vmap, or an input batched with the positions shared): those positions serve every
    example, so they are broadcast over the batch dim."""
    check_no_batched_data(op.name, params)
    pos = params["pos"]
    return args, dict(params, pos=np.broadcast_to(pos, (size,) + pos.shape)), None
