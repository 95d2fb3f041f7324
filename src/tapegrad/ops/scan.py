"""Scans along a dim: cumsum, cumprod, cummax/cummin, logcumsumexp.
"""

__all__ = []   # public functions, exported as tapegrad.<name>
METHODS = {}   # Tensor methods (bound in ops/methods.py), in-place forms included
