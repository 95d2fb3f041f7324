#!/usr/bin/env python
"""The leak sentinel's cost while nothing leaks (issue 11): mlp_step.py's training step
(784-512-512-10, ReLU, cross_entropy, batch 128, optim.SGD) with the sentinel on and off,
interleaved in the same run. A script, not a test; see benchmarks/README.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/leak_bench.py [--quick] [--repeats N] [--cpu-time]

The headline is the median of the per-round ratios on/off (engine_bench.measure). The
sentinel keeps its per-thread record between the "on" steps, as in a training loop (the
"off" steps swap it out for False, the "on" ones back in: one attribute store each side).
Because the step's own noise is larger than the sentinel's cost, the script also times the
sentinel's work alone: ``observe`` called on a live step's loss, steady state (the previous
call's graph gone), per call, and gives it as a share of the step's median time.
Target: under 2% of the MLP step.
"""
import os
import sys


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import engine_bench  # noqa: E402  (its clock, which --cpu-time switches)
from engine_bench import (fmt_us, measure, med, parse_args, print_times,  # noqa: E402
                          report, report_ratio, section)
from mlp_step import BATCH, SIZES, tapegrad_problem  # noqa: E402

import tapegrad as tg  # noqa: E402
from tapegrad._core.state import STATE  # noqa: E402
from tapegrad.autograd import leaks  # noqa: E402

TARGET = 1.02


def bench(summary, repeats, warmup):
    section(f"MLP step {'-'.join(map(str, SIZES))}, batch {BATCH}, optim.SGD: leak sentinel "
            "on vs off")
    x, y, params, step = tapegrad_problem()
    tg.autograd.set_leak_sentinel(True)
    step(x, y)
    record = STATE.leaks                   # the "on" steps' record, kept between them

    def on():
        STATE.leaks = record
        step(x, y)

    def off():
        STATE.leaks = False
        step(x, y)

    times = measure({"sentinel on": on, "sentinel off": off}, repeats, warmup)
    print(f"{repeats} repeats, {warmup} warm-ups, on and off interleaved")
    print_times(times)
    report_ratio(summary, "on/off:", "MLP step, leak sentinel on/off", times["sentinel on"],
                 times["sentinel off"], TARGET)
    assert not record.warned, "the sentinel warned on a loop that keeps nothing"

    # The sentinel's own work per backward() call, timed alone on a live step's loss.
    W1, b1, W2, b2, W3, b3 = params
    F = tg.nn.functional
    calls = 2000
    per_call = []
    for _ in range(max(5, repeats // 10)):
        h = F.relu(F.linear(F.relu(F.linear(x, W1, b1)), W2, b2))
        loss = F.cross_entropy(F.linear(h, W3, b3), y)
        STATE.leaks = record
        t0 = engine_bench._perf()
        for _ in range(calls):
            leaks.observe((loss,))
        t1 = engine_bench._perf()
        per_call.append((t1 - t0) / calls)
    del loss, h
    share = med(per_call) / med(times["sentinel off"])
    print(f"observe() alone, per backward call: {fmt_us(per_call)}; "
          f"{share * 100:.3f}% of the step's median")
    summary.add("leak sentinel's work / MLP step", f"{share * 100:.3f}%", "< 2%", share < 0.02)
    STATE.leaks = None


def main():
    args = parse_args(__doc__, cpu_time=True)
    repeats = args.repeats or (30 if args.quick else 200)
    with report() as summary:
        bench(summary, repeats, warmup=5 if args.quick else 20)


if __name__ == "__main__":
    main()
