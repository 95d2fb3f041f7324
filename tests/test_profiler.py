"""tapegrad.profiler: tables by op, line and module, record_function ranges, memory, shapes,
the Chrome trace, and leaving nothing instrumented (Note [Profiler recording])."""
import json
import sys

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn as nn
from tapegrad.autograd import engine
from tapegrad.autograd.function import Function
from tapegrad.nn.modules.module import Module
from tapegrad.ops import instrument, registry
from tapegrad.ops.registry import REGISTRY
from tapegrad.profiler import ProfilerActivity, profile, record_function

HERE = __file__


def _line():
    """The line number of the caller's line."""
    return sys._getframe(1).f_lineno


def _table_state():
    return ({name: (op.forward, op.vjp) for name, op in REGISTRY.items()},
            Module.__dict__["__call__"], Function.__dict__["apply"], registry.record_node,
            engine.run_backward)


def _rows(prof, **kw):
    return {r.key: r for r in prof.key_averages(**kw)}


def _data_lines(table):
    """The rows of a table: the lines between the second and the last rule of dashes."""
    lines = table.splitlines()
    rules = [i for i, ln in enumerate(lines) if ln.startswith("---")]
    return [ln.split()[0] for ln in lines[rules[1] + 1:rules[2]]]


def test_table_lists_the_ops_with_forward_and_backward_call_counts():
    x = tg.randn(4, requires_grad=True)
    with profile() as prof:
        for _ in range(3):
            (x.tanh() * x).sum().backward()
    rows = _rows(prof)
    assert {k: r.count for k, r in rows.items()} == {
        "tanh": 3, "mul": 3, "sum": 3, "backward()": 3,
        "SumBackward0": 3, "MulBackward0": 3, "TanhBackward0": 3}
    assert (rows["mul"].forward_calls, rows["mul"].backward_calls) == (3, 0)
    assert (rows["MulBackward0"].forward_calls, rows["MulBackward0"].backward_calls) == (0, 3)
    walk = rows.pop("backward()")     # the engine's walk holds the rules
    assert walk.backward_calls == 3
    rules = sum(rows[k].cpu_time_total for k in ("SumBackward0", "MulBackward0",
                                                 "TanhBackward0"))
    assert walk.cpu_time_total == pytest.approx(walk.self_cpu_time_total + rules)
    for r in rows.values():           # nothing else nests: total == self, avg == total/count
        assert r.cpu_time_total == pytest.approx(r.self_cpu_time_total)
        assert r.cpu_time == pytest.approx(r.cpu_time_total / 3)
        assert r.cpu_time_total > 0
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10)
    names = _data_lines(table)
    by_self = sorted(prof.key_averages(), key=lambda r: r.self_cpu_time_total, reverse=True)
    assert names == [r.key for r in by_self]
    header = table.splitlines()[1]
    for column in ("Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total",
                   "CPU time avg", "# of Calls"):
        assert column in header
    assert table.splitlines()[-1].startswith("Self CPU time total: ")
    assert "CPU Mem" not in header and "Input Shapes" not in header


def test_row_limit_and_sorting_by_count():
    x = tg.randn(3, requires_grad=True)
    with profile() as prof:
        y = x.exp()
        for _ in range(4):
            y = y * 2.0
        y.sum().backward()
    assert _data_lines(prof.table(sort_by="count", row_limit=2)) == ["mul", "MulBackward0"]
    assert len(_data_lines(prof.table(row_limit=-1))) == 7     # 3 ops, 3 rules, backward()
    with pytest.raises(ValueError, match="can't sort by 'bogus'"):
        prof.table(sort_by="bogus")


