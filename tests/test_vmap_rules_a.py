"""Batching rules of rules-a's families (indexing, masks, sorts, logical reductions, linalg)
in layouts the op-database samples miss: a batched condition, mask or index with unbatched
data, negative dims, nested vmap, gradients through the rules. Each case checks vmap
against the loop over examples and that nothing ran example by example."""
import warnings

import numpy as np
import pytest

import tapegrad as tg
from tapegrad._core.errors import NotSupportedError
from tapegrad.func import vmap
from tapegrad.func.batching import FALLBACKS

RNG = np.random.default_rng(0)


def _no_fallback(fn, *args, in_dims=0):
    """vmap(fn)(*args), asserting nothing fell back to the loop, and the loop's result."""
    before = FALLBACKS["count"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = vmap(fn, in_dims=in_dims)(*args)
    assert FALLBACKS["count"] == before, "ran example by example"
    dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    outs = [fn(*[a if d is None else a.movedim(d, 0)[i] for a, d in zip(args, dims)])
            for i in range(size)]
    return got, outs


def _same(got, outs):
    if isinstance(got, tuple):
        for k, g in enumerate(got):
            _same(g, [o[k] for o in outs])
        return
    want = np.stack([o.detach().numpy() for o in outs])
    assert got.dtype == outs[0].dtype
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12, atol=1e-12)


def _t(*shape, dtype=np.float64):
    return tg.tensor(RNG.standard_normal(shape).astype(dtype))


def test_where_batched_condition_only():
    cond = _t(4, 3) > 0
    x, y = _t(3), _t(2, 1)
    _same(*_no_fallback(lambda c: tg.where(c, x, y), cond))


def _grad_of(fn, x, *rest, in_dims=0):
    """d sum(vmap(fn)(x, *rest)) / dx."""
    x = x.detach().requires_grad_()
    vmap(fn, in_dims=in_dims)(x, *rest).sum().backward()
    return x.grad.numpy()


def test_where_condition_grad_per_example():
    cond = _t(4, 3) > 0
    x = _t(4, 3)
    got = _grad_of(lambda v, c: tg.where(c, v * v, 0.0), x, cond)
    np.testing.assert_allclose(got, np.where(cond.numpy(), 2 * x.numpy(), 0.0))


def test_where_nested_vmap():
    cond = _t(2, 3, 4) > 0
    x = _t(3, 4)
    got = vmap(vmap(lambda c, v: tg.where(c, v, -v)), in_dims=(0, None))(cond, x)
    np.testing.assert_allclose(got.numpy(), np.where(cond.numpy(), x.numpy(), -x.numpy()))


def test_masked_fill_batched_value_and_unbatched_input():
    x, m, v = _t(3, 4), _t(5, 4) > 0, _t(5)
    _same(*_no_fallback(lambda m_, v_: tg.masked_fill(x, m_, v_), m, v))


def test_masked_scatter_counts_differ_per_example():
    m = tg.tensor([[True, False, True], [False, False, False], [True, True, True]])
    src = _t(3, 3)
    x = tg.zeros(3, dtype=tg.float64)
    _same(*_no_fallback(lambda m_, s: tg.masked_scatter(x, m_, s), m, src))
    with pytest.raises(tg.ShapeError), warnings.catch_warnings():
        warnings.simplefilter("ignore")       # the error comes from the loop, per example
        vmap(lambda m_: tg.masked_scatter(x, m_, tg.ones(2, dtype=tg.float64)))(m)


def test_isclose_and_heaviside_one_side_batched():
    a = _t(4, 3)
    _same(*_no_fallback(lambda u: tg.isclose(u, a[0], atol=0.5), a))
    _same(*_no_fallback(lambda u: tg.heaviside(u, tg.tensor(0.5, dtype=tg.float64)), a))


def test_getitem_batched_index_unbatched_input_negative():
    x = _t(3, 4)
    idx = tg.tensor([[0, -1], [2, 1], [-3, 0], [1, 1]])
    _same(*_no_fallback(lambda i: x[i], idx))
    _same(*_no_fallback(lambda i: x[:, i], idx))
    _same(*_no_fallback(lambda i: x[1:, i], idx))
    _same(*_no_fallback(lambda i: x[i, 1:], idx))


def test_getitem_batched_index_split_by_slice_and_ints():
    x = _t(4, 2, 3, 5)
    i, j = tg.tensor([[0, 1], [1, 1], [1, 0], [0, -1]]), tg.tensor([1, 4])
    _same(*_no_fallback(lambda x_, i_: x_[i_, :, j], x, i))        # split: index dims first
    _same(*_no_fallback(lambda x_, i_: x_[1, :, i_], x, i))        # the int selects first
    _same(*_no_fallback(lambda x_, i_: x_[..., i_, 1:], x, i))


