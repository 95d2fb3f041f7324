"""nn layers: Identity, Linear, Bilinear, Flatten, Unflatten, Conv1d/2d/3d,
ConvTranspose1d/2d/3d, Fold and Unfold.

Parameter names, shapes and default initialisation against PyTorch's documented ones, forward
against NumPy references written here, gradcheck on small float64 instances, reprs, errors,
and (when torch is installed) values and every gradient against torch.nn with the weights
copied over by name.
"""
import math
import warnings

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn as nn
from tapegrad.autograd import gradcheck


def arr(t):
    return t.detach().numpy()


def values(t):
    return arr(t).astype(np.float64).ravel()


def check_uniform(t, bound):
    """U(-bound, bound): bounds hold, the range is filled, mean and std match (~5 sigma)."""
    v = values(t)
    n = v.size
    assert np.abs(v).max() <= bound
    assert v.min() < -0.98 * bound and v.max() > 0.98 * bound
    assert abs(v.mean()) < 5 * bound / math.sqrt(3 * n)
    assert v.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)


def rand(rng, *shape, dtype=np.float64, grad=False):
    return tg.tensor(rng.uniform(-1, 1, shape).astype(dtype), requires_grad=grad)


def check_gradcheck(m, *inputs):
    """gradcheck of m(*inputs) in the inputs and every parameter (read through the module:
    gradcheck perturbs their storage in place)."""
    m.double()
    params = list(m.parameters())
    k = len(inputs)
    assert gradcheck(lambda *args: m(*args[:k]), (*inputs, *params), eps=1e-6, atol=1e-6,
                     rtol=1e-5)


