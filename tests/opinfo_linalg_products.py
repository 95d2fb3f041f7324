"""Op database rows for tapegrad.ops.linalg.products (see tests/opinfo.py for what a row is)."""
import warnings

import numpy as np

import tapegrad as tg
from opinfo import F32, F64, I64, OpInfo, Sample, matmul_samples, uniform

INTS = (F32, F64, I64)


def _operands(cases):
    """Samples from (shapes, kwargs) cases: one operand per shape, drawn in the row's domain."""
    def gen(op, dtype, rng):
        return [Sample(tuple(uniform(rng, s, dtype, op.domain) for s in shapes), dict(kw),
                       desc=f"{' with '.join(map(str, shapes))} {kw or ''}")
                for shapes, kw in cases]
    return gen


def _pairs(cases):
    return _operands([(pair, {}) for pair in cases])


def _scaled_ref(product):
    """NumPy reference of an add* form: beta * input + alpha * product(a, b)."""
    def ref(input, a, b, beta=1, alpha=1):
        out = alpha * product(a, b)
        return out if beta == 0 else out + beta * input
    return ref


def _addbmm_ref(a, b):
    return np.matmul(a, b).sum(0)


def _inplace(name):
    def fn(input, a, b, **kw):
        return getattr(input.clone(), name)(a, b, **kw)
    return fn


def _chain_matmul(*ms):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return tg.chain_matmul(*ms)


ADDMM = [(((2, 4), (2, 3), (3, 4)), {}), (((4,), (2, 3), (3, 4)), {"beta": 0.5, "alpha": 2.0}),
         (((), (2, 3), (3, 4)), {"alpha": -1.5}), (((2, 1), (2, 3), (3, 4)), {"beta": 0}),
         (((0, 2), (0, 3), (3, 2)), {})]
ADDMV = [(((2,), (2, 3), (3,)), {}), (((), (2, 3), (3,)), {"beta": 2.0, "alpha": 0.5}),
         (((1,), (2, 3), (3,)), {"beta": 0}), (((0,), (0, 2), (2,)), {})]
BADDBMM = [(((2, 2, 4), (2, 2, 3), (2, 3, 4)), {}), (((4,), (2, 2, 3), (2, 3, 4)), {"beta": 0.5}),
           (((2, 1, 1), (2, 2, 3), (2, 3, 1)), {"alpha": 2.0, "beta": 0})]
ADDBMM = [(((2, 4), (3, 2, 3), (3, 3, 4)), {}), (((4,), (3, 2, 3), (3, 3, 4)), {"alpha": 0.5}),
          (((), (1, 2, 3), (1, 3, 1)), {"beta": 2.0}), (((2, 2), (0, 2, 3), (0, 3, 2)), {})]
PRODUCT = {"addmm": np.matmul, "addmv": np.matmul, "baddbmm": np.matmul, "addbmm": _addbmm_ref}
ADD_CASES = {"addmm": ADDMM, "addmv": ADDMV, "baddbmm": BADDBMM, "addbmm": ADDBMM}
# what each add* form records (beta = 0 adds a where that gives input its zero gradient)
ADD_COVERS = {"addmm": ("matmul", "mul", "add", "where"), "addmv": ("matmul", "mul", "add"),
              "baddbmm": ("matmul", "mul", "add", "where"),
              "addbmm": ("matmul", "mul", "add", "permute", "reshape")}

MULTI_DOT = [(((3,), (3, 4), (4, 2), (2,)), {}), (((2, 3), (3, 4)), {}),
             (((5, 2), (2, 6), (6, 3), (3, 1)), {}), (((3,), (3,)), {}),
             (((2, 3), (3, 1), (1, 4), (4,)), {})]

