"""Shape primitives: reshape (which also serves view/flatten/squeeze/unsqueeze), transpose,
permute, expand, cat, stack, clone/cast, and the two generic view ops used when an in-place
op writes through a view (Note [Views and in-place ops] in registry.py)."""
import numpy as np

from .._core import dtypes
from .._core.errors import ArgumentError, IndexRangeError, ShapeError
from .._core.tensor import Tensor, shape_of
from ._broadcast import broadcast_view, sum_to_shape
from .instrument import track
from .registry import (OpDef, apply, apply_binary, apply_chain, apply_unary, chain_adjoint,
                       linear, register)


def normalize_dim(d, ndim, name, extra=0):
    """One dim index made non-negative; ``extra`` widens the range (unsqueeze takes ndim+1).
    A dim that is not an int (None, 1.5, True) is a TypeError, as in PyTorch."""
    if type(d) is not int and (not isinstance(d, (int, np.integer)) or isinstance(d, bool)):
        raise TypeError(f"{name}: dim must be an int, got {d!r} of type {type(d).__name__}")
    n = ndim + extra
    lo, hi = -builtin_max(n, 1), builtin_max(n, 1) - 1
    if not lo <= d <= hi:
        raise IndexRangeError(f"{name}: dimension out of range (expected to be in range of "
                         f"[{lo}, {hi}], but got {d})")
    return int(d) % builtin_max(n, 1)


builtin_max = max


def _sizes(args):
    """Accept both f(2, 3) and f((2, 3)) for shape arguments, as PyTorch does."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    for a in args:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"sizes and dims must be integers, got {a!r} in {tuple(args)}")
    return tuple(int(a) for a in args)


def _sizes_or_keyword(args, keyword, what, name):
    """f(2, 3), f((2, 3)) or f(what=(2, 3)): PyTorch's methods also take the sizes by name."""
    if keyword is None:
        return _sizes(args)
    if args:
        raise TypeError(f"{name}: got {what} both as positional arguments and as a keyword")
    return _sizes((keyword,))


# ---- reshape ---------------------------------------------------------------------------------
RESHAPE = register(OpDef("reshape", lambda x, shape, in_shape: np.reshape(x, shape),
                         lambda ctx, g: (reshape(g, ctx.in_shape),),
                         linear(lambda t, shape, in_shape: reshape(t, shape)), is_view=True))


