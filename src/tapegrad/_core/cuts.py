"""The cut log: where values that require grad left the graph, for ``autograd.explain``.

# Note [Cut events]
A gradient is None when the chain of recorded ops from the input to the output is broken,
and the break leaves no node behind: ``detach()``, ``.item()``, ``.numpy()``, ``float(t)``,
an op run under ``no_grad``, a comparison. So the places that break a chain append one small
event to a per-thread log instead: (kind, op name, site, sources, link), where

- ``kind`` is "detach", "data", "numpy", "item", "tolist", "float", "int" (a method called
  on a tensor that requires grad, grad mode on), "detach+numpy", "detach+item", ... (one of
  those calls on the tensor a detach() just returned, as in ``y.detach().numpy()``),
  "no_grad" / "inference_mode" (an op that ran with grad mode off on an input that requires
  grad) or "nondiff" (an op whose output is integer or bool, so it is never recorded);
- ``site`` is the user's (code, lasti), as nodes keep it (Note [Creation sites]);
- ``sources`` holds weak references to what the value came from: the grad_fn of each input
  that requires grad, or the tensor itself for a leaf; for a method call also the nodes that
  grad_fn consumes (``h.sum().item()``: the sum dies at once, h's node lives on). Weak, so
  that the log never keeps a graph (and its saved arrays) alive; an event whose sources all
  died (temporaries, as in ``(w * 2).sum().item()``) can't be tied to an input any more,
  and explain() lists such events only as possible causes;
- ``link`` ties the event to the tensor it produced, where there is one: the version counter
  a detach() shares with its result (or the fresh one ``.data`` gives its result), a weak
  reference to an op's result.

The log keeps the last ``LIMIT`` (256) events per thread (a deque: appending is O(1) and an
old event falls off the end), so a loop that calls ``loss.item()`` every step does not grow
it. Only user calls are logged: a detach(), an item() or a comparison made inside tapegrad (a
straight-through trick, an optimizer reading a number, a loss's mask) is not a cut the user
made. Nothing is added to the recording path: detach() and the conversions are not per-op
calls, and ``apply`` reaches ``op_cut`` only from its non-recording branch, and only when
some input requires grad (see ops/registry.py). The cost (about a microsecond per event) is
in benchmarks/explain_bench.py.
"""
import sys
import threading
import weakref
from collections import deque

from .node import _PKG_DIR, AccumulateGrad, capture_site
from .state import STATE

LIMIT = 256

_getframe = sys._getframe
_ref = weakref.ref


class _Log(threading.local):
    def __init__(self):          # runs once per thread, on its first use of the log
        self.events = deque(maxlen=LIMIT)


_LOG = _Log()


def events():
    """This thread's cut events, oldest first (a list copy of the log)."""
    return list(_LOG.events)


def clear():
    """Forget this thread's cut events."""
    _LOG.events.clear()


def _source(t):
    """A weak reference to where gradients for ``t`` would go: its grad_fn, or t (a leaf)."""
    node = t._grad_fn
    return _ref(t if node is None else node)


def _sources(t):
    """``_source(t)``, plus the nodes t's grad_fn consumes (a leaf's accumulator as the leaf
    tensor, which outlives it): in ``h.sum().item()`` the sum is a temporary that dies at
    once, but h is usually still held, so the cut can still be tied to what h came from."""
    node = t._grad_fn
    if node is None:
        return (_ref(t),)
    refs = (_ref(node),)
    for p in node.parents:
        if p is not None:
            refs += (_ref(p.variable if type(p) is AccumulateGrad else p),)
    return refs


def left_graph(t, kind, link=None):
    """Log that user code called ``kind`` (detach, item, ...) on ``t``, which requires grad.

    Call it as ``left_graph(self, ...)`` straight from the Tensor method the user called:
    the user's frame is then two frames up. Calls made from tapegrad's own code are skipped.
    """
    if not STATE.grad_enabled:
        return
    try:
        f = _getframe(2)
    except ValueError:           # called from C with no Python caller: no user line to name
        return
    code = f.f_code
    if code.co_filename.startswith(_PKG_DIR):
        return
    _LOG.events.append((kind, None, (code, f.f_lasti), _sources(t), link))


def after_detach(t, kind):
    """``kind`` called on ``t``, which does not require grad: if the last event is a detach()
    that returned t (they share a version counter), relabel it "detach+<kind>"."""
    log = _LOG.events
    if log:
        last = log[-1]
        if last[0] == "detach" and last[4] is t._vc:
            log[-1] = ("detach+" + kind,) + last[1:]


def op_cut(name, args, result, depth=3, exact=False):
    """Log that op ``name`` ran on ``args`` (some requiring grad) without recording a node:
    grad mode is off, or ``result`` is integer/bool.

    ``depth``: how many frames up from this function the user's frame usually is (default:
    called from apply, called from the public function). ``exact``: it is always exactly
    there when the user called the op, so a tapegrad frame there means tapegrad's own code
    called it (a loss's internal comparison): not logged. Otherwise the site is found as a
    node's is (Note [Creation sites]): an op run under no_grad by a module the user called
    is still the user's cut, at the line that called the module.
    """
    if exact:
        try:
            f = _getframe(depth)
        except ValueError:       # as in left_graph
            return
        code = f.f_code
        if code.co_filename.startswith(_PKG_DIR):
            return
        site = (code, f.f_lasti)
    else:
        site = capture_site(depth + 1)
    if STATE.grad_enabled:
        kind = "nondiff"
    else:
        kind = "inference_mode" if STATE.inference else "no_grad"
    sources = ()
    for a in args:      # (Tensors, arrays, numbers: only a Tensor has _requires_grad)
        if getattr(a, "_requires_grad", False):
            sources += (_source(a),)
    _LOG.events.append((kind, name, site, sources, _ref(result)))
