"""Batching rules of the pointwise and broadcasting primitives: pad the batched operands to
a common example rank (so NumPy's trailing alignment matches the examples'), then run once.
Unary ops need nothing at all: the batch dim is one more dim to map over."""
import numpy as np

from . import public_rule, rule
from ._layout import align, check_no_batched_data, pad

UNARY = ("exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "abs", "sign", "log1p", "expm1",
         "log2", "log10", "exp2", "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh",
         "atanh", "rsqrt", "sigmoid", "relu", "neg", "reciprocal", "floor", "ceil", "trunc",
         "round", "frac", "nan_to_num", "erf", "erfc", "erfinv", "lgamma", "digamma",
         "polygamma", "sinc", "logit", "gelu", "leaky_relu", "hardtanh", "threshold",
         "hardshrink", "softshrink", "hardsigmoid", "hardswish", "softplus", "logsigmoid", "elu",
         "to_dtype", "clone", "clamp")
BROADCASTING = ("add", "sub", "mul", "pow", "maximum", "minimum", "atan2", "hypot", "logaddexp",
                "logaddexp2", "copysign", "div", "remainder", "fmod", "xlogy", "lerp", "addcmul",
                "addcdiv", "tanh_backward", "tanh_double_backward", "pow_backward")


@rule(*UNARY)
def unary(op, args, batched, params, size):
    return args, params, None


@rule(*BROADCASTING)
def broadcasting(op, args, batched, params, size):
    return align(args, batched), params, None


@rule("where")
def where(op, args, batched, params, size):
    # the condition is a param (an array): a batched condition arrives through
    # the public rule for where() in indexing.py, never here
    check_no_batched_data("where", params)
    cond = params["cond"]
    rank = max(a.ndim - 1 if b else np.ndim(a) for a, b in zip(args, batched))
    rank = max(rank, cond.ndim)
    return [pad(a, rank) if b else a for a, b in zip(args, batched)], params, None


unary.inplace_ok = broadcasting.inplace_ok = True    # x.add_(y): the same layout in place


@public_rule("pointwise")
def pointwise(args, batched, kw, size):
    """The comparisons and logical ops (not recorded: they compute on arrays directly)."""
    return kw["fn"](*align(args, batched))
