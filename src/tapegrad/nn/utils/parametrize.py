"""Parametrizations: a module's tensor computed from other tensors on each access, as PyTorch's
torch.nn.utils.parametrize.

Note [How a parametrized tensor is stored]
``register_parametrization(m, "weight", p)`` moves the parameter ``m.weight`` to
``m.parametrizations.weight.original`` (a :class:`ParametrizationList`, which holds ``p`` as its
child "0"), gives ``m`` a class of its own (``ParametrizedLinear`` for a ``Linear``: a subclass)
with a ``weight`` property, and from then on ``m.weight`` is ``p(original)``, recorded, so
gradients reach ``original``. Assigning ``m.weight = value`` calls ``p.right_inverse(value)``
and stores the result in ``original``. When ``right_inverse`` returns several tensors they
are stored as ``original0``, ``original1``, ...; state dict keys follow PyTorch's
(``parametrizations.weight.original``).
"""
import collections.abc
import copy
import threading
from contextlib import contextmanager

from ..._core.tensor import Tensor
from ...autograd.grad_mode import no_grad
from ..modules.container import ModuleDict, ModuleList
from ..modules.module import Module
from ..parameter import Parameter

__all__ = ["cached", "ParametrizationList", "register_parametrization", "is_parametrized",
           "remove_parametrizations", "type_before_parametrizations",
           "transfer_parametrizations_and_params"]


class _CacheState(threading.local):
    # NOTE: per thread, like the grad modes: one thread's cached() does not freeze the
    # parametrized tensors another thread computes.
    depth = 0
    values = None


_CACHE = _CacheState()


@contextmanager
def cached():
    """Within this context each parametrized tensor is computed once, on first access.

    Useful when a parametrized weight is read several times in one forward (a recurrent
    layer's weight at every time step): the parametrization and its recorded graph are
    shared instead of rebuilt per access. Contexts nest; the cache is dropped when the
    outermost one exits.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils import parametrize
        >>> class Double(tg.nn.Module):
        ...     def forward(self, x):
        ...         return 2 * x
        >>> m = tg.nn.Module(); m.weight = tg.nn.Parameter(tg.ones(2))
        >>> m = parametrize.register_parametrization(m, "weight", Double())
        >>> with parametrize.cached():
        ...     m.weight is m.weight
        True
        >>> m.weight is m.weight
        False
    """
    if _CACHE.depth == 0:
        _CACHE.values = {}
    _CACHE.depth += 1
    try:
        yield
    finally:
        _CACHE.depth -= 1
        if _CACHE.depth == 0:
            _CACHE.values = None


