"""MultiheadAttention and the transformer modules: names, shapes, initialisation, masks,
errors, gradcheck, and parity with PyTorch (weights copied by name) where it is installed."""
import copy
import math

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn as nn
import tapegrad.nn.functional as F
from tapegrad.autograd import gradcheck
from tapegrad.nn.modules.normalization import LayerNorm

E, H = 8, 2

MHA_KEYS = ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
ENC_LAYER_KEYS = (["self_attn." + k for k in MHA_KEYS]
                  + ["linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
                     "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"])
DEC_LAYER_KEYS = (["self_attn." + k for k in MHA_KEYS]
                  + ["multihead_attn." + k for k in MHA_KEYS]
                  + ["linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"]
                  + [f"norm{i}.{p}" for i in (1, 2, 3) for p in ("weight", "bias")])


def arr(t):
    return t.detach().numpy()


def randn(*shape, seed=0, dtype=np.float32):
    return tg.tensor(np.random.default_rng(seed).standard_normal(shape).astype(dtype))


def leaf(*shape, seed=0, dtype=np.float64):
    return tg.tensor(np.random.default_rng(seed).standard_normal(shape).astype(dtype),
                     requires_grad=True)


# ---- names, shapes, registration order ----------------------------------------------------------
def test_mha_parameters_packed():
    m = nn.MultiheadAttention(E, H)
    assert list(m.state_dict()) == MHA_KEYS
    shapes = {k: tuple(v.shape) for k, v in m.named_parameters()}
    assert shapes == {"in_proj_weight": (3 * E, E), "in_proj_bias": (3 * E,),
                      "out_proj.weight": (E, E), "out_proj.bias": (E,)}
    assert m.q_proj_weight is None and m.k_proj_weight is None and m.v_proj_weight is None
    assert m.bias_k is None and m.bias_v is None
    assert m._qkv_same_embed_dim and m.head_dim == E // H
    assert type(m.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert isinstance(m.out_proj, nn.modules.linear.Linear)


def test_mha_parameters_separate_and_no_bias():
    m = nn.MultiheadAttention(E, H, kdim=3, vdim=5)
    assert list(m.state_dict()) == ["q_proj_weight", "k_proj_weight", "v_proj_weight",
                                    "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert [tuple(p.shape) for p in m.parameters()] == [(E, E), (E, 3), (E, 5), (3 * E,),
                                                        (E, E), (E,)]
    assert m.in_proj_weight is None
    m = nn.MultiheadAttention(E, H, bias=False)
    assert list(m.state_dict()) == ["in_proj_weight", "out_proj.weight"]
    assert m.in_proj_bias is None and m.out_proj.bias is None
    # kdim == vdim == embed_dim given explicitly still packs
    assert list(nn.MultiheadAttention(E, H, kdim=E, vdim=E).state_dict()) == MHA_KEYS


def test_layer_and_stack_keys():
    layer = nn.TransformerEncoderLayer(E, H, 16)
    assert list(layer.state_dict()) == ENC_LAYER_KEYS
    assert [n for n, _ in layer.named_children()] == [
        "self_attn", "linear1", "dropout", "linear2", "norm1", "norm2", "dropout1", "dropout2"]
    enc = nn.TransformerEncoder(layer, 2, norm=LayerNorm(E))
    assert list(enc.state_dict()) == ([f"layers.{i}.{k}" for i in range(2)
                                       for k in ENC_LAYER_KEYS] + ["norm.weight", "norm.bias"])
    dec_layer = nn.TransformerDecoderLayer(E, H, 16)
    assert list(dec_layer.state_dict()) == DEC_LAYER_KEYS
    assert [n for n, _ in dec_layer.named_children()] == [
        "self_attn", "multihead_attn", "linear1", "dropout", "linear2", "norm1", "norm2",
        "norm3", "dropout1", "dropout2", "dropout3"]
    dec = nn.TransformerDecoder(dec_layer, 3)
    assert list(dec.state_dict()) == [f"layers.{i}.{k}" for i in range(3)
                                      for k in DEC_LAYER_KEYS]
    model = nn.Transformer(E, H, 1, 2, 16)
    assert list(model.state_dict()) == (
        [f"encoder.layers.0.{k}" for k in ENC_LAYER_KEYS] + ["encoder.norm.weight",
                                                             "encoder.norm.bias"]
        + [f"decoder.layers.{i}.{k}" for i in range(2) for k in DEC_LAYER_KEYS]
        + ["decoder.norm.weight", "decoder.norm.bias"])


def test_bias_false_layers():
    layer = nn.TransformerEncoderLayer(E, H, 16, bias=False)
    assert list(layer.state_dict()) == ["self_attn.in_proj_weight", "self_attn.out_proj.weight",
                                        "linear1.weight", "linear2.weight", "norm1.weight",
                                        "norm2.weight"]


def test_encoder_layers_are_independent_copies():
    layer = nn.TransformerEncoderLayer(E, H, 16)
    enc = nn.TransformerEncoder(layer, 2)
    w0, w1 = enc.layers[0].linear1.weight, enc.layers[1].linear1.weight
    assert w0 is not w1 and w0 is not layer.linear1.weight
    np.testing.assert_array_equal(arr(w0), arr(layer.linear1.weight))
    with tg.no_grad():
        w0.mul_(0.0)
    assert np.abs(arr(w1)).sum() > 0 and np.abs(arr(layer.linear1.weight)).sum() > 0
    assert enc.num_layers == 2 and enc.norm is None and isinstance(enc.layers, nn.ModuleList)


def test_dtype_factory_argument():
    m = nn.MultiheadAttention(E, H, dtype=tg.float64)
    assert all(p.dtype == tg.float64 for p in m.parameters())
    layer = nn.TransformerEncoderLayer(E, H, 16, dtype=tg.float64, device="cpu")
    assert all(p.dtype == tg.float64 for p in layer.parameters())
    assert nn.MultiheadAttention(E, H).in_proj_weight.dtype == tg.float32


# ---- initialisation -----------------------------------------------------------------------------
def test_mha_init_distributions():
    tg.manual_seed(0)
    m = nn.MultiheadAttention(64, 4)
    w = arr(m.in_proj_weight)
    bound = math.sqrt(6.0 / (64 + 3 * 64))          # xavier_uniform_ on the (3E, E) weight
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert abs(w.mean()) < 0.02 * bound
    assert not arr(m.in_proj_bias).any() and not arr(m.out_proj.bias).any()
    wo = arr(m.out_proj.weight)       # Linear's own: U(-1/sqrt(E), 1/sqrt(E))
    assert np.abs(wo).max() <= 1 / 8 and np.abs(wo).max() > 0.9 / 8
    m = nn.MultiheadAttention(64, 4, kdim=32, vdim=16)
    for p, fan_in in ((m.q_proj_weight, 64), (m.k_proj_weight, 32), (m.v_proj_weight, 16)):
        b = math.sqrt(6.0 / (64 + fan_in))
        a = arr(p)
        assert np.abs(a).max() <= b and np.abs(a).max() > 0.9 * b


def test_transformer_reinitialises_matrices_xavier():
    tg.manual_seed(1)
    model = nn.Transformer(32, 4, 1, 1, 64)
    for name, p in model.named_parameters():
        a = arr(p)
        if p.dim() > 1:
            fan_out, fan_in = a.shape
            b = math.sqrt(6.0 / (fan_in + fan_out))
            assert np.abs(a).max() <= b and np.abs(a).max() > 0.85 * b, name
        elif name.endswith("norm1.weight") or name.endswith("norm.weight"):
            assert (a == 1).all(), name


# ---- shapes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("masks", ["none", "attn2d", "attn3d", "kpm", "both_float"])
def test_mha_shapes(batch_first, batched, need_weights, average, masks):
    N, L, S = 3, 4, 5
    m = nn.MultiheadAttention(E, H, batch_first=batch_first, kdim=6, vdim=7)

    def shaped(T, width):
        if not batched:
            return randn(T, width)
        return randn(N, T, width) if batch_first else randn(T, N, width)
    q, k, v = shaped(L, E), shaped(S, 6), shaped(S, 7)
    kw = {}
    rng = np.random.default_rng(3)
    if masks in ("attn2d", "both_float"):
        kw["attn_mask"] = tg.tensor(rng.uniform(size=(L, S)) < 0.3)
    if masks == "attn3d":
        kw["attn_mask"] = tg.tensor(rng.uniform(size=((N * H if batched else H), L, S)) < 0.3)
    if masks in ("kpm", "both_float"):
        kw["key_padding_mask"] = tg.tensor(rng.uniform(size=(N, S) if batched else (S,)) < 0.3)
    if masks == "both_float":
        kw = {k: tg.where(v, -1e9, 0.0) for k, v in kw.items()}
    out, w = m(q, k, v, need_weights=need_weights, average_attn_weights=average, **kw)
    assert tuple(out.shape) == tuple(q.shape)
    if not need_weights:
        assert w is None
        return
    want = (L, S) if average else (H, L, S)
    assert tuple(w.shape) == (want if not batched else (N,) + want)
    np.testing.assert_allclose(arr(w).sum(-1), 1.0, rtol=1e-5)


def test_mha_cross_attention_and_add_zero_attn_shapes():
    m = nn.MultiheadAttention(E, H, add_zero_attn=True)
    q, kv = randn(4, 2, E), randn(6, 2, E, seed=1)
    out, w = m(q, kv, kv, key_padding_mask=tg.zeros(2, 6, dtype=tg.bool))
    assert tuple(out.shape) == (4, 2, E) and tuple(w.shape) == (2, 4, 7)


@pytest.mark.parametrize("batch_first", [False, True])
def test_layer_and_stack_shapes(batch_first):
    src = randn(2, 5, E) if batch_first else randn(5, 2, E)
    tgt = randn(2, 3, E, seed=1) if batch_first else randn(3, 2, E, seed=1)
    layer = nn.TransformerEncoderLayer(E, H, 16, batch_first=batch_first)
    assert tuple(layer(src).shape) == tuple(src.shape)
    assert tuple(layer(src[0] if batch_first else src[:, 0]).shape) == (5, E)    # unbatched
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, 16, batch_first=batch_first),
                                2)
    assert tuple(dec(tgt, src).shape) == tuple(tgt.shape)
    model = nn.Transformer(E, H, 1, 1, 16, batch_first=batch_first)
    mask = nn.Transformer.generate_square_subsequent_mask(3)
    assert tuple(model(src, tgt, tgt_mask=mask).shape) == tuple(tgt.shape)


