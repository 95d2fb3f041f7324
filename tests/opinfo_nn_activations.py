"""Op database rows for tapegrad.nn.functional's activations (see tests/opinfo.py for what a row
is; public functions are named 'F.<name>' in a row's api=).

The references are plain NumPy, written from each function's definition (no max subtraction in
softmax: the samples are small). Samples stay away from the kinks (tests/test_nn_activations.py
checks the gradients there against PyTorch's conventions).
"""
import math

import numpy as np

import tapegrad as tg
import tapegrad.nn.functional as F
from nn_parity import Case, floats
from opinfo import F32, F64, I64, OpInfo, Sample, avoid, to_float32_if_int, uniform

INTS = (F32, F64, I64)
SHAPES = [(), (5,), (3, 4), (2, 3, 2)]
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
_erf = np.vectorize(math.erf, otypes=[np.float64])


def pointwise(cases=({},), kinks=(), domain=None):
    """Samples of a pointwise function: each kwargs of ``cases`` on every shape, values kept
    0.1 away from ``kinks`` (a callable of the kwargs, or a tuple)."""
    def gen(op, dtype, rng):
        out = []
        for kw in cases:
            points = kinks(**kw) if callable(kinks) else kinks
            for s in SHAPES:
                x = uniform(rng, s, dtype, domain or op.domain)
                if dtype.kind == "f":
                    x = avoid(x, points)
                out.append(Sample((x,), dict(kw), desc=f"{s} {kw}"))
        return out
    return gen


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax_ref(x, dim, dtype=None):
    x = x.astype(dtype) if dtype is not None else x
    if x.ndim == 0:
        return np.ones_like(x)
    e = np.exp(x)
    return e / e.sum(axis=dim, keepdims=True)


def _log_softmax_ref(x, dim, dtype=None):
    x = x.astype(dtype) if dtype is not None else x
    if x.size == 0:
        return x.copy()
    if x.ndim == 0:
        return np.zeros_like(x)
    return x - np.log(np.exp(x).sum(axis=dim, keepdims=True))


SOFTMAX_CASES = [((), 0), ((5,), 0), ((5,), -1), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), 1),
                 ((2, 3, 4), -1), ((0, 3), 1), ((3, 0), 1)]


def softmax_samples(op, dtype, rng):
    return [Sample((uniform(rng, s, dtype, (-3, 3)), d), desc=f"{s} dim={d}")
            for s, d in SOFTMAX_CASES]


def _prelu_ref(x, w):
    w = w.reshape(()) if w.size == 1 else w.reshape((-1,) + (1,) * (x.ndim - 2))
    return np.where(x > 0, x, w * x)


def prelu_samples(op, dtype, rng):
    cases = [((2, 3, 4), (3,)), ((2, 3), (3,)), ((2, 3, 2, 2), (1,)), ((4,), (1,)), ((), ()),
             ((2, 3), ())]
    out = []
    for xs, ws in cases:
        x = avoid(uniform(rng, xs, dtype, (-2, 2)), (0,))
        out.append(Sample((x, uniform(rng, ws, dtype, (0.05, 0.5))), desc=f"{xs} w {ws}"))
    return out


def _glu_ref(x, dim=-1):
    a, b = np.split(x, 2, axis=dim)
    return a * _sigmoid(b)


def glu_samples(op, dtype, rng):
    return [Sample((uniform(rng, s, dtype, (-2, 2)),), kw, desc=f"{s} {kw}")
            for s, kw in [((4,), {}), ((3, 4), {}), ((4, 3), {"dim": 0}),
                          ((2, 6, 2), {"dim": 1}), ((2, 0), {})]]


def _rng_of(seed):
    """The stream tapegrad.manual_seed(seed) starts (tapegrad's generator wraps PCG64)."""
    return np.random.Generator(np.random.PCG64(seed))


def _rrelu_train(x, lower=0.1, upper=0.4):
    tg.manual_seed(5)
    return F.rrelu(x, lower, upper, training=True)


def _rrelu_train_ref(x, lower=0.1, upper=0.4):
    slopes = _rng_of(5).uniform(lower, upper, np.shape(x))
    return np.where(x > 0, x, x * slopes.astype(x.dtype))


