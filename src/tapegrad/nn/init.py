"""Initialising parameters in place, as PyTorch's torch.nn.init.

Every function fills a tensor's storage in place and returns the tensor. The values are
computed with NumPy and written straight into the storage, so nothing is recorded (as under
``no_grad``: a leaf that requires grad can be initialised) and the tensor's version counter
moves on as after any in-place op. The random ones take ``generator=`` (a
:class:`tapegrad.Generator`; the default generator when None), so ``tapegrad.manual_seed``
makes them reproducible. The distributions are PyTorch's; the numbers drawn are not.
"""
import math
import numbers
import warnings

import numpy as np

from .._core.errors import ArgumentError, DTypeError, ShapeError
from .._core.tensor import Tensor
from ..ops.creation import _rng

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_", "sparse_"]

_LINEAR = frozenset(("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                     "conv_transpose2d", "conv_transpose3d", "sigmoid"))


def _check_tensor(tensor, name):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init.{name}: expected a Tensor, got {type(tensor).__name__}")


def _write(tensor, values, name):
    """Write ``values`` (an array or number broadcastable to the tensor) into its storage.

    # NOTE: the direct write is what ``tensor[...] = values`` does under no_grad (the
    # setitem fast path): no node, and one version bump, so a graph that saved the old
    # values refuses to use them in backward.
    """
    arr = tensor._data
    if not arr.flags.writeable:
        raise ShapeError(
            f"nn.init.{name}: this tensor (shape {tuple(arr.shape)}) is an expanded or "
            "read-only view in which several elements share one memory location; initialise "
            "a .clone() of it instead.")
    arr[...] = values
    tensor._bump()
    return tensor


def _floating(tensor, name):
    """The tensor's NumPy dtype, refusing integer and bool tensors (random draws are floats)."""
    _check_tensor(tensor, name)
    dt = tensor._data.dtype
    if dt.kind != "f":
        raise DTypeError(f"nn.init.{name}: random values are floating point, but the tensor "
                         f"has dtype {tensor.dtype}; convert it first (t.float())")
    return dt


def _draw_dtype(tensor):
    """The dtype to draw samples in: the tensor's own, so a float32 weight costs no float64
    temporary (NumPy draws float32 and float64; float16 draws float32)."""
    return np.float64 if tensor._data.dtype == np.float64 else np.float32


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity, as PyTorch gives it.

    The gain scales the standard deviation of the xavier/kaiming initialisations: 1 for
    linear, convolution (``conv1d`` ... ``conv_transpose3d``) and ``sigmoid``; 5/3 for ``tanh``;
    sqrt(2) for ``relu``; sqrt(2 / (1 + negative_slope^2)) for ``leaky_relu``; 3/4 for ``selu``.

    Args:
        nonlinearity: the function's name as in nn.functional, e.g. ``"relu"``.
        param: ``leaky_relu``'s negative slope (default 0.01); ignored by the others.

    Returns:
        The gain, a Python number.

    Example:
        >>> from tapegrad.nn import init
        >>> init.calculate_gain("tanh"), init.calculate_gain("leaky_relu", 1.0)
        (1.6666666666666667, 1.0)
    """
    if nonlinearity in _LINEAR:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, (bool, np.bool_)):
            slope = param
        else:
            # PyTorch's message, so code matching on it keeps working
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill ``tensor`` with samples from the uniform distribution U(a, b).

    Args:
        tensor: a floating tensor of any shape.
        a, b: the bounds (``a <= b``).
        generator: the :class:`tapegrad.Generator` to draw from (default: the default one).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn import init
        >>> w = init.uniform_(tg.empty(4, 5), -0.1, 0.1)
        >>> bool(((w >= -0.1) & (w <= 0.1)).all())
        True
    """
    _floating(tensor, "uniform_")
    if a > b:
        raise ArgumentError(f"nn.init.uniform_: expects a range [a, b), but got a={a} > b={b}")
    values = _rng(generator).random(tensor._data.shape, dtype=_draw_dtype(tensor))
    values *= b - a
    values += a
    return _write(tensor, values, "uniform_")


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill ``tensor`` with samples from the normal distribution N(mean, std^2).

    Args:
        tensor: a floating tensor of any shape.
        mean: the mean.
        std: the standard deviation (non-negative).
        generator: the :class:`tapegrad.Generator` to draw from (default: the default one).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn import init
        >>> w = init.normal_(tg.empty(100, 100), 3.0, 0.5)
        >>> round(w.mean().item()), round(w.std().item(), 1)
        (3, 0.5)
    """
    _floating(tensor, "normal_")
    if std < 0:
        raise ArgumentError(f"nn.init.normal_: expects std >= 0.0, but got std={std}")
    values = _rng(generator).standard_normal(tensor._data.shape, dtype=_draw_dtype(tensor))
    values *= std
    values += mean
    return _write(tensor, values, "normal_")


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill ``tensor`` with samples from N(mean, std^2) truncated to [a, b].

    Values are drawn by inverting the normal CDF on the mass between ``a`` and ``b`` (in log
    space, so an interval far in a tail works too), so every draw lands in the interval and
    no redraw loop is needed.

    Args:
        tensor: a floating tensor of any shape.
        mean, std: the mean and standard deviation of the normal before truncation.
        a, b: the interval's bounds, absolute values (not in units of ``std``).
        generator: the :class:`tapegrad.Generator` to draw from (default: the default one).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn import init
        >>> w = init.trunc_normal_(tg.empty(50, 50), std=1.0, a=-0.5, b=0.5)
        >>> bool((w.abs() <= 0.5).all())
        True
    """
    _floating(tensor, "trunc_normal_")
    if a > b:
        raise ArgumentError(f"nn.init.trunc_normal_: expects a range [a, b], but got a={a} > "
                            f"b={b}")
    if std < 0:
        raise ArgumentError(f"nn.init.trunc_normal_: expects std >= 0.0, but got std={std}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    shape = tensor._data.shape
    if std == 0:
        return _write(tensor, min(max(mean, a), b), "trunc_normal_")
    # late: keeps SciPy out of tapegrad's import time
    from scipy.special import log_ndtr, ndtr, ndtri, ndtri_exp
    lo, hi = (a - mean) / std, (b - mean) / std
    # NOTE: the CDF rounds to 1 a few std above the mean, so an interval there would collapse
    # onto one bound: an interval lying mostly above the mean is mirrored below it, where the
    # CDF keeps full relative precision. Only beyond about 37 std below does it underflow;
    # there (rare, and slower) p = (1 - u) CDF(lo) + u CDF(hi) is formed as a log-sum-exp.
    flip = lo + hi > 0
    if flip:
        lo, hi = -hi, -lo
    u = _rng(generator).random(shape)
    if hi > -30.0:
        p_lo, p_hi = ndtr(lo), ndtr(hi)
        z = ndtri(p_lo + u * (p_hi - p_lo))
    else:
        with np.errstate(divide="ignore"):      # log(0) = -inf is the right limit at u = 0
            z = ndtri_exp(np.logaddexp(log_ndtr(lo) + np.log1p(-u), log_ndtr(hi) + np.log(u)))
    if flip:
        z = -z
    # The clip keeps draws at the bounds inside [a, b] after float32 rounding.
    return _write(tensor, np.clip(mean + std * z, a, b), "trunc_normal_")


def constant_(tensor, val):
    """Fill ``tensor`` with the value ``val``.

    Args:
        tensor: a tensor of any shape and dtype (an int tensor truncates ``val``).
        val: a number or one-element tensor.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn import init
        >>> init.constant_(tg.empty(3), 0.5)
        tensor([0.5000, 0.5000, 0.5000])
    """
    _check_tensor(tensor, "constant_")
    if isinstance(val, Tensor):
        if val._data.size != 1:
            raise ArgumentError(f"nn.init.constant_: val must be a number or a one-element "
                                f"tensor, got a tensor of shape {tuple(val.shape)}")
        val = val._data.item()
    return _write(tensor, val, "constant_")


def ones_(tensor):
    """Fill ``tensor`` with ones.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn import init
        >>> init.ones_(tg.empty(2, 2))
        tensor([[1., 1.],
                [1., 1.]])
    """
    _check_tensor(tensor, "ones_")
    return _write(tensor, 1, "ones_")


def zeros_(tensor):
    """Fill ``tensor`` with zeros.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn import init
        >>> init.zeros_(tg.empty(3))
        tensor([0., 0., 0.])
    """
    _check_tensor(tensor, "zeros_")
    return _write(tensor, 0, "zeros_")


def eye_(tensor):
    """Fill a 2-d ``tensor`` with the identity matrix (ones on the main diagonal).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn import init
        >>> init.eye_(tg.empty(2, 3))
        tensor([[1., 0., 0.],
                [0., 1., 0.]])
    """
    _check_tensor(tensor, "eye_")
    if tensor._data.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _write(tensor, np.eye(*tensor._data.shape), "eye_")


def dirac_(tensor, groups=1):
    """Fill a 3-, 4- or 5-d convolution weight with the Dirac delta: the identity map.

    In each of the ``groups`` blocks of output channels, output channel ``d`` passes input
    channel ``d`` through at the kernel's centre, for as many channels as both sides have.

    Args:
        tensor: a weight of shape (out_channels, in_channels, *kernel), 1 to 3 kernel dims.
        groups: the number of groups of the convolution (divides out_channels).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn import init
        >>> init.dirac_(tg.empty(2, 2, 3))
        tensor([[[0., 1., 0.],
                 [0., 0., 0.]],
        <BLANKLINE>
                [[0., 0., 0.],
                 [0., 1., 0.]]])
    """
    _check_tensor(tensor, "dirac_")
    shape = tensor._data.shape
    if len(shape) not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    if shape[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = shape[0] // groups
    n = min(per_group, shape[1])
    values = np.zeros(shape, dtype=tensor._data.dtype)
    centre = tuple(s // 2 for s in shape[2:])
    d = np.arange(n)
    for g in range(groups):
        values[(g * per_group + d, d) + centre] = 1
    return _write(tensor, values, "dirac_")


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight shaped (out, in, *kernel): in * k and out * k, where k
    is the kernel's number of elements (1 for a matrix). PyTorch's private helper, which
    layers use in ``reset_parameters``.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn import init
        >>> init._calculate_fan_in_and_fan_out(tg.empty(8, 3, 5, 5))
        (75, 200)
    """
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         "dimensions")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _uniform_with_std_(tensor, std, generator):
    """Fill with U(-b, b), b = sqrt(3) std: the uniform of standard deviation ``std``; a
    ``std`` of None (nothing to fill) leaves the tensor as it is."""
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def _normal_with_std_(tensor, std, generator):
    """Fill with N(0, std^2); a ``std`` of None (nothing to fill) leaves the tensor as is."""
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def _xavier_std(tensor, gain, name):
    _floating(tensor, name)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if fan_in + fan_out == 0:
        return None          # no elements: nothing to fill (PyTorch divides by zero here)
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot initialisation: U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out)).

    Args:
        tensor: a floating tensor with at least 2 dims, shaped (out, in, *kernel).
        gain: a scaling factor (see :func:`calculate_gain`).
        generator: the :class:`tapegrad.Generator` to draw from (default: the default one).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn import init
        >>> w = init.xavier_uniform_(tg.empty(3, 5))
        >>> bool((w.abs() <= 0.5 ** 0.5 * 6 ** 0.5 / 2).all())
        True
    """
    std = _xavier_std(tensor, gain, "xavier_uniform_")
    return _uniform_with_std_(tensor, std, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot initialisation: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).

    Args:
        tensor: a floating tensor with at least 2 dims, shaped (out, in, *kernel).
        gain: a scaling factor (see :func:`calculate_gain`).
        generator: the :class:`tapegrad.Generator` to draw from (default: the default one).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn import init
        >>> w = init.xavier_normal_(tg.empty(200, 300))
        >>> round(w.std().item(), 2)     # sqrt(2 / 500)
        0.06
    """
    std = _xavier_std(tensor, gain, "xavier_normal_")
    return _normal_with_std_(tensor, std, generator)


def _kaiming_std(tensor, a, mode, nonlinearity, name):
    _floating(tensor, name)
    if 0 in tensor._data.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He initialisation: U(-bound, bound), bound = gain * sqrt(3 / fan).

    Args:
        tensor: a floating tensor with at least 2 dims, shaped (out, in, *kernel).
        a: the negative slope of the rectifier that follows (for ``leaky_relu``).
        mode: ``"fan_in"`` (keeps the forward pass's variance) or ``"fan_out"`` (the
            backward pass's).
        nonlinearity: the nn.functional name, ``"relu"`` or ``"leaky_relu"`` recommended.
        generator: the :class:`tapegrad.Generator` to draw from (default: the default one).

    Example:
        >>> import tapegrad as tg, math
        >>> from tapegrad.nn import init
        >>> w = init.kaiming_uniform_(tg.empty(4, 6), a=math.sqrt(5))   # Linear's default
        >>> bool((w.abs() <= 1 / math.sqrt(6)).all())
        True
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    return _uniform_with_std_(tensor, std, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He initialisation: N(0, std^2), std = gain / sqrt(fan).

    Args:
        tensor: a floating tensor with at least 2 dims, shaped (out, in, *kernel).
        a: the negative slope of the rectifier that follows (for ``leaky_relu``).
        mode: ``"fan_in"`` (keeps the forward pass's variance) or ``"fan_out"`` (the
            backward pass's).
        nonlinearity: the nn.functional name, ``"relu"`` or ``"leaky_relu"`` recommended.
        generator: the :class:`tapegrad.Generator` to draw from (default: the default one).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn import init
        >>> w = init.kaiming_normal_(tg.empty(300, 200), mode="fan_out", nonlinearity="relu")
        >>> round(w.std().item(), 2)     # sqrt(2 / 300)
        0.08
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_")
    return _normal_with_std_(tensor, std, generator)


def orthogonal_(tensor, gain=1, generator=None):
    """Fill ``tensor`` with a (semi-)orthogonal matrix, uniformly (Haar) distributed.

    The tensor is seen as a matrix of shape (size(0), numel / size(0)); its rows are
    orthonormal when it is wide, its columns when it is tall. Then it is scaled by ``gain``.

    Args:
        tensor: a floating tensor with at least 2 dims.
        gain: the scaling factor.
        generator: the :class:`tapegrad.Generator` to draw from (default: the default one).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn import init
        >>> q = init.orthogonal_(tg.empty(3, 5, dtype=tg.float64))
        >>> bool(tg.allclose(q @ q.T, tg.eye(3, dtype=tg.float64)))
        True
    """
    _floating(tensor, "orthogonal_")
    shape = tensor._data.shape
    if len(shape) < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor._data.size == 0:
        return tensor
    rows = shape[0]
    cols = tensor._data.size // rows
    m = _rng(generator).standard_normal((rows, cols))
    wide = rows < cols
    if wide:
        m = m.T
    q, r = np.linalg.qr(m)
    # Fixing the signs of R's diagonal makes Q Haar-distributed (Mezzadri 2007); plain QR
    # would favour some orientations.
    q *= np.sign(np.diagonal(r))
    if wide:
        q = q.T
    return _write(tensor, (q * gain).reshape(shape), "orthogonal_")


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Fill a 2-d ``tensor`` as a sparse matrix: N(0, std^2) values, with
    ceil(sparsity * rows) entries of each column set to zero (Martens, 2010).

    Args:
        tensor: a floating 2-d tensor.
        sparsity: the fraction of each column's entries to zero, in [0, 1].
        std: the standard deviation of the nonzero values.
        generator: the :class:`tapegrad.Generator` to draw from, for the values and for
            which entries are zeroed (default: the default one).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn import init
        >>> w = init.sparse_(tg.empty(10, 4), sparsity=0.3)
        >>> (w == 0).sum(0).tolist()
        [3, 3, 3, 3]
    """
    _floating(tensor, "sparse_")
    shape = tensor._data.shape
    if len(shape) != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = shape
    num_zeros = min(math.ceil(sparsity * rows), rows)
    rng = _rng(generator)
    values = rng.normal(0.0, std, shape)
    # Each column's zeros at a random subset of rows: the first num_zeros of a random
    # permutation per column, drawn for all columns at once.
    zero_rows = np.argsort(rng.random(shape), axis=0)[:num_zeros]
    np.put_along_axis(values, zero_rows, 0.0, axis=0)
    return _write(tensor, values, "sparse_")
