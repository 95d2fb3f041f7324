"""Op database rows for tapegrad.ops.scan (see tests/opinfo.py for what a row is)."""
import numpy as np

import tapegrad as tg
from opinfo import (F32, F64, I32, I64, OpInfo, Sample, distinct, prod_values, to_int64_if_int,
                    uniform)

INTS = (F32, F64, I64, I32)
SCAN_CASES = [((), 0), ((), -1), ((5,), 0), ((3, 4), 1), ((3, 4), 0), ((3, 4), -1),
              ((2, 3, 4), 1), ((2, 3, 4), -1), ((0, 3), 0), ((0, 3), 1), ((1,), 0)]


def scan_samples(make):
    def gen(op, dtype, rng):
        return [Sample((make(rng, s, dtype, op.domain), d), desc=f"{s} dim={d}")
                for s, d in SCAN_CASES]
    return gen


def scan_ref(np_fn):
    """np_fn along dim, with a 0-d input scanned as one element."""
    def ref(x, dim):
        if x.ndim == 0:
            return np_fn(x.reshape(1), 0).reshape(())
        return np_fn(x, dim)
    return ref


def _cumsum(x, dim):
    return np.cumsum(x, axis=dim, dtype=to_int64_if_int(x.dtype))


def _cumprod(x, dim):
    return np.cumprod(x, axis=dim, dtype=to_int64_if_int(x.dtype))


def cumprod_zero_samples(op, dtype, rng):
    """Zeros: one, two in a slice, at the start and at the end of a slice."""
    x = prod_values(rng, (3, 5), dtype, None)
    x[0, 1] = 0                        # one zero
    x[1, 0] = x[1, 3] = 0              # a leading zero, then another
    x[2, 4] = 0                        # a zero at the end
    y = prod_values(rng, (4,), dtype, None)
    y[2] = 0
    z = prod_values(rng, (2, 3, 4), dtype, None)
    z[0, 1, 2] = z[1, 1, 2] = z[1, 0, 0] = 0
    return [Sample((x, 1), desc="(3, 5) zeros dim=1"), Sample((x, 0), desc="(3, 5) zeros dim=0"),
            Sample((y, 0), desc="(4,) one zero"), Sample((z, 1), desc="(2, 3, 4) zeros dim=1"),
            Sample((np.zeros((3,), dtype), 0), desc="all zeros")]


def running_ref(ufunc):
    """(values, indices) of cummax/cummin on inputs without ties."""
    def ref(x, dim):
        if x.ndim == 0:
            return x.copy(), np.asarray(0, dtype=np.int64)
        values = ufunc.accumulate(x, axis=dim)
        shape = [1] * x.ndim
        shape[dim] = x.shape[dim]
        pos = np.arange(x.shape[dim]).reshape(shape)
        idx = np.maximum.accumulate(np.where(x == values, pos, 0), axis=dim)
        return values, idx.astype(np.int64)
    return ref


def distinct_values(rng, shape, dtype, domain):
    return distinct(rng, [shape], dtype)[0]


def _logcumsumexp(x, dim):
    return np.log(np.cumsum(np.exp(x), axis=dim))


def inplace(name):
    return lambda x, dim: getattr(x.clone(), name)(dim)


ROWS = [
    OpInfo("cumsum", tg.cumsum, scan_ref(_cumsum), scan_samples(uniform), dtypes=INTS,
           result_dtype=to_int64_if_int),
    OpInfo("cumsum_", inplace("cumsum_"), scan_ref(_cumsum),
           scan_samples(uniform), covers=("cumsum", "clone")),
    OpInfo("cumprod", tg.cumprod, scan_ref(_cumprod), scan_samples(prod_values), dtypes=INTS,
           result_dtype=to_int64_if_int),
    OpInfo("cumprod_zeros", tg.cumprod, scan_ref(_cumprod), cumprod_zero_samples,
           api=("cumprod",), covers=("cumprod",)),
    OpInfo("cumprod_", inplace("cumprod_"), scan_ref(_cumprod),
           scan_samples(prod_values), covers=("cumprod", "clone")),
    OpInfo("cummax", tg.cummax, running_ref(np.maximum), scan_samples(distinct_values),
           dtypes=INTS, covers=("cummax", "index_add")),
    OpInfo("cummin", tg.cummin, running_ref(np.minimum), scan_samples(distinct_values),
           dtypes=INTS, covers=("cummin", "index_add")),
    OpInfo("logcumsumexp", tg.logcumsumexp, scan_ref(_logcumsumexp), scan_samples(uniform),
           domain=(-3.0, 3.0)),
]

# Expressions for tests/test_torch_parity.py (lib is tapegrad or torch; x, y, z, m as there).
PARITY = [
    "lib.cumsum(x, 1)", "z.cumsum(0)", "lib.cumsum(m, -1)", "(x * 1).cumsum_(1)",
    "lib.cumprod(z, 1)", "m.cumprod(0)", "lib.cumprod(lib.relu(z), 1)", "(z * 1).cumprod_(0)",
    "lib.cumprod(lib.where(z > 1, 0.0, z), 1)", "lib.cummax(z, 1).values",
    "lib.cummin(m, 2).values", "z.cummax(0).values", "lib.logcumsumexp(z, 1)",
    "m.logcumsumexp(0)", "lib.logcumsumexp(z * 20, 1)", "lib.cumsum(z, axis=1)",
    "x.cumprod(axis=0)", "lib.cummax(m, axis=1).values",
    # float32 scans accumulate in double, as PyTorch (in float32 the sum is 19959.5, not 20000)
    "y[0] * lib.cumsum(lib.full((200000,), 0.1), 0)[-1:]",
    "y[0] * lib.cumprod(lib.full((50000,), 1.0001), 0)[-1:]",
]
