"""Pooling: hand-computed golden values, PyTorch's conventions at ties, nans, -inf and padding,
float16, large magnitudes, integer inputs, and every bad-argument path (the generic checks
run from tests/opinfo_nn_pooling.py's rows)."""
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad._core.errors import ArgumentError, DTypeError, IndexRangeError, ShapeError
from tapegrad.autograd.gradcheck import gradcheck, gradgradcheck

NAN, INF = float("nan"), float("inf")


def value_and_grad(fn, values, dtype=tg.float32):
    x = tg.tensor(values, dtype=dtype, requires_grad=True)
    out = fn(x)
    (out[0] if isinstance(out, tuple) else out).sum().backward()
    return out, x.grad.numpy()


# ---- golden values ----------------------------------------------------------------------------
def test_max_pool2d_golden_with_padding_and_indices():
    x = tg.tensor([[[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0], [7.0, -8.0, 9.0]]])
    y, i = F.max_pool2d(x, 2, stride=2, padding=1, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), [[[1.0, 3.0], [7.0, 9.0]]])
    np.testing.assert_array_equal(i.numpy(), [[[0, 2], [6, 8]]])
    assert i.dtype == tg.int64


def test_padding_never_wins_even_over_negative_values():
    x = tg.tensor([[-5.0, -3.0, -4.0]])
    y, i = F.max_pool1d(x, 3, stride=1, padding=1, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), [[-3.0, -3.0, -3.0]])
    np.testing.assert_array_equal(i.numpy(), [[1, 1, 1]])
    np.testing.assert_array_equal(F.avg_pool1d(x, 3, 1, 1, count_include_pad=False).numpy(),
                                  [[-4.0, -4.0, -3.5]])


def test_avg_pool_divisors_under_ceil_mode():
    # L = 5, k = 2, s = 2, p = 1, ceil: windows [-1, 1), [1, 3), [3, 5), [5, 7) is dropped
    # (starts past the input), so 3 outputs; the divisor counts padding, not past the edge.
    x = tg.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]])
    np.testing.assert_allclose(F.avg_pool1d(x, 2, 2, 1, ceil_mode=True).numpy(),
                               [[0.5, 2.5, 4.5]])
    # L = 6, k = 3, s = 2, ceil: windows [0, 3), [2, 5), [4, 7) hangs 1 past the edge:
    # its sum (11) is divided by 2 (clipped at L + pad = 6).
    x = tg.tensor([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    np.testing.assert_allclose(F.avg_pool1d(x, 3, 2, ceil_mode=True).numpy(), [[2.0, 4.0, 5.5]])
    # with p = 1: windows [-1, 2), [1, 4), [3, 6), [5, 8); the first counts its padding (3),
    # the last is clipped at L + pad = 7 (divisor 2)
    np.testing.assert_allclose(F.avg_pool1d(x, 3, 2, 1, True, True).numpy(),
                               [[1.0, 3.0, 5.0, 3.0]])


def test_avg_pool_int64_truncates_toward_zero():
    x = tg.tensor([[[-3, 0], [0, 0]], [[3, 4], [2, 0]]])
    y = F.avg_pool2d(x, 2)
    assert y.dtype == tg.int64
    np.testing.assert_array_equal(y.numpy(), [[[0]], [[2]]])
    np.testing.assert_array_equal(F.avg_pool1d(tg.tensor([[-3, 0]]), 2).numpy(), [[-1]])


def test_max_pool_integer_input():
    y, i = F.max_pool2d(tg.arange(16).reshape(1, 4, 4), 2, return_indices=True)
    assert y.dtype == tg.int64
    np.testing.assert_array_equal(y.numpy(), [[[5, 7], [13, 15]]])
    np.testing.assert_array_equal(i.numpy(), [[[5, 7], [13, 15]]])


def test_adaptive_windows_overlap_as_pytorch():
    # L = 5 to 3: windows [0, 2), [1, 4), [3, 5)
    x = tg.tensor([[1.0, 5.0, 2.0, 4.0, 3.0]], requires_grad=True)
    y = F.adaptive_avg_pool1d(x, 3)
    np.testing.assert_allclose(y.detach().numpy(), [[3.0, 11 / 3, 3.5]], rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.5, 0.5 + 1 / 3, 1 / 3, 1 / 3 + 0.5, 0.5]],
                               rtol=1e-6)
    m, i = F.adaptive_max_pool1d(x, 3, return_indices=True)
    np.testing.assert_array_equal(m.detach().numpy(), [[5.0, 5.0, 4.0]])
    np.testing.assert_array_equal(i.numpy(), [[1, 1, 3]])
    x.grad = None
    m.sum().backward()     # two windows pick position 1: their gradients add
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 2.0, 0.0, 1.0, 0.0]])


