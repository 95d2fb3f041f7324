"""tapegrad.nn.functional's losses and linear layers beyond the op database: errors for wrong
targets and arguments, hand-computed values, stability at magnitude 1e4, float16, kinks, and
the CTC gradient convention."""
import warnings

import numpy as np
import pytest

import nn_losses_ref as R
import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad import ArgumentError, DTypeError, IndexRangeError, ShapeError

FLOATS = (np.float32, np.float64)


def t(a, dtype=None, grad=False):
    return tg.tensor(np.asarray(a, dtype=dtype), requires_grad=grad)


# ---- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_class_index_errors(fn):
    x = tg.zeros(3, 5)
    name = fn.__name__
    with pytest.raises(IndexRangeError, match=f"{name}: target holds class 7.*5 classes"):
        fn(x, t([1, 2, 7]))
    with pytest.raises(IndexError):               # as PyTorch
        fn(x, t([1, -1, 2]))
    with pytest.raises(DTypeError, match=f"{name}: class-index target must have dtype int64"):
        fn(x, t([1, 2, 3], np.int32))
    with pytest.raises(ShapeError, match=r"must have shape \(3,\).*got \(2,\)"):
        fn(x, t([1, 2]))
    with pytest.raises(ShapeError, match=r"shape \(2, 3\) for input of shape \(2, 5, 3\)"
                                         r".*got \(2, 4\)"):
        fn(tg.zeros(2, 5, 3), t(np.zeros((2, 4), np.int64)))
    with pytest.raises(ShapeError, match=r"weight must have one entry per class, shape \(5,\)"):
        fn(x, t([1, 2, 3]), weight=tg.ones(4))
    with pytest.raises(ArgumentError, match="'avg' is not a valid value for reduction"):
        fn(x, t([1, 2, 3]), reduction="avg")
    assert np.isfinite(fn(x, t([1, 2, 3]), ignore_index=7).item())
    assert fn(x, t([1, 2, 3], np.uint8)).dtype == tg.float32      # uint8 targets as PyTorch


