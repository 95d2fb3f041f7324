"""The leak sentinel (tapegrad/autograd/leaks.py): one GraphLeakWarning, naming the line that
made the kept graphs, when a loop keeps its graphs alive; silence on the corrected loops."""
import gc
import sys
import warnings

import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad._core.state import STATE
from tapegrad.autograd import GraphLeakWarning, is_leak_sentinel_enabled, set_leak_sentinel

STEPS = 20        # well past the sentinel's 8 graphs


@pytest.fixture(autouse=True)
def armed():
    """Each test starts with a fresh, armed sentinel; the thread's setting comes back after."""
    before = STATE.leaks
    set_leak_sentinel(True)
    yield
    STATE.leaks = before


@pytest.fixture
def model():
    tg.manual_seed(0)
    net = tg.nn.Sequential(tg.nn.Linear(6, 16), tg.nn.ReLU(), tg.nn.Linear(16, 3))
    return net, tg.optim.SGD(net.parameters(), lr=0.01), tg.randn(32, 6), tg.randint(0, 3, (32,))


def _line():
    return sys._getframe(1).f_lineno


@pytest.fixture
def silent():
    """Any warning (the sentinel's included) inside the block is an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _only_leak_warnings(record):
    return [w for w in record if issubclass(w.category, GraphLeakWarning)]


# ---- the pitfalls ------------------------------------------------------------------------
def test_losses_append_loss_warns_once_naming_the_loss_line(model):
    net, opt, x, y = model
    losses = []
    with pytest.warns(GraphLeakWarning) as record:
        for _ in range(STEPS):
            opt.zero_grad()
            loss = F.cross_entropy(net(x), y); line = _line()  # noqa: E702 (one line: one site)
            loss.backward(); backward_line = _line()  # noqa: E702
            opt.step()
            losses.append(loss)
    leaks = _only_leak_warnings(record)
    assert len(leaks) == 1                                   # once, not once per step
    msg = str(leaks[0].message)
    assert f"{__file__}:{line}" in msg                       # the line that made the loss
    assert (leaks[0].filename, leaks[0].lineno) == (__file__, backward_line)   # shown at
    assert "8 graphs from earlier backward() calls" in msg
    assert "losses.append(loss.item())" in msg and "float(loss)" in msg
    assert "set_leak_sentinel(False)" in msg


def test_total_plus_equals_loss_warns_once(model):
    net, opt, x, y = model
    total = 0
    with pytest.warns(GraphLeakWarning, match="running total") as record:
        for _ in range(STEPS):
            opt.zero_grad()
            loss = F.cross_entropy(net(x), y); line = _line()  # noqa: E702
            loss.backward()
            opt.step()
            total += loss
    leaks = _only_leak_warnings(record)
    assert len(leaks) == 1 and f"{__file__}:{line}" in str(leaks[0].message)
    assert total.grad_fn is not None      # (the pitfall: total is a tensor with a graph)


def test_autograd_backward_is_watched_too(model):
    net, _, x, y = model
    losses = []
    with pytest.warns(GraphLeakWarning):
        for _ in range(STEPS):
            loss = F.cross_entropy(net(x), y)
            tg.autograd.backward([loss])
            losses.append(loss)


def test_retain_graph_loop_keeping_losses_reports_saved_bytes(model):
    net, opt, x, y = model
    losses = []
    with pytest.warns(GraphLeakWarning) as record:
        for _ in range(STEPS):
            loss = F.cross_entropy(net(x), y)
            loss.backward(retain_graph=True)
            losses.append(loss)
    msg = str(_only_leak_warnings(record)[0].message)
    assert " 0 B of saved values" not in msg              # retained: the activations stay


def test_eval_with_grad_on_summed_between_steps_warns(model):
    """Graphs never backwarded: no old root to see; a parameter's users grow (signal B)."""
    net, opt, x, y = model
    val_total = 0
    with pytest.warns(GraphLeakWarning, match="never differentiates") as record:
        for _ in range(STEPS):
            opt.zero_grad()
            F.cross_entropy(net(x), y).backward()
            opt.step()
            val_total += F.cross_entropy(net(x * 2), y); line = _line()  # noqa: E702
    leaks = _only_leak_warnings(record)
    assert len(leaks) == 1 and f"{__file__}:{line}" in str(leaks[0].message)
    assert "no_grad()" in str(leaks[0].message)


