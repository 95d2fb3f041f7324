"""Tensor contractions: einsum (its plan found once per equation and shapes, and cached),
tensordot, kron; and, from vectors.py, cross and cdist.

# Note [einsum plans]
An einsum runs as a plan of existing primitives, worked out once per (equation, shapes) and
kept in an LRU cache: per operand, broadcast size-1 dims are dropped (reshape) and repeated
labels become diagonals (permute, reshape, a strided getitem); then the operands are
contracted pairwise in the order np.einsum_path chose, each pair as one BLAS matmul between
permuted, reshaped operands (batch labels, kept labels of each side, and contracted labels
folded into one dim each), or a broadcasting multiply when nothing is contracted; labels found
in one operand only are summed first. A call replays the plan: no parsing, no path search.
Because every step is a differentiable primitive, the VJP of an einsum (itself a contraction
of the cotangent with the other operands) is recorded by the same primitives at any order,
and every matmul of it goes through products.blas_ready (Note [Products stay on BLAS]).
"""
import functools
import string

import numpy as np

from ..._core.errors import ArgumentError, ShapeError
from ..._core.tensor import Tensor, shape_of
from ..elementwise import MUL
from ..indexing import GETITEM
from ..reduction import SUM
from ..registry import apply_binary, apply_unary
from ..shape import PERMUTE, RESHAPE, reshape
from .products import MATMUL
from .vectors import cdist, cross, linalg_cross  # noqa: F401 (listed in __all__ below)

# Label ids: NumPy's order for an implicit output (A-Z before a-z); ellipsis dims get -1, -2,
# ... from the right, so they sort before all letters, as the implicit output wants them.
_ORDERED = string.ascii_uppercase + string.ascii_lowercase
_LABEL = {c: i for i, c in enumerate(_ORDERED)}
_SUBLIST_LETTERS = string.ascii_lowercase + string.ascii_uppercase   # NumPy's sublist ints


# ---- parsing ----------------------------------------------------------------------------
def _parse_term(term, ndim, where, equation):
    """Label ids of one input term of ``ndim`` dims (its ellipsis expanded)."""
    labels, ell = [], None
    i = 0
    while i < len(term):
        c = term[i]
        if c == ".":
            if term[i:i + 3] != "..." or ell is not None:
                raise ArgumentError(f"einsum: a '.' in {equation!r} that is not part of one "
                                    f"'...' per term ({where})")
            ell = len(labels)
            i += 3
            continue
        if c not in _LABEL:
            raise ArgumentError(f"einsum: invalid subscript {c!r} in {equation!r}; subscripts "
                                "must be letters a-z, A-Z")
        labels.append(_LABEL[c])
        i += 1
    if ell is None:
        if len(labels) != ndim:
            raise ShapeError(f"einsum: {where} has {len(labels)} subscripts in {equation!r} but "
                             f"{ndim} dims; add '...' for the others")
        return tuple(labels)
    n_ell = ndim - len(labels)
    if n_ell < 0:
        raise ShapeError(f"einsum: {where} has {len(labels)} subscripts in {equation!r} but only "
                         f"{ndim} dims")
    return tuple(labels[:ell]) + tuple(range(-n_ell, 0)) + tuple(labels[ell:])


def _parse(equation, shapes):
    """(input label tuples, output label tuple) of an equation for operands of ``shapes``."""
    eq = equation.replace(" ", "")
    if eq.count("->") > 1:
        raise ArgumentError(f"einsum: {equation!r} has more than one '->'")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ArgumentError(f"einsum: {equation!r} has {len(terms)} operand terms but "
                            f"{len(shapes)} operands were given")
    ins = [_parse_term(t, len(s), f"operand {k} (shape {tuple(s)})", equation)
           for k, (t, s) in enumerate(zip(terms, shapes))]
    n_ell = max((-min(l, default=0) for l in ins), default=0)
    if not arrow:
        counts = {}
        for labels in ins:
            for l in labels:
                counts[l] = counts.get(l, 0) + 1
        out = tuple(range(-n_ell, 0)) + tuple(sorted(l for l, c in counts.items()
                                                     if c == 1 and l >= 0))
    else:
        out = _parse_output(rhs, n_ell, equation)
        for l in out:
            if l >= 0 and not any(l in labels for labels in ins):
                raise ArgumentError(f"einsum: output subscript {_ORDERED[l]!r} of {equation!r} "
                                    "appears in no operand")
    return ins, out


