"""Primitives of the nn resample family (used by tapegrad.nn.functional): ``resample``, a
constant sparse linear map applied along one dim, and ``select``, a gather written as one.
"""
import threading

import numpy as np

from ..registry import OpDef, apply_unary, linear, register

__all__ = []        # names exported as tapegrad.<name> (PyTorch's torch.<name>)
METHODS = {}        # Tensor methods this family binds

# NOTE: why a primitive (speed). interpolate, the non-constant pads, grid_sample's taps and
# the embedding lookups all read each output position as a weighted sum of a few source
# positions along one dim. As getitem with index arrays, the backward of each read is an
# np.add.at scatter, 5-15x slower than the forward (measured on 8x16x64x64 bilinear
# upsampling and a 8192 x 10000 x 256 embedding: np.add.at 150-220 ms where a sparse
# product takes 15-30 ms). Written as one sparse matrix M (n_out x n_in, a few entries per
# row), the forward is M @ x and the backward M^T @ g: both one SciPy CSR/CSC product in C,
# and each other's rule (jvp: the op on the tangent), so every order of derivative comes
# free. benchmarks/resample_bench.py measures it.


# NOTE: cached maps are shared between threads; their transpose and casts are built once,
# under this lock (only on a miss: a hit reads without it), so that every thread gets the
# same objects and none sees a half-filled cache
_BUILD = threading.Lock()


class SparseMap:
    """A constant sparse (n_out x n_in) matrix for ``resample``, with its transpose and its
    casts to the inputs' dtypes made once and kept (a backward, and every call that reuses
    a cached map, skips SciPy's constructors: they dominated small calls)."""
    __slots__ = ("matrix", "_transpose", "_casts")

    def __init__(self, matrix, transpose=None):
        self.matrix, self._transpose, self._casts = matrix, transpose, {}

    @property
    def shape(self):
        return self.matrix.shape

    @property
    def T(self):
        t = self._transpose
        if t is None:
            with _BUILD:
                if self._transpose is None:
                    self._transpose = SparseMap(self.matrix.T, self)
                t = self._transpose
        return t

    def cast(self, dtype):
        m = self._casts.get(dtype)
        if m is None:
            with _BUILD:
                m = self._casts.get(dtype)
                if m is None:
                    m = self._casts[dtype] = (self.matrix if self.matrix.dtype == dtype
                                              else self.matrix.astype(dtype))
        return m


def csr_rows(n_out, n_in, rows, cols, weights=None):
    """The map with ``weights`` (default 1) at (rows, cols); repeated positions add."""
    from scipy.sparse import csr_array
    data = np.ones(rows.size) if weights is None else np.asarray(weights, dtype=np.float64)
    return SparseMap(csr_array((data, (rows, cols)), shape=(n_out, n_in)))


def taps(n_in, cols, weights):
    """The map whose row o holds weights[k][o] at column cols[k][o] for each of a few taps k
    (columns may repeat within a row: they add), built as CSR directly."""
    from scipy.sparse import csr_array
    cols, weights = np.stack(cols, axis=1), np.stack(weights, axis=1)
    n_out, k = cols.shape
    return SparseMap(csr_array((weights.ravel().astype(np.float64), cols.ravel(),
                                np.arange(0, n_out * k + 1, k)), shape=(n_out, n_in)))


def one_hot_rows(index, n_in, valid=None):
    """The map whose row k selects source position index[k] (a gather as a product); rows
    where ``valid`` is False are empty (they read 0)."""
    from scipy.sparse import csr_array
    index = np.asarray(index, dtype=np.int64).ravel()
    if valid is None:
        return SparseMap(csr_array((np.ones(index.size), index, np.arange(index.size + 1)),
                                   shape=(index.size, n_in)))
    valid = np.asarray(valid).ravel()
    indptr = np.concatenate(([0], np.cumsum(valid)))
    return SparseMap(csr_array((np.ones(int(indptr[-1])), index[valid], indptr),
                               shape=(index.size, n_in)))


def _resample_forward(x, dim, matrix, index):
    """matrix @ x along dim: out[..., o, ...] = sum_i matrix[o, i] * x[..., i, ...]."""
    if index is not None:                # a pure selection: a gather, no copy to move dim
        return np.take(x, index, axis=dim)
    kind = x.dtype
    if kind.kind != "f" or kind == np.float16:
        # SciPy has no float16 products: float32 sums, as PyTorch's; integer inputs (uint8
        # nearest) only meet exact 0/1 selections
        wide = np.float32 if kind == np.float16 else np.float64
        return _resample_forward(x.astype(wide), dim, matrix, None).astype(kind)
    m = matrix.cast(kind)
    moved = np.moveaxis(x, dim, 0)
    flat = np.ascontiguousarray(moved).reshape(moved.shape[0], int(np.prod(moved.shape[1:])))
    out = np.asarray(m @ flat)
    return np.moveaxis(out.reshape((m.shape[0],) + moved.shape[1:]), 0, dim)


def resample_vjp(ctx, g):
    """d (M x_dim x) = M^T x_dim g."""
    return (resample(g, ctx.dim, ctx.matrix.T),)


RESAMPLE = register(OpDef("resample", _resample_forward, resample_vjp,
                          linear(lambda t, dim, matrix, index: resample(t, dim, matrix, index))))


def resample(x, dim, matrix, index=None):
    """``matrix`` (a SparseMap (n_out, n_in)) applied along ``dim`` of x (size n_in): the
    result has size n_out there. ``index``, when given, says that row k of matrix is the
    one-hot row of index[k] (the forward is then a plain gather). Differentiable in x at
    every order."""
    return apply_unary(RESAMPLE, x, {"dim": dim, "matrix": matrix, "index": index})


def select(x, dim, index, n_in):
    """``x`` gathered at ``index`` (a 1-d int array) along dim, as a resample: the backward
    is one sparse product instead of a scatter."""
    index = np.asarray(index, dtype=np.int64)
    return resample(x, dim, one_hot_rows(index, n_in), index)
