"""Collation: how a list of samples becomes one batch (default_collate), and how a single
sample is converted when batching is off (default_convert)."""
import copy
from collections.abc import Mapping, MutableMapping, Sequence

import numpy as np

from ..._core.errors import ShapeError
from ..._core.tensor import Tensor, wrap
from ...ops.creation import tensor
from ...ops.shape import stack

__all__ = ["default_collate", "default_convert"]

_NOT_NUMERIC = "SaUO"      # NumPy kinds: bytes, str, unicode, object


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _same_mapping(elem, items):
    """``items`` in a mapping of ``elem``'s type, as PyTorch keeps it (an OrderedDict
    stays one, a defaultdict keeps its factory); a plain dict when the type can't be made."""
    try:
        if isinstance(elem, MutableMapping):
            clone = copy.copy(elem)
            clone.update(items)
            return clone
        return type(elem)(items)
    except TypeError:
        return items


def default_collate(batch):
    """Stack a list of samples into a batch, as PyTorch's default_collate: tensors, NumPy
    arrays and numbers are stacked into tensors (floats as float64, ints as int64, bools as
    bool), strings stay a list, and dicts, tuples, namedtuples and lists are collated
    field by field (tuples give lists, as in PyTorch).

    Example:
        >>> import tapegrad as tg
        >>> tg.utils.data.default_collate([(tg.ones(2), 1), (tg.zeros(2), 0)])
        [tensor([[1., 1.],
                [0., 0.]]), tensor([1, 0])]
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        shapes = {t.shape for t in batch}
        if len(shapes) > 1:
            raise ShapeError(f"default_collate: can't stack tensors of different shapes "
                             f"{sorted(tuple(s) for s in shapes)}; pad them (e.g. "
                             "nn.utils.rnn.pad_sequence) in a collate_fn")
        if any(t.requires_grad for t in batch):     # keep the graph, as torch.stack does
            return stack(list(batch))
        return wrap(np.stack([t._data for t in batch]))
    if isinstance(elem, np.ndarray) and elem.dtype.kind not in _NOT_NUMERIC:
        return default_collate([wrap(np.asarray(a)) for a in batch])
    if isinstance(elem, np.generic) and elem.dtype.kind not in _NOT_NUMERIC:
        return wrap(np.array(batch))
    if isinstance(elem, int):
        # NOTE: like PyTorch's torch.tensor(batch), the whole batch decides: all bools give
        # bool, ints int64, and any float the default float dtype (never a truncation).
        return tensor(list(batch))
    if isinstance(elem, float):
        return wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, Mapping):
        return _same_mapping(elem, {key: default_collate([d[key] for d in batch])
                                    for key in elem})
    # NOTE: the columns are passed on as the tuples zip makes, not lists: strings come
    # back as those tuples, as in PyTorch.
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, Sequence):
        if len({len(s) for s in batch}) != 1:
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [default_collate(s) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns
        try:
            return type(elem)(columns)
        except TypeError:
            return columns
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, "
                    f"dicts or lists; found {type(elem)}")


def default_convert(data):
    """Convert one sample without batching: NumPy arrays become tensors, containers are
    converted field by field, everything else is kept (PyTorch's default_convert)."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in _NOT_NUMERIC:
        return wrap(data)
    if isinstance(data, np.generic) and data.dtype.kind not in _NOT_NUMERIC:
        return wrap(np.asarray(data))
    if isinstance(data, Mapping):
        return _same_mapping(data, {k: default_convert(v) for k, v in data.items()})
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
