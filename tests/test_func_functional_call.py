"""tapegrad.func.functional_call and stack_module_state: swapped state for one call (restored
even after an exception), tied weights, strict key checks, gradients with respect to the
dict, and stacked ensembles."""
import numpy as np
import pytest

import tapegrad as tg
from tapegrad import func, nn
from tapegrad._core.errors import ArgumentError


def snapshot(module):
    return {k: (v, v.detach().numpy().copy())
            for k, v in list(module.named_parameters()) + list(module.named_buffers())}


def assert_unchanged(module, snap):
    now = dict(list(module.named_parameters()) + list(module.named_buffers()))
    assert set(now) == set(snap)
    for k, (obj, arr) in snap.items():
        assert now[k] is obj, k                       # the very same tensor object is back
        np.testing.assert_array_equal(now[k].detach().numpy(), arr)
        assert obj.grad is None


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 2, bias=False)
        self.b = nn.Linear(2, 2, bias=False)
        self.b.weight = self.a.weight

    def forward(self, x):
        return self.b(self.a(x))


class Boom(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)

    def forward(self, x):
        self.lin(x)
        raise ValueError("boom")


def test_swapped_parameters_are_used_and_the_module_is_unchanged():
    lin = nn.Linear(3, 2)
    snap = snapshot(lin)
    w, b = tg.ones(2, 3), tg.tensor([1.0, -1.0])
    x = tg.tensor([[1.0, 2.0, 3.0]])
    out = func.functional_call(lin, {"weight": w, "bias": b}, (x,))
    np.testing.assert_allclose(out.numpy(), [[7.0, 5.0]])
    assert_unchanged(lin, snap)
    # a partial dict keeps the module's own tensors for the rest
    out = func.functional_call(lin, {"bias": b}, x)
    np.testing.assert_allclose(out.detach().numpy(), (x @ lin.weight.T + b).detach().numpy())
    assert_unchanged(lin, snap)


def test_module_restored_after_an_exception_in_forward():
    m = Boom()
    snap = snapshot(m)
    with pytest.raises(ValueError, match="boom"):
        func.functional_call(m, {"lin.weight": tg.zeros(2, 2)}, (tg.ones(1, 2),))
    assert_unchanged(m, snap)


def test_buffers_swapped_and_kwargs_passed():
    bn = nn.BatchNorm1d(2)
    bn.eval()
    snap = snapshot(bn)
    mean, var = tg.tensor([1.0, 2.0]), tg.tensor([4.0, 1.0])
    x = tg.tensor([[3.0, 3.0]])
    out = func.functional_call(bn, ({"running_mean": mean}, {"running_var": var}), args=(),
                               kwargs={"input": x})
    np.testing.assert_allclose(out.detach().numpy(), [[2.0 / np.sqrt(4 + 1e-5),
                                                       1.0 / np.sqrt(1 + 1e-5)]], rtol=1e-6)
    assert_unchanged(bn, snap)


def test_gradients_through_functional_call_with_respect_to_the_dict():
    lin = nn.Linear(3, 2)
    params = {k: v.detach() for k, v in lin.named_parameters()}
    x = tg.randn(4, 3)

    def loss(p, x):
        return (func.functional_call(lin, p, (x,)) ** 2).sum()
    g = func.grad(loss)(params, x)
    out = x @ params["weight"].T + params["bias"]
    np.testing.assert_allclose(g["weight"].numpy(), (2 * out.T @ x).numpy(), rtol=1e-5)
    np.testing.assert_allclose(g["bias"].numpy(), (2 * out.sum(0)).numpy(), rtol=1e-5)
    assert all(p.grad is None for p in lin.parameters())
    # and with requires_grad leaves and backward, as in plain PyTorch
    w = params["weight"].clone().requires_grad_()
    func.functional_call(lin, {"weight": w}, (x,)).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.tile(x.sum(0).numpy(), (2, 1)), rtol=1e-5)
    assert lin.weight.grad is None and lin.bias.grad is not None   # the bias was not swapped


def test_tied_weights():
    m = Tied()
    x = tg.ones(1, 2)
    w = tg.eye(2) * 2
    # tie_weights=True: one name replaces the tied tensor under both names
    np.testing.assert_allclose(func.functional_call(m, {"a.weight": w}, x).numpy(), [[4.0, 4.0]])
    np.testing.assert_allclose(func.functional_call(m, {"b.weight": w}, x).numpy(), [[4.0, 4.0]])
    np.testing.assert_allclose(
        func.functional_call(m, {"a.weight": w, "b.weight": w}, x).numpy(), [[4.0, 4.0]])
    with pytest.raises(ArgumentError, match=r"functional_call: got different values for the "
                                            r"keys \['a.weight', 'b.weight'\].*tie_weights=False"):
        func.functional_call(m, {"a.weight": w, "b.weight": tg.eye(2)}, x)
    # tie_weights=False: only the given name
    want = (x @ w.T) @ m.a.weight.T
    got = func.functional_call(m, {"a.weight": w}, x, tie_weights=False)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)
    assert m.a.weight is m.b.weight
    # strict with ties: one name is enough with tie_weights, both are needed without
    func.functional_call(m, {"a.weight": w}, x, strict=True)
    with pytest.raises(ArgumentError, match="Missing key\\(s\\): 'b.weight'"):
        func.functional_call(m, {"a.weight": w}, x, strict=True, tie_weights=False)


