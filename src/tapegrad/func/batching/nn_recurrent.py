"""Batching rules of the recurrent layer primitives (rnn_tanh_layer, rnn_relu_layer,
lstm_layer, gru_layer; Note [Recurrent layer primitive] in ops/nn/recurrent.py).

Weights shared by the batch: the examples' sequences join the RNN's batch, one layer call
for all. A step's batch must be a prefix of the step before's (packed layout), so the joined
batch orders its members sequence-major: sequence j of example b is member j * B + b, and
step t takes the first B * batch_sizes[t] of them. The rows are permuted into that order (and
h0, c0 repeated per example), and the output's rows permuted back.

Per-example weights (vmap of a per-example gradient, or of an ensemble): the layer runs as
its composite, the same recurrence written with tapegrad ops step by step (the one its
recorded backward replays), each op batched by its own rule: no loop over the examples."""
import numpy as np

from ...ops.nn import recurrent as R
from . import decomposition, rule

NAMES = tuple(f"{mode}_layer" for mode in R.GATES)


def _weights_size(p):
    gh = p["gates"] * p["hidden"]
    return gh * p["input_size"] + gh * p["hidden"] + (2 * gh if p["has_bias"] else 0)


@rule(*NAMES)
def recurrent(op, args, batched, params, size):
    """Only x (N, input_size) batched: B * batch sequences in one layer call."""
    x, flat = args
    p = params
    bs, n, hidden = p["batch_sizes"], x.shape[1], p["hidden"]
    starts = np.concatenate([[0], np.cumsum(bs[:-1])]).astype(np.int64)
    # new row order: per step, sequence-major (j * B + b) <- old row (b, start + j)
    perm = np.concatenate([np.add.outer(s + np.arange(b), np.arange(size) * n).ravel()
                           for s, b in zip(starts, bs)] or [np.zeros(0, np.int64)])
    xs = x.reshape((size * n,) + tuple(x.shape[2:]))[perm]
    k = _weights_size(p)
    batch = p["batch"]
    states = [flat[k + i * batch * hidden:k + (i + 1) * batch * hidden].reshape(batch, hidden)
              for i in range(int(p["has_h0"]) + int(p["has_c0"]))]
    if states:          # each example starts from the same h0 (c0): repeated per member
        from ...ops.shape import cat
        flat = cat([flat[:k]] + [s.unsqueeze(1).expand(batch, size, hidden).reshape(-1)
                                 for s in states])
    new = dict(p, batch_sizes=tuple(b * size for b in bs), batch=batch * size,
               trace=R.Trace())
    inverse = np.argsort(perm)

    def back(out):
        from ...ops.shape import cat
        rows = out[:size * n][inverse].reshape(size, n, hidden)
        parts = [rows]
        for i in range(2 if p["mode"] == "lstm" else 1):     # h_n (and c_n), member order
            lo = size * n + i * size * batch
            parts.append(out[lo:lo + size * batch].reshape(batch, size, hidden).movedim(1, 0))
        return cat(parts, 1)
    return [xs, flat], new, back


def _composite(args, batched, params):
    """The layer as tapegrad ops on the (batched) logical tensors."""
    if not batched[1]:
        return None          # shared weights: the rule joins the examples' batches
    from ..._core.tensor import wrap
    from ...ops.linalg.products import matmul
    from ...ops.shape import cat
    x, flat = args
    p = params
    half = x._data.dtype == R._F16
    if half:                  # float16 runs in float32, as the primitive
        x, flat = x.float(), flat.float()
    w = R._split(flat, p)
    mode, hh, batch = p["mode"], p["hidden"], p["batch"]
    zeros = wrap(np.zeros((batch, hh), x._data.dtype))
    h = w["h0"] if w["h0"] is not None else zeros
    c = w["c0"] if w["c0"] is not None else zeros
    xp = matmul(x, w["w_ih"].T)
    if w["b_ih"] is not None:
        xp = xp + w["b_ih"]
    rows = {}
    for start, b in R._steps(p["batch_sizes"], p["reverse"]):
        hw = matmul(h[:b], w["w_hh"].T)
        if w["b_hh"] is not None:
            hw = hw + w["b_hh"]
        _, hb, cb = R._cell(mode, xp[start:start + b], hw, h[:b], c[:b], hh)
        rows[start] = hb
        h = R._rows_replaced(h, hb, b)
        c = R._rows_replaced(c, cb, b) if cb is not None else c
    parts = [rows[s] for s in sorted(rows)] + [h] + ([c] if mode == "lstm" else [])
    out = cat(parts)
    return out.half() if half else out


for _name in NAMES:
    decomposition(_name)(_composite)
