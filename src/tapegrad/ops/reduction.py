"""Reductions: sum, mean, prod, amax/amin, max/min (with indices), argmax/argmin.

Every reduction keeps its input's shape and the "keepdim" shape of its output in ctx
params, so rules can put a reduced cotangent back in place with reshape + expand.
"""
import functools
from collections import namedtuple

import numpy as np

from .._core.cuts import op_cut
from .._core.errors import DTypeError, ShapeError
from .._core.state import STATE
from .._core.tensor import Tensor, wrap
from ._broadcast import broadcast_view, cast_like
from .elementwise import maximum, minimum
from .registry import OpDef, apply_unary, batched_call, register, tracked
from .shape import clone, expand, normalize_dim, reshape

_ndarray = np.ndarray

values_indices = namedtuple("values_indices", ["values", "indices"])


def numpy_names(fn):
    """``fn`` also taking NumPy's keyword names ``axis`` for ``dim`` and ``keepdims`` for
    ``keepdim``, as PyTorch's functions and methods do (``x.var(axis=0, keepdims=True)``)."""
    @functools.wraps(fn)
    def with_numpy_names(*args, **kwargs):
        if "axis" in kwargs or "keepdims" in kwargs:
            for alias, name in (("axis", "dim"), ("keepdims", "keepdim")):
                if alias in kwargs:
                    if name in kwargs:
                        raise TypeError(f"{fn.__name__}: got both {name}= and its NumPy name "
                                        f"{alias}=; pass one.")
                    kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)
    return with_numpy_names


def int_dim(d, name, expected="an int or a tuple of ints"):
    """One dim as an int: an int, a NumPy integer or an integer 0-d tensor (as PyTorch takes
    it); anything else (a float, a bool, None, a string) raises TypeError naming ``name``."""
    if isinstance(d, (int, np.integer)) and not isinstance(d, bool):
        return d
    if isinstance(d, Tensor) and d._data.ndim == 0 and d._data.dtype.kind in "iu":
        return int(d._data)
    raise TypeError(f"{name}: dim must be {expected}, got {type(d).__name__} ({d!r})")


def one_dim(dim, ndim, name):
    """One ``dim`` made non-negative: TypeError for a non-integer, IndexRangeError out of
    range (a 0-d tensor takes 0 and -1)."""
    return normalize_dim(int_dim(dim, name, "an int"), ndim, name)


