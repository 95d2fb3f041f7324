"""tanh_double_backward, the fused tangent of tanh_backward (issue 9, speed item 1): the
primitive's own rules (vjp, jvp, and their derivatives) against finite differences, and the
forward-over-reverse HVP through it against the Hessian worked out by hand.
"""
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.autograd.forward_ad as fwAD
from tapegrad.ops.fused_backward import TANH_DOUBLE_BACKWARD
from tapegrad.ops.registry import apply


def _fused(a, o, u):
    return apply(TANH_DOUBLE_BACKWARD, (a, o, u))


def _inputs(seed=0, shapes=((4,), (4,), (4,))):
    rng = np.random.default_rng(seed)
    return [tg.tensor(rng.uniform(-0.9, 0.9, s), requires_grad=True) for s in shapes]


def test_forward_is_a_times_one_minus_o_squared_minus_two_o_u():
    a, o, u = _inputs()
    an, on, un = (t.detach().numpy() for t in (a, o, u))
    np.testing.assert_allclose(_fused(a, o, u).detach().numpy(),
                               an * (1 - on * on) - 2 * on * un, rtol=1e-12)


@pytest.mark.parametrize("shapes", [((4,), (4,), (4,)), ((3, 1), (1, 4), (4,))])
def test_gradients_and_second_derivatives_match_finite_differences(shapes):
    inputs = _inputs(1, shapes)
    assert tg.autograd.gradcheck(_fused, inputs)
    assert tg.autograd.gradgradcheck(_fused, inputs)


def test_jvp_matches_finite_differences_and_forward_over_reverse_matches_double_backward():
    a, o, u = _inputs(2)
    ts = [tg.tensor(v) for v in np.random.default_rng(3).standard_normal((3, 4))]
    eps = 1e-6
    with fwAD.dual_level():
        duals = [fwAD.make_dual(x, t) for x, t in zip((a, o, u), ts)]
        out = _fused(*duals)
        tangent = fwAD.unpack_dual(out).tangent
        # forward-over-reverse through the primitive's vjp
        grads = tg.autograd.grad(out.sum(), duals, create_graph=True)
        fwd_rev = [fwAD.unpack_dual(g).tangent for g in grads]
    plus = _fused(*(x.detach() + eps * t for x, t in zip((a, o, u), ts)))
    minus = _fused(*(x.detach() - eps * t for x, t in zip((a, o, u), ts)))
    np.testing.assert_allclose(tangent.detach().numpy(), ((plus - minus) / (2 * eps)).numpy(),
                               rtol=1e-6, atol=1e-8)
    grads = tg.autograd.grad(_fused(a, o, u).sum(), (a, o, u), create_graph=True)
    hvs = tg.autograd.grad(grads, (a, o, u), grad_outputs=ts)     # H t by double backward
    for fr, hv in zip(fwd_rev, hvs):
        np.testing.assert_allclose(fr.detach().numpy(), hv.numpy(), rtol=1e-10, atol=1e-12)


def _hvp_by_hand(W, x, v):
    t = np.tanh(W @ x)
    return W.T @ (2 * (1 - t * t) * (1 - 3 * t * t) * (W @ v))


def test_forward_over_reverse_hvp_records_the_fused_tangent_and_is_right():
    rng = np.random.default_rng(4)
    W, xs, vs = rng.standard_normal((5, 5)) / 2, rng.standard_normal(5), rng.standard_normal(5)
    with fwAD.dual_level():
        z = fwAD.make_dual(tg.tensor(xs, requires_grad=True), tg.tensor(vs))
        (g,) = tg.autograd.grad((tg.tanh(tg.tensor(W) @ z) ** 2).sum(), z, create_graph=True)
        hv = fwAD.unpack_dual(g).tangent
    np.testing.assert_allclose(hv.detach().numpy(), _hvp_by_hand(W, xs, vs), rtol=1e-10)
    names, seen, stack = set(), set(), [hv.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen or node.op is None:
            continue
        seen.add(node)
        names.add(node.op.name)
        stack.extend(node.parents)
    assert "tanh_double_backward" in names and "sub" not in names


def test_third_derivative_through_the_fused_tangent_matches_finite_differences():
    rng = np.random.default_rng(5)
    W, xs, vs = rng.standard_normal((4, 4)) / 2, rng.standard_normal(4), rng.standard_normal(4)
    x = tg.tensor(xs, requires_grad=True)
    with fwAD.dual_level():
        z = fwAD.make_dual(x, tg.tensor(vs))
        (g,) = tg.autograd.grad((tg.tanh(tg.tensor(W) @ z) ** 2).sum(), z, create_graph=True)
        hv = fwAD.unpack_dual(g).tangent
    (third,) = tg.autograd.grad(hv.sum(), x)
    eps = 1e-6
    fd = np.array([(_hvp_by_hand(W, xs + eps * e, vs) - _hvp_by_hand(W, xs - eps * e, vs)).sum()
                   / (2 * eps) for e in np.eye(4)])
    np.testing.assert_allclose(third.numpy(), fd, rtol=1e-6, atol=1e-8)
