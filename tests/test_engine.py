"""The backward engine: graph walk, accumulation, retain/free, higher order, autograd.grad,
hooks, version counters, in-place ops and views, anomaly detection and grad-mode threading.

Expected values are computed by hand or by an independent out-of-place computation, never
read back from the engine.
"""
import gc
import os
import sys
import threading

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ops.registry import OpDef, apply


def _line():
    """The caller's current line number (for checking reported creation sites)."""
    return sys._getframe(1).f_lineno


def _site(line):
    return f"test_engine.py:{line}"


def _leaf(values, dtype=tg.float64):
    return tg.tensor(values, dtype=dtype, requires_grad=True)


# ---- walking long and shared graphs ---------------------------------------------------------
def test_million_op_chain_backward_without_recursion():
    # Mostly adds (cheap, nothing saved) with a multiply every 1000 ops, so the gradient
    # 1.001**1000 is only right if every node of the chain ran exactly once.
    n = 1_000_000
    x = tg.tensor(0.0, dtype=tg.float64, requires_grad=True)
    y = x
    for i in range(n):
        y = y * 1.001 if i % 1000 == 0 else y + 1.0
    y.backward()
    assert x.grad.item() == pytest.approx(1.001 ** 1000, rel=1e-9)
    del y                                  # tearing the chain down must not recurse either
    gc.collect()


def _lines_run_by_backward(n):
    """Python lines tapegrad executes in backward() of an n-op chain: a count of the work,
    the same on every run (no clocks: speed belongs to benchmarks/, not to tests)."""
    x = tg.tensor(1.0, dtype=tg.float64, requires_grad=True)
    y = x
    for _ in range(n):
        y = y * 1.0
    package = os.path.dirname(tg.__file__)
    count = [0]

    def tracer(frame, event, arg):
        if not frame.f_code.co_filename.startswith(package):
            return None
        if event == "line":
            count[0] += 1
        return tracer

    sys.settrace(tracer)
    try:
        y.backward()
    finally:
        sys.settrace(None)
    assert x.grad.item() == 1.0
    return count[0]


def test_backward_walk_is_linear_in_graph_size():
    # 4x the nodes must cost 4x the work (up to the constant setup); quadratic would be 16x.
    small, large = _lines_run_by_backward(2_000), _lines_run_by_backward(8_000)
    assert 3.9 < large / small < 4.1, f"2k ops: {small} lines, 8k ops: {large} lines"


def test_diamond_graph_sums_both_branches():
    xv = np.array([0.3, -1.2, 2.0])
    x = _leaf(xv)
    h = x * x                              # used by two branches
    out = (tg.sin(h) + h * 3).sum()
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), (np.cos(xv ** 2) + 3) * 2 * xv, rtol=1e-12)


def test_value_used_many_times():
    x = _leaf([1.0, 2.0])
    total = x
    for _ in range(999):
        total = total + x
    (total * x).sum().backward()           # d/dx (1000 x^2) = 2000 x
    np.testing.assert_allclose(x.grad.numpy(), [2000.0, 4000.0])


def test_only_nodes_leading_to_requested_inputs_run():
    def exploding_vjp(ctx, g):
        raise AssertionError("the engine ran a rule that leads to no requested input")
    explode = OpDef("test_explode", lambda a: a.copy(), exploding_vjp)
    x, z = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    out = (x * 2).sum() + apply(explode, (z,)).sum()
    (gx,) = tg.autograd.grad(out, x, retain_graph=True)
    np.testing.assert_array_equal(gx.numpy(), [2.0, 2.0])
    out.backward(inputs=[x], retain_graph=True)
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    assert z.grad is None
    with pytest.raises(AssertionError):    # the rule is reachable when z is wanted
        out.backward()


# ---- retain_graph and freed graphs -----------------------------------------------------------
def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = _leaf([1.0, -2.0])
    out = (tg.exp(x) * x).sum()
    out.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    np.testing.assert_allclose(first, np.exp([1.0, -2.0]) * (1 + np.array([1.0, -2.0])))
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_freed_graph_error_names_op_and_creation_line():
    x = _leaf([1.0, 2.0])
    y = tg.exp(x); line = _line()          # noqa: E702  (same line on purpose)
    out = y.sum()
    out.backward()
    with pytest.raises(RuntimeError) as info:
        out.backward()
    msg = str(info.value)
    assert "'exp'" in msg
    assert _site(line) in msg
    assert "retain_graph=True" in msg


def test_grad_frees_the_graph_unless_retained():
    x = _leaf(2.0)
    y = x * x * x
    tg.autograd.grad(y, x, retain_graph=True)
    (g,) = tg.autograd.grad(y, x)
    assert g.item() == 12.0
    with pytest.raises(RuntimeError, match="retain_graph"):
        tg.autograd.grad(y, x)


# ---- higher order ------------------------------------------------------------------------------
def test_double_backward_through_backward():
    xv = np.array([0.5, 1.5])
    x = _leaf(xv)
    (g,) = tg.autograd.grad(tg.sin(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), np.cos(xv))
    (gg,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), -np.sin(xv))


