"""Op database rows for tapegrad.nn.functional's losses and linear layers (see tests/opinfo.py
for what a row is; public functions are named 'F.<name>' in a row's api=). The NumPy
references are in tests/nn_losses_ref.py."""
import numpy as np

import nn_losses_ref as R
import tapegrad as tg
import tapegrad.nn.functional as F
from nn_parity import Case, floats, ints
from opinfo import I64, OpInfo, Sample, uniform

REDUCTIONS = ("none", "mean", "sum")


def _u(rng, shape, dtype, lo=-2.0, hi=2.0):
    return uniform(rng, shape, dtype, (lo, hi))


def _away(rng, shape, dtype, points, lo=-2.0, hi=2.0, gap=0.15):
    """Uniform values at least ``gap`` from every kink in ``points``."""
    x = rng.uniform(lo, hi, shape)
    for p in points:
        x = np.where(np.abs(x - p) < gap, p + np.sign(x - p + 1e-12) * gap * 2, x)
    return np.asarray(x, dtype=dtype)


def _ints(rng, shape, hi):
    return np.asarray(rng.integers(0, hi, shape), dtype=I64)


# ---- samples ------------------------------------------------------------------------------------
def pair_samples(kinks=()):
    """(input, target) pairs whose difference stays away from ``kinks`` (and its negatives),
    every reduction, plus a broadcast-free (2, 3, 2) case."""
    def gen(op, dtype, rng):
        out = []
        for shape, red in [((5,), "mean"), ((3, 4), "none"), ((2, 3, 2), "sum"), ((), "mean")]:
            t = _u(rng, shape, dtype)
            d = _away(rng, shape, np.float64, [k for p in kinks for k in (p, -p)] or [0.0])
            out.append(Sample((np.asarray(t + d, dtype=dtype), t), {"reduction": red},
                              desc=f"{shape} {red}"))
        return out
    return gen


def beta_samples(name):
    def gen(op, dtype, rng):
        out = []
        for beta, red in [(0.5, "mean"), (1.5, "none"), (1.0, "sum")]:
            t = _u(rng, (3, 4), dtype)
            d = _away(rng, (3, 4), np.float64, [beta, -beta, 0.0], -3.0, 3.0)
            out.append(Sample((np.asarray(t + d, dtype=dtype), t),
                              {"reduction": red, name: beta}, desc=f"{name}={beta} {red}"))
        return out
    return gen


CE_SHAPES = [((4, 5), (4,)), ((5,), ()), ((2, 3, 2, 2), (2, 2, 2))]


def ce_index_samples(op, dtype, rng):
    out = []
    kwargs = [{}, {"reduction": "none"}, {"reduction": "sum", "label_smoothing": 0.2},
              {"weight": True, "ignore_index": 1}, {"weight": True, "label_smoothing": 0.1},
              {"ignore_index": 0, "reduction": "none", "label_smoothing": 0.3}]
    for (xs, ts), kw in [(s, k) for s in CE_SHAPES for k in kwargs]:
        c = xs[0] if len(xs) == 1 else xs[1]
        kw = dict(kw)
        if kw.pop("weight", False):
            kw["weight"] = rng.uniform(0.2, 1.5, c).astype(dtype)
        t = _ints(rng, ts, c)
        if "ignore_index" in kw and t.ndim:
            t.flat[0] = kw["ignore_index"]         # at least one ignored target
        out.append(Sample((_u(rng, xs, dtype, -3, 3), t), kw, desc=f"{xs} {sorted(kw)}"))
    return out


def ce_prob_samples(op, dtype, rng):
    out = []
    for xs, kw in [((4, 5), {}), ((5,), {"reduction": "sum"}),
                   ((2, 3, 2), {"reduction": "none", "label_smoothing": 0.2}),
                   ((3, 4), {"weight": True})]:
        c = xs[0] if len(xs) == 1 else xs[1]
        kw = dict(kw)
        if kw.pop("weight", False):
            kw["weight"] = rng.uniform(0.2, 1.5, c).astype(dtype)
        p = rng.uniform(0.1, 1.0, xs)
        p = np.asarray(p / p.sum(axis=0 if len(xs) == 1 else 1, keepdims=True), dtype=dtype)
        out.append(Sample((_u(rng, xs, dtype, -3, 3), p), kw, desc=f"{xs} {sorted(kw)}"))
    return out


