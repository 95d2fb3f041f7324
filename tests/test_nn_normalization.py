"""nn.functional normalization: golden values, running statistics against their formula over
several steps, numerics (constant inputs, magnitudes up to 1e4, float16) and every bad-argument
path (the generic checks run from tests/opinfo_nn_normalization.py)."""
import warnings

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad._core.errors import ArgumentError, DTypeError, ShapeError


def t(values, dtype=tg.float32, grad=False):
    return tg.tensor(values, dtype=dtype, requires_grad=grad)


# ---- golden values ---------------------------------------------------------------------------
def test_layer_norm_golden_value_and_gradient():
    x = t([[1.0, 2.0, 3.0]], tg.float64, grad=True)
    w, b = t([1.0, 2.0, 3.0], tg.float64, True), t([0.0, 1.0, 0.0], tg.float64, True)
    out = F.layer_norm(x, [3], w, b, eps=0.0)
    s = np.sqrt(1.5)                     # (x - 2) / sqrt(2 / 3)
    np.testing.assert_allclose(out.detach().numpy(), [[-s, 1.0, 3 * s]], rtol=1e-12)
    (out * t([[1.0, 0.0, 0.0]], tg.float64)).sum().backward()
    # rstd * (g - mean(g) - y * mean(g * y)) with g = (1, 0, 0): (1/6, -1/3, 1/6) * sqrt(1.5)
    np.testing.assert_allclose(x.grad.numpy(), [[s / 6, -s / 3, s / 6]], rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), [-s, 0, 0], rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), [1, 0, 0])


def test_rms_norm_golden_and_default_eps():
    np.testing.assert_allclose(F.rms_norm(t([[3.0, 4.0]]), [2]).numpy(),
                               [[3 / np.sqrt(12.5), 4 / np.sqrt(12.5)]], rtol=1e-6)
    small = [[1e-4, 2e-4, 0.0, 0.0]]       # mean square 1.25e-8: eps decides the scale
    for dtype, eps in ((tg.float32, np.finfo(np.float32).eps),
                       (tg.float16, np.finfo(np.float32).eps),    # PyTorch: float32's eps
                       (tg.float64, np.finfo(np.float64).eps)):
        want = np.array(small) / np.sqrt(1.25e-8 + eps)
        out = F.rms_norm(t(small, dtype), [4])
        assert out.dtype == dtype
        np.testing.assert_allclose(out.numpy().astype(np.float64), want, rtol=2e-3)


def test_group_instance_batch_norm_golden():
    x = t([[1.0, 3.0, 0.0, 4.0]])
    np.testing.assert_allclose(F.group_norm(x, 2, eps=0.0).numpy(), [[-1, 1, -1, 1]])
    np.testing.assert_allclose(F.group_norm(x, 1, t([1.0] * 4), t([1.0] * 4), eps=0.0).numpy(),
                               (np.array([[1, 3, 0, 4]]) - 2) / np.sqrt(2.5) + 1, rtol=1e-6)
    inst = F.instance_norm(t([[[1.0, 3.0], [0.0, 4.0]]]), eps=0.0)
    np.testing.assert_allclose(inst.numpy(), [[[-1, 1], [-1, 1]]])
    # batch_norm in eval: (x - running_mean) / sqrt(running_var + eps) * weight + bias
    out = F.batch_norm(t([[1.0, 2.0], [3.0, 4.0]]), t([1.0, 0.0]), t([4.0, 1.0]),
                       t([2.0, 1.0]), t([0.5, 0.0]), eps=0.0)
    np.testing.assert_allclose(out.numpy(), [[0.5, 2.0], [2.5, 4.0]])


def test_local_response_norm_golden():
    # channel c's window: c - size // 2 ... c + (size - 1) // 2, zeros beyond the ends
    x = t([[[1.0], [2.0], [3.0]]])
    out = F.local_response_norm(x, 2, alpha=2.0, beta=1.0, k=1.0)
    np.testing.assert_allclose(out.numpy()[0, :, 0], [1 / 2, 2 / 6, 3 / 14], rtol=1e-6)
    out = F.local_response_norm(x, 3, alpha=3.0, beta=0.5, k=0.0)
    np.testing.assert_allclose(out.numpy()[0, :, 0],
                               [1 / np.sqrt(5), 2 / np.sqrt(14), 3 / np.sqrt(13)], rtol=1e-6)
    empty = t(np.zeros((0, 3, 2)))
    assert F.local_response_norm(empty, 2) is empty        # as PyTorch: the input itself


