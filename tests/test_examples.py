"""The worked examples of the tapegrad document, with their exact numbers.

The running example is a one-parameter-pair linear model ``y_hat = W*x + b`` at x=2, W=3,
b=1 (so y_hat = 7) and the squared error ``(y_hat - target)**2``:
target 7 gives zero gradients; target 5 gives dloss/dy_hat = 2*(7-5) = 4, hence
W.grad = 4*x = 8 and b.grad = 4.
"""
import numpy as np
import pytest

import tapegrad as tg


def _model():
    x = tg.tensor(2.0)
    W = tg.tensor(3.0, requires_grad=True)
    b = tg.tensor(1.0, requires_grad=True)
    return x, W, b


def test_loss_at_the_optimum_has_zero_gradients():
    x, W, b = _model()
    y_hat = W * x + b
    assert y_hat.item() == 7.0
    loss = (y_hat - 7) ** 2
    loss.backward()
    assert W.grad.item() == 0.0
    assert b.grad.item() == 0.0


@pytest.mark.parametrize("clear", ["set_none", "zero_"])
def test_new_target_after_clearing_grads(clear):
    x, W, b = _model()
    ((W * x + b - 7) ** 2).backward()
    if clear == "set_none":
        W.grad = None
        b.grad = None
    else:
        W.grad.zero_()
        b.grad.zero_()
    y_hat = W * x + b                      # forward recomputed
    loss = (y_hat - 5) ** 2
    assert loss.item() == 4.0
    loss.backward()
    assert W.grad.item() == 8.0
    assert b.grad.item() == 4.0


def test_reusing_a_consumed_graph_raises_with_both_remedies():
    x, W, b = _model()
    y_hat = W * x + b
    ((y_hat - 5) ** 2).backward()
    loss2 = (y_hat - 6) ** 2               # y_hat's graph was freed by the first backward
    with pytest.raises(RuntimeError) as info:
        loss2.backward()
    msg = str(info.value)
    assert "'mul'" in msg                  # the op whose saved values are gone (W * x)
    assert "retain_graph=True" in msg
    assert "recompute" in msg


def test_reusing_a_graph_works_with_retain_graph():
    x, W, b = _model()
    y_hat = W * x + b
    ((y_hat - 5) ** 2).backward(retain_graph=True)
    W.grad = b.grad = None
    ((y_hat - 6) ** 2).backward()          # d/dy_hat = 2*(7-6) = 2
    assert W.grad.item() == 4.0
    assert b.grad.item() == 2.0


def test_second_derivative_of_cube():
    x = tg.tensor(2.0, requires_grad=True)
    y = x ** 3
    (dy,) = tg.autograd.grad(y, x, create_graph=True)
    assert dy.item() == 12.0               # 3 x^2
    assert dy.requires_grad
    (d2y,) = tg.autograd.grad(dy, x)
    assert d2y.item() == 12.0              # 6 x
    assert not d2y.requires_grad


def test_square_at_one():
    x = tg.tensor(1.0, requires_grad=True)
    (x ** 2).backward()
    assert x.grad.item() == 2.0


def test_detach_blocks_the_gradient():
    x = tg.tensor(3.0, requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    y = d * x + x                          # only the non-detached uses carry gradient
    y.backward()
    assert x.grad.item() == 3.0 + 1.0      # d (as a constant) + 1
    assert d.grad is None


def test_in_place_on_a_leaf_raises_but_rebinding_works():
    x = tg.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x += 1
    assert x.item() == 1.0 and x._version == 0    # nothing was written
    leaf = x
    x = x + 1
    assert x.item() == 2.0 and not x.is_leaf
    (x * x).backward()
    assert leaf.grad.item() == 4.0         # 2 * (leaf + 1)


def test_backward_without_requires_grad_explains_the_causes():
    x = tg.tensor(3.0)
    y = x * 2
    with pytest.raises(RuntimeError) as info:
        y.backward()
    msg = str(info.value)
    assert "shape ()" in msg and "float32" in msg
    assert "requires_grad=True" in msg
    assert "no_grad" in msg
    assert "detach" in msg


def test_item_is_a_python_float():
    x, W, b = _model()
    loss = (W * x + b - 5) ** 2
    value = loss.item()
    assert type(value) is float
    assert value == 4.0


def test_gradients_accumulate_across_backward_calls():
    x, W, b = _model()
    ((W * x + b - 5) ** 2).backward()
    ((W * x + b - 4) ** 2).backward()      # d/dy_hat = 2*(7-4) = 6
    assert W.grad.item() == 8.0 + 12.0
    assert b.grad.item() == 4.0 + 6.0


def test_no_grad_results_do_not_require_grad():
    x, W, b = _model()
    with tg.no_grad():
        y_hat = W * x + b
        loss = (y_hat - 5) ** 2
    assert not y_hat.requires_grad and y_hat.grad_fn is None
    assert not loss.requires_grad and loss.is_leaf
    assert loss.item() == 4.0
    with pytest.raises(RuntimeError):
        loss.backward()
    assert W.grad is None
    assert tg.is_grad_enabled()            # the mode was restored
    assert (W * x).requires_grad


def test_vector_example_matches_closed_form():
    # loss = sum((X @ w - t)^2) has gradient 2 X^T (X w - t).
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    t = np.array([1.0, 0.0, -1.0])
    w = tg.tensor([0.5, -0.25], dtype=tg.float64, requires_grad=True)
    loss = ((tg.tensor(X) @ w - tg.tensor(t)) ** 2).sum()
    loss.backward()
    expected = 2 * X.T @ (X @ np.array([0.5, -0.25]) - t)
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-12)
