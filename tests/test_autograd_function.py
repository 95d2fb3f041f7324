"""Custom autograd Functions (tapegrad.autograd.Function): forward/backward and setup_context
styles, saved tensors and their version checks, needs_input_grad, mark_dirty,
mark_non_differentiable, set_materialize_grads, non-tensor arguments and outputs, several
outputs, once_differentiable, double backward, the checks on what backward returns,
gradcheck/gradgradcheck, forward mode (jvp) and parity with PyTorch.

Expected values are computed by hand, never read back from the engine.
"""
import sys
import warnings

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.autograd import Function, FunctionCtx, gradcheck, gradgradcheck
from tapegrad.autograd.function import once_differentiable


def _line():
    """The caller's current line number (for checking reported sites)."""
    return sys._getframe(1).f_lineno


def _site(line):
    return f"test_autograd_function.py:{line}"


def _leaf(values, dtype=tg.float64):
    return tg.tensor(values, dtype=dtype, requires_grad=True)


def _functions(lib):
    """Cube, SinCos, RowBias and DoubleInPlace as custom Functions of ``lib`` (tapegrad, or
    torch for the parity tests): one source for both libraries."""
    class Cube(lib.autograd.Function):
        """x**3, saving its input: backward 3 x^2 g, written with the library's ops."""
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * g

    class SinCos(lib.autograd.Function):
        """Two outputs, sin x and cos x."""
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return lib.sin(x), lib.cos(x)

        @staticmethod
        def backward(ctx, gs, gc):
            (x,) = ctx.saved_tensors
            return gs * lib.cos(x) - gc * lib.sin(x)

    class RowBias(lib.autograd.Function):      # gradient summed down by broadcasting
        @staticmethod
        def forward(x, b):
            return x + b

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def backward(ctx, g):
            return g, g

    class DoubleInPlace(lib.autograd.Function):
        """2 x, written into x (mark_dirty)."""
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return 2 * g
    return Cube, SinCos, RowBias, DoubleInPlace


Cube, SinCos, RowBias, DoubleInPlace = _functions(tg)


class Exp(Function):
    """exp, saving its output."""
    @staticmethod
    def forward(ctx, x):
        y = tg.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class ScaledMul(Function):
    """x * y * k in the setup_context style, with a non-tensor k that has a default."""
    @staticmethod
    def forward(x, y, k=2.0):
        return x * y * k

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, y, k = inputs
        ctx.save_for_backward(x, y)
        ctx.k = k

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * y * ctx.k, g * x * ctx.k, None


# ---- the basics ---------------------------------------------------------------------------------
def test_forward_backward_and_grad_fn_name():
    x = _leaf([1.0, 2.0])
    y = Cube.apply(x)
    assert y.grad_fn.name() == "CubeBackward" and type(y.grad_fn).__name__ == "CubeBackward"
    assert y.requires_grad and not y.is_leaf
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])
    assert isinstance(Cube.apply(x).grad_fn.next_functions[0][0], type(x.grad_fn or
                                                                         x._accumulator()))


def test_forward_runs_without_recording_and_backward_records_only_under_create_graph():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            seen["forward"] = tg.is_grad_enabled()
            y = x * 2
            seen["forward_result_requires_grad"] = y.requires_grad
            return y

        @staticmethod
        def backward(ctx, g):
            seen.setdefault("backward", []).append((tg.is_grad_enabled(), type(g).__name__))
            return g * 2

    x = _leaf([1.0])
    Probe.apply(x).sum().backward()
    tg.autograd.grad(Probe.apply(x).sum(), x, create_graph=True)
    assert seen == {"forward": False, "forward_result_requires_grad": False,
                    "backward": [(False, "Tensor"), (True, "Tensor")]}
    assert tg.is_grad_enabled()


def test_no_input_requires_grad_gives_plain_outputs():
    x = tg.tensor([1.0, 2.0])
    y = Cube.apply(x)
    assert not y.requires_grad and y.grad_fn is None
    with tg.no_grad():
        z = Cube.apply(_leaf([1.0]))
    assert not z.requires_grad and z.grad_fn is None


def test_setup_context_style_binds_keywords_and_defaults():
    seen = []

    class Probe(ScaledMul):
        @staticmethod
        def setup_context(ctx, inputs, output):
            seen.append((len(inputs), inputs[2], type(ctx) is FunctionCtx))
            ScaledMul.setup_context(ctx, inputs, output)

    x, y = _leaf([1.0, 2.0]), tg.tensor([3.0, 4.0], dtype=tg.float64)
    out = Probe.apply(x, y)
    out.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), [6.0, 16.0])
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 8.0])
    x.grad = None
    Probe.apply(x, y=y, k=3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [9.0, 12.0])
    assert seen == [(3, 2.0, True), (3, 3.0, True)]
    assert Probe.apply(x, y, 4.0).grad_fn.k == 4.0     # grad_fn reads through to the ctx


