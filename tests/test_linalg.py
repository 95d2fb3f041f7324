"""Solves and decompositions beyond the op database rows: error messages, golden values,
outputs the rows can't differentiate (signs, pivots, infos), repeated eigen/singular values,
and the JVP-vs-VJP dot test on each primitive's packed output itself."""
import warnings

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import ArgumentError, DTypeError, ShapeError
from tapegrad.ops.linalg import _common

L = tg.linalg
RNG = np.random.default_rng(0)


def t(a, grad=False, dtype=np.float64):
    return tg.tensor(np.asarray(a, dtype=dtype), requires_grad=grad)


def well_conditioned(*shape):
    return RNG.uniform(-1, 1, shape) + shape[-1] * np.eye(shape[-1])


# ---- singular and indefinite matrices ------------------------------------------------------
SINGULAR = [[1.0, 2.0], [2.0, 4.0]]


def test_inv_of_singular_matrix_names_the_pivot_as_torch():
    with pytest.raises(RuntimeError, match=r"^linalg.inv: The diagonal element 2 is zero, the "
                       r"inversion could not be completed because the input matrix is singular"):
        L.inv(t(SINGULAR))


def test_inv_of_singular_batch_element_names_its_index():
    A = np.stack([np.eye(2), SINGULAR, np.eye(2)])
    assert L.LinAlgError is _common.LinAlgError and issubclass(L.LinAlgError, RuntimeError)
    assert not issubclass(L.LinAlgError, ValueError)
    with pytest.raises(L.LinAlgError, match=r"\(Batch element 1\): The diagonal element 2"):
        L.inv(t(A))


def test_solve_singular_names_batch_element_also_when_broadcast():
    A = np.stack([np.eye(2), SINGULAR])
    with pytest.raises(RuntimeError, match=r"linalg.solve: \(Batch element 1\): The solver "
                       "failed because the input matrix is singular"):
        L.solve(t(A), t(np.ones((2, 2, 3))))
    with pytest.raises(RuntimeError, match="linalg.solve: The solver failed"):
        L.solve(t(SINGULAR), t(np.ones((2, 8))))     # no batch; shapes don't broadcast


def test_cholesky_of_indefinite_matrix_names_the_minor():
    A = np.stack([np.eye(3), np.diag([1.0, -1.0, 1.0])])
    with pytest.raises(RuntimeError, match=r"linalg.cholesky: \(Batch element 1\): .*not "
                       r"positive-definite \(the leading minor of order 2 is"):
        L.cholesky(t(A))


def test_ex_variants_report_info_instead_of_raising():
    A = np.stack([np.eye(2), SINGULAR])
    inv, info = L.inv_ex(t(A))
    assert info.dtype == tg.int32 and info.tolist() == [0, 2]
    np.testing.assert_allclose(inv.numpy()[0], np.eye(2))
    assert np.isnan(inv.numpy()[1]).all()
    with pytest.raises(RuntimeError, match=r"\(Batch element 1\): The diagonal element 2"):
        L.inv_ex(t(A), check_errors=True)
    X, info = L.solve_ex(t(A), t(np.ones((2, 2, 1))))
    assert info.tolist() == [0, 2] and np.isnan(X.numpy()[1]).all()
    np.testing.assert_allclose(X.numpy()[0], np.ones((2, 1)))
    with pytest.raises(RuntimeError, match="singular"):
        L.solve_ex(t(A), t(np.ones((2, 2, 1))), check_errors=True)
    Lf, info = L.cholesky_ex(t([[1.0, 2.0], [2.0, 1.0]]))
    assert info.item() == 2
    with pytest.raises(RuntimeError, match="positive-definite"):
        L.cholesky_ex(t([[1.0, 2.0], [2.0, 1.0]]), check_errors=True)


def test_solve_triangular_with_zero_diagonal():
    with pytest.raises(RuntimeError, match="diagonal element 2 is zero"):
        L.solve_triangular(t([[1.0, 0.0], [1.0, 0.0]]), t([[1.0], [1.0]]), upper=False)


