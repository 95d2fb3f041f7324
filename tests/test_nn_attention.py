"""F.scaled_dot_product_attention beyond the op-database rows (tests/opinfo_nn_attention.py):
golden values, PyTorch's conventions (fully masked rows, top-left causal, gqa), the errors,
large magnitudes, float16, and dropout of the attention weights."""
import math
import warnings

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad import ArgumentError, DTypeError, IndexRangeError, ShapeError

sdpa = F.scaled_dot_product_attention


def qkv(*shapes, dtype=np.float64, seed=0, requires_grad=True):
    rng = np.random.default_rng(seed)
    return [tg.tensor(rng.standard_normal(s).astype(dtype), requires_grad=requires_grad)
            for s in shapes]


def test_golden_causal():
    # query 1 sees keys 0 and 1 with scores 0 and 1/sqrt(2): weights 1 / (1 + e^.7071), ...
    q = tg.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=tg.float64)
    v = tg.tensor([[1.0], [3.0]], dtype=tg.float64, requires_grad=True)
    out = sdpa(q, q, v, is_causal=True)
    w = math.exp(1 / math.sqrt(2))
    np.testing.assert_allclose(out.detach().numpy(), [[1.0], [(1 + 3 * w) / (1 + w)]])
    out.sum().backward()
    np.testing.assert_allclose(v.grad.numpy(), [[1 + 1 / (1 + w)], [w / (1 + w)]])


def test_default_scale_and_scale_zero():
    q, k, v = qkv((2, 3, 4), (2, 5, 4), (2, 5, 3))
    np.testing.assert_allclose(sdpa(q, k, v).detach().numpy(),
                               sdpa(q, k, v, scale=0.5).detach().numpy())
    # scale 0: every key weighs the same
    np.testing.assert_allclose(sdpa(q, k, v, scale=0.0).detach().numpy(),
                               np.broadcast_to(v.detach().numpy().mean(-2, keepdims=True),
                                               (2, 3, 3)))


@pytest.mark.parametrize("L, S", [(3, 5), (5, 3), (4, 4)])
def test_causal_is_top_left_tril(L, S):
    q, k, v = qkv((2, L, 4), (2, S, 4), (2, S, 3))
    tril = tg.tensor(np.tril(np.ones((L, S), bool)))
    np.testing.assert_allclose(sdpa(q, k, v, is_causal=True).detach().numpy(),
                               sdpa(q, k, v, attn_mask=tril).detach().numpy())


def test_bool_mask_equals_additive_minus_inf():
    q, k, v = qkv((2, 3, 4), (2, 5, 4), (2, 5, 3))
    m = np.random.default_rng(1).random((3, 5)) < 0.5
    m[:, 0] = True
    additive = tg.tensor(np.where(m, 0.0, -np.inf))
    np.testing.assert_allclose(sdpa(q, k, v, tg.tensor(m)).detach().numpy(),
                               sdpa(q, k, v, additive).detach().numpy())


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_fully_masked_rows_give_zeros_and_zero_grads(kind):
    # PyTorch 2.x returns 0 for a query that may attend nothing (not softmax's nan)
    q, k, v = qkv((2, 3, 4), (2, 5, 4), (2, 5, 3))
    allowed = np.ones((3, 5), bool)
    allowed[1] = False
    mask = tg.tensor(allowed if kind == "bool" else np.where(allowed, 0.0, -np.inf),
                     requires_grad=kind == "float")
    out = sdpa(q, k, v, mask)
    np.testing.assert_array_equal(out.detach().numpy()[:, 1], 0.0)
    assert np.isfinite(out.detach().numpy()).all()
    out.sum().backward()
    np.testing.assert_array_equal(q.grad.numpy()[:, 1], 0.0)
    for t in [q, k, v] + ([mask] if kind == "float" else []):
        assert np.isfinite(t.grad.numpy()).all()


