"""explain(): why is this gradient None (or zero)?

``explain(output, inputs)`` says, for each input, which recorded ops connect it to
``output`` (with the user's lines), or where and why the chain is broken. It prints its
report (unless ``quiet=True``) and returns it as an :class:`Explanation`: ``str()`` is the
printed text, ``.to_dict()`` plain data, ``[i]`` the :class:`InputExplanation` of input i.

# Note [Explaining a missing gradient]
A gradient reaches an input when the input's node (its grad_fn, or its leaf accumulator) is
reachable from the output's node through ``Node.parents``. explain() walks that graph once
(nothing is recorded for it, so it costs nothing until called) and, per input:

- reachable: reports the shortest path of ops from the input to the output. If every path
  passes through an op whose derivative is zero everywhere (round, floor, ceil, trunc,
  sign), the gradient is zeros rather than None, and it says which op;
- not requiring grad: an integer or bool dtype (which can't), a frozen nn.Parameter, the
  result of a detach() or of an op run under no_grad (tied through the cut log, below), or
  simply a tensor created without ``requires_grad=True``;
- requiring grad but unreachable: a break leaves no node behind, so the places that break
  chains log "cut events" (Note [Cut events] in _core/cuts.py): detach(), .data, .numpy(),
  .item(), .tolist(), float(t), int(t), ops run under no_grad/inference_mode, integer/bool
  ops (comparisons, argmax). A cut explains the input when the tensor that was cut descends
  from it (a walk back from the cut tensor's node reaches the input's node). An input
  modified in place after the output used it is told apart first: its history now starts
  at the in-place op (its version counter keeps that op's line), and walking back from there
  reaches a node the output uses: the output used the old value.

Limits: the log keeps the last 256 cuts per thread; a cut whose tensor no longer exists (a
temporary: ``(w * 2).sum().item()``) can't be tied to an input, so such cuts are listed as
possible causes only when nothing else explains the break. Cuts made by tapegrad's own code
are not logged. An input that reaches the output only through a custom Function that
returns None for it still counts as connected.
"""
import sys
import textwrap
from collections.abc import Mapping

from .._core import cuts
from .._core.errors import ArgumentError
from .._core.node import AccumulateGrad, format_site
from .._core.tensor import Tensor, Version
from .inspect import output_tensors

__all__ = ["explain", "Explanation", "InputExplanation", "Cut"]

# Ops whose derivative is zero wherever it exists (PyTorch's convention for these too).
ZERO_GRAD_OPS = frozenset({"round", "floor", "ceil", "trunc", "sign"})

_PATH_SHOWN = 12          # a longer path prints its first and last ops only
_MAX_CAUSES = 5
_WIDTH = 96               # printed causes wrap here (indented under the input's line)

# kind -> (what happened, what it means); "{op}" is the op's name
_CUT_TEXT = {
    "detach": ("detach()", "the result has the values but no history"),
    "data": (".data", "the result has the values but no history"),
    "detach+numpy": (".detach().numpy()", "a round trip through NumPy: a tensor made from the "
                     "array has no history"),
    "detach+item": (".detach().item()", "the value became a Python number: a tensor made "
                    "from it has no history"),
    "detach+tolist": (".detach().tolist()", "the values became Python numbers: a tensor made "
                      "from them has no history"),
    "detach+float": ("float(t.detach())", "the value became a Python number: a tensor made "
                     "from it has no history"),
    "detach+int": ("int(t.detach())", "the value became a Python number: a tensor made from "
                   "it has no history"),
    "numpy": (".numpy(force=True)", "a round trip through NumPy: a tensor made from the array "
              "has no history"),
    "item": (".item()", "the value became a Python number: a tensor made from it has no "
             "history"),
    "tolist": (".tolist()", "the values became Python numbers: a tensor made from them has no "
               "history"),
    "float": ("float(t)", "the value became a Python number: a tensor made from it has no "
              "history"),
    "int": ("int(t)", "the value became a Python number: a tensor made from it has no "
            "history"),
    "no_grad": ("'{op}' under no_grad()", "grad mode was off, so the op was not recorded"),
    "inference_mode": ("'{op}' under inference_mode()", "grad mode was off, so the op was not "
                       "recorded"),
    "nondiff": ("'{op}'", "it is not differentiable: its result is integer or bool, so it is "
                "never recorded"),
}

