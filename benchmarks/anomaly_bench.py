#!/usr/bin/env python
"""Cost of anomaly detection: the MLP step of mlp_step.py (784-512-512-10, ReLU,
cross_entropy, batch 128, float32, fwd+bwd+SGD) plain and inside
``tapegrad.autograd.detect_anomaly()``, and PyTorch's step plain and inside
``torch.autograd.detect_anomaly(check_nan=True)`` in the same run (skipped without torch).
Each anomaly step enters and leaves the mode, as ``with detect_anomaly(): step()`` does;
``--region`` instead enters it once around all the timing (the cost per op only; the two
sides are then timed one after the other, not interleaved, and the ratio is of medians).
A script, not a test; see benchmarks/README.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/anomaly_bench.py [--quick]
    export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/anomaly_bench.py --cpu-time

Target (issue 11): tapegrad's anomaly step at most 1.2x its plain step (PyTorch's is about
1.65x). Medians over interleaved repeats; the headline is the median of per-round ratios.
"""
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_bench import (fmt_ms, fmt_ratio, measure, med, parse_args, ratios,  # noqa: E402
                          report, section, torch)
from mlp_step import BATCH, SIZES, init_params, make_batch, make_step  # noqa: E402

import tapegrad as tg  # noqa: E402

TARGET = 1.2


def bench_lib(summary, name, lib, anomaly, start, x, y, repeats, warmup, region, target):
    """Time ``lib``'s plain step and its step in ``anomaly()`` mode (separate copies of the
    same parameters) and report the ratio."""
    def params():
        return [lib.tensor(p.copy(), requires_grad=True) for p in start]
    plain_step = make_step(lib, params(), manual=False)
    watched_step = make_step(lib, params(), manual=False)

    def plain():
        plain_step(x, y)

    def watched():
        with anomaly():
            watched_step(x, y)

    if region:
        # the mode can't be on for one side of an interleaved round only: timed apart
        times = measure({"plain": plain}, repeats, warmup)
        with anomaly():
            times.update(measure({"anomaly": lambda: watched_step(x, y)}, repeats, warmup))
    else:
        times = measure({"plain": plain, "anomaly": watched}, repeats, warmup)
    print(f"  {name} plain    {fmt_ms(times['plain'])}")
    print(f"  {name} anomaly  {fmt_ms(times['anomaly'])}")
    if region:
        r = (med(times["anomaly"]) / med(times["plain"]),) * 2 + (
            min(times["anomaly"]) / min(times["plain"]),)
    else:
        r = ratios(times["anomaly"], times["plain"])
    print(f"  {name} anomaly/plain: {fmt_ratio(r)}")
    ok = None if target is None else r[0] <= target
    summary.add(f"MLP step, {name} anomaly/plain{' (region)' if region else ''}",
                f"{r[0]:.3f}x", "(info)" if target is None else f"<= {target:.2f}x", ok)


def main():
    def options(parser):
        parser.add_argument("--region", action="store_true",
                            help="enter anomaly mode once around the timing, not per step")
    args = parse_args(__doc__, cpu_time=True, options=options)
    repeats = args.repeats or (30 if args.quick else 150)
    warmup = 5 if args.quick else 15
    x, y = make_batch()
    start = init_params(np.random.default_rng(1))
    with report() as summary:
        how = "entered once" if args.region else "entered per step"
        section(f"MLP step {'-'.join(map(str, SIZES))}, batch {BATCH}, float32: "
                f"plain vs detect_anomaly ({how})")
        print(f"{repeats} repeats, {warmup} warm-ups, plain and anomaly interleaved")
        bench_lib(summary, "tapegrad", tg, tg.autograd.detect_anomaly, start, tg.tensor(x),
                  tg.tensor(y), repeats, warmup, args.region, TARGET)
        if torch is None:
            print("  torch: skipped (torch not installed)")
            return
        with warnings.catch_warnings():     # torch warns on entering its anomaly mode
            warnings.simplefilter("ignore")
            bench_lib(summary, "torch", torch,
                      lambda: torch.autograd.detect_anomaly(check_nan=True), start,
                      torch.from_numpy(x), torch.from_numpy(y), repeats, warmup, args.region,
                      None)


if __name__ == "__main__":
    main()
