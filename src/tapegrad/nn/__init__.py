"""tapegrad.nn: neural-network building blocks, as PyTorch's torch.nn.

``tapegrad.nn.functional`` holds the stateless functions (activations, losses,
convolution, pooling, normalization, attention, ...).
"""
from . import functional  # noqa: F401
