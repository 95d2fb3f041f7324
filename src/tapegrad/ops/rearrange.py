"""Rearranging elements: split, chunk, unbind, flip, roll, rot90, repeat, tile,
repeat_interleave, movedim, narrow, unflatten, broadcast_tensors, atleast_Nd, the *stack
family, meshgrid, cartesian_prod, combinations.
"""

__all__ = []   # public functions, exported as tapegrad.<name>
METHODS = {}   # Tensor methods (bound in ops/methods.py), in-place forms included
