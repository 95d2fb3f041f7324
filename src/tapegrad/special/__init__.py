"""tapegrad.special: PyTorch's torch.special names for the special functions tapegrad has.

Each is the same function as its ``tapegrad.<name>`` counterpart (``gammaln`` is ``lgamma``,
``psi`` is ``digamma``, ``expit`` is ``sigmoid``), with the same gradients.

Example:
    >>> import tapegrad as tg
    >>> tg.special.gammaln(tg.tensor([1.0, 3.0]))
    tensor([0.0000, 0.6931])
"""
from ..ops.binary_math import xlogy
from ..ops.elementary import exp2, expm1, log1p
from ..ops.elementwise import sigmoid as expit
from ..ops.rounding import round
from ..ops.special import digamma, erf, erfc, erfinv, logit, polygamma, sinc
from ..ops.special import digamma as psi
from ..ops.special import lgamma as gammaln
from ..ops.statistics import logsumexp

__all__ = ["digamma", "erf", "erfc", "erfinv", "exp2", "expit", "expm1", "gammaln", "log1p",
           "logit", "logsumexp", "polygamma", "psi", "round", "sinc", "xlogy"]