def _gumbel(x, **kw):
    tg.manual_seed(3)
    return F.gumbel_softmax(x, **kw)


def _gumbel_ref(x, tau=1, hard=False, dim=-1):
    g = -np.log(_rng_of(3).standard_exponential(np.shape(x))).astype(x.dtype)
    y = _softmax_ref((x + g) / tau, dim)
    if not hard:
        return y
    return (np.argmax(y, axis=dim, keepdims=True) ==
            np.arange(y.shape[dim]).reshape((-1,) + (1,) * (y.ndim - 1 - dim % y.ndim)))


def gumbel_samples(op, dtype, rng):
    return [Sample((uniform(rng, s, dtype, (-2, 2)),), kw, desc=f"{s} {kw}")
            for s, kw in [((5,), {}), ((3, 4), {"tau": 0.5}), ((3, 4), {"dim": 0}),
                          ((2, 3, 2), {"dim": 1, "tau": 2.0})]]


def _norm_ref(x, p, axis):
    a = np.abs(x)
    if p == math.inf:
        return a.max(axis=axis, keepdims=True)
    return (a ** p).sum(axis=axis, keepdims=True) ** (1 / p)


def _normalize_ref(x, p=2.0, dim=1, eps=1e-12):
    return x / np.maximum(_norm_ref(x, p, dim), eps)


def normalize_samples(op, dtype, rng):
    cases = [((3, 4), {}), ((3, 4), {"dim": 0}), ((2, 3, 2), {"p": 1.0}),
             ((5,), {"dim": 0, "p": 3.0}), ((2, 3), {"dim": -1}), ((2, 3, 4), {"dim": (1, 2)})]
    return [Sample((avoid(uniform(rng, s, dtype, (-2, 2)), (0,)),), kw, desc=f"{s} {kw}")
            for s, kw in cases]


def _cosine_ref(x1, x2, dim=1, eps=1e-8):
    x1, x2 = np.broadcast_arrays(x1, x2)
    n1 = np.maximum(np.sqrt((x1 * x1).sum(axis=dim)), eps)
    n2 = np.maximum(np.sqrt((x2 * x2).sum(axis=dim)), eps)
    return (x1 * x2).sum(axis=dim) / (n1 * n2)


