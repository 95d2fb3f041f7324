"""tapegrad.nn.functional's activations by hand: golden values and gradients (kinks included;
the expected numbers are PyTorch 2.13's), numerics at magnitude 1e4, float16, in-place forms,
random slopes and noise, and every bad-argument path."""
import warnings

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad import ArgumentError, DTypeError, GradError, IndexRangeError, ShapeError


def grad_of(fn, values, dtype=tg.float64, weights=None):
    """(value, gradient) of fn at ``values``: the gradient of sum(weights * fn(x))."""
    x = tg.tensor(values, dtype=dtype, requires_grad=True)
    y = fn(x)
    (y if weights is None else y * tg.tensor(weights, dtype=dtype)).sum().backward()
    return y.detach().numpy(), x.grad.numpy()


def close(a, b, **kw):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), b, **kw)


# ---- kinks and golden values (PyTorch's numbers) ----------------------------------------------
KINKS = [   # (function, input, value, gradient of the sum)
    (F.relu, [0.0], [0.0], [0.0]),
    (F.relu6, [0.0, 6.0], [0.0, 6.0], [0.0, 0.0]),
    (F.hardtanh, [-1.0, 1.0], [-1.0, 1.0], [0.0, 0.0]),
    (lambda x: F.hardtanh(x, -2.0, 3.0), [-2.0, 3.0], [-2.0, 3.0], [0.0, 0.0]),
    (F.leaky_relu, [0.0], [0.0], [0.01]),
    (F.elu, [0.0], [0.0], [1.0]),
    (lambda x: F.celu(x, 2.0), [0.0], [0.0], [1.0]),
    (F.selu, [0.0], [0.0], [1.7580993408473766]),
    (lambda x: F.threshold(x, 1.0, -3.0), [1.0, 0.5], [-3.0, -3.0], [0.0, 0.0]),
    (F.hardshrink, [-0.5, 0.5, 1.0, -1.0], [0.0, 0.0, 1.0, -1.0], [0.0, 0.0, 1.0, 1.0]),
    (F.softshrink, [-0.5, 0.5, 1.0, -1.0], [0.0, 0.0, 0.5, -0.5], [0.0, 0.0, 1.0, 1.0]),
    (F.hardsigmoid, [-3.0, 3.0, 0.0], [0.0, 1.0, 0.5], [0.0, 0.0, 1 / 6]),
    (F.hardswish, [-3.0, 3.0, 0.0], [0.0, 3.0, 0.0], [0.0, 1.0, 0.5]),
    (F.softsign, [0.0], [0.0], [1.0]),
    (F.tanhshrink, [0.0], [0.0], [0.0]),
    (F.rrelu, [0.0, -1.0], [0.0, -0.22916666666666666], [0.22916666666666666] * 2),
    (lambda x: F.softplus(x, 2.0, 1.0), [0.5, 1.0], [0.65663081407547, 1.0],
     [0.7310585975646973, 1.0]),
    (F.gelu, [0.0, -1.0, 1.0], [0.0, -0.15865525603294373, 0.8413447141647339],
     [0.5, -0.08331543207168579, 1.083315372467041]),
    (lambda x: F.gelu(x, approximate="tanh"), [0.0, -1.0, 1.0],
     [0.0, -0.15880799293518066, 0.8411920070648193],
     [0.5, -0.08296409249305725, 1.0829640626907349]),
    (F.silu, [0.0, -1.0], [0.0, -0.2689414322376251], [0.5, 0.07232948392629623]),
    (F.mish, [0.0, -1.0, 1.0], [0.0, -0.3034014403820038, 0.8650983572006226],
     [0.6, 0.059216730296611786, 1.0490362644195557]),
    (lambda x: F.elu(x, 0.5), [-2.0, 0.0, 1.0], [-0.4323323667049408, 0.0, 1.0],
     [0.0676676407456398, 0.5, 1.0]),
    (lambda x: F.celu(x, 2.0), [-2.0, 1.0], [-1.264241099357605, 1.0],
     [0.3678794503211975, 1.0]),
    (F.selu, [-2.0, 1.0], [-1.5201665163040161, 1.0507010221481323],
     [0.23793286085128784, 1.0507010221481323]),
]


