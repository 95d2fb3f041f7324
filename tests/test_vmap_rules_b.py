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
from tapegrad.func.batching import FALLBACKS


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
