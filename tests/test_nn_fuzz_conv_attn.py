"""Seeded differential sweeps of the conv and attention parts of tapegrad.nn.functional
against PyTorch (values, result dtypes, gradients of every input, and that an argument
combination raises in both or in neither), plus regressions the sweeps found. A bounded
version of a sweep of several thousand cases run by hand; the torch sweeps skip without torch.
"""
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad._core.errors import ShapeError

_TOL = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-4, np.dtype(np.float16): 1e-2}


def _compare(torch, name, arrays, kwargs, layout=0):
    """Run F.<name> in torch and tapegrad on the same arrays; assert both raise (tapegrad's
    error an instance of torch's class) or agree in shape, dtype, values and gradients."""
    TF = torch.nn.functional
    ta = [None if a is None else torch.from_numpy(np.array(a)) for a in arrays]
    ga = [None if a is None else tg.tensor(np.array(a)) for a in arrays]
    for t in ta + ga:
        if t is not None and t.dtype in (torch.float16, torch.float32, torch.float64,
                                         tg.float16, tg.float32, tg.float64):
            t.requires_grad_(True)
    copies = [None if t is None else t.detach().numpy().copy() for t in ga]

    def view(ts):   # non-contiguous inputs: the transpose of a transposed copy
        if layout == 0:
            return ts
        return [t if t is None or t.ndim < 2 else t.transpose(0, 1).contiguous().transpose(0, 1)
                for t in ts]
    terr = gerr = None
    try:
        tout = getattr(TF, name)(*view(ta), **kwargs)
    except Exception as e:      # noqa: BLE001 (any error torch raises must match ours)
        terr = e
    try:
        gout = getattr(F, name)(*view(ga), **kwargs)
    except Exception as e:      # noqa: BLE001
        gerr = e
    case = f"{name}{[None if a is None else (a.shape, str(a.dtype)) for a in arrays]} {kwargs}"
    if terr is not None or gerr is not None:
        if terr is None and tout.numel() == 0 and name.startswith("conv_transpose"):
            return  # an empty output: torch's float32 2-d (oneDNN) path allows, the rest raise
        assert terr is not None, f"{case}: tapegrad raised {gerr!r}, torch did not"
        assert gerr is not None, f"{case}: torch raised {terr!r}, tapegrad did not"
        assert isinstance(gerr, type(terr)), f"{case}: {gerr!r} is not a {type(terr)}"
        assert name in str(gerr) or isinstance(gerr, TypeError), case
        return
    assert tuple(tout.shape) == tuple(gout.shape), case
    want, got = tout.detach().numpy(), gout.detach().numpy()
    assert want.dtype == got.dtype, case
    tol = _TOL[want.dtype]
    np.testing.assert_allclose(got.astype(float), want.astype(float), tol, tol, err_msg=case)
    u = np.random.default_rng(1).standard_normal(want.shape).astype(want.dtype)
    (tout * torch.from_numpy(u)).sum().backward()
    (gout * tg.tensor(u)).sum().backward()
    for i, (t, g) in enumerate(zip(ta, ga)):
        if t is None or not t.requires_grad:
            continue
        tgrad = np.zeros(t.shape, want.dtype) if t.grad is None else t.grad.numpy()
        assert g.grad is not None, f"{case}: no gradient for input {i}"
        assert g.grad.numpy().dtype == tgrad.dtype, case
        np.testing.assert_allclose(g.grad.numpy().astype(float), tgrad.astype(float),
                                   10 * tol, 10 * tol, err_msg=f"{case}: gradient {i}")
    for t, c in zip(ga, copies):     # nothing the user passed is mutated
        assert t is None or np.array_equal(t.detach().numpy(), c, equal_nan=True), case


