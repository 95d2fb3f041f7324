"""Triangles and diagonals: tril/triu (and their indices), diagonal, diag, diag_embed,
diagflat, trace.

diagonal is a strided view (Note [Strided views] in strided.py); diag_embed gathers its
input (and zeros) into matrices; tril/triu are a ``where`` with a constant mask.
"""
import numpy as np

from .._core import dtypes
from .._core.errors import ArgumentError, DTypeError, ShapeError
from .._core.tensor import Tensor, shape_of
from . import elementwise as ew
from .creation import tensor
from .indexing import getitem, setitem
from .rearrange import movedim
from .reduction import sum as _sum
from .shape import cat, clone, flatten, normalize_dim
from .strided import strided

__all__ = ["tril", "triu", "tril_indices", "triu_indices", "diagonal", "diag", "diag_embed",
           "diagflat", "trace"]


def _dtype_of(x):
    return x._data.dtype if isinstance(x, Tensor) else np.asarray(x).dtype


def _triangle(input, diagonal, name, lower):
    shape = shape_of(input)
    if len(shape) < 2:
        raise ShapeError(f"{name}: the input must have at least 2 dims, got shape "
                         f"{tuple(shape)}")
    if not isinstance(diagonal, (int, np.integer)) or isinstance(diagonal, bool):
        raise TypeError(f"{name}: diagonal must be an int, got {diagonal!r}")
    n, m = shape[-2:]
    keep = np.tri(n, m, diagonal, dtype=bool)      # on and below the diagonal
    if not lower:
        keep = ~np.tri(n, m, diagonal - 1, dtype=bool)
    # NOTE: where, not a product with the mask: inf * 0 would give nan outside the triangle.
    return ew.where(keep, input, np.zeros((), dtype=_dtype_of(input)))


def tril(input, diagonal=0):
    """The lower triangle of the last two dims: elements above ``diagonal`` become 0.

    Args:
        input: a tensor of at least 2 dims (a batch of matrices).
        diagonal: 0 keeps the main diagonal, > 0 also the diagonals above it, < 0 fewer.

    Example:
        >>> import tapegrad as tg
        >>> tg.tril(tg.ones(3, 3, dtype=tg.int64), -1)
        tensor([[0, 0, 0],
                [1, 0, 0],
                [1, 1, 0]])
    """
    return _triangle(input, diagonal, "tril", lower=True)


def triu(input, diagonal=0):
    """The upper triangle of the last two dims: elements below ``diagonal`` become 0.

    Example:
        >>> import tapegrad as tg
        >>> tg.triu(tg.ones(2, 3), 1)
        tensor([[0., 1., 1.],
                [0., 0., 1.]])
    """
    return _triangle(input, diagonal, "triu", lower=False)


