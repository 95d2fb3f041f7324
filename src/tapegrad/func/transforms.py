"""The core function transforms: ``grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``linearize``.

torch.func's names and signatures, JAX's semantics: a transform takes a function and gives a
function (or values) with no side effects on the tensors the caller holds.

# Note [Transform levels]
Each call of a transform is a level of its own, so nested transforms keep their perturbations
apart (no "perturbation confusion", Siskind and Pearlmutter's classic bug):
- reverse mode (grad, vjp and jacrev): every differentiated input becomes a fresh alias
  (``_differentiable_input``) that requires grad and stays connected to the caller's tensor
  (a view of it; a fresh leaf sharing its memory when it has no history). The transform asks
  the engine for gradients with respect to that alias only (``autograd.grad``, never
  ``backward``), so an inner transform's gradient never reaches an outer one's inputs, and
  nothing is added into the ``.grad`` of any tensor the caller holds.
  Tensors made outside the transform are constants inside it: they are not its aliases.
- forward mode (jvp, linearize and jacfwd): every call enters a fresh
  ``forward_ad.dual_level``, whose id is never reused, so tangents of different calls never mix.
- composition: the backward pass is recorded (``create_graph=True``) only when something
  outside the transform can still differentiate the result (``_needs_graph``): a forward-AD
  level is active, or the graph reaches a tensor requiring grad that is not this transform's
  own alias (the caller's tensor, a running outer transform's alias, a closure's parameter).
  Otherwise the rules run on plain arrays (the fast path) and results come back detached.
  The alias leaves of transforms that have returned don't count: nobody can ask for a
  gradient with respect to them any more (``_made`` holds every alias leaf, ``STATE.transform_aliases`` those of
  the transforms still running).
- grad mode: ``f`` runs under ``enable_grad``, so a transform's result does not depend on a
  ``no_grad`` around the call (as torch.func), while a ``no_grad`` inside ``f`` is respected.

# Note [Transforms inside vmap]
Inside vmap an input of a reverse-mode transform is made batched at every running vmap
(``batched_at``: an input shared by the examples is broadcast over the batch, a view), so the
engine's batched ``grad`` seeds each example separately and every example gets its own
gradient: ``vmap(grad(f), in_dims=(None, 0))(w, xs)`` gives per-example gradients with
respect to ``w``. Aliases are keyed by their physical tensor, the one the graph records.
"""
import functools
import numbers
import weakref

from .._core.batched import batched_at, levels_of, physical, rewrap
from .._core.errors import ArgumentError, DTypeError, ShapeError
from .._core.node import AccumulateGrad
from .._core.state import STATE
from .._core.tensor import Tensor
from ..autograd import engine
from ..autograd import forward_ad as fwAD
from ..autograd.grad_mode import enable_grad
from ..ops.creation import tensor as _tensor
from ..ops.creation import zeros_like
from ._pytree import tree_flatten, tree_unflatten

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "linearize"]


# ---- shared helpers (jacobians.py uses them too) ---------------------------------------------

# every alias leaf a transform made, by id (Note [Transform levels]). NOTE: not a WeakSet:
# weak references compare their tensors with the elementwise ==.
_made = weakref.WeakValueDictionary()


class _running:
    """While a transform runs, its alias leaves count as outside for inner transforms."""

    def __init__(self, aliases):
        phys = [physical(a) for a in aliases]
        self.ids = {id(p) for p in phys if _made.get(id(p)) is p}

    def __enter__(self):
        self.prev = STATE.transform_aliases
        STATE.transform_aliases = self.prev | self.ids

    def __exit__(self, *exc):
        STATE.transform_aliases = self.prev


