"""``y += alpha * x`` in one pass, through the axpy of the BLAS that NumPy itself links to.

# NOTE: NumPy has no axpy. ``y += alpha * x`` in NumPy is two passes and a temporary (or a
# scratch in chunks, optim's add_scaled), which made the MLP step's SGD update, over weights
# that sit in L2, about 1.5x the time of one fused pass: measured on 512x784 float32, 190 us
# chunked against 129 us through saxpy on one thread, and 69 us on two (OpenBLAS threads its
# axpy; NumPy's ufuncs run on one core). The BLAS is NumPy's own copy (the wheel's
# scipy-openblas, ILP64, found next to NumPy), not SciPy's: SciPy ships a second OpenBLAS whose
# threads, spinning after a call, would slow NumPy's next GEMM down. Where that library is not
# there (a NumPy built against MKL or Accelerate, an unusual layout), ``axpy`` answers False
# and callers keep their NumPy path: same numbers to rounding, one pass slower.
"""
import os

import numpy as np

_SYMBOLS = {np.dtype(np.float32): "scipy_cblas_saxpy64_",
            np.dtype(np.float64): "scipy_cblas_daxpy64_"}
_UNLOADED = object()
_routines = _UNLOADED       # {dtype: (ctypes function, ctypes scalar type)}; {} when unreachable

MIN_SIZE = 16384            # elements; below it the ctypes call costs more than it saves


def _library_paths():
    """NumPy's bundled OpenBLAS: numpy.libs/ (Linux, Windows wheels) or numpy/.dylibs/ (macOS)."""
    import glob         # here: only the first large update needs it, not `import tapegrad`
    here = os.path.dirname(np.__file__)
    for folder in (os.path.join(os.path.dirname(here), "numpy.libs"),
                   os.path.join(here, ".dylibs")):
        yield from sorted(glob.glob(os.path.join(folder, "*scipy_openblas64_*")))


def _load():
    """The axpy routines, or {} when NumPy's BLAS cannot be reached (never raises)."""
    try:
        import ctypes
        for path in _library_paths():
            try:
                lib = ctypes.CDLL(path)       # already loaded by NumPy: this only looks it up
            except OSError:
                continue
            found = {}
            for dtype, name in _SYMBOLS.items():
                fn = getattr(lib, name, None)
                if fn is None:
                    break
                scalar = ctypes.c_float if dtype == np.float32 else ctypes.c_double
                fn.argtypes = (ctypes.c_int64, scalar, ctypes.c_void_p, ctypes.c_int64,
                               ctypes.c_void_p, ctypes.c_int64)
                fn.restype = None
                found[dtype] = (fn, scalar)
            else:
                return found
    except Exception:       # noqa: BLE001 -- any failure here just means "use NumPy"
        pass
    return {}


def routines():
    """The loaded routines (loaded on first use: ctypes stays out of ``import tapegrad``)."""
    global _routines
    if _routines is _UNLOADED:
        _routines = _load()
    return _routines


def axpy(alpha, x, y):
    """``y += alpha * x`` in place in one BLAS pass, when it can be done that way: x and y
    C-contiguous float32 or float64 arrays of one dtype and size (at least MIN_SIZE), y
    writeable, no overlap. Returns True when done, False (nothing touched) otherwise."""
    dtype = y.dtype
    if (x.dtype != dtype or x.size != y.size or y.size < MIN_SIZE
            or not (x.flags.c_contiguous and y.flags.c_contiguous and y.flags.writeable)):
        return False
    found = routines().get(dtype)
    if found is None or np.may_share_memory(x, y):
        return False
    fn, scalar = found
    fn(y.size, scalar(alpha), x.ctypes.data, 1, y.ctypes.data, 1)
    return True
