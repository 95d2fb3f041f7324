"""Upsampling layers: Upsample (any mode of F.interpolate), UpsamplingNearest2d and
UpsamplingBilinear2d."""
from .. import functional as F
from .module import Module

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]


class Upsample(Module):
    """Resize the spatial dims of (N, C, *spatial) with F.interpolate.

    Args:
        size: the output's spatial size: an int or one per spatial dim; or
        scale_factor: a multiplier (a number or one per dim), stored as float(s).
        mode: 'nearest' (default), 'nearest-exact', 'linear', 'bilinear', 'bicubic',
            'trilinear' or 'area'.
        align_corners: for the interpolating modes: True maps the corner pixels' centres
            onto each other (default None: False).
        recompute_scale_factor: True computes the source step from the sizes instead of
            1 / scale_factor.

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.Upsample(scale_factor=2); m
        Upsample(scale_factor=2.0, mode='nearest')
        >>> m(tg.tensor([[[1.0, 2.0]]]))
        tensor([[[1., 1., 2., 2.]]])
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            # NOTE: a zero scale_factor counts as absent, as in PyTorch.
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        if self.scale_factor is not None:
            text = f"scale_factor={self.scale_factor!r}"
        else:
            text = f"size={self.size!r}"
        return f"{text}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour upsampling of (N, C, H, W): Upsample with mode='nearest'.

    Args:
        size: the output's (H, W): an int or a pair; or
        scale_factor: a multiplier (a number or a pair).

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.UpsamplingNearest2d(scale_factor=2)(tg.tensor([[[[1.0, 2.0]]]]))
        tensor([[[[1., 1., 2., 2.],
                  [1., 1., 2., 2.]]]])
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear upsampling of (N, C, H, W) with align_corners=True: Upsample with
    mode='bilinear', align_corners=True.

    Args:
        size: the output's (H, W): an int or a pair; or
        scale_factor: a multiplier (a number or a pair).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.UpsamplingBilinear2d(size=(1, 3)); m
        UpsamplingBilinear2d(size=(1, 3), mode='bilinear')
        >>> m(tg.tensor([[[[0.0, 1.0]]]]))
        tensor([[[[0.0000, 0.5000, 1.0000]]]])
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
