"""gradcheck of every layer case in tests/module_cases.py (no torch needed): a float64 instance,
finite differences against the gradients of the input and of every parameter. A guard makes
every layer class of tapegrad.nn with parameters appear in the cases."""
import inspect
import zlib

import numpy as np
import pytest

import tapegrad as tg
from module_cases import CASES
from tapegrad.autograd import gradcheck

# Layers whose parameters the cases need not cover: containers (they hold other modules'
# parameters), the cells' bases, and Transformer (its parts are covered one by one; a full
# model's finite differences take too long for the default run).
NOT_CASES = {"Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
             "ParameterDict", "RNNBase", "RNNCellBase", "Transformer", "TransformerEncoder",
             "TransformerDecoder"}
# Cases whose gradient is deliberately not the derivative of the output, as in PyTorch.
NOT_DERIVATIVES = {"Embedding(10, 4, padding_idx=0)": "the padding row gets no gradient"}


def _build_inputs(specs, rng):
    inputs = []
    for spec in specs:
        kind, shape = spec.split(":")
        shape = eval(shape)  # noqa: S307 (a literal shape from module_cases)
        if kind == "f":
            inputs.append(tg.tensor(rng.uniform(-1.5, 1.5, shape), requires_grad=True))
        else:
            inputs.append(tg.tensor(rng.integers(0, int(kind[1:]), shape)))
    return inputs


@pytest.mark.parametrize("expr,specs", CASES, ids=[c[0] for c in CASES])
def test_module_gradcheck(expr, specs):
    if expr in NOT_DERIVATIVES:
        pytest.skip(f"{expr}: {NOT_DERIVATIVES[expr]} (tested in its own file)")
    rng = np.random.default_rng(zlib.crc32(expr.encode()))
    module = eval("tg.nn." + expr).double()    # noqa: S307
    inputs = _build_inputs(specs, rng)
    if "Loss" in expr and len(inputs) > 1:      # targets are data
        inputs[1] = inputs[1].detach()
        if "BCE" in expr or "KLDiv" in expr:
            inputs[1] = tg.tensor(rng.uniform(0.1, 0.9, tuple(inputs[1].shape)))
    if "KLDiv" in expr:
        inputs[0] = tg.tensor(np.log(rng.uniform(0.1, 1, (3, 4))), requires_grad=True)
    params = [p for p in module.parameters() if p.requires_grad]
    n_in = len(inputs)

    def f(*args):
        outs = module(*args[:n_in])
        flat = outs if isinstance(outs, tuple) else (outs,)
        flat = [o for x in flat for o in (x if isinstance(x, tuple) else (x,))]
        return tuple(o for o in flat if isinstance(o, tg.Tensor) and o.is_floating_point())
    if not any(t.requires_grad for t in inputs + params):
        pytest.skip(f"{expr}: nothing differentiable")
    assert gradcheck(f, tuple(inputs) + tuple(params), eps=1e-6, atol=1e-5, rtol=1e-4)


def _creates_parameters(cls):
    """Whether the class or one of its tapegrad bases makes Parameters in its source."""
    for klass in cls.__mro__:
        if klass.__module__.startswith("tapegrad.nn.modules") and klass is not tg.nn.Module:
            source = inspect.getsource(klass)
            if "Parameter(" in source or "register_parameter" in source:
                return True
    return False


def test_every_layer_with_parameters_has_a_case():
    covered = {expr.split("(")[0] for expr, _ in CASES}
    missing = [name for name in tg.nn.modules.__all__
               if inspect.isclass(getattr(tg.nn, name))
               and issubclass(getattr(tg.nn, name), tg.nn.Module)
               and name not in NOT_CASES and name not in covered
               and _creates_parameters(getattr(tg.nn, name))]
    assert not missing, f"layers with parameters but no case in tests/module_cases.py: {missing}"
