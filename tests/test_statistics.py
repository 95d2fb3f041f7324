"""Statistics family: golden values, PyTorch's conventions at ties and nans, numerics at large
magnitudes, and every bad-argument path (the generic checks run from tests/opinfo_statistics.py)."""
import numpy as np
import pytest

import tapegrad as tg

NAN, INF = float("nan"), float("inf")


def grad_of(fn, values, dtype=tg.float32):
    x = tg.tensor(values, dtype=dtype, requires_grad=True)
    out = fn(x)
    out.sum().backward()
    return out.detach().numpy(), x.grad.numpy()


# ---- var / std -----------------------------------------------------------------------------------
def test_var_std_golden_and_spellings():
    x = tg.tensor([[1.0, 2.0, 4.0], [3.0, 5.0, 10.0]])
    np.testing.assert_allclose(tg.var(x, 1).numpy(), [7 / 3, 13.0], rtol=1e-6)
    np.testing.assert_allclose(tg.var(x, 1, False).numpy(), [14 / 9, 26 / 3], rtol=1e-6)
    np.testing.assert_allclose(tg.var(x, 1, unbiased=False).numpy(), [14 / 9, 26 / 3], rtol=1e-6)
    np.testing.assert_allclose(x.var(1, correction=0).numpy(), [14 / 9, 26 / 3], rtol=1e-6)
    np.testing.assert_allclose(tg.var(x, False).numpy(), np.var(x.numpy()), rtol=1e-6)
    assert tg.var(x, 1, True, True).shape == (2, 1)
    np.testing.assert_allclose(tg.std(x, dim=1, correction=2).numpy(),
                               np.std(x.numpy(), axis=1, ddof=2), rtol=1e-6)
    v, m = tg.var_mean(x, 0, keepdim=True)
    assert v.shape == m.shape == (1, 3)
    s, m = x.std(), x.mean()
    np.testing.assert_allclose([s.item(), m.item()],
                               [float(tg.std_mean(x)[0]), float(tg.std_mean(x)[1])])


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
@pytest.mark.parametrize("fn", [tg.var, tg.std])
def test_var_std_of_a_constant_at_1e4_are_finite(dtype, fn):
    for values in ([1e4] * 5, [-1e4] * 4):
        out, g = grad_of(lambda x: fn(x), values, dtype)
        assert out == 0 and np.all(g == 0)
    out, g = grad_of(lambda x: fn(x, dim=1), [[1e4] * 3, [1e4 + 1, 1e4 - 1, 1e4]], dtype)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(g))
    np.testing.assert_allclose(out, [0, 1], rtol=1e-6)


def test_var_near_constant_large_magnitude_is_accurate():
    x = 1e8 + np.array([1.0, 2.0, 3.0])
    assert tg.var(tg.tensor(x)).item() == pytest.approx(1.0, rel=1e-12)


def test_var_with_no_degrees_of_freedom_is_nan_or_inf_as_pytorch():
    out, g = grad_of(lambda x: tg.var(x), [3.0])
    assert np.isnan(out) and np.isnan(g).all()
    assert tg.var(tg.tensor([1.0, 2.0]), correction=2).item() == INF
    assert np.isnan(tg.var(tg.zeros(0)).item())
    assert np.isnan(tg.std(tg.zeros(0, 3), 0)).all()


def test_second_order_of_std():
    x = tg.tensor([1.0, 2.0, 4.0], dtype=tg.float64, requires_grad=True)
    assert tg.autograd.gradcheck(lambda t: tg.std(t), (x,))
    assert tg.autograd.gradgradcheck(lambda t: tg.std(t), (x,))


