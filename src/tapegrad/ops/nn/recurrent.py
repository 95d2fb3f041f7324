"""Primitives of the nn recurrent family: one layer of an Elman RNN (tanh or relu), an LSTM or
a GRU run over a whole sequence in one direction (used by tapegrad.nn.RNN, LSTM and GRU).

# Note [Recurrent layer primitive]
A layer over T steps is one node, not the ~15 nodes per step of the composite (a matmul, an
add, four gate slices, their activations and the state update): as a composite, a 2-layer
LSTM of hidden 128 over 100 steps (batch 32) records 3000 nodes and runs forward+backward
about 10x slower than PyTorch; as primitives, 5-10x faster than that composite and about
1.4x PyTorch's time (benchmarks/lstm_bench.py, 2-core machine). The primitive projects the
inputs of all steps in one GEMM, loops over time with one GEMM of the state and a few
in-place array passes per step, and runs backpropagation through time the same way (one
GEMM per step), with the weight gradients as three GEMMs over all steps at the end. What is
left of the gap to PyTorch is mostly OpenBLAS's small per-step GEMMs (about 1.7x slower
than PyTorch's at (32, 128) @ (128, 512)).

Layout. Sequences are packed as in nn.utils.rnn.PackedSequence: ``x`` is (N, input_size),
the rows of step t are the ``batch_sizes[t]`` (non-increasing) rows that follow those of the
steps before, so the batch of step t is a prefix of the batch of step t - 1. A padded batch
is the special case of equal batch sizes (x reshaped to (T * B, input_size)). The state is a
(B, H) array of which step t updates the first batch_sizes[t] rows: run forward, a sequence
that ended keeps its last state (its h_n); run backward (``reverse``), a sequence joins with
its h0 when its last step comes.

Operands. A node keeps inputs 0 and 1, so the primitive takes two: ``x`` and ``flat``, one
vector holding weight_ih, weight_hh, the two biases (when present), h0 and c0 (when given),
made by ``cat`` from the caller's tensors (a copy of a few weights, a small fraction of the
step's work). Its output is (N + B, H) for RNN and GRU and (N + 2B, H) for LSTM: the outputs
h_t of every row, then h_n, then c_n; callers slice it.

Saved data. The forward leaves what backpropagation needs (the gate activations and the
previous states of every row) in the ``Trace`` in the op's params (as normalization's
``Moments``); the first backward takes it (freeing it), a second one (retain_graph=True)
runs the forward again. When the backward records itself (create_graph=True), the rule runs
the recurrence again with tapegrad ops on the saved tensors and backpropagates through that
with tapegrad ops (``_recorded_vjp``), so that second derivatives see how the activations
depend on the inputs and weights. Forward mode likewise: on arrays the jvp linearizes each
step around the trace (kept, not taken); when the tangent must itself be differentiable
(nested levels, forward-over-reverse) ``_recorded_jvp`` runs the recurrence again with
tapegrad ops and linearizes each step with them.

Gate orders are PyTorch's: LSTM (i, f, g, o), GRU (r, z, n) with
n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) and h' = (1 - z) * n + z * h. Inside the
fast path the LSTM gates run in the order (i, f, o, g) and every sigmoid is computed as
0.5 * tanh(z / 2) + 0.5 from rows of the weights scaled by 0.5 (exact: a power of two),
so one tanh call covers all gates of a step.
"""
import numpy as np

from ..._core.tensor import Tensor, array_of, wrap
from ..elementwise import where
from ..linalg.products import matmul
from ..registry import OpDef, apply, register
from ..shape import cast, cat

__all__ = []        # names exported as tapegrad.<name> (PyTorch's torch.<name>)
METHODS = {}        # Tensor methods this family binds

GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
_F16, _F32 = np.dtype(np.float16), np.dtype(np.float32)
_ndarray = np.ndarray


class Trace:
    """What a layer's forward computed for its backward (Note [Recurrent layer primitive]):
    ``acts`` (N, G * H) the gate activations (LSTM in the order i, f, o, g), ``hprev`` and
    (LSTM) ``cprev`` (N, H) the state each row started from, ``tc`` (LSTM) tanh(c_t),
    ``hn`` (GRU) W_hn h + b_hn."""
    __slots__ = ("acts", "hprev", "cprev", "tc", "hn")

    def __init__(self):
        self.acts = self.hprev = self.cprev = self.tc = self.hn = None

    def take(self):
        """A copy of this trace's references, leaving it empty (the backward frees it)."""
        t = Trace()
        for name in Trace.__slots__:
            setattr(t, name, getattr(self, name))
            setattr(self, name, None)
        return t


# ---- layout -------------------------------------------------------------------------------
def _steps(batch_sizes, reverse):
    """(first row, batch) of each step in the order the recurrence runs."""
    starts = np.concatenate([[0], np.cumsum(batch_sizes[:-1])]).astype(int).tolist()
    steps = list(zip(starts, batch_sizes))
    return steps[::-1] if reverse else steps


