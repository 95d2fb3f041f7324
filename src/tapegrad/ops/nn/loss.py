"""Primitives of the nn loss family (used by tapegrad.nn.functional)."""

__all__ = []        # names exported as tapegrad.<name> (PyTorch's torch.<name>)
METHODS = {}        # Tensor methods this family binds
