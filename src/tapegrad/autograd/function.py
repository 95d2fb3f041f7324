"""Custom autograd Functions: ``tapegrad.autograd.Function``, as PyTorch's.

A subclass writes ``forward`` and ``backward`` (and ``jvp`` for forward mode) as
staticmethods and is used through ``apply``; the outputs get a node whose rule calls the
subclass's ``backward``.

# Note [Custom Function nodes]
``apply`` runs ``forward`` without recording, then gives the differentiable outputs one
graph node, an instance of the per-class ``<Name>Backward`` (a ``Node``). The ctx that
forward, backward and jvp see is a separate ``FunctionCtx``: user code sets any attribute
on it (``ctx.shape``, ``ctx.dtype``, ...), which must not land on the node's own fields.
The node holds its ctx; the ctx refers to the node weakly (no reference cycle). The
node's op is a per-class ``OpDef`` whose vjp is ``_function_vjp``: the engine runs it as any
other rule, with arrays in the fast path (they are wrapped as read-only Tensors for the
user's backward, whose results go back as arrays) and with Tensors when create_graph=True
(the engine hands the node itself as ctx, see ``_tensor_ctx`` in engine.py), so a
backward written with tapegrad ops records itself and double backward works.
Saved tensors follow the engine's format (``Node.saved``: name, tensor, version counter,
version), so an in-place change after saving raises the engine's usual error, and a
backward without retain_graph frees them.

# Note [Functions with several outputs]
The engine keeps one cotangent per node. A Function with one differentiable output uses its
node directly. With several, output i gets a small selection node (``_OutputNode``) whose
rule packs its cotangent into a ``_Cotangents`` accumulator ({i: g}), boxed in a 0-d
object array: the Function's node is given shape () and dtype object, so the engine's own
shape, dtype and summing steps carry the boxes unchanged and add them up with ``+``
(merging the dicts, summing per output). The Function's rule unpacks the sum, so its
backward is called once, with one gradient per output. Nothing in the engine's hot loop
knows about this, and a single-output Function (the common case) pays nothing for it.
"""
import functools
import warnings
import weakref

import numpy as np

from .._core.batched import Batched, BatchedDataAccess
from .._core.errors import DTypeError, GradError, NotSupportedError, ShapeError
from .._core.node import Node, capture_site, format_site
from .._core.state import STATE
from .._core.tensor import Tensor, wrap
from ..ops._broadcast import sum_to_shape
from ..ops.forward_mode import strip, tangent_levels
from ..ops.registry import OpDef, _track_view, rebase_history, set_history
from ..ops.instrument import track
from ..ops.shape import RESHAPE, clone
from .engine import _check_versions, _freed_error
from .graph import SavedByFunction, pack_for_function, unpack_for_function

__all__ = ["Function", "FunctionCtx", "once_differentiable"]

_new = object.__new__
_ndarray = np.ndarray
_OBJECT = np.dtype(object)
_ONE_NEEDED = (True,)


