"""Activation and distance modules (tapegrad.nn.modules.activation / distance): repr, the
forward against the functional call, torch parity of outputs and gradients, PReLU's parameter
(initialisation, gradcheck), RReLU's train/eval modes, and errors."""
import warnings

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn as nn
import tapegrad.nn.functional as F
from tapegrad._core.errors import ArgumentError, ShapeError
from tapegrad.autograd import gradcheck

# ---- repr ----------------------------------------------------------------------------------------
# (constructor, PyTorch 2.13's repr of the same constructor), written out literally.
REPRS = [
    ("nn.ReLU()", "ReLU()"),
    ("nn.ReLU(inplace=True)", "ReLU(inplace=True)"),
    ("nn.ReLU6()", "ReLU6()"),
    ("nn.ReLU6(True)", "ReLU6(inplace=True)"),
    ("nn.LeakyReLU()", "LeakyReLU(negative_slope=0.01)"),
    ("nn.LeakyReLU(0.2, True)", "LeakyReLU(negative_slope=0.2, inplace=True)"),
    ("nn.ELU()", "ELU(alpha=1.0)"),
    ("nn.ELU(2.0, True)", "ELU(alpha=2.0, inplace=True)"),
    ("nn.SELU()", "SELU()"),
    ("nn.SELU(True)", "SELU(inplace=True)"),
    ("nn.CELU()", "CELU(alpha=1.0)"),
    ("nn.CELU(0.5, True)", "CELU(alpha=0.5, inplace=True)"),
    ("nn.GELU()", "GELU(approximate='none')"),
    ("nn.GELU('tanh')", "GELU(approximate='tanh')"),
    ("nn.SiLU()", "SiLU()"),
    ("nn.SiLU(True)", "SiLU(inplace=True)"),
    ("nn.Mish()", "Mish()"),
    ("nn.Mish(True)", "Mish(inplace=True)"),
    ("nn.Softplus()", "Softplus(beta=1.0, threshold=20.0)"),
    ("nn.Softplus(2, 10)", "Softplus(beta=2, threshold=10)"),
    ("nn.Softsign()", "Softsign()"),
    ("nn.Hardtanh()", "Hardtanh(min_val=-1.0, max_val=1.0)"),
    ("nn.Hardtanh(-2, 3, True)", "Hardtanh(min_val=-2, max_val=3, inplace=True)"),
    ("nn.Hardsigmoid()", "Hardsigmoid()"),
    ("nn.Hardsigmoid(True)", "Hardsigmoid()"),
    ("nn.Hardswish(True)", "Hardswish()"),
    ("nn.Hardshrink()", "Hardshrink(0.5)"),
    ("nn.Hardshrink(1)", "Hardshrink(1)"),
    ("nn.Softshrink(0.3)", "Softshrink(0.3)"),
    ("nn.Tanhshrink()", "Tanhshrink()"),
    ("nn.Threshold(0.1, 20)", "Threshold(threshold=0.1, value=20)"),
    ("nn.Threshold(1, 2, True)", "Threshold(threshold=1, value=2, inplace=True)"),
    ("nn.LogSigmoid()", "LogSigmoid()"),
    ("nn.Sigmoid()", "Sigmoid()"),
    ("nn.Tanh()", "Tanh()"),
    ("nn.PReLU()", "PReLU(num_parameters=1)"),
    ("nn.PReLU(3, 0.1)", "PReLU(num_parameters=3)"),
    ("nn.RReLU()", "RReLU(lower=0.125, upper=0.3333333333333333)"),
    ("nn.RReLU(0.1, 0.3, True)", "RReLU(lower=0.1, upper=0.3, inplace=True)"),
    ("nn.GLU()", "GLU(dim=-1)"),
    ("nn.GLU(1)", "GLU(dim=1)"),
    ("nn.Softmax()", "Softmax(dim=None)"),
    ("nn.Softmax(1)", "Softmax(dim=1)"),
    ("nn.LogSoftmax(-1)", "LogSoftmax(dim=-1)"),
    ("nn.Softmin(dim=0)", "Softmin(dim=0)"),
    ("nn.Softmax2d()", "Softmax2d()"),
    ("nn.CosineSimilarity(0, 1e-3)", "CosineSimilarity()"),
    ("nn.PairwiseDistance(1, 1e-3, True)", "PairwiseDistance()"),
]


