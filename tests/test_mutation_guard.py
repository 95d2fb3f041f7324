"""The mutation guard: what an in-place change to a tensor saved for backward does, in each
of its three modes (Note [Mutation guard] in autograd/mutation_guard.py).

"copy-on-write" gradients are compared with the same program written out of place
(``a = a + 1`` for ``a.add_(1)``), which computes the same values without touching what
the earlier ops saved; "error-now" errors are checked to name this file's lines and to leave
the tensor's values as they were.
"""
import gc
import re
import sys
import threading

import numpy as np
import pytest

import tapegrad as tg
from tapegrad._core.state import STATE
from tapegrad.autograd import get_mutation_guard, mutation_guard, set_mutation_guard
from tapegrad.autograd.graph import inspect, save_on_cpu, saved_tensors_hooks
from tapegrad.ops.registry import GUARD_HOOKS
from tapegrad.utils.checkpoint import checkpoint

MODES = ("error-at-backward", "error-now", "copy-on-write")


def _line():
    """The caller's current line number."""
    return sys._getframe(1).f_lineno


def _site(line):
    return re.escape(f"test_mutation_guard.py:{line}")


def _leaf(values):
    return tg.tensor(values, dtype=tg.float64, requires_grad=True)


@pytest.fixture(autouse=True)
def _default_mode_after():
    yield
    set_mutation_guard("error-at-backward")
    assert STATE.saved_hooks is None


def _grads(*leaves):
    return [t.grad.numpy().copy() for t in leaves]


# ---- the mode itself ----------------------------------------------------------------------
def test_default_mode_adds_no_hooks_and_no_watchers():
    assert get_mutation_guard() == "error-at-backward"
    a = _leaf([1.0, 2.0]) * 1
    _ = a * a
    assert STATE.saved_hooks is None
    assert a._vc.watchers is None


def test_set_and_get_and_a_bad_mode():
    set_mutation_guard("error-now")
    assert get_mutation_guard() == "error-now" and STATE.saved_hooks is GUARD_HOOKS
    set_mutation_guard("copy-on-write")
    assert get_mutation_guard() == "copy-on-write"
    with pytest.raises(ValueError, match="'error-at-backward', 'error-now', 'copy-on-write'"):
        set_mutation_guard("copy")
    with pytest.raises(ValueError, match="mutation_guard: mode must be one of"):
        mutation_guard("error_now")
    assert get_mutation_guard() == "copy-on-write"      # a refused mode changes nothing


def test_context_manager_nests_and_restores_even_on_error():
    with mutation_guard("error-now"):
        with pytest.raises(KeyError):
            with mutation_guard("copy-on-write"):
                assert get_mutation_guard() == "copy-on-write"
                raise KeyError("boom")
        assert get_mutation_guard() == "error-now"
    assert get_mutation_guard() == "error-at-backward" and STATE.saved_hooks is None


def test_one_instance_entered_inside_itself_and_as_a_decorator():
    guard = mutation_guard("error-now")
    with guard:
        set_mutation_guard("copy-on-write")
        with guard:
            assert get_mutation_guard() == "error-now"
        assert get_mutation_guard() == "copy-on-write"
    assert get_mutation_guard() == "error-at-backward"

    @mutation_guard("copy-on-write")
    def inside():
        return get_mutation_guard()
    assert inside() == "copy-on-write" and get_mutation_guard() == "error-at-backward"


def test_the_mode_is_per_thread():
    seen = []
    set_mutation_guard("error-now")
    t = threading.Thread(target=lambda: seen.append((get_mutation_guard(), STATE.saved_hooks)))
    t.start()
    t.join()
    assert seen == [("error-at-backward", None)]
    assert get_mutation_guard() == "error-now"


# ---- error-at-backward: today's behaviour ---------------------------------------------------
def test_default_mode_raises_at_backward_naming_both_lines():
    x = _leaf([1.0, 2.0])
    a = x * 1
    y = (a * a).sum(); saved = _line()        # noqa: E702
    a.add_(1); changed = _line()               # noqa: E702
    with pytest.raises(RuntimeError, match=f"'mul'.*{_site(saved)}.*{_site(changed)}"):
        y.backward()


# ---- error-now ----------------------------------------------------------------------------
def _error_now(saved_op, saved_line, mutating_op, mutating_line):
    return pytest.raises(
        tg.GradError, match=f"{re.escape(mutating_op)} at .*{_site(mutating_line)} would "
                            f"overwrite .*'{saved_op}' \\(created at .*{_site(saved_line)}\\).*"
                            "nothing was written")