class FunctionCtx:
    """The ``ctx`` a custom Function's forward/setup_context, backward and jvp receive.

    Set any attribute on it to pass values from forward to backward; save tensors with
    :meth:`save_for_backward` (they are guarded against in-place changes and freed after a
    backward). ``needs_input_grad`` holds one bool per forward argument (whether it is a
    tensor that requires grad).

    Example:
        >>> import tapegrad as tg
        >>> class Scale(tg.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x, k):
        ...         ctx.k = k                   # a plain value: an attribute
        ...         return x * k
        ...     @staticmethod
        ...     def backward(ctx, g):
        ...         return g * ctx.k, None      # None for the non-tensor k
        >>> x = tg.ones(2, requires_grad=True); Scale.apply(x, 3.0).sum().backward(); x.grad
        tensor([3., 3.])
    """
    __slots__ = ("needs_input_grad", "materialize_grads", "_node", "_to_save", "_saved",
                 "_to_save_fw", "_dirty", "_non_diff", "_in_jvp", "__dict__", "__weakref__")

    def __init__(self):
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._node = self._to_save = self._saved = self._to_save_fw = None
        self._dirty = self._non_diff = ()
        self._in_jvp = None         # the forward-AD level id while jvp runs

    def save_for_backward(self, *tensors):
        """Keep ``tensors`` (or None) for backward, where ``ctx.saved_tensors`` returns them.

        Call it once, from forward or setup_context. Inputs, outputs and intermediate
        tensors may be saved; an in-place change to one of them before backward raises
        there, naming where it was saved and where it changed. See :class:`Function` for an
        example.

        Args:
            *tensors: tensors or None.
        """
        self._to_save = _tensors_or_none("save_for_backward", tensors)

    def save_for_forward(self, *tensors):
        """Keep ``tensors`` for ``jvp``, where ``ctx.saved_tensors`` returns them (without it,
        jvp sees those of :meth:`save_for_backward`).

        Args:
            *tensors: tensors or None.

        Example:
            >>> import tapegrad as tg
            >>> import tapegrad.autograd.forward_ad as fwAD
            >>> class Exp(tg.autograd.Function):
            ...     @staticmethod
            ...     def forward(ctx, x):
            ...         y = x.exp(); ctx.save_for_forward(y); return y
            ...     @staticmethod
            ...     def jvp(ctx, t):
            ...         return t * ctx.saved_tensors[0]
            >>> with fwAD.dual_level():
            ...     y = Exp.apply(fwAD.make_dual(tg.tensor(0.0), tg.tensor(2.0)))
            ...     fwAD.unpack_dual(y).tangent
            tensor(2.)
        """
        self._to_save_fw = _tensors_or_none("save_for_forward", tensors)

    def mark_dirty(self, *tensors):
        """Declare the inputs forward modified in place; forward must return them.

        Their version is bumped and their history becomes the Function's (for a view, its
        base's too), as for tapegrad's own in-place ops; a leaf that requires grad can't be
        marked (outside no_grad).

        Args:
            *tensors: input tensors.

        Example:
            >>> import tapegrad as tg
            >>> class Double_(tg.autograd.Function):
            ...     @staticmethod
            ...     def forward(ctx, x):
            ...         x.mul_(2); ctx.mark_dirty(x); return x
            ...     @staticmethod
            ...     def backward(ctx, g):
            ...         return 2 * g
            >>> w = tg.ones(2, requires_grad=True); h = w + 1; Double_.apply(h) is h
            True
            >>> h.sum().backward(); h, w.grad
            (tensor([4., 4.], grad_fn=<Double_Backward>), tensor([2., 2.]))
        """
        self._dirty = _only_tensors("mark_dirty", tensors)
        for t in tensors:
            vc = t._vc
            if vc is not None and vc.watchers:    # Note [Mutation guard] (mutation_guard.py)
                vc.watchers.fire(vc, "ctx.mark_dirty", dirty=True)

    def mark_non_differentiable(self, *tensors):
        """Declare outputs that get no gradient: they do not require grad, and backward
        receives zeros (or None, see :meth:`set_materialize_grads`) for them.

        Args:
            *tensors: output tensors.

        Example:
            >>> import tapegrad as tg
            >>> class MaxWithIndex(tg.autograd.Function):
            ...     @staticmethod
            ...     def forward(ctx, x):
            ...         i = x.argmax(); ctx.mark_non_differentiable(i); ctx.i = i
            ...         return x.max(), i
            ...     @staticmethod
            ...     def backward(ctx, g, g_index):
            ...         return tg.zeros(3).index_put((ctx.i,), g)
            >>> x = tg.tensor([1.0, 5.0, 2.0], requires_grad=True)
            >>> m, i = MaxWithIndex.apply(x); m.backward(); i.requires_grad, x.grad
            (False, tensor([0., 1., 0.]))
        """
        self._non_diff = _only_tensors("mark_non_differentiable", tensors)

    def set_materialize_grads(self, value):
        """Whether backward and jvp receive zeros (True, the default) or None for outputs
        (inputs, in jvp) that got no gradient (tangent). Call it in forward/setup_context.

        Args:
            value: True for zeros, False for None.

        Example:
            >>> import tapegrad as tg
            >>> class Pair(tg.autograd.Function):
            ...     @staticmethod
            ...     def forward(ctx, x):
            ...         ctx.set_materialize_grads(False); return x * 2, x * 3
            ...     @staticmethod
            ...     def backward(ctx, ga, gb):
            ...         print(gb)
            ...         return 2 * ga
            >>> a, b = Pair.apply(tg.ones(1, requires_grad=True)); a.sum().backward()
            None
        """
        self.materialize_grads = bool(value)

    @property
    def saved_tensors(self):
        """The tensors given to :meth:`save_for_backward` (in jvp: :meth:`save_for_forward`,
        if it was called), as a tuple. A saved output comes back with its history, so a
        backward using it can be differentiated again. Raises if one was changed in place
        since, or if a backward without retain_graph freed them. See :class:`Function`."""
        level = self._in_jvp
        if level is not None:
            # as seen below the level whose tangents jvp computes (Note [Forward mode])
            self._in_jvp = None
            try:
                saved = self._to_save_fw if self._to_save_fw is not None else self.saved_tensors
            finally:
                self._in_jvp = level
            return tuple(None if t is None else strip(t, level) for t in saved)
        node = self._node() if self._node is not None else None
        if node is None or self._saved is None:
            if node is not None and node.saved is None:
                raise _freed_error(node)
            return self._to_save or ()      # not recorded, or forward is still running
        saved = node.saved
        for k in range(2, len(saved), 4):
            if saved[k].value != saved[k + 1]:
                _check_versions(node)       # raises, naming the saving and mutating lines
        return tuple(None if t is None else _saved_value(node, k, t, i)
                     for k, (t, i) in enumerate(self._saved))

    @property
    def saved_variables(self):
        """Deprecated alias of :attr:`saved_tensors`, as in PyTorch."""
        return self.saved_tensors


