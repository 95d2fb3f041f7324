"""What happens when a tensor saved for backward is changed in place: three guard modes.

# Note [Mutation guard]
An op that saves a tensor for its gradient (mul its inputs, exp its output) needs the
tensor's values unchanged until its backward runs. Every storage has a version counter
(``Version``), shared by a tensor, its views and its detached aliases; a saved value
records the version it was saved at, and every in-place change bumps it. The mode
(``set_mutation_guard``, per thread: ``STATE.mutation_guard``) decides what a change does:

- "error-at-backward" (the default; PyTorch's behaviour): nothing at the write; backward
  finds the version moved and raises, naming the line that saved and the line that changed.
- "error-now": the in-place op raises at the line that changes the tensor, before writing.
- "copy-on-write": the first in-place write to a storage that live nodes saved from first
  gives each of those nodes a private copy of its saved value, so backward gives the
  gradients of the program as if the saved values had not changed. ``inspect`` shows the
  copies' bytes ("copied on write").

The mode in force when a value is saved decides how it is guarded, as for
saved_tensors_hooks: a graph recorded under "copy-on-write" stays protected after the
context ends, and a value saved in the default mode is checked at backward whatever the mode
is when it is changed.

Mechanism. The default mode's hot path knows nothing of the guard. Another mode puts a marker
(``GUARD_HOOKS``) into ``STATE.saved_hooks``, so record_node takes its rare saved-tensor-hooks
branch (Note [Saved-tensor hooks] in graph.py), which saves exactly what the plain path
saves (arrays on the node; name, tensor, counter, version per value) and then calls
``_watch``: a watcher (the node, held weakly; the saved value's name; the mode) joins the
counter's ``watchers`` list. A custom Function's save_for_backward goes through
``pack_for_function`` the same way. So the engine's fast path, its node-as-ctx and its
version check are unchanged: a write the guard does not see (below) still raises at
backward. The in-place side (``apply_inplace``, setitem's direct write, ``ctx.mark_dirty``)
reads the written tensor's counter before writing; ``watchers`` is None until a guard
watches it, so tensors nobody guards pay two attribute reads per in-place op, nothing per
other op. A view shares its base's counter, so a write through a view reaches the watchers
of values saved from the base, and a write to the base those of a saved view.
``Watchers.fire`` ignores (and drops) the watchers whose node died, whose saved values a
backward freed, or whose entry was already copied; ``_watch`` prunes the list as it grows (a
parameter saved anew each step), so a watcher lives about as long as its graph.

Copying replaces the node's saved array (``node.x``, ``y``, ``z``, ``out``) and its entry:
the entry's tensor becomes a stand-in holding the copy with the history the value had when
it was saved (the node's parent edge for an input), so a backward with create_graph=True
records through it as before, and its counter a private ``Copied`` one (never bumped). A
custom Function's entry and its ctx's ``_saved`` are replaced alike. Nodes that saved the
same array share one copy. A backward recorded with create_graph=True wraps a node's saved
output in a tensor of its own; saved under a guard, that tensor shares the output's counter
(registry._out_counter), so a write to the output reaches the recorded backward's nodes too.

What the guard does not see: writes that bypass tapegrad's in-place ops (optimizer steps,
nn.init, gradient accumulation into ``.grad``, NumPy writes through ``.numpy()``) are caught
by backward's version check, as in the default mode (writes through ``.data``, by nothing,
as in PyTorch). A custom Function whose forward changes an input through NumPy and then
marks it dirty: "error-now" raises at ``mark_dirty``, after the change; "copy-on-write" can't
copy what is already overwritten and leaves it to backward's check (an input forward changes
with tapegrad's in-place ops is caught at that op, before the write). Under user
saved_tensors_hooks (save_on_cpu, checkpoint) the hooks own what they pack and see the
original values, as in PyTorch, which does not version-check hooked values either: the guard
does not watch those values (save_on_cpu's copies need no guard).
"""
import weakref

from .._core.errors import ArgumentError, GradError
from .._core.node import AccumulateGrad, capture_site, format_site
from .._core.state import STATE
from .._core.tensor import wrap
from ..ops.registry import GUARD_HOOKS, Copied
from .function import _FunctionNode
from .grad_mode import _Mode

__all__ = ["set_mutation_guard", "get_mutation_guard", "mutation_guard", "MODES"]

