"""Gather and scatter along dims: index_select, gather, scatter, scatter_add, scatter_reduce,
index_add, index_copy, index_fill, index_put, masked_fill, masked_select, masked_scatter,
take, take_along_dim, nonzero, argwhere.
"""

__all__ = []   # public functions, exported as tapegrad.<name>
METHODS = {}   # Tensor methods (bound in ops/methods.py), in-place forms included
