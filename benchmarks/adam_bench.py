#!/usr/bin/env python
"""One Adam step over 10 million float32 parameters in 20 tensors: tapegrad.optim.Adam
against a hand-written in-place NumPy Adam (PyTorch's documented rule, one preallocated
scratch array per tensor) and against torch.optim.Adam (foreach=False and the default), in
the same run. Also an SGD-with-momentum step the same way. A script, not a test; see
benchmarks/README.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/adam_bench.py [--quick]

Measured with engine_bench.py's helpers: medians over interleaved repeats, same-run ratios
(the headline is the median of the per-round ratios). Target: tapegrad at most 1.10x the
hand-written NumPy step.
"""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_bench import (fmt_ms, fmt_ratio, measure, med, parse_args, ratios,  # noqa: E402
                          report, section, torch)

import tapegrad as tg  # noqa: E402

N_TENSORS = 20
TOTAL = 10_000_000
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8
TARGET = 1.10


def shapes():
    """20 shapes summing to 10M elements, mixed like a network's (matrices and vectors)."""
    sizes = [TOTAL // N_TENSORS] * N_TENSORS
    return [(1000, s // 1000) if i % 2 == 0 else (s,) for i, s in enumerate(sizes)]


class NumpyAdam:
    """Adam written by hand: in-place updates, one scratch array per parameter."""

    def __init__(self, params, grads, lr=LR, betas=BETAS, eps=EPS):
        self.params, self.grads = params, grads
        self.lr, (self.b1, self.b2), self.eps = lr, betas, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.tmp = [np.empty_like(p) for p in params]
        self.t = 0

    def step(self):
        self.t += 1
        b1, b2, t = self.b1, self.b2, self.t
        step_size = self.lr / (1 - b1 ** t)
        root_bc2 = math.sqrt(1 - b2 ** t)
        for p, g, m, v, s in zip(self.params, self.grads, self.m, self.v, self.tmp):
            m *= b1                          # m = b1 m + (1 - b1) g
            np.multiply(g, 1 - b1, out=s)
            m += s
            v *= b2                          # v = b2 v + (1 - b2) g^2
            np.multiply(g, g, out=s)
            s *= 1 - b2
            v += s
            np.sqrt(v, out=s)                # denom = sqrt(v) / sqrt(1 - b2^t) + eps
            s /= root_bc2
            s += self.eps
            np.divide(m, s, out=s)           # p -= lr / (1 - b1^t) * m / denom
            s *= step_size
            p -= s


class NumpySGD:
    """SGD with momentum by hand: b = momentum b + g; p -= lr b."""

    def __init__(self, params, grads, lr=0.01, momentum=0.9):
        self.params, self.grads, self.lr, self.momentum = params, grads, lr, momentum
        self.b = None
        self.tmp = [np.empty_like(p) for p in params]

    def step(self):
        if self.b is None:
            self.b = [g.copy() for g in self.grads]
        else:
            for b, g in zip(self.b, self.grads):
                b *= self.momentum
                b += g
        for p, b, s in zip(self.params, self.b, self.tmp):
            np.multiply(b, self.lr, out=s)
            p -= s


def make_arrays(seed):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s, dtype=np.float32) for s in shapes()]
    grads = [rng.standard_normal(s, dtype=np.float32) for s in shapes()]
    return params, grads


def tg_setup(params, grads):
    tps = [tg.nn.Parameter(tg.tensor(p.copy())) for p in params]
    for tp, g in zip(tps, grads):
        tp.grad = tg.tensor(g.copy())
    return tps


def torch_setup(params, grads):
    tps = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    for tp, g in zip(tps, grads):
        tp.grad = torch.tensor(g.copy())
    return tps


def check_agreement():
    """Three steps from the same start give the same parameters in NumPy and tapegrad."""
    params, grads = make_arrays(5)
    small = [p[:50].copy() for p in params], [g[:50].copy() for g in grads]
    ref = NumpyAdam([p.copy() for p in small[0]], small[1])
    tps = tg_setup(*small)
    opt = tg.optim.Adam(tps, lr=LR, betas=BETAS, eps=EPS)
    for _ in range(3):
        ref.step()
        opt.step()
    err = max(float(np.max(np.abs(tp.detach().numpy() - p))) for tp, p in zip(tps, ref.params))
    print(f"check: max parameter difference after 3 steps (numpy vs tapegrad) {err:.1e}")
    assert err < 1e-6


def bench_adam(summary, repeats, warmup):
    section(f"Adam step, {TOTAL / 1e6:.0f}M float32 parameters in {N_TENSORS} tensors")
    check_agreement()
    params, grads = make_arrays(0)
    ref = NumpyAdam([p.copy() for p in params], grads)
    tps = tg_setup(params, grads)
    opt = tg.optim.Adam(tps, lr=LR, betas=BETAS, eps=EPS)
    fns = {"tapegrad": opt.step, "numpy (hand-written)": ref.step}
    times = measure(fns, repeats, warmup)
    print(f"{repeats} repeats, {warmup} warm-ups, tapegrad and NumPy interleaved")
    for name, ts in times.items():
        print(f"  {name:<26} {fmt_ms(ts)}")
    rr = ratios(times["tapegrad"], times["numpy (hand-written)"])
    print(f"  tapegrad/numpy: {fmt_ratio(rr)}")
    r = rr[0]
    print(f"  target: <= {TARGET:.2f}x -> " + ("PASS" if r <= TARGET else "MISS"))
    summary.add("Adam step, tapegrad/numpy", f"{r:.3f}x", f"<= {TARGET:.2f}x", r <= TARGET)
    del tps, opt
    if torch is None:
        print("  torch: skipped (torch not installed)")
        return
    for label, kw in (("torch foreach=False", dict(foreach=False)), ("torch default", {})):
        t_params = torch_setup(params, grads)
        t_opt = torch.optim.Adam(t_params, lr=LR, betas=BETAS, eps=EPS, **kw)
        both = measure({"torch": t_opt.step, "numpy": ref.step}, repeats, warmup)
        rt = ratios(both["torch"], both["numpy"])
        print(f"  {label:<26} {fmt_ms(both['torch'])}  ({rt[0]:.3f}x numpy, interleaved)")
        summary.add(f"Adam step, {label}/numpy", f"{rt[0]:.3f}x", "(info)", None)
        summary.add(f"Adam step, tapegrad/{label}",
                    f"{med(times['tapegrad']) / med(both['torch']):.3f}x", "(info)", None)
        del t_params, t_opt


def bench_sgd(summary, repeats, warmup):
    section(f"SGD step (momentum 0.9), {TOTAL / 1e6:.0f}M float32 parameters in "
            f"{N_TENSORS} tensors")
    params, grads = make_arrays(1)
    ref = NumpySGD([p.copy() for p in params], grads)
    tps = tg_setup(params, grads)
    opt = tg.optim.SGD(tps, lr=0.01, momentum=0.9)
    times = measure({"tapegrad": opt.step, "numpy (hand-written)": ref.step}, repeats, warmup)
    for name, ts in times.items():
        print(f"  {name:<26} {fmt_ms(ts)}")
    rr = ratios(times["tapegrad"], times["numpy (hand-written)"])
    print(f"  tapegrad/numpy: {fmt_ratio(rr)}")
    summary.add("SGD step, tapegrad/numpy", f"{rr[0]:.3f}x", f"<= {TARGET:.2f}x",
                rr[0] <= TARGET)


def main():
    args = parse_args(__doc__, cpu_time=True)
    repeats = args.repeats or (8 if args.quick else 40)
    with report() as summary:
        bench_adam(summary, repeats, warmup=2 if args.quick else 5)
        bench_sgd(summary, repeats, warmup=2 if args.quick else 5)


if __name__ == "__main__":
    main()
