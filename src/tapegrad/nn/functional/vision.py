"""tapegrad.nn.functional: vision (padding, pixel shuffling, affine grids; interpolation and
grid sampling live in vision_sampling and are re-exported here).

Every function is a composite (of index_put, reshape/permute, matmul, and the resample
primitive's gathers), so gradients of every order come from their rules; index arrays are
built once per call in NumPy, never by looping over positions.
"""
from functools import lru_cache

import numpy as np

from ..._core.errors import ArgumentError, DTypeError, NotSupportedError, ShapeError
from ..._core.state import STATE
from ..._core.tensor import array_of
from ...ops.indexing import index_put
from ...ops.linalg import matmul
from ...ops.nn.resample import one_hot_rows, resample
from ...ops.registry import batched_call
from .vision_sampling import grid_sample, interpolate, upsample, upsample_bilinear, \
    upsample_nearest

__all__ = ["pad", "pixel_shuffle", "pixel_unshuffle", "affine_grid", "interpolate",
           "upsample", "upsample_nearest", "upsample_bilinear", "grid_sample"]

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _check_pad(input, pad, mode):
    if not isinstance(pad, (tuple, list)) or not all(
            isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in pad):
        raise ArgumentError(f"pad: pad must be a tuple of ints, got {pad!r}")
    if len(pad) % 2:
        raise ArgumentError(f"pad: the padding length must be divisible by 2, got {len(pad)} "
                            f"({tuple(pad)}); give (left, right) pairs, last dim first")
    if len(pad) // 2 > input.ndim:
        raise ArgumentError(
            f"pad: padding length {len(pad)} pads {len(pad) // 2} dims, but the input of shape "
            f"{tuple(input.shape)} has only {input.ndim}; the length must be at most twice the "
            "input's number of dims")
    if mode not in _PAD_MODES:
        raise ArgumentError(f"pad: unrecognised padding mode {mode!r}; use one of {_PAD_MODES}")


