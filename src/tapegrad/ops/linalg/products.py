"""Matrix products: matmul and its relatives (mm, bmm, mv, dot, vdot, inner, outer, the add*
forms, chain_matmul, multi_dot, vecdot). Every product runs through the one matmul primitive.

# Note [Products stay on BLAS]
NumPy's matmul hands a product to BLAS only when each operand's matrices (its last two dims)
have one unit-stride dim and a positive stride in the other, and a vector operand a positive
stride; otherwise it runs its own loops, 15 to 30 times slower. Gradients hand rules exactly
such layouts: sum's gradient is a stride-0 broadcast, a flipped slice has negative strides, a
permuted batch may have no unit-stride dim. The matmul primitive's forward routes both
operands through ``blas_ready``, which copies only the operands BLAS can't take (keeping
stride-0 batch dims broadcast, so nothing is materialized that BLAS does not read). Every
contraction (einsum, tensordot, inner, bmm, the add* forms) is built on this primitive, so
this is the one place the layout is fixed.
"""
import warnings

import numpy as np

from ..._core.errors import ArgumentError, DTypeError, ShapeError
from ..._core.tensor import Tensor, shape_of
from .. import elementwise as ew
from ..indexing import setitem
from ..reduction import sum as _sum
from ..registry import OpDef, apply_binary, register
from ..shape import mT, permute, reshape, squeeze, unsqueeze

_ndarray = np.ndarray
_F32 = np.dtype(np.float32)


def blas_ready(a):
    """``a`` itself when NumPy's matmul can hand it to BLAS as it is, else a copy it can
    (Note [Products stay on BLAS]). Only float32/float64 arrays: BLAS has no integer or
    float16 products, so copying those would gain nothing."""
    flags = a.flags
    if flags.c_contiguous or flags.f_contiguous and a.ndim <= 2 or a.dtype.char not in "fd":
        return a
    shape, strides = a.shape, a.strides
    if a.ndim == 1:
        if strides[0] > 0 or shape[0] <= 1:
            return a
        return np.ascontiguousarray(a)
    (r, c), (sr, sc), size = shape[-2:], strides[-2:], a.itemsize
    if r == 1 or c == 1:          # a vector in matrix form: its long dim needs a positive stride
        if (r == 1 or sr > 0) and (c == 1 or sc > 0):
            return a
    elif (sc == size and sr >= c * size) or (sr == size and sc >= r * size):
        return a
    lead = strides[:-2]
    if 0 in lead:                 # copy one matrix per broadcast batch, not the whole batch
        first = tuple(slice(0, 1) if s == 0 else slice(None) for s in lead)
        return np.broadcast_to(np.ascontiguousarray(a[first]), shape)
    return np.ascontiguousarray(a)


def _matmul_forward(x, y):
    """np.matmul on BLAS-ready operands; float16 accumulates in float32 (result float16)."""
    if type(x) is not _ndarray or type(y) is not _ndarray:
        x, y = np.asarray(x), np.asarray(y)
    if x.dtype.char == "e" or y.dtype.char == "e":
        dtype = np.result_type(x, y)
        if dtype.char == "e":
            return np.matmul(x.astype(_F32), y.astype(_F32)).astype(dtype)
    if x.ndim > 2 and x.ndim == y.ndim and x.shape[:-2] == y.shape[:-2] and x.size and y.size:
        # stacks of matrices, as vmap gives per-example products (Note [Batched tensors])
        if not any(y.strides[:-2]):
            return _shared_right(x, y)
        if not any(x.strides[:-2]):
            return _shared_left(x, y)
        if x.shape[-1] == 1:  # outer products: NumPy's matmul runs one tiny GEMM each
            # (einsum's loop is twice as fast as the broadcasting multiply here)
            return np.einsum("...ik,...kj->...ij", x, y)
    if not x.flags.c_contiguous:          # the common case skips the call
        x = blas_ready(x)
    if not y.flags.c_contiguous:
        y = blas_ready(y)
    return np.matmul(x, y)


def _shared_right(x, y):
    """x @ y for a y that is one matrix broadcast over x's batch dims (stride 0: an expanded
    weight, as vmap(grad(f)) gives every example): one GEMM over all of x's rows, instead of
    one small GEMM per batch index on a materialized copy of y."""
    m = blas_ready(y[(0,) * (y.ndim - 2)])
    rows = blas_ready(x).reshape(-1, x.shape[-1])
    return (rows @ m).reshape(x.shape[:-1] + (m.shape[1],))


