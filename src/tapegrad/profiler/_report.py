"""The profiler's reporting side: averaging events by a key, PyTorch's table, Chrome traces.

# Note [Profiler totals]
Grouping sums self times and self bytes over the group's events. A total (time or memory)
sums only the events of the group that are not inside another event of the same group:
the primitives a composite op calls and what a rule computes share their parent's line,
so adding their totals to the parent's would count the same time twice. By op this is
PyTorch's sum (an op rarely contains itself).
Module calls are rows only by module; by op and by line their own time (the Python of
their forward between ops) is added to the self time of the event they ran in, so that
the self times still add up to the time the outermost events took.
"""
from .._core.errors import ArgumentError
from .._core.node import format_site
from ._record import _MODULE, BACKWARD, NO_MODULE

GROUPS = ("op", "line", "module")
SORT_KEYS = ("cpu_time_total", "self_cpu_time_total", "cpu_time", "count",
             "cpu_memory_usage", "self_cpu_memory_usage")


class FunctionEventAvg:
    """One row of ``key_averages()``: the events that share a key, added up.

    Fields as PyTorch's: ``key``, ``count``, ``cpu_time_total`` and ``self_cpu_time_total``
    (microseconds), ``cpu_time`` (the average), ``cpu_memory_usage`` and
    ``self_cpu_memory_usage`` (bytes), ``input_shapes`` (grouped by input shape only); and
    ``forward_calls`` / ``backward_calls``: how many of the calls ran in the forward pass
    and how many in a backward (a rule, the engine's walk, or an op that a rule called)."""
    __slots__ = ("key", "count", "cpu_time_total", "self_cpu_time_total", "cpu_memory_usage",
                 "self_cpu_memory_usage", "input_shapes", "forward_calls", "backward_calls")

    def __init__(self, key, input_shapes=None):
        self.key, self.input_shapes = key, input_shapes
        self.count = self.forward_calls = self.backward_calls = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.cpu_memory_usage = self.self_cpu_memory_usage = 0

    @property
    def cpu_time(self):
        """Average time per call, in microseconds."""
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} count={self.count} "
                f"cpu_time_total={self.cpu_time_total:.3f}us "
                f"self_cpu_time_total={self.self_cpu_time_total:.3f}us>")


class EventList(list):
    """Events or averaged rows, with ``table()`` and ``self_cpu_time_total`` as PyTorch's."""

    def __init__(self, rows=(), profile_memory=False, record_shapes=False, by_line=False):
        super().__init__(rows)
        self._profile_memory, self._record_shapes = profile_memory, record_shapes
        self._by_line = by_line      # names are file:line: shorten them from the left

    @property
    def self_cpu_time_total(self):
        """The sum of the rows' self times, in microseconds (the table's footer)."""
        return sum(r.self_cpu_time_total for r in self)

    def table(self, sort_by=None, row_limit=100, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False):
        """The rows as a text table laid out like PyTorch's.

        Args:
            sort_by: a field to sort by, largest first (``"self_cpu_time_total"``,
                ``"cpu_time_total"``, ``"cpu_time"``, ``"count"``, ``"cpu_memory_usage"``,
                ``"self_cpu_memory_usage"``); None keeps the order.
            row_limit: how many rows to show (-1 or 0: all).
            max_name_column_width: longer names are shortened with "...".
            header: an optional line printed above the table.
            top_level_events_only: accepted for PyTorch's signature; rows are shown as given.
        """
        return _table(self, sort_by, row_limit, max_name_column_width,
                      max_shapes_column_width, header, self._profile_memory,
                      self._record_shapes, self._by_line)

    def __str__(self):
        return self.table()


# ---- averaging ---------------------------------------------------------------------------------
def key_of(ev, group_by):
    if group_by == "op":
        return ev.name
    if group_by == "line":
        return format_site(ev.site)
    return ev.module if ev.module is not None else NO_MODULE


def key_averages(events, group_by="op", group_by_input_shape=False, profile_memory=False,
                 record_shapes=False):
    """Rows of averaged events (see ``profile.key_averages``), in order of first appearance."""
    if group_by not in GROUPS:
        raise ArgumentError(f"key_averages: group_by={group_by!r} is not one of {GROUPS}; "
                            "group by 'op' (the default), 'line' (the user's file:line) or "
                            "'module' (the nn module that ran).")
    events = sorted(events, key=lambda e: e.start_ns)      # rows in order of first call
    rows = {}
    extra_ns = {}    # id(event) -> self time of module calls directly inside it
    keys = {}        # id(event) -> its group key, for the nesting test of Note [Profiler totals]
    for ev in events:
        if ev.kind is _MODULE and group_by != "module":
            # Module calls are drawn in the trace; by op and by line they are not rows, and
            # their own time counts as their parent's, as if they were not events at all.
            p = ev.parent
            while p is not None and p.kind is _MODULE:
                p = p.parent
            if p is not None:
                extra_ns[id(p)] = extra_ns.get(id(p), 0) + ev.end_ns - ev.start_ns - ev.child_ns
            continue
        key = key_of(ev, group_by)
        shapes = ev.input_shapes if group_by_input_shape else None
        full = (key, _hashable(shapes))
        keys[id(ev)] = full
        row = rows.get(full)
        if row is None:
            row = rows[full] = FunctionEventAvg(key, shapes)
        row.count += 1
        if ev.phase == BACKWARD:
            row.backward_calls += 1
        else:
            row.forward_calls += 1
        row.self_cpu_time_total += ev.self_cpu_time_total
        row.self_cpu_memory_usage += ev.self_bytes
    for ev in events:               # (every event's key is known now)
        if id(ev) in extra_ns:
            rows[keys[id(ev)]].self_cpu_time_total += extra_ns[id(ev)] / 1e3
    for ev in events:                       # totals: outermost event of each group only
        full = keys.get(id(ev))
        if full is None:
            continue
        p = ev.parent
        while p is not None and keys.get(id(p)) != full:
            p = p.parent
        if p is None:
            row = rows[full]
            row.cpu_time_total += ev.cpu_time_total
            row.cpu_memory_usage += ev.cpu_memory_usage
    return EventList(rows.values(), profile_memory, group_by_input_shape and record_shapes,
                     group_by == "line")


