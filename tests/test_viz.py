"""tapegrad.viz: DOT text for graphs, collapsing of repeated layers, rendering via graphviz."""
import builtins
import re
import shutil

import pytest

import tapegrad as tg
from tapegrad import nn, viz
from tapegrad._core.errors import ArgumentError, GradError


def _nodes(dot):
    """{dot id: label} of the node statements (the output ellipses included)."""
    return {m.group(1): m.group(2) for m in
            re.finditer(r'^\s*(\w+) \[.*?label="((?:[^"\\]|\\.)*)"', dot, re.M)}


def _edges(dot):
    return re.findall(r"^\s*(\w+) -> (\w+)", dot, re.M)


def _all_reach_an_output(dot):
    """Every drawn node feeds something: collapsing dropped no edge it needed."""
    sources = {a for a, _ in _edges(dot)}
    return all(k in sources for k in _nodes(dot) if not k.startswith("out"))


def _by_label(dot, text):
    return [k for k, v in _nodes(dot).items() if text in v]


def _wxb():
    """The document's example: y = W x + b, W and b parameters, x an input."""
    W = tg.randn(3, 4, requires_grad=True)
    b = tg.randn(3, requires_grad=True)
    x = tg.randn(4)
    y = W @ x + b          # the line the nodes must name
    return W, b, x, y


def test_wxb_nodes_edges_and_names():
    W, b, x, y = _wxb()
    dot = viz.to_dot(y, params={"W": W, "b": b})
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    [add] = _by_label(dot, "AddBackward0")
    [mm] = _by_label(dot, y.grad_fn.parents[0].name())
    [w] = _by_label(dot, "W\\n(3, 4) float32")
    [bb] = _by_label(dot, "b\\n(3) float32")
    [out] = _by_label(dot, "output")
    edges = set(_edges(dot))
    assert {(w, mm), (mm, add), (bb, add), (add, out)} <= edges
    assert len(edges) == 4 and len(_nodes(dot)) == 5     # x needs no grad: no node
    # every op node names this test file and the line of ``y = W @ x + b``
    assert "test_viz.py:" in _nodes(dot)[add]
    line = int(re.search(r"test_viz\.py:(\d+)", _nodes(dot)[add]).group(1))
    with open(__file__) as f:
        assert "the line the nodes must name" in f.read().splitlines()[line - 1]


def test_leaves_without_names_show_shape():
    W, b, x, y = _wxb()
    labels = _nodes(viz.to_dot(y)).values()
    assert "(3, 4) float32" in labels and "(3) float32" in labels
    assert not any(v.startswith("W") for v in labels)


def test_module_parameter_names():
    model = nn.Linear(4, 2)
    loss = model(tg.randn(5, 4)).sum()
    dot = viz.to_dot(loss, params=dict(model.named_parameters()))
    assert _by_label(dot, "weight\\n(2, 4)") and _by_label(dot, "bias\\n(2)")


def test_dot_parses_with_pydot():
    pydot = pytest.importorskip("pydot")
    W, b, x, y = _wxb()
    [g] = pydot.graph_from_dot_data(viz.to_dot(y, params={"W": W, "b": b}, show_saved=True))
    assert len(g.get_edges()) == 4
    labels = [n.get_label() for n in g.get_nodes() if n.get_label()]
    assert any("AddBackward0" in lab for lab in labels)


def test_dot_loads_in_graphviz_package():
    graphviz = pytest.importorskip("graphviz")
    W, b, x, y = _wxb()
    src = graphviz.Source(viz.to_dot(y, params={"W": W, "b": b}))
    assert "AddBackward0" in src.source


@pytest.mark.parametrize("fmt, magic", [("svg", b"<svg"), ("png", b"\x89PNG")])
def test_render_with_dot(tmp_path, fmt, magic):
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed (apt-get install graphviz)")
    W, b, x, y = _wxb()
    path = tmp_path / f"g.{fmt}"
    assert viz.render(y, format=fmt, path=str(path), params={"W": W}) == str(path)
    assert magic in path.read_bytes()[:1000]     # (an SVG starts with an XML prolog)
    assert "<svg" in viz.show(y)._repr_svg_()


