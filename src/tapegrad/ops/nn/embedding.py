"""Primitives of the nn embedding family (used by tapegrad.nn.functional).

None so far: embedding and embedding_bag look rows up with the resample family's sparse
product (ops/nn/resample.py), whose backward is one transposed product rather than an
np.add.at scatter; that is the speed a primitive of their own would have bought.
"""

__all__ = []        # names exported as tapegrad.<name> (PyTorch's torch.<name>)
METHODS = {}        # Tensor methods this family binds
