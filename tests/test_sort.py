"""Sorting and counting (tapegrad.ops.sort): golden values, ties, NaN, gradients at any order,
and every bad-argument path. The generic checks of each op live in its op-database row."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad._core.errors import ArgumentError, DTypeError, ShapeError

NAN = float("nan")


def t(data, **kw):
    return tg.tensor(data, **kw)


def arr(x):
    return x.detach().numpy()


# ---- sort / argsort / msort ------------------------------------------------------------------
def test_sort_is_stable_both_ways():
    x = t([2.0, 1.0, 2.0, 0.0, 1.0])
    v, i = tg.sort(x)
    assert arr(v).tolist() == [0, 1, 1, 2, 2] and arr(i).tolist() == [3, 1, 4, 0, 2]
    v, i = tg.sort(x, descending=True, stable=True)
    assert arr(v).tolist() == [2, 2, 1, 1, 0] and arr(i).tolist() == [0, 2, 1, 4, 3]
    assert arr(tg.argsort(x, descending=True)).tolist() == [0, 2, 1, 4, 3]
    assert i.dtype == tg.int64


@pytest.mark.parametrize("descending", [False, True])
def test_sort_order_is_stable_with_and_without_ties(descending):
    """Rows without ties take NumPy's fast unstable sort, others the stable one: both must give
    the stable order (ties ranked by position)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 7))
    a[1, 4] = a[1, 2]                  # one tie
    a[3] = np.round(a[3])              # many ties, -0.0 next to 0.0
    a[4, 5] = a[4, 0] = NAN
    for data in (a, a.T.copy(), a.astype(np.float32)):
        # NaN ranks as the largest value (first when descending); no infinities in the data
        key = np.where(np.isnan(data), -np.inf, -data) if descending else np.nan_to_num(
            data, nan=np.inf)
        want = np.argsort(key, axis=-1, kind="stable")
        got = arr(tg.sort(t(data), descending=descending).indices)
        np.testing.assert_array_equal(got, want)


def test_sort_puts_nan_last_ascending_and_first_descending():
    x = t([1.0, NAN, 0.0, NAN])
    v, i = tg.sort(x)
    assert arr(i).tolist() == [2, 0, 1, 3] and np.isnan(arr(v)[2:]).all()
    v, i = tg.sort(x, descending=True)
    assert arr(i).tolist() == [1, 3, 0, 2] and np.isnan(arr(v)[:2]).all()


def test_sort_bool_int_and_0d():
    v, i = t([True, False, True]).sort()
    assert arr(v).tolist() == [False, True, True] and arr(i).tolist() == [1, 0, 2]
    v, i = tg.sort(t([3, -1, 2]), descending=True)
    assert v.dtype == tg.int64 and arr(v).tolist() == [3, 2, -1]
    x = t(3.0, requires_grad=True)
    v, i = tg.sort(x, dim=-1)
    assert float(v) == 3.0 and i.shape == () and int(i) == 0
    v.backward()
    assert float(x.grad) == 1.0


def test_sort_gradient_goes_back_through_the_permutation_with_ties():
    x = t([[2.0, 1.0, 2.0], [0.0, 5.0, 4.0]], requires_grad=True)
    v, i = tg.sort(x, dim=1, descending=True)
    (v * t([1.0, 10.0, 100.0])).sum().backward()
    # tied 2.0s: the first (index 0) is ranked first, as the indices say
    assert arr(x.grad).tolist() == [[1, 100, 10], [100, 1, 10]]
    assert v.grad_fn.name() == "SortBackward0"


def test_msort_sorts_dim_0():
    x = t([[3.0, 1.0], [2.0, 4.0], [0.0, 2.0]])
    assert arr(tg.msort(x)).tolist() == [[0, 1], [2, 2], [3, 4]]
    assert arr(x.msort()).tolist() == [[0, 1], [2, 2], [3, 4]]


def test_values_depend_on_a_copy_of_the_indices():
    """Writing into the returned indices must not change the gradient (the node keeps its own)."""
    x = t([3.0, 1.0, 2.0], requires_grad=True)
    for v, i in (tg.sort(x), tg.topk(x, 2), tg.kthvalue(x, 2, keepdim=True),
                 tg.kthvalue(x, 2)):
        want = np.zeros(3)
        want[arr(i).reshape(-1)] = 1
        i.fill_(0)
        x.grad = None
        v.sum().backward()
        assert arr(x.grad).tolist() == want.tolist()


