"""tapegrad.nn.functional's vision part: hand-computed values, gradient conventions and the
error cases (PyTorch's) of pad, interpolate/upsample, grid_sample, affine_grid and
pixel_(un)shuffle. Rows in tests/opinfo_nn_vision.py check values against NumPy references,
gradients and second derivatives; torch parity cases live there too."""
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad import ArgumentError, DTypeError, ShapeError
from tapegrad.autograd.gradcheck import gradcheck, gradgradcheck


def t(values, grad=False, dtype=tg.float64):
    return tg.tensor(values, dtype=dtype, requires_grad=grad)


def close(a, b, **kw):
    np.testing.assert_allclose(a.detach().numpy(), np.asarray(b, dtype=np.float64), **kw)


# ---- pad ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode, want", [
    ("constant", [0, 0, 1, 2, 3, 0]), ("reflect", [3, 2, 1, 2, 3, 2]),
    ("replicate", [1, 1, 1, 2, 3, 3]), ("circular", [2, 3, 1, 2, 3, 1])])
def test_pad_modes_by_hand(mode, want):
    x = t([[1.0, 2.0, 3.0]])
    close(F.pad(x, (2, 1), mode=mode), [want])


def test_pad_negative_crops_and_value():
    x = t([[1.0, 2.0, 3.0, 4.0]])
    close(F.pad(x, (-1, 2), value=9.0), [[2, 3, 4, 9, 9]])
    close(F.pad(x, (-1, 2), mode="reflect"), [[2, 3, 4, 3, 2]])      # mirrored at 4, as torch
    close(F.pad(x, (-1, 2), mode="circular"), [[2, 3, 4, 2, 3]])     # wraps the cropped part
    assert F.pad(x, (-2, -2)).shape == (1, 0)


def test_pad_gradient_counts_each_read():
    x = t([[1.0, 2.0, 3.0]], grad=True)
    F.pad(x, (2, 2), mode="replicate").sum().backward()
    close(x.grad, [[3, 1, 3]])
    x.grad = None
    F.pad(x, (2, 2), mode="reflect").sum().backward()        # reads 3 2 [1 2 3] 2 1
    close(x.grad, [[2, 3, 2]])


def test_pad_circular_crops_then_wraps_within_what_is_left():
    x = t([[1.0, 2.0, 3.0, 4.0]])
    close(F.pad(x, (2, -2), mode="circular"), [[1, 2, 1, 2]])
    assert F.pad(x, (-1, -3), mode="circular").shape == (1, 0)


def test_pad_keeps_integer_dtype():
    out = F.pad(tg.tensor([[1, 2]]), (1, 1), value=7)
    assert out.dtype == tg.int64 and out.tolist() == [[7, 1, 2, 7]]


@pytest.mark.parametrize("shape, pad, kw, err, match", [
    ((2, 3), (1, 1, 1), {}, ArgumentError, "divisible by 2"),
    ((3,), (1, 1, 1, 1), {}, ArgumentError, "at most twice"),
    ((2, 3), (1.5, 1), {}, ArgumentError, "tuple of ints"),
    ((2, 3), (1, 1), {"mode": "wrap"}, ArgumentError, "unrecognised padding mode"),
    ((2, 3), (3, 0), {"mode": "reflect"}, ArgumentError, "less than the size 3"),
    ((2, 3), (1, 1), {"mode": "reflect", "value": 1.0}, ArgumentError, "doesn't take a value"),
    ((3,), (1, 1), {"mode": "replicate"}, ArgumentError, "not supported for a 1-d input"),
    ((2, 3), (1, 1, 1, 1), {"mode": "reflect"}, ArgumentError, "not supported for a 2-d"),
    ((1, 1, 2, 3, 4), (1, 1), {"mode": "circular"}, ArgumentError, "5-d"),
    ((2, 3), (4, 0), {"mode": "circular"}, ArgumentError, "more than once"),
    ((2, 3), (-3, -1), {}, ShapeError, "crops more"),
    ((2, 3), (-4, 2), {}, ShapeError, "crops more"),        # torch: each crop must fit
    ((2, 0), (1, 1), {"mode": "replicate"}, ShapeError, "non-empty"),
    ((2, 0, 3), (1, 1), {"mode": "reflect"}, ShapeError, "non-empty"),
    ((3, 2), (-3, 2), {"mode": "circular"}, ArgumentError, "crops more"),
    ((1, 4), (3, -2), {"mode": "circular"}, ArgumentError, "crops more"),
    ((2, 3), (), {"mode": "reflect"}, NotImplementedError, "not supported"),
    ((1, 1, 2, 3), (1, 1), {"mode": "replicate"}, NotImplementedError, "not supported"),
])
def test_pad_errors(shape, pad, kw, err, match):
    with pytest.raises(err, match=match) as info:
        F.pad(tg.zeros(*shape), pad, **kw)
    assert "pad:" in str(info.value)