def normalize_dims(dim, ndim, name):
    """``dim`` (None, int or sequence of ints) as a sorted tuple of non-negative axes; a 0-d
    tensor (``ndim`` 0) takes dim 0 or -1, as in PyTorch, and gives (0,)."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (tuple, list)):
        dims = [int_dim(d, name) for d in dim]
    else:
        dims = (int_dim(dim, name),)
    out = [normalize_dim(d, ndim, name) for d in dims]
    if len(set(out)) != len(out):
        raise ShapeError(f"{name}: dim {dim} names the same dimension twice")
    return tuple(sorted(out))


def _reduce_params(x, dim, keepdim, name):
    shape = x.shape if not isinstance(x, Tensor) else x._data.shape
    if isinstance(dim, (tuple, list)) and not dim:
        dim = None              # NOTE: an empty dim list reduces over all dims, as in PyTorch
    axes = normalize_dims(dim, len(shape), name)
    if not shape:
        axes = ()               # a 0-d tensor: dim 0 or -1 (checked above) reduces over nothing
    kshape = tuple(1 if i in axes else n for i, n in enumerate(shape))
    return {"axes": axes, "keepdim": bool(keepdim), "in_shape": tuple(shape), "kshape": kshape}


def _unreduce(ctx, g):
    """A reduced cotangent put back in keepdim shape (still to be expanded)."""
    return g if ctx.keepdim else reshape(g, ctx.kshape)


def sum_vjp(ctx, g):
    """d sum = g broadcast back over the reduced dims."""
    if not tracked(g):
        # NOTE: an array (the fast path) or a constant (a recorded backward's seed): nothing
        # records, so NumPy's own views, without the shape checks of reshape and expand.
        data = g._data if type(g) is Tensor else g
        if type(data) is _ndarray:
            r = data if ctx.keepdim else data.reshape(ctx.kshape)
            r = r.view() if r.shape == ctx.in_shape else broadcast_view(r, ctx.in_shape)
            return (r if data is g else wrap(r),)
    return (expand(_unreduce(ctx, g), ctx.in_shape),)


def mean_vjp(ctx, g):
    """d mean = g / n broadcast back over the reduced dims."""
    return (expand(_unreduce(ctx, g) / ctx.count, ctx.in_shape),)


def _prod_others(x, axes):
    """For each element, the product of the others in its reduction group (zeros allowed)."""
    rest = [i for i in range(x.ndim) if i not in axes]
    moved = np.transpose(x, rest + list(axes))
    flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), dtype=x.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = (left * right).reshape(moved.shape)
    return np.transpose(others, np.argsort(rest + list(axes)))


def prod_vjp(ctx, g):
    """d prod = g * prod / x, or the product of the other elements where x has zeros."""
    x, out = ctx.x, _unreduce(ctx, ctx.out)
    g = _unreduce(ctx, g)
    if isinstance(x, np.ndarray):
        if x.all():
            return (g * out / x,)
        return (g * _prod_others(x, ctx.axes),)
    if not x._data.all():
        if not (STATE.grad_enabled and x._requires_grad):
            # nothing differentiates through x (rules run on Tensors for batched cotangents
            # or tangents): the other elements' product is a constant
            return (g * wrap(_prod_others(x._data, ctx.axes)),)
        raise NotImplementedError(
            "prod: differentiating the gradient of prod at inputs containing zeros is not "
            "supported yet; first derivatives (create_graph=False) are exact.")
    return (g * out / x,)


def extreme_vjp(ctx, g):
    """d amax/amin: g shared evenly among the elements equal to the extreme value."""
    mask = cast_like(ctx.x == _unreduce(ctx, ctx.out), g)
    count = mask.sum(axis=ctx.axes, keepdims=True)
    return (_unreduce(ctx, g) * mask / count,)


def _int64_if_integral(x):
    """PyTorch sums and multiplies bool/integer tensors in int64 (NumPy would use uint64 for
    unsigned inputs, which tapegrad has no dtype for)."""
    return np.int64 if x.dtype.kind in "biu" else None


_float16 = np.dtype(np.float16)
_add_reduce = np.add.reduce


def _np_sum(x, axes, keepdim, **_):
    if x.dtype is _float16:     # (identity: the builtin descriptor; cheaper than ==)
        # NOTE: float16 accumulates in float32 and the result is float16, as in PyTorch;
        # NumPy adds float16 in float16 across outer-loop steps (a sum over dim 0 of a
        # (3001, 16) tensor of ones with 2048 on top gives 2048, not 5048).
        return _add_reduce(x, axes, np.float32, None, keepdim).astype(_float16)
    # (the ufunc's own reduce: np.sum reaches it through ~2 us of Python dispatch)
    return _add_reduce(x, axes, _int64_if_integral(x), None, keepdim)


def _np_mean(x, axes, keepdim, **_):
    # NOTE: NumPy's mean already accumulates float16 in float32 and returns float16.
    return np.mean(x, axis=axes, keepdims=keepdim)


def half_in_float32(forward):
    """``forward`` computing float16 input in float32, rounded to float16 once at the end, as
    PyTorch accumulates float16 (for reductions and scans beyond sum and mean)."""
    def wrapped(x, *args, **params):
        if x.dtype is _float16:
            return forward(x.astype(np.float32), *args, **params).astype(_float16)
        return forward(x, *args, **params)
    wrapped.__name__ = forward.__name__
    return wrapped


def sum_jvp(ctx, t):
    """t(sum) = sum(t): the primitive with the forward's own params (the tangent has the
    input's shape), without sum's argument checks."""
    return apply_unary(SUM, t, ctx.params)


SUM = register(OpDef("sum", _np_sum, sum_vjp, sum_jvp))
MEAN = register(OpDef("mean", _np_mean, mean_vjp,
                      lambda ctx, t: sum(t, ctx.axes, ctx.keepdim) / ctx.count))
def _weights_jvp(vjp):
    """JVP of a reduction whose VJP is g (expanded) times per-element weights w:
    the tangent is sum(t * w) over the reduced dims, w being the VJP of a cotangent of ones."""
    def jvp(ctx, t):
        out = ctx.out
        ones = (np.ones_like(out) if isinstance(out, np.ndarray)
                else wrap(np.ones_like(out._data)))
        return sum(t * vjp(ctx, ones)[0], ctx.axes, ctx.keepdim)
    jvp.__name__ = vjp.__name__.replace("vjp", "jvp")
    return jvp


def _np_prod(x, axes, keepdim, **_):
    return np.prod(x, axis=axes, keepdims=keepdim, dtype=_int64_if_integral(x))


# NOTE: float16 multiplies in float32, rounded once: NumPy rounds to float16 between outer-loop
# steps (and PyTorch's CPU kernel accumulates in float16 lanes, further from the exact
# product: 1000 factors of float16(1.01) give 15280 there; here 16624, the exact product).
PROD = register(OpDef("prod", half_in_float32(_np_prod), prod_vjp, _weights_jvp(prod_vjp),
                      save=("x", "out")))
AMAX = register(OpDef("amax", lambda x, axes, keepdim, **_:
                      np.amax(x, axis=axes, keepdims=keepdim), extreme_vjp,
                      _weights_jvp(extreme_vjp), save=("x", "out")))
AMIN = register(OpDef("amin", lambda x, axes, keepdim, **_:
                      np.amin(x, axis=axes, keepdims=keepdim), extreme_vjp,
                      _weights_jvp(extreme_vjp), save=("x", "out")))


def _check_nonempty(x, params, name):
    data = x._data if isinstance(x, Tensor) else np.asarray(x)
    if any(data.shape[a] == 0 for a in params["axes"]):   # (0, 3) over dim 1 is fine
        raise ShapeError(f"{name}: can't reduce an empty tensor of shape {data.shape} over dim "
                         f"{params['axes']}: the result has no identity element.")


def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """Sum of the elements over ``dim``.

    Args:
        input: the tensor.
        dim: an int, a tuple of ints, or None for all elements. ``axis`` is a NumPy-style alias.
        keepdim: keep reduced dims with size 1. ``keepdims`` is an alias.
        dtype: convert ``input`` to this dtype first. Integer and bool inputs sum to int64.

    Returns:
        The sums; in backward each element gets the gradient of its sum.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        >>> tg.sum(x, dim=0), tg.sum(x, axis=1, keepdims=True).shape
        (tensor([4., 6.], grad_fn=<SumBackward0>), tapegrad.Size([2, 1]))
    """
    dim, keepdim = (axis if dim is None else dim), (keepdim if keepdims is None else keepdims)
    if dtype is not None:
        input = input.to(dtype)
    return apply_unary(SUM, input, _reduce_params(input, dim, keepdim, "sum"))


def mean(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """Mean of the elements over ``dim``.

    Args:
        input: a floating tensor (integer input raises, as in PyTorch; pass ``dtype``).
        dim: an int, a tuple of ints, or None for all elements. ``axis`` is an alias.
        keepdim: keep reduced dims with size 1. ``keepdims`` is an alias.
        dtype: convert ``input`` to this dtype first.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        >>> tg.mean(x, dim=1).sum().backward(); x.grad
        tensor([[0.5000, 0.5000],
                [0.5000, 0.5000]])
    """
    dim, keepdim = (axis if dim is None else dim), (keepdim if keepdims is None else keepdims)
    if dtype is not None:
        input = input.to(dtype)
    data = input._data if isinstance(input, Tensor) else np.asarray(input)
    if data.dtype.kind not in "fc":
        raise DTypeError(f"mean: input dtype must be floating point, got {data.dtype}; "
                         "convert with .float() first.")
    params = _reduce_params(input, dim, keepdim, "mean")
    count = 1
    for a in params["axes"]:
        count *= params["in_shape"][a]
    params["count"] = count
    return apply_unary(MEAN, input, params)


@numpy_names
def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product of the elements over ``dim``.

    Args:
        input: the tensor.
        dim: an int, or None for all elements.
        keepdim: keep the reduced dim with size 1.
        dtype: convert ``input`` to this dtype first.

    Returns:
        The products. The gradient is exact at zeros too (the product of the other elements),
        but differentiating it again (``create_graph=True``) at zeros is not supported yet.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 3.0, 4.0], requires_grad=True)
        >>> tg.prod(x).backward(); x.grad
        tensor([12.,  0.,  0.])
    """
    if dtype is not None:
        input = input.to(dtype)
    if dim is not None:
        dim = int_dim(dim, "prod", "an int, as in PyTorch (a tuple is refused there too)")
    return apply_unary(PROD, input, _reduce_params(input, dim, keepdim, "prod"))


