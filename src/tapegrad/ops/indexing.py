"""Indexing: ``x[key]`` (basic slicing is a view; integer/boolean tensor indices copy) and
``x[key] = value``. Repeated indices accumulate their gradients."""
import numpy as np

from .._core.errors import IndexRangeError, ShapeError
from .._core.state import STATE
from .._core.tensor import Tensor, shape_of
from .registry import (OpDef, apply_binary, apply_inplace, apply_unary, batched_call, linear,
                       register, tracked)
from .shape import view_scatter


def _normalize_key(key, shape, name="getitem"):
    """Key with tensors and lists turned into arrays and boolean masks into integer arrays;
    returns (key, is_advanced). ``name`` is the op named in errors."""
    parts = key if isinstance(key, tuple) else (key,)
    out, advanced = [], False
    dim = 0          # the tensor dim the next index part applies to
    for n, p in enumerate(parts):
        if isinstance(p, Tensor):
            # NOTE: a copy: the rule reads the indices at backward time, and an in-place
            # change of the index tensor in between must not move the gradient.
            p = p._data.copy()
        elif isinstance(p, list):
            p = np.asarray(p)
            if p.size == 0:
                p = p.astype(np.int64)          # x[[]]: an empty index, not float64
        if p is Ellipsis:
            # the parts after ... index the last dims: start where they leave off
            dim = len(shape) - sum(_dims_indexed(q) for q in parts[n + 1:])
        elif p is not None:
            dim += p.ndim if isinstance(p, np.ndarray) and p.dtype == np.bool_ else 1
        if isinstance(p, np.ndarray):
            if p.dtype == np.bool_ and p.ndim == 0:
                out.append(p)                   # x[True] / x[False]: NumPy's rule, as PyTorch's
                advanced = True
                continue
            if p.dtype == np.bool_:
                start = dim - p.ndim
                if tuple(shape[start:dim]) != p.shape:
                    raise IndexError(
                        f"{name}: a boolean mask of shape {p.shape} can't index dims "
                        f"{start}..{dim - 1} of a tensor of shape {tuple(shape)}; the mask's "
                        "shape must equal the shape of the dims it covers")
                out.extend(np.nonzero(p))
                advanced = True
                continue
            if p.dtype.kind not in "iu":
                raise IndexError(f"{name}: tensors used as indices must be integer or bool, "
                                 f"got dtype {p.dtype}")
            if p.ndim == 0:
                p = int(p)
            else:
                advanced = True
        elif isinstance(p, (bool, np.bool_)):
            out.append(np.asarray(p))
            advanced = True
            continue
        elif not (p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice))):
            raise IndexError(f"{name}: unsupported index {p!r} for a tensor of shape "
                             f"{tuple(shape)}; use ints, slices, None, ..., or integer/bool "
                             "tensors")
        out.append(p)
    return tuple(out), advanced


def _ints_first(key):
    """For a key mixing integers with index arrays: (the integers as a basic key, the rest).

    NOTE: PyTorch applies integer indices first (they select, like x[0]), so x[0, :, idx] has
    the slice's dim before idx's; NumPy counts integers as index arrays and, when a slice
    separates them, moves the indexed dims first. Indexing in two steps keeps PyTorch's
    result. None when there is nothing to split.
    """
    if not any(type(p) is int for p in key):
        return None
    first = tuple(p if type(p) is int or p is Ellipsis else slice(None)
                  for p in key if p is not None)
    rest = tuple(p for p in key if type(p) is not int)
    return first, rest


def _dims_indexed(p):
    """How many of the tensor's dims one index part consumes."""
    if p is None or p is Ellipsis:
        return 0
    if isinstance(p, (Tensor, np.ndarray, list)):
        arr = p._data if isinstance(p, Tensor) else np.asarray(p)
        return arr.ndim if arr.dtype == np.bool_ else 1
    return 0 if isinstance(p, (bool, np.bool_)) else 1


def _getitem_forward(x, key):
    try:
        out = x[key]
    except IndexError as e:
        raise IndexRangeError(f"getitem: {e} (tensor of shape {x.shape}, index {key!r})") from None
    if type(out) is not np.ndarray:
        # NOTE: an all-integer key gives a NumPy scalar (a copy); with a trailing ... it gives a
        # 0-d view, which view_scatter can write into and in-place ops can write through.
        out = x[key + (Ellipsis,)]
    return out


def _index_add_forward(base, src, key, in_shape):
    out = base.copy()
    np.add.at(out, key, src)
    return out


