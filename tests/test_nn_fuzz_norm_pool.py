"""Differential fuzzing of nn.functional's normalization and pooling against PyTorch.

Seeded random argument combinations (shapes incl. unbatched, 1-sized, empty and odd sizes;
kernel/stride/padding/dilation/ceil_mode/count_include_pad/divisor_override; adaptive sizes
that don't divide; max_unpool with output_size; batch_norm/instance_norm running statistics
and momentum; groups; weight/bias None or given; float16/32/64 and int64) run through both
libraries. Each case must either succeed in both, with equal values, result dtypes, indices,
gradients of every float input and running statistics afterwards, or fail in both, tapegrad's
error being an instance of the builtin class PyTorch raised. The sweep here is bounded; run
this file as a script (``python tests/test_nn_fuzz_norm_pool.py 5000``) for a larger one.
"""
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch") if __name__ != "__main__" else __import__("torch")

import tapegrad as tg                        # noqa: E402
import tapegrad.nn.functional as F           # noqa: E402

TF = torch.nn.functional
TOL = {np.float16: (2e-2, 2e-2), np.float32: (2e-4, 5e-5), np.float64: (1e-9, 1e-11)}


# ---- random arguments -------------------------------------------------------------------------
class Arr:
    """A tensor argument: its array, whether it requires grad, and whether it is passed as a
    non-contiguous view (the transpose of a leaf holding the swapped array)."""
    def __init__(self, array, grad=False, view=False):
        self.array, self.grad, self.view = array, grad, view and array.ndim >= 2


def _dtype(rng, ints=False):
    kinds = [np.float32, np.float64, np.float16] + ([np.int64] if ints else [])
    return kinds[rng.choice(len(kinds), p=[0.45, 0.35, 0.1, 0.1] if ints else [0.5, 0.4, 0.1])]


def _values(rng, shape, dtype, lo=-2.0, hi=2.0):
    if np.dtype(dtype).kind == "i":
        return rng.integers(-20, 20, shape).astype(dtype)
    return rng.uniform(lo, hi, shape).astype(dtype)


def _input(rng, d, dtype, lo=-2.0, hi=2.0, empty=0.03):
    """(N, C, *S) or (C, *S), sizes 1..7, now and then an empty batch."""
    spatial = tuple(int(rng.integers(1, 8)) for _ in range(d))
    lead = (int(rng.integers(1, 4)),)
    if rng.random() < 0.6:
        lead = (0 if rng.random() < empty else int(rng.integers(1, 3)),) + lead
    x = _values(rng, lead + spatial, dtype, lo, hi)
    return Arr(x, grad=np.dtype(dtype).kind == "f", view=rng.random() < 0.2)


def _tuple_arg(rng, d, lo, hi):
    """An int, or a tuple of d ints (now and then of length 1, or of a wrong length)."""
    r = rng.random()
    if r < 0.5:
        return int(rng.integers(lo, hi))
    n = d if r < 0.93 else int(rng.choice([1, d + 1]))
    return tuple(int(v) for v in rng.integers(lo, hi, n))


