"""Op database rows for tapegrad.ops.rearrange (see tests/opinfo.py for what a row is)."""
import itertools

import numpy as np

import tapegrad as tg
from opinfo import F32, F64, I64, OpInfo, Sample, shaped, uniform

INTS = (F32, F64, I64)
as_strided_np = np.lib.stride_tricks.as_strided


def _split_ref(x, split_size_or_sections, dim=0):
    n = x.shape[dim]
    s = split_size_or_sections
    sizes = s if isinstance(s, list) else [s] * (n // s) + ([n % s] if n % s or n == 0 else [])
    return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=dim))


def _chunk_ref(x, chunks, dim=0):
    n = x.shape[dim]
    if n == 0:                 # PyTorch: `chunks` empty pieces
        return (x,) * chunks
    size = -(-n // chunks)
    return _split_ref(x, size, dim)


def _unfold_ref(x, dimension, size, step):
    if x.ndim == 0:            # a 0-d tensor is one element: one window of `size` (0 or 1)
        return x.reshape(1)[:size]
    w = np.lib.stride_tricks.sliding_window_view(x, size, axis=dimension)
    return w[(slice(None),) * (dimension % x.ndim) + (slice(None, None, step),)]


def _as_strided_ref(x, size, stride, storage_offset=0):
    flat = np.ascontiguousarray(x).reshape(-1)[storage_offset:]
    return as_strided_np(flat, size, [s * x.itemsize for s in stride]).copy()


def _repeat_interleave_t(x, repeats, dim):
    return tg.repeat_interleave(x, repeats, dim=dim)


def _movedim_ref(x, source, destination):
    return x if x.ndim == 0 else np.moveaxis(x, source, destination)


def _combinations_ref(x, r=2, with_replacement=False):
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    return x[np.array(list(pick(range(x.shape[0]), r)), dtype=np.int64).reshape(-1, r)]


def _narrow_ref(x, dim, start, length):
    start += x.shape[dim] if start < 0 else 0     # only a negative start wraps
    return x[(slice(None),) * (dim % x.ndim) + (slice(start, start + length),)]


def _without_legacy_empty(xs):
    """PyTorch's cat leaves out 1-d empty tensors (shape (0,)) unless all are."""
    kept = [x for x in xs if x.shape != (0,)]
    return kept or list(xs)


def _cat_ref(*xs, dim):
    return np.concatenate(_without_legacy_empty(xs), axis=dim)


def _hstack_ref(*xs):
    xs = [np.atleast_1d(x) for x in xs]
    return np.concatenate(_without_legacy_empty(xs), axis=0 if xs[0].ndim == 1 else 1)


def _broadcast_shapes(shapes):
    return tg.tensor(list(tg.broadcast_shapes(*shapes)), dtype=tg.int64)


def _broadcast_shapes_samples(op, dtype, rng):
    cases = [[(3, 1), (4,)], [(2, 1, 3), [4, 1], ()], [3, (2, 1)], [], [(1, 0), (3, 1)],
             [tg.Size([2])]]
    return [Sample((), {"shapes": c}, desc=str(c)) for c in cases]


def _several(shapes_cases):
    """Samples of several tensor arguments: (list of shapes, kwargs)."""
    def gen(op, dtype, rng):
        return [Sample(tuple(uniform(rng, s, dtype, op.domain) for s in shapes), dict(kw),
                       desc=f"{shapes} {kw}") for shapes, kw in shapes_cases]
    return gen


def _repeat_counts_samples(op, dtype, rng):
    return [Sample((uniform(rng, s, dtype, op.domain), np.array(r, dtype=np.int64)),
                   {"dim": d}, desc=f"{s} repeats {r} dim={d}")
            for s, r, d in [((3, 2), [1, 0, 2], 0), ((2, 3), [2, 1, 1], 1),
                            ((4,), [3], 0), ((2, 2), 2, -1), ((3,), [0, 0, 0], 0),
                            ((0, 2), [], 0)]]


def _view_dtype_samples(op, dtype, rng):
    return [Sample((uniform(rng, s, dtype, op.domain),), {"dtype": np.dtype(to)},
                   desc=f"{s} as {to}", out_dtype=np.dtype(to))
            for s, to in [((3, 4), "int32"), ((2, 4), "float16"), ((5,), "uint8"), ((), "int64"),
                          ((0, 4), "int32"), ((2, 0), "float16")]
            if np.dtype(to).itemsize == dtype.itemsize or s != ()]


def _like_int(shape_pairs):
    """(x, y) samples where only y's shape matters: y is an integer tensor (no gradient)."""
    def gen(op, dtype, rng):
        return [Sample((uniform(rng, a, dtype, op.domain), np.zeros(b, dtype=np.int64)),
                       desc=f"{a} like {b}") for a, b in shape_pairs]
    return gen


def _meshgrid(*xs, indexing):
    return tg.meshgrid(*xs, indexing=indexing)


def _cartesian_ref(*xs):
    return np.stack([g.ravel() for g in np.meshgrid(*xs, indexing="ij")], 1)


def _list_fn(fn):
    return lambda *xs: fn(list(xs))


def _roll_ref(x, shifts, dims=None):
    return np.roll(x, shifts, dims)


ROWS = [
    # ---- views: composites of getitem / reshape / permute --------------------------------
    OpInfo("split", tg.split, _split_ref,
           shaped([((5, 3), {"split_size_or_sections": 2}),
                   ((2, 6), {"split_size_or_sections": [1, 0, 5], "dim": 1}),
                   ((2, 3, 4), {"split_size_or_sections": 4, "dim": -1}),
                   ((0, 3), {"split_size_or_sections": 2}),
                   ((2, 0), {"split_size_or_sections": 1}),
                   ((0, 2), {"split_size_or_sections": [0, 0]})]),
           dtypes=INTS, covers=("getitem", "view_scatter")),
    OpInfo("split_with_sizes", tg.split_with_sizes,
           lambda x, split_sizes, dim=0: _split_ref(x, list(split_sizes), dim),
           shaped([((5, 3), {"split_sizes": [2, 3]}),
                   ((2, 6), {"split_sizes": (1, 0, 5), "dim": 1}),
                   ((0, 2), {"split_sizes": [0]})]),
           dtypes=INTS, covers=("getitem",)),
    OpInfo("tensor_split", tg.tensor_split, lambda x, indices_or_sections, dim=0:
           tuple(np.array_split(x, indices_or_sections, axis=dim)),
           shaped([((7, 2), {"indices_or_sections": 3}),
                   ((2, 5), {"indices_or_sections": [1, 4], "dim": 1}),
                   ((6,), {"indices_or_sections": [4, 2, -1]}),
                   ((2, 3, 4), {"indices_or_sections": 2, "dim": 2}),
                   ((0, 3), {"indices_or_sections": [1, 2]})]),
           dtypes=INTS, covers=("getitem",)),
    OpInfo("chunk", tg.chunk, _chunk_ref,
           shaped([((6, 2), {"chunks": 4}), ((2, 5), {"chunks": 2, "dim": 1}),
                   ((3,), {"chunks": 5}), ((2, 0), {"chunks": 3, "dim": 1})]),
           dtypes=INTS, covers=("getitem",)),
    OpInfo("unbind", tg.unbind, lambda x, dim=0: tuple(np.moveaxis(x, dim, 0)),
           shaped([((3, 2), {}), ((2, 3, 2), {"dim": 1}), ((4,), {"dim": -1}), ((3, 0), {})]),
           dtypes=INTS, covers=("getitem",)),
    OpInfo("narrow", tg.narrow, _narrow_ref,
           shaped([((5, 3), {"dim": 0, "start": 1, "length": 3}),
                   ((5,), {"dim": 0, "start": 5, "length": 0}),
                   ((4, 2), {"dim": 0, "start": -4, "length": 4}),
                   ((2, 4), {"dim": -1, "start": -2, "length": 2}),
                   ((3, 4), {"dim": 1, "start": 2, "length": 0}),
                   ((0, 3), {"dim": 1, "start": 1, "length": 2})]),
           dtypes=INTS, covers=("getitem",)),
    OpInfo("movedim", tg.movedim, _movedim_ref,
           shaped([((2, 3, 4), {"source": 0, "destination": -1}),
                   ((2, 3, 4), {"source": (0, 2), "destination": (2, 0)}),
                   ((3, 4), {"source": 1, "destination": 0}),
                   ((), {"source": (), "destination": ()}),
                   ((), {"source": 0, "destination": -1}),
                   ((0, 3), {"source": 0, "destination": 1})]),
           dtypes=INTS, covers=("permute",), api=("movedim", "moveaxis")),
    OpInfo("unflatten", tg.unflatten, lambda x, dim, sizes:
           x.reshape(x.shape[:dim % x.ndim] + tuple(sizes) + x.shape[dim % x.ndim + 1:]),
           shaped([((3, 4), {"dim": 1, "sizes": (2, 2)}), ((6,), {"dim": 0, "sizes": (3, 2, 1)}),
                   ((2, 6, 1), {"dim": -2, "sizes": (3, 2)}),
                   ((0, 6), {"dim": 1, "sizes": (2, 3)}), ((2, 0), {"dim": 1, "sizes": (-1, 2)})]),
           dtypes=INTS, covers=("reshape",)),
    OpInfo("unfold", lambda x, **kw: x.unfold(**kw), _unfold_ref,
           shaped([((3, 5), {"dimension": 1, "size": 2, "step": 1}),
                   ((6, 2), {"dimension": 0, "size": 3, "step": 2}),
                   ((2, 3, 4), {"dimension": -1, "size": 4, "step": 3}),
                   ((4,), {"dimension": 0, "size": 0, "step": 1}),
                   ((), {"dimension": 0, "size": 1, "step": 1}),
                   ((), {"dimension": -1, "size": 0, "step": 2}),
                   ((0, 3), {"dimension": 1, "size": 2, "step": 1})]),
           dtypes=INTS, covers=("strided", "index_add"), api=("Tensor.unfold",)),
    OpInfo("as_strided", tg.as_strided, _as_strided_ref,
           shaped([((12,), {"size": (3, 3), "stride": (2, 1), "storage_offset": 1}),
                   ((3, 4), {"size": (2, 2), "stride": (1, 4)}),
                   ((3, 4), {"size": (4, 2), "stride": (0, 5)}),
                   ((2, 3), {"size": (0, 4), "stride": (1, 1), "storage_offset": 6}),
                   ((), {"size": (2,), "stride": (0,)}), ((), {"size": (), "stride": ()})]),
           dtypes=INTS, covers=("strided", "reshape", "index_add")),
    OpInfo("as_strided_of_transpose", lambda x: tg.as_strided(x.t(), (3, 2), (1, 3)),
           lambda x: _as_strided_ref(x.T, (3, 2), (1, 3)), shaped([((3, 4), {})]),
           covers=("strided", "reshape", "permute"), api=("Tensor.as_strided",)),
    # ---- copies: flip, roll, rot90, repeat, tile, repeat_interleave ------------------------
    OpInfo("flip", tg.flip, lambda x, dims: np.flip(x, dims),
           shaped([((3, 4), {"dims": 0}), ((2, 3, 4), {"dims": (0, 2)}), ((5,), {"dims": [-1]}),
                   ((), {"dims": ()}), ((0, 3), {"dims": 1})]), dtypes=INTS),
    OpInfo("flip_method", lambda x: x.flip(1, 0), lambda x: np.flip(x, (1, 0)),
           shaped([((3, 4), {}), ((2, 3, 2), {})]), covers=("flip",), api=("Tensor.flip",)),
    OpInfo("fliplr", tg.fliplr, np.fliplr, shaped([((3, 4), {}), ((2, 3, 2), {}), ((0, 3), {})]),
           dtypes=INTS, covers=("flip",)),
    OpInfo("flipud", tg.flipud, np.flipud, shaped([((3, 4), {}), ((5,), {}), ((0,), {})]),
           dtypes=INTS, covers=("flip",)),
    OpInfo("roll", tg.roll, _roll_ref,
           shaped([((3, 4), {"shifts": 1, "dims": 0}), ((3, 4), {"shifts": 5}),
                   ((2, 3, 4), {"shifts": (1, -2), "dims": (0, 2)}), ((), {"shifts": 2}),
                   ((4,), {"shifts": (1, 1), "dims": (0, -1)}),
                   ((0, 3), {"shifts": 1, "dims": 0}), ((0, 3), {"shifts": 2})]), dtypes=INTS),
    OpInfo("rot90", tg.rot90, lambda x, k=1, dims=(0, 1): np.rot90(x, k, dims),
           shaped([((3, 4), {}), ((3, 4), {"k": 2}), ((2, 3, 4), {"k": -1, "dims": (2, 0)}),
                   ((3, 4), {"k": 3, "dims": (1, 0)}), ((3, 4), {"k": 4}), ((0, 3), {}),
                   ((2, 0, 3), {"k": 2, "dims": (1, 2)})]),
           dtypes=INTS, covers=("flip", "permute", "clone")),
    OpInfo("repeat", lambda x, sizes: x.repeat(*sizes), lambda x, sizes: np.tile(x, sizes),
           shaped([((3, 1), {"sizes": (2, 3)}), ((2, 3), {"sizes": (2, 1, 2)}),
                   ((), {"sizes": (2,)}), ((2, 3), {"sizes": (1, 1)}), ((4,), {"sizes": (0,)}),
                   ((0, 2), {"sizes": (2, 3)})]),
           dtypes=INTS, covers=("reshape", "expand", "clone"), api=("Tensor.repeat",)),
    OpInfo("tile", tg.tile, lambda x, dims: np.tile(x, dims),
           shaped([((3, 2), {"dims": (2,)}), ((2,), {"dims": (2, 2)}), ((2, 3), {"dims": ()}),
                   ((), {"dims": (2,)}), ((), {"dims": ()}), ((0, 2), {"dims": (2,)})]),
           dtypes=INTS, covers=("reshape", "expand", "clone")),
    OpInfo("repeat_interleave", tg.repeat_interleave,
           lambda x, repeats, dim=None: np.repeat(x, repeats, axis=dim),
           shaped([((3, 2), {"repeats": 2, "dim": 0}), ((2, 3), {"repeats": 3}),
                   ((2, 3, 2), {"repeats": 1, "dim": -1}), ((), {"repeats": 3}),
                   ((0, 2), {"repeats": 2, "dim": 0}), ((0, 2), {"repeats": 2})]),
           dtypes=INTS, covers=("reshape", "expand", "clone")),
    OpInfo("repeat_interleave_tensor", _repeat_interleave_t,
           lambda x, r, dim: np.repeat(x, r, axis=dim), _repeat_counts_samples,
           dtypes=INTS, covers=("index", "index_add"), api=("repeat_interleave",)),
    # ---- combining several tensors (stacking.py) -------------------------------------------
    OpInfo("cat_legacy_empty", lambda *xs, dim: tg.cat(list(xs), dim), _cat_ref,
           _several([([(2, 3), (0,)], {"dim": 1}), ([(0,), (2, 3, 4), (0,)], {"dim": -1}),
                     ([(0,), (0,)], {"dim": 0}), ([(0,), (0, 2)], {"dim": 1})]),
           dtypes=INTS, covers=("cat",), api=("cat",)),
    OpInfo("broadcast_shapes", _broadcast_shapes,
           lambda shapes: np.array(np.broadcast_shapes(*shapes), dtype=np.int64),
           _broadcast_shapes_samples, differentiable=False, result_dtype=lambda d: I64),
    OpInfo("broadcast_tensors", tg.broadcast_tensors,
           lambda *xs: tuple(np.broadcast_arrays(*xs)),
           _several([([(3, 1), (4,)], {}), ([(2, 1, 3), (4, 1), ()], {}),
                     ([(0, 1), (3,)], {})]),
           dtypes=INTS, covers=("expand",)),
    OpInfo("atleast_1d", tg.atleast_1d, np.atleast_1d, shaped([((), {})]),
           dtypes=INTS, covers=("reshape",)),
    OpInfo("atleast_2d", lambda *xs: tg.atleast_2d(*xs), lambda *xs: np.atleast_2d(*xs),
           _several([([()], {}), ([(3,)], {}), ([(), (3,)], {}), ([(0,)], {})]),
           dtypes=INTS, covers=("reshape",)),
    OpInfo("atleast_3d", lambda *xs: tg.atleast_3d(list(xs)),
           lambda *xs: tuple(np.atleast_3d(x) for x in xs),
           _several([([(), (3,), (2, 3)], {}), ([(0,), (0, 2)], {})]), dtypes=INTS,
           covers=("reshape",)),
    OpInfo("hstack", _list_fn(tg.hstack), _hstack_ref,
           _several([([(), (3,)], {}), ([(2, 1), (2, 3)], {}), ([(2, 2, 1), (2, 1, 1)], {}),
                     ([(0,), (3,)], {}), ([(2, 3), (0,), (2, 1)], {}), ([(0,), (0, 3)], {})]),
           dtypes=INTS, covers=("cat", "reshape")),
    OpInfo("vstack", _list_fn(tg.vstack), lambda *xs: np.vstack(xs),
           _several([([(3,), (2, 3)], {}), ([(1, 2, 2), (2, 2, 2)], {}), ([()], {}),
                     ([(0, 3), (2, 3)], {}), ([(0,)], {})]),
           dtypes=INTS, covers=("cat", "reshape"), api=("vstack", "row_stack")),
    OpInfo("dstack", _list_fn(tg.dstack), lambda *xs: np.dstack(xs),
           _several([([(3,), (3,)], {}), ([(2, 3), (2, 3, 2)], {}), ([(), ()], {}),
                     ([(0,), (0,)], {})]),
           dtypes=INTS, covers=("cat", "reshape")),
    OpInfo("column_stack", _list_fn(tg.column_stack), lambda *xs: np.column_stack(xs),
           _several([([(3,), (3, 2), (3,)], {}), ([(), (1, 2)], {}), ([(0,), (0, 2)], {})]),
           dtypes=INTS, covers=("cat", "reshape")),
    OpInfo("meshgrid", _meshgrid, lambda *xs, indexing: tuple(np.meshgrid(*xs, indexing=indexing)),
           _several([([(2,), (3,)], {"indexing": "ij"}), ([(2,), (3,), (2,)], {"indexing": "xy"}),
                     ([(), (3,)], {"indexing": "xy"}), ([(3,)], {"indexing": "ij"}),
                     ([(0,), (3,)], {"indexing": "ij"})]),
           dtypes=INTS, covers=("expand", "reshape")),
    OpInfo("cartesian_prod", tg.cartesian_prod, _cartesian_ref,
           _several([([(2,), (3,)], {}), ([(2,), (1,), (2,)], {}), ([(0,), (2,)], {})]),
           dtypes=INTS, covers=("stack", "expand")),
    OpInfo("combinations", tg.combinations, _combinations_ref,
           shaped([((4,), {}), ((4,), {"r": 3}), ((3,), {"with_replacement": True}),
                   ((2,), {"r": 3}), ((3,), {"r": 1}), ((0,), {})]), dtypes=INTS,
           covers=("index",)),
    # ---- methods that already existed (methods.py) -----------------------------------------
    OpInfo("expand_as", lambda x, y: x.expand_as(y), lambda x, y: np.broadcast_to(x, y.shape),
           _like_int([((3, 1), (2, 3, 4)), ((), (2,)), ((1,), (0,)), ((), (0, 3))]),
           dtypes=INTS, covers=("expand",),
           api=("Tensor.expand_as",)),
    OpInfo("view_as", lambda x, y: x.view_as(y), lambda x, y: x.reshape(y.shape),
           _like_int([((3, 4), (2, 6)), ((6,), (1, 6, 1)), ((0, 3), (3, 0))]),
           dtypes=INTS, covers=("reshape",),
           api=("Tensor.view_as",)),
    OpInfo("reshape_as", lambda x, y: x.reshape_as(y), lambda x, y: x.reshape(y.shape),
           _like_int([((3, 4), (2, 6)), ((), (1,)), ((0, 3), (0,))]),
           dtypes=INTS, covers=("reshape",),
           api=("Tensor.reshape_as",)),
    OpInfo("view_dtype", lambda x, dtype: x.view(dtype), lambda x, dtype: x.view(dtype),
           _view_dtype_samples, differentiable=False, covers=("view_dtype",),
           api=("Tensor.view_dtype",)),
]

# Expressions for tests/test_torch_parity.py (lib is tapegrad or torch; x, y, z, m as there).
PARITY = [
    "lib.cat(x.split(2, 1), 0)", "lib.cat(x.split([1, 3], -1), 1)", "x.tensor_split(3, 1)[1]",
    "x.chunk(3, 1)[1]", "lib.stack(m.unbind(1), 0)", "m.narrow(2, -3, 2)",
    "lib.movedim(m, (0, 2), (2, 1))", "m.unflatten(2, (5, 1))", "lib.flip(m, (0, 2))",
    "lib.fliplr(x)", "lib.flipud(y)", "lib.roll(x, (1, -2), (0, 1))", "lib.roll(m, 7)",
    "lib.rot90(m, 1, (1, 2))", "lib.rot90(x, -1)", "x.repeat(2, 1, 3)", "lib.tile(y, (2, 2))",
    "x.repeat_interleave(2, 1)", "x.repeat_interleave(lib.tensor([2, 0, 1]), dim=0)",
    "m.unfold(2, 3, 1)", "lib.as_strided(x, (3, 3), (3, 1), 2)",
    "lib.broadcast_tensors(x, y)[1] * 2", "lib.atleast_3d(y)", "lib.hstack([x, z])",
    "lib.vstack([y, x])", "lib.dstack([x, z])", "lib.column_stack([x, y[:3]])",
    "lib.meshgrid(y, y[:2], indexing='xy')[0]", "lib.cartesian_prod(y, y[:2])",
    "lib.combinations(y, 3)", "m.movedim(1, 0).unfold(0, 2, 2)",
    # keyword names and the rules of issue-5 fixes (PyTorch's spellings)
    "m.narrow(2, 5, 0)", "x.narrow(dim=1, start=-4, length=4)", "x.flip(dims=[0])",
    "lib.flip(input=m, dims=(0, 2))", "lib.tensor_split(x, sections=2, dim=1)[0]",
    "x.tensor_split(indices=[1, 3], dim=1)[1]", "x.split_with_sizes([1, 3], 1)[1]",
    "lib.split_with_sizes(x, split_sizes=[2, 1])[0]", "x.repeat(repeats=(2, 1))",
    "x.tile(dims=(2,))", "lib.hstack([x, lib.zeros(0)])", "lib.cat([lib.zeros(0), m], -1)",
    "lib.concatenate([x, z], axis=1)", "x.reshape(shape=(2, 6))", "x.view(size=(12,))",
    "x.permute(dims=(1, 0))", "y.expand(size=(2, 4))", "y.broadcast_to(size=(3, 4))",
    "lib.squeeze(x.unsqueeze(1), dim=(1,))", "lib.chunk(input=x, chunks=2, dim=1)[1]",
    "lib.repeat_interleave(input=x, repeats=2, dim=0)", "lib.roll(input=x, shifts=1, dims=0)",
    "lib.swapaxes(x, axis0=0, axis1=1)", "lib.diagonal(input=m, offset=1, dim1=2, dim2=1)",
]
