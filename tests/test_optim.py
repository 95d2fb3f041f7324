"""tapegrad.optim: each optimizer's 20-step trajectory against a hand-written NumPy version of
its rule (tests/optim_problem.py), state_dict resume, parameter groups, closures, errors, and
the in-place contract (same arrays, one version bump per step, untouched frozen parameters)."""
import copy
import warnings

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import optim
from tapegrad._core.tensor import wrap
from optim_problem import CASES, RULES, case_ids, problem, run_numpy, run_tapegrad, tg_loss

ALL = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam",
       "ASGD", "Rprop"]


def assert_trajectories_close(ours, ref, rtol=2e-5, atol=2e-6):
    for k, (a, b) in enumerate(zip(ours, ref)):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=f"step {k + 1}")


@pytest.mark.parametrize("name,i", case_ids(), ids=lambda v: str(v))
def test_trajectory_matches_numpy_rule(name, i):
    opts = CASES[name][i]
    assert_trajectories_close(run_tapegrad(getattr(optim, name), **opts),
                              run_numpy(RULES[name], **opts))


def _fresh(seed=0):
    start, a, c = problem(seed)
    return [tg.nn.Parameter(tg.tensor(s.copy())) for s in start], a, c


def _steps(opt, params, a, c, n):
    for _ in range(n):
        opt.zero_grad()
        tg_loss(params, a, c).backward()
        opt.step()


@pytest.mark.parametrize("name,i", case_ids(), ids=lambda v: str(v))
def test_state_dict_reload_mid_run_resumes_bit_for_bit(name, i):
    cls, opts = getattr(optim, name), CASES[name][i]
    params, a, c = _fresh()
    opt = cls(params, **opts)
    _steps(opt, params, a, c, 10)
    saved = copy.deepcopy(opt.state_dict())
    values = [p.detach().numpy().copy() for p in params]
    _steps(opt, params, a, c, 10)

    resumed = [tg.nn.Parameter(tg.tensor(v)) for v in values]
    opt2 = cls(resumed, lr=0.123)               # lr comes back from the state dict
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == opts.get("lr", opt.defaults["lr"])
    _steps(opt2, resumed, a, c, 10)
    for p, q in zip(params, resumed):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_state_dict_layout():
    params, a, c = _fresh()
    extra = tg.nn.Parameter(tg.zeros(2))
    opt = optim.Adam([{"params": [params[0]]}, {"params": [params[1], extra], "lr": 0.5}],
                     amsgrad=True)
    _steps(opt, params, a, c, 2)
    sd = opt.state_dict()
    assert sorted(sd) == ["param_groups", "state"]
    assert sorted(sd["state"]) == [0, 1]        # extra has no grad: no state
    st = sd["state"][1]
    assert sorted(st) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
    assert isinstance(st["step"], tg.Tensor) and st["step"].dtype == tg.float32
    assert st["step"].shape == () and st["step"].item() == 2.0
    assert isinstance(st["exp_avg"], tg.Tensor) and st["exp_avg"].shape == (5,)
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1, 2]]
    assert list(sd["param_groups"][1])[-1] == "params"
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][0]["lr"] == 1e-3
    assert sd["param_groups"][0]["betas"] == (0.9, 0.999)


def test_load_state_dict_accepts_string_keys_and_casts_to_param_dtype():
    w = tg.nn.Parameter(tg.ones(3, dtype=tg.float64))
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    w.sum().backward()
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    sd["state"] = {str(k): {"momentum_buffer": tg.ones(3)} for k in sd["state"]}  # JSON-ish
    opt2 = optim.SGD([w], lr=0.1, momentum=0.9)
    opt2.load_state_dict(sd)
    assert opt2.state[w]["momentum_buffer"].dtype == tg.float64
    opt3 = optim.Adam([w])
    opt3.step()  # no grad change matters here: state only, from a dict with a float32 step
    w.sum().backward()
    opt3.step()
    sd3 = copy.deepcopy(opt3.state_dict())
    opt4 = optim.Adam([w])
    opt4.load_state_dict(sd3)
    assert opt4.state[w]["step"].dtype == tg.float32      # step keeps its own dtype
    assert opt4.state[w]["exp_avg"].dtype == tg.float64
    # the loaded buffers are copies: stepping does not change the dict it came from
    before = sd3["state"][0]["exp_avg"].numpy().copy()
    opt4.step()
    np.testing.assert_array_equal(sd3["state"][0]["exp_avg"].numpy(), before)


