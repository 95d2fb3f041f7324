"""tapegrad.nn.functional: sparse (one_hot, embedding, embedding_bag).

Composites: a lookup and a bag sum are each one product with a constant sparse matrix (the
``resample`` primitive: its backward is the transposed product, one pass in C instead of an
np.add.at scatter), and a bag max is amax over a dense (bags, longest bag) gather. Rows that
must not take gradient (padding_idx) or take a scaled one (scale_grad_by_freq) read
``c + (a - c) * s`` with ``c`` the detached rows: the same values, gradient times ``s``,
exact at every order.
"""
import numpy as np

from ..._core.errors import (ArgumentError, DTypeError, IndexRangeError, NotSupportedError,
                             ShapeError)
from ..._core.state import STATE
from ..._core.tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...ops.creation import tensor as _tensor
from ...ops.elementwise import where
from ...ops.nn.resample import csr_rows, resample, select
from ...ops.registry import batched_call

__all__ = ["one_hot", "embedding", "embedding_bag"]


class PaddingIndexError(IndexRangeError, AssertionError):
    """embedding's padding_idx outside the weight's rows (PyTorch asserts there)."""


def _indices(name, what, t, dtypes=(np.int32, np.int64)):
    if not isinstance(t, Tensor):
        raise DTypeError(f"{name}: {what} must be a tensor of integer indices, got "
                         f"{type(t).__name__}")
    arr = t.detach().numpy()
    if arr.dtype not in dtypes:
        allowed = " or ".join(np.dtype(d).name for d in dtypes)
        raise DTypeError(f"{name}: {what} must have dtype {allowed}, got {t.dtype}")
    return arr.astype(np.int64, copy=False)


