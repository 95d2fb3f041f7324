"""Creating tensors: from data, filled, ranges and random. Defaults follow PyTorch: Python
floats give float32, ints int64; factories default to float32."""
import numbers

import numpy as np

from .._core import dtypes
from .._core.batched import vmap_randomness
from .._core.errors import ArgumentError, DTypeError
from .._core.state import STATE
from .._core.tensor import Tensor, wrap
from .shape import cast

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
        data = _untensor(data)               # tensors in lists: their values, no history
        try:
            # Convert straight to the dtype: going through float32 would round
            # tensor(0.1, dtype=float64).
            arr = np.asarray(data, dtype=np_dtype or _list_dtype(data))
        except ValueError as e:
            raise ArgumentError(f"tensor: can't build a tensor from this data ({e}); nested lists "
                                "must be rectangular") from None
        except OverflowError as e:
            raise ArgumentError(f"tensor: a value does not fit in any tapegrad dtype ({e})") \
                from None
        if arr.dtype.kind == "O" or arr.dtype.kind in "USV":
            raise DTypeError(f"tensor: can't convert data of type {type(data).__name__} to a "
                             "tensor: it holds non-numeric values, or integers outside int64")
    if np_dtype is not None and arr.dtype != np_dtype:
        arr = arr.astype(np_dtype)
    else:
        dtypes.from_numpy_dtype(arr.dtype)     # refuse dtypes tapegrad does not have
    return arr


_PY_DTYPES = {bool: np.dtype(np.bool_), int: np.dtype(np.int64), float: _F32}
_PY_SCALARS = set(_PY_DTYPES)


def _list_dtype(data):
    """PyTorch's dtype for a (nested) list: a Python float counts as float32, an int as
    int64, a bool as bool, a NumPy value as its own dtype; floating wins over integer wins
    over bool, and within a kind the widest wins. None (NumPy decides) for anything else."""
    if not isinstance(data, (list, tuple)):
        return _PY_DTYPES.get(type(data))           # a Python number (None: NumPy decides)
    floats, ints, bools = [], [], False
    leaves, stack = [], [data]
    while stack:                        # collect leaf dtypes; a list's types are seen at C speed
        d = stack.pop()
        types = set(map(type, d))
        if types <= _PY_SCALARS:
            leaves.extend(_PY_DTYPES[t] for t in types)
            continue
        for e in d:
            if isinstance(e, (list, tuple)):
                stack.append(e)
            else:
                leaves.append(_PY_DTYPES.get(type(e)) or getattr(e, "dtype", None))
    for dt in leaves:
        if dt is None:
            return None
        if dt.kind == "f":
            floats.append(dt)
        elif dt.kind in "iu":
            ints.append(dt)
        elif dt.kind == "b":
            bools = True
        else:
            return None
    if floats:
        return max(floats, key=lambda d: d.itemsize)
    if ints:
        return np.result_type(*ints)
    return np.dtype(np.bool_) if bools else _F32     # an empty list is float32, as in PyTorch


def _untensor(data):
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        if set(map(type, data)) <= _PY_SCALARS:
            return data                     # the common case, checked at C speed
        return [_untensor(d) for d in data]
    return data


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new leaf tensor holding a copy of ``data``.

    Dtype inference follows PyTorch: Python floats give float32, ints int64, bools bool;
    NumPy arrays and scalars keep their dtype. A tensor given as ``data`` is copied without
    its history, like ``data.detach().clone()``.

    Args:
        data: a number, a (nested, rectangular) list or tuple, an ndarray or a tensor.
        dtype: the result's dtype; inferred from ``data`` when None.
        device: ignored; tapegrad runs on the CPU only.
        requires_grad: make the result record the ops applied to it (floating dtypes only).

    Returns:
        A new tensor that shares no memory with ``data``.

    Example:
        >>> import tapegrad as tg
        >>> tg.tensor([1.0, 2.0]).dtype, tg.tensor([1, 2]).dtype
        (tapegrad.float32, tapegrad.int64)
        >>> tg.tensor([[1, 2]], dtype=tg.float64, requires_grad=True)
        tensor([[1., 2.]], dtype=tapegrad.float64, requires_grad=True)
    """
    arr = _infer(data, dtype)
    src = data._data if isinstance(data, Tensor) else data
    if isinstance(src, (np.ndarray, np.generic)) and np.may_share_memory(arr, src):
        arr = arr.copy()
    return _finish(arr, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Convert ``data`` to a tensor, copying only when needed.

    Like :func:`tensor`, but an ndarray whose dtype already fits is shared (writes to it show
    in the tensor), a tensor of the requested dtype is returned as is, and a tensor of
    another dtype is converted with its history kept (like ``data.to(dtype)``).

    Args:
        data: a number, a (nested) list, an ndarray or a tensor.
        dtype: the result's dtype; inferred from ``data`` when None.
        device: ignored; tapegrad runs on the CPU only.

    Returns:
        A tensor, possibly sharing memory with ``data``.

    Example:
        >>> import numpy as np, tapegrad as tg
        >>> a = np.array([1.0, 2.0]); t = tg.as_tensor(a); a[0] = 5.0
        >>> t
        tensor([5., 2.], dtype=tapegrad.float64)
    """
    if isinstance(data, Tensor):
        return data if dtype is None else cast(data, dtype)
    return wrap(_infer(data, dtype))


