#!/usr/bin/env python
"""Engine benchmarks for tapegrad: per-op overhead, big-op efficiency, deep graphs, import
time and the cost of creation sites. A script, not a test; see benchmarks/README.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/engine_bench.py [--quick]

Every figure is a median over repeats (the minimum is printed next to it), measured with
time.perf_counter after warm-up runs. Ratios are taken between figures measured in the same
run, with the two sides interleaved repeat by repeat so that machine noise hits both alike;
the headline ratio is the median of the per-round ratios (the ratios of the medians and of
the minimums are printed next to it). PyTorch is optional: it is imported only if
installed, and only for comparison; tapegrad never depends on it.
"""
import argparse
import contextlib
import gc
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

import tapegrad as tg
from tapegrad._core.state import STATE

try:
    import torch
except ImportError:          # torch is never a dependency of tapegrad, only a yardstick
    torch = None

N_CHAIN = 200                # ops in the op-overhead chain
N_DEEP = 100_000             # ops in the deep chain
BIG = 1024                   # matrix size of the big-op case

_perf = time.perf_counter


# ---- timing helpers ---------------------------------------------------------------------
def measure(fns, repeats, warmup):
    """Time each zero-argument function in ``fns`` (a dict name -> fn) ``repeats`` times,
    interleaved round by round (the order rotates each round); return name -> list of
    seconds. Whatever a function allocates is freed before it returns, inside the timing."""
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    times = {name: [] for name in names}
    gc.collect()
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            fn = fns[name]
            t0 = _perf()
            fn()
            times[name].append(_perf() - t0)
    return times


def med(ts):
    return statistics.median(ts)


def ratios(a, b):
    """Same-run ratios of timings a to b measured in the same rounds: (median of the
    per-round ratios, ratio of the medians, ratio of the minimums). The first is the
    headline: a burst of machine noise inflates both sides of a round, not the ratio."""
    return (med([x / y for x, y in zip(a, b)]), med(a) / med(b), min(a) / min(b))


def fmt_ratio(r):
    return f"{r[0]:.3f}x (ratio of medians {r[1]:.3f}x, of mins {r[2]:.3f}x)"


def fmt_us(ts, per=1):
    return f"{med(ts) / per * 1e6:8.2f} us  (min {min(ts) / per * 1e6:7.2f})"


def fmt_ms(ts):
    return f"{med(ts) * 1e3:8.1f} ms  (min {min(ts) * 1e3:7.1f})"


def print_times(times, fmt=fmt_ms):
    """One line per timed function of :func:`measure`'s result: its name, median and min."""
    for name, ts in times.items():
        print(f"{name:<22} {fmt(ts)}")


def report_ratio(summary, label, figure, a, b, target=None):
    """Print the same-run ratio of timings ``a`` to ``b`` (:func:`ratios`) after ``label``,
    and add its headline to ``summary`` as ``figure``: checked against ``<= target``, or
    as information when there is none. Returns the ratios."""
    r = ratios(a, b)
    print(f"{label:<22} {fmt_ratio(r)}")
    if target is None:
        summary.add(figure, f"{r[0]:.3f}x", "(info)", None)
    else:
        summary.add(figure, f"{r[0]:.3f}x", f"<= {target:.2f}x", r[0] <= target)
    return r


class Summary:
    def __init__(self):
        self.rows = []

    def add(self, figure, value, target, ok):
        status = "n/a" if ok is None else ("PASS" if ok else "MISS")
        self.rows.append((figure, value, target, status))

    def print(self):
        w0 = max(len(r[0]) for r in self.rows)
        w1 = max(len(r[1]) for r in self.rows)
        w2 = max(len(r[2]) for r in self.rows)
        line = "-" * (w0 + w1 + w2 + 14)
        print(line)
        print(f"{'figure':<{w0}}  {'value':>{w1}}  {'target':<{w2}}  status")
        print(line)
        for figure, value, target, status in self.rows:
            print(f"{figure:<{w0}}  {value:>{w1}}  {target:<{w2}}  {status}")
        print(line)


def section(title):
    print(f"\n== {title} " + "=" * max(0, 74 - len(title)))


# ---- the command line and the report every benchmark script shares ---------------------
_CPU_TIME_HELP = ("time with the process's CPU time instead of the wall clock: steadier on a "
                  "shared machine; use it with OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=1, "
                  "where CPU time is the step's time")


