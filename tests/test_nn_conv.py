"""tapegrad.nn.functional's convolutions, unfold and fold: hand-computed values, the adjoint
identities the primitives rest on, float16 and large magnitudes, and every bad-argument path
(the op database rows in opinfo_nn_conv.py check values and derivatives)."""
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad._core.errors import ArgumentError, DTypeError, ShapeError
from tapegrad.ops.nn import conv_windows as cw


def t(a, grad=False, dtype=np.float64):
    return tg.tensor(np.asarray(a, dtype=dtype), requires_grad=grad)


def rand(rng, *shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


# ---- hand-computed values ----------------------------------------------------------------------
def test_conv1d_golden_with_bias_stride_and_padding():
    x = t([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    w = t([[[1.0, 0.0, -1.0]]])
    # padded: 0 1 2 3 4 5 0; windows at 0, 2, 4: (0-2), (2-4), (4-0)
    out = F.conv1d(x, w, t([0.5]), stride=2, padding=1)
    np.testing.assert_array_equal(out.numpy(), [[[-1.5, -1.5, 4.5]]])


def test_same_padding_puts_the_odd_zero_after():
    x = t([[[1.0, 2.0, 3.0, 4.0]]])
    out = F.conv1d(x, t([[[1.0, 10.0]]]), padding="same")
    np.testing.assert_array_equal(out.numpy(), [[[21.0, 32.0, 43.0, 4.0]]])
    np.testing.assert_array_equal(F.conv1d(x, t([[[1.0, 10.0]]]), padding="valid").numpy(),
                                  [[[21.0, 32.0, 43.0]]])


def test_depthwise_conv2d_each_channel_its_own_kernel():
    x = t(np.arange(18.0).reshape(1, 2, 3, 3), grad=True)
    w = t([[[[1.0]]], [[[-2.0]]]], grad=True)
    out = F.conv2d(x, w, groups=2)
    values = out.detach().numpy()
    np.testing.assert_array_equal(values[0, 0], np.arange(9.0).reshape(3, 3))
    np.testing.assert_array_equal(values[0, 1], -2 * np.arange(9.0, 18.0).reshape(3, 3))
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy().ravel(), [36.0, 117.0])
    np.testing.assert_array_equal(x.grad.numpy()[0, 1], np.full((3, 3), -2.0))


def test_conv_transpose1d_golden_and_output_padding():
    x = t([[[1.0, 2.0]]])
    w = t([[[1.0, 1.0, 1.0]]])
    np.testing.assert_array_equal(F.conv_transpose1d(x, w, stride=2).numpy(),
                                  [[[1.0, 1.0, 3.0, 2.0, 2.0]]])
    # output_padding adds a position after (zero here), padding crops both ends
    np.testing.assert_array_equal(
        F.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1).numpy(),
        [[[1.0, 3.0, 2.0, 2.0]]])


def test_unbatched_input_and_its_gradient():
    rng = np.random.default_rng(0)
    x, w = t(rand(rng, 3, 6, 5), grad=True), t(rand(rng, 4, 3, 3, 2), grad=True)
    out = F.conv2d(x, w, padding=1)
    batched = F.conv2d(x.detach().unsqueeze(0), w.detach(), padding=1)[0]
    np.testing.assert_allclose(out.detach().numpy(), batched.numpy(), rtol=1e-12)
    out.sum().backward()
    assert x.grad.shape == (3, 6, 5) and w.grad.shape == (4, 3, 3, 2)


def test_unfold_fold_golden():
    x = tg.arange(6.0).reshape(1, 1, 2, 3)
    np.testing.assert_array_equal(F.unfold(x, (2, 2)).numpy(),
                                  [[[0.0, 1.0], [1.0, 2.0], [3.0, 4.0], [4.0, 5.0]]])
    np.testing.assert_array_equal(F.fold(tg.ones(1, 4, 2), (2, 3), (2, 2)).numpy(),
                                  [[[[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]]]])


# ---- the adjoint identities (Note [Three bilinear primitives]) ---------------------------------
GEOMETRIES = [dict(stride=1, padding=0, dilation=1, groups=1),
              dict(stride=2, padding=1, dilation=1, groups=2),
              dict(stride=(1, 3), padding=(2, 0), dilation=(2, 1), groups=1),
              dict(stride=3, padding=1, dilation=2, groups=4)]


@pytest.mark.parametrize("geo", GEOMETRIES, ids=str)
def test_conv_transpose_and_conv_weight_are_conv_adjoints(geo):
    rng = np.random.default_rng(1)
    g = geo["groups"]
    x, w = rand(rng, 2, 4, 9, 8), rand(rng, 4, 4 // g, 3, 2)
    y = F.conv2d(t(x), t(w), **geo).numpy()
    u = rand(rng, *y.shape)
    stride = geo["stride"] if isinstance(geo["stride"], tuple) else (geo["stride"],) * 2
    pad = geo["padding"] if isinstance(geo["padding"], tuple) else (geo["padding"],) * 2
    dil = geo["dilation"] if isinstance(geo["dilation"], tuple) else (geo["dilation"],) * 2
    pads = tuple((p, p) for p in pad)
    xt = cw.conv_transpose(u, w, None, stride, pads, dil, g, x.shape[2:])
    wt = cw.conv_weight(x, u, stride, pads, dil, g, w.shape[2:])
    lhs = np.sum(y * u)
    assert np.isclose(lhs, np.sum(x * xt), rtol=1e-10)
    assert np.isclose(lhs, np.sum(w * wt), rtol=1e-10)


def test_windows_are_a_view_and_only_cols_copy():
    x = np.arange(2 * 3 * 5 * 5, dtype=np.float32).reshape(2, 3, 5, 5)
    view = cw.windows(x, 1, (3, 3), (1, 1), (1, 1), (3, 3))
    assert np.shares_memory(view, x) and not view.flags.writeable
    assert view[0, 2, 1, 2, 1, 0, 2] == x[1, 2, 1, 4]


def test_forward_windows_serve_the_weight_gradient_once():
    # Note [Conv keeps its windows]: the first backward takes the forward's matrix and lets
    # go of it; a second one (retain_graph) builds it again and gets the same gradient.
    rng = np.random.default_rng(6)
    x, w = t(rand(rng, 2, 3, 6, 5), True), t(rand(rng, 4, 3, 3, 2), True)
    out = F.conv2d(x, w, stride=(2, 1), padding=1)
    keep = out.grad_fn.params["keep"]
    assert keep.cols is not None
    out.sum().backward(retain_graph=True)
    assert keep.cols is None and keep.x is None
    first = w.grad.numpy().copy()
    w.grad = None
    out.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), first, rtol=1e-12)
    assert "keep" not in F.conv2d(x, w.detach()).grad_fn.params    # no weight gradient


