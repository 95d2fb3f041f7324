"""Op database rows for tapegrad.ops.special (see tests/opinfo.py for what a row is)."""
import numpy as np
import scipy.special as sp

import tapegrad as tg
from opinfo import OpInfo, Sample, avoid, uniform
from opinfo_elementary import FLOAT_MATH, POINTWISE_SHAPES, in_place, pointwise


def _lgamma_samples(op, dtype, rng):
    """Positive arguments, and (floats) negative ones between the poles."""
    out = pointwise()(op, dtype, rng)
    if dtype.kind == "f":
        out.append(Sample((uniform(rng, (3, 4), dtype, (-2.8, -2.2)),), desc="(3, 4) in (-3, -2)"))
    return out


def _polygamma_samples(op, dtype, rng):
    return [Sample((n, uniform(rng, s, dtype, op.domain)), desc=f"n={n}, {s}")
            for n in (0, 1, 3) for s in POINTWISE_SHAPES[1:4]] + \
        [Sample((2, uniform(rng, s, dtype, op.domain)), desc=f"n=2, {s}")
         for s in ((), (0, 3))]


def _off_zero(rng, shape, dtype, domain):
    return avoid(uniform(rng, shape, dtype, domain), (0.0,))


def _sinc_samples(op, dtype, rng):
    """Off zero, and (floats) 0 itself and points across |x| = 0.25, where the derivative
    rule switches from its Taylor series to the quotient (gradgrad at 0 is -pi**2 / 3)."""
    out = pointwise(_off_zero)(op, dtype, rng)
    if dtype.kind == "f":
        x = np.array([[0.0, -0.05, 0.2], [-0.3, 0.26, -0.7]], dtype=dtype)
        out.append(Sample((x,), desc="(2, 3) 0 and across 0.25"))
    return out


def _logit_samples(op, dtype, rng):
    if dtype.kind in "iu":       # 0 and 1, clamped away from the infinities
        return [Sample((uniform(rng, s, dtype, (0, 1)),), {"eps": 0.25}, desc=f"{s} eps=0.25")
                for s in POINTWISE_SHAPES]
    out = []
    for eps in (None, 0.2, -1.0):
        for s in POINTWISE_SHAPES:
            x = uniform(rng, s, dtype, op.domain)
            if eps is not None and eps > 0 and dtype.kind == "f":
                x = avoid(x, (eps, 1 - eps), gap=0.02)      # no kink at the clamp bounds
            out.append(Sample((x,), {"eps": eps}, desc=f"{s} eps={eps}"))
    return out


def _logit_ref(x, eps=None):
    if eps is not None and eps >= 0:
        x = np.clip(x, eps, 1 - eps)
    return np.log(x / (1 - x))


ROWS = [
    OpInfo("erf", tg.erf, sp.erf, pointwise(), **FLOAT_MATH),
    OpInfo("erfc", tg.erfc, sp.erfc, pointwise(), **FLOAT_MATH),
    OpInfo("erfinv", tg.erfinv, sp.erfinv, pointwise(), domain=(-0.9, 0.9), **FLOAT_MATH),
    OpInfo("lgamma", tg.lgamma, sp.gammaln, _lgamma_samples, domain=(0.2, 4.0),
           covers=("lgamma", "digamma"), **FLOAT_MATH),
    OpInfo("digamma", tg.digamma, sp.psi, pointwise(), domain=(0.3, 4.0),
           covers=("digamma", "polygamma"), **FLOAT_MATH),
    OpInfo("polygamma", tg.polygamma, sp.polygamma, _polygamma_samples, domain=(0.3, 4.0),
           **FLOAT_MATH),
    OpInfo("sinc", tg.sinc, np.sinc, _sinc_samples, **FLOAT_MATH),
    OpInfo("logit", tg.logit, _logit_ref, _logit_samples, domain=(0.05, 0.95), **FLOAT_MATH),
    # in place, on non-leaves (every in-place method is checked in tests/test_pointwise_math.py)
    OpInfo("erf_", in_place("erf"), sp.erf, pointwise(), covers=("erf", "clone")),
    OpInfo("logit_", lambda x, eps=None: x.clone().logit_(eps), _logit_ref, _logit_samples,
           domain=(0.05, 0.95), covers=("logit", "clone")),
    OpInfo("polygamma_", lambda n, x: x.clone().polygamma_(n), sp.polygamma, _polygamma_samples,
           domain=(0.3, 4.0), covers=("polygamma", "clone")),
]

# Expressions for tests/test_torch_parity.py (lib is tapegrad or torch; x, y, z, m as there).
PARITY = [
    "lib.erf(z)", "lib.erfc(z)", "lib.erfinv(z * 0.4)", "lib.lgamma(x)",
    "lib.lgamma(z * 0.2 - 2.5)",
    "lib.digamma(x)", "lib.polygamma(1, x)", "lib.polygamma(3, y)", "x.polygamma(2)",
    "lib.sinc(z)", "lib.logit(x * 0.4)", "lib.logit(x * 0.4, eps=0.3)", "lib.logit(z, 0.25)",
    "(x * 0.4).logit_(0.3)", "(z * 0.4).erfinv_()",
    "(x * 1).digamma_()", "(x * 1).polygamma_(1)", "(z * 1).sinc_()",
]
