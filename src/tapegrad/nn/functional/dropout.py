"""tapegrad.nn.functional: dropout (elementwise, channel-wise and alpha dropout).

# Note [Dropout masks]
A mask is drawn from tapegrad's default generator (``tapegrad.manual_seed(s)`` reproduces it;
streams are not PyTorch's): uniforms u in [0, 1) in float32 (float64 for float64 inputs, so
float32 inputs make no float64 temporaries), an element kept where u >= p. The result is one
multiply by a constant array (the kept mask times 1 / (1 - p), in the input's dtype), so the
gradient is g * mask / (1 - p) at every order and no primitive is needed; alpha dropout is
one multiply and one add of constants. As in PyTorch, p = 0, training=False or an empty input
return the input itself, and p = 1 multiplies by 0 (so inf and nan inputs give nan).
"""
import math
import warnings

import numpy as np

from ..._core.errors import ArgumentError, DTypeError, ShapeError
from ..._core.state import STATE
from ..._core.tensor import Tensor
from ...ops import elementwise as ew
from ...ops.creation import default_generator
from ...ops.registry import apply_inplace, batched_call

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
# SELU's negative saturation value -scale * alpha: alpha dropout's value for a dropped element.
_SELU_SATURATION = -1.0507009873554805 * 1.6732632423543772


def _check_p(p, name):
    if not isinstance(p, (int, float, np.integer, np.floating)) or not 0.0 <= p <= 1.0:
        raise ArgumentError(f"{name}: dropout probability has to be between 0 and 1, but got "
                            f"{p!r}.")
    return float(p)


def _kept(shape, p, dtype):
    """The bool mask of kept elements (u >= p) of ``shape`` (Note [Dropout masks])."""
    u = default_generator._rng.random(shape, dtype=_F64 if dtype == _F64 else _F32)
    return u >= p


def keep_mask(shape, p, dtype):
    """A ``dtype`` array of ``shape``: 1 / (1 - p) where an element is kept, 0 where it is
    dropped (Note [Dropout masks]); 0 < p < 1."""
    mask = _kept(shape, p, dtype).astype(dtype)
    mask *= mask.dtype.type(1.0 / (1.0 - p))
    return mask


def dropout_factors(shape, p, dtype, alpha):
    """(factor, shift) of a dropout whose mask has ``shape``, drawn here: the kept mask
    scaled by 1 / (1 - p) and no shift, or for alpha dropout the affine map a * x + b of the
    kept elements and a * saturation + b of the dropped ones (0 < p < 1)."""
    if not alpha:
        return keep_mask(shape, p, dtype), None
    kept = _kept(shape, p, dtype)
    a = 1.0 / math.sqrt((_SELU_SATURATION ** 2 * p + 1.0) * (1.0 - p))
    factor = kept.astype(dtype)
    factor *= dtype.type(a)
    shift = np.where(kept, dtype.type(-a * _SELU_SATURATION * p),
                     dtype.type(a * _SELU_SATURATION * (1 - p)))
    return factor, shift


def per_example_dropout(input, p, dtype, noise_shape, alpha, inplace, name):
    """Inside vmap with randomness='different': the dropout with one mask per example, drawn
    for the whole batch at once (None where vmap's randomness mode is another: the caller
    then draws one mask, or refuses). Note [Batched tensors]. Call it only while a vmap runs
    (``STATE.vmap_levels``)."""
    if inplace:
        return None
    return batched_call("dropout_mask", (input,), {
        "p": p, "dtype": dtype, "noise_shape": noise_shape, "alpha": alpha, "name": name})


def per_example_draw(input, draw):
    """``draw(shape)`` (random values, a NumPy array) for ``input``'s shape; inside vmap with
    randomness='different', one draw for the whole batch, as a batched tensor (each example
    its own values). Note [Batched tensors]."""
    if STATE.vmap_levels:
        out = batched_call("random_draw", (input,), {"draw": draw})
        if out is not None:
            return out
    return draw(tuple(input.shape))


def _tensor(input, name):
    if not isinstance(input, Tensor):
        raise DTypeError(f"{name}: input must be a tensor, got {type(input).__name__}.")
    return input


def _float_input(input, name):
    dt = input._data.dtype
    if dt.kind != "f":
        raise DTypeError(f"{name}: input must be a floating tensor, got {dt}; convert with "
                         ".float() first.")
    return dt


