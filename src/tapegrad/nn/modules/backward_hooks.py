"""The machinery behind Module's full backward hooks and backward pre-hooks (Note [Module
backward hooks]): identity views around a hooked call that see the gradients of the module's
inputs and outputs. Module (module.py) uses it; nothing here is public."""
import numpy as np

from ..._core.errors import ArgumentError
from ..._core.tensor import Tensor
from ...ops.creation import zeros
from ...ops.shape import cat

__all__ = []


# ---- full backward hooks ---------------------------------------------------------------------
# Note [Module backward hooks]
# A module's backward hooks need the gradients of all its tensor inputs (or outputs) at once,
# also of those that receive none. The tensors that require grad are therefore packed into one
# flat tensor (``_pack``: a view when there is one, else a concatenation) whose pieces the
# module sees instead; the engine runs a hook on the packed tensor once every gradient that
# reaches it has been summed there, which is after all of the pieces' consumers ran. The
# outputs' pack runs the backward pre-hooks, the inputs' pack (later: it is upstream) the full
# backward hooks, each free to replace any entry. As in PyTorch, grad_output has one entry per
# output and grad_input one per positional argument: None for a non-Tensor, None for an output
# no gradient reached, zeros for a tensor input that got no gradient (or does not require it).
# With no input requiring grad, the full hooks run right after the pre-hooks with grad_input
# all None; a gradient reaching the inputs without passing the outputs runs no hook.
def _pack(tensors, hook):
    """(pieces, slices, node): one new tensor per tensor of ``tensors`` (same values, shapes
    and dtypes), all taken from a single tensor that ``hook`` is registered on; ``slices``
    says where each piece lies in it and ``node`` is the concatenation that made it (both
    None for a lone tensor, which is packed as a view)."""
    if len(tensors) == 1:
        t = tensors[0]
        packed = t.view_as(t)
        packed.register_hook(hook)
        return [packed], None, None
    common = np.result_type(*[t._data.dtype for t in tensors])
    flat = cat([t.reshape(-1).to(common) for t in tensors])
    flat.register_hook(hook)
    pieces, slices, start = [], [], 0
    for t in tensors:
        stop = start + t._data.size
        pieces.append(flat[start:stop].reshape(t.shape).to(t.dtype))
        slices.append((start, stop, t.shape, t.dtype))
        start = stop
    return pieces, slices, flat.grad_fn


def _unpack(g, slices):
    """The pieces of the packed gradient ``g``."""
    if slices is None:
        return [g]
    return [g[a:b].reshape(shape).to(dtype) for a, b, shape, dtype in slices]


def _repack(g, grads, slices):
    """A packed gradient like ``g`` from one gradient per piece (None: zeros)."""
    if slices is None:
        return grads[0] if grads[0] is not None else zeros(g.shape, dtype=g.dtype)
    flat = [zeros(b - a, dtype=g.dtype) if r is None else r.reshape(-1).to(g.dtype)
            for r, (a, b, _, _) in zip(grads, slices)]
    return cat(flat)


