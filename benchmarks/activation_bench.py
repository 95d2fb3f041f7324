#!/usr/bin/env python
"""Activations: each as tapegrad ships it (a one-node primitive of tapegrad.ops.nn.activation,
or a composite) against the other design (the same function as a composite, or as one node)
and against PyTorch (when installed). Each figure is forward + backward of a (128, 512)
float32 tensor. A script, not a test (see
benchmarks/README.md); it backs Note [Pointwise activations as primitives].

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/activation_bench.py

Medians over interleaved repeats (engine_bench.measure); the ratios are of same-run medians.
"""
import math
import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_bench import measure  # noqa: E402

import tapegrad as tg  # noqa: E402
import tapegrad.nn.functional as F  # noqa: E402

try:
    import torch
except ImportError:          # only a yardstick, never a dependency
    torch = None

from tapegrad.ops.registry import OpDef, apply_unary  # noqa: E402

SHAPE = (128, 512)
K, C = math.sqrt(2 / math.pi), 0.044715
SQRT_HALF = math.sqrt(0.5)


def _softplus(x):
    """The stable composite: relu(x) + log1p(exp(-|x|)) (5 nodes; its gradient at 0 is 0,
    not 1/2, as relu'(0) = abs'(0) = 0: one more reason for the primitive)."""
    return tg.relu(x) + tg.log1p(tg.exp(-tg.abs(x)))


def one_node(forward, deriv):
    """An unregistered one-node form (vjp = g * f'(x)), for the alternative design."""
    op = OpDef("bench", forward, lambda ctx, g: (g * deriv(ctx.x),), save=("x",))
    return lambda x: apply_unary(op, x)


def _sig(x):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def _gelu_tanh_deriv(x):
    t = np.tanh(K * (x + C * x * x * x))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (K * (1 + 3 * C * x * x))


def _mish_deriv(x):
    t = np.tanh(np.logaddexp(0, x))
    return t + x * _sig(x) * (1 - t * t)


# name: (what tapegrad ships, the other design, torch's); shipped primitives compare against
# composites, shipped composites against one-node forms
CASES = {
    "gelu": (F.gelu, lambda x: x * (0.5 + 0.5 * tg.erf(x * SQRT_HALF)),
             lambda x: torch.nn.functional.gelu(x)),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  one_node(lambda x: 0.5 * x * (1 + np.tanh(K * (x + C * x * x * x))),
                           _gelu_tanh_deriv),
                  lambda x: torch.nn.functional.gelu(x, approximate="tanh")),
    "silu": (F.silu, one_node(lambda x: x * _sig(x),
                              lambda x: _sig(x) * (1 + x * (1 - _sig(x)))),
             lambda x: torch.nn.functional.silu(x)),
    "mish": (F.mish, one_node(lambda x: x * np.tanh(np.logaddexp(0, x)), _mish_deriv),
             lambda x: torch.nn.functional.mish(x)),
    "softplus": (F.softplus, _softplus, lambda x: torch.nn.functional.softplus(x)),
    "logsigmoid": (F.logsigmoid, lambda x: -_softplus(-x),
                   lambda x: torch.nn.functional.logsigmoid(x)),
    "elu": (F.elu, lambda x: tg.where(x > 0, x, tg.expm1(tg.minimum(x, tg.zeros(())))),
            lambda x: torch.nn.functional.elu(x)),
    "leaky_relu": (F.leaky_relu, lambda x: tg.where(x > 0, x, x * 0.01),
                   lambda x: torch.nn.functional.leaky_relu(x)),
    "hardtanh": (F.hardtanh, lambda x: tg.where((x > -1) & (x < 1), x, tg.clamp(x.detach(), -1, 1)),
                 lambda x: torch.nn.functional.hardtanh(x)),
    "hardswish": (F.hardswish,
                  lambda x: tg.where(x >= 3, x, tg.where(x > -3, x * (x + 3) / 6, tg.zeros(()))),
                  lambda x: torch.nn.functional.hardswish(x)),
    "relu": (F.relu, lambda x: tg.where(x > 0, x, tg.zeros(())),
             lambda x: torch.nn.functional.relu(x)),
    "softmax": (lambda x: F.softmax(x, 1),
                lambda x: tg.exp(x - tg.logsumexp(x, 1, keepdim=True)),
                lambda x: torch.nn.functional.softmax(x, 1)),
    "log_softmax": (lambda x: F.log_softmax(x, 1),
                    lambda x: x - tg.logsumexp(x, 1, keepdim=True),
                    lambda x: torch.nn.functional.log_softmax(x, 1)),
}


def step(fn, lib, data, g):
    def run():
        x = lib.tensor(data, requires_grad=True)
        fn(x).backward(g)
    return run


def main():
    if torch is not None:
        torch.set_num_threads(1)      # one thread, as NumPy's elementwise loops
    rng = np.random.default_rng(0)
    data = rng.standard_normal(SHAPE).astype(np.float32) * 3
    g = rng.standard_normal(SHAPE).astype(np.float32)
    tg_g = tg.tensor(g)
    print(f"forward + backward of a {SHAPE} float32 tensor: median ms (ratio to tapegrad's)")
    print(f"{'':12}{'tapegrad':>12}{'other design':>22}{'torch':>22}")
    for name, (ours, other, theirs) in CASES.items():
        fns = {"ours": step(ours, tg, data, tg_g), "other": step(other, tg, data, tg_g)}
        if torch is not None:
            fns["torch"] = step(theirs, torch, data, torch.tensor(g))
        times = measure(fns, repeats=60, warmup=5)
        med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        row = f"{name:12}{med['ours']:10.3f}ms"
        for k in ("other", "torch"):
            row += (f"{med[k]:12.3f}ms ({med[k] / med['ours']:4.2f}x)" if k in med
                    else f"{'skipped':>22}")
        print(row)
    print("other design: a composite (np.where-based for the piecewise-linear ones) for "
          "tapegrad's\nprimitives (gelu too), a one-node form for its composites (tanh gelu, "
          "silu, mish).")


if __name__ == "__main__":
    main()