def test_backward_with_create_graph_makes_grad_differentiable():
    x = _leaf(3.0)
    (x ** 3).backward(create_graph=True)
    assert x.grad.requires_grad
    (g2,) = tg.autograd.grad(x.grad, x)
    assert g2.item() == 18.0               # 6x


@pytest.mark.parametrize("xv", [1.5, -0.5])
def test_third_derivative_of_fourth_power(xv):
    x = _leaf(xv)
    (d1,) = tg.autograd.grad(x ** 4, x, create_graph=True)
    (d2,) = tg.autograd.grad(d1, x, create_graph=True)
    (d3,) = tg.autograd.grad(d2, x)
    assert d1.item() == pytest.approx(4 * xv ** 3)
    assert d2.item() == pytest.approx(12 * xv ** 2)
    assert d3.item() == pytest.approx(24 * xv)


# ---- autograd.grad ---------------------------------------------------------------------------
def test_grad_multiple_outputs_and_inputs():
    x, y = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    gx, gy = tg.autograd.grad([(x * y).sum(), (x + y).sum()], [x, y])
    np.testing.assert_array_equal(gx.numpy(), [4.0, 5.0])      # y + 1
    np.testing.assert_array_equal(gy.numpy(), [2.0, 3.0])      # x + 1
    assert x.grad is None and y.grad is None                  # grad() does not accumulate


def test_grad_with_grad_outputs():
    x, y = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    gx, gy = tg.autograd.grad(x * y, [x, y], grad_outputs=tg.tensor([1.0, 10.0],
                                                                    dtype=tg.float64))
    np.testing.assert_array_equal(gx.numpy(), [3.0, 40.0])
    np.testing.assert_array_equal(gy.numpy(), [1.0, 20.0])


def test_grad_with_several_outputs_and_grad_outputs():
    x = _leaf([1.0, 2.0])
    a, b = x * 2, x * x
    (gx,) = tg.autograd.grad([a, b], x, grad_outputs=[tg.ones(2, dtype=tg.float64),
                                                      tg.tensor([0.5, 0.5], dtype=tg.float64)])
    np.testing.assert_array_equal(gx.numpy(), [2 + 0.5 * 2, 2 + 0.5 * 4])


def test_grad_same_input_twice_returns_independent_tensors():
    x = _leaf([1.0, 2.0])
    g1, g2 = tg.autograd.grad((x * x).sum(), [x, x])
    np.testing.assert_array_equal(g1.numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(g2.numpy(), [2.0, 4.0])
    g1.numpy()[0] = 100.0
    assert g2.numpy()[0] == 2.0


def test_grad_unused_input():
    x, z = _leaf([1.0, 2.0]), _leaf([[1.0], [1.0]])
    with pytest.raises(RuntimeError) as info:
        tg.autograd.grad((x * 2).sum(), [x, z])
    msg = str(info.value)
    assert "input 1" in msg and "(2, 1)" in msg and "allow_unused=True" in msg
    gx, gz = tg.autograd.grad((x * 2).sum(), [x, z], allow_unused=True)
    np.testing.assert_array_equal(gx.numpy(), [2.0, 2.0])
    assert gz is None
    gx, gz = tg.autograd.grad((x * 2).sum(), [x, z], materialize_grads=True)
    assert gz.shape == (2, 1) and gz.dtype == tg.float64
    np.testing.assert_array_equal(gz.numpy(), np.zeros((2, 1)))


def test_grad_input_that_does_not_require_grad_raises():
    x = _leaf([1.0, 2.0])
    c = tg.ones(2)
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.autograd.grad((x * c).sum(), [x, c])


def test_backward_inputs_only_accumulates_into_listed_tensors():
    x, y = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    (x * y).sum().backward(inputs=[x])
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    assert y.grad is None


def test_backward_inputs_may_be_a_non_leaf():
    x = _leaf([1.0, 2.0])
    h = x * 3
    (h * h).sum().backward(inputs=[h])
    np.testing.assert_array_equal(h.grad.numpy(), [6.0, 12.0])   # 2h
    assert x.grad is None


def test_backward_of_non_scalar_needs_a_gradient():
    x = _leaf([1.0, 2.0, 3.0])
    y = x * 2
    with pytest.raises(RuntimeError) as info:
        y.backward()
    assert "(3,)" in str(info.value)
    y.backward(tg.tensor([1.0, 0.0, -1.0], dtype=tg.float64))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, -2.0])


@pytest.mark.parametrize("shape", [(3,), (2, 1), ()])
def test_wrong_shaped_gradient_raises(shape):
    x = _leaf([1.0, 2.0])
    y = x * 2
    with pytest.raises(tg.ShapeError) as info:
        y.backward(tg.ones(shape, dtype=tg.float64))
    assert str(tuple(shape)) in str(info.value) and "(2,)" in str(info.value)


def test_user_gradient_is_not_modified_by_accumulation():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    g = tg.tensor([1.0, 2.0, 3.0])
    (x + 0.0).backward(g)
    (x + 0.0).backward(g)
    np.testing.assert_array_equal(g.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])
    x.grad = None
    x.backward(g)                          # the output is the leaf itself
    x.backward(g)
    np.testing.assert_array_equal(g.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])


