"""nn layers without parameters: pooling (max, unpool, average, adaptive, LP), padding,
PixelShuffle/PixelUnshuffle and Upsample.

Stored attributes and reprs as PyTorch's, forward against NumPy references written here,
gradcheck in the input, errors, and (when torch is installed) values and input gradients
against torch.nn.
"""
import math

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn as nn
from tapegrad.autograd import gradcheck


def arr(t):
    return t.detach().numpy()


def distinct(rng, *shape):
    """float64 values with no ties (max pooling's gradient is then well defined)."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) / 7.0 - 1.0


# ---- NumPy references --------------------------------------------------------------------------
def out_size(n, k, s, p, di, ceil):
    span = n + 2 * p - di * (k - 1) - 1
    o = (-(-span // s) if ceil else span // s) + 1
    if ceil and (o - 1) * s >= n + p:       # the last window must start inside the input
        o -= 1
    return o


def ref_pool(x, d, kernel, stride, padding, dilation, ceil, reduce):
    """Windows of the last d dims of x (padded positions hold NaN); ``reduce(window)`` with
    the window's values, flattened over the spatial dims."""
    pads = ((0, 0),) * (x.ndim - d) + tuple((p, p + k * s) for p, k, s in
                                             zip(padding, kernel, stride))
    xp = np.pad(x, pads, constant_values=np.nan)
    outs = [out_size(n, k, s, p, di, ceil) for n, k, s, p, di in
            zip(x.shape[-d:], kernel, stride, padding, dilation)]
    y = np.zeros(x.shape[:-d] + tuple(outs))
    lead = (slice(None),) * (x.ndim - d)
    for pos in np.ndindex(*outs):
        window = tuple(slice(o * s, o * s + di * (k - 1) + 1, di)
                       for o, s, di, k in zip(pos, stride, dilation, kernel))
        starts = [o * s - p for o, s, p in zip(pos, stride, padding)]
        y[lead + pos] = reduce(xp[lead + window].reshape(x.shape[:-d] + (-1,)), starts)
    return y


def ref_max_pool(x, d, kernel, stride, padding=(0,) * 3, dilation=(1,) * 3, ceil=False):
    return ref_pool(x, d, kernel, stride, padding[:d], dilation[:d], ceil,
                    lambda w, _: np.nanmax(w, axis=-1))


def ref_avg_pool(x, d, kernel, stride, padding, ceil, count_include_pad, divisor=None):
    spatial = x.shape[-d:]

    def reduce(w, starts):
        total = np.nansum(w, axis=-1)
        if divisor is not None:
            return total / divisor
        if count_include_pad:      # the window clipped to the padded input, not past it
            size = np.prod([min(st + k, n + p) - st for st, k, n, p in
                            zip(starts, kernel, spatial, padding)])
        else:
            size = np.sum(~np.isnan(w[(0,) * (w.ndim - 1)]))
        return total / size
    return ref_pool(x, d, kernel, stride, padding, (1,) * d, ceil, reduce)


