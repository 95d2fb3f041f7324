"""Scan family: golden values, zeros in cumprod (first and second order), ties and nans in
cummax/cummin, logcumsumexp at large magnitudes, in-place forms, and every bad-argument path
(the generic checks run from tests/opinfo_scan.py)."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad.autograd.gradcheck import gradcheck, gradgradcheck

NAN, INF = float("nan"), float("inf")


def grad_of(fn, values, dtype=tg.float32, weights=None):
    x = tg.tensor(values, dtype=dtype, requires_grad=True)
    out = fn(x)
    w = tg.ones_like(out) if weights is None else tg.tensor(weights, dtype=dtype)
    (out * w).sum().backward()
    return out.detach().numpy(), x.grad.numpy()


# ---- cumsum --------------------------------------------------------------------------------------
def test_cumsum_golden_and_dtypes():
    out, g = grad_of(lambda x: tg.cumsum(x, 1), [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert out.tolist() == [[1, 3, 6], [4, 9, 15]] and g.tolist() == [[3, 2, 1]] * 2
    assert tg.cumsum(tg.tensor([1, 2], dtype=tg.int32), 0).dtype == tg.int64
    assert tg.cumsum(tg.tensor([True, True]), 0).tolist() == [1, 2]
    assert tg.cumsum(tg.tensor([1, 2]), 0, dtype=tg.float32).dtype == tg.float32
    assert tg.cumsum(tg.tensor(2.0), 0).item() == 2 and tg.tensor(2.0).cumsum(-1).shape == ()
    assert tg.cumsum(tg.zeros(0, 3), 0).shape == (0, 3)


def test_inplace_scans():
    x = tg.tensor([1, 2, 3], dtype=tg.int32)
    assert x.cumsum_(0) is x and x.tolist() == [1, 3, 6] and x.dtype == tg.int32
    y = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    z = y * 1
    z.cumprod_(0)
    assert z.grad_fn.name() == "CumprodBackward0" and z.tolist() == [1, 2, 6]
    z.sum().backward()
    assert y.grad.tolist() == [9, 4, 2]
    with pytest.raises(tg.GradError, match="cumsum_: a leaf tensor that requires grad"):
        tg.ones(3, requires_grad=True).cumsum_(0)


def test_scan_errors():
    x = tg.ones(2, 3)
    for fn in (tg.cumsum, tg.cumprod, tg.cummax, tg.cummin, tg.logcumsumexp):
        with pytest.raises(IndexError, match="dimension out of range"):
            fn(x, 2)
        with pytest.raises(IndexError):
            fn(x, -3)
        with pytest.raises(TypeError):
            fn(x)                                   # dim is required, as in PyTorch
    with pytest.raises(IndexError):
        x.cumsum_(5)
    with pytest.raises(tg.DTypeError, match="logcumsumexp: input dtype must be floating"):
        tg.logcumsumexp(tg.tensor([1, 2]), 0)


# ---- cumprod: zeros ------------------------------------------------------------------------------
@pytest.mark.parametrize("values, expected", [
    ([2.0, 0.0, 3.0, 0.0, 4.0], [1.0, 8.0, 0.0, 0.0, 0.0]),     # PyTorch's values
    ([0.0, 2.0, 3.0], [9.0, 0.0, 0.0]),
    ([2.0, 3.0, 0.0], [4.0, 2.0, 6.0]),
    ([0.0, 0.0, 5.0], [1.0, 0.0, 0.0]),
    ([1.5, 2.0, 4.0], [11.0, 7.5, 3.0]),
])
def test_cumprod_gradient_with_zeros(values, expected):
    _, g = grad_of(lambda x: tg.cumprod(x, 0), values, tg.float64)
    np.testing.assert_allclose(g, expected)


def test_cumprod_second_order_at_zeros_is_exact():
    rng = np.random.default_rng(0)
    for zeros in ([1], [0, 3], [2, 3], [4]):
        x = rng.uniform(0.5, 1.5, (2, 5))
        x[:, zeros] = 0
        t = tg.tensor(x, requires_grad=True)
        assert gradcheck(lambda a: tg.cumprod(a, 1), (t,))
        assert gradgradcheck(lambda a: tg.cumprod(a, 1), (t,))


def test_cumprod_along_a_dim_of_size_1_passes_the_gradient_through():
    """Regression: out = x there, but the rule divided out by x: nan at nan and inf inputs
    (PyTorch gives the gradient unchanged)."""
    _, g = grad_of(lambda x: tg.cumprod(x, 1), [[NAN], [INF], [2.0]], tg.float64, [[3.0]] * 3)
    assert g.tolist() == [[3.0]] * 3
    node = tg.cumprod(tg.tensor([[NAN, INF]], requires_grad=True), 0).grad_fn
    assert node.op.jvp(node.ctx, np.array([[2.0, 5.0]], np.float32)).tolist() == [[2.0, 5.0]]


def test_cumprod_hessian_as_pytorch():
    torch = pytest.importorskip("torch")
    x = np.array([[2.0, 0.0, 3.0, 0.0, 4.0], [0.5, 1.5, 0.0, 2.0, 1.0]])
    w = np.linspace(-1, 1, 10).reshape(2, 5)

    def hvp(lib):
        t = lib.tensor(x, requires_grad=True)
        (g,) = lib.autograd.grad((lib.cumprod(t, 1) * lib.tensor(w)).sum(), t,
                                 create_graph=True)
        (h,) = lib.autograd.grad((g * lib.tensor(w)).sum(), t)
        return h.detach().numpy()
    np.testing.assert_allclose(hvp(tg), hvp(torch), rtol=1e-12, atol=1e-12)


# ---- cummax / cummin -----------------------------------------------------------------------------
def test_cummax_cummin_ties_take_the_latest_index():
    v, i = tg.cummax(tg.tensor([1.0, 3.0, 3.0, 2.0, 4.0, 4.0]), 0)
    assert v.tolist() == [1, 3, 3, 3, 4, 4] and i.tolist() == [0, 1, 2, 2, 4, 5]
    v, i = tg.cummin(tg.tensor([3.0, 1.0, 1.0, 2.0, 0.0, 0.0]), 0)
    assert v.tolist() == [3, 1, 1, 1, 0, 0] and i.tolist() == [0, 1, 2, 2, 4, 5]
    v, i = tg.cummax(tg.tensor([1.0, NAN, 3.0]), 0)              # nan sticks, as PyTorch
    assert np.isnan(v.numpy()[1:]).all() and i.tolist() == [0, 1, 1]
    _, g = grad_of(lambda x: tg.cummax(x, 0).values, [1.0, 3.0, 3.0, 2.0])
    assert g.tolist() == [1, 1, 2, 0]
    v, i = tg.tensor([[2, 1], [1, 3]]).cummin(0)
    assert v.tolist() == [[2, 1], [1, 1]] and i.tolist() == [[0, 0], [1, 0]]
    v, i = tg.cummax(tg.tensor(5.0), 0)
    assert v.item() == 5 and i.item() == 0 and i.dtype == tg.int64


@pytest.mark.parametrize("shape, dim", [((5, 7), 1), ((5, 7), 0), ((3, 4, 6), -2), ((2, 0, 3), 1)])
def test_running_extreme_gradient_adds_each_cotangent_at_its_index(shape, dim):
    """The vectorised scatter (one bincount) against np.add.at, with many ties; float64 is
    exact, float32 at least as accurate."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, shape).astype(np.float64)
    for fn in (tg.cummax, tg.cummin):
        for dtype in (np.float64, np.float32):
            t = tg.tensor(x.astype(dtype), requires_grad=True)
            values, indices = fn(t, dim)
            w = rng.standard_normal(shape)
            (values * tg.tensor(w.astype(dtype))).sum().backward()
            d = dim % len(shape)
            key = tuple(indices.numpy() if a == d else np.arange(n).reshape(
                [-1 if b == a else 1 for b in range(len(shape))]) for a, n in enumerate(shape))
            expected = np.zeros(shape)
            np.add.at(expected, key, w.astype(dtype).astype(np.float64))
            assert t.grad.dtype == t.dtype
            np.testing.assert_allclose(t.grad.numpy(), expected, rtol=0 if dtype == np.float64
                                       else 1e-6, atol=0 if dtype == np.float64 else 1e-6)


