"""Rearranging ops against PyTorch: keyword names, narrow's start, cat's 1-d empty tensors,
split_with_sizes, broadcast_shapes and the error cases of a differential test.

Each case is an expression run with ``lib`` bound to tapegrad and to torch: both must give
the same values and dtypes, or both raise, tapegrad's error being an instance of PyTorch's
class (tapegrad's ShapeError is a RuntimeError, IndexRangeError an IndexError) and naming
the op. The torch half skips when torch is absent; the golden tests at the end always run.
Deliberate differences, not listed: tapegrad takes a bare int for ``dims`` (flip, tile) and
``indices_or_sections=`` by name, ``squeeze(x, None)`` squeezes all, and a shape that is not
a sequence (``broadcast_shapes(2.0)``) is a TypeError where PyTorch raises RuntimeError.
"""
import re

import pytest

import tapegrad as tg


def _inputs(lib):
    return {"lib": lib, "x": lib.arange(12.0).reshape(3, 4), "y": lib.arange(3.0),
            "z": lib.arange(24.0).reshape(2, 3, 4), "e": lib.zeros(0)}


def _plain(out):
    """Tensors (or tuples of them, or a Size) as comparable Python values."""
    if isinstance(out, (tuple, list)):
        if all(isinstance(v, int) for v in out):
            return ("shape", tuple(out))
        return tuple(_plain(o) for o in out)
    return (tuple(out.shape), str(out.dtype).split(".")[-1], out.tolist())


def _run(lib, expr):
    try:
        return _plain(eval(expr, {}, _inputs(lib))), None
    except Exception as e:     # noqa: BLE001 -- the error is the result compared
        return None, e


KEYWORDS = [
    # rearrange.py
    "x.flip(dims=[0])", "x.flip(dims=(0, 1))", "lib.flip(input=x, dims=[1])",
    "lib.split(tensor=x, split_size_or_sections=2, dim=1)", "x.split(split_size=[1, 3], dim=1)",
    "x.split_with_sizes(split_sizes=[1, 2])", "x.split_with_sizes([1, 3], 1)",
    "lib.split_with_sizes(input=x, split_sizes=(2, 1), dim=0)",
    "lib.tensor_split(input=x, sections=2, dim=1)", "x.tensor_split(sections=2)",
    "lib.tensor_split(x, indices=[1, 3], dim=1)", "x.tensor_split(indices=(1,))",
    "lib.tensor_split(x, tensor_indices_or_sections=lib.tensor([1, 2]))",
    "lib.tensor_split(x, sections=lib.tensor(2))", "lib.chunk(input=x, chunks=2, dim=1)",
    "x.chunk(chunks=2, dim=1)", "lib.unbind(input=x, dim=1)", "x.unbind(dim=1)",
    "lib.narrow(input=x, dim=1, start=1, length=2)", "x.narrow(dim=1, start=-2, length=2)",
    "lib.movedim(input=z, source=(0, 1), destination=(2, 0))",
    "lib.moveaxis(input=z, source=0, destination=2)", "z.movedim(source=0, destination=1)",
    "lib.unflatten(input=x, dim=1, sizes=(2, 2))", "x.unflatten(dim=1, sizes=(2, 2))",
    "lib.fliplr(input=x)", "lib.flipud(input=x)", "lib.roll(input=x, shifts=1, dims=0)",
    "x.roll(shifts=(1, 2), dims=(0, 1))", "lib.rot90(input=x, k=3, dims=[1, 0])",
    "x.repeat(repeats=(2, 1, 2))", "x.repeat([2, 1])", "lib.tile(input=x, dims=(2,))",
    "x.tile(dims=(2, 1))", "lib.repeat_interleave(input=x, repeats=2, dim=1, output_size=8)",
    "lib.repeat_interleave(repeats=lib.tensor([1, 2]))",
    "lib.repeat_interleave(lib.tensor([1, 2]), output_size=3)",
    "x.unfold(dimension=1, size=2, step=2)",
    "lib.as_strided(input=x, size=(2, 2), stride=(1, 1), storage_offset=1)",
    "x.as_strided(size=(2, 2), stride=(1, 2))", "lib.hstack(tensors=[x, x])",
    "lib.vstack(tensors=[x, x])", "lib.dstack(tensors=[x, x])", "lib.row_stack(tensors=[y, y])",
    "lib.column_stack(tensors=[x, x])", "lib.meshgrid(y, y, indexing='xy')",
    "lib.combinations(input=y, r=2, with_replacement=True)",
    # diagonal.py
    "lib.tril(input=x, diagonal=1)", "x.triu(diagonal=-1)", "x.clone().tril_(diagonal=1)",
    "lib.tril_indices(row=3, col=4, offset=1, dtype=lib.int32)",
    "lib.triu_indices(row=3, col=4, offset=-1)",
    "lib.diagonal(input=z, offset=1, dim1=2, dim2=0)", "x.diagonal(offset=1, dim1=1, dim2=0)",
    "lib.diag(input=x, diagonal=1)", "y.diag(diagonal=-1)",
    "lib.diag_embed(input=x, offset=-1, dim1=0, dim2=2)", "lib.diagflat(input=x, offset=1)",
    "lib.trace(input=x)",
    # shape.py
    "lib.reshape(input=x, shape=(4, 3))", "x.reshape(shape=(4, -1))", "x.view(size=(2, 6))",
    "x.view(dtype=lib.int32)", "lib.flatten(input=z, start_dim=1, end_dim=2)",
    "z.flatten(start_dim=1)", "lib.squeeze(input=x[:, None], dim=1)",
    "x[None, :, None].squeeze(dim=(0, 2))", "lib.unsqueeze(input=x, dim=0)",
    "lib.permute(input=x, dims=(1, 0))", "x.permute(dims=[1, 0])",
    "lib.transpose(input=x, dim0=0, dim1=1)", "x.transpose(dim0=0, dim1=1)",
    "lib.swapaxes(input=x, axis0=0, axis1=1)", "lib.swapdims(input=x, dim0=0, dim1=1)",
    "x.swapdims(dim0=0, dim1=1)", "lib.t(input=x)", "x[:, None].expand(size=(3, 2, 4))",
    "lib.broadcast_to(input=y, size=(2, 3))", "y.broadcast_to(size=(2, 3))",
    "lib.cat(tensors=[x, x], dim=1)", "lib.concat(tensors=[x, x], dim=1)",
    "lib.concatenate([x, x], axis=1)", "lib.cat([x, x], axis=-1)",
    "lib.stack(tensors=[x, x], dim=2)", "lib.clone(input=x)",
]

