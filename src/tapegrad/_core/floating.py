"""Floating-point warnings from inside tapegrad.

# Note [Quiet floating-point warnings]
NumPy warns (RuntimeWarning) when a ufunc meets a division by zero, an invalid operation or
an overflow: ``log(0)``, ``0 / 0``, ``exp(1000)``. PyTorch's ops never do: ``log(0)`` is
``-inf``, quietly. So tapegrad's ops don't either: one warnings filter, installed at import,
ignores RuntimeWarnings attributed to tapegrad's own modules (NumPy attributes a ufunc's
warning to the Python frame that called it, which for an op is tapegrad's code). It costs
nothing per op (filters are read only when a warning is raised), it leaves the user's own
NumPy calls warning as before, and it goes at the end of the filter list, so any filter of
the user's (``-W error``, ``warnings.simplefilter``, before or after import) takes
precedence. Finding where a nan or inf came from is
``detect_anomaly``'s job, not the warnings'.

One catch: a filter added inside ``warnings.catch_warnings()`` is gone when the block ends,
and pytest imports test modules inside such a block, so in a pytest run that first imports
tapegrad from a test module the filter is lost and ops warn again. A project testing with
pytest states the filter in its configuration (tapegrad's own pyproject.toml does):
``filterwarnings = ["ignore::RuntimeWarning:tapegrad"]``.
"""
import warnings

TAPEGRAD_MODULES = r"tapegrad(\..*)?$"


def quiet_floating_point_warnings():
    """Install the filter (idempotent: warnings.filterwarnings drops an identical entry)."""
    warnings.filterwarnings("ignore", category=RuntimeWarning, module=TAPEGRAD_MODULES,
                            append=True)
