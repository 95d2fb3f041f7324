"""Op database rows for tapegrad.ops.binary_math and ternary_math (see tests/opinfo.py for
what a row is). Which sides take Python numbers follows PyTorch: atan2, hypot, logaddexp,
heaviside and the closeness tests take tensors only, fmod and copysign a number as ``other``,
xlogy and float_power on either side."""
import numpy as np

import tapegrad as tg
from opinfo import (BINARY_SHAPES, F32, F64, I64, OpInfo, Sample, away_from_zero,
                    binary, nonzero, to_float32_if_int, uniform)

INTS = (F32, F64, I64)
FLOAT_MATH = dict(dtypes=INTS, result_dtype=to_float32_if_int)


# ---- value makers: (rng, shape, dtype, domain) -> array -------------------------------------
def positive(rng, shape, dtype, domain):
    return uniform(rng, shape, dtype, (0.5, 2.0))


def fmod_dividend(rng, shape, dtype, domain):
    """Magnitudes in [2.3, 3.9], random signs: against a divisor of magnitude in [2, 2.1],
    x / y stays in 1.1..1.95 (trunc is +-1, and far from its jumps)."""
    mag = uniform(rng, shape, dtype, (2.3, 3.9))
    return np.asarray(mag * rng.choice([-1, 1], size=shape), dtype=dtype)


def fmod_divisor(rng, shape, dtype, domain):
    mag = uniform(rng, shape, dtype, (2.0, 2.1))
    return np.asarray(mag * rng.choice([-1, 1], size=shape), dtype=dtype)


# ---- sample families ----------------------------------------------------------------------------
def with_scalar_other(gen, value, make):
    """``gen``'s samples plus a Python number as ``other`` (an int one for integer dtypes,
    and then a float one too: integer tensor with a Python float gives float32); ``make``
    draws the tensor."""
    def samples(op, dtype, rng):
        out = gen(op, dtype, rng)
        x = make(rng, (3, 4), dtype, op.domain)
        if dtype.kind in "iu":
            out.append(Sample((x, int(value) or 1), desc="(3, 4) with python int"))
        out.append(Sample((x, float(value)), desc="(3, 4) with python float"))
        return out
    return samples


INPLACE_SHAPES = [((), ()), ((5,), (5,)), ((3, 4), (4,)), ((3, 4), (3, 1)), ((2, 3, 4), (3, 1)),
                  ((3, 4), ()), ((0, 3), (3,))]


def inplace_pairs(lhs=uniform, rhs=uniform, scalar=None):
    """x.clone().<op>_(y) samples: y broadcasts to x's shape; ``scalar``: also a number."""
    def gen(op, dtype, rng):
        out = [Sample((lhs(rng, a, dtype, op.domain), rhs(rng, b, dtype, op.domain)),
                      desc=f"{a} with {b}") for a, b in INPLACE_SHAPES]
        if scalar is not None:
            out.append(Sample((lhs(rng, (3, 4), dtype, op.domain), scalar), desc="number"))
        return out
    return gen


def heaviside_samples(op, dtype, rng):
    """Inputs with zeros (where the step takes ``values``), broadcasting, one dtype."""
    out = []
    for a, b in BINARY_SHAPES:
        x = uniform(rng, a, dtype, op.domain)
        x = np.where(rng.random(a) < 0.3, 0, x).astype(dtype)
        out.append(Sample((x, uniform(rng, b, dtype, op.domain)), desc=f"{a} with {b}"))
    return out


def float_power_samples(op, dtype, rng):
    out = [Sample((positive(rng, a, dtype, None), uniform(rng, b, dtype, (-1.5, 1.5))),
                  desc=f"{a} ** {b}") for a, b in BINARY_SHAPES]
    if dtype.kind in "iu":
        out += [Sample((uniform(rng, (3, 4), dtype, (-3, 3)), 2), desc="int ** 2"),
                Sample((2, uniform(rng, (3, 4), dtype, (0, 3))), desc="2 ** int")]
    else:
        out += [Sample((away_from_zero(rng, (3, 4), dtype, 0.3, 2.0), e), desc=f"** {e}")
                for e in (2, 3.0)]
        out += [Sample((positive(rng, (3, 4), dtype, None), -1.5), desc="** -1.5")]
        out += [Sample((2.5, uniform(rng, (2, 3), dtype, op.domain)), desc="2.5 ** (2, 3)")]
    if dtype == F32:
        out.append(Sample((positive(rng, (3,), F32, None),
                           uniform(rng, (2, 3), F64, op.domain)), desc="float32 ** float64"))
    return out


