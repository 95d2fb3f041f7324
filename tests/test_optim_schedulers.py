"""lr_scheduler against closed forms written out here (30+ steps), the step-order warning,
last_epoch and state_dict resumes, errors; swa_utils: AveragedModel (SWA mean, EMA,
use_buffers), SWALR's schedule, update_bn."""
import copy
import math
import warnings

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.optim import lr_scheduler as L
from tapegrad.optim import swa_utils

N = 35


def _opt(lr=0.1, **kw):
    return tg.optim.SGD([tg.nn.Parameter(tg.ones(2))], lr=lr, **kw)


def _lrs(sched, opt, n=N):
    out = []
    for _ in range(n):
        out.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return out


CLOSED = {
    "StepLR": (lambda o: L.StepLR(o, 4, 0.5), lambda e: 0.1 * 0.5 ** (e // 4)),
    "MultiStepLR": (lambda o: L.MultiStepLR(o, [5, 12, 12], 0.1),
                    lambda e: 0.1 * 0.1 ** ((e >= 5) + 2 * (e >= 12))),
    "ConstantLR": (lambda o: L.ConstantLR(o, 0.25, 7), lambda e: 0.1 * (0.25 if e < 7 else 1)),
    "LinearLR": (lambda o: L.LinearLR(o, 0.2, 0.8, 10),
                 lambda e: 0.1 * (0.2 + 0.6 * min(e, 10) / 10)),
    "ExponentialLR": (lambda o: L.ExponentialLR(o, 0.9), lambda e: 0.1 * 0.9 ** e),
    "PolynomialLR": (lambda o: L.PolynomialLR(o, 20, 1.5),
                     lambda e: 0.1 * (1 - min(e, 20) / 20) ** 1.5),
    "CosineAnnealingLR": (lambda o: L.CosineAnnealingLR(o, 12, 0.01),
                          lambda e: 0.01 + 0.09 * (1 + math.cos(math.pi * e / 12)) / 2),
    "CosineAnnealingWarmRestarts": (
        lambda o: L.CosineAnnealingWarmRestarts(o, 5, 2),
        # cycles of 5, 10, 20 epochs
        lambda e: 0.1 * (1 + math.cos(math.pi * (e if e < 5 else e - 5 if e < 15 else e - 15)
                                      / (5 if e < 5 else 10 if e < 15 else 20))) / 2),
    "LambdaLR": (lambda o: L.LambdaLR(o, lambda e: 1 / (1 + e)), lambda e: 0.1 / (1 + e)),
    "MultiplicativeLR": (lambda o: L.MultiplicativeLR(o, lambda e: 0.95),
                         lambda e: 0.1 * 0.95 ** e),
    "CyclicLR": (lambda o: L.CyclicLR(o, 0.01, 0.1, step_size_up=4, step_size_down=6),
                 lambda e: 0.01 + 0.09 * (e % 10 / 4 if e % 10 <= 4 else (10 - e % 10) / 6)),
    "OneCycleLR": (lambda o: L.OneCycleLR(o, 1.0, total_steps=N + 1, pct_start=0.2,
                                          anneal_strategy="linear"),
                   # warm-up over steps 0..6, then linear down to 0.04 / 1e4 at step 35
                   lambda e: 0.04 + 0.96 * e / 6.2 if e <= 6.2 else
                   1.0 + (4e-6 - 1.0) * (e - 6.2) / (35 - 6.2)),
}


@pytest.mark.parametrize("name", list(CLOSED))
def test_lr_sequence_matches_closed_form(name):
    make, form = CLOSED[name]
    opt = _opt(momentum=0.9)
    got = _lrs(make(opt), opt)
    np.testing.assert_allclose(got, [form(e) for e in range(N)], rtol=1e-9, atol=1e-12)


def test_cyclic_momentum_moves_opposite_to_the_rate():
    opt = _opt(momentum=0.9)
    sched = L.CyclicLR(opt, 0.01, 0.1, step_size_up=2, base_momentum=0.8, max_momentum=0.9)
    seen = []
    for _ in range(5):
        seen.append((sched.get_last_lr()[0], opt.param_groups[0]["momentum"]))
        opt.step()
        sched.step()
    lrs, moms = zip(*seen)
    np.testing.assert_allclose(lrs, [0.01, 0.055, 0.1, 0.055, 0.01])
    np.testing.assert_allclose(moms, [0.9, 0.85, 0.8, 0.85, 0.9])


def test_cycle_momentum_needs_momentum_or_betas():
    opt = tg.optim.Adagrad([tg.nn.Parameter(tg.ones(1))])
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        L.CyclicLR(opt, 0.01, 0.1)
    L.CyclicLR(opt, 0.01, 0.1, cycle_momentum=False)


def test_one_cycle_refuses_stepping_past_total_steps():
    opt = tg.optim.Adam([tg.nn.Parameter(tg.ones(1))])
    sched = L.OneCycleLR(opt, 0.1, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()


def test_sequential_and_chained():
    opt = _opt()
    seq = L.SequentialLR(opt, [L.LinearLR(opt, 0.5, total_iters=4),
                               L.ExponentialLR(opt, 0.5)], milestones=[4])
    np.testing.assert_allclose(_lrs(seq, opt, 8), [0.05, 0.0625, 0.075, 0.0875, 0.1, 0.05,
                                                   0.025, 0.0125])
    opt = _opt()
    chain = L.ChainedScheduler([L.ConstantLR(opt, 0.5, total_iters=3), L.ExponentialLR(opt, 0.9)])
    np.testing.assert_allclose(_lrs(chain, opt, 6),
                               [(0.05 if e < 3 else 0.1) * 0.9 ** e for e in range(6)])


def test_reduce_on_plateau():
    opt = _opt(lr=1.0)
    sched = L.ReduceLROnPlateau(opt, patience=2, factor=0.5, cooldown=1, min_lr=0.2)
    lrs = []
    for metric in [5] + [4] * 15:
        sched.step(metric)
        lrs.append(sched.get_last_lr()[0])
    # 3 bad epochs (> patience 2) halve the rate; the cooldown epoch after it doesn't count
    assert lrs == [1] * 4 + [0.5] * 4 + [0.25] * 4 + [0.2] * 4     # floored at min_lr
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        L.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode sideways is unknown"):
        L.ReduceLROnPlateau(opt, mode="sideways")


def test_scheduler_step_before_optimizer_step_warns():
    opt = _opt()
    sched = L.StepLR(opt, 2)
    with pytest.warns(UserWarning, match=r"lr_scheduler.step\(\)` before `optimizer.step\(\)"):
        sched.step()
    opt = _opt()
    sched = L.StepLR(opt, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()
        sched.step()


def test_get_lr_outside_step_warns_and_epoch_argument_is_deprecated():
    opt = _opt()
    sched = L.ExponentialLR(opt, 0.5)
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()
    opt.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        sched.step(3)
    assert sched.get_last_lr() == [pytest.approx(0.1 * 0.5 ** 3)]


def test_verbose_is_accepted_and_deprecated():
    with pytest.warns(UserWarning, match="verbose parameter is deprecated"):
        L.StepLR(_opt(), 2, verbose=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        L.StepLR(_opt(), 2, verbose="deprecated")


def test_last_epoch_needs_initial_lr_and_resumes():
    with pytest.raises(KeyError, match="initial_lr"):
        L.StepLR(_opt(), 2, last_epoch=3)
    opt = _opt()
    opt.param_groups[0]["initial_lr"] = 0.1
    sched = L.ExponentialLR(opt, 0.5, last_epoch=3)
    assert sched.last_epoch == 4 and sched.base_lrs == [0.1]
    opt = _opt()
    opt.param_groups[0]["initial_lr"] = 0.1
    sched = L.CosineAnnealingLR(opt, T_max=10, last_epoch=4)   # keeps the current lr
    assert sched.get_last_lr() == [0.1]
    opt.step()
    sched.step()                   # then the chainable ratio from epoch 5 to 6, as PyTorch
    ratio = (1 + math.cos(math.pi * 6 / 10)) / (1 + math.cos(math.pi * 5 / 10))
    assert sched.get_last_lr()[0] == pytest.approx(0.1 * ratio)


@pytest.mark.parametrize("name", list(CLOSED))
def test_state_dict_resume_gives_the_same_rates(name):
    make, _ = CLOSED[name]
    opt = _opt(momentum=0.9)
    sched = make(opt)
    first = _lrs(sched, opt, 12)
    opt_sd, sched_sd = copy.deepcopy(opt.state_dict()), copy.deepcopy(sched.state_dict())
    rest = _lrs(sched, opt, 20)
    opt2 = _opt(momentum=0.9)
    sched2 = make(opt2)
    opt2.load_state_dict(opt_sd)
    sched2.load_state_dict(sched_sd)
    assert _lrs(sched2, opt2, 20) == rest and len(first) == 12


def test_scheduler_argument_errors():
    opt = _opt()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        L.StepLR(object(), 2)
    with pytest.raises(ValueError, match="between 0 and 1"):
        L.ConstantLR(opt, factor=2)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        L.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="Expected positive integer T_0"):
        L.CosineAnnealingWarmRestarts(opt, 0)
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas, but got 2"):
        L.LambdaLR(opt, [lambda e: 1, lambda e: 1])
    with pytest.raises(ValueError, match="total_steps OR"):
        L.OneCycleLR(opt, 0.1)
    with pytest.raises(ValueError, match="anneal_strategy"):
        L.OneCycleLR(opt, 0.1, total_steps=5, anneal_strategy="step")
    with pytest.raises(ValueError, match="mode 'zigzag' is invalid"):
        L.CyclicLR(opt, 0.01, 0.1, mode="zigzag")
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        L.SequentialLR(opt, [L.StepLR(opt, 2)], milestones=[3])
    other = _opt()
    with pytest.raises(ValueError, match="same optimizer"):
        L.ChainedScheduler([L.StepLR(opt, 2), L.StepLR(other, 2)])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        L.SequentialLR(opt, [L.StepLR(opt, 2), L.ReduceLROnPlateau(opt)], milestones=[2])


def test_lambda_state_dict_keeps_callable_objects_state():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate ** epoch

    opt = _opt()
    fn = Decay()
    sched = L.LambdaLR(opt, fn)
    fn.rate = 0.25
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.25}]
    fn2 = Decay()
    L.LambdaLR(_opt(), fn2).load_state_dict(sd)
    assert fn2.rate == 0.25
    assert L.LambdaLR(_opt(), lambda e: 1.0).state_dict()["lr_lambdas"] == [None]


# ---- swa_utils --------------------------------------------------------------------------------
class Tiny(tg.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = tg.nn.Parameter(tg.zeros(3))
        self.register_buffer("count", tg.zeros(1))

    def forward(self, x):
        return x * self.w


def _snapshots(k, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(3).astype(np.float32) for _ in range(k)]


def test_averaged_model_swa_is_the_mean_of_the_snapshots():
    net = Tiny()
    swa = swa_utils.AveragedModel(net)
    snaps = _snapshots(6)
    for i, s in enumerate(snaps):
        net.w.data = tg.tensor(s)
        net.count.data = tg.full((1,), float(i))
        swa.update_parameters(net)
    np.testing.assert_allclose(swa.module.w.detach().numpy(), np.mean(snaps, 0), rtol=1e-5)
    assert swa.n_averaged.item() == 6 and swa.module.count.item() == 5.0   # buffers copied
    assert swa(tg.ones(3)).shape == (3,)
    assert swa.module.w is not net.w


@pytest.mark.parametrize("how", ["multi", "single"])
def test_averaged_model_ema(how):
    net = Tiny()
    kw = ({"multi_avg_fn": swa_utils.get_ema_multi_avg_fn(0.9)} if how == "multi" else
          {"avg_fn": swa_utils.get_ema_avg_fn(0.9)})
    ema = swa_utils.AveragedModel(net, **kw)
    snaps = _snapshots(5, seed=1)
    expected = None
    for s in snaps:
        net.w.data = tg.tensor(s)
        ema.update_parameters(net)
        expected = s.copy() if expected is None else 0.9 * expected + 0.1 * s
    np.testing.assert_allclose(ema.module.w.detach().numpy(), expected, rtol=1e-5)


def test_averaged_model_use_buffers_averages_buffers():
    net = Tiny()
    swa = swa_utils.AveragedModel(net, use_buffers=True)
    for i in range(4):
        net.count.data = tg.full((1,), float(i))
        swa.update_parameters(net)
    assert swa.module.count.item() == pytest.approx(1.5)
    with pytest.raises(ValueError, match="only one of avg_fn and multi_avg_fn"):
        swa_utils.AveragedModel(net, avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())


def test_update_bn_recomputes_running_statistics():
    net = tg.nn.Sequential(tg.nn.Linear(2, 3), tg.nn.BatchNorm1d(3))
    rng = np.random.default_rng(0)
    batches = [tg.tensor(rng.standard_normal((8, 2)).astype(np.float32)) for _ in range(3)]
    net.eval()
    swa_utils.update_bn([(b, None) for b in batches], net)
    with tg.no_grad():
        h = tg.cat([net[0](b) for b in batches]).numpy()
    np.testing.assert_allclose(net[1].running_mean.numpy(), h.mean(0), rtol=1e-4, atol=1e-6)
    assert net[1].momentum == 0.1 and not net.training
    swa_utils.update_bn([], tg.nn.Linear(2, 2))          # no BatchNorm: nothing to do


def test_swalr_anneals_to_swa_lr_then_holds():
    opt = _opt(lr=1.0)
    sched = swa_utils.SWALR(opt, swa_lr=0.2, anneal_epochs=4, anneal_strategy="cos")
    got = _lrs(sched, opt, 8)
    alphas = [(1 - math.cos(math.pi * min(1, t / 4))) / 2 for t in range(8)]
    np.testing.assert_allclose(got, [0.2 * a + 1.0 * (1 - a) for a in alphas], rtol=1e-9)
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
        swa_utils.SWALR(_opt(), 0.1, anneal_epochs=-1)
    with pytest.raises(ValueError, match="anneal_strategy"):
        swa_utils.SWALR(_opt(), 0.1, anneal_strategy="step")


def test_user_optimizers_count_as_stepped_and_copies_stay_independent():
    class Plain(tg.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": 0.1})

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    p.data.sub_(group["lr"])

    w = tg.nn.Parameter(tg.ones(1))
    opt = Plain([w])
    sched = L.StepLR(opt, 1, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == 0.05
    sgd = _opt()
    L.StepLR(sgd, 1)
    twin = copy.deepcopy(sgd)
    twin.param_groups[0]["params"][0].grad = tg.ones(2)
    twin.step()
    assert sgd.param_groups[0]["params"][0].tolist() == [1.0, 1.0]


def test_overridden_optimizer_step_is_reported():
    opt = _opt()
    sched = L.StepLR(opt, 1)
    opt.step = lambda closure=None: None
    opt.step()
    with pytest.warns(UserWarning, match="has been overridden"):
        sched.step()


def test_state_dicts_survive_a_json_round_trip():
    import json
    opt = _opt(momentum=0.9)
    sched = L.MultiStepLR(opt, [3, 6], 0.5)
    _lrs(sched, opt, 2)
    sd = json.loads(json.dumps(sched.state_dict()))       # int keys become strings
    assert sd["milestones"] == {"3": 1, "6": 1}
    opt2 = _opt(momentum=0.9)
    sched2 = L.MultiStepLR(opt2, [100], 0.5)
    sched2.load_state_dict(sd)
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    assert _lrs(sched2, opt2, 6) == _lrs(sched, opt, 6)


@pytest.mark.parametrize("setup", [
    lambda ps: (tg.optim.Adam(ps, lr=0.05, amsgrad=True),
                lambda o: L.OneCycleLR(o, 0.1, total_steps=20)),
    lambda ps: (tg.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
                lambda o: L.MultiStepLR(o, [3, 7], 0.5)),
    lambda ps: (tg.optim.RMSprop(ps, lr=0.01, centered=True),
                lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=3),
                                             L.CosineAnnealingLR(o, 10)], [3])),
    lambda ps: (tg.optim.LBFGS(ps, lr=0.5, max_iter=3, line_search_fn="strong_wolfe"),
                lambda o: L.ExponentialLR(o, 0.9)),
])
def test_checkpoint_with_tapegrad_save_resumes_bit_for_bit(setup, tmp_path):
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((16, 4)).astype(np.float32))
    y = tg.tensor(rng.standard_normal(16).astype(np.float32))

    def build():
        w = tg.nn.Parameter(tg.tensor(np.linspace(-1, 1, 4, dtype=np.float32)))
        opt, make_sched = setup([w])
        return w, opt, make_sched(opt)

    def train(w, opt, sched, n):
        for _ in range(n):
            def closure():
                opt.zero_grad()
                loss = ((x @ w - y) ** 2).mean() + (w ** 4).sum() * 0.01
                loss.backward()
                return loss
            opt.step(closure)
            sched.step()

    w, opt, sched = build()
    train(w, opt, sched, 5)
    path = tmp_path / "ckpt.safetensors"
    tg.save({"w": w.detach(), "optim": opt.state_dict(), "sched": sched.state_dict(),
             "epoch": 5}, path)
    train(w, opt, sched, 5)

    w2, opt2, sched2 = build()
    ckpt = tg.load(path)
    w2.data = ckpt["w"]
    opt2.load_state_dict(ckpt["optim"])
    sched2.load_state_dict(ckpt["sched"])
    train(w2, opt2, sched2, 5)
    np.testing.assert_array_equal(w.detach().numpy(), w2.detach().numpy())
    assert sched.get_last_lr() == sched2.get_last_lr()
