#!/usr/bin/env python
"""Transformer block forward+backward: tapegrad against PyTorch and hand-written NumPy.

The block of issue 6: batch 8, sequence 64, width 128, 4 heads, pre-LayerNorm, causal
scaled-dot-product attention, a GELU MLP of 4x width, residual connections; float32;
forward, then backward of sum(out * R) to every parameter and the input. A script, not a
test; see benchmarks/README.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/transformer_bench.py [--quick]
"""
import os
import sys

import numpy as np
from scipy.special import erf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_bench import (fmt_ratio, measure, parse_args, print_times, ratios,  # noqa: E402
                          report, report_ratio, section, torch)

import tapegrad as tg  # noqa: E402
import tapegrad.nn.functional as F  # noqa: E402

B, T, D, HEADS = 8, 64, 128, 4
HD = D // HEADS
EPS = 1e-5
TARGET_VS_TORCH = 1.3
NAMES = ("g1", "be1", "wqkv", "bqkv", "wo", "bo", "g2", "be2", "w1", "b1", "w2", "b2")


def init_params(rng):
    def u(shape, fan_in):
        bound = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape).astype(np.float32)
    one, zero = np.ones(D, np.float32), np.zeros(D, np.float32)
    return dict(zip(NAMES, (
        one + u((D,), 10), zero + u((D,), 10), u((3 * D, D), D), u((3 * D,), D),
        u((D, D), D), u((D,), D), one + u((D,), 10), zero + u((D,), 10),
        u((4 * D, D), D), u((4 * D,), D), u((D, 4 * D), 4 * D), u((D,), 4 * D))))


def block(fn, p, x):
    """The block, written once for tapegrad and torch (``fn`` is nn.functional)."""
    h = fn.layer_norm(x, (D,), p["g1"], p["be1"], EPS)
    qkv = fn.linear(h, p["wqkv"], p["bqkv"]).reshape(B, T, 3, HEADS, HD).permute(2, 0, 3, 1, 4)
    o = fn.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=True)
    x = x + fn.linear(o.transpose(1, 2).reshape(B, T, D), p["wo"], p["bo"])
    h = fn.layer_norm(x, (D,), p["g2"], p["be2"], EPS)
    return x + fn.linear(fn.gelu(fn.linear(h, p["w1"], p["b1"])), p["w2"], p["b2"])


def fwd_bwd(fn, p, x, r):
    for t in list(p.values()) + [x]:
        t.grad = None
    out = block(fn, p, x)
    (out * r).sum().backward()
    return out


# ---- the same block by hand -------------------------------------------------------------------
def _ln(x, g, b):
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    rstd = 1.0 / np.sqrt((xc * xc).mean(-1, keepdims=True) + EPS)
    xhat = xc * rstd
    return xhat * g + b, (xhat, rstd, g)


def _ln_back(dy, cache):
    xhat, rstd, g = cache
    dxhat = dy * g
    dx = rstd * (dxhat - dxhat.mean(-1, keepdims=True)
                 - xhat * (dxhat * xhat).mean(-1, keepdims=True))
    return dx, (dy * xhat).reshape(-1, D).sum(0), dy.reshape(-1, D).sum(0)


_SQRT_HALF = np.float32(np.sqrt(0.5))
_INV_SQRT_2PI = np.float32(1.0 / np.sqrt(2 * np.pi))


