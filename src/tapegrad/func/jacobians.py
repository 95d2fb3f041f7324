"""Whole Jacobians and Hessians: ``jacrev`` (rows by VJPs), ``jacfwd`` (columns by JVPs) and
``hessian`` (``jacfwd(jacrev(f))``).

Both Jacobians push a basis of one-hot vectors through one private function, ``_batched``, so
batching the basis (vmap) changes one place. Results are laid out as torch.func's: for output
``out`` and input ``x`` the block has shape ``out.shape + x.shape``; with nested outputs the
output's structure is outermost, then the argnums tuple (when ``argnums`` is a tuple), then the
input's structure.
"""
import functools

from .._core.errors import ArgumentError, DTypeError
from .._core.tensor import Tensor
from ..autograd import forward_ad as fwAD
from ..autograd.grad_mode import enable_grad
from ..ops.creation import eye, zeros, zeros_like
from ._pytree import tree_flatten, tree_unflatten
from .transforms import (_check_outputs, _detach_tree, _differentiable_input, _grads,
                         _input_leaves, _needs_graph, _normalize_argnums, _prepare_args,
                         _rebuild, _running, _split_aux)

__all__ = ["jacrev", "jacfwd", "hessian"]

_RANDOMNESS = ("error", "different", "same")


def _batched(fn, basis, chunk_size=None, randomness="error"):
    """``fn`` applied to every row of the basis: ``basis`` is a list of tensors sharing a
    leading dim B, ``fn(*rows)`` returns a list of tensors, and the result is the list of
    those stacked along a new dim 0 (each (B, ...)): ``vmap(fn)``, ``chunk_size`` rows at a
    time."""
    from .vmap import vmap
    return list(vmap(lambda *rows: tuple(fn(*rows)), chunk_size=chunk_size,
                     randomness=randomness)(*basis))


def _one_hot_basis(like):
    """One identity matrix over all elements of the tensors ``like``, cut into one block per
    tensor: block k has shape (N, *like[k].shape) and like[k]'s dtype, N the total number of
    elements."""
    sizes = [t.numel() for t in like]
    n = sum(sizes)
    ident = eye(n, dtype=like[0].dtype)
    blocks, k = [], 0
    for t, s in zip(like, sizes):
        block = ident[:, k:k + s].reshape((n,) + tuple(t.shape))
        blocks.append(block if t.dtype == ident.dtype else block.to(t.dtype))
        k += s
    return blocks, sizes


def _check_floating(outs, caller):
    for k, o in enumerate(outs):
        if o._data.dtype.kind not in "fc":
            raise DTypeError(f"{caller}: output {k} has dtype {o.dtype} (shape "
                             f"{tuple(o.shape)}); only floating-point outputs have a Jacobian. "
                             "Return it as aux (has_aux=True) or convert it with .float().")


