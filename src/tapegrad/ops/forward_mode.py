"""Forward mode: the tangent of each op's output, through the op's own jvp rule.

# Note [Forward mode]
A dual tensor carries its tangents in ``Tensor._fw``, {level id: tangent Tensor}. Levels are
entered and left through autograd.forward_ad (``dual_level``); ``STATE.fw_levels`` holds the
active ids, innermost last. Ids are never reused, so a tensor outside its level is plain again
without anyone visiting it: entries of levels that ended are ignored, and dropped when seen.

When an input of an op carries a tangent at an active level, ``propagate`` gives the output
``op.jvp(ctx, *tangents)`` at that level. An input without a tangent there contributes zero:
``ctx.needs_input_grad`` is False for it, so rules that check it skip the term, and the others
get a broadcast zero. Levels are kept apart as JAX keeps its traces apart: the tangent at
level L is computed from the inputs as seen below L (their tangents at L and above stripped),
so it is itself differentiable at the outer levels (jvp of jvp) and by reverse mode (backward
through a tangent: the rule's ops record when an input requires grad), and a level's tangent
never carries a perturbation of its own level (no perturbation confusion). When neither is
needed (no outer level, nothing requiring grad) the rule runs on plain arrays: the cheap path
(Note [One rule, two paths] in registry.py).

Views and in-place ops: a view op's tangent is the view of the tangent (its jvp applies the
view op to the tangent). An in-place op replaces the tangent of the tensor it writes, never
writing into a tangent's memory (which may be the user's); on a view it also scatters the new
tangent into its base's, and the other views of that base take theirs from the base's when
their history is refreshed (``refresh_view``), as their values do. What make_dual and
unpack_dual return at level L is a tangent root of L (``shape.tangent_root``): a view of its
input in memory, for reverse mode and at the other levels, but with a tangent of its own at
L, as in PyTorch. At L, its views take their tangents from it (not from the memory base), an
in-place op on one scatters into it, and an in-place change of its base, or of the base's
other views, leaves its tangent alone. That tangent lives in a box in the root's view-chain
entry, which its views share (and keep alive, without a reference cycle through the root);
the root's ``_fw`` takes it from there when the root is refreshed.
"""
import functools

import numpy as np

from .._core.batched import BATCHED
from .._core.node import Ctx
from .._core.state import STATE
from .._core.tensor import Tensor, wrap

_new = object.__new__


def tangent_levels(args):
    """The active levels at which some Tensor in ``args`` carries a tangent, outer first.
    Forgets tangents of levels that ended (a tensor outside its level is plain again)."""
    active = STATE.fw_levels
    if len(active) == 1:              # the common case, one level: no set, no sort
        level, found = active[0], False
        for a in args:
            if isinstance(a, Tensor) and a._fw is not None:
                fw = a._fw
                if level in fw:
                    found = True
                    if len(fw) > 1:
                        a._fw = {level: fw[level]}
                else:
                    a._fw = None
        return active if found else ()
    found = None
    for a in args:
        if isinstance(a, Tensor) and a._fw is not None:
            fw = a._fw
            live = [k for k in fw if k in active]
            if len(live) != len(fw):
                a._fw = {k: fw[k] for k in live} or None
            if found is None:
                found = set(live)
            else:
                found.update(live)
    return sorted(found) if found else ()


def propagate(op, args, arrays, params, result):
    """Give ``result`` (``op`` applied to ``args``, whose arrays are ``arrays``) its tangent at
    every active level some input has one at (Note [Forward mode])."""
    levels = tangent_levels(args)
    if not levels or result._data.dtype.kind not in "fc":
        return          # integer and bool results (argmax, comparisons) have no tangent
    fw = {}
    node = result._grad_fn
    prev_site = STATE.site
    if node is not None and prev_site is None:
        STATE.site = node.site    # its ops come from that line too (Note [Creation sites])
    try:
        for level in levels:      # outer first: the inner ones see the outer ones on `out`
            fw[level] = _tangent_at(op, args, arrays, params, result, level)
            # NOTE: given only now: an empty dict on `out` while its first tangent is computed
            # would make every op of the rule that reads `out` look for tangents on it.
            result._fw = fw
    finally:
        STATE.site = prev_site
    if node is not None:
        # A backward recorded through this node (create_graph=True) reads the output through
        # the node; it must see the tangents too (forward-over-reverse).
        node.out_fw = fw


