"""Rearranging elements: split, tensor_split, chunk, unbind, narrow, movedim, unflatten,
flip, roll, rot90, repeat, tile, repeat_interleave, unfold and as_strided; broadcast_tensors,
atleast_Nd, the *stack family, meshgrid, cartesian_prod and combinations (stacking.py).

Pieces that PyTorch returns as views (split and its kin, narrow, movedim, unflatten) are
composites of the view ops getitem, reshape and permute, so they share memory and writes
through them reach the input (Note [Views and in-place ops] in registry.py). flip, roll,
rot90, repeat, tile and repeat_interleave copy, as in PyTorch.
"""
import numpy as np

from .._core.errors import ArgumentError, DTypeError, IndexRangeError, ShapeError
from .._core.state import STATE
from .._core.tensor import Tensor, shape_of
from .indexing import getitem
from .registry import OpDef, apply_unary, batched_call, linear, register
from .shape import broadcast_to, clone, expand, normalize_dim, permute, reshape
from .stacking import (atleast_1d, atleast_2d, atleast_3d, broadcast_shapes, broadcast_tensors,
                       cartesian_prod, column_stack, combinations, dstack, hstack, meshgrid,
                       row_stack, vstack)
from .strided import as_strided, check_int as _check_int, is_int as _is_int, unfold

__all__ = ["split", "split_with_sizes", "tensor_split", "chunk", "unbind", "narrow", "movedim",
           "moveaxis", "unflatten", "flip", "fliplr", "flipud", "roll", "rot90", "tile",
           "repeat_interleave", "as_strided", "broadcast_tensors", "broadcast_shapes",
           "atleast_1d", "atleast_2d", "atleast_3d", "hstack", "vstack", "row_stack", "dstack",
           "column_stack", "meshgrid", "cartesian_prod", "combinations"]


def _dim(d, shape, name):
    """A dim of a tensor that must have at least one dim (0-d has none to pick)."""
    if len(shape) == 0:
        raise ShapeError(f"{name}: expects a tensor of at least 1 dim, got a 0-d tensor")
    return normalize_dim(d, len(shape), name)


def _slice(input, d, start, stop):
    """input[..., start:stop, ...] along dim d: a view."""
    return getitem(input, (slice(None),) * d + (slice(start, stop),))


def _pieces(input, d, sizes):
    out, start = [], 0
    for n in sizes:
        out.append(_slice(input, d, start, start + n))
        start += n
    return tuple(out)


