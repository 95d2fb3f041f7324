"""The leak sentinel: a warning, once, when a training loop keeps its graphs alive.

# Note [The leak sentinel]
The pitfall: a loop keeps a tensor that carries its graph (``losses.append(loss)``,
``total += loss``), so every iteration's graph stays alive. What stays alive is measured
(tracemalloc and a count of live nodes, gc disabled, a 32-64-10 MLP, batch 128):
- ``losses.append(loss)`` / ``total += loss`` after ``loss.backward()``: the backward freed
  the saved arrays, so the saved bytes stay 0; what grows is the graph's *nodes* (4 per
  iteration here, 5 with the running total's add, about 2 KB), and the first graph's
  parameter accumulators stay alive with them. A slow leak, but without end.
- the same loops with ``backward(retain_graph=True)``: nodes and their saved arrays (40 KB a
  step here: the activations).
- graphs that never see a backward, kept: an evaluation run with grad on doing
  ``total += loss`` between training steps: nodes and saved arrays (40 KB a step again).
  None of their roots ever passes through backward().
So "the live saved bytes grow" (the issue's words) holds only for the last two; the trigger
looks at what grows in all three, the graphs themselves, through two cheap signals read at
each top-level ``backward()`` (``Tensor.backward``, ``autograd.backward``; never
``autograd.grad``, so func transforms, GradientTape and checkpoint's inner backward are
not watched):

A. Old roots alive. The record keeps weak references to the root nodes of earlier
   backward() calls whose graphs are still alive (dead ones are dropped at each call; the
   same root again, as in a retain_graph loop over one graph, counts once). Once
   ``_GRAPHS`` (8) of them are alive at the same time, the confirmation walks the graphs:
   an old graph that shares an interior node with the current one (rows of one Jacobian,
   heads on a shared trunk) is part of it, not a kept one. If 8 independent old graphs
   remain, warn; otherwise drop the others and confirm again once 8 more roots came (so the
   walks run at most once per 8 calls).
B. A parameter's consumers. Each graph that uses a parameter holds the parameter's
   ``AccumulateGrad`` node, so its reference count is the number of live uses of the
   parameter (the leaf itself holds the node only weakly). Each call reads the count of one
   accumulator, the probe: the first one a short breadth-first search from the root finds,
   searched again when it died and every 16 calls (the program may have moved on to another
   model). If the count rose at ``_GRAPHS`` calls with no fall between them, confirm: count
   the uses inside the current graph (a walk); the rest are uses by graphs the current
   backward does not reach. Warn if those are at least ``_GRAPHS`` uses and at least
   ``_RATIO`` times the current graph's own (so a growing graph, an RNN over longer
   sequences, is not a leak, nor is keeping the previous iteration's loss as well);
   otherwise start over. This catches the kept evaluation graphs, which A cannot see.

Stays silent: the corrected loops (``loss.item()``, ``float(loss)``, ``detach()``), keeping
only the last loss (one old graph), retain_graph over one graph, grad()-based code. Warns
on something that is not a leak when a program holds 8 independent graphs and then
backwards each one (``[f(b) for b in batches]`` then a backward per loss): they are held,
all at once, as a leak would hold them. Not flagged: one graph that grows because each step
builds on the last (an RNN's hidden state carried without ``detach()``, retain_graph=True):
every backward reaches all of it, as it reaches a graph that grows by design.

Cost: per backward() call, a few weak-reference calls and a reference count (about 1 us;
the probe search, when it runs, looks at a few nodes: the probe is usually a parent of the
root's first nodes); nothing per op. The walks, and the counts of nodes and bytes the warning
reports, happen only when a signal fires. benchmarks/leak_bench.py measures it on the MLP
step (target: under 2%). The sentinel's record lives in ``STATE.leaks``
(per thread): None (on, nothing seen), False (off), or the record; it warns once per
thread until ``set_leak_sentinel(True)`` re-arms it. Nodes die by reference counting (the
graph has no cycles: a leaf refers to its accumulator weakly), so neither signal depends on
when the cyclic garbage collector runs.
"""
import sys
import warnings
import weakref

from .._core.node import _PKG_DIR, AccumulateGrad, format_site
from .._core.state import STATE
from .inspect import format_bytes, owning_array, reachable_nodes, saved_arrays

__all__ = ["GraphLeakWarning", "set_leak_sentinel", "is_leak_sentinel_enabled"]

_GRAPHS = 8        # old graphs alive (A) / consumer rises (B) before a check
_RATIO = 3         # B: uses outside the current graph, per use inside it
_PROBE_NODES = 32  # B: nodes the probe search looks at, at most
_REPROBE = 16      # B: calls between searches while the probe lives
_getrefcount = sys.getrefcount
_ref = weakref.ref


