"""vmap's batching rules for nn.functional (pools, losses, embeddings, resampling, norms,
attention, recurrent layers): layouts the op-database rows miss (examples with and without
their own N dim, in_dims other than 0, operands shared by the batch, nested vmap, gradients
inside vmap and vmap of a vector-Jacobian product). Each check also asserts the rule ran:
nothing fell back to the example-by-example loop."""
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad.func import vmap
from tapegrad._core.errors import NotSupportedError
from tapegrad.func.batching import FALLBACKS, FallbackWarning


def _rand(*shape, seed=0):
    return tg.tensor(np.random.default_rng(seed).standard_normal(shape))


def _close(got, want):
    for g, w in zip(got if isinstance(got, tuple) else (got,),
                    want if isinstance(want, tuple) else (want,)):
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


def _stack(outs):
    if isinstance(outs[0], tuple):
        return tuple(tg.stack(list(col)) for col in zip(*outs))
    return tg.stack(outs)


def _batched(f, *args, in_dims=0):
    """vmap(f)(*args), checked to run without the example-by-example fallback."""
    before = FALLBACKS["count"]
    out = vmap(f, in_dims=in_dims)(*args)
    assert FALLBACKS["count"] == before, "fell back to the loop"
    return out


def _loop(f, *args, in_dims=0):
    dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    return _stack([f(*[a if d is None else a.movedim(d, 0)[i] for a, d in zip(args, dims)])
                   for i in range(size)])


def _per_example_grad(f):
    def g(x):
        x = x.detach().requires_grad_()
        return tg.autograd.grad(f(x), x)[0]
    return g


# ---- pools ------------------------------------------------------------------------------------
POOLS = [
    lambda x: F.max_pool2d(x, 2, stride=1, padding=1, return_indices=True),
    lambda x: F.max_pool2d(x, (2, 3), dilation=(1, 1), ceil_mode=True),
    lambda x: F.adaptive_max_pool2d(x, (2, 3), return_indices=True),
    lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
    lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
    lambda x: F.lp_pool2d(x, 2.0, 2),
    lambda x: F.lp_pool2d(x, float("inf"), 2),
]


@pytest.mark.parametrize("example", [(2, 3, 5, 6), (3, 5, 6)], ids=["NCHW", "CHW"])
@pytest.mark.parametrize("k", range(len(POOLS)))
def test_pools_match_loop_with_a_batch_dim_anywhere(k, example):
    f = POOLS[k]
    x = _rand(*example[:1], 4, *example[1:])          # batch dim at 1
    _close(_batched(f, x, in_dims=1), _loop(f, x, in_dims=1))


@pytest.mark.parametrize("k", range(len(POOLS)))
def test_pools_per_example_gradients(k):
    f = lambda x: (lambda o: o[0] if isinstance(o, tuple) else o)(POOLS[k](x))  # noqa: E731
    loss = lambda x: (f(x) ** 2).sum()                                            # noqa: E731
    x = _rand(4, 2, 5, 6)
    _close(_batched(_per_example_grad(loss), x), _loop(_per_example_grad(loss), x))


@pytest.mark.parametrize("k", range(len(POOLS)))
def test_pools_vmap_of_a_vjp(k):
    """jacrev's rows: one graph, a batch of cotangents (the primitives' own rules run)."""
    x = _rand(2, 5, 6).requires_grad_()
    y = POOLS[k](x)
    y = y[0] if isinstance(y, tuple) else y
    vs = _rand(3, *y.shape, seed=1)
    vjp = lambda v: tg.autograd.grad(y, x, v, retain_graph=True)[0]   # noqa: E731
    _close(_batched(vjp, vs), _loop(vjp, vs))


def test_nested_vmap_of_max_pool():
    x = _rand(2, 3, 1, 4, 4)
    f = lambda a: F.max_pool2d(a, 2, return_indices=True)     # noqa: E731
    got = _batched(vmap(f), x)
    _close(got, _stack([_loop(f, xi) for xi in x]))