@pytest.mark.parametrize("ctor, expected", REPRS, ids=[c for c, _ in REPRS])
def test_repr(ctor, expected):
    assert repr(eval(ctor)) == expected


def test_repr_in_a_sequential():
    model = nn.Sequential(nn.ReLU(), nn.LeakyReLU(0.1), nn.Softmax(dim=1))
    assert repr(model) == ("Sequential(\n  (0): ReLU()\n  (1): LeakyReLU(negative_slope=0.1)\n"
                           "  (2): Softmax(dim=1)\n)")


def test_repr_table_matches_torch():
    torch = pytest.importorskip("torch")
    for ctor, expected in REPRS:
        assert repr(eval(ctor, {"nn": torch.nn})) == expected, ctor


# ---- attributes ----------------------------------------------------------------------------------
ATTRS = [
    ("nn.ReLU()", {"inplace": False}),
    ("nn.ReLU6()", {"min_val": 0.0, "max_val": 6.0, "inplace": False}),
    ("nn.LeakyReLU()", {"negative_slope": 0.01, "inplace": False}),
    ("nn.ELU()", {"alpha": 1.0, "inplace": False}),
    ("nn.CELU()", {"alpha": 1.0, "inplace": False}),
    ("nn.GELU()", {"approximate": "none"}),
    ("nn.Softplus()", {"beta": 1.0, "threshold": 20.0}),
    ("nn.Hardtanh()", {"min_val": -1.0, "max_val": 1.0, "inplace": False}),
    ("nn.Hardshrink()", {"lambd": 0.5}),
    ("nn.Softshrink()", {"lambd": 0.5}),
    ("nn.Threshold(1.5, 2.5)", {"threshold": 1.5, "value": 2.5, "inplace": False}),
    ("nn.PReLU()", {"num_parameters": 1, "init": 0.25}),
    ("nn.RReLU()", {"lower": 0.125, "upper": 1 / 3, "inplace": False}),
    ("nn.GLU()", {"dim": -1}),
    ("nn.Softmax()", {"dim": None}),
    ("nn.CosineSimilarity()", {"dim": 1, "eps": 1e-8}),
    ("nn.PairwiseDistance()", {"norm": 2.0, "eps": 1e-6, "keepdim": False}),
]


@pytest.mark.parametrize("ctor, attrs", ATTRS, ids=[c for c, _ in ATTRS])
def test_default_attributes(ctor, attrs):
    m = eval(ctor)
    assert {k: getattr(m, k) for k in attrs} == attrs


@pytest.mark.parametrize("ctor, attrs", ATTRS, ids=[c for c, _ in ATTRS])
def test_default_attributes_match_torch(ctor, attrs):
    torch = pytest.importorskip("torch")
    ref = eval(ctor, {"nn": torch.nn})
    assert {k: getattr(ref, k) for k in attrs} == attrs


def test_relu6_is_a_hardtanh():
    assert isinstance(nn.ReLU6(), nn.Hardtanh)


def test_parameter_free_modules_hold_no_state():
    for ctor, _ in REPRS:
        m = eval(ctor)
        if isinstance(m, nn.PReLU):
            continue
        assert list(m.parameters()) == [] and list(m.buffers()) == [], ctor
        assert list(m.state_dict()) == [], ctor


# ---- forward == the functional call --------------------------------------------------------------
def _x(shape=(2, 3, 4), seed=0, dtype=np.float32, lo=-3.0, hi=3.0):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(dtype)