def nll_samples(op, dtype, rng):
    out = []
    for (xs, ts), kw in [(CE_SHAPES[0], {}), (CE_SHAPES[1], {"reduction": "sum"}),
                         (CE_SHAPES[2], {"reduction": "none", "ignore_index": 2}),
                         (CE_SHAPES[0], {"weight": True, "ignore_index": 0}),
                         (CE_SHAPES[2], {"weight": True})]:
        c = xs[0] if len(xs) == 1 else xs[1]
        kw = dict(kw)
        if kw.pop("weight", False):
            kw["weight"] = rng.uniform(0.2, 1.5, c).astype(dtype)
        t = _ints(rng, ts, c)
        if "ignore_index" in kw and t.ndim:
            t.flat[0] = kw["ignore_index"]
        out.append(Sample((_u(rng, xs, dtype, -3, 0), t), kw, desc=f"{xs} {sorted(kw)}"))
    return out


def bce_samples(op, dtype, rng):
    out = []
    for shape, kw in [((5,), {}), ((3, 4), {"reduction": "none"}),
                      ((2, 3), {"reduction": "sum", "weight": True}), ((), {})]:
        kw = dict(kw)
        if kw.pop("weight", False):
            kw["weight"] = rng.uniform(0.2, 1.5, shape[-1:]).astype(dtype)
        x = _u(rng, shape, dtype, 0.05, 0.95)
        out.append(Sample((x, _u(rng, shape, dtype, 0.0, 1.0)), kw, desc=f"{shape} {sorted(kw)}"))
    return out


def bce_logits_samples(op, dtype, rng):
    out = []
    for shape, kw in [((5,), {}), ((3, 4), {"reduction": "none", "pos_weight": True}),
                      ((2, 3), {"reduction": "sum", "weight": True, "pos_weight": True}),
                      ((), {})]:
        kw = dict(kw)
        if kw.pop("weight", False):
            kw["weight"] = rng.uniform(0.2, 1.5, shape[-1:]).astype(dtype)
        if kw.pop("pos_weight", False):
            kw["pos_weight"] = rng.uniform(0.5, 3.0, shape[-1:]).astype(dtype)
        out.append(Sample((_u(rng, shape, dtype, -3, 3), _u(rng, shape, dtype, 0.0, 1.0)), kw,
                          desc=f"{shape} {sorted(kw)}"))
    return out


def kl_samples(op, dtype, rng):
    out = []
    for shape, kw in [((3, 4), {}), ((3, 4), {"reduction": "batchmean"}),
                      ((2, 3, 2), {"reduction": "none", "log_target": True}),
                      ((5,), {"reduction": "sum", "log_target": True})]:
        tgt = (_u(rng, shape, dtype, -2, 0) if kw.get("log_target")
               else _u(rng, shape, dtype, 0.1, 1.0))
        out.append(Sample((_u(rng, shape, dtype, -3, 0), tgt), kw, desc=f"{shape} {kw}"))
    return out


def _signs(rng, shape):
    return np.asarray(rng.choice([-1.0, 1.0], shape))


def ranking_samples(op, dtype, rng):
    out = []
    for shape, kw in [((5,), {}), ((3, 4), {"margin": 0.5, "reduction": "none"}),
                      ((4,), {"margin": 0.2, "reduction": "sum"})]:
        y = _signs(rng, shape)
        a = _u(rng, shape, dtype)
        m = kw.get("margin", 0.0)
        # -y (a - b) + m away from 0: b = a + y (m + d) for d away from 0
        d = _away(rng, shape, np.float64, [0.0], -1.5, 1.5)
        b = np.asarray(a - y * (m - d), dtype=dtype)
        out.append(Sample((a, b, y.astype(dtype)), kw, desc=f"{shape} {kw}"))
    return out


def hinge_samples(op, dtype, rng):
    out = []
    for shape, kw in [((5,), {}), ((3, 4), {"margin": 0.5, "reduction": "none"}),
                      ((2, 3), {"margin": 2.0, "reduction": "sum"})]:
        x = _away(rng, shape, dtype, [kw.get("margin", 1.0)], -1, 3)
        out.append(Sample((x, _signs(rng, shape).astype(I64)), kw, desc=f"{shape} {kw}"))
    return out