def test_cross_entropy_float_target_errors():
    x = tg.zeros(3, 5)
    with pytest.raises(ShapeError, match=r"cross_entropy: a float target holds class "
                                         r"probabilities and must have the input's shape"):
        F.cross_entropy(x, tg.zeros(3, 4))
    with pytest.raises(ShapeError, match="class probabilities"):
        F.cross_entropy(x, tg.zeros(3))
    with pytest.raises(ArgumentError, match="ignore_index is not supported"):
        F.cross_entropy(x, tg.zeros(3, 5), ignore_index=1)
    with pytest.raises(ArgumentError, match="label_smoothing must be in"):
        F.cross_entropy(x, t([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(DTypeError, match="weight has dtype float32 but input has dtype float64"):
        F.cross_entropy(x.double(), t([0, 1, 2]), weight=tg.ones(5))
    with pytest.raises(ArgumentError, match="gradients with respect to weight"):
        F.cross_entropy(x, t([0, 1, 2]), weight=tg.ones(5, requires_grad=True))
    with pytest.raises(DTypeError, match="input must be a floating point tensor"):
        F.cross_entropy(t([[1, 2]]), t([0]))
    with pytest.raises(ShapeError, match="0-d"):
        F.nll_loss(tg.tensor(1.0), t(0))


def test_binary_cross_entropy_errors():
    with pytest.raises(ArgumentError, match=r"binary_cross_entropy: .*input must be "
                                            r"probabilities in \[0, 1\] \(found 1.5\)"):
        F.binary_cross_entropy(tg.tensor([0.5, 1.5]), tg.tensor([1.0, 0.0]))
    with pytest.raises(ArgumentError, match=r"target must be in \[0, 1\] \(found -0.5\)"):
        F.binary_cross_entropy(tg.tensor([0.5]), tg.tensor([-0.5]))
    with pytest.raises(ShapeError, match=r"target shape \(1,\) must equal input shape \(2,\)"):
        F.binary_cross_entropy(tg.tensor([0.5, 0.2]), tg.tensor([1.0]))
    with pytest.raises(ShapeError, match="binary_cross_entropy_with_logits: target shape"):
        F.binary_cross_entropy_with_logits(tg.tensor([0.5, 0.2]), tg.tensor([1.0]))


def test_elementwise_losses_broadcast_with_a_warning_as_pytorch():
    with pytest.warns(UserWarning, match=r"mse_loss: using a target shape \(2, 3\)"):
        out = F.mse_loss(tg.ones(3), tg.zeros(2, 3))
    assert out.item() == 1.0
    with pytest.raises(ShapeError, match=r"l1_loss: input shape \(3,\) and target shape \(2,\)"):
        F.l1_loss(tg.ones(3), tg.ones(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.mse_loss(tg.ones(3), tg.ones(3))        # same shapes: no warning


def test_argument_errors():
    x = tg.zeros(2, 3)
    with pytest.raises(ArgumentError, match="smooth_l1_loss: beta must be >= 0"):
        F.smooth_l1_loss(x, x, beta=-1)
    with pytest.raises(ArgumentError, match="huber_loss: delta must be > 0"):
        F.huber_loss(x, x, delta=0)
    with pytest.raises(ArgumentError, match="kl_div: 'batch' is not a valid"):
        F.kl_div(x, x, reduction="batch")
    with pytest.raises(ArgumentError, match="poisson_nll_loss: 'batchmean'"):
        F.poisson_nll_loss(x, x, reduction="batchmean")
    with pytest.raises(ArgumentError, match="only p == 1 and p == 2"):
        F.multi_margin_loss(x, t([0, 1]), p=3)
    with pytest.raises(IndexRangeError, match="multi_margin_loss: target holds class 5"):
        F.multi_margin_loss(x, t([0, 5]))
    with pytest.raises(ShapeError, match="gaussian_nll_loss: var of shape"):
        F.gaussian_nll_loss(x, x, tg.ones(3))
    with pytest.raises(ArgumentError, match="var has negative entries"):
        F.gaussian_nll_loss(x, x, -tg.ones(2, 3))
    with pytest.raises(ShapeError, match="same number of dims"):
        F.margin_ranking_loss(tg.ones(3), tg.ones(3), tg.ones(2, 3))
    with pytest.raises(ShapeError, match="anchor, positive and negative"):
        F.triplet_margin_loss(x, x, tg.ones(3))
    with pytest.raises(ShapeError, match="cosine_embedding_loss"):
        F.cosine_embedding_loss(x, x, tg.ones(3))
    with pytest.raises(ShapeError, match=r"linear: input \(2, 3\), weight \(4, 2\)"):
        F.linear(x, tg.ones(4, 2))
    with pytest.raises(ShapeError, match="bias must broadcast"):
        F.linear(x, tg.ones(4, 3), tg.ones(3))
    with pytest.raises(ShapeError, match="bilinear: .*input2 .* last dims"):
        F.bilinear(x, tg.ones(2, 5), tg.ones(4, 3, 4))
    with pytest.raises(ShapeError, match="same batch dims"):
        F.bilinear(x, tg.ones(3, 4), tg.ones(4, 3, 4))


def test_ctc_errors():
    lp = tg.zeros(5, 2, 4)
    tgt = t([[1, 2], [3, 1]])
    with pytest.raises(ArgumentError, match=r"input_lengths must be in \[0, 5\]"):
        F.ctc_loss(lp, tgt, [6, 5], [2, 2])
    with pytest.raises(ShapeError, match="target_lengths .* exceed"):
        F.ctc_loss(lp, tgt, [5, 5], [3, 2])
    with pytest.raises(ShapeError, match="one entry per batch element"):
        F.ctc_loss(lp, tgt, [5], [2, 2])
    with pytest.raises(ShapeError, match="concatenated targets have 3 entries"):
        F.ctc_loss(lp, t([1, 2, 3]), [5, 5], [2, 2])
    with pytest.raises(IndexRangeError, match="targets hold class 4"):
        F.ctc_loss(lp, t([[1, 4], [3, 1]]), [5, 5], [2, 2])
    with pytest.raises(DTypeError, match="targets must hold integer"):
        F.ctc_loss(lp, tg.ones(2, 2), [5, 5], [2, 2])
    with pytest.raises(IndexRangeError, match="blank=4"):
        F.ctc_loss(lp, tgt, [5, 5], [2, 2], blank=4)
    with pytest.raises(ShapeError, match=r"\(T, N, C\) or \(T, C\)"):
        F.ctc_loss(tg.zeros(5), tgt, [5, 5], [2, 2])


# ---- hand-computed values -------------------------------------------------------------------
def test_golden_values():
    ln2 = np.log(2.0)
    x = t([[0.0, 0.0], [0.0, np.log(3.0)]], np.float32)
    # per sample: -log(1/2) = ln 2, -log(1/4) = ln 4 (target 0 of [1, 3])
    ce = F.cross_entropy(x, t([1, 0]), reduction="none")
    np.testing.assert_allclose(ce.numpy(), [ln2, 2 * ln2], rtol=1e-6)
    # weights 1 and 3 on the targets: (1 ln2 * 3 + ... ) mean divides by the weight sum
    w = tg.tensor([1.0, 3.0])
    np.testing.assert_allclose(F.cross_entropy(x, t([1, 0]), weight=w).item(),
                               (3 * ln2 + 1 * 2 * ln2) / 4, rtol=1e-6)
    np.testing.assert_allclose(F.cross_entropy(x, t([1, -100])).item(), ln2, rtol=1e-6)
    assert np.isnan(F.cross_entropy(x, t([-100, -100])).item())      # as PyTorch
    np.testing.assert_allclose(F.binary_cross_entropy(tg.tensor([0.0, 1.0]),
                                                      tg.tensor([1.0, 1.0]), reduction="none")
                               .numpy(), [100.0, 0.0])
    np.testing.assert_allclose(F.kl_div(tg.tensor([[np.log(0.25), np.log(0.75)]]),
                                        tg.tensor([[0.5, 0.5]]), reduction="batchmean").item(),
                               0.5 * np.log(2) + 0.5 * np.log(2 / 3), rtol=1e-6)
    assert F.kl_div(tg.tensor([-1.0]), tg.tensor([0.0])).item() == 0.0      # 0 log 0 = 0
    # CTC: two steps, one label; paths "1-", "-1", "11": 3 * (1/2)^2 ... with 2 classes
    lp = tg.full((2, 1, 2), 0.5).log()
    np.testing.assert_allclose(F.ctc_loss(lp, t([[1]]), [2], [1], reduction="none").numpy(),
                               [-np.log(0.75)], rtol=1e-6)
    np.testing.assert_allclose(F.ctc_loss(lp, t([[1]]), [2], [1]).item(), -np.log(0.75),
                               rtol=1e-6)       # 'mean' divides by the target length (1)


def test_legacy_size_average_and_reduce():
    x, y = tg.tensor([1.0, 3.0]), tg.zeros(2)
    assert F.mse_loss(x, y, size_average=False).item() == 10.0
    assert F.mse_loss(x, y, reduce=False).shape == (2,)
    assert F.mse_loss(x, y, size_average=True).item() == 5.0


# ---- numerics ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
def test_stable_at_magnitude_1e4(dtype):
    big = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], dtype=dtype)
    cases = [
        lambda x: F.cross_entropy(x, t([1, 2])),
        lambda x: F.cross_entropy(x, t([0, 1]), label_smoothing=0.1, weight=t([1, 2, 3], dtype)),
        lambda x: F.cross_entropy(x, t(np.full((2, 3), 1 / 3, dtype))),
        lambda x: F.binary_cross_entropy_with_logits(x, t(np.eye(2, 3, dtype=dtype)),
                                                     pos_weight=t([1, 2, 3], dtype)),
        lambda x: F.kl_div(x, t(np.full((2, 3), 1 / 3, dtype)), reduction="batchmean"),
        lambda x: F.kl_div(x, -x.detach().abs(), log_target=True),
        lambda x: F.soft_margin_loss(x, t(np.ones((2, 3), dtype))),
        lambda x: F.multilabel_soft_margin_loss(x, t(np.eye(2, 3, dtype=dtype))),
    ]
    for k, case in enumerate(cases):
        x = tg.tensor(big, requires_grad=True)
        out = case(x)
        out.backward()
        assert out.dtype == x.dtype
        assert np.isfinite(out.item()), k
        assert np.isfinite(x.grad.numpy()).all(), k
    x = tg.tensor(big, requires_grad=True)
    F.cross_entropy(x, t([1, 2]), reduction="sum").backward()
    # softmax - onehot: row 0 puts all mass on class 0, target 1; row 1 on class 2 = target
    np.testing.assert_allclose(x.grad.numpy(), [[1, -1, 0], [0, 0, 0]], atol=1e-6)


def test_float16_computes_in_float32():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4)).astype(np.float16)
    tgt = rng.integers(0, 4, 6)
    xt = tg.tensor(x, requires_grad=True)
    out = F.cross_entropy(xt, t(tgt))
    out.backward()
    assert out.dtype == tg.float16 and xt.grad.dtype == tg.float16
    np.testing.assert_allclose(out.item(), R.cross_entropy(x.astype(np.float64), tgt),
                               rtol=1e-3)
    w = rng.standard_normal((3, 4)).astype(np.float16)
    lin = F.linear(t(x), t(w), t(np.ones(3, np.float16)))
    assert lin.dtype == tg.float16
    np.testing.assert_allclose(lin.numpy(), x.astype(np.float32) @ w.T.astype(np.float32) + 1,
                               rtol=2e-3, atol=2e-3)
    assert F.mse_loss(t(x), t(x + 1)).dtype == tg.float16
    lp = np.log(np.full((3, 1, 3), 1 / 3)).astype(np.float16)
    assert F.ctc_loss(t(lp), t([[1]]), [3], [1]).dtype == tg.float16


# ---- kinks and conventions --------------------------------------------------------------------
def test_gradients_at_kinks_as_pytorch():
    x = tg.tensor([0.0, 1.0, -1.0], requires_grad=True)
    F.l1_loss(x, tg.tensor([0.0, 0.0, 0.0]), reduction="sum").backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, -1.0])     # sign(0) = 0
    x = tg.tensor([1.0, 0.5], requires_grad=True)                       # |d| == beta: linear
    F.smooth_l1_loss(x, tg.zeros(2), beta=1.0, reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.5])
    x = tg.tensor([0.0], requires_grad=True)                            # softplus'(0) = 1/2
    F.binary_cross_entropy_with_logits(x, tg.tensor([1.0])).backward()
    np.testing.assert_allclose(x.grad.numpy(), [-0.5])
    p = tg.tensor([0.0, 1.0], requires_grad=True)                       # p at 0 or 1: finite
    F.binary_cross_entropy(p, tg.tensor([0.0, 1.0]), reduction="sum").backward()
    assert np.isfinite(p.grad.numpy()).all()


