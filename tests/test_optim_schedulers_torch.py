"""Optional: tapegrad.optim.lr_scheduler and swa_utils.SWALR against torch's, 40 steps each
(two param groups; momentum/beta1 too where it cycles), also chained, sequential, resumed
from a state_dict, and with the deprecated epoch argument. Skips without torch."""
import copy
import math
import warnings

import pytest

import tapegrad as tg
from tapegrad.optim import swa_utils

torch = pytest.importorskip("torch")

STEPS = 40

CASES = {
    "StepLR": lambda L, o: L.StepLR(o, 3, gamma=0.5),
    "MultiStepLR": lambda L, o: L.MultiStepLR(o, [3, 3, 7, 20], gamma=0.5),
    "ConstantLR": lambda L, o: L.ConstantLR(o, factor=0.4, total_iters=6),
    "LinearLR": lambda L, o: L.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=10),
    "ExponentialLR": lambda L, o: L.ExponentialLR(o, 0.9),
    "PolynomialLR": lambda L, o: L.PolynomialLR(o, total_iters=12, power=2.0),
    "CosineAnnealingLR": lambda L, o: L.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "CosineAnnealingWarmRestarts": lambda L, o: L.CosineAnnealingWarmRestarts(o, 4, 2, 0.001),
    "CosineAnnealingWarmRestarts-1": lambda L, o: L.CosineAnnealingWarmRestarts(o, 7),
    "CyclicLR-triangular": lambda L, o: L.CyclicLR(o, 0.01, [0.1, 0.2], step_size_up=4),
    "CyclicLR-triangular2": lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=3,
                                                    step_size_down=5, mode="triangular2"),
    "CyclicLR-exp_range": lambda L, o: L.CyclicLR(o, [0.01, 0.02], 0.1, step_size_up=5,
                                                  mode="exp_range", gamma=0.97),
    "CyclicLR-scale_fn": lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=4,
                                                 scale_fn=lambda x: 0.9 ** x,
                                                 scale_mode="iterations",
                                                 cycle_momentum=False),
    "OneCycleLR-cos": lambda L, o: L.OneCycleLR(o, [0.5, 0.3], total_steps=STEPS),
    "OneCycleLR-linear": lambda L, o: L.OneCycleLR(o, 0.5, epochs=4, steps_per_epoch=10,
                                                   anneal_strategy="linear", pct_start=0.25),
    "OneCycleLR-three_phase": lambda L, o: L.OneCycleLR(o, 0.5, total_steps=STEPS,
                                                        three_phase=True),
    "LambdaLR": lambda L, o: L.LambdaLR(o, lambda e: 0.95 ** e),
    "LambdaLR-list": lambda L, o: L.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9 ** e]),
    "MultiplicativeLR": lambda L, o: L.MultiplicativeLR(o, lambda e: 0.9 if e % 2 else 1.0),
    "SequentialLR": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, 0.1, total_iters=5), L.CosineAnnealingLR(o, T_max=20)], [5]),
    "SequentialLR-3": lambda L, o: L.SequentialLR(
        o, [L.ConstantLR(o, 0.5, total_iters=3), L.ExponentialLR(o, 0.9),
            L.StepLR(o, 4, 0.5)], [4, 15]),
    "ChainedScheduler": lambda L, o: L.ChainedScheduler(
        [L.ConstantLR(o, 0.5, total_iters=4), L.ExponentialLR(o, 0.95),
         L.CosineAnnealingLR(o, 8)]),
}


def _make(lib, opt_name="SGD"):
    ones = (lambda n: tg.nn.Parameter(tg.ones(n))) if lib == "tg" else \
        (lambda n: torch.ones(n, requires_grad=True))
    optim = tg.optim if lib == "tg" else torch.optim
    kw = dict(momentum=0.9) if opt_name == "SGD" else {}
    return getattr(optim, opt_name)([{"params": [ones(2)], "lr": 0.1},
                                     {"params": [ones(3)], "lr": 0.05}], **kw)


