"""tapegrad.autograd.forward_ad: levels, dual tensors, views and in-place ops, composition
with reverse mode, errors, and the examples forward mode is for. Every op's rule is checked
by tests/test_forward_ad_op_db.py."""
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.autograd.forward_ad as fwAD
from tapegrad._core.errors import ArgumentError, DTypeError, GradError, ShapeError


def f64(*a):
    return tg.tensor(np.array(a, dtype=np.float64))


def test_tangent_flows_through_a_chain_without_a_graph():
    x, v = f64(0.5, 1.0, 2.0), f64(1.0, -1.0, 0.5)
    with fwAD.dual_level():
        y = (fwAD.make_dual(x, v).sin() * 3).exp().sum()
        p, t = fwAD.unpack_dual(y)
    xs, vs = x.numpy(), v.numpy()
    want = np.sum(np.exp(3 * np.sin(xs)) * 3 * np.cos(xs) * vs)
    assert np.isclose(t.item(), want, rtol=1e-12)
    assert np.isclose(p.item(), np.sum(np.exp(3 * np.sin(xs))), rtol=1e-12)
    assert y.grad_fn is None and not y.requires_grad          # no backward graph


def test_directional_derivative_equals_gradient_dot_direction():
    rng = np.random.default_rng(0)
    W = tg.tensor(rng.standard_normal((4, 3)))
    x, v = tg.tensor(rng.standard_normal(3)), tg.tensor(rng.standard_normal(3))

    def loss(z):
        return (tg.tanh(W @ z) ** 2).sum()
    with fwAD.dual_level():
        d = fwAD.unpack_dual(loss(fwAD.make_dual(x, v))).tangent
    xr = x.clone().requires_grad_()
    (g,) = tg.autograd.grad(loss(xr), xr)
    assert np.isclose(d.item(), (g * v).sum().item(), rtol=1e-12)


def test_sensitivity_of_each_output_to_one_input():
    """One JVP with a one-hot direction gives a column of the Jacobian: how every output
    moves with input 1 alone."""
    x = f64(1.0, 2.0, 3.0)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, f64(0.0, 1.0, 0.0))
        y = tg.stack([d[0] * d[1], d[1] ** 2, d[2].exp()])
        col = fwAD.unpack_dual(y).tangent
    np.testing.assert_allclose(col.numpy(), [1.0, 4.0, 0.0])


def test_hessian_vector_product_forward_over_reverse():
    rng = np.random.default_rng(1)
    W = tg.tensor(rng.standard_normal((5, 4)))
    x, v = tg.tensor(rng.standard_normal(4)), tg.tensor(rng.standard_normal(4))

    def f(z):
        return (tg.tanh(W @ z) ** 2).sum()
    with fwAD.dual_level():
        d = fwAD.make_dual(x.clone().requires_grad_(), v)
        (g,) = tg.autograd.grad(f(d), d, create_graph=True)
        hv = fwAD.unpack_dual(g).tangent
    xr = x.clone().requires_grad_()
    (g,) = tg.autograd.grad(f(xr), xr, create_graph=True)
    (want,) = tg.autograd.grad(g, xr, grad_outputs=v)
    np.testing.assert_allclose(hv.detach().numpy(), want.numpy(), rtol=1e-10)


def test_reverse_over_forward():
    """backward through a tangent: d/dx of <grad f(x), v> is H v."""
    x, v = f64(0.3, -0.7), f64(2.0, 1.0)
    xr = x.clone().requires_grad_()
    with fwAD.dual_level():
        y = (fwAD.make_dual(xr, v) ** 3).sum()
        fwAD.unpack_dual(y).tangent.backward()
    np.testing.assert_allclose(xr.grad.numpy(), 6 * x.numpy() * v.numpy())


def test_nested_levels_give_second_derivatives_and_stay_apart():
    x = f64(0.5)
    with fwAD.dual_level() as outer:
        d1 = fwAD.make_dual(x, f64(1.0), level=outer)
        with fwAD.dual_level() as inner:
            assert (outer, inner) == (0, 1)
            d2 = fwAD.make_dual(d1, f64(1.0), level=inner)
            y = d2.sin()
            t_inner = fwAD.unpack_dual(y, level=inner).tangent        # cos x
            t_outer = fwAD.unpack_dual(y, level=outer).tangent        # cos x, kept apart
        second = fwAD.unpack_dual(t_inner, level=outer).tangent       # -sin x
    assert np.isclose(t_inner.detach().item(), np.cos(0.5))
    assert np.isclose(t_outer.item(), np.cos(0.5))
    assert np.isclose(second.item(), -np.sin(0.5))