@pytest.mark.parametrize("in_dims", [(0, None), (None, 0), (0, 0)])
def test_max_unpool_with_input_or_indices_shared(in_dims):
    x = _rand(3, 2, 6, 6)
    ys, idx = vmap(lambda a: F.max_pool2d(a, 2, return_indices=True))(x)
    y = ys if in_dims[0] == 0 else ys[0]
    i = idx if in_dims[1] == 0 else idx[1]
    f = lambda a, b: F.max_unpool2d(a, b, 2, output_size=(7, 7))     # noqa: E731
    _close(_batched(f, y, i, in_dims=in_dims), _loop(f, y, i, in_dims=in_dims))


def test_pool_input_shared_with_a_batched_unpool_target():
    """max_unpool of a shared input at per-example indices, differentiated per example."""
    x = _rand(2, 3, 3)
    rng = np.random.default_rng(1)
    idx = tg.tensor(np.stack([rng.choice(36, 9, replace=False).reshape(3, 3)
                              for _ in range(8)]).reshape(4, 2, 3, 3))
    f = lambda i: F.max_unpool2d(x, i, 2)                     # noqa: E731
    _close(_batched(f, idx), _loop(f, idx))


# ---- losses -----------------------------------------------------------------------------------
def _probs(*shape, seed=0):
    return tg.tensor(np.random.default_rng(seed).uniform(0.05, 0.95, shape))


def _classes(*shape, c=4, seed=0):
    return tg.tensor(np.random.default_rng(seed).integers(0, c, shape))


W4 = tg.tensor([0.5, 1.0, 2.0, 1.5], dtype=tg.float64)
LOSSES = [  # (loss, example arguments with a batch of 3 in front)
    (lambda x, t, w: F.huber_loss(x, t, weight=w, delta=0.5),
     (_rand(3, 2, 4), _rand(3, 2, 4, seed=1), _probs(3, 4))),
    (lambda x, t: F.smooth_l1_loss(x, t, beta=0.3, reduction="sum"),
     (_rand(3, 2, 4), _rand(3, 4, seed=1))),                   # the target broadcasts
    (lambda x, t, w: F.binary_cross_entropy(x, t, w), (_probs(3, 2, 4), _probs(3, 2, 4, seed=1),
                                                       _probs(3, 4, seed=2))),
    (lambda x, t: F.hinge_embedding_loss(x, t, margin=0.7),
     (_rand(3, 5), tg.tensor(np.sign(np.random.default_rng(1).standard_normal((3, 5)))))),
    (lambda x, t: F.poisson_nll_loss(x, t, full=True), (_rand(3, 2, 3), _probs(3, 2, 3) * 3)),
    (lambda x, t, v: F.gaussian_nll_loss(x, t, v), (_rand(3, 4, 2), _rand(3, 4, 2, seed=1),
                                                    _probs(3, 4, seed=2))),
    (lambda x, t: F.gaussian_nll_loss(x, t, 0.5, reduction="sum"),
     (_rand(3, 4, 2), _rand(3, 4, 2, seed=1))),
    (lambda x, t: F.cross_entropy(x, t, weight=W4, ignore_index=1,
                                  label_smoothing=0.1), (_rand(3, 5, 4, 2), _classes(3, 5, 2))),
    (lambda x, t: F.cross_entropy(x, t, ignore_index=2), (_rand(3, 4), _classes(3))),
    (lambda x, t: F.nll_loss(x, t, weight=W4, ignore_index=0),
     (_rand(3, 6, 4), _classes(3, 6))),
    (lambda x, t: F.multi_margin_loss(x, t, p=2, weight=W4),
     (_rand(3, 5, 4), _classes(3, 5))),
    (lambda a, b, t: F.cosine_embedding_loss(a, b, t, margin=0.1),
     (_rand(3, 5, 2), _rand(3, 5, 2, seed=1), _classes(3, 5, c=2) * 2 - 1)),
]


@pytest.mark.filterwarnings("ignore:smooth_l1_loss. using a target shape")
@pytest.mark.parametrize("k", range(len(LOSSES)))
def test_losses_match_loop_with_each_argument_shared(k):
    f, args = LOSSES[k]
    for shared in range(-1, len(args)):       # -1: every argument batched
        dims = tuple(None if i == shared else 0 for i in range(len(args)))
        xs = [a[0] if i == shared else a for i, a in enumerate(args)]
        _close(_batched(f, *xs, in_dims=dims), _loop(f, *xs, in_dims=dims))