# ---- dtypes and magnitudes -------------------------------------------------------------------
def test_float16_accumulates_in_float32_and_returns_float16():
    rng = np.random.default_rng(2)
    x, w = rand(rng, 2, 8, 6, 6, dtype=np.float16), rand(rng, 4, 8, 3, 3, dtype=np.float16)
    xt, wt = t(x, True, np.float16), t(w, True, np.float16)
    out = F.conv2d(xt, wt, padding=1)
    assert out.dtype == tg.float16
    exact = F.conv2d(t(x), t(w), padding=1).numpy()
    np.testing.assert_allclose(out.detach().numpy().astype(np.float64), exact, rtol=2e-3, atol=2e-2)
    out.sum().backward()
    assert xt.grad.dtype == tg.float16 and wt.grad.dtype == tg.float16
    ct = F.conv_transpose2d(xt.detach(), t(rand(rng, 8, 3, 2, 2), dtype=np.float16), stride=2)
    assert ct.dtype == tg.float16


def test_float64_stays_float64_and_float32_float32():
    rng = np.random.default_rng(3)
    for dt in (np.float32, np.float64):
        x, w, b = (t(rand(rng, *s, dtype=dt), True, dt) for s in [(1, 2, 5), (3, 2, 2), (3,)])
        out = F.conv1d(x, w, b)
        out.sum().backward()
        assert {out.detach().numpy().dtype, x.grad.numpy().dtype, w.grad.numpy().dtype,
                b.grad.numpy().dtype} == {np.dtype(dt)}


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_magnitudes_up_to_1e4_stay_finite(dt):
    rng = np.random.default_rng(4)
    x = t(1e4 * rng.uniform(-1, 1, (2, 3, 8, 8)), True, dt)
    w = t(1e4 * rng.uniform(-1, 1, (4, 3, 3, 3)), True, dt)
    out = F.conv2d(x, w, padding=1)
    out.sum().backward()
    for a in (out.detach(), x.grad, w.grad):
        assert np.all(np.isfinite(a.numpy()))