def test_error_now_in_place_op_on_a_saved_input():
    set_mutation_guard("error-now")
    x, w = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    a = x * 1
    y = (a * w).sum(); saved = _line()         # noqa: E702  mul saves a (for w's grad)
    with _error_now("mul", saved, "add_", _line() + 1):
        a.add_(10)
    np.testing.assert_array_equal(a.detach().numpy(), [1.0, 2.0])    # untouched
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0])


def test_error_now_in_place_op_on_a_saved_output():
    set_mutation_guard("error-now")
    x = _leaf([0.0, 1.0])
    e = x.exp(); saved = _line()               # noqa: E702  exp saves its output
    with _error_now("exp", saved, "mul_", _line() + 1):
        e.mul_(2)
    np.testing.assert_allclose(e.detach().numpy(), np.exp([0.0, 1.0]))
    with _error_now("exp", saved, "add_", _line() + 1):
        e += 1
    np.testing.assert_allclose(e.detach().numpy(), np.exp([0.0, 1.0]))


def test_error_now_names_both_values_a_node_saved_from_one_storage():
    set_mutation_guard("error-now")
    a = _leaf([1.0, 2.0]) * 1
    _ = a * a
    with pytest.raises(tg.GradError, match="the values 'x' and 'y' that 'mul'.*shape \\(2,\\), "
                                           "saved at version 0"):
        a.sub_(1)


def test_error_now_write_through_a_view_of_a_saved_tensor():
    set_mutation_guard("error-now")
    a = _leaf([1.0, 2.0, 3.0]) * 1
    y = a * a; saved = _line()                 # noqa: E702
    v = a[1:]
    with _error_now("mul", saved, "mul_", _line() + 1):
        v.mul_(5)
    np.testing.assert_array_equal(a.detach().numpy(), [1.0, 2.0, 3.0])
    d = a.detach()                             # a detached alias shares the counter too
    with _error_now("mul", saved, "zero_", _line() + 1):
        d.zero_()
    y.sum().backward()                         # nothing changed: no error at backward either


def test_error_now_saved_view_whose_base_is_written():
    set_mutation_guard("error-now")
    x, w = _leaf([1.0, 2.0, 3.0]), _leaf([1.0, 1.0])
    a = x * 1
    v = a[1:]
    y = (v * w).sum(); saved = _line()         # noqa: E702  mul saves the view v
    with _error_now("mul", saved, "add_", _line() + 1):
        a.add_(1)
    with _error_now("mul", saved, "setitem", _line() + 1):
        a[2] = 7.0
    np.testing.assert_array_equal(a.detach().numpy(), [1.0, 2.0, 3.0])
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 3.0])


def test_error_now_setitem_on_a_constant_and_on_a_tracked_tensor():
    set_mutation_guard("error-now")
    w = _leaf([1.0, 2.0])
    c = tg.tensor([3.0, 4.0], dtype=tg.float64)         # requires no grad: setitem's fast path
    y = (w * c).sum(); saved = _line()         # noqa: E702  mul saves c for w's gradient
    with _error_now("mul", saved, "setitem", _line() + 1):
        c[0] = 0.0
    a = w * 1
    z = (a * a).sum(); saved_a = _line()       # noqa: E702
    with _error_now("mul", saved_a, "setitem", _line() + 1):
        a[...] = 0.0                           # recorded: through apply_inplace
    np.testing.assert_array_equal(c.numpy(), [3.0, 4.0])
    (y + z).backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0 + 2.0, 4.0 + 4.0])


def _cube():
    from test_autograd_function import _functions     # the shared custom Functions
    return _functions(tg)[0]      # Cube: x**3, saving its input


def _exp_out():
    from test_autograd_function import Exp            # (as above)
    return Exp                    # exp, saving its own output


class _Double_(tg.autograd.Function):          # changes its input with a tapegrad op
    @staticmethod
    def forward(ctx, x):
        _Double_.line = _line(); x.mul_(2)     # noqa: E702
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return 2 * g


class _NumpyDouble_(tg.autograd.Function):     # changes its input behind tapegrad's back
    @staticmethod
    def forward(ctx, x):
        x.detach().numpy()[...] *= 2
        _NumpyDouble_.line = _line(); ctx.mark_dirty(x)   # noqa: E702
        return x

    @staticmethod
    def backward(ctx, g):
        return 2 * g


def test_error_now_custom_function_saved_input_then_in_place():
    set_mutation_guard("error-now")
    a = _leaf([1.0, 2.0]) * 1
    y = _cube().apply(a); saved = _line()      # noqa: E702
    with _error_now("Cube", saved, "add_", _line() + 1):
        a.add_(1)
    y.sum().backward()                         # a unchanged: the gradient is 3a^2


