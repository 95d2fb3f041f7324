"""Tensor creation, dtypes, attributes and methods, and operator dtype rules, checked
against PyTorch's documented behaviour."""
import numpy as np
import pytest

import tapegrad as tg


# ---- tensor() dtype inference and memory -------------------------------------------------------
@pytest.mark.parametrize("data, dtype", [
    (1.5, tg.float32),
    ([1.0, 2.0], tg.float32),
    ([1, 2.5], tg.float32),                 # mixed int/float lists are float
    (3, tg.int64),
    ([[1, 2], [3, 4]], tg.int64),
    (True, tg.bool),
    ([True, False], tg.bool),
    (np.array([1.0, 2.0]), tg.float64),     # NumPy float64 arrays keep their dtype
    (np.float64(1.0), tg.float64),
    (np.array([1, 2], dtype=np.int32), tg.int32),
    (np.array([1.0], dtype=np.float16), tg.float16),
])
def test_tensor_dtype_inference(data, dtype):
    t = tg.tensor(data)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), np.asarray(data))


def test_tensor_explicit_dtype_and_requires_grad():
    t = tg.tensor([1, 2], dtype=tg.float64, requires_grad=True)
    assert t.dtype == tg.float64 and t.requires_grad and t.is_leaf
    assert tg.tensor([1.7, -1.7], dtype=tg.int64).tolist() == [1, -1]   # truncation
    assert tg.tensor([1.0], dtype=float).dtype == tg.float64            # Python type = double


def test_tensor_copies_its_data():
    arr = np.array([1.0, 2.0])
    t = tg.tensor(arr)
    arr[0] = 99.0
    assert t.tolist() == [1.0, 2.0]
    src = tg.tensor([1.0, 2.0])
    t2 = tg.tensor(src)
    src.fill_(0.0)
    assert t2.tolist() == [1.0, 2.0]


def test_as_tensor_and_from_numpy_share_memory():
    arr = np.array([1.0, 2.0])
    a, f = tg.as_tensor(arr), tg.from_numpy(arr)
    assert a.dtype == tg.float64 and f.dtype == tg.float64
    arr[0] = 5.0
    assert a.tolist() == [5.0, 2.0] and f.tolist() == [5.0, 2.0]
    f.add_(1.0)                            # writes show up in the array too
    assert arr.tolist() == [6.0, 3.0]
    converted = tg.as_tensor(arr, dtype=tg.float32)   # a conversion has to copy
    arr[1] = -1.0
    assert converted.dtype == tg.float32 and converted.tolist() == [6.0, 3.0]
    t = tg.ones(2)
    assert tg.as_tensor(t) is t
    with pytest.raises(TypeError):
        tg.from_numpy([1.0, 2.0])


def test_tensor_rejects_ragged_and_non_numeric_data():
    with pytest.raises(ValueError):
        tg.tensor([[1.0, 2.0], [3.0]])
    with pytest.raises(TypeError):
        tg.tensor(["a", "b"])


# ---- factories ---------------------------------------------------------------------------------
@pytest.mark.parametrize("factory, fill", [(tg.zeros, 0.0), (tg.ones, 1.0)])
def test_zeros_ones(factory, fill):
    for t in (factory(2, 3), factory((2, 3)), factory([2, 3])):
        assert t.shape == (2, 3) and t.dtype == tg.float32
        assert (t.numpy() == fill).all()
    assert factory(2, dtype=tg.int64).dtype == tg.int64
    assert factory(()).shape == () and factory(0).numel() == 0
    t = factory(3, requires_grad=True)
    assert t.requires_grad and t.is_leaf


def test_empty_has_shape_and_default_dtype():
    t = tg.empty(4, 2)
    assert t.shape == (4, 2) and t.dtype == tg.float32


@pytest.mark.parametrize("fill, dtype", [(3, tg.int64), (3.0, tg.float32), (True, tg.bool)])
def test_full_infers_dtype_from_fill(fill, dtype):
    t = tg.full((2, 2), fill)
    assert t.dtype == dtype and t.shape == (2, 2)
    assert (t.numpy() == fill).all()