def test_strict_errors():
    lin = nn.Linear(2, 2)
    snap = snapshot(lin)
    x = tg.ones(1, 2)
    with pytest.raises(ArgumentError, match="functional_call: error\\(s\\) in reparametrizing "
                                            "for Linear:\n\tMissing key\\(s\\): 'bias'."):
        func.functional_call(lin, {"weight": tg.zeros(2, 2)}, x, strict=True)
    with pytest.raises(ArgumentError, match="\tUnexpected key\\(s\\): 'foo'."):
        func.functional_call(lin, {"weight": tg.zeros(2, 2), "bias": tg.zeros(2),
                                   "foo": tg.ones(1)}, x, strict=True)
    with pytest.raises(RuntimeError, match="Missing key\\(s\\): 'weight', 'bias'.\n\t"
                                           "Unexpected key\\(s\\): 'w'."):
        func.functional_call(lin, {"w": tg.zeros(2, 2)}, x, strict=True)
    assert_unchanged(lin, snap)
    # without strict, an unknown key is an attribute for the call only
    out = func.functional_call(lin, {"weight": tg.zeros(2, 2), "foo": tg.ones(1)}, x)
    assert not hasattr(lin, "foo")
    np.testing.assert_allclose(out.detach().numpy(), lin.bias.detach().numpy()[None])


def test_argument_errors():
    lin = nn.Linear(2, 2)
    with pytest.raises(ArgumentError, match=r"\['weight'\] appeared in multiple dictionaries"):
        func.functional_call(lin, ({"weight": tg.zeros(2, 2)}, {"weight": tg.ones(2, 2)}),
                             tg.ones(1, 2))
    with pytest.raises(TypeError, match="functional_call: the value for 'weight' is a list"):
        func.functional_call(lin, {"weight": [[0.0, 0.0], [0.0, 0.0]]}, tg.ones(1, 2))


def test_stack_module_state_shapes_and_values():
    models = [nn.Linear(3, 2) for _ in range(4)]
    params, buffers = func.stack_module_state(models)
    assert set(params) == {"weight", "bias"} and buffers == {}
    assert params["weight"].shape == (4, 2, 3) and params["bias"].shape == (4, 2)
    for i, m in enumerate(models):
        np.testing.assert_array_equal(params["weight"][i].detach().numpy(),
                                      m.weight.detach().numpy())
    assert params["weight"].is_leaf and params["weight"].requires_grad
    bns = [nn.BatchNorm1d(3) for _ in range(2)]
    params, buffers = func.stack_module_state(bns)
    assert buffers["running_mean"].shape == (2, 3) and not buffers["running_var"].requires_grad
    assert buffers["num_batches_tracked"].shape == (2,)
    # tied weights are stacked once, under their first name
    params, _ = func.stack_module_state([Tied(), Tied()])
    assert list(params) == ["a.weight"]


def test_stacked_ensemble_through_functional_call_matches_each_model():
    models = [nn.Linear(3, 2) for _ in range(3)]
    params, buffers = func.stack_module_state(models)
    x = tg.randn(5, 3)
    base = nn.Linear(3, 2)
    for i, m in enumerate(models):
        out = func.functional_call(base, {k: v[i] for k, v in params.items()}, (x,))
        np.testing.assert_allclose(out.detach().numpy(), m(x).detach().numpy(), rtol=1e-6)


def test_stack_module_state_errors():
    with pytest.raises(ArgumentError, match="stack_module_state: expected at least one model"):
        func.stack_module_state([])
    ms = [nn.Linear(2, 3) for _ in range(3)]
    ms[1].eval()
    with pytest.raises(ArgumentError, match="same training/eval mode"):
        func.stack_module_state(ms)
    with pytest.raises(ArgumentError, match="same class, got \\['Linear', 'Tanh'\\]"):
        func.stack_module_state([nn.Linear(2, 3), nn.Tanh()])
    ms = [nn.Linear(2, 3) for _ in range(2)]
    ms[1].weight.requires_grad_(False)
    with pytest.raises(ArgumentError, match="'weight' of every model to have the same "
                                            "requires_grad"):
        func.stack_module_state(ms)


def test_functional_call_matches_torch():
    torch = pytest.importorskip("torch")
    import torch.func as tf
    rng = np.random.default_rng(0)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    params = {k: rng.standard_normal(tuple(v.shape)) for k, v in tm.named_parameters()}
    x = rng.standard_normal((5, 3))

    def loss_t(p, x):
        return (tf.functional_call(tm, p, (x,)) ** 2).mean()

    def loss(p, x):
        return (func.functional_call(m, p, (x,)) ** 2).mean()
    want = tf.grad(loss_t)({k: torch.tensor(v) for k, v in params.items()}, torch.tensor(x))
    got = func.grad(loss)({k: tg.tensor(v) for k, v in params.items()}, tg.tensor(x))
    for k in params:
        np.testing.assert_allclose(got[k].numpy(), want[k].numpy(), rtol=1e-10)


def test_training_mode_updates_the_given_buffers_not_the_module():
    bn = nn.BatchNorm1d(2)
    snap = snapshot(bn)
    params = dict(bn.named_parameters())
    buffers = {k: v.clone() for k, v in bn.named_buffers()}
    func.functional_call(bn, (params, buffers), tg.tensor([[1.0, 2.0], [3.0, 6.0]]))
    np.testing.assert_allclose(buffers["running_mean"].numpy(), [0.2, 0.4], rtol=1e-6)
    assert buffers["num_batches_tracked"].item() == 1
    assert_unchanged(bn, snap)
