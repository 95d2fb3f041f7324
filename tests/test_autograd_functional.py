"""tapegrad.autograd.functional against torch.autograd.functional (same random inputs, every flag
combination, the same outcome: equal results and nesting, or an error of the same kind), and
hand-worked values that run without torch."""
import itertools

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.autograd.functional as F
from tapegrad import ArgumentError, GradError, ShapeError
from tapegrad._core.errors import NotSupportedError

RNG = np.random.default_rng(1234)
A = RNG.standard_normal((3, 4))
M = RNG.standard_normal((4, 4))


# ---- the functions, written once over either library ---------------------------------------------
def _vector_fns(lib):
    """name -> (function, input shapes): Jacobian cases (any number of inputs and outputs)."""
    a = lib.tensor(A)
    return {
        "pow": (lambda x: x ** 3, [(4,)]),
        "exp_matmul": (lambda x: lib.exp(a @ x), [(4,)]),
        "scalar_out": (lambda x: (lib.exp(x) * x).sum(), [(4,)]),
        "matrix_in": (lambda x: lib.sin(x) @ a.T, [(2, 4)]),
        "two_in_two_out": (lambda x, y: (lib.exp(a @ x) * y, (x ** 2).sum() * y.sum()),
                           [(4,), (3,)]),
        "unused_input": (lambda x, y: x ** 2, [(4,), (3,)]),
        "linear": (lambda x: a @ x, [(4,)]),
        "one_of_two_outputs_constant": (lambda x: (x * 2, a.sum() * lib.ones(2)), [(3,)]),
        "zero_dim": (lambda x, y: (lib.exp(x) * y, x * y.sum()), [(), (2,)]),
    }


def _scalar_fns(lib):
    """name -> (scalar function, input shapes): Hessian cases."""
    m = lib.tensor(M)
    return {
        "cubic": (lambda x: (x ** 3).sum(), [(4,)]),
        # (not x @ m @ x: torch's forward-over-reverse fails on the 1-d matmul's backward under
        # its vmap; tapegrad's is checked by hand below)
        "quadratic_form": (lambda x: (x * (m @ x)).sum(), [(4,)]),
        "exp_matmul": (lambda x: lib.exp(m @ x).sum(), [(4,)]),
        "two_inputs": (lambda x, y: (x ** 2 * y).sum() + lib.exp(x).sum(), [(4,), (4,)]),
        "unused_input": (lambda x, y: (x ** 4).sum(), [(4,), (2,)]),
        "linear": (lambda x: (m @ x).sum(), [(4,)]),
        "one_element": (lambda x: (x ** 3).sum(), [(1,)]),
        "zero_dim": (lambda x, y: lib.exp(x * y).sum() * x, [(), (3,)]),
    }


def _arrays(shapes, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.5, 1.5, s) for s in shapes]


def _pack(lib, arrays, as_tuple, requires_grad=False):
    ts = [lib.tensor(x, requires_grad=requires_grad) for x in arrays]
    return tuple(ts) if as_tuple else ts[0]


def _same_tree(got, expected, path="result", check_requires_grad=True):
    """Equal values, nesting (Tensor vs tuple) and requires_grad, leaf by leaf. (PyTorch's
    forward-mode jacobian nests in lists where its documentation says tuples; tapegrad keeps
    tuples.)"""
    if isinstance(expected, (tuple, list)):
        assert isinstance(got, tuple) and len(got) == len(expected), (path, got)
        for i, (g, e) in enumerate(zip(got, expected)):
            _same_tree(g, e, f"{path}[{i}]", check_requires_grad)
        return
    assert isinstance(got, tg.Tensor), (path, type(got))
    assert tuple(got.shape) == tuple(expected.shape), (path, got.shape, expected.shape)
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-9,
                               atol=1e-12, err_msg=path)
    if check_requires_grad:
        assert got.requires_grad == expected.requires_grad, (path, "requires_grad")


# PyTorch's error class -> the tapegrad classes that must be raised for it
_ERRORS = {RuntimeError: RuntimeError, NotImplementedError: NotImplementedError,
           TypeError: TypeError, AssertionError: ArgumentError}