def test_ctc_gradient_is_pytorchs_on_log_probs():
    """exp(lp) - gamma, with gamma the class posteriors (Note [CTC recursions]); through a
    log_softmax it is the exact gradient of the logits."""
    rng = np.random.default_rng(3)
    big_t, c = 5, 4
    logits = rng.standard_normal((big_t, 1, c))
    lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    x = tg.tensor(lp, requires_grad=True)
    F.ctc_loss(x, t([[1, 2]]), [big_t], [2], reduction="sum").backward()
    g = x.grad.numpy()
    # the rows of gamma sum to 1, so each time step's gradient sums to sum(exp(lp)) - 1 = 0
    np.testing.assert_allclose(g.sum(-1), 0.0, atol=1e-12)
    eps, num = 1e-6, np.zeros_like(logits)      # finite differences through log_softmax
    for idx in np.ndindex(logits.shape):
        for sign in (1, -1):
            z = logits.copy()
            z[idx] += sign * eps
            zl = z - np.log(np.exp(z).sum(-1, keepdims=True))
            num[idx] += sign * R.ctc_one(zl[:, 0], [1, 2]) / (2 * eps)
    np.testing.assert_allclose(g, num, atol=1e-6)


def test_ctc_padding_and_concatenated_targets_agree():
    rng = np.random.default_rng(4)
    lp = np.log(rng.dirichlet(np.ones(5), (7, 3)))
    padded = np.array([[1, 2, 2], [3, 9, 9], [4, 1, 9]])     # 9: padding, never read
    lens = [3, 1, 2]
    a = F.ctc_loss(t(lp), t(padded), [7, 6, 5], lens, reduction="none")
    b = F.ctc_loss(t(lp), t([1, 2, 2, 3, 4, 1]), [7, 6, 5], lens, reduction="none")
    np.testing.assert_allclose(a.numpy(), b.numpy())
    np.testing.assert_allclose(a.numpy(), [R.ctc_one(lp[:n, i], padded[i, :k]) for i, (n, k) in
                                           enumerate(zip([7, 6, 5], lens))])
    u = F.ctc_loss(t(lp[:, 0]), t([1, 2, 2]), 7, 3, reduction="none")     # unbatched
    assert u.shape == () and np.isclose(u.item(), a.numpy()[0])


