"""Pictures of autograd graphs: Graphviz DOT text with no dependency, drawn when graphviz is here.

``to_dot(output)`` walks the graph that already exists behind ``output`` (nothing is recorded
for it) and writes one DOT node per graph node: the op as PyTorch's grad_fn names it
(``MulBackward0``), the output shape and dtype, the user's file:line that created it, and, with
``show_saved=True``, the bytes of the values it saved for backward. Leaves (``AccumulateGrad``)
appear by parameter name when ``params`` names them, else by shape. Nodes with tensor hooks
are marked ``hook``, retained gradients ``retain_grad``. Edges run the way data flows forward,
from inputs to the ops that use them, as in torchviz.

# Note [Collapsing repeated layers]
A deep stack of identical layers would make a picture nobody can read, so ``to_dot`` collapses
repetition along the graph's spine. The rule:

1. A spine starts at each output's node and goes, at each step, to the parent with the
   longest path to a leaf (ties: the first input), ending at a leaf or at a node already on a
   spine. Side branches at least ``collapse`` nodes tall start spines of their own.
2. Each spine node makes a *unit*: itself plus the side nodes reachable from it without passing
   another spine node (weights, their transposes, biases). The unit's signature is the structure
   of that piece: op names, shapes, dtypes, hook marks, and which spine nodes it points to (by
   offset, so a residual ``x + f(x)`` has the same signature in every block; a spine leaf other
   than the next spine node, or a node more than 32 units down, counts by its kind alone, so
   ``s = s + f(x)`` in a loop repeats). Parameter names
   and user lines are not part of it: layer 3 and layer 700 look alike.
3. Along the spine, a block of ``p`` consecutive units (``p`` <= 16) that repeats ``k`` times in a
   row, ``k >= collapse``, becomes one group: the first block is drawn inside a box labelled
   ``repeated k times``, the other ``k - 1`` are left out, and the edge from the bottom of the
   first block goes straight to whatever came below the last one. At each spine position the
   period covering the most units wins (ties: the shorter period).

So a chain of 1,000 ``Linear`` + ``tanh`` layers draws as one layer in a box with a count, and
its size no longer grows with the depth. ``collapse=None`` draws every node.

Example:
    >>> import tapegrad as tg
    >>> from tapegrad import viz
    >>> W = tg.ones(2, 3, requires_grad=True); b = tg.zeros(2, requires_grad=True)
    >>> y = W @ tg.ones(3) + b
    >>> dot = viz.to_dot(y, params={"W": W, "b": b})
    >>> dot.startswith("digraph"), "AddBackward0" in dot, '"W' in dot
    (True, True, True)
"""
import os
import shutil

from .._core.errors import ArgumentError, GradError
from .._core.node import AccumulateGrad, format_site
from .._core.tensor import Tensor
from ..autograd.inspect import format_bytes, saved_bytes

__all__ = ["to_dot", "render", "show", "notebook_display"]

_MAX_PERIOD = 16        # longest repeating block (in spine units) looked for
_MAX_UNIT = 64          # side nodes a unit may hold before it counts as unique


# ---- walking the graph -----------------------------------------------------------------------
def _roots(output):
    """The output tensors and the node each one's gradient enters."""
    outs = list(output) if isinstance(output, (tuple, list)) else [output]
    if not outs:
        raise ArgumentError("viz: no outputs given; pass a tensor or a tuple/list of tensors.")
    roots = []
    for t in outs:
        if not isinstance(t, Tensor):
            raise ArgumentError(f"viz: expected tensors, got {type(t).__name__}; pass the "
                                "tensor(s) whose graph to draw.")
        if not t.requires_grad:
            raise GradError("viz: this tensor has no graph (it does not require grad); compute "
                            "it from tensors with requires_grad=True, outside no_grad().")
        roots.append((t, t._node()))
    return roots


def _parents(node):
    return [p for p in node.parents if p is not None]


