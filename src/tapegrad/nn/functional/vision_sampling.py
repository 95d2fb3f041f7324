"""tapegrad.nn.functional: interpolation and grid sampling (re-exported by vision).

Composites over the ``resample`` primitive (ops/nn/resample.py: a constant sparse matrix
applied along one dim, backward its transpose). interpolate is separable: one matrix per
spatial dim, with 1 (nearest), 2 (linear) or 4 (bicubic) entries per output position.
grid_sample reads its 4 bilinear taps (or 1 nearest) as one-hot rows of the flattened image,
weighted by tensor weights that carry the gradient to the grid. Index arithmetic is NumPy,
built once per call; the loops run over taps and spatial dims only.

# Note [PyTorch's index arithmetic]
Source positions are computed as PyTorch's CPU kernels do, in the input's "opmath" precision
(float32 for float16/float32, float64 for float64), with floorf's float32 rounding for
nearest, so the same source pixel is chosen at ties as in PyTorch. A given scale_factor
enters as 1 / scale_factor (not in / out) unless recompute_scale_factor=True.
"""
import math
from functools import lru_cache

import numpy as np

from ..._core.errors import ArgumentError, DTypeError, ShapeError
from ..._core.state import STATE
from ..._core.tensor import array_of
from ...ops.elementwise import abs as _abs, clamp, where
from ...ops.nn.resample import csr_rows, one_hot_rows, resample, select, taps
from ...ops.registry import batched_call

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "grid_sample"]

_RANKS = {"nearest": (3, 4, 5), "nearest-exact": (3, 4, 5), "area": (3, 4, 5), "linear": (3,),
          "bilinear": (4,), "trilinear": (5,), "bicubic": (4,)}
_INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")
_A = -0.75        # the cubic convolution's parameter in PyTorch's bicubic


class UnsupportedShapeError(ShapeError, NotImplementedError):
    """An input rank a mode doesn't support (PyTorch raises NotImplementedError)."""


class UnsupportedDTypeError(DTypeError, NotImplementedError):
    """An input dtype a mode doesn't support (PyTorch raises NotImplementedError)."""


def _opmath(dtype):
    return np.float64 if dtype == np.float64 else np.float32


def _scale(n_in, n_out, align_corners, scale, dt):
    """PyTorch's area_pixel_compute_scale: source step per output step."""
    if align_corners:
        return dt((n_in - 1) / (n_out - 1)) if n_out > 1 else dt(0)
    if scale is not None and scale > 0:
        return dt(1.0 / scale)
    return dt(n_in) / dt(n_out)


def _nearest_index(n_in, n_out, scale, exact, dt, halves):
    if halves and n_out == 2 * n_in:      # PyTorch's 2-d nearest: any scale doubling a dim
        return np.arange(n_out) // 2
    o = np.arange(n_out, dtype=dt) + (dt(0.5) if exact else dt(0))
    src = np.floor((o * _scale(n_in, n_out, False, scale, dt)).astype(np.float32))
    return np.minimum(src.astype(np.int64), n_in - 1)


def _source(n_in, n_out, align_corners, scale, cubic, dt):
    """(floor index, fraction) of each output position's source coordinate."""
    s = _scale(n_in, n_out, align_corners, scale, dt)
    o = np.arange(n_out, dtype=dt)
    real = s * o if align_corners else s * (o + dt(0.5)) - dt(0.5)
    if not cubic:
        real = np.maximum(real, dt(0))
    i = np.minimum(np.floor(real.astype(np.float32)).astype(np.int64), n_in - 1)
    return i, np.clip(real - i, 0, 1).astype(dt)


def _cubic_weights(t):
    """The 4 taps' weights of cubic convolution at fraction t (taps at -1, 0, 1, 2)."""
    def near(x):      # |x| <= 1
        return ((_A + 2) * x - (_A + 3)) * x * x + 1

    def far(x):       # 1 < |x| < 2
        return ((_A * x - 5 * _A) * x + 8 * _A) * x - 4 * _A
    return far(t + 1), near(t), near(1 - t), far(2 - t)


