"""Packed and padded batches of variable-length sequences, as torch.nn.utils.rnn.

A ``PackedSequence`` holds the steps of a batch of sequences sorted by decreasing length,
step after step: ``data`` (N, *) has first the ``batch_sizes[0]`` first elements, then the
``batch_sizes[1]`` second elements, ...; the recurrent modules take it as input and give
their output packed the same way. Every function here moves rows with one differentiable
gather (``index_select``), so gradients flow through packing and padding.
"""
from collections import namedtuple

import numpy as np

from ..._core.errors import ArgumentError, ShapeError
from ..._core.tensor import Tensor
from ...ops.creation import full, tensor
from ...ops.index_ops import index_select
from ...ops.shape import cat

__all__ = ["PackedSequence", "invert_permutation", "pad_sequence", "unpad_sequence",
           "pack_padded_sequence", "pad_packed_sequence", "pack_sequence", "unpack_sequence"]


def _int64(a):
    return tensor(np.asarray(a, dtype=np.int64))


def _numpy_ints(a):
    """A 1-d int64 NumPy array from a list, array or tensor of ints."""
    if isinstance(a, Tensor):
        a = a.detach().numpy()
    return np.asarray(a, dtype=np.int64).reshape(-1)


def invert_permutation(permutation):
    """The inverse of a permutation given as an int64 tensor (None for None).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils.rnn import invert_permutation
        >>> invert_permutation(tg.tensor([2, 0, 1]))
        tensor([1, 2, 0])
    """
    if permutation is None:
        return None
    p = _numpy_ints(permutation)
    inv = np.empty_like(p)
    inv[p] = np.arange(len(p))
    return _int64(inv)


