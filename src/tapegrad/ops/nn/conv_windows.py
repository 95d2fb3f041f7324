"""Array kernels of the convolution primitives (tapegrad.ops.nn.conv): NumPy arrays in and
out, never a Tensor. Shapes are PyTorch's: x (N, C, *L), weight (O, C // groups, *k).

# Note [Convolution layout]
A convolution is a contraction over (input channel, kernel tap) of the input's windows. The
windows are a strided view (``windows``: no copy); the contraction needs them as a matrix,
so the forward copies them once into ``cols`` of shape (groups, C/groups * K, N * P) (K
kernel taps, P output positions), which the weight gradient reuses (Note [Conv keeps its
windows] in conv.py): the batch goes into the GEMM's long side, so each group is ONE large
GEMM (``matmul`` batched only over groups), which measured about 1.5x faster than one small
GEMM per image (the (N, C*K, P) layout).
The adjoint (conv_transpose, the input gradient) never builds cols: each kernel tap's
product of the weight with the input is added into a shifted slice of the output. With
stride 1 the input sits in the corner of a zero frame as large as the padded output, so
every tap is a shift along the flattened frame, and one GEMM gives all K taps' products for
a block of it, added while in cache into long shifted ranges (_scatter_flat); otherwise one
GEMM per tap, added into a strided slice. That avoids the K-times-larger column buffer and
measured 2x faster than GEMM-then-col2im on the benchmark's layer. The output is returned
C-contiguous (one transposing copy, with the bias added in it): PyTorch users call .view()
on it. Nothing loops over batch elements or positions (only over taps, and over cache-sized
blocks of the flat axis).
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
    return np.ascontiguousarray(w).reshape(groups, w.shape[1] * prod(kernel),
                                           x.shape[0] * prod(out))


def group_major(a, groups):
    """(N, C, *L) -> (groups, C/groups, N * P), a contiguous copy: the layout whose GEMMs have
    the batch on their long side."""
    n, c = a.shape[:2]
    p = prod(a.shape[2:])
    return np.ascontiguousarray(a.reshape(n, groups, c // groups, p).transpose(1, 2, 0, 3)
                                ).reshape(groups, c // groups, n * p)


def batch_major(m, n, spatial, bias, channels=None):
    """(groups, C/groups, N * P), or any array viewable as (C, N, *spatial), -> a contiguous
    (N, C, *spatial), with ``bias`` (C,) added in the same pass when given."""
    c = channels or m.shape[0] * m.shape[1]
    src = np.moveaxis(m.reshape((c, n) + tuple(spatial)), 0, 1)
    out = np.empty(src.shape, m.dtype)
    if bias is None:
        np.copyto(out, src)
    else:
        np.add(src, bias.reshape((c,) + (1,) * len(spatial)), out=out)
    return out


def conv(x, w, b, stride, padding, dilation, groups, keep=None):
    """Cross-correlation of x (N, C, *L) with w (O, C/groups, *k), plus b (O,) if given.
    ``keep``: a ``Windows`` (ops/nn/conv.py) that receives x's window matrix for
    conv_weight, when it holds none yet."""
    kernel = _spatial(w.shape)
    out = tuple(out_size(n, k, s, p, d) for n, k, s, p, d in
                zip(x.shape[2:], kernel, stride, padding, dilation))
    cols = im2col(x, groups, kernel, stride, padding, dilation, out)
    if keep is not None and keep.x is None:
        keep.x, keep.cols = x, cols
    m = np.matmul(w.reshape(groups, w.shape[0] // groups, -1), cols)
    return batch_major(m, x.shape[0], out, b)


def conv_weight(x, g, stride, padding, dilation, groups, kernel, cols=None):
    """The weight gradient of conv: sum over batch and positions of g times x's windows,
    shape (O, C/groups, *kernel) for x (N, C, *L) and g (N, O, *out). ``cols``: x's window
    matrix as conv built it, when the caller kept it (else it is built here).

    NOTE: one GEMM per tap over shifted flat ranges (as _scatter_flat) avoids the window
    matrix but measured slower: its GEMMs are tall and thin."""
    if cols is None:
        cols = im2col(x, groups, kernel, stride, padding, dilation, _spatial(g.shape))
    gw = np.matmul(group_major(g, groups), cols.transpose(0, 2, 1))
    return gw.reshape((g.shape[1], x.shape[1] // groups) + tuple(kernel))


def conv_transpose(x, w, b, stride, padding, dilation, groups, size):
    """The adjoint of conv's input: x (N, Cin, *L) in conv's output space, w (Cin,
    Cout/groups, *k) as conv's weight; the result (N, Cout, *size) (plus b) is conv's input
    space cropped from its padded frame. One GEMM per kernel tap, added into a shifted slice
    (Note [Convolution layout])."""
    n, kernel = x.shape[0], _spatial(w.shape)
    og, cg = w.shape[0] // groups, w.shape[1]
    c = cg * groups
    framed = tuple(s + lo + hi for s, (lo, hi) in zip(size, padding))
    wt = np.ascontiguousarray(
        w.reshape(groups, og, cg, prod(kernel)).transpose(3, 0, 2, 1))   # (K, G, cg, og)
    if x.size == 0:
        yp = np.zeros((c, n) + framed, x.dtype)
    elif all(s == 1 for s in stride):
        yp = _scatter_flat(x, wt, groups, kernel, dilation, framed)
    else:
        yp = _scatter_strided(x, wt, groups, kernel, stride, dilation, framed)
    # yp: (C, N, *framed), channel-major as the GEMMs left it
    y = yp[(slice(None), slice(None)) + tuple(slice(lo, lo + s)
                                              for s, (lo, _) in zip(size, padding))]
    return batch_major(y, n, size, b, channels=c)


def _scatter_strided(x, wt, groups, kernel, stride, dilation, framed):
    """Per tap: tmp = w_tap^T @ x, added into the output's strided slice for that tap."""
    n, length = x.shape[0], _spatial(x.shape)
    cg = wt.shape[2]
    xm = group_major(x, groups)                                    # (G, og, N*P)
    yp = np.zeros((groups * cg, n) + framed, x.dtype)
    tmp = np.empty((groups, cg, xm.shape[2]), x.dtype)
    for t, tap in enumerate(np.ndindex(*kernel)):
        np.matmul(wt[t], xm, out=tmp)
        yp[(slice(None), slice(None)) + tuple(
            slice(i * d, i * d + s * (m - 1) + 1, s)
            for i, d, s, m in zip(tap, dilation, stride, length))] += tmp.reshape(yp.shape[:2]
                                                                              + length)
    return yp


