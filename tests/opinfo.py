"""The op database: one row per public differentiable op; the rows drive every generic test in
tests/test_op_db.py (forward vs NumPy, gradcheck, gradgradcheck, grad shapes and dtypes,
no_grad, no mutation, and the JVP/VJP dot test).

A row's ``samples(op, dtype, rng)`` returns ``Sample``s. In a sample's ``args``, every
``np.ndarray`` becomes a tensor (floating ones require grad) before ``fn`` sees it, and ``ref``
gets the arrays themselves; Python scalars, dims and keys pass through unchanged, and
``kwargs`` go to both. Values stay away from the points where an op is not differentiable
(ties for max/min/maximum, kinks of relu/abs, clamp's bounds, 0 for log/sqrt).

Each row names the registry primitives it exercises in ``covers``; test_op_db checks that
together the rows cover ``tapegrad.ops.registry.REGISTRY`` and that each row really reaches
the primitives it claims (in its forward graph or in the graph of its gradient).
"""
import importlib
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

import tapegrad as tg
from tapegrad.ops import indexing

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
I32, I64 = np.dtype(np.int32), np.dtype(np.int64)
FLOATS = (F32, F64)


@dataclass(frozen=True)
class Sample:
    """One call: ``fn(*tensors(args), **kwargs)`` checked against ``ref(*args, **kwargs)``."""
    args: tuple
    kwargs: dict = field(default_factory=dict)
    desc: str = ""
    out_dtype: Optional[np.dtype] = None   # the result dtype, when the row's rule doesn't give it

    def __repr__(self):
        shapes = ", ".join(str(a.shape) if isinstance(a, np.ndarray) else repr(a)
                           for a in self.args)
        return f"Sample({self.desc or shapes})"


@dataclass(frozen=True)
class OpInfo:
    """One row: the op, its NumPy reference, its samples and what it supports."""
    name: str
    fn: Callable
    ref: Callable
    samples: Callable                       # (op, dtype, rng) -> list of Sample
    dtypes: tuple = FLOATS                  # the forward check runs in each; grads in floats
    domain: tuple = (-2.0, 2.0)             # where float inputs are drawn from
    covers: tuple = ()                      # registry op names exercised; default (name,)
    supports_gradgrad: bool = True
    differentiable: bool = True             # False: forward, no_grad and no-mutation checks only
    api: tuple = ()                         # public names this row tests; default (name,)
    result_dtype: Optional[Callable] = None  # input dtype -> result dtype (PyTorch's rule)
    gradcheck_kwargs: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.covers:
            object.__setattr__(self, "covers", (self.name,) if self.differentiable else ())
        if not self.api:
            object.__setattr__(self, "api", (self.name,))

    def __str__(self):
        return self.name

    def sample_inputs(self, dtype, seed=0):
        """The samples for ``dtype`` (a fresh, seeded generator each call: reproducible)."""
        return self.samples(self, np.dtype(dtype), np.random.default_rng(seed))

    def expected_dtype(self, dtype, sample):
        """The dtype PyTorch gives the (first) result for inputs of ``dtype``."""
        if sample.out_dtype is not None:
            return np.dtype(sample.out_dtype)
        if self.result_dtype is not None:
            return np.dtype(self.result_dtype(dtype))
        scalars = list(sample.args) + list(sample.kwargs.values())
        if dtype.kind in "biu" and any(type(a) is float for a in scalars):
            return F32          # integer tensor with a Python float: float32 in PyTorch
        return dtype


def to_float32_if_int(dtype):
    return F32 if dtype.kind in "biu" else dtype


def to_int64_if_int(dtype):
    return I64 if dtype.kind in "biu" else dtype


# ---- value generators -----------------------------------------------------------------------
def uniform(rng, shape, dtype, domain):
    """Floats uniform in ``domain``; integers in the same range (ints of the bounds)."""
    lo, hi = domain
    if dtype.kind in "iu":
        return np.asarray(rng.integers(int(np.ceil(lo)), int(np.floor(hi)) + 1, size=shape),
                          dtype=dtype)
    return np.asarray(rng.uniform(lo, hi, size=shape), dtype=dtype)


def away_from_zero(rng, shape, dtype, lo=0.25, hi=2.0):
    """Magnitudes in [lo, hi] with random signs: no kinks (relu, abs), no zero divisors."""
    if dtype.kind in "iu":
        mag = rng.integers(1, int(hi) + 2, size=shape)
    else:
        mag = rng.uniform(lo, hi, size=shape)
    return np.asarray(mag * rng.choice([-1, 1], size=shape), dtype=dtype)


def nonzero(rng, shape, dtype, domain):
    """``away_from_zero`` with a sample maker's signature (the domain is not used)."""
    return away_from_zero(rng, shape, dtype)


def off_multiples(rng, shape, dtype, domain):
    """Magnitudes in [0.2, 1.8] with random signs: against a divisor in [2, 3], x mod y stays
    away from its jumps (x / y never near an integer)."""
    sign = rng.choice([-1, 1], size=shape)
    return np.asarray(uniform(rng, shape, dtype, (0.2, 1.8)) * sign, dtype=dtype)


def two_to_three(rng, shape, dtype, domain):
    return uniform(rng, shape, dtype, (2.0, 3.0))


def distinct(rng, shapes, dtype, lo=-3.0, hi=3.0):
    """Arrays of the given shapes whose values are all different from each other (at least
    (hi - lo) / n apart), so max/min/maximum/clamp never meet a tie."""
    sizes = [int(np.prod(s)) for s in shapes]
    n = max(sum(sizes), 2)
    if dtype.kind in "iu":
        grid = np.arange(n) - n // 2
    else:
        grid = np.linspace(lo, hi, n)
    vals = rng.permutation(grid).astype(dtype)
    out, start = [], 0
    for s, k in zip(shapes, sizes):
        out.append(vals[start:start + k].reshape(s))
        start += k
    return out