def one_hot(tensor, num_classes=-1):
    """Integer class indices to one-hot rows: shape ``(*, num_classes)``, int64.

    Args:
        tensor: int64 class indices, each in ``[0, num_classes)``.
        num_classes: the number of classes; -1 infers ``max + 1``.

    Returns:
        An int64 tensor with a 1 at each index's position (not differentiable).

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.one_hot(tg.tensor([0, 2]))
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the indices are read
        out = batched_call("one_hot", (tensor,), {"num_classes": num_classes})
        if out is not None:
            return out
    idx = _indices("one_hot", "the input", tensor, (np.int64,))
    if idx.size == 0 and num_classes <= 0:     # PyTorch refuses 0 classes here too
        raise ArgumentError("one_hot: can not infer the number of classes from an empty "
                            f"tensor (num_classes={num_classes}); pass a positive num_classes")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1
    if idx.size and idx.min() < 0:
        raise IndexRangeError(f"one_hot: class values must be non-negative, got {idx.min()}")
    if idx.size and idx.max() >= num_classes or num_classes < 0:
        raise IndexRangeError(f"one_hot: class values must be smaller than num_classes = "
                              f"{num_classes}, got {idx.max() if idx.size else num_classes}")
    out = (idx[..., None] == np.arange(num_classes)).astype(np.int64)
    return _tensor(out)


def _check_weight(name, weight):
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        shape = tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise ShapeError(f"{name}: 'weight' must be 2-d (num_embeddings, embedding_dim), got "
                         f"{shape}")


def _check_range(name, idx, num, where_=""):
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        pos = int(np.flatnonzero((idx.ravel() < 0) | (idx.ravel() >= num))[0])
        raise IndexRangeError(
            f"{name}: index {int(idx.ravel()[pos])} at position {pos} of {where_ or 'input'} "
            f"is out of range for a weight of {num} rows (valid indices: 0 to {num - 1})")


def _padding_index(name, padding_idx, num, error=IndexRangeError):
    if padding_idx is None:
        return None
    if not -num <= padding_idx < num:
        raise error(f"{name}: padding_idx must be within the number of embeddings, "
                              f"{-num} through {num - 1}, but got {padding_idx}")
    return padding_idx % num


def _renorm_(weight, idx, max_norm, norm_type):
    """Rescale, in place and untracked, the rows of weight that idx names and whose
    ``norm_type``-norm exceeds max_norm to norm max_norm (PyTorch's embedding_renorm_)."""
    rows = np.unique(idx)
    if rows.size == 0:
        return
    with no_grad():
        data = weight.detach().numpy()[rows]
        dt = data.dtype.type
        norms = np.linalg.vector_norm(data, ord=float(norm_type), axis=1)
        big = norms > max_norm
        if big.any():
            scale = (dt(max_norm) / (norms[big] + dt(1e-7))).astype(data.dtype)
            weight[rows[big]] = weight[rows[big]] * scale[:, None]


def _lookup(weight, idx, padding_idx, scale_grad_by_freq):
    """weight[idx] with no gradient into padding_idx's row, and with each row's gradient
    divided by its count in idx when scale_grad_by_freq."""
    num, dim = weight.shape
    rows = select(weight, 0, idx.ravel(), num).reshape(*idx.shape, dim)
    if padding_idx is None and not scale_grad_by_freq:
        return rows
    const = weight.detach().numpy()[idx]
    s = np.ones(idx.shape, dtype=const.dtype)
    if scale_grad_by_freq:
        uniq, inverse, counts = np.unique(idx, return_inverse=True, return_counts=True)
        s = (1.0 / counts[inverse.reshape(idx.shape)]).astype(const.dtype)
    if padding_idx is not None:
        s = np.where(idx == padding_idx, 0, s).astype(const.dtype)
    return const + (rows - const) * s[..., None]


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Look up rows of ``weight`` (num_embeddings, embedding_dim) at the indices ``input``.

    Args:
        input: int64/int32 indices of any shape, each in ``[0, num_embeddings)``.
        weight: the embedding matrix.
        padding_idx: this row (negative counts from the end) gets no gradient.
        max_norm: if given, each row that ``input`` names and whose norm exceeds it is
            rescaled IN PLACE (untracked, as PyTorch) to norm ``max_norm`` first.
        norm_type: the p of that norm.
        scale_grad_by_freq: divide each row's gradient by its count in ``input``.
        sparse: accepted for PyTorch's signature; the gradient is dense.

    Returns:
        ``input.shape + (embedding_dim,)``.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> F.embedding(tg.tensor([2, 0]), tg.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]))
        tensor([[4., 5.],
                [0., 1.]])
    """
    if STATE.vmap_levels:       # Note [Batched tensors]: the indices are read
        out = batched_call("embedding", (input, weight), {
            "padding_idx": padding_idx, "max_norm": max_norm, "norm_type": norm_type,
            "scale_grad_by_freq": scale_grad_by_freq, "sparse": sparse})
        if out is not None:
            return out
    idx = _indices("embedding", "the input", input)
    _check_weight("embedding", weight)
    num = weight.shape[0]
    padding_idx = _padding_index("embedding", padding_idx, num, PaddingIndexError)
    _check_range("embedding", idx, num)
    if max_norm is not None:
        _renorm_(weight, idx, max_norm, norm_type)
    return _lookup(weight, idx, padding_idx, scale_grad_by_freq)


def _bags(name, idx, offsets, include_last_offset):
    """(flat indices, bag of each, number of bags) from fixed or offset bags."""
    if idx.ndim == 2:
        if offsets is not None:
            raise ArgumentError(f"{name}: if input is 2-d, offsets has to be None, as input "
                                "is treated as a mini-batch of fixed length bags")
        b, length = idx.shape
        return idx.ravel(), np.repeat(np.arange(b), length), b
    if idx.ndim != 1:
        raise ShapeError(f"{name}: input has to be 1-d (with offsets) or 2-d, got shape "
                         f"{idx.shape}")
    if offsets is None:
        raise ArgumentError(f"{name}: a 1-d input needs offsets (a 1-d tensor of bag starts)")
    off = _indices(name, "offsets", offsets)
    if off.ndim != 1:
        raise ShapeError(f"{name}: offsets has to be a 1-d tensor, got shape {off.shape}")
    n = idx.size
    if off.size and off[0] != 0:
        raise ArgumentError(f"{name}: offsets[0] has to be 0 (the first bag starts at "
                            f"position 0), got {off[0]}")
    if off.size and off[-1] > n:
        raise IndexRangeError(f"{name}: offsets[-1] can not be greater than the input's "
                              f"length {n}, got {off[-1]}")
    if off.size and off.min() < 0:
        raise IndexRangeError(f"{name}: offsets must be non-negative, got {off.tolist()}")
    if np.any(np.diff(off) < 0):
        raise ArgumentError(f"{name}: offsets must be non-decreasing, got {off.tolist()}")
    count = off.size - 1 if include_last_offset else off.size
    if count <= 0:
        return idx[:0], np.zeros(0, dtype=np.int64), 0
    ends = off[1:] if include_last_offset else np.append(off[1:], n)
    bag = np.searchsorted(off[:count], np.arange(n), side="right") - 1
    inside = np.arange(n) < ends[np.maximum(bag, 0)]
    return idx, np.where(inside, bag, -1), count


def _check_bag_args(name, mode, per_sample_weights, input, scale_grad_by_freq):
    if mode not in ("sum", "mean", "max"):
        raise ArgumentError(f"{name}: mode has to be one of 'sum', 'mean' or 'max', got "
                            f"{mode!r}")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotSupportedError(f"{name}: per_sample_weights is only supported for mode='sum' "
                                f"(got mode={mode!r})")
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ShapeError(f"{name}: per_sample_weights of shape "
                             f"{tuple(per_sample_weights.shape)} must have the input's shape "
                             f"{tuple(input.shape)}")
    if scale_grad_by_freq and mode == "max":
        raise ArgumentError(f"{name}: max mode does not support scaling the gradient by the "
                            "frequency (scale_grad_by_freq)")


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,
                  scale_grad_by_freq=False, mode="mean", sparse=False,
                  per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sums, means or maxima of bags of embedding rows, without building the rows of each.

    Args:
        input: int64/int32 indices: 2-d ``(B, L)`` (B bags of L) or 1-d with ``offsets``.
        weight: the embedding matrix (num_embeddings, embedding_dim).
        offsets: 1-d, the start of each bag in a 1-d input (offsets[0] == 0).
        max_norm, norm_type, scale_grad_by_freq, sparse: as in :func:`embedding`.
        mode: 'sum', 'mean' (default) or 'max'; an empty bag gives zeros.
        per_sample_weights: weights shaped like input, mode 'sum' only.
        include_last_offset: offsets has B + 1 entries, the last one the end of the last bag.
        padding_idx: entries equal to it are left out of their bag (and of its count).

    Returns:
        ``(B, embedding_dim)``.

    Example:
        >>> import tapegrad as tg, tapegrad.nn.functional as F
        >>> w = tg.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
        >>> F.embedding_bag(tg.tensor([0, 2, 1]), w, tg.tensor([0, 2]), mode="sum")
        tensor([[4., 6.],
                [2., 3.]])
    """
    name = "embedding_bag"
    if STATE.vmap_levels:       # Note [Batched tensors]: the indices and offsets are read
        out = batched_call(name, (input, weight, offsets, per_sample_weights), {
            "max_norm": max_norm, "norm_type": norm_type,
            "scale_grad_by_freq": scale_grad_by_freq, "mode": mode, "sparse": sparse,
            "include_last_offset": include_last_offset, "padding_idx": padding_idx})
        if out is not None:
            return out
    idx_all = _indices(name, "the input", input)
    _check_weight(name, weight)
    _check_bag_args(name, mode, per_sample_weights, input, scale_grad_by_freq)
    if not weight.is_floating_point():
        raise DTypeError(f"{name}: weight must have a floating point dtype, got {weight.dtype}")
    if per_sample_weights is not None and per_sample_weights.dtype != weight.dtype:
        raise DTypeError(f"{name}: per_sample_weights ({per_sample_weights.dtype}) must have "
                         f"the weight's dtype ({weight.dtype})")
    num, dim = weight.shape
    padding_idx = _padding_index(name, padding_idx, num)
    idx, bag, count = _bags(name, idx_all, offsets, include_last_offset)
    _check_range(name, idx, num)
    if max_norm is not None:
        _renorm_(weight, idx, max_norm, norm_type)
    keep = bag >= 0 if padding_idx is None else (bag >= 0) & (idx != padding_idx)
    kept, bag = np.flatnonzero(keep), bag[keep]
    half = weight.detach().numpy().dtype == np.float16
    w = weight.float() if half else weight       # float32 sums for float16, as PyTorch
    rows = _lookup(w, idx[kept], None, scale_grad_by_freq)
    if per_sample_weights is not None:
        psw = per_sample_weights.reshape(-1)[kept]
        rows = rows * (psw.float() if half else psw).unsqueeze(-1)
    sizes = np.bincount(bag, minlength=count)
    dt = w.detach().numpy().dtype
    if mode == "max":
        out = _bag_max(rows, bag, sizes, count, dt)
    else:
        scale = 1.0 / np.maximum(sizes, 1)[bag] if mode == "mean" else None
        out = resample(rows, 0, csr_rows(count, bag.size, bag, np.arange(bag.size), scale))
    return out.half() if half else out


def _bag_max(rows, bag, sizes, count, dt):
    """Per-bag maxima of rows (sorted by bag) via a dense (bags, longest) gather."""
    longest = int(sizes.max()) if sizes.size else 0
    starts = np.cumsum(sizes) - sizes
    rank = np.arange(bag.size) - starts[bag]
    # slot (b, r) reads row r of bag b; empty slots read zeros and become -inf below
    # (or stay 0 in an empty bag, which is its result)
    dense = resample(rows, 0, csr_rows(count * longest, bag.size, bag * longest + rank,
                                       np.arange(bag.size)))
    dense = dense.reshape(count, longest, rows.shape[-1])
    if not longest:
        return dense.sum(1)
    filled = np.zeros((count, longest, 1), dtype=bool)
    filled[bag, rank] = True
    # each bag's maximum is its FIRST largest row (per column), which alone takes the
    # gradient, as PyTorch's (amax would split it among tied rows)
    first = np.argmax(np.where(filled, dense.detach().numpy(), -np.inf), axis=1)
    pick = np.zeros(dense.shape, dtype=bool)
    np.put_along_axis(pick, first[:, None, :], True, axis=1)
    return where(pick & filled, dense, dt.type(0)).sum(1)
