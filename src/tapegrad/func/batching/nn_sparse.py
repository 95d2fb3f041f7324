"""Batching rules of one_hot, embedding and embedding_bag, which read their indices' values.

The examples' indices are one index tensor (their lookups are independent), so with a weight
shared by the batch the function runs once on the physical indices. A per-example weight
(B, num, dim) is one table of B * num rows, and example b's index i reads its row
b * num + i: each example still sees only its own rows (so scale_grad_by_freq counts per
example). Bags of one example stay bags: fixed-length bags (N, L) fold into (B * N, L), and
1-d indices with offsets are the examples' indices end to end, each example's offsets
shifted by its start."""
import numpy as np

from ..._core.tensor import Tensor
from . import public_rule
from ._layout import expand_batch


def _values(t):
    """The int64 values of a physical index tensor (raises BatchedDataAccess, so an outer
    vmap loops, when they belong to an outer vmap's batch)."""
    return np.asarray(t.detach().numpy(), dtype=np.int64)


@public_rule("one_hot")
def one_hot(args, batched, kw, size):
    from ...nn.functional import one_hot as oh
    (t,) = args
    n = kw["num_classes"]
    if n == -1:                      # each example infers max + 1: the batch shares it or
        a = _values(t)               # the examples' shapes differ (the loop says so)
        if a.size == 0:
            return None
        top = a.reshape(size, -1).max(1)
        if (top != top[0]).any():
            return None
        n = int(top[0]) + 1
    return oh(t, n)


def _row_offsets(ia, size, num):
    """Each example's indices moved to its own rows of a (B * num, dim) table, or None when
    an index is out of range (the function's own check then names it)."""
    if ia.size and (ia.min() < 0 or ia.max() >= num):
        return None
    return ia + (np.arange(size, dtype=np.int64) * num).reshape((size,) + (1,) * (ia.ndim - 1))


@public_rule("embedding")
def embedding(args, batched, kw, size):
    from ...nn.functional import embedding as emb
    from ...ops.creation import tensor
    from ...ops.elementwise import where
    idx, w = args
    if not batched[1]:
        return emb(idx, w, **kw)
    if kw["max_norm"] is not None:
        return None                  # renormalizes the examples' weights in place
    kw = dict(kw)
    idx = idx if batched[0] else expand_batch(idx, size)
    num = w.shape[1]
    pad = kw.pop("padding_idx")
    if pad is not None and not -num <= pad < num:
        return None
    ia = _values(idx)
    flat = _row_offsets(ia, size, num)
    if flat is None:
        return None
    rows = emb(tensor(flat), w.reshape((size * num,) + tuple(w.shape[2:])), **kw)
    if pad is not None:              # the padding row's value, with no gradient
        rows = where((ia == pad % num)[..., None], rows.detach(), rows)
    return rows


@public_rule("embedding_bag")
def embedding_bag(args, batched, kw, size):
    from ...nn.functional import embedding_bag as bag
    from ...ops.creation import tensor, zeros
    from ...ops.shape import cat
    idx, w, offsets, psw = args
    kw = dict(kw)
    idx = idx if batched[0] else expand_batch(idx, size)
    ia = _values(idx)
    example = ia.shape[1:]
    if len(example) == 2 and offsets is None:            # fixed-length bags
        gidx, goff, n_bags = ia.reshape(-1, example[1]), None, example[0]
    elif len(example) == 1 and isinstance(offsets, Tensor):
        oa = _values(offsets)
        oa = oa if batched[2] else np.broadcast_to(oa, (size,) + oa.shape)
        n = example[0]
        if oa.shape[1] == 0 or (oa[:, 0] != 0).any():
            return None                                   # the function's errors
        shift = (np.arange(size, dtype=np.int64) * n)[:, None]
        if kw["include_last_offset"]:
            # an example's positions past its last offset belong to no bag: only the last
            # example's may be left out end to end
            if oa.shape[1] < 2 or (oa[:-1, -1] != n).any():
                return None
            goff = np.append((oa[:, :-1] + shift).ravel(), (size - 1) * n + oa[-1, -1])
            n_bags = oa.shape[1] - 1
        else:
            goff, n_bags = (oa + shift).ravel(), oa.shape[1]
        gidx = ia.reshape(-1)
    else:
        return None
    if batched[1]:
        if kw["max_norm"] is not None:
            return None              # renormalizes the examples' weights in place
        num, dim = w.shape[1], w.shape[2]
        flat = _row_offsets(ia, size, num)
        pad = kw["padding_idx"]
        if flat is None or pad is not None and not -num <= pad < num:
            return None
        w = w.reshape(size * num, dim)
        if pad is not None:          # padded entries read one extra row, the padding one
            flat = np.where(ia == pad % num, size * num, flat)
            w = cat([w, zeros(1, dim, dtype=w.dtype)])
            kw["padding_idx"] = size * num
        gidx = flat.reshape(gidx.shape)
    if psw is not None:
        psw = (psw if batched[3] else expand_batch(psw, size)).reshape(gidx.shape)
    out = bag(tensor(gidx), w, None if goff is None else tensor(goff),
              per_sample_weights=psw, **kw)
    return out.reshape((size, n_bags) + tuple(out.shape[1:]))