def soft_margin_samples(op, dtype, rng):
    return [Sample((_u(rng, s, dtype), _signs(rng, s).astype(dtype)), {"reduction": r},
                   desc=f"{s} {r}") for s, r in [((5,), "mean"), ((3, 4), "none"), ((2, 3), "sum")]]


def multilabel_samples(op, dtype, rng):
    out = []
    for shape, kw in [((3, 4), {}), ((4,), {"reduction": "sum"}),
                      ((2, 3), {"reduction": "none", "weight": True})]:
        kw = dict(kw)
        if kw.pop("weight", False):
            kw["weight"] = rng.uniform(0.2, 1.5, shape[-1]).astype(dtype)
        y = np.asarray(rng.integers(0, 2, shape), dtype=dtype)
        out.append(Sample((_u(rng, shape, dtype), y), kw, desc=f"{shape} {sorted(kw)}"))
    return out


def multi_margin_samples(op, dtype, rng):
    out = []
    for shape, kw in [((4, 5), {}), ((5,), {"p": 2, "reduction": "sum"}),
                      ((3, 4), {"margin": 0.5, "reduction": "none", "weight": True}),
                      ((3, 4), {"p": 2, "margin": 2.0})]:
        kw = dict(kw)
        if kw.pop("weight", False):
            kw["weight"] = rng.uniform(0.2, 1.5, shape[-1]).astype(dtype)
        # distinct values a grid apart: margin - x[y] + x[j] never near 0
        n = int(np.prod(shape))
        x = (rng.permutation(n) * 0.37 - n * 0.15).reshape(shape).astype(dtype)
        y = _ints(rng, shape[:-1], shape[-1])
        out.append(Sample((x, y), kw, desc=f"{shape} {sorted(kw)}"))
    return out


def cosine_samples(op, dtype, rng):
    out = []
    for shape, kw in [((4, 3), {}), ((3,), {"reduction": "sum"}),
                      ((5, 2), {"margin": 0.2, "reduction": "none"})]:
        a, b = _u(rng, shape, dtype), _u(rng, shape, dtype)
        y = _ints(rng, shape[:-1], 2) * 2 - 1
        cos = np.sum(a * b, -1) / np.sqrt(np.sum(a * a, -1) * np.sum(b * b, -1))
        y = np.where(np.abs(cos - kw.get("margin", 0.0)) < 0.05, 1, y).astype(I64)
        out.append(Sample((a, b, y), kw, desc=f"{shape} {kw}"))
    return out


def triplet_samples(op, dtype, rng):
    out = []
    for shape, kw in [((4, 3), {}), ((3,), {"p": 1, "reduction": "sum", "margin": 5.0}),
                      ((5, 2), {"swap": True, "reduction": "none", "margin": 2.0}),
                      ((3, 4), {"p": 3, "eps": 0.0, "margin": 3.0})]:
        a, p, n = (_u(rng, shape, dtype) for _ in range(3))
        out.append(Sample((a, p, n), kw, desc=f"{shape} {kw}"))
    return out


def poisson_samples(op, dtype, rng):
    out = []
    for shape, kw in [((5,), {}), ((3, 4), {"log_input": False, "reduction": "none"}),
                      ((2, 3), {"full": True, "reduction": "sum"}),
                      ((4,), {"log_input": False, "full": True, "eps": 1e-3})]:
        lo = -1.0 if kw.get("log_input", True) else 0.2
        out.append(Sample((_u(rng, shape, dtype, lo, 2.0), _u(rng, shape, dtype, 0.0, 3.0)),
                          kw, desc=f"{shape} {kw}"))
    return out


def gaussian_samples(op, dtype, rng):
    out = []
    for xs, vs, kw in [((4, 3), (4, 3), {}), ((4, 3), (4,), {"full": True, "reduction": "sum"}),
                       ((2, 3), (2, 1), {"reduction": "none"}), ((5,), (5,), {"eps": 0.3})]:
        out.append(Sample((_u(rng, xs, dtype), _u(rng, xs, dtype),
                           _u(rng, vs, dtype, 0.5, 2.0)), kw, desc=f"{xs} var {vs} {kw}"))
    return out


