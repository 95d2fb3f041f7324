"""Hooks on the values autograd saves for backward (``torch.autograd.graph``'s API).

# Note [Saved-tensor hooks]
Without hooks (the common case) ``record_node`` keeps what an op saves as arrays on its node
(``node.x``, ``node.y``, ``node.out``), and the engine's fast path hands the node itself to the
rule as its ctx. While a ``saved_tensors_hooks`` context is active (``STATE.saved_hooks``, read
only for ops that save something), ``record_node`` instead passes each saved value to the
innermost pack_hook once, as a Tensor, and keeps a ``SavedPacked`` (what pack_hook returned,
the unpack_hook, the shape and dtype) in the node's flat ``saved`` tuple, in place of the
tensor; the arrays themselves are not kept. The engine notices a SavedPacked there (one type
test per node that saved something) and builds a fresh Ctx from ``unpack_saved``: unpack_hook
is called once per saved value when the node's rule runs, and must give back a Tensor of the
same shape and dtype. Under ``create_graph=True`` the unpacked data is given the history of the
value it stands for (the input's grad_fn or leaf accumulator, or the node itself for its
output), so higher derivatives flow through the original graph. As in PyTorch, the hooks run
with grad mode off, hooked values are not version-checked (a pack_hook may have copied them),
and the hooks in force when a value is saved are the ones used to unpack it, whatever is
active during backward. A custom Function's ``ctx.save_for_backward`` packs the same way
(``pack_for_function``: a ``SavedByFunction``, which the engine leaves alone) and its
``saved_tensors`` unpacks on each read. Gradient checkpointing (utils/checkpoint.py) is built
on these hooks. The mutation guard uses this branch too: while one of its modes is on and no
user hooks are, ``STATE.saved_hooks`` holds the marker ``GUARD_HOOKS``, and values are saved
as without hooks, then watched (Note [Mutation guard] in mutation_guard.py).
"""
from .._core.errors import DTypeError, GradError, ShapeError
from .._core.node import AccumulateGrad, Ctx, format_site
from .._core.state import STATE
from .._core.tensor import Tensor, wrap
from ..ops.registry import GUARD_HOOKS, UNVERSIONED, SavedPacked

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks", "inspect"]


class saved_tensors_hooks:
    """Context manager: pack and unpack every value that ops save for backward inside it.

    Every value an op saves is passed (as a Tensor) to ``pack_hook`` once, when saved; what
    it returns is kept instead. When backward needs the value, ``unpack_hook(packed)`` is
    called and must return a Tensor of the same shape and dtype. Contexts nest: the innermost
    pair is used. The hooks run with grad mode off and must not modify their input in place.

    Args:
        pack_hook: ``Tensor -> object``, called once per saved value.
        unpack_hook: ``object -> Tensor``, called when backward needs the value.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> pack = lambda t: t.to(tg.float16)
        >>> unpack = lambda t: t.to(tg.float32)
        >>> with tg.autograd.graph.saved_tensors_hooks(pack, unpack):
        ...     y = (x * x).sum()
        >>> y.backward(); x.grad
        tensor([2., 4.])
    """

    def __init__(self, pack_hook, unpack_hook):
        if not callable(pack_hook) or not callable(unpack_hook):
            raise TypeError(
                "saved_tensors_hooks: pack_hook and unpack_hook must be callables, got "
                f"{type(pack_hook).__name__} and {type(unpack_hook).__name__}")
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook
        self._prev = []          # a stack: one instance may be entered again inside itself

    def __enter__(self):
        if STATE.saved_hooks_disabled is not None:
            raise GradError(STATE.saved_hooks_disabled)
        self._prev.append(STATE.saved_hooks)
        STATE.saved_hooks = (self.pack_hook, self.unpack_hook)
        return self

    def __exit__(self, *exc):
        prev = self._prev.pop()
        if prev is None or prev is GUARD_HOOKS:   # the guard's mode may have changed inside
            prev = GUARD_HOOKS if STATE.mutation_guard is not None else None
        STATE.saved_hooks = prev
        return False


class save_on_cpu(saved_tensors_hooks):
    """Context manager: keep a copy of every value saved for backward, as PyTorch's
    ``save_on_cpu`` does when it offloads them to the CPU.

    tapegrad runs on the CPU only, so nothing moves; the copy makes the saved values
    independent of later in-place changes to the tensors they came from.

    Args:
        pin_memory: accepted for PyTorch compatibility; ignored (no pinned memory on NumPy).
        device_type: accepted for PyTorch compatibility; ignored.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
        >>> with tg.autograd.graph.save_on_cpu():
        ...     y = (x * x).sum()
        >>> y.backward(); x.grad
        tensor([2., 4.])
    """

    def __init__(self, pin_memory=False, device_type="cuda"):
        super().__init__(_copy_pack, _copy_unpack)


def _copy_pack(t):
    return t._data.copy()


def _copy_unpack(arr):
    return wrap(arr)


class disable_saved_tensors_hooks:
    """Context manager: make any use of saved-tensor hooks inside it raise ``error_message``.

    Entering ``saved_tensors_hooks`` (or ``checkpoint``, built on it) inside raises
    ``GradError(error_message)`` (a RuntimeError); so does entering this while hooks are
    already active.

    Args:
        error_message: the message of the error raised.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.autograd.graph import disable_saved_tensors_hooks, save_on_cpu
        >>> with disable_saved_tensors_hooks("no hooks in this library"):
        ...     try:
        ...         with save_on_cpu():
        ...             pass
        ...     except RuntimeError as e:
        ...         print(e)
        no hooks in this library
    """

    def __init__(self, error_message):
        self.error_message = str(error_message)
        self._prev = []

    def __enter__(self):
        hooks = STATE.saved_hooks
        if hooks is not None and hooks is not GUARD_HOOKS:   # (the guard's are not a user's)
            raise GradError(self.error_message)
        self._prev.append(STATE.saved_hooks_disabled)
        STATE.saved_hooks_disabled = self.error_message
        return self

    def __exit__(self, *exc):
        STATE.saved_hooks_disabled = self._prev.pop()
        return False


