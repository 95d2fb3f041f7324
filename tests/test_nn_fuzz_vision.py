"""Seeded differential sweeps of the vision and sparse functions against PyTorch (skipped where
torch is not installed): pad, interpolate, grid_sample, affine_grid, pixel_(un)shuffle, one_hot,
embedding and embedding_bag over random argument combinations, float32/float64 (and float16
forwards). For each case both libraries either succeed, with the same values, result dtype,
gradients of every float input and in-place updates (max_norm), or both raise, tapegrad's
error being an instance of the builtin class torch raised.

Cases where PyTorch 2.13's CPU result is itself wrong are left out, each with its reason.
"""
import math

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _run(lib, fn, arrays, grad, seed):
    ts = []
    for a in arrays:
        t = (tg.tensor if lib is tg else torch.tensor)(a.copy())
        if grad and a.dtype.kind == "f":
            t.requires_grad_(True)
        ts.append(t)
    out = fn(F if lib is tg else TF, *ts)
    grads = None
    if grad and any(t.requires_grad for t in ts):
        o = out.detach().numpy()
        u = np.random.default_rng(seed).standard_normal(o.shape).astype(o.dtype)
        (out * (tg.tensor if lib is tg else torch.tensor)(u)).sum().backward()
        grads = [None if t.grad is None else t.grad.numpy() for t in ts]
    return out.detach().numpy(), grads, [t.detach().numpy() for t in ts]


def _compare(desc, fn, arrays, grad, tol, seed):
    """A list of the ways tapegrad and torch disagree on fn(F, *tensors) (empty: none)."""
    res = []
    for lib in (tg, torch):
        try:
            res.append((True, _run(lib, fn, arrays, grad, seed)))
        except Exception as e:      # noqa: BLE001: the error itself is what is compared
            res.append((False, e))
    (ok_a, a), (ok_b, b) = res
    if not ok_a and not ok_b:
        if not type(a).__module__.startswith("tapegrad"):
            return [f"{desc}: non-tapegrad error {type(a).__name__}: {a}"]
        if not isinstance(a, type(b)):
            return [f"{desc}: tapegrad's {type(a).__name__} is no {type(b).__name__} ({b})"]
        return []
    if ok_a != ok_b:
        e = b if ok_a else a
        who = "torch" if ok_a else "tapegrad"
        return [f"{desc}: only {who} raised {type(e).__name__}: {e}"]
    (oa, ga, ia), (ob, gb, ib) = a, b
    close = lambda x, y, t: x.shape == y.shape and np.allclose(   # noqa: E731
        x.astype(np.float64), y.astype(np.float64), rtol=t, atol=t, equal_nan=True)
    bad = []
    if oa.dtype != ob.dtype or not close(oa, ob, tol):
        bad.append(f"{desc}: values/dtype differ ({oa.dtype} vs {ob.dtype})")
    bad += [f"{desc}: input {i} updated differently"
            for i, (x, y) in enumerate(zip(ia, ib)) if not close(x, y, tol)]
    for i, (x, y) in enumerate(zip(ga or [], gb or [])):
        if (x is None) != (y is None) or x is not None and not close(x, y, 10 * tol):
            bad.append(f"{desc}: gradient of input {i} differs")
    return bad


def _dtype(rng):
    dtype = str(rng.choice(["float32", "float64", "float16"], p=[0.45, 0.45, 0.1]))
    tol = {"float16": 3e-3, "float32": 1e-4, "float64": 1e-9}[dtype]
    return dtype, tol, dtype != "float16"     # float16: forwards only


def _pad_case(rng):
    mode = str(rng.choice(["constant", "reflect", "replicate", "circular"]))
    ndim = int(rng.integers(1, 6))
    shape = tuple(int(s) for s in rng.integers(0 if rng.random() < 0.05 else 1, 5, ndim))
    k = int(rng.integers(0, min(ndim, 3 if mode != "constant" else ndim) + 1))
    pad = tuple(int(p) for p in rng.integers(-3, 5, 2 * k))
    dtype, tol, grad = _dtype(rng)
    value = float(rng.normal()) if mode == "constant" and rng.random() < 0.5 else None
    if mode == "circular" and 1 <= k <= 3 and ndim in (k + 1, k + 2):
        for i in range(k):
            n, lo, hi = shape[ndim - 1 - i], pad[2 * i], pad[2 * i + 1]
            if max(lo, hi) <= n and n + lo + hi >= 0 and max(lo, hi, 0) > (
                    n - max(-lo, 0) - max(-hi, 0)):
                return None      # torch wraps past the cropped part: it reads unwritten memory
    if mode in ("reflect", "replicate") and 1 <= k <= 3 and any(
            shape[ndim - 1 - i] + pad[2 * i] + pad[2 * i + 1] == 0 for i in range(k)):
        return None              # torch refuses an empty result for some ranks only
    kw = {"mode": mode} if value is None else {"mode": mode, "value": value}
    a = rng.standard_normal(shape).astype(dtype)
    return f"pad{shape} {pad} {kw}", lambda F, x: F.pad(x, pad, **kw), [a], grad, tol


