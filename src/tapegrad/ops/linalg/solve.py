"""Inverses and linear solves: inv, solve, solve_triangular, cholesky_solve, matrix_exp; and
composites on them (matrix_power, vander, diagonal). The solves that start from a
factorization (lstsq, lu_solve, ...) are in factored.py; det, slogdet and logdet (whose rules
solve with A) are in determinants.py.

Every function works on batches of matrices (..., n, n). Gradients are solve-based: a rule
solves with A (or A^T) where it can instead of forming an inverse.
"""
from collections import namedtuple

import numpy as np

from ..._core.errors import ArgumentError, ShapeError
from ..._core.state import STATE
from ..._core.tensor import Tensor, wrap
from .. import elementwise as ew
from .. import shape
from ..indexing import getitem
from ..registry import OpDef, apply_binary, apply_unary, batched_call, register
from ._common import (LinAlgError, batch_items, batch_prefix, batch_shape, check_float,
                      check_matrix, dtype_of, mm, mT, shape_of, tri, unsqueeze)

_ndarray = np.ndarray

inv_ex_result = namedtuple("linalg_inv_ex", ["inverse", "info"])
solve_ex_result = namedtuple("linalg_solve_ex", ["result", "info"])
triangular_solve_result = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])


# ---- errors: which batch element, which pivot --------------------------------------------
def _pivot_infos(a):
    """LAPACK getrf's info for each matrix in a (int32, batch-shaped): 0, or the 1-based
    index of the first zero pivot of a singular matrix. Error paths only."""
    from scipy.linalg import lapack
    getrf = lapack.get_lapack_funcs("getrf", (a,))
    info = np.zeros(a.shape[:-2], dtype=np.int32)
    flat = info.reshape(-1)
    for b, m in batch_items(a):
        flat[b] = max(int(getrf(m)[2]), 0)
    return info


def _singular(name, a, what):
    """The LinAlgError for the first singular matrix in a, naming its batch element."""
    infos = _pivot_infos(a)
    bad = np.flatnonzero(infos)
    if not bad.size:
        return LinAlgError(f"{name}: the matrix could not be factorized (it may contain nan or "
                           "inf)")
    b = int(bad[0])
    return LinAlgError(f"{name}: {batch_prefix(a, b)}" + what.format(info=infos.flat[b]))


def _ex_info(A, result):
    """The info of an _ex function (int32, A's batch shape): the zero pivots where the result
    came out nan, zeros everywhere else."""
    if STATE.vmap_levels:       # Note [Batched tensors]: the result is read below
        out = batched_call("ex_info", (A, result), {"kind": "getrf"})
        if out is not None:
            return out
    a = A._data if isinstance(A, Tensor) else np.asarray(A)
    if np.isnan(result._data if isinstance(result, Tensor) else result).any():
        return wrap(_pivot_infos(a))
    return wrap(np.zeros(a.shape[:-2], dtype=np.int32))


_INV_MSG = ("The diagonal element {info} is zero, the inversion could not be completed because "
            "the input matrix is singular.")
_SOLVE_MSG = ("The solver failed because the input matrix is singular (the diagonal element "
              "{info} of its LU factorization is zero).")


# ---- inv ---------------------------------------------------------------------------------
def _inv_forward(a, check=True):
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        if check:
            raise _singular("linalg.inv", a, _INV_MSG) from None
    out = np.empty_like(a)            # inv_ex: nan for the singular matrices, as info says
    flat = out.reshape((-1,) + a.shape[-2:])
    for b, m in batch_items(a):
        try:
            flat[b] = np.linalg.inv(m)
        except np.linalg.LinAlgError:
            flat[b] = np.nan
    return out


def inv_vjp(ctx, g):
    """d inv(A) = -out^T g out^T (uses out)."""
    ti = mT(ctx.out)
    return (-mm(mm(ti, g), ti),)


def inv_jvp(ctx, t):
    return -mm(mm(ctx.out, t), ctx.out)


