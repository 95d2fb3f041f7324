"""Adadelta (Zeiler): steps sized by the ratio of running RMS of updates and of gradients."""
import numpy as np

from .optimizer import (Optimizer, check_arg, check_common, count_step, init_state,
                        running_square_average)


class Adadelta(Optimizer):
    """Adadelta: ``v = rho v + (1 - rho) g^2``, ``d = sqrt(u + eps) / sqrt(v + eps) * g``,
    ``u = rho u + (1 - rho) d^2``, ``p -= lr d``, with ``g = ±grad + weight_decay * p``.

    Args:
        params: parameters or parameter groups to optimize.
        lr (float): scales the update (default 1.0).
        rho (float): running-average coefficient, in [0, 1] (default 0.9).
        eps (float): added inside the square roots (default 1e-6).
        weight_decay (float): L2 penalty (default 0).
        maximize (bool): maximize the objective instead of minimizing it.
        foreach, capturable, differentiable: accepted for PyTorch compatibility.

    Example:
        >>> import tapegrad as tg
        >>> w = tg.nn.Parameter(tg.tensor([1.0])); opt = tg.optim.Adadelta([w], eps=1e-6)
        >>> w.sum().backward(); opt.step(); round(w.item(), 5)     # 1 - sqrt(1e-6 / 0.1)
        0.99684
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        check_common("Adadelta", lr, eps, weight_decay, differentiable)
        check_arg("Adadelta", 0.0 <= rho <= 1.0, "rho value", rho, "rho must be in [0, 1]")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Update the parameters once (``closure``: optional, re-evaluates and returns the
        loss).

        Example:
            >>> import tapegrad as tg
            >>> w = tg.nn.Parameter(tg.ones(1)); opt = tg.optim.Adadelta([w], lr=0.0)
            >>> w.sum().backward(); opt.step(); w.data
            tensor([1.])
        """
        return self._step(closure)

    def _update(self, group):
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        wd, maximize = group["weight_decay"], group["maximize"]
        for p, g, state in self._with_grads(group):
            if not state:
                init_state(state, p, ("square_avg", "acc_delta"))
            count_step(state)
            s, d, gb = self._buffers(p, 3)
            g = self._effective_grad(p, g, wd, maximize, gb)
            v, u = state["square_avg"]._data, state["acc_delta"]._data
            running_square_average(v, g, rho, s)
            np.add(v, eps, out=s)
            np.sqrt(s, out=s)                       # std of the gradients
            np.add(u, eps, out=d)
            np.sqrt(d, out=d)
            d /= s
            d *= g                                  # the update, before lr
            running_square_average(u, d, rho, s)
            d *= lr
            np.subtract(p._data, d, out=p._data)
            p._bump()
