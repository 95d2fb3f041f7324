#!/usr/bin/env python
"""MLP training step: 784-512-512-10, ReLU, F.cross_entropy, batch 128, float32; forward,
backward and an SGD update written as PyTorch users write it (optimizer.zero_grad(),
loss.backward(), optimizer.step() with optim.SGD; `--manual-update` instead updates by hand,
p -= lr * p.grad under no_grad). Compared in
the same run against the same step written by hand in NumPy (GEMMs, the fused softmax
cross-entropy gradient, in-place updates) and against PyTorch when it is installed.
A script, not a test; see benchmarks/README.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/mlp_step.py [--quick]

On a busy machine, single-threaded with the process's CPU time as the clock is steadier:

    export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/mlp_step.py --cpu-time

Measured with engine_bench.py's helpers: medians over interleaved repeats, same-run ratios
(the headline is the median of the per-round ratios). Target: tapegrad at most 1.10x the
hand-written NumPy step.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_bench import (fmt_ms, fmt_ratio, measure, med, parse_args, ratios,  # noqa: E402
                          report, section, torch)

import tapegrad as tg  # noqa: E402
import tapegrad.nn.functional as F  # noqa: E402

SIZES = (784, 512, 512, 10)
BATCH = 128
LR = 0.01
TARGET = 1.10


def init_params(rng):
    """(W, b) per layer, PyTorch's nn.Linear layout: W is (out, in)."""
    params = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1 / np.sqrt(n_in)
        params.append(rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, n_out).astype(np.float32))
    return params


# ---- hand-written NumPy ---------------------------------------------------------------------
def numpy_step(params, x, y, lr=LR):
    """One SGD step of the MLP with hand-written gradients; updates params in place and
    returns the loss."""
    W1, b1, W2, b2, W3, b3 = params
    h1 = x @ W1.T
    h1 += b1
    np.maximum(h1, 0, out=h1)
    h2 = h1 @ W2.T
    h2 += b2
    np.maximum(h2, 0, out=h2)
    z = h2 @ W3.T
    z += b3
    # softmax cross-entropy, mean over the batch; its gradient is (softmax - onehot) / n
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    s = p.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    loss = float(np.mean(np.log(s[:, 0]) - z[rows, y]))
    p /= s
    p[rows, y] -= 1
    p /= len(y)
    g = p
    gW3, gb3 = g.T @ h2, g.sum(0)
    g = g @ W3
    g *= h2 > 0
    gW2, gb2 = g.T @ h1, g.sum(0)
    g = g @ W2
    g *= h1 > 0
    gW1, gb1 = g.T @ x, g.sum(0)
    for param, grad in zip(params, (gW1, gb1, gW2, gb2, gW3, gb3)):
        grad *= lr
        param -= grad
    return loss


# ---- tapegrad --------------------------------------------------------------------------------
def step(lib, params, x, y, optimizer=None, lr=LR):
    """One step in tapegrad or torch (``lib``): with ``optimizer`` (an optim.SGD over
    ``params``) as PyTorch's training loops write it, else the update by hand."""
    W1, b1, W2, b2, W3, b3 = params
    fn = lib.nn.functional
    h = fn.relu(fn.linear(x, W1, b1))
    h = fn.relu(fn.linear(h, W2, b2))
    loss = fn.cross_entropy(fn.linear(h, W3, b3), y)
    if optimizer is not None:
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss
    loss.backward()
    with lib.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None
    return loss


def make_batch():
    """The benchmark's batch as NumPy arrays: inputs (BATCH, 784) float32, class indices."""
    rng = np.random.default_rng(0)
    return (rng.standard_normal((BATCH, SIZES[0])).astype(np.float32),
            rng.integers(0, SIZES[-1], BATCH))


def tapegrad_problem():
    """(x, y, params, step): the batch as tensors, fresh parameters and a tapegrad optim.SGD
    step over them, for the benchmarks that time this step with a tool on and off."""
    x, y = make_batch()
    params = [tg.tensor(p, requires_grad=True) for p in init_params(np.random.default_rng(1))]
    return tg.tensor(x), tg.tensor(y), params, make_step(tg, params, manual=False)