def test_full_with_explicit_dtype():
    t = tg.full((3,), 1.5, dtype=tg.float64)
    assert t.dtype == tg.float64 and t.tolist() == [1.5, 1.5, 1.5]


def test_arange():
    assert tg.arange(5).dtype == tg.int64 and tg.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert tg.arange(2, 8, 3).tolist() == [2, 5]
    assert tg.arange(5, 0, -2).tolist() == [5, 3, 1]
    f = tg.arange(0, 1, 0.25)
    assert f.dtype == tg.float32 and f.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert tg.arange(1.0, 4.0).dtype == tg.float32
    assert len(tg.arange(0, 1, 0.1)) == 10
    assert tg.arange(3, dtype=tg.float64).dtype == tg.float64
    with pytest.raises(ValueError):
        tg.arange(0, 3, 0)


def test_linspace_and_eye():
    t = tg.linspace(0, 1, 5)
    assert t.dtype == tg.float32 and t.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert tg.linspace(-1, 1, 3, dtype=tg.float64).dtype == tg.float64
    e = tg.eye(3)
    assert e.dtype == tg.float32
    np.testing.assert_array_equal(e.numpy(), np.eye(3))
    np.testing.assert_array_equal(tg.eye(2, 3).numpy(), np.eye(2, 3))


def test_random_factories_shapes_dtypes_and_ranges():
    tg.manual_seed(0)
    r = tg.rand(1000)
    assert r.dtype == tg.float32 and r.shape == (1000,)
    assert r.numpy().min() >= 0.0 and r.numpy().max() < 1.0
    n = tg.randn(2, 500)
    assert n.dtype == tg.float32 and n.shape == (2, 500)
    assert abs(float(n.numpy().mean())) < 0.2 and 0.8 < float(n.numpy().std()) < 1.2
    assert tg.randn(3, dtype=tg.float64).dtype == tg.float64
    i = tg.randint(3, 7, (200,))
    assert i.dtype == tg.int64 and set(i.tolist()) == {3, 4, 5, 6}
    assert tg.randint(5, (2, 2)).shape == (2, 2)          # randint(high, size)
    m = tg.normal(10.0, 0.1, (500,))
    assert m.dtype == tg.float32 and abs(float(m.numpy().mean()) - 10.0) < 0.05
    mt = tg.normal(tg.zeros(3, 4), 1.0)
    assert mt.shape == (3, 4)


def test_like_factories_keep_shape_and_dtype():
    ref = tg.ones(2, 3, dtype=tg.float64)
    for fn in (tg.zeros_like, tg.ones_like, tg.empty_like, tg.rand_like, tg.randn_like):
        t = fn(ref)
        assert t.shape == (2, 3) and t.dtype == tg.float64 and not t.requires_grad
    assert tg.zeros_like(ref, dtype=tg.float32).dtype == tg.float32
    assert tg.ones_like(ref, requires_grad=True).requires_grad
    assert (tg.zeros_like(ref).numpy() == 0).all() and (tg.ones_like(ref).numpy() == 1).all()
    f = tg.full_like(tg.ones(2, dtype=tg.int64), 7)
    assert f.dtype == tg.int64 and f.tolist() == [7, 7]
    ri = tg.randint_like(tg.zeros(50, dtype=tg.int64), 2, 4)
    assert ri.dtype == tg.int64 and set(ri.tolist()) <= {2, 3}


def test_manual_seed_reproducibility():
    tg.manual_seed(1234)
    a, an = tg.rand(5), tg.randn(5)
    tg.manual_seed(1234)
    b, bn = tg.rand(5), tg.randn(5)
    assert a.tolist() == b.tolist() and an.tolist() == bn.tolist()
    assert tg.rand(5).tolist() != a.tolist()              # the stream moves on
    assert tg.initial_seed() == 1234


