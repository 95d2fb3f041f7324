"""tapegrad.linalg: PyTorch's torch.linalg (inv, solve, cholesky, qr, eigh, svd, norms, ...),
each with exact gradients. The primitives live in ``tapegrad.ops.linalg``; this namespace
lists them under torch.linalg's names.
"""
from ..ops.linalg import LINALG as _LINALG

globals().update(_LINALG)
__all__ = sorted(_LINALG)
