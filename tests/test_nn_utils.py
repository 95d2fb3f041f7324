"""tapegrad.nn.utils: gradient clipping, parameter vectors, parametrize and parametrizations."""
import copy
import math
import pickle
import warnings

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn as nn
import tapegrad.nn.functional as F
from tapegrad.autograd import gradcheck
from tapegrad.nn.utils import parametrizations as P
from tapegrad.nn.utils import parametrize
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


@pytest.mark.parametrize("p", [-1.0, -0.5, -math.inf])
def test_total_norm_of_negative_order_refuses_an_empty_gradient(p):
    # A negative order has no identity either (PyTorch raises); it used to give inf.
    with pytest.raises(RuntimeError, match=r"norm of an empty gradient"):
        get_total_norm([tg.zeros(0), tg.tensor([3.0, 4.0])], p)
    w = tg.zeros(0, requires_grad=True)
    w.grad = tg.zeros(0)
    with pytest.raises(RuntimeError, match=r"norm of an empty gradient"):
        clip_grad_norm_([w], 1.0, p)
    assert get_total_norm([tg.tensor([3.0, 4.0])], p).item() == pytest.approx(
        ref_norm(np.array([3.0, 4.0]), p))


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


# ---- parametrize -----------------------------------------------------------------------------
# Layers of the layer library live in other files; these two stand-ins have Linear's and
# Conv2d's parameter names, order and forward, so state dicts move to and from PyTorch's.
class Lin(nn.Module):
    def __init__(self, i, o, dtype=tg.float32, seed=0):
        super().__init__()
        g = tg.Generator().manual_seed(seed)
        self.weight = nn.Parameter(tg.randn(o, i, dtype=dtype, generator=g))
        self.bias = nn.Parameter(tg.randn(o, dtype=dtype, generator=g))

    def forward(self, x):
        return x @ self.weight.T + self.bias


class Conv(nn.Module):
    def __init__(self, shape, dtype=tg.float32, transposed=False):
        super().__init__()
        self.transposed = transposed
        self.weight = nn.Parameter(tg.randn(*shape, dtype=dtype, generator=gen_(1)))
        self.bias = nn.Parameter(tg.randn(shape[1 if transposed else 0], dtype=dtype,
                                          generator=gen_(2)))

    def forward(self, x):
        conv = F.conv_transpose2d if self.transposed else F.conv2d
        return conv(x, self.weight, self.bias)


def gen_(seed):
    return tg.Generator().manual_seed(seed)


class Double(nn.Module):
    def forward(self, x):
        return 2 * x

    def right_inverse(self, y):
        return y / 2


class AddOne(nn.Module):
    def forward(self, x):
        return x + 1


class Symmetric(nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).mT


def test_parametrized_tensor_is_computed_and_gradients_reach_original():
    m = Lin(3, 2)
    w0 = m.weight
    w_values = w0.detach().numpy().copy()
    parametrize.register_parametrization(m, "weight", Double())
    original = m.parametrizations.weight.original
    assert original is w0                       # the same object: optimizers stay valid
    np.testing.assert_allclose(original.detach().numpy(), w_values / 2)   # right_inverse ran
    np.testing.assert_allclose(m.weight.detach().numpy(), w_values, rtol=1e-6)
    assert m.weight.grad_fn is not None
    x = tg.tensor([[1.0, 2.0, 3.0]])
    m(x).sum().backward()
    np.testing.assert_allclose(original.grad.numpy(), 2 * np.array([[1, 2, 3], [1, 2, 3]]))
    np.testing.assert_array_equal(m.bias.grad.numpy(), [1, 1])