def _tensors_or_none(name, tensors):
    for i, t in enumerate(tensors):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{name} can only save tensors (or None), but argument {i} is of "
                            f"type {type(t).__name__}; keep other values as ctx attributes "
                            "(ctx.k = k).")
    return tensors


def _only_tensors(name, tensors):
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"ctx.{name} only accepts tensors, but argument {i} is of type "
                            f"{type(t).__name__}.")
    return tensors


# ---- the graph nodes -------------------------------------------------------------------------
class _FunctionNode(Node):
    """The node of one ``apply`` of a custom Function (Note [Custom Function nodes]).
    Subclassed per Function as ``<Name>Backward``; ``_ctx`` is the FunctionCtx, ``_outputs``
    one (shape, dtype) per tensor output (None for other outputs), ``_single`` the index of
    the one differentiable output when there is only one (else None: several)."""
    __slots__ = ("_ctx", "_outputs", "_single", "_tensor_inputs")
    _forward_cls = None

    def name(self):
        return type(self).__name__

    def free_saved(self):
        Node.free_saved(self)
        self._ctx._saved = None

    @property
    def saved_tensors(self):
        """``ctx.saved_tensors`` of this node's Function (PyTorch's grad_fn has it too)."""
        return self._ctx.saved_tensors

    @property
    def next_functions(self):
        """((node, 0), ...) for each tensor argument, as in PyTorch: other arguments (a
        number, None) have no entry; ``(None, 0)`` for a tensor that does not require grad."""
        return tuple((p, 0) for p, is_tensor in zip(self.parents, self._tensor_inputs)
                     if is_tensor)

    def __getattr__(self, name):
        # Only reached for names that are not slots: the ctx's attributes, as grad_fn is
        # the ctx in PyTorch (``y.grad_fn.needs_input_grad``, ``y.grad_fn.k``).
        try:
            return getattr(object.__getattribute__(self, "_ctx"), name)
        except AttributeError:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}") from None


class _OutputNode(Node):
    """Output i of a Function with several differentiable outputs: passes its cotangent on
    to the Function's node as {i: g} (Note [Functions with several outputs])."""
    __slots__ = ()

    def name(self):
        return self.parents[0].name()

    def __repr__(self):
        return f"<{self.name()} output {self.params['index']} at {format_site(self.site)}>"


class _Cotangents:
    """The cotangents of some outputs of one Function, on their way to its node: {i: g}.
    ``+`` merges two (summing what both hold for an output), which is how the engine's
    accumulation adds them up."""
    __slots__ = ("grads",)

    def __init__(self, grads):
        self.grads = grads

    def __add__(self, other):
        grads = dict(self.grads)
        for i, g in other.grads.items():
            prev = grads.get(i)
            grads[i] = g if prev is None else prev + g
        return _Cotangents(grads)


def _select_vjp(ctx, g):
    """Box output i's cotangent as {i: g} for the Function's node."""
    box = np.empty((), _OBJECT)
    box[()] = _Cotangents({ctx.params["index"]: g})
    return (box,)


_SELECT = track(OpDef("function_output", None, _select_vjp))


def _output_node(fn_node, i, t, site):
    node = _new(_OutputNode)
    node.op = _SELECT
    node.params = {"index": i}
    node.needs_input_grad = _ONE_NEEDED
    node.parents = (fn_node,)
    node.shape, node.dtype = t._data.shape, t._data.dtype
    node.site = site
    node.hooks = node.retained = None
    node.saved = ()
    return node


def _edge(node, i, t):
    """The node output i's gradient enters at: the Function's node, or a selection node."""
    return node if node._single is not None else _output_node(node, i, t, node.site)


def _saved_value(node, k, t, i):
    """Saved tensor ``k`` as backward sees it: ``t`` itself, an output (index ``i``) with its
    history, or what saved-tensor hooks unpack (Note [Saved-tensor hooks] in graph.py)."""
    if type(t) is SavedByFunction:
        t = unpack_for_function(t, f"saved_tensors[{k}]", node)
    return t if i is None else _saved_output(node, t, i)