@pytest.mark.parametrize("fn, x, value, grad", KINKS, ids=lambda v: getattr(v, "__name__", None))
def test_values_and_gradients_at_kinks_follow_pytorch(fn, x, value, grad):
    y, g = grad_of(fn, x)
    close(y, value, rtol=1e-6, atol=1e-7)
    close(g, grad, rtol=1e-6, atol=1e-7)


def test_prelu_golden_and_weight_gradient():
    x = tg.tensor([0.0, -2.0, 3.0], requires_grad=True)
    w = tg.tensor([0.25], requires_grad=True)
    y = F.prelu(x, w)
    y.sum().backward()
    close(y.detach().numpy(), [0.0, -0.5, 3.0])
    close(x.grad.numpy(), [0.25, 0.25, 1.0])      # the slope at 0, as PyTorch
    close(w.grad.numpy(), [-2.0])


def test_glu_softmax_normalize_cosine_golden():
    y, g = grad_of(F.glu, [[1.0, 2.0], [3.0, 4.0]])
    close(y, [[0.8807970285415649], [2.9460413455963135]], rtol=1e-7)
    close(g, [[0.8807970285415649, 0.10499362647533417], [0.9820137619972229, 0.052988201379776]],
          rtol=2e-6)    # PyTorch's float32 figures
    y, g = grad_of(lambda x: F.softmax(x, 0), [1.0, 2.0, 3.0], weights=[1.0, 0.0, 0.0])
    close(y, [0.09003057330846786, 0.2447284758090973, 0.6652409434318542], rtol=1e-7)
    close(g, [0.08192507177591324, -0.022033045068383217, -0.05989202484488487], rtol=1e-6)
    y, g = grad_of(F.normalize, [[3.0, 4.0]], weights=[[1.0, 0.0]])
    close(y, [[0.6, 0.8]])
    close(g, [[0.128, -0.096]], rtol=1e-6)
    y, g = grad_of(lambda x: F.cosine_similarity(x, tg.tensor([[1.0, 1.0]], dtype=tg.float64)),
                   [[1.0, 0.0]])
    close(y, [0.7071067811865475])
    close(g, [[0.0, 0.7071067811865475]], atol=1e-12)
    d = F.pairwise_distance(tg.tensor([[3.0, 4.0]]), tg.tensor([[0.0, 0.0]]))
    close(d.numpy(), [5.000001430511475], rtol=1e-6)


def test_log_softmax_gradient_rule():
    y, g = grad_of(lambda x: F.log_softmax(x, 1), [[1e4, -1e4, 0.0]], tg.float32,
                   weights=[[1.0, 2.0, 3.0]])
    close(y, [[0.0, -20000.0, -10000.0]])
    close(g, [[-5.0, 2.0, 3.0]])               # g - softmax * sum(g)


# ---- numerics: magnitudes up to 1e4 ----------------------------------------------------------
BIG = [-1e4, -1.0, 0.0, 1.0, 1e4]
STABLE = {   # function: (values, gradients) at BIG (PyTorch's)
    "softplus": (F.softplus, [0.0, 0.3132616877555847, 0.6931471824645996, 1.31326162815094,
                              1e4], [0.0, 0.2689414322376251, 0.5, 0.7310585975646973, 1.0]),
    "logsigmoid": (F.logsigmoid, [-1e4, -1.3132617473602295, -0.6931471824645996,
                                  -0.3132616877555847, 0.0],
                   [1.0, 0.7310585975646973, 0.5, 0.2689414322376251, 0.0]),
    "gelu": (F.gelu, [0.0, -0.15865525603294373, 0.0, 0.8413447141647339, 1e4],
             [0.0, -0.08331543207168579, 0.5, 1.083315372467041, 1.0]),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  [0.0, -0.15880799293518066, 0.0, 0.8411920070648193, 1e4],
                  [0.0, -0.08296409249305725, 0.5, 1.0829640626907349, 1.0]),
    "silu": (F.silu, [0.0, -0.2689414322376251, 0.0, 0.7310585975646973, 1e4],
             [0.0, 0.07232948392629623, 0.5, 0.9276705384254456, 1.0]),
    "mish": (F.mish, [0.0, -0.3034014403820038, 0.0, 0.8650983572006226, 1e4],
             [0.0, 0.059216730296611786, 0.6, 1.0490362644195557, 1.0]),
    "elu": (F.elu, [-1.0, -0.6321205496788025, 0.0, 1.0, 1e4],
            [0.0, 0.3678794503211975, 1.0, 1.0, 1.0]),
}


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64], ids=str)
@pytest.mark.parametrize("name", sorted(STABLE))
def test_smooth_activations_finite_at_1e4(name, dtype):
    fn, value, grad = STABLE[name]
    with warnings.catch_warnings():
        # No overflow on the way, either; NOTE: but silu's tg.sigmoid (ops/elementwise.py)
        # takes e**-x, which overflows to inf (harmlessly: 1 / inf = 0) with a RuntimeWarning.
        warnings.simplefilter("ignore" if name == "silu" else "error")
        y, g = grad_of(fn, BIG, dtype)
    assert np.isfinite(y).all() and np.isfinite(g).all()
    close(y, value, rtol=1e-6, atol=1e-7)
    close(g, grad, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64], ids=str)
