"""Batching rules of the linear-algebra primitives beyond linalg.py: the solves and cdist.

Layout trick: these primitives already broadcast their operands' leading (batch) dims as
NumPy's matrix functions do, so a batched operand only needs padding to the other's example
rank (size-1 dims after its batch dim); the batch dim is then one more broadcast dim.
"""
from . import rule
from .indexing import public_rule
from ._layout import align


@rule("solve", "solve_triangular", "cdist")
def broadcast_matrices(op, args, batched, params, size):
    return align(args, batched), params, None


@public_rule("ex_info")
def ex_info(args, batched, kw, size):
    """The info of the _ex functions, per example: LAPACK's factorization (getrf, or potrf
    for cholesky_ex) of the example's matrices where its result came out nan."""
    import numpy as np
    from scipy.linalg import lapack
    from ..._core.batched import Batched
    from ..._core.tensor import wrap
    a, r = args
    if type(a) is Batched or type(r) is Batched:
        return None          # batched at an outer vmap too: that one loops
    av = a._data if batched[0] else np.broadcast_to(a._data, (size,) + a._data.shape)
    rv = r._data if batched[1] else np.broadcast_to(r._data, (size,) + r._data.shape)
    info = np.zeros(av.shape[:-2], dtype=np.int32)
    failed = np.isnan(rv.reshape(size, -1)).any(1)
    if failed.any():
        fn = lapack.get_lapack_funcs(kw["kind"], (av,))
        for b in np.flatnonzero(failed):
            flat = info[b].reshape(-1)
            mats = av[b].reshape((-1,) + av.shape[-2:])
            for i, m in enumerate(mats):
                res = fn(m, lower=True) if kw["kind"] == "potrf" else fn(m)
                flat[i] = max(int(res[-1]), 0)
            info[b] = flat.reshape(info[b].shape)
    return wrap(info)


def _plain(t, batched, size):
    """A physical operand's values with the batch dim (None when it is batched at an outer
    vmap too: that vmap loops)."""
    import numpy as np
    from ..._core.batched import Batched
    if type(t) is Batched:
        return None
    return t._data if batched else np.broadcast_to(t._data, (size,) + t._data.shape)


@public_rule("zero_pivots")
def zero_pivots(args, batched, kw, size):
    """lu_factor's info: the diagonal of each U read on the physical LU (the batch dim is
    one more batch dim of zero_pivots)."""
    from ..._core.tensor import wrap
    from ...ops.linalg.decomp import zero_pivots as zero_pivots_
    lu = _plain(args[0], batched[0], size)
    return None if lu is None else wrap(zero_pivots_(lu))


@public_rule("lu_permutation")
def lu_permutation(args, batched, kw, size):
    """The permutation matrices of the examples' 1-based pivots (each row of pivots is one
    more batch element of _permutation)."""
    from ..._core.tensor import wrap
    from ...ops.linalg.decomp import _permutation
    piv = _plain(args[0], batched[0], size)
    m = kw["m"]
    if piv is None or (piv.size and (piv.min() < 1 or piv.max() > m)):
        return None          # the function's own error, through the loop
    return wrap(_permutation(piv, m, kw["dtype"]))


def _whole_batch(name):
    """A function that maps over its input's leading (batch) dims already and reads values
    only per matrix: it runs once on the physical tensor, whose batch dim is one more batch
    dim (tolerance tensors shared by the examples broadcast as before)."""
    def run(args, batched, kw, size):
        from ...ops.linalg import norms
        if any(batched[1:]):
            return None                   # per-example tolerances: the loop
        return getattr(norms, name)(args[0], **kw)
    return run


public_rule("matrix_rank")(_whole_batch("matrix_rank"))
public_rule("pinv")(_whole_batch("pinv"))
public_rule("cond")(_whole_batch("cond"))


@public_rule("lstsq")
def lstsq(args, batched, kw, size):
    """lstsq of the physical tensors: b's vector form decided on the example's ranks (then
    made a column), both given the batch dim (so rank and singular values are per example,
    and b is never taken for a batch of vectors), and the outputs a driver leaves empty
    given the batch dim too."""
    from ..._core.batched import Batched
    from ...ops.linalg.factored import lstsq as lstsq_
    from ._layout import expand_batch, ndim_of, pad
    A, b = args
    nda, ndb = ndim_of(A, batched[0]), ndim_of(b, batched[1])
    vector = ndb == nda - 1
    A = A if batched[0] else expand_batch(A, size)
    b = b if batched[1] else expand_batch(b, size)
    if vector:
        b = b.unsqueeze(-1)
    b = pad(b, nda)
    out = lstsq_(A, b, kw["rcond"], driver=kw["driver"])
    m, n = A.shape[-2:]
    if m > n and kw["driver"] in ("gelsd", "gelss") and type(out.rank) is not Batched:
        # residuals come only with every matrix of full rank: an example's own rule, so
        # examples of full rank beside rank-deficient ones give results of two shapes
        full = (out.rank._data == min(m, n)).reshape(size, -1).all(1)
        if full.any() and not full.all():
            return None

    def fill(o):
        return o.reshape(1, 0).expand(size, 0) if tuple(o.shape) == (0,) else o
    solution = out[0].squeeze(-1) if vector else out[0]
    return type(out)(solution, *[fill(o) for o in out[1:]])