# ---- against a NumPy reference (no torch needed) --------------------------------------------
def np_mha(m, q, k, v, attn_mask=None, key_padding_mask=None):
    """MultiheadAttention by hand, batch first (N, L, E), one head and one batch row at a time:
    returns the output and the per-head weights (N, H, L, S)."""
    P = {name: arr(p) for name, p in m.named_parameters()}
    E, H = m.embed_dim, m.num_heads
    hd = E // H
    if m.in_proj_weight is not None:
        wq, wk, wv = np.split(P["in_proj_weight"], 3)
    else:
        wq, wk, wv = P["q_proj_weight"], P["k_proj_weight"], P["v_proj_weight"]
    bq, bk, bv = np.split(P["in_proj_bias"], 3) if "in_proj_bias" in P else (0, 0, 0)
    Q, K, V = q @ wq.T + bq, k @ wk.T + bk, v @ wv.T + bv
    N, L, S = q.shape[0], q.shape[1], k.shape[1]
    if m.add_zero_attn:
        K = np.concatenate([K, np.zeros((N, 1, E))], 1)
        V = np.concatenate([V, np.zeros((N, 1, E))], 1)
    out, weights = np.zeros((N, L, E)), np.zeros((N, H, L, K.shape[1]))
    for n in range(N):
        for h in range(H):
            cols = slice(h * hd, (h + 1) * hd)
            s = Q[n, :, cols] @ K[n, :, cols].T / np.sqrt(hd)
            extra = np.zeros((L, K.shape[1]))
            if attn_mask is not None:
                a = attn_mask if attn_mask.ndim == 2 else attn_mask[n * H + h]
                extra[:, :S] += np.where(a, -np.inf, 0) if a.dtype == bool else a
            if key_padding_mask is not None:
                kp = key_padding_mask[n]
                extra[:, :S] += np.where(kp, -np.inf, 0) if kp.dtype == bool else kp
            s = s + extra
            w = np.exp(s - s.max(-1, keepdims=True))
            w /= w.sum(-1, keepdims=True)
            weights[n, h] = w
            out[n, :, cols] = w @ V[n, :, cols]
    out = out @ P["out_proj.weight"].T + P.get("out_proj.bias", 0)
    return out, weights


