"""Primitives of the nn conv family: N-d convolution, its transpose and its weight gradient,
and the public conv1d/2d/3d and conv_transpose1d/2d/3d (PyTorch's torch.conv2d, ...; also
tapegrad.nn.functional's). The array kernels live in conv_windows.py.

# Note [Three bilinear primitives]
conv(x, w) is bilinear; so are its two partial adjoints: conv_transpose(g, w), the adjoint in
x (<g, conv(x, w)> = <conv_transpose(g, w), x>), and conv_weight(x, g), the adjoint in w
(<g, conv(x, w)> = <conv_weight(x, g), w>). Each one's derivatives are the other two:
    conv:           dx = conv_transpose(g, w)      dw = conv_weight(x, g)
    conv_transpose: dx = conv(g, w)                dw = conv_weight(g, x)
    conv_weight:    dx = conv_transpose(g, u)      dg = conv(x, u)          (u: cotangent)
and the JVP of each is op(tx, w) + op(x, tw). The rules call the primitives through
``apply``, so they run on arrays in the fast backward path and record themselves on Tensors
(create_graph=True): every order of derivative comes from these three ops. Each takes its
geometry as parameters (stride, padding as (before, after) per dim, dilation, groups, and
the sizes a rule needs when an input was not saved).
"""

import numpy as np

from ..._core.errors import ArgumentError, DTypeError, ShapeError
from ..._core.state import STATE
from ..._core.tensor import array_of, shape_of
from ..reduction import sum as _sum
from ..registry import OpDef, apply, linear, register
from ..shape import broadcast_to, squeeze, unsqueeze
from . import conv_windows as cw

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]     # PyTorch has them at top level too (torch.conv2d)
METHODS = {}


def _in_float32(fn):
    """float16 operands computed in float32 (accumulation), the result rounded to float16."""
    def run(*arrays, **params):
        if any(a is not None and a.dtype == np.float16 for a in arrays):
            arrays = [None if a is None else a.astype(np.float32) for a in arrays]
            return fn(*arrays, **params).astype(np.float16)
        return fn(*arrays, **params)
    run.__name__ = fn.__name__
    return run


# Note [Conv keeps its windows]
# The forward copies x's windows into one matrix (Note [Convolution layout]), and the weight
# gradient contracts g with that same matrix. Building it again in the backward cost as much
# as the forward's copy (about a tenth of the CNN step), so a conv whose weight may need a
# gradient gets a ``Windows`` in its params, the forward leaves the matrix there (as
# normalization's forward leaves its Moments), and conv_vjp computes the weight gradient
# first, handing the matrix to conv_weight, which lets go of it. The cost is memory: the
# matrix (K times x) now also lives through the layers after the conv and their backward;
# the CNN step's peak (benchmarks/cnn_step.py) went from 76 to 84 MiB, 2.5x to 2.7x its
# activations. The matrix is used only with the very array it was built from (a saved x,
# so the engine refuses an in-place change of it); a second backward (retain_graph) builds
# it again.
class Windows:
    """x's window matrix as conv's forward built it (Note [Conv keeps its windows])."""
    __slots__ = ("x", "cols")

    def __init__(self):
        self.x = self.cols = None

    def take(self, x):
        """The matrix if it was built from ``x``, else None; either way it is let go."""
        cols = self.cols if self.x is x else None
        self.x = self.cols = None
        return cols


def _fwd_conv(x, w, b, *, stride, padding, dilation, groups, keep=None, **_):
    return cw.conv(x, w, b, stride, padding, dilation, groups, keep)


def _fwd_conv_transpose(x, w, b, *, stride, padding, dilation, groups, size, **_):
    return cw.conv_transpose(x, w, b, stride, padding, dilation, groups, size)


def _fwd_conv_weight(x, g, *, stride, padding, dilation, groups, kernel, keep=None, **_):
    cols = None if keep is None else keep.take(x)
    return cw.conv_weight(x, g, stride, padding, dilation, groups, kernel, cols)


def _crop(y, size):
    """y's leading ``size`` positions along each spatial dim (a conv of a transpose's output
    can reach past the transpose's input when output_padding >= stride)."""
    if tuple(shape_of(y)[2:]) == tuple(size):
        return y
    return y[(slice(None), slice(None)) + tuple(slice(0, n) for n in size)]


def _bias_grad(g):
    return _sum(g, (0,) + tuple(range(2, len(shape_of(g)))))


