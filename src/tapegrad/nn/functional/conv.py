"""tapegrad.nn.functional: conv (convolutions, their transposes, unfold and fold)."""
from ...ops.nn.conv import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d,
                            conv_transpose3d)

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]
