"""The profiler's recording side: what runs while a ``profile`` is active.

# Note [Profiler recording]
Entering a ``profile`` adds an instrument (Note [Instruments] in ops/instrument.py) that wraps
every op's forward and every rule's vjp, and, for as long as it is active, swaps four
attributes for wrappers: ``autograd.engine.run_backward`` (the walk itself: what backward
spends between rules), ``autograd.Function.apply`` (a custom Function's forward runs outside
any op's forward), ``nn.Module.__call__`` (which module is running) and
``ops.registry.record_node`` (which module made each node, so that its backward can be
charged to that module). Leaving puts every original back, even on an exception, so while no
profile is active nothing of the profiler is on any path an op takes.

Each call becomes an ``Event`` with its start and end (``perf_counter_ns``), its parent (the
event open on the same thread when it started) and what the tables group by:
- kind: "op" (a primitive's forward), "backward" (a rule, named as PyTorch names grad_fns,
  ``MulBackward0``), "engine" (one backward()/grad() walk, named so: its self time is the
  engine's own work), "function" (a custom Function's apply), "range" (``record_function``)
  and "module" (an ``nn.Module`` call; in the trace and the by-module table only);
- phase: backward for a rule, a walk and everything under them, else the parent's, else
  forward;
  the Chrome trace draws each phase on its own track;
- site: the user's line (``format_site``). An event under an op, a rule or a Function
  inherits its parent's: the primitives of a composite op belong to the line that called
  it, and what a rule computes to the line that created its node (``node.site``). Other
  events walk the stack to the first frame outside tapegrad (only while profiling);
- module: the dotted path of the innermost running module (``Sequential.0``), the
  root named by its class; a rule's is the one that was running when its node was made.
Self time is the event's duration less its children's; a parent's total includes theirs.
Bytes are the nbytes of what the op returned (0 for a view op); a parent's total memory
includes its children's.

The active profile is process-wide, as instruments are, so one may be active at a time;
each thread keeps its own stack of open events.
"""
import sys
import threading
import weakref
from time import perf_counter_ns

from .._core.node import _PKG_DIR, Node, format_site   # (tapegrad's own files, for the walk)
from .._core.tensor import Tensor
from ..ops import instrument, registry

_getframe = sys._getframe
_OP, _BACKWARD, _FUNCTION, _RANGE, _MODULE = "op", "backward", "function", "range", "module"
_ENGINE = "engine"
_INHERITS = frozenset((_OP, _BACKWARD, _FUNCTION))   # children take these events' site
FORWARD, BACKWARD = 0, 1
NO_MODULE = "(no module)"

_current = [None]     # the active _Session (process-wide, as instruments are)


class Event:
    """One timed call: an op's forward, a rule, a Function, a range or a module call.

    Times are in microseconds, as PyTorch's FunctionEvent gives them."""
    __slots__ = ("name", "kind", "phase", "thread", "start_ns", "end_ns", "child_ns", "parent",
                 "site", "module", "input_shapes", "self_bytes", "child_bytes")

    @property
    def key(self):
        return self.name

    @property
    def count(self):
        return 1

    @property
    def cpu_time_total(self):
        return (self.end_ns - self.start_ns) / 1e3

    @property
    def self_cpu_time_total(self):
        return (self.end_ns - self.start_ns - self.child_ns) / 1e3

    cpu_time = cpu_time_total

    @property
    def cpu_memory_usage(self):
        return self.self_bytes + self.child_bytes

    @property
    def self_cpu_memory_usage(self):
        return self.self_bytes

    @property
    def line(self):
        """The user's line as 'file.py:12' ('<unknown>' if none was found)."""
        return format_site(self.site)

    @property
    def cpu_parent(self):
        return self.parent

    def __repr__(self):
        return (f"<Event {self.name} ({self.kind}, "
                f"{'backward' if self.phase else 'forward'}) at {self.line}, "
                f"{self.cpu_time_total:.3f}us>")


def _user_site():
    """(code, lasti) of the first frame outside tapegrad, as node sites are kept."""
    f = _getframe(2)
    while f is not None and f.f_code.co_filename.startswith(_PKG_DIR):
        f = f.f_back
    return None if f is None else (f.f_code, f.f_lasti)