def test_ctx_attributes_do_not_clash_with_the_nodes_fields():
    class Reshape(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.shape, ctx.dtype, ctx.parents, ctx.saved = x.shape, x.dtype, "p", "s"
            return x.reshape(-1)

        @staticmethod
        def backward(ctx, g):
            return g.reshape(ctx.shape)

    x = _leaf([[1.0, 2.0], [3.0, 4.0]])
    y = Reshape.apply(x)
    (y * tg.tensor([1.0, 2.0, 3.0, 4.0], dtype=tg.float64)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1.0, 2.0], [3.0, 4.0]])
    node = Reshape.apply(x).grad_fn
    assert node.shape == (4,) and node._ctx.shape == (2, 2)     # the node keeps its own
    assert node.parents != "p" and node.saved == ()


def test_needs_input_grad():
    seen = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, x, y, k):
            seen.append(ctx.needs_input_grad)
            return x * y * k

        @staticmethod
        def backward(ctx, g):
            seen.append(ctx.needs_input_grad)
            return g, None, None

    out = Probe.apply(_leaf([1.0]), tg.tensor([2.0], dtype=tg.float64), 3.0)
    out.backward()
    with tg.no_grad():
        Probe.apply(_leaf([1.0]), _leaf([1.0]), 3.0)
    assert seen == [(True, False, False), (True, False, False), (True, True, False)]
    assert out.grad_fn.needs_input_grad == (True, False, False)


# ---- saved tensors ------------------------------------------------------------------------------
def test_saved_input_modified_in_place_raises_naming_both_lines():
    x = _leaf([1.0, 2.0])
    h = x * 1
    line_apply = _line() + 1
    y = Cube.apply(h)
    line_change = _line() + 1
    h.add_(1)
    with pytest.raises(tg.GradError, match="modified in place") as info:
        y.sum().backward()
    msg = str(info.value)
    assert "'Cube'" in msg and "saved_tensors[0]" in msg
    assert _site(line_apply) in msg and _site(line_change) in msg
    assert "version 0" in msg and "version 1" in msg


def test_saved_output_modified_in_place_raises():
    y = Exp.apply(_leaf([0.0, 1.0]))
    line_change = _line() + 1
    y.mul_(2)
    with pytest.raises(tg.GradError, match="modified in place") as info:
        y.sum().backward()
    assert _site(line_change) in str(info.value)


def test_saved_tensors_access_checks_versions_too():
    x = _leaf([1.0])
    h = x * 1
    y = Cube.apply(h)
    assert y.grad_fn.saved_tensors[0] is h
    h.mul_(3)
    with pytest.raises(tg.GradError, match="modified in place"):
        y.grad_fn.saved_tensors


def test_saved_tensors_are_freed_by_backward_unless_retained():
    x = _leaf([1.0, 2.0])
    y = Cube.apply(x)
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 24.0])
    with pytest.raises(tg.GradError, match="freed.*retain_graph=True"):
        y.grad_fn.saved_tensors
    with pytest.raises(tg.GradError, match="'Cube'.*freed"):
        y.sum().backward()


def test_a_function_that_saves_nothing_can_backward_twice():
    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = _leaf([1.0])
    y = Double.apply(x)
    y.backward()
    y.backward()
    assert x.grad.item() == 4.0


def test_save_for_backward_keeps_none_and_intermediates_and_refuses_other_values():
    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            t = x * 2
            ctx.save_for_backward(t, None)
            return t + 1

        @staticmethod
        def backward(ctx, g):
            t, nothing = ctx.saved_tensors
            assert nothing is None and not t.requires_grad
            return g * t

    x = _leaf([1.0, 3.0])
    Probe.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 6.0])

    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x

    with pytest.raises(TypeError, match="save_for_backward.*argument 1 is of type int"):
        Bad.apply(x)


def test_saved_output_keeps_its_history_for_double_backward():
    x = _leaf([0.5, -1.0])
    y = Exp.apply(x)
    saved = y.grad_fn.saved_tensors[0]
    assert saved.grad_fn is y.grad_fn and saved is not y
    (g,) = tg.autograd.grad(y.sum(), x, create_graph=True)
    (gg,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), np.exp([0.5, -1.0]))


@pytest.mark.parametrize("make", [
    lambda x: Exp.apply(x),
    lambda x: ExpJvp.apply(x),                      # save_for_forward of the output
    lambda x: DoubleInPlace.apply(x * 1),           # mark_dirty
    lambda x: SortLike.apply(x)[0],                 # mark_non_differentiable
    lambda x: SinCos.apply(x)[1],                   # several outputs
], ids=["saved_output", "save_for_forward", "mark_dirty", "non_differentiable", "two_outputs"])
def test_no_reference_cycle_keeps_the_graph_alive(make):
    import gc
    import weakref
    gc.collect()
    gc.disable()
    try:
        y = make(_leaf([1.0]))
        ref = weakref.ref(y.grad_fn)
        del y
        assert ref() is None          # freed by reference counting alone
    finally:
        gc.enable()


