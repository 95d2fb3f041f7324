"""Batching rules of the public functions that select by condition, mask or index tensor
(where, masked_fill, masked_scatter, gather and the scatters, index_*, take, advanced
indexing). They read the condition's or index's values before their primitive runs, so the
rules work on the public functions (Note [Batched tensors]).

Layout tricks: a condition or mask broadcasts like any operand, so it is padded as the
pointwise ops' operands are (its batch dim first, size-1 dims after it) and the function runs
once on the physical tensors. An index along ``dim`` becomes an index along ``dim + 1`` of
the physical tensors, with an unbatched operand expanded to the batch (a stride-0 view) where
the function needs every operand to have the batch dim. An index tensor that is itself
batched (a different index per example) becomes a gather or scatter along ``dim + 1``, whose
index already addresses each example's row.
"""
import functools

from . import PUBLIC_RULES, rule
from ._layout import align, check_no_batched_data, expand_batch, ndim_of, pad


def public_rule(name):
    """``batching.public_rule``, with the function's own argument errors raised per example:
    a rule that meets one (an index out of range, a bad shape) answers None, so the function
    runs as usual and raises with the example's shapes and dims (through vmap's loop when it
    reads batched values), not with the physical ones."""
    from ..._core.errors import NotSupportedError

    def register(fn):
        @functools.wraps(fn)
        def guarded(args, batched, kw, size):
            try:
                return fn(args, batched, kw, size)
            except NotSupportedError:
                raise
            except (ValueError, TypeError, IndexError):
                return None
        PUBLIC_RULES[name] = guarded
        return fn
    return register


def _batched_all(args, batched, size):
    return [a if b else expand_batch(a, size) for a, b in zip(args, batched)]


@public_rule("where")
def where(args, batched, kw, size):
    from ...ops.elementwise import where as where_
    return where_(*align(args, batched))


@public_rule("heaviside")
def heaviside(args, batched, kw, size):
    from ...ops.binary_math import heaviside as heaviside_
    return heaviside_(*align(args, batched))


@public_rule("isclose")
def isclose(args, batched, kw, size):
    from ...ops.binary_math import isclose as isclose_
    return isclose_(*align(args, batched), **kw)


@public_rule("masked_fill")
def masked_fill(args, batched, kw, size):
    from ...ops.elementwise import where as where_
    from ...ops.index_ops import as_mask, masked_fill as masked_fill_
    from ...ops.shape import cast
    (x, m, v), (bx, bm, bv) = args, batched
    rank = max(ndim_of(x, bx), ndim_of(m, bm))
    x = pad(x, rank) if bx else x
    m = pad(m, rank) if bm else m
    if not bv:
        return masked_fill_(x, m, v)
    if v.ndim != 1:
        return None           # not a 0-d value per example: the function's own error
    # a per-example 0-d value: it broadcasts like the mask, as where's operand
    as_mask(m, "masked_fill")
    dt = x.dtype
    v = pad(v, rank)
    out = where_(m, v if v.dtype == dt else cast(v, dt), x)
    return out if out.dtype == dt else cast(out, dt)


@public_rule("masked_scatter")
def masked_scatter(args, batched, kw, size):
    """Each example's True positions (in row-major order) take its source's first elements:
    the running count of True values along each example's flattened mask is the position in
    its source, read with one gather."""
    import numpy as np
    from ...ops.elementwise import where as where_
    from ...ops.index_ops import as_mask
    from ...ops.scatter import gather
    from ..._core.batched import Batched
    from ..._core.errors import ShapeError
    from ..._core.tensor import Tensor
    x, m, src = args
    if not isinstance(src, Tensor) or src.dtype != x.dtype:
        return None           # the function's own error
    as_mask(m, "masked_scatter")
    rank = max(ndim_of(x, batched[0]), ndim_of(m, batched[1]))
    x, m, src = _batched_all(args, batched, size)
    x, m = pad(x, rank), pad(m, rank)
    full = tuple(np.broadcast_shapes(tuple(x.shape), tuple(m.shape)))
    x, m = x.expand(full), m.expand(full)
    flat = m.reshape(size, -1)
    src = src.reshape(size, -1)
    n = src.shape[1]
    count = flat.long().sum(1)
    if type(count) is not Batched and flat.shape[1] and int(count.max()) > n:
        raise ShapeError(f"masked_scatter: source has {n} elements per example but the mask "
                         f"has {int(count.max())} True values in one; source needs at least "
                         "as many")
    if n == 0:
        return x.clone()
    pos = (flat.long().cumsum(1) - 1).clamp(0, n - 1)
    return where_(m, gather(src, 1, pos).reshape(full), x)