def test_parametrized_module_layout_names_and_class():
    m = parametrize.register_parametrization(Lin(3, 2), "weight", Symmetric(), unsafe=True)
    assert type(m).__name__ == "ParametrizedLin" and isinstance(m, Lin)
    assert parametrize.type_before_parametrizations(m) is Lin
    assert parametrize.is_parametrized(m) and parametrize.is_parametrized(m, "weight")
    assert not parametrize.is_parametrized(m, "bias")
    assert [n for n, _ in m.named_parameters()] == ["bias", "parametrizations.weight.original"]
    assert list(m.state_dict()) == ["bias", "parametrizations.weight.original"]
    assert "weight" not in m._parameters
    assert isinstance(m.parametrizations, nn.ModuleDict)
    assert isinstance(m.parametrizations.weight, parametrize.ParametrizationList)
    assert repr(m) == ("ParametrizedLin(\n  (parametrizations): ModuleDict(\n    (weight): "
                       "ParametrizationList(\n      (0): Symmetric()\n    )\n  )\n)")
    # a second module is unaffected: each parametrized module has a class of its own
    other = Lin(3, 2)
    assert type(other) is Lin and "weight" in other._parameters


def test_state_dict_round_trip_between_parametrized_modules():
    a = parametrize.register_parametrization(Lin(3, 3, seed=1), "weight", Symmetric())
    b = parametrize.register_parametrization(Lin(3, 3, seed=2), "weight", Symmetric())
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b.weight.detach().numpy(), a.weight.detach().numpy())
    with pytest.raises(RuntimeError, match="Missing key.*parametrizations.weight.original"):
        b.load_state_dict({"bias": tg.zeros(3)})


def test_assignment_goes_through_right_inverse():
    m = parametrize.register_parametrization(Lin(2, 2), "weight", Double())
    original = m.parametrizations.weight.original
    version = original._version
    m.weight = tg.tensor([[2.0, 4.0], [6.0, 8.0]])
    assert m.parametrizations.weight.original is original
    np.testing.assert_array_equal(original.detach().numpy(), [[1, 2], [3, 4]])
    assert original._version > version
    np.testing.assert_array_equal(m.weight.detach().numpy(), [[2, 4], [6, 8]])
    n = parametrize.register_parametrization(Lin(2, 2), "weight", AddOne())
    with pytest.raises(RuntimeError, match="AddOne does not implement right_inverse"):
        n.weight = tg.zeros(2, 2)
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        n.weight = nn.Parameter(tg.zeros(2, 2))


def test_parametrizations_compose_in_registration_order():
    m = Lin(2, 2)
    w = m.weight.detach().numpy().copy()
    parametrize.register_parametrization(m, "weight", AddOne())
    parametrize.register_parametrization(m, "weight", Double())
    assert len(m.parametrizations.weight) == 2
    np.testing.assert_allclose(m.weight.detach().numpy(), 2 * (w + 1), rtol=1e-6)
    assert list(m.state_dict()) == ["bias", "parametrizations.weight.original"]
    parametrize.remove_parametrizations(m, "weight")
    np.testing.assert_allclose(m.weight.detach().numpy(), 2 * (w + 1), rtol=1e-6)


class Flatten(nn.Module):
    def forward(self, x):
        return x.reshape(-1)


class ToDouble(nn.Module):
    def forward(self, x):
        return x.double()


def test_shape_and_dtype_checks_and_unsafe():
    with pytest.raises(ValueError, match=r"may not change the shape.*\n.*Size\(\[2, 3\]\)"):
        parametrize.register_parametrization(Lin(3, 2), "weight", Flatten())
    with pytest.raises(ValueError, match="may not change the dtype"):
        parametrize.register_parametrization(Lin(3, 2), "weight", ToDouble())
    m = parametrize.register_parametrization(Lin(3, 2), "weight", Flatten(), unsafe=True)
    assert m.weight.shape == (6,) and m.parametrizations.weight.unsafe
    m = parametrize.register_parametrization(Lin(3, 2), "weight", Double())
    with pytest.raises(ValueError, match=r"may not change the shape.*\n.*module.weight.shape"):
        parametrize.register_parametrization(m, "weight", Flatten())
    assert len(m.parametrizations.weight) == 1           # the failed one was not appended
    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a "
                                         "parametrized element with name 'kernel'"):
        parametrize.register_parametrization(Lin(3, 2), "kernel", Double())
    with pytest.raises(ValueError, match="does not have a parametrization on bias"):
        parametrize.remove_parametrizations(m, "bias")


