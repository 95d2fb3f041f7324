"""The rearrange and diagonal families beyond the op database: error paths, golden values,
which results are views (writes reach the input) and which are copies, view() refusing to
copy, view(dtype), and the gradients of overlapping strided views."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tapegrad as tg


def _leaf(values, dtype=tg.float64):
    return tg.tensor(values, dtype=dtype, requires_grad=True)


X = tg.arange(12.0).reshape(3, 4)


# ---- errors -------------------------------------------------------------------------------
@pytest.mark.parametrize("call, error, words", [
    (lambda: X.split([1, 1]), tg.ShapeError, ["sum to 2", "size 3"]),
    (lambda: X.split([2, -1, 2]), tg.ArgumentError, ["non-negative"]),
    (lambda: X.split(0), tg.ArgumentError, ["0"]),
    (lambda: X.split(-2), tg.ArgumentError, ["non-negative"]),
    (lambda: X.split(2, 2), IndexError, ["out of range"]),
    (lambda: X.split(2.0), TypeError, ["ints"]),
    (lambda: tg.tensor(1.0).split(1), tg.ShapeError, ["0-d"]),
    (lambda: X.chunk(0), tg.ArgumentError, ["greater than 0"]),
    (lambda: X.chunk(2.5), TypeError, ["int"]),
    (lambda: X.tensor_split(0), tg.ArgumentError, ["> 0"]),
    (lambda: X.tensor_split(tg.tensor([1.0])), tg.DTypeError, ["integer"]),
    (lambda: X.tensor_split([1.5]), TypeError, ["ints"]),
    (lambda: tg.tensor(1.0).unbind(), tg.IndexRangeError, ["0-d"]),
    (lambda: X.unbind(-3), IndexError, ["out of range"]),
    (lambda: X.narrow(1, 2, 3), tg.ShapeError, ["start (2) + length (3)", "(4)"]),
    (lambda: X.narrow(1, -5, 1), IndexError, ["start out of range"]),
    (lambda: X.narrow(1, 0, -1), tg.ArgumentError, ["non-negative"]),
    (lambda: X.narrow(1, tg.tensor([1]), 1), tg.DTypeError, ["0-d integer"]),
    (lambda: tg.tensor(1.0).narrow(0, 0, 1), tg.ShapeError, ["0-d"]),
    (lambda: tg.movedim(X, (0, 1), (0,)), tg.ShapeError, ["same number"]),
    (lambda: tg.movedim(X, (0, 0), (1, 0)), tg.ArgumentError, ["repeated dim in source"]),
    (lambda: tg.movedim(X, 0, 2), IndexError, ["out of range"]),
    (lambda: tg.movedim(tg.tensor(1.0), 1, 0), IndexError, ["[-1, 0]", "got 1"]),
    (lambda: X.unflatten(1, (3, 2)), tg.ShapeError, ["[3, 2]", "(4)"]),
    (lambda: X.unflatten(1, (-1, -1)), tg.ShapeError, ["[-1, -1]"]),
    (lambda: X.unflatten(1, ()), tg.ShapeError, ["non-empty"]),
    (lambda: X.flip(0, 0), tg.ArgumentError, ["repeated dim"]),
    (lambda: X.flip(2), IndexError, ["out of range"]),
    (lambda: tg.fliplr(tg.ones(3)), tg.ShapeError, ["2-d"]),
    (lambda: tg.flipud(tg.tensor(1.0)), tg.ShapeError, ["1-d"]),
    (lambda: X.roll((1, 2), (0,)), tg.ShapeError, ["2 shifts and 1 dims"]),
    (lambda: X.roll((1, 2)), tg.ShapeError, ["no dims"]),
    (lambda: X.roll(1, 2), IndexError, ["out of range"]),
    (lambda: tg.tensor(1.0).roll(1, 0), tg.ShapeError, ["0-d"]),
    (lambda: X.roll(()), TypeError, ["non-empty"]),
    (lambda: X.rot90(1, (0,)), tg.ShapeError, ["2 rotation dims"]),
    (lambda: X.rot90(1, (1, 1)), tg.ArgumentError, ["differ"]),
    (lambda: tg.ones(3).rot90(), tg.ShapeError, ["at least 2 dims"]),
    (lambda: X.rot90(2.0), TypeError, ["int"]),
    (lambda: X.repeat(2), tg.ShapeError, ["can't be smaller"]),
    (lambda: X.repeat(-1, 2), tg.ArgumentError, ["non-negative"]),
    (lambda: X.repeat_interleave(-1), tg.ArgumentError, ["non-negative"]),
    (lambda: X.repeat_interleave(tg.tensor([1, 2]), dim=0), tg.ShapeError, ["2 counts", "3"]),
    (lambda: X.repeat_interleave(tg.tensor([1, -1, 0]), dim=0), tg.ArgumentError, ["negative"]),
    (lambda: X.repeat_interleave(tg.tensor([1.0, 2.0, 0.0]), dim=0), tg.DTypeError, ["integer"]),
    (lambda: X.repeat_interleave(tg.tensor([[1, 2, 0]]), dim=0), tg.ShapeError, ["0-d or 1-d"]),
    (lambda: X.repeat_interleave(2, dim=0, output_size=5), tg.ShapeError, ["output_size is 5"]),
    (lambda: X.repeat_interleave(tg.tensor([1, 2, 0]), dim=0, output_size=2), tg.ShapeError,
     ["sum to 3"]),
    (lambda: X.repeat_interleave(2, dim=2), IndexError, ["out of range"]),
    (lambda: tg.repeat_interleave(tg.tensor([[1, 2]])), tg.ShapeError, ["1-d integer"]),
    (lambda: X.unfold(1, 5, 1), tg.ShapeError, ["maximum size", "is 4", "size is 5"]),
    (lambda: X.unfold(1, 2, 0), tg.ArgumentError, ["step is 0"]),
    (lambda: X.unfold(1, -1, 1), tg.ArgumentError, ["size is -1"]),
    (lambda: X.unfold(2, 2, 1), IndexError, ["out of range"]),
    (lambda: tg.tensor(1.0).unfold(1, 1, 1), IndexError, ["[-1, 0]", "got 1"]),
    (lambda: X.unfold(0, 2.5, 1), TypeError, ["unfold: size must be an int"]),
    (lambda: X.unfold(0, 2, 1.5), TypeError, ["unfold: step must be an int"]),
    (lambda: tg.as_strided(X, 4, (1,)), TypeError, ["as_strided: size", "sequence of ints"]),
    (lambda: tg.as_strided(X, (2,), (1,), 1.5), TypeError, ["storage_offset must be an int"]),
    (lambda: X.unflatten(1, 4), TypeError, ["unflatten: sizes must be a tuple of ints"]),
    (lambda: X.roll(1.5), TypeError, ["roll: shifts"]),
    (lambda: X.narrow(1, 5, 0), tg.IndexRangeError, ["narrow: start out of range"]),
    (lambda: X.sum(2), tg.IndexRangeError, ["dimension out of range"]),
    (lambda: tg.as_strided(X, (2, 2), (6, 6)), tg.ShapeError, ["element 12", "12 elements"]),
    (lambda: tg.as_strided(X, (2,), (1,), 11), tg.ShapeError, ["out of bounds"]),
    (lambda: tg.as_strided(X, (2, 2), (-1, 1), 2), tg.ArgumentError, ["negative strides"]),
    (lambda: tg.as_strided(X, (2, 2), (1,)), tg.ShapeError, ["same length"]),
    (lambda: tg.as_strided(X, (2,), (1,), -1), tg.ArgumentError, ["storage_offset"]),
    (lambda: tg.as_strided(X, (-2,), (1,)), tg.ArgumentError, ["non-negative"]),
    (lambda: tg.broadcast_tensors(tg.ones(3, 1), tg.ones(2, 2)), tg.ShapeError, ["(3, 1)"]),
    (lambda: tg.hstack([]), tg.ArgumentError, ["non-empty"]),
    (lambda: tg.vstack([tg.ones(2), 3]), TypeError, ["tensors"]),
    (lambda: tg.meshgrid(tg.ones(2), tg.ones(3, 2)), tg.ShapeError, ["tensor 1", "(3, 2)"]),
    (lambda: tg.meshgrid(tg.ones(2), tg.ones(3), indexing="xx"), tg.ArgumentError, ["'xx'"]),
    (lambda: tg.meshgrid(tg.ones(2), tg.ones(3, dtype=tg.float64)), tg.DTypeError, ["dtype"]),
    (lambda: tg.meshgrid(), tg.ArgumentError, ["non-empty"]),
    (lambda: tg.cartesian_prod(tg.ones(2), tg.ones(())), tg.ShapeError, ["1-d", "()"]),
    (lambda: tg.cartesian_prod(tg.ones(2), tg.ones(2, dtype=tg.int64)), tg.DTypeError,
     ["cartesian_prod:", "same dtype"]),
    (lambda: tg.combinations(tg.ones(2, 2)), tg.ShapeError, ["1-d"]),
    (lambda: tg.combinations(tg.ones(3), -1), tg.ArgumentError, ["non-negative"]),
    # diagonal family
    (lambda: tg.tril(tg.ones(3)), tg.ShapeError, ["at least 2 dims"]),
    (lambda: tg.triu(X, 1.5), TypeError, ["int"]),
    (lambda: tg.tril_indices(-1, 3), tg.ArgumentError, ["non-negative"]),
    (lambda: tg.triu_indices(3, 3, dtype=tg.float32), tg.DTypeError, ["int32 or int64"]),
    (lambda: tg.diagonal(tg.ones(3)), IndexError, ["out of range"]),
    (lambda: tg.diagonal(X, 0, 1, -1), tg.ArgumentError, ["must differ"]),
    (lambda: tg.diag(tg.tensor(1.0)), tg.ShapeError, ["1-d or 2-d", "0-d"]),
    (lambda: tg.diag(tg.ones(2, 3, 4)), tg.ShapeError, ["3-d"]),
    (lambda: tg.diag_embed(tg.tensor(1.0)), tg.ShapeError, ["0-d"]),
    (lambda: tg.diag_embed(tg.ones(3), 0, 0, 0), tg.ArgumentError, ["must differ"]),
    (lambda: tg.diag_embed(tg.ones(2, 3), 0, 0, 3), IndexError, ["out of range"]),
    (lambda: tg.trace(tg.ones(3)), tg.ShapeError, ["matrix", "(3,)"]),
    (lambda: tg.trace(tg.ones(2, 2, dtype=tg.bool)), tg.DTypeError, ["bool"]),
])
def test_bad_arguments_raise(call, error, words):
    with pytest.raises(error) as info:
        call()
    for w in words:
        assert w in str(info.value), f"{w!r} not in {str(info.value)!r}"


def test_errors_are_runtime_errors_too():
    with pytest.raises(RuntimeError):
        X.split([1, 1])
    with pytest.raises(RuntimeError):
        X.t().view(12)


# ---- view() never copies ----------------------------------------------------------------
def test_view_of_a_transpose_raises_with_advice():
    with pytest.raises(tg.ShapeError) as info:
        tg.ones(2, 3).t().view(6)
    msg = str(info.value)
    assert "not compatible" in msg and "(3, 2)" in msg and "reshape" in msg
    assert "contiguous().view" in msg


def test_view_where_strides_allow_is_a_view():
    x = tg.zeros(2, 3, 4)
    v = x.permute(1, 0, 2).view(3, 2, 2, 2)      # splits only the contiguous last dim
    v[0, 0, 0, 1] = 5.0
    assert x[0, 0, 1].item() == 5.0
    t = tg.zeros(2, 3).t()
    assert t.view(3, 2).shape == (3, 2)          # same shape: always fine
    assert t.contiguous().view(6).shape == (6,)
    r = t.reshape(6)                             # reshape still copies where it must
    r[0] = 1.0
    assert t.sum().item() == 0.0


def test_view_dtype_reinterprets_bytes_and_shares_memory():
    x = tg.tensor([1.0, -2.0])
    i = x.view(tg.int32)
    np.testing.assert_array_equal(i.numpy(), np.array([1.0, -2.0], np.float32).view(np.int32))
    i[0] = np.float32(4.0).view(np.int32)
    assert x[0].item() == 4.0 and x._version == i._version == 1
    h = tg.zeros(3, 2).view(tg.float16)
    assert h.shape == (3, 4) and h.dtype == tg.float16
    assert tg.zeros(2, 4, dtype=tg.int8).view(tg.int32).shape == (2, 1)
    assert X.t().view(tg.int32).shape == (4, 3)  # same element size: any layout
    assert X.view(dtype=tg.float32).shape == (3, 4)
    # empty tensors: no bytes to misread, whatever strides NumPy gives them (as PyTorch)
    assert tg.zeros(0, 4, dtype=tg.float64).view(tg.int32).shape == (0, 8)
    assert tg.zeros(2, 0).view(tg.float64).shape == (2, 0)
    with pytest.raises(tg.ShapeError, match="divisible by 2"):
        tg.zeros(0, 3).view(tg.float64)


def test_empty_pieces_as_pytorch():
    assert tg.unbind(tg.zeros(0, 3)) == ()
    assert [p.shape for p in tg.split(tg.zeros(0, 2), 0)] == [(0, 2)]
    assert [p.shape for p in tg.chunk(tg.zeros(0, 2), 3)] == [(0, 2)] * 3
    e = tg.zeros(0)
    assert tg.atleast_1d(e) is e and tg.cartesian_prod(e) is e


def test_view_dtype_is_not_differentiable():
    x = _leaf([1.0, 2.0], tg.float32)
    for dt in (tg.float32, tg.float16, tg.int32):
        assert not x.view(dt).requires_grad
    y = x * 1
    v = y.view(tg.int32)
    y.mul_(2)                                    # the base changes: the view stays out
    assert not v.requires_grad and v.grad_fn is None


@pytest.mark.parametrize("call, words", [
    (lambda: tg.ones(3).view(tg.float64), ["divisible by 2"]),
    (lambda: tg.ones(2, 3).t().view(tg.float16), ["stride 1", "stride 3"]),
    (lambda: tg.tensor(1.0).view(tg.float16), ["0-d"]),
    (lambda: tg.ones(2).view("nope"), ["dtype"]),
    (lambda: tg.ones(2, 4, dtype=tg.int8)[:, 1:3].view(tg.int16), ["multiples of 2"]),
    (lambda: tg.ones(3, 5, dtype=tg.int8)[:, :4].view(tg.int16), ["(5, 1)", "multiples of 2"]),
])
def test_view_dtype_errors(call, words):
    with pytest.raises((tg.ShapeError, tg.DTypeError, TypeError)) as info:
        call()
    for w in words:
        assert w in str(info.value)


# ---- views and copies, as in PyTorch -----------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda x: x.split(2, 1)[1], lambda x: x.tensor_split(3, 1)[2], lambda x: x.chunk(2)[0],
    lambda x: x.unbind(1)[1], lambda x: x.narrow(1, 1, 2), lambda x: tg.movedim(x, 0, 1),
    lambda x: x.unflatten(1, (2, 2)), lambda x: x.unfold(1, 2, 2), lambda x: x.diagonal(1),
    lambda x: tg.as_strided(x, (2, 2), (4, 1), 1), lambda x: tg.meshgrid(x[0], x[1])[0],
    lambda x: tg.broadcast_tensors(x, x[0])[1],
])
def test_views_share_memory(make):
    x = X.clone()
    out = make(x)
    assert np.shares_memory(out.numpy(), x.numpy())


@pytest.mark.parametrize("make", [
    lambda x: x.flip(0), lambda x: x.roll(1), lambda x: x.rot90(0), lambda x: x.rot90(1),
    lambda x: x.repeat(1, 1), lambda x: x.tile((1,)), lambda x: x.repeat_interleave(1, 0),
    lambda x: tg.diag(x), lambda x: tg.hstack([x]), lambda x: tg.combinations(x[0]),
])
def test_copies_do_not_share_memory(make):
    x = X.clone()
    assert not np.shares_memory(make(x).numpy(), x.numpy())


def test_writes_through_a_diagonal_view_reach_the_matrix():
    z = tg.zeros(3, 3)
    z.diagonal().fill_(1)
    z.diagonal(1).add_(tg.tensor([2.0, 3.0]))
    np.testing.assert_array_equal(z.numpy(), [[1, 2, 0], [0, 1, 3], [0, 0, 1]])


def test_in_place_through_a_diagonal_view_differentiates_like_out_of_place():
    x = _leaf(np.arange(1.0, 10.0).reshape(3, 3))
    w = _leaf([2.0, 3.0, 4.0])
    y = x * 1
    y.diagonal().mul_(w)
    (y * y).sum().backward()
    gx, gw = x.grad.numpy().copy(), w.grad.numpy().copy()
    x.grad = w.grad = None
    y2 = x * (tg.ones(3, 3, dtype=tg.float64) + tg.diag(w - 1))
    (y2 * y2).sum().backward()
    np.testing.assert_allclose(gx, x.grad.numpy())
    np.testing.assert_allclose(gw, w.grad.numpy())


def test_overlapping_windows_are_read_only_and_accumulate_gradients():
    x = _leaf([1.0, 2.0, 3.0, 4.0, 5.0])
    w = x.unfold(0, 3, 1)                          # windows [1,2,3], [2,3,4], [3,4,5]
    with pytest.raises(tg.ShapeError, match="share one memory location"):
        (x * 1).unfold(0, 3, 1).mul_(2)
    w.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 2, 3, 2, 1])
    x.grad = None
    tg.as_strided(x, (2, 3), (0, 2)).sum().backward()   # stride 0: each row reads again
    np.testing.assert_array_equal(x.grad.numpy(), [2, 0, 2, 0, 2])


def test_as_strided_reads_elements_in_row_major_order():
    x = tg.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(tg.as_strided(x, (3,), (2,), 1).numpy(), [1, 3, 5])
    # a transpose is read as its own row-major elements (a copy), not the base's storage
    np.testing.assert_array_equal(tg.as_strided(x.t(), (3,), (1,)).numpy(), [0, 3, 1])
    assert x.as_strided((2,), (1,)).shape == (2,)


def test_identity_results_are_the_input_itself():
    x = tg.ones(2, 3)
    assert tg.atleast_1d(x) is x and tg.atleast_2d(x) is x
    assert tg.broadcast_tensors(x)[0] is x
    y = tg.ones(3)
    assert tg.cartesian_prod(y) is y
    assert tg.atleast_1d() == () and tg.broadcast_tensors() == ()


# ---- golden values ---------------------------------------------------------------------------
def test_golden_values():
    a = tg.tensor([[1, 2, 3], [4, 5, 6]])
    assert [p.tolist() for p in a.split([2, 1], 1)] == [[[1, 2], [4, 5]], [[3], [6]]]
    assert [p.shape[0] for p in tg.ones(0).chunk(3)] == [0, 0, 0]
    assert [p.tolist() for p in tg.arange(3).tensor_split([1, 5, 2])] == [[0], [1, 2], [], [2]]
    assert a.roll(1).tolist() == [[6, 1, 2], [3, 4, 5]]
    assert a.roll((1, 1), (0, 1)).tolist() == [[6, 4, 5], [3, 1, 2]]
    assert a.rot90(1).tolist() == [[3, 6], [2, 5], [1, 4]]
    assert a.rot90(-1).tolist() == [[4, 1], [5, 2], [6, 3]]
    assert a.repeat_interleave(tg.tensor([1, 0, 2]), dim=1).tolist() == [[1, 3, 3], [4, 6, 6]]
    assert tg.tensor(7).repeat_interleave(2).tolist() == [7, 7]
    assert tg.repeat_interleave(tg.tensor([2, 0, 1])).tolist() == [0, 0, 2]
    assert tg.tril_indices(3, 3, -1).tolist() == [[1, 2, 2], [0, 0, 1]]
    assert tg.triu_indices(2, 2, dtype=tg.int32).dtype == tg.int32
    assert tg.diag(tg.tensor([1, 2]), -1).tolist() == [[0, 0, 0], [1, 0, 0], [0, 2, 0]]
    assert tg.combinations(tg.tensor([1, 2]), 3).shape == (0, 3)
    assert tg.combinations(tg.tensor([1, 2, 3]), 0).shape == (0,)
    assert tg.combinations(tg.tensor([1, 2]), 2, True).tolist() == [[1, 1], [1, 2], [2, 2]]
    assert tg.trace(tg.tensor([[1, 2], [3, 4]], dtype=tg.int32)).dtype == tg.int64
    assert tg.trace(tg.zeros(0, 0)).item() == 0.0
    assert tg.tensor(5.0).unfold(0, 1, 1).tolist() == [5.0]
    assert tg.tensor(5.0).unfold(0, 0, 1).shape == (0,)       # as PyTorch: one empty window


def test_tril_keeps_infinities_out_of_the_triangle():
    x = tg.full((2, 2), float("inf"))
    np.testing.assert_array_equal(tg.tril(x).numpy(), [[np.inf, 0], [np.inf, np.inf]])


def test_tril_in_place_on_a_leaf_requiring_grad_raises():
    with pytest.raises(tg.GradError):
        _leaf([[1.0, 2.0], [3.0, 4.0]]).tril_()
    z = tg.ones(2, 2)
    assert z.triu_() is z and z.tolist() == [[1.0, 1.0], [0.0, 1.0]]


def test_repeat_gradients_sum_over_copies():
    x = _leaf([1.0, 2.0])
    (x.repeat(3, 2) * tg.arange(12.0, dtype=tg.float64).reshape(3, 4)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0 + 2 + 4 + 6 + 8 + 10, 1 + 3 + 5 + 7 + 9 + 11])
    x.grad = None
    x.repeat_interleave(tg.tensor([3, 1])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3, 1])


def test_meshgrid_xy_swaps_the_first_two_dims():
    gx, gy, gz = tg.meshgrid(tg.arange(2), tg.arange(3), tg.arange(4), indexing="xy")
    assert gx.shape == gy.shape == gz.shape == (3, 2, 4)
    assert gx[:, 1, 0].tolist() == [1, 1, 1] and gy[2, :, 0].tolist() == [2, 2]


# ---- properties -----------------------------------------------------------------------------
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=3), data=st.data())
def test_movedim_matches_numpy_and_split_cat_round_trips(shape, data):
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    n = len(shape)
    src = data.draw(st.lists(st.integers(-n, n - 1), unique_by=lambda d: d % n, max_size=n))
    dst = data.draw(st.lists(st.integers(-n, n - 1), unique_by=lambda d: d % n,
                             min_size=len(src), max_size=len(src)))
    np.testing.assert_array_equal(tg.movedim(tg.tensor(a), src, dst).numpy(),
                                  np.moveaxis(a, src, dst))
    d = data.draw(st.integers(0, n - 1))
    size = data.draw(st.integers(1, 3))
    pieces = tg.tensor(a).split(size, d)
    np.testing.assert_array_equal(tg.cat(list(pieces), d).numpy(), a)


@given(numel=st.integers(1, 12), data=st.data())
def test_as_strided_gradient_counts_every_read(numel, data):
    ndim = data.draw(st.integers(1, 3))
    size = tuple(data.draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim)))
    stride = tuple(data.draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim)))
    reach = sum((s - 1) * t for s, t in zip(size, stride))
    if reach >= numel:
        return
    offset = data.draw(st.integers(0, numel - 1 - reach))
    x = tg.arange(float(numel), dtype=tg.float64).requires_grad_()
    cot = np.random.default_rng(0).standard_normal(size)
    y = tg.as_strided(x, size, stride, offset)
    (y * tg.tensor(cot)).sum().backward()
    want = np.zeros(numel)
    for idx in np.ndindex(*size):
        pos = offset + sum(i * t for i, t in zip(idx, stride))
        assert y[idx].item() == pos                 # x[k] == k: each output names its read
        want[pos] += cot[idx]
    np.testing.assert_allclose(x.grad.numpy(), want)


@pytest.mark.parametrize("with_replacement", [False, True])
def test_combinations_of_pairs_in_itertools_order(with_replacement):
    import itertools
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    for n in range(5):
        got = tg.combinations(tg.arange(n), 2, with_replacement).tolist()
        assert got == [list(p) for p in pick(range(n), 2)]
        assert tg.combinations(tg.arange(n), 2, with_replacement).shape[1] == 2