def _parse_output(term, n_ell, equation):
    """Label ids of the output term; its '...' stands for all ``n_ell`` ellipsis dims."""
    head, ell, tail = term.partition("...")
    if "." in head + tail:
        raise ArgumentError(f"einsum: a '.' in the output of {equation!r} that is not part of "
                            "one '...'")
    out = _parse_term(head, len(head), "the output", equation)
    if ell:
        out += tuple(range(-n_ell, 0)) + _parse_term(tail, len(tail), "the output", equation)
    if len(set(out)) != len(out):
        dup = next(l for l in out if out.count(l) > 1)
        raise ArgumentError(f"einsum: output subscript {_name(dup)} appears more than once in "
                            f"{equation!r}")
    return out


def _sizes(ins, shapes, equation):
    """Each label's size; size-1 dims broadcast, as in PyTorch and NumPy."""
    size = {}
    for k, (labels, shape) in enumerate(zip(ins, shapes)):
        own = {}
        for l, n in zip(labels, shape):
            if own.setdefault(l, n) != n:
                raise ShapeError(f"einsum: subscript {_name(l)} is repeated in operand {k} "
                                 f"(shape {tuple(shape)}) of {equation!r} with sizes "
                                 f"{own[l]} and {n}; a diagonal needs equal sizes")
            cur = size.get(l)
            if cur is None or cur == 1:
                size[l] = n
            elif n != cur and n != 1:
                raise ShapeError(f"einsum: subscript {_name(l)} has size {n} in operand {k} "
                                 f"(shape {tuple(shape)}) of {equation!r} but size {cur} "
                                 "before; sizes must match or be 1")
    return size


def _name(l):
    return repr(_ORDERED[l]) if l >= 0 else "'...'"


# ---- planning -----------------------------------------------------------------------------
class _Planner:
    """Builds a plan: a list of (op, input slots, params) over a list of values that starts
    with the operands; step k appends value n_operands + k."""

    def __init__(self, n):
        self.steps, self.n = [], n

    def emit(self, op, slots, params):
        self.steps.append((op, slots, params))
        self.n += 1
        return self.n - 1

    def reshape(self, slot, in_shape, shape):
        if tuple(in_shape) == tuple(shape):
            return slot
        return self.emit(RESHAPE, (slot,), {"shape": tuple(shape), "in_shape": tuple(in_shape)})

    def permute(self, slot, dims):
        if tuple(dims) == tuple(range(len(dims))):
            return slot
        return self.emit(PERMUTE, (slot,), {"dims": tuple(dims)})

    def sum(self, slot, shape, axes):
        if not axes:
            return slot
        kshape = tuple(1 if i in axes else n for i, n in enumerate(shape))
        return self.emit(SUM, (slot,), {"axes": tuple(axes), "keepdim": False,
                                        "in_shape": tuple(shape), "kshape": kshape})


def _prod(ns):
    out = 1
    for n in ns:
        out *= n
    return out


def _prepare(p, slot, labels, shape, size):
    """Drop broadcast size-1 dims and take diagonals: one label per dim afterwards."""
    keep = [d for d, (l, n) in enumerate(zip(labels, shape)) if not (n == 1 and size[l] != 1)]
    if len(keep) != len(labels):
        old = shape
        labels, shape = [labels[d] for d in keep], [shape[d] for d in keep]
        slot = p.reshape(slot, old, shape)
    labels, shape = list(labels), list(shape)
    for l in dict.fromkeys(labels):
        dims = [d for d, m in enumerate(labels) if m == l]
        if len(dims) == 1:
            continue
        rest = [d for d in range(len(labels)) if labels[d] != l]
        slot = p.permute(slot, dims + rest)
        n, k = shape[dims[0]], len(dims)
        flat = (n ** k,) + tuple(shape[d] for d in rest)
        slot = p.reshape(slot, [n] * k + [shape[d] for d in rest], flat)
        # element (i, i, ..., i) of the n^k block sits at i * (1 + n + ... + n^(k-1))
        step = sum(n ** j for j in range(k))
        slot = p.emit(GETITEM, (slot,), {"key": (slice(None, None, step),), "in_shape": flat})
        labels, shape = [l] + [labels[d] for d in rest], [n] + [shape[d] for d in rest]
    return slot, labels