def test_remove_parametrizations_leaves_the_right_values():
    m = Lin(2, 3)
    w = m.weight.detach().numpy().copy()
    parametrize.register_parametrization(m, "weight", AddOne())
    original = m.parametrizations.weight.original
    parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
    assert type(m) is Lin and not hasattr(m, "parametrizations")
    assert m.weight is original and isinstance(m.weight, nn.Parameter)     # same object
    np.testing.assert_allclose(m.weight.detach().numpy(), w + 1, rtol=1e-6)
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight"]
    m2 = parametrize.register_parametrization(Lin(2, 3), "weight", AddOne())
    w2 = m2.parametrizations.weight.original.detach().numpy().copy()
    parametrize.remove_parametrizations(m2, "weight", leave_parametrized=False)
    np.testing.assert_array_equal(m2.weight.detach().numpy(), w2)


def test_remove_one_of_two_parametrized_tensors_keeps_the_class():
    m = Lin(2, 2)
    parametrize.register_parametrization(m, "weight", AddOne())
    parametrize.register_parametrization(m, "bias", Double())
    cls = type(m)
    parametrize.remove_parametrizations(m, "weight")
    assert type(m) is cls and parametrize.is_parametrized(m, "bias")
    assert [n for n, _ in m.named_parameters()] == ["weight", "parametrizations.bias.original"]
    parametrize.remove_parametrizations(m, "bias")
    assert type(m) is Lin


def test_parametrized_buffer():
    m = nn.Module()
    m.register_buffer("table", tg.ones(2, 2))
    parametrize.register_parametrization(m, "table", AddOne())
    assert list(m.state_dict()) == ["parametrizations.table.original"]
    assert list(m.parameters()) == []
    np.testing.assert_array_equal(m.table.numpy(), np.full((2, 2), 2.0))
    parametrize.remove_parametrizations(m, "table")
    assert "table" in m._buffers and m.table.tolist() == [[2.0, 2.0], [2.0, 2.0]]


def test_cached_computes_once_per_context():
    calls = []

    class Counting(nn.Module):
        def forward(self, x):
            calls.append(1)
            return x * 3

    m = parametrize.register_parametrization(Lin(2, 2), "weight", Counting())
    calls.clear()
    with parametrize.cached():
        a = m.weight
        with parametrize.cached():
            assert m.weight is a
        assert m.weight is a                    # the inner exit keeps the outer cache
        (m.weight * m.weight).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(m.parametrizations.weight.original.grad.numpy(),
                               18 * m.parametrizations.weight.original.detach().numpy(),
                               rtol=1e-5)
    assert m.weight is not m.weight and len(calls) == 3


def test_training_mode_follows_the_module():
    m = Lin(2, 2).eval()
    p = Double()
    parametrize.register_parametrization(m, "weight", p)
    assert not p.training
    m.train()
    assert p.training


def test_deepcopy_is_independent_and_pickle_is_refused():
    m = parametrize.register_parametrization(Lin(2, 2), "weight", AddOne())
    c = copy.deepcopy(m)
    assert type(c).__name__ == "ParametrizedLin" and type(c) is not type(m)
    assert c.parametrizations.weight.original is not m.parametrizations.weight.original
    np.testing.assert_array_equal(c.weight.detach().numpy(), m.weight.detach().numpy())
    parametrize.remove_parametrizations(c, "weight")
    assert type(c) is Lin
    assert m.weight.grad_fn is not None        # the original still parametrized
    with pytest.raises(RuntimeError, match="only supported through state_dict"):
        pickle.dumps(m)


def test_transfer_parametrizations_and_params():
    a = parametrize.register_parametrization(Lin(2, 2), "weight", AddOne())
    b = parametrize.transfer_parametrizations_and_params(a, Lin(2, 2, seed=5))
    assert b.parametrizations.weight.original is a.parametrizations.weight.original
    np.testing.assert_array_equal(b.weight.detach().numpy(), a.weight.detach().numpy())
    empty = nn.Module()
    parametrize.transfer_parametrizations_and_params(a, empty, "weight")
    np.testing.assert_array_equal(empty.weight.detach().numpy(), a.weight.detach().numpy())


# ---- weight_norm -----------------------------------------------------------------------------
@pytest.mark.parametrize("dim, g_shape", [(0, (4, 1, 1, 1)), (1, (1, 3, 1, 1)),
                                          (None, ()), (-1, ()), (3, (1, 1, 1, 2)),
                                          (-2, (1, 1, 5, 1))])
