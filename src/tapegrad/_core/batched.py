"""The batched tensor of ``tapegrad.func.vmap``: one example's view over a whole batch.

# Note [Batched tensors]
Inside ``vmap(f)``, ``f`` sees each input as one example: a ``Batched`` tensor whose shape,
dtype and ndim are the example's (the *logical* view) while ``_phys`` holds the whole batch
(the *physical* tensor, batch dim first). Ops never loop over examples: ``apply`` sees the
``BATCHED`` mark in ``_view`` (the slot it already reads, so tensors outside vmap pay
nothing) and hands the op to the batching dispatcher (func/batching), whose rule for that op
moves its arguments to the physical layout (dims shifted past the batch dim, operands padded
so they broadcast as the examples do) and runs the op once, recorded on the physical tensors
like any other op. So autograd sees only ordinary tensors: reverse mode, forward mode and the
engine need no batching rules, and a gradient taken inside vmap is the per-example gradient
as long as every differentiable input is batched at every active level (func.grad makes its
inputs so: Note [Transforms inside vmap] in func/transforms.py).

Nested vmaps nest wrappers: the physical tensor of an inner level is itself a ``Batched``
tensor of the outer level (its logical shape is the inner physical one), so each rule handles
exactly one batch dim, and the dispatcher peels one level per call. A level is a
``VmapLevel`` (batch size, randomness, whether it is still running); a batched tensor used
after its vmap returned (it escaped, e.g. through a global list) is refused by name.

``_data`` of a batched tensor is the first example's array (no copy), as a ``LogicalArray``:
shape, dtype and strides read as the example's, so the code that normalises arguments before
an op (dims, shapes, dtype promotion) works unchanged, while a NumPy computation on it raises
instead of silently computing one example.
"""
import numpy as np

from .errors import NotSupportedError
from .state import STATE
from .tensor import Tensor


class _BatchedMark:
    """The value of ``Tensor._view`` on a batched tensor (a view's tuple otherwise)."""
    __slots__ = ()

    def __repr__(self):
        return "BATCHED"


BATCHED = _BatchedMark()

# NumPy functions that only read metadata, allowed on a LogicalArray.
_METADATA = {np.shape, np.ndim, np.size, np.result_type, np.may_share_memory,
             np.shares_memory, np.iscomplexobj, np.isrealobj, np.can_cast}
# ndarray attributes that describe the array without reading its values.
_METADATA_ATTRS = frozenset({
    "shape", "dtype", "ndim", "size", "strides", "flags", "itemsize", "nbytes", "base",
    "_level",
    "__class__", "__array_finalize__", "__array_priority__", "__array_interface__",
    "__array_struct__", "__array_ufunc__", "__array_function__", "__dict__", "__reduce__",
    "__reduce_ex__", "__getstate__", "__setstate__", "__len__", "__getitem__", "__repr__",
    "__str__", "__sizeof__", "__copy__", "__deepcopy__", "__setattr__"})


class BatchedDataAccess(Exception):
    """Code read a batched tensor's values directly (not through an op with a batching
    rule). vmap catches it and runs the function example by example instead; ``level`` is
    the vmap the tensor belongs to, ``what`` names the access.

    # NOTE: not a ValueError or TypeError: the ops catch those to re-raise with their own
    # message, and this one must reach vmap unchanged."""

    def __init__(self, what, level):
        super().__init__(
            f"vmap: {what} read a batched tensor's values directly (outside the ops' batching "
            "rules), which would compute one example only.")
        self.what, self.level = what, level


class LogicalArray(np.ndarray):
    """The per-example stand-in array of a batched tensor: metadata reads work, reading its
    values raises BatchedDataAccess (Note [Batched tensors])."""

    def __array_finalize__(self, obj):
        if obj is not None:
            object.__setattr__(self, "_level", getattr(obj, "_level", None))

    def __getattribute__(self, name):
        if name in _METADATA_ATTRS:
            return super().__getattribute__(name)
        raise BatchedDataAccess(f"ndarray.{name}", super().__getattribute__("_level"))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raise BatchedDataAccess(f"numpy.{ufunc.__name__}", _level_of(inputs))

    def __array_function__(self, func, types, args, kwargs):
        if func in _METADATA:
            return super().__array_function__(func, tuple(t for t in types
                                                          if t is not LogicalArray) or
                                              (np.ndarray,), args, kwargs)
        raise BatchedDataAccess(f"numpy.{func.__name__}", _level_of(args))

    def __bool__(self):
        raise BatchedDataAccess("bool()", np.ndarray.__getattribute__(self, "_level"))

    def __float__(self):
        raise BatchedDataAccess("float()", np.ndarray.__getattribute__(self, "_level"))

    def __int__(self):
        raise BatchedDataAccess("int()", np.ndarray.__getattribute__(self, "_level"))

    def __index__(self):
        raise BatchedDataAccess("an index", np.ndarray.__getattribute__(self, "_level"))

    def __iter__(self):
        raise BatchedDataAccess("iteration", np.ndarray.__getattribute__(self, "_level"))