# ---- bad arguments ------------------------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: L.inv(t(np.ones((2, 3)))), r"square matrices, but got shape \(2, 3\)"),
    (lambda: L.det(t(np.ones(3))), r"at least 2 dims .* got shape \(3,\)"),
    (lambda: L.solve(t(np.eye(2)), t(np.ones((3, 1)))), r"Incompatible shapes .* \(2x2 and 3x1\)"),
    (lambda: L.solve(t(np.eye(3)), t(np.ones((2, 3)))), r"Incompatible shapes"),
    (lambda: L.solve(t(np.ones((2, 3, 3))), t(np.ones((4, 3, 1)))), r"batch dims \(2,\) and \(4,"),
    (lambda: L.solve_triangular(t(np.eye(2)), t(np.ones(2)), upper=True), "B must have at least"),
    (lambda: L.solve_triangular(t(np.eye(2)), t(np.ones((3, 2))), upper=True), "Incompatible"),
    (lambda: tg.cholesky_solve(t(np.ones((3, 1))), t(np.eye(2))), "as many rows"),
    (lambda: L.lstsq(t(np.ones((4, 2))), t(np.ones((3, 1)))), "same number of rows"),
    (lambda: L.qr(t(np.ones(3))), "at least 2 dims"),
    (lambda: L.svd(t(np.ones(3))), "at least 2 dims"),
    (lambda: L.eigh(t(np.ones((2, 3)))), "square"),
    (lambda: L.vander(t(2.0)), "at least 1 dim"),
    (lambda: tg.vander(t(np.ones((2, 2)))), "one-dimensional"),
    (lambda: L.diagonal(t(np.ones((2, 2))), dim1=0, dim2=-2), "can't be the same"),
    (lambda: L.lu_solve(t(np.eye(2)), tg.tensor([1, 2], dtype=tg.int32), t(np.ones((3, 1)))),
     "Incompatible"),
    (lambda: L.lu_solve(t(np.eye(2)), t([1.0, 2.0]), t(np.ones((2, 1)))), "pivots must be int"),
    (lambda: L.tensorinv(t(np.ones((2, 3, 2)))), r"\(6\) must equal .* \(2\)"),
    (lambda: L.tensorsolve(t(np.ones((2, 3, 6))), t(np.ones((3, 2)))), "must start with"),
])
def test_shape_errors(call, message):
    with pytest.raises(ShapeError, match=message):
        call()


@pytest.mark.parametrize("call", [
    lambda: L.inv(tg.tensor([[1, 2], [3, 4]])),
    lambda: L.solve(t(np.eye(2)), t(np.ones(2), dtype=np.float32)),
    lambda: L.cholesky(tg.tensor([[1]])),
    lambda: L.svd(tg.tensor([[1, 0]])),
])
def test_dtype_errors(call):
    with pytest.raises(DTypeError, match="floating point|same dtype"):
        call()


@pytest.mark.parametrize("call, message", [
    (lambda: L.qr(t(np.eye(2)), mode="full"), "mode must be"),
    (lambda: L.eigh(t(np.eye(2)), UPLO="X"), "UPLO"),
    (lambda: L.lu(t(np.eye(2)), pivot=False), "pivot=False"),
    (lambda: L.matrix_power(t(np.eye(2)), 1.5), "must be an int"),
    (lambda: L.vander(t([1.0, 2.0]), N=-1), "N must be greater than 1, got N=-1"),
    (lambda: L.vander(t([1.0, 2.0]), N=1), "N must be greater than 1"),
    (lambda: L.vander(t([1.0, 2.0]), N=0), "N must be greater than 1"),
    (lambda: L.vander(t([1.0])), "N must be greater than 1, got N=1"),
    (lambda: tg.vander(t([1.0, 2.0]), N=-1), "vander: N must be non-negative"),
    (lambda: tg.vander(t([1.0, 2.0]), N=1.5), "N must be an int"),
    (lambda: L.lu_solve(t(np.eye(2)), tg.tensor([0, 2], dtype=tg.int32), t(np.ones((2, 1)))),
     "1-based"),
    (lambda: L.tensorinv(t(np.eye(2)), ind=0), "positive int"),
])
def test_argument_errors(call, message):
    with pytest.raises(ArgumentError, match=message):
        call()


