"""Fold and Unfold: sliding local blocks to columns (im2col) and back (col2im)."""
from .. import functional as F
from .module import Module

__all__ = ["Fold", "Unfold"]


class Fold(Module):
    """Combine sliding local blocks into an image, summing where they overlap: (N, C * kh *
    kw, L) -> (N, C, H, W); the adjoint of :class:`Unfold`.

    Args:
        output_size: the image's (H, W): an int or 2 ints.
        kernel_size: the block size: an int or 2 ints.
        dilation: spacing between a block's elements (default 1).
        padding: implicit zero padding on both sides of the image, cropped off (default 0).
        stride: the blocks' step (default 1).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.Fold((2, 3), 2); m
        Fold(output_size=(2, 3), kernel_size=2, dilation=1, padding=0, stride=1)
        >>> m(tg.ones(1, 4, 2))
        tensor([[[[1., 2., 1.],
                  [1., 2., 1.]]]])
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")


class Unfold(Module):
    """Extract sliding local blocks (im2col): (N, C, H, W) -> (N, C * kh * kw, L), one
    column per block, the blocks in row-major order.

    Args:
        kernel_size: the block size: an int or 2 ints.
        dilation: spacing between a block's elements (default 1).
        padding: implicit zero padding on both sides of the input (default 0).
        stride: the blocks' step (default 1).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.Unfold(2, stride=2); m
        Unfold(kernel_size=2, dilation=1, padding=0, stride=2)
        >>> m(tg.ones(3, 2, 4, 6)).shape
        tapegrad.Size([3, 8, 6])
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