# ---- NumPy references --------------------------------------------------------------------------
_NP_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def ref_conv(x, w, b, stride, pads, dilation, groups, mode="zeros"):
    """Direct N-d cross-correlation of a batched x; pads is ((lo, hi), ...) per dim."""
    d = w.ndim - 2
    x = np.pad(x, ((0, 0), (0, 0)) + tuple(pads), mode=_NP_MODES[mode])
    n, c = x.shape[:2]
    o, cg = w.shape[:2]
    og = o // groups
    k = w.shape[2:]
    outs = [(x.shape[2 + i] - dilation[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(d)]
    y = np.zeros((n, o, *outs))
    for pos in np.ndindex(*outs):
        window = tuple(slice(p * s, p * s + di * (kk - 1) + 1, di)
                       for p, s, di, kk in zip(pos, stride, dilation, k))
        patch = x[(slice(None), slice(None)) + window]           # (n, c, *k)
        for g in range(groups):
            pg = patch[:, g * cg:(g + 1) * cg].reshape(n, -1)
            wg = w[g * og:(g + 1) * og].reshape(og, -1)
            y[(slice(None), slice(g * og, (g + 1) * og)) + pos] = pg @ wg.T
    if b is not None:
        y += b.reshape((1, -1) + (1,) * d)
    return y


def ref_conv_transpose(x, w, b, stride, padding, output_padding, groups, dilation):
    """Scatter every input element times the kernel into the full output, then crop."""
    d = w.ndim - 2
    n, c = x.shape[:2]
    og = w.shape[1]
    cg = c // groups
    k = w.shape[2:]
    full = [(x.shape[2 + i] - 1) * stride[i] + dilation[i] * (k[i] - 1) + 1 + output_padding[i]
            for i in range(d)]
    y = np.zeros((n, og * groups, *full))
    for pos in np.ndindex(*x.shape[2:]):
        for tap in np.ndindex(*k):
            at = tuple(p * s + t * di for p, s, t, di in zip(pos, stride, tap, dilation))
            for g in range(groups):
                xs = x[(slice(None), slice(g * cg, (g + 1) * cg)) + pos]        # (n, cg)
                ws = w[(slice(g * cg, (g + 1) * cg), slice(None)) + tap]       # (cg, og)
                y[(slice(None), slice(g * og, (g + 1) * og)) + at] += xs @ ws
    crop = tuple(slice(p, f - p) for p, f in zip(padding, full))
    y = y[(slice(None), slice(None)) + crop]
    if b is not None:
        y = y + b.reshape((1, -1) + (1,) * d)
    return y


# ---- Identity, Flatten, Unflatten ---------------------------------------------------------------
def test_identity_ignores_arguments_and_passes_input_through():
    m = nn.Identity(3, 4, bias=False)
    x = tg.randn(2, 3)
    assert m(x) is x
    assert repr(m) == "Identity()"
    assert list(m.parameters()) == [] and m.state_dict() == {}


def test_flatten_and_unflatten():
    x = tg.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert nn.Flatten(-3, -2)(x).shape == (2, 12, 5)
    np.testing.assert_array_equal(arr(nn.Flatten()(x)), x.numpy().reshape(2, 60))
    y = tg.randn(4, 6, 5)
    out = nn.Unflatten(1, (2, 3))(y)
    assert out.shape == (4, 2, 3, 5)
    np.testing.assert_array_equal(arr(out), y.numpy().reshape(4, 2, 3, 5))
    assert nn.Unflatten(-1, [5, 1])(y).shape == (4, 6, 5, 1)
    assert nn.Unflatten(1, (-1, 3))(y).shape == (4, 2, 3, 5)
    assert nn.Unflatten(1, tg.Size([3, 2]))(y).shape == (4, 3, 2, 5)


def test_flatten_unflatten_reprs():
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Flatten(0, 2)) == "Flatten(start_dim=0, end_dim=2)"
    assert repr(nn.Unflatten(1, (2, 3))) == "Unflatten(dim=1, unflattened_size=(2, 3))"
    assert repr(nn.Unflatten(1, [2, 3])) == "Unflatten(dim=1, unflattened_size=[2, 3])"


def test_flatten_unflatten_gradients():
    x = tg.randn(2, 3, 4, requires_grad=True)
    nn.Unflatten(1, (4, 3))(nn.Flatten()(x)).pow(2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy(), rtol=1e-6)


def test_unflatten_errors():
    with pytest.raises(TypeError, match="element of type float at pos 0"):
        nn.Unflatten(1, (2.0, 3))
    with pytest.raises(TypeError, match="must be a tuple of ints, but found type int"):
        nn.Unflatten(1, 6)
    with pytest.raises(TypeError, match="named dims are not supported"):
        nn.Unflatten("features", (("a", 2), ("b", 3)))
    with pytest.raises(ValueError):
        nn.Unflatten(1, (4, 2))(tg.zeros(2, 6))


# ---- Linear -------------------------------------------------------------------------------------
def test_linear_parameters_names_shapes_and_repr():
    m = nn.Linear(3, 5)
    assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == [
        ("weight", (5, 3)), ("bias", (5,))]
    assert list(m.state_dict()) == ["weight", "bias"]
    assert m.weight.dtype == tg.float32 and m.weight.requires_grad
    assert isinstance(m.weight, nn.Parameter) and isinstance(m.bias, nn.Parameter)
    assert (m.in_features, m.out_features) == (3, 5)
    assert repr(m) == "Linear(in_features=3, out_features=5, bias=True)"
    m = nn.Linear(3, 5, bias=False)
    assert m.bias is None and list(m.state_dict()) == ["weight"]
    assert "bias" in m._parameters       # registered as None, as PyTorch does
    assert repr(m) == "Linear(in_features=3, out_features=5, bias=False)"


def test_linear_factory_kwargs():
    m = nn.Linear(3, 2, dtype=tg.float64, device="cpu")
    assert m.weight.dtype == tg.float64 and m.bias.dtype == tg.float64
    assert nn.Linear(3, 2, device=tg.device("cpu")).weight.dtype == tg.float32
    with pytest.raises(RuntimeError, match="CPU only"):
        nn.Linear(3, 2, device="cuda")


def test_linear_default_init_distribution():
    tg.manual_seed(0)
    m = nn.Linear(50, 4000)
    check_uniform(m.weight, 1 / math.sqrt(50))
    check_uniform(m.bias, 1 / math.sqrt(50))


def test_linear_init_is_seeded_and_reset_redraws():
    tg.manual_seed(3)
    a = nn.Linear(4, 3)
    tg.manual_seed(3)
    b = nn.Linear(4, 3)
    np.testing.assert_array_equal(arr(a.weight), arr(b.weight))
    np.testing.assert_array_equal(arr(a.bias), arr(b.bias))
    before = arr(a.weight).copy()
    a.reset_parameters()
    assert not np.array_equal(before, arr(a.weight))


def test_linear_zero_in_features_gives_zero_bias():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # "Initializing zero-element tensors is a no-op"
        m = nn.Linear(0, 3)
    np.testing.assert_array_equal(arr(m.bias), np.zeros(3))
    np.testing.assert_array_equal(arr(m(tg.zeros(2, 0))), np.zeros((2, 3)) + arr(m.bias))


def test_linear_forward_matches_numpy():
    m = nn.Linear(4, 3)
    x = tg.randn(2, 5, 4)
    w, b = arr(m.weight), arr(m.bias)
    np.testing.assert_allclose(arr(m(x)), x.numpy() @ w.T + b, rtol=1e-5, atol=1e-6)
    v = tg.randn(4)
    np.testing.assert_allclose(arr(m(v)), w @ v.numpy() + b, rtol=1e-5, atol=1e-6)
    m = nn.Linear(4, 3, bias=False)
    np.testing.assert_allclose(arr(m(x)), x.numpy() @ arr(m.weight).T, rtol=1e-5,
                               atol=1e-6)


def test_linear_backward_fills_parameter_grads():
    m = nn.Linear(4, 3)
    x = tg.randn(6, 4)
    m(x).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), np.tile(x.numpy().sum(0), (3, 1)),
                               rtol=1e-5)
    np.testing.assert_allclose(m.bias.grad.numpy(), np.full(3, 6.0))


