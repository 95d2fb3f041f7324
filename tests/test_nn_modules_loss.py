"""Loss modules (tapegrad.nn.modules.loss): defaults and repr, weights as buffers, the legacy
size_average/reduce mapping, the forward against the functional call, torch parity of values
and gradients, and errors."""
import warnings

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn as nn
import tapegrad.nn.functional as F
from tapegrad._core.errors import ArgumentError

NAMES = ["L1Loss", "MSELoss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
         "KLDivLoss", "PoissonNLLLoss", "GaussianNLLLoss", "SmoothL1Loss", "HuberLoss",
         "MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss",
         "MultiLabelSoftMarginLoss", "MultiMarginLoss", "CosineEmbeddingLoss",
         "TripletMarginLoss", "CTCLoss"]


# ---- defaults and repr ---------------------------------------------------------------------------
# Every default attribute, as PyTorch 2.13 sets it (written out literally).
DEFAULTS = {
    "L1Loss": {"reduction": "mean"},
    "MSELoss": {"reduction": "mean"},
    "CrossEntropyLoss": {"reduction": "mean", "ignore_index": -100, "label_smoothing": 0.0,
                         "weight": None},
    "NLLLoss": {"reduction": "mean", "ignore_index": -100, "weight": None},
    "BCELoss": {"reduction": "mean", "weight": None},
    "BCEWithLogitsLoss": {"reduction": "mean", "weight": None, "pos_weight": None},
    "KLDivLoss": {"reduction": "mean", "log_target": False},
    "PoissonNLLLoss": {"reduction": "mean", "log_input": True, "full": False, "eps": 1e-8},
    "GaussianNLLLoss": {"reduction": "mean", "full": False, "eps": 1e-6},
    "SmoothL1Loss": {"reduction": "mean", "beta": 1.0},
    "HuberLoss": {"reduction": "mean", "delta": 1.0},
    "MarginRankingLoss": {"reduction": "mean", "margin": 0.0},
    "HingeEmbeddingLoss": {"reduction": "mean", "margin": 1.0},
    "SoftMarginLoss": {"reduction": "mean"},
    "MultiLabelSoftMarginLoss": {"reduction": "mean", "weight": None},
    "MultiMarginLoss": {"reduction": "mean", "p": 1, "margin": 1.0, "weight": None},
    "CosineEmbeddingLoss": {"reduction": "mean", "margin": 0.0},
    "TripletMarginLoss": {"reduction": "mean", "margin": 1.0, "p": 2.0, "eps": 1e-6,
                          "swap": False},
    "CTCLoss": {"reduction": "mean", "blank": 0, "zero_infinity": False},
}


def test_every_loss_is_exported():
    assert sorted(DEFAULTS) == sorted(NAMES)
    for name in NAMES:
        assert getattr(nn, name).__name__ == name
        assert name in nn.modules.__all__


@pytest.mark.parametrize("name", NAMES)
def test_defaults(name):
    m = getattr(nn, name)()
    assert {k: getattr(m, k) for k in DEFAULTS[name]} == DEFAULTS[name]
    assert m.training and list(m.parameters()) == [] and list(m.state_dict()) == []


@pytest.mark.parametrize("name", NAMES)
def test_defaults_match_torch(name):
    torch = pytest.importorskip("torch")
    ref = getattr(torch.nn, name)()
    assert {k: getattr(ref, k) for k in DEFAULTS[name]} == DEFAULTS[name]


# Losses show no arguments in their repr, as PyTorch's (checked against torch below).
REPRS = [
    ("nn.L1Loss(reduction='sum')", "L1Loss()"),
    ("nn.MSELoss()", "MSELoss()"),
    ("nn.CrossEntropyLoss(weight=W3, label_smoothing=0.1, reduction='sum')",
     "CrossEntropyLoss()"),
    ("nn.NLLLoss(ignore_index=1)", "NLLLoss()"),
    ("nn.BCEWithLogitsLoss(pos_weight=W3)", "BCEWithLogitsLoss()"),
    ("nn.KLDivLoss(log_target=True)", "KLDivLoss()"),
    ("nn.HuberLoss(delta=2.0)", "HuberLoss()"),
    ("nn.SmoothL1Loss(beta=0.5)", "SmoothL1Loss()"),
    ("nn.MultiMarginLoss(p=2, margin=0.5)", "MultiMarginLoss()"),
    ("nn.TripletMarginLoss(margin=2.0, swap=True)", "TripletMarginLoss()"),
    ("nn.CTCLoss(blank=1, zero_infinity=True)", "CTCLoss()"),
    ("nn.GaussianNLLLoss(full=True)", "GaussianNLLLoss()"),
]