def test_cummax_second_order():
    x = tg.tensor([[0.3, -1.0, 2.0, 1.5]], dtype=tg.float64, requires_grad=True)
    assert gradgradcheck(lambda a: tg.cummax(a, 1).values ** 2, (x,))


# ---- logcumsumexp --------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_logcumsumexp_stable_at_1e4(dtype):
    values = [1e4, -1e4, 1e4 - 1.0, 0.0, -1e4 + 3.0]
    weights = [1.0, -2.0, 0.5, 3.0, -1.0]
    out, g = grad_of(lambda x: tg.logcumsumexp(x, 0), values, dtype, weights)
    ref = np.logaddexp.accumulate(np.array(values))
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(g))
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    x, w = np.array(values), np.array(weights)
    jac = np.tril(np.exp(x[None, :] - ref[:, None]))             # [i, j] = d out_i / d x_j
    np.testing.assert_allclose(g, w @ jac, rtol=1e-3, atol=1e-3)


def test_logcumsumexp_infinities_as_pytorch():
    out, g = grad_of(lambda x: tg.logcumsumexp(x, 0), [-INF, -INF, 1.0])
    assert out.tolist() == [-INF, -INF, 1.0]
    assert np.isnan(g[:2]).all() and g[2] == 1                  # PyTorch: nan, nan, 1