def _trace(lib, factory, opt_name="SGD", steps=STEPS, metric=None):
    opt = _make(lib, opt_name)
    L = tg.optim.lr_scheduler if lib == "tg" else torch.optim.lr_scheduler
    sched = factory(L, opt)
    out = []
    for k in range(steps):
        out.append((list(sched.get_last_lr()),
                    [g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups]))
        opt.step()
        sched.step() if metric is None else sched.step(metric(k))
    out.append((list(sched.get_last_lr()), None))
    return out


def _assert_same(ours, theirs):
    for k, ((lr1, m1), (lr2, m2)) in enumerate(zip(ours, theirs)):
        assert lr1 == pytest.approx(lr2, rel=1e-12, abs=1e-15), f"step {k}: lr"
        assert m1 == pytest.approx(m2, rel=1e-12) if m2 is not None else True, f"step {k}"


@pytest.mark.parametrize("case", list(CASES))
def test_lr_sequence_matches_torch(case):
    _assert_same(_trace("tg", CASES[case]), _trace("torch", CASES[case]))


@pytest.mark.parametrize("case", ["CyclicLR-triangular", "OneCycleLR-cos"])
def test_beta1_cycles_like_torch(case):
    _assert_same(_trace("tg", CASES[case], "Adam"), _trace("torch", CASES[case], "Adam"))


@pytest.mark.parametrize("kw", [dict(), dict(mode="max", threshold_mode="abs", threshold=0.1),
                                dict(patience=2, cooldown=3, min_lr=[0.01, 0.02], factor=0.5),
                                dict(patience=0, eps=0.01)])
def test_reduce_on_plateau_matches_torch(kw):
    metric = lambda k: [5, 4, 4.1, 4.0, 3.99, 3.99, 4, 4, 3, 3, 3, 3][k % 12] + 0.01 * (k // 12)
    factory = lambda L, o: L.ReduceLROnPlateau(o, **kw)
    _assert_same(_trace("tg", factory, metric=metric), _trace("torch", factory, metric=metric))


@pytest.mark.parametrize("kw", [dict(swa_lr=0.01, anneal_epochs=5),
                                dict(swa_lr=[0.01, 0.02], anneal_epochs=3,
                                     anneal_strategy="linear"),
                                dict(swa_lr=0.03, anneal_epochs=0)])
def test_swalr_matches_torch(kw):
    ours = _trace("tg", lambda L, o: swa_utils.SWALR(o, **kw))
    theirs = _trace("torch", lambda L, o: torch.optim.swa_utils.SWALR(o, **kw))
    _assert_same(ours, theirs)


@pytest.mark.parametrize("case", ["StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
                                  "ExponentialLR", "PolynomialLR", "CosineAnnealingLR",
                                  "CosineAnnealingWarmRestarts", "LambdaLR"])
def test_step_with_epoch_uses_the_closed_form_like_torch(case):
    lrs = {}
    for lib, L in (("tg", tg.optim.lr_scheduler), ("torch", torch.optim.lr_scheduler)):
        opt = _make(lib)
        sched = CASES[case](L, opt)
        seq = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in [3, 7, 2, 15, 30, 11]:
                opt.step()
                sched.step(epoch)
                seq.append(sched.get_last_lr())
        lrs[lib] = seq
    for a, b in zip(lrs["tg"], lrs["torch"]):
        assert a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("case", list(CASES))
def test_resume_from_state_dict_matches_torch(case):
    traces = {}
    for lib, L in (("tg", tg.optim.lr_scheduler), ("torch", torch.optim.lr_scheduler)):
        opt = _make(lib)
        sched = CASES[case](L, opt)
        for _ in range(13):
            opt.step()
            sched.step()
        sd_opt = copy.deepcopy(opt.state_dict())
        sd_sched = sched.state_dict()
        opt2 = _make(lib)
        sched2 = CASES[case](L, opt2)
        opt2.load_state_dict(sd_opt)
        sched2.load_state_dict(sd_sched)
        seq = []
        for _ in range(20):
            opt2.step()
            sched2.step()
            seq.append(sched2.get_last_lr())
        traces[lib] = seq
    for a, b in zip(traces["tg"], traces["torch"]):
        assert a == pytest.approx(b, rel=1e-12)
    assert all(math.isfinite(v) for seq in traces["tg"] for v in seq)
