"""Argument checks and the in-place write-back shared by the activation modules."""
import numpy as np

from ..._core.errors import DTypeError
from ..._core.state import STATE
from ..._core.tensor import Tensor
from ...ops._pointwise_args import write_back
from ...ops.elementwise import where


def check_tensor(input, name):
    """input, which must be a Tensor (PyTorch refuses arrays and numbers here too)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    return input


def check_floating(input, name):
    """input, which must be a floating tensor (PyTorch implements these for no integers)."""
    dtype = check_tensor(input, name)._data.dtype
    if dtype.kind != "f":
        raise DTypeError(f"{name}: not implemented for dtype {dtype}, as in PyTorch; convert "
                         "the input first, e.g. x.float().")
    return input


def in_place(fn, input, name, *args):
    """input <- fn(input, *args) for a composite: computed on a clone when recording, since
    the composite may keep input's values for its gradient, which the write would change."""
    recording = STATE.grad_enabled and input._requires_grad
    return write_back(input, fn(input.clone() if recording else input, *args), name)


def select(mask, input, other):
    """where(mask, input, other) with ``other`` (an array of PyTorch's values outside the
    mask) in input's dtype: the gradient flows to input where mask holds, else it is 0."""
    return where(mask, input, np.asarray(other, dtype=input._data.dtype))
