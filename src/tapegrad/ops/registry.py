"""The single table of primitives, and the one place that records a node.

Every differentiable primitive is one ``OpDef``: a NumPy forward and the rules that
differentiate it.

# Note [One rule, two paths]
``apply`` runs an op: with only arrays as inputs it is a plain NumPy call (array in, array
out); with Tensors it returns a Tensor and records. Rules are written with operators and
tapegrad's functions, so the same rule runs on arrays in the fast backward path
(create_graph=False: nothing is wrapped or recorded) and on Tensors when the engine records
the backward (create_graph=True), which is what makes higher derivatives work.

# Note [Views and in-place ops]
Ops marked ``is_view`` return tensors that share memory with their input, as in PyTorch.
Such a tensor remembers its root base, the chain of view ops leading to it and the storage
version its history describes, and shares the base's version counter. When the storage
changed since (an in-place op on the base or a sibling view), the view's history is rebuilt
as ``view_of(base)`` before the view is used again (``refresh_view``).
An in-place op on a tensor that takes part in autograd runs out of place (on a copy of the
tensor when the rule will save it), writes the result into the tensor's memory, bumps the
version and rebases the tensor's history onto the new node (a retain_grad() moves along);
on a view it also rebases the base onto a ``view_scatter`` node (the base with the view's
region replaced), and the view onto a ``view_of`` node of the new base.
"""
import numpy as np

from .._core.batched import BATCHED
from .._core.cuts import op_cut
from .._core.errors import DTypeError, GradError, ShapeError
from .._core.node import Ctx, Node, capture_site
from .._core.state import STATE
from .._core.tensor import Tensor, Version, wrap
from .forward_mode import propagate, refresh_view_tangent, set_written_tangent

_ndarray = np.ndarray
_EMPTY = {}
_ONE_NEEDED = (True,)
_BOTH_NEEDED, _FIRST_NEEDED, _SECOND_NEEDED = (True, True), (True, False), (False, True)
_new = object.__new__
_SAVE_INDEX = {"x": 0, "y": 1, "z": 2, "out": -1}


class OpDef:
    """One primitive. ``forward`` takes and returns NumPy arrays; ``vjp(ctx, g)`` returns one
    cotangent per input (None where not needed); ``jvp(ctx, *tangents)`` returns the output
    tangent (filled in for forward mode; None until an op has one).

    Fields: ``save`` names what ctx keeps: "x" (input 0), "y" (input 1), "z" (input 2),
    "out";
    ``save_for`` maps a saved name to the one input whose gradient needs it (default: always
    kept), so nothing is saved, and so no in-place change is refused, for a gradient nobody
    asks for, as in PyTorch; a rule reads such a value only when that input needs grad;
    ``broadcasts``: the engine sums each cotangent back to its input's shape;
    ``is_view``: the output shares memory with input 0.
    """
    # NOTE: a plain slotted class rather than a dataclass: dataclasses imports inspect,
    # a measurable share of `import tapegrad`.
    __slots__ = ("name", "forward", "vjp", "jvp", "save", "broadcasts", "is_view", "save_slots",
                 "__weakref__")

    def __init__(self, name, forward, vjp, jvp=None, save=(), broadcasts=False, is_view=False,
                 save_for=None):
        self.name, self.forward, self.vjp, self.jvp = name, forward, vjp, jvp
        self.save, self.broadcasts, self.is_view = tuple(save), broadcasts, is_view
        save_for = save_for or {}
        self.save_slots = tuple((n, _SAVE_INDEX[n], save_for.get(n)) for n in self.save)

    def __repr__(self):
        return f"OpDef({self.name!r})"


REGISTRY = {}
ON_REGISTER = []      # called with each new op (ops/instrument.py: Note [Instruments])


def register(op):
    """Add a primitive to the table (import time only) and return it."""
    assert op.name not in REGISTRY, f"op {op.name!r} registered twice"
    REGISTRY[op.name] = op
    for hook in ON_REGISTER:
        hook(op)
    return op


# The batching dispatchers (Note [Batched tensors] in _core/batched.py), for primitives and
# for public functions: installed by tapegrad.func when it is imported, since the ops floor
# can't import the floor above it.
_batching = [None]
_public_batching = [None]