def _conv_case(rng):
    d = int(rng.integers(1, 4))
    transposed = rng.random() < 0.4
    groups = int(rng.choice([1, 1, 2, 3]))
    cin = groups * int(rng.integers(1, 3)) + (1 if rng.random() < 0.05 else 0)
    cout = groups * int(rng.integers(1, 3))
    k = tuple(int(rng.integers(1, 4)) for _ in range(d))
    size = tuple(int(rng.integers(1, 6 if d < 3 else 4)) for _ in range(d))
    # batch >= 1: with an empty batch PyTorch skips its argument checks (output_padding ...)
    lead = (cin,) if rng.random() < 0.15 else (int(rng.integers(1, 3)), cin)
    dtype = rng.choice([np.float64, np.float32, np.float16])

    def arg(lo, hi):
        if rng.random() < 0.5:
            return int(rng.integers(lo, hi))
        return tuple(int(rng.integers(lo, hi)) for _ in range(d))
    kw = {"stride": arg(1, 4), "dilation": arg(1, 3)}
    if transposed:
        shape_w = (cin, cout // groups) + k
        kw.update(padding=arg(0, 3), output_padding=arg(0, 3))
    else:
        shape_w = (cout, cin // groups) + k
        r = rng.random()
        kw["padding"] = "same" if r < 0.15 else "valid" if r < 0.25 else arg(0, 3)
    kw["groups"] = groups
    x = rng.standard_normal(lead + size).astype(dtype)
    w = rng.standard_normal(shape_w).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype) if rng.random() < 0.5 else None
    name = ("conv_transpose%dd" if transposed else "conv%dd") % d
    return name, [x, w, b], kw


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_conv_sweep_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(20261129)
    for _ in range(120):
        name, arrays, kw = _conv_case(rng)
        if arrays[0].dtype == np.float16 and "transpose" in name:
            continue    # torch 2.13's float16 conv_transpose2d backward can segfault
        _compare(torch, name, arrays, kw, layout=int(rng.integers(0, 2)))


def test_unfold_fold_sweep_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    for _ in range(120):
        kw = {key: (int(rng.integers(lo, hi)) if rng.random() < 0.5 else
                    tuple(int(v) for v in rng.integers(lo, hi, 2)))
              for key, lo, hi in (("kernel_size", 1, 4), ("dilation", 1, 3),
                                  ("padding", 0, 3), ("stride", 1, 4))}
        two = {key: (v, v) if isinstance(v, int) else v for key, v in kw.items()}
        dtype = rng.choice([np.float64, np.float32, np.float16])
        h, w, c = (int(v) for v in rng.integers(1, 7, 3))
        lead = () if rng.random() < 0.2 else (int(rng.integers(0, 3)),)
        if rng.random() < 0.5:
            x = rng.standard_normal(lead + (c, h, w)).astype(dtype)
            _compare(torch, "unfold", [x], kw)
            continue
        blocks = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, d, p, s in
                  zip((h, w), two["kernel_size"], two["dilation"], two["padding"], two["stride"])]
        length = max(blocks[0], 0) * max(blocks[1], 0) + (rng.random() < 0.1)
        rows = c * two["kernel_size"][0] * two["kernel_size"][1]
        x = rng.standard_normal(lead + (rows, length)).astype(dtype)
        _compare(torch, "fold", [x], dict(kw, output_size=(h, w)))


def _sdpa_case(rng):
    dtype = rng.choice([np.float64, np.float32, np.float16])
    L, S, E, Ev = (int(v) for v in rng.integers(1, 5, 4))
    batch = tuple(int(v) for v in rng.integers(1, 4, int(rng.integers(0, 3))))

    def thin(b):     # broadcast some batch dims, maybe drop the leading one
        b = tuple(1 if rng.random() < 0.25 else n for n in b)
        return b[1:] if b and rng.random() < 0.2 else b
    qb, kb, vb = batch, thin(batch), thin(batch)
    kw = {}
    if batch and rng.random() < 0.25:
        hk, g = int(rng.integers(1, 3)), int(rng.integers(1, 4))
        qb, kb, vb = batch[:-1] + (hk * g,), kb[:-1] + (hk,), vb[:-1] + (hk,)
        kw["enable_gqa"] = True
    arrays = [rng.standard_normal(s).astype(dtype) for s in (qb + (L, E), kb + (S, E),
                                                             vb + (S, Ev))]
    r = rng.random()
    if r < 0.2:
        kw["is_causal"] = True
    elif r < 0.7:
        full = np.broadcast_shapes(qb, kb) if "enable_gqa" not in kw else qb
        shape = tuple(1 if rng.random() < 0.4 else n for n in tuple(full) + (L, S))
        shape = shape[int(rng.integers(0, len(shape) - 1)):] if rng.random() < 0.4 else shape
        if rng.random() < 0.5:
            mask = np.asarray(rng.random(shape) < rng.choice([0.3, 0.7]))
        else:
            mask = rng.standard_normal(shape).astype(dtype if rng.random() < 0.8 else np.float32)
            mask[rng.random(shape) < 0.3] = -np.inf
        arrays.append(mask)
    if rng.random() < 0.3:
        kw["scale"] = float(rng.choice([0.1, 2.0]))
    if rng.random() < 0.2:
        kw["dropout_p"] = 0.0
    return arrays, kw


