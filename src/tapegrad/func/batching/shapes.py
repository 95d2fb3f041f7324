"""Batching rules of the view, reshape, join and indexing primitives: the batch dim is put in
front of every shape and index they record."""
import numpy as np

from . import rule
from ._layout import check_no_batched_data, expand_batch, pad


@rule("reshape")
def reshape(op, args, batched, params, size):
    return args, {"shape": (size,) + tuple(params["shape"]),
                  "in_shape": (size,) + tuple(params["in_shape"])}, None


@rule("permute")
def permute(op, args, batched, params, size):
    return args, {"dims": (0,) + tuple(d + 1 for d in params["dims"])}, None


@rule("expand")
def expand(op, args, batched, params, size):
    shape = tuple(params["shape"])
    x = pad(args[0], len(shape))
    return [x], {"shape": (size,) + shape, "in_shape": tuple(x.shape)}, None


def _all_batched(args, batched, size):
    return [a if b else expand_batch(a, size) for a, b in zip(args, batched)]


@rule("cat")
def cat(op, args, batched, params, size):
    return _all_batched(args, batched, size), dict(params, dim=params["dim"] + 1), None


@rule("stack")
def stack(op, args, batched, params, size):
    return _all_batched(args, batched, size), {"dim": params["dim"] + 1}, None


@rule("getitem")
def getitem(op, args, batched, params, size):
    return args, {"key": (slice(None),) + tuple(params["key"]),
                  "in_shape": (size,) + tuple(params["in_shape"])}, None


def _advanced_split(key):
    """Whether NumPy moves the advanced-index dims to the front for ``key`` (advanced indices
    not next to each other), and the rank of their broadcast shape."""
    arrays = [k for k in key if isinstance(k, np.ndarray)]
    if not arrays:
        return False, 0
    positions = [i for i, k in enumerate(key)
                 if isinstance(k, np.ndarray) or isinstance(k, (int, np.integer))]
    split = positions != list(range(positions[0], positions[0] + len(positions)))
    rank = len(np.broadcast_shapes(*[np.shape(k) for k in key
                                     if isinstance(k, np.ndarray) and k.dtype != bool]
                                   or [()]))
    if any(k.dtype == bool for k in arrays):
        rank = max(rank, 1)
    return split, rank


@rule("index")
def index(op, args, batched, params, size):
    check_no_batched_data("indexing", params)
    key = tuple(params["key"])
    split, rank = _advanced_split(key)
    p = {"key": (slice(None),) + key, "in_shape": (size,) + tuple(params["in_shape"])}
    if split:     # the index dims went first, the batch dim after them: bring it back
        return args, p, lambda out: out.movedim(rank, 0)
    return args, p, None

