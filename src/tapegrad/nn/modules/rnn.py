"""Recurrent layers: RNN (tanh or relu), LSTM and GRU over whole sequences, and the one-step
cells RNNCell, LSTMCell and GRUCell, as PyTorch's.

The sequence layers run each layer and direction as one node
(``tapegrad.ops.nn.recurrent.recurrent_layer``, Note [Recurrent layer primitive]) over the
rows of a packed batch; a padded (T, B, *) input is the packing with equal batch sizes. The
cells are one step written with nn.functional (linear, sigmoid, tanh).
Parameter names, shapes, order and the initialisation U(-1/sqrt(hidden), 1/sqrt(hidden)) of
every weight and bias are PyTorch's, so state dicts move between the two.
"""
import math
import numbers
import warnings

from ..._core.errors import ArgumentError, DTypeError, NotSupportedError, ShapeError
from ..._core.tensor import Tensor
from ...ops.creation import empty, zeros
from ...ops.index_ops import index_select
from ...ops.nn.recurrent import recurrent_layer
from ...ops.shape import cat, stack
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_KERNEL = {"RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu", "LSTM": "lstm", "GRU": "gru"}


def _shape(t):
    return tuple(t.shape)


class RNNBase(Module):
    """The common part of RNN, LSTM and GRU: parameters, checks and the layer loop.

    Args:
        mode: "RNN_TANH", "RNN_RELU", "LSTM" or "GRU".
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
        device, dtype: as in :class:`LSTM`.
        proj_size: must be 0 (LSTM projections are not supported).

    Example:
        >>> import tapegrad as tg
        >>> m = tg.nn.RNNBase("GRU", 2, 3)
        >>> [name for name, _ in m.named_parameters()]
        ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0']
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        super().__init__()
        if mode not in _GATES:
            raise ArgumentError(f"Unrecognized RNN mode: {mode!r}; expected one of "
                                f"{', '.join(_GATES)}.")
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ArgumentError(f"{name}: dropout should be a number in range [0, 1] "
                                "representing the probability of an element being zeroed, "
                                f"got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        for what, v in (("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError(f"{name}: {what} should be of type int, got: "
                                f"{type(v).__name__}")
            if v <= 0:
                raise ArgumentError(f"{name}: {what} must be greater than zero, got {v}")
        if proj_size < 0:
            raise ArgumentError(f"{name}: proj_size should be a positive integer or zero to "
                                f"disable projections, got {proj_size}")
        if proj_size >= hidden_size:
            raise ArgumentError(f"{name}: proj_size has to be smaller than hidden_size, got "
                                f"proj_size={proj_size} and hidden_size={hidden_size}")
        if proj_size:
            if mode != "LSTM":
                raise ArgumentError(f"{name}: proj_size argument is only supported for LSTM, "
                                    "not RNN or GRU")
            raise NotSupportedError(f"LSTM: proj_size={proj_size} (projected hidden states) "
                                    "is not supported in tapegrad; use proj_size=0, or follow "
                                    "the LSTM with an nn.Linear.")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        factory = {"device": device, "dtype": dtype}
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                names = []
                for kind, shape in shapes:
                    setattr(self, kind + suffix, Parameter(empty(shape, **factory)))
                    names.append(kind + suffix)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def flatten_parameters(self):
        """Nothing to do (PyTorch compacts cuDNN weights here); kept for compatibility."""

    @property
    def all_weights(self):
        """The parameters, one list [w_ih, w_hh, (b_ih, b_hh)] per layer and direction."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    def _name(self):
        return type(self).__name__

    # ---- forward ----------------------------------------------------------------------------
    def _prepare_input(self, input):
        """(rows (N, input_size), batch_sizes, packed, batched, steps) for any input form."""
        name = self._name()
        if isinstance(input, PackedSequence):
            data = input.data
            sizes = input.batch_sizes
            batch_sizes = tuple(int(b) for b in (sizes.tolist() if isinstance(sizes, Tensor)
                                                 else sizes))
            if data.ndim != 2:
                raise ShapeError(f"{name}: packed data must be (N, input_size), got shape "
                                 f"{_shape(data)}.")
            rows = data
            steps = len(batch_sizes)
            batched = True
        else:
            if not isinstance(input, Tensor):
                raise TypeError(f"{name}: input must be a Tensor or a PackedSequence, got "
                                f"{type(input).__name__}")
            if input.ndim not in (2, 3):
                raise ShapeError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D "
                                 f"instead (input of shape {_shape(input)}).")
            batched = input.ndim == 3
            x = input if batched else input.unsqueeze(1)
            if self.batch_first and batched:
                x = x.transpose(0, 1)
            steps, batch = x.shape[0], x.shape[1]
            if steps == 0 or batch == 0:
                raise ShapeError(f"{name}: input of shape {_shape(input)} has no "
                                 "steps or no sequences; at least one of each is needed.")
            rows = x.reshape(steps * batch, x.shape[2])
            batch_sizes = (batch,) * steps
        if rows.shape[-1] != self.input_size:
            given = input.data if isinstance(input, PackedSequence) else input
            raise ShapeError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                             f"{self.input_size}, got {rows.shape[-1]} (input of shape "
                             f"{_shape(given)}).")
        w = self.weight_ih_l0
        if rows.dtype != w.dtype:
            raise DTypeError(f"{name}: input dtype {rows.dtype} doesn't match the parameters' "
                             f"dtype {w.dtype}; convert one (input.to(dtype) or "
                             "module.to(dtype)).")
        return rows, batch_sizes, isinstance(input, PackedSequence), batched, steps

    def _check_hidden(self, hx, batched, batch, which):
        """hx as (num_layers * directions, batch, hidden) (unsqueezed when unbatched)."""
        name = self._name()
        expected = (self.num_layers * (2 if self.bidirectional else 1), batch, self.hidden_size)
        if not isinstance(hx, Tensor):
            raise TypeError(f"{name}: {which} must be a Tensor, got {type(hx).__name__}")
        if not batched:
            hx = hx.unsqueeze(1)
        if _shape(hx) != expected:
            shown = expected if batched else (expected[0], expected[2])
            got = _shape(hx) if batched else _shape(hx)[:1] + _shape(hx)[2:]
            raise ShapeError(f"{name}: Expected {which} size {shown}, got {list(got)}.")
        if hx.dtype != self.weight_ih_l0.dtype:
            raise DTypeError(f"{name}: {which} dtype {hx.dtype} doesn't match the parameters' "
                             f"dtype {self.weight_ih_l0.dtype}.")
        return hx

    def _check_hidden_dims(self, states, batched):
        """PyTorch's rank check: hx (and cx) 3-D for a batched input, 2-D for an unbatched."""
        want = 3 if batched else 2
        if all(isinstance(s, Tensor) and s.ndim == want for s in states):
            return
        dims = [f"{s.ndim}-D" if isinstance(s, Tensor) else type(s).__name__ for s in states]
        kind = "batched 3-D" if batched else "unbatched 2-D"
        if len(states) == 1:
            msg = f"For {kind} input, hx should also be {want}-D but got {dims[0]} tensor"
        else:
            msg = (f"For {kind} input, hx and cx should also be {want}-D but got "
                   f"({dims[0]}, {dims[1]}) tensors")
        shapes = ", ".join(str(_shape(s)) for s in states if isinstance(s, Tensor))
        raise ShapeError(f"{self._name()}: {msg} (shapes {shapes}).")

    def _run(self, input, states):
        """The layer loop; ``states`` is None or a tuple (h0,) / (h0, c0). Returns (output in
        the input's form, tuple of final states in PyTorch's shapes)."""
        rows, batch_sizes, packed, batched, steps = self._prepare_input(input)
        batch = batch_sizes[0]
        sorted_indices = input.sorted_indices if packed else None
        unsorted_indices = input.unsorted_indices if packed else None
        if states is not None:
            self._check_hidden_dims(states, batched)
            names = ("hx",) if len(states) == 1 else ("hidden[0]", "hidden[1]")
            states = tuple(self._check_hidden(s, batched, batch, n)
                           for s, n in zip(states, names))
            if sorted_indices is not None:
                states = tuple(index_select(s, 1, sorted_indices) for s in states)
        kernel = _KERNEL[self.mode]
        directions = 2 if self.bidirectional else 1
        finals = [[], []]
        all_weights = self.all_weights
        layer_input = rows
        for layer in range(self.num_layers):
            outs = []
            for direction in range(directions):
                k = layer * directions + direction
                weights = all_weights[k]
                w_ih, w_hh = weights[:2]
                b_ih, b_hh = weights[2:] if self.bias else (None, None)
                h0 = None if states is None else states[0][k]
                c0 = None if states is None or len(states) < 2 else states[1][k]
                out, h_n, c_n = recurrent_layer(kernel, layer_input, w_ih, w_hh, b_ih, b_hh,
                                                h0, c0, batch_sizes, direction == 1)
                outs.append(out)
                finals[0].append(h_n)
                finals[1].append(c_n)
            layer_input = outs[0] if directions == 1 else cat(outs, 1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        result = [stack(finals[0])]
        if kernel == "lstm":
            result.append(stack(finals[1]))
        if unsorted_indices is not None:
            result = [index_select(s, 1, unsorted_indices) for s in result]
        if packed:
            output = PackedSequence(layer_input, input.batch_sizes, sorted_indices,
                                    unsorted_indices)
        else:
            output = layer_input.reshape(steps, batch, layer_input.shape[1])
            if not batched:
                output = output.squeeze(1)
                result = [s.squeeze(1) for s in result]
            elif self.batch_first:
                output = output.transpose(0, 1)
        return output, tuple(result)


class RNN(RNNBase):
    """A multi-layer Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act
    tanh or relu.

    Args:
        input_size: features of each step's input.
        hidden_size: features of the state h.
        num_layers: stacked layers (default 1).
        nonlinearity: "tanh" (default) or "relu".
        bias: whether the layers have b_ih and b_hh (default True).
        batch_first: input and output are (B, T, *) instead of (T, B, *) (not h_n).
        dropout: dropout probability on the outputs of each layer but the last (training
            only).
        bidirectional: run every layer both ways and concatenate (output 2 * hidden_size).
        device, dtype: of the parameters.

    Inputs: ``input`` (T, B, input_size), (T, input_size) unbatched, or a PackedSequence;
    ``hx`` (num_layers * directions, B, hidden_size) or None (zeros).
    Returns (output, h_n): output (T, B, directions * hidden_size) (a PackedSequence for a
    packed input), h_n (num_layers * directions, B, hidden_size).

    Example:
        >>> import tapegrad as tg
        >>> rnn = tg.nn.RNN(4, 3, num_layers=2)
        >>> out, h_n = rnn(tg.randn(5, 2, 4))
        >>> tuple(out.shape), tuple(h_n.shape)
        ((5, 2, 3), (2, 2, 3))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(f"RNN: Unknown nonlinearity '{nonlinearity}'. Select from "
                                "'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         0, device, dtype)

    def forward(self, input, hx=None):
        output, (h_n,) = self._run(input, None if hx is None else (hx,))
        return output, h_n


class LSTM(RNNBase):
    """A multi-layer long short-term memory RNN, with PyTorch's gates (i, f, g, o):
    c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t).

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
        device, dtype: as in :class:`RNN`.
        proj_size: must be 0 (projections are not supported).

    Inputs: ``input`` as in :class:`RNN`; ``hx`` a tuple (h0, c0), each
    (num_layers * directions, B, hidden_size), or None (zeros).
    Returns (output, (h_n, c_n)).

    Example:
        >>> import tapegrad as tg
        >>> lstm = tg.nn.LSTM(4, 3, bidirectional=True, batch_first=True)
        >>> out, (h_n, c_n) = lstm(tg.randn(2, 5, 4))
        >>> tuple(out.shape), tuple(h_n.shape), tuple(c_n.shape)
        ((2, 5, 6), (2, 2, 3), (2, 2, 3))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError("LSTM: hx must be a tuple (h_0, c_0) of two tensors, got "
                            f"{type(hx).__name__}")
        output, (h_n, c_n) = self._run(input, None if hx is None else tuple(hx))
        return output, (h_n, c_n)


