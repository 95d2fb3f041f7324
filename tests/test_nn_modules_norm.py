"""nn normalization layers: parameter/buffer names, order, shapes and initialisation, running
statistics over several steps against their formula, train/eval effects, NumPy references,
gradcheck on float64 instances, repr text, errors, checkpoints, and torch parity (skipped
without torch)."""
import copy

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn as nn
from tapegrad._core.errors import ArgumentError, ShapeError
from tapegrad.autograd import gradcheck


def arr(t):
    return t.detach().numpy()


def randn(*shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def ref_norm(x, axes, eps, mean=None, var=None):
    """(x - mean) / sqrt(var + eps) with the biased variance over ``axes`` unless given."""
    x = x.astype(np.float64)
    if mean is None:
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def per_channel(v, ndim):
    return np.asarray(v, dtype=np.float64).reshape((-1,) + (1,) * (ndim - 2))


# ---- names, order, shapes, initialisation ---------------------------------------------------
BN_KEYS = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]

LAYOUTS = [   # (constructor, state_dict keys, parameter names, buffer names, weight shape)
    (lambda: nn.BatchNorm1d(3), BN_KEYS, ["weight", "bias"],
     ["running_mean", "running_var", "num_batches_tracked"], (3,)),
    (lambda: nn.BatchNorm2d(3, affine=False), BN_KEYS[2:], [],
     ["running_mean", "running_var", "num_batches_tracked"], None),
    (lambda: nn.BatchNorm3d(3, bias=False), BN_KEYS[:1] + BN_KEYS[2:], ["weight"],
     ["running_mean", "running_var", "num_batches_tracked"], (3,)),
    (lambda: nn.BatchNorm1d(3, track_running_stats=False), ["weight", "bias"],
     ["weight", "bias"], [], (3,)),
    (lambda: nn.InstanceNorm1d(3), [], [], [], None),
    (lambda: nn.InstanceNorm2d(3, affine=True, track_running_stats=True), BN_KEYS,
     ["weight", "bias"], ["running_mean", "running_var", "num_batches_tracked"], (3,)),
    (lambda: nn.InstanceNorm3d(3, affine=True), ["weight", "bias"], ["weight", "bias"], [],
     (3,)),
    (lambda: nn.LayerNorm([2, 3]), ["weight", "bias"], ["weight", "bias"], [], (2, 3)),
    (lambda: nn.LayerNorm(4, bias=False), ["weight"], ["weight"], [], (4,)),
    (lambda: nn.LayerNorm(4, elementwise_affine=False), [], [], [], None),
    (lambda: nn.GroupNorm(2, 4), ["weight", "bias"], ["weight", "bias"], [], (4,)),
    (lambda: nn.GroupNorm(2, 4, affine=False), [], [], [], None),
    (lambda: nn.RMSNorm([2, 3]), ["weight"], ["weight"], [], (2, 3)),
    (lambda: nn.RMSNorm(3, elementwise_affine=False), [], [], [], None),
    (lambda: nn.LocalResponseNorm(2), [], [], [], None),
]


@pytest.mark.parametrize("case", range(len(LAYOUTS)))
def test_names_order_shapes_and_initialisation(case):
    make, keys, params, buffers, shape = LAYOUTS[case]
    m = make()
    assert list(m.state_dict()) == keys
    assert [n for n, _ in m.named_parameters()] == params
    assert [n for n, _ in m.named_buffers()] == buffers
    for name, p in m.named_parameters():
        assert isinstance(p, nn.Parameter) and p.requires_grad
        assert tuple(p.shape) == shape and p.dtype == tg.float32
        # weight ones, bias zeros (PyTorch's reset_parameters)
        np.testing.assert_array_equal(arr(p), np.full(shape, 1.0 if name == "weight" else 0.0))
    if "running_mean" in buffers:
        np.testing.assert_array_equal(arr(m.running_mean), np.zeros(3))
        np.testing.assert_array_equal(arr(m.running_var), np.ones(3))
        assert m.running_mean.dtype == tg.float32 and not m.running_mean.requires_grad
        assert m.num_batches_tracked.dtype == tg.int64 and tuple(m.num_batches_tracked.shape) == ()
        assert m.num_batches_tracked.item() == 0