# ---- topk / kthvalue ----------------------------------------------------------------------
def test_topk_golden_and_ties_take_the_lower_index():
    x = t([1.0, 2.0, 1.0, 2.0, 1.0])
    v, i = tg.topk(x, 3)
    assert arr(v).tolist() == [2, 2, 1] and arr(i).tolist() == [1, 3, 0]
    v, i = x.topk(2, largest=False, sorted=False)
    assert arr(v).tolist() == [1, 1] and arr(i).tolist() == [0, 2]
    v, i = tg.topk(t([1.0, NAN, 2.0]), 2)       # NaN counts as the largest
    assert np.isnan(arr(v)[0]) and arr(i).tolist() == [1, 2]


def test_topk_gradient_and_shapes():
    x = t([[3.0, 5.0, 4.0], [0.0, 1.0, 2.0]], requires_grad=True)
    v, i = tg.topk(x, 2, dim=0)
    assert v.shape == (2, 3) and arr(i).tolist() == [[0, 0, 0], [1, 1, 1]]
    v, i = tg.topk(x, 2)
    (v * t([1.0, 10.0])).sum().backward()
    assert arr(x.grad).tolist() == [[0, 1, 10], [0, 10, 1]]
    assert tg.topk(x, 0).values.shape == (2, 0)
    assert float(tg.topk(t(7.0), 1).values) == 7.0


