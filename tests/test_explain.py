"""tapegrad.autograd.explain: one test per reason a gradient is None, each checking that the
message names the reason and the line of this file where it happened."""
import json
import sys
import threading

import numpy as np
import pytest

import tapegrad as tg
from tapegrad._core import cuts
from tapegrad._core.errors import ArgumentError, GradError
from tapegrad.autograd import explain

HERE = __file__


def _line():
    """The caller's line number (put it on the same line as the op to locate)."""
    return sys._getframe(1).f_lineno


def _at(line):
    return f"{HERE}:{line}"


@pytest.fixture(autouse=True)
def _fresh_log():
    cuts.clear()       # other tests' cuts would show up as extra (possible) causes
    yield
    cuts.clear()


def _only_cause(report, i=0):
    e = report[i]
    assert not e.connected
    assert len(e.causes) == 1, e.causes
    return e.causes[0]


# ---- connected -----------------------------------------------------------------------------
def test_connected_path_lists_ops_with_their_lines():
    w = tg.ones(3, requires_grad=True)
    h = w * 2; l1 = _line()               # noqa: E702 (one line: one site)
    loss = h.exp().sum(); l2 = _line()    # noqa: E702
    r = explain(loss, w, quiet=True)
    assert r[0].connected and not r[0].causes
    assert r[0].path == [("MulBackward0", _at(l1)), ("ExpBackward0", _at(l2)),
                         ("SumBackward0", _at(l2))]
    text = str(r)
    assert "connected through 3 op(s)" in text and _at(l1) in text and _at(l2) in text


def test_path_of_a_non_leaf_input_starts_after_its_own_op():
    w = tg.ones(3, requires_grad=True)
    h = w * 2
    loss = h.sum(); line = _line()        # noqa: E702
    r = explain(loss, h, quiet=True)
    assert r[0].connected and r[0].path == [("SumBackward0", _at(line))]


def test_graph_freed_by_backward_is_still_explained():
    w = tg.ones(3, requires_grad=True)
    loss = (w * 2).sum()
    loss.backward()                       # frees the saved values, not the links
    assert explain(loss, w, quiet=True)[0].connected


def test_long_path_is_shortened_when_printed():
    w = tg.ones(2, requires_grad=True)
    y = w
    for _ in range(40):
        y = y * 1.0
    r = explain(y.sum(), w, quiet=True)
    assert len(r[0].path) == 41
    assert "29 more ops" in str(r)


# ---- does not require grad ---------------------------------------------------------------
def test_integer_dtype():
    w = tg.ones(3, requires_grad=True)
    idx = tg.tensor([0, 2])
    loss = w[idx].sum()
    c = _only_cause(explain(loss, idx, quiet=True))
    assert c.kind == "dtype" and "int64" in c.message and "floating point" in c.message


def test_bool_dtype():
    mask = tg.tensor([True, False])
    c = _only_cause(explain(tg.ones(2, requires_grad=True).sum(), mask, quiet=True))
    assert c.kind == "dtype" and "bool" in c.message


def test_frozen_parameter():
    lin = tg.nn.Linear(2, 2)
    lin.weight.requires_grad_(False)
    loss = lin(tg.ones(1, 2)).sum()
    r = explain(loss, dict(lin.named_parameters()), quiet=True)
    assert r[0].name == "weight" and r[1].name == "bias" and r[1].connected
    c = _only_cause(r, 0)
    assert c.kind == "frozen" and "requires_grad=False" in c.message
    assert "weight" in str(r) and "frozen nn.Parameter" in str(r)


def test_plain_leaf_without_requires_grad():
    x = tg.ones(2)
    c = _only_cause(explain((x * tg.ones(2, requires_grad=True)).sum(), x, quiet=True))
    assert c.kind == "leaf" and "requires_grad=True" in c.message


# ---- grad mode off -----------------------------------------------------------------------
def test_no_grad_names_the_op_and_line():
    w = tg.ones(3, requires_grad=True)
    with tg.no_grad():
        h = w * 2; line = _line()         # noqa: E702
    loss = (h * tg.ones(3, requires_grad=True)).sum()
    c = _only_cause(explain(loss, w, quiet=True))
    assert c.kind == "no_grad" and c.op == "mul" and c.site == _at(line)
    assert "no_grad()" in c.message and _at(line) in c.message


def test_no_grad_result_as_the_input():
    w = tg.ones(3, requires_grad=True)
    with tg.no_grad():
        h = w.exp(); line = _line()       # noqa: E702
    c = _only_cause(explain(h.sum(), h, quiet=True))
    assert c.kind == "no_grad" and "it is the result of 'exp'" in c.message
    assert c.site == _at(line)