# ---- interpolate --------------------------------------------------------------------------------
def test_interpolate_linear_by_hand():
    x = t([[[0.0, 3.0]]])
    # align_corners=False, step 1/2: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (-> 1)
    close(F.interpolate(x, size=4, mode="linear"), [[[0, 0.75, 2.25, 3]]])
    # align_corners=True: sources 0, 1/3, 2/3, 1
    close(F.interpolate(x, size=4, mode="linear", align_corners=True), [[[0, 1, 2, 3]]])


def test_interpolate_nearest_by_hand():
    x = t([[[0.0, 1.0, 2.0]]])
    close(F.interpolate(x, size=5), [[[0, 0, 1, 1, 2]]])               # floor(o * 3/5)
    close(F.interpolate(x, size=5, mode="nearest-exact"), [[[0, 0, 1, 2, 2]]])  # (o+.5)*.6
    close(F.interpolate(x, size=2), [[[0, 1]]])                         # floor(o * 1.5)


def test_interpolate_area_averages_windows():
    x = t([[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]]])
    # windows [0, 3), [2, 5), [5, 8), [7, 10): floor(o * 10 / 4) to ceil((o + 1) * 10 / 4)
    close(F.interpolate(x, size=4, mode="area"), [[[1, 3, 6, 8]]])


def test_interpolate_scale_factor_is_the_inverse_step():
    """With scale_factor the source step is 1 / scale_factor (0.4), not in / out (5 / 12)."""
    x = t([[[0.0, 1.0, 2.0, 3.0, 4.0]]])
    out = F.interpolate(x, scale_factor=2.5, mode="linear", align_corners=False)
    src = np.clip((np.arange(12) + 0.5) * 0.4 - 0.5, 0, 4)
    close(out, [[src]], atol=1e-12)
    out = F.interpolate(x, scale_factor=2.5, mode="linear", recompute_scale_factor=True)
    close(out, [[np.clip((np.arange(12) + 0.5) * 5 / 12 - 0.5, 0, 4)]], atol=1e-12)


def test_bicubic_by_hand():
    """[0, 1] to 4 columns with align_corners=True: sources 0, 1/3, 2/3, 1; at t = 1/3 the
    taps (clamped 0, 0, 1, clamped 1) weigh far(4/3), near(1/3), near(2/3), far(5/3) with
    near(x) = 1.25 x^3 - 2.25 x^2 + 1 and far(x) = -0.75 x^3 + 3.75 x^2 - 6 x + 3."""
    near = lambda x: 1.25 * x ** 3 - 2.25 * x ** 2 + 1          # noqa: E731
    far = lambda x: -0.75 * x ** 3 + 3.75 * x ** 2 - 6 * x + 3  # noqa: E731
    v = near(2 / 3) + far(5 / 3)
    out = F.interpolate(t([[[[0.0, 1.0]]]]), size=(1, 4), mode="bicubic", align_corners=True)
    close(out, [[[[0, v, 1 - v, 1]]]], atol=1e-12)


def test_bicubic_keeps_a_constant_and_bilinear_a_ramp():
    ones = tg.ones(1, 2, 3, 4, dtype=tg.float64)
    close(F.interpolate(ones, scale_factor=1.7, mode="bicubic"), np.ones((1, 2, 5, 6)))
    ramp = t(np.arange(4.0).reshape(1, 1, 1, 4))
    out = F.interpolate(ramp, size=(2, 7), mode="bilinear", align_corners=True)
    close(out, np.broadcast_to(np.arange(7) * 0.5, (1, 1, 2, 7)))


