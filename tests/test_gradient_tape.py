"""tapegrad.GradientTape: TensorFlow's explicit-tape style over the one engine."""
import collections
import math
import warnings

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import ArgumentError, GradError, ShapeError


def _np(t):
    return t.detach().numpy()


def _close(a, b, **kw):
    np.testing.assert_allclose(_np(a) if isinstance(a, tg.Tensor) else a,
                               _np(b) if isinstance(b, tg.Tensor) else b, **kw)


# ---- the three styles ----------------------------------------------------------------------------
def test_x_squared_at_one_is_two_in_every_style():
    x = tg.tensor(1.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x ** 2
    from_tape = tape.gradient(y, x)
    assert isinstance(from_tape, tg.Tensor) and from_tape.item() == 2.0

    w = tg.tensor(1.0, requires_grad=True)
    (w ** 2).backward()
    assert w.grad.item() == from_tape.item()

    assert float(tg.func.grad(lambda v: v ** 2)(1.0)) == 2.0


def test_requires_grad_tensors_need_no_watch():
    w = tg.tensor([1.0, -2.0], requires_grad=True)
    with tg.GradientTape() as tape:
        y = (w ** 3).sum()
    _close(tape.gradient(y, w), 3 * np.array([1.0, 4.0]))
    assert w.grad is None                    # the tape returns gradients, never accumulates


# ---- nested tapes: higher derivatives ------------------------------------------------------------
def test_nested_tapes_give_second_and_third_derivatives_of_sin():
    pts = np.array([-1.3, 0.0, 0.5, 2.0])
    x = tg.tensor(pts)
    with tg.GradientTape() as g3:
        g3.watch(x)
        with tg.GradientTape() as g2:
            g2.watch(x)
            with tg.GradientTape() as g1:
                g1.watch(x)
                y = tg.sin(x)
            d1 = g1.gradient(y, x)
        d2 = g2.gradient(d1, x)
    d3 = g3.gradient(d2, x)
    _close(d1, np.cos(pts))
    _close(d2, -np.sin(pts))
    _close(d3, -np.cos(pts))
    assert not x.requires_grad and x.grad is None and x.is_leaf


def test_nested_tapes_watching_in_either_order_share_the_tensor():
    x = tg.tensor(3.0)
    with tg.GradientTape() as outer:
        with tg.GradientTape() as inner:
            inner.watch(x)          # the inner tape watches first ...
            outer.watch(x)
            y = x ** 3
        assert x.requires_grad      # ... and leaving it does not stop the outer one
        dy = inner.gradient(y, x)
        z = dy * x                  # still recorded for the outer tape
    assert not x.requires_grad
    _close(dy, 27.0)
    _close(outer.gradient(z, x), 2 * 27.0 + 27.0)   # d/dx (3x^2 * x) = 9x^2


def test_hessian_of_a_quadratic_form_from_nested_tapes():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 3))
    x = tg.tensor(rng.normal(size=3))
    A = tg.tensor(a)
    with tg.GradientTape() as outer:
        outer.watch(x)
        with tg.GradientTape() as inner:
            inner.watch(x)
            f = x @ (A @ x)
        g = inner.gradient(f, x)
    _close(g, (a + a.T) @ _np(x))
    _close(outer.jacobian(g, x), a + a.T, rtol=1e-12)


def test_an_inner_jacobian_is_recorded_for_the_outer_tape():
    xv = np.array([0.5, -1.0, 2.0])
    x = tg.tensor(xv)
    with tg.GradientTape() as outer:
        outer.watch(x)
        with tg.GradientTape() as inner:
            inner.watch(x)
            y = x ** 3
        jac = inner.jacobian(y, x)                      # diag(3 x^2)
        assert jac.requires_grad
    _close(jac, np.diag(3 * xv ** 2))
    _close(outer.gradient(jac, x), 6 * xv)             # d/dx_j of sum_i 3 x_i^2


def test_gradient_inside_a_persistent_tape_is_recorded():
    x = tg.tensor(2.0)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x ** 3
        dy = tape.gradient(y, x)
    assert dy.requires_grad
    _close(dy, 12.0)
    _close(tape.gradient(dy, x), 12.0)