def test_load_state_dict_errors():
    params, _, _ = _fresh()
    opt = optim.SGD(params, lr=0.1)
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": [params[0]]}, {"params": [params[1]]}], lr=0.1) \
            .load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.SGD([params[0]], lr=0.1).load_state_dict(sd)


def test_param_groups_take_their_own_options():
    start, a, c = problem()
    params = [tg.nn.Parameter(tg.tensor(s.copy())) for s in start]
    opt = optim.SGD([{"params": [params[0]], "lr": 0.01},
                     {"params": [params[1]], "momentum": 0.5}], lr=0.1)
    assert opt.param_groups[0]["momentum"] == 0 and opt.param_groups[1]["lr"] == 0.1
    _steps(opt, params, a, c, 5)
    ref0 = run_numpy(RULES["SGD"], steps=5, lr=0.01)[-1][0]
    ref1 = run_numpy(RULES["SGD"], steps=5, lr=0.1, momentum=0.5)[-1][1]
    np.testing.assert_allclose(params[0].detach().numpy(), ref0, rtol=1e-6)
    np.testing.assert_allclose(params[1].detach().numpy(), ref1, rtol=1e-6)


def test_param_groups_are_editable_between_steps():
    w = tg.nn.Parameter(tg.tensor([1.0]))
    opt = optim.SGD([w], lr=0.1)
    w.sum().backward()
    opt.step()
    opt.param_groups[0]["lr"] = 0.5
    opt.step()                       # the same grad (1), now with lr 0.5
    assert abs(w.item() - (1 - 0.1 - 0.5)) < 1e-6


def test_add_param_group():
    w, v = tg.nn.Parameter(tg.ones(2)), tg.nn.Parameter(tg.ones(3))
    opt = optim.Adam([w], lr=0.1)
    opt.add_param_group({"params": v, "betas": (0.5, 0.6)})
    assert opt.param_groups[1]["params"] == [v] and opt.param_groups[1]["lr"] == 0.1
    assert opt.param_groups[1]["betas"] == (0.5, 0.6)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [w]})
    (w.sum() + v.sum()).backward()
    opt.step()
    assert opt.state[v]["step"].item() == 1