def ref_adaptive(x, d, sizes, reduce):
    outs = [x.shape[-d + i] if s is None else s for i, s in enumerate(sizes)]
    y = np.zeros(x.shape[:-d] + tuple(outs))
    lead = (slice(None),) * (x.ndim - d)
    for pos in np.ndindex(*outs):
        window = tuple(slice(o * n // m, -(-(o + 1) * n // m))
                       for o, n, m in zip(pos, x.shape[-d:], outs))
        y[lead + pos] = reduce(x[lead + window].reshape(x.shape[:-d] + (-1,)), axis=-1)
    return y


# ---- reprs and stored attributes ----------------------------------------------------------------
REPRS = [
    (lambda: nn.MaxPool1d(2),
     "MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"),
    (lambda: nn.MaxPool2d(3, 2, 1, 2, True, True),
     "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)"),
    (lambda: nn.MaxPool3d((2, 2, 2)),
     "MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=0, dilation=1, "
     "ceil_mode=False)"),
    (lambda: nn.MaxUnpool1d(2), "MaxUnpool1d(kernel_size=(2,), stride=(2,), padding=(0,))"),
    (lambda: nn.MaxUnpool2d(2, 1, 0),
     "MaxUnpool2d(kernel_size=(2, 2), stride=(1, 1), padding=(0, 0))"),
    (lambda: nn.MaxUnpool3d((2, 2, 2)),
     "MaxUnpool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 0, 0))"),
    (lambda: nn.AvgPool1d(2), "AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))"),
    (lambda: nn.AvgPool1d(3, 2, 1, True, False),
     "AvgPool1d(kernel_size=(3,), stride=(2,), padding=(1,))"),
    (lambda: nn.AvgPool2d(2), "AvgPool2d(kernel_size=2, stride=2, padding=0)"),
    (lambda: nn.AvgPool2d(3, 2, 1, True, False, 4),
     "AvgPool2d(kernel_size=3, stride=2, padding=1)"),
    (lambda: nn.AvgPool3d(2), "AvgPool3d(kernel_size=2, stride=2, padding=0)"),
    (lambda: nn.AdaptiveAvgPool1d(3), "AdaptiveAvgPool1d(output_size=3)"),
    (lambda: nn.AdaptiveAvgPool2d((None, 3)), "AdaptiveAvgPool2d(output_size=(None, 3))"),
    (lambda: nn.AdaptiveAvgPool3d(2), "AdaptiveAvgPool3d(output_size=2)"),
    (lambda: nn.AdaptiveMaxPool1d(3), "AdaptiveMaxPool1d(output_size=3)"),
    (lambda: nn.AdaptiveMaxPool2d((2, 3), True), "AdaptiveMaxPool2d(output_size=(2, 3))"),
    (lambda: nn.AdaptiveMaxPool3d(1), "AdaptiveMaxPool3d(output_size=1)"),
    (lambda: nn.LPPool1d(2, 3),
     "LPPool1d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)"),
    (lambda: nn.LPPool2d(1.5, 2, 1, True),
     "LPPool2d(norm_type=1.5, kernel_size=2, stride=1, ceil_mode=True)"),
    (lambda: nn.LPPool3d(2, 2),
     "LPPool3d(norm_type=2, kernel_size=2, stride=None, ceil_mode=False)"),
    (lambda: nn.ZeroPad1d(2), "ZeroPad1d((2, 2))"),
    (lambda: nn.ZeroPad2d((1, 2, 3, 4)), "ZeroPad2d((1, 2, 3, 4))"),
    (lambda: nn.ZeroPad3d(1), "ZeroPad3d((1, 1, 1, 1, 1, 1))"),
    (lambda: nn.ConstantPad1d(2, 3.5), "ConstantPad1d(padding=(2, 2), value=3.5)"),
    (lambda: nn.ConstantPad2d(1, 0), "ConstantPad2d(padding=(1, 1, 1, 1), value=0)"),
    (lambda: nn.ConstantPad3d((1, 2, 3, 4, 5, 6), 1),
     "ConstantPad3d(padding=(1, 2, 3, 4, 5, 6), value=1)"),
    (lambda: nn.ReflectionPad1d(2), "ReflectionPad1d((2, 2))"),
    (lambda: nn.ReflectionPad2d((1, 2, 3, 4)), "ReflectionPad2d((1, 2, 3, 4))"),
    (lambda: nn.ReflectionPad3d(1), "ReflectionPad3d((1, 1, 1, 1, 1, 1))"),
    (lambda: nn.ReplicationPad1d(2), "ReplicationPad1d((2, 2))"),
    (lambda: nn.ReplicationPad2d(1), "ReplicationPad2d((1, 1, 1, 1))"),
    (lambda: nn.ReplicationPad3d(1), "ReplicationPad3d((1, 1, 1, 1, 1, 1))"),
    (lambda: nn.CircularPad1d(1), "CircularPad1d((1, 1))"),
    (lambda: nn.CircularPad2d([1, 0, 2, 0]), "CircularPad2d((1, 0, 2, 0))"),
    (lambda: nn.CircularPad3d(1), "CircularPad3d((1, 1, 1, 1, 1, 1))"),
    (lambda: nn.PixelShuffle(2), "PixelShuffle(upscale_factor=2)"),
    (lambda: nn.PixelUnshuffle(3), "PixelUnshuffle(downscale_factor=3)"),
    (lambda: nn.Upsample(scale_factor=2), "Upsample(scale_factor=2.0, mode='nearest')"),
    (lambda: nn.Upsample(size=(3, 4), mode="bilinear", align_corners=True),
     "Upsample(size=(3, 4), mode='bilinear')"),
    (lambda: nn.Upsample(scale_factor=(2, 3)), "Upsample(scale_factor=(2.0, 3.0), mode='nearest')"),
    (lambda: nn.Upsample(size=3, scale_factor=0), "Upsample(size=3, mode='nearest')"),
    (lambda: nn.UpsamplingNearest2d(scale_factor=2),
     "UpsamplingNearest2d(scale_factor=2.0, mode='nearest')"),
    (lambda: nn.UpsamplingBilinear2d(size=4), "UpsamplingBilinear2d(size=4, mode='bilinear')"),
]


@pytest.mark.parametrize("make, text", REPRS, ids=[t.split("(")[0] + str(i)
                                                   for i, (_, t) in enumerate(REPRS)])
def test_reprs_and_no_parameters(make, text):
    m = make()
    assert repr(m) == text
    assert list(m.parameters()) == [] and m.state_dict() == {} and list(m.buffers()) == []


def test_stored_attributes_as_pytorch():
    m = nn.MaxPool2d((2, 3))
    assert m.kernel_size == (2, 3) and m.stride == (2, 3) and m.padding == 0
    assert m.dilation == 1 and m.return_indices is False and m.ceil_mode is False
    m = nn.AvgPool1d(3, padding=1)
    assert (m.kernel_size, m.stride, m.padding) == ((3,), (3,), (1,))
    assert m.ceil_mode is False and m.count_include_pad is True
    m = nn.AvgPool2d(3, divisor_override=2)
    assert (m.kernel_size, m.stride, m.divisor_override) == (3, 3, 2)
    m = nn.MaxUnpool2d((2, 3), stride=1, padding=[0, 1])
    assert (m.kernel_size, m.stride, m.padding) == ((2, 3), (1, 1), (0, 1))
    assert nn.LPPool2d(2, 3).stride is None
    assert nn.AdaptiveMaxPool2d(3, return_indices=True).return_indices is True
    assert nn.ZeroPad1d(1).value == 0.0 and nn.ZeroPad1d([1, 2]).padding == (1, 2)
    u = nn.UpsamplingBilinear2d(scale_factor=2)
    assert (u.mode, u.align_corners, u.scale_factor, u.size) == ("bilinear", True, 2.0, None)
    assert u.name == "UpsamplingBilinear2d" and nn.Upsample().recompute_scale_factor is None


# ---- max pooling and unpooling ------------------------------------------------------------------
MAX_CASES = [   # (class, kwargs, input shape)
    (nn.MaxPool1d, dict(kernel_size=3, stride=2, padding=1), (2, 3, 9)),
    (nn.MaxPool1d, dict(kernel_size=2, dilation=2, ceil_mode=True), (3, 8)),
    (nn.MaxPool2d, dict(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True),
     (2, 2, 6, 7)),
    (nn.MaxPool2d, dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1)), (1, 7, 8)),
    (nn.MaxPool3d, dict(kernel_size=2, stride=(1, 2, 2), padding=(1, 0, 1)), (1, 2, 3, 4, 5)),
]