NARROW = [f"lib.narrow(lib.arange(5.0), 0, {s}, {n})" for s, n in
          [(5, 1), (5, 0), (-5, 0), (-5, 5), (-6, 0), (6, 0), (0, 6), (-1, 1), (-1, 2), (4, 1),
           (3, -1), (0, 5)]] + [
    "lib.narrow(e, 0, 0, 0)", "lib.narrow(e, 0, -1, 0)", "lib.narrow(e, 0, 1, 0)",
    "lib.narrow(lib.arange(5.0), 0, lib.tensor(5), 0)",
    "lib.narrow(lib.arange(5.0), 0, lib.tensor(-1), 1)",
    "lib.narrow(lib.arange(5.0), 0, lib.tensor(5), 1)", "x.narrow(1, 4, 0)"]

LEGACY_EMPTY = [
    "lib.cat([x, e])", "lib.cat([e, x])", "lib.cat([x, e], 1)", "lib.cat([e, x, e], -1)",
    "lib.cat([e, e])", "lib.cat([e])", "lib.cat([e, e], 5)", "lib.cat([e, e], -7)",
    "lib.cat([e, lib.zeros(0, 0)], 1)", "lib.cat([z, e], 2)", "lib.cat([e, z], -3)",
    "lib.cat([x.int(), e])", "lib.cat([x.int(), e.double()])", "lib.cat([x.long(), e.long()])",
    "lib.cat([e, lib.zeros(0, 3)], 1)", "lib.hstack([x, e])", "lib.hstack([e, x])",
    "lib.hstack([e, e])", "lib.hstack([y, e])", "lib.hstack([lib.tensor(1.0), e])",
    "lib.hstack([e, lib.zeros(0, 3)])", "lib.dstack([e, e])",
    "lib.column_stack([lib.zeros(0, 2), e])",
    "lib.stack([e, e])",
    # errors: a 0-d tensor anywhere, dims still checked against the other tensors, stack and
    # vstack (which make (1, 0) of it) don't skip
    "lib.cat([x, e], 2)", "lib.cat([e, lib.zeros(0, 0)], 2)", "lib.cat([e, e], 1.5)",
    "lib.cat([lib.tensor(1.0), e])", "lib.cat([e, lib.tensor(1.0)])", "lib.cat([x, e, z])",
    "lib.cat([lib.zeros(0, 0), x])", "lib.stack([x, e])", "lib.vstack([x, e])",
    "lib.vstack([y, e])", "lib.dstack([x, e])", "lib.column_stack([x, e])",
    "lib.hstack([lib.tensor(1.0), x])",
]