def avoid(x, points, gap=0.1):
    """x with every value within ``gap`` of one of ``points`` pushed away by 2 * gap."""
    x = x.copy()
    for p in points:
        if p is not None:
            x = np.where(np.abs(x - p) < gap, x + 2 * gap, x).astype(x.dtype)
    return x


def scalar_of(dtype, value):
    """A Python scalar of the sample's kind: a nonzero int for integer samples, else a float."""
    return (int(round(value)) or 1) if dtype.kind in "iu" else float(value)


# ---- sample families ------------------------------------------------------------------------
UNARY_SHAPES = [(), (5,), (3, 4), (2, 3, 2)]
BINARY_SHAPES = [((), ()), ((5,), (5,)), ((3, 4), (3, 4)), ((3, 1), (4,)),
                 ((2, 3, 4), (3, 4)), ((2, 1, 3), (4, 1)), ((), (2, 3)), ((3, 4), ()),
                 ((0, 3), (3,))]


def unary(make=None):
    """Unary samples over 0-d to 3-d shapes; ``make(rng, shape, dtype, domain)`` draws values."""
    make = make or uniform

    def gen(op, dtype, rng):
        return [Sample((make(rng, s, dtype, op.domain),), desc=f"{s}") for s in UNARY_SHAPES]
    return gen


def binary(lhs=None, rhs=None, scalars=True, mixed=True):
    """Broadcasting pairs, plus a Python scalar on either side and (float32) a float32/float64
    mix. ``lhs``/``rhs`` are (rng, shape, dtype, domain) -> array makers."""
    lhs = lhs or uniform
    rhs = rhs or uniform

    def gen(op, dtype, rng):
        out = [Sample((lhs(rng, a, dtype, op.domain), rhs(rng, b, dtype, op.domain)),
                      desc=f"{a} with {b}") for a, b in BINARY_SHAPES]
        if scalars:
            s = float(rhs(rng, (), F64, op.domain))
            out.append(Sample((lhs(rng, (3, 4), dtype, op.domain), scalar_of(dtype, s)),
                              desc="(3, 4) with python scalar"))
            s = float(lhs(rng, (), F64, op.domain))
            out.append(Sample((scalar_of(dtype, s), rhs(rng, (2, 3), dtype, op.domain)),
                              desc="python scalar with (2, 3)"))
            if dtype.kind in "iu":       # integer tensor with a Python float: float32
                out.append(Sample((lhs(rng, (4,), dtype, op.domain), 1.5),
                                  desc="int (4,) with python float"))
        if mixed and dtype == F32:
            out.append(Sample((lhs(rng, (3,), F32, op.domain), rhs(rng, (2, 3), F64, op.domain)),
                              desc="float32 (3,) with float64 (2, 3)", out_dtype=F64))
        return out
    return gen


def distinct_binary(op, dtype, rng):
    """Broadcasting pairs whose values never tie (maximum, minimum)."""
    out = [Sample(tuple(distinct(rng, [a, b], dtype)), desc=f"{a} with {b}")
           for a, b in BINARY_SHAPES]
    x, = distinct(rng, [(3, 4)], dtype)
    out.append(Sample((x, scalar_of(dtype, 0.5 if dtype.kind == "f" else 0)),
                      desc="(3, 4) with python scalar"))
    x, = distinct(rng, [(2, 3)], dtype)
    out.append(Sample((scalar_of(dtype, 0.7 if dtype.kind == "f" else 1), x),
                      desc="python scalar with (2, 3)"))
    return out


def positive_base_pow(op, dtype, rng):
    """tensor ** tensor with a positive base, broadcasting."""
    return [Sample((uniform(rng, a, dtype, (0.5, 2.0)), uniform(rng, b, dtype, (-1.5, 1.5))),
                   desc=f"{a} ** {b}") for a, b in BINARY_SHAPES]


def pow_scalar_exponent(op, dtype, rng):
    out = []
    for e in (2.0, 0.5, -1.5, 0.0, 3.0):
        for s in [(), (5,), (3, 4)]:
            base = (away_from_zero(rng, s, dtype, 0.3, 2.0) if e in (2.0, 3.0)
                    else uniform(rng, s, dtype, (0.5, 2.0)))
            out.append(Sample((base, e), desc=f"{s} ** {e}"))
    if dtype.kind in "iu":
        out = [Sample((uniform(rng, (3, 4), dtype, (-3, 3)), 2), desc="int ** 2"),
               Sample((uniform(rng, (3, 4), dtype, (1, 3)), 0.5), desc="int ** 0.5")]
    return out


def pow_scalar_base(op, dtype, rng):
    out = [Sample((b, uniform(rng, s, dtype, (-1.5, 1.5))), desc=f"{b} ** {s}")
           for b in (2.5, 0.5) for s in UNARY_SHAPES]
    if dtype.kind in "iu":
        out = [Sample((2, uniform(rng, (3, 4), dtype, (0, 3))), desc="2 ** int"),
               Sample((2.5, uniform(rng, (3, 4), dtype, (-2, 2))), desc="2.5 ** int")]
    return out


