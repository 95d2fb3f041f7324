"""Rprop (Riedmiller & Braun): steps of adaptive size that follow only the gradient's sign."""
import numpy as np

from .._core.tensor import wrap
from .optimizer import Optimizer, check_arg, check_common, count_step, init_state


class Rprop(Optimizer):
    """Resilient backpropagation: each coordinate has its own step size.

    Where the gradient kept its sign the step size grows by ``etas[1]``, where it flipped it
    shrinks by ``etas[0]`` (and that coordinate's gradient is taken as 0 for this step);
    sizes stay in ``step_sizes``; ``p -= sign(g) * step_size``.

    Args:
        params: parameters or parameter groups to optimize.
        lr (float): initial step size (default 1e-2).
        etas (tuple): (etaminus, etaplus), with 0 < etaminus < 1 < etaplus (default (0.5, 1.2)).
        step_sizes (tuple): the minimal and maximal step sizes (default (1e-6, 50)).
        maximize (bool): maximize the objective instead of minimizing it.
        capturable, foreach, differentiable: accepted for PyTorch compatibility.

    Example:
        >>> import tapegrad as tg
        >>> w = tg.nn.Parameter(tg.tensor([1.0, -1.0])); opt = tg.optim.Rprop([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step(); w.data
        tensor([ 0.9000, -0.9000])
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        check_common("Rprop", lr, differentiable=differentiable)
        check_arg("Rprop", 0.0 < etas[0] < 1.0 < etas[1], "eta values",
                  f"{etas[0]}, {etas[1]}", "etas must satisfy 0 < etaminus < 1 < etaplus")
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes),
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _masks(self, p):
        """Two boolean scratch arrays shaped like ``p`` (Note [In-place updates])."""
        masks = self._scratch.get((id(p), "masks"))
        if masks is None or masks[0].shape != p._data.shape:
            masks = self._scratch[(id(p), "masks")] = (np.empty(p._data.shape, bool),
                                                         np.empty(p._data.shape, bool))
        return masks

    def step(self, closure=None):
        """Update the parameters once (``closure``: optional, re-evaluates and returns the
        loss).

        Example:
            >>> import tapegrad as tg
            >>> w = tg.nn.Parameter(tg.ones(1)); opt = tg.optim.Rprop([w], lr=0.5)
            >>> w.sum().backward(); opt.step(); w.data
            tensor([0.5000])
        """
        return self._step(closure)

    def _update(self, group):
        (etaminus, etaplus), (lo, hi) = group["etas"], group["step_sizes"]
        maximize = group["maximize"]
        for p, g, state in self._with_grads(group):
            if not state:
                init_state(state, p, ("prev",))
                state["step_size"] = wrap(np.full_like(p._data, group["lr"]))
            count_step(state)
            s, gb = self._buffers(p, 2)
            pos, neg = self._masks(p)
            g = self._effective_grad(p, g, 0, maximize, gb)
            prev, size = state["prev"]._data, state["step_size"]._data
            np.multiply(g, prev, out=s)
            np.greater(s, 0, out=pos)             # same sign as last time: grow the step
            np.less(s, 0, out=neg)                # flipped: shrink it
            np.multiply(size, etaplus, out=size, where=pos)
            np.multiply(size, etaminus, out=size, where=neg)
            np.clip(size, lo, hi, out=size)
            np.copyto(prev, g)
            np.copyto(prev, 0, where=neg)         # a flipped sign: no move, and no flip next
            np.sign(prev, out=s)
            s *= size
            np.subtract(p._data, s, out=p._data)
            p._bump()
