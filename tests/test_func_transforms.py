"""tapegrad.func's transforms (grad, grad_and_value, vjp, jvp, linearize, jacrev, jacfwd,
hessian): the three styles agree, nesting composes without perturbation confusion, the
transforms are pure, values match torch.func's (skipped without torch), and misuse raises
errors that name the transform and the argument."""
import math

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import func
from tapegrad._core.errors import ArgumentError, DTypeError, ShapeError
from tapegrad.func._pytree import tree_flatten


def f64(a):
    return tg.tensor(np.asarray(a, dtype=np.float64))


def rand(*shape, seed=0):
    return f64(np.random.default_rng(seed).standard_normal(shape))


def close(a, b, tol=1e-10):
    """Every leaf of two trees (tapegrad or torch tensors, numbers) equal to ``tol``."""
    la, sa = tree_flatten(a)
    lb, sb = tree_flatten(b)
    assert len(la) == len(lb), (sa, sb)
    for x, y in zip(la, lb):
        x = x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)
        y = y.detach().numpy() if hasattr(y, "detach") else np.asarray(y)
        assert x.shape == y.shape, (x.shape, y.shape)
        np.testing.assert_allclose(x, y, rtol=tol, atol=tol)


# ---- the three styles, and classic results ---------------------------------------------------

def test_three_styles_square_at_one_give_two():
    g = func.grad(lambda x: x ** 2)(1.0)
    x = tg.tensor(1.0, requires_grad=True)
    (x ** 2).backward()
    assert g.item() == 2.0 and x.grad.item() == 2.0
    # a Python float gives a 0-d float32 tensor (the default dtype), as documented
    assert isinstance(g, tg.Tensor) and g.shape == () and g.dtype == tg.float32


@pytest.mark.parametrize("v", [-2.0, -0.3, 0.0, 0.7, 1.5, 3.0])
def test_third_derivative_of_sin_is_minus_cos(v):
    d3 = func.grad(func.grad(func.grad(tg.sin)))(f64(v))
    assert math.isclose(d3.item(), -math.cos(v), abs_tol=1e-12)


def test_fourth_derivative_mixing_modes():
    d4 = func.grad(func.grad(func.grad(func.grad(tg.sin))))
    assert math.isclose(d4(f64(0.4)).item(), math.sin(0.4), abs_tol=1e-12)
    fwd = func.jacfwd(func.jacrev(func.jacfwd(tg.sin)))
    assert math.isclose(fwd(f64(0.4)).item(), -math.cos(0.4), abs_tol=1e-12)


@pytest.mark.parametrize("x", [-1.5, 0.0, 2.0, 7.0])
def test_no_perturbation_confusion(x):
    """d/dx [x * d/dy (x + y)] = 1 at every x: the inner derivative is 1 and must not pick
    up the outer perturbation (a confused implementation gives 2)."""
    def inner_rev(x):
        return x * func.grad(lambda y: x + y)(x)

    def inner_fwd(x):
        return x * func.jvp(lambda y: x + y, (x,), (tg.ones_like(x),))[1]

    x = f64(x)
    for outer in (func.grad, func.jacfwd, func.jacrev):
        for inner in (inner_rev, inner_fwd):
            assert outer(inner)(x).item() == 1.0, (outer.__name__, inner.__name__)
    _, t = func.jvp(inner_fwd, (x,), (f64(1.0),))
    assert t.item() == 1.0


def test_nested_jvp_keeps_levels_apart():
    # d/dx d/dy [x * y] at (x, y) = 1, through two forward levels
    def dfdy(x, y):
        return func.jvp(lambda y: x * y, (y,), (tg.ones_like(y),))[1]
    _, t = func.jvp(lambda x: dfdy(x, f64(5.0)), (f64(3.0),), (f64(1.0),))
    assert t.item() == 1.0


def test_hessian_of_quadratic_form_is_a_plus_a_transpose():
    A = rand(4, 4, seed=3)
    for x in (rand(4, seed=4), rand(4, seed=5)):
        H = func.hessian(lambda x: x @ A @ x)(x)
        close(H, A + A.T, 1e-12)