def _level_of(values):
    """The vmap level of the first LogicalArray among ``values`` (nested in tuples too)."""
    for v in values:
        if isinstance(v, LogicalArray):
            return np.ndarray.__getattribute__(v, "_level")
        if isinstance(v, (tuple, list)):
            lv = _level_of(v)
            if lv is not None:
                return lv
    return None


class VmapLevel:
    """One running vmap: its batch ``size``, its ``randomness`` mode, its nesting ``depth``
    (0 outermost), ``active`` (False once the vmap has returned) and ``looping`` (True while
    it runs its function example by example)."""
    __slots__ = ("size", "randomness", "depth", "active", "looping")

    def __init__(self, size, randomness, depth):
        self.size, self.randomness, self.depth, self.active = size, randomness, depth, True
        self.looping = False

    def __repr__(self):
        return f"VmapLevel(depth={self.depth}, size={self.size})"


class Batched(Tensor):
    """A tensor batched by vmap at ``_level``: logical per-example view of ``_phys`` (batch
    dim 0). See Note [Batched tensors]."""
    __slots__ = ("_phys", "_level")

    # autograd state lives on the physical tensor
    @property
    def requires_grad(self):
        return self._phys.requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        self._phys.requires_grad = flag

    def requires_grad_(self, requires_grad=True):
        self._phys.requires_grad_(requires_grad)
        return self

    @property
    def grad_fn(self):
        return self._phys.grad_fn

    @property
    def is_leaf(self):
        return self._phys.is_leaf

    @property
    def grad(self):
        return None

    @grad.setter
    def grad(self, value):
        raise NotSupportedError("vmap: .grad can't be set on a batched tensor inside vmap; use "
                                "tapegrad.func.grad to take gradients inside vmap.")

    def backward(self, *args, **kwargs):
        raise NotSupportedError(
            "vmap: backward() inside vmap would sum the examples' gradients into .grad; use "
            "tapegrad.func.grad (or func.vjp) inside vmap for per-example gradients.")

    def detach(self):
        return make_batched(self._phys.detach(), self._level)

    def register_hook(self, hook):
        raise NotSupportedError("vmap: register_hook on a batched tensor isn't supported (the "
                                "hook would see the whole batch's gradient); register it "
                                "outside vmap.")

    def retain_grad(self):
        raise NotSupportedError("vmap: retain_grad on a batched tensor isn't supported; use "
                                "tapegrad.func.grad (or vjp) inside vmap to get gradients.")

    def _refresh(self):
        pass           # the physical tensor refreshes itself when an op reads it

    @property
    def data(self):
        return make_batched(self._phys.data, self._level)

    # values that would leave the batch: data-dependent control flow
    def item(self):
        raise _control_flow("item()")

    def tolist(self):
        raise BatchedDataAccess("tolist()", self._level)

    def numpy(self, force=False):
        raise BatchedDataAccess("numpy()", self._level)

    def __array__(self, dtype=None, copy=None):
        raise BatchedDataAccess("a conversion to a NumPy array", self._level)

    def __bool__(self):
        raise _control_flow("bool() (an if or while on a tensor)")

    def __float__(self):
        raise _control_flow("float()")

    def __int__(self):
        raise _control_flow("int()")

    def __index__(self):
        raise _control_flow("use as a Python index")

    def __repr__(self):
        return (f"BatchedTensor(depth={self._level.depth}, batch size={self._level.size}, "
                f"example shape={tuple(self._data.shape)}, value={self._phys!r})")


def _control_flow(what):
    return NotSupportedError(
        f"vmap: {what} of a batched tensor: its value differs from example to example, so "
        "Python can't branch on it or read it as one number (data-dependent control flow). "
        "Write the branch with tapegrad.where(cond, a, b), or move it out of the vmapped "
        "function.")


