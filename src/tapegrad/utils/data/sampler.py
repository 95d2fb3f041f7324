"""Samplers: which indices a DataLoader fetches, in which order, in which batches."""
import numpy as np

from ..._core.tensor import Tensor
from ...ops.creation import default_generator

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]


def _generator_rng(generator):
    """A NumPy Generator for one pass: ``generator``'s own stream, or (None) a stream
    seeded from the default generator, so ``tapegrad.manual_seed`` makes it reproducible
    (PyTorch draws a seed from its default generator the same way)."""
    if generator is not None:
        return generator._rng
    return np.random.default_rng(int(default_generator._rng.integers(2 ** 63)))


class Sampler:
    """Base class: an iterable of indices (or of batches of indices), with ``__len__``."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1.

    Example:
        >>> import tapegrad as tg
        >>> list(tg.utils.data.SequentialSampler("abc"))
        [0, 1, 2]
    """

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """Random indices: a permutation (without replacement, repeated to reach
    ``num_samples``), or ``num_samples`` independent draws with replacement.

    Args:
        data_source: the dataset.
        replacement: draw with replacement.
        num_samples: how many indices per pass (default ``len(data_source)``).
        generator: a :class:`tapegrad.Generator` for a reproducible order.

    Example:
        >>> import tapegrad as tg
        >>> s = tg.utils.data.RandomSampler(range(5), generator=tg.Generator().manual_seed(1))
        >>> sorted(s)
        [0, 1, 2, 3, 4]
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={replacement}")
        if num_samples is not None and (isinstance(num_samples, bool)
                                        or not isinstance(num_samples, int) or num_samples <= 0):
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n, rng = len(self.data_source), _generator_rng(self.generator)
        if n == 0 and self.num_samples > 0:   # checked here: a dataset's length may change
            raise ValueError(f"RandomSampler: can't draw num_samples={self.num_samples} "
                             "indices from an empty data_source")
        if self.replacement:
            yield from rng.integers(0, n, self.num_samples).tolist()
            return
        remaining = self.num_samples
        while remaining > 0:
            perm = rng.permutation(n).tolist()
            yield from perm[:remaining]
            remaining -= n

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order (without replacement).

    Example:
        >>> import tapegrad as tg
        >>> sorted(tg.utils.data.SubsetRandomSampler([7, 3, 9]))
        [3, 7, 9]
    """

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        for i in _generator_rng(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``.

    Example:
        >>> import tapegrad as tg
        >>> s = tg.utils.data.WeightedRandomSampler([0.0, 1.0, 0.0], 4)
        >>> list(s)
        [1, 1, 1, 1]
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if (isinstance(num_samples, bool) or not isinstance(num_samples, int)
                or num_samples <= 0):
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        w = np.asarray(weights._data if isinstance(weights, Tensor) else weights, np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(w.shape)}")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and "
                             "not all zero")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(f"WeightedRandomSampler: can't draw {num_samples} samples without "
                             f"replacement from {np.count_nonzero(w)} non-zero weights")
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        rng = _generator_rng(self.generator)
        p = self.weights / self.weights.sum()
        yield from rng.choice(len(p), self.num_samples, replace=self.replacement, p=p).tolist()

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``.

    Example:
        >>> import tapegrad as tg
        >>> list(tg.utils.data.BatchSampler(range(5), 2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        if (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
