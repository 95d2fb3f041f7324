"""ASGD (Polyak & Juditsky): SGD with a decaying step that also keeps a running average."""
import numpy as np

from .optimizer import Optimizer, check_common, count_step, init_state


class ASGD(Optimizer):
    """Averaged SGD: ``p = p (1 - lambd eta) - eta g``, with the average ``ax`` of the iterates
    kept in ``state['ax']`` (from step ``t0`` on).

    After each step ``eta = lr / (1 + lambd lr t)^alpha`` and ``mu = 1 / max(1, t - t0)``;
    ``ax += mu (p - ax)`` (``ax = p`` while mu is 1). ``g = ±grad + weight_decay * p``.

    Args:
        params: parameters or parameter groups to optimize.
        lr (float): learning rate (default 1e-2).
        lambd (float): decay term (default 1e-4).
        alpha (float): power of the eta update (default 0.75).
        t0 (float): the step at which averaging starts (default 1e6).
        weight_decay (float): L2 penalty (default 0).
        maximize (bool): maximize the objective instead of minimizing it.
        foreach, differentiable, capturable: accepted for PyTorch compatibility.

    Example:
        >>> import tapegrad as tg
        >>> w = tg.nn.Parameter(tg.ones(1)); opt = tg.optim.ASGD([w], lr=0.1, lambd=0.0)
        >>> w.sum().backward(); opt.step(); w.data
        tensor([0.9000])
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        check_common("ASGD", lr, weight_decay=weight_decay, differentiable=differentiable)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Update the parameters once (``closure``: optional, re-evaluates and returns the
        loss).

        Example:
            >>> import tapegrad as tg
            >>> w = tg.nn.Parameter(tg.ones(1)); opt = tg.optim.ASGD([w], lr=0.0)
            >>> w.sum().backward(); opt.step(); w.data
            tensor([1.])
        """
        return self._step(closure)

    def _update(self, group):
        lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
        wd, maximize = group["weight_decay"], group["maximize"]
        for p, g, state in self._with_grads(group):
            if not state:
                init_state(state, p, ("ax",), eta=lr, mu=1.0)
            t = count_step(state)
            s, gb = self._buffers(p, 2)
            g = self._effective_grad(p, g, wd, maximize, gb)
            # NOTE: eta and mu live in float32 0-d tensors, read back as PyTorch does
            eta = float(state["eta"]._data)
            data = p._data
            data *= 1 - lambd * eta
            np.multiply(g, eta, out=s)
            data -= s
            p._bump()
            mu = float(state["mu"]._data)
            ax = state["ax"]._data
            if mu != 1:
                np.subtract(data, ax, out=s)
                s *= mu
                ax += s
            else:
                np.copyto(ax, data)
            state["eta"]._data[...] = lr / ((1 + lambd * lr * t) ** alpha)
            state["mu"]._data[...] = 1 / max(1, t - t0)
