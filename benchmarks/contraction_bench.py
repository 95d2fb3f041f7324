#!/usr/bin/env python
"""Contraction benchmarks for tapegrad: products stay on BLAS in backward, and einsum's cached
plan against NumPy's optimised einsum. A script, not a test; see benchmarks/README.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/contraction_bench.py [--quick]

Measured as in engine_bench.py (whose helpers this imports): medians over repeats after
warm-up runs, the two sides of each ratio measured in the same rounds, the headline ratio
the median of the per-round ratios.
"""
import gc
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tapegrad as tg  # noqa: E402
from engine_bench import (fmt_ratio, fmt_us, measure, med, parse_args, ratios,  # noqa: E402
                          report, section)

N_MV = 512                              # W is N_MV x N_MV, x has N_MV entries
EINSUM = "bij,bjk,bkl->bil"
EINSUM_SHAPES = [(8, 64, 96), (8, 96, 32), (8, 32, 64)]
_perf = time.perf_counter


def split_timing(build, repeats, warmup):
    """Per round: the seconds ``build()`` takes (the forward) and those its result's
    ``.backward()`` takes, measured back to back; returns (forward times, backward times)."""
    for _ in range(warmup):
        build().backward()
    fwd, bwd = [], []
    gc.collect()
    for _ in range(repeats):
        t0 = _perf()
        out = build()
        t1 = _perf()
        out.backward()
        t2 = _perf()
        fwd.append(t1 - t0)
        bwd.append(t2 - t1)
        del out
    return fwd, bwd


def bench_matvec(summary, repeats, warmup):
    section(f"matvec: (W @ x).sum(), W {N_MV}x{N_MV}, float32, backward / forward")
    rng = np.random.default_rng(0)
    W = rng.standard_normal((N_MV, N_MV)).astype(np.float32)
    x = rng.standard_normal(N_MV).astype(np.float32)
    for w_grad, label, headline in [(False, "x requires grad (backward: one W^T g)", True),
                                    (True, "W and x require grad (+ outer product g x^T)",
                                     False)]:
        Wt, xt = tg.tensor(W, requires_grad=w_grad), tg.tensor(x, requires_grad=True)

        def build():
            Wt.grad = xt.grad = None
            return (Wt @ xt).sum()
        fwd, bwd = split_timing(build, repeats, warmup)
        r = ratios(bwd, fwd)
        print(f"{label}:\n  forward  {fmt_us(fwd)}\n  backward {fmt_us(bwd)}\n"
              f"  backward / forward: {fmt_ratio(r)}")
        if headline:
            summary.add("matvec backward / forward (x grad)", f"{r[0]:.2f}x", "<= 2x", r[0] <= 2)
        else:
            summary.add("matvec backward / forward (W, x grad)", f"{r[0]:.2f}x", "info", None)
    g = np.broadcast_to(np.float32(1), (N_MV,))         # what sum's gradient hands matmul
    times = measure({"stride0": lambda: np.matmul(W.T, g),
                     "contiguous": lambda: np.matmul(W.T, np.ascontiguousarray(g))},
                    repeats, warmup)
    print(f"NumPy alone, W^T @ g: g a stride-0 broadcast {fmt_us(times['stride0'])}, "
          f"g contiguous {fmt_us(times['contiguous'])}  (why products copy such operands)")


def bench_einsum(summary, repeats, warmup):
    shapes = ", ".join(str(s) for s in EINSUM_SHAPES)
    section(f"einsum {EINSUM!r} on {shapes}, float32")
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in EINSUM_SHAPES]
    leaves = [tg.tensor(a, requires_grad=True) for a in arrays]
    plain = [tg.tensor(a) for a in arrays]
    path = np.einsum_path(EINSUM, *arrays, optimize="optimal")[0]

    def tg_fwd():
        tg.einsum(EINSUM, *leaves)

    def np_opt():
        np.einsum(EINSUM, *arrays, optimize=True)
    np.testing.assert_allclose(tg.einsum(EINSUM, *leaves).detach().numpy(),
                               np.einsum(EINSUM, *arrays, optimize=True), rtol=1e-4, atol=1e-4)
    times = measure({"tg": tg_fwd, "np": np_opt,
                     "tg_nograd": lambda: tg.einsum(EINSUM, *plain),
                     "np_path": lambda: np.einsum(EINSUM, *arrays, optimize=path)},
                    repeats, warmup)
    r = ratios(times["tg"], times["np"])
    print(f"tapegrad forward (recording)     {fmt_us(times['tg'])}")
    print(f"tapegrad forward (no grad)       {fmt_us(times['tg_nograd'])}")
    print(f"np.einsum(optimize=True)         {fmt_us(times['np'])}")
    print(f"np.einsum(optimize=<its path>)   {fmt_us(times['np_path'])}")
    print(f"tapegrad / np.einsum(optimize=True): {fmt_ratio(r)}")
    summary.add("einsum 3 operands / np.einsum(optimize=True)", f"{r[0]:.2f}x", "<= 1.1x",
                r[0] <= 1.1)

    def fwd_bwd():
        for t in leaves:
            t.grad = None
        tg.einsum(EINSUM, *leaves).sum().backward()

    A, B, C = arrays

    def np_fwd_bwd():          # the same products with hand-written gradients of the sum
        mT = lambda a: a.transpose(0, 2, 1)   # noqa: E731
        AB = A @ B
        out = AB @ C
        g = np.ones_like(out)
        gAB, _ = g @ mT(C), mT(AB) @ g
        _, _ = gAB @ mT(B), mT(A) @ gAB
    t = measure({"tg": fwd_bwd, "np": np_fwd_bwd}, repeats, warmup)
    r = ratios(t["tg"], t["np"])
    print(f"forward + backward: tapegrad {fmt_us(t['tg'])}, hand-written NumPy "
          f"{fmt_us(t['np'])}\n  ratio {fmt_ratio(r)}")
    summary.add("einsum fwd+bwd / hand-written NumPy", f"{r[0]:.2f}x", "info", None)


def main(argv=None):
    args = parse_args(__doc__, argv)
    repeats, warmup = (30, 5) if args.quick else (200, 20)
    with report() as summary:
        bench_matvec(summary, repeats, warmup)
        bench_einsum(summary, repeats, warmup)


if __name__ == "__main__":
    main()