def _float_power_ref(x, y):
    return np.power(np.asarray(x, np.float64), np.asarray(y, np.float64))


LERP_SHAPES = [((), (), ()), ((5,), (5,), (5,)), ((3, 4), (3, 4), (3, 4)), ((3, 1), (4,), ()),
               ((2, 3, 4), (3, 4), (4,)), ((), (2, 3), (3,)), ((2, 1, 3), (4, 1), (1, 3)),
               ((0, 3), (3,), (0, 1))]


def lerp_scalar_samples(op, dtype, rng):
    out = []
    for w in (0.3, 0.8, -0.5, 1.0):     # both of the forward's branches, and outside [0, 1]
        for a, b, _ in LERP_SHAPES[:6]:
            out.append(Sample((uniform(rng, a, dtype, op.domain), uniform(rng, b, dtype,
                                                                            op.domain), w),
                              desc=f"{a} to {b} by {w}"))
    return out


def three_tensors(first=uniform, second=uniform, third=uniform, kwargs=({},)):
    """(a, b, c) broadcasting triples; ``kwargs`` cycle over them."""
    def gen(op, dtype, rng):
        return [Sample((first(rng, a, dtype, op.domain), second(rng, b, dtype, op.domain),
                        third(rng, c, dtype, op.domain)), dict(kwargs[k % len(kwargs)]),
                       desc=f"{a}, {b}, {c} {kwargs[k % len(kwargs)]}")
                for k, (a, b, c) in enumerate(LERP_SHAPES)]
    return gen


def lerp_tensor_samples(op, dtype, rng):
    out = three_tensors(third=lambda r, s, d, dom: uniform(r, s, d, (-0.5, 1.5)))(op, dtype, rng)
    if dtype == F32:          # a 0-d weight of another dtype is taken, as in PyTorch
        out.append(Sample((uniform(rng, (3, 4), F32, op.domain),
                           uniform(rng, (3, 4), F32, op.domain), np.asarray(0.7, F64)),
                          desc="0-d float64 weight", out_dtype=F32))
    return out


def _lerp_ref(x, y, w):
    return x + w * (y - x)


def addc_samples(divide):
    def gen(op, dtype, rng):
        values = ({"value": 2},) if dtype.kind in "iu" else \
            ({}, {"value": 0.5}, {"value": -2.0})
        out = three_tensors(third=nonzero if divide else uniform, kwargs=values)(op, dtype, rng)
        if dtype.kind == "f":    # integer input with floating tensors: the floating dtype
            out.append(Sample((uniform(rng, (3, 4), I64, op.domain),
                               uniform(rng, (3, 4), dtype, op.domain),
                               nonzero(rng, (4,), dtype, op.domain)), desc="int64 input"))
        if dtype == F32:         # a 0-d float64 tensor does not widen float32 ones
            out.append(Sample((uniform(rng, (3, 4), F32, op.domain),
                               uniform(rng, (3, 4), F32, op.domain),
                               np.asarray(1.5, F64)), desc="0-d float64 tensor2",
                              out_dtype=F32))
        return out
    return gen


def _addcmul_ref(x, t1, t2, value=1):
    return x + value * t1 * t2


def _addcdiv_ref(x, t1, t2, value=1):
    return x + value * t1 / t2


def inplace_three(divide=False, kwargs=None):
    """x.clone().<op>_(a, b) samples: a and b broadcast to x's shape."""
    def gen(op, dtype, rng):
        cases = [((3, 4), (3, 4), (4,)), ((3, 4), (), (3, 1)), ((), (), ()), ((5,), (5,), (1,))]
        third = nonzero if divide else uniform
        return [Sample((uniform(rng, a, dtype, op.domain), uniform(rng, b, dtype, op.domain),
                        third(rng, c, dtype, op.domain)), dict(kwargs or {}),
                       desc=f"{a} with {b}, {c}") for a, b, c in cases]
    return gen


def lerp_inplace_samples(op, dtype, rng):
    """lerp's scalar-weight samples whose result keeps the first input's shape."""
    return [s for s in lerp_scalar_samples(op, dtype, rng)
            if np.broadcast_shapes(s.args[0].shape, s.args[1].shape) == s.args[0].shape]