def _params(p, **extra):
    q = {"stride": p["stride"], "padding": p["padding"], "dilation": p["dilation"],
         "groups": p["groups"], "kernel": p["kernel"]}
    q.update(extra)
    return q


def conv_vjp(ctx, g):
    """d conv: x <- conv_transpose(g, w), w <- conv_weight(x, g), b <- g summed."""
    need, p = ctx.needs_input_grad, ctx.params
    out = tuple(shape_of(g)[2:])
    # w first: it lets go of the forward's windows (Note [Conv keeps its windows])
    gw = (apply(CONV_WEIGHT, (ctx.x, g), _params(p, in_size=p["in_size"], out_size=out,
                                                  keep=p.get("keep"))) if need[1] else None)
    gx = (apply(CONV_TRANSPOSE, (g, ctx.y, None), _params(p, size=p["in_size"], in_size=out))
          if need[0] else None)
    return gx, gw, _bias_grad(g) if need[2] else None


def _bilinear_jvp(op, ctx, tx, tw, tb, spatial):
    """t op(x, w, b) = op(tx, w) + op(x, tw) + tb, for op conv or conv_transpose (both linear
    in x and in w); ``spatial`` names the param holding the input's spatial size."""
    need, p = ctx.needs_input_grad, ctx.params
    if "keep" in p:     # the windows are x's, for the backward (Note [Conv keeps its windows])
        p = {k: v for k, v in p.items() if k != "keep"}
    out = apply(op, (tx, ctx.y, None), p) if need[0] else 0
    if need[1]:
        out = out + apply(op, (ctx.x, tw, None), p)
    if need[2]:
        out = out + _bias_broadcast(tb, len(p[spatial]))
    return out if need[0] or need[1] else broadcast_to(out, ctx.shape)


def conv_jvp(ctx, tx, tw, tb):
    """t conv = conv(tx, w) + conv(x, tw) + tb."""
    return _bilinear_jvp(CONV, ctx, tx, tw, tb, "in_size")


def conv_transpose_vjp(ctx, g):
    """d conv_transpose: x <- conv(g, w), w <- conv_weight(g, x), b <- g summed."""
    need, p = ctx.needs_input_grad, ctx.params
    size, length = p["size"], p["in_size"]
    gx = (_crop(apply(CONV, (g, ctx.y, None), _params(p, in_size=size)), length)
          if need[0] else None)
    gw = (apply(CONV_WEIGHT, (g, ctx.x), _params(p, in_size=size, out_size=length))
          if need[1] else None)
    return gx, gw, _bias_grad(g) if need[2] else None


def conv_transpose_jvp(ctx, tx, tw, tb):
    """t conv_transpose = conv_transpose(tx, w) + conv_transpose(x, tw) + tb."""
    return _bilinear_jvp(CONV_TRANSPOSE, ctx, tx, tw, tb, "size")


def _bias_broadcast(b, ndim):
    """b (C,) shaped to broadcast against (N, C, *spatial)."""
    return b.reshape((shape_of(b)[0],) + (1,) * ndim)


def conv_weight_vjp(ctx, u):
    """d conv_weight (x, g) against u: x <- conv_transpose(g, u), g <- conv(x, u)."""
    need, p = ctx.needs_input_grad, ctx.params
    gx = (apply(CONV_TRANSPOSE, (ctx.y, u, None),
                _params(p, size=p["in_size"], in_size=p["out_size"])) if need[0] else None)
    gg = _crop(apply(CONV, (ctx.x, u, None), p), p["out_size"]) if need[1] else None
    return gx, gg


def conv_weight_jvp(ctx, tx, tg):
    """t conv_weight = conv_weight(tx, g) + conv_weight(x, tg)."""
    need, p = ctx.needs_input_grad, ctx.params
    out = apply(CONV_WEIGHT, (tx, ctx.y), p) if need[0] else 0
    return out + apply(CONV_WEIGHT, (ctx.x, tg), p) if need[1] else out


# NOTE: primitives for speed: as composites (windows, then matmul) the backward would keep a
# K-times-larger column buffer alive and scatter through index_add; here the windows are a
# strided view, each direction is one GEMM per group (or per kernel tap for the adjoint), and
# only x and w are saved (Note [Convolution layout] in conv_windows.py).
CONV = register(OpDef("conv", _in_float32(_fwd_conv), conv_vjp, conv_jvp, save=("x", "y"),
                      save_for={"x": 1, "y": 0}))
