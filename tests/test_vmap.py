"""tapegrad.func.vmap: semantics (in_dims, out_dims, nesting, chunks, randomness), batched
autograd, the example-by-example fallback, and each error with its message."""
import warnings

import numpy as np
import pytest

import tapegrad as tg
from tapegrad._core.errors import NotSupportedError
from tapegrad.func import vmap
from tapegrad.func.batching import FallbackWarning


def _rand(*shape, seed=0):
    return tg.tensor(np.random.default_rng(seed).standard_normal(shape))


def _loop(f, *xs):
    return tg.stack([f(*a) for a in zip(*xs)])


def _close(a, b):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)


def mlp(x, w1, w2):
    return (tg.tanh(x @ w1) @ w2).softmax(-1).log().sum()


def test_composite_function_matches_loop():
    x, w1, w2 = _rand(5, 4), _rand(4, 3, seed=1), _rand(3, 2, seed=2)
    got = vmap(mlp, in_dims=(0, None, None))(x, w1, w2)
    _close(got, tg.stack([mlp(xi, w1, w2) for xi in x]))


def test_in_dims_out_dims_and_negative_dims():
    x, y = _rand(3, 5), _rand(3, 5, seed=1)
    got = vmap(lambda a, b: a * b, in_dims=(1, -1), out_dims=1)(x, y)
    want = tg.stack([x[:, i] * y[:, i] for i in range(5)], 1)
    _close(got, want)


def test_nested_containers_and_kwargs():
    x = {"a": _rand(4, 2), "b": [_rand(4, 2, seed=1), _rand(2, seed=2)]}

    def f(d, scale=1.0):
        return {"sum": (d["a"] + d["b"][0] * d["b"][1]) * scale, "first": d["a"][0]}

    got = vmap(f, in_dims=({"a": 0, "b": [0, None]},))(x, scale=2.0)
    for i in range(4):
        _close(got["sum"][i], (x["a"][i] + x["b"][0][i] * x["b"][1]) * 2.0)
        _close(got["first"][i], x["a"][i][0])


def test_unbatched_output_is_expanded_and_out_dims_none_keeps_it():
    x = _rand(3, 2)
    c = tg.ones(2)
    out = vmap(lambda a: (a * 2, c), out_dims=(0, None))(x)
    _close(out[0], x * 2)
    assert out[1] is c
    expanded = vmap(lambda a: c)(x)
    assert tuple(expanded.shape) == (3, 2)


def test_nested_vmap_matches_double_loop():
    x, y = _rand(3, 4, 2), _rand(4, 2, seed=1)
    f = lambda a, b: (a * b).sum() + a.max() # noqa: E731
    got = vmap(vmap(f, in_dims=(0, 0)), in_dims=(0, None))(x, y)
    want = tg.stack([tg.stack([f(x[i, j], y[j]) for j in range(4)]) for i in range(3)])
    _close(got, want)


def test_matmul_shapes_match_loop():
    for xs, ys, dims in [((5, 3), (5, 3), (0, 0)), ((5, 3), (3, 4), (0, None)),
                         ((3,), (5, 3, 4), (None, 0)), ((5, 2, 3), (3,), (0, None)),
                         ((5, 2, 3), (5, 6, 3, 4), (0, 0)), ((5, 3), (2, 3, 4), (0, None))]:
        x, y = _rand(*xs), _rand(*ys, seed=1)
        got = vmap(tg.matmul, in_dims=dims)(x, y)
        ex = [x[i] if dims[0] == 0 else x for i in range(5)]
        ey = [y[i] if dims[1] == 0 else y for i in range(5)]
        _close(got, tg.stack([a @ b for a, b in zip(ex, ey)]))


def test_chunk_size_gives_the_same_result():
    x = _rand(7, 3)
    f = lambda a: (a.exp() * a).sum(0) # noqa: E731
    _close(vmap(f, chunk_size=3)(x), vmap(f)(x))


def test_gradient_flows_through_vmap():
    x = _rand(4, 3).requires_grad_()
    vmap(lambda a: (a.sin() * a).sum())(x).sum().backward()
    g = x.grad
    x.grad = None
    sum(((xi.sin() * xi).sum() for xi in x), tg.tensor(0.0, dtype=tg.float64)).backward()
    _close(g, x.grad)