def test_inference_mode():
    w = tg.ones(3, requires_grad=True)
    with tg.inference_mode():
        h = tg.tanh(w); line = _line()    # noqa: E702
    loss = (h * tg.ones(3, requires_grad=True)).sum()
    c = _only_cause(explain(loss, w, quiet=True))
    assert c.kind == "inference_mode" and "inference_mode()" in c.message
    assert c.site == _at(line)


def test_output_under_no_grad_gets_a_note():
    w = tg.ones(3, requires_grad=True)
    with tg.no_grad():
        loss = (w * 3).sum(); line = _line()   # noqa: E702
    r = explain(loss, w, quiet=True)
    assert not r[0].connected
    # the note is about sum: its input (w * 3) did not require grad, so sum logged nothing;
    # mul on w is the cut
    assert r[0].causes[0].kind == "no_grad" and r[0].causes[0].site == _at(line)
    assert "the output does not require grad" in r.notes[0]


# ---- detach and round trips through NumPy / Python numbers -------------------------------
def test_detach():
    w = tg.ones(3, requires_grad=True)
    h = (w * 2).detach(); line = _line()  # noqa: E702
    loss = (h * tg.ones(3, requires_grad=True)).sum()
    c = _only_cause(explain(loss, w, quiet=True))
    assert c.kind == "detach" and c.site == _at(line) and "detach()" in c.message


def test_detached_tensor_as_the_input():
    w = tg.ones(3, requires_grad=True)
    d = w.detach(); line = _line()        # noqa: E702
    c = _only_cause(explain((d * w).sum(), d, quiet=True))
    assert c.kind == "detach" and "it is the result of detach()" in c.message
    assert c.site == _at(line)


def test_data():
    w = tg.ones(3, requires_grad=True)
    h = w * 2
    d = h.data; line = _line()            # noqa: E702
    loss = (d * tg.ones(3, requires_grad=True)).sum()
    c = _only_cause(explain(loss, w, quiet=True))
    assert c.kind == "data" and c.site == _at(line) and ".data" in c.message
    c = _only_cause(explain(loss, d, quiet=True))
    assert c.kind == "data" and "it is the result of .data" in c.message


def test_numpy_round_trip():
    w = tg.ones(3, requires_grad=True)
    h = w * 2
    arr = h.detach().numpy(); line = _line()   # noqa: E702
    loss = tg.tensor(np.sin(arr)).sum() + tg.ones(1, requires_grad=True).sum()
    c = _only_cause(explain(loss, w, quiet=True))
    assert c.kind == "detach+numpy" and c.site == _at(line)
    assert ".detach().numpy()" in c.message and "NumPy" in c.message


def test_numpy_force():
    w = tg.ones(3, requires_grad=True)
    h = w * 2
    arr = h.numpy(force=True); line = _line()  # noqa: E702
    c = _only_cause(explain(tg.tensor(arr).sum(), w, quiet=True))
    assert c.kind == "numpy" and c.site == _at(line)


def test_item():
    w = tg.ones(3, requires_grad=True)
    s = (w * w).sum()
    v = s.item(); line = _line()          # noqa: E702
    b = tg.ones(1, requires_grad=True)
    c = _only_cause(explain((b * v).sum(), w, quiet=True))
    assert c.kind == "item" and c.site == _at(line) and "Python number" in c.message


def test_item_of_a_temporary_is_tied_through_the_tensor_it_reduced():
    w = tg.ones(3, requires_grad=True)
    h = w * 2
    v = h.sum().item(); line = _line()    # noqa: E702 (the sum dies at once; h lives)
    c = _only_cause(explain(tg.ones(1, requires_grad=True) * v, w, quiet=True))
    assert c.kind == "item" and c.site == _at(line)


def test_item_of_an_all_temporary_chain_is_a_possible_cause():
    w = tg.ones(3, requires_grad=True)
    v = (w * 2).sum().item(); line = _line()   # noqa: E702 (nothing of it survives)
    e = explain(tg.ones(1, requires_grad=True) * v, w, quiet=True)[0]
    assert not e.connected and e.causes[0].kind == "unused"
    assert [c.kind for c in e.possible] == ["item"] and e.possible[0].site == _at(line)
    assert "possible causes" in str(e)


def test_tolist():
    w = tg.ones(3, requires_grad=True)
    h = w + 1
    vals = h.tolist(); line = _line()     # noqa: E702
    c = _only_cause(explain(tg.tensor(vals, requires_grad=True).sum(), w, quiet=True))
    assert c.kind == "tolist" and c.site == _at(line)