def _saved_output(node, alias, i):
    """A saved output as backward sees it: its values with its history (a second
    derivative flows through it)."""
    t = wrap(alias._data, _edge(node, i, alias))
    t._vc = alias._vc
    t._fw = alias._fw          # its tangents, when forward mode gave it some
    return t


# ---- backward ---------------------------------------------------------------------------------
def _function_vjp(node, g):
    """d Function: its backward, given one gradient per output; one gradient per input back,
    checked and brought to each input's shape and dtype (Note [Custom Function nodes])."""
    ctx = node._ctx
    graphed = isinstance(g, Tensor)           # create_graph=True: Tensors in and out
    if node._single is not None:
        got = {node._single: g}
    else:
        got = (g._data if graphed else g)[()].grads
    grad_outputs = []
    for i, meta in enumerate(node._outputs):
        gi = None if meta is None else got.get(i)
        if gi is None:
            if meta is not None and ctx.materialize_grads:
                gi = wrap(np.zeros(meta[0], meta[1]))
        elif not graphed:
            # NOTE: read-only: the engine's buffer may be shared with another branch (add
            # passes its g to both inputs), so the user's backward must not write into it.
            view = gi.view()
            view.flags.writeable = False
            gi = wrap(view)
        grad_outputs.append(gi)
    cls = node._forward_cls
    grads = _backward_of(cls)(ctx, *grad_outputs)
    return _check_grads(node, cls, grads, graphed, grad_outputs)


def _backward_of(cls):
    """The user's backward (PyTorch also accepts it under the name ``vjp``)."""
    backward, vjp = cls.backward, cls.vjp
    if vjp is _BASE_VJP:
        if backward is _BASE_BACKWARD:
            raise NotSupportedError(
                f"{cls.__name__}: a backward pass reached this custom Function, but it does not "
                "implement backward; add a staticmethod backward(ctx, *grad_outputs) returning "
                "one gradient per forward input (or mark its outputs non-differentiable).")
        return backward
    if backward is not _BASE_BACKWARD:
        raise GradError(f"{cls.__name__}: implements both backward and vjp (they are two names "
                        "for one method); keep only one of them.")
    return vjp


def _check_grads(node, cls, grads, graphed, grad_outputs):
    """The gradients ``backward`` returned, validated as PyTorch does: one per forward input
    (extra trailing Nones are dropped); None for non-tensor inputs; a gradient of a shape the
    input broadcasts to is summed down to it; the dtype is cast to the input's, except that a
    complex gradient needs a complex input and a non-floating one a real input."""
    name = cls.__name__
    if type(grads) is not tuple:
        grads = (grads,)
    parents = node.parents
    n = len(parents)
    if len(grads) > n and all(g is None for g in grads[n:]):
        grads = grads[:n]
    if len(grads) != n:
        raise GradError(
            f"{name}.backward returned {len(grads)} gradients, but forward took {n} inputs; "
            "return exactly one per forward input (None for an input that needs none, e.g. a "
            "non-tensor argument).")
    out = []
    for i, (gi, p) in enumerate(zip(grads, parents)):
        if gi is None:
            out.append(None)
            continue
        if not node._tensor_inputs[i]:
            raise GradError(f"{name}.backward returned a gradient for input {i}, which is not a "
                            "tensor; return None in that position.")
        if not isinstance(gi, Tensor):
            raise GradError(f"{name}.backward returned a {type(gi).__name__} as the gradient of "
                            f"input {i}; return a Tensor or None.")
        if p is None:          # the input does not require grad: ignored, as in PyTorch
            out.append(None)
            continue
        arr = gi._data
        if arr.shape != p.shape:
            if not _expands_to(p.shape, arr.shape):
                raise ShapeError(
                    f"{name}.backward returned a gradient of shape {arr.shape} for input {i}, "
                    f"which has shape {p.shape}; the gradient must have the input's shape (or "
                    "one the input broadcasts to, which is summed back down).")
            gi = sum_to_shape(gi, p.shape) if graphed else None
            arr = gi._data if graphed else sum_to_shape(arr, p.shape)
        if arr.dtype != p.dtype:
            if arr.dtype.kind != "f" and (arr.dtype.kind == "c") != (p.dtype.kind == "c"):
                raise DTypeError(
                    f"{name}.backward returned a gradient of dtype {arr.dtype} for input {i}, "
                    f"which has dtype {p.dtype} (shapes {arr.shape} and {p.shape}); the "
                    "gradient must be floating point, or complex exactly when the input is.")
            if graphed:
                gi = gi.to(p.dtype)
            else:
                arr = arr.astype(p.dtype)
        if graphed:
            # A gradient the engine did not make for this input alone (one of the output
            # gradients, or one returned twice) is copied, so no two .grad tensors alias.
            if any(gi is o for o in out) or (node._single is None
                                             and any(gi is o for o in grad_outputs)):
                gi = clone(gi)
            out.append(gi)
        else:
            # NOTE: a view, whose base the engine sees as held elsewhere unless it is not (a
            # temporary of the backward): only then may it add into it in place or make it a
            # .grad without a copy (engine._is_sole_view). Handing back the user's array
            # itself would let it write into a tensor the user still holds.
            out.append(arr.view())
    return tuple(out)


