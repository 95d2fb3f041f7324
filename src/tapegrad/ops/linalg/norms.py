"""Vector and matrix norms: linalg.vector_norm, linalg.matrix_norm, linalg.norm, tapegrad.norm
(Tensor.norm), and what is built on them and on singular values: linalg.cond,
linalg.matrix_rank, linalg.pinv.

One primitive, ``vector_norm`` for finite orders, written for stability: it scales by the
largest magnitude before raising to the power, so entries near float32's limits neither
overflow nor underflow (PyTorch's vector_norm gives inf for [1e30, 1e30] in float32; this
gives 1.4142e+30), and its gradient at a zero norm is 0 (PyTorch's subgradient). The inf
orders, the matrix norms and the rest are composites of existing primitives.
"""
import numpy as np

from ..._core.dtypes import to_numpy_dtype
from ..._core.errors import ArgumentError, DTypeError, ShapeError
from ..._core.state import STATE
from ..._core.tensor import array_of, wrap
from ..elementwise import abs, sign, where
from ..reduction import _reduce_params, _unreduce, _weights_jvp, amax, amin, sum
from ..registry import OpDef, apply_unary, batched_call, register
from ..shape import normalize_dim, permute, unsqueeze
from ._common import np_svd

_INF = float("inf")


# ---- the vector norm primitive (finite, nonzero orders) ---------------------------------------
def _vector_norm_forward(x, ord, axes, keepdim, kshape, **_):
    out_dtype = x.dtype
    a = np.abs(x.astype(np.float32) if x.dtype == np.float16 else x)   # float16 sums in float32
    if a.size == 0:
        out = np.zeros(kshape, dtype=a.dtype)
    else:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # NOTE: scaled by the largest magnitude: |x / scale| <= 1, so |x|**ord can't
            # overflow (or underflow to a zero norm) for entries near the dtype's limits.
            scale = np.max(a, axis=axes, keepdims=True)
            scale = np.where((scale == 0) | ~np.isfinite(scale), 1, scale)
            r = a / scale
            s = np.sum(r * r if ord == 2 else r ** ord, axis=axes, keepdims=True)
            out = (np.sqrt(s) if ord == 2 else s ** (1.0 / ord)) * scale
    if not keepdim:
        out = out.reshape(tuple(n for i, n in enumerate(kshape) if i not in axes))
    return out.astype(out_dtype, copy=False)


def vector_norm_vjp(ctx, g):
    """d ||x||_p = g * sign(x) * (|x| / norm)**(p - 1) (x / norm for p = 2), 0 where the norm
    is 0; where |x| = 0 with p < 2 the term is 0 (the subgradient PyTorch takes)."""
    x, p = ctx.x, ctx.ord
    n, g = _unreduce(ctx, ctx.out), _unreduce(ctx, g)
    zero = n == 0
    # NOTE: "double where": the masked branch divides by 1, not 0, so no nan appears in it
    # at any order of differentiation.
    n_safe = where(zero, 1.0, n)
    if p == 2:
        w = x / n_safe
    elif p == 1:
        w = sign(x)
    else:
        at_zero = x == 0
        r = where(at_zero, 1.0, abs(x)) / n_safe
        w = where(at_zero, 0.0, sign(x) * r ** (p - 1))
    return (where(zero, 0.0, g * w),)


VECTOR_NORM = register(OpDef("vector_norm", _vector_norm_forward, vector_norm_vjp,
                             _weights_jvp(vector_norm_vjp), save=("x", "out")))


