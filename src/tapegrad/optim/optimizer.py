"""The base Optimizer: parameter groups, per-parameter state, state dicts, zero_grad.

# Note [In-place updates]
Every built-in optimizer updates ``p._data`` with NumPy ufuncs writing into existing arrays
(``out=``): nothing is recorded (the update is plain array arithmetic, so no graph can form),
and each updated parameter's version counter is bumped once per step, so a graph that saved
the old value refuses to backward through it. Temporaries the formula needs live in
``self._scratch`` (one set of arrays per parameter, made on first use), not in ``state``: they
carry no information between steps, so they stay out of ``state_dict()``.
"""
import copy
import functools
import warnings
from collections import defaultdict

import numpy as np

from .._core.axpy import axpy
from .._core.errors import ArgumentError, DTypeError, NotSupportedError
from .._core.tensor import Tensor, wrap
from ..autograd.grad_mode import enable_grad


class _Required:
    """Marks a hyper-parameter that has no default (e.g. a user optimizer's lr)."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


def check_arg(opt, ok, what, value, hint):
    """Raise PyTorch's ``Invalid <what>: <value>`` error, naming the optimizer and a fix."""
    if not ok:
        raise ArgumentError(f"{opt}: Invalid {what}: {value}; {hint}")


def check_betas(opt, betas):
    for i, b in enumerate(betas):
        check_arg(opt, 0.0 <= b < 1.0, f"beta parameter at index {i}", b,
                  "each beta must be in [0, 1)")


def check_common(opt, lr, eps=0.0, weight_decay=0.0, differentiable=False):
    """The checks most optimizers share: lr, eps and weight_decay >= 0, no differentiable."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ArgumentError(f"{opt}: Tensor lr must be 1-element, got shape {tuple(lr.shape)}")
    check_arg(opt, lr >= 0.0, "learning rate", lr, "lr must be >= 0")
    check_arg(opt, eps >= 0.0, "epsilon value", eps, "eps must be >= 0")
    check_arg(opt, weight_decay >= 0.0, "weight_decay value", weight_decay,
              "weight_decay must be >= 0")
    if differentiable:
        raise NotSupportedError(
            f"{opt}: differentiable=True is not supported: tapegrad's optimizers update the "
            "parameter arrays in place without recording a graph; write the update with "
            "tensor ops under enable_grad() to differentiate through it")


def scalar(value, dtype=np.float32):
    """A 0-d state tensor such as PyTorch's ``state['step']`` (float32 by default)."""
    return wrap(np.array(value, dtype=dtype))


def init_state(state, p, zeros=(), **scalars):
    """A parameter's state on its first step, keys in PyTorch's order: ``step`` 0, then the
    0-d ``scalars`` (name=value), then one zero array shaped like ``p`` per name in ``zeros``."""
    state["step"] = scalar(0.0)
    for name, value in scalars.items():
        state[name] = scalar(value)
    for name in zeros:
        state[name] = wrap(np.zeros_like(p._data))


def count_step(state):
    """Add one to ``state["step"]`` (a float32 0-d tensor, in place) and return it as a float."""
    step_t = state["step"]._data
    step_t += 1
    return float(step_t)


_CHUNK = 65536      # elements: a 256 KiB float32 scratch, which stays in cache


def add_scaled(p, g, alpha, scratch):
    """``p += alpha * g`` in place without touching ``g``. A large contiguous pair goes through
    the axpy of NumPy's own BLAS (one pass; Note in _core/axpy.py) or, where that is not
    reachable, in chunks through a small scratch that stays in cache (a full-size scratch costs
    another array's worth of memory traffic: about 1.6x the time on a 400k-element weight);
    otherwise through ``scratch`` (p's shape) whole."""
    if axpy(alpha, g, p):
        return
    if p.size > 2 * _CHUNK and p.flags.c_contiguous and g.flags.c_contiguous \
            and p.dtype == g.dtype:
        pf, gf = p.reshape(-1), g.reshape(-1)
        buf = scratch.reshape(-1)[:_CHUNK]
        n = pf.size
        for i in range(0, n, _CHUNK):
            j = min(n, i + _CHUNK)
            s = buf[:j - i]
            np.multiply(gf[i:j], alpha, out=s)
            np.add(pf[i:j], s, out=pf[i:j])
        return
    np.multiply(g, alpha, out=scratch)
    np.add(p, scratch, out=p)