def _expands_to(shape, target):
    """Whether ``shape`` broadcasts to ``target`` exactly."""
    if len(shape) > len(target):
        return False
    return all(s == 1 or s == t for s, t in zip(reversed(shape), reversed(target)))


# ---- apply --------------------------------------------------------------------------------------
def _refuse_batched(cls, args, kwargs):
    """Inside vmap: a custom Function's node must connect physical tensors, and its forward
    and backward see arrays, so a batched input makes vmap run the function example by
    example (BatchedDataAccess; Note [Batched tensors])."""
    level = None
    for a in list(args) + list(kwargs.values()):
        if type(a) is Batched and (level is None or a._level.depth > level.depth):
            level = a._level
    if level is not None:
        raise BatchedDataAccess(f"the custom Function {cls.__name__}", level)


def _apply(cls, args, kwargs):
    if cls.forward is _BASE_FORWARD:
        raise NotSupportedError(f"{cls.__name__}: a custom Function must implement forward as "
                                "a staticmethod (forward(ctx, *args), or forward(*args) with "
                                "setup_context(ctx, inputs, output)).")
    setup = cls.setup_context is not _BASE_SETUP
    if setup:
        args = _bind(cls, args, kwargs)
    if STATE.vmap_levels:
        _refuse_batched(cls, args, kwargs)
    needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    ctx = FunctionCtx()
    ctx.needs_input_grad = needs
    site = capture_site(3)          # capture_site <- _apply <- Function.apply <- user
    node = _make_node(cls, ctx, args, needs, site) \
        if STATE.grad_enabled and True in needs else None
    # forward runs without recording, and without forward mode (its inputs' tangents are
    # set aside meanwhile), as in PyTorch: jvp gives the outputs' tangents.
    duals = [(a, a._fw) for a in args if isinstance(a, Tensor) and a._fw is not None]
    for a, _ in duals:
        a._fw = None
    prev = STATE.grad_enabled
    STATE.grad_enabled = False
    try:
        if setup:
            raw = cls.forward(*args)
            cls.setup_context(ctx, args, raw)
        else:
            raw = cls.forward(ctx, *args, **kwargs)
    finally:
        STATE.grad_enabled = prev
        for a, fw in duals:
            a._fw = fw
    outs = _wrap_outputs(cls, ctx, node, args, raw, site)
    if duals:
        _forward_mode(cls, ctx, args, outs, raw)
    # What only apply needed: kept, these would tie the outputs into a reference cycle
    # (output -> its node -> ctx -> output), freed only by the cyclic GC.
    ctx._dirty = ctx._non_diff = ()
    ctx._to_save_fw = None
    return tuple(outs) if type(raw) is tuple else outs[0]


def _forward_mode(cls, ctx, args, outs, raw):
    """Give the outputs their tangents from jvp, at each active level where an input has one,
    outer levels first, so that jvp at an inner level sees the outer ones (on the outputs
    and on the saved tensors) and its result carries them: a jvp of a jvp works as for
    built-in ops (Note [Forward mode] in ops/forward_mode.py)."""
    levels = tangent_levels(args)
    if not levels:
        return            # only tangents of levels that ended
    name = cls.__name__
    if cls.jvp is _BASE_JVP:
        raise NotSupportedError(
            f"{name} does not implement jvp, and forward mode reached it (an input is a dual "
            "tensor); add a staticmethod jvp(ctx, *tangents) returning one tangent per forward "
            "output, or make its inputs plain with forward_ad.unpack_dual(x).primal.")
    for level in levels:
        tangents = []
        for a in args:
            t = None
            if isinstance(a, Tensor):
                if a._fw is not None:
                    t = a._fw.get(level)
                if t is None and ctx.materialize_grads and _floating(a):
                    t = wrap(np.zeros_like(a._data))    # (an integer input gets None)
            tangents.append(t)
        ctx._in_jvp = level
        try:
            res = cls.jvp(ctx, *tangents)
        finally:
            ctx._in_jvp = None
        res = res if type(res) is tuple else (res,)
        if len(res) != len(outs):
            raise GradError(f"{name}.jvp returned {len(res)} tangents, but forward returned "
                            f"{len(outs)} outputs; return exactly one per output (None for "
                            "an output without one).")
        non_diff = {id(t) for t in ctx._non_diff}
        for i, (o, r, t) in enumerate(zip(outs, raw if type(raw) is tuple else (raw,), res)):
            if t is not None:
                _set_tangent(name, i, o, t, level, id(r) in non_diff)
    node = ctx._node() if ctx._node is not None else None
    if node is not None and ctx._saved:
        for alias, i in ctx._saved:
            if i is not None:
                alias._fw = outs[i]._fw    # a saved output's tangents (forward-over-reverse)


