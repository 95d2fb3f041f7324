"""Jacobians, Hessians and their products for functions of tensors (torch.autograd.functional).

Each function calls ``func`` on stand-ins for the caller's inputs and differentiates through the
one engine (``engine.grad``, ``forward_ad``); the caller's tensors are never changed and their
``.grad`` never touched. The stand-ins are fresh leaves (``detach().requires_grad_()``), except
that with ``create_graph=True`` an input that already requires grad is passed as a view of itself,
so the results stay connected to the caller's graph and can be differentiated again (and, as in
PyTorch, ``jacobian``'s forward mode makes the inputs dual as they are).

Conventions, as in PyTorch: ``inputs`` is a Tensor or a tuple of Tensors, and ``func`` returns a
Tensor or a tuple of Tensors; results follow that nesting (a tuple level only where the caller
used one). A Jacobian block has shape ``output.shape + input.shape``. An output that does not
depend on an input gives zeros, or with ``strict=True`` an error saying which.

Example:
    >>> import tapegrad as tg
    >>> from tapegrad.autograd.functional import jacobian
    >>> jacobian(lambda x: x ** 2, tg.tensor([1.0, 3.0]))
    tensor([[2., 0.],
            [0., 6.]])
"""
import numpy as np

from .._core.errors import ArgumentError, GradError, NotSupportedError, ShapeError
from .._core.tensor import Tensor, wrap
from ..ops.creation import zeros_like
from ..ops.shape import stack
from . import forward_ad as fwAD
from .engine import grad as _engine_grad
from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]

_STRATEGIES = ("reverse-mode", "forward-mode")


# ---- argument handling ---------------------------------------------------------------------------
def _as_tuple(x, what, fn):
    """``(was_tuple, tensors)``: ``x`` as a tuple of Tensors, checked (a list is refused, as in
    PyTorch: only a tuple means several tensors)."""
    is_tuple = isinstance(x, tuple)
    items = x if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            where = f"entry {i} of the tuple is" if is_tuple else "it is"
            raise TypeError(f"{fn}: {what} must be a Tensor or a tuple of Tensors, but {where} a "
                            f"{type(t).__name__}. Wrap numbers with tapegrad.tensor(...).")
    return is_tuple, items


def _stand_ins(tensors, create_graph, need_graph):
    """What ``func`` (or the engine) sees in place of the caller's tensors: with create_graph, a
    view of one that requires grad (gradients of the results reach the caller's graph); else a
    detached alias, a fresh leaf when ``need_graph`` (so nothing reaches the caller's graph)."""
    return tuple(t.view_as(t) if create_graph and t.requires_grad
                 else t.detach().requires_grad_(need_graph) for t in tensors)


def _check_v(v, refs, refs_are_tuple, ref_name, fn):
    if len(v) != len(refs):
        if refs_are_tuple:
            raise ArgumentError(f"{fn}: v has {len(v)} tensors but there are {len(refs)} "
                                f"{ref_name}; give one tensor of v per entry.")
        raise ArgumentError(f"{fn}: v has {len(v)} tensors but there is a single {ref_name[:-1]}"
                            "; pass v as one Tensor.")
    for i, (a, b) in enumerate(zip(v, refs)):
        if a.shape != b.shape:
            which = f"entry {i} of v" if refs_are_tuple else "v"
            raise ShapeError(f"{fn}: {which} has shape {tuple(a.shape)} but {ref_name[:-1]} "
                             f"{i} has shape {tuple(b.shape)}; they must match.")


def _take_v(v, refs, refs_are_tuple, ref_name, create_graph, fn, none_message):
    """``v`` as a checked tuple of tensors (detached unless create_graph keeps it differentiable);
    ``v=None`` only where ``refs`` is one tensor of one element (then v is 1)."""
    if v is None:
        if len(refs) != 1 or refs[0].numel() != 1:
            shapes = ", ".join(str(tuple(r.shape)) for r in refs)
            raise GradError(f"{fn}: v can only be None when {none_message} (got shapes "
                            f"{shapes}); pass v, a tensor of that shape (or a tuple of them).")
        return None
    _, v = _as_tuple(v, "v", fn)
    v = _stand_ins(v, create_graph, need_graph=False)
    _check_v(v, refs, refs_are_tuple, ref_name, fn)
    return v


def _call(func, inputs, fn):
    """``func(*inputs)`` with gradients on, and its outputs as ``(was_tuple, tensors)``."""
    with enable_grad():
        return _as_tuple(func(*inputs), "the outputs of the user-provided function", fn)


