"""User-facing errors: each names the op and the shapes or dtypes involved, and is raised
as a subclass of the builtin a PyTorch user would catch."""
import numpy as np
import pytest

import tapegrad as tg


def _raises(cls, fn):
    """Run fn, expecting cls; return the message."""
    with pytest.raises(cls) as info:
        fn()
    return str(info.value)


# ---- error classes -----------------------------------------------------------------------------
def test_error_classes_subclass_builtins():
    assert issubclass(tg.ShapeError, ValueError)
    assert issubclass(tg.DTypeError, TypeError)
    assert issubclass(tg.GradError, RuntimeError)
    assert issubclass(tg.autograd.GradcheckError, RuntimeError)


# ---- shapes ------------------------------------------------------------------------------------
def test_matmul_shape_mismatch():
    msg = _raises(tg.ShapeError, lambda: tg.ones(2, 3) @ tg.ones(2, 3))
    assert "matmul" in msg and "(2, 3)" in msg and "b.T" in msg
    msg = _raises(tg.ShapeError, lambda: tg.matmul(tg.ones(4), tg.ones(3)))
    assert "matmul" in msg and "(4,)" in msg and "(3,)" in msg
    msg = _raises(tg.ShapeError, lambda: tg.ones(2, 2, 3) @ tg.ones(3, 3, 4))
    assert "batch" in msg and "(2,)" in msg and "(3,)" in msg
    msg = _raises(tg.ShapeError, lambda: tg.mm(tg.ones(3), tg.ones(3, 3)))
    assert "mm" in msg and "2-d" in msg


def test_reshape_to_incompatible_size():
    msg = _raises(tg.ShapeError, lambda: tg.ones(2, 3).reshape(4))
    assert "reshape" in msg and "[4]" in msg and "6" in msg and "(2, 3)" in msg
    msg = _raises(tg.ShapeError, lambda: tg.ones(2, 3).view(-1, -1))
    assert "-1" in msg
    msg = _raises(tg.ShapeError, lambda: tg.ones(2, 3).reshape(4, -1))
    assert "(2, 3)" in msg


def test_cat_and_stack_with_mismatched_shapes():
    msg = _raises(tg.ShapeError, lambda: tg.cat([tg.ones(2, 3), tg.ones(2, 4)]))
    assert "cat" in msg and "(2, 3)" in msg and "(2, 4)" in msg and "position 1" in msg
    msg = _raises(tg.ShapeError, lambda: tg.stack([tg.ones(2), tg.ones(3)]))
    assert "stack" in msg and "(2,)" in msg and "(3,)" in msg
    with pytest.raises(TypeError):
        tg.cat(tg.ones(2))                 # a tensor, not a sequence


def test_expand_of_a_non_singleton_dim():
    msg = _raises(tg.ShapeError, lambda: tg.ones(2, 3).expand(4, 3))
    assert "expand" in msg and "(2, 3)" in msg and "4" in msg
    assert tg.ones(1, 3).expand(4, 3).shape == (4, 3)      # size-1 dims may grow


@pytest.mark.parametrize("call, name", [
    (lambda t: t.sum(dim=2), "sum"),
    (lambda t: t.mean(dim=-3), "mean"),
    (lambda t: t.transpose(0, 3), "transpose"),
    (lambda t: t.unsqueeze(4), "unsqueeze"),
    (lambda t: t.squeeze(2), "squeeze"),
    (lambda t: tg.cat([t, t], dim=2), "cat"),
    (lambda t: t.max(dim=5), "max"),
    (lambda t: t.argmax(dim=2), "argmax"),
])
def test_dim_out_of_range(call, name):
    msg = _raises(IndexError, lambda: call(tg.ones(2, 3)))  # IndexError, as in PyTorch
    assert name in msg and "out of range" in msg


def test_index_out_of_range():
    msg = _raises(IndexError, lambda: tg.ones(3)[5])
    assert "(3,)" in msg
    msg = _raises(IndexError, lambda: tg.ones(3)[tg.tensor([5])])
    assert "(3,)" in msg
    msg = _raises(IndexError, lambda: tg.ones(3)[tg.tensor([1.0])])
    assert "integer or bool" in msg and "float32" in msg


def test_boolean_mask_of_wrong_shape():
    with pytest.raises(IndexError, match=r"mask of shape \(2,\).*shape \(3,\)"):
        tg.ones(3)[tg.tensor([True, False])]


# ---- broadcasting in binary ops ----------------------------------------------------------------
@pytest.mark.parametrize("name, fn", [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b),
    ("pow", lambda a, b: a ** b),
    ("maximum", tg.maximum),
    ("minimum", tg.minimum),
    ("where", lambda a, b: tg.where(a > 0, a, b)),
])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_broadcasting_failure_in_binary_op(name, fn, requires_grad):
    a = tg.ones(2, 3, requires_grad=requires_grad)
    b = tg.ones(4)
    msg = _raises(tg.ShapeError, lambda: fn(a, b))
    assert name in msg and "(2, 3)" in msg and "(4,)" in msg


@pytest.mark.parametrize("fn", [lambda a, b: a == b, lambda a, b: a < b, tg.logical_and])
def test_broadcasting_failure_in_comparison(fn):
    msg = _raises(tg.ShapeError, lambda: fn(tg.ones(3), tg.ones(2)))
    assert "(3,)" in msg and "(2,)" in msg