class GRU(RNNBase):
    """A multi-layer gated recurrent unit RNN, with PyTorch's gates (r, z, n):
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
        device, dtype: as in :class:`RNN`.

    Inputs and outputs as in :class:`RNN`.

    Example:
        >>> import tapegrad as tg
        >>> gru = tg.nn.GRU(4, 3)
        >>> out, h_n = gru(tg.randn(5, 4))            # unbatched
        >>> tuple(out.shape), tuple(h_n.shape)
        ((5, 3), (1, 3))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)

    def forward(self, input, hx=None):
        output, (h_n,) = self._run(input, None if hx is None else (hx,))
        return output, h_n


# ---- cells ----------------------------------------------------------------------------------
class RNNCellBase(Module):
    """The common part of the cells: weight_ih (G * hidden, input), weight_hh
    (G * hidden, hidden), bias_ih and bias_hh (G * hidden,), all ~ U(-1/sqrt(hidden),
    1/sqrt(hidden)).

    Example:
        >>> import tapegrad as tg
        >>> [tuple(p.shape) for p in tg.nn.RNNCellBase(2, 3, True, 4).parameters()]
        [(12, 2), (12, 3), (12,), (12,)]
    """

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        factory = {"device": device, "dtype": dtype}
        self.weight_ih = Parameter(empty((num_chunks * hidden_size, input_size), **factory))
        self.weight_hh = Parameter(empty((num_chunks * hidden_size, hidden_size), **factory))
        if bias:
            self.bias_ih = Parameter(empty((num_chunks * hidden_size,), **factory))
            self.bias_hh = Parameter(empty((num_chunks * hidden_size,), **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        if nonlinearity != "tanh":
            s += f", nonlinearity={nonlinearity}"
        return s

    def _prepare(self, input, states):
        """(input (B, input_size), states each (B, hidden_size), batched) after the checks;
        missing states are zeros."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ShapeError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D "
                             f"instead (input of shape {_shape(input)}).")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        if x.shape[1] != self.input_size:
            raise ShapeError(f"{name}: input has inconsistent input_size: got {x.shape[1]} "
                             f"expected {self.input_size} (input of shape {_shape(input)}).")
        if x.dtype != self.weight_ih.dtype:
            raise DTypeError(f"{name}: input dtype {x.dtype} doesn't match the parameters' "
                             f"dtype {self.weight_ih.dtype}.")
        out = []
        for k, s in enumerate(states):
            if s is None:
                out.append(zeros((x.shape[0], self.hidden_size), dtype=x.dtype))
                continue
            if not isinstance(s, Tensor):
                raise TypeError(f"{name}: hidden state must be a Tensor, got "
                                f"{type(s).__name__}")
            if s.ndim != input.ndim:
                raise ShapeError(f"{name}: hidden{k} must be {input.ndim}-D like the input, "
                                 f"got shape {_shape(s)} for input of shape {_shape(input)}.")
            s = s if batched else s.unsqueeze(0)
            if s.shape[0] != x.shape[0]:
                raise ShapeError(f"{name}: Input batch size {x.shape[0]} doesn't match "
                                 f"hidden{k} batch size {s.shape[0]} (input {_shape(input)}, "
                                 f"hidden{k} {_shape(states[k])}).")
            if s.shape[1] != self.hidden_size:
                raise ShapeError(f"{name}: hidden{k} has inconsistent hidden_size: got "
                                 f"{s.shape[1]}, expected {self.hidden_size} (hidden{k} of "
                                 f"shape {_shape(states[k])}).")
            out.append(s)
        return x, out, batched

    def _gates(self, x, h):
        return (F.linear(x, self.weight_ih, self.bias_ih),
                F.linear(h, self.weight_hh, self.bias_hh))