def getitem_basic_vjp(ctx, g):
    """d x[key] (view) = g written into zeros of x's shape."""
    chain = ((GETITEM, {"key": ctx.key, "in_shape": ctx.in_shape}),)
    return (view_scatter(_zeros_like_grad(g, ctx.in_shape), g, chain),)


def getitem_advanced_vjp(ctx, g):
    """d x[idx] = zeros with g added at idx; repeated indices accumulate."""
    return (index_add(_zeros_like_grad(g, ctx.in_shape), ctx.key, g),)


def index_add_vjp(ctx, g):
    """d index_add(b, key, s) = g for b, g[key] for s."""
    need = ctx.needs_input_grad
    return (g if need[0] else None), (_take(g, ctx.key) if need[1] else None)


def index_put_vjp(ctx, g):
    """d (x with x[key] = v) = g with the region zeroed for x; g[key] for v, where only the
    elements of v that were written (the last of repeated indices) get it."""
    need = ctx.needs_input_grad
    gx = index_put(g, ctx.key, 0.0) if need[0] else None
    gv = None
    if need[1]:
        gv = _take(g, ctx.key)
        won = _written(ctx.key, shape_of(g))
        if won is not None:
            gv = gv * won.astype(_dtype(gv))
    return gx, gv


def _written(key, shape):
    """For a key with repeated positions: a bool array shaped like x[key], True for each
    element whose value a write x[key] = v keeps (NumPy keeps one of the repeats); None
    when no position repeats.

    NOTE: PyTorch gives every repeat the gradient, though only one of them reaches the
    output; finite differences (and the JVP) see only the one kept, so tapegrad does too.
    """
    arrays = [p for p in key if isinstance(p, np.ndarray) and p.ndim]
    if not arrays or not _repeats(arrays):
        return None
    target = np.zeros(shape, dtype=np.intp)
    ids = np.arange(1, target[key].size + 1).reshape(target[key].shape)
    target[key] = ids
    won = target[key] == ids
    return None if won.all() else won


def _repeats(arrays):
    """Whether index arrays (broadcast together) name some position twice: a check on the
    indices alone, so the common case of no repeats costs no pass over the tensor."""
    cols = np.stack([a.ravel() for a in np.broadcast_arrays(*arrays)])
    if cols.shape[1] < 2:
        return False
    if cols.min() < 0:
        return True     # -1 and n - 1 may name one position: the caller's full check decides
    if len(arrays) == 1:
        return np.unique(cols[0]).size < cols.shape[1]
    return np.unique(cols, axis=1).shape[1] < cols.shape[1]


def _dtype(a):
    return a._data.dtype if isinstance(a, Tensor) else a.dtype


def _index_put_forward(x, v, key, in_shape):
    out = x.copy()
    out[key] = v
    return out


GETITEM = register(OpDef("getitem", lambda x, key, in_shape: _getitem_forward(x, key),
                         getitem_basic_vjp, linear(lambda t, key, in_shape: t[key]), is_view=True))
GATHER = register(OpDef("index", lambda x, key, in_shape: _getitem_forward(x, key),
                        getitem_advanced_vjp, linear(lambda t, key, in_shape: t[key])))
def _full_tangent(t, shape, other):
    """A base's tangent in the base's shape: an input that takes no gradient gets the scalar
    0.0 (the JVP's convention), which index_add / index_put can't write into."""
    if isinstance(t, Tensor) or type(t) is np.ndarray and t.shape == shape:
        return t
    dt = _dtype(other) if isinstance(other, (Tensor, np.ndarray)) else np.result_type(t)
    return np.broadcast_to(np.asarray(t, dtype=dt), shape)


def index_add_jvp(ctx, tb, ts):
    """Linear: the op on the tangents (a scalar tangent of src broadcasts as src does)."""
    return index_add(_full_tangent(tb, ctx.in_shape, ts), ctx.key, ts)


def index_put_jvp(ctx, tx, tv):
    return index_put(_full_tangent(tx, ctx.in_shape, tv), ctx.key, tv)


# NOTE: in_shape (the base's shape, which the result has) is for the JVP, whose base tangent
# may be a scalar zero; the forward doesn't use it.
INDEX_ADD = register(OpDef("index_add", _index_add_forward, index_add_vjp, index_add_jvp,
                           broadcasts=True))
INDEX_PUT = register(OpDef("index_put", _index_put_forward, index_put_vjp, index_put_jvp,
                           broadcasts=True))


def _zeros_like_grad(g, shape):
    dt = g._data.dtype if isinstance(g, Tensor) else g.dtype
    return np.zeros(shape, dtype=dt)


