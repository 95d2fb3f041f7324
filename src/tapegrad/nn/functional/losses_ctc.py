"""tapegrad.nn.functional: the CTC loss (re-exported by losses.py); the recursions are the
ctc_loss primitive of tapegrad.ops.nn.loss."""
import numpy as np

from ..._core.errors import ArgumentError, DTypeError, IndexRangeError, ShapeError
from ..._core.state import STATE
from ..._core.tensor import Tensor, array_of, shape_of
from ...ops.nn.loss import ctc_nll
from ...ops.registry import batched_call
from ...ops.reduction import mean, sum
from ...ops.shape import squeeze, unsqueeze
from .losses import reduction_of

__all__ = ["ctc_loss"]


def _lengths(name, what, value, n_batch):
    """A length argument (tensor, array, list or int) as an int64 array of n_batch values."""
    a = array_of(value) if isinstance(value, (Tensor, np.ndarray)) else np.asarray(value)
    if a.dtype.kind not in "iu":
        raise DTypeError(f"ctc_loss: {what} must hold integers, got dtype {a.dtype}.")
    a = a.astype(np.int64).reshape(-1)
    if a.shape != (n_batch,):
        raise ShapeError(f"ctc_loss: {what} must have one entry per batch element ({n_batch}), "
                         f"got {a.size}.")
    return a


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """Connectionist Temporal Classification loss: the negative log-likelihood of each target
    sequence summed over all its alignments to the input.

    Args:
        log_probs: (T, N, C) or unbatched (T, C) log-probabilities (a log_softmax output).
        targets: int targets, padded (N, S) or all concatenated (sum(target_lengths),);
            (S,) when unbatched. Values in [0, C), not ``blank``; padding is ignored.
        input_lengths: (N,) lengths of the inputs, each in [0, T].
        target_lengths: (N,) lengths of the targets.
        blank: the blank class.
        reduction: 'none' (N,) | 'mean' (each loss divided by its target length, then
            averaged over the batch, as PyTorch) | 'sum'.
        zero_infinity: give impossible alignments (input too short) loss 0 and gradient 0
            instead of inf.

    Returns:
        The loss. Its gradient with respect to log_probs is PyTorch's (see
        Note [CTC recursions] in tapegrad/ops/nn/loss.py); it is differentiable once.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> lp = tg.full((2, 1, 2), 0.5).log()
        >>> F.ctc_loss(lp, tg.tensor([[1]]), [2], [1], reduction="sum")
        tensor(0.2877)
    """
    name = "ctc_loss"
    reduction = reduction_of(name, reduction)
    if STATE.vmap_levels:       # Note [Batched tensors]: targets and lengths are read
        out = batched_call(name, (log_probs, targets, input_lengths, target_lengths),
                           {"blank": blank, "reduction": reduction,
                            "zero_infinity": zero_infinity})
        if out is not None:
            return out
    if not isinstance(log_probs, Tensor):
        raise TypeError(f"{name}: log_probs must be a Tensor, got {type(log_probs).__name__}.")
    lp_shape = tuple(shape_of(log_probs))
    if array_of(log_probs).dtype.kind != "f":
        raise DTypeError(f"{name}: log_probs must be floating point, got "
                         f"{array_of(log_probs).dtype}.")
    if len(lp_shape) not in (2, 3):
        raise ShapeError(f"{name}: log_probs must be (T, N, C) or (T, C), got {lp_shape}.")
    unbatched = len(lp_shape) == 2
    if unbatched:
        log_probs = unsqueeze(log_probs, 1)
    big_t, n_batch, n_classes = shape_of(log_probs)
    if not 0 <= blank < n_classes:
        raise IndexRangeError(f"{name}: blank={blank} is out of range for {n_classes} classes.")
    t = array_of(targets) if isinstance(targets, (Tensor, np.ndarray)) else np.asarray(targets)
    if t.dtype.kind not in "iu":
        raise DTypeError(f"{name}: targets must hold integer class indices, got {t.dtype}.")
    in_len = _lengths(name, "input_lengths", input_lengths, n_batch)
    tg_len = _lengths(name, "target_lengths", target_lengths, n_batch)
    if unbatched and t.ndim == 1:
        t = t[None, :]
    if (in_len < 0).any() or (in_len > big_t).any():
        raise ArgumentError(f"{name}: input_lengths must be in [0, {big_t}] (T of log_probs "
                            f"{lp_shape}), got {in_len.tolist()}.")
    if (tg_len < 0).any():
        raise ArgumentError(f"{name}: target_lengths must be >= 0, got {tg_len.tolist()}.")
    if t.ndim == 1:                 # concatenated targets: pad them into (N, max length)
        if t.size != tg_len.sum():
            raise ShapeError(f"{name}: concatenated targets have {t.size} entries but "
                             f"target_lengths {tg_len.tolist()} sum to {tg_len.sum()}.")
        s_max = int(tg_len.max()) if n_batch else 0
        padded = np.full((n_batch, s_max), blank, dtype=np.int64)
        padded[np.arange(s_max) < tg_len[:, None]] = t
        t = padded
    elif t.ndim != 2 or t.shape[0] != n_batch:
        raise ShapeError(f"{name}: targets must be padded (N, S) = ({n_batch}, S) or "
                         f"concatenated 1-d, got shape {t.shape} for log_probs {lp_shape}.")
    elif (tg_len > t.shape[1]).any():
        raise ShapeError(f"{name}: target_lengths {tg_len.tolist()} exceed the padded "
                         f"targets' length {t.shape[1]}.")
    t = t.astype(np.int64, copy=False)
    used = np.arange(t.shape[1]) < tg_len[:, None]
    if used.any():
        values = t[used]
        if values.min() < 0 or values.max() >= n_classes:
            bad = values[(values < 0) | (values >= n_classes)][0]
            raise IndexRangeError(f"{name}: targets hold class {int(bad)}, out of range for "
                                  f"{n_classes} classes.")
    nll = ctc_nll(log_probs, t, in_len, tg_len, int(blank), bool(zero_infinity))
    if reduction == "mean":
        return mean(nll / np.maximum(tg_len, 1).astype(array_of(nll).dtype))
    if reduction == "sum":
        return sum(nll)
    return squeeze(nll, 0) if unbatched else nll