def _post_order(roots):
    """All nodes reachable from ``roots``, each after its parents; iterative (deep chains)."""
    seen, order = set(), []
    for root in roots:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(_parents(root)))]
        while stack:
            node, it = stack[-1]
            for p in it:
                if id(p) not in seen:
                    seen.add(id(p))
                    stack.append((p, iter(_parents(p))))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def _node_sig(node):
    """What makes two nodes look alike in a picture (names and lines excluded on purpose)."""
    return (node.name(), tuple(node.shape), str(node.dtype), bool(node.hooks),
            _retains(node), getattr(node, "post_hooks", None) is not None)


def _retains(node):
    return node.retained is not None and node.retained() is not None


def _spines(roots, order, min_len):
    """The spines (Note [Collapsing repeated layers], step 1), no node on two: one from each
    root, then one from each side branch tall enough to hold a run (two towers joined by an
    add: the second tower collapses too)."""
    height = {}
    for n in order:
        height[id(n)] = 1 + max((height[id(p)] for p in _parents(n)), default=-1)
    on_spine, spines, heads = set(), [], list(roots)
    while heads:
        head = heads.pop(0)
        spine, n = [], head
        while n is not None and id(n) not in on_spine:
            on_spine.add(id(n))
            spine.append(n)
            ps = _parents(n)
            n = max(ps, key=lambda p: height[id(p)]) if ps else None
        if spine:
            spines.append((spine, n))   # n: where it stopped (a node on another spine, or None)
        side = [p for m in spine for p in _parents(m)
                if id(p) not in on_spine and height[id(p)] >= min_len]
        heads.extend(sorted(side, key=lambda p: -height[id(p)]))
    return spines


def _unit_sigs(spine, end):
    """One hashable signature per spine unit (step 2), and each unit's side nodes; ``end``
    (the node the spine stopped at) counts as the spine's next step."""
    index = {id(n): i for i, n in enumerate(spine)}
    if end is not None:
        index[id(end)] = len(spine)
    sigs, sides = [], []
    for i, top in enumerate(spine):
        memo, side = {}, []

        def sig(n):
            j = index.get(id(n))
            if j is not None and n is not top and (
                    j == i + 1 or not isinstance(n, AccumulateGrad)):
                # near: by offset (a residual's skip); far: only that it is on the spine
                return ("spine", j - i) if j - i <= 2 * _MAX_PERIOD else ("spine", "far")
            if id(n) in memo:
                return memo[id(n)]
            if len(memo) > _MAX_UNIT:
                raise _TooBig
            memo[id(n)] = None              # visited (counts toward the size cap)
            if n is not top and j is None:
                side.append(n)
            s = (_node_sig(n), tuple(sig(p) if p is not None else None for p in n.parents))
            memo[id(n)] = s
            return s
        try:
            sigs.append(sig(top))
        except _TooBig:
            sigs.append(("unique", i))
        sides.append(side)
    return sigs, sides


class _TooBig(Exception):
    pass