DEFAULT = "error-at-backward"
ERROR_NOW = "error-now"
COPY_ON_WRITE = "copy-on-write"
MODES = (DEFAULT, ERROR_NOW, COPY_ON_WRITE)
_SLOT_INDEX = {"x": 0, "y": 1, "z": 2}


def _checked(mode, caller):
    if mode not in MODES:
        raise ArgumentError(
            f"{caller}: mode must be one of {', '.join(repr(m) for m in MODES)}, got {mode!r}.")
    return mode


def set_mutation_guard(mode):
    """Choose what an in-place change to a tensor saved for backward does (this thread).

    Values saved while a mode is in force keep its protection until their backward.

    Args:
        mode: ``"error-at-backward"`` (default, as PyTorch: backward raises),
            ``"error-now"`` (the in-place op raises, before writing) or
            ``"copy-on-write"`` (the saved value is copied first; backward stays correct).

    Example:
        >>> import tapegrad as tg
        >>> tg.autograd.set_mutation_guard("error-now")
        >>> tg.autograd.get_mutation_guard()
        'error-now'
        >>> tg.autograd.set_mutation_guard("error-at-backward")
    """
    mode = _checked(mode, "set_mutation_guard")
    STATE.mutation_guard = None if mode == DEFAULT else mode
    hooks = STATE.saved_hooks
    # (under user hooks the marker waits: saved_tensors_hooks.__exit__ puts it back)
    if hooks is None or hooks is GUARD_HOOKS:
        STATE.saved_hooks = GUARD_HOOKS if STATE.mutation_guard is not None else None


def get_mutation_guard():
    """The mutation guard mode in force in this thread.

    Example:
        >>> import tapegrad as tg
        >>> tg.autograd.get_mutation_guard()
        'error-at-backward'
    """
    return STATE.mutation_guard or DEFAULT


class mutation_guard(_Mode):
    """Context manager (or decorator): set the mutation guard mode inside, restore it after.

    Contexts nest, and the previous mode comes back even when the block raises. See
    :func:`set_mutation_guard` for the modes.

    Args:
        mode: ``"error-at-backward"``, ``"error-now"`` or ``"copy-on-write"``.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> with tg.autograd.mutation_guard("copy-on-write"):
        ...     a = x * 1; y = (a * a).sum()      # mul saves a
        ...     _ = a.add_(10)                    # copies the saved a first
        >>> y.backward(); x.grad                  # d(sum x^2) = 2x, unaffected
        tensor([2., 4.])
    """

    def __init__(self, mode):
        self.mode = _checked(mode, "mutation_guard")
        self._prev = []          # a stack: one instance may be entered again inside itself

    def _fresh(self):
        return mutation_guard(self.mode)

    def _enter(self):
        self._prev.append(get_mutation_guard())
        set_mutation_guard(self.mode)

    def _exit(self):
        set_mutation_guard(self._prev.pop())


# ---- watching ---------------------------------------------------------------------------------
class Watchers(list):
    """The watchers of one version counter: (node weakref, saved name, mode) each, for the
    values live nodes saved from that storage (Note [Mutation guard])."""
    __slots__ = ()

    def live(self, vc):
        """[(watcher, node, index of its entry in node.saved)] for the watchers still
        guarding something: node alive, saved values not freed, entry not copied."""
        found = []
        for w in self:
            node = w[0]()
            saved = None if node is None else node.saved
            if saved:
                name = w[1]
                for k in range(0, len(saved), 4):
                    if saved[k + 2] is vc and saved[k] == name:
                        found.append((w, node, k))
                        break
        return found

    def fire(self, vc, name, dirty=False):
        """Before tensor storage ``vc`` is written by ``name`` (an in-place op, setitem;
        ``dirty``: a custom Function's mark_dirty): raise for values saved under "error-now",
        else copy those saved under "copy-on-write"."""
        live = self.live(vc)
        if not live:
            vc.watchers = None
            return
        errors = [(node, k) for w, node, k in live if w[2] == ERROR_NOW]
        if errors:
            self[:] = [w for w, _, _ in live]
            raise _error(name, errors, dirty)
        if dirty:
            return      # maybe already overwritten (through NumPy): backward's check decides
        copies = {}
        for _, node, k in live:
            _copy(node, k, copies)
        vc.watchers = None