def _scale_by(input, factor, inplace, name, shift=None):
    """input * factor (+ shift), factor and shift constant arrays; in place when asked."""
    if inplace:
        apply_inplace(ew.MUL, (input, factor), name=name + "_")
        if shift is not None:
            apply_inplace(ew.ADD, (input, shift), name=name + "_")
        return input
    out = ew.mul(input, factor)
    return out if shift is None else ew.add(out, shift)


def _mask_dropout(input, p, training, inplace, name, noise_shape):
    """Zero elements, or whole channels, with probability p and scale the rest; the mask has
    shape ``noise_shape(input.shape)`` (asked for only when a mask is drawn)."""
    p = _check_p(p, name)
    _tensor(input, name)
    if p == 0.0 or not training or input.numel() == 0:
        return input
    dt = _float_input(input, name)
    if p == 1.0:
        factor = np.zeros((), dt)
    else:
        if STATE.vmap_levels:
            out = per_example_dropout(input, p, dt, noise_shape, False, inplace, name)
            if out is not None:
                return out
        factor = keep_mask(noise_shape(tuple(input.shape)), p, dt)
    return _scale_by(input, factor, inplace, name)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the others by 1 / (1 - p).

    Args:
        input: a floating tensor.
        p: the probability of an element being zeroed, in [0, 1].
        training: apply dropout when True; when False return ``input`` itself.
        inplace: write the result into ``input`` (returned).

    Returns:
        The result; its gradient is g * mask / (1 - p). Masks come from tapegrad's generator
        (Note [Dropout masks]).

    Example:
        >>> import tapegrad as tg
        >>> import tapegrad.nn.functional as F
        >>> _ = tg.manual_seed(0); y = F.dropout(tg.ones(8), 0.5)
        >>> sorted(set(y.tolist())), F.dropout(y, 0.5, training=False) is y
        ([0.0, 2.0], True)
    """
    return _mask_dropout(input, p, training, inplace, "dropout", _same)


def _same(shape):
    return shape


def _feature_shape(name):
    """noise_shape for feature dropout: (N, C, 1, 1, ...), one draw per channel."""
    def noise_shape(shape):
        if len(shape) < 2:
            raise ShapeError(f"{name}: feature dropout needs an input of at least 2 dims "
                             f"(N, C, ...), got shape {shape}.")
        return shape[:2] + (1,) * (len(shape) - 2)
    return noise_shape


def _unbatched(name):
    """noise_shape for an unbatched sample (C, ...): (C, 1, ...), as if it had a batch dim."""
    batched = _feature_shape(name)
    return lambda shape: batched((1,) + shape)[1:]


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) or unbatched (C, L) inputs with probability ``p``.

    Args:
        input: a floating tensor of 2 or 3 dims.
        p, training, inplace: as in :func:`dropout`.

    Returns:
        The result: each channel ``input[n, c]`` kept (scaled by 1 / (1 - p)) or zeroed.

    Example:
        >>> import tapegrad as tg
        >>> import tapegrad.nn.functional as F
        >>> _ = tg.manual_seed(0); y = F.dropout1d(tg.ones(4, 3), 0.5)
        >>> [set(row) <= {0.0, 2.0} and len(set(row)) == 1 for row in y.tolist()]
        [True, True, True, True]
    """
    p = _check_p(p, "dropout1d")
    _tensor(input, "dropout1d")
    if input.ndim not in (2, 3):
        raise ShapeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input (shape "
            f"{tuple(input.shape)}). dropout1d drops whole channels of inputs with 1 spatial "
            "dim, a channel dim and an optional batch dim: (N, C, L) or (C, L).")
    noise = _feature_shape("dropout1d") if input.ndim == 3 else _unbatched("dropout1d")
    return _mask_dropout(input, p, training, inplace, "dropout1d", noise)


