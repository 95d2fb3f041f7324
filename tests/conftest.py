"""Shared test setup: hypothesis profiles, and ``tests/`` on sys.path for ``import opinfo``.

Profiles: "ci" (the default) keeps every sweep bounded; run the long sweeps with
``TAPEGRAD_HYPOTHESIS_PROFILE=long pytest tests/test_properties.py``.
"""
import os
import sys

from hypothesis import HealthCheck, settings

# NOTE: pytest runs with --import-mode=importlib, which does not put the test directory on
# sys.path, so the op database (tests/opinfo.py) is made importable here.
_TESTS = os.path.dirname(os.path.abspath(__file__))
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

# NOTE: the default profile is derandomized, so a CI run can't fail on a draw that the
# previous run never saw; the long profile explores freely.
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=1000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("TAPEGRAD_HYPOTHESIS_PROFILE", "ci"))