def test_getitem_grad_accumulates_per_example():
    x = _t(2, 4)
    idx = tg.tensor([[0, 0, 3], [1, 2, 1]])
    got = _grad_of(lambda v, i: v[i] * 2, x, idx)
    want = np.zeros((2, 4))
    for b in range(2):
        np.add.at(want[b], idx.numpy()[b], 2.0)
    np.testing.assert_allclose(got, want)


def test_getitem_nested_vmap():
    x = _t(2, 3, 5)
    idx = tg.tensor([[1, 4], [0, 0], [3, 2]])
    got = vmap(vmap(lambda v, i: v[i], in_dims=(0, 0)), in_dims=(0, None))(x, idx)
    want = np.stack([[x.numpy()[a, b][idx.numpy()[b]] for b in range(3)] for a in range(2)])
    np.testing.assert_allclose(got.numpy(), want)


def test_batched_bool_mask_counts_differ():
    m = tg.tensor([[True, False, True], [False, False, False], [True, True, True]])
    with pytest.raises(NotSupportedError, match="different shapes"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vmap(lambda m_: tg.ones(3)[m_])(m)

    def fill(z, m_, v):
        z = z.clone()
        z[m_] = v
        return z
    _same(*_no_fallback(fill, _t(3, 3), m, _t(3)))
    _same(*_no_fallback(fill, _t(3, 3), m, tg.tensor(2.0, dtype=tg.float64),
                        in_dims=(0, 0, None)))


def test_setitem_batched_index_and_value():
    idx = tg.tensor([[0, 2], [1, 1], [3, 0]])
    vals = _t(3, 2)

    def write(z, i, v):
        z = z.clone()
        z[i, 1] = v
        return z
    _same(*_no_fallback(write, _t(3, 4, 2), idx, vals))
    _same(*_no_fallback(write, _t(3, 4, 2), idx, vals[0], in_dims=(0, 0, None)))


def test_gather_and_scatter_batched_index_unbatched_input_negative_dim():
    x = _t(3, 4)
    idx = tg.tensor(RNG.integers(0, 4, (5, 3, 2)))
    src = _t(5, 3, 2)
    _same(*_no_fallback(lambda i: tg.gather(x, -1, i), idx))
    _same(*_no_fallback(lambda i, s: tg.scatter(x, -1, i, s), idx, src))
    _same(*_no_fallback(lambda i, s: tg.scatter_add(x, 1, i, s), idx, src))
    _same(*_no_fallback(lambda i, s: tg.scatter_reduce(x, 1, i, s, "amax", include_self=False),
                        idx, src))
    _same(*_no_fallback(lambda i: tg.take_along_dim(x, i, dim=-1), idx))
    _same(*_no_fallback(lambda i: tg.take(x, i - 6), idx))


def test_index_functions_batched_index():
    x = _t(3, 4)
    idx = tg.tensor([[0, 3], [2, 2], [1, 0]])
    src = _t(3, 3, 2)
    _same(*_no_fallback(lambda i: tg.index_select(x, 1, i), idx))
    _same(*_no_fallback(lambda i, s: tg.index_add(x, 1, i, s, alpha=2), idx, src))
    _same(*_no_fallback(lambda i, s: tg.index_copy(x, -1, i, s), tg.tensor([[0, 3], [2, 1],
                                                                             [1, 0]]), src))
    _same(*_no_fallback(lambda i, v: tg.index_fill(x, 1, i - 4, v), idx, _t(3)))
    _same(*_no_fallback(lambda i: tg.index_put(x, (i,), tg.tensor(1.5, dtype=tg.float64),
                                               accumulate=True),
                        tg.tensor([[0, 0], [2, 1], [1, 2]])))


def test_gather_grad_and_nested():
    x = _t(2, 3, 4)
    idx = tg.tensor(RNG.integers(0, 4, (3, 2)))
    got = vmap(vmap(lambda v, i: tg.gather(v, 0, i)), in_dims=(0, None))(x, idx)
    want = np.take_along_axis(x.numpy(), idx.numpy()[None], axis=2)
    np.testing.assert_allclose(got.numpy(), want)
    g = _grad_of(lambda v, i: tg.gather(v, 0, i) * 3, x[0], idx)
    want = np.zeros((3, 4))
    for b in range(3):
        np.add.at(want[b], idx.numpy()[b], 3.0)
    np.testing.assert_allclose(g, want)


def test_sorts_and_order_statistics_negative_dims():
    x = _t(3, 2, 5)
    _same(*_no_fallback(lambda v: tg.sort(v, -2, descending=True), x))
    _same(*_no_fallback(lambda v: tg.topk(v, 2, dim=-1, largest=False), x))
    _same(*_no_fallback(lambda v: tg.kthvalue(v, 2, -1, keepdim=True), x))
    _same(*_no_fallback(lambda v: tg.max(v, -2), x))
    _same(*_no_fallback(lambda v: tg.cummin(v, -1), x))
    _same(*_no_fallback(lambda v: tg.quantile(v, tg.tensor([0.2, 0.9], dtype=tg.float64),
                                              dim=-1, keepdim=True), x))
    _same(*_no_fallback(lambda v: tg.quantile(v, tg.tensor([0.5, 0.1], dtype=tg.float64),
                                              keepdim=True), x))
    _same(*_no_fallback(lambda v: tg.all(v > -1, (0, -1), keepdim=True), x))
    _same(*_no_fallback(lambda v: tg.count_nonzero(v > 0, ()), x))


def test_sort_nested_vmap():
    x = _t(2, 3, 4)
    got = vmap(vmap(lambda v: tg.sort(v).values))(x)
    np.testing.assert_allclose(got.numpy(), np.sort(x.numpy(), -1))


def test_median_of_all_shares_gradient_at_ties_per_example():
    x = tg.tensor([[1.0, 2.0, 2.0, 5.0, 0.0], [3.0, 1.0, 2.0, 4.0, 5.0]], dtype=tg.float64)
    _same(*_no_fallback(tg.median, x))
    got = _grad_of(lambda v: tg.median(v), x)
    want = np.array([[0, 0.5, 0.5, 0, 0], [0, 0, 0, 0, 0]], dtype=float)
    want[1, 0] = 1.0
    np.testing.assert_allclose(got, want)
    nan = float("nan")
    y = tg.tensor([[nan, nan, nan], [1.0, nan, 3.0]], dtype=tg.float64)
    _same(*_no_fallback(tg.nanmedian, y))


def test_strided_views_batch_and_write_through():
    x = _t(3, 4, 4)
    _same(*_no_fallback(lambda v: tg.diagonal(v, 1, -1, -2), x))
    _same(*_no_fallback(lambda v: v.unfold(-1, 2, 1), x))
    _same(*_no_fallback(lambda v: tg.as_strided(v, (2, 2), (1, 4), 1), x))
    got = _grad_of(lambda v: tg.trace(v) * 2, x)
    np.testing.assert_allclose(got, np.broadcast_to(2 * np.eye(4), (3, 4, 4)))


def test_solves_one_side_batched():
    a = tg.tensor(RNG.standard_normal((3, 3)) + 3 * np.eye(3))
    b = _t(4, 3, 2)
    _same(*_no_fallback(lambda b_: tg.linalg.solve(a, b_), b))
    _same(*_no_fallback(lambda b_: tg.linalg.solve(a, b_[:, 0]), b))
    _same(*_no_fallback(lambda b_: tg.linalg.solve_triangular(a, b_, upper=True), b))
    _same(*_no_fallback(lambda x: tg.cdist(x, a), b.transpose(-1, -2)))


def test_ex_info_per_example():
    good = np.eye(2) * 2
    sing = np.array([[1.0, 2.0], [2.0, 4.0]])
    a = tg.tensor(np.stack([good, sing, good]))
    _same(*_no_fallback(tg.linalg.inv_ex, a))
    got = vmap(tg.linalg.inv_ex)(a)
    np.testing.assert_array_equal(got.info.numpy(), [0, 2, 0])
    got = vmap(tg.linalg.cholesky_ex)(tg.tensor(np.stack([good, -good, good])))
    np.testing.assert_array_equal(got.info.numpy(), [0, 1, 0])


def test_searching_and_counting_per_example():
    seq = tg.tensor(np.sort(RNG.standard_normal((3, 6)), -1))
    vals = _t(3, 2, 2)
    _same(*_no_fallback(lambda s, v: tg.searchsorted(s, v, right=True), seq, vals))
    _same(*_no_fallback(lambda s: tg.searchsorted(s, 0.25), seq))
    _same(*_no_fallback(lambda v: tg.bucketize(v, seq[0]), vals))
    x = tg.tensor([[0.0, 1.0, 1.0, 3.0], [5.0, 5.0, 5.0, 5.0], [-1.0, 0.0, 2.0, 9.0]])
    _same(*_no_fallback(lambda v: tg.histc(v, bins=3), x))
    _same(*_no_fallback(lambda v: tg.histc(v, bins=4, min=-1, max=4), x))


def test_repeat_interleave_per_example_counts():
    x = _t(3, 2, 3)
    reps = tg.tensor([[1, 0, 2], [0, 3, 0], [1, 1, 1]])
    _same(*_no_fallback(lambda v, r: tg.repeat_interleave(v, r, dim=-1), x, reps))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(NotSupportedError, match="different shapes"):
            vmap(lambda r: tg.repeat_interleave(tg.ones(3), r, dim=0))(
                tg.tensor([[1, 1, 1], [2, 2, 2]]))


def test_lu_family_per_example_pivots():
    a = _t(3, 4, 4)
    _same(*_no_fallback(tg.linalg.lu_factor, a))
    LU, piv = tg.linalg.lu_factor(a)
    b = _t(3, 4, 2)
    _same(*_no_fallback(tg.linalg.lu_solve, LU, piv, b))
    _same(*_no_fallback(lambda lu, p: tg.lu_unpack(lu, p), LU, piv))
    sing = a.clone()
    sing[1] = 0.0
    got = vmap(tg.linalg.lu_factor_ex)(sing)
    np.testing.assert_array_equal(got.info.numpy() > 0, [False, True, False])
    with pytest.raises(tg.linalg.LinAlgError, match="lu_factor"):
        vmap(tg.linalg.lu_factor)(sing)


def test_rank_pinv_cond_lstsq_per_example():
    a = _t(3, 4, 3)
    a[1, :, 2] = a[1, :, 0]                       # example 1 has rank 2
    _same(*_no_fallback(tg.linalg.matrix_rank, a))
    assert vmap(tg.linalg.matrix_rank)(a).tolist() == [3, 2, 3]
    _same(*_no_fallback(tg.linalg.pinv, a))
    _same(*_no_fallback(lambda m: tg.linalg.cond(m[:3]), a))
    b = _t(4)
    _same(*_no_fallback(lambda m: tg.linalg.lstsq(m, b, driver="gelsy"), a))
    full = _t(3, 4, 3)
    _same(*_no_fallback(lambda m: tg.linalg.lstsq(m, b, driver="gelsd"), full))
    _same(*_no_fallback(lambda m: tg.linalg.lstsq(m, b[:, None], driver="gels"), full))


def test_getitem_batched_scalar_index_and_list_key():
    x = _t(4, 5, 3)
    i = tg.tensor([4, 0, -1, 2])
    _same(*_no_fallback(lambda v, k: v[k], x, i))
    _same(*_no_fallback(lambda v, k: v[:, k], x, tg.tensor([0, 2, 1, 1])))
    _same(*_no_fallback(lambda v, k: v[k, [0, 2]], x, i))


def test_setitem_batched_value_basic_key_and_grad():
    x, v = _t(3, 4), _t(3, 2)

    def write(z, val):
        z = z * 1.0
        z[1:3] = val * 2
        return z
    _same(*_no_fallback(write, x, v))
    got = _grad_of(lambda val, z: write(z, val), v, x)
    np.testing.assert_allclose(got, np.full((3, 2), 2.0))


def test_index_put_batched_mask_and_values():
    x = _t(3, 4)
    mask = tg.tensor([[True, False, True, False], [False, True, True, False],
                      [True, True, False, False]])
    vals = _t(3, 2)
    _same(*_no_fallback(lambda z, m, v: tg.index_put(z, (m,), v), x, mask, vals))


def test_vector_norm_zero_counts_per_example():
    x = tg.tensor([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]])
    _same(*_no_fallback(lambda v: tg.linalg.vector_norm(v, 0), x))