def test_hessian_of_scalar_function_matches_hand():
    # f = x0^2 x1 + sin(x1): H = [[2 x1, 2 x0], [2 x0, -sin x1]]
    x = f64([1.5, 0.5])
    H = func.hessian(lambda v: v[0] ** 2 * v[1] + v[1].sin())(x)
    close(H, np.array([[1.0, 3.0], [3.0, -math.sin(0.5)]]), 1e-12)


def test_jacfwd_and_jacrev_agree():
    W = rand(3, 4, seed=6)
    fns = [lambda x: tg.tanh(W @ x), lambda x: (x ** 3).cumsum(0) * x.sum(),
           lambda x: x.reshape(2, 2).T.exp(), lambda x: tg.softmax(x, 0)]
    for f in fns:
        x = rand(4, seed=7)
        close(func.jacfwd(f)(x), func.jacrev(f)(x), 1e-12)
        close(func.jacrev(f, chunk_size=1)(x), func.jacrev(f)(x), 1e-12)
        close(func.jacrev(f, chunk_size=3)(x), func.jacrev(f)(x), 1e-12)


def test_jacobian_layout_nested_outputs_and_argnums():
    x, y = rand(3, seed=1), rand(2, 2, seed=2)

    def f(x, y):
        return {"a": x * y.sum(), "b": (y ** 2, x.sum())}
    for jac in (func.jacrev, func.jacfwd):
        J = jac(f, argnums=(0, 1))(x, y)
        assert set(J) == {"a", "b"}
        assert J["a"][0].shape == (3, 3) and J["a"][1].shape == (3, 2, 2)
        assert J["b"][0][0].shape == (2, 2, 3) and J["b"][0][1].shape == (2, 2, 2, 2)
        assert J["b"][1][0].shape == (3,) and J["b"][1][1].shape == (2, 2)
        close(J["a"][0], np.eye(3) * y.sum().item())
        close(J["b"][1][0], np.ones(3))
        close(J["b"][1][1], np.zeros((2, 2)))


def test_jacobian_of_empty_output_and_input():
    x = rand(3)
    assert func.jacrev(lambda x: x[:0])(x).shape == (0, 3)
    assert func.jacfwd(lambda x: x[:0])(x).shape == (0, 3)
    assert func.jacrev(lambda x: x.sum() + 1)(x[:0]).shape == (0,)
    assert func.jacfwd(lambda x: x.sum() + 1)(x[:0]).shape == (0,)


# ---- each transform on its own ---------------------------------------------------------------

def test_grad_argnums_tuple_and_negative():
    x, y = rand(3, seed=1), rand(3, seed=2)
    gx, gy = func.grad(lambda x, y: (x * y).sum(), argnums=(0, 1))(x, y)
    close(gx, y)
    close(gy, x)
    close(func.grad(lambda x, y: (x * y).sum(), argnums=-1)(x, y), x)


def test_grad_of_nested_dict_input():
    p = {"w": rand(2, 3, seed=1), "b": [rand(2, seed=2)]}
    x = rand(3, seed=3)
    g = func.grad(lambda p, x: ((p["w"] @ x + p["b"][0]) ** 2).sum())(p, x)
    r = p["w"] @ x + p["b"][0]
    assert set(g) == {"w", "b"} and isinstance(g["b"], list)
    close(g["w"], 2 * np.outer(r.numpy(), x.numpy()))
    close(g["b"][0], 2 * r)


def test_grad_has_aux_and_grad_and_value():
    x = rand(3)
    g, aux = func.grad(lambda x: ((x ** 2).sum(), {"n": x.shape[0], "y": x * 2}),
                       has_aux=True)(x)
    close(g, 2 * x)
    assert aux["n"] == 3 and not aux["y"].requires_grad
    close(aux["y"], 2 * x)
    g, v = func.grad_and_value(lambda x: (x ** 2).sum())(x)
    close(g, 2 * x)
    close(v, (x ** 2).sum())
    g, (v, aux) = func.grad_and_value(lambda x: ((x ** 2).sum(), "aux"), has_aux=True)(x)
    assert aux == "aux"
    close(v, (x ** 2).sum())


def test_grad_unused_input_and_constant_output_give_zeros():
    x, y = rand(3, seed=1), rand(2, seed=2)
    gx, gy = func.grad(lambda x, y: x.sum(), argnums=(0, 1))(x, y)
    close(gy, np.zeros(2))
    close(func.grad(lambda x: tg.tensor(1.0))(x), np.zeros(3))