def _check_float(x, name, dtype=None):
    """Refuse integer input, and a ``dtype=`` that would narrow it (as PyTorch does)."""
    dt = array_of(x).dtype
    if dt.kind not in "fc":
        raise DTypeError(f"{name}: expected a floating point tensor as input, got dtype {dt}; "
                         "convert with .float() first.")
    want = None if dtype is None else to_numpy_dtype(dtype)
    if want is not None and np.promote_types(dt, want) != want:
        raise DTypeError(f"{name}: dtype={want} would narrow the input's {dt}; "
                         "pass a dtype at least as wide, or convert the input first.")
    return x if dtype is None else x.to(dtype)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The vector ``ord``-norm of ``x`` over ``dim`` (all elements when None).

    Args:
        x: a floating tensor.
        ord: any real number, ``inf`` (largest magnitude) or ``-inf`` (smallest); 0 counts
            the nonzero elements (gradient 0).
        dim: an int, a tuple of ints, or None (flatten).
        keepdim: keep the reduced dims with size 1.
        dtype: convert ``x`` to this dtype first.

    Returns:
        The norms. Large and tiny entries don't overflow or underflow (the sum is scaled by
        the largest magnitude); the gradient at a zero norm is 0, as in PyTorch.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([3.0, -4.0], requires_grad=True)
        >>> tg.linalg.vector_norm(x).backward(); x.grad
        tensor([ 0.6000, -0.8000])
    """
    x = _check_float(x, "linalg.vector_norm", dtype)
    try:
        if isinstance(ord, (str, bool)) or ord is None:
            raise TypeError
        ord = float(ord)
    except (TypeError, ValueError):
        raise TypeError(f"linalg.vector_norm: ord must be a number, got {ord!r}; use "
                           "linalg.matrix_norm for 'fro' and 'nuc'.") from None
    params = _reduce_params(x, dim, keepdim, "linalg.vector_norm")
    if (ord < 0 or ord == _INF) and any(params["in_shape"][a] == 0 for a in params["axes"]):
        raise ShapeError(f"linalg.vector_norm: can't take the {ord} norm of a tensor of shape "
                         f"{array_of(x).shape} over an empty dim: the operation has no identity.")
    if ord in (_INF, -_INF):
        return (amax if ord > 0 else amin)(abs(x), dim, keepdim)
    if ord == 0:
        # NOTE: the count has gradient 0 everywhere; x * 0 keeps the result in the graph, as
        # PyTorch's does (a caller's backward then reaches x with zeros).
        if STATE.vmap_levels:   # Note [Batched tensors]: the count by ops, not by a read
            return sum(x * 0.0, dim, keepdim) + sum((x.detach() != 0).to(x.dtype), dim, keepdim)
        count = sum(array_of(x) != 0, dim, keepdim).astype(array_of(x).dtype)
        return sum(x * 0.0, dim, keepdim) + wrap(count)
    params["ord"] = ord
    return apply_unary(VECTOR_NORM, x, params)


# ---- matrix norms -------------------------------------------------------------------------------
_MATRIX_ORDS = ("fro", "nuc", _INF, -_INF, 1, -1, 2, -2)


def _matrix_dims(x, dim, name):
    shape = array_of(x).shape
    if len(shape) < 2:
        raise ShapeError(f"{name}: the input must have at least 2 dims, got shape {shape}.")
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise ArgumentError(f"{name}: dim must be a pair of dims, got {dim!r}")
    d0, d1 = (normalize_dim(d, len(shape), name) for d in dim)
    if d0 == d1:
        raise ArgumentError(f"{name}: dim must name two different dims, got {dim!r}")
    return d0, d1


def _to_last_two(x, d0, d1):
    """x with dims d0, d1 moved to the end, in that order."""
    ndim = array_of(x).ndim
    rest = [i for i in range(ndim) if i not in (d0, d1)]
    return permute(x, tuple(rest + [d0, d1]))


def _restore_keepdim(out, d0, d1):
    for d in sorted((d0, d1)):
        out = unsqueeze(out, d)
    return out


def _singular_values(x):
    from .decomp import svdvals     # decompositions sit beside the norms in this package
    return svdvals(x)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """A matrix norm of ``A`` over the two dims ``dim`` (batched over the others).

    Args:
        A: a floating tensor with at least 2 dims.
        ord: 'fro' (default), 'nuc' (sum of singular values), 2 / -2 (largest / smallest
            singular value), 1 / -1 (largest / smallest column sum of magnitudes), inf / -inf
            (largest / smallest row sum of magnitudes).
        dim: the two dims holding the matrices.
        keepdim: keep both reduced dims with size 1.
        dtype: convert ``A`` to this dtype first.

    Example:
        >>> import tapegrad as tg
        >>> A = tg.tensor([[1.0, -2.0], [3.0, 4.0]])
        >>> tg.linalg.matrix_norm(A, 1), tg.linalg.matrix_norm(A, float('inf'))
        (tensor(6.), tensor(7.))
    """
    A = _check_float(A, "linalg.matrix_norm", dtype)
    if ord not in _MATRIX_ORDS or isinstance(ord, bool):
        raise ArgumentError(f"linalg.matrix_norm: order {ord!r} is not supported; use one of "
                            "'fro', 'nuc', inf, -inf, 1, -1, 2, -2.")
    d0, d1 = _matrix_dims(A, dim, "linalg.matrix_norm")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    shape = array_of(A).shape
    if (shape[d0] == 0 or shape[d1] == 0) and ord in ("nuc", 2, 1, _INF):
        # NOTE: an empty matrix has norm 0 in these orders, as in PyTorch (the sum of no
        # magnitudes, kept in the graph); the negative orders have no identity and raise below.
        return sum(abs(A), (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        s = _singular_values(_to_last_two(A, d0, d1))
        out = sum(s, -1) if ord == "nuc" else (amax if ord == 2 else amin)(s, -1)
        return _restore_keepdim(out, d0, d1) if keepdim else out
    # 1: the largest column sum (sum over rows, then max over columns); inf: rows and columns
    # swap roles.
    across, over = (d0, d1) if ord in (1, -1) else (d1, d0)
    sums = sum(abs(A), across, keepdim=True)
    out = (amax if ord > 0 else amin)(sums, over, keepdim=True)
    return out if keepdim else out.squeeze((d0, d1))


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """``torch.norm``: a vector or matrix norm (also ``Tensor.norm``).

    ``p='fro'`` (default) is the 2-norm of the elements over ``dim`` (all when None);
    ``p='nuc'`` is the nuclear norm of the matrices in ``dim`` (default: the last two dims);
    a number ``p`` is the vector p-norm over ``dim`` (an int, a tuple, or None for all).
    Prefer :func:`tapegrad.linalg.vector_norm` and :func:`tapegrad.linalg.matrix_norm`.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([[3.0, 4.0], [0.0, 0.0]])
        >>> tg.norm(x), x.norm(dim=1), tg.norm(x, p=1)
        (tensor(5.), tensor([5., 0.]), tensor(7.))
    """
    if dtype is not None:
        input = input.to(dtype)
    if p == "nuc":
        if dim is None and array_of(input).ndim != 2:
            raise ShapeError(f"norm: p='nuc' without dim needs a 2-d input, got shape "
                             f"{array_of(input).shape}; pass dim=(d0, d1).")
        return matrix_norm(input, "nuc", (0, 1) if dim is None else dim, keepdim)
    if p == "fro":
        p = 2
    if isinstance(p, str):
        raise ArgumentError(f"norm: p must be 'fro', 'nuc' or a number, got {p!r}")
    return vector_norm(input, p, dim, keepdim)


def linalg_norm(input, ord=None, dim=None, keepdim=False, *, dtype=None):
    """``torch.linalg.norm``: a vector norm (``dim`` an int, or 1-d input with ``ord``) or a
    matrix norm (``dim`` a pair, or 2-d input with ``ord``); with neither ``ord`` nor ``dim``,
    the 2-norm of all elements.

    Example:
        >>> import tapegrad as tg
        >>> A = tg.tensor([[1.0, -2.0], [3.0, 4.0]])
        >>> tg.linalg.norm(A, 1), tg.linalg.norm(A, dim=1)
        (tensor(6.), tensor([2.2361, 5.0000]))
    """
    if dtype is not None:
        input = input.to(dtype)
    if isinstance(dim, int) or (isinstance(dim, (tuple, list)) and len(dim) == 1):
        return vector_norm(input, 2 if ord is None else ord, dim, keepdim)
    if dim is not None:
        return matrix_norm(input, "fro" if ord is None else ord, dim, keepdim)
    if ord is None:
        return vector_norm(input, 2, None, keepdim)
    ndim = array_of(input).ndim
    if ndim == 1:
        return vector_norm(input, ord, None, keepdim)
    if ndim == 2:
        return matrix_norm(input, ord, (0, 1), keepdim)
    raise ShapeError(f"linalg.norm: when ord is given without dim the input must be 1-d or "
                     f"2-d, got shape {array_of(input).shape}; pass dim.")


# ---- built on singular values --------------------------------------------------------------------
def cond(A, p=None):
    """The condition number of ``A`` (batched) in the ``p`` norm.

    ``p`` None or 2: largest / smallest singular value; -2: the inverse ratio; 'fro', 'nuc',
    1, -1, inf, -inf: ``matrix_norm(A, p) * matrix_norm(inv(A), p)`` (square ``A``; inf for
    a singular matrix, as in PyTorch).

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.cond(tg.tensor([[2.0, 0.0], [0.0, 0.5]]))
        tensor(4.)
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call("cond", (A,), {"p": p})
        if out is not None:
            return out
    _check_float(A, "linalg.cond")
    shape = array_of(A).shape
    if len(shape) < 2:
        raise ShapeError(f"linalg.cond: the input must have at least 2 dims, got shape {shape}")
    if shape[-1] == 0 and shape[-2] == 0:
        return sum(A, (-2, -1))       # NOTE: PyTorch's condition number of a 0x0 matrix is 0
    if p is None or p in (2, -2):
        s = _singular_values(A)
        big, small = s[..., 0], s[..., -1]
        return big / small if p != -2 else small / big
    if shape[-1] != shape[-2]:
        raise ShapeError(f"linalg.cond: the {p!r} norm needs square matrices, got shape "
                         f"{shape}; use p=None or 2 for rectangular ones.")
    from .solve import inv_ex     # the inverse lives with the solves in this package
    inverse, info = inv_ex(A)
    out = matrix_norm(A, p) * matrix_norm(inverse, p)
    singular = array_of(info) != 0
    return where(wrap(singular), _INF, out) if singular.any() else out


