"""Op database rows for tapegrad.nn.functional's vision and sparse parts (see tests/opinfo.py
for what a row is; public functions are named 'F.<name>' in a row's api=).

The references are plain loops over output positions, written from PyTorch's documented
formulas in float64, independent of the vectorized implementations."""
import math

import numpy as np

import tapegrad.nn.functional as F
from nn_parity import Case, floats, ints
from opinfo import FLOATS, I64, OpInfo, Sample, uniform


# ---- pad ----------------------------------------------------------------------------------------
def pad_ref(x, pad, mode="constant", value=None):
    """np.pad by the positive amounts (edge = replicate), then crop the negative ones; circular
    crops first, as PyTorch, and wraps around what is left."""
    k = len(pad) // 2
    crop = [slice(None)] * x.ndim
    widths = [(0, 0)] * x.ndim
    for i in range(k):
        d, lo, hi = x.ndim - 1 - i, pad[2 * i], pad[2 * i + 1]
        widths[d] = (max(lo, 0), max(hi, 0))
        size = x.shape[d] if mode == "circular" else x.shape[d] + widths[d][0] + widths[d][1]
        crop[d] = slice(max(-lo, 0), size - max(-hi, 0))
    np_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
               "circular": "wrap"}[mode]
    kw = {"constant_values": value or 0} if mode == "constant" else {}
    if mode == "circular":
        return np.pad(x[tuple(crop)], widths, mode=np_mode)
    return np.pad(x, widths, mode=np_mode, **kw)[tuple(crop)]


PAD_CASES = [((2, 3, 4), (1, 2), "constant", None), ((2, 3, 4), (1, 0, 2, 1), "constant", 0.5),
             ((3, 4), (-1, 2, 1, -1), "constant", -1.0), ((2, 1, 2, 3), (1, 1, 0, 2, 1, 0),
                                                          "constant", None),
             ((2, 5), (2, 3), "reflect", None), ((1, 2, 4, 5), (1, 2, 3, 1), "reflect", None),
             ((2, 2, 3), (-1, 2), "reflect", None),
             ((1, 1, 3, 3, 4), (1, 2, 2, 1, 1, 1), "reflect", None),
             ((2, 3, 4), (2, 3), "replicate", None), ((2, 3, 4), (1, 2, 3, 0), "replicate", None),
             ((1, 2, 2, 3, 2), (1, 1, 2, 0, 1, 2), "replicate", None),
             ((2, 4), (3, 4), "circular", None), ((1, 2, 3, 4), (2, 1, 3, 1), "circular", None),
             ((2, 2, 5), (-1, 3), "circular", None), ((2, 2, 5), (2, -3), "circular", None)]


def pad_samples(op, dtype, rng):
    return [Sample((uniform(rng, s, dtype, (-2, 2)), p), {"mode": m, "value": v},
                   desc=f"{s} {p} {m}") for s, p, m, v in PAD_CASES]


# ---- interpolate --------------------------------------------------------------------------------
A = -0.75


def _cubic(x):
    x = abs(x)
    if x <= 1:
        return ((A + 2) * x - (A + 3)) * x * x + 1
    if x < 2:
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A
    return 0.0


def _aa_kernel(x, mode):
    x = abs(x)
    if mode == "bilinear":
        return max(0.0, 1 - x)
    a = -0.5
    if x < 1:
        return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1
    return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a if x < 2 else 0.0


