"""tapegrad.nn.functional's sparse part: one_hot, embedding and embedding_bag by hand, their
gradient conventions (padding_idx, scale_grad_by_freq, max_norm's in-place renorm) and error
cases. Rows and torch parity cases are in tests/opinfo_nn_vision.py."""
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad import ArgumentError, DTypeError, IndexRangeError, ShapeError


def weight(rows=5, dim=2, grad=True):
    w = np.arange(rows * dim, dtype=np.float64).reshape(rows, dim)
    return tg.tensor(w, requires_grad=grad)


def idx(*values):
    return tg.tensor(np.array(values, dtype=np.int64))


# ---- one_hot ------------------------------------------------------------------------------------
def test_one_hot_by_hand():
    out = F.one_hot(idx([1, 0], [2, 2]), 4)
    assert out.dtype == tg.int64 and out.shape == (2, 2, 4)
    assert out.tolist() == [[[0, 1, 0, 0], [1, 0, 0, 0]], [[0, 0, 1, 0], [0, 0, 1, 0]]]
    assert F.one_hot(tg.tensor(2)).tolist() == [0, 0, 1]
    assert F.one_hot(idx(), 3).shape == (0, 3)


@pytest.mark.parametrize("x, n, err, match", [
    (idx(0, -1), -1, IndexRangeError, "non-negative"),
    (idx(0, 3), 3, IndexRangeError, "smaller than num_classes"),
    (idx(0, 1), 0, IndexRangeError, "smaller than num_classes"),
    (idx(), -1, ArgumentError, "empty"),
    (idx(), 0, ArgumentError, "empty"),                  # torch refuses 0 classes here too
    (tg.tensor([0, 1], dtype=tg.int32), 3, DTypeError, "int64"),
    (tg.tensor([0.0, 1.0]), 3, DTypeError, "int64"),
])
def test_one_hot_errors(x, n, err, match):
    with pytest.raises(err, match=match):
        F.one_hot(x, n)


# ---- embedding ----------------------------------------------------------------------------------
def test_embedding_by_hand_and_repeats_accumulate():
    w = weight()
    out = F.embedding(idx([4, 1], [1, 1]), w)
    assert out.shape == (2, 2, 2)
    assert out.tolist() == [[[8, 9], [2, 3]], [[2, 3], [2, 3]]]
    out.sum().backward()
    assert w.grad.tolist() == [[0, 0], [3, 3], [0, 0], [0, 0], [1, 1]]


def test_embedding_padding_row_reads_its_value_but_gets_no_gradient():
    w = weight()
    out = F.embedding(idx(2, 0, 2), w, padding_idx=2)
    assert out.tolist() == [[4, 5], [0, 1], [4, 5]]          # PyTorch keeps the row's value
    (out * 3).sum().backward()
    assert w.grad.tolist() == [[3, 3], [0, 0], [0, 0], [0, 0], [0, 0]]
    w.grad = None
    F.embedding(idx(4, 1), w, padding_idx=-1).sum().backward()      # -1 is row 4
    assert w.grad.tolist() == [[0, 0], [1, 1], [0, 0], [0, 0], [0, 0]]


def test_embedding_scale_grad_by_freq_divides_by_the_count():
    w = weight()
    F.embedding(idx(1, 3, 1, 1), w, scale_grad_by_freq=True).sum().backward()
    assert w.grad.tolist() == [[0, 0], [1, 1], [0, 0], [1, 1], [0, 0]]
    # higher derivatives see the same scaled linear map: the gradient's own gradient is 0
    w2 = weight()
    out = F.embedding(idx(1, 1), w2, scale_grad_by_freq=True)
    g, = tg.autograd.grad(out.pow(2).sum(), w2, create_graph=True)
    assert g.tolist() == [[0, 0], [4, 6], [0, 0], [0, 0], [0, 0]]   # 2 * row * 2 / 2


def test_embedding_max_norm_renormalizes_in_place_untracked():
    w = tg.tensor([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]], requires_grad=True)
    version = w._version
    out = F.embedding(idx(0, 1), w, max_norm=1.0)
    scale = 1.0 / (5.0 + 1e-7)
    np.testing.assert_allclose(w.detach().numpy(), [[3 * scale, 4 * scale], [0.3, 0.4],
                                                    [6.0, 8.0]])   # row 2 not referenced
    assert w._version > version and w.is_leaf
    np.testing.assert_allclose(out.detach().numpy(), w.detach().numpy()[:2])
    out.sum().backward()                                   # the renorm is not differentiated
    assert w.grad.tolist() == [[1, 1], [1, 1], [0, 0]]