@numpy_names
def amax(input, dim=None, keepdim=False):
    """Largest value over ``dim`` (values only; see :func:`max` for indices).

    Args:
        input: the tensor.
        dim: an int, a tuple of ints, or None (or ``()``) for all elements.
        keepdim: keep reduced dims with size 1.

    Returns:
        The maxima. The gradient is shared evenly among elements tied for the maximum.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 3.0, 3.0], requires_grad=True)
        >>> tg.amax(x).backward(); x.grad
        tensor([0.0000, 0.5000, 0.5000])
    """
    params = _reduce_params(input, dim, keepdim, "amax")     # () means all dims
    _check_nonempty(input, params, "amax")
    return apply_unary(AMAX, input, params)


@numpy_names
def amin(input, dim=None, keepdim=False):
    """Smallest value over ``dim`` (values only; see :func:`min` for indices).

    Args:
        input: the tensor.
        dim: an int, a tuple of ints, or None (or ``()``) for all elements.
        keepdim: keep reduced dims with size 1.

    Returns:
        The minima. The gradient is shared evenly among elements tied for the minimum.

    Example:
        >>> import tapegrad as tg
        >>> tg.amin(tg.tensor([[1, 5], [0, 2]]), dim=1)
        tensor([1, 0])
    """
    params = _reduce_params(input, dim, keepdim, "amin")     # () means all dims
    _check_nonempty(input, params, "amin")
    return apply_unary(AMIN, input, params)


