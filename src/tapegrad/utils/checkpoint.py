"""Gradient checkpointing: trade compute for memory (``torch.utils.checkpoint``'s API).

# Note [Checkpointing]
``checkpoint(fn, *args)`` (use_reentrant=False, the default) runs ``fn`` under saved-tensor
hooks (Note [Saved-tensor hooks] in autograd/graph.py) whose pack_hook keeps only a number
and the value's shape, dtype and op: the graph is recorded as usual, but none of the segment's
activations are kept, only ``args`` (and the random state). The first unpack during backward
runs ``fn`` again from ``args``, with grad mode on, the random state of the forward (so
dropout draws the same masks) and a pack_hook that collects the recomputed values in order;
it stops as soon as it has as many as the forward saved. Each unpack then hands out its value
and forgets it, so one segment's activations live at a time. The recomputation's own graph is
thrown away: under ``create_graph=True`` the engine gives the unpacked values the history of
the values they stand for, so second-order gradients flow through the original graph, and
each later backward through the same nodes recomputes again. The recomputation runs the same
ops on the same values in the same order, so gradients equal the plain run's exactly. The
determinism check compares each recomputed value's shape and dtype with the forward's.
Nested checkpoints need nothing special: the innermost hooks win, so the ops of an inner
checkpoint are packed (and recomputed) by the inner one in the forward and in the outer's
recomputation alike.

``use_reentrant=True`` is PyTorch's older variant: ``fn`` runs under no_grad, its outputs get
a small node of their own whose rule runs ``fn`` again with grad from detached inputs and
calls backward on it (a backward inside the backward), with PyTorch's restrictions: no
keyword arguments, no grad()/backward(inputs=...), no second order.
"""
import warnings

import numpy as np

from .._core.errors import ArgumentError, GradError
from .._core.node import Node, capture_site, format_site
from .._core.state import STATE
from .._core.tensor import Tensor, wrap
from ..autograd.engine import run_backward
from ..autograd.grad_mode import enable_grad, no_grad
from ..autograd.graph import saved_tensors_hooks
from ..ops.creation import default_generator
from ..ops.registry import OpDef
from ..ops.instrument import track

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "noop_context_fn"]


class CheckpointError(GradError):
    """The recomputation of a checkpointed function did not match its forward."""


class _Noop:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def noop_context_fn():
    """The default ``context_fn`` of :func:`checkpoint`: two contexts that do nothing.

    Example:
        >>> from tapegrad.utils.checkpoint import noop_context_fn
        >>> len(noop_context_fn())
        2
    """
    return _Noop(), _Noop()


_CHECKS = ("default", "none")