@pytest.mark.parametrize("cls, kwargs, shape", MAX_CASES, ids=lambda v: getattr(v, "__name__",
                                                                                None))
def test_max_pool_matches_reference_and_unpool_inverts(cls, kwargs, shape):
    rng = np.random.default_rng(0)
    x = distinct(rng, *shape)
    d = int(cls.__name__[-2])
    m = cls(**kwargs)
    rep = lambda v: v if isinstance(v, tuple) else (v,) * d      # noqa: E731
    k = rep(kwargs["kernel_size"])
    ref = ref_max_pool(x, d, k, rep(kwargs.get("stride", k)), rep(kwargs.get("padding", 0)),
                       rep(kwargs.get("dilation", 1)), kwargs.get("ceil_mode", False))
    np.testing.assert_array_equal(arr(m(tg.tensor(x))), ref)
    m.return_indices = True
    y, idx = m(tg.tensor(x))
    np.testing.assert_array_equal(arr(y), ref)
    # every index points at its max in the flattened plane
    flat = x.reshape(x.shape[:x.ndim - d] + (-1,))
    picked = np.take_along_axis(flat, arr(idx).reshape(idx.shape[:idx.ndim - d] + (-1,)), -1)
    np.testing.assert_array_equal(picked.reshape(ref.shape), ref)


