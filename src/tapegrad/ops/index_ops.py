"""Index-wise and mask-wise ops: index_select, index_add, index_copy, index_fill, index_put,
masked_fill, masked_select, masked_scatter; and the argument checks the whole scatter family
shares (tapegrad.ops.scatter re-exports these functions).

Every op here is a composite of the three key-based primitives of ops/indexing.py: ``index``
(x[key]), ``index_add`` (x with v added at key, repeats accumulating) and ``index_put``
(x with x[key] = v). Their rules are written with themselves, so every op gets gradients for
the input and for the values written, at any order, and JVPs, with no rule of its own.
"""
import numpy as np

from .._core.errors import ArgumentError, DTypeError, IndexRangeError, ShapeError
from .._core.state import STATE
from .._core.tensor import Tensor, array_of
from . import indexing
from .elementwise import mul, where
from .registry import batched_call
from .shape import cast, expand, normalize_dim, reshape


def as_index(index, name, int64_only=False, what="index", error=DTypeError):
    """The index tensor's values as a fresh int64 array (a copy: the rules read it at backward
    time, after the caller may have changed the tensor in place)."""
    if not isinstance(index, (Tensor, np.ndarray)):
        raise TypeError(f"{name}: {what} must be an integer tensor, got {type(index).__name__}")
    dt = array_of(index).dtype
    if dt != np.int64 and (int64_only or dt != np.int32):
        want = "int64" if int64_only else "int64 or int32"
        raise error(f"{name}: {what} must have dtype {want}, got {dt}; convert it with "
                    f"{what}.long()")
    # astype, not np.array: a batched index's stand-in array refuses it (Note [Batched
    # tensors]), where np.array would quietly copy one example's values
    return array_of(index).astype(np.int64)


def check_range(idx, size, name, dim, negative=False):
    """``idx`` with every value checked against a dim of ``size`` (negative values count from
    the end where ``negative``), as non-negative indices."""
    lo = -size if negative else 0
    bad = (idx < lo) | (idx >= size)
    if bad.any():
        allowed = f"[{lo}, {size - 1}]" if size else "none (the dim is empty)"
        raise IndexRangeError(
            f"{name}: index {int(idx[bad].flat[0])} is out of bounds for dimension {dim} with "
            f"size {size}; allowed values: {allowed}")
    return np.where(idx < 0, idx + size, idx) if negative else idx


def as_mask(mask, name):
    if not isinstance(mask, (Tensor, np.ndarray)) or array_of(mask).dtype != np.bool_:
        got = array_of(mask).dtype if isinstance(mask, (Tensor, np.ndarray)) else type(mask)
        raise DTypeError(f"{name}: mask must be a bool tensor, got {got}; compare first, "
                         "e.g. x > 0")
    return array_of(mask)


def check_same_dtype(input, other, name, what):
    a, b = array_of(input).dtype, array_of(other).dtype
    if a != b:
        raise DTypeError(f"{name}: input and {what} must have the same dtype, got {a} and {b}; "
                         f"convert {what} with .to(input.dtype)")


def write_back(self, out, name):
    """``self <- out`` in place, recorded (the in-place forms of composite ops)."""
    if tuple(out.shape) != tuple(self.shape):
        raise ShapeError(f"{name}: the result has shape {tuple(out.shape)} but the tensor "
                         f"written to has shape {tuple(self.shape)}; an in-place op can't "
                         "change its tensor's shape. Use the out-of-place form.")
    indexing.setitem(self, Ellipsis, out, name)
    return self


def _vector_index(index, x, dim, name, int64_only=False, negative=False,
                  dtype_error=DTypeError):
    """(dim as non-negative, the checked 1-d index) for the index_* ops; a 0-d input is
    handled by the callers as a 1-element vector."""
    idx = as_index(index, name, int64_only, error=dtype_error)
    if idx.ndim > 1:     # an IndexError in PyTorch
        raise IndexRangeError(f"{name}: index must be a vector (0-d or 1-d), got shape {idx.shape}")
    d = normalize_dim(dim, x.ndim, name)
    return d, check_range(idx.reshape(-1), x.shape[d], name, d, negative)


def _slices_key(d, idx):
    """The key x[:, ..., :, idx] with idx at dim d."""
    return (slice(None),) * d + (idx,)


def _as_vector(input):
    """A 0-d tensor as shape (1,) (the index_* ops treat it as a 1-element vector)."""
    return reshape(input, (1,)) if array_of(input).ndim == 0 else input


