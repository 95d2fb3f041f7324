"""tapegrad.nn.init: distributions, fans, errors, generators, in-place semantics."""
import math
import warnings

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad.nn import init


def gen(seed=0):
    return tg.Generator().manual_seed(seed)


def values(t):
    return t.detach().numpy().astype(np.float64).ravel()


def check_uniform(t, lo, hi):
    """Bounds hold, the range is filled, and mean/std match U(lo, hi) within ~5 sigma."""
    v = values(t)
    n, width = v.size, hi - lo
    assert v.min() >= lo and v.max() <= hi
    assert v.min() < lo + 0.01 * width and v.max() > hi - 0.01 * width
    assert abs(v.mean() - (lo + hi) / 2) < 5 * width / math.sqrt(12 * n)
    assert v.std() == pytest.approx(width / math.sqrt(12), rel=0.02)


def check_normal(t, mean, std):
    v = values(t)
    assert abs(v.mean() - mean) < 5 * std / math.sqrt(v.size)
    assert v.std() == pytest.approx(std, rel=0.02)


# ---- calculate_gain and fans -----------------------------------------------------------------
@pytest.mark.parametrize("name, gain", [
    ("linear", 1), ("conv1d", 1), ("conv2d", 1), ("conv3d", 1), ("conv_transpose1d", 1),
    ("conv_transpose2d", 1), ("conv_transpose3d", 1), ("sigmoid", 1), ("tanh", 5 / 3),
    ("relu", math.sqrt(2)), ("leaky_relu", math.sqrt(2 / (1 + 0.01 ** 2))), ("selu", 0.75)])
def test_calculate_gain(name, gain):
    assert init.calculate_gain(name) == pytest.approx(gain, rel=1e-15)


def test_calculate_gain_leaky_relu_param_and_errors():
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu", 1) == 1.0
    assert init.calculate_gain("relu", 3) == math.sqrt(2)     # param ignored, as in PyTorch
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError, match="negative_slope 0.1 not a valid number"):
        init.calculate_gain("leaky_relu", "0.1")
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        init.calculate_gain("gelu")


@pytest.mark.parametrize("shape, fans", [
    ((3, 5), (5, 3)), ((8, 3, 5), (15, 40)), ((8, 3, 5, 5), (75, 200)),
    ((4, 2, 3, 3, 3), (54, 108)), ((2, 0), (0, 2)), ((6, 4, 1, 1), (4, 6))])
def test_fan_in_and_fan_out_for_linear_and_conv_shapes(shape, fans):
    assert init._calculate_fan_in_and_fan_out(tg.empty(*shape)) == fans


def test_fans_need_two_dims():
    for shape in [(), (5,)]:
        with pytest.raises(ValueError, match="fewer than 2 dimensions"):
            init._calculate_fan_in_and_fan_out(tg.empty(*shape))


# ---- simple fills ----------------------------------------------------------------------------
def test_constant_ones_zeros():
    t = tg.empty(3, 2)
    assert init.constant_(t, 2.5) is t
    np.testing.assert_array_equal(t.numpy(), np.full((3, 2), 2.5, np.float32))
    np.testing.assert_array_equal(init.ones_(t).numpy(), np.ones((3, 2)))
    np.testing.assert_array_equal(init.zeros_(t).numpy(), np.zeros((3, 2)))
    ints = init.constant_(tg.empty(3, dtype=tg.int64), 2.7)     # truncated, as PyTorch's fill_
    assert ints.dtype == tg.int64 and ints.tolist() == [2, 2, 2]
    assert init.constant_(tg.empty(2), tg.tensor(-1.5)).tolist() == [-1.5, -1.5]
    with pytest.raises(ValueError, match=r"one-element tensor.*\(2,\)"):
        init.constant_(tg.empty(2), tg.ones(2))


def test_eye():
    np.testing.assert_array_equal(init.eye_(tg.empty(3, 4)).numpy(), np.eye(3, 4))
    np.testing.assert_array_equal(init.eye_(tg.empty(4, 2, dtype=tg.int64)).numpy(),
                                  np.eye(4, 2, dtype=np.int64))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(tg.empty(2, 2, 2))


@pytest.mark.parametrize("conv, shape, groups", [
    (F.conv1d, (4, 4, 3), 1), (F.conv2d, (3, 3, 3, 5), 1), (F.conv3d, (2, 2, 3, 3, 3), 1),
    (F.conv2d, (6, 2, 3, 3), 3), (F.conv1d, (4, 1, 5), 4)])
