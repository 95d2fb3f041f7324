"""SGD: stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
import numpy as np

from .._core.errors import ArgumentError
from .._core.tensor import wrap
from .optimizer import Optimizer, add_scaled, check_arg, check_common


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    With ``g = ±grad + weight_decay * p``: ``b = g`` on the first step, then
    ``b = momentum * b + (1 - dampening) * g``; the step uses ``g + momentum * b`` (nesterov)
    or ``b``, and ``p -= lr * step`` (PyTorch's documented rule).

    Args:
        params: parameters or parameter groups to optimize.
        lr (float): learning rate (default 1e-3).
        momentum (float): momentum factor (default 0).
        dampening (float): dampening of the momentum (default 0).
        weight_decay (float): L2 penalty (default 0).
        nesterov (bool): Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize (bool): maximize the objective instead of minimizing it.
        foreach, differentiable, fused: accepted for PyTorch compatibility; foreach and fused
            change nothing (each update is already a few whole-array NumPy calls).

    Example:
        >>> import tapegrad as tg
        >>> w = tg.nn.Parameter(tg.tensor([1.0, -2.0])); opt = tg.optim.SGD([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step(); w.data
        tensor([ 0.8000, -1.6000])
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        check_common("SGD", lr, weight_decay=weight_decay, differentiable=differentiable)
        check_arg("SGD", momentum >= 0.0, "momentum value", momentum, "momentum must be >= 0")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ArgumentError("SGD: Nesterov momentum requires a momentum and zero dampening; "
                                "pass momentum > 0 and dampening=0, or nesterov=False")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Update the parameters once; ``closure`` (optional) re-evaluates the model under
        enable_grad and returns the loss, which step returns.

        Example:
            >>> import tapegrad as tg
            >>> w = tg.nn.Parameter(tg.ones(1)); opt = tg.optim.SGD([w], lr=0.5)
            >>> def closure():
            ...     opt.zero_grad(); loss = (w * w).sum(); loss.backward(); return loss
            >>> opt.step(closure).item(), w.data
            (1.0, tensor([0.]))
        """
        return self._step(closure)

    def _update(self, group):
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        for p, g, state in self._with_grads(group, with_state=momentum != 0):
            bufs = self._buffers(p, 2 if nesterov else 1)
            tmp = bufs[0]
            g = self._effective_grad(p, g, wd, maximize, tmp)
            if momentum != 0:
                mb = state.get("momentum_buffer")
                if mb is None:                       # the first step starts the buffer at g
                    mb = state["momentum_buffer"] = wrap(np.array(g))
                    b = mb._data
                else:
                    b = mb._data
                    b *= momentum
                    if dampening != 0:
                        g = np.multiply(g, 1 - dampening, out=tmp)
                    b += g
                if nesterov:                         # dampening is 0 here, so g is unscaled
                    g = np.add(g, np.multiply(b, momentum, out=bufs[1]), out=bufs[1])
                else:
                    g = b
            add_scaled(p._data, g, -lr, tmp)
            p._bump()
