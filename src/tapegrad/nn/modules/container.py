"""Containers: Sequential, ModuleList, ModuleDict, ParameterList and ParameterDict.

Their entries are registered under string keys ("0", "1", ... for the list-like ones), so
parameter names such as ``layers.0.weight`` match PyTorch's.
"""
import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from ..._core.tensor import Tensor
from ..parameter import Parameter
from .module import Module, _indent

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


def _position(container, idx):
    """``idx`` (possibly negative) as a position in ``container``, or IndexError."""
    idx = operator.index(idx)
    n = len(container)
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range for {type(container).__name__} of "
                         f"length {n}")
    return idx % n


class _ListLike(Module):
    """Shared indexing of the list-like containers: entries live in ``_modules`` (or
    ``_parameters``) under the keys "0", "1", ..., renumbered after a deletion."""
    _table = "_modules"

    def _entries(self):
        return getattr(self, self._table)

    def __len__(self):
        return len(self._entries())

    def __iter__(self):
        return iter(list(self._entries().values()))

    def _renumber(self, values):
        entries = self._entries()
        entries.clear()
        for i, v in enumerate(values):
            entries[str(i)] = v

    def __delitem__(self, idx):
        values = list(self._entries().values())
        if isinstance(idx, slice):
            del values[idx]
        else:
            del values[_position(self, idx)]
        self._renumber(values)

    def insert(self, index, value):
        """Insert ``value`` before position ``index``."""
        values = list(self._entries().values())
        values.insert(index, value)
        self._renumber([])
        for v in values:
            self.append(v)

    def pop(self, key=-1):
        """Remove and return the entry at ``key`` (default: the last)."""
        value = self[key]
        del self[key]
        return value

    def extend(self, values):
        """Append every entry of ``values``; returns the container."""
        for v in values:
            self.append(v)
        return self

    def __iadd__(self, values):
        return self.extend(values)

    def __dir__(self):
        return [k for k in super().__dir__() if not k.isdigit()]


class Sequential(_ListLike):
    """Modules applied one after another: ``Sequential(a, b)(x)`` is ``b(a(x))``.

    Takes the modules as arguments (named "0", "1", ...) or one OrderedDict of named modules.
    Supports indexing, slicing (a new Sequential), ``len``, ``append``, ``insert``,
    ``extend``, ``pop``, ``del`` and ``+``.

    Example:
        >>> import tapegrad as tg
        >>> net = tg.nn.Sequential(tg.nn.Linear(3, 4), tg.nn.ReLU(), tg.nn.Linear(4, 1))
        >>> net(tg.ones(2, 3)).shape, len(net), net[1]
        (tapegrad.Size([2, 1]), 3, ReLU())
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], Mapping):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_position(self, idx)]

    def __setitem__(self, idx, module):
        key = list(self._modules)[_position(self, idx)]
        self.add_module(key, module)

    def append(self, module):
        """Add ``module`` at the end; returns the Sequential."""
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index`` (-len <= index <= len, or IndexError,
        as PyTorch); returns the Sequential."""
        n = len(self)
        if not -n <= operator.index(index) <= n:
            raise IndexError(f"Sequential.insert: Index out of range: {index} (the Sequential "
                             f"has {n} modules; use -{n} to {n})")
        super().insert(index, module)
        return self

    def __mul__(self, other):
        """A Sequential of ``other`` repeats of these modules (the same objects, shared)."""
        if not isinstance(other, int) or isinstance(other, bool):
            return NotImplemented
        if other <= 0:
            raise ValueError(f"Non-positive multiplication factor {other} for Sequential: "
                             "repeat it at least once")
        return Sequential(*(list(self) * other))

    __rmul__ = __mul__

    def __imul__(self, other):
        if not isinstance(other, int) or isinstance(other, bool):
            return NotImplemented
        repeats = self * other          # checks the factor
        self.extend(list(repeats)[len(self):])
        return self

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError("add operator supports only objects of Sequential class, but "
                             f"{type(other)} is given.")
        return Sequential(*self, *other)


class ModuleList(_ListLike):
    """A list of modules whose parameters belong to the owner (a plain list's would not).

    Example:
        >>> import tapegrad as tg
        >>> layers = tg.nn.ModuleList([tg.nn.Linear(2, 2) for _ in range(3)])
        >>> len(layers), len(list(layers.parameters()))
        (3, 6)
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return list(self._modules.values())[_position(self, idx)]

    def __setitem__(self, idx, module):
        self.add_module(str(_position(self, idx)), module)

    def append(self, module):
        """Add ``module`` at the end; returns the list."""
        self.add_module(str(len(self)), module)
        return self

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def __repr__(self):
        # Runs of identical entries are folded into one line, "(0-2): 3 x Linear(...)".
        items = [(int(k), repr(m)) for k, m in self._modules.items()]
        if not items:
            return self._get_name() + "()"
        lines, start = [], 0
        while start < len(items):
            end = start
            while end + 1 < len(items) and items[end + 1][1] == items[start][1]:
                end += 1
            text = _indent(items[start][1], 2)
            if end > start:
                lines.append(f"({items[start][0]}-{items[end][0]}): {end - start + 1} x {text}")
            else:
                lines.append(f"({items[start][0]}): {text}")
            start = end + 1
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


def _pairs(name, entries, mappings):
    """(key, value) pairs from ``entries``: the items of one of ``mappings``, or an iterable
    of pairs, checked with PyTorch's messages."""
    if isinstance(entries, mappings):
        return list(entries.items())
    if not isinstance(entries, Iterable):
        raise TypeError(f"{name}.update should be called with an iterable of key/value pairs, "
                        f"but got {type(entries).__name__}")
    pairs = []
    for j, pair in enumerate(entries):
        if not isinstance(pair, Iterable):
            raise TypeError(f"{name} update sequence element #{j} should be Iterable; is "
                            f"{type(pair).__name__}")
        pair = tuple(pair)
        if len(pair) != 2:
            raise ValueError(f"{name} update sequence element #{j} has length {len(pair)}; 2 "
                             "is required")
        pairs.append(pair)
    return pairs