NP_CASES = {
    "plain": dict(),
    "batch_first_bool_masks": dict(batch_first=True, attn_mask="bool", kpm="bool"),
    "kdim_vdim_no_bias_float3d": dict(ctor=dict(kdim=3, vdim=5, bias=False),
                                      attn_mask="float3d"),
    "zero_attn_float_kpm": dict(ctor=dict(add_zero_attn=True), kpm="float", batch_first=True),
    "unbatched_bool3d": dict(unbatched=True, attn_mask="bool3d"),
}


@pytest.mark.parametrize("case", list(NP_CASES))
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_matches_numpy_reference(case, need_weights):
    spec = NP_CASES[case]
    tg.manual_seed(0)
    ctor = dict(spec.get("ctor", {}), batch_first=spec.get("batch_first", False))
    m = nn.MultiheadAttention(E, H, **ctor).double()
    with tg.no_grad():                    # nonzero biases, so a misplaced one would show
        for p in m.parameters():
            if p.dim() == 1:
                p.copy_(tg.tensor(np.random.default_rng(9).standard_normal(p.shape)))
    rng = np.random.default_rng(1)
    N, L, S = (1 if spec.get("unbatched") else 3), 4, 5
    q = rng.standard_normal((N, L, E))
    k = rng.standard_normal((N, S, ctor.get("kdim", E)))
    v = rng.standard_normal((N, S, ctor.get("vdim", E)))
    am = spec.get("attn_mask")
    a = {"bool": rng.uniform(size=(L, S)) < 0.3, "float3d": rng.standard_normal((N * H, L, S)),
         "bool3d": rng.uniform(size=(N * H, L, S)) < 0.3, None: None}[am]
    if a is not None and a.dtype == bool:
        a[..., 0] = False
    kp = None
    if spec.get("kpm"):
        kp = rng.uniform(size=(N, S)) < 0.4
        kp[:, 0] = False
        if spec["kpm"] == "float":
            kp = np.where(kp, -3.0, 0.5)
    ref_out, ref_w = np_mha(m, q, k, v, a, kp)

    def lay(x):        # the module's layout of a batch-first array
        if spec.get("unbatched"):
            return tg.tensor(x[0])
        return tg.tensor(x if ctor["batch_first"] else x.transpose(1, 0, 2))
    out, w = m(lay(q), lay(k), lay(v), need_weights=need_weights, average_attn_weights=False,
               attn_mask=None if a is None else tg.tensor(a),
               key_padding_mask=None if kp is None else tg.tensor(kp[0] if spec.get(
                   "unbatched") else kp))
    got = arr(out)
    if spec.get("unbatched"):
        got, ref_out, ref_w = got[None], ref_out, ref_w[0]
    elif not ctor["batch_first"]:
        got = got.transpose(1, 0, 2)
    np.testing.assert_allclose(got, ref_out, rtol=1e-10, atol=1e-12)
    if need_weights:
        np.testing.assert_allclose(arr(w), ref_w, rtol=1e-10, atol=1e-12)
    else:
        assert w is None