def test_per_example_gradients_with_autograd_grad_on_batched_inputs():
    from tapegrad._core.batched import batched_at, rewrap
    from tapegrad._core.state import STATE
    w, x = _rand(3, 2), _rand(6, 3, seed=1)

    def per_example(w, x):
        levels = list(STATE.vmap_levels)
        wi = rewrap(batched_at(w, levels).detach().requires_grad_(), levels)
        return tg.autograd.grad((x @ wi).tanh().sum(), wi)[0]

    got = vmap(per_example, in_dims=(None, 0))(w, x)
    want = []
    for xi in x:
        wi = w.detach().clone().requires_grad_()
        (xi @ wi).tanh().sum().backward()
        want.append(wi.grad)
    _close(got, tg.stack(want))


def test_autograd_grad_on_a_shared_input_is_refused():
    w = _rand(3, 2).requires_grad_()
    with pytest.raises(tg.GradError, match="same for every example"):
        vmap(lambda x: tg.autograd.grad((x @ w).sum(), w))(_rand(4, 3))


def test_backward_inside_vmap_is_refused():
    with pytest.raises(NotSupportedError, match="func.grad"):
        vmap(lambda x: x.sum().backward())(_rand(4, 3).requires_grad_())


def test_forward_mode_inside_vmap():
    import tapegrad.autograd.forward_ad as fwAD
    x, t = _rand(4, 3), _rand(3, seed=1)

    def jvp_sin(a):
        with fwAD.dual_level():
            return fwAD.unpack_dual(fwAD.make_dual(a, t).sin()).tangent

    _close(vmap(jvp_sin)(x), x.cos() * t)


def test_inplace_on_batched_tensor():
    x, y = _rand(4, 3), _rand(3, seed=1)
    got = vmap(lambda a: a.clone().mul_(y).add_(1.0))(x)
    _close(got, x * y + 1.0)


def test_inplace_growing_an_unbatched_tensor_is_refused():
    y = tg.zeros(3, dtype=tg.float64)
    with pytest.raises(NotSupportedError, match="not batched"):
        vmap(lambda a: y.add_(a))(_rand(4, 3))