def _check_chunk_size(chunk_size, caller):
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(
            chunk_size, int) or chunk_size < 1):
        raise ArgumentError(f"{caller}: chunk_size must be None or a positive int, got "
                            f"{chunk_size!r}.")


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None):
    """The Jacobian of ``func`` by reverse mode: one vector-Jacobian product per output element.

    Args:
        func: a function of tensors (or nested containers) returning a tensor or a
            tuple/list/dict of them.
        argnums: the argument to differentiate (int), or a tuple of them.
        has_aux: ``func`` returns ``(output, aux)``; the new function returns ``(jac, aux)``.
        chunk_size: how many rows to compute at once (None: all); smaller uses less memory.

    Returns:
        A function returning the Jacobian: for output ``y`` and input ``x``, a tensor of shape
        ``y.shape + x.shape``, nested as the outputs, then the argnums tuple, then the inputs.

    Example:
        >>> import tapegrad as tg
        >>> tg.func.jacrev(lambda x: x ** 2)(tg.tensor([1.0, 2.0]))
        tensor([[2., 0.],
                [0., 4.]])
    """
    _check_chunk_size(chunk_size, "jacrev")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if not args:
            raise ArgumentError("jacrev: the function was called with no positional arguments, "
                                "so there is nothing to differentiate.")
        nums = _normalize_argnums(argnums, len(args), "jacrev")
        with enable_grad():
            new_args, aliases, specs = _prepare_args(args, nums, "jacrev")
            with _running(aliases):
                out, aux = _split_aux(func(*new_args, **kwargs), has_aux, "jacrev")
        outs, out_spec = tree_flatten(out)
        _check_outputs(outs, "jacrev")
        _check_floating(outs, "jacrev")
        keep = _needs_graph(outs, aliases)
        if sum(o.numel() for o in outs) == 0:
            rows = [zeros((0,) + tuple(a.shape), dtype=a.dtype) for a in aliases]
            sizes = [0] * len(outs)
        else:
            basis, sizes = _one_hot_basis(outs)
            rows = _batched(lambda *cots: _grads(outs, aliases, cots, keep), basis,
                            chunk_size=chunk_size)
        blocks, k = [], 0
        for o, s in zip(outs, sizes):
            per_input = [r[k:k + s].reshape(tuple(o.shape) + tuple(a.shape))
                         for r, a in zip(rows, aliases)]
            blocks.append(_rebuild(per_input, specs, nums[1]))
            k += s
        jac = tree_unflatten(blocks, out_spec)
        return (jac, _detach_tree(aux, keep)) if has_aux else jac
    return wrapper


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian of ``func`` by forward mode: one Jacobian-vector product per input element.

    Args:
        func: a function of tensors (or nested containers) returning a tensor or a
            tuple/list/dict of them.
        argnums: the argument to differentiate (int), or a tuple of them.
        has_aux: ``func`` returns ``(output, aux)``; the new function returns ``(jac, aux)``.
        randomness: what random ops in ``func`` do across the basis ('error', 'different' or
            'same'), as vmap's argument of that name.

    Returns:
        A function returning the Jacobian laid out as :func:`jacrev`'s.

    Example:
        >>> import tapegrad as tg
        >>> tg.func.jacfwd(lambda x: x.sin())(tg.tensor([0.0, 0.0]))
        tensor([[1., 0.],
                [0., 1.]])
    """
    if randomness not in _RANDOMNESS:
        raise ArgumentError(f"jacfwd: randomness must be one of {_RANDOMNESS}, got "
                            f"{randomness!r}.")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if not args:
            raise ArgumentError("jacfwd: the function was called with no positional arguments, "
                                "so there is nothing to differentiate.")
        nums, as_tuple = _normalize_argnums(argnums, len(args), "jacfwd")
        primals, specs = [], []
        for n in nums:
            leaves, spec = _input_leaves(args[n], n, "jacfwd")
            primals.extend(leaves)
            specs.append(spec)
        # NOTE: every JVP of the basis gives the value and aux too (all the same); they come
        # back through _batched's outputs (taken from its first row), never read from inside
        # it: under vmap they are batched, and would escape it. The structures are kept.
        first = {}

        def push(*tangents):
            with fwAD.dual_level():
                duals = [_differentiable_input(p, t) for p, t in zip(primals, tangents)]
                new_args, k = list(args), 0
                for n, spec in zip(nums, specs):
                    new_args[n] = tree_unflatten(duals[k:k + spec.num_leaves], spec)
                    k += spec.num_leaves
                out, aux = _split_aux(func(*new_args, **kwargs), has_aux, "jacfwd")
                outs, out_spec = tree_flatten(out)
                _check_outputs(outs, "jacfwd")
                _check_floating(outs, "jacfwd")
                tans = [fwAD.unpack_dual(o).tangent for o in outs]
                tans = [zeros_like(o) if t is None else t for o, t in zip(outs, tans)]
                values = [fwAD.unpack_dual(o).primal for o in outs]
                aux_leaves, aux_spec = tree_flatten(aux)
                aux_tensors = [fwAD.unpack_dual(a).primal for a in aux_leaves
                               if isinstance(a, Tensor)]
                if not first:
                    first.update(spec=out_spec, n=len(outs), aux_spec=aux_spec,
                                 aux_leaves=aux_leaves)
            return tans + values + aux_tensors

        if sum(p.numel() for p in primals) == 0:
            res = push(*[zeros_like(p) for p in primals])
            n = first["n"]
            values, aux_tensors = res[n:2 * n], res[2 * n:]
            cols, sizes = [zeros((0,) + tuple(o.shape), dtype=o.dtype)
                           for o in values], [0] * len(primals)
        else:
            basis, sizes = _one_hot_basis(primals)
            res = _batched(push, basis, randomness=randomness)
            n = first["n"]
            cols, values, aux_tensors = res[:n], [r[0] for r in res[n:2 * n]], \
                [r[0] for r in res[2 * n:]]
        it = iter(aux_tensors)
        first["outs"] = values
        first["aux"] = tree_unflatten([next(it) if isinstance(a, Tensor) else a
                                       for a in first["aux_leaves"]], first["aux_spec"])
        blocks = []
        for c, o in zip(cols, first["outs"]):
            per_input, k = [], 0
            for p, s in zip(primals, sizes):
                block = c[k:k + s].reshape((s, o.numel())).transpose(0, 1)
                per_input.append(block.reshape(tuple(o.shape) + tuple(p.shape)))
                k += s
            blocks.append(_rebuild(per_input, specs, as_tuple))
        jac = tree_unflatten(blocks, first["spec"])
        aux_leaves = [a for a in tree_flatten(first["aux"])[0] if isinstance(a, Tensor)]
        keep = _needs_graph(tree_flatten(jac)[0] + aux_leaves, [])
        jac = _detach_tree(jac, keep)
        return (jac, _detach_tree(first["aux"], keep)) if has_aux else jac
    return wrapper


def hessian(func, argnums=0):
    """The Hessian of a scalar function: ``jacfwd(jacrev(func, argnums), argnums)``.

    Args:
        func: a function returning a 0-d tensor.
        argnums: the argument to differentiate (int), or a tuple of them.

    Returns:
        A function returning the Hessian, of shape ``x.shape + x.shape`` for one input ``x``
        (nested per argnums pairs for a tuple, as torch.func's).

    Example:
        >>> import tapegrad as tg
        >>> tg.func.hessian(lambda x: (x ** 3).sum())(tg.tensor([1.0, 2.0]))
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    return jacfwd(jacrev(func, argnums), argnums)
