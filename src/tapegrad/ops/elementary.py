"""Elementary functions beyond the foundation's: log1p, expm1, log2, log10, exp2, square,
reciprocal, the hyperbolic functions and the inverse trigonometric and hyperbolic functions.
"""

__all__ = []   # public functions, exported as tapegrad.<name>
METHODS = {}   # Tensor methods (bound in ops/methods.py), in-place forms included
