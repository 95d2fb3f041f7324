"""Tensor contractions: einsum (contraction paths cached per equation and shapes), tensordot,
kron, cross, cdist.
"""

__all__ = []   # public functions, exported as tapegrad.<name>
METHODS = {}   # Tensor methods (bound in ops/methods.py), in-place forms included

LINALG = {}    # tapegrad.linalg.<name> -> function (its names may differ from tapegrad.<name>)
