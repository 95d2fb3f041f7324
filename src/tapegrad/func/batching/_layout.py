"""Layout helpers the batching rules share: logical ranks, padding a batched operand so it
broadcasts as the examples do, shifting dims past the batch dim."""
import numpy as np

from ..._core.batched import LogicalArray
from ..._core.errors import NotSupportedError
from ..._core.tensor import Tensor


def ndim_of(a, batched):
    """The rank of ``a`` as one example sees it (0 for Python numbers)."""
    n = a.ndim if isinstance(a, Tensor) else np.ndim(a)
    return n - 1 if batched else n


def pad(a, rank):
    """A physical ``a`` (batch dim first) with size-1 dims inserted after the batch dim so its
    example has ``rank`` dims: it then broadcasts against unbatched operands as its examples
    do (NumPy aligns trailing dims)."""
    shape = tuple(a.shape)
    missing = rank - (len(shape) - 1)
    if missing <= 0:
        return a
    return a.reshape(shape[:1] + (1,) * missing + shape[1:])


def align(args, batched):
    """Every batched operand padded to the largest example rank among ``args``."""
    rank = max((ndim_of(a, b) for a, b in zip(args, batched)
                if isinstance(a, (Tensor, np.ndarray))), default=0)
    return [pad(a, rank) if b else a for a, b in zip(args, batched)]


def expand_batch(a, size):
    """An unbatched operand made batched (a broadcast view, no copy)."""
    from ...ops.shape import expand
    if not isinstance(a, Tensor):
        from ...ops.creation import as_tensor
        a = as_tensor(a)
    return expand(a.unsqueeze(0), (size,) + tuple(a.shape))


def shift(dims):
    """Non-negative dims (an int or a tuple) moved past the batch dim."""
    if dims is None:
        return None
    if isinstance(dims, int):
        return dims + 1 if dims >= 0 else dims
    return tuple(d + 1 if d >= 0 else d for d in dims)


def check_no_batched_data(name, params):
    """Refuse params computed from a batched tensor's values (they hold one example only)."""
    for v in params.values():
        vs = v if isinstance(v, tuple) else (v,)
        if any(isinstance(x, LogicalArray) for x in vs):
            raise NotSupportedError(
                f"vmap: {name} used the values of a batched tensor to set up the op (e.g. "
                "indices or a mask taken from a batched tensor), which vmap can't batch yet. "
                "Pass that tensor with in_dims=None, or loop over the batch.")
