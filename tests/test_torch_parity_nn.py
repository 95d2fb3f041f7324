"""Optional: tapegrad.nn.functional gives PyTorch's numbers (values, dtypes, gradients and
in-place updates such as running statistics) on the cases the nn op-database modules list in
NN_PARITY. Skipped when torch is not installed (it never is in CI)."""
import numpy as np
import pytest

import tapegrad as tg
from opinfo import NN_PARITY

torch = pytest.importorskip("torch")


def _run(lib, case, arrays):
    env = {"lib": lib, "F": lib.nn.functional}
    for name, spec in case.inputs.items():
        value = arrays[name]
        if isinstance(value, np.ndarray):
            grad = getattr(spec, "grad", False) and value.dtype.kind == "f"
            value = lib.tensor(value.copy(), requires_grad=grad)
        env[name] = value
    out = eval(case.expr, {}, env)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    outs = [o for o in outs if isinstance(o, lib.Tensor)]
    loss = None
    for o in outs:
        if o.requires_grad:
            w = np.linspace(-1.0, 1.0, o.numel()).reshape(tuple(o.shape))
            term = (o * lib.tensor(w.astype(str(o.dtype).split(".")[-1]))).sum()
            loss = term if loss is None else loss + term
    if loss is not None:
        loss.backward()
    grads = {k: v.grad.numpy() for k, v in env.items()
             if isinstance(v, lib.Tensor) and v.grad is not None}
    after = {k: env[k].detach().numpy() for k in case.after}
    values = [(o.detach().numpy(), str(o.dtype).split(".")[-1]) for o in outs]
    return values, grads, after


@pytest.mark.parametrize("case", NN_PARITY, ids=str)
def test_same_numbers_as_pytorch(case):
    arrays = case.arrays()
    ours, our_grads, our_after = _run(tg, case, arrays)
    theirs, their_grads, their_after = _run(torch, case, arrays)
    assert len(ours) == len(theirs)
    for (a, adt), (b, bdt) in zip(ours, theirs):
        assert adt == bdt
        np.testing.assert_allclose(a, b, rtol=case.rtol, atol=case.atol)
    assert sorted(our_grads) == sorted(their_grads)
    for k in our_grads:
        np.testing.assert_allclose(our_grads[k], their_grads[k], rtol=case.grad_rtol,
                                   atol=case.grad_atol, err_msg=f"grad of {k}")
    for k in case.after:
        np.testing.assert_allclose(our_after[k], their_after[k], rtol=case.rtol,
                                   atol=case.atol, err_msg=f"{k} after the call")