def running_average(avg, x, beta, buf):
    """``avg = beta avg + (1 - beta) x`` in place (``buf``: a scratch array)."""
    avg *= beta
    avg += np.multiply(x, 1 - beta, out=buf)


def running_square_average(avg, x, beta, buf):
    """``avg = beta avg + (1 - beta) x^2`` in place (``buf``: a scratch array)."""
    avg *= beta
    np.multiply(x, 1 - beta, out=buf)
    buf *= x
    avg += buf


class Optimizer:
    """Base class of all optimizers: holds parameter groups and per-parameter state.

    Subclasses pass their hyper-parameter defaults and implement :meth:`step`. Each group is a
    dict with a ``"params"`` list and one entry per hyper-parameter; a scheduler (or you) may
    edit the entries between steps. ``state`` maps each parameter to a dict of its buffers.

    Args:
        params: an iterable of Tensors, or of dicts each with ``"params"`` and per-group
            options overriding ``defaults``.
        defaults: the default value of each hyper-parameter (``required`` marks one that every
            group must give).

    Example:
        >>> import tapegrad as tg
        >>> class Halve(tg.optim.Optimizer):
        ...     def __init__(self, params): super().__init__(params, {"lr": 0.5})
        ...     def step(self, closure=None):
        ...         for g in self.param_groups:
        ...             for p in g["params"]: p.data.mul_(1 - g["lr"])
        >>> w = tg.nn.Parameter(tg.ones(2)); Halve([w]).step(); w.data
        tensor([0.5000, 0.5000])
    """

    def __init_subclass__(cls, **kwargs):
        # Schedulers warn when they step before the optimizer ever did, so every step marks
        # ``_opt_called``: the built-ins in ``_step``, users' subclasses through this wrapper.
        # (Wrapping the class, not the instance as PyTorch does, keeps copy.deepcopy of an
        # optimizer correct; the built-ins stay unwrapped so their doctests stay found.)
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is None or cls.__module__.startswith(__name__.rpartition(".")[0] + "."):
            return

        @functools.wraps(step)
        def marked_step(self, *args, **kwargs):
            self._opt_called = True
            return step(self, *args, **kwargs)
        cls.step = marked_step

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        self._scratch = {}
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Tensors or dicts, but got "
                            "a single Tensor; pass [tensor] or model.parameters()")
        if isinstance(params, dict):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            self.add_param_group({"params": params})     # raises the ordering error
        groups = list(params)
        if len(groups) == 0:
            raise ArgumentError(f"{name}: optimizer got an empty parameter list; pass "
                                "model.parameters() of a model that has parameters")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {group[k]}" for k in sorted(group) if k != "params")
        return "\n".join(lines + [")"])

    def add_param_group(self, param_group):
        """Add a group of parameters with its own options (e.g. a new layer being unfrozen).

        Args:
            param_group (dict): ``"params"`` (a Tensor or a list of Tensors) and any options;
                missing options take the optimizer's defaults.

        Example:
            >>> import tapegrad as tg
            >>> opt = tg.optim.SGD([tg.nn.Parameter(tg.ones(1))], lr=0.1)
            >>> opt.add_param_group({"params": tg.nn.Parameter(tg.ones(2)), "lr": 0.01})
            >>> [g["lr"] for g in opt.param_groups]
            [0.1, 0.01]
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a param group must be a dict, got "
                            f"{type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: optimizer parameters need to be organized in ordered "
                            "collections, but the ordering of tensors in sets will change "
                            "between runs. Please use a list instead.")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: optimizer can only optimize Tensors, but one of the "
                                f"params is {type(p).__name__}")
            if not p.is_leaf:
                raise ArgumentError(f"{name}: can't optimize a non-leaf Tensor (made by "
                                    f"{p.grad_fn.name()}); optimize the leaf it came from, or "
                                    "use t.detach().requires_grad_()")
        group = dict(param_group)
        group["params"] = params
        if isinstance(group.get("lr"), Tensor):
            # NOTE: a 1-element Tensor lr (PyTorch allows one) is kept as a float: the
            # updates are NumPy arithmetic and schedulers do float maths on group["lr"]
            group["lr"] = float(group["lr"].item())
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ArgumentError(f"{name}: parameter group didn't specify a value of required "
                                    f"optimization parameter {key}")
            group.setdefault(key, default)
        if len({id(p) for p in params}) != len(params):
            warnings.warn(f"{name}: optimizer contains a parameter group with duplicate "
                          "parameters; in future, this will cause an error", stacklevel=3)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ArgumentError(f"{name}: some parameters appear in more than one parameter "
                                "group; give each parameter to one group only")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all optimized parameters.

        Args:
            set_to_none (bool): drop the grads (``p.grad = None``, the default: no memory
                kept, and the optimizer then skips the parameter) instead of filling them
                with zeros.

        Example:
            >>> import tapegrad as tg
            >>> w = tg.nn.Parameter(tg.ones(2)); (w * 3).sum().backward()
            >>> opt = tg.optim.SGD([w], lr=0.1); opt.zero_grad(); w.grad is None
            True
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    g._data[...] = 0
                    g._bump()

    def step(self, closure=None):
        """Update the parameters once; subclasses implement it (see the class example)."""
        raise NotImplementedError(f"{type(self).__name__}.step: a subclass of Optimizer must "
                                  "define step(closure=None)")

    # ---- helpers for the built-in optimizers ------------------------------------------
    def _step(self, closure):
        """Evaluate ``closure`` under enable_grad (its loss is returned), then update each
        group with ``self._update(group)``."""
        self._opt_called = True
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update(group)
        return loss

    def _with_grads(self, group, with_state=True):
        """(param, grad array, state) for each parameter of ``group`` that has a grad; state
        is None when ``with_state`` is false (no empty entry made, as PyTorch's plain SGD)."""
        state = self.state
        for p in group["params"]:
            g = p._grad
            if g is None:
                continue
            g = g._data
            if g.dtype.kind == "c":
                raise DTypeError(
                    f"{type(self).__name__}: parameter of shape {tuple(p.shape)} has a complex "
                    f"grad ({g.dtype}); tapegrad's optimizers handle real parameters only: "
                    "optimize the real and imaginary parts as two real parameters")
            yield p, g, state[p] if with_state else None

    def _buffers(self, p, n):
        """``n`` scratch arrays shaped like ``p`` (Note [In-place updates])."""
        bufs = self._scratch.get(p)
        if bufs is None or len(bufs) < n or bufs[0].shape != p._data.shape \
                or bufs[0].dtype != p._data.dtype:
            bufs = self._scratch[p] = [np.empty_like(p._data) for _ in range(n)]
        return bufs

    @classmethod
    def _decayed_grad(cls, p, g, lr, weight_decay, decoupled, maximize, buf):
        """:meth:`_effective_grad`, or with ``decoupled`` (AdamW's way) the weight decay
        applied to the parameter instead, ``p *= 1 - lr * weight_decay``, and ``±g`` used."""
        if decoupled:
            if weight_decay != 0:
                p._data *= 1 - lr * weight_decay
            weight_decay = 0
        return cls._effective_grad(p, g, weight_decay, maximize, buf)

    @staticmethod
    def _effective_grad(p, g, weight_decay, maximize, buf):
        """The gradient the rule uses: ``±g + weight_decay * p``, written into ``buf`` only
        when it differs from ``g`` (the common case allocates and copies nothing)."""
        if weight_decay != 0:
            np.multiply(p._data, weight_decay, out=buf)
            if maximize:
                np.subtract(buf, g, out=buf)
            else:
                np.add(buf, g, out=buf)
            return buf
        if maximize:
            return np.negative(g, out=buf)
        return g

    # ---- state dicts ----------------------------------------------------------------------
    def state_dict(self):
        """The optimizer's state as a dict, in PyTorch's layout.

        ``"state"`` maps each parameter's index (counting through the groups in order) to its
        buffers; ``"param_groups"`` lists each group's options with ``"params"`` as indices.
        The buffers are the live tensors (as in PyTorch): copy.deepcopy the dict to keep a
        snapshot while training goes on.

        Example:
            >>> import tapegrad as tg
            >>> w = tg.nn.Parameter(tg.ones(2)); opt = tg.optim.Adam([w])
            >>> w.sum().backward(); opt.step(); sd = opt.state_dict()
            >>> sorted(sd["state"][0]), sd["state"][0]["step"], sd["param_groups"][0]["params"]
            (['exp_avg', 'exp_avg_sq', 'step'], tensor(1.), [0])
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a state saved by :meth:`state_dict` (of this or an identically built optimizer).

        Groups must match in number and size. Buffers are copied and cast to their parameter's
        dtype (``step`` stays as saved); group options, including lr, are taken from the dict.

        Args:
            state_dict (dict): ``{"state": ..., "param_groups": ...}``; state keys may be ints
                or their strings (as after a JSON round trip).

        Example:
            >>> import copy, tapegrad as tg
            >>> w = tg.nn.Parameter(tg.ones(2)); opt = tg.optim.SGD([w], lr=0.1, momentum=0.9)
            >>> w.sum().backward(); opt.step(); sd = copy.deepcopy(opt.state_dict())
            >>> opt2 = tg.optim.SGD([w], lr=0.5); opt2.load_state_dict(sd)
            >>> opt2.param_groups[0]["lr"], opt2.state[w]["momentum_buffer"]
            (0.1, tensor([1., 1.]))
        """
        name = type(self).__name__
        saved_groups = copy.deepcopy(list(state_dict["param_groups"]))
        if len(saved_groups) != len(self.param_groups):
            raise ArgumentError(f"{name}.load_state_dict: loaded state dict has a different number "
                                f"of parameter groups ({len(saved_groups)}) than the optimizer "
                                f"({len(self.param_groups)}); build the optimizer as when saving")
        for i, (mine, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(mine["params"]) != len(saved["params"]):
                raise ArgumentError(
                    f"{name}.load_state_dict: loaded state dict contains a parameter group "
                    f"that doesn't match the size of optimizer's group: group {i} has "
                    f"{len(saved['params'])} parameters saved and {len(mine['params'])} here")
        by_index = {}
        for mine, saved in zip(self.param_groups, saved_groups):
            for p, k in zip(mine["params"], saved["params"]):
                by_index[int(k)] = p
        state = defaultdict(dict)
        for k, values in state_dict["state"].items():
            p = by_index.get(int(k))
            if p is None:
                state[k] = copy.deepcopy(values)
                continue
            state[p] = {key: _cast_state(p, key, v) for key, v in values.items()}
        self.state = state
        self._scratch = {}
        self.param_groups = [dict(saved, params=mine["params"])
                             for mine, saved in zip(self.param_groups, saved_groups)]


def _cast_state(p, key, value):
    """A copy of one saved buffer: tensors (or arrays) as Tensors, in the parameter's dtype
    except ``step``, which keeps its own (float32 like PyTorch's)."""
    if isinstance(value, Tensor):
        value = value._data
    elif not isinstance(value, np.ndarray):
        if hasattr(value, "detach") and hasattr(value, "numpy"):   # e.g. a torch.Tensor
            value = value.detach().cpu().numpy()
        else:
            return copy.deepcopy(value)
    if key == "step" or value.dtype.kind != "f":
        return wrap(np.array(value))
    return wrap(np.array(value, dtype=p._data.dtype))