def parse_args(doc, argv=None, *, cpu_time=False, options=None):
    """A benchmark script's command line (described by ``doc``'s first paragraph):
    ``--quick`` for fewer repeats; with ``cpu_time`` also ``--repeats N`` and ``--cpu-time``
    (which calls :func:`use_cpu_time`); ``options(parser)`` adds the script's own."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a rough look)")
    if cpu_time:
        parser.add_argument("--repeats", type=int, default=None)
        parser.add_argument("--cpu-time", action="store_true", help=_CPU_TIME_HELP)
    if options is not None:
        options(parser)
    args = parser.parse_args(argv)
    if cpu_time and args.cpu_time:
        use_cpu_time()
    return args


def use_cpu_time():
    """Make :func:`measure` time with the process's CPU time instead of the wall clock."""
    global _perf
    _perf = time.process_time
    print("timer: process CPU time (--cpu-time)")


@contextlib.contextmanager
def report():
    """Print the environment, give the script a :class:`Summary` to fill, then print the
    summary table under its heading."""
    print_environment()
    summary = Summary()
    yield summary
    section("summary")
    summary.print()


# ---- environment ------------------------------------------------------------------------
def _git_revision(path):
    """' (git abc1234, uncommitted changes)' for a source checkout, '' otherwise."""
    try:
        where = os.path.dirname(os.path.abspath(path))
        rev = subprocess.run(["git", "-C", where, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        if rev.returncode != 0:
            return ""
        dirty = subprocess.run(["git", "-C", where, "status", "--porcelain", "--", "."],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return f" (git {rev.stdout.strip()}{', uncommitted changes' if dirty else ''})"
    except (OSError, subprocess.SubprocessError):
        return ""


def print_environment():
    section("environment")
    print(f"python {platform.python_version()} ({sys.executable})")
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs, load average {load}")
    print(f"tapegrad from {os.path.dirname(tg.__file__)}{_git_revision(tg.__file__)}")
    print(f"numpy {np.__version__}, tapegrad {tg.__version__}, "
          f"torch {torch.__version__ if torch is not None else 'not installed'}")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if var in os.environ:
            advice = (" (unset it for NumPy timings: env -u " + var + " ...)"
                      if var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") else "")
            print(f"  note: {var}={os.environ[var]} is set{advice}")
    try:
        from threadpoolctl import threadpool_info
        pools = threadpool_info()
        if not pools:
            print("BLAS (threadpoolctl): no thread pool found")
        for p in pools:
            print(f"BLAS (threadpoolctl): {p.get('internal_api')} {p.get('version')} "
                  f"[{p.get('architecture', '?')}], {p.get('num_threads')} threads, "
                  f"{os.path.basename(p.get('filepath', ''))}")
    except ImportError:
        try:
            blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            print(f"BLAS (np.show_config): {blas.get('name')} {blas.get('version', '')}; "
                  "threads: threadpoolctl not installed, OpenBLAS defaults to the CPU count "
                  f"({os.cpu_count()}) unless OPENBLAS_NUM_THREADS/OMP_NUM_THREADS say otherwise")
        except Exception as e:     # old NumPy: no mode="dicts"
            print(f"BLAS: unknown ({type(e).__name__}); np.show_config():")
            np.show_config()
    if torch is not None:
        print(f"torch: {torch.get_num_threads()} intra-op threads")


# ---- 1. op overhead ---------------------------------------------------------------------
def chain(lib, x):
    """The 200-op chain, written once for either library (tapegrad or torch)."""
    y = x
    sin, tanh, exp = lib.sin, lib.tanh, lib.exp
    for i in range(N_CHAIN):
        k = i % 5
        if k == 0:
            y = y * 0.9
        elif k == 1:
            y = y + 0.1
        elif k == 2:
            y = sin(y)
        elif k == 3:
            y = tanh(y)
        else:
            y = exp(y)
    return y


def tg_chain(x):
    return chain(tg, x)


def torch_chain(x):
    return chain(torch, x)


def _chain_fns(x_tg, x_torch):
    def tg_fwd():
        tg_chain(x_tg)

    def tg_fwdbwd():
        x_tg.grad = None
        tg_chain(x_tg).sum().backward()

    fns = {"tapegrad fwd": tg_fwd, "tapegrad fwd+bwd": tg_fwdbwd}
    if x_torch is not None:
        def torch_fwd():
            torch_chain(x_torch)

        def torch_fwdbwd():
            x_torch.grad = None
            torch_chain(x_torch).sum().backward()
        fns["torch fwd"] = torch_fwd
        fns["torch fwd+bwd"] = torch_fwdbwd
    return fns


def bench_op_overhead(summary, repeats, warmup):
    section(f"op overhead: chain of {N_CHAIN} elementwise ops (mul, add, sin, tanh, exp) "
            "on 16 float32")
    x0 = np.random.default_rng(0).uniform(-1, 1, 16).astype(np.float32)
    x_tg = tg.tensor(x0, requires_grad=True)
    x_torch = torch.tensor(x0, requires_grad=True) if torch is not None else None

    # correctness first: same values and gradients as PyTorch
    y = tg_chain(x_tg)
    y.sum().backward()
    if x_torch is not None:
        yt = torch_chain(x_torch)
        yt.sum().backward()
        dv = np.max(np.abs(y.detach().numpy() - yt.detach().numpy()))
        gt = x_torch.grad.numpy()
        dg = np.max(np.abs(x_tg.grad.numpy() - gt)) / np.max(np.abs(gt))
        print(f"check vs torch: max |dy| = {dv:.2e}, max |dgrad| / max |grad| = {dg:.2e}")

    times = measure(_chain_fns(x_tg, x_torch), repeats, warmup)
    print(f"{repeats} repeats, {warmup} warm-ups; per op = chain time / {N_CHAIN} "
          "(fwd+bwd includes the final sum and freeing the graph)")
    for name, ts in times.items():
        print(f"  {name:<18} {fmt_us(ts, N_CHAIN)} per op  "
              f"({N_CHAIN / med(ts) / 1e3:6.0f} kops/s)")
    tg_fb = med(times["tapegrad fwd+bwd"]) / N_CHAIN * 1e6
    if torch is None:
        print("  torch: skipped (torch not installed)")
        summary.add("op overhead fwd+bwd, tapegrad/torch", f"{tg_fb:.2f} us/op",
                    "<= 1.00x torch", None)
        return
    rf = ratios(times["tapegrad fwd"], times["torch fwd"])
    rfb = ratios(times["tapegrad fwd+bwd"], times["torch fwd+bwd"])
    print(f"  tapegrad/torch fwd:     {fmt_ratio(rf)}")
    print(f"  tapegrad/torch fwd+bwd: {fmt_ratio(rfb)}")
    r_f, r_fb = rf[0], rfb[0]
    print("  target: tapegrad fwd+bwd per op <= PyTorch's (ratio <= 1.00x) -> "
          + ("PASS" if r_fb <= 1.0 else "MISS"))
    summary.add("op overhead fwd, tapegrad/torch", f"{r_f:.2f}x", "(info)", None)
    summary.add("op overhead fwd+bwd, tapegrad/torch", f"{r_fb:.2f}x", "<= 1.00x", r_fb <= 1.0)


# ---- 2. big ops -------------------------------------------------------------------------
def numpy_mlp(x, W1, W2, W3):
    """Forward and hand-written backward of sum(tanh(tanh(x@W1)@W2)@W3); grads of the Ws."""
    a1 = np.tanh(x @ W1)
    a2 = np.tanh(a1 @ W2)
    out = a2 @ W3
    loss = out.sum()
    g = np.ones_like(out)               # d loss / d out
    gW3 = a2.T @ g
    g = g @ W3.T                        # d loss / d a2
    a2 *= a2                            # dtanh = 1 - t*t, in place (a2 is no longer needed)
    np.subtract(1, a2, out=a2)
    g *= a2
    gW2 = a1.T @ g
    g = g @ W2.T                        # d loss / d a1
    a1 *= a1
    np.subtract(1, a1, out=a1)
    g *= a1
    gW1 = x.T @ g                       # x needs no gradient
    return loss, gW1, gW2, gW3


def bench_big_ops(summary, repeats, warmup):
    section(f"big ops: x@W1 -> tanh -> @W2 -> tanh -> @W3 -> sum, {BIG}x{BIG} float32, "
            "fwd+bwd (grads of W1..W3)")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((BIG, BIG), dtype=np.float32)
    Ws = [rng.standard_normal((BIG, BIG), dtype=np.float32) / np.float32(BIG ** 0.5)
          for _ in range(3)]
    x_tg = tg.tensor(x)
    W_tg = [tg.tensor(W, requires_grad=True) for W in Ws]

    def tg_step():
        for W in W_tg:
            W.grad = None
        h = tg.tanh(x_tg @ W_tg[0])
        h = tg.tanh(h @ W_tg[1])
        (h @ W_tg[2]).sum().backward()

    def np_step():
        numpy_mlp(x, *Ws)

    # correctness: tapegrad's grads match the hand-written ones
    tg_step()
    ref = numpy_mlp(x, *Ws)[1:]
    err = max(float(np.max(np.abs(W.grad.numpy() - r)) / (np.max(np.abs(r)) + 1e-30))
              for W, r in zip(W_tg, ref))
    print(f"check vs NumPy: max relative grad difference {err:.2e}")

    times = measure({"tapegrad": tg_step, "numpy (hand-written)": np_step}, repeats, warmup)
    print(f"{repeats} repeats, {warmup} warm-ups, tapegrad and NumPy interleaved")
    for name, ts in times.items():
        print(f"  {name:<22} {fmt_ms(ts)}")
    rr = ratios(times["tapegrad"], times["numpy (hand-written)"])
    print(f"  tapegrad/numpy: {fmt_ratio(rr)}")
    r = rr[0]
    print("  target: <= 1.10x -> " + ("PASS" if r <= 1.10 else "MISS"))
    summary.add("big ops fwd+bwd, tapegrad/numpy", f"{r:.3f}x", "<= 1.10x", r <= 1.10)

    if torch is None:
        print("  torch: skipped (torch not installed)")
        return
    # Timed apart from the NumPy pair: idle OpenMP/OpenBLAS worker threads spin for a while
    # after a parallel region, and on a small machine they would slow the other library down.
    xt = torch.from_numpy(x)
    Wt = [torch.from_numpy(W.copy()).requires_grad_() for W in Ws]

    def torch_step():
        for W in Wt:
            W.grad = None
        h = torch.tanh(xt @ Wt[0])
        h = torch.tanh(h @ Wt[1])
        (h @ Wt[2]).sum().backward()
    ttimes = measure({"torch": torch_step}, repeats, warmup)["torch"]
    print(f"  {'torch (separate run)':<22} {fmt_ms(ttimes)}  "
          f"(tapegrad/torch {med(times['tapegrad']) / med(ttimes):.2f}x, not interleaved)")
    summary.add("big ops fwd+bwd, torch", f"{med(ttimes) * 1e3:.1f} ms", "(info)", None)


# ---- 3. deep chain ----------------------------------------------------------------------
def bench_deep(summary, repeats):
    section(f"deep chain: {N_DEEP:,} scalar ops (alternating *1.0001 and +0.0001), then backward")

    gc_time = [0.0, 0.0]          # [start of the current collection, total]

    def on_gc(phase, info):
        if phase == "start":
            gc_time[0] = _perf()
        else:
            gc_time[1] += _perf() - gc_time[0]

    def run(x):
        gc.collect()
        gc_time[1] = 0.0
        gc.callbacks.append(on_gc)
        try:
            t0 = _perf()
            y = x
            for _ in range(N_DEEP // 2):
                y = y * 1.0001
                y = y + 0.0001
            t1 = _perf()
        finally:
            gc.callbacks.remove(on_gc)
        in_gc = gc_time[1]
        y.backward()
        t2 = _perf()
        del y
        t3 = _perf()
        return t1 - t0, t2 - t1, t3 - t2, float(x.grad), in_gc

    # exact product of the factors as float32 stores them; float32 rounding adds ~1e-5
    expected = float(np.float32(1.0001)) ** (N_DEEP // 2)
    rows = {}
    libs = [("tapegrad", lambda: tg.tensor(1.0, requires_grad=True))]
    if torch is not None:
        libs.append(("torch", lambda: torch.tensor(1.0, requires_grad=True)))
    for name, make in libs:
        try:
            res = [run(make()) for _ in range(repeats)]
        except Exception as e:         # e.g. RecursionError: report it and carry on
            print(f"  {name:<9} FAILED: {type(e).__name__}: {str(e)[:200]}")
            if name == "tapegrad":
                summary.add("deep chain 100k ops, fwd + bwd", type(e).__name__, "completes",
                            False)
                return
            continue
        fwd, bwd, free, in_gc = ([r[i] for r in res] for i in (0, 1, 2, 4))
        grad = res[-1][3]
        rows[name] = (fwd, bwd, in_gc)
        print(f"  {name:<9} forward {med(fwd):6.3f} s (min {min(fwd):6.3f}), backward "
              f"{med(bwd):6.3f} s (min {min(bwd):6.3f}), freeing {med(free):6.3f} s")
        print(f"  {'':<9} of the forward, {med(in_gc):.3f} s in Python's cyclic GC; "
              f"grad {grad:.4f} (rel. diff {abs(grad / expected - 1):.0e} from exact)")
    if torch is None:
        print("  torch: skipped (torch not installed)")
    fwd, bwd, in_gc = rows["tapegrad"]
    summary.add("deep chain 100k ops, fwd + bwd", f"{med(fwd):.2f} + {med(bwd):.2f} s",
                "completes", True)
    summary.add("  of the deep forward, in cyclic GC", f"{med(in_gc):.2f} s", "(info)", None)


# ---- 4. import time ---------------------------------------------------------------------
def bench_import(summary, runs):
    section(f"import time: fresh processes, median of {runs} runs each, minus `pass`")
    cmds = {"pass": "pass", "tapegrad": "import tapegrad", "numpy": "import numpy"}
    if torch is not None:
        cmds["torch"] = "import torch"

    # NOTE: this environment sets PYTHONDONTWRITEBYTECODE=1, which would make every run
    # compile tapegrad's sources while torch's wheel ships compiled bytecode. Users get
    # cached bytecode after the first import, so measure that: allow writing, warm up once.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def proc(code):
        return lambda: subprocess.run([sys.executable, "-c", code], check=True, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for code in cmds.values():
        proc(code)()                      # warm-up: writes bytecode caches, fills page cache
    times = measure({name: proc(code) for name, code in cmds.items()}, runs, 1)
    base = med(times["pass"])
    for name in cmds:
        extra = "" if name == "pass" else f" -> {(med(times[name]) - base) * 1e3:7.1f} ms"
        print(f"  python -c {cmds[name]!r:<18} {med(times[name]) * 1e3:7.1f} ms "
              f"(min {min(times[name]) * 1e3:7.1f}){extra}")
    tgt = med(times["tapegrad"]) - base
    if torch is None:
        print("  torch: skipped (torch not installed)")
        summary.add("import tapegrad / import torch", f"{tgt * 1e3:.0f} ms", "< 0.10x", None)
        return
    per_round = [(a - p) / (b - p) for a, b, p in zip(times["tapegrad"], times["torch"],
                                                      times["pass"])]
    r = med(per_round)
    r_med = tgt / (med(times["torch"]) - base)
    floor = min(times["pass"])
    r_min = (min(times["tapegrad"]) - floor) / (min(times["torch"]) - floor)
    print(f"  tapegrad/torch: {r:.3f} (ratio of medians {r_med:.3f}, of mins {r_min:.3f})  "
          "target < 0.10 -> " + ("PASS" if r < 0.10 else "MISS"))
    summary.add("import tapegrad / import torch", f"{r:.3f}x", "< 0.10x", r < 0.10)


# ---- 5. creation-site cost --------------------------------------------------------------
def bench_sites(summary, repeats, warmup):
    section(f"creation sites: {N_CHAIN}-op chain fwd+bwd with STATE.track_sites on vs off")
    x = tg.tensor(np.random.default_rng(2).uniform(-1, 1, 16).astype(np.float32),
                  requires_grad=True)
    saved = STATE.track_sites

    def step(flag):
        def fn():
            STATE.track_sites = flag
            x.grad = None
            tg_chain(x).sum().backward()
        return fn
    try:
        times = measure({"sites on": step(True), "sites off": step(False)}, repeats, warmup)
    finally:
        STATE.track_sites = saved
    for name, ts in times.items():
        print(f"  {name:<10} {fmt_us(ts, N_CHAIN)} per op")
    rr = ratios(times["sites on"], times["sites off"])
    on, off = med(times["sites on"]), med(times["sites off"])
    pct = (rr[0] - 1) * 100
    print(f"  on/off: {fmt_ratio(rr)}")
    print(f"  overhead of sites: {pct:+.1f}% ({(on - off) / N_CHAIN * 1e6:+.2f} us per op)  "
          "target < 10% -> " + ("PASS" if pct < 10 else "MISS"))
    summary.add("creation-site overhead (fwd+bwd)", f"{pct:+.1f}%", "< 10%", pct < 10)


# ---- main -------------------------------------------------------------------------------
SECTIONS = ("op", "big", "deep", "import", "sites")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats (a rough look)")
    p.add_argument("--only", default=",".join(SECTIONS),
                   help=f"comma-separated sections to run, from {','.join(SECTIONS)}")
    args = p.parse_args(argv)
    only = set(args.only.split(","))
    unknown = only - set(SECTIONS)
    if unknown:
        p.error(f"unknown section(s) {sorted(unknown)}; choose from {SECTIONS}")
    if args.quick:
        reps = dict(op=10, op_warm=3, big=5, big_warm=1, deep=1, imp=3, sites=10)
    else:
        reps = dict(op=30, op_warm=5, big=15, big_warm=2, deep=3, imp=9, sites=30)

    with report() as summary:
        if "op" in only:
            bench_op_overhead(summary, reps["op"], reps["op_warm"])
        if "sites" in only:
            bench_sites(summary, reps["sites"], reps["op_warm"])
        if "big" in only:
            bench_big_ops(summary, reps["big"], reps["big_warm"])
        if "deep" in only:
            bench_deep(summary, reps["deep"])
        if "import" in only:
            bench_import(summary, reps["imp"])


if __name__ == "__main__":
    main()