def test_inputs_are_not_mutated_and_non_contiguous_inputs_work():
    rng = np.random.default_rng(5)
    xa = rand(rng, 2, 3, 7, 6)
    x = t(xa.transpose(0, 1, 3, 2), True)          # a non-contiguous layout
    w = t(rand(rng, 2, 3, 2, 2), True)
    before = x.detach().numpy().copy()
    out = F.conv2d(x, w, stride=2, padding=1)
    out.sum().backward()
    np.testing.assert_array_equal(x.detach().numpy(), before)
    ref = F.conv2d(t(np.ascontiguousarray(xa.transpose(0, 1, 3, 2))), w.detach(), stride=2,
                   padding=1)
    np.testing.assert_allclose(out.detach().numpy(), ref.numpy(), rtol=1e-12)


# ---- errors -----------------------------------------------------------------------------------
X4, W4 = t(np.zeros((2, 3, 8, 8))), t(np.zeros((4, 3, 3, 3)))

CONV_ERRORS = [
    (lambda: F.conv2d(t(np.zeros((8, 8))), W4), ShapeError, "conv2d: expected a 3-D"),
    (lambda: F.conv2d(t(np.zeros((1, 2, 3, 8, 8))), W4), ShapeError, "(1, 2, 3, 8, 8)"),
    (lambda: F.conv2d(X4, t(np.zeros((4, 3, 3)))), ShapeError, "weight must be 4-D"),
    (lambda: F.conv2d(t(np.zeros((2, 5, 8, 8))), W4), ShapeError, "must have 3 channels"),
    (lambda: F.conv2d(X4, W4, groups=2), ShapeError, "input must have 6 channels"),
    (lambda: F.conv2d(t(np.zeros((2, 6, 8, 8))), t(np.zeros((5, 3, 3, 3))), groups=2),
     ShapeError, "groups=2 must divide"),
    (lambda: F.conv2d(X4, W4, groups=0), ArgumentError, "groups must be a positive int"),
    (lambda: F.conv2d(X4, W4, groups=True), TypeError, "groups"),
    (lambda: F.conv2d(t(np.zeros((2, 3, 2, 8))), W4), ShapeError, "smaller than the dilated"),
    (lambda: F.conv2d(X4, W4, dilation=4), ShapeError, "dilated kernel (9, 9)"),
    (lambda: F.conv2d(X4, W4, stride=0), ArgumentError, "stride must be at least 1"),
    (lambda: F.conv2d(X4, W4, padding=-1), ArgumentError, "padding must be at least 0"),
    (lambda: F.conv2d(X4, W4, dilation=0), ArgumentError, "dilation must be at least 1"),
    (lambda: F.conv2d(X4, W4, stride=(1, 2, 1)), ArgumentError, "tuple of 2 ints"),
    (lambda: F.conv2d(X4, W4, stride=1.5), TypeError, "stride must be an int"),
    (lambda: F.conv2d(X4, W4, padding="same", stride=2), ArgumentError, "not supported for"),
    (lambda: F.conv2d(X4, W4, padding="full"), ArgumentError, "invalid padding string"),
    (lambda: F.conv2d(X4, W4, t(np.zeros(3))), ShapeError, "bias must be 1-D with 4"),
    (lambda: F.conv2d(t(np.zeros((2, 3, 8, 8), np.int64), dtype=np.int64), W4), DTypeError,
     "floating point"),
    (lambda: F.conv2d(X4, t(np.zeros((4, 3, 3, 3)), dtype=np.float32)), DTypeError,
     "one dtype"),
    (lambda: F.conv1d(t(np.zeros((2, 3, 8))), t(np.zeros((4, 3, 3, 3)))), ShapeError,
     "conv1d: weight must be 3-D"),
    (lambda: F.conv3d(t(np.zeros((3, 8, 8))), t(np.zeros((4, 3, 3, 3, 3)))), ShapeError,
     "conv3d: expected a 4-D"),
]