def test_ctc_impossible_alignment():
    lp = tg.tensor(np.log(np.full((2, 1, 3), 1 / 3)), requires_grad=True)
    out = F.ctc_loss(lp, t([[1, 1]]), [2], [2], reduction="sum")   # needs 3 steps
    assert out.item() == np.inf
    out = F.ctc_loss(lp, t([[1, 1]]), [2], [2], reduction="sum", zero_infinity=True)
    out.backward()
    assert out.item() == 0.0 and (lp.grad.numpy() == 0).all()


def test_ctc_is_differentiable_once():
    lp = tg.tensor(np.log(np.full((3, 1, 3), 1 / 3)), requires_grad=True)
    (g,) = tg.autograd.grad(F.ctc_loss(lp, t([[1]]), [3], [1]), lp, create_graph=True)
    assert np.isfinite(g.numpy()).all()
    # the rule is a constant in log_probs: a second derivative is refused, not silently 0
    assert not g.requires_grad
    with pytest.raises(tg.GradError):
        tg.autograd.grad(g.sum(), lp)


# ---- linear -----------------------------------------------------------------------------------
def test_linear_is_one_node_with_contiguous_grads():
    x = tg.randn(8, 5, requires_grad=True)
    w = tg.randn(3, 5, requires_grad=True)
    b = tg.randn(3, requires_grad=True)
    out = F.linear(x, w, b)
    assert out.grad_fn.name() == "LinearBackward0"
    assert all(p.op is None for p in out.grad_fn.parents)      # straight to the leaves
    out.sum().backward()
    assert w.grad.numpy().flags.c_contiguous
    np.testing.assert_allclose(b.grad.numpy(), [8.0, 8.0, 8.0])
    np.testing.assert_allclose(w.grad.numpy(), np.tile(x.detach().numpy().sum(0), (3, 1)),
                               rtol=1e-5)


