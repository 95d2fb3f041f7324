"""Embedding layers: Embedding and EmbeddingBag, as PyTorch's (dense gradients only).

The lookups are ``tapegrad.nn.functional.embedding`` / ``embedding_bag``; the layers hold the
weight (num_embeddings, embedding_dim), initialised N(0, 1) with the padding row zeroed.
"""

from ..._core.errors import NotSupportedError, ShapeError
from ..._core.tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...ops.creation import empty
from .. import functional as F
from .. import init
from ..functional.sparse import PaddingIndexError
from ..parameter import Parameter
from .linear import _count
from .module import Module

__all__ = ["Embedding", "EmbeddingBag"]


class _WeightShapeError(ShapeError, AssertionError):
    """A given weight of the wrong shape (PyTorch asserts there, so AssertionError too)."""


def _padding_row(name, padding_idx, num_embeddings):
    """padding_idx as a row number in [0, num_embeddings) (negative counts from the end)."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise PaddingIndexError(
            f"{name}: padding_idx must be within num_embeddings ({-num_embeddings} through "
            f"{num_embeddings - 1} for {num_embeddings} embeddings), got {padding_idx}.")
    return padding_idx + num_embeddings if padding_idx < 0 else padding_idx


def _refuse_sparse(name, sparse):
    if sparse:
        raise NotSupportedError(f"{name}: sparse=True (sparse gradients) is not supported; "
                                "tapegrad computes dense gradients. Pass sparse=False.")


def _weight_for(name, _weight, num_embeddings, embedding_dim, device, dtype):
    """A fresh (num_embeddings, embedding_dim) tensor, or the given one after a shape check;
    the second item says whether it still has to be initialised."""
    if _weight is None:
        return empty((num_embeddings, embedding_dim), device=device, dtype=dtype), True
    if not isinstance(_weight, Tensor):
        raise TypeError(f"{name}: _weight must be a Tensor, got {type(_weight).__name__}.")
    if tuple(_weight.shape) != (num_embeddings, embedding_dim):
        raise _WeightShapeError(
            f"{name}: Shape of weight does not match num_embeddings and embedding_dim: got "
            f"{tuple(_weight.shape)}, expected ({num_embeddings}, {embedding_dim}).")
    return _weight, False


def _check_pretrained(name, embeddings):
    if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
        shape = tuple(embeddings.shape) if isinstance(embeddings, Tensor) else None
        raise _WeightShapeError(
            f"{name}.from_pretrained: Embeddings parameter is expected to be 2-dimensional "
            f"(num_embeddings, embedding_dim), got "
            f"{shape if shape is not None else type(embeddings).__name__}.")
    return tuple(embeddings.shape)


class _EmbeddingBase(Module):
    def reset_parameters(self):
        """Weight ~ N(0, 1), with the padding row (if any) zeroed."""
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self):
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0


class Embedding(_EmbeddingBase):
    """A lookup table: row ``i`` of ``weight`` (num_embeddings, embedding_dim) for each index
    ``i`` of the input, so an input of shape (*) gives (*, embedding_dim).

    Args:
        num_embeddings: the number of rows.
        embedding_dim: the size of each row.
        padding_idx: this row (negative counts from the end) starts as zeros and gets no
            gradient.
        max_norm: if given, each looked-up row whose ``norm_type``-norm exceeds it is rescaled
            in place (untracked, as PyTorch) to norm ``max_norm`` first.
        norm_type: the p of that norm (default 2).
        scale_grad_by_freq: divide each row's gradient by its count in the batch.
        sparse: must be False (tapegrad's gradients are dense).
        device, dtype: of the weight.

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.Embedding(4, 2, padding_idx=0); m(tg.tensor([[0, 0]]))
        tensor([[[0., 0.],
                 [0., 0.]]], grad_fn=<AddBackward0>)
        >>> m
        Embedding(4, 2, padding_idx=0)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        _refuse_sparse("Embedding", sparse)
        num_embeddings = _count("Embedding", "num_embeddings", num_embeddings)
        embedding_dim = _count("Embedding", "embedding_dim", embedding_dim)
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = _padding_row("Embedding", padding_idx, num_embeddings)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        weight, fresh = _weight_for("Embedding", _weight, num_embeddings, embedding_dim,
                                    device, dtype)
        self.weight = Parameter(weight, requires_grad=not _freeze)
        if fresh:
            self.reset_parameters()
        self.sparse = sparse

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        parts = [f"{self.num_embeddings}", f"{self.embedding_dim}"]
        if self.padding_idx is not None:
            parts.append(f"padding_idx={self.padding_idx}")
        if self.max_norm is not None:
            parts.append(f"max_norm={self.max_norm}")
        if self.norm_type != 2:
            parts.append(f"norm_type={self.norm_type}")
        if self.scale_grad_by_freq is not False:
            parts.append(f"scale_grad_by_freq={self.scale_grad_by_freq}")
        return ", ".join(parts)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight is ``embeddings`` (shared, not copied; the padding row
        is left as it is).

        Args:
            embeddings: a 2-d tensor (num_embeddings, embedding_dim).
            freeze: the weight does not require grad (default True).
            padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse: as in the
                constructor.

        Example:
            >>> import tapegrad as tg
            >>> m = tg.nn.Embedding.from_pretrained(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
            >>> m(tg.tensor([1])), m.weight.requires_grad
            (tensor([[3., 4.]]), False)
        """
        rows, cols = _check_pretrained("Embedding", embeddings)
        return cls(rows, cols, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=embeddings,
                   _freeze=freeze)


class EmbeddingBag(_EmbeddingBase):
    """Sums, means or maxima of bags of embedding rows, without building each row.

    Bags are the rows of a 2-d input (B, L), or the runs of a 1-d input that ``offsets``
    starts.

    Args:
        num_embeddings: the number of rows.
        embedding_dim: the size of each row.
        max_norm, norm_type, scale_grad_by_freq: as in :class:`Embedding`.
        mode: 'sum', 'mean' (default) or 'max'.
        sparse: must be False (tapegrad's gradients are dense).
        include_last_offset: ``offsets`` has one entry more, the end of the last bag.
        padding_idx: entries equal to it are left out of their bag; the row starts as zeros.
        device, dtype: of the weight.

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.EmbeddingBag.from_pretrained(tg.tensor([[1.0], [2.0], [4.0]]),
        ...                                        mode="sum")
        >>> m(tg.tensor([0, 2, 1]), tg.tensor([0, 2]))
        tensor([[5.],
                [2.]])
        >>> m
        EmbeddingBag(3, 1, mode='sum')
    """

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, device=None, dtype=None):
        super().__init__()
        _refuse_sparse("EmbeddingBag", sparse)
        num_embeddings = _count("EmbeddingBag", "num_embeddings", num_embeddings)
        embedding_dim = _count("EmbeddingBag", "embedding_dim", embedding_dim)
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.padding_idx = _padding_row("EmbeddingBag", padding_idx, num_embeddings)
        weight, fresh = _weight_for("EmbeddingBag", _weight, num_embeddings, embedding_dim,
                                    device, dtype)
        self.weight = Parameter(weight)
        if fresh:
            self.reset_parameters()
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse,
                               per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        # PyTorch formats every value here with repr (mode='mean'), unlike Embedding's.
        parts = [repr(self.num_embeddings), repr(self.embedding_dim)]
        if self.max_norm is not None:
            parts.append(f"max_norm={self.max_norm!r}")
        if self.norm_type != 2:
            parts.append(f"norm_type={self.norm_type!r}")
        if self.scale_grad_by_freq is not False:
            parts.append(f"scale_grad_by_freq={self.scale_grad_by_freq!r}")
        parts.append(f"mode={self.mode!r}")
        if self.padding_idx is not None:
            parts.append(f"padding_idx={self.padding_idx!r}")
        return ", ".join(parts)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, mode="mean", sparse=False,
                        include_last_offset=False, padding_idx=None):
        """An EmbeddingBag whose weight is ``embeddings`` (shared, not copied).

        Args:
            embeddings: a 2-d tensor (num_embeddings, embedding_dim).
            freeze: the weight does not require grad (default True).
            max_norm, norm_type, scale_grad_by_freq, mode, sparse, include_last_offset,
                padding_idx: as in the constructor.

        Example:
            >>> import tapegrad as tg
            >>> m = tg.nn.EmbeddingBag.from_pretrained(tg.ones(3, 2), freeze=False)
            >>> m(tg.tensor([[0, 1]])), m.weight.requires_grad
            (tensor([[1., 1.]], grad_fn=<ResampleBackward0>), True)
        """
        rows, cols = _check_pretrained("EmbeddingBag", embeddings)
        bag = cls(rows, cols, max_norm=max_norm, norm_type=norm_type,
                  scale_grad_by_freq=scale_grad_by_freq, mode=mode, sparse=sparse,
                  _weight=embeddings, include_last_offset=include_last_offset,
                  padding_idx=padding_idx)
        bag.weight.requires_grad = not freeze
        return bag