ROWS = [
    OpInfo("mm", tg.mm, np.matmul, _pairs([((2, 3), (3, 4)), ((1, 5), (5, 1)), ((0, 3), (3, 2)),
                                           ((3, 0), (0, 2))]), dtypes=INTS, covers=("matmul",)),
    OpInfo("dot", tg.dot, np.dot, _pairs([((3,), (3,)), ((1,), (1,)), ((0,), (0,))]),
           dtypes=INTS, covers=("matmul",)),
    OpInfo("vdot", tg.vdot, np.vdot, _pairs([((3,), (3,)), ((0,), (0,))]), dtypes=INTS,
           covers=("matmul",)),
    OpInfo("bmm", tg.bmm, np.matmul, _pairs([((2, 2, 3), (2, 3, 4)), ((1, 1, 3), (1, 3, 1)),
                                             ((0, 2, 3), (0, 3, 2)), ((2, 3, 0), (2, 0, 2))]),
           dtypes=INTS, covers=("matmul",)),
    OpInfo("mv", tg.mv, np.matmul, _pairs([((2, 3), (3,)), ((1, 1), (1,)), ((0, 3), (3,)),
                                           ((3, 0), (0,))]), dtypes=INTS, covers=("matmul",)),
    OpInfo("inner", tg.inner, np.inner,
           _pairs([((2, 3), (4, 3)), ((3,), (3,)), ((2, 3, 2), (2,)), ((), (2, 3)),
                   ((2, 3), ()), ((2, 0), (3, 0))]),
           dtypes=INTS, covers=("matmul", "reshape", "permute", "mul")),
    OpInfo("outer", tg.outer, np.outer, _pairs([((3,), (4,)), ((1,), (2,)), ((0,), (3,))]),
           dtypes=INTS, covers=("mul", "reshape")),
    OpInfo("ger", tg.ger, np.outer, _pairs([((2,), (3,))]), covers=("mul", "reshape")),
    OpInfo("linalg.matmul", tg.linalg.matmul, np.matmul, matmul_samples, covers=("matmul",)),
    OpInfo("chain_matmul", _chain_matmul, lambda *ms: np.linalg.multi_dot(ms),
           _operands([(((2, 3), (3, 4), (4, 1)), {}), (((3, 1), (1, 3), (3, 3), (3, 2)), {}),
                      (((2, 3), (3, 2)), {})]),
           covers=("matmul",)),
    OpInfo("linalg.multi_dot", lambda *ms: tg.linalg.multi_dot(ms),
           lambda *ms: np.linalg.multi_dot(ms), _operands(MULTI_DOT),
           covers=("matmul", "reshape")),
    OpInfo("linalg.vecdot", tg.linalg.vecdot,
           lambda x, y, dim=-1: np.sum(x * y, axis=dim),
           _operands([(((2, 3), (3,)), {}), (((2, 3), (2, 1)), {"dim": 0}), (((3,), (3,)), {}),
                      (((0, 3), (3,)), {}), (((2, 1, 3), (4, 3)), {"dim": -1})]),
           covers=("mul", "sum")),
] + [
    OpInfo(name, getattr(tg, name), _scaled_ref(PRODUCT[name]), _operands(cases),
           covers=ADD_COVERS[name]) for name, cases in ADD_CASES.items()
] + [
    OpInfo(name, _inplace(name), _scaled_ref(PRODUCT[name[:-1]]), _operands(cases),
           covers=("matmul", "mul", "add", "clone", "index_put")) for name, cases in [
        ("addmm_", [(((2, 4), (2, 3), (3, 4)), {}),
                    (((2, 4), (2, 3), (3, 4)), {"beta": 0.5, "alpha": 2.0})]),
        ("addmv_", [(((2,), (2, 3), (3,)), {"alpha": -1.0})]),
        ("baddbmm_", [(((2, 2, 4), (2, 2, 3), (2, 3, 4)), {"beta": 0.5, "alpha": 2.0})]),
        ("addbmm_", [(((2, 4), (3, 2, 3), (3, 3, 4)), {"alpha": 0.5, "beta": 2.0})])]
]

# Expressions for tests/test_torch_parity.py (lib is tapegrad or torch; x, y, z, m as there).
PARITY = [
    "lib.mv(x, y)", "lib.bmm(m.transpose(1, 2), m)", "lib.vdot(y, x[1])", "lib.inner(x, z)",
    "lib.inner(m, y[:1] * lib.ones(5))", "lib.outer(y, x[0])", "lib.ger(x[:, 0], y)",
    "lib.addmm(y, x.T, z, beta=0.5, alpha=2)", "lib.addmm(x, x, z.T @ z, beta=0)",
    "lib.addmv(y[:3], x, y, alpha=-1)", "lib.baddbmm(y, m.transpose(1, 2), m[:, :, :4])",
    "lib.addbmm(y, m.transpose(1, 2), m[:, :, :4], beta=2)",
    "(x * 1).addmm_(x, z.T @ z, alpha=0.5)",
    "lib.linalg.multi_dot([y, x.T, z, y])", "lib.linalg.multi_dot([x, z.T, x])",
    "lib.linalg.vecdot(x, z)", "lib.linalg.vecdot(x, y, dim=-1)", "lib.linalg.matmul(x, m)",
]
