"""Undoing broadcasting. Works on arrays (fast path) and Tensors (recorded path) alike,
through the ``sum``/``reshape`` methods both share."""
import numpy as np


def sum_to_shape(g, shape):
    """Undo broadcasting: sum cotangent g down to ``shape``.

    Example:
        >>> import numpy as np
        >>> sum_to_shape(np.ones((2, 3)), (3,))
        array([2., 2., 2.])
    """
    if g.shape == shape:                      # common case: no work, no allocation
        return g
    lead = g.ndim - len(shape)
    if lead < 0:
        # NOTE: shape has extra leading 1s, as a value written with x[i] = v may have (NumPy
        # and PyTorch drop them when writing): the cotangent gains them back first.
        g = g.reshape((1,) * -lead + tuple(g.shape))
        lead = 0
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def cast_like(a, ref):
    """``a`` converted to ``ref``'s dtype (e.g. a bool mask to a cotangent's float dtype), so
    masks never upcast a float32 gradient. Works for arrays and Tensors."""
    dt = ref.dtype if isinstance(ref, np.ndarray) else ref._data.dtype
    if isinstance(a, (np.ndarray, np.generic)):   # NOTE: 0-d comparisons give NumPy scalars
        return np.asarray(a, dtype=dt)
    return a.to(dt)