def test_softmax_family_finite_at_1e4(dtype):
    x = [[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]]
    for fn in (lambda x: F.log_softmax(x, 1), lambda x: F.softmax(x, 1),
               lambda x: F.softmin(x, 1), lambda x: tg.log_softmax(x, 0)):
        y, g = grad_of(fn, x, dtype, weights=[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        assert np.isfinite(y).all() and np.isfinite(g).all()
    y, _ = grad_of(lambda x: F.log_softmax(x, 1), x, dtype)
    close(y[1], [-np.log(3)] * 3, rtol=1e-6)
    # second order too
    t = tg.tensor(x, dtype=dtype, requires_grad=True)
    (gx,) = tg.autograd.grad(F.log_softmax(t, 1)[:, 0].sum(), t, create_graph=True)
    (gg,) = tg.autograd.grad((gx * gx).sum(), t)
    assert np.isfinite(gg.numpy()).all()


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64], ids=str)
def test_normalize_zero_vector_finite(dtype):
    y, g = grad_of(F.normalize, np.zeros((2, 3)), dtype)
    close(y, np.zeros((2, 3)))
    close(g, np.full((2, 3), 1e12), rtol=1e-6)  # 1 / eps, as PyTorch
    y, g = grad_of(F.normalize, [[1e4, -1e4, 0.0]], dtype)
    assert np.isfinite(y).all() and np.isfinite(g).all()
    y, g = grad_of(lambda x: F.cosine_similarity(x, tg.ones(3, dtype=dtype), dim=0),
                   np.zeros(3), dtype)
    close(y, 0.0)
    close(g, np.full(3, 1 / (1e-8 * np.sqrt(3))), rtol=1e-6)


def test_second_derivatives_finite_at_1e4():
    for fn in (F.softplus, F.logsigmoid, F.gelu, F.silu, F.mish, F.elu, F.selu):
        x = tg.tensor(BIG, dtype=tg.float64, requires_grad=True)
        with np.errstate(over="ignore"):     # silu's tg.sigmoid (see above)
            (g,) = tg.autograd.grad(fn(x).sum(), x, create_graph=True)
            (gg,) = tg.autograd.grad(g.sum(), x)
        assert np.isfinite(gg.numpy()).all(), fn.__name__


# ---- float16 ------------------------------------------------------------------------------------
def test_float16_computes_and_stays_float16():
    x = tg.tensor([[10.0, 0.0, -10.0], [1.0, 2.0, 3.0]], dtype=tg.float16, requires_grad=True)
    for fn in (lambda x: F.softmax(x, 1), lambda x: F.log_softmax(x, 1), F.gelu, F.silu,
               F.softplus, F.mish, F.elu, F.logsigmoid, F.relu, F.hardtanh, F.leaky_relu,
               lambda x: F.normalize(x, dim=1), F.hardswish, F.softsign):
        y = fn(x)
        assert y.dtype == tg.float16
        y.sum().backward()
        assert x.grad.dtype == tg.float16 and np.isfinite(x.grad.numpy()).all()
        x.grad = None
    close(F.softmax(x, 1).detach().numpy()[0], [1.0, 4.5418739318847656e-05, 0.0], atol=1e-7)