class GraphLeakWarning(ResourceWarning):
    """Graphs from earlier iterations of a loop are being kept alive (the leak sentinel).

    Example:
        >>> import tapegrad as tg
        >>> issubclass(tg.autograd.GraphLeakWarning, ResourceWarning)
        True
    """


# Python ignores ResourceWarning by default; show this one (once per location) unless the
# user chose filters with -W / PYTHONWARNINGS, as the warnings docs advise for libraries'
# defaults. Filters added later (ignore, error) come first and win.
if not sys.warnoptions:
    warnings.filterwarnings("default", category=GraphLeakWarning)


def set_leak_sentinel(enabled):
    """Turn the leak sentinel on or off for this thread; turning it on also re-arms it.

    Args:
        enabled: True to watch backward() calls for graphs kept alive (the default), False
            to stop watching (it then costs one attribute read per backward).

    Example:
        >>> import tapegrad as tg
        >>> tg.autograd.set_leak_sentinel(False); tg.autograd.is_leak_sentinel_enabled()
        False
        >>> tg.autograd.set_leak_sentinel(True)
    """
    STATE.leaks = None if enabled else False


def is_leak_sentinel_enabled():
    """Whether the leak sentinel watches this thread's backward() calls.

    Example:
        >>> import tapegrad as tg
        >>> tg.autograd.is_leak_sentinel_enabled()
        True
    """
    return STATE.leaks is not False


class _Record:
    """What the sentinel remembers between backward() calls (one per thread)."""
    __slots__ = ("roots", "check_at", "probe", "probe_refs", "rises", "calls", "warned")

    def __init__(self):
        self.roots = []          # weakrefs to earlier roots whose graphs are alive
        self.check_at = _GRAPHS + 1   # how many roots in ``roots`` call for a confirmation
        self.probe = None        # weakref to the accumulator of signal B
        self.probe_refs = 0      # its reference count at the last call
        self.rises = 0           # calls at which that count rose, since it last fell
        self.calls = 0           # backward() calls seen (the probe is searched anew every 16)
        self.warned = False


def observe(tensors):
    """Called by ``autograd.backward`` before it runs: read both signals (Note [The leak
    sentinel]); warn if one confirms a leak."""
    rec = STATE.leaks
    if rec is None:
        rec = STATE.leaks = _Record()
    elif rec is False or rec.warned:
        return
    t = tensors[0] if tensors else None
    root = getattr(t, "_grad_fn", None)
    if root is None:
        return                   # a leaf, or not a tensor: backward reports that itself
    # Signal A: earlier roots still alive.
    roots, alive, seen = rec.roots, [], False
    for r in roots:
        node = r()
        if node is not None:
            alive.append(r)
            seen = seen or node is root
    if not seen:
        alive.append(_ref(root))
    rec.roots = alive
    if len(alive) >= rec.check_at and _check_roots(rec, root):
        return
    # Signal B: uses of one parameter's accumulator.
    probe = rec.probe
    acc = probe() if probe is not None else None
    rec.calls += 1
    if acc is None or rec.calls % _REPROBE == 0:
        found = _find_probe(root)
        if found is not acc:
            # (a new probe: the last one died with its graphs, or the program moved on)
            rec.probe = None if found is None else _ref(found)
            rec.probe_refs, rec.rises = (0 if found is None else _getrefcount(found)), 0
            return
    refs = _getrefcount(acc)
    if refs > rec.probe_refs:
        rec.rises += 1
    elif refs < rec.probe_refs:
        rec.rises = 0
    rec.probe_refs = refs
    if rec.rises >= _GRAPHS:
        _check_probe(rec, root, acc, refs)


def _find_probe(root):
    """The first accumulator within ``_PROBE_NODES`` nodes of ``root`` (breadth first)."""
    queue = [root]
    for node in queue:                    # (the list grows while it is read: a queue)
        for p in node.parents:
            if p is not None:
                if type(p) is AccumulateGrad:
                    return p
                if len(queue) < _PROBE_NODES:
                    queue.append(p)
    return None


def _interior(root):
    """The nodes of root's graph other than accumulators (leaves are shared by design)."""
    return {id(n) for n in reachable_nodes([root]) if type(n) is not AccumulateGrad}


def _independent(old, inside):
    """Whether the graph of ``old`` shares no interior node with the set ``inside``."""
    stack, seen = [old], set()
    while stack:
        n = stack.pop()
        if id(n) in seen or type(n) is AccumulateGrad:
            continue
        if id(n) in inside:
            return False
        seen.add(id(n))
        stack.extend(p for p in n.parents if p is not None)
    return True


