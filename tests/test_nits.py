"""Regression tests for small PyTorch-parity fixes (dtypes, errors), checked against torch."""
import numpy as np
import pytest

import tapegrad as tg

torch = pytest.importorskip("torch")


def _t(lib, value, dtype):
    return lib.tensor(value, dtype=getattr(lib, dtype))


@pytest.mark.parametrize("kind, lo, hi", [
    ("int64", ([0.0], "float32"), ([2.0], "float64")),   # 0-d bounds of two float dtypes
    ("int64", (0.5, None), ([2.0], "float64")),          # number with a 0-d bound
    ("int64", (1, None), ([2.5], "float64")),
    ("int64", (1, None), ([2], "int32")),
    ("int64", None, ([2.0], "float64")),
    ("float32", ([0.0], "float64"), ([2], "int64")),
    ("float32", ([[0.0]], "float64"), ([2], "int64")),    # a 1-d bound
    ("int64", ([1], "int32"), ([2.0], "float32")),
    ("bool", (0, None), ([True], "bool")),
])
def test_clamp_promotes_all_three(kind, lo, hi):
    def bound(lib, b):
        if b is None:
            return None
        value, dtype = b
        if dtype is None:
            return value
        return _t(lib, value[0], dtype)
    values = [True, False, True] if kind == "bool" else [1, 5, 9]
    outs = [lib.clamp(_t(lib, values, kind), min=bound(lib, lo), max=bound(lib, hi))
            for lib in (tg, torch)]
    assert str(outs[0].dtype).split(".")[1] == str(outs[1].dtype).split(".")[1]
    np.testing.assert_array_equal(outs[0].numpy(), outs[1].numpy())


def test_clamp_mixed_bounds_gradients():
    x = tg.tensor([1, 5, 9])
    lo = tg.tensor(0.0, requires_grad=True)
    hi = tg.tensor(2.0, dtype=tg.float64, requires_grad=True)
    tg.clamp(x, min=lo, max=hi).sum().backward()
    assert lo.grad.item() == 0.0 and hi.grad.item() == 2.0


_BOOL_PAIRS = {
    "bool, bool": lambda lib: (lib.tensor([True, False]), lib.tensor([True, True])),
    "bool, 0-d bool": lambda lib: (lib.tensor([True, False]), lib.tensor(True)),
    "bool, True": lambda lib: (lib.tensor([True, False]), True),
    "False, bool": lambda lib: (False, lib.tensor([True, False])),
    "bool, int": lambda lib: (lib.tensor([True, False]), 2),
    "bool, int64": lambda lib: (lib.tensor([True, False]), lib.tensor([1, 2])),
    "uint8, bool": lambda lib: (lib.tensor([1, 2], dtype=lib.uint8), lib.tensor([True, True])),
    "bool, float": lambda lib: (lib.tensor([True, False]), 2.0),
    "float32, True": lambda lib: (lib.tensor([1.0, 2.0]), True),
}


@pytest.mark.parametrize("name", ["pow", "remainder", "fmod", "floor_divide", "sub"])
@pytest.mark.parametrize("pair", sorted(_BOOL_PAIRS))
def test_bool_operands_as_torch(name, pair):
    """Results (dtype and values) where PyTorch computes, a DTypeError where it refuses."""
    try:
        expected = getattr(torch, name)(*_BOOL_PAIRS[pair](torch))
    except (RuntimeError, TypeError):
        with pytest.raises((tg.DTypeError, tg.ArgumentError)) as info:
            getattr(tg, name)(*_BOOL_PAIRS[pair](tg))
        assert info.value.args[0].startswith(name + ":")
        return
    got = getattr(tg, name)(*_BOOL_PAIRS[pair](tg))
    assert str(got.dtype).split(".")[1] == str(expected.dtype).split(".")[1]
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_bool_refusals_messages_and_operators():
    a, b = tg.tensor([True, False]), tg.tensor([True, True])
    with pytest.raises(tg.DTypeError, match="two bool tensors.*logical_xor"):
        a - b
    with pytest.raises(tg.DTypeError, match="with a bool tensor.*logical_not"):
        1 - a
    with pytest.raises(tg.DTypeError, match="remainder: not implemented for two bool.*x.int"):
        a % b
    with pytest.raises(tg.DTypeError, match="floor_divide: not implemented for two bool"):
        a // True
    with pytest.raises(tg.DTypeError, match="pow: not implemented for two bool"):
        a ** b
    assert (a ** False).tolist() == [True, True] and (a ** True).dtype == tg.bool


