#!/usr/bin/env python
"""Normalization benchmarks for tapegrad.nn.functional: layer_norm and batch_norm (training),
forward + backward, against PyTorch (when installed) and a hand-written NumPy forward and
backward of the same computation. A script, not a test; see benchmarks/README.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/norm_bench.py [--quick]
        [--torch-threads N]

1. layer_norm over the last dim of (8 * 64, 128) float32 (a transformer block's activations:
   batch 8, sequence 64, width 128), with weight and bias; gradients of x, weight and bias.
2. batch_norm in training on (64, 32, 26, 26) float32 (the CNN's first conv output), with
   weight, bias and running statistics updated; gradients of x, weight and bias.

Measured as in engine_bench.py (whose helpers this imports): medians over repeats after
warm-up runs, the sides of each ratio interleaved round by round, the headline ratio the
median of the per-round ratios.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tapegrad as tg  # noqa: E402
import tapegrad.nn.functional as F  # noqa: E402
from engine_bench import (fmt_ratio, fmt_us, measure, med, parse_args, ratios,  # noqa: E402
                          report, section, torch)

EPS = 1e-5
LN_SHAPE = (8 * 64, 128)
BN_SHAPE = (64, 32, 26, 26)


# ---- hand-written NumPy ----------------------------------------------------------------------
def numpy_layer_norm(x, w, b, g):
    """Forward and backward of layer_norm over the last dim: (gx, gw, gb)."""
    mu = x.mean(-1, keepdims=True)
    d = x - mu
    rstd = 1.0 / np.sqrt((d * d).mean(-1, keepdims=True) + EPS)
    xhat = d * rstd
    out = xhat * w + b
    gb = g.sum(0)
    gw = (g * xhat).sum(0)
    gy = g * w
    gx = rstd * (gy - gy.mean(-1, keepdims=True) - xhat * (gy * xhat).mean(-1, keepdims=True))
    return out, gx, gw, gb


def numpy_batch_norm(x, w, b, rm, rv, g, momentum=0.1):
    """Forward (with the running-statistics update) and backward of batch_norm in training."""
    axes = (0, 2, 3)
    n = x.size // x.shape[1]
    mu = x.mean(axes, keepdims=True)
    d = x - mu
    var = (d * d).mean(axes, keepdims=True)
    rstd = 1.0 / np.sqrt(var + EPS)
    xhat = d * rstd
    out = xhat * w.reshape(1, -1, 1, 1) + b.reshape(1, -1, 1, 1)
    rm *= 1 - momentum
    rm += momentum * mu.ravel()
    rv *= 1 - momentum
    rv += momentum * var.ravel() * n / (n - 1)
    gb = g.sum(axes)
    gw = (g * xhat).sum(axes)
    gy = g * w.reshape(1, -1, 1, 1)
    gx = rstd * (gy - gy.mean(axes, keepdims=True)
                 - xhat * (gy * xhat).mean(axes, keepdims=True))
    return out, gx, gw, gb


# ---- the cases -----------------------------------------------------------------------------
def _tensors(lib, arrays):
    return [lib.tensor(a.copy(), requires_grad=True) for a in arrays]


def _case(summary, label, repeats, warmup, arrays, g, tg_fn, torch_fn, np_fn, check):
    """Time tapegrad and NumPy interleaved on the same arrays, then PyTorch (if installed) in
    a block of its own; report the ratios."""
    xs_tg = _tensors(tg, arrays)
    g_tg = tg.tensor(g)

    def run_tg():
        for t in xs_tg:
            t.grad = None
        tg_fn(*xs_tg).backward(g_tg)

    run_tg()
    check(xs_tg, np_fn(*arrays, g))        # same numbers before timing them
    times = measure({"tapegrad": run_tg, "numpy": lambda: np_fn(*arrays, g)}, repeats, warmup)
    print(f"  {repeats} repeats, {warmup} warm-ups, tapegrad and NumPy interleaved")
    for name, ts in times.items():
        print(f"  {name:9s} {fmt_us(ts)}")
    r = ratios(times["tapegrad"], times["numpy"])
    print(f"  tapegrad / NumPy: {fmt_ratio(r)}")
    summary.add(f"{label}: tapegrad / NumPy", f"{r[0]:.2f}x", "info", None)
    if torch is None:
        print("  torch: skipped (torch not installed)")
        return
    # Timed apart from the NumPy pair: idle OpenMP/OpenBLAS worker threads spin for a while
    # after a parallel region, and on a small machine they would slow the other library down.
    xs_torch = _tensors(torch, arrays)
    g_torch = torch.tensor(g)

    def run_torch():
        for t in xs_torch:
            t.grad = None
        torch_fn(*xs_torch).backward(g_torch)
    ttimes = measure({"torch": run_torch}, repeats, warmup)["torch"]
    r = med(times["tapegrad"]) / med(ttimes)
    print(f"  {'torch':9s} {fmt_us(ttimes)}  (separate run, {torch.get_num_threads()} threads; "
          f"tapegrad / torch {r:.2f}x, not interleaved)")
    summary.add(f"{label}: tapegrad / PyTorch", f"{r:.2f}x", "info", None)


def _grads_match(xs, ref):
    for t, want in zip(xs, ref[1:]):
        np.testing.assert_allclose(t.grad.numpy(), want, rtol=1e-3, atol=1e-3)


def bench_layer_norm(summary, repeats, warmup):
    section(f"layer_norm over the last dim of {LN_SHAPE} float32, weight and bias, fwd+bwd")
    rng = np.random.default_rng(0)
    x = rng.standard_normal(LN_SHAPE).astype(np.float32)
    w = rng.uniform(0.5, 1.5, LN_SHAPE[1]).astype(np.float32)
    b = rng.standard_normal(LN_SHAPE[1]).astype(np.float32)
    g = rng.standard_normal(LN_SHAPE).astype(np.float32)
    width = [LN_SHAPE[1]]
    torch_ln = torch.nn.functional.layer_norm if torch is not None else None
    _case(summary, "layer_norm", repeats, warmup, [x, w, b], g,
          lambda x, w, b: F.layer_norm(x, width, w, b, EPS),
          lambda x, w, b: torch_ln(x, width, w, b, EPS), numpy_layer_norm, _grads_match)


def bench_batch_norm(summary, repeats, warmup):
    section(f"batch_norm training on {BN_SHAPE} float32, weight, bias, running stats, fwd+bwd")
    rng = np.random.default_rng(1)
    c = BN_SHAPE[1]
    x = rng.standard_normal(BN_SHAPE).astype(np.float32)
    w = rng.uniform(0.5, 1.5, c).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    g = rng.standard_normal(BN_SHAPE).astype(np.float32)
    stats = {"tg": (tg.zeros(c), tg.ones(c)), "np": (np.zeros(c, np.float32),
                                                    np.ones(c, np.float32))}
    if torch is not None:
        stats["torch"] = (torch.zeros(c), torch.ones(c))
        torch_bn = torch.nn.functional.batch_norm
    _case(summary, "batch_norm", repeats, warmup, [x, w, b], g,
          lambda x, w, b: F.batch_norm(x, *stats["tg"], w, b, training=True, eps=EPS),
          lambda x, w, b: torch_bn(x, *stats["torch"], w, b, training=True, eps=EPS),
          lambda x, w, b, g: numpy_batch_norm(x, w, b, *stats["np"], g), _grads_match)


def main(argv=None):
    def options(parser):
        parser.add_argument("--torch-threads", type=int, default=None,
                            help="PyTorch's intra-op threads (default: its own choice); 1 gives "
                                 "steadier figures on a busy shared machine")
    args = parse_args(__doc__, argv, options=options)
    if torch is not None and args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    repeats, warmup = (10, 2) if args.quick else (40, 5)
    with report() as summary:
        bench_layer_norm(summary, repeats, warmup)
        bench_batch_norm(summary, repeats, warmup)


if __name__ == "__main__":
    main()
