"""Anomaly detection: the first op whose forward, or rule whose backward, makes a nan or an
inf raises, naming the op, the phase, your line and what its inputs held.

# Note [Anomaly detection]
Scanning every op's output for nan (what PyTorch's ``detect_anomaly(check_nan=True)`` does
for backward outputs) costs a pass over memory per op. Instead, tapegrad asks the floating-
point hardware: an IEEE operation that makes a nan or an inf out of finite numbers raises a
flag (invalid, divide by zero, overflow), and NumPy reports raised flags to the callback
set with ``np.errstate(..., call=)`` (per thread). So while nothing goes wrong nothing is
scanned:

- Entering the mode sets this thread's NumPy error handling to ``'call'`` (divide, over,
  invalid; underflow is left as it was) with a ``_Watch`` as the callback, makes the watch
  ``STATE.anomaly`` and adds the anomaly instrument (Note [Instruments] in
  ops/instrument.py), which wraps every op's forward and vjp. Leaving undoes all three (the
  instrument goes when the last thread leaves, so outside the mode the op table is as built).
- A wrapper passes straight through in a thread without the mode (instruments are process-
  wide, modes per thread) and inside another wrapped op (a composite, a rule recording
  itself under create_graph=True: the outermost op is the one reported). Otherwise it
  clears the watch's flags, runs the op and looks at the flags. The callback only records
  them. A flag is not yet an anomaly: ``np.where(x > 0, np.log(x), 0)`` raises one and
  gives finite values, so only then is the output scanned.
- Products done by BLAS or LAPACK (matmul, linear, conv, the RNN layers, the linalg ops)
  can overflow without a flag reaching NumPy (the work runs on BLAS's threads), and a
  custom Function's backward is arbitrary code; those outputs are always scanned. The scan
  is one BLAS sum of squares (finite only if every value is; only a non-finite one is
  looked into value by value).
- Deciding: an output holding nan raises; one holding +-inf raises unless an input already
  held a non-finite value (a ``-inf`` attention mask passing through softmax or
  log_softmax is not an anomaly). The message says whether the op made the value from
  finite inputs (the origin), made a nan from an inf it was given (inf - inf), or an input
  already held the nan.
- Values from outside: a nan already in a leaf (data, a parameter) passes through
  arithmetic without a flag. It is not looked for at every op (that is the scan avoided);
  it is named where it first meets a check: an always-scanned op in forward, a flagged op,
  or, in backward, the gradient headed into a leaf (or a grad() input), which the engine
  scans. The message then says the op's input already held it and that no watched op made
  it: look at where that tensor came from.
- The user's own NumPy calls in the region (depth 0) get what they had before the mode: a
  RuntimeWarning, an error, nothing, their own callback (NumPy doesn't tell a callback
  which function flagged, so the warning says "divide by zero encountered" without "in
  log"). The backward loop runs with its own callback that ignores flags outside rules, as
  the engine's ``errstate`` always did.

Cost (benchmarks/anomaly_bench.py): entering and leaving rewraps every op (about 0.25 ms);
inside, a wrapper costs a flag check per op, plus the scans of BLAS outputs and of leaves'
gradients. The MLP step of benchmarks/mlp_step.py in ``with detect_anomaly():`` takes about
1.12x its plain time (PyTorch's ``detect_anomaly(check_nan=True)``: about 1.9x).

Ops that deliberately compute a nan or inf under their own ``np.errstate(... 'ignore')``
(a guarded corner PyTorch also returns nan for) don't flag; what they return is judged at
the next check like any value from outside.
"""
import sys
import threading
import warnings

import numpy as np

from .._core.errors import GradError
from .._core.node import _PKG_DIR, AccumulateGrad, capture_site, format_site
from .._core.state import STATE
from .._core.tensor import Tensor
from ..ops import instrument
from ..ops.registry import REGISTRY
from .grad_mode import _Mode

_ndarray = np.ndarray

