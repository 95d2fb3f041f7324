"""The backward engine: an iterative walk over the recorded graph.

Nodes run in an order where every consumer of a value has run before its producer (counted
dependencies, no recursion), each exactly once; cotangents of values used more than once are
summed. Rules run on plain arrays unless ``create_graph=True``, when they run on Tensors and
so record themselves (Note [One rule, two paths] in ops/registry.py).
"""
import sys

import numpy as np

from .._core.batched import Batched, levels_of, merge_levels, physical, split_levels
from .._core.errors import ArgumentError, GradError, ShapeError
from .._core.node import AccumulateGrad, Ctx, Node, capture_site, format_site
from .._core.state import STATE
from .._core.tensor import Tensor, wrap
from ..ops._broadcast import sum_to_shape
from ..ops.registry import SavedPacked
from ..ops.shape import clone
from .explain import diagnose, diagnose_output
from .graph import unpack_saved
from .leaks import observe as _watch_leaks

_ndarray = np.ndarray
_getrefcount = sys.getrefcount
_new = object.__new__


def _base_holders(a):
    """How many references a's base has, seen from here; -1 unless the base is an array that
    owns its memory. Compared with ``_ALONE``, the count when the view is all that holds it."""
    base = a.base
    return _getrefcount(base) if type(base) is _ndarray and base.base is None else -1


# NOTE: measured rather than assumed: the count depends on the interpreter's version.
_ALONE = _base_holders(np.empty((1, 2)).T)


def _is_sole_view(a):
    """Whether ``a`` is a writable view of memory that nothing else can reach: a rule's own
    temporary seen through a transpose or a reshape (matmul's grad of ``w`` through ``w.T``, a
    bias grad summed and reshaped). The engine may then add into it and hand it out as a
    .grad without a copy, as it does with an array a rule allocated (``fresh`` in
    run_backward)."""
    return a.flags.writeable and _base_holders(a) == _ALONE


def _as_tuple(x):
    if x is None:
        return None
    if isinstance(x, (tuple, list)):
        return tuple(x)
    return (x,)


def _describe(t):
    return f"tensor of shape {tuple(t.shape)} and dtype {t.dtype}"


