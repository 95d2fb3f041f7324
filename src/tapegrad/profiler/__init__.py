"""tapegrad.profiler: where forward and backward spend their time, by op, by line, by module.

# Note [Profiler]
``with profile() as prof:`` times every op's forward, every backward rule, every custom
Function, ``record_function`` range and nn module call that runs inside it; afterwards
``prof.key_averages()`` adds them up by op (or by the user's line, or by module) in rows
with PyTorch's field names, ``.table()`` prints them as PyTorch does, and
``prof.export_chrome_trace(path)`` writes a trace that chrome://tracing and Perfetto open,
forward and backward on separate tracks. Nothing is wrapped or checked while no profile is
active: entering adds an instrument and four patches, leaving removes them (Note
[Profiler recording] in _record.py; Note [Profiler totals] in _report.py says how rows add
up). ``profile.step()`` and schedules are not provided.
"""
import functools
import os

from .._core.errors import ArgumentError, NotSupportedError
from .._core.node import format_site
from . import _record
from ._record import Event, _Session
from ._report import EventList, FunctionEventAvg, chrome_trace, key_averages

__all__ = ["profile", "record_function", "ProfilerActivity", "EventList", "FunctionEventAvg",
           "Event"]


class ProfilerActivity:
    """What to profile, as in PyTorch: tapegrad runs on the CPU only."""
    CPU = "CPU"
    CUDA = "CUDA"