TRANSPOSE_ERRORS = [
    (lambda: F.conv_transpose2d(X4, t(np.zeros((4, 2, 3, 3)))), ShapeError,
     "expects an input with 4 channels"),
    (lambda: F.conv_transpose2d(X4, t(np.zeros((3, 2, 3, 3))), groups=2), ShapeError,
     "groups=2 must divide the input channels"),
    (lambda: F.conv_transpose2d(X4, t(np.zeros((3, 2, 3, 3))), stride=2, output_padding=2),
     ArgumentError, "output_padding must be smaller than either stride or dilation"),
    (lambda: F.conv_transpose2d(X4, t(np.zeros((3, 2, 3, 3))), output_padding=1),
     ArgumentError, "output_padding"),
    (lambda: F.conv_transpose2d(X4, t(np.zeros((3, 2, 3, 3))), padding="same"),
     TypeError, "take no 'same'"),
    (lambda: F.conv_transpose2d(X4, t(np.zeros((3, 2, 3, 3))), t(np.zeros(3))), ShapeError,
     "bias must be 1-D with 2"),
    (lambda: F.conv_transpose2d(t(np.zeros((1, 3, 1, 1))), t(np.zeros((3, 2, 1, 1))),
                                padding=1), ShapeError, "output size (-1, -1) is not positive"),
    (lambda: F.conv_transpose1d(X4, t(np.zeros((3, 2, 3)))), ShapeError,
     "conv_transpose1d: expected a 2-D"),
    (lambda: F.conv_transpose2d(X4, t(np.zeros((3, 2, 3)))), ShapeError, "weight must be 4-D"),
    (lambda: F.conv_transpose3d(t(np.zeros((1, 3, 2, 2, 2))), t(np.zeros((3, 2, 2, 2, 2))),
                                groups=-1), ArgumentError, "groups must be a positive int"),
]

FOLD_ERRORS = [
    (lambda: F.unfold(t(np.zeros((2, 3, 4, 4, 4))), 2), ShapeError, "unfold: expected a 3-D"),
    (lambda: F.unfold(X4, 9), ShapeError, "does not fit"),
    (lambda: F.unfold(X4, (2, 2, 2)), ArgumentError, "kernel_size must be an int or a tuple"),
    (lambda: F.unfold(X4, 2, stride=0), ArgumentError, "stride must be at least 1"),
    (lambda: F.unfold(tg.zeros(2, 3, 4, 4, dtype=tg.int64), 2), DTypeError, "floating point"),
    (lambda: F.fold(X4, (4, 4), 2), ShapeError, "fold: expected a 2-D"),
    (lambda: F.fold(t(np.zeros((2, 7, 9))), (4, 4), 2), ShapeError, "divisible by"),
    (lambda: F.fold(t(np.zeros((2, 8, 8))), (4, 4), 2), ShapeError, "give 3 * 3 blocks"),
    (lambda: F.fold(t(np.zeros((2, 8, 9))), (1, 1), 2), ShapeError, "blocks"),
]


@pytest.mark.parametrize("call, cls, text", CONV_ERRORS + TRANSPOSE_ERRORS + FOLD_ERRORS,
                         ids=lambda v: v if isinstance(v, str) else "")
def test_bad_arguments_raise_clear_errors(call, cls, text):
    with pytest.raises(cls) as info:
        call()
    assert text in str(info.value)


def test_errors_are_pytorchs_builtin_classes():
    """ShapeError and ArgumentError are RuntimeErrors (as PyTorch raises) and ValueErrors."""
    with pytest.raises(RuntimeError):
        F.conv2d(t(np.zeros((2, 5, 8, 8))), W4)
    with pytest.raises(ValueError):
        F.conv_transpose2d(X4, t(np.zeros((3, 2, 3, 3))), stride=2, output_padding=2)


def test_empty_batch_gives_empty_results_and_zero_weight_grads():
    x = tg.zeros(0, 3, 8, 8, requires_grad=True)
    w = tg.ones(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    assert y.shape == (0, 4, 8, 8)
    y.sum().backward()
    assert x.grad.shape == (0, 3, 8, 8) and not w.grad.numpy().any()
    assert F.conv_transpose2d(tg.zeros(0, 4, 5, 5), w, stride=2).shape == (0, 3, 11, 11)
    assert F.unfold(tg.zeros(0, 2, 4, 4), 2).shape == (0, 8, 9)
    assert F.fold(tg.zeros(0, 8, 9), 4, 2).shape == (0, 2, 4, 4)


def test_top_level_names_are_the_functional_ones():
    assert tg.conv2d is F.conv2d and tg.conv_transpose1d is F.conv_transpose1d


def test_unfold_fold_float16():
    x = tg.tensor(np.linspace(-2, 2, 2 * 3 * 5 * 5).reshape(2, 3, 5, 5).astype(np.float16))
    cols = F.unfold(x, 3, padding=1)
    assert cols.dtype == tg.float16
    back = F.fold(cols, 5, 3, padding=1)
    assert back.dtype == tg.float16
    # each pixel is covered by as many blocks as the 3x3 window has in-frame taps
    counts = F.fold(F.unfold(tg.ones(1, 1, 5, 5), 3, padding=1), 5, 3, padding=1).numpy()
    np.testing.assert_allclose(back.numpy(), x.numpy() * counts, rtol=1e-3)