def where_samples(op, dtype, rng):
    cases = [((3, 4), (3, 4), (3, 4)), ((3, 1), (4,), ()), ((2, 3, 4), (3, 4), (2, 1, 1)),
             ((), (5,), (5,))]
    out = [Sample((np.asarray(rng.random(c) < 0.5), uniform(rng, a, dtype, op.domain),
                   uniform(rng, b, dtype, op.domain)), desc=f"cond {c}, {a}, {b}")
           for c, a, b in cases]
    out.append(Sample((rng.random((3, 4)) < 0.5, uniform(rng, (3, 4), dtype, op.domain),
                       scalar_of(dtype, 0.5)), desc="python scalar other"))
    out.append(Sample((rng.random((2, 3)) < 0.5, scalar_of(dtype, -1.25),
                       uniform(rng, (3,), dtype, op.domain)), desc="python scalar input"))
    return out


CLAMP_BOUNDS = [(-0.5, 0.5), (-0.5, None), (None, 0.3), (0.2, 1.5)]


def clamp_scalar_bounds(op, dtype, rng):
    out = []
    for lo, hi in CLAMP_BOUNDS:
        for s in [(), (7,), (3, 4), (2, 3, 2)]:
            if dtype.kind in "iu":
                lo_, hi_ = (None if lo is None else -1), (None if hi is None else 1)
                out.append(Sample((uniform(rng, s, dtype, (-3, 3)),),
                                  {"min": lo_, "max": hi_}, desc=f"{s} in [{lo_}, {hi_}]"))
            else:
                x = avoid(uniform(rng, s, dtype, op.domain), (lo, hi))
                out.append(Sample((x,), {"min": lo, "max": hi}, desc=f"{s} in [{lo}, {hi}]"))
    return out


def clamp_tensor_bounds(op, dtype, rng):
    """Tensor bounds (both, min only, max only), broadcasting, never tying with x."""
    out = []
    for xs, ls, hs in [((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1)), ((2, 3), (), (3,)),
                       ((5,), (5,), None), ((4,), None, (1,))]:
        shapes = [xs] + [b for b in (ls, hs) if b is not None]
        which = "both" if ls is not None and hs is not None else ("min" if ls else "max")
        out.append(Sample(tuple(distinct(rng, shapes, dtype)), {"which": which},
                          desc=f"{xs} in [{ls}, {hs}]"))
    return out


def _clamp_tensor_fn(x, *bounds, which):
    if which == "both":
        return tg.clamp(x, bounds[0], bounds[1])
    return tg.clamp(x, **{which: bounds[0]})


def _clamp_tensor_ref(x, *bounds, which):
    if which == "both":
        return np.minimum(np.maximum(x, bounds[0]), bounds[1])
    return (np.maximum if which == "min" else np.minimum)(x, bounds[0])


REDUCE_CASES = [((), None), ((), 0), ((), -1), ((5,), None), ((5,), 0), ((5,), -1),
                ((3, 4), None), ((3, 4), 1), ((3, 4), -2), ((3, 4), (0, 1)),
                ((2, 3, 4), None), ((2, 3, 4), 1), ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1, -3)),
                ((2, 3, 4), -1), ((0, 3), 1)]
EMPTY_REDUCE_CASES = [((0, 3), 0), ((0, 3), None)]   # no identity for max/min: sum/prod only


def reduction(tuple_dims=True, single_dim=False, make=None, empty=False):
    """(shape, dim, keepdim) sweeps; ``single_dim`` drops None (max/min with dim),
    ``tuple_dims=False`` drops tuples (prod), ``empty`` adds reductions over a size-0 dim."""
    def gen(op, dtype, rng):
        out = []
        for shape, dim in REDUCE_CASES + (EMPTY_REDUCE_CASES if empty else []):
            if isinstance(dim, tuple) and not tuple_dims or dim is None and single_dim:
                continue
            for keepdim in (False, True):
                if dim is None and keepdim:
                    continue           # full reductions: no dim, no keepdim
                x = (make(rng, shape, dtype, op.domain) if make is not None
                     else distinct(rng, [shape], dtype)[0])
                kw = {"dim": dim, "keepdim": keepdim} if dim is not None else {}
                out.append(Sample((x,), kw, desc=f"{shape} dim={dim} keepdim={keepdim}"))
        return out
    return gen


def _np_axis(x, dim):
    """NumPy's axis for a tapegrad dim: a 0-d tensor's dim 0 / -1 reduces nothing."""
    if np.ndim(x) == 0 and dim is not None:
        return ()
    return dim


def reduce_ref(np_fn):
    def ref(x, dim=None, keepdim=False):
        return np_fn(x, axis=_np_axis(x, dim), keepdims=keepdim)
    return ref


def extreme_dim_ref(np_fn, np_arg):
    def ref(x, dim, keepdim=False):
        if np.ndim(x) == 0:
            return x.copy(), np.asarray(0, dtype=np.int64)
        return (np_fn(x, axis=dim, keepdims=keepdim),
                np.asarray(np_arg(x, axis=dim, keepdims=keepdim), dtype=np.int64))
    return ref


def prod_values(rng, shape, dtype, domain):
    """Magnitudes in [0.5, 1.5], random signs: products stay O(1), no zeros."""
    return away_from_zero(rng, shape, dtype, 0.5, 1.5) if dtype.kind == "f" else \
        uniform(rng, shape, dtype, (-2, 2))


def prod_with_zeros(op, dtype, rng):
    """Inputs containing zeros: prod's gradient is then the product of the other elements."""
    x = prod_values(rng, (3, 4), dtype, None)
    x[0, 1] = 0            # one zero in row 0 / column 1
    x[2, 0] = x[2, 3] = 0  # two zeros in row 2
    y = prod_values(rng, (5,), dtype, None)
    y[3] = 0
    return [Sample((x,), {"dim": 1}, desc="(3, 4) zeros dim=1"),
            Sample((x,), {"dim": 0, "keepdim": True}, desc="(3, 4) zeros dim=0 keepdim"),
            Sample((x,), desc="(3, 4) zeros, all"), Sample((y,), desc="(5,) one zero")]


