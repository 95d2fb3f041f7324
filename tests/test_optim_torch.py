"""Optional: tapegrad.optim against torch.optim (foreach=False) on the shared problem, for
every optimizer and several option sets; state_dict layouts; LBFGS with closures, with and
without strong_wolfe (float64, where both take exactly the same steps). Skips without torch."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad import optim
from optim_problem import CASES, case_ids, problem, run_tapegrad, run_torch, tg_loss

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name,i", case_ids(), ids=lambda v: str(v))
def test_trajectory_matches_torch(name, i):
    opts = CASES[name][i]
    ours, theirs = run_tapegrad(getattr(optim, name), **opts), run_torch(name, **opts)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=3e-5, atol=3e-6, err_msg=f"step {k + 1}")


@pytest.mark.parametrize("name,i", [(n, len(CASES[n]) - 1) for n in CASES])
def test_state_dict_layout_matches_torch(name, i):
    opts = CASES[name][i]
    start, a, c = problem()
    ours = [tg.nn.Parameter(tg.tensor(s.copy())) for s in start]
    theirs = [torch.tensor(s.copy(), requires_grad=True) for s in start]
    o1 = getattr(optim, name)(ours, **opts)
    o2 = getattr(torch.optim, name)(theirs, **opts)
    for _ in range(2):
        o1.zero_grad(), o2.zero_grad()
        tg_loss(ours, a, c).backward()
        sum((0.5 * torch.tensor(ai) * (p - torch.tensor(ci)) ** 2 + 0.1 * (1 - torch.cos(p)))
            .sum() for p, ai, ci in zip(theirs, a, c)).backward()
        o1.step(), o2.step()
    s1, s2 = o1.state_dict(), o2.state_dict()
    assert s1["param_groups"] == s2["param_groups"]
    assert sorted(s1["state"]) == sorted(s2["state"])
    for k in s2["state"]:
        assert sorted(s1["state"][k]) == sorted(s2["state"][k])
        for key, v2 in s2["state"][k].items():
            v1 = s1["state"][k][key]
            if isinstance(v2, torch.Tensor):
                assert v1.shape == tuple(v2.shape)
                assert str(v1.dtype).split(".")[1] == str(v2.dtype).split(".")[1]
                np.testing.assert_allclose(v1.numpy(), v2.numpy(), rtol=3e-5, atol=1e-6)


def _rosenbrock(x):
    return ((1 - x[:-1]) ** 2).sum() + 100 * ((x[1:] - x[:-1] ** 2) ** 2).sum()


@pytest.mark.parametrize("opts", [
    dict(), dict(line_search_fn="strong_wolfe"), dict(history_size=3, max_iter=5, lr=0.5),
    dict(history_size=3, max_iter=7, line_search_fn="strong_wolfe"),
    dict(max_iter=4, max_eval=6, tolerance_grad=1e-5, line_search_fn="strong_wolfe")])
def test_lbfgs_matches_torch_with_closure(opts):
    x0 = np.array([-1.2, 1.0, -0.5, 0.8, 0.3])
    ours = tg.nn.Parameter(tg.tensor(x0.copy()))
    theirs = torch.tensor(x0.copy(), requires_grad=True)
    o1, o2 = optim.LBFGS([ours], **opts), torch.optim.LBFGS([theirs], **opts)

    def closure1():
        o1.zero_grad()
        loss = _rosenbrock(ours)
        loss.backward()
        return loss

    def closure2():
        o2.zero_grad()
        loss = _rosenbrock(theirs)
        loss.backward()
        return loss

    for _ in range(4):
        l1, l2 = o1.step(closure1), o2.step(closure2)
        assert abs(float(l1) - float(l2.detach())) <= 1e-6 * max(1.0, abs(float(l2.detach())))
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(),
                                   rtol=1e-5, atol=1e-8)   # rounding drifts over 80 iterations
        for key in ("func_evals", "n_iter"):
            assert o1.state[ours][key] == o2.state[theirs][key]


@pytest.mark.parametrize("name,i", [("Adam", 1), ("SGD", 2), ("RMSprop", 3), ("NAdam", 2),
                                    ("ASGD", 1), ("Rprop", 1)])
def test_a_torch_optimizer_state_dict_loads_and_resumes(name, i):
    opts = CASES[name][i]
    start, a, c = problem()
    theirs = [torch.tensor(s.copy(), requires_grad=True) for s in start]
    t_opt = getattr(torch.optim, name)(theirs, foreach=False, **opts)

    def torch_steps(n):
        for _ in range(n):
            t_opt.zero_grad()
            sum((0.5 * torch.tensor(ai) * (p - torch.tensor(ci)) ** 2
                 + 0.1 * (1 - torch.cos(p))).sum() for p, ai, ci in zip(theirs, a, c)).backward()
            t_opt.step()
    torch_steps(5)
    ours = [tg.nn.Parameter(tg.tensor(p.detach().numpy().copy())) for p in theirs]
    opt = getattr(optim, name)(ours, lr=0.5)
    opt.load_state_dict(t_opt.state_dict())
    assert opt.param_groups[0]["lr"] == opts["lr"]
    for _ in range(5):
        opt.zero_grad()
        tg_loss(ours, a, c).backward()
        opt.step()
    torch_steps(5)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=3e-5, atol=3e-6)