def checkpoint(function, *args, use_reentrant=False, context_fn=noop_context_fn,
               determinism_check="default", debug=False, early_stop=True, **kwargs):
    """Run ``function(*args, **kwargs)`` without keeping its activations for backward; the
    backward pass runs it again to get them (Note [Checkpointing]).

    Gradients equal those of the plain call, at every order. ``function`` must do the same
    ops on the same shapes when run again (pass ``preserve_rng_state=True``, the default, so
    random ops draw the same numbers).

    Args:
        function: the callable to run; its tensor arguments should be the ones whose
            gradients you need (parameters it uses are fine too).
        *args: its positional arguments (tensors and anything else).
        use_reentrant: False (default): the variant built on saved-tensor hooks, which
            supports keyword arguments, ``autograd.grad``, nesting and second order. True:
            PyTorch's older variant (see the module's Note). NOTE: PyTorch 2.x warns when
            this is not passed and then uses True; tapegrad defaults to the variant PyTorch
            recommends.
        context_fn: returns two context managers, entered around the forward and around the
            recomputation (non-reentrant only).
        determinism_check: "default" compares the shapes and dtypes of the recomputed saved
            values with the forward's and raises :class:`CheckpointError` on a mismatch;
            "none" skips it.
        debug: on a mismatch, list the ops that saved values in both runs.
        early_stop: stop the recomputation once every saved value was recomputed.
        preserve_rng_state: (keyword) restore the default generator's state for the
            recomputation, so dropout masks repeat (default True).
        **kwargs: keyword arguments for ``function`` (non-reentrant only).

    Returns:
        What ``function`` returns.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.utils.checkpoint import checkpoint
        >>> x = tg.tensor([0.5, 1.0], requires_grad=True)
        >>> checkpoint(lambda t: (t.tanh() * t).sum(), x).backward()
        >>> x.grad
        tensor([0.8553, 1.1816])
    """
    preserve = kwargs.pop("preserve_rng_state", True)
    if determinism_check not in _CHECKS:
        raise ArgumentError(f"checkpoint: determinism_check should be one of {list(_CHECKS)}, "
                            f"but got {determinism_check!r}")
    if use_reentrant:
        if kwargs:
            raise ArgumentError("checkpoint: unexpected keyword arguments: " + ",".join(kwargs)
                                + " (use_reentrant=True passes positional arguments only; "
                                "use_reentrant=False supports keyword arguments)")
        if context_fn is not noop_context_fn or debug:
            raise ArgumentError("checkpoint: passing context_fn or debug is only supported "
                                "when use_reentrant=False.")
        return _reentrant(function, bool(preserve), args)
    if STATE.grad_enabled is False:
        return function(*args, **kwargs)     # nothing is recorded, so nothing to recompute
    forward_ctx, recompute_ctx = context_fn()
    frame = _Frame(function, args, kwargs, preserve, determinism_check == "default", debug,
                   early_stop, recompute_ctx)
    with saved_tensors_hooks(frame.pack, frame.unpack), forward_ctx:
        return function(*args, **kwargs)


class _StopRecomputation(Exception):
    """Raised by the recomputation's pack_hook once it has every value (early_stop)."""


class _Frame:
    """One non-reentrant checkpoint call: what recomputing it needs, the metadata of the
    values its forward saved and, during backward, the recomputed values not yet unpacked."""
    __slots__ = ("fn", "args", "kwargs", "rng", "check", "debug", "early_stop", "metas",
                 "recomputed", "recompute_ctx", "versions")

    def __init__(self, fn, args, kwargs, preserve, check, debug, early_stop, recompute_ctx):
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.recompute_ctx = recompute_ctx
        # The tensor arguments' versions: the recomputation must see the forward's values.
        self.versions = [(i, a._counter(), a._counter().value) for i, a in enumerate(args)
                         if isinstance(a, Tensor)]
        self.rng = default_generator.get_state() if preserve else None
        self.check, self.debug, self.early_stop = check, debug, early_stop
        self.metas = []          # (op, shape, dtype) of each value the forward saved
        self.recomputed = {}     # index -> array, between recomputation and unpack

    def pack(self, t):
        """The forward's pack_hook: a number in place of the value."""
        self.metas.append((STATE.saving_op, t._data.shape, t._data.dtype))
        return len(self.metas) - 1

    def unpack(self, i):
        """The unpack_hook: the recomputed value ``i`` (recomputing the segment first when it
        is not at hand: the first unpack, or a later backward through the same graph)."""
        if i not in self.recomputed:
            self.recomputed = self._recompute()
        return wrap(self.recomputed.pop(i))

    def _recompute(self):
        for i, vc, version in self.versions:
            if vc.value != version:
                a = self.args[i]
                where = f" at {format_site(vc.site)}" if vc.site else ""
                raise GradError(
                    f"checkpoint: argument {i} of {_name(self.fn)} (tensor of shape "
                    f"{tuple(a.shape)}) was modified in place after the checkpointed forward"
                    f"{where} (version {version} then, {vc.value} now), so recomputing from it "
                    "would give wrong gradients. Change it out of place, or pass a clone() "
                    "to checkpoint.")
        values, metas = {}, []
        n = len(self.metas)

        def pack(t):
            metas.append((STATE.saving_op, t._data.shape, t._data.dtype))
            values[len(metas) - 1] = t._data
            if self.early_stop and len(metas) == n:
                raise _StopRecomputation
        saved_rng = None
        if self.rng is not None:
            saved_rng = default_generator.get_state()
            default_generator.set_state(self.rng)
        try:
            with enable_grad(), saved_tensors_hooks(pack, _never_unpacked), self.recompute_ctx:
                self.fn(*self.args, **self.kwargs)
        except _StopRecomputation:
            pass
        finally:
            if saved_rng is not None:
                default_generator.set_state(saved_rng)
        if self.check:
            self._check(metas)
        return values

    def _check(self, metas):
        forward = self.metas
        trail = ""
        if self.debug:
            trail = ("\nops that saved values, forward: " + ", ".join(m[0] for m in forward)
                     + "\n                  recomputation: " + ", ".join(m[0] for m in metas))
        for i, (a, b) in enumerate(zip(forward, metas)):
            if a[1:] != b[1:]:
                raise CheckpointError(
                    f"checkpoint: the recomputation of {_name(self.fn)} differs from its "
                    f"forward: saved value {i} (by '{a[0]}') had shape {a[1]} and dtype {a[2]} "
                    f"in the forward, but the recomputation's (by '{b[0]}') has shape {b[1]} "
                    f"and dtype {b[2]}. The function must run the same ops on the same shapes "
                    "each time it is called (keep preserve_rng_state=True if it draws random "
                    "numbers); pass determinism_check='none' to skip this check." + trail)
        if len(metas) < len(forward):
            raise CheckpointError(
                f"checkpoint: the recomputation of {_name(self.fn)} saved {len(metas)} values "
                f"for backward, but its forward saved {len(forward)}. The function must run the "
                "same ops each time it is called; pass determinism_check='none' to skip this "
                "check." + trail)