def _resample_matrix(n_in, n_out, mode, align, scale, antialias=False):
    """M (n_out, n_in): output o = sum_i M[o, i] * input i, from PyTorch's formulas."""
    m = np.zeros((n_out, n_in))
    if align:
        step = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        step = 1.0 / scale if scale else n_in / n_out
    if antialias:            # the kernel widened by the downscaling factor, normalized
        width = (1 if mode == "bilinear" else 2) * max(step, 1.0)
        for o in range(n_out):
            centre = step * (o + 0.5)
            lo, hi = max(int(centre - width + 0.5), 0), min(int(centre + width + 0.5), n_in)
            for i in range(lo, hi):
                m[o, i] = _aa_kernel((i - centre + 0.5) / max(step, 1.0), mode)
            m[o] /= m[o].sum()
        return m
    for o in range(n_out):
        if mode == "area":          # adaptive average pooling
            lo, hi = math.floor(o * n_in / n_out), math.ceil((o + 1) * n_in / n_out)
            m[o, lo:hi] = 1.0 / (hi - lo)
            continue
        if mode in ("nearest", "nearest-exact"):
            src = (o + (0.5 if mode == "nearest-exact" else 0.0)) * step
            m[o, min(int(math.floor(src)), n_in - 1)] = 1.0
            continue
        src = o * step if align else (o + 0.5) * step - 0.5
        if mode == "bicubic":
            i = int(math.floor(src))
            for j in range(-1, 3):
                m[o, min(max(i + j, 0), n_in - 1)] += _cubic(src - (i + j))
        else:
            src = max(src, 0.0)
            i = min(int(math.floor(src)), n_in - 1)
            frac = src - i
            m[o, i] += 1 - frac
            m[o, min(i + 1, n_in - 1)] += frac
    return m


def interpolate_ref(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                    recompute_scale_factor=None, antialias=False):
    k = x.ndim - 2
    out = x.astype(np.float64)
    for i in range(k):
        n_in = x.shape[2 + i]
        if size is not None:
            n_out, scale = (size[i] if isinstance(size, tuple) else size), None
        else:
            f = scale_factor[i] if isinstance(scale_factor, tuple) else scale_factor
            n_out, scale = int(math.floor(n_in * f)), (None if recompute_scale_factor else f)
        if n_in == n_out and (mode != "bicubic" or antialias):
            continue        # PyTorch copies an unchanged dim
        m = _resample_matrix(n_in, n_out, mode, bool(align_corners), scale, antialias)
        out = np.moveaxis(np.tensordot(m, np.moveaxis(out, 2 + i, 0), axes=1), 0, 2 + i)
    return out.astype(x.dtype)


INTERP_CASES = [((2, 2, 5), "nearest", {"size": 7}), ((1, 2, 4, 3), "nearest",
                                                      {"scale_factor": 2}),
                ((1, 1, 2, 3, 2), "nearest", {"scale_factor": (1.5, 0.5, 2)}),
                ((2, 1, 5), "nearest-exact", {"size": 3}),
                ((1, 2, 3, 4), "nearest-exact", {"scale_factor": 1.7}),
                ((2, 1, 7), "area", {"size": 3}), ((1, 2, 5, 4), "area", {"scale_factor": 0.6}),
                ((1, 1, 3, 4, 2), "area", {"size": (2, 3, 1)}),
                ((2, 2, 5), "linear", {"size": 8}), ((2, 1, 6), "linear", {"scale_factor": 0.5}),
                ((1, 2, 3, 4), "bilinear", {"scale_factor": 1.5}),
                ((1, 1, 4, 3), "bilinear", {"size": (3, 5)}),
                ((1, 2, 3, 3), "bicubic", {"size": (5, 4)}),
                ((1, 1, 4, 5), "bicubic", {"scale_factor": (1.5, 0.6)}),
                ((1, 1, 2, 2, 3), "trilinear", {"scale_factor": 1.5}),
                ((1, 1, 3, 2, 2), "trilinear", {"size": (2, 3, 2)})]


def interpolate_samples(op, dtype, rng):
    out = []
    for shape, mode, kw in INTERP_CASES:
        aligns = (False, True) if mode in ("linear", "bilinear", "bicubic", "trilinear") \
            else (None,)
        for ac in aligns:
            kws = dict(kw, mode=mode, align_corners=ac)
            out.append(Sample((uniform(rng, shape, dtype, (-2, 2)),), kws,
                              desc=f"{shape} {kws}"))
    out.append(Sample((uniform(rng, (1, 1, 5), dtype, (-2, 2)),),
                      {"scale_factor": 1.7, "mode": "linear", "recompute_scale_factor": True},
                      desc="recompute_scale_factor"))
    for mode, shape, kw in (("bilinear", (1, 2, 7, 6), {"size": (3, 8)}),
                            ("bicubic", (1, 1, 8, 5), {"scale_factor": (0.4, 1.5)}),
                            ("bilinear", (1, 1, 5, 6), {"scale_factor": (1.2, 0.5)})):
        for ac in (False, True):
            kws = dict(kw, mode=mode, align_corners=ac, antialias=True)
            out.append(Sample((uniform(rng, shape, dtype, (-2, 2)),), kws,
                              desc=f"{shape} {kws}"))
    return out