def test_argument_errors_name_the_example():
    x = _t(3, 4)
    idx = tg.tensor([[0, 1], [2, 9], [1, 1]])
    with pytest.raises(IndexError, match=r"shape \(4,\)|size 4"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vmap(lambda i: tg.gather(x[0], 0, i))(idx)
    with pytest.raises(tg.ShapeError, match=r"\(4, 2\)"):
        vmap(lambda v: tg.gather(v, 0, tg.zeros(4, 2, dtype=tg.int64)))(x)


def test_setitem_index_after_slices_unbatched_value():
    # the batch dim sits after the leading slice's dim in the physical region: an unbatched
    # value covering that dim needs a size-1 dim there (3 examples and 3 rows: no accident)
    x = _t(3, 3, 2, 1)
    idx = tg.tensor([[1], [0], [1]])
    v = _t(3, 1, 1)

    def write(z, i):
        z = z.clone()
        z[:, i] = v
        return z
    _same(*_no_fallback(write, x, idx))
    _same(*_no_fallback(lambda z, i: write(z, i[0]), x, tg.tensor([[1], [0], [1]])[:, None]))


def test_index_batched_only_at_outer_vmap():
    c = _t(2, 4) > 0
    x = _t(3, 4)
    idx = tg.tensor(RNG.integers(0, 4, (2, 5)))
    y = _t(3, 2, 4, 2)
    before = FALLBACKS["count"]
    got = vmap(lambda cc, ii: vmap(lambda xx: tg.where(cc, xx, -xx)[ii])(x))(c, idx)
    want = np.stack([np.stack([np.where(c.numpy()[a], x.numpy()[b], -x.numpy()[b])[
        idx.numpy()[a]] for b in range(3)]) for a in range(2)])
    np.testing.assert_allclose(got.numpy(), want)
    i, j = idx % 2, (idx + 1) % 2                # apart by a slice: index dims first
    got = vmap(lambda ii, jj: vmap(lambda yy: yy[jj, :, ii])(y))(i, j)
    want = np.stack([np.stack([y.numpy()[b][j.numpy()[a], :, i.numpy()[a]]
                               for b in range(3)]) for a in range(2)])
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want)
    assert FALLBACKS["count"] == before


