"""Regressions of the pointwise families (elementary, special, rounding) found by a
differential test against PyTorch 2.13: logit's gradient outside [0, 1], sinc's second
derivative at 0, lgamma(-inf), in-place forms on integer tensors, float16 results, negation
of bool tensors, and the advice in the rounding functions' dtype errors.

Where PyTorch is right we compare with it (when torch is installed); where it is not (sinc's
second derivative at 0, nan in PyTorch) we compare with the true value, and say so."""
import math

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ops import elementary, rounding, special

NAN, INF = math.nan, math.inf
FAMILIES = (elementary, special, rounding)
CLASSIFY = ("signbit", "isneginf", "isposinf", "isreal")      # bool results, never recorded


def derivatives(fn, values, order, dtype=tg.float64, **kwargs):
    """[fn(x), d/dx, d2/dx2, ...] up to ``order`` as arrays (each summed before the next)."""
    x = tg.tensor(values, dtype=dtype, requires_grad=True)
    outs = [fn(x, **kwargs)]
    for k in range(order):
        (d,) = tg.autograd.grad(outs[-1].sum(), x, create_graph=k + 1 < order)
        outs.append(d)
    return [o.detach().numpy() for o in outs]


def call(lib, name, x):
    return lib.polygamma(1, x) if name == "polygamma" else getattr(lib, name)(x)


# ---- 1. logit without eps: the gradient is nan where the value is ---------------------------
def test_logit_gradient_is_nan_outside_unit_interval():
    """PyTorch's convention: without eps, the gradient is nan outside [0, 1] (1 / (x (1 - x))
    alone gave -1.33 at 1.5 and -0.5); its own derivative there is 0, as PyTorch's."""
    xs = [1.5, -0.5, 0.5, 0.25, NAN]
    with np.errstate(invalid="ignore"):
        y, g, h = derivatives(tg.logit, xs, 2)
        # negative eps acts as None: also nan here (PyTorch's is finite there, -1.33, while
        # its value is nan; we keep one convention for "no clamp")
        y2, g2 = derivatives(tg.logit, xs, 1, eps=-1.0)
    assert np.all(np.isnan(y[[0, 1, 4]])) and np.all(np.isnan(g[[0, 1, 4]]))
    np.testing.assert_array_equal(h[[0, 1, 4]], [0.0, 0.0, NAN])
    np.testing.assert_allclose(g[2:4], [4.0, 1 / 0.1875], rtol=1e-15)
    np.testing.assert_allclose(h[2:4], [0.0, -(1 - 2 * 0.25) / 0.1875 ** 2], atol=1e-12)
    np.testing.assert_array_equal(g2, g)
    np.testing.assert_array_equal(y2, y)