@pytest.mark.parametrize("ctor, expected", REPRS, ids=[c for c, _ in REPRS])
def test_repr(ctor, expected):
    assert repr(eval(ctor, {"nn": nn, "W3": tg.ones(3)})) == expected


def test_repr_table_matches_torch():
    torch = pytest.importorskip("torch")
    for ctor, expected in REPRS:
        assert repr(eval(ctor, {"nn": torch.nn, "W3": torch.ones(3)})) == expected, ctor


def test_constructor_arguments_are_kept():
    m = nn.CrossEntropyLoss(ignore_index=2, reduction="sum", label_smoothing=0.2)
    assert (m.ignore_index, m.reduction, m.label_smoothing) == (2, "sum", 0.2)
    m = nn.PoissonNLLLoss(False, True, eps=1e-3, reduction="none")
    assert (m.log_input, m.full, m.eps, m.reduction) == (False, True, 1e-3, "none")
    m = nn.TripletMarginLoss(2.0, 1.0, 1e-3, True, reduction="sum")
    assert (m.margin, m.p, m.eps, m.swap, m.reduction) == (2.0, 1.0, 1e-3, True, "sum")
    m = nn.CTCLoss(3, "sum", True)
    assert (m.blank, m.reduction, m.zero_infinity) == (3, "sum", True)
    with pytest.raises(TypeError):
        nn.GaussianNLLLoss(True)          # keyword-only, as PyTorch's


# ---- weights are buffers -------------------------------------------------------------------------
WEIGHTED = ["CrossEntropyLoss", "NLLLoss", "BCELoss", "MultiLabelSoftMarginLoss",
            "MultiMarginLoss"]


@pytest.mark.parametrize("name", WEIGHTED)
def test_weight_is_a_buffer(name):
    w = tg.tensor([1.0, 2.0, 3.0])
    m = getattr(nn, name)(weight=w)
    assert m.weight is w
    assert [k for k, _ in m.named_buffers()] == ["weight"]
    assert list(m.state_dict()) == ["weight"] and list(m.parameters()) == []
    m.double()
    assert m.weight.dtype == tg.float64
    np.testing.assert_array_equal(m.weight.numpy(), [1.0, 2.0, 3.0])
    # without a weight the name is still registered (as None), as in PyTorch
    m = getattr(nn, name)()
    assert "weight" in m._buffers and m.weight is None


def test_bce_with_logits_buffers():
    m = nn.BCEWithLogitsLoss(pos_weight=tg.ones(2))
    assert list(m._buffers) == ["weight", "pos_weight"]
    assert list(m.state_dict()) == ["pos_weight"]
    m = nn.BCEWithLogitsLoss(tg.ones(2), pos_weight=tg.ones(2))
    assert list(m.state_dict()) == ["weight", "pos_weight"]


