#!/usr/bin/env python
"""CNN training step: tapegrad against PyTorch and a hand-written NumPy im2col version.

The network of issue 6: conv2d 1->32 3x3, relu, conv2d 32->64 3x3, relu, max_pool2d 2,
linear to 10, cross-entropy; a batch of 64 28x28 float32 images; forward, backward and an
SGD update. Also the peak memory of tapegrad's step (tracemalloc) against the sum of the
activations the step must hold. A script, not a test; see benchmarks/README.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/cnn_step.py [--quick]

On a busy machine, single-threaded with the process's CPU time as the clock is steadier:

    export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/cnn_step.py --cpu-time
"""
import os
import sys
import tracemalloc

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_bench import (fmt_ratio, measure, parse_args, print_times, ratios,  # noqa: E402
                          report, report_ratio, section, torch)


import tapegrad as tg  # noqa: E402
import tapegrad.nn.functional as F  # noqa: E402

BATCH, SIDE, CLASSES, LR = 64, 28, 10, 0.01
TARGET_VS_TORCH, TARGET_VS_NUMPY = 1.5, 1.0


def init_params(rng):
    """(w1, b1, w2, b2, w3, b3) in PyTorch's layouts, float32."""
    def u(shape, fan_in):
        bound = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape).astype(np.float32)
    flat = 64 * 12 * 12
    return [u((32, 1, 3, 3), 9), u((32,), 9), u((64, 32, 3, 3), 288), u((64,), 288),
            u((CLASSES, flat), flat), u((CLASSES,), flat)]


def step(lib, fn, params, x, y):
    """One SGD step, written once for tapegrad and torch (``fn`` is nn.functional)."""
    w1, b1, w2, b2, w3, b3 = params
    h = fn.relu(fn.conv2d(x, w1, b1))
    h = fn.relu(fn.conv2d(h, w2, b2))
    h = fn.max_pool2d(h, 2)
    loss = fn.cross_entropy(fn.linear(h.flatten(1), w3, b3), y)
    loss.backward()
    with lib.no_grad():
        for p in params:
            p -= LR * p.grad
            p.grad = None
    return loss


class NumpyCNN:
    """The same step by hand: NHWC activations, im2col by sliding_window_view + reshape (a
    copy), one GEMM per layer, col2im by nine shifted adds, the pool's gradient by a mask."""

    def __init__(self, params):
        w1, b1, w2, b2, w3, b3 = (p.copy() for p in params)
        # (kh, kw, cin, cout) weights match NHWC windows; the linear layer reads the pooled
        # map in NHWC order, so its weight's columns are permuted to match PyTorch's flatten.
        self.w1 = w1.transpose(2, 3, 1, 0).reshape(9, 32)
        self.w2 = w2.transpose(2, 3, 1, 0).reshape(9 * 32, 64)
        self.w3 = w3.reshape(CLASSES, 64, 12, 12).transpose(2, 3, 1, 0).reshape(-1, CLASSES)
        self.w3 = self.w3.copy()
        self.b1, self.b2, self.b3 = b1, b2, b3

    @staticmethod
    def im2col(a):
        n, h, w, c = a.shape
        win = sliding_window_view(a, (3, 3), axis=(1, 2))          # (n, h-2, w-2, c, 3, 3)
        return win.transpose(0, 1, 2, 4, 5, 3).reshape(n * (h - 2) * (w - 2), 9 * c)

    @staticmethod
    def col2im(cols, shape):
        n, h, w, c = shape
        cols = cols.reshape(n, h - 2, w - 2, 3, 3, c)
        out = np.zeros(shape, cols.dtype)
        for i in range(3):
            for j in range(3):
                out[:, i:i + h - 2, j:j + w - 2, :] += cols[:, :, :, i, j, :]
        return out

    def step(self, x, y):
        n = x.shape[0]
        a0 = x.reshape(n, SIDE, SIDE, 1)
        c1 = self.im2col(a0)                                          # (n*676, 9)
        z1 = (c1 @ self.w1 + self.b1).reshape(n, 26, 26, 32)
        a1 = np.maximum(z1, 0)
        c2 = self.im2col(a1)                                          # (n*576, 288)
        z2 = (c2 @ self.w2 + self.b2).reshape(n, 24, 24, 64)
        a2 = np.maximum(z2, 0)
        blocks = a2.reshape(n, 12, 2, 12, 2, 64)
        pooled = blocks.max(axis=(2, 4))
        flat = pooled.reshape(n, -1)
        logits = flat @ self.w3 + self.b3
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        loss = (np.log(s)[:, 0] - shifted[np.arange(n), y]).mean()
        # backward
        dlogits = e / s
        dlogits[np.arange(n), y] -= 1
        dlogits /= n
        dw3, db3 = flat.T @ dlogits, dlogits.sum(0)
        dpooled = (dlogits @ self.w3.T).reshape(n, 12, 1, 12, 1, 64)
        mask = blocks == pooled.reshape(n, 12, 1, 12, 1, 64)
        dz2 = (mask * dpooled).reshape(n, 24, 24, 64) * (z2 > 0)
        dz2 = dz2.reshape(-1, 64)
        dw2, db2 = c2.T @ dz2, dz2.sum(0)
        da1 = self.col2im(dz2 @ self.w2.T, a1.shape)
        dz1 = (da1 * (z1 > 0)).reshape(-1, 32)
        dw1, db1 = c1.T @ dz1, dz1.sum(0)
        for p, g in ((self.w1, dw1), (self.b1, db1), (self.w2, dw2), (self.b2, db2),
                     (self.w3, dw3), (self.b3, db3)):
            p -= LR * g
        return loss


