#!/usr/bin/env python
"""LSTM forward+backward: tapegrad's nn.LSTM against PyTorch's (and the composite of ops).

The model of issue 7: nn.LSTM(128, 128, num_layers=2), batch 32, sequence 100, float32;
forward, then backward of sum(out * R) + sum(h_n) + sum(c_n) to every parameter and the
input. tapegrad runs each layer as one node (ops/nn/recurrent.py, Note [Recurrent layer
primitive]); ``--composite`` also times the same LSTM unrolled into nn.functional ops, the
design the primitive replaced. A script, not a test; see benchmarks/README.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/lstm_bench.py [--quick]
        [--composite] [--threads N]

On a shared machine, ``--threads 1`` gives both libraries one thread (BLAS through
threadpoolctl, torch.set_num_threads): spinning BLAS threads of either side that find their
cores taken by other processes make two-thread timings swing by 10x there.
"""
import contextlib
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_bench import (measure, parse_args, print_times, report, report_ratio,  # noqa: E402
                          section, torch)

import tapegrad as tg  # noqa: E402
import tapegrad.nn as nn  # noqa: E402
import tapegrad.nn.functional as F  # noqa: E402

T, B, I, H, LAYERS = 100, 32, 128, 128, 2
TARGET_VS_TORCH = 2.0


def fwd_bwd(model, x, r):
    for p in list(model.parameters()) + [x]:
        p.grad = None
    out, (h_n, c_n) = model(x)
    ((out * r).sum() + h_n.sum() + c_n.sum()).backward()
    return out


def composite_fwd_bwd(model, x, r):
    """The same LSTM, every step of every layer unrolled into nn.functional ops."""
    for p in list(model.parameters()) + [x]:
        p.grad = None
    layer_in, finals = x, []
    for layer in range(LAYERS):
        w_ih, w_hh, b_ih, b_hh = model.all_weights[layer]
        xp = F.linear(layer_in, w_ih, b_ih + b_hh)       # every step's input projection at once
        h = c = tg.zeros(B, H)
        outs = []
        for t in range(T):
            i, f, g, o = (xp[t] + F.linear(h, w_hh)).chunk(4, 1)
            c = F.sigmoid(f) * c + F.sigmoid(i) * F.tanh(g)
            h = F.sigmoid(o) * F.tanh(c)
            outs.append(h)
        layer_in = tg.stack(outs)
        finals += [h, c]
    ((layer_in * r).sum() + sum(s.sum() for s in finals)).backward()
    return layer_in


def assert_agrees(out, grads, other_out, other_model):
    """The timed run's output ``out`` matches ``other_out``, and ``other_model``'s parameter
    grads match its ``grads`` (by name)."""
    np.testing.assert_allclose(out.detach().numpy(), other_out.detach().numpy(), rtol=1e-4,
                               atol=1e-5)
    for n, p in other_model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[n], rtol=1e-3, atol=1e-4,
                                   err_msg=n)


def bench_lstm(summary, repeats, warmup, composite):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((T, B, I)).astype(np.float32)
    R = rng.standard_normal((T, B, H)).astype(np.float32)
    tg.manual_seed(0)
    model = nn.LSTM(I, H, num_layers=LAYERS)
    tx, tr = tg.tensor(X, requires_grad=True), tg.tensor(R)
    fns = {"tapegrad": lambda: fwd_bwd(model, tx, tr)}
    out = fwd_bwd(model, tx, tr)
    grads = {n: p.grad.numpy().copy() for n, p in model.named_parameters()}
    if composite:
        fns["tapegrad composite"] = lambda: composite_fwd_bwd(model, tx, tr)
        ref = composite_fwd_bwd(model, tx, tr)
        assert_agrees(out, grads, ref, model)
    if torch is not None:
        tmodel = torch.nn.LSTM(I, H, num_layers=LAYERS)
        tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in
                                model.state_dict().items()})
        thx, thr = torch.tensor(X, requires_grad=True), torch.tensor(R)
        fns["torch"] = lambda: fwd_bwd(tmodel, thx, thr)
        # the two agree before anything is timed
        tout = fwd_bwd(tmodel, thx, thr)
        assert_agrees(out, grads, tout, tmodel)
        np.testing.assert_allclose(thx.grad.numpy(), tx.grad.numpy(), rtol=1e-3, atol=1e-4)

    section(f"LSTM fwd+bwd: {LAYERS} layers, input {I}, hidden {H}, batch {B}, sequence {T}, "
            "float32")
    times = measure(fns, repeats, warmup)
    print_times(times)
    if composite:
        report_ratio(summary, "composite / primitive", "LSTM composite vs primitive",
                     times["tapegrad composite"], times["tapegrad"])
    if torch is not None:
        report_ratio(summary, "tapegrad / torch", "LSTM vs torch", times["tapegrad"],
                     times["torch"], TARGET_VS_TORCH)
    else:
        print("torch comparison skipped (torch not installed)")


def main(argv=None):
    def options(parser):
        parser.add_argument("--composite", action="store_true",
                            help="also time the LSTM unrolled into nn.functional ops (slow)")
        parser.add_argument("--threads", type=int, default=None,
                            help="threads for BLAS and torch (default: as configured)")
    args = parse_args(__doc__, argv, options=options)
    repeats, warmup = (7, 2) if args.quick else (21, 3)
    limits = contextlib.nullcontext()
    if args.threads:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    with limits, report() as summary:
        bench_lstm(summary, repeats, warmup, args.composite)


if __name__ == "__main__":
    main()