def np_layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(x.var(-1, keepdims=True) + eps) * w + b


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_numpy_reference(norm_first):
    tg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(E, H, 16, dropout=0.0, norm_first=norm_first,
                                       batch_first=True).double()
    P = {name: arr(p) for name, p in layer.named_parameters()}
    x = np.random.default_rng(2).standard_normal((2, 5, E))
    mask = np.triu(np.ones((5, 5), bool), 1)

    def sa(h):
        return np_mha(layer.self_attn, h, h, h, attn_mask=mask)[0]

    def ff(h):
        return np.maximum(h @ P["linear1.weight"].T + P["linear1.bias"], 0) @ \
            P["linear2.weight"].T + P["linear2.bias"]

    def ln(h, i):
        return np_layer_norm(h, P[f"norm{i}.weight"], P[f"norm{i}.bias"])
    if norm_first:
        h = x + sa(ln(x, 1))
        ref = h + ff(ln(h, 2))
    else:
        h = ln(x + sa(x), 1)
        ref = ln(h + ff(h), 2)
    out = layer(tg.tensor(x), src_mask=tg.tensor(mask))
    np.testing.assert_allclose(arr(out), ref, rtol=1e-10, atol=1e-12)


# ---- semantics ----------------------------------------------------------------------------------
def test_bool_mask_equals_float_mask_and_means_masked_out():
    m = nn.MultiheadAttention(E, H)
    x = randn(4, 2, E)
    bmask = tg.tensor(np.triu(np.ones((4, 4), bool), 1))
    fmask = nn.Transformer.generate_square_subsequent_mask(4)
    ob, wb = m(x, x, x, attn_mask=bmask)
    of, wf = m(x, x, x, attn_mask=fmask)
    np.testing.assert_allclose(arr(ob), arr(of), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(arr(wb)[:, np.triu(np.ones((4, 4), bool), 1)], 0.0)
    oc, _ = m(x, x, x, attn_mask=fmask, is_causal=True, need_weights=False)
    np.testing.assert_allclose(arr(oc), arr(of), rtol=1e-5, atol=1e-6)
    kpm = tg.tensor([[False, False, True, True], [False, True, False, True]])
    _, w = m(x, x, x, key_padding_mask=kpm, average_attn_weights=False)
    assert (arr(w)[0, :, :, 2:] == 0).all() and (arr(w)[1, :, :, 1::2] == 0).all()


def test_fully_masked_row_gives_zero_weights_not_nan():
    m = nn.MultiheadAttention(E, H)
    x = randn(3, 2, E)
    kpm = tg.tensor([[True, True, True], [False, False, True]])
    for need in (True, False):
        out, w = m(x, x, x, key_padding_mask=kpm, need_weights=need)
        assert np.isfinite(arr(out)).all()
        np.testing.assert_allclose(arr(out)[:, 0], 0.0)   # out_proj.bias starts at zero
        if need:
            assert (arr(w)[0] == 0).all()


def test_dropout_only_in_training():
    tg.manual_seed(0)
    m = nn.MultiheadAttention(E, H, dropout=0.5)
    x = randn(4, 2, E)
    a, _ = m(x, x, x)
    b, _ = m(x, x, x)
    assert not np.allclose(arr(a), arr(b))
    m.eval()
    a, wa = m(x, x, x)
    b, wb = m(x, x, x)
    np.testing.assert_array_equal(arr(a), arr(b))
    np.testing.assert_allclose(arr(wa).sum(-1), 1.0, rtol=1e-5)
    layer = nn.TransformerEncoderLayer(E, H, 16, dropout=0.5).eval()
    np.testing.assert_array_equal(arr(layer(x)), arr(layer(x)))


def test_encoder_detects_the_causal_mask():
    layer = nn.TransformerEncoderLayer(E, H, 16, dropout=0.0)
    enc = nn.TransformerEncoder(layer, 2)
    x = randn(5, 2, E)
    mask = nn.Transformer.generate_square_subsequent_mask(5)
    calls = []
    hook = enc.layers[0].self_attn.register_forward_pre_hook(
        lambda mod, args, kwargs: calls.append(kwargs["is_causal"]), with_kwargs=True)
    out = enc(x, mask=mask)
    out_bool = enc(x, mask=tg.tensor(np.triu(np.ones((5, 5), bool), 1)))
    enc(x, mask=tg.zeros(5, 5))
    enc(x, mask=mask, is_causal=False)
    hook.remove()
    assert calls == [True, True, False, False]
    np.testing.assert_allclose(arr(out), arr(enc(x, mask=mask, is_causal=False)),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(out_bool), arr(out), rtol=1e-5, atol=1e-6)


def test_activation_forms():
    x = randn(4, 2, E)
    base = nn.TransformerEncoderLayer(E, H, 16, dropout=0.0, activation="gelu")
    assert base.activation is F.gelu
    assert nn.TransformerEncoderLayer(E, H, 16).activation is F.relu
    fn = copy.deepcopy(base)
    fn.activation = lambda t: F.gelu(t)
    np.testing.assert_allclose(arr(fn(x)), arr(base(x)), rtol=1e-6)

    class Gelu(nn.Module):
        def forward(self, t):
            return F.gelu(t)
    mod = nn.TransformerEncoderLayer(E, H, 16, dropout=0.0, activation=Gelu())
    assert "activation" in dict(mod.named_children())       # registered, as in PyTorch
    mod.load_state_dict(base.state_dict())
    np.testing.assert_allclose(arr(mod(x)), arr(base(x)), rtol=1e-6)


def test_generate_square_subsequent_mask():
    m = nn.Transformer.generate_square_subsequent_mask(4)
    a = arr(m)
    assert m.dtype == tg.float32 and a.shape == (4, 4)
    assert (a[np.triu_indices(4, 1)] == -np.inf).all() and (a[np.tril_indices(4)] == 0).all()
    assert nn.Transformer.generate_square_subsequent_mask(2, dtype=tg.float64).dtype == \
        tg.float64


def test_repr():
    m = nn.MultiheadAttention(E, H)
    assert repr(m) == ("MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear("
                       "in_features=8, out_features=8, bias=True)\n)")
    text = repr(nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, 16), 1))
    assert text.startswith("TransformerEncoder(\n  (layers): ModuleList(\n    (0): "
                           "TransformerEncoderLayer(\n      (self_attn): MultiheadAttention(")
    assert "(linear1): Linear(in_features=8, out_features=16, bias=True)" in text