def test_linear_errors():
    with pytest.raises(TypeError, match="in_features must be an int"):
        nn.Linear(3.0, 4)
    with pytest.raises(ValueError, match="out_features must be non-negative"):
        nn.Linear(3, -1)
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(3, 2)(tg.zeros(2, 4))


def test_linear_gradcheck():
    rng = np.random.default_rng(0)
    check_gradcheck(nn.Linear(3, 2), rand(rng, 2, 3, grad=True))
    check_gradcheck(nn.Linear(3, 2, bias=False), rand(rng, 4, 2, 3, grad=True))


# ---- Bilinear -----------------------------------------------------------------------------------
def test_bilinear_parameters_repr_and_init():
    m = nn.Bilinear(2, 3, 4)
    assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == [
        ("weight", (4, 2, 3)), ("bias", (4,))]
    assert repr(m) == "Bilinear(in1_features=2, in2_features=3, out_features=4, bias=True)"
    m = nn.Bilinear(2, 3, 4, bias=False)
    assert m.bias is None and list(m.state_dict()) == ["weight"]
    assert repr(m) == "Bilinear(in1_features=2, in2_features=3, out_features=4, bias=False)"
    tg.manual_seed(1)
    m = nn.Bilinear(30, 40, 3000)          # both drawn with bound 1/sqrt(in1_features)
    check_uniform(m.weight, 1 / math.sqrt(30))
    check_uniform(m.bias, 1 / math.sqrt(30))
    assert nn.Bilinear(2, 3, 4, dtype=tg.float64).weight.dtype == tg.float64


def test_bilinear_forward_matches_numpy_and_errors():
    m = nn.Bilinear(2, 3, 4)
    x1, x2 = tg.randn(5, 2), tg.randn(5, 3)
    ref = np.einsum("ni,kij,nj->nk", x1.numpy(), arr(m.weight), x2.numpy()) + arr(m.bias)
    np.testing.assert_allclose(arr(m(x1, x2)), ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"in1_features must be > 0, but got \(in1_features=0\)"):
        nn.Bilinear(0, 3, 4)
    with pytest.raises(ValueError):
        m(tg.randn(5, 3), tg.randn(5, 3))


def test_bilinear_gradcheck():
    rng = np.random.default_rng(1)
    check_gradcheck(nn.Bilinear(2, 3, 2), rand(rng, 3, 2, grad=True), rand(rng, 3, 3, grad=True))


# ---- convolutions: construction -----------------------------------------------------------------
@pytest.mark.parametrize("cls, d", [(nn.Conv1d, 1), (nn.Conv2d, 2), (nn.Conv3d, 3)])
def test_conv_parameters_and_attributes(cls, d):
    m = cls(4, 6, 3, groups=2)
    assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == [
        ("weight", (6, 2) + (3,) * d), ("bias", (6,))]
    assert m.kernel_size == (3,) * d and m.stride == (1,) * d and m.padding == (0,) * d
    assert m.dilation == (1,) * d and m.output_padding == (0,) * d
    assert m.transposed is False and m.groups == 2 and m.padding_mode == "zeros"
    assert (m.in_channels, m.out_channels) == (4, 6)
    m = cls(4, 6, 3, bias=False)
    assert m.bias is None and list(m.state_dict()) == ["weight"]


@pytest.mark.parametrize("cls, d", [(nn.ConvTranspose1d, 1), (nn.ConvTranspose2d, 2),
                                    (nn.ConvTranspose3d, 3)])
def test_conv_transpose_parameters_and_attributes(cls, d):
    m = cls(4, 6, 2, stride=2, groups=2, output_padding=1)
    assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == [
        ("weight", (4, 3) + (2,) * d), ("bias", (6,))]
    assert m.transposed is True and m.output_padding == (1,) * d and m.stride == (2,) * d


def test_conv_default_init_distribution():
    tg.manual_seed(0)
    m = nn.Conv2d(8, 3000, 3, groups=2)              # fan_in = 8 / 2 * 3 * 3 = 36
    check_uniform(m.weight, 1 / 6)
    check_uniform(m.bias, 1 / 6)
    m = nn.Conv1d(2, 3000, 5)                        # fan_in = 10
    check_uniform(m.weight, 1 / math.sqrt(10))
    check_uniform(m.bias, 1 / math.sqrt(10))