def _split(flat, p):
    """w_ih, w_hh, b_ih, b_hh, h0, c0 (None where absent) as views of ``flat`` (an array or a
    tensor)."""
    gh, n_in, h, b = p["gates"] * p["hidden"], p["input_size"], p["hidden"], p["batch"]
    sizes = [("w_ih", gh * n_in, (gh, n_in)), ("w_hh", gh * h, (gh, h))]
    if p["has_bias"]:
        sizes += [("b_ih", gh, (gh,)), ("b_hh", gh, (gh,))]
    if p["has_h0"]:
        sizes.append(("h0", b * h, (b, h)))
    if p["has_c0"]:
        sizes.append(("c0", b * h, (b, h)))
    out, k = dict.fromkeys(("w_ih", "w_hh", "b_ih", "b_hh", "h0", "c0")), 0
    for name, n, shape in sizes:
        out[name] = flat[k:k + n].reshape(shape)
        k += n
    return out


def _lstm_rows(a):
    """Rows (i, f, g, o) of an LSTM weight, bias or gate gradient as (i, f, o, g) and back
    (swapping the last two blocks is its own inverse)."""
    h = a.shape[0] // 4
    return np.concatenate([a[:2 * h], a[3 * h:], a[2 * h:3 * h]])


def _sigmoid_scale(n_sigmoid, gh, dtype):
    """(G * H, 1): 0.5 on the rows of sigmoid gates (computed through tanh), 1 elsewhere."""
    s = np.ones((gh, 1), dtype)
    s[:n_sigmoid] = 0.5
    return s


def _internal(w, b_ih, b_hh, mode):
    """The fast path's weights: rows reordered (LSTM) and halved on sigmoid gates, and the
    bias added to the input projections (for GRU, b_hn stays with the state's product)."""
    gh = w.shape[0]
    h = gh // GATES[mode]
    bias = None
    if b_ih is not None:
        bias = b_ih + b_hh if mode != "gru" else np.concatenate([b_ih[:2 * h] + b_hh[:2 * h],
                                                                 b_ih[2 * h:]])
    if mode == "lstm":
        w = _lstm_rows(w)
        bias = None if bias is None else _lstm_rows(bias)
        scale = _sigmoid_scale(3 * h, gh, w.dtype)
    elif mode == "gru":
        scale = _sigmoid_scale(2 * h, gh, w.dtype)
    else:
        return w, bias
    return w * scale, None if bias is None else bias * scale[:, 0]


# ---- forward ------------------------------------------------------------------------------
def _forward(x, flat, *, mode, batch_sizes, reverse, trace, **layout):
    half = x.dtype == _F16
    if half:                               # float16 runs in float32, rounded once at the end
        x, flat = x.astype(_F32), flat.astype(_F32)
    out = _FORWARD[mode](x, _split(flat, layout), _steps(batch_sizes, reverse),
                         layout["batch"], layout["hidden"], mode, trace)
    return out.astype(_F16) if half else out


def _state(v, batch, hidden, dtype):
    return np.zeros((batch, hidden), dtype) if v is None else v.copy()


def _projections(x, w, mode):
    """x @ W_ih^T + bias for every row (one GEMM), in the fast path's gate layout; and the
    state weights in that layout, transposed for the per-step GEMM."""
    w_ih, bias = _internal(w["w_ih"], w["b_ih"], w["b_hh"], mode)
    w_hh, _ = _internal(w["w_hh"], None, None, mode)
    xp = x @ w_ih.T
    if bias is not None:
        xp += bias
    # NOTE: a C-ordered copy, not the transposed view: OpenBLAS runs the small per-step
    # product (B, H) @ (H, G * H) about 1.5x faster with it.
    return xp, np.ascontiguousarray(w_hh.T)


def _rnn_forward(x, w, steps, batch, hidden, mode, trace):
    n = x.shape[0]
    xp, w_hh_t = _projections(x, w, mode)
    out = np.empty((n + batch, hidden), xp.dtype)
    hprev = np.empty((n, hidden), xp.dtype)
    h = _state(w["h0"], batch, hidden, xp.dtype)
    tmp = np.empty((batch, hidden), xp.dtype)
    relu = mode == "rnn_relu"
    for start, b in steps:
        r = slice(start, start + b)
        hp = hprev[r]
        np.copyto(hp, h[:b])
        z = xp[r]
        z += np.matmul(hp, w_hh_t, out=tmp[:b])
        if relu:
            np.maximum(z, 0, out=out[r])
        else:
            np.tanh(z, out=out[r])
        np.copyto(h[:b], out[r])
    out[n:] = h
    trace.hprev = hprev
    return out