def _framed(a, groups, framed):
    """a (N, C, *L) in the corner of a zero frame (N, C, *framed), group-major and flat:
    (groups, C/groups, N * F)."""
    n, c = a.shape[:2]
    length = _spatial(a.shape)
    frame = np.zeros((groups, c // groups, n) + framed, a.dtype)
    frame[(slice(None),) * 3 + tuple(slice(0, m) for m in length)] = np.moveaxis(
        a.reshape((n, groups, c // groups) + length), 0, 2)
    return frame.reshape(groups, c // groups, -1)


def _offsets(kernel, dilation, framed):
    """Each kernel tap's shift along the flattened frame."""
    steps = np.cumprod((1,) + framed[:0:-1])[::-1]                 # row strides of the frame
    return [int(np.dot(np.multiply(tap, dilation), steps)) for tap in np.ndindex(*kernel)]


# Bytes of one block of the adjoint's tap products (Note [Convolution layout]): measured on
# the CNN benchmark's second layer, single-thread, against one GEMM per tap over the whole
# axis: 0.99x at 512 KiB, 0.92x at 2 MiB, 0.69-0.76x at 4 MiB, 0.76x at 8 MiB, 0.85x at
# 16 MiB, 0.97x unblocked (one GEMM of all taps, then K adds).
_BLOCK_BYTES = 1 << 22


def _scatter_flat(x, wt, groups, kernel, dilation, framed):
    """Stride 1: x is placed in the corner of a zero frame, so that every tap is a shift of
    the flattened (N * frame) axis: the products of all K taps are ONE GEMM over a block of
    that axis, each added into a shifted range of the output (long contiguous runs instead
    of rows of the output's width). A shift that wraps into the next row or image only ever
    meets the frame's zeros, as the frame is at least L + dilation * (k - 1) wide in every
    dim.

    NOTE: the loop runs over blocks of the flat axis (_BLOCK_BYTES of products), not over
    positions or images: each block's products are added while still in cache, and one
    taller GEMM replaces K thin ones."""
    n, cg = x.shape[0], wt.shape[2]
    k = wt.shape[0]
    flat = _framed(x, groups, framed)
    offsets = _offsets(kernel, dilation, framed)
    m = flat.shape[2] - offsets[-1]
    yp = np.zeros((groups, cg, flat.shape[2]), x.dtype)
    stacked = wt.transpose(1, 0, 2, 3).reshape(groups, k * cg, wt.shape[3])   # tap-major rows
    block = max(256, _BLOCK_BYTES // (k * cg * x.itemsize))
    prods = np.empty((groups, k * cg, min(block, m)), x.dtype)
    for lo in range(0, m, block):
        hi = min(lo + block, m)
        out = prods if hi - lo == prods.shape[2] else np.empty(prods.shape[:2] + (hi - lo,),
                                                              x.dtype)
        np.matmul(stacked, flat[:, :, lo:hi], out=out)
        out = out.reshape(groups, k, cg, hi - lo)
        for t, off in enumerate(offsets):
            yp[:, :, lo + off:hi + off] += out[:, t]
    return yp.reshape((groups * cg, n) + framed)


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