def test_bicubic_same_size_resamples_at_the_given_scale():
    """PyTorch's forward resamples a dim whose size stays at 1 / scale_factor (its backward
    copies the gradient there, inconsistently); tapegrad differentiates its forward."""
    x = t(np.random.default_rng(0).uniform(-1, 1, (1, 1, 4, 3)), grad=True)
    out = F.interpolate(x, scale_factor=1.1, mode="bicubic")
    assert out.shape == (1, 1, 4, 3)
    assert not np.allclose(out.detach().numpy(), x.detach().numpy())
    assert gradcheck(lambda a: F.interpolate(a, scale_factor=1.1, mode="bicubic"), (x,))


def test_antialias_widens_the_kernel_when_downsampling():
    """8 -> 2 columns: step 4, so the triangle reaches 4 each way of the centres 2 and 6:
    inputs i with 1 - |i + 0.5 - centre| / 4 > 0 inside the image, i.e. 0..5 weighing
    [5, 7, 7, 5, 3, 1] / 28 and 2..7 weighing [1, 3, 5, 7, 7, 5] / 28."""
    x = t(np.arange(8.0).reshape(1, 1, 1, 8))
    out = F.interpolate(x, size=(1, 2), mode="bilinear", antialias=True)
    close(out, [[[[53 / 28, 143 / 28]]]], atol=1e-12)
    plain = F.interpolate(x, size=(1, 2), mode="bilinear")
    close(plain, [[[[1.5, 5.5]]]])        # two taps only


def test_antialias_same_size_dim_is_copied():
    """PyTorch's antialiased forward copies a dim whose size stays (its backward resamples
    it at 1 / scale_factor, inconsistently); tapegrad copies and differentiates that."""
    x = t(np.random.default_rng(4).uniform(-1, 1, (1, 1, 5, 6)), grad=True)
    fn = lambda a: F.interpolate(a, scale_factor=(1.1, 0.5), mode="bicubic",   # noqa: E731
                                 antialias=True)
    out = fn(x)
    assert out.shape == (1, 1, 5, 3)
    assert gradcheck(fn, (x,))


def test_interpolate_float16_computes_in_float32():
    x = np.random.default_rng(1).uniform(-2, 2, (1, 2, 3, 4)).astype(np.float16)
    out = F.interpolate(tg.tensor(x), scale_factor=2, mode="bilinear")
    want = F.interpolate(tg.tensor(x.astype(np.float32)), scale_factor=2, mode="bilinear")
    assert out.dtype == tg.float16
    np.testing.assert_array_equal(out.numpy(), want.numpy().astype(np.float16))


def test_nearest_scale_factor_shortcuts_only_in_2d():
    # PyTorch's 2-d nearest copies a dim whose size is unchanged and halves the index where
    # the size doubles, whatever the scale_factor; its 1-d and 3-d kernels use 1 / scale
    x = t([[[0.0, 1.0, 2.0]]])
    close(F.interpolate(x, scale_factor=1.2), [[[0, 0, 1]]])
    close(F.interpolate(x, scale_factor=2.05), [[[0, 0, 0, 1, 1, 2]]])
    x2 = t([[[[0.0, 1.0, 2.0]]]])
    close(F.interpolate(x2, scale_factor=(1, 1.2)), [[[[0, 1, 2]]]])
    close(F.interpolate(x2, scale_factor=(1, 2.05)), [[[[0, 0, 1, 1, 2, 2]]]])
    x3 = t(np.arange(3.0).reshape(1, 1, 1, 1, 3))
    close(F.interpolate(x3, scale_factor=(1, 1, 1.2)).flatten(), [0, 0, 1])
    close(F.interpolate(t([[[0.0, 1, 2, 3, 4]]]), scale_factor=1.19, mode="nearest-exact"),
          [[[0, 1, 2, 2, 3]]])


def test_area_may_reach_an_empty_size():
    x = t(np.ones((1, 1, 2, 2)), grad=True)
    out = F.interpolate(x, scale_factor=(1, 0.4), mode="area")     # as adaptive pooling
    assert out.shape == (1, 1, 2, 0)
    out.sum().backward()
    close(x.grad, np.zeros((1, 1, 2, 2)))


