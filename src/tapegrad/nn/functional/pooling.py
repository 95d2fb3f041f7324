"""tapegrad.nn.functional: pooling (max, average, adaptive, power-average) and max unpooling.

Inputs are (N, C, *S) or unbatched (C, *S) with d spatial dims S, as in PyTorch; the work is
done by the primitives of tapegrad.ops.nn.pooling (see Note [Pooling windows] there).
"""
import numpy as np

from ..._core.errors import ArgumentError, DTypeError, IndexRangeError, ShapeError
from ..._core.tensor import Tensor, array_of, wrap
from ...ops import elementwise as E
from ...ops.nn import pooling as P
from ..._core.state import STATE
from ...ops.registry import batched_call, tracked

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "max_unpool1d", "max_unpool2d",
           "max_unpool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "adaptive_max_pool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d"]

_WORDS = {1: "one", 2: "two", 3: "three"}


# ---- argument checks --------------------------------------------------------------------------
def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _ints(v, d, what, name):
    """``v`` (an int or a tuple of 1 or d ints) as a tuple of d ints."""
    if _is_int(v):
        return (int(v),) * d
    if isinstance(v, (tuple, list)) and all(_is_int(a) for a in v):
        if len(v) == 1:
            return (int(v[0]),) * d
        if len(v) == d:
            return tuple(int(a) for a in v)
        raise ArgumentError(f"{name}: {what} must either be a single int, or a tuple of "
                            f"{_WORDS[d]} ints, got {tuple(v)}")
    raise TypeError(f"{name}: {what} must be an int or a tuple of ints, got {v!r}")