# ---- errors -------------------------------------------------------------------------------------
def test_constructor_errors():
    with pytest.raises(ValueError, match=r"embed_dim \(10\) must be divisible by num_heads \(3\)"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="greater than 0"):
        nn.MultiheadAttention(0, 1)
    with pytest.raises(ValueError, match="add_bias_kv=True is not supported"):
        nn.MultiheadAttention(E, H, add_bias_kv=True)
    with pytest.raises(ValueError, match="activation should be relu/gelu, not 'tanh'"):
        nn.TransformerEncoderLayer(E, H, activation="tanh")
    with pytest.raises(ValueError, match="activation should be relu/gelu"):
        nn.TransformerDecoderLayer(E, H, activation="swish")
    with pytest.raises(ValueError, match="a callable"):
        nn.TransformerEncoderLayer(E, H, activation=3)


def test_forward_errors():
    m = nn.MultiheadAttention(E, H)
    x = randn(4, 2, E)
    with pytest.raises(ValueError, match=r"attn_mask of shape \(3, 4\) must be .*\(4, 4\).*"
                                         r"\(4, 4, 4\)"):
        m(x, x, x, attn_mask=tg.zeros(3, 4))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(2, 4, 4\) .*\(4, 4, 4\)"):
        m(x, x, x, attn_mask=tg.zeros(2, 4, 4))
    with pytest.raises(ValueError, match=r"key_padding_mask of shape \(4, 2\) .*= \(2, 4\)"):
        m(x, x, x, key_padding_mask=tg.zeros(4, 2, dtype=tg.bool))
    with pytest.raises(ValueError, match=r"key_padding_mask of shape \(4,\) .*\(S,\) = \(3,\)"):
        m(x[:, 0], x[:3, 0], x[:3, 0], key_padding_mask=tg.zeros(4, dtype=tg.bool))
    with pytest.raises(TypeError, match="only bool and floating types of key_padding_mask"):
        m(x, x, x, key_padding_mask=tg.zeros(2, 4, dtype=tg.int64))
    with pytest.raises(TypeError, match="only bool and floating types of attn_mask"):
        m(x, x, x, attn_mask=tg.zeros(4, 4, dtype=tg.int64))
    with pytest.raises(ValueError, match=r"query of shape \(4, 2, 6\) must have embed_dim=8"):
        m(randn(4, 2, 6), x, x)
    with pytest.raises(ValueError, match="query must be unbatched 2-D"):
        m(randn(1, 4, 2, E), x, x)
    with pytest.raises(ValueError, match="as many dims as query"):
        m(x, x[:, 0], x[:, 0])
    with pytest.raises(ValueError, match=r"kdim=8 and vdim=8"):
        m(x, randn(4, 2, 5), randn(4, 2, 5))
    with pytest.raises(ValueError, match="one sequence length and batch size"):
        m(x, x, randn(3, 2, E))
    with pytest.raises(ValueError, match=r"one batch size \(dim 1\), got 2 and 3"):
        m(x, randn(4, 3, E), randn(4, 3, E))
    with pytest.raises(RuntimeError, match="needs attn_mask"):
        m(x, x, x, is_causal=True)
    with pytest.raises(TypeError, match="query must be a tensor"):
        m(np.zeros((4, 2, E)), x, x)
    with pytest.raises(TypeError, match="attn_mask must be a tensor, got ndarray"):
        m(x, x, x, attn_mask=np.zeros((4, 4)))
    model = nn.Transformer(E, H, 1, 1, 16)
    with pytest.raises(ValueError, match=r"batch sizes of src \(5, 2, 8\) and tgt \(3, 3, 8\)"):
        model(randn(5, 2, E), randn(3, 3, E))
    with pytest.raises(ValueError, match="must equal d_model=8"):
        model(randn(5, 2, 4), randn(3, 2, 4))