def _set_tangent(name, i, o, t, level, non_differentiable):
    if not isinstance(t, Tensor):
        raise GradError(f"{name}.jvp returned a {type(t).__name__} as the tangent of output "
                        f"{i}; return a Tensor or None.")
    if not isinstance(o, Tensor) or not _floating(o) or non_differentiable:
        raise GradError(f"{name}.jvp returned a tangent for output {i}, which is not a "
                        "differentiable tensor; return None in that position.")
    if t._data.shape != o._data.shape:
        raise ShapeError(f"{name}.jvp returned a tangent of shape {t._data.shape} for output "
                         f"{i}, which has shape {o._data.shape}; a tangent must have its "
                         "output's shape.")
    if not _floating(t):
        raise DTypeError(f"{name}.jvp returned a tangent of dtype {t.dtype} for output {i} "
                         f"(shape {o._data.shape}); tangents must be floating point.")
    if t._data.dtype != o._data.dtype:
        t = t.to(o._data.dtype)
    # NOTE: without this level's own tangents, which jvp may have picked up from a tensor it
    # kept on ctx (saved_tensors are stripped already): no perturbation confusion.
    t = strip(t, level)
    fw = dict(o._fw) if o._fw else {}
    fw[level] = t
    o._fw = fw


def _floating(t):
    return t._data.dtype.kind in "fc"


def _bind(cls, args, kwargs):
    """The arguments as setup_context's ``inputs``: keywords and defaults made positional."""
    sig = cls.__dict__.get("_signature")
    if sig is None:
        import inspect    # late: only setup_context-style Functions need it (import time)
        sig = inspect.signature(cls.forward)
        cls._signature = sig
    if not kwargs and len(args) == len(sig.parameters):
        return args
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    return bound.args


def _make_node(cls, ctx, args, needs, site):
    node = _new(cls._backward_cls)
    node.op = cls._backward_cls._op
    node.params = {}
    node.needs_input_grad = needs
    node.parents = tuple((a._grad_fn or a._accumulator()) if n else None
                         for a, n in zip(args, needs))
    node.site = site
    node.hooks = node.retained = None
    node.saved = ()
    node._ctx = ctx
    node._outputs, node._single = (), None
    node._tensor_inputs = tuple(isinstance(a, Tensor) for a in args)
    ctx._node = weakref.ref(node)
    return node


def _wrap_outputs(cls, ctx, node, args, raw, site):
    """Give forward's outputs their history (as PyTorch's custom Functions do): the
    differentiable ones this node; dirty inputs rebased onto it; inputs returned unchanged
    as new views of themselves; non-differentiable ones none."""
    outs = list(raw) if type(raw) is tuple else [raw]
    dirty = ctx._dirty
    if dirty:
        for t in dirty:
            if not _among(t, outs):
                raise GradError(
                    f"{cls.__name__}: a tensor of shape {tuple(t.shape)} was passed to "
                    "ctx.mark_dirty but not returned by forward; every input modified in "
                    "place must also be an output.")
            if not _among(t, args):
                warnings.warn(f"{cls.__name__}: ctx.mark_dirty was given a tensor that is not "
                              "an input; only inputs modified in place need marking.",
                              stacklevel=4)
            t._bump(site)
    diff = []
    if node is not None:
        non_diff = ctx._non_diff
        metas = []
        for i, o in enumerate(outs):
            if isinstance(o, Tensor):
                data = o._data
                metas.append((data.shape, data.dtype))
                if data.dtype.kind in "fc" and not _among(o, non_diff):
                    diff.append(i)
            else:
                metas.append(None)
        node._outputs = tuple(metas)
        if len(diff) == 1:
            node._single = diff[0]
            node.shape, node.dtype = metas[diff[0]]
        else:
            node.shape, node.dtype = (), _OBJECT     # Note [Functions with several outputs]
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            continue
        is_input, is_dirty = _among(o, args), _among(o, dirty)
        if i not in diff:
            if o._requires_grad:        # a non-differentiable output must not require grad
                outs[i] = o.detach() if is_input else o.detach_()
            elif is_input and not is_dirty:
                outs[i] = _alias(o)
            continue
        edge = _edge(node, i, o)
        if is_dirty:
            _check_dirty_leaf(cls, o)
            rebase_history(o, edge, site)
        else:
            if is_input:
                o = outs[i] = _alias(o)
            set_history(o, edge)
    if node is not None:
        _save(ctx, node, outs, diff)
    return outs