def _resolve_shape(in_shape, shape, name):
    size = 1
    for n in in_shape:
        size *= n
    if shape.count(-1) > 1:
        raise ShapeError(f"{name}: only one dimension can be inferred (-1), got {list(shape)}")
    known = 1
    for n in shape:
        if n != -1:
            if n < 0:
                raise ShapeError(f"{name}: invalid size {n} in shape {list(shape)}")
            known *= n
    if -1 in shape:
        if known == 0 or size % known:
            raise ShapeError(f"{name}: shape {list(shape)} is invalid for input of size {size} "
                             f"(shape {tuple(in_shape)})")
        shape = tuple(size // known if n == -1 else n for n in shape)
    elif known != size:
        raise ShapeError(f"{name}: shape {list(shape)} is invalid for input of size {size} "
                         f"(shape {tuple(in_shape)})")
    return shape


def reshape(input, *sizes, shape=None):
    """The same elements in a new shape: a view when the memory layout allows, else a copy.

    Args:
        input: the tensor.
        *sizes: the new shape, as ints or one tuple (or by name, ``shape=``); one entry may
            be -1 (inferred).

    Returns:
        A tensor with ``input``'s elements in row-major order; gradients flow back reshaped.

    Example:
        >>> import tapegrad as tg
        >>> tg.reshape(tg.arange(6), (2, -1)).shape
        tapegrad.Size([2, 3])
        >>> x = tg.arange(4.0, requires_grad=True)
        >>> (tg.reshape(x, (2, 2))[0] * 3).sum().backward(); x.grad
        tensor([3., 3., 0., 0.])
    """
    in_shape = shape_of(input)
    shape = _resolve_shape(in_shape, _sizes_or_keyword(sizes, shape, "shape", "reshape"),
                           "reshape")
    if shape == in_shape and not isinstance(input, Tensor):
        return input                      # an array in a rule: nothing to do
    return apply_unary(RESHAPE, input, {"shape": shape, "in_shape": in_shape})


def view(input, *shape, dtype=None, size=None):
    """The same elements in a new shape, sharing memory with ``input`` (never a copy).

    As in PyTorch, the new shape must be reachable by re-striding ``input``'s memory: a
    transposed or otherwise non-contiguous tensor often can't be viewed, and ``view`` then
    raises instead of copying (so a write to the result always reaches ``input``). Use
    :func:`reshape` (a view when possible, else a copy) or ``x.contiguous().view(...)``.
    ``view(dtype)`` reinterprets the bytes instead (see ``view_dtype`` in strided.py).
    Available as the ``Tensor.view`` method.

    Args:
        input: the tensor.
        *shape: the new shape, as ints or one tuple (or by name, ``size=``); one entry may
            be -1 (inferred). Or a single dtype.

    Raises:
        ShapeError: the shape is not compatible with ``input``'s size and strides.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.zeros(2, 2)
        >>> x.view(4)[0] = 1.0       # a view: the write reaches x
        >>> x
        tensor([[1., 0.],
                [0., 0.]])
        >>> x.t().view(4)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tapegrad._core.errors.ShapeError: view: size [4] is not compatible with the input ...
    """
    if dtype is not None or (len(shape) == 1 and _is_dtype(shape[0])):
        if (shape or size is not None) and dtype is not None:
            raise TypeError("view: pass either a shape or a dtype, not both")
        from .strided import view_dtype   # strided.py imports this module: import late
        return view_dtype(input, shape[0] if dtype is None else dtype)
    in_shape = shape_of(input)
    new = _resolve_shape(in_shape, _sizes_or_keyword(shape, size, "size", "view"), "view")
    if not isinstance(input, Tensor):
        return reshape(input, new)
    # NOTE: a C-contiguous array can always be viewed; only other layouts need the check.
    if new != in_shape and not input._data.flags.c_contiguous:
        try:
            np.reshape(input._data, new, copy=False)
        except ValueError:
            strides = tuple(s // input._data.itemsize for s in input._data.strides)
            raise ShapeError(
                f"view: size {list(new)} is not compatible with the input tensor's size "
                f"{tuple(in_shape)} and stride {strides} (at least one dim spans two "
                "non-contiguous parts of memory), so it can't be a view. Use .reshape(...), "
                "which copies when it must, or .contiguous().view(...).") from None
    return apply_unary(RESHAPE, input, {"shape": new, "in_shape": in_shape})


def _is_dtype(a):
    return not isinstance(a, (int, np.integer, tuple, list)) and (
        isinstance(a, (dtypes.dtype, np.dtype, str)) or isinstance(a, type))


def flatten(input, start_dim=0, end_dim=-1):
    """Merge the dims ``start_dim`` through ``end_dim`` (inclusive) into one.

    Args:
        input: the tensor; a 0-d tensor becomes 1-d.
        start_dim, end_dim: the first and last dim to merge (negative counts from the end).

    Returns:
        A reshaped tensor (a view when the layout allows).

    Example:
        >>> import tapegrad as tg
        >>> tg.flatten(tg.zeros(2, 3, 4)).shape, tg.flatten(tg.zeros(2, 3, 4), 1).shape
        (tapegrad.Size([24]), tapegrad.Size([2, 12]))
    """
    shape = shape_of(input)
    if len(shape) == 0:
        return reshape(input, (1,))
    s = normalize_dim(start_dim, len(shape), "flatten")
    e = normalize_dim(end_dim, len(shape), "flatten")
    if s > e:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return reshape(input, shape[:s] + (-1,) + shape[e + 1:])


def squeeze(input, dim=None):
    """Remove dims of size 1.

    Args:
        input: the tensor.
        dim: None removes every size-1 dim; an int or tuple removes those listed that have
            size 1 (others are left alone, as in PyTorch).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.zeros(1, 2, 1); tg.squeeze(x).shape, tg.squeeze(x, 0).shape
        (tapegrad.Size([2]), tapegrad.Size([2, 1]))
    """
    shape = shape_of(input)
    if dim is None:
        dims = {i for i, n in enumerate(shape) if n == 1}
    else:
        # anything but a tuple or list is one dim: normalize_dim names a bad one (None, 1.5)
        given = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
        norm = [normalize_dim(d, len(shape), "squeeze") for d in given]
        if len(set(norm)) != len(norm):
            raise ArgumentError(f"squeeze: a dim appears more than once in the dims "
                                f"{list(given)} (of a tensor of shape {tuple(shape)})")
        dims = {d for d in norm if shape and shape[d] == 1}  # a 0-d tensor: nothing to squeeze
    return reshape(input, tuple(n for i, n in enumerate(shape) if i not in dims))


def unsqueeze(input, dim):
    """Insert a dim of size 1 at position ``dim``.

    Args:
        input: the tensor.
        dim: where the new dim goes, in ``[-ndim - 1, ndim]``.

    Example:
        >>> import tapegrad as tg
        >>> tg.unsqueeze(tg.zeros(2, 3), 1).shape, tg.unsqueeze(tg.zeros(2, 3), -1).shape
        (tapegrad.Size([2, 1, 3]), tapegrad.Size([2, 3, 1]))
    """
    shape = shape_of(input)
    d = normalize_dim(dim, len(shape), "unsqueeze", extra=1)
    return reshape(input, shape[:d] + (1,) + shape[d:])


# ---- transpose / permute ---------------------------------------------------------------------
PERMUTE = register(OpDef("permute", lambda x, dims: np.transpose(x, dims),
                         lambda ctx, g: (permute(g, tuple(np.argsort(ctx.dims))),),
                         linear(lambda t, dims: permute(t, dims)), is_view=True))


def permute(input, *args, dims=None):
    """Reorder the dims: dim ``i`` of the result is dim ``dims[i]`` of ``input`` (a view).

    Args:
        input: the tensor.
        *args: a permutation of ``range(ndim)``, as ints or one tuple (or by name, ``dims=``).

    Example:
        >>> import tapegrad as tg
        >>> tg.permute(tg.zeros(2, 3, 4), (2, 0, 1)).shape
        tapegrad.Size([4, 2, 3])
    """
    ndim = len(shape_of(input))
    dims = _sizes_or_keyword(args, dims, "dims", "permute")
    norm = tuple(normalize_dim(d, ndim, "permute") for d in dims)
    if sorted(norm) != list(range(ndim)):
        raise ShapeError(f"permute: dims {list(dims)} must be a permutation of the "
                         f"{ndim} dims of a tensor of shape {tuple(shape_of(input))}")
    return apply_unary(PERMUTE, input, {"dims": norm})


def transpose(input, dim0, dim1):
    """Swap two dims (a view). ``swapaxes`` and ``swapdims`` are aliases.

    Args:
        input: the tensor.
        dim0, dim1: the dims to swap.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([[1.0, 2.0]], requires_grad=True); y = tg.transpose(x, 0, 1)
        >>> (y * tg.tensor([[3.0], [4.0]])).sum().backward(); y.shape, x.grad
        (tapegrad.Size([2, 1]), tensor([[3., 4.]]))
    """
    ndim = len(shape_of(input))
    if ndim == 0:
        return apply_unary(PERMUTE, input, {"dims": ()})
    d0, d1 = normalize_dim(dim0, ndim, "transpose"), normalize_dim(dim1, ndim, "transpose")
    dims = list(range(ndim))
    dims[d0], dims[d1] = d1, d0
    return apply_unary(PERMUTE, input, {"dims": tuple(dims)})


swapdims = transpose


def swapaxes(input, axis0, axis1):
    """Swap two dims (a view): :func:`transpose` with NumPy's argument names.

    Example:
        >>> import tapegrad as tg
        >>> tg.swapaxes(tg.zeros(2, 3), axis0=0, axis1=1).shape
        tapegrad.Size([3, 2])
    """
    return transpose(input, axis0, axis1)


def t(input):
    """Transpose a matrix; 0-d and 1-d tensors are returned as they are.

    Example:
        >>> import tapegrad as tg
        >>> tg.t(tg.tensor([[1, 2, 3]]))
        tensor([[1],
                [2],
                [3]])
    """
    ndim = len(shape_of(input))
    if ndim > 2:
        raise ShapeError(f"t: expects a tensor of at most 2 dims, got {ndim}; use transpose "
                         "or mT for batched matrices")
    return transpose(input, 0, ndim - 1) if ndim == 2 else input


def mT(input):
    """Transpose the last two dims (batched matrix transpose); the ``Tensor.mT`` property.

    Example:
        >>> import tapegrad as tg
        >>> tg.zeros(5, 2, 3).mT.shape
        tapegrad.Size([5, 3, 2])
    """
    ndim = len(shape_of(input))
    if ndim < 2:
        raise ShapeError(f"mT: needs at least 2 dims, got a tensor of shape {shape_of(input)}")
    return transpose(input, -2, -1)


# ---- expand ----------------------------------------------------------------------------------
def _expand_forward(x, shape, in_shape):
    # NOTE: broadcast_to always gives a read-only array; an expand that grows nothing is a
    # plain (writable) view, as in PyTorch.
    return x.view() if x.shape == shape else broadcast_view(x, shape)


EXPAND = register(OpDef("expand", _expand_forward,
                        lambda ctx, g: (sum_to_shape(g, ctx.in_shape),),
                        linear(lambda t, shape, in_shape: expand(t, shape)), is_view=True))


def expand(input, *sizes, size=None):
    """Broadcast size-1 dims to larger sizes without copying (a read-only view).

    Args:
        input: the tensor.
        *sizes: the target shape, as ints or one tuple (or by name, ``size=``). It may add
            leading dims; -1 keeps the size of an existing dim. Only size-1 dims can grow.

    Returns:
        A view; in backward the gradient is summed over the broadcast dims.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([[1.0], [2.0]], requires_grad=True); y = tg.expand(x, 2, 3)
        >>> y.sum().backward(); y.shape, x.grad
        (tapegrad.Size([2, 3]), tensor([[3.], [3.]]))
    """
    in_shape = shape_of(input)
    sizes = _sizes_or_keyword(sizes, size, "size", "expand")
    if len(sizes) < len(in_shape):
        raise ShapeError(f"expand: the number of sizes ({len(sizes)}) must be at least the "
                         f"number of dims ({len(in_shape)}) of shape {tuple(in_shape)}")
    lead = len(sizes) - len(in_shape)
    shape = []
    for i, n in enumerate(sizes):
        cur = in_shape[i - lead] if i >= lead else None
        if n == -1:
            if cur is None:
                raise ShapeError(f"expand: -1 is not allowed for a new leading dim ({list(sizes)})")
            n = cur
        elif cur is not None and cur != 1 and cur != n:
            raise ShapeError(f"expand: size {cur} of dim {i - lead} of shape {tuple(in_shape)} "
                             f"can't be expanded to {n}; only size-1 dims can grow")
        shape.append(n)
    shape = tuple(shape)
    if shape == in_shape and not isinstance(input, Tensor):
        return input
    return apply_unary(EXPAND, input, {"shape": shape, "in_shape": in_shape})


def broadcast_to(input, size):
    """Broadcast ``input`` to shape ``size``; the same as ``expand(input, size)``.

    Example:
        >>> import tapegrad as tg
        >>> tg.broadcast_to(tg.tensor([1, 2]), (2, 2))
        tensor([[1, 2],
                [1, 2]])
    """
    return expand(input, size)


# ---- cat / stack -----------------------------------------------------------------------------
def _split_vjp(ctx, g):
    """d cat = the slice of g that each input occupied (an empty one for a skipped input)."""
    out, start = [], 0
    lead = (slice(None),) * ctx.dim
    skip = ctx.params.get("skip", ())
    from .indexing import getitem
    for i, (n, need) in enumerate(zip(ctx.sizes, ctx.needs_input_grad)):
        piece = getitem(g, lead + (slice(start, start + n),)) if need else None
        out.append(reshape(piece, (0,)) if need and i in skip else piece)
        start += n
    return tuple(out)


def _unstack_vjp(ctx, g):
    """d stack = the slice of g at each input's index."""
    from .indexing import getitem
    lead = (slice(None),) * ctx.dim
    return tuple(getitem(g, lead + (i,)) if need else None
                 for i, need in enumerate(ctx.needs_input_grad))


def _cat_forward(*xs, dim, sizes, skip=()):
    if skip:
        xs = [x for i, x in enumerate(xs) if i not in skip]
    return np.concatenate(xs, axis=dim)


def _cat_jvp(ctx, *ts):
    skip = ctx.params.get("skip", ())
    return cat([t for i, t in enumerate(ts) if i not in skip] if skip else ts, ctx.dim)


# ``skip``: the positions of 1-d empty inputs that PyTorch leaves out (see cat); the param is
# only there when some are, so the common cat keeps its plain forward.
CAT = register(OpDef("cat", _cat_forward, _split_vjp, _cat_jvp))
STACK = register(OpDef("stack", lambda *xs, dim: np.stack(xs, axis=dim), _unstack_vjp,
                       linear(lambda *ts, dim: stack(ts, dim))))


def _promoted(tensors):
    """The tensors converted to one dtype by PyTorch's rule: floating dtypes win over integer
    and bool ones whatever their width (NumPy would make int64 with float32 float64)."""
    kinds = [t._data.dtype if isinstance(t, Tensor) else np.asarray(t).dtype for t in tensors]
    floats = [k for k in kinds if k.kind == "f"]
    target = np.result_type(*floats) if floats else np.result_type(*kinds)
    return tuple(t if k == target else cast(t, target) for t, k in zip(tensors, kinds))


def _check_seq(tensors, name):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError(f"{name}: expects a non-empty list or tuple of tensors")
    return [shape_of(t) for t in tensors]


def cat(tensors, dim=0, *, axis=None):
    """Join tensors along an existing dim. ``concat`` and ``concatenate`` are aliases.

    As in PyTorch, 1-d empty tensors (shape ``(0,)``) are left out whatever the other
    tensors' shapes (they still take part in the result dtype, and get an empty gradient).

    Args:
        tensors: a non-empty list or tuple of tensors of the same shape except in ``dim``.
        dim: the dim to join along (``axis``: NumPy's name, as ``concatenate`` takes it).

    Returns:
        A new tensor; each input receives its slice of the gradient.

    Example:
        >>> import tapegrad as tg
        >>> tg.cat([tg.zeros(2, 3), tg.ones(1, 3)]).shape
        tapegrad.Size([3, 3])
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> tg.cat([x, 3 * x]).sum().backward(); x.grad
        tensor([4., 4.])
    """
    shapes = _check_seq(tensors, "cat")
    if axis is not None:
        if dim != 0:
            raise TypeError("cat: pass dim or axis (its NumPy name), not both")
        dim = axis
    for i, s in enumerate(shapes):
        if len(s) == 0:
            raise ShapeError(f"cat: a zero-dimensional tensor (at position {i}) can't be "
                             "concatenated; use stack, or reshape it to 1-d first")
    kept = [i for i, s in enumerate(shapes) if s != (0,)]
    if not kept:                 # only (0,) tensors: PyTorch checks the dim's type, not range
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            normalize_dim(dim, 1, "cat")                # raises its TypeError
        return apply(CAT, _promoted(tensors), {"dim": 0, "sizes": (0,) * len(shapes)})
    first = shapes[kept[0]]
    d = normalize_dim(dim, len(first), "cat")
    for i in kept:
        s = shapes[i]
        if len(s) != len(first) or s[:d] + s[d + 1:] != first[:d] + first[d + 1:]:
            raise ShapeError(f"cat: tensors must have the same shape except in dim {d}; got "
                             f"{tuple(first)} at position {kept[0]} and {tuple(s)} at position "
                             f"{i}")
    skip = tuple(i for i in range(len(shapes)) if shapes[i] == (0,))
    params = {"dim": d, "sizes": tuple(0 if i in skip else s[d] for i, s in enumerate(shapes))}
    if skip:
        params["skip"] = skip
    return apply(CAT, _promoted(tensors), params)


concat = concatenate = cat


def stack(tensors, dim=0):
    """Join same-shaped tensors along a new dim.

    Args:
        tensors: a non-empty list or tuple of tensors of equal shape.
        dim: the position of the new dim, in ``[-ndim - 1, ndim]``.

    Example:
        >>> import tapegrad as tg
        >>> tg.stack([tg.tensor([1, 2]), tg.tensor([3, 4])], dim=1)
        tensor([[1, 3],
                [2, 4]])
    """
    shapes = _check_seq(tensors, "stack")
    for i, s in enumerate(shapes):
        if s != shapes[0]:
            raise ShapeError(f"stack: all tensors must have the same shape; got "
                             f"{tuple(shapes[0])} at position 0 and {tuple(s)} at position {i}")
    d = normalize_dim(dim, len(shapes[0]), "stack", extra=1)
    return apply(STACK, _promoted(tensors), {"dim": d})


# ---- copies and casts ------------------------------------------------------------------------
# ``order`` is NumPy's memory layout for the copy: "K" keeps the input's, "C" makes it
# C-contiguous (Tensor.contiguous()).
CLONE = register(OpDef("clone", lambda x, order="K": np.array(x, order=order),
                       lambda ctx, g: (g,), lambda ctx, t: t))
# NOTE: the cast's rule returns g unchanged; the engine casts every cotangent to its input's
# dtype, so the gradient arrives in the source dtype.
CAST = register(OpDef("to_dtype", lambda x, to: x.astype(to), lambda ctx, g: (g,),
                      lambda ctx, t: cast(t, ctx.to)))


def clone(input):
    """A copy of ``input`` that stays in the graph (its gradient flows back to ``input``).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True); y = tg.clone(x)
        >>> (y * y).sum().backward(); y, x.grad
        (tensor([1., 2.], grad_fn=<CloneBackward0>), tensor([2., 4.]))
    """
    return apply_unary(CLONE, input)


def cast(input, dtype):
    """Convert ``input`` to ``dtype`` (``Tensor.to``/``.float()``/... use this).

    Between floating dtypes the gradient flows back, in the source dtype. The input is
    returned unchanged when it already has ``dtype``.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.5], requires_grad=True); y = x.to(tg.float64)
        >>> y.sum().backward(); y.dtype, x.grad.dtype
        (tapegrad.float64, tapegrad.float32)
    """
    dt = dtypes.to_numpy_dtype(dtype)
    data = input._data if isinstance(input, Tensor) else np.asarray(input)
    if data.dtype == dt:
        return input
    return apply_unary(CAST, input, {"to": dt})


# ---- generic views (in-place through a view) -------------------------------------------------
def _view_of_forward(b, chain, base_shape):
    return apply_chain(b, chain).copy()


def _view_scatter_forward(b, r, chain):
    out = b.copy(order="K")
    region = apply_chain(out, chain)
    if region.size == 0:
        return out                        # an empty region: nothing to replace
    if region.flags.writeable and np.may_share_memory(region, out):
        region[...] = r
        return out
    # The chain gives no writable view of this array (a reshape that copies here): replace
    # the region through the chain's adjoint instead.
    r = np.broadcast_to(np.asarray(r, dtype=b.dtype), region.shape)
    return b - chain_adjoint(apply_chain(b, chain), chain) + chain_adjoint(r, chain)


def view_of_vjp(ctx, g):
    """d view_of = g put back in the base's shape by the chain's adjoint."""
    return (chain_adjoint(g, ctx.chain),)


def view_scatter_vjp(ctx, g):
    """d view_scatter(b, r): g with the region zeroed for b; g's region for r."""
    need = ctx.needs_input_grad
    gb = view_scatter(g, 0.0, ctx.chain) if need[0] else None
    gr = view_of(g, ctx.chain, shape_of(g)) if need[1] else None
    return gb, gr


VIEW_OF = register(OpDef("view_of", _view_of_forward, view_of_vjp,
                         linear(lambda t, chain, base_shape: view_of(t, chain, base_shape))))
VIEW_SCATTER = register(OpDef("view_scatter", _view_scatter_forward, view_scatter_vjp,
                              linear(lambda tb, tr, chain: view_scatter(tb, tr, chain)),
                              broadcasts=True))


# ---- tangent roots (Note [Forward mode]) -------------------------------------------------------
def _alias_forward(x, level, box, shape):
    return x.view()


# NOTE: not registered (no public function of its own): only make_dual and unpack_dual make one.
ALIAS = track(OpDef("alias", _alias_forward, lambda ctx, g: (g,), lambda ctx, t: t,
                    is_view=True))


def tangent_root(input, level, tangent):
    """A view of all of ``input`` whose forward-AD tangent at ``level`` (a level id) is its
    own (``tangent``, or None), not its base's: views of it take theirs from it, and in-place
    changes of its base leave it alone, as for PyTorch's make_dual and unpack_dual (internal;
    Note [Forward mode]). The caller sets the result's ``_fw``."""
    return apply_unary(ALIAS, input, {"level": level, "box": [tangent],
                                      "shape": input._data.shape})


def view_of(base, chain, base_shape):
    """The region of ``base`` that a view chain selects, as a copy (internal)."""
    return apply_unary(VIEW_OF, base, {"chain": chain, "base_shape": base_shape})


def view_scatter(base, src, chain):
    """``base`` with the region a view chain selects replaced by ``src`` (internal)."""
    return apply_binary(VIEW_SCATTER, base, src, {"chain": chain})
