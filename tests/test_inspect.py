"""tapegrad.autograd.graph.inspect: the tape inspector's counts, sites, bytes and output."""
import json
import sys

import numpy as np
import pytest

import tapegrad as tg
from tapegrad._core.errors import ArgumentError
from tapegrad.autograd.graph import inspect

F32 = np.dtype(np.float32).itemsize


def _nbytes(t):
    return t.detach().numpy().nbytes


def _line():
    """The caller's line number (put on the same line as the ops to locate)."""
    return sys._getframe(1).f_lineno


def _mlp():
    tg.manual_seed(0)
    model = tg.nn.Sequential(tg.nn.Linear(3, 4), tg.nn.ReLU(), tg.nn.Linear(4, 2))
    x = tg.randn(5, 3)
    loss = ((model(x) - 1) ** 2).mean(); line = _line()  # noqa: E702 (one line: one site)
    return model, x, loss, line


def test_mlp_counts_by_op():
    model, _, loss, _ = _mlp()
    r = inspect(loss)
    counts = {k: g["count"] for k, g in r.by_op.items()}
    assert counts == {"LinearBackward0": 2, "ReluBackward0": 1, "SubBackward0": 1,
                      "PowBackward0": 1, "MeanBackward0": 1, "AccumulateGrad": 4}
    assert r.nodes == 10 and r.leaves == 4
    assert r.by_op["LinearBackward0"]["shapes"] == [(5, 2), (5, 4)]
    assert r.by_op["MeanBackward0"]["shapes"] == [()]
    assert sorted(r.by_op["AccumulateGrad"]["shapes"]) == sorted(
        p.shape for p in model.parameters())


def test_mlp_sites_name_this_files_lines():
    _, _, loss, line = _mlp()
    r = inspect(loss)
    assert set(r.by_site) == {f"{__file__}:{line}", "(leaf)"}
    assert r.by_site[f"{__file__}:{line}"]["count"] == 6
    assert r.by_site["(leaf)"]["count"] == 4
    a = tg.ones(2, requires_grad=True)
    b = a.exp(); l1 = _line()  # noqa: E702
    c = b.sum(); l2 = _line()  # noqa: E702
    sites = inspect(c).by_site
    assert sites[f"{__file__}:{l1}"]["count"] == 1 and sites[f"{__file__}:{l2}"]["count"] == 1


def test_mlp_saved_bytes_are_the_known_arrays():
    model, x, loss, _ = _mlp()
    w2 = model[2].weight
    # Linear 1 saves its input x (its weight's gradient needs it; x needs no gradient, so
    # the weight is not saved); ReLU saves its output, which Linear 2 saves as its input
    # (one array); Linear 2 saves its weight too; pow saves its base, (model(x) - 1).
    relu_out, w2_bytes, base = 5 * 4 * F32, _nbytes(w2), 5 * 2 * F32
    r = inspect(loss)
    assert r.saved_bytes == _nbytes(x) + relu_out + w2_bytes + base
    assert r.saved_arrays == 4
    assert r.by_op["LinearBackward0"]["saved_bytes"] == _nbytes(x) + relu_out + w2_bytes
    assert r.by_op["ReluBackward0"]["saved_bytes"] == relu_out
    assert r.by_op["PowBackward0"]["saved_bytes"] == base
    assert r.by_op["SubBackward0"]["saved_bytes"] == 0
    leaf_bytes = sum(_nbytes(p) for p in model.parameters())
    # w2 is both saved and a leaf: kept alive once.
    assert r.kept_alive_bytes == r.saved_bytes + leaf_bytes - w2_bytes


def test_by_module_with_a_model():
    model, _, loss, _ = _mlp()
    r = inspect(loss, model=model)
    mods = {k: g["count"] for k, g in r.by_module.items()}
    # each Linear: its node and its weight's and bias's accumulators
    assert mods == {"0": 3, "2": 3, "(no parameter)": 4}
    assert r.by_module["2"]["saved_bytes"] == 5 * 4 * F32 + _nbytes(model[2].weight)
    assert inspect(loss).by_module is None
    lin = tg.nn.Linear(2, 2)
    r = inspect(lin(tg.ones(1, 2)).sum(), model=lin)
    assert r.by_module["Linear"]["count"] == 3       # the root module goes by its class name
    with pytest.raises(ArgumentError, match="nn.Module"):
        inspect(loss, model=object())


def test_to_dict_is_plain_json():
    model, _, loss, line = _mlp()
    d = inspect(loss, model=model).to_dict()
    back = json.loads(json.dumps(d))
    assert back == d
    assert d["by_op"]["LinearBackward0"]["shapes"] == [[5, 2], [5, 4]]
    assert d["by_site"][f"{__file__}:{line}"]["count"] == 6
    assert d["freed"] is False and d["nodes"] == 10
    assert json.loads(inspect(loss).to_json())["by_module"] is None


def test_printed_table_has_headings_and_rows():
    model, _, loss, _ = _mlp()
    text = str(inspect(loss, model=model))
    for heading in ("by op", "by site", "by module", "count", "saved", "output shapes"):
        assert heading in text
    lines = text.splitlines()
    assert lines[0].startswith("graph: 10 nodes (4 leaves)")
    row = next(ln for ln in lines if ln.startswith("LinearBackward0"))
    header = next(ln for ln in lines if ln.startswith("op "))
    # aligned: the count column ends where its heading does
    assert row.index(" 2 ") + 2 == header.index("count") + len("count")
    assert "freed" not in text