def test_group_by_line_names_this_files_lines_and_charges_backward_to_the_creating_line():
    x = tg.randn(5, requires_grad=True)
    with profile() as prof:
        h = x.sin(); first = _line()               # noqa: E702
        loss = (h * h).sum(); second = _line()     # noqa: E702
        loss.backward(); third = _line()           # noqa: E702
    rows = _rows(prof, group_by="line")
    assert set(rows) == {f"{HERE}:{n}" for n in (first, second, third)}
    r1, r2, r3 = (rows[f"{HERE}:{n}"] for n in (first, second, third))
    assert (r1.forward_calls, r1.backward_calls) == (1, 1)         # sin, SinBackward0
    assert (r2.forward_calls, r2.backward_calls) == (2, 2)         # mul, sum and their rules
    assert (r3.forward_calls, r3.backward_calls) == (0, 1)         # the walk: backward()
    # the walk's line holds the rules' time (charged to their own lines too)
    assert r3.cpu_time_total > r3.self_cpu_time_total
    table = prof.table(group_by="line", max_name_column_width=30)
    assert any(line.endswith(f"test_profiler.py:{second}") for line in _data_lines(table))


def test_group_by_module_names_the_paths_of_a_sequential():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    x = tg.randn(5, 4)
    with profile() as prof:
        model(x).sum().backward()
    rows = _rows(prof, group_by="module")
    assert set(rows) == {"Sequential", "Sequential.0", "Sequential.1", "Sequential.2",
                         "(no module)"}
    # Linear: its module call, its op, and its op's rule (charged to the module that made it)
    assert (rows["Sequential.0"].forward_calls, rows["Sequential.0"].backward_calls) == (2, 1)
    assert rows["(no module)"].count == 3          # sum, SumBackward0 and the walk
    seq = rows["Sequential"]         # the outer call's total holds its children's
    assert seq.cpu_time_total >= rows["Sequential.0"].cpu_time_total
    events = prof.events()
    backward = {e.name: e.module for e in events if e.kind == "backward"}
    assert backward["ReluBackward0"] == "Sequential.1"
    names = [e.name for e in events if e.kind == "module"]
    assert sorted(names) == ["Sequential", "Sequential.0 (Linear)", "Sequential.1 (ReLU)",
                             "Sequential.2 (Linear)"]
    assert "Sequential.0" not in _rows(prof)               # by op, module calls are not rows
    with profile() as prof:
        with record_function("all"):
            model(x).sum().backward()
    for group_by in ("op", "line", "module"):    # self times add up to the outermost event
        rows = prof.key_averages(group_by=group_by)
        top = max(r.cpu_time_total for r in rows)
        assert top == pytest.approx(prof.events()[-1].cpu_time_total)
        assert rows.self_cpu_time_total == pytest.approx(top)


def test_record_shapes_groups_by_input_shape():
    a, b = tg.randn(2, 3, requires_grad=True), tg.randn(3, requires_grad=True)
    with profile(record_shapes=True) as prof:
        (a * b).sum().backward()
        (b * b).sum().backward()
    rows = [r for r in prof.key_averages(group_by_input_shape=True) if r.key == "mul"]
    assert sorted(r.input_shapes for r in rows) == [[[2, 3], [3]], [[3], [3]]]
    table = prof.key_averages(group_by_input_shape=True).table()
    assert "Input Shapes" in table and "[[2, 3], [3]]" in table
    back = [r for r in prof.key_averages(group_by_input_shape=True)
            if r.key == "MulBackward0"]
    assert sorted(r.input_shapes for r in back) == [[[2, 3]], [[3]]]     # the cotangent's
    with profile() as plain:
        a.exp()
    with pytest.raises(ValueError, match="record_shapes=True"):
        plain.key_averages(group_by_input_shape=True)


def test_profile_memory_counts_the_outputs_nbytes():
    x = tg.randn(100, dtype=tg.float64, requires_grad=True)
    with profile(profile_memory=True) as prof:
        y = x.exp()
        z = y.reshape(10, 10)           # a view: nothing allocated
        z.sum().backward()
    rows = _rows(prof)
    assert rows["exp"].self_cpu_memory_usage == 100 * 8 == y.detach().numpy().nbytes
    assert rows["exp"].cpu_memory_usage == 800
    assert rows["reshape"].self_cpu_memory_usage == 0
    assert rows["sum"].self_cpu_memory_usage == 8
    assert rows["ExpBackward0"].self_cpu_memory_usage == 800     # the gradient it returns
    with profile(profile_memory=True) as prof:
        (x + 1.0).sum().backward()
    assert _rows(prof)["AddBackward0"].self_cpu_memory_usage == 0   # passes g through
    header = prof.table().splitlines()[1]
    assert "CPU Mem" in header and "Self CPU Mem" in header