def _same_outcome(tg_call, torch_call, check_requires_grad=True):
    """Both give the same results, or both raise (tapegrad the matching class)."""
    try:
        expected = torch_call()
    except (RuntimeError, NotImplementedError, TypeError, AssertionError) as e:
        with pytest.raises(_ERRORS[type(e)] if type(e) in _ERRORS else
                           _ERRORS[next(c for c in _ERRORS if isinstance(e, c))]):
            tg_call()
        return "raised"
    _same_tree(tg_call(), expected, check_requires_grad=check_requires_grad)
    return "ok"


# NOTE: PyTorch's forward-mode results require grad whenever an input (or, in hessian, its own
# internal dual leaf) does, even where the tangent is a constant (a linear function's); tapegrad's
# require grad only where the tangent was computed from something that does. Values and nesting
# are still compared.
_FORWARD_RG_SKIP = False

FLAGS2 = list(itertools.product([False, True], repeat=2))      # create_graph, strict


# ---- torch parity --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(_vector_fns(tg)))
@pytest.mark.parametrize("requires_grad", [False, True])
def test_jacobian_matches_torch_for_every_flag_combination(name, requires_grad):
    torch = pytest.importorskip("torch")
    f_tg, shapes = _vector_fns(tg)[name]
    f_th, _ = _vector_fns(torch)[name]
    arrays = _arrays(shapes, 0)
    outcomes = set()
    for cg, strict, vec, strategy in itertools.product(
            [False, True], [False, True], [False, True], ["reverse-mode", "forward-mode"]):
        flags = dict(create_graph=cg, strict=strict, vectorize=vec, strategy=strategy)
        x_tg = _pack(tg, arrays, len(shapes) > 1, requires_grad)
        x_th = _pack(torch, arrays, len(shapes) > 1, requires_grad)
        outcomes.add(_same_outcome(lambda: F.jacobian(f_tg, x_tg, **flags),
                                   lambda: torch.autograd.functional.jacobian(f_th, x_th,
                                                                              **flags),
                                   _FORWARD_RG_SKIP if strategy == "forward-mode" else True))
        for t in (x_tg if isinstance(x_tg, tuple) else (x_tg,)):
            assert t.grad is None
    assert "ok" in outcomes


@pytest.mark.parametrize("name", list(_scalar_fns(tg)))
@pytest.mark.parametrize("requires_grad", [False, True])
def test_hessian_matches_torch_for_every_flag_combination(name, requires_grad):
    torch = pytest.importorskip("torch")
    f_tg, shapes = _scalar_fns(tg)[name]
    f_th, _ = _scalar_fns(torch)[name]
    arrays = _arrays(shapes, 1)
    outcomes = set()
    for cg, strict, vec, strategy in itertools.product(
            [False, True], [False, True], [False, True], ["reverse-mode", "forward-mode"]):
        flags = dict(create_graph=cg, strict=strict, vectorize=vec,
                     outer_jacobian_strategy=strategy)
        x_tg = _pack(tg, arrays, len(shapes) > 1, requires_grad)
        x_th = _pack(torch, arrays, len(shapes) > 1, requires_grad)
        outcomes.add(_same_outcome(lambda: F.hessian(f_tg, x_tg, **flags),
                                   lambda: torch.autograd.functional.hessian(f_th, x_th,
                                                                             **flags),
                                   _FORWARD_RG_SKIP if strategy == "forward-mode" else True))
    assert "ok" in outcomes


@pytest.mark.parametrize("name", list(_vector_fns(tg)))
@pytest.mark.parametrize("fn", ["vjp", "jvp"])
def test_vjp_and_jvp_match_torch(name, fn):
    torch = pytest.importorskip("torch")
    f_tg, shapes = _vector_fns(tg)[name]
    f_th, _ = _vector_fns(torch)[name]
    arrays = _arrays(shapes, 2)
    is_tuple = len(shapes) > 1
    # v: shaped like the outputs (vjp) or the inputs (jvp)
    with torch.no_grad():
        outs = f_th(*_pack(torch, arrays, True))
    outs = outs if isinstance(outs, tuple) else (outs,)
    like = [o.numpy() for o in outs] if fn == "vjp" else arrays
    v_arrays = _arrays([np.shape(x) for x in like], 3)
    v_is_tuple = len(like) > 1
    for (cg, strict), requires_grad in itertools.product(FLAGS2, [False, True]):
        flags = dict(create_graph=cg, strict=strict)
        _same_outcome(
            lambda: getattr(F, fn)(f_tg, _pack(tg, arrays, is_tuple, requires_grad),
                                   _pack(tg, v_arrays, v_is_tuple), **flags),
            lambda: getattr(torch.autograd.functional, fn)(
                f_th, _pack(torch, arrays, is_tuple, requires_grad),
                _pack(torch, v_arrays, v_is_tuple), **flags))