def _lstm_forward(x, w, steps, batch, hidden, mode, trace):
    n, hh = x.shape[0], hidden
    xp, w_hh_t = _projections(x, w, mode)
    dtype = xp.dtype
    out = np.empty((n + 2 * batch, hh), dtype)
    hprev, cprev, tc = (np.empty((n, hh), dtype) for _ in range(3))
    h, c = _state(w["h0"], batch, hh, dtype), _state(w["c0"], batch, hh, dtype)
    tmp, tmp2 = np.empty((batch, 4 * hh), dtype), np.empty((batch, hh), dtype)
    # one pass over the whole (contiguous) gate rows is faster than two over the strided i, f, o
    shift = np.zeros(4 * hh, dtype)
    shift[:3 * hh] = 0.5
    scale = shift.copy()
    scale[3 * hh:] = 1
    for start, b in steps:
        r = slice(start, start + b)
        hp, cp = hprev[r], cprev[r]
        np.copyto(hp, h[:b])
        np.copyto(cp, c[:b])
        z = xp[r]                          # the gates are made in place in xp
        z += np.matmul(hp, w_hh_t, out=tmp[:b])
        np.tanh(z, out=z)
        z *= scale                         # i, f, o: sigmoid = 0.5 tanh(z / 2) + 0.5
        z += shift
        cb = c[:b]
        np.multiply(z[:, hh:2 * hh], cp, out=cb)
        cb += np.multiply(z[:, :hh], z[:, 3 * hh:], out=tmp2[:b])
        np.tanh(cb, out=tc[r])
        np.multiply(z[:, 2 * hh:3 * hh], tc[r], out=out[r])
        np.copyto(h[:b], out[r])
    out[n:n + batch] = h
    out[n + batch:] = c
    trace.acts, trace.hprev, trace.cprev, trace.tc = xp, hprev, cprev, tc
    return out


def _gru_forward(x, w, steps, batch, hidden, mode, trace):
    n, hh = x.shape[0], hidden
    xp, w_hh_t = _projections(x, w, mode)
    dtype = xp.dtype
    b_hn = None if w["b_hh"] is None else w["b_hh"][2 * hh:]
    out = np.empty((n + batch, hh), dtype)
    hprev, hn = np.empty((n, hh), dtype), np.empty((n, hh), dtype)
    h = _state(w["h0"], batch, hh, dtype)
    tmp, tmp2 = np.empty((batch, 3 * hh), dtype), np.empty((batch, hh), dtype)
    for start, b in steps:
        r = slice(start, start + b)
        hp = hprev[r]
        np.copyto(hp, h[:b])
        z = xp[r]                          # r, z and n are made in place in xp
        hw = np.matmul(hp, w_hh_t, out=tmp[:b])
        rz = z[:, :2 * hh]
        rz += hw[:, :2 * hh]
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        if b_hn is None:
            np.copyto(hn[r], hw[:, 2 * hh:])
        else:
            np.add(hw[:, 2 * hh:], b_hn, out=hn[r])
        nb = z[:, 2 * hh:]
        nb += np.multiply(z[:, :hh], hn[r], out=tmp2[:b])
        np.tanh(nb, out=nb)
        d = np.subtract(hp, nb, out=tmp2[:b])      # h' = n + z (h - n)
        d *= z[:, hh:2 * hh]
        np.add(nb, d, out=out[r])
        np.copyto(h[:b], out[r])
    out[n:] = h
    trace.acts, trace.hprev, trace.hn = xp, hprev, hn
    return out


_FORWARD = {"rnn_tanh": _rnn_forward, "rnn_relu": _rnn_forward, "lstm": _lstm_forward,
            "gru": _gru_forward}


# ---- backward (fast path: arrays) ------------------------------------------------------------
def _trace(ctx, keep):
    """The forward's trace; taken (freed) unless ``keep``; computed again when an earlier
    backward took it (retain_graph=True)."""
    trace = ctx.trace
    if trace.hprev is None:
        trace = Trace()
        _forward(ctx.x, ctx.y, **{**ctx.params, "trace": trace})
        return trace
    return trace if keep else trace.take()


def _rnn_backward(ctx, tr, g, w):
    n = tr.hprev.shape[0]
    out = ctx.out[:n]
    deriv = (out > 0).astype(out.dtype) if ctx.mode == "rnn_relu" else 1 - out * out
    dz = np.empty_like(deriv)
    dh = g[n:].copy()
    w_hh = w["w_hh"]
    for start, b in reversed(_steps(ctx.batch_sizes, ctx.reverse)):
        r = slice(start, start + b)
        dhb = dh[:b]
        dhb += g[r]
        np.multiply(dhb, deriv[r], out=dz[r])
        np.matmul(dz[r], w_hh, out=dhb)
    return dz, dz, dh, None


