"""NAdam (Dozat): Adam with Nesterov momentum and a momentum schedule."""

import numpy as np

from .optimizer import (Optimizer, check_arg, check_betas, check_common, count_step,
                        init_state, running_average, running_square_average)


class NAdam(Optimizer):
    """NAdam: Adam whose step mixes the current gradient and the momentum, Nesterov style.

    At step t, ``mu_t = b1 (1 - 0.5 * 0.96^(t psi))`` (psi = momentum_decay) and
    ``P_t = prod mu_1..mu_t``; with ``m``, ``v`` as in Adam and
    ``d = sqrt(v / (1 - b2^t)) + eps``:
    ``p -= lr (1 - mu_t) / (1 - P_t) g / d + lr mu_{t+1} / (1 - P_t mu_{t+1}) m / d``.

    Args:
        params: parameters or parameter groups to optimize.
        lr (float): learning rate (default 2e-3).
        betas (tuple): decay rates of the running averages (default (0.9, 0.999)).
        eps (float): added to the denominator for stability (default 1e-8).
        weight_decay (float): weight decay (default 0): L2 on the grad, or decoupled.
        momentum_decay (float): psi, the momentum schedule's decay (default 4e-3).
        decoupled_weight_decay (bool): decay as AdamW does (``p *= 1 - lr wd``).
        maximize (bool): maximize the objective instead of minimizing it.
        foreach, capturable, differentiable: accepted for PyTorch compatibility.

    Example:
        >>> import tapegrad as tg
        >>> w = tg.nn.Parameter(tg.ones(3)); opt = tg.optim.NAdam([w], lr=0.01)
        >>> w.sum().backward(); opt.step(); round(w[0].item(), 4)
        0.9894
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        check_common("NAdam", lr, eps, weight_decay, differentiable)
        check_betas("NAdam", betas)
        check_arg("NAdam", momentum_decay >= 0.0, "momentum_decay value", momentum_decay,
                  "momentum_decay must be >= 0")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Update the parameters once (``closure``: optional, re-evaluates and returns the
        loss).

        Example:
            >>> import tapegrad as tg
            >>> w = tg.nn.Parameter(tg.ones(1)); opt = tg.optim.NAdam([w], lr=0.0)
            >>> w.sum().backward(); opt.step(); w.data
            tensor([1.])
        """
        return self._step(closure)

    def _update(self, group):
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        wd, psi, maximize = group["weight_decay"], group["momentum_decay"], group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        for p, g, state in self._with_grads(group):
            if not state:
                init_state(state, p, ("exp_avg", "exp_avg_sq"), mu_product=1.0)
            t = count_step(state)
            s, d, gb = self._buffers(p, 3)
            g = self._decayed_grad(p, g, lr, wd, decoupled, maximize, gb)
            mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
            mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
            # NOTE: the product is kept in a float32 0-d tensor, as PyTorch keeps it
            prod_t = state["mu_product"]._data
            prod_t *= mu
            prod = float(prod_t)
            m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
            running_average(m, g, b1, s)
            running_square_average(v, g, b2, s)
            np.divide(v, 1 - b2 ** t, out=d)
            np.sqrt(d, out=d)
            d += eps
            np.divide(g, d, out=s)
            s *= lr * (1.0 - mu) / (1.0 - prod)
            np.subtract(p._data, s, out=p._data)
            np.divide(m, d, out=s)
            s *= lr * mu_next / (1.0 - prod * mu_next)
            np.subtract(p._data, s, out=p._data)
            p._bump()


