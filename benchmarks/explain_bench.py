#!/usr/bin/env python
"""The cost of the cut log behind autograd.explain (Note [Cut events] in _core/cuts.py).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/explain_bench.py [--quick]

Times, per call, the calls that append a cut event (``loss.item()`` on a loss that
requires grad, ``detach()``, an op under no_grad on a tensor that requires grad, a
comparison on one) next to calls that must not change (a recorded op, an op on plain
tensors, ``item()`` of a plain tensor). A figure is the median over repeats of the mean of
a timed loop, in process CPU time. ``--baseline SRC`` also loads the tapegrad package
found in the directory SRC (another checkout's ``src``, e.g. one without the log) under
another name, and times both side by side, alternating repeat by repeat so that machine
noise hits both alike; it prints the median of the per-repeat ratios. A script, not a test.
"""
import argparse
import atexit
import importlib
import os
import shutil
import statistics
import sys
import tempfile
import time

import tapegrad as tg


def per_call(fn, loops):
    t0 = time.process_time()
    for _ in range(loops):
        fn()
    return (time.process_time() - t0) / loops


def cases(tg):
    """name -> zero-argument function, for the tapegrad module ``tg``."""
    w = tg.randn(16, requires_grad=True)
    x = tg.randn(16)
    loss = (w * 2).sum()
    plain = tg.tensor(1.5)
    h = w * 3

    def no_grad_mul():
        with tg.no_grad():
            w * x

    def no_grad_plain_mul():
        with tg.no_grad():
            x * x

    def chain():                          # the op-overhead chain of engine_bench.py, shorter
        y = w
        for _ in range(20):
            y = (y * 1.01 + 0.1).sin().tanh().exp()
        y.sum().backward()

    return {
        "100-op chain fwd+bwd, per op": (chain, 101),
        "loss.item() (requires grad)": loss.item,
        "item() of a plain tensor": plain.item,
        "float(loss)": lambda: float(loss),
        "h.detach()": h.detach,
        "no_grad: w * x (w requires grad)": no_grad_mul,
        "no_grad: x * x (plain)": no_grad_plain_mul,
        "w > 0 (w requires grad)": lambda: w > 0,
        "x > 0 plain": lambda: x > 0,
        "w * x recorded": lambda: w * x,
        "x * x plain": lambda: x * x,
        "tg.exp(x) plain": lambda: tg.exp(x),
    }


def load_baseline(src):
    """The tapegrad package in directory ``src``, imported as ``tapegrad_base`` (a copy in a
    temporary directory; the package imports itself relatively, so the name is free)."""
    tmp = tempfile.mkdtemp(prefix="explain_bench_")
    atexit.register(shutil.rmtree, tmp, True)
    shutil.copytree(os.path.join(src, "tapegrad"), os.path.join(tmp, "tapegrad_base"))
    sys.path.insert(0, tmp)
    return importlib.import_module("tapegrad_base")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats (a rough look)")
    p.add_argument("--baseline", metavar="SRC", help="a directory holding another tapegrad "
                   "package to compare with")
    args = p.parse_args()
    loops, repeats = (2000, 5) if args.quick else (20000, 15)
    sides = {"this": cases(tg)}
    if args.baseline:
        base = load_baseline(args.baseline)
        sides["baseline"] = cases(base)
        print(f"baseline: {base.__file__}")
    print(f"this: {tg.__file__}")
    for side in sides.values():           # warm up (and fill the log to its bound)
        for fn in side.values():
            for _ in range(500):
                fn[0]() if type(fn) is tuple else fn()
    header = f"  {'per call, median (us)':<36} {'this':>8}"
    if args.baseline:
        header += f" {'baseline':>9} {'ratio':>7}"
    print(header)
    for name in sides["this"]:
        times = {k: [] for k in sides}
        for r in range(repeats):
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            for k in order:
                fn, n = sides[k][name], loops
                if type(fn) is tuple:          # (fn, ops it runs): fewer calls, time per op
                    fn, ops = fn
                    n = max(loops // (ops * 10), 5)
                    times[k].append(per_call(fn, n) / ops)
                else:
                    times[k].append(per_call(fn, n))
        line = f"  {name:<36} {statistics.median(times['this']) * 1e6:8.3f}"
        if args.baseline:
            ratio = statistics.median(a / b for a, b in zip(times["this"], times["baseline"]))
            line += f" {statistics.median(times['baseline']) * 1e6:9.3f} {ratio:6.2f}x"
        print(line)


if __name__ == "__main__":
    main()