def close_samples(op, dtype, rng):
    """Pairs some of whose elements are within the tolerances and some not; nans for
    equal_nan; the closeness tests take tensors of one dtype only."""
    out = []
    for (a, b), kw in zip(BINARY_SHAPES, [{}, {"rtol": 0.1, "atol": 0.0}, {"atol": 0.5},
                                          {}, {"rtol": 0.0, "atol": 1.0}, {}, {}, {}, {}]):
        x = uniform(rng, a, dtype, (-3, 3))
        if a == b:      # half the elements nudged by up to 1
            y = np.asarray(x + uniform(rng, a, dtype, (-1, 1)) * (rng.random(a) < 0.5), dtype)
        else:
            y = uniform(rng, b, dtype, (-3, 3))
        out.append(Sample((x, y), kw, desc=f"{a} with {b} {kw}"))
    if dtype.kind == "f":
        x = np.array([1.0, np.nan, np.inf, -np.inf, 1e-9, 1.0], dtype)
        y = np.array([1.0 + 1e-6, np.nan, np.inf, np.inf, 0.0, np.nan], dtype)
        out += [Sample((x, y), {"equal_nan": e}, desc=f"nan, inf, equal_nan={e}")
                for e in (False, True)]
    return out


def equal_samples(op, dtype, rng):
    x = uniform(rng, (3, 4), dtype, op.domain)
    y = x.copy()
    y[1, 2] += 1
    return [Sample((x, x.copy()), desc="same"), Sample((x, y), desc="one differs"),
            Sample((x[0], x[:1]), desc="(4,) and (1, 4)"),
            Sample((uniform(rng, (), dtype, op.domain),) * 2, desc="0-d"),
            Sample((x[:0], x[:0].copy()), desc="empty")]


def _as_tensor(fn):
    """A Python bool result as a 0-d tensor, so the generic forward test can compare it."""
    return lambda *a, **k: tg.tensor(fn(*a, **k))


def _as_array(fn):
    return lambda *a, **k: np.asarray(fn(*a, **k))


def _equal_ref(x, y):
    return x.shape == y.shape and np.array_equal(x, y)


def _xlogy_ref(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.asarray(x) == 0, 0.0, x * np.log(y))


def _heaviside_ref(x, v):
    return np.where(x == 0, v, x > 0).astype(x.dtype)


BOOL = np.dtype(bool)