class SavedByFunction(SavedPacked):
    """A tensor a custom Function saved (``ctx.save_for_backward``) while hooks were active,
    with the history to give it back: ``grad_fn``, or the leaf's accumulator ``accum``.
    Its own type, so the engine leaves these to the Function's ``saved_tensors``."""
    __slots__ = ("grad_fn", "accum")


def pack_for_function(name, t, function_name, node=None):
    """The flat saved entry (``name``, packed, counter, version) of ``t``, which a custom
    Function named ``function_name`` saves (autograd/function.py) on ``node``, packed with
    the innermost hooks (Note [Saved-tensor hooks]); grad mode off while the hook runs.
    Under a mutation guard without user hooks: the plain entry (name, t, counter, version),
    watched (Note [Mutation guard] in mutation_guard.py)."""
    if STATE.saved_hooks is GUARD_HOOKS:
        vc = t._counter()
        entry = (name, t, vc, vc.value)
        GUARD_HOOKS[0](node, entry)
        return entry
    pack, unpack = STATE.saved_hooks
    e = SavedByFunction()
    e.slot, e.unpack = None, unpack
    e.shape, e.dtype, e.fw = t._data.shape, t._data.dtype, t._fw
    e.grad_fn = t._grad_fn
    e.accum = t._accumulator() if t._grad_fn is None and t._requires_grad else None
    prev_mode, prev_op = STATE.grad_enabled, STATE.saving_op
    STATE.grad_enabled, STATE.saving_op = False, function_name
    try:
        e.packed = pack(t)
    finally:
        STATE.grad_enabled, STATE.saving_op = prev_mode, prev_op
    return (name, e, UNVERSIONED, 0)


def unpack_for_function(e, name, node):
    """A Function's saved value ``e`` (named ``name``) from its unpack_hook, as the tensor
    that was saved: its history and tangents (an output's: the data only, its history is
    the Function's to give)."""
    arr = _unpacked_array(e, name, node)
    if e.grad_fn is not None:
        t = wrap(arr, e.grad_fn)
    else:
        t = wrap(arr)
        if e.accum is not None:
            t._requires_grad = True
            t._accum = e.accum
    t._fw = e.fw
    return t


def unpack_saved(node, create_graph):
    """A fresh ctx for ``node``'s rule whose saved values come from their unpack_hooks
    (Note [Saved-tensor hooks]): arrays in the fast path, Tensors carrying the original
    values' history when ``create_graph``. Called by the engine only."""
    c = Ctx()
    c.params = node.params
    c.needs_input_grad = node.needs_input_grad
    saved = node.saved
    for k in range(0, len(saved), 4):
        name, e = saved[k], saved[k + 1]
        if e.unpack is None:              # a Python scalar, kept as is
            setattr(c, name, e.packed)
            continue
        arr = _unpacked_array(e, name, node)
        setattr(c, name, _with_history(arr, node, e) if create_graph else arr)
    return c


def _unpacked_array(e, name, node):
    """unpack_hook's result for saved value ``e`` (named ``name``, of ``node``), checked."""
    t = e.unpack(e.packed)
    if not isinstance(t, Tensor):
        raise TypeError(
            f"saved_tensors_hooks: unpack_hook returned {type(t).__name__} for the value "
            f"'{name}' that '{node.op.name}' (created at {format_site(node.site)}) saved; "
            "it must return a Tensor (of the shape and dtype pack_hook was given).")
    arr = t._data
    if arr.shape != e.shape or arr.dtype != e.dtype:
        cls = ShapeError if arr.shape != e.shape else DTypeError
        raise cls(
            f"saved_tensors_hooks: unpack_hook returned a tensor of shape {arr.shape} and "
            f"dtype {arr.dtype} for the value '{name}' that '{node.op.name}' (created at "
            f"{format_site(node.site)}) saved with shape {e.shape} and dtype {e.dtype}; it "
            "must return the shape and dtype pack_hook was given (convert back, e.g. "
            "t.to(original_dtype), in unpack_hook).")
    return arr


def _with_history(arr, node, e):
    """``arr`` as a Tensor with the history of the value it stands for: ``node``'s output
    (slot -1) or its input ``e.slot`` (its grad_fn, or the leaf's accumulator), and its
    tangents (forward-over-reverse, Note [Forward mode] in ops/forward_mode.py)."""
    if e.slot < 0:
        t = wrap(arr, node)
        try:
            t._fw = node.out_fw
        except AttributeError:     # (set only on nodes whose output is dual)
            pass
        return t
    parent = node.parents[e.slot]
    if parent is None:
        t = wrap(arr)
    elif type(parent) is AccumulateGrad:
        t = wrap(arr)
        t._requires_grad = True
        t._accum = parent          # held strongly: gradients reach the leaf through it
    else:
        t = wrap(arr, parent)
    t._fw = e.fw
    return t


# At the end: the inspector reads nodes only, and importing it last keeps this module's names
# defined before anything it pulls in runs.
from .inspect import inspect  # noqa: E402,F401
