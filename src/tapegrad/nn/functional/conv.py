"""tapegrad.nn.functional: conv (convolutions, their transposes, unfold and fold)."""
import numpy as np

from ..._core.errors import ArgumentError, DTypeError, ShapeError
from ..._core.tensor import array_of
from ...ops.nn.conv import (_ints, conv1d, conv2d, conv3d, conv_transpose1d,  # noqa: F401
                            conv_transpose2d, conv_transpose3d, fold_op, unfold_op)
from ...ops.shape import squeeze, unsqueeze

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "unfold", "fold"]


def _block_params(kernel_size, dilation, padding, stride, name):
    kernel = _ints(kernel_size, 2, "kernel_size", name, 1)
    dilation = _ints(dilation, 2, "dilation", name, 1)
    pad = _ints(padding, 2, "padding", name, 0)
    stride = _ints(stride, 2, "stride", name, 1)
    return {"kernel": kernel, "dilation": dilation, "padding": tuple((p, p) for p in pad),
            "stride": stride}


def _blocks(size, p):
    """The grid of sliding blocks over an image of ``size`` (PyTorch's L = its product)."""
    return tuple((n + 2 * lo - d * (k - 1) - 1) // s + 1 for n, (lo, _), d, k, s in
                 zip(size, p["padding"], p["dilation"], p["kernel"], p["stride"]))


def _check_float(name, data):
    if data.dtype.kind != "f":
        raise DTypeError(f"{name}: input must be floating point, got {data.dtype}; convert "
                         "with .float() first.")


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding local blocks (im2col): (N, C, H, W) -> (N, C * kh * kw, L).

    Column l holds block l (blocks in row-major order over the output grid), its rows the
    block's values, channel-major then kernel row then kernel column, as PyTorch.

    Args:
        input: (N, C, H, W) or unbatched (C, H, W).
        kernel_size, dilation, padding, stride: an int or 2 ints each.

    Returns:
        (N, C * kh * kw, L) (unbatched: (C * kh * kw, L)), L the number of blocks.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> x = tg.arange(6.0).reshape(1, 1, 2, 3)
        >>> F.unfold(x, (2, 2))
        tensor([[[0., 1.],
                 [1., 2.],
                 [3., 4.],
                 [4., 5.]]])
    """
    x = array_of(input)
    _check_float("unfold", x)
    if x.ndim not in (3, 4):
        raise ShapeError(f"unfold: expected a 3-D (unbatched) or 4-D (batched) input, got "
                         f"shape {x.shape}.")
    p = _block_params(kernel_size, dilation, padding, stride, "unfold")
    p["out"] = _blocks(x.shape[-2:], p)
    p["size"] = x.shape[-2:]
    if any(n < 1 for n in p["out"]):
        raise ShapeError(f"unfold: kernel {p['kernel']} with dilation {p['dilation']} does not "
                         f"fit the padded input (input {x.shape}, padding {padding!r}); the "
                         f"grid of blocks would be {p['out']}.")
    if x.ndim == 3:
        return squeeze(unfold_op(unsqueeze(input, 0), **p), 0)
    return unfold_op(input, **p)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Combine sliding local blocks into an image (col2im), summing where blocks overlap;
    the adjoint of :func:`unfold`.

    Args:
        input: (N, C * kh * kw, L) or unbatched (C * kh * kw, L).
        output_size: the image's (H, W): an int or 2 ints.
        kernel_size, dilation, padding, stride: an int or 2 ints each, as given to unfold.

    Returns:
        (N, C, H, W) (unbatched: (C, H, W)).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.fold(tg.ones(1, 4, 2), (2, 3), (2, 2))
        tensor([[[[1., 2., 1.],
                  [1., 2., 1.]]]])
    """
    x = array_of(input)
    _check_float("fold", x)
    if x.ndim not in (2, 3):
        raise ShapeError(f"fold: expected a 2-D (unbatched) or 3-D (batched) input, got shape "
                         f"{x.shape}.")
    p = _block_params(kernel_size, dilation, padding, stride, "fold")
    size = _ints(output_size, 2, "output_size", "fold", 1)
    k = p["kernel"][0] * p["kernel"][1]
    rows, length = x.shape[-2:]
    if rows % k:
        raise ShapeError(f"fold: the input's dim {x.ndim - 2} ({rows}) must be divisible by "
                         f"the kernel's size {p['kernel'][0]} * {p['kernel'][1]} = {k}; input "
                         f"shape {x.shape}.")
    p["out"], p["size"] = _blocks(size, p), size
    if any(n < 1 for n in p["out"]) or int(np.prod(p["out"])) != length:
        raise ShapeError(
            f"fold: output_size={size}, kernel_size={p['kernel']}, dilation={p['dilation']}, "
            f"padding={padding!r}, stride={p['stride']} give {p['out'][0]} * {p['out'][1]} "
            f"blocks, but the input (shape {x.shape}) has {length} in its last dim.")
    if rows == 0:
        raise ArgumentError(f"fold: the input (shape {x.shape}) has no channels.")
    if x.ndim == 2:
        return squeeze(fold_op(unsqueeze(input, 0), **p), 0)
    return fold_op(input, **p)