# ---- max / min along one dim, with indices -------------------------------------------------
def _take_forward(x, idx, dim, keepdim, in_shape, name):
    vals = np.take_along_axis(x, idx, axis=dim)
    return vals if keepdim else np.squeeze(vals, axis=dim)


def take_vjp(ctx, g):
    """d (values at indices) = g scattered back to the chosen positions (one-hot mask)."""
    iota = np.arange(ctx.in_shape[ctx.dim]).reshape(
        [-1 if i == ctx.dim else 1 for i in range(len(ctx.in_shape))])
    mask = cast_like(iota == ctx.idx, g)
    gk = g if ctx.keepdim else reshape(g, ctx.idx.shape)
    return (gk * mask,)


def _take_jvp(ctx, t):
    """Picking values at fixed indices is linear: the tangent's values at the same indices."""
    return _take_along(t, ctx.params)


def _take_along(x, params):
    return apply_unary(MAX_DIM if params["name"] == "max" else MIN_DIM, x, params)


# NOTE: max and min along a dim share one rule; two entries so that grad_fn names say which
# (MaxBackward0 / MinBackward0, as in PyTorch).
MAX_DIM = register(OpDef("max", _take_forward, take_vjp, _take_jvp))
MIN_DIM = register(OpDef("min", _take_forward, take_vjp, _take_jvp))


def _extreme_dim(input, dim, keepdim, argfn, name):
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{name}: dim must be one int to get (values, indices); got {dim!r}. "
                        f"Use a{name}(x, dim) for several dims.")
    if STATE.vmap_levels:       # Note [Batched tensors]: the values are read below
        out = batched_call(name, (input,), {"dim": dim, "keepdim": keepdim})
        if out is not None:
            return out
    data = input._data if isinstance(input, Tensor) else np.asarray(input)
    d = one_dim(dim, data.ndim, name)
    if data.ndim == 0:       # a 0-d tensor is its own max along dim 0 (or -1)
        return values_indices(clone(input), wrap(np.zeros((), dtype=np.int64)))
    if data.shape[d] == 0:
        raise ShapeError(f"{name}: can't take the {name} over dim {dim} of size 0 "
                         f"(shape {data.shape}).")
    idx = np.expand_dims(argfn(data, axis=d), d)
    vals = _take_along(input, {"idx": idx, "dim": d, "keepdim": bool(keepdim),
                               "in_shape": data.shape, "name": name})
    indices = idx if keepdim else np.squeeze(idx, axis=d)
    return values_indices(vals, wrap(np.asarray(indices, dtype=np.int64)))