_RANK = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}


def _interpolate_case(rng):
    mode = str(rng.choice(["nearest", "nearest-exact", "linear", "bilinear", "bicubic",
                           "trilinear", "area"]))
    ndim = _RANK.get(mode, int(rng.integers(3, 6)))
    if rng.random() < 0.05:
        ndim = int(rng.integers(2, 7))
    shape = tuple(int(s) for s in rng.integers(1, 7, ndim))
    k = max(ndim - 2, 1)
    kw = {}
    if rng.random() < 0.5:
        size = tuple(int(s) for s in rng.integers(1, 10, k))
        kw["size"] = size[0] if rng.random() < 0.3 else size
        out = size if isinstance(kw["size"], tuple) else (size[0],) * k
    else:
        f = tuple(float(np.round(rng.uniform(0.3, 3.5), 3)) if rng.random() < 0.6
                  else float(rng.integers(1, 4)) for _ in range(k))
        kw["scale_factor"] = f[0] if rng.random() < 0.3 else f
        f = f if isinstance(kw["scale_factor"], tuple) else (f[0],) * k
        out = tuple(int(math.floor(n * s)) for n, s in zip(shape[2:], f))
        if rng.random() < 0.4:
            kw["recompute_scale_factor"] = bool(rng.random() < 0.5)
    if mode in _RANK and rng.random() < 0.7:
        kw["align_corners"] = bool(rng.random() < 0.5)
    if mode in ("bilinear", "bicubic") and rng.random() < 0.4:
        kw["antialias"] = True
    dtype, tol, grad = _dtype(rng)
    if kw.get("antialias") and dtype == "float16":
        return None              # torch has no float16 antialias kernel; tapegrad computes it
    scaled = "scale_factor" in kw and not kw.get("recompute_scale_factor")
    unchanged = ndim - 2 == len(out) and [a == b for a, b in zip(shape[2:], out)]
    if kw.get("antialias") and ndim == 4 and len(out) == 2 and out[1] == 1 and any(
            not u for u in unchanged):
        return None              # torch's antialias gives wrong values for an output width of 1
    if scaled and unchanged and any(unchanged) and (kw.get("antialias") or mode == "bicubic"):
        grad = False             # torch's backward disagrees with its forward on such a dim
    if scaled and mode == "nearest" and ndim in (3, 5) and any(
            b in (a, 2 * a) for a, b in zip(shape[2:], out)):
        grad = False             # torch's 1-d/3-d nearest backward takes its 2-d shortcuts
    if mode == "area" and 0 in out:
        grad = False             # torch's pooling backward refuses the empty result it made
    a = rng.standard_normal(shape).astype(dtype)
    return (f"interpolate{shape} {mode} {kw}", lambda F, x: F.interpolate(x, mode=mode, **kw),
            [a], grad, tol)


def _grid_case(rng):
    dtype, tol, grad = _dtype(rng)
    if dtype == "float16":
        return None              # torch's CPU kernel works in float16 (coordinates included)
    if rng.random() < 0.35:
        k = int(rng.choice([2, 3]))
        n = int(rng.integers(1, 4))
        size = (n, int(rng.integers(1, 3))) + tuple(
            int(v) for v in rng.integers(0 if rng.random() < 0.1 else 1, 5, k))
        if rng.random() < 0.05:
            size = size[:-1]
        ac = [None, True, False][int(rng.integers(0, 3))]
        theta = rng.standard_normal((n, k, k + 1)).astype(dtype)
        kw = {} if ac is None else {"align_corners": ac}
        return (f"affine_grid{theta.shape} {size} {kw}",
                lambda F, th: F.affine_grid(th, list(size), **kw), [theta], grad, tol)
    n, c, h, w, ho, wo = (int(v) for v in rng.integers(1, 5, 6))
    kw = {"mode": str(rng.choice(["bilinear", "nearest"])),
          "padding_mode": str(rng.choice(["zeros", "border", "reflection"]))}
    if rng.random() < 0.7:
        kw["align_corners"] = bool(rng.random() < 0.5)
    spread = float(rng.choice([1.0, 1.5, 3.0, 6.0]))
    a = rng.standard_normal((n, c, h, w)).astype(dtype)
    g = rng.uniform(-spread, spread, (n, ho, wo, 2)).astype(dtype)
    if rng.random() < 0.1:
        g.ravel()[rng.integers(0, g.size, 2)] = rng.choice([np.nan, np.inf, -np.inf], 2)
        grad = False             # torch's backward crashes on some non-finite coordinates
    return (f"grid_sample{a.shape} {g.shape} {kw}", lambda F, x, gr: F.grid_sample(x, gr, **kw),
            [a, g], grad, tol)