def bench_step(summary, repeats, warmup):
    rng = np.random.default_rng(0)
    params = init_params(rng)
    X = rng.standard_normal((BATCH, 1, SIDE, SIDE)).astype(np.float32)
    Y = rng.integers(0, CLASSES, BATCH)

    tg_params = [tg.tensor(p, requires_grad=True) for p in params]
    tg_x, tg_y = tg.tensor(X), tg.tensor(Y)
    ours = NumpyCNN(params)
    losses = {"tapegrad": step(tg, F, tg_params, tg_x, tg_y).item(),
              "numpy": float(ours.step(X, Y))}
    fns = {"tapegrad": lambda: step(tg, F, tg_params, tg_x, tg_y),
           "numpy": lambda: ours.step(X, Y)}
    if torch is not None:
        th_params = [torch.tensor(p, requires_grad=True) for p in params]
        th_x, th_y = torch.tensor(X), torch.tensor(Y)
        losses["torch"] = step(torch, torch.nn.functional, th_params, th_x, th_y).item()
        fns["torch"] = lambda: step(torch, torch.nn.functional, th_params, th_x, th_y)
    # the first step's losses agree before anything is timed
    for name, value in losses.items():
        assert abs(value - losses["numpy"]) < 1e-4, (name, value, losses["numpy"])

    section(f"CNN step: conv 1->32 3x3, relu, conv 32->64 3x3, relu, max_pool 2, linear 10, "
            f"cross-entropy, SGD; batch {BATCH} of {SIDE}x{SIDE} float32")
    times = measure(fns, repeats, warmup)
    print_times(times)
    report_ratio(summary, "tapegrad / numpy im2col", "CNN step vs NumPy im2col",
                 times["tapegrad"], times["numpy"], TARGET_VS_NUMPY)
    if torch is not None:
        r_th = ratios(times["tapegrad"], times["torch"])
        print(f"tapegrad / torch       {fmt_ratio(r_th)}")
        r_ref = ratios(times["torch"], times["numpy"])
        print(f"torch / numpy im2col   {fmt_ratio(r_ref)}")
        summary.add("CNN step vs torch", f"{r_th[0]:.3f}x", f"<= {TARGET_VS_TORCH:.2f}x",
                    r_th[0] <= TARGET_VS_TORCH)
    else:
        print("torch comparison skipped (torch not installed)")
    return tg_params, tg_x, tg_y


def bench_memory(summary, tg_params, tg_x, tg_y):
    """Peak traced memory of one tapegrad step over what was live before it, against the
    activations the backward needs: input, both conv outputs, both relu outputs, the pooled
    map and the logits (float32)."""
    n = BATCH
    activations = 4 * n * (SIDE * SIDE + 2 * 32 * 26 * 26 + 2 * 64 * 24 * 24 + 64 * 12 * 12
                           + CLASSES)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    step(tg, F, tg_params, tg_x, tg_y)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    section("CNN step peak memory (tracemalloc)")
    print(f"peak during the step   {peak / 2**20:8.1f} MiB")
    print(f"sum of activations     {activations / 2**20:8.1f} MiB")
    print(f"peak / activations     {peak / activations:8.2f}x")
    summary.add("CNN step peak memory / activations", f"{peak / activations:.2f}x", "(info)",
                None)


def main(argv=None):
    args = parse_args(__doc__, argv, cpu_time=True)
    repeats, warmup = (5, 1) if args.quick else (21, 3)
    repeats = args.repeats or repeats
    with report() as summary:
        tg_params, tg_x, tg_y = bench_step(summary, repeats, warmup)
        bench_memory(summary, tg_params, tg_x, tg_y)


if __name__ == "__main__":
    main()
