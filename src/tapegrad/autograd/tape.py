"""``GradientTape``: TensorFlow's explicit-tape style over tapegrad's one engine.

# Note [GradientTape over the one graph]
tapegrad records every op on a tensor that requires grad, tape or no tape, on the tensors
themselves. A tape keeps no graph of its own: ``gradient`` is ``autograd.grad`` over the graph
the tensors carry, and the tape only decides what that graph leads to.

- Watching a tensor that does not require grad (a "constant" in TensorFlow's words) turns
  recording on for it while the tape records, and off again when the tape stops: its
  ``requires_grad`` flag is set and later restored. Its ops then lead to an accumulator node
  the tape owns, whose variable is a private alias of the tensor (same data), so a backward
  through them fills the alias's ``.grad``, never the user's, and ``gradient`` reads the
  gradient at that node. Tapes watching one tensor at once (nested tapes) share its alias;
  the last to stop restores the tensor.
- A ``requires_grad`` leaf (an ``nn.Parameter``, TensorFlow's trainable variable) is
  *accessed* when the target's recorded graph reaches it. With ``watch_accessed_variables``
  every such leaf counts as watched; without, only those passed to ``watch``. Since recording
  is the engine's, ops on such a leaf count even when run before the tape was entered or
  before ``reset()``: make such a value a constant with ``detach()`` if it must not.
- A gradient call records (``create_graph=True``) when some tape is recording at the time, a
  ``tapegrad.func`` transform runs or forward mode is on, so an outer tape (or transform) can
  differentiate an inner tape's gradient: nested tapes give higher derivatives. The graph belongs to the tensors, so it is kept (``retain_graph=True``): it goes
  away with them, and another tape or a later ``backward`` may still need it.
- Integer and bool tensors are not differentiable: watching one warns (as TensorFlow does), and
  as a source its gradient is None (zeros of its dtype with ``unconnected_gradients='zero'``).
"""
import contextlib
import warnings
import weakref

import numpy as np

from .._core.errors import ArgumentError, GradError, ShapeError
from .._core.node import AccumulateGrad
from .._core.state import STATE
from .._core.tensor import Tensor, wrap
from .engine import count_consumers
from .engine import grad as _grad
from .grad_mode import no_grad

_UNCONNECTED = ("none", "zero")


class _Alias(Tensor):
    """The private tensor a watched constant's gradients accumulate into (Note
    [GradientTape over the one graph]); its own type so a graph walk can tell it from a
    user's leaf."""
    __slots__ = ()


class _Watch:
    """One watched tensor that did not require grad: its alias, the accumulator node its ops
    lead to while watched, the ``_accum`` it had before, and how many recording tapes hold it."""
    __slots__ = ("tensor", "alias", "acc", "prev_accum", "holders")

    def __init__(self, tensor):
        alias = wrap(tensor._data)        # the same memory; nothing else of the tensor's
        alias.__class__ = _Alias
        alias._requires_grad = True
        self.tensor, self.alias, self.acc = tensor, alias, AccumulateGrad(alias)
        alias._accum = weakref.ref(self.acc)   # (weakly, as a leaf holds its node: no cycle)
        self.prev_accum, self.holders = None, 0

    def acquire(self):
        if self.holders == 0:
            t = self.tensor
            self.prev_accum, t._accum, t._requires_grad = t._accum, self.acc, True
        self.holders += 1

    def release(self):
        self.holders -= 1
        if self.holders == 0:
            t = self.tensor
            # NOTE: still a leaf with no history: while it required grad, in-place ops on it
            # were refused (as for any such leaf), so nothing could give it a grad_fn.
            t._requires_grad, t._accum = False, self.prev_accum
            self.prev_accum = None


def _tree():
    # Late import: func/ is the floor above (its pytree helpers are the one container walker).
    from ..func._pytree import tree_flatten, tree_unflatten
    return tree_flatten, tree_unflatten


def _as_tree(x):
    """Sources may be any iterable of tensors (``model.parameters()``): make it a list."""
    if isinstance(x, (Tensor, tuple, list, dict)) or not hasattr(x, "__iter__"):
        return x
    return list(x)


def _is_float(t):
    return t._data.dtype.kind in "fc"


def _describe(t):
    return f"tensor of shape {tuple(t._data.shape)} and dtype {t.dtype}"