def test_var_errors():
    x = tg.tensor([[1.0, 2.0], [3.0, 5.0]])
    with pytest.raises(tg.DTypeError, match="var: input dtype must be floating"):
        tg.var(tg.tensor([1, 2, 3]))
    with pytest.raises(tg.DTypeError, match="std"):
        tg.tensor([1, 2]).std()
    with pytest.raises(TypeError, match="^var: pass either correction or the legacy unbiased"):
        tg.var(x, 1, unbiased=False, correction=0)         # TypeError, as PyTorch
    for fn in (tg.std, tg.var_mean, tg.std_mean):
        with pytest.raises(TypeError, match="either correction"):
            fn(x, unbiased=True, correction=1)
    with pytest.raises(IndexError, match="dimension out of range"):
        tg.var(x, 2)
    with pytest.raises(tg.ShapeError, match="same dimension twice"):
        tg.std(x, (0, -2))
    with pytest.raises(tg.DTypeError):
        tg.var_mean(tg.tensor([1, 2]))
    with pytest.raises(tg.DTypeError, match="^var: correction must be a number, got str"):
        tg.var(x, correction="1")       # regression: a raw TypeError from a comparison


# ---- logsumexp -----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_logsumexp_stable_at_1e4(dtype):
    for values in ([1e4, 1e4, 1e4 - 1], [-1e4, -1e4, -1e4 - 1], [1e4, -1e4, 0.0]):
        out, g = grad_of(lambda x: tg.logsumexp(x, 0), values, dtype)
        ref = np.logaddexp.reduce(np.array(values, dtype=np.float64))
        assert np.isfinite(out) and np.all(np.isfinite(g))
        np.testing.assert_allclose(out, ref, rtol=1e-6)
        np.testing.assert_allclose(g, np.exp(np.array(values) - ref), atol=1e-3)


def test_logsumexp_infinities_as_pytorch():
    out, g = grad_of(lambda x: tg.logsumexp(x, 0), [-INF, -INF])
    assert out == -INF and np.isnan(g).all()          # PyTorch: -inf, gradient nan
    out, g = grad_of(lambda x: tg.logsumexp(x, 0), [-INF, 0.0])
    assert out == 0 and list(g) == [0, 1]
    out, g = grad_of(lambda x: tg.logsumexp(x, 0), [INF, 1.0])
    assert out == INF and np.isnan(g[0]) and g[1] == 0
    assert tg.logsumexp(tg.zeros(0, 3), 0).numpy().tolist() == [-INF] * 3


def test_logsumexp_dims_and_dtypes():
    x = tg.tensor([[1, 2], [3, 4]])
    out = tg.logsumexp(x, 1)
    assert out.dtype == tg.float32
    np.testing.assert_allclose(out.numpy(), np.log(np.exp([[1, 2], [3, 4]]).sum(1)), rtol=1e-6)
    assert tg.logsumexp(x, (0, 1), keepdim=True).shape == (1, 1)
    assert x.float().logsumexp(-1).shape == (2,)
    with pytest.raises(TypeError):
        tg.logsumexp(x)                    # dim is required, as in PyTorch
    with pytest.raises(IndexError):
        tg.logsumexp(x, 2)


# ---- nansum / nanmean ----------------------------------------------------------------------------
def test_nansum_nanmean_gradient_zero_at_nan():
    out, g = grad_of(tg.nansum, [1.0, NAN, 2.0])
    assert out == 3 and list(g) == [1, 0, 1]
    out, g = grad_of(lambda x: tg.nanmean(x, 1), [[1.0, NAN, 3.0], [NAN, NAN, 4.0]])
    assert list(out) == [2, 4] and g.tolist() == [[0.5, 0, 0.5], [0, 0, 1]]
    assert np.isnan(tg.nanmean(tg.tensor([NAN, NAN])).item())


def test_nansum_nanmean_dtypes_and_errors():
    assert tg.nansum(tg.tensor([1, 2], dtype=tg.int32)).dtype == tg.int64
    assert tg.nansum(tg.tensor([1.0, NAN]), dtype=tg.float64).dtype == tg.float64
    assert tg.tensor([[1.0, NAN]]).nansum(1, keepdim=True).shape == (1, 1)
    with pytest.raises(tg.DTypeError, match="nanmean"):
        tg.nanmean(tg.tensor([1, 2]))
    with pytest.raises(IndexError):
        tg.nansum(tg.ones(2), 1)
    with pytest.raises(IndexError):
        tg.nanmean(tg.ones(2), -2)