def test_gradient_outside_any_tape_does_not_record():
    x = tg.tensor(2.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x ** 3
    dy = tape.gradient(y, x)
    assert not dy.requires_grad and dy.grad_fn is None


# ---- persistence --------------------------------------------------------------------------------
def test_persistent_tape_answers_several_calls():
    x = tg.tensor(3.0)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = y * y
    _close(tape.gradient(z, x), 108.0)
    _close(tape.gradient(y, x), 6.0)
    _close(tape.jacobian(z, x), 108.0)
    _close(tape.gradient(z, y), 18.0)


def test_non_persistent_tape_refuses_a_second_call():
    x = tg.tensor(3.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    with pytest.raises(ArgumentError):        # a call refused for its arguments ...
        tape.gradient(y, x, unconnected_gradients="nan")
    _close(tape.gradient(y, x), 6.0)          # ... does not use the tape up
    with pytest.raises(GradError, match="not persistent.*one\\s+set of gradients"):
        tape.gradient(y, x)
    with pytest.raises(RuntimeError, match="persistent=True"):
        tape.jacobian(y, x)


def test_non_persistent_gradient_inside_the_block_stops_recording():
    x = tg.tensor(2.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
        _close(tape.gradient(y, x), 4.0)
        assert not x.requires_grad          # the tape stopped: x is a constant again
        z = x * 5
    assert not z.requires_grad
    with pytest.raises(GradError, match="not recording"):
        with tape.stop_recording():
            pass


def test_reentering_a_recording_tape_is_an_error():
    tape = tg.GradientTape()
    with tape:
        with pytest.raises(ArgumentError, match="already recording"):
            tape.__enter__()


# ---- stop_recording and reset --------------------------------------------------------------------
def test_stop_recording():
    x = tg.tensor(4.0)
    w = tg.tensor(1.5, requires_grad=True)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        with tape.stop_recording():
            assert not x.requires_grad
            y = x ** 2
            v = w * 3
        z = x ** 3
    assert tape.gradient(y, x) is None
    assert tape.gradient(v, w) is None
    _close(tape.gradient(z, x), 48.0)
    with pytest.raises(GradError, match="not recording"):
        with tape.stop_recording():
            pass


def test_inner_stop_recording_keeps_the_outer_tape_recording():
    x = tg.tensor(2.0)
    with tg.GradientTape() as outer:
        outer.watch(x)
        with tg.GradientTape() as inner:
            inner.watch(x)
            with inner.stop_recording():
                y = x ** 2
            u = x * 7
    assert inner.gradient(y, x) is not None     # shared graph: see the docstring
    _close(outer.gradient(y + u, x), 11.0)


def test_reset_forgets_what_was_recorded_before():
    x = tg.tensor(2.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        loss = x ** 2
        tape.reset()
        assert not x.requires_grad and tape.watched_variables() == ()
        tape.watch(x)
        loss = loss + x ** 3
    _close(tape.gradient(loss, x), 12.0)
    with pytest.raises(ArgumentError, match="not recording"):
        tape.reset()


def test_reset_makes_a_used_tape_usable_again():
    x = tg.tensor(2.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
        tape.gradient(x * x, x)
        tape.__enter__()             # a used non-persistent tape stopped; record again
        tape.reset()
        tape.watch(x)
        y = 3 * x
    tape.__exit__(None, None, None)
    _close(tape.gradient(y, x), 3.0)


# ---- watching leaves the user's tensors alone ----------------------------------------------------
def test_watch_leaves_a_constant_unchanged():
    x = tg.tensor([1.0, 2.0])
    data, accum, version = x.numpy().copy(), x._accum, x._version
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        assert x.requires_grad
        y = (x * x).sum()
    assert not x.requires_grad and x.is_leaf and x.grad is None and x.grad_fn is None
    assert x._accum is accum and x._version == version
    np.testing.assert_array_equal(x.numpy(), data)
    y.backward(retain_graph=True)   # even a backward through the tape's graph ...
    assert x.grad is None           # ... fills the tape's private alias, not x
    _close(tape.gradient(y, x), [2.0, 4.0])
    assert not (x * 2).requires_grad


def test_watch_leaves_a_parameter_and_its_grad_alone():
    w = tg.nn.Parameter(tg.tensor([1.0, 2.0]))
    w.grad = tg.tensor([10.0, 10.0])
    with tg.GradientTape() as tape:
        tape.watch(w)
        y = (w * w).sum()
    _close(tape.gradient(y, w), [2.0, 4.0])
    _close(w.grad, [10.0, 10.0])
    assert w.requires_grad and type(w) is tg.nn.Parameter


def test_watch_restores_on_an_exception():
    x = tg.tensor(1.0)
    with pytest.raises(ZeroDivisionError):
        with tg.GradientTape() as tape:
            tape.watch(x)
            1 / 0
    assert not x.requires_grad and tape.watched_variables() == (x,)


def test_ops_before_watch_are_not_recorded():
    x = tg.tensor(3.0)
    with tg.GradientTape() as tape:
        y = x * x
        tape.watch(x)
    assert tape.gradient(y, x) is None


def test_watch_before_entering_applies_once_the_tape_records():
    x = tg.tensor(3.0)
    tape = tg.GradientTape()
    tape.watch(x)
    assert not x.requires_grad
    with tape:
        y = x * x
    _close(tape.gradient(y, x), 6.0)


def test_target_that_is_the_watched_tensor_itself():
    x = tg.tensor([1.0, 2.0, 3.0])
    with tg.GradientTape() as tape:
        tape.watch(x)
    _close(tape.gradient(x, x), np.ones(3))


# ---- sources, targets and output gradients -------------------------------------------------------
def test_nested_sources_keep_their_structure():
    Pair = collections.namedtuple("Pair", "first second")
    a, b, c = tg.tensor(2.0), tg.tensor([1.0, 3.0]), tg.tensor(5.0, requires_grad=True)
    with tg.GradientTape() as tape:
        tape.watch({"a": a, "rest": [b]})
        y = a * b.sum() + c * c
    got = tape.gradient(y, {"x": [a, (b,)], "p": Pair(c, a)})
    assert set(got) == {"x", "p"} and isinstance(got["x"], list)
    assert isinstance(got["x"][1], tuple) and isinstance(got["p"], Pair)
    _close(got["x"][0], 4.0)
    _close(got["x"][1][0], [2.0, 2.0])
    _close(got["p"].first, 10.0)
    _close(got["p"].second, 4.0)


def test_sources_may_be_any_iterable_such_as_parameters():
    lin = tg.nn.Linear(3, 2)
    x = tg.ones(4, 3)
    with tg.GradientTape() as tape:
        y = lin(x).sum()
    grads = tape.gradient(y, lin.parameters())
    assert isinstance(grads, list) and len(grads) == 2
    _close(grads[0], np.full((2, 3), 4.0))
    _close(grads[1], np.full(2, 4.0))


def test_several_targets_are_summed_and_non_scalar_targets_get_ones():
    x = tg.tensor([1.0, 2.0])
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y1, y2 = x * x, (3 * x).sum()
    _close(tape.gradient([y1, y2], x), 2 * np.array([1.0, 2.0]) + 3)
    _close(tape.gradient({"a": y1}, x), [2.0, 4.0])


def test_output_gradients_weight_the_targets():
    x = tg.tensor([1.0, 2.0])
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y1, y2 = x * x, x * 10
    _close(tape.gradient(y1, x, output_gradients=tg.tensor([1.0, -1.0])), [2.0, -4.0])
    _close(tape.gradient([y1, y2], x, output_gradients=[None, np.array([0.5, 0.0])]),
           [7.0, 4.0])
    with pytest.raises(ShapeError, match=r"output_gradients\[0\] has shape \(3,\).*\(2,\)"):
        tape.gradient(y1, x, output_gradients=tg.ones(3))
    with pytest.raises(ArgumentError, match="2 output_gradients for 1 targets"):
        tape.gradient(y1, x, output_gradients=[None, None])


def test_unconnected_sources_are_none_or_zeros():
    x, u = tg.tensor([1.0, 2.0]), tg.tensor([[5.0]])
    p = tg.tensor(3.0, requires_grad=True)       # requires grad, but not used
    with tg.GradientTape(persistent=True) as tape:
        tape.watch([x, u])
        y = (x * 2).sum()
    assert tape.gradient(y, [x, u, p])[1:] == [None, None]
    gx, gu, gp = tape.gradient(y, [x, u, p], unconnected_gradients="zero")
    _close(gx, [2.0, 2.0])
    assert gu.shape == (1, 1) and gu.dtype == u.dtype and not gu.numpy().any()
    assert gp.shape == () and gp.item() == 0.0
    with pytest.raises(ArgumentError, match="'none' or 'zero'"):
        tape.gradient(y, x, unconnected_gradients="zeros")


def test_a_target_that_does_not_require_grad_is_unconnected():
    x = tg.tensor(1.0)
    with tg.GradientTape() as tape:
        tape.watch(x)
    assert tape.gradient(tg.tensor(4.0), x) is None


def test_integer_sources_warn_and_have_no_gradient():
    i = tg.tensor([1, 2])
    with pytest.warns(UserWarning, match="not floating point"):
        with tg.GradientTape(persistent=True) as tape:
            tape.watch(i)
            y = (i * 2.5).sum()
    assert not i.requires_grad
    with pytest.warns(UserWarning, match="not floating point"):
        assert tape.gradient(y, i) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = tape.gradient(y, i, unconnected_gradients="zero")
    assert z.dtype == tg.int64 and z.tolist() == [0, 0]


def test_watch_accessed_variables_false_needs_explicit_watch():
    x = tg.tensor(2.0, requires_grad=True)
    w = tg.tensor(5.0, requires_grad=True)
    with tg.GradientTape(watch_accessed_variables=False, persistent=True) as tape:
        tape.watch(x)
        y = x ** 2
        z = w ** 3
    _close(tape.gradient(y, x), 4.0)
    assert tape.gradient(z, w) is None
    assert [id(v) for v in tape.watched_variables()] == [id(x)]


def test_a_constant_watched_only_by_another_tape_is_unconnected():
    x = tg.tensor(2.0)
    with tg.GradientTape() as outer:
        outer.watch(x)
        with tg.GradientTape() as inner:
            y = x * x
        assert inner.gradient(y, x) is None
    _close(outer.gradient(y, x), 4.0)


def test_watch_and_sources_reject_non_tensors():
    with tg.GradientTape() as tape:
        with pytest.raises(ArgumentError, match="watch: got float, not a Tensor"):
            tape.watch([tg.tensor(1.0), 2.0])
        x = tg.tensor(1.0, requires_grad=True)
        y = x * 2
    with pytest.raises(ArgumentError, match="source 1 is a float"):
        tape.gradient(y, [x, 1.0])


# ---- watched_variables ---------------------------------------------------------------------------
def test_watched_variables_lists_watched_then_accessed():
    a, b = tg.tensor(1.0), tg.tensor(2.0)
    w1, w2 = tg.tensor(3.0, requires_grad=True), tg.tensor(4.0, requires_grad=True)
    unused = tg.tensor(0.0, requires_grad=True)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(b)
        tape.watch([a, b])
        y = a * b * w1
        z = w2 * 2 + unused * 0
    ids = lambda ts: [id(t) for t in ts]       # noqa: E731  (tensors compare elementwise)
    assert ids(tape.watched_variables()) == ids([b, a])
    tape.gradient(y, a)
    assert ids(tape.watched_variables()) == ids([b, a, w1])
    tape.gradient(z, w2)
    got = tape.watched_variables()
    assert ids(got[:3]) == ids([b, a, w1]) and set(ids(got[3:])) == {id(w2), id(unused)}


# ---- jacobians -----------------------------------------------------------------------------------
def test_jacobian_matches_the_hand_computed_one():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(2, 3))
    xv = rng.normal(size=3)
    x, A = tg.tensor(xv), tg.tensor(a)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch([x, A])
        y = tg.tanh(A @ x)
    jx, ja = tape.jacobian(y, [x, A])
    d = 1 - np.tanh(a @ xv) ** 2
    _close(jx, d[:, None] * a, rtol=1e-12)
    expect_a = np.zeros((2, 2, 3))
    for i in range(2):
        expect_a[i, i] = d[i] * xv
    _close(ja, expect_a, rtol=1e-12)
    assert tape.jacobian(y.sum(), x).shape == (3,)


def test_jacobian_shapes_unconnected_and_no_pfor():
    x, u = tg.tensor(np.arange(6.0).reshape(2, 3)), tg.tensor([1.0])
    with tg.GradientTape(persistent=True) as tape:
        tape.watch([x, u])
        y = x[:, :2] * 3
    jac = tape.jacobian(y, {"x": x, "u": u}, experimental_use_pfor=False)
    assert jac["u"] is None and jac["x"].shape == (2, 2, 2, 3)
    assert _np(jac["x"])[1, 1, 1, 1] == 3.0 and _np(jac["x"]).sum() == 12.0
    z = tape.jacobian(y, u, unconnected_gradients="zero")
    assert z.shape == (2, 2, 1) and not z.numpy().any()
    with pytest.raises(ArgumentError, match="persistent=True"):
        with tg.GradientTape() as t2:
            t2.watch(x)
            y2 = x * 2
        t2.jacobian(y2, x, experimental_use_pfor=False)
    with pytest.raises(ArgumentError, match="one Tensor"):
        tape.jacobian([y], x)


def test_jacobian_agrees_with_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    xv, wv = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))

    def f(lib, x, w):
        return lib.sin(x @ w) * lib.exp(x.sum())

    x, w = tg.tensor(xv), tg.tensor(wv, requires_grad=True)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = f(tg, x, w)
    jx, jw = tape.jacobian(y, (x, w))
    ref = torch.autograd.functional.jacobian(lambda a, b: f(torch, a, b),
                                             (torch.tensor(xv), torch.tensor(wv)))
    _close(jx, ref[0].numpy(), rtol=1e-10)
    _close(jw, ref[1].numpy(), rtol=1e-10)


def test_batch_jacobian_matches_hand_and_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    xv, wv = rng.normal(size=(4, 3)), rng.normal(size=(3, 2))
    x, w = tg.tensor(xv), tg.tensor(wv)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = tg.tanh(x @ w)
    bj = tape.batch_jacobian(y, x)
    d = 1 - np.tanh(xv @ wv) ** 2                     # (4, 2)
    _close(bj, d[:, :, None] * wv.T[None], rtol=1e-12)
    tw = torch.tensor(wv)
    ref = torch.stack([torch.autograd.functional.jacobian(lambda r: torch.tanh(r @ tw),
                                                          torch.tensor(row)) for row in xv])
    _close(bj, ref.numpy(), rtol=1e-10)


def test_batch_jacobian_golden_and_errors():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    c = tg.ones(2, 3)
    with tg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        y3 = (x[:, :, None] * tg.ones(2, 2, 2)).sum(1)      # (2, 2): sum of each row
    _close(tape.batch_jacobian(y, x), [[[2, 0], [0, 4]], [[6, 0], [0, 8]]])
    _close(tape.batch_jacobian(y3, x), np.ones((2, 2, 2)))
    z = tape.batch_jacobian(y, tg.ones(2, 5))               # unconnected: zeros, as in TF
    assert z.shape == (2, 2, 5) and not z.numpy().any()
    with pytest.raises(ShapeError, match=r"\(2, 2\) and source \(2,\)"):
        tape.batch_jacobian(y, x[0])
    with pytest.raises(ShapeError, match="same first"):
        tape.batch_jacobian(y, c.T)


# ---- an MLP: the tape and backward agree ---------------------------------------------------------
def test_mlp_parameters_get_the_same_gradients_as_backward():
    tg.manual_seed(0)
    model = tg.nn.Sequential(tg.nn.Linear(5, 8), tg.nn.Tanh(), tg.nn.Linear(8, 3))
    x = tg.randn(6, 5)
    target = tg.tensor([0, 2, 1, 1, 0, 2])
    params = list(model.parameters())
    with tg.GradientTape() as tape:
        loss = tg.nn.functional.cross_entropy(model(x), target)
    from_tape = tape.gradient(loss, params)
    assert all(p.grad is None for p in params)
    loss2 = tg.nn.functional.cross_entropy(model(x), target)
    loss2.backward()
    for g, p in zip(from_tape, params):
        _close(g, p.grad, rtol=1e-6)
    assert set(map(id, tape.watched_variables())) == set(map(id, params))


def test_tapes_and_math_agree_on_a_chain():
    x = tg.tensor(0.3, dtype=tg.float64)
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = x
        for _ in range(200):
            y = tg.sin(y) + 0.01
    g = tape.gradient(y, x).item()
    v, d = 0.3, 1.0
    for _ in range(200):
        d *= math.cos(v)
        v = math.sin(v) + 0.01
    assert abs(g - d) <= 1e-9 * abs(d)


def test_tape_inside_func_grad_records_for_the_transform():
    """A tape used inside func.grad records its gradient, so the transform differentiates it
    (d/dx of d/dx (x sin x) = 2 cos x - x sin x)."""
    import tapegrad.func as func

    def f(x):
        with tg.GradientTape() as t:
            t.watch(x)
            y = x.sin() * x
        return t.gradient(y, x)

    x = 0.5
    np.testing.assert_allclose(float(func.grad(f)(x)), 2 * np.cos(x) - x * np.sin(x),
                               rtol=1e-6)