def test_show_saved_bytes_and_freed():
    x = tg.ones(10, requires_grad=True)          # float32: 40 bytes
    y = (x * x).sum()                            # mul saves both inputs: the same 40 bytes
    dot = viz.to_dot(y, show_saved=True)
    [mul] = _by_label(dot, "MulBackward0")
    assert "saved 40 B" in _nodes(dot)[mul]
    z = tg.exp(tg.ones(1000, dtype=tg.float64, requires_grad=True))   # exp saves its output
    dz = viz.to_dot(z, show_saved=True)
    assert "saved 7.8 KiB" in _nodes(dz)[_by_label(dz, "ExpBackward0")[0]]
    assert "saved" not in viz.to_dot(y)
    y.backward()
    assert "saved: freed" in viz.to_dot(y, show_saved=True)


def test_hooks_and_retained_grads_marked():
    x = tg.ones(3, requires_grad=True)
    h = x * 2
    h.retain_grad()
    k = h + 1
    k.register_hook(lambda g: g)
    x.register_post_accumulate_grad_hook(lambda t: None)
    dot = viz.to_dot(k.sum())
    assert "retain_grad" in _nodes(dot)[_by_label(dot, "MulBackward0")[0]]
    assert "hook" in _nodes(dot)[_by_label(dot, "AddBackward0")[0]]
    [leaf] = [v for v in _nodes(dot).values() if v.startswith("(3) float32")]
    assert "post-accumulate hook" in leaf
    assert "hook" not in _nodes(dot)[_by_label(dot, "SumBackward0")[0]]


def test_several_outputs_share_a_graph():
    x = tg.ones(2, requires_grad=True)
    h = x.exp()
    dot = viz.to_dot((h.sum(), h.mean()))
    assert len(_by_label(dot, "ExpBackward0")) == 1       # drawn once
    assert len(_by_label(dot, "output")) == 2
    assert len(_by_label(viz.to_dot([h.sum()]), "output")) == 1


def test_long_chain_collapses():
    layers = [nn.Linear(4, 4) for _ in range(1000)]
    model = nn.Sequential(*[m for lin in layers for m in (lin, nn.Tanh())])
    loss = model(tg.randn(2, 4)).sum()
    dot = viz.to_dot(loss, params=dict(model.named_parameters()))
    assert len(_nodes(dot)) <= 12 and len(_edges(dot)) <= 12
    # the input needs no grad, so the first layer differs: the other 999 collapse
    assert "repeated 999 times (2 ops each)" in dot
    assert _by_label(dot, "2.weight .. 1998.weight")
    assert _by_label(dot, "0.weight")
    assert _all_reach_an_output(dot)
    full = viz.to_dot(loss, collapse=None)
    assert len(_by_label(full, "LinearBackward0")) == 1000


def test_residual_blocks_collapse_and_short_runs_stay():
    x = tg.ones(3, requires_grad=True)
    y = x
    for _ in range(50):
        y = y + tg.relu(y * 2)
    dot = viz.to_dot(y)
    # the first block reads the leaf x instead of the previous block: 49 collapse, 1 drawn
    assert "repeated 49 times (3 ops each)" in dot and _all_reach_an_output(dot)
    assert len(_nodes(dot)) <= 9
    y2 = x * 2 * 2                  # two repeats: under the default threshold of 3
    assert "repeated" not in viz.to_dot(y2)
    assert "repeated 2 times" in viz.to_dot(y2, collapse=2)


def test_errors():
    with pytest.raises(GradError, match="requires_grad=True"):
        viz.to_dot(tg.ones(2))
    with pytest.raises(ArgumentError, match="tensor"):
        viz.to_dot([1.0])
    with pytest.raises(ArgumentError, match="named_parameters"):
        viz.to_dot(tg.ones(1, requires_grad=True) * 2, params={"w": 1.0})
    with pytest.raises(ArgumentError, match="svg"):
        viz.render(tg.ones(1, requires_grad=True) * 2, format="jpg")