def install_batching(dispatch, public_dispatch):
    """Route every op with a batched (vmap) input to ``dispatch(op, args, params,
    inplace_name)``, and ``batched_call`` to ``public_dispatch``."""
    _batching[0] = dispatch
    _public_batching[0] = public_dispatch


def batched_call(name, args, kwargs):
    """Inside vmap (call it only when ``STATE.vmap_levels``): the result of public function
    ``name``'s batching rule on ``args`` (some batched), or None to run the function as
    usual. For functions that read their arguments' values before their primitive runs (a
    loss reading class indices), which the primitive's own rule can't see."""
    return _public_batching[0](name, args, kwargs)


def linear(fn):
    """The JVP of an op linear in its inputs is the op applied to the tangents."""
    def jvp(ctx, *tangents):
        return fn(*tangents, **ctx.params)
    return jvp


def apply(op, args, params=_EMPTY):
    """Run ``op`` on ``args`` (Tensors, arrays or Python scalars).

    Arrays only: returns ``op.forward``'s array. Otherwise returns a Tensor, and records a
    node when grad mode is on and some input requires grad.
    """
    has_tensor = record = dual = False
    arrays = []
    for a in args:
        if isinstance(a, Tensor):
            has_tensor = True
            if a._view is not None:
                if a._view is BATCHED:
                    return _batching[0](op, args, params, None)
                refresh_view(a)
            if a._requires_grad:
                record = True
            if a._fw is not None:
                dual = True
            arrays.append(a._data)
        else:
            arrays.append(a)
    if not has_tensor:
        return op.forward(*args, **params)
    try:
        out = op.forward(*arrays, **params)
    except ValueError:
        reraise_as_shape_error(op.name, arrays)   # error path only: the hot path pays nothing
    if type(out) is not _ndarray:
        out = np.asarray(out)          # NumPy returns scalars for 0-d results
    if not record:
        result = wrap(out)
    elif STATE.grad_enabled and out.dtype.kind in "fc":
        result = record_node(op, args, arrays, params, out)
    else:      # a chain that requires grad broken here, for explain() (Note [Cut events])
        result = wrap(out)
        op_cut(op.name, args, result)
    if dual:
        propagate(op, args, arrays, params, result)    # Note [Forward mode]
    if op.is_view:
        _track_view(result, args[0], op, params)
    return result


def apply_binary(op, x, y, params=_EMPTY):
    """``apply(op, (x, y), params)``, unrolled for two inputs (arithmetic, matmul)."""
    if isinstance(x, Tensor):
        if x._view is not None:
            if x._view is BATCHED:
                return _batching[0](op, (x, y), params, None)
            refresh_view(x)
        xd, record, dual = x._data, x._requires_grad, x._fw is not None
        if isinstance(y, Tensor):
            if y._view is not None:
                if y._view is BATCHED:
                    return _batching[0](op, (x, y), params, None)
                refresh_view(y)
            yd, record, dual = y._data, record or y._requires_grad, dual or y._fw is not None
        else:
            yd = y
    elif isinstance(y, Tensor):
        if y._view is not None:
            if y._view is BATCHED:
                return _batching[0](op, (x, y), params, None)
            refresh_view(y)
        xd, yd, record, dual = x, y._data, y._requires_grad, y._fw is not None
    else:
        return op.forward(x, y, **params)
    try:
        out = op.forward(xd, yd, **params) if params else op.forward(xd, yd)
    except ValueError:
        reraise_as_shape_error(op.name, (xd, yd))   # error path only
    if type(out) is not _ndarray:
        out = np.asarray(out)
    if not record:
        result = wrap(out)
    elif STATE.grad_enabled and out.dtype.kind in "fc":
        result = record_node(op, (x, y), (xd, yd), params, out)
    else:      # a chain that requires grad broken here, for explain() (Note [Cut events])
        result = wrap(out)
        op_cut(op.name, (x, y), result)
    if dual:
        propagate(op, (x, y), (xd, yd), params, result)    # Note [Forward mode]
    return result


