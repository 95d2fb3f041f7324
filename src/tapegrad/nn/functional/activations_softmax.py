"""tapegrad.nn.functional: softmax, log_softmax, softmin, gumbel_softmax, glu, normalize,
cosine_similarity and pairwise_distance (re-exported by activations.py)."""
import warnings

import numpy as np

from ..._core.errors import DTypeError, ShapeError
from ..._core.state import STATE
from ..._core.tensor import Tensor
from ...ops import creation
from ...ops.elementwise import clamp, sigmoid
from ...ops.linalg.norms import vector_norm
from ...ops.nn.activation import LOG_SOFTMAX, SOFTMAX, softmax_args
from ...ops.rearrange import narrow
from ...ops.reduction import sum
from ...ops.registry import apply_unary, batched_call
from ...ops.shape import normalize_dim
from .activations_common import check_floating
from .dropout import per_example_draw

__all__ = ["softmax", "log_softmax", "softmin", "gumbel_softmax", "glu", "normalize",
           "cosine_similarity", "pairwise_distance"]


def _dim_of(input, dim, name, stacklevel):
    """dim, or PyTorch's implicit choice when it is None (0 for 0-, 1- and 3-d input, else
    1) with its deprecation warning, pointing at the caller of ``name``."""
    if dim is None:
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        ndim = input.ndim
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the "
                      "call to include dim=X as an argument.", UserWarning,
                      stacklevel=stacklevel)
        return 0 if ndim in (0, 1, 3) else 1
    return dim


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """Softmax along ``dim``: exp(x) / sum(exp(x)), computed without overflow.

    Args:
        input: a floating tensor (float16 accumulates in float32 and returns float16).
        dim: the dim that sums to 1. None picks PyTorch's implicit dim (0 for 0-, 1- and
            3-d input, else 1) with its deprecation warning; pass it explicitly.
        dtype: if given, input is cast to it first (e.g. integer input to float32).

    Returns:
        A tensor like input whose slices along ``dim`` sum to 1.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.softmax(tg.tensor([[0.0, 0.0], [1e4, -1e4]]), dim=1)
        tensor([[0.5000, 0.5000],
                [1.0000, 0.0000]])
    """
    dim = _dim_of(input, dim, "softmax", _stacklevel)
    input, params = softmax_args(input, dim, dtype, "softmax")
    return apply_unary(SOFTMAX, input, params)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """log(softmax(x)) along ``dim``, finite where the softmax rounds to 0.

    Args:
        input: a floating tensor (float16 accumulates in float32 and returns float16).
        dim: as :func:`softmax`'s (None: PyTorch's implicit dim, with a warning).
        dtype: if given, input is cast to it first.

    Returns:
        A tensor like input; its gradient is g - softmax * sum(g) along ``dim``.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.log_softmax(tg.tensor([1e4, -1e4]), dim=0)
        tensor([     0., -20000.])
    """
    dim = _dim_of(input, dim, "log_softmax", _stacklevel)
    input, params = softmax_args(input, dim, dtype, "log_softmax")
    return apply_unary(LOG_SOFTMAX, input, params)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-input) along ``dim``: the smallest entries get the largest weights.

    Args:
        input: a floating tensor.
        dim: as :func:`softmax`'s (None: PyTorch's implicit dim, with a warning).
        dtype: if given, input is cast to it first.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.softmin(tg.tensor([0.0, 0.0, 1e4]), dim=0)
        tensor([0.5000, 0.5000, 0.0000])
    """
    dim = _dim_of(input, dim, "softmin", _stacklevel)
    input, params = softmax_args(input, dim, dtype, "softmin")
    return apply_unary(SOFTMAX, -input, params)


def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1):
    """A sample of the Gumbel-softmax distribution: softmax((logits + g) / tau) along dim,
    g Gumbel noise from tapegrad's generator (``tapegrad.manual_seed`` reproduces it).

    Args:
        logits: unnormalized log-probabilities (a floating tensor).
        tau: the temperature (> 0).
        hard: return one-hot vectors (the argmax), with the soft sample's gradient
            (straight-through: one_hot - soft.detach() + soft).
        eps: unused, kept for PyTorch's signature.
        dim: the dim of the categories.

    Returns:
        A tensor like logits whose slices along ``dim`` sum to 1.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> _ = tg.manual_seed(0)
        >>> y = F.gumbel_softmax(tg.zeros(2, 3), hard=True); y.sum(dim=1)
        tensor([1., 1.])
    """
    logits, params = softmax_args(logits, dim, None, "gumbel_softmax")
    data = logits._data
    # NOTE: drawn in float64 and cast: a float32 uniform can round to 0 or 1, whose Gumbel
    # noise is infinite.
    noise = per_example_draw(logits, lambda shape: (
        -np.log(creation._rng(None).standard_exponential(shape))).astype(data.dtype))
    y = apply_unary(SOFTMAX, (logits + noise) / tau, params)
    if not hard:
        return y
    return hard_sample(y, params["dim"])


def hard_sample(y, d):
    """gumbel_softmax's hard sample of the soft sample ``y``: the one-hot of its argmax along
    dim ``d`` (None: a 0-d sample), with y's gradient (straight-through)."""
    if STATE.vmap_levels:       # Note [Batched tensors]: the argmax is read by value
        out = batched_call("gumbel_softmax_hard", (y,), {"dim": d})
        if out is not None:
            return out
    soft = y._data
    if d is None or soft.size == 0:
        one_hot = np.ones_like(soft)
    else:
        one_hot = np.zeros_like(soft)
        np.put_along_axis(one_hot, np.argmax(soft, axis=d, keepdims=True), 1, axis=d)
    return y + (one_hot - soft)     # (one_hot - soft) + soft, as PyTorch rounds it


