"""Products and contractions beyond the op database: golden values, PyTorch's conventions
(zero-distance gradients, beta = 0, cross's default dim), error paths, float16 accumulation,
einsum's cached plans, and the layouts matmul hands to BLAS."""
import itertools
import warnings

import numpy as np
import pytest

import tapegrad as tg
from tapegrad._core.errors import ArgumentError, DTypeError, ShapeError
from tapegrad.ops.linalg import contract, products
from tapegrad.ops.linalg.products import blas_ready


def t(a, grad=False, dtype=np.float64):
    return tg.tensor(np.asarray(a, dtype=dtype), requires_grad=grad)


# ---- golden values --------------------------------------------------------------------------
def test_einsum_golden():
    a = t([[1.0, 2.0], [3.0, 4.0]], grad=True)
    assert tg.einsum("ii", a).item() == 5.0
    np.testing.assert_array_equal(tg.einsum("ij->ji", a).detach().numpy(), [[1, 3], [2, 4]])
    np.testing.assert_array_equal(tg.einsum("ij,j->i", a, t([1.0, -1.0])).detach().numpy(),
                                  [-1, -1])
    tg.einsum("ii->", a).backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.eye(2))


def test_einsum_second_order_diagonal():
    """d^2/da^2 of sum(diag(a)^3) is 6 diag(a) on the diagonal."""
    a = t([[1.0, 2.0], [3.0, 4.0]], grad=True)
    (g,) = tg.autograd.grad((tg.einsum("ii->i", a) ** 3).sum(), a, create_graph=True)
    (h,) = tg.autograd.grad(g.sum(), a)
    np.testing.assert_allclose(h.numpy(), [[6.0, 0.0], [0.0, 24.0]])


def test_tensordot_kron_cross_golden():
    np.testing.assert_array_equal(tg.tensordot(t([1.0, 2.0]), t([3.0, 4.0]), dims=1).numpy(),
                                  11.0)
    np.testing.assert_array_equal(tg.kron(t([1.0, 2.0]), t([1.0, 10.0])).numpy(),
                                  [1, 10, 2, 20])
    e = np.eye(3)
    np.testing.assert_array_equal(tg.linalg.cross(t(e[0]), t(e[1])).numpy(), e[2])
    np.testing.assert_array_equal(tg.linalg.cross(t(e[1]), t(e[0])).numpy(), -e[2])


def test_cdist_golden_and_zero_distance_gradient():
    """p=2 at zero distance: gradient 0 (PyTorch's subgradient), never NaN."""
    x1 = t([[0.0, 0.0], [3.0, 4.0]], grad=True)
    x2 = t([[0.0, 0.0]], grad=True)
    for mode in ("donot_use_mm_for_euclid_dist", "use_mm_for_euclid_dist"):
        x1.grad = x2.grad = None
        d = tg.cdist(x1, x2, compute_mode=mode)
        np.testing.assert_allclose(d.detach().numpy(), [[0.0], [5.0]])
        d.sum().backward()
        np.testing.assert_allclose(x1.grad.numpy(), [[0.0, 0.0], [0.6, 0.8]])
        np.testing.assert_allclose(x2.grad.numpy(), [[-0.6, -0.8]])


def test_cdist_zero_distance_and_zero_coordinates_like_torch():
    """Other p: zero distances and equal coordinates get gradient 0 (p < 1 included)."""
    x = t([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0]], grad=True)
    tg.cdist(x, x, p=0.5).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[4.0, 4.0], [4.0, 4.0], [-8.0, -8.0]])
    for p in (0.5, float("inf"), 1.0, 3.0):
        x = t([[1.0, 2.0], [1.0, 3.0]], grad=True)
        tg.cdist(x, t([[1.0, 2.5]]), p=p).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [[0.0, -1.0], [0.0, 1.0]], err_msg=str(p))


def test_multi_dot_golden_and_order():
    rng = np.random.default_rng(0)
    ms = [rng.standard_normal(s) for s in [(3,), (3, 4), (4, 5), (5, 2), (2,)]]
    out = tg.linalg.multi_dot([t(m) for m in ms])
    np.testing.assert_allclose(out.numpy(), np.linalg.multi_dot(ms))
    # (10x100)(100x5)(5x50): (AB)C costs 7,500 multiplications, A(BC) 75,000
    split = products._chain_order([10, 100, 5, 50])
    assert split[0][2] == 1


