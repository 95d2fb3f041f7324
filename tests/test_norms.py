"""Norms: stability at extreme magnitudes, the subgradient at zero, PyTorch's dtypes and
error cases (the op database checks values and gradients in general)."""
import numpy as np
import pytest

import tapegrad as tg


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
@pytest.mark.parametrize("scale", [1e4, 1e30, 1e-30])
@pytest.mark.parametrize("ord", [2, 3, 1.5])
def test_vector_norm_neither_overflows_nor_underflows(dtype, scale, ord):
    x = tg.tensor([scale, -scale, 0.5 * scale], dtype=dtype, requires_grad=True)
    n = tg.linalg.vector_norm(x, ord)
    want = scale * (1 + 1 + 0.5 ** ord) ** (1 / ord)
    np.testing.assert_allclose(n.item(), want, rtol=1e-5)
    (g,) = tg.autograd.grad(n, x)
    assert np.all(np.isfinite(g.numpy()))
    w = np.array([1.0, -1.0, 0.5 ** (ord - 1)]) / (want / scale) ** (ord - 1)
    np.testing.assert_allclose(g.numpy(), w, rtol=1e-5)


@pytest.mark.parametrize("ord", [2, 1, 3, 0.5, float("inf")])
def test_gradient_at_zero_norm_is_zero(ord):
    x = tg.zeros(2, 3, requires_grad=True)
    (g,) = tg.autograd.grad(tg.linalg.vector_norm(x, ord), x)
    np.testing.assert_array_equal(g.numpy(), np.zeros((2, 3)))


def test_second_derivative_at_zero_is_finite():
    x = tg.tensor([0.0, 0.0], requires_grad=True)
    (g,) = tg.autograd.grad(tg.linalg.vector_norm(x), x, create_graph=True)
    (h,) = tg.autograd.grad(g.sum(), x)
    assert np.all(np.isfinite(h.numpy()))


def test_norm_zero_counts_nonzeros_with_zero_gradient():
    x = tg.tensor([[0.0, 2.0], [-1.0, 0.0]], requires_grad=True)
    n = tg.linalg.vector_norm(x, 0)
    assert n.item() == 2.0 and n.requires_grad
    n.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 2)))


def test_dtypes():
    x = tg.tensor([[3.0, 4.0]])
    assert tg.linalg.vector_norm(x.half()).dtype == tg.float16
    assert tg.linalg.vector_norm(x, dtype=tg.float64).dtype == tg.float64
    assert tg.norm(x.double()).dtype == tg.float64
    # float16 sums in float32: 300 entries of 100 would overflow float16's 65504 when squared
    big = tg.full((300,), 100.0).half()
    np.testing.assert_allclose(tg.linalg.vector_norm(big).item(), 100 * np.sqrt(300), rtol=1e-3)


def test_errors_name_the_op_and_what_to_do():
    with pytest.raises(tg.DTypeError, match="linalg.vector_norm.*floating.*float()"):
        tg.linalg.vector_norm(tg.tensor([1, 2]))
    with pytest.raises(tg.ShapeError, match="empty dim"):
        tg.linalg.vector_norm(tg.zeros(0), float("inf"))
    with pytest.raises(TypeError, match="matrix_norm"):
        tg.linalg.vector_norm(tg.ones(3), "fro")
    with pytest.raises(tg.ShapeError, match="at least 2 dims.*\\(3,\\)"):
        tg.linalg.matrix_norm(tg.ones(3), 1)
    with pytest.raises(tg.ArgumentError, match="order 3 is not supported"):
        tg.linalg.matrix_norm(tg.ones(2, 2), 3)
    with pytest.raises(tg.ArgumentError, match="two different dims"):
        tg.linalg.matrix_norm(tg.ones(2, 2), dim=(0, 0))
    with pytest.raises(tg.ShapeError, match="1-d or 2-d.*pass dim"):
        tg.linalg.norm(tg.ones(2, 2, 2), 1)
    with pytest.raises(IndexError, match="out of range"):
        tg.linalg.vector_norm(tg.ones(2, 2), dim=2)


def test_matrix_rank_tolerances():
    A = tg.tensor([[1.0, 0.0], [0.0, 1e-3]])
    assert tg.linalg.matrix_rank(A).item() == 2
    assert tg.linalg.matrix_rank(A, atol=1e-2).item() == 1
    assert tg.linalg.matrix_rank(A, rtol=1e-2).item() == 1
    assert tg.linalg.matrix_rank(A, hermitian=True).item() == 2
    assert tg.linalg.matrix_rank(tg.zeros(2, 0, 3)).tolist() == [0, 0]


def test_empty_inputs_follow_pytorch():
    assert tuple(tg.linalg.vector_norm(tg.zeros(0, 3), float("inf"), dim=1).shape) == (0,)
    for ord in (1, 2, float("inf"), "nuc"):
        for shape in ((0, 3), (3, 0)):
            assert tg.linalg.matrix_norm(tg.zeros(*shape), ord).item() == 0.0
    assert tg.linalg.cond(tg.zeros(0, 0)).item() == 0.0
    with pytest.raises(tg.ShapeError, match="2-d input"):
        tg.norm(tg.ones(2, 2, 2), "nuc")
    with pytest.raises(tg.DTypeError, match="narrow"):
        tg.linalg.vector_norm(tg.ones(2, dtype=tg.float64), dtype=tg.float32)
    with pytest.raises(tg.DTypeError, match="floating"):
        tg.linalg.vector_norm(tg.ones(2, dtype=tg.int64), dtype=tg.float32)