def test_conv_transpose_default_init_uses_weight_dim_1_as_pytorch():
    # PyTorch's fan_in for (in, out / groups, *k) weights is out / groups * prod(k).
    tg.manual_seed(0)
    m = nn.ConvTranspose2d(400, 2000, (1, 2), groups=2)   # fan_in = 1000 * 2
    check_uniform(m.weight, 1 / math.sqrt(2000))
    check_uniform(m.bias, 1 / math.sqrt(2000))


def test_conv_factory_kwargs_and_cast():
    m = nn.Conv2d(2, 3, 3, dtype=tg.float64, device="cpu")
    assert m.weight.dtype == tg.float64 and m.bias.dtype == tg.float64
    assert m.float().weight.dtype == tg.float32
    with pytest.raises(RuntimeError, match="CPU only"):
        nn.ConvTranspose2d(2, 3, 3, device="cuda:0")


@pytest.mark.parametrize("make, text", [
    (lambda: nn.Conv1d(2, 4, 3), "Conv1d(2, 4, kernel_size=(3,), stride=(1,))"),
    (lambda: nn.Conv1d(2, 4, 3, stride=2, padding=1, dilation=2, groups=2, bias=False,
                       padding_mode="reflect"),
     "Conv1d(2, 4, kernel_size=(3,), stride=(2,), padding=(1,), dilation=(2,), groups=2, "
     "bias=False, padding_mode=reflect)"),
    (lambda: nn.Conv2d(2, 4, (3, 1), padding="same"),
     "Conv2d(2, 4, kernel_size=(3, 1), stride=(1, 1), padding=same)"),
    (lambda: nn.Conv2d(2, 4, 3, padding="valid"),
     "Conv2d(2, 4, kernel_size=(3, 3), stride=(1, 1), padding=valid)"),
    (lambda: nn.Conv2d(2, 4, 3, padding=(1, 0), padding_mode="circular"),
     "Conv2d(2, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 0), padding_mode=circular)"),
    (lambda: nn.Conv2d(2, 4, [3, 3], stride=[1, 1]),
     "Conv2d(2, 4, kernel_size=(3, 3), stride=(1, 1))"),
    (lambda: nn.Conv3d(2, 4, 3, stride=(1, 2, 1)),
     "Conv3d(2, 4, kernel_size=(3, 3, 3), stride=(1, 2, 1))"),
    (lambda: nn.ConvTranspose1d(2, 4, 3), "ConvTranspose1d(2, 4, kernel_size=(3,), stride=(1,))"),
    (lambda: nn.ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1, groups=2,
                                bias=False, dilation=2),
     "ConvTranspose2d(2, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(2, 2), "
     "output_padding=(1, 1), groups=2, bias=False)"),
    (lambda: nn.ConvTranspose3d(2, 4, 3, output_padding=(0, 0, 0)),
     "ConvTranspose3d(2, 4, kernel_size=(3, 3, 3), stride=(1, 1, 1))"),
])
def test_conv_reprs(make, text):
    assert repr(make()) == text


def test_conv_in_a_sequential_repr():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 2))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))\n"
        "  (1): Flatten(start_dim=1, end_dim=-1)\n"
        "  (2): Linear(in_features=8, out_features=2, bias=True)\n"
        ")")
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


@pytest.mark.parametrize("make, amounts", [
    (lambda: nn.Conv2d(4, 4, 3, padding=1, padding_mode="circular"), (1, 1, 1, 1)),
    (lambda: nn.Conv2d(4, 4, (3, 4), padding=(1, 2)), (2, 2, 1, 1)),
    (lambda: nn.Conv2d(4, 4, (3, 4), padding="same", dilation=(1, 2)), [3, 3, 1, 1]),
    (lambda: nn.Conv2d(4, 4, (3, 4), padding="valid"), [0, 0, 0, 0]),
    (lambda: nn.Conv1d(4, 4, 4, padding="same"), [1, 2]),
    (lambda: nn.Conv3d(4, 4, (1, 2, 3), padding=(0, 1, 2)), (2, 2, 1, 1, 0, 0)),
])
def test_reversed_padding_repeated_twice(make, amounts):
    assert make()._reversed_padding_repeated_twice == amounts