def restore_0d(out, shape):
    """An op's result back to 0-d when it ran on a 0-d input seen as a vector."""
    return reshape(out, ()) if shape == () else out


def index_select(input, dim, index):
    """The slices of ``input`` at positions ``index`` along ``dim``.

    Args:
        input: the tensor.
        dim: the dim to select along.
        index: a 0-d or 1-d int64 (or int32) tensor; repeats are allowed.

    Returns:
        A new tensor whose ``dim`` has ``len(index)`` entries. In backward, gradients of
        repeated positions accumulate.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        >>> y = tg.index_select(x, 1, tg.tensor([2, 0, 2])); y.sum().backward(); y, x.grad
        (tensor([[3., 1., 3.],
                [6., 4., 6.]], grad_fn=<IndexBackward0>), tensor([[1., 0., 2.],
                [1., 0., 2.]]))
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the index is read below
        out = batched_call("index_select", (input, index),
                           {"dim": dim})
        if out is not None:
            return out
    shape = array_of(input).shape
    x = _as_vector(input)
    d, idx = _vector_index(index, array_of(x), dim, "index_select")
    if shape == () and idx.size != 1:
        raise ShapeError(f"index_select: a 0-d input takes an index of one value, got "
                         f"{idx.size}")
    return restore_0d(indexing.take_key(x, _slices_key(d, idx)), shape)


def _source_checked(input, dim, index, source, name, int64_only=False, negative=False):
    """(key, source) for index_add/index_copy: ``source`` must have input's shape with
    ``dim`` of len(index)."""
    shape = array_of(input).shape
    x, src = array_of(input).reshape(shape or (1,)), source
    d, idx = _vector_index(index, x, dim, name, int64_only, negative)
    if not isinstance(source, Tensor):
        raise TypeError(f"{name}: source must be a tensor, got {type(source).__name__}")
    check_same_dtype(input, source, name, "source")
    want = shape if shape == () else x.shape[:d] + (idx.size,) + x.shape[d + 1:]
    if array_of(source).shape != want:
        raise ShapeError(f"{name}: source has shape {array_of(source).shape} but must have "
                         f"shape {want}: the input's shape {shape} with dim {d} of size "
                         f"len(index) = {idx.size}")
    if shape == ():
        src = reshape(source, (1,))
    return _slices_key(d, idx), src


def index_add(input, dim, index, source, *, alpha=1):
    """``input`` with ``alpha * source`` added to the slices at ``index`` along ``dim``.

    Args:
        input: the tensor.
        dim: the dim to index along.
        index: a 0-d or 1-d int64 (or int32) tensor; repeated positions accumulate.
        source: a tensor of ``input``'s dtype and shape, except ``len(index)`` along ``dim``.
        alpha: a number multiplying ``source``.

    Example:
        >>> import tapegrad as tg
        >>> s = tg.tensor([[1.0, 2.0]], requires_grad=True)
        >>> y = tg.index_add(tg.zeros(1, 3), 1, tg.tensor([2, 2]), s, alpha=3)
        >>> y.sum().backward(); y, s.grad
        (tensor([[0., 0., 9.]], grad_fn=<IndexAddBackward0>), tensor([[3., 3.]]))
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the index is read below
        out = batched_call("index_add", (input, index, source),
                           {"dim": dim, "alpha": alpha})
        if out is not None:
            return out
    key, src = _source_checked(input, dim, index, source, "index_add")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.number)):
        raise TypeError(f"index_add: alpha must be a number, got {type(alpha).__name__}")
    dt = array_of(input).dtype
    if dt.kind in "biu":
        alpha = dt.type(alpha).item()   # NOTE: in the tensor's dtype (2.5 -> 2), as PyTorch
    if alpha != 1:
        src = mul(src, alpha)
    shape = array_of(input).shape
    return restore_0d(indexing.index_add(_as_vector(input), key, src), shape)