# (module, the functional call it stands for)
FUNCTIONAL = [
    (nn.ReLU(), lambda x: F.relu(x)),
    (nn.ReLU6(), lambda x: F.relu6(x)),
    (nn.LeakyReLU(0.2), lambda x: F.leaky_relu(x, 0.2)),
    (nn.ELU(0.7), lambda x: F.elu(x, 0.7)),
    (nn.SELU(), F.selu),
    (nn.CELU(1.5), lambda x: F.celu(x, 1.5)),
    (nn.GELU(), F.gelu),
    (nn.GELU("tanh"), lambda x: F.gelu(x, approximate="tanh")),
    (nn.SiLU(), F.silu),
    (nn.Mish(), F.mish),
    (nn.Softplus(2.0, 3.0), lambda x: F.softplus(x, 2.0, 3.0)),
    (nn.Softsign(), F.softsign),
    (nn.Hardtanh(-0.5, 2.0), lambda x: F.hardtanh(x, -0.5, 2.0)),
    (nn.Hardsigmoid(), F.hardsigmoid),
    (nn.Hardswish(), F.hardswish),
    (nn.Hardshrink(1.0), lambda x: F.hardshrink(x, 1.0)),
    (nn.Softshrink(1.0), lambda x: F.softshrink(x, 1.0)),
    (nn.Tanhshrink(), F.tanhshrink),
    (nn.Threshold(0.5, -2.0), lambda x: F.threshold(x, 0.5, -2.0)),
    (nn.LogSigmoid(), F.logsigmoid),
    (nn.Sigmoid(), F.sigmoid),
    (nn.Tanh(), F.tanh),
    (nn.RReLU(0.1, 0.4).eval(), lambda x: F.rrelu(x, 0.1, 0.4)),
    (nn.GLU(1), lambda x: F.glu(x, 1)),
    (nn.Softmax(dim=2), lambda x: F.softmax(x, dim=2)),
    (nn.LogSoftmax(dim=0), lambda x: F.log_softmax(x, dim=0)),
    (nn.Softmin(dim=1), lambda x: F.softmin(x, dim=1)),
    (nn.Softmax2d(), lambda x: F.softmax(x, dim=-3)),
]


@pytest.mark.parametrize("module, fn", FUNCTIONAL, ids=[repr(m) for m, _ in FUNCTIONAL])
def test_forward_is_the_functional_call(module, fn):
    x = tg.tensor(_x((2, 4, 3)))
    np.testing.assert_array_equal(module(x).numpy(), fn(x).numpy())


def test_prelu_forward_is_the_functional_call():
    m = nn.PReLU(4, 0.3)
    x = tg.tensor(_x((2, 4, 3)))
    np.testing.assert_array_equal(m(x).detach().numpy(), F.prelu(x, m.weight).detach().numpy())


def test_distance_forward_is_the_functional_call():
    a, b = tg.tensor(_x((3, 4), 1)), tg.tensor(_x((3, 4), 2))
    np.testing.assert_array_equal(nn.CosineSimilarity(0, 1e-3)(a, b).numpy(),
                                  F.cosine_similarity(a, b, 0, 1e-3).numpy())
    np.testing.assert_array_equal(nn.PairwiseDistance(1.0, 1e-3, True)(a, b).numpy(),
                                  F.pairwise_distance(a, b, 1.0, 1e-3, True).numpy())


INPLACE = ["nn.ReLU(True)", "nn.ReLU6(True)", "nn.LeakyReLU(0.1, True)", "nn.ELU(1.0, True)",
           "nn.SELU(True)", "nn.CELU(1.0, True)", "nn.SiLU(True)", "nn.Mish(True)",
           "nn.Hardtanh(-1, 1, True)", "nn.Hardsigmoid(True)", "nn.Hardswish(True)",
           "nn.Threshold(0.1, 5.0, True)", "nn.RReLU(0.1, 0.3, True)"]


