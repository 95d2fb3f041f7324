"""Array kernels of the convolution primitives (tapegrad.ops.nn.conv): NumPy arrays in and
out, never a Tensor. Shapes are PyTorch's: x (N, C, *L), weight (O, C // groups, *k).

# Note [Convolution layout]
A convolution is a contraction over (input channel, kernel tap) of the input's windows. The
windows are a strided view (``windows``: no copy); the contraction needs them as a matrix,
so the forward and the weight gradient copy them once into ``cols`` of shape
(groups, C/groups * K, N * P) (K kernel taps, P output positions): the batch goes into the
GEMM's long side, so each group is ONE large GEMM (``matmul`` batched only over groups),
which measured about 1.5x faster than one small GEMM per image (the (N, C*K, P) layout).
The adjoint (conv_transpose, the input gradient) never builds cols: it loops over the K
kernel taps (a small static count), each a GEMM of the weight's tap with the input, added
into a shifted strided slice of the output. That avoids the K-times-larger column buffer and
measured faster than GEMM-then-col2im. Nothing loops over batch elements or positions.
"""
from math import prod

import numpy as np
from numpy.lib.stride_tricks import as_strided


def out_size(n, k, stride, pad, dilation):
    """Output length of a convolution along one dim; ``pad`` is (before, after)."""
    return (n + pad[0] + pad[1] - dilation * (k - 1) - 1) // stride + 1


def _spatial(shape, start=2):
    return tuple(shape[start:])


def pad(x, padding):
    """x (N, C, *L) with zeros added around each spatial dim (``padding``: (before, after)
    per dim); x itself when there is none."""
    if not any(lo or hi for lo, hi in padding):
        return x
    shape = x.shape[:2] + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], padding))
    out = np.zeros(shape, x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(lo, lo + n) for n, (lo, _) in
                                           zip(x.shape[2:], padding))] = x
    return out


def windows(xp, groups, kernel, stride, dilation, out):
    """The windows of the padded input ``xp`` (N, C, *Lp) as a read-only strided view of
    shape (groups, C/groups, *kernel, N, *out): element [g, c, i.., n, o..] is
    xp[n, g*C/groups + c, o*stride + i*dilation ..]."""
    n, c = xp.shape[:2]
    cg = c // groups
    sn, sc = xp.strides[:2]
    sp = xp.strides[2:]
    shape = (groups, cg) + tuple(kernel) + (n,) + tuple(out)
    strides = ((cg * sc, sc) + tuple(d * s for d, s in zip(dilation, sp)) + (sn,)
               + tuple(st * s for st, s in zip(stride, sp)))
    return as_strided(xp, shape, strides, writeable=False)


def im2col(x, groups, kernel, stride, padding, dilation, out):
    """The windows of x copied into one contiguous (groups, C/groups * K, N * P) matrix
    (Note [Convolution layout])."""
    w = windows(pad(x, padding), groups, kernel, stride, dilation, out)
    return np.ascontiguousarray(w).reshape(groups, -1, x.shape[0] * prod(out))


