"""Learning-rate schedulers with PyTorch's API: they rewrite ``group["lr"]`` of an optimizer.

Call ``scheduler.step()`` once per epoch (or per batch for CyclicLR/OneCycleLR) *after*
``optimizer.step()``. Each scheduler computes the next rate from the current one (the
"chainable" form of PyTorch's documented recurrences), so several schedulers can act on one
optimizer (:class:`ChainedScheduler`) and a rate edited by hand carries on from its new value;
passing an epoch to ``step`` uses the closed form where one exists, as PyTorch does.

Example:
    >>> import tapegrad as tg
    >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
    >>> sched = tg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> for _ in range(4):
    ...     opt.step(); sched.step()
    >>> sched.get_last_lr()
    [0.25]
"""
import math
import types
import warnings
from bisect import bisect_right
from collections import Counter

from .._core.errors import ArgumentError
from .optimizer import Optimizer

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR",
           "ConstantLR", "LinearLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR",
           "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR", "SequentialLR",
           "ChainedScheduler", "ReduceLROnPlateau"]

_EPOCH_DEPRECATED = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated "
    "where possible. Please use `scheduler.step()` to step the scheduler. During the "
    "deprecation, if epoch is different from None, the closed form is used instead of the new "
    "chainable form, where available.")


def _check_verbose(verbose, name):
    if verbose != "deprecated":
        warnings.warn(f"{name}: the verbose parameter is deprecated (as in PyTorch) and does "
                      "nothing; print scheduler.get_last_lr() to see the rates",
                      UserWarning, stacklevel=3)


def _cosine(lo, base, t, T):
    """The cosine schedule's rate at ``t`` of a half-period ``T``, from ``base`` down to ``lo``."""
    return lo + (base - lo) * (1 + math.cos(math.pi * t / T)) / 2