def test_dirac_is_the_identity_convolution(conv, shape, groups):
    w = init.dirac_(tg.empty(*shape, dtype=tg.float64), groups)
    x = tg.randn(2, shape[1] * groups, *[7] * (len(shape) - 2), dtype=tg.float64,
                 generator=gen())
    pad = tuple(k // 2 for k in shape[2:])
    y = conv(x, w, padding=pad, groups=groups)
    np.testing.assert_allclose(y.numpy(), x.numpy(), rtol=0, atol=1e-12)
    assert int((w != 0).sum()) == min(shape[0] // groups, shape[1]) * groups


def test_dirac_more_outputs_than_inputs_leaves_the_rest_zero():
    w = init.dirac_(tg.empty(4, 2, 3))
    expected = np.zeros((4, 2, 3), np.float32)
    expected[0, 0, 1] = expected[1, 1, 1] = 1
    np.testing.assert_array_equal(w.numpy(), expected)


def test_dirac_errors():
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions"):
        init.dirac_(tg.empty(3, 3))
    with pytest.raises(ValueError, match="dim 0 must be divisible by groups"):
        init.dirac_(tg.empty(5, 2, 3), groups=2)


# ---- random fills ----------------------------------------------------------------------------
def test_uniform_and_normal_statistics():
    check_uniform(init.uniform_(tg.empty(200, 300), -0.3, 0.7, generator=gen()), -0.3, 0.7)
    check_uniform(init.uniform_(tg.empty(50000, dtype=tg.float64), generator=gen(1)), 0.0, 1.0)
    check_normal(init.normal_(tg.empty(200, 300), 1.5, 0.25, generator=gen()), 1.5, 0.25)
    check_normal(init.normal_(tg.empty(60000, dtype=tg.float64), generator=gen(2)), 0.0, 1.0)


def test_random_fills_keep_the_dtype():
    for dt in (tg.float16, tg.float32, tg.float64):
        for fn in (init.uniform_, init.normal_, init.trunc_normal_, init.xavier_uniform_,
                   init.kaiming_normal_, init.orthogonal_):
            assert fn(tg.empty(3, 4, dtype=dt)).dtype == dt


def test_trunc_normal_statistics():
    stats = pytest.importorskip("scipy.stats")
    for mean, std, a, b in [(0.0, 1.0, -2.0, 2.0), (0.5, 0.02, 0.45, 0.6), (0.0, 1.0, 1.0, 3.0)]:
        t = init.trunc_normal_(tg.empty(300, 200, dtype=tg.float64), mean, std, a, b,
                               generator=gen())
        v = values(t)
        assert v.min() >= a and v.max() <= b
        ref = stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
        assert abs(v.mean() - ref.mean()) < 5 * ref.std() / math.sqrt(v.size)
        assert v.std() == pytest.approx(ref.std(), rel=0.02)


def test_trunc_normal_float32_stays_inside_and_zero_std():
    t = init.trunc_normal_(tg.empty(100, 100), std=0.02, a=-0.04, b=0.04, generator=gen())
    assert float(t.abs().max()) <= 0.04
    with pytest.warns(UserWarning, match="mean is more than 2 std"):
        t = init.trunc_normal_(tg.empty(3), mean=5.0, std=0.0, a=-1, b=1)
    assert t.tolist() == [1.0] * 3


def test_trunc_normal_warns_when_mean_is_far_from_the_interval():
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        t = init.trunc_normal_(tg.empty(1000), mean=10.0, std=1.0, a=-2.0, b=2.0)
    v = values(t)
    assert v.min() >= -2 and v.max() <= 2 and np.isfinite(v).all()


@pytest.mark.parametrize("a, b", [(9.0, 12.0), (25.0, 100.0), (-60.0, -50.0), (50.0, 60.0)])
def test_trunc_normal_far_in_a_tail_stays_near_the_closer_bound(a, b):
    # An interval many std from the mean: the mass sits just inside the bound nearer the mean
    # (mean about a + 1/a for a > 0), as PyTorch draws it. The CDF rounds to 1 above the mean
    # and to 0 below it there, so these used to come out all b (upper tail) or all a.
    with pytest.warns(UserWarning, match="mean is more than 2 std"):
        v = values(init.trunc_normal_(tg.empty(20000, dtype=tg.float64), 0.0, 1.0, a, b,
                                      generator=gen()))
    near, sign = (a, 1.0) if a > 0 else (b, -1.0)
    assert v.min() >= a and v.max() <= b
    assert abs(v.mean() - (near + sign / abs(near))) < 0.02 * (1 + 1 / abs(near))
    assert np.abs(v - near).max() < 2.0


def test_xavier_statistics_for_linear_and_conv_weights():
    for shape in [(300, 200), (64, 32, 3, 3)]:
        fan_in, fan_out = init._calculate_fan_in_and_fan_out(tg.empty(*shape))
        std = 2.0 * math.sqrt(2.0 / (fan_in + fan_out))
        check_uniform(init.xavier_uniform_(tg.empty(*shape), gain=2.0, generator=gen()),
                      -math.sqrt(3) * std, math.sqrt(3) * std)
        check_normal(init.xavier_normal_(tg.empty(*shape), gain=2.0, generator=gen()), 0.0, std)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "FAN_OUT"])
