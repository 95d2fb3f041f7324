"""Op database rows for the recurrent layer primitives (tapegrad.ops.nn.recurrent), one per
cell type (see tests/opinfo.py for what a row is).

Each row calls the primitive itself on (x, flat): packed rows x (N, input_size) and the
vector of weight_ih, weight_hh, the biases, h0 and c0 that nn.RNN/LSTM/GRU build, so the
generic tests see the primitive's own rules (the dot test takes the node of the output).
The reference runs the recurrence step by step in float64 NumPy with PyTorch's gate formulas.
"""
import numpy as np

from opinfo import OpInfo, Sample, uniform
from tapegrad.ops.nn.recurrent import GATES, OPS, Trace
from tapegrad.ops.registry import apply

I, H = 2, 2


def _params(mode, batch_sizes, reverse, has_bias, has_h0, has_c0):
    return {"mode": mode, "batch_sizes": batch_sizes, "reverse": reverse, "hidden": H,
            "input_size": I, "gates": GATES[mode], "batch": batch_sizes[0],
            "has_bias": has_bias, "has_h0": has_h0, "has_c0": has_c0}


def layer_fn(mode):
    def fn(x, flat, *, batch_sizes, reverse, has_bias, has_h0, has_c0):
        params = _params(mode, batch_sizes, reverse, has_bias, has_h0, has_c0)
        return apply(OPS[mode], (x, flat), {**params, "trace": Trace()})
    fn.__name__ = f"{mode}_layer"
    return fn


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def layer_ref(mode):
    def ref(x, flat, *, batch_sizes, reverse, has_bias, has_h0, has_c0):
        g, b_total = GATES[mode] * H, batch_sizes[0]
        sizes = [("w_ih", (g, I)), ("w_hh", (g, H))]
        sizes += [("b_ih", (g,)), ("b_hh", (g,))] if has_bias else []
        sizes += [("h0", (b_total, H))] if has_h0 else []
        sizes += [("c0", (b_total, H))] if has_c0 else []
        w, k = {"b_ih": np.zeros(g), "b_hh": np.zeros(g), "h0": np.zeros((b_total, H)),
                "c0": np.zeros((b_total, H))}, 0
        for name, shape in sizes:
            n = int(np.prod(shape))
            w[name] = flat[k:k + n].astype(np.float64).reshape(shape)
            k += n
        h, c = w["h0"].copy(), w["c0"].copy()
        starts = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]]).astype(int)
        order = range(len(batch_sizes))
        out = np.zeros((x.shape[0], H))
        for t in (reversed(order) if reverse else order):
            s, b = starts[t], batch_sizes[t]
            gi = x[s:s + b] @ w["w_ih"].T + w["b_ih"]
            gh = h[:b] @ w["w_hh"].T + w["b_hh"]
            if mode == "lstm":
                i, f, gg, o = np.split(gi + gh, 4, axis=1)
                c[:b] = _sigmoid(f) * c[:b] + _sigmoid(i) * np.tanh(gg)
                h[:b] = _sigmoid(o) * np.tanh(c[:b])
            elif mode == "gru":
                r = _sigmoid(gi[:, :H] + gh[:, :H])
                z = _sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
                n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
                h[:b] = (1 - z) * n + z * h[:b]
            else:
                a = gi + gh
                h[:b] = np.maximum(a, 0) if mode == "rnn_relu" else np.tanh(a)
            out[s:s + b] = h[:b]
        parts = [out, h] + ([c] if mode == "lstm" else [])
        return np.concatenate(parts).astype(x.dtype)
    return ref


# (batch_sizes, reverse, bias, h0/c0 given): padded, packed both ways, no bias, no state
CASES = [((2, 2, 2), False, True, True), ((3, 2, 1), False, True, True),
         ((3, 2, 2, 1), True, True, True), ((2, 1), True, False, False),
         ((1, 1, 1), False, False, True)]


def layer_samples(mode):
    def gen(op, dtype, rng):
        out = []
        for batch_sizes, reverse, bias, state in CASES:
            g = GATES[mode] * H
            size = g * I + g * H + (2 * g if bias else 0)
            has_c0 = state and mode == "lstm"
            size += batch_sizes[0] * H * (int(state) + int(has_c0))
            x = uniform(rng, (sum(batch_sizes), I), dtype, (-1.5, 1.5))
            flat = uniform(rng, (size,), dtype, (-1, 1))
            if mode == "rnn_relu":          # pre-activations away from relu's kink at 0
                flat = np.where(np.abs(flat) < 0.1, flat + 0.2, flat).astype(dtype)
            kwargs = {"batch_sizes": batch_sizes, "reverse": reverse, "has_bias": bias,
                      "has_h0": state, "has_c0": has_c0}
            out.append(Sample((x, flat), kwargs,
                              desc=f"{mode} {batch_sizes} reverse={reverse} bias={bias} "
                                   f"state={state}"))
        return out
    return gen


ROWS = [OpInfo(f"{mode}_layer", layer_fn(mode), layer_ref(mode), layer_samples(mode), api=())
        for mode in GATES]
PARITY = []