CONV_TRANSPOSE = register(OpDef("conv_transpose", _in_float32(_fwd_conv_transpose),
                                conv_transpose_vjp, conv_transpose_jvp, save=("x", "y"),
                                save_for={"x": 1, "y": 0}))
CONV_WEIGHT = register(OpDef("conv_weight", _in_float32(_fwd_conv_weight), conv_weight_vjp,
                             conv_weight_jvp, save=("x", "y"), save_for={"x": 1, "y": 0}))


# ---- the public functions ----------------------------------------------------------------------
def _ints(value, d, what, name, low, one=False):
    """``value`` (an int or d ints; ``one``: also a single int in a sequence, as PyTorch's
    convolutions take stride=(2,)) as a tuple of d ints, each at least ``low``."""
    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)
    if is_int(value):
        out = (int(value),) * d
    elif isinstance(value, (tuple, list)) and all(is_int(v) for v in value):
        if len(value) == 1 and one:
            value = tuple(value) * d
        if len(value) != d:
            raise ArgumentError(f"{name}: {what} must be an int or a tuple of {d} ints, got "
                                f"{value!r}.")
        out = tuple(int(v) for v in value)
    else:
        raise TypeError(f"{name}: {what} must be an int or a tuple of {d} ints, got "
                        f"{value!r}.")
    if any(v < low for v in out):
        raise ArgumentError(f"{name}: {what} must be at least {low} in every dim, got "
                            f"{value!r}.")
    return out