def test_upsample_aliases():
    x = t(np.arange(6.0).reshape(1, 1, 2, 3))
    close(F.upsample(x, scale_factor=2), F.interpolate(x, scale_factor=2).numpy())
    close(F.upsample_nearest(x, size=(3, 3)), F.interpolate(x, size=(3, 3)).numpy())
    close(F.upsample_bilinear(x, scale_factor=2),
          F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True).numpy())


@pytest.mark.parametrize("shape, kw, err, match", [
    ((1, 2, 5), {"scale_factor": 2, "mode": "bilinear"}, ShapeError, "needs a 4-d input"),
    ((1, 2, 4, 5), {"scale_factor": 2, "mode": "linear"}, ShapeError, "needs a 3-d input"),
    ((1, 1, 2, 3, 4), {"scale_factor": 2, "mode": "bicubic"}, ShapeError, "needs a 4-d"),
    ((5,), {"size": 3}, ShapeError, "3-d, 4-d and 5-d"),
    ((1, 2, 5), {"scale_factor": 2, "mode": "bilinear"}, NotImplementedError, "4-d"),  # torch's
    ((5,), {"size": 3}, NotImplementedError, "3-d, 4-d and 5-d"),
    ((1, 2, 4, 5), {"size": 3, "scale_factor": 2}, ArgumentError, "only one of"),
    ((1, 2, 4, 5), {}, ArgumentError, "either size or scale_factor"),
    ((1, 2, 4, 5), {"size": 3, "align_corners": True}, ArgumentError, "align_corners"),
    ((1, 2, 4, 5), {"size": 3, "mode": "lanczos"}, ArgumentError, "unsupported mode"),
    ((1, 2, 4, 5), {"size": (3, 4, 5)}, ShapeError, "same number of spatial"),
    ((1, 2, 4, 5), {"scale_factor": (2, 2, 2)}, ShapeError, "same number of spatial"),
    ((1, 2, 4, 5), {"scale_factor": 0.1}, ShapeError, "greater than 0"),
    ((1, 2, 4, 5), {"size": 3, "recompute_scale_factor": True}, ArgumentError, "explicit size"),
    ((1, 2, 4, 5), {"size": 3, "antialias": True}, ArgumentError, "restricted to bilinear"),
    ((1, 1, 3), {"scale_factor": float("nan")}, ArgumentError, "finite"),   # NumPy's before
    ((1, 1, 3), {"scale_factor": float("inf")}, ArgumentError, "finite"),
    ((1, 0, 3), {"size": 4}, ShapeError, "non-empty"),
])
def test_interpolate_errors(shape, kw, err, match):
    with pytest.raises(err, match=match):
        F.interpolate(tg.zeros(*shape), **kw)


def test_interpolate_dtype_errors():
    with pytest.raises(DTypeError, match="floating point"):
        F.interpolate(tg.zeros(1, 1, 3, dtype=tg.int64), size=5)
    with pytest.raises(NotImplementedError, match="floating point"):     # as torch
        F.interpolate(tg.zeros(1, 1, 3, dtype=tg.uint8), size=5, mode="linear")
    out = F.interpolate(tg.tensor([[[1, 200]]], dtype=tg.uint8), size=4)
    assert out.dtype == tg.uint8 and out.tolist() == [[[1, 1, 200, 200]]]


# ---- grid_sample / affine_grid ------------------------------------------------------------------
@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_identity_grid_reproduces_the_image(align, mode):
    x = t(np.random.default_rng(2).uniform(-1, 1, (2, 3, 4, 5)))
    theta = t(np.tile([[1.0, 0, 0], [0, 1, 0]], (2, 1, 1)))
    grid = F.affine_grid(theta, (2, 3, 4, 5), align_corners=align)
    close(F.grid_sample(x, grid, mode=mode, align_corners=align), x.numpy(), atol=1e-12)