class RNNCell(RNNCellBase):
    """One step of an Elman RNN: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh).

    Args:
        input_size, hidden_size: features of x and h.
        bias: whether there are b_ih and b_hh (default True).
        nonlinearity: "tanh" (default) or "relu".
        device, dtype: of the parameters.

    Inputs ``input`` (B, input_size) or (input_size,), ``hx`` (B, hidden_size) /
    (hidden_size,) or None (zeros); returns h'.

    Example:
        >>> import tapegrad as tg
        >>> cell = tg.nn.RNNCell(4, 3)
        >>> tuple(cell(tg.randn(2, 4)).shape)
        (2, 3)
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(f"RNNCell: Unknown nonlinearity: {nonlinearity}. Select from "
                                "'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, (hx,))
        gi, gh = self._gates(x, h)
        h = F.relu(gi + gh) if self.nonlinearity == "relu" else F.tanh(gi + gh)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step with PyTorch's gates (i, f, g, o): c' = f * c + i * g,
    h' = o * tanh(c').

    Args:
        input_size, hidden_size, bias, device, dtype: as in :class:`RNNCell`.

    Inputs ``input`` as in :class:`RNNCell`, ``hx`` a tuple (h, c) or None (zeros);
    returns (h', c').

    Example:
        >>> import tapegrad as tg
        >>> h, c = tg.nn.LSTMCell(4, 3)(tg.randn(2, 4))
        >>> tuple(h.shape), tuple(c.shape)
        ((2, 3), (2, 3))
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError("LSTMCell: hx must be a tuple (h, c) of two tensors, got "
                            f"{type(hx).__name__}")
        x, (h, c), batched = self._prepare(input, (None, None) if hx is None else tuple(hx))
        gi, gh = self._gates(x, h)
        i, f, g, o = (gi + gh).chunk(4, 1)
        c = F.sigmoid(f) * c + F.sigmoid(i) * F.tanh(g)
        h = F.sigmoid(o) * F.tanh(c)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step with PyTorch's gates (r, z, n): n = tanh(W_in x + b_in +
    r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h.

    Args:
        input_size, hidden_size, bias, device, dtype: as in :class:`RNNCell`.

    Inputs and output as in :class:`RNNCell`.

    Example:
        >>> import tapegrad as tg
        >>> tuple(tg.nn.GRUCell(4, 3)(tg.randn(4)).shape)
        (3,)
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, (hx,))
        gi, gh = self._gates(x, h)
        i_r, i_z, i_n = gi.chunk(3, 1)
        h_r, h_z, h_n = gh.chunk(3, 1)
        r = F.sigmoid(i_r + h_r)
        z = F.sigmoid(i_z + h_z)
        n = F.tanh(i_n + r * h_n)
        h = n + z * (h - n)
        return h if batched else h.squeeze(0)