@pytest.mark.filterwarnings("ignore:smooth_l1_loss. using a target shape")
@pytest.mark.parametrize("k", range(len(LOSSES)))
def test_losses_per_example_gradients(k):
    f, args = LOSSES[k]
    rest = args[1:]

    def grad_of(x, *r):
        x = x.detach().requires_grad_()
        return tg.autograd.grad(f(x, *r), x)[0]
    _close(_batched(grad_of, args[0], *rest), _loop(grad_of, args[0], *rest))


def test_nested_vmap_of_cross_entropy_with_samples():
    x, t = _rand(2, 3, 5, 4), _classes(2, 3, 5)
    f = lambda a, b: F.cross_entropy(a, b, reduction="none", label_smoothing=0.2)  # noqa: E731
    _close(_batched(vmap(f), x, t), _stack([_loop(f, xi, ti) for xi, ti in zip(x, t)]))


def test_nll_loss_mean_with_every_target_ignored_is_nan_for_that_example():
    x, t = _rand(3, 2, 4), tg.tensor([[1, 1], [0, 1], [1, 1]])
    f = lambda a, b: F.nll_loss(a, b, ignore_index=1)          # noqa: E731
    got = _batched(f, x, t)
    _close(got, _loop(f, x, t))
    assert np.isnan(got.numpy()[[0, 2]]).all() and np.isfinite(got.numpy()[1])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("layout", ["padded", "concatenated", "unbatched"])
def test_ctc_loss_layouts(reduction, layout):
    rng = np.random.default_rng(0)
    lp = tg.tensor(rng.standard_normal((4, 6, 2, 5))).log_softmax(-1)    # B=4, (T, N, C)
    tl = tg.tensor([[3, 2], [2, 2], [1, 3], [3, 3]])
    il = tg.tensor([[6, 5], [6, 6], [4, 6], [6, 5]])
    if layout == "padded":
        tg_ = tg.tensor(rng.integers(1, 5, (4, 2, 3)))
    elif layout == "concatenated":
        tg_ = tg.tensor(rng.integers(1, 5, (4, 5)))       # each example's lengths sum to 5
        tl = tg.tensor([[3, 2], [2, 3], [1, 4], [4, 1]])
    else:
        lp, tg_, il, tl = lp[:, :, 0], tg.tensor(rng.integers(1, 5, (4, 3))), il[:, 0], tl[:, 0]
    f = lambda a, b, c, d: F.ctc_loss(a, b, c, d, reduction=reduction)    # noqa: E731
    _close(_batched(f, lp, tg_, il, tl), _loop(f, lp, tg_, il, tl))
    # targets and lengths shared by the batch (Python lists for the lengths)
    g = lambda a: F.ctc_loss(a, tg_[0], il[0].tolist() if layout != "unbatched" else  # noqa
                             int(il[0]), tl[0].tolist() if layout != "unbatched" else int(tl[0]),
                             reduction=reduction)
    _close(_batched(g, lp), _loop(g, lp))


# ---- one_hot, embedding, embedding_bag ------------------------------------------------------
def test_one_hot_infers_the_shared_class_count_and_refuses_differing_ones():
    t = tg.tensor([[0, 3], [3, 1]])
    _close(_batched(F.one_hot, t), _loop(F.one_hot, t))
    with pytest.raises(NotSupportedError, match="different shapes"), \
            pytest.warns(FallbackWarning, match="one_hot"):
        vmap(F.one_hot)(tg.tensor([[0, 3], [2, 1]]))


EMB_KW = [{}, {"padding_idx": 2}, {"scale_grad_by_freq": True, "padding_idx": -1}]


@pytest.mark.parametrize("kw", EMB_KW, ids=str)
@pytest.mark.parametrize("in_dims", [(0, None), (None, 0), (0, 0)])
def test_embedding_with_shared_or_per_example_weight_and_its_gradient(kw, in_dims):
    idx = _classes(3, 2, 4, c=5)
    w = _rand(3, 5, 2)
    xs = (idx if in_dims[0] == 0 else idx[0], w if in_dims[1] == 0 else w[0])
    f = lambda i, v: F.embedding(i, v, **kw)                 # noqa: E731
    _close(_batched(f, *xs, in_dims=in_dims), _loop(f, *xs, in_dims=in_dims))
    if in_dims[1] == 0:             # per-example gradients of the weight (padding row: 0)
        def grad_w(i, v):
            v = v.detach().requires_grad_()
            return tg.autograd.grad((f(i, v) ** 2).sum(), v)[0]
        _close(_batched(grad_w, *xs, in_dims=in_dims), _loop(grad_w, *xs, in_dims=in_dims))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("layout", ["fixed", "offsets", "last_offset"])
