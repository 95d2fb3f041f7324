#!/usr/bin/env python
"""Function transforms (issue 10's speed items): per-example gradients and Jacobians.

1. Per-example gradients of a 2-layer MLP (64-128-10, relu, cross-entropy) over a batch of
   256 with ``vmap(grad(f), in_dims=(None, 0, 0))``, against a Python loop of 256 ``grad``
   calls and against ``torch.func.vmap(torch.func.grad(f))`` in the same run. Targets: at
   least 20x faster than the loop (vmap / loop <= 0.05x) and at most 1.5x torch.func's time.
2. ``jacrev`` and ``jacfwd`` of x -> tanh(W2 tanh(W1 x)) from R^256 to R^256, against
   torch.func's. Target: at most 1.5x each.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
        python benchmarks/func_bench.py [--quick] [--cpu-time]

Measured with engine_bench.py's helpers: medians over interleaved repeats, same-run ratios.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_bench import (fmt_ms, measure, parse_args, print_times, report,  # noqa: E402
                          report_ratio, section, torch)

import tapegrad as tg  # noqa: E402
import tapegrad.func  # noqa: E402,F401

BATCH, IN, HIDDEN, CLASSES = 256, 64, 128, 10
JAC = 256


def mlp_loss(F):
    def f(params, x, t):
        w1, b1, w2, b2 = params
        return F.cross_entropy(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), t)
    return f


def per_example_case(lib, F, func, params, X, T):
    f = mlp_loss(F)
    per_example = func.vmap(func.grad(f), in_dims=(None, 0, 0))
    one = func.grad(f)

    def vectorized():
        return per_example(params, X, T)

    def loop():
        return [one(params, X[i], T[i]) for i in range(BATCH)]
    return vectorized, loop


def jac_case(lib, func, W1, W2, x):
    def g(z):
        return lib.tanh(W2 @ lib.tanh(W1 @ z))
    rev, fwd = func.jacrev(g), func.jacfwd(g)
    return (lambda: rev(x)), (lambda: fwd(x))


def main():
    args = parse_args(__doc__, cpu_time=True)
    repeats = args.repeats or (5 if args.quick else 20)
    rng = np.random.default_rng(0)
    ws = [(rng.standard_normal(s) / np.sqrt(s[-1])).astype(np.float32)
          for s in [(HIDDEN, IN), (HIDDEN,), (CLASSES, HIDDEN), (CLASSES,)]]
    X = rng.standard_normal((BATCH, IN)).astype(np.float32)
    T = rng.integers(0, CLASSES, BATCH)
    with report() as summary:
        section(f"Per-example gradients: MLP {IN}-{HIDDEN}-{CLASSES}, batch {BATCH}")
        import tapegrad.nn.functional as tF
        vec, loop = per_example_case(tg, tF, tg.func, tuple(tg.tensor(w) for w in ws),
                                     tg.tensor(X), tg.tensor(T))
        fns = {"tapegrad vmap(grad)": vec, "tapegrad loop": loop}
        got = vec()
        want = loop()
        for k in range(4):
            assert np.allclose(got[k].numpy(), np.stack([w[k].numpy() for w in want]),
                               rtol=1e-4, atol=1e-6), "vmap(grad) disagrees with the loop"
        if torch is not None:
            import torch.nn.functional as thF
            tvec, _ = per_example_case(torch, thF, torch.func,
                                       tuple(torch.tensor(w) for w in ws), torch.tensor(X),
                                       torch.tensor(T))
            theirs = tvec()
            for k in range(4):
                assert np.allclose(got[k].numpy(), theirs[k].numpy(), rtol=1e-3, atol=1e-5)
            fns["torch vmap(grad)"] = tvec
        times = measure(fns, repeats, 2)      # interleaved rounds, the loop included
        print_times(times, fmt_ms)
        report_ratio(summary, "vmap / loop", "per-example grads: vmap / loop",
                     times["tapegrad vmap(grad)"], times["tapegrad loop"], 0.05)
        if torch is not None:
            report_ratio(summary, "vmap / torch.func's", "per-example grads / torch.func's",
                         times["tapegrad vmap(grad)"], times["torch vmap(grad)"], 1.5)

        section(f"jacrev and jacfwd of tanh(W2 tanh(W1 x)), R^{JAC} -> R^{JAC}")
        W1, W2 = [(rng.standard_normal((JAC, JAC)) / np.sqrt(JAC)).astype(np.float32)
                  for _ in range(2)]
        x = rng.standard_normal(JAC).astype(np.float32)
        rev, fwd = jac_case(tg, tg.func, tg.tensor(W1), tg.tensor(W2), tg.tensor(x))
        assert np.allclose(rev().numpy(), fwd().numpy(), rtol=1e-3, atol=1e-5)
        fns = {"tapegrad jacrev": rev, "tapegrad jacfwd": fwd}
        if torch is not None:
            trev, tfwd = jac_case(torch, torch.func, torch.tensor(W1), torch.tensor(W2),
                                  torch.tensor(x))
            assert np.allclose(rev().numpy(), trev().numpy(), rtol=1e-3, atol=1e-5)
            fns.update({"torch jacrev": trev, "torch jacfwd": tfwd})
        times = measure(fns, repeats, 3)
        print_times(times, fmt_ms)
        if torch is not None:
            report_ratio(summary, "jacrev / torch's", "jacrev / torch.func's",
                         times["tapegrad jacrev"], times["torch jacrev"], 1.5)
            report_ratio(summary, "jacfwd / torch's", "jacfwd / torch.func's",
                         times["tapegrad jacfwd"], times["torch jacfwd"], 1.5)
        else:
            print("torch comparisons: skipped (torch not installed)")


if __name__ == "__main__":
    main()