@pytest.mark.parametrize("ctor", INPLACE)
def test_inplace_writes_into_the_input(ctor):
    data = _x((3, 4))
    x = tg.tensor(data)
    m, ref = eval(ctor).eval(), eval(ctor.replace("True", "False")).eval()
    out = m(x)
    assert out is x
    np.testing.assert_array_equal(x.numpy(), ref(tg.tensor(data)).numpy())


def test_not_inplace_leaves_the_input_alone():
    data = _x((3, 4))
    x = tg.tensor(data)
    for m in (nn.ReLU(), nn.LeakyReLU(), nn.ELU(), nn.Hardtanh(), nn.Threshold(0.0, 1.0)):
        m(x)
        np.testing.assert_array_equal(x.numpy(), data)


# ---- torch parity: outputs and gradients ---------------------------------------------------------
# (constructor, input shape); the constructor is evaluated with nn bound to each library.
PARITY = [
    ("nn.ReLU()", (2, 3, 4)),
    ("nn.ReLU6()", (5, 4)),
    ("nn.LeakyReLU()", (5, 4)),
    ("nn.LeakyReLU(0.3)", (5, 4)),
    ("nn.ELU()", (5, 4)),
    ("nn.ELU(0.5)", (5, 4)),
    ("nn.SELU()", (5, 4)),
    ("nn.CELU()", (5, 4)),
    ("nn.CELU(2.0)", (5, 4)),
    ("nn.GELU()", (5, 4)),
    ("nn.GELU('tanh')", (5, 4)),
    ("nn.SiLU()", (5, 4)),
    ("nn.Mish()", (5, 4)),
    ("nn.Softplus()", (5, 4)),
    ("nn.Softplus(2.0, 1.5)", (5, 4)),
    ("nn.Softsign()", (5, 4)),
    ("nn.Hardtanh()", (5, 4)),
    ("nn.Hardtanh(-0.5, 2.0)", (5, 4)),
    ("nn.Hardsigmoid()", (5, 4)),
    ("nn.Hardswish()", (5, 4)),
    ("nn.Hardshrink()", (5, 4)),
    ("nn.Hardshrink(1.2)", (5, 4)),
    ("nn.Softshrink()", (5, 4)),
    ("nn.Softshrink(1.2)", (5, 4)),
    ("nn.Tanhshrink()", (5, 4)),
    ("nn.Threshold(0.3, -1.5)", (5, 4)),
    ("nn.LogSigmoid()", (5, 4)),
    ("nn.Sigmoid()", (5, 4)),
    ("nn.Tanh()", (5, 4)),
    ("nn.RReLU().eval()", (5, 4)),
    ("nn.RReLU(0.2, 0.6).eval()", (5, 4)),
    ("nn.GLU()", (3, 4)),
    ("nn.GLU(0)", (4, 3)),
    ("nn.Softmax(dim=1)", (2, 3, 4)),
    ("nn.Softmax(dim=-1)", (2, 3, 4)),
    ("nn.LogSoftmax(dim=1)", (2, 3, 4)),
    ("nn.LogSoftmax(dim=0)", (3, 4)),
    ("nn.Softmin(dim=2)", (2, 3, 4)),
    ("nn.Softmax2d()", (2, 3, 2, 2)),
    ("nn.Softmax2d()", (3, 2, 2)),
    ("nn.PReLU()", (2, 3, 4)),
    ("nn.PReLU(3, 0.1)", (2, 3, 4)),
    ("nn.PReLU(3)", (2, 3)),
    ("nn.PReLU()", (4,)),
    # inplace on a non-leaf input (x * 1): same values and gradients as out of place
    ("nn.ReLU(inplace=True)", (5, 4)),
    ("nn.LeakyReLU(0.2, True)", (5, 4)),
    ("nn.ELU(1.0, True)", (5, 4)),
    ("nn.Hardtanh(-1.0, 1.0, True)", (5, 4)),
    ("nn.SiLU(True)", (5, 4)),
]