def test_softmax_float16_accumulates_in_float32():
    x = tg.tensor(np.full(4096, 1.0, dtype=np.float16))
    y = F.softmax(x, 0)
    assert y.dtype == tg.float16
    close(y.numpy().astype(np.float64).sum(), 1.0, rtol=1e-2)
    close(F.log_softmax(x, 0).numpy(), np.full(4096, -np.log(4096)), rtol=1e-3)


# ---- softmax: dims, dtypes, 0-d and empty -------------------------------------------------------
def test_softmax_of_0d_and_empty():
    s = tg.tensor(3.0, requires_grad=True)
    assert F.softmax(s, 0).item() == 1.0 and F.log_softmax(s, -1).item() == 0.0
    F.softmax(s, 0).backward()
    assert s.grad.item() == 0.0
    for dim in (0, 1):
        e = tg.zeros(0, 3, requires_grad=True)
        assert F.softmax(e, dim).shape == (0, 3) and F.log_softmax(e, dim).shape == (0, 3)
    assert F.softmax(tg.zeros(3, 0), 1).shape == (3, 0)


def test_softmax_dtype_argument_and_methods():
    x = tg.tensor([[1, 2], [3, 4]])
    y = F.softmax(x, 1, dtype=tg.float64)
    assert y.dtype == tg.float64
    close(y.numpy()[0], [0.2689414213699951, 0.7310585786300049])
    assert tg.softmax(x.float(), 0, tg.float64).dtype == tg.float64
    assert x.float().softmax(dim=0, dtype=tg.float64).dtype == tg.float64
    close(x.float().log_softmax(1).numpy(), F.log_softmax(x.float(), 1).numpy())
    z = tg.randn(2, 3)
    close(F.softmin(z, 1).numpy(), F.softmax(-z, 1).numpy())


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax, F.softmin], ids=lambda f: f.__name__)
def test_implicit_dim_warns_and_follows_pytorch(fn):
    for shape, dim in [((), 0), ((4,), 0), ((2, 3), 1), ((2, 3, 4), 0), ((2, 3, 4, 5), 1)]:
        x = tg.randn(*shape)
        with pytest.warns(UserWarning, match=f"Implicit dimension choice for {fn.__name__}"):
            y = fn(x)
        close(y.numpy(), fn(x, dim).numpy())


def test_softmax_errors():
    with pytest.raises(DTypeError, match="softmax: not implemented for dtype int64"):
        F.softmax(tg.tensor([1, 2]), 0)
    with pytest.raises(DTypeError, match="dtype must be a floating dtype"):
        F.softmax(tg.randn(2), 0, dtype=tg.int64)
    with pytest.raises(IndexRangeError, match=r"range of \[-2, 1\], but got 2"):
        F.log_softmax(tg.randn(2, 3), 2)
    with pytest.raises(IndexRangeError, match=r"range of \[-1, 0\], but got 1"):
        tg.softmax(tg.tensor(1.0), 1)
    with pytest.raises(TypeError, match="dim must be an int"):
        F.softmax(tg.randn(2, 3), (0, 1))
    with pytest.raises(TypeError, match="dim must be an int"):
        F.softmin(tg.randn(2, 3), 1.5)
    with pytest.raises(TypeError, match="input must be a Tensor"):
        F.softmax([1.0, 2.0], 0)


# ---- in place -----------------------------------------------------------------------------------
INPLACE = [
    (F.relu_, lambda x: F.relu(x)), (lambda x: F.relu(x, inplace=True), F.relu),
    (F.leaky_relu_, F.leaky_relu), (F.elu_, F.elu), (lambda x: F.selu(x, True), F.selu),
    (lambda x: F.celu(x, 2.0, True), lambda x: F.celu(x, 2.0)),
    (lambda x: F.silu(x, True), F.silu), (lambda x: F.mish(x, True), F.mish),
    (F.hardtanh_, F.hardtanh), (lambda x: F.relu6(x, True), F.relu6),
    (lambda x: F.hardsigmoid(x, True), F.hardsigmoid),
    (lambda x: F.hardswish(x, True), F.hardswish),
    (lambda x: F.threshold_(x, 0.1, 2.0), lambda x: F.threshold(x, 0.1, 2.0)),
    (F.rrelu_, F.rrelu), (lambda x: F.rrelu(x, 0.2, 0.3, inplace=True),
                          lambda x: F.rrelu(x, 0.2, 0.3)),
]


