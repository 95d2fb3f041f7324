"""Loss modules: each wraps one loss of tapegrad.nn.functional, as PyTorch's torch.nn losses
(same class names, constructor arguments and defaults; their repr shows no arguments, as
PyTorch's).

Every loss keeps ``reduction`` ('none', 'mean' or 'sum'; checked by the functional when
called). PyTorch's deprecated ``size_average`` and ``reduce`` arguments are accepted and mapped
to a reduction by PyTorch's legacy rule, with a warning. Per-class weights (``weight``,
``pos_weight``) are buffers: they follow ``.double()`` and appear in ``state_dict()``.
"""
import sys
import warnings

from ..._core.errors import ArgumentError
from .. import functional as F
from .module import Module

__all__ = ["L1Loss", "MSELoss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
           "KLDivLoss", "PoissonNLLLoss", "GaussianNLLLoss", "SmoothL1Loss", "HuberLoss",
           "MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss",
           "MultiLabelSoftMarginLoss", "MultiMarginLoss", "CosineEmbeddingLoss",
           "TripletMarginLoss", "CTCLoss"]


def _legacy_reduction(name, size_average, reduce):
    """PyTorch's rule for the deprecated flags (a missing one counts as True): reduce=False
    gives 'none', else size_average=False gives 'sum', else 'mean'."""
    if reduce is not None and not reduce:
        reduction = "none"
    elif size_average is not None and not size_average:
        reduction = "sum"
    else:
        reduction = "mean"
    # NOTE: the warning points at the first frame outside this file (the constructors of
    # the losses nest one to three deep).
    frame, level = sys._getframe(0), 1
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    warnings.warn(f"{name}: the size_average and reduce arguments are deprecated; use "
                  f"reduction={reduction!r} instead.", UserWarning, stacklevel=level)
    return reduction


class _Loss(Module):
    """The base of the losses: holds ``reduction``."""

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = _legacy_reduction(type(self).__name__, size_average, reduce)
        self.reduction = reduction