_FIX = {
    "detach": "drop the detach() if gradients should flow here",
    "numpy": "compute it with tapegrad's ops instead of NumPy's (np.clip -> clamp, ...)",
    "item": "keep the value a tensor (don't call .item()/float()/.tolist() on the way)",
    "no_grad": "run this op outside no_grad()/inference_mode()",
    "nondiff": "use a differentiable form (e.g. a mask as x * (x > 0) keeps x's gradient; "
               "softmax instead of argmax)",
}


def _fix_for(kind):
    if kind == "detach":
        return _FIX["detach"]
    if kind == "data":
        return "use the tensor itself, not .data, where gradients should flow"
    if kind.endswith("numpy"):
        return _FIX["numpy"]
    if kind in ("no_grad", "inference_mode"):
        return _FIX["no_grad"]
    if kind == "nondiff":
        return _FIX["nondiff"]
    return _FIX["item"]


def _bullet(message):
    """A cause as the lines of an indented bullet, wrapped (a site's path is never broken)."""
    return textwrap.wrap(message, width=_WIDTH, initial_indent="    - ",
                         subsequent_indent="      ", break_long_words=False,
                         break_on_hyphens=False)


class Cut:
    """One reason a chain is broken: ``kind`` (e.g. "detach", "item", "no_grad", "nondiff",
    "inplace", "dtype", "frozen", "leaf", "unused"), the op's name where there is one,
    ``site`` ("file.py:12", or None), a readable ``message`` (which names the site) and
    ``made_output``: the cut produced the output itself."""
    __slots__ = ("kind", "op", "site", "message", "made_output")

    def __init__(self, kind, op, site, message):
        self.kind, self.op, self.site, self.message = kind, op, site, message
        self.made_output = False     # the cut produced the output itself (ranks it first)

    def to_dict(self):
        return {"kind": self.kind, "op": self.op, "site": self.site, "message": self.message,
                "made_output": self.made_output}

    def __repr__(self):
        return f"<Cut {self.kind} at {self.site}>"


class InputExplanation:
    """What explain() found for one input.

    Attributes:
        index, name: the input's position and name (None unless inputs were named).
        connected: True when a chain of recorded ops leads from the input to the output.
        path: the ops on the shortest such chain, input side first, as (node name, site).
        zero: True when every chain passes through an op with a zero derivative (the
            gradient is then zeros, not None); ``zero_ops`` names them as (node name, site).
        causes: the :class:`Cut` s that explain a missing chain; ``possible`` lists cuts that
            may explain it but can't be tied to the input (their tensor no longer exists).
    """

    def __init__(self, index, name, shape, dtype):
        self.index, self.name, self.shape, self.dtype = index, name, shape, dtype
        self.connected = False
        self.path = []
        self.zero = False
        self.zero_ops = []
        self.causes = []
        self.possible = []

    @property
    def label(self):
        who = f"input {self.index}" + (f" ({self.name})" if self.name is not None else "")
        return f"{who}, shape {self.shape}, {self.dtype}"

    def summary(self):
        """One paragraph: the causes, or the path (used in the engine's error messages)."""
        if not self.connected:
            return " ".join(c.message for c in self.causes + self.possible)
        return f"it reaches the output through {len(self.path)} op(s)."

    def lines(self):
        """The printed report of this input, as lines."""
        if self.connected:
            head = f"{self.label}: connected through {len(self.path)} op(s)"
            if self.zero:
                head += ", but its gradient is zero"
            out = [head]
            steps = self.path
            if len(steps) > _PATH_SHOWN:
                half = _PATH_SHOWN // 2
                steps = steps[:half] + [("...", f"{len(self.path) - 2 * half} more ops")] + \
                    steps[-half:]
            width = max(len(op) for op, _ in steps) if steps else 0
            out += [f"    {op:<{width}}  {site}" for op, site in steps]
            if self.zero_ops:
                named = ", ".join(f"{op} at {site}" for op, site in self.zero_ops)
                if self.zero:
                    out.append(f"    every path goes through {named}, whose derivative is zero "
                               "everywhere: the gradient will be zeros, not None")
                else:
                    out.append(f"    note: this path goes through {named}, whose derivative "
                               "is zero everywhere; gradient comes from other paths only")
            return out
        out = [f"{self.label}: NOT connected (its gradient will be None)"]
        for c in self.causes:
            out += _bullet(c.message)
        if self.possible:
            out.append("    possible causes (cuts of tensors that no longer exist, so they "
                       "can't be tied to this input):")
            for c in self.possible:
                out += _bullet(c.message)
        return out

    def to_dict(self):
        """This input's findings as plain data."""
        return {"index": self.index, "name": self.name, "shape": list(self.shape),
                "dtype": self.dtype, "connected": self.connected,
                "path": [{"op": op, "site": site} for op, site in self.path],
                "zero": self.zero,
                "zero_ops": [{"op": op, "site": site} for op, site in self.zero_ops],
                "causes": [c.to_dict() for c in self.causes],
                "possible": [c.to_dict() for c in self.possible]}

    def __str__(self):
        return "\n".join(self.lines())

    def __repr__(self):
        state = "connected" if self.connected else \
            "not connected: " + ", ".join(c.kind for c in self.causes)
        return f"<InputExplanation {self.index}: {state}>"