class PackedSequence(namedtuple("PackedSequence_",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """A batch of variable-length sequences packed step by step (see the module docstring).

    Made by :func:`pack_padded_sequence` or :func:`pack_sequence`, not by hand.

    Args:
        data: (N, *) the steps of all sequences, step after step.
        batch_sizes: int64 tensor: how many sequences have a step t, for each t.
        sorted_indices: int64 tensor: the batch index of each sequence in the packed order
            (None: the batch was already sorted by decreasing length).
        unsorted_indices: its inverse (computed when None).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils.rnn import pack_sequence
        >>> p = pack_sequence([tg.tensor([1.0, 2.0, 3.0]), tg.tensor([4.0])])
        >>> p.data, p.batch_sizes
        (tensor([1., 4., 2., 3.]), tensor([2, 1, 1]))
    """
    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:
            raise ArgumentError("PackedSequence: batch_sizes is required; build packed "
                                "sequences with pack_padded_sequence or pack_sequence.")
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data):
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def to(self, *args, **kwargs):
        """The same packing with ``data.to(*args, **kwargs)`` (self if nothing changes)."""
        return self._with_data(self.data.to(*args, **kwargs))

    def float(self):
        return self._with_data(self.data.float())

    def double(self):
        return self._with_data(self.data.double())

    def half(self):
        return self._with_data(self.data.half())

    def cpu(self):
        return self

    @property
    def is_cuda(self):
        return False

    def is_pinned(self):
        return False


def _starts(batch_sizes):
    """The first packed row of each step."""
    return np.concatenate([[0], np.cumsum(batch_sizes[:-1])]).astype(np.int64)


def _lengths_of(batch_sizes):
    """The length of each sequence in the packed (sorted) order."""
    b = len(batch_sizes) and int(batch_sizes[0])
    return (batch_sizes[None, :] > np.arange(b)[:, None]).sum(1)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch of variable-length sequences.

    Args:
        input: (T, B, *) padded sequences ((B, T, *) if ``batch_first``).
        lengths: the length of each sequence (a list or a 1-d tensor), each in [1, T].
        batch_first: whether ``input`` is (B, T, *).
        enforce_sorted: require ``lengths`` to be non-increasing; if False the sequences are
            sorted here and ``sorted_indices`` records the order.

    Returns:
        A PackedSequence (gradients flow back to ``input``'s non-padding entries).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils.rnn import pack_padded_sequence
        >>> x = tg.tensor([[1.0, 4.0], [2.0, 0.0], [3.0, 0.0]])    # (T=3, B=2)
        >>> pack_padded_sequence(x, [3, 1]).data
        tensor([1., 4., 2., 3.])
    """
    lengths = _numpy_ints(lengths)
    shape = tuple(input.shape)
    if len(shape) < 2:
        raise ShapeError(f"pack_padded_sequence: input of shape {shape} must have a time and "
                         "a batch dim, (T, B, *) or (B, T, *) with batch_first=True.")
    steps, batch = (shape[1], shape[0]) if batch_first else shape[:2]
    if len(lengths) != batch:
        raise ShapeError(f"pack_padded_sequence: Expected `len(lengths)` to be equal to "
                         f"batch_size, but got {len(lengths)} (batch_size={batch}) for input "
                         f"of shape {shape}.")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise ArgumentError(
                "pack_padded_sequence: `lengths` array must be sorted in decreasing order "
                "when `enforce_sorted` is True. You can pass `enforce_sorted=False` to "
                "pack_padded_sequence and/or pack_sequence to sidestep this requirement if "
                f"you do not need ONNX exportability (got lengths {lengths.tolist()}).")
        order, sorted_indices = np.arange(batch), None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = _int64(order)
    if batch and lengths.min() <= 0:
        raise ArgumentError("pack_padded_sequence: Length of all samples has to be greater "
                            "than 0, but found an element in 'lengths' that is <= 0 "
                            f"(lengths {lengths.tolist()}).")
    if batch and lengths.max() > steps:
        raise ShapeError(f"pack_padded_sequence: a length of {lengths.max()} exceeds the "
                         f"{steps} steps of input of shape {shape}.")
    sorted_lengths = lengths[order]
    batch_sizes = (sorted_lengths[None, :] > np.arange(sorted_lengths[0] if batch else 0)
                   [:, None]).sum(1)
    rows = []
    for t, b in enumerate(batch_sizes):          # (T, B) row t * B + b, or (B, T) b * T + t
        seq = order[:b]
        rows.append(seq * steps + t if batch_first else t * batch + seq)
    index = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    data = index_select(input.reshape((steps * batch,) + shape[2:]), 0, _int64(index))
    return PackedSequence(data, _int64(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Unpack a PackedSequence into a padded batch (the inverse of pack_padded_sequence).

    Args:
        sequence: the PackedSequence.
        batch_first: give (B, T, *) instead of (T, B, *).
        padding_value: the value of the padding entries.
        total_length: pad to this many steps (at least the longest length; default that).

    Returns:
        (padded, lengths): the padded batch in the original batch order, and the int64
        tensor of the lengths.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils.rnn import pack_sequence, pad_packed_sequence
        >>> p = pack_sequence([tg.tensor([1.0]), tg.tensor([2.0, 3.0])], enforce_sorted=False)
        >>> pad_packed_sequence(p, batch_first=True)
        (tensor([[1., 0.],
                [2., 3.]]), tensor([1, 2]))
    """
    data, batch_sizes = sequence.data, _numpy_ints(sequence.batch_sizes)
    max_len = len(batch_sizes)
    if total_length is not None:
        if total_length < max_len:
            raise ArgumentError(
                "pad_packed_sequence: Expected total_length to be at least the length of the "
                f"longest sequence in input, but got total_length={total_length} and max "
                f"sequence length being {max_len}")
        max_len = int(total_length)
    batch = int(batch_sizes[0]) if len(batch_sizes) else 0
    sorted_lengths = _lengths_of(batch_sizes)
    starts = _starts(batch_sizes)
    # where sequence b of the original order sits in the packed (sorted) order
    unsorted = (np.arange(batch) if sequence.unsorted_indices is None
                else _numpy_ints(sequence.unsorted_indices))
    n = data.shape[0]
    t = np.arange(max_len)[:, None]
    j = unsorted[None, :]
    lengths = sorted_lengths[unsorted]
    inside = t < lengths[None, :]
    index = np.where(inside, starts[np.minimum(t, len(starts) - 1)] + j, n)    # n: padding
    if batch_first:
        index = index.T
    pad = full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype)
    out = index_select(cat([data, pad]), 0, _int64(index.reshape(-1)))
    return out.reshape(index.shape + tuple(data.shape[1:])), _int64(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack variable-length sequences into one padded batch.

    Args:
        sequences: a list of tensors (L_i, *) with the same trailing dims.
        batch_first: give (B, T, *) instead of (T, B, *), T the longest length.
        padding_value: the value of the padding entries.
        padding_side: "right" (pad after each sequence) or "left" (before).

    Returns:
        The padded batch.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils.rnn import pad_sequence
        >>> pad_sequence([tg.tensor([1.0, 2.0]), tg.tensor([3.0])], batch_first=True)
        tensor([[1., 2.],
                [3., 0.]])
    """
    if padding_side not in ("left", "right"):
        raise ArgumentError("pad_sequence: Expected padding_side to be one of left or right, "
                            f"but got {padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise ArgumentError("pad_sequence: received an empty list of sequences")
    trailing = tuple(sequences[0].shape[1:])
    for k, s in enumerate(sequences):
        if s.ndim == 0 or tuple(s.shape[1:]) != trailing:
            raise ShapeError(f"pad_sequence: every sequence must be (L, *{trailing}); "
                             f"sequence 0 has shape {tuple(sequences[0].shape)}, sequence {k} "
                             f"has shape {tuple(s.shape)}.")
    lengths = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths[:-1])]).astype(np.int64)
    total = int(lengths.sum())
    max_len = int(lengths.max())
    t = np.arange(max_len)[:, None]
    pos = t - (max_len - lengths[None, :]) if padding_side == "left" else t
    inside = (pos >= 0) & (pos < lengths[None, :])
    index = np.where(inside, offsets[None, :] + pos, total)          # total: padding
    if batch_first:
        index = index.T
    data = cat(sequences)
    pad = full((1,) + trailing, padding_value, dtype=data.dtype)
    out = index_select(cat([data, pad]), 0, _int64(index.reshape(-1)))
    return out.reshape(index.shape + trailing)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Split a padded batch back into its sequences (the inverse of pad_sequence).

    Args:
        padded_sequences: (T, B, *) ((B, T, *) if ``batch_first``).
        lengths: the length of each sequence.
        batch_first: whether the batch is (B, T, *).

    Returns:
        A list of B tensors (L_i, *).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils.rnn import unpad_sequence
        >>> unpad_sequence(tg.tensor([[1.0, 3.0], [2.0, 0.0]]), [2, 1])
        [tensor([1., 2.]), tensor([3.])]
    """
    lengths = _numpy_ints(lengths)
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[b, :int(n)] for b, n in enumerate(lengths)]


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of variable-length sequences (pad_sequence, then pack_padded_sequence).

    Args:
        sequences: a list of tensors (L_i, *), by decreasing length if ``enforce_sorted``.
        enforce_sorted: require decreasing lengths; if False they are sorted here.

    Returns:
        A PackedSequence.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils.rnn import pack_sequence
        >>> pack_sequence([tg.tensor([1.0]), tg.tensor([2.0, 3.0])], enforce_sorted=False)
        PackedSequence(data=tensor([2., 1., 3.]), batch_sizes=tensor([2, 1]),
                       sorted_indices=tensor([1, 0]), unsorted_indices=tensor([1, 0]))
    """
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """Split a PackedSequence into its sequences, in the original order.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils.rnn import pack_sequence, unpack_sequence
        >>> unpack_sequence(pack_sequence([tg.tensor([1.0]), tg.tensor([2.0, 3.0])], False))
        [tensor([1.]), tensor([2., 3.])]
    """
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