def test_generator_is_independent_of_the_default_stream():
    g1, g2 = tg.Generator().manual_seed(7), tg.Generator().manual_seed(7)
    assert tg.rand(4, generator=g1).tolist() == tg.rand(4, generator=g2).tolist()
    assert tg.Generator().manual_seed(8).initial_seed() == 8
    tg.manual_seed(3)
    expected = tg.rand(4).tolist()
    tg.manual_seed(3)
    tg.randn(10, generator=g1)             # drawing from g1 must not advance the default
    assert tg.rand(4).tolist() == expected


# ---- attributes --------------------------------------------------------------------------------
def test_metadata():
    t = tg.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.size() == (2, 3, 4)
    assert t.size(1) == 3 and t.size(-1) == 4
    assert t.ndim == 3 and t.dim() == 3
    assert t.numel() == 24
    assert t.dtype == tg.float32 and t.dtype == np.float32
    assert t.device.type == "cpu" and str(t.device) == "cpu" and t.device == tg.device("cpu")
    assert repr(t.shape) == "tapegrad.Size([2, 3, 4])"
    assert t.T.shape == (4, 3, 2)
    m = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(m.T.numpy(), m.numpy().T)
    assert len(m) == 2
    assert tg.tensor(1.0).ndim == 0 and tg.tensor(1.0).shape == ()


