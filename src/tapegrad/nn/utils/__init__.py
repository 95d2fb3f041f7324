"""tapegrad.nn.utils: gradient clipping, parameter vectors and parametrizations, as PyTorch's
torch.nn.utils, and ``rnn`` (packed sequences)."""
from .clip_grad import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm
from .convert_parameters import parameters_to_vector, vector_to_parameters
from . import parametrizations, parametrize, rnn

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
           "parameters_to_vector", "parametrizations", "parametrize", "rnn",
           "vector_to_parameters"]
