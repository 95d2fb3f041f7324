"""The PyTorch-style namespaces (tapegrad.special, tapegrad.linalg) hold the same functions as
the top level, under PyTorch's names."""
import numpy as np
import pytest

import tapegrad as tg


SPECIAL_ALIASES = {"gammaln": "lgamma", "psi": "digamma", "expit": "sigmoid"}


@pytest.mark.parametrize("name", tg.special.__all__)
def test_special_names_are_the_top_level_functions(name):
    assert getattr(tg.special, name) is getattr(tg, SPECIAL_ALIASES.get(name, name))


def test_special_gradient_through_alias():
    x = tg.tensor([1.5, 3.0], requires_grad=True)
    tg.special.gammaln(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tg.digamma(x.detach()).numpy())


def test_namespaces_match_pytorch_names():
    torch_ = pytest.importorskip("torch")
    missing = [n for n in tg.special.__all__ if not hasattr(torch_.special, n)]
    assert not missing, missing
    missing = [n for n in tg.linalg.__all__ if not hasattr(torch_.linalg, n)]
    assert not missing, missing