# Ops computed (partly) by BLAS/LAPACK, whose outputs are always scanned (see the Note).
BLAS_OPS = frozenset({
    "matmul", "linear", "conv", "conv_transpose", "conv_weight", "cdist", "unfold", "fold",
    "gru_layer", "lstm_layer", "rnn_relu_layer", "rnn_tanh_layer", "det", "slogdet", "inv",
    "solve", "solve_triangular", "cholesky", "qr", "svd", "eigh", "lu_factor", "matrix_exp",
    "resample"})

_KINDS = {"divide by zero": "divide", "overflow": "over", "underflow": "under",
          "invalid value": "invalid"}
_CALL = {"divide": "call", "over": "call", "invalid": "call"}


class AnomalyError(GradError):
    """Raised in anomaly mode by the first op or rule that makes a nan or an inf."""


class _Watch:
    """One thread's anomaly mode: NumPy's floating-point callback, and the state the op
    wrappers share with it. ``depth`` is 1 while a wrapped op runs, ``flags`` the flags
    raised since it started; ``prev``/``prev_call`` NumPy's settings before the mode."""
    __slots__ = ("depth", "flags", "prev", "prev_call", "restore", "active")

    def __init__(self):
        self.depth = self.flags = 0
        self.prev, self.prev_call = np.geterr(), np.geterrcall()
        self.restore = None      # set_detect_anomaly: the settings to put back when it ends
        self.active = False

    def __call__(self, kind, flag):
        """NumPy's callback in the region: inside an op, note the flag; outside (the user's
        own NumPy calls), do what NumPy was set to do before the mode."""
        if self.depth:
            self.flags |= flag
            return
        mode = self.prev.get(_KINDS.get(kind, "invalid"), "warn")
        if mode == "warn":
            # stacklevel 2: the frame that called the ufunc, as NumPy's own warning
            warnings.warn(f"{kind} encountered", RuntimeWarning, stacklevel=2)
        elif mode == "raise":
            raise FloatingPointError(f"{kind} encountered")
        elif mode == "call" and self.prev_call is not None:
            self.prev_call(kind, flag)
        elif mode == "log" and self.prev_call is not None:
            self.prev_call.write(f"Warning: {kind} encountered\n")
        elif mode == "print":
            print(f"Warning: {kind} encountered", file=sys.stderr)

    def in_backward(self, kind, flag):
        """The callback while the engine runs backward: flags outside rules are ignored."""
        if self.depth:
            self.flags |= flag

    def errstate(self):
        """NumPy error handling for the backward loop in the mode (engine.run_backward)."""
        return np.errstate(call=self.in_backward, **_CALL)

    def check_grads(self, node, g, grads, target_of):
        """Engine, after ``node``'s rule ran: scan the gradients it sends into a leaf (or a
        grad() input), which flags can't vouch for (a nan from outside passes arithmetic
        silently); not when the rule's outputs were scanned already (Note [Anomaly
        detection])."""
        op = node.op
        if _always_scanned(op):
            return
        for i, (p, gi) in enumerate(zip(node.parents, grads)):
            if gi is None or not (type(p) is AccumulateGrad
                                  or target_of is not None and p in target_of):
                continue
            data = gi._data if isinstance(gi, Tensor) else gi
            if type(data) is not _ndarray or data.dtype.kind not in "fc" or _finite(data):
                continue
            only = [None] * len(node.parents)
            only[i] = gi
            _judge(op, "backward", tuple(only), _backward_inputs(node, g), node.site, 0)


def _always_scanned(op):
    """BLAS/LAPACK ops and custom Functions' rules (ops outside the table)."""
    return op.name in BLAS_OPS or REGISTRY.get(op.name) is not op


def _finite(a):
    """Whether float array ``a`` holds only finite values, in one pass and no allocation:
    the sum of squares (BLAS dot, about 3x faster than ``sum``) is finite only when every
    value is, or when it overflowed; only then are the values looked at one by one."""
    if a.size == 0:
        return True
    if a.flags.c_contiguous or a.flags.f_contiguous:
        flat = a.ravel(order="K")         # a view
        s = np.vdot(flat, flat)
    else:
        s = a.sum()
    return bool(np.isfinite(s)) or bool(np.isfinite(a).all())


