"""Op database rows for tapegrad.nn.functional's conv (see tests/opinfo.py for what a row
is; public functions are named 'F.<name>' in a row's api=).

The references are plain loops over output (or input) positions, written from the
definition, independent of the strided-window kernels they check."""
from itertools import product

import numpy as np

import tapegrad.nn.functional as F
from nn_parity import Case, floats
from opinfo import OpInfo, Sample, uniform

CONV_OPS = ("conv", "conv_transpose", "conv_weight")


# ---- references -----------------------------------------------------------------------------
def _tuple(v, d):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * d


def _pads(padding, d, kernel, dilation):
    if padding == "valid":
        return [(0, 0)] * d
    if padding == "same":
        tot = [di * (k - 1) for di, k in zip(dilation, kernel)]
        return [(t // 2, t - t // 2) for t in tot]
    return [(p, p) for p in _tuple(padding, d)]


def ref_conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation by definition: a loop over output positions."""
    d = w.ndim - 2
    if x.ndim == d + 1:
        return ref_conv(x[None], w, b, stride, padding, dilation, groups)[0]
    stride, dilation = _tuple(stride, d), _tuple(dilation, d)
    kernel = w.shape[2:]
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0)] + _pads(padding, d, kernel, dilation))
    out = [(n - di * (k - 1) - 1) // s + 1
           for n, k, s, di in zip(xp.shape[2:], kernel, stride, dilation)]
    o, cg = w.shape[0], w.shape[1]
    og = o // groups
    y = np.zeros((x.shape[0], o) + tuple(out))
    for pos in product(*(range(n) for n in out)):
        idx = np.ix_(*(p * s + np.arange(k) * di
                       for p, s, k, di in zip(pos, stride, kernel, dilation)))
        for g in range(groups):
            win = xp[:, g * cg:(g + 1) * cg][(slice(None), slice(None)) + idx]
            y[(slice(None), slice(g * og, (g + 1) * og)) + pos] = np.tensordot(
                win, w[g * og:(g + 1) * og], axes=(list(range(1, d + 2)),
                                                   list(range(1, d + 2))))
    if b is not None:
        y += b.reshape((-1,) + (1,) * d)
    return y.astype(x.dtype)


def ref_conv_transpose(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                       dilation=1):
    """Transposed convolution by definition: each input position scatters weight * value."""
    d = w.ndim - 2
    if x.ndim == d + 1:
        return ref_conv_transpose(x[None], w, b, stride, padding, output_padding, groups,
                                  dilation)[0]
    stride, dilation = _tuple(stride, d), _tuple(dilation, d)
    pad, extra = _tuple(padding, d), _tuple(output_padding, d)
    kernel = w.shape[2:]
    cin, cg = w.shape[0], w.shape[1]
    ig = cin // groups
    size = [(n - 1) * s - 2 * p + di * (k - 1) + e + 1
            for n, s, p, di, k, e in zip(x.shape[2:], stride, pad, dilation, kernel, extra)]
    framed = [n + 2 * p for n, p in zip(size, pad)]
    y = np.zeros((x.shape[0], cg * groups) + tuple(framed))
    for pos in product(*(range(n) for n in x.shape[2:])):
        idx = np.ix_(*(p * s + np.arange(k) * di
                       for p, s, k, di in zip(pos, stride, kernel, dilation)))
        for g in range(groups):
            v = x[(slice(None), slice(g * ig, (g + 1) * ig)) + pos].astype(np.float64)
            y[(slice(None), slice(g * cg, (g + 1) * cg)) + idx] += np.tensordot(
                v, w[g * ig:(g + 1) * ig], axes=(1, 0))
    y = y[(slice(None), slice(None)) + tuple(slice(p, p + n) for p, n in zip(pad, size))]
    if b is not None:
        y = y + b.reshape((-1,) + (1,) * d)
    return y.astype(x.dtype)


def _blocks(size, kernel, dilation, padding, stride):
    return [(n + 2 * p - di * (k - 1) - 1) // s + 1
            for n, k, di, p, s in zip(size, kernel, dilation, padding, stride)]


def ref_unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    if x.ndim == 3:
        return ref_unfold(x[None], kernel_size, dilation, padding, stride)[0]
    k, di, p, s = (_tuple(v, 2) for v in (kernel_size, dilation, padding, stride))
    xp = np.pad(x, [(0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])])
    grid = _blocks(x.shape[2:], k, di, p, s)
    cols = np.zeros((x.shape[0], x.shape[1] * k[0] * k[1], grid[0] * grid[1]), x.dtype)
    for bi, bj in product(range(grid[0]), range(grid[1])):
        block = xp[:, :, bi * s[0]:bi * s[0] + di[0] * (k[0] - 1) + 1:di[0],
                   bj * s[1]:bj * s[1] + di[1] * (k[1] - 1) + 1:di[1]]
        cols[:, :, bi * grid[1] + bj] = block.reshape(x.shape[0], -1)
    return cols


def ref_fold(cols, output_size, kernel_size, dilation=1, padding=0, stride=1):
    if cols.ndim == 2:
        return ref_fold(cols[None], output_size, kernel_size, dilation, padding, stride)[0]
    size, k, di, p, s = (_tuple(v, 2) for v in (output_size, kernel_size, dilation, padding,
                                                  stride))
    grid = _blocks(size, k, di, p, s)
    n, c = cols.shape[0], cols.shape[1] // (k[0] * k[1])
    y = np.zeros((n, c, size[0] + 2 * p[0], size[1] + 2 * p[1]))
    for bi, bj in product(range(grid[0]), range(grid[1])):
        block = cols[:, :, bi * grid[1] + bj].reshape(n, c, k[0], k[1])
        y[:, :, bi * s[0]:bi * s[0] + di[0] * (k[0] - 1) + 1:di[0],
          bj * s[1]:bj * s[1] + di[1] * (k[1] - 1) + 1:di[1]] += block
    return y[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]].astype(cols.dtype)


# ---- samples --------------------------------------------------------------------------------
def cases(specs):
    """Samples from (shapes of the array arguments, kwargs) specs."""
    def gen(op, dtype, rng):
        return [Sample(tuple(uniform(rng, s, dtype, op.domain) for s in shapes), dict(kw),
                       desc=f"{shapes} {kw}") for shapes, kw in specs]
    return gen


CONV1D = [([(2, 3, 7), (4, 3, 3), (4,)], {}),
          ([(2, 4, 9), (4, 2, 3)], {"stride": 2, "padding": 1, "groups": 2}),
          ([(2, 2, 8), (3, 2, 2), (3,)], {"padding": "same", "dilation": 2}),
          ([(3, 6), (2, 3, 3)], {"padding": "valid"})]
CONV2D = [([(2, 3, 5, 5), (2, 3, 3, 3), (2,)], {}),
          ([(2, 2, 6, 5), (3, 2, 2, 3)], {"stride": (2, 1), "padding": (1, 0),
                                          "dilation": (1, 2)}),
          ([(1, 4, 5, 5), (4, 1, 3, 3), (4,)], {"padding": 1, "groups": 4}),
          ([(2, 4, 5, 4), (4, 2, 2, 2)], {"padding": "same", "groups": 2}),
          ([(3, 5, 5), (2, 3, 3, 3)], {"stride": 2})]
CONV3D = [([(1, 2, 4, 4, 3), (2, 2, 2, 3, 2), (2,)], {}),
          ([(2, 2, 5, 4, 4), (2, 1, 3, 2, 2)], {"stride": 2, "padding": 1, "groups": 2})]
CONVT1D = [([(2, 3, 4), (3, 2, 3), (2,)], {}),
           ([(2, 4, 4), (4, 1, 3)], {"stride": 2, "padding": 1, "output_padding": 1,
                                     "groups": 2}),
           ([(3, 4), (3, 2, 2)], {"stride": 3, "output_padding": 1, "dilation": 2})]
CONVT2D = [([(2, 3, 3, 3), (3, 2, 3, 3), (2,)], {}),
           ([(2, 2, 3, 4), (2, 3, 2, 3)], {"stride": 2, "padding": 1,
                                           "output_padding": (1, 0), "dilation": (1, 2)}),
           ([(1, 4, 3, 3), (4, 1, 3, 3), (4,)], {"stride": 2, "groups": 4}),
           ([(2, 3, 3), (2, 2, 2, 2)], {"output_padding": 1, "dilation": 2})]
CONVT3D = [([(1, 2, 2, 3, 2), (2, 2, 2, 2, 2), (2,)], {}),
           ([(1, 2, 2, 2, 2), (2, 1, 2, 2, 2)], {"stride": 2, "padding": 1,
                                                 "output_padding": 1, "groups": 2})]
UNFOLD = [([(2, 2, 4, 5)], {"kernel_size": (2, 3)}),
          ([(1, 2, 5, 5)], {"kernel_size": 2, "dilation": 2, "padding": 1, "stride": 2}),
          ([(2, 4, 4)], {"kernel_size": 3, "padding": 1})]
FOLD = [([(2, 12, 4)], {"output_size": (3, 4), "kernel_size": (2, 3)}),
        ([(1, 8, 9)], {"output_size": 5, "kernel_size": 2, "dilation": 2, "padding": 1,
                       "stride": 2}),
        ([(18, 16)], {"output_size": (4, 4), "kernel_size": 3, "padding": 1})]


def _conv_row(name, fn, ref, specs):
    return OpInfo(f"F.{name}", fn, ref, cases(specs), covers=CONV_OPS,
                  api=(f"F.{name}", name))


ROWS = [
    _conv_row("conv1d", F.conv1d, ref_conv, CONV1D),
    _conv_row("conv2d", F.conv2d, ref_conv, CONV2D),
    _conv_row("conv3d", F.conv3d, ref_conv, CONV3D),
    _conv_row("conv_transpose1d", F.conv_transpose1d, ref_conv_transpose, CONVT1D),
    _conv_row("conv_transpose2d", F.conv_transpose2d, ref_conv_transpose, CONVT2D),
    _conv_row("conv_transpose3d", F.conv_transpose3d, ref_conv_transpose, CONVT3D),
    OpInfo("F.unfold", F.unfold, ref_unfold, cases(UNFOLD), covers=("unfold", "fold")),
    OpInfo("F.fold", F.fold, ref_fold, cases(FOLD), covers=("fold", "unfold")),
]
PARITY = []       # expressions over x, y, z, m (tests/test_torch_parity.py)

_F64 = {"dtype": "float64"}
NN_PARITY = [     # nn_parity.Case entries with their own inputs (tests/test_torch_parity_nn.py)
    Case("F.conv1d(a, w, b)", a=(4, 3, 20), w=(6, 3, 5), b=(6,)),
    Case("F.conv1d(a, w, stride=3, padding=2, dilation=2, groups=3)", a=(2, 6, 17),
         w=(9, 2, 3)),
    Case("F.conv1d(a, w, padding='same')", a=(2, 3, 10), w=(4, 3, 4)),
    Case("F.conv2d(a, w, b)", a=(8, 1, 28, 28), w=(32, 1, 3, 3), b=(32,), grad_atol=2e-4),
    Case("F.conv2d(a, w, stride=2)", a=(2, 3, 8, 8), w=(4, 3, 3, 3)),
    Case("F.conv2d(a, w, b, stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2)",
         a=(3, 4, 11, 9), w=(6, 2, 3, 2), b=(6,)),
    Case("F.conv2d(a, w, padding='same', dilation=2)", a=(2, 3, 9, 8), w=(5, 3, 4, 3)),
    Case("F.conv2d(a, w, padding='valid', groups=8)", a=(2, 8, 7, 7), w=(16, 1, 3, 3)),
    Case("F.conv2d(a, w, b, padding=1)", a=(3, 9, 9), w=(4, 3, 3, 3), b=(4,)),
    Case("F.conv2d(a, w, b, stride=2, padding=1)", a=floats((2, 3, 9, 9), dtype="float64"),
         w=floats((4, 3, 3, 3), dtype="float64"), b=floats((4,), dtype="float64"),
         rtol=1e-10, atol=1e-12, grad_rtol=1e-10, grad_atol=1e-12),
    Case("F.conv3d(a, w, b, stride=2, padding=1)", a=(2, 2, 7, 6, 5), w=(4, 2, 3, 3, 2),
         b=(4,)),
    Case("F.conv3d(a, w, padding='same', groups=2)", a=(1, 4, 5, 5, 4), w=(2, 2, 3, 2, 3)),
    Case("F.conv_transpose1d(a, w, b, stride=2, padding=1, output_padding=1)", a=(2, 3, 9),
         w=(3, 5, 4), b=(5,)),
    Case("F.conv_transpose2d(a, w, b)", a=(2, 4, 6, 5), w=(4, 3, 3, 3), b=(3,)),
    Case("F.conv_transpose2d(a, w, stride=2, padding=1, output_padding=1, groups=2)",
         a=(2, 4, 5, 5), w=(4, 3, 3, 3)),
    Case("F.conv_transpose2d(a, w, stride=(1, 2), output_padding=(1, 1), dilation=(2, 1))",
         a=(2, 3, 5, 4), w=(3, 2, 2, 3)),
    Case("F.conv_transpose2d(a, w, b, padding=(0, 1))", a=(3, 5, 5), w=(3, 2, 3, 3), b=(2,)),
    Case("F.conv_transpose3d(a, w, b, stride=2, padding=1, output_padding=1)",
         a=(1, 2, 3, 4, 3), w=(2, 3, 3, 3, 2), b=(3,)),
    Case("F.unfold(a, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1))", a=(2, 3, 8, 9)),
    Case("F.unfold(a, 3)", a=(4, 6, 5)),
    Case("F.fold(a, (6, 7), (2, 3), dilation=(1, 2), padding=1, stride=(2, 1))",
         a=(2, 12, 20)),
    Case("F.fold(a, 5, 2)", a=(8, 16)),
]