def test_float_and_int():
    w = tg.ones(1, requires_grad=True)
    h = w * 3
    f = float(h); lf = _line()            # noqa: E702
    k = tg.ones(1, requires_grad=True)
    g = k * 2
    n = int(g); li = _line()              # noqa: E702
    out = tg.ones(1, requires_grad=True) * (f + n)
    r = explain(out, [w, k], quiet=True)
    cf, ci = _only_cause(r, 0), _only_cause(r, 1)
    assert cf.kind == "float" and cf.site == _at(lf) and "float(t)" in cf.message
    assert ci.kind == "int" and ci.site == _at(li) and "int(t)" in ci.message


def test_conversions_inside_tapegrad_and_under_no_grad_are_not_logged():
    w = tg.ones(3, requires_grad=True)
    tg.linalg.vector_norm(w, ord=0)        # detaches internally (a straight-through count)
    with tg.no_grad():
        (w * 2).sum().item()
    assert [e for e in cuts.events() if e[0] != "no_grad"] == []


# ---- non-differentiable ops --------------------------------------------------------------
def test_comparison():
    w = tg.tensor([-1.0, 2.0], requires_grad=True)
    mask = w > 0; line = _line()          # noqa: E702
    loss = (mask.float() * tg.ones(2, requires_grad=True)).sum()
    c = _only_cause(explain(loss, w, quiet=True))
    assert c.kind == "nondiff" and c.op == "gt" and c.site == _at(line)
    assert "integer or bool" in c.message


def test_argmax_function_and_method():
    w = tg.tensor([1.0, 3.0, 2.0], requires_grad=True)
    i = tg.argmax(w); l1 = _line()        # noqa: E702
    j = w.argmin(); l2 = _line()          # noqa: E702
    r = explain(tg.ones(3, requires_grad=True)[i] + j, w, quiet=True)
    kinds = [(c.kind, c.op, c.site) for c in r[0].causes]
    assert kinds == [("nondiff", "argmax", _at(l1)), ("nondiff", "argmin", _at(l2))]


def test_integer_output_of_an_apply_op():
    w = tg.tensor([1.5, 2.5], requires_grad=True)
    k = w.to(tg.int64); line = _line()    # noqa: E702
    c = _only_cause(explain(k.float().sum(), w, quiet=True))
    assert c.kind == "nondiff" and c.site == _at(line)


def test_round_on_every_path_gives_zero_gradient():
    w = tg.tensor([1.2, 2.7], requires_grad=True)
    r_ = tg.round(w * 2); line = _line()  # noqa: E702
    loss = (r_ * 3).sum()
    e = explain(loss, w, quiet=True)[0]
    assert e.connected and e.zero
    assert e.zero_ops == [("RoundBackward0", _at(line))]
    assert "zeros, not None" in str(e)
    loss.backward()
    np.testing.assert_array_equal(w.grad.numpy(), 0)      # what explain() said


def test_zero_op_on_one_path_only_is_a_note():
    w = tg.tensor([1.2, 2.7], requires_grad=True)
    a = tg.floor(w).sum(); line = _line()       # noqa: E702 (the shortest path)
    loss = a + (w * 1.0).exp().sum()
    e = explain(loss, w, quiet=True)[0]
    assert e.connected and not e.zero
    assert e.zero_ops == [("FloorBackward0", _at(line))]
    assert "gradient comes from other paths only" in str(e)


# ---- in-place rebinding ------------------------------------------------------------------
def test_inplace_rebinding_names_the_inplace_line():
    w = tg.ones(3, requires_grad=True)
    h = w * 2
    loss = (h ** 2).sum()
    h.add_(1); line = _line()             # noqa: E702
    r = explain(loss, [h, w], quiet=True)
    c = _only_cause(r, 0)
    assert c.kind == "inplace" and c.site == _at(line) and "modified in place" in c.message
    assert r[1].connected


def test_inplace_on_a_view():
    w = tg.ones(4, requires_grad=True)
    h = w * 2
    v = h[:2]
    loss = (v * 3).sum()
    v.mul_(2); line = _line()             # noqa: E702
    c = _only_cause(explain(loss, v, quiet=True))
    assert c.kind == "inplace" and c.site == _at(line)


def test_inplace_before_use_is_connected():
    w = tg.ones(3, requires_grad=True)
    h = w * 2
    h.add_(1)
    assert explain((h * h).sum(), h, quiet=True)[0].connected


# ---- not used at all ---------------------------------------------------------------------
def test_unused_input_without_any_cut():
    w, b = tg.ones(3, requires_grad=True), tg.ones(3, requires_grad=True)
    c = _only_cause(explain((b * 2).sum(), w, quiet=True))
    assert c.kind == "unused" and "copy" in c.message