def _among(t, items):
    """Whether ``t`` is one of ``items`` (by identity: Tensor's == is elementwise)."""
    for a in items:
        if a is t:
            return True
    return False


def _check_dirty_leaf(cls, t):
    if t._grad_fn is None and t._requires_grad:
        raise GradError(
            f"{cls.__name__}: ctx.mark_dirty was given a leaf tensor that requires grad (shape "
            f"{tuple(t.shape)}); a leaf can't be modified in place, or its gradient would be "
            "lost. Pass a clone(), or apply the Function under tapegrad.no_grad().")
    view = t._view
    if view is not None and view[0]._grad_fn is None and view[0]._requires_grad:
        raise GradError(
            f"{cls.__name__}: ctx.mark_dirty was given a view (shape {tuple(t.shape)}) of a "
            f"leaf that requires grad (shape {tuple(view[0].shape)}), which can't be modified "
            "in place. Clone the leaf first, or apply the Function under tapegrad.no_grad().")


def _alias(t):
    """An input returned unchanged comes back as a new view of itself, as in PyTorch: the
    output gets its own history without changing the input's."""
    a = wrap(t._data.view())
    shape = t._data.shape
    _track_view(a, t, RESHAPE, {"shape": shape, "in_shape": shape})
    return a


def _save(ctx, node, outs, diff):
    """Turn what save_for_backward was given into the node's saved entries: an output is
    kept as a detached alias (restored with its history by ``_saved_output``; keeping the
    output itself would make a cycle through its grad_fn), anything else as is, each with its
    version counter and version for the engine's check (Note [Custom Function nodes])."""
    to_save, ctx._to_save = ctx._to_save, None
    if not to_save:
        ctx._saved = ()
        return
    out_index = {id(outs[i]): i for i in diff}
    flat, entries = (), []
    hooked = STATE.saved_hooks is not None
    for k, t in enumerate(to_save):
        if t is None:
            entries.append((None, None))
            continue
        i = out_index.get(id(t))
        if i is not None:
            t = t.detach()
        if hooked:     # packed; saved_tensors unpacks (Note [Saved-tensor hooks] in graph.py),
            # or, under a mutation guard, kept as below and watched
            entry = pack_for_function(f"saved_tensors[{k}]", t, node._forward_cls.__name__,
                                      node)
            flat += entry
            entries.append((entry[1], i))
            continue
        vc = t._counter()
        flat += (f"saved_tensors[{k}]", t, vc, vc.value)
        entries.append((t, i))
    node.saved = flat
    ctx._saved = tuple(entries)