def index_copy(input, dim, index, source):
    """``input`` with the slices at ``index`` along ``dim`` replaced by those of ``source``.

    Args:
        input: the tensor.
        dim: the dim to index along.
        index: a 0-d or 1-d int64 tensor.
        source: a tensor of ``input``'s dtype and shape, except ``len(index)`` along ``dim``.

    Returns:
        The copy; in backward the replaced slices pass no gradient to ``input``. Where
        ``index`` repeats a position, the slice that was written gets the gradient (PyTorch
        gives it to every repeat).

    Example:
        >>> import tapegrad as tg
        >>> s = tg.tensor([[7.0, 8.0]], requires_grad=True)
        >>> tg.index_copy(tg.zeros(1, 3), 1, tg.tensor([2, 0]), s)
        tensor([[8., 0., 7.]], grad_fn=<IndexPutBackward0>)
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the index is read below
        out = batched_call("index_copy", (input, index, source),
                           {"dim": dim})
        if out is not None:
            return out
    key, src = _source_checked(input, dim, index, source, "index_copy", int64_only=True)
    return restore_0d(indexing.index_put(_as_vector(input), key, src), array_of(input).shape)


def _fill_value(input, value, name):
    """A number, or a 0-d tensor (which gets a gradient), in a form that keeps input's dtype."""
    dt = array_of(input).dtype
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise ShapeError(f"{name}: value must be a number or a 0-d tensor, got a tensor of "
                             f"shape {tuple(value.shape)}")
        return cast(value, dt) if value._data.dtype != dt else value
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, (int, float, bool)):
        raise TypeError(f"{name}: value must be a number or a 0-d tensor, got "
                        f"{type(value).__name__}")
    # NOTE: a float into an integer tensor truncates toward zero, as PyTorch does
    return dt.type(value).item() if dt.kind in "biu" else value


def index_fill(input, dim, index, value):
    """``input`` with the slices at ``index`` along ``dim`` set to ``value``.

    Args:
        input: the tensor.
        dim: the dim to index along.
        index: a 0-d or 1-d int64 tensor; negative values count from the end.
        value: a number, or a 0-d tensor (which then gets a gradient).

    Example:
        >>> import tapegrad as tg
        >>> v = tg.tensor(5.0, requires_grad=True)
        >>> y = tg.index_fill(tg.zeros(2, 3), 1, tg.tensor([0, -1]), v)
        >>> y.sum().backward(); y, v.grad
        (tensor([[5., 0., 5.],
                [5., 0., 5.]], grad_fn=<IndexPutBackward0>), tensor(4.))
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the index is read below
        out = batched_call("index_fill", (input, index, value),
                           {"dim": dim})
        if out is not None:
            return out
    shape = array_of(input).shape
    x = _as_vector(input)
    d, idx = _vector_index(index, array_of(x), dim, "index_fill", int64_only=True, negative=True,
                           dtype_error=IndexRangeError)   # an IndexError, as PyTorch's
    value = _fill_value(input, value, "index_fill")
    return restore_0d(indexing.index_put(x, _slices_key(d, idx), value), shape)


def index_put(input, indices, values, accumulate=False):
    """``input`` with ``input[indices] = values`` (or ``+=`` with ``accumulate=True``).

    Args:
        input: the tensor.
        indices: a tuple (or list) of integer or bool tensors, one per leading dim, as in
            ``input[i, j]``; negative values count from the end.
        values: a tensor of ``input``'s dtype that broadcasts to the indexed region.
        accumulate: add ``values`` instead of writing them; repeated positions then
            accumulate (without it, the last repeat is kept and gets the gradient).

    Example:
        >>> import tapegrad as tg
        >>> v = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> y = tg.index_put(tg.zeros(3), (tg.tensor([0, 0]),), v, accumulate=True)
        >>> y.sum().backward(); y, v.grad
        (tensor([3., 0., 0.], grad_fn=<IndexAddBackward0>), tensor([1., 1.]))
    """
    if STATE.vmap_levels and isinstance(indices, (tuple, list)):   # Note [Batched tensors]
        out = batched_call("index_put", (input, values) + tuple(indices),
                           {"accumulate": accumulate})
        if out is not None:
            return out
    name = "index_put"
    shape = array_of(input).shape
    if not isinstance(indices, (tuple, list)) or not indices:
        raise ArgumentError(f"{name}: indices must be a non-empty tuple of index tensors, got "
                            f"{indices!r}")
    for k, p in enumerate(indices):
        if not isinstance(p, (Tensor, np.ndarray)):
            raise TypeError(f"{name}: indices[{k}] must be an integer or bool tensor, got "
                            f"{type(p).__name__}")
        if array_of(p).dtype.kind not in "biu":
            raise DTypeError(f"{name}: indices[{k}] must be an integer or bool tensor, got "
                             f"dtype {array_of(p).dtype}")
    if not isinstance(values, Tensor):
        raise TypeError(f"{name}: values must be a tensor, got {type(values).__name__}")
    check_same_dtype(input, values, name, "values")
    used = sum(array_of(p).ndim if array_of(p).dtype == np.bool_ else 1 for p in indices)
    if used > len(shape):
        raise IndexRangeError(f"{name}: too many indices for a tensor of shape {shape}: "
                              f"the indices cover {used} dims")
    key, _ = indexing._normalize_key(tuple(indices), shape, name)   # masks -> integer arrays
    key = tuple(check_range(p, shape[d], name, d, negative=True) if isinstance(p, np.ndarray)
                and p.ndim else p for d, p in enumerate(key))
    region = np.empty(shape, dtype=np.bool_)[key].shape
    try:
        ok = np.broadcast_shapes(values._data.shape, region) == region
    except ValueError:
        ok = False
    if not ok:
        raise ShapeError(f"{name}: values of shape {tuple(values.shape)} can't be broadcast to "
                         f"the indexed region of shape {region} (input of shape {shape})")
    op = indexing.index_add if accumulate else indexing.index_put
    return op(input, key, values)


def _mask_broadcast(input, mask, name):
    """(the broadcast shape of input and mask, the mask broadcast to it)."""
    m = as_mask(mask, name)
    try:
        shape = np.broadcast_shapes(array_of(input).shape, m.shape)
    except ValueError:
        raise ShapeError(f"{name}: input of shape {array_of(input).shape} and mask of shape "
                         f"{m.shape} can't be broadcast together") from None
    return shape, np.broadcast_to(m, shape)


def masked_fill(input, mask, value):
    """``input`` with ``value`` where ``mask`` is True (mask and input broadcast).

    Args:
        input: the tensor.
        mask: a bool tensor.
        value: a number, or a 0-d tensor (which then gets a gradient).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> y = tg.masked_fill(x, x > 1.5, 0.0); y.sum().backward(); y, x.grad
        (tensor([1., 0., 0.], grad_fn=<WhereBackward0>), tensor([1., 0., 0.]))
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the mask is read below
        out = batched_call("masked_fill", (input, mask, value), {})
        if out is not None:
            return out
    _mask_broadcast(input, mask, "masked_fill")
    value = _fill_value(input, value, "masked_fill")
    out = where(mask, value, input)
    if isinstance(out, Tensor) and out._data.dtype != array_of(input).dtype:
        out = cast(out, array_of(input).dtype)     # a bool input keeps its dtype
    return out