def pad(input, pad, mode="constant", value=None):
    """Pad (or, with negative amounts, crop) the last dims of ``input``.

    Args:
        input: the tensor.
        pad: ``(left, right)`` pairs, last dim first: ``(1, 2)`` pads the last dim, ``(1, 2,
            0, 3)`` the last two. Negative amounts crop.
        mode: ``'constant'`` (any rank, fills ``value``), ``'reflect'`` (mirror without the
            edge; each amount below the dim's size), ``'replicate'`` (repeat the edge) or
            ``'circular'`` (wrap around, at most once). The last three pad the last 1 dim of
            a 2-d/3-d input, the last 2 of a 3-d/4-d or the last 3 of a 4-d/5-d one.
        value: the fill of ``'constant'`` mode (default 0).

    Returns:
        The padded tensor, of ``input``'s dtype.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.pad(tg.tensor([[1.0, 2.0, 3.0]]), (1, 2), mode="reflect")
        tensor([[2., 1., 2., 3., 2., 1.]])
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: constant padding fills a new array
        out = batched_call("pad", (input,), {"pad": pad, "mode": mode, "value": value})
        if out is not None:
            return out
    _check_pad(input, pad, mode)
    shape, k = tuple(input.shape), len(pad) // 2
    pairs = [(input.ndim - 1 - i, int(pad[2 * i]), int(pad[2 * i + 1])) for i in range(k)]
    if mode == "constant":
        return _pad_constant(input, shape, pairs, 0 if value is None else value)
    if value is not None and value != 0:
        raise ArgumentError(f"pad: padding mode {mode!r} doesn't take a value argument "
                            f"(got {value!r}); only 'constant' fills a value")
    if not 1 <= k <= 3 or input.ndim not in (k + 1, k + 2):
        raise NotSupportedError(
            f"pad: padding length {len(pad)} is not supported for a {input.ndim}-d input in "
            f"mode {mode!r}; non-constant modes pad the last 1 dim of a 2-d or 3-d input, the "
            "last 2 of a 3-d or 4-d input, or the last 3 of a 4-d or 5-d input")
    if mode != "circular" and 0 in shape[input.ndim - k - 1:]:
        raise ShapeError(f"pad: mode {mode!r} needs the input's dims after the batch dim to "
                         f"be non-empty, got shape {shape} for padding length {len(pad)}")
    for d, lo, hi in pairs:
        _check_pad_dim(shape, d, lo, hi, mode)
    out = input
    for d, lo, hi in pairs:   # one gather per padded dim (at most 3)
        index, gather = _pad_map(shape[d], lo, hi, mode)
        out = resample(out, d, gather, index)
    return out


def _pad_constant(input, shape, pairs, value):
    crop = [slice(None)] * len(shape)
    place = [slice(None)] * len(shape)
    out_shape = list(shape)
    for d, lo, hi in pairs:
        n = shape[d] + lo + hi
        if max(-lo, 0) + max(-hi, 0) > shape[d]:
            raise ShapeError(f"pad: padding ({lo}, {hi}) of dim {d} (size {shape[d]}) of the "
                             f"input of shape {shape} crops more than the dim holds")
        out_shape[d] = n
        start, stop = max(-lo, 0), shape[d] - max(-hi, 0)
        crop[d] = slice(start, max(stop, start))
        place[d] = slice(max(lo, 0), max(lo, 0) + max(stop - start, 0))
    base = np.full(out_shape, value, dtype=array_of(input).dtype)
    return index_put(base, tuple(place), input[tuple(crop)])


def _check_pad_dim(shape, d, lo, hi, mode):
    n = shape[d]
    if mode == "circular":
        # PyTorch crops first, then wraps what is left (m positions): each pad reads at most
        # m of them once (beyond that PyTorch's own result reads memory it never wrote)
        m = n - max(-lo, 0) - max(-hi, 0)
        if max(lo, hi) > n or max(lo, hi, 0) > m:
            raise ArgumentError(
                f"pad: circular padding ({lo}, {hi}) of dim {d} (size {n}) of the input of "
                f"shape {shape} wraps around more than once or crops more than it holds; each "
                "pad must be at most the size left after cropping")
        return
    if n + lo + hi < 0:
        raise ShapeError(f"pad: mode {mode!r} can't pad dim {d} of the input of shape {shape} "
                         f"by ({lo}, {hi}): the result would have size {n + lo + hi}")
    if mode == "reflect" and (lo >= n or hi >= n):
        raise ArgumentError(f"pad: reflect padding ({lo}, {hi}) must be less than the size "
                            f"{n} of dim {d} of the input of shape {shape}")


# NOTE: cached: a gather depends only on these arguments and is never changed
@lru_cache(maxsize=256)
def _pad_map(n, lo, hi, mode):
    """The source position along a dim of size n of each output position, and its gather."""
    if mode == "circular":     # PyTorch crops first, then wraps around what is left
        start, stop = max(-lo, 0), n - max(-hi, 0)
        index = start + np.arange(-max(lo, 0), stop - start + max(hi, 0)) % (stop - start)
    else:
        j = np.arange(-lo, n + hi)
        if mode == "reflect":
            j = np.abs(j)
            index = np.where(j >= n, 2 * (n - 1) - j, j)
        else:
            index = np.clip(j, 0, n - 1)
    index.setflags(write=False)
    return index, one_hot_rows(index, n)


def _check_factor(fn, factor, what):
    if not isinstance(factor, (int, np.integer)) or isinstance(factor, bool) or factor <= 0:
        raise ArgumentError(f"{fn}: expects a positive integer {what}, but got {factor!r}")


def pixel_shuffle(input, upscale_factor):
    """Rearrange ``(*, C * r^2, H, W)`` into ``(*, C, H * r, W * r)``.

    Args:
        input: a tensor of at least 3 dims whose channel dim (-3) divides by ``r^2``.
        upscale_factor: ``r``, a positive int.

    Returns:
        The rearranged tensor (a copy).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.pixel_shuffle(tg.arange(4.0).reshape(4, 1, 1), 2)
        tensor([[[0., 1.],
                 [2., 3.]]])
    """
    _check_factor("pixel_shuffle", upscale_factor, "upscale_factor")
    if input.ndim < 3:
        raise ShapeError(f"pixel_shuffle: expects input to have at least 3 dimensions, but got "
                         f"input of shape {tuple(input.shape)}")
    *batch, c, h, w = input.shape
    r = int(upscale_factor)
    if c % (r * r):
        raise ShapeError(f"pixel_shuffle: the channel dim (-3) of the input of shape "
                         f"{tuple(input.shape)} must be divisible by upscale_factor^2 = "
                         f"{r * r}, but it is {c}")
    n = len(batch)
    x = input.reshape(*batch, c // (r * r), r, r, h, w)
    perm = tuple(range(n)) + (n, n + 3, n + 1, n + 4, n + 2)
    return x.permute(*perm).reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """Rearrange ``(*, C, H * r, W * r)`` into ``(*, C * r^2, H, W)``: pixel_shuffle's inverse.

    Args:
        input: a tensor of at least 3 dims whose last two divide by ``r``.
        downscale_factor: ``r``, a positive int.

    Returns:
        The rearranged tensor (a copy).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.pixel_unshuffle(tg.arange(4.0).reshape(1, 2, 2), 2).flatten()
        tensor([0., 1., 2., 3.])
    """
    _check_factor("pixel_unshuffle", downscale_factor, "downscale_factor")
    if input.ndim < 3:
        raise ShapeError(f"pixel_unshuffle: expects input to have at least 3 dimensions, but "
                         f"got input of shape {tuple(input.shape)}")
    *batch, c, h, w = input.shape
    r = int(downscale_factor)
    for name, size in (("height (dim -2)", h), ("width (dim -1)", w)):
        if size % r:
            raise ShapeError(f"pixel_unshuffle: the {name} of the input of shape "
                             f"{tuple(input.shape)} must be divisible by downscale_factor "
                             f"{r}, but it is {size}")
    n = len(batch)
    x = input.reshape(*batch, c, h // r, r, w // r, r)
    perm = tuple(range(n)) + (n, n + 2, n + 4, n + 1, n + 3)
    return x.permute(*perm).reshape(*batch, c * r * r, h // r, w // r)


def _base_coords(steps, align_corners, dtype):
    """Normalized pixel-centre coordinates in [-1, 1] of ``steps`` pixels."""
    if steps <= 1:
        return np.zeros(max(steps, 0), dtype=dtype)
    line = np.linspace(-1.0, 1.0, steps)
    return (line if align_corners else line * (steps - 1) / steps).astype(dtype)


def affine_grid(theta, size, align_corners=None):
    """A sampling grid for grid_sample from a batch of affine matrices.

    Args:
        theta: float ``(N, 2, 3)`` (2-d transforms) or ``(N, 3, 4)`` (3-d transforms).
        size: the target size ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        align_corners: as in grid_sample (None means False).

    Returns:
        ``(N, H, W, 2)`` or ``(N, D, H, W, 3)`` normalized ``(x, y[, z])`` coordinates.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.affine_grid(tg.tensor([[[1.0, 0, 0], [0, 1, 0]]]), (1, 1, 1, 2))
        tensor([[[[-0.5000,  0.0000],
                  [ 0.5000,  0.0000]]]])
    """
    size = tuple(int(s) for s in size)
    if not theta.is_floating_point():
        raise DTypeError(f"affine_grid: expected theta to have a floating point dtype, but got "
                         f"{theta.dtype}")
    if len(size) not in (4, 5):
        raise NotSupportedError(f"affine_grid: only supports 4-d and 5-d sizes, for 2-d and 3-d "
                            f"affine transforms, respectively; got size {size}")
    k = len(size) - 2
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (k, k + 1):
        raise ShapeError(f"affine_grid: expected a batch of {k}-d affine matrices of shape "
                         f"(N, {k}, {k + 1}) for size {size}, got theta of shape "
                         f"{tuple(theta.shape)}")
    if min(size) <= 0:
        raise ArgumentError(f"affine_grid: expected a positive output size, got {size}")
    if theta.shape[0] != size[0]:
        raise ShapeError(f"affine_grid: theta holds {theta.shape[0]} matrices but size {size} "
                         f"asks for a batch of {size[0]}")
    dtype = array_of(theta).dtype       # (metadata only: theta may be batched by vmap)
    spatial = size[2:]
    # (x, y[, z]) run along the last, second-to-last[, third-to-last] dims
    coords = [_base_coords(s, bool(align_corners), dtype) for s in spatial[::-1]]
    mesh = list(np.meshgrid(*coords[::-1], indexing="ij"))[::-1]
    base = np.stack(mesh + [np.ones(spatial, dtype=dtype)], axis=-1).reshape(1, -1, k + 1)
    grid = matmul(base, theta.transpose(1, 2))
    return grid.reshape(size[0], *spatial, k)