INV = register(OpDef("inv", _inv_forward, inv_vjp, inv_jvp, save=("out",)))


def inv(A):
    """Inverse of each square matrix in A (..., n, n). Also ``tapegrad.inverse``.

    Raises LinAlgError (a RuntimeError) naming the batch element and the zero pivot for a
    singular matrix.

    Example:
        >>> import tapegrad as tg
        >>> A = tg.tensor([[2.0, 0.0], [0.0, 4.0]], requires_grad=True)
        >>> tg.linalg.inv(A)
        tensor([[0.5000, 0.0000],
                [0.0000, 0.2500]], grad_fn=<InvBackward0>)
    """
    check_matrix("linalg.inv", A)
    check_float("linalg.inv", A)
    return apply_unary(INV, A)


def inv_ex(A, *, check_errors=False):
    """``(inverse, info)``: info (int32, batch-shaped) is 0, or the 1-based index of the zero
    pivot of a singular matrix, whose inverse is then nan. Raises like inv if check_errors.

    NOTE: the failed inverse is all nan, where PyTorch leaves whatever LAPACK computed
    (inf and nan from the division by the zero pivot).

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.inv_ex(tg.tensor([[1.0, 2.0], [2.0, 4.0]])).info
        tensor(2, dtype=tapegrad.int32)
    """
    check_matrix("linalg.inv_ex", A)
    check_float("linalg.inv_ex", A)
    out = apply_unary(INV, A, {"check": bool(check_errors)})
    return inv_ex_result(out, _ex_info(A, out))


# ---- solve -------------------------------------------------------------------------------
def _solve_forward(a, b, check=True):
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a = np.broadcast_to(a, batch + a.shape[-2:])
        if check:
            raise _singular("linalg.solve", a, _SOLVE_MSG) from None
    out = np.empty(batch + b.shape[-2:], dtype=np.result_type(a, b))   # solve_ex: nan
    flat = out.reshape((-1,) + out.shape[-2:])
    bs = np.broadcast_to(b, out.shape).reshape(flat.shape)
    for i, m in batch_items(a):
        try:
            flat[i] = np.linalg.solve(m, bs[i])
        except np.linalg.LinAlgError:
            flat[i] = np.nan
    return out


def solve_vjp(ctx, g):
    """d solve(A, B) = X: gB = solve(A^T, g), gA = -gB X^T (batch broadcasting undone by
    the engine)."""
    gb = _solve(mT(ctx.x), g)
    ga = -mm(gb, mT(ctx.out)) if ctx.needs_input_grad[0] else None
    return ga, (gb if ctx.needs_input_grad[1] else None)


def solve_jvp(ctx, ta, tb):
    need = ctx.needs_input_grad
    return _solve(ctx.x, (tb if need[1] else 0) - (mm(ta, ctx.out) if need[0] else 0))


SOLVE = register(OpDef("solve", _solve_forward, solve_vjp, solve_jvp, save=("x", "out"),
                       broadcasts=True))


def _solve(a, b, check=True):
    """solve(A, B) for matrix right-hand sides, no checks (rules)."""
    return apply_binary(SOLVE, a, b) if check else apply_binary(SOLVE, a, b, {"check": False})


def _is_vector_rhs(sa, sb):
    """torch.linalg.solve's rule: B is a (batch of) vector(s) if 1-d, or if it has A's batch
    shape plus one dim."""
    return len(sb) == 1 or (len(sb) == len(sa) - 1 and sb == sa[:-1])


