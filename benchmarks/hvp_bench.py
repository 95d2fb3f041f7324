#!/usr/bin/env python
"""Hessian-vector products and directional derivatives (issue 9's speed items 1 and 3).

1. f(x) = sum(tanh(W x)^2), W 512x512 float32: the plain gradient, and H v by double backward
   (autograd.grad with create_graph=True, then autograd.grad(g, x, grad_outputs=v)) and by
   forward-over-reverse (x made dual with tangent v, the gradient taken with
   create_graph=True, its tangent read back), against PyTorch's double backward in the same
   run. Target: both of tapegrad's HVPs at most 1.0x PyTorch's double backward.
2. A directional derivative of a 32-layer tanh MLP's loss (width 1024, batch 256): by forward
   mode (one pass with a dual input) and by a reverse pass (the gradient dotted with the
   direction); both times reported, and PyTorch's forward mode beside them.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
        python benchmarks/hvp_bench.py [--quick] [--cpu-time] [--hvp-only]

``--cpu-time`` times process CPU time (for a busy machine); ``--hvp-only`` skips part 2.

Measured with engine_bench.py's helpers: medians over interleaved repeats, same-run ratios.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_bench import (fmt_ms, fmt_us, measure, parse_args, print_times,  # noqa: E402
                          report, report_ratio, section, torch)

import tapegrad as tg  # noqa: E402
import tapegrad.autograd.forward_ad as fwAD  # noqa: E402

N = 512
DEPTH, WIDTH, BATCH = 32, 1024, 256
TARGET = 1.0


def hvp_case(lib, fw, W, x, v):
    """(gradient, double-backward HVP, forward-over-reverse HVP) closures for library lib."""
    grad = lib.autograd.grad

    def f(z):
        return (lib.tanh(W @ z) ** 2).sum()

    def plain():
        z = x.detach().requires_grad_()
        return grad(f(z), z)[0]

    def double():
        z = x.detach().requires_grad_()
        (g,) = grad(f(z), z, create_graph=True)
        return grad(g, z, grad_outputs=v)[0]

    def fwd_over_rev():
        with fw.dual_level():
            z = fw.make_dual(x.detach().requires_grad_(), v)
            (g,) = grad(f(z), z, create_graph=True)
            return fw.unpack_dual(g).tangent
    return plain, double, fwd_over_rev


def mlp_case(lib, fw, weights, x, v):
    """(forward-mode, reverse-mode) directional derivative closures of the MLP's loss."""
    def loss(h):
        for w in weights:
            h = lib.tanh(h @ w)
        return (h * h).mean()

    def forward():
        with fw.dual_level():
            return fw.unpack_dual(loss(fw.make_dual(x, v))).tangent

    def reverse():
        z = x.detach().requires_grad_()
        (g,) = lib.autograd.grad(loss(z), z)
        return (g * v).sum()
    return forward, reverse


def main():
    args = parse_args(__doc__, cpu_time=True, options=lambda p: p.add_argument(
        "--hvp-only", action="store_true", help="skip the MLP directional derivative"))
    repeats = args.repeats or (10 if args.quick else 60)
    rng = np.random.default_rng(0)
    W = (rng.standard_normal((N, N)) / np.sqrt(N)).astype(np.float32)
    x, v = rng.standard_normal(N).astype(np.float32), rng.standard_normal(N).astype(np.float32)
    with report() as summary:
        section(f"Hessian-vector product of sum(tanh(W x)^2), W {N}x{N} float32")
        ours = hvp_case(tg, fwAD, tg.tensor(W), tg.tensor(x), tg.tensor(v))
        fns = {"tapegrad grad": ours[0], "tapegrad double bwd": ours[1],
               "tapegrad fwd-over-rev": ours[2]}
        hvs = [ours[1]().numpy(), ours[2]().detach().numpy()]
        if torch is not None:
            import torch.autograd.forward_ad as tfw
            theirs = hvp_case(torch, tfw, torch.tensor(W), torch.tensor(x), torch.tensor(v))
            fns.update({"torch grad": theirs[0], "torch double bwd": theirs[1],
                        "torch fwd-over-rev": theirs[2]})
            hvs.append(theirs[1]().numpy())
        for h in hvs[1:]:
            assert np.allclose(h, hvs[0], rtol=1e-3, atol=1e-4), "the HVPs disagree"
        times = measure(fns, repeats, warmup=5)
        print_times(times, fmt_us)
        if torch is not None:
            report_ratio(summary, "double bwd / torch's", "HVP double backward / torch double",
                         times["tapegrad double bwd"], times["torch double bwd"], TARGET)
            report_ratio(summary, "fwd-over-rev / torch's", "HVP fwd-over-rev / torch double",
                         times["tapegrad fwd-over-rev"], times["torch double bwd"], TARGET)
            report_ratio(summary, "grad / torch's", "plain gradient / torch's",
                         times["tapegrad grad"], times["torch grad"])
        else:
            print("torch comparisons: skipped (torch not installed)")
        if args.hvp_only:
            return

        section(f"Directional derivative of a {DEPTH}-layer tanh MLP (width {WIDTH}, batch "
                f"{BATCH})")
        ws = [(rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH)).astype(np.float32)
              for _ in range(DEPTH)]
        xb = rng.standard_normal((BATCH, WIDTH)).astype(np.float32)
        vb = rng.standard_normal((BATCH, WIDTH)).astype(np.float32)
        fwd, rev = mlp_case(tg, fwAD, [tg.tensor(w) for w in ws], tg.tensor(xb), tg.tensor(vb))
        fns = {"tapegrad forward mode": fwd, "tapegrad reverse": rev}
        assert np.isclose(fwd().item(), rev().item(), rtol=1e-3)
        if torch is not None:
            import torch.autograd.forward_ad as tfw
            tf, tr = mlp_case(torch, tfw, [torch.tensor(w) for w in ws], torch.tensor(xb),
                              torch.tensor(vb))
            fns.update({"torch forward mode": tf, "torch reverse": tr})
        times = measure(fns, max(3, repeats // 10), warmup=1)
        print_times(times, fmt_ms)
        report_ratio(summary, "forward / reverse", "MLP directional derivative fwd / rev",
                     times["tapegrad forward mode"], times["tapegrad reverse"])
        if torch is not None:
            report_ratio(summary, "forward / torch's", "MLP forward mode / torch's forward",
                         times["tapegrad forward mode"], times["torch forward mode"])


if __name__ == "__main__":
    main()