def test_grad_keyword_arguments_pass_through():
    close(func.grad(lambda x, *, k: (k * x).sum())(rand(3), k=3.0), np.full(3, 3.0))


def test_vjp_returns_output_and_reusable_vjp_fn():
    x = rand(3)
    out, vjp_fn = func.vjp(lambda x: x.sin(), x)
    close(out, x.sin())
    assert not out.requires_grad
    for v in (tg.ones(3, dtype=tg.float64), rand(3, seed=9)):
        (g,) = vjp_fn(v)
        close(g, v * x.cos())


def test_vjp_multiple_primals_outputs_and_aux():
    x, y = rand(3, seed=1), rand(3, seed=2)
    out, vjp_fn, aux = func.vjp(lambda x, y: ((x * y, x.sum()), y * 3), x, y, has_aux=True)
    close(aux, y * 3)
    gx, gy = vjp_fn((tg.ones(3, dtype=tg.float64), f64(2.0)))
    close(gx, y + 2)
    close(gy, x)


def test_vjp_of_vjp_gives_jvp_the_double_vjp_trick():
    """vjp_fn is linear in its cotangent; its own vjp along t is J t."""
    x, t = rand(3, seed=1), rand(3, seed=2)

    def f(x):
        return tg.tanh(x) * x.sum()
    _, vjp_fn = func.vjp(f, x)
    _, vjp_vjp = func.vjp(lambda u: vjp_fn(u)[0], tg.zeros(3, dtype=tg.float64))
    (jt,) = vjp_vjp(t)
    close(jt, func.jvp(f, (x,), (t,))[1], 1e-12)


def test_jvp_and_linearize():
    x, t = rand(3, seed=1), rand(3, seed=2)
    out, jt = func.jvp(lambda x: x.exp() * 2, (x,), (t,))
    close(out, x.exp() * 2)
    close(jt, t * x.exp() * 2)
    out, jt, aux = func.jvp(lambda x: (x.exp(), x + 1), (x,), (t,), has_aux=True)
    close(aux, x + 1)
    out, jvp_fn = func.linearize(lambda x: x.sin(), x)
    close(out, x.sin())
    close(jvp_fn(t), t * x.cos())
    close(jvp_fn(t * 2), 2 * t * x.cos())


def test_jvp_constant_output_gives_zero_tangent():
    x = rand(2)
    _, jt = func.jvp(lambda x: tg.ones(2, dtype=tg.float64), (x,), (x,))
    close(jt, np.zeros(2))


def test_grad_of_jvp_and_jvp_of_grad():
    x, t = rand(3, seed=1), rand(3, seed=2)

    def f(x):
        return (x.sin() * x).sum()
    # directional second derivative t^T H t, both ways
    H = func.hessian(f)(x).numpy()
    want = t.numpy() @ H @ t.numpy()
    g = func.grad(lambda x: func.jvp(f, (x,), (t,))[1])(x)
    close((g * t).sum(), want, 1e-12)
    _, hvp = func.jvp(func.grad(f), (x,), (t,))
    close(hvp, H @ t.numpy(), 1e-12)


def test_transforms_ignore_an_outer_no_grad():
    x = rand(3)
    with tg.no_grad():
        close(func.grad(lambda x: (x ** 2).sum())(x), 2 * x)
        close(func.jacrev(lambda x: x ** 2)(x), np.diag(2 * x.numpy()))


# ---- purity ----------------------------------------------------------------------------------

def test_user_tensor_requiring_grad_is_untouched():
    x = rand(3).requires_grad_()
    before = x.detach().numpy().copy()
    for fn in (func.grad(lambda x: (x ** 3).sum()), func.jacrev(lambda x: x.exp()),
               func.jacfwd(lambda x: x.exp()), func.hessian(lambda x: (x ** 3).sum())):
        fn(x)
    func.vjp(lambda x: x * 2, x)[1](tg.ones(3, dtype=tg.float64))
    func.jvp(lambda x: x * 2, (x,), (tg.ones(3, dtype=tg.float64),))
    assert x.grad is None and x.is_leaf and x.requires_grad
    np.testing.assert_array_equal(x.detach().numpy(), before)