def test_freed_graph_after_backward():
    model, _, loss, _ = _mlp()
    leaf_bytes = sum(_nbytes(p) for p in model.parameters())
    loss.backward()
    r = inspect(loss)
    assert r.freed and r.saved_bytes == 0 and r.saved_arrays == 0
    assert all(g["saved_bytes"] == 0 for g in r.by_op.values())
    assert r.nodes == 10                             # the nodes are still there
    assert r.kept_alive_bytes == leaf_bytes          # and so are the parameters they hold
    assert "retain_graph=True" in str(r)
    assert r.to_dict()["freed"] is True


def test_retain_graph_keeps_the_saved_bytes():
    _, _, loss, _ = _mlp()
    before = inspect(loss).saved_bytes
    loss.backward(retain_graph=True)
    r = inspect(loss)
    assert not r.freed and r.saved_bytes == before > 0


def test_shared_saved_array_counted_once():
    x = tg.ones(10, requires_grad=True)
    n = _nbytes(x)
    assert inspect(x * x).saved_bytes == n           # one node saving one array twice
    y = x.exp() + x.sin()                            # two nodes saving the same x
    r = inspect(y)
    exp_out = n                                      # exp saves its output
    assert r.saved_bytes == n + exp_out and r.saved_arrays == 2
    assert r.by_op["SinBackward0"]["saved_bytes"] == n   # each group counts what it keeps
    assert r.kept_alive_bytes == n + exp_out         # x is saved and the leaf: once


def test_several_outputs_and_a_shared_subgraph():
    x = tg.ones(3, requires_grad=True)
    h = x.exp()
    r = inspect((h.sum(), (h * 2).sum()))
    assert r.by_op["ExpBackward0"]["count"] == 1 and r.by_op["AccumulateGrad"]["count"] == 1
    assert r.nodes == 5                               # sum, sum, mul, exp, x
    assert inspect([h]).nodes == 2


def test_leaf_and_untracked_outputs():
    x = tg.ones(3, requires_grad=True)
    r = inspect(x)
    assert r.nodes == 1 and r.leaves == 1 and r.kept_alive_bytes == _nbytes(x)
    r = inspect(tg.ones(3) * 2)
    assert r.nodes == 0 and r.saved_bytes == 0 and "0 nodes" in str(r)


def test_not_a_tensor_is_an_error():
    with pytest.raises(ArgumentError, match="item 1 is a float"):
        inspect((tg.ones(1), 1.0))


def test_custom_function_saved_tensors():
    from test_autograd_function import _functions
    Cube = _functions(tg)[0]      # x**3, saving its input
    x = tg.ones(4, requires_grad=True)
    y = Cube.apply(x).sum()
    r = inspect(y)
    assert r.by_op["CubeBackward"]["saved_bytes"] == _nbytes(x)
    y.backward()
    r = inspect(y)
    assert r.freed and r.saved_bytes == 0


def test_saved_tensors_hooks_count_the_packed_values():
    x = tg.ones(8, requires_grad=True)
    with tg.autograd.graph.saved_tensors_hooks(lambda t: t.to(tg.float16),
                                               lambda t: t.to(tg.float32)):
        y = (x.exp()).sum()
    assert inspect(y).saved_bytes == 8 * 2            # the float16 copy is what is kept
    with tg.autograd.graph.saved_tensors_hooks(lambda t: "opaque", lambda p: None):
        z = x.exp()
    r = inspect(z)
    assert r.opaque_saved == 1 and r.saved_bytes == 0 and "unknown size" in str(r)


def test_function_with_several_outputs():
    class SinCos(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return tg.sin(x), tg.cos(x)

        @staticmethod
        def backward(ctx, gs, gc):
            (x,) = ctx.saved_tensors
            return gs * tg.cos(x) - gc * tg.sin(x)

    x = tg.ones(4, requires_grad=True)
    s, c = SinCos.apply(x)
    r = inspect((s * c).sum())
    # its two outputs' shapes, both (4,), listed once: shapes are the distinct ones seen
    assert r.by_op["SinCosBackward"] == {"count": 1, "saved_bytes": _nbytes(x),
                                         "shapes": [(4,)]}
    assert r.by_op["SinCosBackward (output)"]["count"] == 2


def test_long_tables_are_cut_in_print_but_not_in_data():
    x = tg.ones(2, requires_grad=True)
    y = x
    for _ in range(30):
        y = y * 1.5; line = _line()  # noqa: E702  (one site, 30 nodes)
    h = x
    for k in range(25):          # 25 sites: one per line of a generated function
        exec(f"def f{k}(h):\n" + "\n" * k + "    return h.sin()", globals())
        h = globals()[f"f{k}"](h)
    r = inspect((y.sum(), h.sum()))
    assert r.by_site[f"{__file__}:{line}"]["count"] == 30
    assert len(r.by_site) == 28           # 25 generated lines, two here, the leaf
    text = str(r)
    assert "... 8 more site rows in to_dict()" in text
    assert len(r.to_dict()["by_site"]) == 28
