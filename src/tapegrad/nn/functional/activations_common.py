"""Argument checks and the in-place write-back shared by the activation modules."""
from ..._core.errors import DTypeError
from ..._core.state import STATE
from ..._core.tensor import Tensor
from ...ops._pointwise_args import write_back
from ...ops.registry import apply_inplace, apply_unary


def check_tensor(input, name):
    """input, which must be a Tensor (PyTorch refuses arrays and numbers here too)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    return input


def check_not_bool(input, name):
    """input, a Tensor of any dtype but bool (PyTorch refuses bool for clamping and
    arithmetic activations: relu, hardtanh, threshold, softsign, tanhshrink)."""
    if check_tensor(input, name)._data.dtype == bool:
        raise DTypeError(f"{name}: bool inputs are not supported, as in PyTorch; convert the "
                         "input first, e.g. x.float().")
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


def one_node(op, input, params, inplace, name):
    """A one-node activation of a floating input, out of place or (inplace=True) written
    into input (apply_inplace copies input first only when the rule saves it)."""
    check_floating(input, name)
    if inplace:
        return apply_inplace(op, (input,), params, name=name + "_")
    return apply_unary(op, input, params)