def test_adaptive_output_size_none_and_upsampling():
    x = tg.arange(6.0).reshape(1, 2, 3)
    assert F.adaptive_avg_pool2d(x, (None, 1)).shape == (1, 2, 1)
    np.testing.assert_array_equal(F.adaptive_max_pool2d(x, (4, 3)).numpy(),
                                  [[[0, 1, 2], [0, 1, 2], [3, 4, 5], [3, 4, 5]]])
    assert F.adaptive_avg_pool2d(x, 0).shape == (1, 0, 0)


def test_lp_pool_golden():
    x = tg.tensor([[[3.0, 4.0], [0.0, 0.0]]])
    np.testing.assert_allclose(F.lp_pool2d(x, 2, 2).numpy(), [[[5.0]]], rtol=1e-6)
    np.testing.assert_allclose(F.lp_pool2d(x, 1, (1, 2)).numpy(), [[[7.0], [0.0]]])
    # ceil_mode: the last window holds one element, averaged then scaled by the full size 2
    np.testing.assert_allclose(F.lp_pool1d(tg.tensor([[1.0, 1.0, 2.0]]), 1, 2,
                                           ceil_mode=True).numpy(), [[2.0, 4.0]])


def test_lp_pool_gradient_is_zero_at_an_all_zero_window():
    # PyTorch's sign(s) * relu(|s|) gives gradient 0 where the window sum is 0, not the
    # 0 * inf = nan of the 1/p power's derivative there
    y, g = value_and_grad(lambda x: F.lp_pool2d(x, 2, 2), [[[0.0, 0.0, 3.0, 4.0],
                                                            [0.0, 0.0, 0.0, 0.0]]])
    np.testing.assert_allclose(y.detach().numpy(), [[[0.0, 5.0]]])
    np.testing.assert_allclose(g, [[[0.0, 0.0, 0.6, 0.8], [0.0, 0.0, 0.0, 0.0]]], rtol=1e-6)
    assert F.lp_pool2d(tg.tensor([[[1, 2], [3, 4]]]), 2, 2).dtype == tg.float32


def test_unbatched_equals_batched():
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((3, 7, 6)))
    for fn in (lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True),
               lambda t: F.avg_pool2d(t, 2, 1, 1, count_include_pad=False),
               lambda t: F.adaptive_max_pool2d(t, (4, 5)),
               lambda t: F.adaptive_avg_pool2d(t, 4), lambda t: F.lp_pool2d(t, 2, 3)):
        np.testing.assert_allclose(fn(x).numpy(), fn(x[None])[0].numpy())


def test_max_unpool_round_trip_and_output_size():
    x = tg.tensor([[[1.0, 6.0, 2.0, 0.0, 3.0]]])
    y, i = F.max_pool1d(x, 2, return_indices=True)
    np.testing.assert_array_equal(F.max_unpool1d(y, i, 2).numpy(), [[[0, 6, 2, 0]]])
    np.testing.assert_array_equal(F.max_unpool1d(y, i, 2, output_size=[5]).numpy(),
                                  [[[0, 6, 2, 0, 0]]])
    np.testing.assert_array_equal(F.max_unpool1d(y, i, 2, output_size=(1, 1, 5)).numpy(),
                                  [[[0, 6, 2, 0, 0]]])


# ---- gradients: ties, overlaps, second order --------------------------------------------------
def test_ties_go_to_the_first_maximum():
    y, g = value_and_grad(lambda x: F.max_pool2d(x, 2), [[[2.0, 2.0], [2.0, 2.0]]])
    np.testing.assert_array_equal(g, [[[1.0, 0.0], [0.0, 0.0]]])
    y, g = value_and_grad(lambda x: F.adaptive_max_pool1d(x, 1), [[1.0, 3.0, 3.0]])
    np.testing.assert_array_equal(g, [[0.0, 1.0, 0.0]])


def test_overlapping_windows_accumulate():
    y, g = value_and_grad(lambda x: F.max_pool1d(x, 2, stride=1), [[1.0, 3.0, 2.0]])
    np.testing.assert_array_equal(g, [[0.0, 2.0, 0.0]])
    y, g = value_and_grad(lambda x: F.avg_pool1d(x, 2, stride=1), [[1.0, 3.0, 2.0]])
    np.testing.assert_array_equal(g, [[0.5, 1.0, 0.5]])


