"""Module: the base class of every layer and model, as PyTorch's ``torch.nn.Module``.

A Module owns three ordered tables, filled by attribute assignment: ``_parameters``
(Parameters), ``_buffers`` (other state such as running statistics) and ``_modules``
(submodules). Names, iteration order and ``state_dict`` keys follow PyTorch's, so a state dict
moves between the two libraries unchanged.
"""
import itertools
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from ..._core import dtypes
from ..._core.device import device as Device
from ..._core.errors import ArgumentError, DTypeError, NotSupportedError
from ..._core.tensor import Tensor, wrap
from ...autograd.grad_mode import no_grad, is_grad_enabled
from ..parameter import Buffer, Parameter
from .backward_hooks import _BackwardHooks

__all__ = ["Module", "RemovableHandle"]

_handle_ids = itertools.count()


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``remove()`` unregisters the hook.

    Also a context manager that removes the hook on exit.
    """
    __slots__ = ("id", "_tables")

    def __init__(self, *tables):
        self.id = next(_handle_ids)
        self._tables = tables

    def remove(self):
        for table in self._tables:
            table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it missed and the keys it did not use."""
    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _check_name(owner, kind, name):
    """The name rules of register_parameter/register_buffer/add_module."""
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')


def _indent(text, spaces):
    """Indent every line of ``text`` but the first (a child's repr inside its parent's)."""
    first, *rest = text.split("\n")
    pad = " " * spaces
    return "\n".join([first] + [pad + line for line in rest])


