"""Causal scaled_dot_product_attention, forward + backward, at the issue's transformer block:
batch 8, 4 heads, sequence 64, head dim 32 (width 128), float32.

Compares, in the same run: tapegrad's F.scaled_dot_product_attention (the attention_softmax
primitive + matmul), the same attention written as a composite of tapegrad ops (matmul, mul,
add, amax, sub, exp, sum, div, matmul: what the primitive replaces), a hand-written NumPy
forward + backward, and PyTorch (when installed; on one thread). Prints medians (and minima)
over repeats and their ratios. On a shared machine read the ratios, not the times.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/sdpa_bench.py
"""
import argparse
import math
import time

import numpy as np

import tapegrad as tg
import tapegrad.nn.functional as F

B, H, L, E = 8, 4, 64, 32


def numpy_step(q, k, v, g, bias, scale):
    """Forward and backward of causal attention by hand: the floor for any NumPy library."""
    s = q @ k.swapaxes(-1, -2)
    s *= scale
    s += bias
    s -= s.max(-1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(-1, keepdims=True)
    out = s @ v
    gv = s.swapaxes(-1, -2) @ g
    gp = g @ v.swapaxes(-1, -2)
    gp -= (gp * s).sum(-1, keepdims=True)
    gp *= s
    gp *= scale
    return out, gp @ k, gp.swapaxes(-1, -2) @ q, gv


def composite_sdpa(q, k, v, bias, scale):
    """Causal attention from tapegrad ops, softmax spelled out (max-shifted)."""
    s = tg.matmul(q, k.transpose(-2, -1)) * scale + bias
    e = (s - s.amax(-1, keepdim=True).detach()).exp()
    return tg.matmul(e / e.sum(-1, keepdim=True), v)


def timed(fns, repeats, number):
    """Median seconds per call of each function, timed round-robin (each repeat times every
    function once), so load changes on a shared machine hit all of them alike."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            times[name].append((time.perf_counter() - t0) / number)
    return {name: (float(np.median(t)), min(t)) for name, t in times.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--number", type=int, default=10)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((B, H, L, E)).astype(np.float32) for _ in range(3)]
    g = rng.standard_normal((B, H, L, E)).astype(np.float32)
    scale = 1.0 / math.sqrt(E)
    bias = np.triu(np.full((L, L), -np.inf, np.float32), 1)
    q, k, v = (tg.tensor(a, requires_grad=True) for a in arrays)
    gt = tg.tensor(g)

    def tapegrad_step():
        for t in (q, k, v):
            t.grad = None
        F.scaled_dot_product_attention(q, k, v, is_causal=True).backward(gt)

    def composite_step():
        for t in (q, k, v):
            t.grad = None
        composite_sdpa(q, k, v, bias, scale).backward(gt)

    fns = {
        "numpy (hand-written)": lambda: numpy_step(*arrays, g, bias, scale),
        "tapegrad F.sdpa": tapegrad_step,
        "tapegrad composite": composite_step,
    }
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(1)
        tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in arrays)
        tg_ = torch.tensor(g)

        def torch_step():
            for t in (tq, tk, tv):
                t.grad = None
            torch.nn.functional.scaled_dot_product_attention(
                tq, tk, tv, is_causal=True).backward(tg_)
        fns["torch (1 thread)"] = torch_step
    results = timed(fns, args.repeats, args.number)

    # same numbers from tapegrad and NumPy
    ref = numpy_step(*arrays, g, bias, scale)
    tapegrad_step()
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True).detach().numpy()
    for got, want in zip([out, q.grad.numpy(), k.grad.numpy(), v.grad.numpy()], ref):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)

    print(f"causal SDPA forward+backward, ({B}, {H}, {L}, {E}) float32, median of "
          f"{args.repeats} x {args.number}")
    print(f"  {'':22s} {'median':>9s}    {'min':>9s}     tapegrad F.sdpa / this (median, min)")
    base, base_min = results["tapegrad F.sdpa"]
    for name, (t, t_min) in results.items():
        print(f"  {name:22s} {t * 1e6:9.1f} us {t_min * 1e6:9.1f} us   "
              f"{base / t:5.2f}x {base_min / t_min:5.2f}x")


if __name__ == "__main__":
    main()
