"""Datasets: map-style (``__getitem__`` and ``__len__``) and iterable ones, and the
combinators that join, stack and split them."""
import bisect
import itertools
import math
import warnings

from ..._core.errors import ArgumentError, ShapeError
from .sampler import _generator_rng

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset",
           "ChainDataset", "Subset", "random_split"]


class Dataset:
    """A map-style dataset: subclass it and define ``__getitem__`` (and ``__len__``, which
    samplers use). ``a + b`` concatenates two datasets."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: subclass it and define ``__iter__``. With worker
    processes each worker iterates its own copy; shard with :func:`get_worker_info`."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other):
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the rows of several tensors of the same first dimension.

    Example:
        >>> import tapegrad as tg
        >>> ds = tg.utils.data.TensorDataset(tg.arange(6.0).reshape(3, 2), tg.tensor([0, 1, 0]))
        >>> len(ds), ds[1]
        (3, (tensor([2., 3.]), tensor(1)))
    """

    def __init__(self, *tensors):
        sizes = {t.shape[0] if t.ndim else None for t in tensors}
        if len(sizes) > 1 or None in sizes:
            raise ShapeError("TensorDataset: every tensor needs the same first dimension; got "
                             f"shapes {[tuple(t.shape) for t in tensors]}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0] if self.tensors else 0


class StackDataset(Dataset):
    """Samples are tuples (positional datasets) or dicts (keyword datasets) of the samples
    of several datasets of the same length.

    Example:
        >>> import tapegrad as tg
        >>> ds = tg.utils.data.StackDataset(image=[10, 20], label=[1, 2])
        >>> ds[1]
        {'image': 20, 'label': 2}
    """

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("StackDataset: pass datasets either as positional arguments "
                             "(tuple samples) or as keywords (dict samples), not both")
        if not args and not kwargs:
            raise ValueError("StackDataset: pass at least one dataset")
        self.datasets = args or kwargs
        items = args if args else tuple(kwargs.values())
        lengths = {len(d) for d in items}
        if len(lengths) != 1:
            raise ValueError(f"StackDataset: every dataset must have the same length; got "
                             f"{sorted(lengths)}")
        self._length = lengths.pop()

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self):
        return self._length


class ConcatDataset(Dataset):
    """Several map-style datasets one after another.

    Example:
        >>> import tapegrad as tg
        >>> ds = tg.utils.data.ConcatDataset([[1, 2], [3, 4, 5]])
        >>> len(ds), ds[2], ds[-1]
        (5, 3, 5)
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset; use "
                                "ChainDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        n = len(self)
        if index < 0:
            if -index > n:
                raise IndexError(f"ConcatDataset: index {index} is out of range for length {n}")
            index += n
        if index >= n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for length {n}")
        k = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[k - 1] if k else 0
        return self.datasets[k][index - start]


class ChainDataset(IterableDataset):
    """Several iterable datasets chained one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Example:
        >>> import tapegrad as tg
        >>> s = tg.utils.data.Subset([10, 20, 30, 40], [3, 0])
        >>> len(s), s[0], s[1]
        (2, 40, 10)
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices):
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random Subsets of the given lengths, or of
    the given fractions of its length (the remainder goes round-robin to the first parts,
    as PyTorch does).

    Args:
        dataset: a map-style dataset.
        lengths: the sizes (ints summing to ``len(dataset)``) or fractions summing to 1.
        generator: a :class:`tapegrad.Generator` for a reproducible split.

    Example:
        >>> import tapegrad as tg
        >>> a, b = tg.utils.data.random_split(range(10), [0.7, 0.3],
        ...                                   generator=tg.Generator().manual_seed(0))
        >>> len(a), len(b), sorted(list(a) + list(b)) == list(range(10))
        (7, 3, True)
    """
    lengths = list(lengths)
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1")
            counts.append(int(math.floor(n * frac)))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, c in enumerate(counts):
            if c == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0; this might "
                              "result in an empty dataset.", stacklevel=2)
        lengths = counts
    if any(isinstance(x, bool) or int(x) != x or x < 0 for x in lengths):
        raise ArgumentError(f"random_split: lengths must be non-negative ints or fractions "
                            f"summing to 1; got {lengths}")
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!"
                         f" (lengths {lengths} sum to {sum(lengths)}, the dataset has {n})")
    order = _generator_rng(generator).permutation(n).tolist()
    splits, start = [], 0
    for length in lengths:
        splits.append(Subset(dataset, order[start:start + int(length)]))
        start += int(length)
    return splits