ERRORS = [
    "lib.squeeze(x, 1.5)", "x.squeeze((1.5,))", "x[None].squeeze((0, -3))",
    "lib.squeeze(x[None], [0, 0])", "lib.tensor(1.0).squeeze((0, -1))",
    "lib.tensor(1.0).squeeze(0)", "lib.tensor(1.0).squeeze(())",
    "lib.repeat_interleave(lib.tensor(1.0), 3, dim=0)",
    "lib.repeat_interleave(lib.tensor(1.0), 3, dim=-1)",
    "lib.repeat_interleave(lib.tensor(1.0), lib.tensor([3]), dim=0)",
    "lib.repeat_interleave(lib.tensor(1.0), lib.tensor(3), dim=0)",
    "lib.repeat_interleave(lib.tensor(1.0), 3)",
    "lib.repeat_interleave(lib.tensor(1.0), lib.tensor([3]))",
    "lib.repeat_interleave(lib.tensor([1, 2]), output_size=4)", "lib.repeat_interleave()",
    "x.split_with_sizes(2)", "x.split_with_sizes([1, 1])", "x.split_with_sizes([1, -1, 3])",
    "x.split_with_sizes([1.0, 2])", "x.split_with_sizes([1, 2], 5)", "x.split_with_sizes([])",
    "lib.tensor(1.0).split_with_sizes([1])", "x.split_with_sizes([1, 2], 1.5)",
    "lib.tensor_split(x, sections=[1])", "lib.tensor_split(x, indices=2)",
    "lib.tensor_split(x)", "lib.tensor_split(x, 2, sections=2)",
    "lib.tensor_split(x, sections=2, indices=[1])",
    "lib.tensor_split(x, tensor_indices_or_sections=2)",
    "x.flip(0, dims=(0,))", "x.tile(2, dims=(2,))", "x.repeat(2, 2, repeats=(2, 2))",
    "x.reshape(4, shape=(3, 4))", "x.permute(1, 0, dims=(1, 0))", "x.view(12, size=(12,))",
    "x.expand(3, 4, size=(3, 4))", "lib.cat([x, x], axis=1, dim=1)",
]

SHAPES = [
    "lib.broadcast_shapes((3, 1), (4,))", "lib.broadcast_shapes((3, 1), (2,))",
    "lib.broadcast_shapes()", "lib.broadcast_shapes(3, (2, 1))", "lib.broadcast_shapes((3,))",
    "lib.broadcast_shapes(lib.Size([3, 1]), [1, 4])", "lib.broadcast_shapes((0,), (1,))",
    "lib.broadcast_shapes((1, 0), (3, 1))", "lib.broadcast_shapes([])", "lib.broadcast_shapes(3)",
    "lib.broadcast_shapes((3,), (4,))", "lib.broadcast_shapes((2, 3), (4, 3))",
    "lib.broadcast_shapes((0,), (2,))", "lib.broadcast_shapes((3, -1), (3,))",
    "lib.broadcast_shapes(-1)", "lib.broadcast_shapes((-1,), (1,))",
    "lib.broadcast_shapes((2.5,), (1,))",
    "lib.broadcast_shapes('ab')", "lib.broadcast_shapes((None,))",
]


@pytest.mark.parametrize("expr", KEYWORDS + NARROW + LEGACY_EMPTY + ERRORS + SHAPES)
def test_same_as_pytorch(expr):
    torch = pytest.importorskip("torch")
    theirs, their_error = _run(torch, expr)
    ours, our_error = _run(tg, expr)
    if their_error is None:
        assert our_error is None, f"PyTorch gives {theirs}, tapegrad raises {our_error!r}"
        assert ours == theirs
    else:
        assert our_error is not None, f"PyTorch raises {their_error!r}, tapegrad gives {ours}"
        assert isinstance(our_error, type(their_error)), (our_error, their_error)
        assert re.match(r"[\w.]+: ", str(our_error)), f"no op named in: {our_error!r}"


# ---- golden values that run without torch -----------------------------------------------
def test_narrow_start_is_only_wrapped_when_negative():
    a = tg.arange(5.0)
    assert a.narrow(0, 5, 0).shape == (0,)
    assert a.narrow(0, -5, 5).tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert a.narrow(0, tg.tensor(5), 0).shape == (0,)
    with pytest.raises(tg.ShapeError, match=r"narrow: start \(5\) \+ length \(1\) exceeds"):
        a.narrow(0, 5, 1)                       # was tensor([0.]): 5 % 5 wrapped to 0
    with pytest.raises(tg.ShapeError, match=r"start \(4\) \+ length \(2\)"):
        a.narrow(0, -1, 2)