def _never_unpacked(_):
    raise AssertionError("checkpoint: a recomputation's saved value was unpacked")


def _name(fn):
    return f"'{getattr(fn, '__qualname__', None) or type(fn).__name__}'"


# ---- use_reentrant=True ------------------------------------------------------------------
def _reentrant(function, preserve, args):
    """PyTorch's reentrant variant (Note [Checkpointing]): run under no_grad, attach a node
    that recomputes with grad and runs a backward of its own."""
    needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    if not any(needs):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=3)
    rng = default_generator.get_state() if preserve else None
    with no_grad():
        outputs = function(*args)
    if not (STATE.grad_enabled and any(needs)):
        return outputs
    single = isinstance(outputs, Tensor)
    outs = (outputs,) if single else tuple(outputs) if isinstance(outputs, tuple) else None
    if outs is None:
        return outputs
    site = capture_site(depth=3)
    frame = _ReentrantFrame(function, args, rng, outs)
    hub = Node(_REENTRANT, {"frame": frame}, needs,
               tuple(a._node() if n else None for a, n in zip(args, needs)),
               (), np.dtype(np.float32), site)
    result = []
    for i, o in enumerate(outs):
        if isinstance(o, Tensor) and o._data.dtype.kind in "fc":
            node = Node(_OUTPUT, {"frame": frame, "index": i}, (True,), (hub,),
                        o._data.shape, o._data.dtype, site)
            o = wrap(o._data, node)
        result.append(o)
    return result[0] if single else tuple(result)


class _ReentrantFrame:
    __slots__ = ("fn", "args", "rng", "grads", "outs_meta")

    def __init__(self, fn, args, rng, outs):
        self.fn, self.args, self.rng = fn, args, rng
        self.outs_meta = [(o._data.shape, o._data.dtype) if isinstance(o, Tensor) else None
                          for o in outs]
        self.grads = [None] * len(outs)


def _output_vjp(ctx, g):
    """An output of a reentrant checkpoint: hand its gradient to the hub (the frame), and a
    dummy scalar cotangent along the edge, so that the hub runs after every output did."""
    frame = ctx.params["frame"]
    i = ctx.params["index"]
    frame.grads[i] = g if frame.grads[i] is None else frame.grads[i] + g
    return (np.zeros((), np.float32),)