# ---- gradcheck ----------------------------------------------------------------------------------
def _gradcheck_module(module, *inputs, **kwargs):
    params = list(module.parameters())

    def fn(*args):
        out = module(*args[:len(inputs)], **kwargs)
        return out[0] if isinstance(out, tuple) else out
    assert gradcheck(fn, tuple(inputs) + tuple(params), eps=1e-6, atol=1e-5, rtol=1e-4)


def test_gradcheck_mha():
    tg.manual_seed(0)
    m = nn.MultiheadAttention(4, 2, kdim=3, vdim=5, add_zero_attn=True).double()
    q, k, v = leaf(3, 2, 4), leaf(2, 2, 3, seed=1), leaf(2, 2, 5, seed=2)
    _gradcheck_module(m, q, k, v, key_padding_mask=tg.tensor([[False, True], [False, False]]))
    m = nn.MultiheadAttention(4, 2, batch_first=True).double()
    x = leaf(2, 3, 4)
    # attention weights as an output too (average_attn_weights=False), and a float mask
    mask = tg.tensor(np.random.default_rng(5).standard_normal((3, 3)))
    params = list(m.parameters())
    assert gradcheck(lambda x, *ps: m(x, x, x, attn_mask=mask, average_attn_weights=False),
                     (x,) + tuple(params), eps=1e-6, atol=1e-5, rtol=1e-4)


def test_gradcheck_float_mask_requiring_grad():
    m = nn.MultiheadAttention(4, 2).double()
    x = leaf(3, 1, 4)
    mask = leaf(2, 3, 3, seed=7)
    for need in (True, False):
        assert gradcheck(lambda x, mk: m(x, x, x, attn_mask=mk, need_weights=need)[0],
                         (x, mask), eps=1e-6, atol=1e-5, rtol=1e-4)


def test_gradcheck_encoder_layer():
    tg.manual_seed(0)
    for norm_first in (False, True):
        layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation="gelu",
                                           norm_first=norm_first).double()
        _gradcheck_module(layer, leaf(3, 2, 4), src_mask=nn.Transformer
                          .generate_square_subsequent_mask(3, dtype=tg.float64))


def test_gradcheck_decoder_layer():
    tg.manual_seed(0)
    layer = nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0).double()
    _gradcheck_module(layer, leaf(2, 2, 4), leaf(3, 2, 4, seed=1))


# ---- parity with PyTorch ------------------------------------------------------------------------
def _torch_twin(tg_module, torch_module, torch):
    """Copy tapegrad's weights into the torch module by name; the key lists must be equal."""
    sd = tg_module.state_dict()
    assert list(sd) == list(torch_module.state_dict())
    torch_module.load_state_dict({k: torch.tensor(arr(v)) for k, v in sd.items()})
    return torch_module.double().train(tg_module.training)


def _compare(torch, tg_module, th_module, tg_out, th_out, tg_inputs, th_inputs, seed=0):
    """Outputs equal; then backward of sum(out * R) gives equal input and parameter grads."""
    tg_outs = tg_out if isinstance(tg_out, tuple) else (tg_out,)
    th_outs = th_out if isinstance(th_out, tuple) else (th_out,)
    tg_loss = th_loss = 0
    rng = np.random.default_rng(seed)
    for a, b in zip(tg_outs, th_outs):
        if b is None:
            assert a is None
            continue
        np.testing.assert_allclose(arr(a), arr(b), rtol=1e-10,
                                   atol=1e-12)
        r = rng.standard_normal(tuple(b.shape))
        tg_loss = tg_loss + (a * tg.tensor(r)).sum()
        th_loss = th_loss + (b * torch.tensor(r)).sum()
    tg_loss.backward()
    th_loss.backward()
    for a, b in zip(tg_inputs, th_inputs):
        if b.requires_grad:
            np.testing.assert_allclose(arr(a.grad), arr(b.grad), rtol=1e-9, atol=1e-11)
    th_params = dict(th_module.named_parameters())
    for name, p in tg_module.named_parameters():
        np.testing.assert_allclose(arr(p.grad), arr(th_params[name].grad), rtol=1e-9,
                                   atol=1e-11, err_msg=name)