def test_error_now_custom_function_saved_output_then_in_place():
    set_mutation_guard("error-now")
    x = _leaf([0.0, 1.0])
    y = _exp_out().apply(x); saved = _line()   # noqa: E702
    with _error_now("Exp", saved, "mul_", _line() + 1):
        y.mul_(3)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.0, 1.0]))


def test_error_now_mark_dirty_forward_writing_with_a_tapegrad_op():
    set_mutation_guard("error-now")
    w = _leaf([0.0, 1.0])
    h = w.exp(); saved = _line()               # noqa: E702  exp saves h
    with pytest.raises(tg.GradError) as info:
        _Double_.apply(h)
    np.testing.assert_allclose(h.detach().numpy(), np.exp([0.0, 1.0]))
    assert re.search(f"mul_ at .*{_site(_Double_.line)} would overwrite .*'exp' \\(created at "
                     f".*{_site(saved)}", str(info.value))


def test_error_now_mark_dirty_after_a_numpy_write_raises_at_mark_dirty():
    set_mutation_guard("error-now")
    w = _leaf([0.0, 1.0])
    h = w.exp(); saved = _line()               # noqa: E702
    with pytest.raises(tg.GradError) as info:
        _NumpyDouble_.apply(h)
    assert re.search(f"ctx.mark_dirty at .*{_site(_NumpyDouble_.line)} declares an in-place "
                     f"change .*'exp' \\(created at .*{_site(saved)}.*through NumPy has "
                     "already happened", str(info.value))


def test_error_now_no_false_error_once_backward_freed_the_graph():
    set_mutation_guard("error-now")
    x = _leaf([1.0, 2.0])
    a = x * 1
    y = (a * a).sum()
    y.backward()
    a.add_(1)                                  # the saved values are gone: nothing to guard
    c = x * 1
    e = c.exp()
    e.sum().backward(retain_graph=True)        # kept: still guarded
    with pytest.raises(tg.GradError, match="'exp'"):
        e.mul_(2)
    np.testing.assert_array_equal(a.detach().numpy(), [2.0, 3.0])


def test_error_now_no_error_once_the_graph_died():
    set_mutation_guard("error-now")
    a = _leaf([1.0, 2.0]) * 1
    y = a * a
    del y
    gc.collect()
    a.add_(1)
    assert a._vc.watchers is None              # the dead watcher was dropped


def _tanh_times_x_grads(v):
    """d/dx and d2/dx2 of tanh(x) * x, by hand."""
    t = np.tanh(v)
    return (1 - t * t) * v + t, 2 * (1 - t * t) * (1 - t * v)


def test_error_now_with_create_graph():
    set_mutation_guard("error-now")
    x = _leaf([0.5, -1.0])
    a = x * 1
    t = a.tanh()                               # saves t
    y = t * a                                  # saves t and a
    (g,) = tg.autograd.grad(y.sum(), x, create_graph=True)   # its nodes save t and a too
    with pytest.raises(tg.GradError, match="'out' that 'tanh'.*\\(as did \\d+ other nodes\\)"):
        t.mul_(2)
    with pytest.raises(tg.GradError, match="would overwrite"):
        a.add_(1)
    (h,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), _tanh_times_x_grads(np.array([0.5, -1.0]))[1])


def test_error_now_writes_it_does_not_see_still_raise_at_backward():
    # An optimizer writes parameters directly (not through an in-place op): the guard can't
    # stop it, but backward's version check still does, as in the default mode.
    set_mutation_guard("error-now")
    w = _leaf([1.0, 2.0])
    y = (w * w).sum()
    opt = tg.optim.SGD([w], lr=0.1)
    w.grad = tg.ones(2, dtype=tg.float64)
    opt.step()
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_a_manual_update_under_no_grad_is_guarded():
    # The GAN pitfall: a parameter updated in place before a backward that still needs it.
    w = _leaf([1.0, 2.0])
    with mutation_guard("error-now"):
        y = (w * w).sum(); saved = _line()     # noqa: E702
        with tg.no_grad():
            with _error_now("mul", saved, "sub_", _line() + 1):
                w -= 0.5
    np.testing.assert_array_equal(w.detach().numpy(), [1.0, 2.0])
    with mutation_guard("copy-on-write"):
        y = (w * w).sum()
        with tg.no_grad():
            w -= 0.5
    y.backward()                               # the gradient at the w y was computed from
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0])