# ---- hooks and retain_grad -----------------------------------------------------------------
def test_leaf_hook_reads_and_replaces_gradient_and_can_be_removed():
    x = _leaf([1.0, 2.0])
    seen = []

    def hook(g):
        seen.append(g.numpy().copy())
        return g * 2

    handle = x.register_hook(hook)
    (x * 3).sum().backward()
    np.testing.assert_array_equal(seen[0], [3.0, 3.0])
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert len(seen) == 1
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_non_leaf_hook_replaces_gradient_flowing_upstream():
    x = _leaf([1.0, 2.0])
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))           # returns None: reads
    h.register_hook(lambda g: tg.ones_like(g))                         # replaces
    (h * h).sum().backward()
    np.testing.assert_array_equal(seen[0], [4.0, 8.0])                # 2h
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])          # ones * dh/dx
    assert h.grad is None                                              # not retained


def test_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError):
        tg.ones(2).register_hook(lambda g: g)


def test_retain_grad_keeps_non_leaf_gradient():
    x = _leaf([1.0, 2.0])
    h = x * 2
    h.retain_grad()
    assert h.retains_grad
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), [4.0, 8.0])
    np.testing.assert_array_equal(x.grad.numpy(), [8.0, 16.0])


def test_post_accumulate_grad_hook_sees_accumulated_grad():
    x = _leaf([1.0, 2.0])
    seen = []
    handle = x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(seen[0], [2.0, 4.0])
    np.testing.assert_array_equal(seen[1], [4.0, 8.0])
    handle.remove()
    (x * x).sum().backward()
    assert len(seen) == 2
    with pytest.raises(RuntimeError):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_post_accumulate_grad_hook_can_step_the_parameter():
    w = _leaf([1.0, 2.0])

    def sgd(p):
        with tg.no_grad():
            p -= 0.5 * p.grad
        p.grad = None

    w.register_post_accumulate_grad_hook(sgd)
    (w * w).sum().backward()
    np.testing.assert_allclose(w.detach().numpy(), [0.0, 0.0])   # w - 0.5 * 2w
    assert w.grad is None


# ---- version counter ------------------------------------------------------------------------
def test_modifying_a_saved_tensor_raises_with_details():
    x = _leaf([1.0, 2.0, 3.0])
    b = x * 2
    c = b * b; line = _line()              # noqa: E702  saves b at version 0
    b.add_(1)
    assert b._version == 1
    with pytest.raises(RuntimeError) as info:
        c.sum().backward()
    msg = str(info.value)
    assert "'mul'" in msg
    assert "(3,)" in msg
    assert "version 0" in msg and "version 1" in msg
    assert _site(line) in msg


def test_modifying_a_saved_leaf_under_no_grad_raises():
    w = _leaf([1.0, 2.0])
    y = tg.sin(w)                          # saves w
    with tg.no_grad():
        w.mul_(2)
    with pytest.raises(RuntimeError, match="'sin'"):
        y.sum().backward()


def test_modifying_the_base_of_a_saved_view_raises():
    x = _leaf([1.0, 2.0, 3.0])
    y = x * 1
    v = y[0:2]
    z = v * v                              # saves the view
    y.mul_(2)                              # same storage, same version counter
    with pytest.raises(RuntimeError, match="version"):
        z.sum().backward()


def test_in_place_under_no_grad_on_leaf_is_allowed_and_bumps_version():
    w = _leaf([1.0, 2.0])
    assert w._version == 0
    with tg.no_grad():
        w.add_(1)
        w *= 2
    assert w._version == 2
    np.testing.assert_array_equal(w.detach().numpy(), [4.0, 6.0])
    assert w.is_leaf and w.requires_grad and w.grad_fn is None


# ---- in-place ops and views -----------------------------------------------------------------
def _grads(fn, xv):
    x = _leaf(xv)
    fn(x).sum().backward()
    return x.grad.numpy()


def test_in_place_chain_on_non_leaf_matches_out_of_place():
    xv = np.array([0.5, 1.0, -2.0])

    def in_place(x):
        y = x * x
        y.mul_(x)
        y += 1
        y /= 2
        y.sin_()
        y.exp_()
        y -= x
        return y

    def out_of_place(x):
        return tg.exp(tg.sin((x * x * x + 1) / 2)) - x

    np.testing.assert_allclose(_grads(in_place, xv), _grads(out_of_place, xv), rtol=1e-12)


def test_in_place_does_not_corrupt_earlier_uses():
    # y is read (by exp) before it is changed in place; exp saved its output, not y, so
    # this is legal and exp's gradient must still use the old y.
    xv = np.array([0.2, 0.7])
    x = _leaf(xv)
    y = x * 3
    a = tg.exp(y)
    y.mul_(2)
    (a + y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.exp(3 * xv) + 6, rtol=1e-12)


def test_in_place_through_a_slice_of_a_non_leaf():
    xv = np.array([1.0, 2.0, 3.0, 4.0])
    w = tg.tensor([1.0, 2.0, 3.0, 4.0], dtype=tg.float64)
    x = _leaf(xv)
    y = x * 1
    y[1:3].mul_(10)
    np.testing.assert_array_equal(y.detach().numpy(), [1.0, 20.0, 30.0, 4.0])
    (y * w).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 20.0, 30.0, 4.0])   # w * [1,10,10,1]