def _pairwise_ref(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    d = np.abs(x1 - x2 + eps)
    if d.ndim == 0:
        return d
    out = (d ** p).sum(axis=-1, keepdims=keepdim) ** (1 / p)
    return out


PAIR_CASES = [((2, 3), (2, 3), {}), ((2, 3), (3,), {}), ((2, 1, 3), (4, 3), {"dim": -1}),
              ((4,), (4,), {"dim": 0}), ((3, 4), (3, 4), {"dim": 0, "eps": 1e-6})]
DIST_CASES = [((2, 3), (2, 3), {}), ((2, 3), (3,), {"keepdim": True}), ((4,), (4,), {}),
              ((2, 1, 3), (4, 3), {"p": 1.0}), ((3, 4), (3, 4), {"p": 3.0}), ((), (), {})]


def pair_samples(cases):
    def gen(op, dtype, rng):
        return [Sample((uniform(rng, a, dtype, (-2, 2)), uniform(rng, b, dtype, (-2, 2))), kw,
                       desc=f"{a} with {b} {kw}") for a, b, kw in cases]
    return gen


def _clone_then(fn):
    """An in-place function applied to a clone (rows never mutate their inputs)."""
    return lambda x, *args, **kw: fn(x.clone(), *args, **kw)


_gelu_tanh = math.sqrt(2 / math.pi)
LEAKY = ({}, {"negative_slope": 0.2})
SOFTPLUS = ({}, {"beta": 2.0}, {"beta": 0.5, "threshold": 1.0})

ROWS = [
    OpInfo("F.relu", F.relu, lambda x: np.maximum(x, 0).astype(x.dtype),
           pointwise(kinks=(0,)), dtypes=INTS, covers=("relu",)),
    OpInfo("F.relu_", _clone_then(F.relu_), lambda x: np.maximum(x, 0),
           pointwise(kinks=(0,)), covers=("relu", "clone")),
    OpInfo("F.relu6", F.relu6, lambda x: np.clip(x, 0, 6).astype(x.dtype),
           pointwise(kinks=(0, 6)), domain=(-3, 8), dtypes=INTS, covers=("hardtanh",),
           result_dtype=lambda d: d),
    OpInfo("F.hardtanh", F.hardtanh,
           lambda x, min_val=-1.0, max_val=1.0: np.clip(x, min_val, max_val).astype(x.dtype),
           pointwise(({}, {"min_val": -0.5, "max_val": 1.5}),
                     kinks=lambda min_val=-1.0, max_val=1.0: (min_val, max_val)),
           dtypes=INTS, covers=("hardtanh",), result_dtype=lambda d: d),
    OpInfo("F.hardtanh_", _clone_then(F.hardtanh_), lambda x: np.clip(x, -1, 1),
           pointwise(kinks=(-1, 1)), covers=("hardtanh", "clone")),
    OpInfo("F.leaky_relu", F.leaky_relu,
           lambda x, negative_slope=0.01: np.where(x > 0, x, negative_slope * x),
           pointwise(LEAKY, kinks=(0,)), covers=("leaky_relu",)),
    OpInfo("F.leaky_relu_", _clone_then(F.leaky_relu_),
           lambda x, negative_slope=0.01: np.where(x > 0, x, negative_slope * x),
           pointwise(LEAKY, kinks=(0,)), covers=("leaky_relu", "clone")),
    OpInfo("F.threshold", F.threshold,
           lambda x, threshold, value: np.where(x > threshold, x, value).astype(x.dtype),
           lambda op, dtype, rng: [
               Sample((avoid(uniform(rng, s, dtype, (-3, 3)), (0.5,)), 0.5, -2.0), desc=f"{s}")
               for s in SHAPES], dtypes=INTS, covers=("threshold",), result_dtype=lambda d: d),
    OpInfo("F.threshold_", _clone_then(F.threshold_),
           lambda x, threshold, value: np.where(x > threshold, x, value),
           lambda op, dtype, rng: [Sample((avoid(uniform(rng, s, dtype, (-2, 2)), (0.3,)),
                                           0.3, 1.5)) for s in SHAPES],
           covers=("threshold", "clone")),
    OpInfo("F.hardshrink", F.hardshrink,
           lambda x, lambd=0.5: np.where(np.abs(x) > lambd, x, 0),
           pointwise(({}, {"lambd": 0.2}), kinks=lambda lambd=0.5: (-lambd, lambd)),
           covers=("hardshrink",)),
    OpInfo("F.softshrink", F.softshrink,
           lambda x, lambd=0.5: np.sign(x) * np.maximum(np.abs(x) - lambd, 0),
           pointwise(({}, {"lambd": 0.3}), kinks=lambda lambd=0.5: (-lambd, lambd)),
           covers=("softshrink",)),
    OpInfo("F.hardsigmoid", F.hardsigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1),
           pointwise(kinks=(-3, 3)), domain=(-5, 5), covers=("hardsigmoid",)),
    OpInfo("F.hardswish", F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6,
           pointwise(kinks=(-3, 3)), domain=(-5, 5), covers=("hardswish",)),
    OpInfo("F.prelu", F.prelu, _prelu_ref, prelu_samples, covers=("relu", "clamp", "mul", "add")),
    OpInfo("F.rrelu", F.rrelu,
           lambda x, lower=1 / 8, upper=1 / 3, training=False:
               np.where(x > 0, x, (lower + upper) / 2 * x),
           pointwise(({}, {"lower": 0.2, "upper": 0.5}), kinks=(0,)), covers=("leaky_relu",)),
    OpInfo("F.rrelu(training=True)", _rrelu_train, _rrelu_train_ref, pointwise(kinks=(0,)),
           covers=("relu", "clamp", "mul", "add"), api=("F.rrelu",)),
    OpInfo("F.rrelu_", _clone_then(F.rrelu_), lambda x: np.where(x > 0, x, (1 / 8 + 1 / 3) / 2 * x),
           pointwise(kinks=(0,)), covers=("leaky_relu", "clone")),
    # ---- smooth activations
    OpInfo("F.elu", F.elu, lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(x)),
           pointwise(({}, {"alpha": 0.5}), kinks=(0,)), covers=("elu",)),
    OpInfo("F.elu_", _clone_then(F.elu_),
           lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(x)),
           pointwise(({}, {"alpha": 1.5}), kinks=(0,)), covers=("elu", "clone")),
    OpInfo("F.selu", F.selu,
           lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
           pointwise(kinks=(0,)), covers=("elu",)),
    OpInfo("F.celu", F.celu,
           lambda x, alpha=1.0: np.maximum(x, 0) + np.minimum(0, alpha * np.expm1(x / alpha)),
           pointwise(({}, {"alpha": 2.0}), kinks=(0,)), covers=("elu",)),
    OpInfo("F.gelu", F.gelu,
           lambda x, approximate="none": (
               0.5 * x * (1 + _erf(x / math.sqrt(2))) if approximate == "none" else
               0.5 * x * (1 + np.tanh(_gelu_tanh * (x + 0.044715 * x ** 3)))),
           pointwise(({}, {"approximate": "tanh"})), domain=(-4, 4), covers=("gelu", "tanh", "mul")),
    OpInfo("F.silu", F.silu, lambda x: x * _sigmoid(x), pointwise(), domain=(-4, 4),
           covers=("sigmoid", "mul")),
    OpInfo("F.mish", F.mish, lambda x: x * np.tanh(np.log1p(np.exp(x))), pointwise(),
           domain=(-4, 4), covers=("softplus", "tanh", "mul")),
    OpInfo("F.softplus", F.softplus,
           lambda x, beta=1.0, threshold=20.0: np.where(
               beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta),
           pointwise(SOFTPLUS, kinks=lambda beta=1.0, threshold=20.0: (threshold / beta,)),
           domain=(-4, 4), covers=("softplus",)),
    OpInfo("F.logsigmoid", F.logsigmoid, lambda x: -np.log1p(np.exp(-x)), pointwise(),
           domain=(-5, 5), covers=("logsigmoid",)),
    OpInfo("F.softsign", F.softsign, lambda x: x / (1 + np.abs(x)), pointwise(kinks=(0,)),
           dtypes=INTS, result_dtype=to_float32_if_int, covers=("div", "abs")),
    OpInfo("F.tanhshrink", F.tanhshrink, lambda x: x - np.tanh(x), pointwise(), dtypes=INTS,
           result_dtype=to_float32_if_int, covers=("tanh", "sub")),
    OpInfo("F.sigmoid", F.sigmoid, _sigmoid, pointwise(), dtypes=INTS,
           result_dtype=to_float32_if_int, covers=("sigmoid",)),
    OpInfo("F.tanh", F.tanh, np.tanh, pointwise(), dtypes=INTS,
           result_dtype=to_float32_if_int, covers=("tanh",)),
    OpInfo("F.glu", F.glu, _glu_ref, glu_samples, covers=("sigmoid", "mul", "getitem")),
    # ---- softmax and relatives
    OpInfo("F.softmax", F.softmax, _softmax_ref, softmax_samples, covers=("softmax",),
           api=("F.softmax", "softmax")),
    OpInfo("F.softmax(dtype=float64)", lambda x, dim: F.softmax(x, dim, dtype=tg.float64),
           lambda x, dim: _softmax_ref(x, dim, np.float64), softmax_samples,
           covers=("softmax",), result_dtype=lambda d: F64, api=("F.softmax",)),
    OpInfo("F.log_softmax", F.log_softmax, _log_softmax_ref, softmax_samples,
           covers=("log_softmax",), api=("F.log_softmax", "log_softmax")),
    OpInfo("tg.softmax", tg.softmax, _softmax_ref, softmax_samples, covers=("softmax",),
           api=("softmax",)),
    OpInfo("tg.log_softmax", tg.log_softmax, _log_softmax_ref, softmax_samples,
           covers=("log_softmax",), api=("log_softmax",)),
    OpInfo("Tensor.log_softmax(dtype=float32)", lambda x, dim: x.log_softmax(dim, tg.float32),
           lambda x, dim: _log_softmax_ref(x, dim, np.float32), softmax_samples,
           covers=("log_softmax",), result_dtype=lambda d: F32, api=("log_softmax",),
           gradcheck_kwargs={"eps": 1e-3, "atol": 1e-3, "rtol": 1e-3}),
    OpInfo("F.softmin", F.softmin, lambda x, dim: _softmax_ref(-x, dim), softmax_samples,
           covers=("softmax", "neg")),
    OpInfo("F.gumbel_softmax", _gumbel, _gumbel_ref, gumbel_samples,
           covers=("softmax", "add", "div"), api=("F.gumbel_softmax",)),
    # NOTE: hard=True's straight-through gradient is the soft sample's, not the derivative of
    # the one-hot value (0): finite differences can't check it (test_nn_activations does).
    OpInfo("F.gumbel_softmax(hard=True)", lambda x, **kw: _gumbel(x, hard=True, **kw),
           lambda x, **kw: _gumbel_ref(x, hard=True, **kw).astype(x.dtype), gumbel_samples,
           differentiable=False, api=("F.gumbel_softmax",)),
    # ---- normalize and distances
    OpInfo("F.normalize", F.normalize, _normalize_ref, normalize_samples,
           covers=("div", "clamp", "vector_norm")),
    OpInfo("F.cosine_similarity", F.cosine_similarity, _cosine_ref, pair_samples(PAIR_CASES),
           covers=("div", "clamp", "vector_norm", "mul", "sum")),
    OpInfo("F.pairwise_distance", F.pairwise_distance, _pairwise_ref, pair_samples(DIST_CASES),
           covers=("sub", "add", "vector_norm")),
]