def test_warns_without_the_cyclic_gc(model):
    """Nodes die by reference counting: nothing here waits for gc."""
    net, opt, x, y = model
    gc.collect()
    gc.disable()
    try:
        with pytest.warns(GraphLeakWarning):
            losses = []
            for _ in range(STEPS):
                loss = F.cross_entropy(net(x), y)
                loss.backward()
                losses.append(loss)
        del losses                          # (dies now, by refcount: the cases stay apart)
        set_leak_sentinel(True)
        with pytest.warns(GraphLeakWarning, match="never differentiates"):
            val_total = 0
            for _ in range(STEPS):
                F.cross_entropy(net(x), y).backward()
                val_total += F.cross_entropy(net(x * 2), y)
        del val_total
        set_leak_sentinel(True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            val_total = 0.0
            for _ in range(STEPS):
                F.cross_entropy(net(x), y).backward()
                val_total += float(F.cross_entropy(net(x * 2), y))
    finally:
        gc.enable()


# ---- the corrected loops, and loops that keep nothing ----------------------------------
@pytest.mark.parametrize("keep", ["item", "float", "detach", "last"])
def test_corrected_loops_are_silent(model, silent, keep):
    net, opt, x, y = model
    losses, total, last = [], 0.0, None
    for _ in range(STEPS):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        if keep == "item":
            losses.append(loss.item())
        elif keep == "float":
            total += float(loss)
        elif keep == "detach":
            losses.append(loss.detach())
        else:
            last = loss                     # one old graph at a time: not a leak
    assert last is None or last.grad_fn is not None


def test_eval_under_no_grad_is_silent(model, silent):
    net, opt, x, y = model
    val_total = 0
    for _ in range(STEPS):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
        with tg.no_grad():
            val_total += F.cross_entropy(net(x * 2), y)


def test_retain_graph_over_one_graph_is_silent(model, silent):
    net, _, x, y = model
    loss = F.cross_entropy(net(x), y)
    for _ in range(STEPS):
        loss.backward(retain_graph=True)


def test_rows_of_one_graph_are_one_graph(silent):
    """Outputs kept from one forward share its interior: a Jacobian row by row."""
    w = tg.randn(3, requires_grad=True)
    out = (w * w).exp().repeat(4)
    rows = [out[i] for i in range(12)]
    for r in rows:
        r.backward(retain_graph=True)


def test_kept_losses_of_three_heads_warn(model):
    """Three losses per step share the step's trunk (one graph each step, not three): the
    confirmation keeps the other steps' graphs it already counted, whatever the rhythm."""
    net, _, x, y = model
    head = tg.nn.Linear(3, 1)
    kept = []
    with pytest.warns(GraphLeakWarning):
        for _ in range(STEPS):
            h = net(x)
            l1, l2, l3 = F.cross_entropy(h, y), head(h).mean(), h.pow(2).mean()
            l1.backward(retain_graph=True)
            l2.backward(retain_graph=True)
            l3.backward()
            kept += [l1, l2, l3]


def test_growing_graph_is_silent(silent):
    """More uses of a parameter each step (longer sequences), old graphs dropped."""
    w = tg.randn(4, requires_grad=True)
    prev = None
    for n in range(1, STEPS):
        h = tg.ones(4)
        for _ in range(n):
            h = (h * w).tanh()
        loss = h.sum()
        loss.backward()
        prev = loss                         # and the previous step's loss kept, too
    assert prev is not None


def test_grad_and_func_grad_loops_are_not_watched(model, silent):
    net, _, x, y = model
    params = dict(net.named_parameters())
    kept = []
    for _ in range(STEPS):
        loss = F.cross_entropy(net(x), y)
        tg.autograd.grad(loss, list(net.parameters()))
        kept.append(loss)                   # grad() is not a training step's backward

    def f(p):
        return F.cross_entropy(tg.func.functional_call(net, p, (x,)), y)
    for _ in range(STEPS):
        kept.append(tg.func.grad(f)(params))


def test_vmap_gradient_tape_and_checkpoint_loops_are_silent(model, silent):
    net, opt, x, y = model
    w = tg.randn(3, requires_grad=True)
    for _ in range(STEPS):
        tg.func.vmap(tg.func.grad(lambda v: (v * v).sum()))(tg.randn(5, 3))
        with tg.autograd.GradientTape() as tape:
            loss = (w * w).sum()
        tape.gradient(loss, [w])
        opt.zero_grad()
        for reentrant in (False, True):     # (reentrant wants an input that requires grad)
            xin = x.detach().requires_grad_(reentrant)
            out = tg.utils.checkpoint.checkpoint(net, xin, use_reentrant=reentrant)
            F.cross_entropy(out, y).backward()
        opt.step()


# ---- the switch -----------------------------------------------------------------------------
def test_off_switch_and_rearming(model):
    net, _, x, y = model
    set_leak_sentinel(False)
    assert not is_leak_sentinel_enabled()
    losses = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(STEPS):
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            losses.append(loss)
    set_leak_sentinel(True)                 # re-armed: watches (and warns) afresh
    assert is_leak_sentinel_enabled()
    with pytest.warns(GraphLeakWarning):
        for _ in range(STEPS):
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            losses.append(loss)


def test_warnings_filter_silences_it(model):
    net, _, x, y = model
    losses = []
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=GraphLeakWarning)
        for _ in range(STEPS):
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            losses.append(loss)
    assert _only_leak_warnings(record) == []


_SCRIPT = """
import tapegrad as tg
w = tg.ones(3, requires_grad=True)
losses = []
for _ in range(12):
    loss = (w * w).sum()
    loss.backward()
    losses.append(loss)
"""


def test_it_is_a_resource_warning_shown_by_default():
    """Python ignores ResourceWarning unless told otherwise; this one is shown by default."""
    import os
    import subprocess
    assert issubclass(GraphLeakWarning, ResourceWarning)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    run = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("GraphLeakWarning: backward: 8 graphs") == 1, run.stderr
    assert "<string>:7" in run.stderr       # shown at the user's backward() line


def test_sentinel_holds_no_graph(model):
    """The record's references are weak: a graph it watched dies with the user's tensors."""
    import weakref
    net, _, x, y = model
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    node = weakref.ref(loss.grad_fn)
    del loss
    assert node() is None
    assert len(STATE.leaks.roots) == 1 and STATE.leaks.roots[0]() is None