@pytest.mark.parametrize("name", list(_scalar_fns(tg)))
@pytest.mark.parametrize("fn", ["hvp", "vhp"])
def test_hvp_and_vhp_match_torch(name, fn):
    torch = pytest.importorskip("torch")
    f_tg, shapes = _scalar_fns(tg)[name]
    f_th, _ = _scalar_fns(torch)[name]
    arrays = _arrays(shapes, 4)
    v_arrays = _arrays(shapes, 5)
    is_tuple = len(shapes) > 1
    for (cg, strict), requires_grad, give_v in itertools.product(FLAGS2, [False, True],
                                                                 [True, False]):
        flags = dict(create_graph=cg, strict=strict)
        v_tg = _pack(tg, v_arrays, is_tuple) if give_v else None
        v_th = _pack(torch, v_arrays, is_tuple) if give_v else None
        _same_outcome(
            lambda: getattr(F, fn)(f_tg, _pack(tg, arrays, is_tuple, requires_grad), v_tg,
                                   **flags),
            lambda: getattr(torch.autograd.functional, fn)(
                f_th, _pack(torch, arrays, is_tuple, requires_grad), v_th, **flags))


@pytest.mark.parametrize("fn", ["vjp", "jvp"])
def test_v_none_for_a_one_element_function_matches_torch(fn):
    torch = pytest.importorskip("torch")
    x = np.array([0.7])
    got = getattr(F, fn)(lambda t: tg.exp(t) * 3, tg.tensor(x))
    expected = getattr(torch.autograd.functional, fn)(lambda t: torch.exp(t) * 3,
                                                      torch.tensor(x))
    _same_tree(got, expected)


@pytest.mark.parametrize("vectorize, strategy", [(False, "reverse-mode"), (True, "reverse-mode"),
                                                 (True, "forward-mode")])
def test_float32_jacobian_and_hessian_match_torch(vectorize, strategy):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(8).uniform(0.5, 1.5, (2, 3)).astype(np.float32)
    got_j = F.jacobian(lambda t: tg.tanh(t) * t, tg.tensor(x), vectorize=vectorize,
                       strategy=strategy)
    got_h = F.hessian(lambda t: (tg.tanh(t) * t).sum(), tg.tensor(x), vectorize=vectorize,
                      outer_jacobian_strategy=strategy)
    exp_j = torch.autograd.functional.jacobian(lambda t: torch.tanh(t) * t, torch.tensor(x),
                                               vectorize=vectorize, strategy=strategy)
    exp_h = torch.autograd.functional.hessian(lambda t: (torch.tanh(t) * t).sum(),
                                              torch.tensor(x), vectorize=vectorize,
                                              outer_jacobian_strategy=strategy)
    for got, exp in ((got_j, exp_j), (got_h, exp_h)):
        assert got.dtype == tg.float32 and tuple(got.shape) == (2, 3, 2, 3)
        np.testing.assert_allclose(got.detach().numpy(), exp.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)


def test_gradients_through_create_graph_results_match_torch():
    torch = pytest.importorskip("torch")
    x, v = _arrays([(4,)], 6)[0], _arrays([(4,)], 7)[0]
    results = []
    for lib, mod in ((tg, F), (torch, torch.autograd.functional)):
        xt, vt = lib.tensor(x, requires_grad=True), lib.tensor(v, requires_grad=True)
        f = (lambda t: (lib.exp(t) * t ** 2).sum())
        J = mod.jacobian(lambda t: lib.sin(t) * t, xt, create_graph=True)
        Jv = mod.jacobian(lambda t: lib.exp(t) * t.sum(), xt, create_graph=True, vectorize=True)
        _, hv = mod.hvp(f, xt, vt, create_graph=True)
        _, vh = mod.vhp(f, xt, vt, create_graph=True)
        _, jv = mod.jvp(lambda t: lib.sin(t) * t ** 2, xt, vt, create_graph=True)
        _, vj = mod.vjp(lambda t: lib.cos(t) * t ** 2, xt, vt, create_graph=True)
        H = mod.hessian(f, xt, create_graph=True, vectorize=True)
        total = (J ** 2).sum() + (Jv ** 2).sum() + (hv * hv).sum() + (vh ** 3).sum() + H.sum()
        (total + (jv * jv).sum() + lib.sin(vj).sum()).backward()
        results.append((xt.grad.numpy(), vt.grad.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-9)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-9)