def test_embedding_bag_layouts_with_a_per_example_weight(mode, layout):
    w = _rand(3, 6, 2)
    if layout == "fixed":
        idx, off = _classes(3, 2, 3, c=6), None
    else:
        idx = _classes(3, 7, c=6)
        off = tg.tensor([[0, 2, 2, 5], [0, 3, 3, 7], [0, 1, 4, 6]] if layout == "offsets"
                        else [[0, 2, 5, 7], [0, 3, 3, 7], [0, 1, 4, 7]])
    kw = {"mode": mode, "padding_idx": 1, "include_last_offset": layout == "last_offset"}
    if off is None:
        f = lambda i, v: F.embedding_bag(i, v, **kw)          # noqa: E731
        args, dims = (idx, w), (0, 0)
    else:
        f = lambda i, v, o: F.embedding_bag(i, v, o, **kw)    # noqa: E731
        args, dims = (idx, w, off), (0, 0, 0)
    _close(_batched(f, *args, in_dims=dims), _loop(f, *args, in_dims=dims))
    shared = tuple(None if k == 1 else d for k, d in enumerate(dims))
    args = tuple(w[0] if k == 1 else a for k, a in enumerate(args))
    _close(_batched(f, *args, in_dims=shared), _loop(f, *args, in_dims=shared))


# ---- pad, interpolate, grid_sample, affine_grid ------------------------------------------------
VISION = [
    lambda x: F.pad(x, (1, 2, 0, 1), value=0.5),
    lambda x: F.pad(x, (2, 1, 1, 0), mode="reflect"),
    lambda x: F.pad(x, (1, 1, 2, 0), mode="circular"),
    lambda x: F.pad(x, (-1, 2, 1, 1), mode="replicate"),
    lambda x: F.interpolate(x, scale_factor=(1.5, 2), mode="bilinear"),
    lambda x: F.interpolate(x, size=(3, 7), mode="bicubic", align_corners=True),
    lambda x: F.interpolate(x, size=(4, 3), mode="area"),
    lambda x: F.interpolate(x, scale_factor=2, mode="nearest"),
    lambda x: F.upsample_bilinear(x, size=(3, 5)),
]


@pytest.mark.parametrize("k", range(len(VISION)))
def test_pad_and_interpolate_with_a_batch_dim_anywhere_and_gradients(k):
    f = VISION[k]
    x = _rand(2, 3, 4, 5, 6)                   # batch dim at 2: examples (2, 3, 5, 6)
    _close(_batched(f, x, in_dims=2), _loop(f, x, in_dims=2))
    loss = lambda a: (f(a) ** 2).sum()         # noqa: E731
    _close(_batched(_per_example_grad(loss), x, in_dims=2),
           _loop(_per_example_grad(loss), x, in_dims=2))


@pytest.mark.parametrize("k", range(1, len(VISION)))
def test_pad_and_interpolate_vmap_of_a_vjp(k):
    # (constant padding's backward crops through view_scatter, which has no rule yet)
    x = _rand(2, 3, 5, 6).requires_grad_()
    y = VISION[k](x)
    vs = _rand(4, *y.shape, seed=1)
    vjp = lambda v: tg.autograd.grad(y, x, v, retain_graph=True)[0]   # noqa: E731
    _close(_batched(vjp, vs), _loop(vjp, vs))


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("in_dims", [(0, 0), (0, None), (None, 0)])
def test_grid_sample_with_image_or_grid_shared(padding_mode, in_dims):
    img = _rand(3, 2, 2, 4, 5)
    grid = tg.tensor(np.random.default_rng(1).uniform(-1.2, 1.2, (3, 2, 3, 4, 2)))
    xs = (img if in_dims[0] == 0 else img[0], grid if in_dims[1] == 0 else grid[0])
    f = lambda a, g: F.grid_sample(a, g, padding_mode=padding_mode,      # noqa: E731
                                   align_corners=False)
    _close(_batched(f, *xs, in_dims=in_dims), _loop(f, *xs, in_dims=in_dims))