# ---- all / any / count_nonzero -------------------------------------------------------------------
def test_all_any_count_nonzero():
    x = tg.tensor([[1.0, 0.0, 2.0], [3.0, 4.0, 5.0]], requires_grad=True)
    assert tg.all(x).item() is False and tg.any(x).item() is True
    assert tg.all(x, 1).tolist() == [False, True]
    assert x.any(dim=(0, 1), keepdim=True).shape == (1, 1)
    assert not x.all().requires_grad and x.all().dtype == tg.bool
    assert tg.all(tg.tensor([1, 2, 0], dtype=tg.uint8)).dtype == tg.uint8   # PyTorch's rule
    assert tg.any(tg.tensor(0.0)).item() is False and tg.all(tg.tensor(1.0), 0).item()
    assert tg.count_nonzero(x).item() == 5 and tg.count_nonzero(x, 0).tolist() == [2, 1, 2]
    assert x.count_nonzero(dim=(0, 1)).dtype == tg.int64
    for fn in (tg.all, tg.any, tg.count_nonzero):
        with pytest.raises(IndexError):
            fn(x, 2)
        with pytest.raises(IndexError, match=f"^{fn.__name__}: dimension out of range"):
            fn(tg.tensor(1.0), 1)       # regression: a 0-d tensor took any dim


def test_all_any_over_no_dims_as_pytorch():
    """Regression: dim=() reduced every dim; PyTorch's all/any reduce none (count_nonzero all)."""
    x = tg.tensor([[1.0, 0.0], [2.0, 3.0]])
    assert tg.all(x, ()).tolist() == [[True, False], [True, True]]
    assert tg.any(x, []).shape == (2, 2)
    assert tg.count_nonzero(x, ()).item() == 3


# ---- median / nanmedian / mode: PyTorch's rules at ties and nans ---------------------------------
def test_median_without_dim_splits_ties_evenly():
    out, g = grad_of(tg.median, [1.0, 2.0, 2.0, 2.0, 3.0])
    assert out == 2 and np.allclose(g, [0, 1 / 3, 1 / 3, 1 / 3, 0])
    out, g = grad_of(tg.median, [4.0, 1.0, 3.0, 2.0])        # the lower of the two middles
    assert out == 2 and list(g) == [0, 0, 0, 1]
    out, g = grad_of(tg.median, [1.0, NAN, 2.0, NAN])        # nan: shared among the nans
    assert np.isnan(out) and list(g) == [0, 0.5, 0, 0.5]
    assert np.isnan(tg.median(tg.zeros(0)).item())


def test_median_with_dim_goes_to_the_returned_index():
    values, indices = tg.median(tg.tensor([[1.0, 2.0, 2.0, 2.0, 3.0]]), 1)
    assert values.tolist() == [2] and indices.tolist() == [2]
    x = tg.tensor([[1.0, 2.0, 2.0, 2.0, 3.0]], requires_grad=True)
    x.median(1).values.sum().backward()
    assert x.grad.tolist() == [[0, 0, 1, 0, 0]]
    values, indices = tg.median(tg.tensor([[1.0, NAN, 2.0, NAN]]), 1)   # the first nan
    assert np.isnan(values.item()) and indices.tolist() == [1]
    v, i = tg.median(tg.tensor([[3, 1, 2, 4]]), 1, keepdim=True)
    assert v.tolist() == [[2]] and i.tolist() == [[2]] and v.dtype == tg.int64


def test_nanmedian():
    out, g = grad_of(tg.nanmedian, [1.0, NAN, 2.0, 2.0])
    assert out == 2 and list(g) == [0, 0, 0.5, 0.5]
    values, indices = tg.nanmedian(tg.tensor([[1.0, NAN, 2.0, NAN, 0.0], [NAN, NAN, NAN,
                                                                          NAN, NAN]]), 1)
    assert values[0].item() == 1 and np.isnan(values[1].item())
    assert indices.tolist() == [0, 0]                         # all nan: index 0, as PyTorch
    assert np.isnan(tg.nanmedian(tg.tensor([NAN, NAN])).item())