def test_complete_qr_of_tall_matrix_is_not_differentiable():
    A = t(RNG.standard_normal((4, 2)), grad=True)
    Q, R = L.qr(A, mode="complete")
    assert Q.shape == (4, 4) and R.shape == (4, 2)
    with pytest.raises(ArgumentError, match="mode='complete' and nrows > ncols"):
        R.sum().backward()


def test_qr_mode_r_is_differentiable_unlike_torch():
    A = t(RNG.standard_normal((3, 2)), grad=True)
    L.qr(A, mode="r").R.sum().backward()
    B = t(A.detach().numpy(), grad=True)
    L.qr(B).R.sum().backward()
    np.testing.assert_allclose(A.grad.numpy(), B.grad.numpy())


# ---- golden values ----------------------------------------------------------------------
def test_det_and_its_gradient_by_hand():
    A = t([[2.0, 1.0], [1.0, 3.0]], grad=True)
    d = L.det(A)
    d.backward()
    assert d.item() == pytest.approx(5.0)
    np.testing.assert_allclose(A.grad.numpy(), [[3.0, -1.0], [-1.0, 2.0]])   # adj(A)^T


def test_det_gradient_at_a_singular_matrix_is_the_adjugate():
    A = t(SINGULAR, grad=True)
    L.det(A).backward()
    np.testing.assert_allclose(A.grad.numpy(), [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
    B = t(np.stack([SINGULAR, [[2.0, 1.0], [1.0, 3.0]]]), grad=True)
    L.det(B).sum().backward()
    np.testing.assert_allclose(B.grad.numpy(), [[[4, -2], [-2, 1]], [[3, -1], [-1, 2]]],
                               atol=1e-12)


def test_slogdet_sign_and_logdet_conventions():
    sign, logabs = L.slogdet(t([[[-2.0, 0.0], [0.0, 3.0]], [[2.0, 0.0], [0.0, 3.0]]]))
    assert sign.tolist() == [-1.0, 1.0] and not sign.requires_grad
    np.testing.assert_allclose(logabs.numpy(), np.log([6.0, 6.0]))
    out = tg.logdet(t([[[-2.0, 0.0], [0.0, 3.0]], SINGULAR]))
    assert np.isnan(out.numpy()[0]) and out.numpy()[1] == -np.inf


def test_logdet_gradient_at_a_singular_matrix_is_inf_nan_without_raising_as_torch():
    for f in [tg.logdet, lambda A: L.slogdet(A).logabsdet]:
        A = t([[1.0, 0.0], [0.0, 0.0]], grad=True)
        out = f(A)
        out.backward()
        assert out.item() == -np.inf
        g = A.grad.numpy()              # adj(A)^T / 0, PyTorch's pattern here too
        assert np.isnan(g[0]).all() and np.isnan(g[1, 0]) and g[1, 1] == np.inf
        B = t(np.stack([SINGULAR, 2 * np.eye(2)]), grad=True)
        f(B).sum().backward()
        assert np.isinf(B.grad.numpy()[0]).all()
        np.testing.assert_allclose(B.grad.numpy()[1], 0.5 * np.eye(2))


def test_det_and_slogdet_jvp_at_a_singular_matrix():
    for f, want in [(L.det, 5.0), (lambda A: L.slogdet(A).logabsdet, np.inf)]:
        node = f(t(SINGULAR, grad=True)).grad_fn
        while node.op.name == "getitem":
            node = node.parents[0]
        out = np.asarray(node.op.jvp(node.ctx, np.eye(2)))    # tangent I: tr(adj A) = 5
        assert (out[..., 1] if out.ndim else out) == pytest.approx(want)


def test_lu_pivots_and_permutation():
    A = RNG.standard_normal((2, 4, 4))
    P, Lo, U = L.lu(t(A))
    np.testing.assert_allclose((P @ Lo @ U).numpy(), A, atol=1e-12)
    LU, piv = L.lu_factor(t([[1.0, 2.0], [3.0, 4.0]]))
    assert piv.dtype == tg.int32 and piv.tolist() == [2, 2]          # 1-based, as torch
    for shape in [(5, 3), (3, 5)]:
        A = RNG.standard_normal(shape)
        P, Lo, U = L.lu(t(A))
        assert Lo.shape == (shape[0], 3) and U.shape == (3, shape[1])
        np.testing.assert_allclose((P @ Lo @ U).numpy(), A, atol=1e-12)


def test_lu_helpers():
    A = np.stack([np.eye(2), SINGULAR])
    with pytest.raises(RuntimeError, match=r"linalg.lu_factor: \(Batch element 1\): U\[2,2\] "
                       "is zero and using it on lu_solve would result in a division by zero"):
        L.lu_factor(t(A))
    np.testing.assert_allclose(L.lu(t(SINGULAR)).U.numpy(), [[2.0, 4.0], [0.0, 0.0]])
    LU, piv, info = L.lu_factor_ex(t(A))
    assert info.tolist() == [0, 2]
    with pytest.raises(RuntimeError, match=r"\(Batch element 1\): U\[2, 2\] is zero"):
        L.lu_factor_ex(t(A), check_errors=True)
    P, Lo, U = tg.lu_unpack(LU, piv, unpack_data=False)
    assert P.shape == (2, 2, 2) and Lo.shape == (0,) and U.shape == (0,)
    P, Lo, U = tg.lu_unpack(LU, piv, unpack_pivots=False)
    assert P.shape == (0,)
    np.testing.assert_allclose((tg.lu_unpack(LU, piv).P @ Lo @ U).numpy(), A, atol=1e-12)
    B = RNG.standard_normal((3, 3)) + 3 * np.eye(3)
    Xt = L.lu_solve(*L.lu_factor(t(B)), t(np.eye(3)), left=False, adjoint=True)
    np.testing.assert_allclose(Xt.numpy(), np.linalg.inv(B.T), atol=1e-12)


def test_lstsq_returns_the_gelsy_tuple():
    A, B = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 2))
    X, residuals, rank, sv = L.lstsq(t(A), t(B))
    np.testing.assert_allclose(X.numpy(), np.linalg.lstsq(A, B, rcond=None)[0], atol=1e-12)
    assert residuals.shape == (0,) and sv.shape == (0,)
    assert rank.dtype == tg.int64 and rank.shape == () and rank.item() == 3
    assert L.lstsq(t(np.ones((2, 3, 2))), t(np.ones((2, 3, 1)))).rank.tolist() == [1, 1]
    assert L.lstsq(t(A), t(B), rcond=1e-3).rank.shape == ()