def test_broadcasting_failure_in_setitem():
    t = tg.ones(3)
    msg = _raises(tg.ShapeError, lambda: t.__setitem__(slice(0, 2), tg.ones(3)))
    assert "(3,)" in msg and "(2,)" in msg
    y = tg.ones(3, requires_grad=True) * 1
    msg = _raises(tg.ShapeError, lambda: y.__setitem__(slice(0, 2), tg.ones(3)))
    assert "(3,)" in msg and "(2,)" in msg


def test_non_broadcasting_value_errors_are_not_relabelled():
    # Integer to a negative integer power fails in NumPy for a reason other than shapes;
    # it must not be reported as a shape problem.
    with pytest.raises(ValueError) as info:
        tg.tensor([2, 3]) ** tg.tensor([-1, 1])
    assert not isinstance(info.value, tg.ShapeError)


# ---- in-place ops ------------------------------------------------------------------------------
def test_in_place_op_that_would_change_shape():
    a = tg.ones(3)
    msg = _raises(tg.ShapeError, lambda: a.add_(tg.ones(2, 3)))
    assert "add_" in msg and "(2, 3)" in msg and "(3,)" in msg
    assert a.tolist() == [1.0, 1.0, 1.0]


def test_int_tensor_in_place_with_float():
    a = tg.tensor([1, 2])

    def iadd():
        nonlocal a
        a += 1.5

    msg = _raises(tg.DTypeError, iadd)
    assert "add_" in msg and "int64" in msg and "float" in msg
    assert a.tolist() == [1, 2] and a.dtype == tg.int64
    a *= 2                                  # int op int stays allowed
    assert a.tolist() == [2, 4] and a.dtype == tg.int64
    f = tg.tensor([1.0, 2.0])
    f += tg.tensor(np.array([0.5, 0.5]))     # float64 into float32: same kind, allowed
    assert f.dtype == tg.float32 and f.tolist() == [1.5, 2.5]


def test_in_place_on_expanded_view():
    e = tg.ones(1, 3).expand(2, 3)
    msg = _raises(tg.ShapeError, lambda: e.mul_(2))
    assert "mul_" in msg and "clone" in msg


# ---- autograd misuse -----------------------------------------------------------------------------
def test_backward_on_non_scalar():
    y = tg.ones(2, 3, requires_grad=True) * 2
    msg = _raises(tg.GradError, y.backward)
    assert "backward" in msg and "(2, 3)" in msg and "ones_like" in msg


def test_grad_with_input_not_requiring_grad():
    x = tg.ones(3, requires_grad=True)
    c = tg.ones(3)
    msg = _raises(tg.GradError, lambda: tg.autograd.grad((x * c).sum(), c))
    assert "grad" in msg and "(3,)" in msg and "requires_grad=True" in msg


def test_requires_grad_on_int_tensor():
    msg = _raises(tg.DTypeError, lambda: tg.tensor([1, 2], requires_grad=True))
    assert "int64" in msg and "(2,)" in msg and "float()" in msg
    msg = _raises(tg.DTypeError, lambda: tg.tensor([True]).requires_grad_())
    assert "bool" in msg


def test_numpy_on_tensor_requiring_grad():
    msg = _raises(tg.GradError, lambda: tg.ones(2, requires_grad=True).numpy())
    assert "numpy" in msg and "detach().numpy()" in msg


def test_mean_on_int_tensor():
    msg = _raises(tg.DTypeError, lambda: tg.tensor([1, 2]).mean())
    assert "mean" in msg and "int64" in msg and ".float()" in msg
    assert tg.tensor([1, 2]).float().mean().item() == 1.5


def test_item_on_multi_element_tensor():
    msg = _raises(ValueError, lambda: tg.ones(2, 2).item())
    assert "item" in msg and "(2, 2)" in msg


def test_where_with_non_bool_condition():
    msg = _raises(tg.DTypeError, lambda: tg.where(tg.ones(2), tg.ones(2), 0.0))
    assert "where" in msg and "float32" in msg


def test_in_place_on_leaf_requiring_grad():
    w = tg.ones(2, 2, requires_grad=True)
    msg = _raises(tg.GradError, lambda: w.mul_(2))
    assert "mul_" in msg and "(2, 2)" in msg and "no_grad" in msg


def test_unknown_dtype():
    with pytest.raises(TypeError):
        tg.zeros(2, dtype="not a dtype")
    with pytest.raises(TypeError, match="complex128"):
        tg.tensor(np.array([1 + 2j]))


@pytest.mark.parametrize("call", [
    lambda: tg.zeros(-1), lambda: tg.ones(2).item(), lambda: tg.clamp(tg.ones(1)),
    lambda: tg.arange(0, 5, 0), lambda: tg.linspace(0, 1, -1), lambda: tg.randint(5, 5, (2,)),
])
def test_bad_arguments_raise_what_pytorch_and_numpy_code_catch(call):
    # PyTorch raises RuntimeError here and NumPy ValueError: both except clauses work.
    with pytest.raises(RuntimeError) as info:
        call()
    assert isinstance(info.value, ValueError)
    assert any(name in str(info.value) for name in
               ("sizes", "item", "clamp", "arange", "linspace", "randint"))


def test_boolean_mask_after_ellipsis_is_checked_too():
    x = tg.arange(24.0).reshape(2, 3, 4)
    with pytest.raises(IndexError, match=r"mask of shape \(3,\)"):
        x[..., tg.tensor([True, False, True])]
    assert x[..., tg.tensor([True, False, True, False])].shape == (2, 3, 2)
