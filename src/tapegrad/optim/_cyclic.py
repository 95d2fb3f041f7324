"""The per-batch schedulers (CyclicLR, OneCycleLR), the composites (SequentialLR,
ChainedScheduler) and ReduceLROnPlateau; re-exported by ``tapegrad.optim.lr_scheduler``."""
import math
import types
import warnings
from bisect import bisect_right

from .._core.errors import ArgumentError
from .lr_scheduler import _EPOCH_DEPRECATED, LRScheduler, _check_verbose, _per_group


def _momentum_key(name, optimizer):
    """'betas' (cycle beta1) or 'momentum': what a momentum-cycling scheduler will edit."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ArgumentError(f"{name}: optimizer must support momentum or beta1 with "
                            "`cycle_momentum` option enabled; pass cycle_momentum=False")
    return "betas" in optimizer.defaults


def _set_momentum(group, use_beta1, value):
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith): the rate goes between ``base_lr`` and ``max_lr`` and
    back in cycles of ``step_size_up + step_size_down`` batches; step it after each batch.

    ``mode``: 'triangular' (constant amplitude), 'triangular2' (halved each cycle),
    'exp_range' (scaled by ``gamma ** iteration``), or a custom ``scale_fn``. With
    ``cycle_momentum`` the momentum (or Adam's beta1) moves the opposite way.

    Args:
        optimizer (Optimizer): the optimizer.
        base_lr (float or list): the lower bound (per group if a list).
        max_lr (float or list): the upper bound.
        step_size_up (int): batches in the rising half (default 2000).
        step_size_down (int): batches in the falling half (default: step_size_up).
        mode (str): 'triangular', 'triangular2' or 'exp_range'.
        gamma (float): the 'exp_range' base (default 1).
        scale_fn (callable): custom amplitude scale, of the cycle or the iteration.
        scale_mode (str): 'cycle' or 'iterations': what scale_fn takes.
        cycle_momentum (bool): cycle momentum inversely (default True).
        base_momentum (float or list): the lower momentum (default 0.8).
        max_momentum (float or list): the upper momentum (default 0.9).
        last_epoch (int): index of the last batch (default -1).

    Example:
        >>> import tapegrad as tg
        >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0, momentum=0.9)
        >>> s = tg.optim.lr_scheduler.CyclicLR(opt, 0.1, 1.0, step_size_up=2)
        >>> lrs = []
        >>> for _ in range(4):
        ...     lrs.append(round(s.get_last_lr()[0], 2)); opt.step(); s.step()
        >>> lrs
        [0.1, 0.55, 1.0, 0.55]
    """

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
                 cycle_momentum=True, base_momentum=0.8, max_momentum=0.9, last_epoch=-1,
                 verbose="deprecated"):
        base_lrs = _per_group("CyclicLR", optimizer, base_lr, "base_lr")
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _per_group("CyclicLR", optimizer, max_lr, "max_lr")
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ArgumentError(f"CyclicLR: mode {mode!r} is invalid and scale_fn is None; use "
                                "'triangular', 'triangular2' or 'exp_range', or pass scale_fn")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_key("CyclicLR", optimizer)
            self.base_momentums = _per_group("CyclicLR", optimizer, base_momentum,
                                             "base_momentum")
            self.max_momentums = _per_group("CyclicLR", optimizer, max_momentum, "max_momentum")
            if last_epoch == -1:
                for hi, lo, group in zip(self.max_momentums, self.base_momentums,
                                         optimizer.param_groups):
                    _set_momentum(group, self.use_beta1, hi)
                    group["max_momentum"], group["base_momentum"] = hi, lo
        super().__init__(optimizer, last_epoch, verbose)
        self.base_lrs = base_lrs

    def _init_scale_fn(self):
        if self._scale_fn_custom is not None:
            self._scale_fn, self._scale_of = self._scale_fn_custom, self.scale_mode
        elif self.mode == "triangular":
            self._scale_fn, self._scale_of = (lambda x: 1.0), "cycle"
        elif self.mode == "triangular2":
            self._scale_fn, self._scale_of = (lambda x: 1 / (2.0 ** (x - 1))), "cycle"
        else:
            gamma = self.gamma
            self._scale_fn, self._scale_of = (lambda x: gamma ** x), "iterations"

    def scale_fn(self, x):
        """The amplitude scale at ``x`` (the cycle number or the iteration)."""
        return self._scale_fn(x)

    def get_lr(self):
        self._warn_if_called_outside_step()
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle       # position in the cycle
        if x <= self.step_ratio:
            height = x / self.step_ratio
        else:
            height = (x - 1) / (self.step_ratio - 1)
        scale = self._scale_fn(cycle if self._scale_of == "cycle" else self.last_epoch)
        lrs = [b + (m - b) * height * scale for b, m in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, lo, hi in zip(self.optimizer.param_groups, self.base_momentums,
                                     self.max_momentums):
                _set_momentum(group, self.use_beta1, hi - (hi - lo) * height * scale)
        return lrs

    def state_dict(self):
        """The state, without the scale functions (a function can't be saved; a callable
        object's attributes are kept, as in PyTorch)."""
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("optimizer", "_scale_fn", "_scale_fn_custom")}
        fn = self._scale_fn_custom
        state["_scale_fn_custom"] = (None if fn is None or isinstance(fn, types.FunctionType)
                                     else dict(fn.__dict__))
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        custom = state.pop("_scale_fn_custom", None)
        self.__dict__.update(state)
        if custom is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(custom)
        self._init_scale_fn()


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin): warm up from ``max_lr / div_factor`` to ``max_lr``
    over ``pct_start`` of the steps, then anneal to ``initial_lr / final_div_factor``; step it
    after each batch, ``total_steps`` times in all.

    Args:
        optimizer (Optimizer): the optimizer.
        max_lr (float or list): the peak rate (per group if a list).
        total_steps (int): the number of steps; or give epochs and steps_per_epoch.
        epochs (int), steps_per_epoch (int): total_steps = epochs * steps_per_epoch.
        pct_start (float): the fraction of steps spent warming up (default 0.3).
        anneal_strategy (str): 'cos' (default) or 'linear'.
        cycle_momentum (bool): move momentum (or beta1) inversely (default True).
        base_momentum (float or list): the lowest momentum (default 0.85).
        max_momentum (float or list): the highest momentum (default 0.95).
        div_factor (float): initial_lr = max_lr / div_factor (default 25).
        final_div_factor (float): min_lr = initial_lr / final_div_factor (default 1e4).
        three_phase (bool): warm up, come back down symmetrically, then anneal.
        last_epoch (int): index of the last batch (default -1).

    Example:
        >>> import tapegrad as tg
        >>> opt = tg.optim.Adam([tg.nn.Parameter(tg.ones(1))])
        >>> s = tg.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=4, pct_start=0.5,
        ...                                      anneal_strategy="linear")
        >>> lrs = []
        >>> for _ in range(4):
        ...     lrs.append(round(s.get_last_lr()[0], 4)); opt.step(); s.step()
        >>> lrs
        [0.04, 1.0, 0.5, 0.0]
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True,
                 base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, last_epoch=-1, verbose="deprecated"):
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ArgumentError(f"OneCycleLR: Expected positive integer total_steps, but got "
                                    f"{total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ArgumentError(f"OneCycleLR: Expected positive integer epochs, but got "
                                    f"{epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ArgumentError(f"OneCycleLR: Expected positive integer steps_per_epoch, but "
                                    f"got {steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ArgumentError("OneCycleLR: You must define either total_steps OR (epochs AND "
                                "steps_per_epoch)")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ArgumentError(f"OneCycleLR: Expected float between 0 and 1 pct_start, but got "
                                f"{pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ArgumentError("OneCycleLR: anneal_strategy must be one of 'cos' or 'linear', "
                                f"instead got {anneal_strategy}")
        n = self.total_steps
        warm = float(pct_start * n) - 1
        if three_phase:
            self._schedule_phases = [
                dict(end_step=warm, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=float(2 * pct_start * n) - 2, start_lr="max_lr",
                     end_lr="initial_lr", start_momentum="base_momentum",
                     end_momentum="max_momentum"),
                dict(end_step=n - 1, start_lr="initial_lr", end_lr="min_lr",
                     start_momentum="max_momentum", end_momentum="max_momentum")]
        else:
            self._schedule_phases = [
                dict(end_step=warm, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=n - 1, start_lr="max_lr", end_lr="min_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum")]
        self._anneal_func_type = anneal_strategy
        max_lrs = _per_group("OneCycleLR", optimizer, max_lr, "max_lr")
        if last_epoch == -1:
            for peak, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_key("OneCycleLR", optimizer)
            highs = _per_group("OneCycleLR", optimizer, max_momentum, "max_momentum")
            lows = _per_group("OneCycleLR", optimizer, base_momentum, "base_momentum")
            if last_epoch == -1:
                for hi, lo, group in zip(highs, lows, optimizer.param_groups):
                    _set_momentum(group, self.use_beta1, hi)
                    group["max_momentum"], group["base_momentum"] = hi, lo
        super().__init__(optimizer, last_epoch, verbose)

    def _anneal(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        self._warn_if_called_outside_step()
        t = self.last_epoch
        if t > self.total_steps:
            raise ArgumentError(f"OneCycleLR: Tried to step {t} times. The specified number of "
                                f"total steps is {self.total_steps}; build the scheduler with the "
                                "number of optimizer steps you will take")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            last = len(self._schedule_phases) - 1
            for i, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if t <= end or i == last:
                    pct = (t - start) / (end - start)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]],
                                            pct))
                    if self.cycle_momentum:
                        _set_momentum(group, self.use_beta1, self._anneal(
                            group[phase["start_momentum"]], group[phase["end_momentum"]], pct))
                    break
                start = end
        return lrs