def _lstm_backward(ctx, tr, g, w):
    n, batch, hh = tr.hprev.shape[0], ctx.batch, ctx.hidden
    a = tr.acts
    dz = np.empty_like(a)
    dh, dc = g[n:n + batch].copy(), g[n + batch:].copy()
    w_hh = _lstm_rows(w["w_hh"])
    tmp = np.empty((batch, hh), a.dtype)
    # NOTE: the gates' derivatives are made step by step in the step's rows of dz: as fast
    # as passes over all rows up front (measured), without their (N, 4H) and (N, H) buffers.
    for start, b in reversed(_steps(ctx.batch_sizes, ctx.reverse)):
        r = slice(start, start + b)
        ab, d = a[r], dz[r]
        i, f, o, gg = (ab[:, k * hh:(k + 1) * hh] for k in range(4))
        np.subtract(1, ab, out=d)
        d[:, :3 * hh] *= ab[:, :3 * hh]             # s (1 - s) on i, f, o
        dg = d[:, 3 * hh:]
        np.multiply(gg, gg, out=dg)
        np.subtract(1, dg, out=dg)                  # 1 - g^2
        d[:, :hh] *= gg                             # dz_i = dc g i (1 - i)
        d[:, hh:2 * hh] *= tr.cprev[r]              # dz_f = dc c_prev f (1 - f)
        d[:, 2 * hh:3 * hh] *= tr.tc[r]             # dz_o = dh tanh(c) o (1 - o)
        dg *= i                                     # dz_g = dc i (1 - g^2)
        dhb, dcb = dh[:b], dc[:b]
        dhb += g[r]
        t = np.multiply(tr.tc[r], tr.tc[r], out=tmp[:b])
        np.subtract(1, t, out=t)
        t *= o
        t *= dhb
        dcb += t                                    # dc += dh o (1 - tanh(c)^2)
        d3 = d.reshape(b, 4, hh)
        d3[:, :2] *= dcb[:, None]
        d3[:, 3] *= dcb
        d3[:, 2] *= dhb
        dcb *= f
        np.matmul(d, w_hh, out=dhb)
    return dz, dz, dh, dc


def _gru_backward(ctx, tr, g, w):
    n, batch, hh = tr.hprev.shape[0], ctx.batch, ctx.hidden
    a = tr.acts
    rg, zg, ng = a[:, :hh], a[:, hh:2 * hh], a[:, 2 * hh:]
    # Every pre-activation gradient is dh times a factor: for the state's product
    # [dr, dz, dn * r] (n: dn = dh (1 - z) (1 - n^2), dr = dn hn r (1 - r)), and dn for x's.
    kn = (1 - zg) * (1 - ng * ng)
    kh = np.empty_like(a)
    np.multiply(kn * tr.hn, rg * (1 - rg), out=kh[:, :hh])
    np.multiply(tr.hprev - ng, zg * (1 - zg), out=kh[:, hh:2 * hh])
    np.multiply(kn, rg, out=kh[:, 2 * hh:])
    kh3 = kh.reshape(n, 3, hh)
    dzh = np.empty_like(a)
    dzh3 = dzh.reshape(n, 3, hh)
    dn = np.empty_like(kn)
    dh = g[n:].copy()
    w_hh = w["w_hh"]
    tmp = np.empty((batch, hh), a.dtype)
    for start, b in reversed(_steps(ctx.batch_sizes, ctx.reverse)):
        r = slice(start, start + b)
        dhb = dh[:b]
        dhb += g[r]
        np.multiply(kh3[r], dhb[:, None], out=dzh3[r])
        np.multiply(kn[r], dhb, out=dn[r])
        np.matmul(dzh[r], w_hh, out=tmp[:b])
        dhb *= zg[r]
        dhb += tmp[:b]
    dzx = dzh.copy()
    dzx[:, 2 * hh:] = dn
    return dzx, dzh, dh, None


_BACKWARD = {"rnn_tanh": _rnn_backward, "rnn_relu": _rnn_backward, "lstm": _lstm_backward,
             "gru": _gru_backward}


def _array_vjp(ctx, g):
    need = ctx.needs_input_grad
    x, flat = ctx.x, ctx.y
    half = x.dtype == _F16
    if half:
        x, flat, g = x.astype(_F32), flat.astype(_F32), g.astype(_F32)
        ctx = _Cast(ctx, x, flat)
    w = _split(flat, ctx.params)
    tr = _trace(ctx, keep=False)
    dzx, dzh, dh0, dc0 = _BACKWARD[ctx.mode](ctx, tr, g, w)
    lstm = ctx.mode == "lstm"
    gx = None
    if need[0]:
        gx = dzx @ (_lstm_rows(w["w_ih"]) if lstm else w["w_ih"])
    gflat = None
    if need[1]:
        g_ih, g_hh = dzx.T @ x, dzh.T @ tr.hprev
        parts = [g_ih, g_hh]
        if ctx.has_bias:
            gb = dzx.sum(0)
            parts += [gb, gb if dzh is dzx else dzh.sum(0)]     # one sum where both are dz
        if lstm:
            parts = [_lstm_rows(p_) for p_ in parts]
        if ctx.has_h0:
            parts.append(dh0)
        if ctx.has_c0:
            parts.append(dc0)
        gflat = np.concatenate([p_.ravel() for p_ in parts])
    if half:
        gx = None if gx is None else gx.astype(_F16)
        gflat = None if gflat is None else gflat.astype(_F16)
    return gx, gflat