def test_weight_state_dict_round_trip_with_torch():
    torch = pytest.importorskip("torch")
    ours = nn.CrossEntropyLoss(weight=tg.zeros(3))
    ref = torch.nn.CrossEntropyLoss(weight=torch.tensor([0.5, 1.0, 2.0]))
    assert list(ours.state_dict()) == list(ref.state_dict())
    ours.load_state_dict({k: tg.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    np.testing.assert_array_equal(ours.weight.numpy(), [0.5, 1.0, 2.0])


# ---- legacy size_average / reduce ----------------------------------------------------------------
LEGACY = [  # (size_average, reduce, the reduction PyTorch's rule gives)
    (None, False, "none"), (True, False, "none"), (False, False, "none"),
    (False, None, "sum"), (False, True, "sum"),
    (True, None, "mean"), (None, True, "mean"), (True, True, "mean"),
]


@pytest.mark.parametrize("size_average, reduce, expected", LEGACY)
def test_legacy_arguments_map_to_reduction(size_average, reduce, expected):
    for cls, kwargs in ((nn.MSELoss, {}), (nn.CrossEntropyLoss, {}),
                        (nn.MultiMarginLoss, {"p": 2}), (nn.PoissonNLLLoss, {})):
        with pytest.warns(UserWarning, match=f"reduction='{expected}'") as record:
            m = cls(size_average=size_average, reduce=reduce, reduction="sum", **kwargs)
        assert m.reduction == expected
        assert record[0].filename == __file__       # points at the caller


@pytest.mark.parametrize("size_average, reduce, expected", LEGACY)
def test_legacy_rule_matches_torch(size_average, reduce, expected):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert torch.nn.MSELoss(size_average, reduce).reduction == expected


def test_legacy_reduction_is_used_in_forward():
    with pytest.warns(UserWarning):
        m = nn.L1Loss(size_average=False)
    x, y = tg.tensor([1.0, 2.0]), tg.tensor([0.0, 0.0])
    np.testing.assert_array_equal(m(x, y).numpy(), 3.0)


def test_no_legacy_arguments_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.MSELoss(reduction="sum")
        nn.CrossEntropyLoss(weight=tg.ones(2))


# ---- cases: inputs for each loss -----------------------------------------------------------------
def _log_softmax(a, axis):
    a = a - a.max(axis=axis, keepdims=True)
    return a - np.log(np.exp(a).sum(axis=axis, keepdims=True))


def _inputs(name, rng, dt):
    """(call arguments as numpy arrays / values, the names of those that require grad,
    constants for the constructor) for loss ``name``."""
    u = lambda *s, lo=-2.0, hi=2.0: rng.uniform(lo, hi, s).astype(dt)   # noqa: E731
    sign = lambda *s: np.where(rng.uniform(size=s) < 0.5, -1.0, 1.0).astype(dt)  # noqa: E731
    idx = lambda hi, *s: rng.integers(0, hi, s).astype(np.int64)        # noqa: E731
    consts = {"W3": u(3, lo=0.5, hi=2.0), "W4": u(4, lo=0.5, hi=2.0)}
    if name in ("L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss"):
        return {"input": u(3, 4), "target": u(3, 4)}, ("input", "target"), consts
    if name == "CrossEntropyLoss":
        return {"input": u(4, 3), "target": idx(3, 4)}, ("input",), consts
    if name == "CrossEntropyLoss-probs":
        p = np.exp(_log_softmax(u(2, 3, 5), 1)).astype(dt)
        return {"input": u(2, 3, 5), "target": p}, ("input", "target"), consts
    if name == "CrossEntropyLoss-spatial":
        return {"input": u(2, 3, 2, 2), "target": idx(3, 2, 2, 2)}, ("input",), consts
    if name == "NLLLoss":
        return {"input": _log_softmax(u(5, 3), 1), "target": idx(3, 5)}, ("input",), consts
    if name == "BCELoss":
        return ({"input": u(3, 4, lo=0.05, hi=0.95), "target": u(3, 4, lo=0.0, hi=1.0)},
                ("input", "target"), consts)
    if name in ("BCEWithLogitsLoss", "MultiLabelSoftMarginLoss"):
        return ({"input": u(4, 3), "target": u(4, 3, lo=0.0, hi=1.0)}, ("input", "target"),
                consts)
    if name == "KLDivLoss":
        return ({"input": _log_softmax(u(3, 4), 1), "target": np.exp(_log_softmax(u(3, 4), 1))},
                ("input", "target"), consts)
    if name == "KLDivLoss-log":
        return ({"input": _log_softmax(u(3, 4), 1), "target": _log_softmax(u(3, 4), 1)},
                ("input", "target"), consts)
    if name == "PoissonNLLLoss":
        return ({"log_input": u(3, 4, lo=0.1, hi=2.0), "target": u(3, 4, lo=0.0, hi=4.0)},
                ("log_input", "target"), consts)
    if name == "GaussianNLLLoss":
        return ({"input": u(3, 4), "target": u(3, 4), "var": u(3, 4, lo=0.1, hi=2.0)},
                ("input", "target", "var"), consts)
    if name == "GaussianNLLLoss-homo":
        return ({"input": u(3, 4), "target": u(3, 4), "var": u(3, 1, lo=0.1, hi=2.0)},
                ("input", "target", "var"), consts)
    if name == "MarginRankingLoss":
        return ({"input1": u(6), "input2": u(6), "target": sign(6)}, ("input1", "input2"),
                consts)
    if name in ("HingeEmbeddingLoss", "SoftMarginLoss"):
        return {"input": u(3, 4), "target": sign(3, 4)}, ("input",), consts
    if name == "MultiMarginLoss":
        return {"input": u(5, 3), "target": idx(3, 5)}, ("input",), consts
    if name == "CosineEmbeddingLoss":
        return ({"input1": u(5, 4), "input2": u(5, 4), "target": sign(5)},
                ("input1", "input2"), consts)
    if name == "TripletMarginLoss":
        return ({"anchor": u(5, 4), "positive": u(5, 4), "negative": u(5, 4)},
                ("anchor", "positive", "negative"), consts)
    if name == "CTCLoss":
        lp = _log_softmax(u(6, 2, 4), 2)
        return ({"log_probs": lp, "targets": rng.integers(1, 4, (2, 3)).astype(np.int64),
                 "input_lengths": np.array([6, 5]), "target_lengths": np.array([3, 2])},
                ("log_probs",), consts)
    raise KeyError(name)


# (constructor, input kind): the kind picks _inputs' case (default: the class name).
CASES = [
    ("nn.L1Loss()", None), ("nn.L1Loss(reduction='sum')", None),
    ("nn.L1Loss(reduction='none')", None),
    ("nn.MSELoss()", None), ("nn.MSELoss(reduction='none')", None),
    ("nn.SmoothL1Loss()", None), ("nn.SmoothL1Loss(beta=0.5, reduction='sum')", None),
    ("nn.HuberLoss()", None), ("nn.HuberLoss(reduction='none', delta=0.7)", None),
    ("nn.CrossEntropyLoss()", None),
    ("nn.CrossEntropyLoss(weight=T(W3), reduction='sum')", None),
    ("nn.CrossEntropyLoss(ignore_index=1)", None),
    ("nn.CrossEntropyLoss(weight=T(W3), label_smoothing=0.2)", None),
    ("nn.CrossEntropyLoss(reduction='none', label_smoothing=0.1)", "CrossEntropyLoss-spatial"),
    ("nn.CrossEntropyLoss()", "CrossEntropyLoss-probs"),
    ("nn.CrossEntropyLoss(weight=T(W3), label_smoothing=0.3)", "CrossEntropyLoss-probs"),
    ("nn.NLLLoss()", None), ("nn.NLLLoss(weight=T(W3), ignore_index=0)", None),
    ("nn.NLLLoss(reduction='none')", None),
    ("nn.BCELoss()", None), ("nn.BCELoss(weight=T(W4), reduction='sum')", None),
    ("nn.BCEWithLogitsLoss()", None),
    ("nn.BCEWithLogitsLoss(pos_weight=T(W3))", None),
    ("nn.BCEWithLogitsLoss(weight=T(W3), pos_weight=T(W3), reduction='none')", None),
    ("nn.KLDivLoss(reduction='batchmean')", None), ("nn.KLDivLoss(reduction='sum')", None),
    ("nn.KLDivLoss(reduction='none', log_target=True)", "KLDivLoss-log"),
    ("nn.PoissonNLLLoss()", None), ("nn.PoissonNLLLoss(log_input=False, full=True)", None),
    ("nn.PoissonNLLLoss(full=True, reduction='sum')", None),
    ("nn.GaussianNLLLoss()", None), ("nn.GaussianNLLLoss(full=True, reduction='none')", None),
    ("nn.GaussianNLLLoss(eps=0.5)", "GaussianNLLLoss-homo"),
    ("nn.MarginRankingLoss()", None), ("nn.MarginRankingLoss(0.5, reduction='none')", None),
    ("nn.HingeEmbeddingLoss()", None), ("nn.HingeEmbeddingLoss(0.5, reduction='sum')", None),
    ("nn.SoftMarginLoss()", None), ("nn.SoftMarginLoss(reduction='none')", None),
    ("nn.MultiLabelSoftMarginLoss()", None),
    ("nn.MultiLabelSoftMarginLoss(weight=T(W3), reduction='none')", None),
    ("nn.MultiMarginLoss()", None), ("nn.MultiMarginLoss(p=2, margin=0.5)", None),
    ("nn.MultiMarginLoss(weight=T(W3), reduction='none')", None),
    ("nn.CosineEmbeddingLoss()", None), ("nn.CosineEmbeddingLoss(0.2, reduction='sum')", None),
    ("nn.TripletMarginLoss()", None),
    ("nn.TripletMarginLoss(margin=0.5, p=1.0, swap=True, reduction='none')", None),
    ("nn.CTCLoss()", None), ("nn.CTCLoss(reduction='sum')", None),
    ("nn.CTCLoss(reduction='none', zero_infinity=True)", None),
]


def _kind(ctor, kind):
    return kind or ctor[3:ctor.index("(")]


def _evaluate(lib, ctor, args, grads, consts, dtype):
    """loss(*args) in ``lib``; (value, {name: gradient}) after backward of sum(value * g)."""
    m = eval(ctor, {"nn": lib.nn, "T": lib.tensor, **consts})
    ts = {k: lib.tensor(v, requires_grad=k in grads) for k, v in args.items()}
    out = m(*ts.values())
    g = np.linspace(0.5, 1.5, max(int(np.prod(out.shape)), 1)).reshape(tuple(out.shape))
    (out * lib.tensor(g.astype(dtype))).sum().backward()
    return out.detach().numpy(), {k: ts[k].grad.numpy() for k in grads}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ctor, kind", CASES, ids=[f"{c}-{k}" if k else c for c, k in CASES])
def test_torch_parity(ctor, kind, dtype):
    torch = pytest.importorskip("torch")
    rtol, atol = (2e-5, 1e-6) if dtype == "float32" else (1e-10, 1e-12)
    args, grads, consts = _inputs(_kind(ctor, kind), np.random.default_rng(11),
                                  np.dtype(dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")         # e.g. torch's KLDivLoss 'mean' notice
        out, g = _evaluate(tg, ctor, args, grads, consts, dtype)
        rout, rg = _evaluate(torch, ctor, args, grads, consts, dtype)
    assert out.dtype == rout.dtype and out.shape == rout.shape
    np.testing.assert_allclose(out, rout, rtol=rtol, atol=atol)
    for k in grads:
        np.testing.assert_allclose(g[k], rg[k], rtol=rtol, atol=atol, err_msg=k)


# ---- forward == the functional call (no torch needed) --------------------------------------------
FUNCTIONAL = [
    ("nn.L1Loss(reduction='sum')", lambda a: F.l1_loss(*a, reduction="sum")),
    ("nn.MSELoss(reduction='none')", lambda a: F.mse_loss(*a, reduction="none")),
    ("nn.SmoothL1Loss(beta=0.5)", lambda a: F.smooth_l1_loss(*a, beta=0.5)),
    ("nn.HuberLoss(delta=0.7)", lambda a: F.huber_loss(*a, delta=0.7)),
    ("nn.CrossEntropyLoss(weight=T(W3), ignore_index=1, label_smoothing=0.2)",
     lambda a, c: F.cross_entropy(*a, weight=tg.tensor(c["W3"]), ignore_index=1,
                                  label_smoothing=0.2)),
    ("nn.NLLLoss(weight=T(W3), reduction='sum')",
     lambda a, c: F.nll_loss(*a, weight=tg.tensor(c["W3"]), reduction="sum")),
    ("nn.BCELoss(weight=T(W4))",
     lambda a, c: F.binary_cross_entropy(*a, weight=tg.tensor(c["W4"]))),
    ("nn.BCEWithLogitsLoss(weight=T(W3), pos_weight=T(W3))",
     lambda a, c: F.binary_cross_entropy_with_logits(*a, weight=tg.tensor(c["W3"]),
                                                     pos_weight=tg.tensor(c["W3"]))),
    ("nn.KLDivLoss(reduction='batchmean')", lambda a: F.kl_div(*a, reduction="batchmean")),
    ("nn.PoissonNLLLoss(log_input=False, full=True, eps=1e-3)",
     lambda a: F.poisson_nll_loss(*a, log_input=False, full=True, eps=1e-3)),
    ("nn.GaussianNLLLoss(full=True, eps=0.2)",
     lambda a: F.gaussian_nll_loss(*a, full=True, eps=0.2)),
    ("nn.MarginRankingLoss(0.3)", lambda a: F.margin_ranking_loss(*a, margin=0.3)),
    ("nn.HingeEmbeddingLoss(0.4)", lambda a: F.hinge_embedding_loss(*a, margin=0.4)),
    ("nn.SoftMarginLoss(reduction='sum')", lambda a: F.soft_margin_loss(*a, reduction="sum")),
    ("nn.MultiLabelSoftMarginLoss(weight=T(W3))",
     lambda a, c: F.multilabel_soft_margin_loss(*a, weight=tg.tensor(c["W3"]))),
    ("nn.MultiMarginLoss(p=2, margin=0.5, weight=T(W3))",
     lambda a, c: F.multi_margin_loss(*a, p=2, margin=0.5, weight=tg.tensor(c["W3"]))),
    ("nn.CosineEmbeddingLoss(0.2)", lambda a: F.cosine_embedding_loss(*a, margin=0.2)),
    ("nn.TripletMarginLoss(0.5, 1.0, 1e-3, True)",
     lambda a: F.triplet_margin_loss(*a, margin=0.5, p=1.0, eps=1e-3, swap=True)),
    ("nn.CTCLoss(blank=0, reduction='sum', zero_infinity=True)",
     lambda a: F.ctc_loss(*a, blank=0, reduction="sum", zero_infinity=True)),
]


@pytest.mark.parametrize("ctor, fn", FUNCTIONAL, ids=[c for c, _ in FUNCTIONAL])
def test_forward_is_the_functional_call(ctor, fn):
    args, _, consts = _inputs(_kind(ctor, None), np.random.default_rng(2), np.dtype("float32"))
    m = eval(ctor, {"nn": nn, "T": tg.tensor, **consts})
    ts = [tg.tensor(v) for v in args.values()]
    expected = fn(ts, consts) if fn.__code__.co_argcount == 2 else fn(ts)
    np.testing.assert_array_equal(m(*ts).numpy(), expected.numpy())


def test_losses_run_in_float64_after_double():
    m = nn.CrossEntropyLoss(weight=tg.tensor([1.0, 2.0, 3.0])).double()
    x = tg.tensor(np.random.default_rng(0).normal(size=(4, 3)), requires_grad=True)
    out = m(x, tg.tensor([0, 1, 2, 1]))
    assert out.dtype == tg.float64
    out.backward()
    assert x.grad.dtype == tg.float64


def test_gradcheck_of_a_weighted_loss():
    from tapegrad.autograd import gradcheck
    m = nn.BCEWithLogitsLoss(weight=tg.tensor([0.5, 2.0]), pos_weight=tg.tensor([3.0, 0.5]))
    m.double()
    rng = np.random.default_rng(4)
    x = tg.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    t = tg.tensor(rng.uniform(size=(3, 2)), requires_grad=True)
    assert gradcheck(lambda x, t: m(x, t), (x, t))


# ---- errors --------------------------------------------------------------------------------------
def test_constructor_errors():
    with pytest.raises(ArgumentError, match="only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="MultiMarginLoss: expected weight to be None or a 1-d"):
        nn.MultiMarginLoss(weight=tg.ones(2, 2))
    with pytest.raises(ValueError, match="TripletMarginLoss: expected margin to be greater "
                                         "than 0, got 0"):
        nn.TripletMarginLoss(margin=0)
    with pytest.raises(TypeError, match="HuberLoss: delta must be a float or int, got str"):
        nn.HuberLoss(delta="1")
    with pytest.raises(TypeError):
        nn.CrossEntropyLoss(weight=[1.0, 2.0])     # a buffer must be a Tensor


def test_bad_reduction_is_refused_when_called():
    m = nn.MSELoss(reduction="avg")              # accepted here, as PyTorch does
    with pytest.raises(ArgumentError, match="'avg' is not a valid value for reduction"):
        m(tg.ones(2), tg.ones(2))


def test_errors_come_from_the_functional():
    with pytest.raises(ValueError, match="cross_entropy"):
        nn.CrossEntropyLoss()(tg.zeros(2, 3), tg.tensor([0, 5]))
    with pytest.raises(ValueError, match="cross_entropy: weight must have one entry per class"):
        nn.CrossEntropyLoss(weight=tg.ones(4))(tg.zeros(2, 3), tg.tensor([0, 1]))
    with pytest.raises(ArgumentError, match="binary_cross_entropy"):
        nn.BCELoss()(tg.tensor([1.5]), tg.tensor([1.0]))


@pytest.mark.parametrize("name", NAMES)
def test_constructor_signature_matches_torch(name):
    import inspect
    torch = pytest.importorskip("torch")

    def params(cls):
        return [(p.name, p.default, p.kind) for p in
                inspect.signature(cls.__init__).parameters.values()]
    assert params(getattr(nn, name)) == params(getattr(torch.nn, name))