def test_requires_grad_rules():
    i = tg.tensor([1, 2])
    with pytest.raises(tg.DTypeError, match="floating point"):
        i.requires_grad = True
    assert not i.requires_grad
    with pytest.raises(tg.DTypeError, match="floating point"):
        tg.zeros(2, dtype=tg.int64, requires_grad=True)
    x = tg.tensor([1.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False
    assert y.requires_grad
    z = tg.tensor([1.0])
    assert z.requires_grad_() is z and z.requires_grad
    z.requires_grad_(False)
    assert not z.requires_grad


def test_is_leaf_and_grad_fn():
    x = tg.tensor([1.0], requires_grad=True)
    c = tg.tensor([1.0])
    assert x.is_leaf and x.grad_fn is None and x.grad is None
    assert c.is_leaf and c.grad_fn is None
    y = x * 2
    assert not y.is_leaf and y.grad_fn is not None and y.requires_grad
    assert (c * 2).is_leaf and not (c * 2).requires_grad
    with tg.no_grad():
        n = x * 2
    assert n.is_leaf and not n.requires_grad


def test_data_shares_storage_outside_autograd():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    d = x.data
    assert not d.requires_grad and d.grad_fn is None
    d.mul_(3)                              # allowed: .data is not tracked
    assert x.detach().tolist() == [3.0, 6.0]
    x.data = tg.tensor([5.0, 5.0])
    assert x.detach().tolist() == [5.0, 5.0] and x.requires_grad


def test_detach_and_detach_():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    d[0] = 10.0                            # shares memory with x
    assert x.detach().tolist() == [10.0, 2.0]
    y = x * 2
    assert y.detach_() is y
    assert y.is_leaf and not y.requires_grad and y.grad_fn is None


def test_item_and_tolist():
    assert tg.tensor(2.5).item() == 2.5 and type(tg.tensor(2.5).item()) is float
    assert tg.tensor(3).item() == 3 and type(tg.tensor(3).item()) is int
    assert tg.tensor(True).item() is True
    assert tg.tensor([[4.0]]).item() == 4.0
    assert tg.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert tg.tensor(1.5).tolist() == 1.5
    assert float(tg.tensor([2.0])) == 2.0 and int(tg.tensor(7)) == 7


def test_numpy_conversion():
    t = tg.tensor([1.0, 2.0])
    a = t.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    a[0] = 9.0                             # shares memory
    assert t.tolist() == [9.0, 2.0]
    r = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        r.numpy()
    d = r.detach().numpy()
    d[1] = 7.0
    assert r.detach().tolist() == [1.0, 7.0]


def test_array_protocol():
    t = tg.tensor([1.0, 2.0])
    a = np.asarray(t)
    assert a.dtype == np.float32 and a.tolist() == [1.0, 2.0]
    assert np.shares_memory(a, t.numpy())
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.array(t).tolist() == [1.0, 2.0]
    with pytest.raises(RuntimeError):
        np.asarray(tg.tensor([1.0], requires_grad=True))


def test_clone_copies_and_keeps_the_gradient_path():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.grad_fn is not None and c.requires_grad
    assert not np.shares_memory(c.detach().numpy(), x.detach().numpy())
    (c * tg.tensor([3.0, 4.0])).sum().backward()
    assert x.grad.tolist() == [3.0, 4.0]
    plain = tg.tensor([1.0])
    pc = plain.clone()
    pc.fill_(5.0)
    assert plain.tolist() == [1.0]


def test_copy_fill_zero():
    dst = tg.zeros(2, 3)
    assert dst.copy_(tg.tensor([1.0, 2.0, 3.0])) is dst            # broadcasts
    assert dst.tolist() == [[1.0, 2.0, 3.0]] * 2
    d64 = tg.zeros(2, dtype=tg.float64)
    d64.copy_(tg.tensor([1.5, 2.5]))
    assert d64.dtype == tg.float64 and d64.tolist() == [1.5, 2.5]    # keeps its dtype
    t = tg.zeros(3)
    assert t.fill_(2.0) is t and t.tolist() == [2.0, 2.0, 2.0]
    assert t.zero_() is t and t.tolist() == [0.0, 0.0, 0.0]
    assert t._version == 2                 # fill_ and zero_ each wrote once


def test_copy_from_tensor_requiring_grad_is_differentiable():
    src = tg.tensor([1.0, 2.0], requires_grad=True)
    dst = tg.zeros(2)
    dst.copy_(src)
    assert dst.requires_grad
    (dst * tg.tensor([3.0, 4.0])).sum().backward()
    assert src.grad.tolist() == [3.0, 4.0]


def test_dtype_conversions():
    t = tg.tensor([1.5, -2.5])
    assert t.to(tg.float64).dtype == tg.float64
    assert t.double().dtype == tg.float64
    assert t.long().dtype == tg.int64 and t.long().tolist() == [1, -2]
    assert tg.tensor([1, 2]).float().dtype == tg.float32
    assert t.float() is t                  # no conversion needed: same tensor, as in PyTorch
    assert t.to(tg.tensor([1])).dtype == tg.int64
    assert t.to("cpu") is t


def test_float_conversion_is_differentiable():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.requires_grad and y.dtype == tg.float64
    (y * y).sum().backward()
    assert x.grad.dtype == tg.float32 and x.grad.tolist() == [2.0, 4.0]


# ---- repr --------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, text", [
    (lambda: tg.tensor([1.0, 2.0]), "tensor([1., 2.])"),
    (lambda: tg.tensor(8.0), "tensor(8.)"),
    (lambda: tg.tensor([1, 2]), "tensor([1, 2])"),
    (lambda: tg.tensor([1.5, 2.25], dtype=tg.float64), "tensor([1.5000, 2.2500], dtype=tapegrad.float64)"),
    (lambda: tg.tensor([1, 2], dtype=tg.int32), "tensor([1, 2], dtype=tapegrad.int32)"),
    (lambda: tg.tensor([1.0, 2.0], requires_grad=True), "tensor([1., 2.], requires_grad=True)"),
    (lambda: tg.tensor([1.0, 2.0], requires_grad=True) * 2, "tensor([2., 4.], grad_fn=<MulBackward0>)"),
    (lambda: tg.tensor([-1.0, 2.5]), "tensor([-1.0000,  2.5000])"),
    (lambda: tg.tensor([[1.0, 0.0], [0.0, 1.0]]), "tensor([[1., 0.],\n        [0., 1.]])"),
])
def test_repr(make, text):
    assert repr(make()) == text


