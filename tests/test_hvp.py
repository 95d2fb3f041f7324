"""Hessian-vector products (issue 9, speed item 1) and what makes them cheap: the fused
backward primitives of tanh and pow (Note [Fused backward rules] in ops/elementwise.py), the
creation sites of nodes recorded on the user's behalf (Note [Creation sites] in _core/node.py)
and make_dual/unpack_dual's aliases.

Expected values are worked out by hand (derivatives of tanh and powers), never read back from
the engine.
"""
import sys

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.autograd.forward_ad as fwAD
from tapegrad._core.node import format_site


def _line():
    """The caller's current line number (for checking creation sites)."""
    return sys._getframe(1).f_lineno


def _problem(n=6, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((n, n)) / np.sqrt(n)
    return W, rng.standard_normal(n), rng.standard_normal(n)


def _f(W, z):
    return (tg.tanh(W @ z) ** 2).sum()


def _hvp_by_hand(W, x, v):
    """H v of sum(tanh(W x)^2): W^T diag(s'') W v with s(h) = tanh(h)^2,
    s''(h) = 2 (1 - t^2)(1 - 3 t^2), t = tanh(h)."""
    t = np.tanh(W @ x)
    return W.T @ (2 * (1 - t * t) * (1 - 3 * t * t) * (W @ v))


def _recorded_nodes(t):
    """The op nodes in ``t``'s graph."""
    seen, stack = set(), [t.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen or node.op is None:
            continue
        seen.add(node)
        stack.extend(node.parents)
    return seen


def test_double_backward_hvp_matches_the_hessian_by_hand():
    W, x, v = _problem()
    z = tg.tensor(x, requires_grad=True)
    (g,) = tg.autograd.grad(_f(tg.tensor(W), z), z, create_graph=True)
    (hv,) = tg.autograd.grad(g, z, grad_outputs=tg.tensor(v))
    np.testing.assert_allclose(hv.detach().numpy(), _hvp_by_hand(W, x, v), rtol=1e-10, atol=1e-12)


def test_forward_over_reverse_hvp_matches_the_hessian_by_hand():
    W, x, v = _problem(seed=1)
    with fwAD.dual_level():
        z = fwAD.make_dual(tg.tensor(x, requires_grad=True), tg.tensor(v))
        (g,) = tg.autograd.grad(_f(tg.tensor(W), z), z, create_graph=True)
        hv = fwAD.unpack_dual(g).tangent
    np.testing.assert_allclose(hv.detach().numpy(), _hvp_by_hand(W, x, v), rtol=1e-10, atol=1e-12)


def test_a_recorded_backward_records_one_node_per_op():
    W, x, _ = _problem()
    z = tg.tensor(x, requires_grad=True)
    y = _f(tg.tensor(W), z)
    forward = _recorded_nodes(y)
    (g,) = tg.autograd.grad(y, z, create_graph=True)
    backward = _recorded_nodes(g) - forward      # the forward graph hangs below the backward's
    assert sorted(n.op.name for n in backward) == ["matmul", "pow_backward", "tanh_backward"]


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_third_derivative_of_tanh_through_the_fused_rule(dtype):
    xs = np.array([-1.3, -0.2, 0.0, 0.7, 2.1])
    x = tg.tensor(xs, dtype=dtype, requires_grad=True)
    (d1,) = tg.autograd.grad(tg.tanh(x).sum(), x, create_graph=True)
    (d2,) = tg.autograd.grad(d1.sum(), x, create_graph=True)
    (d3,) = tg.autograd.grad(d2.sum(), x)
    t = np.tanh(xs)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == tg.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(d1.detach().numpy(), 1 - t * t, **tol)
    np.testing.assert_allclose(d2.detach().numpy(), -2 * t * (1 - t * t), **tol)
    np.testing.assert_allclose(d3.numpy(), -2 * (1 - t * t) * (1 - 3 * t * t), **tol)
    assert d1.dtype == dtype and d3.dtype == dtype


@pytest.mark.parametrize("p, derivs", [
    (3, lambda x: (3 * x ** 2, 6 * x, 6 + 0 * x)),
    (2, lambda x: (2 * x, 2 + 0 * x, 0 * x)),
    (1, lambda x: (1 + 0 * x, 0 * x, 0 * x)),
    (0.5, lambda x: (0.5 * x ** -0.5, -0.25 * x ** -1.5, 0.375 * x ** -2.5)),
])
def test_derivatives_of_powers_through_the_fused_rule(p, derivs):
    xs = np.array([0.3, 1.0, 2.5])
    x = tg.tensor(xs, requires_grad=True)
    (d1,) = tg.autograd.grad((x ** p).sum(), x, create_graph=True)
    (d2,) = tg.autograd.grad(d1.sum(), x, create_graph=True)
    (d3,) = tg.autograd.grad(d2.sum(), x, allow_unused=True, materialize_grads=True)
    for got, want in zip((d1, d2, d3), derivs(xs)):
        np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12, atol=1e-12)


def test_gradient_of_x_to_the_zero_is_zero_even_at_zero():
    x = tg.tensor([0.0, 2.0], requires_grad=True)
    (d1,) = tg.autograd.grad((x ** 0).sum(), x, create_graph=True)
    assert d1.tolist() == [0.0, 0.0]


def test_forward_over_reverse_of_the_fused_rules_gives_second_derivatives():
    xs, vs = np.array([-0.8, 0.1, 1.5]), np.array([1.0, -2.0, 0.5])
    for f, second in ((tg.tanh, lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
                      (lambda x: x ** 3, lambda x: 6 * x)):
        with fwAD.dual_level():
            x = fwAD.make_dual(tg.tensor(xs, requires_grad=True), tg.tensor(vs))
            (g,) = tg.autograd.grad(f(x).sum(), x, create_graph=True)
            t = fwAD.unpack_dual(g).tangent
        np.testing.assert_allclose(t.detach().numpy(), second(xs) * vs, rtol=1e-12, atol=1e-12)


def test_nodes_of_a_recorded_backward_carry_the_grad_call_site():
    x = tg.tensor([0.5, -1.0], requires_grad=True)
    y = (tg.tanh(x) ** 2).sum()
    (g,) = tg.autograd.grad(y, x, create_graph=True); line = _line()    # noqa: E702
    assert format_site(g.grad_fn.site).endswith(f"test_hvp.py:{line}")
    z = tg.tanh(x); after = _line()       # noqa: E702  (the site is not left set)
    assert format_site(z.grad_fn.site).endswith(f"test_hvp.py:{after}")


def test_nodes_of_a_tangent_carry_the_site_of_its_op():
    with fwAD.dual_level():
        x = fwAD.make_dual(tg.tensor([0.5, -1.0], requires_grad=True), tg.ones(2))
        y = tg.tanh(x); line = _line()     # noqa: E702
        t = fwAD.unpack_dual(y).tangent
        assert t.grad_fn is not None       # the tangent depends on x: it was recorded
        assert format_site(t.grad_fn.site).endswith(f"test_hvp.py:{line}")
        w = x * 2; after = _line()         # noqa: E702
        assert format_site(w.grad_fn.site).endswith(f"test_hvp.py:{after}")


def test_unpack_dual_keeps_the_outer_tangent_and_the_history():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with fwAD.dual_level():
        with fwAD.dual_level():
            d = fwAD.make_dual(fwAD.make_dual(x, tg.tensor([3.0, 4.0]), level=0),
                               tg.tensor([5.0, 6.0]), level=1)
            y = d * d
            primal, inner = fwAD.unpack_dual(y)          # innermost level
            assert inner.tolist() == [10.0, 24.0]         # 2 x * t_inner
            outer = fwAD.unpack_dual(primal, level=0).tangent
            assert outer.tolist() == [6.0, 16.0]          # 2 x * t_outer
            assert fwAD.unpack_dual(primal, level=1).tangent is None
            primal.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_sum_gradient_on_arrays_and_constant_cotangents():
    x = tg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    for dim, keepdim in ((None, False), (1, False), (0, True), ((0, 1), False)):
        y = x.sum(dim=dim, keepdim=keepdim)
        (g,) = tg.autograd.grad(y, x, grad_outputs=tg.ones_like(y) * 2)
        assert g.shape == (2, 3) and g.tolist() == [[2.0] * 3] * 2
        (gc,) = tg.autograd.grad(y, x, grad_outputs=tg.ones_like(y) * 2, create_graph=True)
        assert gc.shape == (2, 3) and gc.tolist() == [[2.0] * 3] * 2


def test_hvp_matches_torch():
    torch = pytest.importorskip("torch")
    W, x, v = _problem(n=9, seed=3)
    z = tg.tensor(x, requires_grad=True)
    (g,) = tg.autograd.grad(_f(tg.tensor(W), z), z, create_graph=True)
    (ours,) = tg.autograd.grad(g, z, grad_outputs=tg.tensor(v))
    tz = torch.tensor(x, requires_grad=True)
    (tgr,) = torch.autograd.grad((torch.tanh(torch.tensor(W) @ tz) ** 2).sum(), tz,
                                 create_graph=True)
    (theirs,) = torch.autograd.grad(tgr, tz, grad_outputs=torch.tensor(v))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)