class profile:
    """Context manager that records every op's forward and backward time while active.

    Args:
        activities: accepted for PyTorch's signature; only ``ProfilerActivity.CPU``.
        record_shapes: keep each op's input shapes (``key_averages(group_by_input_shape=
            True)``, the table's "Input Shapes" column and the trace's "Input Dims").
        profile_memory: count the bytes each op returns (``cpu_memory_usage``,
            ``self_cpu_memory_usage`` and the table's "CPU Mem" columns).
        with_stack: find each event's user line (for ``group_by="line"``); on by default.
        with_modules: follow nn module calls (for ``group_by="module"``); on by default.
        enabled: False makes the context a no-op.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.profiler import profile
        >>> x = tg.ones(3, requires_grad=True)
        >>> with profile() as prof:
        ...     (x.exp() * x).sum().backward()
        >>> [r.key for r in prof.key_averages()]  # doctest: +NORMALIZE_WHITESPACE
        ['exp', 'mul', 'sum', 'backward()', 'SumBackward0', 'MulBackward0', 'ExpBackward0']
    """

    def __init__(self, activities=None, *, record_shapes=False, profile_memory=False,
                 with_stack=True, with_modules=True, enabled=True):
        for a in activities or ():
            if a != ProfilerActivity.CPU:
                raise NotSupportedError(f"profile: activity {a!r} is not available; tapegrad "
                                        "runs on the CPU: pass ProfilerActivity.CPU or nothing.")
        self.record_shapes, self.profile_memory = record_shapes, profile_memory
        self.enabled = enabled
        self._session = _Session(record_shapes, profile_memory, with_stack, with_modules)
        self._state = "new"        # "new" -> "running" -> "done"
        self._site = None

    def start(self):
        """Start recording (what ``__enter__`` does)."""
        if not self.enabled:
            return
        if self._state != "new":
            raise RuntimeError("profile: this profile was already started; a profile records "
                               "once. Make a new profile() for another run.")
        running = _record._current[0]
        if running is not None:
            raise RuntimeError(
                "profile: another profile is active (started at "
                f"{format_site(running.started_at)}); profiles can't nest. Use "
                "record_function('name') to mark a part of the outer profile instead.")
        session = self._session
        session.started_at = self._site = _record._user_site()
        try:
            session.install()
        except BaseException:
            session.uninstall()
            raise
        _record._current[0] = session
        self._state = "running"
        session.t0 = _record.perf_counter_ns()

    def stop(self):
        """Stop recording (what ``__exit__`` does); events still open end now."""
        if self._state != "running":
            return
        session = self._session
        session.t1 = _record.perf_counter_ns()
        try:
            session.uninstall()
        finally:
            _record._current[0] = None
            self._state = "done"
            session.module_names.clear()      # (it held the modules; events keep names only)
            session.node_module.clear()
            stack = getattr(session.local, "stack", None)
            while stack:            # a range entered inside and not left: end it here
                session.close(stack[-1])

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- results ----------------------------------------------------------------------------
    def events(self):
        """Every recorded event (an ``Event`` each), in the order they ended."""
        return EventList(self._session.events, self.profile_memory, self.record_shapes)

    def key_averages(self, group_by_input_shape=False, group_by="op"):
        """Events added up by key: one ``FunctionEventAvg`` row per op name.

        Args:
            group_by_input_shape: one row per (key, input shapes); needs record_shapes.
            group_by: ``"op"`` (op names; rules as ``MulBackward0``, ranges by their name),
                ``"line"`` (the user's file:line: a rule counts at the line that created
                its node) or ``"module"`` (the dotted path of the nn module that ran, e.g.
                ``Sequential.0``; ``"(no module)"`` outside any).

        Returns:
            EventList of rows in the order of their first calls; ``.table()`` formats them.

        Example:
            >>> import tapegrad as tg
            >>> from tapegrad.profiler import profile
            >>> with profile() as prof:
            ...     y = tg.ones(3).exp(); z = tg.ones(3).exp()
            >>> [(r.key, r.count) for r in prof.key_averages()]
            [('exp', 2)]
            >>> [r.count for r in prof.key_averages(group_by="line")]   # both on one line
            [2]
        """
        if group_by_input_shape and not self.record_shapes:
            raise ArgumentError("key_averages: group_by_input_shape=True needs the shapes; "
                                "profile with profile(record_shapes=True).")
        self._require_done("key_averages")
        return key_averages(self._session.events, group_by, group_by_input_shape,
                            self.profile_memory, self.record_shapes)

    def table(self, sort_by=None, row_limit=100, group_by="op", **kwargs):
        """``self.key_averages(group_by=...).table(sort_by, row_limit, ...)``.

        Example:
            >>> import tapegrad as tg
            >>> from tapegrad.profiler import profile
            >>> with profile() as prof:
            ...     _ = tg.ones(3).exp()
            >>> prof.table().splitlines()[1].split()[-3:]
            ['#', 'of', 'Calls']
        """
        return self.key_averages(group_by=group_by).table(sort_by, row_limit, **kwargs)

    @property
    def self_cpu_time_total(self):
        """The sum of every event's self time, in microseconds."""
        return sum(e.self_cpu_time_total for e in self._session.events)

    def export_chrome_trace(self, path):
        """Write the events to ``path`` as Chrome trace JSON (chrome://tracing, Perfetto):
        forward events on one track, backward on another, ranges and modules nested.

        Example:
            >>> import json, os, tempfile
            >>> import tapegrad as tg
            >>> from tapegrad.profiler import profile
            >>> with profile() as prof:
            ...     tg.ones(2, requires_grad=True).exp().sum().backward()
            >>> path = os.path.join(tempfile.mkdtemp(), "trace.json")
            >>> prof.export_chrome_trace(path)
            >>> sorted({e["tid"] for e in json.load(open(path))["traceEvents"] if e["ph"] == "X"})
            [1, 2]
        """
        import json
        self._require_done("export_chrome_trace")
        s = self._session
        trace = chrome_trace(s.events, s.t0, os.getpid(), max(len(s.threads), 1),
                             self.record_shapes, self.profile_memory)
        with open(path, "w") as f:
            json.dump(trace, f)

    def _require_done(self, what):
        if self._state == "running":
            raise RuntimeError(f"profile.{what}: the profile is still recording; call it "
                               "after the `with profile()` block ends (or after stop()).")

    def __str__(self):
        return self.table() if self._state == "done" else repr(self)


class record_function:
    """Mark a range of code: it appears in the profile's table and trace under ``name``,
    and the ops inside it are its children. Costs nothing while no profile is active.
    A context manager or a decorator (each call then opens its own range).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.profiler import profile, record_function
        >>> with profile() as prof:
        ...     with record_function("scale"):
        ...         y = tg.ones(2) * 3
        >>> [r.key for r in prof.key_averages()]
        ['scale', 'mul']
    """

    def __init__(self, name, args=None):
        if not isinstance(name, str):
            raise ArgumentError(f"record_function: name must be a str, got "
                                f"{type(name).__name__}")
        self.name, self.args = name, args
        self._event = self._session = None

    def __enter__(self):
        session = _record._current[0]
        if session is not None:
            self._session = session
            self._event = session.open(self.name, _record._RANGE)
        return self

    def __exit__(self, *exc):
        if self._event is not None:
            if self._session is _record._current[0]:   # else the profile ended and closed it
                self._session.close(self._event)
            self._event = self._session = None

    def __call__(self, fn):
        name = self.name

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with record_function(name):        # a fresh range per call: recursion nests
                return fn(*args, **kwargs)
        return wrapper