def test_no_perturbation_confusion():
    """d/dx [x * d/dy (x + y)] at y = 1 is 1: the inner derivative must not see x's
    perturbation (a classic bug of naive nested forward mode)."""
    with fwAD.dual_level():
        x = fwAD.make_dual(f64(1.0), f64(1.0), level=0)
        with fwAD.dual_level():
            y = fwAD.make_dual(f64(1.0), f64(1.0), level=1)
            inner = fwAD.unpack_dual(x + y, level=1).tangent
        out = fwAD.unpack_dual(x * inner, level=0).tangent
    assert out.item() == 1.0


def test_outside_its_level_a_tensor_is_plain_again():
    x = f64(1.0, 2.0)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, f64(1.0, 1.0))
        y = d * 2
    assert fwAD.unpack_dual(y).tangent is None
    with fwAD.dual_level():                # a new level does not revive the old tangent
        assert fwAD.unpack_dual(y).tangent is None
        assert fwAD.unpack_dual(y * 3).tangent is None
    assert y._fw is None or not y._fw or fwAD.unpack_dual(y).tangent is None


def test_make_dual_keeps_the_primal_and_tangent_untouched():
    x, t = f64(1.0, 2.0), f64(3.0, 4.0)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, t)
        assert fwAD.unpack_dual(x).tangent is None            # x itself stays plain
        d.mul_(2)                                              # in place: tangent replaced
        np.testing.assert_array_equal(fwAD.unpack_dual(d).tangent.numpy(), [6.0, 8.0])
    np.testing.assert_array_equal(t.numpy(), [3.0, 4.0])       # the user's tangent unchanged
    np.testing.assert_array_equal(x.numpy(), [2.0, 4.0])       # d is a view of x (as PyTorch)


def test_unpack_dual_primal_is_a_view_without_the_tangent():
    x = f64(1.0, 2.0)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, f64(1.0, 1.0))
        p, t = fwAD.unpack_dual(d)
        assert fwAD.unpack_dual(p).tangent is None
        assert np.shares_memory(p.numpy(), x.numpy())
        assert fwAD.unpack_dual(d).tangent is t
    assert fwAD.unpack_dual(x) == (x, None)


def test_in_place_on_plain_tensor_with_a_dual_operand_gives_it_a_tangent():
    with fwAD.dual_level():
        y = f64(1.0, 2.0)
        y.add_(fwAD.make_dual(f64(0.0, 0.0), f64(5.0, 6.0)))
        np.testing.assert_array_equal(fwAD.unpack_dual(y).tangent.numpy(), [5.0, 6.0])


def test_in_place_through_a_view_updates_the_base_and_sibling_views():
    with fwAD.dual_level():
        b = f64(1.0, 2.0, 3.0)
        v, sib = b[:2], b[1:]
        v.add_(fwAD.make_dual(f64(0.0, 0.0), f64(1.0, 1.0)))
        np.testing.assert_array_equal(fwAD.unpack_dual(b).tangent.numpy(), [1.0, 1.0, 0.0])
        np.testing.assert_array_equal(fwAD.unpack_dual(sib).tangent.numpy(), [1.0, 0.0])
        np.testing.assert_array_equal(fwAD.unpack_dual(v).tangent.numpy(), [1.0, 1.0])


def test_view_of_a_dual_has_the_view_of_its_tangent():
    with fwAD.dual_level():
        d = fwAD.make_dual(tg.arange(6.0).reshape(2, 3), tg.arange(6.0).reshape(2, 3) * 10)
        np.testing.assert_array_equal(fwAD.unpack_dual(d.T[1]).tangent.numpy(), [10.0, 40.0])
        np.testing.assert_array_equal(fwAD.unpack_dual(d[:, 2]).tangent.numpy(), [20.0, 50.0])


