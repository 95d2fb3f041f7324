"""``tapegrad.func.vmap``: run a function written for one example on a whole batch at once.

See Note [Batched tensors] in _core/batched.py for how ops run batched (one call per op on the
physical tensors, through per-op batching rules in func/batching).
"""
import functools
import warnings

from .._core.batched import Batched, BatchedDataAccess, VmapLevel, make_batched
from .._core.errors import ArgumentError, NotSupportedError
from .._core.state import STATE
from .._core.tensor import Tensor
from .batching import FALLBACKS, FallbackWarning  # (importing batching installs its dispatcher)
from ._pytree import broadcast_prefix, tree_flatten, tree_unflatten

_RANDOMNESS = ("error", "different", "same")


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """Vectorize ``func`` over a batch dim of its inputs: ``vmap(f)(xs)`` is
    ``stack([f(x) for x in xs])``, computed with one call per op instead of a Python loop.

    Args:
        func: a function of tensors (nested tuples, lists and dicts of tensors allowed) that
            returns tensors (or nested containers of them).
        in_dims: for each positional argument, the dim to map over, or None to pass it
            unbatched (the same for every example); an int applies to all; nested containers
            give one entry per leaf or one for a whole subtree. Keyword arguments are never
            mapped over.
        out_dims: where the batch dim goes in each output (an int, or one per output).
        randomness: 'error' (default: a random op inside raises), 'same' (one draw shared by
            every example) or 'different' (each example draws its own).
        chunk_size: run at most this many examples at a time (less memory, more calls).

    Returns:
        The vectorized function.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.func import vmap
        >>> x, y = tg.arange(6.0).reshape(2, 3), tg.ones(3)
        >>> vmap(tg.dot, in_dims=(0, None))(x, y)
        tensor([ 3., 12.])
    """
    if randomness not in _RANDOMNESS:
        raise ArgumentError(f"vmap: randomness must be one of {_RANDOMNESS}, got {randomness!r}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ArgumentError(f"vmap: chunk_size must be a positive int or None, got {chunk_size!r}")

    @functools.wraps(func)
    def vectorized(*args, **kwargs):
        leaves, spec = tree_flatten(args)
        if isinstance(in_dims, (tuple, list)):
            dims = broadcast_prefix(tuple(in_dims), args, "vmap: in_dims")
        else:
            dims = _uniform(in_dims, leaves)
        size = _batch_size(leaves, dims, func)
        if chunk_size is None or chunk_size >= size:
            return _run(func, leaves, dims, spec, kwargs, size, out_dims, randomness)
        from ..ops.shape import cat
        parts = []
        for start in range(0, size, chunk_size):
            stop = min(size, start + chunk_size)
            sliced = [_slice(x, d, start, stop) for x, d in zip(leaves, dims)]
            parts.append(_run(func, sliced, dims, spec, kwargs, stop - start, out_dims,
                              randomness))
        ospec = tree_flatten(parts[0])[1]
        odims = _out_dims(out_dims, parts[0])
        columns = zip(*[tree_flatten(p)[0] for p in parts])
        return tree_unflatten([cat(list(col), d) if d is not None else col[0]
                               for col, d in zip(columns, odims)], ospec)
    return vectorized


def _uniform(in_dims, leaves):
    if in_dims is not None and not isinstance(in_dims, int):
        raise ArgumentError(f"vmap: in_dims must be an int, None, or a tuple with one entry per "
                            f"positional argument, got {type(in_dims).__name__}")
    return [in_dims] * len(leaves)


def _batch_size(leaves, dims, func):
    size = None
    name = getattr(func, "__name__", "the function")
    for i, (x, d) in enumerate(zip(leaves, dims)):
        if d is None:
            continue
        if not isinstance(d, int):
            raise ArgumentError(f"vmap: in_dims entries must be ints or None, got {d!r}")
        if not isinstance(x, Tensor):
            raise ArgumentError(
                f"vmap({name}): in_dims says input {i} is mapped over dim {d}, but it is a "
                f"{type(x).__name__}, not a tensor. Give it in_dims None.")
        n = x.ndim
        if not -n <= d < n:
            raise ArgumentError(
                f"vmap({name}): in_dims says input {i} is mapped over dim {d}, but it has shape "
                f"{tuple(x.shape)} ({n} dims). Give a dim in [{-n}, {n}) or None.")
        s = x.shape[d]
        if size is None:
            size = s
        elif s != size:
            raise ArgumentError(
                f"vmap({name}): the mapped dims have different sizes: {size} and {s} (input {i}, "
                f"shape {tuple(x.shape)}, dim {d}). Every mapped input needs the same batch "
                "size.")
    if size is None:
        raise ArgumentError(f"vmap({name}): no input is mapped over (every in_dims entry is "
                            "None, or there are no tensor inputs); map at least one.")
    return size


def _slice(x, d, start, stop):
    if d is None:
        return x
    return x.narrow(d, start, stop - start)


def _run(func, leaves, dims, spec, kwargs, size, out_dims, randomness):
    level = VmapLevel(size, randomness, len(STATE.vmap_levels))
    batched = [x if d is None else make_batched(x.movedim(d, 0) if d else x, level)
               for x, d in zip(leaves, dims)]
    STATE.vmap_levels = STATE.vmap_levels + (level,)
    try:
        out = func(*tree_unflatten(batched, spec), **kwargs)
    except BatchedDataAccess as e:
        if e.level is not level:
            raise                   # an outer vmap's tensor: that vmap loops
        failed = e
    else:
        failed = None
    finally:
        STATE.vmap_levels = STATE.vmap_levels[:-1]
        level.active = False
    if failed is not None:
        return _loop(func, leaves, dims, spec, kwargs, size, out_dims, failed, randomness)
    outs, ospec = tree_flatten(out)
    odims = _out_dims(out_dims, out)
    return tree_unflatten([_unbatch(o, d, level, func) for o, d in zip(outs, odims)], ospec)


_warned = set()


def _loop(func, leaves, dims, spec, kwargs, size, out_dims, error, randomness):
    """The function run example by example (Note [Batched tensors]: an op read a batched
    tensor's values directly, so it has no batching rule that could run it at once)."""
    FALLBACKS["count"] += 1
    where = _culprit(error)
    if where not in _warned:
        _warned.add(where)
        warnings.warn(f"vmap: {where} has no batching rule for batched values ({error.what} "
                      "read them), so the vmapped function runs example by example (a Python "
                      "loop over the batch): correct, but slow.", FallbackWarning, stacklevel=4)
    from ..ops.creation import default_generator
    from ..ops.shape import stack
    # the running level stays visible to the random ops (its randomness mode still holds)
    level = VmapLevel(size, randomness, len(STATE.vmap_levels))
    level.active, level.looping = False, True
    rng_state = default_generator.get_state() if randomness == "same" else None
    results = []
    STATE.vmap_levels = STATE.vmap_levels + (level,)
    try:
        for i in range(size):
            if rng_state is not None:
                default_generator.set_state(rng_state)    # every example draws the same
            example = [x if d is None else x.movedim(d, 0)[i] for x, d in zip(leaves, dims)]
            results.append(func(*tree_unflatten(example, spec), **kwargs))
    finally:
        STATE.vmap_levels = STATE.vmap_levels[:-1]
    ospec = tree_flatten(results[0])[1]
    odims = _out_dims(out_dims, results[0])
    columns = list(zip(*[tree_flatten(r)[0] for r in results]))
    return tree_unflatten([_stack(list(col), d, stack, func) for col, d in zip(columns, odims)],
                          ospec)


def _stack(col, d, stack, func):
    name = getattr(func, "__name__", "the function")
    if not all(isinstance(o, Tensor) for o in col):
        raise NotSupportedError(f"vmap({name}): the function must return tensors (or "
                                "containers of them).")
    shapes = {tuple(o.shape) for o in col}
    if len(shapes) > 1:
        raise NotSupportedError(
            f"vmap({name}): the examples' outputs have different shapes ({sorted(shapes)[:2]}): "
            "the output's shape depends on the values (as with nonzero, unique or "
            "masked_select), so the examples can't be stacked into one tensor. Loop over the "
            "batch instead, as PyTorch's vmap also refuses these.")
    return col[0] if d is None else stack(col, d)


_WRAPPERS = {"with_numpy_names", "wrapper", "wrapped", "method"}


def _culprit(error):
    """The tapegrad function (called from outside tapegrad) in which ``error`` was raised."""
    tb, name = error.__traceback__, None
    while tb is not None:
        code = tb.tb_frame.f_code
        path = code.co_filename.replace("\\", "/")
        if "/tapegrad/" in path and "/tapegrad/func/" not in path and "/_core/" not in path \
                and code.co_name not in _WRAPPERS:
            return f"tapegrad's {code.co_name}"
        tb = tb.tb_next
    return name or "an op"


def _out_dims(out_dims, out):
    if isinstance(out_dims, (tuple, list)):
        if not isinstance(out, (tuple, list)):
            return broadcast_prefix(out_dims, (out,), "vmap: out_dims")
        return broadcast_prefix(out_dims, out, "vmap: out_dims")
    return [out_dims] * tree_flatten(out)[1].num_leaves


def _unbatch(o, d, level, func):
    name = getattr(func, "__name__", "the function")
    if not isinstance(o, Tensor):
        raise NotSupportedError(
            f"vmap({name}): the function must return tensors (or containers of them), but it "
            f"returned a {type(o).__name__}. Wrap numbers with tapegrad.tensor.")
    if type(o) is Batched and o._level is level:
        phys = o._phys
    elif type(o) is Batched and o._level.depth > level.depth:
        raise NotSupportedError(f"vmap({name}): the output is batched by an inner vmap that "
                                "has returned (it escaped it); return it from that vmap.")
    else:
        if d is None:
            return o
        from ..ops.shape import expand
        phys = expand(o.unsqueeze(0), (level.size,) + tuple(o.shape))   # same for every example
    if d is None:
        raise ArgumentError(f"vmap({name}): out_dims is None for an output that differs from "
                            "example to example; give it an int out_dim.")
    n = phys.ndim
    if not -n <= d < n:
        raise ArgumentError(f"vmap({name}): out_dims {d} is out of range for an output with "
                            f"{n - 1} dims per example.")
    return phys.movedim(0, d) if d % n else phys
