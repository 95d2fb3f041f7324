"""Batching rules: how each primitive runs on a whole batch at once (Note [Batched tensors]
in _core/batched.py).

``dispatch`` is what ``registry.apply`` calls for an op with a batched input. It picks the
innermost vmap level among the inputs, unwraps the inputs batched at that level to their
physical tensors (batch dim 0; inputs batched only at outer levels, or not at all, stay as
they are: at this level they are the same for every example), and asks the op's rule how to
run it physically. A rule is ``rule(op, args, batched, params, size)`` returning
``(args, params, post)``: the physical arguments (dims moved past the batch dim, operands
padded so they broadcast as the examples do), the physical params and an optional function
applied to the physical result (or None when it has no layout for these arguments); the op
then runs once, through ``apply``, so it is recorded
(and carries tangents) like any op. Ops without a rule run example by example (``fallback``),
with a one-time warning naming the op: slow, but never wrong or refused.

The rules live by family: elementwise.py (pointwise and broadcasting ops), reductions.py
(ops over dims), shapes.py (views, reshapes, joins, indexing), linalg.py (matmul and the
matrix functions), nn.py (convolutions, layer norms, attention weights), losses.py,
nn_pooling.py, nn_norm.py (batch/instance/local response norm), nn_sparse.py (one_hot,
embeddings), nn_recurrent.py (the RNN layers), nn_misc.py (resampling, unfold/fold),
nn_random.py (randomness='different' without a loop), indexing.py (selection by condition,
mask or index tensor; setitem; strided views), scatter.py (gather, the scatters and the
index_* functions), sorting.py (sorts, order statistics, searches and the reductions that
read values), linalg_extra.py (solves, cdist, the LU family, lstsq, rank, pinv). Public
functions that read values before their primitive runs get public rules (``public_rule``); a
tuple result (values, indices) comes back with each element batched.
"""
import warnings

from ..._core.batched import Batched, BatchedDataAccess, levels_of, make_batched
from ..._core.state import STATE
from ..._core.tensor import Tensor
from ...autograd.forward_ad import lift_batched_tangents
from ..._core.errors import NotSupportedError
from ...ops.registry import apply, apply_inplace, install_batching

RULES = {}
DECOMPOSITIONS = {}
PUBLIC_RULES = {}


def public_rule(name):
    """Register ``fn(args, batched, kwargs, size)`` as the batching rule of public function
    ``name`` (see registry.batched_call): it returns the physical result, or None to let the
    function run as usual."""
    def register(fn):
        PUBLIC_RULES[name] = fn
        return fn
    return register


def decomposition(name):
    """Register ``fn(args, batched, params)`` to run op ``name`` as other ops on its batched
    (logical) arguments when it returns a result (None: use the op's rule). For layouts a
    rule can't give the op in one call (linear with a per-example weight is a matmul)."""
    def register(fn):
        DECOMPOSITIONS[name] = fn
        return fn
    return register


def rule(*names):
    """Register the decorated function as the batching rule of the primitives ``names``."""
    def register(fn):
        for n in names:
            assert n not in RULES, f"batching rule for {n!r} registered twice"
            RULES[n] = fn
        return fn
    return register


class FallbackWarning(UserWarning):
    """An op ran example by example inside vmap: correct, but as slow as a Python loop."""


_warned = set()
# how many times an op (or a whole function) ran example by example: tests read it to list
# which ops still fall back
FALLBACKS = {"count": 0}


def dispatch(op, args, params, inplace):
    """Run ``op`` on ``args`` of which some are batched (see the module docstring)."""
    level = None
    for a in args:
        if type(a) is Batched and (level is None or a._level.depth > level.depth):
            level = a._level
    if not level.active:
        raise NotSupportedError(
            f"vmap: {op.name} got a batched tensor whose vmap has already returned (it escaped, "
            "e.g. through a global, a closure or a list kept outside). Return it from the "
            "vmapped function instead, so vmap gives back the stacked result.")
    if STATE.fw_levels:
        args = _lift_duals(args, level)
    phys, batched = [], []
    for a in args:
        if type(a) is Batched and a._level is level:
            phys.append(a._phys)
            batched.append(True)
        else:
            phys.append(a)
            batched.append(False)
    decompose = DECOMPOSITIONS.get(op.name)
    if decompose is not None and inplace is None:
        out = decompose(args, batched, params)
        if out is not None:
            return out
    if inplace is not None:
        return _inplace(op, phys, batched, params, inplace, args[0])
    rule_fn = RULES.get(op.name)
    planned = None if rule_fn is None else rule_fn(op, phys, batched, params, level.size)
    if planned is None:            # no rule, or none for this layout
        return make_batched(fallback(op, phys, batched, params, level.size), level)
    new_args, new_params, post = planned
    out = apply(op, new_args, new_params)
    if post is not None:
        out = post(out)
    return make_batched(out, level)