def test_kthvalue_golden_keepdim_and_gradient_at_ties():
    x = t([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    v, i = tg.kthvalue(x, 2, 0, True)
    assert v.shape == (1, 3) and arr(v).tolist() == [[3, 5, 4]] and arr(i).tolist() == [[0, 1, 1]]
    y = t([1.0, 2.0, 1.0, 2.0, 1.0], requires_grad=True)
    v, i = y.kthvalue(2)
    assert float(v) == 1.0 and int(i) == 2        # the 2nd in a stable sort
    v.backward()
    assert arr(y.grad).tolist() == [0, 0, 1, 0, 0]  # only the returned index
    v, i = tg.kthvalue(t([1.0, NAN, 2.0]), 3)
    assert np.isnan(float(v)) and int(i) == 1


def test_third_derivative_and_jvp_rule_of_picked_values():
    x = t([0.5, -1.0, 2.0, 1.5], requires_grad=True)
    y = (tg.topk(x, 2).values ** 4).sum()           # picks 2.0 and 1.5
    (g,) = tg.autograd.grad(y, x, create_graph=True)
    (h,) = tg.autograd.grad(g.sum(), x, create_graph=True)
    (k,) = tg.autograd.grad(h.sum(), x)
    assert arr(g).tolist() == [0, 0, 32, 13.5]
    assert arr(h).tolist() == [0, 0, 48, 27]
    assert arr(k).tolist() == [0, 0, 48, 36]
    v = tg.kthvalue(x, 3).values
    tangent = t([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    jv = v.grad_fn.op.jvp(v.grad_fn.ctx, tangent)  # with a Tensor tangent, the rule records
    assert float(jv) == 4.0 and jv.requires_grad


# ---- unique / bincount / histc ---------------------------------------------------------------
def test_unique_golden():
    x = t([[1, 2], [1, 2], [0, 5]])
    assert arr(tg.unique(x)).tolist() == [0, 1, 2, 5]
    u, inv, counts = x.unique(return_inverse=True, return_counts=True)
    assert arr(inv).tolist() == [[1, 2], [1, 2], [0, 3]] and arr(counts).tolist() == [1, 2, 2, 1]
    u, inv, counts = tg.unique(x, dim=0, return_inverse=True, return_counts=True)
    assert arr(u).tolist() == [[0, 5], [1, 2]] and arr(inv).tolist() == [1, 1, 0]
    assert arr(counts).tolist() == [1, 2] and inv.dtype == counts.dtype == tg.int64
    u, counts = tg.unique(t(3.0), return_counts=True)
    assert arr(u).tolist() == [3.0] and arr(counts).tolist() == [1]


def test_unique_keeps_each_nan_and_is_not_differentiable():
    u = tg.unique(t([1.0, NAN, NAN, 1.0], requires_grad=True))
    assert u.shape == (3,) and np.isnan(arr(u)[1:]).all() and not u.requires_grad


def test_bincount_dtypes_and_gradient():
    idx = t([0, 1, 1, 3])
    assert arr(tg.bincount(idx)).tolist() == [1, 2, 0, 1]
    assert tg.bincount(idx).dtype == tg.int64
    assert arr(idx.bincount(minlength=6)).tolist() == [1, 2, 0, 1, 0, 0]
    assert tg.bincount(idx, t([5, 1, 2, 3])).dtype == tg.float64
    assert tg.bincount(idx, t([True, False, True, True])).dtype == tg.float64
    w = t([0.5, 1.0, 2.0, 3.0], requires_grad=True)
    out = tg.bincount(idx, w)
    assert out.dtype == tg.float32 and arr(out).tolist() == [0.5, 3.0, 0.0, 3.0]
    (out * t([1.0, 10.0, 100.0, 1000.0])).sum().backward()
    assert arr(w.grad).tolist() == [1, 10, 10, 1000]      # each weight gets its bin's gradient
    assert tg.bincount(t([], dtype=tg.int64)).shape == (0,)


def test_histc_golden():
    x = t([1.0, 2.0, 1.0, 5.0, -1.0, 3.0, NAN])
    assert arr(tg.histc(x, bins=4, min=0, max=3)).tolist() == [0, 2, 1, 1]  # 3 = max: last bin
    assert arr(t([1.0, 2.0, 1.0]).histc(4)).tolist() == [2, 0, 0, 1]        # data range
    assert arr(tg.histc(t([1.0, 1.0, 1.0]), bins=4)).tolist() == [0, 0, 3, 0]  # widened by 1
    assert arr(tg.histc(t([0.0, 1.0, 2.0, 3.0]), 3, 0.5, 0.5)).tolist() == [1, 1, 2]
    assert arr(tg.histc(t([], dtype=tg.float32), bins=2)).tolist() == [0, 0]
    assert tg.histc(t([1.0], dtype=tg.float64), bins=2).dtype == tg.float64


def test_histc_bins_values_next_to_an_edge_as_pytorch():
    """Goldens from PyTorch where (x - min) / (max - min) * bins would round the other way."""
    x = t([2.1], dtype=tg.float32)
    assert arr(tg.histc(x, bins=19, min=0.3, max=2.2))[18] == 1
    x = t([-1 / 3], dtype=tg.float32)
    assert arr(tg.histc(x, bins=24, min=-1.0, max=0.0))[15] == 1
    x = t([-0.1, 0.3], dtype=tg.float32)
    counts = arr(tg.histc(x, bins=18, min=-0.5, max=0.7))
    assert counts[6] == 1 and counts[12] == 1


def test_histc_matches_pytorch_on_grid_values():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        for _ in range(200):
            bins = int(rng.integers(1, 30))
            x = (rng.integers(-5, 25, size=30) / rng.choice([3, 7, 10])).astype(dtype)
            lo, hi = sorted(rng.integers(-5, 25, size=2) / rng.choice([3, 7, 10]))
            if lo == hi:
                continue
            want = torch.histc(torch.tensor(x), bins=bins, min=lo, max=hi).numpy()
            got = arr(tg.histc(t(x), bins=bins, min=lo, max=hi))
            np.testing.assert_array_equal(got, want, err_msg=f"{x} {bins} [{lo}, {hi}]")


# ---- searchsorted / bucketize ----------------------------------------------------------------
def test_searchsorted_golden():
    s = t([1.0, 3.0, 5.0, 7.0])
    v = t([3.0, 6.0, 9.0, 0.0])
    assert arr(tg.searchsorted(s, v)).tolist() == [1, 3, 4, 0]
    assert arr(tg.searchsorted(s, v, right=True)).tolist() == [2, 3, 4, 0]
    assert arr(tg.searchsorted(s, v, side="right", right=True)).tolist() == [2, 3, 4, 0]
    out = tg.searchsorted(s, 3, out_int32=True)
    assert out.shape == () and int(out) == 1 and out.dtype == tg.int32
    batched = tg.searchsorted(t([[1.0, 3.0], [2.0, 4.0]]), t([[3.0, 6.0, 1.0], [1.0, 2.0, 5.0]]))
    assert arr(batched).tolist() == [[1, 2, 0], [0, 0, 2]]
    unsorted = t([5.0, 1.0, 7.0, 3.0])
    assert arr(tg.searchsorted(unsorted, t([3.0, 6.0]), sorter=t([1, 3, 0, 2]))).tolist() == [1, 3]
    assert arr(tg.searchsorted(t([1, 3, 5]), t([3.5, 6.0]))).tolist() == [2, 3]


def test_bucketize_golden():
    b = t([1.0, 3.0, 5.0, 7.0])
    x = t([[3.0, 6.0], [9.0, 0.0]])
    assert arr(tg.bucketize(x, b)).tolist() == [[1, 3], [4, 0]]
    assert arr(tg.bucketize(x, b, right=True, out_int32=True)).tolist() == [[2, 3], [4, 0]]
    assert int(tg.bucketize(3.0, b)) == 1


def test_search_values_under_pytorchs_keyword_names():
    s, v = t([1.0, 3.0, 5.0]), t([3.0, 6.0])
    for kw in ("input", "values"):                 # PyTorch binds input= (docs say values)
        assert arr(tg.searchsorted(s, **{kw: v})).tolist() == [1, 3]
    assert int(tg.searchsorted(s, self=4.0)) == 2  # PyTorch's name for a number
    assert int(tg.bucketize(self=4.0, boundaries=s)) == 2
    assert arr(tg.bucketize(input=v, boundaries=s)).tolist() == [1, 3]
    with pytest.raises(TypeError, match="searchsorted: pass the values to search once"):
        tg.searchsorted(s, v, values=v)
    with pytest.raises(TypeError, match="searchsorted: .* got none"):
        tg.searchsorted(s)
    with pytest.raises(TypeError, match="bucketize: missing the boundaries"):
        tg.bucketize(v)


@pytest.mark.parametrize("call", [
    lambda x: tg.sort(x, 1.0), lambda x: tg.argsort(x, dim=True), lambda x: tg.topk(x, 1, 0.5),
    lambda x: tg.kthvalue(x, 1, None), lambda x: tg.unique(x, dim=1.0)])
def test_a_dim_that_is_not_an_int_raises_type_error(call):
    with pytest.raises(TypeError, match=r"^(sort|argsort|topk|kthvalue|unique): dim must be "
                                        "an int, got"):
        call(t([[3.0, 1.0], [2.0, 4.0]]))


def test_numpy_keyword_name_axis_as_pytorch():
    x = t([[3.0, 1.0], [2.0, 4.0]])
    assert arr(tg.sort(x, axis=0).values).tolist() == [[2.0, 1.0], [3.0, 4.0]]
    assert arr(x.argsort(axis=1, descending=True)).tolist() == [[0, 1], [1, 0]]
    assert arr(tg.topk(x, 1, axis=0).indices).tolist() == [[0, 1]]
    assert arr(tg.kthvalue(x, 1, axis=1, keepdims=True).values).tolist() == [[1.0], [2.0]]


# ---- Tensor methods --------------------------------------------------------------------------
def test_methods_and_no_inplace_forms():
    x = t([3.0, 1.0, 2.0])
    for name in ("sort", "argsort", "msort", "topk", "kthvalue", "unique", "histc"):
        assert callable(getattr(x, name))
    assert callable(t([0, 1]).bincount)
    for name in ("sort_", "topk_", "searchsorted", "bucketize"):   # none in PyTorch either
        assert not hasattr(x, name)


# ---- errors --------------------------------------------------------------------------------
X = t([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])


@pytest.mark.parametrize("call", [
    lambda: tg.sort(X, 2), lambda: tg.argsort(X, -3), lambda: tg.topk(X, 1, dim=2),
    lambda: tg.kthvalue(X, 1, 5), lambda: tg.unique(X, dim=2), lambda: tg.sort(t(1.0), 1),
    lambda: tg.unique(t(1.0), dim=0)], ids=["sort", "argsort", "topk", "kthvalue", "unique",
                                            "0-d sort", "0-d unique"])
def test_dim_out_of_range(call):
    with pytest.raises(IndexError, match="dim"):
        call()


@pytest.mark.parametrize("call, error, match", [
    (lambda: tg.topk(X, 4), ArgumentError, "k=4 is out of range"),
    (lambda: tg.topk(X, -1), ArgumentError, "k must be in"),
    (lambda: tg.topk(t(1.0), 2), ArgumentError, "out of range"),
    (lambda: tg.topk(X, 1.5), TypeError, "k must be an int"),
    (lambda: tg.topk(t([True, False]), 1), DTypeError, "bool"),
    (lambda: tg.kthvalue(X, 0), ArgumentError, "k must be in \\[1, 3\\]"),
    (lambda: tg.kthvalue(X, 4), ArgumentError, "out of range"),
    (lambda: tg.kthvalue(t(1.0), 2), ArgumentError, "out of range"),
    (lambda: tg.kthvalue(X, True), TypeError, "k must be an int"),
    (lambda: tg.kthvalue(t([[], []]), 1), ShapeError, "size 0"),
    (lambda: tg.kthvalue(t([True]), 1), DTypeError, "bool"),
    (lambda: tg.unique(t([[], []]), dim=0), ShapeError, "size-0 dim"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_select_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("call, error, match", [
    (lambda: tg.bincount(t([0.0, 1.0])), DTypeError, "integer tensor"),
    (lambda: tg.bincount(t([True, False])), DTypeError, "integer tensor"),
    (lambda: tg.bincount(t([[0, 1]])), ShapeError, "1-d"),
    (lambda: tg.bincount(t([0, -1])), ArgumentError, "non-negative"),
    (lambda: tg.bincount(t([0, 1]), minlength=-1), ArgumentError, "minlength"),
    (lambda: tg.bincount(t([0, 1]), minlength=2.0), TypeError, "minlength"),
    (lambda: tg.bincount(t([0, 1]), t([1.0])), ShapeError, "weights"),
    (lambda: tg.histc(t([1, 2])), DTypeError, "floating"),
    (lambda: tg.histc(t([1.0]), bins=0), ArgumentError, "bins must be > 0"),
    (lambda: tg.histc(t([1.0]), bins=2, min=3, max=1), ArgumentError, "larger than min"),
    (lambda: tg.histc(t([1.0, float("inf")])), ArgumentError, "not finite"),
    (lambda: tg.histc(t([1.0, NAN])), ArgumentError, "not finite"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_counting_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


S = t([1.0, 3.0, 5.0])


@pytest.mark.parametrize("call, error, match", [
    (lambda: tg.searchsorted(t(1.0), t([1.0])), ShapeError, "at least one dim"),
    (lambda: tg.searchsorted(t([[1.0, 3.0], [2.0, 4.0]]), t([[1.0]] * 3)), ShapeError,
     "share all dims but the last"),
    (lambda: tg.searchsorted(t([[1.0, 3.0], [2.0, 4.0]]), t([1.0])), ShapeError, "1-d, or"),
    (lambda: tg.searchsorted(t([[1.0, 3.0], [2.0, 4.0]]), 3.0), ShapeError, "1-d, or"),
    (lambda: tg.searchsorted(S, t([1.0]), side="middle"), ArgumentError, "'left' or 'right'"),
    (lambda: tg.searchsorted(S, t([1.0]), side="left", right=True), ArgumentError, "disagree"),
    (lambda: tg.searchsorted(S, t([1.0]), sorter=t([0.0, 1.0, 2.0])), DTypeError, "int64"),
    (lambda: tg.searchsorted(S, t([1.0]), sorter=t([0, 1])), ShapeError, "shape"),
    (lambda: tg.searchsorted(S, t([1.0]), sorter=t([0, 1, 3])), ArgumentError, "out of range"),
    (lambda: tg.searchsorted(t([False, True]), t([True])), DTypeError, "bool"),
    (lambda: tg.bucketize(t([1.0]), t([[1.0, 2.0]])), ShapeError, "1-d"),
    (lambda: tg.bucketize(t([1.0]), t(1.0)), ShapeError, "1-d"),
    (lambda: tg.searchsorted(S, "a"), TypeError, "values must be a tensor or a number"),
    (lambda: tg.unique(t(1.0), dim=0), IndexError, "0-d"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_search_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