@pytest.mark.parametrize("nonlinearity, a", [("relu", 0), ("leaky_relu", math.sqrt(5)),
                                             ("leaky_relu", 0), ("tanh", 0)])
def test_kaiming_statistics(mode, nonlinearity, a):
    shape = (96, 16, 5, 5)
    fan = 16 * 25 if mode == "fan_in" else 96 * 25
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    check_uniform(init.kaiming_uniform_(tg.empty(*shape), a, mode, nonlinearity,
                                        generator=gen()), -math.sqrt(3) * std, math.sqrt(3) * std)
    check_normal(init.kaiming_normal_(tg.empty(*shape), a, mode, nonlinearity, generator=gen()),
                 0.0, std)


def test_kaiming_on_zero_elements_warns_and_does_nothing():
    t = tg.empty(0, 3)
    for fn in (init.kaiming_uniform_, init.kaiming_normal_):
        with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
            assert fn(t) is t


def test_xavier_on_zero_elements_is_a_no_op():
    t = tg.empty(0, 0)
    assert init.xavier_uniform_(t) is t and init.xavier_normal_(t) is t


@pytest.mark.parametrize("shape", [(5, 5), (3, 7), (7, 3), (4, 2, 3, 3), (1, 6)])
def test_orthogonal(shape):
    q = init.orthogonal_(tg.empty(*shape, dtype=tg.float64), gain=2.0, generator=gen())
    m = q.numpy().reshape(shape[0], -1) / 2.0
    small = min(m.shape)
    gram = m @ m.T if m.shape[0] == small else m.T @ m
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)


def test_orthogonal_float32_and_haar_signs():
    q = init.orthogonal_(tg.empty(64, 32), generator=gen()).numpy().astype(np.float64)
    np.testing.assert_allclose(q.T @ q, np.eye(32), atol=1e-5)
    # Haar: the entries have mean 0. QR without the sign fix makes Q's first column point
    # against the first input column (LAPACK's R[0, 0] < 0), so q[0, 0] would always be <= 0.
    g = gen(3)
    first = [init.orthogonal_(tg.empty(3, 3, dtype=tg.float64), generator=g)[0, 0].item()
             for _ in range(400)]
    assert abs(np.mean(first)) < 0.1
    assert 0.35 < np.mean(np.array(first) > 0) < 0.65


def test_orthogonal_errors_and_empty():
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions"):
        init.orthogonal_(tg.empty(4))
    t = tg.empty(0, 3)
    assert init.orthogonal_(t) is t


def test_sparse():
    w = init.sparse_(tg.empty(200, 50), sparsity=0.25, std=0.5, generator=gen())
    v = w.numpy()
    np.testing.assert_array_equal((v == 0).sum(0), np.full(50, 50))   # ceil(0.25 * 200)
    nonzero = v[v != 0].astype(np.float64)
    assert abs(nonzero.mean()) < 5 * 0.5 / math.sqrt(nonzero.size)
    assert nonzero.std() == pytest.approx(0.5, rel=0.03)
    assert ((init.sparse_(tg.empty(7, 4), 0.1).numpy() == 0).sum(0) == 1).all()   # ceil(0.7)
    # the zeroed rows differ between columns (each column has its own permutation)
    assert len({tuple(np.flatnonzero(v[:, j] == 0)) for j in range(50)}) > 40
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.sparse_(tg.empty(2, 3, 4), 0.5)


# ---- errors ----------------------------------------------------------------------------------
def test_argument_errors():
    with pytest.raises(RuntimeError, match=r"a=2 > b=1"):
        init.uniform_(tg.empty(3), 2, 1)
    with pytest.raises(RuntimeError, match=r"std >= 0.0, but got std=-1"):
        init.normal_(tg.empty(3), 0, -1)
    with pytest.raises(RuntimeError, match=r"a=1 > b=0"):
        init.trunc_normal_(tg.empty(3), a=1, b=0)
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        init.trunc_normal_(tg.empty(3), std=-0.5)
    for fn in (init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
               init.kaiming_normal_):
        with pytest.raises(ValueError, match="fewer than 2 dimensions"):
            fn(tg.empty(5))
    with pytest.raises(ValueError, match=r"Mode bad not supported, please use one of "
                                         r"\['fan_in', 'fan_out'\]"):
        init.kaiming_uniform_(tg.empty(3, 4), mode="bad")
    with pytest.raises(ValueError, match="Unsupported nonlinearity softmax"):
        init.kaiming_normal_(tg.empty(3, 4), nonlinearity="softmax")