def test_sdpa_sweep_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    for _ in range(120):
        arrays, kw = _sdpa_case(rng)
        if kw.get("enable_gqa") and len(arrays) == 4 and arrays[3].ndim < 2:
            continue    # torch's GQA path indexes dim -2 of the mask: an IndexError of its own
        _compare(torch, "scaled_dot_product_attention", arrays, kw)


# ---- regressions found by the sweeps (no torch needed) -------------------------------------
X4, W4 = tg.ones(1, 2, 5, 5), tg.ones(3, 2, 3, 3)


@pytest.mark.parametrize("call", [
    lambda: F.conv2d(X4, W4, padding=1.5),
    lambda: F.conv2d(X4, W4, stride=(1, 1.0)),
    lambda: F.conv_transpose2d(X4, tg.ones(2, 3, 3, 3), padding="same"),
    lambda: F.unfold(X4, 2, stride=1.0),
    lambda: F.conv2d(X4, W4, groups=1.0),
    lambda: F.conv_transpose2d(X4, tg.ones(2, 3, 3, 3), groups=True),
])
def test_non_int_geometry_is_a_type_error(call):
    """PyTorch raises TypeError for a float, bool or string where ints go."""
    with pytest.raises(TypeError, match="must be an int or a tuple|must be a positive int"):
        call()


def test_one_element_sequences_repeat_over_dims():
    """conv2d(stride=(2,)) is stride=2, as PyTorch's convolutions take it."""
    want = F.conv2d(X4, W4, stride=2, padding=1, dilation=2)
    np.testing.assert_array_equal(F.conv2d(X4, W4, stride=(2,), padding=[1], dilation=(2,)),
                                  want)
    y = F.conv_transpose2d(X4, tg.ones(2, 3, 3, 3), stride=(2,), output_padding=(1,))
    assert tuple(y.shape) == (1, 3, 12, 12)


@pytest.mark.parametrize("call, match", [
    (lambda: F.conv2d(X4, tg.ones(3, 2, 0, 3)), "kernel must have a positive size"),
    (lambda: F.conv_transpose1d(tg.ones(1, 2, 4), tg.ones(2, 3, 0)), "kernel must have"),
    (lambda: F.conv_transpose2d(tg.ones(1, 2, 0, 5), tg.ones(2, 3, 3, 3)),
     "positive size in every spatial dim"),
])
def test_empty_kernels_and_transposed_inputs_raise(call, match):
    """A zero-size kernel (or a transposed conv's empty spatial input) has no output size
    PyTorch accepts: it raises, instead of a made-up zero frame."""
    with pytest.raises(ShapeError, match=match):
        call()


def test_sdpa_zero_embedding_weights_uniformly():
    """E = 0: every score is an empty sum (0), so the weights are uniform (PyTorch), not nan."""
    q = tg.zeros(2, 0, requires_grad=True)
    v = tg.tensor([[1.0, 2.0], [3.0, 6.0], [5.0, 1.0]])
    out = F.scaled_dot_product_attention(q, tg.zeros(3, 0), v)
    np.testing.assert_allclose(out.detach().numpy(), [[3.0, 3.0], [3.0, 3.0]], rtol=1e-6)
    out.sum().backward()
    assert q.grad.shape == (2, 0)


