"""Op database rows for tapegrad.nn.functional's normalization (see tests/opinfo.py for what a row
is; public functions are named 'F.<name>' in a row's api=).

Running statistics travel in a sample's kwargs as arrays (a sample's array args become tensors
that require grad, which batch_norm refuses for running statistics); the row's fn wraps a copy,
so the sample itself is never changed. Their updates are checked in test_nn_normalization.py
and against PyTorch (NN_PARITY, after=("rm", "rv")).
"""
import numpy as np

import tapegrad as tg
import tapegrad.nn.functional as F
from nn_parity import Case, floats
from opinfo import OpInfo, Sample, uniform


def _f64(a):
    return None if a is None else np.asarray(a, dtype=np.float64)


def _copy(a):
    return None if a is None else tg.tensor(a.copy())


def _standardized(x, axes, eps):
    """(x - mean) / sqrt(var + eps) over ``axes`` in float64, with NumPy's own var."""
    x = _f64(x)
    return (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


def _channels(x):
    """(C, 1, ..., 1): per-channel values broadcast along (N, C, *)."""
    return (x.shape[1],) + (1,) * (x.ndim - 2)


def _affine_ref(y, w, b, shape):
    if w is not None:
        y = y * _f64(w).reshape(shape)
    if b is not None:
        y = y + _f64(b).reshape(shape)
    return y


# ---- layer_norm / rms_norm ----------------------------------------------------------------------
LAYER_CASES = [  # (input shape, normalized_shape, weight?, bias?, kwargs)
    ((5,), (5,), False, False, {}), ((3, 4), (4,), True, True, {}),
    ((2, 3, 4), (3, 4), True, False, {}), ((2, 3, 4), [4], False, True, {"eps": 1e-3}),
    ((2, 2, 3), 3, True, True, {}), ((3, 1), (1,), True, True, {}),
]


def _trailing(normalized_shape):
    return (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)


def layer_samples(op, dtype, rng):
    out = []
    for shape, ns, has_w, has_b, kw in LAYER_CASES:
        pshape = _trailing(ns)
        w = uniform(rng, pshape, dtype, (0.5, 1.5)) if has_w else None
        b = uniform(rng, pshape, dtype, op.domain) if has_b and op.name != "F.rms_norm" else None
        args = (uniform(rng, shape, dtype, op.domain), ns, w)
        out.append(Sample(args if op.name == "F.rms_norm" else args + (b,), dict(kw),
                          desc=f"{shape} over {ns} weight={has_w} bias={b is not None} {kw}"))
    return out


def layer_norm_ref(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    ns = _trailing(normalized_shape)
    axes = tuple(range(x.ndim - len(ns), x.ndim))
    return _affine_ref(_standardized(x, axes, eps), weight, bias, ns)


def rms_norm_ref(x, normalized_shape, weight=None, eps=None):
    ns = _trailing(normalized_shape)
    eps = np.finfo(x.dtype).eps if eps is None else eps
    x64 = _f64(x)
    ms = np.mean(x64 ** 2, axis=tuple(range(x.ndim - len(ns), x.ndim)), keepdims=True)
    return _affine_ref(x64 / np.sqrt(ms + eps), weight, None, ns)


# ---- batch_norm / instance_norm ----------------------------------------------------------------
CHANNEL_CASES = [  # (input shape, weight?, bias?, running stats?, kwargs)
    ((4, 3), True, True, True, {}), ((3, 2, 4), False, False, False, {}),
    ((2, 3, 2, 2), True, False, True, {"momentum": 0.5}),
    ((2, 2, 2, 2, 2), False, True, False, {"eps": 1e-3}),
]


def channel_samples(op, dtype, rng):
    out = []
    for shape, has_w, has_b, has_stats, kw in CHANNEL_CASES:
        if op.name.startswith("F.instance_norm") and len(shape) == 2:
            shape = shape + (3,)                  # instance_norm needs spatial elements
        c = shape[1]
        w = uniform(rng, (c,), dtype, (0.5, 1.5)) if has_w else None
        b = uniform(rng, (c,), dtype, op.domain) if has_b else None
        kw = dict(kw)
        if has_stats or op.name.endswith("_eval"):
            kw["rm"] = uniform(rng, (c,), dtype, (-0.5, 0.5))
            kw["rv"] = uniform(rng, (c,), dtype, (0.5, 1.5))
        out.append(Sample((uniform(rng, shape, dtype, op.domain), w, b), kw,
                          desc=f"{shape} weight={has_w} bias={has_b} stats={'rm' in kw}"))
    return out


def _batch_norm_train(x, w, b, rm=None, rv=None, **kw):
    return F.batch_norm(x, _copy(rm), _copy(rv), w, b, training=True, **kw)


def _batch_norm_eval(x, w, b, rm, rv, **kw):
    return F.batch_norm(x, _copy(rm), _copy(rv), w, b, **kw)


def batch_norm_ref(x, w, b, rm=None, rv=None, momentum=0.1, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    return _affine_ref(_standardized(x, axes, eps), w, b, _channels(x))


def batch_norm_eval_ref(x, w, b, rm, rv, momentum=0.1, eps=1e-5):
    rm, rv = _f64(rm).reshape(_channels(x)), _f64(rv).reshape(_channels(x))
    return _affine_ref((_f64(x) - rm) / np.sqrt(rv + eps), w, b, _channels(x))


def _instance_norm(x, w, b, rm=None, rv=None, **kw):
    return F.instance_norm(x, _copy(rm), _copy(rv), w, b, **kw)


def _instance_norm_eval(x, w, b, rm, rv, **kw):
    return F.instance_norm(x, _copy(rm), _copy(rv), w, b, use_input_stats=False, **kw)


def instance_norm_ref(x, w, b, rm=None, rv=None, momentum=0.1, eps=1e-5):
    out = np.empty(x.shape)
    for n in range(x.shape[0]):                 # each instance on its own
        for c in range(x.shape[1]):
            out[n, c] = _standardized(x[n, c], None, eps)
    return _affine_ref(out, w, b, _channels(x))


# ---- group_norm ------------------------------------------------------------------------------
GROUP_CASES = [  # (input shape, num_groups, weight?, bias?, kwargs)
    ((2, 4, 3), 2, True, True, {}), ((2, 6), 3, False, False, {}),
    ((1, 4, 2, 2), 1, True, False, {}), ((2, 4, 2, 2), 4, False, True, {"eps": 1e-2}),
    ((1, 6, 2, 1, 2), 3, True, True, {}),
]


def group_samples(op, dtype, rng):
    out = []
    for shape, groups, has_w, has_b, kw in GROUP_CASES:
        c = shape[1]
        w = uniform(rng, (c,), dtype, (0.5, 1.5)) if has_w else None
        b = uniform(rng, (c,), dtype, op.domain) if has_b else None
        out.append(Sample((uniform(rng, shape, dtype, op.domain), groups, w, b), dict(kw),
                          desc=f"{shape} groups={groups} weight={has_w} bias={has_b}"))
    return out


def group_norm_ref(x, num_groups, w=None, b=None, eps=1e-5):
    out = np.empty(x.shape)
    per = x.shape[1] // num_groups
    for n in range(x.shape[0]):
        for g in range(num_groups):
            sl = (n, slice(g * per, (g + 1) * per))
            out[sl] = _standardized(x[sl], None, eps)
    return _affine_ref(out, w, b, _channels(x))


# ---- local_response_norm ------------------------------------------------------------------------
LRN_CASES = [((2, 4, 3), 2, {}), ((1, 5, 2, 2), 3, {"alpha": 0.5, "beta": 0.6, "k": 2.0}),
             ((2, 3, 2, 1, 2), 4, {"alpha": 0.3}), ((1, 3, 4), 1, {"beta": 1.5})]


def lrn_samples(op, dtype, rng):
    return [Sample((uniform(rng, shape, dtype, op.domain), size), dict(kw),
                   desc=f"{shape} size={size} {kw}") for shape, size, kw in LRN_CASES]


def lrn_ref(x, size, alpha=1e-4, beta=0.75, k=1.0):
    x = _f64(x)
    out = np.empty(x.shape)
    channels = x.shape[1]
    for c in range(channels):       # the window c - size // 2 ... c + (size - 1) // 2, clipped
        lo, hi = max(0, c - size // 2), min(channels, c + (size - 1) // 2 + 1)
        s = np.sum(x[:, lo:hi] ** 2, axis=1)
        out[:, c] = x[:, c] / (k + alpha / size * s) ** beta
    return out


ROWS = [
    OpInfo("F.layer_norm", F.layer_norm, layer_norm_ref, layer_samples, covers=("standardize",)),
    OpInfo("F.rms_norm", F.rms_norm, rms_norm_ref, layer_samples, covers=("rms_normalize",)),
    OpInfo("F.batch_norm", _batch_norm_train, batch_norm_ref, channel_samples,
           covers=("standardize",)),
    OpInfo("F.batch_norm_eval", _batch_norm_eval, batch_norm_eval_ref, channel_samples,
           covers=("mul", "add"), api=("F.batch_norm",)),
    OpInfo("F.instance_norm", _instance_norm, instance_norm_ref, channel_samples,
           covers=("standardize",)),
    OpInfo("F.instance_norm_eval", _instance_norm_eval, batch_norm_eval_ref, channel_samples,
           covers=("mul", "add"), api=("F.instance_norm",)),
    OpInfo("F.group_norm", F.group_norm, group_norm_ref, group_samples,
           covers=("standardize", "reshape")),
    OpInfo("F.local_response_norm", F.local_response_norm, lrn_ref, lrn_samples,
           covers=("cat", "strided", "sum", "pow", "div")),
]

PARITY = []       # expressions over x, y, z, m (tests/test_torch_parity.py)


def _stats(c, dtype="float32"):
    """A running mean and a (positive) running variance of c elements, not requiring grad."""
    return {"rm": floats((c,), -0.5, 0.5, dtype, grad=False),
            "rv": floats((c,), 0.5, 1.5, dtype, grad=False)}


HALF = {"rtol": 2e-3, "atol": 2e-3, "grad_rtol": 1e-2, "grad_atol": 1e-2}
NN_PARITY = [    # nn_parity.Case entries with their own inputs (tests/test_torch_parity_nn.py)
    Case("F.layer_norm(a, [4])", a=(2, 3, 4)),
    Case("F.layer_norm(a, (3, 4), w, b, eps=1e-3)", a=(2, 3, 4), w=(3, 4), b=(3, 4)),
    Case("F.layer_norm(a, [6], w)", a=floats((5, 6), -1e4, 1e4), w=(6,)),
    Case("F.layer_norm(a, [6], w, b)", a=floats((5, 6), -1e4, 1e4, "float64"),
         w=floats((6,), dtype="float64"), b=floats((6,), dtype="float64")),
    Case("F.layer_norm(a, [5], w, b)", a=floats((3, 5), dtype="float16"),
         w=floats((5,), dtype="float16"), b=floats((5,), dtype="float16"), **HALF),
    Case("F.batch_norm(a, rm, rv, w, b, training=True)", a=(4, 3, 5), w=(3,), b=(3,),
         after=("rm", "rv"), **_stats(3)),
    Case("F.batch_norm(a, rm, rv, training=True, momentum=0.5)", a=(2, 3, 4, 4),
         after=("rm", "rv"), **_stats(3)),
    Case("F.batch_norm(a, rm, rv, w, b, True, 0.25, 1e-3)", a=floats((2, 2, 2, 3, 3),
         dtype="float64"), w=floats((2,), dtype="float64"), b=floats((2,), dtype="float64"),
         after=("rm", "rv"), **_stats(2, "float64")),
    Case("F.batch_norm(a, None, None, training=True)", a=(8, 3)),
    Case("F.batch_norm(a, rm, rv, w, b)", a=(4, 3, 5), w=(3,), b=(3,), after=("rm", "rv"),
         **_stats(3)),
    Case("F.batch_norm(a, rm, rv, w, b, training=False, eps=0.1)", a=(2, 3, 2, 2), w=(3,),
         b=(3,), **_stats(3)),
    Case("F.batch_norm(a, rm, rv, training=True)", a=floats((6, 3, 4), dtype="float16"),
         after=("rm", "rv"), **_stats(3), **HALF),
    Case("F.group_norm(a, 2, w, b)", a=(2, 4, 3, 3), w=(4,), b=(4,)),
    Case("F.group_norm(a, 1)", a=(3, 4, 5)),
    Case("F.group_norm(a, 6, eps=1e-2)", a=(2, 6)),
    Case("F.group_norm(a, 3, w, b)", a=floats((2, 6, 4), dtype="float16"),
         w=floats((6,), dtype="float16"), b=floats((6,), dtype="float16"), **HALF),
    Case("F.instance_norm(a)", a=(2, 3, 5)),
    Case("F.instance_norm(a, rm, rv, w, b, momentum=0.3)", a=(2, 3, 4, 4), w=(3,), b=(3,),
         after=("rm", "rv"), **_stats(3)),
    Case("F.instance_norm(a, rm, rv, w, b, use_input_stats=False)", a=(2, 3, 4), w=(3,),
         b=(3,), after=("rm", "rv"), **_stats(3)),
    Case("F.rms_norm(a, [4])", a=(2, 3, 4)),
    Case("F.rms_norm(a, (3, 4), w, eps=1e-3)", a=(2, 3, 4), w=(3, 4)),
    Case("F.rms_norm(a, [8], w)", a=floats((3, 8), dtype="float64"),
         w=floats((8,), dtype="float64")),
    Case("F.rms_norm(a, [5], w)", a=floats((3, 5), dtype="float16"),
         w=floats((5,), dtype="float16"), **HALF),
    Case("F.local_response_norm(a, 2)", a=(2, 5, 3)),
    Case("F.local_response_norm(a, 3, alpha=0.5, beta=0.6, k=2.0)", a=(2, 5, 3, 3)),
    Case("F.local_response_norm(a, 5, 0.2)", a=(1, 4, 2, 2, 3)),
    Case("F.local_response_norm(a, 4, 1e-2)", a=floats((2, 6, 3), -3, 3, "float64")),
]