def _padding(padding, d, kernel, stride, dilation, name):
    """(before, after) per dim; 'same' pads d*(k-1) in all, the odd one after (PyTorch)."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * d
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ArgumentError(f"{name}: padding='same' is not supported for strided "
                                    f"convolutions (stride={stride}); pad explicitly instead.")
            total = [di * (k - 1) for di, k in zip(dilation, kernel)]
            return tuple((t // 2, t - t // 2) for t in total)
        raise ArgumentError(f"{name}: invalid padding string {padding!r}; use 'same', 'valid', "
                            "an int or a tuple of ints.")
    return tuple((p, p) for p in _ints(padding, d, "padding", name, 0, one=True))


def _check_dtypes(name, *arrays):
    kinds = [a.dtype for a in arrays if a is not None]
    for dt in kinds:
        if dt.kind != "f":
            raise DTypeError(f"{name}: input, weight and bias must be floating point, got "
                             f"{', '.join(str(k) for k in kinds)}; convert with .float() first.")
    if len(set(kinds)) > 1:
        raise DTypeError(f"{name}: input, weight and bias must have one dtype, got "
                         f"{', '.join(str(k) for k in kinds)}; convert them to one first.")


def _check_common(name, d, x, w, b, groups, weight_form):
    """ndim and dtype checks shared by conv and conv_transpose; returns unbatched."""
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"{name}: groups must be a positive int, got {groups!r}.")
    if groups < 1:
        raise ArgumentError(f"{name}: groups must be a positive int, got {groups!r}.")
    if x.ndim not in (d + 1, d + 2):
        raise ShapeError(f"{name}: expected a {d + 1}-D (unbatched) or {d + 2}-D (batched) "
                         f"input, got shape {x.shape}.")
    if w.ndim != d + 2:
        raise ShapeError(f"{name}: weight must be {d + 2}-D {weight_form}, got shape "
                         f"{w.shape}.")
    if 0 in w.shape[2:]:
        raise ShapeError(f"{name}: the kernel must have a positive size in every dim, got "
                         f"weight of shape {w.shape}.")
    _check_dtypes(name, x, w, b)
    return x.ndim == d + 1


def _check_bias(name, b, channels, w):
    if b is not None and b.shape != (channels,):
        raise ShapeError(f"{name}: with weight of shape {w.shape}, bias must be 1-D with "
                         f"{channels} elements, got shape {b.shape}.")


def _conv(input, weight, bias, stride, padding, dilation, groups, d, name):
    x, w = array_of(input), array_of(weight)
    b = None if bias is None else array_of(bias)
    unbatched = _check_common(name, d, x, w, b, groups,
                              "(out_channels, in_channels / groups, *kernel)")
    shape = (1,) + x.shape if unbatched else x.shape
    kernel = w.shape[2:]
    stride = _ints(stride, d, "stride", name, 1, one=True)
    dilation = _ints(dilation, d, "dilation", name, 1, one=True)
    pads = _padding(padding, d, kernel, stride, dilation, name)
    c, o = shape[1], w.shape[0]
    if o % groups:
        raise ShapeError(f"{name}: groups={groups} must divide the weight's out_channels, got "
                         f"weight of shape {w.shape}.")
    if w.shape[1] * groups != c:
        raise ShapeError(f"{name}: with groups={groups} and weight of shape {w.shape}, the "
                         f"input must have {w.shape[1] * groups} channels, got input of shape "
                         f"{x.shape} ({c} channels).")
    _check_bias(name, b, o, w)
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(shape[2:], pads))
    if any(p < di * (k - 1) + 1 for p, k, di in zip(padded, kernel, dilation)):
        raise ShapeError(f"{name}: the padded input {padded} is smaller than the dilated kernel "
                         f"{tuple(di * (k - 1) + 1 for k, di in zip(kernel, dilation))} (input "
                         f"{x.shape}, weight {w.shape}, padding {padding!r}, dilation "
                         f"{dilation}); pad more or use a smaller kernel.")
    params = {"stride": stride, "padding": pads, "dilation": dilation, "groups": int(groups),
              "kernel": kernel, "in_size": shape[2:]}
    if STATE.grad_enabled and getattr(weight, "requires_grad", False):
        params["keep"] = Windows()
    if unbatched:
        return squeeze(apply(CONV, (unsqueeze(input, 0), weight, bias), params), 0)
    return apply(CONV, (input, weight, bias), params)


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, d,
                    name):
    x, w = array_of(input), array_of(weight)
    b = None if bias is None else array_of(bias)
    unbatched = _check_common(name, d, x, w, b, groups,
                              "(in_channels, out_channels / groups, *kernel)")
    shape = (1,) + x.shape if unbatched else x.shape
    kernel = w.shape[2:]
    stride = _ints(stride, d, "stride", name, 1, one=True)
    dilation = _ints(dilation, d, "dilation", name, 1, one=True)
    if isinstance(padding, str):
        raise TypeError(f"{name}: padding must be an int or a tuple of {d} ints, got "
                            f"{padding!r} (transposed convolutions take no 'same'/'valid').")
    pad = _ints(padding, d, "padding", name, 0, one=True)
    extra = _ints(output_padding, d, "output_padding", name, 0, one=True)
    if any(e >= s and e >= di for e, s, di in zip(extra, stride, dilation)):
        raise ArgumentError(f"{name}: output_padding must be smaller than either stride or "
                            f"dilation in every dim, got output_padding={extra}, stride="
                            f"{stride}, dilation={dilation}.")
    if w.shape[0] != shape[1]:
        raise ShapeError(f"{name}: weight of shape {w.shape} expects an input with "
                         f"{w.shape[0]} channels, got input of shape {x.shape} ({shape[1]} "
                         "channels).")
    if w.shape[0] % groups:
        raise ShapeError(f"{name}: groups={groups} must divide the input channels, got input "
                         f"of shape {x.shape} and weight of shape {w.shape}.")
    if 0 in shape[2:]:
        raise ShapeError(f"{name}: the input must have a positive size in every spatial dim "
                         f"(only the batch may be empty), got input of shape {x.shape}.")
    cout = w.shape[1] * groups
    _check_bias(name, b, cout, w)
    size = tuple((n - 1) * s - 2 * p + di * (k - 1) + e + 1 for n, s, p, di, k, e in
                 zip(shape[2:], stride, pad, dilation, kernel, extra))
    if any(n < 1 for n in size):
        raise ShapeError(f"{name}: the output size {size} is not positive (input {x.shape}, "
                         f"weight {w.shape}, stride {stride}, padding {pad}, dilation "
                         f"{dilation}, output_padding {extra}); use less padding.")
    params = {"stride": stride, "padding": tuple((p, p) for p in pad), "dilation": dilation,
              "groups": int(groups), "kernel": kernel, "size": size, "in_size": shape[2:]}
    if unbatched:
        return squeeze(apply(CONV_TRANSPOSE, (unsqueeze(input, 0), weight, bias), params), 0)
    return apply(CONV_TRANSPOSE, (input, weight, bias), params)


_ARGS = """
    Args:
        input: (N, C_in, *L) or unbatched (C_in, *L).
        weight: (C_out, C_in / groups, *kernel).
        bias: optional (C_out,).
        stride: an int, or one int per spatial dim.
        padding: an int, one int per dim, 'valid' (none) or 'same' (output as large as
            the input; stride 1 only; an odd total pads the extra zero after).
        dilation: spacing between kernel taps: an int or one per dim.
        groups: split the channels into this many groups (groups=C_in: depthwise).

    Returns:
        (N, C_out, *out) (unbatched: without N), out = floor((L + pads - dilation *
        (kernel - 1) - 1) / stride) + 1, in the input's dtype (float16 accumulates in
        float32).
