"""Attention and the transformer, as PyTorch's: MultiheadAttention, TransformerEncoderLayer,
TransformerEncoder, TransformerDecoderLayer, TransformerDecoder and Transformer.

# Note [Multi-head attention layout]
MultiheadAttention projects query, key and value with one F.linear each (slices of the
packed ``in_proj_weight``, or the separate weights) and views each result as (N, H, L,
head_dim) heads with a reshape and a permute, whatever the input layout (L, N, E), (N, L, E)
or unbatched (L, E): no copy until the heads are merged back for ``out_proj``. Even for
self-attention this beats one GEMM on the packed weight split into q, k and v: the split
is three getitems of the (N, L, 3E) activation, whose backward writes each piece into a
zero array of that size and sums the three, while slicing the (3E, E) weight costs the same
on a far smaller array (projections and attention forward+backward at batch 8, sequence 64,
width 128, 4 heads: 0.89x the time). The masks become one additive float bias broadcasting
onto (N, H, L, S). Without attention weights it is F.scaled_dot_product_attention; with
them, the same attention-weights primitive that SDPA runs on (ops.nn.attention), its
weights kept, dropped out and multiplied by v.
"""
import copy
import math

import numpy as np

from ..._core.errors import ArgumentError, DTypeError, ShapeError
from ..._core.tensor import Tensor, wrap
from ...ops.creation import empty, full, zeros
from ...ops.diagonal import triu
from ...ops.linalg.products import matmul
from ...ops.nn.attention import attention_softmax
from ...ops.reduction import mean
from ...ops.shape import cast, cat, permute, reshape, squeeze, unsqueeze
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder",
           "TransformerDecoderLayer", "TransformerDecoder", "Transformer"]

_F32 = np.dtype(np.float32)


class NonDynamicallyQuantizableLinear(Linear):
    """MultiheadAttention's ``out_proj``: a Linear under PyTorch's class name (so the repr
    matches; tapegrad has no quantization to opt out of)."""


def _mask_bias(mask, name, dtype):
    """An additive float bias from a mask (a tensor): bool gives -inf where True (the
    position is masked out, PyTorch's MultiheadAttention convention), float is used as is
    (cast to ``dtype``; it may require grad)."""
    if not isinstance(mask, Tensor):
        raise DTypeError(f"MultiheadAttention: {name} must be a tensor, got "
                         f"{type(mask).__name__}.")
    m = mask._data
    if m.dtype == np.bool_:
        return wrap(np.where(m, dtype.type(-np.inf), dtype.type(0)))
    if m.dtype.kind != "f":
        raise DTypeError(f"MultiheadAttention: only bool and floating types of {name} are "
                         f"supported, got {m.dtype}.")
    return mask if m.dtype == dtype else cast(mask, dtype)


def _shape(t):
    return tuple(t.shape)