# ---- hand-worked values (no torch) ---------------------------------------------------------------
@pytest.mark.parametrize("vectorize, strategy", [(False, "reverse-mode"), (True, "reverse-mode"),
                                                 (True, "forward-mode")])
def test_hessian_of_a_quadratic_form_is_a_plus_a_transpose(vectorize, strategy):
    m = tg.tensor(M)
    H = F.hessian(lambda x: x @ m @ x, tg.tensor(RNG.standard_normal(4)), vectorize=vectorize,
                  outer_jacobian_strategy=strategy)
    np.testing.assert_allclose(H.numpy(), M + M.T, rtol=1e-12)
    assert not H.requires_grad


@pytest.mark.parametrize("vectorize, strategy", [(False, "reverse-mode"), (True, "reverse-mode"),
                                                 (True, "forward-mode")])
def test_jacobian_of_elementwise_sin_is_diag_cos(vectorize, strategy):
    x = RNG.standard_normal((2, 3))
    J = F.jacobian(tg.sin, tg.tensor(x), vectorize=vectorize, strategy=strategy)
    assert tuple(J.shape) == (2, 3, 2, 3)
    np.testing.assert_allclose(J.numpy().reshape(6, 6), np.diag(np.cos(x).ravel()), rtol=1e-12)


def test_jacobian_nesting_and_block_shapes():
    a = tg.tensor(A)
    x, y = tg.tensor(RNG.standard_normal(4)), tg.tensor(RNG.standard_normal((2, 3)))
    J = F.jacobian(lambda x, y: (a @ x, y.sum() * x, y * 2), (x, y))
    shapes = [[tuple(b.shape) for b in row] for row in J]
    assert shapes == [[(3, 4), (3, 2, 3)], [(4, 4), (4, 2, 3)], [(2, 3, 4), (2, 3, 2, 3)]]
    np.testing.assert_allclose(J[0][0].numpy(), A)
    assert not J[0][1].numpy().any()                            # a @ x does not involve y
    np.testing.assert_allclose(J[1][1].numpy(), np.broadcast_to(x.numpy()[:, None, None],
                                                                (4, 2, 3)))
    single_in = F.jacobian(lambda x: (x, x * 3), x)             # tuple over outputs only
    assert isinstance(single_in, tuple) and isinstance(single_in[1], tg.Tensor)
    np.testing.assert_allclose(single_in[1].numpy(), 3 * np.eye(4))
    single_out = F.jacobian(lambda x, y: x.sum() * y.sum(), (x, y))   # tuple over inputs
    assert isinstance(single_out, tuple) and tuple(single_out[1].shape) == (2, 3)
    H = F.hessian(lambda x, y: (x * x).sum() * y.sum(), (x, y))        # tuple of tuples
    assert [[tuple(b.shape) for b in row] for row in H] == [[(4, 4), (4, 2, 3)],
                                                            [(2, 3, 4), (2, 3, 2, 3)]]
    np.testing.assert_allclose(H[0][0].numpy(), 2 * y.numpy().sum() * np.eye(4))


def test_products_of_a_matmul_and_a_quadratic_form_by_hand():
    a, m = tg.tensor(A), tg.tensor(M)
    x, u, w = RNG.standard_normal(4), RNG.standard_normal(3), RNG.standard_normal(4)
    out, vj = F.vjp(lambda t: a @ t, tg.tensor(x), tg.tensor(u))
    np.testing.assert_allclose(out.numpy(), A @ x)
    np.testing.assert_allclose(vj.numpy(), A.T @ u)
    _, jv = F.jvp(lambda t: a @ t, tg.tensor(x), tg.tensor(w))
    np.testing.assert_allclose(jv.numpy(), A @ w)
    for fn in (F.hvp, F.vhp):
        val, hv = fn(lambda t: t @ m @ t, tg.tensor(x), tg.tensor(w))
        np.testing.assert_allclose(val.numpy(), x @ M @ x)
        np.testing.assert_allclose(hv.numpy(), (M + M.T) @ w if fn is F.hvp else w @ (M + M.T))