class _BackwardHooks:
    """The gradients of one call of a module with backward hooks (Note [Module backward
    hooks])."""

    def __init__(self, module):
        self.module = module
        self.n_inputs = 0
        self.tensor_inputs = {}      # position -> every Tensor argument
        self.input_positions = []    # positions of the arguments that require grad
        self.input_slices = None
        self.n_outputs = 0
        self.output_positions = []
        self.output_slices = None
        self.output_node = None      # the outputs' concatenation, when there are several
        self.arrived = set()         # output positions a gradient reached, this backward
        self.grad_output = None      # after the pre-hooks; None when no backward is underway

    def wrap_inputs(self, args):
        self.n_inputs = len(args)
        self.tensor_inputs = {i: a for i, a in enumerate(args) if isinstance(a, Tensor)}
        self.input_positions = [i for i, a in self.tensor_inputs.items() if a.requires_grad]
        if not self.input_positions:
            return args
        pieces, self.input_slices, _ = _pack([args[i] for i in self.input_positions],
                                             self._inputs_hook)
        new = list(args)
        for i, piece in zip(self.input_positions, pieces):
            new[i] = piece
        return tuple(new)

    def wrap_outputs(self, output):
        single = isinstance(output, Tensor)
        outs = (output,) if single else output
        if not isinstance(outs, (tuple, list)):
            return output            # e.g. a dict: its gradients are not seen (nor in PyTorch)
        self.n_outputs = len(outs)
        self.output_positions = [i for i, o in enumerate(outs)
                                 if isinstance(o, Tensor) and o.requires_grad]
        if not self.output_positions:
            return output
        pieces, self.output_slices, self.output_node = _pack(
            [outs[i] for i in self.output_positions], self._outputs_hook)
        if self.output_slices is not None:
            for i, piece in zip(self.output_positions, pieces):
                piece.register_hook(self._arrival(i))
        new = list(outs)
        for i, piece in zip(self.output_positions, pieces):
            new[i] = piece
        if single:
            return new[0]
        if isinstance(outs, list) or type(outs) is tuple:
            return type(outs)(new)
        return type(outs)(*new)          # a namedtuple

    def _arrival(self, position):
        def hook(g):
            self.arrived.add(position)
        return hook

    def _outputs_hook(self, g):
        module = self.module
        grads = _unpack(g, self.output_slices)
        grad_output = [None] * self.n_outputs
        for i, gi in zip(self.output_positions, grads):
            if self.output_slices is None or i in self.arrived:
                grad_output[i] = gi
        self.arrived = set()
        grad_output = tuple(grad_output)
        replaced = False
        for hook in list(module._backward_pre_hooks.values()):
            result = hook(module, grad_output)
            if result is None:
                continue
            result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            if len(result) != len(grad_output):
                raise ArgumentError(
                    f"{module._get_name()}: a backward pre-hook returned {len(result)} "
                    f"gradients, but the module has {len(grad_output)} outputs; return one "
                    "per output (None to leave it) or None.")
            grad_output, replaced = result, True
        self.grad_output = grad_output
        if self.output_node is not None:
            # NOTE: an output no gradient reached gets none from the concatenation either
            # (its slice of the packed gradient is zeros): the module's parameters behind it
            # keep grad None, as in PyTorch. The concatenation's rule reads needs_input_grad
            # when it runs, which is after this hook.
            self.output_node.needs_input_grad = tuple(
                grad_output[i] is not None for i in self.output_positions)
        if not self.input_positions:
            self._run_full_hooks((None,) * self.n_inputs, inputs_need_grad=False)
        if replaced:
            return _repack(g, [grad_output[i] for i in self.output_positions],
                           self.output_slices)
        return None

    def _inputs_hook(self, g):
        if self.grad_output is None:
            return None     # the gradient reached the inputs without passing the outputs
        grads = dict(zip(self.input_positions, _unpack(g, self.input_slices)))
        grad_input = tuple(
            grads[i] if i in grads else
            zeros(self.tensor_inputs[i].shape, dtype=self.tensor_inputs[i].dtype)
            if i in self.tensor_inputs else None
            for i in range(self.n_inputs))
        result = self._run_full_hooks(grad_input, inputs_need_grad=True)
        if result is None:
            return None
        return _repack(g, [result[i] for i in self.input_positions], self.input_slices)

    def _run_full_hooks(self, grad_input, inputs_need_grad):
        """Run the full backward hooks; the grad_input they settled on, or None if unchanged."""
        module, grad_output, replaced = self.module, self.grad_output, False
        self.grad_output = None
        for hook in list(module._backward_hooks.values()):
            result = hook(module, grad_input, grad_output)
            if result is None:
                continue
            result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            if not inputs_need_grad:
                if any(r is not None for r in result):
                    raise ArgumentError(
                        f"{module._get_name()}: a backward hook of a module where no input "
                        "requires grad must return None (or None for every gradient).")
                continue
            if len(result) != len(grad_input):
                raise ArgumentError(
                    f"{module._get_name()}: a backward hook returned {len(result)} "
                    f"gradients, but the module has {len(grad_input)} positional inputs; "
                    "return one per input (None where there is none) or None.")
            grad_input, replaced = result, True
        return grad_input if replaced else None