def _tri_indices(row, col, offset, dtype, name, np_fn):
    for what, v in (("row", row), ("col", col), ("offset", offset)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
            raise TypeError(f"{name}: {what} must be an int, got {v!r}")
    if row < 0 or col < 0:
        raise ArgumentError(f"{name}: row and col must be non-negative, got {row} and {col}")
    dt = dtypes.to_numpy_dtype(dtype)
    if dt.kind not in "iu" or dt.itemsize < 4:
        raise DTypeError(f"{name}: dtype must be int32 or int64, got {dtype}")
    return tensor(np.stack(np_fn(row, offset, col)).astype(dt))


def tril_indices(row, col, offset=0, *, dtype=dtypes.int64):
    """The (row, column) indices of the lower triangle of a ``row`` x ``col`` matrix.

    Args:
        row, col: the matrix's size.
        offset: which diagonal bounds the triangle (as in :func:`tril`).
        dtype: int64 (default) or int32.

    Returns:
        A 2 x N integer tensor: row indices, then column indices, in row-major order.

    Example:
        >>> import tapegrad as tg
        >>> tg.tril_indices(3, 2)
        tensor([[0, 1, 1, 2, 2],
                [0, 0, 1, 0, 1]])
    """
    return _tri_indices(row, col, offset, dtype, "tril_indices", np.tril_indices)


def triu_indices(row, col, offset=0, *, dtype=dtypes.int64):
    """The (row, column) indices of the upper triangle of a ``row`` x ``col`` matrix.

    Example:
        >>> import tapegrad as tg
        >>> tg.triu_indices(2, 3, 1)
        tensor([[0, 0, 1],
                [1, 2, 2]])
    """
    return _tri_indices(row, col, offset, dtype, "triu_indices", np.triu_indices)


def _two_dims(dim1, dim2, ndim, name):
    d1, d2 = normalize_dim(dim1, ndim, name), normalize_dim(dim2, ndim, name)
    if d1 == d2:
        raise ArgumentError(f"{name}: the two diagonal dims must differ, got {dim1} and {dim2}")
    return d1, d2


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of the matrices spanned by ``dim1`` and ``dim2``, as a view.

    The two dims are removed and the diagonal becomes the last dim. Writes to the result
    reach ``input`` (``x.diagonal().fill_(1)`` sets a matrix's diagonal), as in PyTorch.

    Args:
        input: a tensor of at least 2 dims.
        offset: 0 the main diagonal, > 0 above it, < 0 below it (empty when out of range).
        dim1, dim2: the two (different) dims holding the matrices.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.arange(6.0).reshape(2, 3)
        >>> tg.diagonal(x), tg.diagonal(x, 1), tg.diagonal(x, -1)
        (tensor([0., 4.]), tensor([1., 5.]), tensor([3.]))
    """
    shape = shape_of(input)
    d1, d2 = _two_dims(dim1, dim2, len(shape), "diagonal")
    if not isinstance(offset, (int, np.integer)) or isinstance(offset, bool):
        raise TypeError(f"diagonal: offset must be an int, got {offset!r}")
    r0, c0 = max(-offset, 0), max(offset, 0)
    length = max(0, min(shape[d1] - r0, shape[d2] - c0))
    ndim = len(shape)
    rest = [k for k in range(ndim) if k not in (d1, d2)]
    coeffs = [tuple(int(k == j) for k in range(ndim)) for j in rest]
    coeffs.append(tuple(int(k in (d1, d2)) for k in range(ndim)))
    origin = tuple(r0 if k == d1 else c0 if k == d2 else 0 for k in range(ndim))
    size = tuple(shape[j] for j in rest) + (length,)
    return strided(input, size, coeffs, origin, shape)


_diagonal = diagonal   # for diag, whose argument is named diagonal as in PyTorch


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Matrices whose ``offset`` diagonal holds the last dim of ``input``, zeros elsewhere.

    The result has one more dim than ``input``: ``dim1`` and ``dim2`` (of the result) are
    the matrices' dims, of size ``n + |offset|`` for a last dim of size ``n``; the other
    dims of ``input`` keep their order. The adjoint of :func:`diagonal`.

    Example:
        >>> import tapegrad as tg
        >>> tg.diag_embed(tg.tensor([[1, 2], [3, 4]]))
        tensor([[[1, 0],
                 [0, 2]],
        <BLANKLINE>
                [[3, 0],
                 [0, 4]]])
    """
    shape = shape_of(input)
    if len(shape) == 0:
        raise ShapeError("diag_embed: the input must have at least 1 dim, got a 0-d tensor")
    d1, d2 = _two_dims(dim1, dim2, len(shape) + 1, "diag_embed")
    if not isinstance(offset, (int, np.integer)) or isinstance(offset, bool):
        raise TypeError(f"diag_embed: offset must be an int, got {offset!r}")
    n = shape[-1]
    m = n + abs(offset)
    # Each matrix element reads the input's element on the diagonal or a zero appended after
    # the last: one gather, whose gradient adds back into the diagonal (index_add).
    padded = cat([input, np.zeros(shape[:-1] + (1,), dtype=_dtype_of(input))], -1)
    index = np.full((m, m), n)
    i = np.arange(n)
    index[i + max(-offset, 0), i + max(offset, 0)] = i
    return movedim(getitem(padded, (Ellipsis, index)), (-2, -1), (d1, d2))


def diag(input, diagonal=0):
    """A 1-d tensor's matrix with it on a diagonal, or a 2-d tensor's diagonal (a copy).

    Args:
        input: 1-d (build a square matrix) or 2-d (read a diagonal).
        diagonal: which diagonal: 0 the main one, > 0 above, < 0 below.

    Example:
        >>> import tapegrad as tg
        >>> tg.diag(tg.tensor([1, 2]), 1)
        tensor([[0, 1, 0],
                [0, 0, 2],
                [0, 0, 0]])
        >>> tg.diag(tg.arange(4).reshape(2, 2))
        tensor([0, 3])
    """
    ndim = len(shape_of(input))
    if ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if ndim == 2:
        return clone(_diagonal(input, diagonal))   # PyTorch's diag copies
    raise ShapeError(f"diag: supports 1-d or 2-d tensors, got {ndim}-d; use diagonal or "
                     "diag_embed for batches")


def diagflat(input, offset=0):
    """A matrix with ``input``, flattened, on its ``offset`` diagonal.

    Example:
        >>> import tapegrad as tg
        >>> tg.diagflat(tg.tensor([[1, 2]]))
        tensor([[1, 0],
                [0, 2]])
    """
    return diag_embed(flatten(input), offset, 0, 1)


def trace(input):
    """The sum of a matrix's main diagonal (integer matrices give int64, as sum does).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        >>> tg.trace(x).backward(); x.grad
        tensor([[1., 0.],
                [0., 1.]])
    """
    shape = shape_of(input)
    if len(shape) != 2:
        raise ShapeError(f"trace: expects a matrix (2-d), got a tensor of shape {tuple(shape)}")
    if _dtype_of(input) == np.bool_:
        raise DTypeError("trace: not defined for bool tensors; convert with .long() first")
    return _sum(diagonal(input))


def _in_place(fn, name):
    def method(self, diagonal=0):
        setitem(self, Ellipsis, fn(self, diagonal), name)
        return self
    method.__name__ = name
    method.__doc__ = f"In-place :func:`{fn.__name__}`; returns the tensor itself."
    return method


METHODS = {"tril": tril, "triu": triu, "tril_": _in_place(tril, "tril_"),
           "triu_": _in_place(triu, "triu_"), "diagonal": diagonal, "diag": diag,
           "diag_embed": diag_embed, "diagflat": diagflat, "trace": trace}