def _run(lib, ctor, x, g, dtype_name, state=None):
    """module(x) in ``lib`` (tapegrad or torch): (module, output, x.grad) after backward of
    sum(out * g); ``state`` (numpy arrays by name) is loaded first."""
    m = eval(ctor, {"nn": lib.nn})
    m = m.double() if dtype_name == "float64" else m
    if state is not None:
        m.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    xt = lib.tensor(x, requires_grad=True)
    out = m(xt * 1.0)       # a non-leaf, so inplace modules may write into it
    (out * lib.tensor(g)).sum().backward()
    return m, out.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ctor, shape", PARITY, ids=[f"{c}-{s}" for c, s in PARITY])
def test_torch_parity(ctor, shape, dtype):
    torch = pytest.importorskip("torch")
    rtol, atol = (1e-5, 1e-6) if dtype == "float32" else (1e-10, 1e-12)
    if dtype == "float64" and "Hardsigmoid" in ctor:
        rtol = 1e-7     # NOTE: torch's float64 hardsigmoid gradient is 1/6 rounded to float32
    rng = np.random.default_rng(7)
    x = rng.uniform(-3, 3, shape).astype(dtype)
    ours = eval(ctor)
    out_shape = None
    state = None
    if isinstance(ours, nn.PReLU):          # distinct slopes, so a mix-up shows
        n = ours.num_parameters
        state = {"weight": rng.uniform(0.05, 0.5, n).astype(dtype)}
    with torch.no_grad():
        out_shape = eval(ctor, {"nn": torch.nn}).double()(torch.tensor(x).double()).shape
    g = rng.uniform(-1, 1, tuple(out_shape)).astype(dtype)
    m, out, gx = _run(tg, ctor, x, g, dtype, state)
    rm, rout, rgx = _run(torch, ctor, x, g, dtype, state)
    assert out.dtype == rout.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out, rout, rtol=rtol, atol=atol)
    np.testing.assert_allclose(gx, rgx, rtol=rtol, atol=atol)
    for (name, p), (rname, rp) in zip(m.named_parameters(), rm.named_parameters()):
        assert name == rname
        np.testing.assert_allclose(p.grad.numpy(), rp.grad.numpy(), rtol=rtol, atol=atol)