# ---- mark_non_differentiable, materialize_grads, non-tensor arguments and outputs -----------
class SortLike(Function):
    """(values * 2, an index tensor marked non-differentiable, a Python int, an int tensor)."""
    @staticmethod
    def forward(ctx, x):
        idx = x * 0 + 1
        ctx.mark_non_differentiable(idx)
        ctx.received = None
        return x * 2, idx, 5, tg.tensor([1, 2])

    @staticmethod
    def backward(ctx, g, gidx, gint, glong):
        ctx.received = (g, gidx, gint, glong)
        return g * 2


def test_mark_non_differentiable_and_materialized_zeros():
    x = _leaf([1.0, 2.0])
    y, idx, k, ints = SortLike.apply(x)
    assert y.requires_grad and not idx.requires_grad and idx.grad_fn is None
    assert k == 5 and not ints.requires_grad
    ctx = y.grad_fn._ctx
    y.sum().backward()
    g, gidx, gint, glong = ctx.received
    np.testing.assert_array_equal(gidx.numpy(), [0.0, 0.0])
    assert gint is None and glong.dtype == tg.int64 and glong.tolist() == [0, 0]
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])
    with pytest.raises(tg.GradError, match="does not require grad"):
        idx.sum().backward()


def test_set_materialize_grads_false_passes_none():
    seen = []

    class TwoOut(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, a, b):
            seen.append((a is None, b is None))
            return (a if a is not None else 0) + (b * 0 if b is not None else 0)

    x = _leaf([1.0])
    a, b = TwoOut.apply(x)
    a.sum().backward()
    assert seen == [(False, True)]


def test_non_tensor_arguments_must_get_none():
    class Scale(Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.k = k
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, g

    with pytest.raises(tg.GradError, match=r"Scale\.backward.*input 1, which is not a tensor"):
        Scale.apply(_leaf([1.0]), 2.0).sum().backward()


def test_non_tensor_outputs_pass_through_and_get_none():
    class WithInfo(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 3, {"note": "info"}

        @staticmethod
        def backward(ctx, g, ginfo):
            assert ginfo is None
            return g * 3

    x = _leaf([1.0])
    y, info = WithInfo.apply(x)
    assert info == {"note": "info"}
    y.backward()
    assert x.grad.item() == 3.0


def test_an_input_returned_unchanged_comes_back_as_a_new_view():
    class Identity(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5

    x = _leaf([1.0, 2.0])
    y = Identity.apply(x)
    assert y is not x and y.grad_fn is not None and x.grad_fn is None
    assert np.shares_memory(y._data, x._data)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])
    z = Identity.apply(tg.tensor([1.0]))
    assert not z.requires_grad
    # a view of the input: once the input changes in place, the view's history follows it
    w = _leaf([1.0, 2.0])
    h = w * 1
    y = Identity.apply(h)
    h.mul_(3)
    np.testing.assert_allclose(y.detach().numpy(), [3.0, 6.0])
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [3.0, 3.0])


# ---- mark_dirty ---------------------------------------------------------------------------------
def test_mark_dirty_rebases_history_and_bumps_version():
    w = _leaf([1.0, 2.0])
    h = w * 3
    before = h._version
    r = DoubleInPlace.apply(h)
    assert r is h and h.grad_fn.name() == "DoubleInPlaceBackward"
    assert h._version == before + 2            # the in-place op, then mark_dirty (as PyTorch)
    np.testing.assert_allclose(h.detach().numpy(), [6.0, 12.0])
    (h * h).sum().backward()                   # d/dw (6w)^2 = 72 w
    np.testing.assert_allclose(w.grad.numpy(), [72.0, 144.0])


def test_mark_dirty_on_a_leaf_that_requires_grad_raises():
    w = _leaf([1.0])
    with pytest.raises(tg.GradError, match="DoubleInPlace.*leaf tensor that requires grad"):
        DoubleInPlace.apply(w)
    with tg.no_grad():
        r = DoubleInPlace.apply(w)     # allowed: nothing records (a detached alias comes back)
    assert r is not w and not r.requires_grad and w.item() == 4.0


def test_mark_dirty_on_a_view_rebases_the_base():
    w = _leaf([1.0, 1.0])
    base = w * 1
    view = base[:1]
    DoubleInPlace.apply(view)
    base.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 1.0])