def test_absent_parameters_and_buffers_are_none():
    m = nn.BatchNorm2d(3, affine=False, track_running_stats=False)
    assert m.weight is None and m.bias is None
    assert m.running_mean is None and m.running_var is None and m.num_batches_tracked is None
    assert nn.LayerNorm(3, bias=False).bias is None
    assert nn.RMSNorm(3, elementwise_affine=False).weight is None
    assert nn.GroupNorm(1, 2, bias=False).bias is None


def test_factory_dtype_and_device():
    m = nn.BatchNorm1d(2, dtype=tg.float64, device="cpu")
    assert m.weight.dtype == tg.float64 and m.running_var.dtype == tg.float64
    assert m.num_batches_tracked.dtype == tg.int64          # always int64, as PyTorch
    assert nn.LayerNorm(2, dtype=tg.float64).bias.dtype == tg.float64
    assert nn.GroupNorm(1, 2, device=None, dtype=tg.float64).weight.dtype == tg.float64
    assert nn.RMSNorm(2, dtype=tg.float64).weight.dtype == tg.float64
    assert nn.InstanceNorm1d(2, affine=True, dtype=tg.float64).weight.dtype == tg.float64
    d = nn.BatchNorm1d(2).double()
    assert d.running_mean.dtype == tg.float64 and d.num_batches_tracked.dtype == tg.int64


def test_attributes_as_pytorch_stores_them():
    m = nn.BatchNorm2d(5, eps=1e-3, momentum=None)
    assert (m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats) == (
        5, 1e-3, None, True, True)
    ln = nn.LayerNorm([2, 3])
    assert ln.normalized_shape == (2, 3) and isinstance(ln.normalized_shape, tuple)
    assert nn.LayerNorm(tg.randn(4, 5).shape).normalized_shape == (4, 5)
    assert nn.RMSNorm(7).normalized_shape == (7,) and nn.RMSNorm(7).eps is None
    g = nn.GroupNorm(3, 6, eps=1e-4)
    assert (g.num_groups, g.num_channels, g.eps, g.affine) == (3, 6, 1e-4, True)
    lrn = nn.LocalResponseNorm(3, alpha=0.1, beta=0.5, k=2.0)
    assert (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (3, 0.1, 0.5, 2.0)


# ---- repr ------------------------------------------------------------------------------------
REPRS = [
    (lambda: nn.BatchNorm1d(3), "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, "
     "bias=True, track_running_stats=True)"),
    (lambda: nn.BatchNorm2d(3, momentum=None, affine=False), "BatchNorm2d(3, eps=1e-05, "
     "momentum=None, affine=False, bias=False, track_running_stats=True)"),
    (lambda: nn.BatchNorm3d(4, eps=0.001, bias=False, track_running_stats=False),
     "BatchNorm3d(4, eps=0.001, momentum=0.1, affine=True, bias=False, "
     "track_running_stats=False)"),
    (lambda: nn.InstanceNorm1d(3), "InstanceNorm1d(3, eps=1e-05, momentum=0.1, affine=False, "
     "bias=False, track_running_stats=False)"),
    (lambda: nn.InstanceNorm2d(2, affine=True, track_running_stats=True),
     "InstanceNorm2d(2, eps=1e-05, momentum=0.1, affine=True, bias=True, "
     "track_running_stats=True)"),
    (lambda: nn.LayerNorm([2, 3]), "LayerNorm((2, 3), eps=1e-05, elementwise_affine=True, "
     "bias=True)"),
    (lambda: nn.LayerNorm(4, eps=1e-6, bias=False), "LayerNorm((4,), eps=1e-06, "
     "elementwise_affine=True, bias=False)"),
    (lambda: nn.LayerNorm(4, elementwise_affine=False), "LayerNorm((4,), eps=1e-05, "
     "elementwise_affine=False, bias=False)"),
    (lambda: nn.GroupNorm(2, 4), "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"),
    (lambda: nn.GroupNorm(1, 4, affine=False), "GroupNorm(1, 4, eps=1e-05, affine=False, "
     "bias=False)"),
    (lambda: nn.RMSNorm(3), "RMSNorm((3,), eps=None, elementwise_affine=True)"),
    (lambda: nn.RMSNorm([2, 3], eps=1e-6), "RMSNorm((2, 3), eps=1e-06, elementwise_affine=True)"),
    (lambda: nn.LocalResponseNorm(2), "LocalResponseNorm(2, alpha=0.0001, beta=0.75, k=1.0)"),
    (lambda: nn.LocalResponseNorm(3, 0.1, 0.5, 2), "LocalResponseNorm(3, alpha=0.1, beta=0.5, "
     "k=2)"),
]


@pytest.mark.parametrize("case", range(len(REPRS)))
def test_repr_text(case):
    make, text = REPRS[case]
    assert repr(make()) == text


def test_repr_inside_a_container():
    model = nn.Sequential(nn.BatchNorm1d(2), nn.LayerNorm(2))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=True, bias=True, "
        "track_running_stats=True)\n"
        "  (1): LayerNorm((2,), eps=1e-05, elementwise_affine=True, bias=True)\n)")