class Explanation:
    """explain()'s report: ``print`` it, index it (``[i]``: an :class:`InputExplanation`),
    or take ``.to_dict()`` (plain data for programs)."""

    def __init__(self, output, inputs, notes):
        self.output, self.inputs, self.notes = output, inputs, notes

    def __getitem__(self, i):
        return self.inputs[i]

    def __len__(self):
        return len(self.inputs)

    def __iter__(self):
        return iter(self.inputs)

    def to_dict(self):
        """The report as plain data (json.dumps takes it).

        Example:
            >>> import tapegrad as tg
            >>> x = tg.ones(2, requires_grad=True)
            >>> d = tg.autograd.explain((x * 2).sum(), x, quiet=True).to_dict()
            >>> d["inputs"][0]["connected"], [s["op"] for s in d["inputs"][0]["path"]]
            (True, ['MulBackward0', 'SumBackward0'])
        """
        return {"output": self.output, "notes": list(self.notes),
                "inputs": [e.to_dict() for e in self.inputs]}

    def __str__(self):
        lines = [f"explain: {self.output}"]
        for n in self.notes:
            lines += textwrap.wrap(n, width=_WIDTH + 4, initial_indent="  ",
                                   subsequent_indent="    ", break_long_words=False,
                                   break_on_hyphens=False)
        for e in self.inputs:
            lines += ["  " + line for line in e.lines()]
        return "\n".join(lines)

    def __repr__(self):
        n = sum(e.connected for e in self.inputs)
        return f"<Explanation: {n} of {len(self.inputs)} inputs connected>"


def explain(output, inputs, *, quiet=False):
    """Say how each input's gradient reaches ``output``, or why it does not.

    For each input: the ops (with the lines of your code that ran them) connecting it to
    ``output``, or where and why the chain is broken: the input does not require grad (an
    integer dtype, a frozen parameter, a detach()ed tensor), an op ran under no_grad, a
    detach(), a round trip through NumPy or a Python number (.numpy(), .item(), .tolist(),
    float()), a non-differentiable op (comparison, argmax), or the input was modified in place
    after ``output`` used it. Note [Explaining a missing gradient] in this module says how,
    and what it can't see.

    Args:
        output: the Tensor (or tuple/list of Tensors) whose gradient you want.
        inputs: a Tensor, a sequence of Tensors, or a mapping (or sequence of pairs) of
            names to Tensors, e.g. ``dict(model.named_parameters())``.
        quiet: don't print the report (it is returned either way).

    Returns:
        Explanation: ``str()`` is the printed text, ``[i]`` input i's findings,
        ``.to_dict()`` plain data.

    Example:
        >>> import tapegrad as tg
        >>> w = tg.ones(2, requires_grad=True)
        >>> loss = (w.detach() * 3).sum()
        >>> r = tg.autograd.explain(loss, w, quiet=True)
        >>> r[0].connected, [c.kind for c in r[0].causes]
        (False, ['detach'])
    """
    outputs = output_tensors(output, "explain", "whose gradients you want")
    named = _named_inputs(inputs)
    roots, notes = [], []
    events = cuts.events()
    for i, t in enumerate(outputs):
        node = _root(t)
        if node is None:
            notes.append(_output_note(t, i if len(outputs) > 1 else None, events))
        else:
            roots.append(node)
    g = _Graph(roots, outputs)
    found = []
    for index, (name, t) in enumerate(named):
        e = InputExplanation(index, name, tuple(t._data.shape), _dtype_name(t))
        _explain_one(e, t, g)
        found.append(e)
    report = Explanation(_describe_outputs(outputs), found, notes)
    if not quiet:
        print(report)
    return report