def _shared_left(x, y):
    """x @ y for an x that is one matrix broadcast over y's batch dims: as (y^T @ x^T)^T,
    one GEMM over all of y's columns."""
    m = blas_ready(x[(0,) * (x.ndim - 2)])
    cols = blas_ready(np.swapaxes(y, -1, -2)).reshape(-1, y.shape[-2])
    out = (cols @ m.T).reshape(y.shape[:-2] + (y.shape[-1], m.shape[0]))
    return np.swapaxes(out, -1, -2)


def _mm(x, y):
    """The matmul primitive without matmul's shape checks: for rules, whose shapes are valid
    by construction."""
    return apply_binary(MATMUL, x, y)


def matmul_vjp(ctx, g):
    """d(x@y) = g@y^T for x, x^T@g for y; 1-d operands are treated as a row (x) or a column
    (y) and squeezed back; batch broadcasting is undone by the engine."""
    need = ctx.needs_input_grad
    # Only the operands some gradient needs were saved (save_for), so tell 1-d operands apart
    # from g's ndim: a 1-d operand is the only way g loses a dim against the other operand.
    gd = g.ndim
    if need[1]:
        x = ctx.x
        x_vec = x.ndim == 1
        y_vec = gd == 0 if x_vec else gd < x.ndim
    else:
        y_vec = ctx.y.ndim == 1
        x_vec = gd == 0 if y_vec else gd < ctx.y.ndim
    y = ctx.y if need[0] else None
    gx = gy = None
    if x_vec and y_vec:                       # dot product: g is a scalar
        return (g * y if need[0] else None), (g * x if need[1] else None)
    if x_vec:                                 # (n) @ (..., n, m) -> (..., m)
        g2 = unsqueeze(g, -2)
        if need[0]:
            # NOTE: a 2-d y needs no reshapes: one matrix-vector product, g shaped as it is.
            gx = _mm(y, g) if y.ndim == 2 else squeeze(_mm(g2, mT(y)), -2)
        if need[1]:
            gy = unsqueeze(x, -1) * g2
    elif y_vec:                               # (..., n, k) @ (k) -> (..., n)
        if need[0]:
            gx = unsqueeze(g, -1) * y
        if need[1]:
            x = ctx.x
            gy = _mm(g, x) if x.ndim == 2 else squeeze(_mm(mT(x), unsqueeze(g, -1)), -1)
    else:
        if need[0]:
            gx = _mm(g, mT(y))
        if need[1]:
            gy = _mm(mT(x), g)
    return gx, gy


def matmul_jvp(ctx, tx, ty):
    """t(x@y) = tx@y + x@ty; an input without gradient has no tangent (and maybe no save)."""
    need = ctx.needs_input_grad
    # (one term alone when only one input has a tangent: adding 0 would record an op)
    if not need[1]:
        return _mm(tx, ctx.y)
    return _mm(tx, ctx.y) + _mm(ctx.x, ty) if need[0] else _mm(ctx.x, ty)


MATMUL = register(OpDef("matmul", _matmul_forward, matmul_vjp, matmul_jvp, save=("x", "y"),
                        broadcasts=True, save_for={"x": 1, "y": 0}))


def _check(xs, ys, name):
    if len(xs) == 0 or len(ys) == 0:
        raise ShapeError(f"{name}: both arguments need at least 1 dim, got shapes "
                         f"{tuple(xs)} and {tuple(ys)}")
    k_x = xs[-1]
    k_y = ys[-2] if len(ys) > 1 else ys[0]
    if k_x != k_y:
        which = "second-to-last" if len(ys) > 1 else "only"
        hint = " Try b.T?" if len(ys) > 1 and ys[-1] == k_x else ""
        raise ShapeError(
            f"{name}: cannot contract {tuple(xs)} with {tuple(ys)}: last dim of the first "
            f"({k_x}) must equal {which} dim of the second ({k_y}).{hint}")
    bx, by = xs[:-2], ys[:-2]
    if not (bx and by):           # at most one side has batch dims: they always broadcast
        return
    try:
        np.broadcast_shapes(bx, by)
    except ValueError:
        raise ShapeError(f"{name}: batch dims {tuple(bx)} and {tuple(by)} of shapes {tuple(xs)} "
                         f"and {tuple(ys)} don't broadcast") from None


