"""tapegrad.nn: neural-network building blocks, as PyTorch's torch.nn.

``Module`` and ``Parameter`` (``nn.modules.module``, ``nn.parameter``), the layer library
(``nn.modules``: one family per file), ``nn.functional`` (the stateless functions),
``nn.init`` (initialisation) and ``nn.utils`` (gradient clipping, parametrizations, packed
sequences).
"""
from . import functional, init  # noqa: F401
from .parameter import Buffer, Parameter  # noqa: F401
from . import modules  # noqa: F401
from .modules import *  # noqa: F401,F403
from . import utils  # noqa: F401,E402
