"""Generic tests driven by the op database (tests/opinfo.py): every row is checked for its
forward against NumPy, its VJP against finite differences (and the VJP's own VJP), the shapes
and dtypes of its gradients, recording nothing under no_grad, leaving its inputs alone, and
the agreement of its JVP and VJP rules (the dot test)."""
import functools

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.autograd.gradcheck import gradcheck, gradgradcheck
from tapegrad.ops._broadcast import sum_to_shape
from tapegrad.ops.registry import REGISTRY

from opinfo import F32, F64, FLOATS, OP_DB


class MissingJVP(AssertionError):
    """The op at the output has no forward-mode rule (OpDef.jvp is None)."""


# Rows whose output comes from a primitive with jvp=None: the dot test can't run there.
# Each is a strict xfail, so adding the rule turns it into a failure until it is removed here.
NO_JVP = {   # rows whose recorded op has no jvp rule yet (none today)
}


# ---- helpers ------------------------------------------------------------------------------
def tensors(sample, requires_grad=True):
    """The sample's args with arrays made tensors (floating ones requiring grad)."""
    return tuple(tg.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f")
                 if isinstance(a, np.ndarray) else a for a in sample.args)


def leaves_of(args):
    return [a for a in args if isinstance(a, tg.Tensor) and a.requires_grad]


def as_tuple(out):
    return tuple(out) if isinstance(out, tuple) else (out,)


def float_outputs(out):
    return [o for o in as_tuple(out) if isinstance(o, tg.Tensor) and o.is_floating_point()]


def array(t):
    return t.detach().numpy()


def random_like(rng, t, requires_grad=False):
    a = np.asarray(rng.standard_normal(tuple(t.shape))).astype(array(t).dtype)
    return tg.tensor(a, requires_grad=requires_grad)


def tolerances(dtype):
    dtype = np.dtype(dtype)
    if dtype == F64:
        return {"rtol": 1e-10, "atol": 1e-12}
    if dtype.kind == "f":
        return {"rtol": 1e-5, "atol": 1e-6}
    return {"rtol": 0, "atol": 0}


def for_each_sample(samples, check):
    """Run ``check`` on each sample; a failure names the sample it happened on."""
    samples = list(samples)
    assert samples, "this row has no samples"
    for s in samples:
        try:
            check(s)
        except BaseException as e:
            e.add_note(f"on {s!r}")
            raise