def test_user_tensor_not_requiring_grad_is_not_flipped():
    x = rand(3)
    g = func.grad(lambda x: (x ** 2).sum())(x)
    assert not x.requires_grad and x.grad is None
    assert not g.requires_grad and g.grad_fn is None


def test_closure_tensor_is_a_constant_and_gets_no_grad():
    w = rand(3, seed=4).requires_grad_()
    x = rand(3, seed=5)
    g = func.grad(lambda x: (x * w).sum() ** 2)(x)
    close(g, 2 * (x * w).sum().item() * w)
    assert w.grad is None
    # the result still depends on w through ordinary autograd, as torch.func's does
    (dw,) = tg.autograd.grad(g.sum(), w)
    want = 2 * x.numpy() * w.detach().numpy().sum() + 2 * (x * w).sum().item()
    close(dw, want)


def test_result_differentiable_when_input_requires_grad():
    x = f64(0.5).requires_grad_()
    g = func.grad(lambda x: x.sin())(x)
    g.backward()
    assert math.isclose(x.grad.item(), -math.sin(0.5), abs_tol=1e-12)


# ---- errors ----------------------------------------------------------------------------------

def test_grad_non_scalar_output_error():
    with pytest.raises(ShapeError, match=r"grad: the function must return a scalar tensor, "
                                         r"got shape \(3,\)"):
        func.grad(lambda x: x ** 2)(rand(3))
    with pytest.raises(TypeError, match="grad: the function must return a scalar tensor, got "
                                        "a float"):
        func.grad(lambda x: 1.0)(rand(3))
    with pytest.raises(ShapeError, match="grad_and_value: the function must return a scalar"):
        func.grad_and_value(lambda x: x)(rand(2))


def test_grad_non_floating_output_and_inputs():
    with pytest.raises(DTypeError, match="grad: the function must return a floating-point"):
        func.grad(lambda x: (x > 0).sum())(rand(3))
    with pytest.raises(DTypeError, match=r"grad: argument 0 has dtype tapegrad.int64"):
        func.grad(lambda x: x.sum())(tg.tensor([1, 2]))
    with pytest.raises(DTypeError, match="grad: argument 0 is a int.*Pass a float"):
        func.grad(lambda x: x ** 2)(1)
    with pytest.raises(DTypeError, match="jacrev: leaf 1 of argument 0 is a str"):
        func.jacrev(lambda d: d[0])((rand(2), "a"))


def test_argnums_errors():
    f = lambda x, y: (x * y).sum()  # noqa: E731
    x = rand(2)
    with pytest.raises(ArgumentError, match=r"grad: argnums=2 is out of range: the function "
                                            r"was called with 2 positional argument\(s\)"):
        func.grad(f, argnums=2)(x, x)
    with pytest.raises(ArgumentError, match=r"jacrev: argnums=\(0, 5\) is out of range"):
        func.jacrev(f, argnums=(0, 5))(x, x)
    with pytest.raises(ArgumentError, match="jacfwd: argnums=-3 is out of range"):
        func.jacfwd(f, argnums=-3)(x, x)
    with pytest.raises(ArgumentError, match=r"grad: argnums=\(\) is empty"):
        func.grad(f, argnums=())(x, x)
    with pytest.raises(ArgumentError, match="grad: argnums must be an int or a tuple of ints, "
                                            "got 1.0"):
        func.grad(f, argnums=1.0)(x, x)
    with pytest.raises(ArgumentError, match=r"grad: argnums=\(0, -2\) names an argument twice"):
        func.grad(f, argnums=(0, -2))(x, x)
    with pytest.raises(ArgumentError, match="grad: the function was called with no positional"):
        func.grad(lambda: tg.tensor(1.0))()
    # ArgumentError is also a RuntimeError, which is what torch.func raises
    with pytest.raises(RuntimeError):
        func.grad(f, argnums=2)(x, x)


def test_has_aux_errors():
    x = rand(2)
    with pytest.raises(ArgumentError, match=r"grad: with has_aux=True the function must return "
                                            r"a pair \(output, aux\), got a Tensor"):
        func.grad(lambda x: x.sum(), has_aux=True)(x)
    with pytest.raises(ArgumentError, match="vjp: with has_aux=True .* got a tuple of length 3"):
        func.vjp(lambda x: (x, x, x), x, has_aux=True)
    for name, t in (("jacrev", func.jacrev), ("jacfwd", func.jacfwd)):
        with pytest.raises(ArgumentError, match=f"{name}: with has_aux=True"):
            t(lambda x: x, has_aux=True)(x)
    with pytest.raises(ArgumentError, match="jvp: with has_aux=True"):
        func.jvp(lambda x: [x], (x,), (x,), has_aux=True)


