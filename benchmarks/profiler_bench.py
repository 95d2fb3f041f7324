#!/usr/bin/env python
"""Profiler overhead: the MLP step (benchmarks/mlp_step.py: 784-512-512-10, batch 128,
fwd+bwd+SGD) and engine_bench.py's op-overhead chain (200 small elementwise ops, fwd+bwd),
each plain and inside tapegrad.profiler.profile(), in the same run. A script, not a test;
see benchmarks/README.md.

    export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/profiler_bench.py --cpu-time

Each round times one plain call and one call inside a profile that was started before the
timer and is stopped after it (so the figures are the per-step cost while recording),
alternating which goes first; a third timing is entering and leaving an empty profile (it
wraps and unwraps every op). Medians over rounds; the headline ratio is the median of the
per-round ratios. While no profile is active the op table holds the functions it was built
with (checked below), so the cost while off is nothing: compare engine_bench.py's op
overhead figures with and without the profiler in the tree.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import engine_bench  # noqa: E402
from engine_bench import (N_CHAIN, fmt_ms, fmt_ratio, fmt_us, med, parse_args,  # noqa: E402
                          ratios, report, section, tg_chain)
from mlp_step import BATCH, SIZES, tapegrad_problem  # noqa: E402

import tapegrad as tg  # noqa: E402
from tapegrad.ops.registry import REGISTRY  # noqa: E402
from tapegrad.profiler import profile  # noqa: E402


def rounds(fn, repeats, warmup, **options):
    """Per round: fn timed plain, fn timed inside an active profile(**options) (started and
    stopped outside the timer), alternating the order; and an empty profile's enter+exit.
    Returns (plain, profiled, enter_exit) lists of seconds."""
    for _ in range(warmup):
        fn()
        with profile(**options):
            fn()
    plain, profiled, enter_exit = [], [], []
    for r in range(repeats):
        for which in ((0, 1) if r % 2 == 0 else (1, 0)):
            if which == 0:
                t0 = engine_bench._perf()
                fn()
                plain.append(engine_bench._perf() - t0)
            else:
                prof = profile(**options)
                prof.start()
                t0 = engine_bench._perf()
                fn()
                profiled.append(engine_bench._perf() - t0)
                prof.stop()
        t0 = engine_bench._perf()
        with profile(**options):
            pass
        enter_exit.append(engine_bench._perf() - t0)
    return plain, profiled, enter_exit


def show(summary, label, times, per, fmt, target=None):
    plain, profiled, enter_exit = times
    print(f"  {'plain':<34} {fmt(plain)}")
    print(f"  {'inside profile()':<34} {fmt(profiled)}")
    rr = ratios(profiled, plain)
    extra = (med(profiled) - med(plain)) / per * 1e6
    print(f"  profiled/plain: {fmt_ratio(rr)}; {extra:+.2f} us per {'op' if per > 1 else 'step'}")
    print(f"  {'enter+exit of an empty profile':<34} {fmt_ms(enter_exit)}")
    summary.add(label, f"{rr[0]:.3f}x", "(info)" if target is None else f"<= {target:.2f}x",
                None if target is None else rr[0] <= target)


def bench_mlp(summary, repeats, warmup):
    section(f"MLP step {'-'.join(map(str, SIZES))}, batch {BATCH}, float32, fwd+bwd+SGD: "
            "plain vs inside profile()")
    x, y, _, step = tapegrad_problem()
    with profile() as prof:
        step(x, y)
    print(f"ops per step: {sum(r.count for r in prof.key_averages())} events "
          f"({', '.join(r.key for r in prof.key_averages())})")
    for name, options in (("profile()", {}),
                          ("profile(record_shapes, profile_memory)",
                           dict(record_shapes=True, profile_memory=True))):
        print(f"{name}: {repeats} rounds, {warmup} warm-ups")
        show(summary, f"MLP step, {name}/plain", rounds(lambda: step(x, y), repeats, warmup,
                                                         **options), 1, fmt_ms)


def bench_chain(summary, repeats, warmup):
    section(f"op overhead chain ({N_CHAIN} elementwise ops on 16 float32, fwd+bwd): plain vs "
            "inside profile()")
    x0 = np.random.default_rng(0).uniform(-1, 1, 16).astype(np.float32)
    x = tg.tensor(x0, requires_grad=True)

    def fwdbwd():
        x.grad = None
        tg_chain(x).sum().backward()
    print(f"{repeats} rounds, {warmup} warm-ups; per op = chain time / {N_CHAIN}")
    show(summary, "op chain fwd+bwd, profile()/plain", rounds(fwdbwd, repeats, warmup),
         N_CHAIN, lambda ts: fmt_us(ts, N_CHAIN) + " per op")


def main():
    args = parse_args(__doc__, cpu_time=True)
    repeats = args.repeats or (10 if args.quick else 50)
    built = {name: (op.forward, op.vjp) for name, op in REGISTRY.items()}
    with report() as summary:
        bench_mlp(summary, repeats, warmup=2 if args.quick else 5)
        bench_chain(summary, repeats, warmup=2 if args.quick else 5)
        off = {name: (op.forward, op.vjp) for name, op in REGISTRY.items()} == built
        print(f"\nafter profiling, every op's forward and vjp are the ones built: {off}")
        summary.add("op table as built while off", str(off), "True", off)


if __name__ == "__main__":
    main()