def matmul(input, other):
    """Matrix product with the rules of NumPy's ``@`` (also ``Tensor.__matmul__`` and
    ``tapegrad.linalg.matmul``).

    1-d @ 1-d is a dot product; a 1-d operand on the left (right) acts as a row (column)
    vector and its dim is removed from the result; dims before the last two are batch dims
    and broadcast. float16 operands accumulate in float32 (the result is float16).

    Args:
        input, other: tensors with at least one dim; the contracted sizes must match.

    Example:
        >>> import tapegrad as tg
        >>> a = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True); b = tg.ones(2)
        >>> tg.matmul(a, b).sum().backward(); tg.matmul(a, b), a.grad
        (tensor([3., 7.], grad_fn=<MatmulBackward0>), tensor([[1., 1.], [1., 1.]]))
    """
    _check(shape_of(input), shape_of(other), "matmul")
    return apply_binary(MATMUL, input, other)


def _require_ndim(name, **named):
    """Raise unless each argument (name=(tensor, wanted ndims)) has one of the wanted ndims."""
    for arg, (t, ndims) in named.items():
        s = shape_of(t)
        if len(s) not in ndims:
            want = " or ".join(f"{n}-d" for n in ndims)
            raise ShapeError(f"{name}: {arg} must be {want}, got shape {tuple(s)}")


def mm(input, mat2):
    """Product of two 2-d matrices (no broadcasting; use :func:`matmul` for other shapes).

    Example:
        >>> import tapegrad as tg
        >>> tg.mm(tg.tensor([[1.0, 2.0]]), tg.tensor([[3.0], [4.0]]))
        tensor([[11.]])
    """
    _require_ndim("mm", input=(input, (2,)), mat2=(mat2, (2,)))
    _check(shape_of(input), shape_of(mat2), "mm")
    return apply_binary(MATMUL, input, mat2)


def bmm(input, mat2):
    """Batched product of 3-d tensors (b, n, m) @ (b, m, p) -> (b, n, p); no broadcasting.

    Example:
        >>> import tapegrad as tg
        >>> tg.bmm(tg.ones(2, 1, 3), tg.ones(2, 3, 2))
        tensor([[[3., 3.]],
        <BLANKLINE>
                [[3., 3.]]])
    """
    _require_ndim("bmm", input=(input, (3,)), mat2=(mat2, (3,)))
    xs, ys = shape_of(input), shape_of(mat2)
    if xs[0] != ys[0]:
        raise ShapeError(f"bmm: batch sizes differ: input {tuple(xs)} and mat2 {tuple(ys)}; "
                         "bmm does not broadcast (use matmul)")
    _check(xs, ys, "bmm")
    return apply_binary(MATMUL, input, mat2)


def mv(input, vec):
    """Matrix-vector product (n, m) @ (m,) -> (n,).

    Example:
        >>> import tapegrad as tg
        >>> tg.mv(tg.tensor([[1.0, 2.0], [3.0, 4.0]]), tg.tensor([1.0, -1.0]))
        tensor([-1., -1.])
    """
    _require_ndim("mv", input=(input, (2,)), vec=(vec, (1,)))
    _check(shape_of(input), shape_of(vec), "mv")
    return apply_binary(MATMUL, input, vec)


def dot(input, other):
    """Dot product of two 1-d tensors of the same length (other shapes raise, as in PyTorch).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> tg.dot(x, tg.tensor([3.0, 4.0])).backward(); x.grad
        tensor([3., 4.])
    """
    _require_ndim("dot", input=(input, (1,)), other=(other, (1,)))
    _check(shape_of(input), shape_of(other), "dot")
    return apply_binary(MATMUL, input, other)


def vdot(input, other):
    """Dot product of two 1-d tensors. PyTorch conjugates a complex first argument; tapegrad's
    dtypes are all real, so this is :func:`dot`.

    Example:
        >>> import tapegrad as tg
        >>> tg.vdot(tg.tensor([1.0, 2.0]), tg.tensor([3.0, 4.0]))
        tensor(11.)
    """
    _require_ndim("vdot", input=(input, (1,)), other=(other, (1,)))
    _check(shape_of(input), shape_of(other), "vdot")
    return apply_binary(MATMUL, input, other)