def test_chain_order_is_optimal():
    """The dynamic programme's order costs no more than any other bracketing (brute force)."""
    def cost(dims, i, j):          # cheapest over all bracketings of matrices i..j
        if i == j:
            return 0
        return min(cost(dims, i, k) + cost(dims, k + 1, j) + dims[i] * dims[k + 1] * dims[j + 1]
                   for k in range(i, j))

    def cost_of(dims, split, i, j):
        if i == j:
            return 0
        k = split[i][j]
        return (cost_of(dims, split, i, k) + cost_of(dims, split, k + 1, j)
                + dims[i] * dims[k + 1] * dims[j + 1])
    rng = np.random.default_rng(1)
    for _ in range(20):
        dims = list(rng.integers(1, 30, size=rng.integers(3, 7)))
        split = products._chain_order(dims)
        assert cost_of(dims, split, 0, len(dims) - 2) == cost(dims, 0, len(dims) - 2)


def test_addmm_beta_zero_ignores_nan_and_gives_zero_gradient():
    inp = t(np.full((2, 2), np.nan), grad=True)
    a = t(np.ones((2, 3)), grad=True)
    out = tg.addmm(inp, a, t(np.ones((3, 2))), beta=0, alpha=2)
    np.testing.assert_array_equal(out.detach().numpy(), np.full((2, 2), 6.0))
    out.sum().backward()
    np.testing.assert_array_equal(inp.grad.numpy(), np.zeros((2, 2)))


def test_inplace_add_forms():
    x = t(np.ones((2, 2)))
    assert x.addmm_(t(np.ones((2, 3))), t(np.ones((3, 2))), beta=2) is x
    np.testing.assert_array_equal(x.numpy(), np.full((2, 2), 5.0))
    v = t([1.0, 2.0])
    v.addmv_(t(np.eye(2)), t([1.0, 1.0]), alpha=-1)
    np.testing.assert_array_equal(v.numpy(), [0.0, 1.0])
    leaf = t(np.ones((2, 2)), grad=True)
    with pytest.raises(tg.GradError, match="addmm_: a leaf tensor"):
        leaf.addmm_(t(np.ones((2, 3))), t(np.ones((3, 2))))


def test_cross_default_dim_warns_and_uses_first_size_3_dim():
    a, b = np.random.default_rng(0).standard_normal((2, 3, 3, 2))
    with pytest.warns(UserWarning, match="deprecated"):
        out = tg.cross(t(a), t(b))
    np.testing.assert_allclose(out.numpy(), np.cross(a, b, axis=0))
    with pytest.warns(UserWarning):
        out = tg.cross(t(np.ones((1, 3))), t(np.ones((3, 3))))     # input's first size-3 dim
    assert out.shape == (3, 3)


def test_chain_matmul_warns():
    with pytest.warns(UserWarning, match="multi_dot"):
        out = tg.chain_matmul(t(np.ones((2, 3))), t(np.ones((3, 2))))
    np.testing.assert_array_equal(out.numpy(), np.full((2, 2), 3.0))


def test_einsum_broadcasts_size_one_dims_like_torch():
    a, b = np.ones((2, 1)), np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(tg.einsum("ij,jk->ik", t(a), t(b)).numpy(),
                                  np.broadcast_to(b.sum(0), (2, 4)))


def test_einsum_sums_ellipsis_dims_missing_from_the_output():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(tg.einsum("...i->i", t(x)).numpy(), x.sum(0))


# ---- float16 --------------------------------------------------------------------------------
def test_float16_matmul_accumulates_in_float32():
    """2048 + 1 is not a float16; a float16 running sum of 4096 ones would stop at 2048."""
    ones = tg.ones(4096, dtype=tg.float16)
    out = tg.matmul(ones, ones)
    assert out.dtype == tg.float16 and out.item() == 4096.0
    m = tg.matmul(tg.ones(2, 4096, dtype=tg.float16), tg.ones(4096, 3, dtype=tg.float16))
    assert m.dtype == tg.float16 and np.all(m.numpy() == 4096.0)
    assert tg.einsum("i,i->", ones, ones).item() == 4096.0


# ---- einsum plans are cached ----------------------------------------------------------------
def test_einsum_path_is_found_once_per_equation_and_shapes(monkeypatch):
    calls = []
    real = np.einsum_path

    def spy(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)
    monkeypatch.setattr(np, "einsum_path", spy)
    eq = "pq,qr,rs->ps"            # an equation no other test uses (the cache is global)
    ops = [t(np.ones(s)) for s in [(2, 3), (3, 4), (4, 5)]]
    for _ in range(3):
        tg.einsum(eq, *ops)
    assert len(calls) == 1
    tg.einsum(eq, *[t(np.ones(s)) for s in [(2, 3), (3, 4), (4, 6)]])
    assert len(calls) == 2
    tg.einsum(eq, *ops)
    assert len(calls) == 2
    assert contract._plan.cache_info().currsize >= 2