def test_logit_eps_clamp_rules_unchanged():
    """With eps the gradient is 0 outside [eps, 1 - eps] (bounds included), also for eps = 0
    beyond [0, 1], and so is its derivative there (as PyTorch: no 0 * inf). At nan it is nan
    (as PyTorch's first derivative; its double-backward formula gives 0 there)."""
    xs = [1.5, -0.5, 0.05, 0.1, 0.5, 0.9, 1.0]
    y, g, h = derivatives(tg.logit, xs, 2, eps=0.1)
    lo, hi = math.log(0.1 / 0.9), math.log(0.9 / 0.1)
    np.testing.assert_allclose(y, [hi, lo, lo, lo, 0.0, hi, hi], atol=1e-12)
    np.testing.assert_allclose(g, [0, 0, 0, 1 / 0.09, 4, 1 / 0.09, 0], rtol=1e-12)
    np.testing.assert_allclose(h, [0, 0, 0, -0.8 / 0.09 ** 2, 0, 0.8 / 0.09 ** 2, 0],
                               rtol=1e-12, atol=1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        y, g, h = derivatives(tg.logit, [1.5, -0.5, 0.5], 2, eps=0.0)
    np.testing.assert_array_equal(y, [INF, -INF, 0.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, 4.0])
    np.testing.assert_array_equal(h, [0.0, 0.0, 0.0])
    with np.errstate(invalid="ignore"):
        y, g = derivatives(tg.logit, [NAN], 1, eps=0.2)
    assert np.isnan(y[0]) and np.isnan(g[0])


@pytest.mark.parametrize("eps", [None, 0.2, 0.0])
def test_logit_values_and_gradients_match_pytorch(eps):
    torch = pytest.importorskip("torch")
    xs = [1.5, -0.5, 0.0, 0.1, 0.5, 1.0, NAN]

    def run(lib):
        x = lib.tensor(xs, dtype=lib.float64, requires_grad=True)
        y = lib.logit(x, eps)
        (g,) = lib.autograd.grad(y.sum(), x)
        return y.detach().numpy(), g.numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ours = run(tg)
    for a, b in zip(ours, run(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-14)


# ---- 2. sinc: derivatives at and near 0 -----------------------------------------------------
def _sinc_d1(x):
    """sinc'(x) to full float64 accuracy: its Taylor series near 0, else the quotient."""
    if abs(x) < 0.5:
        return math.fsum((-1) ** k * 2 * k * math.pi ** (2 * k) * x ** (2 * k - 1)
                         / math.factorial(2 * k + 1) for k in range(1, 20))
    return (math.cos(math.pi * x) - math.sin(math.pi * x) / (math.pi * x)) / x


def test_sinc_derivatives_at_zero_are_the_true_values():
    """sinc = 1 - (pi x)^2 / 6 + (pi x)^4 / 120 - ...: at 0 the derivatives are 0,
    -pi^2 / 3, 0 and pi^4 / 5. PyTorch's second derivative there is nan (0/0 in its rule); an
    earlier rule gave 0 (a constant branch at 0). Both zeros of either sign."""
    for dtype, rtol in ((tg.float32, 1e-6), (tg.float64, 1e-14)):
        y, d1, d2, d3, d4 = derivatives(tg.sinc, [0.0, -0.0], 4, dtype)
        np.testing.assert_array_equal(y, [1.0, 1.0])
        np.testing.assert_array_equal(d1, [0.0, 0.0])
        assert not np.signbit(d1).any()              # +0, as PyTorch
        np.testing.assert_allclose(d2, [-math.pi ** 2 / 3] * 2, rtol=rtol)
        np.testing.assert_array_equal(d3, [0.0, 0.0])
        np.testing.assert_allclose(d4, [math.pi ** 4 / 5] * 2, rtol=rtol)


XS_NEAR_ZERO = [0.0, 1e-9, -1e-6, 1e-3, -0.05, 0.2, -0.249, 0.25, 0.251, -0.3, 0.7, 1.5]


def test_sinc_derivatives_near_zero_match_finite_differences():
    """In float64, around 0 and across |x| = 0.25 (where the rule leaves its series): the
    gradient against the true sinc', and the second derivative against central differences
    of the true sinc' (near 0 the quotient alone cancels: at 1e-9 its second derivative was
    off by a factor 3)."""
    _, d1, d2 = derivatives(tg.sinc, XS_NEAR_ZERO, 2)
    np.testing.assert_allclose(d1, [_sinc_d1(v) for v in XS_NEAR_ZERO], rtol=1e-14,
                               atol=1e-300)
    h = 1e-5
    fd = [(_sinc_d1(v + h) - _sinc_d1(v - h)) / (2 * h) for v in XS_NEAR_ZERO]
    np.testing.assert_allclose(d2, fd, rtol=1e-8)


def test_sinc_gradient_matches_pytorch_away_from_zero():
    torch = pytest.importorskip("torch")
    xs = [0.0, 0.01, -0.2, 0.25, 0.3, -1.5, 2.25]
    _, ours = derivatives(tg.sinc, xs, 1)
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    (theirs,) = torch.autograd.grad(torch.sinc(x).sum(), x)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12, atol=1e-15)


# ---- 3. lgamma(-inf) --------------------------------------------------------------------------
def test_lgamma_at_infinities_and_poles():
    """log |Gamma(x)| is +inf at -inf (SciPy's gammaln gives -inf), +inf, and the poles; its
    gradient at -inf is nan (digamma there), as PyTorch."""
    for dtype in (tg.float16, tg.float32, tg.float64):
        x = tg.tensor([-INF, INF, 0.0, -0.0, -1.0, -3.0], dtype=dtype, requires_grad=True)
        y = tg.lgamma(x)
        assert y.dtype == dtype and np.all(np.isposinf(y.detach().numpy()))
        y.sum().backward()
        assert np.isnan(x.grad.numpy()[0])
        assert tg.lgamma(tg.tensor(-INF, dtype=dtype)).item() == INF       # 0-d
    xs = [-2.5, 0.5, -171.5, -1e15 - 0.5]                # very negative but finite
    np.testing.assert_allclose(tg.lgamma(tg.tensor(xs, dtype=tg.float64)).numpy(),
                               [math.lgamma(v) for v in xs], rtol=1e-13)


# ---- 4. in-place forms on integer tensors -----------------------------------------------------
def test_polygamma_in_place_refuses_integer_tensors():
    """An integer or bool tensor can't hold polygamma's values: refused (as PyTorch: "result
    type Float can't be cast to the desired output type Long"), where it truncated to
    [1, 0, 0]; the tensor is left as it was."""
    for dtype in (tg.int64, tg.int32, tg.uint8, tg.bool):
        t = tg.tensor([1, 2, 3], dtype=dtype)
        before = t.tolist()
        with pytest.raises(tg.DTypeError, match="polygamma_.*can't be written"):
            t.polygamma_(1)
        with pytest.raises(RuntimeError):
            t.polygamma_(0)
        assert t.tolist() == before and t.dtype == dtype
    f = tg.tensor([1.0, 2.0]).polygamma_(1)
    np.testing.assert_allclose(f.numpy(), [math.pi ** 2 / 6, math.pi ** 2 / 6 - 1], rtol=1e-6)


def _in_place_names():
    return sorted({m for fam in FAMILIES for m in fam.METHODS if m.endswith("_")})


def _run_in_place(lib, method, dtype, values):
    x = lib.tensor(values, dtype=getattr(lib, dtype))
    args = (1,) if method == "polygamma_" else ()
    try:
        getattr(x, method)(*args)
    except (RuntimeError, TypeError) as e:
        return type(e), str(e), x.tolist()
    return x.tolist()


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_every_in_place_method_on_integers_as_pytorch(dtype):
    """Each in-place method of the three families on an integer (bool) tensor: refused
    exactly where PyTorch refuses (our DTypeError is a RuntimeError, as PyTorch's errors),
    naming the method and what to do, the tensor left as it was; the same values where
    PyTorch accepts."""
    torch = pytest.importorskip("torch")
    values = [1, 2, 3] if dtype == "int64" else [True, False]
    for method in _in_place_names():
        with np.errstate(all="ignore"):
            ours = _run_in_place(tg, method, dtype, values)
        theirs = _run_in_place(torch, method, dtype, values)
        if isinstance(theirs, tuple):
            assert isinstance(ours, tuple) and ours[0] is tg.DTypeError, (method, ours)
            assert ours[2] == values, method
            if "type Float can't be cast" in theirs[1]:          # a floating result
                assert ours[1].startswith(f"{method}: the result is floating"), ours[1]
                assert "out-of-place form" in ours[1] and "x.float()" in ours[1]
        else:
            assert ours == theirs, method


# ---- 5. float16 results ----------------------------------------------------------------------
F16_VALUES = [-2.5, -0.7, -0.3, 0.0, 0.2, 0.45, 0.9, 1.5, 3.0, 7.25]


def _all_ops():
    return [name for fam in FAMILIES for name in fam.__all__]


@pytest.mark.parametrize("name", _all_ops())
def test_float16_input_keeps_float16(name):
    """Every op of the three families keeps float16 (the classification ones give bool), its
    gradient too: erf, erfc, lgamma and digamma gave float64 and erfinv float32 (SciPy has no
    float16 loops); now computed in float32 and rounded, as PyTorch."""
    x = tg.tensor(F16_VALUES, dtype=tg.float16, requires_grad=name not in CLASSIFY)
    with np.errstate(all="ignore"):
        y = call(tg, name, x)
        want = tg.bool if name in CLASSIFY else tg.float16
        assert y.dtype == want
        if name not in CLASSIFY:
            y.sum().backward()
            assert x.grad.dtype == tg.float16


@pytest.mark.parametrize("name", _all_ops())
def test_float16_values_match_pytorch(name):
    """The float16 values as PyTorch's (which computes in float32 and rounds): sinc(3) is 0,
    where NumPy's float16 sinc gives 3e-4."""
    torch = pytest.importorskip("torch")

    def run(lib):
        y = call(lib, name, lib.tensor(F16_VALUES, dtype=lib.float16))
        assert str(y.dtype).split(".")[-1] == ("bool" if name in CLASSIFY else "float16")
        return y.numpy().astype(np.float32)
    with np.errstate(all="ignore"):
        ours = run(tg)
    np.testing.assert_allclose(ours, run(torch), rtol=1e-3, atol=1e-4)


# ---- 6. negation of bool tensors, and negative_ -----------------------------------------------
def test_negating_a_bool_tensor_raises_with_advice():
    """PyTorch's RuntimeError and advice (NumPy's TypeError leaked before); ours is a
    DTypeError, which is a RuntimeError too. The tensor is left as it was."""
    for make in (lambda: tg.tensor([True, False]), lambda: tg.tensor(True)):
        for neg in (lambda t: -t, tg.neg, tg.negative, lambda t: t.neg(),
                    lambda t: t.negative(), lambda t: t.neg_(), lambda t: t.negative_()):
            t = make()
            with pytest.raises(tg.DTypeError, match=r"bool tensor is not supported.*`~` or "
                                                    r"`logical_not\(\)`") as info:
                neg(t)
            assert isinstance(info.value, RuntimeError)
            assert t.dtype == tg.bool and t._version == 0
    assert (~tg.tensor([True, False])).tolist() == [False, True]      # the advice works


def test_negative_in_place():
    """Tensor.negative_, PyTorch's alias of neg_: in place, recorded, integers stay integer."""
    x = tg.tensor([1.5, -2.0], requires_grad=True)
    y = x * 1
    assert y.negative_() is y and y._version == 1
    assert y.tolist() == [-1.5, 2.0]
    y.sum().backward()
    assert x.grad.tolist() == [-1.0, -1.0]
    i = tg.tensor([3, -4])
    assert i.negative_().tolist() == [-3, 4] and i.dtype == tg.int64
    with pytest.raises(tg.GradError, match="negative_"):
        tg.tensor([1.0], requires_grad=True).negative_()


# ---- 7. rounding of bool, frac of integers: the errors say what to do -------------------------
@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "fix", "frac"])
def test_rounding_dtype_errors_say_what_to_do(name):
    """PyTorch raises NotImplementedError (a RuntimeError) naming a kernel; ours is a
    DTypeError (TypeError and RuntimeError) that names the op and the conversion to use."""
    cases = [tg.tensor([True, False])]
    if name == "frac":
        cases += [tg.tensor([1, 2]), tg.tensor([1, 2], dtype=tg.uint8)]
    for t in cases:
        for run in (lambda: getattr(tg, name)(t), lambda: getattr(t, name + "_")()):
            with pytest.raises(tg.DTypeError, match=r"convert.*x\.(int|float)\(\)") as info:
                run()
            assert isinstance(info.value, RuntimeError)
            assert str(t.dtype).split(".")[-1] in str(info.value)
