#!/usr/bin/env python
"""Module-call overhead: a Sequential of 20 Linear(16, 16) + ReLU on a batch of 4, forward
and backward, tapegrad against PyTorch in the same run (issue 7). The tensors are tiny, so
the time is what each library spends per module call and per recorded op, not arithmetic.
Also reported: the same network written with nn.functional calls (no modules), so the
difference is the Module machinery itself. A script, not a test; see benchmarks/README.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/module_call_bench.py [--quick]
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_bench import (fmt_us, measure, parse_args, print_times, report,  # noqa: E402
                          report_ratio, section, torch)

import tapegrad as tg  # noqa: E402

DEPTH, WIDTH, BATCH = 20, 16, 4
TARGET_VS_TORCH = 1.0


def build(nn):
    return nn.Sequential(*[m for _ in range(DEPTH) for m in (nn.Linear(WIDTH, WIDTH),
                                                            nn.ReLU())])


def step(model, x):
    """Forward and backward; grads set to None first, as optimizer.zero_grad() does."""
    for p in model.parameters():
        p.grad = None
    model(x).sum().backward()


def functional_step(F, params, x):
    for p in params:
        p.grad = None
    h = x
    for k in range(0, len(params), 2):
        h = F.relu(F.linear(h, params[k], params[k + 1]))
    h.sum().backward()


def bench(summary, repeats, warmup):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((BATCH, WIDTH)).astype(np.float32)
    ours = build(tg.nn)
    x = tg.tensor(X)
    params = list(ours.parameters())
    fns = {"tapegrad module": lambda: step(ours, x),
           "tapegrad functional": lambda: functional_step(tg.nn.functional, params, x)}
    if torch is not None:
        theirs = build(torch.nn)
        theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
        tx = torch.tensor(X)
        step(ours, x)
        step(theirs, tx)
        for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5,
                                       err_msg=name)
        fns["torch module"] = lambda: step(theirs, tx)

    section(f"Sequential of {DEPTH} x (Linear({WIDTH}, {WIDTH}) + ReLU), batch {BATCH}, "
            "forward+backward")
    times = measure(fns, repeats, warmup)
    print_times(times, fmt_us)
    report_ratio(summary, "module / functional", "module call vs functional",
                 times["tapegrad module"], times["tapegrad functional"])
    if torch is not None:
        report_ratio(summary, "tapegrad / torch", "module step vs torch",
                     times["tapegrad module"], times["torch module"], TARGET_VS_TORCH)
    else:
        print("torch comparison skipped (torch not installed)")


def main(argv=None):
    args = parse_args(__doc__, argv)
    repeats, warmup = (51, 5) if args.quick else (301, 20)
    with report() as summary:
        bench(summary, repeats, warmup)


if __name__ == "__main__":
    main()
