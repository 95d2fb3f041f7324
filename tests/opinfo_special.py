"""Op database rows for tapegrad.ops.special (see tests/opinfo.py for what a row is)."""
import numpy as np  # noqa: F401

import tapegrad as tg  # noqa: F401
from opinfo import FLOATS, OpInfo, Sample, uniform  # noqa: F401

ROWS = [
]

# Expressions for tests/test_torch_parity.py (lib is tapegrad or torch; x, y, z, m as there).
PARITY = [
]