def test_independent_inputs_give_zeros_when_not_strict():
    x, y = tg.tensor([1.0, 2.0]), tg.tensor([3.0, 4.0, 5.0])
    Jx, Jy = F.jacobian(lambda x, y: x * 2, (x, y))
    assert tuple(Jy.shape) == (2, 3) and not Jy.numpy().any()
    _, (gx, gy) = F.vjp(lambda x, y: (x * x).sum(), (x, y))
    assert not gy.numpy().any() and gy.shape == y.shape
    _, (hx, hy) = F.hvp(lambda x, y: (x ** 3).sum(), (x, y), (tg.ones(2), tg.ones(3)))
    np.testing.assert_allclose(hx.numpy(), [6.0, 12.0])
    assert not hy.numpy().any()
    # a linear function: its Hessian is zero, and no error without strict
    assert not F.hessian(lambda x: (x * 3).sum(), x).numpy().any()


def test_create_graph_results_are_differentiable():
    x = tg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    J = F.jacobian(lambda t: t ** 3, x, create_graph=True)         # diag(3 x^2)
    assert J.requires_grad
    J.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.detach().numpy())
    x.grad = None
    v = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    _, hv = F.hvp(lambda t: (t ** 4).sum(), x, v, create_graph=True)   # 12 x^2 v
    hv.sum().backward()
    xs, vs = x.detach().numpy(), v.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), 24 * xs * vs)
    np.testing.assert_allclose(v.grad.numpy(), 12 * xs ** 2)
    # without create_graph the results are cut from the caller's graph
    assert not F.jacobian(lambda t: t ** 3, x).requires_grad
    assert not F.vjp(lambda t: t ** 3, x, tg.ones(3))[1].requires_grad


def test_inputs_are_not_changed_and_their_grad_not_touched():
    x = tg.tensor([0.5, 1.5], requires_grad=True)
    y = tg.tensor([2.0, 3.0])
    before = (x.detach().numpy().copy(), y.numpy().copy())
    f = (lambda a, b: (a * a * b).sum())
    F.jacobian(f, (x, y))
    F.jacobian(f, (x, y), create_graph=True)
    F.jacobian(f, (x, y), vectorize=True, strategy="forward-mode")
    F.hessian(f, (x, y))
    for fn in (F.vjp, F.vhp, F.hvp):
        fn(f, (x, y), None if fn is F.vjp else (tg.ones(2), tg.ones(2)))
    F.jvp(f, (x, y), (tg.ones(2), tg.ones(2)))
    assert x.grad is None and y.grad is None and not y.requires_grad and x.is_leaf
    np.testing.assert_array_equal(x.detach().numpy(), before[0])
    np.testing.assert_array_equal(y.numpy(), before[1])


def test_works_under_no_grad():
    with tg.no_grad():
        J = F.jacobian(lambda t: t ** 2, tg.tensor([1.0, 2.0]))
        _, g = F.vjp(lambda t: (t ** 2).sum(), tg.tensor([1.0, 2.0]))
    np.testing.assert_allclose(J.numpy(), np.diag([2.0, 4.0]))
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    assert tg.is_grad_enabled()


def test_vectorize_goes_through_batched_and_only_then(monkeypatch):
    calls = []
    real = F._batched

    def spy(fn, basis):
        calls.append(tuple(b.shape[0] for b in basis))
        return real(fn, basis)

    monkeypatch.setattr(F, "_batched", spy)
    f = (lambda x, y: (x * y.sum(), (x ** 2).sum()))
    xs = (tg.tensor([1.0, 2.0, 3.0]), tg.tensor([1.0, 1.0]))
    loop = F.jacobian(f, xs)
    assert calls == []
    rev = F.jacobian(f, xs, vectorize=True)
    fwd = F.jacobian(f, xs, vectorize=True, strategy="forward-mode")
    assert calls == [(4, 4), (5, 5)]          # 3 + 1 output rows; 3 + 2 input columns
    for a, b, c in zip(itertools.chain(*loop), itertools.chain(*rev), itertools.chain(*fwd)):
        np.testing.assert_allclose(a.numpy(), b.numpy())
        np.testing.assert_allclose(a.numpy(), c.numpy())


