"""Adagrad (Duchi et al.): per-coordinate steps shrinking with the summed squared grads."""
import numpy as np

from .._core.tensor import wrap
from .optimizer import Optimizer, check_arg, check_common, count_step, scalar


class Adagrad(Optimizer):
    """Adagrad: ``s += g^2``, ``p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)``.

    ``g = ±grad + weight_decay * p``. As in PyTorch the state (``step``, ``sum``) exists from
    construction, ``sum`` starting at ``initial_accumulator_value``.

    Args:
        params: parameters or parameter groups to optimize.
        lr (float): learning rate (default 1e-2).
        lr_decay (float): learning rate decay per step (default 0).
        weight_decay (float): L2 penalty (default 0).
        initial_accumulator_value (float): starting value of the sums (default 0).
        eps (float): added to the denominator for stability (default 1e-10).
        maximize (bool): maximize the objective instead of minimizing it.
        foreach, differentiable, fused: accepted for PyTorch compatibility.

    Example:
        >>> import tapegrad as tg
        >>> w = tg.nn.Parameter(tg.tensor([1.0])); opt = tg.optim.Adagrad([w], lr=0.5)
        >>> (3 * w).sum().backward(); opt.step(); w.data
        tensor([0.5000])
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, foreach=None, *, maximize=False,
                 differentiable=False, fused=None):
        check_common("Adagrad", lr, eps, weight_decay, differentiable)
        check_arg("Adagrad", lr_decay >= 0.0, "lr_decay value", lr_decay,
                  "lr_decay must be >= 0")
        check_arg("Adagrad", initial_accumulator_value >= 0.0,
                  "initial_accumulator_value value", initial_accumulator_value,
                  "initial_accumulator_value must be >= 0")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state[p]
        if not state:
            state["step"] = scalar(0.0)
            state["sum"] = wrap(np.full_like(p._data, group["initial_accumulator_value"]))

    def step(self, closure=None):
        """Update the parameters once (``closure``: optional, re-evaluates and returns the
        loss).

        Example:
            >>> import tapegrad as tg
            >>> w = tg.nn.Parameter(tg.ones(1)); opt = tg.optim.Adagrad([w], lr=0.1)
            >>> w.sum().backward(); opt.step(); w.data
            tensor([0.9000])
        """
        return self._step(closure)

    def _update(self, group):
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        wd, maximize = group["weight_decay"], group["maximize"]
        for p, g, state in self._with_grads(group):
            self._init_state(p, group)        # a group added after construction
            t = count_step(state)
            clr = lr / (1 + (t - 1) * lr_decay)
            s, gb = self._buffers(p, 2)
            g = self._effective_grad(p, g, wd, maximize, gb)
            acc = state["sum"]._data
            np.multiply(g, g, out=s)
            acc += s
            np.sqrt(acc, out=s)
            s += eps
            np.divide(g, s, out=s)
            s *= clr
            np.subtract(p._data, s, out=p._data)
            p._bump()