def test_in_place_through_a_reshaped_view_updates_base_and_view_gradients():
    xv = np.array([1.0, 2.0, 3.0, 4.0])
    c = tg.tensor([[1.0, -1.0], [2.0, 0.5]], dtype=tg.float64)

    def in_place(x):
        y = x * 2
        v = y.view(2, 2)
        v.add_(x.view(2, 2) * x.view(2, 2))
        return (y * y).sum() + (v * c).sum()

    def out_of_place(x):
        z = x * 2 + x * x
        return (z * z).sum() + (z.reshape(2, 2) * c).sum()

    np.testing.assert_allclose(_grads(in_place, xv), _grads(out_of_place, xv), rtol=1e-12)


def test_in_place_through_a_non_contiguous_view():
    xv = np.arange(6.0).reshape(2, 3) + 1
    s = tg.tensor([2.0, -1.0], dtype=tg.float64)

    def in_place(x):
        y = x * 1
        y.t()[1].mul_(s)                   # column 1 of y, through a transpose
        return (y * y).sum()

    def out_of_place(x):
        scale = tg.tensor([[1.0, 2.0, 1.0], [1.0, -1.0, 1.0]], dtype=tg.float64)
        y = x * scale
        return (y * y).sum()

    np.testing.assert_allclose(_grads(in_place, xv), _grads(out_of_place, xv), rtol=1e-12)


def test_in_place_on_view_of_leaf_requiring_grad_raises():
    x = _leaf([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="view of a leaf"):
        x[1:3].mul_(2)
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 2.0, 3.0])


def test_setitem_passes_gradient_to_value():
    z = tg.zeros(4, dtype=tg.float64)
    v = _leaf([5.0, 6.0])
    z[1:3] = v
    assert z.requires_grad
    (z * tg.tensor([1.0, 2.0, 3.0, 4.0], dtype=tg.float64)).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [2.0, 3.0])


def test_setitem_into_non_leaf_cuts_overwritten_region():
    x = _leaf([1.0, 2.0, 3.0])
    v = _leaf(4.0)
    y = x * 2
    y[0] = v * v
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 16.0, 24.0])    # 2y * 2, not at 0
    assert v.grad.item() == 2 * 16.0 * 2 * 4.0                           # 2 y0 * 2 v


# ---- dtypes and shapes of gradients --------------------------------------------------------
def test_float32_leaf_mixed_with_float64_gets_float32_grad():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    d = tg.tensor(np.array([3.0, 4.0]))
    out = (w * d).sum()
    assert out.dtype == tg.float64
    out.backward()
    assert w.grad.dtype == tg.float32
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 4.0])


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_broadcast_grads_have_input_shapes(op):
    av = np.array([[1.0], [2.0], [3.0]])
    bv = np.array([[1.0, 2.0, 4.0, 8.0]])
    cv = np.array([0.5, 1.0, 1.5, 2.0])
    a, b, c = _leaf(av), _leaf(bv), _leaf(cv)
    f = {"add": lambda p, q: p + q, "sub": lambda p, q: p - q,
         "mul": lambda p, q: p * q, "div": lambda p, q: p / q}[op]
    f(f(a, b), c).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (1, 4) and c.grad.shape == (4,)
    # reference: d/dp of sum(f(f(p, q), r)) by central differences on float64 arrays
    eps = 1e-6
    for leaf, base in ((a, av), (b, bv), (c, cv)):
        num = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            vals = []
            for s in (eps, -eps):
                arrs = {id(a): av.copy(), id(b): bv.copy(), id(c): cv.copy()}
                arrs[id(leaf)][i] += s
                vals.append(f(f(arrs[id(a)], arrs[id(b)]), arrs[id(c)]).sum())
            num[i] = (vals[0] - vals[1]) / (2 * eps)
        np.testing.assert_allclose(leaf.grad.numpy(), num, rtol=1e-6, atol=1e-6)


# ---- graph introspection ----------------------------------------------------------------------
def test_grad_fn_name_and_next_functions():
    x, y = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    c = tg.ones(2, dtype=tg.float64)
    out = ((x * y) + c).sum()
    assert out.grad_fn.name() == "SumBackward0"
    (add_fn, _), = out.grad_fn.next_functions
    assert add_fn.name() == "AddBackward0"
    (mul_fn, _), (none_fn, _) = add_fn.next_functions
    assert mul_fn.name() == "MulBackward0"
    assert none_fn is None                 # c does not require grad
    (acc_x, _), (acc_y, _) = mul_fn.next_functions
    assert acc_x.name() == "AccumulateGrad" and acc_x.variable is x
    assert acc_y.variable is y


def test_grad_fn_repr_shows_creation_site():
    x = _leaf([1.0])
    y = tg.tanh(x); line = _line()         # noqa: E702
    r = repr(y.grad_fn)
    assert "TanhBackward0" in r and _site(line) in r
    assert "grad_fn=<TanhBackward0>" in repr(y)