def test_max_unpool_roundtrip_and_output_size():
    rng = np.random.default_rng(1)
    for pool, unpool, shape in [(nn.MaxPool1d(2, return_indices=True), nn.MaxUnpool1d(2),
                                 (2, 3, 8)),
                                (nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2),
                                 (2, 1, 4, 6)),
                                (nn.MaxPool3d(2, return_indices=True), nn.MaxUnpool3d(2),
                                 (1, 2, 4, 2, 4))]:
        x = distinct(rng, *shape)
        y, idx = pool(tg.tensor(x))
        back = arr(unpool(y, idx))
        assert back.shape == x.shape
        kept = back != 0
        np.testing.assert_array_equal(back[kept], x[kept])
        assert kept.sum() == y.numel()
    y, idx = nn.MaxPool2d(2, return_indices=True)(tg.tensor(distinct(rng, 1, 1, 5, 5)))
    assert nn.MaxUnpool2d(2)(y, idx, output_size=[5, 5]).shape == (1, 1, 5, 5)
    assert nn.MaxUnpool2d(2)(y, idx).shape == (1, 1, 4, 4)


# ---- average pooling ----------------------------------------------------------------------------
AVG_CASES = [   # (class, kwargs, input shape)
    (nn.AvgPool1d, dict(kernel_size=3, stride=2, padding=1), (2, 3, 9)),
    (nn.AvgPool1d, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                        count_include_pad=False), (3, 8)),
    (nn.AvgPool2d, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (2, 2, 6, 7)),
    (nn.AvgPool2d, dict(kernel_size=(2, 3), padding=(1, 1), count_include_pad=False),
     (1, 5, 7)),
    (nn.AvgPool2d, dict(kernel_size=2, divisor_override=3), (1, 2, 4, 4)),
    (nn.AvgPool3d, dict(kernel_size=2, stride=(1, 2, 2), padding=(1, 0, 1)), (1, 2, 3, 4, 5)),
    (nn.AvgPool3d, dict(kernel_size=2, divisor_override=1, ceil_mode=True), (2, 3, 3, 3)),
]


@pytest.mark.parametrize("cls, kwargs, shape", AVG_CASES, ids=lambda v: getattr(v, "__name__",
                                                                                None))
def test_avg_pool_matches_reference(cls, kwargs, shape):
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, shape)
    d = int(cls.__name__[-2])
    m = cls(**kwargs)
    rep = lambda v: v if isinstance(v, tuple) else (v,) * d      # noqa: E731
    k = rep(kwargs["kernel_size"])
    ref = ref_avg_pool(x, d, k, rep(kwargs.get("stride", k)), rep(kwargs.get("padding", 0)),
                       kwargs.get("ceil_mode", False), kwargs.get("count_include_pad", True),
                       kwargs.get("divisor_override"))
    np.testing.assert_allclose(arr(m(tg.tensor(x))), ref, rtol=1e-12, atol=1e-14)


# ---- adaptive pooling ---------------------------------------------------------------------------
ADAPTIVE_CASES = [   # (class, output_size, input shape)
    (nn.AdaptiveAvgPool1d, 3, (2, 3, 7)),
    (nn.AdaptiveAvgPool2d, (None, 3), (2, 5, 7)),
    (nn.AdaptiveAvgPool2d, 4, (1, 2, 6, 9)),
    (nn.AdaptiveAvgPool3d, (2, 1, 3), (1, 2, 3, 4, 5)),
    (nn.AdaptiveMaxPool1d, 4, (3, 10)),
    (nn.AdaptiveMaxPool2d, (3, None), (1, 2, 7, 4)),
    (nn.AdaptiveMaxPool3d, 2, (2, 3, 5, 4)),
]


@pytest.mark.parametrize("cls, size, shape", ADAPTIVE_CASES,
                         ids=lambda v: getattr(v, "__name__", None))