def apply_unary(op, x, params=_EMPTY):
    """``apply(op, (x,), params)``, unrolled for one input: the most common call."""
    if not isinstance(x, Tensor):
        return op.forward(x, **params)
    if x._view is not None:
        if x._view is BATCHED:
            return _batching[0](op, (x,), params, None)
        refresh_view(x)
    data = x._data
    out = op.forward(data, **params) if params else op.forward(data)
    if type(out) is not _ndarray:
        out = np.asarray(out)
    if not x._requires_grad:
        result = wrap(out)
    elif STATE.grad_enabled and out.dtype.kind in "fc":
        result = record_node(op, (x,), (data,), params, out)
    else:      # a chain that requires grad broken here, for explain() (Note [Cut events])
        result = wrap(out)
        op_cut(op.name, (x,), result)
    if x._fw is not None:
        propagate(op, (x,), (data,), params, result)    # Note [Forward mode]
    if op.is_view:
        _track_view(result, x, op, params)
    return result


def tracked(t):
    """Whether an op on ``t`` must run through ``apply`` (so not a NumPy shortcut): it is a
    Tensor that records (requires grad, grad mode on), carries tangents (Note [Forward
    mode] in forward_mode.py) or is batched by vmap (Note [Batched tensors])."""
    return isinstance(t, Tensor) and ((t._requires_grad and STATE.grad_enabled)
                                      or t._fw is not None or t._view is BATCHED)


def reraise_as_shape_error(name, arrays):
    """Call inside ``except ValueError``: raise a ShapeError naming op ``name`` and its
    operands' shapes if they can't broadcast (NumPy's own message names neither the op nor
    what to do); otherwise re-raise the ValueError being handled. Error path only."""
    shapes = [np.shape(a) for a in arrays]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        listed = " and ".join(str(tuple(s)) for s in shapes)
        raise ShapeError(
            f"{name}: shapes {listed} can't be broadcast together: aligned from the last "
            "dim, each pair of sizes must be equal or one of them 1. Reshape or unsqueeze an "
            "operand so its dims line up.") from None
    raise    # noqa: PLE0704 (re-raises the caller's ValueError: they broadcast fine)


def record_node(op, args, arrays, params, out):
    """Wrap ``out`` in a Tensor whose grad_fn is a new node for ``op`` applied to ``args``."""
    node = _new(Node)
    if len(args) == 1:                       # unrolled for the common arities: hot path
        x = args[0]
        node.needs_input_grad = _ONE_NEEDED
        node.parents = (x._grad_fn or x._accumulator(),)
    elif len(args) == 2:
        x, y = args
        nx = isinstance(x, Tensor) and x._requires_grad
        ny = isinstance(y, Tensor) and y._requires_grad
        node.needs_input_grad = (_BOTH_NEEDED if ny else _FIRST_NEEDED) if nx else _SECOND_NEEDED
        node.parents = ((x._grad_fn or x._accumulator()) if nx else None,
                        (y._grad_fn or y._accumulator()) if ny else None)
    else:
        needs, parents = [], []
        for a in args:
            if isinstance(a, Tensor) and a._requires_grad:
                needs.append(True)
                parents.append(a._grad_fn or a._accumulator())
            else:
                needs.append(False)
                parents.append(None)
        node.needs_input_grad = tuple(needs)
        node.parents = tuple(parents)
    node.op = op
    node.__dict__ = params.copy()   # its own: the params (Note on Ctx in _core/node.py)
    node.shape = out.shape
    node.dtype = out.dtype
    site = STATE.site      # set while a backward records or a tangent is computed
    node.site = site if site is not None and STATE.track_sites else capture_site()
    node.hooks = node.retained = node.out_fw = None
    result = wrap(out, node)
    if op.save_slots:
        if STATE.saved_hooks is not None:      # rare: a saved_tensors_hooks context is active
            node.saved = _save_packed(node, op, args, out, result)
            return result
        saved = ()      # flat: name, tensor (None for out), version counter, version; ...
        needs = node.needs_input_grad
        for name, i, needed_by in op.save_slots:
            if needed_by is not None and not needs[needed_by]:
                continue                  # only another input's gradient would read it
            if i < 0:
                node.out = out
                vc = result._vc = Version()
                saved += (name, None, vc, 0)
            else:
                a = args[i]
                if i == 0:
                    node.x = arrays[0]
                elif i == 1:
                    node.y = arrays[1]
                else:
                    node.z = arrays[2]
                if isinstance(a, Tensor):
                    vc = a._vc or a._counter()
                    saved += (name, a, vc, vc.value)
        # NOTE: one flat tuple, not a list of tuples: every object a node keeps alive is
        # scanned by Python's cyclic GC while the graph lives.
        node.saved = saved
    else:
        node.saved = ()
    return result