def group_major(a, groups):
    """(N, C, *L) -> (groups, C/groups, N * P), a contiguous copy: the layout whose GEMMs have
    the batch on their long side."""
    n, c = a.shape[:2]
    p = prod(a.shape[2:])
    return np.ascontiguousarray(a.reshape(n, groups, c // groups, p).transpose(1, 2, 0, 3)
                                ).reshape(groups, c // groups, n * p)


def batch_major(m, n, spatial, bias):
    """(groups, C/groups, N * P) -> a contiguous (N, C, *spatial), with ``bias`` (C,) added
    in the same pass when given."""
    c = m.shape[0] * m.shape[1]
    src = np.moveaxis(m.reshape((c, n) + tuple(spatial)), 0, 1)
    out = np.empty(src.shape, m.dtype)
    if bias is None:
        np.copyto(out, src)
    else:
        np.add(src, bias.reshape((c,) + (1,) * len(spatial)), out=out)
    return out


def conv(x, w, b, stride, padding, dilation, groups):
    """Cross-correlation of x (N, C, *L) with w (O, C/groups, *k), plus b (O,) if given."""
    kernel = _spatial(w.shape)
    out = tuple(out_size(n, k, s, p, d) for n, k, s, p, d in
                zip(x.shape[2:], kernel, stride, padding, dilation))
    cols = im2col(x, groups, kernel, stride, padding, dilation, out)
    m = np.matmul(w.reshape(groups, w.shape[0] // groups, -1), cols)
    return batch_major(m, x.shape[0], out, b)


def conv_weight(x, g, stride, padding, dilation, groups, kernel):
    """The weight gradient of conv: sum over batch and positions of g times x's windows,
    shape (O, C/groups, *kernel) for x (N, C, *L) and g (N, O, *out)."""
    cols = im2col(x, groups, kernel, stride, padding, dilation, _spatial(g.shape))
    gm = group_major(g, groups)
    gw = np.matmul(gm, cols.transpose(0, 2, 1))
    return gw.reshape((g.shape[1], x.shape[1] // groups) + tuple(kernel))


def conv_transpose(x, w, b, stride, padding, dilation, groups, size):
    """The adjoint of conv's input: x (N, Cin, *L) in conv's output space, w (Cin,
    Cout/groups, *k) as conv's weight; the result (N, Cout, *size) (plus b) is conv's input
    space cropped from its padded frame. One GEMM per kernel tap, added into a strided
    slice (Note [Convolution layout])."""
    n = x.shape[0]
    kernel, length = _spatial(w.shape), _spatial(x.shape)
    og, cg = w.shape[0] // groups, w.shape[1]
    c, k = cg * groups, prod(kernel)
    xm = group_major(x, groups)                                    # (G, og, N*P)
    wt = np.ascontiguousarray(
        w.reshape(groups, og, cg, k).transpose(3, 0, 2, 1))        # (K, G, cg, og)
    framed = tuple(s + lo + hi for s, (lo, hi) in zip(size, padding))
    yp = np.zeros((n, c) + framed, x.dtype)
    tmp = np.empty((groups, cg, xm.shape[2]), x.dtype)
    back = (1, 0) + tuple(range(2, 2 + len(length)))
    for t, tap in enumerate(np.ndindex(*kernel)):
        np.matmul(wt[t], xm, out=tmp)
        region = yp[(slice(None), slice(None)) + tuple(
            slice(i * d, i * d + s * (m - 1) + 1, s)
            for i, d, s, m in zip(tap, dilation, stride, length))]
        region += tmp.reshape((c, n) + length).transpose(back)
    y = yp[(slice(None), slice(None)) + tuple(
        slice(lo, lo + s) for s, (lo, _) in zip(size, padding))]
    out = np.empty(y.shape, y.dtype)
    if b is None:
        np.copyto(out, y)
    else:
        np.add(y, b.reshape((c,) + (1,) * len(size)), out=out)
    return out


def unfold(x, kernel, stride, padding, dilation, out):
    """im2col in PyTorch's layout: x (N, C, *L) -> (N, C * K, P), channel-major, then taps."""
    n, c = x.shape[:2]
    view = windows(pad(x, padding), 1, kernel, stride, dilation, out)[0]   # (C, *k, N, *out)
    view = np.moveaxis(view, 1 + len(kernel), 0)
    return np.ascontiguousarray(view).reshape(n, c * prod(kernel), prod(out))


def fold(cols, size, kernel, stride, padding, dilation, out):
    """col2im, unfold's adjoint: (N, C * K, P) -> (N, C, *size), overlapping taps summed."""
    n = cols.shape[0]
    c = cols.shape[1] // prod(kernel)
    blocks = cols.reshape((n, c) + tuple(kernel) + tuple(out))
    framed = tuple(s + lo + hi for s, (lo, hi) in zip(size, padding))
    yp = np.zeros((n, c) + framed, cols.dtype)
    every = (slice(None), slice(None))
    for tap in np.ndindex(*kernel):
        yp[every + tuple(slice(i * d, i * d + s * (m - 1) + 1, s)
                         for i, d, s, m in zip(tap, dilation, stride, out))] += blocks[every + tap]
    return np.ascontiguousarray(yp[every + tuple(slice(lo, lo + s)
                                                 for s, (lo, _) in zip(size, padding))])