@pytest.mark.parametrize("make, error, match", [
    (lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError, "in_channels must be divisible by groups"),
    (lambda: nn.Conv2d(4, 3, 3, groups=2), ValueError,
     "out_channels must be divisible by groups"),
    (lambda: nn.Conv2d(4, 4, 3, groups=0), ValueError, "groups must be a positive integer"),
    (lambda: nn.Conv2d(4, 4, 3, padding="full"), ValueError, "Invalid padding string 'full'"),
    (lambda: nn.Conv2d(4, 4, 3, padding="same", stride=2), ValueError,
     "not supported for strided convolutions"),
    (lambda: nn.Conv2d(4, 4, 3, padding_mode="mirror"), ValueError,
     "padding_mode must be one of"),
    (lambda: nn.ConvTranspose2d(4, 4, 3, padding_mode="reflect"), ValueError,
     'Only "zeros" padding mode is supported for ConvTranspose2d'),
    (lambda: nn.ConvTranspose2d(4, 4, 3, padding="same"), TypeError, "take no 'same'"),
    (lambda: nn.Conv2d(4, 4, (1, 2, 3)), ValueError, "kernel_size must be an int or a tuple of 2"),
    (lambda: nn.Conv2d(4, 4, 0), ValueError, "kernel_size must be at least 1"),
    (lambda: nn.Conv1d(4, 4, 3, stride=0), ValueError, "stride must be at least 1"),
    (lambda: nn.Conv1d(4, 4, 3, padding=-1), ValueError, "padding must be at least 0"),
    (lambda: nn.Conv1d(4, 4, 3.0), TypeError, "kernel_size must be an int"),
    (lambda: nn.Conv1d(4.0, 4, 3), TypeError, "in_channels must be an int"),
])
def test_conv_construction_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


# ---- convolutions: forward against references ---------------------------------------------------
CONV_CASES = [   # (class, args, kwargs, input shape)
    (nn.Conv1d, (2, 4, 3), {}, (2, 2, 7)),
    (nn.Conv1d, (4, 6, 3), dict(stride=2, padding=1, dilation=2, groups=2, bias=False,
                                padding_mode="reflect"), (2, 4, 9)),
    (nn.Conv1d, (2, 3, 4), dict(padding="same", padding_mode="circular"), (1, 2, 6)),
    (nn.Conv1d, (2, 3, 3), dict(padding=2, padding_mode="replicate"), (2, 5)),   # unbatched
    (nn.Conv2d, (3, 4, 3), dict(padding=1), (2, 3, 5, 6)),
    (nn.Conv2d, (4, 4, (3, 2)), dict(stride=(2, 1), padding=(1, 0), groups=4,
                                     padding_mode="replicate"), (2, 4, 6, 5)),
    (nn.Conv2d, (2, 3, (3, 4)), dict(padding="same", dilation=(1, 2), padding_mode="reflect"),
     (1, 2, 6, 8)),
    (nn.Conv2d, (2, 3, (2, 3)), dict(padding="same"), (1, 2, 5, 5)),
    (nn.Conv2d, (2, 3, 3), dict(padding="valid", padding_mode="circular"), (3, 2, 5, 4)),
    (nn.Conv3d, (2, 3, (2, 3, 2)), dict(padding=(1, 0, 1), padding_mode="circular"),
     (1, 2, 3, 4, 3)),
    (nn.Conv3d, (2, 4, 2), dict(stride=2, groups=2), (2, 2, 4, 4, 4)),
]


def _pads(m, x_ndim):
    """The ((lo, hi), ...) padding the reference applies (before it convolves unpadded)."""
    amounts = m._reversed_padding_repeated_twice
    d = len(m.kernel_size)
    return tuple((amounts[2 * (d - 1 - i)], amounts[2 * (d - 1 - i) + 1]) for i in range(d))


@pytest.mark.parametrize("cls, args, kwargs, shape", CONV_CASES,
                         ids=lambda v: getattr(v, "__name__", None))
def test_conv_forward_matches_reference(cls, args, kwargs, shape):
    rng = np.random.default_rng(0)
    m = cls(*args, **kwargs).double()
    x = rng.uniform(-1, 1, shape)
    batched = x.ndim == len(m.kernel_size) + 2
    xb = x if batched else x[None]
    ref = ref_conv(xb, arr(m.weight), None if m.bias is None else arr(m.bias), m.stride,
                   _pads(m, x.ndim), m.dilation, m.groups, m.padding_mode)
    out = m(tg.tensor(x))
    np.testing.assert_allclose(arr(out), ref if batched else ref[0], rtol=1e-10, atol=1e-12)
    if m.padding == "same":
        assert out.shape[-len(m.kernel_size):] == shape[-len(m.kernel_size):]