@pytest.mark.parametrize("inplace, outofplace", INPLACE, ids=range(len(INPLACE)))
def test_inplace_matches_out_of_place_with_gradients(inplace, outofplace):
    a = np.array([-4.0, -0.7, 0.3, 1.5, 4.0])
    x1 = tg.tensor(a, requires_grad=True)
    h = x1 * 2
    out = inplace(h)
    assert out is h and h._version > 0
    (h * tg.tensor(np.arange(5.0))).sum().backward()
    x2 = tg.tensor(a, requires_grad=True)
    (outofplace(x2 * 2) * tg.tensor(np.arange(5.0))).sum().backward()
    close(h.detach().numpy(), outofplace(tg.tensor(a * 2)).numpy())
    close(x1.grad.numpy(), x2.grad.numpy())
    # without autograd: written into the tensor itself
    t = tg.tensor(a * 2)
    assert inplace(t) is t
    close(t.numpy(), outofplace(tg.tensor(a * 2)).numpy())


def test_inplace_on_a_leaf_that_requires_grad_is_refused():
    for fn in (F.relu_, F.elu_, F.hardtanh_, lambda x: F.silu(x, inplace=True)):
        with pytest.raises(GradError, match="leaf"):
            fn(tg.randn(3, requires_grad=True))


def test_inplace_keeps_integer_and_refuses_float_results():
    x = tg.tensor([-2, 0, 3, 9])
    F.relu6(x, inplace=True)
    assert x.dtype == tg.int64 and x.tolist() == [0, 0, 3, 6]
    F.threshold_(x, 2, -1)
    assert x.tolist() == [-1, -1, 3, 6]
    with pytest.raises(DTypeError, match="elu"):
        F.elu_(tg.tensor([1, 2]))


def test_out_of_place_forms_do_not_mutate():
    a = tg.tensor([-1.0, 2.0])
    for fn in (F.relu, F.elu, F.hardtanh, F.leaky_relu, F.rrelu, lambda x: F.threshold(x, 0, 5)):
        fn(a)
    assert a.tolist() == [-1.0, 2.0] and a._version == 0


# ---- integer inputs -----------------------------------------------------------------------------
def test_integer_inputs_as_pytorch():
    x = tg.tensor([1, -2, 7])
    assert F.relu(x).tolist() == [1, 0, 7] and F.relu(x).dtype == tg.int64
    assert F.relu6(x).tolist() == [1, 0, 6] and F.relu6(x).dtype == tg.int64
    assert F.hardtanh(x).tolist() == [1, -1, 1]
    assert F.threshold(x, 0.5, 5.5).tolist() == [1, 5, 7]
    assert F.softsign(x).dtype == tg.float32 and F.tanhshrink(x).dtype == tg.float32
    assert F.sigmoid(x).dtype == tg.float32 and F.tanh(x).dtype == tg.float32
    for fn in (F.leaky_relu, F.elu, F.selu, F.celu, F.gelu, F.silu, F.mish, F.softplus,
               F.logsigmoid, F.hardshrink, F.softshrink, F.hardsigmoid, F.hardswish, F.rrelu,
               F.glu, lambda x: F.normalize(x, dim=0), lambda x: F.prelu(x, tg.tensor([1.0]))):
        with pytest.raises(DTypeError, match="dtype int64"):
            fn(x)
    for fn in (F.cosine_similarity, F.pairwise_distance):
        with pytest.raises(DTypeError, match="x1 has dtype int64"):
            fn(x, x.float())


# ---- random: rrelu and gumbel_softmax -----------------------------------------------------------
def test_rrelu_training_draws_reproducible_slopes_in_range():
    x = -tg.ones(1000, dtype=tg.float64)
    tg.manual_seed(0)
    a = F.rrelu(x, 0.1, 0.3, training=True)
    tg.manual_seed(0)
    b = F.rrelu(x, 0.1, 0.3, training=True)
    c = F.rrelu(x, 0.1, 0.3, training=True)
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist()
    slopes = -a.numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and 0.18 < slopes.mean() < 0.22
    pos = tg.tensor([1.0, 2.0])
    assert F.rrelu(pos, training=True).tolist() == [1.0, 2.0]
    y = tg.tensor([-1.0, 2.0], requires_grad=True)
    tg.manual_seed(1)
    out = F.rrelu(y, training=True)
    out.sum().backward()
    close(y.grad.numpy(), [-out.detach().numpy()[0], 1.0])   # the drawn slope, and 1
    close(F.rrelu(tg.tensor([-3.0]), 0.1, 0.3).numpy(), [-0.6])  # eval: (lower + upper) / 2