# ---- operators and dtype rules -----------------------------------------------------------------
@pytest.mark.parametrize("expr, dtype, values", [
    (lambda: tg.tensor([1, 2]) * 2.5, tg.float32, [2.5, 5.0]),
    (lambda: 2.5 * tg.tensor([1, 2]), tg.float32, [2.5, 5.0]),
    (lambda: tg.tensor([1, 2]) / tg.tensor([2, 2]), tg.float32, [0.5, 1.0]),
    (lambda: tg.tensor([1, 2]) / 2, tg.float32, [0.5, 1.0]),
    (lambda: tg.tensor([1.0]) + 1e-3, tg.float32, [np.float32(1.001)]),
    (lambda: tg.tensor([1.0], dtype=tg.float16) + 1.5, tg.float16, [2.5]),
    (lambda: tg.tensor([1, 2]) + 2, tg.int64, [3, 4]),
    (lambda: tg.tensor([1], dtype=tg.int32) + 5, tg.int32, [6]),
    (lambda: tg.tensor([True, False]) + 1, tg.int64, [2, 1]),
    (lambda: tg.tensor([True, False]) * 1.5, tg.float32, [1.5, 0.0]),
    (lambda: tg.tensor([2, 3]) ** 2.0, tg.float32, [4.0, 9.0]),
    (lambda: tg.tensor([1], dtype=tg.int32) + tg.tensor([1]), tg.int64, [2]),
    (lambda: tg.tensor([1.0]) + tg.tensor(np.array([1.0])), tg.float64, [2.0]),
])
def test_operator_result_dtypes(expr, dtype, values):
    r = expr()
    assert r.dtype == dtype
    np.testing.assert_allclose(r.numpy(), values)


@pytest.mark.parametrize("expr, dtype", [
    # A floating tensor meeting an integer or bool tensor keeps the floating dtype
    # (NumPy would give float64 for int64 with float32).
    (lambda: tg.tensor([1.0, 2.0]) + tg.tensor([1, 2]), tg.float32),
    (lambda: tg.tensor([1, 2]) * tg.tensor([1.0, 2.0]), tg.float32),
    (lambda: tg.tensor([1.0], dtype=tg.float16) - tg.tensor([1], dtype=tg.int32), tg.float16),
    (lambda: tg.tensor([1.0]) / tg.tensor([2]), tg.float32),
    (lambda: tg.tensor([4.0]) ** tg.tensor([2]), tg.float32),
    (lambda: tg.where(tg.tensor([True]), tg.tensor([1.0]), tg.tensor([2])), tg.float32),
    # A 0-d tensor does not raise the dtype of a dimensioned tensor of the same category.
    (lambda: tg.ones(2) + tg.tensor(1.0, dtype=tg.float64), tg.float32),
    (lambda: tg.tensor([1, 2], dtype=tg.uint8) + tg.tensor(1), tg.uint8),
    # ... but a 0-d tensor of a higher category does.
    (lambda: tg.tensor([1, 2]) + tg.tensor(1.0, dtype=tg.float64), tg.float64),
])
def test_tensor_tensor_promotion_follows_pytorch(expr, dtype):
    assert expr().dtype == dtype


def test_mixed_dtype_promotion_keeps_grad_dtype():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * tg.tensor([3, 4])
    assert y.dtype == tg.float32 and y.requires_grad
    y.sum().backward()
    assert x.grad.dtype == tg.float32 and x.grad.tolist() == [3.0, 4.0]


def test_comparisons_give_bool_and_never_record():
    x = tg.tensor([1.0, -1.0], requires_grad=True)
    for r in (x > 0, x < 0, x >= 0, x <= 0, x == 1.0, x != 1.0, x > tg.zeros(2),
              tg.eq(x, x)):
        assert r.dtype == tg.bool
        assert not r.requires_grad and r.grad_fn is None
    assert (x > 0).tolist() == [True, False]
    assert (x == tg.tensor([1.0, 0.0])).tolist() == [True, False]


@pytest.mark.parametrize("expr, expected", [
    (lambda t: 1 + t, [3.0, 5.0]),
    (lambda t: 10 - t, [8.0, 6.0]),
    (lambda t: 3 * t, [6.0, 12.0]),
    (lambda t: 8 / t, [4.0, 2.0]),
    (lambda t: 2 ** t, [4.0, 16.0]),
    (lambda t: -t, [-2.0, -4.0]),
    (lambda t: abs(-t), [2.0, 4.0]),
])
def test_reflected_operators_with_python_scalars(expr, expected):
    t = tg.tensor([2.0, 4.0], requires_grad=True)
    r = expr(t)
    assert r.dtype == tg.float32 and r.requires_grad
    np.testing.assert_allclose(r.detach().numpy(), expected)