MATMUL_SHAPES = [((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)),
                 ((2, 2, 3), (2, 3, 4)), ((2, 1, 2, 3), (3, 3, 2)), ((3,), (2, 3, 2)),
                 ((2, 2, 3), (3,)), ((2, 3, 4), (4, 2)), ((1, 3), (2, 3, 1)),
                 ((0, 3), (3, 2)), ((2, 0), (0, 3))]


def matmul_samples(op, dtype, rng):
    return [Sample((uniform(rng, a, dtype, op.domain), uniform(rng, b, dtype, op.domain)),
                   desc=f"{a} @ {b}") for a, b in MATMUL_SHAPES]


def shaped(cases):
    """Samples from (input shape, kwargs) cases: one tensor argument plus keyword arguments."""
    def gen(op, dtype, rng):
        return [Sample((uniform(rng, s, dtype, op.domain),), dict(kw), desc=f"{s} {kw}")
                for s, kw in cases]
    return gen


def joined(cases):
    """cat/stack samples: (list of shapes, dim)."""
    def gen(op, dtype, rng):
        return [Sample(tuple(uniform(rng, s, dtype, op.domain) for s in shapes), {"dim": d},
                       desc=f"{shapes} dim={d}") for shapes, d in cases]
    return gen


def getitem_basic(op, dtype, rng):
    keys = {(5,): [1, -1, slice(1, 4), slice(None, None, 2), (None, slice(2, None)), Ellipsis],
            (3, 4): [1, (slice(None), 1), (Ellipsis, 0),
                     (None, slice(1, None), slice(None, None, 2)), (1, None, Ellipsis),
                     (-1, slice(0, 3)), (slice(None), None)],
            (2, 3, 4): [(0, Ellipsis, 1), (slice(None), 2), (Ellipsis, slice(1, 3), None),
                        (1, 2, 3)],
            (): [None, Ellipsis, (None, None)]}
    return [Sample((uniform(rng, s, dtype, op.domain),), {"key": k}, desc=f"{s}[{k!r}]")
            for s, ks in keys.items() for k in ks]


def _key_builders():
    """Advanced keys as functions of the index arguments (tensors for fn, arrays for ref)."""
    return [
        ((5,), [np.array([0, 2, 0, 4, 2])], lambda i: i, "int tensor with repeats"),
        ((3, 4), [np.array([2, 0, 2])], lambda i: (slice(None), i), "[:, idx]"),
        ((3, 4), [np.array([[0, 1], [1, 1]])], lambda i: i, "2-d index"),
        ((3, 4), [np.array([1, 1, 0]), np.array([3, 3, 0])], lambda i, j: (i, j), "[idx, idx]"),
        ((2, 3, 4), [np.array([0, 2, 2])], lambda i: (1, i), "[1, idx]"),
        ((2, 3, 4), [np.array([3, 0])], lambda i: (Ellipsis, i), "[..., idx]"),
        ((4, 3), [np.array([1, 3])], lambda i: (i, slice(1, None)), "[idx, 1:]"),
        ((3, 4), [np.array([[True, False, True, True], [False] * 4, [True, True, False, True]])],
         lambda m: m, "bool mask"),
        ((3, 4), [np.array([True, False, True])], lambda m: m, "bool mask on dim 0"),
        ((2, 3, 4), [np.array([False, True, True])], lambda m: (slice(None), m), "[:, mask]"),
    ]


def getitem_advanced(op, dtype, rng):
    out = [Sample((uniform(rng, s, dtype, op.domain),) + tuple(idx), {"k": k}, desc=d)
           for s, idx, k, d in _key_builders()]
    out.append(Sample((uniform(rng, (4,), dtype, op.domain),), {"k": lambda: [0, 0, 3]},
                      desc="python list with repeats"))
    return out


def _getitem_advanced(x, *idx, k):
    return x[k(*idx)]


def setitem_samples(op, dtype, rng):
    u = lambda s: uniform(rng, s, dtype, op.domain)   # noqa: E731
    return [
        Sample((u((3, 4)), u((4,))), {"k": lambda: 1}, desc="z[1] = (4,)"),
        Sample((u((3, 4)), u((3, 1))), {"k": lambda: (slice(None), slice(1, 3))},
               desc="z[:, 1:3] = (3, 1) broadcast"),
        Sample((u((3, 4)), 0.5), {"k": lambda: (Ellipsis, 0)}, desc="z[..., 0] = python scalar"),
        Sample((u((2, 3, 4)), u(())), {"k": lambda: (0, slice(None, None, 2))},
               desc="z[0, ::2] = 0-d"),
        Sample((u((5,)), u((2,)), np.array([3, 1])), {"k": lambda i: i},
               desc="z[int tensor] = (2,)"),
        Sample((u((3, 4)), u((4,)), np.array([2, 0])), {"k": lambda i: i},
               desc="z[int tensor] = (4,) broadcast"),
        Sample((u((3, 4)), -1.0, rng.random((3, 4)) < 0.5), {"k": lambda m: m},
               desc="z[bool mask] = python scalar"),
        Sample((u((3, 4)), u(()), np.array([True, False, True])), {"k": lambda m: m},
               desc="z[row mask] = 0-d"),
    ]


def _setitem(x, value, *idx, k):
    z = x.clone()
    z[k(*idx)] = value
    return z


def _setitem_ref(x, value, *idx, k):
    z = x.copy()
    z[k(*idx)] = value
    return z