# ---- batch norm: running statistics, train and eval -----------------------------------------
BN_CASES = [(nn.BatchNorm1d, (6, 3)), (nn.BatchNorm1d, (4, 3, 5)), (nn.BatchNorm2d, (4, 3, 2, 3)),
            (nn.BatchNorm3d, (2, 3, 2, 2, 3))]


@pytest.mark.parametrize("cls,shape", BN_CASES)
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_batch_norm_running_statistics_over_several_steps(cls, shape, momentum):
    m = cls(3, momentum=momentum, eps=1e-4)
    with tg.no_grad():
        m.weight.copy_(tg.tensor([1.5, -0.5, 2.0]))
        m.bias.copy_(tg.tensor([0.1, 0.2, -0.3]))
    axes = (0,) + tuple(range(2, len(shape)))
    count = np.prod([shape[a] for a in axes])
    rm, rv = np.zeros(3), np.ones(3)
    for step in range(1, 5):
        x = randn(*shape, seed=step) * (step + 1.0) + step       # a different scale each step
        y = m(tg.tensor(x))
        want = (ref_norm(x, axes, 1e-4) * per_channel([1.5, -0.5, 2.0], len(shape))
                + per_channel([0.1, 0.2, -0.3], len(shape)))
        np.testing.assert_allclose(arr(y), want, rtol=1e-4, atol=1e-5)
        factor = 1.0 / step if momentum is None else momentum   # None: cumulative average
        mean = x.astype(np.float64).mean(axis=axes)
        unbiased = x.astype(np.float64).var(axis=axes) * count / (count - 1)
        rm = (1 - factor) * rm + factor * mean
        rv = (1 - factor) * rv + factor * unbiased
        np.testing.assert_allclose(arr(m.running_mean), rm, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(arr(m.running_var), rv, rtol=1e-5, atol=1e-6)
        assert m.num_batches_tracked.item() == step
    # evaluation: the running statistics normalize, and nothing is updated
    m.eval()
    x = randn(*shape, seed=9)
    y = m(tg.tensor(x))
    want = (ref_norm(x, axes, 1e-4, per_channel(rm, len(shape)), per_channel(rv, len(shape)))
            * per_channel([1.5, -0.5, 2.0], len(shape)) + per_channel([0.1, 0.2, -0.3],
                                                                       len(shape)))
    np.testing.assert_allclose(arr(y), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(arr(m.running_mean), rm, rtol=1e-5, atol=1e-6)
    assert m.num_batches_tracked.item() == 4
    # with momentum=None a cumulative average: the mean of the batch means
    if momentum is None:
        means = [randn(*shape, seed=s).astype(np.float64).mean(axis=axes) * (s + 1.0) + s
                 for s in range(1, 5)]
        np.testing.assert_allclose(arr(m.running_mean), np.mean(means, 0), rtol=1e-5,
                                   atol=1e-6)


def test_batch_norm_without_tracking_uses_batch_statistics_in_eval():
    m = nn.BatchNorm1d(3, track_running_stats=False).eval()
    x = randn(5, 3) * 3 + 2
    np.testing.assert_allclose(arr(m(tg.tensor(x))), ref_norm(x, (0,), 1e-5), rtol=1e-4,
                               atol=1e-5)
    assert m.running_mean is None and list(m.buffers()) == []


def test_batch_norm_train_and_eval_differ_and_reset_running_stats():
    m = nn.BatchNorm1d(2)
    x = tg.tensor(randn(8, 2) * 4 + 3)
    train_out = arr(m(x))
    m.eval()
    eval_out = arr(m(x))
    assert not np.allclose(train_out, eval_out)
    assert m.training is False and m.num_batches_tracked.item() == 1
    m.train()
    m(x)
    assert m.num_batches_tracked.item() == 2
    m.reset_running_stats()
    np.testing.assert_array_equal(arr(m.running_mean), [0, 0])
    np.testing.assert_array_equal(arr(m.running_var), [1, 1])
    assert m.num_batches_tracked.item() == 0
    with tg.no_grad():
        m.weight.fill_(3.0)
    m.reset_parameters()
    np.testing.assert_array_equal(arr(m.weight), [1, 1])


def test_batch_norm_gradient_flows_to_parameters_not_buffers():
    m = nn.BatchNorm2d(2)
    x = tg.tensor(randn(3, 2, 2, 2), requires_grad=True)
    (m(x) * tg.tensor(randn(3, 2, 2, 2, seed=1))).sum().backward()
    assert m.weight.grad is not None and m.bias.grad is not None and x.grad is not None
    assert m.running_mean.grad is None and not m.running_mean.requires_grad


def test_batch_norm_inside_sequential_follows_train_and_eval():
    model = nn.Sequential(nn.BatchNorm1d(2), nn.BatchNorm1d(2))
    model.eval()
    assert all(not m.training for m in model)
    x = tg.tensor(randn(4, 2) * 5)
    np.testing.assert_allclose(arr(model(x)), arr(x) / (1 + 1e-5), rtol=1e-5)
    assert model[0].num_batches_tracked.item() == 0


# ---- instance norm ---------------------------------------------------------------------------
@pytest.mark.parametrize("cls,shape", [(nn.InstanceNorm1d, (2, 3, 5)),
                                       (nn.InstanceNorm2d, (2, 3, 2, 3)),
                                       (nn.InstanceNorm3d, (2, 3, 2, 2, 2))])
def test_instance_norm_forward_unbatched_and_running_stats(cls, shape):
    m = cls(3, affine=True)
    with tg.no_grad():
        m.weight.copy_(tg.tensor([2.0, 1.0, -1.0]))
    x = randn(*shape) * 2 + 1
    axes = tuple(range(2, len(shape)))
    want = ref_norm(x, axes, 1e-5) * per_channel([2.0, 1.0, -1.0], len(shape))
    np.testing.assert_allclose(arr(m(tg.tensor(x))), want, rtol=1e-4, atol=1e-5)
    # an unbatched (C, *) input is the batched result of one sample
    np.testing.assert_allclose(arr(m(tg.tensor(x[1]))), want[1], rtol=1e-4, atol=1e-5)
    # tracked: running statistics averaged over the batch's instances, used in eval
    t = cls(3, momentum=0.2, track_running_stats=True)
    t(tg.tensor(x))
    n_spatial = np.prod(shape[2:])
    inst_mean = x.astype(np.float64).mean(axis=axes)
    inst_var = x.astype(np.float64).var(axis=axes) * n_spatial / (n_spatial - 1)
    rm = 0.2 * inst_mean.mean(0)
    rv = 0.8 + 0.2 * inst_var.mean(0)
    np.testing.assert_allclose(arr(t.running_mean), rm, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(t.running_var), rv, rtol=1e-5, atol=1e-6)
    assert t.num_batches_tracked.item() == 0      # instance norm does not count, as PyTorch
    t.eval()
    np.testing.assert_allclose(
        arr(t(tg.tensor(x))),
        ref_norm(x, axes, 1e-5, per_channel(rm, len(shape)), per_channel(rv, len(shape))),
        rtol=1e-4, atol=1e-5)
    # untracked: instance statistics in eval too
    u = cls(3).eval()
    np.testing.assert_allclose(arr(u(tg.tensor(x))), ref_norm(x, axes, 1e-5), rtol=1e-4,
                               atol=1e-5)


def test_instance_norm_channel_mismatch():
    x = tg.randn(2, 4, 5)
    with pytest.raises(ShapeError, match=r"expected input's size at dim=1 to match "
                                         r"num_features \(3\), but got: 4"):
        nn.InstanceNorm1d(3, affine=True)(x)
    with pytest.raises(ValueError, match="dim=0"):
        nn.InstanceNorm1d(3, affine=True)(tg.randn(4, 5))           # unbatched: dim 0
    with pytest.warns(UserWarning, match="does not match num_features"):
        out = nn.InstanceNorm1d(3)(x)
    assert tuple(out.shape) == (2, 4, 5)


# ---- layer norm, group norm, rms norm, local response norm ----------------------------------
def test_layer_norm_forward_against_numpy():
    m = nn.LayerNorm([3, 4], eps=1e-3)
    w, b = randn(3, 4, seed=1), randn(3, 4, seed=2)
    with tg.no_grad():
        m.weight.copy_(tg.tensor(w))
        m.bias.copy_(tg.tensor(b))
    x = randn(2, 5, 3, 4) * 3
    np.testing.assert_allclose(arr(m(tg.tensor(x))), ref_norm(x, (2, 3), 1e-3) * w + b,
                               rtol=1e-4, atol=1e-5)
    plain = nn.LayerNorm(4, elementwise_affine=False)
    np.testing.assert_allclose(arr(plain(tg.tensor(x))), ref_norm(x, (3,), 1e-5), rtol=1e-4,
                               atol=1e-5)
    nb = nn.LayerNorm(4, bias=False)
    with tg.no_grad():
        nb.weight.copy_(tg.tensor([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_allclose(arr(nb(tg.tensor(x))), ref_norm(x, (3,), 1e-5) * [1, 2, 3, 4],
                               rtol=1e-4, atol=1e-5)


def test_group_norm_forward_against_numpy():
    m = nn.GroupNorm(2, 6, eps=1e-4)
    w, b = randn(6, seed=1), randn(6, seed=2)
    with tg.no_grad():
        m.weight.copy_(tg.tensor(w))
        m.bias.copy_(tg.tensor(b))
    x = randn(3, 6, 2, 2) * 2 + 1
    g = x.reshape(3, 2, 3 * 4)
    want = ref_norm(g, (2,), 1e-4).reshape(x.shape) * per_channel(w, 4) + per_channel(b, 4)
    np.testing.assert_allclose(arr(m(tg.tensor(x))), want, rtol=1e-4, atol=1e-5)
    assert tuple(m(tg.randn(2, 6)).shape) == (2, 6)


def test_rms_norm_forward_against_numpy():
    x = randn(2, 3, 4) * 3
    m = nn.RMSNorm(4)
    with tg.no_grad():
        m.weight.copy_(tg.tensor([1.0, 2.0, 0.5, -1.0]))
    eps = np.finfo(np.float32).eps       # eps=None: the dtype's machine epsilon
    want = x / np.sqrt((x.astype(np.float64) ** 2).mean(-1, keepdims=True) + eps)
    np.testing.assert_allclose(arr(m(tg.tensor(x))), want * [1, 2, 0.5, -1], rtol=1e-5)
    m2 = nn.RMSNorm([3, 4], eps=0.5, elementwise_affine=False)
    want = x / np.sqrt((x.astype(np.float64) ** 2).mean((1, 2), keepdims=True) + 0.5)
    np.testing.assert_allclose(arr(m2(tg.tensor(x))), want, rtol=1e-5)


def test_local_response_norm_against_numpy():
    x = randn(2, 5, 3)
    size, alpha, beta, k = 3, 0.5, 0.75, 2.0
    sq = np.pad(x.astype(np.float64) ** 2, ((0, 0), (size // 2, (size - 1) // 2), (0, 0)))
    sums = np.stack([sq[:, c:c + size].sum(1) for c in range(5)], 1)
    want = x / (k + alpha / size * sums) ** beta
    out = nn.LocalResponseNorm(size, alpha, beta, k)(tg.tensor(x))
    np.testing.assert_allclose(arr(out), want, rtol=1e-5)


# ---- gradcheck (float64, input and every parameter) -----------------------------------------
def _randomize(m, seed):
    with tg.no_grad():
        for i, p in enumerate(m.parameters()):
            p.copy_(tg.tensor(randn(*p.shape, dtype=np.float64, seed=seed + i) * 0.5 + 1.0))
    return m


GRADCHECK = [
    (lambda: nn.BatchNorm1d(2), (4, 2)),
    (lambda: nn.BatchNorm1d(2, momentum=None), (3, 2, 2)),
    (lambda: nn.BatchNorm2d(2).eval(), (2, 2, 2, 2)),
    (lambda: nn.BatchNorm3d(2, track_running_stats=False), (2, 2, 1, 2, 2)),
    (lambda: nn.InstanceNorm1d(2, affine=True), (2, 2, 3)),
    (lambda: nn.InstanceNorm2d(2, affine=True), (2, 2, 2)),
    (lambda: nn.InstanceNorm3d(2, affine=True, track_running_stats=True).eval(),
     (1, 2, 2, 1, 2)),
    (lambda: nn.LayerNorm([2, 3]), (2, 2, 3)),
    (lambda: nn.LayerNorm(3, bias=False), (2, 3)),
    (lambda: nn.GroupNorm(2, 4), (2, 4, 2)),
    (lambda: nn.RMSNorm(3), (2, 3)),
    (lambda: nn.RMSNorm([2, 2], eps=1e-3), (2, 2, 2)),
    (lambda: nn.LocalResponseNorm(2, alpha=0.5), (1, 3, 2)),
]


@pytest.mark.parametrize("case", range(len(GRADCHECK)))
def test_gradcheck_float64(case):
    make, shape = GRADCHECK[case]
    m = _randomize(make().double(), seed=3)
    if getattr(m, "running_var", None) is not None:      # non-trivial statistics for eval
        with tg.no_grad():
            m.running_mean.copy_(tg.tensor([0.3, -0.2], dtype=tg.float64))
            m.running_var.copy_(tg.tensor([1.5, 0.7], dtype=tg.float64))
    x = tg.tensor(randn(*shape, dtype=np.float64, seed=7), requires_grad=True)
    params = tuple(m.parameters())
    assert gradcheck(lambda x, *p: m(x), (x,) + params, eps=1e-6, atol=1e-5, rtol=1e-4)


# ---- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("m,shape,text", [
    (nn.BatchNorm1d(3), (2, 3, 4, 5), r"expected 2D or 3D input \(got 4D input\)"),
    (nn.BatchNorm1d(3), (3,), r"expected 2D or 3D input \(got 1D input\)"),
    (nn.BatchNorm2d(3), (2, 3, 4), r"expected 4D input \(got 3D input\)"),
    (nn.BatchNorm3d(3), (2, 3, 4, 4), r"expected 5D input \(got 4D input\)"),
    (nn.InstanceNorm1d(3), (2, 3, 4, 4), r"expected 2D or 3D input \(got 4D input\)"),
    (nn.InstanceNorm2d(3), (3, 4), r"expected 3D or 4D input \(got 2D input\)"),
    (nn.InstanceNorm3d(3), (2, 3, 2, 2, 2, 2), r"expected 4D or 5D input \(got 6D input\)"),
])
def test_wrong_input_rank_has_pytorchs_message(m, shape, text):
    with pytest.raises(ShapeError, match=text) as info:
        m(tg.randn(*shape))
    assert isinstance(info.value, ValueError) and type(m).__name__ in str(info.value)
    if getattr(m, "num_batches_tracked", None) is not None:
        assert m.num_batches_tracked.item() == 0      # the check comes before the count


def test_other_errors():
    with pytest.raises(ValueError, match=r"num_channels \(5\) must be divisible by "
                                         r"num_groups \(2\)"):
        nn.GroupNorm(2, 5)
    with pytest.raises(ArgumentError, match="positive"):
        nn.GroupNorm(0, 4)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(tg.randn(1, 3))
    nn.BatchNorm1d(3).eval()(tg.randn(1, 3))            # fine in evaluation
    with pytest.raises(ShapeError, match="normalized_shape"):
        nn.LayerNorm(4)(tg.randn(2, 3))
    with pytest.raises(ShapeError):
        nn.BatchNorm1d(4)(tg.randn(2, 3))                 # channels != num_features


@pytest.mark.parametrize("make, text", [
    (lambda: nn.BatchNorm1d(-1), "BatchNorm1d: num_features must be non-negative"),
    (lambda: nn.InstanceNorm2d(-2, affine=True), "InstanceNorm2d: num_features"),
    (lambda: nn.LayerNorm((2, -1)), "LayerNorm: each size of normalized_shape"),
    (lambda: nn.RMSNorm(-3), "RMSNorm: each size of normalized_shape"),
    (lambda: nn.GroupNorm(2, -4), "GroupNorm: num_channels must be non-negative"),
])
def test_negative_sizes_name_the_layer(make, text):
    # They used to fail inside empty() with only "sizes must be non-negative integers".
    with pytest.raises(ArgumentError, match=text):
        make()
    with pytest.raises(TypeError, match="BatchNorm2d: num_features must be an int"):
        nn.BatchNorm2d(2.5)


def test_channel_mismatch_names_the_layer():
    # These used to come from the functional (batch_norm / group_norm) without the layer.
    with pytest.raises(ShapeError, match=r"running_mean should contain 3 elements not 4: "
                                         r"BatchNorm1d was built with num_features=4"):
        nn.BatchNorm1d(4)(tg.randn(2, 3))
    with pytest.raises(ShapeError, match=r"BatchNorm2d was built with num_features=2 but got "
                                         r"input of shape \(2, 3, 2, 2\)"):
        nn.BatchNorm2d(2, affine=False)(tg.randn(2, 3, 2, 2))
    # nothing of size num_features is used: PyTorch runs it, and so do we
    assert nn.BatchNorm1d(4, affine=False, track_running_stats=False)(tg.randn(2, 3)).shape \
        == (2, 3)
    with pytest.raises(ShapeError, match=r"GroupNorm was built with num_channels=4 but got "
                                         r"input of shape \(2, 6\)"):
        nn.GroupNorm(2, 4)(tg.randn(2, 6))
    assert nn.GroupNorm(2, 4, affine=False)(tg.randn(2, 6)).shape == (2, 6)


# ---- checkpoints -----------------------------------------------------------------------------
def test_old_checkpoint_without_num_batches_tracked_loads():
    src = nn.BatchNorm1d(2)
    src(tg.tensor(randn(4, 2) + 3))
    sd = src.state_dict()
    old = {k: v for k, v in sd.items() if k != "num_batches_tracked"}
    dst = nn.BatchNorm1d(2)
    with tg.no_grad():
        dst.num_batches_tracked.fill_(7)
    result = dst.load_state_dict(old)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert "num_batches_tracked" not in old                  # the caller's dict is untouched
    assert dst.num_batches_tracked.item() == 7               # the count is kept
    np.testing.assert_array_equal(arr(dst.running_mean), arr(src.running_mean))
    # other keys missing still fail, and a full dict loads the count
    with pytest.raises(ArgumentError, match='Missing key\\(s\\) in state_dict: "running_var"'):
        dst.load_state_dict({k: v for k, v in old.items() if k != "running_var"})
    dst.load_state_dict(sd)
    assert dst.num_batches_tracked.item() == 1
    # nested, under a prefix
    model, ref = nn.Sequential(nn.BatchNorm1d(2)), nn.Sequential(nn.BatchNorm1d(2))
    sd = {k: v for k, v in ref.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert model.load_state_dict(sd).missing_keys == []
    # an untracked layer has no count to fill in
    untracked = nn.BatchNorm1d(2, track_running_stats=False)
    assert untracked.load_state_dict({"weight": tg.ones(2), "bias": tg.zeros(2)}).missing_keys == []


def test_deepcopy_has_independent_running_stats():
    m = nn.BatchNorm1d(2)
    c = copy.deepcopy(m)
    m(tg.tensor(randn(4, 2) + 5))
    assert c.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(arr(c.running_mean), [0, 0])


# ---- torch parity ----------------------------------------------------------------------------
PARITY = [
    ("BatchNorm1d", (3,), {}, (5, 3)),
    ("BatchNorm1d", (3,), {"momentum": None, "eps": 1e-3}, (4, 3, 6)),
    ("BatchNorm1d", (3,), {"affine": False}, (5, 3)),
    ("BatchNorm2d", (3,), {"momentum": 0.3, "bias": False}, (2, 3, 4, 4)),
    ("BatchNorm2d", (3,), {"track_running_stats": False}, (2, 3, 3, 3)),
    ("BatchNorm3d", (3,), {"momentum": None}, (2, 3, 2, 3, 2)),
    ("InstanceNorm1d", (3,), {}, (2, 3, 5)),
    ("InstanceNorm1d", (3,), {"affine": True}, (3, 5)),
    ("InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True}, (2, 3, 3, 3)),
    ("InstanceNorm3d", (3,), {"track_running_stats": True, "momentum": 0.5}, (3, 2, 2, 2)),
    ("LayerNorm", ([3, 4],), {}, (2, 3, 4)),
    ("LayerNorm", (4,), {"bias": False, "eps": 1e-3}, (2, 5, 4)),
    ("LayerNorm", (4,), {"elementwise_affine": False}, (3, 4)),
    ("GroupNorm", (2, 4), {}, (2, 4, 3)),
    ("GroupNorm", (4, 4), {"affine": False}, (3, 4, 2, 2)),
    ("GroupNorm", (1, 4), {"bias": False}, (2, 4)),
    ("RMSNorm", (4,), {}, (2, 3, 4)),
    ("RMSNorm", ([3, 4],), {"eps": 1e-4}, (2, 3, 4)),
    ("RMSNorm", (4,), {"elementwise_affine": False}, (3, 4)),
    ("LocalResponseNorm", (3,), {"alpha": 0.1, "beta": 0.6, "k": 1.5}, (2, 5, 3)),
    ("LocalResponseNorm", (2,), {}, (2, 4, 2, 2)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", PARITY, ids=lambda c: f"{c[0]}{c[2]}")
def test_torch_parity(case, dtype):
    torch = pytest.importorskip("torch")
    name, args, kwargs, shape = case
    t_dtype, g_dtype = getattr(torch, dtype), getattr(tg, dtype)
    theirs = getattr(torch.nn, name)(*args, **kwargs, dtype=t_dtype) \
        if name != "LocalResponseNorm" else getattr(torch.nn, name)(*args, **kwargs)
    ours = getattr(nn, name)(*args, **kwargs, dtype=g_dtype) \
        if name != "LocalResponseNorm" else getattr(nn, name)(*args, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(0)
    with torch.no_grad():        # parameters away from their ones/zeros init
        for p in theirs.parameters():
            p.copy_(torch.tensor(rng.uniform(0.5, 1.5, tuple(p.shape)), dtype=t_dtype))
    ours.load_state_dict({k: tg.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(arr(ours.state_dict()[k]), v.numpy())
    rtol, atol = (1e-5, 1e-5) if dtype == "float32" else (1e-10, 1e-12)
    for step in range(3):
        if step == 2:
            ours.eval(), theirs.eval()
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        xo, xt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yo, yt = ours(xo), theirs(xt)
        np.testing.assert_allclose(arr(yo), yt.detach().numpy(), rtol=rtol, atol=atol)
        yo.backward(tg.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=rtol * 10,
                                   atol=atol * 10)
        for (n, p), (tn, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert n == tn
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=rtol * 10,
                                       atol=atol * 10, err_msg=n)
            p.grad = None
            tp.grad = None
        for (n, b), (tn, tb) in zip(ours.named_buffers(), theirs.named_buffers()):
            assert n == tn and b.dtype == getattr(tg, str(tb.dtype).split(".")[1])
            np.testing.assert_allclose(arr(b), tb.numpy(), rtol=rtol, atol=atol, err_msg=n)


def test_torch_state_dict_loads_into_tapegrad_and_back():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Sequential(torch.nn.BatchNorm2d(2), torch.nn.GroupNorm(1, 2))
    theirs(torch.randn(3, 2, 2, 2) * 2 + 1)
    ours = nn.Sequential(nn.BatchNorm2d(2), nn.GroupNorm(1, 2))
    ours.load_state_dict({k: tg.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    assert ours[0].num_batches_tracked.item() == 1
    back = torch.nn.Sequential(torch.nn.BatchNorm2d(2), torch.nn.GroupNorm(1, 2))
    back.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    for k, v in theirs.state_dict().items():
        assert torch.equal(back.state_dict()[k], v)