def test_the_mode_at_saving_time_decides():
    a = _leaf([1.0, 2.0]) * 1
    y = (a * a).sum()                          # saved in the default mode
    with mutation_guard("error-now"):
        a.add_(1)                              # not watched: no error now ...
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()                           # ... but at backward
    x = _leaf([1.0, 2.0])
    with mutation_guard("copy-on-write"):
        b = x * 1
        z = (b * b).sum()
    b.add_(1)                                  # after the context: still copied
    z.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


# ---- copy-on-write --------------------------------------------------------------------------
def _program(x, w, in_place):
    """Ops that save (mul: inputs; exp, tanh: outputs), then in-place changes to what they
    saved, then more ops reading the changed values. ``in_place=False``: the same program
    with the out-of-place forms, which leaves the saved values alone."""
    a = x * 2
    y = a * w                                  # saves a and w
    e = a.exp()                                # saves e
    t = (a * 0.5).tanh()                       # saves t
    if in_place:
        a.add_(1)
        e.mul_(3)
        t[0] = 2.0
    else:
        a = a + 1
        e = e * 3
        t = tg.cat([tg.full((1,), 2.0, dtype=tg.float64), t[1:]])
    return (y.sum() + (e * a).sum() + (t * t).sum() + (a * w).sum())


def test_copy_on_write_gradients_equal_the_out_of_place_program():
    vals_x, vals_w = [0.1, -0.4, 0.7], [1.5, -2.0, 0.3]
    x, w = _leaf(vals_x), _leaf(vals_w)
    ref = _program(x, w, in_place=False)
    ref.backward()
    expected = _grads(x, w)
    x, w = _leaf(vals_x), _leaf(vals_w)
    with pytest.raises(RuntimeError, match="modified in place"):
        _program(x, w, in_place=True).backward()            # the default mode refuses
    x, w = _leaf(vals_x), _leaf(vals_w)
    with mutation_guard("copy-on-write"):
        loss = _program(x, w, in_place=True)
    np.testing.assert_allclose(loss.item(), ref.item())
    loss.backward()
    for got, want in zip(_grads(x, w), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_copy_on_write_write_through_a_view_and_to_the_base_of_a_saved_view():
    def run(in_place):
        x, w = _leaf([1.0, 2.0, 3.0, 4.0]), _leaf([0.5, -1.0])
        a = x * 1
        y = (a * a).sum()                      # saves a
        v = a[2:]
        z = (v * w).sum()                      # saves the view v
        if in_place:
            a[:2].mul_(3)                      # a write through a view of a
            a.add_(1)                          # a write to the base of v
        else:
            a = tg.cat([a[:2] * 3, a[2:]]) + 1
        (y + z + (a * a).sum()).backward()
        return _grads(x, w)
    want = run(False)
    with mutation_guard("copy-on-write"):
        got = run(True)
    for g, r in zip(got, want):
        np.testing.assert_allclose(g, r, rtol=1e-12)


def test_copy_on_write_setitem_on_a_saved_constant():
    with mutation_guard("copy-on-write"):
        w = _leaf([1.0, 2.0])
        c = tg.tensor([3.0, 4.0], dtype=tg.float64)
        y = (w * c).sum()
        c[0] = 100.0                           # fast path: c requires no grad
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(c.numpy(), [100.0, 4.0])


def test_copy_on_write_custom_functions_saved_input_and_output():
    x = _leaf([0.3, -0.2])
    with mutation_guard("copy-on-write"):
        a = x * 1
        y = _cube().apply(a)                   # saves its input a
        e = _exp_out().apply(a)                # saves its output e
        a.add_(5)
        e.mul_(2)
    (y.sum() + e.sum()).backward()             # e.sum(): d/dx of 2 exp(x) is still exp(x) * 2
    want = 3 * np.array([0.3, -0.2]) ** 2 + 2 * np.exp([0.3, -0.2])
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)


def test_copy_on_write_mark_dirty_input_saved_by_an_earlier_op():
    w = _leaf([0.0, 1.0])
    with mutation_guard("copy-on-write"):
        h = w.exp()                            # saves h
        out = _Double_.apply(h)                # mul_ inside forward copies it first
    assert out is h
    h.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.exp([0.0, 1.0]), rtol=1e-12)


def test_copy_on_write_numpy_write_then_mark_dirty_is_left_to_backward():
    # Too late to copy what forward already overwrote: backward refuses, it is not wrong.
    w = _leaf([0.0, 1.0])
    with mutation_guard("copy-on-write"):
        h = w.exp()
        _NumpyDouble_.apply(h); changed = _line()   # noqa: E702
    with pytest.raises(RuntimeError, match=f"'exp'.*modified in place.*{_site(changed)}"):
        h.sum().backward()


