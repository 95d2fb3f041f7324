"""Creating tensors: from data, filled, ranges and random. Defaults follow PyTorch: Python
floats give float32, ints int64; factories default to float32."""
import numbers

import numpy as np

from .._core import dtypes
from .._core.errors import DTypeError
from .._core.tensor import Tensor, wrap

_F32 = np.dtype(np.float32)


def _finish(arr, requires_grad):
    t = wrap(arr)
    if requires_grad:
        t.requires_grad = True     # the setter refuses non-floating dtypes with a clear error
    return t


def _infer(data, dtype):
    """An ndarray from Python/NumPy data with PyTorch's dtype inference."""
    np_dtype = dtypes.to_numpy_dtype(dtype)
    if isinstance(data, Tensor):
        arr = data._data
    elif isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data)
    else:
        try:
            arr = np.asarray(data)
        except ValueError as e:
            raise ValueError(f"tensor: can't build a tensor from this data ({e}); nested lists "
                             "must be rectangular") from None
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)    # Python floats are float32 in PyTorch
        elif arr.dtype.kind == "O" or arr.dtype.kind in "USV":
            raise DTypeError(f"tensor: can't convert data of type {type(data).__name__} "
                             "(it holds non-numeric values) to a tensor")
    if np_dtype is not None and arr.dtype != np_dtype:
        arr = arr.astype(np_dtype)
    else:
        dtypes.from_numpy_dtype(arr.dtype)     # refuse dtypes tapegrad does not have
    return arr


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (a number, nested lists, an array or a tensor).

    Example:
        >>> import tapegrad as tg
        >>> tg.tensor([1.0, 2.0]).dtype, tg.tensor([1, 2]).dtype
        (tapegrad.float32, tapegrad.int64)
    """
    arr = _infer(data, dtype)
    if np.may_share_memory(arr, data if not isinstance(data, Tensor) else data._data):
        arr = arr.copy()
    return _finish(arr, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but shares memory with an ndarray (or returns the tensor itself) when
    no conversion is needed."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype):
        return data
    return wrap(_infer(data, dtype))


def from_numpy(ndarray):
    """A tensor sharing memory with ``ndarray`` (same dtype)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected an np.ndarray, got {type(ndarray).__name__}")
    dtypes.from_numpy_dtype(ndarray.dtype)
    return wrap(ndarray)


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, numbers.Integral) or s < 0:
            raise ValueError(f"sizes must be non-negative integers, got {tuple(size)}")
    return tuple(int(s) for s in size)


def _float_dtype(dtype):
    return _F32 if dtype is None else dtypes.to_numpy_dtype(dtype)


def _random_float_dtype(dtype, name):
    dt = _float_dtype(dtype)
    if dt.kind != "f":
        raise DTypeError(f"{name}: samples are floating point; dtype {dt} is not (use randint "
                         "for integers)")
    return dt


