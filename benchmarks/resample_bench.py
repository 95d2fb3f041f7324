"""Forward+backward of the vision/sparse functions built on the ``resample`` primitive
(ops/nn/resample.py), against the same maths as getitem gathers (whose backward is an
np.add.at scatter: what the primitive replaces) and against PyTorch when installed.

Prints the median of repeats (ms) and same-run ratios. Not a test.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/resample_bench.py
"""
import time

import numpy as np

import tapegrad as tg
import tapegrad.nn.functional as F

try:
    import torch
    import torch.nn.functional as TF
except ImportError:       # the comparison is optional
    torch = None

REPEATS = 7


def median_ms(fn):
    fn()                                       # warm up
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def step(lib, f, *inputs):
    """One forward and backward of f(*inputs) against a fixed cotangent."""
    def run():
        for x in inputs:
            x.grad = None
        out = f(*inputs)
        out.backward(lib.ones_like(out))
    return run


def gather_bilinear(x, scale):
    """Bilinear x2 upsampling (align_corners=False) as two getitem gathers per dim."""
    for d in (2, 3):
        n_in = x.shape[d]
        o = np.arange(n_in * scale)
        src = np.maximum((o + 0.5) / scale - 0.5, 0)
        i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        t = (src - i0).astype(np.float32).reshape((-1,) + (1,) * (3 - d))
        key = (slice(None),) * d
        x = x[key + (i0,)] * (1 - t) + x[key + (i1,)] * t
    return x


def main():
    rng = np.random.default_rng(0)
    image = rng.standard_normal((8, 16, 64, 64)).astype(np.float32)
    table = rng.standard_normal((10000, 256)).astype(np.float32)
    index = rng.integers(0, 10000, (64, 128))
    # each case: (name, input arrays, lib, F -> the function of the inputs, baseline)
    cases = [
        ("interpolate bilinear x2", (image,),
         lambda lib, F_: lambda x: F_.interpolate(x, scale_factor=2, mode="bilinear"),
         lambda x: gather_bilinear(x, 2)),
        ("interpolate nearest x2", (image,),
         lambda lib, F_: lambda x: F_.interpolate(x, scale_factor=2), None),
        ("pad reflect 2", (image,),
         lambda lib, F_: lambda x: F_.pad(x, (2, 2, 2, 2), mode="reflect"), None),
        ("embedding 8192 rows of 10000", (table,),
         lambda lib, F_: lambda w, i=lib.tensor(index): F_.embedding(i, w),
         lambda w, i=tg.tensor(index): w[i]),
        ("embedding_bag mean 64 x 128", (table,),
         lambda lib, F_: lambda w, i=lib.tensor(index): F_.embedding_bag(i, w), None),
    ]
    print(f"{'case':30s} {'tapegrad':>9s} {'gathers':>9s} {'torch':>9s} {'vs gathers':>10s} "
          f"{'vs torch':>9s}   (ms, median of {REPEATS})")
    for name, arrays, make, baseline in cases:
        ours = median_ms(step(tg, make(tg, F), *[tg.tensor(a, requires_grad=True)
                                                 for a in arrays]))
        base = nan = float("nan")
        if baseline is not None:
            base = median_ms(step(tg, baseline, *[tg.tensor(a, requires_grad=True)
                                                  for a in arrays]))
        theirs = nan
        if torch is not None:
            theirs = median_ms(step(torch, make(torch, TF),
                                    *[torch.tensor(a, requires_grad=True) for a in arrays]))
        print(f"{name:30s} {ours:9.1f} {base:9.1f} {theirs:9.1f} {ours / base:10.2f} "
              f"{ours / theirs:9.2f}")


if __name__ == "__main__":
    main()