def test_recorded_backward_gives_the_fast_paths_gradient():
    """With create_graph the rule recomputes rstd from x with tapegrad ops (Note
    [Normalization statistics]); it must give the fast path's numbers."""
    rng = np.random.default_rng(0)
    x = t(rng.standard_normal((3, 4, 5)), tg.float64, True)
    g = t(rng.standard_normal((3, 4, 5)), tg.float64)
    for fn in (lambda x: F.layer_norm(x, [4, 5]), lambda x: F.rms_norm(x, [5]),
               lambda x: F.batch_norm(x, None, None, training=True),
               lambda x: F.group_norm(x, 2)):
        fast, = tg.autograd.grad(fn(x), [x], g)
        recorded, = tg.autograd.grad(fn(x), [x], g, create_graph=True)
        assert recorded.requires_grad
        np.testing.assert_allclose(recorded.detach().numpy(), fast.numpy(), rtol=1e-12)


# ---- running statistics ---------------------------------------------------------------------
@pytest.mark.parametrize("momentum", [0.1, 0.5])
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (2, 3, 3, 4)])
def test_batch_norm_running_stats_follow_the_formula(momentum, shape):
    rng = np.random.default_rng(1)
    rm, rv = t(np.zeros(3)), t(np.ones(3))
    want_m, want_v = np.zeros(3), np.ones(3)
    axes = (0,) + tuple(range(2, len(shape)))
    for step in range(4):
        x = rng.normal(step, 1 + step, shape).astype(np.float32)
        version = rm._version
        out = F.batch_norm(t(x), rm, rv, training=True, momentum=momentum)
        n = x.size // 3
        x64 = x.astype(np.float64)
        want_m = (1 - momentum) * want_m + momentum * x64.mean(axes)
        want_v = (1 - momentum) * want_v + momentum * x64.var(axes) * n / (n - 1)
        np.testing.assert_allclose(rm.numpy(), want_m, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(rv.numpy(), want_v, rtol=1e-5)
        assert rm._version == version + 1          # one in-place write per call
        # training normalizes with the batch's biased variance, not the running one
        ref = (x64 - x64.mean(axes, keepdims=True)) / np.sqrt(x64.var(axes, keepdims=True) + 1e-5)
        np.testing.assert_allclose(out.numpy(), ref, rtol=1e-4, atol=1e-5)
    # evaluation uses the running statistics
    x = rng.standard_normal(shape).astype(np.float32)
    view = (3,) + (1,) * (len(shape) - 2)
    ref = (x - want_m.reshape(view)) / np.sqrt(want_v.reshape(view) + 1e-5)
    np.testing.assert_allclose(F.batch_norm(t(x), rm, rv).numpy(), ref, rtol=1e-4, atol=1e-5)


def test_batch_norm_momentum_none_and_the_cumulative_average():
    """PyTorch's F.batch_norm refuses momentum=None (TypeError); nn.BatchNorm's cumulative
    average is momentum=1/k on the k-th batch, which gives the plain average of the batches'
    statistics."""
    rm, rv = t(np.zeros(2), tg.float64), t(np.ones(2), tg.float64)
    with pytest.raises(TypeError, match="batch_norm: momentum must be a float"):
        F.batch_norm(t(np.ones((3, 2))), rm, rv, training=True, momentum=None)
    rng = np.random.default_rng(2)
    means, variances = [], []
    for k in range(1, 6):
        x = rng.normal(k, k, (4, 2, 3))
        F.batch_norm(t(x, tg.float64), rm, rv, training=True, momentum=1 / k)
        means.append(x.mean((0, 2)))
        variances.append(x.var((0, 2), ddof=1))
    np.testing.assert_allclose(rm.numpy(), np.mean(means, 0), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), np.mean(variances, 0), rtol=1e-12)