def test_nan_wins_and_the_last_nan_is_the_index():
    x = tg.tensor([[1.0, NAN, 3.0, NAN, 0.0, 0.0]])
    y, i = F.max_pool1d(x, 3, return_indices=True)
    assert np.isnan(y.numpy()).all()
    np.testing.assert_array_equal(i.numpy(), [[1, 3]])
    _, i = F.max_pool1d(x, 6, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), [[3]])
    _, i = F.adaptive_max_pool1d(x, 1, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), [[3]])


def test_large_tiling_windows_keep_the_conventions():
    # more than 16 taps per tiling window: searched by one argmax over a window copy
    x = tg.ones(2, 5, 5, requires_grad=True)
    y, i = F.adaptive_max_pool2d(x, 1, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), [[[0]], [[0]]])
    y.sum().backward()
    assert x.grad.numpy().sum() == 2 and x.grad.numpy()[:, 0, 0].tolist() == [1.0, 1.0]
    a = np.arange(50.0).reshape(2, 5, 5)
    a[0, 0, 3] = a[0, 1, 2] = NAN
    y, i = F.max_pool2d(tg.tensor(a), 5, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), [[[7]], [[24]]])
    assert np.isnan(y.numpy()[0, 0, 0]) and y.numpy()[1, 0, 0] == 49


def test_all_minus_inf_windows_pick_their_first_real_position():
    x = tg.tensor([[-INF, -INF, -INF]])
    y, i = F.max_pool1d(x, 3, stride=1, padding=1, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), [[0, 0, 1]])
    y, i = F.max_pool2d(tg.full((1, 3, 3), -INF), 3, 2, 1, dilation=1, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), [[[0, 1], [3, 4]]])


def test_second_order_through_max_and_avg_pools():
    rng = np.random.default_rng(1)
    x = tg.tensor(rng.permutation(36).reshape(1, 1, 6, 6) / 7.0, requires_grad=True)

    def f(t):
        return F.avg_pool2d(F.max_pool2d(t * t, 2, 1), 2, 1, 1) ** 2
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))
    g, = tg.autograd.grad(f(x).sum(), x, create_graph=True)
    assert g.requires_grad


# ---- dtypes and magnitudes --------------------------------------------------------------------
def test_float16_pools_compute_in_float32():
    rng = np.random.default_rng(2)
    a = (rng.standard_normal((2, 3, 8, 8)) * 100).astype(np.float16)
    x = tg.tensor(a)
    for fn in (lambda t: F.avg_pool2d(t, 3, 1, 1), lambda t: F.adaptive_avg_pool2d(t, 3),
               lambda t: F.max_pool2d(t, 2), lambda t: F.adaptive_max_pool2d(t, 3),
               lambda t: F.avg_pool3d(t, 2)):
        y = fn(x)
        assert y.dtype == tg.float16
        want = fn(tg.tensor(a.astype(np.float32))).numpy().astype(np.float16)
        np.testing.assert_array_equal(y.numpy(), want)


def test_float16_gradient_stays_float16():
    x = tg.tensor(np.ones((1, 4, 4), np.float16), requires_grad=True)
    F.avg_pool2d(x, 2, 1).sum().backward()
    assert x.grad.dtype == tg.float16
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [0.25, 0.5, 0.5, 0.25])


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_large_magnitudes_stay_finite(dtype):
    rng = np.random.default_rng(3)
    a = rng.uniform(-1e4, 1e4, (2, 2, 6, 6))
    for fn in (lambda t: F.max_pool2d(t, 3, 1, 1), lambda t: F.avg_pool2d(t, 3, 2, 1),
               lambda t: F.adaptive_avg_pool2d(t, 4), lambda t: F.adaptive_max_pool2d(t, 4),
               lambda t: F.lp_pool2d(t, 2, 2)):
        y, g = value_and_grad(fn, a, dtype)
        assert np.isfinite(y.detach().numpy()).all() and np.isfinite(g).all()


def test_empty_batch():
    x = tg.zeros(0, 2, 4, 4, requires_grad=True)
    for fn in (lambda t: F.max_pool2d(t, 2), lambda t: F.avg_pool2d(t, 2),
               lambda t: F.adaptive_avg_pool2d(t, 3), lambda t: F.adaptive_max_pool2d(t, 3)):
        y = fn(x)
        assert y.shape[0] == 0
        y.sum().backward()
        assert x.grad.shape == x.shape


