"""Recurrent modules (nn.RNN, LSTM, GRU and the cells) and nn.utils.rnn: parameter names and
initialisation, forward against an unrolled reference written here with nn.functional,
packed against padded and per-sequence runs, gradcheck, errors, reprs, and (when torch is
installed) parity with PyTorch with the weights copied by name."""
import math
import warnings

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn as nn
import tapegrad.nn.functional as F
from tapegrad.autograd.gradcheck import gradcheck, gradgradcheck
from tapegrad.nn.utils.rnn import (PackedSequence, invert_permutation, pack_padded_sequence,
                                   pack_sequence, pad_packed_sequence, pad_sequence,
                                   unpack_sequence, unpad_sequence)

KINDS = ["RNN", "RNN_relu", "LSTM", "GRU"]


def make(kind, *args, **kwargs):
    if kind == "RNN_relu":
        return nn.RNN(*args, nonlinearity="relu", **kwargs)
    return getattr(nn, kind)(*args, **kwargs)


def arr(t):
    return t.detach().numpy()


def rand(rng, *shape, dtype=np.float64, requires_grad=False):
    return tg.tensor(rng.uniform(-1, 1, shape).astype(dtype), requires_grad=requires_grad)


# ---- the reference: every step unrolled with nn.functional ------------------------------------
def ref_cell(mode, x, h, c, w_ih, w_hh, b_ih, b_hh):
    gi, gh = F.linear(x, w_ih, b_ih), F.linear(h, w_hh, b_hh)
    if mode == "LSTM":
        i, f, g, o = (gi + gh).chunk(4, 1)
        c = F.sigmoid(f) * c + F.sigmoid(i) * F.tanh(g)
        return F.sigmoid(o) * F.tanh(c), c
    if mode == "GRU":
        (ir, iz, i_n), (hr, hz, hn) = gi.chunk(3, 1), gh.chunk(3, 1)
        r, z = F.sigmoid(ir + hr), F.sigmoid(iz + hz)
        n = F.tanh(i_n + r * hn)
        return (1 - z) * n + z * h, None
    a = gi + gh
    return (F.relu(a) if mode == "RNN_RELU" else F.tanh(a)), None


def reference(m, x, hx=None):
    """(output (T, B, D * H), h_n, c_n) of module ``m`` on a padded (T, B, I) input, every step
    and direction unrolled."""
    steps, batch = x.shape[0], x.shape[1]
    dirs = 2 if m.bidirectional else 1
    layer_in = [x[t] for t in range(steps)]
    hs, cs = [], []
    for layer in range(m.num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w = [getattr(m, n + sfx) if m.bias or n.startswith("weight") else None
                 for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            zero = tg.zeros((batch, m.hidden_size), dtype=x.dtype)
            h = zero if hx is None else hx[0][k]
            c = zero if hx is None or len(hx) < 2 else hx[1][k]
            out = [None] * steps
            for t in (reversed(range(steps)) if d else range(steps)):
                h, c = ref_cell(m.mode, layer_in[t], h, c, *w)
                out[t] = h
            outs.append(out)
            hs.append(h)
            cs.append(c)
        layer_in = [tg.cat([o[t] for o in outs], 1) for t in range(steps)]
    return tg.stack(layer_in), tg.stack(hs), (tg.stack(cs) if m.mode == "LSTM" else None)


def split_result(m, result):
    out, state = result
    return (out, state[0], state[1]) if isinstance(m, nn.LSTM) else (out, state, None)


# ---- parameters and initialisation ------------------------------------------------------------
def expected_names(num_layers, bidirectional, bias):
    names = []
    for layer in range(num_layers):
        for sfx in ("", "_reverse") if bidirectional else ("",):
            kinds = ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if bias else ())
            names += [f"{k}_l{layer}{sfx}" for k in kinds]
    return names


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layers, bidi, bias", [(1, False, True), (2, True, True),
                                                (3, False, False)])
def test_parameter_names_order_and_shapes(kind, layers, bidi, bias):
    m = make(kind, 3, 5, num_layers=layers, bidirectional=bidi, bias=bias)
    gates = {"LSTM": 4, "GRU": 3}.get(kind, 1) * 5
    names = [n for n, _ in m.named_parameters()]
    assert names == expected_names(layers, bidi, bias)
    assert list(m.state_dict()) == names
    dirs = 2 if bidi else 1
    for n, p in m.named_parameters():
        layer = int(n.split("_l")[1][0])
        if n.startswith("weight_ih"):
            assert p.shape == (gates, 3 if layer == 0 else 5 * dirs)
        elif n.startswith("weight_hh"):
            assert p.shape == (gates, 5)
        else:
            assert p.shape == (gates,)
        assert p.dtype == tg.float32 and p.requires_grad
    assert [len(ws) for ws in m.all_weights] == [4 if bias else 2] * (layers * dirs)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_parameter_names(kind):
    m = getattr(nn, kind)(3, 4)
    g = {"LSTMCell": 4, "GRUCell": 3}.get(kind, 1) * 4
    assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == [
        ("weight_ih", (g, 3)), ("weight_hh", (g, 4)), ("bias_ih", (g,)), ("bias_hh", (g,))]
    nb = getattr(nn, kind)(3, 4, bias=False)
    assert [n for n, _ in nb.named_parameters()] == ["weight_ih", "weight_hh"]
    assert nb.bias_ih is None and nb.bias_hh is None