def _per_group(name, optimizer, value, what):
    """One value per param group: a list/tuple must match the groups, a scalar is repeated."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ArgumentError(f"{name}: expected {n} values for {what}, got {len(value)} "
                                "(one per param group)")
        return list(value)
    return [value] * n


class LRScheduler:
    """Base class of the epoch-based schedulers: ``get_lr()`` gives the next rates.

    Args:
        optimizer (Optimizer): the optimizer whose ``group["lr"]`` values are scheduled.
        last_epoch (int): the index of the last epoch when resuming (default -1: start). A
            value >= 0 needs ``"initial_lr"`` in every group (as a loaded optimizer has).
        verbose: deprecated; accepted and ignored (a warning says so).

    Example:
        >>> import tapegrad as tg
        >>> class Halving(tg.optim.lr_scheduler.LRScheduler):
        ...     def get_lr(self): return [b * 0.5 ** self.last_epoch for b in self.base_lrs]
        >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0); s = Halving(opt)
        >>> opt.step(); s.step(); s.get_last_lr()
        [0.5]
    """

    _get_lr_called_within_step = False

    def __init__(self, optimizer, last_epoch=-1, verbose="deprecated"):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: {type(optimizer).__name__} is not an "
                            "Optimizer")
        _check_verbose(verbose, type(self).__name__)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when "
                        f"resuming {type(self).__name__} with last_epoch={last_epoch}; load "
                        "the optimizer's state_dict first, or pass last_epoch=-1")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        """The step the constructor takes: sets the rates for epoch ``last_epoch + 1``."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def state_dict(self):
        """The scheduler's state: every attribute except the optimizer.

        Example:
            >>> import tapegrad as tg
            >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
            >>> tg.optim.lr_scheduler.ExponentialLR(opt, 0.5).state_dict()["last_epoch"]
            0
        """
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        """Restore a state saved by :meth:`state_dict`.

        Example:
            >>> import tapegrad as tg
            >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
            >>> s = tg.optim.lr_scheduler.ExponentialLR(opt, 0.5)
            >>> s.load_state_dict({"last_epoch": 3}); s.last_epoch
            3
        """
        self.__dict__.update(state_dict)

    def get_last_lr(self):
        """The rates the last ``step()`` set, one per param group.

        Example:
            >>> import tapegrad as tg
            >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=0.1)
            >>> tg.optim.lr_scheduler.ConstantLR(opt, factor=0.5).get_last_lr()
            [0.05]
        """
        return self._last_lr

    def get_lr(self):
        """The next rates (one per group); called by :meth:`step`, which sets them."""
        raise NotImplementedError(f"{type(self).__name__}.get_lr: a subclass of LRScheduler "
                                  "must define get_lr()")

    def _current(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def _scaled(self, factor):
        """Each group's current rate times ``factor`` (the chainable form's usual step)."""
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def _warn_if_called_outside_step(self):
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use "
                          "`get_last_lr()`.", UserWarning, stacklevel=3)

    def step(self, epoch=None):
        """Advance one epoch and set the optimizer's rates (call it after optimizer.step()).

        Args:
            epoch (int): deprecated: jump to this epoch, using the closed form if there is one.

        Example:
            >>> import tapegrad as tg
            >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
            >>> s = tg.optim.lr_scheduler.ExponentialLR(opt, gamma=0.1)
            >>> opt.step(); s.step(); opt.param_groups[0]["lr"]
            0.1
        """
        if self._step_count == 1 and not getattr(self.optimizer, "_opt_called", False):
            if "step" in vars(self.optimizer):
                warnings.warn(
                    "Seems like `optimizer.step()` has been overridden after learning rate "
                    "scheduler initialization. Please, make sure to call `optimizer.step()` "
                    "before `lr_scheduler.step()`.", UserWarning, stacklevel=2)
            else:
                # (every Optimizer step sets _opt_called: see Optimizer.__init_subclass__)
                warnings.warn(
                    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
                    "In PyTorch 1.1.0 and later, you should call them in the opposite order: "
                    "`optimizer.step()` before `lr_scheduler.step()`.  Failure to do this will "
                    "result in PyTorch skipping the first value of the learning rate schedule.",
                    UserWarning, stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            warnings.warn(_EPOCH_DEPRECATED, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            self._set_lrs(self.get_lr)
        else:
            self.last_epoch = epoch
            self._set_lrs(getattr(self, "_get_closed_form_lr", self.get_lr))

    def _set_lrs(self, compute):
        """Set the groups' rates to ``compute()``'s (get_lr, which then doesn't warn, or the
        closed form) and remember them for get_last_lr."""
        self._get_lr_called_within_step = True
        try:
            values = compute()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = self._current()


class _LambdaState:
    """state_dict handling shared by the two lambda schedulers: functions can't be saved, a
    callable object's attributes can (as in PyTorch)."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1, verbose="deprecated"):
        self.optimizer = optimizer
        self.lr_lambdas = _lambdas(self._name, optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch, verbose)

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else
                               dict(fn.__dict__) for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        saved = state.pop("lr_lambdas")
        self.__dict__.update(state)
        for fn, values in zip(self.lr_lambdas, saved):
            if values is not None:
                fn.__dict__.update(values)


def _lambdas(name, optimizer, lr_lambda):
    n = len(optimizer.param_groups)
    if isinstance(lr_lambda, (list, tuple)):
        if len(lr_lambda) != n:
            raise ArgumentError(f"{name}: Expected {n} lr_lambdas, but got {len(lr_lambda)}")
        return list(lr_lambda)
    return [lr_lambda] * n


class LambdaLR(_LambdaState, LRScheduler):
    """``lr = initial_lr * lr_lambda(epoch)``.

    Args:
        optimizer (Optimizer): the optimizer.
        lr_lambda (callable or list): epoch -> factor, or one such function per group.
        last_epoch (int): index of the last epoch (default -1).

    Example:
        >>> import tapegrad as tg
        >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
        >>> s = tg.optim.lr_scheduler.LambdaLR(opt, lambda e: 1 / (e + 1))
        >>> opt.step(); s.step(); s.get_last_lr()
        [0.5]
    """

    _name = "LambdaLR"     # in errors (a subclass keeps the name)

    def get_lr(self):
        self._warn_if_called_outside_step()
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaState, LRScheduler):
    """``lr *= lr_lambda(epoch)`` at each step after the first.

    Args:
        optimizer (Optimizer): the optimizer.
        lr_lambda (callable or list): epoch -> factor, or one such function per group.
        last_epoch (int): index of the last epoch (default -1).

    Example:
        >>> import tapegrad as tg
        >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
        >>> s = tg.optim.lr_scheduler.MultiplicativeLR(opt, lambda e: 0.5)
        >>> opt.step(); s.step(); s.step(); s.get_last_lr()
        [0.25]
    """

    _name = "MultiplicativeLR"     # in errors (a subclass keeps the name)

    def get_lr(self):
        self._warn_if_called_outside_step()
        if self._is_initial:
            return self._current()
        return [g["lr"] * fn(self.last_epoch)
                for fn, g in zip(self.lr_lambdas, self.optimizer.param_groups)]


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs:
    ``lr = initial_lr * gamma ** (epoch // step_size)``.

    Args:
        optimizer (Optimizer): the optimizer.
        step_size (int): epochs between decays.
        gamma (float): decay factor (default 0.1).
        last_epoch (int): index of the last epoch (default -1).

    Example:
        >>> import tapegrad as tg
        >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
        >>> s = tg.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        >>> opt.step(); s.step(); s.get_last_lr()
        [0.5]
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1, verbose="deprecated"):
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch, verbose)

    def get_lr(self):
        self._warn_if_called_outside_step()
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current()
        return self._scaled(self.gamma)

    def _get_closed_form_lr(self):
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the rate by ``gamma`` at each milestone epoch.

    Args:
        optimizer (Optimizer): the optimizer.
        milestones (list): epoch indices (a repeated one decays that many times).
        gamma (float): decay factor (default 0.1).
        last_epoch (int): index of the last epoch (default -1).

    Example:
        >>> import tapegrad as tg
        >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
        >>> s = tg.optim.lr_scheduler.MultiStepLR(opt, milestones=[2], gamma=0.5)
        >>> opt.step(); s.step(); s.step(); s.get_last_lr()
        [0.5]
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1, verbose="deprecated"):
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch, verbose)

    def get_lr(self):
        self._warn_if_called_outside_step()
        if self.last_epoch not in self.milestones:
            return self._current()
        factor = self.gamma ** self.milestones[self.last_epoch]
        return self._scaled(factor)

    def load_state_dict(self, state_dict):
        """Restore a saved state; milestone keys that a JSON round trip turned into strings
        become ints again."""
        super().load_state_dict(state_dict)
        self.milestones = Counter({int(k): v for k, v in self.milestones.items()})

    def _get_closed_form_lr(self):
        passed = bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [b * self.gamma ** passed for b in self.base_lrs]


class ConstantLR(LRScheduler):
    """Scale the rate by ``factor`` until epoch ``total_iters``, then restore it.

    Args:
        optimizer (Optimizer): the optimizer.
        factor (float): the scale, in [0, 1] (default 1/3).
        total_iters (int): epochs the scale lasts (default 5).
        last_epoch (int): index of the last epoch (default -1).

    Example:
        >>> import tapegrad as tg
        >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
        >>> s = tg.optim.lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=1)
        >>> first = s.get_last_lr(); opt.step(); s.step(); first, s.get_last_lr()
        ([0.5], [1.0])
    """

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1,
                 verbose="deprecated"):
        if factor > 1.0 or factor < 0:
            raise ArgumentError(f"ConstantLR: Constant multiplicative factor expected to be "
                                f"between 0 and 1, got factor={factor}")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch, verbose)

    def get_lr(self):
        self._warn_if_called_outside_step()
        if self.last_epoch == 0:
            return self._scaled(self.factor)
        if self.last_epoch != self.total_iters:
            return self._current()
        return self._scaled(1.0 / self.factor)

    def _get_closed_form_lr(self):
        done = self.last_epoch >= self.total_iters
        return [b * (self.factor + done * (1 - self.factor)) for b in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the rate by a factor going linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` epochs.

    Args:
        optimizer (Optimizer): the optimizer.
        start_factor (float): the first epoch's factor, in (0, 1] (default 1/3).
        end_factor (float): the final factor, in [0, 1] (default 1).
        total_iters (int): epochs to get there (default 5).
        last_epoch (int): index of the last epoch (default -1).

    Example:
        >>> import tapegrad as tg
        >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
        >>> s = tg.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
        >>> opt.step(); s.step(); s.get_last_lr()
        [0.75]
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1, verbose="deprecated"):
        if start_factor > 1.0 or start_factor <= 0:
            raise ArgumentError("LinearLR: Starting multiplicative factor expected to be greater "
                                f"than 0 and less or equal to 1, got start_factor={start_factor}")
        if end_factor > 1.0 or end_factor < 0:
            raise ArgumentError("LinearLR: Ending multiplicative factor expected to be between 0 "
                                f"and 1, got end_factor={end_factor}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch, verbose)

    def get_lr(self):
        self._warn_if_called_outside_step()
        if self.last_epoch == 0:
            return self._scaled(self.start_factor)
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current()
        # the ratio of this epoch's factor to the previous one's
        span = self.end_factor - self.start_factor
        ratio = 1.0 + span / (self.total_iters * self.start_factor + (self.last_epoch - 1) * span)
        return self._scaled(ratio)

    def _get_closed_form_lr(self):
        frac = min(self.total_iters, self.last_epoch) / self.total_iters
        return [b * (self.start_factor + (self.end_factor - self.start_factor) * frac)
                for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    """``lr = initial_lr * gamma ** epoch``.

    Args:
        optimizer (Optimizer): the optimizer.
        gamma (float): the decay per epoch.
        last_epoch (int): index of the last epoch (default -1).

    Example:
        >>> import tapegrad as tg
        >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
        >>> s = tg.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
        >>> opt.step(); s.step(); s.step(); s.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer, gamma, last_epoch=-1, verbose="deprecated"):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch, verbose)

    def get_lr(self):
        self._warn_if_called_outside_step()
        if self._is_initial:
            return self._current()
        return self._scaled(self.gamma)

    def _get_closed_form_lr(self):
        return [b * self.gamma ** self.last_epoch for b in self.base_lrs]