# ---- double backward against finite differences of the first gradient -----------------------
def _first_grad_dot(fn, inputs, u, vs):
    """<vs, d<u, fn(inputs)>/d inputs>, recorded (create_graph=True)."""
    out = fn(*inputs)
    grads = tg.autograd.grad((out * u).sum(), inputs, create_graph=True)
    return sum((g * v).sum() for g, v in zip(grads, vs))


@pytest.mark.parametrize("fn, shapes", [
    (lambda x, w: F.conv2d(x, w, stride=2, padding=1, dilation=(1, 2), groups=2),
     [(2, 4, 5, 6), (2, 2, 2, 3)]),
    (lambda x, w: F.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1, groups=2),
     [(1, 4, 4), (4, 1, 3)]),
    (lambda x, w: F.conv3d(x, w, padding="same"), [(1, 1, 3, 3, 3), (2, 1, 2, 1, 2)]),
    (lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m, scale=0.7),
     [(2, 3, 2), (2, 4, 2), (2, 4, 3), (3, 4)]),
])
def test_double_backward_matches_finite_differences(fn, shapes):
    """The gradient of <vs, grad> (mixed second derivatives, all inputs at once) equals the
    central difference of <vs, grad> along a random direction, in float64."""
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s) for s in shapes]
    u = tg.tensor(rng.standard_normal(tuple(fn(*map(tg.tensor, arrays)).shape)))
    vs = [tg.tensor(rng.standard_normal(s)) for s in shapes]
    inputs = [tg.tensor(a, requires_grad=True) for a in arrays]
    second = tg.autograd.grad(_first_grad_dot(fn, inputs, u, vs), inputs)
    dirs = [rng.standard_normal(s) for s in shapes]
    eps = 1e-5

    def at(sign):
        moved = [tg.tensor(a + sign * eps * d, requires_grad=True) for a, d in zip(arrays, dirs)]
        return float(_first_grad_dot(fn, moved, u, vs).detach())
    numeric = (at(1) - at(-1)) / (2 * eps)
    analytic = sum(float((g.detach().numpy() * d).sum()) for g, d in zip(second, dirs))
    assert abs(numeric - analytic) <= 1e-6 * max(1.0, abs(analytic))


def test_sdpa_dropout_reproducible_and_never_drawn_without_dropout():
    """Masks come from tapegrad.manual_seed; dropout_p=0 draws nothing from the generator."""
    q = tg.tensor(np.random.default_rng(0).standard_normal((2, 4, 3)))
    tg.manual_seed(5)
    a = F.scaled_dot_product_attention(q, q, q, dropout_p=0.4)
    plain = F.scaled_dot_product_attention(q, q, q)
    after = tg.rand(3)
    tg.manual_seed(5)
    b = F.scaled_dot_product_attention(q, q, q, dropout_p=0.4)
    assert np.array_equal(a.numpy(), b.numpy()) and not np.array_equal(a.numpy(), plain.numpy())
    F.scaled_dot_product_attention(q, q, q, dropout_p=0.0)
    assert np.array_equal(tg.rand(3).numpy(), after.numpy())


def test_sdpa_float16_gradients_accumulate_in_float32():
    """float16 query/key gradients: dS and its row sums in float32, rounded once at the end
    (max error relative to the float64 gradient: 6.5e-4 before, 2.7e-4 now)."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float16)
              for s in ((2, 64, 32), (2, 512, 32), (2, 512, 32))]
    u = rng.standard_normal((2, 64, 32)).astype(np.float16)
    grads = {}
    for dt in (np.float64, np.float16):
        ts = [tg.tensor(a.astype(dt), requires_grad=True) for a in arrays]
        (F.scaled_dot_product_attention(*ts) * tg.tensor(u.astype(dt))).sum().backward()
        grads[dt] = [t.grad.numpy() for t in ts]
    for exact, half in list(zip(grads[np.float64], grads[np.float16]))[:2]:
        assert half.dtype == np.float16
        assert np.abs(half - exact).max() <= 4e-4 * np.abs(exact).max()