class _Cast:
    """A float16 node's ctx seen in float32 (the rules compute float16 in float32)."""
    __slots__ = ("_ctx", "x", "y", "out")

    def __init__(self, ctx, x, flat):
        self._ctx, self.x, self.y = ctx, x, flat
        self.out = ctx.out.astype(_F32)

    def __getattr__(self, name):
        return getattr(self._ctx, name)


def recurrent_vjp(ctx, g):
    """Backpropagation through time (Note [Recurrent layer primitive]): per step, the state's
    gradient times the gates' derivatives, then one GEMM with W_hh; the weight gradients as
    GEMMs over all rows at the end."""
    if type(g) is _ndarray and type(ctx.x) is _ndarray:
        return _array_vjp(ctx, g)
    return _recorded_vjp(ctx, g)


# ---- forward mode ---------------------------------------------------------------------------
def _tangent(t, like):
    """A tangent as an array (zeros for an input that takes no part)."""
    return np.zeros(like.shape, like.dtype) if np.ndim(t) == 0 and like.ndim else t


def recurrent_jvp(ctx, tx, tflat):
    """The recurrence linearized around the forward: the tangent of each step's gates from
    those of x, the weights and the previous state, carried through time."""
    x, flat = ctx.x, ctx.y
    if (type(x) is not _ndarray or type(flat) is not _ndarray or isinstance(tx, Tensor)
            or isinstance(tflat, Tensor)):
        return _recorded_jvp(ctx, tx, tflat)
    half = x.dtype == _F16
    if half:
        x, flat = x.astype(_F32), flat.astype(_F32)
        ctx = _Cast(ctx, x, flat)
    tx = _tangent(tx, x).astype(x.dtype, copy=False)
    tflat = _tangent(tflat, flat).astype(x.dtype, copy=False)
    w, tw = _split(flat, ctx.params), _split(tflat, ctx.params)
    tr = _trace(ctx, keep=True)
    out = _JVP[ctx.mode](ctx, tr, x, tx, w, tw)
    return out.astype(_F16) if half else out


def _input_tangent(tr, x, tx, w_ih, tw_ih, tw_hh, tbias):
    """Per row: the gates' pre-activation tangent from tx, dW_ih, dW_hh (with the saved
    previous state) and the biases."""
    tz = tx @ w_ih.T + x @ tw_ih.T + tr.hprev @ tw_hh.T
    if tbias is not None:
        tz += tbias
    return tz


def _rnn_jvp(ctx, tr, x, tx, w, tw):
    n, batch, hh = x.shape[0], ctx.batch, ctx.hidden
    tbias = None if not ctx.has_bias else tw["b_ih"] + tw["b_hh"]
    tz = _input_tangent(tr, x, tx, w["w_ih"], tw["w_ih"], tw["w_hh"], tbias)
    out = ctx.out[:n]
    deriv = (out > 0).astype(out.dtype) if ctx.mode == "rnn_relu" else 1 - out * out
    th = np.zeros((batch, hh), x.dtype) if tw["h0"] is None else tw["h0"].copy()
    res = np.empty((n + batch, hh), x.dtype)
    w_hh = w["w_hh"]
    for start, b in _steps(ctx.batch_sizes, ctx.reverse):
        r = slice(start, start + b)
        th[:b] = deriv[r] * (tz[r] + th[:b] @ w_hh.T)
        res[r] = th[:b]
    res[n:] = th
    return res


def _lstm_jvp(ctx, tr, x, tx, w, tw):
    n, batch, hh = x.shape[0], ctx.batch, ctx.hidden
    tbias = None if not ctx.has_bias else _lstm_rows(tw["b_ih"] + tw["b_hh"])
    tz = _input_tangent(tr, x, tx, _lstm_rows(w["w_ih"]), _lstm_rows(tw["w_ih"]),
                        _lstm_rows(tw["w_hh"]), tbias)
    a = tr.acts
    deriv = a * (1 - a)                      # sigmoid gates i, f, o
    deriv[:, 3 * hh:] = 1 - a[:, 3 * hh:] ** 2     # tanh gate g
    th = np.zeros((batch, hh), x.dtype) if tw["h0"] is None else tw["h0"].copy()
    tc = np.zeros((batch, hh), x.dtype) if tw["c0"] is None else tw["c0"].copy()
    res = np.empty((n + 2 * batch, hh), x.dtype)
    w_hh = _lstm_rows(w["w_hh"])
    for start, b in _steps(ctx.batch_sizes, ctx.reverse):
        r = slice(start, start + b)
        ta = deriv[r] * (tz[r] + th[:b] @ w_hh.T)
        ti, tf, to, tg = (ta[:, k * hh:(k + 1) * hh] for k in range(4))
        i, f, o, gg = (a[r, k * hh:(k + 1) * hh] for k in range(4))
        tcb = tf * tr.cprev[r] + f * tc[:b] + ti * gg + i * tg
        tc[:b] = tcb
        th[:b] = to * tr.tc[r] + o * (1 - tr.tc[r] ** 2) * tcb
        res[r] = th[:b]
    res[n:n + batch] = th
    res[n + batch:] = tc
    return res