def _setitem_on_view(x, value, *idx, k):
    z = x.clone()
    v = z[0]                 # a view of z: the write goes through view_scatter
    v[k(*idx)] = value
    return z


def _setitem_on_view_ref(x, value, *idx, k):
    z = x.copy()
    z[0][k(*idx)] = value
    return z


def setitem_view_samples(op, dtype, rng):
    u = lambda s: uniform(rng, s, dtype, op.domain)   # noqa: E731
    return [Sample((u((3, 4)), u((2,))), {"k": lambda: slice(1, 3)}, desc="z[0][1:3] = (2,)"),
            Sample((u((2, 3, 4)), u((4,)), np.array([2, 0])), {"k": lambda i: i},
                   desc="z[0][idx] = (4,)"),
            Sample((u((3, 4)), 2.0), {"k": lambda: -1}, desc="z[0][-1] = python scalar")]


# in place through a view: the base's node is view_scatter, the view's is view_of
VIEWS = [("z[1]", lambda z: z[1], lambda z: z[1], (3, 4), (4,)),
         ("z[:, 1:3]", lambda z: z[:, 1:3], lambda z: z[:, 1:3], (3, 4), (3, 2)),
         ("z.T[1:]", lambda z: z.T[1:], lambda z: z.T[1:], (3, 4), (1,)),
         ("z.transpose(0, 2)[0]", lambda z: z.transpose(0, 2)[0],
          lambda z: z.swapaxes(0, 2)[0], (2, 3, 4), (3, 1)),
         ("z.reshape(6, 2)[::2]", lambda z: z.reshape(6, 2)[::2],
          lambda z: z.reshape(6, 2)[::2], (2, 3, 2), (2,)),
         ("z.unsqueeze(0)[0, 1]", lambda z: z.unsqueeze(0)[0, 1],
          lambda z: np.expand_dims(z, 0)[0, 1], (2, 3), ())]


def view_samples(op, dtype, rng):
    return [Sample((uniform(rng, zs, dtype, op.domain), uniform(rng, ys, dtype, op.domain)),
                   {"view": v, "ref_view": rv}, desc=f"{d}.mul_({ys})")
            for d, v, rv, zs, ys in VIEWS]


def _mul_through_view(x, y, view, ref_view):
    z = x.clone()
    view(z).mul_(y)
    return z


def _mul_through_view_ref(x, y, view, ref_view):
    z = x.copy()
    v = ref_view(z)
    v *= y
    return z


def _mul_view_out(x, y, view, ref_view):
    v = view(x.clone())
    v.mul_(y)
    return v


def _mul_view_out_ref(x, y, view, ref_view):
    return ref_view(x.copy()) * y


def inplace_binary(op, dtype, rng):
    """x.clone().<op>_(y): y broadcasts to x's shape (an in-place op can't change it)."""
    rhs = nonzero if op.name == "div_" else uniform
    lhs = (lambda r, s, d, dom: uniform(r, s, d, (0.5, 2.0))) if op.name == "pow_" else uniform
    pairs = [((), ()), ((5,), (5,)), ((3, 4), (4,)), ((3, 4), (3, 1)), ((2, 3, 4), (3, 1)),
             ((3, 4), ())]
    out = [Sample((lhs(rng, a, dtype, op.domain), rhs(rng, b, dtype, op.domain)),
                  desc=f"{a} with {b}") for a, b in pairs]
    out.append(Sample((lhs(rng, (3, 4), dtype, op.domain), 1.5), desc="python scalar"))
    return out


def _index_add_samples(op, dtype, rng):
    u = lambda s: uniform(rng, s, dtype, op.domain)   # noqa: E731
    return [Sample((u((4, 3)), u((3, 3))), {"key": (np.array([0, 2, 0]),)},
                   desc="rows with repeats"),
            Sample((u((4, 3)), u((3,))), {"key": (np.array([1, 1, 3]),)},
                   desc="broadcast src with repeats"),
            Sample((u((2, 3, 4)), u((2, 2))), {"key": (slice(None), np.array([2, 2]), 1)},
                   desc="mixed key")]


def _index_add_ref(base, src, key):
    out = base.copy()
    np.add.at(out, key, src)
    return out


def _index_put_samples(op, dtype, rng):
    u = lambda s: uniform(rng, s, dtype, op.domain)   # noqa: E731
    return [Sample((u((4, 3)), u((2, 3))), {"key": (np.array([3, 0]),)}, desc="rows"),
            Sample((u((4, 3)), u((3,))), {"key": (np.array([1, 2]),)}, desc="broadcast value"),
            Sample((u((3, 4)), u(())), {"key": (slice(1, None), 2)}, desc="basic key, 0-d")]


def _index_put_ref(x, v, key):
    out = x.copy()
    out[key] = v
    return out


def _to_other(x):
    return x.to(tg.float64 if x.dtype == tg.float32 else tg.float32)


def _to_other_ref(x):
    return x.astype(np.float64 if x.dtype == np.float32 else np.float32)


def cast_samples(op, dtype, rng):
    other = F64 if dtype == F32 else F32
    return [Sample((uniform(rng, s, dtype, op.domain),), desc=f"{s} {dtype} -> {other}",
                   out_dtype=other) for s in UNARY_SHAPES]


def _squeeze_ref(x, dim=None):
    if dim is None:
        return np.squeeze(x)
    dims = (dim,) if isinstance(dim, int) else dim
    axes = tuple(d % x.ndim for d in dims if x.shape[d] == 1)
    return np.squeeze(x, axis=axes)


def _expand_ref(x, sizes):
    lead = len(sizes) - x.ndim
    shape = [x.shape[i - lead] if n == -1 else n for i, n in enumerate(sizes)]
    return np.broadcast_to(x, shape)


