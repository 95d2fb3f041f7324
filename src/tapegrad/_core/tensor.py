"""The Tensor data structure: an ndarray plus what autograd needs to know about it.

No op logic lives here: arithmetic, shape ops and in-place ops are bound onto the class by
``tapegrad.ops.methods`` (one visible table), and ``backward`` reaches up to the engine
with a late import (the core never imports the floors above it at import time).
"""
import weakref

import numpy as np

from . import dtypes
from .errors import ArgumentError, DTypeError, GradError, ShapeError
from .cuts import after_detach, left_graph
from .device import CPU
from .node import AccumulateGrad, _RemovableHandle

_ndarray = np.ndarray
_weakref = weakref.ref


_REFRESH_VIEW = []     # ops.registry.refresh_view, once Tensor._refresh first needs it


class Version:
    """A storage's version counter, shared by a tensor, its views and its detached aliases.
    ``site`` is where the last recorded in-place change happened, for error messages;
    ``watchers``, None unless a mutation guard watches a value saved from this storage, is
    what the in-place ops consult before writing (Note [Mutation guard] in
    autograd/mutation_guard.py)."""
    __slots__ = ("value", "site", "watchers")

    def __init__(self):
        self.value = 0
        self.site = None
        self.watchers = None


class Tensor:
    """A multi-dimensional array that can record the ops applied to it for autograd.

    Create tensors with :func:`tapegrad.tensor` and the factory functions. Calling
    ``Tensor(data, requires_grad=False)`` directly always copies ``data`` to float32, like
    ``torch.Tensor``. The data lives in a NumPy array on the CPU.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).sum().backward(); x.grad
        tensor([2., 4.])
    """
    # NOTE: the array lives in ``_data``, not ``data`` as in STYLE.md's sketch: PyTorch's
    # ``.data`` is a Tensor (settable), and code written for PyTorch uses it that way.
    # ``_vc`` is the version counter (made on first need), ``_view`` (base, view chain,
    # version) for views (Note [Views and in-place ops]), ``_accum`` the leaf's
    # AccumulateGrad, weakly held unless it carries hooks; ``_fw`` forward mode's tangents,
    # {level: tangent Tensor}, None for all but dual tensors (Note [Forward mode] in
    # autograd/forward_ad.py).
    __slots__ = ("_data", "_grad", "_requires_grad", "_grad_fn", "_vc", "_view", "_accum", "_fw",
                 "__weakref__")
    # Make ``ndarray <op> Tensor`` call the Tensor's reflected operator instead of NumPy's.
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False):
        # Like torch.Tensor(data): always a float32 copy (use tapegrad.tensor to keep dtypes).
        self._data = np.array(data._data if isinstance(data, Tensor) else data, dtype=np.float32)
        self._grad = None
        self._grad_fn = None
        self._vc = None
        self._view = None
        self._accum = None
        self._fw = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    # ---- autograd state -------------------------------------------------------------
    @property
    def grad_fn(self):
        """The node that computed this tensor (None for leaves), e.g. ``<MulBackward0 ...>``.

        Example:
            >>> import tapegrad as tg
            >>> (tg.ones(1, requires_grad=True) * 2).grad_fn.name()
            'MulBackward0'
        """
        if self._view is not None:
            self._refresh()        # a view whose storage changed: its up-to-date history
        return self._grad_fn

    @property
    def requires_grad(self):
        """Whether ops on this tensor are recorded so gradients can flow back to it.

        Only floating tensors can require grad, and only a leaf can be set back to False (use
        :meth:`detach` on a computed tensor).

        Example:
            >>> import tapegrad as tg
            >>> x = tg.ones(2); x.requires_grad = True
            >>> x.requires_grad, (x * 2).requires_grad, tg.ones(2).requires_grad
            (True, True, False)
        """
        if self._view is not None:
            self._refresh()
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        flag = bool(flag)
        if not flag and self._grad_fn is not None:
            raise GradError(
                "requires_grad=False can only be set on a leaf tensor; this one was computed "
                f"by {self._grad_fn.name()}. Use y = y.detach() to get a tensor without history.")
        if flag and self._data.dtype.kind not in "fc":
            raise DTypeError(
                f"only floating point tensors can require gradients, but this tensor has dtype "
                f"{self.dtype} (shape {tuple(self.shape)}). Convert it first: "
                "t = t.float().requires_grad_()")
        self._requires_grad = flag

    def requires_grad_(self, requires_grad=True):
        """Set :attr:`requires_grad` in place (default True) and return the tensor itself.

        Example:
            >>> import tapegrad as tg
            >>> tg.arange(3.0).requires_grad_()
            tensor([0., 1., 2.], requires_grad=True)
        """
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self):
        """The accumulated gradient (None until a backward reaches this leaf, or after
        ``x.grad = None``). Assigning checks the shape and dtype, as PyTorch does."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"grad: assigned value must be a Tensor or None, got "
                                f"{type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise ShapeError(f"grad: assigned grad has shape {tuple(value.shape)}, but the "
                                 f"tensor has shape {tuple(self.shape)}")
            if value._data.dtype != self._data.dtype:
                raise DTypeError(f"grad: assigned grad has dtype {value.dtype}, but the tensor "
                                 f"has dtype {self.dtype}")
        self._grad = value

    @property
    def is_leaf(self):
        """True for tensors not produced by a recorded op.

        Leaves are user-created tensors and results computed without grad. Only leaves get
        ``.grad`` filled by backward (see :meth:`retain_grad`).

        Example:
            >>> import tapegrad as tg
            >>> x = tg.ones(2, requires_grad=True); x.is_leaf, (x * 2).is_leaf
            (True, False)
        """
        return self._grad_fn is None

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
        """The AccumulateGrad node of this leaf.

        # NOTE: the leaf refers to its node weakly, as PyTorch does: the graphs using it keep
        # it alive, so a leaf and its node form no reference cycle and a temporary leaf's
        # memory is freed by reference counting, not at the next cyclic GC. A leaf with hooks
        # holds its node strongly (``_hooked_accumulator``), since the hooks live there.
        """
        ref = self._accum
        if ref is not None:
            acc = ref if type(ref) is AccumulateGrad else ref()
            if acc is not None:
                return acc
        acc = AccumulateGrad(self)
        self._accum = _weakref(acc)
        return acc

    def _hooked_accumulator(self):
        acc = self._accum = self._accumulator()
        return acc

    def _refresh(self):
        """Bring a view's history up to date after its storage changed in place (Note [Views
        and in-place ops]); found on first use: the ops floor sits above the core."""
        if self._view is not None:
            if not _REFRESH_VIEW:
                # NOTE: kept, not imported per call: an import statement costs ~1 us even
                # for a loaded module, more than the version check it guards.
                from ..ops.registry import refresh_view
                _REFRESH_VIEW.append(refresh_view)
            _REFRESH_VIEW[0](self)

    def _node(self):
        """The node gradients for this tensor flow into: grad_fn, or the leaf's accumulator."""
        return self._grad_fn if self._grad_fn is not None else self._accumulator()

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute d self / d leaves and add it into each leaf's ``.grad``.

        Args:
            gradient: d loss / d self, shaped like self; may be omitted only when self has
                one element.
            retain_graph: keep saved values for another backward (default: ``create_graph``).
            create_graph: record the backward pass so gradients can be differentiated again.
            inputs: only accumulate into these tensors' ``.grad``.

        Example:
            >>> import tapegrad as tg
            >>> x = tg.tensor(2.0, requires_grad=True)
            >>> (x ** 3).backward(create_graph=True); g = x.grad; x.grad = None
            >>> g.backward(); g, x.grad
            (tensor(12., grad_fn=<PowBackwardBackward0>), tensor(12.))
        """
        from ..autograd.engine import backward   # late import: the core sits below the engine
        backward((self,), None if gradient is None else (gradient,), retain_graph,
                 create_graph, inputs=inputs)

    def detach(self):
        """A tensor sharing this one's data (and version counter) with no autograd history.

        Writes to either tensor show in the other; the result never requires grad.

        Example:
            >>> import tapegrad as tg
            >>> x = tg.tensor([1.0, 2.0], requires_grad=True); d = (x * 2).detach()
            >>> d, d.requires_grad
            (tensor([2., 4.]), False)
        """
        t = _new(Tensor)
        t._data = self._data
        t._grad = t._grad_fn = t._view = t._accum = t._fw = None
        t._requires_grad = False
        t._vc = self._counter()
        if self._requires_grad:       # a cut explain() can name (Note [Cut events])
            left_graph(self, "detach", t._vc)
        return t

    def detach_(self):
        """Cut this tensor from the graph in place, making it a leaf that does not require grad.

        Returns:
            The tensor itself.

        Example:
            >>> import tapegrad as tg
            >>> y = tg.ones(2, requires_grad=True) * 2; _ = y.detach_()
            >>> y.is_leaf, y.requires_grad
            (True, False)
        """
        self._grad_fn = None
        self._view = None
        self._requires_grad = False
        self._fw = None            # its forward-AD tangents too, as detach() and PyTorch's detach_
        return self

    @property
    def data(self):
        """The same storage as a tensor outside autograd, like PyTorch's ``.data``.

        Unlike :meth:`detach`, changes made through ``.data`` are invisible to autograd's
        in-place checks, so use it only for updates such as optimizer steps. Assigning to
        ``.data`` replaces the storage.

        Example:
            >>> import tapegrad as tg
            >>> w = tg.tensor([1.0, 2.0], requires_grad=True); w.data[0] = 5.0
            >>> w
            tensor([5., 2.], requires_grad=True)
        """
        t = self.detach()
        t._vc = Version()   # like PyTorch: changes through .data are not seen by autograd
        if self._requires_grad:       # a cut explain() can name (Note [Cut events])
            left_graph(self, "data", t._vc)
        return t

    @data.setter
    def data(self, value):
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)
        # A leaf's gradient node remembers the shape and dtype gradients are accumulated in
        # (module.half() replaces the data of parameters that graphs may still use).
        ref = self._accum
        acc = ref if ref is None or type(ref) is AccumulateGrad else ref()
        if acc is not None:
            acc.shape, acc.dtype = self._data.shape, self._data.dtype

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward (leaves always do).

        Example:
            >>> import tapegrad as tg
            >>> x = tg.tensor([1.0, 2.0], requires_grad=True); y = x * 2; y.retain_grad()
            >>> (y * y).sum().backward(); y.grad
            tensor([4., 8.])
        """
        self._refresh()
        if self._grad_fn is None:
            if not self._requires_grad:
                raise GradError("retain_grad: can't retain the grad of a tensor that does not "
                                "require grad; set requires_grad=True on the leaves it comes from.")
            return   # leaves keep their grad anyway
        self._grad_fn.retained = _weakref(self)

    @property
    def retains_grad(self):
        """True when :meth:`retain_grad` was called on this non-leaf tensor.

        Example:
            >>> import tapegrad as tg
            >>> y = tg.ones(2, requires_grad=True) * 2; y.retain_grad(); y.retains_grad
            True
        """
        return self._grad_fn is not None and self._grad_fn.retained is not None \
            and self._grad_fn.retained() is self

    def register_hook(self, hook):
        """Call ``hook(grad)`` whenever the gradient with respect to this tensor is computed.

        Args:
            hook: a function of the gradient; a tensor it returns replaces the gradient, None
                keeps it.

        Returns:
            A handle whose ``remove()`` unregisters the hook.

        Example:
            >>> import tapegrad as tg
            >>> x = tg.tensor([1.0, 2.0], requires_grad=True); y = x * 3
            >>> h = y.register_hook(lambda g: g * 2); y.sum().backward(); x.grad
            tensor([6., 6.])
        """
        self._refresh()
        if not self._requires_grad:
            raise GradError("register_hook: can't register a hook on a tensor that does not "
                            "require grad.")
        node = self._grad_fn if self._grad_fn is not None else self._hooked_accumulator()
        return node.register_hook(hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` on this leaf each time backward has accumulated into its ``.grad``.

        Returns:
            A handle whose ``remove()`` unregisters the hook.

        Example:
            >>> import tapegrad as tg
            >>> x = tg.ones(2, requires_grad=True); seen = []
            >>> h = x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
            >>> x.sum().backward(); seen
            [[1.0, 1.0]]
        """
        if self._grad_fn is not None:
            raise GradError("register_post_accumulate_grad_hook: only leaf tensors have "
                            "accumulated gradients; use register_hook on a non-leaf.")
        if not self._requires_grad:
            raise GradError("register_post_accumulate_grad_hook: the tensor does not require grad.")
        acc = self._hooked_accumulator()
        if acc.post_hooks is None:
            acc.post_hooks = []
        acc.post_hooks.append(hook)
        return _RemovableHandle(acc.post_hooks, hook)

    # ---- metadata -------------------------------------------------------------------
    @property
    def shape(self):
        """The tensor's shape, a :class:`Size` (a tuple of ints).

        Example:
            >>> import tapegrad as tg
            >>> tg.zeros(2, 3).shape
            tapegrad.Size([2, 3])
        """
        return Size(self._data.shape)

    def size(self, dim=None):
        """The shape as a :class:`Size`, or with ``dim`` given, the length of that dim.

        Example:
            >>> import tapegrad as tg
            >>> x = tg.zeros(2, 3); x.size(), x.size(-1)
            (tapegrad.Size([2, 3]), 3)
        """
        return Size(self._data.shape) if dim is None else self._data.shape[dim]

    @property
    def dtype(self):
        """The element type, a :class:`tapegrad.dtype`.

        Example:
            >>> import tapegrad as tg
            >>> tg.tensor([1.0]).dtype, tg.tensor([1]).dtype
            (tapegrad.float32, tapegrad.int64)
        """
        return dtypes.from_numpy_dtype(self._data.dtype)

    @property
    def ndim(self):
        """The number of dims (0 for a scalar tensor).

        Example:
            >>> import tapegrad as tg
            >>> tg.zeros(2, 3).ndim, tg.tensor(1.0).ndim
            (2, 0)
        """
        return self._data.ndim

    def dim(self):
        """The number of dims, the same as :attr:`ndim`.

        Example:
            >>> import tapegrad as tg
            >>> tg.zeros(2, 3).dim()
            2
        """
        return self._data.ndim

    def numel(self):
        """The number of elements (``nelement`` is an alias).

        Example:
            >>> import tapegrad as tg
            >>> tg.zeros(2, 3).numel()
            6
        """
        return self._data.size

    nelement = numel

    def element_size(self):
        """The size of one element in bytes.

        Example:
            >>> import tapegrad as tg
            >>> tg.zeros(2).element_size(), tg.zeros(2, dtype=tg.float64).element_size()
            (4, 8)
        """
        return self._data.itemsize

    def is_floating_point(self):
        """True when the dtype is a floating type (float16, float32 or float64).

        Example:
            >>> import tapegrad as tg
            >>> tg.tensor([1.0]).is_floating_point(), tg.tensor([1]).is_floating_point()
            (True, False)
        """
        return self._data.dtype.kind == "f"

    @property
    def device(self):
        """The tensor's :class:`device`: always the CPU.

        Example:
            >>> import tapegrad as tg
            >>> tg.zeros(1).device
            device(type='cpu')
        """
        return CPU

    # ---- conversion -----------------------------------------------------------------
    def item(self):
        """The value of a one-element tensor as a Python number.

        Example:
            >>> import tapegrad as tg
            >>> tg.tensor([2.5]).item(), tg.tensor(3).item()
            (2.5, 3)
        """
        if self._data.size != 1:
            raise ArgumentError(f"item: only a tensor with one element can be converted to a "
                                f"Python number; this one has shape {tuple(self.shape)}.")
        if self._requires_grad:       # a cut explain() can name (Note [Cut events])
            left_graph(self, "item")
        elif self._vc is not None:
            after_detach(self, "item")
        return self._data.item()

    def tolist(self):
        """The data as (nested) Python lists of Python numbers; a 0-d tensor gives a number.

        Example:
            >>> import tapegrad as tg
            >>> tg.tensor([[1, 2], [3, 4]]).tolist()
            [[1, 2], [3, 4]]
        """
        if self._requires_grad:       # a cut explain() can name (Note [Cut events])
            left_graph(self, "tolist")
        elif self._vc is not None:
            after_detach(self, "tolist")
        return self._data.tolist()

    def numpy(self, force=False):
        """The data as a NumPy array that shares memory with the tensor.

        Args:
            force: allow it on a tensor that requires grad (otherwise refused; call
                ``detach()`` first).

        Example:
            >>> import tapegrad as tg
            >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
            >>> x.detach().numpy()
            array([1., 2.], dtype=float32)
        """
        if self._requires_grad and not force:
            raise GradError("numpy: can't call numpy() on a tensor that requires grad; "
                            "use tensor.detach().numpy().")
        if self._requires_grad:       # a cut explain() can name (Note [Cut events])
            left_graph(self, "numpy")
        elif self._vc is not None:
            after_detach(self, "numpy")
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
        if self._data.size != 1:
            self.item()               # raises item's error
        if self._requires_grad:       # a cut explain() can name (Note [Cut events])
            left_graph(self, "float")
        elif self._vc is not None:
            after_detach(self, "float")
        return float(self._data.item())

    def __int__(self):
        if self._data.size != 1:
            self.item()
        if self._requires_grad:
            left_graph(self, "int")
        elif self._vc is not None:
            after_detach(self, "int")
        return int(self._data.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self._data.item())

    def __deepcopy__(self, memo):
        """A copy with its own storage, ``requires_grad`` and ``grad``; leaves only, as in
        PyTorch (a copy of a non-leaf would need a copy of its history)."""
        if self._grad_fn is not None:
            raise GradError("deepcopy: only leaf tensors can be deep-copied; detach() or clone() "
                            "a computed tensor first.")
        t = wrap(self._data.copy())
        t._requires_grad = self._requires_grad
        if self.grad is not None:
            t._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = t
        return t

    def __reduce__(self):
        """Pickle a leaf as its data and ``requires_grad`` (its ``grad`` is not kept)."""
        if self._grad_fn is not None:
            raise GradError("pickle: only leaf tensors can be pickled; detach() a computed "
                            "tensor first.")
        return (_rebuild, (self._data, self._requires_grad))

    def __format__(self, spec):
        """``f"{loss:.4f}"`` formats a one-element tensor's value; others format their repr.

        Example:
            >>> import tapegrad as tg
            >>> f"{tg.tensor(2.0) / 3:.3f}"
            '0.667'
        """
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        return format(repr(self), spec)

    __hash__ = object.__hash__   # __eq__ is elementwise; identity hashing as in PyTorch

    def __repr__(self):
        return _format(self)

    def _repr_svg_(self):
        # Jupyter's rich display: a tensor with a graph behind it shows the picture of that
        # graph (its values in the caption) when graphviz is installed, else None, which
        # tells Jupyter to use the text repr. Imported late: the core can't import the viz
        # floor above it, and nothing is imported until a notebook asks.
        if self._grad_fn is None:
            return None
        from ..viz import tensor_svg
        return tensor_svg(self)


_new = object.__new__


def _rebuild(data, requires_grad):
    t = wrap(data)
    t._requires_grad = requires_grad
    return t


def shape_of(x):
    """The shape of a Tensor, an array or a Python number (ops accept all three)."""
    return x._data.shape if isinstance(x, Tensor) else np.shape(x)


def array_of(x):
    """The NumPy array behind a Tensor; anything else through ``np.asarray``."""
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def wrap(arr, grad_fn=None):
    """A Tensor around ``arr`` (an ndarray, used as is). Internal fast constructor."""
    t = _new(Tensor)
    t._data = arr
    t._grad = None
    t._grad_fn = grad_fn
    t._requires_grad = grad_fn is not None
    t._vc = None
    t._view = None
    t._accum = None
    t._fw = None
    return t


class Size(tuple):
    """A tensor's shape: a tuple of ints, printed as ``tapegrad.Size([...])``.

    Example:
        >>> import tapegrad as tg
        >>> s = tg.zeros(2, 3).shape; s == (2, 3), s[0], s.numel()
        (True, 2, 6)
    """
    __slots__ = ()

    def numel(self):
        """The number of elements a tensor of this shape has.

        Example:
            >>> import tapegrad as tg
            >>> tg.Size([2, 3]).numel()
            6
        """
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
    if t._grad_fn is not None:
        extras.append(f"grad_fn=<{t._grad_fn.name()}>")
    elif t._requires_grad:
        extras.append("requires_grad=True")
    return f"tensor({body}{''.join(', ' + e for e in extras)})"
