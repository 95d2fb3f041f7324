"""Statistical reductions: var/std (and var_mean/std_mean), logsumexp, nansum, nanmean,
all/any, count_nonzero, median/nanmedian, mode, quantile.
"""

__all__ = []   # public functions, exported as tapegrad.<name>
METHODS = {}   # Tensor methods (bound in ops/methods.py), in-place forms included