def _pool_case(rng):
    kind = rng.choice(["max", "avg", "adaptive_avg", "adaptive_max", "lp", "unpool"],
                      p=[0.27, 0.23, 0.13, 0.13, 0.12, 0.12])
    d = int(rng.integers(1, 4))
    if kind == "max":
        x = _input(rng, d, _dtype(rng, ints=True))
        kw = {"stride": None if rng.random() < 0.3 else _tuple_arg(rng, d, 1, 4),
              "padding": _tuple_arg(rng, d, 0, 3), "dilation": _tuple_arg(rng, d, 1, 3),
              "ceil_mode": bool(rng.random() < 0.5),
              "return_indices": bool(rng.random() < 0.5)}
        if rng.random() < 0.03:
            kw["stride"] = 0
        return f"max_pool{d}d", [x, _tuple_arg(rng, d, 1 if rng.random() < 0.97 else -1, 5)], kw
    if kind == "avg":
        x = _input(rng, d, _dtype(rng, ints=rng.random() < 0.3))
        kw = {"stride": None if rng.random() < 0.3 else _tuple_arg(rng, d, 1, 4),
              "padding": _tuple_arg(rng, d, 0, 3), "ceil_mode": bool(rng.random() < 0.5),
              "count_include_pad": bool(rng.random() < 0.5)}
        if d > 1 and rng.random() < 0.4:
            kw["divisor_override"] = int(rng.choice([1, 2, 3, 7, -2, 0]))
        return f"avg_pool{d}d", [x, _tuple_arg(rng, d, 1, 5)], kw
    if kind in ("adaptive_avg", "adaptive_max"):
        x = _input(rng, d, _dtype(rng))
        r = rng.random()
        if r < 0.4:
            size = int(rng.integers(0 if rng.random() < 0.05 else 1, 9))
        else:
            size = tuple(None if rng.random() < 0.15 else int(rng.integers(1, 9))
                         for _ in range(d if rng.random() < 0.95 else d + 1))
        args = [x, size]
        if kind == "adaptive_max":
            args.append(bool(rng.random() < 0.5))
        return f"{kind}_pool{d}d", args, {}
    if kind == "lp":
        d = int(rng.integers(1, 4))
        p = rng.choice([1, 2, 3, 1.5, 4.0, np.inf, -np.inf])
        x = _input(rng, d, _dtype(rng), lo=0.1, hi=2.0)   # fractional p: positive inputs
        kw = {"stride": None if rng.random() < 0.3 else _tuple_arg(rng, d, 1, 4),
              "ceil_mode": bool(rng.random() < 0.5)}
        return f"lp_pool{d}d", [x, int(p) if np.isfinite(p) and p == int(p) else float(p),
                                _tuple_arg(rng, d, 1, 4)], kw
    # unpool: indices from torch's max pool, then values of their shape to unpool
    x = _input(rng, d, _dtype(rng), empty=0)
    k = tuple(int(v) for v in rng.integers(1, 4, d))
    s = tuple(int(v) for v in rng.integers(1, 4, d))
    p = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)
    t = torch.tensor(x.array.astype(np.float64))
    try:
        y, i = getattr(TF, f"max_pool{d}d")(t, k, s, p, return_indices=True)
    except RuntimeError:
        return _pool_case(rng)
    kw = {"stride": s, "padding": p}
    if rng.random() < 0.5:
        default = [(n - 1) * ss - 2 * pp + kk for n, ss, pp, kk in
                   zip(y.shape[-d:], s, p, k)]
        outs = [int(m + rng.integers(-ss, ss + 1)) for m, ss in zip(default, s)]
        kw["output_size"] = (tuple(y.shape[:-d]) + tuple(outs) if rng.random() < 0.3
                             else tuple(outs))
    vals = Arr(_values(rng, tuple(y.shape), x.array.dtype), grad=True)
    return f"max_unpool{d}d", [vals, Arr(i.numpy()), k], kw


def _param(rng, n, dtype, lo=0.5, hi=1.5):
    if rng.random() < 0.08:      # now and then a parameter of another dtype
        dtype = [np.float16, np.float32, np.float64][int(rng.integers(3))]
    return Arr(_values(rng, n, dtype, lo, hi), grad=True) if rng.random() < 0.6 else None


def _norm_case(rng):
    kind = rng.choice(["layer", "rms", "batch", "instance", "group", "lrn"],
                      p=[0.18, 0.14, 0.24, 0.16, 0.16, 0.12])
    dt = _dtype(rng)
    if kind in ("layer", "rms"):
        shape = tuple(int(v) for v in rng.integers(1, 6, int(rng.integers(1, 5))))
        if rng.random() < 0.03:
            shape = (0,) + shape
        k = int(rng.integers(1, len(shape) + 1))
        ns = list(shape[len(shape) - k:])
        if rng.random() < 0.04:
            ns[0] += 1
        x = Arr(_values(rng, shape, dt), grad=True, view=rng.random() < 0.2)
        if kind == "layer":
            return "layer_norm", [x, ns, _param(rng, tuple(ns), dt), _param(rng, tuple(ns), dt,
                                                                          -1, 1)], \
                {"eps": float(rng.choice([1e-5, 1e-3, 0.1]))}
        eps = None if rng.random() < 0.5 else float(rng.choice([1e-6, 1e-2]))
        return "rms_norm", [x, ns, _param(rng, tuple(ns), dt)], {"eps": eps}
    if kind == "lrn":
        shape = tuple(int(v) for v in rng.integers(1, 6, int(rng.integers(3, 6))))
        x = Arr(_values(rng, shape, dt), grad=True)
        return "local_response_norm", [x, int(rng.integers(1, 6))], {
            "alpha": float(rng.choice([1e-4, 0.1, 1.0])),
            "beta": float(rng.choice([0.75, 0.5, 2.0])), "k": float(rng.choice([1.0, 2.0]))}
    ndim = int(rng.integers(2, 6)) if kind != "instance" else int(rng.integers(3, 6))
    shape = tuple(int(v) for v in rng.integers(1, 5, ndim))
    if kind == "group":
        shape = (shape[0], int(rng.choice([1, 2, 3, 4, 6]))) + shape[2:]
    x = Arr(_values(rng, shape, dt), grad=True, view=rng.random() < 0.2)
    c = shape[1]
    w, b = _param(rng, (c,), dt), _param(rng, (c,), dt, -1, 1)
    if kind == "group":
        g = int(rng.choice([1, 2, 3, 4, 6]))
        return "group_norm", [x, g, w, b], {"eps": float(rng.choice([1e-5, 0.1]))}
    stats = rng.random() < 0.7
    sdt = dt if rng.random() < 0.9 else np.float32
    rm = Arr(_values(rng, (c,), sdt, -0.5, 0.5)) if stats else None
    rv = Arr(_values(rng, (c,), sdt, 0.5, 1.5)) if stats else None
    mom = float(rng.choice([0.1, 0.5, 0.0, 1.0, 0.9]))
    if kind == "batch":
        return "batch_norm", [x, rm, rv, w, b, bool(rng.random() < 0.6), mom,
                              float(rng.choice([1e-5, 0.1]))], {}
    return "instance_norm", [x, rm, rv, w, b, bool(rng.random() < 0.75), mom,
                             float(rng.choice([1e-5, 0.1]))], {}