class _WeightedLoss(_Loss):
    """A loss with an optional ``weight`` buffer (per class or per element)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


# ---- regression ----------------------------------------------------------------------------------
class L1Loss(_Loss):
    """Mean absolute error, |input - target| reduced: :func:`tapegrad.nn.functional.l1_loss`.

    Args:
        reduction: 'none' | 'mean' | 'sum'.
        size_average, reduce: deprecated (see the module docstring).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.L1Loss()(tg.tensor([1.0, 2.0]), tg.tensor([0.0, 4.0]))
        tensor(1.5000)
    """

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error, (input - target)^2 reduced: :func:`tapegrad.nn.functional.mse_loss`.

    Args:
        reduction: 'none' | 'mean' | 'sum'.
        size_average, reduce: deprecated (see the module docstring).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.MSELoss()(tg.tensor([1.0, 2.0]), tg.tensor([0.0, 4.0]))
        tensor(2.5000)
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Quadratic below ``beta``, linear above: :func:`tapegrad.nn.functional.smooth_l1_loss`.

    Args:
        reduction: 'none' | 'mean' | 'sum'.
        beta: where the loss turns from quadratic to linear (>= 0; default 1.0).
        size_average, reduce: deprecated (see the module docstring).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.SmoothL1Loss(reduction="sum")(tg.tensor([0.5, 3.0]), tg.zeros(2))
        tensor(2.6250)
    """

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Quadratic below ``delta``, delta-scaled linear above:
    :func:`tapegrad.nn.functional.huber_loss`.

    Args:
        reduction: 'none' | 'mean' | 'sum'.
        delta: where the loss turns from quadratic to linear (> 0; default 1.0).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.HuberLoss(reduction="sum", delta=2.0)(tg.tensor([0.5, 3.0]), tg.zeros(2))
        tensor(4.1250)
    """

    def __init__(self, reduction="mean", delta=1.0):
        if isinstance(delta, bool) or not isinstance(delta, (float, int)):
            raise TypeError(f"HuberLoss: delta must be a float or int, got "
                            f"{type(delta).__name__}.")
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


# ---- classification ------------------------------------------------------------------------------
class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy between logits and class indices or class probabilities:
    :func:`tapegrad.nn.functional.cross_entropy`.

    Args:
        weight: optional (C,) weights per class (a buffer).
        ignore_index: a class index whose targets count for nothing (default -100).
        reduction: 'none' | 'mean' | 'sum'.
        label_smoothing: in [0, 1]; the target becomes (1 - eps) target + eps / C.
        size_average, reduce: deprecated (see the module docstring).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.CrossEntropyLoss()(tg.zeros(2, 2), tg.tensor([0, 1]))
        tensor(0.6931)
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean", label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities at class indices:
    :func:`tapegrad.nn.functional.nll_loss`.

    Args:
        weight: optional (C,) weights per class (a buffer).
        ignore_index: a class index whose targets count for nothing (default -100).
        reduction: 'none' | 'mean' | 'sum'.
        size_average, reduce: deprecated (see the module docstring).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.NLLLoss()(tg.tensor([[-1.0, -2.0], [-3.0, -4.0]]), tg.tensor([1, 0]))
        tensor(2.5000)
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities: :func:`~tapegrad.nn.functional.binary_cross_entropy`.

    Args:
        weight: optional weights, broadcast against the loss (a buffer).
        reduction: 'none' | 'mean' | 'sum'.
        size_average, reduce: deprecated (see the module docstring).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.BCELoss()(tg.tensor([0.5, 0.5]), tg.tensor([1.0, 0.0]))
        tensor(0.6931)
    """

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of sigmoid(input), computed stably from the logits:
    :func:`tapegrad.nn.functional.binary_cross_entropy_with_logits`.

    Args:
        weight: optional weights, broadcast against the loss (a buffer).
        reduction: 'none' | 'mean' | 'sum'.
        pos_weight: optional weight of the positive term, one per class (last dim; a buffer).
        size_average, reduce: deprecated (see the module docstring).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.BCEWithLogitsLoss(pos_weight=tg.tensor([3.0]))(tg.zeros(1), tg.ones(1))
        tensor(2.0794)
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean",
                 pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  pos_weight=self.pos_weight,
                                                  reduction=self.reduction)


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence of log-probabilities ``input`` from ``target``:
    :func:`tapegrad.nn.functional.kl_div`.

    Args:
        reduction: 'none' | 'batchmean' (the true KL divergence) | 'sum' | 'mean'.
        log_target: the target is given as log-probabilities too.
        size_average, reduce: deprecated (see the module docstring).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> loss = nn.KLDivLoss(reduction="batchmean")
        >>> loss(tg.tensor([[-1.0, -1.0]]), tg.tensor([[0.5, 0.5]]))
        tensor(0.3069)
    """

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood: :func:`tapegrad.nn.functional.poisson_nll_loss`.

    Args:
        log_input: the input is the log of the rate (exp(input) - target * input), else the
            rate itself (input - target * log(input + eps)).
        full: add Stirling's approximation of log(target!).
        eps: keeps log away from 0 when log_input is False (default 1e-8).
        reduction: 'none' | 'mean' | 'sum'.
        size_average, reduce: deprecated (see the module docstring).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.PoissonNLLLoss()(tg.tensor([0.0, 1.0]), tg.tensor([1.0, 2.0]))
        tensor(0.8591)
    """

    def __init__(self, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                 reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.log_input = log_input
        self.full = full
        self.eps = eps

    def forward(self, log_input, target):
        return F.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full,
                                  eps=self.eps, reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood of ``target`` given mean ``input`` and variance
    ``var``: :func:`tapegrad.nn.functional.gaussian_nll_loss`.

    Args:
        full: add the constant 0.5 log(2 pi).
        eps: the smallest variance used (default 1e-6).
        reduction: 'none' | 'mean' | 'sum'.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.GaussianNLLLoss()(tg.tensor([1.0, 3.0]), tg.ones(2), tg.tensor([1.0, 2.0]))
        tensor(0.6733)
    """

    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__(None, None, reduction)
        self.full = full
        self.eps = eps

    def forward(self, input, target, var):
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps,
                                   reduction=self.reduction)


# ---- margin and embedding ------------------------------------------------------------------------
class MarginRankingLoss(_Loss):
    """max(0, -target * (input1 - input2) + margin):
    :func:`tapegrad.nn.functional.margin_ranking_loss`.

    Args:
        margin: the margin (default 0.0).
        reduction: 'none' | 'mean' | 'sum'.
        size_average, reduce: deprecated (see the module docstring).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> a, b = tg.tensor([1.0, 2.0]), tg.tensor([2.0, 1.0])
        >>> nn.MarginRankingLoss(margin=0.5)(a, b, tg.tensor([1.0, 1.0]))
        tensor(0.7500)
    """

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(input1, input2, target, margin=self.margin,
                                     reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """input where target is 1, max(0, margin - input) where it is -1:
    :func:`tapegrad.nn.functional.hinge_embedding_loss`.

    Args:
        margin: the margin (default 1.0).
        reduction: 'none' | 'mean' | 'sum'.
        size_average, reduce: deprecated (see the module docstring).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.HingeEmbeddingLoss()(tg.tensor([0.3, 0.4]), tg.tensor([1.0, -1.0]))
        tensor(0.4500)
    """

    def __init__(self, margin=1.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, margin=self.margin,
                                      reduction=self.reduction)


class SoftMarginLoss(_Loss):
    """log(1 + exp(-target * input)), a two-class logistic loss with target in {1, -1}:
    :func:`tapegrad.nn.functional.soft_margin_loss`.

    Args:
        reduction: 'none' | 'mean' | 'sum'.
        size_average, reduce: deprecated (see the module docstring).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.SoftMarginLoss()(tg.zeros(2), tg.tensor([1.0, -1.0]))
        tensor(0.6931)
    """

    def forward(self, input, target):
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """One-versus-all logistic loss averaged over the classes (last dim):
    :func:`tapegrad.nn.functional.multilabel_soft_margin_loss`.

    Args:
        weight: optional (C,) weights per class (a buffer).
        reduction: 'none' | 'mean' | 'sum'.
        size_average, reduce: deprecated (see the module docstring).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.MultiLabelSoftMarginLoss()(tg.zeros(1, 2), tg.tensor([[1.0, 0.0]]))
        tensor(0.6931)
    """

    def forward(self, input, target):
        return F.multilabel_soft_margin_loss(input, target, weight=self.weight,
                                             reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss, sum over j != y of max(0, margin - x[y] + x[j])^p / C:
    :func:`tapegrad.nn.functional.multi_margin_loss`.

    Args:
        p: 1 or 2 (default 1).
        margin: the margin (default 1.0).
        weight: optional (C,) weights per class (a buffer).
        reduction: 'none' | 'mean' | 'sum'.
        size_average, reduce: deprecated (see the module docstring).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.MultiMarginLoss()(tg.tensor([[0.1, 0.8, 0.4]]), tg.tensor([1]))
        tensor(0.3000)
    """

    def __init__(self, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                 reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        if p != 1 and p != 2:
            raise ArgumentError(f"MultiMarginLoss: only p == 1 and p == 2 are supported, got "
                                f"p={p}.")
        if weight is not None and weight.ndim != 1:
            raise ArgumentError(f"MultiMarginLoss: expected weight to be None or a 1-d tensor "
                                f"(one weight per class), got {weight.ndim}-d shape "
                                f"{tuple(weight.shape)} instead.")
        self.p = p
        self.margin = margin

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin,
                                   weight=self.weight, reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    """1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1:
    :func:`tapegrad.nn.functional.cosine_embedding_loss`.

    Args:
        margin: the margin, in [-1, 1] (default 0.0).
        reduction: 'none' | 'mean' | 'sum'.
        size_average, reduce: deprecated (see the module docstring).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> a, b = tg.tensor([[1.0, 0.0]]), tg.tensor([[0.0, 1.0]])
        >>> nn.CosineEmbeddingLoss()(a, b, tg.tensor([1]))
        tensor(1.)
    """

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, margin=self.margin,
                                       reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """max(0, margin + d(anchor, positive) - d(anchor, negative)), d the p-norm distance:
    :func:`tapegrad.nn.functional.triplet_margin_loss`.

    Args:
        margin: the margin (> 0; default 1.0).
        p: the norm's order (default 2.0).
        eps: added to the differences (default 1e-6).
        swap: use the smaller of d(anchor, negative) and d(positive, negative).
        reduction: 'none' | 'mean' | 'sum'.
        size_average, reduce: deprecated (see the module docstring).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> a, n = tg.zeros(1, 2), tg.tensor([[3.0, 4.0]])
        >>> nn.TripletMarginLoss(margin=6.0, eps=0.0)(a, a, n)
        tensor(1.)
    """

    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, size_average=None,
                 reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ArgumentError(f"TripletMarginLoss: expected margin to be greater than 0, "
                                f"got {margin} instead.")
        self.margin = margin
        self.p = p
        self.eps = eps
        self.swap = swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p,
                                     eps=self.eps, swap=self.swap, reduction=self.reduction)


# ---- sequences -----------------------------------------------------------------------------------
class CTCLoss(_Loss):
    """Connectionist Temporal Classification loss: :func:`tapegrad.nn.functional.ctc_loss`.

    Args:
        blank: the blank class (default 0).
        reduction: 'none' | 'mean' (each loss divided by its target length, then averaged)
            | 'sum'.
        zero_infinity: give impossible alignments loss 0 and gradient 0 instead of inf.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> lp = tg.full((2, 1, 2), 0.5).log()
        >>> nn.CTCLoss(reduction="sum")(lp, tg.tensor([[1]]), [2], [1])
        tensor(0.2877)
    """

    def __init__(self, blank=0, reduction="mean", zero_infinity=False):
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                          self.reduction, self.zero_infinity)