def diagnose(outputs, t):
    """One input's diagnosis as a sentence or two, for the engine's "does not require grad"
    and "not used to compute the outputs" errors; "" if explain() finds nothing to add."""
    # NOTE: a diagnosis that fails must not hide the error it was asked to explain (it runs
    # inside the engine's raise), so any exception here gives no diagnosis instead.
    try:
        outputs = [o for o in (outputs or ()) if isinstance(o, Tensor)]
        roots = [n for n in map(_root, outputs) if n is not None]
        e = InputExplanation(0, None, tuple(t._data.shape), _dtype_name(t))
        _explain_one(e, t, _Graph(roots, outputs))
    except Exception:     # noqa: BLE001 (see the note above)
        return ""
    return "" if e.connected else e.summary()


# ---- the walk ---------------------------------------------------------------------------
def _named_inputs(inputs):
    if isinstance(inputs, Tensor):
        return [(None, inputs)]
    if isinstance(inputs, Mapping):
        pairs = list(inputs.items())
    else:
        items = list(inputs)
        if items and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str)
                         for p in items):
            pairs = items                      # model.named_parameters()
        else:
            pairs = [(None, t) for t in items]
    for i, (_, t) in enumerate(pairs):
        if not isinstance(t, Tensor):
            raise ArgumentError(
                f"explain: inputs must be Tensors (or a mapping of names to Tensors), but "
                f"input {i} is a {type(t).__name__}.")
    return pairs


def _root(t):
    """The node an output's gradient would enter at, or None (it does not require grad)."""
    node = t.grad_fn                     # (the property brings a stale view up to date)
    if node is None and t._requires_grad:
        node = t._accumulator()          # a leaf output: its graph is its accumulator
    return node


def _node_of(t):
    """The input's node (grad_fn or live leaf accumulator), without making one."""
    node = t.grad_fn
    if node is not None:
        return node
    ref = t._accum
    if ref is None or type(ref) is AccumulateGrad:
        return ref
    return ref()


class _Graph:
    """What explain() knows about the output's graph, shared by all inputs: the roots, the
    nodes they reach (``reach``: node -> the consumer it was first reached from), the cut
    log, and, made on first need, the zero-derivative nodes and what the roots reach
    without crossing one."""

    def __init__(self, roots, outputs=()):
        self.roots, self.outputs = roots, outputs
        self.reach = _reach(roots)
        self.events = cuts.events()
        self._zero = None

    def zero(self):
        """(zero-derivative nodes in the graph, nodes reached without crossing one)."""
        if self._zero is None:
            zero_nodes = {n for n in self.reach if _is_zero_op(n)}
            live = set()
            if zero_nodes:
                for r in self.roots:
                    if r not in zero_nodes:
                        live |= _ancestors(r, stop=zero_nodes)
            self._zero = zero_nodes, live
        return self._zero


def _reach(roots):
    """{node: the consumer it was first reached from (None for a root)}, breadth first, so
    following the links from a node gives a shortest path to the output."""
    via = dict.fromkeys(roots)
    frontier = list(via)
    while frontier:
        nxt = []
        for node in frontier:
            for p in node.parents:
                if p is not None and p not in via:
                    via[p] = node
                    nxt.append(p)
        frontier = nxt
    return via


