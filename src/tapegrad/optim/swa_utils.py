"""Weight averaging: AveragedModel (SWA and EMA), the SWALR schedule, and update_bn.

Example:
    >>> import tapegrad as tg
    >>> from tapegrad.optim import swa_utils
    >>> net = tg.nn.Linear(2, 1); swa = swa_utils.AveragedModel(net)
    >>> swa.update_parameters(net); int(swa.n_averaged.item())
    1
"""
import copy
import itertools
import math

import numpy as np

from .._core.errors import ArgumentError
from .._core.tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..nn.modules.module import Module
from ..nn.modules.normalization import _BatchNorm
from ..ops.creation import tensor
from .lr_scheduler import LRScheduler, _per_group

__all__ = ["AveragedModel", "SWALR", "update_bn", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"]


def _arr(t):
    return t._data if isinstance(t, Tensor) else np.asarray(t)


def get_ema_multi_avg_fn(decay=0.999):
    """An in-place exponential moving average over lists of tensors, for ``multi_avg_fn``:
    ``ema += (1 - decay) * (current - ema)``.

    Args:
        decay (float): the EMA's decay (default 0.999).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.optim.swa_utils import get_ema_multi_avg_fn
        >>> ema, cur = [tg.zeros(1)], [tg.ones(1)]
        >>> get_ema_multi_avg_fn(0.75)(ema, cur, None); ema[0]
        tensor([0.2500])
    """
    def ema_update(ema_params, current_params, num_averaged):
        for e, c in zip(ema_params, current_params):
            a = e._data
            if a.dtype.kind == "f":
                a += (1 - decay) * (c._data - a)
            else:                          # integer buffers (counters) follow the model
                np.copyto(a, c._data)
            e._bump()
    return ema_update


def get_swa_multi_avg_fn():
    """An in-place running mean over lists of tensors, for ``multi_avg_fn``:
    ``avg += (current - avg) / (n + 1)``.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.optim.swa_utils import get_swa_multi_avg_fn
        >>> avg, cur = [tg.ones(1)], [tg.full((1,), 4.0)]
        >>> get_swa_multi_avg_fn()(avg, cur, tg.tensor(2)); avg[0]
        tensor([2.])
    """
    def swa_update(averaged_params, current_params, num_averaged):
        n = float(_arr(num_averaged))
        for avg, c in zip(averaged_params, current_params):
            a = avg._data
            if a.dtype.kind == "f":
                a += (c._data - a) / (n + 1)
            else:
                np.copyto(a, (a + (c._data - a) // int(n + 1)).astype(a.dtype))
            avg._bump()
    return swa_update


def get_ema_avg_fn(decay=0.999):
    """An EMA of one tensor, for ``avg_fn``: ``decay * ema + (1 - decay) * current``.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.optim.swa_utils import get_ema_avg_fn
        >>> get_ema_avg_fn(0.5)(tg.zeros(1), tg.ones(1), None)
        tensor([0.5000])
    """
    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn():
    """A running mean of one tensor, for ``avg_fn``: ``avg + (current - avg) / (n + 1)``.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.optim.swa_utils import get_swa_avg_fn
        >>> get_swa_avg_fn()(tg.ones(1), tg.full((1,), 3.0), tg.tensor(1))
        tensor([2.])
    """
    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters are the average of the model's over the updates:
    stochastic weight averaging (the default, an equal-weight mean) or an EMA.

    Call :meth:`update_parameters` after optimizer steps; the first call copies the model.
    Buffers are copied from the model each time, unless ``use_buffers=True`` averages them
    too (then there is no need for :func:`update_bn`).

    Args:
        model (Module): the model to average.
        device: accepted for PyTorch compatibility (tapegrad is CPU-only).
        avg_fn (callable): ``(averaged, current, n) -> new averaged`` for one tensor.
        multi_avg_fn (callable): ``(averaged list, current list, n)``, updating in place, e.g.
            :func:`get_ema_multi_avg_fn`.
        use_buffers (bool): average the buffers as well as the parameters.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
        >>> net = tg.nn.Linear(1, 1, bias=False)
        >>> ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.5))
        >>> with tg.no_grad(): _ = net.weight.fill_(0.0)
        >>> ema.update_parameters(net)
        >>> with tg.no_grad(): _ = net.weight.fill_(1.0)
        >>> ema.update_parameters(net); ema.module.weight.data
        tensor([[0.5000]])
    """

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise ArgumentError("AveragedModel: only one of avg_fn and multi_avg_fn can be given")
        self.module = copy.deepcopy(model)
        self.register_buffer("n_averaged", tensor(0))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _averaged_and_current(self, model):
        if self.use_buffers:
            return (list(itertools.chain(self.module.parameters(), self.module.buffers())),
                    list(itertools.chain(model.parameters(), model.buffers())))
        return list(self.module.parameters()), list(model.parameters())

    def update_parameters(self, model):
        """Fold ``model``'s current parameters (and buffers, with use_buffers) into the
        average.

        Args:
            model (Module): the trained model (same structure as the averaged one).
        """
        averaged, current = self._averaged_and_current(model)
        if len(averaged) != len(current):
            raise ArgumentError(f"AveragedModel.update_parameters: the model has {len(current)} "
                                f"tensors to average but the averaged copy has {len(averaged)}; "
                                "pass the model this AveragedModel was built from")
        n = self.n_averaged
        with no_grad():
            if int(n.item()) == 0:
                for a, c in zip(averaged, current):
                    np.copyto(a._data, c._data)
                    a._bump()
            elif self.avg_fn is not None:
                for a, c in zip(averaged, current):
                    new = self.avg_fn(a.detach(), c.detach(), n)
                    np.copyto(a._data, _arr(new), casting="unsafe")
                    a._bump()
            else:
                fn = self.multi_avg_fn or get_swa_multi_avg_fn()
                fn([a.detach() for a in averaged], [c.detach() for c in current], n)
                for a in averaged:
                    a._bump()
            if not self.use_buffers:     # keep the buffers in sync with the source model
                for b, src in zip(self.module.buffers(), model.buffers()):
                    np.copyto(b._data, src._data)
                    b._bump()
            n._data += 1
            n._bump()


def update_bn(loader, model, device=None):
    """Recompute the BatchNorm running statistics of ``model`` with one pass over ``loader``
    (the averaged weights need their own statistics), as a cumulative average.

    Args:
        loader (iterable): batches; a (input, ...) tuple or list uses its first item.
        model (Module): the model (typically an :class:`AveragedModel`).
        device: accepted for PyTorch compatibility.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.optim.swa_utils import update_bn
        >>> bn = tg.nn.BatchNorm1d(1); update_bn([tg.full((4, 1), 2.0)], bn)
        >>> bn.running_mean
        tensor([2.])
    """
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None          # None: a cumulative average over all the batches
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's rate to a fixed ``swa_lr`` over ``anneal_epochs`` epochs (cosine or
    linear), then hold it: the schedule used while collecting an SWA average.

    Args:
        optimizer (Optimizer): the optimizer.
        swa_lr (float or list): the rate to reach (per group if a list).
        anneal_epochs (int): epochs to get there (default 10; 0 jumps at once).
        anneal_strategy (str): 'cos' (default) or 'linear'.
        last_epoch (int): index of the last epoch (default -1).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.optim.swa_utils import SWALR
        >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
        >>> s = SWALR(opt, swa_lr=0.5, anneal_epochs=2, anneal_strategy="linear")
        >>> opt.step(); s.step(); s.step(); s.get_last_lr()
        [0.5]
    """

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos",
                 last_epoch=-1):
        for lr, group in zip(_per_group("SWALR", optimizer, swa_lr, "swa_lr"),
                             optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ArgumentError("SWALR: anneal_strategy must by one of 'cos' or 'linear', "
                                f"instead got {anneal_strategy}")
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" \
            else self._linear_anneal
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ArgumentError(f"SWALR: anneal_epochs must be equal or greater than 0, got "
                                f"{anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        """The rate the schedule started from, given the current one at fraction alpha."""
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        self._warn_if_called_outside_step()
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)
        # recover the starting rate from the current one, then move one step further
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / span)))
        starts = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha)
                  for g in self.optimizer.param_groups]
        alpha = self.anneal_func(max(0, min(1, step / span)))
        return [g["swa_lr"] * alpha + lr * (1 - alpha)
                for g, lr in zip(self.optimizer.param_groups, starts)]

    def state_dict(self):
        state = super().state_dict()
        state.pop("anneal_func", None)     # a bound function; rebuilt from the class
        return state
