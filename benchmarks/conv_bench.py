#!/usr/bin/env python
"""Convolution benchmark: the two conv layers of the issue's CNN, forward + backward.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/conv_bench.py [--quick]

conv2d 1->32 3x3 on a batch of 64 1x28x28 images, relu, conv2d 32->64 3x3 on the 32x26x26
result; a fixed cotangent for the output, gradients w.r.t. both weights, both biases and the
second layer's input. float32. Compared in the same rounds with a hand-written NumPy im2col
version (sliding_window_view + reshape-copy + GEMM forward, GEMM + col2im backward) and
with PyTorch when it is installed (measured in its own block, as engine_bench.py explains).
Also the peak memory (tracemalloc) of one fwd+bwd against the activations it must hold.
Measured as in engine_bench.py (whose helpers this imports). On a busy machine, two BLAS
threads contending with other processes make the timings erratic (the many small GEMMs of the
NumPy version suffer most); OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 gives steadier ratios.
"""
import gc
import os
import sys
import tracemalloc

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tapegrad as tg  # noqa: E402
import tapegrad.nn.functional as F  # noqa: E402
from engine_bench import (fmt_ratio, measure, med, parse_args, ratios, report,  # noqa: E402
                          section, torch)

N, C1, C2, HW, K = 64, 32, 64, 28, 3


def make_inputs():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, 1, HW, HW)).astype(np.float32)
    w1 = (rng.standard_normal((C1, 1, K, K)) / 3).astype(np.float32)
    b1 = (rng.standard_normal(C1) / 10).astype(np.float32)
    w2 = (rng.standard_normal((C2, C1, K, K)) / 17).astype(np.float32)
    b2 = (rng.standard_normal(C2) / 10).astype(np.float32)
    out = HW - 2 * (K - 1)
    g = rng.standard_normal((N, C2, out, out)).astype(np.float32)
    return x, w1, b1, w2, b2, g


# ---- the hand-written NumPy version ---------------------------------------------------------
def im2col(x):
    """(N, C, H, W) -> (N, C*K*K, Ho*Wo): the windows' view, copied by one reshape."""
    n, c, h, w = x.shape
    win = sliding_window_view(x, (K, K), axis=(2, 3))        # (N, C, Ho, Wo, K, K)
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * K * K, -1)


def col2im(cols, shape):
    """im2col's adjoint: add each kernel tap's rows back at its shifted place."""
    n, c, h, w = shape
    ho, wo = h - K + 1, w - K + 1
    blocks = cols.reshape(n, c, K, K, ho, wo)
    out = np.zeros(shape, cols.dtype)
    for i in range(K):
        for j in range(K):
            out[:, :, i:i + ho, j:j + wo] += blocks[:, :, i, j]
    return out


def numpy_step(x, w1, b1, w2, b2, g):
    """Forward and backward of conv-relu-conv; returns the five gradients."""
    n = x.shape[0]
    cols1 = im2col(x)
    y1 = w1.reshape(C1, -1) @ cols1 + b1[:, None]               # (N, C1, P1)
    h = HW - K + 1
    a1 = np.maximum(y1, 0).reshape(n, C1, h, h)
    cols2 = im2col(a1)
    y2 = w2.reshape(C2, -1) @ cols2 + b2[:, None]               # (N, C2, P2): the output
    del y2
    g2 = g.reshape(n, C2, -1)
    gw2 = (g2 @ cols2.transpose(0, 2, 1)).sum(0).reshape(w2.shape)
    gb2 = g2.sum((0, 2))
    ga1 = col2im(w2.reshape(C2, -1).T @ g2, a1.shape)
    gy1 = (ga1.reshape(n, C1, -1) * (y1 > 0))
    gw1 = (gy1 @ cols1.transpose(0, 2, 1)).sum(0).reshape(w1.shape)
    gb1 = gy1.sum((0, 2))
    return gw1, gb1, gw2, gb2, ga1


# ---- tapegrad and torch -------------------------------------------------------------------------
def lib_step(lib, conv, x, w1, b1, w2, b2, g):
    """Forward and backward through ``lib``; the second layer's input keeps its grad."""
    a1 = lib.relu(conv(x, w1, b1))
    a1.retain_grad()
    conv(a1, w2, b2).backward(g)
    return a1