class MultiheadAttention(Module):
    """Multi-head attention: ``out_proj(concat(head_1, ..., head_H))`` with ``head_i =
    attention(q W_q^i, k W_k^i, v W_v^i)`` (Note [Multi-head attention layout]).

    Args:
        embed_dim: the model width E (of the query and the output).
        num_heads: the number of heads H; E must be divisible by it.
        dropout: dropout probability of the attention weights while training.
        bias: add biases to the input and output projections.
        add_bias_kv: not supported (must be False).
        add_zero_attn: append a zero key and value to the sequences (a position every query
            may attend to).
        kdim, vdim: the widths of key and value (default E); when both are E the three
            input projections are packed in one ``in_proj_weight`` (3E, E), else they are
            ``q_proj_weight``, ``k_proj_weight`` and ``v_proj_weight``.
        batch_first: inputs and output are (N, L, E) instead of (L, N, E).
        device, dtype: factory arguments of the parameters (device: None or "cpu").

    Example:
        >>> import tapegrad as tg
        >>> mha = tg.nn.MultiheadAttention(8, 2, batch_first=True)
        >>> x = tg.randn(3, 5, 8)
        >>> out, weights = mha(x, x, x)
        >>> tuple(out.shape), tuple(weights.shape)
        ((3, 5, 8), (3, 5, 5))
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ArgumentError(f"MultiheadAttention: embed_dim and num_heads must be greater "
                                f"than 0, got embed_dim={embed_dim} and num_heads={num_heads}.")
        if embed_dim % num_heads:
            raise ArgumentError(f"MultiheadAttention: embed_dim ({embed_dim}) must be "
                                f"divisible by num_heads ({num_heads}): each head takes "
                                "embed_dim // num_heads of the width.")
        if add_bias_kv:
            raise ArgumentError("MultiheadAttention: add_bias_kv=True is not supported by "
                                "tapegrad; append the learned key/value rows yourself or use "
                                "add_zero_attn.")
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        # registration order as PyTorch's (the None entries keep its attribute names)
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty((3 * embed_dim, embed_dim), dtype=dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(empty((embed_dim, embed_dim), dtype=dtype))
            self.k_proj_weight = Parameter(empty((embed_dim, self.kdim), dtype=dtype))
            self.v_proj_weight = Parameter(empty((embed_dim, self.vdim), dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        device=device, dtype=dtype)
        self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        """PyTorch's initialisation: Xavier-uniform input projections, zero biases (out_proj's
        weight keeps Linear's own initialisation)."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """Attend from ``query`` to ``key``/``value``.

        Args:
            query: (L, N, E), (N, L, E) with batch_first, or unbatched (L, E).
            key, value: (S, N, kdim) and (S, N, vdim), batch first or unbatched as query.
            key_padding_mask: (N, S) or (S,) unbatched: bool (True: the key is ignored) or
                float (added to the scores).
            need_weights: also return the attention weights.
            attn_mask: (L, S), or (N * num_heads, L, S) ((num_heads, L, S) unbatched):
                bool (True: not allowed to attend) or float (added to the scores).
            average_attn_weights: average the returned weights over the heads.
            is_causal: a hint that ``attn_mask`` is the causal mask (it must be given);
                without key_padding_mask and need_weights, the causal attention is used
                directly and attn_mask is not read.

        Returns:
            (attn_output, attn_weights): the output shaped as query (width E); the weights
            (N, L, S), or (N, num_heads, L, S) unaveraged (without N when unbatched), or None
            when need_weights is False. A query row whose every key is masked attends to
            nothing: its weights are 0 (PyTorch gives nan there when need_weights=True).
        """
        for name, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise DTypeError(f"MultiheadAttention: {name} must be a tensor, got "
                                 f"{type(t).__name__}.")
        qs, ks, vs = _shape(query), _shape(key), _shape(value)
        if len(qs) not in (2, 3):
            raise ShapeError(f"MultiheadAttention: query must be unbatched 2-D (L, E) or "
                             f"batched 3-D, got shape {qs}.")
        if len(ks) != len(qs) or len(vs) != len(qs):
            raise ShapeError(f"MultiheadAttention: key {ks} and value {vs} must have as many "
                             f"dims as query {qs} (all batched or all unbatched).")
        batched = len(qs) == 3
        self._check_inputs(qs, ks, vs)
        if is_causal and attn_mask is None:
            raise ArgumentError("MultiheadAttention: is_causal=True is a hint that attn_mask is "
                                "causal, so it needs attn_mask; build one with "
                                "Transformer.generate_square_subsequent_mask(L).")
        bf = self.batch_first or not batched      # unbatched: a batch of one, batch first
        if batched:
            N, L, S = (qs[0], qs[1], ks[1]) if bf else (qs[1], qs[0], ks[0])
        else:
            N, L, S = 1, qs[0], ks[0]
        dtype = query._data.dtype
        bias_dtype = _F32 if dtype.char == "e" else dtype      # float16 scores run in float32
        causal = is_causal and key_padding_mask is None and not need_weights
        bias = None
        if attn_mask is not None and not causal:
            bias = self._attn_mask_bias(attn_mask, batched, N, L, S, bias_dtype)
        if key_padding_mask is not None:
            kpm = self._padding_bias(key_padding_mask, batched, N, S, bias_dtype)
            bias = kpm if bias is None else bias + kpm
        if not batched:
            query, key, value = unsqueeze(query, 0), unsqueeze(key, 0), unsqueeze(value, 0)
        q, k, v = self._in_projection(query, key, value, bf)
        if self.add_zero_attn:
            k, v, bias = self._zero_attn(k, v, bias)
        dropout_p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            weights = attention_softmax(q, k, bias, 1.0 / math.sqrt(self.head_dim))
            if dropout_p > 0.0:
                weights = F.dropout(weights, dropout_p)
            out = matmul(weights, v)
            if average_attn_weights:
                weights = mean(weights, 1)
            if not batched:
                weights = squeeze(weights, 0)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout_p,
                                                 is_causal=causal)
        # (N, H, L, hd) -> (N, L, E) or (L, N, E): the one copy of the heads
        out = reshape(permute(out, (0, 2, 1, 3) if bf else (2, 0, 1, 3)),
                      (N, L, self.embed_dim) if bf else (L, N, self.embed_dim))
        out = F.linear(out, self.out_proj.weight, self.out_proj.bias)
        if not batched:
            out = squeeze(out, 0)
        return out, weights

    def _check_inputs(self, qs, ks, vs):
        E = self.embed_dim
        if qs[-1] != E:
            raise ShapeError(f"MultiheadAttention: query of shape {qs} must have "
                             f"embed_dim={E} features in its last dim, got {qs[-1]}.")
        if ks[-1] != self.kdim or vs[-1] != self.vdim:
            raise ShapeError(f"MultiheadAttention: key {ks} and value {vs} must have kdim="
                             f"{self.kdim} and vdim={self.vdim} features in their last dims.")
        if ks[:-1] != vs[:-1]:
            raise ShapeError(f"MultiheadAttention: key {ks} and value {vs} must have one "
                             "sequence length and batch size (all but their last dims).")
        b = 0 if self.batch_first else 1
        if len(qs) == 3 and qs[b] != ks[b]:
            raise ShapeError(f"MultiheadAttention: query {qs} and key {ks} must have one "
                             f"batch size (dim {b}), got {qs[b]} and {ks[b]}.")

    def _heads(self, x, bf):
        """(N, L, E) or (L, N, E) -> a (N, H, L, head_dim) view."""
        a, b = _shape(x)[:2]
        x = reshape(x, (a, b, self.num_heads, self.head_dim))
        return permute(x, (0, 2, 1, 3) if bf else (1, 2, 0, 3))

    def _in_projection(self, query, key, value, bf):
        """q, k and v as heads: one F.linear each (Note [Multi-head attention layout])."""
        E = self.embed_dim
        w, b = self.in_proj_weight, self.in_proj_bias
        if w is not None:
            wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        bq, bk, bv = (None,) * 3 if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        return (self._heads(F.linear(query, wq, bq), bf), self._heads(F.linear(key, wk, bk), bf),
                self._heads(F.linear(value, wv, bv), bf))

    def _attn_mask_bias(self, attn_mask, batched, N, L, S, dtype):
        """attn_mask as a bias broadcasting onto (N, H, L, S)."""
        H = self.num_heads
        bias = _mask_bias(attn_mask, "attn_mask", dtype)
        ms = _shape(attn_mask)
        lead = (N * H,) if batched else (H,)
        if ms != (L, S) and ms != lead + (L, S):
            raise ShapeError(f"MultiheadAttention: attn_mask of shape {ms} must be (L, S) = "
                             f"{(L, S)} or ({'N * num_heads' if batched else 'num_heads'}, L, "
                             f"S) = {lead + (L, S)} for query length L and key length S.")
        return reshape(bias, (1, 1, L, S) if len(ms) == 2 else (N, H, L, S))

    def _padding_bias(self, key_padding_mask, batched, N, S, dtype):
        """key_padding_mask as a bias (N, 1, 1, S)."""
        bias = _mask_bias(key_padding_mask, "key_padding_mask", dtype)
        ms, want = _shape(key_padding_mask), ((N, S) if batched else (S,))
        if ms != want:
            raise ShapeError(f"MultiheadAttention: key_padding_mask of shape {ms} must be "
                             f"{'(N, S)' if batched else '(S,)'} = {want} for batch size N "
                             f"and key length S.")
        return reshape(bias, (N, 1, 1, S))

    def _zero_attn(self, k, v, bias):
        """Append a zero key and value (and a 0 bias column: every query may take it)."""
        ks = _shape(k)
        pad = zeros(ks[:-2] + (1, ks[-1]), dtype=k.dtype)
        k, v = cat([k, pad], -2), cat([v, pad], -2)
        if bias is not None:
            bs = _shape(bias)
            bias = cat([bias, zeros(bs[:-1] + (1,), dtype=bias.dtype)], -1)
        return k, v, bias


def _activation(activation, owner):
    """A string activation as its function (PyTorch takes "relu" and "gelu"); a callable as
    is (a Module is registered as the submodule ``activation``)."""
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise ArgumentError(f"{owner}: activation should be relu/gelu, not {activation!r}; "
                            "or pass a callable.")
    if not callable(activation):
        raise ArgumentError(f"{owner}: activation must be 'relu', 'gelu' or a callable, got "
                            f"{type(activation).__name__}.")
    return activation


def _causal_reference(size, mask):
    """Whether ``mask`` (L, L) is the square causal mask: -inf (or True) above the diagonal,
    0 (or False) elsewhere."""
    m = mask._data
    if m.shape != (size, size):
        return False
    upper = np.triu(np.ones((size, size), dtype=bool), 1)
    if m.dtype == np.bool_:
        return bool(np.array_equal(m, upper))
    return bool(np.all(np.where(upper, m == -np.inf, m == 0)))


def _detect_is_causal(mask, is_causal, size):
    """is_causal as given, or (None) whether ``mask`` is the causal mask of ``size``."""
    if is_causal is None:
        return mask is not None and isinstance(mask, Tensor) and _causal_reference(size, mask)
    return bool(is_causal)


def _seq_len(x, batch_first):
    s = _shape(x)
    return s[0] if len(s) == 2 else s[1 if batch_first else 0]


class TransformerEncoderLayer(Module):
    """A transformer encoder layer: self-attention and a feed-forward block, each with
    dropout, a residual connection and LayerNorm (after, or before with ``norm_first``).

    Args:
        d_model: the model width.
        nhead: the number of attention heads.
        dim_feedforward: the hidden width of the feed-forward block.
        dropout: the dropout probability (attention weights and the three dropouts).
        activation: "relu", "gelu" or a callable (a Module is registered as a submodule).
        layer_norm_eps: the LayerNorms' eps.
        batch_first: inputs are (N, S, E) instead of (S, N, E).
        norm_first: pre-LayerNorm (norm, then attention / feed-forward, then the residual).
        bias: biases in the linear layers and the LayerNorms.
        device, dtype: factory arguments of the parameters.

    Example:
        >>> import tapegrad as tg
        >>> layer = tg.nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16)
        >>> tuple(layer(tg.randn(5, 3, 8)).shape)
        (5, 3, 8)
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation, "TransformerEncoderLayer")

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        """Encode ``src`` ((S, N, E), (N, S, E) batch first, or unbatched (S, E)); the masks
        are MultiheadAttention's attn_mask and key_padding_mask, is_causal its hint."""
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoderLayer(Module):
    """A transformer decoder layer: self-attention, attention to the encoder's output
    (``memory``) and a feed-forward block, each with dropout, a residual connection and
    LayerNorm (after, or before with ``norm_first``).

    Args: as TransformerEncoderLayer's.

    Example:
        >>> import tapegrad as tg
        >>> layer = tg.nn.TransformerDecoderLayer(d_model=8, nhead=2, dim_feedforward=16)
        >>> tuple(layer(tg.randn(4, 3, 8), tg.randn(6, 3, 8)).shape)
        (4, 3, 8)
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **kw)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation, "TransformerDecoderLayer")

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        """Decode ``tgt`` (T, N, E) attending to ``memory`` (S, N, E) (batch first or
        unbatched as the layer); the masks and hints go to self_attn (tgt_*) and
        multihead_attn (memory_*)."""
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask,
                                   tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask,
                                    memory_key_padding_mask, memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                           memory_is_causal))
        return self.norm3(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, need_weights=False,
                                is_causal=is_causal)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


def _clones(layer, num_layers):
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])


class TransformerEncoder(Module):
    """A stack of ``num_layers`` independent copies (deep copies) of ``encoder_layer``, then
    ``norm`` if given.

    Args:
        encoder_layer: the layer to copy (a TransformerEncoderLayer).
        num_layers: the number of copies, in ``layers`` (a ModuleList).
        norm: a final normalization module, or None.
        enable_nested_tensor: accepted for PyTorch's signature and ignored (tapegrad has no
            nested tensors).
        mask_check: accepted and kept as an attribute (PyTorch uses it on its nested-tensor
            path only).

    Example:
        >>> import tapegrad as tg
        >>> layer = tg.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
        >>> enc = tg.nn.TransformerEncoder(layer, num_layers=2)
        >>> tuple(enc(tg.randn(3, 5, 8)).shape), len(enc.layers)
        ((3, 5, 8), 2)
    """

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = False
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        """Run ``src`` through every layer with the same masks. ``is_causal=None`` means: the
        causal hint is on when ``mask`` is the square causal mask."""
        batch_first = getattr(getattr(self.layers[0], "self_attn", None), "batch_first", False)
        is_causal = _detect_is_causal(mask, is_causal, _seq_len(src, batch_first))
        out = src
        for layer in self.layers:
            out = layer(out, src_mask=mask, is_causal=is_causal,
                        src_key_padding_mask=src_key_padding_mask)
        return out if self.norm is None else self.norm(out)


class TransformerDecoder(Module):
    """A stack of ``num_layers`` independent copies of ``decoder_layer``, then ``norm`` if
    given.

    Args:
        decoder_layer: the layer to copy (a TransformerDecoderLayer).
        num_layers: the number of copies, in ``layers`` (a ModuleList).
        norm: a final normalization module, or None.

    Example:
        >>> import tapegrad as tg
        >>> dec = tg.nn.TransformerDecoder(tg.nn.TransformerDecoderLayer(8, 2, 16), 2)
        >>> tuple(dec(tg.randn(4, 3, 8), tg.randn(6, 3, 8)).shape)
        (4, 3, 8)
    """

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        """Run ``tgt`` through every layer, each attending to ``memory``.
        ``tgt_is_causal=None`` means: on when ``tgt_mask`` is the square causal mask."""
        batch_first = getattr(getattr(self.layers[0], "self_attn", None), "batch_first", False)
        tgt_is_causal = _detect_is_causal(tgt_mask, tgt_is_causal,
                                          _seq_len(tgt, batch_first))
        out = tgt
        for layer in self.layers:
            out = layer(out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                        tgt_key_padding_mask=tgt_key_padding_mask,
                        memory_key_padding_mask=memory_key_padding_mask,
                        tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        return out if self.norm is None else self.norm(out)


class Transformer(Module):
    """The transformer of "Attention Is All You Need": a TransformerEncoder and a
    TransformerDecoder, each ending in a LayerNorm; every parameter with more than one dim
    is re-initialised Xavier-uniform, as PyTorch's.

    Args:
        d_model, nhead: the model width and the number of heads.
        num_encoder_layers, num_decoder_layers: the depths.
        dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first, bias:
            as TransformerEncoderLayer's.
        custom_encoder, custom_decoder: modules used instead of the built stacks.
        device, dtype: factory arguments of the parameters.

    Example:
        >>> import tapegrad as tg
        >>> model = tg.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1,
        ...                           num_decoder_layers=1, dim_feedforward=16)
        >>> tuple(model(tg.randn(6, 2, 8), tg.randn(4, 2, 8)).shape)
        (4, 2, 8)
    """

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation=F.relu, custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False,
                 norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                      batch_first, norm_first, bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(*layer_args, **kw), num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(*layer_args, **kw), num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        for p in self.parameters():
            if p.dim() > 1:
                init.xavier_uniform_(p)
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        """Encode ``src`` (S, N, E) and decode ``tgt`` (T, N, E) against it (batch first or
        unbatched as the model); returns (T, N, E). Masks and hints as the stacks take them."""
        ss, ts = _shape(src), _shape(tgt)
        if len(ss) == 3 and len(ts) == 3 and ss[0 if self.batch_first else 1] != \
                ts[0 if self.batch_first else 1]:
            raise ShapeError(f"Transformer: the batch sizes of src {ss} and tgt {ts} must be "
                             f"equal (dim {0 if self.batch_first else 1} with batch_first="
                             f"{self.batch_first}).")
        if ss[-1] != self.d_model or ts[-1] != self.d_model:
            raise ShapeError(f"Transformer: the feature number (last dim) of src {ss} and "
                             f"tgt {ts} must equal d_model={self.d_model}.")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """The causal mask of a sequence of ``sz``: a float (sz, sz) tensor, -inf above the
        diagonal (a position may not attend to later ones) and 0 elsewhere.

        Example:
            >>> import tapegrad as tg
            >>> tg.nn.Transformer.generate_square_subsequent_mask(3)
            tensor([[0.0000,   -inf,   -inf],
                    [0.0000, 0.0000,   -inf],
                    [0.0000, 0.0000, 0.0000]])
        """
        return triu(full((sz, sz), float("-inf"), dtype=dtype), 1)