# ---- every product stays on BLAS ------------------------------------------------------------
def _layouts():
    """Arrays in the layouts rules meet: views that BLAS takes and views it doesn't."""
    base = np.arange(48.0).reshape(4, 12)
    return {
        "c": (base[:, :4], True), "f": (np.asfortranarray(base[:, :4]), True),
        "transposed": (base.T[:4], True), "row_step": (base[::2, :4], True),
        "broadcast": (np.broadcast_to(np.float64(1.0), (4, 4)), False),
        "row_broadcast": (np.broadcast_to(base[0, :4], (4, 4)), False),
        "flipped": (base[::-1, :4], False), "both_strided": (base[:, ::3], False),
        "vec_broadcast": (np.broadcast_to(np.float64(1.0), (4,)), False),
        "vec_flipped": (base[0, ::-1], False), "vec_step": (base[0, ::2], True),
        "column_broadcast": (np.broadcast_to(np.float64(2.0), (4, 1)), False),
    }


@pytest.mark.parametrize("name", sorted(_layouts()))
def test_blas_ready_copies_only_what_blas_cant_take(name):
    a, ok = _layouts()[name]
    r = blas_ready(a)
    assert (r is a) == ok
    assert blas_ready(r) is r                    # what it returns BLAS takes as it is
    np.testing.assert_array_equal(r, a)


def test_blas_ready_keeps_broadcast_batches_broadcast():
    a = np.broadcast_to(np.float64(1.0), (50, 4, 4))
    r = blas_ready(a)
    assert r.strides[0] == 0 and blas_ready(r) is r and r.base is not None
    assert blas_ready(np.ones((3, 4), dtype=np.int64)[:, ::-1]).strides[1] < 0   # no BLAS


@pytest.mark.parametrize("expr", [
    "(W @ x).sum()", "(x @ W).sum()", "(W @ W).sum()", "(W.T @ W[::-1]).sum()",
    "tg.einsum('ij,jk->ik', W, W).sum()", "tg.tensordot(W, W, dims=1).sum()",
    "tg.bmm(B, B).sum()", "tg.mv(W, x).sum()", "tg.addmm(W, W, W).sum()",
    "tg.inner(W, W).sum()", "tg.einsum('bij,bkj->bik', B, B).sum()",
    "tg.linalg.multi_dot([x, W, W, x])", "tg.addbmm(W, B, B).sum()",
    "tg.cdist(W, W[:3], compute_mode='use_mm_for_euclid_dist').sum()",
    "tg.einsum('ii,ij->j', W, W).sum()", "(W[::-1] @ W[:, ::2]).sum()",
])
def test_products_get_blas_ready_operands_in_backward(monkeypatch, expr):
    """Every np.matmul a forward or backward calls gets operands BLAS takes as they are."""
    rng = np.random.default_rng(0)
    W = t(rng.standard_normal((6, 6)), grad=True)
    x = t(rng.standard_normal(6), grad=True)
    B = t(rng.standard_normal((3, 6, 6)), grad=True)
    seen = []
    real = np.matmul

    def spy(a, b, *args, **kwargs):
        seen.append((a, b))
        return real(a, b, *args, **kwargs)
    monkeypatch.setattr(np, "matmul", spy)
    out = eval(expr)
    (tg.autograd.grad(out, [W, x, B], allow_unused=True))
    assert seen
    for a, b in seen:
        for arr in (a, b):
            if np.ndim(arr) and arr.dtype.kind == "f":
                assert blas_ready(arr) is arr, (expr, arr.shape, arr.strides)


# ---- errors ----------------------------------------------------------------------------------
M23, M34, V3, V4 = t(np.ones((2, 3))), t(np.ones((3, 4))), t(np.ones(3)), t(np.ones(4))
B233, B234 = t(np.ones((2, 3, 3))), t(np.ones((2, 3, 4)))

