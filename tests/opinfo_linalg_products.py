"""Op database rows for tapegrad.ops.linalg.products (see tests/opinfo.py for what a row is)."""
import numpy as np  # noqa: F401

import tapegrad as tg  # noqa: F401
from opinfo import FLOATS, OpInfo, Sample, uniform  # noqa: F401

def _pairs(cases):
    """Samples from (shape, shape) pairs of float operands."""
    def gen(op, dtype, rng):
        return [Sample((uniform(rng, a, dtype, op.domain), uniform(rng, b, dtype, op.domain)),
                       desc=f"{a} with {b}") for a, b in cases]
    return gen


ROWS = [
    OpInfo("mm", tg.mm, np.matmul, _pairs([((2, 3), (3, 4)), ((1, 5), (5, 1)), ((0, 3), (3, 2)),
                                           ((3, 0), (0, 2))]), covers=("matmul",)),
    OpInfo("dot", tg.dot, np.dot, _pairs([((3,), (3,)), ((1,), (1,)), ((0,), (0,))]),
           covers=("matmul",)),
]

# Expressions for tests/test_torch_parity.py (lib is tapegrad or torch; x, y, z, m as there).
PARITY = [
]