def solve(A, B, *, left=True):
    """The solution X of A X = B (or X A = B when left=False), batched and broadcasting.

    B is a batch of vectors when it is 1-d or has shape A.shape[:-1] (torch.linalg.solve's
    rule), otherwise a batch of matrices (..., n, k).

    Raises LinAlgError (a RuntimeError) naming the batch element for a singular matrix.

    Example:
        >>> import tapegrad as tg
        >>> A = tg.tensor([[2.0, 0.0], [0.0, 4.0]], requires_grad=True)
        >>> x = tg.linalg.solve(A, tg.tensor([2.0, 2.0])); x
        tensor([1.0000, 0.5000], grad_fn=<ReshapeBackward0>)
        >>> x.sum().backward(); A.grad
        tensor([[-0.5000, -0.2500],
                [-0.2500, -0.1250]])
    """
    return _solve_public(A, B, left, True, "linalg.solve")


def _solve_public(A, B, left, check, name):
    """solve's checks, vector right-hand sides and left=False, around the primitive."""
    sa = check_matrix(name, A)
    sb = tuple(shape_of(B))
    check_float(name, A, B)
    vector = len(sb) >= 1 and _is_vector_rhs(sa, sb)
    n = sa[-1]
    if len(sb) == 0 or (not vector and len(sb) < 2):
        raise ShapeError(f"{name}: B must have at least 1 dim, got shape {sb}")
    # NOTE: a vector B is a column (n, 1) also when left=False, so there XA = B only holds
    # for n = 1 (PyTorch raises the same way; transpose B yourself to solve x A = b).
    rows, cols = (sb[-1], 1) if vector else sb[-2:]
    if (rows if left else cols) != n:
        eq = "AX = B" if left else "XA = B"
        raise ShapeError(f"{name}: Incompatible shapes of A and B for the equation {eq} "
                         f"({sa[-2]}x{sa[-1]} and {rows}x{cols})")
    if vector:
        x = _solve(A if left else mT(A), unsqueeze(B, -1), check)
        return shape.squeeze(x, -1) if isinstance(x, Tensor) else x[..., 0]
    batch_shape(name, sa, sb)
    if left:
        return _solve(A, B, check)
    return mT(_solve(mT(A), mT(B), check))


def solve_ex(A, B, *, left=True, check_errors=False):
    """``(result, info)``: solve's result and info (int32, A's batch shape) 0, or the 1-based
    index of the zero pivot of a singular matrix, whose result is then nan. Raises like
    solve if check_errors.

    NOTE: the failed result is all nan, where PyTorch leaves what LAPACK computed (inf).

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.solve_ex(tg.tensor([[1.0, 2.0], [2.0, 4.0]]), tg.ones(2)).info
        tensor(2, dtype=tapegrad.int32)
    """
    X = _solve_public(A, B, left, check_errors, "linalg.solve_ex")
    return solve_ex_result(X, _ex_info(A, X))


# ---- triangular solves ---------------------------------------------------------------------
def _solve_triangular_forward(a, b, upper, unitriangular):
    from scipy.linalg import solve_triangular as scipy_solve_triangular
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    if a.size == 0 or b.size == 0:
        return np.zeros(batch + b.shape[-2:], dtype=np.result_type(a, b))
    try:
        return scipy_solve_triangular(a, b, lower=not upper, unit_diagonal=unitriangular,
                                      check_finite=False)
    except np.linalg.LinAlgError:
        a = np.broadcast_to(a, batch + a.shape[-2:])
        for i, m in batch_items(a):
            zero = np.flatnonzero(np.diagonal(m) == 0)
            if zero.size:
                raise LinAlgError(
                    f"linalg.solve_triangular: {batch_prefix(a, i)}The diagonal element "
                    f"{zero[0] + 1} is zero: the triangular matrix is singular.") from None
        raise


def solve_triangular_vjp(ctx, g):
    """X = A^{-1} B, A triangular: gB = A^{-T} g (a triangular solve), gA = -gB X^T masked to
    A's triangle (without its diagonal when unitriangular)."""
    upper, unit = ctx.upper, ctx.unitriangular
    gb = _solve_tri(mT(ctx.x), g, not upper, unit)
    ga = None
    if ctx.needs_input_grad[0]:
        ga = -tri(mm(gb, mT(ctx.out)), lower=not upper, k=(1 if upper else -1) if unit else 0)
    return ga, (gb if ctx.needs_input_grad[1] else None)