# ---- the instrument ------------------------------------------------------------------------
class _AnomalyInstrument(instrument.Instrument):
    """Wraps every op's forward and vjp (Note [Anomaly detection]); added while some thread
    is in the mode. ``users``: how many modes (all threads) are on."""

    def __init__(self):
        self.users = 0
        self.lock = threading.Lock()
        # Wrappers made for the table's ops, reused while the function they wrap is the same:
        # entering the mode rewraps every op, and building ~300 closures was half its cost.
        # (Ops outside the table, custom Functions' own, are not kept alive by it.)
        self.made = {}

    def _reuse(self, kind, op, fn):
        hit = self.made.get((kind, op))
        return hit[1] if hit is not None and hit[0] is fn else None

    def _keep(self, kind, op, fn, wrapper):
        if REGISTRY.get(op.name) is op:
            self.made[(kind, op)] = (fn, wrapper)
        return wrapper

    def use(self, watch):
        with self.lock:
            watch.active = True
            self.users += 1
            if self.users == 1:
                instrument.add(self)

    def release(self, watch):
        with self.lock:
            if not watch.active:
                return
            watch.active = False
            self.users -= 1
            if self.users == 0:
                instrument.remove(self)

    def wrap_forward(self, op, fn):
        made = self._reuse("forward", op, fn)
        if made is not None:
            return made
        always = _always_scanned(op)

        def forward(*args, **kwargs):
            w = STATE.anomaly
            if not w or w.depth:
                return fn(*args, **kwargs)
            w.depth, w.flags = 1, 0
            try:
                out = fn(*args, **kwargs)
                if w.flags or always:
                    _judge(op, "forward", out, _forward_inputs(args), None, w.flags)
            finally:
                w.depth = 0
            return out
        forward.__name__ = f"{op.name}_forward_anomaly"
        return self._keep("forward", op, fn, forward)

    def wrap_vjp(self, op, fn):
        made = self._reuse("vjp", op, fn)
        if made is not None:
            return made
        always = _always_scanned(op)

        def vjp(ctx, g):
            w = STATE.anomaly
            if not w or w.depth:
                return fn(ctx, g)
            w.depth, w.flags = 1, 0
            try:
                grads = fn(ctx, g)
                if w.flags or always:
                    _judge(op, "backward", grads, _backward_inputs(ctx, g), _node_site(ctx),
                           w.flags)
            finally:
                w.depth = 0
            return grads
        vjp.__name__ = f"{op.name}_vjp_anomaly"
        return self._keep("vjp", op, fn, vjp)


_INSTRUMENT = _AnomalyInstrument()


# ---- judging and reporting (only after a flag, or for always-scanned ops) ----------------
def _float_array(v):
    """``v`` (array, Tensor, NumPy or Python number) as a float array, or None."""
    a = v._data if isinstance(v, Tensor) else v
    if type(a) is not _ndarray:
        if not isinstance(a, (float, complex, np.inexact)):
            return None
        a = np.asarray(a)
    return a if a.dtype.kind in "fc" else None


def _arrays(value):
    """The float arrays in an op's result: (index, array) for each (None: a single one)."""
    if isinstance(value, (tuple, list)):
        found = ((i, _float_array(v)) for i, v in enumerate(value))
        return [(i, a) for i, a in found if a is not None]
    a = _float_array(value)
    return [] if a is None else [(None, a)]


def _forward_inputs(args):
    return [(f"input {i}", a) for i, a in enumerate(args)]


def _backward_inputs(ctx, g):
    """The values a rule reads: the output's gradient and what the op saved."""
    values = [("grad_output", g)]
    for name in getattr(getattr(ctx, "op", None), "save", ()) or ("x", "y", "z", "out"):
        try:
            v = getattr(ctx, name)
        except (AttributeError, KeyError, TypeError):
            continue
        if v is not None:
            values.append((f"saved '{name}'", v))
    return values