"""
_T_ARGS = """
    Args:
        input: (N, C_in, *L) or unbatched (C_in, *L).
        weight: (C_in, C_out / groups, *kernel).
        bias: optional (C_out,).
        stride, padding, dilation: an int or one per spatial dim, as the convolution this
            transposes (padding crops the output).
        output_padding: added to one side of the output (smaller than stride or dilation).
        groups: split the channels into this many groups.

    Returns:
        (N, C_out, *out), out = (L - 1) * stride - 2 * padding + dilation * (kernel - 1) +
        output_padding + 1, in the input's dtype.
"""


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation, as PyTorch) over (N, C_in, L).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.conv1d(tg.tensor([[[1.0, 2.0, 4.0, 7.0]]]), tg.tensor([[[-1.0, 1.0]]]))
        tensor([[[1., 2., 3.]]])
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as PyTorch) over (N, C_in, H, W).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> x = tg.ones(1, 1, 3, 3, requires_grad=True)
        >>> F.conv2d(x, tg.ones(1, 1, 2, 2)).sum().backward(); x.grad
        tensor([[[[1., 2., 1.],
                  [2., 4., 2.],
                  [1., 2., 1.]]]])
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution (cross-correlation, as PyTorch) over (N, C_in, D, H, W).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.conv3d(tg.ones(2, 3, 4, 4, 4), tg.ones(5, 3, 3, 3, 3), stride=2, padding=1).shape
        tapegrad.Size([2, 5, 2, 2, 2])
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution: the adjoint (gradient) of conv1d in its input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.conv_transpose1d(tg.tensor([[[1.0, 2.0]]]), tg.ones(1, 1, 3), stride=2)
        tensor([[[1., 1., 3., 2., 2.]]])
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 1, "conv_transpose1d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution: the adjoint (gradient) of conv2d in its input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> x, w = tg.ones(1, 4, 5, 5), tg.ones(4, 2, 3, 3)
        >>> F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1).shape
        tapegrad.Size([1, 2, 10, 10])
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 2, "conv_transpose2d")


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """3-D transposed convolution: the adjoint (gradient) of conv3d in its input.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.conv_transpose3d(tg.ones(1, 2, 2, 2, 2), tg.ones(2, 3, 2, 2, 2), stride=2).shape
        tapegrad.Size([1, 3, 4, 4, 4])
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 3, "conv_transpose3d")


for _f in (conv1d, conv2d, conv3d):
    _f.__doc__ = _f.__doc__.replace("\n\n    Example:", "\n" + _ARGS + "\n    Example:", 1)
for _f in (conv_transpose1d, conv_transpose2d, conv_transpose3d):
    _f.__doc__ = _f.__doc__.replace("\n\n    Example:", "\n" + _T_ARGS + "\n    Example:", 1)


# ---- unfold / fold (im2col / col2im) -----------------------------------------------------------
def _fwd_unfold(x, *, kernel, stride, padding, dilation, out, **_):
    return cw.unfold(x, kernel, stride, padding, dilation, out)


def _fwd_fold(cols, *, size, kernel, stride, padding, dilation, out, **_):
    return cw.fold(cols, size, kernel, stride, padding, dilation, out)


def unfold_op(x, **params):
    """The unfold primitive on an array or Tensor (params as the public unfold computed)."""
    return apply(UNFOLD, (x,), params)


def fold_op(cols, **params):
    """The fold primitive on an array or Tensor."""
    return apply(FOLD, (cols,), params)


def unfold_vjp(ctx, g):
    """unfold is linear; its adjoint is fold (overlapping windows summed back)."""
    return (fold_op(g, **ctx.params),)


def fold_vjp(ctx, g):
    """fold is linear; its adjoint is unfold."""
    return (unfold_op(g, **ctx.params),)


# NOTE: primitives for speed: one strided-window copy (unfold) and one strided add per kernel
# tap (fold) instead of a gather/scatter through index arrays. Both take the same parameters
# (kernel, stride, padding, dilation, out: the block grid, size: the image size).
UNFOLD = register(OpDef("unfold", _fwd_unfold, unfold_vjp, linear(unfold_op)))
FOLD = register(OpDef("fold", _in_float32(_fwd_fold), fold_vjp, linear(fold_op)))