def test_weight_norm_shapes_and_value(dim, g_shape):
    m = Conv((4, 3, 5, 2), tg.float64)
    w = m.weight.detach().numpy().copy()
    P.weight_norm(m, dim=dim)
    plist = m.parametrizations.weight
    g, v = plist.original0, plist.original1
    assert tuple(g.shape) == g_shape and tuple(v.shape) == (4, 3, 5, 2)
    assert isinstance(g, nn.Parameter) and isinstance(v, nn.Parameter)
    axes = tuple(range(4)) if dim in (None, -1) else tuple(a for a in range(4) if a != dim % 4)
    np.testing.assert_allclose(g.detach().numpy(),
                               np.sqrt((w ** 2).sum(axis=axes)).reshape(g_shape), rtol=1e-12)
    np.testing.assert_allclose(m.weight.detach().numpy(), w, rtol=1e-12)


def test_weight_norm_of_a_vector_keeps_one_norm_per_element():
    # A 1-d tensor with dim=0 has nothing to reduce: g is |v| elementwise, shape (n,), as
    # PyTorch's norm_except_dim gives (it was one norm of shape (1,), so a torch state dict
    # would not load).
    m = Lin(3, 4, tg.float64)
    b = m.bias.detach().numpy().copy()
    P.weight_norm(m, "bias", dim=0)
    g = m.parametrizations.bias.original0
    assert tuple(g.shape) == (4,)
    np.testing.assert_allclose(g.detach().numpy(), np.abs(b), rtol=1e-12)
    np.testing.assert_allclose(m.bias.detach().numpy(), b, rtol=1e-12)
    m = P.weight_norm(Lin(3, 4, tg.float64), "bias", dim=None)
    assert tuple(m.parametrizations.bias.original0.shape) == ()


def test_weight_norm_gradcheck_and_remove():
    m = P.weight_norm(Lin(3, 2, tg.float64))
    g, v = m.parametrizations.weight.original0, m.parametrizations.weight.original1
    x = tg.randn(4, 3, dtype=tg.float64, generator=gen_(0))
    assert gradcheck(lambda g_, v_: m(x), (g, v))
    with tg.no_grad():
        g.mul_(2.0)                         # the rows' norms are g
    np.testing.assert_allclose(tg.linalg.vector_norm(m.weight, dim=1).detach().numpy(),
                               g.detach().numpy().ravel(), rtol=1e-12)
    w = m.weight.detach().numpy().copy()
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        parametrize.remove_parametrizations(m, "weight", leave_parametrized=False)
    parametrize.remove_parametrizations(m, "weight")
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad and m.weight.is_leaf
    np.testing.assert_allclose(m.weight.detach().numpy(), w)
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight"]


# ---- spectral_norm ---------------------------------------------------------------------------
def sigma_max(w, dim=0):
    mat = np.moveaxis(w, dim, 0).reshape(w.shape[dim], -1)
    return np.linalg.svd(mat, compute_uv=False)[0]


@pytest.mark.parametrize("shape, dim", [((6, 4), 0), ((5, 3, 3, 3), 0), ((3, 5, 2, 2), 1),
                                        ((4, 7), -1)])