def _contract_pair(p, a, b, kept, size):
    """Emit the contraction of operands a, b (each (slot, labels)) keeping labels ``kept``;
    return (slot, labels) of the result."""
    (sa, la), (sb, lb) = a, b
    shape_of = lambda labels: [size[l] for l in labels]   # noqa: E731
    drop_a = [d for d, l in enumerate(la) if l not in lb and l not in kept]
    drop_b = [d for d, l in enumerate(lb) if l not in la and l not in kept]
    sa = p.sum(sa, shape_of(la), drop_a)
    sb = p.sum(sb, shape_of(lb), drop_b)
    la = [l for d, l in enumerate(la) if d not in drop_a]
    lb = [l for d, l in enumerate(lb) if d not in drop_b]
    batch = [l for l in la if l in lb and l in kept]
    summed = [l for l in la if l in lb and l not in kept]
    left = [l for l in la if l not in lb]
    right = [l for l in lb if l not in la]
    bshape, lshape, rshape = shape_of(batch), shape_of(left), shape_of(right)
    order_a, order_b = batch + left + summed, batch + summed + right
    sa = p.permute(sa, [la.index(l) for l in order_a])
    sb = p.permute(sb, [lb.index(l) for l in order_b])
    if not summed:                  # nothing to contract: a broadcasting product
        sa = p.reshape(sa, shape_of(order_a), bshape + lshape + [1] * len(right))
        sb = p.reshape(sb, shape_of(order_b), bshape + [1] * len(left) + rshape)
        return p.emit(MUL, (sa, sb), {}), batch + left + right
    L, K, R = _prod(lshape), _prod(shape_of(summed)), _prod(rshape)
    # Without batch dims a side with no kept labels stays a vector (matmul's 1-d forms).
    lx = [L] if left or batch else []
    ry = [R] if right or batch else []
    sa = p.reshape(sa, shape_of(order_a), bshape + lx + [K])
    sb = p.reshape(sb, shape_of(order_b), bshape + [K] + ry)
    out = p.emit(MATMUL, (sa, sb), {})
    out = p.reshape(out, bshape + lx + ry, bshape + lshape + rshape)
    return out, batch + left + right


def _pair_in_best_order(p, a, b, kept, size, out):
    """_contract_pair with the operands in the order that emits fewer steps (counting the
    final permute to ``out`` when this pair makes the result; None otherwise)."""
    def cost(x, y):
        trial = _Planner(p.n)
        _, labels = _contract_pair(trial, x, y, kept, size)
        return len(trial.steps) + (out is not None and labels != list(out))
    if cost(b, a) < cost(a, b):
        a, b = b, a
    return _contract_pair(p, a, b, kept, size)


def _path(ins, out, size):
    """The pairwise contraction order np.einsum_path chooses (positions into the list of
    operands, each result appended at the end, as NumPy's contraction list)."""
    if len(ins) <= 2:
        return [tuple(range(len(ins)))]
    ids = sorted({l for labels in ins for l in labels} | set(out))
    if len(ids) > len(string.ascii_letters):
        return [(0, 1)] * (len(ins) - 1)      # beyond NumPy's 52 letters: any order works
    letter = {l: string.ascii_letters[i] for i, l in enumerate(ids)}
    eq = ",".join("".join(letter[l] for l in labels) for labels in ins)
    eq += "->" + "".join(letter[l] for l in out)
    dummies = [np.broadcast_to(np.empty(()), [size[l] for l in labels]) for labels in ins]
    # NOTE: 'optimal' searches every order, affordable for a few operands; 'greedy' beyond.
    how = "optimal" if len(ins) <= 4 else "greedy"
    return np.einsum_path(eq, *dummies, optimize=how)[0][1:]