class Module:
    """Base class for layers and models: subclass it, assign layers and Parameters as
    attributes in ``__init__``, and write ``forward``.

    Example:
        >>> import tapegrad as tg
        >>> class Net(tg.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.scale = tg.nn.Parameter(tg.ones(2))
        ...     def forward(self, x):
        ...         return x * self.scale
        >>> net = Net(); net(tg.tensor([1.0, 2.0]))
        tensor([1., 2.], grad_fn=<MulBackward0>)
        >>> [name for name, _ in net.named_parameters()]
        ['scale']
    """
    training = True     # the class default, for subclasses that skip super().__init__()
    call_super_init = False
    _version = 1

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments "
                            f"{args or ''}{kwargs or ''}: Module.__init__ takes none")
        # NOTE: written through __dict__, bypassing our __setattr__ (which reads these tables).
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = {}
        d["_forward_pre_hooks"] = {}
        d["_forward_pre_hooks_with_kwargs"] = set()
        d["_forward_hooks"] = {}
        d["_forward_hooks_with_kwargs"] = set()
        d["_forward_hooks_always_called"] = set()
        d["_backward_pre_hooks"] = {}
        d["_backward_hooks"] = {}

    def forward(self, *args, **kwargs):
        """The computation of the module; every subclass defines it."""
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function')

    # ---- calling ---------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        # NOTE: the common case (no hooks) is one truth test per table and a direct call: the
        # per-call overhead is what a Sequential of small layers pays per layer.
        if (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                or self._backward_pre_hooks):
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args, kwargs):
        for hid, hook in list(self._forward_pre_hooks.items()):
            if hid in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise TypeError(
                            f"{self._get_name()}: a forward pre-hook registered with "
                            f"with_kwargs=True must return None or (args, kwargs), got "
                            f"{type(result).__name__}")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        tracker = None
        if (self._backward_hooks or self._backward_pre_hooks) and is_grad_enabled():
            tracker = _BackwardHooks(self)
            args = tracker.wrap_inputs(args)
        try:
            output = self.forward(*args, **kwargs)
        except BaseException:
            for hid, hook in list(self._forward_hooks.items()):
                if hid in self._forward_hooks_always_called:
                    self._run_forward_hook(hid, hook, args, kwargs, None)
            raise
        for hid, hook in list(self._forward_hooks.items()):
            result = self._run_forward_hook(hid, hook, args, kwargs, output)
            if result is not None:
                output = result
        if tracker is not None:
            output = tracker.wrap_outputs(output)
        return output

    def _run_forward_hook(self, hid, hook, args, kwargs, output):
        if hid in self._forward_hooks_with_kwargs:
            return hook(self, args, kwargs, output)
        return hook(self, args, output)

    # ---- hooks -----------------------------------------------------------------------------
    def _add_hook(self, table, hook, prepend, *flag_sets):
        handle = RemovableHandle(table, *[_SetView(s) for s in flag_sets])
        table[handle.id] = hook
        if prepend:
            table_items = list(table.items())
            table.clear()
            table[handle.id] = hook
            table.update((k, v) for k, v in table_items if k != handle.id)
        for s in flag_sets:
            s.add(handle.id)
        return handle

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args)`` before each forward (``hook(module, args, kwargs)`` with
        ``with_kwargs=True``); a non-None result replaces the arguments.

        Returns:
            A :class:`RemovableHandle`.
        """
        flags = (self._forward_pre_hooks_with_kwargs,) if with_kwargs else ()
        return self._add_hook(self._forward_pre_hooks, hook, prepend, *flags)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        """Call ``hook(module, args, output)`` after each forward (``hook(module, args, kwargs,
        output)`` with ``with_kwargs=True``); a non-None result replaces the output.
        ``always_call=True`` runs it even when forward raises (with output None).

        Returns:
            A :class:`RemovableHandle`.

        Example:
            >>> import tapegrad as tg
            >>> m = tg.nn.Module(); m.forward = lambda x: x + 1; seen = []
            >>> h = m.register_forward_hook(lambda mod, args, out: seen.append(out.item()))
            >>> _ = m(tg.tensor(1.0)); h.remove(); _ = m(tg.tensor(5.0)); seen
            [2.0]
        """
        flags = []
        if with_kwargs:
            flags.append(self._forward_hooks_with_kwargs)
        if always_call:
            flags.append(self._forward_hooks_always_called)
        return self._add_hook(self._forward_hooks, hook, prepend, *flags)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_output)`` when the gradients of the module's outputs are
        known (one entry per output, None where there is none); a non-None result, a tuple
        of the same length, replaces them.

        Returns:
            A :class:`RemovableHandle`.
        """
        return self._add_hook(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_input, grad_output)`` when the gradients of the module's
        tensor inputs are computed; a non-None result replaces grad_input.

        ``grad_input`` has one entry per positional argument (keyword arguments are not
        seen): None for a non-Tensor, zeros for a tensor that got no gradient or does not
        require grad (when another one does); with no input requiring grad the hook runs
        after the pre-hooks with grad_input all None. ``grad_output`` has one entry per
        output (None for a non-Tensor or an output no gradient reached). A hook may return
        a tuple of the same length to replace grad_input.

        Returns:
            A :class:`RemovableHandle`.

        Example:
            >>> import tapegrad as tg
            >>> lin = tg.nn.Linear(2, 1); seen = []
            >>> h = lin.register_full_backward_hook(
            ...     lambda m, gin, gout: seen.append((gin[0].shape, gout[0].shape)))
            >>> lin(tg.ones(3, 2, requires_grad=True)).sum().backward(); seen
            [(tapegrad.Size([3, 2]), tapegrad.Size([3, 1]))]
        """
        return self._add_hook(self._backward_hooks, hook, prepend)

    # ---- registration ----------------------------------------------------------------------
    def register_parameter(self, name, param):
        """Add ``param`` (a Parameter, or None for an absent one) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name(self, "parameter", name)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (tapegrad.nn.Parameter or None required)")
        if param is not None and param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must "
                f"be created explicitly. To express '{name}' as a function of another Tensor, "
                "compute the value in the forward() method.")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a buffer (state that is not a parameter, e.g. running statistics) under
        ``name``; ``persistent=False`` leaves it out of ``state_dict()``.

        Example:
            >>> import tapegrad as tg
            >>> m = tg.nn.Module(); m.register_buffer("count", tg.zeros(1), persistent=False)
            >>> m.count, list(m.state_dict())
            (tensor([0.]), [])
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name(self, "buffer", name)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer "
                            f"'{name}' (Tensor or None required)")
        if isinstance(tensor, (Buffer, Parameter)):
            tensor = _plain(tensor)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Add a child module under ``name`` (None keeps the name with no module)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name(self, "module", name)
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter "
                                f"'{name}' (tapegrad.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name)
            self._modules[name] = value
        elif d.get("_modules") is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (Module or None expected)")
            d["_modules"][name] = None
        elif isinstance(value, Buffer):
            if params is None:
                raise AttributeError("cannot assign buffer before Module.__init__() call")
            self._forget(name)
            self.register_buffer(name, value, value.persistent)
        elif d.get("_buffers") is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(Tensor or None expected)")
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        """Drop ``name`` from every table and the instance dict (before it is re-registered)."""
        d = self.__dict__
        d.pop(name, None)
        for table in ("_parameters", "_buffers", "_modules"):
            d[table].pop(name, None)
        d["_non_persistent_buffers_set"].discard(name)

    def __getattr__(self, name):
        # Only reached when normal lookup fails: parameters, buffers and submodules.
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            entries = d.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if name in d.get(table, ()):
                del d[table][name]
                d["_non_persistent_buffers_set"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        own = list(self._parameters) + list(self._buffers) + list(self._modules)
        return sorted(set(object.__dir__(self)) | set(own))

    def __setstate__(self, state):
        self.__dict__.update(state)

    # ---- lookup ----------------------------------------------------------------------------
    def get_submodule(self, target):
        """The submodule at dotted path ``target`` ("" is the module itself).

        Example:
            >>> import tapegrad as tg
            >>> net = tg.nn.Sequential(tg.nn.Sequential(tg.nn.Linear(2, 2)))
            >>> net.get_submodule("0.0")
            Linear(in_features=2, out_features=2, bias=True)
        """
        if target == "":
            return self
        module = self
        for item in target.split("."):
            if not hasattr(module, item):
                raise AttributeError(f"{module._get_name()} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return module

    def _get_member(self, target, kind, table):
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if not hasattr(module, name):
            raise AttributeError(f"{module._get_name()} has no attribute `{name}`")
        if name not in getattr(module, table):
            raise AttributeError(f"`{name}` is not {kind}")
        return getattr(module, name)

    def get_parameter(self, target):
        """The parameter at dotted path ``target``, e.g. ``"0.weight"``."""
        return self._get_member(target, "an nn.Parameter", "_parameters")

    def get_buffer(self, target):
        """The buffer at dotted path ``target``, e.g. ``"bn.running_mean"``."""
        return self._get_member(target, "a buffer", "_buffers")

    # ---- iteration -------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for this module and every descendant, depth first; a module
        reachable twice is listed once unless ``remove_duplicate=False``."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            yield from module.named_modules(memo, prefix + ("." if prefix else "") + name,
                                            remove_duplicate)

    def modules(self):
        """Every module in the tree, this one first."""
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """(name, module) for the direct children (each module once)."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        """The direct child modules."""
        for _, module in self.named_children():
            yield module

    def _named_members(self, table, prefix, recurse, remove_duplicate):
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for module_prefix, module in modules:
            for name, value in getattr(module, table).items():
                if value is None or id(value) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, parameter) in registration order, depth first; a parameter shared
        by several modules is listed once (under its first name).

        Example:
            >>> import tapegrad as tg
            >>> [n for n, _ in tg.nn.Sequential(tg.nn.Linear(2, 3)).named_parameters()]
            ['0.weight', '0.bias']
        """
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """The parameters of this module (and its descendants unless ``recurse=False``)."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, buffer), in the order of :meth:`named_parameters`."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        """The buffers of this module (and its descendants unless ``recurse=False``)."""
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    # ---- modes and gradients ---------------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (dropout active, batch norm updating its statistics) on this
        module and every descendant; returns the module."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` on every parameter (freeze with False); returns the module."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset every parameter's gradient: to None (default) or to zeros in place."""
        for param in self.parameters():
            grad = param.grad
            if grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                if grad.grad_fn is not None:
                    grad = param._grad = grad.detach()
                grad._data[...] = 0

    def apply(self, fn):
        """Call ``fn(module)`` on every descendant, then on this module (e.g. custom
        initialisation); returns the module."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- conversion ------------------------------------------------------------------------
    def _apply(self, fn):
        """Replace every parameter's and buffer's array by ``fn(array)``. Parameters keep
        their identity (optimizers holding them stay valid), as in PyTorch."""
        for module in self.modules():
            for param in module._parameters.values():
                if param is None:
                    continue
                param.data = fn(param._data)      # the setter updates its gradient node
                if param._grad is not None:
                    param._grad._data = fn(param._grad._data)
            for name, buf in module._buffers.items():
                if buf is not None:
                    new = fn(buf._data)
                    if new is not buf._data:
                        module._buffers[name] = wrap(new)
        return self

    def _cast_floating(self, dtype):
        np_dtype = dtypes.to_numpy_dtype(dtype)
        return self._apply(lambda a: a.astype(np_dtype) if a.dtype.kind == "f"
                           and a.dtype != np_dtype else a)

    def to(self, *args, **kwargs):
        """Cast floating parameters and buffers to a dtype: ``to(dtype)``, ``to(tensor)``,
        ``to(device, dtype)``; tapegrad has only the CPU device. Returns the module."""
        dtype = kwargs.pop("dtype", None)
        dev = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in list(args) + [dev]:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, (str, Device)):
                Device(a)            # refuses anything but the CPU with a clear error
            elif a is not None and not isinstance(a, bool):
                dtype = a
        if dtype is None:
            return self
        if dtypes.to_numpy_dtype(dtype).kind != "f":
            raise DTypeError(f"nn.Module.to only accepts floating point dtypes, but got "
                             f"desired dtype={dtype}")
        return self._cast_floating(dtype)

    def float(self):
        """Cast floating parameters and buffers to float32."""
        return self._cast_floating(np.dtype(np.float32))

    def double(self):
        """Cast floating parameters and buffers to float64."""
        return self._cast_floating(np.dtype(np.float64))

    def half(self):
        """Cast floating parameters and buffers to float16."""
        return self._cast_floating(np.dtype(np.float16))

    def type(self, dst_type):
        """Cast every parameter and buffer (integer ones too) to ``dst_type``."""
        np_dtype = dtypes.to_numpy_dtype(dst_type)
        return self._apply(lambda a: a.astype(np_dtype) if a.dtype != np_dtype else a)

    def cpu(self):
        """The module itself: tapegrad computes on the CPU."""
        return self

    def cuda(self, device=None):
        raise NotSupportedError("cuda: tapegrad runs on the CPU only; drop the .cuda() call "
                                "or use .to('cpu')")

    # ---- state dict ------------------------------------------------------------------------
    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers by dotted name, detached (unless ``keep_vars``),
        in PyTorch's key order: each module's parameters, then its buffers, then children.

        Example:
            >>> import tapegrad as tg
            >>> list(tg.nn.BatchNorm1d(2).state_dict())
            ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
        """
        if args:                    # PyTorch's old positional form
            destination, prefix, keep_vars = (list(args) + [destination, prefix, keep_vars][
                len(args):])[:3]
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        return destination

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        """This module's own entries (subclasses with extra state override it)."""
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if keep_vars else buf.detach()

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy parameters and buffers from ``state_dict`` (Tensors or NumPy arrays) into this
        module, in place (or assigned as new Parameters with ``assign=True``).

        Returns:
            ``(missing_keys, unexpected_keys)``. With ``strict=True`` either being non-empty
            raises; a wrong shape always raises, naming the key and both shapes.

        Example:
            >>> import tapegrad as tg
            >>> a, b = tg.nn.Linear(2, 2), tg.nn.Linear(2, 2)
            >>> b.load_state_dict(a.state_dict())
            <All keys matched successfully>
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing, unexpected, errors = [], [], []
        metadata = getattr(state_dict, "_metadata", None) or {}
        stack = [(self, "")]
        while stack:
            module, prefix = stack.pop()
            local_metadata = {**metadata.get(prefix[:-1], {}),
                              "assign_to_params_buffers": assign}
            # NOTE: strict=True here whatever the caller's strict: the keys are gathered either
            # way (PyTorch returns them from a non-strict load too); ``strict`` decides below
            # whether they are an error.
            module._load_from_state_dict(state_dict, prefix, local_metadata, True, missing,
                                         unexpected, errors)
            children = [(child, prefix + name + ".") for name, child in module._modules.items()
                        if child is not None]
            stack.extend(reversed(children))
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise ArgumentError(f"Error(s) in loading state_dict for {self._get_name()}:\n\t"
                                + "\n\t".join(errors))
        return _IncompatibleKeys(missing, unexpected)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        """Load this module's own entries (subclasses with extra state override it)."""
        assign = local_metadata.get("assign_to_params_buffers", False)
        local = {name: p for name, p in self._parameters.items() if p is not None}
        local.update((name, b) for name, b in self._buffers.items()
                     if b is not None and name not in self._non_persistent_buffers_set)
        for name, current in local.items():
            key = prefix + name
            if key not in state_dict:
                missing_keys.append(key)
                continue
            value = state_dict[key]
            if not isinstance(value, (Tensor, np.ndarray)):
                error_msgs.append(f'While copying the parameter named "{key}", expected a '
                                  f"Tensor or NumPy array from the checkpoint but received "
                                  f"{type(value)}")
                continue
            arr = value._data if isinstance(value, Tensor) else value
            if arr.shape != current._data.shape:
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape "
                    f"{tuple(arr.shape)} from checkpoint, the shape in current model is "
                    f"{tuple(current._data.shape)}.")
                continue
            if assign:
                new = wrap(np.array(arr, copy=True)) if isinstance(value, np.ndarray) else value
                if name in self._parameters:
                    new = Parameter(new.detach(), current.requires_grad)
                    self._parameters[name] = new
                else:
                    self._buffers[name] = new
            else:
                with no_grad():
                    current.copy_(value if isinstance(value, Tensor) else wrap(arr))
        if strict:
            for key in state_dict:
                if not key.startswith(prefix):
                    continue
                head = key[len(prefix):].split(".", 1)[0]
                if head not in self._modules and key[len(prefix):] not in local:
                    unexpected_keys.append(key)

    # ---- printing --------------------------------------------------------------------------
    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        """The text inside this module's ``repr`` parentheses (layers list their arguments)."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): {_indent(repr(module), 2)}"
                       for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        if not lines:
            return self._get_name() + "()"
        if len(extra_lines) == 1 and not child_lines:
            return f"{self._get_name()}({extra_lines[0]})"
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class _SetView:
    """Lets a RemovableHandle drop its id from a set the way it pops it from a dict."""
    __slots__ = ("items",)

    def __init__(self, items):
        self.items = items

    def pop(self, key, default=None):
        self.items.discard(key)


def _plain(t):
    """A plain Tensor sharing ``t``'s storage and version counter (how a Buffer is stored)."""
    out = wrap(t._data)
    out._vc = t._counter()
    return out