def glu(input, dim=-1):
    """Gated linear unit: a * sigmoid(b), a and b the two halves of input along ``dim``.

    Args:
        input: a floating tensor whose size along ``dim`` is even.
        dim: the dim that is halved.

    Returns:
        A tensor like input with half its size along ``dim``.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.glu(tg.tensor([[1.0, 2.0, 0.0, 1e4]]))
        tensor([[0.5000, 2.0000]])
    """
    check_floating(input, "glu")
    if input.ndim == 0:
        raise ShapeError("glu: does not support 0-d tensors (scalars), because the halved "
                         "size must be even; give input at least one dim.")
    d = normalize_dim(dim, input.ndim, "glu")
    n = input.shape[d]
    if n % 2:
        raise ShapeError(f"glu: halving dimension must be even, but dimension {d} is size {n} "
                         f"(input of shape {tuple(input.shape)}).")
    return narrow(input, d, 0, n // 2) * sigmoid(narrow(input, d, n // 2, n // 2))


def _floating_pair(x1, x2, name):
    for k, x in (("x1", x1), ("x2", x2)):
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: {k} must be a Tensor, got {type(x).__name__}")
        if x._data.dtype.kind != "f":
            raise DTypeError(f"{name}: {k} has dtype {x._data.dtype}; expected a floating "
                             "dtype, as in PyTorch. Convert first, e.g. x.float().")
    try:
        return np.broadcast_shapes(x1._data.shape, x2._data.shape)
    except ValueError:
        raise ShapeError(
            f"{name}: x1 of shape {tuple(x1.shape)} and x2 of shape {tuple(x2.shape)} can't be "
            "broadcast together: aligned from the last dim, each pair of sizes must be equal "
            "or one of them 1.") from None


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p, eps) along ``dim``: unit vectors, and zero vectors stay 0.

    Args:
        input: a floating tensor.
        p: the norm's order (2, 1, inf, 0, negative: as :func:`tapegrad.linalg.vector_norm`).
        dim: an int or a tuple of ints.
        eps: the smallest divisor (a zero vector's gradient is 1 / eps, finite).
        out: if given, the result is also written into it.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.normalize(tg.tensor([[3.0, 4.0], [0.0, 0.0]]))
        tensor([[0.6000, 0.8000],
                [0.0000, 0.0000]])
    """
    check_floating(input, "normalize")
    for d in (dim if isinstance(dim, (tuple, list)) else (dim,)):
        normalize_dim(d, max(input.ndim, 1), "normalize")     # an error naming normalize
    result = input / clamp(vector_norm(input, p, dim, True), min=eps)
    if out is not None:
        out.copy_(result)
        return out
    return result


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between x1 and x2 along ``dim`` (broadcasting):
    sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)).

    Args:
        x1, x2: floating tensors that broadcast together.
        dim: the dim of the vectors (of the broadcast shape).
        eps: the smallest norm divided by (a zero vector gives 0).

    Returns:
        The broadcast shape without ``dim``.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.cosine_similarity(tg.tensor([[1.0, 0.0], [1.0, 1.0]]), tg.tensor([1.0, 0.0]))
        tensor([1.0000, 0.7071])
    """
    shape = _floating_pair(x1, x2, "cosine_similarity")
    d = normalize_dim(dim, len(shape), "cosine_similarity")
    if x1.shape != shape:
        x1 = x1.expand(shape)
    if x2.shape != shape:
        x2 = x2.expand(shape)
    u = x1 / clamp(vector_norm(x1, 2, d, True), min=eps)
    v = x2 / clamp(vector_norm(x2, 2, d, True), min=eps)
    return sum(u * v, d)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p along the last dim (broadcasting), as PyTorch.

    Args:
        x1, x2: floating tensors that broadcast together.
        p: the norm's order; eps: added to the difference (keeps the gradient finite).
        keepdim: keep the last dim with size 1.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.pairwise_distance(tg.tensor([[3.0, 4.0]]), tg.tensor([0.0, 0.0]), eps=0.0)
        tensor([5.])
    """
    _floating_pair(x1, x2, "pairwise_distance")
    return vector_norm(x1 - x2 + eps, p, -1, keepdim)