def test_mode_ties_and_indices():
    values, indices = tg.mode(tg.tensor([[1.0, 3.0, 3.0, 2.0, 2.0, 0.0]]))
    assert values.tolist() == [2] and indices.tolist() == [4]   # smallest mode, last index
    values, indices = tg.mode(tg.tensor([3, 1, 3, 1, 3]))
    assert values.item() == 3 and indices.item() == 4
    x = tg.tensor([[2.0, 1.0, 2.0, 1.0]], requires_grad=True)
    values, indices = x.mode(1, keepdim=True)
    values.sum().backward()
    assert values.tolist() == [[1]] and indices.tolist() == [[3]]
    assert x.grad.tolist() == [[0, 0, 0, 1]]


def test_median_mode_errors():
    with pytest.raises(IndexError, match="size 0"):
        tg.median(tg.zeros(0, 3), 0)
    with pytest.raises(IndexError, match="size 0"):
        tg.mode(tg.zeros(2, 0))
    with pytest.raises(IndexError):
        tg.median(tg.zeros(2, 3), 2)
    with pytest.raises(IndexError):
        tg.nanmedian(tg.zeros(2, 3), -3)
    assert tg.median(tg.zeros(0, 3), 1).values.shape == (0,)
    for call in (lambda b: tg.median(b), lambda b: tg.nanmedian(b, 0)):   # regression:
        with pytest.raises(tg.DTypeError, match="not implemented for bool"):   # returned a
            call(tg.tensor([True, False, True]))                               # bool median


@pytest.mark.parametrize("expr", [
    "lib.median(t)", "lib.median(t, 1).values", "lib.nanmedian(t)", "lib.nanmedian(t, 0).values",
    "lib.mode(t, 0).values", "lib.quantile(u, 0.5, 1)",
    "lib.nanquantile(t, 0.3, 1, interpolation='midpoint')",
])
def test_ties_and_nans_as_pytorch(expr):
    """The same values and gradients as PyTorch where ties and nans decide them. (Not mode's
    index among equal values: PyTorch's varies with the slice length, e.g. the first of 19
    equal values but the last of 3; tapegrad always gives the last.)"""
    torch = pytest.importorskip("torch")
    t = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, np.nan, 2.0], [5.0, 5.0, 1.0, 1.0]],
                 dtype=np.float32)
    u = np.nan_to_num(t, nan=2.0)

    def run(lib):
        env = {"lib": lib, "t": lib.tensor(t, requires_grad=True),
               "u": lib.tensor(u, requires_grad=True)}
        out = eval(expr, {}, env)
        out.sum().backward()
        grads = [env[k].grad for k in "tu"]
        return out.detach().numpy(), [None if g is None else g.numpy() for g in grads]
    ours, our_grads = run(tg)
    theirs, their_grads = run(torch)
    np.testing.assert_allclose(ours, theirs)
    for g, h in zip(our_grads, their_grads):
        assert (g is None) == (h is None)
        if g is not None:
            np.testing.assert_allclose(g, h, atol=1e-6)


# ---- quantile ------------------------------------------------------------------------------------
@pytest.mark.parametrize("interpolation, expected", [
    ("linear", [1.4, 2.5, 3.0, 3.5, 4.5]), ("lower", [1, 2, 3, 3, 4]),
    ("higher", [2, 3, 3, 4, 5]), ("midpoint", [1.5, 2.5, 3, 3.5, 4.5]),
    ("nearest", [1, 3, 3, 3, 5]),          # ranks 1.5 and 2.5 round half to even
])
def test_quantile_interpolations(interpolation, expected):
    x = tg.tensor([5.0, 1.0, 4.0, 2.0, 3.0])
    q = tg.tensor([0.1, 0.375, 0.5, 0.625, 0.875])
    np.testing.assert_allclose(tg.quantile(x, q, interpolation=interpolation).numpy(),
                               expected, rtol=1e-6)