def test_record_function_ranges_nest_and_show():
    x = tg.randn(3, requires_grad=True)

    @record_function("helper")
    def helper(t, depth):
        return helper(t * 2, depth - 1) if depth else t

    with profile(profile_memory=True) as prof:
        with record_function("outer"):
            with record_function("inner"):
                y = x.exp()
            z = helper(y, 2).sum()
        z.backward()
    events = {e.name: e for e in prof.events() if e.kind == "range" and e.name != "helper"}
    outer, inner = events["outer"], events["inner"]
    assert inner.parent is outer
    exp = next(e for e in prof.events() if e.name == "exp")
    assert exp.parent is inner
    helpers = [e for e in prof.events() if e.name == "helper"]
    assert len(helpers) == 3 and helpers[0].parent.name == "helper"   # recursion nests
    rows = _rows(prof)
    assert rows["outer"].count == rows["inner"].count == 1 and rows["helper"].count == 3
    # self = total less the children; a range allocates nothing itself
    assert rows["inner"].cpu_time_total > rows["inner"].self_cpu_time_total
    assert rows["outer"].cpu_time_total >= rows["inner"].cpu_time_total
    assert rows["outer"].self_cpu_memory_usage == 0
    assert rows["outer"].cpu_memory_usage == (3 + 3 + 3 + 1) * 4   # exp, 2 muls, sum
    assert rows["helper"].cpu_time_total == pytest.approx(helpers[-1].cpu_time_total)
    assert {"outer", "inner", "helper"} <= set(_data_lines(prof.table()))
    with record_function("nobody listens"):      # no profile: nothing happens
        tg.ones(1) + 1


def test_chrome_trace_has_forward_and_backward_tracks_ranges_and_metadata(tmp_path):
    x = tg.randn(3, requires_grad=True)
    with profile(record_shapes=True) as prof:
        with record_function("step"):
            loss = (x.exp() * x).sum()
            loss.backward()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    with open(path) as f:
        trace = json.load(f)
    events = trace["traceEvents"]
    complete = [e for e in events if e["ph"] == "X"]
    meta = [e for e in events if e["ph"] == "M"]
    for e in complete:
        assert {"name", "ts", "dur", "pid", "tid", "args"} <= set(e) and e["dur"] >= 0
    tid = {e["name"]: e["tid"] for e in complete}
    assert tid["exp"] == tid["mul"] == tid["step"]
    assert tid["ExpBackward0"] == tid["MulBackward0"] != tid["exp"]
    names = {e["tid"]: e["args"]["name"] for e in meta if e["name"] == "thread_name"}
    assert names[tid["exp"]] == "forward" and names[tid["MulBackward0"]] == "backward"
    assert any(e["name"] == "process_name" for e in meta)
    step = next(e for e in complete if e["name"] == "step")
    for e in complete:                 # every event lies inside the range
        assert step["ts"] <= e["ts"] and e["ts"] + e["dur"] <= step["ts"] + step["dur"] + 1e-3
    for t in set(tid.values()):        # each track's events nest (as Perfetto draws them)
        open_ends = []
        for e in sorted((e for e in complete if e["tid"] == t),
                        key=lambda e: (e["ts"], -e["dur"])):
            while open_ends and open_ends[-1] <= e["ts"]:
                open_ends.pop()
            assert not open_ends or e["ts"] + e["dur"] <= open_ends[-1] + 1e-3
            open_ends.append(e["ts"] + e["dur"])
    mul = next(e for e in complete if e["name"] == "mul")
    assert mul["args"]["Input Dims"] == [[3], [3]]
    assert mul["args"]["line"].startswith(HERE)