def _differentiable_input(x, tangent=None):
    """The tensor a transform hands to ``f`` in place of the caller's ``x``.

    Reverse mode (``tangent`` None): an alias of ``x`` that requires grad. When ``x`` has a
    history (it requires grad, or carries forward-AD tangents) the alias is a view of it made
    under enable_grad, so it stays connected to ``x``'s own graph and an outer transform still
    differentiates through it; otherwise it is a fresh leaf sharing ``x``'s memory.
    ``requires_grad`` is set on the alias, never on ``x``. Forward mode: ``x`` made dual with
    ``tangent`` at the innermost (this call's) level. Every transform makes its inputs here
    (Note [Transform levels]). Inside vmap the alias is batched at every running vmap (Note
    [Transforms inside vmap]).
    """
    if tangent is not None:
        return fwAD.make_dual(x, tangent)
    # Note [Transforms inside vmap]: batched at every running vmap (not one that runs its
    # function example by example), so each example has an input of its own and its gradient.
    levels = [lv for lv in STATE.vmap_levels if lv.active] if STATE.vmap_levels else None
    if not levels:
        return _alias(x)
    return rewrap(_alias(_batched_everywhere(x, levels)), levels)


def _batched_everywhere(x, levels):
    """The physical tensor of ``x`` batched at every level of ``levels`` (Note [Transforms
    inside vmap]), its forward-AD tangents too.

    NOTE: broadcasting a dual ``x`` with ops would run their tangent rules on its tangents,
    which may be batched where ``x`` is not (jvp inside vmap over the tangents, as jacfwd's
    columns): the broadcast of such a tangent would be batched twice. So the primal and each
    tangent are broadcast apart, and the tangents put back on the physical result."""
    if len(levels_of(x)) == len(levels) or physical(x)._fw is None:
        return batched_at(x, levels)
    tangents = []
    for i in range(len(STATE.fw_levels)):
        x, t = fwAD.unpack_dual(x, level=i)
        if t is not None:
            tangents.append((i, t))
    p = batched_at(x, levels)
    for i, t in tangents:
        p = fwAD.make_dual(p, batched_at(t, levels), level=i)
    return p


def _alias(x):
    """The reverse-mode alias of a plain (physical) tensor (see _differentiable_input)."""
    if x._fw is None and not x.requires_grad:
        # NOTE: nothing to stay connected to, so a fresh leaf sharing x's memory: a detach
        # costs a tenth of a recorded view (the common case, grad of a plain tensor).
        alias = x.detach().requires_grad_()
    else:
        with enable_grad():
            alias = x.view_as(x)
        if alias.requires_grad:
            return alias
        alias.requires_grad_()
    _made[id(alias)] = alias
    return alias


def _needs_graph(outputs, own):
    """Whether the backward of ``outputs`` must be recorded: something outside the
    transform whose own aliases are ``own`` can still differentiate it (Note [Transform
    levels])."""
    if STATE.fw_levels:
        return True
    if not STATE.grad_enabled:
        return False
    roots = [physical(t)._node() for t in outputs if isinstance(t, Tensor) and t.requires_grad]
    if not roots:
        return False
    own_ids = {id(physical(a)) for a in own}
    live = STATE.transform_aliases
    for node in engine.count_consumers(roots):
        if type(node) is AccumulateGrad:
            v = node.variable
            if id(v) not in own_ids and (id(v) in live or _made.get(id(v)) is not v):
                return True
    return False


def _as_input(x, caller, what):
    """``x`` as a floating tensor to differentiate: Python floats become 0-d tensors of the
    default dtype (float32), as JAX makes them weakly typed float32 arrays."""
    if isinstance(x, Tensor):
        if x._data.dtype.kind not in "fc":
            raise DTypeError(
                f"{caller}: {what} has dtype {x.dtype} (shape {tuple(x.shape)}); only "
                "floating-point inputs can be differentiated. Convert it with .float() or "
                ".double(), or leave it out of argnums.")
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, (bool, numbers.Integral)):
        return _tensor(float(x))
    kind = type(x).__name__
    hint = (" Pass a float (1.0, not 1) or a floating tensor." if isinstance(x, numbers.Number)
            else " Only tensors and Python floats (or tuples, lists and dicts of them) can be "
                 "differentiated; leave other arguments out of argnums.")
    raise DTypeError(f"{caller}: {what} is a {kind}, which can't be differentiated.{hint}")


