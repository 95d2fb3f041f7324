"""The dropouts beyond the op-database rows (tests/opinfo_nn_attention.py): mask statistics,
train/eval behaviour, seeds, gradients, in-place use, PyTorch's rank rules (warnings and
errors) and float16."""
import math
import warnings

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad import ArgumentError, DTypeError, GradError, ShapeError

N = 100_000


def within_se(fraction, p, n, k=4):
    """fraction of n Bernoulli(p) draws is within k standard errors of p."""
    return abs(fraction - p) <= k * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_dropout_mask_statistics(p, dtype):
    x = tg.rand(N, dtype=dtype) + 1.0
    y = F.dropout(x, p)
    assert y.dtype == dtype
    zero = (y == 0).numpy()
    assert within_se(zero.mean(), p, N)
    np.testing.assert_allclose(y.numpy()[~zero], x.numpy()[~zero] / (1 - p), rtol=1e-6)


@pytest.mark.parametrize("fn, shape, channel_axes", [
    (F.dropout1d, (100, 100, 3), (0, 1)), (F.dropout1d, (10000, 3), (0,)),
    (F.dropout2d, (100, 100, 2, 2), (0, 1)), (F.dropout3d, (100, 100, 1, 2, 2), (0, 1)),
    (F.dropout3d, (10000, 1, 2, 2), (0,))])
def test_channel_dropout_zeroes_whole_channels(fn, shape, channel_axes):
    p = 0.3
    y = fn(tg.ones(*shape), p).numpy()
    rest = tuple(range(len(channel_axes), len(shape)))
    per_channel = y.reshape(y.shape[:len(channel_axes)] + (-1,))
    assert (per_channel.min(-1) == per_channel.max(-1)).all()      # one value per channel
    assert set(np.unique(y)) <= {0.0, np.float32(1 / (1 - p))}
    assert within_se((y.max(rest) == 0).mean(), p, per_channel.shape[0] * (
        per_channel.shape[1] if len(channel_axes) == 2 else 1))


