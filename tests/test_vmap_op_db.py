"""vmap through every row of the op database (tests/opinfo.py): ``vmap(row)`` over a batch of
three different samples equals the loop of the row over them, with every array argument
batched and with only the first one batched (the rest shared by all examples). The rows whose
ops still run example by example (no batching rule yet: a Python loop under the hood) are
listed below, so the list shrinks as rules land and can't grow unnoticed."""
import warnings

import numpy as np
import pytest

import tapegrad as tg
from tapegrad._core.errors import NotSupportedError
from tapegrad.func import vmap
from tapegrad.func.batching import FALLBACKS, ops_without_rules

from opinfo import F64, OP_DB

B = 3

# Rows whose output shape depends on the values: the examples can't be stacked (PyTorch's
# vmap refuses them too); vmap raises a clear error.
DATA_DEPENDENT_SHAPES = {"unique", "bincount", "masked_select", "nonzero", "nonzero_tuple",
                         "argwhere"}

# Rows that still run example by example (an op with no batching rule, or one that reads a
# batched tensor's values directly). Correct, but as slow as a loop.
FALLBACK_ROWS = {
    "allclose", "bincount_counts", "cumprod_", "cumsum_", "equal", "view_dtype",
}


# Rows that draw random numbers (each seeds the generator itself).
RANDOM_ROWS = {"F.dropout", "F.dropout1d", "F.dropout1d(unbatched)", "F.dropout2d", "F.dropout3d",
               "F.dropout3d(unbatched)", "F.alpha_dropout", "F.feature_alpha_dropout",
               "F.gumbel_softmax", "F.gumbel_softmax(hard=True)", "F.rrelu(training=True)",
               "F.scaled_dot_product_attention(dropout_p)"}


def _dtype(row):
    dts = [np.dtype(d) for d in row.dtypes]
    return F64 if F64 in dts else dts[0]


def _examples(row):
    """For each sample of the row, B versions of it with the same shapes (different seeds when
    the seeds keep the shapes, else the same sample B times)."""
    dt = _dtype(row)
    sets = [row.sample_inputs(dt, seed=k) for k in range(B)]
    for j, s0 in enumerate(sets[0]):
        group = [st[j] for st in sets]
        if not all(len(s.args) == len(s0.args)
                   and all(np.shape(a) == np.shape(b) for a, b in zip(s.args, s0.args))
                   for s in group):
            group = [s0] * B
        yield s0, group


def _leaves(o):
    if isinstance(o, (tuple, list)):
        return [x for v in o for x in _leaves(v)]
    return [o]


def _value(t):
    return t.detach().numpy() if isinstance(t, tg.Tensor) else np.asarray(t)


def _check(row, s0, group, batch_only_first, randomness="error"):
    arrays = [i for i, a in enumerate(s0.args) if isinstance(a, np.ndarray)]
    if not arrays:
        return
    mapped = arrays[:1] if batch_only_first else arrays
    args = [tg.tensor(np.stack([s.args[i] for s in group])) if i in mapped
            else tg.tensor(s0.args[i]) if i in arrays else s0.args[i]
            for i in range(len(s0.args))]
    in_dims = tuple(0 if i in mapped else None for i in range(len(s0.args)))
    got = vmap(lambda *a: row.fn(*a, **s0.kwargs), in_dims=in_dims,
               randomness=randomness)(*args)
    want = []
    for s in group:
        ex = [tg.tensor(s.args[i] if i in mapped else s0.args[i]) if i in arrays else s0.args[i]
              for i in range(len(s0.args))]
        want.append(_leaves(row.fn(*ex, **s0.kwargs)))
    got = _leaves(got)
    assert len(got) == len(want[0])
    for k, g in enumerate(got):
        w = np.stack([_value(x[k]) for x in want])
        gv = _value(g)
        assert gv.shape == w.shape, f"output {k}: shape {gv.shape}, loop gives {w.shape}"
        assert gv.dtype == w.dtype, f"output {k}: dtype {gv.dtype}, loop gives {w.dtype}"
        np.testing.assert_allclose(gv, w, rtol=1e-6, atol=1e-8, equal_nan=True,
                                   err_msg=f"output {k}")


@pytest.mark.parametrize("row", OP_DB, ids=str)
def test_vmap_matches_loop(row):
    """vmap of the row equals the loop over the examples; fallback rows are exactly those
    listed in FALLBACK_ROWS."""
    before = FALLBACKS["count"]
    for s0, group in _examples(row):
        for only_first in (False, True):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        _check(row, s0, group, only_first)
                    except NotSupportedError as e:
                        if "random op" not in str(e):
                            raise
                        # a random row (it seeds itself, so every example draws the same):
                        # refused by default, the loop's values with randomness='same'
                        assert row.name in RANDOM_ROWS, e
                        _check(row, s0, group, only_first, randomness="same")
            except tg.ArgumentError as e:
                if row.name in DATA_DEPENDENT_SHAPES and "different shapes" in str(e):
                    continue
                e.add_note(f"on {s0!r}, {'first argument' if only_first else 'all'} batched")
                raise
            except BaseException as e:
                e.add_note(f"on {s0!r}, {'first argument' if only_first else 'all'} batched")
                raise
    fell_back = FALLBACKS["count"] > before
    if row.name in DATA_DEPENDENT_SHAPES:
        return
    if row.name in FALLBACK_ROWS:
        assert fell_back, f"{row.name} no longer falls back: remove it from FALLBACK_ROWS"
    else:
        assert not fell_back, f"{row.name} ran example by example: give its op a batching rule"


def test_fallback_lists_name_real_rows():
    names = {row.name for row in OP_DB}
    assert FALLBACK_ROWS <= names and DATA_DEPENDENT_SHAPES <= names


def test_primitives_without_rules():
    """The registered primitives with no batching rule of their own: each is reached inside
    vmap only through its public function's rule (cross_entropy, ctc_loss, median,
    scatter_reduce), has a value-dependent output shape (bincount), or isn't run through
    apply (view_dtype); anything else falls back to running example by example."""
    assert set(ops_without_rules()) == {"bincount", "cross_entropy", "ctc_loss", "median",
                                        "scatter_reduce", "view_dtype"}
