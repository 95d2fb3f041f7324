"""Gradient checkpointing (tapegrad.utils.checkpoint, Note [Checkpointing]) and the RNG state
API it restores."""
import gc
import warnings
import weakref

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad._core.state import STATE
from tapegrad.utils.checkpoint import CheckpointError, checkpoint, checkpoint_sequential


def _params(n=4, width=6, seed=0):
    rng = np.random.default_rng(seed)
    return [tg.tensor(rng.standard_normal((width, width)) / width ** 0.5, requires_grad=True)
            for _ in range(n)]


def _input(batch=5, width=6, seed=1, requires_grad=True):
    x = np.random.default_rng(seed).standard_normal((batch, width))
    return tg.tensor(x, requires_grad=requires_grad)


def _block(h, w1, w2, p=0.0, scale=1.0):
    """Two layers, with dropout between them when p > 0."""
    h = F.linear(h, w1).tanh()
    if p:
        h = F.dropout(h, p)
    return F.linear(h, w2).sin() * scale


def _grads(loss_fn, tensors):
    for t in tensors:
        t.grad = None
    loss_fn().backward()
    return [None if t.grad is None else t.grad.numpy().copy() for t in tensors]


def _assert_same(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert (u is None) == (v is None)
        if u is not None:
            assert np.array_equal(u, v)


@pytest.mark.parametrize("reentrant", [False, True])
def test_gradients_equal_the_plain_run_exactly_with_dropout(reentrant):
    w = _params()
    x = _input()

    def loss(ck):
        tg.manual_seed(3)
        if ck:
            h = checkpoint(_block, x, w[0], w[1], 0.4, use_reentrant=reentrant)
            h = checkpoint(_block, h, w[2], w[3], 0.4, use_reentrant=reentrant)
        else:
            h = _block(_block(x, w[0], w[1], 0.4), w[2], w[3], 0.4)
        return (h * h).sum()
    _assert_same(_grads(lambda: loss(False), w + [x]), _grads(lambda: loss(True), w + [x]))


def test_keyword_and_non_tensor_arguments():
    w = _params(2)
    x = _input()

    def plain():
        return _block(x, w[0], w[1], scale=2.5).sum()

    def ck():
        return checkpoint(_block, x, w[0], w[1], 0.0, scale=2.5).sum()
    _assert_same(_grads(plain, w + [x]), _grads(ck, w + [x]))


@pytest.mark.parametrize("reentrant", [False, True])
def test_inputs_that_do_not_require_grad(reentrant):
    w = _params(2)
    x = _input(requires_grad=False)

    def block(h):                       # the weights reach the function by closure
        return _block(h, w[0], w[1])

    def ck():
        if reentrant:
            with pytest.warns(UserWarning, match="None of the inputs have requires_grad"):
                return checkpoint(block, x, use_reentrant=True)
        return checkpoint(block, x)
    plain = _grads(lambda: block(x).sum(), w)
    if reentrant:
        out = ck()                      # PyTorch: the output does not require grad
        assert not out.requires_grad
    else:
        _assert_same(plain, _grads(lambda: ck().sum(), w))


def test_nested_checkpoints():
    w = _params()
    x = _input()

    def inner(h):
        return _block(h, w[2], w[3], 0.3)

    def outer(h):
        h = _block(h, w[0], w[1], 0.3)
        return checkpoint(inner, h).exp()

    def loss(ck):
        tg.manual_seed(5)
        h = checkpoint(outer, x) if ck else inner(_block(x, w[0], w[1], 0.3)).exp()
        return h.pow(2).sum()
    _assert_same(_grads(lambda: loss(False), w + [x]), _grads(lambda: loss(True), w + [x]))


def test_second_order_exactly_and_gradgradcheck():
    w = _params(2, width=3)
    x = _input(batch=2, width=3)

    def f(h):
        return _block(h, w[0], w[1]).exp()

    def second(ck):
        y = (checkpoint(f, x) if ck else f(x)).sum()
        g = tg.autograd.grad(y, [x] + w, create_graph=True)
        s = sum((gi * gi).sum() for gi in g)
        return [t.numpy() for t in tg.autograd.grad(s, [x] + w)]
    _assert_same(second(False), second(True))

    def nested(a, b, c):
        return checkpoint(lambda h: checkpoint(_block, h, b, c).tanh() * h, a)
    assert tg.autograd.gradcheck(nested, (x, w[0], w[1]))
    assert tg.autograd.gradgradcheck(nested, (x, w[0], w[1]))


def test_forward_keeps_only_the_inputs():
    w = _params(2)
    x = _input()
    refs = []

    def block(h):
        a = F.linear(h, w[0]).tanh()
        refs.append(weakref.ref(a._data))
        return F.linear(a, w[1]).tanh()
    plain = block(x)
    gc.collect()
    assert refs[-1]() is not None            # the plain graph keeps the activation
    out = checkpoint(block, x)
    gc.collect()
    assert refs[-1]() is None                # the checkpointed one does not
    out.sum().backward()
    del plain


def test_recomputes_once_per_backward():
    w = _params(2)
    x = _input()
    calls = []

    def block(h):
        calls.append(1)
        return _block(h, w[0], w[1])
    y = checkpoint(block, x).sum()
    assert len(calls) == 1
    y.backward(retain_graph=True)
    assert len(calls) == 2
    first = x.grad.numpy().copy()
    y.backward()
    assert len(calls) == 3
    np.testing.assert_array_equal(x.grad.numpy(), 2 * first)


def test_early_stop_skips_what_follows_the_last_saved_value():
    x = _input()
    tail = []

    def block(h, record):
        y = h.exp()
        record.append(1)         # after the last op that saves something
        return y

    for early, expected in ((True, 1), (False, 2)):
        tail.clear()
        checkpoint(block, x, tail, early_stop=early).sum().backward()
        assert len(tail) == expected


def test_dropout_masks_repeat_and_the_random_stream_is_left_alone():
    x = _input()

    def drop(h):
        return F.dropout(h, 0.5).exp()
    tg.manual_seed(0)
    y = checkpoint(drop, x).sum()
    after_forward = tg.get_rng_state()
    y.backward()
    assert np.array_equal(tg.get_rng_state().numpy(), after_forward.numpy())
    tg.manual_seed(0)
    expected = _grads(lambda: drop(x).sum(), [x])
    np.testing.assert_array_equal(x.grad.numpy(), expected[0])


def test_without_preserve_rng_state_the_masks_differ():
    x = _input(batch=20)
    tg.manual_seed(0)
    plain = _grads(lambda: F.dropout(x, 0.5).exp().sum(), [x])[0]
    tg.manual_seed(0)
    ck = _grads(lambda: checkpoint(lambda h: F.dropout(h, 0.5).exp(), x,
                                   preserve_rng_state=False).sum(), [x])[0]
    assert not np.array_equal(plain, ck)


def test_determinism_check_names_the_op_and_both_shapes():
    x = _input(batch=4, width=3)
    calls = []

    def changing(h):
        calls.append(1)
        return h[: 5 - len(calls)].sin()       # (4, 3) the first time, (3, 3) the next
    y = checkpoint(changing, x).sum()
    with pytest.raises(CheckpointError) as info:
        y.backward()
    msg = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "(4, 3)" in msg and "(3, 3)" in msg and "'sin'" in msg and "changing" in msg

    calls.clear()
    y = checkpoint(changing, x, determinism_check="none").sum()
    with pytest.raises(ValueError) as info:      # the hooks' own shape check still applies
        y.backward()
    assert not isinstance(info.value, CheckpointError)


def test_determinism_check_counts_and_debug_lists_the_ops():
    x = _input()
    calls = []

    def fewer(h):
        calls.append(1)
        h = h.exp()
        return h.sin() if len(calls) == 1 else h * 1.0
    y = checkpoint(fewer, x, debug=True).sum()
    with pytest.raises(CheckpointError, match="saved 1 values") as info:
        y.backward()
    assert "forward: exp, sin" in str(info.value)


def test_an_argument_changed_in_place_after_the_forward_raises():
    x = _input() * 1.0
    y = checkpoint(lambda h: h.exp(), x).sum()
    with tg.no_grad():
        x.add_(1.0)
    with pytest.raises(RuntimeError, match=r"argument 0 of .* was modified in place"):
        y.backward()


def test_argument_errors():
    x = _input()
    with pytest.raises(ValueError, match="determinism_check should be one of"):
        checkpoint(tg.sin, x, determinism_check="strict")
    with pytest.raises(ValueError, match="unexpected keyword arguments: scale"):
        checkpoint(_block, x, x, x, use_reentrant=True, scale=2.0)
    with pytest.raises(ValueError, match="context_fn or debug"):
        checkpoint(tg.sin, x, use_reentrant=True, debug=True)


def test_context_fn_wraps_forward_and_recomputation():
    x = _input()
    log = []

    class Ctx:
        def __init__(self, name):
            self.name = name

        def __enter__(self):
            log.append(self.name)

        def __exit__(self, *exc):
            return False
    y = checkpoint(tg.sin, x, context_fn=lambda: (Ctx("forward"), Ctx("recompute"))).sum()
    y.backward()
    assert log == ["forward", "recompute"]


def test_under_no_grad_the_function_just_runs():
    x = _input()
    with tg.no_grad():
        y = checkpoint(tg.exp, x)
    assert not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), np.exp(x.detach().numpy()))


