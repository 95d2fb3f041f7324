"""Strided views: the one primitive behind diagonal, Tensor.unfold and as_strided.

# Note [Strided views]
Output element ``i`` (a multi-index) reads input element ``origin + C i``: each input
index is ``origin[k] + sum_j coeffs[j][k] * i[j]``. A diagonal sums two input dims into one
output dim, unfold makes a window dim, as_strided is the general case on the flattened
input. The forward re-strides the input's own memory (a view, like PyTorch's, also for a
non-contiguous input); the gradient adds each output element's cotangent back into the
input position it read, so positions read several times (overlapping windows) accumulate.
Results whose elements may share memory are read-only, so an in-place op on them raises
(as an expanded view does) instead of writing one location twice.

``Tensor.view(dtype)`` (``view_dtype``) re-strides memory too, with a different element
size; it is a view but not differentiable, so it is a primitive of its own.
"""
import numpy as np

from .._core import dtypes
from .._core.errors import ArgumentError, GradError, ShapeError
from .._core.tensor import Tensor, shape_of, wrap
from .indexing import getitem, index_add
from .registry import OpDef, _track_view, apply_unary, linear, register
from .shape import normalize_dim, reshape


def _row_major_strides(shape):
    strides, n = [], 1
    for size in reversed(shape):
        strides.append(n)
        n *= size
    return tuple(reversed(strides))


def _may_overlap(shape, strides):
    """False only if distinct indices surely reach distinct offsets (each stride, smallest
    first, jumps past everything the smaller ones span); True when unsure."""
    span = 0
    for size, stride in sorted((p for p in zip(shape, strides) if p[0] > 1),
                               key=lambda p: abs(p[1])):
        if abs(stride) <= span:
            return True
        span += abs(stride) * (size - 1)
    return False


def _strided_forward(x, size, coeffs, origin, in_shape):
    if 0 in size:
        return np.empty(size, dtype=x.dtype)
    start = x[tuple(slice(o, None) for o in origin)]   # a view beginning at element origin
    strides = tuple(sum(c * s for c, s in zip(cs, x.strides)) for cs in coeffs)
    logical = tuple(sum(c * s for c, s in zip(cs, _row_major_strides(in_shape)))
                    for cs in coeffs)
    return np.lib.stride_tricks.as_strided(start, size, strides,
                                           writeable=not _may_overlap(size, logical))


def _positions(size, coeffs, origin, in_shape):
    """The row-major position in the input of the element each output element reads."""
    lin_strides = _row_major_strides(in_shape)
    pos = np.asarray(sum(o * s for o, s in zip(origin, lin_strides)), dtype=np.int64)
    for j, n in enumerate(size):
        step = sum(c * s for c, s in zip(coeffs[j], lin_strides))
        if step:
            pos = pos + step * np.arange(n).reshape((-1,) + (1,) * (len(size) - j - 1))
    return np.broadcast_to(pos, size)


def strided_vjp(ctx, g):
    """d strided = g added into zeros at the positions read (repeats accumulate)."""
    in_shape = ctx.in_shape
    numel = int(np.prod(in_shape))
    pos = _positions(ctx.size, ctx.coeffs, ctx.origin, in_shape)
    if type(g) is np.ndarray and g.dtype.kind == "f":
        # NOTE: bincount, not np.add.at: ~10x faster for overlapping windows (unfold).
        summed = np.bincount(pos.reshape(-1), weights=g.reshape(-1), minlength=numel)
        return (summed.astype(g.dtype, copy=False).reshape(in_shape),)
    dt = g._data.dtype if isinstance(g, Tensor) else g.dtype
    return (reshape(index_add(np.zeros(numel, dtype=dt), (pos,), g), in_shape),)


STRIDED = register(OpDef("strided", _strided_forward, strided_vjp,
                         linear(lambda t, **p: strided(t, **p)), is_view=True))


def strided(input, size, coeffs, origin, in_shape):
    """The strided view of Note [Strided views] (internal; arguments already checked)."""
    return apply_unary(STRIDED, input, {"size": tuple(size), "coeffs": tuple(coeffs),
                                        "origin": tuple(origin), "in_shape": tuple(in_shape)})