def test_instance_norm_running_stats_follow_the_formula():
    rng = np.random.default_rng(3)
    rm, rv = t(np.zeros(3), tg.float64), t(np.ones(3), tg.float64)
    want_m, want_v = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = rng.normal(1, 2, (2, 3, 5))
        F.instance_norm(t(x, tg.float64), rm, rv, momentum=0.3)
        # the batch average of each instance's mean and unbiased variance
        want_m = 0.7 * want_m + 0.3 * x.mean(2).mean(0)
        want_v = 0.7 * want_v + 0.3 * x.var(2, ddof=1).mean(0)
    np.testing.assert_allclose(rm.numpy(), want_m, rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), want_v, rtol=1e-12)
    ref = (x - want_m[:, None]) / np.sqrt(want_v[:, None] + 1e-5)
    out = F.instance_norm(t(x, tg.float64), rm, rv, use_input_stats=False)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)


def test_running_stats_take_no_gradient():
    x = t(np.arange(6.0).reshape(3, 2), grad=True)
    rm, rv = t([0.0, 0.0], grad=True), t([1.0, 1.0], grad=True)
    for training in (True, False):
        with pytest.raises(ArgumentError, match="batch_norm: running_mean requires grad"):
            F.batch_norm(x, rm, rv, training=training)
    with tg.no_grad():                      # allowed there, as in PyTorch
        F.batch_norm(x, rm, rv, training=True)
    np.testing.assert_allclose(rm.detach().numpy(), [0.2, 0.3])
    rm, rv = t([0.0, 0.0]), t([1.0, 1.0])
    F.batch_norm(x, rm, rv, training=True).sum().backward()
    assert rm.grad is None and not rm.requires_grad and x.grad is not None


def test_empty_batch_leaves_running_stats_alone():
    rm, rv = t([0.5, 0.5]), t([2.0, 2.0])
    out = F.batch_norm(t(np.zeros((0, 2))), rm, rv, training=True)
    assert out.shape == (0, 2)
    np.testing.assert_array_equal(rm.numpy(), [0.5, 0.5])
    np.testing.assert_array_equal(rv.numpy(), [2.0, 2.0])


# ---- numerics ----------------------------------------------------------------------------------
def _check_finite(out, *leaves):
    out.sum().backward()
    assert np.all(np.isfinite(out.detach().numpy()))
    for leaf in leaves:
        assert np.all(np.isfinite(leaf.grad.numpy())), "gradient not finite"


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
@pytest.mark.parametrize("value", [0.0, 2.5, 1e4, -1e4])
def test_constant_input_gives_bias_and_finite_gradients(dtype, value):
    for fn, shape in ((lambda x, w, b: F.layer_norm(x, [4], w, b), (3, 4)),
                      (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                       (3, 4)),
                      (lambda x, w, b: F.group_norm(x, 2, w, b), (3, 4, 2)),
                      (lambda x, w, b: F.instance_norm(x, weight=w, bias=b), (3, 4, 2))):
        x = t(np.full(shape, value), dtype, True)
        w, b = t([1.0, 2.0, 3.0, 4.0], dtype, True), t([0.5, -1.0, 2.0, 0.0], dtype, True)
        out = fn(x, w, b)
        want = np.broadcast_to([0.5, -1.0, 2.0, 0.0], (3, 4))
        got = out.detach().numpy().reshape(3, 4, -1)
        np.testing.assert_allclose(got, np.broadcast_to(want[..., None], got.shape))
        (out * t(np.random.default_rng(0).standard_normal(shape), dtype)).sum().backward()
        for leaf in (x, w, b):
            assert np.all(np.isfinite(leaf.grad.numpy()))


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_magnitudes_up_to_1e4_are_accurate_and_finite(dtype):
    rng = np.random.default_rng(4)
    np_dtype = np.float32 if dtype == tg.float32 else np.float64
    for x in (rng.uniform(-1e4, 1e4, (6, 8)), 1e4 + rng.standard_normal((6, 8))):
        x = x.astype(np_dtype)
        x64 = x.astype(np.float64)       # the same (rounded) inputs, computed in float64
        for fn, axes in ((lambda x: F.layer_norm(x, [8]), (1,)),
                         (lambda x: F.batch_norm(x, None, None, training=True), (0,)),
                         (lambda x: F.rms_norm(x, [8]), None)):
            xt = t(x, dtype, True)
            out = fn(xt)
            if axes is None:
                ref = x64 / np.sqrt(np.mean(x64 ** 2, 1, keepdims=True) + np.finfo(np_dtype).eps)
            else:
                ref = ((x64 - x64.mean(axes, keepdims=True))
                       / np.sqrt(x64.var(axes, keepdims=True) + 1e-5))
            # float32 rounds the mean of 1e4 + noise to a few ulps (1e-3 each) of 1e4
            np.testing.assert_allclose(out.detach().numpy(), ref, atol=1e-2 if
                                       dtype == tg.float32 else 1e-9)
            _check_finite(out, xt)