def test_reentrant_restrictions_and_several_outputs():
    w = _params(1)
    x = _input()

    def two(h, k):
        return (F.linear(h, w[0]).tanh() * k, h.exp(), "label")
    a, b, label = checkpoint(two, x, 2.0, use_reentrant=True)
    assert label == "label"
    (a.sum() + b.pow(2).sum()).backward()
    got = [x.grad.numpy().copy(), w[0].grad.numpy().copy()]
    a, b, _ = two(x, 2.0)
    _assert_same(got, _grads(lambda: a.sum() + b.pow(2).sum(), [x, w[0]]))

    a, b, _ = checkpoint(two, x, 2.0, use_reentrant=True)     # one output used
    _assert_same(_grads(lambda: b.sum(), [x]), _grads(lambda: two(x, 2.0)[1].sum(), [x]))

    y = checkpoint(two, x, 2.0, use_reentrant=True)[0].sum()
    with pytest.raises(RuntimeError, match="incompatible with .grad()"):
        tg.autograd.grad(y, x, retain_graph=True)
    with pytest.raises(RuntimeError, match="incompatible with .grad()"):
        y.backward(inputs=[x])


def test_checkpoint_sequential_matches_the_plain_run():
    tg.manual_seed(0)
    net = tg.nn.Sequential(*[m for _ in range(6) for m in (tg.nn.Linear(5, 5), tg.nn.Tanh(),
                                                            tg.nn.Dropout(0.2))])
    x = _input(width=5)
    params = list(net.parameters()) + [x]

    def run(fn):
        tg.manual_seed(9)
        return fn().sum()
    plain = _grads(lambda: run(lambda: net(x)), params)
    for segments in (1, 3, 4, 18):
        got = _grads(lambda: run(lambda: checkpoint_sequential(net, segments, x)), params)
        _assert_same(plain, got)
    layers = list(net.children())
    _assert_same(plain, _grads(lambda: run(lambda: checkpoint_sequential(
        layers, 6, x, use_reentrant=True, preserve_rng_state=True)), params))