def _pair(torch, *shape, seed=0, grad=True):
    a = np.random.default_rng(seed).standard_normal(shape)
    return tg.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


MHA_CASES = {
    "self": dict(),
    "self_batch_first": dict(batch_first=True),
    "cross_kv_same": dict(inputs="kv"),
    "all_different": dict(inputs="qkv"),
    "kdim_vdim": dict(ctor=dict(kdim=3, vdim=5), inputs="qkv"),
    "no_bias": dict(ctor=dict(bias=False)),
    "zero_attn_kpm": dict(ctor=dict(add_zero_attn=True), kpm="bool"),
    "unbatched": dict(unbatched=True, attn_mask="bool3d"),
    "unbatched_kpm": dict(unbatched=True, kpm="float", inputs="kv"),
    "bool_masks": dict(attn_mask="bool2d", kpm="bool"),
    "float_masks_3d": dict(attn_mask="float3d", kpm="float", batch_first=True),
    "causal_hint": dict(attn_mask="causal", is_causal=True),
    "not_averaged": dict(average=False, attn_mask="float2d"),
}


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("case", list(MHA_CASES))
def test_mha_matches_torch(case, need_weights):
    torch = pytest.importorskip("torch")
    spec = MHA_CASES[case]
    ctor = dict(spec.get("ctor", {}), batch_first=spec.get("batch_first", False))
    N, L, S = 2, 4, 3
    kdim, vdim = ctor.get("kdim", E), ctor.get("vdim", E)
    inputs = spec.get("inputs", "x")
    if inputs == "x":
        S = L
    tg.manual_seed(0)
    m = nn.MultiheadAttention(E, H, **ctor).double()
    tm = _torch_twin(m, torch.nn.MultiheadAttention(E, H, **ctor), torch)
    bf, unbatched = ctor["batch_first"], spec.get("unbatched", False)

    def shape(T, width):
        return (T, width) if unbatched else ((N, T, width) if bf else (T, N, width))
    q = _pair(torch, *shape(L, E))
    k = q if inputs == "x" else _pair(torch, *shape(S, kdim), seed=1)
    v = k if inputs in ("x", "kv") else _pair(torch, *shape(S, vdim), seed=2)
    rng = np.random.default_rng(4)
    kw = {}
    am = spec.get("attn_mask")
    lead = (H,) if unbatched else (N * H,)
    if am == "bool2d":
        a = rng.uniform(size=(L, S)) < 0.3
        a[:, 0] = False                  # every row keeps a key: torch gives nan otherwise
    elif am == "bool3d":
        a = rng.uniform(size=lead + (L, S)) < 0.3
        a[..., 0] = False
    elif am == "float2d":
        a = rng.standard_normal((L, S))
    elif am == "float3d":
        a = rng.standard_normal(lead + (L, S))
    elif am == "causal":
        a = np.triu(np.full((L, S), -np.inf), 1)
    if am is not None:
        kw["attn_mask"] = (tg.tensor(a), torch.tensor(a))
    if spec.get("kpm"):
        a = rng.uniform(size=(S,) if unbatched else (N, S)) < 0.3
        a[..., 0] = False
        if spec["kpm"] == "float":
            a = np.where(a, -2.5, 0.0)
        kw["key_padding_mask"] = (tg.tensor(a), torch.tensor(a))
    extra = dict(need_weights=need_weights, average_attn_weights=spec.get("average", True),
                 is_causal=spec.get("is_causal", False))
    out = m(q[0], k[0], v[0], **{n: p[0] for n, p in kw.items()}, **extra)
    tout = tm(q[1], k[1], v[1], **{n: p[1] for n, p in kw.items()}, **extra)
    _compare(torch, m, tm, out, tout, [q[0], k[0], v[0]], [q[1], k[1], v[1]])


ENC_CASES = {
    "post_norm_relu": dict(),
    "pre_norm_gelu_batch_first": dict(norm_first=True, activation="gelu", batch_first=True),
    "masks": dict(mask="causal", kpm=True),
    "causal_detected": dict(mask="causal", layers=2),
    "bool_mask_final_norm": dict(mask="bool", norm=True, layers=2),
    "no_bias": dict(bias=False, norm_first=True),
    "unbatched": dict(unbatched=True, mask="causal"),
}


