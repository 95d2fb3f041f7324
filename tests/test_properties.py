"""Hypothesis sweeps over shapes: gradients of broadcasting binary ops, reductions over random
dims, matmul in all of NumPy's shape cases, indexing, and reshape/permute roundtrips, each
checked against a formula written out in NumPy.

The expected gradients use ``unbroadcast`` below, written independently of tapegrad's own
``sum_to_shape`` so that the two check each other.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tapegrad as tg

FLOAT_DTYPES = st.sampled_from([np.float32, np.float64])


def unbroadcast(g, shape):
    """Sum ``g`` (broadcast from ``shape``) back down to ``shape``."""
    g = np.asarray(g)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def elements(dtype, lo=-5.0, hi=5.0):
    width = 32 if np.dtype(dtype) == np.float32 else 64
    return st.floats(lo, hi, width=width)


def away_from_zero(dtype):
    return st.one_of(elements(dtype, -4.0, -0.5), elements(dtype, 0.5, 4.0))


def tols(dtype):
    return {"rtol": 1e-5, "atol": 1e-5} if np.dtype(dtype) == np.float32 else \
        {"rtol": 1e-10, "atol": 1e-12}


def leaf(a):
    return tg.tensor(a, requires_grad=True)


def grads_of(out, inputs, g):
    """d <out, g> / d inputs, checked to keep each input's shape and dtype."""
    out.backward(tg.tensor(np.asarray(g, dtype=out.detach().numpy().dtype)))
    for t in inputs:
        assert t.grad.shape == t.shape and t.grad.dtype == t.dtype
    return [t.grad.numpy() for t in inputs]


# ---- broadcasting binary ops ---------------------------------------------------------------------
def _expected_binary(name, a, b, g):
    """(d/da, d/db) of <op(a, b), g> over the broadcast shape, before unbroadcasting."""
    a, b = np.broadcast_arrays(a, b)
    if name == "add":
        return g, g
    if name == "sub":
        return g, -g
    if name == "mul":
        return g * b, g * a
    if name == "div":
        return g / b, -g * a / (b * b)
    if name == "maximum":       # ties split the gradient evenly, as in PyTorch
        return g * ((a > b) + 0.5 * (a == b)), g * ((b > a) + 0.5 * (a == b))
    if name == "minimum":
        return g * ((a < b) + 0.5 * (a == b)), g * ((b < a) + 0.5 * (a == b))
    raise AssertionError(name)


BINARY = {"add": (tg.add, np.add), "sub": (tg.sub, np.subtract), "mul": (tg.mul, np.multiply),
          "div": (tg.div, np.divide), "maximum": (tg.maximum, np.maximum),
          "minimum": (tg.minimum, np.minimum)}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4),
       dtype=FLOAT_DTYPES, data=st.data())
def test_binary_grad_is_broadcast_formula_summed_back(name, shapes, dtype, data):
    fn, np_fn = BINARY[name]
    sa, sb = shapes.input_shapes
    if name in ("maximum", "minimum"):       # few distinct values, so ties are common
        lhs = rhs = st.sampled_from([-1.0, 0.0, 0.5, 2.0])
    else:
        lhs, rhs = elements(dtype), (away_from_zero(dtype) if name == "div" else elements(dtype))
    a = data.draw(hnp.arrays(dtype, sa, elements=lhs), label="a")
    b = data.draw(hnp.arrays(dtype, sb, elements=rhs), label="b")
    g = data.draw(hnp.arrays(dtype, shapes.result_shape, elements=elements(dtype)), label="g")
    x, y = leaf(a), leaf(b)
    out = fn(x, y)
    assert tuple(out.shape) == shapes.result_shape
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out.detach().numpy(), np_fn(a, b), **tols(dtype))
    gx, gy = grads_of(out, [x, y], g)
    ex, ey = _expected_binary(name, a, b, g)
    np.testing.assert_allclose(gx, unbroadcast(ex, sa), **tols(dtype))
    np.testing.assert_allclose(gy, unbroadcast(ey, sb), **tols(dtype))