def test_checkpoint_sequential_errors():
    net = tg.nn.Sequential(tg.nn.Tanh(), tg.nn.Tanh())
    x = _input()
    for bad in (0, 3, 1.5):
        with pytest.raises(ValueError, match="segments must be an int from 1 to"):
            checkpoint_sequential(net, bad, x)
    with pytest.raises(ValueError, match="unexpected keyword arguments: foo"):
        checkpoint_sequential(net, 1, x, foo=1)


def test_state_is_clean_after_checkpointing():
    x = _input()
    checkpoint(tg.exp, x).sum().backward()
    assert STATE.saved_hooks is None and STATE.grad_enabled and not STATE.partial_backward


# ---- the random state API ------------------------------------------------------------------
def test_rng_state_round_trip():
    tg.manual_seed(11)
    s = tg.get_rng_state()
    assert s.dtype == tg.uint8 and s.ndim == 1
    a, b = tg.rand(4), tg.randn(3)
    tg.manual_seed(12)
    tg.set_rng_state(s)
    assert tg.initial_seed() == 11
    assert bool((tg.rand(4) == a).all()) and bool((tg.randn(3) == b).all())


def test_generator_state_and_errors():
    g = tg.Generator().manual_seed(1)
    tg.rand(3, generator=g)
    s = g.get_state()
    x = tg.rand(5, generator=g)
    other = tg.Generator()
    assert other.set_state(s) is other
    assert bool((tg.rand(5, generator=other) == x).all())
    s[0] = s[0]          # a state is a plain tensor
    with pytest.raises(TypeError, match="uint8 tensor"):
        g.set_state(s.float())
    with pytest.raises(TypeError, match="uint8 tensor"):
        tg.set_rng_state([1, 2, 3])
    with pytest.raises(ValueError, match="expected an RNG state of shape"):
        g.set_state(tg.zeros(3, dtype=tg.uint8))