def test_spectral_norm_largest_singular_value_is_one(shape, dim):
    tg.manual_seed(0)                   # the estimates start random
    m = Conv(shape, tg.float64) if len(shape) == 4 else Lin(shape[1], shape[0], tg.float64)
    P.spectral_norm(m, dim=dim, n_power_iterations=5)
    for _ in range(20):                 # each training-mode access runs 5 more iterations
        w = m.weight.detach().numpy()
    assert sigma_max(w, dim % len(shape)) == pytest.approx(1, abs=1e-6)
    sn = m.parametrizations.weight[0]
    assert list(m.state_dict()) == ["bias", "parametrizations.weight.original",
                                    "parametrizations.weight.0._u", "parametrizations.weight.0._v"]
    h = shape[dim % len(shape)]
    assert sn._u.shape == (h,) and sn._v.shape == (int(np.prod(shape)) // h,)
    assert sn._u.dtype == tg.float64
    np.testing.assert_allclose(np.linalg.norm(sn._u.numpy()), 1.0)


def test_spectral_norm_updates_estimates_only_in_training():
    tg.manual_seed(0)
    m = Lin(6, 5)
    rng = np.random.default_rng(0)      # singular values 5, 1, ...: the power method converges
    u, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    v, _ = np.linalg.qr(rng.standard_normal((6, 5)))
    m.weight.data = tg.tensor((u * [5.0, 1.0, 0.8, 0.5, 0.1]) @ v.T, dtype=tg.float32)
    P.spectral_norm(m)
    sn = m.parametrizations.weight[0]
    u0 = sn._u.numpy().copy()
    with tg.no_grad():
        m.parametrizations.weight.original.mul_(-1.0)        # flips the singular vectors
    m.eval()
    _ = m.weight
    np.testing.assert_array_equal(sn._u.numpy(), u0)
    m.train()
    _ = m.weight
    assert not np.allclose(sn._u.numpy(), u0)
    np.testing.assert_allclose(sn._u.numpy(), -u0, atol=1e-3)


def test_spectral_norm_gradcheck_in_eval_mode():
    m = P.spectral_norm(Lin(3, 4, tg.float64)).eval()
    original = m.parametrizations.weight.original
    x = tg.randn(2, 3, dtype=tg.float64, generator=gen_(3))
    assert gradcheck(lambda w_, b_: m(x), (original, m.bias))


def test_spectral_norm_of_a_vector_and_errors():
    m = nn.Module()
    m.weight = nn.Parameter(tg.tensor([3.0, 4.0]))
    P.spectral_norm(m)
    np.testing.assert_allclose(m.weight.detach().numpy(), [0.6, 0.8], rtol=1e-6)
    assert list(m.state_dict()) == ["parametrizations.weight.original"]
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-2, 1\] but got 2\)"):
        P.spectral_norm(Lin(2, 2), dim=2)
    with pytest.raises(ValueError, match="n_power_iterations to be positive, but got "
                                         "n_power_iterations=0"):
        P.spectral_norm(Lin(2, 2), n_power_iterations=0)
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'kernel'"):
        P.spectral_norm(Lin(2, 2), "kernel")


# ---- orthogonal ------------------------------------------------------------------------------
def assert_orthonormal(w, atol=1e-10):
    w = np.asarray(w, dtype=np.float64)
    n, k = w.shape[-2:]
    gram = np.swapaxes(w, -1, -2) @ w if n >= k else w @ np.swapaxes(w, -1, -2)
    np.testing.assert_allclose(gram, np.broadcast_to(np.eye(min(n, k)), gram.shape), atol=atol)


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 4, 3)])
@pytest.mark.parametrize("trivialize", [True, False])
def test_orthogonal_gives_orthonormal_matrices(orthogonal_map, shape, trivialize):
    m = nn.Module()
    m.weight = nn.Parameter(tg.randn(*shape, dtype=tg.float64, generator=gen_(0)))
    w0 = m.weight.detach().numpy().copy()
    P.orthogonal(m, orthogonal_map=orthogonal_map, use_trivialization=trivialize)
    assert_orthonormal(m.weight.detach().numpy())
    if trivialize or orthogonal_map == "householder":
        # the registered weight is the orthonormalized weight: the Q of its QR, R's diagonal
        # made positive (matrix_exp and cayley without a base can't be assigned to)
        wide = shape[-2] < shape[-1]
        a = np.swapaxes(w0, -1, -2) if wide else w0
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]
        np.testing.assert_allclose(m.weight.detach().numpy(),
                                   np.swapaxes(q, -1, -2) if wide else q, atol=1e-10)
    original = m.parametrizations.weight.original
    m.weight.sum().backward()                      # gradients reach the unconstrained original
    assert original.grad is not None and np.abs(original.grad.numpy()).sum() > 0
    with tg.no_grad():                             # a gradient step stays on the manifold
        original.sub_(0.3 * original.grad)
    assert_orthonormal(m.weight.detach().numpy())