@pytest.mark.parametrize("case", list(ENC_CASES))
def test_encoder_matches_torch(case):
    torch = pytest.importorskip("torch")
    spec = ENC_CASES[case]
    kw = dict(dropout=0.0, norm_first=spec.get("norm_first", False),
              batch_first=spec.get("batch_first", False), bias=spec.get("bias", True))
    act = spec.get("activation", "relu")
    layers = spec.get("layers", 1)
    tg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(E, H, 16, activation=act, **kw)
    tlayer = torch.nn.TransformerEncoderLayer(E, H, 16, activation=act, **kw)
    norm = LayerNorm(E) if spec.get("norm") else None
    m = nn.TransformerEncoder(layer, layers, norm=norm).double()
    tm = torch.nn.TransformerEncoder(tlayer, layers, norm=torch.nn.LayerNorm(E) if norm else None,
                                     enable_nested_tensor=False)
    tm = _torch_twin(m, tm, torch)
    N, S = 3, 5
    shape = (S, E) if spec.get("unbatched") else ((N, S, E) if kw["batch_first"] else (S, N, E))
    x = _pair(torch, *shape)
    args = {}
    if spec.get("mask") == "causal":
        a = np.triu(np.full((S, S), -np.inf), 1)
        args["mask"] = (tg.tensor(a), torch.tensor(a))
    elif spec.get("mask") == "bool":
        a = np.random.default_rng(2).uniform(size=(S, S)) < 0.4
        a[:, 0] = False
        args["mask"] = (tg.tensor(a), torch.tensor(a))
    if spec.get("kpm"):
        a = np.zeros((N, S), bool)
        a[0, 3:] = True
        args["src_key_padding_mask"] = (tg.tensor(a), torch.tensor(a))
    out = m(x[0], **{n: p[0] for n, p in args.items()})
    tout = tm(x[1], **{n: p[1] for n, p in args.items()})
    _compare(torch, m, tm, out, tout, [x[0]], [x[1]])


@pytest.mark.parametrize("norm_first,batch_first", [(False, False), (True, True)])
def test_transformer_matches_torch(norm_first, batch_first):
    torch = pytest.importorskip("torch")
    kw = dict(d_model=E, nhead=H, num_encoder_layers=2, num_decoder_layers=2,
              dim_feedforward=16, dropout=0.0, norm_first=norm_first, batch_first=batch_first)
    tg.manual_seed(0)
    m = nn.Transformer(activation="gelu", **kw).double()
    tm = _torch_twin(m, torch.nn.Transformer(activation="gelu", **kw), torch)
    N, S, T = 2, 5, 4
    src = _pair(torch, *((N, S, E) if batch_first else (S, N, E)))
    tgt = _pair(torch, *((N, T, E) if batch_first else (T, N, E)), seed=1)
    cm = np.triu(np.full((T, T), -np.inf), 1)
    kpm = np.zeros((N, S), bool)
    kpm[1, 4] = True
    masks = dict(tgt_mask=cm, src_key_padding_mask=kpm, memory_key_padding_mask=kpm)
    out = m(src[0], tgt[0], **{k: tg.tensor(v) for k, v in masks.items()})
    tout = tm(src[1], tgt[1], **{k: torch.tensor(v) for k, v in masks.items()})
    _compare(torch, m, tm, out, tout, [src[0], tgt[0]], [src[1], tgt[1]])


def test_decoder_layer_matches_torch_with_memory_masks():
    torch = pytest.importorskip("torch")
    tg.manual_seed(0)
    m = nn.TransformerDecoderLayer(E, H, 16, dropout=0.0, norm_first=True).double()
    tm = _torch_twin(m, torch.nn.TransformerDecoderLayer(E, H, 16, dropout=0.0,
                                                         norm_first=True), torch)
    tgt, mem = _pair(torch, 4, 2, E), _pair(torch, 6, 2, E, seed=1)
    mm = np.random.default_rng(0).standard_normal((4, 6))
    out = m(tgt[0], mem[0], memory_mask=tg.tensor(mm),
            tgt_mask=nn.Transformer.generate_square_subsequent_mask(4, dtype=tg.float64),
            tgt_is_causal=True)
    tout = tm(tgt[1], mem[1], memory_mask=torch.tensor(mm),
              tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(
                  4, dtype=torch.float64), tgt_is_causal=True)
    _compare(torch, m, tm, out, tout, [tgt[0], mem[0]], [tgt[1], mem[1]])


def test_state_dict_keys_match_torch():
    torch = pytest.importorskip("torch")
    pairs = [
        (nn.MultiheadAttention(E, H), torch.nn.MultiheadAttention(E, H)),
        (nn.MultiheadAttention(E, H, kdim=3, vdim=5, bias=False),
         torch.nn.MultiheadAttention(E, H, kdim=3, vdim=5, bias=False)),
        (nn.TransformerEncoderLayer(E, H, 16), torch.nn.TransformerEncoderLayer(E, H, 16)),
        (nn.TransformerDecoderLayer(E, H, 16, bias=False),
         torch.nn.TransformerDecoderLayer(E, H, 16, bias=False)),
        (nn.Transformer(E, H, 2, 1, 16), torch.nn.Transformer(E, H, 2, 1, 16)),
    ]
    for ours, theirs in pairs:
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert [tuple(p.shape) for p in ours.parameters()] == \
            [tuple(p.shape) for p in theirs.parameters()]
        assert repr(ours) == repr(theirs)