class ModuleDict(Module):
    """A dict of modules (insertion-ordered) whose parameters belong to the owner.

    Example:
        >>> import tapegrad as tg
        >>> heads = tg.nn.ModuleDict({"a": tg.nn.Linear(2, 1), "b": tg.nn.Linear(2, 3)})
        >>> list(heads), heads["b"].out_features
        (['a', 'b'], 3)
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(list(self._modules))

    def __contains__(self, key):
        return key in self._modules

    def clear(self):
        """Remove every entry."""
        self._modules.clear()

    def pop(self, key):
        """Remove and return the module under ``key``."""
        module = self[key]
        del self[key]
        return module

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules):
        """Add entries from a mapping, a ModuleDict or an iterable of (key, module) pairs,
        in their order."""
        for key, module in _pairs("ModuleDict", modules, (Mapping, ModuleDict)):
            self[key] = module


def _parameter_line(key, value):
    if isinstance(value, Tensor):
        kind = "Parameter containing" if isinstance(value, Parameter) else "Tensor"
        size = "x".join(str(n) for n in value.shape)
        return f"({key}): {kind}: [tapegrad.{value.dtype.name} of size {size}]"
    return f"({key}): Object of type: {type(value).__name__}"


def _as_parameter(value):
    """Tensors put in a ParameterList/Dict become Parameters (sharing storage), as in
    PyTorch. (PyTorch also keeps non-tensor values there; tapegrad refuses them with
    register_parameter's TypeError.)"""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


class ParameterList(_ListLike):
    """A list of Parameters registered on the owner (plain Tensors are wrapped).

    Example:
        >>> import tapegrad as tg
        >>> ps = tg.nn.ParameterList([tg.nn.Parameter(tg.ones(2)) for _ in range(2)])
        >>> len(list(ps.parameters())), [n for n, _ in ps.named_parameters()]
        (2, ['0', '1'])
    """
    _table = "_parameters"

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._parameters.values())[idx])
        return list(self._parameters.values())[_position(self, idx)]

    def __setitem__(self, idx, value):
        self.register_parameter(str(_position(self, idx)), _as_parameter(value))

    def append(self, value):
        """Add ``value`` at the end (a Tensor becomes a Parameter); returns the list."""
        self.register_parameter(str(len(self)), _as_parameter(value))
        return self

    def extra_repr(self):
        return "\n".join("  " + _parameter_line(k, v) for k, v in self._parameters.items())


class ParameterDict(Module):
    """A dict of Parameters registered on the owner (plain Tensors are wrapped).

    Example:
        >>> import tapegrad as tg
        >>> pd = tg.nn.ParameterDict({"scale": tg.ones(3)})
        >>> type(pd["scale"]).__name__, [n for n, _ in pd.named_parameters()]
        ('Parameter', ['scale'])
    """

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        return self._parameters[key]

    def __setitem__(self, key, value):
        self.register_parameter(key, _as_parameter(value))

    def __delitem__(self, key):
        del self._parameters[key]

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(list(self._parameters))

    def __contains__(self, key):
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def items(self):
        return self._parameters.items()

    def values(self):
        return self._parameters.values()

    def get(self, key, default=None):
        return self._parameters.get(key, default)

    def pop(self, key):
        """Remove and return the parameter under ``key``."""
        value = self[key]
        del self[key]
        return value

    def clear(self):
        """Remove every entry."""
        self._parameters.clear()

    def update(self, parameters):
        """Add entries from an OrderedDict, a ParameterDict or an iterable of (key, value)
        pairs, in their order, or from another mapping in sorted key order (as PyTorch,
        whose ParameterDict does not keep a plain dict's order)."""
        if isinstance(parameters, Mapping) and not isinstance(parameters, OrderedDict):
            pairs = sorted(parameters.items(), key=lambda kv: kv[0])
        else:
            pairs = _pairs("ParameterDict", parameters, (OrderedDict, ParameterDict))
        for key, value in pairs:
            self[key] = value

    def setdefault(self, key, default=None):
        """The parameter under ``key``, first set to ``default`` if there is none."""
        if key not in self:
            self[key] = default
        return self[key]

    def popitem(self):
        """Remove and return the last (key, parameter) pair."""
        key = next(reversed(self._parameters))
        return key, self.pop(key)

    def copy(self):
        """A new ParameterDict holding the same parameters, in the same order."""
        return ParameterDict(OrderedDict(self.items()))

    def fromkeys(self, keys, default=None):
        """A new ParameterDict with each of ``keys`` set to ``default``."""
        return ParameterDict([(key, default) for key in keys])

    def __reversed__(self):
        return reversed(list(self._parameters))

    def __or__(self, other):
        merged = self.copy()
        merged.update(other)
        return merged

    def __ror__(self, other):
        merged = other.copy()
        merged.update(self)
        return merged

    def __ior__(self, other):
        self.update(other)
        return self

    def extra_repr(self):
        return "\n".join("  " + _parameter_line(k, v) for k, v in self._parameters.items())