def _interp_dim(x, d, n_in, n_out, mode, align_corners, scale, dt, antialias):
    """Resample dim d of x from n_in to n_out positions: one sparse matrix product."""
    if mode in ("nearest", "nearest-exact") and not antialias:
        index = _nearest_index(n_in, n_out, scale, mode == "nearest-exact", dt,
                               mode == "nearest" and x.ndim == 4)
        return select(x, d, index, n_in)
    return resample(x, d, _dim_map(n_in, n_out, mode, align_corners, scale, dt, antialias))


# NOTE: a map depends only on these arguments and is never changed, so repeated calls (a
# training loop resizing same-sized batches) share one, with its transpose and casts
@lru_cache(maxsize=256)
def _dim_map(n_in, n_out, mode, align_corners, scale, dt, antialias):
    if antialias:
        return _aa_map(n_in, n_out, mode, align_corners, scale, dt)
    if mode == "area":
        return _area_map(n_in, n_out)
    cubic = mode == "bicubic"
    i, t = _source(n_in, n_out, align_corners, scale, cubic, dt)
    if cubic:
        return taps(n_in, [np.clip(i - 1 + j, 0, n_in - 1) for j in range(4)],
                    _cubic_weights(t))
    return taps(n_in, [i, i + (i < n_in - 1)], [1 - t, t])


def _aa_filter(x, mode):
    """Antialiasing kernels: the triangle (bilinear) and Keys' cubic with a = -0.5
    (bicubic, as PIL and PyTorch's antialias)."""
    x = np.abs(x)
    if mode == "bilinear":
        return np.maximum(0, 1 - x)
    a = -0.5
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, 0))


def _aa_map(n_in, n_out, mode, align_corners, scale, dt):
    """antialias=True: output o averages the inputs under the kernel stretched by the
    downscaling factor (when > 1) around centre s * (o + 1/2), weights normalized to sum 1."""
    s = _scale(n_in, n_out, align_corners, scale, dt)
    half_width = dt(1 if mode == "bilinear" else 2)
    support = half_width * s if s >= 1 else half_width
    inv = dt(1) / s if s >= 1 else dt(1)
    centre = s * (np.arange(n_out, dtype=dt) + dt(0.5))
    first = np.maximum(np.trunc(centre - support + dt(0.5)).astype(np.int64), 0)
    count = np.minimum(np.trunc(centre + support + dt(0.5)).astype(np.int64), n_in) - first
    taps = int(np.ceil(support)) * 2 + 1
    count = np.clip(count, 0, taps)
    j = np.arange(taps)
    used = j < count[:, None]                                   # (n_out, taps)
    w = np.where(used, _aa_filter((j + first[:, None] - centre[:, None] + dt(0.5)) * inv,
                                  mode), 0).astype(dt)
    total = w.sum(1, keepdims=True)
    w = np.where(total != 0, w / np.where(total != 0, total, 1), w)
    rows = np.broadcast_to(np.arange(n_out)[:, None], used.shape)
    return csr_rows(n_out, n_in, rows[used], (first[:, None] + j)[used], w[used])


def _area_map(n_in, n_out):
    """Adaptive average pooling along one dim: output o averages inputs
    floor(o * n_in / n_out) to ceil((o + 1) * n_in / n_out) - 1."""
    o = np.arange(n_out)
    start = o * n_in // n_out
    counts = -(-(o + 1) * n_in // n_out) - start
    rows = np.repeat(o, counts)
    cols = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts - start, counts)
    return csr_rows(n_out, n_in, rows, cols, 1.0 / np.repeat(counts, counts))


def _per_dim(value, k, what):
    if isinstance(value, (tuple, list)):
        if len(value) != k:
            raise ShapeError(f"interpolate: input and {what} must have the same number of "
                             f"spatial dimensions, but the input has {k} and {what} is "
                             f"{tuple(value)}; give one value per spatial dim (N, C, d1, ...)")
        return list(value)
    return [value] * k