@pytest.mark.parametrize("fn", [F.alpha_dropout, F.feature_alpha_dropout])
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_alpha_dropout_keeps_mean_and_std(fn, p):
    tg.manual_seed(0)
    shape = (N,) if fn is F.alpha_dropout else (1000, 100)
    x = tg.randn(*shape, dtype=tg.float64)
    y = fn(x, p, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    # dropped elements all take one value: a * alpha' * (1 - p)
    values, counts = np.unique(y, return_counts=True)
    assert within_se(counts.max() / y.size, p, y.size if fn is F.alpha_dropout else 1000)


def test_same_seed_same_mask_and_draws_from_tapegrads_generator():
    x = tg.ones(1000)
    tg.manual_seed(5)
    a = F.dropout(x, 0.5)
    after = tg.rand(3)
    tg.manual_seed(5)
    b = F.dropout(x, 0.5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(after.numpy(), tg.rand(3).numpy())
    assert not np.array_equal(F.dropout(x, 0.5).numpy(), a.numpy())   # next call: new mask
    tg.manual_seed(5)
    assert not np.array_equal(tg.rand(3).numpy(), after.numpy())        # dropout drew


@pytest.mark.parametrize("fn", [F.dropout, F.dropout1d, F.dropout2d, F.dropout3d,
                                F.alpha_dropout, F.feature_alpha_dropout])
def test_eval_and_p_zero_return_the_input_itself(fn):
    x = tg.randn(2, 3, 4, 5, requires_grad=True) if fn is not F.dropout1d else \
        tg.randn(2, 3, 4, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert fn(x, 0.5, training=False) is x
        assert fn(x, 0.0, training=True) is x
        assert fn(x[:0], 0.5, training=True).shape[0] == 0
    if fn in (F.alpha_dropout, F.feature_alpha_dropout):
        assert fn(x, 0.5) is x          # training defaults to False there


def test_gradient_is_mask_over_keep_probability():
    x = tg.randn(50, 40, dtype=tg.float64, requires_grad=True)
    g = np.random.default_rng(0).standard_normal((50, 40))
    tg.manual_seed(1)
    y = F.dropout(x, 0.4)
    y.backward(tg.tensor(g))
    tg.manual_seed(1)
    mask = F.dropout(tg.ones(50, 40, dtype=tg.float64), 0.4).numpy()
    np.testing.assert_allclose(x.grad.numpy(), g * mask)
    np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy() * mask)


def test_p_one_multiplies_by_zero():
    x = tg.tensor([1.0, -2.0, np.inf, np.nan], requires_grad=True)
    with np.errstate(invalid="ignore"):
        y = F.dropout(x, 1.0)
    out = y.detach().numpy()
    assert (out[:2] == 0).all() and np.isnan(out[2:]).all()     # inf * 0 and nan * 0: nan
    y[:2].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)
    z = F.alpha_dropout(tg.ones(3), 1.0, True)
    np.testing.assert_array_equal(z.numpy(), 0.0)


def test_inplace():
    x = tg.ones(4, 5)
    tg.manual_seed(0)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and set(np.unique(x.numpy())) <= {0.0, 2.0}
    leaf = tg.ones(3, requires_grad=True)
    with pytest.raises(GradError):
        F.dropout(leaf, 0.5, inplace=True)
    w = tg.ones(3, 4, requires_grad=True)
    h = w * 3
    tg.manual_seed(2)
    out = F.dropout1d(h, 0.5, inplace=True)
    assert out is h
    out.sum().backward()
    tg.manual_seed(2)
    mask = F.dropout1d(tg.ones(3, 4), 0.5).numpy()
    np.testing.assert_allclose(w.grad.numpy(), 3 * mask)
    z = tg.ones(2, 3)
    tg.manual_seed(0)
    F.alpha_dropout(z, 0.5, True, inplace=True)
    tg.manual_seed(0)
    np.testing.assert_allclose(z.numpy(), F.alpha_dropout(tg.ones(2, 3), 0.5, True).numpy())


def test_float16_keeps_its_dtype():
    y = F.dropout(tg.ones(1000, dtype=tg.float16), 0.25)
    assert y.dtype == tg.float16
    assert set(np.unique(y.numpy())) <= {0.0, np.float16(1 / 0.75)}


def test_dropout_probability_errors():
    x = tg.ones(2, 3, 4)
    for fn in (F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout,
               F.feature_alpha_dropout):
        for p in (-0.1, 1.5, "0.5"):
            with pytest.raises(ArgumentError, match="between 0 and 1"):
                fn(x, p)


def test_input_errors():
    with pytest.raises(DTypeError, match="floating"):
        F.dropout(tg.ones(3, dtype=tg.int64), 0.5)
    ints = tg.ones(3, dtype=tg.int64)
    assert F.dropout(ints, 0.5, training=False) is ints             # eval: as PyTorch
    with pytest.raises(DTypeError, match="must be a tensor"):
        F.dropout(np.ones(3), 0.5)
    for shape in [(3,), (2, 3, 4, 5)]:
        with pytest.raises(ShapeError, match="dropout1d: Expected 2D or 3D input"):
            F.dropout1d(tg.ones(*shape), 0.5)
    with pytest.raises(ShapeError, match="at least 2 dims"):
        F.feature_alpha_dropout(tg.ones(3), 0.5, True)


def test_rank_warnings_as_pytorch():
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        y = F.dropout2d(tg.ones(4, 5, 6), 0.5)
    assert (y.numpy().min(-1) == y.numpy().max(-1)).all()          # read as (N, C, L)
    with pytest.warns(UserWarning, match="Received a 5-D input to dropout2d"):
        F.dropout2d(tg.ones(2, 2, 2, 2, 2), 0.5)
    with pytest.warns(UserWarning, match="Received a 1-D input to dropout2d"):
        with pytest.raises(ShapeError, match="at least 2 dims"):
            F.dropout2d(tg.ones(3), 0.5)
    with pytest.warns(UserWarning, match="Received a 3-D input to dropout3d"):
        y = F.dropout3d(tg.ones(4, 5, 6), 0.5)
    assert (y.numpy().reshape(4, -1).min(-1) == y.numpy().reshape(4, -1).max(-1)).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.dropout2d(tg.ones(2, 3, 4, 4), 0.5)
        F.dropout3d(tg.ones(2, 3, 2, 2, 2), 0.5)
        F.dropout3d(tg.ones(3, 2, 2, 2), 0.5)


def test_float32_masks_make_no_float64_arrays(monkeypatch):
    seen = []
    rng = tg.default_generator._rng
    real = type(rng).random

    class Spy:
        def random(self, shape, dtype=np.float64):
            seen.append(np.dtype(dtype))
            return real(rng, shape, dtype=dtype)
    monkeypatch.setattr(type(tg.default_generator), "_rng", property(lambda self: Spy()))
    F.dropout(tg.ones(10), 0.5)
    F.alpha_dropout(tg.ones(10), 0.5, True)
    F.scaled_dot_product_attention(tg.ones(2, 3), tg.ones(2, 3), tg.ones(2, 3), dropout_p=0.5)
    assert seen == [np.dtype(np.float32)] * 3