def test_copy_on_write_with_create_graph():
    v = np.array([0.5, -1.0])
    x = _leaf(v)
    with mutation_guard("copy-on-write"):
        a = x * 1
        t = a.tanh()
        y = t * a
        (g,) = tg.autograd.grad(y.sum(), x, create_graph=True)
        t.mul_(2)                              # reaches the recorded backward's saved t too
        a.add_(1)
    (h,) = tg.autograd.grad(g.sum(), x)
    want_g, want_h = _tanh_times_x_grads(v)
    np.testing.assert_allclose(g.detach().numpy(), want_g, rtol=1e-12)
    np.testing.assert_allclose(h.numpy(), want_h, rtol=1e-12)


def test_copy_on_write_bytes_shown_by_inspect():
    x = _leaf(np.arange(6.0))                  # float64: 48 bytes per saved value
    with mutation_guard("copy-on-write"):
        a = x * 1
        y = (a * a).sum()                      # a saved twice: one copy
        e = a.exp()
        loss = y + e.sum()
        r0 = inspect(loss)
        a.add_(1)
        e.mul_(2)
    assert r0.copied_bytes == 0 and "copied on write" not in str(r0)
    r = inspect(loss)
    assert (r.copied_bytes, r.copied_arrays) == (96, 2)
    assert r.to_dict()["copied_bytes"] == 96 and r.to_dict()["copied_arrays"] == 2
    assert "copied on write: 96 B in 2 arrays" in str(r)
    assert r.saved_bytes == r0.saved_bytes     # the copies replace what was saved
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.arange(6.0) + np.exp(np.arange(6.0)))


def test_copy_on_write_watchers_do_not_pile_up_over_steps():
    w = _leaf([1.0, 2.0])
    with mutation_guard("copy-on-write"):
        for _ in range(200):
            (w * w).sum().backward()           # each step saves w anew, then frees it
    assert len(w._vc.watchers) <= 32


def test_pruning_while_a_node_saves_one_storage_many_times():
    # Pruning runs as watchers are added, before the saving node's entries are in place:
    # it must keep that node's own watchers (an op that saves x twice, a Function saving many).
    class _SaveMany(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(*([x] * 40))
            return x * 2

        @staticmethod
        def backward(ctx, g):
            assert len(ctx.saved_tensors) == 40
            return 2 * g
    for mode in ("error-now", "copy-on-write"):
        x = _leaf([1.0, 2.0])
        with mutation_guard(mode):
            a = x * 1
            ys = [a @ a for _ in range(20)]    # matmul saves a twice per node
            z = _SaveMany.apply(a)
        assert len(a._vc.watchers) == 80
        if mode == "error-now":
            with pytest.raises(tg.GradError, match="'matmul'.*\\(as did 20 other nodes\\)"):
                a.add_(1)
        else:
            a.add_(1)
        (sum(ys) + z.sum()).backward()
        np.testing.assert_array_equal(x.grad.numpy(), 20 * 2 * np.array([1.0, 2.0]) + 2)


# ---- with user saved_tensors_hooks ---------------------------------------------------------
def test_user_hooks_own_their_values_and_the_guard_comes_back_after():
    set_mutation_guard("error-now")
    x = _leaf([1.0, 2.0])
    a = x * 1
    with save_on_cpu():                        # packs copies: nothing for the guard to do
        y = (a * a).sum()
        assert STATE.saved_hooks is not GUARD_HOOKS
    a.add_(1)                                  # not watched: the hooks own the saved values
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    assert STATE.saved_hooks is GUARD_HOOKS
    b = x * 1
    _ = b * b
    with pytest.raises(tg.GradError, match="would overwrite"):
        b.add_(1)


def test_mode_changed_inside_user_hooks_applies_after_they_end():
    with saved_tensors_hooks(lambda t: t, lambda t: t):
        set_mutation_guard("copy-on-write")
    assert STATE.saved_hooks is GUARD_HOOKS
    with mutation_guard("error-now"):
        with saved_tensors_hooks(lambda t: t, lambda t: t):
            set_mutation_guard("error-at-backward")
        assert STATE.saved_hooks is None
    assert STATE.saved_hooks is GUARD_HOOKS   # error-now's exit restored copy-on-write


def test_disable_saved_tensors_hooks_and_checkpoint_under_a_guard():
    with mutation_guard("copy-on-write"):
        with tg.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
            pass                               # the guard's marker is not a user's hooks
        x = _leaf([0.5, 1.0])
        a = x * 1
        y = checkpoint(lambda t: (t.tanh() * t).sum(), a)
        y.backward()
    t = np.tanh([0.5, 1.0])
    np.testing.assert_allclose(x.grad.numpy(), t + (1 - t * t) * [0.5, 1.0], rtol=1e-12)
