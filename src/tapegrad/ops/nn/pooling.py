"""Primitives of the nn pooling family: max pooling as a gather at the argmax positions with
max unpooling (a scatter) as its adjoint, and average pooling as a separable window sum with
its adjoint.

# Note [Pooling windows]
A pool works on the last d dims of an array (the spatial dims); every leading dim is a batch
dim, so (N, C, *S) and unbatched (C, *S) inputs take the same path. Along spatial dim i,
output position o reads input positions ``o * stride + j * dilation - pad`` for the taps
``j < kernel``; a position outside [0, L) is padding (or, under ceil_mode, past the padded
edge) and never wins a max. Windows are strided views of the input (``as_strided``, no
copy; a padded copy only when padding or ceil_mode needs one), and every loop below runs
over kernel taps or spatial dims, never over positions or batch elements.

# Note [Max pooling as a gather]
``max_pool_argmax`` finds, with plain NumPy (a running max over the taps of the window view,
or, for many-tap windows that tile the input, one argmax over a window copy), each window's
maximum and its position in the flattened input plane (PyTorch's ``indices``: the first
maximum in window order; a nan wins, the last nan if several; an all -inf window picks its
first real position). The recorded
op, ``max_pool``, is then the gather of the input at those positions: linear in the input
for fixed positions, so its JVP is itself applied to the tangent, and its VJP is
``max_unpool`` (the scatter of g back to the positions), whose own VJP is the gather again.
The pair makes every derivative order work, as tg.max(dim) does with its indices.
"""
import numpy as np

from ..._core.batched import readable
from ..reduction import half_in_float32
from ..registry import OpDef, apply_unary, register

__all__ = []        # names exported as tapegrad.<name> (PyTorch's torch.<name>)
METHODS = {}        # Tensor methods this family binds

_as_strided = np.lib.stride_tricks.as_strided


# ---- window geometry --------------------------------------------------------------------------
def pool_out_size(length, kernel, stride, pad, dilation, ceil_mode):
    """PyTorch's output length: floor (or ceil) of (L + 2 pad - dilation (k - 1) - 1) / s + 1;
    under ceil_mode the last window must start inside the input or its left padding."""
    span = length + 2 * pad - dilation * (kernel - 1) - 1
    n = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (n - 1) * stride >= length + pad:
        n -= 1
    return n