# ---- running both -----------------------------------------------------------------------------
def _run(lib, fn, args, kw, seed):
    """Call; return (outputs, tensors passed) or the exception raised."""
    tensors = []
    # float16 input runs in float32 in torch (its CPU half kernels are less exact)
    half_in = args[0].array.dtype == np.float16

    def make(a):
        if not isinstance(a, Arr):
            return a
        array = np.swapaxes(a.array, -1, -2).copy() if a.view else a.array
        if lib == "torch":
            t = torch.tensor(array.astype(np.float32) if half_in and array.dtype == np.float16
                             else array)
            t.requires_grad_(a.grad)
        else:
            t = tg.tensor(array, requires_grad=a.grad)
        tensors.append((a, t))
        return t.transpose(-1, -2) if a.view else t
    f = getattr(TF if lib == "torch" else F, fn)
    try:
        out = f(*[make(a) for a in args], **kw)
    except Exception as e:      # noqa: BLE001 - any error is compared below
        return e, tensors
    outs = out if isinstance(out, tuple) else (out,)
    grads = None
    if outs[0].requires_grad:
        g = np.random.default_rng(seed).uniform(-1, 1, tuple(outs[0].shape))
        gt = (torch.tensor(g, dtype=outs[0].dtype) if lib == "torch"
              else tg.tensor(g.astype(outs[0].detach().numpy().dtype)))
        leaves = [t for a, t in tensors if a.grad]
        try:
            if lib == "tapegrad" and seed % 3 == 0:     # the recorded backward, now and then
                found = tg.autograd.grad(outs[0], leaves, gt, create_graph=True,
                                         allow_unused=True)
                found = [None if v is None else v.detach() for v in found]
            else:
                outs[0].backward(gt)
                found = [t.grad for t in leaves]
        except Exception as e:  # noqa: BLE001
            return e, tensors
        grads = [None if v is None else _as(v.numpy(), a.array.dtype)
                 for a, v in zip([a for a, _ in tensors if a.grad], found)]
    half = any(a.array.dtype == np.float16 for a, _ in tensors)
    return ([_as(o.detach().numpy(), np.float16 if half else None) for o in outs],
            grads), tensors


def _as(a, dtype):
    """torch's float32 stand-in for a float16 value, rounded back."""
    return a.astype(np.float16) if dtype == np.float16 and a.dtype == np.float32 else a


def _close(a, b, what, least=None):
    assert a.shape == b.shape, f"{what}: shape {b.shape} != torch's {a.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {b.dtype} != torch's {a.dtype}"
    if a.dtype.kind != "f":
        np.testing.assert_array_equal(b, a, err_msg=what)
        return
    # tolerances of the least precise float among the case's inputs (a float32 value
    # scaling a float64 weight makes the weight's float64 gradient float32-exact only)
    rtol, atol = max(TOL[a.dtype.type], TOL.get(least, (0, 0)))
    if "grad" in what:    # gradients of near-constant groups are ill-conditioned in float32
        rtol, atol = rtol * 2, atol * 2
    scale = max(1.0, float(np.nanmax(np.abs(a), initial=0)))
    np.testing.assert_allclose(b.astype(np.float64), a.astype(np.float64), rtol=rtol,
                               atol=atol * scale, equal_nan=True, err_msg=what)


# PyTorch's errors that are accidents of its Python code rather than a check (tapegrad
# raises its ValueError/ArgumentError there): group_norm's num_groups=0, lp_pool's p=0.
_ACCIDENTS = (ZeroDivisionError,)


