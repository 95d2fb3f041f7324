"""Combining tensors (part of the rearrange family, exported from rearrange.py):
broadcast_shapes, broadcast_tensors, atleast_1d/2d/3d, hstack/vstack/row_stack/dstack/
column_stack, meshgrid, cartesian_prod and combinations. All are composites of reshape, expand,
cat, stack and getitem, so their gradients come from those ops' rules (broadcast_shapes only
computes a shape).
"""
import itertools

import numpy as np

from .._core.errors import ArgumentError, DTypeError, ShapeError
from .._core.tensor import Size, Tensor, shape_of
from .indexing import getitem
from .shape import cat, expand, reshape, stack


def _dtype_of(x):
    return x._data.dtype if isinstance(x, Tensor) else np.asarray(x).dtype


def _tensors(args, name, allow_empty=True):
    """f(a, b) or f([a, b]) -> [a, b]."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = tuple(args[0])
    if not args and not allow_empty:
        raise ArgumentError(f"{name}: expects a non-empty list of tensors")
    for a in args:
        if not isinstance(a, (Tensor, np.ndarray)):
            raise TypeError(f"{name}: expects tensors, got {type(a).__name__}")
    return list(args)


def broadcast_shapes(*shapes):
    """The shape that tensors of the given shapes broadcast to, without making any tensor.

    Args:
        *shapes: shapes, each a sequence of ints (a tuple, list or Size) or one int (a 1-d
            shape).

    Returns:
        A ``tapegrad.Size`` (``Size([])`` when no shapes are given).

    Raises:
        ArgumentError: a size is negative.
        ShapeError: the shapes can't broadcast (aligned from the last dim, each pair of
            sizes must be equal or one of them 1).

    Example:
        >>> import tapegrad as tg
        >>> tg.broadcast_shapes((3, 1), (4,)), tg.broadcast_shapes((2, 1), 5)
        (tapegrad.Size([3, 4]), tapegrad.Size([2, 5]))
    """
    tuples = []
    for s in shapes:
        s = (s,) if isinstance(s, (int, np.integer)) and not isinstance(s, bool) else s
        if not isinstance(s, (tuple, list)) or not all(
                isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in s):
            raise TypeError(f"broadcast_shapes: each shape must be an int or a sequence of "
                            f"ints, got {s!r}")
        if any(n < 0 for n in s):
            raise ArgumentError(f"broadcast_shapes: sizes can't be negative, got {tuple(s)}")
        tuples.append(tuple(int(n) for n in s))
    try:
        return Size(np.broadcast_shapes(*tuples))
    except ValueError:
        raise ShapeError(f"broadcast_shapes: shapes {', '.join(str(s) for s in tuples)} "
                         "can't be broadcast together: aligned from the last dim, each pair "
                         "of sizes must be equal or one of them 1") from None


def broadcast_tensors(*tensors):
    """The tensors expanded to their common broadcast shape (views).

    Example:
        >>> import tapegrad as tg
        >>> a, b = tg.broadcast_tensors(tg.zeros(3, 1), tg.zeros(2))
        >>> a.shape, b.shape
        (tapegrad.Size([3, 2]), tapegrad.Size([3, 2]))
    """
    tensors = _tensors(tensors, "broadcast_tensors")
    if len(tensors) == 1:
        return (tensors[0],)            # as PyTorch: the tensor itself
    shapes = [shape_of(t) for t in tensors]
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ShapeError(f"broadcast_tensors: shapes {', '.join(str(tuple(s)) for s in shapes)}"
                         " can't be broadcast together: aligned from the last dim, each pair "
                         "of sizes must be equal or one of them 1") from None
    return tuple(expand(t, shape) for t in tensors)


def _atleast(args, ndim, grow):
    tensors = _tensors(args, f"atleast_{ndim}d")
    out = tuple(t if len(shape_of(t)) >= ndim else reshape(t, grow(shape_of(t)))
                for t in tensors)
    if len(args) == 1 and not isinstance(args[0], (list, tuple)):
        return out[0]
    return out


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (a 0-d tensor becomes shape (1,)); others unchanged.

    One tensor gives a tensor; several (or a list) give a tuple.

    Example:
        >>> import tapegrad as tg
        >>> tg.atleast_1d(tg.tensor(1.0)), tg.atleast_1d(tg.zeros(2), tg.tensor(3))[1]
        (tensor([1.]), tensor([3]))
    """
    return _atleast(tensors, 1, lambda s: (1,))


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims: () -> (1, 1), (n,) -> (1, n).

    Example:
        >>> import tapegrad as tg
        >>> tg.atleast_2d(tg.zeros(3)).shape
        tapegrad.Size([1, 3])
    """
    return _atleast(tensors, 2, lambda s: (1,) + tuple(s) if s else (1, 1))


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims: () -> (1, 1, 1), (n,) -> (1, n, 1),
    (m, n) -> (m, n, 1).

    Example:
        >>> import tapegrad as tg
        >>> tg.atleast_3d(tg.zeros(3)).shape, tg.atleast_3d(tg.zeros(2, 3)).shape
        (tapegrad.Size([1, 3, 1]), tapegrad.Size([2, 3, 1]))
    """
    def grow(s):
        return {0: (1, 1, 1), 1: (1,) + tuple(s) + (1,), 2: tuple(s) + (1,)}[len(s)]
    return _atleast(tensors, 3, grow)