class SavedPacked:
    """A value an op saved while saved_tensors_hooks were active (Note [Saved-tensor hooks]
    in autograd/graph.py): what pack_hook returned, the unpack_hook to call on it and the
    shape and dtype it must give back; ``slot`` is the input index (-1: the output). A value
    that is not an array (a Python scalar) is kept as is, with ``unpack`` None."""
    __slots__ = ("packed", "unpack", "slot", "shape", "dtype", "fw")


# The version "counter" of packed values: never bumped, so the engine's version check passes
# (hooked values are not version-checked, as in PyTorch: a pack_hook may have copied them).
UNVERSIONED = Version()

class Copied(Version):
    """The counter of a saved value that the mutation guard copied on write: private to its
    node, never bumped (Note [Mutation guard] in autograd/mutation_guard.py)."""
    __slots__ = ()


# What STATE.saved_hooks holds while a mutation guard mode is on and no saved_tensors_hooks
# are active, so that record_node takes its (rare) hook branch; its first item is the guard's
# ``watch(node, saved)``, installed by autograd/mutation_guard.py (Note [Mutation guard]).
GUARD_HOOKS = [None, None]


def _save_packed(node, op, args, out, result):
    """The flat saved tuple of ``node`` (name, SavedPacked, counter, version per value), each
    array handed to the innermost pack_hook once, as a Tensor: an input as the tensor itself
    (a constant array wrapped), the output as a tensor without history (so that a hook
    keeping it makes no reference cycle). The hooks run with grad mode off, as in PyTorch.
    Under a mutation guard without user hooks: what the plain path saves, watched."""
    if STATE.saved_hooks is GUARD_HOOKS:
        return _save_guarded(node, op, args, out, result)
    pack, unpack = STATE.saved_hooks
    saved = ()
    needs = node.needs_input_grad
    prev_mode, prev_op = STATE.grad_enabled, STATE.saving_op
    STATE.grad_enabled, STATE.saving_op = False, op.name
    try:
        for name, i, needed_by in op.save_slots:
            if needed_by is not None and not needs[needed_by]:
                continue
            e = _new(SavedPacked)
            e.slot = i
            value = wrap(out) if i < 0 else args[i]
            if not isinstance(value, Tensor):
                if type(value) is not _ndarray:
                    e.packed, e.unpack, e.shape, e.dtype = value, None, None, None
                    saved += (name, e, UNVERSIONED, 0)
                    continue
                value = wrap(value)
            e.shape, e.dtype = value._data.shape, value._data.dtype
            e.fw = value._fw      # a dual input's tangents, for forward-over-reverse
            e.unpack = unpack
            e.packed = pack(value)
            saved += (name, e, UNVERSIONED, 0)
    finally:
        STATE.grad_enabled, STATE.saving_op = prev_mode, prev_op
    return saved


def _save_guarded(node, op, args, out, result):
    """What record_node's plain path saves (arrays on the node; name, tensor, counter and
    version per value), each counter watched by the mutation guard (Note [Mutation guard] in
    autograd/mutation_guard.py). A tensor without a counter that stands for a node's saved
    output (the ctx of a backward recorded with create_graph=True wraps ``node.out``) takes
    that output's counter, so writing to the output reaches the recorded backward's nodes."""
    saved = ()
    needs = node.needs_input_grad
    for name, i, needed_by in op.save_slots:
        if needed_by is not None and not needs[needed_by]:
            continue
        if i < 0:
            node.out = out
            vc = result._vc = Version()
            saved += (name, None, vc, 0)
            continue
        a = args[i]
        is_tensor = isinstance(a, Tensor)
        setattr(node, name, a._data if is_tensor else a)
        if is_tensor:
            vc = a._vc or _out_counter(a) or a._counter()
            saved += (name, a, vc, vc.value)
    GUARD_HOOKS[0](node, saved)
    return saved


def _out_counter(t):
    """The counter of the saved output that ``t`` wraps (same array, that node's history),
    or None."""
    node = t._grad_fn
    if type(node) is not Node or getattr(node, "out", None) is not t._data:
        return None         # (unset slots and a Node's params raise AttributeError: None)
    saved = node.saved or ()
    for k in range(1, len(saved), 4):
        if saved[k] is None:
            t._vc = saved[k + 1]
            return t._vc
    return None