def test_empty_input_and_output_give_empty_blocks():
    x = tg.tensor(np.zeros((0,)))
    for vec, strat in [(False, "reverse-mode"), (True, "reverse-mode"), (True, "forward-mode")]:
        J = F.jacobian(lambda t: t * 2, x, vectorize=vec, strategy=strat)
        assert tuple(J.shape) == (0, 0)
        J = F.jacobian(lambda t: (t.sum() + 1) * tg.ones(2), x, vectorize=vec, strategy=strat)
        assert tuple(J.shape) == (2, 0)


# ---- errors --------------------------------------------------------------------------------------
def _square(x):
    return x * x


def test_inputs_and_outputs_must_be_tensors():
    with pytest.raises(TypeError, match=r"jacobian: inputs must be a Tensor or a tuple of "
                                        r"Tensors, but it is a list"):
        F.jacobian(_square, [tg.ones(2)])
    with pytest.raises(TypeError, match=r"vjp: inputs .* entry 1 of the tuple is a float"):
        F.vjp(lambda a, b: a, (tg.ones(1), 2.0))
    with pytest.raises(TypeError, match=r"hessian: the outputs of the user-provided function "
                                        r".* it is a float"):
        F.hessian(lambda x: 1.0, tg.ones(2))
    with pytest.raises(TypeError, match=r"jvp: v must be"):
        F.jvp(_square, tg.ones(2), [1.0, 1.0])


def test_v_none_needs_one_element():
    with pytest.raises(GradError, match=r"vjp: v can only be None when the function returns a "
                                        r"single tensor with a single element \(got shapes "
                                        r"\(2,\)\)"):
        F.vjp(_square, tg.ones(2))
    for fn in (F.jvp, F.hvp, F.vhp):
        with pytest.raises(RuntimeError, match=rf"{fn.__name__}: v can only be None when the "
                                               r"input is a single tensor with a single element"):
            fn(lambda x: (x * x).sum(), tg.ones(3))
    with pytest.raises(RuntimeError, match=r"got shapes \(1,\), \(1,\)"):
        F.jvp(lambda a, b: a * b, (tg.ones(1), tg.ones(1)))


def test_v_of_the_wrong_length_or_shape():
    with pytest.raises(ArgumentError, match=r"jvp: v has 1 tensors but there are 2 inputs"):
        F.jvp(lambda a, b: a * b, (tg.ones(2), tg.ones(2)), (tg.ones(2),))
    with pytest.raises(ArgumentError, match=r"vjp: v has 2 tensors but there is a single output"):
        F.vjp(_square, tg.ones(2), (tg.ones(2), tg.ones(2)))
    with pytest.raises(ShapeError, match=r"hvp: v has shape \(3,\) but input 0 has shape "
                                         r"\(2,\)"):
        F.hvp(lambda x: (x * x).sum(), tg.ones(2), tg.ones(3))
    with pytest.raises(ShapeError, match=r"vjp: entry 1 of v has shape \(3,\) but output 1 has "
                                         r"shape \(2,\)"):
        F.vjp(lambda x: (x, x * 2), tg.ones(2), (tg.ones(2), tg.ones(3)))
    with pytest.raises(RuntimeError):          # (PyTorch raises RuntimeError for both)
        F.vhp(lambda x: (x * x).sum(), tg.ones(2), tg.ones(3))


def test_scalar_functions_must_return_one_element():
    for fn in (F.hvp, F.vhp):
        with pytest.raises(GradError, match=rf"{fn.__name__}: the function must return a single "
                                            r"Tensor, not a tuple of 2"):
            fn(lambda x: (x.sum(), x.sum()), tg.ones(2), tg.ones(2))
        with pytest.raises(GradError, match=rf"{fn.__name__}: the function returned a tensor of "
                                            r"shape \(2,\); it must have a single element"):
            fn(_square, tg.ones(2), tg.ones(2))
    with pytest.raises(GradError, match=r"hessian: the function returned a tensor of shape "
                                        r"\(2,\)"):
        F.hessian(_square, tg.ones(2))