def test_linear_without_grad_for_the_input_skips_its_product():
    x = tg.randn(4, 5)
    w = tg.randn(3, 5, requires_grad=True)
    F.linear(x, w).sum().backward()
    assert x.grad is None and w.grad is not None


def test_linear_second_order():
    x = tg.tensor(np.arange(6.0).reshape(2, 3) / 6, requires_grad=True)
    w = tg.tensor(np.ones((2, 3)), requires_grad=True)
    (gx,) = tg.autograd.grad((F.linear(x, w) ** 2).sum(), x, create_graph=True)
    (gw,) = tg.autograd.grad(gx.sum(), w)
    assert gw.shape == (2, 3) and np.isfinite(gw.numpy()).all()


# ---- regressions found by differential testing against PyTorch -----------------------------
@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_every_target_ignored_mean_is_nan_with_zero_gradient(fn):
    # PyTorch: loss 0 / 0 = nan, but the gradient is 0 (not 0 * inf = nan)
    for x, target in [(np.array([-1.0, -2.0, -3.0]), np.array(0)),
                      (np.zeros((2, 3, 2)), np.zeros((2, 2), np.int64))]:
        xt = t(x, grad=True)
        loss = fn(xt, t(target), ignore_index=0)
        assert np.isnan(loss.item())
        loss.backward()
        np.testing.assert_array_equal(xt.grad.numpy(), np.zeros_like(x))