def _ancestors(start, stop=None):
    """Nodes reachable from ``start`` walking back, not expanding past nodes in ``stop``."""
    seen, stack = {start}, [start]
    while stack:
        node = stack.pop()
        if stop is not None and node in stop:
            continue
        for p in node.parents:
            if p is not None and p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def _is_zero_op(node):
    return node.op is not None and getattr(node.op, "name", None) in ZERO_GRAD_OPS


def _step(node):
    return (node.name(), format_site(node.site))


def _explain_one(e, t, g):
    if not t.requires_grad:
        e.causes = _why_no_grad(t, g.events)
        return
    node = _node_of(t)
    reach = g.reach
    if node is not None and node in reach:
        e.connected = True
        chain, n = [], reach[node]
        while n is not None:
            chain.append(n)
            n = reach[n]
        e.path = [_step(n) for n in chain]
        _zero_paths(e, node, g)
        return
    e.causes, e.possible = _why_unreachable(t, node, g)


def _zero_paths(e, node, g):
    """Mark e.zero when every path from the output to ``node`` crosses a zero-derivative op,
    and name those ops (or the ones on the reported path, when some path avoids them)."""
    zero_nodes, live = g.zero()
    if not zero_nodes:
        return
    if node in live and node not in zero_nodes:
        names = {z.name() for z in zero_nodes}
        e.zero_ops = [s for s in e.path if s[0] in names]
        return
    e.zero = True
    e.zero_ops = [_step(z) for z in zero_nodes if z is not node and node in _ancestors(z)]


# ---- why a chain is broken --------------------------------------------------------------
def _cut_from_event(ev, relation):
    """A Cut for log event ``ev``; ``relation``: "from" (the cut tensor was computed from
    the input), "result" (the input is what the cut produced) or "possible"."""
    kind, op, site, _, _ = ev
    what, means = _CUT_TEXT[kind]
    where = format_site(site)
    what = what.format(op=op)
    if relation == "result":
        text = f"it is the result of {what} at {where}: {means}."
    elif relation == "from":
        text = f"{what} at {where} cut the chain of a value computed from this input: {means}."
    else:
        text = f"{what} at {where} (on a value that no longer exists): {means}."
    return Cut(kind, op, where, f"{text} Fix: {_fix_for(kind)}.")


def _why_no_grad(t, events):
    kind = t._data.dtype.kind
    if kind not in "fc":
        return [Cut("dtype", None, None,
                    f"it has dtype {_dtype_name(t)}: only floating point tensors can require grad "
                    "(integer and bool values are not differentiable). If it should be, "
                    "convert it first: t = t.float().requires_grad_().")]
    param = getattr(sys.modules.get("tapegrad.nn.parameter"), "Parameter", None)
    if param is not None and isinstance(t, param):
        return [Cut("frozen", None, None,
                    "it is a frozen nn.Parameter (requires_grad=False), so no gradient is "
                    "computed for it. Unfreeze it with p.requires_grad_() (and give it to the "
                    "optimizer) if it should train.")]
    for ev in reversed(events):
        if _made(t, ev[4]):
            return [_cut_from_event(ev, "result")]
    return [Cut("leaf", None, None,
                "it does not require grad: a tensor made without requires_grad=True (or "
                "computed only from such tensors). Create it with requires_grad=True or call "
                "t.requires_grad_() on the leaf, before using it.")]


def _why_unreachable(t, node, g):
    causes, reach = [], g.reach
    vc = t._vc
    if node is not None and t._grad_fn is not None and vc is not None and vc.site is not None:
        if _used_old_value(node, reach):
            where = format_site(vc.site)
            causes.append(Cut(
                "inplace", None, where,
                f"it was modified in place at {where} after the output used its old value: "
                "its history now starts at that in-place op, which the output does not use. "
                "Fix: take the gradient of the value the output used (keep a reference to it, "
                "or clone before the in-place op), or do the in-place op later."))
            return causes, []
    memo = {}
    seen, possible = set(), []
    for ev in g.events:                      # oldest first: program order
        sources = [r() for r in ev[3]]
        live = [s for s in sources if s is not None]
        key = (ev[0], ev[1], ev[2])
        if any(_descends(s, t, node, memo) for s in live):
            if key not in seen:
                seen.add(key)
                c = _cut_from_event(ev, "from")
                c.made_output = any(_made(o, ev[4]) for o in g.outputs)
                causes.append(c)
        elif not live and key not in seen:
            seen.add(key)
            possible.append(ev)
    if causes:
        # a cut that produced the output itself comes first: it is surely on the way
        causes.sort(key=lambda c: not c.made_output)
        return causes[:_MAX_CAUSES], []
    if not g.roots:
        causes.append(Cut("unused", None, None,
                          "the output does not require grad, so nothing is connected to it "
                          "(see the note on the output)."))
    else:
        causes.append(Cut(
            "unused", None, None,
            "no recorded op connects it to the output, and no logged cut (the last "
            f"{cuts.LIMIT}) was made on a tensor computed from it. Check that the output "
            "is computed from this very tensor, not a copy (tapegrad.tensor(x), x.data, or "
            "a tensor rebuilt from numbers)."))
    # newest first: the most recent cuts are the likeliest to matter
    return causes, [_cut_from_event(ev, "possible") for ev in reversed(possible)][:3]


