"""Optional: the same code run with tapegrad and with PyTorch gives the same numbers.

Skipped when torch is not installed (it never is in CI: torch is not a dependency). Each case
is an expression evaluated with ``lib`` bound to either module, on the same input values;
forward values, result dtypes and gradients must agree.
"""
import numpy as np
import pytest

import tapegrad as tg
from opinfo import PARITY

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
A = RNG.uniform(0.5, 2.0, (3, 4)).astype(np.float32)
B = RNG.uniform(0.5, 2.0, (4,)).astype(np.float32)
C = RNG.uniform(-2.0, 2.0, (3, 4)).astype(np.float32)
M = RNG.uniform(-1.0, 1.0, (2, 4, 5)).astype(np.float32)

CASES = [
    "x + y", "x - y", "x * y", "x / y", "x ** y", "x ** 2", "2 ** x", "1 - x", "2 / x", "-x",
    "lib.exp(x)", "lib.log(x)", "lib.sqrt(x)", "lib.rsqrt(x)", "lib.sin(z)", "lib.cos(z)",
    "lib.tan(x * 0.5)", "lib.tanh(z)", "lib.sigmoid(z)", "lib.relu(z)", "lib.abs(z)",
    "lib.clamp(z, -0.5, 0.7)", "lib.clamp(z, min=0.1)", "lib.maximum(x, z)", "lib.minimum(x, z)",
    "lib.where(z > 0, x, z)", "x.sum()", "x.sum(1)", "x.sum((0, 1), keepdim=True)",
    "x.mean(0)", "x.prod(1)", "x.amax(1)", "x.amin(0)", "x.max()", "x.max(1).values",
    "x.min(0, keepdim=True).values", "x @ y", "y @ x.T", "x @ m", "m.transpose(1, 2) @ y",
    "x.reshape(2, 6)", "x.view(-1)", "x.flatten()", "x.T", "x.mT", "x.permute(1, 0)",
    "x.unsqueeze(1).expand(3, 2, 4)", "x.unsqueeze(0).squeeze(0)", "lib.cat([x, z], 1)",
    "lib.stack([x, z], 2)", "x[1]", "x[:, 1:3]", "x[..., None]", "x[lib.tensor([0, 0, 2])]",
    "x[z > 0]", "x.clone().mul_(2)", "(x * 1).add_(z, alpha=2)", "(x * 1).clamp_(0.7, 1.5)",
    "x.double()", "x.sum(dtype=lib.float64)",
] + PARITY    # the op families' expressions (tests/opinfo_<family>.py)


def _run(lib, expr):
    make = (lambda a: lib.tensor(a, requires_grad=True))
    env = {"lib": lib, "x": make(A), "y": make(B), "z": make(C), "m": make(M)}
    out = eval(expr, {}, env)
    leaves = [env[k] for k in "xyzm"]
    weights = np.linspace(-1.0, 1.0, out.numel()).reshape(tuple(out.shape)).astype(np.float32)
    (out * lib.tensor(weights)).sum().backward()
    grads = [None if t.grad is None else t.grad.detach().numpy() for t in leaves]
    return out.detach().numpy(), str(out.dtype).split(".")[-1], grads


@pytest.mark.parametrize("expr", CASES)
def test_same_numbers_as_pytorch(expr):
    ours, our_dtype, our_grads = _run(tg, expr)
    theirs, their_dtype, their_grads = _run(torch, expr)
    assert our_dtype == their_dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    for name, g, h in zip("xyzm", our_grads, their_grads):
        assert (g is None) == (h is None), f"grad of {name}: {g} vs {h}"
        if g is not None:
            np.testing.assert_allclose(g, h, rtol=1e-4, atol=1e-5, err_msg=f"grad of {name}")


def test_double_backward_matches_pytorch():
    def second(lib):
        x = lib.tensor(A, requires_grad=True)
        y = (lib.tanh(x) * lib.exp(x * 0.3)).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (h,) = lib.autograd.grad((g * g).sum(), x)
        return h.detach().numpy()
    np.testing.assert_allclose(second(tg), second(torch), rtol=1e-4, atol=1e-5)


# Edge cases where a gradient convention matters: ties, kinks, bounds, repeats.
T = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, -1.0, 0.0]], dtype=np.float32)
EDGE_CASES = [
    "t.amax()", "t.amax(1)", "t.max()", "t.max(1).values", "t.min(1).values", "t.amin(0)",
    "lib.relu(t)", "lib.abs(t)", "lib.clamp(t, 0.0, 2.0)", "lib.maximum(t, lib.ones_like(t) * 2)",
    "lib.minimum(t, lib.zeros_like(t))", "t[lib.tensor([1, 1, 0])]", "t[:, lib.tensor([3, 3])]",
    "t ** 0", "t ** 2", "t.prod(1)", "lib.sqrt(t * t + 1)", "lib.where(t == 3, t, t * 2)",
]