def inner(input, other):
    """Sum of products over the last dims: shape ``input.shape[:-1] + other.shape[:-1]``; a
    0-d operand multiplies the other.

    Example:
        >>> import tapegrad as tg
        >>> tg.inner(tg.tensor([[1.0, 2.0], [3.0, 4.0]]), tg.tensor([1.0, 1.0]))
        tensor([3., 7.])
    """
    xs, ys = shape_of(input), shape_of(other)
    if not xs or not ys:
        return ew.mul(input, other)
    if xs[-1] != ys[-1]:
        raise ShapeError(f"inner: the last dims of {tuple(xs)} and {tuple(ys)} must have the "
                         f"same size, got {xs[-1]} and {ys[-1]}")
    if len(xs) == 1 and len(ys) == 1:
        return apply_binary(MATMUL, input, other)
    k = xs[-1]
    a = reshape(input, (int(np.prod(xs[:-1])), k))
    b = reshape(other, (int(np.prod(ys[:-1])), k))
    return reshape(apply_binary(MATMUL, a, mT(b)), xs[:-1] + ys[:-1])


def outer(input, vec2):
    """Outer product of two 1-d tensors: (n,) x (m,) -> (n, m). ``ger`` is an alias.

    Example:
        >>> import tapegrad as tg
        >>> tg.outer(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 10.0, 100.0]))
        tensor([[  1.,  10., 100.],
                [  2.,  20., 200.]])
    """
    _require_ndim("outer", input=(input, (1,)), vec2=(vec2, (1,)))
    return ew.mul(unsqueeze(input, -1), vec2)


ger = outer


def _number(name, arg, v):
    """A Python number for beta or alpha (a 0-d tensor gives its value, as in PyTorch)."""
    if isinstance(v, Tensor) and v.ndim == 0:
        return v.item()
    if not isinstance(v, (int, float, np.integer, np.floating)):
        raise ArgumentError(f"{name}: {arg} must be a number, got {v!r}")
    return v


def _kind(v):
    return (v._data if isinstance(v, Tensor) else np.asarray(v)).dtype.kind


def _truncated(name, arg, v):
    """A float beta/alpha for integer tensors, truncated toward zero as PyTorch does (2.7
    scales by 2, 0.5 by 0); nan, inf and values beyond int64 are refused, as there."""
    if not isinstance(v, (float, np.floating)):
        return v
    if not (np.isfinite(v) and -2.0 ** 63 <= v < 2.0 ** 63):
        raise ArgumentError(f"{name}: {arg} = {v} can't be converted to int64 for integer "
                            "tensors; convert the tensors with .float() first.")
    return int(v)


def _scaled_sum(name, input, product, beta, alpha, out_shape):
    """beta * input + alpha * product; input must broadcast to out_shape, and beta = 0 ignores
    it (NaN and inf included), as PyTorch does."""
    beta, alpha = _number(name, "beta", beta), _number(name, "alpha", alpha)
    if _kind(product) in "iu" and _kind(input) in "biu":
        beta, alpha = _truncated(name, "beta", beta), _truncated(name, "alpha", alpha)
    s = shape_of(input)
    try:
        if np.broadcast_shapes(s, out_shape) != tuple(out_shape):
            raise ValueError
    except ValueError:
        raise ShapeError(f"{name}: input of shape {tuple(s)} can't be broadcast to the "
                         f"product's shape {tuple(out_shape)}") from None
    scaled = product if alpha == 1 else ew.mul(product, alpha)
    if beta == 0:
        if isinstance(input, Tensor) and input.requires_grad:
            # a zero gradient for input, as PyTorch gives, without reading its values
            return ew.add(scaled, ew.where(np.zeros(s, bool), input, 0))
        return scaled
    return ew.add(scaled, input if beta == 1 else ew.mul(input, beta))


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)`` for 2-d mat1, mat2; input broadcasts.

    Example:
        >>> import tapegrad as tg
        >>> tg.addmm(tg.ones(2), tg.eye(2), tg.full((2, 2), 3.0), beta=2, alpha=0.5)
        tensor([[3.5000, 3.5000],
                [3.5000, 3.5000]])
    """
    prod = mm(mat1, mat2)
    return _scaled_sum("addmm", input, prod, beta, alpha, shape_of(prod))


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat @ vec)`` for 2-d mat and 1-d vec.

    Example:
        >>> import tapegrad as tg
        >>> tg.addmv(tg.tensor([1.0, 2.0]), tg.eye(2), tg.tensor([3.0, 4.0]), alpha=2)
        tensor([ 7., 10.])
    """
    prod = mv(mat, vec)
    return _scaled_sum("addmv", input, prod, beta, alpha, shape_of(prod))


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * bmm(batch1, batch2)``.

    Example:
        >>> import tapegrad as tg
        >>> tg.baddbmm(tg.ones(1), tg.ones(2, 1, 3), tg.ones(2, 3, 1)).flatten()
        tensor([4., 4.])
    """
    prod = bmm(batch1, batch2)
    return _scaled_sum("baddbmm", input, prod, beta, alpha, shape_of(prod))


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * sum_b batch1[b] @ batch2[b]``: one product over the batch.

    Example:
        >>> import tapegrad as tg
        >>> tg.addbmm(tg.zeros(1, 1), tg.ones(4, 1, 3), tg.ones(4, 3, 1))
        tensor([[12.]])
    """
    _require_ndim("addbmm", batch1=(batch1, (3,)), batch2=(batch2, (3,)))
    (b, n, m), (b2, _, p) = shape_of(batch1), shape_of(batch2)
    if b != b2:
        raise ShapeError(f"addbmm: batch sizes differ: batch1 {tuple(shape_of(batch1))} and "
                         f"batch2 {tuple(shape_of(batch2))}")
    _check(shape_of(batch1), shape_of(batch2), "addbmm")
    # NOTE: one BLAS product with the batch folded into the contraction, not b of them:
    # (n, b*m) @ (b*m, p).
    prod = apply_binary(MATMUL, reshape(permute(batch1, (1, 0, 2)), (n, b * m)),
                        reshape(batch2, (b * m, p)))
    return _scaled_sum("addbmm", input, prod, beta, alpha, shape_of(prod))