def test_lstsq_of_rank_deficient_matrices_is_the_minimum_norm_solution():
    A = t([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]], grad=True)
    X = L.lstsq(A, t(np.ones((3, 1)))).solution
    np.testing.assert_allclose(X.detach().numpy(), [[0.12], [0.24]], atol=1e-12)
    X.sum().backward()
    assert np.isfinite(A.grad.numpy()).all()
    D = t([[1.0, 0.0], [0.0, 1e-3], [0.0, 0.0]])
    for driver in ["gelsy", "gelsd", "gelss"]:        # s <= rcond * s_max counts as 0
        out = L.lstsq(D, t(np.ones((3, 1))), rcond=1e-2, driver=driver)
        np.testing.assert_allclose(out.solution.numpy(), [[1.0], [0.0]], atol=1e-12)
        assert out.rank.item() == 1 and out.residuals.shape == (0,)
    Z = t(np.zeros((2, 3, 2)), grad=True)             # rank 0: zeros, zero gradient
    L.lstsq(Z, t(np.ones((2, 3, 1)))).solution.sum().backward()
    assert not Z.grad.numpy().any()


def test_lstsq_unknown_driver():
    with pytest.raises(ArgumentError, match=r"driver` should be one of \(gels, gelsy, gelsd, "
                       r"gelss\), got 'qr'"):
        L.lstsq(t(np.eye(2)), t(np.ones((2, 1))), driver="qr")


