"""Optional torch parity for the layer library (issue 7): each case builds the same module in
both libraries, copies PyTorch's state dict into tapegrad's by name (so the keys must match
exactly), then compares the outputs, the input gradient and every parameter's gradient, and
the buffers after the call (running statistics). Skips cleanly without torch."""
import zlib

import numpy as np
import pytest

import tapegrad as tg
from module_cases import CASES

torch = pytest.importorskip("torch")


def _inputs(specs, rng):
    ours, theirs = [], []
    for spec in specs:
        kind, shape = spec.split(":")
        shape = eval(shape)  # noqa: S307 (a literal shape from module_cases)
        if kind == "f":
            arr = rng.standard_normal(shape)
            ours.append(tg.tensor(arr, requires_grad=True))
            theirs.append(torch.tensor(arr, requires_grad=True))
        else:
            arr = rng.integers(0, int(kind[1:]), shape)
            ours.append(tg.tensor(arr))
            theirs.append(torch.tensor(arr))
    return ours, theirs


def _flat(out):
    """The float tensors of a module's output (tuples, nested tuples, None skipped)."""
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [] if out is None else [out]


@pytest.mark.parametrize("expr,specs", CASES, ids=[c[0] for c in CASES])
def test_module_matches_torch(expr, specs):
    rng = np.random.default_rng(zlib.crc32(expr.encode()))
    theirs = eval("torch.nn." + expr).double()  # noqa: S307
    ours = eval("tg.nn." + expr).double()       # noqa: S307
    sd = theirs.state_dict()
    assert list(ours.state_dict()) == list(sd), "state_dict keys differ from PyTorch's"
    ours.load_state_dict({k: tg.tensor(v.numpy()) for k, v in sd.items()})
    x_ours, x_theirs = _inputs(specs, rng)
    if "Loss" in expr and len(x_ours) > 1:   # targets are data, not parameters
        x_ours[1], x_theirs[1] = x_ours[1].detach(), x_theirs[1].detach()
    if "KLDiv" in expr:                     # the input is log-probabilities
        x_ours[0] = tg.tensor(np.log(rng.uniform(0.1, 1, (3, 4))), requires_grad=True)
        x_theirs[0] = torch.tensor(x_ours[0].detach().numpy(), requires_grad=True)
    if "BCE" in expr or "KLDiv" in expr:    # targets in [0, 1]
        t = rng.uniform(0, 1, (3, 4))
        x_ours[1], x_theirs[1] = tg.tensor(t), torch.tensor(t)
    out_ours, out_theirs = _flat(ours(*x_ours)), _flat(theirs(*x_theirs))
    assert len(out_ours) == len(out_theirs)
    weights = [rng.standard_normal(tuple(o.shape)) for o in out_theirs]
    for o, t in zip(out_ours, out_theirs):
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-9, atol=1e-10,
                                   err_msg=f"{expr}: output")
    if any(t.requires_grad for t in out_theirs):
        sum((o * tg.tensor(w)).sum() for o, w in zip(out_ours, weights)
            if o.requires_grad).backward()
        sum((t * torch.tensor(w)).sum() for t, w in zip(out_theirs, weights)
            if t.requires_grad).backward()
        for i, (a, b) in enumerate(zip(x_ours, x_theirs)):
            if b.grad is not None:
                np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8,
                                           atol=1e-10, err_msg=f"{expr}: input {i} grad")
        named = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            q = named[name]
            if q.grad is None:
                assert p.grad is None, f"{expr}: {name} has a grad in tapegrad only"
                continue
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-8, atol=1e-10,
                                       err_msg=f"{expr}: grad of {name}")
    for (name, b), (_, c) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_allclose(b.numpy(), c.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=f"{expr}: {name} after the call")


@pytest.mark.parametrize("expr", [c[0] for c in CASES], ids=[c[0] for c in CASES])
def test_module_repr_matches_torch(expr):
    theirs = repr(eval("torch.nn." + expr))  # noqa: S307
    ours = repr(eval("tg.nn." + expr))       # noqa: S307
    assert ours == theirs