def test_setitem_of_a_dual_value():
    with fwAD.dual_level():
        y = tg.zeros(3, dtype=tg.float64)
        y[1] = fwAD.make_dual(tg.tensor(2.0, dtype=tg.float64), tg.tensor(7.0, dtype=tg.float64))
        np.testing.assert_array_equal(fwAD.unpack_dual(y).tangent.numpy(), [0.0, 7.0, 0.0])


def test_forward_mode_works_under_no_grad_and_detach_drops_the_tangent():
    with fwAD.dual_level():
        d = fwAD.make_dual(f64(2.0), f64(1.0))
        with tg.no_grad():
            assert fwAD.unpack_dual(d * d).tangent.item() == 4.0
        assert fwAD.unpack_dual(d.detach()).tangent is None
        assert fwAD.unpack_dual((d * d).argmax()).tangent is None    # integer result


def test_make_dual_checks_its_arguments():
    with pytest.raises(GradError, match="no forward-AD level"):
        fwAD.make_dual(f64(1.0), f64(1.0))
    with fwAD.dual_level():
        with pytest.raises(ShapeError, match=r"tangent has shape \(3,\).*primal has shape"):
            fwAD.make_dual(f64(1.0, 2.0), f64(1.0, 2.0, 3.0))
        with pytest.raises(DTypeError, match="tangent has dtype tapegrad.float32"):
            fwAD.make_dual(f64(1.0), tg.tensor([1.0]))
        with pytest.raises(DTypeError, match="floating point"):
            fwAD.make_dual(tg.tensor([1]), tg.tensor([1]))
        d = fwAD.make_dual(f64(1.0), f64(1.0))
        with pytest.raises(GradError, match="already has a tangent"):
            fwAD.make_dual(d, f64(1.0))
        with pytest.raises(ArgumentError, match="level=3"):
            fwAD.make_dual(f64(1.0), f64(1.0), level=3)
        with pytest.raises(TypeError):
            fwAD.make_dual([1.0], f64(1.0))


def test_levels_leave_in_order():
    outer = fwAD.enter_dual_level()
    inner = fwAD.enter_dual_level()
    with pytest.raises(ArgumentError, match="innermost"):
        fwAD.exit_dual_level(level=outer)
    fwAD.exit_dual_level(level=inner)
    fwAD.exit_dual_level()
    with pytest.raises(GradError, match="no forward-AD level"):
        fwAD.exit_dual_level()


def test_level_is_left_on_error():
    with pytest.raises(ValueError):
        with fwAD.dual_level():
            raise ValueError
    with pytest.raises(GradError):
        fwAD.make_dual(f64(1.0), f64(1.0))