def _watch(node, saved):
    """Watch the counters of ``node``'s flat saved entries in the current mode (installed as
    GUARD_HOOKS[0]: called by registry._save_guarded and graph.pack_for_function)."""
    mode = STATE.mutation_guard
    ref = weakref.ref(node)
    for k in range(0, len(saved), 4):
        vc = saved[k + 2]
        ws = vc.watchers
        if ws is None:
            ws = vc.watchers = Watchers()
        else:
            n = len(ws)
            if n >= 16 and not n & (n - 1):     # at each power of two: amortized O(1)
                # (node's own watchers stay: its saved entries are not in place yet)
                others = Watchers(w for w in ws if w[0]() is not node)
                keep = {id(w) for w, _, _ in others.live(vc)}
                ws[:] = [w for w in ws if id(w) in keep or w[0]() is node]
        ws.append((ref, saved[k], mode))


GUARD_HOOKS[0] = _watch


def _error(name, errors, dirty):
    """The GradError for a write (by ``name``) to values saved under "error-now": ``errors``
    lists (node, entry index); the first node's values are named, the others counted."""
    node = errors[0][0]
    saved = node.saved
    ks = [k for n, k in errors if n is node]
    t, version = saved[ks[0] + 1], saved[ks[0] + 3]
    shape = tuple((t._data if t is not None else node.out).shape)
    names = [f"'{saved[k]}'" for k in ks]
    values = " and ".join(names) if len(names) < 4 else f"{names[0]} and {len(names) - 1} more"
    others = len({id(n) for n, _ in errors}) - 1
    more = f" (as did {others} other node{'s' * (others > 1)})" if others else ""
    story = (f"the value{'s' * (len(ks) > 1)} {values} that '{node.op.name}' (created at "
             f"{format_site(node.site)}) saved for its gradient (a tensor of shape {shape}, "
             f"saved at version {version}){more}")
    site = format_site(capture_site(1))
    fix = ("clone() the tensor before changing it, or have the saved value copied: "
           "tapegrad.autograd.set_mutation_guard('copy-on-write').")
    if dirty:
        return GradError(
            f"{name} at {site} declares an in-place change to a tensor that holds {story}; the "
            "mutation guard ('error-now') refuses it. (A change forward made with tapegrad's "
            "in-place ops would have been stopped before writing; one made through NumPy has "
            f"already happened.) Apply the Function to a clone() of the tensor, or {fix}")
    return GradError(
        f"{name} at {site} would overwrite {story}; the mutation guard ('error-now') stopped "
        "it, and nothing was written. Use the out-of-place form (x = x + 1 instead of "
        f"x += 1), {fix}")


def _copy(node, k, copies):
    """Give ``node`` a private copy of its saved entry ``k`` (Note [Mutation guard]).
    ``copies`` memoizes, for one write, the copy of each array (by id) and the stand-in of
    each saved tensor, so nodes that saved the same value share them."""
    saved = node.saved
    name, t = saved[k], saved[k + 1]
    if isinstance(node, _FunctionNode):
        c = _copied(t._data, copies)
        stand = _stand_in(c, t, _history_of(t), copies)
        ctx = node._ctx
        ctx._saved = tuple((stand if e is t else e, i) for e, i in ctx._saved)
    else:
        c = _copied(getattr(node, name), copies)
        setattr(node, name, c)
        stand = None if t is None else _stand_in(c, t, node.parents[_SLOT_INDEX[name]], copies)
    node.saved = saved[:k] + (name, stand, Copied(), 0) + saved[k + 4:]


def _copied(arr, copies):
    got = copies.get(id(arr))
    if got is None:
        got = copies[id(arr)] = (arr, arr.copy())     # (arr kept: its id stays unique)
    return got[1]


def _history_of(t):
    """The node gradients of ``t`` flow into (grad_fn or leaf accumulator), or None."""
    if t._grad_fn is not None:
        return t._grad_fn
    return t._accumulator() if t._requires_grad else None


def _stand_in(c, t, parent, copies):
    """A Tensor holding copy ``c`` of ``t``'s values, with history ``parent`` (what the
    rule's ctx sees under create_graph=True) and t's forward-mode tangents."""
    key = (id(t), id(parent), id(c))
    got = copies.get(key)
    if got is not None:
        return got[2]
    if parent is None:
        s = wrap(c)
    elif type(parent) is AccumulateGrad:
        s = wrap(c)
        s._requires_grad = True
        s._accum = parent          # held strongly, as graph._with_history does
    else:
        s = wrap(c, parent)
    s._fw = t._fw
    copies[key] = (t, parent, s)
    return s