def test_no_grad_skips_the_recorded_gather():
    x = tg.tensor(np.arange(16.0).reshape(1, 4, 4), requires_grad=True)
    with tg.no_grad():
        y = F.max_pool2d(x, 2)
    assert y.grad_fn is None and not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), [[[5, 7], [13, 15]]])


# ---- errors -----------------------------------------------------------------------------------
X = tg.zeros(1, 2, 4, 4)


@pytest.mark.parametrize("call, error, words", [
    (lambda: F.max_pool2d(X, 0), ArgumentError, "kernel_size must be greater than zero"),
    (lambda: F.max_pool2d(X, 2, 0), ArgumentError, "stride must be greater than zero"),
    (lambda: F.max_pool2d(X, 2, dilation=0), ArgumentError, "dilation"),
    (lambda: F.max_pool2d(X, 3, padding=-1), ArgumentError, "non-negative"),
    (lambda: F.max_pool2d(X, 3, padding=2), ArgumentError, "at most half"),
    # PyTorch bounds padding by half the kernel size, dilated or not
    (lambda: F.max_pool2d(X, 3, padding=2, dilation=2), ArgumentError, "at most half"),
    (lambda: F.max_pool1d(X[0], 3, padding=2, dilation=3), ArgumentError, "at most half"),
    # a window wholly in the padding (dilation stepping over a 1-long dim)
    (lambda: F.max_pool2d(tg.zeros(1, 1, 3), 2, 2, 1, 2, True), ArgumentError,
     "reads only padding"),
    (lambda: F.max_pool1d(tg.zeros(1, 1), 2, 1, 1, 2), ArgumentError, "reads only padding"),
    (lambda: F.avg_pool3d(tg.zeros(1, 6, 6, 2), 3, padding=1), ShapeError,
     "smaller than kernel_size"),
    (lambda: F.avg_pool2d(tg.zeros(1, 6, 2), 3, padding=1), None, None),
    (lambda: F.lp_pool2d(tg.ones(1, 4, 2), 2, 3), ShapeError, "lp_pool2d: input"),
    (lambda: F.adaptive_avg_pool1d(tg.zeros(1, 6), (None,)), TypeError, "output_size"),
    (lambda: F.avg_pool2d(np.ones((1, 4, 4)), 2), TypeError, "avg_pool2d: input must be a"),
    (lambda: F.lp_pool1d(np.ones((1, 4)), 2, 2), TypeError, "must be a Tensor"),
    (lambda: F.adaptive_max_pool1d(tg.zeros(1, 6), (None, 3)), TypeError, "output_size"),
    (lambda: F.avg_pool2d(X, 3, padding=2), ArgumentError, "at most half"),
    (lambda: F.max_pool2d(X, (2, 2, 2)), ArgumentError, "tuple of two ints"),
    (lambda: F.max_pool3d(X[None], (2, 2)), ArgumentError, "tuple of three ints"),
    (lambda: F.max_pool2d(X, 2.0), TypeError, "kernel_size must be an int"),
    (lambda: F.max_pool2d(X, True), TypeError, "kernel_size"),
    (lambda: F.max_pool2d(X, 5), ShapeError, "too small"),
    (lambda: F.avg_pool2d(X, 2, 4, 1, True), None, None),
    (lambda: F.max_pool2d(X[0, 0], 2), ShapeError, "3-D (C, *spatial) or 4-D"),
    (lambda: F.max_pool1d(X, 2), ShapeError, "max_pool1d"),
    (lambda: F.max_pool2d(tg.zeros(1, 0, 4, 4), 2), ShapeError, "non-zero sizes"),
    (lambda: F.max_pool2d(tg.zeros(1, 2, 0, 4), 2), ShapeError, "non-zero sizes"),
    (lambda: F.max_pool2d(tg.zeros(1, 4, 4, dtype=tg.bool), 2), DTypeError, "bool"),
    (lambda: F.avg_pool2d(tg.zeros(1, 4, 4, dtype=tg.int32), 2), DTypeError, "int32"),
    (lambda: F.avg_pool2d(X, 2, divisor_override=0), ArgumentError, "not be zero"),
    (lambda: F.avg_pool2d(X, 2, divisor_override=1.5), TypeError, "divisor_override"),
    (lambda: F.adaptive_avg_pool2d(X, -1), ArgumentError, "non-negative"),
    (lambda: F.adaptive_avg_pool2d(X, (2, 2, 2)), ArgumentError, "2 ints"),
    (lambda: F.adaptive_avg_pool2d(X, 2.5), TypeError, "output_size"),
    (lambda: F.adaptive_max_pool2d(X, (2, "a")), TypeError, "output_size"),
    (lambda: F.adaptive_max_pool2d(X[0, 0], 2), ShapeError, "adaptive_max_pool2d"),
    (lambda: F.adaptive_avg_pool1d(tg.zeros(2, 0), 2), ShapeError, "non-zero"),
    (lambda: F.adaptive_avg_pool2d(tg.zeros(1, 4, 4, dtype=tg.int64), 2), DTypeError,
     "int64"),
    (lambda: F.lp_pool2d(X, 0, 2), ArgumentError, "norm_type"),
    (lambda: F.lp_pool2d(X, "2", 2), TypeError, "norm_type"),
    (lambda: F.lp_pool2d(X, 2, 0), ArgumentError, "kernel_size"),
])
def test_bad_arguments(call, error, words):
    if error is None:          # accepted, as PyTorch
        call()
        return
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")
                       .replace("*", r"\*")):
        call()


