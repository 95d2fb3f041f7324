"""One-pass in-place updates for the optimizers, through BLAS (SciPy's wrappers).

``p -= lr * g`` in NumPy is two passes over memory (the product into a scratch array, then
the subtraction); BLAS's axpy does it in one, which is most of an SGD step's update time on
large parameters. SciPy is imported on first use, so ``import tapegrad`` doesn't pay for it.
"""
import numpy as np

_AXPY = {}
_MIN_SIZE = 4096       # below this a BLAS call costs more than the pass it saves


def axpy(a, x, y):
    """``y += a * x`` in place, for C-contiguous float32/float64 arrays of one shape and
    dtype; returns False (nothing done) when that doesn't hold, for the caller's NumPy
    fallback."""
    if (y.size < _MIN_SIZE or x.dtype != y.dtype or x.shape != y.shape
            or not (x.flags.c_contiguous and y.flags.c_contiguous and y.flags.writeable)):
        return False
    fn = _AXPY.get(y.dtype)
    if fn is None:
        if y.dtype not in (np.float32, np.float64):
            return False
        from scipy.linalg import blas
        fn = _AXPY[y.dtype] = blas.saxpy if y.dtype == np.float32 else blas.daxpy
    fn(x.reshape(-1), y.reshape(-1), a=a)
    return True