def _input_leaves(arg, n, caller):
    """The leaves of positional argument ``n`` as tensors to differentiate, and its spec."""
    leaves, spec = tree_flatten(arg)
    if spec.kind == "leaf":
        return [_as_input(arg, caller, f"argument {n}")], spec
    return [_as_input(x, caller, f"leaf {k} of argument {n}") for k, x in enumerate(leaves)], spec


def _normalize_argnums(argnums, nargs, caller):
    """``argnums`` as a tuple of non-negative ints, checked against ``nargs`` arguments."""
    as_tuple = isinstance(argnums, tuple)
    nums = argnums if as_tuple else (argnums,)
    if as_tuple and not nums:
        raise ArgumentError(f"{caller}: argnums=() is empty; give at least one argument index.")
    for n in nums:
        if isinstance(n, bool) or not isinstance(n, int):
            raise ArgumentError(
                f"{caller}: argnums must be an int or a tuple of ints, got {argnums!r}.")
        if not -nargs <= n < nargs:
            raise ArgumentError(
                f"{caller}: argnums={argnums!r} is out of range: the function was called with "
                f"{nargs} positional argument(s), so argnums must lie in "
                f"[{-nargs}, {nargs - 1}].")
    nums = tuple(n % nargs for n in nums)
    if len(set(nums)) != len(nums):
        raise ArgumentError(f"{caller}: argnums={argnums!r} names an argument twice.")
    return nums, as_tuple


def _prepare_args(args, argnums, caller):
    """Replace the differentiated arguments of ``args`` by aliases.

    Returns (new_args, aliases, specs): the flat list of aliases and, per argnum, the tree
    spec of that argument (to rebuild the gradients in the caller's structure)."""
    new_args, aliases, specs = list(args), [], []
    for n in argnums[0]:
        leaves, spec = _input_leaves(args[n], n, caller)
        made = [_differentiable_input(x) for x in leaves]
        aliases.extend(made)
        specs.append(spec)
        new_args[n] = tree_unflatten(made, spec)
    return new_args, aliases, specs


def _rebuild(flat, specs, as_tuple):
    """Per-argnum trees from a flat list (the inverse of _prepare_args's flattening)."""
    trees, k = [], 0
    for spec in specs:
        trees.append(tree_unflatten(flat[k:k + spec.num_leaves], spec))
        k += spec.num_leaves
    return tuple(trees) if as_tuple else trees[0]


def _split_aux(out, has_aux, caller):
    if not has_aux:
        return out, None
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        got = (f"a {type(out).__name__} of length {len(out)}" if isinstance(out, (tuple, list))
               else f"a {type(out).__name__}")
        raise ArgumentError(
            f"{caller}: with has_aux=True the function must return a pair (output, aux), got "
            f"{got}. Return `out, aux`, or drop has_aux.")
    return out[0], out[1]


def _check_outputs(leaves, caller):
    for k, t in enumerate(leaves):
        if not isinstance(t, Tensor):
            raise TypeError(f"{caller}: the function's outputs must be tensors (or tuples, "
                            f"lists and dicts of them), but output {k} is a "
                            f"{type(t).__name__}.")


def _detach_tree(tree, keep):
    """``tree`` unchanged when ``keep``, else with every tensor detached (Note [Transform
    levels]: nothing outside the transform can differentiate it)."""
    if keep:
        return tree
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([t.detach() if isinstance(t, Tensor) else t for t in leaves], spec)


def _grads(outputs, inputs, cotangents, create_graph, retain_graph=True):
    """d outputs / d inputs against cotangents (zeros where an input is unused), through
    autograd.grad, so no ``.grad`` is touched; by default the graph is kept for another call
    (vjp_fn and jacrev's rows)."""
    pairs = [(o, g) for o, g in zip(outputs, cotangents) if o.requires_grad]
    if not pairs:
        return [zeros_like(x) for x in inputs]
    with enable_grad():
        got = engine.grad([o for o, _ in pairs], inputs, [g for _, g in pairs],
                          retain_graph=retain_graph, create_graph=create_graph,
                          allow_unused=True)
    return [zeros_like(x) if g is None else g for x, g in zip(inputs, got)]