ERRORS = [
    (lambda: tg.mm(V3, M34), ShapeError, "mm: input must be 2-d"),
    (lambda: tg.mm(M23, M23), ShapeError, r"mm: cannot contract \(2, 3\) with \(2, 3\)"),
    (lambda: tg.bmm(M23, M34), ShapeError, "bmm: input must be 3-d"),
    (lambda: tg.bmm(B234, t(np.ones((3, 4, 2)))), ShapeError, "bmm: batch sizes differ"),
    (lambda: tg.bmm(B234, B234), ShapeError, "bmm: cannot contract"),
    (lambda: tg.mv(M23, V4), ShapeError, "mv: cannot contract"),
    (lambda: tg.mv(V3, V3), ShapeError, "mv: input must be 2-d"),
    (lambda: tg.dot(M23, V3), ShapeError, "dot: input must be 1-d"),
    (lambda: tg.vdot(V3, V4), ShapeError, r"vdot: cannot contract \(3,\) with \(4,\)"),
    (lambda: tg.inner(M23, M34), ShapeError, r"inner: the last dims of \(2, 3\) and \(3, 4\)"),
    (lambda: tg.outer(M23, V3), ShapeError, "outer: input must be 1-d"),
    (lambda: tg.addmm(V3, M23, M34), ShapeError,
     r"addmm: input of shape \(3,\) can't be broadcast to the product's shape \(2, 4\)"),
    (lambda: tg.addmm(V4, M23, M23), ShapeError, "mm: cannot contract"),
    (lambda: tg.addmv(V3, M23, V3), ShapeError, r"addmv: input of shape \(3,\)"),
    (lambda: tg.baddbmm(V3, B233, B234), ShapeError, r"baddbmm: input of shape \(3,\)"),
    (lambda: tg.addbmm(M23, B233, t(np.ones((3, 3, 4)))), ShapeError, "addbmm: batch sizes"),
    (lambda: t(np.ones(4)).addmm_(t(np.ones((2, 3))), M34), ShapeError,
     r"addmm_: the result has shape \(2, 4\) but self has shape \(4,\)"),
    (lambda: tg.linalg.multi_dot([M23]), ArgumentError, "multi_dot: expected at least 2"),
    (lambda: tg.linalg.multi_dot([M23, V3, M34]), ShapeError, "multi_dot: the 1-th tensor"),
    (lambda: tg.linalg.multi_dot([B233, M34]), ShapeError, "multi_dot: the first tensor"),
    (lambda: tg.linalg.multi_dot([M23, M23]), ShapeError,
     r"multi_dot: tensors 0 and 1 with shapes \(2, 3\) and \(2, 3\)"),
    (lambda: tg.chain_matmul(M23, V3), ShapeError, "chain_matmul: every matrix must be 2-d"),
    (lambda: tg.chain_matmul(), ArgumentError, "chain_matmul: expected one or more"),
    (lambda: tg.linalg.vecdot(M23, V4), ShapeError, "linalg.vecdot: shapes"),
    (lambda: tg.linalg.vecdot(M23, V3, dim=2), ShapeError, "linalg.vecdot: dim 2"),
    (lambda: tg.einsum("ij,jk", M23), ArgumentError, "einsum: 'ij,jk' has 2 operand terms"),
    (lambda: tg.einsum("ij", M23, M23), ArgumentError, "but 2 operands were given"),
    (lambda: tg.einsum("i$", M23), ArgumentError, r"invalid subscript '\$'"),
    (lambda: tg.einsum("ijk", M23), ShapeError, "operand 0 .* has 3 subscripts .* but 2 dims"),
    (lambda: tg.einsum("ij...k", M23), ShapeError, "has 3 subscripts .* only 2 dims"),
    (lambda: tg.einsum("ij->ii", M23), ArgumentError, "output subscript 'i' appears more"),
    (lambda: tg.einsum("ij->k", M23), ArgumentError, "output subscript 'k' .* appears in no"),
    (lambda: tg.einsum("ij,jk", M23, M23), ShapeError, "subscript 'j' has size 2 in operand 1"),
    (lambda: tg.einsum("ii", M23), ShapeError, "subscript 'i' is repeated in operand 0"),
    (lambda: tg.einsum("i.j", M23), ArgumentError, "a '.'"),
    (lambda: tg.einsum("....", M23), ArgumentError, "a '.'"),
    (lambda: tg.einsum("ij->i.", M23), ArgumentError, "a '.' in the output"),
    (lambda: tg.einsum("i->i->i", V3), ArgumentError, "more than one '->'"),
    (lambda: tg.einsum(M23, [0, 99]), ArgumentError, "sublist holds ints in"),
    (lambda: tg.einsum("ij"), ArgumentError, "einsum: no operands"),
    (lambda: tg.tensordot(M23, M34, dims=([0], [1])), ShapeError,
     "tensordot: contracted dims must have the same size, but dim 0 of"),
    (lambda: tg.tensordot(M23, M34, dims=([5], [0])), ShapeError, r"dim pair \(5, 0\)"),
    (lambda: tg.tensordot(M23, M34, dims=([1], [0, 1])), ArgumentError, "same length"),
    (lambda: tg.tensordot(M23, M34, dims=3), ArgumentError, r"dims=3 must be in \[0, 2\]"),
    (lambda: tg.tensordot(M23, M34, dims=-1), ArgumentError, "dims=-1"),
    (lambda: tg.tensordot(M23, M23, dims=([1, 1], [1, -1])), ArgumentError, "contracted twice"),
    (lambda: tg.tensordot(M23, M34, dims="x"), ArgumentError, "dims must be an int or a pair"),
    (lambda: tg.linalg.cross(M34, M34), ShapeError, "linalg.cross: dim -1 must have size 3"),
    (lambda: tg.linalg.cross(M23, V3), ShapeError, "same number of dims"),
    (lambda: tg.linalg.cross(t(np.ones((4, 3))), t(np.ones((2, 3)))), ShapeError,
     "don't broadcast"),
    (lambda: tg.linalg.cross(M23, M23, dim=2), ShapeError, "dim 2 is out of range"),
    (lambda: tg.cross(t(np.ones((4, 2))), t(np.ones((4, 2)))), ShapeError,
     "cross: no dim of size 3"),
    (lambda: tg.cross(t(np.ones((3, 3))), t(np.ones((1, 3)))), ShapeError,
     r"cross: dim 0 must have size 3 in both inputs, got shapes \(3, 3\) and \(1, 3\)"),
    (lambda: tg.cdist(V3, M23), ShapeError, "cdist: x1 and x2 need at least 2 dims"),
    (lambda: tg.cdist(M23, M34), ShapeError, "cdist: .* same number of columns"),
    (lambda: tg.cdist(B233, t(np.ones((3, 2, 3)))), ShapeError, "cdist: batch dims"),
    (lambda: tg.cdist(t(np.ones((2, 3)), dtype=np.int64), M23), DTypeError,
     "cdist: x1 and x2 must be floating"),
    (lambda: tg.cdist(M23, t(np.ones((2, 3)), dtype=np.float32)), DTypeError, "same dtype"),
    (lambda: tg.cdist(M23, M23, p=-1), ArgumentError, r"cdist: p must be in \[0, inf\]"),
    (lambda: tg.cdist(M23, M23, compute_mode="fast"), ArgumentError, "compute_mode"),
]


