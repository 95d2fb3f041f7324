"""The scatter family beyond the op database: hand-computed values, ties and zeros, repeated
indices, __setitem__'s gradients, the in-place forms, and every bad-argument path."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad.autograd.gradcheck import gradcheck, gradgradcheck
from tapegrad import IndexRangeError

X = [[1.0, 2.0, 0.0, 3.0], [2.0, 2.0, 5.0, -1.0]]
I = [[0, 0, 1], [3, 3, 3]]
S = [[2.0, 2.0, 4.0], [5.0, 0.0, -1.0]]
W = np.arange(1.0, 9.0).reshape(2, 4)     # weights of the loss sum(out * W)


def leaf(v, dtype=tg.float64):
    return tg.tensor(v, dtype=dtype, requires_grad=True)


def grads(fn, *values):
    """(out, grads of sum(out * W) for each value) with float64 leaves."""
    leaves = [leaf(v) for v in values]
    out = fn(*leaves)
    (out * tg.tensor(W[tuple(slice(0, n) for n in out.shape)])).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in leaves]


# ---- hand-computed values -------------------------------------------------------------------
# (reduce, include_self) -> (out, grad of input, grad of src), worked out by hand for X, I, S
REDUCED = {
    ("sum", True): ([[5, 6, 0, 3], [2, 2, 5, 3]], [[1, 2, 3, 4], [5, 6, 7, 8]],
                    [[1, 1, 2], [8, 8, 8]]),
    ("sum", False): ([[4, 4, 0, 3], [2, 2, 5, 4]], [[0, 0, 3, 4], [5, 6, 7, 0]],
                     [[1, 1, 2], [8, 8, 8]]),
    ("prod", True): ([[4, 8, 0, 3], [2, 2, 5, 0]], [[4, 8, 3, 4], [5, 6, 7, 0]],
                     [[2, 2, 4], [0, 40, 0]]),
    ("prod", False): ([[4, 4, 0, 3], [2, 2, 5, 0]], [[0, 0, 3, 4], [5, 6, 7, 0]],
                      [[2, 2, 2], [0, -40, 0]]),
    ("mean", True): ([[5 / 3, 3, 0, 3], [2, 2, 5, 0.75]], [[1 / 3, 1, 3, 4], [5, 6, 7, 2]],
                     [[1 / 3, 1 / 3, 1], [2, 2, 2]]),
    ("mean", False): ([[2, 4, 0, 3], [2, 2, 5, 4 / 3]], [[0, 0, 3, 4], [5, 6, 7, 0]],
                      [[0.5, 0.5, 2], [8 / 3, 8 / 3, 8 / 3]]),
    # ties: 2 and 2 share row 0's maximum; -1 (input) and -1 (src) share row 1's minimum
    ("amax", True): ([[2, 4, 0, 3], [2, 2, 5, 5]], [[0, 0, 3, 4], [5, 6, 7, 0]],
                     [[0.5, 0.5, 2], [8, 0, 0]]),
    ("amin", True): ([[1, 2, 0, 3], [2, 2, 5, -1]], [[1, 2, 3, 4], [5, 6, 7, 4]],
                     [[0, 0, 0], [0, 0, 4]]),
    ("amin", False): ([[2, 4, 0, 3], [2, 2, 5, -1]], [[0, 0, 3, 4], [5, 6, 7, 0]],
                      [[0.5, 0.5, 2], [0, 0, 8]]),
}


@pytest.mark.parametrize("reduce, include_self", list(REDUCED))
def test_scatter_reduce_golden(reduce, include_self):
    out, (gx, gs) = grads(lambda x, s: tg.scatter_reduce(
        x, 1, tg.tensor(I), s, reduce, include_self=include_self), X, S)
    want_out, want_gx, want_gs = REDUCED[reduce, include_self]
    np.testing.assert_allclose(out, want_out)
    np.testing.assert_allclose(gx, want_gx)
    np.testing.assert_allclose(gs, want_gs)


def test_amin_tie_with_an_excluded_input_goes_to_src():
    """NOTE: with include_self=False an input equal to the minimum takes no part, so the src
    element gets the whole gradient (finite differences agree). PyTorch 2.13 halves it."""
    x, s = leaf([-1.0, 0.0]), leaf([-1.0, 3.0])
    tg.scatter_reduce(x, 0, tg.tensor([0, 0]), s, "amin", include_self=False).sum().backward()
    np.testing.assert_allclose(s.grad.numpy(), [1, 0])
    np.testing.assert_allclose(x.grad.numpy(), [0, 1])


def test_prod_zeros_gradients_at_every_order():
    # one zero in the group: it gets the others' product, the others get 0
    x, s = leaf([0.0, 2.0]), leaf([1.5, 3.0])
    tg.scatter_reduce(x, 0, tg.tensor([0, 0]), s, "prod").sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.5, 1])
    np.testing.assert_allclose(s.grad.numpy(), [0, 0])
    # two zeros: every gradient in the group is 0
    x, s = leaf([0.0]), leaf([0.0, 3.0])
    tg.scatter_reduce(x, 0, tg.tensor([0, 0]), s, "prod").sum().backward()
    np.testing.assert_allclose(np.r_[x.grad.numpy(), s.grad.numpy()], [0, 0, 0])
    # second derivatives with one, two and three zeros in a group (PyTorch's double backward
    # refuses some of these)
    i = tg.tensor([0, 0, 0, 1, 1, 1])
    for sv in ([0.0, 1.5, -2.0, 0.5, 0.0, 1.25], [0.0, 0.0, 1.5, 0.0, 0.0, 0.0]):
        fn = lambda x, s: tg.scatter_reduce(x, 0, i, s, "prod")  # noqa: E731
        assert gradcheck(fn, (leaf([0.75, 0.0]), leaf(sv)))
        assert gradgradcheck(fn, (leaf([0.75, 0.0]), leaf(sv)))


def test_prod_without_zeros_has_second_derivatives():
    i = tg.tensor([0, 0, 1])
    fn = lambda x, s: tg.scatter_reduce(x, 0, i, s, "prod", include_self=False)  # noqa: E731
    assert gradgradcheck(fn, (leaf([0.5, -1.5]), leaf([1.5, -0.75, 2.0])))


def test_integer_results():
    x = tg.tensor([-1, 2])
    assert tg.scatter_reduce(x, 0, tg.tensor([0, 0]), tg.tensor([-2, -2]), "mean").tolist() \
        == [-2, 2]                                          # -5 / 3 rounds down
    assert tg.scatter(x, 0, tg.tensor([1]), 7).tolist() == [-1, 7]
    assert tg.masked_fill(x, x > 0, 1.5).tolist() == [-1, 1]  # truncated, dtype kept
    assert tg.masked_fill(x, x > 0, 1.5).dtype == tg.int64


def test_golden_gather_take_and_masked():
    x = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert tg.gather(x, 0, tg.tensor([[1, 0, 1]])).tolist() == [[4.0, 2.0, 6.0]]
    assert tg.take(x, tg.tensor([-1, 0])).tolist() == [6.0, 1.0]
    assert tg.take_along_dim(x, tg.tensor([[2], [0]]), 1).tolist() == [[3.0], [4.0]]
    assert tg.masked_select(x, tg.tensor([True, False, True])).tolist() == [1.0, 3.0, 4.0, 6.0]
    assert tg.masked_scatter(x, x > 4, tg.tensor([9.0, 8.0, 7.0])).tolist() == \
        [[1.0, 2.0, 3.0], [4.0, 9.0, 8.0]]
    assert tg.index_select(x, 0, tg.tensor(1)).shape == (1, 3)


def test_nonzero_forms():
    assert tg.nonzero(tg.tensor(3.0)).shape == (1, 0)
    assert tg.nonzero(tg.tensor(0.0)).shape == (0, 0)
    (t,) = tg.nonzero(tg.tensor(3.0), as_tuple=True)
    assert t.tolist() == [0] and t.dtype == tg.int64
    x = leaf([[0.0, 1.0], [2.0, 0.0]])
    n = x.nonzero()
    assert n.tolist() == [[0, 1], [1, 0]] and n.dtype == tg.int64 and not n.requires_grad
    assert tg.argwhere(tg.zeros(0, 3)).shape == (0, 2)


# ---- repeated indices and __setitem__ ---------------------------------------------------------
def check_grads(fn, *args):
    assert gradcheck(fn, args)
    assert gradgradcheck(fn, args)


def test_scatter_with_repeats_differentiates_the_written_value():
    """NOTE: only the repeat whose value was kept gets the gradient (PyTorch gives it to all)."""
    i = tg.tensor([[1, 1, 0], [2, 2, 2]])
    check_grads(lambda x, s: tg.scatter(x, 1, i, s), leaf(np.ones((2, 3))),
                leaf(np.arange(6.0).reshape(2, 3)))
    check_grads(lambda x, s: tg.index_copy(x, 0, tg.tensor([1, 1]), s), leaf(np.ones((2, 3))),
                leaf(np.arange(6.0).reshape(2, 3)))


def test_setitem_with_a_negative_and_a_positive_index_naming_one_position():
    """x[[-1, 2]] = v on 3 rows writes one position twice: only the kept value gets the
    gradient, as for x[[2, 2]] = v (the repeat check once missed -1 == 2)."""
    for idx in ([2, 2], [-1, 2], [0, -3]):
        v = leaf([1.0, 2.0])
        y = tg.zeros(3, dtype=tg.float64)
        y[tg.tensor(idx)] = v
        (y * tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64)).sum().backward()
        kept = idx[1] % 3
        assert v.grad.tolist() == [0.0, kept + 1.0], idx
    check_grads(lambda x, v: tg.index_put(x, (tg.tensor([-1, 2]),), v), leaf(np.ones(3)),
                leaf([1.0, 2.0]))


@pytest.mark.parametrize("key, vshape", [
    (lambda: tg.tensor([2, 0, 2]), (3, 4)),                      # repeated rows
    (lambda: tg.tensor([2, 0, 2]), (4,)),                        # repeated, broadcast value
    (lambda: (tg.tensor([1, 1]), tg.tensor([3, 3])), ()),        # repeated element, 0-d
    (lambda: (slice(None), tg.tensor([0, 0, 1])), (3, 1)),       # columns, broadcast
    (lambda: tg.tensor([[True, False, True, False]] * 3), ()),   # bool mask
    (lambda: tg.tensor([[True, False, True, False]] * 3), (6,)),  # bool mask, one per True
    (lambda: (1, slice(1, 3)), (2,)),                            # basic key
])
def test_setitem_gradients_for_destination_and_value(key, vshape):
    def fn(x, v):
        z = x * 1.0
        z[key()] = v * 2.0
        return z
    check_grads(fn, leaf(np.arange(12.0).reshape(3, 4)), leaf(np.linspace(-1, 1, int(
        np.prod(vshape))).reshape(vshape)))


def test_setitem_accumulating_through_index_put():
    fn = lambda x, v: tg.index_put(x, (tg.tensor([0, 0, 2]),), v, accumulate=True)  # noqa
    check_grads(fn, leaf(np.ones((3, 2))), leaf([1.0, -2.0]))


def test_index_tensor_changed_after_forward_does_not_move_gradient():
    x, i = leaf([1.0, 2.0, 3.0]), tg.tensor([2])
    y = tg.gather(x, 0, i)
    i[0] = 0
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]


# ---- in-place forms -------------------------------------------------------------------------
INPLACE = [
    ("scatter_", (1, tg.tensor([[2], [0]]), leaf([[5.0], [6.0]]))),
    ("scatter_add_", (1, tg.tensor([[2, 2]]), leaf([[5.0, 6.0]]))),
    ("scatter_reduce_", (0, tg.tensor([[1, 1, 1, 0]]), leaf([[5.0, 6.0, 7.0, 8.0]]), "amax")),
    ("index_add_", (1, tg.tensor([0, 0]), leaf(np.ones((2, 2))))),
    ("index_copy_", (0, tg.tensor([1]), leaf([[5.0, 6.0, 7.0, 8.0]]))),
    ("index_fill_", (1, tg.tensor([3]), leaf(2.0))),
    ("index_put_", ((tg.tensor([1]), tg.tensor([2])), leaf([3.0]))),
    ("masked_fill_", (tg.tensor([True, False, False, True]), leaf(2.0))),
    ("masked_scatter_", (tg.tensor([True, False, False, True]), leaf(np.arange(4.0)))),
]


@pytest.mark.parametrize("name, args", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_matches_out_of_place(name, args):
    base = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
    x1, x2 = leaf(base), leaf(base)
    out = getattr(x1 * 1.0, name[:-1])(*args)
    (out * tg.tensor(W)).sum().backward()
    want_out, want = out.detach().numpy(), [a.grad.numpy() for a in (x1,) + _grad_args(args)]
    for a in _grad_args(args):
        a.grad = None
    z = x2 * 1.0
    assert getattr(z, name)(*args) is z
    (z * tg.tensor(W)).sum().backward()
    np.testing.assert_allclose(z.detach().numpy(), want_out)
    for g, w in zip([a.grad.numpy() for a in (x2,) + _grad_args(args)], want):
        np.testing.assert_allclose(g, w)
    with pytest.raises(tg.GradError, match=name):
        getattr(leaf(base), name)(*args)


def _grad_args(args):
    return tuple(a for a in args if isinstance(a, tg.Tensor) and a.requires_grad)


def test_inplace_cannot_change_shape():
    with pytest.raises(tg.ShapeError, match="masked_fill_.*shape"):
        tg.zeros(4).masked_fill_(tg.ones(3, 4, dtype=tg.bool), 1.0)


# ---- errors ---------------------------------------------------------------------------------
x34 = tg.zeros(3, 4)
i2 = tg.tensor([[0, 1], [1, 0]])
ERRORS = [
    # gather / scatter family
    (lambda: tg.gather(x34, 1, i2.float()), tg.DTypeError, "gather: index must have dtype"),
    (lambda: tg.gather(x34, 1, tg.tensor([0, 1])), tg.ShapeError, "gather: index has 1 dims"),
    (lambda: tg.gather(x34, 1, tg.tensor([[5]])), IndexRangeError,
     r"gather: index 5 is out of bounds for dimension 1 with size 4"),
    (lambda: tg.gather(x34, 1, tg.tensor([[-1]])), IndexRangeError, "index -1 is out of bounds"),
    (lambda: tg.gather(x34, 2, i2), IndexError, r"gather: dimension out of range"),
    (lambda: tg.gather(x34, 1, tg.zeros(4, 1, dtype=tg.int64)), tg.ShapeError,
     r"larger than input of shape \(3, 4\) in dim 0"),
    (lambda: tg.scatter(x34, 1, i2, tg.zeros(2, 1)), tg.ShapeError,
     r"larger than src of shape \(2, 1\)"),
    (lambda: tg.scatter(x34, 1, i2, tg.zeros(2)), tg.ShapeError, "but src has 1"),
    (lambda: tg.scatter(x34, 1, i2, tg.zeros(2, 2, dtype=tg.float64)), tg.DTypeError,
     "scatter: input and src must have the same dtype"),
    (lambda: tg.scatter(x34, 1, i2, 1.0, reduce="mean"), tg.ArgumentError, "'add' or 'multiply'"),
    (lambda: tg.scatter(x34, 1, i2, tg.zeros(2, 2), value=1.0), tg.ArgumentError, "not both"),
    (lambda: tg.scatter(x34, 1, i2), tg.ArgumentError, "pass src"),
    (lambda: tg.scatter(x34, 1, [[0]], 1.0), TypeError, "index must be an integer tensor"),
    (lambda: tg.scatter_add(x34, 1, i2, 1.0), TypeError, "scatter_add: src must be a tensor"),
    (lambda: tg.scatter_reduce(x34, 1, i2, tg.zeros(2, 2), "max"), tg.ArgumentError,
     "'sum', 'prod'"),
    (lambda: tg.scatter_reduce(x34, 0, tg.tensor([[3, 0]]), tg.zeros(2, 2), "sum"),
     IndexRangeError, "index 3 is out of bounds for dimension 0 with size 3"),
    # index_* ops
    (lambda: tg.index_select(x34, 1, i2), IndexRangeError,
     "index_select: index must be a vector"),
    (lambda: tg.index_select(x34, 1, tg.tensor([1.0])), tg.DTypeError, "int64 or int32"),
    (lambda: tg.index_select(x34, 1, tg.tensor([4])), IndexRangeError,
     "index_select: index 4 is out of bounds for dimension 1 with size 4"),
    (lambda: tg.index_select(x34, -3, tg.tensor([0])), IndexError, "dimension out of range"),
    (lambda: tg.index_select(tg.tensor(1.0), 0, tg.tensor([0, 0])), tg.ShapeError,
     "one value"),
    (lambda: tg.index_add(x34, 1, tg.tensor([0, 0]), tg.ones(3, 3)), tg.ShapeError,
     r"source has shape \(3, 3\) but must have shape \(3, 2\)"),
    (lambda: tg.index_add(x34, 1, tg.tensor([0]), tg.ones(3, 1, dtype=tg.float64)),
     tg.DTypeError, "index_add: input and source must have the same dtype"),
    (lambda: tg.index_copy(x34, 1, tg.tensor([0], dtype=tg.int32), tg.ones(3, 1)),
     tg.DTypeError, "index_copy: index must have dtype int64"),
    (lambda: tg.index_fill(x34, 1, tg.tensor([0], dtype=tg.int32), 1.0), IndexRangeError,
     "index_fill: index must have dtype int64"),
    (lambda: tg.index_fill(x34, 1, tg.tensor([-5]), 1.0), IndexRangeError,
     r"allowed values: \[-4, 3\]"),
    (lambda: tg.index_fill(x34, 1, tg.tensor([0]), tg.ones(1)), tg.ShapeError, "0-d tensor"),
    (lambda: tg.index_put(x34, (tg.tensor([0.0]),), tg.ones(4)), tg.DTypeError,
     r"index_put: indices\[0\]"),
    (lambda: tg.index_put(x34, (tg.tensor([0]),), 1.0), TypeError, "values must be a tensor"),
    (lambda: tg.index_put(x34, (tg.tensor([3]),), tg.ones(4)), IndexRangeError,
     "index_put: index 3 is out of bounds for dimension 0 with size 3"),
    (lambda: tg.index_put(x34, (tg.tensor([0]),) * 3, tg.ones(1)), IndexRangeError,
     "too many indices"),
    (lambda: tg.index_put(x34, (tg.tensor([0, 1]),), tg.ones(3)), tg.ShapeError,
     r"values of shape \(3,\) can't be broadcast to the indexed region of shape \(2, 4\)"),
    (lambda: tg.index_put(x34, (), tg.ones(3)), tg.ArgumentError, "non-empty tuple"),
    (lambda: tg.index_put(x34, (None,), tg.ones(3)), TypeError, "integer or bool tensor"),
    (lambda: tg.index_put(x34, (tg.tensor([True, False]),), tg.ones(4)), IndexError,
     r"index_put: a boolean mask of shape \(2,\)"),
    # __setitem__: out-of-range indices name the op and the tensor, on both paths
    (lambda: tg.zeros(3).__setitem__(tg.tensor([5]), 1.0), IndexError,
     r"setitem: index 5 is out of bounds .*tensor of shape \(3,\)"),
    (lambda: (tg.zeros(3) * 1).__setitem__(tg.tensor([-4]), leaf([1.0])), IndexError,
     "setitem: index -4 is out of bounds"),
    # masks
    (lambda: tg.masked_fill(x34, tg.ones(4, dtype=tg.int64), 1.0), tg.DTypeError,
     "masked_fill: mask must be a bool tensor, got int64"),
    (lambda: tg.masked_fill(x34, tg.ones(2, dtype=tg.bool), 1.0), tg.ShapeError,
     r"input of shape \(3, 4\) and mask of shape \(2,\)"),
    (lambda: tg.masked_fill(x34, x34 > 0, tg.ones(1)), tg.ShapeError, "0-d tensor"),
    (lambda: tg.masked_select(x34, tg.ones(4)), tg.DTypeError, "masked_select: mask"),
    (lambda: tg.masked_scatter(x34, x34 == 0, tg.ones(11)), tg.ShapeError,
     "source has 11 elements but the mask has 12 True values"),
    (lambda: tg.masked_scatter(x34, x34 == 0, tg.ones(12, dtype=tg.float64)), tg.DTypeError,
     "masked_scatter"),
    # take, take_along_dim
    (lambda: tg.take(x34, tg.tensor([0], dtype=tg.int32)), tg.DTypeError, "take: index"),
    (lambda: tg.take(x34, tg.tensor([12])), IndexRangeError,
     r"take: index 12 is out of range for a tensor of 12 elements"),
    (lambda: tg.take_along_dim(x34, tg.tensor([0]), 1), tg.ShapeError, "same number of dims"),
    (lambda: tg.take_along_dim(x34, tg.tensor([[0]], dtype=tg.int32), 1), tg.DTypeError,
     "take_along_dim: indices must have dtype int64"),
    (lambda: tg.take_along_dim(x34, tg.tensor([[4]]), 1), IndexRangeError, "index 4"),
    (lambda: tg.take_along_dim(x34, tg.tensor([[0], [0]]), 1), tg.ShapeError,
     "can't be broadcast"),
    (lambda: tg.take_along_dim(x34, tg.tensor([[0]]), 2), IndexError, "dimension out of range"),
    (lambda: tg.index_add(x34, 1, tg.tensor([0]), tg.zeros(3, 1), alpha="a"), TypeError,
     "index_add: alpha must be a number"),
]


@pytest.mark.parametrize("call, error, message", ERRORS, ids=[m[:40] for _, _, m in ERRORS])
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_out_of_range_is_both_index_and_runtime_error():
    for cls in (IndexError, RuntimeError, ValueError):
        with pytest.raises(cls):
            tg.gather(x34, 0, tg.tensor([[7]]))


def test_gather_and_scatter_add_are_adjoint_on_random_shapes():
    """<gather(x, d, i), y> = <x, scatter_add(0, d, i, y)> over random ranks, dims, sizes."""
    rng = np.random.default_rng(5)
    for _ in range(20):
        shape = tuple(rng.integers(1, 4, rng.integers(1, 4)))
        d = int(rng.integers(-len(shape), len(shape)))
        ishape = tuple(int(rng.integers(1, n + 1)) if k != d % len(shape) else
                       int(rng.integers(0, 5)) for k, n in enumerate(shape))
        i = tg.tensor(rng.integers(0, shape[d], ishape))
        x, y = tg.tensor(rng.standard_normal(shape)), tg.tensor(rng.standard_normal(ishape))
        lhs = (tg.gather(x, d, i) * y).sum().item()
        rhs = (x * tg.scatter_add(tg.zeros_like(x), d, i, y)).sum().item()
        assert abs(lhs - rhs) < 1e-9, (shape, d, ishape)


@pytest.mark.parametrize("call", [
    lambda y, i, s: y.scatter_(1, i, s, reduce="multiply"),
    lambda y, i, s: y.scatter_reduce_(1, i, s, "prod"),
    lambda y, i, s: y.scatter_reduce_(1, i, s, "amax", include_self=False),
])
def test_in_place_reduce_into_a_tensor_without_grad_keeps_its_old_values(call):
    """Only src requires grad: the rule still reads the input's values from before the write
    (it used to save the tensor itself, which the write then changed: backward refused)."""
    y = tg.arange(1.0, 13.0, dtype=tg.float64).reshape(3, 4)
    s = tg.tensor([[1.0, 2.0, 3.0, 1.0], [2.0, 3.0, 1.0, 2.0]], dtype=tg.float64,
                  requires_grad=True)
    i = tg.tensor([[2, 0, 1, 2], [1, 1, 0, 0]])
    out = call(y, i, s)
    assert out is y and not y.is_leaf
    (y * y).sum().backward()
    y0 = tg.arange(1.0, 13.0, dtype=tg.float64).reshape(3, 4)
    s0 = s.detach().requires_grad_()
    expected, = tg.autograd.grad((call(y0.clone(), i, s0) ** 2).sum(), [s0])
    np.testing.assert_allclose(s.grad.numpy(), expected.numpy())


def test_index_add_alpha_takes_an_integer_tensors_dtype():
    """PyTorch converts alpha to the tensor's dtype: 2.5 acts as 2 on an int64 tensor."""
    out = tg.index_add(tg.arange(4), 0, tg.tensor([1, 1]), tg.tensor([2, 3]), alpha=2.5)
    assert out.dtype == tg.int64 and out.tolist() == [0, 11, 2, 3]
