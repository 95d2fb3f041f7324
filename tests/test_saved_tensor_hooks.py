"""Saved-tensor hooks (tapegrad.autograd.graph): Note [Saved-tensor hooks]."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad._core.state import STATE
from tapegrad.autograd.graph import (disable_saved_tensors_hooks, save_on_cpu,
                                     saved_tensors_hooks)


def _leaf(shape, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return tg.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)


class Counting:
    """Hooks that count their calls and keep what pack was given."""

    def __init__(self):
        self.packed, self.unpacked = [], 0

    def pack(self, t):
        self.packed.append(t)
        return ("box", t._data.copy())

    def unpack(self, box):
        self.unpacked += 1
        return tg.tensor(box[1])


def test_pack_and_unpack_once_per_saved_array():
    x, w = _leaf(5), _leaf(5, 1)
    hooks = Counting()
    with saved_tensors_hooks(hooks.pack, hooks.unpack):
        # sin saves x; mul saves both operands (both need grad); exp saves its output
        y = (x.sin() * w).exp().sum()
    assert len(hooks.packed) == 4 and hooks.unpacked == 0
    y.backward()
    assert hooks.unpacked == 4
    xv, wv = x.detach().numpy(), w.detach().numpy()
    e = np.exp(np.sin(xv) * wv)
    np.testing.assert_allclose(x.grad.numpy(), e * wv * np.cos(xv), rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), e * np.sin(xv), rtol=1e-12)


def test_gradients_equal_the_hookless_ones_exactly():
    x, w = _leaf((3, 4)), _leaf((4, 2), 1)

    def f():
        return (x @ w).tanh().pow(2).mean()
    gx, gw = tg.autograd.grad(f(), (x, w))
    with saved_tensors_hooks(lambda t: t, lambda t: t):
        hx, hw = tg.autograd.grad(f(), (x, w))
    assert np.array_equal(gx.numpy(), hx.numpy()) and np.array_equal(gw.numpy(), hw.numpy())


def test_unpacked_values_are_what_backward_uses():
    x = _leaf(4)
    with saved_tensors_hooks(lambda t: t._data.copy(), lambda a: tg.tensor(2 * a)):
        y = x.exp()              # exp saves its output: backward reads 2 * exp(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(x.detach().numpy()))


def test_float16_compression():
    x, w = _leaf((8, 16), dtype=np.float32), _leaf((16, 4), 1, dtype=np.float32)
    dtypes = []

    def pack(t):
        dtypes.append(t.dtype)
        return t.to(tg.float16)

    def unpack(t):
        assert t.dtype == tg.float16           # what pack returned comes back
        return t.to(tg.float32)

    ref = tg.autograd.grad((x @ w).sigmoid().sum(), (x, w))
    with saved_tensors_hooks(pack, unpack):
        loss = (x @ w).sigmoid().sum()
    got = tg.autograd.grad(loss, (x, w))
    assert dtypes and all(d == tg.float32 for d in dtypes)
    for r, g in zip(ref, got):
        assert g.dtype == tg.float32
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=2e-2, atol=2e-3)
        assert not np.array_equal(g.numpy(), r.numpy())     # the rounding did happen


def test_pack_gets_the_input_itself_and_a_historyless_output_with_grad_off():
    x = _leaf(3)
    a = x * 2
    seen = []

    def pack(t):
        seen.append((t, tg.is_grad_enabled(), t.requires_grad))
        return t * 1.0           # ops in a hook are not recorded (and save nothing)
    with saved_tensors_hooks(pack, lambda t: t):
        b = a.sin()
        c = b.exp()
    assert len(seen) == 2
    assert seen[0][0] is a and seen[0][1] is False
    assert seen[1][0] is not c and seen[1][0].grad_fn is None and seen[1][1] is False
    assert np.array_equal(seen[1][0].numpy(), c.detach().numpy())


def test_hooks_nest_innermost_wins_and_are_restored():
    x = _leaf(3)
    outer, inner = Counting(), Counting()
    with saved_tensors_hooks(outer.pack, outer.unpack):
        y = x.sin()
        with saved_tensors_hooks(inner.pack, inner.unpack):
            z = x.cos()
        u = x.exp()
    assert len(outer.packed) == 2 and len(inner.packed) == 1
    assert STATE.saved_hooks is None
    (y + z + u).sum().backward()
    assert outer.unpacked == 2 and inner.unpacked == 1


def test_one_instance_entered_inside_itself():
    outer, inner = Counting(), Counting()
    a, b = saved_tensors_hooks(outer.pack, outer.unpack), saved_tensors_hooks(inner.pack,
                                                                                inner.unpack)
    with a:
        with b:
            with a:
                pass
            assert STATE.saved_hooks == (inner.pack, inner.unpack)
        assert STATE.saved_hooks == (outer.pack, outer.unpack)
    assert STATE.saved_hooks is None


def test_hooks_are_restored_after_an_exception():
    with pytest.raises(KeyError):
        with saved_tensors_hooks(lambda t: t, lambda t: t):
            raise KeyError("x")
    assert STATE.saved_hooks is None


def test_the_hooks_of_save_time_unpack_whatever_is_active_at_backward():
    x = _leaf(3)
    first, second = Counting(), Counting()
    with saved_tensors_hooks(first.pack, first.unpack):
        y = x.sin().sum()
    with saved_tensors_hooks(second.pack, second.unpack):
        y.backward()
    assert first.unpacked == 1 and second.unpacked == 0 and not second.packed


def test_retain_graph_unpacks_again_and_freed_values_raise():
    x = _leaf(3)
    hooks = Counting()
    with saved_tensors_hooks(hooks.pack, hooks.unpack):
        y = x.exp().sum()
    y.backward(retain_graph=True)
    y.backward()
    assert len(hooks.packed) == 1 and hooks.unpacked == 2
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(x.detach().numpy()))
    with pytest.raises(RuntimeError, match="freed"):
        y.backward()


def test_second_order_through_hooks():
    x, w = _leaf(4), _leaf(4, 1)

    def f():
        return ((x * w).sin() * x).exp().sum()
    g = tg.autograd.grad(f(), (x, w), create_graph=True)
    ref = tg.autograd.grad(g[0].sum() + (g[1] * g[1]).sum(), (x, w))
    hooks = Counting()
    with saved_tensors_hooks(hooks.pack, hooks.unpack):
        y = f()
    g = tg.autograd.grad(y, (x, w), create_graph=True)
    got = tg.autograd.grad(g[0].sum() + (g[1] * g[1]).sum(), (x, w))
    for r, h in zip(ref, got):
        np.testing.assert_allclose(h.numpy(), r.numpy(), rtol=1e-12)
    assert hooks.unpacked >= len(hooks.packed)

    def hooked(a, b):
        with saved_tensors_hooks(lambda t: t._data.copy(), lambda a: tg.tensor(a)):
            return ((a * b).sin() * a).exp()
    assert tg.autograd.gradgradcheck(hooked, (x, w))


def test_constant_arrays_are_packed_and_scalars_are_not():
    x = _leaf(4)
    mask = np.array([1.0, 0.0, 2.0, 1.0])
    hooks = Counting()
    with saved_tensors_hooks(hooks.pack, hooks.unpack):
        y = (x * mask).sum()        # mul saves the constant array for x's gradient
        z = (x * 3.0).sum()         # and the scalar as it is
    assert len(hooks.packed) == 1 and hooks.packed[0].shape == (4,)
    (y + z).backward()
    np.testing.assert_allclose(x.grad.numpy(), mask + 3.0)


@pytest.mark.parametrize("bad, error, words", [
    (lambda t: tg.tensor(t).reshape(2, 2), ValueError, ["shape (2, 2)", "(4,)", "'exp'"]),
    (lambda t: tg.tensor(t).float(), TypeError, ["dtype float32", "float64", "'exp'"]),
    (lambda t: t, TypeError, ["ndarray", "'exp'", "must return a Tensor"]),
])
def test_unpack_must_return_a_tensor_like_the_saved_one(bad, error, words):
    x = _leaf(4)
    with saved_tensors_hooks(lambda t: t._data.copy(), bad):
        y = x.exp().sum()
    with pytest.raises(error) as info:
        y.backward()
    for w in words:
        assert w in str(info.value)


def test_hooks_must_be_callable():
    with pytest.raises(TypeError, match="callables"):
        saved_tensors_hooks(None, lambda t: t)


def test_save_on_cpu_copies():
    x = _leaf(3)
    h = x * 1.0
    with save_on_cpu(pin_memory=True):
        y = h.exp().sin().sum()
    with tg.no_grad():
        h.mul_(0.0)            # no version error: the saved values are copies
    y.backward()
    xv = x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(np.exp(xv)) * np.exp(xv), rtol=1e-12)


def test_disable_saved_tensors_hooks():
    with disable_saved_tensors_hooks("hooks are off here"):
        with pytest.raises(RuntimeError, match="hooks are off here"):
            with saved_tensors_hooks(lambda t: t, lambda t: t):
                pass
        assert STATE.saved_hooks is None
    with saved_tensors_hooks(lambda t: t, lambda t: t):
        with pytest.raises(RuntimeError, match="not while hooks"):
            with disable_saved_tensors_hooks("not while hooks"):
                pass
    assert STATE.saved_hooks_disabled is None and STATE.saved_hooks is None
    with saved_tensors_hooks(lambda t: t, lambda t: t):   # usable again afterwards
        pass


def test_against_torch_gradients_with_float16_hooks():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32)
    x = tg.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    with saved_tensors_hooks(lambda t: t.to(tg.float16), lambda t: t.to(tg.float32)):
        y = x.tanh().exp().sum()
    y.backward()
    with torch.autograd.graph.saved_tensors_hooks(lambda t: t.half(), lambda t: t.float()):
        ty = tx.tanh().exp().sum()
    ty.backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-3, atol=1e-3)


def test_forward_over_reverse_through_hooks():
    import tapegrad.autograd.forward_ad as fwad
    rng = np.random.default_rng(0)
    w = tg.tensor(rng.standard_normal((5, 5)))
    xv, vv = rng.standard_normal(5), rng.standard_normal(5)

    def hvp(hooked):
        x = tg.tensor(xv, requires_grad=True)
        with fwad.dual_level():
            xd = fwad.make_dual(x, tg.tensor(vv))
            if hooked:
                with saved_tensors_hooks(lambda t: t._data.copy(), lambda a: tg.tensor(a)):
                    y = ((w @ xd).tanh() ** 2).sum()
            else:
                y = ((w @ xd).tanh() ** 2).sum()
            (g,) = tg.autograd.grad(y, x, create_graph=True)
            return fwad.unpack_dual(g).tangent.detach().numpy()
    ref = hvp(False)
    assert np.abs(ref).max() > 0
    np.testing.assert_allclose(hvp(True), ref, rtol=1e-12)


# ---- every op of the op database ---------------------------------------------------------
def _op_db_rows():
    from opinfo import OP_DB
    return [op for op in OP_DB if op.differentiable]


def _grads_of(op, sample, wrap_call):
    """Gradients of <out, fixed cotangent> for every float input of ``sample``'s first float64
    call, with the call made through ``wrap_call(fn, *args)``."""
    args = tuple(tg.tensor(a, requires_grad=a.dtype.kind == "f") if isinstance(a, np.ndarray)
                 else a for a in sample.args)
    leaves = [a for a in args if isinstance(a, tg.Tensor) and a.requires_grad]
    out = wrap_call(lambda *a: op.fn(*a, **sample.kwargs), *args)
    outs = [o for o in (out if isinstance(out, tuple) else (out,))
            if isinstance(o, tg.Tensor) and o.requires_grad]
    if not leaves or not outs:
        return None
    rng = np.random.default_rng(7)
    loss = sum((o * tg.tensor(rng.standard_normal(tuple(o.shape)))).sum() for o in outs)
    return [None if g is None else g.numpy()
            for g in tg.autograd.grad(loss, leaves, allow_unused=True)]


@pytest.mark.parametrize("op", _op_db_rows(), ids=str)
def test_every_op_saves_through_the_hooks(op):
    sample = op.sample_inputs(np.float64)[0]
    ref = _grads_of(op, sample, lambda f, *a: f(*a))
    if ref is None:
        pytest.skip("no differentiable output for this sample")
    hooks = Counting()

    def hooked(f, *a):
        with saved_tensors_hooks(hooks.pack, hooks.unpack):
            return f(*a)
    got = _grads_of(op, sample, hooked)
    # (a node whose gradient no input needs is never run, so may leave a value unpacked)
    assert hooks.unpacked <= len(hooks.packed)
    for r, g in zip(ref, got):
        assert (r is None) == (g is None)
        if r is not None:
            np.testing.assert_array_equal(g, r)


# ---- custom Functions: ctx.save_for_backward honours the hooks ------------------------------
class _ScaledExp(tg.autograd.Function):
    """exp(x) * w, saving an input, another input and its output."""

    @staticmethod
    def forward(ctx, x, w):
        out = x.exp() * w
        ctx.save_for_backward(x, w, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, w, out = ctx.saved_tensors
        return g * out, g * x.exp()


def test_save_for_backward_packs_once_and_unpacks_on_each_read():
    x, w = _leaf(4), _leaf(4, 1)
    hooks = Counting()
    with saved_tensors_hooks(hooks.pack, hooks.unpack):
        y = _ScaledExp.apply(x, w)
    assert len(hooks.packed) == 3 and hooks.packed[0] is x and hooks.packed[1] is w
    y.sum().backward()
    assert hooks.unpacked == 3
    xv, wv = x.detach().numpy(), w.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(xv) * wv, rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), np.exp(xv), rtol=1e-12)


def test_save_for_backward_through_hooks_at_second_order():
    x, w = _leaf(3), _leaf(3, 1)

    def hooked(a, b):
        with saved_tensors_hooks(lambda t: t._data.copy(), lambda a: tg.tensor(a)):
            return _ScaledExp.apply(a * a, b)
    assert tg.autograd.gradcheck(hooked, (x, w))
    assert tg.autograd.gradgradcheck(hooked, (x, w))


def test_save_for_backward_unpack_checked_naming_the_function():
    x, w = _leaf(4), _leaf(4, 1)
    with saved_tensors_hooks(lambda t: t._data.copy(), lambda a: tg.tensor(a[:2])):
        y = _ScaledExp.apply(x, w)
    with pytest.raises(ValueError) as info:
        y.sum().backward()
    assert "_ScaledExp" in str(info.value) and "saved_tensors[0]" in str(info.value)