def test_embedding_int32_indices_and_float16_weight():
    w = tg.tensor(np.ones((3, 2), dtype=np.float16))
    out = F.embedding(tg.tensor([2, 0], dtype=tg.int32), w)
    assert out.dtype == tg.float16 and out.shape == (2, 2)


@pytest.mark.parametrize("x, w, kw, err, match", [
    (idx(0, 5), (5, 2), {}, IndexRangeError, r"index 5 at position 1 .* 5 rows"),
    (idx(-1), (5, 2), {}, IndexRangeError, "index -1"),
    (tg.tensor([0.0, 1.0]), (5, 2), {}, DTypeError, "int32 or int64"),
    (idx(0), (5,), {}, ShapeError, "2-d"),
    (idx(0), (5, 2, 2), {}, ShapeError, "2-d"),
    (idx(0), (5, 2), {"padding_idx": 5}, IndexRangeError, "padding_idx"),
    (idx(0), (5, 2), {"padding_idx": -6}, IndexRangeError, "padding_idx"),
    (idx(0), (5, 2), {"padding_idx": 5}, AssertionError, "padding_idx"),    # torch's class
])
def test_embedding_errors(x, w, kw, err, match):
    with pytest.raises(err, match=match) as info:
        F.embedding(x, tg.zeros(*w), **kw)
    assert "embedding:" in str(info.value)


def test_out_of_range_index_is_an_index_error():
    with pytest.raises(IndexError):
        F.embedding(idx(9), tg.zeros(3, 2))


# ---- embedding_bag ------------------------------------------------------------------------------
def test_embedding_bag_modes_by_hand():
    w = weight()
    x, offsets = idx(0, 4, 1, 1, 3), idx(0, 2, 2)            # bags [0, 4], [], [1, 1, 3]
    assert F.embedding_bag(x, w, offsets, mode="sum").tolist() == [[8, 10], [0, 0], [10, 13]]
    np.testing.assert_allclose(F.embedding_bag(x, w, offsets).detach().numpy(),
                               [[4, 5], [0, 0], [10 / 3, 13 / 3]])
    assert F.embedding_bag(x, w, offsets, mode="max").tolist() == [[8, 9], [0, 0], [6, 7]]
    fixed = F.embedding_bag(idx([0, 4], [1, 3]), w, mode="sum")
    assert fixed.tolist() == [[8, 10], [8, 10]]


def test_embedding_bag_gradients_by_hand():
    w = weight()
    x, offsets = idx(0, 4, 1, 1, 3), idx(0, 2)
    F.embedding_bag(x, w, offsets, mode="mean").sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [[.5, .5], [2 / 3, 2 / 3], [0, 0],
                                                [1 / 3, 1 / 3], [.5, .5]])
    w.grad = None
    F.embedding_bag(x, w, offsets, mode="max").sum().backward()     # maxima: rows 4 and 3
    assert w.grad.tolist() == [[0, 0], [0, 0], [0, 0], [1, 1], [1, 1]]


def test_embedding_bag_padding_is_left_out_of_the_bag_and_its_count():
    w = weight()
    out = F.embedding_bag(idx([2, 2, 0], [2, 2, 2]), w, mode="mean", padding_idx=2)
    assert out.tolist() == [[0, 1], [0, 0]]                # [0] alone; an all-padding bag is 0
    out.sum().backward()
    assert w.grad.tolist() == [[1, 1], [0, 0], [0, 0], [0, 0], [0, 0]]


def test_embedding_bag_per_sample_weights():
    w, p = weight(), tg.tensor([2.0, -1.0, 0.5], dtype=tg.float64, requires_grad=True)
    out = F.embedding_bag(idx(1, 2, 4), w, idx(0, 2), mode="sum", per_sample_weights=p)
    assert out.tolist() == [[2 * 2 - 4, 2 * 3 - 5], [4, 4.5]]
    out.sum().backward()
    assert p.grad.tolist() == [5, 9, 17]                   # the rows' sums


def test_embedding_bag_include_last_offset():
    """offsets hold B + 1 entries; indices after the last offset belong to no bag (the
    documented contract; PyTorch's CPU mean/max fold them into the last bag)."""
    w = weight()
    out = F.embedding_bag(idx(0, 1, 2, 3), w, idx(0, 1, 3), mode="sum",
                          include_last_offset=True)
    assert out.tolist() == [[0, 1], [6, 8]]
    out = F.embedding_bag(idx(0, 1, 2, 3), w, idx(0, 1, 2), mode="mean",
                          include_last_offset=True)
    assert out.tolist() == [[0, 1], [2, 3]]