def test_affine_grid_per_example_thetas_and_nested():
    theta = _rand(2, 3, 4, 2, 3)
    f = lambda t: F.affine_grid(t, (4, 1, 3, 5), align_corners=False)   # noqa: E731
    _close(_batched(f, theta[0]), _loop(f, theta[0]))
    _close(_batched(vmap(f), theta), _stack([_loop(f, t) for t in theta]))


# ---- attention ----------------------------------------------------------------------------------
def _mask(*shape, seed=3):
    m = np.random.default_rng(seed).uniform(size=shape) < 0.7
    m[..., 0] = True
    return tg.tensor(m)


@pytest.mark.parametrize("in_dims", [(0, 0, 0), (0, None, None), (None, 0, None),
                                     (None, None, 0), (0, 0, None)])
@pytest.mark.parametrize("mask", [None, "bool", "float"])
def test_attention_with_operands_and_masks_shared_or_batched(in_dims, mask):
    q, k, v = _rand(3, 2, 4, 5), _rand(3, 2, 6, 5, seed=1), _rand(3, 2, 6, 3, seed=2)
    args = [a if d == 0 else a[0] for a, d in zip((q, k, v), in_dims)]
    dims = in_dims
    if mask is not None:       # a per-example mask (broadcast over the heads)
        m = _mask(3, 4, 6) if mask == "bool" else _rand(3, 1, 4, 6, seed=4)
        args, dims = args + [m], in_dims + (0,)
    f = lambda *a: F.scaled_dot_product_attention(*a[:3], attn_mask=a[3] if len(a) > 3  # noqa
                                                   else None, is_causal=mask is None)
    _close(_batched(f, *args, in_dims=dims), _loop(f, *args, in_dims=dims))
    if in_dims[0] == 0:
        def grad_q(*a):
            qq = a[0].detach().requires_grad_()
            return tg.autograd.grad((f(qq, *a[1:]) ** 2).sum(), qq)[0]
        _close(_batched(grad_q, *args, in_dims=dims), _loop(grad_q, *args, in_dims=dims))


# ---- batch_norm, instance_norm, local_response_norm -------------------------------------------
def _stats(batched, seed):
    rm, rv = _rand(3, 2, seed=seed) * 0.1, _probs(3, 2, seed=seed) + 0.5
    return (rm, rv) if batched else (rm[0], rv[0])


@pytest.mark.parametrize("fn", ["batch_norm", "instance_norm"])
@pytest.mark.parametrize("stats", [None, "shared", "batched"])
@pytest.mark.parametrize("example", [(4, 2), (3, 2, 5), (2, 2, 2, 3)], ids=str)
def test_norm_training_matches_loop_and_updates_running_stats_as_it(fn, stats, example):
    if fn == "instance_norm" and len(example) == 2:
        return
    x, w, b = _rand(3, *example), _probs(3, 2, seed=1) + 0.5, _rand(2, seed=2)
    norm = getattr(F, fn)
    kw = {"training": True} if fn == "batch_norm" else {}

    def f(a, rm, rv, ww):
        return norm(a, rm, rv, ww, b, momentum=0.3, eps=1e-3, **kw)
    got_stats = _stats(stats == "batched", 5) if stats else (None, None)
    want_stats = tuple(None if s is None else s.clone() for s in got_stats)
    dims = (0, 0 if stats == "batched" else None, 0 if stats == "batched" else None, 0)
    got = _batched(f, x, *got_stats, w, in_dims=dims)
    want = _loop(f, x, *want_stats, w, in_dims=dims)
    _close(got, want)
    for g, s in zip(got_stats, want_stats):
        if g is not None:
            np.testing.assert_allclose(g.numpy(), s.numpy(), rtol=1e-12)

    def grad_x(a, rm, rv, ww):
        a = a.detach().requires_grad_()
        return tg.autograd.grad((f(a, rm, rv, ww) ** 2).sum(), a)[0]
    if stats is None:
        _close(_batched(grad_x, x, None, None, w, in_dims=dims),
               _loop(grad_x, x, None, None, w, in_dims=dims))