def _node_site(ctx):
    """The creation site of the node whose rule runs: the ctx itself in the fast path;
    under create_graph=True the ctx is a copy, so the engine's frame says which node."""
    try:
        return object.__getattribute__(ctx, "site")
    except AttributeError:
        pass
    f = sys._getframe(2)
    while f is not None:
        if f.f_code.co_name == "run_backward" and f.f_code.co_filename.startswith(_PKG_DIR):
            node = f.f_locals.get("node")
            return getattr(node, "site", None)
        f = f.f_back
    return None


def _user_site():
    """The user's line that ran the op: found as a node's creation site is (Note [Creation
    sites]: the first frame outside tapegrad, or STATE.site inside a recorded backward or a
    tangent)."""
    return capture_site(2)


def _counts(a):
    """(nan, +inf, -inf) counts of float array ``a``."""
    if a.dtype.kind == "c":
        return (int(np.isnan(a).sum()), int(np.isinf(a).sum()), 0)
    return (int(np.isnan(a).sum()), int(np.isposinf(a).sum()), int(np.isneginf(a).sum()))


def _describe(name, v):
    """One line of statistics about a value an op read."""
    a = v._data if isinstance(v, Tensor) else v
    if type(a) is not _ndarray:
        if isinstance(a, (int, float, complex, np.number)):
            return f"  {name}: the number {a!r}"
        return f"  {name}: {type(a).__name__}"
    head = f"  {name}: shape {a.shape}, dtype {a.dtype}"
    if a.dtype.kind not in "fc" or a.size == 0:
        return head
    nan, pinf, ninf = _counts(a)
    real = a.real if a.dtype.kind == "c" else a
    ok = real[np.isfinite(real)]
    span = (f"min {ok.min():.6g}, max {ok.max():.6g} (finite values)" if ok.size
            else "no finite value")
    bad = ", ".join(f"{n} {w}" for n, w in ((nan, "nan"), (pinf, "+inf"), (ninf, "-inf")) if n)
    return f"{head}, {span}, " + (f"non-finite: {bad}" if bad else "all finite")


def _flag_names(flags):
    names = [w for bit, w in ((1, "divide by zero"), (2, "overflow"), (8, "invalid value"))
             if flags & bit]
    return ", ".join(names)


def _judge(op, phase, out, inputs, site, flags):
    """Raise AnomalyError if ``out`` (an op's result, or a rule's gradients) holds a nan, or
    an inf that no input already held (Note [Anomaly detection]); else return."""
    bad = []
    for i, a in _arrays(out):
        if not _finite(a):
            bad.append((i, a) + _counts(a))
    if not bad:
        return              # a flag that ended in finite values (np.where guards), or none
    in_nan = in_nonfinite = False
    for _, v in inputs:
        a = _float_array(v)
        if a is not None and not _finite(a):
            in_nonfinite = True
            in_nan = in_nan or bool(np.isnan(a).any())
    made_nan = any(nan for _, _, nan, _, _ in bad)
    if not made_nan and in_nonfinite:
        return              # an inf passed through (a -inf mask): not a new value
    if site is None:
        site = _user_site()
    what = []
    for i, a, nan, pinf, ninf in bad:
        held = ", ".join(f"{n} {w}" for n, w in ((nan, "nan"), (pinf, "+inf"), (ninf, "-inf"))
                         if n)
        where = ("its output" if phase == "forward" else "the gradient") if i is None else (
            f"output {i}" if phase == "forward" else f"the gradient of input {i}")
        what.append(f"{held} in {where} (shape {a.shape})")
    if in_nan:
        lead = "from inputs that already held nan"
        advice = ("No watched op made it: it came from outside (a leaf or data tensor "
                  "holding nan, or a tensor changed in place outside the watched ops); "
                  "look at where that input came from.")
    elif in_nonfinite:
        lead = "from an inf its inputs held"
        advice = ("This op is where the nan starts (inf - inf, 0 * inf); the inf passed "
                  "through earlier ops (a -inf mask, a leaf); keep it out of this op.")
    elif phase == "forward":
        lead = "from finite inputs"
        advice = ("This op is where it starts. Keep its inputs in its domain (clamp, "
                  "tapegrad.where on the input rather than the output, a smaller scale or "
                  "a wider dtype for overflow).")
    else:
        lead = "from finite values"
        advice = (f"The derivative of '{op.name}' is not finite at these inputs (sqrt or "
                  "log at 0, a division by 0, an overflow). Keep the inputs away from that "
                  "point (add an epsilon, clamp), or guard the input with tapegrad.where "
                  "rather than the output.")
    if flags:
        lead += f" (NumPy flagged: {_flag_names(flags)})"
    where_made = ("ran at" if phase == "forward" else "created at")
    stats = "\n".join(_describe(name, v) for name, v in inputs)
    raise AnomalyError(
        f"detect_anomaly: '{op.name}' ({phase}, {where_made} {format_site(site)}) produced "
        f"{'; '.join(what)} {lead}. {advice}\nits inputs:\n{stats}")


