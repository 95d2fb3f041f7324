"""Op database rows for tapegrad.nn.functional's attention and dropout (see tests/opinfo.py for
what a row is; public functions are named 'F.<name>' in a row's api=).

Random functions run seeded (``seeded``): each call draws the same mask, so gradcheck's
finite differences see one function, and the references draw the same uniforms from the
generator tapegrad's wraps (PCG64 of the seed; float32 uniforms, float64 for float64
inputs, an element kept where u >= p: the contract in nn/functional/dropout.py).
"""
import math

import numpy as np

import tapegrad as tg
import tapegrad.nn.functional as F
from nn_parity import Case, bools, floats
from opinfo import F64, OpInfo, Sample, shaped, uniform
from tapegrad.ops.nn.attention import attention_softmax

SEED = 0
SELU_SATURATION = -1.0507009873554805 * 1.6732632423543772


def seeded(fn):
    """fn run right after tapegrad.manual_seed(SEED)."""
    def run(*args, **kwargs):
        tg.manual_seed(SEED)
        return fn(*args, **kwargs)
    run.__name__ = fn.__name__
    return run


def uniforms(shape, dtype):
    """The uniforms a seeded tapegrad draws first for a mask of ``shape``."""
    rng = np.random.Generator(np.random.PCG64(SEED))
    return rng.random(shape, dtype=np.float64 if dtype == F64 else np.float32)


# ---- scaled_dot_product_attention ---------------------------------------------------------
def sdpa_ref(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
             enable_gqa=False):
    """Row by row: scores, mask, softmax (0 for a row with nothing to attend), weights @ v."""
    if enable_gqa:
        k = np.repeat(k, q.shape[-3] // k.shape[-3], axis=-3)
        v = np.repeat(v, q.shape[-3] // v.shape[-3], axis=-3)
    L, S = q.shape[-2], k.shape[-2]
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2])
    q, k = np.broadcast_to(q, batch + q.shape[-2:]), np.broadcast_to(k, batch + k.shape[-2:])
    scores = np.zeros(batch + (L, S), np.float64)
    allowed = np.ones((L, S), bool)
    if is_causal:
        allowed = np.arange(S)[None, :] <= np.arange(L)[:, None]
    bias = np.zeros((L, S))
    if attn_mask is not None and attn_mask.dtype == bool:
        allowed = np.broadcast_to(allowed & attn_mask, batch + (L, S))
    elif attn_mask is not None:
        bias = attn_mask
    allowed = np.broadcast_to(allowed, batch + (L, S))
    bias = np.broadcast_to(bias, batch + (L, S))
    weights = np.zeros_like(scores)
    for idx in np.ndindex(*batch, L):
        row = np.array([scale * np.dot(q[idx], k[idx[:-1]][j]) for j in range(S)]) + bias[idx]
        row = np.where(allowed[idx], row, -np.inf)
        if np.all(row == -np.inf):
            continue
        e = np.exp(row - row.max())
        weights[idx] = e / e.sum()
    if dropout_p > 0:
        keep = uniforms(weights.shape, q.dtype) >= dropout_p
        weights = np.where(keep, weights / (1 - dropout_p), 0.0)
    return (weights @ v).astype(q.dtype)


def _qkv(rng, dtype, qs, ks, vs):
    return tuple(uniform(rng, s, dtype, (-1.5, 1.5)) for s in (qs, ks, vs))


def sdpa_samples(op, dtype, rng):
    out = [Sample(_qkv(rng, dtype, (2, 3, 4), (2, 5, 4), (2, 5, 3)), desc="plain"),
           Sample(_qkv(rng, dtype, (1, 2, 4, 3), (1, 2, 4, 3), (1, 2, 4, 2)),
                  {"is_causal": True}, desc="causal"),
           Sample(_qkv(rng, dtype, (5, 2), (3, 2), (3, 2)), {"is_causal": True},
                  desc="causal L > S (top-left aligned)"),
           Sample(_qkv(rng, dtype, (2, 3, 4), (5, 4), (5, 3)), {"scale": 0.7},
                  desc="broadcast batch, scale"),
           Sample(_qkv(rng, dtype, (1, 4, 3, 2), (1, 2, 5, 2), (1, 2, 5, 3)),
                  {"enable_gqa": True}, desc="gqa"),
           Sample(_qkv(rng, dtype, (6, 2, 2), (2, 3, 2), (3, 3, 2)),
                  {"enable_gqa": True}, desc="gqa, key and value heads differ")]
    mask = rng.random((3, 5)) < 0.6
    mask[1] = False                                         # a row with nothing to attend
    mask[0, 0] = True
    out.append(Sample(_qkv(rng, dtype, (2, 3, 4), (2, 5, 4), (2, 5, 3)), {"attn_mask": mask},
                      desc="bool mask with a fully masked row"))
    q, k, v = _qkv(rng, dtype, (2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3))
    out.append(Sample((q, k, v, uniform(rng, (2, 1, 3, 5), dtype, (-1, 1))),
                      desc="float mask (differentiated)"))
    return out