def _inplace(fn, name, self_shape, operands, result):
    """Tensor.<name>_: the out-of-place result written back into self (a recorded write);
    its docstring's example calls it on zeros(self_shape) with ``operands``."""
    def method(self, *args, beta=1, alpha=1):
        out = fn(self, *args, beta=beta, alpha=alpha)
        if tuple(shape_of(out)) != tuple(self.shape):
            raise ShapeError(f"{name}_: the result has shape {tuple(shape_of(out))} but self has "
                             f"shape {tuple(self.shape)}; an in-place op can't change it")
        setitem(self, Ellipsis, out, name + "_")
        return self
    method.__name__ = name + "_"
    method.__doc__ = (f"In-place :func:`{name}`: self <- beta * self + alpha * (product).\n\n"
                      f"    Example:\n        >>> import tapegrad as tg\n"
                      f"        >>> tg.zeros{self_shape}.{name}_({operands})\n        {result}\n")
    return method


def _chain_order(dims):
    """The split table of the cheapest order to multiply matrices of sizes dims[i] x
    dims[i + 1] (the standard O(n^3) dynamic programme over scalar multiplications)."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _multiply_in_order(mats, split, i, j):
    if i == j:
        return mats[i]
    k = split[i][j]
    return apply_binary(MATMUL, _multiply_in_order(mats, split, i, k),
                        _multiply_in_order(mats, split, k + 1, j))


def multi_dot(tensors):
    """The product of two or more matrices, multiplied in the cheapest order
    (``tapegrad.linalg.multi_dot``). The first may be 1-d (a row vector) and the last 1-d (a
    column vector); the others must be 2-d.

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.multi_dot([tg.ones(3), tg.ones(3, 4), tg.ones(4, 2), tg.ones(2)])
        tensor(24.)
    """
    tensors = list(tensors)
    if len(tensors) < 2:
        raise ArgumentError(f"multi_dot: expected at least 2 tensors, got {len(tensors)}")
    shapes = [tuple(shape_of(t)) for t in tensors]
    for i, s in enumerate(shapes):
        ok = (1, 2) if i in (0, len(shapes) - 1) else (2,)
        if len(s) not in ok:
            where = "first" if i == 0 else ("last" if i == len(shapes) - 1 else f"{i}-th")
            raise ShapeError(f"multi_dot: the {where} tensor must be "
                             f"{' or '.join(f'{n}-d' for n in ok)}, got shape {s}")
    first_vec, last_vec = len(shapes[0]) == 1, len(shapes[-1]) == 1
    mats = list(tensors)
    if first_vec:
        mats[0], shapes[0] = unsqueeze(mats[0], 0), (1,) + shapes[0]
    if last_vec:
        mats[-1], shapes[-1] = unsqueeze(mats[-1], 1), shapes[-1] + (1,)
    for i in range(len(shapes) - 1):
        if shapes[i][1] != shapes[i + 1][0]:
            raise ShapeError(f"multi_dot: tensors {i} and {i + 1} with shapes {shapes[i]} and "
                             f"{shapes[i + 1]} can't be multiplied")
    dims = [s[0] for s in shapes] + [shapes[-1][1]]
    out = _multiply_in_order(mats, _chain_order(dims), 0, len(mats) - 1)
    if first_vec or last_vec:      # drop the dims the vectors were given
        out = reshape(out, ((dims[0],) if not first_vec else ()) +
                      ((dims[-1],) if not last_vec else ()))
    return out


def chain_matmul(*matrices):
    """Deprecated (as in PyTorch, with a warning): the product of 2-d matrices in the
    cheapest order; use :func:`tapegrad.linalg.multi_dot`.

    Example:
        >>> import tapegrad as tg, warnings; warnings.simplefilter("ignore")
        >>> tg.chain_matmul(tg.ones(2, 3), tg.ones(3, 4), tg.ones(4, 1)).flatten()
        tensor([12., 12.])
    """
    warnings.warn("tapegrad.chain_matmul is deprecated, as in PyTorch; use "
                  "tapegrad.linalg.multi_dot, which takes a list of tensors", UserWarning,
                  stacklevel=2)
    if not matrices:
        raise ArgumentError("chain_matmul: expected one or more matrices, got none")
    for i, m in enumerate(matrices):
        if len(shape_of(m)) != 2:
            raise ShapeError(f"chain_matmul: every matrix must be 2-d, matrix {i} has shape "
                             f"{tuple(shape_of(m))}")
    if len(matrices) == 1:
        return matrices[0] * 1        # a new tensor, as PyTorch returns
    return multi_dot(matrices)


def vecdot(x, y, *, dim=-1):
    """Dot products along ``dim`` of broadcast ``x`` and ``y`` (``tapegrad.linalg.vecdot``).

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.vecdot(tg.tensor([[1.0, 2.0], [3.0, 4.0]]), tg.tensor([1.0, 1.0]))
        tensor([3., 7.])
    """
    xs, ys = shape_of(x), shape_of(y)
    dx, dy = (t._data.dtype if isinstance(t, Tensor) else np.asarray(t).dtype for t in (x, y))
    if dx != dy:
        raise DTypeError(f"linalg.vecdot: x and y must have the same dtype, got {dx} and {dy}")
    if dx.kind != "f":
        raise DTypeError(f"linalg.vecdot: expected floating point tensors, got dtype {dx}; "
                         "convert with .float() or .double() first")
    try:
        shape = np.broadcast_shapes(xs, ys)
    except ValueError:
        raise ShapeError(f"linalg.vecdot: shapes {tuple(xs)} and {tuple(ys)} don't "
                         "broadcast") from None
    if not shape or not -len(shape) <= dim < len(shape):
        raise ShapeError(f"linalg.vecdot: dim {dim} is out of range for the broadcast shape "
                         f"{tuple(shape)}")
    return _sum(ew.mul(x, y), dim)


__all__ = ["matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "addmm",
           "addmv", "addbmm", "baddbmm", "chain_matmul"]
addmm_ = _inplace(addmm, "addmm", (1, 1), "tg.ones(1, 2), tg.ones(2, 1)", "tensor([[2.]])")
addmv_ = _inplace(addmv, "addmv", (1,), "tg.ones(1, 2), tg.ones(2)", "tensor([2.])")
addbmm_ = _inplace(addbmm, "addbmm", (1, 1), "tg.ones(3, 1, 2), tg.ones(3, 2, 1)",
                   "tensor([[6.]])")
baddbmm_ = _inplace(baddbmm, "baddbmm", (2, 1, 1), "tg.ones(2, 1, 2), tg.ones(2, 2, 1)",
                    "tensor([[[2.]],\n        <BLANKLINE>\n                [[2.]]])")
METHODS = {"bmm": bmm, "mv": mv, "vdot": vdot, "inner": inner, "outer": outer, "ger": ger,
           "addmm": addmm, "addmv": addmv, "addbmm": addbmm, "baddbmm": baddbmm,
           "addmm_": addmm_, "addmv_": addmv_, "addbmm_": addbmm_, "baddbmm_": baddbmm_}
LINALG = {"matmul": matmul, "multi_dot": multi_dot, "vecdot": vecdot}
