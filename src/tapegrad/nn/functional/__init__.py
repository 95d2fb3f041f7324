"""tapegrad.nn.functional: PyTorch's torch.nn.functional (activations, losses, linear and
convolution layers, pooling, normalization, dropout, attention, vision and embedding
functions), with PyTorch's signatures, defaults and semantics.

Use it as PyTorch's: ``import tapegrad.nn.functional as F``. Each part is a module of this
package; the ones that need their own derivative rule (for speed or stability) call
primitives from ``tapegrad.ops.nn``, the rest are composites of tapegrad ops.
"""
from . import (activations, attention, conv, dropout, linear, losses, normalization, pooling,
               sparse, vision)

# NOTE: taken before the star imports below, which rebind some part names to functions
# (the module `dropout` becomes the function `dropout`, as PyTorch's F.dropout is).
PARTS = (activations, losses, linear, conv, pooling, normalization, dropout, attention, vision,
         sparse)
from .activations import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .vision import *  # noqa: F401,F403

__all__ = [name for part in PARTS for name in part.__all__]
assert len(__all__) == len(set(__all__)), "two parts of nn.functional export one name"