@pytest.mark.parametrize("expr", EDGE_CASES)
def test_gradient_conventions_match_pytorch(expr):
    def run(lib):
        t = lib.tensor(T, requires_grad=True)
        out = eval(expr, {}, {"lib": lib, "t": t})
        out.sum().backward()
        return out.detach().numpy(), t.grad.numpy()
    (o1, g1), (o2, g2) = run(tg), run(torch)
    np.testing.assert_allclose(o1, o2)
    np.testing.assert_allclose(g1, g2, err_msg=expr)


DTYPE_CASES = [
    ("lib.tensor([1, 2]) * 2.5", None), ("lib.tensor([1, 2]) / lib.tensor([2, 4])", None),
    ("lib.tensor([1, 2], dtype=lib.int32).sum()", None), ("lib.tensor([True, False]).sum()", None),
    ("lib.tensor([1.0, 2.0]) + lib.tensor(3.0, dtype=lib.float64)", None),
    ("lib.tensor([1, 2]) + lib.tensor([0.5, 0.5])", None), ("lib.arange(0, 1, 0.25)", None),
    ("lib.full((2,), 3)", None), ("lib.tensor(2) ** 2", None), ("lib.exp(lib.tensor([1, 2]))", None),
    ("lib.zeros(2, dtype=lib.float16) + 1.5", None), ("lib.tensor([1.5]) > 1", None),
    ("lib.tensor([200, 100], dtype=lib.uint8).sum()", None),
    ("lib.tensor([3, 4], dtype=lib.uint8).prod()", None),
    ("lib.clamp(lib.tensor([1, 2]), min=0.5)", None), ("lib.clamp(lib.tensor([1, 2]), max=1)", None),
    ("lib.squeeze(lib.tensor(1.0), 0)", None),
]


@pytest.mark.parametrize("expr", [c for c, _ in DTYPE_CASES])
def test_result_dtypes_match_pytorch(expr):
    ours, theirs = eval(expr, {}, {"lib": tg}), eval(expr, {}, {"lib": torch})
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(ours.numpy().astype(np.float64), theirs.numpy().astype(np.float64))


MORE_CASES = [
    "lib.cat([lib.tensor([1]), lib.tensor([2.0])])",
    "lib.stack([lib.ones(2, dtype=lib.float16), lib.tensor([1, 2])])",
    "lib.ones(2, 3).sum(dim=())", "lib.arange(lib.tensor(5))",
    "lib.tensor(0.1, dtype=lib.float64) * 3", "lib.ones(2) * np.int64(3)",
    "lib.where(lib.tensor([True, False]), 1.0, 0.0)",
]


@pytest.mark.parametrize("expr", MORE_CASES)
def test_more_results_match_pytorch(expr):
    ours, theirs = eval(expr, {"np": np}, {"lib": tg}), eval(expr, {"np": np}, {"lib": torch})
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(ours.numpy().astype(np.float64), theirs.numpy().astype(np.float64))


# PyTorch has no derivative for scalar % tensor or for //: compare values only there (tapegrad
# differentiates the first and treats the second as constant).
@pytest.mark.parametrize("expr, with_grads", [("x % 2", True), ("x % y", True),
                                              ("lib.remainder(x, y)", True), ("2.5 % y", False),
                                              ("x // 2", False), ("x // y", False)])
def test_floor_division_and_remainder_match_pytorch(expr, with_grads):
    def run(lib):
        x = lib.tensor([3.5, -2.5, 0.7], requires_grad=True)
        y = lib.tensor([2.0, 3.0, -2.0], requires_grad=True)
        out = eval(expr, {}, {"lib": lib, "x": x, "y": y})
        if with_grads:
            out.sum().backward()
        return out.detach().numpy(), [None if t.grad is None else t.grad.numpy() for t in (x, y)]
    (o1, g1), (o2, g2) = run(tg), run(torch)
    np.testing.assert_allclose(o1, o2)
    for a, b in zip(g1, g2):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b)


def test_integer_with_index_tensor_separated_by_a_slice_indexes_like_pytorch():
    a = np.arange(24.0).reshape(2, 3, 4)

    def run(lib):
        x = lib.tensor(a, requires_grad=True)
        idx = lib.tensor([1, 2])
        y = x[0, :, idx]
        w = lib.tensor(np.arange(y.numel(), dtype=np.float64).reshape(tuple(y.shape)))
        (y * w).sum().backward()
        z = x.detach().clone()
        z[0, :, idx] = lib.tensor(np.arange(6.0).reshape(3, 2))
        return tuple(y.shape), x.grad.numpy(), z.numpy()
    ours, theirs = run(tg), run(torch)
    assert ours[0] == theirs[0] == (3, 2)
    np.testing.assert_array_equal(ours[1], theirs[1])
    np.testing.assert_array_equal(ours[2], theirs[2])