def _register_parameter_or_buffer(module, name, value):
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def _set_storage(dest, src):
    """Make ``dest`` hold ``src``'s values (and shape) in place, keeping the object: what
    PyTorch's ``set_`` does, so optimizers holding ``dest`` stay valid."""
    if src is dest:
        return
    dest._data = src._data
    dest._bump()


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and the tensor(s) they start
    from: ``original``, or ``original0``, ``original1``, ... when the first parametrization's
    ``right_inverse`` returns several tensors.

    Made by :func:`register_parametrization`; not meant to be built directly.

    Args:
        modules: the parametrizations (at least one).
        original: the parameter or buffer being parametrized. Its object is kept as
            ``original`` (with the value of ``right_inverse(original)``), so optimizers
            holding it stay valid.
        unsafe: skip the checks that the parametrization keeps the dtype and shape.
    """

    def __init__(self, modules, original, unsafe=False):
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        shape, dtype = original.shape, original.dtype
        new = original
        with no_grad():
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        if not isinstance(new, (Tensor, collections.abc.Sequence)):
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors "
                             f"(list, tuple...). Got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if new.dtype != dtype:
                raise ValueError("When `right_inverse` outputs one tensor, it may not change "
                                 f"the dtype.\noriginal.dtype: {dtype}\n"
                                 f"right_inverse(original).dtype: {new.dtype}")
            _set_storage(original, new)
            _register_parameter_or_buffer(self, "original", original)
        else:
            for i, part in enumerate(new):
                if not isinstance(part, Tensor):
                    raise ValueError("'right_inverse' must return a Tensor or a Sequence of "
                                     f"tensors (list, tuple...). Got element {i} of the "
                                     f"sequence with type {type(part).__name__}.")
                if isinstance(original, Parameter):
                    part = Parameter(part, original.requires_grad)
                else:
                    part = part.detach()
                _register_parameter_or_buffer(self, f"original{i}", part)
        if not self.unsafe:
            z = self()
            if not isinstance(z, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got "
                                 f"{type(z).__name__}.")
            if z.dtype != dtype:
                raise ValueError("Registering a parametrization may not change the dtype of "
                                 "the tensor, unless `unsafe` flag is enabled.\n"
                                 f"unparametrized dtype: {dtype}\nparametrized dtype: {z.dtype}")
            if z.shape != shape:
                raise ValueError("Registering a parametrization may not change the shape of "
                                 "the tensor, unless `unsafe` flag is enabled.\n"
                                 f"unparametrized shape: {shape}\nparametrized shape: {z.shape}")

    def right_inverse(self, value):
        """Store ``value`` as the parametrized tensor: run every parametrization's
        ``right_inverse`` (last first) and write the result into the original(s), in place."""
        with no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not "
                                       "implement right_inverse.")
                value = module.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got "
                                     f"{type(value).__name__}")
                if value.dtype != self.original.dtype:
                    raise ValueError(f"The tensor returned by `right_inverse` has dtype "
                                     f"{value.dtype} while `original` has dtype "
                                     f"{self.original.dtype}")
                _set_storage(self.original, value)
                return
            if not isinstance(value, collections.abc.Sequence):
                raise ValueError("'right_inverse' must return a sequence of tensors. Got "
                                 f"{type(value).__name__}.")
            if len(value) != self.ntensors:
                raise ValueError("'right_inverse' must return a sequence of tensors of length "
                                 f"{self.ntensors}. Got a sequence of length {len(value)}.")
            for i, part in enumerate(value):
                original = getattr(self, f"original{i}")
                if not isinstance(part, Tensor):
                    raise ValueError("'right_inverse' must return a sequence of tensors. Got "
                                     f"element {i} of type {type(part).__name__}.")
                if part.dtype != original.dtype:
                    raise ValueError(f"Tensor {i} returned by `right_inverse` has dtype "
                                     f"{part.dtype} while `original{i}` has dtype "
                                     f"{original.dtype}")
                _set_storage(original, part)

    def __repr__(self):
        # NOTE: ModuleList's repr names itself "ModuleList"; PyTorch shows the subclass.
        text = super().__repr__()
        return self._get_name() + text[text.index("("):]

    def forward(self):
        """The parametrized tensor: the parametrizations applied to the original(s)."""
        modules = list(self)
        if self.is_tensor:
            x = modules[0](self.original)
        else:
            x = modules[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in modules[1:]:
            x = module(x)
        return x


def _parametrized_property(tensor_name):
    def get(self):
        parametrization = self.parametrizations[tensor_name]
        if _CACHE.depth:
            key = (id(self), tensor_name)
            value = _CACHE.values.get(key)
            if value is None:
                value = _CACHE.values[key] = parametrization()
            return value
        return parametrization()

    def set(self, value):
        self.parametrizations[tensor_name].right_inverse(value)

    return property(get, set, doc=f"``{tensor_name}``, computed by its parametrizations.")


def _getstate(self):
    raise RuntimeError("Serialization of parametrized modules is only supported through "
                       "state_dict(): save module.state_dict() and load it into a module "
                       "parametrized the same way.")


def _deepcopy(self, memo):
    """A copy with its own parametrized class (its own properties), so removing a
    parametrization from one copy leaves the other intact."""
    done = memo.get(id(self))
    if done is not None:
        return done
    cls = type(self)
    base = cls.__bases__[0]
    own = {k: v for k, v in cls.__dict__.items() if isinstance(v, property)}
    replica = object.__new__(_parametrized_class(base, own))
    memo[id(self)] = replica
    replica.__dict__ = copy.deepcopy(self.__dict__, memo)
    return replica


def _parametrized_class(base, properties=None):
    body = {"__getstate__": _getstate, **(properties or {})}
    if not hasattr(base, "__deepcopy__"):
        body["__deepcopy__"] = _deepcopy
    return type(f"Parametrized{base.__name__}", (base,), body)


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make ``module.<tensor_name>`` be computed by ``parametrization`` on each access.

    The parameter (or buffer) moves to ``module.parametrizations.<tensor_name>.original``, and
    reading ``module.<tensor_name>`` returns ``parametrization(original)``, recorded, so
    gradients reach ``original`` (Note [How a parametrized tensor is stored]). If
    ``parametrization`` has ``right_inverse(value)``, it maps the current value to the
    original at registration, and assigning ``module.<tensor_name> = value`` uses it too.
    Registering on an already parametrized name appends: the parametrizations compose, first
    registered applied first.

    Args:
        module: the module owning the tensor.
        tensor_name: the name of a parameter, buffer or parametrized tensor of ``module``.
        parametrization: a Module whose forward maps the original(s) to the tensor.
        unsafe: allow a parametrization that changes the tensor's shape or dtype.

    Returns:
        ``module``.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils import parametrize
        >>> class Symmetric(tg.nn.Module):
        ...     def forward(self, x):
        ...         return x.triu() + x.triu(1).mT
        >>> m = tg.nn.Module(); m.weight = tg.nn.Parameter(tg.randn(3, 3))
        >>> m = parametrize.register_parametrization(m, "weight", Symmetric())
        >>> bool((m.weight == m.weight.T).all()), list(m.state_dict())
        (True, ['parametrizations.weight.original'])
    """
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            y = getattr(module, tensor_name)
            x = parametrization(y)
            _check_same(x, y, tensor_name, f"parametrization(module.{tensor_name}).",
                        "A parametrization must return a tensor", "Registering a "
                        "parametrization may not change the {} of the tensor, unless the "
                        "`unsafe` flag is enabled")
            if hasattr(parametrization, "right_inverse"):
                try:
                    z = parametrization.right_inverse(x)
                except NotImplementedError:
                    pass
                else:
                    _check_same(z, y, tensor_name, "returned ", "parametrization.right_inverse "
                                "must return a tensor", "The tensor returned by "
                                "parametrization.right_inverse must have the same {} as "
                                f"module.{tensor_name}, unless the `unsafe` flag is enabled")
        plist = module.parametrizations[tensor_name]
        plist.append(parametrization)
        plist.unsafe |= unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        plist = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            module.__class__ = _parametrized_class(type(module))
            module.parametrizations = ModuleDict()
        if hasattr(module, tensor_name):
            raise ValueError(f"register_parametrization: {type(module).__name__} already has "
                             f"an attribute named '{tensor_name}' besides the tensor")
        setattr(type(module), tensor_name, _parametrized_property(tensor_name))
        module.parametrizations[tensor_name] = plist
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a "
                         f"parametrized element with name '{tensor_name}'")
    return module