def _shape(a):
    shape = getattr(a, "shape", None)
    if shape is not None:
        return list(shape)
    if isinstance(a, (list, tuple)):
        return [_shape(e) for e in a]
    return []


def _nbytes(out, inputs=()):
    """The bytes of ``out`` (an array, a Tensor, a tuple of them), less what is one of
    ``inputs`` handed back (a rule passing its cotangent through allocates nothing)."""
    if isinstance(out, (tuple, list)):
        return sum(_nbytes(o, inputs) for o in out)
    for a in inputs:
        if out is a:
            return 0
    if isinstance(out, Tensor):
        return out._data.nbytes
    return getattr(out, "nbytes", 0)


def _backward_name(op):
    """What PyTorch calls the node: ``MulBackward0``; a custom Function's ``CubeBackward``."""
    if op.name in registry.REGISTRY:
        return "".join(p.capitalize() for p in op.name.split("_")) + "Backward0"
    return op.name + "Backward"


class _Session(instrument.Instrument):
    """The recording of one ``profile``: the instrument, the patches and the events."""

    def __init__(self, record_shapes, profile_memory, with_stack, with_modules):
        self.record_shapes, self.profile_memory = record_shapes, profile_memory
        self.with_stack, self.with_modules = with_stack, with_modules
        self.events = []             # finished events, in the order they ended
        self.threads = {}            # thread ident -> index (0: the first seen)
        self.local = threading.local()
        self.node_module = weakref.WeakKeyDictionary()   # node -> module path
        self.module_names = {}       # (id(parent), id(child)) -> (child's name, parent, child)
        self.patches = []            # (owner, attribute, original) to put back
        self.t0 = self.t1 = None

    # ---- the open-event stack ---------------------------------------------------------------
    def _stack(self):
        loc = self.local
        stack = getattr(loc, "stack", None)
        if stack is None:
            stack = loc.stack = []
            loc.module = loc.module_obj = None
            self.threads.setdefault(threading.get_ident(), len(self.threads))
            loc.thread = self.threads[threading.get_ident()]
        return stack

    def open(self, name, kind, site=False, module=False, shapes=None):
        """Start an event; ``site``/``module`` False: take the parent's or find them."""
        loc = self.local
        stack = getattr(loc, "stack", None)
        if stack is None:
            stack = self._stack()
        ev = Event()
        if stack:
            parent = stack[-1]
            phase = parent.phase
            inherit = parent.kind in _INHERITS
        else:
            parent, phase, inherit = None, FORWARD, False
        if kind is _BACKWARD or kind is _ENGINE:
            phase = BACKWARD
        if site is False:
            site = parent.site if inherit else (_user_site() if self.with_stack else None)
        if module is False:
            module = parent.module if inherit else loc.module
        ev.name, ev.kind, ev.parent, ev.thread, ev.phase = name, kind, parent, loc.thread, phase
        ev.site, ev.module, ev.input_shapes = site, module, shapes
        ev.child_ns = ev.self_bytes = ev.child_bytes = 0
        stack.append(ev)
        ev.start_ns = perf_counter_ns()
        return ev

    def close(self, ev):
        ev.end_ns = end = perf_counter_ns()
        stack = self.local.stack      # (open made it, on this thread)
        if stack and stack[-1] is ev:
            stack.pop()
        elif ev in stack:          # closed out of order (a range left open inside an op)
            stack.remove(ev)
        parent = ev.parent
        if parent is not None:
            parent.child_ns += end - ev.start_ns
            parent.child_bytes += ev.self_bytes + ev.child_bytes
        self.events.append(ev)

    # ---- the instrument (Note [Instruments]) ------------------------------------------------
    def wrap_forward(self, op, fn):
        name, is_view = op.name, op.is_view
        session, open_, close = self, self.open, self.close

        def forward(*args, **params):
            ev = open_(name, _OP, shapes=[_shape(a) for a in args] if session.record_shapes
                       else None)
            try:
                out = fn(*args, **params)
                if session.profile_memory and not is_view:
                    ev.self_bytes = _nbytes(out, args)
            finally:
                close(ev)
            return out
        forward.__name__ = f"{name}_forward_profiled"
        return forward

    def wrap_vjp(self, op, fn):
        name = _backward_name(op)
        session, open_, close = self, self.open, self.close

        def vjp(ctx, *grads):
            if isinstance(ctx, Node):        # a recorded backward's Ctx knows no site
                site = ctx.site
                module = session.node_module.get(ctx) if session.node_module else None
            else:
                site = module = False
            ev = open_(name, _BACKWARD, site, module,
                       [_shape(g) for g in grads] if session.record_shapes else None)
            try:
                out = fn(ctx, *grads)
                if session.profile_memory:
                    ev.self_bytes = _nbytes(out, grads)
            finally:
                close(ev)
            return out
        vjp.__name__ = f"{name}_profiled"
        return vjp

    # ---- the patches ------------------------------------------------------------------------
    def _patch(self, owner, attr, replacement):
        self.patches.append((owner, attr, owner.__dict__[attr]))
        setattr(owner, attr, replacement)

    def install(self):
        from ..autograd import engine
        from ..autograd.function import Function
        from ..nn.modules.module import Module
        instrument.add(self)
        self.patches.append((None, None, None))       # marks the instrument as added
        session = self

        run_backward = engine.run_backward

        def run_backward_profiled(*args, caller="backward", **kwargs):
            ev = session.open(f"{caller}()", _ENGINE)
            try:
                return run_backward(*args, caller=caller, **kwargs)
            finally:
                session.close(ev)
        self._patch(engine, "run_backward", run_backward_profiled)

        apply = Function.__dict__["apply"].__func__

        def function_apply(cls, *args, **kwargs):
            ev = session.open(cls.__name__, _FUNCTION,
                              shapes=[_shape(a) for a in args] if session.record_shapes
                              else None)
            try:
                out = apply(cls, *args, **kwargs)
                if session.profile_memory:
                    ev.self_bytes = _nbytes(out)
                if ev.module is not None:
                    for t in (out if isinstance(out, (tuple, list)) else (out,)):
                        if isinstance(t, Tensor) and t._grad_fn is not None:
                            session.node_module[t._grad_fn] = ev.module
            finally:
                session.close(ev)
            return out
        self._patch(Function, "apply", classmethod(function_apply))
        if not self.with_modules:
            return

        call = Module.__dict__["__call__"]

        def module_call(mod, *args, **kwargs):
            session._stack()
            loc = session.local
            prev, prev_obj = loc.module, loc.module_obj
            path = session.module_path(prev, prev_obj, mod)
            kind = type(mod).__name__
            ev = session.open(path if path == kind else f"{path} ({kind})", _MODULE,
                              module=path)
            loc.module, loc.module_obj = path, mod
            try:
                return call(mod, *args, **kwargs)
            finally:
                loc.module, loc.module_obj = prev, prev_obj
                session.close(ev)
        self._patch(Module, "__call__", module_call)

        record_node = registry.record_node

        def record_node_in_module(op, args, arrays, params, out):
            result = record_node(op, args, arrays, params, out)
            module = getattr(session.local, "module", None)
            if module is not None:
                session.node_module[result._grad_fn] = module
            return result
        self._patch(registry, "record_node", record_node_in_module)

    def uninstall(self):
        while self.patches:
            owner, attr, original = self.patches.pop()
            if owner is None:
                instrument.remove(self)
            else:
                setattr(owner, attr, original)

    def module_path(self, parent_path, parent, mod):
        """``mod``'s dotted path: its name under the running module ``parent``, else (a root,
        or a module the parent does not own) its class name."""
        if parent is None:
            return type(mod).__name__
        key = (id(parent), id(mod))
        hit = self.module_names.get(key)
        if hit is None:
            name = next((n for n, m in parent.named_modules() if m is mod and n), None)
            hit = self.module_names[key] = (name, parent, mod)   # (keeps the ids alive)
        return type(mod).__name__ if hit[0] is None else f"{parent_path}.{hit[0]}"