@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), data=st.data())
def test_python_scalar_on_either_side_keeps_float32(shape, data):
    a = data.draw(hnp.arrays(np.float32, shape, elements=away_from_zero(np.float32)))
    s = data.draw(st.floats(0.5, 3.0))
    x = leaf(a)
    for out, expected, dx in [(x * s, a * s, np.full(shape, s)),
                              (s - x, s - a, -np.ones(shape)),
                              (s / x, s / a, -s / (a.astype(np.float64) ** 2)),
                              (x ** 2, a * a, 2.0 * a)]:
        x.grad = None
        assert out.dtype == tg.float32
        np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5)
        (gx,) = grads_of(out, [x], np.ones(shape))
        np.testing.assert_allclose(gx, dx, rtol=1e-5, atol=1e-6)


# ---- reductions ---------------------------------------------------------------------------------
@st.composite
def shape_and_dims(draw, min_side=1):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=min_side, max_side=4))
    ndim = len(shape)
    if draw(st.booleans()):
        dims = None
    elif ndim and draw(st.booleans()):
        dims = draw(st.integers(-ndim, ndim - 1))
    else:
        dims = draw(hnp.valid_tuple_axes(ndim, min_size=1)) if ndim else None
    return shape, dims, draw(st.booleans())


def _axes(dims, ndim):
    if dims is None:
        return tuple(range(ndim))
    dims = (dims,) if isinstance(dims, int) else dims
    return tuple(sorted(d % ndim for d in dims))


def _kwargs(dims, keepdim):
    return {} if dims is None else {"dim": dims, "keepdim": keepdim}


def _g_back(g, shape, axes, keepdim):
    """The cotangent of a reduction put back in keepdim shape, ready to broadcast."""
    g = np.asarray(g)
    if not keepdim:
        g = np.expand_dims(g, axes) if axes else g
    return np.broadcast_to(g, shape)


@pytest.mark.parametrize("name", ["sum", "mean"])
@given(case=shape_and_dims(), dtype=FLOAT_DTYPES, data=st.data())
def test_sum_and_mean_over_random_dims(name, case, dtype, data):
    shape, dims, keepdim = case
    keepdim = keepdim and dims is not None
    a = data.draw(hnp.arrays(dtype, shape, elements=elements(dtype)))
    axes = _axes(dims, len(shape))
    x = leaf(a)
    out = getattr(tg, name)(x, **_kwargs(dims, keepdim))
    expected = getattr(np, name)(a, axis=axes, keepdims=keepdim)
    assert tuple(out.shape) == expected.shape and out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out.detach().numpy(), expected, **tols(dtype))
    g = data.draw(hnp.arrays(dtype, expected.shape, elements=elements(dtype)))
    (gx,) = grads_of(out, [x], g)
    n = int(np.prod([shape[i] for i in axes]))
    scale = 1.0 if name == "sum" else 1.0 / n
    np.testing.assert_allclose(gx, _g_back(g, shape, axes, keepdim) * scale, **tols(dtype))


@pytest.mark.parametrize("name", ["amax", "amin"])
@given(case=shape_and_dims(), data=st.data())
def test_amax_amin_share_the_gradient_among_ties(name, case, data):
    shape, dims, keepdim = case
    keepdim = keepdim and dims is not None
    a = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 0.0, 3.0])))
    axes = _axes(dims, len(shape))
    x = leaf(a)
    out = getattr(tg, name)(x, **_kwargs(dims, keepdim))
    expected = getattr(np, name)(a, axis=axes, keepdims=keepdim)
    np.testing.assert_array_equal(out.detach().numpy(), expected)
    g = data.draw(hnp.arrays(np.float64, expected.shape, elements=elements(np.float64)))
    (gx,) = grads_of(out, [x], g)
    mask = a == _g_back(expected, shape, axes, keepdim)
    count = _g_back(mask.sum(axis=axes, keepdims=keepdim), shape, axes, keepdim)
    np.testing.assert_allclose(gx, _g_back(g, shape, axes, keepdim) * mask / count)


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), data=st.data())
def test_max_with_dim_sends_the_gradient_to_the_returned_index(shape, data):
    ndim = len(shape)
    dim = data.draw(st.integers(-ndim, ndim - 1))
    keepdim = data.draw(st.booleans())
    a = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 0.0, 3.0])))
    x = leaf(a)
    values, indices = tg.max(x, dim, keepdim)
    np.testing.assert_array_equal(values.detach().numpy(), np.max(a, axis=dim, keepdims=keepdim))
    idx = indices.numpy() if keepdim else np.expand_dims(indices.numpy(), dim)
    np.testing.assert_array_equal(np.take_along_axis(a, idx, axis=dim),
                                  np.max(a, axis=dim, keepdims=True))
    g = data.draw(hnp.arrays(np.float64, tuple(values.shape), elements=elements(np.float64)))
    (gx,) = grads_of(values, [x], g)
    expected = np.zeros(shape)
    np.put_along_axis(expected, idx, g if keepdim else np.expand_dims(g, dim), axis=dim)
    np.testing.assert_allclose(gx, expected)


