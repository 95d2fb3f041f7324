"""Op database rows for tapegrad.ops.elementary (see tests/opinfo.py for what a row is)."""
import numpy as np

import tapegrad as tg
from opinfo import (F32, F64, I32, I64, OpInfo, Sample, away_from_zero, to_float32_if_int,
                    uniform)

# Unary shapes of the pointwise families: 0-d to 3-d and an empty tensor.
POINTWISE_SHAPES = [(), (5,), (3, 4), (2, 3, 2), (0, 3)]
INTS = (F32, F64, I64)
FLOAT_MATH = dict(dtypes=INTS, result_dtype=to_float32_if_int)


def pointwise(make=uniform):
    """One-tensor samples over POINTWISE_SHAPES; ``make(rng, shape, dtype, domain)``."""
    def gen(op, dtype, rng):
        return [Sample((make(rng, s, dtype, op.domain),), desc=f"{s}") for s in POINTWISE_SHAPES]
    return gen


def _nonzero(rng, shape, dtype, domain):
    return away_from_zero(rng, shape, dtype, 0.3, 2.0)


def in_place(name):
    """x.clone().<name>_() for the row of an in-place method."""
    return lambda x: getattr(x.clone(), name + "_")()


ROWS = [
    OpInfo("log1p", tg.log1p, np.log1p, pointwise(), domain=(-0.5, 3.0), **FLOAT_MATH),
    OpInfo("expm1", tg.expm1, np.expm1, pointwise(), **FLOAT_MATH),
    OpInfo("log2", tg.log2, np.log2, pointwise(), domain=(0.1, 5.0), **FLOAT_MATH),
    OpInfo("log10", tg.log10, np.log10, pointwise(), domain=(0.1, 5.0), **FLOAT_MATH),
    OpInfo("exp2", tg.exp2, np.exp2, pointwise(), **FLOAT_MATH),
    OpInfo("square", tg.square, np.square, pointwise(), dtypes=(F32, F64, I64, I32),
           covers=("pow",)),
    OpInfo("reciprocal", tg.reciprocal, lambda x: 1.0 / x, pointwise(_nonzero), **FLOAT_MATH),
    OpInfo("sinh", tg.sinh, np.sinh, pointwise(), **FLOAT_MATH),
    OpInfo("cosh", tg.cosh, np.cosh, pointwise(), **FLOAT_MATH),
    OpInfo("asin", tg.asin, np.arcsin, pointwise(), domain=(-0.9, 0.9), api=("asin", "arcsin"),
           **FLOAT_MATH),
    OpInfo("acos", tg.acos, np.arccos, pointwise(), domain=(-0.9, 0.9), api=("acos", "arccos"),
           **FLOAT_MATH),
    OpInfo("atan", tg.atan, np.arctan, pointwise(), domain=(-3.0, 3.0), api=("atan", "arctan"),
           **FLOAT_MATH),
    OpInfo("asinh", tg.asinh, np.arcsinh, pointwise(), domain=(-3.0, 3.0),
           api=("asinh", "arcsinh"), **FLOAT_MATH),
    OpInfo("acosh", tg.acosh, np.arccosh, pointwise(), domain=(1.2, 3.0),
           api=("acosh", "arccosh"), **FLOAT_MATH),
    OpInfo("atanh", tg.atanh, np.arctanh, pointwise(), domain=(-0.9, 0.9),
           api=("atanh", "arctanh"), **FLOAT_MATH),
    # in place, on non-leaves (every in-place method is checked against its function in
    # tests/test_pointwise_math.py; these rows run the generic checks on a few)
    OpInfo("log1p_", in_place("log1p"), np.log1p, pointwise(), domain=(-0.5, 3.0),
           covers=("log1p", "clone")),
    OpInfo("arcsin_", in_place("arcsin"), np.arcsin, pointwise(), domain=(-0.9, 0.9),
           covers=("asin", "clone")),
    OpInfo("square_", in_place("square"), np.square, pointwise(), covers=("pow", "clone")),
    OpInfo("reciprocal_", in_place("reciprocal"), lambda x: 1.0 / x, pointwise(_nonzero),
           covers=("reciprocal", "clone")),
]

# Expressions for tests/test_torch_parity.py (lib is tapegrad or torch; x, y, z, m as there).
PARITY = [
    "lib.log1p(z * 0.4)", "lib.expm1(z)", "lib.log2(x)", "lib.log10(x)", "lib.exp2(z)",
    "lib.square(z)", "lib.reciprocal(x)", "lib.sinh(z)", "lib.cosh(z)", "lib.asin(z * 0.4)",
    "lib.arccos(z * 0.4)", "lib.atan(z)", "lib.arcsinh(z)", "lib.acosh(x + 1)",
    "lib.atanh(z * 0.4)", "(x * 1).log1p_()", "(z * 1).square_()", "(x * 0.4).arcsin_()",
    "(x * 1).reciprocal_()",
]