CONV_T_CASES = [   # (class, args, kwargs, input shape, output_size or None)
    (nn.ConvTranspose1d, (2, 4, 3), dict(stride=2, padding=1, output_padding=1), (2, 2, 5),
     None),
    (nn.ConvTranspose1d, (4, 6, 3), dict(stride=3, groups=2, dilation=2, bias=False), (4, 4),
     None),
    (nn.ConvTranspose2d, (4, 6, 3), dict(stride=2, groups=2, dilation=2, bias=False),
     (2, 4, 3, 4), None),
    (nn.ConvTranspose2d, (3, 2, (2, 3)), dict(stride=(2, 1), padding=(0, 1)), (1, 3, 4, 3),
     None),
    (nn.ConvTranspose2d, (2, 3, 3), dict(stride=2, padding=1), (1, 2, 4, 4), [8, 7]),
    (nn.ConvTranspose2d, (2, 3, 3), dict(stride=3), (2, 3, 3), (3, 10, 11)),
    (nn.ConvTranspose3d, (2, 3, 2), dict(stride=(2, 1, 2)), (1, 2, 2, 3, 2), None),
    (nn.ConvTranspose3d, (2, 2, 3), dict(stride=2, padding=1, groups=2), (1, 2, 2, 2, 3),
     (4, 4, 6)),
]


@pytest.mark.parametrize("cls, args, kwargs, shape, size", CONV_T_CASES,
                         ids=lambda v: getattr(v, "__name__", None))
def test_conv_transpose_forward_matches_reference(cls, args, kwargs, shape, size):
    rng = np.random.default_rng(1)
    m = cls(*args, **kwargs).double()
    x = rng.uniform(-1, 1, shape)
    d = len(m.kernel_size)
    batched = x.ndim == d + 2
    out = m(tg.tensor(x), output_size=size)
    extra = m.output_padding
    if size is not None:     # the output_padding the requested size implies
        wanted = tuple(size)[-d:]
        smallest = [(n - 1) * s - 2 * p + di * (k - 1) + 1 for n, s, p, di, k in
                    zip(x.shape[-d:], m.stride, m.padding, m.dilation, m.kernel_size)]
        extra = tuple(w - s for w, s in zip(wanted, smallest))
        assert out.shape[-d:] == wanted
    ref = ref_conv_transpose(x if batched else x[None], arr(m.weight),
                             None if m.bias is None else arr(m.bias), m.stride, m.padding,
                             extra, m.groups, m.dilation)
    np.testing.assert_allclose(arr(out), ref if batched else ref[0], rtol=1e-10,
                               atol=1e-12)


def test_conv_transpose_output_size_errors():
    m = nn.ConvTranspose2d(4, 4, 3, stride=2)
    x = tg.randn(1, 4, 5, 5)
    assert m(x, output_size=[11, 11]).shape == (1, 4, 11, 11)
    assert m(x, output_size=tg.Size([1, 4, 12, 12])).shape == (1, 4, 12, 12)
    with pytest.raises(ValueError, match=r"valid sizes range from \[11, 11\] to \[12, 12\]"):
        m(x, output_size=[13, 12])
    with pytest.raises(ValueError, match="output_size must have 2 or 4 elements"):
        m(x, output_size=[4, 12, 12])
    with pytest.raises(TypeError, match="output_size must be a tuple or list"):
        m(x, output_size=12)
    assert m(tg.randn(4, 5, 5), output_size=[4, 12, 12]).shape == (4, 12, 12)


def test_conv_forward_errors_come_from_the_functional():
    with pytest.raises(ValueError, match="channels"):
        nn.Conv2d(3, 4, 3)(tg.zeros(1, 2, 5, 5))
    with pytest.raises(ValueError, match="3-D .unbatched. or 4-D"):
        nn.Conv2d(3, 4, 3)(tg.zeros(5, 5))


def test_conv_padding_mode_errors_name_the_layer():
    # Regression: with a padding_mode other than 'zeros' the layer pads with F.pad first, so
    # a too-small or wrong-rank input got pad's message ("pad: ..."), naming a function the
    # user never called instead of the layer.
    m = nn.Conv2d(1, 1, 3, padding=2, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"Conv2d\(padding_mode='reflect', padding=\(2, 2\)\): "
                       r"pad: reflect padding \(2, 2\) must be less than the size 2"):
        m(tg.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match=r"Conv2d: expected a 3-D \(unbatched\) or 4-D "
                       r"\(batched\) input, got shape \(1, 1, 1, 5, 5\)"):
        m(tg.zeros(1, 1, 1, 5, 5))
    with pytest.raises(ValueError, match="Conv1d: expected a 2-D"):
        nn.Conv1d(1, 1, 2, padding=1, padding_mode="circular")(tg.zeros(5))


def test_conv_conv_forward_hook_uses_the_given_weight():
    m = nn.Conv1d(1, 1, 2, bias=False)
    out = m._conv_forward(tg.tensor([[[1.0, 2.0, 4.0]]]), tg.tensor([[[-1.0, 1.0]]]), None)
    np.testing.assert_array_equal(arr(out), [[[1.0, 2.0]]])