def _shuffle_case(rng):
    name = str(rng.choice(["pixel_shuffle", "pixel_unshuffle"]))
    r = int(rng.integers(1, 4))
    shape = [int(v) for v in rng.integers(1, 4, int(rng.integers(2, 6)))]
    if len(shape) >= 3 and rng.random() < 0.8:
        if name == "pixel_shuffle":
            shape[-3] *= r * r
        else:
            shape[-1], shape[-2] = shape[-1] * r, shape[-2] * r
    dtype, tol, grad = _dtype(rng)
    a = rng.standard_normal(shape).astype(dtype)
    return f"{name}{tuple(shape)} {r}", lambda F, x: getattr(F, name)(x, r), [a], grad, tol


def _one_hot_case(rng):
    shape = tuple(int(v) for v in rng.integers(0 if rng.random() < 0.1 else 1, 4,
                                               int(rng.integers(0, 3))))
    n = int(rng.choice([-1, 0, 3, 5, 7]))
    i = rng.integers(-1 if rng.random() < 0.05 else 0, 6, shape)
    i = i.astype(str(rng.choice(["int64", "int64", "int32"])))
    return f"one_hot{shape} {i.dtype} {n}", lambda F, x: F.one_hot(x, n), [i], False, 0


def _embedding_case(rng):
    num, dim = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    shape = tuple(int(v) for v in rng.integers(0 if rng.random() < 0.05 else 1, 4,
                                               int(rng.integers(0, 3))))
    i = rng.integers(0, num + (rng.random() < 0.05), shape)
    i = i.astype(str(rng.choice(["int64", "int32"])))
    dtype, tol, grad = _dtype(rng)
    kw = {}
    if rng.random() < 0.4:
        kw["padding_idx"] = int(rng.integers(-num - (rng.random() < 0.05), num))
    if rng.random() < 0.3:
        kw["max_norm"] = float(rng.uniform(0.3, 2))
        kw["norm_type"] = float(rng.choice([1.0, 2.0, 3.0]))
    if rng.random() < 0.3:
        kw["scale_grad_by_freq"] = True
    w = rng.standard_normal((num, dim)).astype(dtype)
    return (f"embedding{i.shape} {i.dtype} {w.shape} {kw}",
            lambda F, x, wt: F.embedding(x, wt, **kw), [i, w], grad, tol)


def _embedding_bag_case(rng):
    num, dim = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    kw = {"mode": str(rng.choice(["sum", "mean", "max"]))}
    if rng.random() < 0.5:
        i, off = rng.integers(0, num, (int(rng.integers(1, 4)), int(rng.integers(1, 4)))), None
    else:
        i = rng.integers(0, num, (int(rng.integers(0, 8)),))
        off = np.sort(rng.integers(0, i.size + 1, int(rng.integers(1, 5))))
        off[0] = 0
        if rng.random() < 0.3 and off.size >= 2 and off[-1] == i.size:
            # (torch segfaults on no bags, and folds indices past offsets[-1] into the last)
            kw["include_last_offset"] = True
    i = i.astype(str(rng.choice(["int64", "int32"])))
    dtype, tol, grad = _dtype(rng)
    w = rng.standard_normal((num, dim)).astype(dtype)
    psw = (rng.standard_normal(i.shape).astype(dtype)
           if kw["mode"] == "sum" and rng.random() < 0.4 or rng.random() < 0.03 else None)
    if rng.random() < 0.3:
        kw["padding_idx"] = int(rng.integers(-num, num))
    if rng.random() < 0.2:
        kw["max_norm"] = float(rng.uniform(0.3, 2))
    if rng.random() < 0.2 and kw["mode"] != "max":
        kw["scale_grad_by_freq"] = True
        grad = False             # torch's CPU backward divides by the wrong counts (#190063)
    arrays = [i, w] + ([off] if off is not None else []) + ([psw] if psw is not None else [])

    def fn(F, x, wt, *rest):
        rest = list(rest)
        o = rest.pop(0) if off is not None else None
        return F.embedding_bag(x, wt, o, per_sample_weights=rest[0] if rest else None, **kw)
    return (f"embedding_bag{i.shape} {i.dtype} offsets={off} psw={psw is not None} {kw}", fn,
            arrays, grad, tol)


SWEEPS = {"pad": (_pad_case, 150), "interpolate": (_interpolate_case, 150),
          "grid_sample/affine_grid": (_grid_case, 100), "pixel_shuffle": (_shuffle_case, 40),
          "one_hot": (_one_hot_case, 40), "embedding": (_embedding_case, 80),
          "embedding_bag": (_embedding_bag_case, 100)}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("family", list(SWEEPS))
def test_agrees_with_torch(family):
    make, count = SWEEPS[family]
    rng = np.random.default_rng(1234)
    problems = []
    for seed in range(count):
        case = make(rng)
        if case is not None:
            desc, fn, arrays, grad, tol = case
            problems += _compare(desc, fn, arrays, grad, tol, seed)
    assert not problems, "\n".join(problems[:20])