def _below(t, level):
    """Whether tensor ``t`` carries a tangent at an active level outside ``level``."""
    fw = t._fw
    if fw is None or level in fw and len(fw) == 1:    # (the common case, one level: cheap)
        return False
    active = STATE.fw_levels
    return any(k < level and k in active for k in fw)


def _tangent_at(op, args, arrays, params, result, level):
    record = STATE.grad_enabled
    nested = len(STATE.fw_levels) > 1     # else no tangent is at a level below this one
    tangents, has = [], []
    as_tensors = False     # whether the rule must run on Tensors (the differentiable path)
    for a in args:
        t = None
        if isinstance(a, Tensor):
            if a._fw is not None:
                t = a._fw.get(level)
            if not as_tensors and (
                    (record and a._requires_grad) or (nested and _below(a, level))
                    or t is not None and ((record and t._requires_grad)
                                          or (nested and _below(t, level))
                                          or t._view is BATCHED)):   # a tangent per example
                as_tensors = True
        tangents.append(t)
        has.append(t is not None)
    ctx = _new(Ctx)
    ctx.__dict__ = params         # (the params: Note on Ctx in _core/node.py)
    ctx.needs_input_grad = tuple(has)
    if as_tensors:
        # NOTE: only the values the op saves, which are all its rules read: stripping a dual
        # input makes an alias, wasted on a value the jvp never reads (tanh's x).
        for _, i, _ in op.save_slots:
            if i < 0:
                ctx.out = strip(result, level)
            elif i < len(args):
                a = args[i]
                if isinstance(a, Tensor):
                    a = strip(a, level)
                if i == 0:
                    ctx.x = a
                elif i == 1:
                    ctx.y = a
                else:
                    ctx.z = a
        if all(has):
            tangent = op.jvp(ctx, *tangents)
        else:
            tangent = op.jvp(ctx, *[t if t is not None else _zero(a, wrap)
                                    for a, t in zip(args, tangents)])
        if not isinstance(tangent, Tensor):
            tangent = wrap(np.asarray(tangent))      # a constant: nothing to record
    else:
        ctx.x = arrays[0]
        if len(arrays) > 1:
            ctx.y = arrays[1]
            if len(arrays) > 2:
                ctx.z = arrays[2]
        ctx.out = result._data
        ts = [t._data if t is not None else _zero(a, None) for a, t in zip(args, tangents)]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            tangent = wrap(np.asarray(op.jvp(ctx, *ts)))
    data, out = tangent._data, result._data
    if data.shape == out.shape and data.dtype == out.dtype:    # (the common case: no call)
        return tangent
    return _fit(tangent, out, op)


def _zero(a, as_tensor):
    """The tangent of an input that has none: a broadcast zero for a floating tensor or array
    (rules that don't check ``needs_input_grad`` compute with it), 0.0 for anything else."""
    data = a._data if isinstance(a, Tensor) else a
    if type(data) is np.ndarray and data.dtype.kind in "fc":
        z = _zeros(data.shape, data.dtype)
        return as_tensor(z) if as_tensor is not None else z
    return 0.0


@functools.lru_cache(maxsize=256)
def _zeros(shape, dtype):
    """A read-only broadcast zero (shared: nothing can write to it; np.broadcast_to costs
    more than the rest of a small op's tangent)."""
    return np.broadcast_to(np.zeros((), dtype), shape)