def walk_ops(tensors_):
    """Names of the ops recorded in the graphs behind ``tensors_`` (iterative walk)."""
    seen_nodes, names = set(), set()
    stack = [t.grad_fn for t in tensors_ if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node is None or node in seen_nodes:
            continue
        seen_nodes.add(node)
        if node.op is not None:
            names.add(node.op.name)
        stack.extend(p for p in node.parents if p is not None)
    return names


DIFFERENTIABLE = [op for op in OP_DB if op.differentiable]
OP_DTYPES = [pytest.param(op, np.dtype(d), id=f"{op.name}-{np.dtype(d).name}")
             for op in OP_DB for d in op.dtypes]
OP_FLOATS = [pytest.param(op, d, id=f"{op.name}-{d.name}")
             for op in DIFFERENTIABLE for d in FLOATS]
by_name = functools.partial(pytest.mark.parametrize, "op", ids=str)


# ---- the database itself ----------------------------------------------------------------------
def test_every_registered_op_has_a_row():
    covered = set().union(*(op.covers for op in OP_DB))
    missing = sorted(set(REGISTRY) - covered)
    assert not missing, (f"registered ops with no OP_DB row: {missing}. Add a row to "
                         "tests/opinfo.py (or name the op in the covers= of a row that uses it).")


def _public_functions():
    """(where, name) for each public function the op families list: each module's __all__
    (exported as tapegrad.<name>) and tapegrad.linalg's names."""
    from tapegrad.ops.methods import FAMILIES
    names = {(f"tapegrad.{n}", n) for family in FAMILIES for n in family.__all__}
    names |= {(f"tapegrad.linalg.{n}", f"linalg.{n}") for n in tg.linalg.__all__
              if not isinstance(getattr(tg.linalg, n), type)}    # LinAlgError is a class
    names |= {(f"tapegrad.nn.functional.{n}", f"F.{n}") for n in tg.nn.functional.__all__}
    return names


def test_every_public_function_has_a_row():
    """A row names the public functions it tests in api= (default: its name); functions of
    tapegrad.linalg are named 'linalg.<name>', those of tapegrad.nn.functional 'F.<name>'."""
    tested = set().union(*(op.api for op in OP_DB))
    missing = sorted(where for where, name in _public_functions() if name not in tested)
    assert not missing, (f"public functions with no OP_DB row: {missing}. Add a row to the "
                         "family's tests/opinfo_<family>.py (or name it in a row's api=).")


def test_public_functions_exist():
    from tapegrad.ops.methods import FAMILIES
    for family in FAMILIES:
        for name in family.__all__:
            assert callable(getattr(tg, name)), f"tapegrad.{name} ({family.__name__})"


def test_rows_cover_only_registered_ops():
    unknown = {op.name: sorted(set(op.covers) - set(REGISTRY)) for op in OP_DB
               if set(op.covers) - set(REGISTRY)}
    assert not unknown, f"covers= names that are not registry ops: {unknown}"


def test_rows_check_both_float_dtypes():
    lacking = [op.name for op in OP_DB if not set(FLOATS) <= set(op.dtypes)]
    assert not lacking, f"rows that don't check float32 and float64: {lacking}"


@by_name(DIFFERENTIABLE)
def test_row_exercises_what_it_covers(op):
    """covers= is true: each op named is recorded in the forward graph or in the graph of
    the gradient (the double-backward graph, where index_add and view_scatter appear)."""
    seen = set()
    rng = np.random.default_rng(0)

    def check(s):
        args = tensors(s)
        outs = [o for o in float_outputs(op.fn(*args, **s.kwargs)) if o.requires_grad]
        seen.update(walk_ops(outs))
        if op.supports_gradgrad and outs:
            cots = [random_like(rng, o, requires_grad=True) for o in outs]
            grads = tg.autograd.grad(outs, leaves_of(args), cots, create_graph=True,
                                     allow_unused=True)
            seen.update(walk_ops([g for g in grads if g is not None]))
    for_each_sample(op.sample_inputs(F64), check)
    assert set(op.covers) <= seen, (f"row {op.name!r} claims to cover "
                                    f"{sorted(set(op.covers) - seen)}, which it never records")


# ---- forward ------------------------------------------------------------------------------------
@pytest.mark.parametrize("op, dtype", OP_DTYPES)
def test_forward_matches_reference(op, dtype):
    def check(s):
        out = as_tuple(op.fn(*tensors(s), **s.kwargs))
        ref = op.ref(*s.args, **s.kwargs)
        refs = ref if isinstance(ref, tuple) else (ref,)
        assert len(out) == len(refs)
        for k, (o, r) in enumerate(zip(out, refs)):
            r = np.asarray(r)
            assert isinstance(o, tg.Tensor), f"output {k} is a {type(o).__name__}"
            assert tuple(o.shape) == r.shape, f"output {k}: shape {tuple(o.shape)} vs {r.shape}"
            want = op.expected_dtype(dtype, s) if k == 0 else r.dtype
            assert array(o).dtype == want, f"output {k}: dtype {array(o).dtype}, want {want}"
            np.testing.assert_allclose(array(o), r, **tolerances(want))
    for_each_sample(op.sample_inputs(dtype), check)


@by_name(OP_DB)
def test_no_grad_records_nothing(op):
    def check(s):
        args = tensors(s)
        recorded = [array(o).copy() for o in as_tuple(op.fn(*args, **s.kwargs))
                    if isinstance(o, tg.Tensor)]
        with tg.no_grad():
            outs = [o for o in as_tuple(op.fn(*args, **s.kwargs)) if isinstance(o, tg.Tensor)]
        for o, r in zip(outs, recorded):
            assert not o.requires_grad and o.grad_fn is None and o.is_leaf
            np.testing.assert_array_equal(array(o), r)
        assert all(a.grad is None for a in leaves_of(args))
    for_each_sample(op.sample_inputs(F32), check)


@by_name(OP_DB)
def test_inputs_are_not_mutated(op):
    rng = np.random.default_rng(0)

    def check(s):
        originals = [a.copy() if isinstance(a, np.ndarray) else None for a in s.args]
        args = tensors(s)
        before = [(array(a).copy(), a._version) if isinstance(a, tg.Tensor) else None
                  for a in args]
        out = op.fn(*args, **s.kwargs)
        op.ref(*s.args, **s.kwargs)
        outs = [o for o in float_outputs(out) if o.requires_grad]
        if outs:
            tg.autograd.backward(outs, [random_like(rng, o) for o in outs])
        for i, (a, b) in enumerate(zip(args, before)):
            if b is not None:
                np.testing.assert_array_equal(array(a), b[0], err_msg=f"fn changed input {i}")
                assert a._version == b[1], f"fn bumped the version of input {i}"
        for i, (a, o) in enumerate(zip(s.args, originals)):
            if o is not None:
                np.testing.assert_array_equal(a, o, err_msg=f"ref changed input {i}")
    for_each_sample(op.sample_inputs(F64), check)


# ---- first and second derivatives ---------------------------------------------------------------
@by_name(DIFFERENTIABLE)
def test_gradcheck(op):
    def check(s):
        args = tensors(s)
        assert leaves_of(args), "sample has no input that requires grad"
        fn = functools.partial(op.fn, **s.kwargs)
        outs = float_outputs(fn(*args))
        assert outs and all(o.requires_grad for o in outs), "output does not require grad"
        assert gradcheck(fn, args, **op.gradcheck_kwargs)
    for_each_sample(op.sample_inputs(F64), check)


@by_name([op for op in DIFFERENTIABLE if op.supports_gradgrad])
def test_gradgradcheck(op):
    def check(s):
        args = tensors(s)
        assert gradgradcheck(functools.partial(op.fn, **s.kwargs), args, **op.gradcheck_kwargs)
    for_each_sample(op.sample_inputs(F64), check)


@pytest.mark.parametrize("op, dtype", OP_FLOATS)
def test_grad_shapes_and_dtypes(op, dtype):
    """Each input's .grad has its shape and dtype, broadcasting undone (float32 stays float32,
    also next to a float64 operand)."""
    rng = np.random.default_rng(0)

    def check(s):
        args = tensors(s)
        outs = [o for o in float_outputs(op.fn(*args, **s.kwargs)) if o.requires_grad]
        tg.autograd.backward(outs, [random_like(rng, o) for o in outs])
        for i, a in enumerate(args):
            if isinstance(a, tg.Tensor) and a.requires_grad:
                assert a.grad is not None, f"input {i} got no gradient"
                assert a.grad.shape == a.shape, f"input {i}: grad shape {tuple(a.grad.shape)}"
                assert a.grad.dtype == a.dtype, f"input {i}: grad dtype {a.grad.dtype}"
                assert not a.grad.requires_grad
    for_each_sample(op.sample_inputs(dtype), check)


# ---- forward-mode rules: the dot test <u, J v> = <J^T u, v> ----------------------------------
def _dot_params():
    out = []
    for op in DIFFERENTIABLE:
        marks = ()
        if op.name in NO_JVP:
            marks = pytest.mark.xfail(raises=MissingJVP, strict=True, reason=NO_JVP[op.name])
        out.append(pytest.param(op, marks=marks, id=op.name))
    return out


def test_no_jvp_list_names_rows():
    names = {op.name for op in OP_DB}
    assert set(NO_JVP) <= names, sorted(set(NO_JVP) - names)


@pytest.mark.parametrize("op", _dot_params())
def test_jvp_agrees_with_vjp(op):
    """For the node that made each output: <u, jvp(ctx, v)> equals <vjp(ctx, u), v>, with
    the VJP's cotangents summed back to each input's shape (as the engine does)."""
    rng = np.random.default_rng(1)

    def check(s):
        args = tensors(s)
        for o in float_outputs(op.fn(*args, **s.kwargs)):
            node = o.grad_fn
            assert node is not None
            if node.op.jvp is None:
                raise MissingJVP(f"'{node.op.name}' has no jvp rule")
            ctx = node.ctx
            # One tangent per input of the op; inputs that take no gradient (Python scalars,
            # tensors not requiring grad) get a zero tangent.
            tangents = [0.0 if p is None else
                        np.asarray(rng.standard_normal(p.shape)).astype(p.dtype)
                        for p in node.parents]
            u = np.asarray(rng.standard_normal(node.shape)).astype(node.dtype)
            jv = np.asarray(node.op.jvp(ctx, *tangents))
            assert jv.shape == tuple(node.shape), f"jvp gave shape {jv.shape}"
            cots = node.op.vjp(ctx, u)
            assert len(cots) == len(node.parents)
            lhs = np.sum(u.astype(F64) * jv)
            rhs = 0.0
            for i, (p, c, v) in enumerate(zip(node.parents, cots, tangents)):
                if p is None:
                    continue
                assert c is not None, f"vjp gave no cotangent for input {i}"
                c = sum_to_shape(np.asarray(c), tuple(p.shape))
                rhs += np.sum(c.astype(F64) * v)
            tol = 1e-9 if node.dtype == F64 else 1e-4
            scale = np.sqrt(u.size * sum(np.size(v) for v in tangents)) + 1
            assert abs(lhs - rhs) <= tol * scale, f"<u, Jv> = {lhs} but <J^T u, v> = {rhs}"
    for_each_sample(op.sample_inputs(F64), check)