def test_no_keys_gives_zeros():
    q, k, v = qkv((2, 3, 4), (2, 0, 4), (2, 0, 3))
    out = sdpa(q, k, v)
    assert out.shape == (2, 3, 3) and not out.detach().numpy().any()


def test_gqa_repeats_key_and_value_heads_as_repeat_interleave():
    q, k, v = qkv((2, 6, 3, 4), (2, 2, 5, 4), (2, 3, 5, 2))
    out = sdpa(q, k, v, enable_gqa=True)
    expected = sdpa(q, tg.repeat_interleave(k, 3, -3), tg.repeat_interleave(v, 2, -3))
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), atol=1e-12)


def test_bool_mask_changed_after_the_call_does_not_change_the_gradient():
    q, k, v = qkv((3, 4), (5, 4), (5, 2))
    m = tg.tensor(np.ones((3, 5), bool))
    out = sdpa(q, k, v, m)
    m[:, 1:] = False
    out.sum().backward()
    q2, k2, v2 = qkv((3, 4), (5, 4), (5, 2))
    sdpa(q2, k2, v2).sum().backward()
    np.testing.assert_allclose(q.grad.numpy(), q2.grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_magnitudes_1e4_stay_finite(dtype):
    q, k, v = qkv((2, 4, 8), (2, 6, 8), (2, 6, 3), dtype=dtype)
    for t in (q, k):
        t.data = t.data * 1e4
    out = sdpa(q, k, v, is_causal=True)
    out.sum().backward()
    assert np.isfinite(out.detach().numpy()).all()
    for t in (q, k, v):
        assert np.isfinite(t.grad.numpy()).all()


def test_float16_computes_in_float32():
    q, k, v = qkv((2, 4, 8), (2, 6, 8), (2, 6, 3), dtype=np.float16)
    out = sdpa(q, k, v, attn_mask=tg.tensor(np.zeros((4, 6), np.float32)))
    assert out.dtype == tg.float16
    ref = sdpa(*(tg.tensor(t.detach().numpy().astype(np.float64)) for t in (q, k, v)))
    np.testing.assert_allclose(out.detach().numpy(), ref.numpy(), rtol=1e-2, atol=2e-3)
    out.sum().backward()
    assert q.grad.dtype == tg.float16 and np.isfinite(q.grad.numpy()).all()


def test_float_mask_is_differentiated():
    q, k, v, m = qkv((2, 3, 4), (2, 5, 4), (2, 5, 3), (3, 5))
    sdpa(q, k, v, m).sum().backward()
    assert m.grad.shape == (3, 5) and np.abs(m.grad.numpy()).sum() > 0


# ---- dropout of the attention weights ----------------------------------------------------------
def test_dropout_on_weights_statistics_and_seed():
    # v = identity: the output is the weights, so dropped ones show as zeros
    S, p = 200, 0.3
    q, k = qkv((4, 50, 8), (4, S, 8), requires_grad=False)
    v = tg.eye(S, dtype=tg.float64)
    weights = sdpa(q, k, v).numpy()
    tg.manual_seed(3)
    dropped = sdpa(q, k, v, dropout_p=p).numpy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(dropped, sdpa(q, k, v, dropout_p=p).numpy())
    zero = dropped == 0
    n = zero.size
    assert abs(zero.mean() - p) < 4 * math.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(dropped[~zero], weights[~zero] / (1 - p))
    assert not sdpa(q, k, v, dropout_p=1.0).numpy().any()


def test_dropout_zero_is_deterministic_and_float32_stays_float32():
    q, k, v = qkv((2, 3, 4), (2, 5, 4), (2, 5, 3), dtype=np.float32)
    a = sdpa(q, k, v, dropout_p=0.0)
    assert a.dtype == tg.float32
    np.testing.assert_array_equal(a.detach().numpy(), sdpa(q, k, v).detach().numpy())


# ---- errors -----------------------------------------------------------------------------------
def test_errors_name_the_function_and_shapes():
    q, k, v = qkv((2, 3, 4), (2, 5, 4), (2, 5, 3))
    cases = [
        (ShapeError, "embedding size", lambda: sdpa(q, qkv((2, 5, 3))[0], v)),
        (ShapeError, "sequence length", lambda: sdpa(q, k, qkv((2, 4, 3))[0])),
        (ShapeError, "at least 2 dims", lambda: sdpa(*qkv((4,), (4,), (4,)))),
        (ShapeError, "don't broadcast", lambda: sdpa(*qkv((3, 3, 4), (2, 5, 4), (2, 5, 3)))),
        (ShapeError, r"attn_mask of shape \(4, 5\)",
         lambda: sdpa(q, k, v, tg.ones(4, 5, dtype=tg.bool))),
        (ShapeError, "without adding dims",
         lambda: sdpa(q, k, v, tg.ones(3, 2, 3, 5, dtype=tg.bool))),
        (DTypeError, "attn_mask must be bool",
         lambda: sdpa(q, k, v, tg.ones(3, 5, dtype=tg.int64))),
        (DTypeError, "attn_mask must be bool", lambda: sdpa(*qkv((3, 4), (5, 4), (5, 3),
                                                                 dtype=np.float32),
                                                            tg.zeros(3, 5, dtype=tg.float64))),
        (ArgumentError, "not both", lambda: sdpa(q, k, v, tg.ones(3, 5, dtype=tg.bool),
                                                 is_causal=True)),
        (ArgumentError, "between 0 and 1", lambda: sdpa(q, k, v, dropout_p=1.5)),
        (ArgumentError, "between 0 and 1", lambda: sdpa(q, k, v, dropout_p=-0.1)),
        (DTypeError, "one dtype", lambda: sdpa(q, k.float(), v)),
        (DTypeError, "floating", lambda: sdpa(*(tg.ones(3, 4, dtype=tg.int64),) * 3)),
        (DTypeError, "must be a tensor", lambda: sdpa(q.detach().numpy(), k, v)),
        (ShapeError, "must divide", lambda: sdpa(*qkv((2, 6, 3, 4), (2, 4, 5, 4), (2, 4, 5, 3)),
                                                 enable_gqa=True)),
        (IndexRangeError, "heads dim", lambda: sdpa(*qkv((3, 4), (5, 4), (5, 3)),
                                                    enable_gqa=True)),
        (ShapeError, "enable_gqa=True", lambda: sdpa(*qkv((2, 6, 3, 4), (2, 2, 5, 4),
                                                         (2, 2, 5, 3)))),
    ]
    for cls, match, call in cases:
        with pytest.raises(cls, match=match) as info:
            call()
        assert "scaled_dot_product_attention" in str(info.value)


def test_no_warnings_on_the_common_path():
    q, k, v = qkv((2, 4, 8, 16), (2, 4, 8, 16), (2, 4, 8, 16), dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sdpa(q, k, v, is_causal=True).sum().backward()


def test_float16_mask_with_float16_query():
    q, k, v, m = qkv((2, 4, 8), (2, 6, 8), (2, 6, 3), (4, 6), dtype=np.float16)
    out = sdpa(q, k, v, m)
    assert out.dtype == tg.float16
    out.sum().backward()
    assert m.grad.dtype == tg.float16 and np.isfinite(m.grad.numpy()).all()


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_fully_masked_rows_as_torch(kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 3))]
    allowed = rng.random((3, 5)) < 0.5
    allowed[0] = False
    mask = allowed if kind == "bool" else np.where(allowed, 0.5, -np.inf)
    results = []
    for lib, fn in ((tg, sdpa), (torch, torch.nn.functional.scaled_dot_product_attention)):
        ts = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = fn(*ts, lib.tensor(mask))
        (out * lib.tensor(np.linspace(-1, 1, out.numel()).reshape(2, 3, 3))).sum().backward()
        results.append([out.detach().numpy()] + [t.grad.numpy() for t in ts])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