_LSTSQ_CASES = [
    (np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]]), np.ones((3, 1)), {}),
    (RNG.standard_normal((5, 3)), RNG.standard_normal((5, 2)), {}),
    (RNG.standard_normal((5, 3)), RNG.standard_normal(5), {}),
    (RNG.standard_normal((3, 5)), RNG.standard_normal((3, 2)), {}),
    (np.outer([1.0, 2, 3], [1.0, 0, 1, 2]), np.ones((3, 2)), {}),
    (np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]), np.ones((3, 1)), {}),
    (np.zeros((3, 2)), np.ones((3, 2)), {}),
    (np.stack([A := RNG.standard_normal((5, 3)), np.c_[A[:, :2], A[:, :1]]]),
     RNG.standard_normal((2, 5, 2)), {"rcond": 1e-3}),
]


def _full_rank(A):
    return np.linalg.matrix_rank(A).min() == min(A.shape[-2:])


# NOTE: gels assumes full rank (both libraries give garbage otherwise): not paired with the
# rank-deficient cases.
_LSTSQ_PAIRS = [(driver, case) for driver in (None, "gels", "gelsy", "gelsd", "gelss")
                for case in range(len(_LSTSQ_CASES))
                if driver != "gels" or _full_rank(_LSTSQ_CASES[case][0])]


@pytest.mark.parametrize("driver, case", _LSTSQ_PAIRS)
def test_lstsq_outputs_and_gradients_as_torch(driver, case):
    torch = pytest.importorskip("torch")
    A, B, kw = _LSTSQ_CASES[case]

    def run(lib):
        Al, Bl = lib.tensor(A, requires_grad=True), lib.tensor(B, requires_grad=True)
        out = lib.linalg.lstsq(Al, Bl, driver=driver, **kw)
        w = np.cos(np.arange(out.solution.numel())).reshape(tuple(out.solution.shape))
        (out.solution * lib.tensor(w)).sum().backward()
        return [o.detach().numpy() for o in out] + [Al.grad.numpy(), Bl.grad.numpy()]

    for ours, theirs in zip(run(tg), run(torch)):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-9)


def test_linalg_diagonal_is_a_view_as_torch():
    z = tg.zeros(3, 3)
    L.diagonal(z).fill_(1.0)
    np.testing.assert_array_equal(z.numpy(), np.eye(3))
    L.diagonal(z, offset=1, dim1=0, dim2=1).fill_(2.0)
    assert z[0, 1].item() == 2.0 and z[1, 2].item() == 2.0


