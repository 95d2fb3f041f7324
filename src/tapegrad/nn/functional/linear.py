"""tapegrad.nn.functional: linear and bilinear layers."""
from ..._core.errors import ShapeError
from ..._core.tensor import shape_of
from ...ops.linalg.contract import einsum
from ...ops.linalg.products import matmul
from ...ops.nn.linear import linear_op

__all__ = ["linear", "bilinear"]


def _shapes(*named):
    return ", ".join(f"{name} {tuple(shape_of(t))}" for name, t in named)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: the fully connected layer.

    Args:
        input: (..., in_features).
        weight: (out_features, in_features), or (in_features,) for a single output whose dim
            is dropped.
        bias: (out_features,) or anything that broadcasts to the result; None for no bias.

    Returns:
        (..., out_features).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.linear(tg.ones(2, 3), tg.tensor([[1.0, 2.0, 3.0]]), tg.tensor([0.5]))
        tensor([[6.5000],
                [6.5000]])
    """
    xs, ws = shape_of(input), shape_of(weight)
    if len(xs) == 0 or len(ws) not in (1, 2) or xs[-1] != ws[-1]:
        raise ShapeError(
            f"linear: {_shapes(('input', input), ('weight', weight))}: weight must be "
            "(out_features, in_features) or (in_features,), with in_features equal to the "
            "input's last dim.")
    if bias is not None:
        out_shape = tuple(xs[:-1]) + tuple(ws[:-1])
        bs = tuple(shape_of(bias))
        if bs == out_shape[-1:] and len(ws) == 2:
            return linear_op(input, weight, bias)
        if len(bs) > len(out_shape) or any(b not in (1, o) for b, o in
                                           zip(reversed(bs), reversed(out_shape))):
            raise ShapeError(
                f"linear: {_shapes(('input', input), ('weight', weight), ('bias', bias))}: "
                f"bias must broadcast to the result's shape {out_shape}, e.g. "
                f"({out_shape[-1] if out_shape else 1},).")
    if len(ws) == 2:
        out = linear_op(input, weight)
    else:
        out = matmul(input, weight)
    return out if bias is None else out + bias


def bilinear(input1, input2, weight, bias=None):
    """``y[..., k] = input1[..., :] @ weight[k] @ input2[..., :] + bias[k]``.

    Args:
        input1: (..., in1_features); input2: (..., in2_features), the same batch dims.
        weight: (out_features, in1_features, in2_features).
        bias: (out_features,) or None.

    Returns:
        (..., out_features).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.bilinear(tg.ones(1, 2), tg.ones(1, 3), tg.ones(4, 2, 3), tg.zeros(4))
        tensor([[6., 6., 6., 6.]])
    """
    s1, s2, ws = (tuple(shape_of(t)) for t in (input1, input2, weight))
    named = (("input1", input1), ("input2", input2), ("weight", weight))
    if len(ws) != 3 or not s1 or not s2 or s1[-1] != ws[1] or s2[-1] != ws[2]:
        raise ShapeError(
            f"bilinear: {_shapes(*named)}: weight must be (out_features, in1_features, "
            "in2_features) with in1/in2_features the last dims of input1/input2.")
    if s1[:-1] != s2[:-1]:
        raise ShapeError(f"bilinear: {_shapes(*named)}: input1 and input2 must have the same "
                         f"batch dims, got {s1[:-1]} and {s2[:-1]}.")
    if bias is not None and tuple(shape_of(bias)) != ws[:1]:
        raise ShapeError(f"bilinear: {_shapes(*named, ('bias', bias))}: bias must be "
                         f"({ws[0]},).")
    # One GEMM: input1 against every (k, j) column of the weight, then a row-wise dot with
    # input2 (einsum routes both through the matmul primitive).
    out = einsum("...i,kij,...j->...k", input1, weight, input2)
    return out if bias is None else out + bias

