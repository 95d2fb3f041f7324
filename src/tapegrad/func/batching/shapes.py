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


# ---- view chains (Note [Views and in-place ops] in ops/registry.py) ---------------------------
# How each view op's params move past the batch dim, for the view chains that view_of (a view
# re-taken from its base) and view_scatter (a region of the base replaced: basic slicing's
# backward) record.
_CHAIN_PARAMS = {
    "getitem": lambda p, size: {"key": (slice(None),) + tuple(p["key"]),
                                "in_shape": (size,) + tuple(p["in_shape"])},
    "reshape": lambda p, size: {"shape": (size,) + tuple(p["shape"]),
                                "in_shape": (size,) + tuple(p["in_shape"])},
    "permute": lambda p, size: {"dims": (0,) + tuple(d + 1 for d in p["dims"])},
}


def _batched_chain(chain, size):
    """The chain for the physical base, or None when a view op in it has no translation."""
    out = []
    for op, p in chain:
        move = _CHAIN_PARAMS.get(op.name)
        if move is None:
            return None
        out.append((op, move(p, size)))
    return tuple(out)


@rule("view_of")
def view_of(op, args, batched, params, size):
    chain = _batched_chain(params["chain"], size)
    if chain is None:
        return None
    return args, {"chain": chain, "base_shape": (size,) + tuple(params["base_shape"])}, None


@rule("view_scatter")
def view_scatter(op, args, batched, params, size):
    chain = _batched_chain(params["chain"], size)
    if chain is None:
        return None
    (b, r), (bb, br) = args, batched
    if not bb:
        b = expand_batch(b, size)       # the forward copies it: every example its own base
    if br:                              # pad r to the region's example rank
        from ...ops.registry import apply_chain
        region = apply_chain(np.broadcast_to(np.zeros((), np.int8), tuple(b.shape)), chain)
        r = pad(r, region.ndim - 1)
    return [b, r], {"chain": chain}, None