# ---- convolutions and linear layers: gradcheck --------------------------------------------------
GRADCHECK_CASES = [
    (nn.Conv1d, (2, 2, 2), dict(padding=1, padding_mode="reflect"), (1, 2, 3)),
    (nn.Conv1d, (2, 2, 2), dict(stride=2, groups=2, padding="valid"), (2, 4)),
    (nn.Conv2d, (2, 2, 2), dict(padding=1, padding_mode="circular"), (1, 2, 2, 3)),
    (nn.Conv2d, (1, 2, (2, 1)), dict(padding="same", padding_mode="replicate", bias=False),
     (1, 1, 3, 2)),
    (nn.Conv3d, (1, 2, 2), dict(padding=(1, 0, 0)), (1, 1, 2, 2, 2)),
    (nn.ConvTranspose1d, (2, 2, 2), dict(stride=2, output_padding=1), (1, 2, 2)),
    (nn.ConvTranspose2d, (2, 2, 2), dict(stride=2, padding=1, groups=2), (1, 2, 2, 2)),
    (nn.ConvTranspose3d, (1, 2, 2), dict(dilation=2), (1, 1, 1, 2, 1)),
]


@pytest.mark.parametrize("cls, args, kwargs, shape", GRADCHECK_CASES,
                         ids=lambda v: getattr(v, "__name__", None))
def test_conv_gradcheck(cls, args, kwargs, shape):
    rng = np.random.default_rng(2)
    check_gradcheck(cls(*args, **kwargs), rand(rng, *shape, grad=True))


# ---- Fold and Unfold ----------------------------------------------------------------------------
def ref_unfold(x, k, dilation, padding, stride):
    x = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    n, c, h, w = x.shape
    oh = (h - dilation[0] * (k[0] - 1) - 1) // stride[0] + 1
    ow = (w - dilation[1] * (k[1] - 1) - 1) // stride[1] + 1
    cols = np.zeros((n, c, k[0], k[1], oh, ow))
    for i in range(k[0]):
        for j in range(k[1]):
            r, s = i * dilation[0], j * dilation[1]
            rows = slice(r, r + stride[0] * oh, stride[0])
            cols[:, :, i, j] = x[:, :, rows, s:s + stride[1] * ow:stride[1]]
    return cols.reshape(n, c * k[0] * k[1], oh * ow)


def test_unfold_fold_forward_and_adjointness():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (2, 3, 5, 6))
    m = nn.Unfold((2, 3), dilation=(1, 2), padding=1, stride=(2, 1))
    cols = m(tg.tensor(x))
    ref = ref_unfold(x, (2, 3), (1, 2), (1, 1), (2, 1))
    np.testing.assert_allclose(arr(cols), ref, rtol=1e-12)
    fold = nn.Fold((5, 6), (2, 3), dilation=(1, 2), padding=1, stride=(2, 1))
    c = rng.uniform(-1, 1, ref.shape)
    # <unfold(x), c> == <x, fold(c)>: Fold is Unfold's adjoint.
    assert np.sum(ref * c) == pytest.approx(np.sum(x * arr(fold(tg.tensor(c)))), rel=1e-12)
    assert nn.Fold(4, 2)(tg.ones(4, 9)).shape == (1, 4, 4)       # unbatched


def test_fold_unfold_reprs_and_errors():
    assert repr(nn.Fold((4, 5), 2)) == \
        "Fold(output_size=(4, 5), kernel_size=2, dilation=1, padding=0, stride=1)"
    assert repr(nn.Fold(4, 2, dilation=2, padding=1, stride=2)) == \
        "Fold(output_size=4, kernel_size=2, dilation=2, padding=1, stride=2)"
    assert repr(nn.Unfold(2)) == "Unfold(kernel_size=2, dilation=1, padding=0, stride=1)"
    assert repr(nn.Unfold((2, 3), padding=1)) == \
        "Unfold(kernel_size=(2, 3), dilation=1, padding=1, stride=1)"
    with pytest.raises(ValueError, match="divisible by the kernel"):
        nn.Fold((3, 3), 2)(tg.zeros(1, 5, 4))
    with pytest.raises(ValueError, match="3-D .unbatched. or 4-D"):
        nn.Unfold(2)(tg.zeros(4, 4))


def test_fold_unfold_gradcheck():
    rng = np.random.default_rng(4)
    assert gradcheck(nn.Unfold(2, padding=1, stride=2), (rand(rng, 1, 2, 3, 3, grad=True),))
    assert gradcheck(nn.Fold((3, 3), 2), (rand(rng, 1, 8, 4, grad=True),))


