"""Nested containers of tensors ("pytrees"): flatten to a list of leaves and back.

The transforms take and return tensors or nested tuples, lists, namedtuples and dicts of them
(as torch.func and JAX do). Each transform flattens its arguments once, works on the flat list
of leaves, and rebuilds the caller's structure at the end, so no transform walks containers
itself.
"""


class TreeSpec:
    """The shape of a container tree without its leaves: ``kind`` is "leaf", "tuple", "list",
    "namedtuple" or "dict"; ``meta`` the namedtuple class or the dict's keys; ``children``
    one spec per element; ``num_leaves`` how many leaves the tree holds."""
    __slots__ = ("kind", "meta", "children", "num_leaves")

    def __init__(self, kind, meta=None, children=()):
        self.kind, self.meta, self.children = kind, meta, tuple(children)
        self.num_leaves = 1 if kind == "leaf" else sum(c.num_leaves for c in self.children)

    def __eq__(self, other):
        return (isinstance(other, TreeSpec) and self.kind == other.kind
                and self.meta == other.meta and self.children == other.children)

    def __hash__(self):
        return hash((self.kind, self.children))

    def __repr__(self):
        if self.kind == "leaf":
            return "*"
        inner = ", ".join(map(repr, self.children))
        if self.kind == "dict":
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.meta, self.children))
            return "{" + inner + "}"
        return f"[{inner}]" if self.kind == "list" else f"({inner})"


LEAF = TreeSpec("leaf")


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def tree_flatten(tree):
    """``(leaves, spec)``: the leaves of ``tree`` in order (dicts by insertion order) and the
    spec that ``tree_unflatten`` rebuilds it from. Anything that is not a tuple, list or dict
    (a Tensor, a number, None) is a leaf."""
    leaves = []

    def walk(x):
        if isinstance(x, dict):
            keys = tuple(x)
            return TreeSpec("dict", keys, [walk(x[k]) for k in keys])
        if _is_namedtuple(x):
            return TreeSpec("namedtuple", type(x), [walk(v) for v in x])
        if isinstance(x, (tuple, list)):
            return TreeSpec("tuple" if isinstance(x, tuple) else "list", None,
                            [walk(v) for v in x])
        leaves.append(x)
        return LEAF

    return leaves, walk(tree)


def tree_unflatten(leaves, spec):
    """Rebuild the tree ``spec`` describes from ``leaves`` (inverse of ``tree_flatten``)."""
    it = iter(leaves)

    def build(s):
        if s.kind == "leaf":
            return next(it)
        kids = [build(c) for c in s.children]
        if s.kind == "dict":
            return dict(zip(s.meta, kids))
        if s.kind == "namedtuple":
            return s.meta(*kids)
        return tuple(kids) if s.kind == "tuple" else kids

    return build(spec)


def tree_map(fn, tree):
    """``tree`` with every leaf replaced by ``fn(leaf)``."""
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def broadcast_prefix(prefix, tree, what):
    """Expand ``prefix`` (a tree whose leaves each stand for a whole subtree of ``tree``, as
    vmap's in_dims) to one value per leaf of ``tree``. ``what`` names the argument in the
    error raised when the structures don't match."""
    out = []

    def walk(p, t, path):
        if not isinstance(p, (tuple, list, dict)):
            out.extend([p] * tree_flatten(t)[1].num_leaves)
            return
        if isinstance(p, dict) != isinstance(t, dict) or not isinstance(t, (tuple, list, dict)) \
                or len(p) != len(t) or (isinstance(p, dict) and set(p) != set(t)):
            raise ValueError(
                f"{what}: the structure {_describe(p)} at {path or 'the top'} doesn't match the "
                f"inputs' {_describe(t)}; give one entry per input (or a single value for all).")
        items = [(k, p[k], t[k]) for k in t] if isinstance(t, dict) else \
            [(i, pv, tv) for i, (pv, tv) in enumerate(zip(p, t))]
        for k, pv, tv in items:
            walk(pv, tv, f"{path}[{k!r}]")

    walk(prefix, tree, "")
    return out


def _describe(x):
    if isinstance(x, dict):
        return f"dict with keys {sorted(map(str, x))}"
    if isinstance(x, (tuple, list)):
        return f"{type(x).__name__} of length {len(x)}"
    return type(x).__name__