# ---- the public API ------------------------------------------------------------------------
class detect_anomaly(_Mode):
    """Inside, the first op whose forward, or rule whose backward, makes a nan or an inf
    raises :class:`AnomalyError` (a ``GradError``), naming the op, ``forward`` or
    ``backward``, the line of your code that ran or created it, and its inputs' shapes,
    dtypes, ranges and counts of non-finite values.

    NumPy's floating-point flags say when something went wrong, so values are scanned only
    then (and after BLAS products, which may not flag); see Note [Anomaly detection] in
    tapegrad/autograd/anomaly.py. An inf passing through from an input (a ``-inf`` mask)
    is not an anomaly; a nan already in a leaf is named where it first meets a check. A
    context manager or decorator, per thread; your own NumPy calls inside still warn.

    Args:
        check_nan: whether to check (default True); False turns checking off inside.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([1.0, -1.0], requires_grad=True)
        >>> with tg.autograd.detect_anomaly():  # doctest: +ELLIPSIS
        ...     y = tg.log(x)
        Traceback (most recent call last):
        tapegrad.autograd.anomaly.AnomalyError: detect_anomaly: 'log' (forward, ...) produced...
    """

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def _fresh(self):
        return detect_anomaly(self.check_nan)

    def _enter(self):
        self.prev, self.watch, self.errstate = STATE.anomaly, None, None
        if not self.check_nan:
            STATE.anomaly = False
            return
        watch = _Watch()
        self.errstate = np.errstate(call=watch, **_CALL)
        self.errstate.__enter__()
        _INSTRUMENT.use(watch)
        STATE.anomaly = self.watch = watch

    def _exit(self):
        if self.watch is not None:
            _INSTRUMENT.release(self.watch)
            self.errstate.__exit__(None, None, None)
        STATE.anomaly = self.prev


def set_detect_anomaly(mode, check_nan=True):
    """Turn anomaly detection (see :class:`detect_anomaly`) on or off for this thread.

    Args:
        mode: True to turn it on, False to turn it off.
        check_nan: as in :class:`detect_anomaly`; False with ``mode`` True turns it off.

    Example:
        >>> import tapegrad as tg
        >>> tg.autograd.set_detect_anomaly(True); tg.autograd.is_anomaly_enabled()
        True
        >>> tg.autograd.set_detect_anomaly(False); tg.autograd.is_anomaly_enabled()
        False
    """
    current = STATE.anomaly
    if mode and check_nan:
        if current:
            return          # on already
        watch = _Watch()
        watch.restore = (np.seterr(**_CALL), np.seterrcall(watch))
        _INSTRUMENT.use(watch)
        STATE.anomaly = watch
        return
    if current:
        _INSTRUMENT.release(current)
        if current.restore is not None:
            err, call = current.restore
            np.seterr(**err)
            np.seterrcall(call)
    STATE.anomaly = False


def is_anomaly_enabled():
    """True when anomaly detection (see :class:`detect_anomaly`) is on in this thread.

    Example:
        >>> import tapegrad as tg
        >>> tg.autograd.is_anomaly_enabled()
        False
    """
    return bool(STATE.anomaly)