# ---- gradcheck, anomaly, threads --------------------------------------------------------------
def test_gradcheck_reports_a_wrong_rule():
    # A throwaway primitive (never register()ed) whose rule says d(x^2) = 3x instead of 2x.
    bad = OpDef("test_bad_square", np.square, lambda ctx, g: (g * 3 * ctx.x,), save=("x",))
    good = OpDef("test_good_square", np.square, lambda ctx, g: (g * 2 * ctx.x,), save=("x",))
    x = _leaf([1.0, 2.0])
    assert tg.autograd.gradcheck(lambda t: apply(good, (t,)), (x,))
    with pytest.raises(tg.autograd.GradcheckError) as info:
        tg.autograd.gradcheck(lambda t: apply(bad, (t,)), (x,))
    assert isinstance(info.value, RuntimeError)
    msg = str(info.value)
    assert "output 0" in msg and "input 0" in msg
    assert "numerical 2" in msg and "analytical 3" in msg       # at element (0,)
    assert not tg.autograd.gradcheck(lambda t: apply(bad, (t,)), (x,), raise_exception=False)


def test_gradgradcheck_reports_a_wrong_second_derivative():
    # A throwaway primitive whose gradient is right (2x) but whose rule detaches x, so the
    # gradient's own derivative is 0 instead of 2: gradcheck passes, gradgradcheck must not.
    detached = OpDef("test_square_detached_rule", np.square,
                     lambda ctx, g: (g * 2 * np.asarray(ctx.x._data if isinstance(
                         ctx.x, tg.Tensor) else ctx.x),), save=("x",))
    good = OpDef("test_good_square", np.square, lambda ctx, g: (g * 2 * ctx.x,), save=("x",))
    x = _leaf([1.0, 2.0])
    assert tg.autograd.gradcheck(lambda t: apply(detached, (t,)), (x,))
    assert tg.autograd.gradgradcheck(lambda t: apply(good, (t,)), (x,))
    with pytest.raises(tg.autograd.GradcheckError, match="input 0"):
        tg.autograd.gradgradcheck(lambda t: apply(detached, (t,)), (x,))


def test_gradgradcheck_differentiates_through_a_cast_grad_output():
    # a float64 cotangent for a float32 output: its cast is recorded under create_graph
    x = _leaf([0.5, 1.5])
    assert tg.autograd.gradgradcheck(lambda t: (t * t).to(tg.float32), (x,), eps=1e-3,
                                     atol=1e-3, rtol=1e-2)


def test_detect_anomaly_names_the_op_that_produced_nan():
    x = _leaf([0.0, 1.0])
    with tg.autograd.detect_anomaly():
        y = tg.sqrt(x); line = _line()     # noqa: E702  d sqrt at 0 is inf; inf * 0 is nan
        out = (y * 0.0).sum()
        with pytest.raises(RuntimeError) as info:
            out.backward()
    msg = str(info.value)
    assert "'sqrt'" in msg and "nan" in msg and _site(line) in msg
    assert not tg.autograd.is_anomaly_enabled()
    # Without anomaly detection the same backward quietly gives nan.
    x.grad = None
    (tg.sqrt(x) * 0.0).sum().backward()
    assert np.isnan(x.grad.numpy()[0])


def test_no_grad_is_thread_local():
    entered, release = threading.Event(), threading.Event()
    seen = {}

    def worker_without_grad():
        with tg.no_grad():
            entered.set()
            release.wait(5)
            seen["worker"] = (tg.ones(1, requires_grad=True) * 2).requires_grad

    t = threading.Thread(target=worker_without_grad)
    t.start()
    assert entered.wait(5)
    seen["main_while_worker_in_no_grad"] = (tg.ones(1, requires_grad=True) * 2).requires_grad
    release.set()
    t.join()
    assert seen == {"worker": False, "main_while_worker_in_no_grad": True}

    def worker_with_grad():
        seen["other"] = (tg.ones(1, requires_grad=True) * 2).requires_grad

    with tg.no_grad():
        t = threading.Thread(target=worker_with_grad)
        t.start()
        t.join()
        assert not (tg.ones(1, requires_grad=True) * 2).requires_grad
    assert seen["other"] is True


# ---- views whose storage changed after they were taken -----------------------------------------
def test_view_taken_before_inplace_on_base_sees_the_change():
    x = tg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x * 1
    v = y[0:2]
    y.mul_(2)                       # changes v's values too: its gradient must see the mul
    v.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 0.0, 0.0])


def test_view_sees_inplace_change_through_a_sibling_view():
    x = tg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x * 1
    a, b = y[0:2], y[1:3]
    a.mul_(3)                       # b[0] is y[1], which is now 3 * x[1]
    (b * b).sum().backward()
    # b = [3 x1, x2]: d/dx1 = 2 * 3x1 * 3 = 36, d/dx2 = 2 * x2 = 6
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 36.0, 6.0, 0.0])


def test_view_of_constant_buffer_written_by_tensor_requiring_grad():
    w = tg.tensor([5.0, 6.0], requires_grad=True)
    buf = tg.zeros(4)
    v = buf[0:2]                    # taken while buf is a constant
    buf[0:2] = w
    (v * tg.tensor([1.0, 10.0])).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [1.0, 10.0])