def _single_output(outputs, is_tuple, fn):
    if is_tuple:
        raise GradError(f"{fn}: the function must return a single Tensor, not a tuple of "
                        f"{len(outputs)}; {fn} needs a scalar function.")
    if outputs[0].numel() != 1:
        raise GradError(f"{fn}: the function returned a tensor of shape "
                        f"{tuple(outputs[0].shape)}; it must have a single element (reduce it, "
                        "e.g. with .sum()).")


def _unpack(res, outer_is_tuple, inner_is_tuple=None):
    """Drop the tuple levels the caller did not use (res: a tuple, or a tuple of tuples)."""
    if inner_is_tuple is not None and not inner_is_tuple:
        res = tuple(r[0] for r in res)
    return res if outer_is_tuple else res[0]


def _finish(tensors, create_graph):
    """The results handed back: detached unless create_graph asked to keep their graph."""
    return tuple(t if create_graph else t.detach() for t in tensors)


# ---- strict mode --------------------------------------------------------------------------------
def _check_outputs(outputs, strict, fn):
    if strict:
        for i, out in enumerate(outputs):
            if not out.requires_grad:
                raise GradError(
                    f"{fn}: strict=True, and output {i} of the function does not require grad: "
                    "it was not computed differentiably from the inputs (no_grad, detach, a "
                    "constant). Compute it from the inputs, or pass strict=False to get zeros.")


def _check_jacobian(jac, strict, fn, in_hessian=True):
    """strict: each first derivative must exist and depend on the inputs (else the second
    derivatives are all zero)."""
    if not strict:
        return
    for i, g in enumerate(jac):
        if g is None:
            raise GradError(f"{fn}: strict=True, and the output of the function does not depend "
                            f"on input {i}. Pass strict=False to get zeros for it.")
        if not g.requires_grad:
            what = "while computing the hessian, the" if in_hessian else "the"
            raise GradError(
                f"{fn}: strict=True, and {what} gradient with respect to input {i} does not "
                "depend on the inputs (the function is linear in it, or not twice "
                "differentiable), so its second derivatives are all zero. Pass strict=False "
                "to get zeros.")


def _fill_zeros(grads, refs, strict, create_graph, fn, why):
    """Zeros (shaped like ``refs``) for the gradients that never arrived; with strict, an error
    instead (``why(i)`` says what was independent of what), and with strict and create_graph
    also for a result that is a constant (its graph would not lead anywhere)."""
    out = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise GradError(f"{fn}: strict=True, and {why(i)}. Pass strict=False to get "
                                "zeros for it.")
            g = zeros_like(ref)
        elif strict and create_graph and not g.requires_grad:
            raise GradError(f"{fn}: strict=True with create_graph=True, and result {i} does not "
                            "depend on the inputs, so it can't be differentiated further. Pass "
                            "strict=False or create_graph=False.")
        out.append(g)
    return tuple(out)


# ---- the engine, and batching -------------------------------------------------------------------
def _grads(outputs, inputs, grad_outputs, create_graph, retain_graph=None):
    """``engine.grad`` of the outputs that require grad (None for every input when none does),
    None for an input they don't depend on."""
    grad_outputs = (None,) * len(outputs) if grad_outputs is None else grad_outputs
    used = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not used:
        return (None,) * len(inputs)
    outs, gs = zip(*used)
    return _engine_grad(outs, inputs, gs, retain_graph=retain_graph, create_graph=create_graph,
                        allow_unused=True)


def _batched(fn, basis):
    """``fn`` mapped over dim 0 of the tensors in ``basis`` (a tuple, all of one leading size):
    ``fn`` takes a tuple of one slice of each and returns a tuple of tensors, which come back
    stacked along a new dim 0: ``vmap(fn)(basis)``, the one place ``vectorize=True`` batches.
    """
    from ..func.vmap import vmap    # late import: func is the floor above autograd
    return tuple(vmap(lambda *b: tuple(fn(b)))(*basis))


def _standard_basis(tensors):
    """Rows of the identity over the tensors' flattened, concatenated elements, cut into one
    block per tensor: block i has shape (total, numel_i) and the tensor's dtype."""
    numels = [t.numel() for t in tensors]
    eye = np.eye(sum(numels))
    blocks, start = [], 0
    for t, n in zip(tensors, numels):
        blocks.append(wrap(eye[:, start:start + n].astype(t._data.dtype)))
        start += n
    return tuple(blocks), numels