def _track_view(result, source, op, params):
    """Record that ``result`` shares memory with ``source`` (Note [Views and in-place ops])."""
    if not isinstance(source, Tensor) or not np.may_share_memory(result._data, source._data):
        return
    if source._view is None:
        base, chain = source, ()
    else:
        base, chain = source._view[:2]
    vc = result._vc = base._counter()
    # (base, chain, the storage version its history describes, made with grad mode on)
    result._view = (base, chain + ((op, params),), vc.value, STATE.grad_enabled)


def refresh_view(t):
    """Rebuild a view's history as view_of(base) if the storage changed since it was made
    (Note [Views and in-place ops]); without it, the view's gradient would skip the change.
    A view made under no_grad stays out of autograd, as in PyTorch."""
    base, chain, version, differentiable = t._view
    vc = t._vc
    if vc.value == version:
        return
    if base._fw is not None or t._fw is not None or STATE.fw_levels:
        # (a view of a tangent root takes its tangents from the root: Note [Forward mode])
        refresh_view_tangent(t, base, chain)
    if not STATE.grad_enabled:
        return
    t._view = (base, chain, vc.value, differentiable)
    if differentiable and base._requires_grad:
        from .shape import VIEW_OF   # the generic view ops live with the other shape ops
        set_history(t, Node(VIEW_OF, {"chain": chain, "base_shape": base._data.shape}, (True,),
                            (base._node(),), t._data.shape, t._data.dtype, capture_site()))


def set_history(t, node):
    """Make ``node`` t's grad_fn (after an in-place change); a retain_grad() moves along."""
    old = t._grad_fn
    if old is not None and old.retained is not None:
        node.retained, old.retained = old.retained, None
    t._grad_fn, t._requires_grad = node, True


def apply_chain(arr, chain):
    """Apply a view chain ((op, params), ...) to an array (a view into ``arr`` when its
    layout allows, as it does for the base the chain was recorded on)."""
    for op, params in chain:
        arr = op.forward(arr, **params)
    return arr


def chain_adjoint(g, chain):
    """The adjoint of a view chain: a region-shaped cotangent put in place in the base's
    shape, through each view op's own rule in reverse. Unlike writing through a replayed
    chain, this does not depend on memory layout (a reshape that was a view of an
    F-ordered base copies on a C-ordered one). Arrays or Tensors."""
    for op, params in reversed(chain):
        ctx = Ctx()
        ctx.params, ctx.needs_input_grad = params, _ONE_NEEDED
        (g,) = op.vjp(ctx, g)
    return g


def apply_inplace(op, args, params=_EMPTY, name=None):
    """``args[0] <- op(*args)`` in place; returns args[0] (Note [Views and in-place ops]).
    ``name`` is the user-facing method name for messages (default: the op's name + "_")."""
    name = name or op.name + "_"
    x = args[0]
    recording = dual = False
    for a in args:
        if isinstance(a, Tensor):
            if a._view is not None:
                if a._view is BATCHED:
                    return _batching[0](op, args, params, name)
                refresh_view(a)
            recording = recording or a._requires_grad
            dual = dual or a._fw is not None
    recording = recording and STATE.grad_enabled
    view = x._view
    if recording:
        if x._grad_fn is None and x._requires_grad:
            raise GradError(
                f"{name}: a leaf tensor that requires grad (shape {tuple(x.shape)}) can't be "
                "modified in place, or its gradient would be lost. Write x = x + ... instead, or "
                "do the update under tapegrad.no_grad() (as optimizers do).")
        if view is not None and view[0]._grad_fn is None and view[0]._requires_grad:
            raise GradError(
                f"{name}: this tensor (shape {tuple(x.shape)}) is a view of a leaf that "
                f"requires grad (shape {tuple(view[0].shape)}), so it can't be modified in place. "
                "Clone the leaf first, or do the update under tapegrad.no_grad().")
    if not x._data.flags.writeable:
        raise ShapeError(
            f"{name}: this tensor (shape {tuple(x.shape)}) is an expanded or read-only view in "
            "which several elements share one memory location; call .clone() before writing to it.")
    vc = x._vc
    if vc is not None and vc.watchers:   # a mutation guard watches a value saved from x's
        vc.watchers.fire(vc, name)       # storage: raise or copy it before the write
    if dual and not recording:          # tangents only (Note [Forward mode])
        r = apply(op, args, params)
        _write(x, r._data, name)
        x._bump()
        set_written_tangent(x, r, view)
        return x
    if not recording:
        arrays = [a._data if isinstance(a, Tensor) else a for a in args]
        if not (type(op.forward) is np.ufunc and _ufunc_into(op.forward, arrays, params)):
            try:
                out = op.forward(*arrays, **params)
            except ValueError:
                reraise_as_shape_error(name, arrays)
            _write(x, out, name)
        x._bump()
        return x
    site = capture_site(depth=3)   # capture_site <- apply_inplace <- method <- user
    # Run out of place on a snapshot: a copy only when the rule will save x itself.
    snap = _snapshot(x) if _saves_first_input(op, args) else x
    r = apply(op, (snap,) + tuple(args[1:]), params)
    _write(x, r._data, name)
    x._bump(site)
    if dual:
        set_written_tangent(x, r, view)
    rebase_history(x, r._grad_fn, site)
    return x