# ---- the public classes -------------------------------------------------------------------------
class Function:
    """Base class of custom autograd operations with hand-written derivatives.

    Subclass it with staticmethods ``forward(ctx, *args)`` (or ``forward(*args)`` plus
    ``setup_context(ctx, inputs, output)``) and ``backward(ctx, *grad_outputs)`` returning one
    gradient per forward argument (None where there is none), then call ``apply``. forward
    runs without recording; backward runs with recording only under create_graph=True, so
    a backward written with tapegrad ops can be differentiated again. ``jvp(ctx,
    *tangents)`` serves forward mode. ``vmap`` and ``generate_vmap_rule`` are accepted and
    reserved for the transforms (func) issue: nothing uses them yet.

    Example:
        >>> import tapegrad as tg
        >>> class Cube(tg.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x ** 3
        ...     @staticmethod
        ...     def backward(ctx, g):
        ...         (x,) = ctx.saved_tensors
        ...         return 3 * x ** 2 * g
        >>> x = tg.tensor(2.0, requires_grad=True)
        >>> y = Cube.apply(x); y.backward(); y, x.grad
        (tensor(8., grad_fn=<CubeBackward>), tensor(12.))
    """
    generate_vmap_rule = False     # reserved for the transforms issue

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # The per-class node type: its name is the grad_fn's name (``CubeBackward``).
        cls._backward_cls = type(f"{cls.__name__}Backward", (_FunctionNode,), {
            "__slots__": (), "__module__": cls.__module__, "_forward_cls": cls,
            "_op": track(OpDef(cls.__name__, None, _function_vjp))})
        cls._signature = None

    def __init__(self, *args, **kwargs):
        warnings.warn(f"{type(self).__name__} should not be instantiated: the methods of a "
                      "custom Function are static; call apply on the class.",
                      DeprecationWarning, stacklevel=2)

    def __call__(self, *args, **kwargs):
        raise GradError(f"{type(self).__name__}: calling a Function instance (the legacy "
                        "style) is not supported; use the class's apply: "
                        f"{type(self).__name__}.apply(...).")

    @staticmethod
    def forward(*args, **kwargs):
        """The computation, run without recording. Override as a staticmethod."""
        raise NotImplementedError("forward")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Optional: fill ctx from forward's ``inputs`` (a tuple) and ``output``; with it,
        forward takes no ctx."""
        raise NotImplementedError("setup_context")

    @staticmethod
    def backward(ctx, *grad_outputs):
        """One gradient per forward input from one per output (alias: ``vjp``).

        Without create_graph the gradients it receives are read-only (the engine may share
        them with another branch): clone one before writing into it.
        """
        raise NotImplementedError("backward")

    @staticmethod
    def vjp(ctx, *grad_outputs):
        """The same as :meth:`backward`; implement one of the two."""
        raise NotImplementedError("vjp")

    @staticmethod
    def jvp(ctx, *grad_inputs):
        """Forward mode: one tangent per output from one per forward input."""
        raise NotImplementedError("jvp")

    @staticmethod
    def vmap(info, in_dims, *args):
        """Reserved for the transforms (func) issue; not used yet."""
        raise NotSupportedError("Function.vmap is reserved for tapegrad's transforms (func) "
                                "issue and is not used yet.")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run the Function on ``args`` and record it for autograd.

        Args:
            *args, **kwargs: forward's arguments (tensors or any other values; with
                setup_context, keywords and defaults are bound to positions, and
                setup_context receives them all as ``inputs``).

        Returns:
            What forward returned, with its tensor outputs given the Function's history (and,
            in forward mode, their tangents from jvp). An input returned unchanged comes
            back as a new view of it.

        Example:
            >>> import tapegrad as tg
            >>> class Twice(tg.autograd.Function):
            ...     @staticmethod
            ...     def forward(ctx, x):
            ...         return 2 * x
            ...     @staticmethod
            ...     def backward(ctx, g):
            ...         return 2 * g
            >>> Twice.apply(tg.ones(2, requires_grad=True))
            tensor([2., 2.], grad_fn=<TwiceBackward>)
        """
        return _apply(cls, args, kwargs)


_BASE_FORWARD = Function.forward
_BASE_SETUP = Function.setup_context
_BASE_BACKWARD = Function.backward
_BASE_VJP = Function.vjp
_BASE_JVP = Function.jvp


def once_differentiable(fn):
    """Decorate a Function's backward that is not itself differentiable.

    It runs without recording; under create_graph=True its results get a history that raises
    a clear error, naming the Function, if a second-order gradient reaches them.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.autograd.function import once_differentiable
        >>> class Square(tg.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x * x
        ...     @staticmethod
        ...     @once_differentiable
        ...     def backward(ctx, g):
        ...         return 2 * ctx.saved_tensors[0] * g
        >>> x = tg.tensor(3.0, requires_grad=True); Square.apply(x).backward(); x.grad
        tensor(6.)
    """
    @functools.wraps(fn)
    def wrapper(ctx, *grad_outputs):
        if not STATE.grad_enabled:            # the usual backward: nothing records anyway
            return fn(ctx, *grad_outputs)
        STATE.grad_enabled = False
        try:
            grads = fn(ctx, *grad_outputs)
        finally:
            STATE.grad_enabled = True
        return _guard_second_order(ctx, grads, grad_outputs)
    return wrapper


def _guard_second_order(ctx, grads, grad_outputs):
    """Give each gradient a history that leads to the Function's inputs (and to the output
    gradients that require grad) through a node that raises when a backward reaches it."""
    node = ctx._node() if ctx._node is not None else None
    parents = [p for p in (node.parents if node is not None else ()) if p is not None]
    parents += [g._node() for g in grad_outputs if isinstance(g, Tensor) and g._requires_grad]
    if not parents:
        return grads
    name = node._forward_cls.__name__ if node is not None else "a custom Function"
    single = type(grads) is not tuple
    guarded = []
    for g in ((grads,) if single else grads):
        if isinstance(g, Tensor):
            err = Node(_ONCE, {"function": name}, (True,) * len(parents), tuple(parents),
                       g._data.shape, g._data.dtype, node.site if node is not None else None)
            g = wrap(g._data, err)
        guarded.append(g)
    return guarded[0] if single else tuple(guarded)


def _once_vjp(ctx, g):
    raise GradError(
        f"{ctx.function}: its backward is decorated with @once_differentiable, so it can't be "
        "differentiated again, but a second-order gradient (create_graph=True) reached it. "
        "Write the backward with tapegrad ops and drop the decorator to allow double backward.")


_ONCE = track(OpDef("once_differentiable", None, _once_vjp))