def _seed(t, g, i, create_graph, caller):
    """The node an output's gradient enters at, and that gradient (array or Tensor)."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{caller}: outputs must be tensors, got {type(t).__name__}")
    if not t.requires_grad:     # the property also brings a stale view's history up to date
        raise GradError(
            f"{caller}: output {i} ({_describe(t)}) does not require grad and has no grad_fn, "
            "so there is nothing to differentiate. Usual causes: no input was created with "
            "requires_grad=True, it was computed under no_grad()/inference_mode(), or "
            "detach() cut it from the graph." + _why_output(t))
    shape = t._data.shape
    if g is None:
        if t._data.size != 1:
            raise GradError(
                f"{caller}: output has shape {shape}, so grad can't be implied; pass "
                "out.backward(ones_like(out)) or the gradient you want, or reduce it to a "
                "scalar first (e.g. out.sum()).")
        arr = np.ones(shape, dtype=t._data.dtype)
        return t._node(), (wrap(arr) if create_graph else arr), True
    if isinstance(g, Tensor):
        arr = g._data
    else:
        arr = np.asarray(g, dtype=t._data.dtype)
        g = None
    if arr.shape != shape:
        raise ShapeError(f"{caller}: gradient {i} has shape {arr.shape} but output {i} has "
                         f"shape {shape}; they must match.")
    if arr.dtype != t._data.dtype:
        if create_graph and g is not None:
            g = g.to(t._data.dtype)      # recorded: a gradient of the grad_output flows back
            arr = g._data
        else:
            arr = arr.astype(t._data.dtype)
            g = None
    if create_graph:
        return t._node(), (g if g is not None and g._data is arr else wrap(arr)), False
    return t._node(), arr, False


def count_consumers(roots):
    """For every node reachable from ``roots``, how many reachable nodes consume it."""
    pending = {r: 0 for r in roots}
    stack = list(pending)
    while stack:
        for p in stack.pop().parents:
            if p is None:
                continue
            n = pending.get(p)
            if n is None:
                pending[p] = 1
                stack.append(p)
            else:
                pending[p] = n + 1
    return pending


def topo_order(roots, pending=None):
    """Nodes reachable from ``roots``; each comes after every node that consumes it.
    ``pending``: count_consumers(roots) when the caller has it already (it is not changed)."""
    pending = count_consumers(roots) if pending is None else dict(pending)   # pass 1
    ready = [r for r, n in pending.items() if n == 0]
    order = []
    while ready:                              # pass 2: release a node once its consumers ran
        node = ready.pop()
        order.append(node)
        for p in node.parents:
            if p is None:
                continue
            n = pending[p] - 1
            pending[p] = n
            if n == 0:
                ready.append(p)
    return order


def _leading_to(order, targets):
    """The nodes of ``order`` from which some target node can be reached."""
    leads = set()
    for node in reversed(order):              # producers before consumers
        if node in targets:
            leads.add(node)
            continue
        for p in node.parents:                # (a loop, not any(): this runs per node)
            if p in leads:
                leads.add(node)
                break
    return leads


def _all_lead_to(nodes, targets):
    """Whether every node of ``nodes`` (a reachable set, closed under parents) leads to some
    target node: so when every node without parents is a target, since each path through
    the parents ends at one. Then the engine needs no ``_leading_to`` set (two more walks)."""
    for node in nodes:
        if node not in targets:
            for p in node.parents:
                if p is not None:
                    break
            else:
                return False
    return True


def _freed_error(node):
    return GradError(
        f"backward: the saved values of '{node.op.name}' (created at {format_site(node.site)}) "
        "were freed by an earlier backward through this graph. Either pass retain_graph=True "
        "to the first backward()/grad() call, or recompute the forward pass (run the code "
        "from the inputs to the loss again) before the second backward.")


def _check_versions(node):
    for name, t, vc, version in node.saved_entries():
        if vc.value != version:
            shape = (t._data.shape if t is not None else node.out.shape)
            where = f" (last changed in place at {format_site(vc.site)})" if vc.site else ""
            raise GradError(
                f"backward: the value '{name}' that '{node.op.name}' (created at "
                f"{format_site(node.site)}) saved for its gradient was modified in place "
                f"afterwards{where}: tensor of shape {tuple(shape)}, saved at version {version}, "
                f"now at version {vc.value}. Use the out-of-place form of that op "
                "(x = x + 1 instead of x += 1), or clone() the tensor before changing it.")


def _tensor_ctx(node):
    """A ctx like ``node`` whose saved values are Tensors, so the rule records itself."""
    if type(node) is not Node:
        return node      # a custom Function's node: it keeps Tensors (autograd/function.py)
    c = _new(Ctx)
    c.__dict__ = node.__dict__     # the params (Note on Ctx in _core/node.py)
    c.needs_input_grad = node.needs_input_grad
    saved = node.saved
    if len(saved) != 4 * len(node.op.save_slots):
        _copy_constants(node, c)        # some saved input is an array or a scalar, or unsaved
    # NOTE: straight from the flat saved run (name, tensor or None for out, ...): every entry
    # is x, y, z or out, and out is kept as its array (record_node).
    for k in range(0, len(saved), 4):
        t = saved[k + 1]
        if t is None:
            t = wrap(node.out, node)
            t._fw = node.out_fw          # a dual output's tangents (Note [Forward mode])
            c.out = t
        elif saved[k] == "x":
            c.x = t
        elif saved[k] == "y":
            c.y = t
        else:
            c.z = t
    return c


def _copy_constants(node, c):
    """Give ctx ``c`` the input values ``node`` saved as they are (arrays, scalars: inputs
    that were not Tensors); those saved as Tensors are set by the caller. A value kept only
    for a gradient nobody needs was not saved (record_node's save_for) and is not copied."""
    needs = node.needs_input_grad
    for name, i, needed_by in node.op.save_slots:
        if i >= 0 and (needed_by is None or needs[needed_by]):
            setattr(c, name, node.x if i == 0 else node.y if i == 1 else node.z)


def _run_hooks(hooks, g, create_graph):
    for hook in list(hooks):
        out = hook(g if create_graph else wrap(g))
        if out is not None:
            if not isinstance(out, Tensor):
                raise TypeError(f"hook {hook!r} returned {type(out).__name__}; a hook must "
                                "return a Tensor or None")
            before = g._data if create_graph else g
            if out._data.shape != before.shape or out._data.dtype != before.dtype:
                raise ShapeError(f"hook {hook!r} returned a gradient of shape "
                                 f"{tuple(out.shape)} and dtype {out.dtype} for one of shape "
                                 f"{before.shape} and dtype {before.dtype}; hooks must keep both")
            g = out if create_graph else out._data
    return g


def _add_into_grad(t, g, is_fresh, create_graph):
    """Accumulate gradient g into ``t.grad`` (in place when nothing records, as in PyTorch)."""
    old = t._grad
    if old is None:
        if not create_graph:
            t._grad = wrap(g if is_fresh else g.copy())
        elif g._grad_fn is None:
            t._grad = wrap(g._data.copy())   # a constant (say, the caller's gradient): own it
        else:
            # NOTE: a recorded copy unless the engine made g for this tensor alone: add passes
            # its cotangent to both inputs, and .grad tensors must not alias.
            t._grad = g if is_fresh else clone(g)
    elif create_graph or old._requires_grad:
        t._grad = old + g
    else:
        np.add(old._data, g, out=old._data, casting="same_kind")
        old._bump()


def run_backward(outputs, grad_outputs, retain_graph, create_graph, targets=None,
                 accumulate=True, caller="backward", record=None):
    """Walk back from ``outputs``. With ``targets`` (a list of tensors), return their
    gradients in order (None where none arrived) and, if ``accumulate``, add them into their
    ``.grad``; without, add into every reached leaf's ``.grad``. ``create_graph`` runs the
    rules on Tensors; ``record`` (default: create_graph) whether they record."""
    grad_outputs = grad_outputs or (None,) * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise ArgumentError(f"{caller}: got {len(grad_outputs)} gradients for {len(outputs)} "
                            "outputs")
    seeds = [_seed(t, g, i, create_graph, caller)
             for i, (t, g) in enumerate(zip(outputs, grad_outputs))]
    roots = [seeds[0][0]] if len(seeds) == 1 else list(dict.fromkeys(s[0] for s in seeds))
    if retain_graph is None:
        retain_graph = create_graph
    # Kahn's walk: a node is ready once all its consumers ran (no recursion, each node once).
    pending = count_consumers(roots)
    target_of = leads = captured = None
    if targets is not None:
        target_of = {}
        for i, t in enumerate(targets):
            target_of.setdefault(t._node(), []).append(i)
        if not _all_lead_to(pending, target_of):
            leads = _leading_to(topo_order(roots, pending), target_of)
        captured = [None] * len(targets)
    ready = [r for r in roots if pending[r] == 0]

    buffers = {}
    # Nodes whose buffer was made for them alone (not a rule's pass-through of its own g, not
    # a caller's array): the fast path may add into it in place, and it may become a .grad
    # without a copy.
    fresh = set()
    for node, g, is_fresh in seeds:
        prev = buffers.get(node)
        if prev is None:
            buffers[node] = g
            if is_fresh:
                fresh.add(node)
        else:
            total = prev + g
            buffers[node] = total if create_graph or type(total) is _ndarray else np.asarray(total)
            fresh.add(node)

    prev_mode, prev_site, prev_partial = STATE.grad_enabled, STATE.site, STATE.partial_backward
    # the recorded path records; the fast path can't
    STATE.grad_enabled = create_graph if record is None else record
    if create_graph and prev_site is None:
        STATE.site = capture_site(2)       # the nodes it records (Note [Creation sites])
    STATE.partial_backward = targets is not None   # (reentrant checkpoint refuses grad())
    anomaly = STATE.anomaly
    special = target_of is not None       # grad(): its targets' gradients are captured
    try:
        # (anomaly mode: rules' flags go to the watch; Note [Anomaly detection])
        with (np.errstate(divide="ignore", invalid="ignore", over="ignore") if not anomaly
              else anomaly.errstate()):
            while ready:
                node = ready.pop()
                parents = node.parents
                for p in parents:             # release producers; they run after this node
                    if p is not None:
                        n = pending[p] - 1
                        pending[p] = n
                        if n == 0:
                            ready.append(p)
                g = buffers.pop(node, None)
                if g is None or (leads is not None and node not in leads):
                    continue
                if node.hooks or node.retained is not None or type(node) is AccumulateGrad \
                        or special and node in target_of:
                    g = _node_extras(node, g, fresh, create_graph, target_of, captured, leads)
                    if g is None:
                        continue
                saved = node.saved
                if saved is None:
                    raise _freed_error(node)
                ctx = node
                if saved:
                    for k in range(2, len(saved), 4):       # flat (name, t, vc, version)s
                        if saved[k].value != saved[k + 1]:
                            _check_versions(node)       # raises, with the whole story
                    if type(saved[1]) is SavedPacked:   # packed by saved_tensors_hooks
                        ctx = unpack_saved(node, create_graph)
                    elif create_graph:
                        ctx = _tensor_ctx(node)
                grads = node.op.vjp(ctx, g)
                if anomaly:           # the gradients leaving the engine (leaves, grad() inputs)
                    anomaly.check_grads(node, g, grads, target_of)
                if saved and not retain_graph:
                    node.free_saved()
                for p, gi in zip(parents, grads):
                    if p is None or gi is None or (leads is not None and p not in leads):
                        continue
                    if create_graph:
                        if not isinstance(gi, Tensor):
                            gi = wrap(np.asarray(gi))   # a constant cotangent: nothing to record
                        if gi._data.shape != p.shape:     # (not .shape: it builds a Size)
                            gi = _fix_shape(node, p, gi)
                        if gi._data.dtype != p.dtype:
                            gi = gi.to(p.dtype)
                    else:
                        if type(gi) is not _ndarray:
                            gi = np.asarray(gi)     # NumPy gives scalars for 0-d results
                        if gi.shape != p.shape:
                            gi = _fix_shape(node, p, gi)
                        if gi.dtype != p.dtype:
                            gi = gi.astype(p.dtype)
                    prev = buffers.get(p)
                    if prev is None:
                        buffers[p] = gi
                        if gi is not g and (create_graph or gi.base is None
                                            or _is_sole_view(gi)):
                            fresh.add(p)
                    elif create_graph:
                        buffers[p] = prev + gi        # a new tensor, made for p alone
                        fresh.add(p)
                    elif p in fresh:
                        np.add(prev, gi, out=prev)
                    else:
                        total = prev + gi
                        # NOTE: 0-d arrays add up to a NumPy scalar; keep an ndarray, which the
                        # next contribution is added into in place.
                        buffers[p] = total if type(total) is _ndarray else np.asarray(total)
                        fresh.add(p)
    finally:
        STATE.grad_enabled, STATE.site = prev_mode, prev_site
        STATE.partial_backward = prev_partial

    if targets is None:
        return None
    results, handed_out = [], set()
    for i, t in enumerate(targets):
        if captured[i] is None:
            results.append(None)
            continue
        g, is_fresh = captured[i]
        if not create_graph:
            # Hand each caller an array nobody else holds (rules may return g itself).
            if not is_fresh or id(g) in handed_out:
                g = g.copy()
            handed_out.add(id(g))
            g = wrap(g)
        if accumulate:
            _add_into_grad(t, g if create_graph else g._data, True, create_graph)
            _run_post_hooks(t)
        results.append(g)
    return results


def _node_extras(node, g, fresh, create_graph, target_of, captured, leads):
    """Hooks, retained grads, grad() captures and leaf accumulation for one node. Returns the
    gradient to propagate through the node's rule, or None when the node is done."""
    if node.hooks:
        g = _run_hooks(node.hooks, g, create_graph)
        fresh.discard(node)
    is_fresh = node in fresh
    is_target = target_of is not None and node in target_of
    if node.retained is not None and not is_target:   # a target's .grad is filled at the end
        t = node.retained()
        if t is not None:
            _add_into_grad(t, g, False, create_graph)
    if is_target:
        for i in target_of[node]:
            captured[i] = (g, is_fresh)
        if not any(p is not None and (leads is None or p in leads) for p in node.parents):
            return None
    if type(node) is AccumulateGrad:
        if target_of is None:
            _add_into_grad(node.variable, g, is_fresh, create_graph)
            if node.post_hooks:          # (node is the leaf's accumulator, where they live)
                _run_post_hooks(node.variable)
        return None
    return g


def _run_post_hooks(t):
    """The leaf's register_post_accumulate_grad_hook hooks, after its .grad was updated."""
    acc = t._accum
    acc = acc if acc is None or type(acc) is AccumulateGrad else acc()
    if acc is not None and acc.post_hooks:
        for hook in list(acc.post_hooks):
            hook(t)


def _fix_shape(node, parent, gi):
    if node.op.broadcasts:
        try:
            return sum_to_shape(gi, parent.shape)
        except ValueError:
            pass
    raise ShapeError(
        f"engine: {node.op.name}_vjp returned shape {tuple(gi.shape)} for an input of shape "
        f"{tuple(parent.shape)}; this is a bug in the rule (created at {format_site(node.site)}).")


# ---- public API ---------------------------------------------------------------------------------
def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Add the gradients of ``tensors`` with respect to graph leaves into their ``.grad``.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor(2.0, requires_grad=True)
        >>> tg.autograd.backward(x * x); x.grad
        tensor(4.)
    """
    tensors = _as_tuple(tensors)
    _watch_leaks(tensors)     # the leak sentinel (Note [The leak sentinel] in leaks.py)
    grads = _as_tuple(grad_tensors if grad_tensors is not None else grad_variables)
    if inputs is not None:
        inputs = _as_tuple(inputs)
        if not inputs:
            raise ArgumentError("backward: inputs= was given but is empty")
        for t in inputs:
            _check_input(t, "backward")
    run_backward(tensors, grads, retain_graph, create_graph, targets=inputs, accumulate=True)


def _check_input(t, caller):
    if not isinstance(t, Tensor):
        raise TypeError(f"{caller}: inputs must be tensors, got {type(t).__name__}")
    if not t.requires_grad:     # (refreshes a stale view, as above)
        raise GradError(f"{caller}: one of the inputs ({_describe(t)}) does not require grad, "
                        "so it has no gradient; create it with requires_grad=True."
                        + _why(None, t))


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor(2.0, requires_grad=True)
        >>> (dy,) = tg.autograd.grad(x ** 3, x, create_graph=True)
        >>> dy, tg.autograd.grad(dy, x)[0]
        (tensor(12., grad_fn=<PowBackwardBackward0>), tensor(12.))
    """
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if STATE.vmap_levels:
        if any(type(t) is Batched for t in outputs + inputs):
            return _batched_grad(outputs, inputs, _as_tuple(grad_outputs), retain_graph,
                                 create_graph, allow_unused, materialize_grads)
        if grad_outputs is not None and any(type(g) is Batched for g in _as_tuple(grad_outputs)):
            for t in inputs:
                _check_input(t, "grad")
            # vmap over cotangents (a vjp_fn inside vmap: jacrev's rows): the rules run on
            # Tensors, so each runs batched through its ops' batching rules
            results = run_backward(outputs, _as_tuple(grad_outputs), retain_graph, True,
                                   targets=inputs, accumulate=False, caller="grad",
                                   record=create_graph)
            return _check_unused(inputs, results, allow_unused, materialize_grads, outputs)
    for t in inputs:
        _check_input(t, "grad")
    results = run_backward(outputs, _as_tuple(grad_outputs), retain_graph, create_graph,
                           targets=inputs, accumulate=False, caller="grad")
    return _check_unused(inputs, results, allow_unused, materialize_grads, outputs)


def _why(outputs, t):
    """explain()'s diagnosis of input ``t``, as a sentence to append to an error (error path
    only: the walk and the cut log are read only once something has gone wrong)."""
    text = diagnose(outputs, t)
    return f" Why: {text}" if text else ""


def _why_output(t):
    """explain()'s note on an output that does not require grad (error path only)."""
    text = diagnose_output(t)
    return f" {text}" if text else ""


def _check_unused(inputs, results, allow_unused, materialize_grads, outputs=None):
    """grad()'s results, with None for unused inputs replaced by zeros or refused."""
    if allow_unused is None:
        allow_unused = materialize_grads
    for i, (t, g) in enumerate(zip(inputs, results)):
        if g is None:
            if materialize_grads:
                results[i] = wrap(np.zeros_like(t._data))
            elif not allow_unused:
                raise GradError(
                    f"grad: input {i} ({_describe(t)}) was not used to compute the outputs, so "
                    "it has no gradient. Pass allow_unused=True to get None for it (or "
                    "materialize_grads=True for zeros)." + _why(outputs, t))
    return tuple(results)


def _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                  materialize_grads):
    """``grad`` inside vmap (Note [Batched tensors]): on the physical tensors, each example's
    output seeded with its own cotangent, so each example's input gets its own gradient. That
    holds only for inputs batched at every level their outputs are (func.grad makes its
    inputs so); an input shared by the examples would get the sum of their gradients, so it
    is refused. Cotangents may be batched at further, inner levels (a vmap over vjp_fn inside
    another transform's vmap): those stay batched through the rules."""
    out_levels = {lv for o in outputs for lv in levels_of(o)}
    for i, t in enumerate(inputs):
        if not out_levels <= set(levels_of(t)):
            raise GradError(
                f"grad: inside vmap, input {i} (example shape {tuple(t.shape)}) is the same for "
                "every example, so autograd.grad would give the sum of the examples' gradients "
                "instead of each one's. Use tapegrad.func.grad (or func.vjp) inside vmap: it "
                "gives every example its own gradient.")
    phys_out, phys_go = [], []
    for j, o in enumerate(outputs):
        own = levels_of(o)
        phys_out.append(physical(o))
        g = grad_outputs[j] if grad_outputs and j < len(grad_outputs) else None
        if g is None:
            if o.numel() != 1:
                raise GradError(f"grad: grad can be implicitly created only for outputs with "
                                f"one element per example; output {j} has example shape "
                                f"{tuple(o.shape)}. Pass grad_outputs.")
            g = wrap(np.ones(physical(o)._data.shape, physical(o)._data.dtype))
        elif isinstance(g, Tensor):
            g = split_levels(g, own)
            if g is None:
                raise GradError("grad: inside vmap, a cotangent is batched at an outer vmap "
                                "its output is not batched at; this layout isn't supported.")
        phys_go.append(g)
    results = grad(tuple(phys_out), tuple(physical(t) for t in inputs), tuple(phys_go),
                   retain_graph, create_graph, allow_unused, materialize_grads)
    return tuple(None if r is None else merge_levels(r, levels_of(t))
                 for t, r in zip(inputs, results))

