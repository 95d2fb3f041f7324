"""The layer library: one family of modules per file, each with ``__all__``.

``tapegrad.nn`` re-exports every name listed here; the assertion keeps one name in one file.
"""
from . import module, container, rnn

PARTS = (module, container, rnn)

__all__ = [name for part in PARTS for name in part.__all__]
assert len(__all__) == len(set(__all__)), "a module name is exported by two files"

from .module import *  # noqa: E402,F401,F403
from .container import *  # noqa: E402,F401,F403
from .rnn import *  # noqa: E402,F401,F403