def solve_triangular_jvp(ctx, ta, tb):
    need = ctx.needs_input_grad
    upper, unit = ctx.upper, ctx.unitriangular
    rhs = tb if need[1] else 0
    if need[0]:
        ta = tri(ta, lower=not upper, k=(1 if upper else -1) if unit else 0)
        rhs = rhs - mm(ta, ctx.out)
    return _solve_tri(ctx.x, rhs, upper, unit)


SOLVE_TRIANGULAR = register(OpDef("solve_triangular", _solve_triangular_forward,
                                  solve_triangular_vjp, solve_triangular_jvp,
                                  save=("x", "out"), broadcasts=True))


def _solve_tri(a, b, upper, unitriangular=False):
    return apply_binary(SOLVE_TRIANGULAR, a, b,
                        {"upper": bool(upper), "unitriangular": bool(unitriangular)})


def solve_triangular(input, B, *, upper, left=True, unitriangular=False):
    """Solve A X = B (X A = B when left=False) for triangular A = input; only A's upper
    (lower) triangle is read, and its diagonal is taken as ones when unitriangular.

    NOTE: a zero on A's diagonal raises LinAlgError naming it (and the batch element), where
    PyTorch silently returns inf and nan.

    Example:
        >>> import tapegrad as tg
        >>> A = tg.tensor([[2.0, 1.0], [0.0, 4.0]])
        >>> tg.linalg.solve_triangular(A, tg.tensor([[3.0], [4.0]]), upper=True)
        tensor([[1.],
                [1.]])
    """
    name = "linalg.solve_triangular"
    sa = check_matrix(name, input)
    sb = check_matrix(name, B, square=False, arg="B")
    check_float(name, input, B)
    rows = sb[-2] if left else sb[-1]
    if rows != sa[-1]:
        raise ShapeError(f"{name}: Incompatible shapes of A and B for the equation "
                         f"{'AX = B' if left else 'XA = B'} ({sa[-2]}x{sa[-1]} and "
                         f"{sb[-2]}x{sb[-1]})")
    batch_shape(name, sa, sb)
    if left:
        return _solve_tri(input, B, upper, unitriangular)
    return mT(_solve_tri(mT(input), mT(B), not upper, unitriangular))


def cholesky_solve(input, input2, upper=False):
    """Solve A X = B given A's Cholesky factor L (A = L L^T; A = U^T U when upper=True), as
    two triangular solves.

    Example:
        >>> import tapegrad as tg
        >>> L = tg.tensor([[2.0, 0.0], [1.0, 1.0]])
        >>> tg.cholesky_solve(tg.tensor([[4.0], [3.0]]), L)
        tensor([[0.5000],
                [1.0000]])
    """
    name = "cholesky_solve"
    sl = check_matrix(name, input2, arg="L")
    sb = check_matrix(name, input, square=False, arg="B")
    check_float(name, input, input2)
    if sb[-2] != sl[-1]:
        raise ShapeError(f"{name}: B (input) {sb} must have as many rows as L (input2) {sl} has "
                         "columns")
    batch_shape(name, sl, sb)
    if upper:
        return _solve_tri(input2, _solve_tri(mT(input2), input, False), True)
    return _solve_tri(mT(input2), _solve_tri(input2, input, False), True)


def triangular_solve(input, A, upper=True, transpose=False, unitriangular=False):
    """Deprecated PyTorch spelling: ``(solution, cloned_coefficient)`` of A X = b (A^T X = b
    when transpose), A triangular. Prefer :func:`tapegrad.linalg.solve_triangular`.

    Example:
        >>> import tapegrad as tg
        >>> tg.triangular_solve(tg.tensor([[2.0]]), tg.tensor([[4.0]])).solution
        tensor([[0.5000]])
    """
    a = mT(A) if transpose else A
    x = solve_triangular(a, input, upper=bool(upper) != bool(transpose),
                         unitriangular=unitriangular)
    return triangular_solve_result(x, shape.clone(A))