def make_step(lib, params, manual):
    optimizer = None if manual else lib.optim.SGD(params, lr=LR)
    return lambda x, y: step(lib, params, x, y, optimizer)


def check_agreement(x, y, manual):
    """One step from the same start gives the same loss and parameters in all three."""
    start = init_params(np.random.default_rng(2))
    np_params = [p.copy() for p in start]
    loss_np = numpy_step(np_params, x, y)
    tg_params = [tg.tensor(p.copy(), requires_grad=True) for p in start]
    loss_tg = float(make_step(tg, tg_params, manual)(tg.tensor(x), tg.tensor(y)).item())
    err = max(float(np.max(np.abs(a.detach().numpy() - b))) for a, b in zip(tg_params, np_params))
    print(f"check: loss tapegrad {loss_tg:.6f}, numpy {loss_np:.6f}; "
          f"max parameter difference after one step {err:.1e}")
    assert abs(loss_tg - loss_np) < 1e-4 and err < 1e-5


def bench(summary, repeats, warmup, manual=False):
    update = "update by hand" if manual else "optim.SGD"
    section(f"MLP step {'-'.join(map(str, SIZES))}, ReLU, cross_entropy, batch {BATCH}, "
            f"float32, fwd+bwd+SGD ({update})")
    x, y = make_batch()
    check_agreement(x, y, manual)

    start = init_params(np.random.default_rng(1))
    np_params = [p.copy() for p in start]
    tg_params = [tg.tensor(p.copy(), requires_grad=True) for p in start]
    x_tg, y_tg = tg.tensor(x), tg.tensor(y)
    tg_step = make_step(tg, tg_params, manual)
    fns = {"tapegrad": lambda: tg_step(x_tg, y_tg),
           "numpy (hand-written)": lambda: numpy_step(np_params, x, y)}
    times = measure(fns, repeats, warmup)
    print(f"{repeats} repeats, {warmup} warm-ups, tapegrad and NumPy interleaved")
    for name, ts in times.items():
        print(f"  {name:<22} {fmt_ms(ts)}")
    rr = ratios(times["tapegrad"], times["numpy (hand-written)"])
    print(f"  tapegrad/numpy: {fmt_ratio(rr)}")
    r = rr[0]
    print(f"  target: <= {TARGET:.2f}x -> " + ("PASS" if r <= TARGET else "MISS"))
    summary.add("MLP step, tapegrad/numpy", f"{r:.3f}x", f"<= {TARGET:.2f}x", r <= TARGET)
    if torch is None:
        print("  torch: skipped (torch not installed)")
        return
    # Timed apart, then NumPy again right after it: idle OpenMP/OpenBLAS worker threads spin
    # for a while after a parallel region and would slow the other library down.
    t_params = [torch.tensor(p.copy(), requires_grad=True) for p in start]
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
    t_step = make_step(torch, t_params, manual)
    ttimes = measure({"torch": lambda: t_step(x_t, y_t)}, repeats, warmup)["torch"]
    ntimes = measure({"numpy": fns["numpy (hand-written)"]}, repeats, warmup)["numpy"]
    rt = med(ttimes) / med(ntimes)
    print(f"  {'torch (separate run)':<22} {fmt_ms(ttimes)}")
    print(f"  {'numpy (right after)':<22} {fmt_ms(ntimes)}")
    print(f"  torch/numpy {rt:.3f}x, tapegrad/torch "
          f"{med(times['tapegrad']) / med(ttimes):.3f}x (ratios of medians, not interleaved)")
    summary.add("MLP step, torch/numpy", f"{rt:.3f}x", "(info)", None)


def main():
    def options(parser):
        parser.add_argument("--manual-update", action="store_true",
                            help="update with p -= lr * p.grad under no_grad instead of "
                                 "optim.SGD")
    args = parse_args(__doc__, cpu_time=True, options=options)
    repeats = args.repeats or (30 if args.quick else 200)
    with report() as summary:
        bench(summary, repeats, warmup=5 if args.quick else 20, manual=args.manual_update)


if __name__ == "__main__":
    main()
