"""Module, Parameter, Buffer and the containers: registration, naming, state dicts, modes,
hooks, copies and conversions (issue 7). Layers are tested in tests/test_nn_modules_*.py."""
import copy
import pickle

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn as nn
from tapegrad._core.errors import ArgumentError


class Affine(nn.Module):
    """y = x * scale + shift, with a persistent and a non-persistent buffer."""

    def __init__(self, n=3):
        super().__init__()
        self.scale = nn.Parameter(tg.ones(n))
        self.shift = nn.Parameter(tg.zeros(n))
        self.register_buffer("calls", tg.zeros(1))
        self.register_buffer("scratch", tg.zeros(n), persistent=False)

    def forward(self, x):
        return x * self.scale + self.shift


class Pair(nn.Module):
    """Two inputs, two outputs (for the multi-tensor backward hook cases)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(tg.tensor([2.0, 3.0]))

    def forward(self, a, b):
        return a * self.w, b * self.w + a


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = Affine()
        self.body = nn.Sequential(Affine(), Affine())
        self.head = Affine()
        self.gain = nn.Parameter(tg.tensor(2.0))

    def forward(self, x):
        return self.head(self.body(self.first(x))) * self.gain


# ---- Parameter and Buffer ------------------------------------------------------------------
def test_parameter_shares_storage_requires_grad_and_prints_like_pytorch():
    t = tg.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    assert p.requires_grad and p.is_leaf and isinstance(p, tg.Tensor)
    t[0] = 7.0                                   # same storage as PyTorch's Parameter(t)
    assert p.tolist() == [7.0, 2.0]
    assert repr(p) == "Parameter containing:\ntensor([7., 2.], requires_grad=True)"
    assert not nn.Parameter(tg.ones(1), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    assert type(p * 2) is tg.Tensor              # ops give plain tensors
    with tg.no_grad():
        p.mul_(2)
    assert type(p) is nn.Parameter and p.tolist() == [14.0, 4.0]


def test_parameter_refuses_integer_data_and_non_tensors():
    with pytest.raises(TypeError, match="floating"):
        nn.Parameter(tg.tensor([1, 2]))
    with pytest.raises(TypeError, match="Parameter: data must be a Tensor"):
        nn.Parameter([1.0, 2.0])
    assert not nn.Parameter(tg.tensor([1, 2]), requires_grad=False).requires_grad


def test_parameter_deepcopy_and_pickle_keep_the_class_and_flags():
    p = nn.Parameter(tg.tensor([1.0, 2.0]))
    p.grad = tg.tensor([0.5, 0.5])
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q.requires_grad and q.grad is None   # as PyTorch
    q.data[0] = 9.0
    assert p.tolist() == [1.0, 2.0]
    r = pickle.loads(pickle.dumps(nn.Parameter(tg.ones(2), requires_grad=False)))
    assert type(r) is nn.Parameter and not r.requires_grad and r.tolist() == [1.0, 1.0]


def test_buffer_assignment_registers_a_plain_tensor():
    m = nn.Module()
    m.steps = nn.Buffer(tg.zeros(2))
    m.tmp = nn.Buffer(tg.ones(1), persistent=False)
    assert type(m.steps) is tg.Tensor and list(m.state_dict()) == ["steps"]
    assert [n for n, _ in m.named_buffers()] == ["steps", "tmp"]
    m.steps = tg.ones(2)                         # a registered buffer takes any tensor
    assert m.steps.tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="buffer 'steps'"):
        m.steps = 3.0


# ---- registration and naming ---------------------------------------------------------------
def test_names_and_order_follow_pytorch():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["gain", "first.scale", "first.shift", "body.0.scale", "body.0.shift",
                     "body.1.scale", "body.1.shift", "head.scale", "head.shift"]
    assert [n for n, _ in net.named_buffers()] == [
        "first.calls", "first.scratch", "body.0.calls", "body.0.scratch", "body.1.calls",
        "body.1.scratch", "head.calls", "head.scratch"]
    assert list(net.state_dict()) == [
        "gain", "first.scale", "first.shift", "first.calls", "body.0.scale", "body.0.shift",
        "body.0.calls", "body.1.scale", "body.1.shift", "body.1.calls", "head.scale",
        "head.shift", "head.calls"]
    assert [n for n, _ in net.named_modules()] == ["", "first", "body", "body.0", "body.1",
                                                   "head"]
    assert [n for n, _ in net.named_children()] == ["first", "body", "head"]
    assert [n for n, _ in net.named_parameters(prefix="model", recurse=False)] == ["model.gain"]
    assert len(list(net.parameters(recurse=False))) == 1
    assert len(list(net.modules())) == 6


def test_shared_parameters_and_modules_are_listed_once():
    net = nn.Module()
    shared = Affine()
    net.a, net.b = shared, shared
    net.tied = shared.scale
    assert [n for n, _ in net.named_parameters()] == ["tied", "a.shift"]
    assert len(list(net.named_parameters(remove_duplicate=False))) == 5
    assert [n for n, _ in net.named_modules()] == ["", "a"]
    assert [n for n, _ in net.named_modules(remove_duplicate=False)] == ["", "a", "b"]
    assert list(net.state_dict()) == ["tied", "a.scale", "a.shift", "a.calls", "b.scale",
                                      "b.shift", "b.calls"]


def test_assignment_moves_names_between_tables_and_del_removes():
    m = Affine()
    m.scale = None                                # a parameter slot may hold None
    assert "scale" in m._parameters and m.scale is None
    assert [n for n, _ in m.named_parameters()] == ["shift"]
    m.sub = Affine()
    m.sub = None
    assert m.sub is None and list(m.children()) == []
    m.extra = nn.Parameter(tg.zeros(1))
    del m.extra
    assert not hasattr(m, "extra")
    del m.calls
    assert "calls" not in m.state_dict()
    m.plain = 3
    del m.plain
    with pytest.raises(AttributeError, match="'Affine' object has no attribute 'missing'"):
        m.missing


def test_registration_errors_name_the_problem():
    m = Affine()
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'shift'"):
        m.shift = tg.zeros(3)
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(KeyError, match="empty"):
        m.register_buffer("", None)
    with pytest.raises(KeyError, match="attribute 'forward' already exists"):
        m.register_buffer("forward", tg.zeros(1))
    with pytest.raises(TypeError, match="Parameter or None required"):
        m.register_parameter("w", tg.zeros(1))
    with pytest.raises(ValueError, match="non-leaf"):
        m.register_parameter("w", _non_leaf())
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("x", 3)

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(tg.ones(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    with pytest.raises(TypeError, match="takes none"):
        nn.Module(3)
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)


def _non_leaf():
    p = nn.Parameter(tg.ones(1))
    out = p * 2
    out.__class__ = nn.Parameter                  # a Parameter that has a history
    return out


def test_get_submodule_parameter_buffer():
    net = Net()
    assert net.get_submodule("body.1") is net.body[1]
    assert net.get_submodule("") is net
    assert net.get_parameter("body.0.shift") is net.body[0].shift
    assert net.get_buffer("head.calls") is net.head.calls
    with pytest.raises(AttributeError, match="Sequential has no attribute `7`"):
        net.get_submodule("body.7")
    with pytest.raises(AttributeError, match="`scale` is not an nn.Module"):
        net.get_submodule("head.scale.x")
    with pytest.raises(AttributeError, match="`calls` is not an nn.Parameter"):
        net.get_parameter("head.calls")
    with pytest.raises(AttributeError, match="`scale` is not a buffer"):
        net.get_buffer("head.scale")


# ---- state dicts ---------------------------------------------------------------------------
def test_state_dict_is_detached_and_round_trips():
    a, b = Net(), Net()
    with tg.no_grad():
        for i, p in enumerate(a.parameters()):
            p.add_(i + 1)
    sd = a.state_dict()
    assert all(not v.requires_grad for v in sd.values())
    assert all(v.requires_grad for v in a.state_dict(keep_vars=True).values()
               if isinstance(v, nn.Parameter))
    result = b.load_state_dict(sd)
    assert repr(result) == "<All keys matched successfully>"
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb and np.array_equal(pa.detach().numpy(), pb.detach().numpy())
        assert pa is not pb
    kept = b.gain
    b.load_state_dict({k: v.numpy() for k, v in sd.items()})    # NumPy arrays load too
    assert b.gain is kept                                   # in place: identity kept


def test_load_state_dict_strict_and_non_strict_errors():
    net = Net()
    sd = net.state_dict()
    del sd["head.shift"]
    sd["head.extra"] = tg.zeros(1)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(sd)
    msg = str(info.value)
    assert msg.startswith("Error(s) in loading state_dict for Net:")
    assert 'Missing key(s) in state_dict: "head.shift"' in msg
    assert 'Unexpected key(s) in state_dict: "head.extra"' in msg
    # Regression: strict=False returned no unexpected keys; PyTorch reports them either way.
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["head.shift"] and unexpected == ["head.extra"]
    sd["body.7.scale"] = sd["stray"] = tg.zeros(1)
    result = net.load_state_dict(sd, strict=False)
    assert result.unexpected_keys == ["stray", "body.7.scale", "head.extra"]  # PyTorch's order
    assert repr(result) == ("_IncompatibleKeys(missing_keys=['head.shift'], unexpected_keys="
                            "['stray', 'body.7.scale', 'head.extra'])")
    sd = net.state_dict()
    sd["first.scale"] = tg.zeros(4)
    with pytest.raises(RuntimeError, match=r"size mismatch for first.scale: copying a param "
                       r"with shape \(4,\) from checkpoint, the shape in current model is "
                       r"\(3,\)"):
        net.load_state_dict(sd, strict=False)
    with pytest.raises(TypeError, match="dict-like"):
        net.load_state_dict([1, 2])


def test_load_state_dict_passes_the_checkpoints_metadata_to_each_module():
    # A PyTorch state dict carries per-module format versions in ``_metadata``; BatchNorm's
    # format 2 has num_batches_tracked, so a version-2 checkpoint without it misses that key.
    from collections import OrderedDict
    bn = nn.BatchNorm1d(2)
    sd = OrderedDict((k, v) for k, v in bn.state_dict().items() if k != "num_batches_tracked")
    assert bn.load_state_dict(sd, strict=False).missing_keys == []       # no version: old
    sd._metadata = {"": {"version": 2}}
    assert bn.load_state_dict(sd, strict=False).missing_keys == ["num_batches_tracked"]


def test_load_state_dict_assign_replaces_parameters():
    net = Affine()
    old = net.scale
    new_scale = tg.tensor([4.0, 5.0, 6.0], dtype=tg.float64)
    net.load_state_dict({"scale": new_scale, "shift": tg.zeros(3), "calls": tg.ones(1)},
                        assign=True)
    assert net.scale is not old and type(net.scale) is nn.Parameter
    assert net.scale.dtype == tg.float64 and net.scale.requires_grad
    assert net.calls.tolist() == [1.0]


# ---- modes, gradients, apply, conversion ---------------------------------------------------
def test_train_eval_reach_every_module():
    net = Net()
    assert net.eval() is net
    assert all(not m.training for m in net.modules())
    net.body.train()
    assert net.body[0].training and not net.head.training
    with pytest.raises(ValueError, match="boolean"):
        net.train("yes")


def test_zero_grad_requires_grad_and_apply():
    net = Net()
    net(tg.ones(2, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    grad = net.gain.grad
    net.zero_grad(set_to_none=False)
    assert net.gain.grad is grad and grad.item() == 0.0
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.body.requires_grad_(False)
    net(tg.ones(2, 3)).sum().backward()
    assert net.body[0].scale.grad is None and net.head.scale.grad is not None
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Affine", "Affine", "Affine", "Sequential", "Affine", "Net"]


def test_to_double_half_float_keep_parameter_identity():
    net = Affine()
    net.register_buffer("count", tg.tensor([3]))
    scale = net.scale
    net(tg.ones(3)).sum().backward()
    assert net.double() is net
    assert net.scale is scale and scale.dtype == tg.float64 and scale.grad.dtype == tg.float64
    assert net.calls.dtype == tg.float64 and net.count.dtype == tg.int64
    net.half()
    assert scale.dtype == tg.float16
    net.to(tg.float32)
    assert scale.dtype == tg.float32
    net.to("cpu", dtype=tg.float64)
    assert scale.dtype == tg.float64
    net.to(tg.zeros(1))
    assert scale.dtype == tg.float32
    with pytest.raises(TypeError, match="floating point"):
        net.to(tg.int64)
    net.type(tg.float64)
    assert net.count.dtype == tg.float64
    assert net.cpu() is net
    with pytest.raises(NotImplementedError, match="CPU only"):
        net.cuda()


def test_deepcopy_gives_an_independent_model():
    net = Net()
    net(tg.ones(1, 3)).sum().backward()
    before = [p.detach().numpy().copy() for p in net.parameters()]
    twin = copy.deepcopy(net)
    assert [n for n, _ in twin.named_parameters()] == [n for n, _ in net.named_parameters()]
    with tg.no_grad():
        for p in twin.parameters():
            p.mul_(0)
    assert all(np.array_equal(p.detach().numpy(), b) for p, b in zip(net.parameters(), before))
    assert twin.gain.grad is None and net.gain.grad is not None
    shared = nn.Module()
    shared.a = Affine()
    shared.b = shared.a
    dup = copy.deepcopy(shared)
    assert dup.a is dup.b and dup.a is not shared.a


# ---- hooks ---------------------------------------------------------------------------------
def test_forward_pre_hooks_and_hooks_with_handles():
    m = Affine()
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(args[0].tolist()) or out + 1)
    out = m(tg.ones(3))
    assert out.tolist() == [3.0, 3.0, 3.0] and calls == [[2.0, 2.0, 2.0]]
    h1.remove()
    h2.remove()
    assert m(tg.ones(3)).tolist() == [1.0, 1.0, 1.0] and len(calls) == 1
    with m.register_forward_hook(lambda mod, args, out: out * 0):
        assert m(tg.ones(3)).tolist() == [0.0, 0.0, 0.0]
    assert m(tg.ones(3)).tolist() == [1.0, 1.0, 1.0]


def test_hooks_with_kwargs_prepend_and_always_call():
    class Scaled(nn.Module):
        def forward(self, x, *, factor=1.0):
            if factor < 0:
                raise ValueError("negative")
            return x * factor
    m = Scaled()
    order = []
    m.register_forward_pre_hook(lambda mod, args, kw: (args, {"factor": kw["factor"] * 10}),
                                with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kw, out: order.append(("kw", kw)), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: order.append("first"), prepend=True)
    assert m(tg.ones(1), factor=2.0).item() == 20.0
    assert order == ["first", ("kw", {"factor": 20.0})]
    seen = []
    m.register_forward_hook(lambda mod, args, out: seen.append(out), always_call=True)
    with pytest.raises(ValueError, match="negative"):
        m(tg.ones(1), factor=-1.0)
    assert seen == [None]


def test_full_backward_hook_sees_input_and_output_gradients():
    m = Affine()
    with tg.no_grad():
        m.scale.copy_(tg.tensor([1.0, 2.0, 3.0]))
    seen = {}
    m.register_full_backward_pre_hook(lambda mod, gout: seen.update(pre=gout))
    m.register_full_backward_hook(lambda mod, gin, gout: seen.update(full=(gin, gout)))
    x = tg.ones(2, 3, requires_grad=True)
    (m(x) * tg.tensor([1.0, 10.0, 100.0])).sum().backward()
    gin, gout = seen["full"]
    assert gout[0].tolist() == [[1.0, 10.0, 100.0]] * 2 and seen["pre"][0] is not None
    assert gin[0].tolist() == [[1.0, 20.0, 300.0]] * 2
    assert x.grad.tolist() == [[1.0, 20.0, 300.0]] * 2


def test_backward_hooks_replace_gradients_and_handle_inputs_without_grad():
    m = Affine()
    m.register_full_backward_hook(lambda mod, gin, gout: (gin[0] * 0,))
    x = tg.ones(3, requires_grad=True)
    m(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0] and m.scale.grad.tolist() == [1.0, 1.0, 1.0]

    m2 = Affine()
    m2.register_full_backward_pre_hook(lambda mod, gout: (gout[0] * 2,))
    got = []
    m2.register_full_backward_hook(lambda mod, gin, gout: got.append((gin, gout)))
    m2(tg.ones(3)).sum().backward()             # the input does not require grad
    assert got[0][0] == (None,) and got[0][1][0].tolist() == [2.0, 2.0, 2.0]
    assert m2.shift.grad.tolist() == [2.0, 2.0, 2.0]


def test_backward_hook_on_two_inputs_and_two_outputs():
    m = Pair()
    got = []
    h = m.register_full_backward_hook(lambda mod, gin, gout: got.append((gin, gout)))
    a = tg.ones(2, requires_grad=True)
    b = tg.ones(2, requires_grad=True)
    p, q = m(a, b)
    (p.sum() + 2 * q.sum()).backward()
    gin, gout = got[0]
    assert [g.tolist() for g in gout] == [[1.0, 1.0], [2.0, 2.0]]
    assert gin[0].tolist() == [4.0, 5.0] and gin[1].tolist() == [4.0, 6.0]
    h.remove()
    a.grad = b.grad = None
    m.register_full_backward_hook(lambda mod, gin, gout: (gin[0] * 10, gin[1] * 100))
    m.register_full_backward_pre_hook(lambda mod, gout: (gout[0], gout[1] * 3))
    p, q = m(a, b)
    (p.sum() + q.sum()).backward()
    # grad_output becomes (1, 3): a gets 1 * w + 3 = [5, 6], b gets 3 * w = [6, 9]
    assert a.grad.tolist() == [50.0, 60.0] and b.grad.tolist() == [600.0, 900.0]


def test_backward_hooks_fire_when_an_output_or_input_gets_no_gradient():
    # Regression: the hooks waited for every output's and input's gradient, so an output
    # left out of the loss (or an unused input) meant they never ran at all.
    m = Pair()
    got = []
    m.register_full_backward_pre_hook(lambda mod, gout: got.append(("pre", gout)))
    m.register_full_backward_hook(lambda mod, gin, gout: got.append(("full", gin, gout)))
    a = tg.ones(2, requires_grad=True)
    b = tg.ones(2, requires_grad=True)
    p, q = m(a, b)
    p.sum().backward()                          # q is not used
    assert [entry[0] for entry in got] == ["pre", "full"]
    _, gin, gout = got[1]
    assert gout[0].tolist() == [1.0, 1.0] and gout[1] is None       # None: nothing reached q
    assert gin[0].tolist() == [2.0, 3.0] and gin[1].tolist() == [0.0, 0.0]  # b: zeros

    class FirstOnly(nn.Module):
        def forward(self, x, unused):
            return x * 2

    got.clear()
    m = FirstOnly()
    m.register_full_backward_hook(lambda mod, gin, gout: got.append(gin))
    m(tg.ones(2, requires_grad=True), tg.ones(2, requires_grad=True)).sum().backward()
    assert [g.tolist() for g in got[0]] == [[2.0, 2.0], [0.0, 0.0]]


def test_backward_pre_hook_leaves_an_unused_outputs_parameters_without_grad():
    # The outputs are packed together for the hooks; the pack must not send zeros down to
    # an output no gradient reached: its parameters keep grad None (an optimizer skips them).
    class Split(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = Affine(2)
            self.b = Affine(2)

        def forward(self, x):
            return self.a(x), self.b(x)

    m = Split()
    got = []
    m.register_full_backward_pre_hook(lambda mod, gout: got.append(gout))
    x = tg.ones(2, requires_grad=True)
    first, _ = m(x)
    first.sum().backward()
    assert got[0][1] is None
    assert m.a.scale.grad.tolist() == [1.0, 1.0]
    assert m.b.scale.grad is None and m.b.shift.grad is None
    assert x.grad.tolist() == [1.0, 1.0]


def test_backward_hook_entries_for_non_tensor_arguments_and_outputs():
    # Regression: grad_input had entries only for Tensor arguments and grad_output only for
    # Tensor outputs; PyTorch gives one per positional argument / output, None for the rest.
    class Scaled(nn.Module):
        def forward(self, x, k):
            return x * k, "tag", x.detach()

    m = Scaled()
    got = []
    m.register_full_backward_pre_hook(lambda mod, gout: got.append(gout))
    m.register_full_backward_hook(lambda mod, gin, gout: got.append((gin, gout)))
    out = m(tg.ones(2, requires_grad=True), 3.0)
    out[0].sum().backward()
    pre, (gin, gout) = got
    assert len(pre) == 3 and pre[1] is None and pre[2] is None
    assert len(gin) == 2 and gin[0].tolist() == [3.0, 3.0] and gin[1] is None
    assert len(gout) == 3 and gout[0].tolist() == [1.0, 1.0]


def _hook_log(lib, mod, build, inputs, flags):
    """grad_output/grad_input entries seen by a module's backward hooks, and the inputs'
    gradients, for one backward of sum(output_i * i-weights)."""
    m = build(mod, lib).double()
    log = []
    m.register_full_backward_pre_hook(lambda _, gout: log.append(list(gout)))
    m.register_full_backward_hook(lambda _, gin, gout: log.append(list(gin) + list(gout)))
    xs = [lib.tensor(x, requires_grad=f) if isinstance(x, np.ndarray) else x
          for x, f in zip(inputs, flags)]
    out = m(*xs)
    outs = out if isinstance(out, tuple) else (out,)
    loss = sum(((o * (j + 1)) ** 2).sum() for j, o in enumerate(outs)
               if isinstance(o, lib.Tensor) and o.requires_grad)
    loss.backward()
    seen = [[None if g is None else g.detach().numpy().copy() for g in entry] for entry in log]
    return seen + [[None if getattr(x, "grad", None) is None else x.grad.numpy().copy()
                    for x in xs]]


class _TwoOut:
    @staticmethod
    def build(mod, lib):
        class TwoOut(mod.Module):
            def __init__(self):
                super().__init__()
                self.lin = mod.Linear(3, 3)

            def forward(self, a, k, b):
                h = self.lin(a) * k
                return h, (h * b).sum(1), 7
        return TwoOut()


@pytest.mark.parametrize("case", ["bilinear", "bilinear_one_input", "two_outputs",
                                  "conv", "sequential"])
def test_backward_hook_entries_match_pytorch(case):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3))
    builds = {
        "bilinear": (lambda mod, lib: mod.Bilinear(3, 3, 2), [x, x + 1], [True, True]),
        "bilinear_one_input": (lambda mod, lib: mod.Bilinear(3, 3, 2), [x, x], [False, True]),
        "two_outputs": (_TwoOut.build, [x, 2.0, x * 3], [True, False, True]),
        "conv": (lambda mod, lib: mod.Conv1d(2, 3, 2, padding=1), [x[None]], [True]),
        "sequential": (lambda mod, lib: mod.Sequential(mod.Linear(3, 4), mod.ReLU()),
                       [x], [True]),
    }
    build, inputs, flags = builds[case]
    torch.manual_seed(0)
    theirs_model = build(torch.nn, torch)
    state = {k: tg.tensor(v.detach().numpy()) for k, v in theirs_model.state_dict().items()}

    def build_ours(mod, lib):
        m = build(mod, lib)
        m.load_state_dict(state)
        return m

    def build_theirs(mod, lib):
        return theirs_model

    ours = _hook_log(tg, nn, build_ours, inputs, flags)
    theirs = _hook_log(torch, torch.nn, build_theirs, inputs, flags)
    assert len(ours) == len(theirs)
    for entry_ours, entry_theirs in zip(ours, theirs):
        assert len(entry_ours) == len(entry_theirs)
        for a, b in zip(entry_ours, entry_theirs):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_backward_hooks_match_pytorch():
    torch = pytest.importorskip("torch")
    results = []
    for lib, mod in ((tg, nn), (torch, torch.nn)):
        lin = mod.Linear(3, 2)
        with lib.no_grad():
            lin.weight.copy_(lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
            lin.bias.copy_(lib.tensor([0.5, -0.5]))
        seen = []
        lin.register_full_backward_hook(
            lambda m, gin, gout: seen.append([g.detach().numpy().copy() for g in gin + gout]))
        x = lib.tensor([[1.0, -1.0, 2.0]], requires_grad=True)
        (lin(x) ** 2).sum().backward()
        results.append(seen[0])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


# ---- containers ----------------------------------------------------------------------------
def test_sequential_indexing_and_editing():
    a, b, c = Affine(), Affine(), Affine()
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c
    assert isinstance(seq[1:], nn.Sequential) and list(seq[1:]) == [b, c]
    assert [n for n, _ in seq[1:].named_children()] == ["1", "2"]
    del seq[0]
    assert list(seq._modules) == ["0", "1"] and seq[0] is b
    seq.append(a)
    seq.insert(0, c)
    assert list(seq) == [c, b, c, a]
    assert seq.pop(0) is c and len(seq) == 3
    seq[0] = a
    assert seq[0] is a
    seq.extend([b])
    assert len(seq + nn.Sequential(c)) == 5
    with pytest.raises(IndexError, match="index 9 is out of range"):
        seq[9]
    named = nn.Sequential({"enc": Affine(), "dec": Affine()})
    assert [n for n, _ in named.named_parameters()][:2] == ["enc.scale", "enc.shift"]
    assert seq(tg.ones(3)).shape == (3,)


def test_module_list_and_dict():
    layers = nn.ModuleList([Affine() for _ in range(3)])
    layers.append(Affine(2))
    assert len(layers) == 4 and [n for n, _ in layers.named_parameters()][-1] == "3.shift"
    assert isinstance(layers[:2], nn.ModuleList)
    layers += [Affine()]
    assert len(layers) == 5
    assert repr(nn.ModuleList()) == "ModuleList()"
    heads = nn.ModuleDict({"b": Affine(), "a": Affine()})
    assert list(heads) == ["b", "a"] and "a" in heads and len(heads) == 2
    heads["c"] = Affine()
    assert list(heads.keys()) == ["b", "a", "c"]
    assert heads.pop("b") is not None and len(heads) == 2
    heads.update([("z", Affine())])
    assert list(heads) == ["a", "c", "z"]
    with pytest.raises(ValueError, match="element #0 has length 1"):
        heads.update([("q",)])


def test_parameter_list_and_dict():
    ps = nn.ParameterList([tg.ones(2), nn.Parameter(tg.zeros(3))])
    assert all(type(p) is nn.Parameter for p in ps)
    assert [n for n, _ in ps.named_parameters()] == ["0", "1"]
    ps.append(tg.ones(1))
    assert len(ps) == 3
    assert repr(ps) == ("ParameterList(\n"
                        "    (0): Parameter containing: [tapegrad.float32 of size 2]\n"
                        "    (1): Parameter containing: [tapegrad.float32 of size 3]\n"
                        "    (2): Parameter containing: [tapegrad.float32 of size 1]\n)")
    pd = nn.ParameterDict({"w": tg.ones(2, 2)})
    pd["b"] = nn.Parameter(tg.zeros(2))
    assert list(pd) == ["w", "b"] and type(pd["w"]) is nn.Parameter
    assert [n for n, _ in pd.named_parameters()] == ["w", "b"]
    owner = nn.Module()
    owner.params = ps
    assert [n for n, _ in owner.named_parameters()] == ["params.0", "params.1", "params.2"]


def test_module_dict_updates_from_another_module_dict():
    # Regression: update() took a ModuleDict for a sequence of pairs and raised ValueError.
    heads = nn.ModuleDict({"a": Affine()})
    extra = nn.ModuleDict({"z": Affine(), "b": Affine()})
    heads.update(extra)
    assert list(heads) == ["a", "z", "b"] and heads["z"] is extra["z"]
    assert list(nn.ModuleDict(extra)) == ["z", "b"]
    with pytest.raises(TypeError, match="ModuleDict.update should be called with an iterable "
                       "of key/value pairs, but got int"):
        heads.update(5)


def test_parameter_dict_orders_keys_as_pytorch():
    # Regression: a plain dict's keys kept their insertion order; PyTorch's ParameterDict
    # sorts them (only an OrderedDict, a ParameterDict or pairs keep theirs), and that order
    # is the one of parameters(), state_dict() and so of an optimizer's saved state.
    from collections import OrderedDict
    pd = nn.ParameterDict({"w": tg.ones(1), "b": tg.zeros(1)})
    assert list(pd) == ["b", "w"] and list(pd.state_dict()) == ["b", "w"]
    pd.update({"d": tg.ones(1), "c": tg.ones(1)})
    pd.update(OrderedDict([("z", tg.ones(1)), ("y", tg.ones(1))]))
    pd.update([("x", tg.ones(1)), ("v", tg.ones(1))])
    assert list(pd) == ["b", "w", "c", "d", "z", "y", "x", "v"]
    # Regression: another ParameterDict was read as a sequence of pairs (a TypeError).
    other = nn.ParameterDict(OrderedDict([("q", tg.ones(1)), ("p", tg.ones(1))]))
    assert list(nn.ParameterDict(other)) == ["q", "p"]


def test_parameter_dict_has_the_dict_methods_of_pytorch():
    pd = nn.ParameterDict([("a", tg.ones(1)), ("b", tg.zeros(2))])
    copied = pd.copy()
    assert list(copied) == ["a", "b"] and copied["a"] is pd["a"] and copied is not pd
    assert pd.setdefault("a", tg.zeros(5)) is pd["a"]
    assert pd.setdefault("c", tg.zeros(3)).shape == (3,) and list(pd) == ["a", "b", "c"]
    key, value = pd.popitem()
    assert key == "c" and value.shape == (3,) and list(pd) == ["a", "b"]
    assert list(reversed(pd)) == ["b", "a"]
    assert list(pd.fromkeys(["u", "t"], tg.ones(1))) == ["u", "t"]
    merged = pd | nn.ParameterDict([("z", tg.ones(1))])
    assert list(merged) == ["a", "b", "z"] and list(pd) == ["a", "b"]
    pd |= [("y", tg.ones(1))]
    assert list(pd) == ["a", "b", "y"]


def test_sequential_repeat_and_insert_bounds_as_pytorch():
    a, b = Affine(), Affine()
    seq = nn.Sequential(a, b)
    # Regression: Sequential had no * (PyTorch repeats the same modules, shared).
    twice = seq * 2
    assert list(twice) == [a, b, a, b] and list(twice._modules) == ["0", "1", "2", "3"]
    assert list(2 * seq) == [a, b, a, b]
    with pytest.raises(ValueError, match="Non-positive multiplication factor"):
        seq * 0
    seq *= 2
    assert list(seq) == [a, b, a, b]
    # Regression: insert() clamped an out-of-range index like list.insert; PyTorch raises.
    seq.insert(4, a)
    seq.insert(-5, b)
    assert list(seq) == [b, a, b, a, b, a]
    with pytest.raises(IndexError, match="Index out of range: 7"):
        seq.insert(7, a)
    with pytest.raises(IndexError, match="Index out of range: -7"):
        seq.insert(-7, a)


def test_repr_is_laid_out_like_pytorch():
    class Leaf(nn.Module):
        def extra_repr(self):
            return "size=3"

    class Multi(nn.Module):
        def extra_repr(self):
            return "a=1\nb=2"
    top = nn.Module()
    top.leaf = Leaf()
    top.stack = nn.ModuleList([Leaf(), Leaf(), Multi()])
    assert repr(Leaf()) == "Leaf(size=3)"
    assert repr(top) == (
        "Module(\n"
        "  (leaf): Leaf(size=3)\n"
        "  (stack): ModuleList(\n"
        "    (0-1): 2 x Leaf(size=3)\n"
        "    (2): Multi(\n"
        "      a=1\n"
        "      b=2\n"
        "    )\n"
        "  )\n"
        ")")


def test_module_repr_matches_pytorch_for_the_same_tree():
    torch = pytest.importorskip("torch")
    ours = nn.ModuleList([nn.ModuleDict({"x": nn.ModuleList(), "y": nn.Sequential()})] * 2)
    theirs = torch.nn.ModuleList(
        [torch.nn.ModuleDict({"x": torch.nn.ModuleList(), "y": torch.nn.Sequential()})] * 2)
    assert repr(ours) == repr(theirs)


def test_load_state_dict_error_is_a_runtime_error_like_pytorch():
    net = Affine()
    with pytest.raises(ArgumentError):
        net.load_state_dict({})


def test_casting_a_module_updates_the_gradient_dtype_of_parameters_already_used():
    net = Affine()
    kept = net(tg.ones(3))                      # a graph that still refers to scale
    net.half()
    (net(tg.ones(3, dtype=tg.float16)).float()).sum().backward()
    assert net.scale.grad.dtype == tg.float16 and kept.dtype == tg.float32