ROWS = [
    OpInfo("atan2", tg.atan2, np.arctan2, binary(scalars=False), api=("atan2", "arctan2"),
           **FLOAT_MATH),
    OpInfo("atan2_", lambda x, y: x.clone().arctan2_(y), np.arctan2, inplace_pairs(),
           covers=("atan2", "clone")),
    OpInfo("fmod", tg.fmod, np.fmod,
           with_scalar_other(binary(fmod_dividend, fmod_divisor, scalars=False), 2.05,
                             fmod_dividend),
           dtypes=INTS),
    OpInfo("fmod_", lambda x, y: x.clone().fmod_(y), np.fmod,
           inplace_pairs(fmod_dividend, fmod_divisor, scalar=-2.05), covers=("fmod", "clone")),
    OpInfo("hypot", tg.hypot, np.hypot, binary(nonzero, scalars=False)),
    OpInfo("hypot_", lambda x, y: x.clone().hypot_(y), np.hypot, inplace_pairs(nonzero),
           covers=("hypot", "clone")),
    OpInfo("logaddexp", tg.logaddexp, np.logaddexp, binary(scalars=False)),
    OpInfo("logaddexp2", tg.logaddexp2, np.logaddexp2, binary(scalars=False)),
    OpInfo("xlogy", tg.xlogy, _xlogy_ref, binary(rhs=positive), **FLOAT_MATH),
    OpInfo("xlogy_", lambda x, y: x.clone().xlogy_(y), _xlogy_ref,
           inplace_pairs(rhs=positive, scalar=3), covers=("xlogy", "clone")),
    OpInfo("copysign", tg.copysign, np.copysign,
           with_scalar_other(binary(nonzero, nonzero, scalars=False), -1.5, nonzero),
           **FLOAT_MATH),
    OpInfo("copysign_", lambda x, y: x.clone().copysign_(y), np.copysign,
           inplace_pairs(nonzero, nonzero, scalar=-2), covers=("copysign", "clone")),
    OpInfo("float_power", tg.float_power, _float_power_ref, float_power_samples, dtypes=INTS,
           result_dtype=lambda d: F64, covers=("pow",)),
    OpInfo("float_power_", lambda x, y: x.double().clone().float_power_(y), _float_power_ref,
           inplace_pairs(positive, scalar=2.5), result_dtype=lambda d: F64,
           covers=("pow", "clone")),
    OpInfo("heaviside", tg.heaviside, _heaviside_ref, heaviside_samples, dtypes=INTS,
           differentiable=False),
    OpInfo("heaviside_", lambda x, v: x.clone().heaviside_(v), _heaviside_ref,
           inplace_pairs(), dtypes=INTS, differentiable=False),
    OpInfo("lerp", tg.lerp, _lerp_ref, lerp_scalar_samples),
    OpInfo("lerp_tensor_weight", tg.lerp, _lerp_ref, lerp_tensor_samples,
           covers=("addcmul", "sub"), api=("lerp",)),
    OpInfo("lerp_", lambda x, y, w: x.clone().lerp_(y, w), _lerp_ref, lerp_inplace_samples,
           covers=("lerp", "clone")),
    OpInfo("lerp_tensor_weight_", lambda x, y, w: x.clone().lerp_(y, w), _lerp_ref,
           inplace_three(), covers=("addcmul", "sub", "clone", "index_put")),
    OpInfo("addcmul", tg.addcmul, _addcmul_ref, addc_samples(False), dtypes=INTS),
    OpInfo("addcdiv", tg.addcdiv, _addcdiv_ref, addc_samples(True)),
    OpInfo("addcmul_", lambda x, a, b, value=1: x.clone().addcmul_(a, b, value=value),
           _addcmul_ref, inplace_three(kwargs={"value": 0.5}),
           covers=("addcmul", "clone", "index_put")),
    OpInfo("addcdiv_", lambda x, a, b, value=1: x.clone().addcdiv_(a, b, value=value),
           _addcdiv_ref, inplace_three(True, {"value": -1.5}),
           covers=("addcdiv", "clone", "index_put")),
    OpInfo("isclose", tg.isclose, np.isclose, close_samples, dtypes=INTS,
           result_dtype=lambda d: BOOL, differentiable=False),
    OpInfo("allclose", _as_tensor(tg.allclose), _as_array(np.allclose), close_samples,
           dtypes=INTS, result_dtype=lambda d: BOOL, differentiable=False),
    OpInfo("equal", _as_tensor(tg.equal), _as_array(_equal_ref), equal_samples, dtypes=INTS,
           result_dtype=lambda d: BOOL, differentiable=False),
]

# Expressions for tests/test_torch_parity.py (lib is tapegrad or torch; x, y, z, m as there).
PARITY = [
    "lib.atan2(z, x)", "lib.arctan2(x, z)", "z.atan2(y)", "(x * 1).atan2_(z)",
    "lib.fmod(z, y)", "lib.fmod(z, 0.7)", "(z * 1).fmod_(y)",
    "lib.hypot(x, z)", "(z * 1).hypot_(y)", "lib.logaddexp(x, z)", "lib.logaddexp2(z, y)",
    "lib.xlogy(z, x)", "lib.xlogy(2.0, x)", "lib.xlogy(z, 3)", "(x * 1).xlogy_(y)",
    "lib.copysign(x, z)", "lib.copysign(z, -1.0)", "(z * 1).copysign_(y - 1)",
    "lib.float_power(x, y)", "lib.float_power(z, 2)", "lib.float_power(2.5, z)",
    "x.double().float_power_(y)",
    "lib.lerp(x, z, 0.3)", "lib.lerp(x, z, 0.8)", "lib.lerp(x, z, y)", "(x * 1).lerp_(z, y)",
    "lib.addcmul(x, z, y, value=0.5)", "lib.addcdiv(z, x, y, value=-2)",
    "(x * 1).addcmul_(z, y, value=2)", "(x * 1).addcdiv_(z, y)",
    # a 0-d weight takes part in the promotion: all 0-d with a float64 weight give float64
    "lib.lerp(x[0, 0], z[0, 0], y[0].double() / 3)", "lib.lerp(x, z, y[0].double() / 3)",
]
