"""ops/instrument.py (Note [Instruments]): wrapping every op's forward and vjp, composing,
and leaving the op table exactly as built when no instrument is active."""
import tapegrad as tg
from tapegrad.ops import instrument
from tapegrad.ops.registry import REGISTRY


class Counter(instrument.Instrument):
    def __init__(self, tag, log):
        self.tag, self.log = tag, log

    def wrap_forward(self, op, fn):
        def forward(*args, **kw):
            self.log.append((self.tag, "fw", op.name))
            return fn(*args, **kw)
        return forward

    def wrap_vjp(self, op, fn):
        def vjp(ctx, g):
            self.log.append((self.tag, "bw", op.name))
            return fn(ctx, g)
        return vjp


def _snapshot():
    return {name: (op.forward, op.vjp) for name, op in REGISTRY.items()}


def test_wraps_forward_and_backward_then_restores_the_table():
    before = _snapshot()
    log = []
    c = Counter("a", log)
    instrument.add(c)
    try:
        x = tg.randn(3, requires_grad=True)
        (x.tanh() * x).sum().backward()
    finally:
        instrument.remove(c)
    assert ("a", "fw", "tanh") in log and ("a", "bw", "tanh") in log
    assert [e for e in log if e[1] == "fw"] == [("a", "fw", "tanh"), ("a", "fw", "mul"),
                                                ("a", "fw", "sum")]
    assert _snapshot() == before
    assert instrument.active() == []


def test_instruments_compose_and_leave_in_any_order():
    before = _snapshot()
    log = []
    a, b = Counter("a", log), Counter("b", log)
    instrument.add(a)
    instrument.add(b)
    tg.ones(2).exp()
    assert log == [("b", "fw", "exp"), ("a", "fw", "exp")]   # the first added is innermost
    instrument.remove(a)                                       # not the last one added
    log.clear()
    tg.ones(2).exp()
    assert log == [("b", "fw", "exp")]
    instrument.remove(b)
    assert _snapshot() == before


def test_custom_function_nodes_are_seen():
    from test_autograd_function import _functions     # the shared custom Functions
    Cube = _functions(tg)[0]      # x**3, saving its input

    log = []
    c = Counter("a", log)
    instrument.add(c)
    try:
        x = tg.randn(3, requires_grad=True)
        Cube.apply(x).sum().backward()
    finally:
        instrument.remove(c)
    assert ("a", "bw", "Cube") in log


def test_adding_twice_is_refused():
    c = Counter("a", [])
    instrument.add(c)
    try:
        try:
            instrument.add(c)
        except RuntimeError as e:
            assert "already active" in str(e)
        else:
            raise AssertionError("expected RuntimeError")
    finally:
        instrument.remove(c)
    instrument.remove(c)   # removing an inactive instrument is a no-op