def test_gumbel_softmax_soft_hard_and_straight_through():
    logits = tg.tensor([[0.0, 1.0, 2.0], [3.0, 0.0, -1.0]], requires_grad=True)
    tg.manual_seed(0)
    soft = F.gumbel_softmax(logits, tau=0.5)
    tg.manual_seed(0)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    close(soft.detach().numpy().sum(1), [1.0, 1.0], rtol=1e-6)
    h = hard.detach().numpy()
    assert set(np.unique(h)) <= {0.0, 1.0} and h.sum(1).tolist() == [1.0, 1.0]
    assert (h.argmax(1) == soft.detach().numpy().argmax(1)).all()
    w = tg.tensor([[1.0, -2.0, 0.5], [0.3, 0.0, 2.0]])
    (hard * w).sum().backward()
    g_hard = logits.grad.numpy().copy()
    logits.grad = None
    (soft * w).sum().backward()
    close(g_hard, logits.grad.numpy(), rtol=1e-6)          # straight-through: soft's gradient
    tg.manual_seed(0)
    assert F.gumbel_softmax(logits, dim=0).shape == (2, 3)
    assert F.gumbel_softmax(tg.tensor(1.0)).item() == 1.0
    # the noise makes samples follow softmax(logits): frequencies of argmax
    tg.manual_seed(2)
    many = F.gumbel_softmax(tg.log(tg.tensor([[0.2, 0.3, 0.5]])).expand(4000, 3), hard=True)
    close(many.numpy().mean(0), [0.2, 0.3, 0.5], atol=0.03)


# ---- argument errors ----------------------------------------------------------------------------
def test_prelu_errors():
    with pytest.raises(ShapeError, match=r"weight has 2 elements but input of shape \(2, 3\) has "
                                         r"3 channel"):
        F.prelu(tg.randn(2, 3), tg.randn(2))
    with pytest.raises(ShapeError, match="weight has 3 elements .* 1 channel"):
        F.prelu(tg.randn(3), tg.randn(3))
    with pytest.raises(ShapeError, match=r"scalar or 1-d tensor, but got shape \(1, 3\)"):
        F.prelu(tg.randn(2, 3), tg.randn(1, 3))
    with pytest.raises(TypeError, match="weight must be a Tensor"):
        F.prelu(tg.randn(2, 3), 0.25)
    assert F.prelu(tg.tensor(-2.0), tg.tensor(0.5)).item() == -1.0
    assert F.prelu(tg.zeros(0, 3), tg.ones(3)).shape == (0, 3)


def test_glu_errors_name_the_size():
    with pytest.raises(ShapeError, match="dimension 1 is size 3"):
        F.glu(tg.randn(2, 3))
    with pytest.raises(ShapeError, match="0-d"):
        F.glu(tg.tensor(1.0))
    with pytest.raises(IndexRangeError, match="glu: dimension out of range"):
        F.glu(tg.randn(2, 4), 2)


def test_argument_errors():
    with pytest.raises(ArgumentError, match=r"hardtanh: min_val \(1.0\) cannot be greater"):
        F.hardtanh(tg.randn(3), 1.0, -1.0)
    with pytest.raises(ArgumentError, match="softshrink: lambd must be at least 0, got -1"):
        F.softshrink(tg.randn(3), -1.0)
    with pytest.raises(ArgumentError, match="celu: alpha cannot be 0"):
        F.celu(tg.randn(3), 0.0)
    with pytest.raises(ArgumentError, match=r"rrelu: lower \(0.3\) should be less"):
        F.rrelu(tg.randn(3), 0.3, 0.1, True)
    with pytest.raises(ArgumentError, match="gelu: approximate must be either 'none' or 'tanh'"):
        F.gelu(tg.randn(3), approximate="foo")
    with pytest.raises(TypeError, match="relu: input must be a Tensor"):
        F.relu(np.ones(3))
    assert F.hardtanh(tg.tensor([3.0, -3.0]), 1.0, 1.0).tolist() == [1.0, 1.0]
    close(F.hardshrink(tg.tensor([-0.2, 0.3]), -1.0).numpy(), [-0.2, 0.3], rtol=1e-7)