def test_quantile_gradients_and_shapes():
    out, g = grad_of(lambda x: tg.quantile(x, 0.4), [4.0, 1.0, 3.0, 2.0])
    np.testing.assert_allclose(out, 2.2, rtol=1e-6)
    np.testing.assert_allclose(g, [0, 0, 0.2, 0.8], rtol=1e-6)
    _, g = grad_of(lambda x: tg.quantile(x, 0.5, interpolation="midpoint"), [4.0, 1.0, 3.0])
    assert list(g) == [0, 0, 1]
    x = tg.ones(2, 3, 4)
    q = tg.tensor([0.25, 0.5])
    assert tg.quantile(x, q, 1, True).shape == (2, 2, 1, 4)
    assert tg.quantile(x, q).shape == (2,) and tg.quantile(x, q, keepdim=True).shape == (2, 1, 1, 1)
    assert tg.quantile(x, 0.5, -1).shape == (2, 3) and x.quantile(tg.tensor(0.5)).shape == ()
    assert tg.quantile(tg.tensor(3.0), 0.5, 0, keepdim=True).shape == ()
    assert np.isnan(tg.quantile(tg.tensor([1.0, NAN, 3.0]), 0.5).item())
    assert tg.nanquantile(tg.tensor([1.0, NAN, 3.0]), 0.5).item() == 2
    assert np.isnan(tg.nanquantile(tg.tensor([[NAN, NAN]]), 0.5, 1)).all()


def test_quantile_gradient_reaches_a_q_that_requires_grad():
    """Regression: q.grad stayed None; d quantile / dq = (hi - lo) * (count - 1), as PyTorch
    (0 for a slice whose quantile is nan, and for an all-nan slice of nanquantile)."""
    x = tg.tensor([[4.0, 1.0, 3.0, 2.0], [0.5, NAN, 8.0, 2.5], [NAN, NAN, NAN, NAN]],
                  dtype=tg.float64, requires_grad=True)
    for fn, grads in ((tg.quantile, [3 * 1 + 0 + 0, 3 * 1 + 0 + 0]),
                      (tg.nanquantile, [3 * 1 + 2 * 2, 3 * 1 + 2 * 5.5])):
        q = tg.tensor([0.4, 0.8], dtype=tg.float64, requires_grad=True)
        out = fn(x, q, dim=1)
        plain = fn(x.detach(), q.detach(), dim=1)
        np.testing.assert_array_equal(out.detach().numpy(), plain.numpy())   # same values
        out.sum().backward()
        np.testing.assert_allclose(q.grad.numpy(), grads)
        a = tg.tensor([[4.0, 1.0, 3.0], [0.5, 7.0, 2.5]], dtype=tg.float64, requires_grad=True)
        q = q.detach().requires_grad_()
        assert tg.autograd.gradgradcheck(lambda a, b: fn(a, b, 0, True), (a, q))
    q = tg.tensor(0.5, dtype=tg.float64, requires_grad=True)
    tg.quantile(x[0], q).backward()                 # (3 - 2) * 3
    assert q.grad.item() == 3.0


def test_quantile_errors():
    x = tg.tensor([1.0, 2.0, 3.0])
    with pytest.raises(tg.DTypeError, match="float32 or float64"):
        tg.quantile(tg.tensor([1, 2]), 0.5)
    with pytest.raises(tg.ArgumentError, match=r"range \[0, 1\]"):
        tg.quantile(x, 1.5)
    with pytest.raises(tg.ArgumentError, match="range"):
        tg.nanquantile(x, tg.tensor([0.5, -0.1]))
    with pytest.raises(tg.DTypeError, match="q tensor must have the input's dtype"):
        tg.quantile(x, tg.tensor([0.5], dtype=tg.float64))
    with pytest.raises(tg.ShapeError, match="0-d or 1-d"):
        tg.quantile(x, tg.tensor([[0.5]]))
    with pytest.raises(TypeError, match="q must be a float or a tensor"):
        tg.quantile(x, "half")
    with pytest.raises(tg.ShapeError, match="non-empty"):
        tg.quantile(tg.zeros(0), 0.5)
    with pytest.raises(tg.ArgumentError, match="interpolation"):
        tg.quantile(x, 0.5, interpolation="cubic")
    with pytest.raises(IndexError):
        tg.quantile(x, 0.5, 1)


