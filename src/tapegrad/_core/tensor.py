"""The Tensor data structure: an ndarray plus what autograd needs to know about it.

No op logic lives here: arithmetic, shape ops and in-place ops are bound onto the class by
``tapegrad.ops.methods`` (one visible table), and ``backward`` reaches up to the engine
with a late import (the core never imports the floors above it at import time).
"""
import numpy as np

from . import dtypes
from .errors import DTypeError, GradError
from .node import AccumulateGrad

_ndarray = np.ndarray


class Version:
    """A storage's version counter, shared by a tensor, its views and its detached aliases.
    ``site`` is where the last recorded in-place change happened, for error messages."""
    __slots__ = ("value", "site")

    def __init__(self):
        self.value = 0
        self.site = None


class Tensor:
    """A multi-dimensional array that can record the ops applied to it for autograd.

    Create tensors with :func:`tapegrad.tensor` and the factory functions.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).sum().backward(); x.grad
        tensor([2., 4.])
    """
    __slots__ = ("_data", "grad", "_requires_grad", "grad_fn", "_vc", "_view", "_accum",
                 "__weakref__")
    # Make ``ndarray <op> Tensor`` call the Tensor's reflected operator instead of NumPy's.
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False):
        # Like torch.Tensor(data): always a float32 copy (use tapegrad.tensor to keep dtypes).
        self._data = np.array(data._data if isinstance(data, Tensor) else data, dtype=np.float32)
        self.grad = None
        self.grad_fn = None
        self._vc = None
        self._view = None
        self._accum = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    # ---- autograd state -------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        flag = bool(flag)
        if not flag and self.grad_fn is not None:
            raise GradError(
                "requires_grad=False can only be set on a leaf tensor; this one was computed "
                f"by {self.grad_fn.name()}. Use y = y.detach() to get a tensor without history.")
        if flag and self._data.dtype.kind not in "fc":
            raise DTypeError(
                f"only floating point tensors can require gradients, but this tensor has dtype "
                f"{self.dtype} (shape {tuple(self.shape)}). Convert it first: "
                "t = t.float().requires_grad_()")
        self._requires_grad = flag

    def requires_grad_(self, requires_grad=True):
        """Set requires_grad in place and return self."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        """True for tensors not produced by a recorded op (user-created, or computed without grad)."""
        return self.grad_fn is None

    @property
    def _version(self):
        return 0 if self._vc is None else self._vc.value

    def _counter(self):
        """This storage's version counter, made on first need (most tensors never need one)."""
        vc = self._vc
        if vc is None:
            vc = self._vc = Version()
        return vc

    def _bump(self, site=None):
        vc = self._counter()
        vc.value += 1
        vc.site = site

    def _accumulator(self):
        """The AccumulateGrad node of this leaf (one per leaf, made on first use)."""
        acc = self._accum
        if acc is None:
            acc = self._accum = AccumulateGrad(self)
        return acc

    def _node(self):
        """The node gradients for this tensor flow into: grad_fn, or the leaf's accumulator."""
        return self.grad_fn if self.grad_fn is not None else self._accumulator()

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute d self / d leaves and add it into each leaf's ``.grad``.

        Args:
            gradient: d loss / d self; may be omitted only when self has one element.
            retain_graph: keep saved values for another backward (default: create_graph).
            create_graph: record the backward pass so gradients can be differentiated again.
            inputs: only accumulate into these tensors' ``.grad``.
        """
        from ..autograd.engine import backward   # late import: the core sits below the engine
        backward((self,), None if gradient is None else (gradient,), retain_graph,
                 create_graph, inputs=inputs)

    def detach(self):
        """A tensor sharing this one's data (and version counter) with no autograd history."""
        t = _new(Tensor)
        t._data = self._data
        t.grad = t.grad_fn = t._view = t._accum = None
        t._requires_grad = False
        t._vc = self._counter()
        return t

    def detach_(self):
        """Detach this tensor from the graph in place; it becomes a leaf."""
        self.grad_fn = None
        self._view = None
        self._requires_grad = False
        return self

    @property
    def data(self):
        """The same values as a tensor outside autograd (shares storage, like PyTorch's .data)."""
        t = self.detach()
        t._vc = Version()   # like PyTorch: changes through .data are not seen by autograd
        return t

    @data.setter
    def data(self, value):
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if self.grad_fn is None:
            if not self._requires_grad:
                raise GradError("retain_grad: can't retain the grad of a tensor that does not "
                                "require grad; set requires_grad=True on the leaves it comes from.")
            return   # leaves keep their grad anyway
        import weakref
        self.grad_fn.retained = weakref.ref(self)

    @property
    def retains_grad(self):
        return self.grad_fn is not None and self.grad_fn.retained is not None \
            and self.grad_fn.retained() is self

    def register_hook(self, hook):
        """Call ``hook(grad)`` whenever this tensor's gradient is computed; a returned tensor
        replaces the gradient. Returns a handle with ``remove()``."""
        if not self._requires_grad:
            raise GradError("register_hook: can't register a hook on a tensor that does not "
                            "require grad.")
        return self._node().register_hook(hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` on this leaf after its ``.grad`` was accumulated."""
        if self.grad_fn is not None:
            raise GradError("register_post_accumulate_grad_hook: only leaf tensors have "
                            "accumulated gradients; use register_hook on a non-leaf.")
        if not self._requires_grad:
            raise GradError("register_post_accumulate_grad_hook: the tensor does not require grad.")
        from .node import _RemovableHandle
        acc = self._accumulator()
        if acc.post_hooks is None:
            acc.post_hooks = []
        acc.post_hooks.append(hook)
        return _RemovableHandle(acc.post_hooks, hook)

    # ---- metadata -------------------------------------------------------------------
    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        """The shape, or its length along ``dim``."""
        return Size(self._data.shape) if dim is None else self._data.shape[dim]

    @property
    def dtype(self):
        return dtypes.from_numpy_dtype(self._data.dtype)

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    def numel(self):
        return self._data.size

    nelement = numel

    def element_size(self):
        return self._data.itemsize

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    @property
    def device(self):
        return "cpu"

    # ---- conversion -----------------------------------------------------------------
    def item(self):
        """The single value as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item: only a tensor with one element can be converted to a Python "
                             f"number; this one has shape {tuple(self.shape)}.")
        return self._data.item()

    def tolist(self):
        return self._data.tolist()

    def numpy(self, force=False):
        """The data as a NumPy array sharing memory. Refuses a tensor that requires grad."""
        if self._requires_grad and not force:
            raise GradError("numpy: can't call numpy() on a tensor that requires grad; "
                            "use tensor.detach().numpy().")
        return self._data

    def __array__(self, dtype=None, copy=None):
        if self._requires_grad:
            raise GradError("can't convert a tensor that requires grad to a NumPy array; "
                            "use tensor.detach().numpy().")
        arr = self._data
        if dtype is not None and arr.dtype != dtype:
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of a tensor with {self._data.size} elements is "
                               "ambiguous; use .any() or .all().")
        return bool(self._data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self._data.item())

    __hash__ = object.__hash__   # __eq__ is elementwise; identity hashing as in PyTorch

    def __repr__(self):
        return _format(self)


_new = object.__new__


def wrap(arr, grad_fn=None):
    """A Tensor around ``arr`` (an ndarray, used as is). Internal fast constructor."""
    t = _new(Tensor)
    t._data = arr
    t.grad = None
    t.grad_fn = grad_fn
    t._requires_grad = grad_fn is not None
    t._vc = None
    t._view = None
    t._accum = None
    return t


class Size(tuple):
    """A tensor's shape: a tuple, printed as PyTorch prints it."""
    __slots__ = ()

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"tapegrad.Size({list(self)})"


_DEFAULT_DTYPES = (np.dtype(np.float32), np.dtype(np.int64), np.dtype(np.bool_))


def _format(t):
    arr = t._data
    if arr.dtype.kind == "f":
        integral = arr.size == 0 or bool(np.all(np.isfinite(arr) & (arr == np.round(arr))))
        body = np.array2string(arr, separator=", ", prefix="tensor(", precision=4,
                               floatmode="unique" if integral else "fixed",
                               suppress_small=True)
    else:
        body = np.array2string(arr, separator=", ", prefix="tensor(")
    extras = []
    if arr.dtype not in _DEFAULT_DTYPES:
        extras.append(f"dtype={t.dtype}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        extras.append("requires_grad=True")
    return f"tensor({body}{''.join(', ' + e for e in extras)})"