def test_nll_loss_0d_target_with_weight():
    # a (C,) input with a 0-d target and class weights (was a NumPy TypeError)
    x = t([-1.0, -2.0, -3.0], grad=True)
    loss = F.nll_loss(x, t(1), weight=t([1.0, 2.0, 3.0]))
    assert loss.item() == 2.0
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, -1.0, 0.0])


def test_ctc_loss_empty_input_length():
    # PyTorch: an input of length 0 aligns with an empty target only (loss 0, else inf);
    # its gradient is 0
    lp = tg.full((3, 2, 3), 1 / 3).log().requires_grad_()
    targets = t([[1, 2], [1, 1]])
    loss = F.ctc_loss(lp, targets, [0, 3], [0, 2], reduction="none")
    assert loss[0].item() == 0.0 and np.isfinite(loss[1].item())
    loss = F.ctc_loss(lp, targets, [0, 3], [1, 2], reduction="none")
    assert np.isinf(loss[0].item())
    loss.sum().backward()
    np.testing.assert_array_equal(lp.grad.numpy()[:, 0], 0.0)
    zero = F.ctc_loss(lp, targets, [0, 3], [1, 2], reduction="none", zero_infinity=True)
    assert zero[0].item() == 0.0


@pytest.mark.parametrize("x_shape", [(2, 3, 4), (4,)])
def test_linear_no_output_features_backward(x_shape):
    # out_features = 0: the rows of a zero-size gradient (was a NumPy reshape ValueError)
    x, w, b = tg.ones(*x_shape, requires_grad=True), tg.ones(0, 4, requires_grad=True), \
        tg.ones(0, requires_grad=True)
    F.linear(x, w, b).sum().backward()
    assert x.grad.shape == x_shape and w.grad.shape == (0, 4) and b.grad.shape == (0,)
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)


def test_integer_inputs_refused_as_pytorch():
    # PyTorch has no integer kernels for these (found by differential testing)
    i, f = tg.tensor([[1, 2], [3, 4]]), tg.tensor([[0.5, 1.0], [2.0, 3.0]])
    for call in [lambda: F.mse_loss(i, i, reduction="none"), lambda: F.smooth_l1_loss(i, i),
                 lambda: F.huber_loss(i, i, reduction="sum"),
                 lambda: F.multi_margin_loss(i, t([0, 1])),
                 lambda: F.gaussian_nll_loss(i, i, i), lambda: F.gaussian_nll_loss(f, f, i),
                 lambda: F.kl_div(f, i), lambda: F.kl_div(f, i > 2)]:
        with pytest.raises(DTypeError, match="(loss|kl_div): .*(float|floating)"):
            call()
    assert F.mse_loss(f, i).dtype == tg.float32                # a float side promotes
    assert F.smooth_l1_loss(i, f, reduction="none").dtype == tg.float32


def test_broadcast_errors_name_the_loss():
    # found by review: these raised the inner op's error ("mul: shapes ...")
    x, y = tg.full((3, 4), 0.5), tg.full((3, 5), 0.5)
    for name, call in [
            ("binary_cross_entropy", lambda: F.binary_cross_entropy(x, x, weight=tg.ones(5))),
            ("binary_cross_entropy_with_logits",
             lambda: F.binary_cross_entropy_with_logits(x, x, pos_weight=tg.ones(5))),
            ("multilabel_soft_margin_loss",
             lambda: F.multilabel_soft_margin_loss(x, x, weight=tg.ones(5))),
            ("triplet_margin_loss", lambda: F.triplet_margin_loss(x, x, y)),
            ("margin_ranking_loss", lambda: F.margin_ranking_loss(x, x, y)),
            ("hinge_embedding_loss", lambda: F.hinge_embedding_loss(x, y)),
            ("poisson_nll_loss", lambda: F.poisson_nll_loss(x, y))]:
        with pytest.raises(ShapeError, match=rf"{name}: .*\(3, 4\).* can.t be broadcast"):
            call()