def _warn_rank(input, name, spatial, expected):
    warnings.warn(
        f"{name}: Received a {input.ndim}-D input to {name}, which is deprecated and will "
        "result in an error in a future release. To retain the behavior and silence this "
        f"warning, please use dropout instead. Note that {name} exists to provide "
        f"channel-wise dropout on inputs with {spatial} spatial dimensions, a channel "
        f"dimension, and an optional batch dimension (i.e. {expected} inputs).", stacklevel=3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) inputs with probability ``p``.

    As in PyTorch, a 3-d input is read as (N, C, L) (with a warning: use dropout1d), and
    other ranks than 3 and 4 warn (deprecated) and drop ``input[n, c]`` of any rank >= 2.

    Args:
        input: a floating tensor.
        p, training, inplace: as in :func:`dropout`.

    Returns:
        The result: each channel ``input[n, c]`` kept (scaled by 1 / (1 - p)) or zeroed.

    Example:
        >>> import tapegrad as tg
        >>> import tapegrad.nn.functional as F
        >>> _ = tg.manual_seed(0); y = F.dropout2d(tg.ones(2, 3, 2, 2), 0.5)
        >>> bool(((y == 0) | (y == 2)).all()), bool((y.amax((2, 3)) == y.amin((2, 3))).all())
        (True, True)
    """
    p = _check_p(p, "dropout2d")
    _tensor(input, "dropout2d")
    if input.ndim not in (3, 4):
        _warn_rank(input, "dropout2d", 2, "3D or 4D")
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
            "is the channel dim. To maintain the 1D channel-wise dropout behavior, please "
            "switch to using dropout1d instead.", stacklevel=2)
    return _mask_dropout(input, p, training, inplace, "dropout2d", _feature_shape("dropout2d"))


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) or unbatched (C, D, H, W) inputs.

    As in PyTorch, other ranks than 4 and 5 warn (deprecated) and are read as unbatched:
    dim 0 is the channel dim.

    Args:
        input: a floating tensor.
        p, training, inplace: as in :func:`dropout`.

    Returns:
        The result: each channel kept (scaled by 1 / (1 - p)) or zeroed.

    Example:
        >>> import tapegrad as tg
        >>> import tapegrad.nn.functional as F
        >>> _ = tg.manual_seed(0); y = F.dropout3d(tg.ones(3, 2, 2, 2), 0.5)
        >>> bool((y.amax((1, 2, 3)) == y.amin((1, 2, 3))).all())
        True
    """
    p = _check_p(p, "dropout3d")
    _tensor(input, "dropout3d")
    if input.ndim not in (4, 5):
        _warn_rank(input, "dropout3d", 3, "4D or 5D")
    noise = _feature_shape("dropout3d") if input.ndim == 5 else _unbatched("dropout3d")
    return _mask_dropout(input, p, training, inplace, "dropout3d", noise)


def _alpha(input, p, training, inplace, name, noise_shape):
    """Alpha dropout: a dropped element becomes SELU's saturation value, then an affine map
    a * x + b restores mean 0 and variance 1 of a standard normal input."""
    p = _check_p(p, name)
    _tensor(input, name)
    if p == 0.0 or not training or input.numel() == 0:
        return input
    dt = _float_input(input, name)
    if p == 1.0:
        return _scale_by(input, np.zeros((), dt), inplace, name)
    if STATE.vmap_levels:
        out = per_example_dropout(input, p, dt, noise_shape, True, inplace, name)
        if out is not None:
            return out
    factor, shift = dropout_factors(noise_shape(tuple(input.shape)), p, dt, True)
    return _scale_by(input, factor, inplace, name, shift)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout (for SELU networks): dropped elements take SELU's negative saturation
    value, then an affine map keeps the mean and variance of the input.

    Args:
        input: a floating tensor.
        p: the probability of an element being dropped, in [0, 1].
        training: apply it when True (the default is False, as in PyTorch).
        inplace: write the result into ``input`` (returned).

    Returns:
        The result; for a standard normal input its mean stays about 0 and std about 1.

    Example:
        >>> import tapegrad as tg
        >>> import tapegrad.nn.functional as F
        >>> _ = tg.manual_seed(0); x = tg.randn(100000)
        >>> y = F.alpha_dropout(x, 0.2, training=True)
        >>> round(y.mean().item(), 1) + 0.0, round(y.std().item(), 1)
        (0.0, 1.0)
    """
    return _alpha(input, p, training, inplace, "alpha_dropout", _same)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels ``input[n, c]`` of an (N, C, ...) input.

    Args:
        input: a floating tensor of at least 2 dims.
        p, training, inplace: as in :func:`alpha_dropout`.

    Returns:
        The result, each channel either scaled and shifted or set to one value.

    Example:
        >>> import tapegrad as tg
        >>> import tapegrad.nn.functional as F
        >>> _ = tg.manual_seed(0); y = F.feature_alpha_dropout(tg.ones(2, 3, 4), 0.5, True)
        >>> bool((y.amax(2) == y.amin(2)).all())
        True
    """
    return _alpha(input, p, training, inplace, "feature_alpha_dropout",
                  _feature_shape("feature_alpha_dropout"))