def _fit(tangent, out, op):
    """The tangent in the output's shape and dtype (a rule may return a broadcastable value,
    e.g. a zero, for an output whose tangent does not depend on the input that has one)."""
    data = tangent._data
    if data.shape != out.shape:
        if np.broadcast_shapes(data.shape, out.shape) != out.shape:
            raise AssertionError(f"{op.name}_jvp returned shape {data.shape} for an output of "
                                 f"shape {out.shape}; this is a bug in the rule")
        tangent = tangent.expand(out.shape) if tangent._requires_grad or tangent._fw \
            else wrap(np.broadcast_to(data, out.shape))
        data = tangent._data
    if data.dtype != out.dtype:
        tangent = tangent.to(out.dtype) if tangent._requires_grad or tangent._fw \
            else wrap(data.astype(out.dtype))
    return tangent


def strip(t, level):
    """``t`` as seen below ``level``: the same data and reverse-mode history, without its
    tangents at ``level`` and above (``t`` itself when it has none there)."""
    fw = t._fw
    if fw is None or (level not in fw and max(fw, default=level) <= level):
        return t
    s = wrap(t._data, t._grad_fn)
    s._requires_grad = t._requires_grad
    if t._grad_fn is None and t._requires_grad:
        s._accum = t._accumulator()     # gradients reaching the alias go to t's .grad
    s._vc = t._counter()
    if len(fw) > 1:
        active = STATE.fw_levels
        s._fw = {k: v for k, v in fw.items() if k < level and k in active} or None
    return s


def set_written_tangent(x, r, view):
    """After an in-place op wrote ``r``'s values into ``x``: ``x`` takes ``r``'s tangents; if
    ``x`` is a view, what each tangent of it is a region of (its base's, or a tangent root's)
    takes the new values in the view's region."""
    x._fw = r._fw
    if view is None or r._fw is None:
        return
    from .shape import view_scatter    # late: the view ops live with the shape ops
    base = view[0]
    for level, t in r._fw.items():
        box, chain, shape = _tangent_source(base, view[1], level)
        if box is None:
            old = base._fw.get(level) if base._fw else None
        elif not chain:
            box[0] = t                 # x is this level's root: its tangent is its own
            continue
        else:
            old = box[0]
        if old is None:
            old = wrap(np.zeros(shape, t._data.dtype))
        new = view_scatter(old, t, chain)
        if box is None:
            fw = dict(base._fw or {})
            fw[level] = new
            base._fw = fw
        else:
            box[0] = new


def refresh_view_tangent(t, base, chain):
    """A view's tangents, re-taken after the storage changed in place: at each level, the
    view of its base's tangent, or of its tangent root's (Note [Forward mode])."""
    from .shape import view_of                # late, as above
    levels = set(base._fw or ()) | set(t._fw or ()) | _root_levels(chain)
    fw = {}
    for level in levels:
        box, sub, shape = _tangent_source(base, chain, level)
        v = (base._fw.get(level) if base._fw else None) if box is None else box[0]
        if v is not None and sub:
            v = view_of(v, sub, shape)
        if v is not None:
            fw[level] = v
    t._fw = fw or None


def _root_levels(chain):
    from .shape import ALIAS                  # late, as above
    return {params["level"] for op, params in chain if op is ALIAS}


def _tangent_source(base, chain, level):
    """Where a view's tangent at ``level`` is a region of: (None, chain, base's shape) for its
    memory base's tangent, or (box, the chain from the root, the root's shape) for the box
    holding the tangent of the last tangent root of that level on the way (shape.tangent_root;
    an empty chain when the view is that root)."""
    from .shape import ALIAS                  # late, as above
    for k in range(len(chain) - 1, -1, -1):
        op, params = chain[k]
        if op is ALIAS and params["level"] == level:
            return params["box"], chain[k + 1:], params["shape"]
    return None, chain, base._data.shape