def _lift_duals(args, level):
    """``args`` with every plain dual tensor whose tangent is batched at ``level`` made
    batched there (forward_ad.lift_batched_tangents): a primal shared by the examples whose
    tangents differ (jacfwd's basis, a jvp inside vmap)."""
    out = None
    for i, a in enumerate(args):
        if isinstance(a, Tensor) and type(a) is not Batched and a._fw is not None and any(
                type(t) is Batched and level in levels_of(t) for t in a._fw.values()):
            lifted = lift_batched_tangents(a, level)
            if lifted is None:
                raise NotSupportedError("vmap: a tangent batched at an outer vmap than its "
                                        "primal's isn't supported.")
            if out is None:
                out = list(args)
            out[i] = lifted
    return args if out is None else tuple(out)


def public_dispatch(name, args, kwargs):
    """registry.batched_call's answer for public function ``name`` (None: no rule applies)."""
    level = None
    for a in args:
        if type(a) is Batched and (level is None or a._level.depth > level.depth):
            level = a._level
    rule_fn = PUBLIC_RULES.get(name)
    if level is None or rule_fn is None:
        return None
    phys = [a._phys if type(a) is Batched and a._level is level else a for a in args]
    batched = [type(a) is Batched and a._level is level for a in args]
    if getattr(rule_fn, "takes_level", False):   # (the random ops: the level's randomness)
        kwargs = dict(kwargs, level=level)
    out = rule_fn(phys, batched, kwargs, level.size)
    if out is None:
        return None
    if isinstance(out, tuple):     # (values, indices) and other named tuples: each batched
        items = [make_batched(o, level) for o in out]
        return type(out)(*items) if hasattr(out, "_fields") else tuple(items)
    return make_batched(out, level)


def _inplace(op, phys, batched, params, name, target):
    """An in-place op inside vmap: the written tensor must be batched when any operand is
    (its memory can't grow a batch dim); then the op's own rule gives the layout."""
    if not batched[0]:
        other = next(i for i, b in enumerate(batched) if b)
        raise NotSupportedError(
            f"vmap: {name} writes into a tensor that is not batched (the same for every example) "
            f"a value computed from a batched one (argument {other}), which would need to grow "
            "its memory by the batch dim. Use the out-of-place op instead (x = x.op(...)).")
    rule_fn = RULES.get(op.name)
    if rule_fn is None or getattr(rule_fn, "inplace_ok", False) is False:
        # no in-place layout: vmap runs the function example by example
        raise BatchedDataAccess(f"in-place {name}", target._level)
    new_args, new_params, post = rule_fn(op, phys, batched, params, phys[0].shape[0])
    assert post is None
    apply_inplace(op, new_args, new_params, name)
    return target


def fallback(op, args, batched, params, size):
    """Run ``op`` example by example and stack the results (recorded like any ops)."""
    FALLBACKS["count"] += 1
    if op.name not in _warned:
        _warned.add(op.name)
        warnings.warn(f"vmap: {op.name} has no batching rule yet, so it runs example by example "
                      "(a Python loop over the batch): correct, but slow.", FallbackWarning,
                      stacklevel=4)
    if size == 0:
        raise NotSupportedError(f"vmap: {op.name} has no batching rule, and an empty batch "
                                "gives no example to run it on.")
    from ...ops.shape import stack
    outs = [apply(op, [a[i] if b else a for a, b in zip(args, batched)], params)
            for i in range(size)]
    return stack(outs)


def ops_without_rules():
    """The registered primitives that would run example by example inside vmap."""
    from ...ops.registry import REGISTRY
    return sorted(n for n in REGISTRY if n not in RULES)


install_batching(dispatch, public_dispatch)

from . import elementwise, reductions, shapes, linalg, nn, losses  # noqa: E402,F401  (register rules)
from . import (nn_misc, nn_norm, nn_pooling, nn_random, nn_recurrent,  # noqa: E402,F401
               nn_sparse)
from . import indexing, scatter, sorting, linalg_extra  # noqa: E402,F401  (register rules)