def _cutoff(s_max, shape, dtype, atol, rtol):
    """PyTorch's tolerance for rank and pinv: max(atol, rtol * largest singular value), rtol
    defaulting to eps * max(m, n) (0 when only atol is given)."""
    if rtol is None:
        rtol = 0.0 if atol is not None and np.any(array_of(atol) > 0) else \
            np.finfo(dtype).eps * builtin_max(shape[-2:])
    atol = 0.0 if atol is None else array_of(atol)
    return np.maximum(atol, array_of(rtol) * s_max)


builtin_max = max


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """The number of singular values of ``A`` above the tolerance ``max(atol, rtol * s_max)``
    (int64, batched; not differentiable).

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.matrix_rank(tg.ones(3, 3)), tg.linalg.matrix_rank(tg.eye(3))
        (tensor(1), tensor(3))
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call("matrix_rank", (A, atol, rtol),
                           {"atol": atol, "rtol": rtol, "hermitian": hermitian})
        if out is not None:
            return out
    _check_float(A, "linalg.matrix_rank")
    a = array_of(A)
    if a.ndim < 2:
        raise ShapeError(f"linalg.matrix_rank: the input must have at least 2 dims, got shape "
                         f"{a.shape}")
    if a.shape[-1] == 0 or a.shape[-2] == 0:
        return wrap(np.zeros(a.shape[:-2], dtype=np.int64))
    if hermitian:
        s = np.abs(np.linalg.eigvalsh(a))
    else:
        s = np_svd("linalg.matrix_rank", a, compute_uv=False)
    s_max = s.max(axis=-1)
    tol = _cutoff(s_max, a.shape, a.dtype, atol, rtol)
    return wrap(np.asarray(np.sum(s > np.expand_dims(tol, -1), axis=-1), dtype=np.int64))


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse of ``A`` (batched), from its SVD (eigendecomposition
    when ``hermitian``); singular values at or below ``max(atol, rtol * s_max)`` count as 0.

    Differentiable where the singular values kept are distinct (the SVD's gradient).

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.pinv(tg.tensor([[2.0, 0.0], [0.0, 4.0], [0.0, 0.0]]))
        tensor([[0.5000, 0.0000, 0.0000],
                [0.0000, 0.2500, 0.0000]])
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call("pinv", (A, atol, rtol),
                           {"atol": atol, "rtol": rtol, "hermitian": hermitian})
        if out is not None:
            return out
    _check_float(A, "linalg.pinv")
    a = array_of(A)
    if a.ndim < 2:
        raise ShapeError(f"linalg.pinv: the input must have at least 2 dims, got shape {a.shape}")
    from . import decomp     # decompositions sit beside the norms in this package
    if hermitian:
        w, V = decomp.eigh(A)
        s = abs(w)
        tol = _cutoff(array_of(s).max(axis=-1, initial=0.0), a.shape, a.dtype, atol, rtol)
        keep = array_of(s) > np.expand_dims(tol, -1)
        w_inv = where(wrap(keep), 1.0 / where(wrap(keep), w, 1.0), 0.0)
        return (V * unsqueeze(w_inv, -2)) @ V.mT
    U, S, Vh = decomp.linalg_svd(A, full_matrices=False)
    tol = _cutoff(array_of(S).max(axis=-1, initial=0.0), a.shape, a.dtype, atol, rtol)
    keep = array_of(S) > np.expand_dims(tol, -1)
    s_inv = where(wrap(keep), 1.0 / where(wrap(keep), S, 1.0), 0.0)
    return (Vh.mT * unsqueeze(s_inv, -2)) @ U.mT


__all__ = ["norm"]   # public functions, exported as tapegrad.<name>
METHODS = {"norm": norm}   # Tensor methods (bound in ops/methods.py), in-place forms included
LINALG = {"vector_norm": vector_norm, "matrix_norm": matrix_norm, "norm": linalg_norm,
          "cond": cond, "matrix_rank": matrix_rank, "pinv": pinv}