# ---- the engine's errors -----------------------------------------------------------------
def test_grad_not_used_error_appends_the_diagnosis():
    w = tg.ones(3, requires_grad=True)
    h = w * 2
    d = h.detach(); line = _line()        # noqa: E702
    b = tg.ones(3, requires_grad=True)
    with pytest.raises(GradError, match="was not used to compute the outputs") as err:
        tg.autograd.grad((d * b).sum(), [b, w])
    assert "Why: detach() at " + _at(line) in str(err.value)


def test_grad_does_not_require_grad_error_appends_the_diagnosis():
    w = tg.ones(3, requires_grad=True)
    with tg.no_grad():
        h = w * 2; line = _line()         # noqa: E702
    with pytest.raises(GradError, match="does not require grad") as err:
        tg.autograd.grad((h * w).sum(), h)
    assert "Why: it is the result of 'mul' under no_grad() at " + _at(line) in str(err.value)


def test_backward_of_an_output_without_grad_names_the_cut():
    w = tg.ones(3, requires_grad=True)
    with tg.no_grad():
        out = w * 2; line = _line()       # noqa: E702
    with pytest.raises(GradError, match="does not require grad and has no grad_fn") as err:
        out.backward(tg.ones(3))
    assert "It is the result of 'mul' under no_grad() at " + _at(line) in str(err.value)
    with tg.no_grad():
        loss = (w * 3).sum(); line = _line()   # noqa: E702 (the sum's input had no grad)
    with pytest.raises(GradError) as err:
        loss.backward()
    assert "one may be the break): 'mul' under no_grad() at " + _at(line) in str(err.value)


def test_cut_that_made_the_output_comes_first():
    w = tg.ones(3, requires_grad=True)
    with tg.no_grad():
        w * 5
        out = w * 2; line = _line()       # noqa: E702
    e = explain(out, w, quiet=True)[0]
    assert [c.made_output for c in e.causes] == [True, False]
    assert e.causes[0].site == _at(line)


def test_backward_inputs_error_appends_the_diagnosis():
    p = tg.nn.Parameter(tg.ones(2), requires_grad=False)
    with pytest.raises(GradError, match="frozen nn.Parameter"):
        (p * tg.ones(2, requires_grad=True)).sum().backward(inputs=[p])


# ---- the report ----------------------------------------------------------------------------
def test_prints_unless_quiet_and_returns_data(capsys):
    w = tg.ones(2, requires_grad=True)
    x = tg.ones(2, requires_grad=True)
    loss = (w * x.detach()).sum()
    r = explain(loss, {"w": w, "x": x})
    printed = capsys.readouterr().out
    assert printed.strip() == str(r) and "input 1 (x)" in printed
    explain(loss, w, quiet=True)
    assert capsys.readouterr().out == ""
    d = json.loads(json.dumps(r.to_dict()))
    assert [i["connected"] for i in d["inputs"]] == [True, False]
    assert d["inputs"][1]["causes"][0]["kind"] == "detach"
    assert repr(r) == "<Explanation: 1 of 2 inputs connected>"
    assert len(r) == 2 and [e.name for e in r] == ["w", "x"]


def test_named_pairs_and_several_outputs():
    lin = tg.nn.Linear(2, 1)
    a = lin(tg.ones(1, 2)).sum()
    b = lin.bias * 2
    r = explain((a, b), lin.named_parameters(), quiet=True)
    assert [e.name for e in r] == ["weight", "bias"] and all(e.connected for e in r)


def test_bad_arguments():
    w = tg.ones(2, requires_grad=True)
    with pytest.raises(ArgumentError, match="explain: expected a Tensor or a tuple/list"):
        explain(3.0, w)
    with pytest.raises(ArgumentError, match="input 1 is a list"):
        explain(w.sum(), [w, [1.0]])


# ---- the cut log -----------------------------------------------------------------------------
def test_log_is_bounded():
    loss = (tg.ones(2, requires_grad=True) * 2).sum()
    for _ in range(cuts.LIMIT + 10):
        loss.item()
    assert len(cuts.events()) == cuts.LIMIT


def test_log_is_per_thread():
    w = tg.ones(2, requires_grad=True)
    seen = []

    def work():
        (w * 2).detach()
        seen.append(len(cuts.events()))
    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen == [1] and cuts.events() == []


def test_log_does_not_keep_graphs_alive():
    import weakref
    w = tg.ones(2, requires_grad=True)
    loss = (w * 2).sum()
    loss.item()
    ref = weakref.ref(loss.grad_fn)
    del loss
    assert ref() is None