def test_no_grad_decorates_with_and_without_parentheses():
    @tg.no_grad
    def bare(t):
        return t * 2

    @tg.no_grad()
    def called(t):
        return t * 2

    x = tg.ones(2, requires_grad=True)
    assert not bare(x).requires_grad and not called(x).requires_grad
    assert (x * 2).requires_grad            # the mode is restored after each call


def test_create_graph_does_not_adopt_the_callers_gradient_tensor():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    v = tg.tensor([3.0, 4.0])
    x.backward(v, create_graph=True)     # x's own accumulator is the root: its grad is v
    (x * 1).sum().backward()             # accumulates in place into x.grad ...
    np.testing.assert_allclose(v.numpy(), [3.0, 4.0])   # ... never into the caller's v
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 5.0])


# ---- values are saved only for the gradients that need them (as PyTorch) -------------------------
def test_scaling_by_a_constant_does_not_save_the_tensor():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y * 3                      # d/dy needs only the 3; y itself is not saved
    y.add_(1)                      # so changing y in place afterwards is fine
    (z.sum() + y.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 4.0])


def test_weight_changed_before_backward_when_only_it_needs_grad():
    x = tg.tensor([[1.0, 2.0]])
    w = tg.tensor([[1.0], [1.0]], requires_grad=True)
    out = (x @ w).sum()            # d/dw needs x only: w is not saved
    with tg.no_grad():
        w.mul_(5)
    out.backward()
    np.testing.assert_allclose(w.grad.numpy(), [[1.0], [2.0]])


def test_a_saved_value_that_is_needed_still_guards_against_in_place_changes():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    y = x * 1
    z = (y * w).sum()              # d/dw needs y: saved
    y.add_(1)
    with pytest.raises(RuntimeError, match="'mul'.*modified in place.*version 0.*version 1"):
        z.backward()


def test_inference_mode_false_turns_grad_back_on_and_bare_decorator_works():
    x = tg.ones(2, requires_grad=True)

    @tg.inference_mode
    def bare(t):
        return t * 2

    assert not bare(x).requires_grad
    with tg.inference_mode():
        with tg.inference_mode(False):
            assert tg.is_grad_enabled() and not tg.is_inference_mode_enabled()
            assert (x * 2).requires_grad
        assert not tg.is_grad_enabled() and tg.is_inference_mode_enabled()
    assert tg.is_grad_enabled() and not tg.is_inference_mode_enabled()


def test_a_temporary_leaf_is_freed_without_the_cyclic_gc():
    import gc
    import weakref
    gc.disable()
    try:
        x = tg.tensor(np.ones(10), requires_grad=True)
        (x * 2).sum().backward()
        ref = weakref.ref(x)
        del x                      # no cycle through its AccumulateGrad: refcounting frees it
        assert ref() is None
    finally:
        gc.enable()


def test_hooks_on_a_leaf_survive_between_graphs():
    w = tg.ones(3, requires_grad=True)
    w.register_hook(lambda g: g * 2)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.sum().item()))
    (w * 1).sum().backward()
    (w * 1).sum().backward()       # a new graph: the leaf's hooks still run
    np.testing.assert_allclose(w.grad.numpy(), [4.0, 4.0, 4.0])
    assert seen == [6.0, 12.0]


def test_scalar_used_three_times_accumulates():
    # Three contributions to one 0-d value: the second sum of 0-d arrays is a NumPy scalar,
    # which the third must still be added to.
    x = tg.tensor(2.0, dtype=tg.float64, requires_grad=True)
    m = x * 1
    (m + m + m).backward()          # add passes its cotangent through: not the engine's own
    assert x.grad.item() == 3.0


# ---- conventions found by differential testing against PyTorch ---------------------------------
def test_clamp_with_tensor_bounds_gives_ties_to_the_input():
    x = tg.tensor([1.0, 2.0, -3.0], requires_grad=True)
    lo = tg.tensor([1.0, 0.0, -1.0], requires_grad=True)
    tg.clamp(x, min=lo).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0, 0.0])   # tie at x == lo: input
    np.testing.assert_allclose(lo.grad.numpy(), [0.0, 0.0, 1.0])


def test_pow_gradient_at_zero_to_the_zero_is_zero():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    b = tg.tensor([0.0, 2.0], requires_grad=True)
    (x ** b).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 2.0])
    np.testing.assert_allclose(b.grad.numpy(), [0.0, 0.0])


def test_where_of_two_python_scalars_is_a_tensor_with_pytorch_dtype():
    m = tg.tensor([True, False])
    assert tg.where(m, 1.0, 0.0).dtype == tg.float32
    assert tg.where(m, 1, 0).dtype == tg.int64
    assert tg.where(m, 1, 0.5).tolist() == [1.0, 0.5]


def test_numpy_scalars_do_not_widen_tensors():
    assert (tg.ones(2) * np.int64(3)).dtype == tg.float32
    assert (tg.tensor([1, 2]) * np.float32(2.5)).dtype == tg.float32
    assert (tg.ones(2, dtype=tg.float16) * np.float32(2)).dtype == tg.float16
    assert (tg.tensor([1], dtype=tg.int32) + np.int64(2)).dtype == tg.int32


