"""Floor 4: JAX-style function transforms with torch.func's API (``tapegrad.func``).

Each transform is a thin layer over the one engine: reverse mode through ``autograd.grad``,
forward mode through ``autograd.forward_ad``, batching through ``vmap``'s batching rules.
"""
from .vmap import vmap

__all__ = ["vmap"]
