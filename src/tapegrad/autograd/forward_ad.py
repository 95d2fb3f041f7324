"""Forward-mode automatic differentiation, as ``torch.autograd.forward_ad``.

Inside a ``dual_level``, ``make_dual(x, t)`` gives a tensor whose ops carry the tangent ``t``
along (each op through its jvp rule, Note [Forward mode] in ops/forward_mode.py), and
``unpack_dual(y)`` reads the tangent of a result back: a Jacobian-vector product for about the
cost of one more forward pass, with no backward graph.

Unlike PyTorch, levels nest (``dual_level`` inside ``dual_level``): each level's tangents stay
apart, so a JVP of a JVP gives second derivatives.

Example:
    >>> import tapegrad as tg
    >>> import tapegrad.autograd.forward_ad as fwAD
    >>> x = tg.tensor([1.0, 2.0])
    >>> with fwAD.dual_level():
    ...     y = fwAD.make_dual(x, tg.tensor([1.0, 0.0])) ** 2
    ...     fwAD.unpack_dual(y).tangent
    tensor([2., 0.])
"""
import functools
import itertools
from collections import namedtuple

from .._core.batched import (Batched, levels_of, merge_levels, physical, rewrap,
                             split_levels)
from .._core.errors import ArgumentError, DTypeError, GradError, ShapeError
from .._core.state import STATE
from .._core.tensor import Tensor
from ..ops.shape import tangent_root

__all__ = ["dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual",
           "UnpackedDualTensor"]

# NOTE: level ids are never reused (a process-wide counter, not a mode), so a tangent made at
# a level that ended can't be mistaken for one of a later level (Note [Forward mode]).
_ids = itertools.count()

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])
UnpackedDualTensor.__doc__ = """What ``unpack_dual`` returns: ``primal`` (a view of the dual
tensor without this level's tangent) and ``tangent`` (None when it has none)."""


def enter_dual_level():
    """Start a new forward-AD level (nested inside the current one, if any).

    Returns:
        The level's index (0 for the outermost), for ``make_dual(..., level=)``. Prefer the
        ``dual_level`` context manager, which also leaves the level.

    Example:
        >>> import tapegrad.autograd.forward_ad as fwAD
        >>> level = fwAD.enter_dual_level(); fwAD.exit_dual_level(level=level); level
        0
    """
    STATE.fw_levels = STATE.fw_levels + (next(_ids),)
    return len(STATE.fw_levels) - 1


def exit_dual_level(*, level=None):
    """Leave the innermost forward-AD level; tensors made dual there become plain again.

    Args:
        level: the index ``enter_dual_level`` returned (default: the innermost). Only the
            innermost level can be left.

    Example:
        >>> import tapegrad.autograd.forward_ad as fwAD
        >>> fwAD.exit_dual_level(level=fwAD.enter_dual_level())
    """
    levels = STATE.fw_levels
    if not levels:
        raise GradError("exit_dual_level: no forward-AD level is active.")
    if level is not None and level != len(levels) - 1:
        raise ArgumentError(
            f"exit_dual_level: level {level} is not the innermost active level "
            f"({len(levels) - 1}); leave levels in the reverse order they were entered.")
    STATE.fw_levels = levels[:-1]


class dual_level:
    """Context manager for a forward-AD level: ``with dual_level():`` enters one (its
    ``as`` value is the level's index) and leaves it on exit, even on error. As a decorator
    (``@dual_level()``, as in PyTorch), each call of the function runs in a level of its own.

    Example:
        >>> import tapegrad as tg
        >>> import tapegrad.autograd.forward_ad as fwAD
        >>> with fwAD.dual_level():
        ...     d = fwAD.make_dual(tg.tensor(3.0), tg.tensor(1.0))
        ...     fwAD.unpack_dual(d.exp()).tangent.item() == d.exp().item()
        True
    """

    def __enter__(self):
        self.level = enter_dual_level()
        return self.level

    def __exit__(self, *exc):
        exit_dual_level(level=self.level)
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with dual_level():
                return func(*args, **kwargs)
        return wrapper


def _level_id(level, caller):
    levels = STATE.fw_levels
    if not levels:
        raise GradError(
            f"{caller}: no forward-AD level is active. Make dual tensors inside "
            "`with tapegrad.autograd.forward_ad.dual_level():` (or after enter_dual_level()).")
    if level is None:
        return levels[-1]
    if not isinstance(level, int) or not 0 <= level < len(levels):
        raise ArgumentError(f"{caller}: level={level!r} is not an active level; the active "
                            f"levels are 0..{len(levels) - 1}.")
    return levels[level]


def _alias(tensor, fw, lid):
    """A view of ``tensor`` with all of its data and history, carrying tangents ``fw``, its
    own at level id ``lid`` (a tangent root, Note [Forward mode]; gradients reaching it flow
    back to ``tensor``, as through PyTorch's make_dual view). The tangents are given, not
    propagated through the view: the view of a tangent would be the same values, at the cost
    of recording its ops."""
    own, tensor._fw = tensor._fw, None
    try:
        alias = tangent_root(tensor, lid, fw.get(lid) if fw else None)
    finally:
        tensor._fw = own
    alias._fw = fw or None
    return alias


