"""RAdam (Liu et al.): Adam with its adaptive step rectified while the variance is unreliable."""
import math

import numpy as np

from .optimizer import (Optimizer, check_betas, check_common, count_step, init_state,
                        running_average, running_square_average)


class RAdam(Optimizer):
    """RAdam: Adam's step, times a rectification factor once it is defined, else momentum SGD.

    With ``rho_inf = 2 / (1 - b2) - 1`` and ``rho_t = rho_inf - 2 t b2^t / (1 - b2^t)``: if
    ``rho_t > 5``, ``p -= lr m_hat r_t sqrt(1 - b2^t) / (sqrt(v) + eps)`` with
    ``r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))``;
    otherwise ``p -= lr m_hat`` (``m_hat = m / (1 - b1^t)``).

    Args:
        params: parameters or parameter groups to optimize.
        lr (float): learning rate (default 1e-3).
        betas (tuple): decay rates of the running averages (default (0.9, 0.999)).
        eps (float): added to the denominator for stability (default 1e-8).
        weight_decay (float): weight decay (default 0): L2 on the grad, or decoupled.
        decoupled_weight_decay (bool): decay as AdamW does (``p *= 1 - lr wd``).
        maximize (bool): maximize the objective instead of minimizing it.
        foreach, capturable, differentiable: accepted for PyTorch compatibility.

    Example:
        >>> import tapegrad as tg
        >>> w = tg.nn.Parameter(tg.ones(1)); opt = tg.optim.RAdam([w], lr=0.1)
        >>> w.sum().backward(); opt.step(); w.data   # first steps: plain momentum
        tensor([0.9000])
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        check_common("RAdam", lr, eps, weight_decay, differentiable)
        check_betas("RAdam", betas)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Update the parameters once (``closure``: optional, re-evaluates and returns the
        loss).

        Example:
            >>> import tapegrad as tg
            >>> w = tg.nn.Parameter(tg.ones(1)); opt = tg.optim.RAdam([w], lr=0.0)
            >>> w.sum().backward(); opt.step(); w.data
            tensor([1.])
        """
        return self._step(closure)

    def _update(self, group):
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        wd, maximize = group["weight_decay"], group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        rho_inf = 2 / (1 - b2) - 1
        for p, g, state in self._with_grads(group):
            if not state:
                init_state(state, p, ("exp_avg", "exp_avg_sq"))
            t = count_step(state)
            s, gb = self._buffers(p, 2)
            g = self._decayed_grad(p, g, lr, wd, decoupled, maximize, gb)
            m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
            running_average(m, g, b1, s)
            running_square_average(v, g, b2, s)
            bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
            rho_t = rho_inf - 2 * t * b2 ** t / bc2
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                                 / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                np.sqrt(v, out=s)
                s += eps
                np.divide(m, s, out=s)
                s *= lr / bc1 * rect * math.sqrt(bc2)
            else:
                np.multiply(m, lr / bc1, out=s)
            np.subtract(p._data, s, out=p._data)
            p._bump()