def test_mark_dirty_tensor_must_be_returned():
    class Forgets(Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x * 1

    with pytest.raises(tg.GradError, match="Forgets.*mark_dirty but not returned"):
        Forgets.apply(_leaf([1.0]) * 1)


def test_mark_dirty_of_a_tensor_that_is_not_an_input_warns():
    class MarksOwn(Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            ctx.mark_dirty(y)
            return y

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = _leaf([1.0])
    with pytest.warns(UserWarning, match="MarksOwn: ctx.mark_dirty was given a tensor that "
                                         "is not an input"):
        y = MarksOwn.apply(x)
    y.backward()
    assert x.grad.item() == 2.0


def test_mark_dirty_and_marks_only_accept_tensors():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(3)
            return x

    with pytest.raises(TypeError, match="mark_dirty only accepts tensors"):
        Bad.apply(_leaf([1.0]))


def test_mark_dirty_saved_output_is_checked_against_later_changes():
    class AddOneSave(Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            ctx.save_for_backward(x)
            return x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x / x

    h = _leaf([1.0]) * 1
    AddOneSave.apply(h).sum().backward(retain_graph=True)        # fine: saved after the bump
    h.add_(1)
    with pytest.raises(tg.GradError, match="modified in place"):
        h.sum().backward()


# ---- several outputs ----------------------------------------------------------------------------
def test_several_outputs_each_get_their_gradient_in_one_backward_call():
    calls = []

    class Probe(SinCos):
        @staticmethod
        def backward(ctx, gs, gc):
            calls.append((gs.tolist(), gc.tolist()))
            return SinCos.backward(ctx, gs, gc)

    x = _leaf([0.3, 1.2])
    s, c = Probe.apply(x)
    assert s.grad_fn.name() == c.grad_fn.name() == "ProbeBackward"
    (2 * s + 3 * c).sum().backward()
    assert calls == [([2.0, 2.0], [3.0, 3.0])]
    xv = np.array([0.3, 1.2])
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(xv) - 3 * np.sin(xv))


def test_several_outputs_one_unused_gets_zeros_and_shared_use_sums():
    x = _leaf([0.3, 1.2])
    s, c = SinCos.apply(x)
    (s * s).sum().backward()
    xv = np.array([0.3, 1.2])
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.sin(xv) * np.cos(xv))
    x.grad = None
    s, c = SinCos.apply(x)
    (s + c + s).sum().backward()        # s reaches the node twice: its gradients add up
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(xv) - np.sin(xv))


def test_several_outputs_hooks_retain_grad_and_grad_of_an_output():
    x = _leaf([0.5])
    s, c = SinCos.apply(x)
    seen = []
    c.register_hook(lambda g: seen.append(g.item()) or g * 10)
    s.retain_grad()
    (4 * s + c).sum().backward()
    assert seen == [1.0] and s.grad.item() == 4.0
    assert x.grad.item() == pytest.approx(4 * np.cos(0.5) - 10 * np.sin(0.5))
    s, c = SinCos.apply(x)
    (gs,) = tg.autograd.grad((s * c).sum(), s)
    assert gs.item() == pytest.approx(np.cos(0.5))


def test_several_outputs_under_anomaly_detection():
    x = _leaf([0.5])
    with tg.autograd.detect_anomaly():
        s, c = SinCos.apply(x)
        (s + c).sum().backward()
    assert x.grad.item() == pytest.approx(np.cos(0.5) - np.sin(0.5))


def test_several_outputs_double_backward():
    x = _leaf([0.3, 1.2])
    assert gradcheck(lambda t: SinCos.apply(t), (x,))
    assert gradgradcheck(lambda t: SinCos.apply(t), (x,))


def test_several_outputs_saved_and_used_by_a_differentiable_backward():
    class SinCosSavingOutputs(Function):
        @staticmethod
        def forward(ctx, x):
            s, c = tg.sin(x), tg.cos(x)
            ctx.save_for_backward(s, c)
            return s, c

        @staticmethod
        def backward(ctx, gs, gc):
            s, c = ctx.saved_tensors
            return gs * c - gc * s

    x = _leaf([0.3, 1.2])
    assert gradgradcheck(lambda t: SinCosSavingOutputs.apply(t), (x,))
    s, c = SinCosSavingOutputs.apply(x)
    (g,) = tg.autograd.grad(s.sum(), x, create_graph=True)      # cos x, through saved c
    (gg,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), -np.sin([0.3, 1.2]))


# ---- double backward, gradcheck -----------------------------------------------------------------
def test_a_long_chain_of_functions_runs_and_frees_without_recursion():
    class Half(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 0.5

        @staticmethod
        def backward(ctx, g):
            return g * 0.5

    x = _leaf(1.0)
    y = x
    for i in range(10_000):
        y = Half.apply(y) * 2.0 if i % 2 else Half.apply(y)
    y.backward()
    assert x.grad.item() == pytest.approx(0.5 ** 5000)
    del y                          # tearing the chain down must not recurse either


def test_double_backward_through_a_function():
    x = _leaf([1.0, -2.0])
    (g,) = tg.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [3.0, 12.0])
    (gg,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), [6.0, -12.0])


@pytest.mark.parametrize("fn", [
    lambda x, y: Cube.apply(x),
    lambda x, y: Exp.apply(x) * y,
    lambda x, y: ScaledMul.apply(x, y, 1.5),
    lambda x, y: SinCos.apply(x * y)[1],
], ids=["cube", "exp", "setup_context", "two_outputs"])
def test_gradcheck_and_gradgradcheck(fn):
    x = _leaf([[0.3, -0.7], [1.1, 0.2]])
    y = _leaf([[1.5, 0.4], [-0.6, 2.0]])
    assert gradcheck(fn, (x, y))
    assert gradgradcheck(fn, (x, y))


def test_gradgradcheck_with_grad_outputs_that_require_grad():
    x = _leaf([0.4, 0.9])
    assert gradgradcheck(lambda t: SinCos.apply(t)[0] * Exp.apply(t), (x,))