@pytest.mark.parametrize("m", [nn.LSTM(16, 64, num_layers=2, bidirectional=True),
                               nn.GRU(8, 64), nn.RNN(8, 64), nn.LSTMCell(16, 64),
                               nn.GRUCell(8, 64), nn.RNNCell(8, 64)], ids=repr)
def test_default_init_is_uniform_over_one_over_sqrt_hidden(m):
    bound = 1 / math.sqrt(64)
    for name, p in m.named_parameters():
        v = arr(p).ravel()
        assert v.min() >= -bound and v.max() <= bound, name
        if v.size >= 1000:
            assert abs(v.mean()) < 0.1 * bound, name
            assert abs(v.std() - bound / math.sqrt(3)) < 0.05 * bound, name
    allv = np.concatenate([arr(p).ravel() for p in m.parameters()])
    assert abs(allv.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert allv.max() > 0.95 * bound and allv.min() < -0.95 * bound


def test_init_is_reproducible_with_manual_seed_and_dtype_kwarg():
    tg.manual_seed(3)
    a = nn.GRU(2, 3, dtype=tg.float64)
    tg.manual_seed(3)
    b = nn.GRU(2, 3, dtype=tg.float64, device="cpu")
    assert all(p.dtype == tg.float64 for p in a.parameters())
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(arr(p), arr(q))


def test_repr():
    assert repr(nn.LSTM(3, 4, 2, bidirectional=True, batch_first=True, dropout=0.5)) == \
        "LSTM(3, 4, num_layers=2, batch_first=True, dropout=0.5, bidirectional=True)"
    assert repr(nn.RNN(3, 4, nonlinearity="relu", bias=False)) == "RNN(3, 4, bias=False)"
    assert repr(nn.GRU(3, 4)) == "GRU(3, 4)"
    assert repr(nn.LSTMCell(3, 4)) == "LSTMCell(3, 4)"
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu", bias=False)) == \
        "RNNCell(3, 4, bias=False, nonlinearity=relu)"
    assert repr(nn.GRUCell(3, 4)) == "GRUCell(3, 4)"
    assert repr(nn.Sequential(nn.GRU(2, 3))) == "Sequential(\n  (0): GRU(2, 3)\n)"


# ---- forward and gradients against the unrolled reference --------------------------------------
CONFIGS = [dict(num_layers=1), dict(num_layers=2, bidirectional=True, batch_first=True),
           dict(num_layers=2, bias=False), dict(bidirectional=True)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
@pytest.mark.parametrize("with_state", [False, True])
def test_matches_unrolled_reference(kind, cfg, with_state):
    rng = np.random.default_rng(0)
    m = make(kind, 3, 4, **cfg).double()
    dirs = 2 if m.bidirectional else 1
    x = rand(rng, 5, 2, 3, requires_grad=True)
    hx = None
    if with_state:
        n = (2 if kind == "LSTM" else 1)
        hx = tuple(rand(rng, m.num_layers * dirs, 2, 4, requires_grad=True) for _ in range(n))
    xin = x.transpose(0, 1) if m.batch_first else x
    state = None if hx is None else (hx if kind == "LSTM" else hx[0])
    out, h_n, c_n = split_result(m, m(xin, state))
    if m.batch_first:
        out = out.transpose(0, 1)
    r_out, r_h, r_c = reference(m, x, hx)
    assert out.shape == (5, 2, 4 * dirs) and h_n.shape == (m.num_layers * dirs, 2, 4)
    np.testing.assert_allclose(arr(out), arr(r_out), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(arr(h_n), arr(r_h), rtol=1e-12, atol=1e-12)
    if kind == "LSTM":
        np.testing.assert_allclose(arr(c_n), arr(r_c), rtol=1e-12, atol=1e-12)
    # gradients of one scalar of all outputs, to the input, states and every parameter
    leaves = [x] + ([] if hx is None else list(hx)) + list(m.parameters())
    weights = [rand(rng, *o.shape) for o in (out, h_n) + ((c_n,) if c_n is not None else ())]

    def loss(outs):
        return sum((o * w).sum() for o, w in zip(outs, weights))
    got = tg.autograd.grad(loss([out, h_n] + ([c_n] if c_n is not None else [])), leaves)
    want = tg.autograd.grad(loss([r_out, r_h] + ([r_c] if r_c is not None else [])), leaves)
    for g, w in zip(got, want):
        np.testing.assert_allclose(arr(g), arr(w), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_input_is_a_batch_of_one(kind):
    rng = np.random.default_rng(1)
    m = make(kind, 3, 4, num_layers=2, bidirectional=True).double()
    x = rand(rng, 5, 3)
    h = rand(rng, 4, 4)
    state = (h, h * 0.5) if kind == "LSTM" else h
    out, h_n, c_n = split_result(m, m(x, state))
    batched_state = (h.unsqueeze(1), (h * 0.5).unsqueeze(1)) if kind == "LSTM" \
        else h.unsqueeze(1)
    out1, h1, c1 = split_result(m, m(x.unsqueeze(1), batched_state))
    assert out.shape == (5, 8) and h_n.shape == (4, 4)
    np.testing.assert_allclose(arr(out), arr(out1[:, 0]), rtol=1e-13)
    np.testing.assert_allclose(arr(h_n), arr(h1[:, 0]), rtol=1e-13)
    if kind == "LSTM":
        assert c_n.shape == (4, 4)
        np.testing.assert_allclose(arr(c_n), arr(c1[:, 0]), rtol=1e-13)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bidi", [False, True])
def test_packed_matches_each_sequence_run_alone(kind, bidi):
    rng = np.random.default_rng(2)
    m = make(kind, 3, 4, num_layers=2, bidirectional=bidi).double()
    lengths = [3, 5, 1, 4]
    seqs = [rand(rng, n, 3, requires_grad=True) for n in lengths]
    dirs = 2 if bidi else 1
    hs = [rand(rng, 2 * dirs, 4) for _ in lengths]
    h0 = tg.stack(hs, 1)
    state = (h0, h0 * 2) if kind == "LSTM" else h0
    packed = pack_sequence(seqs, enforce_sorted=False)
    out, h_n, c_n = split_result(m, m(packed, state))
    assert isinstance(out, PackedSequence)
    np.testing.assert_array_equal(out.batch_sizes.numpy(), packed.batch_sizes.numpy())
    padded, out_lengths = pad_packed_sequence(out)
    assert out_lengths.tolist() == lengths
    assert padded.shape == (5, 4, 4 * dirs) and h_n.shape == (2 * dirs, 4, 4)
    loss = (padded * padded).sum() + h_n.sum() + (0 if c_n is None else (c_n * 3).sum())
    grads = tg.autograd.grad(loss, seqs)
    for b, (s, n) in enumerate(zip(seqs, lengths)):
        st = (hs[b], hs[b] * 2) if kind == "LSTM" else hs[b]
        o1, h1, c1 = split_result(m, m(s, st))
        np.testing.assert_allclose(arr(padded[:n, b]), arr(o1), rtol=1e-12, atol=1e-13)
        assert np.all(arr(padded[n:, b]) == 0)
        np.testing.assert_allclose(arr(h_n[:, b]), arr(h1), rtol=1e-12, atol=1e-13)
        if kind == "LSTM":
            np.testing.assert_allclose(arr(c_n[:, b]), arr(c1), rtol=1e-12, atol=1e-13)
        loss1 = (o1 * o1).sum() + h1.sum() + (0 if c1 is None else (c1 * 3).sum())
        (g1,) = tg.autograd.grad(loss1, [s])
        np.testing.assert_allclose(arr(grads[b]), arr(g1), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_packed_of_equal_lengths_equals_padded(kind):
    rng = np.random.default_rng(3)
    m = make(kind, 3, 4, bidirectional=True, batch_first=True).double()
    x = rand(rng, 2, 4, 3)
    out, h_n, _ = split_result(m, m(x))
    pout, ph_n, _ = split_result(m, m(pack_padded_sequence(x, [4, 4], batch_first=True)))
    padded, _ = pad_packed_sequence(pout, batch_first=True)
    np.testing.assert_allclose(arr(padded), arr(out), rtol=1e-13)
    np.testing.assert_allclose(arr(ph_n), arr(h_n), rtol=1e-13)


def test_output_shapes():
    m = nn.LSTM(3, 4, num_layers=3, bidirectional=True, batch_first=True)
    out, (h, c) = m(tg.randn(2, 7, 3))
    assert (out.shape, h.shape, c.shape) == ((2, 7, 8), (6, 2, 4), (6, 2, 4))
    out, h = nn.GRU(3, 4, num_layers=2)(tg.randn(7, 3))
    assert (out.shape, h.shape) == ((7, 4), (2, 4))
    out, h = nn.RNN(3, 4, bidirectional=True)(pack_sequence([tg.randn(3, 3), tg.randn(2, 3)]))
    assert (out.data.shape, h.shape) == ((5, 8), (2, 2, 4))


# ---- gradcheck (float64, tiny) -------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck_padded_multilayer_bidirectional(kind):
    rng = np.random.default_rng(4)
    m = make(kind, 2, 2, num_layers=2, bidirectional=True).double()
    x = rand(rng, 3, 2, 2, requires_grad=True)
    h0 = rand(rng, 4, 2, 2, requires_grad=True)
    c0 = rand(rng, 4, 2, 2, requires_grad=True)
    params = list(m.parameters())

    def f(x, h0, c0, *ps):
        out, h_n, c_n = split_result(m, m(x, (h0, c0) if kind == "LSTM" else h0))
        return (out, h_n) if c_n is None else (out, h_n, c_n)
    inputs = (x, h0, c0) if kind == "LSTM" else (x, h0)
    if kind != "LSTM":
        assert gradcheck(lambda x, h0, *ps: f(x, h0, None), inputs + tuple(params))
    else:
        assert gradcheck(f, inputs + tuple(params))


@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck_packed(kind):
    rng = np.random.default_rng(5)
    m = make(kind, 2, 2, bidirectional=True).double()
    seqs = [rand(rng, n, 2, requires_grad=True) for n in (2, 3, 1)]

    def f(*args):
        out, h_n, _ = split_result(m, m(pack_sequence(list(args[:3]), enforce_sorted=False)))
        return pad_packed_sequence(out)[0], h_n
    assert gradcheck(f, tuple(seqs) + tuple(m.parameters()))


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_gradgradcheck(kind):
    rng = np.random.default_rng(6)
    m = make(kind, 2, 2).double()
    x = rand(rng, 3, 2, 2, requires_grad=True)
    assert gradgradcheck(lambda x, *ps: m(x)[0], (x,) + tuple(m.parameters()))


def test_second_backward_with_retain_graph_gives_the_same_gradients():
    rng = np.random.default_rng(7)
    m = nn.LSTM(2, 3, num_layers=2).double()
    out, _ = m(rand(rng, 4, 2, 2))
    loss = (out * out).sum()
    loss.backward(retain_graph=True)
    first = [arr(p.grad).copy() for p in m.parameters()]
    m.zero_grad()
    loss.backward()
    for a, p in zip(first, m.parameters()):
        np.testing.assert_allclose(arr(p.grad), a, rtol=1e-12)


def test_float32_gradients_are_float32_and_no_grad_records_nothing():
    m = nn.GRU(3, 4, num_layers=2)
    out, h = m(tg.randn(5, 2, 3))
    (out.sum() + h.sum()).backward()
    assert all(p.grad.dtype == tg.float32 and p.grad.shape == p.shape for p in m.parameters())
    with tg.no_grad():
        out, h = m(tg.randn(5, 2, 3))
    assert out.grad_fn is None and not out.requires_grad and h.grad_fn is None


def test_grad_fn_names_the_layer():
    out, (h, c) = nn.LSTM(2, 3)(tg.randn(4, 2))
    names = set()
    stack = [out.grad_fn]
    while stack:
        node = stack.pop()
        if node is not None and node.op is not None:
            names.add(node.name())
            stack.extend(node.parents)
    assert "LstmLayerBackward0" in names


# ---- dropout between layers ----------------------------------------------------------------------
def test_dropout_applies_between_layers_in_training_only():
    tg.manual_seed(0)
    m = nn.LSTM(3, 4, num_layers=2, dropout=1.0).double()
    rng = np.random.default_rng(8)
    x1, x2 = rand(rng, 5, 2, 3), rand(rng, 5, 2, 3)
    out1, _ = m(x1)
    out2, _ = m(x2)      # the second layer sees zeros whatever the input
    np.testing.assert_allclose(arr(out1), arr(out2))
    m.eval()
    e1, _ = m(x1)
    e2, _ = m(x2)
    assert not np.allclose(arr(e1), arr(e2))
    plain = nn.LSTM(3, 4, num_layers=2).double()
    plain.load_state_dict(m.state_dict())
    np.testing.assert_allclose(arr(plain(x1)[0]), arr(e1), rtol=1e-13)


def test_dropout_is_random_in_training_and_leaves_the_last_layer_alone():
    tg.manual_seed(0)
    m = nn.GRU(3, 4, num_layers=2, dropout=0.5)
    x = tg.randn(6, 3, 3)
    a, ha = m(x)
    b, hb = m(x)
    assert not np.allclose(arr(a), arr(b))
    # the first layer's final state never goes through dropout
    np.testing.assert_allclose(arr(ha[0]), arr(hb[0]))


def test_dropout_with_one_layer_warns():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.GRU(3, 4, num_layers=2, dropout=0.5)


# ---- errors --------------------------------------------------------------------------------------
def test_constructor_errors():
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.LSTM(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="dropout should be a number"):
        nn.LSTM(3, 4, dropout=True)
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        nn.GRU(3, 0)
    with pytest.raises(ValueError, match="num_layers must be greater than zero"):
        nn.GRU(3, 4, 0)
    with pytest.raises(TypeError, match="hidden_size should be of type int, got: float"):
        nn.GRU(3, 4.0)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'gelu'"):
        nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match="Unknown nonlinearity: gelu"):
        nn.RNNCell(3, 4, nonlinearity="gelu")
    with pytest.raises(NotImplementedError, match="proj_size=2 .* not supported"):
        nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.RNNBase("GRU", 3, 4, proj_size=2)


def test_forward_errors_name_the_shapes():
    m = nn.LSTM(3, 4)
    with pytest.raises(ValueError, match=r"Expected 3, got 4 \(input of shape \(5, 2, 4\)\)"):
        m(tg.randn(5, 2, 4))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(1, 2, 4\), got "
                                           r"\[1, 3, 4\]"):
        m(tg.randn(5, 2, 3), (tg.randn(1, 3, 4), tg.randn(1, 2, 4)))
    with pytest.raises(ValueError, match=r"Expected hidden\[1\] size \(1, 2, 4\), got "
                                         r"\[2, 2, 4\]"):
        m(tg.randn(5, 2, 3), (tg.randn(1, 2, 4), tg.randn(2, 2, 4)))
    with pytest.raises(ValueError, match=r"hx and cx should also be 3-D but got \(2-D, 2-D\) "
                                         r"tensors \(shapes \(2, 4\), \(2, 4\)\)"):
        m(tg.randn(5, 2, 3), (tg.randn(2, 4), tg.randn(2, 4)))
    with pytest.raises(ValueError, match="For unbatched 2-D input, hx and cx should also be "
                                         "2-D but got"):
        m(tg.randn(5, 3), (tg.randn(1, 2, 4), tg.randn(1, 2, 4)))
    g = nn.GRU(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"Expected hx size \(2, 2, 4\), got \[1, 2, 4\]"):
        g(tg.randn(5, 2, 3), tg.randn(1, 2, 4))
    with pytest.raises(ValueError, match=r"Expected hx size \(2, 4\), got \[2, 5\]"):
        g(tg.randn(5, 3), tg.randn(2, 5))
    with pytest.raises(ValueError, match="For batched 3-D input, hx should also be 3-D but "
                                         "got 2-D tensor"):
        g(tg.randn(5, 2, 3), tg.randn(2, 4))
    with pytest.raises(ValueError, match=r"Expected input to be 2D or 3D, got 4D instead "
                                         r"\(input of shape \(5, 2, 3, 1\)\)"):
        g(tg.randn(5, 2, 3, 1))
    with pytest.raises(TypeError, match="dtype"):
        g(tg.randn(5, 2, 3, dtype=tg.float64))
    with pytest.raises(TypeError, match=r"tuple \(h_0, c_0\)"):
        m(tg.randn(5, 2, 3), tg.randn(1, 2, 4))
    with pytest.raises(ValueError, match=r"Expected 3, got 2"):
        m(pack_sequence([tg.randn(2, 2)]))


def test_cell_errors():
    c = nn.GRUCell(3, 4)
    with pytest.raises(ValueError, match=r"inconsistent input_size: got 4 expected 3"):
        c(tg.randn(2, 4))
    with pytest.raises(RuntimeError, match="Input batch size 2 doesn't match hidden0 batch "
                                           r"size 3 \(input \(2, 3\), hidden0 \(3, 4\)\)"):
        c(tg.randn(2, 3), tg.randn(3, 4))
    with pytest.raises(ValueError, match="Expected input to be 1D or 2D, got 3D instead"):
        c(tg.randn(2, 2, 3))
    with pytest.raises(ValueError, match="hidden0 has inconsistent hidden_size: got 5, "
                                         "expected 4"):
        c(tg.randn(2, 3), tg.randn(2, 5))
    with pytest.raises(ValueError, match="hidden1 batch size 3"):
        nn.LSTMCell(3, 4)(tg.randn(2, 3), (tg.randn(2, 4), tg.randn(3, 4)))
    with pytest.raises(ValueError, match="hidden0 must be 2-D like the input"):
        nn.RNNCell(3, 4)(tg.randn(2, 3), tg.randn(4))


# ---- cells ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["RNNCell", "RNNCell_relu", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("bias", [True, False])
def test_cells_match_reference_and_gradcheck(kind, bias):
    rng = np.random.default_rng(9)
    cls = getattr(nn, kind.split("_")[0])
    m = (cls(3, 2, bias=bias, nonlinearity="relu") if kind.endswith("relu")
         else cls(3, 2, bias=bias)).double()
    mode = {"LSTMCell": "LSTM", "GRUCell": "GRU", "RNNCell_relu": "RNN_RELU"}.get(kind, "TANH")
    x, h, c = (rand(rng, 4, 3, requires_grad=True), rand(rng, 4, 2, requires_grad=True),
               rand(rng, 4, 2, requires_grad=True))
    out = m(x, (h, c)) if kind == "LSTMCell" else m(x, h)
    want = ref_cell(mode, x, h, c, m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh)
    if kind == "LSTMCell":
        for o, w in zip(out, want):
            np.testing.assert_allclose(arr(o), arr(w), rtol=1e-13)
    else:
        np.testing.assert_allclose(arr(out), arr(want[0]), rtol=1e-13)
    # unbatched and default state
    one = m(x[0], (h[0], c[0])) if kind == "LSTMCell" else m(x[0], h[0])
    np.testing.assert_allclose(arr(one[0] if kind == "LSTMCell" else one),
                               arr(out[0][0] if kind == "LSTMCell" else out[0]), rtol=1e-13)
    zero = tg.zeros(4, 2, dtype=tg.float64)
    dflt = m(x)
    expl = m(x, (zero, zero)) if kind == "LSTMCell" else m(x, zero)
    np.testing.assert_allclose(arr(dflt[0] if kind == "LSTMCell" else dflt),
                               arr(expl[0] if kind == "LSTMCell" else expl))
    inputs = (x, h, c) if kind == "LSTMCell" else (x, h)
    assert gradcheck(lambda x, h, *rest: m(x, (h, rest[0])) if kind == "LSTMCell" else m(x, h),
                     inputs + tuple(m.parameters()))


# ---- nn.utils.rnn --------------------------------------------------------------------------------
def test_pad_sequence_right_left_and_batch_first():
    a, b = tg.tensor([1.0, 2.0, 3.0]), tg.tensor([4.0])
    np.testing.assert_array_equal(arr(pad_sequence([a, b])), [[1, 4], [2, 0], [3, 0]])
    np.testing.assert_array_equal(arr(pad_sequence([a, b], True, -1.0)),
                                  [[1, 2, 3], [4, -1, -1]])
    np.testing.assert_array_equal(arr(pad_sequence([a, b], True, padding_side="left")),
                                  [[1, 2, 3], [0, 0, 4]])
    x = pad_sequence([tg.ones(2, 3), tg.ones(1, 3)])
    assert x.shape == (2, 2, 3)
    with pytest.raises(ValueError, match="Expected padding_side to be one of left or right, "
                                         "but got middle"):
        pad_sequence([a, b], padding_side="middle")
    with pytest.raises(ValueError, match=r"sequence 1 has shape \(2, 2\)"):
        pad_sequence([tg.ones(2, 3), tg.ones(2, 2)])


def test_pack_padded_sequence_layout_and_errors():
    x = tg.tensor([[1.0, 4.0, 6.0], [2.0, 5.0, 0.0], [3.0, 0.0, 0.0]])    # (T=3, B=3)
    p = pack_padded_sequence(x, [3, 2, 1])
    np.testing.assert_array_equal(arr(p.data), [1, 4, 6, 2, 5, 3])
    assert p.batch_sizes.tolist() == [3, 2, 1] and p.batch_sizes.dtype == tg.int64
    assert p.sorted_indices is None and p.unsorted_indices is None
    q = pack_padded_sequence(x.t(), tg.tensor([3, 2, 1]), batch_first=True)
    np.testing.assert_array_equal(arr(q.data), arr(p.data))
    r = pack_padded_sequence(x[:, [2, 0, 1]], [1, 3, 2], enforce_sorted=False)
    np.testing.assert_array_equal(arr(r.data), [1, 4, 6, 2, 5, 3])
    assert r.sorted_indices.tolist() == [1, 2, 0] and r.unsorted_indices.tolist() == [2, 0, 1]
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        pack_padded_sequence(x, [1, 3, 2])
    with pytest.raises(ValueError, match="has to be greater than 0"):
        pack_padded_sequence(x, [3, 2, 0])
    with pytest.raises(ValueError, match=r"len\(lengths\)` to be equal to batch_size, but got "
                                         r"2 \(batch_size=3\)"):
        pack_padded_sequence(x, [3, 2])
    with pytest.raises(ValueError, match="a length of 4 exceeds the 3 steps"):
        pack_padded_sequence(x, [4, 2, 1])


def test_pad_packed_sequence_round_trip_total_length_and_error():
    seqs = [tg.tensor([[1.0], [2.0]]), tg.tensor([[3.0], [4.0], [5.0]]), tg.tensor([[6.0]])]
    p = pack_sequence(seqs, enforce_sorted=False)
    padded, lengths = pad_packed_sequence(p, batch_first=True, padding_value=-1.0,
                                          total_length=4)
    assert lengths.tolist() == [2, 3, 1] and lengths.dtype == tg.int64
    np.testing.assert_array_equal(arr(padded)[..., 0], [[1, 2, -1, -1], [3, 4, 5, -1],
                                                        [6, -1, -1, -1]])
    with pytest.raises(ValueError, match="total_length=2 and max sequence length being 3"):
        pad_packed_sequence(p, total_length=2)
    back = unpack_sequence(p)
    assert [arr(s).ravel().tolist() for s in back] == [[1, 2], [3, 4, 5], [6]]
    parts = unpad_sequence(padded.transpose(0, 1), lengths)
    assert [arr(s).ravel().tolist() for s in parts] == [[1, 2], [3, 4, 5], [6]]
    assert invert_permutation(tg.tensor([2, 0, 1])).tolist() == [1, 2, 0]
    assert invert_permutation(None) is None


def test_gradients_flow_through_packing_and_padding():
    x = tg.tensor(np.arange(12.0).reshape(4, 3, 1), requires_grad=True)      # (T, B, 1)
    p = pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
    padded, _ = pad_packed_sequence(p, padding_value=9.0)
    w = tg.tensor(np.arange(1.0, 13.0).reshape(4, 3, 1))
    (padded * w).sum().backward()
    mask = np.arange(4)[:, None] < np.array([2, 4, 1])[None, :]
    np.testing.assert_array_equal(arr(x.grad)[..., 0], np.where(mask, arr(w)[..., 0], 0))
    np.testing.assert_array_equal(arr(padded)[..., 0], np.where(mask, arr(x)[..., 0], 9.0))
    seqs = [tg.randn(3, 2, dtype=tg.float64, requires_grad=True),
            tg.randn(1, 2, dtype=tg.float64, requires_grad=True)]
    assert gradcheck(lambda a, b: pack_sequence([a, b]).data, tuple(seqs))
    assert gradcheck(lambda a, b: pad_sequence([a, b], True, 0.5, "left"), tuple(seqs))


def test_packed_sequence_conversions():
    p = pack_sequence([tg.ones(2, 3), tg.ones(1, 3)])
    assert p.to(tg.float32) is p
    d = p.double()
    assert d.data.dtype == tg.float64 and d.batch_sizes is p.batch_sizes
    assert p._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    assert not p.is_cuda
    with pytest.raises(ValueError, match="batch_sizes is required"):
        PackedSequence(tg.ones(2))


# ---- torch parity --------------------------------------------------------------------------------
def _torch_module(torch, m):
    kind = type(m).__name__
    kwargs = {}
    if isinstance(m, nn.RNNBase):
        kwargs = dict(num_layers=m.num_layers, bias=m.bias, batch_first=m.batch_first,
                      bidirectional=m.bidirectional)
        if kind == "RNN":
            kwargs["nonlinearity"] = m.nonlinearity
    else:
        kwargs = dict(bias=m.bias)
        if kind == "RNNCell":
            kwargs["nonlinearity"] = m.nonlinearity
    tm = getattr(torch.nn, kind)(m.input_size, m.hidden_size, **kwargs)
    first = next(iter(m.parameters()))
    dtype = torch.float64 if first.dtype == tg.float64 else torch.float32
    tm = tm.to(dtype)
    sd = {k: torch.tensor(arr(v)) for k, v in m.state_dict().items()}
    assert list(sd) == list(tm.state_dict())
    tm.load_state_dict(sd)
    return tm


PARITY = [("LSTM", dict(num_layers=2, bidirectional=True), np.float32),
          ("LSTM", dict(batch_first=True, bias=False), np.float64),
          ("GRU", dict(num_layers=2, bidirectional=True, batch_first=True), np.float32),
          ("GRU", dict(), np.float64),
          ("RNN", dict(num_layers=2, nonlinearity="relu"), np.float32),
          ("RNN", dict(bidirectional=True), np.float64)]


@pytest.mark.parametrize("kind, cfg, dtype", PARITY, ids=str)
@pytest.mark.parametrize("form", ["padded", "packed", "unbatched"])
def test_torch_parity(kind, cfg, dtype, form):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    m = getattr(nn, kind)(3, 5, **cfg)
    if dtype == np.float64:
        m = m.double()
    tm = _torch_module(torch, m)
    dirs = 2 if m.bidirectional else 1
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    lengths = [4, 6, 2]
    xs = [rng.standard_normal((n, 3)).astype(dtype) for n in lengths]
    h0 = rng.standard_normal((m.num_layers * dirs, 3, 5)).astype(dtype)
    c0 = rng.standard_normal(h0.shape).astype(dtype)
    if form == "unbatched":
        xs, h0, c0 = xs[1:2], h0[:, 1], c0[:, 1]
    ours = [tg.tensor(a, requires_grad=True) for a in xs]
    theirs = [torch.tensor(a, requires_grad=True) for a in xs]
    res = {}
    for lib, seqs, mod, utils in ((tg, ours, m, None), (torch, theirs, tm, torch.nn.utils.rnn)):
        h = lib.tensor(h0, requires_grad=True)
        c = lib.tensor(c0, requires_grad=True)
        if form == "unbatched":
            inp = seqs[0]
        elif form == "packed":
            inp = (pack_sequence if lib is tg else utils.pack_sequence)(seqs,
                                                                        enforce_sorted=False)
        else:
            pad = pad_sequence if lib is tg else utils.pad_sequence
            inp = pad(seqs, batch_first=m.batch_first)
        out, state = mod(inp, (h, c) if kind == "LSTM" else h)
        if form == "packed":
            out = (pad_packed_sequence if lib is tg else utils.pad_packed_sequence)(out)[0]
        states = state if kind == "LSTM" else (state,)
        wts = [np.random.default_rng(11).standard_normal(tuple(o.shape)).astype(dtype)
               for o in (out,) + tuple(states)]
        loss = sum((o * lib.tensor(w)).sum() for o, w in zip((out,) + tuple(states), wts))
        loss.backward()
        grads = {n: p.grad for n, p in mod.named_parameters()}
        res[lib.__name__] = (out, states, grads, [s.grad for s in seqs], h.grad,
                             c.grad if kind == "LSTM" else None)
    a, b = res["tapegrad"], res["torch"]
    np.testing.assert_allclose(arr(a[0]), b[0].detach().numpy(), **tol)
    for s, t in zip(a[1], b[1]):
        np.testing.assert_allclose(arr(s), t.detach().numpy(), **tol)
    assert list(a[2]) == list(b[2])
    for name in a[2]:
        np.testing.assert_allclose(arr(a[2][name]), b[2][name].numpy(), err_msg=name, **tol)
    for g, t in zip(a[3] + [a[4]] + ([a[5]] if kind == "LSTM" else []),
                    b[3] + [b[4]] + ([b[5]] if kind == "LSTM" else [])):
        np.testing.assert_allclose(arr(g), t.numpy(), **tol)


@pytest.mark.parametrize("kind, kwargs", [("RNNCell", dict(nonlinearity="relu")),
                                          ("RNNCell", dict(bias=False)), ("LSTMCell", {}),
                                          ("GRUCell", {}), ("GRUCell", dict(bias=False))],
                         ids=str)
@pytest.mark.parametrize("batched", [True, False])
def test_torch_parity_cells(kind, kwargs, batched):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    m = getattr(nn, kind)(3, 4, **kwargs)
    tm = _torch_module(torch, m)
    shape = (2,) if batched else ()
    x, h, c = (rng.standard_normal(shape + (n,)).astype(np.float32) for n in (3, 4, 4))
    res = []
    for lib, mod in ((tg, m), (torch, tm)):
        xt, ht, ct = (lib.tensor(a, requires_grad=True) for a in (x, h, c))
        out = mod(xt, (ht, ct)) if kind == "LSTMCell" else mod(xt, ht)
        outs = out if kind == "LSTMCell" else (out,)
        sum((o * (k + 1.5)).sum() for k, o in enumerate(outs)).backward()
        res.append((outs, [p.grad for p in mod.parameters()], xt.grad, ht.grad))
    (oa, ga, xa, ha), (ob, gb, xb, hb) = res
    tol = dict(rtol=2e-5, atol=2e-6)
    for u, v in zip(list(oa) + ga + [xa, ha], list(ob) + gb + [xb, hb]):
        np.testing.assert_allclose(arr(u), v.detach().numpy(), **tol)


def test_torch_parity_utils():
    torch = pytest.importorskip("torch")
    tr = torch.nn.utils.rnn
    rng = np.random.default_rng(13)
    arrays = [rng.standard_normal((n, 2)) for n in (3, 1, 4, 2)]
    for bf in (False, True):
        for side in ("right", "left"):
            a = pad_sequence([tg.tensor(v) for v in arrays], bf, -2.0, side)
            b = tr.pad_sequence([torch.tensor(v) for v in arrays], bf, -2.0, side)
            np.testing.assert_array_equal(arr(a), b.numpy())
    p = pack_sequence([tg.tensor(v) for v in arrays], enforce_sorted=False)
    q = tr.pack_sequence([torch.tensor(v) for v in arrays], enforce_sorted=False)
    np.testing.assert_array_equal(arr(p.data), q.data.numpy())
    for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        np.testing.assert_array_equal(getattr(p, field).numpy(), getattr(q, field).numpy())
    for bf in (False, True):
        a, la = pad_packed_sequence(p, bf, 0.5, 6)
        b, lb = tr.pad_packed_sequence(q, bf, 0.5, 6)
        np.testing.assert_array_equal(arr(a), b.numpy())
        np.testing.assert_array_equal(la.numpy(), lb.numpy())


@pytest.mark.parametrize("kind, args", [
    ("RNN", (3, 4, 2, "relu", False, True, 0.25, True)),
    ("LSTM", (3, 4, 2, False, True, 0.5, True)),
    ("GRU", (3, 4, 3, True, False, 0.0, True)),
    ("RNNCell", (3, 4, False, "relu")), ("LSTMCell", (3, 4, False)), ("GRUCell", (3, 4))],
    ids=str)
def test_torch_parity_positional_arguments(kind, args):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = getattr(nn, kind)(*args), getattr(torch.nn, kind)(*args)
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_half_precision_runs_in_float32_and_keeps_float16(kind):
    tg.manual_seed(0)
    m = make(kind, 3, 4, bidirectional=True)
    x = tg.randn(5, 2, 3)
    with tg.no_grad():      # (a live float32 graph would keep the parameters' old dtype)
        want, _, _ = split_result(m, m(x))
    m.half()
    xh = x.half().requires_grad_()
    out, h_n, _ = split_result(m, m(xh))
    assert out.dtype == tg.float16 and h_n.dtype == tg.float16
    np.testing.assert_allclose(arr(out).astype(np.float32), arr(want), atol=2e-3)
    out.float().sum().backward()
    assert xh.grad.dtype == tg.float16
    assert all(p.grad.dtype == tg.float16 for p in m.parameters())