def test_nothing_is_left_instrumented_after_exit_even_on_an_exception():
    before = _table_state()
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError):
        with profile():
            model(tg.randn(3, 2))
            tg.ones(2, 3) + tg.ones(4)       # shapes don't broadcast: the op raises
    assert _table_state() == before
    assert instrument.active() == []
    with profile() as prof:
        with pytest.raises(ValueError):
            tg.ones(2, 3) + tg.ones(4)
    assert [e.name for e in prof.events()] == ["add"]      # closed even though it raised
    assert _table_state() == before


def test_nested_profile_is_refused_and_a_profile_records_once():
    before = _table_state()
    with profile() as outer:
        with pytest.raises(RuntimeError, match="another profile is active.*test_profiler.py"):
            with profile():
                pass
        with pytest.raises(RuntimeError, match="still recording"):
            outer.key_averages()
        tg.ones(2).exp()
    assert [r.key for r in outer.key_averages()] == ["exp"]
    assert _table_state() == before
    with pytest.raises(RuntimeError, match="records once"):
        outer.start()
    with profile(enabled=False) as off:
        tg.ones(2).exp()
    assert off.events() == [] and _table_state() == before
    with profile(activities=[ProfilerActivity.CPU]) as cpu:
        tg.ones(2).exp()
    assert [e.name for e in cpu.events()] == ["exp"]
    with pytest.raises(NotImplementedError, match="CUDA"):
        profile(activities=[ProfilerActivity.CUDA])


def test_custom_function_forward_is_timed_with_its_ops_inside():
    from test_autograd_function import _functions     # the shared custom Functions
    Cube = _functions(tg)[0]      # x**3, saving its input
    x = tg.randn(3, requires_grad=True)
    with profile() as prof:
        Cube.apply(x).sum().backward()
    events = prof.events()
    cube = next(e for e in events if e.name == "Cube")
    assert cube.kind == "function"
    assert [e.name for e in events if e.parent is cube] == ["pow"]
    back = next(e for e in events if e.name == "CubeBackward")
    inside = [e for e in events if e.parent is back]
    assert inside and all(e.phase == 1 for e in inside)          # on the backward track
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.detach().numpy() ** 2, rtol=1e-6)


def test_results_are_unchanged_and_double_backward_works_under_the_profiler():
    x = tg.tensor([0.5, 1.5], requires_grad=True)
    with profile() as prof:
        (g,) = tg.autograd.grad((x ** 3).sum(), x, create_graph=True)
        g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.detach().numpy())
    events = sorted(prof.events(), key=lambda e: e.start_ns)
    assert [e.name for e in events if e.kind == "op"][:2] == ["pow", "sum"]
    second = [e for e in events if e.start_ns > events[1].end_ns and e.name == "sum"][0]
    later = [e for e in events if e.start_ns > second.end_ns]
    assert later and all(e.phase == 1 for e in later)   # the second backward's rules
    assert any(e.kind == "backward" and e.name != "SumBackward0" for e in later)


def test_each_thread_gets_its_own_tracks(tmp_path):
    import threading
    x = tg.randn(3, requires_grad=True)

    def work():
        with record_function("worker"):
            x.sin().sum().backward()
    with profile() as prof:
        x.cos()
        t = threading.Thread(target=work)
        t.start()
        t.join()
    worker = next(e for e in prof.events() if e.name == "worker")
    assert worker.thread == 1 and worker.parent is None          # its own stack
    assert next(e for e in prof.events() if e.name == "sin").parent is worker
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    with open(path) as f:
        events = json.load(f)["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    tid = {e["name"]: e["tid"] for e in events if e["ph"] == "X"}
    assert names[tid["cos"]] == "forward" and names[tid["sin"]] == "forward (thread 1)"
    assert names[tid["SinBackward0"]] == "backward (thread 1)"