def test_adaptive_pool_matches_reference(cls, size, shape):
    rng = np.random.default_rng(3)
    x = distinct(rng, *shape)
    d = int(cls.__name__[-2])
    sizes = size if isinstance(size, tuple) else (size,) * d
    reduce = np.max if "Max" in cls.__name__ else np.mean
    np.testing.assert_allclose(arr(cls(size)(tg.tensor(x))), ref_adaptive(x, d, sizes, reduce),
                               rtol=1e-12)
    if "Max" in cls.__name__:
        y, idx = cls(size, return_indices=True)(tg.tensor(x))
        assert idx.dtype == tg.int64 and idx.shape == y.shape


# ---- LP pooling ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cls, args, kwargs, shape", [
    (nn.LPPool1d, (2, 3), dict(stride=2), (2, 3, 9)),
    (nn.LPPool1d, (1.5, 2), {}, (3, 8)),
    (nn.LPPool2d, (3, 2), dict(stride=1), (1, 2, 4, 5)),
    (nn.LPPool2d, (2, (2, 3)), {}, (2, 4, 6)),
    (nn.LPPool3d, (2, 2), {}, (1, 1, 4, 4, 4)),
], ids=lambda v: getattr(v, "__name__", None))
def test_lp_pool_matches_reference(cls, args, kwargs, shape):
    rng = np.random.default_rng(4)
    x = rng.uniform(0.1, 1, shape)
    d = int(cls.__name__[-2])
    m = cls(*args, **kwargs)
    k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size,) * d
    s = k if m.stride is None else (m.stride if isinstance(m.stride, tuple) else (m.stride,) * d)
    p = m.norm_type
    ref = ref_pool(x, d, k, s, (0,) * d, (1,) * d, False,
                   lambda w, _: np.sum(w ** p, axis=-1) ** (1 / p))
    np.testing.assert_allclose(arr(m(tg.tensor(x))), ref, rtol=1e-10)


def test_lp_pool_inf_norm_is_max_of_abs():
    x = tg.tensor([[-3.0, 1.0, 2.0, -0.5]])
    np.testing.assert_array_equal(arr(nn.LPPool1d(math.inf, 2)(x)), [[3.0, 2.0]])