def test_construction_errors():
    w = tg.nn.Parameter(tg.ones(2))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="sets will change"):
        optim.SGD({w}, lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([w, w], lr=0.1)


@pytest.mark.parametrize("name", ALL + ["LBFGS"])
def test_invalid_learning_rate_names_optimizer_and_value(name):
    with pytest.raises(ValueError, match=f"{name}: Invalid learning rate: -1"):
        getattr(optim, name)([tg.nn.Parameter(tg.ones(1))], lr=-1)


@pytest.mark.parametrize("name,kwargs,match", [
    ("Adam", dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    ("AdamW", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
    ("Adam", dict(eps=-1e-8), "Invalid epsilon value"),
    ("Adam", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("SGD", dict(momentum=-0.5), "Invalid momentum value"),
    ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), "zero dampening"),
    ("RMSprop", dict(alpha=-1), "Invalid alpha value"),
    ("Adagrad", dict(lr_decay=-1), "Invalid lr_decay value"),
    ("Adagrad", dict(initial_accumulator_value=-1), "Invalid initial_accumulator_value"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value"),
    ("NAdam", dict(momentum_decay=-1), "Invalid momentum_decay value"),
    ("Rprop", dict(etas=(1.5, 1.2)), "Invalid eta values: 1.5, 1.2"),
    ("Adam", dict(differentiable=True), "differentiable=True is not supported"),
    ("LBFGS", dict(line_search_fn="armijo"), "line_search_fn"),
])
def test_invalid_arguments(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        getattr(optim, name)([tg.nn.Parameter(tg.ones(1))], **kwargs)


@pytest.mark.parametrize("name", ALL)
def test_frozen_and_gradless_parameters_are_untouched(name):
    params, a, c = _fresh()
    frozen = tg.nn.Parameter(tg.ones(4), requires_grad=False)
    idle = tg.nn.Parameter(tg.ones(3))              # requires grad, but never gets one
    opt = getattr(optim, name)(params + [frozen, idle], **CASES[name][0])
    v_frozen, v_idle = frozen._version, idle._version
    _steps(opt, params, a, c, 3)
    for t, v in ((frozen, v_frozen), (idle, v_idle)):
        np.testing.assert_array_equal(t.detach().numpy(), np.ones(t.shape))
        assert t._version == v and t.grad is None
    if name != "Adagrad":        # Adagrad, like PyTorch's, makes its state at construction
        assert frozen not in opt.state and idle not in opt.state


@pytest.mark.parametrize("name", ALL)
def test_update_is_in_place_with_one_version_bump_per_step(name):
    params, a, c = _fresh()
    arrays = [p._data for p in params]
    opt = getattr(optim, name)(params, **CASES[name][0])
    versions = [p._version for p in params]
    _steps(opt, params, a, c, 3)
    assert all(p._data is arr for p, arr in zip(params, arrays))
    assert [p._version for p in params] == [v + 3 for v in versions]
    assert all(p.grad_fn is None and p.is_leaf for p in params)


def test_in_place_update_invalidates_a_saved_graph():
    w = tg.nn.Parameter(tg.tensor([1.0, 2.0]))
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    y = (w * w).sum()               # saves w
    opt.step()
    with pytest.raises(RuntimeError):
        y.backward()


@pytest.mark.parametrize("name", ALL)
def test_complex_grads_are_refused(name):
    w = tg.nn.Parameter(tg.ones(2))
    opt = getattr(optim, name)([w])
    # tapegrad has no complex dtype yet; a grad array arriving complex is still refused
    w._grad = wrap(np.ones(2, dtype=np.complex64))
    with pytest.raises(TypeError, match=f"{name}: .*complex grad"):
        opt.step()


def test_zero_grad_set_to_none_and_zero_fill():
    w = tg.nn.Parameter(tg.ones(2))
    opt = optim.SGD([w], lr=0.1)
    (w * 3).sum().backward()
    g = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is g and w.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None
    opt.step()                      # no grad: nothing happens
    assert w.tolist() == [1.0, 1.0]


def test_forgetting_zero_grad_accumulates():
    w = tg.nn.Parameter(tg.ones(1))
    opt = optim.SGD([w], lr=0.1)
    for _ in range(2):
        (w * 3).sum().backward()
    assert w.grad.item() == 6.0
    opt.step()
    assert abs(w.item() - 0.4) < 1e-6


@pytest.mark.parametrize("name", ALL)
def test_closure_runs_under_enable_grad_and_its_loss_is_returned(name):
    params, a, c = _fresh()
    opt = getattr(optim, name)(params, **CASES[name][0])
    seen = []

    def closure():
        opt.zero_grad()
        loss = tg_loss(params, a, c)
        seen.append(tg.is_grad_enabled())
        loss.backward()
        return loss

    with tg.no_grad():
        loss = opt.step(closure)
    assert seen == [True] and loss.requires_grad
    ref = run_tapegrad(getattr(optim, name), steps=1, **CASES[name][0])[0]
    for p, r in zip(params, ref):
        np.testing.assert_array_equal(p.detach().numpy(), r)


def test_user_optimizer_on_the_base_class():
    class SignSGD(optim.Optimizer):
        def __init__(self, params, lr=optim.optimizer.required):
            super().__init__(params, {"lr": lr})

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        state = self.state[p]
                        state["n"] = state.get("n", 0) + 1
                        p.data.sub_(group["lr"] * tg.sign(p.grad))

    w = tg.nn.Parameter(tg.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="required optimization parameter lr"):
        SignSGD([w])
    opt = SignSGD([w], lr=0.25)
    (w * w).sum().backward()
    opt.step()
    assert w.tolist() == [0.75, -0.75] and opt.state[w]["n"] == 1
    assert opt.state_dict()["state"] == {0: {"n": 1}}
    with pytest.raises(NotImplementedError):
        optim.Optimizer([w], {}).step()


def test_repr_lists_groups():
    opt = optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=0.1, momentum=0.9)
    text = repr(opt)
    assert text.startswith("SGD (\nParameter Group 0\n") and "    momentum: 0.9" in text


def test_frozen_backbone_gets_no_grad_and_is_not_changed():
    class Net(tg.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = tg.nn.Parameter(tg.ones(3, 3))
            self.head = tg.nn.Parameter(tg.ones(3))

        def forward(self, x):
            return ((x @ self.backbone) * self.head).sum()

    net = Net()
    net.backbone.requires_grad_(False)
    opt = optim.AdamW(net.parameters(), lr=0.1)
    net(tg.ones(2, 3)).backward()
    opt.step()
    assert net.backbone.grad is None and net.backbone.tolist() == [[1.0] * 3] * 3
    assert net.head.tolist() != [1.0] * 3


def test_gradient_accumulation_over_four_batches_equals_one_big_batch():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((8, 3)).astype(np.float32), rng.standard_normal(8)
    w1 = tg.nn.Parameter(tg.tensor(rng.standard_normal(3).astype(np.float32)))
    w2 = tg.nn.Parameter(tg.tensor(w1.detach().numpy().copy()))
    loss = (lambda w, xb, yb: ((tg.tensor(xb) @ w - tg.tensor(yb.astype(np.float32))) ** 2)
            .mean())
    for k in range(4):
        (loss(w1, x[2 * k:2 * k + 2], y[2 * k:2 * k + 2]) / 4).backward()
    loss(w2, x, y).backward()
    np.testing.assert_allclose(w1.grad.numpy(), w2.grad.numpy(), rtol=1e-5, atol=1e-6)
    o1, o2 = optim.SGD([w1], lr=0.1), optim.SGD([w2], lr=0.1)
    o1.step(), o2.step()
    np.testing.assert_allclose(w1.detach().numpy(), w2.detach().numpy(), rtol=1e-5)


# ---- LBFGS ------------------------------------------------------------------------------------
def _lbfgs_quadratic(**opts):
    rng = np.random.default_rng(1)
    m = rng.standard_normal((6, 6))
    A = m @ m.T + 6 * np.eye(6)
    b = rng.standard_normal(6)
    x = tg.nn.Parameter(tg.zeros(6, dtype=tg.float64))
    opt = optim.LBFGS([x], **opts)
    At, bt = tg.tensor(A), tg.tensor(b)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (x @ (At @ x)) - (bt * x).sum()
        loss.backward()
        return loss
    return x, opt, closure, np.linalg.solve(A, b)


@pytest.mark.parametrize("opts", [dict(), dict(line_search_fn="strong_wolfe"),
                                  dict(history_size=2, line_search_fn="strong_wolfe")])
def test_lbfgs_solves_a_quadratic(opts):
    x, opt, closure, solution = _lbfgs_quadratic(**opts)
    first = opt.step(closure)
    assert first.item() == 0.0
    for _ in range(5):
        opt.step(closure)
    # both stop once the loss changes by less than tolerance_change (1e-9): near 1e-5 here
    np.testing.assert_allclose(x.detach().numpy(), solution, atol=1e-4)
    assert opt.state[x]["func_evals"] >= opt.state[x]["n_iter"]


def test_lbfgs_state_dict_resume():
    x, opt, closure, _ = _lbfgs_quadratic(line_search_fn="strong_wolfe", max_iter=2)
    opt.step(closure)
    saved, value = copy.deepcopy(opt.state_dict()), x.detach().numpy().copy()
    opt.step(closure)
    y, opt2, closure2, _ = _lbfgs_quadratic(line_search_fn="strong_wolfe", max_iter=2)
    y.data = tg.tensor(value)
    opt2.load_state_dict(saved)
    opt2.step(closure2)
    np.testing.assert_array_equal(x.detach().numpy(), y.detach().numpy())


def test_lbfgs_errors():
    w = tg.nn.Parameter(tg.ones(1))
    with pytest.raises(ValueError, match="closure"):
        optim.LBFGS([w]).step(None)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [w]}, {"params": [tg.nn.Parameter(tg.ones(1))]}])


def test_no_warnings_in_a_plain_loop():
    params, a, c = _fresh()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _steps(optim.Adam(params), params, a, c, 2)


def test_no_grad_inference_builds_no_graph():
    w = tg.nn.Parameter(tg.ones(3))
    with tg.no_grad():
        y = (w * 2).sum()
    assert y.grad_fn is None and not y.requires_grad
    assert (w * 2).sum().grad_fn is not None


def test_tensor_lr_is_accepted_as_a_number():
    w = tg.nn.Parameter(tg.ones(1))
    opt = optim.Adam([w], lr=tg.tensor(0.5))
    assert opt.param_groups[0]["lr"] == 0.5
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        optim.Adam([w], lr=tg.ones(2))
