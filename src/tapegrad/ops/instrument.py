"""Instruments: tools that watch every op run (the profiler, anomaly detection) without a
cost on the hot path while none is active.

# Note [Instruments]
A profiler has to time every op's forward and every rule's backward; anomaly detection has
to look at what each one produced. Asking "is anything watching?" inside ``apply`` and the
engine loop would cost every op of every program a flag read. Instead an active instrument
swaps the ``forward`` and ``vjp`` of every ``OpDef`` for wrapped versions, and taking it
away puts the originals back: while none is active the op table holds exactly the functions
it was built with, so the hot path is the one measured without instruments.

Instruments compose: the wrapped function is rebuilt from the original through every
active instrument in the order they were added (the first added is innermost), so an
instrument can be removed in any order. The swap is process-wide, like PyTorch's profiler;
an instrument that follows a thread-local mode (``detect_anomaly``) checks the mode in its
wrapper. Ops registered while an instrument is active are wrapped as they arrive, and
OpDefs made outside the table (a custom Function's node op) join through ``track``.
"""
import weakref

from . import registry
from .registry import REGISTRY

_ORIGINALS = {}          # OpDef -> (forward, vjp) as built, for the ops now wrapped
_ACTIVE = []             # active instruments, first added first
_TRACKED = weakref.WeakSet()     # OpDefs outside REGISTRY that instruments should see


class Instrument:
    """Base class: override ``wrap_forward`` and/or ``wrap_vjp``. Each gets the op and the
    function to wrap (the original, or an inner instrument's wrapper) and returns the
    function to call instead (or the same one to leave it alone)."""

    def wrap_forward(self, op, fn):
        return fn

    def wrap_vjp(self, op, fn):
        return fn


def add(instrument):
    """Start wrapping every op with ``instrument`` (see Note [Instruments])."""
    if instrument in _ACTIVE:
        raise RuntimeError(f"instrument {instrument!r} is already active")
    _ACTIVE.append(instrument)
    _rebuild()


def remove(instrument):
    """Stop wrapping ops with ``instrument``; a no-op if it isn't active."""
    if instrument in _ACTIVE:
        _ACTIVE.remove(instrument)
        _rebuild()


def active():
    """The active instruments, first added first (a copy)."""
    return list(_ACTIVE)


def track(op):
    """Let instruments see ``op``, an OpDef not in the registry (custom Functions' node ops);
    returns it. Cheap enough for class creation time."""
    _TRACKED.add(op)
    if _ACTIVE:
        _wrap(op)
    return op


def _all_ops():
    return list(REGISTRY.values()) + list(_TRACKED)


def _wrap(op):
    forward, vjp = _ORIGINALS.setdefault(op, (op.forward, op.vjp))
    for inst in _ACTIVE:
        if forward is not None:
            forward = inst.wrap_forward(op, forward)
        if vjp is not None:
            vjp = inst.wrap_vjp(op, vjp)
    op.forward, op.vjp = forward, vjp


def _rebuild():
    for op in _all_ops():
        if op in _ORIGINALS:                  # back to the functions it was built with
            op.forward, op.vjp = _ORIGINALS.pop(op)
    if _ACTIVE:
        for op in _all_ops():
            _wrap(op)


def _on_register(op):
    """Wrap an op registered while instruments are active (called by registry.register)."""
    if _ACTIVE:
        _wrap(op)


registry.ON_REGISTER.append(_on_register)


def original_forward(op):
    """``op``'s forward as built, whatever instruments wrap it now."""
    return _ORIGINALS.get(op, (op.forward, None))[0]