# ---- padding ------------------------------------------------------------------------------------
_NP_PAD = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@pytest.mark.parametrize("cls, args, shape", [
    (nn.ZeroPad1d, ((1, 2),), (2, 3, 4)),
    (nn.ZeroPad2d, ((1, 0, 2, 3),), (1, 2, 3)),
    (nn.ZeroPad3d, (1,), (1, 1, 2, 2, 2)),
    (nn.ConstantPad1d, (2, -1.5), (3, 4)),
    (nn.ConstantPad2d, ((0, 1, 1, 0), 2.0), (2, 1, 2, 3)),
    (nn.ConstantPad3d, ((1, 0, 0, 1, 2, 0), 0.5), (2, 2, 2, 2)),
    (nn.ReflectionPad1d, ((2, 1),), (2, 3, 4)),
    (nn.ReflectionPad2d, (1,), (2, 3, 3)),
    (nn.ReflectionPad3d, ((1, 0, 0, 1, 1, 1),), (1, 1, 3, 2, 2)),
    (nn.ReplicationPad1d, ((0, 3),), (3, 2)),
    (nn.ReplicationPad2d, ((2, 1, 0, 2),), (1, 2, 2, 3)),
    (nn.ReplicationPad3d, (1,), (2, 2, 2, 2)),
    (nn.CircularPad1d, ((1, 2),), (2, 1, 4)),
    (nn.CircularPad2d, ((1, 1, 2, 0),), (1, 3, 3)),
    (nn.CircularPad3d, ((0, 1, 1, 0, 1, 1),), (1, 2, 2, 3, 2)),
], ids=lambda v: getattr(v, "__name__", None))
def test_padding_matches_numpy(cls, args, shape):
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, shape)
    m = cls(*args)
    d = int(cls.__name__[-2])
    amounts = m.padding
    pads = [(0, 0)] * x.ndim
    for i in range(len(amounts) // 2):
        pads[x.ndim - 1 - i] = (amounts[2 * i], amounts[2 * i + 1])
    mode = next((v for k, v in _NP_PAD.items() if cls.__name__.lower().startswith(k[:5])),
                None)
    if mode is None:
        ref = np.pad(x, pads, constant_values=getattr(m, "value", 0.0))
    else:
        ref = np.pad(x, pads, mode=mode)
    assert len(amounts) == 2 * d
    np.testing.assert_array_equal(arr(m(tg.tensor(x))), ref)


def test_negative_padding_crops():
    x = tg.arange(12.0).reshape(1, 3, 4)
    np.testing.assert_array_equal(arr(nn.ZeroPad2d((-1, 0, 0, -1))(x)),
                                  x.numpy()[:, :2, 1:])


def test_padding_errors():
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D"):
        nn.CircularPad1d(1)(tg.zeros(1, 2, 3, 4))
    with pytest.raises(ValueError, match=r"expected 4D or 5D input \(got 3D"):
        nn.CircularPad3d(1)(tg.zeros(2, 3, 4))
    with pytest.raises(TypeError, match="padding must be an int or a tuple of 4 ints"):
        nn.ReflectionPad2d(1.5)
    with pytest.raises(TypeError, match="padding must be an int or a tuple of 2 ints"):
        nn.ZeroPad1d((1, "2"))
    with pytest.raises(ValueError):          # reflection needs amounts below the dim's size
        nn.ReflectionPad1d(3)(tg.zeros(1, 2, 3))
    with pytest.raises(NotImplementedError):
        nn.ReplicationPad2d(1)(tg.zeros(3, 4, 5, 6, 7))


# ---- PixelShuffle, PixelUnshuffle ---------------------------------------------------------------
def test_pixel_shuffle_matches_numpy_and_unshuffle_inverts():
    rng = np.random.default_rng(6)
    x = rng.uniform(-1, 1, (2, 3, 8, 2, 3))          # extra leading batch dim
    r = 2
    y = arr(nn.PixelShuffle(r)(tg.tensor(x)))
    c = 8 // (r * r)
    ref = x.reshape(2, 3, c, r, r, 2, 3).transpose(0, 1, 2, 5, 3, 6, 4).reshape(2, 3, c, 4, 6)
    np.testing.assert_array_equal(y, ref)
    np.testing.assert_array_equal(arr(nn.PixelUnshuffle(r)(tg.tensor(y))), x)
    with pytest.raises(ValueError):
        nn.PixelShuffle(3)(tg.zeros(1, 8, 2, 2))
    with pytest.raises(ValueError):
        nn.PixelUnshuffle(2)(tg.zeros(1, 1, 3, 4))


# ---- Upsample -----------------------------------------------------------------------------------
def test_upsample_nearest_matches_repeat():
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (2, 3, 4, 5))
    ref = x.repeat(2, axis=2).repeat(3, axis=3)
    np.testing.assert_array_equal(arr(nn.Upsample(scale_factor=(2, 3))(tg.tensor(x))), ref)
    np.testing.assert_array_equal(arr(nn.UpsamplingNearest2d(size=(8, 15))(tg.tensor(x))), ref)
    x1 = rng.uniform(-1, 1, (1, 2, 3))
    np.testing.assert_array_equal(arr(nn.Upsample(size=6)(tg.tensor(x1))), x1.repeat(2, -1))


def test_upsampling_bilinear_aligns_corners():
    rng = np.random.default_rng(8)
    x = rng.uniform(-1, 1, (1, 2, 3, 4))
    out = arr(nn.UpsamplingBilinear2d(size=(5, 7))(tg.tensor(x)))

    def interp_matrix(n_in, n_out):        # align_corners=True: corners map onto corners
        m = np.zeros((n_out, n_in))
        for o in range(n_out):
            src = o * (n_in - 1) / (n_out - 1)
            lo = min(int(np.floor(src)), n_in - 2)
            m[o, lo], m[o, lo + 1] = lo + 1 - src, src - lo
        return m
    ref = np.einsum("ph,nchw,qw->ncpq", interp_matrix(3, 5), x, interp_matrix(4, 7))
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-14)
    out = arr(nn.Upsample(scale_factor=2, mode="linear", align_corners=True)(
        tg.tensor(x[0])))
    np.testing.assert_allclose(out, np.einsum("ncw,qw->ncq", x[0], interp_matrix(4, 8)),
                               rtol=1e-12, atol=1e-14)


