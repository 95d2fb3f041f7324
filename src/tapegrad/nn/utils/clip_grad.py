"""Gradient clipping, as PyTorch's torch.nn.utils.clip_grad.

These run once per training step over every parameter, so they work on the gradients' NumPy
arrays directly: norms with one BLAS dot (2-norm) or one reduction per tensor, scaling and
clamping in place into the existing ``.grad`` storage. Nothing is recorded and no wrapper
tensors are made; each modified gradient's version counter moves on as after an in-place op.
"""
import math
import types
import warnings

import numpy as np

from ..._core.errors import ArgumentError
from ..._core.tensor import Tensor, wrap

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]


def _as_list(tensors):
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(x, p):
    """The p-norm of a flat float array (float32/64), as linalg.vector_norm defines it for
    every p: 0 counts the nonzeros, +-inf take the largest/smallest magnitude; +inf and the
    negative orders have no identity, so an empty array is refused."""
    if p == 2.0:
        return math.sqrt(np.dot(x, x))
    if p == 1.0:
        return float(np.abs(x).sum())
    if p == 0.0:
        return float(np.count_nonzero(x))
    if x.size == 0 and (p < 0 or math.isinf(p)):
        raise ArgumentError(
            f"get_total_norm: can't compute the {p} norm of an empty gradient: the "
            "operation has no identity. Leave zero-element parameters out, or use a "
            "positive finite norm_type.")
    if math.isinf(p):
        return float(np.abs(x).max() if p > 0 else np.abs(x).min())
    with np.errstate(divide="ignore"):      # a negative p on a zero gives inf, then 0, as in
        return float(np.sum(np.abs(x) ** p) ** (1.0 / p))   # PyTorch


def _flat(arr):
    # float16 sums of squares overflow at 256: reduce in float32, as PyTorch accumulates
    return (arr.astype(np.float32) if arr.dtype == np.float16 else arr).ravel()


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of the norms of ``tensors``: their p-norm as if concatenated into one vector.

    Args:
        tensors: a tensor or an iterable of tensors (usually gradients).
        norm_type: the p of the p-norm, a number or ``"inf"``.
        error_if_nonfinite: raise when the total norm is nan or inf.
        foreach: accepted for PyTorch compatibility; the NumPy path is always used.

    Returns:
        A 0-d tensor in the tensors' promoted dtype (``tensor(0.)`` for no tensors).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils import get_total_norm
        >>> get_total_norm([tg.tensor([3.0, 0.0]), tg.tensor([4.0])])
        tensor(5.)
        >>> get_total_norm([tg.tensor([3.0, 0.0]), tg.tensor([4.0])], "inf")
        tensor(4.)
    """
    tensors = _as_list(tensors)
    p = float(norm_type)
    if not tensors:
        return wrap(np.array(0.0, dtype=np.float32))
    arrays = [t._data for t in tensors]
    norms = np.array([_vector_norm(_flat(a), p) for a in arrays])
    total = _vector_norm(norms, p)
    if error_if_nonfinite and not math.isfinite(total):
        raise ArgumentError(
            f"The total norm of order {p} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`")
    return wrap(np.array(total, dtype=np.result_type(*arrays)))


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the parameters' gradients in place by ``min(1, max_norm / (total_norm + 1e-6))``.

    With :func:`get_total_norm` this splits :func:`clip_grad_norm_` in two, e.g. to reduce the
    norm across workers in between. Parameters without a gradient are skipped.

    Args:
        parameters: a tensor or an iterable of tensors whose ``.grad`` to scale.
        max_norm: the norm the gradients should have at most.
        total_norm: their current total norm (a tensor or a number).
        foreach: accepted for PyTorch compatibility; ignored.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils import clip_grads_with_norm_
        >>> w = tg.zeros(2, requires_grad=True); w.grad = tg.tensor([3.0, 4.0])
        >>> clip_grads_with_norm_([w], 1.0, tg.tensor(5.0)); w.grad
        tensor([0.6000, 0.8000])
    """
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    norm = total_norm._data if isinstance(total_norm, Tensor) else np.float32(total_norm)
    coef = np.minimum(float(max_norm) / (norm + norm.dtype.type(1e-6)), 1.0).astype(norm.dtype)
    if coef >= 1.0:
        return    # PyTorch multiplies by 1 here (a GPU would otherwise sync); nothing changes
    for g in grads:
        _scale(g, coef)


def _scale(g, coef):
    arr = g._data
    if arr.flags.writeable:
        np.multiply(arr, coef, out=arr, casting="unsafe")
    else:      # a gradient someone made read-only: give it fresh storage, values as PyTorch's
        g._data = (arr * coef).astype(arr.dtype)
    g._bump()


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Scale the parameters' gradients in place so that their total norm is at most ``max_norm``.

    The total norm is computed over all gradients together, as if concatenated into one
    vector; parameters without a gradient are skipped.

    Args:
        parameters: a tensor or an iterable of tensors (e.g. ``model.parameters()``).
        max_norm: the largest total norm allowed.
        norm_type: the p of the p-norm, a number or ``"inf"``.
        error_if_nonfinite: raise when the total norm is nan or inf (otherwise the gradients
            are scaled by it, becoming nan or zero).
        foreach: accepted for PyTorch compatibility; the NumPy path is always used.

    Returns:
        The total norm of the gradients before clipping, a 0-d tensor.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils import clip_grad_norm_
        >>> w = tg.zeros(2, requires_grad=True); w.grad = tg.tensor([3.0, 4.0])
        >>> clip_grad_norm_(w, max_norm=1.0), w.grad
        (tensor(5.), tensor([0.6000, 0.8000]))
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        was_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)      # a generator is read once, for both passes
        if was_generator and not parameters:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.",
                          stacklevel=2)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp the parameters' gradients in place to [-clip_value, clip_value].

    Args:
        parameters: a tensor or an iterable of tensors; those without a gradient are skipped.
        clip_value: the largest magnitude allowed.
        foreach: accepted for PyTorch compatibility; ignored.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils import clip_grad_value_
        >>> w = tg.zeros(3, requires_grad=True); w.grad = tg.tensor([-2.0, 0.5, 3.0])
        >>> clip_grad_value_(w, 1.0); w.grad
        tensor([-1.0000,  0.5000,  1.0000])
    """
    v = float(clip_value)
    for p in _as_list(parameters):
        g = p.grad
        if g is None:
            continue
        arr = g._data
        if arr.flags.writeable:
            np.clip(arr, -v, v, out=arr, casting="unsafe")
        else:
            g._data = np.clip(arr, -v, v).astype(arr.dtype)
        g._bump()