def upsample_samples(op, dtype, rng):
    return [Sample((uniform(rng, (1, 2, 3, 2), dtype, (-2, 2)),), {"scale_factor": 2}),
            Sample((uniform(rng, (1, 1, 2, 3), dtype, (-2, 2)),), {"size": (3, 4)})]


# ---- grid_sample / affine_grid ------------------------------------------------------------------
def _reflect_ref(c, lo, hi):
    """Reflect c into [lo, hi] by repeated mirroring."""
    if hi == lo:
        return 0.0
    while c < lo or c > hi:
        c = 2 * lo - c if c < lo else 2 * hi - c
    return c


def grid_sample_ref(x, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    n, c, h, w = x.shape
    out = np.zeros((n, c) + grid.shape[1:3])
    for b in range(n):
        for i in range(grid.shape[1]):
            for j in range(grid.shape[2]):
                pos = []
                for g, size in ((grid[b, i, j, 0], w), (grid[b, i, j, 1], h)):
                    p = (g + 1) / 2 * (size - 1) if align_corners else ((g + 1) * size - 1) / 2
                    if padding_mode == "reflection":
                        p = (_reflect_ref(p, 0, size - 1) if align_corners
                             else _reflect_ref(p, -0.5, size - 0.5))
                    if padding_mode != "zeros":
                        p = min(max(p, 0), size - 1)
                    pos.append(p)
                px, py = pos

                def at(yy, xx):
                    inside = 0 <= yy < h and 0 <= xx < w
                    return x[b, :, yy, xx].astype(np.float64) if inside else np.zeros(c)
                if mode == "nearest":
                    out[b, :, i, j] = at(int(np.rint(py)), int(np.rint(px)))
                    continue
                x0, y0 = int(math.floor(px)), int(math.floor(py))
                fx, fy = px - x0, py - y0
                out[b, :, i, j] = ((1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1))
                                   + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1)))
    return out.astype(x.dtype)


def _grid(rng, shape, size_hw, align, lo, hi, dtype):
    """Grid points whose pixel coordinates sit in [lo, hi] of the image but away from
    integers and half-integers (the kinks of bilinear weights, of nearest rounding and of
    the reflections)."""
    pix = rng.integers(lo, hi, shape) + rng.choice([0.2, 0.3, 0.7, 0.8], shape) \
        + rng.uniform(-0.03, 0.03, shape)
    size = np.array(size_hw[::-1], dtype=np.float64)        # (w, h) for (x, y)
    g = 2 * pix / (size - 1) - 1 if align else (2 * pix + 1) / size - 1
    return g.astype(dtype)


def grid_sample_samples(op, dtype, rng):
    out = []
    for mode in ("bilinear", "nearest"):
        for pm in ("zeros", "border", "reflection"):
            for ac in (False, True):
                x = uniform(rng, (2, 1, 3, 4), dtype, (-2, 2))
                g = _grid(rng, (2, 1, 3, 2), (3, 4), ac, -2, 5, dtype)
                out.append(Sample((x, g), {"mode": mode, "padding_mode": pm,
                                           "align_corners": ac}, desc=f"{mode} {pm} {ac}"))
    return out


def affine_grid_ref(theta, size, align_corners=None):
    def coords(steps):
        if steps <= 1:
            return [0.0] * steps
        return [(-1 + 2 * i / (steps - 1)) * (1 if align_corners else (steps - 1) / steps)
                for i in range(steps)]
    spatial = size[2:]
    out = np.zeros((size[0],) + tuple(spatial) + (len(spatial),))
    axes = [coords(s) for s in spatial]
    for b in range(size[0]):
        for pos in np.ndindex(*spatial):
            point = [axes[d][pos[d]] for d in range(len(spatial))][::-1] + [1.0]  # x, y[, z]
            out[(b,) + pos] = theta[b] @ np.array(point)
    return out.astype(theta.dtype)