def test_vanders_as_torch():
    x = t([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(tg.vander(x).numpy(), [[1, 1, 1], [4, 2, 1], [9, 3, 1]])
    np.testing.assert_array_equal(tg.vander(x, 2, True).numpy(), [[1, 1], [1, 2], [1, 3]])
    assert tg.vander(x, N=0).shape == (3, 0)
    for ints in [tg.tensor([1, 2], dtype=tg.int32), tg.tensor([True, False])]:
        assert tg.vander(ints).dtype == tg.int64 and L.vander(ints).dtype == tg.int64
    np.testing.assert_array_equal(tg.vander(tg.tensor([True, False])).numpy(), [[1, 1], [0, 1]])


def test_vander_values_as_torch():
    """Values only: torch.vander's own backward fails (it writes its cumprod in place)."""
    torch = pytest.importorskip("torch")
    x = RNG.uniform(-2, 2, 4)
    for kw in [{}, {"N": 3}, {"N": 5, "increasing": True}, {"N": 0}]:
        np.testing.assert_allclose(tg.vander(t(x), **kw).numpy(),
                                   torch.vander(torch.tensor(x), **kw).numpy(), rtol=1e-12)


# Parameter names as torch 2.13's functions take them as keywords (not always as documented:
# torch.det(input) but torch.linalg.det(A); torch.linalg.lstsq(input, b)).
TORCH_PARAMETERS = {
    "inverse": "input", "det": "input", "logdet": "input", "slogdet": "input",
    "matrix_exp": "input", "matrix_power": "input n", "cholesky_solve": "input input2 upper",
    "triangular_solve": "input A upper transpose unitriangular", "cholesky": "input upper",
    "qr": "input some", "svd": "input some compute_uv", "cholesky_inverse": "input upper",
    "lu_solve": "input LU_data LU_pivots", "lu_unpack": "LU_data LU_pivots unpack_data "
    "unpack_pivots", "vander": "x N increasing",
    "linalg.inv": "A", "linalg.inv_ex": "A check_errors", "linalg.solve": "A B left",
    "linalg.solve_ex": "A B left check_errors",
    "linalg.solve_triangular": "input B upper left unitriangular",
    "linalg.matrix_power": "input n", "linalg.matrix_exp": "input", "linalg.vander": "x N",
    "linalg.diagonal": "A offset dim1 dim2", "linalg.det": "A", "linalg.slogdet": "A",
    "linalg.cholesky": "input upper", "linalg.cholesky_ex": "input upper check_errors",
    "linalg.qr": "A mode", "linalg.lu": "A pivot", "linalg.lu_factor": "A pivot",
    "linalg.lu_factor_ex": "A pivot check_errors", "linalg.eigh": "input UPLO",
    "linalg.eigvalsh": "input UPLO", "linalg.svd": "A full_matrices driver",
    "linalg.svdvals": "A driver", "linalg.lstsq": "input b rcond driver",
    "linalg.lu_solve": "LU pivots B left adjoint", "linalg.tensorinv": "input ind",
    "linalg.tensorsolve": "input other dims",
}


@pytest.mark.parametrize("name", sorted(TORCH_PARAMETERS))
def test_parameter_names_are_torchs(name):
    import inspect
    fn = tg
    for part in name.split("."):
        fn = getattr(fn, part)
    assert " ".join(inspect.signature(fn).parameters) == TORCH_PARAMETERS[name]


def test_keyword_input_as_torch():
    A = t([[2.0, 0.0], [0.0, 4.0]])
    assert tg.det(input=A).item() == pytest.approx(8.0)
    assert tg.logdet(input=A).item() == pytest.approx(np.log(8.0))
    np.testing.assert_allclose(tg.matrix_power(input=A, n=2).numpy(), np.diag([4.0, 16.0]))
    X = tg.cholesky_solve(input=t([[4.0], [16.0]]), input2=tg.sqrt(A))
    np.testing.assert_allclose(X.numpy(), [[2.0], [4.0]])
    X = tg.triangular_solve(input=t([[2.0], [4.0]]), A=A).solution
    np.testing.assert_allclose(X.numpy(), [[1.0], [1.0]])
    assert L.lstsq(input=A, b=t([[2.0], [4.0]])).solution.shape == (2, 1)
    with pytest.raises(ArgumentError, match="only supported on CUDA"):
        L.svd(A, driver="gesvd")


def test_older_torch_spellings():
    A = RNG.standard_normal((4, 3))
    U, S, V = tg.svd(t(A))
    np.testing.assert_allclose(((U * S) @ V.T).numpy(), A, atol=1e-12)
    U, S, V = tg.svd(t(A), compute_uv=False)
    assert U.shape == (4, 4) and V.shape == (3, 3) and not U.numpy().any()
    Q, R = t(A).qr(some=False)
    assert Q.shape == (4, 4)
    Lo = t(A.T @ A).cholesky(upper=True)
    np.testing.assert_allclose((Lo.T @ Lo).numpy(), A.T @ A, atol=1e-12)
    sol, coeff = tg.triangular_solve(t(np.ones((3, 1))), t(np.triu(A[:3]) + 3 * np.eye(3)))
    assert coeff.shape == (3, 3)
    assert L.qr(t(A), mode="r").Q.shape == (0,)


def test_tensor_methods_match_the_functions():
    A, B = t(well_conditioned(2, 3, 3)), t(RNG.standard_normal((2, 3, 2)))
    S = A @ A.mT
    Lo = L.cholesky(S)
    LU, piv = L.lu_factor(A)
    pairs = [(A.inverse(), L.inv(A)), (A.det(), L.det(A)), (A.logdet(), tg.logdet(A)),
             (A.slogdet()[1], L.slogdet(A)[1]), (A.matrix_exp(), L.matrix_exp(A)),
             (A.matrix_power(2), A @ A), (S.cholesky(), Lo), (A.qr()[1], L.qr(A)[1]),
             (A.svd()[1], L.svdvals(A)), (B.cholesky_solve(Lo), L.solve(S, B)),
             (B.triangular_solve(A)[0], L.solve_triangular(A, B, upper=True)),
             (Lo.cholesky_inverse(), L.inv(S)), (B.lu_solve(LU, piv), L.solve(A, B))]
    for got, want in pairs:
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


def test_float32_stays_float32():
    A = t(well_conditioned(2, 3, 3), dtype=np.float32)
    for out in [L.inv(A), L.solve(A, A), L.det(A), L.cholesky(A @ A.mT), L.eigh(A).eigenvalues,
                L.svd(A).S, L.qr(A).R, L.lu(A).U, L.matrix_exp(A * 0.1)]:
        assert out.dtype == tg.float32


def test_empty_batches():
    A = t(np.zeros((0, 3, 3)))
    assert L.inv(A).shape == (0, 3, 3) and L.det(A).shape == (0,)
    assert L.svd(A).U.shape == (0, 3, 3) and L.eigh(A).eigenvalues.shape == (0, 3)
    assert L.solve(A, t(np.zeros((0, 3)))).shape == (0, 3)


# ---- repeated eigen/singular values ----------------------------------------------------------
def test_repeated_eigenvalues_warn_once_and_give_nan_like_torch():
    _common._WARNED.discard("linalg.eigh backward")
    A = t(np.eye(3), grad=True)
    with pytest.warns(UserWarning, match="repeated eigenvalues"):
        L.eigh(A).eigenvectors.sum().backward()
    assert not np.isfinite(A.grad.numpy()).all()
    A.grad = None
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # once: no second warning
        L.eigh(A).eigenvectors.sum().backward()
        B = t(np.eye(3), grad=True)                 # eigenvalues alone: well defined, no warning
        L.eigvalsh(B).sum().backward()
    np.testing.assert_allclose(B.grad.numpy(), np.eye(3))


def test_repeated_singular_values_warn():
    _common._WARNED.discard("linalg.svd backward")
    A = t(np.eye(3), grad=True)
    with pytest.warns(UserWarning, match="repeated singular"):
        L.svd(A).U.sum().backward()
    B = t(np.eye(3), grad=True)
    L.svdvals(B).sum().backward()
    np.testing.assert_allclose(B.grad.numpy(), np.eye(3))


def test_full_matrices_extra_columns_get_no_gradient_as_in_torch():
    A = t(RNG.standard_normal((4, 3)), grad=True)
    U, S, Vh = L.svd(A, full_matrices=True)
    assert U.shape == (4, 4)
    U[:, 3].sum().backward()
    assert not A.grad.numpy().any()


# ---- forward-mode rules of the primitives themselves -------------------------------------------
def _spd(x):
    return x @ x.mT + 4 * tg.eye(4, dtype=x.dtype)


PRIMITIVE_CALLS = {
    "inv": lambda X, Y: L.inv(X),
    "solve": lambda X, Y: L.solve(X, Y),
    "solve_triangular": lambda X, Y: L.solve_triangular(X, Y, upper=True, unitriangular=True),
    "det": lambda X, Y: L.det(X),
    "slogdet": lambda X, Y: L.slogdet(X).logabsdet,
    "matrix_exp": lambda X, Y: L.matrix_exp(X * 0.2),
    "cholesky": lambda X, Y: L.cholesky(_spd(X)),
    "qr_tall": lambda X, Y: L.qr(X[..., :3]).R,
    "qr_wide": lambda X, Y: L.qr(X[..., :3, :]).R,
    "lu_square": lambda X, Y: L.lu_factor(X).LU,
    "lu_tall": lambda X, Y: L.lu_factor(X[..., :2]).LU,
    "lu_wide": lambda X, Y: L.lu_factor(X[..., :2, :]).LU,
    "eigh": lambda X, Y: L.eigh(X).eigenvalues,
    "svd_tall": lambda X, Y: L.svd(X[..., :3], full_matrices=False).S,
    "svd_wide_full": lambda X, Y: L.svd(X[..., :3, :]).S,
}


@pytest.mark.parametrize("name", sorted(PRIMITIVE_CALLS))
def test_primitive_jvp_agrees_with_vjp(name):
    """<u, jvp(v)> = <vjp(u), v> on the packed output (the op-database dot test only sees
    the getitem that slices it)."""
    rng = np.random.default_rng(1)
    X, Y = t(well_conditioned(2, 4, 4), grad=True), t(rng.standard_normal((2, 4, 2)), grad=True)
    node = PRIMITIVE_CALLS[name](X, Y).grad_fn
    while node.op.name in ("getitem", "reshape", "permute"):
        node = node.parents[0]
    assert node.op.name == name.split("_")[0] or node.op.name.startswith(name.split("_")[0])
    tangents = [0.0 if p is None else rng.standard_normal(p.shape) for p in node.parents]
    u = rng.standard_normal(node.shape)
    lhs = np.sum(u * np.asarray(node.op.jvp(node.ctx, *tangents)))
    cots = node.op.vjp(node.ctx, u)
    rhs = sum(np.sum(np.asarray(c) * v) for p, c, v in zip(node.parents, cots, tangents)
              if p is not None)
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-9)


# ---- conventions checked against PyTorch (skipped without torch) -------------------------------
def _spd_array(n, batch=()):
    x = RNG.standard_normal(batch + (n, n))
    return x @ np.swapaxes(x, -1, -2) + n * np.eye(n)


TORCH_CASES = {
    "det_rank_1": (lambda lib, A: lib.linalg.det(A), [np.outer([1.0, 2, 3], [3.0, 1, 2])]),
    "det_rank_2": (lambda lib, A: lib.linalg.det(A),
                   [np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]])]),
    "eigh_upper_of_nonsymmetric": (
        lambda lib, A: (lambda w, v: (w, v * v))(*lib.linalg.eigh(A, UPLO="U")),
        [RNG.standard_normal((2, 3, 3))]),
    "cholesky_of_nonsymmetric": (lambda lib, A: lib.linalg.cholesky(A),
                                 [_spd_array(3) + np.triu(RNG.standard_normal((3, 3)), 1)]),
    "svd_full_tall": (lambda lib, A: (lambda u, s, vh: (s, u[..., :3] ** 2, vh ** 2))(
        *lib.linalg.svd(A)), [RNG.standard_normal((2, 4, 3))]),
    "qr_complete_wide": (lambda lib, A: tuple(lib.linalg.qr(A, mode="complete")),
                         [RNG.standard_normal((2, 3, 5))]),
    "lu_tall": (lambda lib, A: tuple(lib.linalg.lu(A)), [RNG.standard_normal((2, 4, 3))]),
    "solve_broadcast": (lambda lib, A, B: lib.linalg.solve(A, B),
                        [well_conditioned(2, 1, 3, 3), RNG.standard_normal((4, 3, 2))]),
    "solve_triangular_right": (
        lambda lib, A, B: lib.linalg.solve_triangular(A, B, upper=False, left=False),
        [well_conditioned(2, 1, 3, 3), RNG.standard_normal((4, 2, 3))]),
    "matrix_power_0": (lambda lib, A: lib.linalg.matrix_power(A, 0) + A,
                       [RNG.standard_normal((3, 3))]),
    "lstsq_wide": (lambda lib, A, B: lib.linalg.lstsq(A, B).solution,
                   [RNG.standard_normal((3, 5)), RNG.standard_normal((3, 2))]),
    "lu_solve_right": (lambda lib, A, B: lib.linalg.lu_solve(*lib.linalg.lu_factor(A), B,
                                                             left=False),
                       [well_conditioned(2, 3, 3), RNG.standard_normal((2, 2, 3))]),
}


def _run(lib, fn, arrays):
    leaves = [lib.tensor(a, requires_grad=True) for a in arrays]
    outs = fn(lib, *leaves)
    outs = outs if isinstance(outs, tuple) else (outs,)
    total = 0
    for o in outs:
        if o.requires_grad:
            w = np.cos(np.arange(o.numel())).reshape(tuple(o.shape))
            total = total + (o * lib.tensor(w)).sum()
    total.backward()
    return [o.detach().numpy() for o in outs], [x.grad.numpy() for x in leaves]


@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_same_values_and_gradients_as_torch(name):
    torch = pytest.importorskip("torch")
    fn, arrays = TORCH_CASES[name]
    (ours, our_grads), (theirs, their_grads) = _run(tg, fn, arrays), _run(torch, fn, arrays)
    for a, b in zip(ours + our_grads, theirs + their_grads):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