def test_distance_errors_and_broadcasting():
    with pytest.raises(ShapeError, match=r"cosine_similarity: x1 of shape \(2, 3\) and x2 of "
                                         r"shape \(4, 3\) can't be broadcast"):
        F.cosine_similarity(tg.randn(2, 3), tg.randn(4, 3))
    with pytest.raises(ShapeError, match="pairwise_distance"):
        F.pairwise_distance(tg.randn(2, 3), tg.randn(4, 3))
    with pytest.raises(IndexRangeError, match="cosine_similarity: dimension out of range"):
        F.cosine_similarity(tg.randn(3), tg.randn(3))          # dim=1 of a 1-d broadcast
    assert F.cosine_similarity(tg.randn(2, 1, 3), tg.randn(4, 3), dim=-1).shape == (2, 4)
    assert F.pairwise_distance(tg.randn(2, 1, 3), tg.randn(4, 3)).shape == (2, 4)
    assert F.pairwise_distance(tg.randn(3), tg.randn(3), keepdim=True).shape == (1,)
    assert F.pairwise_distance(tg.tensor(1.0), tg.tensor(2.0), keepdim=True).shape == ()
    close(F.cosine_similarity(tg.tensor(1.0), tg.tensor(2.0), dim=0).item(), 1.0)
    assert F.cosine_similarity(tg.randn(2, 3, dtype=tg.float64), tg.randn(2, 3)).dtype == \
        tg.float64
    with pytest.raises(DTypeError, match="normalize: not implemented for dtype int64"):
        F.normalize(tg.tensor([1, 2]), dim=0)
    with pytest.raises(IndexRangeError):
        F.normalize(tg.randn(3))                                 # dim=1 of a 1-d tensor


def test_normalize_out_and_orders():
    x = tg.tensor([[3.0, -4.0], [1.0, 0.0]])
    out = tg.zeros(2, 2)
    assert F.normalize(x, out=out) is out
    close(out.numpy(), [[0.6, -0.8], [1.0, 0.0]])
    close(F.normalize(x, p=1.0).numpy(), [[3 / 7, -4 / 7], [1.0, 0.0]], rtol=1e-6)
    close(F.normalize(x, p=float("inf")).numpy(), [[0.75, -1.0], [1.0, 0.0]])
    close(F.normalize(tg.tensor(3.0), dim=0).item(), 1.0)


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64], ids=str)
def test_tiny_gradients_keep_their_relative_accuracy(dtype):
    tiny = np.exp(-30.0)                       # no cancellation: e**x itself, not 1 - (1 - e**x)
    for fn, x in [(F.elu, -30.0), (F.softplus, -30.0), (F.logsigmoid, 30.0),
                  (lambda x: F.celu(x, 2.0), -60.0)]:
        _, g = grad_of(fn, [x], dtype)
        close(g, [tiny], rtol=1e-5 if dtype == tg.float32 else 1e-12)


def test_bool_inputs_refused_as_pytorch():
    # found by differential testing: PyTorch refuses bool here (tapegrad returned a result)
    b = tg.tensor([True, False])
    for fn in [F.relu, F.relu_, F.relu6, F.hardtanh, F.hardtanh_, F.softsign, F.tanhshrink,
               lambda x: F.threshold(x, 0.5, 1.0), lambda x: F.threshold_(x, 0.5, 1.0)]:
        with pytest.raises(DTypeError, match="bool inputs are not supported"):
            fn(b)
    assert F.relu(tg.tensor([-1, 2])).tolist() == [0, 2]          # integers stay allowed


def test_normalize_dim_error_names_normalize():
    with pytest.raises(IndexRangeError, match=r"normalize: dimension out of range.*got 2"):
        F.normalize(tg.ones(3, 4), dim=2)
    with pytest.raises(IndexError):
        F.normalize(tg.ones(3, 4), dim=(0, 5))
    assert F.normalize(tg.tensor(2.0), dim=0).item() == 1.0        # 0-d: dim 0 or -1