# ---- float16 reductions accumulate in float32 ----------------------------------------------------
def test_float16_sum_and_mean_accumulate_in_float32():
    """Result float16, as PyTorch; a float16 accumulator would stick at 2048 (2048 + 1
    rounds back to 2048)."""
    b = np.ones((3001, 4), dtype=np.float16)
    b[0] = 2048
    x = tg.tensor(b, requires_grad=True)
    s, m = tg.sum(x, 0), tg.mean(x, 0)
    assert s.dtype == m.dtype == tg.float16
    assert s.tolist() == [5048.0] * 4
    np.testing.assert_allclose(m.detach().numpy(), np.float16(5048 / 3001), rtol=1e-3)
    assert tg.sum(x).item() == float(np.float16(5048 * 4))
    s.sum().backward()
    assert x.grad.dtype == tg.float16 and np.all(x.grad.numpy() == 1)


def test_float16_var_std_logsumexp_compute_in_float32():
    """PyTorch's values (float32 inside, float16 out); float16 inside would drift."""
    b = np.ones(3000, dtype=np.float16)
    b[0] = 2048
    x = tg.tensor(b)
    assert x.var().dtype == tg.float16 and x.var().item() == 1397.0
    assert tg.std(tg.tensor(np.stack([b, b], 1)), 0).tolist() == [37.375, 37.375]
    y = tg.zeros(5000, dtype=tg.float16)
    assert tg.logsumexp(y, 0).item() == float(np.float16(np.log(5000)))


def test_float16_prod_multiplies_in_float32():
    """Rounded once: NumPy rounds float16 between outer-loop steps (6.957 here) and PyTorch's
    CPU kernel multiplies in float16 lanes (15280 for the 1000 factors; exact 16624)."""
    b = np.full((200, 16), 1.01, dtype=np.float16)
    exact = np.prod(b.astype(np.float64), axis=0).astype(np.float16)
    x = tg.tensor(b, requires_grad=True)
    p = tg.prod(x, 0)
    assert p.dtype == tg.float16 and np.array_equal(p.detach().numpy(), exact)
    p.sum().backward()
    assert x.grad.dtype == tg.float16
    v = np.full(1000, 1.01, dtype=np.float16)
    assert tg.prod(tg.tensor(v)).item() == float(np.float16(np.prod(v.astype(np.float64))))


# ---- dims: range on 0-d tensors, types (PyTorch's errors) ----------------------------------------
_DIM_REDUCTIONS = [tg.var, tg.std, tg.logsumexp, tg.nansum, tg.nanmean, tg.sum, tg.mean,
                   tg.prod, tg.amax, tg.amin, tg.all, tg.any, tg.count_nonzero, tg.var_mean]


@pytest.mark.parametrize("fn", _DIM_REDUCTIONS, ids=lambda f: f.__name__)
def test_0d_tensor_takes_only_dim_0_or_minus_1(fn):
    x = tg.tensor(1.0)
    for dim in (0, -1) + (((0,), [-1]) if fn is not tg.prod else ()):
        out = fn(x, dim)
        assert (out[0] if isinstance(out, tuple) else out).shape == ()
    for dim in (5, 1, -2) + (((0, 1),) if fn is not tg.prod else ()):
        with pytest.raises(tg.IndexRangeError, match=rf"^{fn.__name__}: dimension out of "):
            fn(x, dim)
    for dim in ((0, -1), (0, 0)) if fn is not tg.prod else ():   # "appears multiple times"
        with pytest.raises(RuntimeError, match=rf"^{fn.__name__}: dim .* same dimension twice"):
            fn(x, dim)


@pytest.mark.parametrize("fn", _DIM_REDUCTIONS + [tg.argmax, tg.argmin, tg.max, tg.min,
                                                  tg.median, tg.nanmedian, tg.mode],
                         ids=lambda f: f.__name__)
def test_a_dim_that_is_not_an_int_raises_type_error(fn):
    x = tg.ones(2, 3)
    bad = [1.5, 1.0, (0, 1.0), "a", (0, None)]
    if fn not in (tg.var, tg.std, tg.var_mean):     # var(x, True) is the legacy unbiased
        bad.append(True)
    for dim in bad:
        with pytest.raises(TypeError, match=rf"^{fn.__name__}: dim must be (an|one) int"):
            fn(x, dim)