def tensors(lib, arrays):
    x, w1, b1, w2, b2, g = arrays
    params = [lib.tensor(a, requires_grad=True) for a in (w1, b1, w2, b2)]
    return [lib.tensor(x)] + params + [lib.tensor(g)]


def check_same(arrays, tg_args):
    """The tapegrad gradients equal the NumPy version's (float32 tolerance)."""
    a1 = lib_step(tg, F.conv2d, *tg_args)
    ours = [t.grad.numpy() for t in tg_args[1:5]] + [a1.grad.numpy()]
    for k, (a, b) in enumerate(zip(ours, numpy_step(*arrays))):
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-3, err_msg=f"gradient {k}")
    for t in tg_args[1:5]:
        t.grad = None


def bench_speed(summary, repeats, warmup):
    section("conv2d 1->32 3x3, relu, conv2d 32->64 3x3; batch 64 of 28x28, float32, fwd+bwd")
    arrays = make_inputs()
    tg_args = tensors(tg, arrays)
    check_same(arrays, tg_args)

    def tg_run():
        lib_step(tg, F.conv2d, *tg_args)
        for t in tg_args[1:5]:
            t.grad = None

    times = measure({"tapegrad": tg_run, "numpy": lambda: numpy_step(*arrays)}, repeats,
                    warmup)
    r = ratios(times["tapegrad"], times["numpy"])
    print(f"tapegrad  {med(times['tapegrad']) * 1e3:8.2f} ms (min "
          f"{min(times['tapegrad']) * 1e3:.2f})")
    print(f"numpy     {med(times['numpy']) * 1e3:8.2f} ms (min {min(times['numpy']) * 1e3:.2f})")
    print(f"tapegrad / numpy im2col: {fmt_ratio(r)}")
    summary.add("conv layers fwd+bwd: tapegrad / numpy im2col", f"{r[0]:.2f}x", "<= 1.0x",
                r[0] <= 1.0)
    if torch is None:
        print("torch: skipped (torch not installed)")
        return
    t_args = tensors(torch, arrays)

    def torch_run():
        lib_step(torch, torch.nn.functional.conv2d, *t_args)
        for t in t_args[1:5]:
            t.grad = None

    t_times = measure({"torch": torch_run}, repeats, warmup)["torch"]
    print(f"torch     {med(t_times) * 1e3:8.2f} ms (min {min(t_times) * 1e3:.2f}), "
          "measured in its own block")
    rt = med(times["tapegrad"]) / med(t_times)
    print(f"tapegrad / torch: {rt:.2f}x (medians); torch / numpy: "
          f"{med(t_times) / med(times['numpy']):.2f}x")
    summary.add("conv layers fwd+bwd: tapegrad / torch", f"{rt:.2f}x", "<= 1.5x (CNN step)",
                rt <= 1.5)


def peak(fn):
    """Peak bytes tracemalloc sees while ``fn`` runs, above what was held before."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    top = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return top - base


def bench_memory(summary):
    section("peak memory of one fwd+bwd (tracemalloc) against the activations held")
    arrays = make_inputs()
    tg_args = tensors(tg, arrays)
    h, o = HW - K + 1, HW - 2 * (K - 1)
    # What backward must keep: conv1's output (relu's mask), relu's output (conv2's input,
    # for its weight gradient) and conv2's output, all float32.
    held = 4 * N * (2 * C1 * h * h + C2 * o * o)
    ours = peak(lambda: lib_step(tg, F.conv2d, *tg_args))
    theirs = peak(lambda: numpy_step(*arrays))
    mb = 1 / 2 ** 20
    print(f"activations held: {held * mb:.1f} MiB")
    print(f"tapegrad peak:    {ours * mb:.1f} MiB ({ours / held:.2f}x the activations)")
    print(f"numpy peak:       {theirs * mb:.1f} MiB ({theirs / held:.2f}x the activations)")
    summary.add("conv layers peak memory / activations", f"{ours / held:.2f}x",
                f"numpy im2col: {theirs / held:.2f}x", None)


def main(argv=None):
    args = parse_args(__doc__, argv)
    repeats, warmup = (5, 1) if args.quick else (20, 3)
    with report() as summary:
        bench_speed(summary, repeats, warmup)
        bench_memory(summary)


if __name__ == "__main__":
    main()