def _check_interpolate(input, size, scale_factor, mode, align_corners, recompute_scale_factor,
                       antialias):
    if mode not in _RANKS:
        raise ArgumentError(f"interpolate: unsupported mode {mode!r}; use one of "
                            f"{tuple(_RANKS)}")
    if input.ndim not in (3, 4, 5):
        raise UnsupportedShapeError(
            f"interpolate: only 3-d, 4-d and 5-d inputs (N, C, d1, ...) are supported, got "
            f"shape {tuple(input.shape)} for mode {mode!r}")
    if input.ndim not in _RANKS[mode]:
        raise UnsupportedShapeError(
            f"interpolate: got a {input.ndim}-d input of shape {tuple(input.shape)}, but "
            f"{mode} mode needs a {_RANKS[mode][0]}-d input")
    if align_corners is not None and mode not in _INTERPOLATING:
        raise ArgumentError(f"interpolate: align_corners can only be set with the "
                            f"interpolating modes {_INTERPOLATING}, not {mode!r}")
    if antialias and mode not in ("bilinear", "bicubic"):
        raise ArgumentError("interpolate: antialias is restricted to bilinear and bicubic "
                            f"modes of a 4-d input, not {mode!r}")
    if (size is None) == (scale_factor is None):
        raise ArgumentError("interpolate: " + ("only one of size or scale_factor should be "
                            "defined" if size is not None else "either size or scale_factor "
                            "should be defined"))
    if size is not None and recompute_scale_factor:
        raise ArgumentError("interpolate: recompute_scale_factor is not meaningful with an "
                            "explicit size")
    if input.shape[1] == 0:
        raise ShapeError(f"interpolate: expected a non-empty input (batch dim aside), got "
                         f"shape {tuple(input.shape)}")
    kind = array_of(input).dtype          # (metadata only: input may be batched by vmap)
    if kind.kind != "f" and not (kind == np.uint8 and mode.startswith("nearest")):
        raise UnsupportedDTypeError(
            f"interpolate: mode {mode!r} needs a floating point input (uint8 works with "
            f"nearest modes), got {input.dtype}")


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of ``(N, C, d1, ...)`` by nearest or (bi/tri)linear/bicubic
    interpolation.

    Args:
        input: 3-d, 4-d or 5-d; linear needs 3-d, bilinear and bicubic 4-d, trilinear 5-d.
        size: output spatial size (an int or one per dim), or
        scale_factor: multiplier (a float or one per dim); the size is floor(in * factor).
        mode: 'nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'trilinear' or
            'area' (adaptive average pooling to the output size).
        align_corners: interpolating modes only: True maps the corner pixels' centres onto
            each other; False (default) maps the corners' edges (half-pixel offsets).
        recompute_scale_factor: True computes the source step from the sizes instead of
            1 / scale_factor.
        antialias: bilinear and bicubic only: when downsampling, widen the kernel by the
            factor (PyTorch's and PIL's antialiased resize; bicubic then uses a = -0.5).

    Returns:
        The resized tensor, of ``input``'s dtype.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.interpolate(tg.tensor([[[1.0, 3.0]]]), scale_factor=2, mode="linear")
        tensor([[[1.0000, 1.5000, 2.5000, 3.0000]]])
    """
    _check_interpolate(input, size, scale_factor, mode, align_corners, recompute_scale_factor,
                       antialias)
    k = input.ndim - 2
    n_in = list(input.shape[2:])
    if size is not None:
        n_out = [int(s) for s in _per_dim(size, k, "output size")]
        scales = [None] * k
    else:
        factors = [float(f) for f in _per_dim(scale_factor, k, "scale_factor")]
        if not all(math.isfinite(f) for f in factors):
            raise ArgumentError(f"interpolate: scale_factor must be finite, got "
                                f"{scale_factor!r}")
        n_out = [int(math.floor(n * f)) for n, f in zip(n_in, factors)]
        scales = [None] * k if recompute_scale_factor else factors
    # area mode is adaptive average pooling, which PyTorch lets reach an empty size
    if min(n_in) <= 0 or min(n_out) < (0 if mode == "area" else 1):
        raise ShapeError(f"interpolate: input and output sizes should be greater than 0, but "
                         f"got input {tuple(n_in)} and output {tuple(n_out)}")
    kind = array_of(input).dtype
    dt = _opmath(kind)
    x = input.float() if kind == np.float16 else input   # float32 weights and sums
    # PyTorch's forward copies a dim whose size is unchanged in the (bi/tri)linear, area,
    # antialiased and 2-d nearest modes; plain bicubic, nearest-exact and 1-d/3-d nearest
    # resample it at 1 / scale_factor all the same (PyTorch's backward, and antialias's,
    # resample where its forward copied: tapegrad differentiates the forward it computes)
    copies = antialias or mode in ("linear", "bilinear", "trilinear", "area") or (
        mode == "nearest" and k == 2)
    skip = [a == b and copies for a, b in zip(n_in, n_out)]
    for i in range(k):      # separable: one spatial dim at a time
        if not skip[i]:
            x = _interp_dim(x, 2 + i, n_in[i], n_out[i], mode, bool(align_corners), scales[i],
                            dt, antialias)
    if x is input:
        return input.clone()
    return x.half() if kind == np.float16 else x


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of :func:`interpolate` (same arguments).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.upsample(tg.tensor([[[1.0, 2.0]]]), size=4)
        tensor([[[1., 1., 2., 2.]]])
    """
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(input, size, scale_factor, mode='nearest')``.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.upsample_nearest(tg.tensor([[[1.0, 2.0]]]), scale_factor=2)
        tensor([[[1., 1., 2., 2.]]])
    """
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(input, size, scale_factor, mode='bilinear',
    align_corners=True)``.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.upsample_bilinear(tg.tensor([[[[0.0, 3.0]]]]), size=(1, 4))
        tensor([[[[0., 1., 2., 3.]]]])
    """
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def _unnormalize(g, size, align_corners):
    """Grid coordinates in [-1, 1] to pixel coordinates."""
    if align_corners:
        return (g + 1) / 2 * (size - 1)
    return ((g + 1) * size - 1) / 2


