"""Parameter and Buffer: the tensors a Module registers when they are assigned to it."""
import numpy as np

from .._core.errors import DTypeError
from .._core.tensor import Tensor, _new, wrap


def _adopt(cls, data, requires_grad):
    """A ``cls`` instance sharing ``data``'s array (no copy), as a fresh leaf."""
    if data is None:
        arr = np.empty(0, dtype=np.float32)
    elif isinstance(data, Tensor):
        arr = data._data
    else:
        raise DTypeError(f"{cls.__name__}: data must be a Tensor (use tapegrad.tensor(...)), "
                         f"got {type(data).__name__}")
    t = _new(cls)
    t._data = arr
    t._grad = None
    t._grad_fn = None
    t._vc = data._counter() if isinstance(data, Tensor) else None
    t._view = None
    t._accum = None
    t._fw = None
    t._requires_grad = False
    if requires_grad:
        t.requires_grad = True      # the setter refuses integer dtypes with a clear error
    return t


class Parameter(Tensor):
    """A Tensor that a Module lists in ``parameters()`` when assigned as its attribute.

    It shares ``data``'s storage (no copy) and requires grad by default. Operations on a
    Parameter give plain Tensors; in-place ones keep the Parameter.

    Args:
        data: the initial value (a Tensor); None gives an empty float32 tensor.
        requires_grad: whether the parameter requires grad (default True).

    Example:
        >>> import tapegrad as tg
        >>> tg.nn.Parameter(tg.tensor([1.0, 2.0]))
        Parameter containing:
        tensor([1., 2.], requires_grad=True)
    """
    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        return _adopt(cls, data, requires_grad)

    def __init__(self, data=None, requires_grad=True):
        pass        # everything was set in __new__ (Tensor.__init__ would copy the data)

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        # NOTE: like PyTorch's Parameter (unlike its plain tensors), the copy has no grad.
        t = type(self)(wrap(self._data.copy()), self.requires_grad)
        memo[id(self)] = t
        return t

    def __reduce__(self):
        return (_rebuild_parameter, (type(self), self._data, self._requires_grad))

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute.

    ``module.name = Buffer(t, persistent=True)`` is ``module.register_buffer(name, t,
    persistent)``; the module stores a plain Tensor sharing ``t``'s storage, as PyTorch does.

    Args:
        data: the buffer's value (a Tensor).
        persistent: whether the buffer belongs to ``state_dict()`` (default True).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.Module(); m.steps = tg.nn.Buffer(tg.zeros(1))
        >>> list(m.state_dict())
        ['steps']
    """
    __slots__ = ("persistent",)

    def __new__(cls, data=None, *, persistent=True):
        t = _adopt(cls, data, False)
        t.persistent = persistent
        return t

    def __init__(self, data=None, *, persistent=True):
        pass


def _rebuild_parameter(cls, data, requires_grad):
    return cls(wrap(data), requires_grad)