# ---- grad -------------------------------------------------------------------------------------

def _grad_and_value(f, argnums, has_aux, args, kwargs, caller):
    if not args:
        raise ArgumentError(f"{caller}: the function was called with no positional arguments, "
                            f"so there is nothing to differentiate (argnums={argnums!r}).")
    nums = _normalize_argnums(argnums, len(args), caller)
    with enable_grad():
        new_args, aliases, specs = _prepare_args(args, nums, caller)
        with _running(aliases):
            out, aux = _split_aux(f(*new_args, **kwargs), has_aux, caller)
    if not isinstance(out, Tensor):
        raise TypeError(f"{caller}: the function must return a scalar tensor, got a "
                        f"{type(out).__name__}.")
    if out.ndim != 0:
        raise ShapeError(
            f"{caller}: the function must return a scalar tensor, got shape "
            f"{tuple(out.shape)}. Reduce it (e.g. .sum()), or use vjp or jacrev for "
            "non-scalar outputs.")
    if out._data.dtype.kind not in "fc":
        raise DTypeError(f"{caller}: the function must return a floating-point scalar, got "
                         f"dtype {out.dtype}.")
    keep = _needs_graph([out], aliases)
    g = _grads([out], aliases, [None], keep, retain_graph=keep)
    grads = _rebuild(g, specs, nums[1])
    value = out if keep else out.detach()
    if has_aux:
        return grads, (value, _detach_tree(aux, keep))
    return grads, value


