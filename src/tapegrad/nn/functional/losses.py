"""tapegrad.nn.functional: losses.

Regression losses and the classification losses over probabilities live here;
losses_margin.py holds the margin and embedding losses, losses_ctc.py the CTC loss. Every
loss takes ``reduction`` 'none', 'mean' or 'sum' (and PyTorch's deprecated ``size_average`` /
``reduce``, which override it when given).
"""
import warnings

import numpy as np

from ..._core.errors import ArgumentError, DTypeError, IndexRangeError, ShapeError
from ..._core.state import STATE
from ..._core.tensor import Tensor, array_of, shape_of
from ...ops.binary_math import logaddexp, xlogy
from ...ops.creation import zeros_like
from ...ops.elementwise import abs, clamp, exp, log, where
from ...ops.nn.loss import cross_entropy_indices
from ...ops.registry import batched_call
from ...ops.reduction import mean, sum
from ...ops.scatter import gather
from ...ops.shape import squeeze
from ...ops.statistics import logsumexp

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"]

_REDUCTIONS = ("none", "mean", "sum")
_I64, _U8 = np.dtype(np.int64), np.dtype(np.uint8)


# ---- shared helpers (also used by losses_margin.py and losses_ctc.py) ------------------------
def reduction_of(name, reduction, size_average=None, reduce=None, allowed=_REDUCTIONS):
    """The reduction string, checked; PyTorch's legacy flags win when given."""
    if size_average is not None or reduce is not None:
        if reduce is not None and not reduce:
            return "none"
        return "sum" if size_average is not None and not size_average else "mean"
    if reduction not in allowed:
        raise ArgumentError(f"{name}: {reduction!r} is not a valid value for reduction; use "
                            + ", ".join(repr(r) for r in allowed) + ".")
    return reduction


def reduce_loss(loss, reduction):
    """Apply 'none' / 'mean' / 'sum' to an elementwise loss."""
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return sum(loss)
    return loss


def require_float(name, **named):
    for arg, t in named.items():
        dt = np.dtype(array_of(t).dtype) if isinstance(t, (Tensor, np.ndarray)) else None
        if dt is not None and dt.kind not in "fc":
            raise DTypeError(f"{name}: {arg} must be a floating point tensor, got dtype {dt}.")


def require_float_result(name, input, target):
    """An elementwise loss of two integer (or bool) tensors has no floating kernel in
    PyTorch; a float on either side promotes."""
    dts = [np.dtype(array_of(v).dtype) for v in (input, target)
           if isinstance(v, (Tensor, np.ndarray))]
    if dts and not any(dt.kind in "fc" for dt in dts):
        raise DTypeError(f"{name}: input and target have dtypes "
                         f"{' and '.join(str(dt) for dt in dts)}; at least one must be floating "
                         "point, as in PyTorch. Convert first, e.g. input.float().")


def check_broadcast(name, **named):
    """A ShapeError naming the loss and every shape when the tensors can't broadcast
    together (rather than the error of an inner op); None and numbers are skipped."""
    shapes = {k: tuple(shape_of(v)) for k, v in named.items()
              if isinstance(v, (Tensor, np.ndarray))}
    try:
        np.broadcast_shapes(*shapes.values())
    except ValueError:
        listed = ", ".join(f"{k} {s}" for k, s in shapes.items())
        raise ShapeError(f"{name}: {listed} can't be broadcast together.") from None


def same_or_broadcast(name, input, target, broadcast=True):
    """PyTorch's size check of elementwise losses: different shapes warn and broadcast (or,
    with broadcast=False, raise), and shapes that can't broadcast raise a ShapeError."""
    s1, s2 = tuple(shape_of(input)), tuple(shape_of(target))
    if s1 == s2:
        return
    if not broadcast:
        raise ShapeError(f"{name}: target shape {s2} must equal input shape {s1}.")
    try:
        np.broadcast_shapes(s1, s2)
    except ValueError:
        raise ShapeError(f"{name}: input shape {s1} and target shape {s2} can't be broadcast "
                         "together; give the target the input's shape.") from None
    warnings.warn(f"{name}: using a target shape {s2} that is different from the input shape "
                  f"{s1}; they are broadcast, which is likely not what you want. Give the "
                  "target the input's shape.", UserWarning, stacklevel=3)