@pytest.mark.parametrize("name", ["layer_norm", "batch_norm", "group_norm", "instance_norm",
                                  "rms_norm", "local_response_norm"])
def test_float16_computes_in_float32_and_returns_float16(name):
    fns = {"layer_norm": lambda x, w: F.layer_norm(x, [6], w.reshape(6) if w is not None
                                                   and w.numel() == 6 else None),
           "batch_norm": lambda x, w: F.batch_norm(x, None, None, w, w, training=True),
           "group_norm": lambda x, w: F.group_norm(x, 3, w, w),
           "instance_norm": lambda x, w: F.instance_norm(x, weight=w, bias=w),
           "rms_norm": lambda x, w: F.rms_norm(x, [6]),
           "local_response_norm": lambda x, w: F.local_response_norm(x, 3) * w.reshape(6, 1)}
    rng = np.random.default_rng(5)
    for scale in (1.0, 1e4):
        x = (scale * rng.uniform(-1, 1, (4, 6, 6))).astype(np.float16)
        w = rng.uniform(0.5, 1.5, 6).astype(np.float16)
        xh, wh = t(x, tg.float16, True), t(w, tg.float16, True)
        out = fns[name](xh, wh)
        assert out.dtype == tg.float16
        ref = fns[name](t(x), t(w)).numpy()          # float32 from the same values
        np.testing.assert_allclose(out.detach().numpy().astype(np.float32), ref,
                                   rtol=2e-3, atol=2e-3)
        out.sum().backward()
        assert xh.grad.dtype == tg.float16 and np.all(np.isfinite(xh.grad.numpy()))


