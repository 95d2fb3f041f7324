#!/usr/bin/env python
"""nn.TransformerEncoder forward+backward: tapegrad's modules against PyTorch's.

Issue 7's figure: a TransformerEncoder of 2 layers, width 128, 4 heads, batch 8, sequence 64,
float32, training mode; forward, then backward of sum(out * R) to every parameter and the
input. Configurations: the feed-forward width 4x (512) without dropout (outputs and
gradients checked against PyTorch first, weights copied by name), the same with PyTorch's
default dropout 0.1, and PyTorch's defaults (feed-forward 2048, dropout 0.1, sequence
first); then the same layer with a causal mask. A script, not a test; see
benchmarks/README.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/transformer_encoder_bench.py [--quick]

On a busy shared machine wall-clock figures mostly measure the neighbours (PyTorch's
threads suffer most); --cpu-time times this process's CPU seconds instead, with one thread
in each library:

    OPENBLAS_NUM_THREADS=1 env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        python benchmarks/transformer_encoder_bench.py --cpu-time
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_bench import (fmt_ms, measure, parse_args, print_times, report,  # noqa: E402
                          report_ratio, section, torch, use_cpu_time)

import tapegrad as tg  # noqa: E402
import tapegrad.nn as nn  # noqa: E402

B, T, D, HEADS, LAYERS = 8, 64, 128, 4, 2
TARGET_VS_TORCH = 1.3
CONFIGS = [  # (label, dim_feedforward, dropout, batch_first, causal)
    ("ffn 512, dropout 0, batch first", 4 * D, 0.0, True, False),
    ("ffn 512, dropout 0.1, batch first", 4 * D, 0.1, True, False),
    ("PyTorch defaults: ffn 2048, dropout 0.1, seq first", 2048, 0.1, False, False),
    ("ffn 512, dropout 0, batch first, causal mask", 4 * D, 0.0, True, True),
]


def build(lib, ffn, dropout, batch_first):
    layer = lib.nn.TransformerEncoderLayer(D, HEADS, dim_feedforward=ffn, dropout=dropout,
                                           batch_first=batch_first)
    kw = {"enable_nested_tensor": False} if lib is torch else {}
    return lib.nn.TransformerEncoder(layer, LAYERS, **kw).train()


def fwd_bwd(model, x, r, mask):
    for p in model.parameters():
        p.grad = None
    x.grad = None
    out = model(x) if mask is None else model(x, mask=mask, is_causal=True)
    (out * r).sum().backward()
    return out


def bench_config(summary, label, ffn, dropout, batch_first, causal, repeats, warmup):
    rng = np.random.default_rng(0)
    shape = (B, T, D) if batch_first else (T, B, D)
    X = rng.standard_normal(shape).astype(np.float32)
    R = rng.standard_normal(shape).astype(np.float32)
    tg.manual_seed(0)
    model = build(tg, ffn, dropout, batch_first)
    tx, tr = tg.tensor(X, requires_grad=True), tg.tensor(R)
    tmask = nn.Transformer.generate_square_subsequent_mask(T) if causal else None
    fns = {"tapegrad": lambda: fwd_bwd(model, tx, tr, tmask)}
    if torch is not None:
        tmodel = build(torch, ffn, dropout, batch_first)
        tmodel.load_state_dict({k: torch.tensor(v.detach().numpy())
                                for k, v in model.state_dict().items()})
        thx, thr = torch.tensor(X, requires_grad=True), torch.tensor(R)
        thmask = torch.nn.Transformer.generate_square_subsequent_mask(T) if causal else None
        fns["torch"] = lambda: fwd_bwd(tmodel, thx, thr, thmask)
        if dropout == 0.0:      # the two agree before anything is timed
            out, tout = fwd_bwd(model, tx, tr, tmask), fwd_bwd(tmodel, thx, thr, thmask)
            np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(),
                                       rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(tx.grad.numpy(), thx.grad.numpy(), rtol=1e-3, atol=1e-3)
            theirs = dict(tmodel.named_parameters())
            for name, p in model.named_parameters():
                np.testing.assert_allclose(p.grad.numpy(), theirs[name].grad.numpy(),
                                           rtol=1e-3, atol=1e-3, err_msg=name)

    section(f"TransformerEncoder fwd+bwd, {LAYERS} layers, batch {B}, sequence {T}, width {D}, "
            f"{HEADS} heads: {label}")
    times = measure(fns, repeats, warmup)
    print_times(times)
    if torch is not None:
        report_ratio(summary, "tapegrad / torch", f"encoder vs torch ({label})",
                     times["tapegrad"], times["torch"], TARGET_VS_TORCH)
    else:
        print("torch comparison skipped (torch not installed)")
        summary.add(f"encoder ({label})", fmt_ms(times["tapegrad"]).strip(), "(info)", None)


def main(argv=None):
    def options(parser):
        parser.add_argument("--cpu-time", action="store_true",
                            help="time CPU seconds, one thread per library (set "
                                 "OPENBLAS_NUM_THREADS=1 as well)")
    args = parse_args(__doc__, argv, options=options)
    repeats, warmup = (7, 2) if args.quick else (31, 3)
    with report() as summary:
        if args.cpu_time:
            use_cpu_time()
            if torch is not None:
                torch.set_num_threads(1)
            print("torch on 1 thread"
                  + ("" if os.environ.get("OPENBLAS_NUM_THREADS") == "1" else
                     "; WARNING: OPENBLAS_NUM_THREADS=1 is not set, so NumPy's BLAS threads "
                     "are counted too"))
        for config in CONFIGS:
            bench_config(summary, *config, repeats, warmup)


if __name__ == "__main__":
    main()