def _used_old_value(node, reach, depth=4):
    """Whether a node a few steps behind ``node`` (the in-place op's, and for a view its
    view_of/view_scatter pair) is one the output uses: the value before the change. Leaf
    accumulators don't count: a leaf can't be modified in place while it requires grad, so
    reaching one means the two merely share an input."""
    frontier = [node]
    for _ in range(depth):
        frontier = [p for n in frontier for p in n.parents
                    if p is not None and type(p) is not AccumulateGrad]
        if any(p in reach for p in frontier):
            return True
    return False


def _descends(src, t, node, memo):
    """Whether ``src`` (a node, or a leaf tensor) is ``t`` or computed from it."""
    if isinstance(src, Tensor):
        return src is t
    if node is None:
        return False
    hit = memo.get(src)
    if hit is None:
        hit = memo[src] = node in _ancestors(src)
    return hit


def _output_note(t, i, events):
    """Why output ``t`` (output ``i``; None: the only one) does not require grad."""
    who = "the output" if i is None else f"output {i}"
    for ev in reversed(events):
        if _made(t, ev[4]):
            return f"{who} does not require grad: " + _cut_from_event(ev, "result").message
    text = (f"{who} does not require grad: no tensor that requires grad was used to compute it "
            "through recorded ops (an input without requires_grad=True, or a chain broken by "
            "no_grad(), detach() or a conversion).")
    specific = _output_cause(t, events)
    return f"{text} {specific}" if specific else text


def _output_cause(t, events):
    """What the cut log says about output ``t``: the cut that produced it, else the latest
    cuts (any may be the break: an output without a graph can't be walked back); or ""."""
    for ev in reversed(events):
        if _made(t, ev[4]):
            message = _cut_from_event(ev, "result").message
            return "It" + message[2:]           # "it is the result of ..." as a sentence
    recent = []
    for ev in reversed(events):
        what = _CUT_TEXT[ev[0]][0].format(op=ev[1]) + " at " + format_site(ev[2])
        if what not in recent:
            recent.append(what)
        if len(recent) == 3:
            break
    if not recent:
        return ""
    return ("The cuts logged last in this thread (one may be the break): " + "; ".join(recent)
            + ".")


def diagnose_output(t):
    """What the cut log says about an output that does not require grad, for the engine's
    error; "" when it has nothing. Never raises (as diagnose)."""
    try:
        return _output_cause(t, cuts.events())
    except Exception:     # noqa: BLE001 (as in diagnose: the error being raised comes first)
        return ""


def _made(t, link):
    """Whether a cut event's ``link`` says it produced ``t``: a version counter (detach, .data)
    that t has, or a weak reference to t (an op's result)."""
    if link is None:
        return False
    if type(link) is Version:
        return link is t._vc
    return link() is t


def _dtype_name(t):
    return str(t.dtype).replace("tapegrad.", "")


def _describe_outputs(outputs):
    parts = []
    for t in outputs:
        node = t._grad_fn
        made = f" ({node.name()} at {format_site(node.site)})" if node is not None else ""
        parts.append(f"tensor of shape {tuple(t._data.shape)} and dtype {_dtype_name(t)}{made}")
    return "; ".join(parts) if len(parts) > 1 else "output " + parts[0]
