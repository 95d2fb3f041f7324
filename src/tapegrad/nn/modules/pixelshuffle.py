"""PixelShuffle and PixelUnshuffle: trade channels for spatial resolution and back."""
from .. import functional as F
from .module import Module

__all__ = ["PixelShuffle", "PixelUnshuffle"]


class PixelShuffle(Module):
    """Rearrange (*, C * r^2, H, W) into (*, C, H * r, W * r), r the upscale factor (the
    sub-pixel convolution's last step).

    Args:
        upscale_factor: r, a positive int.

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.PixelShuffle(2); m
        PixelShuffle(upscale_factor=2)
        >>> m(tg.arange(4.0).reshape(1, 4, 1, 1))
        tensor([[[[0., 1.],
                  [2., 3.]]]])
    """

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """Rearrange (*, C, H * r, W * r) into (*, C * r^2, H, W), r the downscale factor; the
    inverse of :class:`PixelShuffle`.

    Args:
        downscale_factor: r, a positive int.

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.PixelUnshuffle(2); m
        PixelUnshuffle(downscale_factor=2)
        >>> m(tg.arange(4.0).reshape(1, 1, 2, 2)).flatten()
        tensor([0., 1., 2., 3.])
    """

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"