def test_logcumsumexp_second_order():
    x = tg.tensor([[0.5, -1.0, 2.0], [3.0, 3.0, -2.0]], dtype=tg.float64, requires_grad=True)
    assert gradgradcheck(lambda a: tg.logcumsumexp(a, 1), (x,))


@pytest.mark.parametrize("fn", [lambda a: tg.logcumsumexp(a, 1), lambda a: tg.cumprod(a, 1)])
def test_jvp_rules_agree_on_arrays_and_tensors(fn):
    """The O(n) array formulas and the O(n^2) recorded ones give the same tangent."""
    x = np.array([[0.5, 0.0, 2.0, -1.0], [3.0, 3.0, 0.0, 0.0]])
    node = fn(tg.tensor(x, requires_grad=True)).grad_fn
    t = np.random.default_rng(0).standard_normal(x.shape)
    on_arrays = node.op.jvp(node.ctx, t)
    on_tensors = node.op.jvp(node.ctx, tg.tensor(t))
    assert isinstance(on_tensors, tg.Tensor)
    np.testing.assert_allclose(on_tensors.numpy(), on_arrays, rtol=1e-12, atol=1e-12)


def test_float16_scans_do_not_accumulate_in_float16():
    b = np.ones(3000, dtype=np.float16)
    b[0] = 2048
    out = tg.cumsum(tg.tensor(b), 0)
    assert out.dtype == tg.float16 and out[-1].item() == 5048.0      # PyTorch's value
    out = tg.logcumsumexp(tg.zeros(5000, dtype=tg.float16), 0)
    assert out.dtype == tg.float16 and out[-1].item() == float(np.float16(np.log(5000)))


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_scans_accumulate_float32_and_float16_in_float64(dtype):
    """PyTorch's CPU scans accumulate in double and round once; PyTorch 2.13 gives exactly
    these float32 values (100000.0, 22052.015625, 12.054250717163086)."""
    def rounded(values):
        return np.asarray(values).astype(dtype)
    n = 1_000_000 if dtype == np.float32 else 5000
    a = np.full(n, 0.1, dtype=dtype)
    out = tg.cumsum(tg.tensor(a), 0)
    assert out.dtype == tg.tensor(a).dtype
    assert np.array_equal(out.numpy(), rounded(np.cumsum(a.astype(np.float64))))
    if dtype == np.float32:
        assert out[-1].item() == 100000.0        # a float32 accumulator: 100958.34
    b = np.full(100_000 if dtype == np.float32 else 2000, 1.0001, dtype=dtype)
    out = tg.cumprod(tg.tensor(b), 0).numpy()
    assert np.array_equal(out, rounded(np.cumprod(b.astype(np.float64))))
    c = np.linspace(0, 1, 100_000 if dtype == np.float32 else 2000).astype(dtype)
    out = tg.logcumsumexp(tg.tensor(c), 0).numpy()
    assert np.array_equal(out, rounded(np.logaddexp.accumulate(c.astype(np.float64))))
    if dtype == np.float32:
        assert out[-1] == np.float32(12.054250717163086)


