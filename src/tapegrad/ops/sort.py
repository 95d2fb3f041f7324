"""Sorting and counting: sort, argsort, msort, topk, kthvalue, unique, bincount, histc,
searchsorted, bucketize.
"""

__all__ = []   # public functions, exported as tapegrad.<name>
METHODS = {}   # Tensor methods (bound in ops/methods.py), in-place forms included