@functools.lru_cache(maxsize=512)
def _plan(equation, shapes):
    """The cached plan of an einsum: (steps, result slot) (Note [einsum plans])."""
    ins, out = _parse(equation, shapes)
    size = _sizes(ins, shapes, equation)
    p = _Planner(len(ins))
    ops = []
    for k, (labels, shape) in enumerate(zip(ins, shapes)):
        slot, labels = _prepare(p, k, labels, shape, size)
        ops.append((slot, labels))
    out_set = set(out)
    for step in _path([labels for _, labels in ops], out, size):
        # pop from the back so the positions stay valid; contract in the operands' order
        taken = [ops.pop(k) for k in sorted(step, reverse=True)][::-1]
        needed = out_set.union(*(labels for _, labels in ops))
        if len(taken) == 1:         # one operand: sum what nobody needs
            slot, labels = taken[0]
            drop = [d for d, l in enumerate(labels) if l not in needed]
            cur = p.sum(slot, [size[l] for l in labels], drop), \
                [l for l in labels if l in needed]
        elif len(taken) == 2:
            cur = _pair_in_best_order(p, *taken, needed, size, None if ops else out)
        else:                       # NumPy's paths pair operands; fold any longer step
            cur = taken[0]
            for k, nxt in enumerate(taken[1:], 2):
                kept = needed.union(*(labels for _, labels in taken[k:]))
                cur = _contract_pair(p, cur, nxt, kept, size)
        ops.append(cur)
    (slot, labels), = ops
    slot = p.permute(slot, [labels.index(l) for l in out])
    if slot < len(shapes):        # nothing to do: still a new tensor (a view), as PyTorch's
        slot = p.emit(PERMUTE, (slot,), {"dims": tuple(range(len(out)))})
    return tuple(p.steps), slot


def _run(plan, operands):
    steps, result = plan
    vals = list(operands)
    for op, slots, params in steps:
        if len(slots) == 1:
            vals.append(apply_unary(op, vals[slots[0]], params))
        else:
            vals.append(apply_binary(op, vals[slots[0]], vals[slots[1]]))
    return vals[result]


def _sublist_equation(args):
    """einsum(op0, sublist0, op1, sublist1, ..., [sublist_out]) as (equation, operands)."""
    def term(sub):
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, (int, np.integer)) and 0 <= s < len(_SUBLIST_LETTERS):
                out.append(_SUBLIST_LETTERS[s])
            else:
                raise ArgumentError(f"einsum: a sublist holds ints in [0, 52) or Ellipsis, got "
                                    f"{s!r}")
        return "".join(out)
    out = term(args[-1]) if len(args) % 2 else None
    pairs = args[:len(args) - len(args) % 2]
    equation = ",".join(term(s) for s in pairs[1::2])
    if out is not None:
        equation += "->" + out
    return equation, tuple(pairs[0::2])


def einsum(equation, *operands):
    """Einstein summation: the sum of products of the operands' elements, as the equation's
    subscripts pair them (every equation NumPy accepts: '->' or an implicit output, '...'
    broadcasting, repeated subscripts in an operand for diagonals, size-1 dims broadcasting).

    Operands may be given as arguments, as one list, or in NumPy's sublist form
    ``einsum(op0, [0, 1], op1, [1, 2], [0, 2])``. The contraction order is found once per
    equation and shapes with ``np.einsum_path`` and cached (Note [einsum plans]); each pair
    is one BLAS product. Gradients at any order.

    Example:
        >>> import tapegrad as tg
        >>> a = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        >>> tg.einsum("ii", a).backward(); a.grad
        tensor([[1., 0.],
                [0., 1.]])
        >>> tg.einsum("ij,j->i", [a.detach(), tg.ones(2)])
        tensor([3., 7.])
    """
    if not isinstance(equation, str):
        equation, operands = _sublist_equation((equation,) + operands)
    elif len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ArgumentError("einsum: no operands given")
    shapes = tuple(tuple(shape_of(t)) for t in operands)
    return _run(_plan(equation, shapes), operands)