def _check_roots(rec, root):
    """Signal A's confirmation: warn if enough kept graphs are independent of the current
    one; otherwise forget the others and check again once 8 more roots came (so the walks
    run at most once per 8 calls). Returns whether it warned."""
    inside = _interior(root)
    old = [n for n in (r() for r in rec.roots) if n is not None and n is not root]
    kept = [n for n in old if _independent(n, inside)]
    if len(kept) < _GRAPHS:
        rec.roots = [_ref(n) for n in kept] + [_ref(root)]
        rec.check_at = len(rec.roots) + _GRAPHS
        return False
    nodes, saved = _held(kept, inside)
    sites = _sites(kept)
    _warn(rec,
          f"backward: {len(kept)} graphs from earlier backward() calls are still alive, "
          f"each ending in a loss created at {sites}; together they hold {nodes} nodes and "
          f"{format_bytes(saved)} of saved values, and the count grows with every iteration "
          "(a backward without retain_graph frees the saved values, not the graph). Something "
          "the loop keeps refers to them: a list of losses or a running total that is a "
          "tensor. Keep numbers instead: losses.append(loss.item()), total += float(loss), or "
          "loss.detach().")
    return True


def _check_probe(rec, root, acc, refs):
    """Signal B's confirmation: the probe's uses outside the current graph, from ``refs``,
    its reference count read in observe()."""
    graph = reachable_nodes([root])
    inside = sum(n.parents.count(acc) for n in graph if type(n) is not AccumulateGrad)
    held = 1 if acc.variable._accum is acc else 0          # a leaf with hooks holds it
    outside = refs - _FRAME_REFS - inside - held
    if outside < _GRAPHS or outside < _RATIO * max(inside, 1):
        rec.rises = 0
        return
    ids = {id(n) for n in graph}
    users = [n for n in _consumers(acc) if id(n) not in ids]
    nodes, saved = _held(users, ids)
    shape = tuple(acc.variable._data.shape)
    _warn(rec,
          f"backward: a tensor of shape {shape} that requires grad (a parameter) is used by "
          f"{outside} ops of graphs this backward does not reach, created at "
          f"{_sites(users)}; their count grows with every iteration and they hold {nodes} "
          f"nodes and {format_bytes(saved)} of saved values that no backward will free. A loop "
          "keeps graphs it never differentiates: often an evaluation run with grad enabled "
          "that sums its losses. Evaluate under tapegrad.no_grad() (or inference_mode()), and "
          "keep numbers: total += float(loss), losses.append(loss.item()), or "
          "loss.detach().")


def _consumers(acc):
    """The nodes whose inputs include ``acc`` (found through the garbage collector's
    referrers: only on the warning's path)."""
    import gc
    tuples = [t for t in gc.get_referrers(acc) if type(t) is tuple]
    return [n for t in tuples for n in gc.get_referrers(t)
            if getattr(n, "parents", None) is t]


def _held(starts, exclude):
    """(op nodes, saved bytes) reachable from ``starts`` outside the ids in ``exclude``;
    each saved buffer counted once."""
    nodes, buffers = 0, {}
    for n in reachable_nodes(starts):
        if id(n) in exclude or type(n) is AccumulateGrad:   # (leaves are not the leak)
            continue
        nodes += 1
        for a in saved_arrays(n)[0]:
            b = owning_array(a)
            buffers[id(b)] = b.nbytes
    return nodes, sum(buffers.values())


def _sites(nodes):
    """The creation lines of ``nodes``, most common first: 'train.py:12 (x8)'."""
    counts = {}
    for n in nodes:
        s = format_site(n.site)
        counts[s] = counts.get(s, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    text = ", ".join(f"{s} (x{k})" if k > 1 else s for s, k in ranked[:3])
    return text + (", ..." if len(ranked) > 3 else "")


def _warn(rec, message):
    rec.warned = True
    rec.roots, rec.probe = [], None       # hold nothing of the user's once done
    level, f = 1, sys._getframe(0)    # (level 1 is this frame)
    while f is not None and f.f_code.co_filename.startswith(_PKG_DIR):
        f, level = f.f_back, level + 1
    warnings.warn(
        message + " To silence this: warnings.filterwarnings('ignore', "
        "category=tapegrad.autograd.GraphLeakWarning), or "
        "tapegrad.autograd.set_leak_sentinel(False).", GraphLeakWarning, stacklevel=level)


def _calibrate():
    """References in observe()'s count that are not uses: its local ``acc`` and
    getrefcount's argument (interpreter-dependent, so measured the same way)."""
    acc = object()
    return _getrefcount(acc)


_FRAME_REFS = _calibrate()
