"""Note [Quiet floating-point warnings]: tapegrad's ops are as quiet as PyTorch's (log(0) is
-inf without a RuntimeWarning), the user's own NumPy calls still warn, and the user's filters
win. Run in fresh interpreters: pytest installs filters of its own around each test."""
import subprocess
import sys

SCRIPT = """
import warnings, numpy as np, tapegrad as tg
x = tg.tensor([0.0, -1.0, 1000.0], requires_grad=True)
y = (tg.log(x) + tg.exp(x) + tg.sqrt(x) + 1.0 / x).sum()
y.backward()
print("TAPEGRAD-DONE")
np.log(np.array([0.0]))
"""


def _run(*flags):
    return subprocess.run([sys.executable, *flags, "-c", SCRIPT], capture_output=True,
                          text=True, timeout=120)


def test_ops_are_quiet_and_numpy_still_warns():
    r = _run()          # Python's own defaults: a RuntimeWarning shows once per line
    assert r.returncode == 0, r.stderr
    assert "TAPEGRAD-DONE" in r.stdout
    warned = [line for line in r.stderr.splitlines() if "RuntimeWarning" in line]
    assert len(warned) == 1 and "<string>" in warned[0], r.stderr   # the user's np.log only


def test_user_filter_takes_precedence():
    r = _run("-W", "error::RuntimeWarning")
    assert r.returncode != 0 and "RuntimeWarning" in r.stderr
    assert "TAPEGRAD-DONE" not in r.stdout      # raised inside tapegrad's log, as asked