_PRODUCTS = {
    "addmm": lambda lib, dt: (lib.tensor([[1, 2], [3, 4]], dtype=dt),
                              lib.tensor([[1, -2], [3, 4]], dtype=dt),
                              lib.tensor([[5, 6], [-7, 8]], dtype=dt)),
    "addmv": lambda lib, dt: (lib.tensor([1, -2], dtype=dt), lib.tensor([[1, 2], [3, 4]], dtype=dt),
                              lib.tensor([5, -6], dtype=dt)),
    "addbmm": lambda lib, dt: (lib.tensor([[1, 2], [3, 4]], dtype=dt),
                               lib.arange(8, dtype=dt).reshape(2, 2, 2),
                               lib.arange(8, dtype=dt).reshape(2, 2, 2) - 3),
    "baddbmm": lambda lib, dt: (lib.arange(8, dtype=dt).reshape(2, 2, 2),
                                lib.arange(8, dtype=dt).reshape(2, 2, 2) - 2,
                                lib.arange(8, dtype=dt).reshape(2, 2, 2)),
}


@pytest.mark.parametrize("name", sorted(_PRODUCTS))
@pytest.mark.parametrize("dtype", ["int64", "int32"])
@pytest.mark.parametrize("beta, alpha", [(1, 0.5), (1.5, 1), (2.7, -1.5), (-0.5, 3), (0.0, 1.0)])
def test_integer_products_truncate_float_scales(name, dtype, beta, alpha):
    outs = [getattr(lib, name)(*_PRODUCTS[name](lib, getattr(lib, dtype)), beta=beta,
                               alpha=alpha) for lib in (tg, torch)]
    assert str(outs[0].dtype).split(".")[1] == str(outs[1].dtype).split(".")[1] == dtype
    np.testing.assert_array_equal(outs[0].numpy(), outs[1].numpy())


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 1e30])
def test_integer_products_refuse_unconvertible_scales(bad):
    args = _PRODUCTS["addmm"](torch, torch.int64)
    with pytest.raises(RuntimeError):
        torch.addmm(*args, alpha=bad)
    with pytest.raises(tg.ArgumentError, match="addmm: alpha .* int64"):
        tg.addmm(*_PRODUCTS["addmm"](tg, tg.int64), alpha=bad)
    with pytest.raises(tg.ArgumentError, match="baddbmm: beta"):
        tg.baddbmm(*_PRODUCTS["baddbmm"](tg, tg.int64), beta=bad)


def test_integer_products_in_place_and_float_unchanged():
    a = tg.tensor([[1, 2], [3, 4]])
    a.addmm_(a, a, alpha=0.5, beta=1.5)
    assert a.tolist() == [[1, 2], [3, 4]]
    f = tg.addmm(tg.ones(2, 2), tg.eye(2), tg.eye(2), alpha=0.5, beta=1.5)
    assert f.tolist() == [[2.0, 1.5], [1.5, 2.0]]


_INDEX_ERRORS = {
    "unbind 0-d": (lambda lib: lib.unbind(lib.tensor(1.0)), "unbind: expects a tensor of at least"),
    "unbind method": (lambda lib: lib.tensor(1.0).unbind(-1), "unbind: .* 0-d"),
    "index_select 2-d": (lambda lib: lib.index_select(lib.ones(3), 0, lib.tensor([[0]])),
                         "index_select: index must be a vector"),
    "index_add 2-d": (lambda lib: lib.index_add(lib.ones(3), 0, lib.tensor([[0]]),
                                                lib.ones(1, 1)), "index_add: index must be"),
    "index_fill float": (lambda lib: lib.index_fill(lib.ones(3), 0, lib.tensor([0.0]), 1.0),
                         "index_fill: index must have dtype int64, got float32"),
    "index_fill_ int32": (lambda lib: lib.ones(3).index_fill_(
        0, lib.tensor([0], dtype=lib.int32), 1.0), "index_fill: index must have dtype .*int32"),
}


@pytest.mark.parametrize("case", sorted(_INDEX_ERRORS))
def test_index_errors_are_index_errors(case):
    call, message = _INDEX_ERRORS[case]
    with pytest.raises(IndexError):
        call(torch)
    with pytest.raises(tg.IndexRangeError, match=message) as info:
        call(tg)
    assert isinstance(info.value, IndexError) and isinstance(info.value, RuntimeError)


@pytest.mark.parametrize("ord", ["fro", "nuc", "2", None, [2]])
def test_vector_norm_ord_not_a_number_is_a_type_error(ord):
    with pytest.raises(TypeError):
        torch.linalg.vector_norm(torch.ones(3), ord=ord)
    with pytest.raises(TypeError, match="linalg.vector_norm: ord must be a number.*matrix_norm"):
        tg.linalg.vector_norm(tg.ones(3), ord=ord)
