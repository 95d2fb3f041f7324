"""Loose ends of the op surface: a dim that is not an int, and the JVPs of index_add and
index_put when an input takes no gradient (its tangent is then the scalar 0.0)."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ops import indexing

X = tg.zeros(3, 4)


# ---- a dim that is not an int: TypeError (PyTorch's type), naming the op and the dim --------
@pytest.mark.parametrize("call, name, shown", [
    (lambda: X.unsqueeze(None), "unsqueeze", "None"),
    (lambda: X.transpose(0, 1.5), "transpose", "1.5"),
    (lambda: tg.cat([X, X], 1.5), "cat", "1.5"),
    (lambda: X.cumsum(None), "cumsum", "None"),
    (lambda: X.unbind(True), "unbind", "True"),            # a bool is no dim, as in PyTorch
    (lambda: X.narrow(None, 0, 1), "narrow", "None"),
    (lambda: tg.movedim(X, 0.5, 1), "movedim", "0.5"),
    (lambda: tg.flip(X, 1.5), "flip", "1.5"),
    (lambda: tg.roll(X, 1, [None]), "roll", "None"),
    (lambda: X.unfold(1.0, 2, 1), "unfold", "1.0"),
    (lambda: X.diagonal(0, 0, None), "diagonal", "None"),
    (lambda: tg.squeeze(X, 1.5), "squeeze", "1.5"),          # was "'float' object is not iterable"
    (lambda: X.squeeze((0, None)), "squeeze", "None"),
])
def test_non_int_dim_is_a_type_error(call, name, shown):
    with pytest.raises(TypeError) as info:
        call()
    msg = str(info.value)
    assert not isinstance(info.value, IndexError)
    assert msg.startswith(f"{name}:") and shown in msg and "must be an int" in msg


def test_numpy_integer_dims_still_work_and_out_of_range_stays_an_index_error():
    assert X.unsqueeze(np.int64(-1)).shape == (3, 4, 1)
    assert tg.cat([X, X], np.int32(1)).shape == (3, 8)
    with pytest.raises(tg.IndexRangeError, match=r"unsqueeze: dimension out of range"):
        X.unsqueeze(3)


# ---- index_add / index_put JVPs with a scalar-zero tangent ------------------------------------
KEY = (np.array([0, 2, 0]),)
RNG = np.random.default_rng(0)


def _node(make, base_grad, src_grad, dtype):
    base = tg.tensor(RNG.standard_normal((4, 3)), dtype=dtype, requires_grad=base_grad)
    src = tg.tensor(RNG.standard_normal((3, 3)), dtype=dtype, requires_grad=src_grad)
    out = make(base * 1 if base_grad else base, src)
    return out.grad_fn, base, src


MAKERS = {
    "index_add": lambda b, s: indexing.index_add(b, KEY, s),
    "index_put": lambda b, s: indexing.index_put(b, KEY, s),
    "setitem": lambda b, s: _setitem(b, s),
}


def _setitem(b, s):
    b = b.clone()
    b[KEY] = s
    return b


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
@pytest.mark.parametrize("make", MAKERS, ids=str)
def test_jvp_with_a_scalar_zero_tangent_for_the_base(make, dtype):
    node, base, src = _node(MAKERS[make], False, True, dtype)
    assert node.parents[0] is None                          # the base takes no gradient
    ts = np.asarray(RNG.standard_normal((3, 3))).astype(src.detach().numpy().dtype)
    got = np.asarray(node.op.jvp(node.ctx, 0.0, ts))
    want = np.asarray(node.op.jvp(node.ctx, np.zeros((4, 3), ts.dtype), ts))
    assert got.shape == (4, 3) and got.dtype == want.dtype == ts.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("make", MAKERS, ids=str)
def test_jvp_with_a_scalar_zero_tangent_for_the_source(make):
    node, base, src = _node(MAKERS[make], True, False, tg.float64)
    tb = RNG.standard_normal((4, 3))
    got = np.asarray(node.op.jvp(node.ctx, tb, 0.0))
    want = np.asarray(node.op.jvp(node.ctx, tb, np.zeros((3, 3))))
    assert got.shape == (4, 3)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("make", ["index_add", "index_put"])
def test_jvp_with_scalar_zero_tangents_for_both(make):
    node, _, _ = _node(MAKERS[make], False, True, tg.float64)
    got = np.asarray(node.op.jvp(node.ctx, 0.0, 0.0))
    assert got.shape == (4, 3) and not got.any()