def _pooled():
    return F.max_pool2d(tg.tensor(np.arange(32.0).reshape(1, 2, 4, 4)), 2,
                        return_indices=True)


@pytest.mark.parametrize("call, error, words", [
    (lambda y, i: F.max_unpool2d(y, i.to(tg.int32), 2), DTypeError, "int64"),
    (lambda y, i: F.max_unpool2d(y, y, 2), DTypeError, "int64"),
    (lambda y, i: F.max_unpool2d(y, i[..., :1], 2), ShapeError, "indices of shape"),
    (lambda y, i: F.max_unpool2d(y, i + 100, 2), IndexRangeError, "invalid max index 115"),
    (lambda y, i: F.max_unpool2d(y, i - 100, 2), IndexRangeError, "invalid max index -95"),
    (lambda y, i: F.max_unpool2d(y, i, 2, output_size=(6, 4)), ShapeError,
     "between 2 and 6"),
    (lambda y, i: F.max_unpool2d(y, i, 2, output_size=(4,)), ShapeError, "2 elements"),
    (lambda y, i: F.max_unpool2d(y, i, 2, output_size=(4.5, 4)), TypeError, "sequence of ints"),
    (lambda y, i: F.max_unpool2d(y[0], i[0], 2, output_size=(2, 4, 4)), ShapeError,
     "2 elements"),      # as PyTorch: the spatial size or the full (N, C, *S) shape only
    (lambda y, i: F.max_unpool2d(y, i, 0), ArgumentError, "greater than zero"),
    (lambda y, i: F.max_unpool2d(y[0, 0], i[0, 0], 2), ShapeError, "max_unpool2d"),
])
def test_max_unpool_bad_arguments(call, error, words):
    y, i = _pooled()
    with pytest.raises(error, match=words):
        call(y, i)


def test_index_errors_are_index_errors():
    y, i = _pooled()
    with pytest.raises(IndexError):
        F.max_unpool2d(y, i + 100, 2)


def test_integer_average_with_a_negative_divisor_truncates_toward_zero():
    x = tg.tensor([[[3, 6], [-4, -3]]])      # sums 9 and -7; PyTorch: -4 and 3
    np.testing.assert_array_equal(F.avg_pool2d(x, (1, 2), divisor_override=-2).numpy(),
                                  [[[-4], [3]]])


def test_lp_pool_infinite_norm_is_the_max_or_min_of_abs():
    x = tg.tensor([[0.5, -3.0, 0.25, 0.75]], requires_grad=True)
    y = F.lp_pool1d(x, INF, 2)
    np.testing.assert_array_equal(y.detach().numpy(), [[3.0, 0.75]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, -1.0, 0.0, 1.0]])
    np.testing.assert_array_equal(F.lp_pool2d(x[None], -INF, (1, 2)).detach().numpy(),
                                  [[[0.5, 0.25]]])


@pytest.mark.parametrize("fn", [F.adaptive_avg_pool1d, F.adaptive_max_pool1d])
def test_adaptive_pools_take_an_empty_first_dim_even_unbatched(fn):
    x = tg.zeros(0, 4, requires_grad=True)     # (C, L) with C = 0, as PyTorch allows
    y = fn(x, 2)
    assert tuple(y.shape) == (0, 2)
    y.sum().backward()
    assert tuple(x.grad.shape) == (0, 4)