def numpy_fwd_bwd(p, x, r):
    """Returns (out, grads): grads of every parameter (by name) and of "x"."""
    g = {}
    h1, c1 = _ln(x, p["g1"], p["be1"])
    qkv = (h1 @ p["wqkv"].T + p["bqkv"]).reshape(B, T, 3, HEADS, HD).transpose(2, 0, 3, 1, 4)
    q, k, v = qkv
    scale = np.float32(1.0 / np.sqrt(HD))
    s = q @ k.transpose(0, 1, 3, 2) * scale
    causal = np.triu(np.ones((T, T), bool), 1)
    s = np.where(causal, -np.inf, s)
    s = s - s.max(-1, keepdims=True)
    pr = np.exp(s)
    pr /= pr.sum(-1, keepdims=True)
    o = pr @ v
    om = o.transpose(0, 2, 1, 3).reshape(B, T, D)
    x1 = x + om @ p["wo"].T + p["bo"]
    h2, c2 = _ln(x1, p["g2"], p["be2"])
    m = h2 @ p["w1"].T + p["b1"]
    cdf = 0.5 * (1.0 + erf(m * _SQRT_HALF))
    a = m * cdf
    out = x1 + a @ p["w2"].T + p["b2"]
    # backward of sum(out * r)
    dout = r
    g["w2"], g["b2"] = dout.reshape(-1, D).T @ a.reshape(-1, 4 * D), dout.reshape(-1, D).sum(0)
    da = dout @ p["w2"]
    dm = da * (cdf + m * _INV_SQRT_2PI * np.exp(-0.5 * m * m))
    g["w1"], g["b1"] = dm.reshape(-1, 4 * D).T @ h2.reshape(-1, D), dm.reshape(-1, 4 * D).sum(0)
    dx1, g["g2"], g["be2"] = _ln_back(dm @ p["w1"], c2)
    dx1 += dout
    g["wo"], g["bo"] = dx1.reshape(-1, D).T @ om.reshape(-1, D), dx1.reshape(-1, D).sum(0)
    do = (dx1 @ p["wo"]).reshape(B, T, HEADS, HD).transpose(0, 2, 1, 3)
    dpr = do @ v.transpose(0, 1, 3, 2)
    dv = pr.transpose(0, 1, 3, 2) @ do
    ds = pr * (dpr - (dpr * pr).sum(-1, keepdims=True)) * scale
    dq = ds @ k
    dk = ds.transpose(0, 1, 3, 2) @ q
    dqkv = np.stack([dq, dk, dv]).transpose(1, 3, 0, 2, 4).reshape(B, T, 3 * D)
    g["wqkv"] = dqkv.reshape(-1, 3 * D).T @ h1.reshape(-1, D)
    g["bqkv"] = dqkv.reshape(-1, 3 * D).sum(0)
    dx, g["g1"], g["be1"] = _ln_back(dqkv @ p["wqkv"], c1)
    g["x"] = dx + dx1
    return out, g


def bench_block(summary, repeats, warmup):
    rng = np.random.default_rng(0)
    params = init_params(rng)
    X = rng.standard_normal((B, T, D)).astype(np.float32)
    R = rng.standard_normal((B, T, D)).astype(np.float32)

    tp = {k: tg.tensor(v, requires_grad=True) for k, v in params.items()}
    tx, tr = tg.tensor(X, requires_grad=True), tg.tensor(R)
    fns = {"tapegrad": lambda: fwd_bwd(F, tp, tx, tr),
           "numpy": lambda: numpy_fwd_bwd(params, X, R)}
    # the hand-written gradients and tapegrad's agree before anything is timed
    out = fwd_bwd(F, tp, tx, tr)
    ref_out, ref = numpy_fwd_bwd(params, X, R)
    np.testing.assert_allclose(out.detach().numpy(), ref_out, rtol=1e-4, atol=1e-4)
    for k in NAMES:
        np.testing.assert_allclose(tp[k].grad.numpy(), ref[k], rtol=1e-3, atol=1e-3, err_msg=k)
    np.testing.assert_allclose(tx.grad.numpy(), ref["x"], rtol=1e-3, atol=1e-3)
    if torch is not None:
        thp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
        thx, thr = torch.tensor(X, requires_grad=True), torch.tensor(R)
        fns["torch"] = lambda: fwd_bwd(torch.nn.functional, thp, thx, thr)
        fwd_bwd(torch.nn.functional, thp, thx, thr)
        np.testing.assert_allclose(thx.grad.numpy(), ref["x"], rtol=1e-3, atol=1e-3)

    section(f"transformer block fwd+bwd: batch {B}, sequence {T}, width {D}, {HEADS} heads, "
            "pre-LN, causal SDPA, GELU MLP 4x, float32")
    times = measure(fns, repeats, warmup)
    print_times(times)
    report_ratio(summary, "tapegrad / numpy", "transformer block vs NumPy", times["tapegrad"],
                 times["numpy"])
    if torch is not None:
        r_th = ratios(times["tapegrad"], times["torch"])
        print(f"tapegrad / torch       {fmt_ratio(r_th)}")
        print(f"torch / numpy          {fmt_ratio(ratios(times['torch'], times['numpy']))}")
        summary.add("transformer block vs torch", f"{r_th[0]:.3f}x",
                    f"<= {TARGET_VS_TORCH:.2f}x", r_th[0] <= TARGET_VS_TORCH)
    else:
        print("torch comparison skipped (torch not installed)")


def main(argv=None):
    args = parse_args(__doc__, argv)
    repeats, warmup = (7, 2) if args.quick else (31, 3)
    with report() as summary:
        bench_block(summary, repeats, warmup)


if __name__ == "__main__":
    main()
