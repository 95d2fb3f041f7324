"""tapegrad.nn.functional: attention (scaled_dot_product_attention)."""
import functools
import math

import numpy as np

from ..._core.errors import ArgumentError, DTypeError, IndexRangeError, ShapeError
from ..._core.state import STATE
from ..._core.tensor import Tensor
from ...ops import elementwise as ew
from ...ops.linalg.products import matmul
from ...ops.nn.attention import attention_softmax
from ...ops.registry import batched_call
from ...ops.shape import cast, reshape, unsqueeze
from .dropout import _same, keep_mask, per_example_dropout

__all__ = ["scaled_dot_product_attention"]

_NAME = "scaled_dot_product_attention"
_F32 = np.dtype(np.float32)


@functools.lru_cache(maxsize=32)
def _causal_bias(L, S, dtype):
    """0 where query i may see key j (j <= i, top-left aligned as PyTorch's is_causal), -inf
    elsewhere; read-only, shared between calls."""
    bias = np.triu(np.full((L, S), -np.inf, dtype), 1)
    bias.flags.writeable = False
    return bias


def _check_inputs(query, key, value):
    for arg, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise DTypeError(f"{_NAME}: {arg} must be a tensor, got {type(t).__name__}.")
    q, k, v = query._data, key._data, value._data
    if q.dtype != k.dtype or q.dtype != v.dtype:
        raise DTypeError(f"{_NAME}: query, key and value must have one dtype, got {q.dtype}, "
                         f"{k.dtype} and {v.dtype}; convert with .to(query.dtype).")
    if q.dtype.kind != "f":
        raise DTypeError(f"{_NAME}: query, key and value must be floating tensors, got "
                         f"{q.dtype}; convert with .float() first.")
    if min(q.ndim, k.ndim, v.ndim) < 2:
        raise ShapeError(f"{_NAME}: query, key and value need at least 2 dims (..., L, E), "
                         f"(..., S, E), (..., S, Ev); got shapes {q.shape}, {k.shape} and "
                         f"{v.shape}.")
    if q.shape[-1] != k.shape[-1]:
        raise ShapeError(f"{_NAME}: query {q.shape} and key {k.shape} must have one embedding "
                         f"size E in their last dim, got {q.shape[-1]} and {k.shape[-1]}.")
    if k.shape[-2] != v.shape[-2]:
        raise ShapeError(f"{_NAME}: key {k.shape} and value {v.shape} must have one sequence "
                         f"length S in their second-to-last dim, got {k.shape[-2]} and "
                         f"{v.shape[-2]}.")
    return q.shape, k.shape, v.shape


def _groups(qs, ks, vs):
    """(query heads per key head, per value head) for enable_gqa, heads in dim -3."""
    if min(len(qs), len(ks), len(vs)) < 3:
        raise IndexRangeError(f"{_NAME}: enable_gqa=True needs a heads dim (dim -3) in query, "
                              f"key and value, got shapes {qs}, {ks} and {vs}.")
    hq, hk, hv = qs[-3], ks[-3], vs[-3]
    if hk == 0 or hv == 0 or hq % hk or hq % hv:
        raise ShapeError(f"{_NAME}: with enable_gqa=True the number of heads (dim -3) of key "
                         f"({hk}) and of value ({hv}) must divide that of query ({hq}); got "
                         f"shapes {qs}, {ks} and {vs}.")
    return hq // hk, hq // hv


def _scores_shape(qs, ks, vs, gqa):
    """The shape (..., L, S) of query @ key^T (heads included), after checking that the batch
    dims of all three inputs broadcast."""
    try:
        if gqa:
            np.broadcast_shapes(qs[:-3], ks[:-3], vs[:-3])
            lead = np.broadcast_shapes(qs[:-3], ks[:-3]) + qs[-3:-2]
        else:
            np.broadcast_shapes(qs[:-2], ks[:-2], vs[:-2])
            lead = np.broadcast_shapes(qs[:-2], ks[:-2])
    except ValueError:
        raise ShapeError(f"{_NAME}: the batch dims of query {qs}, key {ks} and value {vs} "
                         "(all but the last two) don't broadcast"
                         + ("." if gqa else "; for fewer key/value heads than query heads "
                            "pass enable_gqa=True.")) from None
    return tuple(lead) + (qs[-2], ks[-2])


