"""_core/axpy: y += alpha * x through NumPy's own BLAS, and the NumPy path where it can't."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad._core import axpy as axpy_mod
from tapegrad._core.axpy import MIN_SIZE, axpy
from tapegrad.optim.optimizer import add_scaled

native = pytest.mark.skipif(not axpy_mod.routines(),
                            reason="this NumPy's BLAS has no reachable axpy (MKL, Accelerate)")


@native
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_matches_numpy_and_leaves_x_alone(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 70)).astype(dtype)
    y = rng.standard_normal((300, 70)).astype(dtype)
    want = y + dtype(-0.3) * x
    x0 = x.copy()
    assert axpy(-0.3, x, y)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(y, want, rtol=tol, atol=tol)
    np.testing.assert_array_equal(x, x0)


@pytest.mark.parametrize("case", ["small", "dtypes", "strided", "readonly", "overlap", "sizes"])
def test_axpy_declines_what_it_cannot_do_and_touches_nothing(case):
    n = MIN_SIZE * 2
    x, y = np.ones(n, np.float32), np.zeros(n, np.float32)
    if case == "small":
        x, y = x[:MIN_SIZE - 1], y[:MIN_SIZE - 1]
    elif case == "dtypes":
        x = x.astype(np.float64)
    elif case == "strided":
        x, y = np.ones(2 * n, np.float32)[::2], y
    elif case == "readonly":
        y.flags.writeable = False
    elif case == "overlap":
        x = y
    elif case == "sizes":
        x = np.ones(n + 1, np.float32)
    before = y.copy()
    assert axpy(2.0, x, y) is False
    np.testing.assert_array_equal(y, before)


def test_without_numpys_blas_axpy_declines(monkeypatch):
    monkeypatch.setattr(axpy_mod, "_library_paths", lambda: iter(()))
    monkeypatch.setattr(axpy_mod, "_routines", axpy_mod._UNLOADED)
    y = np.zeros(MIN_SIZE * 2)
    assert axpy(1.0, np.ones_like(y), y) is False and not y.any()
    assert axpy_mod.routines() == {}


@pytest.mark.parametrize("shape", [(512, 300), (7,), (300, 512)])
def test_add_scaled_agrees_with_and_without_the_blas_path(monkeypatch, shape):
    rng = np.random.default_rng(1)
    p = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    if len(shape) == 2 and shape[0] == 300:
        g = np.asfortranarray(g)            # not C-contiguous: the NumPy path
    fast, g0 = p.copy(), g.copy()
    add_scaled(fast, g, -0.01, np.empty_like(p))
    monkeypatch.setattr(axpy_mod, "_routines", {})
    slow = p.copy()
    add_scaled(slow, g, -0.01, np.empty_like(p))
    np.testing.assert_allclose(fast, slow, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(fast, p - np.float32(0.01) * g, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(g, g0)


def test_sgd_step_on_a_large_weight_leaves_its_gradient_alone():
    w = tg.tensor(np.ones((256, 256), np.float32), requires_grad=True)
    (w * 2).sum().backward()
    grad = w.grad.detach().numpy().copy()
    tg.optim.SGD([w], lr=0.5).step()
    np.testing.assert_array_equal(w.grad.detach().numpy(), grad)
    np.testing.assert_allclose(w.detach().numpy(), 0.0, atol=1e-7)
