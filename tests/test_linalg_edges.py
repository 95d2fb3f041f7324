"""Edge cases found in review of tapegrad.linalg, each a regression test: empty and
non-finite inputs, float16, triangles read by upper=True, argument checks that must name the
op, and PyTorch's rules for vector right-hand sides."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad import ArgumentError, DTypeError, ShapeError

L = tg.linalg


def t(a, grad=False, dtype=np.float64):
    return tg.tensor(np.asarray(a, dtype=dtype), requires_grad=grad)


def test_matrix_power_zero_is_the_identity_also_for_non_finite_input():
    # Found in review: A * 0 + I gave nan where A had nan or inf.
    A = t(np.array([[np.nan, 1.0], [np.inf, 2.0]]), grad=True)
    P = L.matrix_power(A, 0)
    P.sum().backward()
    assert P.tolist() == [[1.0, 0.0], [0.0, 1.0]] and A.grad.tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_lu_of_empty_matrices_as_torch():
    # Found in review: zero_pivots took an argmax over an empty diagonal (a raw ValueError).
    A, B = t(np.zeros((2, 0, 0)), grad=True), t(np.ones((2, 0, 3)), grad=True)
    LU, piv = L.lu_factor(A)
    assert LU.shape == (2, 0, 0) and piv.shape == (2, 0)
    assert L.lu_factor_ex(A).info.tolist() == [0, 0]
    L.lu_solve(LU, piv, B).sum().backward()
    assert A.grad.shape == (2, 0, 0) and B.grad.shape == (2, 0, 3)


@pytest.mark.parametrize("call", [
    lambda A: L.svd(A), lambda A: L.svdvals(A), lambda A: L.pinv(A), lambda A: L.cond(A),
    lambda A: L.matrix_rank(A), lambda A: L.matrix_norm(A, "nuc"),
    lambda A: L.lstsq(A, tg.ones(2, 1, dtype=tg.float64))])
def test_svd_of_non_finite_input_raises_linalg_error_as_torch(call):
    # Found in review: NumPy's bare LinAlgError ("SVD did not converge") escaped.
    A = t(np.array([[1.0, np.nan], [0.0, np.inf]]))
    with pytest.raises(L.LinAlgError, match="non-finite"):
        call(A)


@pytest.mark.parametrize("call, message", [
    (lambda: tg.cdist(tg.ones(2, 3), tg.ones(2, 3), p="x"), "cdist: p must be a number"),
    (lambda: tg.addmm(tg.ones(2, 2), tg.ones(2, 2), tg.ones(2, 2), beta="x"),
     "addmm: beta must be a number"),
    (lambda: L.lstsq(t(np.eye(2)), t(np.ones((2, 1))), rcond="x"), "lstsq: rcond must be"),
])
def test_non_numeric_scalars_name_the_op(call, message):
    # Found in review: these reached NumPy (a bare ValueError or UFuncTypeError).
    with pytest.raises(ArgumentError, match=message):
        call()


def test_cholesky_inverse_of_int_input_names_cholesky_inverse():
    # Found in review: the error named cholesky_solve, which the user never called.
    with pytest.raises(DTypeError, match="^cholesky_inverse"):
        tg.cholesky_inverse(tg.ones(2, 2, dtype=tg.int64))


@pytest.mark.parametrize("sa, sb", [((3, 3), (3,)), ((2, 3, 3), (2, 3)), ((2, 3, 3), (3,))])
def test_solve_with_a_vector_b_and_left_false_raises_as_torch(sa, sb):
    # Found in review: tapegrad solved x A = b for these, where torch.linalg.solve raises
    # (a vector B is a column, so XA = B needs n = 1).
    with pytest.raises(ShapeError, match=r"XA = B \(3x3 and 3x1\)"):
        L.solve(t(np.eye(3) + np.zeros(sa)), t(np.ones(sb)), left=False)
    one = L.solve(t([[2.0]]), t([4.0]), left=False)     # n = 1 works, as in torch
    assert one.tolist() == [2.0]


@pytest.mark.parametrize("sa, sb", [((0, 0), (0, 2)), ((2, 0, 3), (2, 0, 1)), ((3, 0), (3, 2))])
def test_lstsq_of_empty_matrices_is_recorded_as_torch(sa, sb):
    # Found in review: the empty solution was a constant, so backward raised GradError.
    A, B = t(np.ones(sa), grad=True), t(np.ones(sb), grad=True)
    X = L.lstsq(A, B).solution
    assert X.shape == sa[:-2] + (sa[-1], sb[-1]) and not X.detach().numpy().any()
    X.sum().backward()
    assert A.grad.shape == sa and B.grad.shape == sb and not B.grad.numpy().any()


@pytest.mark.parametrize("call", [
    lambda A: L.cholesky(A, upper=True), lambda A: L.cholesky_ex(A, upper=True).L,
    lambda A: tg.cholesky(A, True)])
def test_upper_cholesky_reads_the_upper_triangle_as_torch(call):
    # Found in review: upper=True read A's lower triangle (then transposed the factor), so an
    # input holding only its upper triangle got a wrong factor, silently.
    S = np.array([[4.0, 2.0], [2.0, 3.0]])
    A = t(np.triu(S), grad=True)
    U = call(A)
    np.testing.assert_allclose(U.detach().numpy(), [[2.0, 1.0], [0.0, np.sqrt(2.0)]])
    U.sum().backward()        # symmetric, as torch's: [[0.2134, 0.0732], [0.0732, 0.3536]]
    np.testing.assert_allclose(A.grad.numpy(), [[0.21338835, 0.07322330],
                                                [0.07322330, 0.35355339]], atol=1e-8)


@pytest.mark.parametrize("call", [
    L.inv, L.det, L.cholesky, L.svd, L.eigh, L.qr, L.lu, L.pinv,
    lambda A: L.solve(A, A), lambda A: L.solve_triangular(A, A, upper=True),
    lambda A: L.lstsq(A, A), lambda A: L.matrix_norm(A, 2)])
def test_float16_decompositions_raise_a_dtype_error_naming_the_op(call):
    # Found in review: NumPy's bare TypeError escaped (solve_triangular returned float32).
    with pytest.raises(DTypeError, match="float16 is not supported"):
        call(tg.eye(2, dtype=tg.float16))


def test_matrix_exp_of_float16_stays_float16_as_torch():
    assert L.matrix_exp(tg.zeros(2, 2, dtype=tg.float16)).dtype == tg.float16


def test_lstsq_shape_error_says_b_was_taken_as_vectors():
    # Found in review: the message showed b with a dim tapegrad had added, (4, 3, 2, 1).
    with pytest.raises(ShapeError, match=r"b \(4, 3, 2\) .* batch of vectors"):
        L.lstsq(t(np.ones((2, 1, 3, 3))), t(np.ones((4, 3, 2))))


@pytest.mark.parametrize("x, y", [(tg.ones(2, dtype=tg.int64), tg.ones(2, dtype=tg.int64)),
                                  (tg.ones(2), tg.ones(2, dtype=tg.float64))])
def test_vecdot_needs_floats_of_one_dtype_as_torch(x, y):
    # Found in review: tapegrad computed these; torch.linalg.vecdot raises.
    with pytest.raises(DTypeError, match="linalg.vecdot"):
        L.vecdot(x, y)


A3 = np.array([[2.0, 1.0, 0.0], [0.5, 3.0, 1.0], [0.0, 1.0, 4.0]])


def test_svd_backward_keeps_the_graph_of_a_zero_cotangent_of_u():
    # Found by differential testing: a zero-valued gU that requires grad skipped U's term, so
    # every higher derivative through U was silently 0. Expected: torch 2.13.
    A, B = t(A3, grad=True), t(np.zeros((3, 3)), grad=True)
    gA, = tg.autograd.grad((L.svd(A).U * B).sum(), [A], create_graph=True)
    dB, = tg.autograd.grad(gA.sum(), [B])
    np.testing.assert_allclose(dB.numpy(), [[0.49417522, 0.07830343, 0.17418082],
                                            [0.19648521, -0.43087982, 0.25136642],
                                            [-0.24021459, -0.3920193, 0.0548511]], atol=1e-7)


@pytest.mark.parametrize("f, shape", [
    (lambda A: L.svd(A).U, (3, 3)), (lambda A: L.svd(A).Vh, (3, 3)),
    (lambda A: L.svd(A, full_matrices=False).U, (4, 3)),
    (lambda A: L.svd(A, full_matrices=False).Vh, (3, 4)),
    (lambda A: L.eigh(A + A.mT).eigenvectors ** 2, (3, 3)),    # ** 2: sign-free
    (lambda A: L.pinv(A), (3, 3)), (lambda A: L.pinv(A).mT, (3, 4))])
def test_vector_gradients_are_twice_differentiable_where_their_cotangent_is_zero(f, shape):
    # At A0 the cotangent of the vectors, A - A0, is all zero but varies with A.
    A0 = np.random.RandomState(2).uniform(-1, 1, shape) + np.eye(*shape) * 2
    f0 = lambda A: (f(A) * (A - t(A0))).sum()
    assert tg.autograd.gradgradcheck(f0, (t(A0, grad=True),))


@pytest.mark.parametrize("values, A", [
    (L.svdvals, np.eye(3)), (L.eigvalsh, np.eye(3)), (L.eigvalsh, np.diag([2.0, 1.0, 1.0])),
    (L.svdvals, np.zeros((3, 2))), (L.svdvals, np.eye(2, 3))])
def test_values_stay_twice_differentiable_at_repeated_values(values, A):
    # Their vector cotangents are zero blocks that require grad in double backward: the
    # vector terms, 0 * 1 / (w_j - w_i), must not turn into 0 * inf = nan there.
    A = t(A, grad=True)
    w = values(A)
    v = t(np.arange(1.0, w.shape[-1] + 1), grad=True)
    gA, = tg.autograd.grad(w, [A], v, create_graph=True)
    C = np.arange(A.numel()).reshape(A.shape) / 5.0
    dv, = tg.autograd.grad(gA, [v], t(C))
    a = A.detach().numpy()
    if values is L.eigvalsh:
        V = np.linalg.eigh(a)[1]
        expected = np.diagonal(V.T @ C @ V)
    else:
        U, _, Vh = np.linalg.svd(a, full_matrices=False)
        expected = np.diagonal(U.T @ C @ Vh.T)
    np.testing.assert_allclose(dv.numpy(), expected, atol=1e-12)


def _cofactors(X):
    n = len(X)
    return np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(X, i, 0), j, 1))
                      for j in range(n)] for i in range(n)])


_R = np.random.RandomState(0)
RANK2 = _R.uniform(-2, 2, (3, 2)) @ _R.uniform(-2, 2, (2, 3))     # np.linalg.det: 1.8e-17
SINGULAR = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]])   # det 6.7e-17


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-13), (np.float32, 2e-6)])
def test_det_gradient_is_the_cofactor_matrix_at_numerically_singular_matrices(dtype, tol):
    # Found by differential testing: det (one LU) times a solve with A^T (another LU) gave
    # gradients off by O(1) at RANK2, and SINGULAR raised LinAlgError. Batched with a regular,
    # an exactly singular and a near-singular (rank-deficient plus noise) matrix.
    near = _R.uniform(-1, 1, (4, 3)) @ _R.uniform(-1, 1, (3, 4)) + 1e-10 * _R.randn(4, 4)
    for M in (np.stack([RANK2, SINGULAR, np.eye(3) * 2, np.diag([1.0, 1.0, 0.0])]), near):
        A = t(M, grad=True, dtype=dtype)
        L.det(A).sum().backward()
        a = M.astype(dtype).astype(np.float64).reshape((-1,) + M.shape[-2:])
        expected = np.stack([_cofactors(m) for m in a]).reshape(M.shape)
        np.testing.assert_allclose(A.grad.numpy(), expected, atol=tol * np.abs(expected).max())


def test_det_second_derivative_at_numerically_singular_matrices():
    # The Hessian-vector product of det: the derivative of the cofactor matrix.
    V = np.arange(9.0).reshape(3, 3) / 9
    for M in (RANK2, SINGULAR, RANK2 + 1e-9 * _R.randn(3, 3), np.diag([1.0, 2.0, 3.0])):
        A = t(M, grad=True)
        g, = tg.autograd.grad(L.det(A), [A], create_graph=True)
        h, = tg.autograd.grad((g * t(V)).sum(), [A])
        fd = (_cofactors(M + 1e-6 * V) - _cofactors(M - 1e-6 * V)) / 2e-6
        np.testing.assert_allclose(h.numpy(), fd, atol=1e-8)
    assert tg.autograd.gradgradcheck(L.det, (t(RANK2, grad=True),))