def test_orthogonal_assignment_of_an_orthogonal_matrix_round_trips():
    m = nn.Module()
    m.weight = nn.Parameter(tg.zeros(4, 4, dtype=tg.float64))
    P.orthogonal(m)
    q = np.linalg.qr(np.random.default_rng(0).standard_normal((4, 4)))[0]
    m.weight = tg.tensor(q)
    np.testing.assert_allclose(m.weight.detach().numpy(), q, atol=1e-12)
    n = nn.Module()
    n.weight = nn.Parameter(tg.tensor(q))
    P.orthogonal(n, orthogonal_map="householder", use_trivialization=False)
    np.testing.assert_allclose(n.weight.detach().numpy(), q, atol=1e-12)


def test_orthogonal_gradcheck():
    for orthogonal_map in ("matrix_exp", "cayley", "householder"):
        m = nn.Module()
        m.weight = nn.Parameter(tg.randn(4, 3, dtype=tg.float64, generator=gen_(4)))
        P.orthogonal(m, orthogonal_map=orthogonal_map)
        original = m.parametrizations.weight.original
        with tg.no_grad():
            original.add_(0.1 * tg.randn(4, 3, dtype=tg.float64, generator=gen_(5)))
        c = tg.randn(4, 3, dtype=tg.float64, generator=gen_(6))
        assert gradcheck(lambda x: (m.weight * c).sum(), (original,))


def test_orthogonal_errors():
    m = nn.Module()
    m.weight = nn.Parameter(tg.zeros(3))
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices. Got a tensor "
                                         "of 1 dimensions."):
        P.orthogonal(m)
    with pytest.raises(ValueError, match='orthogonal_map has to be one of "matrix_exp", '
                                         '"cayley", "householder". Got: qr'):
        P.orthogonal(Lin(2, 2), orthogonal_map="qr")
    m = P.orthogonal(Lin(3, 3), orthogonal_map="cayley", use_trivialization=False)
    with pytest.raises(NotImplementedError, match="not possible to assign"):
        m.weight = tg.eye(3)
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices of shape"):
        P.orthogonal(Lin(3, 3)).weight = tg.eye(2)


# ---- PyTorch parity --------------------------------------------------------------------------
def load_from_torch(m, t):
    m.load_state_dict({k: tg.tensor(v.detach().numpy().copy()) for k, v in
                       t.state_dict().items()})


def compare_with_torch(torch, m, t, x, steps=2, rtol=1e-10, atol=1e-12):
    """Same outputs and gradients for ``steps`` forward/backward passes (buffers evolve)."""
    for _ in range(steps):
        y = m(tg.tensor(x))
        ty = t(torch.tensor(x))
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)
        w = np.random.default_rng(0).standard_normal(ty.shape)
        (y * tg.tensor(w)).sum().backward()
        (ty * torch.tensor(w)).sum().backward()
        named = dict(m.named_parameters())
        tnamed = dict(t.named_parameters())
        assert list(named) == list(tnamed)
        for k, p in named.items():
            np.testing.assert_allclose(p.grad.numpy(), tnamed[k].grad.numpy(), rtol=rtol,
                                       atol=atol, err_msg=k)
    for k, v in t.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), rtol=rtol, atol=atol,
                                   err_msg=k)


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(dim):
    torch = pytest.importorskip("torch")
    t = torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv2d(3, 4, 2, dtype=torch.float64),
                                                    dim=dim)
    m = P.weight_norm(Conv((4, 3, 2, 2), tg.float64), dim=dim)
    assert list(m.state_dict()) == list(t.state_dict())
    load_from_torch(m, t)
    compare_with_torch(torch, m, t, np.random.default_rng(1).standard_normal((2, 3, 5, 5)))


@pytest.mark.parametrize("n_power_iterations", [1, 3])
def test_spectral_norm_matches_torch(n_power_iterations):
    torch = pytest.importorskip("torch")
    t = torch.nn.utils.parametrizations.spectral_norm(
        torch.nn.Linear(5, 4, dtype=torch.float64), n_power_iterations=n_power_iterations)
    m = P.spectral_norm(Lin(5, 4, tg.float64), n_power_iterations=n_power_iterations)
    assert list(m.state_dict()) == list(t.state_dict())
    load_from_torch(m, t)
    x = np.random.default_rng(2).standard_normal((3, 5))
    compare_with_torch(torch, m, t, x, steps=3)
    m.eval(), t.eval()
    compare_with_torch(torch, m, t, x, steps=2)