def affine_grid_samples(op, dtype, rng):
    return [Sample((uniform(rng, (2, 2, 3), dtype, (-1, 1)), (2, 3, 4, 5)),
                   {"align_corners": ac}, desc=f"2-d ac={ac}") for ac in (False, True)] + \
        [Sample((uniform(rng, (1, 3, 4), dtype, (-1, 1)), (1, 1, 2, 3, 2)),
                {"align_corners": ac}, desc=f"3-d ac={ac}") for ac in (False, True)]


# ---- pixel shuffle ------------------------------------------------------------------------------
def pixel_shuffle_ref(x, r):
    *batch, c, h, w = x.shape
    out = np.zeros(tuple(batch) + (c // (r * r), h * r, w * r), dtype=x.dtype)
    for ch in range(c // (r * r)):
        for i in range(h * r):
            for j in range(w * r):
                out[..., ch, i, j] = x[..., ch * r * r + (i % r) * r + j % r, i // r, j // r]
    return out


def pixel_unshuffle_ref(x, r):
    *batch, c, h, w = x.shape
    out = np.zeros(tuple(batch) + (c * r * r, h // r, w // r), dtype=x.dtype)
    for ch in range(c * r * r):
        for i in range(h // r):
            for j in range(w // r):
                sub = ch % (r * r)
                out[..., ch, i, j] = x[..., ch // (r * r), i * r + sub // r, j * r + sub % r]
    return out


def shuffle_samples(op, dtype, rng):
    return [Sample((uniform(rng, (1, 8, 2, 3), dtype, (-2, 2)), 2)),
            Sample((uniform(rng, (9, 1, 2), dtype, (-2, 2)), 3)),
            Sample((uniform(rng, (2, 1, 4, 2, 2), dtype, (-2, 2)), 1))]


def unshuffle_samples(op, dtype, rng):
    return [Sample((uniform(rng, (1, 2, 4, 6), dtype, (-2, 2)), 2)),
            Sample((uniform(rng, (1, 3, 6), dtype, (-2, 2)), 3)),
            Sample((uniform(rng, (2, 1, 1, 2, 2), dtype, (-2, 2)), 2))]


# ---- sparse -------------------------------------------------------------------------------------
def one_hot_ref(x, num_classes=-1):
    n = int(x.max()) + 1 if num_classes == -1 else num_classes
    out = np.zeros(x.shape + (n,), dtype=np.int64)
    for pos in np.ndindex(*x.shape):
        out[pos + (x[pos],)] = 1
    return out


def one_hot_samples(op, dtype, rng):
    return [Sample((np.array([0, 3, 1]),)), Sample((np.array([[2, 0], [1, 1]]), 5)),
            Sample((np.array(1), 3)), Sample((np.zeros((0,), dtype=np.int64), 4))]


def embedding_ref(idx, weight, padding_idx=None, scale_grad_by_freq=False):
    out = np.zeros(idx.shape + weight.shape[1:], dtype=weight.dtype)
    for pos in np.ndindex(*idx.shape):
        out[pos] = weight[idx[pos]]
    return out


def embedding_samples(op, dtype, rng):
    w = lambda: uniform(rng, (6, 3), dtype, (-2, 2))      # noqa: E731
    # NOTE: the gradient of a padding_idx row the input names (none) and of a repeated index
    # under scale_grad_by_freq (divided by its count) differ from the derivative by design,
    # which finite differences can't agree with; test_nn_sparse checks them by hand, and
    # torch parity too. Here padding_idx and scale_grad_by_freq meet other rows only.
    return [Sample((np.array([0, 5, 2, 2]), w())),
            Sample((np.array([[1, 2], [2, 4]]), w()), {"padding_idx": 3}),
            Sample((np.array([[0, 1, 1], [3, 1, 0]]), w()), {"padding_idx": -1}),
            Sample((np.array([2, 4, 3, 0]), w()), {"scale_grad_by_freq": True}),
            Sample((np.array([[2, 4], [3, 0]]), w()),
                   {"scale_grad_by_freq": True, "padding_idx": 1}),
            Sample((np.array(4), w()), desc="0-d index")]


def embedding_bag_ref(idx, weight, offsets=None, mode="mean", per_sample_weights=None,
                      include_last_offset=False, padding_idx=None):
    if idx.ndim == 2:
        bags = [list(range(i * idx.shape[1], (i + 1) * idx.shape[1]))
                for i in range(idx.shape[0])]
        flat, psw = idx.ravel(), (None if per_sample_weights is None
                                  else per_sample_weights.ravel())
    else:
        flat, psw = idx, per_sample_weights
        ends = list(offsets[1:]) + ([] if include_last_offset else [len(idx)])
        starts = list(offsets[:len(ends)])
        bags = [list(range(s, e)) for s, e in zip(starts, ends)]
    pad = None if padding_idx is None else padding_idx % weight.shape[0]
    out = np.zeros((len(bags), weight.shape[1]))
    for b, positions in enumerate(bags):
        rows = [weight[flat[p]] * (1.0 if psw is None else psw[p])
                for p in positions if flat[p] != pad]
        if rows:
            red = {"sum": np.sum, "mean": np.mean, "max": np.max}[mode]
            out[b] = red(np.array(rows, dtype=np.float64), axis=0)
    return out.astype(weight.dtype)


def embedding_bag_samples(op, dtype, rng):
    w = lambda: uniform(rng, (6, 3), dtype, (-2, 2))      # noqa: E731
    flat, offs = np.array([0, 5, 2, 1, 1, 3, 4]), np.array([0, 2, 2, 5])
    out = []
    for mode in ("sum", "mean", "max"):
        out += [Sample((np.array([[0, 5, 2], [3, 3, 1]]), w()), {"mode": mode},
                       desc=f"2-d {mode}"),
                Sample((flat, w(), offs), {"mode": mode}, desc=f"offsets {mode}"),
                Sample((flat, w(), np.array([0, 3, 3, 7])),
                       {"mode": mode, "include_last_offset": True}, desc=f"last {mode}"),
                Sample((flat, w(), offs), {"mode": mode, "padding_idx": 1},
                       desc=f"padding {mode}")]
    out.append(Sample((flat, w(), offs, uniform(rng, (7,), dtype, (-2, 2))), {"mode": "sum"},
                      desc="per_sample_weights"))
    out.append(Sample((np.array([[0, 5, 2], [3, 3, 1]]), w(), None,
                       uniform(rng, (2, 3), dtype, (-2, 2))), {"mode": "sum", "padding_idx": 5},
                      desc="2-d per_sample_weights, padding"))
    return out


def _embedding_bag(idx, weight, offsets=None, per_sample_weights=None, **kw):
    """per_sample_weights positional, so the row's samples make it a tensor."""
    return F.embedding_bag(idx, weight, offsets, per_sample_weights=per_sample_weights, **kw)


def _embedding_bag_ref(idx, weight, offsets=None, per_sample_weights=None, **kw):
    return embedding_bag_ref(idx, weight, offsets, per_sample_weights=per_sample_weights, **kw)


ROWS = [
    OpInfo("F.pad", F.pad, pad_ref, pad_samples, covers=("index_put", "getitem", "resample")),
    OpInfo("F.interpolate", F.interpolate, interpolate_ref, interpolate_samples,
           covers=("resample",)),
    OpInfo("F.upsample", F.upsample, interpolate_ref, upsample_samples, covers=("resample",)),
    OpInfo("F.upsample_nearest", F.upsample_nearest, interpolate_ref, upsample_samples,
           covers=("resample",)),
    OpInfo("F.upsample_bilinear", F.upsample_bilinear,
           lambda x, **kw: interpolate_ref(x, mode="bilinear", align_corners=True, **kw),
           upsample_samples, covers=("resample",)),
    OpInfo("F.grid_sample", F.grid_sample, grid_sample_ref, grid_sample_samples,
           covers=("resample", "mul", "add", "permute")),
    OpInfo("F.affine_grid", F.affine_grid, affine_grid_ref, affine_grid_samples,
           covers=("matmul",)),
    OpInfo("F.pixel_shuffle", F.pixel_shuffle, pixel_shuffle_ref, shuffle_samples,
           covers=("permute",)),
    OpInfo("F.pixel_unshuffle", F.pixel_unshuffle, pixel_unshuffle_ref, unshuffle_samples,
           covers=("permute",)),
    OpInfo("F.one_hot", F.one_hot, one_hot_ref, one_hot_samples, differentiable=False,
           result_dtype=lambda d: I64),
    OpInfo("F.embedding", F.embedding, embedding_ref, embedding_samples,
           covers=("resample", "sub", "mul", "add")),
    OpInfo("F.embedding_bag", _embedding_bag, _embedding_bag_ref, embedding_bag_samples,
           covers=("resample", "where"), api=("F.embedding_bag",)),
]
assert all(set(FLOATS) <= set(r.dtypes) for r in ROWS)

PARITY = []       # expressions over x, y, z, m (tests/test_torch_parity.py)

def _i(*values):
    return np.array(values, dtype=np.int64)


F64 = {"dtype": "float64"}
_HALF_TOL = {"rtol": 2e-3, "atol": 2e-3, "grad_rtol": 1e-2, "grad_atol": 1e-2}

NN_PARITY = [   # nn_parity.Case entries with their own inputs (tests/test_torch_parity_nn.py)
    Case("F.pad(x, (1, 2))", x=(2, 3, 4)),
    Case("F.pad(x, (1, 0, -1, 2), value=0.5)", x=(2, 3, 4)),
    Case("F.pad(x, (2, 1, 0, 1, 1, 1), 'constant', -2.0)", x=floats((2, 2, 3), **F64)),
    Case("F.pad(x, (-1, -1, 2, 0))", x=(3, 4)),
    Case("F.pad(x, (1, 3, 0, 2), 'constant', 2.5)", x=ints((2, 3), 9)),
    Case("F.pad(x, (2, 3), mode='reflect')", x=(2, 5)),
    Case("F.pad(x, (-1, 2), mode='reflect')", x=(2, 2, 3)),
    Case("F.pad(x, (1, 2, 2, 1), mode='reflect')", x=(1, 2, 3, 4)),
    Case("F.pad(x, (1, 2, 2, 1, 1, 0), mode='reflect')", x=floats((1, 1, 2, 3, 4), **F64)),
    Case("F.pad(x, (3, 1), mode='replicate')", x=(2, 3, 2)),
    Case("F.pad(x, (0, 2, -1, 3), mode='replicate')", x=(2, 3, 4)),
    Case("F.pad(x, (1, 1, 2, 0, 0, 3), mode='replicate')", x=(2, 2, 3, 2)),
    Case("F.pad(x, (4, 2), mode='circular')", x=(2, 4)),
    Case("F.pad(x, (2, -1, 1, 2), mode='circular')", x=(1, 2, 3, 4)),
    Case("F.pad(x, (1, 0, 1, 2, 2, 1), mode='circular')", x=(1, 1, 2, 3, 3)),
    Case("F.pad(x, (1, 2), mode='reflect')", x=floats((2, 4), dtype="float16"), **_HALF_TOL),
]
for _mode, _shape in (("nearest", (2, 2, 5)), ("nearest", (1, 2, 4, 5)),
                      ("nearest", (1, 1, 2, 3, 4)), ("nearest-exact", (1, 2, 5)),
                      ("nearest-exact", (1, 2, 4, 5)), ("area", (2, 2, 10)),
                      ("area", (1, 2, 7, 9)), ("area", (1, 1, 4, 5, 6))):
    NN_PARITY += [Case(f"F.interpolate(x, size=7, mode='{_mode}')", x=_shape),
                  Case(f"F.interpolate(x, scale_factor=1.7, mode='{_mode}')", x=_shape),
                  Case(f"F.interpolate(x, scale_factor=0.6, mode='{_mode}')", x=_shape),
                  Case(f"F.interpolate(x, scale_factor=2.3, mode='{_mode}', "
                       "recompute_scale_factor=True)", x=_shape)]
for _mode, _shape in (("linear", (2, 2, 5)), ("bilinear", (1, 2, 4, 5)),
                      ("bicubic", (1, 2, 4, 5)), ("trilinear", (1, 1, 2, 3, 4))):
    for _ac in (False, True):
        NN_PARITY += [
            Case(f"F.interpolate(x, size=7, mode='{_mode}', align_corners={_ac})", x=_shape),
            Case(f"F.interpolate(x, scale_factor=1.7, mode='{_mode}', align_corners={_ac})",
                 x=_shape),
            Case(f"F.interpolate(x, scale_factor=0.6, mode='{_mode}', align_corners={_ac})",
                 x=floats(_shape, **F64)),
            Case(f"F.interpolate(x, scale_factor=2.3, mode='{_mode}', align_corners={_ac}, "
                 "recompute_scale_factor=True)", x=_shape)]
for _mode in ("bilinear", "bicubic"):
    for _ac in (False, True):
        NN_PARITY += [
            Case(f"F.interpolate(x, size=(3, 4), mode='{_mode}', align_corners={_ac}, "
                 "antialias=True)", x=(1, 2, 8, 9)),
            Case(f"F.interpolate(x, size=(10, 3), mode='{_mode}', align_corners={_ac}, "
                 "antialias=True)", x=floats((2, 1, 5, 7), **F64)),
            Case(f"F.interpolate(x, scale_factor=0.4, mode='{_mode}', align_corners={_ac}, "
                 "antialias=True)", x=(1, 2, 11, 8))]
NN_PARITY += [
    Case("F.interpolate(x, scale_factor=(1.5, 0.7), mode='bilinear')", x=(2, 1, 4, 5)),
    Case("F.interpolate(x, size=(6, 3), mode='bicubic')", x=(2, 1, 4, 5)),
    Case("F.interpolate(x, scale_factor=2, mode='bilinear')", x=floats((1, 2, 3, 3),
                                                                        dtype="float16"),
         **_HALF_TOL),
    Case("F.interpolate(x.to(lib.uint8), scale_factor=2)", x=ints((1, 2, 3), 200, 0)),
    Case("F.upsample(x, scale_factor=2, mode='bilinear', align_corners=False)", x=(1, 2, 3, 3)),
    Case("F.upsample_nearest(x, size=(5, 4))", x=(1, 2, 3, 3)),
    Case("F.upsample_bilinear(x, scale_factor=2)", x=(1, 2, 3, 3)),
]
for _mode in ("bilinear", "nearest"):
    for _pm in ("zeros", "border", "reflection"):
        for _ac in (False, True):
            NN_PARITY.append(Case(
                f"F.grid_sample(x, g, mode='{_mode}', padding_mode='{_pm}', align_corners={_ac})",
                x=(2, 3, 4, 5), g=floats((2, 3, 4, 2), -1.6, 1.6)))
NN_PARITY += [
    Case("F.grid_sample(x, g)", x=floats((1, 2, 3, 4), **F64), g=floats((1, 5, 2, 2), **F64)),
    Case("F.grid_sample(x, g, padding_mode='reflection')", x=floats((1, 2, 3, 4), **F64),
         g=floats((1, 5, 2, 2), -3, 3, **F64)),
    Case("F.affine_grid(t, (2, 3, 4, 5), align_corners=False)", t=(2, 2, 3)),
    Case("F.affine_grid(t, (2, 3, 4, 1), align_corners=True)", t=(2, 2, 3)),
    Case("F.affine_grid(t, (1, 2, 2, 3, 4), align_corners=False)", t=floats((1, 3, 4), **F64)),
    Case("F.affine_grid(t, (1, 2, 2, 3, 4), align_corners=True)", t=(1, 3, 4)),
    Case("F.grid_sample(x, F.affine_grid(t, (2, 3, 5, 4), align_corners=False), "
         "align_corners=False)", x=(2, 3, 4, 5), t=floats((2, 2, 3), -0.8, 0.8)),
    Case("F.pixel_shuffle(x, 2)", x=(2, 8, 3, 2)),
    Case("F.pixel_shuffle(x, 3)", x=(9, 2, 1)),
    Case("F.pixel_shuffle(x, 2)", x=ints((1, 4, 2, 2), 10)),
    Case("F.pixel_unshuffle(x, 2)", x=(2, 2, 4, 6)),
    Case("F.pixel_unshuffle(x, 3)", x=floats((1, 1, 3, 6, 3), **F64)),
    # sparse
    Case("F.one_hot(i)", i=ints((3, 4), 6)),
    Case("F.one_hot(i, 7)", i=ints((5,), 6)),
    Case("F.embedding(i, w)", i=ints((2, 5), 6), w=(6, 3)),
    Case("F.embedding(i, w)", i=ints((4,), 6), w=floats((6, 3), **F64)),
    Case("F.embedding(i.int(), w)", i=ints((4,), 6), w=(6, 3)),
    Case("F.embedding(i, w, padding_idx=2)", i=_i([0, 2, 1], [2, 5, 2]), w=(6, 3)),
    Case("F.embedding(i, w, padding_idx=-1)", i=_i(5, 0, 5, 3), w=(6, 3)),
    Case("F.embedding(i, w, scale_grad_by_freq=True)", i=_i([0, 2, 1], [2, 5, 2]), w=(6, 3)),
    Case("F.embedding(i, w, scale_grad_by_freq=True, padding_idx=0)", i=_i(0, 3, 3, 0, 1),
         w=(6, 3)),
    Case("F.embedding(i, w, max_norm=1.0)", i=_i([0, 2, 1], [2, 5, 2]),
         w=floats((6, 3), -1.5, 1.5), after=("w",)),
    Case("F.embedding(i, w, max_norm=0.8, norm_type=1)", i=_i(4, 1, 4),
         w=floats((6, 3), -1.5, 1.5), after=("w",)),
    Case("F.embedding(i, w, max_norm=1.2, norm_type=float('inf'))", i=_i(4, 1, 0),
         w=floats((6, 3), -1.5, 1.5, dtype="float64"), after=("w",)),
    Case("F.embedding(i, w)", i=ints((4,), 6), w=floats((6, 3), dtype="float16"), **_HALF_TOL),
]
for _mode in ("sum", "mean", "max"):
    NN_PARITY += [
        Case(f"F.embedding_bag(i, w, mode='{_mode}')", i=ints((3, 4), 7), w=(7, 3)),
        Case(f"F.embedding_bag(i, w, o, mode='{_mode}')", i=ints((8,), 7), o=_i(0, 3, 3, 6),
             w=(7, 3)),
        Case(f"F.embedding_bag(i, w, o, mode='{_mode}', include_last_offset=True)",
             i=ints((8,), 7), o=_i(0, 3, 3, 5, 8), w=floats((7, 3), **F64)),
        Case(f"F.embedding_bag(i, w, o, mode='{_mode}', padding_idx=1)",
             i=_i(1, 0, 1, 4, 1, 1, 6, 2), o=_i(0, 3, 4, 6), w=(7, 3)),
        Case(f"F.embedding_bag(i, w, mode='{_mode}', padding_idx=-1)",
             i=_i([6, 6], [2, 6], [0, 3]), w=(7, 3)),
        Case(f"F.embedding_bag(i, w, o, mode='{_mode}', max_norm=0.9)", i=ints((6,), 7),
             o=_i(0, 2, 5), w=floats((7, 3), -1.5, 1.5), after=("w",)),
        Case(f"F.embedding_bag(i, w, o, mode='{_mode}')", i=_i(), o=_i(0, 0), w=(7, 3)),
    ]
NN_PARITY += [
    # scale_grad_by_freq where every index has one count: PyTorch's CPU backward looks the
    # count up by the wrong position otherwise (pytorch/pytorch#190063); test_nn_sparse
    # checks the documented 1 / count by hand
    Case("F.embedding_bag(i, w, o, mode='sum', scale_grad_by_freq=True)",
         i=_i(3, 1, 3, 1, 5, 5), o=_i(0, 3), w=(7, 3)),
    Case("F.embedding_bag(i, w, mode='mean', scale_grad_by_freq=True)",
         i=_i([2, 2, 4], [0, 4, 0]), w=(7, 3)),
    Case("F.embedding_bag(i, w, o, mode='sum', per_sample_weights=p)", i=ints((7,), 7),
         o=_i(0, 2, 2, 5), w=(7, 3), p=(7,)),
    Case("F.embedding_bag(i, w, mode='sum', per_sample_weights=p, padding_idx=3)",
         i=_i([3, 0, 1], [2, 3, 3]), w=(7, 3), p=(2, 3)),
    Case("F.embedding_bag(i.int(), w, o.int(), mode='mean')", i=ints((7,), 7),
         o=_i(0, 2, 2, 5), w=(7, 3)),
    Case("F.embedding_bag(i, w, mode='mean')", i=ints((3, 4), 7),
         w=floats((7, 3), dtype="float16"), **_HALF_TOL),
]