# ---- splitting: views -------------------------------------------------------------------
def split(tensor, split_size_or_sections, dim=0):
    """Split into pieces along ``dim``: of size ``split_size`` each (the last may be smaller),
    or of the sizes listed. The pieces are views of ``tensor``.

    Args:
        tensor: the tensor (at least 1-d).
        split_size_or_sections: an int piece size, or a list of sizes summing to the dim.
        dim: the dim to split.

    Example:
        >>> import tapegrad as tg
        >>> [p.tolist() for p in tg.split(tg.arange(5), 2)]
        [[0, 1], [2, 3], [4]]
        >>> [tuple(p.shape) for p in tg.arange(6).reshape(2, 3).split([1, 2], dim=1)]
        [(2, 1), (2, 2)]
    """
    shape = shape_of(tensor)
    d = _dim(dim, shape, "split")
    n = shape[d]
    if _is_int(split_size_or_sections):
        size = int(split_size_or_sections)
        if size < 0:
            raise ArgumentError(f"split: split_size must be non-negative, got {size}")
        if size == 0 and n > 0:
            raise ArgumentError(f"split: split_size can be 0 only if the dim's size is 0, but "
                                f"dim {d} of shape {tuple(shape)} has size {n}")
        count = max(-(-n // size), 1) if size else 1
        sizes = [size] * (count - 1) + [n - size * (count - 1)]
    else:
        if not isinstance(split_size_or_sections, (list, tuple)):
            raise TypeError(f"split: split_size_or_sections must be an int or a list of ints, "
                            f"got {split_size_or_sections!r}")
        sizes = list(split_size_or_sections)
        if not all(_is_int(s) for s in sizes):
            raise TypeError(f"split: sizes must be ints, got {sizes}")
        if any(s < 0 for s in sizes):
            raise ArgumentError(f"split: sizes must be non-negative, got {sizes}")
        if sum(sizes) != n:
            raise ShapeError(f"split: sizes {sizes} sum to {sum(sizes)}, but dim {d} of the "
                             f"tensor of shape {tuple(shape)} has size {n}; they must sum "
                             "exactly to it")
    return _pieces(tensor, d, sizes)


def split_with_sizes(input, split_sizes, dim=0):
    """Split into pieces of the listed sizes along ``dim`` (views): :func:`split` with a list.

    Example:
        >>> import tapegrad as tg
        >>> [p.tolist() for p in tg.arange(5).split_with_sizes([3, 2])]
        [[0, 1, 2], [3, 4]]
    """
    if not isinstance(split_sizes, (list, tuple)):
        raise TypeError(f"split_with_sizes: split_sizes must be a list or tuple of ints, got "
                        f"{split_sizes!r}")
    return split(input, list(split_sizes), dim)


def tensor_split(input, indices_or_sections=None, dim=0, *, sections=None, indices=None,
                 tensor_indices_or_sections=None):
    """Split into ``sections`` nearly equal pieces, or at the given indices (views).

    Args:
        input: the tensor (at least 1-d).
        indices_or_sections: an int number of pieces (the first ``n % sections`` get one
            more element), or a list / 1-d integer tensor of indices to split before (as
            slice bounds: clamped, negative counts from the end), or a 0-d integer tensor
            (a number of sections).
        dim: the dim to split.
        sections, indices, tensor_indices_or_sections: PyTorch's keyword names for
            ``indices_or_sections`` (an int, a list of ints, a tensor); give one of the four.

    Example:
        >>> import tapegrad as tg
        >>> [p.tolist() for p in tg.tensor_split(tg.arange(7), 3)]
        [[0, 1, 2], [3, 4], [5, 6]]
        >>> [p.tolist() for p in tg.tensor_split(tg.arange(5), [1, 4])]
        [[0], [1, 2, 3], [4]]
    """
    given = [(k, v) for k, v in (("indices_or_sections", indices_or_sections),
                                 ("sections", sections), ("indices", indices),
                                 ("tensor_indices_or_sections", tensor_indices_or_sections))
             if v is not None]
    if len(given) != 1:
        raise TypeError(f"tensor_split: give exactly one of indices_or_sections, sections, "
                        f"indices or tensor_indices_or_sections, got {[k for k, _ in given]}")
    (kind, arg), = given
    fits = {"sections": not isinstance(arg, (list, tuple)),
            "indices": isinstance(arg, (list, tuple)),
            "tensor_indices_or_sections": isinstance(arg, Tensor)}
    if not fits.get(kind, True):
        want = {"sections": "an int", "indices": "a list or tuple of ints",
                "tensor_indices_or_sections": "a tensor"}[kind]
        raise TypeError(f"tensor_split: {kind} must be {want}, got {arg!r}")
    shape = shape_of(input)
    d = _dim(dim, shape, "tensor_split")
    if isinstance(arg, Tensor):
        if arg._data.dtype.kind not in "iu" or arg._data.ndim > 1:
            raise DTypeError(f"tensor_split: a tensor of indices or sections must be a 0-d or "
                             f"1-d integer tensor, got dtype {arg.dtype} and shape "
                             f"{tuple(arg.shape)}")
        arg = int(arg._data) if arg._data.ndim == 0 else [int(i) for i in arg._data]
    n = shape[d]
    if _is_int(arg):
        if arg <= 0:
            raise ArgumentError(f"tensor_split: the number of sections must be > 0, got {arg}")
        small, extra = divmod(n, int(arg))
        return _pieces(input, d, [small + 1] * extra + [small] * (int(arg) - extra))
    bounds = list(arg) if isinstance(arg, (list, tuple)) else [arg]
    if not all(_is_int(i) for i in bounds):
        raise TypeError(f"tensor_split: indices must be ints, got {bounds}")
    starts, stops = [None] + bounds, bounds + [None]
    return tuple(_slice(input, d, a, b) for a, b in zip(starts, stops))


def chunk(input, chunks, dim=0):
    """Split into at most ``chunks`` pieces of equal size ``ceil(n / chunks)`` (the last may
    be smaller, and fewer pieces come back when they run out). Views.

    Example:
        >>> import tapegrad as tg
        >>> [p.tolist() for p in tg.chunk(tg.arange(6), 4)]
        [[0, 1], [2, 3], [4, 5]]
    """
    shape = shape_of(input)
    chunks = _check_int(chunks, "chunks", "chunk")
    d = _dim(dim, shape, "chunk")
    if chunks <= 0:
        raise ArgumentError(f"chunk: chunks must be greater than 0, got {chunks}")
    n = shape[d]
    if n == 0:
        return _pieces(input, d, [0] * chunks)
    return split(input, -(-n // chunks), d)


def unbind(input, dim=0):
    """The slices along ``dim``, as a tuple of views, each without that dim.

    Example:
        >>> import tapegrad as tg
        >>> tg.unbind(tg.tensor([[1, 2], [3, 4]]), 1)
        (tensor([1, 3]), tensor([2, 4]))
    """
    shape = shape_of(input)
    if len(shape) == 0:     # an IndexError in PyTorch
        raise IndexRangeError("unbind: expects a tensor of at least 1 dim, got a 0-d tensor")
    d = _dim(dim, shape, "unbind")
    return tuple(getitem(input, (slice(None),) * d + (i,)) for i in range(shape[d]))


def narrow(input, dim, start, length):
    """The ``length`` elements from ``start`` along ``dim`` (a view).

    Args:
        input: the tensor (at least 1-d).
        dim: the dim to narrow.
        start: the first index (negative counts from the end); an int or 0-d int tensor.
        length: how many elements (``start + length`` must not pass the end).

    Example:
        >>> import tapegrad as tg
        >>> tg.arange(6).reshape(2, 3).narrow(1, -2, 2)
        tensor([[1, 2],
                [4, 5]])
    """
    shape = shape_of(input)
    if len(shape) == 0:
        raise ShapeError("narrow: can't be applied to a 0-d tensor")
    d = normalize_dim(dim, len(shape), "narrow")
    if isinstance(start, Tensor):
        if start._data.ndim != 0 or start._data.dtype.kind not in "iu":
            raise DTypeError(f"narrow: a tensor start must be a 0-d integer tensor, got dtype "
                             f"{start.dtype} and shape {tuple(start.shape)}")
        start = int(start._data)
    start, length = _check_int(start, "start", "narrow"), _check_int(length, "length", "narrow")
    n = shape[d]
    if not -n <= start <= n:
        raise IndexRangeError(f"narrow: start out of range (expected to be in range of "
                              f"[{-n}, {n}], but got {start})")
    if length < 0:
        raise ArgumentError(f"narrow: length must be non-negative, got {length}")
    if start < 0:                       # only a negative start wraps: start == n is the end
        start += n
    if start + length > n:
        raise ShapeError(f"narrow: start ({start}) + length ({length}) exceeds the size "
                         f"({n}) of dim {d}")
    return _slice(input, d, start, start + length)


def _dims_arg(dims, ndim, name, what):
    # anything but a tuple or list is one dim: normalize_dim names a bad one (None, 1.5)
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    out = tuple(normalize_dim(d, ndim, name) for d in dims)
    if len(set(out)) != len(out):
        raise ArgumentError(f"{name}: repeated dim in {what} {list(dims)}")
    return out


def movedim(input, source, destination):
    """Move dims from ``source`` to ``destination`` positions; the others keep their order
    (a view; ``moveaxis`` is an alias).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.zeros(2, 3, 4)
        >>> tg.movedim(x, 0, -1).shape, tg.moveaxis(x, (0, 1), (2, 0)).shape
        (tapegrad.Size([3, 4, 2]), tapegrad.Size([3, 4, 2]))
    """
    ndim = len(shape_of(input))
    src = _dims_arg(source, ndim, "movedim", "source")
    dst = _dims_arg(destination, ndim, "movedim", "destination")
    if len(src) != len(dst):
        raise ShapeError(f"movedim: source {list(src)} and destination {list(dst)} must list "
                         "the same number of dims")
    if ndim == 0:              # a 0-d tensor's one dim (0 or -1) moves nowhere
        return permute(input, ())
    order = [d for d in range(ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, tuple(order))


moveaxis = movedim


def unflatten(input, dim, sizes):
    """Split dim ``dim`` into several of the given ``sizes`` (one may be -1) (a view).

    Example:
        >>> import tapegrad as tg
        >>> tg.unflatten(tg.zeros(3, 4), 1, (2, -1)).shape
        tapegrad.Size([3, 2, 2])
    """
    shape = shape_of(input)
    d = _dim(dim, shape, "unflatten")
    if not isinstance(sizes, (tuple, list)) or not all(_is_int(s) for s in sizes):
        raise TypeError(f"unflatten: sizes must be a tuple of ints, got {sizes!r}")
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise ShapeError("unflatten: sizes must be non-empty")
    known = int(np.prod([s for s in sizes if s != -1]))
    n = shape[d]
    if sizes.count(-1) > 1 or (-1 in sizes and (known == 0 or n % known)) or (
            -1 not in sizes and known != n) or any(s < -1 for s in sizes):
        raise ShapeError(f"unflatten: sizes {list(sizes)} don't multiply up to the size ({n}) "
                         f"of dim {d} of the input of shape {tuple(shape)}")
    sizes = tuple(n // known if s == -1 else s for s in sizes)
    return reshape(input, shape[:d] + sizes + shape[d + 1:])


# ---- reordering: copies -----------------------------------------------------------------
# NOTE: flip and roll are primitives, not getitem/cat composites: PyTorch returns copies
# (a negative-stride getitem view would let writes reach the input), and one node with a
# self-adjoint rule is cheaper than slices, cat and a clone.
FLIP = register(OpDef("flip", lambda x, dims: np.flip(x, dims).copy(),
                      lambda ctx, g: (flip(g, ctx.dims),), linear(lambda t, dims: flip(t, dims))))
ROLL = register(OpDef("roll", lambda x, shifts, dims: np.roll(x, shifts, dims),
                      lambda ctx, g: (_roll(g, tuple(-s for s in ctx.shifts), ctx.dims),),
                      linear(lambda t, shifts, dims: _roll(t, shifts, dims))))


def flip(input, dims):
    """Reverse the order of elements along each of ``dims`` (a copy, as in PyTorch).

    Args:
        input: the tensor.
        dims: an int or a sequence of distinct dims (``Tensor.flip`` also takes them as
            separate arguments).

    Example:
        >>> import tapegrad as tg
        >>> tg.flip(tg.tensor([[1, 2], [3, 4]]), (0, 1))
        tensor([[4, 3],
                [2, 1]])
    """
    shape = shape_of(input)
    dims = _dims_arg(dims, len(shape), "flip", "dims")
    return apply_unary(FLIP, input, {"dims": dims if shape else ()})


def fliplr(input):
    """Reverse the columns (dim 1) of a tensor of at least 2 dims.

    Example:
        >>> import tapegrad as tg
        >>> tg.fliplr(tg.tensor([[1, 2], [3, 4]]))
        tensor([[2, 1],
                [4, 3]])
    """
    if len(shape_of(input)) < 2:
        raise ShapeError(f"fliplr: the input must be at least 2-d, got shape "
                         f"{tuple(shape_of(input))}")
    return flip(input, 1)


def flipud(input):
    """Reverse the rows (dim 0) of a tensor of at least 1 dim.

    Example:
        >>> import tapegrad as tg
        >>> tg.flipud(tg.tensor([1, 2, 3]))
        tensor([3, 2, 1])
    """
    if len(shape_of(input)) < 1:
        raise ShapeError("flipud: the input must be at least 1-d, got a 0-d tensor")
    return flip(input, 0)


def _roll(x, shifts, dims):
    return apply_unary(ROLL, x, {"shifts": shifts, "dims": dims})


def roll(input, shifts, dims=None):
    """Shift elements cyclically by ``shifts`` along ``dims`` (a copy).

    Args:
        input: the tensor.
        shifts: an int or a tuple of ints, one per dim in ``dims``.
        dims: an int or tuple of dims; None rolls the flattened tensor and restores its shape.

    Example:
        >>> import tapegrad as tg
        >>> tg.roll(tg.tensor([[1, 2, 3], [4, 5, 6]]), 1), tg.roll(tg.arange(4), (1, -1), (0, 0))
        (tensor([[6, 1, 2],
                [3, 4, 5]]), tensor([0, 1, 2, 3]))
    """
    shape = shape_of(input)
    shifts = (shifts,) if _is_int(shifts) else shifts
    if not isinstance(shifts, (tuple, list)) or not shifts or not all(_is_int(s) for s in shifts):
        raise TypeError(f"roll: shifts must be an int or a non-empty tuple of ints, got {shifts}")
    if dims is None:
        if len(shifts) != 1:
            raise ShapeError(f"roll: {len(shifts)} shifts but no dims; give one dim per shift")
        return _roll(input, (int(shifts[0]),), None)
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(dims) != len(shifts):
        raise ShapeError(f"roll: shifts and dims must align: {len(shifts)} shifts and "
                         f"{len(dims)} dims")
    dims = tuple(_dim(d, shape, "roll") for d in dims)
    return _roll(input, tuple(int(s) for s in shifts), dims)


def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first dim towards
    the second (a copy).

    Example:
        >>> import tapegrad as tg
        >>> tg.rot90(tg.tensor([[1, 2], [3, 4]]))
        tensor([[2, 4],
                [1, 3]])
    """
    shape = shape_of(input)
    k = _check_int(k, "k", "rot90")
    dims = tuple(dims)
    if len(dims) != 2:
        raise ShapeError(f"rot90: expects exactly 2 rotation dims, got {list(dims)}")
    if len(shape) < 2:
        raise ShapeError(f"rot90: expects a tensor of at least 2 dims, got shape {tuple(shape)}")
    d0, d1 = (normalize_dim(d, len(shape), "rot90") for d in dims)
    if d0 == d1:
        raise ArgumentError(f"rot90: the rotation dims must differ, got {dims[0]} and {dims[1]}")
    k %= 4
    perm = list(range(len(shape)))
    perm[d0], perm[d1] = d1, d0
    if k == 1:
        return permute(flip(input, d1), tuple(perm))
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return permute(flip(input, d0), tuple(perm))
    return clone(input)


def _fresh(out, input):
    """``out``, cloned if it still shares memory with ``input``: PyTorch's repeat-like ops
    always return new memory, also when nothing is repeated."""
    if isinstance(out, Tensor) and isinstance(input, Tensor) and \
            np.may_share_memory(out._data, input._data):
        return clone(out)
    return out


def repeat(input, *sizes, repeats=None):
    """``Tensor.repeat``: tile the tensor ``sizes[i]`` times along dim i (a copy).

    ``sizes`` (ints, one sequence, or by name ``repeats=``) may have more entries than the
    tensor has dims (new leading dims), never fewer. PyTorch has no ``torch.repeat``; see
    :func:`tile` and :func:`repeat_interleave`.

    Example:
        >>> import tapegrad as tg
        >>> tg.tensor([1, 2]).repeat(2, 2)
        tensor([[1, 2, 1, 2],
                [1, 2, 1, 2]])
    """
    if repeats is not None:
        if sizes:
            raise TypeError("repeat: got repeats both as positional arguments and as a keyword")
        sizes = (repeats,)
    if len(sizes) == 1 and not _is_int(sizes[0]):
        sizes = tuple(sizes[0])
    if not all(_is_int(s) for s in sizes):
        raise TypeError(f"repeat: sizes must be ints, got {sizes}")
    shape = shape_of(input)
    if len(sizes) < len(shape):
        raise ShapeError(f"repeat: the number of repeats ({len(sizes)}) can't be smaller than "
                         f"the number of dims ({len(shape)}) of shape {tuple(shape)}")
    if any(s < 0 for s in sizes):
        raise ArgumentError(f"repeat: repeats must be non-negative, got {list(sizes)}")
    shape = (1,) * (len(sizes) - len(shape)) + tuple(shape)
    # (n0, n1) -> (1, n0, 1, n1) -> expand to (r0, n0, r1, n1) -> (r0 * n0, r1 * n1)
    x = reshape(input, tuple(v for n in shape for v in (1, n)))
    x = expand(x, tuple(v for r, n in zip(sizes, shape) for v in (r, n)))
    return _fresh(reshape(x, tuple(r * n for r, n in zip(sizes, shape))), input)


def tile(input, dims):
    """Repeat the tensor ``dims[i]`` times along dim i; missing leading entries count as 1
    (a copy; ``Tensor.tile`` also takes them as separate arguments).

    Example:
        >>> import tapegrad as tg
        >>> tg.tile(tg.tensor([[1, 2]]), (2,))
        tensor([[1, 2, 1, 2]])
    """
    dims = (dims,) if _is_int(dims) else tuple(dims)
    ndim = len(shape_of(input))
    return repeat(input, (1,) * (ndim - len(dims)) + dims)


def _repeat_counts(input, output_size):
    """``repeat_interleave(repeats)``: each index i repeated repeats[i] times (int64)."""
    data = input._data if isinstance(input, Tensor) else np.asarray(input)
    if data.ndim != 1 or data.dtype.kind not in "iu":
        raise ShapeError(f"repeat_interleave: repeats alone must be a 1-d integer tensor, got "
                         f"dtype {data.dtype} and shape {data.shape}")
    if (data < 0).any():
        raise ArgumentError("repeat_interleave: repeats can't be negative")
    if output_size is not None and output_size != int(data.sum()):
        raise ShapeError(f"repeat_interleave: output_size is {output_size}, but the repeats "
                         f"sum to {int(data.sum())}")
    from .creation import tensor
    return tensor(np.repeat(np.arange(data.size, dtype=np.int64), data))


def repeat_interleave(input=None, repeats=None, dim=None, *, output_size=None):
    """Repeat each element (or each slice along ``dim``) ``repeats`` times, in place of
    repeating the whole tensor as :func:`tile` does (a copy).

    Args:
        input: the tensor; with ``repeats`` omitted, a 1-d integer tensor of counts, and the
            result is each index ``i`` repeated ``input[i]`` times (the counts may also come
            alone by name, ``repeat_interleave(repeats=counts)``).
        repeats: an int, or a 0-d / 1-d integer tensor (one count per slice along ``dim``).
        dim: the dim to repeat along (a 0-d tensor has none, as in PyTorch); None repeats
            the flattened tensor.
        output_size: the total size along ``dim``, if known (checked).

    Example:
        >>> import tapegrad as tg
        >>> tg.repeat_interleave(tg.tensor([[1, 2], [3, 4]]), 2, dim=0)
        tensor([[1, 2],
                [1, 2],
                [3, 4],
                [3, 4]])
        >>> tg.tensor([1, 2, 3]).repeat_interleave(tg.tensor([1, 0, 2]))
        tensor([1, 3, 3])
    """
    if input is None or repeats is None:
        if input is None and repeats is None:
            raise TypeError("repeat_interleave: missing the tensor to repeat and repeats")
        return _repeat_counts(repeats if input is None else input, output_size)
    if STATE.vmap_levels:       # Note [Batched tensors]: the counts are read below
        out = batched_call("repeat_interleave", (input, repeats),
                           {"dim": dim, "output_size": output_size})
        if out is not None:
            return out
    x = input
    if dim is None:
        x = reshape(input, (-1,))
        dim = 0
    shape = shape_of(x)
    d = normalize_dim(dim, len(shape), "repeat_interleave")
    if not shape:
        raise IndexRangeError(f"repeat_interleave: a 0-d tensor has no dim {dim} to repeat "
                              "along (as in PyTorch); use dim=None, or reshape it to 1-d")
    n = shape[d]
    if isinstance(repeats, (Tensor, np.ndarray)):
        counts = repeats._data if isinstance(repeats, Tensor) else repeats
        if counts.dtype.kind not in "iu":
            raise DTypeError(f"repeat_interleave: repeats must be an integer tensor, got dtype "
                             f"{counts.dtype}")
        if counts.ndim > 1:
            raise ShapeError(f"repeat_interleave: repeats must be a 0-d or 1-d tensor, got "
                             f"shape {counts.shape}")
        if counts.size == 1:
            repeats = int(counts.reshape(()))
        else:
            if counts.size != n:
                raise ShapeError(f"repeat_interleave: repeats has {counts.size} counts but dim "
                                 f"{d} of the input (shape {tuple(shape)}) has size {n}")
            if (counts < 0).any():
                raise ArgumentError("repeat_interleave: repeats can't be negative")
            total = int(counts.sum())
            if output_size is not None and output_size != total:
                raise ShapeError(f"repeat_interleave: output_size is {output_size}, but the "
                                 f"repeats sum to {total}")
            index = np.repeat(np.arange(n), counts)
            return getitem(x, (slice(None),) * d + (index,))
    repeats = _check_int(repeats, "repeats", "repeat_interleave")
    if repeats < 0:
        raise ArgumentError(f"repeat_interleave: repeats must be non-negative, got {repeats}")
    if output_size is not None and output_size != n * repeats:
        raise ShapeError(f"repeat_interleave: output_size is {output_size}, but the result "
                         f"has size {n * repeats} along dim {d}")
    # (.., n, ..) -> (.., n, 1, ..) -> expand to (.., n, r, ..) -> (.., n * r, ..)
    wide = expand(reshape(x, shape[:d + 1] + (1,) + shape[d + 1:]),
                  shape[:d + 1] + (repeats,) + shape[d + 1:])
    return _fresh(reshape(wide, shape[:d] + (n * repeats,) + shape[d + 1:]), input)


def _varargs(fn):
    """A method taking its dims as one sequence, as separate ints, or by name (``dims=``)."""
    def method(self, *args, dims=None):
        if dims is not None:
            if args:
                raise TypeError(f"{fn.__name__}: got dims both as positional arguments and as "
                                "a keyword")
            return fn(self, dims)
        return fn(self, args[0] if len(args) == 1 and not _is_int(args[0]) else args)
    method.__name__, method.__doc__ = fn.__name__, fn.__doc__
    return method


def _split_method(self, split_size, dim=0):
    """``x.split(split_size, dim)``: :func:`split` (the method names its argument as PyTorch's
    does)."""
    return split(self, split_size, dim)


def _as_strided_method(self, size, stride, storage_offset=None):
    """``x.as_strided(size, stride, storage_offset)``: :func:`as_strided` (None offset: 0)."""
    return as_strided(self, size, stride, 0 if storage_offset is None else storage_offset)


METHODS = {
    "split": _split_method, "split_with_sizes": split_with_sizes, "broadcast_to": broadcast_to,
    "tensor_split": tensor_split, "chunk": chunk, "unbind": unbind,
    "narrow": narrow, "movedim": movedim, "moveaxis": movedim, "unflatten": unflatten,
    "flip": _varargs(flip), "fliplr": fliplr, "flipud": flipud, "roll": roll, "rot90": rot90,
    "repeat": repeat, "tile": _varargs(tile), "repeat_interleave": repeat_interleave,
    "unfold": unfold,
    "as_strided": _as_strided_method,
}