def _values(t):
    """The values of a physical index or mask (None when it is batched at an outer level
    too: reading them would take one outer example, so that vmap loops instead)."""
    from ..._core.batched import Batched
    from ..._core.tensor import Tensor
    if type(t) is Batched:
        return None
    return t._data if isinstance(t, Tensor) else t


def _key_arrays(parts, batched, size):
    """The key's parts with every index tensor as an array (batched ones (size, ...)) and
    boolean masks as the integer arrays of their True positions; None when a batched mask's
    examples differ in their count of True values (then the results' shapes differ too)."""
    import numpy as np
    from ..._core.tensor import Tensor
    out, bout = [], []
    for p, b in zip(parts, batched):
        if isinstance(p, (Tensor, list)) or (isinstance(p, np.ndarray)):
            a = _values(p) if isinstance(p, Tensor) else np.asarray(p)
            if a is None:
                return None
            if a.dtype == np.bool_:
                if a.ndim == (1 if b else 0):
                    return None               # x[True]: NumPy's scalar mask
                if b:
                    nz = np.nonzero(a)
                    k, rem = divmod(len(nz[0]), size)
                    if rem or size and np.any(np.bincount(nz[0], minlength=size) != k):
                        return None
                    out.extend(i.reshape(size, k) for i in nz[1:])
                    bout.extend([True] * (a.ndim - 1))
                else:
                    out.extend(np.nonzero(a))
                    bout.extend([False] * a.ndim)
                continue
            if a.dtype.kind not in "iu":
                return None
            out.append(a)
            bout.append(b)
        else:
            out.append(p)
            bout.append(False)
    return out, bout


def _physical_key(x, parts, batched, size):
    """(view, key, p0) so that ``view[key]`` is the physical result of ``x[parts]`` (x
    physical and batched, some parts batched index tensors) with the batch dim at p0 (move
    it to the front); None for keys this layout doesn't handle.

    A batch index (arange) joins the key, put next to the other index arrays so NumPy keeps
    their dims where the example has them: just before them, with the batch dim of ``x``
    moved there too, when they are adjacent after p0 slices (NumPy's rule otherwise moves
    the index dims first, the batch dim among them)."""
    import numpy as np
    if any(p is None for p in parts) or any(type(p) in (bool, np.bool_) for p in parts):
        return None
    if any(type(p) is int or isinstance(p, np.integer) for p in parts):
        # integers select first (PyTorch's order; see ops/indexing._ints_first)
        first = tuple(p if type(p) is int or isinstance(p, np.integer) or p is Ellipsis
                      else slice(None) for p in parts)
        keep = [i for i, p in enumerate(parts)
                if not (type(p) is int or isinstance(p, np.integer))]
        x = x[(slice(None),) + first]
        parts, batched = [parts[i] for i in keep], [batched[i] for i in keep]
    nd = x.ndim - 1
    got = _key_arrays(parts, batched, size)
    if got is None:
        return None
    parts, bparts = got
    ell = [i for i, p in enumerate(parts) if p is Ellipsis]
    if ell:
        i = ell[0]
        parts[i:i + 1] = [slice(None)] * (nd - (len(parts) - 1))
        bparts[i:i + 1] = [False] * (nd - (len(bparts) - 1))
    if len(parts) > nd:
        return None                       # too many indices: the function's own error
    arrays = [i for i, p in enumerate(parts) if isinstance(p, np.ndarray)]
    if not arrays:
        return x, (slice(None),) + tuple(parts), 0
    shapes = [p.shape[1:] if b else p.shape for p, b in zip(parts, bparts)
              if isinstance(p, np.ndarray)]
    try:
        r = len(np.broadcast_shapes(*shapes))
    except ValueError:
        return None
    parts = [p.reshape((size,) + (1,) * (r - p.ndim + 1) + p.shape[1:])
             if isinstance(p, np.ndarray) and b else p for p, b in zip(parts, bparts)]
    rows = np.arange(size).reshape((size,) + (1,) * r)
    p0 = arrays[0]
    if arrays == list(range(p0, arrays[-1] + 1)) and p0:
        return x.movedim(0, p0), tuple(parts[:p0]) + (rows,) + tuple(parts[p0:]), p0
    return x, (rows,) + tuple(parts), 0


