"""Decompositions: cholesky, qr, lu, eigh, svd and what is built on them.
"""

__all__ = []   # public functions, exported as tapegrad.<name>
METHODS = {}   # Tensor methods (bound in ops/methods.py), in-place forms included

LINALG = {}    # tapegrad.linalg.<name> -> function (its names may differ from tapegrad.<name>)