def test_prod_takes_one_dim_as_pytorch():
    x = tg.ones(2, 3)
    for dim in ((0, 1), [0], ()):
        with pytest.raises(TypeError, match=r"^prod: dim must be an int, as in PyTorch"):
            tg.prod(x, dim)
    assert tg.prod(x, -1).tolist() == [1.0, 1.0] and tg.prod(x, None).item() == 1.0


def test_numpy_and_0d_tensor_integer_dims_work_as_pytorch():
    x = tg.tensor([[1.0, 5.0], [7.0, 2.0]])
    for dim in (np.int64(1), tg.tensor(1)):
        assert tg.amax(x, dim).tolist() == [5.0, 7.0]      # amax(x, np.int64) raised
        assert tg.sum(x, dim).tolist() == [6.0, 9.0]
        assert tg.argmax(x, dim).tolist() == [1, 0]
    with pytest.raises(TypeError, match="^argmax: dim must be an int"):
        tg.argmax(x, [0, 1])                                # PyTorch takes one int here


def test_max_min_take_other_as_a_keyword():
    x, y = tg.tensor([1.0, 5.0]), tg.tensor([3.0, 2.0])
    assert tg.max(x, other=y).tolist() == [3.0, 5.0]
    assert tg.min(input=x, other=y).tolist() == [1.0, 2.0]
    assert x.max(other=y).tolist() == [3.0, 5.0]


def test_mode_counts_nans_as_one_value():
    """PyTorch's CPU kernel sorts with `<`, so its answer with nans depends on where they
    are; tapegrad counts all nans as one value, after every number."""
    values, indices = tg.mode(tg.tensor([NAN, NAN, 1.0]))
    assert np.isnan(values.item()) and indices.item() == 1     # PyTorch: (nan, 0)
    values, indices = tg.mode(tg.tensor([1.0, NAN, 1.0, NAN, NAN]))
    assert np.isnan(values.item()) and indices.item() == 4     # PyTorch: (1., 0)
    values, indices = tg.mode(tg.tensor([NAN, NAN, 1.0, 1.0]))  # a tie: the number wins
    assert values.item() == 1.0 and indices.item() == 3
    x = tg.tensor([[NAN, 2.0, NAN, 2.0, NAN], [3.0, NAN, 3.0, 1.0, 1.0]], requires_grad=True)
    values, indices = tg.mode(x, 1)
    values.sum().backward()
    assert np.isnan(values[0].item()) and values[1].item() == 1.0
    assert indices.tolist() == [4, 4] and x.grad.tolist() == [[0, 0, 0, 0, 1], [0, 0, 0, 0, 1]]


@pytest.mark.parametrize("call", [
    lambda x: tg.var(x, axis=0, keepdims=True), lambda x: x.std(axis=0, keepdims=True),
    lambda x: tg.var_mean(x, axis=0, keepdims=True)[0], lambda x: tg.prod(x, axis=0).reshape(1, 3),
    lambda x: x.amax(axis=0, keepdims=True), lambda x: tg.max(x, axis=0, keepdims=True).values,
    lambda x: tg.argmax(x, axis=0, keepdims=True), lambda x: x.logsumexp(axis=0, keepdims=True),
    lambda x: tg.nansum(x, axis=0, keepdims=True), lambda x: tg.all(x, axis=0, keepdims=True),
    lambda x: tg.count_nonzero(x, axis=0).reshape(1, 3),
    lambda x: tg.median(x, axis=0, keepdims=True).values,
    lambda x: x.mode(axis=0, keepdims=True).values,
    lambda x: tg.quantile(x, 0.5, axis=0, keepdims=True)])
def test_numpy_keyword_names_axis_and_keepdims_as_pytorch(call):
    out = call(tg.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 6.0]]))
    assert tuple(out.shape) == (1, 3)


def test_numpy_and_pytorch_names_together_raise():
    with pytest.raises(TypeError, match="^var: got both dim= and its NumPy name axis="):
        tg.var(tg.ones(2, 3), dim=0, axis=0)
    with pytest.raises(TypeError, match="keepdim= and its NumPy name keepdims="):
        tg.amax(tg.ones(2, 3), 0, keepdim=True, keepdims=True)
