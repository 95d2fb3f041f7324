"""Graph nodes. A Node is one recorded op: the rule to run backward, the data it saved,
the nodes its inputs came from, and the line of user code that created it.

# Note [Creation sites]
Every node remembers the first frame outside the tapegrad package that led to it, as
(code object, instruction offset); the line number is worked out only when an error or a
repr needs it. Capturing is a short frame walk, cheap enough to stay on (the figure is in
benchmarks/engine_bench.py); ``autograd.set_detect_anomaly`` does not gate it.
"""
import os
import sys

from .state import STATE

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_getframe = sys._getframe


def capture_site():
    """(code, lasti) of the first caller frame outside tapegrad; None if sites are off."""
    if not STATE.track_sites:
        return None
    f = _getframe(2)
    while f is not None and f.f_code.co_filename.startswith(_PKG_DIR):
        f = f.f_back
    return None if f is None else (f.f_code, f.f_lasti)


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
    """What a rule sees: saved values as ``x``, ``y``, ``out``, ``needs_input_grad``, and the
    op's parameters (axis, shape, ...) as attributes. Saved values are arrays in the fast
    path and Tensors when the engine records the backward (create_graph=True)."""
    __slots__ = ("needs_input_grad", "params", "saved", "x", "y", "out")

    def __getattr__(self, name):
        # Only reached for names that are not slots: the op's parameters.
        try:
            return object.__getattribute__(self, "params")[name]
        except KeyError:
            raise AttributeError(f"ctx has no saved value or parameter {name!r}") from None


class Node:
    """One recorded op. ``parents[i]`` is the node input i's gradient goes to (None: none)."""
    __slots__ = ("op", "ctx", "parents", "shape", "dtype", "site", "hooks", "retained",
                 "__weakref__")

    def __init__(self, op, ctx, parents, shape, dtype, site):
        self.op = op
        self.ctx = ctx
        self.parents = parents
        self.shape = shape
        self.dtype = dtype
        self.site = site
        self.hooks = None        # tensor hooks of the output, run on its gradient
        self.retained = None     # weakref to the output tensor when retain_grad() was called

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
        super().__init__(None, None, (), variable._data.shape, variable._data.dtype, None)
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