def test_cumsum_backward_and_reverse_accumulate_in_float64():
    a = np.full((2, 300_000), 0.1, dtype=np.float32)
    x = tg.tensor(a, requires_grad=True)
    (tg.cumsum(x, 1) * 0.1).sum().backward()   # the gradient: a reversed cumsum of 0.1s
    assert x.grad.dtype == tg.float32
    assert x.grad[:, 0].tolist() == [30000.0, 30000.0]    # float32 accumulation: 29920.4
    assert tg.cumsum(x.detach().flip(1), 1)[:, -1].tolist() == [30000.0, 30000.0]


@pytest.mark.parametrize("fn", [tg.cumsum, tg.cumprod, tg.cummax, tg.cummin, tg.logcumsumexp],
                         ids=lambda f: f.__name__)
def test_a_dim_that_is_not_an_int_raises_type_error(fn):
    for dim in (1.0, True, (0,), None):
        with pytest.raises(TypeError, match=rf"^{fn.__name__}: dim must be an int, got"):
            fn(tg.ones(2, 3), dim)
    with pytest.raises(tg.IndexRangeError, match=rf"^{fn.__name__}: dimension out of range"):
        fn(tg.tensor(1.0), 1)


def test_numpy_keyword_name_axis_as_pytorch():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert tg.cumsum(x, axis=0).tolist() == [[1.0, 2.0], [4.0, 6.0]]
    assert x.cumprod(axis=1).tolist() == [[1.0, 2.0], [3.0, 12.0]]
    assert tg.cummax(x, axis=0).indices.tolist() == [[0, 0], [1, 1]]
    assert tg.logcumsumexp(x, axis=1).shape == (2, 2)
    y = x.clone()
    assert y.cumsum_(axis=1) is y and y.tolist() == [[1.0, 3.0], [3.0, 7.0]]


def test_scan_dtype_arguments_as_pytorch():
    """In-place scans can't change the dtype; a result that needs a gradient can't be integral
    (both raise in PyTorch; tapegrad used to ignore the first and accept the second)."""
    x = tg.ones(3)
    with pytest.raises(tg.DTypeError, match="cumsum_.*can't change the dtype"):
        x.clone().cumsum_(0, dtype=tg.float64)
    with pytest.raises(tg.DTypeError, match="cumprod_"):
        tg.ones(3, dtype=tg.int64).cumprod_(0, dtype=tg.float64)
    assert x.clone().cumsum_(0, dtype=tg.float32).tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(tg.DTypeError, match="cumsum.*gradient"):
        tg.cumsum(tg.ones(3, requires_grad=True), 0, dtype=tg.int64)
    assert tg.cumsum(tg.ones(3), 0, dtype=tg.int64).tolist() == [1, 2, 3]