@pytest.mark.parametrize("fn, cls, match", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors(fn, cls, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(cls, match=match):
            fn()


def test_errors_are_builtin_subclasses():
    with pytest.raises(ValueError):
        tg.einsum("ij,jk", M23, M23)
    with pytest.raises(RuntimeError):
        tg.mm(M23, M23)


def test_einsum_matches_numpy_on_random_equations():
    """A sweep over two-operand equations with shared, batch, summed and free labels."""
    rng = np.random.default_rng(3)
    sizes = dict(zip("abcde", (2, 3, 1, 4, 2)))
    for _ in range(40):
        la = "".join(rng.choice(list("abcde"), size=rng.integers(0, 4), replace=False))
        lb = "".join(rng.choice(list("abcde"), size=rng.integers(1, 4), replace=False))
        pool = sorted(set(la + lb))
        out = "".join(rng.permutation(pool)[:rng.integers(0, len(pool) + 1)])
        eq = f"{la},{lb}->{out}"
        a = rng.standard_normal([sizes[c] for c in la])
        b = rng.standard_normal([sizes[c] for c in lb])
        np.testing.assert_allclose(tg.einsum(eq, t(a), t(b)).numpy(), np.einsum(eq, a, b),
                                   err_msg=eq, atol=1e-12)


def test_products_accept_every_ndim_combination_matmul_does():
    for sa, sb in itertools.product([(3,), (2, 3), (1, 2, 3)], [(3,), (3, 2), (2, 3, 2)]):
        a, b = np.ones(sa), np.ones(sb)
        np.testing.assert_array_equal(tg.matmul(t(a), t(b)).numpy(), a @ b)


def test_tensordot_takes_a_0d_integer_tensor_as_dims_as_torch():
    # Found in review: torch.tensordot accepts dims=torch.tensor(1); tapegrad raised.
    out = tg.tensordot(tg.ones(2, 3), tg.ones(3, 2), dims=tg.tensor(1))
    assert out.shape == (2, 2) and out.tolist() == [[3.0, 3.0], [3.0, 3.0]]