def test_strategy_and_flag_combinations_pytorch_refuses():
    with pytest.raises(ArgumentError, match=r"jacobian: strategy='sideways'; it must be "
                                            r"'reverse-mode' or 'forward-mode'"):
        F.jacobian(_square, tg.ones(2), strategy="sideways")
    with pytest.raises(ArgumentError, match=r"hessian: outer_jacobian_strategy='x'"):
        F.hessian(_square, tg.ones(2), outer_jacobian_strategy="x")
    with pytest.raises(NotSupportedError, match=r"strategy='forward-mode' needs vectorize=True"):
        F.jacobian(_square, tg.ones(2), strategy="forward-mode")
    with pytest.raises(NotImplementedError, match=r"create_graph=True with "
                                                  r"strategy='forward-mode' is not supported"):
        F.jacobian(_square, tg.ones(2), create_graph=True, vectorize=True,
                   strategy="forward-mode")
    with pytest.raises(GradError, match=r"strict=True with strategy='forward-mode' is not "
                                        r"supported"):
        F.jacobian(_square, tg.ones(2), strict=True, vectorize=True, strategy="forward-mode")
    with pytest.raises(GradError, match=r"jacobian: strict=True with vectorize=True is not "
                                        r"supported"):
        F.jacobian(_square, tg.ones(2), strict=True, vectorize=True)
    with pytest.raises(NotSupportedError, match=r"needs vectorize=True"):
        F.hessian(lambda x: (x * x).sum(), tg.ones(2), outer_jacobian_strategy="forward-mode")


def test_strict_errors():
    x, y = tg.tensor([1.0, 2.0]), tg.tensor([3.0])
    with pytest.raises(GradError, match=r"jacobian: strict=True, and output 0 does not depend "
                                        r"on input 1"):
        F.jacobian(lambda a, b: a * 2, (x, y), strict=True)
    with pytest.raises(GradError, match=r"jacobian: strict=True, and output 1 of the function "
                                        r"does not require grad"):
        F.jacobian(lambda a: (a * 2, tg.ones(2)), x, strict=True)
    with pytest.raises(GradError, match=r"strict=True with create_graph=True, and the "
                                        r"derivative of output 0 with respect to input 0 does "
                                        r"not depend"):
        F.jacobian(lambda a: a * 2, x, strict=True, create_graph=True)
    with pytest.raises(GradError, match=r"vjp: strict=True, and the outputs do not depend on "
                                        r"input 1"):
        F.vjp(lambda a, b: (a * a).sum(), (x, y), strict=True)
    with pytest.raises(GradError, match=r"vjp: strict=True with create_graph=True, and result "
                                        r"0 does not depend on the inputs"):
        F.vjp(lambda a: a * 2, x, tg.ones(2), strict=True, create_graph=True)
    with pytest.raises(GradError, match=r"jvp: strict=True, and the outputs do not depend on "
                                        r"input 1"):
        F.jvp(lambda a, b: a * 2, (x, y), (tg.ones(2), tg.ones(1)), strict=True)
    with pytest.raises(GradError, match=r"hessian: strict=True, and while computing the "
                                        r"hessian, the gradient with respect to input 0 does "
                                        r"not depend on the inputs"):
        F.hessian(lambda a: (a * 3).sum(), x, strict=True)
    with pytest.raises(GradError, match=r"hessian: strict=True, and the gradient with respect "
                                        r"to input 0 does not depend on input 1"):
        F.hessian(lambda a, b: (a ** 3).sum() + (b ** 3).sum(), (x, y), strict=True)
    with pytest.raises(GradError, match=r"hessian: strict=True, and output 0 of the function "
                                        r"does not require grad"):
        F.hessian(lambda a: tg.ones(()), x, strict=True)
    with pytest.raises(GradError, match=r"hvp: strict=True, and the output of the function does "
                                        r"not depend on input 1"):
        F.hvp(lambda a, b: (a ** 3).sum(), (x, y), (tg.ones(2), tg.ones(1)), strict=True)
    with pytest.raises(GradError, match=r"vhp: strict=True, and the gradient with respect to "
                                        r"input 0 does not depend on the inputs"):
        F.vhp(lambda a: (a * 3).sum(), x, tg.ones(2), strict=True)