def test_missing_graphviz_package(monkeypatch):
    real_import = builtins.__import__

    def no_graphviz(name, *args, **kwargs):
        if name == "graphviz":
            raise ImportError("No module named 'graphviz'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_graphviz)
    with pytest.raises(ImportError, match="pip install graphviz"):
        viz.render(tg.ones(1, requires_grad=True) * 2)


def test_missing_dot_program(monkeypatch):
    import sys
    import types
    monkeypatch.setitem(sys.modules, "graphviz", types.ModuleType("graphviz"))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        viz.render(tg.ones(1, requires_grad=True) * 2, format="png")


def test_import_stays_light():
    import os
    import subprocess
    import sys
    src = os.path.dirname(os.path.dirname(tg.__file__))
    code = "import sys, tapegrad; print(tapegrad.viz.__name__, 'graphviz' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=src)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.split() == ["tapegrad.viz", "False"], out.stderr


def test_two_towers_both_collapse():
    a = tg.ones(3, requires_grad=True)
    b = tg.ones(3, requires_grad=True)
    for _ in range(300):
        a = tg.tanh(a * 2)
        b = tg.sin(b + 1)
    dot = viz.to_dot(a.sum() + b.sum())
    assert len(_nodes(dot)) <= 12
    assert dot.count("repeated 300 times (2 ops each)") == 2
    assert _all_reach_an_output(dot)


def test_accumulating_loop_collapses():
    x = tg.ones(3, requires_grad=True)
    s = x * 0
    for i in range(500):
        s = s + tg.exp(x * (i / 500))      # every term reads the same leaf x
    dot = viz.to_dot(s)
    # the last term meets s = x * 0, which is shorter, so the spine turns there: 499 or 500
    assert re.search(r"repeated (499|500) times \(1 op each\)", dot)
    assert len(_nodes(dot)) <= 10


def test_run_that_ends_on_another_spine_stays_connected():
    x = tg.ones(3, requires_grad=True)
    c = tg.tanh(tg.tanh(x))
    long, short = c, c
    for _ in range(50):
        long = tg.cos(long)
    for _ in range(30):
        short = tg.sin(short)          # its spine stops at c, already on long's spine
    dot = viz.to_dot((long, short))
    assert "repeated 50 times" in dot and "repeated 30 times" in dot
    [sin] = _by_label(dot, "SinBackward0")
    tanhs = [k for k, v in _nodes(dot).items() if v.startswith("TanhBackward0")]
    assert _all_reach_an_output(dot)
    assert any(a in tanhs and b == sin for a, b in _edges(dot))   # sin reads c


def test_show_falls_back_to_text_without_graphviz(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)      # no dot program
    pic = viz.show(tg.ones(2, requires_grad=True) * 2, show_saved=True)
    assert pic._repr_svg_() is None
    assert repr(pic).startswith("digraph") and "saved" in pic.source


def test_a_tensor_with_a_graph_shows_its_picture_in_a_notebook():
    y = tg.ones(2, requires_grad=True) * 3
    assert tg.ones(2)._repr_svg_() is None             # no graph: Jupyter shows the text
    assert viz.tensor_svg(y) is None or "<svg" in viz.tensor_svg(y)
    previous = viz.notebook_display(False)
    try:
        assert y._repr_svg_() is None
    finally:
        viz.notebook_display(previous)
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("the dot program is not installed (apt-get install graphviz)")
    svg = y._repr_svg_()
    assert "<svg" in svg and "MulBackward0" in svg
    assert "tensor([3., 3.]" in svg                     # the values, as the caption


def test_notebook_picture_falls_back_to_text_without_dot(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert (tg.ones(2, requires_grad=True) * 2)._repr_svg_() is None
