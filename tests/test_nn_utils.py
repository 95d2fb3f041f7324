"""tapegrad.nn.utils: gradient clipping, parameter vectors (parametrizations below)."""
import math
import warnings

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.nn.utils import (clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_,
                               get_total_norm, parameters_to_vector, vector_to_parameters)


def leaves_with_grads(seed=0, shapes=((3, 4), (5,), (2, 2, 2)), dtype=np.float32, scale=1.0):
    rng = np.random.default_rng(seed)
    out = []
    for s in shapes:
        p = tg.zeros(*s, dtype=tg.float32 if dtype == np.float32 else tg.float64,
                     requires_grad=True)
        p.grad = tg.tensor((rng.standard_normal(s) * scale).astype(dtype))
        out.append(p)
    return out


def all_grads(params):
    return np.concatenate([p.grad.numpy().astype(np.float64).ravel() for p in params
                           if p.grad is not None])


def ref_norm(v, p):
    if p == math.inf:
        return np.abs(v).max()
    if p == -math.inf:
        return np.abs(v).min()
    return np.sum(np.abs(v) ** p) ** (1 / p)


# ---- get_total_norm --------------------------------------------------------------------------
@pytest.mark.parametrize("p", [2.0, 1.0, 3.5, 0.5, math.inf, "inf", 2])
def test_total_norm_is_the_norm_of_the_concatenation(p):
    params = leaves_with_grads()
    total = get_total_norm([q.grad for q in params], p)
    assert total.dtype == tg.float32 and total.shape == () and not total.requires_grad
    assert total.item() == pytest.approx(ref_norm(all_grads(params), float(p)), rel=1e-6)


def test_total_norm_special_orders():
    a, b, c = tg.tensor([3.0, 0.0, -4.0]), tg.zeros(2), tg.tensor([1.0, 2.0])
    # p = 0 and -inf are norms of the per-tensor norms, as PyTorch defines them
    assert get_total_norm([a, b, c], 0).item() == 2.0
    assert get_total_norm([a, c], 0).item() == 2.0
    assert get_total_norm([a, b, c], -math.inf).item() == 0.0
    assert get_total_norm([a, c], -math.inf).item() == 0.0          # a holds a zero
    assert get_total_norm([tg.tensor([3.0, -4.0]), c], -math.inf).item() == 1.0
    assert get_total_norm([a, b, c], -1).item() == 0.0
    assert get_total_norm(a).item() == 5.0        # one tensor
    assert get_total_norm([]).tolist() == 0.0 and get_total_norm([]).dtype == tg.float32


def test_total_norm_dtype_promotes_and_float16_does_not_overflow():
    assert get_total_norm([tg.ones(2), tg.ones(2, dtype=tg.float64)]).dtype == tg.float64
    big = tg.full((1000,), 100.0, dtype=tg.float16)          # sum of squares 1e7 > float16 max
    total = get_total_norm([big])
    assert total.dtype == tg.float16 and total.item() == pytest.approx(100 * math.sqrt(1000),
                                                                        rel=1e-3)