@pytest.mark.parametrize("fn", ["batch_norm", "instance_norm"])
def test_norm_evaluation_with_per_example_running_stats(fn):
    x, w = _rand(3, 4, 2, 3), _probs(3, 2, seed=1) + 0.5
    rm, rv = _stats(True, 5)
    if fn == "batch_norm":
        f = lambda a, m, v, ww: F.batch_norm(a, m, v, ww, None, eps=1e-3)  # noqa: E731
    else:
        f = lambda a, m, v, ww: F.instance_norm(a, m, v, ww, None,         # noqa: E731
                                                use_input_stats=False, eps=1e-3)
    for dims in [(0, 0, 0, 0), (None, 0, 0, None), (0, 0, None, None)]:
        args = [a if d == 0 else a[0] for a, d in zip((x, rm, rv, w), dims)]
        _close(_batched(f, *args, in_dims=dims), _loop(f, *args, in_dims=dims))


def test_local_response_norm_and_nested_vmap():
    x = _rand(2, 3, 2, 5, 4)
    f = lambda a: F.local_response_norm(a, 3, alpha=0.5, k=2.0)    # noqa: E731
    _close(_batched(f, x[0]), _loop(f, x[0]))
    _close(_batched(vmap(f), x), _stack([_loop(f, xi) for xi in x]))


# ---- unfold / fold ------------------------------------------------------------------------------
@pytest.mark.parametrize("example", [(2, 3, 5, 6), (3, 5, 6)], ids=["NCHW", "CHW"])
def test_unfold_fold_round_trip_and_vjp(example):
    x = _rand(4, *example)
    u = lambda a: F.unfold(a, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1))    # noqa
    f = lambda c: F.fold(c, (5, 6), (2, 3), dilation=(1, 2), padding=1,              # noqa
                         stride=(2, 1))
    _close(_batched(u, x), _loop(u, x))
    cols = u(x.reshape(-1, *example[-3:])).reshape(4, *example[:-3], -1, u(x[0]).shape[-1])
    _close(_batched(f, cols), _loop(f, cols))
    x0 = x[0].detach().requires_grad_()
    y = u(x0)
    vs = _rand(3, *y.shape, seed=1)
    vjp = lambda v: tg.autograd.grad(y, x0, v, retain_graph=True)[0]   # noqa: E731
    _close(_batched(vjp, vs), _loop(vjp, vs))


# ---- gumbel_softmax(hard=True) ------------------------------------------------------------------
@pytest.mark.parametrize("dim", [-1, 0])
def test_gumbel_softmax_hard_with_shared_noise_matches_loop(dim):
    x = _rand(4, 3, 5)

    def f(a):
        tg.manual_seed(7)           # every example draws the same noise (randomness='same')
        return F.gumbel_softmax(a, tau=0.5, hard=True, dim=dim)
    before = FALLBACKS["count"]
    got = vmap(f, randomness="same")(x)
    assert FALLBACKS["count"] == before
    _close(got, _loop(f, x))
    assert np.all(got.numpy().sum(dim if dim < 0 else dim + 1) == 1)


# ---- recurrent layers ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("packed", [False, True])
def test_recurrent_layer_with_shared_or_per_example_weights(mode, packed):
    from tapegrad.ops.nn.recurrent import recurrent_layer
    g, hid, n_in = {"lstm": 4, "gru": 3}.get(mode, 1), 3, 2
    bs = (3, 2, 2, 1) if packed else (3, 3, 3)
    x = _rand(4, sum(bs), n_in)
    w_ih, w_hh = _rand(4, g * hid, n_in, seed=1), _rand(4, g * hid, hid, seed=2)
    b_ih, b_hh = _rand(4, g * hid, seed=3), _rand(4, g * hid, seed=4)
    h0 = _rand(4, 3, hid, seed=5)
    c0 = _rand(4, 3, hid, seed=6) if mode == "lstm" else None

    def f(x, w_ih, w_hh, b_ih, b_hh, h0, *c0):
        out, h_n, c_n = recurrent_layer(mode, x, w_ih, w_hh, b_ih, b_hh, h0,
                                        c0[0] if c0 else None, bs, packed)
        return (out, h_n) if c_n is None else (out, h_n, c_n)
    args = (x, w_ih, w_hh, b_ih, b_hh, h0) + ((c0,) if c0 is not None else ())
    for dims in [(0,) + (None,) * (len(args) - 1), (0,) * len(args),
                 (None, 0) + (None,) * (len(args) - 2)]:
        xs = [a if d == 0 else a[0] for a, d in zip(args, dims)]
        _close(_batched(f, *xs, in_dims=dims), _loop(f, *xs, in_dims=dims))

        def grads(*a):           # per-example gradients of x and the input weights
            xx, ww = a[0].detach().requires_grad_(), a[1].detach().requires_grad_()
            outs = f(xx, ww, *a[2:])
            return tg.autograd.grad(sum((o ** 2).sum() for o in outs), (xx, ww))
        if dims[0] == 0 and dims[1] == 0:
            _close(_batched(grads, *xs, in_dims=dims), _loop(grads, *xs, in_dims=dims))