def _log_softmax(x):
    return x - tg.logsumexp(x, -1, keepdim=True)


def _np_log_softmax(x):
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def ctc_samples(op, dtype, rng):
    out = []
    for (big_t, n, c, s), il, tl, kw in [
            ((6, 3, 4, 3), [6, 5, 4], [3, 2, 0], {}),
            ((5, 2, 3, 2), [5, 5], [2, 2], {"reduction": "sum"}),
            ((4, 2, 5, 2), [4, 3], [1, 2], {"reduction": "none"})]:
        targets = np.asarray(rng.integers(1, c, (n, s)), dtype=I64)
        if s >= 2:
            targets[0, 1] = targets[0, 0]            # a repeated label needs a blank between
        out.append(Sample((_u(rng, (big_t, n, c), dtype), targets, np.asarray(il, dtype=I64),
                           np.asarray(tl, dtype=I64)), kw, desc=f"T={big_t} N={n} {kw}"))
    return out


def linear_samples(op, dtype, rng):
    out = []
    for xs, ws, bias in [((4, 3), (5, 3), True), ((3,), (2, 3), True), ((2, 3, 4), (5, 4), False),
                         ((4, 3), (3,), False), ((2, 3), (4, 3), "broadcast")]:
        args = [_u(rng, xs, dtype), _u(rng, ws, dtype)]
        if bias is True:
            args.append(_u(rng, ws[:1], dtype))
        elif bias == "broadcast":
            args.append(_u(rng, (2, 1), dtype))
        out.append(Sample(tuple(args), desc=f"{xs} @ {ws}.T bias={bias}"))
    return out


def bilinear_samples(op, dtype, rng):
    out = []
    for s1, s2, ws, bias in [((4, 2), (4, 3), (5, 2, 3), True), ((2,), (3,), (4, 2, 3), False),
                             ((2, 3, 2), (2, 3, 4), (3, 2, 4), True)]:
        args = [_u(rng, s1, dtype), _u(rng, s2, dtype), _u(rng, ws, dtype)]
        if bias:
            args.append(_u(rng, ws[:1], dtype))
        out.append(Sample(tuple(args), desc=f"{s1} {s2} {ws} bias={bias}"))
    return out


ROWS = [
    OpInfo("F.mse_loss", F.mse_loss, R.mse, pair_samples(), covers=("sub", "mul", "mean")),
    OpInfo("F.l1_loss", F.l1_loss, R.l1, pair_samples([0.0]), covers=("abs", "sub")),
    OpInfo("F.smooth_l1_loss", F.smooth_l1_loss, R.smooth_l1, beta_samples("beta"),
           covers=("where", "abs")),
    OpInfo("F.huber_loss", F.huber_loss, R.huber, beta_samples("delta"), covers=("where", "abs")),
    OpInfo("F.cross_entropy", F.cross_entropy, R.cross_entropy, ce_index_samples,
           covers=("cross_entropy",)),
    OpInfo("F.cross_entropy_probabilities", F.cross_entropy, R.cross_entropy, ce_prob_samples,
           covers=("logsumexp", "sum"), api=("F.cross_entropy",)),
    OpInfo("F.nll_loss", F.nll_loss, R.nll, nll_samples, covers=("index", "div")),
    OpInfo("F.binary_cross_entropy", F.binary_cross_entropy, R.bce, bce_samples,
           covers=("log", "clamp", "where")),
    OpInfo("F.binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits,
           R.bce_logits, bce_logits_samples, covers=("logaddexp",)),
    OpInfo("F.kl_div", F.kl_div, R.kl_div, kl_samples, covers=("xlogy", "exp")),
    OpInfo("F.margin_ranking_loss", F.margin_ranking_loss, R.margin_ranking, ranking_samples,
           covers=("clamp",)),
    OpInfo("F.hinge_embedding_loss", F.hinge_embedding_loss, R.hinge_embedding, hinge_samples,
           covers=("clamp", "where")),
    OpInfo("F.soft_margin_loss", F.soft_margin_loss, R.soft_margin, soft_margin_samples,
           covers=("logaddexp",)),
    OpInfo("F.multilabel_soft_margin_loss", F.multilabel_soft_margin_loss,
           R.multilabel_soft_margin, multilabel_samples, covers=("logaddexp", "sum")),
    OpInfo("F.multi_margin_loss", F.multi_margin_loss, R.multi_margin, multi_margin_samples,
           covers=("clamp", "index", "where")),
    OpInfo("F.cosine_embedding_loss", F.cosine_embedding_loss, R.cosine_embedding,
           cosine_samples, covers=("sqrt", "where")),
    OpInfo("F.triplet_margin_loss", F.triplet_margin_loss, R.triplet, triplet_samples,
           covers=("vector_norm", "clamp")),
    OpInfo("F.poisson_nll_loss", F.poisson_nll_loss, R.poisson_nll, poisson_samples,
           covers=("exp", "log")),
    OpInfo("F.gaussian_nll_loss", F.gaussian_nll_loss, R.gaussian_nll, gaussian_samples,
           covers=("log", "div")),
    # NOTE: through a log_softmax (PyTorch's convention, Note [CTC recursions]): the rule is
    # the true derivative along normalized log-probabilities, so finite differences of the
    # logits check it; ctc_loss's rule is not differentiable twice.
    OpInfo("F.ctc_loss", lambda x, *a, **k: F.ctc_loss(_log_softmax(x), *a, **k),
           lambda x, *a, **k: R.ctc(_np_log_softmax(x), *a, **k), ctc_samples,
           covers=("ctc_loss",), supports_gradgrad=False),
    OpInfo("F.linear", F.linear, R.linear, linear_samples, covers=("linear", "matmul")),
    OpInfo("F.bilinear", F.bilinear, R.bilinear, bilinear_samples, covers=("matmul",)),
]

