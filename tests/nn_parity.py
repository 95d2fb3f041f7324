"""Torch-parity cases for tapegrad.nn.functional, with inputs of their own.

A ``Case`` is an expression evaluated twice, with ``lib`` bound to tapegrad or torch and ``F``
to its nn.functional, over the same named input values; tests/test_torch_parity_nn.py checks
that values, result dtypes, the gradients of every float input that requires grad, and the
inputs named in ``after`` (mutated in place, e.g. running statistics) agree.
"""
import numpy as np


class floats:
    """A float input: uniform in [lo, hi) of ``shape``; requires grad unless grad=False."""
    def __init__(self, shape, lo=-1.0, hi=1.0, dtype="float32", grad=True):
        self.shape, self.lo, self.hi, self.dtype, self.grad = shape, lo, hi, dtype, grad

    def array(self, rng):
        return rng.uniform(self.lo, self.hi, self.shape).astype(self.dtype)


class ints:
    """An int64 input (class indices, targets, lengths) uniform in [lo, hi)."""
    def __init__(self, shape, hi, lo=0):
        self.shape, self.lo, self.hi = shape, lo, hi

    def array(self, rng):
        return rng.integers(self.lo, self.hi, self.shape).astype(np.int64)


class bools:
    """A bool input (masks), True with probability p."""
    def __init__(self, shape, p=0.5):
        self.shape, self.p = shape, p

    def array(self, rng):
        return rng.uniform(0, 1, self.shape) < self.p


class Case:
    """``Case("F.conv2d(a, w, stride=2)", a=(2, 3, 8, 8), w=(4, 3, 3, 3))``: a shape stands
    for floats(shape); other inputs are floats/ints/bools, or plain values passed as they are.
    ``after`` names inputs compared after the call (in-place updates)."""
    def __init__(self, expr, rtol=1e-5, atol=1e-6, grad_rtol=1e-4, grad_atol=1e-5, seed=0,
                 after=(), **inputs):
        self.expr, self.rtol, self.atol = expr, rtol, atol
        self.grad_rtol, self.grad_atol, self.seed, self.after = grad_rtol, grad_atol, seed, after
        self.inputs = {k: floats(v) if isinstance(v, tuple) else v for k, v in inputs.items()}

    def __str__(self):
        return self.expr

    def arrays(self):
        rng = np.random.default_rng(self.seed)
        return {k: v.array(rng) if hasattr(v, "array") else v for k, v in self.inputs.items()}