def _gru_jvp(ctx, tr, x, tx, w, tw):
    n, batch, hh = x.shape[0], ctx.batch, ctx.hidden
    tz = tx @ w["w_ih"].T + x @ tw["w_ih"].T
    thw = tr.hprev @ tw["w_hh"].T
    if ctx.has_bias:
        tz += tw["b_ih"]
        thw += tw["b_hh"]
    a = tr.acts
    th = np.zeros((batch, hh), x.dtype) if tw["h0"] is None else tw["h0"].copy()
    res = np.empty((n + batch, hh), x.dtype)
    w_hh = w["w_hh"]
    for start, b in _steps(ctx.batch_sizes, ctx.reverse):
        r = slice(start, start + b)
        rg, zg, ng = a[r, :hh], a[r, hh:2 * hh], a[r, 2 * hh:]
        tw_r = thw[r] + th[:b] @ w_hh.T             # tangent of W_hh h + b_hh
        tr_ = rg * (1 - rg) * (tz[r, :hh] + tw_r[:, :hh])
        tz_ = zg * (1 - zg) * (tz[r, hh:2 * hh] + tw_r[:, hh:2 * hh])
        tn = (1 - ng * ng) * (tz[r, 2 * hh:] + tr_ * tr.hn[r] + rg * tw_r[:, 2 * hh:])
        th[:b] = tn + tz_ * (tr.hprev[r] - ng) + zg * (th[:b] - tn)
        res[r] = th[:b]
    res[n:] = th
    return res


_JVP = {"rnn_tanh": _rnn_jvp, "rnn_relu": _rnn_jvp, "lstm": _lstm_jvp, "gru": _gru_jvp}


# ---- backward that records itself (create_graph=True) ----------------------------------------
def _recorded_vjp(ctx, g):
    """The same gradient written with tapegrad ops on the saved tensors: the recurrence is
    run again (recorded), then backpropagated step by step, so the result is differentiable
    in x, the weights and g."""
    x, flat, p = ctx.x, ctx.y, ctx.params
    w = _split(flat, p)
    mode, hh, batch = p["mode"], p["hidden"], p["batch"]
    n = x.shape[0]
    zeros = wrap(np.zeros((batch, hh), array_of(x).dtype))
    h0 = w["h0"] if w["h0"] is not None else zeros
    c0 = w["c0"] if w["c0"] is not None else zeros
    xp = matmul(x, w["w_ih"].T)
    if w["b_ih"] is not None:
        xp = xp + w["b_ih"]
    steps = _steps(p["batch_sizes"], p["reverse"])
    # forward again: per step (rows, activations, previous h, previous c)
    h, c, saved = h0, c0, []
    for start, b in steps:
        hp, cp = h[:b], c[:b]
        hw = matmul(hp, w["w_hh"].T)
        if w["b_hh"] is not None:
            hw = hw + w["b_hh"]
        acts, hb, cb = _cell(mode, xp[start:start + b], hw, hp, cp, hh)
        saved.append((start, b, acts, hw, hp, cp))
        h = _rows_replaced(h, hb, b)
        c = _rows_replaced(c, cb, b) if cb is not None else c
    # backward, step by step
    dh = g[n:n + batch]
    dc = g[n + batch:] if mode == "lstm" else None
    dzx, dzh = {}, {}
    for start, b, acts, hw, hp, cp in reversed(saved):
        dhb = dh[:b] + g[start:start + b]
        dcb = dc[:b] if dc is not None else None
        zx, zh, dhp, dcp = _cell_backward(mode, acts, hw, hp, cp, dhb, dcb, hh)
        dzx[start], dzh[start] = zx, zh
        dh = _rows_replaced(dh, dhp + matmul(zh, w["w_hh"]), b)
        if dc is not None:
            dc = _rows_replaced(dc, dcp, b)
    order = sorted(dzx)
    zx = cat([dzx[s] for s in order])
    zh = cat([dzh[s] for s in order])
    hprev = cat([hp for _, _, _, _, hp, _ in sorted(saved, key=lambda s: s[0])])
    need = ctx.needs_input_grad
    gx = matmul(zx, w["w_ih"]) if need[0] else None
    gflat = None
    if need[1]:
        parts = [matmul(zx.T, x), matmul(zh.T, hprev)]
        if p["has_bias"]:
            parts += [zx.sum(0), zh.sum(0)]
        if p["has_h0"]:
            parts.append(dh)
        if p["has_c0"]:
            parts.append(dc)
        gflat = cat([q.reshape(-1) for q in parts])
    return gx, gflat


