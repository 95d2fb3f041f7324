"""The layer library: one family of modules per file, each with ``__all__``.

``tapegrad.nn`` re-exports every name listed here; the assertion keeps one name in one file.
"""
from . import (module, container, linear, conv, fold, pooling, padding, pixelshuffle, upsampling,
               activation, distance, loss, normalization, dropout, sparse, transformer, rnn)

PARTS = (module, container, linear, conv, fold, pooling, padding, pixelshuffle, upsampling,
         activation, distance, loss, normalization, dropout, sparse, transformer, rnn)

__all__ = [name for part in PARTS for name in part.__all__]
assert len(__all__) == len(set(__all__)), "a module name is exported by two files"

from .module import *  # noqa: E402,F401,F403
from .container import *  # noqa: E402,F401,F403
from .linear import *  # noqa: E402,F401,F403
from .conv import *  # noqa: E402,F401,F403
from .fold import *  # noqa: E402,F401,F403
from .pooling import *  # noqa: E402,F401,F403
from .padding import *  # noqa: E402,F401,F403
from .pixelshuffle import *  # noqa: E402,F401,F403
from .upsampling import *  # noqa: E402,F401,F403
from .activation import *  # noqa: E402,F401,F403
from .distance import *  # noqa: E402,F401,F403
from .loss import *  # noqa: E402,F401,F403
from .normalization import *  # noqa: E402,F401,F403
from .dropout import *  # noqa: E402,F401,F403
from .sparse import *  # noqa: E402,F401,F403
from .transformer import *  # noqa: E402,F401,F403
from .rnn import *  # noqa: E402,F401,F403