def test_total_norm_nonfinite():
    g = tg.tensor([1.0, math.nan])
    assert math.isnan(get_total_norm([g]).item())
    with pytest.raises(RuntimeError, match=r"The total norm of order 2.0 for gradients from "
                                           r"`parameters` is non-finite"):
        get_total_norm([tg.tensor([1.0, math.inf])], error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        get_total_norm([tg.tensor([1.0, math.nan])], math.inf, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="could not convert string to float"):
        get_total_norm([g], "fro")
    with pytest.raises(RuntimeError, match=r"inf norm of an empty gradient"):
        get_total_norm([tg.zeros(0), g], math.inf)
    assert get_total_norm([tg.zeros(0), tg.tensor([3.0, 4.0])]).item() == 5.0


# ---- clip_grad_norm_ -------------------------------------------------------------------------
@pytest.mark.parametrize("p", [2.0, 1.0, math.inf, 3.0])
def test_clip_grad_norm_scales_to_max_norm(p):
    params = leaves_with_grads(scale=10.0)
    before = all_grads(params)
    total = clip_grad_norm_(params, max_norm=0.5, norm_type=p)
    assert total.item() == pytest.approx(ref_norm(before, p), rel=1e-6)
    after = all_grads(params)
    np.testing.assert_allclose(after, before * 0.5 / (ref_norm(before, p) + 1e-6), rtol=1e-6)
    assert ref_norm(after, p) == pytest.approx(0.5, rel=1e-5)


def test_clip_grad_norm_leaves_small_gradients_alone_and_skips_missing_grads():
    params = leaves_with_grads(dtype=np.float64, scale=0.01)
    params.append(tg.zeros(3, requires_grad=True))            # no grad: skipped
    before = all_grads(params)
    total = clip_grad_norm_(iter(params), 10.0)
    assert total.dtype == tg.float64
    np.testing.assert_array_equal(all_grads(params), before)
    assert params[-1].grad is None


def test_clip_grad_norm_in_place_and_one_tensor():
    w = tg.zeros(2, requires_grad=True)
    w.grad = tg.tensor([3.0, 4.0])
    g, storage, version = w.grad, w.grad._data, w.grad._version
    total = clip_grad_norm_(w, 1.0)
    assert total.item() == 5.0
    assert w.grad is g and g._data is storage and g._version == version + 1
    np.testing.assert_allclose(g.numpy(), [0.6, 0.8], rtol=1e-6)


def test_clip_grad_norm_generator_is_read_once():
    params = leaves_with_grads(scale=10.0)
    total = clip_grad_norm_((p for p in params), 1.0)
    assert total.item() > 1.0
    assert ref_norm(all_grads(params), 2) == pytest.approx(1.0, rel=1e-5)
    with pytest.warns(UserWarning, match="empty generator"):
        assert clip_grad_norm_((p for p in []), 1.0).item() == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert clip_grad_norm_([], 1.0).item() == 0.0


def test_clip_grad_norm_nonfinite():
    w = tg.zeros(2, requires_grad=True)
    w.grad = tg.tensor([math.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(w, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(w.grad.numpy(), [math.inf, 1.0])   # untouched on error
    w.grad = tg.tensor([math.nan, 1.0])
    clip_grad_norm_(w, 1.0)
    assert np.isnan(w.grad.numpy()).all()      # scaled by a nan norm, as in PyTorch


def test_clip_grads_with_norm_splits_clip_grad_norm():
    a, b = leaves_with_grads(1, scale=5.0), leaves_with_grads(1, scale=5.0)
    clip_grad_norm_(a, 2.0, 1.0)
    total = get_total_norm([p.grad for p in b], 1.0)
    assert clip_grads_with_norm_(b, 2.0, total) is None
    np.testing.assert_array_equal(all_grads(a), all_grads(b))
    c = leaves_with_grads(1, scale=5.0)
    clip_grads_with_norm_(c, 2.0, total.item())               # a plain number works too
    np.testing.assert_allclose(all_grads(c), all_grads(b), rtol=1e-6)


def test_clip_grad_value():
    w = tg.zeros(4, requires_grad=True)
    w.grad = tg.tensor([-3.0, -0.5, 0.25, 7.0])
    version = w.grad._version
    assert clip_grad_value_([w, tg.zeros(2, requires_grad=True)], 1) is None
    np.testing.assert_array_equal(w.grad.numpy(), [-1.0, -0.5, 0.25, 1.0])
    assert w.grad._version == version + 1
    clip_grad_value_(w, 0.3)
    np.testing.assert_allclose(w.grad.numpy(), [-0.3, -0.3, 0.25, 0.3])


def test_clipping_works_after_a_real_backward():
    w = tg.tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True)
    b = tg.tensor([1.0, 1.0], requires_grad=True)
    ((w * 10).sum() + (b * 3).sum()).backward()
    total = clip_grad_norm_([w, b], 1.0)
    assert total.item() == pytest.approx(math.sqrt(4 * 100 + 2 * 9), rel=1e-6)
    assert ref_norm(all_grads([w, b]), 2) == pytest.approx(1.0, rel=1e-5)
    assert w.is_leaf and w.grad.grad_fn is None


# ---- parameters_to_vector / vector_to_parameters ---------------------------------------------
def test_parameters_to_vector_and_back():
    a = tg.arange(6.0).reshape(2, 3).requires_grad_()
    b = tg.tensor([10.0, 11.0], requires_grad=True)
    v = parameters_to_vector([a, b])
    np.testing.assert_array_equal(v.detach().numpy(), [0, 1, 2, 3, 4, 5, 10, 11])
    (v * tg.arange(8.0)).sum().backward()        # recorded: gradients reach the parameters
    np.testing.assert_array_equal(a.grad.numpy(), [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(b.grad.numpy(), [6, 7])
    new = tg.arange(100.0, 109.0)                # one element longer than needed: allowed
    assert vector_to_parameters(new, [a, b]) is None
    np.testing.assert_array_equal(a.detach().numpy(), [[100, 101, 102], [103, 104, 105]])
    np.testing.assert_array_equal(b.detach().numpy(), [106, 107])
    assert a.requires_grad and a.is_leaf and a.shape == (2, 3)
    new[0] = -1.0                                # the parameters view the vector, as in PyTorch
    assert a[0, 0].item() == -1.0


def test_vector_conversion_errors():
    with pytest.raises(TypeError, match="expected tapegrad.Tensor, but got: list"):
        vector_to_parameters([1.0, 2.0], [tg.zeros(2)])
    with pytest.raises(ValueError, match=r"the vector has 4 elements.*shape \(3,\)"):
        vector_to_parameters(tg.zeros(4), [tg.zeros(2), tg.zeros(3)])
    with pytest.raises(ValueError, match="at least one parameter"):
        parameters_to_vector([])


# ---- PyTorch parity --------------------------------------------------------------------------
@pytest.mark.parametrize("p", [2.0, 1.0, 0.0, 3.0, math.inf, -math.inf, 0.5])
@pytest.mark.parametrize("max_norm", [0.1, 1e3])
def test_clip_grad_norm_matches_torch(p, max_norm):
    torch = pytest.importorskip("torch")
    params = leaves_with_grads(4, shapes=((4, 3), (7,), (2, 1, 3)))
    tparams = []
    for q in params:
        t = torch.zeros(q.shape, requires_grad=True)
        t.grad = torch.tensor(q.grad.numpy().copy())
        tparams.append(t)
    total = clip_grad_norm_(params, max_norm, p)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, max_norm, p)
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-5)
    for q, t in zip(params, tparams):
        np.testing.assert_allclose(q.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-7)
    torch.nn.utils.clip_grad_value_(tparams, 0.01)
    clip_grad_value_(params, 0.01)
    for q, t in zip(params, tparams):
        np.testing.assert_allclose(q.grad.numpy(), t.grad.numpy(), rtol=1e-6)