def window_misses_input(length, n, kernel, stride, pad, dilation):
    """Whether one of the n windows along a dim has every tap outside [0, length): possible
    only with dilation (taps that step over a short input)."""
    start = np.arange(n) * stride - pad
    first = np.maximum(0, -(start // dilation))       # each window's first tap at >= 0
    return bool(np.any((first >= kernel) | (start + first * dilation >= length)))


def _row_major(shape):
    """Element strides of a C-ordered array of ``shape`` (the plane's flat index weights)."""
    out, n = [], 1
    for size in reversed(shape):
        out.append(n)
        n *= size
    return out[::-1]


def _grid(vectors):
    """Broadcastable copies of d 1-D arrays, the i-th along axis i of d."""
    d = len(vectors)
    return [np.asarray(v).reshape((-1,) + (1,) * (d - 1 - i)) for i, v in enumerate(vectors)]


# ---- max pooling: argmax search (NumPy) -------------------------------------------------------
def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _argmax_taps(tap, ntaps, is_float):
    """(best, t): each output's maximum over taps 0..ntaps-1 (``tap(t)`` gives tap t's values
    for every output) and the first tap holding it; a nan wins (the last nan, as PyTorch)."""
    best = np.array(tap(0), copy=True)
    small = np.int8 if ntaps < 128 else np.int16 if ntaps < 2 ** 15 else np.int32
    which, step = np.zeros(best.shape, dtype=small), np.empty(best.shape, dtype=small)
    for t in range(1, ntaps):
        v = tap(t)
        m = v > best
        np.maximum(best, v, out=best)    # propagates nan, fixed below
        # NOTE: which += m * (t - which), in place: 2.5x faster than which[m] = t (a boolean
        # assignment) on the benchmark's 2x2 windows.
        np.subtract(small(t), which, out=step)
        np.multiply(step, m, out=step)
        np.add(which, step, out=which)
    if is_float:
        nan = np.isnan(best)
        if nan.any():                    # rare: redo those outputs, the last nan winning
            for t in range(ntaps):
                which[nan & np.isnan(tap(t))] = t
    return best, which


# Beyond this many taps, windows that tile the input (global pooling, adaptive pooling to
# a divisor) are copied window-contiguous and searched by one np.argmax: a Python loop over
# thousands of taps would cost more than the copy.
_MANY_TAPS = 16


def _argmax_tiles(win, nlead, ntaps):
    """_argmax_taps for tiling windows: the window view copied to (..., taps) and one argmax
    (the first maximum; a nan wins, the last nan as PyTorch)."""
    flat = win.reshape(win.shape[:win.ndim - (win.ndim - nlead) // 2] + (ntaps,))
    which = np.argmax(flat, axis=-1)
    if flat.dtype.kind == "f":
        nan = np.isnan(flat)
        has_nan = nan.any(axis=-1)
        if has_nan.any():
            last = ntaps - 1 - np.argmax(nan[..., ::-1], axis=-1)
            which = np.where(has_nan, last, which)
    best = np.take_along_axis(flat, which[..., None], axis=-1)[..., 0]
    return best, which


def max_pool_argmax(x, kernel, stride, padding, dilation, ceil_mode):
    """(values, positions) of the max of each window of x's last d dims (Note [Max pooling as
    a gather]); positions are int64 flat indices into each input plane, as PyTorch's."""
    d = len(kernel)
    x = readable(x)       # windows are as_strided views, which a batched stand-in can't refuse
    lead, spatial = x.shape[:x.ndim - d], x.shape[x.ndim - d:]
    outs = tuple(pool_out_size(*a, ceil_mode) for a in zip(spatial, kernel, stride, padding,
                                                          dilation))
    right = [max(0, (n - 1) * s + dl * (k - 1) + 1 - p - L)
             for n, s, dl, k, p, L in zip(outs, stride, dilation, kernel, padding, spatial)]
    padded = any(padding) or any(right)
    if padded:      # padding never wins: it holds the lowest value (ties fixed below)
        widths = [(0, 0)] * len(lead) + list(zip(padding, right))
        x = np.pad(x, widths, constant_values=_lowest(x.dtype))
    st = x.strides
    win = _as_strided(x, lead + outs + tuple(kernel),
                      st[:len(lead)] + tuple(s * b for s, b in zip(stride, st[len(lead):]))
                      + tuple(dl * b for dl, b in zip(dilation, st[len(lead):])),
                      writeable=False)
    taps = list(np.ndindex(*kernel))
    if len(taps) > _MANY_TAPS and not padded and stride == kernel and not any(
            dl - 1 for dl in dilation):
        best, which = _argmax_tiles(win, len(lead), len(taps))
    else:
        best, which = _argmax_taps(lambda t: win[(Ellipsis,) + taps[t]], len(taps),
                                   x.dtype.kind == "f")
    outs_grid = _grid([np.arange(n) for n in outs])
    if padded:
        low = best == _lowest(x.dtype)
        if low.any():     # all real values are the lowest: PyTorch picks the first real one
            first = [np.maximum(0, (p - o * s + dl - 1) // dl)
                     for o, s, p, dl in zip(outs_grid, stride, padding, dilation)]
            first_tap = np.ravel_multi_index(np.broadcast_arrays(*first), kernel)
            which[low] = np.broadcast_to(first_tap, which.shape)[low]
    weights = _row_major(spatial)
    base = sum(np.asarray((o * s - p) * w) for o, s, p, w in
               zip(outs_grid, stride, padding, weights))
    offsets = np.array([sum(j * dl * w for j, dl, w in zip(tp, dilation, weights))
                        for tp in taps], dtype=np.int64)
    return best, base + offsets.take(which)     # take: 3x faster than offsets[which] here


def adaptive_windows(length, n):
    """PyTorch's adaptive windows: start floor(i L / n), end ceil((i + 1) L / n)."""
    i = np.arange(n)
    return (i * length) // n, -((-(i + 1) * length) // n)


def adaptive_max_argmax(x, outs):
    """(values, positions) of adaptive max pooling over x's last d dims. Each dim's windows
    become an index table (n, widest) whose short rows repeat their last position (a repeat
    never wins: ties go to the first tap), gathered one tap at a time."""
    d = len(outs)
    spatial = x.shape[x.ndim - d:]
    tables = []
    for L, n in zip(spatial, outs):
        start, end = adaptive_windows(L, n)
        widest = int((end - start).max())
        tables.append(np.minimum(start[:, None] + np.arange(widest), end[:, None] - 1))
    kshape = tuple(t.shape[1] for t in tables)

    def coords(t):
        return _grid([tb[:, j] for tb, j in zip(tables, np.unravel_index(t, kshape))])

    ntaps = int(np.prod(kshape))
    if ntaps > _MANY_TAPS:     # gather every window at once: (..., n1, k1, n2, k2, ...)
        key = [tb.reshape((1,) * 2 * i + tb.shape + (1,) * 2 * (d - 1 - i))
               for i, tb in enumerate(tables)]
        nlead = x.ndim - d
        win = x[(Ellipsis,) + tuple(key)].transpose(
            tuple(range(nlead)) + tuple(nlead + 2 * i for i in range(d))
            + tuple(nlead + 2 * i + 1 for i in range(d)))
        best, which = _argmax_tiles(win, nlead, ntaps)
    else:
        best, which = _argmax_taps(lambda t: x[(Ellipsis,) + tuple(coords(t))], ntaps,
                                   x.dtype.kind == "f")
    outs_grid = _grid([np.arange(n) for n in outs])
    picked = np.unravel_index(which, kshape)
    pos = sum(tb[o, j] * w for tb, o, j, w in
              zip(tables, outs_grid, picked, _row_major(spatial)))
    return best, np.asarray(pos, dtype=np.int64)


# ---- max pooling: the gather / scatter pair -------------------------------------------------
def _rows(pos, plane):
    """(leading dims, number of planes, positions per plane) of the positions ``pos``."""
    lead = pos.shape[:pos.ndim - len(plane)]
    rows = int(np.prod(lead))
    return lead, rows, (pos.size // rows if rows else 0)


def _gather_forward(x, pos, plane, overlap):
    lead, rows, per = _rows(pos, plane)
    out = np.take_along_axis(x.reshape(rows, int(np.prod(plane))), pos.reshape(rows, per),
                             axis=1)
    return out.reshape(pos.shape)


def _scatter_forward(g, pos, plane, overlap):
    lead, rows, per = _rows(pos, plane)
    size = int(np.prod(plane))
    out = np.zeros((rows, size), dtype=g.dtype)
    p2, g2 = pos.reshape(rows, per), g.reshape(rows, per)
    if overlap:
        # NOTE: np.add.at on flat indices: twice as fast as np.bincount on the benchmark's
        # shapes (NumPy 2; 7 vs 15 ms) and it keeps the dtype; needed only where two windows
        # can pick the same position (otherwise a put, as fast).
        flat = p2 + (np.arange(rows, dtype=np.int64) * size)[:, None]
        np.add.at(out.reshape(-1), flat.reshape(-1), g2.reshape(-1))
    else:
        np.put_along_axis(out, p2, g2, axis=1)
    return out.reshape(lead + tuple(plane))


def max_pool_vjp(ctx, g):
    """d gather = g scattered back to the positions read (max_unpool)."""
    return (apply_unary(MAX_UNPOOL, g, ctx.params),)


def max_unpool_vjp(ctx, g):
    """d scatter = g gathered at the positions written (max_pool's gather)."""
    return (apply_unary(MAX_POOL, g, ctx.params),)


# NOTE: primitives for speed: the window search runs once in NumPy (max_pool_argmax) and
# the recorded ops only move values between fixed positions, so one saved int64 array
# serves every derivative order; a composite (unfold, max over the window) would record
# the window view and spread gradient among ties. Both are linear: JVP = the op itself.
MAX_POOL = register(OpDef("max_pool", _gather_forward, max_pool_vjp,
                          lambda ctx, t: apply_unary(MAX_POOL, t, ctx.params)))
MAX_UNPOOL = register(OpDef("max_unpool", _scatter_forward, max_unpool_vjp,
                            lambda ctx, t: apply_unary(MAX_UNPOOL, t, ctx.params)))


def gather_plane(input, pos, plane, overlap):
    """``input``'s values at ``pos`` (flat indices into each plane of shape ``plane``, the
    last len(plane) dims); recorded as max_pool. ``overlap``: two positions of one plane may
    coincide (the gradient then accumulates)."""
    return apply_unary(MAX_POOL, input, {"pos": pos, "plane": tuple(plane),
                                         "overlap": bool(overlap)})


def scatter_plane(input, pos, plane, overlap):
    """Zeros of plane shape ``plane`` with ``input``'s values written at ``pos`` (added where
    ``overlap``); recorded as max_unpool, the adjoint of :func:`gather_plane`."""
    return apply_unary(MAX_UNPOOL, input, {"pos": pos, "plane": tuple(plane),
                                           "overlap": bool(overlap)})


# ---- average pooling: separable window sums ---------------------------------------------------
# Each spatial dim is summed on its own (the window is a box, so d passes of k taps replace
# one pass of k^d taps); ``geom`` holds one (L, n, k, s, p, table) per dim: input and output
# lengths and either kernel, stride and padding, or (adaptive pools with n not dividing L) a
# 0/1 (L, n) table whose column i marks window i, contracted on BLAS.
def _axis(a, axis, sl):
    key = [slice(None)] * a.ndim
    key[axis] = sl
    return tuple(key)


def _tap_range(j, L, n, s, p):
    """The outputs o whose tap j reads a real input position (o s - p + j in [0, L))."""
    return max(0, -((j - p) // s)), min(n, (L - 1 + p - j) // s + 1)


def _box_sum(x, axis, L, n, k, s, p, table):
    if table is not None:
        return np.moveaxis(np.tensordot(x, table.astype(x.dtype), axes=([axis], [0])), -1,
                           axis)
    shape = list(x.shape)
    if s == k and p == 0 and n * k <= L:      # windows tile the dim: one reshape, one sum
        shape[axis:axis + 1] = [n, k]
        return x[_axis(x, axis, slice(0, n * k))].reshape(shape).sum(axis=axis + 1)
    shape[axis] = n
    out = np.zeros(shape, dtype=x.dtype)
    for j in range(k):                          # a loop over kernel taps only
        lo, hi = _tap_range(j, L, n, s, p)
        if lo < hi:
            start = lo * s - p + j
            out[_axis(out, axis, slice(lo, hi))] += x[_axis(x, axis, slice(
                start, start + (hi - lo - 1) * s + 1, s))]
    return out


def _box_sum_t(g, axis, L, n, k, s, p, table):
    """The adjoint of _box_sum: each output's cotangent added to every position it read."""
    if table is not None:
        return np.moveaxis(np.tensordot(g, table.T.astype(g.dtype), axes=([axis], [0])), -1,
                           axis)
    shape = list(g.shape)
    shape[axis] = L
    if s == k and p == 0 and n * k <= L:
        spread = np.repeat(g, k, axis=axis)
        if n * k == L:
            return spread
        out = np.zeros(shape, dtype=g.dtype)
        out[_axis(out, axis, slice(0, n * k))] = spread
        return out
    out = np.zeros(shape, dtype=g.dtype)
    for j in range(k):
        lo, hi = _tap_range(j, L, n, s, p)
        if lo < hi:
            start = lo * s - p + j
            out[_axis(out, axis, slice(start, start + (hi - lo - 1) * s + 1, s))] += \
                g[_axis(g, axis, slice(lo, hi))]
    return out


def _divide(y, divisor):
    if y.dtype.kind in "iu":        # integer pools truncate toward zero, as PyTorch's
        divisor = divisor.astype(y.dtype)
        q = np.abs(y) // np.abs(divisor)       # a negative divisor_override flips the sign
        return np.where((y < 0) != (divisor < 0), -q, q)
    return y / divisor.astype(y.dtype)


def _avg_forward(x, geom, divisor):
    d = len(geom)
    for i, gm in enumerate(geom):
        x = _box_sum(x, x.ndim - d + i, *gm)
    return _divide(x, divisor)


def _avg_t_forward(g, geom, divisor):
    d = len(geom)
    g = g / divisor.astype(g.dtype)
    for i, gm in enumerate(geom):
        g = _box_sum_t(g, g.ndim - d + i, *gm)
    return g


def avg_pool_vjp(ctx, g):
    """d avg_pool = its adjoint: g / divisor spread over each window."""
    return (apply_unary(AVG_POOL_T, g, ctx.params),)


def avg_pool_t_vjp(ctx, g):
    """d (the adjoint) = avg_pool of g."""
    return (apply_unary(AVG_POOL, g, ctx.params),)


# NOTE: primitives for speed: a composite (pad, unfold, sum, divide) records a window view
# whose gradient goes through index arithmetic; here both directions are d passes of
# shifted adds (or one reshape-sum for tiling windows), float16 in float32. Linear, so each
# op's JVP is itself and its VJP the other.
AVG_POOL = register(OpDef("avg_pool", half_in_float32(_avg_forward), avg_pool_vjp,
                          lambda ctx, t: apply_unary(AVG_POOL, t, ctx.params)))
AVG_POOL_T = register(OpDef("avg_pool_backward", half_in_float32(_avg_t_forward),
                            avg_pool_t_vjp,
                            lambda ctx, t: apply_unary(AVG_POOL_T, t, ctx.params)))


def avg_divisor(spatial, outs, kernel, stride, padding, count_include_pad):
    """PyTorch's divisor per output: the window's size clipped to the padded edge
    (count_include_pad) or to the input; an outer product of one vector per dim."""
    sizes = []
    for L, n, k, s, p in zip(spatial, outs, kernel, stride, padding):
        start = np.arange(n) * s - p
        end = np.minimum(start + k, L + p)
        sizes.append(end - start if count_include_pad else
                     np.minimum(end, L) - np.maximum(start, 0))
    return _outer(sizes)


def _outer(vectors):
    out = np.ones((), dtype=np.int64)
    for v in _grid(vectors):
        out = out * v
    return out


def avg_pool(input, kernel, stride, padding, outs, count_include_pad, divisor_override):
    """Average pooling of ``input``'s last len(kernel) dims (arguments already checked)."""
    spatial = input.shape[input.ndim - len(kernel):]
    if divisor_override is not None:
        divisor = np.asarray(divisor_override, dtype=np.int64)
    else:
        divisor = avg_divisor(spatial, outs, kernel, stride, padding, count_include_pad)
    geom = tuple((L, n, k, s, p, None) for L, n, k, s, p in
                 zip(spatial, outs, kernel, stride, padding))
    return apply_unary(AVG_POOL, input, {"geom": geom, "divisor": divisor})


def adaptive_avg_pool(input, outs):
    """Adaptive average pooling of ``input``'s last len(outs) dims to sizes ``outs``: a dim
    whose size n divides L is a regular pool of kernel = stride = L / n."""
    spatial = input.shape[input.ndim - len(outs):]
    geom, widths = [], []
    for L, n in zip(spatial, outs):
        start, end = adaptive_windows(L, n)
        widths.append(end - start)
        if n and L % n == 0:
            geom.append((L, n, L // n, L // n, 0, None))
        else:
            table = ((np.arange(L)[:, None] >= start) & (np.arange(L)[:, None] < end))
            geom.append((L, n, 0, 1, 0, table.astype(np.float64)))
    return apply_unary(AVG_POOL, input, {"geom": tuple(geom), "divisor": _outer(widths)})