def _take(g, key):
    """g[key] for an already normalized key, on arrays or tensors."""
    if isinstance(g, Tensor):
        advanced = any(isinstance(p, np.ndarray) for p in key)
        return apply_unary(GATHER if advanced else GETITEM, g,
                           {"key": key, "in_shape": g._data.shape})
    return g[key]


def getitem(input, key):
    """``input[key]``: select elements with ints, slices, None, ``...`` and index tensors.

    Basic keys (ints, slices, None, ``...``) give a view that shares memory with ``input``;
    integer or boolean tensors/lists (advanced indexing) give a copy, with NumPy's rules.

    Args:
        input: the tensor.
        key: one index or a tuple of them.

    Returns:
        The selection. In backward, gradients of repeated indices accumulate.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> x[tg.tensor([0, 0, 2])].sum().backward(); x.grad
        tensor([2., 0., 1.])
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: index tensors are read below
        out = batched_call("getitem", (input,) + (key if type(key) is tuple else (key,)), {})
        if out is not None:
            return out
    shape = input._data.shape if isinstance(input, Tensor) else np.shape(input)
    key, advanced = _normalize_key(key, shape)
    split = _ints_first(key) if advanced else None
    if split is not None:
        return getitem(getitem(input, split[0]), split[1])
    return apply_unary(GATHER if advanced else GETITEM, input, {"key": key, "in_shape": shape})


def index_add(base, key, src):
    """``base`` with ``src`` added at ``key`` (repeats accumulate); out of place."""
    return apply_binary(INDEX_ADD, base, src, {"key": key, "in_shape": shape_of(base)})


def index_put(input, key, value):
    """``input`` with ``input[key] = value``, out of place."""
    return apply_binary(INDEX_PUT, input, value, {"key": key, "in_shape": shape_of(input)})


def take_key(input, key):
    """``input[key]`` for a normalized key holding index arrays (gather's addressing)."""
    shape = input._data.shape if isinstance(input, Tensor) else np.shape(input)
    return apply_unary(GATHER, input, {"key": key, "in_shape": shape})


def setitem(input, key, value, name="setitem"):
    """``input[key] = value``, in place.

    ``value`` (a number or tensor) must broadcast to the shape of ``input[key]``. When autograd
    is involved the write is recorded, so gradients flow to ``value`` and not to the
    overwritten elements.

    Example:
        >>> import tapegrad as tg
        >>> v = tg.tensor(5.0, requires_grad=True); x = tg.zeros(3); x[1] = v * 2
        >>> x.sum().backward(); x, v.grad
        (tensor([ 0., 10.,  0.], grad_fn=<IndexPutBackward0>), tensor(2.))
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: index tensors are read below
        parts = key if type(key) is tuple else (key,)
        if batched_call("setitem", (input, value) + parts, {"name": name}) is not None:
            return
    key, advanced = _normalize_key(key, input._data.shape, name)
    split = _ints_first(key) if advanced else None
    if split is not None:
        return setitem(getitem(input, split[0]), split[1], value, name)   # through the view
    involved = tracked(input) or tracked(value)
    try:
        if not involved and input._data.flags.writeable:
            # Fast path: nothing to record, so write straight into the storage.
            vc = input._vc
            if vc is not None and vc.watchers:   # Note [Mutation guard]: before the write
                vc.watchers.fire(vc, name)
            input._data[key] = value._data if isinstance(value, Tensor) else value
            input._bump()
            return
        apply_inplace(INDEX_PUT, (input, value), {"key": key, "in_shape": input._data.shape},
                      name)
    except IndexError as e:      # NumPy's message names neither the op nor the tensor
        raise IndexRangeError(f"{name}: {e} (tensor of shape {tuple(input._data.shape)}, index "
                         f"{key!r})") from None
    except ValueError:
        err = _setitem_shape_error(input, key, value)   # error path only
        if err is None:
            raise
        raise err from None


def _setitem_shape_error(input, key, value):
    """A ShapeError if ``value`` can't broadcast to the region ``input[key]``, else None."""
    region = np.shape(input._data[key])
    vshape = np.shape(value._data if isinstance(value, Tensor) else value)
    try:
        if np.broadcast_shapes(region, vshape) == region:
            return None
    except ValueError:
        pass
    return ShapeError(
        f"setitem: can't assign a value of shape {tuple(vshape)} to a region of shape "
        f"{tuple(region)} (tensor of shape {tuple(input._data.shape)}, index {key!r}); the "
        "value must broadcast to the region's shape.")
