#!/usr/bin/env python
"""Gradient checkpointing (issue 9, item 2): a 32-layer tanh MLP of width 1024 on a batch of
2048 (float32), forward + backward, plain and with checkpoint_sequential in 8 segments
(checkpoints every 4 layers): peak activation memory and time. A script, not a test.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/checkpoint_bench.py [--quick] [--repeats N] [--cpu-time]

Memory is measured in a fresh subprocess per variant, with tracemalloc (NumPy reports its
allocations to it): the peak during one forward + backward above what was held before it
starts. Before it starts the process holds the weights, the input and the weights' .grad
buffers (made by a warm-up step and zeroed, as a training loop keeps them), so the figure is
the activations and the backward's temporary buffers, which is what checkpointing trades.
Each subprocess also prints its peak RSS growth (ru_maxrss) over the same step.

Time is the median of interleaved same-process repeats (engine_bench.measure); the ratio is
the median of the per-round ratios. ``--cpu-time`` times with the process's CPU time, steadier
on a busy machine with one BLAS thread. The recomputation adds 28 GEMMs to the 95 of a plain
step (7 of 8 segments' forward), so about 1.3x is expected.

Targets: checkpointed peak activation memory <= 45% of the plain run's (12 of 32 layers'
activations, 37.5%, is this schedule's floor); time <= 1.4x.
"""
import os
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_bench import (measure, parse_args, print_times, report, report_ratio,  # noqa: E402
                          section)

import tapegrad as tg  # noqa: E402
from tapegrad.utils.checkpoint import checkpoint_sequential  # noqa: E402

DEPTH, WIDTH, BATCH, SEGMENTS = 32, 1024, 2048, 8
MEMORY_TARGET, TIME_TARGET = 0.45, 1.4


def build(depth=DEPTH, width=WIDTH, batch=BATCH):
    """The MLP (Linear + Tanh per layer, in one Sequential) and its input, seeded."""
    tg.manual_seed(0)
    layers = []
    for _ in range(depth):
        layers += [tg.nn.Linear(width, width), tg.nn.Tanh()]
    net = tg.nn.Sequential(*layers)
    x = tg.randn(batch, width)
    return net, x


def step(net, x, checkpointed):
    """One forward + backward; the weights' gradients accumulate into their .grad."""
    out = checkpoint_sequential(net, SEGMENTS, x) if checkpointed else net(x)
    out.sum().backward()


def zero_grads(net):
    for p in net.parameters():
        if p.grad is not None:
            p.grad._data[...] = 0


def child(variant):
    """Runs in a fresh process: print the peak memory of one step of ``variant``."""
    net, x = build()
    checkpointed = variant == "checkpoint"
    step(net, x, checkpointed)       # warm-up: also makes every .grad buffer
    zero_grads(net)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    step(net, x, checkpointed)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0    # KiB on Linux
    print(f"RESULT {peak} {rss * 1024}")


def memory(variant):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", variant],
                         check=True, capture_output=True, text=True, env=os.environ.copy())
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT")][-1]
    peak, rss = (int(v) for v in line.split()[1:])
    return peak, rss


def check_gradients():
    """Plain and checkpointed gradients of a smaller net of the same shape, compared."""
    net, x = build(depth=8, width=64, batch=32)
    grads = []
    for checkpointed in (False, True):
        for p in net.parameters():
            p.grad = None
        step(net, x, checkpointed)
        grads.append([p.grad.numpy().copy() for p in net.parameters()])
    return max(float(np.abs(a - b).max()) for a, b in zip(*grads))


def main():
    args = parse_args(__doc__, cpu_time=True,
                      options=lambda p: p.add_argument("--child", help="internal"))
    if args.child:
        child(args.child)
        return
    repeats, warmup = (1, 0) if args.quick else (args.repeats or 3, 1)
    with report() as summary:
        section(f"{DEPTH}-layer tanh MLP, width {WIDTH}, batch {BATCH}, float32, fwd+bwd; "
                f"checkpoint_sequential with {SEGMENTS} segments")
        print(f"gradients, plain vs checkpointed (8 layers of 64): max |diff| = "
              f"{check_gradients():.1e}")
        layer = BATCH * WIDTH * 4
        peaks = {}
        for variant in ("plain", "checkpoint"):
            t0 = time.perf_counter()
            peaks[variant] = memory(variant)
            peak, rss = peaks[variant]
            print(f"{variant:<11} peak above steady state {peak / 2**20:7.1f} MiB "
                  f"({peak / layer:5.1f} layers' activations of {layer / 2**20:.0f} MiB); "
                  f"peak RSS growth {rss / 2**20:7.1f} MiB  [{time.perf_counter() - t0:.0f} s]")
        ratio = peaks["checkpoint"][0] / peaks["plain"][0]
        rss_ratio = peaks["checkpoint"][1] / max(peaks["plain"][1], 1)
        print(f"checkpoint/plain peak memory: {ratio:.3f} (tracemalloc), {rss_ratio:.3f} (RSS)")
        summary.add("peak activation memory ckpt/plain (tracemalloc)", f"{ratio:.3f}",
                    f"<= {MEMORY_TARGET:.2f}", ratio <= MEMORY_TARGET)
        summary.add("peak RSS growth ckpt/plain", f"{rss_ratio:.3f}", "(info)", None)

        net, x = build()
        for checkpointed in (False, True):   # make the .grad buffers outside the timing
            step(net, x, checkpointed)
        print(f"\n{repeats} repeats, {warmup} warm-ups, plain and checkpointed interleaved")
        times = measure({"plain": lambda: step(net, x, False),
                         "checkpoint": lambda: step(net, x, True)}, repeats, warmup)
        print_times(times)
        report_ratio(summary, "checkpoint/plain time:", "time ckpt/plain", times["checkpoint"],
                     times["plain"], TIME_TARGET)


if __name__ == "__main__":
    main()