def test_reflected_scalar_gradients():
    t = tg.tensor([2.0, 4.0], dtype=tg.float64, requires_grad=True)
    (10 - t + 8 / t + 2 ** t).sum().backward()
    tv = np.array([2.0, 4.0])
    np.testing.assert_allclose(t.grad.numpy(), -1 - 8 / tv ** 2 + np.log(2) * 2 ** tv)


def test_numpy_array_on_the_left():
    a = np.array([1.0, 2.0])
    t = tg.tensor([3.0, 5.0], dtype=tg.float64, requires_grad=True)
    results = {"add": a + t, "sub": a - t, "mul": a * t, "div": a / t}
    for name, r in results.items():
        assert isinstance(r, tg.Tensor), name           # not an ndarray
        assert r.requires_grad, name
    np.testing.assert_allclose(results["sub"].detach().numpy(), [-2.0, -3.0])
    results["mul"].sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), a)     # gradient flows through a * t
    m = np.eye(2) @ tg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=tg.float64)
    assert isinstance(m, tg.Tensor) and m.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    c = np.array([1.0, 2.0]) < tg.tensor([1.5, 1.5])
    assert isinstance(c, tg.Tensor) and c.tolist() == [True, False]


def test_bool_of_tensor():
    assert bool(tg.tensor([1.0])) and not bool(tg.tensor(0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(tg.tensor([1.0, 2.0]))


def test_deepcopy_of_a_leaf_is_independent():
    import copy
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    (w * 3).sum().backward()
    w2 = copy.deepcopy(w)
    (w2 * 5).sum().backward()          # accumulates into the copy's grad only
    np.testing.assert_allclose(w.grad.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(w2.grad.numpy(), [8.0, 8.0])
    assert w2.requires_grad and not np.shares_memory(w2.detach().numpy(), w.detach().numpy())
    with pytest.raises(RuntimeError, match="only leaf tensors"):
        copy.deepcopy(w * 2)


def test_pickle_roundtrip_of_a_leaf():
    import pickle
    w = tg.tensor([[1.0, 2.0]], dtype=tg.float64, requires_grad=True)
    w2 = pickle.loads(pickle.dumps(w))
    assert w2.requires_grad and w2.dtype == tg.float64 and w2.is_leaf
    np.testing.assert_array_equal(w2.detach().numpy(), [[1.0, 2.0]])


def test_float64_data_is_not_rounded_through_float32():
    assert tg.tensor(0.1, dtype=tg.float64).item() == 0.1
    assert np.isfinite(tg.tensor([1e40], dtype=tg.float64).numpy()).all()
    assert tg.as_tensor([0.1], dtype=tg.float64).tolist() == [0.1]


def test_lists_of_numpy_values_keep_float64_and_lists_of_tensors_drop_history():
    assert tg.tensor([np.float64(1.0)]).dtype == tg.float64
    assert tg.tensor([np.ones(2), np.zeros(2)]).dtype == tg.float64
    a = tg.tensor(1.0, requires_grad=True)
    t = tg.tensor([a, a * 2])
    assert t.tolist() == [1.0, 2.0] and not t.requires_grad and t.dtype == tg.float32


def test_cat_and_stack_promote_like_pytorch_and_grads_flow_back():
    assert tg.cat([tg.tensor([1]), tg.tensor([2.0])]).dtype == tg.float32
    assert tg.stack([tg.ones(2, dtype=tg.float16), tg.tensor([1, 2])]).dtype == tg.float16
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    tg.cat([a, tg.tensor([3])]).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [1.0, 1.0])


def test_empty_dim_reduces_everything_and_arange_takes_tensor_bounds():
    x = tg.ones(2, 3)
    assert x.sum(dim=()).item() == 6.0 and x.mean(dim=[]).item() == 1.0
    assert tg.arange(tg.tensor(3)).tolist() == [0, 1, 2]
    assert tg.arange(tg.tensor(3)).dtype == tg.int64


def test_comparing_with_none_is_not_an_error():
    assert (tg.ones(2) == None) is False      # noqa: E711 (the point of the test)
    assert (tg.ones(2) != None) is True       # noqa: E711


def test_contiguous_and_new_factories():
    x = tg.ones(2, 3, requires_grad=True)
    y = x.T
    assert not y.is_contiguous() and x.contiguous() is x
    c = y.contiguous()
    assert c.is_contiguous() and c.grad_fn is not None
    (c * tg.arange(6.0).reshape(3, 2)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.arange(6.0).reshape(3, 2).T)
    assert x.new_zeros(2).dtype == tg.float32 and x.new_tensor([1, 2]).dtype == tg.float32
    assert tg.ones(1, dtype=tg.float64).new_full((2,), 3).tolist() == [3.0, 3.0]
    assert tg.ones(1, dtype=tg.float64).new_ones(1, 2).dtype == tg.float64


@pytest.mark.parametrize("data, dtype", [
    ([np.float32(1), 2.0], tg.float32), ([np.int64(1), 2.5], tg.float32),
    ([np.float16(1), 1.0], tg.float32), ([2.0, np.float64(1)], tg.float64),
    ([[1, 2], [3, 4]], tg.int64), ([True, 2], tg.int64), ([], tg.float32),
    ([np.uint8(3), 2], tg.int64), (((1, 2), (3, 4.5)), tg.float32),
])
def test_list_dtype_inference_follows_pytorch(data, dtype):
    # Python floats count as float32 and ints as int64; NumPy values keep their dtype;
    # floating beats integer beats bool, the widest within a kind.
    assert tg.tensor(data).dtype == dtype


def test_list_of_tensors_promotes_like_pytorch():
    assert tg.tensor([tg.tensor(1), tg.tensor(2.5)]).dtype == tg.float32
    assert tg.tensor([tg.tensor(1), 2.5]).dtype == tg.float32


def test_numpy_scalar_bounds_and_empty_list_index():
    assert tg.ones(3).clamp(min=np.log(1e-8)).dtype == tg.float32
    assert tg.where(tg.tensor([True]), np.float64(1), 0.0).dtype == tg.float32
    x = tg.arange(24.0).reshape(2, 3, 4)
    assert x[[]].shape == (0, 3, 4) and x[0, []].shape == (0, 4)


def test_integer_division_by_zero_raises_and_in_place_floor_div_and_mod():
    with pytest.raises(RuntimeError, match="division by zero"):
        tg.tensor([5, 3]) // tg.tensor([0, 1])
    with pytest.raises(RuntimeError, match="division by zero"):
        tg.tensor([5, 3]) % 0
    x = tg.tensor([7, -7])
    x //= 2
    assert x.tolist() == [3, -4]
    a = tg.tensor([3.5, -2.5], requires_grad=True)
    b = a * 1
    b %= 2
    b.sum().backward()
    assert b.tolist() == [1.5, 1.5] and a.grad.tolist() == [1.0, 1.0]


def test_float_alpha_with_integral_tensors_raises_as_pytorch():
    i = tg.tensor([1, 2])
    for call in (lambda: tg.add(i, i, alpha=0.5), lambda: tg.sub(i, 1, alpha=0.5),
                 lambda: i.clone().add_(i, alpha=0.5), lambda: i.clone().sub_(i, alpha=1.5)):
        with pytest.raises(tg.DTypeError, match="alpha must not be a floating point"):
            call()
    assert tg.add(i, i, alpha=2).tolist() == [3, 6]
    assert tg.add(i.float(), i, alpha=0.5).tolist() == [1.5, 3.0]


def test_sub_in_place_refuses_bool_operands_as_sub():
    with pytest.raises(tg.DTypeError, match="sub_: .* with a bool tensor"):
        tg.tensor([1, 2]).sub_(tg.tensor([True, False]))
    with pytest.raises(tg.DTypeError, match="sub_: .* two bool tensors.*logical_xor"):
        tg.tensor([True]).sub_(tg.tensor([True]))
    x = tg.tensor([1, 2])
    x -= 1
    assert x.tolist() == [0, 1]