# ---- regression ---------------------------------------------------------------------------------
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error ``(input - target) ** 2``, reduced.

    Args:
        input, target: tensors of the same shape (other shapes broadcast, with a warning).
        reduction: 'none' | 'mean' | 'sum'.
        weight: optional elementwise weights (broadcast against the loss).

    Returns:
        The loss (a scalar unless reduction='none').

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.mse_loss(tg.tensor([1.0, 2.0]), tg.tensor([0.0, 4.0]))
        tensor(2.5000)
    """
    reduction = reduction_of("mse_loss", reduction, size_average, reduce)
    require_float_result("mse_loss", input, target)
    same_or_broadcast("mse_loss", input, target)
    d = input - target
    loss = d * d
    return reduce_loss(loss if weight is None else loss * weight, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error ``|input - target|``, reduced (gradient 0 where they are equal).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.l1_loss(tg.tensor([1.0, 2.0]), tg.tensor([0.0, 4.0]), reduction="sum")
        tensor(3.)
    """
    reduction = reduction_of("l1_loss", reduction, size_average, reduce)
    same_or_broadcast("l1_loss", input, target)
    loss = abs(input - target)
    return reduce_loss(loss if weight is None else loss * weight, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (d = input - target);
    beta=0 is the L1 loss.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.smooth_l1_loss(tg.tensor([0.5, 3.0]), tg.zeros(2), reduction="none")
        tensor([0.1250, 2.5000])
    """
    reduction = reduction_of("smooth_l1_loss", reduction, size_average, reduce)
    if STATE.vmap_levels:       # Note [Batched tensors]: a select on |d| < beta
        out = batched_call("smooth_l1_loss", (input, target),
                           {"reduction": reduction, "beta": beta})
        if out is not None:
            return out
    if beta < 0:
        raise ArgumentError(f"smooth_l1_loss: beta must be >= 0, got {beta}.")
    require_float_result("smooth_l1_loss", input, target)
    same_or_broadcast("smooth_l1_loss", input, target)
    d = input - target
    a = abs(d)
    if beta == 0:      # the quadratic branch would divide by zero (and never be taken)
        return reduce_loss(a, reduction)
    loss = where(a < beta, (0.5 / beta) * d * d, a - 0.5 * beta)
    return reduce_loss(loss, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.huber_loss(tg.tensor([0.5, 3.0]), tg.zeros(2), reduction="none", delta=2.0)
        tensor([0.1250, 4.0000])
    """
    reduction = reduction_of("huber_loss", reduction)
    if STATE.vmap_levels:       # Note [Batched tensors]: a select on |d| < delta
        out = batched_call("huber_loss", (input, target, weight),
                           {"reduction": reduction, "delta": delta})
        if out is not None:
            return out
    if not delta > 0:
        raise ArgumentError(f"huber_loss: delta must be > 0, got {delta}.")
    require_float_result("huber_loss", input, target)
    same_or_broadcast("huber_loss", input, target)
    d = input - target
    a = abs(d)
    loss = where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
    return reduce_loss(loss if weight is None else loss * weight, reduction)


# ---- classification over classes --------------------------------------------------------------
def _class_weight(name, weight, n_classes, dtype):
    if weight is None:
        return None
    w = array_of(weight)
    if w.shape != (n_classes,):
        raise ShapeError(f"{name}: weight must have one entry per class, shape ({n_classes},), "
                         f"got shape {w.shape}.")
    if isinstance(weight, Tensor) and weight.requires_grad:
        raise ArgumentError(f"{name}: gradients with respect to weight are not supported (as "
                            "in PyTorch); pass weight.detach().")
    if dtype is not None and w.dtype != dtype:
        if dtype == np.float16:
            return w.astype(np.float32)
        raise DTypeError(f"{name}: weight has dtype {w.dtype} but input has dtype {dtype}; "
                         "convert the weight to the input's dtype.")
    return w


def _class_layout(name, input, target, probabilities):
    """The class dim of ``input`` and a check of the target's shape against it."""
    xs, ts = tuple(shape_of(input)), tuple(shape_of(target))
    if len(xs) == 0:
        raise ShapeError(f"{name}: input must have a class dim: shape (C,), (N, C) or "
                         "(N, C, d1, ...), got a 0-d tensor.")
    axis = 0 if len(xs) == 1 else 1
    if probabilities:
        if ts != xs:
            raise ShapeError(
                f"{name}: a float target holds class probabilities and must have the input's "
                f"shape {xs}, got {ts}. For class indices pass an int64 target of shape "
                f"{xs[:axis] + xs[axis + 1:]}.")
        return axis
    want = xs[:axis] + xs[axis + 1:]
    if ts != want:
        raise ShapeError(
            f"{name}: class-index target must have shape {want} for input of shape {xs} "
            f"(the input without its class dim {axis}), got {ts}. For class probabilities "
            "pass a float target of the input's shape.")
    return axis


def _index_target(name, input, target, ignore_index):
    """(class dim, the int64 class-index array, whether every index is in [0, C)), checked:
    dtype int64 or uint8, values in [0, C) unless they equal ignore_index."""
    t = array_of(target)
    if t.dtype != _I64 and t.dtype != _U8:
        raise DTypeError(
            f"{name}: class-index target must have dtype int64 (or uint8), got {t.dtype}; "
            "convert with target.long(). A float target must hold class probabilities of "
            "the input's shape.")
    axis = _class_layout(name, input, t, False)
    n_classes = shape_of(input)[axis]
    t = t.astype(np.int64, copy=False)
    in_range = not t.size or (t.min() >= 0 and t.max() < n_classes)
    if not in_range:          # the common case (all in range) skips the masks
        bad = ((t < 0) | (t >= n_classes)) & (t != ignore_index)
        if bad.any():
            value = int(t[bad].flat[0])
            raise IndexRangeError(
                f"{name}: target holds class {value}, out of range for input of shape "
                f"{tuple(shape_of(input))} with {n_classes} classes; targets must be in "
                f"[0, {n_classes - 1}] or equal ignore_index ({ignore_index}).")
    return axis, t, in_range


def _float_input(name, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}.")
    dt = array_of(input).dtype
    if dt.kind != "f":
        raise DTypeError(f"{name}: input must be a floating point tensor (logits or "
                         f"log-probabilities), got dtype {dt}.")
    return dt


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits and class indices or class probabilities.

    log_softmax and the negative log-likelihood in one stable step (finite for logits of any
    magnitude); with class indices a single fused node whose gradient is softmax minus the
    one-hot target.

    Args:
        input: logits of shape (C,), (N, C) or (N, C, d1, ...): the class dim is 1 (0 for 1-d).
        target: int64 class indices of the input's shape without the class dim (values in
            [0, C) or ``ignore_index``), or float class probabilities of the input's shape.
        weight: optional (C,) weights per class.
        ignore_index: a class index whose targets count for nothing (indices only).
        reduction: 'none' | 'mean' | 'sum'. With class indices, 'mean' divides by the sum of
            the weights of the non-ignored targets; with probabilities, by the sample count.
        label_smoothing: in [0, 1]: the target becomes (1 - eps) target + eps / C.

    Returns:
        The loss: a scalar, or the target's shape (indices) or the input's shape without the
        class dim (probabilities) for reduction='none'.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.cross_entropy(tg.tensor([[0.0, 0.0], [0.0, 0.0]]), tg.tensor([0, 1]))
        tensor(0.6931)
    """
    name = "cross_entropy"
    reduction = reduction_of(name, reduction, size_average, reduce)
    if STATE.vmap_levels:       # Note [Batched tensors]: class indices are read below
        out = batched_call(name, (input, target, weight), {
            "ignore_index": ignore_index, "reduction": reduction,
            "label_smoothing": label_smoothing})
        if out is not None:
            return out
    dtype = _float_input(name, input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ArgumentError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}.")
    tdt = np.dtype(array_of(target).dtype) if isinstance(target, (Tensor, np.ndarray)) else None
    if tdt is not None and tdt.kind == "f":
        if ignore_index != -100:
            raise ArgumentError(f"{name}: ignore_index is not supported for a target of class "
                                "probabilities (a float target); pass int64 class indices.")
        axis = _class_layout(name, input, target, True)
        w = _class_weight(name, weight, shape_of(input)[axis], dtype)
        return _soft_cross_entropy(input, target, axis, w, label_smoothing, reduction)
    axis, t, in_range = _index_target(name, input, target, ignore_index)
    n_classes = shape_of(input)[axis]
    w = _class_weight(name, weight, n_classes, dtype)
    may_ignore = not in_range or 0 <= ignore_index < n_classes
    return cross_entropy_indices(input, t, axis, w, ignore_index if may_ignore else None,
                                 label_smoothing, reduction)


def _soft_cross_entropy(input, target, axis, weight, eps, reduction):
    """Cross-entropy against class probabilities: -sum_c w_c p_c log_softmax(x)_c."""
    n_classes = shape_of(input)[axis]
    logp = input - logsumexp(input, axis, True)
    if eps:
        target = target * (1 - eps) + eps / n_classes
    prod = logp * target
    if weight is not None:
        prod = prod * weight.reshape((-1,) + (1,) * (len(shape_of(input)) - axis - 1))
    loss = -sum(prod, axis)
    return reduce_loss(loss, reduction)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood: ``-weight[t] * input[t]`` per sample, for log-probabilities
    ``input`` (class dim 1, or 0 for a 1-d input) and int64 class indices ``target``.

    'mean' divides by the sum of the weights of the non-ignored targets (nan if none).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.nll_loss(tg.tensor([[-1.0, -2.0], [-3.0, -4.0]]), tg.tensor([1, 0]))
        tensor(2.5000)
    """
    name = "nll_loss"
    reduction = reduction_of(name, reduction, size_average, reduce)
    if STATE.vmap_levels:       # Note [Batched tensors]: class indices are read below
        out = batched_call(name, (input, target, weight),
                           {"ignore_index": ignore_index, "reduction": reduction})
        if out is not None:
            return out
    dtype = _float_input(name, input)
    axis, t, _ = _index_target(name, input, target, ignore_index)
    w = _class_weight(name, weight, shape_of(input)[axis], dtype)
    ignored = t == ignore_index
    safe = np.where(ignored, 0, t) if ignored.any() else t
    wt = None
    if w is not None or ignored.any():
        # np.array: w[safe] of a 0-d target is a NumPy scalar, which takes no assignment
        wt = np.ones(t.shape, dtype=dtype) if w is None else np.array(w[safe], dtype=dtype)
        wt[ignored] = 0
    picked = squeeze(gather(input, axis, np.expand_dims(safe, axis)), axis)
    loss = -picked if wt is None else -(picked * wt)
    if reduction == "mean":
        denom = float(t.size) if wt is None else float(np.sum(wt))
        if denom == 0 and wt is not None and ignored.any():
            # 0 / 0 = nan, as PyTorch; its gradient is 0 at ignored targets (1 / denom only
            # scales the others: nan where a zero weight meets 1/0), not 0 * inf = nan
            scale = np.where(ignored, 0.0, np.inf).astype(dtype)
            with np.errstate(invalid="ignore"):
                return sum(loss * scale) + np.asarray(np.nan, dtype=dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            return sum(loss) / np.asarray(denom, dtype=dtype)
    return reduce_loss(loss, reduction)


# ---- binary classification ----------------------------------------------------------------------
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross-entropy of probabilities ``input`` against ``target`` in [0, 1]:
    ``-w (t log(x) + (1 - t) log(1 - x))``, each log clamped at -100 as in PyTorch.

    Values exactly at 0 or 1 give finite gradients (the clamped branch contributes 0, where
    PyTorch gives +-1e12).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.binary_cross_entropy(tg.tensor([0.5, 1.0]), tg.tensor([1.0, 0.0]), reduction="none")
        tensor([  0.6931, 100.0000])
    """
    name = "binary_cross_entropy"
    reduction = reduction_of(name, reduction, size_average, reduce)
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are range-checked
        out = batched_call(name, (input, target, weight), {"reduction": reduction})
        if out is not None:
            return out
    _float_input(name, input)
    same_or_broadcast(name, input, target, broadcast=False)
    x, t = array_of(input), array_of(target)
    if x.size and not ((x >= 0) & (x <= 1)).all():
        bad = x[~((x >= 0) & (x <= 1))].flat[0]
        raise ArgumentError(f"{name}: all elements of input must be probabilities in [0, 1] "
                            f"(found {bad}); apply sigmoid first, or use "
                            "binary_cross_entropy_with_logits on the logits.")
    if isinstance(target, (Tensor, np.ndarray)) and t.size \
            and not ((t >= 0) & (t <= 1)).all():
        bad = t[~((t >= 0) & (t <= 1))].flat[0]
        raise ArgumentError(f"{name}: all elements of target must be in [0, 1] (found {bad}).")
    check_broadcast(name, input=input, weight=weight)
    loss = -(target * _clamped_log(input) + (1 - target) * _clamped_log(1 - input))
    if weight is not None:
        loss = loss * weight
    return reduce_loss(loss, reduction)


def _clamped_log(p):
    """max(log(p), -100), with a zero (not nan) gradient where p is 0."""
    positive = array_of(p) > 0
    return where(positive, clamp(log(where(positive, p, 1.0)), min=-100.0), -100.0)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Binary cross-entropy of ``sigmoid(input)``, computed stably from the logits:
    ``-w (pos_weight t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))``.

    Args:
        pos_weight: weight of the positive term, broadcast against the input's last dim
            (one per class).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.binary_cross_entropy_with_logits(tg.tensor([0.0, 1e4]), tg.tensor([1.0, 1.0]))
        tensor(0.3466)
    """
    name = "binary_cross_entropy_with_logits"
    reduction = reduction_of(name, reduction, size_average, reduce)
    _float_input(name, input)
    same_or_broadcast(name, input, target, broadcast=False)
    check_broadcast(name, input=input, weight=weight, pos_weight=pos_weight)
    # softplus(-x) = log(1 + exp(-x)) = -log sigmoid(x), by logaddexp(0, -x): stable at 1e4.
    sp_neg = logaddexp(zeros_like(input), -input)
    if pos_weight is None:
        loss = (1 - target) * input + sp_neg
    else:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * sp_neg
    if weight is not None:
        loss = loss * weight
    return reduce_loss(loss, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence ``target (log target - input)`` for log-probabilities
    ``input`` (0 where target is 0); with ``log_target`` the target is given as logs too.

    Args:
        reduction: 'none' | 'batchmean' (the sum divided by the batch size input.shape[0]:
            the true KL divergence) | 'sum' | 'mean' (over every element, as PyTorch).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.kl_div(tg.tensor([[-1.0, -1.0]]), tg.tensor([[0.5, 0.5]]), reduction="batchmean")
        tensor(0.3069)
    """
    name = "kl_div"
    reduction = reduction_of(name, reduction, size_average, reduce,
                             allowed=("none", "batchmean", "sum", "mean"))
    _float_input(name, input)
    require_float(name, target=target)        # PyTorch: integral inputs not supported
    same_or_broadcast(name, input, target)
    if log_target:
        loss = exp(target) * (target - input)
    else:
        loss = xlogy(target, target) - target * input
    if reduction == "batchmean":
        total = sum(loss)
        n = shape_of(input)
        return total / n[0] if len(n) else total
    return reduce_loss(loss, reduction)



# The split parts, re-exported (they import the helpers above, so they come last).
from . import losses_ctc as _ctc, losses_margin as _margin  # noqa: E402
from .losses_ctc import *  # noqa: E402,F401,F403
from .losses_margin import *  # noqa: E402,F401,F403

__all__ += _margin.__all__ + _ctc.__all__
