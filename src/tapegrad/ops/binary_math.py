"""Binary and ternary pointwise maths: atan2, fmod, hypot, lerp, addcmul, addcdiv, logaddexp,
logaddexp2, xlogy, copysign, heaviside, float_power, and the closeness tests isclose,
allclose, equal.
"""

__all__ = []   # public functions, exported as tapegrad.<name>
METHODS = {}   # Tensor methods (bound in ops/methods.py), in-place forms included