def test_lstm_module_over_a_batch_of_sequence_batches():
    tg.manual_seed(0)
    lstm = tg.nn.LSTM(2, 3, num_layers=2, batch_first=True).double()
    x = _rand(4, 5, 6, 2)                       # 4 examples of (N=5, T=6, 2)
    f = lambda a: lstm(a)[0]                    # noqa: E731
    _close(_batched(f, x), _loop(f, x))


# ---- randomness='different' without a loop --------------------------------------------------
@pytest.mark.parametrize("fn", [lambda a: F.dropout(a, 0.4),
                                lambda a: F.alpha_dropout(a, 0.3, training=True),
                                lambda a: F.dropout2d(a, 0.5),
                                lambda a: F.feature_alpha_dropout(a, 0.5, training=True)])
def test_dropouts_draw_one_mask_per_example_for_the_whole_batch(fn):
    x = _rand(5, 3, 4, 2, 2)                    # 5 examples of (N=3, C=4, 2, 2)
    tg.manual_seed(3)
    before = FALLBACKS["count"]
    got = vmap(fn, randomness="different")(x)
    assert FALLBACKS["count"] == before
    tg.manual_seed(3)                           # the same draw: the mask of the whole batch,
    want = fn(x.reshape(15, 4, 2, 2)).reshape(x.shape)   # one (N, C) mask per example
    _close(got, want)
    assert any(not np.array_equal(got[0].numpy(), got[i].numpy()) for i in range(1, 5))


def test_dropout_different_for_unbatched_channel_examples_and_nested():
    x = tg.ones(6, 4, 3)                         # examples (C=4, L=3): one mask per channel
    tg.manual_seed(0)
    y = vmap(lambda a: F.dropout1d(a, 0.5), randomness="different")(x)
    assert (y.amax(-1) == y.amin(-1)).all() and not np.array_equal(y[0].numpy(), y[1].numpy())
    before = FALLBACKS["count"]
    z = vmap(vmap(lambda a: F.dropout(a, 0.5), randomness="different"),
             randomness="different")(tg.ones(3, 4, 50))
    assert FALLBACKS["count"] == before
    flat = z.reshape(12, 50).numpy()
    assert len({row.tobytes() for row in flat}) == 12


def test_attention_dropout_different_per_example():
    q = _rand(4, 3, 5)
    tg.manual_seed(1)
    before = FALLBACKS["count"]
    got = vmap(lambda a: F.scaled_dot_product_attention(a, a, a, dropout_p=0.5),
               randomness="different")(q)
    assert FALLBACKS["count"] == before
    tg.manual_seed(1)
    want = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)   # the batch's own draw
    _close(got, want)


def test_dropout_randomness_error_and_same_are_unchanged():
    x = _rand(3, 8)
    with pytest.raises(NotSupportedError, match="randomness"):
        vmap(lambda a: F.dropout(a, 0.5))(x)
    y = vmap(lambda a: F.dropout(a * 0 + 1, 0.5), randomness="same")(x)
    assert all(np.array_equal(y[0].numpy(), y[i].numpy()) for i in range(3))


def test_dropout_nested_same_outside_different_inside():
    before = FALLBACKS["count"]
    z = vmap(vmap(lambda a: F.dropout(a, 0.5), randomness="different"),
             randomness="same")(tg.ones(3, 4, 50))
    assert FALLBACKS["count"] == before
    z = z.numpy()
    assert all(np.array_equal(z[0], z[i]) for i in range(3))          # shared by the outer
    assert len({row.tobytes() for row in z[0]}) == 4                   # own per inner example