def _flat_positions(input, mask, name):
    """(input broadcast with mask, the mask's True positions as a key) for masked_*."""
    shape, m = _mask_broadcast(input, mask, name)
    if array_of(input).shape != shape:
        input = expand(input, shape)
    if shape == ():
        return reshape(input, (1,)), (np.nonzero(m.reshape(1))[0],), shape
    return input, np.nonzero(m), shape


def masked_select(input, mask):
    """The elements of ``input`` where ``mask`` is True, as a 1-d tensor (they broadcast).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([[1.0, -2.0], [3.0, -4.0]], requires_grad=True)
        >>> y = tg.masked_select(x, x > 0); y.sum().backward(); y, x.grad
        (tensor([1., 3.], grad_fn=<IndexBackward0>), tensor([[1., 0.],
                [1., 0.]]))
    """
    x, key, _ = _flat_positions(input, mask, "masked_select")
    return indexing.take_key(x, key)


def masked_scatter(input, mask, source):
    """``input`` with its elements where ``mask`` is True replaced, in order, by the first
    elements of ``source`` (input and mask broadcast).

    Args:
        input: the tensor.
        mask: a bool tensor.
        source: a tensor of ``input``'s dtype with at least as many elements as ``mask`` has
            True values; the rest of it is not used (and gets gradient 0).

    Example:
        >>> import tapegrad as tg
        >>> s = tg.tensor([10.0, 20.0, 30.0], requires_grad=True)
        >>> y = tg.masked_scatter(tg.zeros(3), tg.tensor([True, False, True]), s)
        >>> y.sum().backward(); y, s.grad
        (tensor([10.,  0., 20.], grad_fn=<IndexPutBackward0>), tensor([1., 1., 0.]))
    """
    name = "masked_scatter"
    if STATE.vmap_levels:       # Note [Batched tensors]: the mask is read below
        out = batched_call(name, (input, mask, source), {})
        if out is not None:
            return out
    if not isinstance(source, Tensor):
        raise TypeError(f"{name}: source must be a tensor, got {type(source).__name__}")
    check_same_dtype(input, source, name, "source")
    x, key, shape = _flat_positions(input, mask, name)
    n = key[0].size
    if source._data.size < n:
        raise ShapeError(f"{name}: source has {source._data.size} elements but the mask has "
                         f"{n} True values; source needs at least as many")
    src = reshape(source, (-1,))
    if src._data.size != n:
        src = src[:n]
    return restore_0d(indexing.index_put(x, key, src), shape)