# ---- torch parity -------------------------------------------------------------------------------
PARITY_CASES = [   # (name, args, kwargs, input shapes, forward kwargs)
    ("Linear", (5, 3), {}, [(2, 4, 5)], {}),
    ("Linear", (5, 3), dict(bias=False), [(5,)], {}),
    ("Bilinear", (3, 4, 2), {}, [(5, 3), (5, 4)], {}),
    ("Bilinear", (3, 4, 2), dict(bias=False), [(2, 3, 3), (2, 3, 4)], {}),
    ("Flatten", (1, 2), {}, [(2, 3, 4, 5)], {}),
    ("Unflatten", (1, (3, 2)), {}, [(2, 6, 4)], {}),
] + [(cls.__name__, args, kwargs, [shape], {}) for cls, args, kwargs, shape in CONV_CASES] + [
    (cls.__name__, args, kwargs, [shape], {} if size is None else {"output_size": size})
    for cls, args, kwargs, shape, size in CONV_T_CASES] + [
    ("Unfold", ((2, 3),), dict(dilation=(1, 2), padding=1, stride=(2, 1)), [(2, 3, 5, 6)], {}),
    ("Fold", ((4, 5), 2), dict(stride=(2, 1)), [(2, 12, 8)], {}),
]


def _copy_parameters(ours, theirs, torch):
    """Copy our parameters into torch's module by name (the state dict keys must agree)."""
    state = ours.state_dict()
    assert list(state) == list(theirs.state_dict())
    with torch.no_grad():
        for name, value in state.items():
            target = theirs.get_parameter(name)
            assert tuple(target.shape) == tuple(value.shape)
            target.copy_(torch.from_numpy(value.numpy().copy()))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, args, kwargs, shapes, fkw", PARITY_CASES,
                         ids=lambda v: v if isinstance(v, str) else None)
def test_torch_parity(name, args, kwargs, shapes, fkw, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    ours = getattr(nn, name)(*args, **kwargs)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    if dtype == "float64":
        ours.double()
        theirs.double()
    assert repr(ours) == repr(theirs)
    _copy_parameters(ours, theirs, torch)
    arrays = [rng.uniform(-1, 1, s).astype(dtype) for s in shapes]
    xs = [tg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = ours(*xs, **fkw), theirs(*ts, **fkw)
    rtol, atol = (1e-5, 1e-6) if dtype == "float32" else (1e-10, 1e-12)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=rtol, atol=atol)
    g = rng.uniform(-1, 1, tuple(tout.shape)).astype(dtype)
    (out * tg.tensor(g)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)
    for (n, p), (tn, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n == tn
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=n)


@pytest.mark.parametrize("name, args, kwargs", [
    ("Linear", (3, 4), {}), ("Bilinear", (2, 3, 4), {}), ("Conv1d", (4, 6, 3), dict(groups=2)),
    ("Conv2d", (2, 3, (3, 1)), dict(padding="same", padding_mode="reflect")),
    ("Conv3d", (2, 4, 3), dict(bias=False)), ("ConvTranspose1d", (4, 6, 3), dict(groups=2)),
    ("ConvTranspose2d", (2, 3, 3), dict(stride=2, output_padding=1)),
    ("ConvTranspose3d", (2, 3, 2), {})])
def test_torch_parity_of_names_shapes_and_attributes(name, args, kwargs):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    for attr in ("kernel_size", "stride", "padding", "dilation", "output_padding", "groups",
                 "padding_mode", "transposed", "_reversed_padding_repeated_twice",
                 "in_features", "out_features", "in1_features", "in2_features"):
        if hasattr(theirs, attr):
            assert getattr(ours, attr) == getattr(theirs, attr), attr


def test_torch_state_dict_loads_into_ours():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.Flatten(),
                                 torch.nn.Linear(4 * 5 * 5, 3), torch.nn.Identity())
    ours = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.Flatten(), nn.Linear(4 * 5 * 5, 3),
                         nn.Identity())
    state = {k: tg.tensor(v.numpy()) for k, v in theirs.state_dict().items()}
    assert repr(ours.load_state_dict(state)) == "<All keys matched successfully>"
    a = np.random.default_rng(6).uniform(-1, 1, (2, 2, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(arr(ours(tg.tensor(a))),
                               theirs(torch.tensor(a)).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert repr(ours) == repr(theirs)


def test_deepcopy_gives_independent_layers():
    import copy
    m = nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect")
    c = copy.deepcopy(m)
    assert repr(c) == repr(m) and c._reversed_padding_repeated_twice == (1, 1, 1, 1)
    with tg.no_grad():
        c.weight.mul_(0)
    assert float(m.weight.abs().sum()) > 0
    x = tg.randn(1, 2, 4, 4)
    np.testing.assert_allclose(arr(c(x)), np.broadcast_to(arr(c.bias)[:, None, None],
                                                          (1, 3, 4, 4)), rtol=1e-6)