def from_numpy(ndarray):
    """A tensor that shares memory (and dtype) with an ndarray.

    Args:
        ndarray: a NumPy array of a dtype tapegrad has (float16/32/64, int8/16/32/64, uint8,
            bool).

    Returns:
        A tensor viewing ``ndarray``'s storage: changes on either side show on the other.

    Example:
        >>> import numpy as np, tapegrad as tg
        >>> a = np.zeros(2, dtype=np.int32); t = tg.from_numpy(a); t[0] = 7
        >>> a
        array([7, 0], dtype=int32)
    """
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected an np.ndarray, got {type(ndarray).__name__}")
    dtypes.from_numpy_dtype(ndarray.dtype)
    return wrap(ndarray)


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, numbers.Integral) or s < 0:
            raise ArgumentError(f"sizes must be non-negative integers, got {tuple(size)}")
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
    """A tensor of the given shape filled with zeros.

    Args:
        *size: the shape, as ints or as one tuple/list.
        dtype: the element type (default float32).
        device: ignored; tapegrad runs on the CPU only.
        requires_grad: make the result a leaf that records ops (floating dtypes only).

    Example:
        >>> import tapegrad as tg
        >>> tg.zeros(2, 3).shape, tg.zeros((2,), dtype=tg.int64)
        (tapegrad.Size([2, 3]), tensor([0, 0]))
    """
    return _finish(np.zeros(_size(size), dtype=_float_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of the given shape filled with ones.

    Args:
        *size: the shape, as ints or as one tuple/list.
        dtype: the element type (default float32).
        device: ignored; tapegrad runs on the CPU only.
        requires_grad: make the result a leaf that records ops (floating dtypes only).

    Example:
        >>> import tapegrad as tg
        >>> tg.ones(2, requires_grad=True)
        tensor([1., 1.], requires_grad=True)
    """
    return _finish(np.ones(_size(size), dtype=_float_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of the given shape with uninitialized (arbitrary) values.

    Args:
        *size: the shape, as ints or as one tuple/list.
        dtype: the element type (default float32).
        device: ignored; tapegrad runs on the CPU only.
        requires_grad: make the result a leaf that records ops (floating dtypes only).

    Example:
        >>> import tapegrad as tg
        >>> t = tg.empty(2, 3); t.shape, t.dtype
        (tapegrad.Size([2, 3]), tapegrad.float32)
    """
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
    """A tensor of the given shape filled with ``fill_value``.

    Args:
        size: the shape, an int or a tuple of ints.
        fill_value: a number (or one-element tensor). Without ``dtype`` the dtype follows it
            as in PyTorch: bool gives bool, int gives int64, float gives float32.
        dtype: the element type, overriding the inferred one.
        device: ignored; tapegrad runs on the CPU only.
        requires_grad: make the result a leaf that records ops (floating dtypes only).

    Example:
        >>> import tapegrad as tg
        >>> tg.full((2,), 7), tg.full((2,), 0.5)
        (tensor([7, 7]), tensor([0.5000, 0.5000]))
    """
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _finish(np.full(_size((size,) if isinstance(size, int) else size), fill_value,
                           dtype=_fill_dtype(fill_value, dtype)), requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Values from ``start`` (default 0) up to, but excluding, ``end``, spaced by ``step``.

    Called as ``arange(end)`` or ``arange(start, end, step=1)``.

    Args:
        start, end, step: the range bounds and spacing (``step`` may be negative, not 0).
        dtype: the element type; default int64 when all three are ints, else float32.
        device: ignored; tapegrad runs on the CPU only.
        requires_grad: make the result a leaf that records ops (floating dtypes only).

    Returns:
        A 1-d tensor with as many elements as PyTorch's ``arange`` gives.

    Example:
        >>> import tapegrad as tg
        >>> tg.arange(3), tg.arange(0, 1, 0.25)
        (tensor([0, 1, 2]), tensor([0.0000, 0.2500, 0.5000, 0.7500]))
        >>> tg.arange(5, 0, -2)
        tensor([5, 3, 1])
    """
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ArgumentError("arange: step must be nonzero")
    integral = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    dt = dtypes.to_numpy_dtype(dtype) or (np.dtype(np.int64) if integral else _F32)
    # Compute in float64 and convert, so float32 ranges have exactly PyTorch's length.
    arr = np.arange(start, end, step, dtype=np.int64 if integral else np.float64).astype(dt)
    return _finish(arr, requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end``, both included.

    Args:
        start, end: the first and last value.
        steps: how many values.
        dtype: the element type (default float32).
        device: ignored; tapegrad runs on the CPU only.
        requires_grad: make the result a leaf that records ops (floating dtypes only).

    Example:
        >>> import tapegrad as tg
        >>> tg.linspace(0, 1, 5)
        tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
    """
    if int(steps) < 0:
        raise ArgumentError(f"linspace: steps must be non-negative, got {steps}")
    return _finish(np.linspace(start, end, int(steps)).astype(_float_dtype(dtype)), requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    """A 2-d tensor with ones on the main diagonal and zeros elsewhere.

    Args:
        n: the number of rows.
        m: the number of columns (default ``n``).
        dtype: the element type (default float32).
        device: ignored; tapegrad runs on the CPU only.
        requires_grad: make the result a leaf that records ops (floating dtypes only).

    Example:
        >>> import tapegrad as tg
        >>> tg.eye(2, 3)
        tensor([[1., 0., 0.],
                [0., 1., 0.]])
    """
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


# ---- random ----------------------------------------------------------------------------------
class Generator:
    """A random number generator for the sampling functions (``rand``, ``randn``, ...).

    It wraps NumPy's PCG64: a seeded generator gives the same numbers on every run of
    tapegrad, but not the numbers PyTorch's generator gives for the same seed.

    Args:
        device: ignored; tapegrad runs on the CPU only.

    Example:
        >>> import tapegrad as tg
        >>> a = tg.rand(3, generator=tg.Generator().manual_seed(0))
        >>> b = tg.rand(3, generator=tg.Generator().manual_seed(0))
        >>> bool((a == b).all())
        True
    """

    def __init__(self, device="cpu"):
        self._seed = None      # drawn on first use: keeps numpy.random out of import time
        self._state = None

    @property
    def _rng(self):
        if STATE.vmap_levels:
            vmap_randomness()       # Note [Batched tensors]: vmap's randomness modes
        if self._state is None:
            if self._seed is None:
                self._seed = int(np.random.SeedSequence().entropy % (2 ** 63))
            self._state = np.random.Generator(np.random.PCG64(self._seed))
        return self._state

    def manual_seed(self, seed):
        """Restart the stream from ``seed`` (an int); returns the generator itself.

        Example:
            >>> import tapegrad as tg
            >>> tg.Generator().manual_seed(42).initial_seed()
            42
        """
        self._seed = int(seed)
        self._state = None
        return self

    def seed(self):
        """Restart the stream from a fresh nondeterministic seed; returns that seed.

        Example:
            >>> import tapegrad as tg
            >>> g = tg.Generator(); s = g.seed()
            >>> s == g.initial_seed()
            True
        """
        self._seed = None
        self._state = None
        return self.initial_seed()

    def initial_seed(self):
        """The seed the current stream started from (drawn from entropy if none was set).

        Example:
            >>> import tapegrad as tg
            >>> tg.Generator().manual_seed(7).initial_seed()
            7
        """
        self._rng
        return self._seed

    def get_state(self):
        """The generator's state as a uint8 tensor (PyTorch's ByteTensor), for ``set_state``.

        Example:
            >>> import tapegrad as tg
            >>> g = tg.Generator().manual_seed(0); s = g.get_state()
            >>> a = tg.rand(2, generator=g); b = tg.rand(2, generator=g.set_state(s))
            >>> s.dtype, bool((a == b).all())
            (tapegrad.uint8, True)
        """
        st = self._rng.bit_generator.state
        inner = st["state"]
        raw = (self._seed.to_bytes(8, "little") + inner["state"].to_bytes(16, "little")
               + inner["inc"].to_bytes(16, "little") + bytes([st["has_uint32"]])
               + int(st["uinteger"]).to_bytes(4, "little"))
        return _finish(np.frombuffer(raw, dtype=np.uint8).copy(), False)

    def set_state(self, new_state):
        """Restore a state from ``get_state`` (the seed too); returns the generator itself.

        Args:
            new_state: a uint8 tensor made by ``get_state`` (of this or any generator).

        Example:
            >>> import tapegrad as tg
            >>> g = tg.Generator().manual_seed(3); s = g.get_state(); _ = g.manual_seed(4)
            >>> g.set_state(s).initial_seed()
            3
        """
        raw = _state_bytes(new_state, "Generator.set_state")
        seed = int.from_bytes(raw[:8], "little")
        bits = np.random.PCG64(seed)
        bits.state = {"bit_generator": "PCG64",
                      "state": {"state": int.from_bytes(raw[8:24], "little"),
                                "inc": int.from_bytes(raw[24:40], "little")},
                      "has_uint32": raw[40], "uinteger": int.from_bytes(raw[41:45], "little")}
        self._seed, self._state = seed, np.random.Generator(bits)
        return self


# Generator state layout (little-endian): seed (8 bytes), PCG64 state (16) and increment
# (16), whether a 32-bit half is buffered (1) and that half (4).
_STATE_SIZE = 45


def _state_bytes(state, caller):
    """The bytes of a ``get_state`` tensor, checked."""
    if not isinstance(state, Tensor) or state._data.dtype != np.uint8:
        what = (f"a tensor of dtype {state.dtype}" if isinstance(state, Tensor)
                else type(state).__name__)
        raise DTypeError(f"{caller}: the RNG state must be a uint8 tensor (as get_state "
                         f"returns), got {what}.")
    if state._data.shape != (_STATE_SIZE,) or state._data[40] > 1:
        raise ArgumentError(
            f"{caller}: expected an RNG state of shape ({_STATE_SIZE},) as get_state returns, "
            f"got shape {tuple(state._data.shape)}; pass a state saved by get_state() or "
            "tapegrad.get_rng_state().")
    return state._data.tobytes()


# NOTE: like torch.default_generator, one process-wide generator (not a mode, so it does not
# live in the thread-local state).
default_generator = Generator()


def manual_seed(seed):
    """Seed the default generator, making later sampling calls reproducible.

    Args:
        seed: an int.

    Returns:
        The default generator (``tapegrad.default_generator``). Streams do not match
        PyTorch's for the same seed.

    Example:
        >>> import tapegrad as tg
        >>> _ = tg.manual_seed(0); a = tg.randn(3)
        >>> _ = tg.manual_seed(0); b = tg.randn(3)
        >>> bool((a == b).all())
        True
    """
    return default_generator.manual_seed(seed)


def seed():
    """Seed the default generator from fresh entropy.

    Returns:
        The new seed, an int.

    Example:
        >>> import tapegrad as tg
        >>> s = tg.seed(); s == tg.initial_seed()
        True
    """
    return default_generator.seed()


def initial_seed():
    """The seed the default generator's current stream started from.

    Example:
        >>> import tapegrad as tg
        >>> _ = tg.manual_seed(3); tg.initial_seed()
        3
    """
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state as a uint8 tensor (see :meth:`Generator.get_state`).

    Example:
        >>> import tapegrad as tg
        >>> s = tg.get_rng_state(); a = tg.rand(2)
        >>> tg.set_rng_state(s); bool((tg.rand(2) == a).all())
        True
    """
    return default_generator.get_state()


def set_rng_state(new_state):
    """Restore the default generator's state from :func:`get_rng_state`.

    Args:
        new_state: a uint8 tensor made by ``get_rng_state`` (or ``Generator.get_state``).

    Example:
        >>> import tapegrad as tg
        >>> s = tg.get_rng_state(); a = tg.randn(3)
        >>> tg.set_rng_state(s); bool((tg.randn(3) == a).all())
        True
    """
    default_generator.set_state(new_state)


def _rng(generator):
    return (generator or default_generator)._rng


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Samples from the uniform distribution on [0, 1).

    Args:
        *size: the shape, as ints or as one tuple/list.
        generator: the :class:`Generator` to draw from (default: the default generator).
        dtype: a floating element type (default float32).
        device: ignored; tapegrad runs on the CPU only.
        requires_grad: make the result a leaf that records ops.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.rand(2, 3); x.shape, x.dtype, bool(((x >= 0) & (x < 1)).all())
        (tapegrad.Size([2, 3]), tapegrad.float32, True)
    """
    dt = _random_float_dtype(dtype, "rand")
    return _finish(_rng(generator).random(_size(size)).astype(dt), requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Samples from the standard normal distribution (mean 0, variance 1).

    Args:
        *size: the shape, as ints or as one tuple/list.
        generator: the :class:`Generator` to draw from (default: the default generator).
        dtype: a floating element type (default float32).
        device: ignored; tapegrad runs on the CPU only.
        requires_grad: make the result a leaf that records ops.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.randn(4, dtype=tg.float64); x.shape, x.dtype
        (tapegrad.Size([4]), tapegrad.float64)
    """
    dt = _random_float_dtype(dtype, "randn")
    return _finish(_rng(generator).standard_normal(_size(size)).astype(dt), requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False):
    """Integers drawn uniformly from [``low``, ``high``).

    Called as ``randint(high, size)`` or ``randint(low, high, size)``.

    Args:
        low: the smallest value (default 0).
        high: one past the largest value.
        size: the shape, an int or a tuple.
        generator: the :class:`Generator` to draw from (default: the default generator).
        dtype: the element type (default int64).
        device: ignored; tapegrad runs on the CPU only.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.randint(3, 10, (2, 2)); x.dtype, bool(((x >= 3) & (x < 10)).all())
        (tapegrad.int64, True)
    """
    if size is None:
        if high is None:
            raise TypeError("randint: missing size, e.g. randint(0, 10, (3,))")
        low, high, size = 0, low, high
    elif high is None:
        raise TypeError("randint: missing high")
    dt = dtypes.to_numpy_dtype(dtype) or np.dtype(np.int64)
    if low >= high:
        raise ArgumentError(f"randint: low ({low}) must be less than high ({high})")
    arr = _rng(generator).integers(low, high, size=_size((size,) if isinstance(size, int)
                                                          else size)).astype(dt)
    return _finish(arr, requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, requires_grad=False):
    """Samples from normal distributions with the given means and standard deviations.

    ``mean`` and ``std`` may be numbers (then give ``size``) or tensors, which broadcast
    and set the shape. The samples are not recorded: PyTorch records them with zero
    gradients for ``mean``/``std``, tapegrad leaves them out of the graph.

    Args:
        mean, std: numbers or tensors.
        size: the shape when both are numbers.
        generator: the :class:`Generator` to draw from (default: the default generator).
        dtype: the element type (default: that of a tensor argument, else float32).
        requires_grad: make the result a leaf that records ops.

    Example:
        >>> import tapegrad as tg
        >>> tg.normal(0.0, 1.0, (2, 3)).shape, tg.normal(tg.zeros(4), 2.0).shape
        (tapegrad.Size([2, 3]), tapegrad.Size([4]))
    """
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
    """Zeros with the shape and dtype of ``input``.

    Args:
        input: the tensor whose shape (and, without ``dtype``, dtype) to copy.
        dtype: the element type, overriding ``input``'s.
        device: ignored; tapegrad runs on the CPU only.
        requires_grad: make the result a leaf that records ops (floating dtypes only).

    Example:
        >>> import tapegrad as tg
        >>> tg.zeros_like(tg.tensor([1, 2]))
        tensor([0, 0])
    """
    return zeros(tuple(input.shape), dtype=dtype or input.dtype, requires_grad=requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False):
    """Ones with the shape and dtype of ``input``.

    Args:
        input: the tensor whose shape (and, without ``dtype``, dtype) to copy.
        dtype: the element type, overriding ``input``'s.
        device: ignored; tapegrad runs on the CPU only.
        requires_grad: make the result a leaf that records ops (floating dtypes only).

    Example:
        >>> import tapegrad as tg
        >>> tg.ones_like(tg.tensor([[1.5, 2.0]]))
        tensor([[1., 1.]])
    """
    return ones(tuple(input.shape), dtype=dtype or input.dtype, requires_grad=requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False):
    """An uninitialized tensor with the shape and dtype of ``input``.

    Args:
        input: the tensor whose shape (and, without ``dtype``, dtype) to copy.
        dtype: the element type, overriding ``input``'s.
        device: ignored; tapegrad runs on the CPU only.
        requires_grad: make the result a leaf that records ops (floating dtypes only).

    Example:
        >>> import tapegrad as tg
        >>> tg.empty_like(tg.eye(2)).shape
        tapegrad.Size([2, 2])
    """
    return empty(tuple(input.shape), dtype=dtype or input.dtype, requires_grad=requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False):
    """A tensor shaped like ``input`` filled with ``fill_value``, in ``input``'s dtype by default.

    Args:
        input: the tensor whose shape (and, without ``dtype``, dtype) to copy.
        fill_value: the value; converted to the dtype (3.7 becomes 3 for an int tensor).
        dtype: the element type, overriding ``input``'s.
        device: ignored; tapegrad runs on the CPU only.
        requires_grad: make the result a leaf that records ops (floating dtypes only).

    Example:
        >>> import tapegrad as tg
        >>> tg.full_like(tg.tensor([1, 2]), 3.7), tg.full_like(tg.zeros(2), 3.7)
        (tensor([3, 3]), tensor([3.7000, 3.7000]))
    """
    return full(tuple(input.shape), fill_value, dtype=dtype or input.dtype,
                requires_grad=requires_grad)


def rand_like(input, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1) with the shape and dtype of ``input``.

    Args:
        input: a floating tensor whose shape (and, without ``dtype``, dtype) to copy.
        generator: the :class:`Generator` to draw from (default: the default generator).
        dtype: a floating element type, overriding ``input``'s.
        device: ignored; tapegrad runs on the CPU only.
        requires_grad: make the result a leaf that records ops.

    Example:
        >>> import tapegrad as tg
        >>> tg.rand_like(tg.zeros(2, dtype=tg.float64)).dtype
        tapegrad.float64
    """
    return rand(tuple(input.shape), generator=generator, dtype=dtype or input.dtype,
                requires_grad=requires_grad)


def randn_like(input, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples with the shape and dtype of ``input``.

    Args:
        input: a floating tensor whose shape (and, without ``dtype``, dtype) to copy.
        generator: the :class:`Generator` to draw from (default: the default generator).
        dtype: a floating element type, overriding ``input``'s.
        device: ignored; tapegrad runs on the CPU only.
        requires_grad: make the result a leaf that records ops.

    Example:
        >>> import tapegrad as tg
        >>> tg.randn_like(tg.zeros(2, 3)).shape
        tapegrad.Size([2, 3])
    """
    return randn(tuple(input.shape), generator=generator, dtype=dtype or input.dtype,
                 requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None):
    """Integers uniform in [``low``, ``high``) with the shape and dtype of ``input``.

    Called as ``randint_like(input, high)`` or ``randint_like(input, low, high)``.

    Args:
        input: the tensor whose shape (and, without ``dtype``, dtype) to copy.
        low, high: the range; ``high`` is excluded.
        generator: the :class:`Generator` to draw from (default: the default generator).
        dtype: the element type, overriding ``input``'s.
        device: ignored; tapegrad runs on the CPU only.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.randint_like(tg.zeros(3, dtype=tg.int64), 5, 10); x.dtype, x.shape
        (tapegrad.int64, tapegrad.Size([3]))
    """
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), generator=generator,
                   dtype=dtype or input.dtype)
