"""Hypothesis builds random computation graphs (values reused by several ops, in-place
updates of intermediates, views) and checks the engine on the whole graph: gradients match
central finite differences, ``backward`` agrees with ``autograd.grad``, and second
derivatives match finite differences of the first.

The op database proves each rule alone; this proves the walk that combines them (ordering,
summing over multiple uses, broadcasting back, in-place rebasing).
"""
import numpy as np
from hypothesis import given, strategies as st

import tapegrad as tg
from tapegrad.autograd import gradcheck, gradgradcheck

SHAPE = (2, 3)

# Each step reads one or two earlier values (by index, so values get reused) and appends a
# new one of the same shape; every op here is smooth on the values it can meet.
UNARY = {
    "tanh": tg.tanh, "sin": tg.sin, "sigmoid": tg.sigmoid,
    "exp_small": lambda a: tg.exp(a * 0.2), "square": lambda a: a * a,
    "softplus": lambda a: tg.log(1 + tg.exp(a)),
    "row_sum": lambda a: a.sum(1, keepdim=True) * 0.3 + a,      # reduce, then broadcast back
    "col_mean": lambda a: a.mean(0) * a, "transpose_back": lambda a: a.T.reshape(3, 2).reshape(2, 3),
    "slice_cat": lambda a: tg.cat([a[:, 1:], a[:, :1]], 1),
    "inplace_scale": lambda a: (a * 1).mul_(1.5),
    "inplace_view": lambda a: _inplace_on_view(a),
}
BINARY = {
    "add": lambda a, b: a + b, "mul": lambda a, b: a * b, "sub": lambda a, b: a - b,
    "div": lambda a, b: a / (1.5 + tg.tanh(b)), "where": lambda a, b: tg.where(a > b, a, b * 2),
    "matmul": lambda a, b: a @ b.T @ a * 0.3,
    "stack_sum": lambda a, b: tg.stack([a, b]).sum(0),
}


def _inplace_on_view(a):
    y = a * 1
    y[..., :1].mul_(2)          # writes through a view into y
    return y


step = st.one_of(
    st.tuples(st.just("u"), st.sampled_from(sorted(UNARY)), st.integers(0, 100)),
    st.tuples(st.just("b"), st.sampled_from(sorted(BINARY)), st.integers(0, 100),
              st.integers(0, 100)))


def build(program):
    """The function the program computes from two leaves, reduced to a scalar."""
    def f(x, w):
        values = [x, w]
        for instr in program:
            if instr[0] == "u":
                values.append(UNARY[instr[1]](values[instr[2] % len(values)]))
            else:
                a, b = values[instr[2] % len(values)], values[instr[3] % len(values)]
                values.append(BINARY[instr[1]](a, b))
        # Combine the last few values so that earlier ones are reused too.
        return sum((v * (k + 1)).sum() for k, v in enumerate(values[-3:]))
    return f


def leaves(seed):
    rng = np.random.default_rng(seed)
    return (tg.tensor(rng.uniform(-1, 1, SHAPE), requires_grad=True),
            tg.tensor(rng.uniform(-1, 1, SHAPE), requires_grad=True))


@given(program=st.lists(step, min_size=1, max_size=8), seed=st.integers(0, 2 ** 16))
def test_random_graph_gradients_match_finite_differences(program, seed):
    f = build(program)
    x, w = leaves(seed)
    assert gradcheck(f, (x, w), eps=1e-6, atol=1e-5, rtol=1e-4)


@given(program=st.lists(step, min_size=1, max_size=8), seed=st.integers(0, 2 ** 16))
def test_backward_and_grad_agree(program, seed):
    f = build(program)
    x, w = leaves(seed)
    gx, gw = tg.autograd.grad(f(x, w), (x, w), allow_unused=True)
    f(x, w).backward()
    for g, leaf in ((gx, x), (gw, w)):
        if g is None:
            assert leaf.grad is None
        else:
            np.testing.assert_allclose(leaf.grad.numpy(), g.numpy(), rtol=1e-12, atol=1e-12)


@given(program=st.lists(step, min_size=1, max_size=5), seed=st.integers(0, 2 ** 16))
def test_random_graph_second_derivatives(program, seed):
    f = build(program)
    x, w = leaves(seed)
    assert gradgradcheck(f, (x, w), eps=1e-6, atol=1e-4, rtol=1e-3)
