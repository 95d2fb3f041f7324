"""tapegrad.nn.functional: normalization (layer_norm, batch_norm, group_norm, instance_norm,
rms_norm, local_response_norm).

The first four standardize with one primitive (``tapegrad.ops.nn.normalization.standardize``,
statistics in two passes, a fused backward) and apply their affine weight and bias as a
broadcast multiply and add; rms_norm uses its uncentered twin. float16 inputs compute in
float32 (statistics and all) and the result is rounded to float16 once, as PyTorch does.
"""
import math

import numpy as np

from ..._core.errors import ArgumentError, DTypeError, ShapeError
from ..._core.state import STATE
from ..._core.tensor import Tensor, array_of, shape_of
from ...ops.creation import zeros
from ...ops.nn.normalization import Moments, rms_normalize, standardize
from ...ops.registry import batched_call
from ...ops.shape import cat

__all__ = ["layer_norm", "batch_norm", "group_norm", "instance_norm", "rms_norm",
           "local_response_norm"]

_float16, _float32 = np.dtype(np.float16), np.dtype(np.float32)


# ---- shared checks and helpers ---------------------------------------------------------------
def _shape_str(shape):
    return str(tuple(shape))


def _floating(input, name, min_dim=0):
    """Check ``input`` (a floating tensor with at least ``min_dim`` dims); return its dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    dtype = input._data.dtype
    if dtype.kind != "f":
        raise DTypeError(f"{name}: input dtype must be floating point, got {dtype}; convert "
                         "with .float() first.")
    if input.ndim < min_dim:
        raise ShapeError(f"{name}: expected an input of shape (N, C, *) with at least "
                         f"{min_dim} dims, got shape {_shape_str(input.shape)}.")
    return dtype


def _compute(t):
    """float16 computes in float32 (PyTorch's accumulation type); others stay as they are."""
    return t.float() if t is not None and array_of(t).dtype == _float16 else t


def _finish(out, dtype):
    """The result in the input's dtype (a float16 input is rounded once, at the end)."""
    return out.to(dtype) if dtype == _float16 else out


def _normalized_shape(normalized_shape, input, name):
    """normalized_shape as a tuple of ints matching the input's trailing dims."""
    shape = ((normalized_shape,) if isinstance(normalized_shape, (int, np.integer))
             else tuple(normalized_shape))
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
        raise TypeError(f"{name}: normalized_shape must be a sequence of ints (the trailing "
                        f"dims to normalize over), got {normalized_shape!r}.")
    if not shape:
        raise ArgumentError(f"{name}: normalized_shape must name at least one dim, got "
                            f"{normalized_shape!r}.")
    shape = tuple(int(n) for n in shape)
    if len(shape) > input.ndim or tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise ShapeError(f"{name}: normalized_shape={shape} must match the last dims of the "
                         f"input, so the input must have shape (*, {', '.join(map(str, shape))}),"
                         f" but it has shape {_shape_str(input.shape)}.")
    return shape


def _check_param(t, what, want, name, exact=True):
    """A weight, bias or running statistic of the right size: shape ``want`` (exact) or
    ``want[0]`` elements (PyTorch's test for per-channel vectors)."""
    if t is None:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor or None, got {type(t).__name__}")
    ok = tuple(t.shape) == want if exact else t.numel() == want[0]
    if not ok:
        expect = f"shape {want}" if exact else f"{want[0]} elements (one per channel)"
        raise ShapeError(f"{name}: {what} should have {expect}, but it has shape "
                         f"{_shape_str(t.shape)}.")


def _viewed(t, shape):
    """``t`` in float32 if float16, viewed as ``shape`` (no node when it already is)."""
    t = _compute(t)
    return t if tuple(t.shape) == shape else t.reshape(shape)


def _affine(y, weight, bias, shape):
    """y * weight + bias, the parameters viewed as ``shape`` to broadcast along y's dims."""
    if weight is not None:
        y = y * _viewed(weight, shape)
    if bias is not None:
        y = y + _viewed(bias, shape)
    return y


def _channel_shape(input):
    """(C, 1, ..., 1): a per-channel vector viewed to broadcast over (N, C, *)."""
    return (input.shape[1],) + (1,) * (input.ndim - 2)


def _check_running(running_mean, running_var, channels, name, required):
    """Both running statistics or neither; ``channels`` elements each; no grad required."""
    if (running_mean is None) != (running_var is None):
        raise ArgumentError(f"{name}: running_mean and running_var must either both be None "
                            "or neither be None.")
    if running_mean is None:
        if required:
            raise ArgumentError(f"{name}: running_mean and running_var must be given {required}.")
        return
    for what, t in (("running_mean", running_mean), ("running_var", running_var)):
        _check_param(t, what, (channels,), name, exact=False)
        if t.requires_grad and STATE.grad_enabled:
            raise ArgumentError(f"{name}: {what} requires grad, but no gradient flows into "
                                "running statistics; pass a tensor that doesn't require grad "
                                "(or call under tapegrad.no_grad()).")


def _check_dtypes(name, dtype, **params):
    """Parameters in the input's dtype (float32 also for float16 input), as PyTorch's CPU
    kernels: no silent promotion of the result to a parameter's dtype."""
    allowed = (dtype, _float32) if dtype == _float16 else (dtype,)
    for what, t in params.items():
        if t is not None and array_of(t).dtype not in allowed:
            raise DTypeError(f"{name}: {what} has dtype {array_of(t).dtype} but the input "
                             f"{dtype}; use {' or '.join(map(str, allowed))}.")


def _check_momentum(momentum, name):
    if momentum is None or isinstance(momentum, bool) or not isinstance(
            momentum, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"{name}: momentum must be a float, got {momentum!r}. For a cumulative moving "
            "average (nn.BatchNorm's momentum=None), pass momentum=1/k on the k-th batch, "
            "as the module does with num_batches_tracked.")
    return float(momentum)


def _update_running(stat, batch_value, momentum):
    """stat <- (1 - momentum) * stat + momentum * batch_value, in place.

    Computed in float64 (as PyTorch's CPU kernel accumulates) and stored in stat's dtype; the
    write bumps stat's version, so a graph that saved stat notices the change. PyTorch's
    kernel writes without a bump, which would let such a graph use the stale value.
    """
    old = stat._data
    new = (1.0 - momentum) * old.astype(np.float64) + momentum * batch_value.reshape(old.shape)
    prev, STATE.grad_enabled = STATE.grad_enabled, False   # a statistic, not part of the graph
    try:
        stat.copy_(new.astype(old.dtype))
    finally:
        STATE.grad_enabled = prev


def _scale_shift(input, running_mean, running_var, weight, bias, eps):
    """Normalization with given statistics (batch_norm in eval, instance_norm without input
    stats): x * scale + shift with scale = weight / sqrt(var + eps) and shift = bias -
    mean * scale, per channel: two full-size ops, as PyTorch's CPU kernel computes it."""
    dtype = array_of(input).dtype if array_of(input).dtype != _float16 else _float32
    rstd = 1.0 / np.sqrt(array_of(running_var).astype(dtype) + eps)
    mean = array_of(running_mean).astype(dtype)
    scale = rstd if weight is None else _compute(weight).reshape(-1) * rstd
    shift = -mean * scale
    if bias is not None:
        shift = _compute(bias).reshape(-1) + shift
    shape = _channel_shape(input)
    scale = scale.reshape(shape)
    shift = shift.reshape(shape)
    return _compute(input) * scale + shift


# ---- layer_norm / rms_norm ---------------------------------------------------------------------
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalization over the last dims: (x - mean) / sqrt(var + eps) * weight + bias.

    Args:
        input: a floating tensor of shape (*, *normalized_shape).
        normalized_shape: the trailing dims to normalize over (a sequence of ints; an int is
            taken as a 1-element sequence).
        weight, bias: optional tensors of shape ``normalized_shape``.
        eps: added to the (biased) variance.

    Returns:
        A tensor shaped and typed like ``input``. A constant input gives ``bias`` (0 without
        one) and finite gradients.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.layer_norm(tg.tensor([[1.0, 2.0, 3.0]]), [3], eps=0.0)
        tensor([[-1.2247,  0.0000,  1.2247]])
    """
    dtype = _floating(input, "layer_norm")
    shape = _normalized_shape(normalized_shape, input, "layer_norm")
    _check_param(weight, "weight", shape, "layer_norm")
    _check_param(bias, "bias", shape, "layer_norm")
    _check_dtypes("layer_norm", dtype, weight=weight, bias=bias)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    y = standardize(_compute(input), dims, eps)
    return _finish(_affine(y, weight, bias, shape), dtype)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """Root-mean-square normalization over the last dims: x / sqrt(mean(x^2) + eps) * weight.

    Args:
        input: a floating tensor of shape (*, *normalized_shape).
        normalized_shape: the trailing dims to normalize over.
        weight: an optional tensor of shape ``normalized_shape``.
        eps: added to the mean square; None means the machine epsilon of the dtype computed
            in (``finfo(float32).eps`` for float16 input, as in PyTorch).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.rms_norm(tg.tensor([[3.0, 4.0]]), [2])
        tensor([[0.8485, 1.1314]])
    """
    dtype = _floating(input, "rms_norm")
    shape = _normalized_shape(normalized_shape, input, "rms_norm")
    _check_param(weight, "weight", shape, "rms_norm")
    x = _compute(input)
    if eps is None:
        eps = float(np.finfo(array_of(x).dtype).eps)
    y = rms_normalize(x, tuple(range(input.ndim - len(shape), input.ndim)), eps)
    out = _affine(y, weight, None, shape)
    # the input's dtype whatever the weight's, as PyTorch (float32 input, float64 weight)
    return out if array_of(out).dtype == dtype else out.to(dtype)


# ---- batch_norm / instance_norm / group_norm -------------------------------------------------
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalization of (N, C, *) over every dim but the channels' (C).

    Training: normalizes with the batch's mean and biased variance, and, when running
    statistics are given, updates them in place: ``running_mean = (1 - momentum) *
    running_mean + momentum * mean`` and likewise ``running_var`` with the unbiased variance.
    Evaluation: normalizes with ``running_mean`` and ``running_var``.

    Args:
        input: a floating tensor of shape (N, C), (N, C, L), (N, C, H, W), (N, C, D, H, W), ...
        running_mean, running_var: tensors of C elements (None allowed in training only).
        weight, bias: optional tensors of C elements.
        training: use (and update) batch statistics.
        momentum: a float. As in PyTorch, momentum=None is refused here: nn.BatchNorm's
            cumulative average passes momentum=1/k on the k-th batch.
        eps: added to the variance (positive in training, non-negative otherwise).

    Returns:
        A tensor shaped and typed like ``input``. No gradient flows into the running
        statistics (PyTorch refuses running statistics that require grad).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> rm, rv = tg.zeros(1), tg.ones(1)
        >>> F.batch_norm(tg.tensor([[1.0], [3.0]]), rm, rv, training=True)
        tensor([[-1.0000],
                [ 1.0000]])
        >>> rm, rv
        (tensor([0.2000]), tensor([1.1000]))
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: per-example statistics
        out = batched_call("batch_norm", (input, running_mean, running_var, weight, bias), {
            "training": training, "momentum": momentum, "eps": eps})
        if out is not None:
            return out
    dtype = _floating(input, "batch_norm", min_dim=2)
    channels = input.shape[1]
    _check_running(running_mean, running_var, channels, "batch_norm",
                   None if training else "in evaluation mode (training=False)")
    _check_param(weight, "weight", (channels,), "batch_norm", exact=False)
    _check_param(bias, "bias", (channels,), "batch_norm", exact=False)
    momentum = _check_momentum(momentum, "batch_norm")
    if eps < 0 or training and eps == 0:
        raise ArgumentError(f"batch_norm: eps must be {'positive' if training else 'non-negative'}"
                            f"{' in training' if training else ''}, but got {eps}.")
    count = input.numel() // channels if channels else 0
    if training and count == 1:
        raise ArgumentError(f"batch_norm: expected more than 1 value per channel when "
                            f"training, got input of shape {_shape_str(input.shape)}.")
    _check_dtypes("batch_norm", dtype, running_mean=running_mean, running_var=running_var,
                  weight=weight, bias=bias)
    shape = _channel_shape(input)
    if not training:
        return _finish(_scale_shift(input, running_mean, running_var, weight, bias, eps), dtype)
    moments = Moments(read=True)
    dims = (0,) + tuple(range(2, input.ndim))
    y = standardize(_compute(input), dims, eps, moments)
    if running_mean is not None and count > 0:
        _update_running(running_mean, moments.mean, momentum)
        _update_running(running_var, moments.var * (count / (count - 1)), momentum)
    return _finish(_affine(y, weight, bias, shape), dtype)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Instance normalization: each (sample, channel) of (N, C, *) over its own spatial dims.

    With ``use_input_stats`` (the default) each instance is normalized by its own mean and
    biased variance; given running statistics, they are updated in place with the batch
    averages of the instances' means and unbiased variances. Otherwise the running
    statistics normalize, as batch_norm in evaluation.

    Args:
        input: a floating tensor of shape (N, C, *) with more than one spatial element.
        running_mean, running_var: optional tensors of C elements.
        weight, bias: optional tensors of C elements.
        use_input_stats: normalize with each instance's statistics.
        momentum: the running statistics' update factor.
        eps: added to the variance.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.instance_norm(tg.tensor([[[1.0, 3.0], [0.0, 4.0]]]), eps=0.0)
        tensor([[[-1.,  1.],
                 [-1.,  1.]]])
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: per-example running statistics
        out = batched_call("instance_norm", (input, running_mean, running_var, weight, bias), {
            "use_input_stats": use_input_stats, "momentum": momentum, "eps": eps})
        if out is not None:
            return out
    dtype = _floating(input, "instance_norm", min_dim=2)
    channels = input.shape[1]
    _check_running(running_mean, running_var, channels, "instance_norm",
                   None if use_input_stats else "when use_input_stats is False")
    _check_param(weight, "weight", (channels,), "instance_norm", exact=False)
    _check_param(bias, "bias", (channels,), "instance_norm", exact=False)
    momentum = _check_momentum(momentum, "instance_norm")
    spatial = math.prod(input.shape[2:])
    if use_input_stats and spatial == 1:
        raise ArgumentError(f"instance_norm: expected more than 1 spatial element when "
                            f"training, got input of shape {_shape_str(input.shape)}.")
    _check_dtypes("instance_norm", dtype, weight=weight, bias=bias)
    if not use_input_stats:
        return _finish(_scale_shift(input, running_mean, running_var, weight, bias, eps), dtype)
    # the statistics are read only for running statistics (unread, vmap can batch the op)
    moments = Moments(read=running_mean is not None)
    y = standardize(_compute(input), tuple(range(2, input.ndim)), eps, moments)
    if running_mean is not None and input.numel() > 0:
        n = input.shape[0]
        _update_running(running_mean, moments.mean.reshape(n, channels).mean(0), momentum)
        unbiased = moments.var.reshape(n, channels) * (spatial / (spatial - 1))
        _update_running(running_var, unbiased.mean(0), momentum)
    return _finish(_affine(y, weight, bias, _channel_shape(input)), dtype)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalization: the channels of (N, C, *) split into ``num_groups`` groups, each
    (sample, group) normalized over its channels and spatial dims, then a per-channel affine.

    Args:
        input: a floating tensor of shape (N, C, *).
        num_groups: a positive int dividing C.
        weight, bias: optional tensors of shape (C,).
        eps: added to the variance.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.group_norm(tg.tensor([[1.0, 3.0, 0.0, 4.0]]), 2, eps=0.0)
        tensor([[-1.,  1., -1.,  1.]])
    """
    dtype = _floating(input, "group_norm", min_dim=2)
    shape = tuple(input.shape)
    channels = shape[1]
    if isinstance(num_groups, bool) or not isinstance(num_groups, (int, np.integer)):
        raise TypeError(f"group_norm: num_groups must be an int, got {num_groups!r}")
    if num_groups <= 0 or channels % num_groups:
        raise ArgumentError(f"group_norm: the number of channels must be divisible by "
                            f"num_groups (a positive int), but got input of shape "
                            f"{_shape_str(shape)} ({channels} channels) and "
                            f"num_groups={num_groups}.")
    _check_param(weight, "weight", (channels,), "group_norm")
    _check_param(bias, "bias", (channels,), "group_norm")
    if shape[0] * (channels // num_groups) * math.prod(shape[2:]) == 1:
        # PyTorch's check (the batch times the group size): one value, nothing to normalize
        raise ArgumentError(f"group_norm: expected more than 1 value per group when the "
                            f"batch has one sample, got input of shape {_shape_str(shape)} "
                            f"and num_groups={num_groups}.")
    _check_dtypes("group_norm", dtype, weight=weight, bias=bias)
    grouped = (shape[0], int(num_groups), channels // num_groups * math.prod(shape[2:]))
    y = standardize(_compute(input).reshape(grouped), (2,), eps).reshape(shape)
    return _finish(_affine(y, weight, bias, _channel_shape(input)), dtype)


# ---- local_response_norm -------------------------------------------------------------------
def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Local response normalization across channels:
    x / (k + alpha / size * sum of x^2 over a window of ``size`` channels) ** beta.

    The window of channel c spans channels c - size // 2 ... c + (size - 1) // 2, zero-padded
    at both ends (PyTorch's formulation: an average pool over the padded squares).

    Args:
        input: a floating tensor of shape (N, C, *) with at least 3 dims.
        size: the number of channels in a window (a positive int).
        alpha, beta, k: the formula's constants.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.local_response_norm(tg.tensor([[[1.0], [2.0]]]), 2, alpha=2.0, beta=1.0)
        tensor([[[0.5000],
                 [0.3333]]])
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the window is a strided view
        out = batched_call("local_response_norm", (input,),
                           {"size": size, "alpha": alpha, "beta": beta, "k": k})
        if out is not None:
            return out
    dtype = _floating(input, "local_response_norm")
    if input.ndim < 3:
        raise ShapeError(f"local_response_norm: expected an input of 3 or more dims (N, C, *), "
                         f"got shape {_shape_str(input.shape)}.")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise TypeError(f"local_response_norm: size must be an int, got {size!r}.")
    if size <= 0:
        raise ArgumentError(f"local_response_norm: size must be a positive int, got {size!r}.")
    if input.numel() == 0:
        return input
    x = _compute(input)
    n, rest = shape_of(x)[0], tuple(shape_of(x)[2:])
    front, back = size // 2, (size - 1) // 2
    pads = [zeros((n, p) + rest, dtype=array_of(x).dtype) for p in (front, back)]
    squares = cat([pads[0], x * x, pads[1]], 1)
    # A window sum per channel: the padded squares' windows along dim 1 (a strided view).
    sums = squares.unfold(1, size, 1).sum(-1)
    return _finish(x / (sums * (alpha / size) + k) ** beta, dtype)