def test_reentrant_warning_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.checkpoint import checkpoint as torch_checkpoint
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch_checkpoint(torch.sin, torch.ones(2), use_reentrant=True)
        checkpoint(tg.sin, tg.ones(2), use_reentrant=True)
    messages = [str(m.message) for m in caught]
    assert len(messages) == 2 and messages[0] == messages[1]


def test_forward_over_reverse_through_a_checkpoint():
    import tapegrad.autograd.forward_ad as fwad
    w = _params(2, width=4)
    xv = np.random.default_rng(2).standard_normal((3, 4))
    vv = np.random.default_rng(3).standard_normal((3, 4))

    def f(h):
        return _block(h, w[0], w[1]).pow(2).sum()

    def hvp(ck):
        x = tg.tensor(xv, requires_grad=True)
        with fwad.dual_level():
            xd = fwad.make_dual(x, tg.tensor(vv))
            y = checkpoint(f, xd) if ck else f(xd)
            (g,) = tg.autograd.grad(y, x, create_graph=True)
            return fwad.unpack_dual(g).tangent.detach().numpy()
    np.testing.assert_array_equal(hvp(True), hvp(False))


def _op_db_rows():
    from opinfo import OP_DB
    return [op for op in OP_DB if op.differentiable]


@pytest.mark.parametrize("op", _op_db_rows(), ids=str)
def test_every_op_checkpointed_gives_the_same_gradients(op):
    from test_saved_tensor_hooks import _grads_of
    sample = op.sample_inputs(np.float64)[0]
    tg.manual_seed(0)
    ref = _grads_of(op, sample, lambda f, *a: f(*a))
    if ref is None:
        pytest.skip("no differentiable output for this sample")
    tg.manual_seed(0)
    got = _grads_of(op, sample, checkpoint)
    for r, g in zip(ref, got):
        assert (r is None) == (g is None)
        if r is not None:
            np.testing.assert_array_equal(g, r)


class _Square(tg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * g * x


def test_custom_functions_inside_a_checkpoint():
    w = _params(2)
    x = _input()
    refs = []

    def block(h):
        a = F.linear(h, w[0]).tanh()
        refs.append(weakref.ref(a._data))
        return F.linear(_Square.apply(a), w[1]).sin()

    def loss(ck):
        return (checkpoint(block, x) if ck else block(x)).pow(2).sum()
    plain = _grads(lambda: loss(False), w + [x])
    y = loss(True)
    gc.collect()
    assert refs[-1]() is None          # what the Function saved is not kept either
    for t in w + [x]:
        t.grad = None
    y.backward()
    _assert_same(plain, [t.grad.numpy().copy() for t in w + [x]])
    assert tg.autograd.gradgradcheck(lambda a: checkpoint(block, a), (x,))