def test_in_place_through_a_reshaped_view_of_an_f_ordered_base():
    # y is F-ordered (from a transpose); y.t().reshape(6) is a view only in that layout, so
    # the backward must not replay the chain on a C-ordered copy.
    x = tg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x.t() * 1
    f = y.t().reshape(6)
    f.mul_(tg.tensor(np.full(6, 3.0)))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 3.0))
    x.grad = None
    y = x.t() * 1
    f = y.t().reshape(6)
    y.mul_(2)                                   # f is stale: rebuilt from y's new history
    (f * 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 2.0))


def test_expanded_view_of_a_base_changed_in_place():
    x = tg.tensor(np.ones((2, 3)), requires_grad=True)
    a = x * 1
    e = a.expand(3, 2, 3)
    a.mul_(2)
    (e * 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 6.0))


# ---- history after in-place changes, found in review ---------------------------------------------
def test_backward_from_a_stale_view_sees_the_in_place_change():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    v = a[0]
    a.mul_(3)
    v.backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 0.0])
    a = x * 1
    v = a[0]
    a.mul_(3)
    np.testing.assert_allclose(tg.autograd.grad(v, x)[0].numpy(), [3.0, 0.0])


def test_retain_grad_follows_the_tensor_through_in_place_ops():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.mul_(3)
    y.sum().backward()
    assert y.retains_grad
    np.testing.assert_allclose(y.grad.numpy(), [1.0, 1.0])


def test_backward_inputs_with_a_retained_tensor_and_post_hooks():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    (y * y).sum().backward(inputs=[y])
    np.testing.assert_allclose(y.grad.numpy(), [4.0, 8.0])     # once, not twice
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
    (x * 2).sum().backward(inputs=[x])
    assert seen == [[2.0, 2.0]]


def test_view_made_under_no_grad_stays_out_of_autograd():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    with tg.no_grad():
        v = a[0:1]
    a.mul_(2)
    assert not (v * 1).requires_grad


def test_changing_an_index_or_mask_tensor_after_use_does_not_move_the_gradient():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    idx = tg.tensor([0, 1])
    y = x[idx]
    idx += 1
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0, 0.0])
    x.grad = None
    m = tg.tensor([True, False, True])
    z = tg.where(m, x, 0.0)
    m[...] = True
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.0, 1.0])


def test_create_graph_grads_of_two_leaves_do_not_alias():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor([3.0, 4.0], requires_grad=True)
    ((x + y) ** 2).sum().backward(create_graph=True)
    assert x.grad is not y.grad
    with tg.no_grad():
        x.grad.zero_()
    np.testing.assert_allclose(y.grad.detach().numpy(), [8.0, 12.0])


def test_assigning_grad_checks_type_shape_and_dtype():
    x = tg.zeros(3, requires_grad=True)
    with pytest.raises(TypeError, match="Tensor or None"):
        x.grad = np.ones(3)
    with pytest.raises(RuntimeError, match=r"shape \(2,\)"):
        x.grad = tg.ones(2)
    with pytest.raises(RuntimeError, match="float64"):
        x.grad = tg.ones(3, dtype=tg.float64)
    x.grad = tg.ones(3)
    x.grad = None


def test_a_hook_may_not_change_the_gradient_dtype():
    x = tg.ones(2, requires_grad=True)
    x.register_hook(lambda g: g.double())
    with pytest.raises(RuntimeError, match="dtype"):
        (x * 2).sum().backward()


def test_setitem_value_with_extra_leading_ones_gets_its_gradient():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = tg.ones(1, 2, requires_grad=True)
    c = x * 1
    c[0:2] = v
    (c * tg.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(v.grad.numpy(), [[1.0, 2.0]])
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, 3.0])


def test_clamp_in_place_with_tensor_bounds():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    lo = tg.tensor([1.5, 1.5, 1.5], requires_grad=True)
    y = x * 1
    y.clamp_(min=lo)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1.0, 1.0])
    np.testing.assert_allclose(lo.grad.numpy(), [1.0, 0.0, 0.0])


def test_zero_dim_bool_index_and_mask_errors():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert x[tg.tensor(True)].shape == (1, 3) and x[tg.tensor(False)].shape == (0, 3)
    (x[tg.tensor(True)] * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match=r"where: shapes \(2,\) and \(3,\)"):
        tg.where(tg.tensor([True, False]), x, 0.0)