def check(case, seed):
    fn, args, kw = case
    rg, tgs = _run("tapegrad", fn, args, kw, seed)
    if isinstance(rg, Exception) and "reads only padding" in str(rg):
        # A deliberate difference: PyTorch gives -inf with an index outside the plane, and
        # its backward then writes out of bounds (so torch is not run on these).
        return "deviation"
    rt, tt = _run("torch", fn, args, kw, seed)
    desc = f"{fn}({', '.join(_show(a) for a in args)}, {kw})"
    if isinstance(rt, Exception):
        if not isinstance(rg, Exception):
            if _torch_only_limit(rt):
                return "torch-unsupported"
            raise AssertionError(f"{desc}: torch raised {type(rt).__name__}: {rt}; tapegrad "
                                 "succeeded")
        want = (ValueError,) if isinstance(rt, _ACCIDENTS) else type(rt).__mro__[:-2]
        want = tuple(c for c in want if c.__module__ == "builtins") or (Exception,)
        assert isinstance(rg, want[0]), (f"{desc}: torch raised {type(rt).__name__} ({rt}), "
                                         f"tapegrad {type(rg).__name__} ({rg})")
        assert fn.split("_")[0] in str(rg) or fn in str(rg), f"{desc}: message {rg}"
        return "both-raise"
    if isinstance(rg, Exception):
        raise AssertionError(f"{desc}: tapegrad raised {type(rg).__name__}: {rg}; torch "
                             "succeeded") from rg
    (ot, gt), (og, gg) = rt, rg
    floats = [a.array.dtype.type for a in args
              if isinstance(a, Arr) and a.array.dtype.kind == "f"]
    least = min(floats, key=lambda t: np.finfo(t).bits, default=None)
    if fn.startswith("max_unpool") and _repeats(args[1].array, int(fn[-2])):
        ot, og = ot[:0], og[:0]   # a position written twice: PyTorch's winner is unspecified
    assert len(ot) == len(og), desc
    for i, (a, b) in enumerate(zip(ot, og)):
        _close(a, b, f"{desc}: output {i}", least)
    if gt is not None or gg is not None:
        assert gt is not None and gg is not None, f"{desc}: requires_grad differs"
        for i, (a, b) in enumerate(zip(gt, gg)):
            assert (a is None) == (b is None), f"{desc}: grad {i} None in one only"
            if a is not None:
                _close(a, b, f"{desc}: grad {i}", least)
    for (a, t1), (_, t2) in zip(tt, tgs):     # the arguments afterwards (running stats)
        _close(_as(t1.detach().numpy(), a.array.dtype), t2.detach().numpy(),
               f"{desc}: argument after the call", least)
    return "ok"


def _torch_only_limit(e):
    """PyTorch's own limits and bugs, not tapegrad failures: CPU kernels missing for a dtype,
    lp_pool1d with a tuple kernel_size (it multiplies by the tuple), group_norm without a
    weight but with a bias, adaptive max pooling's backward to an empty output, and lp_pool2d/3d
    with a 1-tuple kernel_size (tapegrad broadcasts it, as every other pool does)."""
    s = str(e)
    return any(w in s for w in ("not implemented for", "mul(): argument 'other'",
                                "does not have a device", "to have non-zero size",
                                "not enough values to unpack"))


def _repeats(idx, d):
    """Whether a plane of max_unpool's indices names a position twice."""
    rows = idx.reshape(-1, int(np.prod(idx.shape[idx.ndim - d:])))
    return any(len(np.unique(r)) < len(r) for r in rows)


def _show(a):
    if isinstance(a, Arr):
        return f"<{a.array.dtype} {a.array.shape}{' view' * a.view}>"
    return repr(a)


def cases(n, seed=0):
    rng = np.random.default_rng(seed)
    for i in range(n):
        yield i, (_pool_case(rng) if rng.random() < 0.55 else _norm_case(rng))


@pytest.mark.parametrize("block", range(4))
def test_fuzz_against_torch(block):
    for i, case in cases(60, seed=block):
        check(case, seed=i)


if __name__ == "__main__":       # a larger sweep by hand: python <this file> N [seed]
    from collections import Counter
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    seed0 = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    tally, fails = Counter(), Counter()
    for i, case in cases(n, seed=seed0):
        try:
            tally[check(case, seed=i)] += 1
        except AssertionError as e:
            key = case[0] + ": " + str(e).split(": ", 2)[-1][:60]
            fails[case[0]] += 1
            if fails[case[0]] <= 3:
                print("FAIL", i, str(e)[:600], "\n")
    print(dict(tally), dict(fails))
