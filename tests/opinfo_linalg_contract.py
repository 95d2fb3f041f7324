"""Op database rows for tapegrad.ops.linalg.contract (see tests/opinfo.py for what a row is)."""
import numpy as np

import tapegrad as tg
from opinfo import F32, F64, I64, OpInfo, Sample, uniform

INTS = (F32, F64, I64)

EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("ij,kj->ik", [(3, 4), (2, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]), ("ijk,jil->kl", [(2, 3, 4), (3, 2, 5)]),
    ("ii", [(3, 3)]), ("ii->i", [(3, 3)]), ("iij->j", [(2, 2, 3)]), ("iji->j", [(2, 3, 2)]),
    ("ij->", [(2, 3)]), ("ji", [(2, 3)]), ("i,j", [(2,), (3,)]), ("i,i", [(3,), (3,)]),
    ("...ij,...jk", [(3, 2, 3), (1, 3, 4)]), ("i...,...i", [(3, 2, 2), (2, 2, 3)]),
    ("ij,ij->ij", [(2, 3), (1, 3)]), ("ij,jk->ik", [(2, 1), (3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]), ("abc,cd,bd->a", [(2, 3, 4), (4, 5), (3, 5)]),
    ("ab,bC", [(2, 3), (3, 4)]), ("i,i", [(0,), (0,)]), ("ij,jk", [(0, 3), (3, 2)]),
    ("...", [()]), (",i->i", [(), (3,)]),
]

TENSORDOT = [(((2, 3, 4), (3, 4, 5)), 2), (((2, 3, 4), (4, 3, 5)), ([1, 2], [1, 0])),
             (((2, 3), (3, 4)), 1), (((2, 3), (4, 5)), 0), (((2, 3, 4), (4, 3)), [[2], [0]]),
             (((3,), (3,)), 1), (((0, 3), (3, 2)), ([1], [0]))]

KRON = [((2, 3), (4,)), ((2,), (3,)), ((2, 2), (2, 3)), ((), (3,)), ((2, 1, 2), (3, 2)),
        ((0, 2), (2, 2))]

CROSS = [((4, 3), (4, 3), -1), ((4, 3), (1, 3), 1), ((3, 2), (3, 2), 0), ((3,), (3,), 0),
         ((2, 1, 3), (1, 4, 3), -1), ((0, 3), (0, 3), 1)]

CDIST = [((3, 2), (4, 2), {}), ((2, 3, 2), (4, 2), {}), ((3, 2), (1, 4, 2), {"p": 1.0}),
         ((3, 2), (4, 2), {"p": 3.0}), ((3, 2), (4, 2), {"p": 1.5}),
         ((3, 2), (4, 2), {"p": float("inf")}), ((3, 2), (4, 2), {"p": 0.0}),
         ((3, 2), (4, 2), {"compute_mode": "use_mm_for_euclid_dist"}),
         ((30, 3), (2, 3), {}), ((0, 2), (3, 2), {}), ((2, 0), (3, 0), {})]


def _einsum_samples(op, dtype, rng):
    return [Sample(tuple(uniform(rng, s, dtype, op.domain) for s in shapes), {"eq": eq},
                   desc=f"{eq} {shapes}") for eq, shapes in EINSUM]


def _einsum_forms(op, dtype, rng):
    """The list-of-operands and sublist forms."""
    u = lambda s: uniform(rng, s, dtype, op.domain)   # noqa: E731
    return [Sample((u((2, 3)), u((3, 4))), {"form": "list"}, desc="list"),
            Sample((u((2, 3)), u((3, 4))), {"form": "sublist"}, desc="sublist"),
            Sample((u((2, 3, 4)), u((4, 3))), {"form": "sublist_ellipsis"}, desc="sublist ...")]


def _einsum_form_fn(a, b, form):
    if form == "list":
        return tg.einsum("ij,jk->ik", [a, b])
    if form == "sublist":
        return tg.einsum(a, [0, 1], b, [1, 2], [0, 2])
    return tg.einsum(a, [Ellipsis, 1, 2], b, [2, 1], [Ellipsis])


def _einsum_form_ref(a, b, form):
    if form == "list":
        return np.einsum("ij,jk->ik", a, b)
    if form == "sublist":
        return np.einsum(a, [0, 1], b, [1, 2], [0, 2])
    return np.einsum(a, [Ellipsis, 1, 2], b, [2, 1], [Ellipsis])


def _tensordot_samples(op, dtype, rng):
    return [Sample(tuple(uniform(rng, s, dtype, op.domain) for s in shapes), {"dims": dims},
                   desc=f"{shapes} dims={dims}") for shapes, dims in TENSORDOT]


def _kron_samples(op, dtype, rng):
    return [Sample((uniform(rng, a, dtype, op.domain), uniform(rng, b, dtype, op.domain)),
                   desc=f"{a} with {b}") for a, b in KRON]


def _cross_samples(op, dtype, rng):
    return [Sample((uniform(rng, a, dtype, op.domain), uniform(rng, b, dtype, op.domain)),
                   {"dim": d}, desc=f"{a} x {b} dim={d}") for a, b, d in CROSS]


def _cdist_samples(op, dtype, rng):
    """Random points: no zero distance and no tie in a p=inf max (probability 0)."""
    return [Sample((uniform(rng, a, dtype, op.domain), uniform(rng, b, dtype, op.domain)), kw,
                   desc=f"{a} to {b} {kw}") for a, b, kw in CDIST]


def _cdist_ref(x1, x2, p=2.0, compute_mode=None):
    u = np.abs(x1[..., :, None, :] - x2[..., None, :, :])
    if p == 0:
        return np.sum(u != 0, -1).astype(x1.dtype)
    if p == np.inf:
        return np.max(u, -1, initial=0)
    return np.sum(u ** p, -1) ** (1 / p)


ROWS = [
    OpInfo("einsum", lambda *ops, eq: tg.einsum(eq, *ops),
           lambda *ops, eq: np.einsum(eq, *ops), _einsum_samples, dtypes=INTS,
           covers=("matmul", "mul", "sum", "permute", "reshape", "getitem")),
    OpInfo("einsum_forms", _einsum_form_fn, _einsum_form_ref, _einsum_forms, api=("einsum",),
           covers=("matmul",)),
    OpInfo("tensordot", tg.tensordot, lambda a, b, dims: np.tensordot(a, b, dims),
           _tensordot_samples, dtypes=INTS, covers=("matmul", "mul", "permute", "reshape")),
    OpInfo("kron", tg.kron, np.kron, _kron_samples, dtypes=INTS, covers=("mul", "reshape")),
    OpInfo("cross", tg.cross, lambda a, b, dim: np.cross(a, b, axis=dim), _cross_samples,
           dtypes=INTS),
    OpInfo("linalg.cross", tg.linalg.cross, lambda a, b, dim: np.cross(a, b, axis=dim),
           _cross_samples, covers=("cross",)),
    # NOTE: the rtol covers the |a|^2 + |b|^2 - 2 a.b form (30 rows: chosen automatically).
    OpInfo("cdist", tg.cdist, _cdist_ref, _cdist_samples),
]

# Expressions for tests/test_torch_parity.py (lib is tapegrad or torch; x, y, z, m as there).
PARITY = [
    "lib.einsum('ij,kj->ik', x, z)", "lib.einsum('ij,j', x, y)", "lib.einsum('bij,bkj->bik', m, m)",
    "lib.einsum('ii->i', x[:, :3])", "lib.einsum('ij,ij->', x, z)",
    "lib.einsum('ij,jk,kl->il', x, z.T, x)", "lib.einsum('ij,ij->j', [x, z])",
    "lib.einsum('...j,ij->...i', m, m[1])", "lib.einsum(x, [0, 1], y, [1], [0])",
    "lib.tensordot(m, x.T, dims=([1], [0]))", "lib.tensordot(x, z, dims=2)",
    "lib.kron(x, y)", "lib.kron(y, m)", "lib.linalg.cross(x[:, :3], z[:, 1:])",
    "lib.cross(x[:, :3], z[:, :3], dim=1)", "lib.linalg.cross(x[:1, :3], z[:, :3])",
    "lib.cdist(x, z)", "lib.cdist(m, m[0, :3])", "lib.cdist(x, z, p=1)", "lib.cdist(x, z, p=3)",
    "lib.cdist(x, z, p=float('inf'))", "lib.cdist(x, x)", "lib.cdist(x, z, p=0.5)",
]
