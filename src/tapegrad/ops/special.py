"""Special functions: erf, erfc, erfinv, lgamma, digamma, polygamma, sinc, logit.

SciPy computes the ones NumPy lacks; it is imported on first use so that
``import tapegrad`` stays fast.
"""

__all__ = []   # public functions, exported as tapegrad.<name>
METHODS = {}   # Tensor methods (bound in ops/methods.py), in-place forms included