def rebase_history(x, node, site):
    """Make ``node`` (whose output is x's new value) x's history after x changed in place;
    when x is a view, its base is rebased too (Note [Views and in-place ops]). Also used by
    custom Functions that mark an input dirty (autograd/function.py)."""
    view = x._view
    if view is None:
        set_history(x, node)
        return
    base, chain, _, differentiable = view
    x._view = (base, chain, x._vc.value, differentiable)   # the history below describes this
    from .shape import VIEW_OF, VIEW_SCATTER   # the two generic view ops live with the others
    bnode = Node(VIEW_SCATTER, {"chain": chain}, (base._requires_grad, True),
                 (base._node() if base._requires_grad else None, node),
                 base._data.shape, base._data.dtype, site)
    set_history(base, bnode)
    set_history(x, Node(VIEW_OF, {"chain": chain, "base_shape": base._data.shape}, (True,),
                        (bnode,), x._data.shape, x._data.dtype, site))


def _ufunc_into(ufunc, arrays, params):
    """Run a binary ufunc straight into its first operand when that gives exactly what
    computing out of place and writing back would (a float tensor whose dtype the result
    keeps, a shape the other operand broadcasts to); returns whether it did. An update such
    as ``p -= lr * p.grad`` then makes one pass over memory instead of three, and no
    temporary the size of ``p``."""
    if params or len(arrays) != 2:
        return False
    x, y = arrays
    dtype = x.dtype
    if dtype.kind not in "fc":
        return False
    # (an operand of x's own dtype keeps it; anything else asks NumPy's promotion)
    if not (type(y) is _ndarray and y.dtype == dtype) and np.result_type(x, y) != dtype:
        return False
    try:
        ufunc(x, y, out=x)      # NumPy checks the shapes before it writes anything
    except ValueError:
        return False            # not broadcastable to x: the general path says why
    return True


def _saves_first_input(op, args):
    """Whether recording ``op`` on ``args`` keeps input 0 (see ``save_for``)."""
    for name, i, needed_by in op.save_slots:
        if i == 0:
            if needed_by is None:
                return True
            other = args[needed_by] if needed_by < len(args) else None
            return isinstance(other, Tensor) and other._requires_grad
    return False


def _snapshot(x):
    """A copy of x's values with x's history: what an in-place op's rule must see as x."""
    t = wrap(x._data.copy(), x._grad_fn)
    t._requires_grad = x._requires_grad
    t._fw = x._fw
    return t


def _write(x, out, name):
    if out.shape != x._data.shape:
        raise ShapeError(
            f"{name}: the result has shape {out.shape} but the tensor written to has shape "
            f"{x._data.shape}; an in-place op can't change its tensor's shape. Use the "
            "out-of-place form.")
    if out.dtype != x._data.dtype and not np.can_cast(out.dtype, x._data.dtype, "same_kind"):
        raise DTypeError(
            f"{name}: the result has dtype {out.dtype}, which can't be written into a tensor of "
            f"dtype {x._data.dtype} in place. Use the out-of-place form or convert first.")
    np.copyto(x._data, out, casting="unsafe")