def test_cat_leaves_out_1d_empty_tensors_and_gives_them_an_empty_gradient():
    x = tg.ones(2, 3, requires_grad=True)
    e = tg.zeros(0, requires_grad=True)
    out = tg.cat([e, x, e], 1)
    assert out.shape == (2, 3)
    (out * tg.arange(6.0).reshape(2, 3)).sum().backward()
    assert e.grad.shape == (0,) and x.grad.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert tg.hstack([x, e]).shape == (2, 3)
    assert tg.cat([tg.ones(2, 3, dtype=tg.int32), tg.zeros(0)]).dtype == tg.float32
    assert tg.cat([e, e], 5).shape == (0,)          # only (0,) tensors: no dim range check
    with pytest.raises(tg.ShapeError, match=r"cat: a zero-dimensional tensor \(at position 1\)"):
        tg.cat([x, tg.tensor(1.0)])
    with pytest.raises(tg.ShapeError, match="stack: all tensors must have the same shape"):
        tg.stack([x, e])


def test_cat_of_1d_empty_tensors_under_create_graph():
    x = tg.ones(2, 3, requires_grad=True)
    e = tg.zeros(0, requires_grad=True)
    y = (tg.cat([x, e], 1) ** 2).sum()
    gx, ge = tg.autograd.grad(y, (x, e), create_graph=True)
    assert ge.shape == (0,) and gx.tolist() == [[2.0] * 3] * 2
    (hx,) = tg.autograd.grad(gx.sum(), x)
    assert hx.tolist() == [[2.0] * 3] * 2


def test_keyword_names_pytorch_uses():
    x = tg.arange(12.0).reshape(3, 4)
    assert x.flip(dims=[0])[0].tolist() == [8.0, 9.0, 10.0, 11.0]
    assert tg.flip(x, dims=1)[0].tolist() == [3.0, 2.0, 1.0, 0.0]       # a bare int: kept
    assert x.flip(1).tolist() == tg.flip(x, 1).tolist()
    assert [p.shape for p in tg.tensor_split(x, sections=2, dim=1)] == [(3, 2), (3, 2)]
    assert [p.shape[0] for p in x.tensor_split(indices=[1])] == [1, 2]
    assert [p.shape[0] for p in x.split_with_sizes([2, 1])] == [2, 1]
    assert x.repeat(repeats=(1, 2)).shape == (3, 8) and x.tile(dims=(2,)).shape == (3, 8)
    assert x.permute(dims=(1, 0)).shape == (4, 3) and x.reshape(shape=(2, 6)).shape == (2, 6)
    assert x.view(size=(12,)).shape == (12,) and tg.concatenate([x, x], axis=1).shape == (3, 8)
    assert tg.arange(3).broadcast_to(size=(2, 3)).shape == (2, 3)
    assert tg.swapaxes(x, axis0=0, axis1=1).shape == (4, 3)
    assert tg.repeat_interleave(repeats=tg.tensor([2, 1])).tolist() == [0, 0, 1]
    with pytest.raises(TypeError, match="flip: got dims both"):
        x.flip(0, dims=(0,))
    with pytest.raises(TypeError, match="tensor_split: give exactly one of"):
        tg.tensor_split(x, 2, sections=2)


def test_broadcast_shapes_is_a_size():
    out = tg.broadcast_shapes((3, 1), [4], tg.Size([1, 1]))
    assert isinstance(out, tg.Size) and out == (3, 4)
    assert tg.broadcast_shapes() == () and tg.broadcast_shapes(2, (3, 1)) == (3, 2)
    with pytest.raises(tg.ShapeError, match=r"broadcast_shapes: shapes \(3,\), \(4,\) can't"):
        tg.broadcast_shapes((3,), (4,))
    with pytest.raises(tg.ArgumentError, match="negative"):
        tg.broadcast_shapes((3, -1))
    with pytest.raises(TypeError, match="broadcast_shapes: each shape"):
        tg.broadcast_shapes((2.5,))


def test_squeeze_and_repeat_interleave_errors():
    x = tg.zeros(1, 3)
    with pytest.raises(TypeError, match="squeeze: dim must be an int, got 1.5"):
        tg.squeeze(x, 1.5)
    with pytest.raises(tg.ArgumentError, match="squeeze: a dim appears more than once"):
        x.squeeze((0, -2))
    with pytest.raises(tg.IndexRangeError, match="repeat_interleave: a 0-d tensor has no dim"):
        tg.repeat_interleave(tg.tensor(1.0), 3, dim=0)
    assert tg.repeat_interleave(tg.tensor(1.0), 3).tolist() == [1.0, 1.0, 1.0]