# ---- public API ----------------------------------------------------------------------------------
def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """The function's outputs and the vector-Jacobian product ``v^T J`` at ``inputs``.

    Args:
        func: takes the input tensors (unpacked) and returns a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of Tensors.
        v: the vector, shaped like the outputs (a tuple for several). May be None only when the
            function returns a single tensor of one element.
        create_graph: keep the results differentiable (their graph reaches the inputs and v).
        strict: raise instead of returning zeros where an output does not depend on an input.

    Returns:
        ``(outputs, vjp)``: ``vjp`` shaped like the inputs (a tuple where they were).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.autograd.functional import vjp
        >>> vjp(lambda x: x ** 2, tg.tensor([1.0, 2.0]), v=tg.tensor([1.0, 10.0]))
        (tensor([1., 4.]), tensor([ 2., 40.]))
    """
    in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
    inputs = _stand_ins(inputs, create_graph, need_graph=True)
    out_tuple, outputs = _call(func, inputs, "vjp")
    _check_outputs(outputs, strict, "vjp")
    v = _take_v(v, outputs, out_tuple, "outputs", create_graph, "vjp",
                "the function returns a single tensor with a single element")
    res = _grads(outputs, inputs, v, create_graph)
    res = _fill_zeros(res, inputs, strict, create_graph, "vjp",
                      lambda i: f"the outputs do not depend on input {i}")
    return (_unpack(_finish(outputs, create_graph), out_tuple),
            _unpack(_finish(res, create_graph), in_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """The function's outputs and the Jacobian-vector product ``J v`` at ``inputs``.

    Computed as PyTorch does, by the double-vjp trick: ``g(u) = u^T J`` is linear in ``u``, so
    the vjp of ``g`` with ``v`` is ``J v``. That takes two backward passes (no forward mode), and
    strict mode reports what PyTorch's does; ``tapegrad.autograd.forward_ad`` computes ``J v`` in
    one forward pass instead.

    Args:
        func: takes the input tensors (unpacked) and returns a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of Tensors.
        v: the vector, shaped like the inputs (a tuple for several). May be None only when the
            input is a single tensor of one element.
        create_graph: keep the results differentiable (their graph reaches the inputs and v).
        strict: raise instead of returning zeros where an output does not depend on an input.

    Returns:
        ``(outputs, jvp)``: ``jvp`` shaped like the outputs (a tuple where they were).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.autograd.functional import jvp
        >>> jvp(lambda x: x ** 2, tg.tensor([1.0, 2.0]), v=tg.tensor([1.0, 10.0]))
        (tensor([1., 4.]), tensor([ 2., 40.]))
    """
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
    inputs = _stand_ins(inputs, create_graph, need_graph=True)
    v = _take_v(v, inputs, in_tuple, "inputs", create_graph, "jvp",
                "the input is a single tensor with a single element")
    out_tuple, outputs = _call(func, inputs, "jvp")
    _check_outputs(outputs, strict, "jvp")
    # u: the cotangents the trick differentiates with respect to (their value does not matter).
    u = tuple(zeros_like(out, requires_grad=True) for out in outputs)
    u_J = _grads(outputs, inputs, u, create_graph=True)
    if strict:
        for i, g in enumerate(u_J):
            if g is None or not g.requires_grad:
                raise GradError(f"jvp: strict=True, and the outputs do not depend on input {i} "
                                "(its gradient is independent of the inputs). Pass strict=False "
                                "to get zeros.")
    res = _grads(u_J, u, v, create_graph)
    res = _fill_zeros(res, outputs, strict, create_graph, "jvp",
                      lambda i: f"output {i} does not depend on the inputs in a way the "
                                "double-vjp trick can see (its vjp does not depend on its "
                                "cotangent)")
    return (_unpack(_finish(outputs, create_graph), out_tuple),
            _unpack(_finish(res, create_graph), out_tuple))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``.

    Args:
        func: takes the input tensors (unpacked) and returns a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of Tensors.
        create_graph: keep the result differentiable (reverse mode only).
        strict: raise instead of returning zeros where an output does not depend on an input
            (not with vectorize=True, nor with forward mode, as in PyTorch).
        vectorize: compute all rows (reverse mode) or columns (forward mode) as one batched
            call instead of one pass per output (input) element.
        strategy: "reverse-mode" (one vjp per output element: best for few outputs) or
            "forward-mode" (one jvp per input element, through forward_ad: best for few
            inputs; needs vectorize=True, as in PyTorch).

    Returns:
        ``J[i][j]`` of shape ``outputs[i].shape + inputs[j].shape``: a Tensor for one input and
        one output, a tuple over the inputs or outputs, or a tuple (outputs) of tuples (inputs).
        With forward mode, as in PyTorch, the inputs are not detached: for inputs that require
        grad the result stays connected to them. (PyTorch's forward mode nests in lists;
        tapegrad's in tuples, as documented for both modes.)

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.autograd.functional import jacobian
        >>> x, y = tg.tensor([1.0, 2.0]), tg.tensor(3.0)
        >>> jacobian(lambda x, y: x * y, (x, y))
        (tensor([[3., 0.],
                [0., 3.]]), tensor([1., 2.]))
    """
    return _jacobian(func, inputs, create_graph, strict, vectorize, strategy, "jacobian")


def _jacobian(func, inputs, create_graph, strict, vectorize, strategy, fn):
    """jacobian, with errors naming ``fn`` (hessian's outer Jacobian is one of these)."""
    if strategy not in _STRATEGIES:
        raise ArgumentError(f"{fn}: strategy={strategy!r}; it must be 'reverse-mode' or "
                            "'forward-mode' (forward mode is faster when the function has more "
                            "outputs than inputs; otherwise use reverse mode).")
    if strategy == "forward-mode":
        if create_graph:
            raise NotSupportedError(f"{fn}: create_graph=True with strategy='forward-mode' "
                                    "is not supported (as in PyTorch); pass create_graph=False "
                                    "or use strategy='reverse-mode'.")
        if strict:
            raise GradError(f"{fn}: strict=True with strategy='forward-mode' is not "
                            "supported (as in PyTorch); pass strict=False or use "
                            "strategy='reverse-mode'.")
        if not vectorize:
            raise NotSupportedError(f"{fn}: strategy='forward-mode' needs vectorize=True (as "
                                    "in PyTorch); pass vectorize=True.")
        return _jacobian_forward(func, inputs, fn)
    in_tuple, inputs = _as_tuple(inputs, "inputs", fn)
    inputs = _stand_ins(inputs, create_graph, need_graph=True)
    out_tuple, outputs = _call(func, inputs, fn)
    _check_outputs(outputs, strict, fn)
    if vectorize:
        if strict:
            raise GradError(f"{fn}: strict=True with vectorize=True is not supported (as in "
                            "PyTorch); pass strict=False or vectorize=False.")
        jac = _jacobian_rows_batched(outputs, inputs, create_graph)
    else:
        jac = tuple(_jacobian_rows(i, out, inputs, create_graph, strict, fn)
                    for i, out in enumerate(outputs))
    jac = tuple(_finish(row, create_graph) for row in jac)
    return _unpack(jac, out_tuple, in_tuple)


def _jacobian_rows(i, out, inputs, create_graph, strict, fn):
    """The Jacobian blocks of output ``i`` (one per input), a vjp per element of ``out``."""
    rows = [[] for _ in inputs]
    # (hessian's outer Jacobian: its outputs are the entries of the gradient)
    what = f"the gradient with respect to input {i}" if fn == "hessian" else f"output {i}"
    seed = np.zeros(out.numel(), dtype=out._data.dtype)
    for k in range(out.numel()):
        seed[k] = 1
        onehot = wrap(seed.reshape(out._data.shape).copy())
        seed[k] = 0
        for j, (g, inp) in enumerate(zip(_grads((out,), inputs, (onehot,), create_graph,
                                                retain_graph=True), inputs)):
            if g is None:
                if strict:
                    raise GradError(f"{fn}: strict=True, and {what} does not depend on "
                                    f"input {j}. Pass strict=False to get zeros for it.")
                g = zeros_like(inp)
            elif strict and create_graph and not g.requires_grad:
                raise GradError(f"{fn}: strict=True with create_graph=True, and the "
                                f"derivative of {what} with respect to input {j} does not "
                                "depend on the inputs, so it can't be differentiated further. "
                                "Pass strict=False or create_graph=False.")
            rows[j].append(g)
    return tuple(_assemble(r, out.shape + inp.shape, inp) for r, inp in zip(rows, inputs))


def _assemble(rows, shape, like):
    if not rows:          # an output with no elements: an empty block (PyTorch's stack fails)
        return wrap(np.zeros(tuple(shape), dtype=like._data.dtype))
    return stack(rows).reshape(shape)


def _jacobian_rows_batched(outputs, inputs, create_graph):
    """All Jacobian blocks at once: the vjps of the flattened outputs with every row of the
    identity, batched (``_batched``), then cut per output."""
    basis, numels = _standard_basis(outputs)
    flat = tuple(out.reshape(-1) for out in outputs)

    def vjp_row(cotangents):
        gs = _grads(flat, inputs, cotangents, create_graph, retain_graph=True)
        return tuple(zeros_like(inp) if g is None else g for g, inp in zip(gs, inputs))

    per_input = _batched(vjp_row, basis) if sum(numels) else \
        tuple(wrap(np.zeros((0,) + tuple(inp.shape), inp._data.dtype)) for inp in inputs)
    jac = [[None] * len(inputs) for _ in outputs]
    for j, (rows, inp) in enumerate(zip(per_input, inputs)):
        start = 0
        for i, (out, n) in enumerate(zip(outputs, numels)):
            jac[i][j] = rows[start:start + n].reshape(out.shape + inp.shape)
            start += n
    return tuple(tuple(r) for r in jac)


def _jacobian_forward(func, inputs, fn):
    """jacobian with strategy='forward-mode': a jvp per column of the identity over the flattened
    inputs, batched (``_batched``).

    NOTE: as in PyTorch, the inputs are made dual as they are, not detached, and the result is
    not detached: with inputs that require grad it stays connected to them (make_dual's alias
    passes gradients back; the caller's tensors themselves are not changed)."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", fn)
    basis, numels = _standard_basis(inputs)
    seen = {}       # the outputs' structure and shapes, from the calls

    def jvp_column(tangents):
        with fwAD.dual_level():
            duals = tuple(fwAD.make_dual(x, t.reshape(x.shape)) for x, t in zip(inputs, tangents))
            out_tuple, outs = _call(func, duals, fn)
            seen["tuple"], seen["shapes"] = out_tuple, [o.shape for o in outs]
            cols = []
            for out in outs:
                primal, tangent = fwAD.unpack_dual(out)
                cols.append(zeros_like(primal) if tangent is None else tangent)
            return tuple(cols)

    if sum(numels):
        per_output = _batched(jvp_column, basis)
    else:          # no input elements: call once (for the outputs' shapes), no columns
        per_output = tuple(wrap(np.zeros((0,) + tuple(c.shape), c._data.dtype)) for c in
                           jvp_column(tuple(wrap(np.zeros(x.shape, x._data.dtype))
                                            for x in inputs)))
    jac = []
    for cols, shape in zip(per_output, seen["shapes"]):
        row, start = [], 0
        for inp, n in zip(inputs, numels):
            block = cols[start:start + n]              # (n,) + out.shape: columns first
            block = block.permute(*range(1, block.ndim), 0).reshape(shape + inp.shape)
            row.append(block)
            start += n
        jac.append(tuple(row))
    return _unpack(tuple(jac), seen["tuple"], in_tuple)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar function at ``inputs``: the Jacobian of its gradient.

    Args:
        func: takes the input tensors (unpacked) and returns a Tensor of a single element.
        inputs: a Tensor or a tuple of Tensors.
        create_graph: keep the result differentiable (reverse mode only).
        strict: raise instead of returning zeros where the gradient does not depend on an input.
        vectorize: batch the outer Jacobian's rows or columns (see ``jacobian``).
        outer_jacobian_strategy: how the Jacobian of the gradient is taken: "reverse-mode"
            (reverse over reverse) or "forward-mode" (forward over reverse; needs
            vectorize=True).

    Returns:
        ``H[i][j]`` of shape ``inputs[i].shape + inputs[j].shape``: a Tensor for one input, else
        a tuple of tuples.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.autograd.functional import hessian
        >>> hessian(lambda x: (x ** 3).sum(), tg.tensor([1.0, 2.0]))
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    in_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in _STRATEGIES:
        raise ArgumentError(f"hessian: outer_jacobian_strategy={outer_jacobian_strategy!r}; it "
                            "must be 'reverse-mode' or 'forward-mode'.")

    def scalar(*xs):
        out_tuple, outs = _call(func, xs, "hessian")
        _check_outputs(outs, strict, "hessian")
        _single_output(outs, out_tuple, "hessian")
        return outs[0].reshape(())

    def gradient(*xs):
        if outer_jacobian_strategy == "forward-mode":
            # NOTE: forward over reverse: xs are _jacobian_forward's dual aliases (never the
            # caller's tensors); one that does not require grad yet is a leaf, made to require
            # it here so the inner reverse pass starts from it, tangents and all.
            xs = tuple(x if x.requires_grad else x.requires_grad_() for x in xs)
        jac = jacobian(scalar, xs, create_graph=True)
        _check_jacobian(jac, strict, "hessian")
        return jac

    res = _jacobian(gradient, inputs, create_graph, strict, vectorize, outer_jacobian_strategy,
                    "hessian")
    return _unpack(res, in_tuple, in_tuple)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """The function's output and the vector-Hessian product ``v^T H`` of a scalar function.

    Args:
        func: takes the input tensors (unpacked) and returns a Tensor of a single element.
        inputs: a Tensor or a tuple of Tensors.
        v: the vector, shaped like the inputs (a tuple for several). May be None only when the
            input is a single tensor of one element.
        create_graph: keep the results differentiable (their graph reaches the inputs and v).
        strict: raise instead of returning zeros where the gradient does not depend on an input.

    Returns:
        ``(output, vhp)``: ``vhp`` shaped like the inputs (a tuple where they were).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.autograd.functional import vhp
        >>> vhp(lambda x: (x ** 3).sum(), tg.tensor([1.0, 2.0]), v=tg.tensor([1.0, 1.0]))
        (tensor(9.), tensor([ 6., 12.]))
    """
    in_tuple, inputs, v, out_tuple, outputs, jac = _first_derivative(
        "vhp", func, inputs, v, create_graph, strict)
    res = _grads(jac, inputs, v, create_graph)
    res = _fill_zeros(res, inputs, strict, create_graph, "vhp",
                      lambda i: f"the gradient does not depend on input {i}")
    return (_unpack(_finish(outputs, create_graph), out_tuple),
            _unpack(_finish(res, create_graph), in_tuple))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """The function's output and the Hessian-vector product ``H v`` of a scalar function.

    Computed as PyTorch does, by the double-vjp trick over the gradient ``g``: ``u^T (dg/dx)``
    is linear in ``u``, and its vjp with ``v`` is ``H v`` (three backward passes). For a
    twice-differentiable function H is symmetric, so this equals ``vhp``.

    Args:
        func: takes the input tensors (unpacked) and returns a Tensor of a single element.
        inputs: a Tensor or a tuple of Tensors.
        v: the vector, shaped like the inputs (a tuple for several). May be None only when the
            input is a single tensor of one element.
        create_graph: keep the results differentiable (their graph reaches the inputs and v).
        strict: raise instead of returning zeros where the gradient does not depend on an input.

    Returns:
        ``(output, hvp)``: ``hvp`` shaped like the inputs (a tuple where they were).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.autograd.functional import hvp
        >>> hvp(lambda x: (x ** 3).sum(), tg.tensor([1.0, 2.0]), v=tg.tensor([1.0, 1.0]))
        (tensor(9.), tensor([ 6., 12.]))
    """
    in_tuple, inputs, v, out_tuple, outputs, jac = _first_derivative(
        "hvp", func, inputs, v, create_graph, strict)
    u = tuple(zeros_like(x, requires_grad=True) for x in inputs)
    u_H = _grads(jac, inputs, u, create_graph=True)
    res = _grads(u_H, u, v, create_graph)
    res = _fill_zeros(res, inputs, strict, create_graph, "hvp",
                      lambda i: f"the Hessian-vector product does not depend on entry {i} of v "
                                "(the double-vjp trick needs it to)")
    return (_unpack(_finish(outputs, create_graph), out_tuple),
            _unpack(_finish(res, create_graph), in_tuple))


def _first_derivative(fn, func, inputs, v, create_graph, strict):
    """What vhp and hvp share: checked arguments, the scalar output and its gradient (with
    graph)."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", fn)
    inputs = _stand_ins(inputs, create_graph, need_graph=True)
    v = _take_v(v, inputs, in_tuple, "inputs", create_graph, fn,
                "the input is a single tensor with a single element")
    out_tuple, outputs = _call(func, inputs, fn)
    _check_outputs(outputs, strict, fn)
    _single_output(outputs, out_tuple, fn)
    jac = _grads(outputs, inputs, None, create_graph=True)
    _check_jacobian(jac, strict, fn, in_hessian=False)
    return in_tuple, inputs, v, out_tuple, outputs, jac
