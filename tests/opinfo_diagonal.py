"""Op database rows for tapegrad.ops.diagonal (see tests/opinfo.py for what a row is)."""
import numpy as np

import tapegrad as tg
from opinfo import F32, F64, I64, OpInfo, Sample, shaped, to_int64_if_int

INTS = (F32, F64, I64)


def _diag_embed_ref(x, offset=0, dim1=-2, dim2=-1):
    n = x.shape[-1]
    m = n + abs(offset)
    out = np.zeros(x.shape[:-1] + (m, m), dtype=x.dtype)
    i = np.arange(n)
    out[..., i + max(-offset, 0), i + max(offset, 0)] = x
    return np.moveaxis(out, (-2, -1), (dim1, dim2))


def _indices_samples(op, dtype, rng):
    return [Sample((), {"row": r, "col": c, "offset": o}, desc=f"{r}x{c} offset {o}")
            for r, c, o in [(3, 3, 0), (3, 4, 1), (4, 2, -1), (0, 3, 0), (2, 5, 7)]]


def _indices_ref(np_fn):
    return lambda row, col, offset=0: np.stack(np_fn(row, offset, col)).astype(np.int64)


def _in_place(name):
    return lambda x, diagonal=0: getattr(x.clone(), name)(diagonal)


TRIANGLES = shaped([((3, 4), {}), ((4, 3), {"diagonal": 1}), ((2, 3, 3), {"diagonal": -1}),
                    ((3, 3), {"diagonal": 5}), ((0, 2), {}), ((2, 0, 3), {"diagonal": 1})])

ROWS = [
    OpInfo("tril", tg.tril, lambda x, diagonal=0: np.tril(x, diagonal), TRIANGLES,
           dtypes=INTS, covers=("where",)),
    OpInfo("triu", tg.triu, lambda x, diagonal=0: np.triu(x, diagonal), TRIANGLES,
           dtypes=INTS, covers=("where",)),
    OpInfo("tril_", _in_place("tril_"), lambda x, diagonal=0: np.tril(x, diagonal), TRIANGLES,
           covers=("where", "index_put", "clone"), api=("Tensor.tril_",)),
    OpInfo("triu_", _in_place("triu_"), lambda x, diagonal=0: np.triu(x, diagonal), TRIANGLES,
           covers=("where", "index_put", "clone"), api=("Tensor.triu_",)),
    OpInfo("tril_indices", tg.tril_indices, _indices_ref(np.tril_indices), _indices_samples,
           differentiable=False, result_dtype=lambda d: I64),
    OpInfo("triu_indices", tg.triu_indices, _indices_ref(np.triu_indices), _indices_samples,
           differentiable=False, result_dtype=lambda d: I64),
    OpInfo("diagonal", tg.diagonal, lambda x, offset=0, dim1=0, dim2=1:
           np.diagonal(x, offset, dim1, dim2),
           shaped([((3, 4), {}), ((3, 4), {"offset": 1}), ((4, 3), {"offset": -2}),
                   ((2, 3, 4), {"offset": -1, "dim1": 2, "dim2": 0}),
                   ((2, 3, 3), {"dim1": -1, "dim2": -2}), ((3, 4), {"offset": 6}),
                   ((0, 3), {}), ((2, 0, 3), {"dim1": 1, "dim2": 2})]),
           dtypes=INTS, covers=("strided", "index_add")),
    OpInfo("diagonal_of_transpose", lambda x: x.t().diagonal(1),
           lambda x: np.diagonal(x.T, 1), shaped([((3, 4), {})]),
           covers=("strided", "permute"), api=("Tensor.diagonal",)),
    OpInfo("diag", tg.diag, lambda x, diagonal=0: np.diag(x, diagonal),
           shaped([((3,), {}), ((3,), {"diagonal": 1}), ((2,), {"diagonal": -2}),
                   ((3, 4), {}), ((3, 4), {"diagonal": 2}), ((4, 3), {"diagonal": -1}),
                   ((0,), {}), ((0,), {"diagonal": 2}), ((0, 3), {}), ((0, 3), {"diagonal": 1})]),
           dtypes=INTS, covers=("index", "strided", "clone")),
    OpInfo("diag_embed", tg.diag_embed, _diag_embed_ref,
           shaped([((3,), {}), ((2, 3), {"offset": 1}), ((2, 3), {"offset": -1, "dim1": 0,
                                                                   "dim2": 2}),
                   ((2, 2), {"dim1": -1, "dim2": 0}), ((0,), {}), ((0,), {"offset": 1}),
                   ((2, 0), {})]),
           dtypes=INTS, covers=("cat", "index", "index_add", "permute")),
    OpInfo("diagflat", tg.diagflat, lambda x, offset=0: np.diagflat(x, offset),
           shaped([((3,), {}), ((2, 2), {"offset": 1}), ((), {"offset": -1}), ((0,), {}),
                   ((0, 2), {"offset": 1})]),
           dtypes=INTS, covers=("index", "reshape")),
    OpInfo("trace", tg.trace, np.trace,
           shaped([((3, 3), {}), ((3, 4), {}), ((4, 2), {}), ((0, 3), {}), ((0, 0), {})]),
           dtypes=INTS, covers=("strided", "sum"), result_dtype=to_int64_if_int),
]

# Expressions for tests/test_torch_parity.py (lib is tapegrad or torch; x, y, z, m as there).
PARITY = [
    "lib.tril(x)", "lib.triu(x, 1)", "lib.tril(m, -1)", "(x * 1).tril_(1)", "(z * 1).triu_()",
    "lib.diagonal(x)", "lib.diagonal(m, 1, 2, 0)", "x.t().diagonal(-1)", "lib.diag(y)",
    "lib.diag(y, -1)", "lib.diag(x, 1)", "lib.diag_embed(x)", "lib.diag_embed(m, -1, 0, 2)",
    "lib.diagflat(x[:2, :2])", "lib.trace(x)", "lib.trace(x @ x.T)",
]