# ---- matrix exponential --------------------------------------------------------------------
def _expm_forward(a):
    from scipy.linalg import expm
    if a.size == 0:
        return a.copy()
    return np.asarray(expm(a), dtype=a.dtype)


def _block_exp_corner(a, b):
    """The top-right block of exp([[a, b], [0, a]]): the Frechet derivative of exp at a in
    the direction b."""
    n = shape_of(a)[-1]
    zero = np.zeros(shape_of(a), dtype=dtype_of(a))
    big = shape.cat([shape.cat([a, b], -1), shape.cat([zero, a], -1)], -2)
    return getitem(_matrix_exp(big), (Ellipsis, slice(0, n), slice(n, 2 * n)))


def matrix_exp_vjp(ctx, g):
    """d exp(A): the top-right block of exp([[A^T, g], [0, A^T]])."""
    return (_block_exp_corner(mT(ctx.x), g),)


def matrix_exp_jvp(ctx, t):
    return _block_exp_corner(ctx.x, t)


MATRIX_EXP = register(OpDef("matrix_exp", _expm_forward, matrix_exp_vjp, matrix_exp_jvp,
                            save=("x",)))


def _matrix_exp(a):
    return apply_unary(MATRIX_EXP, a)


def matrix_exp(input):
    """The matrix exponential of each square matrix (SciPy's expm). Also
    ``tapegrad.matrix_exp``.

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.matrix_exp(tg.tensor([[0.0, 1.0], [0.0, 0.0]]))
        tensor([[1., 1.],
                [0., 1.]])
    """
    check_matrix("linalg.matrix_exp", input)
    check_float("linalg.matrix_exp", input, half=True)
    return _matrix_exp(input)


# ---- composites ------------------------------------------------------------------------------
def matrix_power(input, n):
    """A multiplied by itself n times (by repeated squaring); n < 0 inverts A first and n = 0
    gives identities. Also ``tapegrad.matrix_power``.

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.matrix_power(tg.tensor([[1.0, 1.0], [0.0, 1.0]]), 3)
        tensor([[1., 3.],
                [0., 1.]])
    """
    s = check_matrix("linalg.matrix_power", input)
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise ArgumentError(f"linalg.matrix_power: n must be an int, got {n!r}")
    if n == 0:
        # NOTE: where, not input * 0 + I: identities also for nan and inf entries (as torch),
        # and still a (zero) gradient for input.
        return ew.where(np.zeros(s, dtype=bool), input, np.eye(s[-1], dtype=dtype_of(input)))
    if n < 0:
        input, n = inv(input), -n
    result, square = None, input
    while True:
        if n & 1:
            result = square if result is None else mm(result, square)
        n >>= 1
        if not n:
            return shape.clone(result) if result is input else result   # a new tensor, as torch
        square = mm(square, square)


def _powers(x, N, increasing):
    """x[..., None] ** (0, 1, ..., N-1) (reversed unless increasing); integer and bool x
    become int64, as PyTorch's vanders give."""
    if dtype_of(x).kind in "biu" and dtype_of(x) != np.int64:
        x = shape.cast(x, np.int64)
    if N == 0:
        return getitem(unsqueeze(x, -1), (Ellipsis, slice(0, 0)))
    p = np.arange(N).astype(dtype_of(x))
    # NOTE: the powers in x's dtype (float32 ** int64 would give float64 in NumPy); x**0 is
    # 1 with gradient 0 also at x = 0.
    return ew.pow(unsqueeze(x, -1), p if increasing else p[::-1].copy())