def test_upsample_errors_come_from_interpolate():
    with pytest.raises(ValueError):
        nn.Upsample(scale_factor=2, mode="cubic")(tg.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError):
        nn.Upsample(scale_factor=2, mode="bilinear")(tg.zeros(1, 1, 2))


# ---- gradcheck in the input ---------------------------------------------------------------------
GRADCHECK_CASES = [
    (lambda: nn.MaxPool2d(2, stride=1, padding=1), (1, 1, 3, 3)),
    (lambda: nn.AvgPool1d(3, stride=2, padding=1, count_include_pad=False), (1, 2, 5)),
    (lambda: nn.AvgPool3d(2, ceil_mode=True), (1, 1, 3, 2, 2)),
    (lambda: nn.AdaptiveAvgPool2d((2, 3)), (1, 3, 4)),
    (lambda: nn.AdaptiveMaxPool1d(2), (2, 5)),
    (lambda: nn.LPPool2d(3, 2, stride=1), (1, 1, 3, 3)),
    (lambda: nn.ReflectionPad2d((1, 0, 1, 2)), (1, 1, 3, 3)),
    (lambda: nn.ReplicationPad1d((2, 1)), (1, 2, 3)),
    (lambda: nn.CircularPad3d(1), (1, 1, 2, 2, 2)),
    (lambda: nn.ConstantPad2d(1, 2.0), (1, 2, 2)),
    (lambda: nn.PixelShuffle(2), (1, 4, 2, 2)),
    (lambda: nn.Upsample(size=(3, 5), mode="bicubic"), (1, 1, 2, 3)),
    (lambda: nn.UpsamplingBilinear2d(scale_factor=2), (1, 1, 2, 2)),
]


@pytest.mark.parametrize("make, shape", GRADCHECK_CASES)
def test_gradcheck_in_the_input(make, shape):
    rng = np.random.default_rng(9)
    x = tg.tensor(distinct(rng, *shape) + 2.0, requires_grad=True)   # positive for LP pooling
    assert gradcheck(make(), (x,), eps=1e-6, atol=1e-6, rtol=1e-5)


