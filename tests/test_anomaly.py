"""detect_anomaly (autograd/anomaly.py, Note [Anomaly detection]): the first forward op or
backward rule that makes a nan or an inf raises, naming the op, the phase, the user's line
and its inputs; no false alarms on guarded ops, -inf masks or the user's own NumPy calls;
modes nest, are per thread, and leave NumPy and the op table as they found them."""
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad.autograd import AnomalyError, detect_anomaly
from tapegrad.ops import instrument
from tapegrad.ops.registry import REGISTRY, OpDef, apply

HERE = "test_anomaly.py"


def _line():
    """The caller's current line number."""
    return sys._getframe(1).f_lineno


def _leaf(values, dtype=tg.float64):
    return tg.tensor(values, dtype=dtype, requires_grad=True)


def _raised(fn):
    """The AnomalyError fn raises inside detect_anomaly (failing the test if none)."""
    with pytest.raises(AnomalyError) as info:
        with detect_anomaly():
            fn()
    return str(info.value)


def _table():
    return {name: (op.forward, op.vjp) for name, op in REGISTRY.items()}


@pytest.fixture(autouse=True)
def _leaves_everything_as_found():
    """Every test leaves NumPy's error handling, the mode and the op table as they were."""
    before = np.geterr(), np.geterrcall(), _table()
    yield
    assert (np.geterr(), np.geterrcall(), _table()) == before
    assert not tg.autograd.is_anomaly_enabled()
    assert instrument.active() == []


# ---- forward origins ------------------------------------------------------------------------
def test_log_of_a_negative_names_op_phase_line_and_inputs():
    x = _leaf([1.0, -1.0, 4.0])
    with pytest.raises(AnomalyError) as info:
        with detect_anomaly():
            y = x * 2
            line = _line(); tg.log(y)     # noqa: E702
    msg = str(info.value)
    assert "'log' (forward" in msg and f"{HERE}:{line}" in msg
    assert "1 nan" in msg and "from finite inputs" in msg and "invalid value" in msg
    assert "input 0: shape (3,), dtype float64, min -2, max 8" in msg and "all finite" in msg
    assert isinstance(info.value, tg._core.errors.GradError)
    assert isinstance(info.value, RuntimeError)


def test_zero_over_zero_and_exp_overflow():
    a, b = _leaf([0.0, 1.0]), _leaf([0.0, 2.0])
    msg = _raised(lambda: a / b)
    assert "'div' (forward" in msg and "1 nan" in msg and "input 1" in msg
    msg = _raised(lambda: tg.exp(_leaf([1.0, 800.0])))
    assert "'exp' (forward" in msg and "1 +inf" in msg and "overflow" in msg


def test_matmul_overflow_in_float32():
    a = tg.full((32, 32), 1e20, dtype=tg.float32, requires_grad=True)
    line = None

    def run():
        nonlocal line
        line = _line(); a @ a     # noqa: E702
    msg = _raised(run)
    assert "'matmul' (forward" in msg and "1024 +inf" in msg and f"{HERE}:{line}" in msg
    assert "dtype float32, min 1e+20, max 1e+20" in msg


def test_a_nan_from_a_leaf_is_named_where_it_meets_a_check():
    # elementwise ops pass a leaf's nan on without a flag; the BLAS product scans its output
    w = _leaf(np.ones((3, 2)))
    x = tg.tensor([[1.0, float("nan")]])
    msg = _raised(lambda: F.linear(x, w))
    assert "'linear' (forward" in msg and "already held nan" in msg
    assert "input 0: shape (1, 2)" in msg and "non-finite: 1 nan" in msg
    # in backward, the gradient headed into the leaf is scanned
    v = _leaf([float("nan"), 1.0])

    def run():
        (v * v).sum().backward()
    msg = _raised(run)
    assert "'mul' (backward" in msg and "the gradient of input 0" in msg
    assert "came from outside" in msg and "saved 'x'" in msg
    assert v.grad is None