def test_leaf_requiring_grad_gets_gradients_through_the_dual():
    x = f64(1.0, 2.0).requires_grad_()
    with fwAD.dual_level():
        d = fwAD.make_dual(x, f64(1.0, 0.0))
        (d * d).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_same_tangents_as_pytorch():
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw
    rng = np.random.default_rng(3)
    a, v = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    w = rng.standard_normal((4, 2))

    def run(lib, fw, x, t, w):
        with fw.dual_level():
            d = fw.make_dual(x, t)
            y = lib.nn.functional.softmax(lib.tanh(d @ w) * d.sum(), dim=-1).log()
            return fw.unpack_dual(y).tangent
    ours = run(tg, fwAD, tg.tensor(a), tg.tensor(v), tg.tensor(w)).numpy()
    theirs = run(torch, tfw, torch.tensor(a), torch.tensor(v), torch.tensor(w)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_detach_in_place_drops_the_tangent_as_pytorch():
    with fwAD.dual_level():
        y = fwAD.make_dual(f64(1.0, 2.0), f64(5.0, 6.0)) * 1
        assert y.detach_() is y
        assert fwAD.unpack_dual(y).tangent is None
        assert fwAD.unpack_dual(y * 2).tangent is None


def test_make_dual_and_unpack_dual_results_have_tangents_of_their_own():
    """They are views of their input in memory, but their tangents are not its (as PyTorch):
    an in-place op on a view of the dual scatters into the dual's tangent, and in-place
    changes of the memory base or of the unpacked primal leave it alone."""
    tangent = lambda z: None if fwAD.unpack_dual(z).tangent is None \
        else fwAD.unpack_dual(z).tangent.tolist()
    with fwAD.dual_level():
        x = f64(1.0, 2.0)
        d = fwAD.make_dual(x, f64(5.0, 6.0))
        v = d[0]
        v.mul_(2)
        assert (tangent(v), tangent(d), tangent(x), d.tolist()) == (10.0, [10.0, 6.0], None,
                                                                    [2.0, 2.0])
        x.mul_(3)                                     # the base changes: d's tangent stays
        assert (tangent(d), tangent(v), d.tolist()) == ([10.0, 6.0], 10.0, [6.0, 6.0])
        x.add_(fwAD.make_dual(f64(0.0, 0.0), f64(1.0, 1.0)))
        assert (tangent(x), tangent(d), tangent(v)) == ([1.0, 1.0], [10.0, 6.0], 10.0)
        p, _ = fwAD.unpack_dual(d)
        p.mul_(2)
        assert (tangent(d), tangent(p), d.tolist()) == ([10.0, 6.0], None, [12.0, 12.0])
        w = f64(1.0, 2.0, 3.0)
        e = fwAD.make_dual(w[1:], f64(7.0, 8.0))       # a dual of a view
        w.mul_(2)
        assert (tangent(e), e.tolist()) == ([7.0, 8.0], [4.0, 6.0])


def test_dual_views_match_pytorch_after_in_place_ops():
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw

    def run(lib, fw):
        with fw.dual_level():
            x = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)
            d = fw.make_dual(x, lib.tensor([5.0, 6.0, 7.0], dtype=lib.float64))
            v, w = d[:2], d[1:]
            v.mul_(d[1:] * 2)
            x.add_(1)
            p, _ = fw.unpack_dual(d)
            p[2] = 4.0
            return [fw.unpack_dual(z).tangent.tolist() for z in (d, v, w)] + [d.tolist()]
    assert run(tg, fwAD) == run(torch, tfw)


def test_tangent_roots_are_per_level_and_outlive_the_dual():
    """A view of a dual keeps sharing the dual's tangent after the dual itself is dropped,
    and a make_dual at an inner level is a plain view at the outer ones."""
    with fwAD.dual_level():
        x = f64(1.0, 2.0, 3.0)
        v = fwAD.make_dual(x, f64(4.0, 5.0, 6.0))[1:]     # the dual itself is dropped
        w = v[:1]
        x.mul_(2)                                           # the memory base: no effect
        v.mul_(3)
        assert fwAD.unpack_dual(w).tangent.tolist() == [15.0]
        assert fwAD.unpack_dual(x).tangent is None
        with fwAD.dual_level():
            d = fwAD.make_dual(v, f64(1.0, 1.0))
            d[0].mul_(2)
            assert fwAD.unpack_dual(d).tangent.tolist() == [2.0, 1.0]
            assert fwAD.unpack_dual(d, level=0).tangent.tolist() == [30.0, 18.0]
            assert fwAD.unpack_dual(v, level=0).tangent.tolist() == [30.0, 18.0]
            assert fwAD.unpack_dual(v).tangent is None


def test_dual_level_decorates_a_function_as_in_pytorch():
    @fwAD.dual_level()
    def jvp_of_square(x, t):
        return fwAD.unpack_dual(fwAD.make_dual(x, t) ** 2).tangent

    assert jvp_of_square(f64(1.0, 3.0), f64(1.0, 1.0)).tolist() == [2.0, 6.0]
    assert jvp_of_square.__name__ == "jvp_of_square"
    with pytest.raises(GradError, match="no forward-AD level"):    # left after the call
        fwAD.make_dual(f64(1.0), f64(1.0))


def test_a_write_through_a_view_of_an_unpacked_primal_gives_the_primal_a_tangent():
    with fwAD.dual_level():
        y = fwAD.make_dual(f64(1.0, 2.0), f64(1.0, 1.0)) * 2
        p, _ = fwAD.unpack_dual(y)
        v = p[0]
        v.add_(fwAD.make_dual(f64(0.0)[0], f64(5.0)[0]))
        assert fwAD.unpack_dual(p).tangent.tolist() == [5.0, 0.0]      # as PyTorch
        assert fwAD.unpack_dual(y).tangent.tolist() == [2.0, 2.0]
        assert fwAD.unpack_dual(v).tangent.item() == 5.0