def _check_children(name, optimizer, schedulers):
    for i, s in enumerate(schedulers):
        if not hasattr(s, "optimizer"):
            raise TypeError(f"{name} at index {i} should have `optimizer` as its attribute.")
        if isinstance(s, ReduceLROnPlateau):
            raise ArgumentError(f"{name} does not support `ReduceLROnPlateau` scheduler as it "
                                "requires additional kwargs to be specified when calling `step`, "
                                f"but got one at index {i} in the given schedulers sequence.")
        if s.optimizer is not optimizer:
            raise ArgumentError(f"{name} expects all schedulers to belong to the same optimizer, "
                                f"but got scheduler {type(s).__name__} at index {i} has "
                                f"{type(s.optimizer).__name__} at {id(s.optimizer):#x}, which is "
                                f"different from {type(optimizer).__name__} at "
                                f"{id(optimizer):#x}.")


class _Composite(LRScheduler):
    """state_dict of a scheduler made of schedulers: its own fields plus each child's."""

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        children = state.pop("_schedulers")
        self.__dict__.update(state)
        for s, child in zip(self._schedulers, children):
            s.load_state_dict(child)


class SequentialLR(_Composite):
    """Run schedulers one after another, switching at the ``milestones`` epochs (each
    following scheduler starts from its own epoch 0).

    Args:
        optimizer (Optimizer): the optimizer all the schedulers drive.
        schedulers (list): the schedulers, in order.
        milestones (list): the epochs at which to switch (one fewer than schedulers).
        last_epoch (int): index of the last epoch (default -1).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.optim import lr_scheduler as L
        >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
        >>> s = L.SequentialLR(opt, [L.ConstantLR(opt, 0.1, total_iters=2),
        ...                          L.ExponentialLR(opt, 0.5)], milestones=[2])
        >>> lrs = []
        >>> for _ in range(4):
        ...     lrs.append(s.get_last_lr()[0]); opt.step(); s.step()
        >>> lrs
        [0.1, 0.1, 1.0, 0.5]
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1, verbose="deprecated"):
        if len(schedulers) < 1:
            raise ArgumentError("SequentialLR expects at least one scheduler, but got no "
                                "scheduler.")
        _check_children("SequentialLR", optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ArgumentError(
                "Sequential Schedulers expects number of schedulers provided to be one more "
                f"than the number of milestone points, but got number of schedulers "
                f"{len(schedulers)} and the number of milestones to be equal to "
                f"{len(milestones)}")
        _check_verbose(verbose, "SequentialLR")
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # the children's constructors each took a step: undo them, restart the rates, and let
        # only the scheduler of epoch 0 take its initial step
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo_initial_steps(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def _undo_initial_steps(self, sched):
        if hasattr(sched, "_schedulers"):
            for s in sched._schedulers:
                self._undo_initial_steps(s)
        elif hasattr(sched, "last_epoch"):
            sched.last_epoch -= 1

    def step(self):
        """Advance one epoch, in the scheduler whose turn it is."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        current = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            current._update_lr(0)             # a fresh start for the next scheduler
        else:
            current.step()
        self._last_lr = current.get_last_lr()