def grad_and_value(func, argnums=0, has_aux=False):
    """Like :func:`grad`, but the new function also returns ``func``'s value.

    Args:
        func: a function returning a scalar tensor (and an aux value if ``has_aux``).
        argnums: which positional argument to differentiate (int), or several (tuple).
        has_aux: ``func`` returns ``(output, aux)``; aux is passed through.

    Returns:
        A function returning ``(gradients, value)``, or ``(gradients, (value, aux))`` with
        ``has_aux``.

    Example:
        >>> import tapegrad as tg
        >>> tg.func.grad_and_value(lambda x: (x ** 3).sum())(tg.tensor([1.0, 2.0]))
        (tensor([ 3., 12.]), tensor(9.))
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return _grad_and_value(func, argnums, has_aux, args, kwargs, "grad_and_value")
    return wrapper


def grad(func, argnums=0, has_aux=False):
    """The gradient of a scalar function, as a new function (JAX's ``grad``).

    Args:
        func: a function of tensors (or Python floats, or nested tuples, lists and dicts of
            them) returning a 0-d floating tensor.
        argnums: the positional argument to differentiate (int; default 0), or a tuple of
            them: the gradients then come back as a tuple in that order.
        has_aux: ``func`` returns ``(output, aux)``; the new function then returns
            ``(gradient, aux)``.

    Returns:
        A function with ``func``'s arguments returning the gradient with respect to the
        ``argnums`` arguments, each in the structure of its argument. A Python float input
        gives a 0-d float32 tensor (the default dtype, as JAX's weakly typed float32).
        Keyword arguments are passed through, never differentiated. Nothing is written to any
        ``.grad``; the result is differentiable again when called under another transform
        (or with inputs that require grad).

    Example:
        >>> import tapegrad as tg
        >>> tg.func.grad(lambda x: x ** 2)(1.0)
        tensor(2.)
        >>> tg.func.grad(tg.func.grad(lambda x: x ** 3))(2.0)
        tensor(12.)
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        grads, value = _grad_and_value(func, argnums, has_aux, args, kwargs, "grad")
        return (grads, value[1]) if has_aux else grads
    return wrapper


# ---- vjp --------------------------------------------------------------------------------------

def vjp(func, *primals, has_aux=False):
    """Evaluate ``func`` at ``primals`` and return a function for its vector-Jacobian products.

    Args:
        func: a function of the primals returning a tensor or a tuple/list/dict of them.
        *primals: the point (tensors, Python floats or nested containers of them); all are
            differentiated.
        has_aux: ``func`` returns ``(output, aux)``.

    Returns:
        ``(output, vjp_fn)``, or ``(output, vjp_fn, aux)``. ``vjp_fn(cotangents)`` takes
        cotangents in the structure and shapes of ``output`` and returns a tuple with one
        gradient per primal (each in that primal's structure); it may be called many times.

    Example:
        >>> import tapegrad as tg
        >>> out, vjp_fn = tg.func.vjp(lambda x: x ** 2, tg.tensor([1.0, 2.0]))
        >>> vjp_fn(tg.ones(2))
        (tensor([2., 4.]),)
    """
    if not primals:
        raise ArgumentError("vjp: no primals were given; call vjp(func, x, ...).")
    nums = (tuple(range(len(primals))), True)
    with enable_grad():
        new_args, aliases, specs = _prepare_args(primals, nums, "vjp")
        with _running(aliases):
            out, aux = _split_aux(func(*new_args), has_aux, "vjp")
    outs, out_spec = tree_flatten(out)
    _check_outputs(outs, "vjp")
    keep = _needs_graph(outs, aliases)

    def vjp_fn(cotangents):
        cots, spec = tree_flatten(cotangents)
        if spec != out_spec:
            # a single output may be given its cotangent inside a 1-tuple (as torch allows)
            if out_spec.kind == "leaf" and len(cots) == 1:
                spec = out_spec
            else:
                raise ArgumentError(
                    f"vjp_fn: the cotangents have the structure {spec} but the output has "
                    f"{out_spec}; give one cotangent per output, in the output's structure.")
        for k, (o, c) in enumerate(zip(outs, cots)):
            if not isinstance(c, Tensor):
                raise TypeError(f"vjp_fn: cotangent {k} is a {type(c).__name__}; it must be "
                                "a tensor shaped like its output.")
            if c.shape != o.shape:
                raise ShapeError(f"vjp_fn: cotangent {k} has shape {tuple(c.shape)} but output "
                                 f"{k} has shape {tuple(o.shape)}; they must match.")
        record = keep or (STATE.grad_enabled and any(c.requires_grad for c in cots))
        g = _grads(outs, aliases, cots, record)
        return _rebuild(g, specs, True)

    out = _detach_tree(out, keep)
    if has_aux:
        return out, vjp_fn, _detach_tree(aux, keep)
    return out, vjp_fn


# ---- jvp and linearize ------------------------------------------------------------------------

def _check_tangents(primals, tangents, caller):
    """The flat primals and tangents, checked: same structure, shapes and dtypes."""
    for name, v in (("primals", primals), ("tangents", tangents)):
        if not isinstance(v, (tuple, list)):
            raise ArgumentError(
                f"{caller}: {name} must be a tuple (or list) of arguments, got a "
                f"{type(v).__name__}; call {caller}(f, (x,), (t,)) for a single argument.")
    ps, pspec = tree_flatten(tuple(primals))
    ts, tspec = tree_flatten(tuple(tangents))
    if pspec != tspec:
        raise ArgumentError(f"{caller}: primals have the structure {pspec} but tangents have "
                            f"{tspec}; give one tangent per primal, in the same structure.")
    ps = [_as_input(p, caller, f"primal {k}") for k, p in enumerate(ps)]
    out = []
    for k, (p, t) in enumerate(zip(ps, ts)):
        if isinstance(t, numbers.Real) and not isinstance(t, Tensor):
            t = _tensor(float(t), dtype=p.dtype)
        if not isinstance(t, Tensor):
            raise TypeError(f"{caller}: tangent {k} is a {type(t).__name__}; it must be a "
                            "tensor shaped like its primal.")
        if t.shape != p.shape:
            raise ShapeError(f"{caller}: tangent {k} has shape {tuple(t.shape)} but primal {k} "
                             f"has shape {tuple(p.shape)}; each tangent must have its primal's "
                             "shape.")
        if t.dtype != p.dtype:
            raise DTypeError(f"{caller}: tangent {k} has dtype {t.dtype} but primal {k} has "
                             f"dtype {p.dtype}; convert the tangent with .to({p.dtype}).")
        out.append(t)
    return ps, out, pspec


def _jvp(func, ps, ts, pspec, has_aux, caller):
    """jvp on checked flat primals and tangents: (output, output tangent, aux)."""
    with fwAD.dual_level():
        duals = [_differentiable_input(p, t) for p, t in zip(ps, ts)]
        out, aux = _split_aux(func(*tree_unflatten(duals, pspec)), has_aux, caller)
        outs, out_spec = tree_flatten(out)
        _check_outputs(outs, caller)
        unpacked = [fwAD.unpack_dual(o) for o in outs]
        primal = [u.primal for u in unpacked]
        tangent = [zeros_like(o) if u.tangent is None else u.tangent
                   for o, u in zip(outs, unpacked)]
        if has_aux:
            aux = tree_unflatten([fwAD.unpack_dual(a).primal if isinstance(a, Tensor) else a
                                  for a in tree_flatten(aux)[0]], tree_flatten(aux)[1])
    # Only the caller's own history (or an outer level) can make the results differentiable
    # (Note [Transform levels]); a grad inside func may have recorded its backward.
    keep = _needs_graph(primal + tangent + [a for a in tree_flatten(aux)[0]
                                            if isinstance(a, Tensor)], [])
    return (_detach_tree(tree_unflatten(primal, out_spec), keep),
            _detach_tree(tree_unflatten(tangent, out_spec), keep), _detach_tree(aux, keep))


def jvp(func, primals, tangents, *, has_aux=False):
    """The Jacobian-vector product of ``func`` at ``primals`` along ``tangents`` (forward mode).

    Args:
        func: a function of the primals returning a tensor or a tuple/list/dict of them.
        primals: a tuple (or list) of the arguments: ``func(*primals)`` is evaluated.
        tangents: a tuple of the same structure, each tangent shaped like its primal.
        has_aux: ``func`` returns ``(output, aux)``.

    Returns:
        ``(output, jvp_out)`` (``jvp_out`` in the structure of ``output``), or
        ``(output, jvp_out, aux)``. Computed in one forward pass at a fresh forward-AD level.

    Example:
        >>> import tapegrad as tg
        >>> tg.func.jvp(lambda x: x ** 2, (tg.tensor([1.0, 2.0]),), (tg.ones(2),))
        (tensor([1., 4.]), tensor([2., 4.]))
    """
    ps, ts, pspec = _check_tangents(primals, tangents, "jvp")
    out, tan, aux = _jvp(func, ps, ts, pspec, has_aux, "jvp")
    return (out, tan, aux) if has_aux else (out, tan)


def linearize(func, *primals):
    """``func``'s value at ``primals`` and its Jacobian-vector product there, as a function.

    Args:
        func: a function of the primals returning a tensor or a tuple/list/dict of them.
        *primals: the point.

    Returns:
        ``(output, jvp_fn)``: ``jvp_fn(*tangents)`` gives J @ tangents (tangents shaped like
        the primals). tapegrad does not trace, so each ``jvp_fn`` call runs ``func`` again in
        forward mode at the saved primals: the same values as JAX's ``linearize``, at the cost
        of a forward pass per call.

    Example:
        >>> import tapegrad as tg
        >>> out, jvp_fn = tg.func.linearize(tg.sin, tg.tensor([0.0, 1.0]))
        >>> jvp_fn(tg.ones(2))
        tensor([1.0000, 0.5403])
    """
    if not primals:
        raise ArgumentError("linearize: no primals were given; call linearize(func, x, ...).")
    ps, pspec = tree_flatten(tuple(primals))
    ps = [_as_input(p, "linearize", f"primal {k}") for k, p in enumerate(ps)]
    output = func(*tree_unflatten(ps, pspec))

    def jvp_fn(*tangents):
        _, ts, _ = _check_tangents(tree_unflatten(ps, pspec), tangents, "linearize's jvp_fn")
        return _jvp(func, ps, ts, pspec, False, "linearize's jvp_fn")[1]

    return output, jvp_fn