def test_spectral_norm_conv_transpose_dim_matches_torch():
    torch = pytest.importorskip("torch")
    t = torch.nn.utils.parametrizations.spectral_norm(
        torch.nn.ConvTranspose2d(3, 2, 2, dtype=torch.float64))      # dim 1 by default
    m = P.spectral_norm(Conv((3, 2, 2, 2), tg.float64, transposed=True), dim=1)
    assert m.parametrizations.weight[0]._u.shape == (2,)
    load_from_torch(m, t)
    compare_with_torch(torch, m, t, np.random.default_rng(3).standard_normal((2, 3, 4, 4)))


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("i, o", [(4, 4), (3, 5), (5, 3)])
def test_orthogonal_matches_torch(orthogonal_map, i, o):
    torch = pytest.importorskip("torch")
    t = torch.nn.utils.parametrizations.orthogonal(torch.nn.Linear(i, o, dtype=torch.float64),
                                                   orthogonal_map=orthogonal_map)
    m = P.orthogonal(Lin(i, o, tg.float64), orthogonal_map=orthogonal_map)
    assert list(m.state_dict()) == list(t.state_dict())
    load_from_torch(m, t)
    # move away from the identity point so the maps do some work
    step = np.random.default_rng(0).standard_normal((o, i))
    with torch.no_grad():
        t.parametrizations.weight.original.add_(0.2 * torch.tensor(step))
    load_from_torch(m, t)
    compare_with_torch(torch, m, t, np.random.default_rng(4).standard_normal((2, i)),
                       rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("i, o", [(4, 4), (3, 5), (5, 3)])
def test_orthogonal_registration_matches_torch(i, o):
    """Deterministic registrations give PyTorch's originals: householder without trivialization
    (geqrf), and a square orthogonal weight's base."""
    torch = pytest.importorskip("torch")
    src = torch.nn.Linear(i, o, dtype=torch.float64)
    t = torch.nn.utils.parametrizations.orthogonal(
        copy.deepcopy(src), orthogonal_map="householder", use_trivialization=False)
    m = Lin(i, o, tg.float64)
    load_from_torch(m, src)
    P.orthogonal(m, orthogonal_map="householder", use_trivialization=False)
    for k, v in t.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(m.weight.detach().numpy(), t.weight.detach().numpy(), atol=1e-12)
    if i == o:
        t = torch.nn.utils.parametrizations.orthogonal(copy.deepcopy(src))
        m = Lin(i, o, tg.float64)
        load_from_torch(m, src)
        P.orthogonal(m)
        for k, v in t.state_dict().items():
            np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), atol=1e-12)


class Batched(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.weight = nn.Parameter(tg.randn(*shape, dtype=tg.float64, generator=gen_(7)))

    def forward(self, x):
        return x @ self.weight


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(2, 4, 3), (3, 2, 2)])
def test_orthogonal_batch_of_matrices_matches_torch(orthogonal_map, shape):
    torch = pytest.importorskip("torch")

    class TorchBatched(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.randn(*shape, dtype=torch.float64))

        def forward(self, x):
            return x @ self.weight

    t = torch.nn.utils.parametrizations.orthogonal(TorchBatched(), orthogonal_map=orthogonal_map)
    m = P.orthogonal(Batched(shape), orthogonal_map=orthogonal_map)
    assert list(m.state_dict()) == list(t.state_dict())
    step = np.random.default_rng(5).standard_normal(shape)
    with torch.no_grad():
        t.parametrizations.weight.original.add_(0.2 * torch.tensor(step))
    # NOTE: no orthonormality check here: the step moves householder's diagonal off -1, and
    # PyTorch then truncates it to 0 (zero columns); parity is what is checked.
    load_from_torch(m, t)
    compare_with_torch(torch, m, t, np.random.default_rng(6).standard_normal((5, shape[-2])),
                       rtol=1e-9, atol=1e-11)
