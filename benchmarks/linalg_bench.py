#!/usr/bin/env python
"""Linear-algebra benchmarks for tapegrad: batched solve forward+backward against the same
computation with hand-written NumPy gradients. A script, not a test; see benchmarks/README.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/linalg_bench.py [--quick]

Measured with engine_bench.py's helpers: medians over interleaved repeats, same-run ratios
(the headline is the median of the per-round ratios), and a PASS/MISS summary at the end.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_bench import (fmt_ms, measure, parse_args, report, report_ratio, section)  # noqa: E402

import tapegrad as tg  # noqa: E402

BATCH, N, K = 64, 128, 8     # 64 systems of size 128, right-hand sides of 8 columns
TARGET = 1.2


def numpy_solve_fwdbwd(A, B, W):
    """loss = sum(solve(A, B) * W) and its gradients, by hand: gB = solve(A^T, W),
    gA = -gB X^T. A batch of vectors B (..., n) is solved as (..., n, 1) matrices, as NumPy 2
    requires."""
    vector = B.ndim == A.ndim - 1
    if vector:
        B, W = B[..., None], W[..., None]
    X = np.linalg.solve(A, B)
    loss = (X * W).sum()
    gB = np.linalg.solve(np.swapaxes(A, -1, -2), W)
    gA = -gB @ np.swapaxes(X, -1, -2)
    return loss, gA, (gB[..., 0] if vector else gB)


def bench_solve(summary, repeats, warmup, vector):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((BATCH, N, N)) + N ** 0.5 * np.eye(N)
    B = rng.standard_normal((BATCH, N) if vector else (BATCH, N, K))
    W = rng.standard_normal(B.shape)
    a, b = tg.tensor(A, requires_grad=True), tg.tensor(B, requires_grad=True)
    w = tg.tensor(W)

    def tg_fwdbwd():
        a.grad = b.grad = None
        (tg.linalg.solve(a, b) * w).sum().backward()

    def np_fwdbwd():
        numpy_solve_fwdbwd(A, B, W)

    # the two must agree before they are timed
    tg_fwdbwd()
    _, gA, gB = numpy_solve_fwdbwd(A, B, W)
    np.testing.assert_allclose(a.grad.numpy(), gA, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), gB, rtol=1e-9, atol=1e-12)

    rhs = f"({BATCH}, {N})" if vector else f"({BATCH}, {N}, {K})"
    section(f"linalg.solve fwd+bwd, A ({BATCH}, {N}, {N}) float64, B {rhs}")
    times = measure({"tapegrad": tg_fwdbwd, "numpy": np_fwdbwd}, repeats, warmup)
    print(f"tapegrad fwd+bwd       {fmt_ms(times['tapegrad'])}")
    print(f"numpy hand-written     {fmt_ms(times['numpy'])}")
    report_ratio(summary, "tapegrad / numpy", f"solve fwd+bwd, B {rhs}, vs NumPy",
                 times["tapegrad"], times["numpy"], TARGET)


def main(argv=None):
    args = parse_args(__doc__, argv)
    repeats, warmup = (7, 2) if args.quick else (31, 3)
    with report() as summary:
        bench_solve(summary, repeats, warmup, vector=False)
        bench_solve(summary, repeats, warmup, vector=True)


if __name__ == "__main__":
    main()
