"""Dropout layers: Dropout, Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout, as PyTorch's.

Each applies its ``tapegrad.nn.functional`` function in training mode and returns the input
itself in evaluation mode (``model.eval()``). Masks come from tapegrad's default generator
(Note [Dropout masks] in nn/functional/dropout.py).
"""
import numbers

from ..._core.errors import ArgumentError
from .. import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
           "FeatureAlphaDropout"]


class _DropoutNd(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real):
            raise TypeError(f"{type(self).__name__}: p must be a number in [0, 1], got "
                            f"{type(p).__name__} {p!r}.")
        if p < 0 or p > 1:
            # PyTorch's text first, then which layer
            raise ArgumentError(f"dropout probability has to be between 0 and 1, but got {p} "
                                f"(in {type(self).__name__}).")
        self.p = p
        self.inplace = inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """In training, zero each element with probability ``p`` and scale the rest by
    1 / (1 - p); in evaluation, return the input.

    Args:
        p: the probability of an element being zeroed (default 0.5).
        inplace: overwrite the input.

    Example:
        >>> import tapegrad as tg
        >>> _ = tg.manual_seed(0); m = tg.nn.Dropout(0.5)
        >>> sorted(set(m(tg.ones(8)).tolist())), m.eval()(tg.ones(2))
        ([0.0, 2.0], tensor([1., 1.]))
    """

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """In training, zero whole channels of (N, C, L) or (C, L) inputs with probability ``p``
    and scale the rest by 1 / (1 - p); in evaluation, return the input.

    Args:
        p: the probability of a channel being zeroed (default 0.5).
        inplace: overwrite the input.

    Example:
        >>> import tapegrad as tg
        >>> _ = tg.manual_seed(0); y = tg.nn.Dropout1d(0.5)(tg.ones(1, 4, 3))
        >>> bool((y.amax(2) == y.amin(2)).all())
        True
    """

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """In training, zero whole channels of (N, C, H, W) inputs with probability ``p`` and
    scale the rest by 1 / (1 - p); in evaluation, return the input.

    Args:
        p: the probability of a channel being zeroed (default 0.5).
        inplace: overwrite the input.

    Example:
        >>> import tapegrad as tg
        >>> _ = tg.manual_seed(0); y = tg.nn.Dropout2d(0.5)(tg.ones(1, 4, 2, 2))
        >>> bool((y.amax((2, 3)) == y.amin((2, 3))).all())
        True
    """

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """In training, zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs with
    probability ``p`` and scale the rest by 1 / (1 - p); in evaluation, return the input.

    Args:
        p: the probability of a channel being zeroed (default 0.5).
        inplace: overwrite the input.

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.Dropout3d(0.2)
        Dropout3d(p=0.2, inplace=False)
    """

    def forward(self, input):
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Alpha dropout for SELU networks: in training, dropped elements take SELU's negative
    saturation value and an affine map keeps the input's mean and variance; in evaluation,
    return the input.

    Args:
        p: the probability of an element being dropped (default 0.5).
        inplace: accepted as PyTorch does; like PyTorch's layer, it never writes the input.

    Example:
        >>> import tapegrad as tg
        >>> _ = tg.manual_seed(0); y = tg.nn.AlphaDropout(0.2)(tg.randn(100000))
        >>> round(y.mean().item(), 1) + 0.0, round(y.std().item(), 1)
        (0.0, 1.0)
    """

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels ``input[n, c]`` of (N, C, ...) inputs in training;
    the input itself in evaluation.

    Args:
        p: the probability of a channel being dropped (default 0.5).
        inplace: accepted as PyTorch does; like PyTorch's layer, it never writes the input.

    Example:
        >>> import tapegrad as tg
        >>> _ = tg.manual_seed(0); y = tg.nn.FeatureAlphaDropout(0.5)(tg.ones(2, 3, 4))
        >>> bool((y.amax(2) == y.amin(2)).all())
        True
    """

    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training)
