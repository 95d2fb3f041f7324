"""tapegrad.nn.functional: margin, embedding and likelihood losses (re-exported by
losses.py). Composites of tapegrad ops: gradients of every order come free."""
import math

import numpy as np

from ..._core.errors import ArgumentError, DTypeError, IndexRangeError, ShapeError
from ..._core.state import STATE
from ..._core.tensor import Tensor, array_of, shape_of
from ...ops.binary_math import logaddexp
from ...ops.creation import zeros_like
from ...ops.elementwise import clamp, exp, log, minimum, sqrt, where
from ...ops.linalg.norms import vector_norm
from ...ops.reduction import sum
from ...ops.registry import batched_call
from ...ops.scatter import gather
from ...ops.shape import unsqueeze
from .losses import (check_broadcast, reduce_loss, reduction_of, require_float,
                     same_or_broadcast)

__all__ = ["margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
           "multilabel_soft_margin_loss", "multi_margin_loss", "cosine_embedding_loss",
           "triplet_margin_loss", "poisson_nll_loss", "gaussian_nll_loss"]


def _softplus(x):
    """log(1 + exp(x)), stable for |x| up to float's range (logaddexp's rule)."""
    return logaddexp(zeros_like(x), x)


def _array_or_scalar(x):
    return array_of(x) if isinstance(x, (Tensor, np.ndarray)) else np.asarray(x)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """``max(0, -target (input1 - input2) + margin)``: target 1 ranks input1 higher, -1
    input2.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> a, b = tg.tensor([1.0, 2.0]), tg.tensor([2.0, 1.0])
        >>> F.margin_ranking_loss(a, b, tg.tensor([1.0, 1.0]))
        tensor(0.5000)
    """
    name = "margin_ranking_loss"
    reduction = reduction_of(name, reduction, size_average, reduce)
    shapes = [tuple(shape_of(t)) for t in (input1, input2, target)]
    if len({len(s) for s in shapes}) != 1:
        raise ShapeError(f"{name}: input1 {shapes[0]}, input2 {shapes[1]} and target "
                         f"{shapes[2]} must have the same number of dims.")
    check_broadcast(name, input1=input1, input2=input2, target=target)
    loss = clamp(-target * (input1 - input2) + margin, min=0)
    return reduce_loss(loss, reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """``input`` where target is 1, ``max(0, margin - input)`` where target is -1.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.hinge_embedding_loss(tg.tensor([0.3, 0.4]), tg.tensor([1.0, -1.0]), reduction="none")
        tensor([0.3000, 0.6000])
    """
    reduction = reduction_of("hinge_embedding_loss", reduction, size_average, reduce)
    if STATE.vmap_levels:       # Note [Batched tensors]: selects on the target's values
        out = batched_call("hinge_embedding_loss", (input, target),
                           {"margin": margin, "reduction": reduction})
        if out is not None:
            return out
    check_broadcast("hinge_embedding_loss", input=input, target=target)
    t = _array_or_scalar(target)
    hinge = where(t != 1, clamp(margin - input, min=0), 0.0)
    kept = where(t != -1, input, 0.0)
    return reduce_loss(hinge + kept, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """``log(1 + exp(-target * input))`` (two-class logistic loss, target in {1, -1}).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.soft_margin_loss(tg.tensor([0.0, 0.0]), tg.tensor([1.0, -1.0]))
        tensor(0.6931)
    """
    name = "soft_margin_loss"
    reduction = reduction_of(name, reduction, size_average, reduce)
    if len(shape_of(target)) > len(shape_of(input)):
        raise ShapeError(f"{name}: target shape {tuple(shape_of(target))} must broadcast to "
                         f"the input's shape {tuple(shape_of(input))}.")
    same_or_broadcast(name, input, target)
    return reduce_loss(_softplus(-target * input), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """Multi-label one-versus-all logistic loss, averaged over the C classes (last dim):
    ``-(t log sigmoid(x) + (1 - t) log sigmoid(-x))``, times ``weight`` per class.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.multilabel_soft_margin_loss(tg.zeros(1, 2), tg.tensor([[1.0, 0.0]]))
        tensor(0.6931)
    """
    name = "multilabel_soft_margin_loss"
    reduction = reduction_of(name, reduction, size_average, reduce)
    same_or_broadcast(name, input, target)
    check_broadcast(name, input=input, target=target, weight=weight)
    # -log sigmoid(x) = softplus(-x), -log sigmoid(-x) = softplus(x)
    loss = target * _softplus(-input) + (1 - target) * _softplus(input)
    if weight is not None:
        loss = loss * weight
    n_classes = shape_of(input)[-1] if len(shape_of(input)) else 1
    return reduce_loss(sum(loss, -1) / n_classes, reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """Multi-class hinge loss: per sample, ``sum_{j != y} max(0, margin - x[y] + x[j])^p / C``
    (times ``weight[y]``), for input (N, C) or (C,) and int64 class indices target (N,) or ().

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.multi_margin_loss(tg.tensor([[0.1, 0.8, 0.4]]), tg.tensor([1]))
        tensor(0.3000)
    """
    name = "multi_margin_loss"
    reduction = reduction_of(name, reduction, size_average, reduce)
    if STATE.vmap_levels:       # Note [Batched tensors]: class indices are read below
        out = batched_call(name, (input, target, weight),
                           {"p": p, "margin": margin, "reduction": reduction})
        if out is not None:
            return out
    if p not in (1, 2):
        raise ArgumentError(f"{name}: only p == 1 and p == 2 are supported, got p={p}.")
    xs = tuple(shape_of(input))
    t = array_of(target)
    if len(xs) not in (1, 2) or tuple(t.shape) != xs[:-1]:
        raise ShapeError(f"{name}: input must be (N, C) or (C,) with target (N,) or (), got "
                         f"input {xs} and target {tuple(t.shape)}.")
    if t.dtype != np.int64:
        raise DTypeError(f"{name}: target must hold int64 class indices, got {t.dtype}.")
    require_float(name, input=input)
    n_classes = xs[-1]
    if t.size and (t.min() < 0 or t.max() >= n_classes):
        bad = int(t[(t < 0) | (t >= n_classes)][0])
        raise IndexRangeError(f"{name}: target holds class {bad}, out of range for "
                              f"{n_classes} classes (input {xs}).")
    idx = t[..., None]
    picked = gather(input, -1, idx)                   # x[y], kept as a size-1 last dim
    terms = clamp(margin - picked + input, min=0)
    if p == 2:
        terms = terms * terms
    if weight is not None:
        w = array_of(weight)
        if w.shape != (n_classes,):
            raise ShapeError(f"{name}: weight must be ({n_classes},), got {w.shape}.")
        terms = terms * w[idx]
    # the j == y term is max(0, margin)^p: removed by a mask (no gradient flows there)
    not_target = np.arange(n_classes) != idx
    loss = sum(where(not_target, terms, 0.0), -1) / n_classes
    return reduce_loss(loss, reduction)


def _cosine(x1, x2):
    """Cosine similarity along the last dim with PyTorch's 1e-12 added to each squared norm."""
    eps = 1e-12
    num = sum(x1 * x2, -1)
    return num / sqrt((sum(x1 * x1, -1) + eps) * (sum(x2 * x2, -1) + eps))


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """``1 - cos(x1, x2)`` where target is 1, ``max(0, cos(x1, x2) - margin)`` where it is -1
    (cosine along the last dim; inputs (N, D) or (D,), target (N,) or ()).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> a, b = tg.tensor([[1.0, 0.0], [1.0, 1.0]]), tg.tensor([[0.0, 1.0], [1.0, 1.0]])
        >>> F.cosine_embedding_loss(a, b, tg.tensor([1, -1]), reduction="none")
        tensor([1., 1.])
    """
    name = "cosine_embedding_loss"
    reduction = reduction_of(name, reduction, size_average, reduce)
    if STATE.vmap_levels:       # Note [Batched tensors]: selects on the target's values
        out = batched_call(name, (input1, input2, target),
                           {"margin": margin, "reduction": reduction})
        if out is not None:
            return out
    s1, s2, st = (tuple(shape_of(t)) for t in (input1, input2, target))
    if len(s1) not in (1, 2) or s1 != s2 or st != s1[:-1]:
        raise ShapeError(f"{name}: input1 and input2 must both be (N, D) or (D,) with target "
                         f"(N,) or (), got {s1}, {s2} and target {st}.")
    cos = _cosine(input1, input2)
    t = _array_or_scalar(target)
    loss = where(t == 1, 1 - cos, 0.0) + where(t == -1, clamp(cos - margin, min=0), 0.0)
    return reduce_loss(loss, reduction)


def _distance(x1, x2, p, eps):
    """PyTorch's pairwise_distance: ||x1 - x2 + eps||_p over the last dim."""
    return vector_norm(x1 - x2 + eps, p, -1)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """``max(0, margin + d(anchor, positive) - d(anchor, negative))`` with
    ``d(a, b) = ||a - b + eps||_p`` along the last dim; ``swap`` uses the smaller of
    d(anchor, negative) and d(positive, negative).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> a, n = tg.zeros(1, 2), tg.tensor([[3.0, 4.0]])
        >>> F.triplet_margin_loss(a, a, n, margin=6.0, eps=0.0)
        tensor(1.)
    """
    name = "triplet_margin_loss"
    reduction = reduction_of(name, reduction, size_average, reduce)
    dims = [len(shape_of(t)) for t in (anchor, positive, negative)]
    if len(set(dims)) != 1 or dims[0] not in (1, 2):
        raise ShapeError(f"{name}: anchor, positive and negative must all be (N, D) or (D,), "
                         f"got {dims[0]}-d, {dims[1]}-d and {dims[2]}-d inputs.")
    if margin <= 0:
        raise ArgumentError(f"{name}: margin must be > 0, got {margin}.")
    check_broadcast(name, anchor=anchor, positive=positive, negative=negative)
    d_pos = _distance(anchor, positive, p, eps)
    d_neg = _distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, _distance(positive, negative, p, eps))
    return reduce_loss(clamp(margin + d_pos - d_neg, min=0), reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Poisson negative log-likelihood: ``exp(input) - target * input`` for a log-rate input
    (log_input=True), else ``input - target * log(input + eps)``; ``full`` adds Stirling's
    approximation of log(target!) where target > 1.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.poisson_nll_loss(tg.tensor([0.0, 1.0]), tg.tensor([1.0, 2.0]), reduction="none")
        tensor([1.0000, 0.7183])
    """
    reduction = reduction_of("poisson_nll_loss", reduction, size_average, reduce)
    if STATE.vmap_levels:       # Note [Batched tensors]: a select on target > 1
        out = batched_call("poisson_nll_loss", (input, target),
                           {"log_input": log_input, "full": full, "eps": eps,
                            "reduction": reduction})
        if out is not None:
            return out
    check_broadcast("poisson_nll_loss", input=input, target=target)
    if log_input:
        loss = exp(input) - target * input
    else:
        loss = input - target * log(input + eps)
    if full:
        # Stirling's term, differentiable in the target (as PyTorch); 0 where target <= 1
        above = _array_or_scalar(target) > 1
        safe = where(above, target, 1.0)
        stirling = safe * log(safe) - safe + 0.5 * log(2 * math.pi * safe)
        loss = loss + where(above, stirling, 0.0)
    return reduce_loss(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Gaussian negative log-likelihood ``0.5 (log(var) + (input - target)^2 / var)`` (plus
    ``0.5 log(2 pi)`` if full).

    ``var`` has the input's shape, or it without the last dim (one variance per sample),
    or a last dim of 1, or is a float; it is clamped to at least ``eps`` for stability,
    with the gradient of the unclamped value (as PyTorch).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.gaussian_nll_loss(tg.tensor([1.0, 3.0]), tg.tensor([1.0, 1.0]), tg.tensor([1.0, 2.0]))
        tensor(0.6733)
    """
    name = "gaussian_nll_loss"
    reduction = reduction_of(name, reduction)
    if STATE.vmap_levels:       # Note [Batched tensors]: var is clamped by value
        out = batched_call(name, (input, target, var),
                           {"full": full, "eps": eps, "reduction": reduction})
        if out is not None:
            return out
    require_float(name, input=input, var=var)       # PyTorch clamps var in place: no ints
    xs = tuple(shape_of(input))
    if isinstance(var, (int, float)):
        var = np.full(xs, float(var), dtype=array_of(input).dtype)
    vs = tuple(shape_of(var))
    if vs != xs:
        if xs[:-1] == vs:
            var = unsqueeze(var, -1)          # one variance per sample (homoscedastic)
        elif not (xs[:-1] == vs[:-1] and vs[-1:] == (1,)):
            raise ShapeError(f"{name}: var of shape {vs} is of incorrect size for input {xs}: "
                             f"it must be {xs}, {xs[:-1]} or {xs[:-1] + (1,)}.")
    v = array_of(var)
    if (v < 0).any():
        raise ArgumentError(f"{name}: var has negative entries (min {v.min()}); variances must "
                            "be >= 0.")
    # clamp(var, eps) in value, identity in gradient (PyTorch clamps in place under no_grad)
    var = var + (np.maximum(v, eps) - v)
    loss = 0.5 * (log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction)