def tensordot(a, b, dims=2):
    """Sum of products over the given dims of ``a`` and ``b``.

    Args:
        a, b: the tensors.
        dims: an int n (the last n dims of a with the first n of b) or a pair of lists
            (the dims of a, and the dims of b contracted with them, in order).

    Returns:
        A tensor of shape (a's other dims) + (b's other dims).

    Example:
        >>> import tapegrad as tg
        >>> tg.tensordot(tg.ones(2, 3, 4), tg.ones(4, 3, 5), dims=([1, 2], [1, 0])).shape
        tapegrad.Size([2, 5])
    """
    sa, sb = tuple(shape_of(a)), tuple(shape_of(b))
    if isinstance(dims, Tensor) and dims.ndim == 0 and not dims.dtype.is_floating_point:
        dims = int(dims.item())       # a 0-d integer tensor counts as its int, as in PyTorch
    if isinstance(dims, (int, np.integer)):
        if dims < 0 or dims > min(len(sa), len(sb)):
            raise ArgumentError(f"tensordot: dims={dims} must be in [0, {min(len(sa), len(sb))}] "
                                f"for shapes {sa} and {sb}")
        da, db = list(range(len(sa) - dims, len(sa))), list(range(dims))
    else:
        try:
            da, db = ([int(d) for d in np.atleast_1d(np.asarray(ds))] for ds in dims)
        except (TypeError, ValueError):
            raise ArgumentError(f"tensordot: dims must be an int or a pair of lists of ints, "
                                f"got {dims!r}") from None
        if len(da) != len(db):
            raise ArgumentError(f"tensordot: dims lists {da} and {db} must have the same length")
    for i, j in zip(da, db):
        if not (-len(sa) <= i < len(sa) and -len(sb) <= j < len(sb)):
            raise ShapeError(f"tensordot: dim pair ({i}, {j}) is out of range for shapes {sa} "
                             f"and {sb}")
        if sa[i] != sb[j]:
            raise ShapeError(f"tensordot: contracted dims must have the same size, but dim {i} "
                             f"of {sa} has {sa[i]} and dim {j} of {sb} has {sb[j]}")
    da, db = [d % len(sa) for d in da], [d % len(sb) for d in db]
    if len(set(da)) != len(da) or len(set(db)) != len(db):
        raise ArgumentError(f"tensordot: a dim is contracted twice in dims {dims!r}")
    if len(sa) + len(sb) - len(da) > len(_ORDERED):
        raise ShapeError(f"tensordot: shapes {sa} and {sb} have too many dims")
    la = _ORDERED[:len(sa)]
    free_b = iter(_ORDERED[len(sa):])
    pair = dict(zip(db, da))
    lb = "".join(la[pair[j]] if j in pair else next(free_b) for j in range(len(sb)))
    out = "".join(la[i] for i in range(len(sa)) if i not in da) + \
        "".join(lb[j] for j in range(len(sb)) if j not in db)
    return _run(_plan(f"{la},{lb}->{out}", (sa, sb)), (a, b))


def kron(input, other):
    """Kronecker product: blocks ``input[i] * other``, in each dim (shorter shapes padded
    with leading 1s).

    Example:
        >>> import tapegrad as tg
        >>> tg.kron(tg.eye(2), tg.tensor([[1.0, 2.0]]))
        tensor([[1., 2., 0., 0.],
                [0., 0., 1., 2.]])
    """
    sa, sb = tuple(shape_of(input)), tuple(shape_of(other))
    n = max(len(sa), len(sb))
    sa, sb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    a = reshape(input, tuple(v for m in sa for v in (m, 1)))
    b = reshape(other, tuple(v for m in sb for v in (1, m)))
    return reshape(a * b, tuple(p * q for p, q in zip(sa, sb)))


__all__ = ["einsum", "tensordot", "kron", "cross", "cdist"]
METHODS = {"kron": kron, "cross": cross}
LINALG = {"cross": linalg_cross}