def _outer_index(x, parts):
    """x[parts] for x batched here and index tensors batched only at outer vmaps (the same
    for every example at this level): the physical x indexed past its batch dim, which
    the outer levels' rules then batch. None when no part is such an index (the primitives'
    own rules), and for the keys left to the loop (masks, 0-d indices, None, ...)."""
    import numpy as np
    from ..._core.batched import Batched
    from ...ops.indexing import getitem as getitem_
    outer = [p for p in parts if type(p) is Batched]
    if not outer or any(p.dtype == "bool" or p.ndim == 0 for p in outer) or \
            any(p is None or p is Ellipsis or isinstance(p, (list, np.ndarray)) or
                getattr(p, "dtype", None) == "bool" for p in parts):
        return None
    rest = [p for p in parts if not (type(p) is int or isinstance(p, np.integer))]
    arrays = [i for i, p in enumerate(rest) if hasattr(p, "shape")]
    out = getitem_(x, (slice(None),) + tuple(parts))
    if arrays and arrays != list(range(arrays[0], arrays[-1] + 1)):
        # index arrays apart: NumPy puts their dims first, the batch dim after them
        r = len(np.broadcast_shapes(*[tuple(rest[i].shape) for i in arrays]))
        return out.movedim(r, 0)
    return out


@public_rule("getitem")
def getitem(args, batched, kw, size):
    """An index tensor that differs per example (see _physical_key)."""
    from ...ops.indexing import take_key
    x = args[0]
    if not any(batched[1:]):
        return _outer_index(x, args[1:])
    got = _physical_key(x if batched[0] else expand_batch(x, size), list(args[1:]),
                        list(batched[1:]), size)
    if got is None:
        return None
    view, key, p0 = got
    out = take_key(view, key)
    return out.movedim(p0, 0) if p0 else out


@public_rule("setitem")
def setitem(args, batched, kw, size):
    """``x[key] = value`` with ``x`` batched: the write goes to the physical tensor at the
    physical key (see _physical_key), the value padded to the region's example rank."""
    import numpy as np
    from ...ops.indexing import setitem as setitem_
    from ..._core.tensor import Tensor
    x, value, parts = args[0], args[1], list(args[2:])
    if not batched[0]:
        return None                       # vmap's own error: an unbatched tensor written
    if len(parts) == 1 and batched[2] and parts[0].dtype == np.bool_:
        return _set_masked(x, value, parts[0], batched[1], size, kw["name"])
    got = _physical_key(x, parts, list(batched[2:]), size)
    if got is None:
        return None
    view, key, p0 = got
    if batched[1] or p0:
        # the region's example rank; its batch dim sits at p0 (see _physical_key)
        rank = np.broadcast_to(np.empty((), np.bool_), tuple(view.shape))[key].ndim - 1
    if batched[1]:
        value = pad(value, rank)
        if p0:
            value = value.movedim(0, p0)
    elif p0 and np.ndim(value) > rank - p0:
        # an unbatched value reaching into the dims before p0: a size-1 dim where the
        # batch dim sits, so it broadcasts over the examples
        at = np.ndim(value) - (rank - p0)
        value = value.unsqueeze(at) if isinstance(value, Tensor) else np.expand_dims(value, at)
    setitem_(view, key, value, kw["name"])
    return x


