"""The tape inspector: what a recorded graph holds, grouped by op, by line and by module.

``inspect(output)`` walks the graph that already exists behind ``output`` (it records nothing
and adds no cost per op) and returns a :class:`GraphReport`. ``print(report)`` gives aligned
tables; ``report.to_dict()`` gives the same numbers as plain, JSON-serializable data.

# Note [What the inspector counts]
- nodes: every node reachable from the outputs' grad_fns, leaf accumulators
  (``AccumulateGrad``) included; ``leaves`` says how many of them are accumulators.
- saved bytes: the arrays the nodes keep for backward: an op's saved inputs and output
  (``node.x``, ``node.y``, ``node.z``, ``node.out``), a custom Function's
  ``save_for_backward`` tensors, and, under ``saved_tensors_hooks``, what pack_hook returned
  when that is a Tensor or an array (anything else is opaque and counted in
  ``opaque_saved``). Each array is counted once, however many nodes keep it: two nodes that
  save the same array (or the same view of the same memory) add its ``nbytes`` once. In the
  per-op, per-line and per-module tables an array shared across groups is counted in each
  group that keeps it, so those columns can add up to more than the total.
- kept-alive bytes: the memory the graph keeps from being freed: the saved arrays above, plus
  the data of the leaf tensors the accumulators hold (parameters, inputs that require grad).
  Counted per underlying buffer (a view keeps its whole base array alive, so the base's
  ``nbytes`` is counted, once). Node outputs that were not saved are not held by the graph
  (a node keeps its output's shape and dtype only), so they are not counted; neither are
  ``.grad`` arrays, forward-mode tangents, or a custom Function's other ``ctx`` attributes.
- after a backward without ``retain_graph=True`` the nodes' saved values are freed: saved
  bytes are 0 and ``freed`` is True (the leaves are still held, and still counted).
- copied on write: the saved values that ``mutation_guard("copy-on-write")`` copied before an
  in-place change (Note [Mutation guard] in mutation_guard.py), each copy counted once. They
  are saved values too, so they are also in saved bytes.

By module: nodes do not record which module made them. Given ``model=``, a node is attributed
to the module owning a parameter that the node consumes directly (the first such parameter,
in input order); every other node (activations, losses, and an op reached from a parameter
only through another op, such as a ``weight.t()`` before a matmul) goes to
``"(no parameter)"``, and the accumulator of a parameter goes to its module. Without
``model=`` there is no by-module table.
"""
import json
import os

import numpy as np

from .._core.errors import ArgumentError
from .._core.node import AccumulateGrad, format_site
from .._core.tensor import Tensor
from ..ops.registry import Copied, SavedPacked

__all__ = ["inspect", "GraphReport"]

_NO_PARAM = "(no parameter)"
_LEAF_SITE = "(leaf)"


def output_tensors(output, tool, purpose):
    """``output`` (a Tensor or a tuple/list of them) as a list, or an ArgumentError naming
    ``tool`` and the first item that is not a Tensor (shared by the graph-reading tools)."""
    outputs = list(output) if isinstance(output, (tuple, list)) else [output]
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor):
            raise ArgumentError(
                f"{tool}: expected a Tensor or a tuple/list of Tensors, but item {i} is a "
                f"{type(t).__name__}; pass the tensor(s) {purpose} (e.g. the loss).")
    return outputs


def inspect(output, model=None):
    """Summarize the graph behind ``output``: nodes and saved memory by op, by line, by module.

    Args:
        output: a Tensor, or a tuple/list of Tensors, whose history to inspect.
        model: optional ``nn.Module`` whose parameter names label the by-module table
            (Note [What the inspector counts] in this module says what "by module" means).

    Returns:
        GraphReport: ``print`` it for tables, ``.to_dict()`` for plain data.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.ones(3, requires_grad=True)
        >>> r = tg.autograd.graph.inspect((x * x).sum())   # mul saves x twice: counted once
        >>> r.nodes, r.saved_bytes, sorted(r.by_op)
        (3, 12, ['AccumulateGrad', 'MulBackward0', 'SumBackward0'])
    """
    outputs = output_tensors(output, "inspect", "whose graph to inspect")
    roots = []
    for t in outputs:
        g = t._grad_fn
        if g is None and t._requires_grad:
            g = t._accumulator()          # a leaf output: its graph is its accumulator
        if g is not None:
            roots.append(g)
    return _build(reachable_nodes(roots), model)