def test_expand_that_grows_nothing_is_writable_and_to_refuses_other_devices():
    x = tg.zeros(3)
    x.expand(3).add_(1)
    np.testing.assert_allclose(x.numpy(), [1.0, 1.0, 1.0])
    with pytest.raises(RuntimeError, match="CPU only"):
        x.to("cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        tg.device("cuda:0")
    assert x.to(x.device) is x and x.to(tg.device("cpu"), tg.float64).dtype == tg.float64
    assert x.to("cpu") is x
    with pytest.raises(TypeError, match="one int"):
        x.max(dim=(0,))


def test_grad_mode_decorators_cover_generators():
    x = tg.ones(2, requires_grad=True)

    @tg.no_grad()
    def gen():
        for i in range(2):
            yield x * i

    assert [t.requires_grad for t in gen()] == [False, False]
    assert tg.is_grad_enabled()


def test_integer_and_index_tensor_separated_by_a_slice_keep_pytorch_dim_order():
    x = tg.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    y = x[0, :, tg.tensor([1, 2])]
    assert y.shape == (3, 2)                  # NumPy alone would give (2, 3)
    np.testing.assert_array_equal(y.detach().numpy(), np.arange(24.0).reshape(2, 3, 4)[0][:, [1, 2]])
    y.sum().backward()
    assert x.grad.numpy()[0, :, 1:3].sum() == 6 and x.grad.numpy().sum() == 6


def test_a_stale_views_grad_fn_and_requires_grad_are_up_to_date():
    buf = tg.zeros(4)
    v = buf[0:2]
    assert not v.requires_grad and v.grad_fn is None
    buf[0:2] = tg.tensor([5.0, 6.0], requires_grad=True)
    assert v.requires_grad and v.grad_fn is not None      # rebuilt from buf's new history
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    w = a[0:1]
    before = w.grad_fn
    a.mul_(3)
    assert w.grad_fn is not before


def test_pow_by_a_constant_saves_no_output():
    """x ** 2 keeps only x: changing the result in place before backward is fine, as in
    PyTorch; with a tensor exponent the output is saved and the change is caught."""
    y = _leaf([1.0, 2.0])
    z = y ** 2
    z.add_(1)
    z.sum().backward()
    assert y.grad.tolist() == [2.0, 4.0]
    w = _leaf([1.0, 2.0]) ** _leaf([2.0, 3.0])
    w.add_(1)
    with pytest.raises(tg.GradError, match="modified in place"):
        w.sum().backward()


def test_a_grad_seen_through_a_transpose_is_owned_and_accumulates():
    """The engine hands out matmul's grad of w (through w.T) without copying it; it must
    still be an array nobody else holds: a second backward adds into it, nothing else moves."""
    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((5, 3)), rng.standard_normal((4, 3))
    x, w = tg.tensor(X, requires_grad=True), tg.tensor(W, requires_grad=True)
    wt = w.T
    wt.retain_grad()
    for _ in range(2):
        (x @ w.T).sum().backward()
    expected = 2 * np.ones((5, 4)).T @ X
    np.testing.assert_allclose(w.grad.numpy(), expected)
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.ones((5, 4)) @ W)
    np.testing.assert_array_equal(x.detach().numpy(), X)
    np.testing.assert_array_equal(w.detach().numpy(), W)
    assert not np.shares_memory(w.grad.numpy(), x.grad.numpy())


def test_a_view_of_a_users_array_is_not_taken_over_as_a_grad():
    """A rule that passes on a view of memory someone else holds (the caller's gradient seen
    through a reshape) gets copied before it becomes a .grad."""
    x = tg.zeros(2, 3, requires_grad=True)
    g = np.arange(6.0)
    x.reshape(6).backward(tg.tensor(g))
    x.reshape(6).backward(tg.tensor(g))
    np.testing.assert_array_equal(g, np.arange(6.0))
    np.testing.assert_array_equal(x.grad.numpy(), 2 * np.arange(6.0).reshape(2, 3))


def test_update_outside_autograd_writes_in_place_with_the_same_rules():
    p = tg.ones(3, 4)
    data = p.numpy()
    v0 = p._version
    p -= 0.5 * tg.ones(4)
    assert p.numpy() is data or np.shares_memory(p.numpy(), data)
    np.testing.assert_array_equal(data, np.full((3, 4), 0.5, np.float32))
    assert p.dtype == tg.float32 and p._version == v0 + 1
    p += tg.ones(4, dtype=tg.float64)        # float64 into float32: cast, as in PyTorch
    np.testing.assert_array_equal(data, np.full((3, 4), 1.5, np.float32))
    with pytest.raises(tg.ShapeError):
        p += tg.ones(5)
    with pytest.raises(tg.ShapeError):
        p += tg.ones(2, 3, 4)
    n = tg.ones(3, dtype=tg.int64)
    with pytest.raises(tg.DTypeError):
        n -= 0.5


def test_broadcast_gradient_over_an_empty_middle_dim():
    """The per-channel summing path of sum_to_shape meets a zero-size cotangent."""
    a = tg.zeros(2, 0, 4, requires_grad=True)
    b = tg.zeros(1, 0, 1, requires_grad=True)
    c = tg.zeros(1, 3, 1, requires_grad=True)
    (a + b).sum().backward()
    (tg.zeros(2, 3, 0) + c).sum().backward()
    assert b.grad.shape == (1, 0, 1) and a.grad.shape == (2, 0, 4)
    np.testing.assert_array_equal(c.grad.numpy(), np.zeros((1, 3, 1), np.float32))


def test_an_attribute_set_on_one_node_stays_on_that_node():
    # a node's parameters are its __dict__; each recorded node has its own copy, so a
    # user's attribute can't reach other nodes of the op (or their forward calls)
    x = tg.randn(3, requires_grad=True)
    a = x.exp()
    a.grad_fn.note = "mine"
    b = x.exp()
    assert a.grad_fn.note == "mine" and not hasattr(b.grad_fn, "note")
    b.sum().backward()            # (exp's forward and rule see no stray parameter)
    assert np.allclose(x.grad.numpy(), np.exp(x.detach().numpy()))