_new = object.__new__


def make_batched(phys, level):
    """The batched tensor at ``level`` over ``phys`` (a Tensor, batch dim first)."""
    b = _new(Batched)
    b._phys, b._level = phys, level
    d = phys._data
    if d.shape[0]:
        d = np.ndarray.view(np.ndarray.__getitem__(d, (0, Ellipsis)), LogicalArray)
    else:
        d = np.ndarray.view(np.empty(d.shape[1:], d.dtype), LogicalArray)
    object.__setattr__(d, "_level", level)
    b._data = d
    b._grad = b._grad_fn = b._vc = b._accum = b._fw = None
    b._requires_grad = False
    b._view = BATCHED
    return b


def physical(t):
    """The plain tensor behind ``t`` through every batched level (``t`` itself if plain)."""
    while type(t) is Batched:
        t = t._phys
    return t


def readable(arr):
    """``arr``, checked not to be a batched tensor's stand-in: for code that reads values
    through routes NumPy can't intercept (as_strided windows, np.array copies)."""
    if isinstance(arr, LogicalArray):
        raise BatchedDataAccess("a strided window", np.ndarray.__getattribute__(arr, "_level"))
    return arr


def levels_of(t):
    """The vmap levels ``t`` is batched at, outermost first (the order of its physical
    tensor's leading dims)."""
    levels = []
    while type(t) is Batched:
        levels.append(t._level)
        t = t._phys
    levels.reverse()
    return levels


def rewrap(plain, levels):
    """``plain`` (leading dims: one per level, outermost first) batched at ``levels``."""
    for lv in levels:
        plain = make_batched(plain, lv)
    return plain


def batched_at(t, levels):
    """``t`` batched at every level of ``levels`` (sorted outermost first; a superset of
    t's own), as the physical broadcast of ``t`` over the levels it lacks (a view, no copy).
    Returns the plain physical tensor; ``rewrap(result, levels)`` is the batched one."""
    have = levels_of(t)
    p = physical(t)
    if len(have) == len(levels):
        return p
    for i, lv in enumerate(levels):
        if lv not in have:
            p = p.unsqueeze(i)
            p = p.expand(p.shape[:i] + (lv.size,) + p.shape[i + 1:])
    return p


def vmap_randomness():
    """Called before every random draw while a vmap runs: 'error' refuses it; 'different'
    needs each example to draw its own, so a vectorized vmap runs example by example instead
    (a looping one draws per example already); 'same' draws once for all (the vectorized
    path does; a looping vmap replays the generator's state per example)."""
    different = None
    for lv in STATE.vmap_levels:
        if lv.randomness == "error":
            raise NotSupportedError(
                "vmap: a random op was called inside vmap with randomness='error' (the "
                "default). Pass randomness='different' (each example draws its own values) or "
                "'same' (one draw shared by all examples) to vmap, or draw outside vmap.")
        if lv.randomness == "different" and not lv.looping:
            different = lv
    if different is not None:
        raise BatchedDataAccess("a random op with randomness='different'", different)


def split_levels(t, own):
    """``t`` seen physically at the levels ``own`` (sorted outermost first) and batched at
    its other levels, which must all run inside ``own``'s: the plain dims of ``own`` lead
    its logical shape. For a cotangent or tangent batched beyond its primal (a vmap over
    vjp_fn or over tangents inside another vmap). Returns None if an extra level is outer."""
    have = levels_of(t)
    more = [lv for lv in have if lv not in own]
    if more and own and min(lv.depth for lv in more) < max(lv.depth for lv in own):
        return None
    full = batched_at(t, sorted(set(own) | set(more), key=_depth))
    if not more:
        return full
    k, m = len(own), len(more)
    order = tuple(range(k, k + m)) + tuple(range(k)) + tuple(range(k + m, full.ndim))
    return rewrap(full.permute(order), more)


def merge_levels(r, own):
    """Inverse of ``split_levels``: ``r`` (batched at inner levels over logical dims that
    start with one dim per level of ``own``) as a tensor batched at ``own`` and those."""
    more = levels_of(r)
    if not more:
        return rewrap(r, own)
    plain, k, m = physical(r), len(own), len(more)
    order = tuple(range(m, m + k)) + tuple(range(m)) + tuple(range(m + k, plain.ndim))
    return rewrap(plain.permute(order), list(own) + more)


def _depth(level):
    return level.depth
