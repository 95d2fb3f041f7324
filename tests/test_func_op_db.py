"""jacrev and jacfwd (through vmap) agree on every differentiable op-database row, in
float64: the Jacobian of each row's first floating output with respect to its first floating
input, on the row's first samples, and both against the rows of a loop of autograd.grad calls
(an independent reference)."""
import warnings

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.func import jacfwd, jacrev

from opinfo import F64, OP_DB
from test_vmap_op_db import RANDOM_ROWS

ROWS = [op for op in OP_DB if op.differentiable and op.name not in RANDOM_ROWS]
SAMPLES = 3       # the first samples of each row (the op-db tests cover the rest)


def _setup(row, s):
    """(f, x): f maps the first float input to the first float output, the rest fixed."""
    pos = [i for i, a in enumerate(s.args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    if not pos:
        return None, None
    i = pos[0]
    fixed = [tg.tensor(a) if isinstance(a, np.ndarray) else a for a in s.args]

    def first_float(out):
        outs = out if isinstance(out, (tuple, list)) else (out,)
        for o in outs:
            if isinstance(o, tg.Tensor) and o.is_floating_point():
                return o
        return None

    def f(x):
        args = list(fixed)
        args[i] = x
        return first_float(row.fn(*args, **s.kwargs))

    if first_float(row.fn(*fixed, **s.kwargs)) is None:
        return None, None
    return f, tg.tensor(s.args[i])


def _reference(f, x):
    """The Jacobian row by row: one autograd.grad per output element."""
    xr = x.detach().requires_grad_()
    y = f(xr)
    flat = y.reshape(-1)
    rows = []
    for k in range(flat.numel()):
        (g,) = tg.autograd.grad(flat[k], xr, retain_graph=True, allow_unused=True)
        rows.append(np.zeros(tuple(x.shape)) if g is None else g.numpy())
    return np.stack(rows).reshape(tuple(y.shape) + tuple(x.shape)) if rows else \
        np.zeros(tuple(y.shape) + tuple(x.shape))


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_jacrev_and_jacfwd_agree(row):
    checked = 0
    for s in row.sample_inputs(F64)[:SAMPLES]:
        f, x = _setup(row, s)
        if f is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                jr = jacrev(f)(x).detach().numpy()
                jf = jacfwd(f)(x).detach().numpy()
            except BaseException as e:
                e.add_note(f"on {s!r}")
                raise
        want = _reference(f, x)
        np.testing.assert_allclose(jr, want, rtol=1e-7, atol=1e-9, err_msg=f"jacrev, {s!r}")
        np.testing.assert_allclose(jf, want, rtol=1e-6, atol=1e-8, err_msg=f"jacfwd, {s!r}")
        checked += 1
    assert checked or row.name in _NO_FLOAT_SAMPLE, f"{row.name}: no sample was checked"


_NO_FLOAT_SAMPLE = set()