def reachable_nodes(roots):
    """Nodes reachable from ``roots``, each once, outputs first (depth first)."""
    seen, order, stack = set(), [], list(reversed(roots))
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        stack.extend(p for p in reversed(node.parents) if p is not None)
    return order


def _as_array(v):
    """The ndarray behind a saved value (array, Tensor), or None."""
    if isinstance(v, Tensor):
        v = v._data
    return v if isinstance(v, np.ndarray) else None


def saved_arrays(node):
    """(arrays this node keeps for backward, number of opaque packed values, freed?)."""
    saved = node.saved
    if saved is None:
        return [], 0, True
    arrays, opaque = [], 0
    packed = False
    for k in range(1, len(saved), 4):      # flat: name, tensor/packed, counter, version
        e = saved[k]
        if isinstance(e, SavedPacked):
            packed = True
            opaque += _add_packed(e.packed, arrays)
    ctx = getattr(node, "_ctx", None) if hasattr(type(node), "_ctx") else None
    if not packed and ctx is None:         # (a Function node's x, y would be its ctx's)
        for slot in ("x", "y", "z", "out"):
            a = _as_array(getattr(node, slot, None))   # (unset slots raise AttributeError)
            if a is not None:
                arrays.append(a)
    if ctx is not None:                    # a custom Function: what save_for_backward kept
        kept = ctx._saved
        if kept is None:
            return arrays, opaque, True
        for t, _ in kept:
            if isinstance(t, SavedPacked):
                opaque += _add_packed(t.packed, arrays)
            elif _as_array(t) is not None:
                arrays.append(_as_array(t))
    return arrays, opaque, False


def _add_packed(packed, arrays):
    """Add the arrays in what a pack_hook returned; 1 if it held none we can measure."""
    items = packed if isinstance(packed, (tuple, list)) else (packed,)
    found = [a for a in map(_as_array, items) if a is not None]
    arrays.extend(found)
    return 0 if found else 1


def _view_key(a):
    """Equal for two arrays that are the same view of the same memory."""
    return (a.__array_interface__["data"][0], a.shape, a.strides, a.dtype.str)


def saved_bytes(node):
    """Bytes of the buffers ``node`` keeps for backward (each owning array once: a view keeps
    its whole base alive); None once a backward freed them."""
    arrays, _, freed = saved_arrays(node)
    if freed:
        return None
    return sum({id(b): b.nbytes for b in map(owning_array, arrays)}.values())