def _hashable(shapes):
    if isinstance(shapes, list):
        return tuple(_hashable(s) for s in shapes)
    return shapes


# ---- the table ---------------------------------------------------------------------------------
def format_time(us):
    """PyTorch's time cell: microseconds as 'us', 'ms' or 's' with three decimals."""
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def format_memory(nbytes):
    """PyTorch's memory cell: bytes as 'b', 'Kb', 'Mb' or 'Gb'."""
    for unit, size in (("Gb", 1024 ** 3), ("Mb", 1024 ** 2), ("Kb", 1024)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{nbytes} b"


def _shorten(text, width, keep_end):
    if len(text) <= width:
        return text
    return "..." + text[-(width - 3):] if keep_end else text[:width - 3] + "..."


def _table(rows, sort_by, row_limit, name_width, shapes_width, header, memory, shapes,
           keep_end):
    if sort_by is not None:
        if sort_by not in SORT_KEYS:
            raise ArgumentError(f"table: can't sort by {sort_by!r}; choose one of "
                                f"{', '.join(SORT_KEYS)}.")
        rows = sorted(rows, key=lambda r: getattr(r, sort_by), reverse=True)
    total_self = sum(r.self_cpu_time_total for r in rows)
    if row_limit is not None and row_limit > 0:
        rows = rows[:row_limit]
    names = [str(r.key) for r in rows]
    names = [_shorten(n, name_width, keep_end) for n in names]
    name_w = max([len(n) for n in names] + [len("Name")]) + 4
    heads = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
    if memory:
        heads += ["CPU Mem", "Self CPU Mem"]
    heads.append("# of Calls")
    widths = [name_w] + [12] * len(heads)
    cells_of = []
    for name, r in zip(names, rows):
        cells = [name,
                 _pct(r.self_cpu_time_total, total_self), format_time(r.self_cpu_time_total),
                 _pct(r.cpu_time_total, total_self), format_time(r.cpu_time_total),
                 format_time(r.cpu_time)]
        if memory:
            cells += [format_memory(r.cpu_memory_usage), format_memory(r.self_cpu_memory_usage)]
        cells.append(str(r.count))
        cells_of.append(cells)
    if shapes:
        shape_cells = [_shorten(str(r.input_shapes or []), shapes_width, False) for r in rows]
        widths.append(max([len(c) for c in shape_cells] + [len("Input Shapes")]) + 2)
        heads.append("Input Shapes")
        for cells, c in zip(cells_of, shape_cells):
            cells.append(c)
    rule = "  ".join("-" * w for w in widths) + "  "

    def line(cells):
        return "".join(f"{c:>{w}}  " for c, w in zip(cells, widths))
    out = [header] if header else []
    out += [rule, line(["Name"] + heads), rule]
    out += [line(cells) for cells in cells_of]
    out += [rule, f"Self CPU time total: {format_time(total_self)}"]
    return "\n".join(out) + "\n"


def _pct(part, whole):
    return f"{100 * part / whole:.2f}%" if whole else "0.00%"


# ---- the Chrome trace --------------------------------------------------------------------------
def chrome_trace(events, t0, pid, thread_count, record_shapes, profile_memory):
    """The Chrome trace JSON object: one complete ("X") event per event, each phase of each
    thread on its own track (tid), and the tracks' names as metadata ("M") events."""
    trace = [{"name": "process_name", "ph": "M", "pid": pid, "tid": 0,
              "args": {"name": "tapegrad"}}]
    for k in range(thread_count):
        for phase, label in ((0, "forward"), (1, "backward")):
            tid = 2 * k + phase + 1
            name = label if k == 0 else f"{label} (thread {k})"
            trace.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
                          "args": {"name": name}})
            trace.append({"name": "thread_sort_index", "ph": "M", "pid": pid, "tid": tid,
                          "args": {"sort_index": tid}})
    for ev in sorted(events, key=lambda e: e.start_ns):
        args = {"line": format_site(ev.site)}
        if ev.module is not None:
            args["module"] = ev.module
        if record_shapes and ev.input_shapes is not None:
            args["Input Dims"] = ev.input_shapes
        if profile_memory:
            args["bytes"] = ev.self_bytes
        trace.append({"name": ev.name, "cat": ev.kind, "ph": "X",
                      "ts": (ev.start_ns - t0) / 1e3, "dur": (ev.end_ns - ev.start_ns) / 1e3,
                      "pid": pid, "tid": 2 * ev.thread + ev.phase + 1, "args": args})
    return {"traceEvents": trace, "displayTimeUnit": "ms"}