def is_int(v):
    """A Python or NumPy int, not a bool (the argument checks of rearrange.py share these)."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def check_int(v, what, name):
    """``v`` as an int, or a TypeError naming op ``name`` and argument ``what``."""
    if not is_int(v):
        raise TypeError(f"{name}: {what} must be an int, got {v!r}")
    return int(v)


def unfold(input, dimension, size, step):
    """Every window of ``size`` elements along ``dimension``, ``step`` apart (a view).

    The windowed dim's size becomes the number of windows, ``(n - size) // step + 1``, and a
    new last dim of ``size`` holds each window. Overlapping windows (``step < size``) share
    memory, so the result is read-only there; their gradients accumulate.

    Args:
        input: the tensor (a 0-d tensor counts as one element).
        dimension: the dim to slide along.
        size: the window length (``>= 0`` and at most the dim's size).
        step: the distance between window starts (``> 0``).

    Example:
        >>> import tapegrad as tg
        >>> tg.arange(5.0).unfold(0, 2, 1)
        tensor([[0., 1.],
                [1., 2.],
                [2., 3.],
                [3., 4.]])
    """
    in_shape = shape_of(input)
    size, step = check_int(size, "size", "unfold"), check_int(step, "step", "unfold")
    d = normalize_dim(dimension, len(in_shape), "unfold")   # 0-d: 0 or -1, as in PyTorch
    n = in_shape[d] if in_shape else 1
    if size < 0:
        raise ArgumentError(f"unfold: size is {size} but must be >= 0")
    if size > n:
        raise ShapeError(f"unfold: the maximum size for dim {d} of a tensor of shape "
                         f"{tuple(in_shape)} is {n}, but size is {size}")
    if step <= 0:
        raise ArgumentError(f"unfold: step is {step} but must be > 0")
    if len(in_shape) == 0:        # one window of `size` (0 or 1) elements, as in PyTorch
        one = reshape(input, (1,))
        return one if size else getitem(one, slice(0, 0))
    ndim = len(in_shape)
    eye = [tuple(int(k == j) for k in range(ndim)) for j in range(ndim)]
    shape = list(in_shape)
    shape[d] = (n - size) // step + 1
    coeffs = list(eye)
    coeffs[d] = tuple(step if k == d else 0 for k in range(ndim))
    return strided(input, tuple(shape) + (size,), coeffs + [eye[d]], (0,) * ndim, in_shape)


def as_strided(input, size, stride, storage_offset=0):
    """A view reading ``input``'s elements at the offsets ``storage_offset + sum(i * stride)``.

    Offsets count elements of ``input`` in row-major order. For a contiguous tensor this is
    PyTorch's ``as_strided``; for a non-contiguous one tapegrad reads (a copy of) its
    elements in row-major order, where PyTorch reads the raw storage, and ``storage_offset``
    is relative to ``input``'s first element, where PyTorch's counts from the storage start.

    Gradient: the cotangent of each output element is added back into the input element it
    reads, so an element read by several outputs (overlapping windows, stride 0) receives
    the sum of their cotangents; elements never read get 0. Results whose elements may share
    memory are read-only.

    Args:
        input: the tensor.
        size: the output shape.
        stride: one non-negative stride per output dim, in elements.
        storage_offset: the offset of the first output element.

    Raises:
        ShapeError: an output element would read past the end of ``input``.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.arange(4.0, requires_grad=True)
        >>> y = tg.as_strided(x, (3, 2), (1, 1)); y.sum().backward()
        >>> y, x.grad
        (tensor([[0., 1.],
                [1., 2.],
                [2., 3.]], grad_fn=<StridedBackward0>), tensor([1., 2., 2., 1.]))
    """
    for name, vals in (("size", size), ("stride", stride)):
        if not isinstance(vals, (tuple, list)) or not all(is_int(v) for v in vals):
            raise TypeError(f"as_strided: {name} must be a sequence of ints, got {vals!r}")
    size, stride = tuple(int(v) for v in size), tuple(int(v) for v in stride)
    storage_offset = check_int(storage_offset, "storage_offset", "as_strided")
    if len(size) != len(stride):
        raise ShapeError(f"as_strided: size {size} and stride {stride} must have the same "
                         "length")
    if any(n < 0 for n in size):
        raise ArgumentError(f"as_strided: sizes must be non-negative, got {size}")
    if any(s < 0 for s in stride):
        raise ArgumentError(f"as_strided: negative strides are not supported, got {stride}; "
                            "use flip for a reversed order")
    if storage_offset < 0:
        raise ArgumentError(f"as_strided: storage_offset must be non-negative, got "
                            f"{storage_offset}")
    in_shape = shape_of(input)
    numel = int(np.prod(in_shape))
    last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
    if 0 not in size and last >= numel:
        raise ShapeError(
            f"as_strided: size {size}, stride {stride} and storage_offset {storage_offset} "
            f"reach element {last}, out of bounds for an input of {numel} elements (shape "
            f"{tuple(in_shape)}). Check the strides, which count elements, not bytes.")
    flat = reshape(input, (numel,))
    return strided(flat, size, [(s,) for s in stride], (storage_offset,), (numel,))


# ---- view(dtype) ------------------------------------------------------------------------------
def _view_dtype_vjp(ctx, g):
    raise GradError("view(dtype): reinterpreting bytes is not differentiable, so no gradient "
                    "can flow through it; use .to(dtype) for a differentiable conversion.")


# NOTE: not differentiable (as in PyTorch): results never require grad. It is still a view
# op, so a write through the result bumps the base's version counter.
VIEW_DTYPE = register(OpDef("view_dtype", lambda x, dtype: x.view(dtype), _view_dtype_vjp,
                            is_view=True))


def view_dtype(input, dtype):
    """``input``'s bytes reinterpreted as ``dtype`` (``Tensor.view(dtype)``), sharing memory.

    With an element size of the same width the shape is kept; otherwise the last dim scales
    (e.g. float32 -> float16 doubles it), which needs that dim to have stride 1 and, when
    growing the element, a size divisible by the ratio. The result never requires grad.

    Example:
        >>> import tapegrad as tg
        >>> tg.tensor([1.0, -2.0]).view(tg.int32)
        tensor([ 1065353216, -1073741824], dtype=tapegrad.int32)
        >>> tg.zeros(3, 2).view(tg.float16).shape
        tapegrad.Size([3, 4])
    """
    dt = dtypes.to_numpy_dtype(dtype)
    if not isinstance(input, Tensor):
        return np.asarray(input).view(dt)
    data = input._data
    old, new = data.dtype, dt
    if old.itemsize != new.itemsize:
        what = f"view {dtypes.from_numpy_dtype(old)} as {dtypes.from_numpy_dtype(new)} " \
               "(different element sizes)"
        if data.ndim == 0:
            raise ShapeError(f"view: a 0-d tensor can't {what}; reshape it to 1-d first")
        # an empty tensor has no bytes to misread (and NumPy may give it strides of 0)
        if data.size and data.shape[-1] != 1 and data.strides[-1] != old.itemsize:
            raise ShapeError(f"view: the last dim must have stride 1 to {what}, but it has "
                             f"stride {data.strides[-1] // old.itemsize}; call .contiguous()")
        ratio = new.itemsize // old.itemsize
        if ratio > 1 and data.shape[-1] % ratio:
            raise ShapeError(f"view: the last dim (size {data.shape[-1]}) must be divisible by "
                             f"{ratio} to {what}")
        if ratio > 1 and data.size and (data.ctypes.data % new.itemsize or any(
                st % new.itemsize for st, n in zip(data.strides[:-1], data.shape) if n > 1)):
            raise ShapeError(f"view: the tensor's start and strides (in elements, "
                             f"{tuple(st // old.itemsize for st in data.strides)}) must be "
                             f"multiples of {ratio} to {what}; call .clone() first")
    try:
        out = data.view(new)
    except ValueError as e:
        raise ShapeError(f"view: can't view a tensor of shape {tuple(data.shape)} as {dtype}: "
                         f"{e}. Call .contiguous() first.") from None
    result = wrap(out)
    _track_view(result, input, VIEW_DTYPE, {"dtype": new})
    if result._view is not None:
        # out of autograd, also after an in-place change of the base (refresh_view)
        result._view = result._view[:3] + (False,)
    return result