class GradientTape:
    """Record operations for automatic differentiation, TensorFlow's ``tf.GradientTape`` style.

    Ops run inside ``with GradientTape() as tape:`` on watched tensors can be differentiated
    afterwards with ``tape.gradient(target, sources)``. ``tape.watch(x)`` watches a tensor
    that does not require grad without changing it for good: its ``requires_grad`` is set only
    while the tape records, and its ``.grad`` is never written. Tensors that require grad (and
    ``nn.Parameter``s) are watched automatically when *accessed*, meaning: the target's
    recorded graph reaches them. A thin layer over ``autograd.grad``: there is no second graph
    (Note [GradientTape over the one graph]).

    Args:
        persistent: allow several ``gradient``/``jacobian`` calls (default: one).
        watch_accessed_variables: count every ``requires_grad`` leaf the target reaches as
            watched; if False, only tensors passed to ``watch`` have gradients.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor(1.0)
        >>> with tg.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = x ** 2
        >>> tape.gradient(y, x), x.requires_grad
        (tensor(2.), False)
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._persistent = bool(persistent)
        self._watch_accessed = bool(watch_accessed_variables)
        self._recording = False     # inside the with-block and not stopped
        self._used = False          # a non-persistent tape gave its one set of gradients
        self._watched = []          # explicitly watched tensors, in watch order
        self._watches = {}          # id -> _Watch, for watched tensors that need an alias
        self._roots = {}            # target nodes so far, for watched_variables (kept, as TF's
        #                             tape keeps its record, until the tape goes or is reset)

    # ---- recording ---------------------------------------------------------------------------
    def __enter__(self):
        if self._recording:
            raise ArgumentError("GradientTape: this tape is already recording; a tape can't be "
                                "entered again inside its own with-block.")
        self._start()
        return self

    def __exit__(self, *exc):
        if self._recording:
            self._stop()
        return False

    def _start(self):
        for w in self._watches.values():
            w.acquire()
        self._recording = True
        STATE.tapes = STATE.tapes + (self,)

    def _stop(self):
        STATE.tapes = tuple(t for t in STATE.tapes if t is not self)
        self._recording = False
        for w in self._watches.values():
            w.release()

    def watch(self, tensor):
        """Watch ``tensor`` (a tensor or a nested list/tuple/dict of them) on this tape.

        Ops on it that run while the tape records are differentiable with ``gradient``. A
        tensor that does not require grad gets ``requires_grad=True`` until the tape stops,
        and its previous state back after (meanwhile it is a leaf that requires grad, so
        in-place ops on it raise, as TensorFlow's constants can't be changed either); integer
        and bool tensors are not differentiable (a warning says so; their gradient is None).

        Args:
            tensor: a Tensor or a nested container of Tensors.

        Example:
            >>> import tapegrad as tg
            >>> a, b = tg.tensor(2.0), tg.tensor(3.0)
            >>> with tg.GradientTape() as tape:
            ...     tape.watch([a, b])
            ...     y = a * b
            >>> tape.gradient(y, {"a": a, "b": b})
            {'a': tensor(3.), 'b': tensor(2.)}
        """
        tree_flatten, _ = _tree()
        for t in tree_flatten(_as_tree(tensor))[0]:
            if not isinstance(t, Tensor):
                raise ArgumentError(f"GradientTape.watch: got {type(t).__name__}, not a Tensor; "
                                    "watch tensors (or lists/tuples/dicts of them) only.")
            if not _is_float(t):
                warnings.warn(f"GradientTape.watch: the watched {_describe(t)} is not floating "
                              "point, so it is not differentiable; its gradient will be None. "
                              "Convert it with .float() first.", stacklevel=2)
            if any(w is t for w in self._watched):
                continue
            self._watched.append(t)
            w = self._shared_watch(t)          # an enclosing tape watches it too: share
            if w is None:
                if t.requires_grad or not _is_float(t):
                    continue             # it records already (or can't): nothing to switch on
                w = _Watch(t)
            self._watches[id(t)] = w
            if self._recording:
                w.acquire()

    def _shared_watch(self, t):
        """The _Watch another recording tape holds for ``t``, if any (nested tapes share it)."""
        for tape in STATE.tapes:
            w = tape._watches.get(id(t))
            if w is not None and w.tensor is t:
                return w
        return None

    @contextlib.contextmanager
    def stop_recording(self):
        """A context in which ops are not recorded on this tape.

        With no other tape recording, this is ``no_grad()``. Inside an outer tape, only this
        tape's watched tensors stop recording: the graph is shared, so ops on tensors that
        require grad (or that the outer tape watches) are still recorded for it.

        Raises:
            GradError: if the tape is not recording (outside its with-block, or used up).

        Example:
            >>> import tapegrad as tg
            >>> x = tg.tensor(4.0)
            >>> with tg.GradientTape() as tape:
            ...     tape.watch(x)
            ...     with tape.stop_recording():
            ...         y = x ** 2
            >>> print(tape.gradient(y, x))
            None
        """
        if not self._recording:
            raise GradError("GradientTape.stop_recording: this tape is not recording; use it "
                            "inside the tape's with-block (a non-persistent tape stops "
                            "recording after its gradient call).")
        self._stop()
        try:
            if STATE.tapes:
                yield
            else:
                with no_grad():
                    yield
        finally:
            self._start()

    def reset(self):
        """Forget everything this tape watched and recorded, as if it were left and entered
        again as a new tape.

        Explicitly watched tensors are unwatched (watch them again to go on), and values
        computed from them before the reset no longer lead to them. Values computed from
        ``requires_grad`` tensors keep their history (Note [GradientTape over the one graph]).

        Raises:
            ArgumentError: if the tape is not recording.

        Example:
            >>> import tapegrad as tg
            >>> x = tg.tensor(2.0)
            >>> with tg.GradientTape() as tape:
            ...     tape.watch(x)
            ...     y = x ** 2
            ...     tape.reset()
            ...     tape.watch(x)
            ...     y = y + 5 * x
            >>> tape.gradient(y, x)
            tensor(5.)
        """
        if not self._recording:
            raise ArgumentError("GradientTape.reset: the tape is not recording; reset it inside "
                                "its with-block.")
        self._stop()
        self._used = False
        self._watched, self._watches, self._roots = [], {}, {}
        self._start()

    def watched_variables(self):
        """The tensors this tape watches: those passed to ``watch``, in that order, then (with
        ``watch_accessed_variables``) the ``requires_grad`` leaves reached from the targets of
        this tape's ``gradient``/``jacobian``/``batch_jacobian`` calls so far.

        Returns:
            A tuple of Tensors.

        Example:
            >>> import tapegrad as tg
            >>> w, x = tg.tensor(2.0, requires_grad=True), tg.tensor(3.0)
            >>> with tg.GradientTape() as tape:
            ...     tape.watch(x)
            ...     y = w * x
            >>> _ = tape.gradient(y, [w, x]); tape.watched_variables()
            (tensor(3.), tensor(2., requires_grad=True))
        """
        seen = list(self._watched)
        if self._watch_accessed:
            for root in self._roots:           # targets in the order they were given
                for node in count_consumers([root]):
                    if type(node) is AccumulateGrad and type(node.variable) is not _Alias \
                            and not any(v is node.variable for v in seen):
                        seen.append(node.variable)
        return tuple(seen)

    # ---- differentiation ---------------------------------------------------------------------
    def _check_usable(self, caller):
        """First thing in a differentiation call: a used-up tape refuses it."""
        if self._used:
            raise GradError(
                f"GradientTape.{caller}: this tape is not persistent and already gave its one "
                "set of gradients (or jacobians); a non-persistent tape is used up by its first "
                "gradient/jacobian call. Create it with GradientTape(persistent=True) to call "
                "it several times, or differentiate all targets in one call (target and "
                "sources may be lists).")

    def _begin(self):
        """Once a differentiation call's arguments are checked: a non-persistent tape stops
        recording (its gradient ops aren't recorded on itself) and is used up. Returns
        whether the call records (create_graph)."""
        if not self._persistent:
            if self._recording:
                self._stop()
            self._used = True
        # Record when a tape records now, a func transform runs or forward mode is on: an
        # outer tape (or this persistent one), the transform or a tangent can then
        # differentiate the result (Note [GradientTape over the one graph]).
        return STATE.grad_enabled and bool(STATE.tapes or STATE.transform_aliases
                                           or STATE.fw_levels)

    def _input_for(self, s, caller, i):
        """The tensor ``autograd.grad`` differentiates for source ``s``; None if unconnected."""
        if not isinstance(s, Tensor):
            raise ArgumentError(f"GradientTape.{caller}: source {i} is a {type(s).__name__}, "
                                "not a Tensor; sources must be tensors (or nested "
                                "lists/tuples/dicts of them).")
        w = self._watches.get(id(s))
        if w is not None and w.tensor is s:
            return w.alias
        if not _is_float(s):
            warnings.warn(f"GradientTape.{caller}: source {i} ({_describe(s)}) is not floating "
                          "point, so it is not differentiable; its gradient is None (zeros with "
                          "unconnected_gradients='zero').", stacklevel=3)
            return None
        if not s.requires_grad:          # (the property refreshes a stale view's history)
            return None
        if s._grad_fn is not None:
            return s                     # a value computed on the tape
        if type(s._accum) is AccumulateGrad and s._accum.variable is not s:
            return None                  # another tape's watched constant, not watched here
        if self._watch_accessed or any(v is s for v in self._watched):
            return s
        return None

    def _target_for(self, t, caller, i):
        """The tensor a target's gradient enters at; None if nothing recorded leads to it."""
        if not isinstance(t, Tensor):
            raise ArgumentError(f"GradientTape.{caller}: target {i} is a {type(t).__name__}, "
                                "not a Tensor; the target must be a tensor or a list of them.")
        w = self._watches.get(id(t))
        if w is not None and w.tensor is t:
            t = w.alias                  # the target is a watched tensor itself
        if not _is_float(t) or not t.requires_grad:
            return None
        self._roots[t._node()] = None
        return t

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """The gradient of ``target`` with respect to each of ``sources``.

        Several targets (a list or nested structure) are summed; a non-scalar target is
        differentiated as its sum (its output gradient defaults to ones). Sources that no
        recorded op links to the target, that aren't watched, or that are not floating point
        are unconnected. Called inside the with-block of a persistent tape, or while any other
        tape records, the gradient computation is itself recorded (Note [GradientTape over
        the one graph]); a non-persistent tape called inside its with-block stops recording
        first, as in TensorFlow.

        Args:
            target: a Tensor, or a nested list/tuple/dict of Tensors.
            sources: a Tensor, or a nested list/tuple/dict (or other iterable) of Tensors.
            output_gradients: one gradient per target (shaped like it; None for ones).
            unconnected_gradients: ``'none'`` (None for unconnected sources) or ``'zero'``.

        Returns:
            The gradients, in the structure of ``sources`` (an iterable gives a list).

        Raises:
            GradError: on a second call to a non-persistent tape.

        Example:
            >>> import tapegrad as tg
            >>> x = tg.tensor([1.0, 2.0])
            >>> with tg.GradientTape(persistent=True) as tape:
            ...     tape.watch(x)
            ...     y = x * x
            >>> tape.gradient(y, x), tape.gradient(y, x, output_gradients=tg.tensor([1., 0.]))
            (tensor([2., 4.]), tensor([2., 0.]))
        """
        self._check_usable("gradient")
        tree_flatten, tree_unflatten = _tree()
        mode = _check_unconnected(unconnected_gradients, "gradient")
        flat_targets = tree_flatten(target)[0]
        if output_gradients is None:
            flat_grads = [None] * len(flat_targets)
        else:
            flat_grads = tree_flatten(output_gradients)[0]
            if len(flat_grads) != len(flat_targets):
                raise ArgumentError(
                    f"GradientTape.gradient: got {len(flat_grads)} output_gradients for "
                    f"{len(flat_targets)} targets; give one per target (None for ones).")
        flat_sources, spec = tree_flatten(_as_tree(sources))
        outs, seeds = [], []
        for i, (t, g) in enumerate(zip(flat_targets, flat_grads)):
            tt = self._target_for(t, "gradient", i)
            seed = _seed_for(t, g, i)
            if tt is not None:
                outs.append(tt)
                seeds.append(seed)
        inputs = [self._input_for(s, "gradient", i) for i, s in enumerate(flat_sources)]
        create_graph = self._begin()
        results = [None] * len(inputs)
        live = [k for k, x in enumerate(inputs) if x is not None]
        if outs and live:
            grads = _grad(outs, [inputs[k] for k in live], grad_outputs=seeds,
                          retain_graph=True, create_graph=create_graph, allow_unused=True)
            for k, g in zip(live, grads):
                results[k] = g
        if mode == "zero":
            results = [_zeros_like(s) if r is None else r for r, s in zip(results, flat_sources)]
        return tree_unflatten(results, spec)

    def jacobian(self, target, sources, unconnected_gradients="none", parallel_iterations=None,
                 experimental_use_pfor=True):
        """The jacobian of ``target`` with respect to each of ``sources``: for a source of
        shape S, a tensor of shape ``target.shape + S`` whose ``[i..., j...]`` entry is
        d target[i...] / d source[j...].

        Computed one target element at a time (``parallel_iterations`` and
        ``experimental_use_pfor`` are accepted for TensorFlow's signature; the rows are not
        run in parallel). Counts as the one call of a non-persistent tape.

        Args:
            target: a Tensor.
            sources: a Tensor or a nested list/tuple/dict of Tensors.
            unconnected_gradients: ``'none'`` or ``'zero'``, as in :meth:`gradient`.

        Returns:
            One jacobian (or None) per source, in the structure of ``sources``.

        Raises:
            ArgumentError: ``experimental_use_pfor=False`` on a non-persistent tape, as in
                TensorFlow.

        Example:
            >>> import tapegrad as tg
            >>> x = tg.tensor([1.0, 2.0])
            >>> with tg.GradientTape() as tape:
            ...     tape.watch(x)
            ...     y = x * x
            >>> tape.jacobian(y, x)
            tensor([[2., 0.],
                    [0., 4.]])
        """
        self._check_usable("jacobian")
        tree_flatten, tree_unflatten = _tree()
        mode = _check_unconnected(unconnected_gradients, "jacobian")
        self._check_loop_options("jacobian", parallel_iterations, experimental_use_pfor)
        if not isinstance(target, Tensor):
            raise ArgumentError(f"GradientTape.jacobian: the target must be one Tensor, got "
                                f"{type(target).__name__}; use one call per target.")
        flat_sources, spec = tree_flatten(_as_tree(sources))
        out = self._target_for(target, "jacobian", 0)
        inputs = [self._input_for(s, "jacobian", i) for i, s in enumerate(flat_sources)]
        create_graph = self._begin()
        shape = tuple(target._data.shape)
        n = int(np.prod(shape, dtype=np.int64))
        results = [None] * len(inputs)
        live = [k for k, x in enumerate(inputs) if x is not None]
        if out is not None and live:
            basis = np.eye(n, dtype=target._data.dtype).reshape((n,) + shape)
            rows = _stacked_vjps(out, [inputs[k] for k in live], basis, create_graph)
            for k, r in zip(live, rows):
                if r is not None:
                    results[k] = r.reshape(shape + tuple(flat_sources[k]._data.shape))
        for k, s in enumerate(flat_sources):
            if results[k] is None and (mode == "zero" or (n == 0 and inputs[k] is not None)):
                results[k] = _zeros_like(s, shape)   # (an empty target: an empty jacobian)
        return tree_unflatten(results, spec)

    def batch_jacobian(self, target, source, unconnected_gradients="none",
                       parallel_iterations=None, experimental_use_pfor=True):
        """Per-example jacobians: for ``target`` of shape (b, y...) and ``source`` of shape
        (b, x...), the tensor of shape (b, y..., x...) whose ``[i]`` is the jacobian of
        ``target[i]`` with respect to ``source[i]``.

        Assumes, as TensorFlow does, that ``target[i]`` depends on ``source[i]`` only (it
        differentiates the sum over the batch, one target position at a time). When nothing
        connects them the result is zeros, as in TensorFlow.

        Args:
            target: a Tensor with at least 2 dims.
            source: a Tensor with at least 2 dims and the same first dim.
            unconnected_gradients: ``'none'`` or ``'zero'`` (the result is zeros either way).

        Returns:
            A Tensor of shape ``target.shape + source.shape[1:]``.

        Raises:
            ShapeError: if a rank is below 2 or the first dims differ.

        Example:
            >>> import tapegrad as tg
            >>> x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
            >>> with tg.GradientTape() as tape:
            ...     tape.watch(x)
            ...     y = x * x
            >>> tape.batch_jacobian(y, x)
            tensor([[[2., 0.],
                     [0., 4.]],
            <BLANKLINE>
                    [[6., 0.],
                     [0., 8.]]])
        """
        self._check_usable("batch_jacobian")
        _check_unconnected(unconnected_gradients, "batch_jacobian")
        self._check_loop_options("batch_jacobian", parallel_iterations, experimental_use_pfor)
        for name, t in (("target", target), ("source", source)):
            if not isinstance(t, Tensor):
                raise ArgumentError(f"GradientTape.batch_jacobian: the {name} must be one "
                                    f"Tensor, got {type(t).__name__}.")
        ts, xs = tuple(target._data.shape), tuple(source._data.shape)
        if len(ts) < 2 or len(xs) < 2 or ts[0] != xs[0]:
            raise ShapeError(
                f"GradientTape.batch_jacobian: target has shape {ts} and source {xs}; both need "
                "at least 2 dims and the same first (batch) dim. For a single example use "
                "jacobian, or add a batch dim with unsqueeze(0).")
        out = self._target_for(target, "batch_jacobian", 0)
        inp = self._input_for(source, "batch_jacobian", 0)
        create_graph = self._begin()
        b, m = ts[0], int(np.prod(ts[1:], dtype=np.int64))
        result = None
        if out is not None and inp is not None and m > 0:
            # Row j seeds position j of every example at once: one VJP gives all b rows j.
            eye = np.eye(m, dtype=target._data.dtype)
            basis = np.ascontiguousarray(np.broadcast_to(eye[:, None, :], (m, b, m)))
            (rows,) = _stacked_vjps(out, [inp], basis.reshape((m,) + ts), create_graph)
            if rows is not None:                      # (m, b, x...) -> (b, y..., x...)
                perm = (1, 0) + tuple(range(2, rows.dim()))
                result = rows.permute(*perm).reshape(ts + xs[1:])
        if result is None:
            result = _zeros_like(source, ts, drop=1)
        return result

    def _check_loop_options(self, caller, parallel_iterations, experimental_use_pfor):
        if parallel_iterations is not None and (not isinstance(parallel_iterations, int)
                                                or parallel_iterations < 1):
            raise ArgumentError(f"GradientTape.{caller}: parallel_iterations must be a positive "
                                f"int or None, got {parallel_iterations!r}.")
        if not experimental_use_pfor and not self._persistent:
            raise ArgumentError(
                f"GradientTape.{caller}: with experimental_use_pfor=False the rows are computed "
                "by separate gradient calls, which needs GradientTape(persistent=True) (as in "
                "TensorFlow); create the tape persistent or leave experimental_use_pfor=True.")


# ---- helpers -------------------------------------------------------------------------------
def _check_unconnected(value, caller):
    value = getattr(value, "value", value)      # an enum whose values are 'none'/'zero'
    if value not in _UNCONNECTED:
        raise ArgumentError(f"GradientTape.{caller}: unconnected_gradients must be 'none' or "
                            f"'zero', got {value!r}.")
    return value


def _seed_for(t, g, i):
    """The output gradient for target ``t``: ``g`` checked against it, or ones."""
    if g is None:
        return wrap(np.ones(t._data.shape, dtype=t._data.dtype if _is_float(t) else None))
    if not isinstance(g, Tensor):
        g = wrap(np.asarray(g, dtype=t._data.dtype))
    if g._data.shape != t._data.shape:
        raise ShapeError(f"GradientTape.gradient: output_gradients[{i}] has shape "
                         f"{tuple(g._data.shape)} but target {i} has shape "
                         f"{tuple(t._data.shape)}; they must match.")
    return g


def _zeros_like(s, lead=(), drop=0):
    """Zeros shaped ``lead + s.shape[drop:]`` in s's dtype: an unconnected source's gradient."""
    return wrap(np.zeros(tuple(lead) + tuple(s._data.shape[drop:]), dtype=s._data.dtype))


def _stacked_vjps(output, inputs, basis, create_graph):
    """For each cotangent ``basis[k]`` (``basis``: an array of shape (n, *output.shape)), the
    VJP of ``output`` with respect to each of ``inputs``, stacked: per input a Tensor of shape
    (n, *input.shape), or None when no row reaches it (rows that miss it are zeros).

    The one place the tape's jacobians batch their rows: one ``autograd.grad`` through
    ``func.vmap`` over the basis (the rules run once on all rows), after one row to learn
    which inputs the output reaches.
    """
    from ..func.vmap import vmap      # late import: func is the floor above autograd
    if len(basis) == 0:
        return [None] * len(inputs)
    first = _grad([output], inputs, grad_outputs=[wrap(basis[0])], retain_graph=True,
                  allow_unused=True)
    reached = [x for x, g in zip(inputs, first) if g is not None]
    if not reached:
        return [None] * len(inputs)

    def row(c):
        return tuple(_grad([output], reached, grad_outputs=[c], retain_graph=True,
                           create_graph=create_graph))

    rows = iter(vmap(row)(wrap(np.ascontiguousarray(basis))))
    stacked = [next(rows) if g is not None else None for g in first]
    return stacked