def _rows_replaced(state, rows, b):
    """``state`` with its first b rows replaced by ``rows`` (a new tensor)."""
    return rows if b == state.shape[0] else cat([rows, state[b:]])


def _cell(mode, xz, hw, hp, cp, hh):
    """One step with tapegrad ops from the pre-activations xz (input side, with b_ih) and
    hw (state side, with b_hh): (activations, h', c')."""
    if mode == "lstm":
        z = xz + hw
        i, f, g, o = (z[:, k * hh:(k + 1) * hh] for k in range(4))
        i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
        c = f * cp + i * g
        tc = c.tanh()
        return (i, f, g, o, tc), o * tc, c
    if mode == "gru":
        r = (xz[:, :hh] + hw[:, :hh]).sigmoid()
        z = (xz[:, hh:2 * hh] + hw[:, hh:2 * hh]).sigmoid()
        n = (xz[:, 2 * hh:] + r * hw[:, 2 * hh:]).tanh()
        return (r, z, n), n + z * (hp - n), None
    z = xz + hw
    h = z.relu() if mode == "rnn_relu" else z.tanh()
    return (h,), h, None


def _cell_backward(mode, acts, hw, hp, cp, dh, dc, hh):
    """One step's backward with tapegrad ops: (dz input side, dz state side, the part of
    dh_prev not through W_hh, dc_prev)."""
    if mode == "lstm":
        i, f, g, o, tc = acts
        dc = dc + dh * o * (1 - tc * tc)
        dz = cat([dc * g * i * (1 - i), dc * cp * f * (1 - f), dc * i * (1 - g * g),
                  dh * tc * o * (1 - o)], 1)
        return dz, dz, 0, dc * f
    if mode == "gru":
        r, z, n = acts
        dn = dh * (1 - z) * (1 - n * n)
        dr = dn * hw[:, 2 * hh:] * r * (1 - r)
        dzz = dh * (hp - n) * z * (1 - z)
        return cat([dr, dzz, dn], 1), cat([dr, dzz, dn * r], 1), dh * z, None
    (h,) = acts
    dz = dh * ((h > 0).to(h.dtype) if mode == "rnn_relu" else 1 - h * h)
    return dz, dz, 0, None


# ---- forward mode that records itself (nested levels, forward-over-reverse) ------------------
def _recorded_jvp(ctx, tx, tflat):
    """The same tangent written with tapegrad ops: the recurrence is run again (recorded) and
    each step linearized around it, so the tangent is differentiable in x, the weights and
    the tangents (a jvp of a jvp; reverse mode through a tangent)."""
    p, need = ctx.params, ctx.needs_input_grad
    x, flat = _as_tensor(ctx.x), _as_tensor(ctx.y)
    half = x._data.dtype == _F16
    dtype = _F32 if half else x._data.dtype
    x, flat = cast(x, dtype), cast(flat, dtype)     # float16 runs in float32, as the arrays do
    tx, tflat = _live_tangent(tx, need[0], dtype), _live_tangent(tflat, need[1], dtype)
    w = _split(flat, p)
    tw = dict.fromkeys(w) if tflat is None else _split(tflat, p)
    mode, hh, batch = p["mode"], p["hidden"], p["batch"]
    zeros = wrap(np.zeros((batch, hh), dtype))
    h = w["h0"] if w["h0"] is not None else zeros
    c = w["c0"] if w["c0"] is not None else zeros
    th = tw["h0"] if tw["h0"] is not None else zeros
    tc = tw["c0"] if tw["c0"] is not None else zeros
    xp = matmul(x, w["w_ih"].T)
    if w["b_ih"] is not None:
        xp = xp + w["b_ih"]
    # the input side's pre-activation tangent for all rows at once (None: zero)
    txp = _sum(None if tx is None else matmul(tx, w["w_ih"].T),
               None if tw["w_ih"] is None else matmul(x, tw["w_ih"].T), tw["b_ih"])
    rows = {}
    for start, b in _steps(p["batch_sizes"], p["reverse"]):
        hp, cp, thp, tcp = h[:b], c[:b], th[:b], tc[:b]
        hw = matmul(hp, w["w_hh"].T)
        if w["b_hh"] is not None:
            hw = hw + w["b_hh"]
        acts, hb, cb = _cell(mode, xp[start:start + b], hw, hp, cp, hh)
        thw = _sum(matmul(thp, w["w_hh"].T),
                   None if tw["w_hh"] is None else matmul(hp, tw["w_hh"].T), tw["b_hh"])
        txz = None if txp is None else txp[start:start + b]
        thb, tcb = _cell_jvp(mode, acts, hw, hp, cp, txz, thw, thp, tcp, hh)
        rows[start] = thb
        h, th = _rows_replaced(h, hb, b), _rows_replaced(th, thb, b)
        if cb is not None:
            c, tc = _rows_replaced(c, cb, b), _rows_replaced(tc, tcb, b)
    res = cat([rows[s] for s in sorted(rows)] + [th] + ([tc] if mode == "lstm" else []))
    return cast(res, _F16) if half else res