DIST_PARITY = [
    ("nn.CosineSimilarity()", (4, 3), (4, 3)),
    ("nn.CosineSimilarity(dim=0, eps=1e-3)", (4, 3), (1, 3)),
    ("nn.PairwiseDistance()", (4, 3), (4, 3)),
    ("nn.PairwiseDistance(1.0, 1e-3, True)", (4, 3), (3,)),
    ("nn.PairwiseDistance(3.0)", (2, 4, 3), (4, 3)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ctor, s1, s2", DIST_PARITY, ids=[c for c, _, _ in DIST_PARITY])
def test_distance_torch_parity(ctor, s1, s2, dtype):
    torch = pytest.importorskip("torch")
    rtol = 1e-5 if dtype == "float32" else 1e-10
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=s1).astype(dtype), rng.normal(size=s2).astype(dtype)
    results = []
    for lib in (tg, torch):
        ta, tb = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        out = eval(ctor, {"nn": lib.nn})(ta, tb)
        (out * lib.arange(out.numel()).reshape(out.shape).to(out.dtype)).sum().backward()
        results.append((out.detach().numpy(), ta.grad.numpy(), tb.grad.numpy()))
    for ours, ref in zip(*results):
        np.testing.assert_allclose(ours, ref, rtol=rtol, atol=1e-6)


# ---- PReLU ---------------------------------------------------------------------------------------
def test_prelu_parameter_and_initialisation():
    m = nn.PReLU(3, init=0.1)
    assert [name for name, _ in m.named_parameters()] == ["weight"]
    assert list(m.state_dict()) == ["weight"]
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    assert tuple(m.weight.shape) == (3,) and m.weight.dtype == tg.float32
    np.testing.assert_array_equal(m.weight.detach().numpy(), np.full(3, 0.1, np.float32))
    assert nn.PReLU(dtype=tg.float64, device="cpu").weight.dtype == tg.float64
    np.testing.assert_array_equal(nn.PReLU().weight.detach().numpy(), [0.25])


def test_prelu_reset_parameters_restores_init():
    m = nn.PReLU(2, 0.4)
    with tg.no_grad():
        m.weight.fill_(3.0)
    m.reset_parameters()
    np.testing.assert_array_equal(m.weight.detach().numpy(), np.full(2, 0.4, np.float32))


@pytest.mark.parametrize("n, shape", [(1, (2, 3, 2)), (3, (2, 3, 2)), (3, (2, 3)), (1, (4,))])
def test_prelu_gradcheck(n, shape):
    m = nn.PReLU(n).double()
    with tg.no_grad():
        m.weight.copy_(tg.tensor(np.linspace(0.1, 0.6, n)))
    # away from 0, where the slope changes
    data = _x(shape, 5, np.float64, 0.2, 2.0) * np.where(_x(shape, 6) > 0, 1.0, -1.0)
    x = tg.tensor(data, requires_grad=True)
    assert gradcheck(lambda x, w: m(x), (x, m.weight))


def test_prelu_weight_gradient_sums_over_other_dims():
    m = nn.PReLU(2, 0.5)
    x = tg.tensor([[[-1.0, 2.0], [-3.0, -4.0]], [[-5.0, 6.0], [7.0, -8.0]]])
    m(x).sum().backward()
    # d/dw_c = sum of the negative inputs of channel c
    np.testing.assert_allclose(m.weight.grad.numpy(), [-1.0 - 5.0, -3.0 - 4.0 - 8.0])


def test_prelu_errors():
    with pytest.raises(ShapeError, match="prelu"):
        nn.PReLU(3)(tg.ones(2, 2))
    with pytest.raises(TypeError):
        nn.PReLU()(tg.tensor([1, 2]))
    # these used to fail inside empty() without naming the layer
    with pytest.raises(ValueError, match="PReLU: num_parameters must be non-negative"):
        nn.PReLU(-1)
    with pytest.raises(TypeError, match="PReLU: num_parameters must be an int"):
        nn.PReLU(2.0)


# ---- RReLU: train / eval -------------------------------------------------------------------------
def test_rrelu_eval_uses_the_mean_slope():
    m = nn.RReLU(0.1, 0.5).eval()
    x = tg.tensor([-2.0, -1.0, 0.5, 3.0])
    np.testing.assert_allclose(m(x).numpy(), [-0.6, -0.3, 0.5, 3.0], rtol=1e-6)


def test_rrelu_train_draws_slopes_in_range():
    m = nn.RReLU(0.1, 0.3)
    assert m.training
    x = tg.tensor(-np.linspace(1.0, 2.0, 2000), requires_grad=True)
    out = m(x)
    slopes = out.detach().numpy() / x.detach().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    # uniform on [0.1, 0.3]: mean 0.2, std 0.2 / sqrt(12) = 0.0577
    assert abs(slopes.mean() - 0.2) < 0.005
    assert abs(slopes.std() - 0.2 / np.sqrt(12)) < 0.005
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes, rtol=1e-6)
    # positive inputs pass unchanged
    np.testing.assert_array_equal(m(tg.tensor([1.0, 2.0])).numpy(), [1.0, 2.0])