def test_an_inf_that_an_input_already_held_passes_through():
    # -inf is a mask here, not an anomaly; exp(-inf) = 0 and log(0) would be flagged
    x = tg.tensor([float("-inf"), 0.0, 1.0])
    with detect_anomaly():
        y = x * 2 + 1
        z = tg.exp(x)
    assert np.isneginf(y.numpy()[0]) and z.numpy()[0] == 0


def test_a_nan_made_from_an_inf_that_passed_through():
    x = tg.tensor([float("inf"), 1.0])        # an inf from a leaf passes arithmetic quietly
    with pytest.raises(AnomalyError) as info:
        with detect_anomaly():
            y = x * 2
            y - x
    msg = str(info.value)
    assert "'sub' (forward" in msg and "1 nan" in msg and "from an inf its inputs held" in msg
    assert "non-finite: 1 +inf" in msg


# ---- backward origins -----------------------------------------------------------------------
def test_sqrt_at_zero_in_backward():
    x = _leaf([0.0, 4.0])
    with pytest.raises(AnomalyError) as info:
        with detect_anomaly():
            line = _line(); y = tg.sqrt(x)     # noqa: E702
            y.sum().backward()
    msg = str(info.value)
    assert "'sqrt' (backward, created at" in msg and f"{HERE}:{line}" in msg
    assert "1 +inf in the gradient of input 0" in msg and "divide by zero" in msg
    assert "The derivative of 'sqrt' is not finite" in msg
    assert "grad_output: shape (2,)" in msg and "saved 'out'" in msg and "min 0, max 2" in msg
    assert x.grad is None
    # the nan a zero cotangent makes of that inf is caught too, at the same rule
    x2 = _leaf([0.0, 4.0])
    msg = _raised(lambda: (tg.sqrt(x2) * 0.0).sum().backward())
    assert "'sqrt' (backward" in msg and "nan" in msg