def _set_masked(x, value, m, bv, size, name):
    """``x[mask] = value`` with a mask per example (their counts of True values may differ):
    a value that broadcasts to one masked element is ``where(mask, value, x)`` written back."""
    from ...ops.elementwise import where as where_
    from ...ops.indexing import setitem as setitem_
    from ...ops.shape import cast
    nd, mr = x.ndim - 1, m.ndim - 1
    if tuple(m.shape[1:]) != tuple(x.shape[1:1 + mr]) or ndim_of(value, bv) > nd - mr:
        return None
    m = m.reshape(tuple(m.shape) + (1,) * (nd - mr))
    new = where_(m, pad(value, nd) if bv else value, x)
    setitem_(x, Ellipsis, new if new.dtype == x.dtype else cast(new, x.dtype), name)
    return x


@rule("index_put", "index_add")
def index_write(op, args, batched, params, size):
    """The key-based writes (scatter's and index_put's primitives): the key gets a leading
    full slice for the batch dim (index arrays that NumPy moves to the front are left to
    the loop), the value padded to the region's example rank."""
    import numpy as np
    from .shapes import _advanced_split
    check_no_batched_data(op.name, params)
    key, shape = tuple(params["key"]), tuple(params["in_shape"])
    if _advanced_split(key)[0]:
        return None
    x, v = args
    if not batched[0]:
        x = expand_batch(x, size)
    if batched[1]:
        region = np.broadcast_to(np.empty((), np.bool_), shape)[key].shape
        v = pad(v, len(region))
    return [x, v], dict(params, key=(slice(None),) + key, in_shape=(size,) + shape), None


index_write.inplace_ok = True      # setitem's write: the same layout in place


@rule("strided")
def strided(op, args, batched, params, size):
    """Note [Strided views]: the batch dim is one more output dim that walks the physical
    tensor's batch dim (coefficient 1 on it, 0 on the example's dims)."""
    n = len(params["in_shape"])
    batch = (1,) + (0,) * n
    return args, {"size": (size,) + tuple(params["size"]),
                  "coeffs": (batch,) + tuple((0,) + tuple(c) for c in params["coeffs"]),
                  "origin": (0,) + tuple(params["origin"]),
                  "in_shape": (size,) + tuple(params["in_shape"])}, None


def _dtype_of(a):
    import numpy as np
    from ..._core.tensor import Tensor
    return a._data.dtype if isinstance(a, Tensor) else np.asarray(a).dtype


def _physical_chain(chain, shape, dtype, size):
    """A view chain ((op, params), ...) recorded on an example of ``shape``, translated by
    each view op's own rule to the physical layout, and the region's example shape; None
    when some step has no rule that keeps its input as it is."""
    import numpy as np
    from . import RULES
    stand_in = np.broadcast_to(np.empty((), dtype), (size,) + tuple(shape))   # no memory
    out = []
    for op, params in chain:
        rule_fn = RULES.get(op.name)
        planned = None if rule_fn is None else rule_fn(op, [stand_in], [True], params, size)
        if planned is None or planned[2] is not None or planned[0][0] is not stand_in:
            return None
        out.append((op, planned[1]))
        stand_in = op.forward(stand_in, **planned[1])
    return tuple(out), stand_in.shape[1:]


@rule("view_scatter")
def view_scatter(op, args, batched, params, size):
    """A base with a view's region replaced (the backward of basic indexing and of writes
    through views): the chain of view ops in the physical layout, the replacement padded
    to the region's example rank."""
    base, src = args
    shape = tuple(base.shape[1:] if batched[0] else base.shape)
    got = _physical_chain(params["chain"], shape, _dtype_of(base), size)
    if got is None:
        return None
    chain, region = got
    if not batched[0]:
        base = expand_batch(base, size)
    if batched[1]:
        src = pad(src, len(region))
    return [base, src], {"chain": chain}, None


@rule("view_of")
def view_of(op, args, batched, params, size):
    """A copy of a view's region of a base (the gradient of a tensor read through a view):
    the chain of view ops in the physical layout."""
    got = _physical_chain(params["chain"], tuple(params["base_shape"]), _dtype_of(args[0]),
                          size)
    if got is None:
        return None
    return args, {"chain": got[0], "base_shape": (size,) + tuple(params["base_shape"])}, None