@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), data=st.data())
def test_prod_grad_is_product_of_the_others(shape, data):
    ndim = len(shape)
    dim = data.draw(st.none() | st.integers(-max(ndim, 1), max(ndim, 1) - 1))
    keepdim = data.draw(st.booleans()) and dim is not None
    # a few zeros on purpose: the gradient there is the product of the other elements
    a = data.draw(hnp.arrays(np.float64, shape,
                             elements=st.sampled_from([0.0, 0.5, -1.5, 2.0, 1.25])))
    x = leaf(a)
    out = tg.prod(x, **_kwargs(dim, keepdim))
    axes = () if ndim == 0 else _axes(dim, ndim)
    expected = np.prod(a, axis=axes, keepdims=keepdim)
    np.testing.assert_allclose(out.detach().numpy(), expected)
    g = data.draw(hnp.arrays(np.float64, expected.shape, elements=elements(np.float64)))
    (gx,) = grads_of(out, [x], g)
    others = np.empty(shape)
    for i in np.ndindex(*shape):          # the product of the group without element i
        b = a.copy()
        b[i] = 1.0
        others[i] = np.prod(b, axis=axes, keepdims=True)[
            tuple(0 if k in axes else i[k] for k in range(ndim))]
    np.testing.assert_allclose(gx, _g_back(g, shape, axes, keepdim) * others, atol=1e-12)


# ---- matmul -------------------------------------------------------------------------------------
@given(shapes=hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=3,
                                                max_side=4),
       dtype=FLOAT_DTYPES, data=st.data())
def test_matmul_grads_match_explicit_formulas(shapes, dtype, data):
    """Every case of NumPy's @ (1-d either side, batched, broadcast batch dims):
    dA = G B^T and dB = A^T G on the 2-d promoted operands, summed over broadcast batch dims."""
    sa, sb = shapes.input_shapes
    a = data.draw(hnp.arrays(dtype, sa, elements=elements(dtype)), label="a")
    b = data.draw(hnp.arrays(dtype, sb, elements=elements(dtype)), label="b")
    x, y = leaf(a), leaf(b)
    out = x @ y
    expected = np.matmul(a, b)
    assert tuple(out.shape) == expected.shape and out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-4, atol=1e-4)
    g = data.draw(hnp.arrays(dtype, expected.shape, elements=elements(dtype)), label="g")
    gx, gy = grads_of(out, [x, y], g)
    A = a[None, :] if a.ndim == 1 else a          # (n, k), or (1, k) for a vector
    B = b[:, None] if b.ndim == 1 else b          # (k, m), or (k, 1) for a vector
    G = g.astype(np.float64)
    if b.ndim == 1:
        G = G[..., None]
    if a.ndim == 1:
        G = G[..., None, :]
    ga = unbroadcast(G @ np.swapaxes(B, -1, -2), A.shape).reshape(sa)
    gb = unbroadcast(np.swapaxes(A, -1, -2) @ G, B.shape).reshape(sb)
    np.testing.assert_allclose(gx, ga, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gy, gb, rtol=1e-4, atol=1e-4)


