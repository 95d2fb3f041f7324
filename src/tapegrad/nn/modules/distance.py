"""Distance modules: CosineSimilarity and PairwiseDistance, as PyTorch's torch.nn ones."""
from .. import functional as F
from .module import Module

__all__ = ["CosineSimilarity", "PairwiseDistance"]


class CosineSimilarity(Module):
    """Cosine of the angle between x1 and x2 along ``dim`` (broadcasting):
    :func:`tapegrad.nn.functional.cosine_similarity`.

    Args:
        dim: the dim of the vectors (default 1).
        eps: the smallest norm divided by (default 1e-8).

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.CosineSimilarity()(tg.tensor([[1.0, 0.0], [1.0, 1.0]]), tg.tensor([[2.0, 0.0]]))
        tensor([1.0000, 0.7071])
    """

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """The p-norm of x1 - x2 + eps along the last dim (broadcasting):
    :func:`tapegrad.nn.functional.pairwise_distance`.

    Args:
        p: the norm's order (default 2.0), kept as the attribute ``norm`` (PyTorch's name).
        eps: added to the difference, keeping the gradient finite (default 1e-6).
        keepdim: keep the last dim with size 1.

    Example:
        >>> import tapegrad as tg, tapegrad.nn as nn
        >>> nn.PairwiseDistance(eps=0.0)(tg.tensor([[3.0, 4.0]]), tg.zeros(1, 2))
        tensor([5.])
    """

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