def test_rrelu_train_is_random_and_seeded():
    m = nn.RReLU()
    x = -tg.ones(50)
    tg.manual_seed(3)
    a = m(x).numpy()
    b = m(x).numpy()
    tg.manual_seed(3)
    c = m(x).numpy()
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_rrelu_follows_train_and_eval():
    m = nn.RReLU(0.1, 0.3)
    x = -tg.ones(20)
    m.eval()
    np.testing.assert_allclose(m(x).numpy(), np.full(20, -0.2), rtol=1e-6)
    m.train()
    assert len(np.unique(m(x).numpy())) > 1


# ---- errors and warnings -------------------------------------------------------------------------
def test_hardtanh_bounds_are_checked():
    with pytest.raises(ArgumentError, match=r"max_val \(1\) must be greater than min_val \(2\)"):
        nn.Hardtanh(2, 1)
    with pytest.raises(ValueError, match="Hardtanh"):
        nn.Hardtanh(1.0, 1.0)
    # PyTorch asserts here, so code catching AssertionError keeps working
    with pytest.raises(AssertionError, match="must be greater than min_val"):
        nn.Hardtanh(0.5, -0.5)


def test_hardtanh_deprecated_names_warn_and_apply():
    with pytest.warns(FutureWarning, match="min_value"):
        m = nn.Hardtanh(min_value=-3.0)
    assert (m.min_val, m.max_val) == (-3.0, 1.0)
    with pytest.warns(FutureWarning, match="max_value"):
        m = nn.Hardtanh(max_value=4.0)
    assert (m.min_val, m.max_val) == (-1.0, 4.0)


def test_softmax2d_needs_3d_or_4d_input():
    with pytest.raises(ShapeError, match="Softmax2d: expected input to be 3D or 4D, got 2D"):
        nn.Softmax2d()(tg.ones(2, 3))
    with pytest.raises(ValueError):
        nn.Softmax2d()(tg.ones(1, 1, 2, 3, 4))


def test_softmax_without_dim_warns_at_the_caller():
    x = tg.tensor(_x((2, 3)))
    for m, fn in ((nn.Softmax(), F.softmax), (nn.LogSoftmax(), F.log_softmax),
                  (nn.Softmin(), F.softmin)):
        with pytest.warns(UserWarning, match="Implicit dimension choice") as record:
            out = m(x)
        assert record[0].filename == __file__
        np.testing.assert_array_equal(out.numpy(), fn(x, dim=1).numpy())   # 2-d: dim 1


def test_with_dim_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.Softmax(dim=0)(tg.ones(3))


def test_errors_come_from_the_functional():
    with pytest.raises(ArgumentError, match="rrelu"):
        nn.RReLU(0.5, 0.1)(tg.ones(3))
    with pytest.raises(ShapeError, match="glu"):
        nn.GLU()(tg.ones(2, 3))
    with pytest.raises(ArgumentError, match="softshrink"):
        nn.Softshrink(-1.0)(tg.ones(3))


def test_modules_work_in_a_sequential_with_grad():
    model = nn.Sequential(nn.PReLU(3), nn.Tanh(), nn.Softmax(dim=1))
    x = tg.tensor(_x((2, 3)), requires_grad=True)
    (model(x) * tg.tensor([[1.0, 2.0, 3.0]])).sum().backward()
    assert x.grad is not None and model[0].weight.grad is not None


CLASSES = sorted({type(eval(ctor)).__name__ for ctor, _ in REPRS})


@pytest.mark.parametrize("name", CLASSES)
def test_constructor_signature_matches_torch(name):
    import inspect
    torch = pytest.importorskip("torch")

    def params(cls):
        return [(p.name, p.default, p.kind) for p in
                inspect.signature(cls.__init__).parameters.values()]
    ref = params(getattr(torch.nn, name))
    if any(kind == inspect.Parameter.VAR_POSITIONAL for _, _, kind in ref):
        ref = params(torch.nn.Module)       # torch's argument-free modules take Module's
        assert params(getattr(nn, name)) == params(nn.Module)
        return
    assert params(getattr(nn, name)) == ref
