"""Triangles and diagonals: tril/triu (and their indices), diagonal, diag, diag_embed,
diagflat, trace.
"""

__all__ = []   # public functions, exported as tapegrad.<name>
METHODS = {}   # Tensor methods (bound in ops/methods.py), in-place forms included