def _flatten_ref(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return x.reshape(1)
    s, e = start_dim % x.ndim, end_dim % x.ndim
    return x.reshape(x.shape[:s] + (-1,) + x.shape[e + 1:])


# dtypes of the forward check: ints where PyTorch's op accepts them
INTS = (F32, F64, I64)
UNARY_FLOAT_MATH = dict(dtypes=INTS, result_dtype=to_float32_if_int)


def _tanh_double_backward(a, o, u):
    """tanh_backward's fused tangent, applied directly: only forward-over-reverse records it,
    which the generic row checks don't do."""
    from tapegrad.ops.fused_backward import TANH_DOUBLE_BACKWARD
    from tapegrad.ops.registry import apply
    return apply(TANH_DOUBLE_BACKWARD, (a, o, u))


def _three_broadcasting(op, dtype, rng):
    return [Sample(tuple(uniform(rng, s, dtype, op.domain) for s in shapes), desc=f"{shapes}")
            for shapes in (((3, 4), (3, 4), (3, 4)), ((3, 1), (4,), (1, 4)), ((), (), ()))]


ZERO_AVOIDING = unary(nonzero)

OP_DB = [
    # ---- elementwise, binary (broadcasting) ----------------------------------------------
    OpInfo("add", tg.add, np.add, binary(), dtypes=(F32, F64, I64, I32)),
    OpInfo("add_alpha", lambda x, y: tg.add(x, y, alpha=2.5), lambda x, y: x + 2.5 * y,
           binary(scalars=False, mixed=False), covers=("add", "mul")),
    OpInfo("sub", tg.sub, np.subtract, binary(), dtypes=INTS),
    OpInfo("mul", tg.mul, np.multiply, binary(), dtypes=INTS),
    OpInfo("div", tg.div, np.divide, binary(rhs=nonzero),
           dtypes=INTS, result_dtype=to_float32_if_int),
    OpInfo("remainder", tg.remainder, np.remainder, binary(lhs=off_multiples, rhs=two_to_three),
           dtypes=INTS),
    OpInfo("mod_operator", lambda x, y: x % y, np.remainder,
           binary(lhs=off_multiples, rhs=two_to_three), covers=("remainder",)),
    OpInfo("pow", tg.pow, np.power, pow_scalar_exponent, dtypes=INTS,
           covers=("pow", "pow_backward")),
    OpInfo("pow_scalar_base", tg.pow, np.power, pow_scalar_base, dtypes=INTS, covers=("pow",)),
    OpInfo("pow_tensor", tg.pow, np.power, positive_base_pow, covers=("pow",)),
    OpInfo("maximum", tg.maximum, np.maximum, distinct_binary, dtypes=INTS),
    OpInfo("minimum", tg.minimum, np.minimum, distinct_binary, dtypes=INTS),
    OpInfo("where", tg.where, np.where, where_samples, dtypes=INTS),
    # ---- elementwise, unary -----------------------------------------------------------------
    OpInfo("neg", tg.neg, np.negative, unary(), dtypes=INTS),
    OpInfo("abs", tg.abs, np.abs, ZERO_AVOIDING, dtypes=INTS),
    OpInfo("sign", tg.sign, np.sign, ZERO_AVOIDING, dtypes=INTS),
    OpInfo("exp", tg.exp, np.exp, unary(), **UNARY_FLOAT_MATH),
    OpInfo("log", tg.log, np.log, unary(), domain=(0.1, 5.0), **UNARY_FLOAT_MATH),
    OpInfo("sqrt", tg.sqrt, np.sqrt, unary(), domain=(0.1, 5.0), **UNARY_FLOAT_MATH),
    OpInfo("rsqrt", tg.rsqrt, lambda x: 1 / np.sqrt(x), unary(), domain=(0.2, 5.0),
           **UNARY_FLOAT_MATH),
    OpInfo("sin", tg.sin, np.sin, unary(), domain=(-3.0, 3.0), **UNARY_FLOAT_MATH),
    OpInfo("cos", tg.cos, np.cos, unary(), domain=(-3.0, 3.0), **UNARY_FLOAT_MATH),
    OpInfo("tan", tg.tan, np.tan, unary(), domain=(-1.2, 1.2), **UNARY_FLOAT_MATH),
    OpInfo("tanh", tg.tanh, np.tanh, unary(), covers=("tanh", "tanh_backward"),
           **UNARY_FLOAT_MATH),
    OpInfo("tanh_double_backward", _tanh_double_backward,
           lambda a, o, u: a * (1 - o * o) - 2 * o * u, _three_broadcasting),
    OpInfo("sigmoid", tg.sigmoid, lambda x: 1 / (1 + np.exp(-x)), unary(), domain=(-4.0, 4.0),
           **UNARY_FLOAT_MATH),
    OpInfo("relu", tg.relu, lambda x: np.maximum(x, 0), ZERO_AVOIDING, dtypes=INTS),
    OpInfo("clamp", tg.clamp, lambda x, min=None, max=None: np.clip(x, min, max),
           clamp_scalar_bounds, dtypes=INTS),
    OpInfo("clamp_tensor", _clamp_tensor_fn, _clamp_tensor_ref, clamp_tensor_bounds,
           dtypes=INTS, covers=("where",)),
    # ---- reductions -----------------------------------------------------------------------
    OpInfo("sum", tg.sum, reduce_ref(np.sum), reduction(make=uniform, empty=True),
           dtypes=(F32, F64, I64, I32), result_dtype=to_int64_if_int),
    OpInfo("mean", tg.mean, reduce_ref(np.mean), reduction(make=uniform)),
    OpInfo("prod", tg.prod, reduce_ref(np.prod),
           reduction(tuple_dims=False, make=prod_values, empty=True),
           dtypes=(F32, F64, I64, I32), result_dtype=to_int64_if_int),
    # NOTE: differentiating prod's gradient at zeros raises NotImplementedError by design.
    OpInfo("prod_zeros", tg.prod, reduce_ref(np.prod), prod_with_zeros, covers=("prod",),
           supports_gradgrad=False),
    OpInfo("amax", tg.amax, reduce_ref(np.amax), reduction(), dtypes=INTS),
    OpInfo("amin", tg.amin, reduce_ref(np.amin), reduction(), dtypes=INTS),
    OpInfo("max", tg.max, np.max, unary(lambda r, s, d, dom: distinct(r, [s], d)[0]),
           dtypes=INTS, covers=("amax",)),
    OpInfo("min", tg.min, np.min, unary(lambda r, s, d, dom: distinct(r, [s], d)[0]),
           dtypes=INTS, covers=("amin",)),
    OpInfo("max_dim", tg.max, extreme_dim_ref(np.max, np.argmax),
           reduction(tuple_dims=False, single_dim=True), dtypes=INTS, covers=("max",)),
    OpInfo("min_dim", tg.min, extreme_dim_ref(np.min, np.argmin),
           reduction(tuple_dims=False, single_dim=True), dtypes=INTS, covers=("min",)),
    # ---- linear algebra ---------------------------------------------------------------------
    OpInfo("matmul", tg.matmul, np.matmul, matmul_samples, dtypes=INTS),
    OpInfo("matmul_operator", lambda x, y: x @ y, np.matmul, matmul_samples, covers=("matmul",)),
    # ---- shape ------------------------------------------------------------------------------
    OpInfo("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: np.reshape(x, shape),
           shaped([((3, 4), {"shape": (2, 6)}), ((3, 4), {"shape": (-1,)}),
                   ((3, 4), {"shape": (4, -1, 1)}), ((), {"shape": (1,)}),
                   ((2, 3, 2), {"shape": (6, 2)}), ((5,), {"shape": (5,)}),
                   ((1,), {"shape": ()})]), dtypes=INTS),
    OpInfo("view", lambda x, shape: x.view(*shape), lambda x, shape: np.reshape(x, shape),
           shaped([((3, 4), {"shape": (2, 2, 3)}), ((2, 3, 2), {"shape": (3, -1)}),
                   ((), {"shape": (1, 1)})]), dtypes=INTS, covers=("reshape",)),
    OpInfo("flatten", tg.flatten, _flatten_ref,
           shaped([((2, 3, 2), {}), ((2, 3, 2), {"start_dim": 1}),
                   ((2, 3, 2), {"start_dim": 0, "end_dim": 1}), ((), {}), ((5,), {})]),
           dtypes=INTS, covers=("reshape",)),
    OpInfo("transpose", tg.transpose, lambda x, dim0, dim1: np.swapaxes(x, dim0, dim1),
           shaped([((3, 4), {"dim0": 0, "dim1": 1}), ((2, 3, 4), {"dim0": 0, "dim1": -1}),
                   ((2, 3, 4), {"dim0": 1, "dim1": 1}), ((5,), {"dim0": 0, "dim1": -1})]),
           dtypes=INTS, covers=("permute",)),
    OpInfo("permute", lambda x, dims: x.permute(*dims), lambda x, dims: np.transpose(x, dims),
           shaped([((2, 3, 4), {"dims": (2, 0, 1)}), ((2, 3, 4), {"dims": (-1, 0, 1)}),
                   ((3, 4), {"dims": (1, 0)}), ((), {"dims": ()})]), dtypes=INTS),
    OpInfo("T", lambda x: x.T, np.transpose, shaped([((3, 4), {}), ((5,), {}), ((), {}),
                                                      ((2, 3, 4), {})]),
           dtypes=INTS, covers=("permute",)),
    OpInfo("mT", lambda x: x.mT, lambda x: np.swapaxes(x, -1, -2),
           shaped([((3, 4), {}), ((2, 3, 4), {})]), dtypes=INTS, covers=("permute",)),
    OpInfo("squeeze", tg.squeeze, _squeeze_ref,
           shaped([((3, 1, 4), {}), ((3, 1, 4), {"dim": 1}), ((3, 1, 4), {"dim": 0}),
                   ((1, 3, 1, 2), {"dim": (0, 2)}), ((1,), {}), ((), {})]),
           dtypes=INTS, covers=("reshape",)),
    OpInfo("unsqueeze", tg.unsqueeze, lambda x, dim: np.expand_dims(x, dim),
           shaped([((3, 4), {"dim": 0}), ((3, 4), {"dim": -1}), ((3, 4), {"dim": 1}),
                   ((), {"dim": 0})]), dtypes=INTS, covers=("reshape",)),
    OpInfo("expand", lambda x, sizes: x.expand(*sizes), _expand_ref,
           shaped([((3, 1), {"sizes": (3, 4)}), ((4,), {"sizes": (2, 4)}),
                   ((3, 1), {"sizes": (2, 3, 4)}), ((3, 1), {"sizes": (-1, 4)}),
                   ((), {"sizes": (2, 3)}), ((1, 1), {"sizes": (1, 1)})]), dtypes=INTS),
    OpInfo("cat", lambda *xs, dim: tg.cat(list(xs), dim),
           lambda *xs, dim: np.concatenate(xs, axis=dim),
           joined([([(2, 3), (4, 3)], 0), ([(2, 3), (2, 1), (2, 2)], 1),
                   ([(2, 3), (2, 2)], -1), ([(5,), (2,)], 0), ([(2, 3, 2), (2, 3, 1)], 2),
                   ([(3,)], 0), ([(0, 3), (2, 3)], 0)]), dtypes=INTS),
    OpInfo("stack", lambda *xs, dim: tg.stack(list(xs), dim),
           lambda *xs, dim: np.stack(xs, axis=dim),
           joined([([(2, 3), (2, 3)], 0), ([(2, 3)] * 3, 1), ([(2, 3), (2, 3)], -1),
                   ([(), (), ()], 0), ([(4,), (4,)], 1)]), dtypes=INTS),
    # ---- indexing ---------------------------------------------------------------------------
    OpInfo("getitem", lambda x, key: x[key], lambda x, key: x[key], getitem_basic, dtypes=INTS,
           covers=("getitem", "view_scatter")),
    OpInfo("getitem_advanced", _getitem_advanced, _getitem_advanced, getitem_advanced,
           dtypes=INTS, covers=("index", "index_add")),
    # internal out-of-place primitives behind advanced indexing's gradients and setitem
    OpInfo("index_add_key", lambda base, src, key: indexing.index_add(base, key, src),
           _index_add_ref, _index_add_samples,
           covers=("index_add", "index")),
    OpInfo("index_put_key", lambda x, v, key: indexing.index_put(x, key, v),
           _index_put_ref, _index_put_samples,
           covers=("index_put", "index", "getitem")),
    # ---- copies and casts -------------------------------------------------------------------
    OpInfo("clone", tg.clone, np.copy, unary(), dtypes=INTS),
    OpInfo("contiguous", lambda x: x.T.contiguous(), lambda x: np.array(x.T, order="C"),
           unary(), dtypes=INTS, covers=("clone", "permute")),
    # NOTE: a cast to float32 and back loses digits, so finite differences need a larger eps.
    OpInfo("to", _to_other, _to_other_ref, cast_samples, covers=("to_dtype",),
           gradcheck_kwargs={"eps": 1e-3, "atol": 1e-4, "rtol": 1e-3}),
    # ---- in place, on non-leaves ------------------------------------------------------------
    OpInfo("add_", lambda x, y: x.clone().add_(y), np.add, inplace_binary,
           covers=("add", "clone")),
    OpInfo("add_alpha_", lambda x, y: x.clone().add_(y, alpha=-2),
           lambda x, y: x - 2 * y, inplace_binary, covers=("add", "mul", "clone")),
    OpInfo("sub_", lambda x, y: x.clone().sub_(y), np.subtract, inplace_binary,
           covers=("sub", "clone")),
    OpInfo("mul_", lambda x, y: x.clone().mul_(y), np.multiply, inplace_binary,
           covers=("mul", "clone")),
    OpInfo("div_", lambda x, y: x.clone().div_(y), np.divide, inplace_binary,
           covers=("div", "clone")),
    OpInfo("pow_", lambda x, y: x.clone().pow_(y), np.power, inplace_binary,
           covers=("pow", "clone")),
    OpInfo("iadd", lambda x, y: _iadd(x.clone(), y), np.add, inplace_binary,
           covers=("add", "clone")),
    OpInfo("exp_", lambda x: x.clone().exp_(), np.exp, unary(), covers=("exp", "clone")),
    OpInfo("clamp_", lambda x, min=None, max=None: x.clone().clamp_(min, max),
           lambda x, min=None, max=None: np.clip(x, min, max), clamp_scalar_bounds,
           covers=("clamp", "clone")),
    OpInfo("setitem", _setitem, _setitem_ref, setitem_samples,
           covers=("index_put", "clone", "index", "getitem")),
    OpInfo("setitem_on_view", _setitem_on_view, _setitem_on_view_ref, setitem_view_samples,
           covers=("index_put", "view_scatter", "view_of")),
    OpInfo("mul_through_view", _mul_through_view, _mul_through_view_ref, view_samples,
           covers=("view_scatter", "view_of", "mul", "getitem", "permute", "reshape")),
    OpInfo("mul_view_out", _mul_view_out, _mul_view_out_ref, view_samples,
           covers=("view_of", "view_scatter", "mul")),
]


def _iadd(z, y):
    z += y
    return z


# The op families added after the foundation keep their rows in tests/opinfo_<family>.py
# (each a list ROWS, built with this module's helpers, and a list PARITY of expressions for
# tests/test_torch_parity.py). NOTE: imported last, so those modules can import from this one.
ROW_MODULES = ("opinfo_elementary", "opinfo_special", "opinfo_rounding", "opinfo_binary_math",
               "opinfo_statistics", "opinfo_scan", "opinfo_sort", "opinfo_rearrange",
               "opinfo_diagonal", "opinfo_scatter", "opinfo_linalg_products",
               "opinfo_linalg_contract", "opinfo_linalg", "opinfo_linalg_norms",
               "opinfo_nn_activations", "opinfo_nn_losses", "opinfo_nn_conv",
               "opinfo_nn_pooling", "opinfo_nn_normalization", "opinfo_nn_attention",
               "opinfo_nn_vision", "opinfo_nn_recurrent")
PARITY = []
NN_PARITY = []      # nn parity cases (tests/nn_parity.py's Case), for test_torch_parity_nn.py
for _module in ROW_MODULES:
    _module = importlib.import_module(_module)
    OP_DB.extend(_module.ROWS)
    PARITY.extend(getattr(_module, "PARITY", ()))
    NN_PARITY.extend(getattr(_module, "NN_PARITY", ()))

OP_BY_NAME = {op.name: op for op in OP_DB}
assert len(OP_BY_NAME) == len(OP_DB), "two OP_DB rows share a name"