class _NanBackward(tg.autograd.Function):
    """A custom rule that returns nan without any floating-point flag (nan * g)."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * float("nan")


def test_a_custom_rule_producing_nan():
    x = _leaf([1.0, 2.0])
    with pytest.raises(AnomalyError) as info:
        with detect_anomaly():
            line = _line(); y = _NanBackward.apply(x)     # noqa: E702
            (y * 3).sum().backward()
    msg = str(info.value)
    assert "'_NanBackward' (backward" in msg and f"{HERE}:{line}" in msg and "2 nan" in msg


class _NanScalarBackward(tg.autograd.Function):
    """A rule returning a NumPy nan scalar for a 0-d input."""

    @staticmethod
    def forward(ctx, x):
        return x * 1

    @staticmethod
    def backward(ctx, g):
        return tg.tensor(np.float64("nan"))


def test_a_rule_returning_a_nan_scalar():
    x = _leaf(1.0)
    msg = _raised(lambda: _NanScalarBackward.apply(x).backward())
    assert "'_NanScalarBackward' (backward" in msg and "1 nan" in msg


def test_gradients_into_grad_inputs_are_checked():
    v = _leaf([float("nan"), 1.0])
    h = v * 1.0                      # a non-leaf input of grad()
    msg = _raised(lambda: tg.autograd.grad((h * h).sum(), h))
    assert "'mul' (backward" in msg and "came from outside" in msg


def test_create_graph_under_anomaly_mode():
    x = _leaf([0.5, 2.0])
    with detect_anomaly():
        (g,) = tg.autograd.grad((x ** 3).sum(), x, create_graph=True)
        (h,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(g.detach().numpy(), 3 * np.array([0.5, 2.0]) ** 2)
    np.testing.assert_allclose(h.numpy(), 6 * np.array([0.5, 2.0]))
    # a rule recording itself: the rule is reported (not the ops it records), at its line
    z = _leaf([0.0, 1.0])
    with pytest.raises(AnomalyError) as info:
        with detect_anomaly():
            line = _line(); y = tg.sqrt(z)      # noqa: E702
            tg.autograd.grad(y.sum(), z, create_graph=True)
    msg = str(info.value)
    assert "'sqrt' (backward" in msg and f"{HERE}:{line}" in msg


def test_forward_mode_under_anomaly_mode():
    fwd = tg.autograd.forward_ad
    with detect_anomaly(), fwd.dual_level():
        x = fwd.make_dual(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 0.0]))
        t = fwd.unpack_dual(tg.sin(x) * x).tangent
    np.testing.assert_allclose(t.numpy(), [np.cos(1.0) + np.sin(1.0), 0.0])


# ---- no false alarms ------------------------------------------------------------------------
def _guarded_log_forward(x):
    return np.where(x > 0, np.log(x), 0.0)        # log flags at 0 and below; where drops it


def _guarded_log_vjp(ctx, g):
    return (g * np.where(ctx.x > 0, 1 / ctx.x, 0.0),)     # 1 / 0 flags; where drops it


_GUARDED_LOG = instrument.track(OpDef("guarded_log", _guarded_log_forward, _guarded_log_vjp,
                                      save=("x",)))


def test_a_flag_that_ends_in_finite_values_does_not_raise():
    x = _leaf([0.0, -1.0, np.e])
    with detect_anomaly():
        y = apply(_GUARDED_LOG, (x,))
        y.sum().backward()
        s = tg.sigmoid(_leaf([-1000.0, 0.0, 1000.0]))    # exp overflows inside; finite out
    np.testing.assert_allclose(y.detach().numpy(), [0.0, 0.0, 1.0])
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, 1 / np.e])
    np.testing.assert_allclose(s.detach().numpy(), [0.0, 0.5, 1.0])


def test_double_where_guard_is_quiet_in_both_directions():
    x = _leaf([0.0, -1.0, 4.0])
    with detect_anomaly():
        safe = tg.where(x > 0, x, tg.ones_like(x))
        y = tg.where(x > 0, tg.log(safe), tg.zeros_like(x))
        y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, 0.25])


def test_attention_with_a_boolean_mask():
    rng = np.random.default_rng(0)
    q, k, v = (_leaf(rng.standard_normal((2, 4, 8))) for _ in range(3))
    mask = tg.tensor(np.tril(np.ones((4, 4), dtype=bool)))
    with detect_anomaly():
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        causal = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        (out.sum() + causal.sum()).backward()
    np.testing.assert_allclose(out.detach().numpy(), causal.detach().numpy(), atol=1e-12)
    assert all(np.isfinite(t.grad.numpy()).all() for t in (q, k, v))


def test_softmax_and_log_softmax_with_minus_inf_masks_and_large_inputs():
    scores = _leaf([[1e4, -1e4, 3.0], [2.0, 1.0, 0.0]])
    mask = tg.tensor([[0.0, float("-inf"), 0.0], [0.0, 0.0, float("-inf")]])
    with detect_anomaly():
        p = F.softmax(scores + mask, dim=-1)
        lp = F.log_softmax(scores * 10, dim=-1)
        masked = F.log_softmax(scores + mask, dim=-1)      # -inf where masked: passed through
        (p.sum() + lp.sum() + tg.where(mask == 0, masked, tg.zeros_like(masked)).sum()
         ).backward()
    assert np.isneginf(masked.detach().numpy()[0, 1])
    assert np.isfinite(scores.grad.numpy()).all()


def test_cross_entropy_training_step():
    rng = np.random.default_rng(1)
    w = _leaf(rng.standard_normal((5, 3)) * 50, dtype=tg.float32)
    x = tg.tensor(rng.standard_normal((8, 3)) * 50, dtype=tg.float32)
    y = tg.tensor(rng.integers(0, 5, 8))
    with detect_anomaly():
        loss = F.cross_entropy(F.linear(x, w), y)
        loss.backward()
        tg.optim.SGD([w], lr=0.1).step()
    assert np.isfinite(loss.item()) and np.isfinite(w.grad.numpy()).all()


# ---- the user's own NumPy, nesting, threads ---------------------------------------------------
def test_the_users_own_numpy_still_warns():
    with detect_anomaly():
        with pytest.warns(RuntimeWarning, match="divide by zero") as record:
            np.log(np.array(0.0))
        tg.log(tg.tensor([2.0]))             # tapegrad's ops stay quiet and unflagged
    assert record[0].filename.endswith(HERE)
    with np.errstate(divide="raise"):
        with detect_anomaly():
            with pytest.raises(FloatingPointError):
                np.log(np.array(0.0))
        with np.errstate(divide="ignore"):
            pass
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="ignore"), detect_anomaly():
            np.log(np.array(0.0))            # ignored before the mode, ignored inside


# (pytest's own warning filters come before tapegrad's quiet one: Note [Quiet floating-point
# warnings]; the subprocess test below checks the quiet behaviour)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_outside_the_mode_nothing_is_checked():
    y = tg.log(_leaf([-1.0]))
    (y * 1).sum().backward()
    assert np.isnan(y.detach().numpy()[0])
    assert REGISTRY["log"].forward is np.log


QUIET_SCRIPT = """
import numpy as np, tapegrad as tg
with tg.autograd.detect_anomaly():
    s = tg.sigmoid(tg.tensor([-1000.0, 1000.0], requires_grad=True))   # flags, finite
    s.sum().backward()
    with tg.autograd.detect_anomaly(check_nan=False):
        tg.log(tg.tensor([0.0, -1.0]))          # not checked, and quiet as outside the mode
    print("TAPEGRAD-DONE")
    np.log(np.array([0.0]))