RANDOM = [  # (per example, the same on the whole batch)
    (lambda a: F.rrelu(a, 0.1, 0.4, training=True), lambda a: F.rrelu(a, 0.1, 0.4, training=True)),
    (lambda a: F.gumbel_softmax(a, tau=0.7), lambda a: F.gumbel_softmax(a, tau=0.7)),
    (lambda a: F.gumbel_softmax(a, hard=True, dim=0),
     lambda a: F.gumbel_softmax(a, hard=True, dim=1)),
]


@pytest.mark.parametrize("k", range(len(RANDOM)))
def test_rrelu_and_gumbel_draw_per_example_values_for_the_whole_batch(k):
    fn, whole = RANDOM[k]
    x = _rand(4, 3, 5)
    tg.manual_seed(2)
    before = FALLBACKS["count"]
    got = vmap(fn, randomness="different")(x)
    tg.manual_seed(2)
    nested = vmap(vmap(fn, randomness="different"), randomness="different")(
        x.reshape(2, 2, 3, 5))
    assert FALLBACKS["count"] == before
    tg.manual_seed(2)
    _close(got, whole(x))
    _close(nested.reshape(4, 3, 5), got)


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("example", [(4,), (5, 4), (5, 4, 2)], ids=str)
def test_class_losses_with_per_example_class_weights(fn, reduction, example):
    x = _rand(3, *example)
    t = _classes(3, *example[:1], *example[2:]) if len(example) > 1 else _classes(3)
    w = _probs(3, 4, seed=7)
    f = lambda a, b, v: getattr(F, fn)(a, b, weight=v, ignore_index=1,   # noqa: E731
                                       reduction=reduction)
    _close(_batched(f, x, t, w), _loop(f, x, t, w))
    shared_x = (None, 0, 0)
    _close(_batched(f, x[0], t, w, in_dims=shared_x), _loop(f, x[0], t, w, in_dims=shared_x))

    def grad_x(a, b, v):
        a = a.detach().requires_grad_()
        return tg.autograd.grad(f(a, b, v).sum(), a)[0]
    _close(_batched(grad_x, x, t, w), _loop(grad_x, x, t, w))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("example", [(4,), (5, 4)], ids=str)
def test_multi_margin_loss_with_per_example_class_weights(reduction, example):
    x, w = _rand(3, *example), _probs(3, 4, seed=7)
    t = _classes(3, *example[:-1])
    f = lambda a, b, v: F.multi_margin_loss(a, b, p=2, weight=v,      # noqa: E731
                                            reduction=reduction)
    _close(_batched(f, x, t, w), _loop(f, x, t, w))

    def grad_x(a, b, v):
        a = a.detach().requires_grad_()
        return tg.autograd.grad(f(a, b, v).sum(), a)[0]
    _close(_batched(grad_x, x, t, w), _loop(grad_x, x, t, w))


# ---- conv_weight (conv's weight adjoint) ------------------------------------------------------
@pytest.mark.parametrize("groups", [1, 2])
def test_vmap_of_a_vjp_of_conv_weights(groups):
    x = _rand(2, 4, 7, 6)
    w = _rand(6, 4 // groups, 3, 2, seed=1).requires_grad_()
    y = F.conv2d(x, w, stride=(2, 1), padding=1, groups=groups)
    vs = _rand(5, *y.shape, seed=2)
    vjp = lambda v: tg.autograd.grad(y, w, v, retain_graph=True)[0]    # noqa: E731
    _close(_batched(vjp, vs), _loop(vjp, vs))


@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("in_dims", [(0, 0), (0, None), (None, 0)])
def test_conv_weight_primitive_with_inputs_or_cotangents_per_example(groups, in_dims):
    from tapegrad.ops.nn.conv import CONV_WEIGHT
    from tapegrad.ops.registry import apply
    x, g = _rand(3, 2, 4, 5, 5), _rand(3, 2, 6, 3, 3, seed=1)
    params = {"stride": (1, 1), "padding": ((0, 0), (0, 0)), "dilation": (1, 1),
              "groups": groups,
              "kernel": (3, 3), "in_size": (5, 5), "out_size": (3, 3)}
    f = lambda a, b: apply(CONV_WEIGHT, (a, b), params)               # noqa: E731
    xs = [a if d == 0 else a[0] for a, d in zip((x, g), in_dims)]
    _close(_batched(f, *xs, in_dims=in_dims), _loop(f, *xs, in_dims=in_dims))