def test_embedding_bag_scale_grad_by_freq_uses_each_index_count():
    """The documented rule, 1 / (count of the index in the batch); PyTorch 2.13's CPU backward
    divides a once-seen index sorting after a repeated one by the wrong count
    (pytorch/pytorch#190063)."""
    w = weight(4, 3)
    F.embedding_bag(idx(1, 1, 3), w, idx(0), mode="sum", scale_grad_by_freq=True) \
        .sum().backward()
    assert w.grad[:, 0].tolist() == [0, 1, 0, 1]


def test_embedding_bag_float16_sums_in_float32():
    """2048 + 1 + 1 is 2048 summed in float16 (spacing 2 there), 2050 summed in float32."""
    w = tg.tensor(np.array([[2048.0], [1.0]], dtype=np.float16))
    out = F.embedding_bag(idx([0, 1, 1]), w, mode="sum")
    assert out.dtype == tg.float16 and out.tolist() == [[2050.0]]


def test_embedding_bag_max_norm_renormalizes_the_named_rows():
    w = tg.tensor([[3.0, 4.0], [6.0, 8.0]], requires_grad=True)
    F.embedding_bag(idx(0, 0), w, idx(0), mode="sum", max_norm=2.0)
    np.testing.assert_allclose(w.detach().numpy()[0], [1.2, 1.6], rtol=1e-6)
    np.testing.assert_array_equal(w.detach().numpy()[1], [6.0, 8.0])


@pytest.mark.parametrize("x, offsets, kw, err, match", [
    (idx([0, 1]), idx(0), {}, ArgumentError, "offsets has to be None"),
    (idx(0, 1), None, {}, ArgumentError, "needs offsets"),
    (idx(0, 1), idx(1), {}, ArgumentError, r"offsets\[0\] has to be 0"),
    (idx(0, 1), idx(0, 3), {}, IndexRangeError, "greater than the input's length 2"),
    (idx(0, 1, 2), idx(0, 2, 1), {}, ArgumentError, "non-decreasing"),
    (idx(0, 1), idx([0]), {}, ShapeError, "offsets has to be a 1-d"),
    (idx(0, 1), tg.tensor([0.0]), {}, DTypeError, "offsets"),
    (idx(0, 5), idx(0), {}, IndexRangeError, r"index 5 at position 1"),
    (idx(0, 1), idx(0), {"mode": "min"}, ArgumentError, "mode has to be"),
    (idx(0, 1), idx(0), {"mode": "mean", "per_sample_weights": tg.ones(2)}, ArgumentError,
     "only supported for mode='sum'"),
    (idx(0, 1), idx(0), {"mode": "max", "per_sample_weights": tg.ones(2)},
     NotImplementedError, "only supported for mode='sum'"),                    # torch's class
    (idx(0, 1), idx(0), {"mode": "sum", "per_sample_weights": tg.ones(3)}, ShapeError,
     "must have the input's shape"),
    (idx(0, 1), idx(0), {"mode": "max", "scale_grad_by_freq": True}, ArgumentError,
     "max mode"),
    (idx(0, 1), idx(0), {"padding_idx": 7}, IndexRangeError, "padding_idx"),
    (idx([[0]]), None, {}, ShapeError, "1-d .* or 2-d"),
    (idx(0, 1), idx(0, -1), {}, IndexError, "non-negative"),           # torch's class
    (idx(0, 1), idx(0), {"mode": "sum", "per_sample_weights": tg.ones(2, dtype=tg.float64)},
     DTypeError, "per_sample_weights"),
])
def test_embedding_bag_errors(x, offsets, kw, err, match):
    with pytest.raises(err, match=match) as info:
        F.embedding_bag(x, tg.zeros(5, 2), offsets, **kw)
    assert "embedding_bag:" in str(info.value)


def test_embedding_bag_needs_a_float_weight():
    with pytest.raises(DTypeError, match="embedding_bag: weight must have a floating"):
        F.embedding_bag(idx(0), tg.ones(3, 2, dtype=tg.int64), idx(0))


def test_embedding_bag_max_gives_a_tie_to_the_first_row_as_torch():
    w = tg.tensor([[1.0, 2.0], [1.0, 5.0], [1.0, 5.0]], requires_grad=True)
    out = F.embedding_bag(idx([1, 0, 2]), w, mode="max")
    out.sum().backward()
    assert out.tolist() == [[1.0, 5.0]]
    assert w.grad.tolist() == [[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