def test_random_fills_refuse_integer_tensors():
    for fn in (init.uniform_, init.normal_, init.trunc_normal_, init.xavier_uniform_,
               init.kaiming_uniform_, init.orthogonal_):
        with pytest.raises(TypeError, match=r"tapegrad.int64.*t.float\(\)"):
            fn(tg.empty(3, 3, dtype=tg.int64))
    with pytest.raises(TypeError, match="expected a Tensor, got ndarray"):
        init.zeros_(np.zeros(3))


def test_expanded_views_are_refused():
    t = tg.zeros(3).expand(2, 3)
    with pytest.raises(ValueError, match="expanded or read-only view"):
        init.normal_(t)


# ---- in-place semantics ----------------------------------------------------------------------
ALL_FILLS = [
    lambda t, g: init.uniform_(t, generator=g), lambda t, g: init.normal_(t, generator=g),
    lambda t, g: init.trunc_normal_(t, generator=g), lambda t, g: init.constant_(t, 0.3),
    lambda t, g: init.ones_(t), lambda t, g: init.zeros_(t), lambda t, g: init.eye_(t),
    lambda t, g: init.xavier_uniform_(t, generator=g),
    lambda t, g: init.xavier_normal_(t, generator=g),
    lambda t, g: init.kaiming_uniform_(t, generator=g),
    lambda t, g: init.kaiming_normal_(t, generator=g),
    lambda t, g: init.orthogonal_(t, generator=g), lambda t, g: init.sparse_(t, 0.5, generator=g)]


@pytest.mark.parametrize("fill", ALL_FILLS)
def test_fills_a_leaf_in_place_without_recording(fill):
    w = tg.zeros(4, 6, requires_grad=True)
    storage, version = w._data, w._version
    with tg.enable_grad():
        assert fill(w, gen()) is w
    assert w._data is storage and w._version == version + 1
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    (w * 2).sum().backward()          # still an ordinary leaf
    np.testing.assert_array_equal(w.grad.numpy(), np.full((4, 6), 2.0))


def test_version_bump_invalidates_saved_values():
    w = tg.ones(3, requires_grad=True)
    x = tg.ones(3)
    y = (x * x).sum() + (w * 1).sum()
    y2 = (x * w).sum()            # saves x for w's gradient
    init.normal_(x)
    y.backward()
    with pytest.raises(RuntimeError):
        y2.backward()


def test_writes_through_views_reach_the_base():
    w = tg.zeros(3, 4)
    init.ones_(w[1])
    init.eye_(w[:, :2][:2])
    np.testing.assert_array_equal(w.numpy(), [[1, 0, 0, 0], [0, 1, 1, 1], [0, 0, 0, 0]])


@pytest.mark.parametrize("fill", ALL_FILLS)
def test_generator_reproducibility(fill):
    a = fill(tg.empty(6, 5), gen(7))
    b = fill(tg.empty(6, 5), gen(7))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_default_generator_follows_manual_seed():
    draws = []
    for _ in range(2):
        tg.manual_seed(123)
        t = tg.empty(4, 4)
        init.kaiming_uniform_(t)
        init.sparse_(tg.empty(4, 4), 0.5)
        draws.append(init.orthogonal_(tg.empty(4, 4)).numpy() + t.numpy())
    np.testing.assert_array_equal(draws[0], draws[1])
    assert not np.array_equal(init.normal_(tg.empty(8), generator=gen(1)).numpy(),
                              init.normal_(tg.empty(8), generator=gen(2)).numpy())


def test_no_warnings_in_the_ordinary_case():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        init.trunc_normal_(tg.empty(5, 5))
        init.kaiming_uniform_(tg.empty(5, 5))


# ---- PyTorch parity (deterministic parts, and the documented constants) --------------------
def test_gain_and_fans_match_torch():
    torch = pytest.importorskip("torch")
    for name in ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                 "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]:
        for param in (None, 0.2, 3):
            assert init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)
    for shape in [(3, 5), (8, 3, 5), (8, 3, 5, 5), (4, 2, 3, 3, 3)]:
        assert init._calculate_fan_in_and_fan_out(tg.empty(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


@pytest.mark.parametrize("shape, groups", [((4, 4, 3), 1), ((6, 2, 3, 4), 3), ((2, 3, 3, 3, 3), 2),
                                           ((4, 2, 5), 1)])
def test_dirac_and_eye_match_torch(shape, groups):
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(init.dirac_(tg.empty(*shape), groups).numpy(),
                                  torch.nn.init.dirac_(torch.empty(*shape), groups).numpy())
    np.testing.assert_array_equal(init.eye_(tg.empty(*shape[:2])).numpy(),
                                  torch.nn.init.eye_(torch.empty(*shape[:2])).numpy())