def make_dual(tensor, tangent, *, level=None):
    """A view of ``tensor`` that carries ``tangent`` at a forward-AD level.

    Args:
        tensor: the primal, a floating tensor (it may require grad: reverse mode then flows
            through the view back to it).
        tangent: the direction, a tensor of the same shape and dtype. It is kept, not copied,
            and never modified (in-place ops on the dual replace its tangent).
        level: the level index (default: the innermost active level).

    Returns:
        The dual tensor. Tapegrad checks the tangent's dtype too (PyTorch keeps a tangent of
        another dtype silently).

    Example:
        >>> import tapegrad as tg
        >>> import tapegrad.autograd.forward_ad as fwAD
        >>> with fwAD.dual_level():
        ...     y = fwAD.make_dual(tg.tensor([0.0, 1.0]), tg.ones(2)).sin()
        ...     fwAD.unpack_dual(y).tangent
        tensor([1.0000, 0.5403])
    """
    if type(tensor) is Batched:
        # inside vmap: each example's primal with its own tangent, on the physical tensors
        # (a tangent batched at further inner levels stays batched there: jacfwd's columns)
        own = levels_of(tensor)
        t = split_levels(tangent, own) if isinstance(tangent, Tensor) else None
        if t is not None:
            return rewrap(make_dual(physical(tensor), t, level=level), own)
    lid = _level_id(level, "make_dual")
    if not isinstance(tensor, Tensor) or not isinstance(tangent, Tensor):
        raise TypeError(f"make_dual: expected tensors, got {type(tensor).__name__} and "
                        f"{type(tangent).__name__}")
    if tensor._data.dtype.kind not in "fc":
        raise DTypeError(f"make_dual: the primal has dtype {tensor.dtype}; only floating "
                         "point (or complex) tensors have tangents. Convert it with .double() "
                         "or .float() first.")
    if tangent._data.shape != tensor._data.shape:
        raise ShapeError(f"make_dual: the tangent has shape {tuple(tangent.shape)} but the "
                         f"primal has shape {tuple(tensor.shape)}; a tangent must have the "
                         "primal's shape (expand or reshape it first).")
    if tangent._data.dtype != tensor._data.dtype:
        raise DTypeError(f"make_dual: the tangent has dtype {tangent.dtype} but the primal has "
                         f"dtype {tensor.dtype}; convert the tangent with "
                         f".to({tensor.dtype}) first.")
    if tensor._fw is not None and lid in tensor._fw:
        raise GradError(f"make_dual: this tensor (shape {tuple(tensor.shape)}) already has a "
                        f"tangent at level {STATE.fw_levels.index(lid)}; unpack_dual(t).primal "
                        "gives it without one.")
    tensor._refresh()         # a stale view takes its base's tangents first (as unpack_dual)
    fw = dict(tensor._fw) if tensor._fw else {}
    fw[lid] = tangent
    return _alias(tensor, fw, lid)


def unpack_dual(tensor, *, level=None):
    """Split a dual tensor into its primal and its tangent at a level.

    Args:
        tensor: any tensor.
        level: the level index (default: the innermost active level).

    Returns:
        ``UnpackedDualTensor(primal, tangent)``: ``primal`` a view of ``tensor`` without the
        tangent, ``tangent`` the tangent (None when ``tensor`` has none there, or no level is
        active).

    Example:
        >>> import tapegrad as tg
        >>> import tapegrad.autograd.forward_ad as fwAD
        >>> with fwAD.dual_level():
        ...     p, t = fwAD.unpack_dual(fwAD.make_dual(tg.tensor(2.0), tg.tensor(5.0)) * 3)
        ...     p, t
        (tensor(6.), tensor(15.))
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"unpack_dual: expected a tensor, got {type(tensor).__name__}")
    if not STATE.fw_levels:
        return UnpackedDualTensor(tensor, None)
    if type(tensor) is Batched:
        own = levels_of(tensor)
        primal, tangent = unpack_dual(physical(tensor), level=level)
        return UnpackedDualTensor(rewrap(primal, own),
                                  None if tangent is None else merge_levels(tangent, own))
    lid = _level_id(level, "unpack_dual")
    tensor._refresh()         # a view whose base changed in place takes its tangent from it
    fw = tensor._fw
    if fw is None or lid not in fw:
        return UnpackedDualTensor(tensor, None)
    primal = _alias(tensor, {k: v for k, v in fw.items() if k != lid}, lid)
    return UnpackedDualTensor(primal, fw[lid])


def lift_batched_tangents(tensor, level):
    """``tensor`` (not batched at vmap ``level``) whose tangent at some forward level is
    batched there, as a tensor batched at ``level``: its primal broadcast over the batch, each
    tangent physical at ``level`` (Note [Batched tensors]). Without this, an op mixing it with
    a batched tensor would run on the physical layout with a still-batched tangent, and its
    result's tangent would be batched twice. None if a tangent is batched at a level outside
    ``level`` (a layout vmap doesn't handle)."""
    from ..ops.forward_mode import strip
    from ..ops.shape import expand
    size = level.size

    def broadcast(t):
        return expand(t.unsqueeze(0), (size,) + tuple(t.shape))

    active = [k for k in tensor._fw if k in STATE.fw_levels]
    primal = strip(tensor, min(active)) if active else tensor
    fw = {}
    for k in active:
        t = tensor._fw[k]
        if type(t) is Batched and level in levels_of(t):
            t = split_levels(t, [level])
            if t is None:
                return None
        else:
            t = broadcast(t)
        fw[k] = t
    return rewrap(_alias(broadcast(primal), fw, max(fw)), [level])
