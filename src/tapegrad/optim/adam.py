"""Adam and AdamW (Kingma & Ba; Loshchilov & Hutter), with AMSGrad and maximize."""
import math

import numpy as np

from .optimizer import (Optimizer, check_betas, check_common, count_step, init_state,
                        running_average, running_square_average)


class Adam(Optimizer):
    """Adam: steps scaled by bias-corrected running averages of the gradient and its square.

    With ``g = ±grad (+ weight_decay * p unless decoupled)`` at step t:
    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2`` (``v_max = max(v_max, v)`` with
    amsgrad), ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``. With
    ``decoupled_weight_decay=True`` (AdamW) the decay is ``p *= 1 - lr * weight_decay`` first.

    Args:
        params: parameters or parameter groups to optimize.
        lr (float): learning rate (default 1e-3).
        betas (tuple): decay rates of the running averages (default (0.9, 0.999)).
        eps (float): added to the denominator for stability (default 1e-8).
        weight_decay (float): L2 penalty (default 0).
        amsgrad (bool): use the maximum of the past second moments (AMSGrad).
        maximize (bool): maximize the objective instead of minimizing it.
        decoupled_weight_decay (bool): decay the weights directly, as AdamW does.
        foreach, capturable, differentiable, fused: accepted for PyTorch compatibility.

    Example:
        >>> import tapegrad as tg
        >>> w = tg.nn.Parameter(tg.tensor([1.0, -1.0])); opt = tg.optim.Adam([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step(); w.data    # the first step moves lr each way
        tensor([ 0.9000, -0.9000])
    """

    _name = "Adam"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        check_common(self._name, lr, eps, weight_decay, differentiable)
        check_betas(self._name, betas)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Update the parameters once; ``closure`` (optional) re-evaluates the model under
        enable_grad and returns the loss, which step returns.

        Example:
            >>> import tapegrad as tg
            >>> w = tg.nn.Parameter(tg.ones(1)); opt = tg.optim.Adam([w], lr=0.5)
            >>> (2 * w).sum().backward(); opt.step(); w.data
            tensor([0.5000])
        """
        return self._step(closure)

    def _update(self, group):
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        wd, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
        decoupled = group.get("decoupled_weight_decay", False)
        coupled_wd = 0 if decoupled else wd
        zeros = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
        for p, g, state in self._with_grads(group):
            if not state:
                init_state(state, p, zeros)
            t = count_step(state)
            data = p._data
            # a second buffer only when the effective grad differs from p.grad
            bufs = self._buffers(p, 2 if (coupled_wd != 0 or maximize) else 1)
            s = bufs[0]
            g = self._decayed_grad(p, g, lr, wd, decoupled, maximize, bufs[-1])
            m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
            running_average(m, g, b1, s)
            running_square_average(v, g, b2, s)
            if amsgrad:
                v = np.maximum(state["max_exp_avg_sq"]._data, v,
                               out=state["max_exp_avg_sq"]._data)
            # NOTE: m / (sqrt(v) / c + eps) == c * m / (sqrt(v) + eps * c), c = sqrt(1 - b2^t):
            # the same rule with one pass fewer over the arrays (Kingma & Ba, section 2)
            c = math.sqrt(1 - b2 ** t)
            np.sqrt(v, out=s)
            s += eps * c
            np.divide(m, s, out=s)
            s *= lr * c / (1 - b1 ** t)
            data -= s
            p._bump()


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay (``p *= 1 - lr * weight_decay`` each step).

    Args:
        params: parameters or parameter groups to optimize.
        lr (float): learning rate (default 1e-3).
        betas (tuple): decay rates of the running averages (default (0.9, 0.999)).
        eps (float): added to the denominator for stability (default 1e-8).
        weight_decay (float): decoupled weight decay (default 1e-2).
        amsgrad (bool): use the maximum of the past second moments (AMSGrad).
        maximize (bool): maximize the objective instead of minimizing it.
        foreach, capturable, differentiable, fused: accepted for PyTorch compatibility.

    Example:
        >>> import tapegrad as tg
        >>> w = tg.nn.Parameter(tg.tensor([1.0])); opt = tg.optim.AdamW([w], lr=0.1)
        >>> (w * 0).sum().backward(); opt.step(); w.data   # a zero grad: only the decay acts
        tensor([0.9990])
    """

    _name = "AdamW"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
