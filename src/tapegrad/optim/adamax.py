"""Adamax (Kingma & Ba): Adam with the infinity norm in place of the second moment."""
import numpy as np

from .optimizer import (Optimizer, check_betas, check_common, count_step, init_state,
                        running_average)


class Adamax(Optimizer):
    """Adamax: ``m = b1 m + (1 - b1) g``, ``u = max(b2 u, |g| + eps)``,
    ``p -= lr / (1 - b1^t) * m / u``, with ``g = ±grad + weight_decay * p``.

    Args:
        params: parameters or parameter groups to optimize.
        lr (float): learning rate (default 2e-3).
        betas (tuple): decay rates of the average and of the norm (default (0.9, 0.999)).
        eps (float): added to ``|g|`` for stability (default 1e-8).
        weight_decay (float): L2 penalty (default 0).
        maximize (bool): maximize the objective instead of minimizing it.
        foreach, differentiable, capturable: accepted for PyTorch compatibility.

    Example:
        >>> import tapegrad as tg
        >>> w = tg.nn.Parameter(tg.tensor([1.0])); opt = tg.optim.Adamax([w], lr=0.1)
        >>> (2 * w).sum().backward(); opt.step(); w.data
        tensor([0.9000])
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        check_common("Adamax", lr, eps, weight_decay, differentiable)
        check_betas("Adamax", betas)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Update the parameters once (``closure``: optional, re-evaluates and returns the
        loss).

        Example:
            >>> import tapegrad as tg
            >>> w = tg.nn.Parameter(tg.ones(1)); opt = tg.optim.Adamax([w], lr=0.5)
            >>> w.sum().backward(); opt.step(); w.data
            tensor([0.5000])
        """
        return self._step(closure)

    def _update(self, group):
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        wd, maximize = group["weight_decay"], group["maximize"]
        for p, g, state in self._with_grads(group):
            if not state:
                init_state(state, p, ("exp_avg", "exp_inf"))
            t = count_step(state)
            s, gb = self._buffers(p, 2)
            g = self._effective_grad(p, g, wd, maximize, gb)
            m, u = state["exp_avg"]._data, state["exp_inf"]._data
            running_average(m, g, b1, s)
            u *= b2
            np.abs(g, out=s)
            s += eps
            np.maximum(u, s, out=u)
            np.divide(m, u, out=s)
            s *= lr / (1 - b1 ** t)
            np.subtract(p._data, s, out=p._data)
            p._bump()