"""


def test_in_the_mode_ops_stay_quiet_and_the_users_numpy_warns():
    # a fresh interpreter: pytest installs warning filters of its own around each test
    r = subprocess.run([sys.executable, "-c", QUIET_SCRIPT], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "TAPEGRAD-DONE" in r.stdout
    warned = [line for line in r.stderr.splitlines() if "RuntimeWarning" in line]
    assert len(warned) == 1 and "<string>" in warned[0], r.stderr


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nested_modes_restore():
    outer = np.geterr()
    with detect_anomaly():
        assert tg.autograd.is_anomaly_enabled() and np.geterr()["invalid"] == "call"
        with detect_anomaly(check_nan=False):
            assert not tg.autograd.is_anomaly_enabled()
            assert np.isnan(tg.log(tg.tensor([-1.0])).numpy()[0])    # not checked here
        assert tg.autograd.is_anomaly_enabled()
        with detect_anomaly():
            pass
        with pytest.raises(AnomalyError):
            tg.log(tg.tensor([-1.0]))
    assert np.geterr() == outer and not tg.autograd.is_anomaly_enabled()


def test_set_detect_anomaly_and_the_decorator():
    before = np.geterr()
    tg.autograd.set_detect_anomaly(True)
    try:
        assert tg.autograd.is_anomaly_enabled() and instrument.active() != []
        with pytest.raises(AnomalyError):
            tg.sqrt(tg.tensor([-1.0]))
    finally:
        tg.autograd.set_detect_anomaly(False)
    assert np.geterr() == before and instrument.active() == []

    @detect_anomaly()
    def bad(t):
        return tg.log(t)
    with pytest.raises(AnomalyError, match="'log'"):
        bad(tg.tensor([-2.0]))
    assert not tg.autograd.is_anomaly_enabled()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_threads_without_the_mode_pass_through():
    entered, release = threading.Event(), threading.Event()
    seen = {}

    def worker_in_mode():
        with detect_anomaly():
            entered.set()
            release.wait(5)
            try:
                tg.log(tg.tensor([-1.0]))
            except AnomalyError:
                seen["worker"] = "raised"

    t = threading.Thread(target=worker_in_mode)
    t.start()
    assert entered.wait(5)
    # the main thread has no mode: the same op, wrapped process-wide, passes through
    seen["main"] = float(tg.log(tg.tensor([-1.0])).numpy()[0])
    seen["main_errstate"] = np.geterr()["invalid"]
    release.set()
    t.join()
    assert seen["worker"] == "raised" and np.isnan(seen["main"])
    assert seen["main_errstate"] != "call"