# ---- torch parity -------------------------------------------------------------------------------
PARITY_CASES = [   # (name, args, kwargs, input shape)
    ("MaxPool1d", (3,), dict(stride=2, padding=1, ceil_mode=True), (2, 3, 10)),
    ("MaxPool2d", (3,), dict(stride=2, padding=1, dilation=2), (2, 2, 9, 8)),
    ("MaxPool2d", ((2, 3),), dict(ceil_mode=True), (2, 7, 8)),
    ("MaxPool3d", (2,), dict(stride=1, padding=1), (1, 2, 3, 3, 4)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1, count_include_pad=False), (2, 3, 9)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True), (2, 2, 6, 7)),
    ("AvgPool2d", (2,), dict(divisor_override=3), (2, 4, 6)),
    ("AvgPool3d", ((2, 2, 3),), dict(stride=(1, 2, 2), padding=1), (1, 2, 3, 4, 5)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 9)),
    ("AdaptiveAvgPool2d", ((None, 3),), {}, (2, 5, 7)),
    ("AdaptiveAvgPool3d", (2,), {}, (1, 2, 3, 4, 5)),
    ("AdaptiveMaxPool1d", (3,), {}, (3, 10)),
    ("AdaptiveMaxPool2d", ((3, 2),), {}, (1, 2, 7, 5)),
    ("AdaptiveMaxPool3d", (2,), {}, (2, 3, 5, 4)),
    ("LPPool1d", (2, 3), dict(stride=2), (2, 3, 9)),
    ("LPPool2d", (1.5, 2), dict(ceil_mode=True), (1, 2, 5, 5)),
    ("LPPool3d", (3, 2), {}, (1, 1, 4, 4, 4)),
    ("ZeroPad1d", ((1, 2),), {}, (2, 3, 4)),
    ("ZeroPad2d", ((1, -1, 2, 0),), {}, (1, 2, 3, 4)),
    ("ZeroPad3d", (1,), {}, (1, 2, 2, 2)),
    ("ConstantPad1d", (2, 0.5), {}, (3, 4)),
    ("ConstantPad2d", ((0, 1, 1, 0), 2.0), {}, (2, 1, 2, 3)),
    ("ConstantPad3d", ((1, 0, 0, 1, 2, 0), -1.0), {}, (2, 2, 2, 2)),
    ("ReflectionPad1d", ((2, 1),), {}, (2, 3, 4)),
    ("ReflectionPad2d", (1,), {}, (2, 2, 3, 3)),
    ("ReflectionPad3d", ((1, 0, 0, 1, 1, 1),), {}, (1, 1, 3, 2, 2)),
    ("ReplicationPad1d", ((0, 3),), {}, (3, 2)),
    ("ReplicationPad2d", ((2, 1, 0, 2),), {}, (1, 2, 2, 3)),
    ("ReplicationPad3d", (1,), {}, (2, 2, 2, 2)),
    ("CircularPad1d", ((1, 2),), {}, (2, 1, 4)),
    ("CircularPad2d", ((1, 1, 2, 0),), {}, (1, 3, 3)),
    ("CircularPad3d", ((0, 1, 1, 0, 1, 1),), {}, (1, 2, 2, 3, 2)),
    ("PixelShuffle", (2,), {}, (2, 8, 3, 2)),
    ("PixelUnshuffle", (2,), {}, (1, 2, 4, 6)),
    ("Upsample", (), dict(scale_factor=2), (1, 2, 3, 4)),
    ("Upsample", (), dict(size=(5, 7), mode="bilinear"), (1, 2, 3, 4)),
    ("Upsample", (), dict(scale_factor=1.5, mode="bicubic", align_corners=True), (1, 1, 4, 4)),
    ("Upsample", (), dict(size=7, mode="linear"), (2, 3, 4)),
    ("Upsample", (), dict(scale_factor=(2, 1, 2), mode="trilinear"), (1, 1, 2, 3, 2)),
    ("Upsample", (), dict(size=(3, 5), mode="nearest-exact"), (1, 2, 5, 4)),
    ("UpsamplingNearest2d", (), dict(scale_factor=3), (1, 2, 2, 3)),
    ("UpsamplingBilinear2d", (), dict(size=(4, 5)), (1, 2, 3, 3)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, args, kwargs, shape", PARITY_CASES,
                         ids=lambda v: v if isinstance(v, str) else None)
def test_torch_parity(name, args, kwargs, shape, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    a = distinct(rng, *shape).astype(dtype)
    if name.startswith("LP"):
        a = a + 1.5                          # positive: x^p with a fractional p
    x, t = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    out, tout = ours(x), theirs(t)
    rtol, atol = (1e-5, 1e-6) if dtype == "float32" else (1e-10, 1e-12)
    np.testing.assert_allclose(arr(out), tout.detach().numpy(), rtol=rtol, atol=atol)
    g = rng.uniform(-1, 1, tuple(tout.shape)).astype(dtype)
    (out * tg.tensor(g)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("name, args, kwargs, shape", [
    ("MaxPool2d", (2,), dict(stride=1), (2, 2, 4, 5)),
    ("MaxPool1d", (3,), dict(padding=1), (3, 7)),
    ("MaxPool3d", (2,), {}, (1, 2, 4, 4, 4)),
    ("AdaptiveMaxPool2d", ((2, 3),), {}, (1, 2, 5, 7)),
])
def test_torch_parity_of_indices_and_unpool(name, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    a = distinct(rng, *shape)
    (y, i), (ty, ti) = (getattr(lib.nn, name)(*args, return_indices=True, **kwargs)(
        lib.tensor(a)) for lib in (tg, torch))
    np.testing.assert_array_equal(arr(y), ty.numpy())
    np.testing.assert_array_equal(arr(i), ti.numpy())
    if name.startswith("MaxPool"):
        d = int(name[-2])
        unpool = f"MaxUnpool{d}d"
        size = shape[-d:]
        ours = getattr(nn, unpool)(*args, **kwargs)(y, i, output_size=size)
        theirs = getattr(torch.nn, unpool)(*args, **kwargs)(ty, ti, output_size=size)
        assert repr(getattr(nn, unpool)(*args, **kwargs)) == \
            repr(getattr(torch.nn, unpool)(*args, **kwargs))
        np.testing.assert_array_equal(arr(ours), theirs.numpy())