def _check_same(x, y, tensor_name, label, not_tensor, mismatch):
    if not isinstance(x, Tensor):
        raise ValueError(f"{not_tensor}. Got {type(x).__name__}.")
    for what in ("dtype", "shape"):
        a, b = getattr(y, what), getattr(x, what)
        if a != b:
            raise ValueError(f"{mismatch.format(what)}.\nmodule.{tensor_name}.{what}: {a}\n"
                             f"{label}{what}: {b}")


def is_parametrized(module, tensor_name=None):
    """Whether ``module`` has a parametrization (on ``tensor_name``, when given).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils import parametrize
        >>> m = tg.nn.Module(); m.weight = tg.nn.Parameter(tg.ones(2, 2))
        >>> parametrize.is_parametrized(m), parametrize.is_parametrized(m, "weight")
        (False, False)
    """
    parametrizations = module._modules.get("parametrizations")
    if not isinstance(parametrizations, ModuleDict):
        return False
    if tensor_name is None:
        return len(parametrizations) > 0
    return tensor_name in parametrizations


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Undo :func:`register_parametrization` for ``tensor_name``: it becomes a plain parameter
    (or buffer) again.

    Args:
        module: the parametrized module.
        tensor_name: the parametrized tensor's name.
        leave_parametrized: keep the current parametrized value (True), or the original's
            value (False; not possible when there are several originals). Either way the
            original's object is kept when there is one, so optimizers holding it stay valid.

    Returns:
        ``module``, with its original class back once no parametrization is left.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils import parametrize, parametrizations
        >>> m = tg.nn.Module(); m.weight = tg.nn.Parameter(tg.ones(2, 2))
        >>> m = parametrizations.weight_norm(m)
        >>> m = parametrize.remove_parametrizations(m, "weight")
        >>> type(m).__name__, [n for n, _ in m.named_parameters()]
        ('Module', ['weight'])
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                _set_storage(original, getattr(module, tensor_name))
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor "
                             "that is parametrized in terms of a sequence of tensors.")
        t = getattr(module, tensor_name)
        original = Parameter(t.detach()) if t.requires_grad else t.detach()
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        del module.parametrizations
        module.__class__ = type(module).__bases__[0]
    return module


def type_before_parametrizations(module):
    """The module's class before it was parametrized (its class when it is not).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils import parametrize, parametrizations
        >>> m = tg.nn.Module(); m.weight = tg.nn.Parameter(tg.ones(2, 2))
        >>> m = parametrizations.weight_norm(m)
        >>> type(m).__name__, parametrize.type_before_parametrizations(m).__name__
        ('ParametrizedModule', 'Module')
    """
    return type(module).__bases__[0] if is_parametrized(module) else type(module)


def transfer_parametrizations_and_params(from_module, to_module, tensor_name=None):
    """Register ``from_module``'s parametrizations (all, or those of ``tensor_name``) on
    ``to_module`` too, sharing the parametrization modules and the original parameters.

    Where ``to_module`` lacks the tensor, it is first created as a Parameter holding
    ``from_module``'s current parametrized value.

    Returns:
        ``to_module``.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils import parametrize, parametrizations
        >>> a, b = tg.nn.Module(), tg.nn.Module(); a.weight = tg.nn.Parameter(tg.ones(2, 2))
        >>> a = parametrizations.weight_norm(a)
        >>> b = parametrize.transfer_parametrizations_and_params(a, b)
        >>> b.parametrizations.weight.original0 is a.parametrizations.weight.original0
        True
    """
    if not is_parametrized(from_module):
        return to_module
    names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
    for name in names:
        source = from_module.parametrizations[name]
        if not hasattr(to_module, name):
            setattr(to_module, name, Parameter(getattr(from_module, name).detach()))
        for parametrization in source:
            register_parametrization(to_module, name, parametrization)
        target = to_module.parametrizations[name]
        if source.is_tensor:
            target.original = source.original
        else:
            for i in range(source.ntensors):
                setattr(target, f"original{i}", getattr(source, f"original{i}"))
    return to_module