# ---- errors ----------------------------------------------------------------------------------
X3 = np.zeros((2, 3, 4), dtype=np.float32)
ERRORS = [
    (lambda: F.layer_norm(t(X3), [3]), ShapeError,
     r"layer_norm: normalized_shape=\(3,\) must match the last dims .* \(\*, 3\).*\(2, 3, 4\)"),
    (lambda: F.layer_norm(t(X3), [1, 2, 3, 4]), ShapeError, r"\(\*, 1, 2, 3, 4\)"),
    (lambda: F.layer_norm(t(X3), []), ArgumentError,
     r"layer_norm: normalized_shape must name at least one dim, got \[\]"),
    (lambda: F.layer_norm(t(X3), [4.0]), TypeError,
     "layer_norm: normalized_shape must be a sequence of ints"),
    (lambda: F.layer_norm(t(X3), (3, 4), t(np.ones(4))), ShapeError,
     r"layer_norm: weight should have shape \(3, 4\), but it has shape \(4,\)"),
    (lambda: F.layer_norm(t(X3), (4,), None, t(np.ones((1, 4)))), ShapeError,
     r"layer_norm: bias should have shape \(4,\), but it has shape \(1, 4\)"),
    (lambda: F.layer_norm(t(X3), (4,), np.ones(4)), TypeError, "weight must be a Tensor"),
    (lambda: F.layer_norm(tg.tensor([[1, 2]]), [2]), DTypeError,
     "layer_norm: input dtype must be floating point, got int64"),
    (lambda: F.layer_norm(X3, [4]), TypeError, "layer_norm: input must be a Tensor"),
    (lambda: F.rms_norm(t(X3), [3]), ShapeError, "rms_norm: normalized_shape"),
    (lambda: F.rms_norm(t(X3), [4], t(np.ones(3))), ShapeError, r"rms_norm: weight .* \(4,\)"),
    (lambda: F.batch_norm(t(np.ones(3)), None, None, training=True), ShapeError,
     r"batch_norm: expected an input of shape \(N, C, \*\) with at least 2 dims, got .*\(3,\)"),
    (lambda: F.batch_norm(t(np.ones((1, 3))), None, None, training=True), ArgumentError,
     r"batch_norm: expected more than 1 value per channel when training, .*\(1, 3\)"),
    (lambda: F.batch_norm(t(np.ones((1, 3, 1))), None, None, training=True), ArgumentError,
     "more than 1 value per channel"),
    (lambda: F.batch_norm(t(X3), t(np.zeros(4)), t(np.ones(3)), training=True), ShapeError,
     r"batch_norm: running_mean should have 3 elements \(one per channel\), .* \(4,\)"),
    (lambda: F.batch_norm(t(X3), t(np.zeros(3)), t(np.ones(2))), ShapeError,
     "batch_norm: running_var should have 3 elements"),
    (lambda: F.batch_norm(t(X3), t(np.zeros(3)), t(np.ones(3)), t(np.ones(4))), ShapeError,
     "batch_norm: weight should have 3 elements"),
    (lambda: F.batch_norm(t(X3), t(np.zeros(3)), t(np.ones(3)), None, t(np.ones(2))),
     ShapeError, "batch_norm: bias should have 3 elements"),
    (lambda: F.batch_norm(t(X3), None, None), ArgumentError,
     r"batch_norm: running_mean and running_var must be given in evaluation mode"),
    (lambda: F.batch_norm(t(X3), t(np.zeros(3)), None, training=True), ArgumentError,
     "must either both be None or neither be None"),
    (lambda: F.batch_norm(t(X3), None, None, training=True, eps=0.0), ArgumentError,
     "batch_norm: eps must be positive in training, but got 0.0"),
    (lambda: F.batch_norm(t(X3), t(np.zeros(3)), t(np.ones(3)), eps=-1.0), ArgumentError,
     "batch_norm: eps must be non-negative, but got -1.0"),
    (lambda: F.batch_norm(t(X3), None, None, training=True, momentum="0.1"), TypeError,
     "batch_norm: momentum must be a float"),
    (lambda: F.instance_norm(t(np.ones((2, 3, 1)))), ArgumentError,
     r"instance_norm: expected more than 1 spatial element when training, .*\(2, 3, 1\)"),
    (lambda: F.instance_norm(t(X3), use_input_stats=False), ArgumentError,
     "instance_norm: running_mean and running_var must be given when use_input_stats is False"),
    (lambda: F.instance_norm(t(X3), t(np.zeros(6)), t(np.ones(6))), ShapeError,
     "instance_norm: running_mean should have 3 elements"),
    (lambda: F.instance_norm(t(X3), weight=t(np.ones(2))), ShapeError,
     "instance_norm: weight should have 3 elements"),
    (lambda: F.group_norm(t(X3), 2), ArgumentError,
     r"group_norm: the number of channels must be divisible by num_groups .* \(2, 3, 4\) "
     r"\(3 channels\) and num_groups=2"),
    (lambda: F.group_norm(t(X3), 0), ArgumentError, "num_groups=0"),
    (lambda: F.group_norm(t(X3), 1.5), TypeError, "group_norm: num_groups must be an int"),
    (lambda: F.group_norm(t(np.ones(3)), 1), ShapeError, "group_norm: expected an input"),
    (lambda: F.group_norm(t(X3), 3, t(np.ones((3, 1)))), ShapeError,
     r"group_norm: weight should have shape \(3,\), but it has shape \(3, 1\)"),
    (lambda: F.group_norm(t(X3), 3, None, t(np.ones(2))), ShapeError, "group_norm: bias"),
    (lambda: F.local_response_norm(t(np.ones((2, 3))), 2), ShapeError,
     r"local_response_norm: expected an input of 3 or more dims .*\(2, 3\)"),
    (lambda: F.local_response_norm(t(X3), 0), ArgumentError,
     "local_response_norm: size must be a positive int, got 0"),
    (lambda: F.local_response_norm(t(X3), 2.0), TypeError,
     "local_response_norm: size must be an int, got 2.0"),
    # PyTorch's one-value check: the batch times the group size
    (lambda: F.group_norm(t(np.ones((1, 1, 1))), 1), ArgumentError,
     r"group_norm: expected more than 1 value per group .* \(1, 1, 1\)"),
    (lambda: F.group_norm(t(np.ones((1, 2))), 2), ArgumentError, "more than 1 value"),
    (lambda: F.group_norm(t(np.ones((1, 2))), 2, t(np.ones(2), tg.float16)), ArgumentError,
     "more than 1 value"),        # PyTorch's order: this check before the dtypes
    # PyTorch's CPU batch_norm: parameters in the input's dtype (float32 for float16 input)
    (lambda: F.batch_norm(t(X3, tg.float64), t(np.zeros(3)), t(np.ones(3)), training=True),
     DTypeError, "batch_norm: running_mean has dtype float32 but the input float64"),
    (lambda: F.batch_norm(t(X3), t(np.zeros(3)), t(np.ones(3)), t(np.ones(3), tg.float64)),
     DTypeError, "batch_norm: weight has dtype float64"),
    (lambda: F.batch_norm(t(X3, tg.float16), t(np.zeros(3), tg.float64), t(np.ones(3)),
                          training=True), DTypeError, "use float16 or float32"),
    (lambda: F.layer_norm(t(X3), [4], t(np.ones(4), tg.float64)), DTypeError,
     "layer_norm: weight has dtype float64 but the input float32"),
    (lambda: F.group_norm(t(X3, tg.float64), 3, None, t(np.ones(3))), DTypeError,
     "group_norm: bias has dtype float32"),
    (lambda: F.instance_norm(t(X3), weight=t(np.ones(3), tg.float16)), DTypeError,
     "instance_norm: weight has dtype float16"),
]


