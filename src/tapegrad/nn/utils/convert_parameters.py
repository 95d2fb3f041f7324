"""Parameters as one flat vector and back, as PyTorch's torch.nn.utils.convert_parameters."""
from ..._core.errors import ArgumentError, ShapeError
from ..._core.tensor import Tensor
from ...ops.shape import cat

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    """The parameters flattened and concatenated into one 1-d tensor, in iteration order.

    The result is computed with recorded ops, so gradients flow back to the parameters.

    Args:
        parameters: an iterable of tensors (e.g. ``model.parameters()``).

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils import parameters_to_vector
        >>> parameters_to_vector([tg.ones(2, 2), tg.zeros(1)])
        tensor([1., 1., 1., 1., 0.])
    """
    flat = [p.reshape(-1) for p in parameters]
    if not flat:
        raise ArgumentError("parameters_to_vector: expected at least one parameter, got none")
    return cat(flat)


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of ``vec`` into the parameters, the inverse of
    :func:`parameters_to_vector`.

    As in PyTorch, each parameter's ``.data`` is replaced by a view of ``vec`` (nothing is
    recorded, and later writes to ``vec`` show in the parameters). A ``vec`` longer than the
    parameters need is allowed; its tail is unused.

    Args:
        vec: a 1-d tensor with at least as many elements as the parameters together.
        parameters: an iterable of tensors.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad.nn.utils import vector_to_parameters
        >>> a, b = tg.zeros(2, 2), tg.zeros(1)
        >>> vector_to_parameters(tg.arange(5.0), [a, b]); a, b
        (tensor([[0., 1.],
                [2., 3.]]), tensor([4.]))
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected tapegrad.Tensor, but got: {type(vec).__name__}")
    flat = vec._data.reshape(-1)
    start = 0
    for p in parameters:
        n = p.numel()
        if start + n > flat.size:
            raise ShapeError(
                f"vector_to_parameters: the vector has {flat.size} elements, but the parameters "
                f"need more: one of shape {tuple(p.shape)} would take elements {start} to "
                f"{start + n - 1}. Pass the vector parameters_to_vector made.")
        p.data = flat[start:start + n].reshape(p._data.shape)
        start += n
