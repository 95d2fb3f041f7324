"""Pooling forward+backward against hand-written NumPy and PyTorch (when installed).

Two cases on the issue's CNN activation, a (64, 64, 24, 24) float32 tensor:
  * max_pool2d(2): NumPy forward is a reshape-max, its backward a mask of the argmax (x equal
    to the upsampled max) times the upsampled cotangent;
  * avg_pool2d(3, stride=1, padding=1): NumPy forward is a zero pad and 9 shifted adds / 9,
    its backward the 9 shifted adds of g / 9 cropped.
Each library's step is out = pool(x); out.backward(g) (NumPy: both functions). Prints the
median of each over repeats and the ratios taken in the same run. Run with
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/pool_bench.py
"""
import statistics
import sys
import time

import numpy as np

import tapegrad as tg
import tapegrad.nn.functional as F

try:
    import torch
except ImportError:          # the comparison is skipped without it
    torch = None

SHAPE = (64, 64, 24, 24)
REPEATS = 15


def median_ms(step, repeats=REPEATS):
    step()                                   # warm up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


# ---- hand-written NumPy ---------------------------------------------------------------------
def numpy_max_pool(x, g):
    n, c, h, w = x.shape
    win = x.reshape(n, c, h // 2, 2, w // 2, 2)
    out = win.max(axis=(3, 5))
    mask = win == out[:, :, :, None, :, None]
    dx = (mask * g[:, :, :, None, :, None]).reshape(x.shape)
    return out, dx


def numpy_avg_pool(x, g):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros_like(x)
    for i in range(3):
        for j in range(3):
            out += xp[:, :, i:i + h, j:j + w]
    out /= 9
    gp = np.zeros_like(xp)
    for i in range(3):
        for j in range(3):
            gp[:, :, i:i + h, j:j + w] += g
    return out, gp[:, :, 1:-1, 1:-1] / 9


def tapegrad_step(pool, x, g):
    def step():
        x.grad = None
        pool(x).backward(g)
    return step


def torch_step(pool, x, g):
    def step():
        x.grad = None
        pool(x).backward(g)
    return step


def run(name, tg_pool, np_pool, torch_pool, out_shape, rng):
    x = rng.standard_normal(SHAPE).astype(np.float32)
    g = rng.standard_normal(out_shape).astype(np.float32)
    xt = tg.tensor(x, requires_grad=True)
    gt = tg.tensor(g)
    # the three agree before they are timed
    tg_pool(xt).backward(gt)
    out, dx = np_pool(x, g)
    np.testing.assert_allclose(tg_pool(xt).detach().numpy(), out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(xt.grad.numpy(), dx, rtol=1e-4, atol=1e-5)
    t_tg = median_ms(tapegrad_step(tg_pool, xt, gt))
    t_np = median_ms(lambda: np_pool(x, g))
    print(f"{name}")
    print(f"  tapegrad fwd+bwd  {t_tg:8.2f} ms")
    print(f"  NumPy    fwd+bwd  {t_np:8.2f} ms   tapegrad / NumPy = {t_tg / t_np:5.2f}")
    if torch is not None:
        xo = torch.tensor(x, requires_grad=True)
        go = torch.tensor(g)
        t_to = median_ms(torch_step(torch_pool, xo, go))
        print(f"  torch    fwd+bwd  {t_to:8.2f} ms   tapegrad / torch = {t_tg / t_to:5.2f}")
    else:
        print("  torch: skipped (torch not installed)")


def main():
    rng = np.random.default_rng(0)
    n, c, h, w = SHAPE
    print(f"pooling on a {SHAPE} float32 tensor; medians of {REPEATS} runs")
    run("max_pool2d(2)", lambda x: F.max_pool2d(x, 2), numpy_max_pool,
        torch and (lambda x: torch.nn.functional.max_pool2d(x, 2)), (n, c, h // 2, w // 2),
        rng)
    run("avg_pool2d(3, stride=1, padding=1)", lambda x: F.avg_pool2d(x, 3, 1, 1),
        numpy_avg_pool, torch and (lambda x: torch.nn.functional.avg_pool2d(x, 3, 1, 1)),
        SHAPE, rng)
    return 0


if __name__ == "__main__":
    sys.exit(main())