# ---- once_differentiable ------------------------------------------------------------------------
class OnceSquare(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        ctx.grad_mode = tg.is_grad_enabled()
        return 2 * x * g


def test_once_differentiable_first_order_and_no_recording():
    x = _leaf([3.0])
    y = OnceSquare.apply(x)
    ctx = y.grad_fn._ctx
    (g,) = tg.autograd.grad(y.sum(), x, create_graph=True)
    assert g.item() == 6.0 and ctx.grad_mode is False
    OnceSquare.apply(x).sum().backward()
    assert x.grad.item() == 6.0


def test_once_differentiable_second_order_raises_naming_the_function():
    x = _leaf([3.0])
    (g,) = tg.autograd.grad(OnceSquare.apply(x).sum(), x, create_graph=True)
    with pytest.raises(tg.GradError, match="OnceSquare.*once_differentiable"):
        tg.autograd.grad(g.sum(), x)
    (g,) = tg.autograd.grad(OnceSquare.apply(x).sum(), x, create_graph=True)
    with pytest.raises(tg.GradError, match="OnceSquare.*once_differentiable"):
        g.sum().backward()
    with pytest.raises(tg.autograd.GradcheckError.__mro__[1]):       # RuntimeError
        gradgradcheck(lambda t: OnceSquare.apply(t), (_leaf([1.0]),))


# ---- what backward returns ----------------------------------------------------------------------
def _returning(value_fn, n_inputs=1):
    """A Function of n_inputs tensors whose backward returns value_fn(g)."""
    class Returns(Function):
        @staticmethod
        def forward(ctx, *xs):
            return xs[0] * 2

        @staticmethod
        def backward(ctx, g):
            return value_fn(g)
    return Returns


def test_wrong_number_of_gradients():
    x = _leaf([1.0, 2.0, 3.0])
    with pytest.raises(tg.GradError, match=r"Returns\.backward returned 2 gradients, but "
                                           r"forward took 1 inputs"):
        _returning(lambda g: (g, g)).apply(x).sum().backward()
    with pytest.raises(tg.GradError, match="returned 1 gradients, but forward took 2"):
        _returning(lambda g: g).apply(x, x).sum().backward()
    _returning(lambda g: (g, None, None)).apply(x).sum().backward()     # trailing Nones: fine
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0, 1.0])


def test_wrong_shape_names_the_function_the_index_and_both_shapes():
    x = _leaf([1.0, 2.0, 3.0])
    y = tg.tensor([1.0], dtype=tg.float64)
    with pytest.raises(tg.ShapeError, match=r"Returns\.backward returned a gradient of shape "
                                            r"\(2,\) for input 1, which has shape \(3,\)"):
        _returning(lambda g: (None, tg.ones(2, dtype=tg.float64))).apply(y, x).sum().backward()
    with pytest.raises(tg.ShapeError, match=r"shape \(1,\) for input 0, which has shape \(3,\)"):
        _returning(lambda g: tg.ones(1, dtype=tg.float64)).apply(x).sum().backward()


def test_gradient_the_input_broadcasts_to_is_summed_down():
    x = _leaf([1.0, 2.0, 3.0])
    _returning(lambda g: tg.ones(4, 3, dtype=tg.float64)).apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 4.0, 4.0])


def test_gradient_dtype_is_cast_except_complex_for_real():
    x = _leaf([1.0, 2.0])
    _returning(lambda g: g.float()).apply(x).sum().backward()
    assert x.grad.dtype == tg.float64
    x.grad = None
    _returning(lambda g: tg.tensor([1, 1])).apply(x).sum().backward()   # integer: cast
    assert x.grad.dtype == tg.float64 and x.grad.tolist() == [1.0, 1.0]
    # (tapegrad has no public complex dtype yet; PyTorch's one dtype error is complex for real)
    from tapegrad._core.tensor import wrap
    complex_grad = wrap(np.array([1 + 1j, 1 + 0j]))
    with pytest.raises(tg.DTypeError, match=r"Returns\.backward.*dtype complex128 for input "
                                            r"0, which has dtype float64"):
        _returning(lambda g: complex_grad).apply(x).sum().backward()


def test_gradient_that_is_not_a_tensor():
    x = _leaf([1.0])
    with pytest.raises(tg.GradError, match="returned a float as the gradient of input 0"):
        _returning(lambda g: 3.0).apply(x).sum().backward()
    with pytest.raises(tg.GradError, match="returned a ndarray as the gradient"):
        _returning(lambda g: np.ones(1)).apply(x).sum().backward()


def test_gradient_for_an_input_that_does_not_require_grad_is_ignored():
    x, c = _leaf([1.0]), tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64)
    _returning(lambda g: (g, tg.ones(7))).apply(x, c).sum().backward()   # as PyTorch: unchecked
    assert x.grad.item() == 1.0