@numpy_names
def max(input, dim=None, keepdim=False, *, other=None):
    """The largest element, the maxima along a dim with their indices, or an elementwise maximum.

    ``max(x)`` is the largest element (gradient shared evenly among ties, like ``amax``);
    ``max(x, dim, keepdim=False)`` gives a ``(values, indices)`` named tuple, where the
    gradient goes to the element at each index; ``max(x, y)`` (or ``max(x, other=y)``)
    with a tensor ``y`` is :func:`maximum`.

    Example:
        >>> import tapegrad as tg
        >>> tg.max(tg.tensor([[1.0, 5.0], [7.0, 2.0]]), dim=1)
        values_indices(values=tensor([5., 7.]), indices=tensor([1, 0]))
        >>> x = tg.tensor([1.0, 3.0, 3.0], requires_grad=True)
        >>> tg.max(x, 0).values.backward(); x.grad
        tensor([0., 1., 0.])
    """
    if other is not None:                       # PyTorch's keyword for the tensor form
        return maximum(input, other)
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    if dim is None:
        return amax(input)
    return _extreme_dim(input, dim, keepdim, np.argmax, "max")


@numpy_names
def min(input, dim=None, keepdim=False, *, other=None):
    """The smallest element, the minima along a dim with their indices, or an elementwise minimum.

    ``min(x)``, ``min(x, dim, keepdim=False)`` -> ``(values, indices)``, or ``min(x, y)``
    elementwise (:func:`minimum`); gradients as for :func:`max`.

    Example:
        >>> import tapegrad as tg
        >>> values, indices = tg.min(tg.tensor([[1.0, 5.0], [0.0, 2.0]]), dim=0)
        >>> values, indices
        (tensor([0., 2.]), tensor([1, 1]))
    """
    if other is not None:                       # PyTorch's keyword for the tensor form
        return minimum(input, other)
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    if dim is None:
        return amin(input)
    return _extreme_dim(input, dim, keepdim, np.argmin, "min")


def _arg_extreme(argfn, input, dim, keepdim, name):
    data = input._data if isinstance(input, Tensor) else np.asarray(input)
    if dim is None:
        result = wrap(np.asarray(argfn(data), dtype=np.int64))
    else:
        d = one_dim(dim, data.ndim, name)
        result = wrap(np.asarray(argfn(data, axis=d, keepdims=keepdim), dtype=np.int64))
    if isinstance(input, Tensor) and input._requires_grad:
        # a chain broken here, for explain() (Note [Cut events]); the user's frame is past
        # argmax and its numpy_names wrapper
        op_cut(name, (input,), result, depth=4, exact=True)
    return result


@numpy_names
def argmax(input, dim=None, keepdim=False):
    """Index of the largest element (of the flattened tensor when ``dim`` is None).

    Args:
        input: the tensor.
        dim: an int, or None to index into the flattened tensor.
        keepdim: keep the reduced dim with size 1.

    Returns:
        An int64 tensor, not differentiable. Ties give the first index.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([[1, 5], [7, 2]]); tg.argmax(x), tg.argmax(x, dim=1)
        (tensor(2), tensor([1, 0]))
    """
    return _arg_extreme(np.argmax, input, dim, keepdim, "argmax")


@numpy_names
def argmin(input, dim=None, keepdim=False):
    """Index of the smallest element (of the flattened tensor when ``dim`` is None).

    Args:
        input: the tensor.
        dim: an int, or None to index into the flattened tensor.
        keepdim: keep the reduced dim with size 1.

    Returns:
        An int64 tensor, not differentiable. Ties give the first index.

    Example:
        >>> import tapegrad as tg
        >>> tg.argmin(tg.tensor([[1, 5], [7, 0]]), dim=0, keepdim=True)
        tensor([[0, 1]])
    """
    return _arg_extreme(np.argmin, input, dim, keepdim, "argmin")