def test_grid_sample_by_hand():
    img = t([[[[0.0, 2.0]]]], grad=True)
    g = t([[[[0.0, 0.0]]]], grad=True)
    out = F.grid_sample(img, g, align_corners=True)       # x = 0 is half way: value 1
    close(out, [[[[1.0]]]])
    out.backward()
    close(img.grad, [[[[0.5, 0.5]]]])
    # d out / d gx = (2 - 0) * d ix / d gx = 2 * (W - 1) / 2 = 1; y sits on the only row
    close(g.grad, [[[[1.0, 0.0]]]])


def test_grid_sample_padding_by_hand():
    img = t([[[[1.0, 2.0, 3.0]]]])
    g = t([[[[-1.5, 0.0], [1.2, 0.0]]]])     # pixel x = ((g + 1) * 3 - 1) / 2 = -1.25 and 2.8
    close(F.grid_sample(img, g, padding_mode="zeros"), [[[[0.0, 0.2 * 3]]]])
    close(F.grid_sample(img, g, padding_mode="border"), [[[[1.0, 3.0]]]])
    # reflection about -0.5 and 2.5, then clipping to [0, 2]: -1.25 -> 0.25, 2.8 -> 2.2 -> 2
    close(F.grid_sample(img, g, padding_mode="reflection"), [[[[1.25, 3.0]]]])


def test_grid_sample_nearest_gives_the_grid_a_zero_gradient():
    x = t(np.ones((1, 1, 3, 3)), grad=True)
    g = t(np.full((1, 2, 2, 2), 0.3), grad=True)
    F.grid_sample(x, g, mode="nearest").sum().backward()
    assert g.grad is not None and not g.grad.numpy().any()


def test_grid_sample_second_derivative_in_grid():
    rng = np.random.default_rng(3)
    x = t(rng.uniform(-1, 1, (1, 2, 3, 3)), grad=True)
    g = t(rng.uniform(-0.9, 0.9, (1, 2, 2, 2)), grad=True)
    assert gradgradcheck(lambda a, b: F.grid_sample(a, b, align_corners=False), (x, g))


@pytest.mark.parametrize("shape, gshape, kw, err, match", [
    ((1, 2, 4, 5), (2, 3, 3, 2), {}, ShapeError, "same batch size"),
    ((1, 2, 4, 5), (1, 3, 3, 3), {}, ShapeError, "grid of shape"),
    ((1, 2, 5), (1, 3, 2), {}, ShapeError, "4-d inputs"),
    ((1, 2, 4, 5), (1, 3, 3, 2), {"mode": "bicubic"}, ArgumentError, "expected mode"),
    ((1, 2, 4, 5), (1, 3, 3, 2), {"padding_mode": "wrap"}, ArgumentError, "padding_mode"),
])
def test_grid_sample_errors(shape, gshape, kw, err, match):
    with pytest.raises(err, match=match):
        F.grid_sample(tg.zeros(*shape), tg.zeros(*gshape), **kw)
    with pytest.raises(DTypeError, match="one floating point dtype"):
        F.grid_sample(tg.zeros(1, 1, 2, 2), tg.zeros(1, 1, 1, 2, dtype=tg.float64))


def test_affine_grid_by_hand():
    theta = t([[[2.0, 0.0, 0.5], [0.0, 1.0, 0.0]]])
    g = F.affine_grid(theta, (1, 1, 1, 2), align_corners=False)    # x in (-0.5, 0.5), y = 0
    close(g, [[[[-0.5, 0.0], [1.5, 0.0]]]])
    g = F.affine_grid(theta, (1, 1, 2, 2), align_corners=True)     # x, y in (-1, 1)
    close(g[0, :, :, 1], [[-1, -1], [1, 1]])
    close(g[0, :, :, 0], [[-1.5, 2.5], [-1.5, 2.5]])


def test_grid_sample_empty_batch_and_output():
    out = F.grid_sample(tg.ones(1, 2, 3, 3), tg.zeros(1, 0, 2, 2), align_corners=False)
    assert out.shape == (1, 2, 0, 2)
    out = F.grid_sample(tg.ones(0, 2, 3, 3), tg.zeros(0, 2, 2, 2), align_corners=False)
    assert out.shape == (0, 2, 2, 2)
    with pytest.raises(ShapeError, match="grid_sample: .*non-empty spatial"):
        F.grid_sample(tg.ones(1, 1, 0, 3), tg.zeros(1, 2, 2, 2))