def test_jvp_tangent_errors():
    x = rand(3)
    with pytest.raises(ShapeError, match=r"jvp: tangent 0 has shape \(2,\) but primal 0 has "
                                         r"shape \(3,\)"):
        func.jvp(lambda x: x, (x,), (rand(2),))
    with pytest.raises(DTypeError, match="jvp: tangent 0 has dtype tapegrad.float32 but primal "
                                         "0 has dtype tapegrad.float64"):
        func.jvp(lambda x: x, (x,), (tg.ones(3),))
    with pytest.raises(ArgumentError, match="jvp: primals must be a tuple"):
        func.jvp(lambda x: x, x, (x,))
    with pytest.raises(ArgumentError, match="jvp: primals have the structure .* but tangents"):
        func.jvp(lambda x: x, (x,), (x, x))
    with pytest.raises(ShapeError, match="linearize's jvp_fn: tangent 0 has shape"):
        func.linearize(lambda x: x, x)[1](rand(2))


def test_vjp_cotangent_errors():
    out, vjp_fn = func.vjp(lambda x: (x, x.sum()), rand(3))
    with pytest.raises(ShapeError, match=r"vjp_fn: cotangent 1 has shape \(3,\) but output 1 "
                                         r"has shape \(\)"):
        vjp_fn((rand(3), rand(3)))
    with pytest.raises(ArgumentError, match="vjp_fn: the cotangents have the structure"):
        vjp_fn(rand(3))
    with pytest.raises(TypeError, match="vjp: the function's outputs must be tensors"):
        func.vjp(lambda x: (x, 1.0), rand(3))


def test_jacobian_argument_errors():
    with pytest.raises(ArgumentError, match="jacrev: chunk_size must be None or a positive int"):
        func.jacrev(tg.sin, chunk_size=0)
    with pytest.raises(ArgumentError, match="jacfwd: randomness must be one of"):
        func.jacfwd(tg.sin, randomness="maybe")


# ---- against torch.func ----------------------------------------------------------------------

def _fns(lib):
    """The same functions written for either library (``lib`` is tapegrad or torch)."""
    def mlp(p, x):
        return (lib.tanh(x @ p["w1"] + p["b1"]) @ p["w2"]).sum() ** 2

    def two(x, y):
        return (x.sin() * y.exp()).sum() + (x * y).sum() ** 2

    def vec(x, y):
        return (x.cos() * y, (x ** 2).sum() * y)

    def aux(x):
        return (x ** 3).sum(), x.exp()
    return mlp, two, vec, aux


def _to_torch(torch, tree):
    leaves, spec = tree_flatten(tree)
    from tapegrad.func._pytree import tree_unflatten
    return tree_unflatten([torch.tensor(t.numpy()) if isinstance(t, tg.Tensor) else t
                           for t in leaves], spec)


