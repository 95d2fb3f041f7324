"""Graph nodes. A Node is one recorded op: the rule to run backward, the data it saved,
the nodes its inputs came from, and the line of user code that created it.

# Note [Creation sites]
Every node remembers the first frame outside the tapegrad package that led to it, as
(code object, instruction offset); the line number is worked out only when an error or a
repr needs it. Capturing is a short frame walk, cheap enough to stay on (the figure is in
benchmarks/engine_bench.py); ``autograd.set_detect_anomaly`` does not gate it.
Nodes recorded on the user's behalf deep inside tapegrad, where the walk would be long, take
a site found once instead (``STATE.site``): those of a recorded backward (create_graph=True)
take the site of the backward()/grad() call, the ops of a tangent (forward mode) take the
site of the op whose tangent they compute.
"""
import os
import sys

from .state import STATE

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_getframe = sys._getframe


def capture_site(depth=4):
    """(code, lasti) of the first caller frame outside tapegrad; None if sites are off.

    ``depth`` is where the user's frame usually is (capture_site <- record_node <- apply <-
    public function <- user). Jumping straight there skips materializing the frame objects
    of tapegrad's own calls, which is most of the cost; if the frame found there is still
    tapegrad's (a composite op, a bound lambda), walk outward from it.
    """
    global _last_user_code
    if not STATE.track_sites:
        return None
    site = STATE.site
    if site is not None:
        return site
    try:
        f = _getframe(depth)
    except ValueError:
        return None
    code = f.f_code
    if code is not _last_user_code:
        while code.co_filename.startswith(_PKG_DIR):
            f = f.f_back
            if f is None:
                return None
            code = f.f_code
        _last_user_code = code
    return (code, f.f_lasti)


# NOTE: the last user code object seen: ops run in a user's loop all come from one function,
# and an identity test is cheaper than a filename test. A cache, not a mode: a stale or
# racing value costs only the filename test.
_last_user_code = None


def format_site(site):
    """'file.py:12' for a captured site, '<unknown>' when none was captured."""
    if site is None:
        return "<unknown>"
    code, lasti = site
    line = code.co_firstlineno
    for start, end, lineno in code.co_lines():
        if start <= lasti < end and lineno is not None:
            line = lineno
            break
    return f"{code.co_filename}:{line}"


class Ctx:
    """What a rule sees: saved values as ``x``, ``y``, ``z`` (inputs 0-2), ``out``,
    ``needs_input_grad``, and the
    op's parameters (axis, shape, ...) as attributes. A Node is its own ctx in the fast
    path (arrays); the engine builds a Ctx holding Tensors when it records the backward
    (create_graph=True)."""
    # NOTE: the op's parameters are the instance __dict__ (``params`` reads and sets it), so
    # ``ctx.axis`` is a plain attribute lookup: a ``__getattr__`` fallback cost ~0.8 us per
    # read (the failed lookup raises first), more than some whole rules. A recorded node gets
    # its own copy of the dict (record_node): an attribute that is not a slot, set on one
    # node, would otherwise land in every node sharing the op's parameters (a module-level
    # constant, the empty default) and reach their forward calls. Ctxs built for one rule
    # call share the dict they are given.
    __slots__ = ("needs_input_grad", "x", "y", "z", "out", "__dict__")

    @property
    def params(self):
        """The op's parameters, a dict (a recorded node's own copy)."""
        return self.__dict__

    @params.setter
    def params(self, value):
        self.__dict__ = value

    def __getattr__(self, name):
        # Only reached for a slot that is not set and is no parameter: say which name.
        raise AttributeError(f"ctx has no saved value or parameter {name!r}")


class Node:
    """One recorded op, which is also the ``ctx`` its rule reads (see Ctx).

    ``parents[i]`` is the node input i's gradient goes to (None: none). ``saved`` holds, for
    the version check, a flat run of (name, tensor or None for out, version counter, version
    at save) per kept value (see ``saved_entries``); it is None once a backward freed them.
    ``out_fw``, None unless the node's output is a dual tensor, is that output's tangents, for
    a recorded backward to see (the node keeps its output's array, not the tensor).
    """
    # NOTE: node and ctx are one object because a separate ctx cost an allocation and a
    # dozen attribute writes per recorded op, about a tenth of the per-op overhead.
    __slots__ = ("op", "parents", "shape", "dtype", "site", "hooks", "retained",
                 "needs_input_grad", "saved", "x", "y", "z", "out", "out_fw",
                 "__weakref__", "__dict__")

    def __init__(self, op, params, needs_input_grad, parents, shape, dtype, site):
        self.op = op
        self.params = params
        self.needs_input_grad = needs_input_grad
        self.parents = parents
        self.shape = shape
        self.dtype = dtype
        self.site = site
        self.saved = ()
        self.hooks = None        # tensor hooks of the output, run on its gradient
        self.retained = None     # weakref to the output tensor when retain_grad() was called
        self.out_fw = None

    params = Ctx.params          # the parameters are the __dict__, as for Ctx
    __getattr__ = Ctx.__getattr__

    @property
    def ctx(self):
        """The rule's context (the node itself), or None once its saved values were freed."""
        return None if self.saved is None else self

    def saved_entries(self):
        """(name, tensor or None, version counter, version) for each value this node kept."""
        s = self.saved or ()
        return [tuple(s[k:k + 4]) for k in range(0, len(s), 4)]

    def free_saved(self):
        """Drop the saved values (after a backward without retain_graph)."""
        self.saved = None
        self.x = self.y = self.z = self.out = None

    def name(self):
        """PyTorch-style node name, e.g. ``MulBackward0``."""
        return "".join(p.capitalize() for p in self.op.name.split("_")) + "Backward0"

    @property
    def next_functions(self):
        """((node, 0), ...) for each input, as in PyTorch; (None, 0) where no gradient flows."""
        return tuple((p, 0) for p in self.parents)

    def register_hook(self, hook):
        """Run ``hook(grad)`` on the gradient of this node's output; it may return a new one."""
        if self.hooks is None:
            self.hooks = []
        self.hooks.append(hook)
        return _RemovableHandle(self.hooks, hook)

    def __repr__(self):
        return f"<{self.name()} at {format_site(self.site)}>"


class AccumulateGrad(Node):
    """The node of a leaf tensor: gradients that reach it are added into ``variable.grad``."""
    __slots__ = ("variable", "post_hooks")

    def __init__(self, variable):
        super().__init__(None, {}, (), (), variable._data.shape, variable._data.dtype, None)
        self.variable = variable
        self.post_hooks = None

    def name(self):
        return "AccumulateGrad"

    def __repr__(self):
        return "<AccumulateGrad>"


class _RemovableHandle:
    """Returned by register_hook; ``remove()`` unregisters the hook."""
    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)