def _runs(sigs, min_repeat):
    """(start, period, count) for each collapsed run along one spine (step 3)."""
    ids, codes = {}, []
    for s in sigs:
        codes.append(ids.setdefault(s, len(ids)))
    n, i, runs = len(codes), 0, []
    while i < n:
        best = None
        for p in range(1, min(_MAX_PERIOD, (n - i) // min_repeat) + 1):
            k = 1
            while i + (k + 1) * p <= n and codes[i + k * p:i + (k + 1) * p] == codes[i:i + p]:
                k += 1
            if k >= min_repeat and (best is None or k * p > best[1] * best[0]):
                best = (p, k)
        if best is None:
            i += 1
        else:
            runs.append((i, best[0], best[1]))
            i += best[0] * best[1]
    return runs


# ---- labels ----------------------------------------------------------------------------------
def _short_dtype(dtype):
    return str(dtype).replace("tapegrad.", "")


def _shape_str(shape):
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _esc(text):
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _node_attrs(node, names, show_saved, last_twin):
    marks = []
    if node.hooks:
        marks.append("hook")
    if _retains(node):
        marks.append("retain_grad")
    if isinstance(node, AccumulateGrad):
        var = node.variable
        name = names.get(id(var))
        twin = last_twin.get(id(node))
        if name and twin is not None and names.get(id(twin), name) != name:
            name = f"{names[id(twin)]} .. {name}"      # the same leaf of each repeated block
        lines = [name] if name else []
        lines.append(f"{_shape_str(node.shape)} {_short_dtype(node.dtype)}")
        if getattr(node, "post_hooks", None):
            marks.append("post-accumulate hook")
        if marks:
            lines.append(", ".join(marks))
        return lines, {"fillcolor": "lightblue" if name else "lightgrey", "shape": "box"}, None
    lines = [node.name(), f"{_shape_str(node.shape)} {_short_dtype(node.dtype)}"]
    site = None
    if node.site is not None:
        site = format_site(node.site)
        path, _, line = site.rpartition(":")
        lines.append(f"{os.path.basename(path)}:{line}")
    if show_saved:
        nb = saved_bytes(node)
        lines.append("saved: freed" if nb is None else f"saved {format_bytes(nb)}")
    if marks:
        lines.append(", ".join(marks))
    attrs = {"fillcolor": "orange" if marks else "white"}
    return lines, attrs, site


# ---- DOT -------------------------------------------------------------------------------------
def to_dot(output, params=None, show_saved=False, collapse=3):
    """Graphviz DOT text for the graph behind ``output``; needs no package.

    Args:
        output: a tensor, or a tuple/list of tensors, that requires grad.
        params: optional ``name -> tensor`` dict (e.g. ``dict(model.named_parameters())``);
            leaves it holds are labelled with their names.
        show_saved: also show the bytes each node saved for backward ("freed" after a backward
            that did not retain the graph).
        collapse: draw a block of layers repeated at least this many times once, in a box with
            the count (Note [Collapsing repeated layers] in this module); None or 0: draw all.

    Returns:
        The DOT source, a ``str`` (``digraph tapegrad { ... }``).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad import viz
        >>> x = tg.ones(3, requires_grad=True)
        >>> y = x
        >>> for _ in range(100): y = y * 2
        >>> dot = viz.to_dot(y.sum())
        >>> "repeated 100 times" in dot, dot.count("MulBackward0")
        (True, 1)
    """
    roots = _roots(output)
    names = {}
    for name, t in (params or {}).items():
        if not isinstance(t, Tensor):
            raise ArgumentError(f"viz.to_dot: params[{name!r}] is a {type(t).__name__}, not a "
                                "tensor; pass dict(model.named_parameters()).")
        names.setdefault(id(t), name)
    root_nodes = [n for _, n in roots]
    order = _post_order(root_nodes)

    # Where collapsing hides a spine node, edges to it go to its stand-in further down.
    redirect, clusters, last_twin = {}, [], {}
    if collapse:
        if not isinstance(collapse, int) or collapse < 2:
            raise ArgumentError(f"viz.to_dot: collapse={collapse!r}; give an int >= 2 (the least "
                                "repeat count to collapse) or None to draw every node.")
        for spine, end in _spines(root_nodes, order, collapse):
            sigs, sides = _unit_sigs(spine, end)
            spine = spine + [end]       # a jump past the last unit lands on end
            for start, p, k in _runs(sigs, collapse):
                shift = (k - 1) * p
                for j in range(start + p, start + k * p):
                    redirect[id(spine[j])] = (spine, j + shift)
                members = list(spine[start:start + p])
                for u, side in enumerate(sides[start:start + p]):
                    members.extend(side)
                    # a side leaf's twin in the last block: its name ends the label's range
                    twins = sides[start + (k - 1) * p + u]
                    for a, b in zip(side, twins):
                        if isinstance(a, AccumulateGrad) and isinstance(b, AccumulateGrad):
                            last_twin[id(a)] = b.variable
                clusters.append((members, k, p, spine[start], spine[start + k * p - 1]))

    def target(n):
        while id(n) in redirect:
            spine, j = redirect[id(n)]
            n = spine[j] if j < len(spine) else None
            if n is None:       # the run went down to the last leaf: nothing below it
                return None
        return n

    # Walk again from the outputs with redirected edges: what it reaches is what gets drawn.
    drawn, edges, stack = {}, [], list(root_nodes)
    for n in root_nodes:
        drawn[id(n)] = n
    while stack:
        n = stack.pop()
        for p in _parents(n):
            q = target(p)
            if q is None:
                continue
            edges.append((q, n, q is not p))
            if id(q) not in drawn:
                drawn[id(q)] = q
                stack.append(q)

    ids = {}

    def nid(n):
        return ids.setdefault(id(n), f"n{len(ids)}")

    def node_line(n, indent):
        lines, attrs, site = _node_attrs(n, names, show_saved, last_twin)
        attrs = dict(attrs, label="\n".join(lines))
        if site is not None:
            attrs["tooltip"] = site
        body = ", ".join(f'{k}="{_esc(str(v))}"' for k, v in attrs.items())
        return f"{indent}{nid(n)} [{body}];"

    out = ["digraph tapegrad {",
           '  graph [rankdir=TB, fontname="Helvetica"];',
           '  node [style=filled, shape=box, fontname="Helvetica", fontsize=10];',
           '  edge [fontname="Helvetica", fontsize=9];']
    placed = set()
    for c, (members, k, p, top, bottom) in enumerate(clusters):
        inside = [m for m in members if id(m) in drawn and id(m) not in placed]
        if not inside:
            continue
        sites = sorted({format_site(m.site) for m in (bottom, top) if m.site is not None})
        label = f"repeated {k} times ({p} op{'s' if p > 1 else ''} each)"
        out.append(f"  subgraph cluster_{c} {{")
        out.append(f'    label="{_esc(label)}"; style="rounded,dashed"; color="gray40";')
        if sites:
            out.append(f'    tooltip="{_esc(" .. ".join(sites))}";')
        for m in inside:
            placed.add(id(m))
            out.append(node_line(m, "    "))
        out.append("  }")
    for n in drawn.values():
        if id(n) not in placed:
            out.append(node_line(n, "  "))
    for i, (t, node) in enumerate(roots):
        label = f"output\n{_shape_str(t.shape)} {_short_dtype(t.dtype)}"
        if id(t) in names:
            label = f"{names[id(t)]}\n" + label
        out.append(f'  out{i} [label="{_esc(label)}", fillcolor="darkolivegreen1", '
                   'shape="ellipse"];')
        out.append(f"  {nid(node)} -> out{i};")
    for src, dst, skipped in edges:
        extra = ' [style="dashed", label="after repeats"]' if skipped else ""
        out.append(f"  {nid(src)} -> {nid(dst)}{extra};")
    out.append("}")
    return "\n".join(out) + "\n"


# ---- rendering -------------------------------------------------------------------------------
_NO_GRAPHVIZ = ("viz.render needs the graphviz Python package: pip install graphviz "
                "(and the dot program: apt-get install graphviz)")
_NO_DOT = ("viz.render needs Graphviz's dot program on PATH: apt-get install graphviz "
           "(brew install graphviz on macOS); viz.to_dot works without it")


def _graphviz():
    try:
        import graphviz          # lazily: importing tapegrad must stay light
    except ImportError:
        raise ImportError(_NO_GRAPHVIZ) from None
    if shutil.which("dot") is None:
        raise RuntimeError(_NO_DOT)
    return graphviz


def render(output, format="svg", path=None, **kwargs):
    """Draw the graph behind ``output`` as SVG or PNG with Graphviz.

    Args:
        output: as for :func:`to_dot`; ``kwargs`` (params, show_saved, collapse) go to it too.
        format: ``"svg"`` or ``"png"``.
        path: file to write; None returns the picture instead.

    Returns:
        ``path`` when one is given; else the SVG text (``str``) or the PNG bytes.

    Raises:
        ImportError: the graphviz package is missing (``pip install graphviz``).
        RuntimeError: the ``dot`` program is missing (``apt-get install graphviz``).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad import viz
        >>> y = tg.ones(2, requires_grad=True) * 3
        >>> try:
        ...     svg = viz.render(y)
        ... except (ImportError, RuntimeError):
        ...     svg = "<svg/>"     # graphviz or dot not installed here
        >>> "<svg" in svg
        True
    """
    if format not in ("svg", "png"):
        raise ArgumentError(f"viz.render: format={format!r}; use 'svg' or 'png'.")
    dot = to_dot(output, **kwargs)
    graphviz = _graphviz()
    data = graphviz.Source(dot).pipe(format=format)
    if path is not None:
        with open(path, "wb") as f:
            f.write(data)
        return path
    return data.decode("utf-8") if format == "svg" else data


class _Picture:
    """What :func:`show` returns: Jupyter displays it as SVG; ``.source`` is the DOT text."""

    def __init__(self, source):
        self.source = source

    def _repr_svg_(self):
        # None tells Jupyter to show the text repr instead when graphviz is missing
        try:
            graphviz = _graphviz()
        except (ImportError, RuntimeError):
            return None
        return graphviz.Source(self.source).pipe(format="svg").decode("utf-8")

    def __repr__(self):
        return self.source


def show(output, **kwargs):
    """An object Jupyter displays as the graph's picture (needs graphviz); the DOT text otherwise.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad import viz
        >>> pic = viz.show(tg.ones(2, requires_grad=True).sum())
        >>> pic.source.startswith("digraph")
        True
    """
    return _Picture(to_dot(output, **kwargs))


# Whether Jupyter shows a tensor with a graph as its picture (Tensor._repr_svg_). A display
# preference for the whole process, not a mode of autograd, so not on the thread-local STATE.
_NOTEBOOK = {"enabled": True}


def notebook_display(enabled=True):
    """Turn on or off Jupyter's picture display of tensors that have a graph.

    With graphviz installed, a notebook shows a tensor that has a ``grad_fn`` as the picture of
    its graph, with its values as the caption (``Tensor._repr_svg_``); ``notebook_display(False)``
    goes back to the text repr. Returns the previous setting.

    Example:
        >>> from tapegrad import viz
        >>> previous = viz.notebook_display(False); viz.notebook_display(previous)
        False
    """
    previous = _NOTEBOOK["enabled"]
    _NOTEBOOK["enabled"] = bool(enabled)
    return previous


def tensor_svg(t, max_caption_lines=6):
    """The SVG Jupyter shows for tensor ``t`` (see :func:`notebook_display`), or None when the
    display is off or graphviz (package or ``dot``) is missing: Jupyter then shows the text."""
    if not _NOTEBOOK["enabled"]:
        return None
    try:
        graphviz = _graphviz()
    except (ImportError, RuntimeError):
        return None
    lines = repr(t).splitlines()
    if len(lines) > max_caption_lines:
        lines = lines[:max_caption_lines - 1] + ["..."]
    # Graphviz's "\l" ends a left-justified line; the caption goes above the graph.
    caption = "".join(_esc(line) + "\\l" for line in lines)
    dot = to_dot(t).replace(
        "{\n", f'{{\n  graph [label="{caption}", labelloc=t, labeljust=l];\n', 1)
    return graphviz.Source(dot).pipe(format="svg").decode("utf-8")