def test_vector_index_batched_only_at_outer_vmap():
    x = _t(3, 4, 5)
    idx = tg.tensor(RNG.integers(-5, 5, (2, 3)))
    before = FALLBACKS["count"]
    got = vmap(lambda ii: vmap(lambda xx: tg.index_fill(xx, 1, ii, 0.5))(x))(idx)
    want = np.stack([np.stack([tg.index_fill(x[b], 1, idx[a], 0.5).numpy() for b in range(3)])
                     for a in range(2)])
    np.testing.assert_allclose(got.numpy(), want)
    assert FALLBACKS["count"] == before
    with pytest.raises(IndexError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vmap(lambda ii: vmap(lambda xx: tg.index_select(xx, 1, ii))(x))(idx + 10)


def test_view_backward_batches_in_jacobians():
    """getitem's backward (view_scatter) and a write through a view (view_of) under the
    vmap of jacrev's rows: the view chain in the physical layout, no loop."""
    from tapegrad.func import jacrev
    x = _t(3, 4)

    def f(v):
        z = v * 1.0
        z[1:, 0] = v[0, 1:3] * 2               # a write through a view of z
        return z.transpose(0, 1)[::2, 1:].reshape(-1)
    before = FALLBACKS["count"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = jacrev(f)(x)
    assert FALLBACKS["count"] == before
    xr = x.detach().requires_grad_()
    y = f(xr)
    want = np.stack([tg.autograd.grad(y[k], xr, retain_graph=True)[0].numpy()
                     for k in range(y.shape[0])])
    np.testing.assert_allclose(got.numpy(), want)


@pytest.mark.parametrize("fn", [
    lambda v: tg.sort(v, 0).values, lambda v: tg.topk(v, 2).values,
    lambda v: tg.kthvalue(v, 2, 0).values, lambda v: tg.max(v, -1).values,
    lambda v: tg.cummin(v, 1).values, lambda v: tg.median(v, 0).values,
    lambda v: tg.mode(v.round(), 1).values, lambda v: tg.linalg.svdvals(v)],
    ids=["sort", "topk", "kthvalue", "max", "cummin", "median", "mode", "svdvals"])
def test_jacobians_pick_at_the_forward_indices(fn):
    """jacrev's rows and jacfwd's columns (vmaps over cotangents and tangents) pick at the
    indices the forward chose, broadcast over the batch: no loop."""
    from tapegrad.func import jacfwd, jacrev
    x = _t(3, 4)
    before = FALLBACKS["count"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jr, jf = jacrev(fn)(x), jacfwd(fn)(x)
    assert FALLBACKS["count"] == before
    xr = x.detach().requires_grad_()
    y = fn(xr).reshape(-1)
    want = np.stack([tg.autograd.grad(y[k], xr, retain_graph=True, allow_unused=True)[0].numpy()
                     for k in range(y.shape[0])]).reshape(tuple(jr.shape))
    np.testing.assert_allclose(jr.numpy(), want, atol=1e-12)
    np.testing.assert_allclose(jf.numpy(), want, atol=1e-10)


def test_lstsq_full_rank_beside_rank_deficient_examples():
    a = _t(3, 4, 3)
    a[1, :, 2] = a[1, :, 0]
    b = _t(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(NotSupportedError, match="different shapes"):
            vmap(lambda m: tg.linalg.lstsq(m, b, driver="gelsd"))(a)