def test_rms_norm_keeps_the_input_dtype_with_a_wider_weight():
    out = F.rms_norm(t([[3.0, 4.0]]), [2], t([1.0, 2.0], tg.float64))
    assert out.dtype == tg.float32
    np.testing.assert_allclose(out.numpy(), [[0.848528, 2.262742]], rtol=1e-6)


def test_float16_input_takes_float32_parameters():
    x = t(np.arange(12.0).reshape(2, 3, 2), tg.float16)
    for out in (F.layer_norm(x, [2], t(np.ones(2))), F.group_norm(x, 3, t(np.ones(3))),
                F.instance_norm(x, weight=t(np.ones(3)))):
        assert out.dtype == tg.float16


def test_group_norm_one_value_per_group_is_fine_with_a_batch():
    # (2, 2) in 2 groups: one value per group but two samples, which PyTorch accepts
    out = F.group_norm(t(np.arange(4.0).reshape(2, 2)), 2, None, t(np.ones(2)))
    np.testing.assert_array_equal(out.numpy(), np.ones((2, 2)))


def test_batch_norm_float16_input_with_float32_statistics():
    rm, rv = t(np.zeros(2)), t(np.ones(2))
    out = F.batch_norm(t(np.arange(6.0).reshape(3, 2), tg.float16), rm, rv, t(np.ones(2)),
                       training=True)
    assert out.dtype == tg.float16 and rm.dtype == tg.float32
    np.testing.assert_allclose(rm.numpy(), [0.2, 0.3])


@pytest.mark.parametrize("call, error, message", ERRORS)
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_shape_errors_are_what_pytorch_users_catch():
    with pytest.raises(RuntimeError):
        F.layer_norm(t(X3), [3])
    with pytest.raises(ValueError):
        F.batch_norm(t(np.ones((1, 3))), None, None, training=True)


@pytest.mark.parametrize("create_graph", [False, True])
def test_empty_normalized_dims_backward_quietly(create_graph):
    x = t(np.zeros((0, 3)), grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for out in (F.rms_norm(x, [0, 3]), F.layer_norm(x, [0, 3])):
            (g,) = tg.autograd.grad(out, x, tg.ones(0, 3), create_graph=create_graph)
            assert tuple(g.shape) == (0, 3)
