#!/usr/bin/env python
"""Digits training throughput: examples/digits.py's network and training step (AdamW,
one-cycle schedule, batch 64 of 8x8 images) in tapegrad and in PyTorch, in the same run,
as training samples per second. A script, not a test; see benchmarks/README.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/digits_bench.py [--quick]

The full demo (`python examples/digits.py`) prints its own accuracy and time; this script
isolates the training step's speed.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "examples"))
from engine_bench import (fmt_ms, measure, parse_args, ratios, report, section,  # noqa: E402
                          torch)

import tapegrad as tg  # noqa: E402

BATCH = 64


def build(lib):
    """The demo's network, written once for both libraries."""
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Dropout(0.25),
        nn.Linear(128, 10))


def trainer(lib, images, labels, steps):
    model = build(lib)
    optimizer = lib.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    scheduler = lib.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=10 ** 6)
    fn = lib.nn.functional
    batches = [(images[i:i + BATCH], labels[i:i + BATCH])
               for i in range(0, len(labels) - BATCH + 1, BATCH)][:steps]

    def run():
        for x, y in batches:
            loss = fn.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
    return run, len(batches) * BATCH


def main(argv=None):
    args = parse_args(__doc__, argv)
    repeats, warmup, steps = (5, 1, 10) if args.quick else (15, 2, 22)
    with report() as summary:
        bench_training(summary, repeats, warmup, steps)


def bench_training(summary, repeats, warmup, steps):
    rng = np.random.default_rng(0)
    images = rng.random((BATCH * steps, 1, 8, 8), dtype=np.float32)
    labels = rng.integers(0, 10, BATCH * steps)
    run_tg, n = trainer(tg, tg.tensor(images), tg.tensor(labels), steps)
    fns = {"tapegrad": run_tg}
    if torch is not None:
        fns["torch"] = trainer(torch, torch.tensor(images), torch.tensor(labels), steps)[0]
    section(f"digits training: {steps} steps of batch {BATCH} (conv 32, conv 64, pool, "
            "linear 128, linear 10; AdamW, one-cycle)")
    times = measure(fns, repeats, warmup)
    for name, ts in times.items():
        rate = n / float(np.median(ts))
        print(f"{name:<10} {fmt_ms(ts)} per {steps} steps: {rate:8.0f} samples/s")
        summary.add(f"{name} samples/s", f"{rate:.0f}", "(info)", None)
    if torch is not None:
        r = ratios(times["tapegrad"], times["torch"])
        print(f"tapegrad / torch time: {r[0]:.3f}x")
        summary.add("tapegrad / torch time", f"{r[0]:.3f}x", "(info)", None)
    else:
        print("torch comparison skipped (torch not installed)")


if __name__ == "__main__":
    main()
