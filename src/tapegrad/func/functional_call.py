"""Modules as pure functions of their state: ``functional_call`` and ``stack_module_state``.

``functional_call(model, params, x)`` runs ``model`` with its parameters and buffers swapped for
the given tensors for one call, so ``grad``/``jacrev``/``vmap`` can differentiate or batch over
them like any other argument.
"""
from .._core.errors import ArgumentError
from .._core.tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..ops.shape import stack

__all__ = ["functional_call", "stack_module_state"]


def _merge_dicts(dicts):
    if isinstance(dicts, dict):
        return dict(dicts)
    if not isinstance(dicts, (tuple, list)) or not all(isinstance(d, dict) for d in dicts):
        raise TypeError("functional_call: parameter_and_buffer_dicts must be a dict of tensors "
                        f"or a tuple of such dicts, got {type(dicts).__name__}.")
    merged, repeated = {}, []
    for d in dicts:
        for k, v in d.items():
            if k in merged:
                repeated.append(k)
            merged[k] = v
    if repeated:
        raise ArgumentError(f"functional_call: {sorted(set(repeated))} appeared in multiple "
                            "dictionaries; which value to use is ambiguous. Give each key once.")
    return merged


def _slot(module, name):
    """(owning module, attribute) of a dotted name such as 'layers.0.weight'."""
    prefix, _, attr = name.rpartition(".")
    return (module.get_submodule(prefix) if prefix else module), attr


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights=True, strict=False):
    """Call ``module`` with some of its parameters and buffers replaced by the given tensors.

    Args:
        module: the ``nn.Module`` to call.
        parameter_and_buffer_dicts: a dict from dotted names (as in ``named_parameters()`` and
            ``named_buffers()``) to tensors, or a tuple of such dicts (a key may appear in only
            one of them). Names left out keep the module's own tensors.
        args: the positional arguments of the call (a tuple, or a single argument).
        kwargs: its keyword arguments.
        tie_weights: a tensor the module shares under several names (tied weights) is
            replaced under all of them when any one is given; giving two of its names raises
            unless they get the same tensor. With False only the given names are replaced.
        strict: every parameter and buffer must be given, and no other key.

    Returns:
        What ``module(*args, **kwargs)`` returns. The module's own parameters and buffers are
        put back afterwards, also when the call raises; the module is not otherwise changed
        (the replacements are not copied into it). Keys that name no parameter or buffer
        (with ``strict=False``) are set as attributes for the call and removed afterwards.

    Example:
        >>> import tapegrad as tg
        >>> lin = tg.nn.Linear(2, 1)
        >>> new = {"weight": tg.ones(1, 2), "bias": tg.zeros(1)}
        >>> tg.func.functional_call(lin, new, (tg.tensor([[1.0, 2.0]]),))
        tensor([[3.]])
    """
    given = _merge_dicts(parameter_and_buffer_dicts)
    for k, v in given.items():
        if not isinstance(v, Tensor):
            raise TypeError(f"functional_call: the value for {k!r} is a {type(v).__name__}; "
                            "parameters and buffers must be replaced by tensors.")
    names = {}          # dotted name -> "_parameters" or "_buffers"
    groups = {}         # id of the module's tensor -> every name it goes by (tied weights)
    for table, members in (("_parameters", module.named_parameters(remove_duplicate=False)),
                           ("_buffers", module.named_buffers(remove_duplicate=False))):
        for name, t in members:
            names[name] = table
            groups.setdefault(id(t), []).append(name)
    current = {}
    if tie_weights:
        for tied in (g for g in groups.values() if len(g) > 1):
            values = [given[n] for n in tied if n in given]
            if values and any(v is not values[0] for v in values):
                keys = sorted(n for n in tied if n in given)
                raise ArgumentError(
                    f"functional_call: got different values for the keys {keys}, which name "
                    "one tied tensor of the module. Give only one of them, or pass "
                    "tie_weights=False.")
            if values:
                current.update((n, values[0]) for n in tied)
    current.update(given)
    if strict:
        missing = [n for n in names if n not in current]
        unexpected = [k for k in given if k not in names]
        if missing or unexpected:
            msgs = []
            if missing:
                msgs.append("Missing key(s): " + ", ".join(repr(k) for k in missing) + ".")
            if unexpected:
                msgs.append("Unexpected key(s): " + ", ".join(repr(k) for k in unexpected) + ".")
            raise ArgumentError(f"functional_call: error(s) in reparametrizing for "
                                f"{type(module).__name__}:\n\t" + "\n\t".join(msgs))
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    saved, added = [], []
    try:
        for name, value in current.items():
            owner, attr = _slot(module, name)
            table = names.get(name)
            if table is None:
                if hasattr(owner, attr):
                    raise ArgumentError(
                        f"functional_call: {name!r} is neither a parameter nor a buffer of "
                        f"{type(module).__name__} but names an existing attribute; only "
                        "parameters and buffers can be replaced.")
                object.__setattr__(owner, attr, value)
                added.append((owner, attr))
            else:
                entries = owner.__dict__[table]
                saved.append((entries, attr, entries[attr]))
                entries[attr] = value
        return module(*args, **(kwargs or {}))
    finally:
        for entries, attr, old in reversed(saved):
            entries[attr] = old
        for owner, attr in added:
            object.__delattr__(owner, attr)


def stack_module_state(models):
    """Stack the parameters and buffers of identical models along a new leading dim.

    Args:
        models: a non-empty list of modules of one class, all in training or all in eval
            mode, with parameters and buffers of matching shapes.

    Returns:
        ``(params, buffers)``: dicts from dotted names to stacked tensors of shape
        ``(len(models), *shape)``. The stacked parameters are new leaves that require grad
        when the models' parameters do; buffers don't. Use them with ``functional_call`` (and
        vmap) to run an ensemble in one call.

    Example:
        >>> import tapegrad as tg
        >>> params, buffers = tg.func.stack_module_state([tg.nn.Linear(3, 2) for _ in range(4)])
        >>> params["weight"].shape, params["weight"].is_leaf
        (tapegrad.Size([4, 2, 3]), True)
    """
    models = list(models)
    if not models:
        raise ArgumentError("stack_module_state: expected at least one model, got 0.")
    if any(m.training != models[0].training for m in models):
        raise ArgumentError("stack_module_state: expected all models to be in the same "
                            "training/eval mode; call .train() or .eval() on all of them.")
    if any(type(m) is not type(models[0]) for m in models):
        kinds = sorted({type(m).__name__ for m in models})
        raise ArgumentError(f"stack_module_state: expected all models to be of the same class, "
                            f"got {kinds}.")

    def stacked(named, what):
        tables = [dict(named(m)) for m in models]
        out = {}
        for name in tables[0]:
            ts = [tab[name] for tab in tables]
            if what == "params" and any(t.requires_grad != ts[0].requires_grad for t in ts):
                raise ArgumentError(f"stack_module_state: expected {name!r} of every model to "
                                    "have the same requires_grad.")
            with no_grad():
                s = stack([t.detach() for t in ts])
            out[name] = s.requires_grad_() if what == "params" and ts[0].requires_grad else s
        return out

    return (stacked(lambda m: m.named_parameters(), "params"),
            stacked(lambda m: m.named_buffers(), "buffers"))