def test_grid_sample_reads_non_finite_coordinates_as_zero():
    # as PyTorch: border reads a NaN coordinate as 0 (inf clamps), reflection any non-finite
    img = t(np.arange(12.0).reshape(1, 1, 3, 4))
    grid = t([[[[np.nan, -1.0], [np.inf, -1.0], [-np.inf, -1.0]]]], grad=True)
    out = F.grid_sample(img, grid, padding_mode="border", align_corners=True)
    close(out, [[[[0.0, 3.0, 0.0]]]])
    out = F.grid_sample(img, grid, padding_mode="reflection", align_corners=True)
    close(out, [[[[0.0, 0.0, 0.0]]]])
    out.sum().backward()
    assert np.isfinite(grid.grad.numpy()).all()


@pytest.mark.parametrize("theta, size, err, match", [
    ((2, 2, 3), (3, 3, 4, 5), ShapeError, "batch of 3"),
    ((2, 3, 4), (2, 3, 4, 5), ShapeError, r"\(N, 2, 3\)"),
    ((2, 2, 3), (2, 3, 4), ArgumentError, "4-d and 5-d"),
    ((2, 2, 3), (2, 3, 4), NotImplementedError, "4-d and 5-d"),      # torch's class
    ((1, 2, 3), (1, 1, 0, 2), ArgumentError, "positive output size"),
    ((1, 2, 3), (1, 1, -2, 2), ArgumentError, "positive output size"),  # NumPy's before
])
def test_affine_grid_errors(theta, size, err, match):
    with pytest.raises(err, match=match):
        F.affine_grid(tg.zeros(*theta), size)
    with pytest.raises(DTypeError, match="floating point"):
        F.affine_grid(tg.zeros(1, 2, 3, dtype=tg.int64), (1, 1, 2, 2))


# ---- pixel shuffle ------------------------------------------------------------------------------
def test_pixel_shuffle_by_hand_and_round_trip():
    x = tg.arange(8.0).reshape(1, 8, 1, 1)
    assert F.pixel_shuffle(x, 2).tolist() == [[[[0, 1], [2, 3]], [[4, 5], [6, 7]]]]
    y = tg.randn(2, 3, 4, 6)
    np.testing.assert_array_equal(F.pixel_shuffle(F.pixel_unshuffle(y, 2), 2).numpy(),
                                  y.numpy())


@pytest.mark.parametrize("fn, shape, factor, err, match", [
    (F.pixel_shuffle, (2, 6, 3, 3), 2, ShapeError, "divisible by upscale_factor"),
    (F.pixel_shuffle, (8, 3), 2, ShapeError, "at least 3 dimensions"),
    (F.pixel_shuffle, (8, 3, 3), 0, ArgumentError, "positive integer"),
    (F.pixel_shuffle, (8, 3, 3), -2, ArgumentError, "positive integer"),
    (F.pixel_unshuffle, (2, 2, 5, 6), 2, ShapeError, "height"),
    (F.pixel_unshuffle, (2, 2, 4, 5), 2, ShapeError, "width"),
    (F.pixel_unshuffle, (4, 6), 2, ShapeError, "at least 3 dimensions"),
])
def test_pixel_shuffle_errors(fn, shape, factor, err, match):
    with pytest.raises(err, match=match):
        fn(tg.zeros(*shape), factor)


def test_sparse_map_builds_its_transpose_and_casts_once_across_threads():
    import threading
    import time

    from tapegrad.ops.nn.resample import SparseMap

    class Slow:        # a matrix whose transpose and cast take long: a race would show
        dtype, shape = np.dtype(np.float64), (2, 2)

        @property
        def T(self):
            time.sleep(0.02)
            return Slow()

        def astype(self, dtype):
            time.sleep(0.02)
            return Slow()

    m, seen, barrier = SparseMap(Slow()), [], threading.Barrier(6)

    def worker():
        barrier.wait()
        seen.append((id(m.T), id(m.cast(np.float32))))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(set(seen)) == 1 and m.T.T is m
