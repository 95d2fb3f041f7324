"""RMSprop (Hinton), with the centered variant and momentum."""
import numpy as np

from .optimizer import (Optimizer, check_arg, check_common, count_step, init_state,
                        running_average, running_square_average)


class RMSprop(Optimizer):
    """RMSprop: steps divided by a running root-mean-square of the gradient.

    With ``g = ±grad + weight_decay * p``: ``v = alpha v + (1 - alpha) g^2``; centered also
    keeps ``a = alpha a + (1 - alpha) g`` and uses ``v - a^2``; ``d = sqrt(.) + eps``. With
    momentum ``b = momentum b + g / d`` and ``p -= lr b``, else ``p -= lr g / d``.

    Args:
        params: parameters or parameter groups to optimize.
        lr (float): learning rate (default 1e-2).
        alpha (float): smoothing constant (default 0.99).
        eps (float): added to the denominator for stability (default 1e-8).
        weight_decay (float): L2 penalty (default 0).
        momentum (float): momentum factor (default 0).
        centered (bool): normalize by an estimate of the gradient's variance.
        maximize (bool): maximize the objective instead of minimizing it.
        capturable, foreach, differentiable: accepted for PyTorch compatibility.

    Example:
        >>> import tapegrad as tg
        >>> w = tg.nn.Parameter(tg.tensor([1.0])); opt = tg.optim.RMSprop([w], lr=0.01)
        >>> (w * w).sum().backward(); opt.step(); round(w.item(), 4)   # 1 - 0.01 / sqrt(0.01)
        0.9
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        check_common("RMSprop", lr, eps, weight_decay, differentiable)
        check_arg("RMSprop", momentum >= 0.0, "momentum value", momentum,
                  "momentum must be >= 0")
        check_arg("RMSprop", alpha >= 0.0, "alpha value", alpha, "alpha must be >= 0")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Update the parameters once (``closure``: optional, re-evaluates and returns the
        loss).

        Example:
            >>> import tapegrad as tg
            >>> w = tg.nn.Parameter(tg.ones(1)); opt = tg.optim.RMSprop([w], lr=0.1)
            >>> w.sum().backward(); opt.step(); round(w.item(), 4)
            0.0
        """
        return self._step(closure)

    def _update(self, group):
        lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
        wd, centered, maximize = group["weight_decay"], group["centered"], group["maximize"]
        zeros = (("square_avg",) + (("momentum_buffer",) if momentum > 0 else ())
                 + (("grad_avg",) if centered else ()))
        for p, g, state in self._with_grads(group):
            if not state:
                init_state(state, p, zeros)
            count_step(state)
            s, gb = self._buffers(p, 2)
            g = self._effective_grad(p, g, wd, maximize, gb)
            v = state["square_avg"]._data
            running_square_average(v, g, alpha, s)
            if centered:
                a = state["grad_avg"]._data
                running_average(a, g, alpha, s)
                np.multiply(a, a, out=s)
                np.subtract(v, s, out=s)
                np.sqrt(s, out=s)
            else:
                np.sqrt(v, out=s)
            s += eps
            np.divide(g, s, out=s)
            if momentum > 0:
                b = state["momentum_buffer"]._data
                b *= momentum
                b += s
                np.multiply(b, lr, out=s)
            else:
                s *= lr
            np.subtract(p._data, s, out=p._data)
            p._bump()