class ChainedScheduler(_Composite):
    """Step several schedulers together: their (chainable) changes compose.

    Args:
        schedulers (list): the schedulers, stepped in order.
        optimizer (Optimizer): their optimizer (default: the first scheduler's).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.optim import lr_scheduler as L
        >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
        >>> s = L.ChainedScheduler([L.ConstantLR(opt, 0.5, total_iters=2),
        ...                         L.ExponentialLR(opt, 0.5)])
        >>> opt.step(); s.step(); s.get_last_lr()
        [0.25]
    """

    def __init__(self, schedulers, optimizer=None):
        if len(schedulers) < 1:
            raise ArgumentError("ChainedScheduler expects at least one scheduler to be chained, "
                                "but got no scheduler.")
        optimizer = optimizer or schedulers[0].optimizer
        _check_children("ChainedScheduler", optimizer, schedulers)
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = self._current()

    def step(self):
        """Step every scheduler once."""
        for s in self._schedulers:
            s.step()
        self._last_lr = self._current()


class ReduceLROnPlateau(LRScheduler):
    """Reduce the rate by ``factor`` when a metric has stopped improving for ``patience``
    epochs: call ``step(metric)`` after each validation.

    Args:
        optimizer (Optimizer): the optimizer.
        mode (str): 'min' (the metric should fall) or 'max'.
        factor (float): the reduction, < 1 (default 0.1).
        patience (int): epochs without improvement tolerated (default 10).
        threshold (float): the least change that counts as improvement (default 1e-4).
        threshold_mode (str): 'rel' (relative to the best) or 'abs'.
        cooldown (int): epochs to wait after a reduction (default 0).
        min_lr (float or list): the lowest rate (per group if a list; default 0).
        eps (float): reductions smaller than this are skipped (default 1e-8).

    Example:
        >>> import tapegrad as tg
        >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
        >>> s = tg.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
        >>> for loss in [3.0, 2.0, 2.0, 2.0]:
        ...     s.step(loss)
        >>> s.get_last_lr()
        [0.5]
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8, verbose="deprecated"):
        if factor >= 1.0:
            raise ArgumentError(f"ReduceLROnPlateau: Factor should be < 1.0, got {factor}")
        _check_verbose(verbose, "ReduceLROnPlateau")
        self.factor = factor
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ArgumentError(f"ReduceLROnPlateau: expected {len(optimizer.param_groups)} "
                                    f"min_lrs, got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = self._current()
        if mode not in ("min", "max"):
            raise ArgumentError(f"ReduceLROnPlateau: mode {mode} is unknown! Use 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ArgumentError(f"ReduceLROnPlateau: threshold mode {threshold_mode} is unknown! "
                                "Use 'rel' or 'abs'")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self._reset()

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def is_better(self, a, best):
        """Whether metric ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel"
                        else best - self.threshold)
        return a > (best * (self.threshold + 1.0) if self.threshold_mode == "rel"
                    else best + self.threshold)

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def step(self, metrics, epoch=None):
        """Record this epoch's metric, reducing the rates after ``patience`` bad epochs.

        Example:
            >>> import tapegrad as tg
            >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=1.0)
            >>> s = tg.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
            >>> s.step(1.0); s.step(1.0); s.get_last_lr()
            [0.1]
        """
        current = float(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(_EPOCH_DEPRECATED, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0               # bad epochs in cooldown don't count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current()

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(self.min_lrs) != len(groups):
            if self.default_min_lr is None:
                raise RuntimeError(
                    "ReduceLROnPlateau: the optimizer has a different number of param groups "
                    f"({len(groups)}) than min_lrs ({len(self.min_lrs)}); pass one min_lr "
                    "per group, or a single number")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, floor in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, floor)
            if old - new > self.eps:
                group["lr"] = new

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)