def test_fallback_is_correct_and_warns_once_naming_the_op():
    x = _rand(5, 4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = vmap(lambda a: a.sort(descending=True).values[:2])(x)
    _close(got, tg.stack([xi.sort(descending=True).values[:2] for xi in x]))
    msgs = [str(w.message) for w in caught if issubclass(w.category, FallbackWarning)]
    assert len(msgs) <= 1 and (not msgs or "sort" in msgs[0])


def test_where_with_batched_condition():
    x = _rand(5, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = vmap(lambda a: tg.where(a > 0, a, a * 0.1))(x)
    _close(got, tg.where(x > 0, x, x * 0.1))


def test_cross_entropy_with_class_indices_is_batched_and_correct():
    import tapegrad.nn.functional as F
    logits, t = _rand(6, 4, 5), tg.tensor(np.random.default_rng(3).integers(0, 5, (6, 4)))
    from tapegrad.func.batching import FALLBACKS
    before = FALLBACKS["count"]
    got = vmap(F.cross_entropy)(logits, t)
    assert FALLBACKS["count"] == before
    _close(got, tg.stack([F.cross_entropy(a, b) for a, b in zip(logits, t)]))
    got1 = vmap(F.cross_entropy)(logits[:, 0], t[:, 0])
    _close(got1, tg.stack([F.cross_entropy(a, b) for a, b in zip(logits[:, 0], t[:, 0])]))


# ---- randomness ---------------------------------------------------------------------------
def test_randomness_modes():
    x = tg.zeros(4, 3)
    with pytest.raises(NotSupportedError, match="randomness='error'"):
        vmap(lambda a: a + tg.rand(3))(x)
    same = vmap(lambda a: a + tg.rand(3), randomness="same")(x)
    assert np.allclose(same.numpy(), same.numpy()[:1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diff = vmap(lambda a: a + tg.rand(3), randomness="different")(x)
    assert not np.allclose(diff.numpy(), diff.numpy()[:1])
    assert ((diff.numpy() >= 0) & (diff.numpy() < 1)).all()


# ---- errors ---------------------------------------------------------------------------------
def test_data_dependent_control_flow_is_refused():
    def f(a):
        if a.sum() > 0:
            return a
        return -a
    with pytest.raises(NotSupportedError, match="data-dependent control flow"):
        vmap(f)(_rand(3, 2))
    with pytest.raises(NotSupportedError, match="data-dependent control flow"):
        vmap(lambda a: tg.tensor(a.sum().item()))(_rand(3, 2))


def test_escaped_batched_tensor_is_refused():
    kept = []
    vmap(lambda a: kept.append(a) or a)(_rand(3, 2))
    with pytest.raises(NotSupportedError, match="escaped"):
        kept[0] + 1


def test_in_dims_errors_name_the_argument():
    x, y = _rand(3, 2), _rand(4, 2)
    with pytest.raises(tg.ArgumentError, match="different sizes: 3 and 4"):
        vmap(tg.add)(x, y)
    with pytest.raises(ValueError, match="in_dims"):
        vmap(tg.add, in_dims=(0, 0, 0))(x, x)
    with pytest.raises(tg.ArgumentError, match="dim 2.*shape \\(3, 2\\)"):
        vmap(tg.neg, in_dims=2)(x)
    with pytest.raises(tg.ArgumentError, match="no input is mapped"):
        vmap(tg.neg, in_dims=None)(x)
    with pytest.raises(tg.ArgumentError, match="not a tensor"):
        vmap(lambda a, n: a * n, in_dims=(0, 0))(x, 2.0)


def test_output_errors():
    x = _rand(3, 2)
    with pytest.raises(NotSupportedError, match="must return tensors"):
        vmap(lambda a: 1.0)(x)
    with pytest.raises(tg.ArgumentError, match="out_dims is None"):
        vmap(lambda a: a * 2, out_dims=None)(x)


def test_argument_errors():
    with pytest.raises(tg.ArgumentError, match="randomness"):
        vmap(tg.neg, randomness="sometimes")
    with pytest.raises(tg.ArgumentError, match="chunk_size"):
        vmap(tg.neg, chunk_size=0)


def test_data_dependent_output_shape_is_refused():
    with pytest.raises(NotSupportedError, match="different shapes"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vmap(lambda a: a[a > 0])(tg.tensor([[1.0, -1.0], [1.0, 1.0]]))


def test_user_inputs_are_not_mutated():
    x = _rand(3, 2)
    before = x.numpy().copy()
    vmap(lambda a: a.exp().sum())(x)
    assert np.array_equal(x.numpy(), before) and not x.requires_grad


def test_slicing_backward_batches_without_fallback():
    """jacrev of a function that slices: the slice's backward (view_scatter) runs batched over
    the cotangents, without a fallback, and gives the Jacobian the loop does."""
    from tapegrad.func import jacrev
    from tapegrad.func.batching import FALLBACKS
    x = _rand(4, 5)
    f = lambda z: (z[1:3, ::2] ** 2).sum(0) # noqa: E731
    before = FALLBACKS["count"]
    got = jacrev(f)(x)
    assert FALLBACKS["count"] == before
    want = np.zeros((3, 4, 5))
    for j in range(3):
        for i in (1, 2):
            want[j, i, 2 * j] = 2 * x[i, 2 * j].item()
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)


def test_custom_function_inside_vmap_runs_per_example():
    """A custom Function sees arrays, so vmap runs the function example by example: values
    and per-example gradients (vmap of func.grad) equal the loop's."""
    from tapegrad.func import grad
    from test_autograd_function import _functions
    Cube = _functions(tg)[0]

    x = _rand(4, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _close(vmap(lambda a: Cube.apply(a).sum())(x), (x ** 3).sum(1))
        _close(vmap(grad(lambda a: Cube.apply(a).sum()))(x), 3 * x ** 2)
    assert any("Cube" in str(w.message) for w in caught)