def _as_tensor(a):
    return a if isinstance(a, Tensor) else wrap(np.asarray(a))


def _live_tangent(t, needed, dtype):
    """A tangent as a Tensor of ``dtype``, or None for an input that has none (it arrives as
    0.0 or as a broadcast zero)."""
    if not needed or np.ndim(t) == 0:
        return None
    return cast(_as_tensor(t), dtype)


def _sum(*terms):
    """The sum of the terms that are not None (None when all are)."""
    total = None
    for t in terms:
        if t is not None:
            total = t if total is None else total + t
    return total


def _cell_jvp(mode, acts, hw, hp, cp, txz, thw, thp, tcp, hh):
    """One step's tangent with tapegrad ops (the step as ``_cell`` ran it), from the tangents
    of the input side's pre-activations txz (None: zero), of the state side's thw, and of
    the previous state thp, tcp: (tangent of h', tangent of c' or None)."""
    if mode == "lstm":
        i, f, g, o, tc = acts
        tz = _sum(txz, thw)
        ti, tf, tg, to = (tz[:, k * hh:(k + 1) * hh] for k in range(4))
        tcn = tf * f * (1 - f) * cp + f * tcp + ti * i * (1 - i) * g + i * (1 - g * g) * tg
        return to * o * (1 - o) * tc + o * (1 - tc * tc) * tcn, tcn
    if mode == "gru":
        r, z, n = acts
        tx_r, tx_z, tx_n = (None if txz is None else txz[:, k * hh:(k + 1) * hh]
                            for k in range(3))
        tr = r * (1 - r) * _sum(tx_r, thw[:, :hh])
        tz = z * (1 - z) * _sum(tx_z, thw[:, hh:2 * hh])
        tn = (1 - n * n) * _sum(tx_n, tr * hw[:, 2 * hh:] + r * thw[:, 2 * hh:])
        return tn + tz * (hp - n) + z * (thp - tn), None      # h' = n + z (h - n)
    (h,) = acts
    tz = _sum(txz, thw)
    return (where(h > 0, tz, 0.0) if mode == "rnn_relu" else tz * (1 - h * h)), None


# ---- registration and the caller's entry point ---------------------------------------------
# NOTE: primitives for speed (Note [Recurrent layer primitive]); one entry per cell type so
# that grad_fn names say which (LstmLayerBackward0), all sharing the rules.
OPS = {mode: register(OpDef(f"{mode}_layer", _forward, recurrent_vjp, recurrent_jvp,
                            save=("x", "y", "out")))
       for mode in GATES}


def recurrent_layer(mode, x, w_ih, w_hh, b_ih, b_hh, h0, c0, batch_sizes, reverse):
    """One recurrent layer in one direction over packed rows, as one node.

    Arguments are checked by the caller: ``mode`` one of "rnn_tanh", "rnn_relu", "lstm",
    "gru"; x (N, input_size) rows packed by step (``batch_sizes``: a tuple of non-increasing
    ints summing to N); weights (G * H, input_size) and (G * H, H); biases (G * H,) or both
    None; h0 and c0 (batch_sizes[0], H) or None (zeros; c0 only for LSTM), one dtype.

    Returns:
        (output (N, H), h_n (B, H), c_n (B, H) or None).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.ops.nn.recurrent import recurrent_layer
        >>> x = tg.ones(3, 1)                      # one sequence of 3 steps
        >>> out, h_n, _ = recurrent_layer("rnn_relu", x, tg.ones(1, 1), tg.ones(1, 1), None,
        ...                               None, None, None, (1, 1, 1), False)
        >>> out.reshape(-1), h_n
        (tensor([1., 2., 3.]), tensor([[3.]]))
    """
    batch, hidden = batch_sizes[0], w_hh.shape[1]
    pieces = [w_ih.reshape(-1), w_hh.reshape(-1)]
    if b_ih is not None:
        pieces += [b_ih, b_hh]
    if h0 is not None:
        pieces.append(h0.reshape(-1))
    if c0 is not None:
        pieces.append(c0.reshape(-1))
    params = {"mode": mode, "batch_sizes": tuple(int(b) for b in batch_sizes),
              "reverse": bool(reverse), "hidden": int(hidden), "input_size": int(x.shape[1]),
              "gates": GATES[mode], "batch": int(batch), "has_bias": b_ih is not None,
              "has_h0": h0 is not None, "has_c0": c0 is not None, "trace": Trace()}
    out = apply(OPS[mode], (x, cat(pieces)), params)
    n = x.shape[0]
    c_n = out[n + batch:] if mode == "lstm" else None
    return out[:n], out[n:n + batch], c_n