def owning_array(a):
    """The array that owns ``a``'s memory (a view keeps it alive whole)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _module_of(model):
    """{id(parameter): owning module's dotted name} for ``model`` (None: no model)."""
    if model is None:
        return None
    if not hasattr(model, "named_parameters"):
        raise ArgumentError(
            f"inspect: model= must be an nn.Module (something with named_parameters()), got "
            f"{type(model).__name__}.")
    root = type(model).__name__
    return {id(p): (n.rpartition(".")[0] or root) for n, p in model.named_parameters()}


def _build(order, model):
    owner = _module_of(model)
    by_op, by_site, by_module = {}, {}, ({} if owner is not None else None)
    all_saved, alive, copied = {}, {}, {}
    leaves = freed_nodes = opaque = 0
    sites = {}

    def group(table, key):
        g = table.get(key)
        if g is None:
            # (shapes: a dict used as an ordered set; large graphs see many)
            g = table[key] = {"count": 0, "saved_bytes": 0, "_seen": set(), "shapes": {}}
        return g

    for node in order:
        leaf = type(node) is AccumulateGrad
        name = node.name()
        shapes = _shapes(node)
        if getattr(node.op, "name", None) == "function_output":
            # (one of a several-output Function's outputs: a pass-through node of its own,
            # named after the Function as in PyTorch, where the Function is one node)
            name += " (output)"
        if leaf:
            leaves += 1
            a = _as_array(node.variable)
            if a is not None:
                b = owning_array(a)
                alive[id(b)] = b
            arrays = []
            site = _LEAF_SITE
            module = owner.get(id(node.variable), _NO_PARAM) if owner is not None else None
        else:
            arrays, n_opaque, freed = saved_arrays(node)
            for k in range(1, len(node.saved or ()), 4):
                t = node.saved[k]      # the saved input tensors are held too (version check)
                if isinstance(t, Tensor):
                    alive[id(owning_array(t._data))] = owning_array(t._data)
                if type(node.saved[k + 1]) is Copied:      # (out's copy is node.out)
                    a = t._data if t is not None else node.out
                    copied[_view_key(a)] = a
            freed_nodes += freed
            opaque += n_opaque
            site = sites.get(node.site)
            if site is None:       # (a loop's nodes share few sites; formatting walks lines)
                site = sites[node.site] = format_site(node.site)
            module = None
            if owner is not None:
                module = _NO_PARAM
                for p in node.parents:
                    if type(p) is AccumulateGrad and id(p.variable) in owner:
                        module = owner[id(p.variable)]
                        break
        keys = [_view_key(a) for a in arrays]
        for a, k in zip(arrays, keys):
            all_saved[k] = a
            b = owning_array(a)
            alive[id(b)] = b
        groups = [group(by_op, name), group(by_site, site)]
        if module is not None:
            groups.append(group(by_module, module))
        for g in groups:
            g["count"] += 1
            for shape in shapes:
                g["shapes"][shape] = None
            for a, k in zip(arrays, keys):
                if k not in g["_seen"]:
                    g["_seen"].add(k)
                    g["saved_bytes"] += int(a.nbytes)
    for table in (by_op, by_site, by_module or {}):
        for g in table.values():
            del g["_seen"]
            g["shapes"] = list(g["shapes"])
    return GraphReport(
        nodes=len(order), leaves=leaves,
        saved_bytes=sum(int(a.nbytes) for a in all_saved.values()),
        saved_arrays=len(all_saved),
        kept_alive_bytes=sum(int(b.nbytes) for b in alive.values()),
        freed_nodes=freed_nodes, opaque_saved=opaque,
        copied_bytes=sum(int(a.nbytes) for a in copied.values()), copied_arrays=len(copied),
        by_op=by_op, by_site=by_site, by_module=by_module)


def _shapes(node):
    """The output shapes of ``node``: a custom Function's node has one per tensor output."""
    outs = getattr(node, "_outputs", None) if hasattr(type(node), "_outputs") else None
    if outs:
        return [tuple(int(d) for d in o[0]) for o in outs if o is not None]
    shape = getattr(node, "shape", None)      # (unset on some Function nodes)
    return [None if shape is None else tuple(int(d) for d in shape)]


class GraphReport:
    """What :func:`inspect` found (Note [What the inspector counts] says what each counts).

    Attributes:
        nodes, leaves: nodes reachable from the outputs, and how many are ``AccumulateGrad``.
        saved_bytes, saved_arrays: the distinct saved arrays' bytes and number.
        kept_alive_bytes: saved arrays plus leaf data, per underlying buffer.
        freed: True when a backward freed saved values (``freed_nodes`` of them).
        opaque_saved: packed saved values (saved_tensors_hooks) that are neither a Tensor
            nor an array, whose size is unknown and not counted.
        copied_bytes, copied_arrays: the saved values copied on write (mutation guard
            "copy-on-write") before an in-place change: bytes and number of copies.
        by_op, by_site, by_module: ``{key: {"count", "saved_bytes", "shapes"}}`` keyed by
            node name (``MulBackward0``), by ``file:line`` of the user code that made the
            node (leaf accumulators under ``"(leaf)"``), and by module (None without
            ``model=``); ``shapes`` lists the distinct output shapes seen, in order.
    """

    def __init__(self, *, nodes, leaves, saved_bytes, saved_arrays, kept_alive_bytes,
                 freed_nodes, opaque_saved, by_op, by_site, by_module, copied_bytes=0,
                 copied_arrays=0):
        self.nodes, self.leaves = nodes, leaves
        self.copied_bytes, self.copied_arrays = copied_bytes, copied_arrays
        self.saved_bytes, self.saved_arrays = saved_bytes, saved_arrays
        self.kept_alive_bytes = kept_alive_bytes
        self.freed_nodes, self.opaque_saved = freed_nodes, opaque_saved
        self.by_op, self.by_site, self.by_module = by_op, by_site, by_module

    @property
    def freed(self):
        """True when a backward (without retain_graph=True) freed some nodes' saved values."""
        return self.freed_nodes > 0

    def to_dict(self):
        """The report as plain data (dicts, lists, ints, strings): ``json.dumps`` takes it.

        Example:
            >>> import json, tapegrad as tg
            >>> x = tg.ones(2, requires_grad=True)
            >>> d = tg.autograd.graph.inspect(x.exp().sum()).to_dict()
            >>> json.loads(json.dumps(d))["by_op"]["ExpBackward0"]["saved_bytes"]
            8
        """
        def table(t):
            if t is None:
                return None
            return {k: {"count": g["count"], "saved_bytes": g["saved_bytes"],
                        "shapes": [None if s is None else list(s) for s in g["shapes"]]}
                    for k, g in t.items()}
        return {"nodes": self.nodes, "leaves": self.leaves, "saved_bytes": self.saved_bytes,
                "saved_arrays": self.saved_arrays, "kept_alive_bytes": self.kept_alive_bytes,
                "freed": self.freed, "freed_nodes": self.freed_nodes,
                "opaque_saved": self.opaque_saved, "copied_bytes": self.copied_bytes,
                "copied_arrays": self.copied_arrays, "by_op": table(self.by_op),
                "by_site": table(self.by_site), "by_module": table(self.by_module)}

    def to_json(self, **kwargs):
        """``json.dumps(self.to_dict(), **kwargs)``."""
        return json.dumps(self.to_dict(), **kwargs)

    def __repr__(self):
        return (f"<GraphReport nodes={self.nodes} saved_bytes={self.saved_bytes} "
                f"kept_alive_bytes={self.kept_alive_bytes}{' freed' if self.freed else ''}>")

    def __str__(self):
        lines = [f"graph: {self.nodes} nodes ({self.leaves} leaves), "
                 f"saved {format_bytes(self.saved_bytes)} in {self.saved_arrays} arrays, "
                 f"keeps alive {format_bytes(self.kept_alive_bytes)} (saved + leaf data)"]
        if self.freed:
            lines.append(f"freed: backward freed the saved values of {self.freed_nodes} nodes "
                         "(saved bytes 0); pass retain_graph=True to keep them")
        if self.opaque_saved:
            lines.append(f"{self.opaque_saved} packed saved values of unknown size "
                         "(saved_tensors_hooks) are not counted")
        if self.copied_arrays:
            lines.append(f"copied on write: {format_bytes(self.copied_bytes)} in "
                         f"{self.copied_arrays} arrays (mutation guard 'copy-on-write': saved "
                         "values copied before an in-place change)")
        lines += _table("op", self.by_op, shapes=True)
        lines += _table("site", {_short_site(k): v for k, v in self.by_site.items()})
        if self.by_module is not None:
            lines += _table("module", self.by_module)
        return "\n".join(lines)


def _short_site(site):
    """A site's path relative to the working directory when it lies inside it."""
    path, sep, line = site.rpartition(":")
    if sep and os.path.isabs(path):
        try:
            rel = os.path.relpath(path)
        except ValueError:         # (another drive, on Windows)
            return site
        if not rel.startswith(".."):
            return f"{rel}:{line}"
    return site


def format_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


_ROW_LIMIT = 20


def _table(title, table, shapes=False):
    """Aligned rows of one grouping, most saved bytes first (at most _ROW_LIMIT of them)."""
    head = ["", f"by {title}", title, "count", "saved"] + (["output shapes"] if shapes else [])
    rows = []
    ranked = sorted(table.items(), key=lambda kv: (-kv[1]["saved_bytes"], kv[0]))
    for key, g in ranked[:_ROW_LIMIT]:
        row = [key, str(g["count"]), format_bytes(g["saved_bytes"])]
        if shapes:
            row.append(" ".join(_fmt_shape(s) for s in g["shapes"][:4])
                       + (" ..." if len(g["shapes"]) > 4 else ""))
        rows.append(row)
    cols = head[2:]
    w = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c)
         for i, c in enumerate(cols)]

    def fmt(r):
        cells = [r[0].ljust(w[0])] + [r[i].rjust(w[i]) for i in (1, 2)] + r[3:]
        return "  ".join(cells).rstrip()
    more = [f"... {len(ranked) - _ROW_LIMIT} more {title} rows in to_dict()"] * (
        len(ranked) > _ROW_LIMIT)
    return [head[0], head[1], fmt(cols), fmt(["-" * x for x in w])] + [
        fmt(r) for r in rows] + more


def _fmt_shape(s):
    return "?" if s is None else "(" + ", ".join(map(str, s)) + ("," if len(s) == 1 else "") + ")"