def test_values_match_torch_func():
    torch = pytest.importorskip("torch")
    import torch.func as tf
    mlp, two, vec, aux = _fns(tg)
    tmlp, ttwo, tvec, taux = _fns(torch)
    p = {"w1": rand(3, 4, seed=1), "b1": rand(4, seed=2), "w2": rand(4, 2, seed=3)}
    x = rand(5, 3, seed=4)
    a, b = rand(3, seed=6), rand(3, seed=7)
    tp, tx, ta, tb = (_to_torch(torch, v) for v in (p, x, a, b))
    close(func.grad(mlp)(p, x), tf.grad(tmlp)(tp, tx))
    close(func.grad(mlp, argnums=(0, 1))(p, x), tf.grad(tmlp, argnums=(0, 1))(tp, tx))
    close(func.grad_and_value(two, argnums=1)(a, b), tf.grad_and_value(ttwo, argnums=1)(ta, tb))
    close(func.grad(aux, has_aux=True)(a), tf.grad(taux, has_aux=True)(ta))
    out, fn = func.vjp(vec, a, b)
    tout, tfn = tf.vjp(tvec, ta, tb)
    close(out, tout)
    ct = (rand(3, seed=8), rand(3, seed=9))
    close(fn(ct), tfn(_to_torch(torch, ct)))
    close(func.jvp(vec, (a, b), (b, a)), tf.jvp(tvec, (ta, tb), (tb, ta)))
    close(func.jvp(aux, (a,), (b,), has_aux=True), tf.jvp(taux, (ta,), (tb,), has_aux=True))
    close(func.linearize(vec, a, b)[1](b, a), tf.linearize(tvec, ta, tb)[1](tb, ta))
    for name in ("jacrev", "jacfwd"):
        mine, theirs = getattr(func, name), getattr(tf, name)
        close(mine(vec, argnums=(0, 1))(a, b), theirs(tvec, argnums=(0, 1))(ta, tb))
        close(mine(vec)(a, b), theirs(tvec)(ta, tb))
        close(mine(mlp)(p, x), theirs(tmlp)(tp, tx))
        close(mine(aux, has_aux=True)(a), theirs(taux, has_aux=True)(ta))
        close(mine(tg.sin)(a), theirs(torch.sin)(ta))
    close(func.jacrev(vec, chunk_size=2)(a, b), tf.jacrev(tvec, chunk_size=2)(ta, tb))
    close(func.hessian(two)(a, b), tf.hessian(ttwo)(ta, tb))
    close(func.hessian(two, argnums=(0, 1))(a, b), tf.hessian(ttwo, argnums=(0, 1))(ta, tb))
    close(func.hessian(mlp)(p, x), tf.hessian(tmlp)(tp, tx))


def test_jacobians_match_torch_on_several_functions():
    torch = pytest.importorskip("torch")
    import torch.func as tf

    def fns(lib):
        W = np.random.default_rng(11).standard_normal((4, 4))
        Wl = tg.tensor(W) if lib is tg else torch.tensor(W)
        return [lambda x: lib.tanh(Wl @ lib.tanh(Wl @ x)),
                lambda x: (x.exp() / x.exp().sum()).log(),
                lambda x: x.reshape(2, 2) @ x.reshape(2, 2).T,
                lambda x: lib.stack([x.prod(), x.max(), (x ** 2).mean()]),
                lambda x: x.sigmoid().cumsum(0)]
    x = rand(4, seed=12)
    tx = torch.tensor(x.numpy())
    for f, tf_ in zip(fns(tg), fns(torch)):
        want = tf.jacrev(tf_)(tx)
        close(func.jacrev(f)(x), want, 1e-10)
        close(func.jacfwd(f)(x), want, 1e-10)
        close(func.jacfwd(f)(x), func.jacrev(f)(x), 1e-10)


# ---- composition details ---------------------------------------------------------------------

def test_inner_transform_closing_over_outer_input():
    """The inner grad sees the outer x only through its closure: its result must stay
    differentiable for the outer grad (d/dx [d/dy x y^2 at y0] = 2 y0)."""
    y0 = f64(1.5)
    for outer in (func.grad, func.jacrev, func.jacfwd):
        d = outer(lambda x: func.grad(lambda y: x * y ** 2)(y0))(f64(0.7))
        assert math.isclose(d.item(), 3.0, abs_tol=1e-12), outer.__name__
    d = func.grad(lambda x: func.jacrev(lambda y: x * y ** 2)(y0))(f64(0.7))
    assert math.isclose(d.item(), 3.0, abs_tol=1e-12)
    d = func.grad(lambda x: func.vjp(lambda y: x * y ** 2, y0)[1](f64(1.0))[0])(f64(0.7))
    assert math.isclose(d.item(), 3.0, abs_tol=1e-12)


def test_results_of_nested_transforms_hold_no_inner_graph():
    x = rand(3)
    for r in (func.hessian(lambda x: (x ** 3).sum())(x), func.grad(func.grad(tg.sin))(x[0]),
              func.jvp(func.grad(lambda x: (x ** 3).sum()), (x,), (x,))[1],
              func.jacfwd(func.jacrev(tg.sin))(x)):
        assert not r.requires_grad and r.grad_fn is None


def test_no_grad_inside_the_function_is_respected():
    def f(x):
        with tg.no_grad():
            c = x * 3
        return (x * c).sum()
    x = rand(3)
    close(func.grad(f)(x), 3 * x)


