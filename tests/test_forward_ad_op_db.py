"""Forward mode through every row of the op database (tests/opinfo.py), in float64: the
tangent that ``forward_ad`` carries through each row's function is checked against finite
differences and against reverse mode (the dot identity <u, J v> = <J^T u, v>), at first order
and through one level of nesting (a JVP of a JVP against finite differences of the JVP; the
tangent of a gradient, forward-over-reverse, against double backward)."""
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.autograd.forward_ad as fwAD

from opinfo import F64, OP_DB
from test_op_db import float_outputs, for_each_sample

DIFFERENTIABLE = [op for op in OP_DB if op.differentiable]
by_name = pytest.mark.parametrize("op", DIFFERENTIABLE, ids=str)
H = 1e-6     # central differences in float64
H32 = 1e-3   # ... and for outputs a row gives in float32 (checked to a looser tolerance)


def _float_positions(s):
    return [i for i, a in enumerate(s.args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]


def _directions(s, rng):
    return {i: rng.standard_normal(s.args[i].shape) for i in _float_positions(s)}


def _call(op, s, shift=None, eps=0.0, requires_grad=False):
    """The row's float outputs' arrays at args + eps * shift."""
    args = []
    for i, a in enumerate(s.args):
        if isinstance(a, np.ndarray):
            if shift is not None and i in shift:
                a = np.asarray(a + eps * shift[i], dtype=a.dtype)
            args.append(tg.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f"))
        else:
            args.append(a)
    return args, float_outputs(op.fn(*args, **s.kwargs))


def _jvp(op, s, v, requires_grad=False, level=None):
    """(float outputs, their tangents) with every float input made dual along v."""
    args = []
    for i, a in enumerate(s.args):
        if isinstance(a, np.ndarray):
            t = tg.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f")
            if i in v:
                t = fwAD.make_dual(t, tg.tensor(v[i]), level=level)
            args.append(t)
        else:
            args.append(a)
    outs = float_outputs(op.fn(*args, **s.kwargs))
    return args, outs, [fwAD.unpack_dual(o, level=level).tangent for o in outs]


def _close(got, want, what, loose=False):
    want = np.asarray(want, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
    rtol = 2e-3 if loose else 1e-5
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol / 10 * scale, err_msg=what)


def _differences(f, dtypes):
    """Central differences of f(eps) (a list of arrays) at 0, one per output, with the step
    suited to each output's dtype."""
    steps = {H if d == F64 else H32 for d in dtypes}
    by_step = {h: [(p - m) / (2 * h) for p, m in zip(f(h), f(-h))] for h in steps}
    return [by_step[H if d == F64 else H32][k] for k, d in enumerate(dtypes)]


def _tangent_array(t, like):
    return np.zeros(tuple(like.shape)) if t is None else t.detach().numpy()


@by_name
def test_jvp_matches_finite_differences(op):
    rng = np.random.default_rng(2)

    def check(s):
        v = _directions(s, rng)
        with fwAD.dual_level():
            _, outs, tangents = _jvp(op, s, v)
            got = [_tangent_array(t, o) for o, t in zip(outs, tangents)]
        fds = _differences(lambda eps: [o.detach().numpy() for o in _call(op, s, v, eps)[1]],
                           [o.detach().numpy().dtype for o in outs])
        assert len(got) == len(fds)
        for k, (g, fd, o) in enumerate(zip(got, fds, outs)):
            undefined = ~np.isfinite(o.detach().numpy())    # e.g. logsumexp of nothing: -inf
            _close(np.where(undefined, np.nan, g), np.where(undefined, np.nan, fd),
                   f"output {k}: forward-mode tangent vs central differences",
                   loose=g.dtype != F64)
    for_each_sample(op.sample_inputs(F64), check)


@by_name
def test_jvp_agrees_with_vjp(op):
    """<u, J v> by forward mode equals <J^T u, v> by reverse mode, on the whole function."""
    rng = np.random.default_rng(3)

    def check(s):
        v = _directions(s, rng)
        with fwAD.dual_level():
            _, outs, tangents = _jvp(op, s, v)
            us = [rng.standard_normal(tuple(o.shape)) for o in outs]
            lhs = sum(np.sum(u * _tangent_array(t, o)) for u, o, t in zip(us, outs, tangents))
        args, outs = _call(op, s, requires_grad=True)
        pairs = [(o, u) for o, u in zip(outs, us) if o.requires_grad]
        leaves = [(i, a) for i, a in enumerate(args) if i in v]
        grads = tg.autograd.grad([o for o, _ in pairs], [a for _, a in leaves],
                                 [tg.tensor(u) for _, u in pairs], allow_unused=True)
        rhs = sum(np.sum(g.numpy() * v[i]) for (i, _), g in zip(leaves, grads) if g is not None)
        _close(lhs, rhs, "<u, Jv> (forward) vs <J^T u, v> (reverse)")
    for_each_sample(op.sample_inputs(F64), check)


@pytest.mark.parametrize("op", [op for op in DIFFERENTIABLE if op.supports_gradgrad], ids=str)
def test_jvp_of_jvp_matches_finite_differences(op):
    """Two nested levels: the outer tangent of the inner tangent is d2f[v1, v2], checked
    against central differences of the (first-order) JVP along v1."""
    rng = np.random.default_rng(4)

    def check(s):
        v1, v2 = _directions(s, rng), _directions(s, rng)
        with fwAD.dual_level():
            args = []
            for i, a in enumerate(s.args):
                t = tg.tensor(a) if isinstance(a, np.ndarray) else a
                if i in v1:
                    t = fwAD.make_dual(t, tg.tensor(v1[i]), level=0)
                args.append(t)
            with fwAD.dual_level():
                args = [fwAD.make_dual(a, tg.tensor(v2[i]), level=1) if i in v2 else a
                        for i, a in enumerate(args)]
                outs = float_outputs(op.fn(*args, **s.kwargs))
                inner = [fwAD.unpack_dual(o, level=1).tangent for o in outs]
            got = [None if t is None else fwAD.unpack_dual(t, level=0).tangent for t in inner]
            got = [_tangent_array(t, o) for o, t in zip(outs, got)]

        def jvp_at(eps):
            moved = type(s)(tuple(np.asarray(a + eps * v1[i], dtype=a.dtype) if i in v1 else a
                                  for i, a in enumerate(s.args)), s.kwargs, s.desc)
            with fwAD.dual_level():
                _, o, t = _jvp(op, moved, v2)
                return [_tangent_array(tt, oo) for oo, tt in zip(o, t)]
        fds = _differences(jvp_at, [g.dtype for g in got])
        for k, (g, fd) in enumerate(zip(got, fds)):
            _close(g, fd, f"output {k}: jvp of jvp vs differences of the jvp",
                   loose=g.dtype != F64)
    for_each_sample(op.sample_inputs(F64), check)


@pytest.mark.parametrize("op", [op for op in DIFFERENTIABLE if op.supports_gradgrad], ids=str)
def test_forward_over_reverse_matches_double_backward(op):
    """The tangent of a gradient (made with create_graph=True from dual inputs) is the
    Hessian-vector product that double backward computes."""
    rng = np.random.default_rng(5)

    def check(s):
        v = _directions(s, rng)
        with fwAD.dual_level():
            args, outs, _ = _jvp(op, s, v, requires_grad=True)
            outs = [o for o in outs if o.requires_grad]
            us = [tg.tensor(rng.standard_normal(tuple(o.shape))) for o in outs]
            duals = [args[i] for i in v]
            grads = tg.autograd.grad(outs, duals, us, create_graph=True, allow_unused=True)
            got = [_tangent_array(None if g is None else fwAD.unpack_dual(g).tangent, d)
                   for g, d in zip(grads, duals)]
        args, outs = _call(op, s, requires_grad=True)
        outs = [o for o in outs if o.requires_grad]
        leaves = [args[i] for i in v]
        grads = tg.autograd.grad(outs, leaves, us, create_graph=True, allow_unused=True)
        dot = sum((g * tg.tensor(v[i])).sum() for g, i in zip(grads, v)
                  if g is not None and g.requires_grad)
        if isinstance(dot, int):
            want = [np.zeros(a.shape) for a in leaves]      # the gradient is constant
        else:
            want = [np.zeros(tuple(a.shape)) if h is None else h.numpy()
                    for a, h in zip(leaves, tg.autograd.grad(dot, leaves, allow_unused=True))]
        for k, (g, w) in enumerate(zip(got, want)):
            _close(g, w, f"input {k}: forward-over-reverse vs double backward")
    for_each_sample(op.sample_inputs(F64), check)
