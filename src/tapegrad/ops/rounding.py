"""Rounding and classification: floor, ceil, round, trunc, frac (zero or identity
gradients as PyTorch defines them), nan_to_num, signbit, isneginf, isposinf, isreal.
"""

__all__ = []   # public functions, exported as tapegrad.<name>
METHODS = {}   # Tensor methods (bound in ops/methods.py), in-place forms included