class PolynomialLR(LRScheduler):
    """``lr = initial_lr * (1 - min(epoch, total_iters) / total_iters) ** power``.

    Args:
        optimizer (Optimizer): the optimizer.
        total_iters (int): epochs until the rate reaches 0 (default 5).
        power (float): the polynomial's power (default 1).
        last_epoch (int): index of the last epoch (default -1).

    Example:
        >>> import tapegrad as tg
        >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
        >>> s = tg.optim.lr_scheduler.PolynomialLR(opt, total_iters=4)
        >>> opt.step(); s.step(); s.get_last_lr()
        [0.75]
    """

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1,
                 verbose="deprecated"):
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch, verbose)

    def get_lr(self):
        self._warn_if_called_outside_step()
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current()
        t, n = self.last_epoch, self.total_iters
        factor = ((1.0 - t / n) / (1.0 - (t - 1) / n)) ** self.power
        return self._scaled(factor)

    def _get_closed_form_lr(self):
        frac = min(self.total_iters, self.last_epoch) / self.total_iters
        return [b * (1.0 - frac) ** self.power for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the initial rate to ``eta_min`` over ``T_max`` epochs:
    ``lr = eta_min + (initial_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2`` (SGDR without
    restarts; past T_max the rate climbs back, as PyTorch's does).

    Args:
        optimizer (Optimizer): the optimizer.
        T_max (int): the half-period in epochs.
        eta_min (float): the lowest rate (default 0).
        last_epoch (int): index of the last epoch (default -1).

    Example:
        >>> import tapegrad as tg
        >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
        >>> s = tg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2)
        >>> opt.step(); s.step(); [round(v, 6) for v in s.get_last_lr()]
        [0.5]
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1, verbose="deprecated"):
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch, verbose)

    def get_lr(self):
        self._warn_if_called_outside_step()
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if self._is_initial:
            return self._current()
        if self._step_count == 1 and t > 0:       # resumed mid-schedule: closed form
            return [_cosine(lo, b, t, T) for b in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:            # leaving the bottom: the ratio form is 0/0
            return [g["lr"] + (b - lo) * (1 - math.cos(math.pi / T)) / 2
                    for b, g in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (g["lr"] - lo) + lo for g in groups]

    def _get_closed_form_lr(self):
        return [_cosine(self.eta_min, b, self.last_epoch, self.T_max) for b in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing with warm restarts (SGDR): the cycle restarts every ``T_i`` epochs,
    ``T_0`` first and ``T_mult`` times longer each time.

    ``step(epoch)`` accepts fractional epochs (e.g. ``epoch + i / iters`` per batch).

    Args:
        optimizer (Optimizer): the optimizer.
        T_0 (int): the first cycle's length.
        T_mult (int): the factor by which cycles grow (default 1).
        eta_min (float): the lowest rate (default 0).
        last_epoch (int): index of the last epoch (default -1).

    Example:
        >>> import tapegrad as tg
        >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
        >>> s = tg.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2)
        >>> opt.step(); s.step(); r1 = s.get_last_lr(); s.step(); r1, s.get_last_lr()
        ([0.5], [1.0])
    """

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1,
                 verbose="deprecated"):
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ArgumentError(f"CosineAnnealingWarmRestarts: Expected positive integer T_0, but "
                                f"got {T_0}")
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ArgumentError(f"CosineAnnealingWarmRestarts: Expected integer T_mult >= 1, but "
                                f"got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ArgumentError(f"CosineAnnealingWarmRestarts: Expected float or int eta_min, but "
                                f"got {eta_min} of type {type(eta_min).__name__}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch, verbose)

    def get_lr(self):
        self._warn_if_called_outside_step()
        return [_cosine(self.eta_min, b, self.T_cur, self.T_i) for b in self.base_lrs]

    def step(self, epoch=None):
        """Advance one epoch, or go to ``epoch`` (may be fractional).

        Example:
            >>> import tapegrad as tg
            >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
            >>> s = tg.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2)
            >>> s.step(1.0); s.get_last_lr()
            [0.5]
        """
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ArgumentError(f"CosineAnnealingWarmRestarts.step: Expected non-negative "
                                    f"epoch, but got {epoch}")
            if epoch < self.T_0:
                self.T_i, self.T_cur = self.T_0, epoch
            elif self.T_mult == 1:
                self.T_cur = epoch % self.T_0
            else:
                # cycles so far: T_0 (1 + m + ... + m^(n-1)) <= epoch
                n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                self.T_i = self.T_0 * self.T_mult ** n
        self.last_epoch = math.floor(epoch)
        self._set_lrs(self.get_lr)


# NOTE: the per-batch and composite schedulers live in _cyclic.py (this file would pass 600
# lines); they subclass LRScheduler from here, so they are imported last, once it exists.
from ._cyclic import (ChainedScheduler, CyclicLR, OneCycleLR,  # noqa: E402,F401
                      ReduceLROnPlateau, SequentialLR)