def _reflect(c, twice_low, twice_high):
    """c reflected into [twice_low / 2, twice_high / 2], as often as it takes."""
    if twice_low == twice_high:
        return c * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    a = _abs(c - low)
    flips = np.floor(a.detach().numpy() / span)
    extra = a - (flips * span).astype(flips.dtype)
    return where(flips % 2 == 0, extra + low, span - extra + low)


def _coordinates(g, size, padding_mode, align_corners):
    c = _unnormalize(g, size, align_corners)
    if padding_mode == "zeros":
        return c
    # PyTorch reads a NaN coordinate (border) or a non-finite one (reflection) as 0; set
    # before reflecting, so that its gradient is 0 too
    data = c.detach().numpy()
    bad = np.isnan(data) if padding_mode == "border" else ~np.isfinite(data)
    if bad.any():
        c = where(bad, 0.0, c)
    if padding_mode == "reflection":
        c = (_reflect(c, 0, 2 * (size - 1)) if align_corners
             else _reflect(c, -1, 2 * size - 1))
    return clamp(c, 0, size - 1)


def _check_grid_sample(input, grid, mode, padding_mode):
    if mode not in ("bilinear", "nearest"):
        raise ArgumentError(f"grid_sample: expected mode 'bilinear' or 'nearest' ('bicubic' "
                            f"is not supported), got {mode!r}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ArgumentError(f"grid_sample: expected padding_mode 'zeros', 'border' or "
                            f"'reflection', got {padding_mode!r}")
    if input.ndim != 4:
        raise ShapeError(f"grid_sample: supports 4-d inputs (N, C, H, W) only (5-d volumes "
                         f"are not supported), got shape {tuple(input.shape)}")
    if grid.ndim != 4 or grid.shape[-1] != 2:
        raise ShapeError(f"grid_sample: expected a grid of shape (N, H_out, W_out, 2) for a "
                         f"4-d input, got {tuple(grid.shape)}")
    if 0 in input.shape[2:]:
        raise ShapeError(f"grid_sample: expected an input with non-empty spatial dims (H, W), "
                         f"got shape {tuple(input.shape)}")
    if grid.shape[0] != input.shape[0]:
        raise ShapeError(f"grid_sample: expected grid and input to have the same batch size, "
                         f"got input {tuple(input.shape)} and grid {tuple(grid.shape)}")
    if not input.is_floating_point() or input.dtype != grid.dtype:
        raise DTypeError(f"grid_sample: expected input and grid of one floating point dtype, "
                         f"got {input.dtype} and {grid.dtype}")


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample ``input`` (N, C, H, W) at the normalized positions of ``grid`` (N, H_out,
    W_out, 2), whose last dim holds (x, y) in [-1, 1].

    Args:
        input: the 4-d image batch.
        grid: sampling positions; x indexes the width, y the height.
        mode: 'bilinear' or 'nearest' (rounding half to even).
        padding_mode: outside the image read 'zeros', the 'border' pixels, or the image
            mirrored at its edges ('reflection').
        align_corners: True: -1 and 1 are the corner pixels' centres; False (default, also for
            None): their outer edges.

    Returns:
        ``(N, C, H_out, W_out)``. Bilinear mode differentiates in input and grid; nearest
        mode gives the grid a zero gradient.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> img = tg.tensor([[[[0.0, 2.0]]]])
        >>> F.grid_sample(img, tg.tensor([[[[0.0, 0.0]]]]), align_corners=True)
        tensor([[[[1.]]]])
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the grid's values place the taps
        out = batched_call("grid_sample", (input, grid), {
            "mode": mode, "padding_mode": padding_mode, "align_corners": align_corners})
        if out is not None:
            return out
    _check_grid_sample(input, grid, mode, padding_mode)
    half = input.dtype == grid.dtype and input.detach().numpy().dtype == np.float16
    x, g = (input.float(), grid.float()) if half else (input, grid)
    n, _, h, w = x.shape
    align = bool(align_corners)
    ix = _coordinates(g[..., 0], w, padding_mode, align)
    iy = _coordinates(g[..., 1], h, padding_mode, align)
    # (N*H*W, C): each tap reads one row per output position, a sparse product whose
    # missing entries (taps outside the image) read zeros
    c = x.shape[1]
    image = x.permute(0, 2, 3, 1).reshape(n * h * w, c)
    base = (np.arange(n) * (h * w)).reshape(n, 1, 1)

    def tap(row, col):
        inside = (row >= 0) & (row < h) & (col >= 0) & (col < w)
        matrix = one_hot_rows(base + row * w + col, n * h * w, inside)
        return resample(image, 0, matrix).reshape(*ix.shape, c)

    if mode == "nearest":
        col, row = (np.rint(c.detach().numpy()).astype(np.int64) for c in (ix, iy))
        out = tap(row, col)
        if g.requires_grad:       # PyTorch gives the grid a zero gradient, not none
            out = out + (where(np.isfinite(g.detach().numpy()), g, 0.0) * 0).sum(-1,
                                                                               keepdim=True)
    else:
        x0 = np.floor(ix.detach().numpy())
        y0 = np.floor(iy.detach().numpy())
        wx = ((x0 + 1) - ix, ix - x0)        # weights of columns x0 and x0 + 1
        wy = ((y0 + 1) - iy, iy - y0)
        c0, r0 = x0.astype(np.int64), y0.astype(np.int64)
        out = None
        for dr in (0, 1):                     # the 4 bilinear taps
            for dc in (0, 1):
                term = tap(r0 + dr, c0 + dc) * (wy[dr] * wx[dc]).unsqueeze(-1)
                out = term if out is None else out + term
    out = out.permute(0, 3, 1, 2)
    return out.half() if half else out