PARITY = []       # expressions over x, y, z, m (tests/test_torch_parity.py)

_C = 5


def _w(n):
    return floats((n,), 0.2, 1.5, grad=False)


NN_PARITY = [
    Case("F.mse_loss(x, y)", x=(3, 4), y=(3, 4)),
    Case("F.mse_loss(x, y, reduction='none')", x=(3, 4), y=(3, 4)),
    Case("F.l1_loss(x, y, reduction='sum')", x=(3, 4), y=(3, 4)),
    Case("F.smooth_l1_loss(x, y, beta=0.5)", x=(6,), y=(6,)),
    Case("F.smooth_l1_loss(x, y, beta=0.0, reduction='sum')", x=(6,), y=(6,)),
    Case("F.huber_loss(x, y, delta=0.3, reduction='none')", x=(2, 5), y=(2, 5)),
    Case("F.cross_entropy(x, t)", x=(4, _C), t=ints((4,), _C)),
    Case("F.cross_entropy(x, t, weight=w, ignore_index=1)", x=(6, _C), t=ints((6,), _C),
         w=_w(_C)),
    Case("F.cross_entropy(x, t, weight=w, label_smoothing=0.2, ignore_index=0)",
         x=(2, _C, 3), t=ints((2, 3), _C), w=_w(_C)),
    Case("F.cross_entropy(x, t, reduction='none', label_smoothing=0.1)", x=(2, _C, 2, 2),
         t=ints((2, 2, 2), _C)),
    Case("F.cross_entropy(x, t, reduction='sum')", x=(_C,), t=ints((), _C)),
    Case("F.cross_entropy(x, (p - lib.logsumexp(p, 1, keepdim=True)).exp(), weight=w, "
         "label_smoothing=0.3)", x=(3, _C),
         p=(3, _C), w=_w(_C)),
    Case("F.cross_entropy(x * 1e4, t)", x=(4, _C), t=ints((4,), _C), grad_rtol=1e-3),
    Case("F.cross_entropy(x, t)", x=floats((4, _C), dtype="float64"), t=ints((4,), _C)),
    Case("F.nll_loss(x, t, weight=w, ignore_index=2)", x=(5, _C), t=ints((5,), _C), w=_w(_C)),
    Case("F.nll_loss(x, t, reduction='none')", x=(2, _C, 3), t=ints((2, 3), _C)),
    Case("F.binary_cross_entropy(x, y, weight=w)", x=floats((3, 4), 0.05, 0.95),
         y=floats((3, 4), 0, 1, grad=False), w=_w(4)),
    Case("F.binary_cross_entropy(x, y, reduction='none')", x=floats((5,), 0.05, 0.95),
         y=floats((5,), 0, 1, grad=False)),
    Case("F.binary_cross_entropy_with_logits(x, y, pos_weight=w)", x=(3, 4),
         y=floats((3, 4), 0, 1), w=_w(4)),
    Case("F.binary_cross_entropy_with_logits(x * 1e4, y, reduction='sum')", x=(3, 4),
         y=floats((3, 4), 0, 1), grad_rtol=1e-3),
    Case("F.kl_div(x, y, reduction='batchmean')", x=floats((3, 4), -3, 0),
         y=floats((3, 4), 0.1, 1)),
    Case("F.kl_div(x, y, reduction='mean', log_target=True)", x=floats((3, 4), -3, 0),
         y=floats((3, 4), -3, 0)),
    Case("F.poisson_nll_loss(x, y)", x=(3, 4), y=floats((3, 4), 0, 3)),
    Case("F.poisson_nll_loss(x, y, log_input=False, full=True, reduction='sum')",
         x=floats((3, 4), 0.2, 2), y=floats((3, 4), 0, 3)),
    Case("F.gaussian_nll_loss(x, y, v)", x=(4, 3), y=(4, 3), v=floats((4, 3), 0.5, 2)),
    Case("F.gaussian_nll_loss(x, y, v, full=True, reduction='none')", x=(4, 3), y=(4, 3),
         v=floats((4,), 0.5, 2)),
    Case("F.gaussian_nll_loss(x, y, v, eps=0.7)", x=(2, 3), y=(2, 3), v=floats((2, 1), 0, 1)),
    Case("F.margin_ranking_loss(x, y, s.sign(), margin=0.1)", x=(6,), y=(6,),
         s=floats((6,), grad=False)),
    Case("F.hinge_embedding_loss(x, s.sign(), margin=0.5)", x=(3, 4),
         s=floats((3, 4), grad=False)),
    Case("F.soft_margin_loss(x, s.sign())", x=(3, 4), s=floats((3, 4), grad=False)),
    Case("F.multilabel_soft_margin_loss(x, y, weight=w)", x=(3, 4),
         y=floats((3, 4), 0, 1, grad=False), w=_w(4)),
    Case("F.multi_margin_loss(x, t)", x=(4, _C), t=ints((4,), _C)),
    Case("F.multi_margin_loss(x, t, p=2, margin=0.5, weight=w, reduction='none')", x=(4, _C),
         t=ints((4,), _C), w=_w(_C)),
    Case("F.cosine_embedding_loss(x, y, t * 2 - 1, margin=0.1)", x=(4, 3), y=(4, 3),
         t=ints((4,), 2)),
    Case("F.triplet_margin_loss(a, p, n)", a=(4, 3), p=(4, 3), n=(4, 3)),
    Case("F.triplet_margin_loss(a, p, n, p=1, swap=True, reduction='none')", a=(4, 3),
         p=(4, 3), n=(4, 3)),
    Case("F.ctc_loss(x, t, [6, 5, 4], [3, 2, 0])", x=floats((6, 3, _C), -3, 0),
         t=ints((3, 3), _C, lo=1)),
    Case("F.ctc_loss(x - lib.logsumexp(x, 2, keepdim=True), t, [6, 6], [2, 3], "
         "reduction='sum', blank=4)", x=(6, 2, _C), t=ints((2, 3), 4)),
    Case("F.ctc_loss(x, t, [4, 3], [2, 1], reduction='none', zero_infinity=True)",
         x=floats((4, 2, _C), -3, 0), t=ints((3,), _C, lo=1)),
    Case("F.linear(x, w, b)", x=(4, 3), w=(5, 3), b=(5,)),
    Case("F.linear(x, w)", x=(2, 3, 4), w=(5, 4)),
    Case("F.linear(x, w, b)", x=floats((4, 3), dtype="float64"),
         w=floats((5, 3), dtype="float64"), b=floats((5,), dtype="float64")),
    Case("F.bilinear(x, y, w, b)", x=(4, 2), y=(4, 3), w=(5, 2, 3), b=(5,)),
    Case("F.bilinear(x, y, w)", x=(2, 3, 2), y=(2, 3, 4), w=(3, 2, 4)),
]