def sdpa_dropout_samples(op, dtype, rng):
    return [Sample(_qkv(rng, dtype, (2, 3, 4), (2, 5, 4), (2, 5, 3)), {"dropout_p": 0.4},
                   desc="dropout 0.4"),
            Sample(_qkv(rng, dtype, (1, 2, 4, 3), (1, 2, 4, 3), (1, 2, 4, 2)),
                   {"dropout_p": 0.25, "is_causal": True}, desc="causal, dropout 0.25")]


def attention_softmax_ref(q, k, bias=None, scale=1.0):
    s = scale * np.einsum("...le,...se->...ls", q.astype(np.float64), k)
    if bias is not None:
        s = s + bias
    e = np.exp(s - s.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(q.dtype)


def attention_softmax_samples(op, dtype, rng):
    q, k = uniform(rng, (2, 3, 4), dtype, (-1, 1)), uniform(rng, (2, 5, 4), dtype, (-1, 1))
    causal = np.triu(np.full((3, 5), -np.inf, dtype), 1)
    return [Sample((q, k, None, 0.5), desc="no bias"),
            Sample((q, k, uniform(rng, (3, 5), dtype, (-1, 1)), 1.3), desc="float bias"),
            Sample((uniform(rng, (1, 3, 4), dtype, (-1, 1)), k, None, 0.8),
                   desc="broadcast q")]


# ---- dropout --------------------------------------------------------------------------------
def dropout_ref(noise_shape):
    def ref(x, p=0.5, training=True, inplace=False):
        if p == 1:
            return x * 0
        keep = uniforms(noise_shape(x.shape), x.dtype) >= p
        return np.where(keep, x / (1 - p), 0.0).astype(x.dtype)
    return ref


def alpha_dropout_ref(noise_shape):
    """Klambauer et al.'s alpha dropout: a * (x or alpha') + b, a and b keeping mean 0 and
    variance 1; alpha' = -scale * alpha of SELU."""
    def ref(x, p=0.5, training=False, inplace=False):
        if p == 1:
            return x * 0
        keep = uniforms(noise_shape(x.shape), x.dtype) >= p
        a = (SELU_SATURATION ** 2 * p + 1) ** -0.5 * (1 - p) ** -0.5
        return (a * np.where(keep, x, SELU_SATURATION) - a * SELU_SATURATION * p).astype(
            x.dtype)
    return ref


def elementwise(shape):
    return shape


def channels(shape):
    return shape[:2] + (1,) * (len(shape) - 2)


def unbatched_channels(shape):
    return shape[:1] + (1,) * (len(shape) - 1)


def dropout_samples(shapes, ps=(0.3, 0.6, 1.0)):
    def gen(op, dtype, rng):
        return [Sample((uniform(rng, s, dtype, (-2, 2)), p), desc=f"{s}, p={p}")
                for s in shapes for p in ps]
    return gen


def alpha_samples(shapes):
    def gen(op, dtype, rng):
        return [Sample((uniform(rng, s, dtype, (-2, 2)), p, True), desc=f"{s}, p={p}")
                for s in shapes for p in (0.2, 0.5)] + [
            Sample((uniform(rng, shapes[0], dtype, (-2, 2)), 1.0, True), desc="p=1")]
    return gen


ROWS = [
    OpInfo("F.scaled_dot_product_attention", F.scaled_dot_product_attention, sdpa_ref,
           sdpa_samples, covers=("attention_softmax", "matmul")),
    OpInfo("F.scaled_dot_product_attention(dropout_p)",
           seeded(F.scaled_dot_product_attention), sdpa_ref, sdpa_dropout_samples,
           covers=("attention_softmax", "matmul", "mul"),
           api=("F.scaled_dot_product_attention",)),
    OpInfo("attention_softmax", attention_softmax, attention_softmax_ref,
           attention_softmax_samples),
    OpInfo("F.dropout", seeded(F.dropout), dropout_ref(elementwise),
           dropout_samples([(), (5,), (3, 4), (2, 3, 2)]), covers=("mul",)),
    OpInfo("F.dropout1d", seeded(F.dropout1d), dropout_ref(channels),
           dropout_samples([(2, 3, 4)]), covers=("mul",)),
    OpInfo("F.dropout1d(unbatched)", seeded(F.dropout1d), dropout_ref(unbatched_channels),
           dropout_samples([(3, 4)], ps=(0.5,)), covers=("mul",), api=("F.dropout1d",)),
    OpInfo("F.dropout2d", seeded(F.dropout2d), dropout_ref(channels),
           dropout_samples([(2, 3, 2, 2)]), covers=("mul",)),
    OpInfo("F.dropout3d", seeded(F.dropout3d), dropout_ref(channels),
           dropout_samples([(2, 3, 2, 1, 2)]), covers=("mul",)),
    OpInfo("F.dropout3d(unbatched)", seeded(F.dropout3d), dropout_ref(unbatched_channels),
           dropout_samples([(3, 2, 1, 2)], ps=(0.5,)), covers=("mul",), api=("F.dropout3d",)),
    OpInfo("F.alpha_dropout", seeded(F.alpha_dropout), alpha_dropout_ref(elementwise),
           alpha_samples([(3, 4), (5,), (2, 3, 2)]), covers=("mul", "add")),
    OpInfo("F.feature_alpha_dropout", seeded(F.feature_alpha_dropout),
           alpha_dropout_ref(channels), alpha_samples([(2, 3, 4), (2, 3)]),
           covers=("mul", "add")),
]
PARITY = []       # expressions over x, y, z, m (tests/test_torch_parity.py)


# ---- torch parity: SDPA in every mask mode (dropout_p=0), dropout where no mask is drawn ----
def _qkv_case(expr, qs, ks, vs, dtype="float32", **inputs):
    return Case(expr, q=floats(qs, dtype=dtype), k=floats(ks, dtype=dtype),
                v=floats(vs, dtype=dtype), **inputs)


_SDPA = "F.scaled_dot_product_attention"
_B4 = ((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5))
NN_PARITY = [
    _qkv_case(f"{_SDPA}(q, k, v)", *_B4),
    _qkv_case(f"{_SDPA}(q, k, v)", *_B4, dtype="float64"),
    _qkv_case(f"{_SDPA}(q, k, v, is_causal=True)", (2, 4, 6, 8), (2, 4, 6, 8), (2, 4, 6, 8)),
    _qkv_case(f"{_SDPA}(q, k, v, is_causal=True)", *_B4),
    _qkv_case(f"{_SDPA}(q, k, v, is_causal=True)", (2, 7, 4), (2, 3, 4), (2, 3, 2)),
    _qkv_case(f"{_SDPA}(q, k, v, scale=0.3)", *_B4),
    _qkv_case(f"{_SDPA}(q, k, v, m)", *_B4, m=bools((4, 6), 0.7)),
    _qkv_case(f"{_SDPA}(q, k, v, attn_mask=m)", *_B4, m=bools((2, 1, 4, 6), 0.3)),
    _qkv_case(f"{_SDPA}(q, k, v, attn_mask=m)", *_B4, m=floats((3, 1, 6))),
    _qkv_case(f"{_SDPA}(q, k, v, attn_mask=m)", *_B4, dtype="float64",
              m=floats((2, 3, 4, 6), dtype="float64")),
    _qkv_case(f"{_SDPA}(q, k, v, enable_gqa=True)", (2, 6, 4, 8), (2, 2, 6, 8), (2, 3, 6, 5)),
    _qkv_case(f"{_SDPA}(q, k, v, m, enable_gqa=True, scale=2.0)", (2, 4, 4, 8), (1, 2, 6, 8),
              (2, 2, 6, 5), m=bools((4, 4, 6), 0.6)),
    _qkv_case(f"{_SDPA}(q, k, v)", (3, 4, 8), (6, 8), (6, 5)),
    _qkv_case(f"{_SDPA}(q, k, v, dropout_p=0.0)", *_B4),
    Case(f"{_SDPA}(q, k, v, is_causal=True)", rtol=2e-3, atol=2e-3, grad_rtol=1e-2,
         grad_atol=1e-2, **{n: floats((2, 5, 8), dtype="float16") for n in "qkv"}),
    Case("F.dropout(a, 0.0)", a=(3, 4)),
    Case("F.dropout(a, 0.5, training=False)", a=(3, 4)),
    Case("F.dropout(a, 1.0)", a=(3, 4)),
    Case("F.dropout(a, p=1.0, training=True)", a=floats((2, 3), dtype="float64")),
    Case("F.dropout1d(a, 1.0)", a=(2, 3, 4)),
    Case("F.dropout1d(a, 0.4, False)", a=(3, 4)),
    Case("F.dropout2d(a, 1.0)", a=(2, 3, 2, 2)),
    Case("F.dropout2d(a, 0.3, training=False)", a=(2, 3, 2, 2)),
    Case("F.dropout3d(a, 1.0)", a=(2, 3, 2, 2, 2)),
    Case("F.dropout3d(a, 0.0)", a=(3, 2, 2, 2)),
    Case("F.alpha_dropout(a, 0.5)", a=(3, 4)),
    Case("F.alpha_dropout(a, 1.0, True)", a=(3, 4)),
    Case("F.feature_alpha_dropout(a, 1.0, True)", a=(2, 3, 4)),
    Case("F.feature_alpha_dropout(a, 0.5, training=False)", a=(2, 3, 4)),
]