def hstack(tensors):
    """Join along dim 1, or dim 0 for 1-d tensors (0-d ones count as 1-d).

    Example:
        >>> import tapegrad as tg
        >>> tg.hstack([tg.tensor([1, 2]), tg.tensor(3)])
        tensor([1, 2, 3])
    """
    ts = atleast_1d(_tensors((tensors,), "hstack", allow_empty=False))
    return cat(list(ts), 0 if len(shape_of(ts[0])) == 1 else 1)


def vstack(tensors):
    """Join along dim 0 after making each tensor at least 2-d (``row_stack`` is an alias).

    Example:
        >>> import tapegrad as tg
        >>> tg.vstack([tg.tensor([1, 2]), tg.tensor([3, 4])])
        tensor([[1, 2],
                [3, 4]])
    """
    return cat(list(atleast_2d(_tensors((tensors,), "vstack", allow_empty=False))), 0)


row_stack = vstack


def dstack(tensors):
    """Join along dim 2 (depth) after making each tensor at least 3-d.

    Example:
        >>> import tapegrad as tg
        >>> tg.dstack([tg.zeros(3), tg.ones(3)]).shape
        tapegrad.Size([1, 3, 2])
    """
    return cat(list(atleast_3d(_tensors((tensors,), "dstack", allow_empty=False))), 2)


def column_stack(tensors):
    """Join as columns: 0-d and 1-d tensors become (n, 1) columns, then all join along dim 1.

    Example:
        >>> import tapegrad as tg
        >>> tg.column_stack([tg.tensor([1, 2]), tg.tensor([[3], [4]])])
        tensor([[1, 3],
                [2, 4]])
    """
    ts = _tensors((tensors,), "column_stack", allow_empty=False)
    return cat([reshape(t, (-1, 1)) if len(shape_of(t)) <= 1 else t for t in ts], 1)


def _check_same_dtype(tensors, name):
    kinds = {_dtype_of(t) for t in tensors}
    if len(kinds) > 1:
        raise DTypeError(f"{name}: all tensors must have the same dtype, got "
                         f"{sorted(str(k) for k in kinds)}; convert them with .to(dtype)")


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-d tensors: result i holds tensor i's values along dim i.

    Args:
        *tensors: 0-d or 1-d tensors of one dtype (or a single list of them).
        indexing: ``"ij"`` (matrix indexing, PyTorch's default) or ``"xy"`` (Cartesian:
            the first two dims swap, as in NumPy's default).

    Returns:
        A tuple of expanded views, each of shape ``(len(t0), len(t1), ...)`` for "ij".

    Example:
        >>> import tapegrad as tg
        >>> gx, gy = tg.meshgrid(tg.tensor([1, 2]), tg.tensor([3, 4, 5]), indexing="xy")
        >>> gx
        tensor([[1, 2],
                [1, 2],
                [1, 2]])
    """
    tensors = _tensors(tensors, "meshgrid", allow_empty=False)
    if indexing not in ("ij", "xy"):
        raise ArgumentError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for i, t in enumerate(tensors):
        if len(shape_of(t)) > 1:
            raise ShapeError(f"meshgrid: expects 0-d or 1-d tensors, but tensor {i} has shape "
                             f"{tuple(shape_of(t))}")
    _check_same_dtype(tensors, "meshgrid")
    sizes = [int(np.prod(shape_of(t))) for t in tensors]
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        axes[0], axes[1] = 1, 0         # tensor 0 varies along dim 1, tensor 1 along dim 0
    shape = [0] * len(tensors)
    for a, n in zip(axes, sizes):
        shape[a] = n
    out = []
    for t, a, n in zip(tensors, axes, sizes):
        along = tuple(n if k == a else 1 for k in range(len(tensors)))
        out.append(expand(reshape(t, along), tuple(shape)))
    return tuple(out)


def cartesian_prod(*tensors):
    """Every combination of one element from each 1-d tensor, as rows (itertools.product).

    Example:
        >>> import tapegrad as tg
        >>> tg.cartesian_prod(tg.tensor([1, 2]), tg.tensor([3, 4]))
        tensor([[1, 3],
                [1, 4],
                [2, 3],
                [2, 4]])
    """
    tensors = _tensors(tensors, "cartesian_prod", allow_empty=False)
    for i, t in enumerate(tensors):
        if len(shape_of(t)) != 1:
            raise ShapeError(f"cartesian_prod: expects 1-d tensors, but tensor {i} has shape "
                             f"{tuple(shape_of(t))}")
    if len(tensors) == 1:
        return tensors[0]               # as PyTorch: the tensor itself
    _check_same_dtype(tensors, "cartesian_prod")
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], 1)


def combinations(input, r=2, with_replacement=False):
    """All length-``r`` combinations of a 1-d tensor's elements, as rows (in the order of
    itertools.combinations, or combinations_with_replacement).

    Example:
        >>> import tapegrad as tg
        >>> tg.combinations(tg.tensor([1, 2, 3]))
        tensor([[1, 2],
                [1, 3],
                [2, 3]])
    """
    shape = shape_of(input)
    if len(shape) != 1:
        raise ShapeError(f"combinations: expects a 1-d tensor, got shape {tuple(shape)}")
    if not isinstance(r, (int, np.integer)) or isinstance(r, bool) or r < 0:
        raise ArgumentError(f"combinations: r must be a non-negative int, got {r!r}")
    if r == 0:
        return getitem(input, np.zeros(0, dtype=np.int64))
    if r == 2:      # the common case, without a Python tuple per pair (10x faster)
        index = np.stack(np.triu_indices(shape[0], 0 if with_replacement else 1), 1)
    else:
        pick = itertools.combinations_with_replacement if with_replacement else \
            itertools.combinations
        index = np.array(list(pick(range(shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return getitem(input, index)