def _reentrant_vjp(ctx, _):
    """Recompute from detached inputs with grad on, then backward through it."""
    frame = ctx.params["frame"]
    if STATE.partial_backward:
        raise GradError(
            "When use_reentrant=True, tapegrad.utils.checkpoint is incompatible with .grad() or "
            "passing an `inputs` parameter to .backward(). To resolve this error, you can either "
            "set use_reentrant=False, or call .backward() without passing the `inputs` "
            "argument.")
    grads, frame.grads = frame.grads, [None] * len(frame.grads)
    detached = []
    for a in frame.args:
        if isinstance(a, Tensor):
            d = a.detach()
            d._requires_grad = a._requires_grad
            a = d
        detached.append(a)
    saved_rng = None
    if frame.rng is not None:
        saved_rng = default_generator.get_state()
        default_generator.set_state(frame.rng)
    try:
        with enable_grad():
            outputs = frame.fn(*detached)
    finally:
        if saved_rng is not None:
            default_generator.set_state(saved_rng)
    outs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    roots, seeds = [], []
    for o, g, meta in zip(outs, grads, frame.outs_meta):
        if isinstance(o, Tensor) and o.requires_grad:
            if g is None:
                g = np.zeros(*meta)
            roots.append(o)
            seeds.append(g._data if isinstance(g, Tensor) else g)
    if not roots:
        raise GradError("checkpoint: none of output has requires_grad=True, this checkpoint() "
                        "is not necessary")
    run_backward(roots, seeds, False, False)
    return tuple(d._grad._data if isinstance(d, Tensor) and d._requires_grad
                 and d._grad is not None else None for d in detached)


_REENTRANT = track(OpDef("checkpoint_function", None, _reentrant_vjp))
_OUTPUT = track(OpDef("checkpoint_output", None, _output_vjp))


# ---- checkpoint_sequential ---------------------------------------------------------------
def checkpoint_sequential(functions, segments, input, use_reentrant=False, **kwargs):
    """Run a Sequential (or a list of callables) in ``segments`` chunks, checkpointing all
    but the last, as PyTorch does.

    Args:
        functions: an ``nn.Sequential`` or a list of callables, applied in order.
        segments: how many chunks to split them into (``len // segments`` each; the last
            chunk takes the rest and is not checkpointed).
        input: the input of the first callable.
        use_reentrant: as for :func:`checkpoint`.
        preserve_rng_state: (keyword) as for :func:`checkpoint` (default True).

    Returns:
        The output of the last callable.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.utils.checkpoint import checkpoint_sequential
        >>> net = tg.nn.Sequential(*[tg.nn.Tanh() for _ in range(4)])
        >>> x = tg.ones(2, requires_grad=True)
        >>> checkpoint_sequential(net, 2, x).sum().backward(); x.grad.shape
        tapegrad.Size([2])
    """
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ArgumentError("checkpoint_sequential: unexpected keyword arguments: "
                            + ",".join(kwargs))
    from ..nn.modules.container import Sequential   # floor 4 beside utils: import on use
    if isinstance(functions, Sequential):
        functions = list(functions.children())
    functions = list(functions)
    if (not isinstance(segments, (int, np.integer)) or isinstance(segments, bool)
            or not 1 <= segments <= max(len(functions), 1)):
        raise ArgumentError(
            f"checkpoint_sequential: segments must be an int from 1 to the number of "
            f"functions ({len(functions)}), got {segments!r}.")
    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(_run(functions, start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return _run(functions, end + 1, len(functions) - 1)(input)


def _run(functions, start, end):
    def forward(x):
        for j in range(start, end + 1):
            x = functions[j](x)
        return x
    forward.__qualname__ = f"checkpoint_sequential segment [{start}:{end + 1}]"
    return forward
