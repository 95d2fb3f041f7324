"""Tensor contractions: einsum (its plan found once per equation and shapes, and cached),
tensordot, kron, cross, cdist.

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
import warnings

import numpy as np

from ..._core.errors import ArgumentError, DTypeError, ShapeError
from ..._core.tensor import Tensor
from ..elementwise import MUL, abs, sign, where
from ..indexing import GETITEM
from ..reduction import SUM
from ..reduction import sum as _sum
from ..registry import OpDef, apply_binary, apply_unary, register
from ..shape import PERMUTE, RESHAPE, mT, reshape, unsqueeze
from .products import MATMUL, matmul

# Label ids: NumPy's order for an implicit output (A-Z before a-z); ellipsis dims get -1, -2,
# ... from the right, so they sort before all letters, as the implicit output wants them.
_ORDERED = string.ascii_uppercase + string.ascii_lowercase
_LABEL = {c: i for i, c in enumerate(_ORDERED)}
_SUBLIST_LETTERS = string.ascii_lowercase + string.ascii_uppercase   # NumPy's sublist ints


def _shape(t):
    return t._data.shape if isinstance(t, Tensor) else np.shape(t)


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
    """Builds a plan: a list of (op, input slots, params, output slot) over a slot list that
    starts with the operands."""

    def __init__(self, n):
        self.steps, self.n = [], n

    def emit(self, op, slots, params):
        self.steps.append((op, slots, params, self.n))
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
    return slot, labels, shape


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
    sa = p.reshape(sa, shape_of(order_a), bshape + [L, K])
    sb = p.reshape(sb, shape_of(order_b), bshape + [K, R])
    out = p.emit(MATMUL, (sa, sb), {})
    out = p.reshape(out, bshape + [L, R], bshape + lshape + rshape)
    return out, batch + left + right


def _path(ins, out, size):
    """The pairwise contraction order np.einsum_path chooses (positions into the list of
    operands, each result appended at the end, as NumPy's contraction list)."""
    if len(ins) <= 2:
        return [tuple(range(len(ins)))]
    ids = sorted({l for labels in ins for l in labels} | set(out))
    if len(ids) > len(string.ascii_letters):
        return [(0, 1)] + [(0, 1)] * (len(ins) - 2)       # beyond NumPy's letters: in order
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
        slot, labels, _ = _prepare(p, k, labels, shape, size)
        ops.append((slot, labels))
    out_set = set(out)
    for step in _path([labels for _, labels in ops], out, size):
        # pop from the back so the positions stay valid; contract in the operands' order
        taken = [ops.pop(k) for k in sorted(step, reverse=True)][::-1]
        needed = out_set.union(*(labels for _, labels in ops))
        cur = taken[0]
        for k, nxt in enumerate(taken[1:], 2):
            kept = needed.union(*(labels for _, labels in taken[k:]))
            cur = _contract_pair(p, cur, nxt, kept, size)
        if len(taken) == 1:         # one operand: sum what nobody needs
            slot, labels = cur
            drop = [d for d, l in enumerate(labels) if l not in needed]
            cur = p.sum(slot, [size[l] for l in labels], drop), \
                [l for l in labels if l in needed]
        ops.append(cur)
    (slot, labels), = ops
    slot = p.permute(slot, [labels.index(l) for l in out])
    return tuple(p.steps), slot


def _run(plan, operands):
    steps, result = plan
    vals = list(operands)
    for op, slots, params, _ in steps:
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
        >>> tg.einsum("ij,jk->ik", a, tg.eye(2)), tg.einsum("ii", a)
        (tensor([[1., 2.],
                [3., 4.]], grad_fn=<ReshapeBackward0>), tensor(5., grad_fn=<SumBackward0>))
    """
    if not isinstance(equation, str):
        equation, operands = _sublist_equation((equation,) + operands)
    elif len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ArgumentError("einsum: no operands given")
    shapes = tuple(tuple(_shape(t)) for t in operands)
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
    sa, sb = tuple(_shape(a)), tuple(_shape(b))
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
    sa, sb = tuple(_shape(input)), tuple(_shape(other))
    n = max(len(sa), len(sb))
    sa, sb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    a = reshape(input, tuple(v for m in sa for v in (m, 1)))
    b = reshape(other, tuple(v for m in sb for v in (1, m)))
    return reshape(a * b, tuple(p * q for p, q in zip(sa, sb)))


# ---- cross ------------------------------------------------------------------------------
def cross_vjp(ctx, g):
    """<g, x × y> = <x, y × g> = <y, g × x>: gx = y × g, gy = g × x (broadcasting undone
    by the engine)."""
    need, dim = ctx.needs_input_grad, ctx.dim
    return (_cross(ctx.y, g, dim) if need[0] else None), (_cross(g, ctx.x, dim) if need[1]
                                                          else None)


def cross_jvp(ctx, tx, ty):
    """t(x × y) = tx × y + x × ty."""
    need, dim = ctx.needs_input_grad, ctx.dim
    return (_cross(tx, ctx.y, dim) if need[0] else 0) + (_cross(ctx.x, ty, dim) if need[1] else 0)


CROSS = register(OpDef("cross", lambda x, y, dim: np.cross(x, y, axis=dim), cross_vjp,
                       cross_jvp, save=("x", "y"), broadcasts=True, save_for={"x": 1, "y": 0}))


def _cross(x, y, dim):
    return apply_binary(CROSS, x, y, {"dim": dim})


def _cross_dim(name, input, other, dim):
    sa, sb = tuple(_shape(input)), tuple(_shape(other))
    if len(sa) != len(sb):
        raise ShapeError(f"{name}: inputs must have the same number of dims, got shapes {sa} "
                         f"and {sb}")
    try:
        shape = np.broadcast_shapes(sa, sb)
    except ValueError:
        raise ShapeError(f"{name}: shapes {sa} and {sb} don't broadcast") from None
    if dim is None:
        found = [d for d, n in enumerate(shape) if n == 3]
        if not found:
            raise ShapeError(f"{name}: no dim of size 3 in shape {shape}; pass dim=")
        warnings.warn("tapegrad.cross without dim is deprecated, as in PyTorch: it uses the "
                      "first dim of size 3. Pass dim explicitly or use tapegrad.linalg.cross "
                      "(dim=-1).", UserWarning, stacklevel=3)
        return found[0]
    if not shape or not -len(shape) <= dim < len(shape):
        raise ShapeError(f"{name}: dim {dim} is out of range for shapes {sa} and {sb}")
    if sa[dim] != 3 or sb[dim] != 3:
        raise ShapeError(f"{name}: dim {dim} must have size 3 in both inputs, got shapes {sa} "
                         f"and {sb}")
    return dim % len(shape)


def cross(input, other, dim=None):
    """Cross product of 3-vectors along ``dim``, broadcasting the other dims. Without dim,
    the first dim of size 3, with a deprecation warning (as PyTorch).

    Example:
        >>> import tapegrad as tg
        >>> tg.cross(tg.tensor([1.0, 0.0, 0.0]), tg.tensor([0.0, 1.0, 0.0]), dim=0)
        tensor([0., 0., 1.])
    """
    return _cross(input, other, _cross_dim("cross", input, other, dim))


def linalg_cross(input, other, *, dim=-1):
    """Cross product of 3-vectors along ``dim`` (default the last), broadcasting the other
    dims (``tapegrad.linalg.cross``).

    Example:
        >>> import tapegrad as tg
        >>> tg.linalg.cross(tg.tensor([[0.0, 1.0, 0.0]]), tg.tensor([0.0, 0.0, 1.0])[None])
        tensor([[1., 0., 0.]])
    """
    return _cross(input, other, _cross_dim("linalg.cross", input, other, dim))


# ---- cdist --------------------------------------------------------------------------------
def _safe_div(a, d):
    """a / d where d > 0, else 0: PyTorch's subgradient at zero distance."""
    pos = d > 0
    return where(pos, a / where(pos, d, 1.0), 0.0)


def _pairwise(x1, x2):
    """x1[..., i, :] - x2[..., j, :] with i, j as dims -3, -2."""
    return unsqueeze(x1, -2) - unsqueeze(x2, -3)


def _cdist_unit(ctx, x1, x2):
    """d dist / d diff for p other than 2, with its diff: (sign(u) |u|^(p-1) / d^(p-1), u)."""
    p, d = ctx.p, unsqueeze(ctx.out, -1)
    u = _pairwise(x1, x2)
    if p == 1:
        return sign(u), u
    if p == float("inf"):
        return sign(u) * (abs(u) == d), u
    return _safe_div(sign(u) * abs(u) ** (p - 1), d ** (p - 1)), u


def cdist_vjp(ctx, g):
    """p = 2: w = g / d (0 at d = 0), gx1 = x1 * rowsum(w) - w @ x2 and symmetrically, two
    BLAS products; other p: through the pairwise differences."""
    need, x1, x2 = ctx.needs_input_grad, ctx.x, ctx.y
    if ctx.p == 0:
        return (x1 * 0.0 if need[0] else None), (x2 * 0.0 if need[1] else None)
    if ctx.p == 2:
        w = _safe_div(g, ctx.out)
        g1 = x1 * unsqueeze(_sum(w, -1), -1) - matmul(w, x2) if need[0] else None
        g2 = x2 * unsqueeze(_sum(w, -2), -1) - matmul(mT(w), x1) if need[1] else None
        return g1, g2
    unit, _ = _cdist_unit(ctx, x1, x2)
    coef = unsqueeze(g, -1) * unit
    return (_sum(coef, -2) if need[0] else None), (-_sum(coef, -3) if need[1] else None)


def cdist_jvp(ctx, t1, t2):
    """t d = <d dist / d diff, t1_i - t2_j> (p = 2: through BLAS products)."""
    need, x1, x2 = ctx.needs_input_grad, ctx.x, ctx.y
    if ctx.p == 0:
        return ctx.out * 0.0
    if ctx.p == 2:
        num = 0
        if need[0]:
            num = unsqueeze(_sum(x1 * t1, -1), -1) - matmul(t1, mT(x2))
        if need[1]:
            num = num + unsqueeze(_sum(x2 * t2, -1), -2) - matmul(x1, mT(t2))
        return _safe_div(num, ctx.out)
    unit, _ = _cdist_unit(ctx, x1, x2)
    t = _pairwise(t1 if need[0] else x1 * 0.0, t2 if need[1] else x2 * 0.0)
    return _sum(unit * t, -1)


def _cdist_forward(x1, x2, p, use_mm):
    if use_mm:       # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b: BLAS, no pairwise tensor
        sq = (np.sum(x1 * x1, -1)[..., :, None] + np.sum(x2 * x2, -1)[..., None, :]
              - 2 * np.matmul(x1, np.swapaxes(x2, -1, -2)))
        return np.sqrt(np.maximum(sq, 0))
    u = np.abs(x1[..., :, None, :] - x2[..., None, :, :])
    if p == 0:
        return np.sum(u != 0, -1).astype(u.dtype)
    if p == float("inf"):
        return np.max(u, -1, initial=0)
    if p == 1:
        return np.sum(u, -1)
    if p == 2:
        return np.sqrt(np.sum(u * u, -1))
    return np.sum(u ** p, -1) ** (1 / p)


CDIST = register(OpDef("cdist", _cdist_forward, cdist_vjp, cdist_jvp, save=("x", "y", "out"),
                       broadcasts=True))
_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
          "donot_use_mm_for_euclid_dist")


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """p-norm distances between the rows of ``x1`` (..., P, M) and ``x2`` (..., R, M): shape
    (..., P, R), batch dims broadcasting.

    Args:
        x1, x2: floating tensors with at least 2 dims and the same last size.
        p: a value in [0, inf]. For p = 2 the gradient at zero distance is 0, PyTorch's
            subgradient.
        compute_mode: for p = 2, whether to use the faster, less exact
            |a|^2 + |b|^2 - 2 a.b form: always, never, or (default) when P or R exceeds 25.

    Example:
        >>> import tapegrad as tg
        >>> tg.cdist(tg.tensor([[0.0, 0.0], [1.0, 1.0]]), tg.tensor([[3.0, 4.0]]))
        tensor([[5.0000],
                [3.6056]])
    """
    sa, sb = tuple(_shape(x1)), tuple(_shape(x2))
    if len(sa) < 2 or len(sb) < 2:
        raise ShapeError(f"cdist: x1 and x2 need at least 2 dims, got shapes {sa} and {sb}")
    if sa[-1] != sb[-1]:
        raise ShapeError(f"cdist: x1 and x2 must have the same number of columns, got shapes "
                         f"{sa} and {sb}")
    try:
        np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        raise ShapeError(f"cdist: batch dims of shapes {sa} and {sb} don't broadcast") from None
    da, db = (np.result_type(t._data if isinstance(t, Tensor) else t) for t in (x1, x2))
    if da.kind != "f" or db.kind != "f" or da != db:
        raise DTypeError(f"cdist: x1 and x2 must be floating tensors of the same dtype, got "
                         f"{da} and {db}")
    p = float(p)
    if not p >= 0:
        raise ArgumentError(f"cdist: p must be in [0, inf], got {p}")
    if compute_mode not in _MODES:
        raise ArgumentError(f"cdist: compute_mode must be one of {_MODES}, got {compute_mode!r}")
    use_mm = p == 2 and (compute_mode == _MODES[1] or compute_mode == _MODES[0]
                         and (sa[-2] > 25 or sb[-2] > 25))
    return apply_binary(CDIST, x1, x2, {"p": p, "use_mm": use_mm})


__all__ = ["einsum", "tensordot", "kron", "cross", "cdist"]
METHODS = {"kron": kron, "cross": cross}
LINALG = {"cross": linalg_cross}