def _bias(attn_mask, is_causal, scores_shape, query_dtype):
    """The additive bias of the scores, in the dtype they are computed in (float32 for
    float16): None, a constant array (bool mask, causal) or the float mask itself (a tensor,
    maybe requiring grad)."""
    dtype = _F32 if query_dtype.char == "e" else query_dtype
    L, S = scores_shape[-2:]
    if is_causal:
        if attn_mask is not None:
            raise ArgumentError(f"{_NAME}: pass either attn_mask or is_causal=True, not both "
                                "(fold the causal mask into attn_mask instead).")
        return _causal_bias(L, S, dtype)
    if attn_mask is None:
        return None
    m = attn_mask._data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
    try:
        fits = np.broadcast_shapes(m.shape, scores_shape) == scores_shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"{_NAME}: attn_mask of shape {m.shape} must broadcast to the shape "
                         f"{scores_shape} of query @ key^T (..., L, S), without adding dims.")
    if m.dtype == np.bool_:
        return np.where(m, dtype.type(0), dtype.type(-np.inf))   # a copy: mask may change later
    if m.dtype not in (_F32, query_dtype):
        raise DTypeError(f"{_NAME}: attn_mask must be bool (True: takes part) or a float mask "
                         f"added to the scores (float32 or the query's dtype {query_dtype}), got "
                         f"{m.dtype}.")
    if not isinstance(attn_mask, Tensor):
        return m.astype(dtype)
    return attn_mask if m.dtype == dtype else cast(attn_mask, dtype)


def _split_heads(t, groups):
    """(..., H, L, X) -> (..., H / groups, groups, L, X) (a dim of 1 or none: broadcast)."""
    shape = t.shape
    if len(shape) < 3:
        return t
    if shape[-3] == 1:
        return unsqueeze(t, -3)
    return reshape(t, tuple(shape[:-3]) + (shape[-3] // groups, groups) + tuple(shape[-2:]))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """Attention: softmax(query @ key^T * scale + mask) @ value.

    Args:
        query: (..., L, E); key: (..., S, E); value: (..., S, Ev); one floating dtype, batch
            dims broadcasting.
        attn_mask: a bool mask (True: the position takes part) or a float mask added to the
            scores (float32 or the query's dtype; it may require grad), broadcastable to
            (..., L, S).
        dropout_p: dropout probability of the attention weights (masks from tapegrad's
            generator; applied whenever it is > 0, as in PyTorch).
        is_causal: query i sees keys j <= i (top-left aligned when L != S, as in PyTorch);
            not together with attn_mask.
        scale: the factor of the scores (default 1 / sqrt(E)).
        enable_gqa: grouped-query attention: key and value may have fewer heads (dim -3),
            a divisor of query's; query head h uses key head h // (heads of query / of key).

    Returns:
        (..., L, Ev) in the inputs' dtype. A row whose every position is masked gives 0 (and
        gradient 0), as in PyTorch.

    Example:
        >>> import tapegrad as tg
        >>> import tapegrad.nn.functional as F
        >>> q = k = tg.tensor([[1.0, 0.0], [0.0, 1.0]]); v = tg.tensor([[1.0], [3.0]])
        >>> F.scaled_dot_product_attention(q, k, v, is_causal=True)
        tensor([[1.0000],
                [2.3395]])
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: a bool mask is read by value
        out = batched_call(_NAME, (query, key, value, attn_mask), {
            "dropout_p": dropout_p, "is_causal": is_causal, "scale": scale,
            "enable_gqa": enable_gqa})
        if out is not None:
            return out
    qs, ks, vs = _check_inputs(query, key, value)
    if not isinstance(dropout_p, (int, float, np.number)) or not 0.0 <= dropout_p <= 1.0:
        raise ArgumentError(f"{_NAME}: dropout probability has to be between 0 and 1, but got "
                            f"{dropout_p!r}.")
    gk = gv = 1
    if enable_gqa:
        gk, gv = _groups(qs, ks, vs)
    gqa = gk != 1 or gv != 1
    L, S = qs[-2], ks[-2]
    scores_shape = _scores_shape(qs, ks, vs, gqa)
    dtype = query._data.dtype
    bias = _bias(attn_mask, is_causal, scores_shape, dtype)
    if scale is None:
        # E = 0: every score is an empty sum, 0 at any scale (inf would make it nan)
        scale = 1.0 / math.sqrt(qs[-1]) if qs[-1] else 1.0
    if gqa:
        query, key = _split_heads(query, gk), unsqueeze(key, -3)
        if bias is not None:
            bias = _split_heads(bias, gk)
    weights = attention_softmax(query, key, bias, scale)
    if dropout_p > 0.0:
        # randomness='different' inside vmap: one mask per example (Note [Batched tensors])
        dropped = None if dropout_p == 1.0 or not STATE.vmap_levels else per_example_dropout(
            weights, float(dropout_p), np.dtype(dtype), _same, False, False, _NAME)
        if dropped is not None:
            weights = dropped
        else:
            drop = (np.zeros((), dtype) if dropout_p == 1.0
                    else keep_mask(weights.shape, dropout_p, dtype))
            weights = ew.mul(weights, drop)
    if not gqa:
        return matmul(weights, value)
    if gv != gk:        # regroup the query heads by value head
        batch = tuple(weights.shape[:-4])
        weights = reshape(weights, batch + (vs[-3], gv, L, S))
    out = matmul(weights, unsqueeze(value, -3))
    return reshape(out, tuple(out.shape[:-4]) + (qs[-3], L, vs[-1]))