# ---- indexing -----------------------------------------------------------------------------------
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), data=st.data())
def test_basic_indexing_grad_scatters_into_zeros(shape, data):
    key = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    a = data.draw(hnp.arrays(np.float64, shape, elements=elements(np.float64)))
    x = leaf(a)
    out = x[key]
    expected = a[key]
    np.testing.assert_array_equal(out.detach().numpy(), expected)
    g = data.draw(hnp.arrays(np.float64, np.shape(expected), elements=elements(np.float64)))
    (gx,) = grads_of(out, [x], g)
    want = np.zeros(shape)
    want[key] = g                      # basic indices never repeat an element
    np.testing.assert_array_equal(gx, want)


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), data=st.data())
def test_integer_array_indexing_grad_accumulates_repeats(shape, data):
    key = data.draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(
        min_dims=1, max_dims=2, max_side=5)))
    a = data.draw(hnp.arrays(np.float64, shape, elements=elements(np.float64)))
    x = leaf(a)
    out = x[tuple(tg.tensor(k) for k in key)]
    expected = a[key]
    np.testing.assert_array_equal(out.detach().numpy(), expected)
    g = data.draw(hnp.arrays(np.float64, expected.shape, elements=elements(np.float64)))
    (gx,) = grads_of(out, [x], g)
    want = np.zeros(shape)
    np.add.at(want, key, g)
    np.testing.assert_allclose(gx, want)


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), data=st.data())
def test_boolean_mask_indexing_grad(shape, data):
    mask = data.draw(hnp.arrays(np.bool_, shape))
    a = data.draw(hnp.arrays(np.float64, shape, elements=elements(np.float64)))
    x = leaf(a)
    out = x[tg.tensor(mask)]
    np.testing.assert_array_equal(out.detach().numpy(), a[mask])
    g = data.draw(hnp.arrays(np.float64, (int(mask.sum()),), elements=elements(np.float64)))
    (gx,) = grads_of(out, [x], g)
    want = np.zeros(shape)
    want[mask] = g
    np.testing.assert_array_equal(gx, want)


# ---- shape roundtrips ---------------------------------------------------------------------------
@given(shape=hnp.array_shapes(min_dims=0, max_dims=4, max_side=4), data=st.data())
def test_permute_roundtrip_and_grad(shape, data):
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    a = data.draw(hnp.arrays(np.float64, shape, elements=elements(np.float64)))
    x = leaf(a)
    out = x.permute(perm)
    np.testing.assert_array_equal(out.detach().numpy(), np.transpose(a, perm))
    inverse = tuple(int(i) for i in np.argsort(perm))
    np.testing.assert_array_equal(out.permute(inverse).detach().numpy(), a)
    g = data.draw(hnp.arrays(np.float64, tuple(out.shape), elements=elements(np.float64)))
    (gx,) = grads_of(out, [x], g)
    np.testing.assert_array_equal(gx, np.transpose(g, inverse))


@given(shape=hnp.array_shapes(min_dims=0, max_dims=4, max_side=4), data=st.data())
def test_reshape_roundtrip_and_grad(shape, data):
    # a target with the same size: the dims shuffled, split into ones, maybe one inferred (-1)
    target = list(data.draw(st.permutations(shape)))
    target += [1] * data.draw(st.integers(0, 2))
    target = data.draw(st.permutations(target))
    if target and data.draw(st.booleans()):
        target[data.draw(st.integers(0, len(target) - 1))] = -1
    a = data.draw(hnp.arrays(np.float64, shape, elements=elements(np.float64)))
    x = leaf(a)
    out = x.reshape(tuple(target))
    expected = a.reshape(tuple(target))
    np.testing.assert_array_equal(out.detach().numpy(), expected)
    np.testing.assert_array_equal(out.reshape(shape).detach().numpy(), a)
    g = data.draw(hnp.arrays(np.float64, expected.shape, elements=elements(np.float64)))
    (gx,) = grads_of(out, [x], g)
    np.testing.assert_array_equal(gx, g.reshape(shape))


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4),
       data=st.data())
def test_expand_grad_sums_back(shapes, data):
    sa, _ = shapes.input_shapes
    target = shapes.result_shape
    a = data.draw(hnp.arrays(np.float64, sa, elements=elements(np.float64)))
    x = leaf(a)
    out = x.expand(*target)
    np.testing.assert_array_equal(out.detach().numpy(), np.broadcast_to(a, target))
    g = data.draw(hnp.arrays(np.float64, target, elements=elements(np.float64)))
    (gx,) = grads_of(out, [x], g)
    np.testing.assert_allclose(gx, unbroadcast(g, sa))
