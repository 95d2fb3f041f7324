"""Op database rows for tapegrad.ops.rounding (see tests/opinfo.py for what a row is)."""
import numpy as np

import tapegrad as tg
from opinfo import F32, F64, I32, I64, OpInfo, Sample, uniform
from opinfo_elementary import POINTWISE_SHAPES, in_place, pointwise

INTS = (F32, F64, I64, I32)


def _off_jumps(rng, shape, dtype, domain, offset=0.0, scale=1.0):
    """Values k + offset + f with |f| <= 0.35, divided by ``scale``: finite differences
    never straddle a jump of floor/ceil/trunc (offset 0.5) or round (offset 0)."""
    if dtype.kind in "iu":
        return uniform(rng, shape, dtype, domain)
    k = rng.integers(int(domain[0]), int(domain[1]) + 1, size=shape)
    f = rng.uniform(-0.35, 0.35, size=shape)
    return np.asarray((k + offset + f) / scale, dtype=dtype)


def _between_integers(rng, shape, dtype, domain):
    return _off_jumps(rng, shape, dtype, domain, offset=0.5)


def _round_samples(op, dtype, rng):
    out = [Sample((_off_jumps(rng, s, dtype, op.domain),), desc=f"{s}")
           for s in POINTWISE_SHAPES]
    if dtype.kind == "f":
        for d in (1, 2, -1):
            x = _off_jumps(rng, (3, 4), dtype, (-30, 30), scale=10.0 ** d)
            out.append(Sample((x,), {"decimals": d}, desc=f"(3, 4) decimals={d}"))
    return out


def _round_ref(x, decimals=0):
    return np.round(x, decimals)


def _with_nonfinite(rng, shape, dtype, domain):
    x = uniform(rng, shape, dtype, domain)
    if dtype.kind == "f" and x.size >= 3:
        flat = x.reshape(-1)
        flat[:3] = [np.nan, np.inf, -np.inf]
        x = rng.permutation(flat).reshape(shape).astype(dtype)
    return x


def _nan_to_num_samples(op, dtype, rng):
    out = [Sample((_with_nonfinite(rng, s, dtype, op.domain),), desc=f"{s}")
           for s in POINTWISE_SHAPES]
    for kw in ({"nan": 1.5}, {"posinf": 9.0, "neginf": -9.0}, {"nan": -1.0, "neginf": 0.0}):
        out.append(Sample((_with_nonfinite(rng, (3, 4), dtype, op.domain),), kw,
                          desc=f"(3, 4) {kw}"))
    return out


def _classify_samples(op, dtype, rng):
    special = np.array([-0.0, 0.0, np.inf, -np.inf, np.nan, -1.5, 2.0])
    out = [Sample((uniform(rng, s, dtype, (-3, 3)),), desc=f"{s}") for s in POINTWISE_SHAPES]
    if dtype.kind == "f":
        out.append(Sample((special.astype(dtype),), desc="signed zeros, infinities, nan"))
    return out


def _classify_row(name, ref):
    return OpInfo(name, getattr(tg, name), ref, _classify_samples, dtypes=INTS,
                  differentiable=False, result_dtype=lambda d: np.dtype(bool))


ROWS = [
    OpInfo("floor", tg.floor, np.floor, pointwise(_between_integers), dtypes=INTS),
    OpInfo("ceil", tg.ceil, np.ceil, pointwise(_between_integers), dtypes=INTS),
    OpInfo("trunc", tg.trunc, np.trunc, pointwise(_between_integers), dtypes=INTS,
           api=("trunc", "fix")),
    OpInfo("round", tg.round, _round_ref, _round_samples, dtypes=INTS),
    OpInfo("frac", tg.frac, lambda x: x - np.trunc(x), pointwise(_between_integers)),
    OpInfo("nan_to_num", tg.nan_to_num, np.nan_to_num, _nan_to_num_samples, dtypes=INTS,
           result_dtype=lambda d: d),     # float fill values leave an integer tensor as is
    _classify_row("signbit", np.signbit),
    _classify_row("isneginf", np.isneginf),
    _classify_row("isposinf", np.isposinf),
    _classify_row("isreal", np.isreal),
    # in place, on non-leaves (every in-place method is checked in tests/test_pointwise_math.py)
    OpInfo("floor_", in_place("floor"), np.floor, pointwise(_between_integers),
           covers=("floor", "clone")),
    OpInfo("round_", lambda x, decimals=0: x.clone().round_(decimals=decimals), _round_ref,
           _round_samples, covers=("round", "clone")),
    OpInfo("frac_", in_place("frac"), lambda x: x - np.trunc(x), pointwise(_between_integers),
           covers=("frac", "clone")),
    OpInfo("nan_to_num_", lambda x, **kw: x.clone().nan_to_num_(**kw), np.nan_to_num,
           _nan_to_num_samples, covers=("nan_to_num", "clone")),
]

# Expressions for tests/test_torch_parity.py (lib is tapegrad or torch; x, y, z, m as there).
PARITY = [
    "lib.floor(z * 3)", "lib.ceil(z * 3)", "lib.trunc(z * 3)", "lib.fix(z * 3)",
    "lib.round(z * 3)", "lib.round(z * 30, decimals=-1)", "lib.round(z, decimals=2)",
    "lib.frac(z * 3)", "(z * 3).frac_()", "(z * 3).round_(decimals=1)",
    "lib.nan_to_num(lib.log(z))", "lib.nan_to_num(lib.log(z), nan=2.0, neginf=-5.0)",
    "lib.nan_to_num(x / (z - z), posinf=7.0)", "(x / (z - z) * 1).nan_to_num_()",
]