def zeros(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros (float32 unless ``dtype`` says otherwise)."""
    return _finish(np.zeros(_size(size), dtype=_float_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of ones (float32 unless ``dtype`` says otherwise)."""
    return _finish(np.ones(_size(size), dtype=_float_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    """An uninitialized tensor."""
    return _finish(np.empty(_size(size), dtype=_float_dtype(dtype)), requires_grad)


def _fill_dtype(value, dtype):
    if dtype is not None:
        return dtypes.to_numpy_dtype(dtype)
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(value, numbers.Integral):
        return np.dtype(np.int64)
    return _F32


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """A tensor filled with ``fill_value``; dtype inferred from it as in PyTorch."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _finish(np.full(_size((size,) if isinstance(size, int) else size), fill_value,
                           dtype=_fill_dtype(fill_value, dtype)), requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Values from start (default 0) up to but excluding end, by step.

    Example:
        >>> import tapegrad as tg
        >>> tg.arange(3), tg.arange(0, 1, 0.25)
        (tensor([0, 1, 2]), tensor([0.0000, 0.2500, 0.5000, 0.7500]))
    """
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    integral = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    dt = dtypes.to_numpy_dtype(dtype) or (np.dtype(np.int64) if integral else _F32)
    # Compute in float64 and convert, so float32 ranges have exactly PyTorch's length.
    arr = np.arange(start, end, step, dtype=np.int64 if integral else np.float64).astype(dt)
    return _finish(arr, requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from start to end inclusive."""
    return _finish(np.linspace(start, end, int(steps)).astype(_float_dtype(dtype)), requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    """A 2-d tensor with ones on the diagonal."""
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


# ---- random ----------------------------------------------------------------------------------
class Generator:
    """A random number generator (NumPy's PCG64). Seeded streams are reproducible within
    tapegrad; they do not reproduce PyTorch's numbers.

    Example:
        >>> import tapegrad as tg
        >>> g = tg.Generator().manual_seed(0)
        >>> bool((tg.rand(3, generator=g) == tg.rand(3, generator=tg.Generator().manual_seed(0))).all())
        True
    """

    def __init__(self, device="cpu"):
        self._seed = None      # drawn on first use: keeps numpy.random out of import time
        self._state = None

    @property
    def _rng(self):
        if self._state is None:
            if self._seed is None:
                self._seed = int(np.random.SeedSequence().entropy % (2 ** 63))
            self._state = np.random.Generator(np.random.PCG64(self._seed))
        return self._state

    def manual_seed(self, seed):
        self._seed = int(seed)
        self._state = None
        return self

    def seed(self):
        self._seed = None
        self._state = None
        return self.initial_seed()

    def initial_seed(self):
        self._rng
        return self._seed


# NOTE: like torch.default_generator, one process-wide generator (not a mode, so it does not
# live in the thread-local state).
default_generator = Generator()


def manual_seed(seed):
    """Seed the default generator; returns it."""
    return default_generator.manual_seed(seed)


def seed():
    """Seed the default generator from fresh entropy; returns the seed."""
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def _rng(generator):
    return (generator or default_generator)._rng


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1)."""
    dt = _random_float_dtype(dtype, "rand")
    return _finish(_rng(generator).random(_size(size)).astype(dt), requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples."""
    dt = _random_float_dtype(dtype, "randn")
    return _finish(_rng(generator).standard_normal(_size(size)).astype(dt), requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False):
    """Integers uniform in [low, high); called as randint(high, size) or randint(low, high, size)."""
    if size is None:
        if high is None:
            raise TypeError("randint: missing size, e.g. randint(0, 10, (3,))")
        low, high, size = 0, low, high
    elif high is None:
        raise TypeError("randint: missing high")
    dt = dtypes.to_numpy_dtype(dtype) or np.dtype(np.int64)
    arr = _rng(generator).integers(low, high, size=_size((size,) if isinstance(size, int)
                                                          else size)).astype(dt)
    return _finish(arr, requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, requires_grad=False):
    """Normal samples; ``mean``/``std`` may be numbers (give ``size``) or tensors (broadcast)."""
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    if size is None:
        size = np.broadcast_shapes(np.shape(m), np.shape(s))
    elif isinstance(size, int):
        size = (size,)
    ref = m if isinstance(m, np.ndarray) else (s if isinstance(s, np.ndarray) else None)
    dt = dtypes.to_numpy_dtype(dtype) or (ref.dtype if ref is not None else _F32)
    arr = (m + s * _rng(generator).standard_normal(tuple(size))).astype(dt)
    return _finish(arr, requires_grad)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False):
    """Zeros with input's shape and dtype."""
    return zeros(tuple(input.shape), dtype=dtype or input.dtype, requires_grad=requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False):
    """Ones with input's shape and dtype."""
    return ones(tuple(input.shape), dtype=dtype or input.dtype, requires_grad=requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False):
    return empty(tuple(input.shape), dtype=dtype or input.dtype, requires_grad=requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False):
    return full(tuple(input.shape), fill_value, dtype=dtype or input.dtype,
                requires_grad=requires_grad)


def rand_like(input, *, generator=None, dtype=None, device=None, requires_grad=False):
    return rand(tuple(input.shape), generator=generator, dtype=dtype or input.dtype,
                requires_grad=requires_grad)


def randn_like(input, *, generator=None, dtype=None, device=None, requires_grad=False):
    return randn(tuple(input.shape), generator=generator, dtype=dtype or input.dtype,
                 requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None):
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), generator=generator,
                   dtype=dtype or input.dtype)