def test_jacobians_with_aux_and_python_float_inputs():
    x = rand(3)
    J, aux = func.jacrev(lambda x: (x ** 2, {"s": x.sum()}), has_aux=True)(x)
    close(J, np.diag(2 * x.numpy()))
    close(aux["s"], x.sum())
    assert not aux["s"].requires_grad
    J, aux = func.jacfwd(lambda x: (x ** 2, {"s": x.sum()}), has_aux=True)(x)
    close(J, np.diag(2 * x.numpy()))
    close(aux["s"], x.sum())
    assert math.isclose(func.jacrev(lambda x: x ** 3)(2.0).item(), 12.0)
    assert math.isclose(func.jacfwd(lambda x: x ** 3)(2.0).item(), 12.0)
    assert math.isclose(func.hessian(lambda x: x ** 3)(2.0).item(), 12.0)
    assert math.isclose(func.jvp(lambda x: x ** 3, (2.0,), (1.0,))[1].item(), 12.0)


# ---- with vmap -------------------------------------------------------------------------------

def test_vmap_of_grad_gives_per_example_gradients_of_shared_weights():
    w, b, xs = rand(3, 2, seed=1), rand(2, seed=2), rand(5, 3, seed=3)

    def loss(w, b, x):
        return (tg.tanh(x @ w + b) ** 2).sum()
    gw, gb = func.vmap(func.grad(loss, argnums=(0, 1)), in_dims=(None, None, 0))(w, b, xs)
    loop = [func.grad(loss, argnums=(0, 1))(w, b, xs[i]) for i in range(5)]
    close(gw, tg.stack([g[0] for g in loop]), 1e-12)
    close(gb, tg.stack([g[1] for g in loop]), 1e-12)
    assert not gw.requires_grad and w.grad is None


def test_vmap_composes_with_every_transform():
    xs = rand(4, 3, seed=5)

    def f(x):
        return (x.sin() * x).sum()

    def g(x):
        return x.sin() * x.sum()
    loop = lambda t: tg.stack([t(xs[i]) for i in range(4)])  # noqa: E731
    for t in (func.grad(f), func.jacrev(g), func.jacfwd(g), func.hessian(f),
              lambda x: func.jvp(g, (x,), (tg.ones_like(x),))[1],
              lambda x: func.vjp(g, x)[1](tg.ones_like(x))[0]):
        close(func.vmap(t)(xs), loop(t), 1e-12)
    close(func.grad(lambda x: func.vmap(f)(x).sum())(xs), func.vmap(func.grad(f))(xs), 1e-12)
    close(func.vmap(func.vmap(func.grad(tg.sin)))(xs), xs.cos(), 1e-12)
    close(func.jacrev(func.vmap(g))(xs), func.jacfwd(func.vmap(g))(xs), 1e-12)


def test_jacobians_of_mixed_dtypes_and_integer_outputs():
    x32, x64 = tg.tensor([1.0, 2.0]), f64([3.0])
    for jac in (func.jacrev, func.jacfwd):
        J = jac(lambda a, b: (a * 2, b.double() ** 2), argnums=(0, 1))(x32, x64)
        assert J[0][0].dtype == tg.float32 and J[1][1].dtype == tg.float64
        close(J[1][1], np.array([[6.0]]))
        with pytest.raises(DTypeError, match=f"{jac.__name__}: output 1 has dtype "
                                             "tapegrad.int64 .*only floating-point outputs"):
            jac(lambda a: (a, a.argmax()))(x64)


def test_grad_inside_vmap_over_tangents_of_a_shared_primal():
    """jvp of grad inside vmap over the tangents (jacfwd's columns batched): the primal is the
    same for every example, its tangent is each example's own."""
    x = rand(3, seed=8)
    f = lambda x: (x ** 3).sum()  # noqa: E731
    basis = tg.eye(3, dtype=tg.float64)
    H = func.vmap(lambda t: func.jvp(func.grad(f), (x,), (t,))[1])(basis)
    close(H, np.diag(6 * x.numpy()), 1e-12)
    J = func.vmap(lambda t: func.jvp(func.jacrev(tg.sin), (x,), (t,))[1])(basis)
    close(J, func.jacfwd(func.jacrev(tg.sin))(x), 1e-12)
