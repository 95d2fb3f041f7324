"""Helpers shared by the solve and decomposition rules: checks at the public boundary, and
small matrix pieces (transpose, triangles, identities, diagonals) that run on plain arrays in
the fast path and record on Tensors under create_graph=True (Note [One rule, two paths])."""
import warnings

import numpy as np

from ..._core.errors import DTypeError, LinAlgError, ShapeError  # noqa: F401 (re-exported)
from ..._core.tensor import Tensor, shape_of
from .. import reduction, shape
from .products import matmul

_ndarray = np.ndarray


def dtype_of(x):
    return x._data.dtype if isinstance(x, Tensor) else np.asarray(x).dtype


def check_float(name, *xs, half=False):
    """Raise DTypeError unless every operand is floating (float16 only when ``half``: LAPACK
    has no half precision) and all share one dtype."""
    dts = [dtype_of(x) for x in xs]
    for d in dts:
        if d.kind != "f":
            raise DTypeError(f"{name}: expected a floating point tensor, got dtype {d}; convert "
                             "with .double() or .float() first")
        if d == np.float16 and not half:
            raise DTypeError(f"{name}: float16 is not supported (LAPACK has no half precision; "
                             "PyTorch's CPU kernels don't take it either); convert with .float() "
                             "first")
    if len(set(dts)) > 1:
        listed = " and ".join(str(d) for d in dts)
        raise DTypeError(f"{name}: the operands must have the same dtype, got {listed}; "
                         "convert one of them with .to(other.dtype)")


def check_matrix(name, A, square=True, arg="A"):
    """Raise ShapeError unless A is a (batch of) matrix (square ones when ``square``)."""
    s = tuple(shape_of(A))
    if len(s) < 2:
        raise ShapeError(f"{name}: {arg} must have at least 2 dims (a batch of matrices), "
                         f"got shape {s}")
    if square and s[-1] != s[-2]:
        raise ShapeError(f"{name}: {arg} must be batches of square matrices, but got shape {s} "
                         f"({s[-2]} by {s[-1]} matrices)")
    return s


def batch_shape(name, sa, sb):
    """The broadcast batch shape of two operand shapes (matrices in the last two dims)."""
    try:
        return np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        raise ShapeError(f"{name}: the batch dims {sa[:-2]} and {sb[:-2]} of shapes {sa} and "
                         f"{sb} don't broadcast") from None


def mm(a, b):
    if type(a) is _ndarray and type(b) is _ndarray:
        return np.matmul(a, b)
    return matmul(a, b)


def mT(x):
    if type(x) is _ndarray:
        return np.swapaxes(x, -1, -2)
    return shape.mT(x)


def unsqueeze(x, dim):
    if type(x) is _ndarray:
        return np.expand_dims(x, dim)
    return shape.unsqueeze(x, dim)


def tri(x, lower, k=0):
    """x's lower (upper) triangle from diagonal k on; zeros elsewhere."""
    m, n = shape_of(x)[-2:]
    mask = (np.tril if lower else np.triu)(np.ones((m, n), dtype=dtype_of(x)), k)
    return x * mask


def eye_like(x, n=None):
    """The n x n identity in x's dtype (n: x's last dim)."""
    return np.eye(shape_of(x)[-1] if n is None else n, dtype=dtype_of(x))


def diag(x):
    """The main diagonals of a batch of square matrices, shape (..., n)."""
    if type(x) is _ndarray:
        return np.diagonal(x, axis1=-2, axis2=-1)
    return reduction.sum(x * eye_like(x), -1)


def diag_embed(v):
    """Square matrices with v (..., n) on their diagonals."""
    return unsqueeze(v, -1) * eye_like(v)


def trace(x):
    if type(x) is _ndarray:
        return np.trace(x, axis1=-2, axis2=-1)
    return reduction.sum(diag(x), -1)


def sym(x):
    """The symmetric part (x + x^T) / 2."""
    return (x + mT(x)) * 0.5


def batch_items(a):
    """(index, matrix) over the flattened batch of a (..., m, n) array."""
    flat = a.reshape((-1,) + a.shape[-2:])
    return enumerate(flat)


def batch_prefix(a, b):
    """'(Batch element b): ' as torch.linalg writes it for batched input, else ''."""
    return f"(Batch element {b}): " if np.ndim(a) > 2 else ""


def np_svd(name, a, **kwargs):
    """np.linalg.svd(a, **kwargs), raising tapegrad's LinAlgError naming ``name`` where LAPACK
    fails (non-finite entries), as torch.linalg does, instead of NumPy's bare error."""
    try:
        return np.linalg.svd(a, **kwargs)
    except np.linalg.LinAlgError:
        why = ("the input matrix contained non-finite values" if not np.isfinite(a).all()
               else "of an ill-conditioned input")
        raise LinAlgError(f"{name}: The algorithm failed to converge because {why}; check the "
                          "input for nan and inf.") from None


_WARNED = set()


def warn_once(key, message):
    """A UserWarning the first time ``key`` comes up in this process."""
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)