PARITY = []       # expressions over x, y, z, m (tests/test_torch_parity.py)

F64_IN = floats((3, 5), dtype="float64")
H = floats((3, 5), dtype="float16")
NN_PARITY = [   # nn_parity.Case entries with their own inputs (tests/test_torch_parity_nn.py)
    *[Case(e, a=(3, 5)) for e in [
        "F.relu(a)", "F.relu6(a * 8)", "F.leaky_relu(a)", "F.leaky_relu(a, 0.2)", "F.elu(a)",
        "F.elu(a, 0.5)", "F.elu(a, -0.3)", "F.selu(a)", "F.celu(a, 2.0)", "F.celu(a, -1.5)",
        "F.gelu(a * 3)", "F.gelu(a * 3, approximate='tanh')", "F.silu(a * 4)", "F.mish(a * 4)",
        "F.softplus(a * 4)", "F.softplus(a * 4, beta=2.0, threshold=1.0)",
        "F.softplus(a, -1.0)", "F.softsign(a * 3)", "F.hardtanh(a * 2)",
        "F.hardtanh(a * 2, -0.5, 1.5)", "F.hardsigmoid(a * 5)", "F.hardswish(a * 5)",
        "F.hardshrink(a)", "F.hardshrink(a, 0.2)", "F.hardshrink(a, -1.0)", "F.softshrink(a)",
        "F.softshrink(a, lambd=0.3)", "F.tanhshrink(a * 2)", "F.threshold(a, 0.1, -2.0)",
        "F.logsigmoid(a * 10)", "F.sigmoid(a)", "F.tanh(a)", "F.rrelu(a)",
        "F.rrelu(a, 0.1, 0.3)", "F.glu(a[:, :4])",
        "F.softmax(a, 1)", "F.softmax(a, 0, dtype=lib.float64)", "F.softmax(a, dim=-1)",
        "F.log_softmax(a, 1)", "F.log_softmax(a, 0)", "F.softmin(a, 1)",
        "F.softmin(a, 0, dtype=lib.float64)", "lib.softmax(a, 1)", "lib.log_softmax(a, -1)",
        "a.softmax(0)", "a.log_softmax(1)", "a.softmax(dim=1, dtype=lib.float64)",
        "F.normalize(a)", "F.normalize(a, p=1.0, dim=0)", "F.normalize(a, p=float('inf'))",
        "F.normalize(a, p=3.0, dim=(0, 1))", "F.normalize(a * 0)",
        # in place, on non-leaves
        "F.relu_(a * 1)", "F.relu(a * 1, inplace=True)", "F.relu6(a * 8, inplace=True)",
        "F.leaky_relu_(a * 1, 0.2)", "F.leaky_relu(a * 1, inplace=True)", "F.elu_(a * 1)",
        "F.elu(a * 1, 0.5, inplace=True)", "F.selu(a * 1, inplace=True)",
        "F.celu(a * 1, 2.0, inplace=True)", "F.silu(a * 4, inplace=True)",
        "F.mish(a * 4, inplace=True)", "F.hardtanh_(a * 2)", "F.hardtanh(a * 2, inplace=True)",
        "F.hardsigmoid(a * 5, inplace=True)", "F.hardswish(a * 5, inplace=True)",
        "F.threshold_(a * 1, 0.1, 2.0)", "F.threshold(a * 1, 0.1, 2.0, inplace=True)",
        "F.rrelu_(a * 1)", "F.rrelu(a * 1, 0.2, 0.4, inplace=True)",
    ]],
    # magnitudes up to 1e4: finite values and gradients, as PyTorch's
    *[Case(e, a=(3, 5)) for e in [
        "F.log_softmax(a * 1e4, 1)", "F.softmax(a * 1e4, 1)", "F.softplus(a * 1e4)",
        "F.logsigmoid(a * 1e4)", "F.gelu(a * 1e4)", "F.gelu(a * 1e4, approximate='tanh')",
        "F.silu(a * 1e4)", "F.mish(a * 1e4)", "F.elu(a * 1e4)", "F.selu(a * 1e4)",
    ]],
    *[Case(e, a=F64_IN) for e in [
        "F.log_softmax(a * 1e4, 1)", "F.softplus(a * 1e4)", "F.logsigmoid(a * 1e4)",
        "F.gelu(a * 1e4)", "F.gelu(a * 3)", "F.gelu(a * 3, approximate='tanh')",
        "F.mish(a * 3)", "F.silu(a * 3)", "F.softmax(a, 0)", "F.normalize(a * 0)",
    ]],
    # float16: computes (softmax accumulating in float32) and returns float16
    *[Case(e, a=H, rtol=2e-3, atol=2e-3, grad_rtol=1e-2, grad_atol=2e-3) for e in [
        "F.softmax(a, 1)", "F.log_softmax(a, 1)", "F.gelu(a)", "F.silu(a)", "F.softplus(a)",
        "F.elu(a)", "F.logsigmoid(a)", "F.mish(a)", "F.relu(a)", "F.hardtanh(a * 2)",
    ]],
    Case("F.prelu(a, w)", a=(2, 3, 4), w=floats((3,), 0.05, 0.5)),
    Case("F.prelu(a, w)", a=(2, 3), w=floats((1,), 0.05, 0.5)),
    Case("F.prelu(a, w)", a=(4,), w=floats((1,), 0.05, 0.5)),
    Case("F.prelu(a, w)", a=(2, 3, 2, 2), w=floats((), 0.05, 0.5)),
    Case("F.glu(a)", a=(3, 4)), Case("F.glu(a, 0)", a=(4, 3)),
    Case("F.glu(a, dim=1)", a=(2, 6, 3)),
    Case("F.cosine_similarity(a, b)", a=(3, 4), b=(3, 4)),
    Case("F.cosine_similarity(a, b, dim=0)", a=(3, 4), b=(4,)),
    Case("F.cosine_similarity(a, b, dim=-1)", a=(2, 1, 3), b=(4, 3)),
    Case("F.cosine_similarity(a * 0, b, dim=0)", a=(3,), b=(3,)),
    Case("F.cosine_similarity(a, b, eps=0.5)", a=(3, 4), b=(3, 4)),
    Case("F.cosine_similarity(a, b)", a=floats((3, 4), dtype="float64"), b=(3, 4)),
    Case("F.pairwise_distance(a, b)", a=(3, 4), b=(3, 4)),
    Case("F.pairwise_distance(a, b, keepdim=True)", a=(3, 4), b=(4,)),
    Case("F.pairwise_distance(a, b, p=1.0)", a=(2, 1, 3), b=(4, 3)),
    Case("F.pairwise_distance(a, b, p=float('inf'))", a=(3, 4), b=(3, 4)),
    Case("F.pairwise_distance(a, b, p=3.0, eps=0.0)", a=(3, 4), b=(3, 4)),
    Case("F.pairwise_distance(a, b)", a=(5,), b=(5,)),
    Case("F.pairwise_distance(a, b, keepdim=True)", a=(5,), b=(5,)),
    Case("F.pairwise_distance(a, a.detach())", a=(2, 3)),
]
