"""Run the Example sections of tapegrad's docstrings."""
import doctest
import importlib
import pkgutil

import pytest

import tapegrad

MODULES = sorted(m.name for m in pkgutil.walk_packages(tapegrad.__path__, "tapegrad."))


@pytest.mark.parametrize("name", ["tapegrad"] + MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