def test_returned_gradient_is_not_written_into_later():
    # backward hands back a tensor the Function holds (a constant gradient); accumulating a
    # second gradient into x.grad must not change it
    const = tg.tensor([1.0, 1.0], dtype=tg.float64)

    class Const(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return const

    x = _leaf([1.0, 2.0])
    (Const.apply(x) + x).sum().backward()
    (Const.apply(x)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(const.numpy(), [1.0, 1.0])


def test_backward_cannot_write_into_the_engines_gradient():
    class Writes(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            g.mul_(2)
            return g

    x = _leaf([1.0])
    with pytest.raises(tg.ShapeError, match="read-only"):
        Writes.apply(x).sum().backward()


# ---- definitions --------------------------------------------------------------------------------
def test_missing_forward_and_backward():
    class NoForward(Function):
        pass

    class NoBackward(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    with pytest.raises(NotImplementedError, match="NoForward.*must implement forward"):
        NoForward.apply(_leaf([1.0]))
    y = NoBackward.apply(_leaf([1.0]))
    with pytest.raises(NotImplementedError, match="NoBackward.*does not implement backward"):
        y.backward()


def test_vjp_is_an_alias_of_backward_but_not_both():
    class ViaVjp(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def vjp(ctx, g):
            return g * 5

    class Both(ViaVjp):
        @staticmethod
        def backward(ctx, g):
            return g

    x = _leaf([1.0])
    ViaVjp.apply(x).backward()
    assert x.grad.item() == 5.0
    with pytest.raises(tg.GradError, match="Both: implements both backward and vjp"):
        Both.apply(x).backward()


def test_instantiating_warns_and_calling_an_instance_raises():
    with pytest.warns(DeprecationWarning, match="Cube should not be instantiated"):
        f = Cube()
    with pytest.raises(tg.GradError, match="Cube.apply"):
        f(_leaf([1.0]))


def test_vmap_and_generate_vmap_rule_are_accepted_and_reserved():
    class WithVmap(Cube):
        generate_vmap_rule = True

        @staticmethod
        def vmap(info, in_dims, x):
            raise AssertionError("not called yet")

    x = _leaf([2.0])
    WithVmap.apply(x).backward()
    assert x.grad.item() == 12.0
    with pytest.raises(NotImplementedError, match="reserved"):
        Function.vmap(None, (0,))


def test_exports():
    import tapegrad.autograd.function as mod
    assert tg.autograd.Function is mod.Function and tg.autograd.FunctionCtx is mod.FunctionCtx
    assert callable(mod.once_differentiable)


# ---- saved-tensor hooks: another helper's part --------------------------------------------------
def test_saved_tensors_hooks_see_what_save_for_backward_saves():
    """saved_tensors_hooks (tapegrad.autograd.graph) is built by another helper; once it is
    there, packing covers save_for_backward as well (FunctionCtx: see the NOTE in _save)."""
    graph = pytest.importorskip("tapegrad.autograd.graph")
    packed, unpacked = [], []

    def pack(t):
        packed.append(tuple(t.shape))
        return t

    def unpack(p):
        unpacked.append(tuple(p.shape))
        return p

    x = _leaf([1.0, 2.0])
    with graph.saved_tensors_hooks(pack, unpack):
        y = Cube.apply(x)
    assert packed == [(2,)]
    y.sum().backward()
    assert unpacked == [(2,)]
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])


# ---- parity with PyTorch ------------------------------------------------------------------------
def test_torch_parity_of_gradients():
    torch = pytest.importorskip("torch")
    TCube, TSinCos, TRowBias, TDouble = _functions(torch)
    rng = np.random.default_rng(0)
    xv, bv = rng.standard_normal((3, 4)), rng.standard_normal(4)

    def run(lib, cube, sincos, rowbias, double, leaf):
        x, b = leaf(xv), leaf(bv)
        s, c = sincos.apply(x)
        h = x * 1
        double.apply(h)
        loss = (cube.apply(x) * s + c * rowbias.apply(x, b) + h * h).sum()
        (gx, gb) = lib.autograd.grad(loss, (x, b), create_graph=True)
        (ggx,) = lib.autograd.grad((gx * gx).sum() + gb.sum(), x)
        return [t.detach().numpy() for t in (gx, gb, ggx)]

    ours = run(tg, Cube, SinCos, RowBias, DoubleInPlace,
               lambda v: tg.tensor(v, dtype=tg.float64, requires_grad=True))
    theirs = run(torch, TCube, TSinCos, TRowBias, TDouble,
                 lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_torch_parity_of_materialized_gradients_and_needs_input_grad():
    torch = pytest.importorskip("torch")

    def probe(base):
        seen = []

        class P(base):
            @staticmethod
            def forward(ctx, x, y, k):
                seen.append(tuple(ctx.needs_input_grad))
                return x * k, y * k

            @staticmethod
            def backward(ctx, a, b):
                seen.append((a.tolist(), b.tolist()))
                return a, None, None
        return P, seen

    P, ours = probe(Function)
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    P.apply(x, tg.tensor([1.0, 1.0]), 2)[0].sum().backward()
    TP, theirs = probe(torch.autograd.Function)
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    TP.apply(x, torch.tensor([1.0, 1.0]), 2)[0].sum().backward()
    assert ours == theirs


def test_warning_free_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = _leaf([1.0])
        Cube.apply(x).backward()


# ---- forward mode (jvp) -------------------------------------------------------------------------
import tapegrad.autograd.forward_ad as fwAD  # noqa: E402


class CubeJvp(Cube):
    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * t


class ExpJvp(Function):
    """exp in the setup_context style, saving its output for both modes."""
    @staticmethod
    def forward(x):
        return tg.exp(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output)
        ctx.save_for_forward(output)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved_tensors[0]

    @staticmethod
    def jvp(ctx, t):
        return t * ctx.saved_tensors[0]


class ScaledMulJvp(ScaledMul):
    seen = []

    @staticmethod
    def jvp(ctx, tx, ty, tk):
        ScaledMulJvp.seen.append((tx, ty, tk))
        x, y = ctx.saved_tensors          # no save_for_forward: those of save_for_backward
        return (tx * y + x * ty) * ctx.k


def test_jvp_in_forward_mode():
    x, y = tg.tensor([1.0, 2.0]), tg.tensor([3.0, 4.0])
    with fwAD.dual_level():
        xd = fwAD.make_dual(x, tg.tensor([1.0, 0.5]))
        out = ScaledMulJvp.apply(xd, y)
        np.testing.assert_allclose(fwAD.unpack_dual(out).tangent.numpy(), [6.0, 4.0])
        tx, ty, tk = ScaledMulJvp.seen.pop()
        assert tk is None and ty.tolist() == [0.0, 0.0]        # zeros for a plain tensor
        assert fwAD.unpack_dual(xd).tangent.tolist() == [1.0, 0.5]     # the input kept its own
        c = CubeJvp.apply(xd)
        np.testing.assert_allclose(fwAD.unpack_dual(c).tangent.numpy(), [3.0, 6.0])
    assert fwAD.unpack_dual(out).tangent is None     # plain again outside the level


def test_jvp_sees_zeros_or_none_and_forward_sees_no_tangents():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, x, y):
            seen["forward_tangent"] = fwAD.unpack_dual(x).tangent
            ctx.set_materialize_grads(False)
            return x * y

        @staticmethod
        def jvp(ctx, tx, ty):
            seen["tangents"] = (tx is None, ty is None)
            return tx * 2

    with fwAD.dual_level():
        xd = fwAD.make_dual(tg.tensor([1.0]), tg.tensor([1.0]))
        out = Probe.apply(xd, tg.tensor([3.0]))
        assert fwAD.unpack_dual(out).tangent.item() == 2.0
    assert seen == {"forward_tangent": None, "tangents": (False, True)}


def test_jvp_missing_raises_naming_the_function():
    with fwAD.dual_level():
        xd = fwAD.make_dual(tg.tensor([1.0]), tg.tensor([1.0]))
        with pytest.raises(NotImplementedError, match=r"Cube does not implement jvp.*staticmethod "
                                                      r"jvp\(ctx, \*tangents\)"):
            Cube.apply(xd)
        Cube.apply(fwAD.unpack_dual(xd).primal)    # a plain input: no jvp needed


@pytest.mark.parametrize("ret, error, match", [
    (lambda t: (t, t), tg.GradError, r"Bad\.jvp returned 2 tangents, but forward returned 1"),
    (lambda t: t[:1], tg.ShapeError, r"tangent of shape \(1,\) for output 0, which has shape "
                                     r"\(2,\)"),
    (lambda t: 3.0, tg.GradError, "returned a float as the tangent of output 0"),
    (lambda t: tg.tensor([1, 1]), tg.DTypeError, "tangents must be floating point"),
])
def test_jvp_results_are_checked(ret, error, match):
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def jvp(ctx, t):
            return ret(t)

    with fwAD.dual_level():
        xd = fwAD.make_dual(tg.tensor([1.0, 2.0]), tg.ones(2))
        with pytest.raises(error, match=match):
            Bad.apply(xd)


def test_jvp_tangent_for_a_non_differentiable_output_raises_and_none_is_fine():
    class TwoOut(Function):
        @staticmethod
        def forward(ctx, x):
            idx = x * 0
            ctx.mark_non_differentiable(idx)
            return x * 2, idx

        @staticmethod
        def jvp(ctx, t):
            return t * 2, ctx.extra

    with fwAD.dual_level():
        xd = fwAD.make_dual(tg.tensor([1.0]), tg.ones(1))
        TwoOut.extra = None
        with pytest.raises(AttributeError):
            TwoOut.apply(xd)                     # (ctx.extra is not set: a plain error)

    class TwoOutBad(TwoOut):
        @staticmethod
        def jvp(ctx, t):
            return t * 2, t

    class TwoOutGood(TwoOut):
        @staticmethod
        def jvp(ctx, t):
            return t * 2, None

    with fwAD.dual_level():
        xd = fwAD.make_dual(tg.tensor([1.0]), tg.ones(1))
        with pytest.raises(tg.GradError, match="output 1, which is not a differentiable"):
            TwoOutBad.apply(xd)
        a, b = TwoOutGood.apply(xd)
        assert fwAD.unpack_dual(a).tangent.item() == 2.0 and fwAD.unpack_dual(b).tangent is None


def test_jvp_agrees_with_backward_and_finite_differences():
    rng = np.random.default_rng(1)
    xv, v, u = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(5)
    with fwAD.dual_level():
        jv = fwAD.unpack_dual(ExpJvp.apply(fwAD.make_dual(tg.tensor(xv), tg.tensor(v)))).tangent
    x = tg.tensor(xv, requires_grad=True)
    (uj,) = tg.autograd.grad(ExpJvp.apply(x), x, tg.tensor(u))
    assert float(u @ jv.numpy()) == pytest.approx(float(uj.numpy() @ v), rel=1e-12)
    eps = 1e-6
    fd = (np.exp(xv + eps * v) - np.exp(xv - eps * v)) / (2 * eps)
    np.testing.assert_allclose(jv.numpy(), fd, rtol=1e-6)


@pytest.mark.parametrize("fn, second", [
    (CubeJvp, lambda x: 6 * x), (ExpJvp, np.exp)], ids=["cube", "exp_saved_output"])
def test_jvp_of_jvp_gives_second_derivatives(fn, second):
    xv = np.array([0.5, -1.5])
    with fwAD.dual_level():
        outer = fwAD.make_dual(tg.tensor(xv), tg.ones(2, dtype=tg.float64))
        with fwAD.dual_level():
            inner = fwAD.make_dual(outer, tg.ones(2, dtype=tg.float64))
            t_inner = fwAD.unpack_dual(fn.apply(inner)).tangent
        d2 = fwAD.unpack_dual(t_inner).tangent
    np.testing.assert_allclose(d2.numpy(), second(xv), rtol=1e-12)


def test_forward_over_reverse_through_a_function():
    # the tangent of the gradient 3x^2 along t is 6 x t: a Hessian-vector product
    xv, tv = np.array([1.0, -2.0]), np.array([0.5, 1.0])
    x = tg.tensor(xv, requires_grad=True)
    with fwAD.dual_level():
        xd = fwAD.make_dual(x, tg.tensor(tv))
        (g,) = tg.autograd.grad(CubeJvp.apply(xd).sum(), xd, create_graph=True)
        hv = fwAD.unpack_dual(g).tangent
    np.testing.assert_allclose(hv.detach().numpy(), 6 * xv * tv)
    with fwAD.dual_level():                         # a saved output carries its tangent too
        xd = fwAD.make_dual(x, tg.tensor(tv))
        (g,) = tg.autograd.grad(ExpJvp.apply(xd).sum(), xd, create_graph=True)
        hv = fwAD.unpack_dual(g).tangent
    np.testing.assert_allclose(hv.detach().numpy(), np.exp(xv) * tv)


def test_reverse_over_forward_through_a_function():
    # backward through the tangent 3 x^2 t: d/dx = 6 x t, d/dt = 3 x^2
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    t = tg.tensor([0.5, 1.0], dtype=tg.float64, requires_grad=True)
    with fwAD.dual_level():
        tangent = fwAD.unpack_dual(CubeJvp.apply(fwAD.make_dual(x, t))).tangent
        tangent.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])
    np.testing.assert_allclose(t.grad.numpy(), [3.0, 12.0])


def test_next_functions_has_one_entry_per_tensor_argument():
    class MulK(Function):
        @staticmethod
        def forward(ctx, x, k, y, nothing):
            return x * y * k

        @staticmethod
        def backward(ctx, g):
            return g, None, g, None
    x = _leaf([1.0, 2.0])
    fns = MulK.apply(x, 2.0, tg.ones(2, dtype=tg.float64), None).grad_fn.next_functions
    assert len(fns) == 2 and fns[1] == (None, 0)
    assert fns[0][0] is MulK.apply(x, 2.0, x * 2, None).grad_fn.next_functions[0][0]
    (mul_fn, _), = [f for f in MulK.apply(x, 2.0, x * 2, None).grad_fn.next_functions[1:]]
    assert mul_fn.name() == "MulBackward0"


def test_jvp_gets_none_for_an_integer_input_even_with_materialized_zeros():
    import tapegrad.autograd.forward_ad as fwAD
    seen = []

    class Take(Function):
        @staticmethod
        def forward(ctx, x, y, index):
            return x * y

        @staticmethod
        def jvp(ctx, tx, ty, t_index):
            seen.append((tx.tolist(), ty.tolist(), t_index))   # PyTorch: None for integers
            return tx * 2

    with fwAD.dual_level():
        x = fwAD.make_dual(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 1.0]))
        out = Take.apply(x, tg.tensor([3.0, 4.0]), tg.tensor([1, 0]))
        assert fwAD.unpack_dual(out).tangent.tolist() == [2.0, 2.0]
    assert seen == [([1.0, 1.0], [0.0, 0.0], None)]