def _input(input, d, name, dtypes="f", adaptive=False):
    """The input's array, checked: (d + 1) or (d + 2) dims, non-empty non-batch dims (for
    adaptive pools, as PyTorch's, dim 0 may be empty even in a (C, *S) input)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    x = array_of(input)
    if x.ndim not in (d + 1, d + 2):
        raise ShapeError(f"{name}: expected a {d + 1}-D (C, *spatial) or {d + 2}-D (N, C, "
                         f"*spatial) input, got shape {x.shape}")
    if 0 in x.shape[max(x.ndim - d - 1, int(adaptive)):]:
        raise ShapeError(f"{name}: expected an input with non-zero sizes except for the batch "
                         f"dim, got shape {x.shape}")
    if not (x.dtype.kind in dtypes.replace("l", "") or "l" in dtypes and x.dtype == np.int64):
        raise DTypeError(f"{name}: input dtype {x.dtype} is not supported; use a floating "
                         "point tensor (.float()).")
    return x


def _geometry(name, x, d, kernel_size, stride, padding, dilation, ceil_mode):
    """kernel, stride, padding, dilation (tuples of d ints) and the output's spatial shape,
    with PyTorch's checks (padding at most half the kernel, dilated or not)."""
    kernel = _ints(kernel_size, d, "kernel_size", name)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and
                                          not len(stride)) else _ints(stride, d, "stride", name)
    padding = _ints(padding, d, "padding", name)
    dilation = _ints(dilation, d, "dilation", name)
    for what, vals in (("kernel_size", kernel), ("stride", stride), ("dilation", dilation)):
        if any(v <= 0 for v in vals):
            raise ArgumentError(f"{name}: {what} must be greater than zero, got {vals}")
    if any(p < 0 for p in padding):
        raise ArgumentError(f"{name}: padding must be non-negative, got {padding}")
    if any(p > k // 2 for k, p in zip(kernel, padding)):
        raise ArgumentError(f"{name}: padding should be at most half of the kernel size "
                            f"(not the dilated one, as in PyTorch), but got padding={padding}, "
                            f"kernel_size={kernel}")
    spatial = x.shape[x.ndim - d:]
    outs = tuple(P.pool_out_size(L, k, s, p, dl, ceil_mode)
                 for L, k, s, p, dl in zip(spatial, kernel, stride, padding, dilation))
    if any(n < 1 for n in outs):
        raise ShapeError(f"{name}: input of spatial size {spatial} gives output size {outs} "
                         f"with kernel_size={kernel}, stride={stride}, padding={padding}, "
                         f"dilation={dilation}: the output is too small. Use a smaller kernel "
                         "or more padding.")
    return kernel, stride, padding, dilation, outs


def _recording(input):
    if isinstance(input, Tensor) and input._view is not None:
        input._refresh()
    return tracked(input)


def _values(input, best, pos, plane, overlap):
    """The pooled values: recorded as a gather at pos when a gradient is needed."""
    if _recording(input):
        return P.gather_plane(input, pos, plane, overlap)
    return wrap(best)


# ---- max pooling ------------------------------------------------------------------------------
def _max_pool(input, d, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
              name):
    if STATE.vmap_levels:       # Note [Batched tensors]: the window search reads the values
        out = batched_call(f"max_pool{d}d", (input,), {
            "kernel_size": kernel_size, "stride": stride, "padding": padding,
            "dilation": dilation, "ceil_mode": ceil_mode, "return_indices": return_indices})
        if out is not None:
            return out
    x = _input(input, d, name, dtypes="fiu")
    kernel, stride, padding, dilation, outs = _geometry(name, x, d, kernel_size, stride,
                                                        padding, dilation, ceil_mode)
    for L, n, k, s, p, dl in zip(x.shape[x.ndim - d:], outs, kernel, stride, padding, dilation):
        if P.window_misses_input(L, n, k, s, p, dl):
            # PyTorch returns -inf with an index outside the plane there (and its backward
            # writes out of bounds); no position could carry the gradient, so refuse.
            raise ArgumentError(f"{name}: with kernel_size={kernel}, stride={stride}, "
                                f"padding={padding}, dilation={dilation} and ceil_mode="
                                f"{ceil_mode}, a window of the input's spatial size "
                                f"{x.shape[x.ndim - d:]} reads only padding; use less "
                                "dilation or padding.")
    best, pos = P.max_pool_argmax(x, kernel, stride, padding, dilation, ceil_mode)
    overlap = any(s < dl * (k - 1) + 1 for s, dl, k in zip(stride, dilation, kernel))
    out = _values(input, best, pos, x.shape[x.ndim - d:], overlap)
    return (out, wrap(pos)) if return_indices else out


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling over (N, C, L) or (C, L) input; arguments as :func:`max_pool2d`.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.max_pool1d(tg.tensor([[1.0, 3.0, 2.0, 5.0, 4.0]]), 2, return_indices=True)
        (tensor([[3., 5.]]), tensor([[1, 3]]))
    """
    return _max_pool(input, 1, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, "max_pool1d")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling over (N, C, H, W) or (C, H, W) input.

    Args:
        input: the tensor (floating or integer).
        kernel_size: the window size, an int or a pair.
        stride: the window step (default: kernel_size).
        padding: implicit padding on both sides (at most half the kernel size); padded
            positions never win.
        dilation: the distance between window elements.
        ceil_mode: round the output size up (the last window must start inside the input
            or its left padding), as PyTorch.
        return_indices: also return the argmax of each window as int64 flat indices into
            its (H, W) plane (the first maximum; a nan wins), for :func:`max_unpool2d`.

    Returns:
        The pooled tensor, or ``(output, indices)``. The gradient goes to the argmax.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> x = tg.tensor([[[1.0, 2.0, 0.0], [4.0, 3.0, 5.0]]], requires_grad=True)
        >>> y = F.max_pool2d(x, 2, stride=1); y.sum().backward(); y, x.grad
        (tensor([[[4., 5.]]], grad_fn=<MaxPoolBackward0>), tensor([[[0., 0., 0.],
                 [1., 0., 1.]]]))
    """
    return _max_pool(input, 2, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, "max_pool2d")


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """3-D max pooling over (N, C, D, H, W) or (C, D, H, W) input; arguments as
    :func:`max_pool2d` (indices flat over each (D, H, W) volume).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.max_pool3d(tg.arange(8.0).reshape(1, 2, 2, 2), 2, return_indices=True)
        (tensor([[[[7.]]]]), tensor([[[[7]]]]))
    """
    return _max_pool(input, 3, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, "max_pool3d")


# ---- max unpooling ----------------------------------------------------------------------------
def _max_unpool(input, indices, d, kernel_size, stride, padding, output_size, name):
    if STATE.vmap_levels:       # Note [Batched tensors]: the indices are checked by value
        out = batched_call(name, (input, indices), {
            "kernel_size": kernel_size, "stride": stride, "padding": padding,
            "output_size": output_size})
        if out is not None:
            return out
    x = _input(input, d, name, dtypes="fiu")
    kernel = _ints(kernel_size, d, "kernel_size", name)
    stride = kernel if stride is None else _ints(stride, d, "stride", name)
    padding = _ints(padding, d, "padding", name)
    if any(v <= 0 for v in kernel + stride):
        raise ArgumentError(f"{name}: kernel_size and stride must be greater than zero, got "
                            f"{kernel} and {stride}")
    idx = array_of(indices)
    if idx.dtype != np.int64:
        raise DTypeError(f"{name}: indices must be int64 (as max_pool returns them), got "
                         f"{idx.dtype}")
    if idx.shape != x.shape:
        raise ShapeError(f"{name}: indices of shape {idx.shape} must have the input's shape "
                         f"{x.shape}")
    spatial = x.shape[x.ndim - d:]
    default = tuple((L - 1) * s - 2 * p + k for L, s, p, k in zip(spatial, stride, padding,
                                                                    kernel))
    if output_size is None:
        outs = default
    else:
        if not isinstance(output_size, (tuple, list)) or not all(_is_int(n)
                                                                 for n in output_size):
            raise TypeError(f"{name}: output_size must be a sequence of ints, got "
                            f"{output_size!r}")
        outs = tuple(int(n) for n in output_size)
        if len(outs) == d + 2:        # PyTorch takes the full (N, C, *S) shape, never (C, *S)
            outs = outs[2:]
        if len(outs) != d:
            raise ShapeError(f"{name}: output_size must have {d} elements (or {d + 2}), got "
                             f"{tuple(output_size)}")
        for i, (n, m, s) in enumerate(zip(outs, default, stride)):
            if not m - s < n < m + s:
                raise ShapeError(f"{name}: invalid output_size {outs}: dim {i} must be "
                                 f"between {m - s} and {m + s} (exclusive) for input "
                                 f"{x.shape}, kernel_size={kernel}, stride={stride}")
    size = int(np.prod(outs))
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexRangeError(f"{name}: found an invalid max index {bad}: the output planes "
                              f"have {'x'.join(map(str, outs))} = {size} elements")
    return P.scatter_plane(input, idx, outs, overlap=False)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of :func:`max_pool1d`; arguments as :func:`max_unpool2d`.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> y, i = F.max_pool1d(tg.tensor([[1.0, 3.0, 2.0, 5.0]]), 2, return_indices=True)
        >>> F.max_unpool1d(y, i, 2)
        tensor([[0., 3., 0., 5.]])
    """
    return _max_unpool(input, indices, 1, kernel_size, stride, padding, output_size,
                       "max_unpool1d")


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of :func:`max_pool2d`: zeros with each value put back at its index.

    Args:
        input: the pooled tensor, (N, C, H, W) or (C, H, W).
        indices: the int64 indices :func:`max_pool2d` returned with it (flat in each plane).
        kernel_size, stride, padding: the pooling's (stride defaults to kernel_size).
        output_size: the output's spatial size (or full shape), between the default
            ``(H - 1) * stride - 2 * padding + kernel_size`` minus and plus the stride.

    Returns:
        The unpooled tensor; its gradient is g gathered at the indices.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> x = tg.tensor([[[1.0, 2.0], [4.0, 3.0]]])
        >>> y, i = F.max_pool2d(x, 2, return_indices=True); F.max_unpool2d(y, i, 2)
        tensor([[[0., 0.],
                 [4., 0.]]])
    """
    return _max_unpool(input, indices, 2, kernel_size, stride, padding, output_size,
                       "max_unpool2d")


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of :func:`max_pool3d`; arguments as :func:`max_unpool2d`.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> y, i = F.max_pool3d(tg.arange(8.0).reshape(1, 2, 2, 2), 2, return_indices=True)
        >>> F.max_unpool3d(y, i, 2).flatten()
        tensor([0., 0., 0., 0., 0., 0., 0., 7.])
    """
    return _max_unpool(input, indices, 3, kernel_size, stride, padding, output_size,
                       "max_unpool3d")


# ---- average pooling --------------------------------------------------------------------------
def _avg_pool(input, d, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, name):
    # NOTE: int64 input gives int64 averages truncated toward zero, as PyTorch's.
    x = _input(input, d, name, dtypes="fl")
    kernel, stride, padding, _, outs = _geometry(name, x, d, kernel_size, stride, padding, 1,
                                                 ceil_mode)
    spatial = x.shape[x.ndim - d:]
    if d == 3 and any(L < k for L, k in zip(spatial, kernel)):
        raise ShapeError(f"{name}: input of spatial size {spatial} is smaller than "
                         f"kernel_size={kernel} (PyTorch's 3-D average pool refuses this even "
                         "with padding).")
    if divisor_override is not None:
        if not _is_int(divisor_override):
            raise TypeError(f"{name}: divisor_override must be an int, got "
                            f"{divisor_override!r}")
        if divisor_override == 0:
            raise ArgumentError(f"{name}: divisor_override must not be zero")
    return P.avg_pool(input, kernel, stride, padding, outs, count_include_pad,
                      divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """1-D average pooling over (N, C, L) or (C, L) input; arguments as :func:`avg_pool2d`.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.avg_pool1d(tg.tensor([[1.0, 3.0, 2.0, 6.0]]), 2)
        tensor([[2., 4.]])
    """
    return _avg_pool(input, 1, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     None, "avg_pool1d")


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling over (N, C, H, W) or (C, H, W) input.

    Args:
        input: the tensor (floating; int64 gives int64 averages truncated toward zero).
        kernel_size: the window size, an int or a pair.
        stride: the window step (default: kernel_size).
        padding: implicit zero padding on both sides (at most half the kernel).
        ceil_mode: round the output size up, as PyTorch (the last window must start inside
            the input or its left padding).
        count_include_pad: divide by the window size counting padded positions (never
            positions past the padded edge, which ceil_mode windows may reach); else by the
            number of input positions in the window.
        divisor_override: divide every window's sum by this instead.

    Returns:
        The pooled tensor (float16 input is averaged in float32).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> x = tg.tensor([[[1.0, 2.0], [3.0, 6.0]]], requires_grad=True)
        >>> y = F.avg_pool2d(x, 2, padding=1, count_include_pad=False)
        >>> y.sum().backward(); y, x.grad
        (tensor([[[1., 2.],
                 [3., 6.]]], grad_fn=<AvgPoolBackward0>), tensor([[[1., 1.],
                 [1., 1.]]]))
    """
    return _avg_pool(input, 2, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, "avg_pool2d")


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """3-D average pooling over (N, C, D, H, W) or (C, D, H, W) input; arguments as
    :func:`avg_pool2d`.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.avg_pool3d(tg.arange(8.0).reshape(1, 2, 2, 2), 2, divisor_override=2)
        tensor([[[[14.]]]])
    """
    return _avg_pool(input, 3, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, "avg_pool3d")


# ---- adaptive pooling -------------------------------------------------------------------------
def _adaptive_sizes(output_size, x, d, name):
    """The output's spatial sizes: an int or d entries, None keeping the input's size."""
    spatial = x.shape[x.ndim - d:]
    if _is_int(output_size) or output_size is None:
        sizes = (output_size,) * d
    elif isinstance(output_size, (tuple, list)):
        sizes = tuple(output_size)
        if any(n is None and d == 1 or n is not None and not _is_int(n) for n in sizes):
            raise TypeError(f"{name}: output_size entries must be ints"
                            f"{' or None' * (d > 1)}, got {tuple(sizes)}")
        if len(sizes) == 1 and d > 1:
            sizes = sizes * d
        if len(sizes) != d:
            raise ArgumentError(f"{name}: output_size must be an int or {d} ints, got "
                                f"{tuple(output_size)}")
    else:
        raise TypeError(f"{name}: output_size must be an int or a tuple of ints, got "
                        f"{output_size!r}")
    outs = []
    for n, L in zip(sizes, spatial):
        if n is None and d == 1:
            raise TypeError(f"{name}: output_size must be an int, got None")
        outs.append(L if n is None else int(n))
    if any(n < 0 for n in outs):
        raise ArgumentError(f"{name}: output_size must be non-negative, got {tuple(outs)}")
    return tuple(outs)


def _adaptive_avg(input, output_size, d, name):
    x = _input(input, d, name, adaptive=True)
    return P.adaptive_avg_pool(input, _adaptive_sizes(output_size, x, d, name))


def adaptive_avg_pool1d(input, output_size):
    """1-D adaptive average pooling to ``output_size`` positions; as
    :func:`adaptive_avg_pool2d`.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.adaptive_avg_pool1d(tg.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]]), 2)
        tensor([[2., 4.]])
    """
    return _adaptive_avg(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input, output_size):
    """2-D adaptive average pooling of (N, C, H, W) or (C, H, W) input to ``output_size``.

    Output position i of a dim of size L averages input positions floor(i L / n) to
    ceil((i + 1) L / n) - 1, as PyTorch (windows overlap when n does not divide L).

    Args:
        input: a floating tensor.
        output_size: an int or a pair; None keeps that dim's size.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.adaptive_avg_pool2d(tg.arange(6.0).reshape(1, 2, 3), (1, 2))
        tensor([[[2., 3.]]])
    """
    return _adaptive_avg(input, output_size, 2, "adaptive_avg_pool2d")


def adaptive_avg_pool3d(input, output_size):
    """3-D adaptive average pooling; as :func:`adaptive_avg_pool2d`.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.adaptive_avg_pool3d(tg.arange(8.0).reshape(1, 2, 2, 2), 1)
        tensor([[[[3.5000]]]])
    """
    return _adaptive_avg(input, output_size, 3, "adaptive_avg_pool3d")


def _adaptive_max(input, output_size, return_indices, d, name):
    if STATE.vmap_levels:       # Note [Batched tensors]: the window search reads the values
        out = batched_call(name, (input,), {"output_size": output_size,
                                            "return_indices": return_indices})
        if out is not None:
            return out
    x = _input(input, d, name, adaptive=True)
    outs = _adaptive_sizes(output_size, x, d, name)
    spatial = x.shape[x.ndim - d:]
    if 0 in outs:
        shape = x.shape[:x.ndim - d] + outs
        best, pos, overlap = np.zeros(shape, x.dtype), np.zeros(shape, np.int64), False
    elif all(L % n == 0 for L, n in zip(spatial, outs)):   # a regular pool
        kernel = tuple(L // n for L, n in zip(spatial, outs))
        best, pos = P.max_pool_argmax(x, kernel, kernel, (0,) * d, (1,) * d, False)
        overlap = False
    else:
        best, pos = P.adaptive_max_argmax(x, outs)
        overlap = True
    out = _values(input, best, pos, spatial, overlap)
    return (out, wrap(pos)) if return_indices else out


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """1-D adaptive max pooling; as :func:`adaptive_max_pool2d`.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.adaptive_max_pool1d(tg.tensor([[1.0, 5.0, 3.0, 4.0, 2.0]]), 2, True)
        (tensor([[5., 4.]]), tensor([[1, 3]]))
    """
    return _adaptive_max(input, output_size, return_indices, 1, "adaptive_max_pool1d")


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """2-D adaptive max pooling of (N, C, H, W) or (C, H, W) input to ``output_size``.

    Windows as :func:`adaptive_avg_pool2d`; indices (with ``return_indices``) are int64 flat
    positions in each (H, W) plane, and the gradient goes to them.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.adaptive_max_pool2d(tg.tensor([[[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]]), (1, 2))
        tensor([[[5., 6.]]])
    """
    return _adaptive_max(input, output_size, return_indices, 2, "adaptive_max_pool2d")


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """3-D adaptive max pooling; as :func:`adaptive_max_pool2d`.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.adaptive_max_pool3d(tg.arange(8.0).reshape(1, 2, 2, 2), 1)
        tensor([[[[7.]]]])
    """
    return _adaptive_max(input, output_size, return_indices, 3, "adaptive_max_pool3d")


# ---- power-average pooling --------------------------------------------------------------------
def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, d, name):
    if STATE.vmap_levels:       # Note [Batched tensors]: a select on the window sums below
        out = batched_call(name, (input,), {"norm_type": norm_type, "kernel_size": kernel_size,
                                            "stride": stride, "ceil_mode": ceil_mode})
        if out is not None:
            return out
    if not isinstance(norm_type, (int, float, np.integer, np.floating)) or \
            isinstance(norm_type, bool):
        raise TypeError(f"{name}: norm_type must be a number, got {norm_type!r}")
    if norm_type == 0:
        raise ArgumentError(f"{name}: norm_type must be nonzero (the result is the "
                            "1 / norm_type power)")
    if np.isinf(norm_type):     # PyTorch: the max (min for -inf) of |x| over each window
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        sign = 1 if norm_type > 0 else -1
        return sign * _max_pool(sign * input.abs(), d, kernel_size, stride, 0, 1, ceil_mode,
                                False, name)
    kernel = _ints(kernel_size, d, "kernel_size", name)
    # PyTorch's formulation, for its values and gradients: the average of x^p times the
    # window size, to the 1/p. PyTorch passes the average through sign(s) * relu(|s|), which
    # is s with gradient 0 where s == 0 (relu masks the infinite derivative of the 1/p power
    # at 0); a select gives the same, where a product with a 0/1 mask would give 0 * inf.
    s = _avg_pool(input ** norm_type, d, kernel, stride, 0, ceil_mode, True, None, name)
    return (E.where(s == 0, 0, s) * int(np.prod(kernel))) ** (1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """1-D power-average pooling; as :func:`lp_pool2d`.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.lp_pool1d(tg.tensor([[3.0, 4.0, 1.0, 1.0]]), 2, 2)
        tensor([[5.0000, 1.4142]])
    """
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1, "lp_pool1d")


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """2-D power-average pooling: (sum of x^p over each window)^(1/p), as PyTorch computes it.

    Args:
        input: (N, C, H, W) or (C, H, W).
        norm_type: p (p = 1 is sum pooling; large p approaches max pooling; p = inf is the
            max of |x| over each window, -inf the min, as PyTorch).
        kernel_size: the window size, an int or a pair.
        stride: the window step (default: kernel_size); no padding.
        ceil_mode: round the output size up (windows past the edge average what they hold,
            times the full window size, as PyTorch).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.lp_pool2d(tg.tensor([[[3.0, 0.0], [0.0, 4.0]]]), 2, 2)
        tensor([[[5.]]])
    """
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2, "lp_pool2d")


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """3-D power-average pooling; as :func:`lp_pool2d`.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.lp_pool3d(tg.ones(1, 2, 2, 2), 1, 2)
        tensor([[[[8.]]]])
    """
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3, "lp_pool3d")