def _check_n(name, N, least):
    if not isinstance(N, (int, np.integer)) or isinstance(N, bool):
        raise ArgumentError(f"{name}: N must be an int, got {N!r}")
    if N < least:
        what = "greater than 1" if least == 2 else "non-negative"
        raise ArgumentError(f"{name}: N must be {what}, got N={N}")


def linalg_vander(x, *, N=None):
    """The Vandermonde matrix of x (..., n): columns x**0, x**1, ..., x**(N-1) (N = n by
    default; N must be at least 2, as in PyTorch), increasing powers as in
    torch.linalg.vander (tapegrad.vander and NumPy's vander decrease).

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.vander(tg.tensor([1.0, 2.0, 3.0]))
        tensor([[1., 1., 1.],
                [1., 2., 4.],
                [1., 3., 9.]])
    """
    s = tuple(shape_of(x))
    if len(s) < 1:
        raise ShapeError("linalg.vander: x must have at least 1 dim, got a 0-d tensor")
    N = s[-1] if N is None else N
    _check_n("linalg.vander", N, 2)
    return _powers(x, N, True)


def vander(x, N=None, increasing=False):
    """torch.vander: the Vandermonde matrix of a 1-d x (n,), columns x**(N-1), ..., x**0
    (N = n by default, N = 0 gives no columns), or x**0, ..., x**(N-1) when increasing.

    Example:
        >>> import tapegrad as tg
        >>> tg.vander(tg.tensor([1.0, 2.0, 3.0]))
        tensor([[1., 1., 1.],
                [4., 2., 1.],
                [9., 3., 1.]])
    """
    s = tuple(shape_of(x))
    if len(s) != 1:
        raise ShapeError(f"vander: x must be a one-dimensional tensor, got shape {s}")
    N = s[0] if N is None else N
    _check_n("vander", N, 0)
    return _powers(x, N, bool(increasing))


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonal ``offset`` of the matrices in dims (dim1, dim2), as the last dim: a view
    (writes to it reach A), tapegrad.diagonal with torch.linalg's default dims.

    Example:
        >>> import tapegrad as tg
        >>> z = tg.zeros(2, 2)
        >>> _ = tg.linalg.diagonal(z).fill_(1.0); z
        tensor([[1., 0.],
                [0., 1.]])
    """
    from ..diagonal import diagonal as diagonal_view
    from ..shape import normalize_dim
    s = tuple(shape_of(A))
    if len(s) < 2:
        raise ShapeError(f"linalg.diagonal: A must have at least 2 dims, got shape {s}")
    d1, d2 = normalize_dim(dim1, len(s), "linalg.diagonal"), normalize_dim(
        dim2, len(s), "linalg.diagonal")
    if d1 == d2:
        raise ShapeError(f"linalg.diagonal: dim1 and dim2 can't be the same dim ({dim1}, {dim2})")
    return diagonal_view(A, offset, d1, d2)


def inverse(input):
    """torch.inverse's spelling (argument ``input``): see :func:`tapegrad.linalg.inv`.

    Example:
        >>> import tapegrad as tg
        >>> tg.inverse(tg.tensor([[4.0]]))
        tensor([[0.2500]])
    """
    return inv(input)

__all__ = ["inverse", "cholesky_solve", "triangular_solve", "matrix_exp", "matrix_power",
           "vander"]   # public functions, exported as tapegrad.<name>
METHODS = {   # Tensor methods (bound in ops/methods.py)
    "inverse": inverse, "cholesky_solve": cholesky_solve, "triangular_solve": triangular_solve,
    "matrix_exp": matrix_exp, "matrix_power": matrix_power,
}
LINALG = {    # tapegrad.linalg.<name> -> function
    "inv": inv, "inv_ex": inv_ex, "solve": solve, "solve_ex": solve_ex,
    "solve_triangular": solve_triangular,
    "matrix_power": matrix_power, "matrix_exp": matrix_exp, "vander": linalg_vander,
    "diagonal": diagonal,
    "LinAlgError": LinAlgError,   # the error class, as torch.linalg.LinAlgError
}
